//! The embedded wasm runtime, `cortex-wasm-run` (package `runtime/`), built
//! on first use. It is its own workspace with its own lock file and target
//! dir, so xtask never links wasmtime and wasmtime's tokio features never
//! unify with the wasm builds'.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::ops::env::workspace::Workspace;
use crate::util::process::cargo;

pub const RUNTIME_BIN: &str = "cortex-wasm-run";

/// Where the runtime's package and build output are.
#[derive(Debug)]
pub struct RuntimePaths {
    pub manifest: PathBuf,
    /// `<workspace target dir>/runtime`, apart from every other build.
    pub target_dir: PathBuf,
    /// The release binary in `target_dir`.
    pub binary: PathBuf,
}

pub fn paths(ws: &Workspace) -> RuntimePaths {
    let target_dir = ws.target_dir.join("runtime");
    RuntimePaths {
        manifest: ws.root.join("runtime").join("Cargo.toml"),
        binary: target_dir
            .join("release")
            .join(format!("{RUNTIME_BIN}{}", std::env::consts::EXE_SUFFIX)),
        target_dir,
    }
}

/// Builds the runtime if it is missing or stale and returns its binary.
/// The first build compiles wasmtime (minutes); after that cargo's own
/// freshness check makes this a sub-second no-op.
pub fn ensure_runtime(sh: &Shell, ws: &Workspace) -> Result<PathBuf> {
    let RuntimePaths {
        manifest,
        target_dir,
        binary,
    } = paths(ws);
    ensure!(
        manifest.is_file(),
        "{} is missing; restore the `runtime/` package from git",
        manifest.display()
    );
    let first = !binary.is_file();
    // Built before: say nothing unless cargo has something to say.
    let quiet = (!first).then_some("--quiet");
    if first {
        eprintln!(
            "building the wasm runtime ({RUNTIME_BIN}, wasmtime) into {}: a one-time build \
             of several minutes; later runs reuse it",
            target_dir.display()
        );
    }
    let started = Instant::now();
    let cargo = cargo();
    let _root = sh.push_dir(&ws.root);
    cmd!(
        sh,
        "{cargo} build --release --locked --manifest-path {manifest} --target-dir {target_dir} {quiet...}"
    )
    .quiet()
    .run()
    .context(
        "building the wasm runtime failed; cargo's errors are above (retry with \
         `cargo build --release --manifest-path runtime/Cargo.toml`)",
    )?;
    ensure!(
        binary.is_file(),
        "cargo reported success but {} is missing; remove {} and run again",
        binary.display(),
        target_dir.display()
    );
    if first {
        eprintln!(
            "built {} in {:.0} s",
            binary.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(binary)
}
