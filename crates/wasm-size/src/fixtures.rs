//! History entries for tests, in this crate and in xtask's (a crate's
//! `#[cfg(test)]` items are not visible to another's tests).

use std::collections::BTreeMap;

use crate::artifact::{ArtifactId, Kind, Profile, Stage};
use crate::history::{ArtifactPoint, Entry};

/// A history line of `commit` with the demo's shipped sizes.
pub fn sizes(commit: &str, bytes: u64, gzip: u64) -> Entry {
    Entry {
        commit: commit.into(),
        date: "2025-01-02T12:00:00+00:00".into(),
        rustc: "rustc 1.95.0".into(),
        artifacts: BTreeMap::from([
            (
                ArtifactId::shipped("wasm-demo"),
                ArtifactPoint {
                    bytes,
                    gzip_bytes: gzip,
                },
            ),
            (
                ArtifactId::new("wasm-demo", Kind::Wasm, Profile::Release, Stage::Raw),
                ArtifactPoint {
                    bytes: bytes * 3,
                    gzip_bytes: gzip * 2,
                },
            ),
        ]),
        build_seconds: BTreeMap::new(),
        failed: None,
    }
}

/// A history line of `commit` with one build time.
pub fn bench(commit: &str, seconds: f64) -> Entry {
    Entry {
        commit: commit.into(),
        date: String::new(),
        rustc: String::new(),
        artifacts: BTreeMap::new(),
        build_seconds: BTreeMap::from([("wasm-demo/release/incremental".to_owned(), seconds)]),
        failed: None,
    }
}
