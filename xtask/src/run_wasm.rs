//! `cargo xtask run-wasm`: runs a wasm package's built binary (or any
//! `.wasm` file) under the embedded runtime, with the guest's stdio, args
//! and exit code passed through.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use cargo_metadata::{Package, TargetKind};

use crate::artifacts::{self, Kind, Profile, Stage};
use crate::build_wasm;
use crate::runtime;
use crate::workspace::Workspace;

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
pub fn run(ws: &Workspace, args: &Args) -> Result<ExitCode> {
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
        None => package_wasm(ws, args)?,
    };
    let runner = runtime::ensure_runtime(ws)?;
    let mut cmd = Command::new(&runner);
    for dir in &args.dirs {
        cmd.arg("--dir").arg(dir);
    }
    for env in &args.env {
        cmd.arg("--env").arg(env);
    }
    if args.timings {
        cmd.arg("--timings");
    }
    // `--` keeps a file name starting with `-` from reading as an option.
    cmd.arg("--").arg(&wasm).args(&args.args);
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", runner.display()))?;
    match status.code() {
        Some(code) => Ok(ExitCode::from(u8::try_from(code).unwrap_or(1))),
        None => bail!(
            "{} was killed ({status}) while running {}",
            runner.display(),
            wasm.display()
        ),
    }
}

/// The package's binary `.wasm` for the chosen profile, built first.
fn package_wasm(ws: &Workspace, args: &Args) -> Result<PathBuf> {
    let package = select_package(ws, args.package.as_deref())?;
    let profile = if args.debug {
        Profile::Debug
    } else {
        Profile::Release
    };
    // Release runs what ships (`.opt.wasm`); debug has no -Oz stage.
    let stage = match profile {
        Profile::Release => Stage::Opt,
        Profile::Debug => Stage::Raw,
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
    build_wasm::build(ws, &[package], &[profile])?;
    Ok(wasm)
}

fn has_binary(package: &Package) -> bool {
    package
        .targets
        .iter()
        .any(|t| t.kind.contains(&TargetKind::Bin))
}

/// `-p PKG` if given (it must be a wasm package with a binary), else the
/// only wasm package that has one.
fn select_package<'a>(ws: &'a Workspace, name: Option<&str>) -> Result<&'a Package> {
    let runnable: Vec<&Package> = ws
        .wasm_packages()
        .into_iter()
        .filter(|p| has_binary(p))
        .collect();
    let names = || {
        runnable
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        Some(name) => {
            let package = ws.select_wasm_packages(&[name.to_owned()])?[0];
            if !has_binary(package) {
                bail!(
                    "wasm package `{name}` has no binary to run; packages with one: {}",
                    names()
                );
            }
            Ok(package)
        }
        None => match runnable.as_slice() {
            [one] => Ok(one),
            [] => bail!(
                "no wasm package has a binary to run; pass --file PATH.wasm, or add a \
                 [[bin]] to a package with `[package.metadata.cortex] wasm = true`"
            ),
            _ => bail!(
                "several wasm packages have binaries ({}); choose one with -p PKG",
                names()
            ),
        },
    }
}
