//! The xtask binary end to end: real cargo builds, real files, and each bad
//! input giving one clear line, exit 2, and the previous files intact.
//!
//! One test binary, `cli`, with a file per command: `build_wasm.rs`,
//! `size_report.rs`, `bloat.rs`, `run_wasm.rs`, `bench_*.rs`; size-report's
//! bigger flags have files of their own (`gate.rs`: `--check` and
//! `--comment`; `history.rs`: `--record`, `--backfill`, `--publish`;
//! `against.rs`; `shards.rs`: `--shard` and `--merge`), and `workflows.rs`
//! runs what the workflows run; `json.rs`: every `--json` prints one JSON
//! document alone on stdout. `support.rs` holds what several files use
//! (the binary, run in this checkout; its exit-2 error line; reports dirs
//! with old files; git with a fixed identity; tiny workspaces); a helper
//! one file uses stays in that file. Tests marked `#[ignore = "end to
//! end…"]` make real release builds; `cargo xtask test` runs them in a
//! step of its own (`cargo test -p xtask --test cli -- --ignored`).

mod support;

mod against;
mod bench_build;
mod bench_cache;
mod bench_runtime;
mod bloat;
mod build_wasm;
mod gate;
mod history;
mod json;
mod run_wasm;
mod shards;
mod size_report;
mod workflows;
