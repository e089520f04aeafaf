//! `cargo xtask size-report`: measure every wasm artifact, write
//! `reports/size.md` and `reports/size.json`, compare with the committed
//! baseline (or a revision built now), and gate on the budgets in
//! `[workspace.metadata.size-budgets]`.
//!
//! For CI machines in a matrix: `--shard I/N` measures a share of the
//! packages and writes only its `size.json`; `--merge A.json B.json …`
//! joins the shards' reports and then does what a whole measurement does
//! (reports, comparison, gate), through the same `ops::reports::conclude`.

use std::path::PathBuf;

use anyhow::Result;
use xshell::Shell;

use super::Outcome;
use crate::ops::env::workspace::Workspace;
use crate::ops::measure::collect;
use crate::ops::reports::{self, backfill, conclude};
use crate::util::files::check_output;
use wasm_size::shard::Shard;
use wasm_size::treemap::report_file_names;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Measure the artifacts already built; do not run cargo
    #[arg(long)]
    pub no_build: bool,
    /// Print the report as JSON on stdout (messages go to stderr)
    #[arg(long)]
    pub json: bool,
    /// Exit 1 if any artifact exceeds its budget or grew too much against the baseline
    #[arg(long, conflicts_with = "bless")]
    pub check: bool,
    /// Make this measurement the new baseline (reports/size-baseline.json)
    #[arg(long)]
    pub bless: bool,
    /// Where to write the reports and find the baseline [default: <workspace>/reports]
    #[arg(long, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Append this measurement to reports/history.jsonl (once per commit; CI runs it on main)
    #[arg(long)]
    pub record: bool,
    /// Compare with REV (e.g. a pull request's merge base), built now in a
    /// temporary git worktree with this toolchain, instead of the committed baseline
    #[arg(long, value_name = "REV", conflicts_with = "bless")]
    pub against: Option<String>,
    /// Measure the last N first-parent commits of this branch, each built in
    /// the revision worktree, into the history (one line each; commits that
    /// already have one are skipped), then redraw the chart
    #[arg(long, value_name = "N", conflicts_with_all = ["bless", "against", "check", "record"])]
    pub backfill: Option<usize>,
    /// With --record: also file the line in the history on the `size-history`
    /// branch of REMOTE (a remote's name or a URL) and push it, retrying once
    /// if another run pushed first; never on main
    #[arg(long, value_name = "REMOTE", requires = "record")]
    pub publish: Option<String>,
    /// Also write a Markdown comment for a pull request to FILE: verdict,
    /// table, what grew, details; under GitHub's 65,536-character limit
    #[arg(long, value_name = "FILE")]
    pub comment: Option<PathBuf>,
    /// Measure only shard I of N of the wasm packages (sorted by name, the
    /// k-th from 0 goes to shard k % N + 1) and write its size.json, for
    /// `--merge`; no comparison, no gate
    #[arg(
        long,
        value_name = "I/N",
        conflicts_with_all = ["check", "bless", "record", "against", "backfill", "comment"]
    )]
    pub shard: Option<String>,
    /// Join the size.json of every shard into one report, then write the
    /// reports, compare with the baseline and gate (--check) as a whole
    /// measurement would
    #[arg(
        long,
        value_name = "SIZE_JSON",
        num_args = 1..,
        conflicts_with_all = ["no_build", "against", "backfill", "shard"]
    )]
    pub merge: Vec<PathBuf>,
}

impl Args {
    fn options(&self) -> conclude::Options {
        conclude::Options {
            no_build: self.no_build,
            json: self.json,
            check: self.check,
            bless: self.bless,
            record: self.record,
            against: self.against.clone(),
            publish: self.publish.clone(),
            comment: self.comment.clone(),
        }
    }
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    // Bad input first: before the lock and before any build.
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let dir = ws.reports_dir(args.reports_dir.as_deref());
    let _lock = reports::lock(&dir)?;
    if let Some(n) = args.backfill {
        backfill::backfill(sh, ws, &dir, n)?;
        return Ok(Outcome::Passed);
    }
    if let Some(shard) = shard {
        conclude::write_shard(sh, ws, &args.options(), &dir, shard)?;
        return Ok(Outcome::Passed);
    }
    // Before measuring: a merge of bad shards should not wait for anything.
    let merged = match args.merge.as_slice() {
        [] => None,
        files => Some(conclude::merge_files(ws, files)?),
    };
    if args.record {
        // Before measuring: a refused --record should not cost a build.
        reports::ensure_recordable(sh, &ws.root, &dir)?;
    }
    if let Some(file) = &args.comment {
        // Before measuring: a comment that cannot be written, or would
        // overwrite one of our own files, should not cost a build, and
        // nothing is written when it cannot.
        let mut protected = reports::own_files(ws, &dir);
        protected.extend(args.merge.iter().cloned());
        check_output("--comment", file, &protected)?;
    }
    // Before measuring: a report path that is a directory, or a damaged
    // history, fails now, not after the build with half the reports new.
    let packages: Vec<&str> = ws
        .built_packages()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    reports::check_report_paths(&dir, &report_file_names(&packages))?;
    if args.no_build && merged.is_none() {
        conclude::check_no_build(sh, ws, args.record)?;
    }
    let options = args.options();
    let compared = conclude::comparison(sh, ws, &options, &dir.join("size-baseline.json"))?;
    let report = match merged {
        Some(report) => report,
        None => collect::measure_all(sh, ws, args.no_build)?,
    };
    Ok(
        match conclude::conclude(sh, ws, &options, &dir, &report, &compared)? {
            true => Outcome::Passed,
            false => Outcome::Failed,
        },
    )
}
