//! Sizes of one file's bytes: raw, gzip -9, brotli, and the wasm sections.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    pub bytes: u64,
    pub gzip_bytes: u64,
    pub brotli_bytes: u64,
    /// Section name to the bytes of its contents (custom sections by their
    /// own name); `None` for files that are not wasm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<BTreeMap<String, u64>>,
}

pub fn gzip_len(bytes: &[u8]) -> u64 {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail").len() as u64
}

/// Brotli at quality 11, window 22: what web servers use for static assets.
pub fn brotli_len(bytes: &[u8]) -> u64 {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(bytes).expect("writing to a Vec cannot fail");
    }
    out.len() as u64
}

/// Fails unless `bytes` is a complete, valid wasm module.
pub fn validate_wasm(bytes: &[u8]) -> Result<()> {
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(bytes)
        .map(drop)
        .map_err(|e| anyhow!("{e}"))
}

/// Bytes of each section's contents, by section name.
pub fn wasm_sections(bytes: &[u8]) -> Result<BTreeMap<String, u64>> {
    let mut sections = BTreeMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| anyhow!("{e}"))?;
        let name = match &payload {
            Payload::CustomSection(c) => c.name().to_owned(),
            other => match other.as_section() {
                Some((id, _)) => section_name(id).to_owned(),
                None => continue,
            },
        };
        if let Some((_, range)) = payload.as_section() {
            *sections.entry(name).or_insert(0) += range.len() as u64;
        }
    }
    Ok(sections)
}

pub fn section_name(id: u8) -> &'static str {
    match id {
        1 => "type",
        2 => "import",
        3 => "function",
        4 => "table",
        5 => "memory",
        6 => "global",
        7 => "export",
        8 => "start",
        9 => "element",
        10 => "code",
        11 => "data",
        12 => "datacount",
        13 => "tag",
        _ => "unknown",
    }
}

impl Sizes {
    /// Every size of `bytes`; `is_wasm` adds validation and sections.
    pub fn of(bytes: &[u8], is_wasm: bool) -> Result<Self> {
        let sections = if is_wasm {
            validate_wasm(bytes)?;
            Some(wasm_sections(bytes)?)
        } else {
            None
        };
        Ok(Self {
            bytes: bytes.len() as u64,
            gzip_bytes: gzip_len(bytes),
            brotli_bytes: brotli_len(bytes),
            sections,
        })
    }

    /// What a browser downloads of files fetched one by one (a page's
    /// `.wasm` and its `.js`): each compressed alone, so every figure is
    /// the sum of the files' own; no sections.
    pub fn fetched_together(files: &[&Sizes]) -> Self {
        let sum = |of: fn(&Sizes) -> u64| files.iter().map(|s| of(s)).sum();
        Self {
            bytes: sum(|s| s.bytes),
            gzip_bytes: sum(|s| s.gzip_bytes),
            brotli_bytes: sum(|s| s.brotli_bytes),
            sections: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_fetched_together_add_up_each_compressed_alone() {
        let js = Sizes::of(b"export default function init() {}", false).unwrap();
        let wasm = Sizes::of(b"\0asm\x01\0\0\0", true).unwrap();
        let sum = Sizes::fetched_together(&[&wasm, &js]);
        assert_eq!(sum.bytes, js.bytes + wasm.bytes);
        assert_eq!(sum.gzip_bytes, js.gzip_bytes + wasm.gzip_bytes);
        assert_eq!(sum.brotli_bytes, js.brotli_bytes + wasm.brotli_bytes);
        assert_eq!(sum.sections, None);
    }
}
