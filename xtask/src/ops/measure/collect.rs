//! One measurement of a workspace: build (unless told not to) and measure
//! every wasm artifact, and attribute each shipped `.wasm`. HEAD and any
//! other revision (its worktree's `Workspace`) are measured by this one
//! collector, so both sides of a comparison are measured alike.

use anyhow::{bail, Context, Result};
use cargo_metadata::Package;
use xshell::Shell;

use crate::ops::build;
use crate::ops::build::artifacts::{self, Artifact};
use crate::ops::env::provenance;
use crate::ops::env::workspace::Workspace;
use crate::ops::measure::measure;
use crate::util::files::{content_hash, write_atomic};
use crate::util::git;
use wasm_size::artifact::{Kind, Profile, Stage};
use wasm_size::attribution::attribute;
use wasm_size::callgraph::{self, Mode};
use wasm_size::report::{Attributed, Measured, Report, KEPT_FUNCTIONS};
use wasm_size::retained::{kept_by, Named};
use wasm_size::shard::Shard;
use wasm_size::wasm::Sizes;

/// Builds (unless told not to) and measures every wasm artifact.
pub fn measure_all(sh: &Shell, ws: &Workspace, no_build: bool) -> Result<Report> {
    measure_packages(sh, ws, &ws.built_packages(), no_build)
}

/// Builds (unless told not to) and measures the wasm artifacts of `shard`'s
/// packages only; the report says which shard it is.
pub fn measure_shard(sh: &Shell, ws: &Workspace, shard: Shard, no_build: bool) -> Result<Report> {
    let packages = shard.select(ws.built_packages(), |p| p.name.as_str());
    let mut report = measure_packages(sh, ws, &packages, no_build)?;
    report.shard = Some(shard);
    Ok(report)
}

fn measure_packages(
    sh: &Shell,
    ws: &Workspace,
    packages: &[&Package],
    no_build: bool,
) -> Result<Report> {
    let profiles = Profile::ALL;
    // The build dirs stay locked until every output is measured.
    let (artifacts, _locks) = if no_build {
        let locks = build::lock_packages(ws, packages)?;
        let mut expected: Vec<Artifact> = Vec::new();
        for (p, profile) in build::jobs(packages, &profiles)? {
            expected.extend(artifacts::expected(ws, p, profile));
        }
        if let Some(missing) = expected.iter().find(|a| !a.path.exists()) {
            bail!(
                "{} is missing; run without --no-build, or `cargo xtask build-wasm` first",
                missing.path.display()
            );
        }
        (expected, locks)
    } else {
        build::build(sh, ws, packages, &profiles)?.into_parts()
    };
    let cache = artifacts::size_cache_dir(ws);
    let mut attribution = Vec::new();
    for a in &artifacts {
        if a.id().is_shipped() {
            attribution.extend(attribute_shipped(ws, a)?);
        }
    }
    let mut measured: Vec<Measured> = Vec::new();
    for a in artifacts {
        let sizes = match a.kind {
            // After its package's `.wasm` and `.js` (see `expected`).
            Kind::Browser => fetched_together(&measured, &a)?,
            Kind::Wasm => measure(&a.path, true, &cache)?,
            Kind::Rlib | Kind::Js => measure(&a.path, false, &cache)?,
        };
        measured.push(Measured {
            path: ws.relative(&a.path),
            package: a.package,
            kind: a.kind,
            profile: a.profile,
            stage: a.stage,
            sizes,
        });
    }
    let rustc = provenance::rustc_version(sh).unwrap_or_else(|| "unknown".into());
    let commit = git::head_short(sh, &ws.root);
    let mut report = Report {
        rustc,
        commit,
        shard: None,
        artifacts: measured,
        attribution,
    };
    report.sort();
    Ok(report)
}

/// What a browser downloads of `page`'s package: its shipped `.wasm` and
/// its `.js`, already in `measured`, each compressed alone.
fn fetched_together(measured: &[Measured], page: &Artifact) -> Result<Sizes> {
    let of = |kind| {
        measured
            .iter()
            .find(|m| {
                (m.package.as_str(), m.kind, m.profile, m.stage)
                    == (page.package.as_str(), kind, page.profile, Stage::Opt)
            })
            .map(|m| &m.sizes)
            .with_context(|| format!("{} has no {kind} to add up", page.id()))
    };
    Ok(Sizes::fetched_together(&[of(Kind::Wasm)?, of(Kind::Js)?]))
}

/// Attribution of a shipped `.opt.wasm`, read from the -Oz copy that keeps
/// the name section (same code, names kept). `None` if that copy is missing
/// (a build made before names were kept): sizes are still measured.
fn attribute_shipped(ws: &Workspace, shipped: &Artifact) -> Result<Option<Attributed>> {
    let id = shipped.id();
    let names = artifacts::names_path(&shipped.path);
    let file = ws.relative(&names);
    // The same file attributes the same way: kept in the size cache under
    // the file's identity (its length and time, else its bytes) and this
    // program's, so a no-op over many packages parses and walks no module.
    let key_of = |identity: &[u8]| {
        content_hash(&[
            b"attributed v1",
            id.to_string().as_bytes(),
            file.as_bytes(),
            identity,
            artifacts::program_identity().as_bytes(),
        ])
    };
    let cache_dir = artifacts::size_cache_dir(ws);
    let from_cache = |key: &str| {
        std::fs::read(cache_dir.join(format!("attributed-{key}.json")))
            .ok()
            .and_then(|b| serde_json::from_slice::<Attributed>(&b).ok())
    };
    let by_stat = artifacts::stat_identity(&names).map(|s| key_of(s.as_bytes()));
    if let Some(attributed) = by_stat.as_deref().and_then(from_cache) {
        return Ok(Some(attributed));
    }
    let bytes = match std::fs::read(&names) {
        Ok(b) => b,
        Err(_) => {
            eprintln!(
                "note: {} is missing, so {id} has no per-crate figures; `cargo xtask build-wasm` writes it",
                names.display()
            );
            return Ok(None);
        }
    };
    let key = by_stat.unwrap_or_else(|| key_of(&bytes));
    if let Some(attributed) = from_cache(&key) {
        return Ok(Some(attributed));
    }
    let cached = cache_dir.join(format!("attributed-{key}.json"));
    let a = attribute(&bytes, &file)
        .with_context(|| format!("cannot attribute {}", names.display()))?;
    let graph = callgraph::graph(&bytes, Mode::SeeThrough)
        .with_context(|| format!("cannot read the call graph of {}", names.display()))?;
    // `Named` borrows the attribution's names; the report takes a copy.
    let mut attributed = Attributed::new(id, a.clone(), KEPT_FUNCTIONS);
    let named = Named::new(graph, &a);
    let kept: Vec<&str> = attributed
        .functions
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    let keepers = kept_by(&named, &kept);
    attributed.kept_by = keepers.functions;
    attributed.crates_kept_by = keepers.crates;
    if std::fs::create_dir_all(artifacts::size_cache_dir(ws)).is_ok() {
        // A cache that cannot be written only costs time next run.
        let _ = write_atomic(&cached, &serde_json::to_vec(&attributed)?);
    }
    Ok(Some(attributed))
}
