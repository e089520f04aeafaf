//! Builds wasm packages as the guide does, each alone in its own target dir
//! for wasm32-wasip1, then `-Oz` on release `.wasm` files; and browser
//! packages alike for wasm32-unknown-unknown (release builds only), then their
//! bindings for a page and `-Oz` of those (see `web`).

pub mod artifacts;
pub mod bindgen;
pub mod fresh;
pub mod page;
pub mod runtime;
pub mod shrink;
pub mod std_mode;
pub mod web;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use cargo_metadata::Package;
use xshell::{cmd, Cmd, Shell};

use crate::ops::env::cache;
use crate::ops::env::features::{self, TOKIO_WASM_ERROR};
use crate::ops::env::provenance;
use crate::ops::env::setup::{self, Toolchain};
use crate::ops::env::workspace::{self, Workspace};
use crate::util::lock::{self, Lock, WhenBusy};
use crate::util::process::{self, cargo};
use artifacts::{Artifact, WASM_TARGET};
use shrink::Shrunk;
use std_mode::{SIZE_FIRST_CARGO_ARGS, SIZE_FIRST_RUSTFLAGS};
use wasm_size::artifact::{Kind, Profile, Stage};

/// What a build produced, and the locks on its packages' build dirs: keep
/// it while the artifacts are read, so that another xtask sharing the
/// target dir waits instead of replacing them in between.
#[derive(Debug)]
pub struct Built {
    pub artifacts: Vec<Artifact>,
    _locks: Vec<Lock>,
}

impl Built {
    /// The artifacts, and the locks to keep while they are read.
    pub fn into_parts(self) -> (Vec<Artifact>, Vec<Lock>) {
        (self.artifacts, self._locks)
    }
}

/// Locks the build dir of each of `packages`, in name order (so two runs
/// never wait on each other crosswise), waiting for another xtask holding
/// one and saying who it is.
pub fn lock_packages(ws: &Workspace, packages: &[&Package]) -> Result<Vec<Lock>> {
    let mut names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let dir = artifacts::package_target_dir(ws, name);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let note = format!(
                "waiting for another xtask that is building or measuring {name} in {}",
                dir.display()
            );
            lock::acquire(&dir.join(".xtask-build.lock"), WhenBusy::Wait(&note))
        })
        .collect()
}

/// Builds `packages` × `profiles` (`release-stable-std` for size-first
/// packages only), shrinks release `.wasm`, and returns every artifact
/// produced, with the packages' build dirs locked (see [`Built`]). Builds
/// that are fresh (see `ops::build::fresh`) start no cargo; the others run
/// concurrently, one cargo per package and profile, as many at a time as
/// there are cores.
pub fn build(
    sh: &Shell,
    ws: &Workspace,
    packages: &[&Package],
    profiles: &[Profile],
) -> Result<Built> {
    let locks = lock_packages(ws, packages)?;
    let jobs = jobs(packages, profiles)?;
    let rustc = provenance::rustc_version(sh).unwrap_or_default();
    let before = fresh::inputs_key(ws, &rustc);
    let stale = stale(ws, &jobs, &before.combined());
    if stale.len() < jobs.len() {
        eprintln!(
            "{} of {} builds fresh: no cargo run for them",
            jobs.len() - stale.len(),
            jobs.len()
        );
    }
    if !stale.is_empty() {
        let mut targets: Vec<&str> = stale.iter().map(|(p, _)| artifacts::target_of(p)).collect();
        targets.sort();
        targets.dedup();
        // A wasm-bindgen the generator cannot read would cost a build first.
        if stale.iter().any(|(p, _)| artifacts::is_browser(p)) {
            let lock = std::fs::read_to_string(ws.root.join("Cargo.lock")).unwrap_or_default();
            bindgen::check_lock(&lock)?;
        }
        setup::ensure_targets(sh, &targets)?;
        let started = fresh::build_started();
        cargo_builds(sh, ws, &stale)?;
        // Cargo may have written Cargo.lock: recorded under the new key. If
        // anything else changed meanwhile, the next run asks cargo again.
        let after = fresh::inputs_key(ws, &rustc);
        let key = after.combined();
        for (package, profile) in stale.iter().filter(|_| before.still_holds(&after)) {
            let dir = artifacts::package_profile_dir(ws, package, *profile);
            // Only costs the next run a cargo check if it cannot be written.
            let _ = fresh::record(&dir, &raw_outputs(ws, package, *profile), &key, started);
        }
    }
    let mut artifacts = Vec::new();
    for (package, profile) in &jobs {
        for artifact in artifacts::expected(ws, package, *profile) {
            let page = artifacts::is_browser(package);
            if page && artifact.kind == Kind::Wasm && artifact.stage == Stage::Opt {
                // Raw first in `expected`: checked present below.
                let raw = artifacts::package_profile_dir(ws, package, *profile)
                    .join(format!("{}.wasm", package.name.replace('-', "_")));
                web::package_for_page(
                    &raw,
                    &package.name.replace('-', "_"),
                    &artifacts::opt_cache_dir(ws),
                )?;
            } else if page && artifact.stage == Stage::Opt {
                // The js and the pkg dir, written with the wasm above.
            } else if artifact.stage == Stage::Opt {
                let raw = artifact.path.with_extension("").with_extension("wasm");
                let cache = artifacts::opt_cache_dir(ws);
                let t = Instant::now();
                if shrink::ship(&raw, &artifact.path, &cache)? == Shrunk::Optimized {
                    eprintln!(
                        "      wasm-opt -Oz → {} in {:.2} s",
                        artifact.path.display(),
                        t.elapsed().as_secs_f64()
                    );
                }
                // Its twin with names, for `cargo xtask bloat`; not an artifact.
                let names = artifacts::names_path(&raw);
                let t = Instant::now();
                if shrink::optimize_keeping_names(&raw, &names, &cache)? == Shrunk::Optimized {
                    eprintln!(
                        "      wasm-opt -Oz, names kept → {} in {:.2} s",
                        names.display(),
                        t.elapsed().as_secs_f64()
                    );
                }
            } else if !artifact.path.is_file() {
                bail!(
                    "cargo reported success but {} is missing; remove {} and build again",
                    artifact.path.display(),
                    artifacts::cargo_target_dir(ws, &package.name, *profile).display()
                );
            }
            artifacts.push(artifact);
        }
    }
    Ok(Built {
        artifacts,
        _locks: locks,
    })
}

/// Every package and profile of `packages` × `profiles` that is built
/// (`release-stable-std` only for size-first packages; a browser package
/// only in release, what its page ships, and its stable-std twin):
/// build-wasm's, `--no-build`'s and bench-build's one list.
pub fn jobs<'a>(
    packages: &[&'a Package],
    profiles: &[Profile],
) -> Result<Vec<(&'a Package, Profile)>> {
    let mut jobs = Vec::new();
    for package in packages {
        for profile in std_mode::profiles(package, profiles)? {
            if artifacts::is_browser(package) && !profile.is_release() {
                continue;
            }
            jobs.push((*package, profile));
        }
    }
    Ok(jobs)
}

/// The raw outputs of `package` in `profile`: what its stamp records.
fn raw_outputs(ws: &Workspace, package: &Package, profile: Profile) -> Vec<PathBuf> {
    artifacts::expected(ws, package, profile)
        .into_iter()
        .filter(|a| a.stage == Stage::Raw)
        .map(|a| a.path)
        .collect()
}

/// The jobs whose outputs are not fresh for `key` (see `ops::build::fresh`).
fn stale<'a>(
    ws: &Workspace,
    jobs: &[(&'a Package, Profile)],
    key: &str,
) -> Vec<(&'a Package, Profile)> {
    jobs.iter()
        .copied()
        .filter(|(package, profile)| {
            let dir = artifacts::package_profile_dir(ws, package, *profile);
            !fresh::is_fresh(&dir, &raw_outputs(ws, package, *profile), key)
        })
        .collect()
}

/// The builds of `packages` (every profile a measurement makes) whose
/// outputs are not known to come from the tree as it is now: built before
/// a source, manifest, the toolchain or this xtask changed, or not by
/// xtask. For `--no-build`, which measures what is there.
pub fn not_of_this_tree(sh: &Shell, ws: &Workspace, packages: &[&Package]) -> Result<Vec<String>> {
    let jobs = jobs(packages, &Profile::ALL)?;
    let rustc = provenance::rustc_version(sh).unwrap_or_default();
    let key = fresh::inputs_key(ws, &rustc).combined();
    Ok(stale(ws, &jobs, &key)
        .into_iter()
        .map(|(package, profile)| format!("{} ({profile})", package.name))
        .collect())
}

/// Runs cargo for each package and profile, at most one per core at a time,
/// their stderr shown live (prefixed when several run) and kept, so a tokio
/// feature failure can be explained.
fn cargo_builds(sh: &Shell, ws: &Workspace, jobs: &[(&Package, Profile)]) -> Result<()> {
    let color = std::io::stderr().is_terminal().then_some("--color=always");
    let toolchain = Toolchain::read(sh)?;
    cache::check_server(sh)?;
    let size_first = jobs
        .iter()
        .map(|(package, profile)| std_mode::is_size_first(package, *profile))
        .collect::<Result<Vec<bool>>>()?;
    // Before any cargo starts, so that a missing rust-src builds nothing.
    for ((package, _), &from_source) in jobs.iter().zip(&size_first) {
        if from_source {
            let who = format!("the release build of `{}` (std = \"size\")", package.name);
            setup::ensure_rust_src(sh, &toolchain, &who)?;
        }
    }
    let remap = remap_flags(&toolchain);
    let _root = sh.push_dir(&ws.root);
    let cargo = cargo();
    let mut cmds = Vec::new();
    for (i, (package, profile)) in jobs.iter().enumerate() {
        let target_dir = artifacts::cargo_target_dir(ws, &package.name, *profile);
        fresh::forget(&artifacts::package_profile_dir(ws, package, *profile));
        let name = package.name.as_str();
        let release = profile.is_release().then_some("--release");
        let target = artifacts::target_of(package);
        let cmd = cmd!(
            sh,
            "{cargo} build -p {name} --target {target} --target-dir {target_dir} {release...} {color...}"
        );
        let cmd = with_std(cmd, size_first[i], &remap);
        eprintln!(
            "[{}/{}] {name} ({profile}) for {target}\n$ {cmd}",
            i + 1,
            jobs.len()
        );
        cmds.push(cmd);
    }
    let started = Instant::now();
    let concurrent = std::thread::available_parallelism().map_or(1, |n| n.get());
    let labels: Vec<String> = jobs
        .iter()
        .map(|(p, profile)| format!("[{} {profile}] ", p.name))
        .collect();
    let prefix = jobs.len() > 1;
    let mut tokio_error = vec![false; jobs.len()];
    let statuses = process::run_concurrently(cmds, concurrent, |i, line| {
        let label = if prefix { labels[i].as_str() } else { "" };
        eprintln!("{label}{line}");
        tokio_error[i] |= line.contains(TOKIO_WASM_ERROR);
    })?;
    eprintln!(
        "      {} build(s) done in {:.1} s",
        jobs.len(),
        started.elapsed().as_secs_f64()
    );
    let failed: Vec<String> = jobs
        .iter()
        .zip(&statuses)
        .enumerate()
        .filter(|(_, (_, status))| !status.success())
        .map(|(i, ((package, profile), _))| {
            if tokio_error[i] {
                explain_tokio_failure(sh, ws, &package.name);
            }
            format!(
                "{} ({profile}) for {}",
                package.name,
                artifacts::target_of(package)
            )
        })
        .collect();
    if !failed.is_empty() {
        bail!(
            "building {} failed; cargo's errors are above",
            failed.join(", ")
        );
    }
    Ok(())
}

/// `--remap-path-prefix` flags that take this machine's paths out of the
/// binary. Panic locations name source files: dependencies under
/// CARGO_HOME (`registry/src/<index>/tokio-1.48.0/src/…`, git checkouts)
/// and std's source under `toolchain`'s sysroot (see below). Remapped, the same
/// commit gives the same bytes whatever CARGO_HOME, and the shorter
/// strings are smaller. The workspace's members need none: cargo hands
/// rustc their sources relative to the workspace root. Nor may the
/// checkout's path be in these flags, which every crate gets: a compiler
/// cache hashes them, and a second clone at another path would miss even
/// for tokio (measured: no remap of the checkout, the same bytes from two
/// clone paths, and a registry crate hits in the second clone).
pub fn remap_flags(toolchain: &Toolchain) -> Vec<String> {
    let mut prefixes: Vec<(PathBuf, String)> = Vec::new();
    // std's source, where rust-src is installed: rustc names the local copy
    // in the panic locations of std code inlined into ours (and builds std
    // from it, size-first), where without the component it writes
    // `/rustc/<commit>/library/…`. Mapped back, the bytes are the same with
    // or without the component, as in rustc's own dist builds.
    if let Some(hash) = &toolchain.commit_hash {
        prefixes.push((toolchain.rust_src(), format!("/rustc/{hash}")));
    }
    if let Some(home) = workspace::cargo_home() {
        prefixes.push((home.clone(), "/cargo".to_owned()));
        // Each registry's sources, `registry/src/index.crates.io-<hash>`,
        // as `/crates`: the same on every machine, and 50 bytes shorter in
        // every panic location of a dependency.
        let sources = home.join("registry").join("src");
        for index in std::fs::read_dir(&sources).into_iter().flatten().flatten() {
            prefixes.push((index.path(), "/crates".to_owned()));
        }
        prefixes.push((home.join("git").join("checkouts"), "/git".to_owned()));
    }
    let mut flags = Vec::new();
    for (path, to) in prefixes {
        // Cargo hands rustc the path as configured; a symlinked one also
        // resolves to its canonical form in some places.
        let canonical = path.canonicalize().ok().filter(|c| *c != path);
        for from in canonical.into_iter().chain([path]) {
            flags.push(format!("--remap-path-prefix={}={to}", from.display()));
        }
    }
    flags
}

/// `cmd`, a `cargo build` for wasm, with `extra` rustflags joined to the
/// user's, and for a size-first build the size-first std: its cargo
/// arguments and rustflags, and `RUSTC_BOOTSTRAP=1` for this build alone.
pub fn with_std<'a>(cmd: Cmd<'a>, size_first: bool, extra: &[String]) -> Cmd<'a> {
    let mut flags = extra.to_vec();
    let mut cmd = cmd;
    if size_first {
        flags.extend(SIZE_FIRST_RUSTFLAGS.iter().map(|(f, _)| (*f).to_owned()));
        cmd = cmd
            .args(SIZE_FIRST_CARGO_ARGS.iter().map(|(a, _)| *a))
            .env("RUSTC_BOOTSTRAP", "1");
    }
    if flags.is_empty() {
        return cmd;
    }
    let (flags_env, flags_config) = with_rustflags(
        std::env::var("CARGO_ENCODED_RUSTFLAGS").ok().as_deref(),
        std::env::var("RUSTFLAGS").ok().as_deref(),
        &flags,
    );
    if let Some(config) = flags_config {
        cmd = cmd.args(["--config", config.as_str()]);
    }
    match flags_env {
        Some(encoded) => cmd.env("CARGO_ENCODED_RUSTFLAGS", encoded),
        None => cmd,
    }
}

/// Adds `extra` to the rustflags the user gave, never replacing them.
/// Cargo takes the first of CARGO_ENCODED_RUSTFLAGS, RUSTFLAGS and the
/// config files' `build.rustflags`, so: with either variable set, the child
/// gets CARGO_ENCODED_RUSTFLAGS holding the user's flags, then `extra`
/// (the first value); with neither, `extra` goes in as `--config
/// build.rustflags=[…]` (the second), which cargo joins to the config
/// files' array. A user's `target.<triple>.rustflags` wins over
/// `build.rustflags`: then theirs apply as they are, and the paths stay.
pub fn with_rustflags(
    encoded: Option<&str>,
    plain: Option<&str>,
    extra: &[String],
) -> (Option<String>, Option<String>) {
    let user: Option<Vec<&str>> = match (encoded, plain) {
        (Some(e), _) => Some(e.split('\x1f').filter(|f| !f.is_empty()).collect()),
        (None, Some(p)) => Some(p.split_whitespace().collect()),
        (None, None) => None,
    };
    match user {
        Some(mut flags) => {
            flags.extend(extra.iter().map(String::as_str));
            (Some(flags.join("\x1f")), None)
        }
        None => {
            let array = serde_json::to_string(extra).expect("strings serialise");
            (None, Some(format!("build.rustflags={array}")))
        }
    }
}

fn explain_tokio_failure(sh: &Shell, ws: &Workspace, package: &str) {
    eprintln!("\ndiagnosis: tokio got features that wasm does not support.");
    match features::tokio_leaks(sh, &ws.root_manifest(), WASM_TARGET) {
        Ok(leaks) => {
            let own: Vec<_> = leaks.iter().filter(|l| l.member == package).collect();
            for leak in &own {
                eprintln!("  {}", leak.describe());
            }
            if own.is_empty() {
                eprintln!(
                    "  no dependency edge of {package} asks for them; run `cargo xtask doctor`"
                );
            } else {
                eprintln!(
                    "  fix: ask tokio only for {} on wasm32, e.g. under \
                     [target.'cfg(target_arch = \"wasm32\")'.dependencies]",
                    features::WASM_TOKIO_FEATURES.join(", ")
                );
            }
        }
        Err(e) => eprintln!("  (could not analyse the dependency graph: {e:#})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remapping_joins_the_users_rustflags_and_never_replaces_them() {
        let extra = ["--remap-path-prefix=/home/me/.cargo=/cargo".to_owned()];
        // From CARGO_ENCODED_RUSTFLAGS: kept whole, spaces and all.
        let (env, config) = with_rustflags(Some("-C\x1ftarget-cpu=a b"), Some("-O"), &extra);
        assert_eq!(
            env.as_deref(),
            Some("-C\x1ftarget-cpu=a b\x1f--remap-path-prefix=/home/me/.cargo=/cargo")
        );
        assert_eq!(config, None);
        // From RUSTFLAGS, split as cargo splits it.
        let (env, _) = with_rustflags(None, Some(" -C  opt-level=s "), &extra);
        assert_eq!(
            env.as_deref(),
            Some("-C\x1fopt-level=s\x1f--remap-path-prefix=/home/me/.cargo=/cargo")
        );
        // Neither: a --config array that cargo joins to the config files'.
        let (env, config) = with_rustflags(None, None, &extra);
        assert_eq!(env, None);
        assert_eq!(
            config.as_deref(),
            Some(r#"build.rustflags=["--remap-path-prefix=/home/me/.cargo=/cargo"]"#)
        );
    }
}
