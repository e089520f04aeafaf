//! `cargo xtask size-report`: measure every wasm artifact, write
//! `reports/size.md` and `reports/size.json`, compare with the committed
//! baseline, and gate on the budgets in `[workspace.metadata.size-budgets]`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::artifacts::{self, Artifact, Kind, Profile, Stage};
use crate::bloat::{self, Attribution, CrateSize, FunctionSize};
use crate::build_wasm;
use crate::files::write_atomic;
use crate::history;
use crate::measure::{measure, Sizes};
use crate::provenance;
use crate::revision::{self, Acceptance};
use crate::size_diff;
use crate::table::{human_bytes, human_delta, print_report, Table};
use crate::workspace::Workspace;

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
}

/// One measured artifact, as written to `size.json` and the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    pub package: String,
    pub kind: Kind,
    pub profile: Profile,
    pub stage: Stage,
    pub path: String,
    #[serde(flatten)]
    pub sizes: Sizes,
}

impl Measured {
    pub fn id(&self) -> String {
        artifacts::artifact_id(&self.package, self.kind, self.profile, self.stage)
    }
}

/// The whole of `size.json` (and of the baseline, which is a blessed copy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub rustc: String,
    #[serde(default)]
    pub commit: Option<String>,
    pub artifacts: Vec<Measured>,
    /// Crates and biggest functions of each shipped `.wasm`, so a later
    /// report can say what grew.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribution: Vec<Attributed>,
}

/// How many functions a report keeps per artifact: the biggest, which is
/// where growth that matters shows; crates are kept whole.
const KEPT_FUNCTIONS: usize = 100;

/// Size attribution of one shipped artifact: its code and data by crate,
/// and its biggest functions (bodies with one name summed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributed {
    /// The id of the artifact the figures describe.
    pub artifact: String,
    /// The file they were read from (the shipped file has no names).
    pub file: String,
    /// Whether `functions` holds only the biggest ones.
    #[serde(default)]
    pub truncated: bool,
    pub crates: Vec<CrateSize>,
    pub functions: Vec<FunctionSize>,
}

impl Attributed {
    pub fn new(artifact: &str, a: Attribution, keep: usize) -> Self {
        let mut by_name: BTreeMap<String, FunctionSize> = BTreeMap::new();
        for f in a.functions {
            by_name
                .entry(f.name.clone())
                .and_modify(|e| e.bytes += f.bytes)
                .or_insert(f);
        }
        let mut functions: Vec<FunctionSize> = by_name.into_values().collect();
        functions.sort_by(|x, y| y.bytes.cmp(&x.bytes).then_with(|| x.name.cmp(&y.name)));
        let truncated = functions.len() > keep;
        functions.truncate(keep);
        Self {
            artifact: artifact.to_owned(),
            file: a.file,
            truncated,
            crates: a.crates,
            functions,
        }
    }
}

/// `[workspace.metadata.size-budgets]` in the root Cargo.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Budgets {
    /// Ceiling for every release `.wasm` artifact without its own `max-bytes`
    /// (debug builds carry DWARF and are not shipped).
    #[serde(default = "Budgets::guide_ceiling")]
    pub wasm_max_bytes: u64,
    /// Largest allowed growth against the baseline, in percent of the baseline.
    pub max_growth_percent: Option<f64>,
    /// Largest allowed growth against the baseline, in bytes.
    pub max_growth_bytes: Option<u64>,
    /// Per artifact id (`package/kind/profile/stage`): largest size in bytes.
    #[serde(default)]
    pub max_bytes: BTreeMap<String, u64>,
    /// Per artifact id: largest gzip -9 size in bytes.
    #[serde(default)]
    pub max_gzip_bytes: BTreeMap<String, u64>,
}

impl Budgets {
    /// The guide's "if the binary size exceeds 1MB".
    fn guide_ceiling() -> u64 {
        1_000_000
    }

    /// The size ceiling of `a`: its own `max-bytes`, else the default for
    /// release `.wasm`, else none.
    fn max_for(&self, a: &Measured, id: &str) -> Option<u64> {
        let default =
            (a.kind == Kind::Wasm && a.profile == Profile::Release).then_some(self.wasm_max_bytes);
        self.max_bytes.get(id).copied().or(default)
    }

    /// The largest size allowed for an artifact that was `base` bytes in the
    /// baseline: with both growth limits set, the more generous one wins, so
    /// neither a tiny file's few bytes nor a big file's few percent fail alone.
    pub fn growth_limit(&self, base: u64) -> Option<u64> {
        let by_percent = self
            .max_growth_percent
            .map(|pct| (base as f64 * (1.0 + pct / 100.0)).floor() as u64);
        let by_bytes = self.max_growth_bytes.map(|b| base + b);
        by_percent.max(by_bytes)
    }

    pub fn from_workspace(ws: &Workspace) -> Result<Self> {
        let value = &ws.metadata.workspace_metadata["size-budgets"];
        let value = if value.is_null() {
            serde_json::json!({})
        } else {
            value.clone()
        };
        serde_json::from_value(value).context(
            "[workspace.metadata.size-budgets] in Cargo.toml is invalid; keys: wasm-max-bytes, \
             max-growth-percent, max-growth-bytes, max-bytes.\"<id>\", max-gzip-bytes.\"<id>\"",
        )
    }
}

/// One limit exceeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub artifact: String,
    pub limit_name: &'static str,
    pub measured: u64,
    pub limit: u64,
    /// Against the baseline, when it has this artifact.
    pub delta: Option<i64>,
    /// Growth accepted by `Size-Accepted:` trailers, already in `limit`.
    pub accepted: u64,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {} ({} B), limit {} ({} B)",
            self.artifact,
            self.limit_name,
            human_bytes(self.measured),
            self.measured,
            human_bytes(self.limit),
            self.limit
        )?;
        match self.delta {
            Some(d) => write!(f, ", {} vs baseline", human_delta(d))?,
            None => write!(f, ", not in baseline")?,
        }
        if self.accepted > 0 {
            write!(
                f,
                " (limit includes {} accepted)",
                human_bytes(self.accepted)
            )?;
        }
        Ok(())
    }
}

fn baseline_delta(baseline: Option<&Report>, id: &str, bytes: u64) -> Option<i64> {
    let base = baseline?.artifacts.iter().find(|b| b.id() == id)?;
    Some(bytes as i64 - base.sizes.bytes as i64)
}

/// Every budget `report` exceeds. Fails if a budget names an artifact the
/// report does not have (a typo would otherwise gate nothing). `accepted`
/// growth raises the growth limits of the artifacts it covers; the absolute
/// budgets are ceilings, raised only in Cargo.toml.
pub fn check_budgets(
    report: &Report,
    baseline: Option<&Report>,
    budgets: &Budgets,
    accepted: &[Acceptance],
) -> Result<Vec<Violation>> {
    let ids: Vec<String> = report.artifacts.iter().map(Measured::id).collect();
    for id in budgets
        .max_bytes
        .keys()
        .chain(budgets.max_gzip_bytes.keys())
    {
        if !ids.contains(id) {
            bail!(
                "[workspace.metadata.size-budgets] names `{id}`, which size-report does not \
                 produce; artifact ids: {}",
                ids.join(", ")
            );
        }
    }
    let mut out = Vec::new();
    for (a, id) in report.artifacts.iter().zip(&ids) {
        let delta = baseline_delta(baseline, id, a.sizes.bytes);
        let accepted_here: u64 = accepted
            .iter()
            .filter(|x| x.covers(&a.package, id))
            .map(|x| x.bytes)
            .sum();
        let mut push = |limit_name, measured, limit, accepted| {
            if measured > limit {
                out.push(Violation {
                    artifact: id.clone(),
                    limit_name,
                    measured,
                    limit,
                    delta,
                    accepted,
                });
            }
        };
        let max = budgets.max_for(a, id);
        if let Some(max) = max {
            push("size", a.sizes.bytes, max, 0);
        }
        if let Some(&max) = budgets.max_gzip_bytes.get(id) {
            push("gzip size", a.sizes.gzip_bytes, max, 0);
        }
        let base = baseline.and_then(|b| b.artifacts.iter().find(|b| &b.id() == id));
        if let Some(base) = base {
            if let Some(limit) = budgets.growth_limit(base.sizes.bytes) {
                push(
                    "growth",
                    a.sizes.bytes,
                    limit + accepted_here,
                    accepted_here,
                );
            }
        }
    }
    Ok(out)
}

pub fn load_baseline(path: &Path) -> Result<Option<Report>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    serde_json::from_slice(&bytes).map(Some).with_context(|| {
        format!(
            "{} is not a valid size baseline; restore it (`git checkout -- {}`) or \
             replace it with `cargo xtask size-report --bless`",
            path.display(),
            path.display()
        )
    })
}

/// Holds `reports/.size-report.lock` while a report is written; the OS
/// releases it if the process dies. bench-build takes it to record history.
pub fn lock_reports(dir: &Path) -> Result<File> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(".size-report.lock");
    let file = File::create(&path).with_context(|| {
        format!(
            "cannot write in {}: make it writable, or pass --reports-dir",
            dir.display()
        )
    })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another `cargo xtask size-report` is writing {}; wait for it to finish",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

fn relative(ws: &Workspace, path: &Path) -> String {
    path.strip_prefix(&ws.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Builds (unless told not to) and measures every wasm artifact.
pub fn measure_all(ws: &Workspace, no_build: bool) -> Result<Report> {
    let packages = ws.wasm_packages();
    let profiles = [Profile::Debug, Profile::Release];
    let artifacts: Vec<Artifact> = if no_build {
        let expected: Vec<Artifact> = packages
            .iter()
            .flat_map(|p| {
                profiles
                    .iter()
                    .flat_map(|&profile| artifacts::expected(ws, p, profile))
            })
            .collect();
        if let Some(missing) = expected.iter().find(|a| !a.path.is_file()) {
            bail!(
                "{} is missing; run without --no-build, or `cargo xtask build-wasm` first",
                missing.path.display()
            );
        }
        expected
    } else {
        build_wasm::build(ws, &packages, &profiles)?
    };
    let cache = ws.target_dir.join("wasm").join("size-cache");
    let mut attribution = Vec::new();
    for a in &artifacts {
        if (a.kind, a.profile, a.stage) == (Kind::Wasm, Profile::Release, Stage::Opt) {
            attribution.extend(attribute_shipped(ws, a)?);
        }
    }
    let mut measured = Vec::new();
    for a in artifacts {
        let sizes = measure(&a.path, a.kind == Kind::Wasm, &cache)?;
        measured.push(Measured {
            path: relative(ws, &a.path),
            package: a.package,
            kind: a.kind,
            profile: a.profile,
            stage: a.stage,
            sizes,
        });
    }
    measured.sort_by_key(|m| (m.package.clone(), m.kind, m.profile, m.stage));
    let rustc = provenance::rustc_version().unwrap_or_else(|| "unknown".into());
    let commit = provenance::head_commit(&ws.root);
    Ok(Report {
        rustc,
        commit,
        artifacts: measured,
        attribution,
    })
}

/// Attribution of a shipped `.opt.wasm`, read from the -Oz copy that keeps
/// the name section (same code, names kept). `None` if that copy is missing
/// (a build made before names were kept): sizes are still measured.
fn attribute_shipped(ws: &Workspace, shipped: &Artifact) -> Result<Option<Attributed>> {
    let id = artifacts::artifact_id(
        &shipped.package,
        shipped.kind,
        shipped.profile,
        shipped.stage,
    );
    let names = artifacts::names_path(&shipped.path);
    let bytes = match std::fs::read(&names) {
        Ok(b) => b,
        Err(_) => {
            eprintln!(
                "note: {} is missing, so {id} has no per-crate figures; `cargo xtask build-wasm` writes it",
                names.display()
            );
            return Ok(None);
        }
    };
    let a = bloat::attribute(&bytes, &relative(ws, &names))
        .with_context(|| format!("cannot attribute {}", names.display()))?;
    Ok(Some(Attributed::new(&id, a, KEPT_FUNCTIONS)))
}

fn size_table(report: &Report, baseline: Option<&Report>, budgets: &Budgets) -> Table {
    let mut t = Table::new([
        "artifact",
        "size",
        "gzip",
        "brotli",
        "vs baseline",
        "budget",
    ]);
    for a in &report.artifacts {
        let id = a.id();
        let delta = match baseline_delta(baseline, &id, a.sizes.bytes) {
            Some(d) => human_delta(d),
            None if baseline.is_some() => "new".to_owned(),
            None => "-".to_owned(),
        };
        let budget = budgets.max_for(a, &id).map_or("-".to_owned(), human_bytes);
        t.row([
            id,
            human_bytes(a.sizes.bytes),
            human_bytes(a.sizes.gzip_bytes),
            human_bytes(a.sizes.brotli_bytes),
            delta,
            budget,
        ]);
    }
    t
}

/// Sections as rows, wasm artifacts as columns.
fn section_table(report: &Report) -> Option<Table> {
    let wasm: Vec<&Measured> = report
        .artifacts
        .iter()
        .filter(|a| a.sizes.sections.is_some())
        .collect();
    let mut names: Vec<&String> = wasm
        .iter()
        .flat_map(|a| a.sizes.sections.as_ref().unwrap().keys())
        .collect();
    names.sort();
    names.dedup();
    // Biggest first, by the last (shipped) column.
    let last = wasm.last()?;
    names.sort_by_key(|n| {
        std::cmp::Reverse(
            last.sizes
                .sections
                .as_ref()
                .unwrap()
                .get(*n)
                .copied()
                .unwrap_or(0),
        )
    });
    let mut rows = Vec::new();
    for name in names {
        let mut row = vec![name.clone()];
        for a in &wasm {
            let bytes = a.sizes.sections.as_ref().unwrap().get(name);
            row.push(bytes.map_or("-".to_owned(), |b| human_bytes(*b)));
        }
        rows.push(row);
    }
    let mut header: Vec<String> = vec!["section".into()];
    header.extend(
        wasm.iter()
            .map(|a| format!("{} {} {}", a.package, a.profile, a.stage)),
    );
    Some(Table::from_rows(header, rows))
}

fn markdown(
    report: &Report,
    sizes: &Table,
    sections: Option<&Table>,
    baseline_note: &str,
    growers: &str,
) -> String {
    let mut md =
        String::from("# Size report\n\nWritten by `cargo xtask size-report`; do not edit.\n\n");
    md.push_str(&format!(
        "- rustc: `{}`\n- commit: `{}`\n- {}\n\n",
        report.rustc,
        report.commit.as_deref().unwrap_or("unknown"),
        baseline_note.replace('\n', "\n- ")
    ));
    md.push_str(&sizes.render_markdown());
    if !growers.is_empty() {
        md.push_str("\n## What changed\n\n```text");
        md.push_str(growers);
        md.push_str("```\n");
    }
    if let Some(s) = sections {
        md.push_str("\n## Wasm sections\n\n");
        md.push_str(&s.render_markdown());
    }
    md
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

fn comparison(ws: &Workspace, args: &Args, baseline_path: &Path) -> Result<Comparison> {
    if let Some(rev) = &args.against {
        let commit = revision::resolve(ws, rev)?;
        let report = revision::measure(ws, &commit)?;
        let accepted = revision::acceptances_since(&ws.root, &commit)?;
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
    let baseline = load_baseline(baseline_path)?;
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
        Some(c) if revision::resolve(ws, c).is_ok() => revision::acceptances_since(&ws.root, c)?,
        _ => Vec::new(),
    };
    let note = format!(
        "baseline: `{}` (commit `{}`, {})",
        relative(ws, baseline_path),
        b.commit.as_deref().unwrap_or("unknown"),
        b.rustc
    );
    Ok(Comparison {
        report: Some(b),
        note,
        accepted,
    })
}

fn accepted_lines(accepted: &[Acceptance]) -> String {
    accepted
        .iter()
        .map(|a| {
            format!(
                "accepted growth: {} +{} ({} `{}`: {})\n",
                a.target,
                human_bytes(a.bytes),
                a.commit,
                revision::TRAILER,
                a.reason
            )
        })
        .collect()
}

/// Rows of growers shown per table, in the terminal and in size.md.
const GROWERS_SHOWN: usize = 10;

pub fn run(ws: &Workspace, args: &Args) -> Result<bool> {
    let dir = args
        .reports_dir
        .clone()
        .unwrap_or_else(|| ws.root.join("reports"));
    let _lock = lock_reports(&dir)?;
    if args.record {
        // Before measuring: a refused --record should not cost a build.
        history::ensure_recordable(&ws.root, &dir)?;
    }
    let budgets = Budgets::from_workspace(ws)?;
    let baseline_path = dir.join("size-baseline.json");
    let compared = comparison(ws, args, &baseline_path)?;
    let baseline = compared.report.as_ref();
    let report = measure_all(ws, args.no_build)?;
    let violations = check_budgets(&report, baseline, &budgets, &compared.accepted)?;
    let growers = baseline
        .map(|b| size_diff::growers(&b.attribution, &report.attribution))
        .unwrap_or_default();
    let growers_text = size_diff::render_growers(&growers, GROWERS_SHOWN);

    let sizes = size_table(&report, baseline, &budgets);
    let sections = section_table(&report);
    let baseline_note = format!("{}\n{}", compared.note, accepted_lines(&compared.accepted));
    let baseline_note = baseline_note.trim_end();
    let md = markdown(
        &report,
        &sizes,
        sections.as_ref(),
        baseline_note,
        &growers_text,
    );
    let json = serde_json::to_string_pretty(&report)? + "\n";
    write_atomic(&dir.join("size.json"), json.as_bytes())?;
    write_atomic(&dir.join("size.md"), md.as_bytes())?;
    let mut wrote = vec![dir.join("size.md"), dir.join("size.json")];
    wrote.extend(history::update(
        &ws.root,
        &dir,
        args.record.then_some(&report),
        &budgets,
    )?);
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .context("cannot append to GITHUB_STEP_SUMMARY")?;
        writeln!(f, "{md}")?;
    }

    let text = format!(
        "{}{}{growers_text}\n{baseline_note}\nwrote {}\n",
        sizes.render(),
        sections
            .as_ref()
            .map(|s| format!("\n{}", s.render()))
            .unwrap_or_default(),
        wrote
            .iter()
            .map(|p| relative(ws, p))
            .collect::<Vec<_>>()
            .join(", "),
    );
    print_report(&text, &json, args.json);

    if args.bless {
        write_atomic(&baseline_path, json.as_bytes())?;
        eprintln!(
            "blessed: {} is the new baseline; commit it",
            relative(ws, &baseline_path)
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
                revision::TRAILER
            );
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: serde::de::DeserializeOwned>(s: &str) -> T {
        serde_json::from_value(serde_json::json!(s)).unwrap()
    }

    fn artifact(id: &str, bytes: u64, gzip: u64) -> Measured {
        let parts: Vec<&str> = id.split('/').collect();
        Measured {
            package: parts[0].to_owned(),
            kind: parse(parts[1]),
            profile: parse(parts[2]),
            stage: parse(parts[3]),
            path: format!("{id}.bin"),
            sizes: Sizes {
                bytes,
                gzip_bytes: gzip,
                brotli_bytes: gzip,
                sections: None,
            },
        }
    }

    fn report(artifacts: Vec<Measured>) -> Report {
        Report {
            rustc: "rustc test".into(),
            commit: None,
            artifacts,
            attribution: Vec::new(),
        }
    }

    const DEMO: &str = "wasm-demo/wasm/release/opt";
    const RLIB: &str = "cortex-core/rlib/release/raw";

    fn budgets(toml_text: &str) -> Budgets {
        let table: toml::Table = toml::from_str(toml_text).unwrap();
        serde_json::from_value(serde_json::to_value(table).unwrap()).unwrap()
    }

    #[test]
    fn gate_passes_when_everything_is_within_budget() {
        let b =
            budgets("max-growth-percent = 5.0\n[max-bytes]\n\"wasm-demo/wasm/release/opt\" = 1000");
        let now = report(vec![
            artifact(DEMO, 1000, 400),
            artifact(RLIB, 5_000_000, 9),
        ]);
        let base = report(vec![artifact(DEMO, 960, 390)]);
        assert_eq!(check_budgets(&now, Some(&base), &b, &[]).unwrap(), []);
    }

    #[test]
    fn gate_fails_when_budget_exceeded() {
        let b = budgets("[max-bytes]\n\"wasm-demo/wasm/release/opt\" = 1000\n[max-gzip-bytes]\n\"wasm-demo/wasm/release/opt\" = 300");
        let now = report(vec![artifact(DEMO, 1001, 400)]);
        let base = report(vec![artifact(DEMO, 900, 390)]);
        let v = check_budgets(&now, Some(&base), &b, &[]).unwrap();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(
            (v[0].limit_name, v[0].measured, v[0].limit, v[0].delta),
            ("size", 1001, 1000, Some(101))
        );
        assert_eq!(
            (v[1].limit_name, v[1].measured, v[1].limit),
            ("gzip size", 400, 300)
        );
        let line = v[0].to_string();
        assert!(
            line.starts_with(DEMO)
                && line.contains("1001 B")
                && line.contains("+101 B vs baseline"),
            "{line}"
        );
    }

    #[test]
    fn gate_applies_the_guides_1_mb_ceiling_to_wasm_only() {
        let b = budgets("");
        let now = report(vec![
            artifact(DEMO, 1_000_001, 1),
            artifact(RLIB, 9_000_000, 1),
        ]);
        let v = check_budgets(&now, None, &b, &[]).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(
            (v[0].artifact.as_str(), v[0].limit, v[0].delta),
            (DEMO, 1_000_000, None)
        );
    }

    #[test]
    fn gate_fails_when_growth_exceeds_percent_or_bytes() {
        let now = report(vec![artifact(DEMO, 1100, 1), artifact(RLIB, 10_300, 1)]);
        let base = report(vec![artifact(DEMO, 1000, 1), artifact(RLIB, 10_000, 1)]);
        let by_percent =
            check_budgets(&now, Some(&base), &budgets("max-growth-percent = 5.0"), &[]).unwrap();
        assert_eq!(by_percent.len(), 1, "{by_percent:?}");
        assert_eq!(
            (by_percent[0].artifact.as_str(), by_percent[0].limit),
            (DEMO, 1050)
        );
        let by_bytes =
            check_budgets(&now, Some(&base), &budgets("max-growth-bytes = 200"), &[]).unwrap();
        assert_eq!(by_bytes.len(), 1, "{by_bytes:?}");
        assert_eq!(
            (
                by_bytes[0].artifact.as_str(),
                by_bytes[0].limit,
                by_bytes[0].delta
            ),
            (RLIB, 10_200, Some(300))
        );
        // Both set: the larger allowance applies.
        let both = budgets("max-growth-percent = 5.0\nmax-growth-bytes = 200");
        assert_eq!(check_budgets(&now, Some(&base), &both, &[]).unwrap(), []);
        let bigger = report(vec![artifact(DEMO, 1201, 1), artifact(RLIB, 10_501, 1)]);
        let v = check_budgets(&bigger, Some(&base), &both, &[]).unwrap();
        let limits: Vec<(&str, u64)> = v.iter().map(|v| (v.artifact.as_str(), v.limit)).collect();
        assert_eq!(limits, [(DEMO, 1200), (RLIB, 10_500)]);
        // Shrinking never fails the growth limits.
        let smaller = report(vec![artifact(DEMO, 10, 1)]);
        assert_eq!(
            check_budgets(&smaller, Some(&base), &budgets("max-growth-bytes = 0"), &[]).unwrap(),
            []
        );
    }

    #[test]
    fn accepted_growth_raises_only_the_growth_limit_of_what_it_covers() {
        let b =
            budgets("max-growth-bytes = 100\n[max-bytes]\n\"wasm-demo/wasm/release/opt\" = 5000");
        let base = report(vec![artifact(DEMO, 1000, 1), artifact(RLIB, 1000, 1)]);
        let now = report(vec![artifact(DEMO, 2000, 1), artifact(RLIB, 2000, 1)]);
        let accept = |target: &str, bytes| Acceptance {
            target: target.into(),
            bytes,
            reason: "r".into(),
            commit: "abc1234".into(),
        };
        let v = check_budgets(&now, Some(&base), &b, &[accept("wasm-demo", 1000)]).unwrap();
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].artifact, RLIB, "the acceptance covers wasm-demo only");
        // Not enough accepted: still fails, and says what was accepted.
        let v = check_budgets(&now, Some(&base), &b, &[accept(DEMO, 500)]).unwrap();
        let demo = v.iter().find(|v| v.artifact == DEMO).unwrap();
        assert_eq!((demo.limit, demo.accepted), (1600, 500));
        assert!(demo.to_string().contains("500 B accepted"), "{demo}");
        // A ceiling is not lifted by an acceptance.
        let huge = report(vec![artifact(DEMO, 6000, 1)]);
        let v = check_budgets(&huge, Some(&base), &b, &[accept("wasm-demo", 100_000)]).unwrap();
        let names: Vec<&str> = v.iter().map(|v| v.limit_name).collect();
        assert_eq!(names, ["size"]);
    }

    #[test]
    fn attribution_keeps_the_biggest_functions_with_one_name_summed() {
        let f = |name: &str, bytes| FunctionSize {
            name: name.into(),
            krate: "c".into(),
            bytes,
        };
        let a = Attribution {
            file: "x.wasm".into(),
            named: true,
            functions: vec![f("a", 5), f("b", 7), f("a", 4), f("c", 1)],
            crates: vec![],
            data: vec![],
        };
        let kept = Attributed::new(DEMO, a.clone(), 2);
        let got: Vec<(&str, u64)> = kept
            .functions
            .iter()
            .map(|f| (f.name.as_str(), f.bytes))
            .collect();
        assert_eq!(got, [("a", 9), ("b", 7)]);
        assert!(kept.truncated);
        assert!(!Attributed::new(DEMO, a, 3).truncated);
    }

    #[test]
    fn budget_naming_an_unknown_artifact_is_an_error() {
        let b = budgets("[max-bytes]\n\"wasm-demo/wasm/release/optt\" = 1");
        let err = check_budgets(&report(vec![artifact(DEMO, 1, 1)]), None, &b, &[]).unwrap_err();
        assert!(
            err.to_string().contains("optt") && err.to_string().contains(DEMO),
            "{err}"
        );
    }

    #[test]
    fn unknown_budget_key_is_rejected() {
        let table: toml::Table = toml::from_str("max-growth-percnt = 5.0").unwrap();
        let r: Result<Budgets, _> = serde_json::from_value(serde_json::to_value(table).unwrap());
        assert!(r.is_err());
    }

    #[test]
    fn baseline_absent_is_none_and_corrupt_is_an_error_naming_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("size-baseline.json");
        assert_eq!(load_baseline(&path).unwrap(), None);
        std::fs::write(&path, "{\"rustc\": \"x\", \"artifacts\": [").unwrap();
        let err = format!("{:#}", load_baseline(&path).unwrap_err());
        assert!(
            err.contains("--bless") && err.contains("git checkout"),
            "{err}"
        );
        let good = report(vec![artifact(DEMO, 5, 5)]);
        std::fs::write(&path, serde_json::to_string(&good).unwrap()).unwrap();
        assert_eq!(load_baseline(&path).unwrap(), Some(good));
    }
}
