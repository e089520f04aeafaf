//! wasm-opt -Oz through the wasm-opt crate (Binaryen built in, no external
//! binary), cached by the input's content hash.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use wasm_opt::{Feature, OptimizationOptions, Pass};

use crate::util::files::{content_hash, write_atomic};
use wasm_size::wasm::validate_wasm;

/// Change whenever the options below change, so old cache entries are not reused.
const SHIPPED_SETTINGS: &str = "wasm-opt 0.116 -Oz converge strip-debug strip-producers v2";
const NAMED_SETTINGS: &str = "wasm-opt 0.116 -Oz converge names strip-dwarf strip-producers v2";

/// What Rust's wasm32 targets emit today; Binaryen must accept them on input.
const FEATURES: [Feature; 6] = [
    Feature::SignExt,
    Feature::MutableGlobals,
    Feature::TruncSat,
    Feature::BulkMemory,
    Feature::ReferenceTypes,
    Feature::Multivalue,
];

/// Whether `optimize` found its result in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shrunk {
    Optimized,
    Cached,
}

/// Checks that `raw`, as cargo wrote it, is a valid module, then writes the
/// file we ship from it with [`optimize`].
pub fn ship(raw: &Path, out: &Path, cache_dir: &Path) -> Result<Shrunk> {
    let bytes = std::fs::read(raw).with_context(|| format!("cannot read {}", raw.display()))?;
    // A module already in the cache was validated before it was optimised.
    if !cache_path(cache_dir, SHIPPED_SETTINGS, &bytes).is_file() {
        validate_wasm(&bytes)
            .with_context(|| format!("cargo produced an invalid module {}", raw.display()))?;
    }
    optimize(raw, out, cache_dir)
}

/// Where the cache keeps `-Oz` with `settings` of a module of `bytes`.
fn cache_path(cache_dir: &Path, settings: &str, bytes: &[u8]) -> PathBuf {
    cache_dir.join(format!(
        "{}.wasm",
        content_hash(&[settings.as_bytes(), bytes])
    ))
}

/// Writes `-Oz` of `raw` to `out`, with debug info and the producers section
/// stripped: the file we ship. `raw` must already be valid wasm (Binaryen
/// aborts the process on some malformed input, so validate first).
pub fn optimize(raw: &Path, out: &Path, cache_dir: &Path) -> Result<Shrunk> {
    optimize_cached(raw, out, cache_dir, SHIPPED_SETTINGS, |opts| {
        opts.debug_info(false)
            .add_pass(Pass::StripDebug)
            .add_pass(Pass::StripProducers);
    })
}

/// The same `-Oz` run as [`optimize`], but the name section is kept, so
/// `cargo xtask bloat` can name each function of the shipped code. Only
/// DWARF and the producers section go: stripping DWARF as a pass (rather
/// than not asking for debug info) also stops Binaryen from reading it, and
/// DWARF it reads would make it skip optimisations, so the code would no
/// longer be the shipped code.
pub fn optimize_keeping_names(raw: &Path, out: &Path, cache_dir: &Path) -> Result<Shrunk> {
    optimize_cached(raw, out, cache_dir, NAMED_SETTINGS, |opts| {
        opts.debug_info(true)
            .add_pass(Pass::StripDwarf)
            .add_pass(Pass::StripProducers);
    })
}

/// Runs `-Oz` on `raw`, further configured by `configure`, unless the cache
/// already holds the result for these input bytes and `settings`, then
/// copies the result to `out`.
fn optimize_cached(
    raw: &Path,
    out: &Path,
    cache_dir: &Path,
    settings: &str,
    configure: impl FnOnce(&mut OptimizationOptions),
) -> Result<Shrunk> {
    let bytes = std::fs::read(raw).with_context(|| format!("cannot read {}", raw.display()))?;
    let cached = cache_path(cache_dir, settings, &bytes);
    let key = cached
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // An entry is trusted only with the hash written beside it: a
    // truncated or damaged one is dropped and made again.
    let hash_file = cached.with_extension("sha256");
    let intact = |bytes: &[u8]| {
        std::fs::read_to_string(&hash_file).is_ok_and(|h| h.trim() == content_hash(&[bytes]))
    };
    let hit = std::fs::read(&cached).ok().filter(|b| intact(b));
    let (outcome, result) = if let Some(result) = hit {
        (Shrunk::Cached, result)
    } else {
        std::fs::create_dir_all(cache_dir)
            .with_context(|| format!("cannot create {}", cache_dir.display()))?;
        let tmp = cache_dir.join(format!(".{key}.{}.tmp", std::process::id()));
        let mut opts = OptimizationOptions::new_optimize_for_size_aggressively();
        for f in FEATURES {
            opts.enable_feature(f);
        }
        // Run the passes again while the module keeps shrinking: one -Oz
        // round leaves work that its own results make possible. Only
        // semantics-preserving passes repeat, so the output means the same.
        opts.set_converge();
        configure(&mut opts);
        let run = opts.run(raw, &tmp);
        if let Err(e) = run {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("wasm-opt -Oz failed on {}", raw.display()));
        }
        let result = std::fs::read(&tmp)?;
        // The hash first: an entry without its hash is never served.
        write_atomic(&hash_file, content_hash(&[&result]).as_bytes())?;
        std::fs::rename(&tmp, &cached)?;
        (Shrunk::Optimized, result)
    };
    // An output already holding these bytes is left as it is.
    if std::fs::read(out).ok().as_deref() != Some(result.as_slice()) {
        write_atomic(out, &result)?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid module: magic and version, no sections.
    const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

    #[test]
    fn optimizes_once_then_serves_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let (raw, out, cache) = (
            dir.path().join("m.wasm"),
            dir.path().join("m.opt.wasm"),
            dir.path().join("cache"),
        );
        std::fs::write(&raw, EMPTY_MODULE).unwrap();
        assert_eq!(optimize(&raw, &out, &cache).unwrap(), Shrunk::Optimized);
        let first = std::fs::read(&out).unwrap();
        validate_wasm(&first).unwrap();
        std::fs::remove_file(&out).unwrap();
        assert_eq!(optimize(&raw, &out, &cache).unwrap(), Shrunk::Cached);
        assert_eq!(std::fs::read(&out).unwrap(), first);
        // A damaged entry (truncated here) is dropped and made again.
        let entry = cache_path(&cache, SHIPPED_SETTINGS, EMPTY_MODULE);
        std::fs::write(&entry, &first[..first.len() - 1]).unwrap();
        std::fs::remove_file(&out).unwrap();
        assert_eq!(optimize(&raw, &out, &cache).unwrap(), Shrunk::Optimized);
        assert_eq!(std::fs::read(&out).unwrap(), first);
        assert_eq!(std::fs::read(&entry).unwrap(), first);
        // A changed input is optimised again.
        let mut changed = EMPTY_MODULE.to_vec();
        changed.extend_from_slice(b"\0\x02\x01x"); // an empty custom section `x`
        std::fs::write(&raw, &changed).unwrap();
        assert_eq!(optimize(&raw, &out, &cache).unwrap(), Shrunk::Optimized);
    }
}
