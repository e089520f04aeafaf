//! `bench-build --synthetic N[,N…]`: what `size-report` costs as the
//! number of wasm packages grows. For each N, a generated workspace of N
//! wasm packages over cortex-core (`ops::bench::generated_workspace`, in the benchmark
//! copy), where this very binary runs `size-report` twice: cold (an empty
//! target dir) and warm (the same command again, nothing changed). Wall
//! time, target-dir bytes and, under sccache, the cache's hits and misses
//! go to `reports/many-packages.{md,json}`; rows of another cache setting
//! already there are kept, so runs without and with a cache make one table.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use xshell::{cmd, Shell};

use crate::ops::bench::copy::{copy_workspace, fetch};
use crate::ops::bench::generated_workspace;
use crate::ops::bench::report::{load_average, reproduce_command, Conditions};
use crate::ops::bench::timed_build::bench_dir;
use crate::ops::build::artifacts::WASM_TARGET;
use crate::ops::env::cache;
use crate::ops::env::provenance::Provenance;
use crate::ops::env::setup;
use crate::ops::env::workspace::Workspace;
use crate::util::files::{check_writable, dir_bytes, remove_dir};
use wasm_size::table::{human_bytes, percent, Table};

pub const REPORT: &str = "many-packages";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Run {
    /// An empty target dir.
    Cold,
    /// Right after the cold run, nothing changed.
    Warm,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Run::Cold => "cold",
            Run::Warm => "warm",
        })
    }
}

/// One `size-report` run in a synthetic workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The number of wasm packages in the workspace.
    pub packages: usize,
    /// `none`, or the file name of `RUSTC_WRAPPER` (`sccache`).
    pub cache: String,
    pub run: Run,
    /// Wall-clock seconds of the whole `cargo xtask size-report`.
    pub seconds: f64,
    /// Bytes of the files in the target dir after the run.
    pub target_dir_bytes: u64,
    /// Under sccache: compilations it served during the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_hits: Option<u64>,
    /// Under sccache: compilations it had to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_misses: Option<u64>,
    /// `RUSTC_WRAPPER` as set for the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rustc_wrapper: Option<String>,
    /// Where, when and how the N's runs were taken: the load average is
    /// read when they started, the command reproduces the row.
    #[serde(flatten)]
    pub conditions: Conditions,
}

/// The whole of `many-packages.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Report {
    pub rows: Vec<Row>,
}

impl Report {
    /// Adds `new`, replacing every row of the same cache setting (a run
    /// measures the whole table of its setting), and sorts: by cache, then
    /// package count, cold before warm.
    pub fn merge(&mut self, new: Vec<Row>) {
        self.rows
            .retain(|old| !new.iter().any(|n| n.cache == old.cache));
        self.rows.extend(new);
        self.rows
            .sort_by(|a, b| (&a.cache, a.packages, a.run).cmp(&(&b.cache, b.packages, b.run)));
    }
}

/// Times a cold and a warm `size-report` in a generated workspace of each
/// of `counts` wasm packages, and returns the report: the rows of
/// `reports`' `many-packages.json` of other cache settings, and these.
pub fn measure(sh: &Shell, ws: &Workspace, counts: &[usize], reports: &Path) -> Result<Report> {
    let mut counts = counts.to_vec();
    counts.dedup();
    if let Some(bad) = counts.iter().find(|&&n| n == 0 || n > 999) {
        bail!("--synthetic {bad}: give package counts between 1 and 999, e.g. --synthetic 1,4,12");
    }
    check_writable(reports)?;
    let report_json = reports.join(format!("{REPORT}.json"));
    let mut report = load(&report_json)?;
    setup::ensure_targets(sh, &[WASM_TARGET])?;
    let exe = std::env::current_exe()
        .context("cannot find this program's own path to run `size-report` in the copy")?;

    // The copy is bench-build's: one benchmark at a time.
    let (bench, _lock) = bench_dir(ws)?;
    let root = bench.join(REPORT);
    // One path for the copy whatever N, so a cache keyed on paths can hit.
    let src = root.join("src");
    let wrapper = cache::wrapper(sh);
    // How the report names the setting: `none`, or the wrapper's file stem.
    let cache = wrapper
        .as_deref()
        .and_then(Path::file_stem)
        .map_or("none".to_owned(), |s| s.to_string_lossy().into_owned());
    let sccache = wrapper.clone().filter(|w| cache::is_sccache(w));
    let counts_now = || {
        let stats = cache::stats(sh, sccache.as_deref()?).ok()?;
        Some((stats.hits, stats.misses))
    };
    let wrapper = wrapper.map(|w| w.display().to_string());
    let target = root.join(format!("target-{cache}"));
    let size_reports = root.join("reports");
    let provenance = Provenance::read(sh, ws);
    let command = match &wrapper {
        Some(w) => format!(
            "RUSTC_WRAPPER={w} {}",
            reproduce_command(std::env::args().skip(1))
        ),
        None => reproduce_command(std::env::args().skip(1)),
    };

    let mut rows = Vec::new();
    for &n in &counts {
        let files = copy_workspace(sh, ws, &src)?;
        let names = generated_workspace::generate(ws, &src, n)?;
        generated_workspace::check(&src, &names)?;
        eprintln!(
            "n={n}: {} generated wasm packages in a copy of the workspace ({files} files), {}",
            names.len(),
            src.display()
        );
        fetch(sh, &src)?;
        remove_dir(&target)?;
        remove_dir(&size_reports)?;
        std::fs::create_dir_all(&size_reports)
            .with_context(|| format!("cannot create {}", size_reports.display()))?;
        let load_average = load_average();
        for run in [Run::Cold, Run::Warm] {
            eprint!("n={n} {run} size-report (cache: {cache}) ...");
            let before = counts_now();
            let seconds = size_report(sh, &exe, &src, &target, &size_reports)?;
            let after = counts_now();
            let used = before
                .zip(after)
                .map(|(b, a)| (a.0.saturating_sub(b.0), a.1.saturating_sub(b.1)));
            let bytes = dir_bytes(&target)?;
            eprintln!(" {seconds:.1} s, target dir {}", human_bytes(bytes));
            rows.push(Row {
                packages: n,
                cache: cache.clone(),
                run,
                seconds,
                target_dir_bytes: bytes,
                cache_hits: used.map(|c| c.0),
                cache_misses: used.map(|c| c.1),
                rustc_wrapper: wrapper.clone(),
                conditions: Conditions {
                    provenance: provenance.clone(),
                    load_average,
                    command: command.clone(),
                },
            });
        }
    }

    report.merge(rows);
    Ok(report)
}

/// The rows already in `path`, to be kept beside the new ones.
fn load(path: &Path) -> Result<Report> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a many-packages report; remove it and run again",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Report::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Runs `cargo xtask size-report` (this binary) in the copy with its own
/// target dir, and returns its wall-clock seconds.
fn size_report(
    sh: &Shell,
    exe: &PathBuf,
    src: &Path,
    target: &Path,
    reports: &Path,
) -> Result<f64> {
    let _src = sh.push_dir(src);
    // The child finds its target dir as any xtask does, through cargo.
    let _target = sh.push_env("CARGO_TARGET_DIR", target);
    let cmd = cmd!(sh, "{exe} size-report --reports-dir {reports}")
        .quiet()
        .ignore_status();
    let started = Instant::now();
    let out = cmd
        .output()
        .context("cannot run this program again as `size-report`")?;
    let seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    if !out.status.success() {
        eprintln!("\n{}", String::from_utf8_lossy(&out.stderr));
        bail!(
            "`cargo xtask size-report` failed in the synthetic workspace {}; its output is above",
            src.display()
        );
    }
    Ok(seconds)
}

pub fn table(report: &Report) -> Table {
    let mut t = Table::new([
        "packages",
        "cache",
        "run",
        "time",
        "target dir",
        "cache hits",
        "commit",
    ]);
    for r in &report.rows {
        let hits = match (r.cache_hits, r.cache_misses) {
            (Some(h), Some(m)) => format!("{h}/{} ({})", h + m, percent(h, h + m)),
            _ => "-".to_owned(),
        };
        t.row([
            r.packages.to_string(),
            r.cache.clone(),
            r.run.to_string(),
            format!("{:.2} s", r.seconds),
            human_bytes(r.target_dir_bytes),
            hits,
            r.conditions.provenance.commit.clone(),
        ]);
    }
    t
}

pub fn markdown(report: &Report, table: &Table) -> String {
    let mut md = String::from(
        "# Many wasm packages: size-report cold and warm\n\n\
         Written by `cargo xtask bench-build --synthetic`; do not edit.\n\n",
    );
    md.push_str(&table.render_markdown());
    md.push_str(
        "\nEach row is one `cargo xtask size-report` in a generated workspace of N wasm \
         packages over cortex-core (a copy of this one, its own members no longer wasm \
         packages there; each generated package a small program on the memory stores and \
         tokio, with constants of its own). Every package is built alone in its own target \
         dir, debug and release, then `-Oz` and measured.\n\n\
         - cold: an empty target dir; warm: the same command right after, nothing changed.\n\
         - time: wall clock of the whole command; target dir: bytes of its files afterwards \
         (hard links once).\n\
         - cache: `RUSTC_WRAPPER` (`none` when unset); cache hits: compilations sccache \
         served during that run, of all it was asked for (`sccache --show-stats` before \
         and after).\n\n\
         Reproduce:\n\n",
    );
    let mut seen: Vec<String> = Vec::new();
    for r in &report.rows {
        let p = &r.conditions.provenance;
        let line = format!(
            "- `{}` (commit `{}`, {}, {} cores, {})\n",
            r.conditions.command, p.commit, p.rustc, p.cores, p.date
        );
        if !seen.contains(&line) {
            md.push_str(&line);
            seen.push(line);
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(packages: usize, cache: &str, run: Run, seconds: f64) -> Row {
        Row {
            packages,
            cache: cache.into(),
            run,
            seconds,
            target_dir_bytes: 1 << 20,
            cache_hits: (cache == "sccache").then_some(9),
            cache_misses: (cache == "sccache").then_some(3),
            rustc_wrapper: (cache == "sccache").then(|| "sccache".into()),
            conditions: Conditions {
                provenance: Provenance {
                    rustc: "rustc 1".into(),
                    commit: "abc1234".into(),
                    date: "2030-01-01T00:00:00Z".into(),
                    cores: 2,
                },
                load_average: None,
                command: format!("cargo xtask bench-build --synthetic {packages}"),
            },
        }
    }

    #[test]
    fn new_rows_replace_their_cache_settings_rows_and_keep_the_others() {
        let mut report = Report::default();
        report.merge(vec![
            row(4, "none", Run::Cold, 40.0),
            row(1, "sccache", Run::Cold, 5.0),
        ]);
        report.merge(vec![
            row(4, "none", Run::Warm, 2.0),
            row(1, "none", Run::Warm, 1.0),
            row(1, "none", Run::Cold, 10.0),
        ]);
        let got: Vec<(usize, &str, Run, f64)> = report
            .rows
            .iter()
            .map(|r| (r.packages, r.cache.as_str(), r.run, r.seconds))
            .collect();
        assert_eq!(
            got,
            [
                (1, "none", Run::Cold, 10.0),
                (1, "none", Run::Warm, 1.0),
                (4, "none", Run::Warm, 2.0),
                (1, "sccache", Run::Cold, 5.0),
            ]
        );
    }

    #[test]
    fn markdown_has_the_cache_column_and_the_commands_that_reproduce_it() {
        let mut report = Report::default();
        report.merge(vec![
            row(1, "none", Run::Cold, 10.0),
            row(1, "sccache", Run::Cold, 5.0),
        ]);
        let md = markdown(&report, &table(&report));
        assert!(md.contains("| cache |"), "{md}");
        assert!(md.contains("9/12 (75.0%)"), "{md}");
        assert!(
            md.contains("`cargo xtask bench-build --synthetic 1`"),
            "{md}"
        );
        let json = serde_json::to_value(&report).unwrap();
        for key in [
            "packages",
            "cache",
            "run",
            "seconds",
            "target_dir_bytes",
            "commit",
            "rustc",
            "command",
        ] {
            assert!(json["rows"][0].get(key).is_some(), "{key}: {json}");
        }
        assert_eq!(json["rows"][1]["cache_hits"], 9);
    }
}
