//! `cargo xtask size-report`: measure every wasm artifact, write
//! `reports/size.md` and `reports/size.json`, compare with the committed
//! baseline (or a revision built now), and gate on the budgets in
//! `[workspace.metadata.size-budgets]`.
//!
//! For CI machines in a matrix: `--shard I/N` measures a share of the
//! packages and writes only its `size.json`; `--merge A.json B.json …`
//! joins the shards' reports and then does what a whole measurement does
//! (reports, comparison, gate), through the same [`conclude`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use xshell::Shell;

use super::Outcome;
use crate::ops::build;
use crate::ops::env::provenance;
use crate::ops::env::workspace::Workspace;
use crate::ops::measure::{collect, revision, treemap};
use crate::ops::reports::{self, publish};
use crate::util::files::{check_output, write_atomic};
use crate::util::git;
use wasm_size::budgets::{check_budgets, unknown_targets, Acceptance, TRAILER};
use wasm_size::comment::{comment, Gate, GITHUB_LIMIT};
use wasm_size::diff;
use wasm_size::history::{Entry, HISTORY_FILE};
use wasm_size::render::{accepted_lines, markdown, section_table, size_table, std_savings};
use wasm_size::report::Report;
use wasm_size::shard::{self, Shard};
use wasm_size::table::print_report;
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

/// What the measurement is compared with: the committed baseline, or a
/// revision built now (`--against`).
struct Comparison {
    report: Option<Report>,
    /// For the report's header line.
    note: String,
    /// Growth accepted by `Size-Accepted:` trailers since the compared commit.
    accepted: Vec<Acceptance>,
}

fn comparison(sh: &Shell, ws: &Workspace, args: &Args, baseline_path: &Path) -> Result<Comparison> {
    if let Some(rev) = &args.against {
        let commit = git::resolve(sh, &ws.root, rev)?;
        let report = revision::measure(sh, ws, &commit)?;
        let accepted = revision::acceptances_since(sh, &ws.root, &commit)?;
        let note = format!(
            "compared with `{rev}` (commit `{}`), built now with {}",
            &commit[..commit.len().min(10)],
            report.rustc
        );
        return Ok(Comparison {
            report: Some(report),
            note,
            accepted,
        });
    }
    let baseline = reports::load_baseline(baseline_path)?;
    if args.check && baseline.is_none() {
        bail!(
            "no baseline at {}: create it with `cargo xtask size-report --bless` and commit it",
            baseline_path.display()
        );
    }
    let Some(b) = baseline else {
        return Ok(Comparison {
            report: None,
            note: "no baseline yet: `cargo xtask size-report --bless` creates it".to_owned(),
            accepted: Vec::new(),
        });
    };
    // Trailers count from the commit the baseline was blessed at; without
    // one in this history (blessed elsewhere, shallow clone) none apply.
    let accepted = match b.commit.as_deref() {
        Some(c) => revision::baseline_acceptances(sh, ws, c)?,
        None => Vec::new(),
    };
    let note = format!(
        "baseline: `{}` (commit `{}`, {})",
        ws.relative(baseline_path),
        b.commit.as_deref().unwrap_or("unknown"),
        b.rustc
    );
    Ok(Comparison {
        report: Some(b),
        note,
        accepted,
    })
}

/// Rows of growers shown per table, in the terminal and in size.md.
const GROWERS_SHOWN: usize = 10;

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    // Bad input first: before the lock and before any build.
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let dir = ws.reports_dir(args.reports_dir.as_deref());
    let _lock = reports::lock(&dir)?;
    if let Some(n) = args.backfill {
        return backfill(sh, ws, &dir, n);
    }
    if let Some(shard) = shard {
        return measure_shard(sh, ws, args, &dir, shard);
    }
    // Before measuring: a merge of bad shards should not wait for anything.
    let merged = match args.merge.as_slice() {
        [] => None,
        files => Some(merge_files(ws, files)?),
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
    let packages: Vec<&str> = ws.wasm_packages().iter().map(|p| p.name.as_str()).collect();
    reports::check_report_paths(&dir, &report_file_names(&packages))?;
    if args.no_build && merged.is_none() {
        // The outputs must be of this tree: else the figures (and a
        // history line) would be another commit's.
        let stale = build::not_of_this_tree(sh, ws, &ws.wasm_packages())?;
        if !stale.is_empty() {
            let what = format!(
                "the built outputs of {} are not known to be of this tree (built before a \
                 source, manifest, the toolchain or xtask changed, or not by xtask)",
                stale.join(", ")
            );
            if args.record {
                bail!(
                    "--no-build --record: {what}, so their figures could be another commit's; \
                     run without --no-build, or `cargo xtask build-wasm` first"
                );
            }
            eprintln!(
                "warning: --no-build: {what}; the figures may not be this tree's (run without \
                 --no-build to build first)"
            );
        }
    }
    let baseline_path = dir.join("size-baseline.json");
    let compared = comparison(sh, ws, args, &baseline_path)?;
    let report = match merged {
        Some(report) => report,
        None => collect::measure_all(sh, ws, args.no_build)?,
    };
    conclude(sh, ws, args, &dir, &report, &compared)
}

/// `--shard I/N`: measures that share of the packages and writes its
/// `size.json` (and nothing else) for `--merge` to join.
fn measure_shard(
    sh: &Shell,
    ws: &Workspace,
    args: &Args,
    dir: &Path,
    shard: Shard,
) -> Result<Outcome> {
    let budgets = ws.budgets()?;
    let report = collect::measure_shard(sh, ws, shard, args.no_build)?;
    let json = serde_json::to_string_pretty(&report)? + "\n";
    let path = dir.join("size.json");
    write_atomic(&path, json.as_bytes())?;
    let mut packages: Vec<&str> = report
        .artifacts
        .iter()
        .map(|a| a.package.as_str())
        .collect();
    packages.dedup();
    let text = format!(
        "{}shard {shard}: {}\nwrote {}; join every shard's with `cargo xtask size-report --merge …`\n",
        size_table(&report, None, &budgets).render(),
        match packages.as_slice() {
            [] => "no package falls in this shard (fewer packages than shards)".to_owned(),
            some => format!("packages {}", some.join(", ")),
        },
        ws.relative(&path)
    );
    print_report(&text, &json, args.json);
    Ok(Outcome::Passed)
}

/// `--merge`: the shards' reports, read, checked against this workspace's
/// split (each shard holds exactly its packages) and joined.
fn merge_files(ws: &Workspace, files: &[PathBuf]) -> Result<Report> {
    let reports = files
        .iter()
        .map(|f| Ok((f.display().to_string(), reports::load_report(f)?)))
        .collect::<Result<Vec<_>>>()?;
    let merged = shard::merge(&reports)?;
    let packages: Vec<String> = ws
        .wasm_packages()
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    shard::check_split(&reports, &packages)?;
    Ok(merged)
}

/// Everything after the measurement, for a measured and a merged report
/// alike: size.{md,json}, the history, the step summary, the comment, the
/// baseline when blessing, and the gate.
fn conclude(
    sh: &Shell,
    ws: &Workspace,
    args: &Args,
    dir: &Path,
    report: &Report,
    compared: &Comparison,
) -> Result<Outcome> {
    let budgets = ws.budgets()?;
    let baseline_path = dir.join("size-baseline.json");
    let baseline = compared.report.as_ref();
    let violations = check_budgets(report, baseline, &budgets, &compared.accepted)?;
    for warning in unknown_targets(&compared.accepted, report) {
        eprintln!("warning: {warning}");
    }
    let growers = baseline
        .map(|b| budgets.drop_noise(diff::growers(&b.attribution, &report.attribution)))
        .unwrap_or_default();
    let growers_text = diff::render_growers(&growers, GROWERS_SHOWN);

    let sizes = size_table(report, baseline, &budgets);
    let sections = section_table(report);
    let baseline_note = format!("{}\n{}", compared.note, accepted_lines(&compared.accepted));
    let baseline_note = baseline_note.trim_end();
    let md = markdown(
        report,
        &sizes,
        sections.as_ref(),
        baseline_note,
        &growers_text,
    );
    let json = serde_json::to_string_pretty(report)? + "\n";
    // Every file is made first, then all are written as one step: a run
    // that fails on the way (a damaged history, an unwritable page) leaves
    // the last good reports as they were.
    let mut files = vec![
        (dir.join("size.md"), md.clone().into_bytes()),
        (dir.join("size.json"), json.clone().into_bytes()),
    ];
    files.extend(treemap::report_pages(
        ws,
        dir,
        report,
        baseline,
        &compared.note,
        &budgets,
    )?);
    let entry = match args.record {
        true => Some(reports::history_entry(sh, &ws.root, report)?),
        false => None,
    };
    files.extend(reports::prepare_update(dir, entry.clone(), &budgets)?);
    if let Some(file) = &args.comment {
        let gate = Gate {
            report,
            baseline,
            budgets: &budgets,
            violations: &violations,
            growers: &growers_text,
            compared: compared.note.as_str(),
        };
        files.push((file.clone(), comment(&gate, GITHUB_LIMIT).into_bytes()));
    }
    let wrote = reports::write_all(files)?;
    reports::append_step_summary(&md)?;
    if let (Some(remote), Some(entry)) = (&args.publish, entry) {
        publish::publish(sh, ws, remote, entry, &budgets)?;
    }

    let text = format!(
        "{}{}{}{growers_text}\n{baseline_note}\nwrote {}\n",
        sizes.render(),
        std_savings(report),
        sections
            .as_ref()
            .map(|s| format!("\n{}", s.render()))
            .unwrap_or_default(),
        wrote
            .iter()
            .map(|p| ws.relative(p))
            .collect::<Vec<_>>()
            .join(", "),
    );
    print_report(&text, &json, args.json);

    if args.bless {
        write_atomic(&baseline_path, json.as_bytes())?;
        eprintln!(
            "blessed: {} is the new baseline; commit it",
            ws.relative(&baseline_path)
        );
    }
    if args.check {
        if violations.is_empty() {
            eprintln!("size check passed: every artifact within budget");
        } else {
            eprintln!("size check FAILED: {} limit(s) exceeded", violations.len());
            for v in &violations {
                eprintln!("  {v}");
            }
            if growers_text.is_empty() {
                eprintln!("  (no per-crate figures on both sides to say what grew)");
            } else {
                eprintln!("  what grew is listed above, by crate and by function");
            }
            eprintln!(
                "  if the growth is intended, add a commit trailer `{}: <package> +<size>, <reason>` \
                 (see README), or raise the budget in Cargo.toml",
                TRAILER
            );
            return Ok(Outcome::Failed);
        }
    }
    Ok(Outcome::Passed)
}

/// `--backfill N`: the last `n` first-parent commits, oldest first, each
/// measured in the revision worktree (its target dirs reused from one to
/// the next) and filed in the history as it is done, so an interrupted run
/// keeps every line it wrote. A commit that does not build gets a line
/// saying so and the run goes on. The chart is redrawn at the end.
fn backfill(sh: &Shell, ws: &Workspace, dir: &Path, n: usize) -> Result<Outcome> {
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
    Ok(Outcome::Passed)
}
