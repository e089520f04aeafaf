//! Plumbing every layer above may use: processes, git, atomic files, one
//! lock, a loopback static file server, and summaries (tables are `wasm_size::table`). Knows nothing of
//! wasm, sizes or commands.

pub mod files;
pub mod git;
pub mod http;
pub mod lock;
pub mod process;
pub mod stats;
