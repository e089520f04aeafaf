//! Tidy tests: the layering that `main.rs` describes, held by reading the
//! sources. Test code (`tests.rs`, `mod tests`, the fixtures) may use any
//! layer; everything else imports only its own layer and those below, and
//! a command never imports another. The paths a file names are parsed
//! (`imports.rs`), not searched for, so `use crate::{commands::x}` counts.
//! `docs.rs` holds the manual's `cargo xtask …` lines to the command line,
//! `workflows.rs` the workflows' calls and tokens and the lock files;
//! `sizes.rs` keeps command files short and wasm-size's functions on a
//! screen or two.

mod docs;
mod imports;
mod sizes;
mod workflows;

use std::path::{Path, PathBuf};

use imports::{named_paths, Named};

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
            name != "tests.rs" && !p.starts_with("tidy") && !p.starts_with("testing")
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

/// The layers `paths` name, bottom first.
fn named_layers(paths: &[Named]) -> Vec<&'static str> {
    LAYERS
        .iter()
        .copied()
        .filter(|l| paths.iter().any(|p| p.get(1).is_some_and(|s| s == l)))
        .collect()
}

#[test]
fn every_import_points_down_a_layer_or_stays_in_it() {
    let mut upward = Vec::new();
    for (path, code) in sources() {
        let own = layer(&path);
        for named in named_layers(&named_paths(&path, &code)) {
            if layer(Path::new(named)) > own {
                upward.push(format!("{} uses crate::{named}", path.display()));
            }
        }
    }
    assert!(upward.is_empty(), "imports pointing up: {upward:#?}");
}

/// What a file under `commands/` names of another command: any
/// `crate::commands::…` path but its own module's, `Outcome` and `flags`
/// (the flags several commands share). `commands/mod.rs` names them all.
fn other_commands(file: &Path, paths: &[Named]) -> Vec<String> {
    let module = imports::module_of(file);
    let [top, own, ..] = module.as_slice() else {
        return Vec::new();
    };
    if top != "commands" {
        return Vec::new();
    }
    paths
        .iter()
        .filter(|p| p.get(1).is_some_and(|s| s == "commands"))
        .filter(|p| {
            !p.get(2)
                .is_some_and(|s| s == own || s == "Outcome" || s == "flags")
        })
        .map(|p| p.join("::"))
        .collect()
}

#[test]
fn a_command_never_names_another_command() {
    let mut found = Vec::new();
    for (path, code) in sources() {
        for other in other_commands(&path, &named_paths(&path, &code)) {
            found.push(format!("{} names {other}", path.display()));
        }
    }
    assert!(
        found.is_empty(),
        "a command names another (what they share goes down a layer, or \
         into commands/flags.rs if it is a flag): {found:#?}"
    );
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

/// The layers and the other commands `code` names, read as the file `file`.
fn check(file: &str, code: &str) -> (Vec<&'static str>, Vec<String>) {
    let paths = named_paths(Path::new(file), code);
    (
        named_layers(&paths),
        other_commands(Path::new(file), &paths),
    )
}

#[test]
fn the_tidy_rules_see_a_violation() {
    assert!(starts_a_process("let c = Command::new(\"git\");"));
    assert!(starts_a_process("use std::process::Command;"));
    assert!(!starts_a_process("MetadataCommand::new().exec()"));
    assert_eq!(check("ops/build.rs", "use crate::ops::build;").0, ["ops"]);
    assert_eq!(
        check("main.rs", "use crate::util;\nuse crate::commands::Outcome;").0,
        ["util", "commands"]
    );
    assert!(layer(Path::new("util/git.rs")) < layer(Path::new("ops/build.rs")));
    assert_eq!(layer(Path::new("main.rs")), LAYERS.len());

    // Upward, however it is written: in braces, inline in code, over
    // several lines, through `super`.
    let upward = [
        ("ops/build/mod.rs", "use crate::{commands::x};", "commands"),
        (
            "util/files.rs",
            "fn f() {\n    crate::ops::build::x();\n}",
            "ops",
        ),
        (
            "util/git.rs",
            "pub(crate) use crate::{\n    ops::{\n        env,\n    },\n};",
            "ops",
        ),
        (
            "ops/env/setup.rs",
            "use super::super::super::commands::Outcome;",
            "commands",
        ),
    ];
    for (file, code, named) in upward {
        assert_eq!(check(file, code).0, [named], "{file}: {code}");
        assert!(layer(Path::new(named)) > layer(Path::new(file)));
    }

    // A command naming another, however it is written.
    let crossing = [
        (
            "use super::bench_build::load_average;",
            "crate::commands::bench_build::load_average",
        ),
        (
            "use crate::commands::{Outcome, bloat};",
            "crate::commands::bloat",
        ),
        (
            "let x = super::run_wasm::run(sh, ws);",
            "crate::commands::run_wasm::run",
        ),
        ("use super::*;", "crate::commands::*"),
        ("use crate::commands;", "crate::commands"),
    ];
    for (code, named) in crossing {
        assert_eq!(check("commands/size_report.rs", code).1, [named], "{code}");
    }
}

#[test]
fn the_tidy_rules_let_what_is_allowed_pass() {
    let command = r##"
use super::flags::BuildSelection;
use super::Outcome;
pub(crate) use crate::commands::{
    flags::{self, BuildSelection as Selection},
    Outcome as Done,
};
use crate::ops::build::{self, Built};
use crate::util::process::cargo;
use wasm_size::report::Report;
// use super::bench_build::load_average;
/* use crate::commands::size_report; /* nested */ */
fn run() -> Outcome {
    let said = "super::bench_build::x and crate::commands::test";
    let brace = '{';
    let raw = r#"crate::commands::doctor"#;
    crate::ops::env::setup::ensure();
    super::bloat::Subject::File
}
"##;
    let (layers, others) = check("commands/bloat.rs", command);
    assert_eq!(layers, ["util", "ops", "commands"]);
    assert!(others.is_empty(), "{others:?}");
    // The commands' own module names them all.
    let (_, others) = check(
        "commands/mod.rs",
        "use self::bench_build::x;\npub mod size_report;",
    );
    assert!(others.is_empty(), "{others:?}");
}
