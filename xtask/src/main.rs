//! `cargo xtask`: CortexOS's build, test and size tooling.
//!
//! A thin dispatcher: each subcommand lives in its own module. Exit codes:
//! 0 ok, 1 a check or gate failed, 2 the command could not run.

mod artifacts;
mod build_wasm;
mod doctor;
mod features;
mod files;
mod measure;
mod setup;
mod shrink;
mod size_report;
mod table;
mod test;
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
}

/// A command's result: `Ok(true)` passed, `Ok(false)` a check or gate failed.
fn dispatch(command: Command) -> anyhow::Result<bool> {
    let ws = Workspace::load()?;
    match command {
        Command::Test => test::run(&ws),
        Command::Doctor => doctor::run(&ws),
        Command::BuildWasm(args) => build_wasm::run(&ws, &args),
        Command::SizeReport(args) => size_report::run(&ws, &args),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
