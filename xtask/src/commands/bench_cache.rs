//! `cargo xtask bench-cache`: two fresh clones of HEAD run the same xtask
//! command through one sccache server over a throwaway Redis, the cache
//! empty then filled (`ops::bench::compiler_cache`):
//! `reports/compiler-cache.{md,json}`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use xshell::Shell;

use super::Outcome;
use crate::ops::bench::compiler_cache::{self, markdown, table, REPORT};
use crate::ops::bench::report;
use crate::ops::env::workspace::Workspace;
use crate::util::files::check_writable;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The xtask command each clone runs, as words (`size-report`, `test`)
    #[arg(long, value_name = "WORDS", default_value = "size-report")]
    pub step: String,
    /// Print the report as JSON on stdout (messages go to stderr)
    #[arg(long)]
    pub json: bool,
    /// Where to write compiler-cache.md and compiler-cache.json [default: <workspace>/reports]
    #[arg(long, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let step: Vec<&str> = args.step.split_whitespace().collect();
    if step.is_empty() {
        bail!("--step is empty; give an xtask command, e.g. --step size-report");
    }
    let dir = ws.reports_dir(args.reports_dir.as_deref());
    check_writable(&dir)?;
    let report = compiler_cache::measure(sh, ws, &step)?;
    let table = table(&report);
    let md = markdown(&report, &table);
    report::write(&dir, REPORT, &report, &md, &table.render(), args.json)?;
    Ok(Outcome::Passed)
}
