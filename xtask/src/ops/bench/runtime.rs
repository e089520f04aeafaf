//! bench-runtime's measurement: the demo's workload and the store operations
//! it exercises, timed natively and as wasm under the embedded runtime, side
//! by side in one run. Writes `reports/runtime.{md,json}`.
//!
//! The guest (`benches/workloads.rs`) times itself with the monotonic clock,
//! on the memory stores on both sides, so process start-up and wasm
//! compilation are outside every figure; the runtime reports compilation
//! apart (`--timings`).
//!
//! The browser column: the same workloads in headless Chromium, from
//! web-demo built with its `bench` feature (bindings, the size-first std and
//! -Oz, as the shipped page), on `benches/www/bench.html` served with the
//! cross-origin isolation headers, so `performance.now()` reads to 5 µs.
//! The page runs them synchronously before its `load` event and Chromium
//! dumps the DOM after it, in real time (virtual time would stop the clock).

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use xshell::{cmd, Cmd, Shell};

use crate::ops::bench::report::Conditions;
use crate::ops::build::artifacts::{self, BROWSER_TARGET, WASM_TARGET};
use crate::ops::build::{self, page, runtime, shrink, web};
use crate::ops::env::setup::Toolchain;
use crate::ops::env::workspace::Workspace;
use crate::ops::env::{browser, setup};
use crate::util::http::StaticServer;
use crate::util::process::cargo;
use crate::util::stats::Summary;
use wasm_size::table::Table;

const GUEST_PACKAGE: &str = "cortex-benches";
const GUEST_BIN: &str = "workloads";
/// The browser guest: web-demo with its `bench` feature.
const BROWSER_PACKAGE: &str = "web-demo";
const BROWSER_LIB: &str = "web_demo";
/// The goal: wasm at most this many times the native time.
const GOAL_RATIO: f64 = 1.5;

/// How much to measure, and with which build profile.
pub struct Options {
    /// Processes per side.
    pub runs: u32,
    /// Samples per workload in each process.
    pub samples: u32,
    /// `release` or `bench`.
    pub profile: String,
}

/// One line the guest prints per workload.
#[derive(Debug, Deserialize)]
struct GuestLine {
    name: String,
    samples_ns: Vec<u64>,
}

/// The runtime's `--timings` line (stderr).
#[derive(Debug, Deserialize)]
struct Timings {
    compile_ns: u64,
    instantiate_ns: u64,
}

/// One row of `runtime.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadRow {
    pub name: String,
    /// Median time of one iteration natively.
    pub native_ns: u64,
    /// Median time of one iteration as wasm.
    pub wasm_ns: u64,
    /// `wasm_ns / native_ns`.
    pub ratio: f64,
    pub native: Summary,
    pub wasm: Summary,
    /// The same as wasm with the size-first std (what `std = "size"` ships).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm_size_first_ns: Option<u64>,
    /// `wasm_size_first_ns / native_ns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_size_first: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm_size_first: Option<Summary>,
    /// Median time of one iteration in headless Chromium (web-demo's
    /// `bench` feature, the size-first std, as the shipped page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_ns: Option<u64>,
    /// `browser_ns / native_ns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_browser: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<Summary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeReport {
    /// Where, when and how (rustc, commit, date, cores, load, the command).
    #[serde(flatten)]
    pub conditions: Conditions,
    pub profile: String,
    pub runs: u32,
    pub samples: u32,
    /// wasmtime's compilation of the guest module, per run (not in any workload figure).
    pub compile_ms: Summary,
    pub instantiate_ms: Summary,
    pub wasm_bytes: u64,
    /// The size-first guest's module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm_size_first_bytes: Option<u64>,
    /// The browser guest's module (after bindings and -Oz).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_wasm_bytes: Option<u64>,
    /// `chromium --version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_version: Option<String>,
    pub workloads: Vec<WorkloadRow>,
}

/// Builds the guest natively and as wasm (prebuilt and size-first std),
/// then times every workload on each side, in turn within each run.
pub fn measure(sh: &Shell, ws: &Workspace, args: &Options) -> Result<RuntimeReport> {
    ensure!(
        args.runs > 0 && args.samples > 0,
        "--runs and --samples take a positive number"
    );
    let runner = runtime::ensure_runtime(sh, ws)?;
    let chromium = setup::ensure_chromium(sh)?;
    let Guests {
        native,
        wasm,
        size_first,
        browser_page,
    } = build_guests(sh, ws, &args.profile)?;
    let server = StaticServer::start(&browser_page, None)?;
    let browser_url = format!("{}bench.html?samples={}", server.url(), args.samples);
    let browser_version = cmd!(sh, "{chromium} --version")
        .quiet()
        .read()
        .ok()
        .map(|v| v.trim().to_owned());

    // Read when the measurement starts: the date and load of the benchmark.
    let conditions = Conditions::now(sh, ws);
    let mut native_lines: Vec<GuestLine> = Vec::new();
    let mut wasm_lines: Vec<GuestLine> = Vec::new();
    let mut size_first_lines: Vec<GuestLine> = Vec::new();
    let mut browser_lines: Vec<GuestLine> = Vec::new();
    let (mut compile, mut instantiate) = (Vec::new(), Vec::new());
    let samples = args.samples.to_string();
    // In turn within each run, so a machine that slows down slows all three.
    for run in 1..=args.runs {
        eprintln!("[run {run}/{}] native", args.runs);
        let out = run_guest(cmd!(sh, "{native} --samples {samples}"))?;
        native_lines.extend(parse_lines(&out.stdout)?);
        eprintln!("[run {run}/{}] wasm under {}", args.runs, runner.display());
        let out = run_guest(cmd!(sh, "{runner} --timings {wasm} --samples {samples}"))?;
        wasm_lines.extend(parse_lines(&out.stdout)?);
        let timings = parse_timings(&out.stderr)?;
        compile.push(timings.compile_ns as f64 / 1e6);
        instantiate.push(timings.instantiate_ns as f64 / 1e6);
        eprintln!("[run {run}/{}] wasm, size-first std", args.runs);
        let out = run_guest(cmd!(sh, "{runner} {size_first} --samples {samples}"))?;
        size_first_lines.extend(parse_lines(&out.stdout)?);
        eprintln!("[run {run}/{}] browser, {}", args.runs, chromium.display());
        browser_lines.extend(parse_lines(&run_page(sh, &chromium, &browser_url)?)?);
    }

    Ok(RuntimeReport {
        conditions,
        profile: args.profile.clone(),
        runs: args.runs,
        samples: args.samples,
        compile_ms: Summary::of(&compile),
        instantiate_ms: Summary::of(&instantiate),
        wasm_bytes: std::fs::metadata(&wasm)?.len(),
        wasm_size_first_bytes: Some(std::fs::metadata(&size_first)?.len()),
        browser_wasm_bytes: Some(
            std::fs::metadata(
                browser_page
                    .join("pkg")
                    .join(format!("{BROWSER_LIB}_bg.wasm")),
            )?
            .len(),
        ),
        browser_version,
        workloads: rows(
            &native_lines,
            &wasm_lines,
            &size_first_lines,
            &browser_lines,
        )?,
    })
}

/// The benchmark guest's builds.
struct Guests {
    native: PathBuf,
    /// wasm32-wasip1 after -Oz, the prebuilt std.
    wasm: PathBuf,
    /// The same with the size-first std (`ops::build::std_mode`).
    size_first: PathBuf,
    /// The browser guest's page: `bench.html`, `bench.js` and `pkg/`.
    browser_page: PathBuf,
}

/// Builds the guest natively and for wasm32-wasip1 (then -Oz, as shipped)
/// with each std, in target dirs of its own: the guest alone, without the
/// `rocksdb` feature, so no C++ is built and the workspace's feature
/// unification stays out.
fn build_guests(sh: &Shell, ws: &Workspace, profile: &str) -> Result<Guests> {
    setup::ensure_targets(sh, &[WASM_TARGET, BROWSER_TARGET])?;
    let toolchain = Toolchain::read(sh)?;
    setup::ensure_rust_src(sh, &toolchain, "the size-first guest of bench-runtime")?;
    let target_dir = ws.target_dir.join("bench-runtime");
    let size_first_dir = ws.target_dir.join("bench-runtime-size-first");
    let browser_dir = ws.target_dir.join("bench-runtime-browser");
    let cargo = cargo();
    let _root = sh.push_dir(&ws.root);
    let builds = [
        (None, &target_dir, false),
        (Some(WASM_TARGET), &target_dir, false),
        (Some(WASM_TARGET), &size_first_dir, true),
    ];
    for (target, dir, size_first) in builds {
        let target = target.map(|t| ["--target", t]).into_iter().flatten();
        let cmd = cmd!(
            sh,
            "{cargo} build -p {GUEST_PACKAGE} --bin {GUEST_BIN} --profile {profile} --target-dir {dir} {target...}"
        );
        build::with_std(cmd, size_first, &[])
            .run()
            .context("building the benchmark guest failed; cargo's errors are above")?;
    }
    let cmd = cmd!(
        sh,
        "{cargo} build -p {BROWSER_PACKAGE} --lib --features bench --profile {profile} --target {BROWSER_TARGET} --target-dir {browser_dir}"
    );
    build::with_std(cmd, true, &[])
        .run()
        .context("building the browser guest failed; cargo's errors are above")?;
    let out_dir = |dir: &Path, triple: Option<&str>| {
        let mut d = dir.to_path_buf();
        if let Some(t) = triple {
            d.push(t);
        }
        // Cargo's built-in `bench` profile writes to `release/`.
        d.push(if profile == "bench" {
            "release"
        } else {
            profile
        });
        d
    };
    let native =
        out_dir(&target_dir, None).join(format!("{GUEST_BIN}{}", std::env::consts::EXE_SUFFIX));
    let shipped = |dir: &Path| -> Result<PathBuf> {
        let raw = out_dir(dir, Some(WASM_TARGET)).join(format!("{GUEST_BIN}.wasm"));
        let shipped = artifacts::opt_path(&raw);
        shrink::ship(&raw, &shipped, &artifacts::opt_cache_dir(ws))?;
        Ok(shipped)
    };
    let raw = out_dir(&browser_dir, Some(BROWSER_TARGET)).join(format!("{BROWSER_LIB}.wasm"));
    web::package_for_page(&raw, BROWSER_LIB, &artifacts::opt_cache_dir(ws))?;
    let browser_page = lay_out_page(ws, &raw, &browser_dir.join("page"))?;
    Ok(Guests {
        native,
        wasm: shipped(&target_dir)?,
        size_first: shipped(&size_first_dir)?,
        browser_page,
    })
}

/// Lays out the browser guest's page afresh in `into`: `benches/www/`, and
/// `pkg/` with the bindings and the -Oz module made beside `raw`.
fn lay_out_page(ws: &Workspace, raw: &Path, into: &Path) -> Result<PathBuf> {
    let built = artifacts::pkg_dir(raw.parent().context("a cargo output has a parent dir")?);
    let wasm = built.join(format!("{BROWSER_LIB}_bg.wasm"));
    let js = built.join(format!("{BROWSER_LIB}.js"));
    page::lay_out(&ws.root.join("benches/www"), &[&wasm, &js], into)?;
    Ok(into.to_owned())
}

/// Opens the bench page at `url` in headless Chromium, in real time, and
/// returns its JSON lines (`#results`) once its `data-status` is `done`.
fn run_page(sh: &Shell, chromium: &Path, url: &str) -> Result<String> {
    let dumped = browser::dump_dom_in_real_time(sh, chromium, url)?;
    if let Some(how) = page::ended(&dumped.dom) {
        bail!(
            "{url} ended in {how}; console: {}",
            dumped.console.join("; ")
        );
    }
    page::element_text(&dumped.dom, "results").with_context(|| format!("{url} has no #results"))
}

struct Output {
    stdout: String,
    stderr: String,
}

fn run_guest(cmd: Cmd<'_>) -> Result<Output> {
    let shown = cmd.to_string();
    let out = cmd
        .quiet()
        .ignore_status()
        .output()
        .with_context(|| format!("cannot run `{shown}`"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        bail!("`{shown}` failed ({}): {}", out.status, stderr.trim());
    }
    Ok(Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    })
}

fn parse_lines(stdout: &str) -> Result<Vec<GuestLine>> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .with_context(|| format!("the guest printed `{l}`, not a result"))
        })
        .collect()
}

fn parse_timings(stderr: &str) -> Result<Timings> {
    stderr
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .context("the runtime printed no --timings line; rebuild it (`cargo xtask run-wasm` does)")
}

/// Pools every sample of each workload per side; rows in the guest's order.
fn rows(
    native: &[GuestLine],
    wasm: &[GuestLine],
    size_first: &[GuestLine],
    browser: &[GuestLine],
) -> Result<Vec<WorkloadRow>> {
    let mut names: Vec<&str> = Vec::new();
    for l in native {
        if !names.contains(&l.name.as_str()) {
            names.push(&l.name);
        }
    }
    let pooled = |lines: &[GuestLine], name: &str| -> Vec<f64> {
        lines
            .iter()
            .filter(|l| l.name == name)
            .flat_map(|l| l.samples_ns.iter().map(|&n| n as f64))
            .collect()
    };
    names
        .into_iter()
        .map(|name| {
            let (n, w, s, b) = (
                pooled(native, name),
                pooled(wasm, name),
                pooled(size_first, name),
                pooled(browser, name),
            );
            ensure!(
                !w.is_empty(),
                "the wasm guest did not run workload `{name}`"
            );
            let (native, wasm) = (Summary::of(&n), Summary::of(&w));
            let size_first = (!s.is_empty()).then(|| Summary::of(&s));
            let browser = (!b.is_empty()).then(|| Summary::of(&b));
            // A clock that did not move (virtual time, a coarse timer)
            // reads 0: a figure no workload takes.
            ensure!(
                browser.as_ref().is_none_or(|b| b.median > 0.0),
                "the browser timed workload `{name}` at 0 ns: its clock did not advance"
            );
            let per_native = |median: f64| median / native.median.max(1.0);
            Ok(WorkloadRow {
                name: name.to_owned(),
                native_ns: native.median.round() as u64,
                wasm_ns: wasm.median.round() as u64,
                ratio: per_native(wasm.median),
                wasm_size_first_ns: size_first.as_ref().map(|s| s.median.round() as u64),
                ratio_size_first: size_first.as_ref().map(|s| per_native(s.median)),
                native,
                wasm,
                wasm_size_first: size_first,
                browser_ns: browser.as_ref().map(|b| b.median.round() as u64),
                ratio_browser: browser.as_ref().map(|b| per_native(b.median)),
                browser,
            })
        })
        .collect()
}

fn human_ns(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.2} s", n / 1e9),
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.1} µs", n / 1e3),
        n => format!("{n:.0} ns"),
    }
}

pub fn table(report: &RuntimeReport) -> Table {
    let mut t = Table::new([
        "workload",
        "native (median)",
        "wasm (median)",
        "ratio",
        "wasm size-first std",
        "ratio",
        "browser (median)",
        "ratio",
        "native min–max",
        "wasm min–max",
        "goal ≤ 1.5",
    ]);
    for w in &report.workloads {
        let met = w.ratio <= GOAL_RATIO
            && w.ratio_size_first.is_none_or(|r| r <= GOAL_RATIO)
            && w.ratio_browser.is_none_or(|r| r <= GOAL_RATIO);
        t.row([
            w.name.clone(),
            human_ns(w.native.median),
            human_ns(w.wasm.median),
            format!("{:.2}", w.ratio),
            w.wasm_size_first
                .as_ref()
                .map_or("-".to_owned(), |s| human_ns(s.median)),
            w.ratio_size_first
                .map_or("-".to_owned(), |r| format!("{r:.2}")),
            w.browser
                .as_ref()
                .map_or("-".to_owned(), |b| human_ns(b.median)),
            w.ratio_browser
                .map_or("-".to_owned(), |r| format!("{r:.2}")),
            format!("{}–{}", human_ns(w.native.min), human_ns(w.native.max)),
            format!("{}–{}", human_ns(w.wasm.min), human_ns(w.wasm.max)),
            if met { "met" } else { "MISSED" }.to_owned(),
        ]);
    }
    t
}

pub fn markdown(report: &RuntimeReport, table: &Table) -> String {
    format!(
        "# Runtime: wasm and the browser versus native\n\n\
         Written by `cargo xtask bench-runtime`; do not edit.\n\n\
         The demo's workload and the store operations it exercises, on the memory \
         stores, timed by the guest itself (`benches/workloads.rs`): natively, and \
         as wasm32-wasip1 after -Oz under the embedded wasmtime runtime, with the \
         prebuilt std and with the size-first std (`std = \"size\"`, what the demo \
         ships); and in headless Chromium ({}), from web-demo's `bench` feature \
         (wasm32-unknown-unknown, size-first std, bindings and -Oz, as the shipped \
         page), timed with `performance.now()` on a cross-origin isolated page, in real \
         time. In the browser the demo's 1 ms sleeps wait on the clock, not on a timer. \
         Each figure is the median time of one iteration over {} samples; \
         the goal (wasm at most 1.5x native) is met when every wasm column meets it.\n\n\
         - profile: `{}`\n\
         - wasm module: {} B, size-first {}, browser {}; wasmtime compile {:.1} ms, \
         instantiate {:.2} ms (median of {} runs, outside every workload figure)\n\n{}\n{}",
        report.browser_version.as_deref().unwrap_or("-"),
        report.runs * report.samples,
        report.profile,
        report.wasm_bytes,
        report
            .wasm_size_first_bytes
            .map_or("-".to_owned(), |b| format!("{b} B")),
        report
            .browser_wasm_bytes
            .map_or("-".to_owned(), |b| format!("{b} B")),
        report.compile_ms.median,
        report.instantiate_ms.median,
        report.runs,
        table.render_markdown(),
        report.conditions.markdown(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, samples: &[u64]) -> GuestLine {
        GuestLine {
            name: name.into(),
            samples_ns: samples.to_vec(),
        }
    }

    #[test]
    fn rows_pool_runs_and_divide_medians() {
        let native = [line("a", &[10, 30]), line("b", &[5]), line("a", &[20])];
        let wasm = [line("a", &[30, 40, 50]), line("b", &[5])];
        let sizes = [line("a", &[60]), line("b", &[10])];
        let browser = [line("a", &[25, 35]), line("b", &[15])];
        let rows = rows(&native, &wasm, &sizes, &browser).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].name.as_str(), rows[0].native_ns, rows[0].wasm_ns),
            ("a", 20, 40)
        );
        assert!((rows[0].ratio - 2.0).abs() < 1e-9);
        assert!((rows[1].ratio - 1.0).abs() < 1e-9);
        assert_eq!(rows[0].wasm_size_first_ns, Some(60));
        assert!((rows[0].ratio_size_first.unwrap() - 3.0).abs() < 1e-9);
        assert!((rows[1].ratio_size_first.unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(rows[0].browser_ns, Some(30));
        assert!((rows[0].ratio_browser.unwrap() - 1.5).abs() < 1e-9);
        assert!((rows[1].ratio_browser.unwrap() - 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_browser_clock_that_did_not_move_is_an_error() {
        let err = rows(
            &[line("a", &[5])],
            &[line("a", &[5])],
            &[],
            &[line("a", &[0, 0])],
        )
        .unwrap_err();
        assert!(err.to_string().contains("did not advance"), "{err}");
    }

    #[test]
    fn reports_without_the_browser_column_still_load() {
        let row: WorkloadRow = serde_json::from_value(serde_json::json!({
            "name": "a", "native_ns": 1, "wasm_ns": 2, "ratio": 2.0,
            "native": Summary::of(&[1.0]), "wasm": Summary::of(&[2.0]),
        }))
        .unwrap();
        assert_eq!((row.browser_ns, row.ratio_browser), (None, None));
        assert!(!serde_json::to_string(&row).unwrap().contains("browser"));
    }

    #[test]
    fn a_workload_missing_on_wasm_is_an_error() {
        let err = rows(&[line("a", &[1])], &[], &[], &[]).unwrap_err();
        assert!(err.to_string().contains("`a`"), "{err}");
    }

    #[test]
    fn timings_are_the_last_json_line_of_stderr() {
        let t = parse_timings("warning: x\n{\"compile_ns\":5,\"instantiate_ns\":7,\"run_ns\":9}\n")
            .unwrap();
        assert_eq!((t.compile_ns, t.instantiate_ns), (5, 7));
        assert!(parse_timings("no timings here\n").is_err());
    }

    #[test]
    fn guest_output_that_is_not_json_is_an_error_quoting_it() {
        let err = parse_lines("{\"name\":\"a\",\"samples_ns\":[1]}\nboom\n").unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
    }
}
