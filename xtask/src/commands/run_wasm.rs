//! `cargo xtask run-wasm`: runs a wasm package's built binary (or any
//! `.wasm` file) under the embedded runtime, with the guest's stdio, args
//! and exit code passed through.

use std::path::PathBuf;

use anyhow::{bail, Result};
use xshell::{cmd, Shell};

use super::Outcome;
use crate::ops::build::{self, artifacts, runtime};
use crate::ops::env::workspace::Workspace;
use crate::util::process;
use wasm_size::artifact::{Kind, Profile, Stage};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The wasm package to run [default: the only wasm package with a binary]
    #[arg(short = 'p', long = "package", value_name = "PKG")]
    pub package: Option<String>,
    /// Run the debug `.wasm` instead of the shipped release `.opt.wasm`
    #[arg(long)]
    pub debug: bool,
    /// Run this `.wasm` file instead of a package's
    #[arg(long, value_name = "PATH.wasm", conflicts_with_all = ["package", "debug"])]
    pub file: Option<PathBuf>,
    /// Make host directory HOST visible to the guest as GUEST [default: the same path]; repeatable
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    pub dirs: Vec<String>,
    /// Set K to V in the guest's environment (`K` alone: the host's value); repeatable
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Print wasmtime's compile, instantiate and run times as one JSON line on stderr
    #[arg(long)]
    pub timings: bool,
    /// Arguments for the guest
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// The exit code is the guest's (134 if it trapped); errors are set-up
/// that could not be done.
pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let wasm = match &args.file {
        Some(file) => {
            if !file.is_file() {
                bail!(
                    "--file {}: no such file; pass the path of a .wasm module \
                     (`cargo xtask build-wasm` builds the packages')",
                    file.display()
                );
            }
            file.clone()
        }
        None => package_wasm(sh, ws, args)?,
    };
    let runner = runtime::ensure_runtime(sh, ws)?;
    let dirs = args.dirs.iter().flat_map(|d| ["--dir", d.as_str()]);
    let env = args.env.iter().flat_map(|e| ["--env", e.as_str()]);
    let timings = args.timings.then_some("--timings");
    let guest_args = &args.args;
    // `--` keeps a file name starting with `-` from reading as an option.
    let status = process::status(
        cmd!(
            sh,
            "{runner} {dirs...} {env...} {timings...} -- {wasm} {guest_args...}"
        )
        .quiet(),
    )?;
    match status.code() {
        Some(code) => Ok(Outcome::Exit(u8::try_from(code).unwrap_or(1))),
        None => bail!(
            "{} was killed ({status}) while running {}",
            runner.display(),
            wasm.display()
        ),
    }
}

/// The package's binary `.wasm` for the chosen profile, built first.
fn package_wasm(sh: &Shell, ws: &Workspace, args: &Args) -> Result<PathBuf> {
    let package = ws.binary_package(
        args.package.as_deref(),
        "to run",
        "pass --file PATH.wasm, or add a [[bin]] to a package with \
         `[package.metadata.cortex] wasm = true`",
    )?;
    let profile = if args.debug {
        Profile::Debug
    } else {
        Profile::Release
    };
    // Release runs what ships (`.opt.wasm`); debug has no -Oz stage.
    let stage = match profile.is_release() {
        true => Stage::Opt,
        false => Stage::Raw,
    };
    let wasm: Vec<PathBuf> = artifacts::expected(ws, package, profile)
        .into_iter()
        .filter(|a| a.kind == Kind::Wasm && a.stage == stage)
        .map(|a| a.path)
        .collect();
    let wasm = match wasm.as_slice() {
        [one] => one.clone(),
        several => bail!(
            "package `{}` has {} binaries; run one with --file PATH.wasm (under {})",
            package.name,
            several.len(),
            artifacts::profile_dir(ws, &package.name, profile).display()
        ),
    };
    // Like `cargo run`: build first (a no-op when fresh), so a stale
    // `.wasm` is never what runs.
    build::build(sh, ws, &[package], &[profile])?;
    Ok(wasm)
}
