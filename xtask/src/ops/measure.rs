//! Sizes of one file on disk, cached by content hash, so an unchanged
//! file costs one read.

use std::path::Path;

use anyhow::{Context, Result};

use crate::size::wasm::Sizes;
use crate::util::files::{content_hash, write_atomic};

/// Measures `path`; `is_wasm` adds validation and sections. Results are
/// cached by content hash in `cache_dir`, so an unchanged file costs one read.
pub fn measure(path: &Path, is_wasm: bool, cache_dir: &Path) -> Result<Sizes> {
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
