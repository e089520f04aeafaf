//! `cargo xtask build-wasm`: each wasm package alone, in its own target dir,
//! for wasm32-wasip1; release `.wasm` files then go through -Oz.

use std::io::{BufRead, BufReader, IsTerminal};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use cargo_metadata::Package;
use xshell::Shell;

use crate::artifacts::{self, Artifact, Profile, Stage, WASM_TARGET};
use crate::features::{self, TOKIO_WASM_ERROR};
use crate::measure::validate_wasm;
use crate::setup;
use crate::shrink::{self, Outcome};
use crate::table::{human_bytes, Table};
use crate::workspace::{cargo, Workspace};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build the debug profile (default: both profiles)
    #[arg(long)]
    pub debug: bool,
    /// Build the release profile (default: both profiles)
    #[arg(long)]
    pub release: bool,
    /// Build only this wasm package (repeatable; default: every wasm package)
    #[arg(short = 'p', long = "package", value_name = "PKG")]
    pub packages: Vec<String>,
}

impl Args {
    pub fn profiles(&self) -> Vec<Profile> {
        match (self.debug, self.release) {
            (true, false) => vec![Profile::Debug],
            (false, true) => vec![Profile::Release],
            _ => vec![Profile::Debug, Profile::Release],
        }
    }
}

pub fn run(ws: &Workspace, args: &Args) -> Result<bool> {
    let packages = ws.select_wasm_packages(&args.packages)?;
    let artifacts = build(ws, &packages, &args.profiles())?;
    print_artifacts(&artifacts);
    Ok(true)
}

/// Builds `packages` × `profiles`, shrinks release `.wasm`, and returns every
/// artifact produced.
pub fn build(ws: &Workspace, packages: &[&Package], profiles: &[Profile]) -> Result<Vec<Artifact>> {
    let sh = Shell::new()?;
    setup::ensure_targets(&sh, &[WASM_TARGET])?;
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
        cargo_build(ws, package, *profile)?;
        for artifact in artifacts::expected(ws, package, *profile) {
            if artifact.stage == Stage::Opt {
                let raw = artifact.path.with_extension("").with_extension("wasm");
                let bytes = std::fs::read(&raw)?;
                validate_wasm(&bytes).with_context(|| {
                    format!("cargo produced an invalid module {}", raw.display())
                })?;
                let cache = ws.target_dir.join("wasm").join("opt-cache");
                let t = Instant::now();
                let outcome = shrink::optimize(&raw, &artifact.path, &cache)?;
                if outcome == Outcome::Optimized {
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
fn cargo_build(ws: &Workspace, package: &Package, profile: Profile) -> Result<()> {
    let target_dir = artifacts::package_target_dir(ws, &package.name);
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&ws.root)
        .args([
            "build",
            "-p",
            &package.name,
            "--target",
            WASM_TARGET,
            "--target-dir",
        ])
        .arg(&target_dir);
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    if std::io::stderr().is_terminal() {
        cmd.arg("--color=always");
    }
    eprintln!(
        "$ cargo build -p {} --target {WASM_TARGET} --target-dir {}{}",
        package.name,
        target_dir.display(),
        if profile == Profile::Release {
            " --release"
        } else {
            ""
        }
    );
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run cargo; is it on PATH (or set CARGO)?")?;
    let mut tokio_error = false;
    for line in BufReader::new(child.stderr.take().expect("piped")).lines() {
        let line = line?;
        tokio_error |= line.contains(TOKIO_WASM_ERROR);
        eprintln!("{line}");
    }
    if child.wait()?.success() {
        return Ok(());
    }
    if tokio_error {
        explain_tokio_failure(ws, &package.name);
    }
    bail!(
        "building {} ({profile}) for {WASM_TARGET} failed; cargo's errors are above",
        package.name
    )
}

fn explain_tokio_failure(ws: &Workspace, package: &str) {
    eprintln!("\ndiagnosis: tokio got features that wasm does not support.");
    match features::tokio_leaks(&ws.root_manifest(), WASM_TARGET) {
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

pub fn print_artifacts(artifacts: &[Artifact]) {
    let mut table = Table::new(["package", "kind", "profile", "stage", "size", "path"]);
    for a in artifacts {
        let size = std::fs::metadata(&a.path)
            .map(|m| human_bytes(m.len()))
            .unwrap_or_default();
        table.row([
            a.package.clone(),
            a.kind.to_string(),
            a.profile.to_string(),
            a.stage.to_string(),
            size,
            a.path.display().to_string(),
        ]);
    }
    eprint!("{}", table.render());
}
