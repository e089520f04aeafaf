//! The size model and its analyses: bytes and structs in, structs and text
//! out. No process, no cargo, no git, no file written: everything here is
//! tested on plain data. This crate's `Cargo.toml` (no process, git or
//! file-writing dependency) and `clippy.toml` (no `std::fs` writes, no
//! `std::process`) hold it to that; xtask is the shell around it.

pub mod analyse;
pub mod artifact;
pub mod attribution;
pub mod bloat_text;
pub mod budgets;
pub mod callgraph;
pub mod chart;
pub mod comment;
pub mod diff;
#[doc(hidden)]
pub mod fixtures;
pub mod history;
pub mod render;
pub mod report;
pub mod retained;
pub mod scan;
pub mod shard;
pub mod synthetic;
pub mod table;
pub mod treemap;
pub mod wasm;
