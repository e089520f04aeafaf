//! Sizes of one file on disk, cached by its length and time, then by
//! content hash: an untouched file costs one stat, an unchanged one a read.

pub mod bloat;
pub mod collect;
pub mod revision;
pub mod treemap;

use std::path::Path;

use anyhow::{Context, Result};

use crate::ops::build::artifacts;
use crate::util::files::{content_hash, write_atomic};
use wasm_size::wasm::Sizes;

/// Measures `path`; `is_wasm` adds validation and sections. Results are
/// cached by content hash in `cache_dir`, so an unchanged file costs one read.
pub fn measure(path: &Path, is_wasm: bool, cache_dir: &Path) -> Result<Sizes> {
    // First by the file's length and time, when the file system keeps times
    // to the nanosecond: a file rewritten keeps neither. A debug .wasm is
    // MBs; over many packages, reading them all is most of a no-op.
    let stat_key = artifacts::stat_identity(path)
        .map(|id| content_hash(&[b"sizes by stat v1", id.as_bytes(), &[u8::from(is_wasm)]]));
    let by_stat = stat_key.map(|k| cache_dir.join(format!("stat-{k}.json")));
    if let Some(sizes) = by_stat
        .as_ref()
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice::<Sizes>(&b).ok())
    {
        return Ok(sizes);
    }
    let sizes = measure_contents(path, is_wasm, cache_dir)?;
    if let Some(by_stat) = by_stat {
        if std::fs::create_dir_all(cache_dir).is_ok() {
            let _ = write_atomic(&by_stat, &serde_json::to_vec(&sizes)?);
        }
    }
    Ok(sizes)
}

fn measure_contents(path: &Path, is_wasm: bool, cache_dir: &Path) -> Result<Sizes> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read {}; build it with `cargo xtask build-wasm`",
            path.display()
        )
    })?;
    let key = content_hash(&[b"sizes v1", &[u8::from(is_wasm)], &bytes]);
    let cached = cache_dir.join(format!("{key}.json"));
    if let Some(sizes) = std::fs::read(&cached)
        .ok()
        .and_then(|b| serde_json::from_slice::<Sizes>(&b).ok())
    {
        return Ok(sizes);
    }
    let sizes = Sizes::of(&bytes, is_wasm).with_context(|| {
        format!(
            "{} is not a valid wasm module; rebuild it with `cargo xtask build-wasm`",
            path.display()
        )
    })?;
    if std::fs::create_dir_all(cache_dir).is_ok() {
        // A cache that cannot be written only costs time next run.
        let _ = write_atomic(&cached, &serde_json::to_vec(&sizes)?);
    }
    Ok(sizes)
}
