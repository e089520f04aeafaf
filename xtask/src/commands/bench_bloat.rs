//! `cargo xtask bench-bloat`: time and peak memory of `bloat` and its views
//! beside twiggy's, on a large generated module and real published web
//! builds (`ops::bench::bloat`): `reports/bloat-bench.{md,json}`.

use std::path::PathBuf;

use anyhow::Result;
use xshell::Shell;

use super::Outcome;
use crate::ops::bench::bloat::{self, text_and_markdown, Options};
use crate::ops::bench::report;
use crate::ops::env::workspace::Workspace;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Functions in the generated module
    #[arg(long, default_value_t = 26_104)]
    pub functions: u32,
    /// Bytes of each body, about
    #[arg(long, default_value_t = 1_260)]
    pub body_bytes: usize,
    /// Runs of each command; the median is reported
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Only the generated module: fetch no real one
    #[arg(long)]
    pub generated_only: bool,
    /// Where to write bloat-bench.md and .json [default: <workspace>/reports]
    #[arg(long, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let dir = ws.reports_dir(args.reports_dir.as_deref());
    let options = Options {
        functions: args.functions,
        body_bytes: args.body_bytes,
        runs: args.runs,
        generated_only: args.generated_only,
    };
    let report = bloat::measure(sh, ws, &options)?;
    let (text, md) = text_and_markdown(&report);
    report::write(&dir, "bloat-bench", &report, &md, &text, args.json)?;
    Ok(Outcome::Passed)
}
