//! `reports/size-history.svg`, drawn from the history with plotters' SVG
//! backend: shipped sizes over commits, their budgets, and build times.

use anyhow::{bail, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::artifact::ArtifactId;
use crate::budgets::Budgets;
use crate::history::{ArtifactPoint, Entry};
use crate::table::human_bytes;

/// The chart, in the reports dir, beside the history it is drawn from.
pub const CHART_FILE: &str = "size-history.svg";

/// Whether [`render_svg`] has anything to draw.
pub fn chartable(entries: &[Entry]) -> bool {
    !shipped_ids(entries).is_empty() || entries.iter().any(|e| !e.build_seconds.is_empty())
}

fn shipped_ids(entries: &[Entry]) -> Vec<&ArtifactId> {
    let mut ids: Vec<&ArtifactId> = entries
        .iter()
        .flat_map(|e| e.artifacts.keys())
        .filter(|id| id.is_shipped())
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
            "nothing to chart: the history has no shipped artifact (`…/wasm/release/opt`) and \
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
        let name = &id.package;
        let (size_color, gzip_color) = (PALETTE[(2 * i) % 10], PALETTE[(2 * i + 1) % 10]);
        let points = |f: fn(&ArtifactPoint) -> u64| -> Vec<(usize, f64)> {
            entries
                .iter()
                .enumerate()
                .filter_map(|(x, e)| e.artifacts.get(id).map(|p| (x, kib(f(p)))))
                .collect()
        };
        type Line = (fn(&ArtifactPoint) -> u64, &'static str, RGBColor);
        let lines: [Line; 2] = [
            (|p| p.bytes, "size", size_color),
            (|p| p.gzip_bytes, "gzip", gzip_color),
        ];
        for (value, what, color) in lines {
            series.push(Series {
                points: points(value),
                item: LegendItem {
                    label: format!("{name} {what}"),
                    color,
                    dashed: false,
                },
            });
        }
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

impl Panel<'_> {
    /// The top of the y axis: the highest point or line, with headroom so
    /// it is not drawn on the frame.
    fn top(&self) -> f64 {
        let top = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(self.flat.iter().map(|f| f.0))
            .fold(0.0, f64::max);
        if top > 0.0 {
            top * 1.12
        } else {
            1.0
        }
    }

    /// The legend: each series, then each flat line.
    fn legend_items(&self) -> impl Iterator<Item = &LegendItem> {
        self.series
            .iter()
            .map(|s| &s.item)
            .chain(self.flat.iter().map(|f| &f.1))
    }
}

/// Where the compiler changes along the history: the index of the first
/// entry built with each rustc, and its version (`1.95.0` of `rustc 1.95.0
/// (59807616e 2026-04-14)`). Entries without a rustc are passed over.
fn rustc_changes(entries: &[Entry]) -> Vec<(usize, &str)> {
    let mut out: Vec<(usize, &str)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let version = e
            .rustc
            .split_whitespace()
            .nth(1)
            .unwrap_or(e.rustc.as_str());
        if version.is_empty() || out.last().is_some_and(|(_, v)| *v == version) {
            continue;
        }
        out.push((i, version));
    }
    out
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    entries: &[Entry],
    panel: &Panel<'_>,
) -> Result<()> {
    let (plot_area, legend_area) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let n = entries.len();
    let top = panel.top();
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
    // Each stretch of points is marked with the rustc it was built with: a
    // label where it starts, and a dotted line where the compiler changed,
    // since compiler upgrades move sizes.
    for (i, version) in rustc_changes(entries) {
        let x = if i == 0 { left } else { at(i) - 1 };
        if i > 0 {
            chart.draw_series(DashedLineSeries::new(
                [(x, 0.0), (x, top)],
                3,
                4,
                BLACK.mix(0.45).stroke_width(1),
            ))?;
        }
        chart.draw_series(std::iter::once(Text::new(
            format!("rustc {version}"),
            (x, top),
            (FONT, 13).into_font().color(&BLACK.mix(0.7)),
        )))?;
    }
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
    draw_legend(&legend_area, panel.legend_items())?;
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
    use std::collections::BTreeMap;

    use super::*;
    use crate::fixtures::{bench, sizes};

    fn budgets() -> Budgets {
        serde_json::from_value(serde_json::json!({
            "max-bytes": {"wasm-demo/wasm/release/opt": 65536},
            "max-gzip-bytes": {"wasm-demo/wasm/release/opt": 24576},
        }))
        .unwrap()
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
            .get_mut(&ArtifactId::shipped("wasm-demo"))
            .unwrap()
            .bytes += 5000;
        assert_ne!(a, render_svg(&changed, &budgets()).unwrap());
    }

    #[test]
    fn x_ticks_name_the_newest_and_stay_few() {
        assert_eq!(x_ticks(1), [0]);
        assert_eq!(x_ticks(3), [0, 1, 2]);
        let many = x_ticks(100);
        assert!(many.len() <= MAX_X_LABELS, "{many:?}");
        assert_eq!(*many.last().unwrap(), 99);
    }

    #[test]
    fn a_change_of_rustc_is_marked_where_it_happens() {
        let with_rustc = |commit: &str, rustc: &str| {
            let mut e = sizes(commit, 60_000, 24_000);
            e.rustc = rustc.into();
            e
        };
        let entries = vec![
            with_rustc("a000001", "rustc 1.95.0 (59807616e 2026-04-14)"),
            with_rustc("a000002", "rustc 1.95.0 (59807616e 2026-04-14)"),
            with_rustc("a000003", ""),
            with_rustc("a000004", "rustc 1.96.0 (0123abcde 2026-05-28)"),
        ];
        assert_eq!(rustc_changes(&entries), [(0, "1.95.0"), (3, "1.96.0")]);
        let svg = render_svg(&entries, &budgets()).unwrap();
        assert!(has_text(&svg, "rustc 1.95.0") && has_text(&svg, "rustc 1.96.0"));
        // A history without a change carries only its one label.
        let one = render_svg(&entries[..2], &budgets()).unwrap();
        assert!(has_text(&one, "rustc 1.95.0") && !has_text(&one, "rustc 1.96.0"));
    }
}
