//! A measurement: every artifact's sizes and the attribution of each
//! shipped `.wasm`. The whole of `size.json`, and of the baseline, which is
//! a blessed copy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::size::artifact::{artifact_id, Kind, Profile, Stage};
use crate::size::attribution::{Attribution, CrateSize, FunctionSize};
use crate::size::shard::Shard;
use crate::size::wasm::Sizes;

/// One measured artifact, as written to `size.json` and the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    pub package: String,
    pub kind: Kind,
    pub profile: Profile,
    pub stage: Stage,
    pub path: String,
    #[serde(flatten)]
    pub sizes: Sizes,
}

impl Measured {
    pub fn id(&self) -> String {
        artifact_id(&self.package, self.kind, self.profile, self.stage)
    }
}

/// The whole of `size.json` (and of the baseline, which is a blessed copy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub rustc: String,
    #[serde(default)]
    pub commit: Option<String>,
    /// Set when `size-report --shard I/N` measured only this share of the
    /// wasm packages; `size-report --merge` joins the shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    pub artifacts: Vec<Measured>,
    /// Crates and biggest functions of each shipped `.wasm`, so a later
    /// report can say what grew.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribution: Vec<Attributed>,
}

/// How many functions a report keeps per artifact: the biggest, which is
/// where growth that matters shows; crates are kept whole.
pub const KEPT_FUNCTIONS: usize = 100;

/// Size attribution of one shipped artifact: its code and data by crate,
/// and its biggest functions (bodies with one name summed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributed {
    /// The id of the artifact the figures describe.
    pub artifact: String,
    /// The file they were read from (the shipped file has no names).
    pub file: String,
    /// Whether `functions` holds only the biggest ones.
    #[serde(default)]
    pub truncated: bool,
    pub crates: Vec<CrateSize>,
    pub functions: Vec<FunctionSize>,
    /// What keeps each kept function alive: the names on its shortest path
    /// from a root, root first, without itself (`size::retained::kept_by`).
    /// Empty in reports written before it existed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kept_by: BTreeMap<String, Vec<String>>,
    /// The same for each crate: the path to its function nearest a root, up
    /// to that function's caller.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub crates_kept_by: BTreeMap<String, Vec<String>>,
}

impl Attributed {
    pub fn new(artifact: &str, a: Attribution, keep: usize) -> Self {
        let mut by_name: BTreeMap<String, FunctionSize> = BTreeMap::new();
        for f in a.functions {
            by_name
                .entry(f.name.clone())
                .and_modify(|e| e.bytes += f.bytes)
                .or_insert(f);
        }
        let mut functions: Vec<FunctionSize> = by_name.into_values().collect();
        functions.sort_by(|x, y| y.bytes.cmp(&x.bytes).then_with(|| x.name.cmp(&y.name)));
        let truncated = functions.len() > keep;
        functions.truncate(keep);
        Self {
            artifact: artifact.to_owned(),
            file: a.file,
            truncated,
            crates: a.crates,
            functions,
            kept_by: BTreeMap::new(),
            crates_kept_by: BTreeMap::new(),
        }
    }
}

impl Report {
    /// Puts artifacts and attribution in the one order every report is
    /// written in, so a merged report equals a whole measurement.
    pub fn sort(&mut self) {
        self.artifacts
            .sort_by_key(|m| (m.package.clone(), m.kind, m.profile, m.stage));
        self.attribution.sort_by(|a, b| a.artifact.cmp(&b.artifact));
    }

    /// The artifact with id `id`, if measured.
    pub fn artifact(&self, id: &str) -> Option<&Measured> {
        self.artifacts.iter().find(|a| a.id() == id)
    }

    /// `bytes` against this report's size of `id`, if it has that artifact.
    pub fn delta(&self, id: &str, bytes: u64) -> Option<i64> {
        Some(bytes as i64 - self.artifact(id)?.sizes.bytes as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = "wasm-demo/wasm/release/opt";

    #[test]
    fn attribution_keeps_the_biggest_functions_with_one_name_summed() {
        let f = |name: &str, bytes| FunctionSize {
            name: name.into(),
            krate: "c".into(),
            bytes,
        };
        let a = Attribution {
            file: "x.wasm".into(),
            named: true,
            functions: vec![f("a", 5), f("b", 7), f("a", 4), f("c", 1)],
            crates: vec![],
            data: vec![],
            indices: vec![],
        };
        let kept = Attributed::new(DEMO, a.clone(), 2);
        let got: Vec<(&str, u64)> = kept
            .functions
            .iter()
            .map(|f| (f.name.as_str(), f.bytes))
            .collect();
        assert_eq!(got, [("a", 9), ("b", 7)]);
        assert!(kept.truncated);
        assert!(!Attributed::new(DEMO, a, 3).truncated);
    }
}
