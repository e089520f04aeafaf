//! `reports/history.jsonl`, one line per commit on main, and the chart drawn
//! from it, `reports/size-history.svg`. `size-report --record` files its
//! sizes here and `bench-build` its build times, each under the commit it
//! measured, so one line holds everything known about that commit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};
use xshell::{cmd, Shell};

use crate::files::write_atomic;
use crate::provenance;
use crate::size_report::{Budgets, Report};
use crate::table::human_bytes;

/// The history, in the reports dir.
pub const HISTORY_FILE: &str = "history.jsonl";
/// The chart, in the reports dir, beside the history it is drawn from.
pub const CHART_FILE: &str = "size-history.svg";
/// Artifact ids ending so are the files we ship (release `.wasm` after -Oz).
const SHIPPED_SUFFIX: &str = "/wasm/release/opt";

/// One line of reports/history.jsonl.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Short hash, as `git rev-parse --short HEAD` gives it.
    pub commit: String,
    /// The commit's date (ISO 8601, `git show -s --format=%cI`), not the time
    /// of measuring, so re-recording a commit leaves its line stable.
    pub date: String,
    pub rustc: String,
    /// Artifact id -> sizes; written by `size-report --record`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<String, ArtifactPoint>,
    /// Benchmark name (e.g. `wasm-demo/release/incremental`) -> median
    /// seconds; written by `bench-build`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_seconds: BTreeMap<String, f64>,
}

/// One artifact's sizes at one commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactPoint {
    pub bytes: u64,
    pub gzip_bytes: u64,
}

impl Entry {
    /// The sizes of `report` as a history line; `date` is the commit's date
    /// ([`commit_date`]). Fails if the report has no commit.
    pub fn from_report(report: &Report, date: String) -> Result<Self> {
        let Some(commit) = report.commit.clone() else {
            bail!(
                "cannot record a measurement without a commit (`git rev-parse HEAD` failed): \
                 run `--record` in a git checkout"
            );
        };
        Ok(Self {
            commit,
            date,
            rustc: report.rustc.clone(),
            artifacts: report
                .artifacts
                .iter()
                .map(|a| {
                    let point = ArtifactPoint {
                        bytes: a.sizes.bytes,
                        gzip_bytes: a.sizes.gzip_bytes,
                    };
                    (a.id(), point)
                })
                .collect(),
            build_seconds: BTreeMap::new(),
        })
    }

    /// Takes every field `new` fills; keeps this line's value where `new` is
    /// empty, so sizes and build times recorded separately end up together.
    fn merge(&mut self, new: Entry) {
        if !new.date.is_empty() {
            self.date = new.date;
        }
        if !new.rustc.is_empty() {
            self.rustc = new.rustc;
        }
        if !new.artifacts.is_empty() {
            self.artifacts = new.artifacts;
        }
        if !new.build_seconds.is_empty() {
            self.build_seconds = new.build_seconds;
        }
    }
}

/// Every line of the history, oldest first. A missing file is an empty
/// history; a line that is not an entry is an error naming `file:line`.
pub fn load(path: &Path) -> Result<Vec<Entry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fix = || {
            format!(
                "{}:{}: not a history entry; fix or delete that line (each line is one JSON \
                 object with commit, date, rustc, written by `cargo xtask size-report --record`)",
                path.display(),
                i + 1
            )
        };
        let entry: Entry = serde_json::from_str(line).with_context(fix)?;
        if entry.commit.is_empty() {
            bail!("{}: the commit is empty", fix());
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Inserts or replaces the entry for `entry.commit`, merging: fields the new
/// entry leaves empty keep the old line's values (so size-report --record and
/// bench-build can both record on one commit in either order). Keeps lines in
/// first-recorded order; a commit listed twice (say, after a merge of the
/// file) is folded into its first line. Writes atomically.
///
/// Read, change, write: the caller holds the reports lock so two recorders
/// cannot lose each other's line.
pub fn record(path: &Path, entry: Entry) -> Result<()> {
    if entry.commit.is_empty() {
        bail!("cannot record a history entry without a commit");
    }
    let mut entries = load(path)?;
    match entries.iter().position(|e| e.commit == entry.commit) {
        Some(first) => {
            let mut index = 0;
            entries.retain(|e| {
                let keep = index <= first || e.commit != entry.commit;
                index += 1;
                keep
            });
            entries[first].merge(entry);
        }
        None => entries.push(entry),
    }
    let mut text = String::new();
    for e in &entries {
        text.push_str(&serde_json::to_string(e)?);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

/// The committer date of `commit`, ISO 8601.
pub fn commit_date(root: &Path, commit: &str) -> Result<String> {
    let sh = Shell::new()?;
    let date = cmd!(sh, "git -C {root} show -s --format=%cI {commit} --")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| {
            format!(
                "cannot read the date of commit {commit} (`git show -s --format=%cI {commit}` \
                 failed in {}): --record needs a git checkout that has the commit",
                root.display()
            )
        })?;
    if date.is_empty() {
        bail!("git gave no date for commit {commit}: is it a commit in this repository?");
    }
    Ok(date)
}

/// Refuses `--record` where its line would be wrong: outside a git checkout,
/// or with changes git does not have in HEAD, since the line would file the
/// sizes of uncommitted code under HEAD's hash. Untracked files count too
/// (unless ignored): a new `.rs` file a crate picks up changes the build as
/// much as an edit does. The reports dir does not count: size-report itself
/// rewrites it, and CI records on a tree where the history just changed.
/// Called before measuring, so a refused run fails fast.
pub fn ensure_recordable(root: &Path, reports_dir: &Path) -> Result<()> {
    let sh = Shell::new()?;
    let head = cmd!(sh, "git -C {root} rev-parse --short HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| {
            format!(
                "cannot record: {} is not a git checkout with a commit (`git rev-parse HEAD` \
                 failed); run `--record` in a clone",
                root.display()
            )
        })?;
    let changed = provenance::uncommitted_changes(root, reports_dir).context("cannot record")?;
    if !changed.is_empty() {
        let shown: Vec<&str> = changed.iter().take(3).map(String::as_str).collect();
        let more = match changed.len() - shown.len() {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        bail!(
            "refusing to record: the working tree differs from HEAD {head} ({}{more}), so the \
             sizes are not {head}'s; commit first, then run `cargo xtask size-report --record`",
            shown.join(", ")
        );
    }
    Ok(())
}

/// What size-report does with the history on every run: with `record`, files
/// that measurement under its commit; then, if the history has a line, redraws
/// the chart. Returns the files written. The caller holds the reports lock.
pub fn update(
    root: &Path,
    reports_dir: &Path,
    record_report: Option<&Report>,
    budgets: &Budgets,
) -> Result<Vec<PathBuf>> {
    let path = reports_dir.join(HISTORY_FILE);
    let mut written = Vec::new();
    if let Some(report) = record_report {
        let Some(commit) = &report.commit else {
            bail!(
                "cannot record: the commit is unknown (`git rev-parse HEAD` failed in {}); \
                 run `--record` in a git checkout",
                root.display()
            );
        };
        let entry = Entry::from_report(report, commit_date(root, commit)?)?;
        record(&path, entry)?;
        written.push(path.clone());
    }
    let entries = load(&path)?;
    if chartable(&entries) {
        let chart = reports_dir.join(CHART_FILE);
        write_atomic(&chart, render_svg(&entries, budgets)?.as_bytes())?;
        written.push(chart);
    }
    Ok(written)
}

/// Whether [`render_svg`] has anything to draw.
pub fn chartable(entries: &[Entry]) -> bool {
    !shipped_ids(entries).is_empty() || entries.iter().any(|e| !e.build_seconds.is_empty())
}

fn shipped_ids(entries: &[Entry]) -> Vec<&str> {
    let mut ids: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.artifacts.keys())
        .map(String::as_str)
        .filter(|id| id.ends_with(SHIPPED_SUFFIX))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn build_keys(entries: &[Entry]) -> Vec<&str> {
    let mut keys: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.build_seconds.keys())
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

const WIDTH: u32 = 1000;
const SIZE_PANEL_HEIGHT: u32 = 440;
const BUILD_PANEL_HEIGHT: u32 = 300;
const TITLE_HEIGHT: u32 = 44;
/// Room right of each plot for its legend: names like
/// `wasm-demo/release/incremental` are long.
const LEGEND_WIDTH: u32 = 300;
/// Commit labels are ~7 characters; more than this many overlap.
const MAX_X_LABELS: usize = 8;
const FONT: &str = "sans-serif";
/// Matplotlib's "tab10": distinct hues that stay apart for the colour-blind.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A legend row: a sample of the line, then its name.
struct LegendItem {
    label: String,
    color: RGBColor,
    dashed: bool,
}

/// One line on a panel: its points (entry index, value) and how it is drawn.
struct Series {
    points: Vec<(usize, f64)>,
    item: LegendItem,
}

/// SVG of shipped sizes over the history: x = commits in order (labelled
/// with the short hash), y = bytes; per shipped artifact (ids ending in
/// `/wasm/release/opt`) one line for bytes and one for gzip bytes, and its
/// budget (its `max-bytes`, else `wasm-max-bytes`; and its `max-gzip-bytes`
/// when set) as a flat dashed line. If any entry has build times, a second
/// panel below plots them. Text is SVG `<text>` with a generic font family,
/// which the viewer lays out: no font file is needed to draw it.
///
/// Deterministic: the same entries and budgets give the same bytes, so the
/// committed chart only changes when the data does.
pub fn render_svg(entries: &[Entry], budgets: &Budgets) -> Result<String> {
    if !chartable(entries) {
        bail!(
            "nothing to chart: the history has no shipped artifact (`…{SHIPPED_SUFFIX}`) and \
             no build times"
        );
    }
    let (size_series, size_budgets) = size_series(entries, budgets);
    let build_series = build_series(entries);
    let mut height = TITLE_HEIGHT;
    if !size_series.is_empty() {
        height += SIZE_PANEL_HEIGHT;
    }
    if !build_series.is_empty() {
        height += BUILD_PANEL_HEIGHT;
    }
    let newest = &entries[entries.len() - 1];
    let title = format!(
        "CortexOS size history: {} commit{}, newest {} ({})",
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        newest.commit,
        newest.date.get(..10).unwrap_or(&newest.date)
    );

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let body = root.titled(&title, (FONT, 24).into_font().color(&BLACK))?;
        let (size_area, build_area) = match (size_series.is_empty(), build_series.is_empty()) {
            (false, false) => {
                let (top, bottom) = body.split_vertically(SIZE_PANEL_HEIGHT);
                (Some(top), Some(bottom))
            }
            (false, true) => (Some(body), None),
            _ => (None, Some(body)),
        };
        if let Some(area) = size_area {
            draw_panel(
                &area,
                entries,
                &Panel {
                    caption: "Shipped .wasm (release, wasm-opt -Oz): bytes and gzip -9",
                    y_desc: "size",
                    series: &size_series,
                    flat: &size_budgets,
                    y_label: &|kib: &f64| human_bytes((kib * 1024.0).round() as u64),
                },
            )?;
        }
        if let Some(area) = build_area {
            let top = build_series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .fold(0.0, f64::max);
            let one_decimal = top < 10.0;
            draw_panel(
                &area,
                entries,
                &Panel {
                    caption: "Build time (median of runs)",
                    y_desc: "seconds",
                    series: &build_series,
                    flat: &[],
                    y_label: &|s: &f64| {
                        if one_decimal {
                            format!("{s:.1} s")
                        } else {
                            format!("{s:.0} s")
                        }
                    },
                },
            )?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// The size lines (y in KiB, so the axis gets round binary ticks) and the
/// budgets as (value in KiB, legend item).
fn size_series(entries: &[Entry], budgets: &Budgets) -> (Vec<Series>, Vec<(f64, LegendItem)>) {
    let kib = |b: u64| b as f64 / 1024.0;
    let mut series = Vec::new();
    let mut flat = Vec::new();
    for (i, id) in shipped_ids(entries).into_iter().enumerate() {
        let name = id.strip_suffix(SHIPPED_SUFFIX).unwrap_or(id);
        let (size_color, gzip_color) = (PALETTE[(2 * i) % 10], PALETTE[(2 * i + 1) % 10]);
        let points = |f: fn(&ArtifactPoint) -> u64| -> Vec<(usize, f64)> {
            entries
                .iter()
                .enumerate()
                .filter_map(|(x, e)| e.artifacts.get(id).map(|p| (x, kib(f(p)))))
                .collect()
        };
        series.push(Series {
            points: points(|p| p.bytes),
            item: LegendItem {
                label: format!("{name} size"),
                color: size_color,
                dashed: false,
            },
        });
        series.push(Series {
            points: points(|p| p.gzip_bytes),
            item: LegendItem {
                label: format!("{name} gzip"),
                color: gzip_color,
                dashed: false,
            },
        });
        let max = budgets
            .max_bytes
            .get(id)
            .copied()
            .unwrap_or(budgets.wasm_max_bytes);
        flat.push((
            kib(max),
            LegendItem {
                label: format!("{name} budget {}", human_bytes(max)),
                color: size_color,
                dashed: true,
            },
        ));
        if let Some(&max) = budgets.max_gzip_bytes.get(id) {
            flat.push((
                kib(max),
                LegendItem {
                    label: format!("{name} gzip budget {}", human_bytes(max)),
                    color: gzip_color,
                    dashed: true,
                },
            ));
        }
    }
    (series, flat)
}

fn build_series(entries: &[Entry]) -> Vec<Series> {
    build_keys(entries)
        .into_iter()
        .enumerate()
        .map(|(i, key)| Series {
            points: entries
                .iter()
                .enumerate()
                .filter_map(|(x, e)| e.build_seconds.get(key).map(|&s| (x, s)))
                .collect(),
            item: LegendItem {
                label: key.to_owned(),
                color: PALETTE[i % 10],
                dashed: false,
            },
        })
        .collect()
}

struct Panel<'a> {
    caption: &'a str,
    y_desc: &'a str,
    series: &'a [Series],
    /// Horizontal lines across the whole panel (budgets).
    flat: &'a [(f64, LegendItem)],
    y_label: &'a dyn Fn(&f64) -> String,
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    entries: &[Entry],
    panel: &Panel<'_>,
) -> Result<()> {
    let (plot_area, legend_area) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let n = entries.len();
    let top = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(panel.flat.iter().map(|f| f.0))
        .fold(0.0, f64::max);
    // Headroom so the highest line is not drawn on the frame.
    let top = if top > 0.0 { top * 1.12 } else { 1.0 };
    // x counts half steps, so commit i sits at 2i+1 with half a step of
    // room either side (plotters formats integer axes, not custom float ones).
    let at = |i: usize| 2 * i as i32 + 1;
    let (left, right) = (0, 2 * n as i32);
    let ticks = x_ticks(n).into_iter().map(at).collect();
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(panel.caption, (FONT, 19))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(84)
        .build_cartesian_2d((left..right).with_key_points(ticks), 0.0..top)?;
    let commit_label = |x: &i32| {
        usize::try_from((x - 1) / 2)
            .ok()
            .and_then(|i| entries.get(i))
            .map(|e| e.commit.chars().take(10).collect())
            .unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.12))
        .x_label_formatter(&commit_label)
        .y_label_formatter(panel.y_label)
        .x_desc("commit (oldest to newest)")
        .y_desc(panel.y_desc)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .draw()?;
    for (value, item) in panel.flat {
        chart.draw_series(DashedLineSeries::new(
            [(left, *value), (right, *value)],
            10,
            6,
            item.color.stroke_width(2),
        ))?;
    }
    for s in panel.series {
        chart.draw_series(
            LineSeries::new(
                s.points.iter().map(|&(i, v)| (at(i), v)),
                s.item.color.filled().stroke_width(2),
            )
            .point_size(4),
        )?;
    }
    let items = panel
        .series
        .iter()
        .map(|s| &s.item)
        .chain(panel.flat.iter().map(|f| &f.1));
    draw_legend(&legend_area, items)?;
    Ok(())
}

/// Commits to label: every `step`-th, counted back from the newest so the
/// newest is always named.
fn x_ticks(n: usize) -> Vec<usize> {
    let step = n.div_ceil(MAX_X_LABELS).max(1);
    let mut ticks: Vec<usize> = (0..n).rev().step_by(step).collect();
    ticks.reverse();
    ticks
}

/// A legend as a column right of the plot, so it never hides a line.
fn draw_legend<'a>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    items: impl Iterator<Item = &'a LegendItem>,
) -> Result<()> {
    let text = TextStyle::from((FONT, 16).into_font()).color(&BLACK);
    let top = 48;
    for (row, item) in items.enumerate() {
        let y = top + 22 * row as i32;
        let style = item.color.stroke_width(2);
        if item.dashed {
            area.draw(&PathElement::new([(4, y), (14, y)], style))?;
            area.draw(&PathElement::new([(20, y), (30, y)], style))?;
        } else {
            area.draw(&PathElement::new([(4, y), (30, y)], style))?;
            area.draw(&Circle::new((17, y), 3, item.color.filled()))?;
        }
        area.draw_text(
            &item.label,
            &text.pos(Pos::new(HPos::Left, VPos::Center)),
            (38, y),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::git;

    fn sizes(commit: &str, bytes: u64, gzip: u64) -> Entry {
        Entry {
            commit: commit.into(),
            date: "2025-01-02T12:00:00+00:00".into(),
            rustc: "rustc 1.95.0".into(),
            artifacts: BTreeMap::from([
                (
                    "wasm-demo/wasm/release/opt".to_owned(),
                    ArtifactPoint {
                        bytes,
                        gzip_bytes: gzip,
                    },
                ),
                (
                    "wasm-demo/wasm/release/raw".to_owned(),
                    ArtifactPoint {
                        bytes: bytes * 3,
                        gzip_bytes: gzip * 2,
                    },
                ),
            ]),
            build_seconds: BTreeMap::new(),
        }
    }

    fn bench(commit: &str, seconds: f64) -> Entry {
        Entry {
            commit: commit.into(),
            date: String::new(),
            rustc: String::new(),
            artifacts: BTreeMap::new(),
            build_seconds: BTreeMap::from([("wasm-demo/release/incremental".to_owned(), seconds)]),
        }
    }

    fn budgets() -> Budgets {
        serde_json::from_value(serde_json::json!({
            "max-bytes": {"wasm-demo/wasm/release/opt": 65536},
            "max-gzip-bytes": {"wasm-demo/wasm/release/opt": 24576},
        }))
        .unwrap()
    }

    fn history() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HISTORY_FILE);
        (dir, path)
    }

    #[test]
    fn missing_history_is_empty() {
        let (_dir, path) = history();
        assert_eq!(load(&path).unwrap(), []);
    }

    #[test]
    fn recording_a_commit_twice_keeps_one_line_with_the_newer_values() {
        let (_dir, path) = history();
        record(&path, sizes("aaaaaaa", 60_000, 24_000)).unwrap();
        record(&path, sizes("aaaaaaa", 59_000, 23_000)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert_eq!(load(&path).unwrap(), [sizes("aaaaaaa", 59_000, 23_000)]);
    }

    #[test]
    fn lines_stay_in_first_recorded_order() {
        let (_dir, path) = history();
        for c in ["ccccccc", "aaaaaaa", "bbbbbbb"] {
            record(&path, sizes(c, 1000, 500)).unwrap();
        }
        record(&path, sizes("aaaaaaa", 2000, 900)).unwrap();
        let commits: Vec<String> = load(&path).unwrap().into_iter().map(|e| e.commit).collect();
        assert_eq!(commits, ["ccccccc", "aaaaaaa", "bbbbbbb"]);
        assert_eq!(load(&path).unwrap()[1].artifacts.len(), 2);
    }

    #[test]
    fn build_times_merge_into_sizes_and_sizes_into_build_times() {
        let (_dir, path) = history();
        // size-report first, bench-build second.
        record(&path, sizes("aaaaaaa", 60_000, 24_000)).unwrap();
        record(&path, bench("aaaaaaa", 12.5)).unwrap();
        // bench-build first, size-report second.
        record(&path, bench("bbbbbbb", 11.0)).unwrap();
        record(&path, sizes("bbbbbbb", 61_000, 24_500)).unwrap();
        let got = load(&path).unwrap();
        assert_eq!(got.len(), 2);
        for (entry, (s, b)) in got.iter().zip([
            (sizes("aaaaaaa", 60_000, 24_000), bench("aaaaaaa", 12.5)),
            (sizes("bbbbbbb", 61_000, 24_500), bench("bbbbbbb", 11.0)),
        ]) {
            assert_eq!(entry.artifacts, s.artifacts);
            assert_eq!((&entry.date, &entry.rustc), (&s.date, &s.rustc));
            assert_eq!(entry.build_seconds, b.build_seconds);
        }
        // A newer benchmark replaces the build times and keeps the sizes.
        record(&path, bench("aaaaaaa", 9.0)).unwrap();
        let a = &load(&path).unwrap()[0];
        assert_eq!(a.build_seconds["wasm-demo/release/incremental"], 9.0);
        assert_eq!(a.artifacts["wasm-demo/wasm/release/opt"].bytes, 60_000);
    }

    #[test]
    fn a_commit_listed_twice_is_folded_into_its_first_line() {
        let (_dir, path) = history();
        let line = |e: &Entry| serde_json::to_string(e).unwrap() + "\n";
        let text = line(&sizes("aaaaaaa", 1, 1))
            + &line(&sizes("bbbbbbb", 2, 2))
            + &line(&bench("aaaaaaa", 3.0));
        std::fs::write(&path, text).unwrap();
        record(&path, sizes("aaaaaaa", 4, 4)).unwrap();
        let commits: Vec<String> = load(&path).unwrap().into_iter().map(|e| e.commit).collect();
        assert_eq!(commits, ["aaaaaaa", "bbbbbbb"]);
    }

    #[test]
    fn corrupt_line_is_named_with_the_fix_and_left_alone() {
        let (_dir, path) = history();
        record(&path, sizes("aaaaaaa", 1, 1)).unwrap();
        let good = std::fs::read_to_string(&path).unwrap();
        let bad = format!("{good}\n{{\"commit\": \"bbbbbbb\", \"date\": \n");
        std::fs::write(&path, &bad).unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(
            err.contains(&format!("{}:3:", path.display())) && err.contains("fix or delete"),
            "{err}"
        );
        let err = format!("{:#}", record(&path, sizes("ccccccc", 1, 1)).unwrap_err());
        assert!(err.contains(":3:"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), bad);
        std::fs::write(
            &path,
            "{\"commit\": \"\", \"date\": \"d\", \"rustc\": \"r\"}\n",
        )
        .unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(
            err.contains(":1:") && err.contains("commit is empty"),
            "{err}"
        );
    }

    #[test]
    fn lines_omit_empty_maps_and_read_back() {
        let (_dir, path) = history();
        record(&path, bench("aaaaaaa", 1.5)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("artifacts"), "{text}");
        assert_eq!(load(&path).unwrap(), [bench("aaaaaaa", 1.5)]);
    }

    #[test]
    fn from_report_takes_every_artifact_and_needs_a_commit() {
        let text = r#"{"rustc": "rustc 1.95.0", "commit": "abc1234", "artifacts": [
            {"package": "wasm-demo", "kind": "wasm", "profile": "release", "stage": "opt",
             "path": "x.wasm", "bytes": 100, "gzip_bytes": 50, "brotli_bytes": 40},
            {"package": "cortex-core", "kind": "rlib", "profile": "debug", "stage": "raw",
             "path": "x.rlib", "bytes": 900, "gzip_bytes": 300, "brotli_bytes": 200}]}"#;
        let mut report: Report = serde_json::from_str(text).unwrap();
        let e = Entry::from_report(&report, "2025-01-01T00:00:00+00:00".into()).unwrap();
        assert_eq!(
            (e.commit.as_str(), e.rustc.as_str()),
            ("abc1234", "rustc 1.95.0")
        );
        assert_eq!(
            e.artifacts["wasm-demo/wasm/release/opt"],
            ArtifactPoint {
                bytes: 100,
                gzip_bytes: 50
            }
        );
        assert_eq!(e.artifacts["cortex-core/rlib/debug/raw"].bytes, 900);
        report.commit = None;
        let err = Entry::from_report(&report, String::new()).unwrap_err();
        assert!(err.to_string().contains("git checkout"), "{err}");
    }

    /// The points of every polyline stroked in `color`, as drawn.
    fn polylines(svg: &str, color: RGBColor) -> Vec<Vec<(i32, i32)>> {
        let stroke = format!("stroke=\"#{:02X}{:02X}{:02X}\"", color.0, color.1, color.2);
        svg.lines()
            .filter(|l| l.starts_with("<polyline") && l.contains(&stroke))
            .map(|l| {
                let points = l.split("points=\"").nth(1).unwrap().split('"').next();
                points
                    .unwrap()
                    .split_whitespace()
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect()
            })
            .collect()
    }

    /// Short flat segments in `color`, all at one height: a dashed budget line.
    fn dashes(svg: &str, color: RGBColor) -> Vec<i32> {
        polylines(svg, color)
            .into_iter()
            .filter(|p| p.len() == 2 && p[0].1 == p[1].1)
            .map(|p| p[0].1)
            .collect()
    }

    /// Whether `text` is a whole `<text>` element's content.
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>"))
    }

    /// The shared checks: an SVG document with the title, every commit, the
    /// legend names and human-sized ticks as text.
    fn assert_chart(svg: &str, commits: &[&str]) {
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        assert!(svg.contains("CortexOS size history"));
        for c in commits {
            assert!(has_text(svg, c), "no label {c}");
        }
        for label in [
            "wasm-demo size",
            "wasm-demo gzip",
            "wasm-demo budget 64.0 KiB",
            "wasm-demo gzip budget 24.0 KiB",
            "60.0 KiB",
        ] {
            assert!(has_text(svg, label), "no {label:?}");
        }
        assert!(
            !svg.contains("release/raw"),
            "an unshipped artifact is drawn"
        );
    }

    #[test]
    fn one_entry_chart_has_both_series_and_the_budget() {
        let entries = [sizes("abc1234", 60_000, 24_000)];
        let svg = render_svg(&entries, &budgets()).unwrap();
        assert_chart(&svg, &["abc1234"]);
        // One polyline per series (a single point), and a dot per point,
        // since one point makes no visible line.
        for color in [PALETTE[0], PALETTE[1]] {
            assert!(polylines(&svg, color).iter().any(|p| p.len() == 1), "{svg}");
        }
        assert_eq!(svg.matches("<circle").count(), 2 + 2, "points and legend");
        // Each budget is a row of dashes, the size budget above the gzip one
        // (the legend adds three flat segments: two dashes and a solid line).
        let (size, gzip) = (dashes(&svg, PALETTE[0]), dashes(&svg, PALETTE[1]));
        assert!(size.len() > 20 && gzip.len() > 20, "{size:?} {gzip:?}");
        let (size_y, gzip_y) = (size[0], gzip[0]);
        assert!(size_y < gzip_y, "y grows downwards: {size_y} {gzip_y}");
        assert_eq!(
            size.iter().filter(|&&y| y == size_y).count(),
            size.len() - 3
        );
        // Without a gzip budget there is no gzip dash row; the size budget
        // falls back to wasm-max-bytes.
        let fallback = Budgets {
            wasm_max_bytes: 70_000,
            max_bytes: BTreeMap::new(),
            max_gzip_bytes: BTreeMap::new(),
            ..budgets()
        };
        let svg = render_svg(&entries, &fallback).unwrap();
        assert!(dashes(&svg, PALETTE[1]).len() <= 1);
        assert!(dashes(&svg, PALETTE[0]).len() > 20);
        assert!(has_text(&svg, "wasm-demo budget 68.4 KiB") && !svg.contains("gzip budget"));
        assert!(!svg.contains("Build time"));
    }

    #[test]
    fn many_entry_chart_draws_a_line_per_series_and_a_build_panel() {
        let mut entries: Vec<Entry> = (0..30)
            .map(|i| sizes(&format!("c{i:06}"), 60_000 + i * 100, 24_000 + i * 30))
            .collect();
        entries[29].build_seconds = bench("", 12.0).build_seconds;
        entries[28].build_seconds = bench("", 14.0).build_seconds;
        let svg = render_svg(&entries, &budgets()).unwrap();
        // Every 4th commit counted back from the newest, which is always named.
        assert_chart(&svg, &["c000029", "c000025", "c000001"]);
        assert!(!has_text(&svg, "c000028"), "labels would overlap");
        // size and gzip: one polyline through all 30 points each; the build
        // time (first of the palette again, on its own panel) 2 points.
        for color in [PALETTE[0], PALETTE[1]] {
            let longest = polylines(&svg, color).iter().map(Vec::len).max();
            assert_eq!(longest, Some(30));
        }
        assert!(polylines(&svg, PALETTE[0])
            .iter()
            .any(|p| p.len() == 2 && p[0].1 != p[1].1));
        assert!(svg.contains("Build time") && svg.contains("wasm-demo/release/incremental"));
        assert!(has_text(&svg, "0 s"), "no seconds on the build axis");
    }

    #[test]
    fn build_times_alone_chart_without_a_size_panel() {
        let svg = render_svg(&[bench("aaaaaaa", 2.0)], &budgets()).unwrap();
        assert!(svg.contains("Build time") && !svg.contains("Shipped"));
        let err = render_svg(&[], &budgets()).unwrap_err();
        assert!(err.to_string().contains("nothing to chart"), "{err}");
    }

    #[test]
    fn rendering_is_deterministic() {
        let entries: Vec<Entry> = (0..5)
            .map(|i| sizes(&format!("d{i:06}"), 50_000 + i * 7, 20_000))
            .chain([bench("d000004", 3.25)])
            .collect();
        let a = render_svg(&entries, &budgets()).unwrap();
        let b = render_svg(&entries, &budgets()).unwrap();
        assert_eq!(a, b);
        let mut changed = entries.clone();
        changed[0]
            .artifacts
            .get_mut("wasm-demo/wasm/release/opt")
            .unwrap()
            .bytes += 5000;
        assert_ne!(a, render_svg(&changed, &budgets()).unwrap());
    }

    /// A repository with a source file, a tracked report and an ignored dir.
    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("reports")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
        std::fs::write(root.join("reports/size.md"), "# old\n").unwrap();
        std::fs::write(root.join(".gitignore"), "/target\n").unwrap();
        git(root, &["init", "-q"]);
        git(root, &["add", "."]);
        git(root, &["commit", "-qm", "first"]);
        dir
    }

    #[test]
    fn record_is_allowed_on_a_clean_tree_and_when_only_reports_changed() {
        let dir = repo();
        let (root, reports) = (dir.path(), dir.path().join("reports"));
        ensure_recordable(root, &reports).unwrap();
        std::fs::write(reports.join("size.md"), "# new\n").unwrap();
        std::fs::write(reports.join(HISTORY_FILE), "{}\n").unwrap();
        std::fs::create_dir_all(root.join("target")).unwrap();
        std::fs::write(root.join("target/junk"), "ignored").unwrap();
        ensure_recordable(root, &reports).unwrap();
        let head = git(root, &["rev-parse", "--short", "HEAD"]);
        assert_eq!(
            commit_date(root, &head).unwrap(),
            "2024-05-06T07:08:09+02:00"
        );
    }

    #[test]
    fn record_refuses_a_tree_that_differs_from_head() {
        let dir = repo();
        let (root, reports) = (dir.path(), dir.path().join("reports"));
        let head = git(root, &["rev-parse", "--short", "HEAD"]);
        std::fs::write(root.join("src/lib.rs"), "pub fn g() {}\n").unwrap();
        let err = ensure_recordable(root, &reports).unwrap_err().to_string();
        assert!(
            err.contains("src/lib.rs") && err.contains(&head) && err.contains("commit first"),
            "{err}"
        );
        git(root, &["checkout", "-q", "--", "src/lib.rs"]);
        // An untracked source file changes the build as much as an edit.
        std::fs::write(root.join("src/new.rs"), "pub fn h() {}\n").unwrap();
        let err = ensure_recordable(root, &reports).unwrap_err().to_string();
        assert!(err.contains("src/new.rs"), "{err}");
    }

    #[test]
    fn record_outside_a_git_checkout_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let err = ensure_recordable(dir.path(), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a git checkout"), "{err}");
        let err = commit_date(dir.path(), "abc1234").unwrap_err().to_string();
        assert!(
            err.contains("abc1234") && err.contains("git checkout"),
            "{err}"
        );
    }

    #[test]
    fn x_ticks_name_the_newest_and_stay_few() {
        assert_eq!(x_ticks(1), [0]);
        assert_eq!(x_ticks(3), [0, 1, 2]);
        let many = x_ticks(100);
        assert!(many.len() <= MAX_X_LABELS, "{many:?}");
        assert_eq!(*many.last().unwrap(), 99);
    }
}
