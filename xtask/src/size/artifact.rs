//! How an artifact is named: `package/kind/profile/stage`, the id budgets,
//! baselines and the history use.

use std::fmt;

use serde::{Deserialize, Serialize};

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

/// `package/kind/profile/stage`: how budgets and baselines name an artifact.
pub fn artifact_id(package: &str, kind: Kind, profile: Profile, stage: Stage) -> String {
    format!("{package}/{kind}/{profile}/{stage}")
}

/// Artifact ids ending so are the files we ship (release `.wasm` after -Oz).
pub const SHIPPED_SUFFIX: &str = "/wasm/release/opt";
