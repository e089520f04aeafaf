//! wasm-opt -Oz through the wasm-opt crate (Binaryen built in, no external
//! binary), cached by the input's content hash.

use std::path::Path;

use anyhow::{Context, Result};
use wasm_opt::{Feature, OptimizationOptions, Pass};

use crate::files::{content_hash, write_atomic};

/// Changes whenever the options below change, so old cache entries are not reused.
const SETTINGS: &str = "wasm-opt 0.116 -Oz strip-debug strip-producers v1";

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
pub enum Outcome {
    Optimized,
    Cached,
}

/// Writes `-Oz` of `raw` to `out`, with debug info and the producers section
/// stripped. `raw` must already be valid wasm (Binaryen aborts the process on
/// some malformed input, so validate first).
pub fn optimize(raw: &Path, out: &Path, cache_dir: &Path) -> Result<Outcome> {
    let bytes = std::fs::read(raw).with_context(|| format!("cannot read {}", raw.display()))?;
    let key = content_hash(&[SETTINGS.as_bytes(), &bytes]);
    let cached = cache_dir.join(format!("{key}.wasm"));
    let outcome = if cached.is_file() {
        Outcome::Cached
    } else {
        std::fs::create_dir_all(cache_dir)
            .with_context(|| format!("cannot create {}", cache_dir.display()))?;
        let tmp = cache_dir.join(format!(".{key}.{}.tmp", std::process::id()));
        let mut opts = OptimizationOptions::new_optimize_for_size_aggressively();
        for f in FEATURES {
            opts.enable_feature(f);
        }
        opts.debug_info(false)
            .add_pass(Pass::StripDebug)
            .add_pass(Pass::StripProducers);
        let run = opts.run(raw, &tmp);
        if let Err(e) = run {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("wasm-opt -Oz failed on {}", raw.display()));
        }
        std::fs::rename(&tmp, &cached)?;
        Outcome::Optimized
    };
    write_atomic(out, &std::fs::read(&cached)?)?;
    Ok(outcome)
}
