//! How an artifact is named: `package/kind/profile/stage`, the id budgets,
//! baselines and the history use.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `release-stable-std` is the release build of a package that ships with
/// the size-first std (`[package.metadata.cortex] std = "size"`), built with
/// the toolchain's prebuilt std instead: measured beside the shipped build so
/// every report shows what the size-first std saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    Debug,
    Release,
    ReleaseStableStd,
}

impl Profile {
    /// Every profile a measurement builds (`release-stable-std` only where
    /// a package builds std size-first).
    pub const ALL: [Profile; 3] = [Profile::Debug, Profile::Release, Profile::ReleaseStableStd];

    /// Whether cargo builds it with `--release` (cargo's `release` profile).
    pub fn is_release(self) -> bool {
        self != Profile::Debug
    }

    /// The dir cargo writes it to under `<target dir>/<triple>/`.
    pub fn cargo_dir(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release | Profile::ReleaseStableStd => "release",
        }
    }
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
    Profile: Debug => "debug", Release => "release", ReleaseStableStd => "release-stable-std";
    Kind: Rlib => "rlib", Wasm => "wasm";
    Stage: Raw => "raw", Opt => "opt";
}

/// `package/kind/profile/stage`: how budgets and baselines name an artifact.
pub fn artifact_id(package: &str, kind: Kind, profile: Profile, stage: Stage) -> String {
    format!("{package}/{kind}/{profile}/{stage}")
}

/// Artifact ids ending so are the files we ship (release `.wasm` after -Oz).
pub const SHIPPED_SUFFIX: &str = "/wasm/release/opt";

/// Artifact ids ending so are the same package's release `.wasm` after -Oz
/// built with the stable std, beside a shipped one built size-first.
pub const STABLE_STD_SUFFIX: &str = "/wasm/release-stable-std/opt";
