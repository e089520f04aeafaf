//! `size-report --check` and `--comment`: the comment's path checked
//! before anything is written, and what a failing gate and its comment
//! say (the growth, the new crate and what keeps it).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{
    assert_could_not_run, assert_old_files_intact, blessed_reports, cargo_target_dir,
    reports_with_old_files, run, stderr, workspace_root, xtask,
};

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
    let reports = blessed_reports();
    let baseline_path = reports.path().join("size-baseline.json");
    let mut baseline: Value =
        serde_json::from_slice(&std::fs::read(&baseline_path).unwrap()).unwrap();
    // The demo's shipped file only (its prebuilt-std twin is an `opt` too,
    // and so are the browser package's files).
    for a in baseline["artifacts"].as_array_mut().unwrap() {
        if a["package"] == "wasm-demo" && a["stage"] == "opt" && a["profile"] == "release" {
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
