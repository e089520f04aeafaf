//! `cargo xtask bench-build`: how long the guide's wasm builds take, cold and
//! incremental, debug and release, for each wasm package:
//! `reports/build-times.{md,json}` (`ops::bench::timed_build`). With
//! `--synthetic N`, `size-report` in generated workspaces of N wasm packages
//! instead: `reports/many-packages.{md,json}` (`ops::bench::many_packages`).

use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use xshell::Shell;

use super::flags::BuildSelection;
use super::Outcome;
use crate::ops::bench::build_times::{self, markdown, table, Mode, REPORT};
use crate::ops::bench::{many_packages, report, timed_build};
use crate::ops::env::workspace::Workspace;
use crate::ops::reports;
use crate::util::files::check_writable;

#[derive(Debug, clap::Args)]
// Not `Args`: that is the flattened build-wasm filters' group.
#[group(id = "bench-build")]
pub struct Args {
    /// Timed builds per package, profile and mode
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub runs: u32,
    #[command(flatten)]
    pub build: BuildSelection,
    /// Measure only cold or only incremental builds (default: both)
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Print the report as JSON on stdout (messages go to stderr)
    #[arg(long)]
    pub json: bool,
    /// Where to write build-times.md and build-times.json [default: <workspace>/reports]
    #[arg(long, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Also record each median in the reports dir's history.jsonl, for the trend chart
    #[arg(long)]
    pub record: bool,
    /// Instead: for each N (comma-separated or repeated: 1,4,12), generate a
    /// workspace of N wasm packages over cortex-core and time a cold and a
    /// warm `size-report` in it: reports/many-packages.{md,json}
    #[arg(
        long,
        value_name = "N",
        value_delimiter = ',',
        conflicts_with_all = ["runs", "mode", "record", "packages", "debug", "release"]
    )]
    pub synthetic: Vec<usize>,
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let dir = ws.reports_dir(args.reports_dir.as_deref());
    if !args.synthetic.is_empty() {
        let report = many_packages::measure(sh, ws, &args.synthetic, &dir)?;
        let table = many_packages::table(&report);
        let md = many_packages::markdown(&report, &table);
        report::write(
            &dir,
            many_packages::REPORT,
            &report,
            &md,
            &table.render(),
            args.json,
        )?;
        return Ok(Outcome::Passed);
    }
    ensure!(
        args.runs > 0,
        "--runs 0 measures nothing; pass --runs 1 or more (default 3)"
    );
    let options = timed_build::Options {
        packages: ws.select_wasm_packages(&args.build.packages)?,
        profiles: args.build.profiles(),
        modes: match args.mode {
            Some(mode) => vec![mode],
            None => vec![Mode::Cold, Mode::Incremental],
        },
        runs: args.runs,
    };
    // Fail now, not after the benchmark, if the reports cannot be written
    // or the history line would be wrong.
    check_writable(&dir)?;
    if args.record {
        reports::ensure_recordable(sh, &ws.root, &dir)?;
    }
    let report = timed_build::measure(sh, ws, &options, &dir)?;
    let table = table(&report);
    report::write(
        &dir,
        REPORT,
        &report,
        &markdown(&report, &table),
        &table.render(),
        args.json,
    )?;
    if args.record {
        build_times::record(sh, ws, &dir, &report)
            .context("build-times.{md,json} are written, but the history is not")?;
    }
    Ok(Outcome::Passed)
}
