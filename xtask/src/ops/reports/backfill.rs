//! `size-report --backfill N`: the history of the last N commits, each
//! built and measured in the revision worktree.

use std::path::Path;

use anyhow::{bail, Result};
use xshell::Shell;

use crate::ops::env::provenance;
use crate::ops::env::workspace::Workspace;
use crate::ops::measure::revision;
use crate::ops::reports;
use crate::util::git;
use wasm_size::history::{Entry, HISTORY_FILE};

/// `--backfill N`: the last `n` first-parent commits, oldest first, each
/// measured in the revision worktree (its target dirs reused from one to
/// the next) and filed in the history as it is done, so an interrupted run
/// keeps every line it wrote. A commit that does not build gets a line
/// saying so and the run goes on. The chart is redrawn at the end.
pub fn backfill(sh: &Shell, ws: &Workspace, dir: &Path, n: usize) -> Result<()> {
    if n == 0 {
        bail!("--backfill 0 measures nothing; give the number of commits to measure, 1 or more");
    }
    let commits = git::first_parent_commits(sh, &ws.root)?;
    if n > commits.len() {
        bail!(
            "--backfill {n}: this branch has only {} first-parent commit(s); give at most {}",
            commits.len(),
            commits.len()
        );
    }
    let budgets = ws.budgets()?;
    let history = dir.join(HISTORY_FILE);
    let recorded = reports::load_history(&history)?;
    let mut written = 0;
    let todo: Vec<&String> = commits[..n].iter().rev().collect();
    for (i, commit) in todo.iter().enumerate() {
        let short = git::short(sh, &ws.root, commit)?;
        let step = format!("[{}/{}] {short}", i + 1, todo.len());
        if recorded.iter().any(|e| e.commit == short) {
            eprintln!("{step}: already in the history, skipped");
            continue;
        }
        let date = git::commit_date(sh, &ws.root, commit)?;
        let entry = match revision::measure(sh, ws, commit) {
            Ok(mut report) => {
                report.commit = Some(short.clone());
                eprintln!("{step}: measured");
                Entry::from_report(&report, date)?
            }
            Err(_) if revision::interrupted() => {
                bail!("interrupted at {short}; the {written} line(s) written before it are kept")
            }
            Err(e) => {
                let why = format!("{e:#}");
                let first = why.lines().next().unwrap_or("").to_owned();
                eprintln!("{step}: does not build, recorded as such: {first}");
                Entry {
                    commit: short.clone(),
                    date,
                    rustc: provenance::rustc_version(sh).unwrap_or_else(|| "unknown".into()),
                    artifacts: Default::default(),
                    build_seconds: Default::default(),
                    failed: Some(first),
                }
            }
        };
        reports::record(&history, entry)?;
        written += 1;
    }
    for file in reports::update(dir, None, &budgets)? {
        eprintln!("wrote {}", ws.relative(&file));
    }
    eprintln!(
        "backfill: {written} new line(s) in {}",
        ws.relative(&history)
    );
    Ok(())
}
