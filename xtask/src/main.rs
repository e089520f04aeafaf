//! `cargo xtask`: CortexOS's build, test and size tooling.
//!
//! A thin dispatcher: each subcommand lives in its own module. Exit codes:
//! 0 ok, 1 a check or gate failed, 2 the command could not run.

mod artifacts;
mod bench_build;
mod bench_runtime;
mod bloat;
mod build_wasm;
mod doctor;
mod features;
mod files;
mod history;
mod measure;
mod provenance;
mod revision;
mod run_wasm;
mod runtime;
mod setup;
mod shrink;
mod size_diff;
mod size_report;
mod stats;
mod table;
mod test;
#[cfg(test)]
mod testing;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use workspace::Workspace;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Build, test and size tooling for CortexOS",
    after_help = "Exit codes: 0 ok, 1 a check or gate failed, 2 could not run."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install what is missing, then run fmt, clippy, every test, and the wasm builds
    Test,
    /// Build every wasm package for wasm32-wasip1, each alone in its own target dir; -Oz release .wasm
    BuildWasm(build_wasm::Args),
    /// Measure wasm artifacts, write reports/size.{md,json}, gate on budgets and the baseline
    SizeReport(size_report::Args),
    /// Check targets, libclang, the release profile and wasm feature unification
    Doctor,
    /// Which functions, crates and data segments a .wasm's bytes go to (from its name section)
    Bloat(bloat::Args),
    /// Time the guide's wasm builds, cold and incremental, in a copy of the workspace: reports/build-times.{md,json}
    BenchBuild(bench_build::Args),
    /// Compare two size JSONs, .wasm files or git revisions: totals, sections, crates, functions
    SizeDiff(size_diff::Args),
    /// Time the demo's workload natively and as wasm under the embedded runtime: reports/runtime.{md,json}
    BenchRuntime(bench_runtime::Args),
    /// Run a wasm package's binary (or --file) under the embedded wasmtime runtime; exits with the guest's code
    RunWasm(run_wasm::Args),
}

/// A command's exit code: 0 passed, 1 a check or gate failed; `run-wasm`
/// passes on its guest's.
fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    let ws = Workspace::load()?;
    let passed = match command {
        Command::Test => test::run(&ws),
        Command::Doctor => doctor::run(&ws),
        Command::BuildWasm(args) => build_wasm::run(&ws, &args),
        Command::SizeReport(args) => size_report::run(&ws, &args),
        Command::Bloat(args) => bloat::run(&ws, &args),
        Command::BenchBuild(args) => bench_build::run(&ws, &args),
        Command::SizeDiff(args) => size_diff::run(&ws, &args),
        Command::BenchRuntime(args) => bench_runtime::run(&ws, &args),
        Command::RunWasm(args) => return run_wasm::run(&ws, &args),
    }?;
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
