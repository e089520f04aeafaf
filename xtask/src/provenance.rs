//! Where a measurement comes from: toolchain, commit, date, machine. Every
//! report and the history carry it, so figures from different places are
//! never compared unknowingly.

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
        let root = &ws.root;
        let sh = Shell::new().ok();
        let run = |f: &dyn Fn(&Shell) -> xshell::Result<String>| {
            sh.as_ref()
                .and_then(|sh| f(sh).ok())
                .unwrap_or_else(|| "unknown".into())
        };
        Self {
            rustc: run(&|sh| cmd!(sh, "rustc -V").quiet().read()),
            commit: run(&|sh| {
                cmd!(sh, "git -C {root} rev-parse --short HEAD")
                    .quiet()
                    .ignore_stderr()
                    .read()
            }),
            date: run(&|sh| cmd!(sh, "date -u +%Y-%m-%dT%H:%M:%SZ").quiet().read()),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}
