//! `cargo xtask size-report`: every reported number against the files,
//! the step summary, bad input (baseline, wasm, reports dir, a second run
//! at once) named in one line, and reports left whole when a run fails or
//! is killed.

use serde_json::Value;

use crate::support::{
    assert_could_not_run, assert_old_files_intact, blessed_reports, leb128_len,
    reports_with_old_files, run, stderr, treemap_data, workspace_root, xtask,
};

/// Builds the wasm packages (warm after the first run) and checks every
/// reported number against the files themselves.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn size_report_numbers_match_the_files() {
    let reports = tempfile::tempdir().unwrap();
    let out = run(xtask(&["size-report", "--json", "--reports-dir"]).arg(reports.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value =
        serde_json::from_slice(&out.stdout).expect("stdout is the JSON report alone");
    let written: Value =
        serde_json::from_slice(&std::fs::read(reports.path().join("size.json")).unwrap()).unwrap();
    assert_eq!(report, written);
    let md = std::fs::read_to_string(reports.path().join("size.md")).unwrap();
    assert!(md.contains("wasm-demo/wasm/release/opt"), "{md}");

    let artifacts = report["artifacts"].as_array().unwrap();
    let ids: Vec<String> = artifacts
        .iter()
        .map(|a| {
            format!(
                "{}/{}/{}/{}",
                a["package"].as_str().unwrap(),
                a["kind"].as_str().unwrap(),
                a["profile"].as_str().unwrap(),
                a["stage"].as_str().unwrap()
            )
        })
        .collect();
    for id in [
        "cortex-core/rlib/debug/raw",
        "cortex-core/rlib/release/raw",
        "wasm-demo/wasm/debug/raw",
        "wasm-demo/wasm/release/raw",
        "wasm-demo/wasm/release/opt",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    for (a, id) in artifacts.iter().zip(&ids) {
        if a["kind"] == "browser" {
            // What a browser downloads: its package's `.wasm` and `.js`, each
            // compressed alone, summed.
            let part = |kind: &str| {
                artifacts
                    .iter()
                    .find(|b| {
                        b["kind"] == kind
                            && b["package"] == a["package"]
                            && b["profile"] == a["profile"]
                            && b["stage"] == a["stage"]
                    })
                    .unwrap_or_else(|| panic!("{id}: no {kind} artifact beside it"))
            };
            for field in ["bytes", "gzip_bytes", "brotli_bytes"] {
                let sum =
                    part("wasm")[field].as_u64().unwrap() + part("js")[field].as_u64().unwrap();
                assert_eq!(a[field].as_u64().unwrap(), sum, "{id} {field}");
            }
            continue;
        }
        let path = workspace_root().join(a["path"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(a["bytes"].as_u64().unwrap(), bytes.len() as u64, "{id}");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        assert_eq!(
            a["gzip_bytes"].as_u64().unwrap(),
            gz.finish().unwrap().len() as u64,
            "{id}"
        );
        assert!(
            a["brotli_bytes"].as_u64().unwrap() < bytes.len() as u64,
            "{id}"
        );
        if a["kind"] == "wasm" {
            // Header plus, per section, id byte + LEB128 size + contents = the file.
            let sections = a["sections"].as_object().unwrap();
            let mut total = 8u64;
            for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
                if let Some((_, range)) = payload.unwrap().as_section() {
                    let len = range.len() as u64;
                    total += 1 + leb128_len(len) + len;
                }
            }
            assert_eq!(
                total,
                bytes.len() as u64,
                "{id}: sections do not tile the file"
            );
            let reported: u64 = sections.values().map(|v| v.as_u64().unwrap()).sum();
            let code = sections["code"].as_u64().unwrap();
            assert!(code > 0 && reported < bytes.len() as u64, "{id}");
            if a["stage"] == "opt" {
                assert!(
                    !sections.contains_key("producers") && !sections.contains_key("name"),
                    "{id}: not stripped"
                );
            }
        } else {
            assert!(a.get("sections").is_none(), "{id}");
        }
    }
    let by_id = |wanted: &str| {
        artifacts
            .iter()
            .zip(&ids)
            .find(|(_, id)| id.as_str() == wanted)
            .unwrap()
            .0
    };
    let (opt, raw) = (
        by_id("wasm-demo/wasm/release/opt"),
        by_id("wasm-demo/wasm/release/raw"),
    );
    assert!(
        opt["bytes"].as_u64() < raw["bytes"].as_u64(),
        "-Oz did not shrink the demo"
    );
    // The treemap of the shipped demo: its crates are the report's.
    let treemap = treemap_data(&reports.path().join("size-treemap.html"));
    let attributed = report["attribution"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["artifact"] == "wasm-demo/wasm/release/opt")
        .unwrap();
    let crates = |v: &Value| -> Vec<(String, u64)> {
        let mut c: Vec<(String, u64)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["bytes"].as_u64().unwrap(),
                )
            })
            .collect();
        c.sort();
        c
    };
    assert_eq!(crates(&treemap["crates"]), crates(&attributed["crates"]));
}

#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn github_step_summary_gets_the_markdown_table() {
    let reports = tempfile::tempdir().unwrap();
    let summary = reports.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let built = run(&mut xtask(&["build-wasm"]));
    assert!(built.status.success(), "{}", stderr(&built));
    let out = run(xtask(&["size-report", "--no-build", "--reports-dir"])
        .arg(reports.path())
        .env("GITHUB_STEP_SUMMARY", &summary));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n"),
        "the summary was overwritten, not appended to"
    );
    assert!(
        text.contains("| artifact | size | gzip |") && text.contains("wasm-demo/wasm/release/opt"),
        "{text}"
    );
}

#[test]
fn absent_baseline_with_check_explains_bless() {
    let reports = reports_with_old_files();
    let out =
        run(xtask(&["size-report", "--check", "--no-build", "--reports-dir"]).arg(reports.path()));
    assert_could_not_run(&out, &["no baseline", "--bless"]);
    assert_old_files_intact(reports.path());
}

#[test]
fn corrupt_baseline_is_refused_and_kept() {
    let reports = reports_with_old_files();
    let baseline = reports.path().join("size-baseline.json");
    std::fs::write(&baseline, "{ truncated").unwrap();
    let out =
        run(xtask(&["size-report", "--check", "--no-build", "--reports-dir"]).arg(reports.path()));
    assert_could_not_run(&out, &["not a valid size baseline", "--bless"]);
    assert_eq!(std::fs::read_to_string(&baseline).unwrap(), "{ truncated");
    assert_old_files_intact(reports.path());
}

/// A target dir laid out as build-wasm leaves it, with a broken demo `.wasm`.
fn target_dir_with_wasm(bytes: &[u8]) -> tempfile::TempDir {
    let target = tempfile::tempdir().unwrap();
    let wasm = target.path().join("wasm");
    for profile in ["debug", "release"] {
        let core = wasm.join("cortex-core/wasm32-wasip1").join(profile);
        std::fs::create_dir_all(&core).unwrap();
        std::fs::write(core.join("libcortex_core.rlib"), b"!<arch>\n").unwrap();
        let demo = wasm.join("wasm-demo/wasm32-wasip1").join(profile);
        std::fs::create_dir_all(&demo).unwrap();
        std::fs::write(demo.join("libwasm_demo.rlib"), b"!<arch>\n").unwrap();
        std::fs::write(demo.join("wasm-demo.wasm"), bytes).unwrap();
        std::fs::write(demo.join("wasm-demo.opt.wasm"), bytes).unwrap();
    }
    // The demo's prebuilt-std twin (it ships with the size-first std).
    let twin = wasm.join("wasm-demo/stable-std/wasm32-wasip1/release");
    std::fs::create_dir_all(&twin).unwrap();
    std::fs::write(twin.join("libwasm_demo.rlib"), b"!<arch>\n").unwrap();
    std::fs::write(twin.join("wasm-demo.wasm"), bytes).unwrap();
    std::fs::write(twin.join("wasm-demo.opt.wasm"), bytes).unwrap();
    // The browser package: release and its twin, the page's files in `pkg/`.
    for dir in ["web-demo", "web-demo/stable-std"] {
        let web = wasm.join(dir).join("wasm32-unknown-unknown/release");
        std::fs::create_dir_all(web.join("pkg")).unwrap();
        std::fs::write(web.join("libweb_demo.rlib"), b"!<arch>\n").unwrap();
        std::fs::write(web.join("web_demo.wasm"), bytes).unwrap();
        std::fs::write(web.join("pkg/web_demo_bg.wasm"), bytes).unwrap();
        std::fs::write(web.join("pkg/web_demo.js"), b"export default 0;\n").unwrap();
    }
    target
}

#[test]
fn invalid_or_truncated_wasm_is_named() {
    // A real module's first bytes: the magic and version, then a cut-off section.
    let truncated = b"\0asm\x01\0\0\0\x01\x85\x80\x80";
    for bytes in [&b"not wasm at all"[..], &truncated[..]] {
        let target = target_dir_with_wasm(bytes);
        let reports = reports_with_old_files();
        let out = run(xtask(&["size-report", "--no-build", "--reports-dir"])
            .arg(reports.path())
            .env("CARGO_TARGET_DIR", target.path()));
        assert_could_not_run(
            &out,
            &["wasm-demo", "not a valid wasm module", "build-wasm"],
        );
        assert_old_files_intact(reports.path());
    }
}

#[test]
fn unwritable_reports_dir_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = run(xtask(&["size-report", "--no-build", "--reports-dir"]).arg(file.join("reports")));
    assert_could_not_run(&out, &["cannot create", "reports"]);
}

#[test]
fn second_size_report_at_once_is_refused() {
    let reports = reports_with_old_files();
    let lock = std::fs::File::create(reports.path().join(".size-report.lock")).unwrap();
    lock.try_lock().unwrap();
    let out = run(xtask(&["size-report", "--no-build", "--reports-dir"]).arg(reports.path()));
    assert_could_not_run(&out, &["another", "size-report", "wait"]);
    assert_old_files_intact(reports.path());
}

/// Killed at any moment, a run leaves each report file old or new, never partial.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn size_report_killed_mid_run_leaves_whole_files() {
    // One finished run: every file exists from here on, so each check below
    // reads a file, and the measurements are cached, so later runs are short.
    let reports = blessed_reports();
    let mut killed = 0;
    for i in 0..12u64 {
        let mut child = xtask(&["size-report", "--no-build", "--bless", "--reports-dir"])
            .arg(reports.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(i * 40));
        let _ = child.kill();
        // A run that finished before the kill is not counted: it proves nothing.
        if child.wait().unwrap().code().is_none() {
            killed += 1;
        }
        for name in ["size.json", "size-baseline.json"] {
            let bytes = std::fs::read(reports.path().join(name))
                .unwrap_or_else(|e| panic!("{name} gone after a kill at {} ms: {e}", i * 40));
            serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|e| {
                panic!("{name} half-written after a kill at {} ms: {e}", i * 40)
            });
        }
        let md = std::fs::read_to_string(reports.path().join("size.md")).unwrap();
        assert!(
            md.ends_with('\n') && md.contains("wasm-demo/wasm/release/opt"),
            "size.md partial"
        );
    }
    // The first kill comes as the process starts, long before it can finish.
    assert!(killed > 0, "no kill landed while a run was under way");
}

/// A report path that is a directory fails the run before it measures or
/// writes anything, in one line, leaving the other reports as they were.
#[test]
fn a_report_path_that_is_a_directory_fails_before_writing_anything() {
    for name in ["size.md", "history.jsonl", "size-treemap.html"] {
        let reports = tempfile::tempdir().unwrap();
        std::fs::write(reports.path().join("size.json"), "old report").unwrap();
        std::fs::create_dir(reports.path().join(name)).unwrap();
        let out = run(xtask(&["size-report", "--no-build", "--reports-dir"]).arg(reports.path()));
        assert_could_not_run(&out, &[name, "is a directory"]);
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(reports.path().join("size.json")).unwrap(),
            "old report"
        );
    }
}
