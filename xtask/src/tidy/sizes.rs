//! Sizes that keep the tree walkable: a command file reads its flags and
//! calls operations, so it stays short; a function of the `wasm-size`
//! crate, the analyses a reader studies, fits on a screen or two.

use std::path::{Path, PathBuf};

/// Lines of a command file, tests included.
const COMMAND_FILE_LINES: usize = 250;
/// Lines of a function of `wasm-size`, from its `fn` line to its `}`.
const CRATE_FUNCTION_LINES: usize = 80;

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Each function of `code` that is longer than `limit` lines, as `name
/// (N lines, from line L)`. A function ends at the first `}` at its own
/// indentation (rustfmt's layout); `#[cfg(test)] mod tests` is not read.
fn long_functions(code: &str, limit: usize) -> Vec<String> {
    let code = match code.find("#[cfg(test)]\nmod tests") {
        Some(i) => &code[..i],
        None => code,
    };
    let lines: Vec<&str> = code.lines().collect();
    let mut long = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let after_vis = ["pub(crate) ", "pub(super) ", "pub "]
            .iter()
            .find_map(|v| trimmed.strip_prefix(v))
            .unwrap_or(trimmed);
        let after_quals = after_vis
            .trim_start_matches("const ")
            .trim_start_matches("async ")
            .trim_start_matches("unsafe ");
        let Some(rest) = after_quals.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // Its body opens on the first line ending in `{`; a `;` first is a
        // declaration (a trait's), which has no body.
        let Some(open) = lines[start..]
            .iter()
            .position(|l| l.trim_end().ends_with('{') || l.trim_end().ends_with(';'))
            .map(|i| start + i)
            .filter(|&i| lines[i].trim_end().ends_with('{'))
        else {
            continue;
        };
        let close = format!("{}}}", " ".repeat(indent));
        let Some(end) = lines[open..]
            .iter()
            .position(|l| l.trim_end() == close)
            .map(|i| open + i)
        else {
            continue;
        };
        let length = end - start + 1;
        if length > limit {
            long.push(format!("{name} ({length} lines, from line {})", start + 1));
        }
    }
    long
}

#[test]
fn command_files_stay_short_and_crate_functions_fit_a_screen() {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = xtask.parent().unwrap();
    let shown = |file: &Path| {
        file.strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string()
    };
    let mut found = Vec::new();
    for file in rust_files(&xtask.join("src/commands")) {
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        if lines > COMMAND_FILE_LINES {
            found.push(format!(
                "{}: {lines} lines; a command reads its flags and calls ops (at most \
                 {COMMAND_FILE_LINES})",
                shown(&file)
            ));
        }
    }
    let crate_src = root.join("crates/wasm-size/src");
    for file in rust_files(&crate_src) {
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let code = std::fs::read_to_string(&file).unwrap();
        for f in long_functions(&code, CRATE_FUNCTION_LINES) {
            found.push(format!(
                "{}: fn {f}; split it along a seam (at most {CRATE_FUNCTION_LINES})",
                shown(&file)
            ));
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn long_functions_are_measured_from_fn_to_its_closing_brace() {
    let body = "    x += 1;\n".repeat(5);
    let code = format!(
        "pub fn short() {{\n{body}}}\n\nimpl T {{\n    pub(crate) fn long(\n        a: u8,\n    ) -> u8 {{\n{body}{body}    }}\n}}\n\ntrait U {{\n    fn decl(&self);\n}}\n\n#[cfg(test)]\nmod tests {{\n    fn in_tests() {{\n{body}{body}    }}\n}}\n"
    );
    assert_eq!(long_functions(&code, 7), ["long (14 lines, from line 10)"]);
    assert!(long_functions(&code, 14).is_empty());
}
