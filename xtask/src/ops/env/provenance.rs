//! Where a measurement comes from: toolchain, commit, date, machine. Every
//! report and the history carry it, so figures from different places are
//! never compared unknowingly.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use xshell::{cmd, Shell};

use crate::ops::env::workspace::Workspace;
use crate::util::git;
use crate::util::process::{self, cargo, Pending};

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

/// `rustc -V` asked or answered, per directory (rustup picks the toolchain
/// by it).
enum Rustc {
    Asked(Pending),
    Answered(Option<String>),
}

static RUSTC: Mutex<BTreeMap<PathBuf, Rustc>> = Mutex::new(BTreeMap::new());

/// Starts `rustc -V` now, so that [`rustc_version`] finds it answered: a
/// no-op size-report spends a fifth of its time waiting for it otherwise.
pub fn ask_rustc_version(sh: &Shell) {
    let mut asked = RUSTC.lock().unwrap_or_else(|e| e.into_inner());
    if let (std::collections::btree_map::Entry::Vacant(entry), Ok(pending)) = (
        asked.entry(sh.current_dir()),
        process::start_reading(cmd!(sh, "rustc -V")),
    ) {
        entry.insert(Rustc::Asked(pending));
    }
}

/// `rustc -V`, or `None` if rustc cannot be run. Asked once per directory.
pub fn rustc_version(sh: &Shell) -> Option<String> {
    let mut asked = RUSTC.lock().unwrap_or_else(|e| e.into_inner());
    let dir = sh.current_dir();
    let answer = match asked.remove(&dir) {
        Some(Rustc::Answered(answer)) => answer,
        Some(Rustc::Asked(pending)) => pending.finish(),
        None => cmd!(sh, "rustc -V").quiet().read().ok(),
    };
    asked.insert(dir, Rustc::Answered(answer.clone()));
    answer
}

/// `cargo -V`, or `None` if cargo cannot be run.
pub fn cargo_version(sh: &Shell) -> Option<String> {
    let cargo = cargo();
    cmd!(sh, "{cargo} -V").quiet().read().ok()
}
