//! Other git revisions: measured by building them in a temporary worktree
//! with this toolchain (`size-report --against`, `size-diff REV REV`), and
//! the `Size-Accepted:` trailers of the commits since one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::size_report::{measure_all, Report};
use crate::workspace::Workspace;

/// Set by Ctrl-C (or SIGTERM/SIGHUP) while a revision is being measured, so
/// the build fails and the worktree's guard removes it instead of the
/// process dying with the worktree in place.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The full hash of `rev`, or an error if it names no commit.
pub fn resolve(ws: &Workspace, rev: &str) -> Result<String> {
    let sh = Shell::new()?;
    let root = &ws.root;
    let spec = format!("{rev}^{{commit}}");
    cmd!(sh, "git -C {root} rev-parse --verify --quiet {spec}")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("`{rev}` is not a commit in {}", root.display()))
}

/// A `git worktree` that is removed when dropped: on success, on error, and
/// (through the signal handler) on interrupt.
struct Worktree {
    repo: PathBuf,
    path: PathBuf,
    _lock: File,
}

impl Worktree {
    fn add(ws: &Workspace, commit: &str) -> Result<Self> {
        let base = ws.target_dir.join("revisions");
        std::fs::create_dir_all(&base)
            .with_context(|| format!("cannot create {}", base.display()))?;
        let lock = File::create(base.join(".lock"))?;
        if lock.try_lock().is_err() {
            eprintln!(
                "waiting for another xtask that is building a revision in {}",
                base.display()
            );
            lock.lock()
                .with_context(|| format!("cannot lock {}", base.join(".lock").display()))?;
        }
        // One fixed path: a rebuild there reuses the last one's dependencies.
        let path = base.join("worktree");
        let sh = Shell::new()?;
        let repo = ws.root.clone();
        // A worktree left by a killed run (SIGKILL skips every guard).
        if path.exists() {
            let _ = cmd!(sh, "git -C {repo} worktree remove --force {path}")
                .quiet()
                .ignore_stderr()
                .run();
            let _ = std::fs::remove_dir_all(&path);
        }
        let _ = cmd!(sh, "git -C {repo} worktree prune").quiet().run();
        install_interrupt_handler();
        // The guard exists before git starts, so a checkout that fails or is
        // interrupted half-way is removed too.
        let tree = Self {
            repo,
            path,
            _lock: lock,
        };
        let (repo, path) = (&tree.repo, &tree.path);
        cmd!(
            sh,
            "git -C {repo} worktree add --detach --quiet {path} {commit}"
        )
        .quiet()
        .run()
        .with_context(|| {
            format!(
                "cannot check out {commit} in a worktree at {}",
                path.display()
            )
        })?;
        Ok(tree)
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let (repo, path) = (&self.repo, &self.path);
        if let Ok(sh) = Shell::new() {
            let _ = cmd!(sh, "git -C {repo} worktree remove --force {path}")
                .quiet()
                .ignore_stderr()
                .run();
            if path.exists() {
                let _ = std::fs::remove_dir_all(path);
            }
            let _ = cmd!(sh, "git -C {repo} worktree prune").quiet().run();
        }
    }
}

fn install_interrupt_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Cargo, in our process group, gets the same signal and stops; we
        // outlive it to remove the worktree. If a handler cannot be set,
        // the next run removes the leftover worktree instead.
        let _ = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                eprintln!("interrupted twice: exiting now");
                std::process::exit(130);
            }
            eprintln!("interrupted: stopping, then removing the worktree");
        });
    });
}

/// Builds and measures `commit` in a temporary worktree, with this
/// toolchain and this xtask's measurement (so both sides are measured the
/// same way), in target dirs under `<target>/revisions`.
pub fn measure(ws: &Workspace, commit: &str) -> Result<Report> {
    let short = &commit[..commit.len().min(10)];
    eprintln!("building {short} in a temporary worktree to compare with");
    let tree = Worktree::add(ws, commit)?;
    let mut theirs = Workspace::load_at(&tree.path)
        .with_context(|| format!("cannot read the workspace of {short}"))?;
    theirs.target_dir = ws.target_dir.join("revisions");
    if theirs.wasm_packages().is_empty() {
        bail!("{short} has no wasm packages (`[package.metadata.cortex] wasm = true`) to measure");
    }
    let result = measure_all(&theirs, false);
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted while building {short}; its worktree was removed");
    }
    let mut report = result.with_context(|| format!("cannot build {short} for comparison"))?;
    report.commit = Some(short.to_owned());
    Ok(report)
}

/// One `Size-Accepted: <package or artifact id> +<size>, <reason>` trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub target: String,
    pub bytes: u64,
    pub reason: String,
    pub commit: String,
}

impl Acceptance {
    /// Whether it covers the artifact `id` of `package`.
    pub fn covers(&self, package: &str, id: &str) -> bool {
        self.target == package || self.target == id
    }
}

pub const TRAILER: &str = "Size-Accepted";

/// `wasm-demo +12 KiB, reason` → target, bytes, reason.
pub fn parse_acceptance(value: &str) -> Result<(String, u64, String)> {
    const FORMAT: &str =
        "expected `Size-Accepted: <package or artifact id> +<size> [B|KiB|MiB|kB|MB], <reason>`";
    let (head, reason) = value.split_once(',').unwrap_or((value, ""));
    let reason = reason.trim();
    let mut words = head.split_whitespace();
    let target = words.next().context(FORMAT)?;
    let amount: String = words.collect::<Vec<_>>().join("");
    let amount = amount
        .strip_prefix('+')
        .with_context(|| format!("no `+size`: {FORMAT}"))?;
    let split = amount
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(amount.len());
    let (number, unit) = amount.split_at(split);
    let number: f64 = number.parse().ok().context(FORMAT)?;
    let scale = match unit {
        "" | "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "kB" | "KB" => 1000.0,
        "MB" => 1e6,
        other => bail!("unknown unit `{other}`: {FORMAT}"),
    };
    if reason.is_empty() {
        bail!("no reason: {FORMAT}");
    }
    Ok((
        target.to_owned(),
        (number * scale).round() as u64,
        reason.to_owned(),
    ))
}

/// The acceptances in commits after `since` up to HEAD. A malformed trailer
/// is reported (naming its commit) and ignored, so the gate judges as if it
/// were absent.
pub fn acceptances_since(root: &Path, since: &str) -> Result<Vec<Acceptance>> {
    let sh = Shell::new()?;
    let range = format!("{since}..HEAD");
    let format = format!("--format=%h%x00%(trailers:key={TRAILER},valueonly,separator=%x01)");
    let log = cmd!(sh, "git -C {root} log {format} {range}")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("cannot read the commits in {range}"))?;
    let mut out = Vec::new();
    for line in log.lines() {
        let Some((commit, values)) = line.split_once('\0') else {
            continue;
        };
        for value in values
            .split('\u{1}')
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            match parse_acceptance(value) {
                Ok((target, bytes, reason)) => out.push(Acceptance {
                    target,
                    bytes,
                    reason,
                    commit: commit.to_owned(),
                }),
                Err(e) => eprintln!("warning: commit {commit}: ignoring `{TRAILER}: {value}`: {e}"),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::git;

    #[test]
    fn acceptance_parses_units_and_reason() {
        assert_eq!(
            parse_acceptance("wasm-demo +12 KiB, serde for the config").unwrap(),
            ("wasm-demo".into(), 12 * 1024, "serde for the config".into())
        );
        assert_eq!(
            parse_acceptance("wasm-demo/wasm/release/opt +1.5MiB, big")
                .unwrap()
                .1,
            1_572_864
        );
        assert_eq!(parse_acceptance("x +300, r").unwrap().1, 300);
        assert_eq!(parse_acceptance("x +2 kB, r").unwrap().1, 2000);
    }

    #[test]
    fn malformed_acceptance_says_the_expected_form() {
        for bad in [
            "wasm-demo 12 KiB, r",
            "wasm-demo +12 parsecs, r",
            "wasm-demo +12 KiB",
            "",
        ] {
            let err = parse_acceptance(bad).unwrap_err().to_string();
            assert!(err.contains("Size-Accepted:"), "{bad}: {err}");
        }
    }

    #[test]
    fn trailers_after_the_compared_commit_are_read_and_bad_ones_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q"]);
        let commit = |msg: &str| git(d, &["commit", "-q", "--allow-empty", "-m", msg]);
        commit("base\n\nSize-Accepted: wasm-demo +1 MiB, before the baseline");
        let base = git(d, &["rev-parse", "HEAD"]);
        commit("grow\n\nSize-Accepted: wasm-demo +12 KiB, serde for the config");
        commit("two\n\nSize-Accepted: cortex-core +300 B, a\nSize-Accepted: nonsense");
        commit("none");
        let mut got = acceptances_since(d, &base).unwrap();
        got.sort_by_key(|a| a.bytes);
        let short: Vec<(&str, u64, &str)> = got
            .iter()
            .map(|a| (a.target.as_str(), a.bytes, a.reason.as_str()))
            .collect();
        assert_eq!(
            short,
            [
                ("cortex-core", 300, "a"),
                ("wasm-demo", 12 * 1024, "serde for the config")
            ]
        );
        assert!(got.iter().all(|a| a.commit.len() >= 7));
    }

    #[test]
    fn acceptance_covers_its_package_or_exact_id() {
        let a = Acceptance {
            target: "wasm-demo".into(),
            bytes: 1,
            reason: "r".into(),
            commit: "c".into(),
        };
        assert!(a.covers("wasm-demo", "wasm-demo/wasm/release/opt"));
        assert!(!a.covers("cortex-core", "cortex-core/rlib/release/raw"));
        let exact = Acceptance {
            target: "wasm-demo/wasm/release/opt".into(),
            ..a
        };
        assert!(exact.covers("wasm-demo", "wasm-demo/wasm/release/opt"));
        assert!(!exact.covers("wasm-demo", "wasm-demo/wasm/release/raw"));
    }
}
