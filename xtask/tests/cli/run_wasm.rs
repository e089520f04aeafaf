//! `cargo xtask run-wasm`: the embedded runtime end to end, and the
//! shipped demo under another WASI host. The first of these builds the
//! runtime (a one-time build of minutes, into `<target>/runtime`); the
//! rest reuse it.

use std::process::{Command, Output};

use crate::support::{
    assert_could_not_run, cargo_target_dir, proc_exit_module, run, stderr, workspace_root, xtask,
};

fn run_wasm(args: &[&str]) -> Output {
    let mut cmd = xtask(&["run-wasm"]);
    cmd.args(args);
    run(&mut cmd)
}

/// The shipped demo (size-first std, -Oz) under another WASI host than
/// ours: node's `node:wasi`, preview 1. Same summary, exit 0.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn shipped_demo_prints_the_same_summary_under_node_wasi() {
    let built = run(&mut xtask(&["build-wasm", "--release", "-p", "wasm-demo"]));
    assert!(built.status.success(), "{}", stderr(&built));
    let shipped =
        cargo_target_dir().join("wasm/wasm-demo/wasm32-wasip1/release/wasm-demo.opt.wasm");
    let script = "import { readFile } from 'node:fs/promises';\n\
        import { WASI } from 'node:wasi';\n\
        const wasi = new WASI({ version: 'preview1', args: ['wasm-demo'], env: {} });\n\
        const module = await WebAssembly.compile(await readFile(process.argv[1]));\n\
        const instance = await WebAssembly.instantiate(module, wasi.getImportObject());\n\
        process.exitCode = wasi.start(instance);\n";
    let out = Command::new("node")
        .args(["--no-warnings", "--input-type=module", "-e", script])
        .arg(&shipped)
        .output()
        .expect("node is needed for this test (Debian: apt-get install nodejs)");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected =
        std::fs::read_to_string(workspace_root().join("examples/wasm-demo/expected-summary.txt"))
            .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}

#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn run_wasm_runs_the_demo_and_prints_its_summary() {
    let expected =
        std::fs::read_to_string(workspace_root().join("examples/wasm-demo/expected-summary.txt"))
            .unwrap();
    let out = run_wasm(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}

#[test]
fn run_wasm_missing_file_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_wasm(&["--file"]).status.code();
    assert_eq!(out, Some(2), "--file without a value is a usage error");
    let absent = dir.path().join("absent.wasm");
    let out = run(xtask(&["run-wasm", "--file"]).arg(&absent));
    assert_could_not_run(&out, &["absent.wasm", "no such file", "build-wasm"]);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn run_wasm_passes_the_guest_exit_code_through() {
    let dir = tempfile::tempdir().unwrap();
    for code in [0u8, 3, 42] {
        let wasm = proc_exit_module(code);
        wasmparser::validate(&wasm).expect("the hand-built module is valid");
        let file = dir.path().join(format!("exit-{code}.wasm"));
        std::fs::write(&file, wasm).unwrap();
        let out = run(xtask(&["run-wasm", "--file"]).arg(&file));
        assert_eq!(out.status.code(), Some(i32::from(code)), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
}
