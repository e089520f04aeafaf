//! A shared compiler cache: sccache in front of a Redis server, reached
//! through `build-wasm` (with `--cache sccache` or a user's
//! `RUSTC_WRAPPER`), and `cargo xtask bench-cache`'s bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{
    add_tiny_dependency, assert_could_not_run, run, stderr, write_tiny_workspace, xtask,
};

/// A program the test started, killed when the test ends however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A tool the `cargo xtask test` step installs for this test and names in
/// `var`; otherwise the one on PATH.
fn test_tool(var: &str, name: &str) -> PathBuf {
    let tool = std::env::var_os(var).map_or_else(|| PathBuf::from(name), PathBuf::from);
    let found = Command::new(&tool).arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "{} not found: run this test through `cargo xtask test`, which installs it, or set {var}",
        tool.display()
    );
    tool
}

/// A Redis server on 127.0.0.1 that keeps nothing on disk. Its port is one
/// the kernel had free; should another program take it first, Redis exits
/// and the next free port is tried, so the outcome never depends on it.
fn start_redis(dir: &Path) -> (Killed, u16) {
    let redis = test_tool("XTASK_TEST_REDIS", "redis-server");
    for _ in 0..20 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Killed(
            Command::new(&redis)
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(dir)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_secs(20) {
            if server.0.try_wait().unwrap().is_some() {
                break; // the port was taken: try another
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (server, port);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = server.0.kill();
    }
    panic!("redis-server did not start on any of 20 free ports");
}

/// sccache's counts of hits and misses, all languages together.
fn sccache_counts(sccache: &Path, env: &[(&str, String)]) -> (u64, u64) {
    let out = Command::new(sccache)
        .args(["--show-stats", "--stats-format", "json"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        stats["cache_location"]
            .as_str()
            .unwrap()
            .starts_with("redis"),
        "{stats}"
    );
    let sum = |key: &str| -> u64 {
        stats["stats"][key]["counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum()
    };
    (sum("cache_hits"), sum("cache_misses"))
}

/// An sccache server of the test's own, on a socket in a temp dir (a
/// user's server, and its statistics, stay out of it), with a Redis server
/// behind it as a team's shared cache, started without base dirs as an
/// earlier build would have; stopped when the test ends.
struct SccacheServer {
    sccache: PathBuf,
    env: Vec<(&'static str, String)>,
    dir: tempfile::TempDir,
    _redis: Killed,
}

impl SccacheServer {
    fn start() -> Self {
        let sccache = test_tool("XTASK_TEST_SCCACHE", "sccache");
        let dir = tempfile::tempdir().unwrap();
        let (redis, port) = start_redis(dir.path());
        let env = vec![
            (
                "SCCACHE_SERVER_UDS",
                dir.path().join("sccache.sock").display().to_string(),
            ),
            (
                "SCCACHE_REDIS_ENDPOINT",
                format!("redis://127.0.0.1:{port}"),
            ),
            ("SCCACHE_DIR", dir.path().join("disk").display().to_string()),
            ("SCCACHE_IDLE_TIMEOUT", "0".to_owned()),
        ];
        let start = Command::new(&sccache)
            .arg("--start-server")
            .env_remove("SCCACHE_BASEDIRS")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(start.status.success(), "{}", stderr(&start));
        Self {
            sccache,
            env,
            dir,
            _redis: redis,
        }
    }
}

impl Drop for SccacheServer {
    fn drop(&mut self) {
        let _ = Command::new(&self.sccache)
            .arg("--stop-server")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output();
    }
}

/// The bug this guards: xtask used to leave CARGO_TARGET_DIR in its
/// children's environment, sccache hashes every CARGO_* variable, and a
/// second build into another target dir missed every crate. Here the same
/// package is built twice through `build-wasm`, each time with another
/// CARGO_TARGET_DIR, with sccache in front of a Redis server as a team's
/// shared cache: the second build must be all hits. Both profiles, so the
/// debug build shows CARGO_INCREMENTAL=0 at work (sccache refuses
/// incremental builds). sccache caches library crates only, so the
/// package has a library beside its binary.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it with sccache and Redis installed"]
fn a_second_build_into_another_target_dir_hits_the_redis_backed_cache() {
    let server = SccacheServer::start();
    let (sccache, env, dir) = (server.sccache.clone(), server.env.clone(), &server.dir);

    let ws = dir.path().join("ws");
    write_tiny_workspace(&ws, "tiny-cached");
    // sccache caches libraries, not binaries: give the package one.
    std::fs::write(
        ws.join("app/src/lib.rs"),
        "pub fn answer() -> u32 {\n    42\n}\n",
    )
    .unwrap();
    let build = |target: &str| {
        let out = run(xtask(&["build-wasm"])
            .current_dir(&ws)
            .env("CARGO_TARGET_DIR", dir.path().join(target))
            .env("RUSTC_WRAPPER", &sccache)
            .env_remove("CARGO_INCREMENTAL")
            .env_remove("SCCACHE_BASEDIRS")
            .envs(env.iter().map(|(k, v)| (k, v))));
        assert!(out.status.success(), "{}", stderr(&out));
        sccache_counts(&sccache, &env)
    };
    let (hits, first_misses) = build("target-a");
    assert_eq!(hits, 0, "the cache started empty");
    assert!(
        first_misses >= 2,
        "debug and release were compiled: {first_misses}"
    );
    let (hits, misses) = build("target-b");
    assert_eq!(
        (hits, misses - first_misses),
        (first_misses, 0),
        "the second build, into another target dir, must hit for every crate the first compiled"
    );
}

/// sccache reads SCCACHE_BASEDIRS when its server starts. A server already
/// running (started by an earlier build without it) kept what xtask sets
/// from taking effect, so a second clone at another path missed. Now: with
/// the user's own RUSTC_WRAPPER, the build says so in one line; with
/// `--cache sccache`, xtask restarts the server with the checkout's base
/// dirs, and the second clone hits.
#[test]
#[ignore = "end to end: `cargo xtask test` runs it with sccache and Redis installed"]
fn a_running_sccache_server_without_our_base_dirs_is_restarted_or_named() {
    // Someone else's server, started first, without base dirs.
    let server = SccacheServer::start();
    let (sccache, env, dir) = (server.sccache.clone(), server.env.clone(), &server.dir);

    // One tiny workspace at two paths, with a registry dependency (in the
    // local cache already: the workspace's own Cargo.lock has it).
    let clones = [dir.path().join("a"), dir.path().join("b/a/longer/path")];
    for ws in &clones {
        write_tiny_workspace(ws, "tiny-clones");
        add_tiny_dependency(ws, "cfg-if = \"1\"");
        std::fs::write(
            ws.join("app/src/lib.rs"),
            "cfg_if::cfg_if! {\n    if #[cfg(target_arch = \"wasm32\")] {\n        \
             pub fn answer() -> u32 { 42 }\n    } else {\n        pub fn answer() -> u32 { 0 }\n    }\n}\n",
        )
        .unwrap();
    }
    let sccache_dir = sccache.parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        sccache_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let build = |ws: &Path, target: &str, owned: bool| {
        let mut cmd = match owned {
            true => xtask(&["--cache", "sccache", "build-wasm", "--release"]),
            false => xtask(&["build-wasm", "--release"]),
        };
        cmd.current_dir(ws)
            .env("CARGO_TARGET_DIR", dir.path().join(target))
            .env("PATH", &path)
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("CARGO_INCREMENTAL")
            .env_remove("SCCACHE_BASEDIRS")
            .env_remove("CORTEX_CACHE")
            .envs(env.iter().map(|(k, v)| (k, v)));
        if owned {
            cmd.env_remove("RUSTC_WRAPPER");
        } else {
            cmd.env("RUSTC_WRAPPER", &sccache);
        }
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    // The user's own wrapper: the server is theirs, so one line says why.
    let theirs = build(&clones[0], "target-user", false);
    assert!(
        theirs.contains("warning: sccache's running server strips the base dirs none"),
        "{theirs}"
    );
    // xtask's cache: the server is restarted for each clone's base dirs.
    let first = build(&clones[0], "target-a", true);
    assert!(first.contains("restarting sccache's server"), "{first}");
    let second = build(&clones[1], "target-b", true);
    assert!(second.contains("restarting sccache's server"), "{second}");
    // The server now strips the second clone's base dirs.
    let out = Command::new(&sccache)
        .args(["--show-stats", "--stats-format", "json"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    let basedirs: Vec<&str> = stats["basedirs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let root = format!("{}/", clones[1].display());
    assert!(basedirs.contains(&root.as_str()), "{basedirs:?}");
    // And the second clone hits: cfg-if, compiled by the first. (The
    // member itself misses: cargo gives rustc its CARGO_MANIFEST_DIR, the
    // clone's path, which sccache hashes.)
    let (hits, misses) = sccache_counts(&sccache, &env);
    eprintln!("second clone: {hits} hits, {misses} misses");
    assert!(hits >= 1, "the second clone hit nothing: {misses} misses");
}

#[test]
fn bench_cache_with_an_empty_step_is_refused_and_writes_nothing() {
    let reports = tempfile::tempdir().unwrap();
    let out = run(xtask(&["bench-cache", "--step", " ", "--reports-dir"]).arg(reports.path()));
    assert_could_not_run(&out, &["--step is empty", "--step size-report"]);
    assert_eq!(std::fs::read_dir(reports.path()).unwrap().count(), 0);
}
