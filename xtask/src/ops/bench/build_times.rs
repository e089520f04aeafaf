//! bench-build's report: the guide's figures, one row per package,
//! profile and mode, `build-times.{md,json}` rendered from them, and the
//! medians filed in the history.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use xshell::Shell;

use crate::ops::bench::report::Conditions;
use crate::ops::build::artifacts::WASM_TARGET;
use crate::ops::env::workspace::Workspace;
use crate::ops::reports;
use crate::util::git;
use crate::util::stats::Summary;
use wasm_size::artifact::Profile;
use wasm_size::history::{Entry, HISTORY_FILE};
use wasm_size::table::Table;

/// The file stem of bench-build's report in the reports dir.
pub const REPORT: &str = "build-times";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Empty target dir: dependencies included, as a user's first build.
    Cold,
    /// Warm target dir, one source file of the package changed.
    Incremental,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Cold => "cold",
            Mode::Incremental => "incremental",
        })
    }
}

/// The WASM/WASI build guide's "Build Performance" section, word for word,
/// so the report can set our figures beside the guide's.
const GUIDE_BUILD_PERFORMANCE: &str = "\
- Debug build: ~16s (cold), ~2s (incremental)
- Release build: ~9s (cold), ~2s (incremental)";

/// The guide's figure for `profile` and `mode`, read from its words:
/// `~16s` for a cold debug build. `None` if the quote does not say.
pub fn guide_figure(profile: Profile, mode: Mode) -> Option<&'static str> {
    let line_start = match profile {
        Profile::Debug => "- Debug build: ",
        // The guide's release build links the prebuilt std, as
        // `release-stable-std` does; its size-first `release` is ours.
        Profile::Release | Profile::ReleaseStableStd => "- Release build: ",
    };
    let figures = GUIDE_BUILD_PERFORMANCE
        .lines()
        .find_map(|l| l.strip_prefix(line_start))?;
    figures.split(", ").find_map(|f| {
        let (figure, said_mode) = f.split_once(" (")?;
        (said_mode.strip_suffix(')')? == mode.to_string()).then_some(figure)
    })
}

/// One package, profile and mode: the timed builds and their summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub package: String,
    pub profile: Profile,
    pub mode: Mode,
    /// Wall-clock seconds of each timed `cargo build`, in the order run.
    pub runs: Vec<f64>,
    #[serde(flatten)]
    pub summary: Summary,
    /// The guide's figure for this profile and mode, as the guide states it.
    pub guide: String,
    /// Incremental rows: the file changed before each build, relative to the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<String>,
}

impl Row {
    pub fn new(package: &str, profile: Profile, mode: Mode, runs: Vec<f64>) -> Self {
        Self {
            package: package.to_owned(),
            profile,
            mode,
            summary: Summary::of(&runs),
            runs,
            guide: guide_figure(profile, mode).unwrap_or("-").to_owned(),
            edited: None,
        }
    }

    /// `package/profile/mode`, the history's key for this row's median.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.package, self.profile, self.mode)
    }
}

/// The whole of `build-times.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Where, when and how (rustc, commit, date, cores, load, the command).
    #[serde(flatten)]
    pub conditions: Conditions,
    /// `cargo -V`.
    pub cargo: String,
    /// Whether the working tree (outside the reports dir) had changes against
    /// `commit`: the copy, and so the figures, are of the working tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// `RUSTC_WRAPPER`, when set: a compiler cache makes cold builds meaningless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rustc_wrapper: Option<String>,
    pub rows: Vec<Row>,
}

pub fn table(report: &Report) -> Table {
    let mut t = Table::new([
        "package", "profile", "mode", "runs", "min", "median", "max", "guide",
    ]);
    let secs = |s: f64| format!("{s:.2} s");
    for r in &report.rows {
        t.row([
            r.package.clone(),
            r.profile.to_string(),
            r.mode.to_string(),
            r.runs.len().to_string(),
            secs(r.summary.min),
            secs(r.summary.median),
            secs(r.summary.max),
            r.guide.clone(),
        ]);
    }
    t
}

pub fn markdown(report: &Report, table: &Table) -> String {
    let p = &report.conditions.provenance;
    let mut md =
        String::from("# Build times\n\nWritten by `cargo xtask bench-build`; do not edit.\n\n");
    md.push_str(&format!(
        "- rustc: `{}`; cargo: `{}`\n",
        p.rustc, report.cargo
    ));
    md.push_str(&format!("- cores: {}", p.cores));
    if let Some([one, five, fifteen]) = report.conditions.load_average {
        md.push_str(&format!(
            "; load average at the start: {one:.2}, {five:.2}, {fifteen:.2}"
        ));
    }
    md.push_str(&format!("\n- date: {}\n- commit: `{}`", p.date, p.commit));
    if report.dirty == Some(true) {
        md.push_str(" plus uncommitted changes (the working tree was measured)");
    }
    md.push_str(&format!("\n- reproduce: `{}`\n", report.conditions.command));
    if let Some(wrapper) = &report.rustc_wrapper {
        md.push_str(&format!(
            "- RUSTC_WRAPPER was `{wrapper}`: cached compilations make cold builds look fast\n"
        ));
    }
    md.push('\n');
    md.push_str(&table.render_markdown());
    md.push_str(&format!(
        "\nEach figure is the wall-clock time of the guide's command, `cargo build --target \
         {WASM_TARGET} -p <package> [--release]` (with `--locked --offline`), run alone for that \
         package in a copy of the workspace, with its own target dir per package and profile. \
         Dependencies are downloaded beforehand (`cargo fetch`, untimed); wasm-opt is not \
         included.\n\n\
         - cold: an empty target dir, so every dependency is compiled too, as in a user's \
         first build.\n\
         - incremental: after a build, a new function is appended to the package's own source, \
         different in every run, and the same command runs again; cargo must report \
         `Compiling <package>`.\n"
    ));
    let mut edited: Vec<String> = report
        .rows
        .iter()
        .filter_map(|r| Some(format!("`{}` for {}", r.edited.as_ref()?, r.package)))
        .collect();
    edited.dedup();
    if !edited.is_empty() {
        md.push_str(&format!("  Edited: {}.\n", edited.join(", ")));
    }
    md.push_str(
        "- guide: the WASM/WASI build guide's \"Build Performance\" figures, as it states them.\n",
    );
    md
}

/// Files this report's medians under its commit in the history, beside the
/// sizes size-report recorded there, and redraws the chart from it.
pub fn record(sh: &Shell, ws: &Workspace, reports: &Path, report: &Report) -> Result<()> {
    let p = &report.conditions.provenance;
    let entry = Entry {
        commit: p.commit.clone(),
        date: git::commit_date(sh, &ws.root, &p.commit)?,
        rustc: p.rustc.clone(),
        artifacts: Default::default(),
        build_seconds: report
            .rows
            .iter()
            .map(|r| (r.id(), r.summary.median))
            .collect(),
        failed: None,
    };
    // size-report's lock: the history is read, changed and written whole.
    let _lock = reports::lock(reports)?;
    let path = reports.join(HISTORY_FILE);
    let budgets = ws.budgets()?;
    for written in reports::update(reports, Some(entry), &budgets)? {
        if written == path {
            eprintln!("recorded the medians in {}", path.display());
        } else {
            eprintln!("wrote {}", written.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::env::provenance::Provenance;
    use crate::testing::git;

    #[test]
    fn rows_summarise_odd_and_even_run_counts() {
        let odd = Row::new("p", Profile::Debug, Mode::Cold, vec![3.5, 1.25, 2.0]);
        assert_eq!(
            (odd.summary.min, odd.summary.median, odd.summary.max),
            (1.25, 2.0, 3.5)
        );
        assert_eq!(odd.runs, [3.5, 1.25, 2.0], "runs stay in the order run");
        let even = Row::new(
            "p",
            Profile::Release,
            Mode::Incremental,
            vec![4.0, 1.0, 3.0, 2.0],
        );
        assert_eq!(
            (even.summary.min, even.summary.median, even.summary.max),
            (1.0, 2.5, 4.0)
        );
        let one = Row::new("p", Profile::Debug, Mode::Incremental, vec![0.75]);
        assert_eq!(
            (one.summary.min, one.summary.median, one.summary.max),
            (0.75, 0.75, 0.75)
        );
        assert_eq!(even.id(), "p/release/incremental");
        assert_eq!(even.guide, "~2s");
    }

    #[test]
    fn row_json_has_the_issue_fields() {
        let row = Row::new("wasm-demo", Profile::Release, Mode::Cold, vec![2.0, 1.0]);
        let json = serde_json::to_value(&row).unwrap();
        for key in ["package", "profile", "mode", "runs", "min", "median", "max"] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert_eq!(json["mode"], "cold");
        assert_eq!(json["profile"], "release");
        assert_eq!(json["median"], 1.5);
    }

    #[test]
    fn guide_figures_are_read_from_the_guides_words() {
        let all: Vec<(Profile, Mode, &str)> = [Profile::Debug, Profile::Release]
            .into_iter()
            .flat_map(|p| [Mode::Cold, Mode::Incremental].map(|m| (p, m)))
            .map(|(p, m)| {
                (
                    p,
                    m,
                    guide_figure(p, m).unwrap_or_else(|| panic!("{p} {m}")),
                )
            })
            .collect();
        for (p, m, figure) in &all {
            let seconds = figure
                .strip_prefix('~')
                .and_then(|f| f.strip_suffix('s'))
                .and_then(|f| f.parse::<u32>().ok());
            assert!(seconds.is_some(), "{p} {m}: {figure}");
        }
        // A cold build compiles every dependency: the guide says more than
        // for an incremental one, in both profiles.
        let secs = |p, m| {
            guide_figure(p, m).unwrap()[1..]
                .trim_end_matches('s')
                .parse::<u32>()
                .unwrap()
        };
        for p in [Profile::Debug, Profile::Release] {
            assert!(secs(p, Mode::Cold) > secs(p, Mode::Incremental), "{p}");
        }
        assert_eq!(
            Row::new("p", Profile::Debug, Mode::Cold, vec![1.0]).guide,
            "~16s"
        );
    }

    #[test]
    fn record_adds_the_medians_to_the_commits_history_line_and_charts_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"t\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .unwrap();
        std::fs::create_dir(root.join("src")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        git(root, &["init", "-q"]);
        git(root, &["add", "."]);
        git(root, &["commit", "-q", "-m", "one"]);
        let commit = git(root, &["rev-parse", "--short", "HEAD"]);
        let ws = Workspace::load_at(root).unwrap();
        let reports = root.join("reports");
        std::fs::create_dir(&reports).unwrap();
        let history_file = reports.join(HISTORY_FILE);
        // What size-report --record wrote for this commit stays.
        let sizes = Entry {
            commit: commit.clone(),
            date: "2020-01-01T00:00:00Z".into(),
            rustc: "rustc old".into(),
            artifacts: [(
                wasm_size::artifact::ArtifactId::shipped("wasm-demo"),
                wasm_size::history::ArtifactPoint {
                    bytes: 100,
                    gzip_bytes: 50,
                },
            )]
            .into(),
            build_seconds: Default::default(),
            failed: None,
        };
        reports::record(&history_file, sizes).unwrap();
        let report = Report {
            conditions: Conditions {
                provenance: Provenance {
                    rustc: "rustc new".into(),
                    commit: commit.clone(),
                    date: "2030-01-01T00:00:00Z".into(),
                    cores: 2,
                },
                load_average: None,
                command: "cargo xtask bench-build".into(),
            },
            cargo: "cargo".into(),
            dirty: Some(false),
            rustc_wrapper: None,
            rows: vec![
                Row::new(
                    "wasm-demo",
                    Profile::Release,
                    Mode::Incremental,
                    vec![1.0, 3.0, 2.0],
                ),
                Row::new("wasm-demo", Profile::Debug, Mode::Cold, vec![9.0]),
            ],
        };
        record(&Shell::new().unwrap(), &ws, &reports, &report).unwrap();
        let entries = reports::load_history(&history_file).unwrap();
        assert_eq!(entries.len(), 1, "{entries:?}");
        let line = &entries[0];
        assert_eq!(line.commit, commit);
        assert_eq!(line.artifacts.len(), 1, "the sizes were lost");
        assert_eq!(line.build_seconds["wasm-demo/release/incremental"], 2.0);
        assert_eq!(line.build_seconds["wasm-demo/debug/cold"], 9.0);
        assert_eq!(line.rustc, "rustc new");
        // The commit's date, not the measurement's.
        assert_ne!(line.date, "2030-01-01T00:00:00Z");
        let chart = std::fs::read_to_string(reports.join(wasm_size::chart::CHART_FILE)).unwrap();
        assert!(
            chart.contains("wasm-demo/release/incremental"),
            "build times not charted"
        );
    }
}
