//! `size-report --against REV`: a revision built in a temporary worktree,
//! removed afterwards, after Ctrl-C too.

use std::process::Command;

use crate::support::{assert_could_not_run, cargo_target_dir, run, stderr, workspace_root, xtask};

fn worktrees() -> String {
    let out = Command::new("git")
        .args(["worktree", "list", "--porcelain"])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn size_report_against_a_revision_builds_it_aside_and_removes_the_worktree() {
    let reports = tempfile::tempdir().unwrap();
    let out =
        run(xtask(&["size-report", "--against", "HEAD", "--reports-dir"]).arg(reports.path()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("compared with `HEAD`"), "{text}");
    let tree = cargo_target_dir().join("revisions").join("worktree");
    assert!(!tree.exists(), "{} left behind", tree.display());
    assert!(
        !worktrees().contains("revisions/worktree"),
        "{}",
        worktrees()
    );
}

#[test]
fn size_report_against_a_bad_revision_is_named() {
    let reports = tempfile::tempdir().unwrap();
    let out = run(xtask(&[
        "size-report",
        "--check",
        "--against",
        "no-such-rev-xyz",
        "--reports-dir",
    ])
    .arg(reports.path()));
    assert_could_not_run(&out, &["no-such-rev-xyz", "not a commit"]);
}

#[cfg(unix)]
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn ctrl_c_while_building_a_revision_removes_its_worktree() {
    use std::os::unix::process::CommandExt;
    let reports = tempfile::tempdir().unwrap();
    // A target dir of its own: with the shared one, the worktree that
    // appears could be another test's `--against` run (this one then waits
    // for its lock), and the interrupt would stop the wrong process. The
    // run is interrupted before it builds, so nothing is built in it.
    let target = tempfile::tempdir().unwrap();
    let tree = target.path().join("revisions").join("worktree");
    // Its own process group, as a terminal's Ctrl-C signals the whole group.
    let mut child = xtask(&["size-report", "--against", "HEAD", "--reports-dir"])
        .arg(reports.path())
        .env("CARGO_TARGET_DIR", target.path())
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !tree.join("Cargo.toml").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the worktree never appeared"
        );
        if child.try_wait().unwrap().is_some() {
            panic!("size-report ended before it could be interrupted");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let group = format!("-{}", child.id());
    let killed = Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "an interrupted run must not succeed");
    assert!(
        !tree.exists(),
        "{} left behind: {}",
        tree.display(),
        stderr(&out)
    );
    assert!(
        !worktrees().contains(tree.to_str().unwrap()),
        "{}",
        worktrees()
    );
}
