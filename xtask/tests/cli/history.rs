//! The size history: `size-report --record` (reports/history.jsonl and
//! the chart), `--backfill N`, and `--record --publish` to the
//! `size-history` branch.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{
    assert_could_not_run, assert_old_files_intact, cargo_target_dir, history_git,
    reports_with_old_files, run, stderr, write_script, write_tiny_workspace, xtask,
};

/// A one-commit repository that xtask's git calls see instead of this
/// checkout (through `GIT_DIR` and `GIT_WORK_TREE`), so the test controls
/// whether the tree is clean and what HEAD is.
fn history_repo() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("lib.rs"), "pub fn f() {}\n").unwrap();
    history_git(repo.path(), &["init", "-q"]);
    history_git(repo.path(), &["add", "."]);
    history_git(repo.path(), &["commit", "-qm", "first"]);
    repo
}

/// `size-report --no-build` into `reports`, with git pointed at `repo`.
fn size_report_with_git(repo: &Path, reports: &Path, extra: &[&str]) -> Output {
    run(xtask(&["size-report", "--no-build", "--reports-dir"])
        .arg(reports)
        .args(extra)
        .env("GIT_DIR", repo.join(".git"))
        .env("GIT_WORK_TREE", repo))
}

fn history_lines(reports: &Path) -> Vec<Value> {
    std::fs::read_to_string(reports.join("history.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn size_report_record_keeps_one_line_per_commit_and_draws_the_chart() {
    let built = run(&mut xtask(&["build-wasm"]));
    assert!(built.status.success(), "{}", stderr(&built));
    let repo = history_repo();
    let reports = tempfile::tempdir().unwrap();
    let first = history_git(repo.path(), &["rev-parse", "--short", "HEAD"]);

    // No history yet: no chart, and no line without --record.
    let out = size_report_with_git(repo.path(), reports.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!reports.path().join("history.jsonl").exists());
    assert!(!reports.path().join("size-history.svg").exists());

    let out = size_report_with_git(repo.path(), reports.path(), &["--record"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("history.jsonl") && stdout.contains("size-history.svg"),
        "{stdout}"
    );
    let lines = history_lines(reports.path());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["commit"], first.as_str());
    assert_eq!(lines[0]["date"], "2024-05-06T07:08:09+02:00");
    let size: Value =
        serde_json::from_slice(&std::fs::read(reports.path().join("size.json")).unwrap()).unwrap();
    assert_eq!(lines[0]["rustc"], size["rustc"]);
    let shipped = size["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["stage"] == "opt")
        .unwrap();
    assert_eq!(
        lines[0]["artifacts"]["wasm-demo/wasm/release/opt"],
        serde_json::json!({"bytes": shipped["bytes"], "gzip_bytes": shipped["gzip_bytes"]})
    );
    let chart = std::fs::read_to_string(reports.path().join("size-history.svg")).unwrap();
    assert!(
        chart.starts_with("<svg") && chart.contains(&first),
        "{chart}"
    );

    // Again on the same commit: still one line, and the same chart, byte for byte.
    let out = size_report_with_git(repo.path(), reports.path(), &["--record"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(history_lines(reports.path()).len(), 1);
    assert_eq!(
        std::fs::read_to_string(reports.path().join("size-history.svg")).unwrap(),
        chart
    );

    // A new commit gets a new line, after the first.
    std::fs::write(repo.path().join("lib.rs"), "pub fn g() {}\n").unwrap();
    history_git(repo.path(), &["commit", "-qam", "second"]);
    let second = history_git(repo.path(), &["rev-parse", "--short", "HEAD"]);
    let out = size_report_with_git(repo.path(), reports.path(), &["--record"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let commits: Vec<Value> = history_lines(reports.path())
        .into_iter()
        .map(|l| l["commit"].clone())
        .collect();
    assert_eq!(commits, [first.as_str(), second.as_str()]);

    // Without --record the history stays, and the chart is redrawn from it.
    std::fs::remove_file(reports.path().join("size-history.svg")).unwrap();
    let out = size_report_with_git(repo.path(), reports.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(history_lines(reports.path()).len(), 2);
    let chart = std::fs::read_to_string(reports.path().join("size-history.svg")).unwrap();
    assert!(chart.contains(&first) && chart.contains(&second));
}

#[test]
fn size_report_record_refuses_uncommitted_changes_and_no_git() {
    let repo = history_repo();
    let reports = reports_with_old_files();
    std::fs::write(repo.path().join("lib.rs"), "pub fn changed() {}\n").unwrap();
    let out = size_report_with_git(repo.path(), reports.path(), &["--record"]);
    assert_could_not_run(&out, &["refusing to record", "lib.rs", "commit first"]);
    assert_old_files_intact(reports.path());
    assert!(!reports.path().join("history.jsonl").exists());

    let not_a_repo = tempfile::tempdir().unwrap();
    let out = run(
        xtask(&["size-report", "--no-build", "--record", "--reports-dir"])
            .arg(reports.path())
            .env("GIT_DIR", not_a_repo.path())
            .env("GIT_WORK_TREE", not_a_repo.path()),
    );
    assert_could_not_run(&out, &["not a git checkout", "--record"]);
    assert_old_files_intact(reports.path());
}

#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn corrupt_history_is_named_by_line_and_kept() {
    let reports = reports_with_old_files();
    let history = reports.path().join("history.jsonl");
    std::fs::write(
        &history,
        "{\"commit\": \"abc1234\", \"date\": \"d\", \"rustc\": \"r\"}\nnot json\n",
    )
    .unwrap();
    let built = run(&mut xtask(&["build-wasm"]));
    assert!(built.status.success(), "{}", stderr(&built));
    let out = run(xtask(&["size-report", "--no-build", "--reports-dir"]).arg(reports.path()));
    assert_could_not_run(&out, &["history.jsonl:2", "fix or delete"]);
    assert!(std::fs::read_to_string(&history)
        .unwrap()
        .ends_with("not json\n"));
    // Nothing else was rewritten either: the last good reports stay.
    assert_old_files_intact(reports.path());
}

// ---- size-report --backfill -----------------------------------------------

/// Three commits, the second of which does not build: backfill files one
/// line per commit, oldest first, the broken one recorded as such; run
/// again it skips them all; a bad N is one line and exit 2.
#[test]
fn backfill_files_one_line_per_commit_and_records_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let commit = |msg: &str| {
        history_git(&repo, &["add", "-A"]);
        history_git(&repo, &["commit", "-qm", msg]);
    };
    write_tiny_workspace(&repo, "tiny-backfill");
    history_git(&repo, &["init", "-q"]);
    commit("one");
    std::fs::write(repo.join("app/src/main.rs"), "fn main() { not rust }\n").unwrap();
    commit("broken");
    write_tiny_workspace(&repo, "tiny-backfill");
    std::fs::write(
        repo.join("app/src/main.rs"),
        "fn main() {\n    println!(\"three\");\n}\n",
    )
    .unwrap();
    commit("three");
    let shorts: Vec<String> = ["HEAD~2", "HEAD~1", "HEAD"]
        .iter()
        .map(|r| history_git(&repo, &["rev-parse", "--short", r]))
        .collect();
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    // Kept between runs: the commits are the same every run (fixed dates
    // and identity), so a second run of this test builds nothing new.
    let target = cargo_target_dir().join("backfill");
    let backfill = |n: &str| {
        run(xtask(&["size-report", "--backfill", n, "--reports-dir"])
            .arg(&reports)
            .current_dir(&repo)
            .env("CARGO_TARGET_DIR", &target))
    };

    let out = backfill("3");
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = history_lines(&reports);
    let commits: Vec<&str> = lines
        .iter()
        .map(|l| l["commit"].as_str().unwrap())
        .collect();
    assert_eq!(commits, shorts, "one line per commit, oldest first");
    assert!(lines[0]["artifacts"]["tiny-backfill/wasm/release/opt"]["bytes"].as_u64() > Some(0));
    assert!(lines[1]["artifacts"].is_null(), "{}", lines[1]);
    assert!(lines[1]["failed"].is_string(), "{}", lines[1]);
    assert!(lines[2]["artifacts"]["tiny-backfill/wasm/release/opt"]["bytes"].as_u64() > Some(0));
    assert!(reports.join("size-history.svg").is_file());

    let again = backfill("3");
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stderr(&again).matches("already in the history").count(), 3);
    assert_eq!(history_lines(&reports), lines);

    let before = std::fs::read(reports.join("history.jsonl")).unwrap();
    assert_could_not_run(&backfill("0"), &["--backfill 0", "1 or more"]);
    assert_could_not_run(&backfill("4"), &["--backfill 4", "only 3", "at most 3"]);
    assert_eq!(
        std::fs::read(reports.join("history.jsonl")).unwrap(),
        before
    );
}

// ---- size-report --record --publish: the history on a branch of its own ----

/// The lines of the history on `size-history` in the bare repository `bare`.
fn published_lines(bare: &Path) -> Vec<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(bare)
        .args(["show", "size-history:history.jsonl"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["commit"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// A local bare repository stands in for the remote: the line goes to
/// `size-history` (never main), another run's line is kept, a push that
/// loses a race is retried once, and one refused twice is one line, exit 2.
#[test]
fn record_publishes_to_the_history_branch_and_retries_once_on_a_race() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, bare) = (dir.path().join("repo"), dir.path().join("remote.git"));
    history_git(
        dir.path(),
        &["init", "-q", "--bare", bare.to_str().unwrap()],
    );
    write_tiny_workspace(&repo, "tiny-publish");
    history_git(&repo, &["init", "-q"]);
    history_git(&repo, &["add", "-A"]);
    history_git(&repo, &["commit", "-qm", "one"]);
    history_git(&repo, &["remote", "add", "origin", bare.to_str().unwrap()]);
    let target = cargo_target_dir().join("publish");
    let publish = |msg: &str| {
        std::fs::write(repo.join("app/notes.txt"), msg).unwrap();
        history_git(&repo, &["add", "-A"]);
        history_git(&repo, &["commit", "-qm", msg]);
        run(xtask(&["size-report", "--record", "--publish", "origin"])
            .current_dir(&repo)
            .env("CARGO_TARGET_DIR", &target))
    };
    let short = || history_git(&repo, &["rev-parse", "--short", "HEAD"]);

    let out = publish("first");
    assert!(out.status.success(), "{}", stderr(&out));
    let first = short();
    assert_eq!(published_lines(&bare), std::slice::from_ref(&first));
    let heads = history_git(&bare, &["for-each-ref", "--format=%(refname)"]);
    assert_eq!(heads, "refs/heads/size-history", "only the history branch");

    // Another run's line, pushed in between, is kept.
    let other = dir.path().join("other");
    history_git(
        dir.path(),
        &[
            "clone",
            "-q",
            "-b",
            "size-history",
            bare.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    let mut text = std::fs::read_to_string(other.join("history.jsonl")).unwrap();
    text.push_str("{\"commit\":\"fffffff\",\"date\":\"2024-01-01T00:00:00Z\",\"rustc\":\"r\"}\n");
    std::fs::write(other.join("history.jsonl"), text).unwrap();
    history_git(&other, &["commit", "-qam", "another run"]);
    history_git(&other, &["push", "-q", "origin", "size-history"]);
    let out = publish("second");
    assert!(out.status.success(), "{}", stderr(&out));
    let second = short();
    assert_eq!(
        published_lines(&bare),
        [first.clone(), "fffffff".into(), second.clone()]
    );

    // A push that loses a race: the remote refuses the first one.
    let hook = bare.join("hooks/pre-receive");
    write_script(
        &hook,
        "#!/bin/sh\nif [ ! -e \"$GIT_DIR/lost-once\" ]; then touch \"$GIT_DIR/lost-once\"; \
         echo 'another push won the race' >&2; exit 1; fi\n",
    );
    let out = publish("third");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("retrying once"), "{}", stderr(&out));
    let third = short();
    assert_eq!(published_lines(&bare).last(), Some(&third));
    assert_eq!(published_lines(&bare).len(), 4);

    // Refused twice: one line, exit 2, the remote unchanged.
    std::fs::write(&hook, "#!/bin/sh\necho 'no' >&2\nexit 1\n").unwrap();
    let out = publish("fourth");
    assert_could_not_run(&out, &["size-history", "twice"]);
    assert_eq!(published_lines(&bare).len(), 4);
}
