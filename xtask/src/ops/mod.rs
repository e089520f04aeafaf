//! The operations layer: what the commands do, on a workspace, in folders
//! by family. Uses `wasm-size` for the model and `util` for plumbing; never
//! a command.
//!
//! - `env`: the workspace and the machine (metadata, set-up, provenance,
//!   the compiler cache, the headless browser, doctor's feature check);
//! - `build`: wasm builds, their freshness, `-Oz`, the std mode, the runtime;
//! - `measure`: sizes of built files, the collector, other revisions,
//!   treemap pages;
//! - `reports`: the reports dir (lock, baseline, history, chart) and
//!   publishing the history;
//! - `bench`: the benchmarks' workspace copies.

pub mod bench;
pub mod build;
pub mod env;
pub mod measure;
pub mod reports;
