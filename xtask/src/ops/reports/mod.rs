//! The reports dir: its lock, the baseline, the history file and its
//! chart, and GitHub's step summary. Every file is written atomically.

pub mod backfill;
pub mod conclude;
pub mod publish;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::ops::env::workspace::Workspace;
use crate::util::files::write_atomic;
use crate::util::git;
use crate::util::lock::{self, Lock, WhenBusy};
use wasm_size::budgets::Budgets;
use wasm_size::chart::{chartable, render_svg, CHART_FILE};
use wasm_size::history::{self, Entry, HISTORY_FILE};
use wasm_size::report::Report;

/// Holds `<dir>/.size-report.lock` while reports are written: size-report
/// for its whole run, bench-build while it records history.
pub fn lock(dir: &Path) -> Result<Lock> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let busy = format!(
        "another `cargo xtask size-report` is writing {}; wait for it to finish",
        dir.display()
    );
    lock::acquire(&dir.join(".size-report.lock"), WhenBusy::Fail(&busy)).with_context(|| {
        format!(
            "cannot write in {}: make it writable, or pass --reports-dir",
            dir.display()
        )
    })
}

/// Files an output flag must never name, since xtask reads or writes them
/// itself: everything in the reports dir `dir`, the workspace's manifests
/// and its `Cargo.lock`.
pub fn own_files(ws: &Workspace, dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.push(ws.root_manifest());
    files.push(ws.root.join("Cargo.lock"));
    files.extend(ws.members().map(|p| p.manifest_path.clone().into()));
    files
}

/// The size baseline at `path`; `None` if there is none.
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

/// A `size.json` written by size-report, given by the user: a shard's for
/// `--merge`.
pub fn load_report(path: &Path) -> Result<Report> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read {}; give the size.json that `cargo xtask size-report --shard I/N` wrote",
            path.display()
        )
    })?;
    serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a size report; give the size.json that `cargo xtask size-report --shard              I/N` wrote",
            path.display()
        )
    })
}

/// Every line of the history file at `path`, oldest first; a missing file
/// is an empty history.
pub fn load_history(path: &Path) -> Result<Vec<Entry>> {
    match std::fs::read_to_string(path) {
        Ok(text) => history::parse(&text, &path.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Files `entry` in the history at `path` ([`history::insert`]) and
/// rewrites it atomically. Read, change, write: the caller holds the
/// reports lock so two recorders cannot lose each other's line.
pub fn record(path: &Path, entry: Entry) -> Result<()> {
    let mut entries = load_history(path)?;
    history::insert(&mut entries, entry)?;
    write_atomic(path, history::to_jsonl(&entries)?.as_bytes())
}

/// Refuses `--record` where its line would be wrong: outside a git checkout,
/// or with changes git does not have in HEAD, since the line would file the
/// sizes of uncommitted code under HEAD's hash. Untracked files count too
/// (unless ignored): a new `.rs` file a crate picks up changes the build as
/// much as an edit does. The reports dir does not count: size-report itself
/// rewrites it, and CI records on a tree where the history just changed.
/// Called before measuring, so a refused run fails fast.
pub fn ensure_recordable(sh: &Shell, root: &Path, reports_dir: &Path) -> Result<()> {
    let head = git::head_short(sh, root).with_context(|| {
        format!(
            "cannot record: {} is not a git checkout with a commit (`git rev-parse HEAD` \
                 failed); run `--record` in a clone",
            root.display()
        )
    })?;
    let changed = git::uncommitted_changes(sh, root, reports_dir).context("cannot record")?;
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

/// The history line of `report`: its sizes under its commit, dated by the
/// commit (not the measurement), so recording it again leaves it stable.
pub fn history_entry(sh: &Shell, root: &Path, report: &Report) -> Result<Entry> {
    let Some(commit) = &report.commit else {
        bail!(
            "cannot record: the commit is unknown (`git rev-parse HEAD` failed in {}); \
             run `--record` in a git checkout",
            root.display()
        );
    };
    Entry::from_report(report, git::commit_date(sh, root, commit)?)
}

/// What every history writer does: files `entry`, if any, in the history
/// of `reports_dir`, then, if the history has a line, redraws the chart
/// beside it. Returns the files written. The caller holds the lock of that
/// directory (or owns it alone).
pub fn update(reports_dir: &Path, entry: Option<Entry>, budgets: &Budgets) -> Result<Vec<PathBuf>> {
    write_all(prepare_update(reports_dir, entry, budgets)?)
}

/// What [`update`] would write, and where, written nowhere yet: a caller
/// that writes several reports first prepares them all, so that a failure
/// leaves every old one as it was.
pub fn prepare_update(
    reports_dir: &Path,
    entry: Option<Entry>,
    budgets: &Budgets,
) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let path = reports_dir.join(HISTORY_FILE);
    let mut files = Vec::new();
    let mut entries = load_history(&path)?;
    if let Some(entry) = entry {
        history::insert(&mut entries, entry)?;
        files.push((path.clone(), history::to_jsonl(&entries)?.into_bytes()));
    }
    if chartable(&entries) {
        let chart = reports_dir.join(CHART_FILE);
        files.push((chart, render_svg(&entries, budgets)?.into_bytes()));
    }
    Ok(files)
}

/// Writes each file (atomically) and returns their paths.
pub fn write_all(files: Vec<(PathBuf, Vec<u8>)>) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (path, bytes) in files {
        write_atomic(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// The files size-report writes into the reports dir `dir` (the pages of
/// the treemap are named by `treemap::report_file_names`): checked before
/// measuring, so that one that is a directory fails the run before it
/// writes anything; and the history is read, so a damaged one does too.
pub fn check_report_paths(dir: &Path, pages: &[String]) -> Result<()> {
    let names = [
        "size.json",
        "size.md",
        HISTORY_FILE,
        CHART_FILE,
        "size-baseline.json",
    ];
    let paths = names
        .iter()
        .map(|n| dir.join(n))
        .chain(pages.iter().map(|p| dir.join(p)));
    for path in paths {
        if path.is_dir() {
            bail!(
                "{} is a directory, where size-report writes a file; move it away, or pass \
                 --reports-dir",
                path.display()
            );
        }
    }
    load_history(&dir.join(HISTORY_FILE))?;
    Ok(())
}

/// Appends `markdown` to GitHub's step summary when running under Actions.
pub fn append_step_summary(markdown: &str) -> Result<()> {
    let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&summary)
        .context("cannot append to GITHUB_STEP_SUMMARY")?;
    writeln!(f, "{markdown}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::git;
    use wasm_size::fixtures::{bench, sizes};

    fn history() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(HISTORY_FILE);
        (dir, path)
    }

    #[test]
    fn missing_history_is_empty() {
        let (_dir, path) = history();
        assert_eq!(load_history(&path).unwrap(), []);
    }

    #[test]
    fn recording_a_commit_twice_keeps_one_line_with_the_newer_values() {
        let (_dir, path) = history();
        record(&path, sizes("aaaaaaa", 60_000, 24_000)).unwrap();
        record(&path, sizes("aaaaaaa", 59_000, 23_000)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert_eq!(
            load_history(&path).unwrap(),
            [sizes("aaaaaaa", 59_000, 23_000)]
        );
    }

    #[test]
    fn lines_stay_in_first_recorded_order() {
        let (_dir, path) = history();
        for c in ["ccccccc", "aaaaaaa", "bbbbbbb"] {
            record(&path, sizes(c, 1000, 500)).unwrap();
        }
        record(&path, sizes("aaaaaaa", 2000, 900)).unwrap();
        let commits: Vec<String> = load_history(&path)
            .unwrap()
            .into_iter()
            .map(|e| e.commit)
            .collect();
        assert_eq!(commits, ["ccccccc", "aaaaaaa", "bbbbbbb"]);
        assert_eq!(load_history(&path).unwrap()[1].artifacts.len(), 2);
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
        let got = load_history(&path).unwrap();
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
        let a = &load_history(&path).unwrap()[0];
        assert_eq!(a.build_seconds["wasm-demo/release/incremental"], 9.0);
        let shipped = wasm_size::artifact::ArtifactId::shipped("wasm-demo");
        assert_eq!(a.artifacts[&shipped].bytes, 60_000);
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
        let commits: Vec<String> = load_history(&path)
            .unwrap()
            .into_iter()
            .map(|e| e.commit)
            .collect();
        assert_eq!(commits, ["aaaaaaa", "bbbbbbb"]);
    }

    #[test]
    fn corrupt_line_is_named_with_the_fix_and_left_alone() {
        let (_dir, path) = history();
        record(&path, sizes("aaaaaaa", 1, 1)).unwrap();
        let good = std::fs::read_to_string(&path).unwrap();
        let bad = format!("{good}\n{{\"commit\": \"bbbbbbb\", \"date\": \n");
        std::fs::write(&path, &bad).unwrap();
        let err = format!("{:#}", load_history(&path).unwrap_err());
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
        let err = format!("{:#}", load_history(&path).unwrap_err());
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
        assert_eq!(load_history(&path).unwrap(), [bench("aaaaaaa", 1.5)]);
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
        ensure_recordable(&Shell::new().unwrap(), root, &reports).unwrap();
        std::fs::write(reports.join("size.md"), "# new\n").unwrap();
        std::fs::write(reports.join(HISTORY_FILE), "{}\n").unwrap();
        std::fs::create_dir_all(root.join("target")).unwrap();
        std::fs::write(root.join("target/junk"), "ignored").unwrap();
        ensure_recordable(&Shell::new().unwrap(), root, &reports).unwrap();
        let head = git(root, &["rev-parse", "--short", "HEAD"]);
        assert_eq!(
            crate::util::git::commit_date(&Shell::new().unwrap(), root, &head).unwrap(),
            "2024-05-06T07:08:09+02:00"
        );
    }

    #[test]
    fn record_refuses_a_tree_that_differs_from_head() {
        let dir = repo();
        let (root, reports) = (dir.path(), dir.path().join("reports"));
        let head = git(root, &["rev-parse", "--short", "HEAD"]);
        std::fs::write(root.join("src/lib.rs"), "pub fn g() {}\n").unwrap();
        let err = ensure_recordable(&Shell::new().unwrap(), root, &reports)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("src/lib.rs") && err.contains(&head) && err.contains("commit first"),
            "{err}"
        );
        git(root, &["checkout", "-q", "--", "src/lib.rs"]);
        // An untracked source file changes the build as much as an edit.
        std::fs::write(root.join("src/new.rs"), "pub fn h() {}\n").unwrap();
        let err = ensure_recordable(&Shell::new().unwrap(), root, &reports)
            .unwrap_err()
            .to_string();
        assert!(err.contains("src/new.rs"), "{err}");
    }

    #[test]
    fn record_outside_a_git_checkout_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let err = ensure_recordable(&Shell::new().unwrap(), dir.path(), dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a git checkout"), "{err}");
        let err = crate::util::git::commit_date(&Shell::new().unwrap(), dir.path(), "abc1234")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("abc1234") && err.contains("git checkout"),
            "{err}"
        );
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
        let good = r#"{"rustc": "rustc 1.95.0", "commit": "abc1234", "artifacts": [
            {"package": "wasm-demo", "kind": "wasm", "profile": "release", "stage": "opt",
             "path": "x.wasm", "bytes": 5, "gzip_bytes": 5, "brotli_bytes": 5}]}"#;
        std::fs::write(&path, good).unwrap();
        let report = load_baseline(&path).unwrap().unwrap();
        assert_eq!(
            report.artifacts[0].id().to_string(),
            "wasm-demo/wasm/release/opt"
        );
        assert_eq!(report.artifacts[0].sizes.bytes, 5);
    }
}
