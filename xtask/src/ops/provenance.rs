//! Where a measurement comes from: toolchain, commit, date, machine. Every
//! report and the history carry it, so figures from different places are
//! never compared unknowingly.

use serde::{Deserialize, Serialize};
use xshell::{cmd, Shell};

use crate::ops::workspace::Workspace;
use crate::util::git;
use crate::util::process::cargo;

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
    pub fn read(sh: &Shell, ws: &Workspace) -> Self {
        let unknown = || "unknown".to_owned();
        let date = cmd!(sh, "date -u +%Y-%m-%dT%H:%M:%SZ").quiet().read().ok();
        Self {
            rustc: rustc_version(sh).unwrap_or_else(unknown),
            commit: git::head_short(sh, &ws.root).unwrap_or_else(unknown),
            date: date.unwrap_or_else(unknown),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// `rustc -V`, or `None` if rustc cannot be run.
pub fn rustc_version(sh: &Shell) -> Option<String> {
    cmd!(sh, "rustc -V").quiet().read().ok()
}

/// `cargo -V`, or `None` if cargo cannot be run.
pub fn cargo_version(sh: &Shell) -> Option<String> {
    let cargo = cargo();
    cmd!(sh, "{cargo} -V").quiet().read().ok()
}
