//! `cargo xtask build-wasm`: bad packages and a toolchain missing parts,
//! one target dir for two checkouts, reproducible shipped bytes, and
//! freshness: a fresh build starts no cargo, an edit builds again, and two
//! xtasks never build one package at once.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{
    add_tiny_dependency, assert_could_not_run, cargo_target_dir, history_git, run, stderr,
    workspace_root, write_script, write_tiny_workspace, xtask,
};

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

// ---- one target dir, two checkouts ------------------------------------------

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

// ---- freshness and the build lock ---------------------------------------------

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

// ---- browser packages ----------------------------------------------------------

/// web-demo, a browser package: its `.wasm` after bindings and -Oz, its
/// `.js` importing that `.wasm` by name, and the two as what a browser
/// downloads; a second run starts no cargo and generates nothing; a third,
/// with a page file removed, writes it again without cargo.
#[test]
#[ignore = "end to end: a release build of web-demo for wasm32-unknown-unknown"]
fn a_browser_package_builds_its_pages_files_then_is_fresh() {
    let build = || {
        let mut cmd = xtask(&["build-wasm", "-p", "web-demo", "--profile", "release"]);
        cmd.env("CARGO_TARGET_DIR", cargo_target_dir());
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    build();
    let second = build();
    assert!(second.contains("1 of 1 builds fresh"), "{second}");
    assert!(!second.contains("cargo build -p"), "{second}");
    assert!(!second.contains("wasm-bindgen --target web"), "{second}");
    let pkg = cargo_target_dir().join("wasm/web-demo/wasm32-unknown-unknown/release/pkg");
    for (kind, path) in [
        ("wasm", pkg.join("web_demo_bg.wasm")),
        ("js", pkg.join("web_demo.js")),
        ("browser", pkg.clone()),
    ] {
        assert!(path.exists(), "{} is missing", path.display());
        let row = format!("web-demo  {kind:<7}  release  opt");
        assert!(second.contains(&row), "no {row:?} in\n{second}");
    }
    let js = std::fs::read_to_string(pkg.join("web_demo.js")).unwrap();
    assert!(js.contains("web_demo_bg.wasm"), "{js}");
    let wasm = std::fs::read(pkg.join("web_demo_bg.wasm")).unwrap();
    assert_eq!(&wasm[..4], b"\0asm");

    // A page file gone: written again, from bindings generated again, and
    // still no cargo.
    std::fs::remove_file(pkg.join("web_demo.js")).unwrap();
    std::fs::remove_file(pkg.with_file_name("bindgen").join("web_demo.js")).unwrap();
    let third = build();
    assert!(third.contains("wasm-bindgen --target web"), "{third}");
    assert!(!third.contains("cargo build -p"), "{third}");
    assert_eq!(
        std::fs::read_to_string(pkg.join("web_demo.js")).unwrap(),
        js
    );
}

#[test]
fn serve_web_refuses_a_package_that_is_not_a_browser_package() {
    assert_could_not_run(
        &run(&mut xtask(&["serve-web", "-p", "wasm-demo"])),
        &[
            "`wasm-demo` is not a browser package",
            "web-demo",
            "browser = true",
        ],
    );
}
