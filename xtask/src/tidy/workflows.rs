//! The workflows and the lock files, read: CI calls only commands and
//! flags that xtask's clap definition has, a token writes only where
//! nothing of a pull request runs, and wasmtime stays in the runtime's own
//! workspace. (What must run a program, actionlint and the comment step's
//! script, is tested in `xtask/tests/cli/workflows.rs`.)

use std::path::Path;

/// The workspace root: `.github/` and the lock files are there.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn workflow(file: &str) -> yaml_rust2::Yaml {
    let text = std::fs::read_to_string(root().join(".github/workflows").join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    yaml_rust2::YamlLoader::load_from_str(&text)
        .unwrap()
        .remove(0)
}

/// The `cargo xtask …` lines of a workflow's `run:` steps, split in words.
fn workflow_xtask_calls(file: &str) -> Vec<Vec<String>> {
    let mut calls = Vec::new();
    for (_, job) in workflow(file)["jobs"].as_hash().unwrap() {
        for step in job["steps"].as_vec().unwrap() {
            if let Some(script) = step["run"].as_str() {
                for line in script.lines() {
                    if let Some(rest) = line.trim().strip_prefix("cargo xtask ") {
                        calls.push(
                            rest.split_whitespace()
                                .map(str::to_owned)
                                .collect::<Vec<_>>(),
                        );
                    }
                }
            }
        }
    }
    calls
}

#[test]
fn ci_workflow_calls_only_xtask_commands_that_exist() {
    let ci = workflow_xtask_calls("ci.yml");
    let names: Vec<&str> = ci.iter().map(|c| c[0].as_str()).collect();
    assert!(
        names.contains(&"test") && names.contains(&"size-report"),
        "{names:?}"
    );
    let matrix = workflow_xtask_calls("size-matrix.yml");
    for flag in ["--shard", "--merge"] {
        assert!(
            matrix.iter().any(|c| c.iter().any(|w| w == flag)),
            "size-matrix.yml never calls size-report {flag}: {matrix:?}"
        );
    }
    // Parsed as `main` parses them: a command, flag or value clap would
    // refuse fails here. (A shell variable stays a word such as
    // `"$SHARD"`: every flag given one takes any text.)
    let cli = super::xtask_cli();
    for call in ci.iter().chain(&matrix) {
        let argv = std::iter::once("cargo xtask").chain(call.iter().map(String::as_str));
        if let Err(e) = cli.clone().try_get_matches_from(argv) {
            panic!("`cargo xtask {}` is not a valid call: {e}", call.join(" "));
        }
    }
}

/// Least privilege: ci.yml's token reads only, pull requests included; the
/// one job that writes (contents, for the history branch) runs on pushes
/// to main only; the comment is posted by a workflow_run that has
/// pull-requests: write and never checks out or runs the pull request's
/// code, only downloads its artifact.
#[test]
fn workflows_give_write_access_only_where_nothing_of_a_pull_request_runs() {
    let ci = workflow("ci.yml");
    assert_eq!(ci["permissions"]["contents"].as_str(), Some("read"));
    assert!(ci["permissions"]["pull-requests"].is_badvalue());
    let jobs = ci["jobs"].as_hash().unwrap();
    for (name, job) in jobs {
        let name = name.as_str().unwrap();
        let writes = job["permissions"]
            .as_hash()
            .is_some_and(|p| p.values().any(|v| v.as_str() == Some("write")));
        if writes {
            assert_eq!(name, "history", "job {name} gets a token that writes");
            assert_eq!(job["if"].as_str(), Some("github.event_name == 'push'"));
        }
    }
    // clippy and fmt run once, inside `cargo xtask test`.
    let runs: Vec<&str> = ci["jobs"]["test"]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(
        runs.iter()
            .all(|r| !r.contains("cargo clippy") && !r.contains("cargo fmt")),
        "{runs:?}"
    );

    let post = workflow("size-comment.yml");
    assert!(post["on"]["workflow_run"]["workflows"]
        .as_vec()
        .unwrap()
        .iter()
        .any(|w| w.as_str() == Some("ci")));
    assert_eq!(post["permissions"]["pull-requests"].as_str(), Some("write"));
    assert!(post["permissions"]["contents"].is_badvalue());
    for (_, job) in post["jobs"].as_hash().unwrap() {
        for step in job["steps"].as_vec().unwrap() {
            let uses = step["uses"].as_str().unwrap_or_default();
            assert!(
                !uses.starts_with("actions/checkout"),
                "size-comment.yml checks out code"
            );
        }
    }
}

/// The runtime is its own workspace: wasmtime is in its lock file and never
/// in the main one, which xtask's build resolves from.
#[test]
fn xtask_never_links_wasmtime() {
    let lock_names = |path: &str| -> Vec<String> {
        std::fs::read_to_string(root().join(path))
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("name = \""))
            .map(|n| n.trim_end_matches('"').to_owned())
            .collect()
    };
    let main = lock_names("Cargo.lock");
    assert!(main.iter().any(|n| n == "xtask"), "not the main lock file");
    assert!(
        !main.iter().any(|n| n.starts_with("wasmtime")),
        "wasmtime is in the main workspace's Cargo.lock; keep it in runtime/"
    );
    let runtime = lock_names("runtime/Cargo.lock");
    assert!(runtime.iter().any(|n| n == "wasmtime"), "{runtime:?}");
}
