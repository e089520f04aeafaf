//! Where a measurement comes from: toolchain, commit, date, machine. Every
//! report and the history carry it, so figures from different places are
//! never compared unknowingly.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use xshell::{cmd, Shell};

use crate::workspace::Workspace;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// `rustc -V`.
    pub rustc: String,
    /// Short hash of HEAD, `unknown` outside a git checkout.
    pub commit: String,
    /// When the measurement was taken, UTC, RFC 3339.
    pub date: String,
    /// Logical CPUs available to this process.
    pub cores: usize,
}

impl Provenance {
    pub fn read(ws: &Workspace) -> Self {
        let unknown = || "unknown".to_owned();
        let date = Shell::new()
            .ok()
            .and_then(|sh| cmd!(sh, "date -u +%Y-%m-%dT%H:%M:%SZ").quiet().read().ok());
        Self {
            rustc: rustc_version().unwrap_or_else(unknown),
            commit: head_commit(&ws.root).unwrap_or_else(unknown),
            date: date.unwrap_or_else(unknown),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// `rustc -V`, or `None` if rustc cannot be run.
pub fn rustc_version() -> Option<String> {
    let sh = Shell::new().ok()?;
    cmd!(sh, "rustc -V").quiet().read().ok()
}

/// The short hash of HEAD in `root`, or `None` outside a git checkout.
pub fn head_commit(root: &Path) -> Option<String> {
    let sh = Shell::new().ok()?;
    cmd!(sh, "git -C {root} rev-parse --short HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
}

/// `git status --porcelain` lines of `root`, untracked files included,
/// leaving out `reports_dir` (xtask rewrites it itself) when it lies
/// inside. Empty when the tree is HEAD's. Fails outside a git checkout.
pub fn uncommitted_changes(root: &Path, reports_dir: &Path) -> Result<Vec<String>> {
    let sh = Shell::new()?;
    // Pathspecs are relative to `root`; a reports dir outside it needs no exclusion.
    let inside = match (root.canonicalize(), reports_dir.canonicalize()) {
        (Ok(r), Ok(d)) => d
            .strip_prefix(&r)
            .ok()
            .filter(|rel| !rel.as_os_str().is_empty())
            .map(Path::to_path_buf),
        _ => None,
    };
    let status = match inside {
        Some(rel) => {
            let exclude = format!(":(exclude){}", rel.display());
            cmd!(sh, "git -C {root} status --porcelain -- . {exclude}")
        }
        None => cmd!(sh, "git -C {root} status --porcelain"),
    }
    .quiet()
    .ignore_stderr()
    .read()
    .with_context(|| format!("`git status` failed in {}", root.display()))?;
    Ok(status
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .collect())
}
