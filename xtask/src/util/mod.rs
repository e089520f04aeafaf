//! Plumbing every layer above may use: processes, git, atomic files, one
//! lock, tables and summaries. Knows nothing of wasm, sizes or commands.

pub mod files;
pub mod git;
pub mod lock;
pub mod process;
pub mod stats;
pub mod table;
