//! `cargo xtask bench-runtime`: the demo's workload and the store operations
//! it exercises, timed natively and as wasm under the embedded runtime, side
//! by side in one run (`ops::bench::runtime`): `reports/runtime.{md,json}`.

use std::path::PathBuf;

use anyhow::Result;
use xshell::Shell;

use super::Outcome;
use crate::ops::bench::report;
use crate::ops::bench::runtime::{self, markdown, table, Options};
use crate::ops::env::workspace::Workspace;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Processes per side; each takes --samples samples of every workload
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub runs: u32,
    /// Samples per workload in each process
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub samples: u32,
    /// Build profile of both sides: `release` (the shipped size profile) or `bench` (opt-level 3)
    #[arg(long, default_value = "release", value_parser = ["release", "bench"])]
    pub profile: String,
    /// Print the report as JSON on stdout (messages go to stderr)
    #[arg(long)]
    pub json: bool,
    /// Where to write runtime.md and runtime.json [default: <workspace>/reports]
    #[arg(long, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let dir = ws.reports_dir(args.reports_dir.as_deref());
    let options = Options {
        runs: args.runs,
        samples: args.samples,
        profile: args.profile.clone(),
    };
    let report = runtime::measure(sh, ws, &options)?;
    let table = table(&report);
    let text = format!(
        "{}\nwasm compile {:.1} ms, instantiate {:.2} ms (median; outside every workload)\n",
        table.render(),
        report.compile_ms.median,
        report.instantiate_ms.median,
    );
    report::write(
        &dir,
        "runtime",
        &report,
        &markdown(&report, &table),
        &text,
        args.json,
    )?;
    Ok(Outcome::Passed)
}
