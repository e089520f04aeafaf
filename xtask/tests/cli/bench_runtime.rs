//! `cargo xtask bench-runtime`: the same workloads natively and under the
//! embedded runtime.

use serde_json::Value;

use crate::support::{assert_could_not_run, run, stderr, xtask};

#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn bench_runtime_writes_both_sides_of_every_workload() {
    let reports = tempfile::tempdir().unwrap();
    let out = run(xtask(&[
        "bench-runtime",
        "--runs",
        "1",
        "--samples",
        "2",
        "--json",
        "--reports-dir",
    ])
    .arg(reports.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is the JSON alone");
    let written: Value =
        serde_json::from_slice(&std::fs::read(reports.path().join("runtime.json")).unwrap())
            .unwrap();
    assert_eq!(report, written);
    let workloads = report["workloads"].as_array().unwrap();
    let names: Vec<&str> = workloads
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"demo") && names.contains(&"bfs"),
        "{names:?}"
    );
    for w in workloads {
        let (native, wasm) = (
            w["native_ns"].as_u64().unwrap(),
            w["wasm_ns"].as_u64().unwrap(),
        );
        assert!(native > 0 && wasm > 0, "{w}");
        let ratio = w["ratio"].as_f64().unwrap();
        assert!((ratio - wasm as f64 / native as f64).abs() < 0.01, "{w}");
        // The browser column: timed in real time, so never 0.
        let browser = w["browser_ns"].as_u64().unwrap();
        assert!(browser > 0, "{w}");
        let ratio = w["ratio_browser"].as_f64().unwrap();
        assert!((ratio - browser as f64 / native as f64).abs() < 0.01, "{w}");
    }
    assert!(report["browser_wasm_bytes"].as_u64().unwrap() > 0);
    assert!(report["compile_ms"]["median"].as_f64().unwrap() > 0.0);
    let md = std::fs::read_to_string(reports.path().join("runtime.md")).unwrap();
    assert!(
        md.contains("| demo ")
            && md.contains("browser (median)")
            && md.contains("cargo xtask bench-runtime"),
        "{md}"
    );
}

#[test]
fn bench_runtime_with_zero_runs_is_refused_and_writes_nothing() {
    let reports = tempfile::tempdir().unwrap();
    let out = run(xtask(&["bench-runtime", "--runs", "0", "--reports-dir"]).arg(reports.path()));
    assert_could_not_run(&out, &["--runs"]);
    assert_eq!(std::fs::read_dir(reports.path()).unwrap().count(), 0);
}
