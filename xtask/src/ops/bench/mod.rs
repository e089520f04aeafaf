//! The benchmarks: what every report shares (`report`), and each
//! benchmark's measurement and report.
//!
//! - `timed_build`, `build_times`: bench-build's timed cargo builds in a
//!   copy of the workspace, `build-times.{md,json}` and the history record;
//! - `many_packages`, `generated_workspace`: `bench-build --synthetic`,
//!   size-report in generated workspaces of N wasm packages;
//! - `compiler_cache`: bench-cache, two clones through sccache and Redis;
//! - `runtime`: bench-runtime, the workloads natively and as wasm;
//! - `copy`: the copy of the workspace they build in, and its edits.

pub mod bloat;
pub mod build_times;
pub mod compiler_cache;
pub mod copy;
pub mod generated_workspace;
pub mod many_packages;
pub mod modules;
pub mod report;
pub mod runtime;
pub mod timed_build;
