//! What the wasm builds produce and where: one target dir per package under
//! `<workspace target dir>/wasm/<package>`, so each wasm package is built
//! alone and cargo's feature unification cannot mix native features in.

use std::fmt;
use std::path::{Path, PathBuf};

use cargo_metadata::{Package, TargetKind};
use serde::{Deserialize, Serialize};

use crate::workspace::Workspace;

pub const WASM_TARGET: &str = "wasm32-wasip1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Debug,
    Release,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Rlib,
    Wasm,
}

/// `raw` is what cargo wrote; `opt` is the shipped file after wasm-opt -Oz.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Raw,
    Opt,
}

macro_rules! display_as_serde_name {
    ($($t:ty: $($v:ident => $s:literal),*;)*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $(Self::$v => $s),* })
            }
        }
    )*};
}

display_as_serde_name! {
    Profile: Debug => "debug", Release => "release";
    Kind: Rlib => "rlib", Wasm => "wasm";
    Stage: Raw => "raw", Opt => "opt";
}

/// One file the wasm build produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub package: String,
    pub kind: Kind,
    pub profile: Profile,
    pub stage: Stage,
    pub path: PathBuf,
}

/// `package/kind/profile/stage`: how budgets and baselines name an artifact.
pub fn artifact_id(package: &str, kind: Kind, profile: Profile, stage: Stage) -> String {
    format!("{package}/{kind}/{profile}/{stage}")
}

/// The target dir of one wasm package.
pub fn package_target_dir(ws: &Workspace, package: &str) -> PathBuf {
    ws.target_dir.join("wasm").join(package)
}

/// Where cargo puts `profile` outputs for the wasm target.
pub fn profile_dir(ws: &Workspace, package: &str, profile: Profile) -> PathBuf {
    package_target_dir(ws, package)
        .join(WASM_TARGET)
        .join(profile.to_string())
}

/// The shipped file beside a raw `.wasm`: `name.opt.wasm`.
pub fn opt_path(raw: &Path) -> PathBuf {
    raw.with_extension("opt.wasm")
}

/// The shipped file's twin that keeps the name section:
/// `name.opt.names.wasm`, the same `-Oz` code, for `cargo xtask bloat`. Not
/// an artifact: nothing ships or measures it. Takes the raw `name.wasm` or
/// the shipped `name.opt.wasm`.
pub fn names_path(raw_or_shipped: &Path) -> PathBuf {
    let file = raw_or_shipped
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    match file.strip_suffix(".opt.wasm") {
        Some(stem) => raw_or_shipped.with_file_name(format!("{stem}.opt.names.wasm")),
        None => raw_or_shipped.with_extension("opt.names.wasm"),
    }
}

/// The artifacts a build of `package` in `profile` produces: its library's
/// `.rlib`, each binary's `.wasm`, and for release also each `.opt.wasm`.
pub fn expected(ws: &Workspace, package: &Package, profile: Profile) -> Vec<Artifact> {
    let dir = profile_dir(ws, &package.name, profile);
    let artifact = |kind, stage, path| Artifact {
        package: package.name.to_string(),
        kind,
        profile,
        stage,
        path,
    };
    let mut out = Vec::new();
    for target in &package.targets {
        if target.kind.contains(&TargetKind::Lib) || target.kind.contains(&TargetKind::RLib) {
            let file = format!("lib{}.rlib", target.name.replace('-', "_"));
            out.push(artifact(Kind::Rlib, Stage::Raw, dir.join(file)));
        }
        if target.kind.contains(&TargetKind::Bin) {
            let raw = dir.join(format!("{}.wasm", target.name));
            if profile == Profile::Release {
                out.push(artifact(Kind::Wasm, Stage::Opt, opt_path(&raw)));
            }
            out.push(artifact(Kind::Wasm, Stage::Raw, raw));
        }
    }
    out.sort_by_key(|a| (a.kind, a.stage));
    out
}
