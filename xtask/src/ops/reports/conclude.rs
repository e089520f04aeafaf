//! What size-report does around the measurement: what it is compared with
//! (the committed baseline or a revision built now), the shards' reports
//! written and joined, and everything after measuring (the reports, the
//! history, the comment, the baseline when blessing, and the gate), for a
//! measured and a merged report alike.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use xshell::Shell;

use crate::ops::build;
use crate::ops::env::workspace::Workspace;
use crate::ops::measure::{collect, revision, treemap};
use crate::ops::reports::{self, publish};
use crate::util::files::write_atomic;
use crate::util::git;
use wasm_size::budgets::{check_budgets, unknown_targets, Acceptance, TRAILER};
use wasm_size::comment::{comment, Gate, GITHUB_LIMIT};
use wasm_size::diff;
use wasm_size::render::{accepted_lines, markdown, section_table, size_table, std_savings};
use wasm_size::report::Report;
use wasm_size::shard::{self, Shard};
use wasm_size::table::print_report;

/// What size-report was asked to do with its measurement: its flags, less
/// those that choose what to measure.
#[derive(Debug, Default)]
pub struct Options {
    pub no_build: bool,
    pub json: bool,
    pub check: bool,
    pub bless: bool,
    pub record: bool,
    pub against: Option<String>,
    pub publish: Option<String>,
    pub comment: Option<PathBuf>,
}

/// Rows of growers shown per table, in the terminal and in size.md.
const GROWERS_SHOWN: usize = 10;

/// What the measurement is compared with: the committed baseline, or a
/// revision built now (`--against`).
pub struct Comparison {
    report: Option<Report>,
    /// For the report's header line.
    note: String,
    /// Growth accepted by `Size-Accepted:` trailers since the compared commit.
    accepted: Vec<Acceptance>,
}

pub fn comparison(
    sh: &Shell,
    ws: &Workspace,
    args: &Options,
    baseline_path: &Path,
) -> Result<Comparison> {
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

/// `--no-build`: the outputs must be of this tree, else the figures (and
/// a history line) would be another commit's. A warning, or with
/// `--record` an error.
pub fn check_no_build(sh: &Shell, ws: &Workspace, record: bool) -> Result<()> {
    let stale = build::not_of_this_tree(sh, ws, &ws.built_packages())?;
    if !stale.is_empty() {
        let what = format!(
            "the built outputs of {} are not known to be of this tree (built before a \
             source, manifest, the toolchain or xtask changed, or not by xtask)",
            stale.join(", ")
        );
        if record {
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
    Ok(())
}

/// `--shard I/N`: measures that share of the packages and writes its
/// `size.json` (and nothing else) for `--merge` to join.
pub fn write_shard(
    sh: &Shell,
    ws: &Workspace,
    args: &Options,
    dir: &Path,
    shard: Shard,
) -> Result<()> {
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
    Ok(())
}

/// `--merge`: the shards' reports, read, checked against this workspace's
/// split (each shard holds exactly its packages) and joined.
pub fn merge_files(ws: &Workspace, files: &[PathBuf]) -> Result<Report> {
    let reports = files
        .iter()
        .map(|f| Ok((f.display().to_string(), reports::load_report(f)?)))
        .collect::<Result<Vec<_>>>()?;
    let merged = shard::merge(&reports)?;
    let packages: Vec<String> = ws
        .built_packages()
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    shard::check_split(&reports, &packages)?;
    Ok(merged)
}

/// Everything after the measurement, for a measured and a merged report
/// alike: size.{md,json}, the history, the step summary, the comment, the
/// baseline when blessing, and the gate. Returns whether the gate passed
/// (always, without `--check`).
pub fn conclude(
    sh: &Shell,
    ws: &Workspace,
    args: &Options,
    dir: &Path,
    report: &Report,
    compared: &Comparison,
) -> Result<bool> {
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
                 (see docs/gate.md), or raise the budget in Cargo.toml",
                TRAILER
            );
            return Ok(false);
        }
    }
    Ok(true)
}
