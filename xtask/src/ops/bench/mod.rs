//! What the benchmarks build in: a copy of the workspace, and a generated
//! workspace of N wasm packages.

pub mod copy;
pub mod generated_workspace;
