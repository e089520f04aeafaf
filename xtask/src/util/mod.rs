//! Plumbing every layer above may use: processes, git, atomic files, one
//! lock and summaries (tables are `wasm_size::table`). Knows nothing of
//! wasm, sizes or commands.

pub mod files;
pub mod git;
pub mod lock;
pub mod process;
pub mod stats;
