//! The demo's summary is its contract: the same on every backend and run.
//! `expected-summary.txt` is what the wasm32-wasip1 build prints (memory
//! backend); the native build (RocksDB) must print exactly the same.

use std::process::Command;

#[test]
fn native_summary_matches_the_expected_summary() {
    let out = Command::new(env!("CARGO_BIN_EXE_wasm-demo"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = include_str!("../expected-summary.txt");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
fn native_run_removes_its_rocksdb_directory() {
    let child = Command::new(env!("CARGO_BIN_EXE_wasm-demo"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let prefix = format!("cortex-scratch-{}-", child.id());
    let status = child.wait_with_output().unwrap().status;
    assert!(status.success());
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "the demo left {left:?} behind");
}
