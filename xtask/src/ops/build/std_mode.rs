//! Which standard library a wasm package's release build uses, declared
//! where its other wasm settings live:
//!
//! ```toml
//! [package.metadata.cortex]
//! wasm = true
//! std = "size"   # or "stable", the default
//! ```
//!
//! `stable` links the toolchain's prebuilt std. `size` builds std from the
//! toolchain's own source (the rust-src component) with the size-first
//! settings below, on the same rustc: the shipped `release` build. The
//! package's `release-stable-std` build, the prebuilt std, is measured
//! beside it, so every report shows what the size-first std saves. Debug
//! builds always use the prebuilt std.

use anyhow::{bail, Result};
use cargo_metadata::Package;

use wasm_size::artifact::Profile;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdMode {
    Stable,
    Size,
}

/// The values `std` takes.
pub const STD_MODES: [&str; 2] = ["stable", "size"];

impl StdMode {
    /// `[package.metadata.cortex] std` of `package`, `stable` when absent.
    pub fn of(package: &Package) -> Result<Self> {
        let value = &package.metadata["cortex"]["std"];
        match value.as_str() {
            None if value.is_null() => Ok(StdMode::Stable),
            Some("stable") => Ok(StdMode::Stable),
            Some("size") => Ok(StdMode::Size),
            _ => bail!(
                "package `{}` asks for std = {value} in [package.metadata.cortex] of {}; \
                 the values allowed are {}",
                package.name,
                package.manifest_path,
                STD_MODES.map(|m| format!("\"{m}\"")).join(", ")
            ),
        }
    }
}

/// Why the size-first std needs an unstable setting: `(setting, reason)`.
pub type Lever = (&'static str, &'static str);

/// Given to cargo for a size-first build, with `RUSTC_BOOTSTRAP=1` (set
/// for those builds only: stable rustc takes `-Z` flags with it). Not
/// `-Zbuild-std-features=optimize_for_size`: it saved 971 B of the shipped
/// demo but made its graph workload 1.54x native instead of 1.47x, past
/// the 1.5x that bench-runtime holds us to.
pub const SIZE_FIRST_CARGO_ARGS: &[Lever] = &[
    (
        "-Zbuild-std=std,panic_abort",
        "std compiled with our release profile (LTO with our code) instead of the \
         prebuilt one, optimised for speed",
    ),
    (
        "--config=profile.release.package.std.opt-level=\"s\"",
        "std, core and alloc at opt-level s, our code at z: as small, and the demo's \
         graph workload 1.40x native instead of 1.5x (LTO keeps each function's level)",
    ),
    (
        "--config=profile.release.package.core.opt-level=\"s\"",
        "see std's",
    ),
    (
        "--config=profile.release.package.alloc.opt-level=\"s\"",
        "see std's",
    ),
];

/// Added to the rustflags of a size-first build (std's crates get them too).
pub const SIZE_FIRST_RUSTFLAGS: &[Lever] = &[
    (
        "-Zunstable-options",
        "lets stable rustc take the next one (with RUSTC_BOOTSTRAP=1)",
    ),
    (
        "-Cpanic=immediate-abort",
        "a panic traps at once: no panic message, location or hook is built, in std \
         or in our code (the release profile already aborts; this drops what it prints)",
    ),
];

/// The profiles of `requested` that `package` builds: `release-stable-std`
/// only where its `release` is size-first (elsewhere that is `release`).
pub fn profiles(package: &Package, requested: &[Profile]) -> Result<Vec<Profile>> {
    let size = StdMode::of(package)? == StdMode::Size;
    Ok(requested
        .iter()
        .copied()
        .filter(|p| size || *p != Profile::ReleaseStableStd)
        .collect())
}

/// Whether `package`'s build in `profile` builds std size-first.
pub fn is_size_first(package: &Package, profile: Profile) -> Result<bool> {
    Ok(profile == Profile::Release && StdMode::of(package)? == StdMode::Size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(cortex: serde_json::Value) -> Package {
        serde_json::from_value(serde_json::json!({
            "name": "demo", "version": "0.1.0", "id": "demo 0.1.0",
            "manifest_path": "/w/demo/Cargo.toml", "dependencies": [], "targets": [],
            "features": {}, "metadata": {"cortex": cortex}, "edition": "2021",
        }))
        .unwrap()
    }

    #[test]
    fn std_mode_defaults_to_stable_and_reads_size() {
        assert_eq!(
            StdMode::of(&package(serde_json::json!({"wasm": true}))).unwrap(),
            StdMode::Stable
        );
        let size = package(serde_json::json!({"wasm": true, "std": "size"}));
        assert_eq!(StdMode::of(&size).unwrap(), StdMode::Size);
    }

    #[test]
    fn unknown_std_mode_names_the_package_the_value_and_the_values_allowed() {
        for bad in [serde_json::json!("tiny"), serde_json::json!(true)] {
            let err = StdMode::of(&package(serde_json::json!({"std": bad})))
                .unwrap_err()
                .to_string();
            for word in [
                "`demo`",
                &bad.to_string(),
                "\"stable\", \"size\"",
                "Cargo.toml",
            ] {
                assert!(err.contains(word), "{err:?} lacks {word:?}");
            }
        }
    }

    #[test]
    fn only_a_size_first_package_has_a_stable_std_twin() {
        let size = package(serde_json::json!({"std": "size"}));
        let stable = package(serde_json::json!({}));
        assert_eq!(profiles(&size, &Profile::ALL).unwrap(), Profile::ALL);
        assert_eq!(
            profiles(&stable, &Profile::ALL).unwrap(),
            [Profile::Debug, Profile::Release]
        );
        assert!(is_size_first(&size, Profile::Release).unwrap());
        assert!(!is_size_first(&size, Profile::ReleaseStableStd).unwrap());
        assert!(!is_size_first(&size, Profile::Debug).unwrap());
        assert!(!is_size_first(&stable, Profile::Release).unwrap());
    }
}
