//! bench-bloat's measurement: time and peak memory of `bloat`, `bloat
//! --retained` (and `--json`), `--why` and `--garbage`, beside twiggy's
//! `dominators`, `paths` and `garbage` when twiggy is installed, on the
//! same files in the same run: a large generated module
//! (`size::synthetic::large`: by default ~33 MB and 26,104 functions, a
//! third of them trait methods behind vtables) and real ones, large Rust
//! projects' published web builds (`ops::bench_modules`, fetched with
//! `npm pack` into the target dir; without them, one line says so and the
//! generated module is benchmarked alone). Each figure is the median of
//! `--runs` runs of a child process, measured by GNU time
//! (`/usr/bin/time`). Writes `reports/bloat-bench.{md,json}`.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;
use xshell::{cmd, Shell};

use crate::ops::bench::modules::{fetch, why_target, PINNED};
use crate::ops::bench::report::Conditions;
use crate::ops::env::workspace::Workspace;
use crate::util::files::write_atomic;
use crate::util::stats::Summary;
use wasm_size::synthetic::large;
use wasm_size::table::{human_bytes, Table};

/// What to benchmark: the generated module's shape, how many runs, and
/// whether the real modules are fetched too.
pub struct Options {
    pub functions: u32,
    pub body_bytes: usize,
    pub runs: usize,
    pub generated_only: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    tool: String,
    command: String,
    seconds: f64,
    peak_rss_bytes: u64,
    /// Which of `modules` it ran on.
    module: String,
    /// Stopped at twiggy's limits, `TWIGGY_LIMIT_SECONDS` or
    /// `TWIGGY_LIMIT_BYTES` of address space (twiggy's `paths` can walk
    /// paths for minutes and tens of GiB); `seconds` and `peak_rss_bytes`
    /// are then those at the stop.
    timed_out: bool,
}

/// One benchmarked file.
#[derive(Debug, Serialize)]
struct Module {
    name: String,
    /// `generated`, or the npm package and version it comes from.
    source: String,
    bytes: u64,
    functions: u32,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Where, when and how (rustc, commit, date, cores, load, the command).
    #[serde(flatten)]
    pub conditions: Conditions,
    /// The generated module's size and functions.
    module_bytes: u64,
    functions: u32,
    runs: usize,
    rows: Vec<Row>,
    modules: Vec<Module>,
}

/// A file to run the commands on, and the function `--why` asks about.
struct Subject {
    module: Module,
    file: PathBuf,
    /// As `bloat` and as twiggy name it.
    target: String,
    twiggy_target: String,
}

/// The module that shows each tool's floor: its peak memory on a module
/// too small to cost anything (the binary, its libraries, its start-up).
/// On the others, what lies above the floor is the analysis's own.
const FLOOR: &str = "floor";
const FLOOR_FUNCTIONS: u32 = 64;

const TIME: &str = "/usr/bin/time";
const TWIGGY: &str = "twiggy 0.8";
/// How long a twiggy run may take, and how much memory it may map, before
/// it is stopped and reported as such; not run again then. Without the
/// memory limit, twiggy `paths` on SWC's biggest function took all 24 GiB
/// of the machine within the minute.
const TWIGGY_LIMIT_SECONDS: u32 = 60;
const TWIGGY_LIMIT_BYTES: u64 = 4 << 30;

/// Runs every case on every module, each `runs` times under GNU time.
pub fn measure(sh: &Shell, ws: &Workspace, args: &Options) -> Result<BenchReport> {
    ensure!(args.runs > 0, "--runs takes a positive number");
    if !Path::new(TIME).is_file() {
        bail!("{TIME} is missing; install GNU time (Debian: apt-get install time)");
    }
    let work = ws.target_dir.join("bench-bloat");
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let mut subjects = vec![
        generated(&work, "generated", args.functions, args.body_bytes)?,
        generated(&work, FLOOR, FLOOR_FUNCTIONS, 8)?,
    ];
    if !args.generated_only {
        subjects.extend(real(sh, &work.join("modules")));
    }
    let twiggy = sh
        .cmd("twiggy")
        .arg("--version")
        .ignore_stdout()
        .ignore_stderr()
        .quiet()
        .run()
        .is_ok();
    if !twiggy {
        eprintln!("note: twiggy is not installed (`cargo install twiggy`), so it is not compared");
    }
    let exe = std::env::current_exe().context("cannot find the running xtask")?;
    // Read when the measurement starts: the date and load of the benchmark.
    let conditions = Conditions::now(sh, ws);
    let mut rows = Vec::new();
    for s in &subjects {
        for (tool, command, argv) in cases(&exe, s, twiggy) {
            let limit = (tool == TWIGGY).then_some(TWIGGY_LIMIT_SECONDS);
            let (mut seconds, mut rss, mut timed_out) = (Vec::new(), Vec::new(), false);
            for run in 1..=args.runs {
                eprintln!("[{run}/{}] {}: {tool} {command}", args.runs, s.module.name);
                let (t, r, stopped) = timed(sh, &argv, limit)?;
                if stopped {
                    eprintln!(
                        "  stopped at {t:.2} s, at the limit of {TWIGGY_LIMIT_SECONDS} s or {} \
                         of memory; not run again",
                        human_bytes(TWIGGY_LIMIT_BYTES)
                    );
                    (seconds, rss, timed_out) = (vec![t], vec![r as f64], true);
                    break;
                }
                seconds.push(t);
                rss.push(r as f64);
            }
            rows.push(Row {
                tool: tool.into(),
                command,
                seconds: Summary::of(&seconds).median,
                peak_rss_bytes: Summary::of(&rss).median as u64,
                module: s.module.name.clone(),
                timed_out,
            });
        }
    }
    let generated = &subjects[0].module;
    Ok(BenchReport {
        conditions,
        module_bytes: generated.bytes,
        functions: generated.functions,
        runs: args.runs,
        rows,
        modules: subjects.into_iter().map(|s| s.module).collect(),
    })
}

/// A generated module of `functions` bodies of about `body_bytes`,
/// written to `work`.
fn generated(work: &Path, name: &str, functions: u32, body_bytes: usize) -> Result<Subject> {
    let l = large(functions, body_bytes);
    let wasm = l.module.encode();
    let file = work.join(match name {
        FLOOR => "floor.wasm",
        _ => "large.wasm",
    });
    write_atomic(&file, &wasm)?;
    let target = l.module.functions[*l.chain.last().unwrap_or(&0) as usize]
        .name
        .clone();
    Ok(Subject {
        module: Module {
            name: name.into(),
            source: "generated".into(),
            bytes: wasm.len() as u64,
            functions,
        },
        file,
        twiggy_target: target.clone(),
        target,
    })
}

/// The pinned real modules that could be had; for the others, one line.
fn real(sh: &Shell, dir: &Path) -> Vec<Subject> {
    let mut out = Vec::new();
    for p in &PINNED {
        let got = fetch(sh, dir, p).and_then(|file| {
            let t = why_target(&file)?;
            let bytes = std::fs::metadata(&file)?.len();
            Ok((file, t, bytes))
        });
        match got {
            Ok((file, t, bytes)) => out.push(Subject {
                module: Module {
                    name: p.name.into(),
                    source: p.spec(),
                    bytes,
                    functions: t.functions,
                },
                file,
                target: t.ours,
                twiggy_target: t.twiggy,
            }),
            Err(e) => eprintln!(
                "note: no real module {} ({e:#}); the bench goes on without it",
                p.spec()
            ),
        }
    }
    if out.is_empty() {
        eprintln!("note: no real module could be had: only the generated module is benchmarked");
    }
    out
}

/// What to run on `s`: (tool, command as reported, argv).
fn cases(exe: &Path, s: &Subject, twiggy: bool) -> Vec<(&'static str, String, Vec<String>)> {
    let file = s.file.display().to_string();
    let xtask = |what: &[&str]| -> Vec<String> {
        let mut v = vec![exe.display().to_string(), "bloat".into(), file.clone()];
        v.extend(what.iter().map(|s| s.to_string()));
        v
    };
    let mut cases = vec![
        ("xtask", "bloat".into(), xtask(&[])),
        ("xtask", "bloat --retained".into(), xtask(&["--retained"])),
        (
            "xtask",
            "bloat --retained --json".into(),
            xtask(&["--retained", "--json"]),
        ),
        (
            "xtask",
            format!("bloat --why {}", s.target),
            xtask(&["--why", &s.target]),
        ),
        ("xtask", "bloat --garbage".into(), xtask(&["--garbage"])),
    ];
    if twiggy {
        let twiggy = |what: &[&str]| -> Vec<String> {
            let mut v = vec!["twiggy".to_owned(), what[0].into(), file.clone()];
            v.extend(what[1..].iter().map(|s| s.to_string()));
            v
        };
        cases.push((TWIGGY, "dominators".into(), twiggy(&["dominators"])));
        cases.push((
            TWIGGY,
            format!("paths {}", s.twiggy_target),
            twiggy(&["paths", &s.twiggy_target]),
        ));
        cases.push((TWIGGY, "garbage".into(), twiggy(&["garbage"])));
    }
    cases
}

/// Ours against twiggy's on each module: (ours, twiggy's) commands, by
/// how they start.
const PAIRS: [(&str, &str); 3] = [
    ("bloat --retained", "dominators"),
    ("bloat --why", "paths"),
    ("bloat --garbage", "garbage"),
];

/// The tables, `reports/bloat-bench.{md,json}`, and what is printed.
/// The report as text for the terminal and as Markdown.
pub fn text_and_markdown(report: &BenchReport) -> (String, String) {
    let mut t = Table::new(["module", "tool", "command", "seconds", "peak RSS"]);
    for r in &report.rows {
        t.row([
            r.module.clone(),
            r.tool.clone(),
            r.command.clone(),
            match r.timed_out {
                true => format!("stopped at {:.2}", r.seconds),
                false => format!("{:.2}", r.seconds),
            },
            match r.timed_out {
                true => format!("{} (stopped)", human_bytes(r.peak_rss_bytes)),
                false => human_bytes(r.peak_rss_bytes),
            },
        ]);
    }
    let versus = versus(report);
    let mut head = String::new();
    for m in &report.modules {
        head.push_str(&format!(
            "- {}: {} ({} bytes), {} functions, {}\n",
            m.name,
            human_bytes(m.bytes),
            m.bytes,
            m.functions,
            m.source
        ));
    }
    head.push_str(&format!(
        "\nMedian of {} runs, GNU time; peak RSS is the process's maximum resident set. \
         A twiggy run is stopped at {TWIGGY_LIMIT_SECONDS} s or {} of address space, and not \
         run again.\n",
        report.runs,
        human_bytes(TWIGGY_LIMIT_BYTES)
    ));
    let mut md = format!(
        "# bloat on large modules\n\nWritten by `cargo xtask bench-bloat`.\n\n{head}\n{}",
        t.render_markdown()
    );
    let mut text = format!("{head}{}", t.render());
    if let Some(v) = &versus {
        md.push_str(&format!(
            "\nOurs against twiggy's on the same file (ratio: ours / twiggy's). Above \
             the floor: each peak less the same command's on the {FLOOR} module, the \
             memory the analysis itself takes.\n\n{}",
            v.render_markdown()
        ));
        text.push_str(&format!("\nours / twiggy's:\n{}", v.render()));
    }
    md.push_str(&format!("\n{}", report.conditions.markdown()));
    (text, md)
}

/// Per module and pair of [`PAIRS`], ours over twiggy's time and memory,
/// and memory above each tool's floor (the same command on the [`FLOOR`]
/// module); `None` without twiggy's rows.
fn versus(report: &BenchReport) -> Option<Table> {
    let mut t = Table::new([
        "module",
        "ours",
        "twiggy",
        "time",
        "peak RSS",
        "peak RSS above floor",
    ]);
    let find = |module: &str, tool: &str, command: &str| {
        report.rows.iter().find(|r| {
            r.module == module
                && r.tool == tool
                && (r.command == command || r.command.starts_with(&format!("{command} ")))
        })
    };
    let mut any = false;
    for m in report.modules.iter().filter(|m| m.name != FLOOR) {
        for (ours, theirs) in PAIRS {
            let (Some(a), Some(b)) = (find(&m.name, "xtask", ours), find(&m.name, TWIGGY, theirs))
            else {
                continue;
            };
            any = true;
            let ratio = |x: f64, y: f64| format!("{:.2}", x / y.max(f64::MIN_POSITIVE));
            let above = match (find(FLOOR, "xtask", ours), find(FLOOR, TWIGGY, theirs)) {
                (Some(fa), Some(fb)) if !b.timed_out && !fb.timed_out => ratio(
                    a.peak_rss_bytes.saturating_sub(fa.peak_rss_bytes) as f64,
                    b.peak_rss_bytes.saturating_sub(fb.peak_rss_bytes) as f64,
                ),
                _ => "-".into(),
            };
            let (time, rss) = match b.timed_out {
                // Stopped at the limit: ours is at most this share of it.
                true => (format!("< {:.3}", a.seconds / b.seconds), "-".into()),
                false => (
                    ratio(a.seconds, b.seconds),
                    ratio(a.peak_rss_bytes as f64, b.peak_rss_bytes as f64),
                ),
            };
            t.row([m.name.clone(), ours.into(), theirs.into(), time, rss, above]);
        }
    }
    any.then_some(t)
}

/// Runs `argv` under GNU time, its output dropped: (seconds, peak RSS
/// bytes, stopped). With a `limit` in seconds the run also gets at most
/// `TWIGGY_LIMIT_BYTES` of address space, and `stopped` says it was
/// stopped at either (or failed under them).
fn timed(sh: &Shell, argv: &[String], limit: Option<u32>) -> Result<(f64, u64, bool)> {
    let mut full: Vec<String> = Vec::new();
    if let Some(limit) = limit {
        full.extend([
            "timeout".to_owned(),
            limit.to_string(),
            "prlimit".to_owned(),
            format!("--as={TWIGGY_LIMIT_BYTES}"),
        ]);
    }
    full.extend(argv.iter().cloned());
    let out = cmd!(sh, "{TIME} -f 'TIME %e %M' {full...}")
        .ignore_stdout()
        .quiet()
        .ignore_status()
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stopped = limit.is_some() && !out.status.success();
    if !out.status.success() && !stopped {
        bail!("`{}` failed: {}", argv.join(" "), stderr.trim());
    }
    let line = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("TIME "))
        .with_context(|| format!("no figures from {TIME} in: {stderr}"))?;
    let (s, kib) = line
        .split_once(' ')
        .with_context(|| format!("cannot read `{line}`"))?;
    Ok((
        s.trim().parse()?,
        kib.trim().parse::<u64>()? * 1024,
        stopped,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::env::provenance::Provenance;

    fn row(module: &str, tool: &str, command: &str, seconds: f64, mib: u64) -> Row {
        Row {
            tool: tool.into(),
            command: command.into(),
            seconds,
            peak_rss_bytes: mib << 20,
            module: module.into(),
            timed_out: false,
        }
    }

    fn module(name: &str) -> Module {
        Module {
            name: name.into(),
            source: "generated".into(),
            bytes: 1,
            functions: 1,
        }
    }

    /// Each pair's ratios, the floor's memory taken off both sides; no row
    /// for the floor module itself; a stopped twiggy run gives a bound.
    #[test]
    fn ratios_over_twiggy_and_above_each_floor() {
        let mut rows = Vec::new();
        for (m, ours, theirs) in [(FLOOR, 10, 3), ("big", 24, 31)] {
            rows.push(row(m, "xtask", "bloat --retained", 0.1, ours));
            rows.push(row(m, TWIGGY, "dominators", 0.4, theirs));
            rows.push(row(m, "xtask", "bloat --why f", 0.1, ours));
            rows.push(row(m, TWIGGY, "paths f::h1", 0.2, theirs));
        }
        rows.last_mut().unwrap().timed_out = true;
        let report = BenchReport {
            conditions: Conditions {
                provenance: Provenance {
                    rustc: "rustc 1".into(),
                    commit: "abc".into(),
                    date: "2030-01-01T00:00:00Z".into(),
                    cores: 2,
                },
                load_average: None,
                command: "cargo xtask bench-bloat".into(),
            },
            module_bytes: 1,
            functions: 1,
            runs: 1,
            rows,
            modules: vec![module("generated"), module(FLOOR), module("big")],
        };
        let text = versus(&report).unwrap().render();
        let lines: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| {
                l.split("  ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect();
        assert_eq!(
            lines,
            [
                vec![
                    "big",
                    "bloat --retained",
                    "dominators",
                    "0.25",
                    "0.77",
                    "0.50"
                ],
                vec!["big", "bloat --why", "paths", "< 0.500", "-", "-"],
            ],
            "{text}"
        );
    }
}
