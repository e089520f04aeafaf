//! bench-cache's measurement: the shared compiler cache, shown with a real
//! shared backend. A Redis server on 127.0.0.1 stands in for a team's
//! cache, behind an sccache server of the benchmark's own. Two fresh clones
//! of HEAD, at two paths, each with its own target dir, run the same xtask
//! command (`size-report` by default) through it:
//! - clone A, with the cache empty: a cold machine paying for everything;
//! - clone B, with the cache A filled: the next machine of the team.
//!
//! Wall time, sccache's hits and misses per language, and the target dir's
//! bytes go to `reports/compiler-cache.{md,json}`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use xshell::{cmd, Shell};

use crate::ops::bench::report::Conditions;
use crate::ops::env::cache::{self, Redis, Stats};
use crate::ops::env::provenance::Provenance;
use crate::ops::env::setup;
use crate::ops::env::workspace::Workspace;
use crate::util::files::{dir_bytes, remove_dir};
use crate::util::git;
use crate::util::lock::{self, WhenBusy};
use crate::util::process;
use wasm_size::table::{human_bytes, percent, Table};

/// The file stem of bench-cache's report in the reports dir.
pub const REPORT: &str = "compiler-cache";

/// One clone's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    clone: String,
    /// What the cache held when the run started.
    cache: String,
    seconds: f64,
    stats: Stats,
    target_dir_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Where, when and how (rustc, commit, date, cores, load, the command).
    #[serde(flatten)]
    pub conditions: Conditions,
    /// The same provenance as `conditions`, where the first reports had it.
    provenance: Provenance,
    sccache: String,
    /// The command each clone ran.
    step: String,
    rows: Vec<Row>,
}

/// Runs `cargo xtask <step>` in two fresh clones of HEAD through one
/// sccache server over Redis, the cache empty then filled by the first.
pub fn measure(sh: &Shell, ws: &Workspace, step: &[&str]) -> Result<Report> {
    let step_text = step.join(" ");
    let sccache = cache::ensure_sccache(sh, ws)?;
    let redis = setup::ensure_redis(sh)?;
    let base = ws.target_dir.join("bench-cache");
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    let note = format!(
        "waiting for another `cargo xtask bench-cache` using {}",
        base.display()
    );
    let _lock = lock::acquire(&base.join(".lock"), WhenBusy::Wait(&note))?;
    let clones = [("A", base.join("a")), ("B", base.join("b"))];
    let (server, redis_dir) = (base.join("sccache.sock"), base.join("redis"));
    for dir in clones.iter().map(|(_, d)| d).chain([&redis_dir]) {
        remove_dir(dir)?;
    }
    std::fs::create_dir_all(&redis_dir)?;
    let redis = Redis::start(sh, &redis, &redis_dir)?;
    eprintln!(
        "Redis on {} stands in for the team's cache",
        redis.endpoint()
    );

    // The benchmark's own sccache server, on a socket: a user's server and
    // its statistics stay out of it. Its settings reach every child.
    let basedirs = std::env::join_paths(clones.iter().map(|(_, d)| d))?;
    let _env = [
        sh.push_env("SCCACHE_SERVER_UDS", &server),
        sh.push_env("SCCACHE_REDIS_ENDPOINT", redis.endpoint()),
        sh.push_env("SCCACHE_DIR", base.join("sccache-local")),
        sh.push_env("SCCACHE_IDLE_TIMEOUT", "0"),
        sh.push_env("SCCACHE_BASEDIRS", basedirs),
        sh.push_env("RUSTC_WRAPPER", &sccache),
        sh.push_env("CARGO_INCREMENTAL", "0"),
    ];
    let _ = cmd!(sh, "{sccache} --stop-server")
        .quiet()
        .ignore_stderr()
        .ignore_stdout()
        .run();
    cmd!(sh, "{sccache} --start-server").quiet().run()?;
    struct Stop<'a>(&'a Shell, &'a Path);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let sccache = self.1;
            let _ = cmd!(self.0, "{sccache} --stop-server")
                .quiet()
                .ignore_stdout()
                .ignore_stderr()
                .run();
        }
    }
    let _stop = Stop(sh, &sccache);

    // Both clones are of the commit HEAD is now, whatever is committed
    // while the benchmark runs.
    let conditions = Conditions::now(sh, ws);
    let commit = git::resolve(sh, &ws.root, "HEAD")?;
    let cargo = process::cargo();
    let root = &ws.root;
    let mut rows = Vec::new();
    for (i, (name, dir)) in clones.iter().enumerate() {
        cmd!(
            sh,
            "git clone --quiet --no-hardlinks --no-checkout {root} {dir}"
        )
        .run()?;
        cmd!(sh, "git -C {dir} checkout --quiet --detach {commit}").run()?;
        cmd!(sh, "{sccache} --zero-stats")
            .quiet()
            .ignore_stdout()
            .run()?;
        let state = if i == 0 { "empty" } else { "filled by A" };
        eprintln!(
            "\n==> clone {name} ({}), cache {state}: cargo xtask {}",
            dir.display(),
            step_text
        );
        let _dir = sh.push_dir(dir);
        let started = Instant::now();
        let words = step;
        // The step's own report goes to stderr: stdout holds ours alone.
        process::run_on_stderr(cmd!(sh, "{cargo} xtask {words...}"))
            .with_context(|| format!("`cargo xtask {step_text}` failed in clone {name}"))?;
        let seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        let stats = cache::stats(sh, &sccache)?;
        eprintln!(
            "==> clone {name}: {seconds:.1} s, {} hits of {}",
            stats.hits,
            stats.hits + stats.misses
        );
        rows.push(Row {
            clone: name.to_string(),
            cache: state.to_owned(),
            seconds,
            stats,
            target_dir_bytes: dir_bytes(&dir.join("target"))?,
        });
    }
    Ok(Report {
        provenance: conditions.provenance.clone(),
        conditions,
        sccache: cmd!(sh, "{sccache} --version")
            .quiet()
            .read()
            .unwrap_or_default(),
        step: format!("cargo xtask {step_text}"),
        rows,
    })
}

pub fn table(report: &Report) -> Table {
    let mut t = Table::new([
        "clone",
        "cache",
        "wall",
        "hits",
        "rate",
        "by language",
        "target dir",
    ]);
    for r in &report.rows {
        let languages: Vec<String> = r
            .stats
            .by_language
            .iter()
            .map(|(l, h, m)| format!("{l} {h}/{}", h + m))
            .collect();
        t.row([
            r.clone.clone(),
            r.cache.clone(),
            format!("{:.1} s", r.seconds),
            format!("{}/{}", r.stats.hits, r.stats.hits + r.stats.misses),
            percent(r.stats.hits, r.stats.hits + r.stats.misses),
            languages.join(", "),
            human_bytes(r.target_dir_bytes),
        ]);
    }
    t
}

pub fn markdown(report: &Report, table: &Table) -> String {
    let speedup = match report.rows.as_slice() {
        [a, b] if b.seconds > 0.0 => format!(
            "\nClone B took {:.2}x the time of clone A.\n",
            b.seconds / a.seconds
        ),
        _ => String::new(),
    };
    format!(
        "# Compiler cache: two clones through sccache and Redis\n\n\
         Written by `cargo xtask bench-cache`.\n\n\
         Each clone of HEAD (at its own path, with its own target dir) ran `{}` \
         with `RUSTC_WRAPPER` = {} and a Redis server on 127.0.0.1 as the shared \
         cache: clone A with the cache empty, clone B with what A left in it. \
         Hits and misses are sccache's, for that clone's run only.\n\n{}\n{speedup}\n{}",
        report.step,
        report.sccache.trim(),
        table.render_markdown(),
        report.conditions.markdown(),
    )
}
