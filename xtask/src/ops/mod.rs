//! The build layer: operations on a workspace. Workspace facts, set-up
//! (rustup, apt), cargo builds, `-Oz`, measuring files, the runtime, other
//! revisions, the reports dir, treemap pages and the headless browser. Uses `size` for the model and `util` for
//! plumbing; never a command.

pub mod artifacts;
pub mod bench_copy;
pub mod browser;
pub mod build;
pub mod cache;
pub mod collect;
pub mod features;
pub mod fresh;
pub mod measure;
pub mod provenance;
pub mod publish;
pub mod reports;
pub mod revision;
pub mod runtime;
pub mod setup;
pub mod shrink;
pub mod std_mode;
pub mod synthetic;
pub mod treemap;
pub mod workspace;
