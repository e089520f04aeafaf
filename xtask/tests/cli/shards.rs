//! `size-report --shard I/N` and `--merge`: the shards' reports, merged
//! and checked, give the whole measurement's verdict, and a bad shard or
//! a conflicting set of them is one line.

use std::process::Output;

use serde_json::Value;

use crate::support::{assert_could_not_run, run, stderr, workspace_root, xtask};

#[test]
fn bad_shard_is_one_line_naming_the_fix_and_exit_2() {
    for (bad, fix) in [
        ("0/2", "1 <= I <= N"),
        ("3/2", "1 <= I <= N"),
        ("1/0", "1 <= I <= N"),
        ("two", "expected I/N"),
        ("a/b", "expected I/N"),
    ] {
        let reports = tempfile::tempdir().unwrap();
        let out = run(xtask(&["size-report", "--shard", bad, "--reports-dir"]).arg(reports.path()));
        assert_could_not_run(&out, &[&format!("--shard {bad}"), fix]);
        assert_eq!(
            std::fs::read_dir(reports.path()).unwrap().count(),
            0,
            "{bad}: wrote something"
        );
    }
}

#[test]
fn a_shard_with_no_package_writes_an_empty_report_that_says_which_shard() {
    // Three packages measured today: with four shards, the fourth has none.
    let reports = tempfile::tempdir().unwrap();
    let out = run(xtask(&["size-report", "--shard", "4/4", "--reports-dir"]).arg(reports.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    let written: Value =
        serde_json::from_slice(&std::fs::read(reports.path().join("size.json")).unwrap()).unwrap();
    assert_eq!(written["shard"], "4/4");
    assert_eq!(written["artifacts"], serde_json::json!([]));
    assert!(
        !reports.path().join("size.md").exists(),
        "a shard is not a report to read: only its JSON is written"
    );
}

/// The committed baseline split as `--shard I/2` would measure it: packages
/// sorted by name, round-robin.
fn baseline_shards() -> [Value; 2] {
    let baseline: Value = serde_json::from_slice(
        &std::fs::read(workspace_root().join("reports/size-baseline.json")).unwrap(),
    )
    .unwrap();
    let mut packages: Vec<String> = baseline["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["package"].as_str().unwrap().to_owned())
        .collect();
    packages.sort();
    packages.dedup();
    [1, 2].map(|i| {
        let mine: Vec<&String> = packages.iter().skip(i - 1).step_by(2).collect();
        let mut shard = baseline.clone();
        shard["shard"] = format!("{i}/2").into();
        let ours = |package: &str| mine.iter().any(|p| *p == package);
        shard["artifacts"]
            .as_array_mut()
            .unwrap()
            .retain(|a| ours(a["package"].as_str().unwrap()));
        if let Some(attribution) = shard.get_mut("attribution") {
            attribution
                .as_array_mut()
                .unwrap()
                .retain(|a| ours(a["artifact"].as_str().unwrap().split('/').next().unwrap()));
        }
        shard
    })
}

/// `size-report --merge` of `shards` (written as files) `--check`, with the
/// committed baseline in a fresh reports dir.
fn merge_and_check(shards: &[Value]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    std::fs::copy(
        workspace_root().join("reports/size-baseline.json"),
        reports.join("size-baseline.json"),
    )
    .unwrap();
    let mut cmd = xtask(&["size-report", "--check", "--reports-dir"]);
    cmd.arg(&reports).arg("--merge");
    for (i, shard) in shards.iter().enumerate() {
        let file = dir.path().join(format!("shard-{}.json", i + 1));
        std::fs::write(&file, serde_json::to_vec_pretty(shard).unwrap()).unwrap();
        cmd.arg(file);
    }
    (run(&mut cmd), dir)
}

#[test]
fn merged_shards_pass_the_gate_as_the_whole_measurement_does() {
    let shards = baseline_shards();
    assert!(
        shards
            .iter()
            .all(|s| !s["artifacts"].as_array().unwrap().is_empty()),
        "each shard measures something"
    );
    let (out, dir) = merge_and_check(&shards);
    assert!(out.status.success(), "{}", stderr(&out));
    let reports = dir.path().join("reports");
    let merged: Value =
        serde_json::from_slice(&std::fs::read(reports.join("size.json")).unwrap()).unwrap();
    let baseline: Value =
        serde_json::from_slice(&std::fs::read(reports.join("size-baseline.json")).unwrap())
            .unwrap();
    assert_eq!(merged, baseline, "the merge is not the whole measurement");
    let md = std::fs::read_to_string(reports.join("size.md")).unwrap();
    assert!(md.contains("wasm-demo/wasm/release/opt"), "{md}");
    assert!(
        stderr(&out).contains("size check passed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_shard_over_budget_fails_the_merged_gate() {
    let mut shards = baseline_shards();
    let demo = shards
        .iter_mut()
        .flat_map(|s| s["artifacts"].as_array_mut().unwrap())
        .find(|a| a["package"] == "wasm-demo" && a["stage"] == "opt")
        .unwrap();
    demo["bytes"] = 400_000.into();
    let (out, _dir) = merge_and_check(&shards);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("size check FAILED"), "{err}");
    assert!(err.contains("wasm-demo/wasm/release/opt: size"), "{err}");
}

#[test]
fn conflicting_or_missing_shards_are_refused_in_one_line() {
    let [one, two] = baseline_shards();
    // Shard 2 also measured one of shard 1's artifacts, differently.
    let mut stolen = one["artifacts"][0].clone();
    stolen["bytes"] = (stolen["bytes"].as_u64().unwrap() + 1).into();
    let id = format!(
        "{}/{}/{}/{}",
        stolen["package"].as_str().unwrap(),
        stolen["kind"].as_str().unwrap(),
        stolen["profile"].as_str().unwrap(),
        stolen["stage"].as_str().unwrap()
    );
    let mut greedy = two.clone();
    greedy["artifacts"].as_array_mut().unwrap().push(stolen);
    let (out, dir) = merge_and_check(&[one.clone(), greedy]);
    assert_could_not_run(&out, &[&format!("measured {id} differently"), "one shard"]);
    assert!(!dir.path().join("reports/size.json").exists());

    let mut other_rustc = two.clone();
    other_rustc["rustc"] = "rustc 0.0.1".into();
    let (out, _dir) = merge_and_check(&[one.clone(), other_rustc]);
    assert_could_not_run(&out, &["rustc 0.0.1", "one toolchain"]);

    let mut other_commit = two.clone();
    other_commit["commit"] = "0000000".into();
    let (out, _dir) = merge_and_check(&[one.clone(), other_commit]);
    assert_could_not_run(&out, &["0000000", "of one commit"]);

    let (out, _dir) = merge_and_check(std::slice::from_ref(&one));
    assert_could_not_run(&out, &["no report of shard 2/2"]);

    let (out, _dir) = merge_and_check(&[one, serde_json::json!({"not": "a report"})]);
    assert_could_not_run(&out, &["shard-2.json", "not a size report"]);
}
