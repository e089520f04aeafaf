//! The xtask binary end to end: real cargo builds, real files, and each bad
//! input giving one clear line, exit 2, and the previous files intact.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn xtask(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args).current_dir(workspace_root());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2 with an `error:` line that contains each of `words`.
fn assert_could_not_run(out: &Output, words: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in: {err}"));
    for w in words {
        assert!(
            line.contains(w),
            "error line {line:?} does not mention {w:?}"
        );
    }
    assert!(!err.contains("panicked"), "{err}");
}

/// Builds the wasm packages (warm after the first run) and checks every
/// reported number against the files themselves.
#[test]
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
}

fn leb128_len(mut n: u64) -> u64 {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

#[test]
fn unknown_package_is_named() {
    assert_could_not_run(
        &run(&mut xtask(&["build-wasm", "-p", "no-such-pkg"])),
        &["no-such-pkg", "wasm packages:"],
    );
}

#[test]
fn non_wasm_package_is_refused_with_the_fix() {
    assert_could_not_run(
        &run(&mut xtask(&["build-wasm", "-p", "xtask"])),
        &["not a wasm package", "wasm = true"],
    );
}

#[test]
fn missing_target_without_rustup_says_what_to_do() {
    // A PATH whose only rustc reports a sysroot without wasm targets, and no rustup.
    let dir = tempfile::tempdir().unwrap();
    let sysroot = dir.path().join("sysroot");
    std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu")).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let rustc = bin.join("rustc");
    std::fs::write(&rustc, format!("#!/bin/sh\necho {}\n", sysroot.display())).unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&rustc).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&rustc, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run(xtask(&["build-wasm", "-p", "wasm-demo"])
        .env("PATH", format!("{}:/bin:/usr/bin", bin.display()))
        .env("CARGO", env!("CARGO")));
    assert_could_not_run(
        &out,
        &[
            "wasm32-wasip1",
            "rustup is not available",
            "rustup target add",
        ],
    );
}

/// A reports dir holding an old `size.json`, to check it survives failures.
fn reports_with_old_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("size.json"), "old report").unwrap();
    dir
}

fn assert_old_files_intact(dir: &Path) {
    assert_eq!(
        std::fs::read_to_string(dir.join("size.json")).unwrap(),
        "old report"
    );
    assert!(!dir.join("size.md").exists());
}

#[test]
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
        std::fs::write(demo.join("wasm-demo.wasm"), bytes).unwrap();
        std::fs::write(demo.join("wasm-demo.opt.wasm"), bytes).unwrap();
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

#[test]
fn ci_workflow_calls_only_xtask_commands_that_exist() {
    let text = std::fs::read_to_string(workspace_root().join(".github/workflows/ci.yml")).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let mut calls = Vec::new();
    for (_, job) in docs[0]["jobs"].as_hash().unwrap() {
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
    let names: Vec<&str> = calls.iter().map(|c| c[0].as_str()).collect();
    assert!(
        names.contains(&"test") && names.contains(&"size-report"),
        "{names:?}"
    );
    for call in &calls {
        // clap parses every flag before acting on --help, so a wrong flag fails here.
        let mut args: Vec<&str> = call.iter().map(String::as_str).collect();
        args.push("--help");
        let out = run(&mut xtask(&args));
        assert!(
            out.status.success(),
            "`cargo xtask {}` is not a valid call: {}",
            call.join(" "),
            stderr(&out)
        );
    }
}

/// Killed at any moment, a run leaves each report file old or new, never partial.
#[test]
fn size_report_killed_mid_run_leaves_whole_files() {
    let reports = tempfile::tempdir().unwrap();
    // One finished run, so measurements are cached and later runs are short.
    let first = run(xtask(&["size-report", "--no-build", "--reports-dir"]).arg(reports.path()));
    if !first.status.success() {
        // The artifacts are built by size_report_numbers_match_the_files; build them here if first.
        let built = run(&mut xtask(&["build-wasm"]));
        assert!(built.status.success(), "{}", stderr(&built));
    }
    for i in 0..12u64 {
        let mut child = xtask(&["size-report", "--no-build", "--bless", "--reports-dir"])
            .arg(reports.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(i * 40));
        let _ = child.kill();
        child.wait().unwrap();
        for name in ["size.json", "size-baseline.json"] {
            if let Ok(bytes) = std::fs::read(reports.path().join(name)) {
                serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|e| {
                    panic!("{name} half-written after a kill at {} ms: {e}", i * 40)
                });
            }
        }
        if let Ok(md) = std::fs::read_to_string(reports.path().join("size.md")) {
            assert!(
                md.ends_with('\n') && md.contains("wasm-demo/wasm/release/opt"),
                "size.md partial"
            );
        }
    }
}
