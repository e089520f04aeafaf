//! Builds wasm packages as the guide does, each alone in its own target dir
//! for wasm32-wasip1, then `-Oz` on release `.wasm` files.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::{bail, Result};
use cargo_metadata::Package;
use xshell::{cmd, Shell};

use crate::ops::artifacts::{self, Artifact, WASM_TARGET};
use crate::ops::features::{self, TOKIO_WASM_ERROR};
use crate::ops::setup;
use crate::ops::shrink::{self, Outcome};
use crate::ops::workspace::Workspace;
use crate::size::artifact::{Profile, Stage};
use crate::util::process::{self, cargo};

/// Builds `packages` × `profiles`, shrinks release `.wasm`, and returns every
/// artifact produced.
pub fn build(
    sh: &Shell,
    ws: &Workspace,
    packages: &[&Package],
    profiles: &[Profile],
) -> Result<Vec<Artifact>> {
    setup::ensure_targets(sh, &[WASM_TARGET])?;
    let jobs: Vec<(&Package, Profile)> = packages
        .iter()
        .flat_map(|p| profiles.iter().map(move |profile| (*p, *profile)))
        .collect();
    let mut artifacts = Vec::new();
    for (i, (package, profile)) in jobs.iter().enumerate() {
        let started = Instant::now();
        eprintln!(
            "[{}/{}] {} ({profile}) for {WASM_TARGET}",
            i + 1,
            jobs.len(),
            package.name
        );
        cargo_build(sh, ws, package, *profile)?;
        for artifact in artifacts::expected(ws, package, *profile) {
            if artifact.stage == Stage::Opt {
                let raw = artifact.path.with_extension("").with_extension("wasm");
                let cache = artifacts::opt_cache_dir(ws);
                let t = Instant::now();
                if shrink::ship(&raw, &artifact.path, &cache)? == Outcome::Optimized {
                    eprintln!(
                        "      wasm-opt -Oz → {} in {:.2} s",
                        artifact.path.display(),
                        t.elapsed().as_secs_f64()
                    );
                }
                // Its twin with names, for `cargo xtask bloat`; not an artifact.
                let names = artifacts::names_path(&raw);
                let t = Instant::now();
                if shrink::optimize_keeping_names(&raw, &names, &cache)? == Outcome::Optimized {
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
                    artifacts::package_target_dir(ws, &package.name).display()
                );
            }
            artifacts.push(artifact);
        }
        eprintln!("      done in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(artifacts)
}

/// Runs cargo for one package and profile, its stderr shown live and kept,
/// so a tokio feature failure can be explained.
fn cargo_build(sh: &Shell, ws: &Workspace, package: &Package, profile: Profile) -> Result<()> {
    let target_dir = artifacts::package_target_dir(ws, &package.name);
    let cargo = cargo();
    let name = package.name.as_str();
    let release = (profile == Profile::Release).then_some("--release");
    let color = std::io::stderr().is_terminal().then_some("--color=always");
    let _root = sh.push_dir(&ws.root);
    let cmd = cmd!(
        sh,
        "{cargo} build -p {name} --target {WASM_TARGET} --target-dir {target_dir} {release...} {color...}"
    );
    eprintln!("$ {cmd}");
    let mut tokio_error = false;
    let status =
        process::stream_stderr(cmd, |line| tokio_error |= line.contains(TOKIO_WASM_ERROR))?;
    if status.success() {
        return Ok(());
    }
    if tokio_error {
        explain_tokio_failure(sh, ws, name);
    }
    bail!("building {name} ({profile}) for {WASM_TARGET} failed; cargo's errors are above")
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
