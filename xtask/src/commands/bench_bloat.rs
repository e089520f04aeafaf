//! `cargo xtask bench-bloat`: time and peak memory of `bloat --retained`
//! and `bloat --why` on a large generated module (`size::synthetic::large`:
//! by default ~33 MB and 26,104 functions, a third of them trait methods
//! behind vtables), and of twiggy's `dominators` and `paths` on the same
//! file when twiggy is installed. Each figure is the median of `--runs`
//! runs of a child process, measured by GNU time (`/usr/bin/time`).
//! Writes `reports/bloat-bench.{md,json}`.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;
use xshell::{cmd, Shell};

use super::Outcome;
use crate::ops::env::workspace::Workspace;
use crate::util::files::write_atomic;
use crate::util::stats::Summary;
use wasm_size::synthetic::large;
use wasm_size::table::{human_bytes, print_report, Table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Functions in the generated module
    #[arg(long, default_value_t = 26_104)]
    pub functions: u32,
    /// Bytes of each body, about
    #[arg(long, default_value_t = 1_260)]
    pub body_bytes: usize,
    /// Runs of each command; the median is reported
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Where to write bloat-bench.md and .json [default: <workspace>/reports]
    #[arg(long, value_name = "DIR")]
    pub reports_dir: Option<PathBuf>,
    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    tool: String,
    command: String,
    seconds: f64,
    peak_rss_bytes: u64,
}

#[derive(Debug, Serialize)]
struct BenchReport {
    module_bytes: u64,
    functions: u32,
    runs: usize,
    rows: Vec<Row>,
}

const TIME: &str = "/usr/bin/time";

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    ensure!(args.runs > 0, "--runs takes a positive number");
    if !Path::new(TIME).is_file() {
        bail!("{TIME} is missing; install GNU time (Debian: apt-get install time)");
    }
    let dir = ws.reports_dir(args.reports_dir.as_deref());
    let l = large(args.functions, args.body_bytes);
    let wasm = l.module.encode();
    let work = ws.target_dir.join("bench-bloat");
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let file = work.join("large.wasm");
    write_atomic(&file, &wasm)?;
    let target = l.module.functions[*l.chain.last().unwrap_or(&0) as usize]
        .name
        .clone();
    let exe = std::env::current_exe().context("cannot find the running xtask")?;
    let mut rows = Vec::new();
    let xtask = |what: &[&str]| -> Vec<String> {
        let mut v = vec![
            exe.display().to_string(),
            "bloat".into(),
            file.display().to_string(),
        ];
        v.extend(what.iter().map(|s| s.to_string()));
        v
    };
    let mut cases: Vec<(&str, String, Vec<String>)> = vec![
        ("xtask", "bloat".into(), xtask(&[])),
        ("xtask", "bloat --retained".into(), xtask(&["--retained"])),
        (
            "xtask",
            "bloat --retained --json".into(),
            xtask(&["--retained", "--json"]),
        ),
        (
            "xtask",
            format!("bloat --why {target}"),
            xtask(&["--why", &target]),
        ),
    ];
    let twiggy = sh
        .cmd("twiggy")
        .arg("--version")
        .ignore_stdout()
        .ignore_stderr()
        .quiet()
        .run()
        .is_ok();
    if twiggy {
        let f = file.display().to_string();
        cases.push((
            "twiggy 0.8",
            "dominators".into(),
            vec!["twiggy".into(), "dominators".into(), f.clone()],
        ));
        cases.push((
            "twiggy 0.8",
            format!("paths {target}"),
            vec!["twiggy".into(), "paths".into(), f, target.clone()],
        ));
    } else {
        eprintln!("note: twiggy is not installed (`cargo install twiggy`), so it is not compared");
    }
    for (tool, command, argv) in cases {
        let (mut seconds, mut rss) = (Vec::new(), Vec::new());
        for run in 1..=args.runs {
            eprintln!("[{run}/{}] {tool} {command}", args.runs);
            let (s, r) = timed(sh, &argv)?;
            seconds.push(s);
            rss.push(r as f64);
        }
        rows.push(Row {
            tool: tool.into(),
            command,
            seconds: Summary::of(&seconds).median,
            peak_rss_bytes: Summary::of(&rss).median as u64,
        });
    }
    let report = BenchReport {
        module_bytes: wasm.len() as u64,
        functions: args.functions,
        runs: args.runs,
        rows,
    };
    let mut t = Table::new(["tool", "command", "seconds", "peak RSS"]);
    for r in &report.rows {
        t.row([
            r.tool.clone(),
            r.command.clone(),
            format!("{:.2}", r.seconds),
            human_bytes(r.peak_rss_bytes),
        ]);
    }
    let head = format!(
        "Generated module: {} ({} bytes), {} functions; median of {} runs, GNU time.\n",
        human_bytes(report.module_bytes),
        report.module_bytes,
        report.functions,
        report.runs
    );
    let md = format!(
        "# bloat on a large module\n\nWritten by `cargo xtask bench-bloat`.\n{head}\n{}",
        t.render_markdown()
    );
    let json = serde_json::to_string_pretty(&report)? + "\n";
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_atomic(&dir.join("bloat-bench.json"), json.as_bytes())?;
    write_atomic(&dir.join("bloat-bench.md"), md.as_bytes())?;
    let text = format!(
        "{head}{}wrote {} and {}\n",
        t.render(),
        ws.relative(&dir.join("bloat-bench.md")),
        ws.relative(&dir.join("bloat-bench.json"))
    );
    print_report(&text, &json, args.json);
    Ok(Outcome::Passed)
}

/// Runs `argv` under GNU time, its output dropped: (seconds, peak RSS bytes).
fn timed(sh: &Shell, argv: &[String]) -> Result<(f64, u64)> {
    let out = cmd!(sh, "{TIME} -f 'TIME %e %M' {argv...}")
        .ignore_stdout()
        .quiet()
        .ignore_status()
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
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
    Ok((s.trim().parse()?, kib.trim().parse::<u64>()? * 1024))
}
