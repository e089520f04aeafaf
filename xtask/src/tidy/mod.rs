//! Tidy tests: the layering that `main.rs` describes, held by reading the
//! sources. Test code (`tests.rs`, `mod tests`, the fixtures) may use any
//! layer; everything else imports only its own layer and those below.
//! `docs.rs` holds the manual's `cargo xtask …` lines to the command line,
//! `workflows.rs` the workflows' calls and tokens and the lock files.

mod docs;
mod workflows;

use std::path::{Path, PathBuf};

/// Layers from the bottom: a file may name its own layer and lower ones.
/// The pure size model below them all is the `wasm-size` crate: its
/// `Cargo.toml` and `clippy.toml` keep it pure, so no rule here has to.
const LAYERS: [&str; 3] = ["util", "ops", "commands"];

/// Every non-test source file under `src/`, with its text up to its
/// `#[cfg(test)] mod tests` block.
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| p.strip_prefix(&src).unwrap().to_owned())
        // The tidy tests name what they forbid, in their own test strings.
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            !matches!(name, "tests.rs" | "testing.rs") && !p.starts_with("tidy")
        })
        .map(|p| {
            let text = std::fs::read_to_string(src.join(&p)).unwrap();
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_owned(),
                None => text,
            };
            (p, code)
        })
        .collect()
}

/// xtask's command line as `main` parses it, for the docs and the
/// workflows, without reading `CORTEX_CACHE` from the environment the
/// test runs in.
fn xtask_cli() -> clap::Command {
    use clap::CommandFactory;
    let mut cli = crate::Cli::command().mut_arg("cache", |a| a.env(None::<&'static str>));
    cli.build();
    cli
}

/// The layer of a file, by its folder; `main.rs` is above them all.
fn layer(path: &Path) -> usize {
    let top = path
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    LAYERS
        .iter()
        .position(|l| *l == top)
        .unwrap_or(LAYERS.len())
}

/// The layers `code` names through `crate::<layer>` paths.
fn named_layers(code: &str) -> Vec<&'static str> {
    LAYERS
        .iter()
        .copied()
        .filter(|l| {
            code.contains(&format!("crate::{l}::")) || code.contains(&format!("crate::{l};"))
        })
        .collect()
}

#[test]
fn every_import_points_down_a_layer_or_stays_in_it() {
    let mut upward = Vec::new();
    for (path, code) in sources() {
        let own = layer(&path);
        for named in named_layers(&code) {
            if layer(Path::new(named)) > own {
                upward.push(format!("{} uses crate::{named}", path.display()));
            }
        }
    }
    assert!(upward.is_empty(), "imports pointing up: {upward:#?}");
}

#[test]
fn processes_start_in_one_place_and_one_shell_is_made_in_main() {
    let mut found = Vec::new();
    for (path, code) in sources() {
        let p = path.to_str().unwrap();
        if p != "util/process.rs" && starts_a_process(&code) {
            found.push(format!("{p} starts a process outside util/process.rs"));
        }
        if p != "main.rs" && code.contains("Shell::new") {
            found.push(format!("{p} makes a Shell; take the one main makes"));
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// Whether `code` names `std::process::Command` (not a library's command
/// type such as cargo_metadata's `MetadataCommand`).
fn starts_a_process(code: &str) -> bool {
    code.contains("process::Command")
        || code.match_indices("Command::new").any(|(i, _)| {
            !code[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
}

#[test]
fn the_tidy_rules_see_a_violation() {
    assert!(starts_a_process("let c = Command::new(\"git\");"));
    assert!(starts_a_process("use std::process::Command;"));
    assert!(!starts_a_process("MetadataCommand::new().exec()"));
    assert_eq!(named_layers("use crate::ops::build;"), ["ops"]);
    assert_eq!(
        named_layers("use crate::util;\nuse crate::commands::Outcome;"),
        ["util", "commands"]
    );
    assert!(layer(Path::new("util/git.rs")) < layer(Path::new("ops/build.rs")));
    assert_eq!(layer(Path::new("main.rs")), LAYERS.len());
}
