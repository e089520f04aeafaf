//! bench-build's measurement: how long the guide's wasm builds take, cold
//! and incremental, debug and release, for each wasm package.
//!
//! Everything happens in a copy of the workspace, `<target>/bench-build/src`,
//! remade at every start, with one target dir per package and profile beside
//! it (`target-<pkg>-<profile>`). The incremental edits go to the copy only,
//! so an interrupted or killed benchmark can never leave the user's sources
//! modified, and the user's own build outputs are never cleaned or rebuilt.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use cargo_metadata::{Package, TargetKind};
use xshell::{cmd, Shell};

use crate::ops::bench::build_times::{Mode, Report, Row};
use crate::ops::bench::copy::{copy_workspace, fetch, SourceEdit};
use crate::ops::bench::report::Conditions;
use crate::ops::build::artifacts::WASM_TARGET;
use crate::ops::build::{self, std_mode};
use crate::ops::env::workspace::Workspace;
use crate::ops::env::{cache, provenance, setup};
use crate::util::files::remove_dir;
use crate::util::git;
use crate::util::lock::{self, WhenBusy};
use crate::util::process::cargo;
use wasm_size::artifact::Profile;

/// What to time: which builds, in which modes, how often.
pub struct Options<'a> {
    pub packages: Vec<&'a Package>,
    pub profiles: Vec<Profile>,
    pub modes: Vec<Mode>,
    pub runs: u32,
}

/// Runs every timed build of `options` in a fresh copy of the workspace
/// and returns the report; `reports` is the dir whose changes do not make
/// the tree dirty.
pub fn measure(sh: &Shell, ws: &Workspace, options: &Options, reports: &Path) -> Result<Report> {
    setup::ensure_targets(sh, &[WASM_TARGET])?;
    let (bench, _lock) = bench_dir(ws)?;
    let src = bench.join("src");
    let files = copy_workspace(sh, ws, &src)?;
    eprintln!("copied {files} files of the workspace to {}", src.display());
    fetch(sh, &src)?;

    // Read when the measurement starts: the date and load of the benchmark.
    let conditions = Conditions::now(sh, ws);
    let dirty = is_dirty(sh, &ws.root, reports);
    let mut rows = Vec::new();
    let (modes, per_row) = (&options.modes, options.runs);
    let jobs = build::jobs(&options.packages, &options.profiles)?;
    let total = jobs.len() * modes.len() * per_row as usize;
    let mut done = 0;
    for (package, profile) in jobs {
        let edit_file = edit_target(ws, package)?;
        let target_dir = bench.join(format!("target-{}-{profile}", package.name));
        let job = Job {
            sh,
            src: &src,
            target_dir: &target_dir,
            package: &package.name,
            profile,
            size_first: std_mode::is_size_first(package, profile)?,
        };
        for &mode in modes {
            let mut edit = None;
            if mode == Mode::Incremental {
                if !modes.contains(&Mode::Cold) {
                    warm_up(&job)?;
                }
                edit = Some(SourceEdit::new(src.join(&edit_file))?);
            }
            let mut runs = Vec::new();
            for run in 1..=per_row {
                done += 1;
                eprint!(
                    "[{done}/{total}] {} {profile} {mode}, run {run}/{} ...",
                    package.name, per_row
                );
                match &mut edit {
                    Some(edit) => edit.apply()?,
                    None => remove_dir(&target_dir)?,
                }
                let seconds = job.timed_build(mode, &edit_file)?;
                eprintln!(" {seconds:.1} s");
                runs.push(seconds);
            }
            if let Some(edit) = edit {
                // The next profile and the packages built after this one
                // must see the sources as they are in the workspace.
                edit.restore()?;
            }
            let mut row = Row::new(&package.name, profile, mode, runs);
            if mode == Mode::Incremental {
                row.edited = Some(edit_file.display().to_string());
            }
            rows.push(row);
        }
    }

    Ok(Report {
        conditions,
        cargo: provenance::cargo_version(sh).unwrap_or_else(|| "unknown".into()),
        dirty,
        rustc_wrapper: cache::wrapper(sh).map(|w| w.display().to_string()),
        rows,
    })
}

/// One package and profile: its cargo command, run in the copy.
struct Job<'a> {
    sh: &'a Shell,
    src: &'a Path,
    target_dir: &'a Path,
    package: &'a str,
    profile: Profile,
    /// Std built from source, size first (`std = "size"`, release).
    size_first: bool,
}

impl Job<'_> {
    /// Runs the build; on failure shows cargo's output and names the package.
    fn build(&self) -> Result<(f64, String)> {
        let (sh, cargo) = (self.sh, cargo());
        let (package, target_dir) = (self.package, self.target_dir);
        let release = self.profile.is_release().then_some("--release");
        // The guide's command, `--locked --offline` so that nothing is
        // resolved or downloaded while the clock runs; a size-first build
        // adds what build-wasm adds for it.
        let _src = sh.push_dir(self.src);
        let cmd = cmd!(
            sh,
            "{cargo} build --target {WASM_TARGET} -p {package} --locked --offline --color never --target-dir {target_dir} {release...}"
        );
        let cmd = build::with_std(cmd, self.size_first, &[])
            .quiet()
            .ignore_status();
        let started = Instant::now();
        let out = cmd
            .output()
            .context("cannot run cargo; is it on PATH (or set CARGO)?")?;
        let seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            eprintln!("\n{stderr}");
            bail!(
                "building {} ({}) for {WASM_TARGET} in the benchmark copy {} failed; cargo's \
                 errors are above (`cargo xtask build-wasm -p {}` builds it in the workspace)",
                self.package,
                self.profile,
                self.src.display(),
                self.package
            );
        }
        Ok((seconds, stderr))
    }

    /// A measured build: fails unless cargo compiled the package, since a
    /// build that skipped it would time nothing.
    fn timed_build(&self, mode: Mode, edited: &Path) -> Result<f64> {
        let (seconds, stderr) = self.build()?;
        if !compiled(&stderr, self.package) {
            eprintln!("\n{stderr}");
            match mode {
                Mode::Cold => bail!(
                    "cargo did not compile {} in an empty target dir {}; its output is above",
                    self.package,
                    self.target_dir.display()
                ),
                Mode::Incremental => bail!(
                    "cargo did not recompile {} after {} was edited, so the run measured \
                     nothing; its output is above. Remove {} and run again",
                    self.package,
                    edited.display(),
                    self.target_dir.display()
                ),
            }
        }
        Ok(seconds)
    }
}

/// Brings the target dir up to date, untimed, so the first incremental run
/// measures only the edit.
fn warm_up(job: &Job) -> Result<()> {
    eprint!(
        "      {} {}: untimed build to warm {} ...",
        job.package,
        job.profile,
        job.target_dir.display()
    );
    let (seconds, _) = job.build()?;
    eprintln!(" {seconds:.1} s");
    Ok(())
}

/// Whether cargo's stderr says it compiled `package` (not just checked it fresh).
fn compiled(stderr: &str, package: &str) -> bool {
    let prefix = format!("Compiling {package} v");
    stderr
        .lines()
        .any(|line| line.trim_start().starts_with(&prefix))
}

/// The source file the incremental runs change: the package's library root,
/// which its binaries build on too, else its first binary's; relative to the
/// workspace root.
fn edit_target(ws: &Workspace, package: &Package) -> Result<PathBuf> {
    let is = |kind: &TargetKind| package.targets.iter().find(|t| t.kind.contains(kind));
    let target = is(&TargetKind::Lib)
        .or_else(|| is(&TargetKind::RLib))
        .or_else(|| is(&TargetKind::Bin))
        .with_context(|| {
            format!(
                "package {} has neither a library nor a binary to edit",
                package.name
            )
        })?;
    let path = Path::new(target.src_path.as_std_path());
    match path.strip_prefix(&ws.root) {
        Ok(rel) => Ok(rel.to_owned()),
        Err(_) => bail!(
            "{}'s source {} is outside the workspace {}, so the benchmark copy would not have it",
            package.name,
            path.display(),
            ws.root.display()
        ),
    }
}

/// Whether git sees changes in the workspace, except in the reports dir:
/// reports do not change what is built, and xtask rewrites them itself.
fn is_dirty(sh: &Shell, root: &Path, reports: &Path) -> Option<bool> {
    let changes = git::uncommitted_changes(sh, root, reports).ok()?;
    Some(!changes.is_empty())
}

/// `<target>/bench-build`, where the copy of the workspace lives, locked:
/// two benchmarks at once would share the copy and time each other.
pub fn bench_dir(ws: &Workspace) -> Result<(PathBuf, lock::Lock)> {
    let bench = ws.target_dir.join("bench-build");
    std::fs::create_dir_all(&bench)
        .with_context(|| format!("cannot create {}", bench.display()))?;
    let note = format!(
        "waiting for another `cargo xtask bench-build` using {}",
        bench.display()
    );
    let lock = lock::acquire(&bench.join(".lock"), WhenBusy::Wait(&note))?;
    Ok((bench, lock))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::git;

    #[test]
    fn compiled_line_is_recognised_for_that_package_only() {
        let out = "   Compiling tokio v1.48.0\n   Compiling cortex-core v0.1.0 (/x/crates/core)\n\
                   \x20   Finished `dev` profile";
        assert!(compiled(out, "cortex-core"));
        assert!(!compiled(out, "cortex"));
        assert!(!compiled(out, "wasm-demo"));
        assert!(!compiled(
            "    Finished `release` profile [optimized]",
            "cortex-core"
        ));
    }

    #[test]
    fn changes_in_the_reports_dir_do_not_make_the_tree_dirty() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let reports = root.join("reports");
        std::fs::create_dir(&reports).unwrap();
        std::fs::write(reports.join("size.json"), "{}").unwrap();
        std::fs::write(root.join("lib.rs"), "").unwrap();
        git(root, &["init", "-q"]);
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "one"]);
        assert_eq!(
            is_dirty(&Shell::new().unwrap(), root, &reports),
            Some(false)
        );
        std::fs::write(reports.join("size.json"), "{\"new\": 1}").unwrap();
        std::fs::write(reports.join("build-times.md"), "new").unwrap();
        assert_eq!(
            is_dirty(&Shell::new().unwrap(), root, &reports),
            Some(false)
        );
        std::fs::write(root.join("lib.rs"), "pub fn f() {}").unwrap();
        assert_eq!(is_dirty(&Shell::new().unwrap(), root, &reports), Some(true));
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(
            is_dirty(&Shell::new().unwrap(), outside.path(), &reports),
            None,
            "not a git checkout"
        );
    }
}
