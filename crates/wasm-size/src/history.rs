//! `reports/history.jsonl`: one line per commit, holding everything known
//! about that commit: the sizes `size-report --record` measured and the
//! build times `bench-build --record` measured, each merged into the line.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::artifact::ArtifactId;
use crate::report::Report;

/// The history, in the reports dir.
pub const HISTORY_FILE: &str = "history.jsonl";

/// One line of reports/history.jsonl.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Short hash, as `git rev-parse --short HEAD` gives it.
    pub commit: String,
    /// The commit's date (ISO 8601, `git show -s --format=%cI`), not the time
    /// of measuring, so re-recording a commit leaves its line stable.
    pub date: String,
    pub rustc: String,
    /// Artifact id -> sizes; written by `size-report --record`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub artifacts: BTreeMap<ArtifactId, ArtifactPoint>,
    /// Benchmark name (e.g. `wasm-demo/release/incremental`) -> median
    /// seconds; written by `bench-build`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_seconds: BTreeMap<String, f64>,
    /// Why this commit has no sizes: it did not build when
    /// `size-report --backfill` tried (the first line of the error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// One artifact's sizes at one commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactPoint {
    pub bytes: u64,
    pub gzip_bytes: u64,
}

impl Entry {
    /// The sizes of `report` as a history line; `date` is the commit's date
    /// (`git show -s --format=%cI`). Fails if the report has no commit.
    pub fn from_report(report: &Report, date: String) -> Result<Self> {
        let Some(commit) = report.commit.clone() else {
            bail!(
                "cannot record a measurement without a commit (`git rev-parse HEAD` failed): \
                 run `--record` in a git checkout"
            );
        };
        Ok(Self {
            commit,
            date,
            rustc: report.rustc.clone(),
            artifacts: report
                .artifacts
                .iter()
                .map(|a| {
                    let point = ArtifactPoint {
                        bytes: a.sizes.bytes,
                        gzip_bytes: a.sizes.gzip_bytes,
                    };
                    (a.id(), point)
                })
                .collect(),
            build_seconds: BTreeMap::new(),
            failed: None,
        })
    }

    /// Takes every field `new` fills; keeps this line's value where `new` is
    /// empty, so sizes and build times recorded separately end up together.
    pub fn merge(&mut self, new: Entry) {
        if !new.date.is_empty() {
            self.date = new.date;
        }
        if !new.rustc.is_empty() {
            self.rustc = new.rustc;
        }
        if !new.artifacts.is_empty() {
            self.artifacts = new.artifacts;
        }
        if !new.build_seconds.is_empty() {
            self.build_seconds = new.build_seconds;
        }
        // Sizes measured now replace an earlier failure.
        if new.failed.is_some() || !self.artifacts.is_empty() {
            self.failed = new.failed;
        }
    }
}

/// The entries of a history file's `text`, oldest first; `file` names it in
/// errors. A line that is not an entry is an error naming `file:line`.
pub fn parse(text: &str, file: &str) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fix = || {
            format!(
                "{file}:{}: not a history entry; fix or delete that line (each line is one JSON \
                 object with commit, date, rustc, written by `cargo xtask size-report --record`)",
                i + 1
            )
        };
        let entry: Entry = serde_json::from_str(line).with_context(fix)?;
        if entry.commit.is_empty() {
            bail!("{}: the commit is empty", fix());
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Inserts or replaces the entry for `entry.commit`, merging: fields the new
/// entry leaves empty keep the old line's values (so size-report --record and
/// bench-build can both record on one commit in either order). Keeps lines in
/// first-recorded order; a commit listed twice (say, after a merge of the
/// file) is folded into its first line.
pub fn insert(entries: &mut Vec<Entry>, entry: Entry) -> Result<()> {
    if entry.commit.is_empty() {
        bail!("cannot record a history entry without a commit");
    }
    match entries.iter().position(|e| e.commit == entry.commit) {
        Some(first) => {
            let mut index = 0;
            entries.retain(|e| {
                let keep = index <= first || e.commit != entry.commit;
                index += 1;
                keep
            });
            entries[first].merge(entry);
        }
        None => entries.push(entry),
    }
    Ok(())
}

/// The history file's text: one JSON object per line.
pub fn to_jsonl(entries: &[Entry]) -> Result<String> {
    let mut text = String::new();
    for e in entries {
        text.push_str(&serde_json::to_string(e)?);
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::fixtures::sizes;

    #[test]
    fn from_report_takes_every_artifact_and_needs_a_commit() {
        let text = r#"{"rustc": "rustc 1.95.0", "commit": "abc1234", "artifacts": [
            {"package": "wasm-demo", "kind": "wasm", "profile": "release", "stage": "opt",
             "path": "x.wasm", "bytes": 100, "gzip_bytes": 50, "brotli_bytes": 40},
            {"package": "cortex-core", "kind": "rlib", "profile": "debug", "stage": "raw",
             "path": "x.rlib", "bytes": 900, "gzip_bytes": 300, "brotli_bytes": 200}]}"#;
        let mut report: Report = serde_json::from_str(text).unwrap();
        let e = Entry::from_report(&report, "2025-01-01T00:00:00+00:00".into()).unwrap();
        assert_eq!(
            (e.commit.as_str(), e.rustc.as_str()),
            ("abc1234", "rustc 1.95.0")
        );
        let point = |id: &str| e.artifacts[&id.parse::<ArtifactId>().unwrap()];
        assert_eq!(
            point("wasm-demo/wasm/release/opt"),
            ArtifactPoint {
                bytes: 100,
                gzip_bytes: 50
            }
        );
        assert_eq!(point("cortex-core/rlib/debug/raw").bytes, 900);
        report.commit = None;
        let err = Entry::from_report(&report, String::new()).unwrap_err();
        assert!(err.to_string().contains("git checkout"), "{err}");
    }

    #[test]
    fn the_committed_history_reads_back_to_the_same_bytes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../reports/history.jsonl");
        let text = std::fs::read_to_string(path).unwrap();
        let entries = parse(&text, "history.jsonl").unwrap();
        assert!(entries.iter().any(|e| !e.artifacts.is_empty()));
        assert!(to_jsonl(&entries).unwrap() == text, "history.jsonl changed");
    }

    #[test]
    fn a_line_with_a_bad_artifact_id_is_named_with_the_id() {
        let text = r#"{"commit":"abc1234","date":"d","rustc":"r","artifacts":{"wasm-demo/wasm/release/optt":{"bytes":1,"gzip_bytes":1}}}"#;
        let err = format!("{:#}", parse(text, "h.jsonl").unwrap_err());
        assert!(
            err.contains("h.jsonl:1:") && err.contains("no stage `optt`"),
            "{err}"
        );
    }

    #[test]
    fn a_corrupt_line_is_named_by_its_number() {
        let good = serde_json::to_string(&sizes("aaaaaaa", 1, 1)).unwrap();
        let text = format!("{good}\n\n{{not json\n");
        let err = format!("{:#}", parse(&text, "h.jsonl").unwrap_err());
        assert!(
            err.contains("h.jsonl:3:") && err.contains("fix or delete"),
            "{err}"
        );
    }
}
