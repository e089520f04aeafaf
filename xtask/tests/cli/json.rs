//! `--json` means one thing on every command that has it: one JSON
//! document alone on stdout, and any text for people on stderr.

use serde_json::Value;

use crate::support::{proc_exit_module, run, stderr, workspace_root, xtask};

/// Runs `args`, which must succeed with stdout that is one JSON document.
fn json_of(args: &[&str]) -> (Value, String) {
    let out = run(&mut xtask(args));
    let err = stderr(&out);
    assert!(out.status.success(), "{args:?}: {err}");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (json, err)
}

#[test]
fn json_flags_print_one_json_document_on_stdout_and_text_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    // Stripped: bloat warns about it, on stderr.
    let wasm = dir.path().join("m.wasm");
    std::fs::write(&wasm, proc_exit_module(0)).unwrap();
    let wasm = wasm.to_str().unwrap();

    let (checks, _) = json_of(&["doctor", "--json"]);
    assert!(checks.as_array().is_some_and(|c| !c.is_empty()), "{checks}");
    assert!(checks[0]["status"].is_string(), "{checks}");

    let (attribution, err) = json_of(&["bloat", wasm, "--json"]);
    assert!(attribution["functions"].is_array(), "{attribution}");
    assert!(
        err.contains("stripped"),
        "the warning belongs on stderr: {err}"
    );
    for view in [&["--retained"][..], &["--garbage"], &["--why", "func"]] {
        let args: Vec<&str> = ["bloat", wasm, "--json"]
            .iter()
            .chain(view)
            .copied()
            .collect();
        json_of(&args);
    }

    let reports = workspace_root().join("reports");
    let baseline = reports.join("size-baseline.json");
    let baseline = baseline.to_str().unwrap();
    let (diff, _) = json_of(&["size-diff", baseline, baseline, "--json"]);
    assert!(diff.is_object(), "{diff}");
}
