//! `cargo xtask bench-build`: how long the guide's wasm builds take, cold and
//! incremental, debug and release, for each wasm package. Writes
//! `reports/build-times.{md,json}`.
//!
//! Everything happens in a copy of the workspace, `<target>/bench-build/src`,
//! remade at every start, with one target dir per package and profile beside
//! it (`target-<pkg>-<profile>`). The incremental edits go to the copy only,
//! so an interrupted or killed benchmark can never leave the user's sources
//! modified, and the user's own build outputs are never cleaned or rebuilt.
//!
//! `--synthetic N` (`synthetic.rs`) measures `size-report` instead, in
//! copies with N generated wasm packages: `reports/many-packages.{md,json}`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use cargo_metadata::{Package, TargetKind};
use xshell::{cmd, Shell};

mod report;
mod synthetic;

use self::report::{markdown, table, Mode, Report, Row};
use super::{build_wasm, Outcome};
use crate::ops::bench::copy::{copy_workspace, fetch, SourceEdit};
use crate::ops::build::artifacts::WASM_TARGET;
use crate::ops::build::{self, std_mode};
use crate::ops::env::cache;
use crate::ops::env::provenance::{self, Provenance};
use crate::ops::env::setup;
use crate::ops::env::workspace::Workspace;
use crate::ops::reports;
use crate::util::files::{check_writable, remove_dir, write_atomic};
use crate::util::git;
use crate::util::lock::{self, WhenBusy};
use crate::util::process::cargo;
use wasm_size::artifact::Profile;
use wasm_size::history::{Entry, HISTORY_FILE};
use wasm_size::table::print_report;

#[derive(Debug, clap::Args)]
// Not `Args`: that is the flattened build-wasm filters' group.
#[group(id = "bench-build")]
pub struct Args {
    /// Timed builds per package, profile and mode
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub runs: u32,
    #[command(flatten)]
    pub build: build_wasm::Args,
    /// Measure only cold or only incremental builds (default: both)
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Print the report as JSON on stdout (messages go to stderr)
    #[arg(long)]
    pub json: bool,
    /// Where to write build-times.md and build-times.json [default: <workspace>/reports]
    #[arg(long, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Also record each median in the reports dir's history.jsonl, for the trend chart
    #[arg(long)]
    pub record: bool,
    /// Instead: for each N (comma-separated or repeated: 1,4,12), generate a
    /// workspace of N wasm packages over cortex-core and time a cold and a
    /// warm `size-report` in it: reports/many-packages.{md,json}
    #[arg(
        long,
        value_name = "N",
        value_delimiter = ',',
        conflicts_with_all = ["runs", "mode", "record", "packages", "debug", "release"]
    )]
    pub synthetic: Vec<usize>,
}

impl Args {
    fn modes(&self) -> Vec<Mode> {
        match self.mode {
            Some(mode) => vec![mode],
            None => vec![Mode::Cold, Mode::Incremental],
        }
    }
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    if !args.synthetic.is_empty() {
        let reports = ws.reports_dir(args.reports_dir.as_deref());
        return synthetic::run(sh, ws, &args.synthetic, &reports, args.json);
    }
    ensure!(
        args.runs > 0,
        "--runs 0 measures nothing; pass --runs 1 or more (default 3)"
    );
    let packages = ws.select_wasm_packages(&args.build.packages)?;
    let profiles = args.build.profiles();
    let modes = args.modes();
    let reports = ws.reports_dir(args.reports_dir.as_deref());
    // Fail now, not after the benchmark, if the reports cannot be written
    // or the history line would be wrong.
    check_writable(&reports)?;
    if args.record {
        reports::ensure_recordable(sh, &ws.root, &reports)?;
    }

    setup::ensure_targets(sh, &[WASM_TARGET])?;
    let (bench, _lock) = bench_dir(ws)?;
    let src = bench.join("src");
    let files = copy_workspace(sh, ws, &src)?;
    eprintln!("copied {files} files of the workspace to {}", src.display());
    fetch(sh, &src)?;

    // Read when the measurement starts: the date and load of the benchmark.
    let provenance = Provenance::read(sh, ws);
    let load_average = load_average();
    let dirty = is_dirty(sh, &ws.root, &reports);
    let mut rows = Vec::new();
    let jobs = build::jobs(&packages, &profiles)?;
    let total = jobs.len() * modes.len() * args.runs as usize;
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
        for &mode in &modes {
            let mut edit = None;
            if mode == Mode::Incremental {
                if !modes.contains(&Mode::Cold) {
                    warm_up(&job)?;
                }
                edit = Some(SourceEdit::new(src.join(&edit_file))?);
            }
            let mut runs = Vec::new();
            for run in 1..=args.runs {
                done += 1;
                eprint!(
                    "[{done}/{total}] {} {profile} {mode}, run {run}/{} ...",
                    package.name, args.runs
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

    let report = Report {
        provenance,
        cargo: provenance::cargo_version(sh).unwrap_or_else(|| "unknown".into()),
        dirty,
        load_average,
        rustc_wrapper: cache::wrapper(sh).map(|w| w.display().to_string()),
        command: reproduce_command(std::env::args().skip(1)),
        rows,
    };
    let table = table(&report);
    let json = serde_json::to_string_pretty(&report)? + "\n";
    write_atomic(&reports.join("build-times.json"), json.as_bytes())?;
    write_atomic(
        &reports.join("build-times.md"),
        markdown(&report, &table).as_bytes(),
    )?;
    if args.record {
        record(sh, ws, &reports, &report)
            .context("build-times.{md,json} are written, but the history is not")?;
    }
    let text = format!(
        "{}wrote {} and {}\n",
        table.render(),
        reports.join("build-times.md").display(),
        reports.join("build-times.json").display()
    );
    print_report(&text, &json, args.json);
    Ok(Outcome::Passed)
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
fn bench_dir(ws: &Workspace) -> Result<(PathBuf, lock::Lock)> {
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

pub(crate) fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// `cargo xtask` and `args` (this process's, after the program name),
/// quoted for a POSIX shell.
pub(crate) fn reproduce_command(args: impl IntoIterator<Item = String>) -> String {
    let mut words = vec!["cargo".to_owned(), "xtask".to_owned()];
    for arg in args {
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c));
        words.push(if plain {
            arg
        } else {
            format!("'{}'", arg.replace('\'', r"'\''"))
        });
    }
    words.join(" ")
}

/// Files this report's medians under its commit in the history, beside the
/// sizes size-report recorded there, and redraws the chart from it.
fn record(sh: &Shell, ws: &Workspace, reports: &Path, report: &Report) -> Result<()> {
    let p = &report.provenance;
    let entry = Entry {
        commit: p.commit.clone(),
        date: git::commit_date(sh, &ws.root, &p.commit)?,
        rustc: p.rustc.clone(),
        artifacts: Default::default(),
        build_seconds: report
            .rows
            .iter()
            .map(|r| (r.id(), r.summary.median))
            .collect(),
        failed: None,
    };
    // size-report's lock: the history is read, changed and written whole.
    let _lock = reports::lock(reports)?;
    let path = reports.join(HISTORY_FILE);
    let budgets = ws.budgets()?;
    for written in reports::update(reports, Some(entry), &budgets)? {
        if written == path {
            eprintln!("recorded the medians in {}", path.display());
        } else {
            eprintln!("wrote {}", written.display());
        }
    }
    Ok(())
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
    fn record_adds_the_medians_to_the_commits_history_line_and_charts_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"t\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .unwrap();
        std::fs::create_dir(root.join("src")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        git(root, &["init", "-q"]);
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "one"]);
        let commit = git(root, &["rev-parse", "--short", "HEAD"]);
        let ws = Workspace::load_at(root).unwrap();
        let reports = root.join("reports");
        std::fs::create_dir(&reports).unwrap();
        let history_file = reports.join(HISTORY_FILE);
        // What size-report --record wrote for this commit stays.
        let sizes = Entry {
            commit: commit.clone(),
            date: "2020-01-01T00:00:00Z".into(),
            rustc: "rustc old".into(),
            artifacts: [(
                "wasm-demo/wasm/release/opt".to_owned(),
                wasm_size::history::ArtifactPoint {
                    bytes: 100,
                    gzip_bytes: 50,
                },
            )]
            .into(),
            build_seconds: Default::default(),
            failed: None,
        };
        reports::record(&history_file, sizes).unwrap();
        let report = Report {
            provenance: Provenance {
                rustc: "rustc new".into(),
                commit: commit.clone(),
                date: "2030-01-01T00:00:00Z".into(),
                cores: 2,
            },
            cargo: "cargo".into(),
            dirty: Some(false),
            load_average: None,
            rustc_wrapper: None,
            command: "cargo xtask bench-build".into(),
            rows: vec![
                Row::new(
                    "wasm-demo",
                    Profile::Release,
                    Mode::Incremental,
                    vec![1.0, 3.0, 2.0],
                ),
                Row::new("wasm-demo", Profile::Debug, Mode::Cold, vec![9.0]),
            ],
        };
        record(&Shell::new().unwrap(), &ws, &reports, &report).unwrap();
        let entries = reports::load_history(&history_file).unwrap();
        assert_eq!(entries.len(), 1, "{entries:?}");
        let line = &entries[0];
        assert_eq!(line.commit, commit);
        assert_eq!(line.artifacts.len(), 1, "the sizes were lost");
        assert_eq!(line.build_seconds["wasm-demo/release/incremental"], 2.0);
        assert_eq!(line.build_seconds["wasm-demo/debug/cold"], 9.0);
        assert_eq!(line.rustc, "rustc new");
        // The commit's date, not the measurement's.
        assert_ne!(line.date, "2030-01-01T00:00:00Z");
        let chart = std::fs::read_to_string(reports.join(wasm_size::chart::CHART_FILE)).unwrap();
        assert!(
            chart.contains("wasm-demo/release/incremental"),
            "build times not charted"
        );
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

    #[test]
    fn reproduce_command_quotes_what_the_shell_would_split() {
        let args = [
            "bench-build",
            "--runs",
            "5",
            "--reports-dir",
            "/tmp/my reports",
            "it's",
        ];
        assert_eq!(
            reproduce_command(args.map(String::from)),
            r"cargo xtask bench-build --runs 5 --reports-dir '/tmp/my reports' 'it'\''s'"
        );
    }
}
