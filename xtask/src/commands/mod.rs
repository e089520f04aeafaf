//! One module per subcommand, each short: parse its flags, call the layers
//! below, print. `main` dispatches here and maps the [`Outcome`] to an exit
//! code.

pub mod bench_bloat;
pub mod bench_build;
pub mod bench_cache;
pub mod bench_runtime;
pub mod bloat;
pub mod build_wasm;
pub mod doctor;
pub mod flags;
pub mod run_wasm;
pub mod serve_web;
pub mod size_diff;
pub mod size_report;
pub mod test;

/// How a command that ran to its end came out. A command that could not
/// run returns an error instead (exit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Passed,
    /// A check or gate failed: exit 1.
    Failed,
    /// Exit with this code: a guest's, passed through by `run-wasm`.
    Exit(u8),
}
