//! `cargo xtask test`: set-up, then every check CI runs, in the order that fails fastest.

use std::ffi::OsStr;
use std::time::Instant;

use anyhow::Result;
use xshell::{cmd, Shell};

use super::Outcome;
use crate::ops::build::runtime::{self, RuntimePaths};
use crate::ops::env::cache;
use crate::ops::env::setup::{self, WASM_TARGETS};
use crate::ops::env::workspace::Workspace;
use crate::util::process::cargo;

/// Fails when a step failed; errors are set-up that could not be done.
pub fn run(sh: &Shell, ws: &Workspace) -> Result<Outcome> {
    let _root = sh.push_dir(&ws.root);
    setup::ensure_targets(sh, &WASM_TARGETS)?;
    // rust-src: the size-first std is built from it.
    setup::ensure_components(sh, &["rustfmt", "clippy", "rust-src"])?;
    setup::ensure_libclang(sh)?;
    // For the compiler-cache test only: sccache in front of a Redis server.
    // Builds go through sccache only with `--cache sccache`.
    let sccache = cache::ensure_sccache(sh, ws)?;
    let redis = setup::ensure_redis(sh)?;
    let chromium = setup::ensure_chromium(sh)?;

    let cargo = cargo();
    // The target dir as a flag, never as CARGO_TARGET_DIR (see ops::env::cache).
    let target = ["--target-dir", &*ws.target_dir.to_string_lossy()].map(str::to_owned);
    let target = &target;
    let wasm_p: Vec<String> = ws
        .wasm_packages()
        .iter()
        .flat_map(|p| ["-p".to_owned(), p.name.to_string()])
        .collect::<Vec<_>>();
    let wasm_p = &wasm_p;
    // The runtime is its own workspace: fmt, clippy and tests name its
    // manifest, and share its release target dir so nothing builds twice.
    let RuntimePaths {
        manifest: rt_manifest,
        target_dir: rt_target,
        binary: rt_binary,
    } = runtime::paths(ws);
    let rt = [
        OsStr::new("--manifest-path"),
        rt_manifest.as_os_str(),
        OsStr::new("--target-dir"),
        rt_target.as_os_str(),
    ];
    let rt = &rt;
    type Step<'a> = (&'a str, Box<dyn Fn() -> xshell::Result<()> + 'a>);
    let steps: Vec<Step> = vec![
        (
            "format",
            Box::new(|| cmd!(sh, "{cargo} fmt --all -- --check").run()),
        ),
        (
            "format (runtime/)",
            Box::new(|| cmd!(sh, "{cargo} fmt --manifest-path {rt_manifest} --check").run()),
        ),
        (
            "clippy (native)",
            Box::new(|| {
                cmd!(
                    sh,
                    "{cargo} clippy --workspace --all-targets {target...} -- -D warnings"
                )
                .run()
            }),
        ),
        (
            "clippy (wasm32-wasip1)",
            Box::new(|| {
                cmd!(sh, "{cargo} clippy --target wasm32-wasip1 {wasm_p...} --all-targets {target...} -- -D warnings")
                    .run()
            }),
        ),
        (
            "tests (native)",
            Box::new(|| cmd!(sh, "{cargo} test --workspace {target...}").run()),
        ),
        // The guide's commands, as written, from the workspace root.
        (
            "cortex-core for wasm32-wasip1, debug and release",
            Box::new(|| {
                cmd!(
                    sh,
                    "{cargo} build --target wasm32-wasip1 -p cortex-core {target...}"
                )
                .run()?;
                cmd!(
                    sh,
                    "{cargo} build --target wasm32-wasip1 -p cortex-core --release {target...}"
                )
                .run()
            }),
        ),
        (
            "cortex-core for wasm32-unknown-unknown (browser)",
            Box::new(|| {
                cmd!(
                    sh,
                    "{cargo} build --target wasm32-unknown-unknown -p cortex-core {target...}"
                )
                .run()
            }),
        ),
        (
            "wasm tests compile for wasm32-wasip1",
            Box::new(|| {
                cmd!(
                    sh,
                    "{cargo} test --target wasm32-wasip1 {wasm_p...} --no-run {target...}"
                )
                .run()
            }),
        ),
        (
            "wasm runtime (runtime/): build (the first time: minutes), clippy, tests",
            Box::new(|| {
                cmd!(sh, "{cargo} build --release --locked {rt...}").run()?;
                cmd!(
                    sh,
                    "{cargo} clippy --release --locked {rt...} --all-targets -- -D warnings"
                )
                .run()?;
                cmd!(sh, "{cargo} test --release --locked {rt...}").run()
            }),
        ),
        (
            "cortex-core tests on wasm32-wasip1, run under the wasm runtime",
            Box::new(|| {
                cmd!(
                    sh,
                    "{cargo} test --target wasm32-wasip1 -p cortex-core {target...}"
                )
                .env("CARGO_TARGET_WASM32_WASIP1_RUNNER", &rt_binary)
                .run()
            }),
        ),
        // The treemap page of a tiny real wasm, opened in headless Chromium:
        // what it drew (from the DOM) against its JSON, and its console;
        // and web-demo's page, served on loopback: the WASI demo's summary.
        (
            "treemap and web-demo in headless Chromium (rectangles and labels against the JSON, the demo's summary, no console error)",
            Box::new(|| {
                cmd!(sh, "{cargo} test --workspace --bin xtask {target...} -- --ignored browser_")
                    .env("CHROMIUM", &chromium)
                    .run()
            }),
        ),
        // Real release builds of the demo, worktrees of HEAD, bench-build
        // and the runtime: kept out of the plain `cargo test` so that it
        // stays fast, run here with the workspace's features (no rebuild).
        (
            "end-to-end tests of xtask (real builds, worktrees, the runtime)",
            Box::new(|| {
                cmd!(
                    sh,
                    "{cargo} test --workspace --test cli {target...} -- --ignored"
                )
                .env("XTASK_TEST_SCCACHE", &sccache)
                .env("XTASK_TEST_REDIS", &redis)
                .run()
            }),
        ),
    ];
    let started = Instant::now();
    for (name, run) in &steps {
        eprintln!("\n==> {name}");
        let t = Instant::now();
        if let Err(e) = run() {
            eprintln!("==> {name}: FAILED ({e})\ncargo xtask test: failed at `{name}`; its output is above");
            return Ok(Outcome::Failed);
        }
        eprintln!("==> {name}: ok in {:.1} s", t.elapsed().as_secs_f64());
    }
    eprintln!(
        "\ncargo xtask test: all {} steps passed in {:.0} s",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Outcome::Passed)
}
