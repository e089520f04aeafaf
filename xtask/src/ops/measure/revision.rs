//! Other git revisions, measured by building them in a temporary worktree
//! with this toolchain (`size-report --against`, `size-diff REV REV`), and
//! the `Size-Accepted:` trailers of the commits since one.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::ops::build::artifacts;
use crate::ops::env::workspace::Workspace;
use crate::ops::measure::collect;
use crate::util::files::{content_hash, write_atomic};
use crate::util::git::{self, Worktree};
use crate::util::lock::{self, Lock, WhenBusy};
use wasm_size::budgets::{parse_trailers, Acceptance, TRAILER};
use wasm_size::report::Report;

/// Set by Ctrl-C (or SIGTERM/SIGHUP) while a revision is being measured, so
/// the build fails and the worktree's guard removes it instead of the
/// process dying with the worktree in place.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// A commit checked out in `<target>/revisions/worktree`, as a workspace
/// whose builds go to `<target>/revisions`. The worktree is removed when
/// this is dropped: on success, on error, and (through the signal handler)
/// on interrupt.
#[derive(Debug)]
pub struct Revision<'a> {
    pub workspace: Workspace,
    // Dropped in this order: the worktree, then the lock.
    _tree: Worktree<'a>,
    _lock: Lock,
}

impl<'a> Revision<'a> {
    pub fn checkout(sh: &'a Shell, ws: &Workspace, commit: &str) -> Result<Self> {
        let base = ws.target_dir.join("revisions");
        std::fs::create_dir_all(&base)
            .with_context(|| format!("cannot create {}", base.display()))?;
        let note = format!(
            "waiting for another xtask that is building a revision in {}",
            base.display()
        );
        let lock = lock::acquire(&base.join(".lock"), WhenBusy::Wait(&note))?;
        install_interrupt_handler();
        // One fixed path: a rebuild there reuses the last one's dependencies.
        let tree = Worktree::add(sh, &ws.root, &base.join("worktree"), commit)?;
        let short = &commit[..commit.len().min(10)];
        let mut workspace = Workspace::load_at(tree.path())
            .with_context(|| format!("cannot read the workspace of {short}"))?;
        workspace.target_dir = base;
        Ok(Self {
            workspace,
            _tree: tree,
            _lock: lock,
        })
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

/// Whether Ctrl-C (or SIGTERM/SIGHUP) arrived while a revision was built.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Builds and measures `commit` in a temporary worktree, with this
/// toolchain and the collector HEAD is measured with, so both sides are
/// measured the same way.
pub fn measure(sh: &Shell, ws: &Workspace, commit: &str) -> Result<Report> {
    let short = &commit[..commit.len().min(10)];
    eprintln!("building {short} in a temporary worktree to compare with");
    let revision = Revision::checkout(sh, ws, commit)?;
    if revision.workspace.wasm_packages().is_empty() {
        bail!("{short} has no wasm packages (`[package.metadata.cortex] wasm = true`) to measure");
    }
    let result = collect::measure_all(sh, &revision.workspace, false);
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted while building {short}; its worktree was removed");
    }
    let mut report = result.with_context(|| format!("cannot build {short} for comparison"))?;
    report.commit = Some(short.to_owned());
    Ok(report)
}

/// The acceptances in commits after `since` up to HEAD. A malformed trailer
/// is reported (naming its commit) and ignored, so the gate judges as if it
/// were absent.
/// Growth accepted since the baseline's commit `since`: none when that
/// commit is not in this history (blessed elsewhere, a shallow clone). The
/// log of a range of two commits never changes, so it is kept in the size
/// cache: a no-op size-report runs one git instead of a walk of the range.
pub fn baseline_acceptances(sh: &Shell, ws: &Workspace, since: &str) -> Result<Vec<Acceptance>> {
    let Some((since, head)) = git::commit_and_head(sh, &ws.root, since) else {
        return Ok(Vec::new());
    };
    let dir = artifacts::size_cache_dir(ws);
    let key = content_hash(&[
        b"trailers v1",
        since.as_bytes(),
        head.as_bytes(),
        TRAILER.as_bytes(),
    ]);
    let cached = dir.join(format!("trailers-{key}.txt"));
    let log = match std::fs::read_to_string(&cached) {
        Ok(log) => log,
        Err(_) => {
            let log = git::trailers_since(sh, &ws.root, &since, TRAILER)?;
            if std::fs::create_dir_all(&dir).is_ok() {
                // A cache that cannot be written only costs time next run.
                let _ = write_atomic(&cached, log.as_bytes());
            }
            log
        }
    };
    Ok(parse_and_warn(&log))
}

fn parse_and_warn(log: &str) -> Vec<Acceptance> {
    let (accepted, warnings) = parse_trailers(log);
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    accepted
}

pub fn acceptances_since(sh: &Shell, root: &Path, since: &str) -> Result<Vec<Acceptance>> {
    let log = git::trailers_since(sh, root, since, TRAILER)?;
    Ok(parse_and_warn(&log))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::git;

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
        let sh = Shell::new().unwrap();
        let mut got = acceptances_since(&sh, d, &base).unwrap();
        got.sort_by_key(|a| a.bytes);
        let short: Vec<(String, u64, &str)> = got
            .iter()
            .map(|a| (a.target.to_string(), a.bytes, a.reason.as_str()))
            .collect();
        assert_eq!(
            short,
            [
                ("cortex-core".to_owned(), 300, "a"),
                ("wasm-demo".to_owned(), 12 * 1024, "serde for the config")
            ]
        );
        assert!(got.iter().all(|a| a.commit.len() >= 7));
    }
}
