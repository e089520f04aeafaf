//! A browser package's page files from its cargo output: bindings
//! (`--target web`, see `bindgen`), then `-Oz` of their `.wasm` as for
//! every shipped module, into `pkg/` beside the output.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use super::artifacts;
use super::bindgen::{self, Bindings};
use super::shrink::{self, Shrunk};
use crate::util::files::{content_hash, write_atomic};

/// The stamp beside the generated bindings: the hash of what made them.
const STAMP: &str = ".xtask-bindgen";

/// Writes `pkg/<name>_bg.wasm` (-Oz) and `pkg/<name>.js` beside `raw`, a
/// release cdylib `<name>.wasm` of a wasm-bindgen crate; `-Oz` results are
/// cached in `opt_cache`. The bindings are generated again only when
/// `raw`'s bytes or this program changed since they were, or one of them
/// is missing: a fresh build runs no generator and no cargo.
pub fn package_for_page(raw: &Path, name: &str, opt_cache: &Path) -> Result<()> {
    let dir = raw.parent().context("a cargo output has a parent dir")?;
    let generated = artifacts::bindgen_dir(dir);
    let bindings = Bindings {
        wasm: generated.join(format!("{name}_bg.wasm")),
        js: generated.join(format!("{name}.js")),
    };
    let bytes = std::fs::read(raw).with_context(|| format!("cannot read {}", raw.display()))?;
    let key = content_hash(&[
        b"bindgen v1",
        &bytes,
        artifacts::program_identity().as_bytes(),
    ]);
    let stamp = generated.join(STAMP);
    let fresh = std::fs::read_to_string(&stamp).is_ok_and(|s| s == key)
        && bindings.wasm.is_file()
        && bindings.js.is_file();
    if !fresh {
        let t = Instant::now();
        let _ = std::fs::remove_file(&stamp);
        let made = bindgen::bindgen(raw, &generated, name)?;
        debug_assert_eq!(made, bindings);
        write_atomic(&stamp, key.as_bytes())?;
        eprintln!(
            "      wasm-bindgen --target web → {} in {:.2} s",
            generated.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let pkg = artifacts::pkg_dir(dir);
    std::fs::create_dir_all(&pkg).with_context(|| format!("cannot create {}", pkg.display()))?;
    let shipped = pkg.join(format!("{name}_bg.wasm"));
    let t = Instant::now();
    if shrink::ship(&bindings.wasm, &shipped, opt_cache)? == Shrunk::Optimized {
        eprintln!(
            "      wasm-opt -Oz → {} in {:.2} s",
            shipped.display(),
            t.elapsed().as_secs_f64()
        );
    }
    // Its twin with names, for attribution and `cargo xtask bloat`; no page loads it.
    let names = artifacts::names_path(&shipped);
    shrink::optimize_keeping_names(&bindings.wasm, &names, opt_cache)?;
    let js = std::fs::read(&bindings.js)
        .with_context(|| format!("cannot read {}", bindings.js.display()))?;
    let page_js = pkg.join(format!("{name}.js"));
    // An output already holding these bytes is left as it is.
    if std::fs::read(&page_js).ok().as_deref() != Some(js.as_slice()) {
        write_atomic(&page_js, &js)?;
    }
    Ok(())
}
