//! A measurement: every artifact's sizes and the attribution of each
//! shipped `.wasm`. The whole of `size.json`, and of the baseline, which is
//! a blessed copy.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::artifact::{ArtifactId, Kind, Profile, Stage};
use crate::attribution::{Attribution, CrateSize, FunctionSize};
use crate::wasm::Sizes;

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
    pub fn id(&self) -> ArtifactId {
        ArtifactId::new(&self.package, self.kind, self.profile, self.stage)
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
    pub artifact: ArtifactId,
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
    pub fn new(artifact: ArtifactId, a: Attribution, keep: usize) -> Self {
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
            artifact,
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
    pub fn artifact(&self, id: &ArtifactId) -> Option<&Measured> {
        self.artifacts.iter().find(|a| a.id() == *id)
    }

    /// `bytes` against this report's size of `id`, if it has that artifact.
    pub fn delta(&self, id: &ArtifactId, bytes: u64) -> Option<i64> {
        Some(bytes as i64 - self.artifact(id)?.sizes.bytes as i64)
    }
}

/// `I/N`: shard `index` (from 1) of `count`, as `size-report --shard`
/// measures it (see `size::shard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `I/N` as given to `--shard`; the error is one line naming the fix.
    pub fn parse(text: &str) -> Result<Self> {
        let numbers = text.split_once('/').and_then(|(i, n)| {
            Some((
                i.trim().parse::<usize>().ok()?,
                n.trim().parse::<usize>().ok()?,
            ))
        });
        let Some((index, count)) = numbers else {
            bail!(
                "--shard {text}: expected I/N, two whole numbers such as 1/3 (this job's shard, \
                 then how many shards there are)"
            );
        };
        if count == 0 || index == 0 || index > count {
            bail!(
                "--shard {text}: shards count from 1 to N; give I/N with 1 <= I <= N, e.g. \
                 --shard 1/{}",
                count.max(1)
            );
        }
        Ok(Self { index, count })
    }

    /// The items of this shard: `items` sorted by `name`, the k-th (from 0)
    /// kept when `k % count + 1 == index`.
    pub fn select<T>(&self, mut items: Vec<T>, name: impl Fn(&T) -> &str) -> Vec<T> {
        items.sort_by(|a, b| name(a).cmp(name(b)));
        items
            .into_iter()
            .enumerate()
            .filter(|(k, _)| k % self.count + 1 == self.index)
            .map(|(_, item)| item)
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl TryFrom<String> for Shard {
    type Error = anyhow::Error;
    fn try_from(text: String) -> Result<Self> {
        Self::parse(&text)
    }
}

impl From<Shard> for String {
    fn from(shard: Shard) -> Self {
        shard.to_string()
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// An artifact `id` (`package/kind/profile/stage`) of `bytes`, `gzip`.
    pub fn measured(id: &str, bytes: u64, gzip: u64) -> Measured {
        let ArtifactId {
            package,
            kind,
            profile,
            stage,
        } = id.parse().unwrap();
        Measured {
            package,
            kind,
            profile,
            stage,
            path: format!("{id}.bin"),
            sizes: Sizes {
                bytes,
                gzip_bytes: gzip,
                brotli_bytes: gzip,
                sections: None,
            },
        }
    }

    const DEMO: &str = "wasm-demo/wasm/release/opt";

    #[test]
    fn an_old_baseline_without_the_stable_std_twin_loads_and_the_twin_round_trips() {
        // A baseline written before the size-first std: no twin.
        let old = r#"{"rustc":"r","commit":"d3f02d6","artifacts":[{"package":"wasm-demo",
            "kind":"wasm","profile":"release","stage":"opt","path":"p","bytes":116997,
            "gzip_bytes":52183,"brotli_bytes":44975}]}"#;
        let report: Report = serde_json::from_str(old).unwrap();
        assert_eq!(
            report.artifact(&DEMO.parse().unwrap()).unwrap().sizes.bytes,
            116_997
        );
        let twin_id = "wasm-demo/wasm/release-stable-std/opt".parse().unwrap();
        assert_eq!(report.delta(&twin_id, 1), None);
        let twin = measured("wasm-demo/wasm/release-stable-std/opt", 116_997, 52_183);
        assert_eq!(twin.profile, Profile::ReleaseStableStd);
        let json = serde_json::to_value(&twin).unwrap();
        assert_eq!(json["profile"], "release-stable-std");
        assert_eq!(serde_json::from_value::<Measured>(json).unwrap(), twin);
    }

    #[test]
    fn the_committed_reports_read_back_to_the_same_bytes() {
        for file in ["size-baseline.json", "size.json"] {
            let path = format!("{}/../../reports/{file}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            let report: Report = serde_json::from_str(&text).unwrap();
            assert!(!report.artifacts.is_empty() && !report.attribution.is_empty());
            let again = serde_json::to_string_pretty(&report).unwrap() + "\n";
            assert!(again == text, "{file} does not read back to its bytes");
        }
    }

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
        let demo: ArtifactId = DEMO.parse().unwrap();
        let kept = Attributed::new(demo.clone(), a.clone(), 2);
        let got: Vec<(&str, u64)> = kept
            .functions
            .iter()
            .map(|f| (f.name.as_str(), f.bytes))
            .collect();
        assert_eq!(got, [("a", 9), ("b", 7)]);
        assert!(kept.truncated);
        assert!(!Attributed::new(demo, a, 3).truncated);
    }
}
