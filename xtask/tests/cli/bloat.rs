//! `cargo xtask bloat`: the shipped demo's attribution and tables, files
//! that are missing or not wasm, and `--html`.

use std::process::Output;

use serde_json::Value;

use crate::support::{
    assert_could_not_run, leb128_len, proc_exit_module, run, stderr, treemap_data, xtask,
};

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
    let (by_package, _) = bloat_json(&["bloat", "-p", "wasm-demo", "--json", "-n", "0"]);
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
    let (by_file, _) = bloat_json(&["bloat", "--json", "-n", "0", &names_file]);
    assert_eq!(by_file, by_package);

    // The shipped file is stripped: said once on stderr, indices instead of names.
    let (stripped, out) = bloat_json(&["bloat", "--json", "-n", "0", &shipped]);
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

/// `-n` bounds every list of bloat's JSON, which says how many entries it
/// left out; `-n 0` gives them all.
#[test]
fn bloat_json_holds_n_entries_per_list_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("large.wasm");
    std::fs::write(&wasm, wasm_size::synthetic::large(100, 40).module.encode()).unwrap();
    let w = wasm.to_str().unwrap();
    let (two, _) = bloat_json(&["bloat", "--json", "-n", "2", w]);
    let (all, _) = bloat_json(&["bloat", "--json", "-n", "0", w]);
    let functions = |v: &Value| v["functions"].as_array().unwrap().clone();
    assert_eq!(functions(&two)[..], functions(&all)[..2]);
    assert_eq!(functions(&all).len(), 100);
    assert_eq!(two["left_out"]["functions"], 98);
    assert_eq!(all["left_out"]["functions"], 0);
    let crates = all["crates"].as_array().unwrap().len();
    assert_eq!(two["left_out"]["crates"], crates - 2);
    let (retained, _) = bloat_json(&["bloat", "--retained", "--json", "-n", "3", w]);
    assert_eq!(functions(&retained).len(), 3);
    assert_eq!(retained["left_out"]["functions"], 97);
    assert!(functions(&retained)[0]["retained_bytes"].as_u64().unwrap() > 0);
    // crate1, crate10 … crate19: more than one match.
    let (why, _) = bloat_json(&["bloat", "--why", "crate1", "--json", "-n", "1", w]);
    assert_eq!(why["paths"].as_array().unwrap().len(), 1);
    assert!(why["left_out"].as_u64().unwrap() > 0, "{why}");
}
