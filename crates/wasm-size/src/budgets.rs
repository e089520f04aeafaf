//! The gate: `[workspace.metadata.size-budgets]`, growth accepted by
//! `Size-Accepted:` trailers, and which limits a measurement exceeds.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::artifact::{ArtifactId, Kind};
use crate::diff::{Change, Growers};
use crate::report::{Measured, Report};
use crate::table::{human_bytes, human_delta};

/// `[workspace.metadata.size-budgets]` in the root Cargo.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Budgets {
    /// Ceiling for every release `.wasm` artifact without its own `max-bytes`
    /// (debug builds carry DWARF and are not shipped).
    #[serde(default = "Budgets::guide_ceiling")]
    pub wasm_max_bytes: u64,
    /// Largest allowed growth against the baseline, in percent of the baseline.
    pub max_growth_percent: Option<f64>,
    /// Largest allowed growth against the baseline, in bytes.
    pub max_growth_bytes: Option<u64>,
    /// Per artifact id (`package/kind/profile/stage`): largest size in bytes.
    #[serde(default)]
    pub max_bytes: BTreeMap<ArtifactId, u64>,
    /// Per artifact id: largest gzip -9 size in bytes.
    #[serde(default)]
    pub max_gzip_bytes: BTreeMap<ArtifactId, u64>,
    /// Noise threshold in bytes: a change smaller than this and than
    /// `min-delta-percent` is not listed as a grower and does not count
    /// against the growth limits. Absolute ceilings always apply.
    pub min_delta_bytes: Option<u64>,
    /// Noise threshold in percent of the old size; see `min-delta-bytes`.
    pub min_delta_percent: Option<f64>,
}

impl Budgets {
    /// The guide's "if the binary size exceeds 1MB".
    fn guide_ceiling() -> u64 {
        1_000_000
    }

    /// The size ceiling of `a`: its own `max-bytes`, else the default for
    /// release `.wasm`, else none.
    pub fn max_for(&self, id: &ArtifactId) -> Option<u64> {
        let default =
            (id.kind == Kind::Wasm && id.profile.is_release()).then_some(self.wasm_max_bytes);
        self.max_bytes.get(id).copied().or(default)
    }

    /// The largest size allowed for an artifact that was `base` bytes in the
    /// baseline: with both growth limits set, the more generous one wins, so
    /// neither a tiny file's few bytes nor a big file's few percent fail alone.
    pub fn growth_limit(&self, base: u64) -> Option<u64> {
        let by_percent = self
            .max_growth_percent
            .map(|pct| (base as f64 * (1.0 + pct / 100.0)).floor() as u64);
        let by_bytes = self.max_growth_bytes.map(|b| base.saturating_add(b));
        by_percent.max(by_bytes)
    }

    /// Whether a change from `old` to `new` bytes is too small to matter:
    /// smaller than each noise threshold that is set. With neither set,
    /// nothing is noise.
    pub fn is_noise(&self, old: u64, new: u64) -> bool {
        if self.min_delta_bytes.is_none() && self.min_delta_percent.is_none() {
            return false;
        }
        let delta = new.abs_diff(old);
        let below_bytes = self.min_delta_bytes.is_none_or(|m| delta < m);
        let below_percent = self
            .min_delta_percent
            .is_none_or(|p| old > 0 && (delta as f64) * 100.0 < p * old as f64);
        below_bytes && below_percent
    }

    /// Leaves out of `growers` every crate and function whose change is
    /// noise ([`Budgets::is_noise`]); an artifact left with none is dropped.
    pub fn drop_noise(&self, growers: Vec<Growers>) -> Vec<Growers> {
        let matters = |c: &Change| !self.is_noise(c.old.unwrap_or(0), c.new.unwrap_or(0));
        growers
            .into_iter()
            .map(|mut g| {
                g.crates.retain(matters);
                g.functions.retain(matters);
                g
            })
            .filter(|g| !g.crates.is_empty() || !g.functions.is_empty())
            .collect()
    }

    /// From the JSON value of `[workspace.metadata.size-budgets]` (`null`
    /// when the table is absent: no budgets but the guide's ceiling).
    pub fn from_metadata(value: &serde_json::Value) -> Result<Self> {
        let value = if value.is_null() {
            serde_json::json!({})
        } else {
            value.clone()
        };
        serde_json::from_value(value).context(
            "[workspace.metadata.size-budgets] in Cargo.toml is invalid; keys: wasm-max-bytes, \
             max-growth-percent, max-growth-bytes, min-delta-bytes, min-delta-percent, \
             max-bytes.\"<id>\", max-gzip-bytes.\"<id>\"",
        )
    }
}

/// One limit exceeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub artifact: ArtifactId,
    pub limit_name: &'static str,
    pub measured: u64,
    pub limit: u64,
    /// Against the baseline, when it has this artifact.
    pub delta: Option<i64>,
    /// Growth accepted by `Size-Accepted:` trailers, already in `limit`.
    pub accepted: u64,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {} ({} B), limit {} ({} B)",
            self.artifact,
            self.limit_name,
            human_bytes(self.measured),
            self.measured,
            human_bytes(self.limit),
            self.limit
        )?;
        match self.delta {
            Some(d) => write!(f, ", {} vs baseline", human_delta(d))?,
            None => write!(f, ", not in baseline")?,
        }
        if self.accepted > 0 {
            write!(
                f,
                " (limit includes {} accepted)",
                human_bytes(self.accepted)
            )?;
        }
        Ok(())
    }
}

/// Every budget `report` exceeds. Fails if a budget names an artifact the
/// report does not have (a typo would otherwise gate nothing). `accepted`
/// growth raises the growth limits of the artifacts it covers; the absolute
/// budgets are ceilings, raised only in Cargo.toml.
pub fn check_budgets(
    report: &Report,
    baseline: Option<&Report>,
    budgets: &Budgets,
    accepted: &[Acceptance],
) -> Result<Vec<Violation>> {
    let ids: Vec<ArtifactId> = report.artifacts.iter().map(Measured::id).collect();
    for id in budgets
        .max_bytes
        .keys()
        .chain(budgets.max_gzip_bytes.keys())
    {
        if !ids.contains(id) {
            let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
            bail!(
                "[workspace.metadata.size-budgets] names `{id}`, which size-report does not \
                 produce; artifact ids: {}",
                ids.join(", ")
            );
        }
    }
    let mut out = Vec::new();
    for (a, id) in report.artifacts.iter().zip(&ids) {
        let delta = baseline.and_then(|b| b.delta(id, a.sizes.bytes));
        // Saturating: a trailer may say any size (see `parse_trailers`).
        let accepted_here: u64 = accepted
            .iter()
            .filter(|x| x.covers(id))
            .fold(0u64, |sum, x| sum.saturating_add(x.bytes));
        let mut push = |limit_name, measured, limit, accepted| {
            if measured > limit {
                out.push(Violation {
                    artifact: id.clone(),
                    limit_name,
                    measured,
                    limit,
                    delta,
                    accepted,
                });
            }
        };
        let max = budgets.max_for(id);
        if let Some(max) = max {
            push("size", a.sizes.bytes, max, 0);
        }
        if let Some(&max) = budgets.max_gzip_bytes.get(id) {
            push("gzip size", a.sizes.gzip_bytes, max, 0);
        }
        let base = baseline.and_then(|b| b.artifact(id));
        if let Some(base) = base.filter(|b| !budgets.is_noise(b.sizes.bytes, a.sizes.bytes)) {
            if let Some(limit) = budgets.growth_limit(base.sizes.bytes) {
                push(
                    "growth",
                    a.sizes.bytes,
                    limit.saturating_add(accepted_here),
                    accepted_here,
                );
            }
        }
    }
    Ok(out)
}

/// One `Size-Accepted: <package or artifact id> +<size>, <reason>` trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub target: Target,
    pub bytes: u64,
    pub reason: String,
    pub commit: String,
}

impl Acceptance {
    /// Whether it covers the artifact `id`.
    pub fn covers(&self, id: &ArtifactId) -> bool {
        match &self.target {
            Target::Package(package) => *package == id.package,
            Target::Artifact(artifact) => artifact == id,
        }
    }
}

/// What a `Size-Accepted:` trailer accepts growth of: every artifact of a
/// package, or one artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Package(String),
    Artifact(ArtifactId),
}

impl Target {
    /// A package name, or an artifact id (what has a `/`), which must read
    /// as one.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text.contains('/') {
            true => Self::Artifact(text.parse()?),
            false => Self::Package(text.to_owned()),
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Package(package) => f.write_str(package),
            Target::Artifact(id) => id.fmt(f),
        }
    }
}

pub const TRAILER: &str = "Size-Accepted";

/// `wasm-demo +12 KiB, reason` → target, bytes, reason.
pub fn parse_acceptance(value: &str) -> Result<(Target, u64, String)> {
    const FORMAT: &str =
        "expected `Size-Accepted: <package or artifact id> +<size> [B|KiB|MiB|kB|MB], <reason>`";
    let (head, reason) = value.split_once(',').unwrap_or((value, ""));
    let reason = reason.trim();
    let mut words = head.split_whitespace();
    let target = words.next().context(FORMAT)?;
    let target = match Target::parse(target) {
        Ok(target) => target,
        Err(e) => bail!("{e}; {FORMAT}"),
    };
    let amount: String = words.collect::<Vec<_>>().join("");
    let amount = amount
        .strip_prefix('+')
        .with_context(|| format!("no `+size`: {FORMAT}"))?;
    let split = amount
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(amount.len());
    let (number, unit) = amount.split_at(split);
    let number: f64 = number.parse().ok().context(FORMAT)?;
    let scale = match unit {
        "" | "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "kB" | "KB" => 1000.0,
        "MB" => 1e6,
        other => bail!("unknown unit `{other}`: {FORMAT}"),
    };
    if reason.is_empty() {
        bail!("no reason: {FORMAT}");
    }
    // `as` saturates: a size past u64 is u64::MAX, which parse_trailers
    // reports as out of range.
    Ok((target, (number * scale).round() as u64, reason.to_owned()))
}

/// A warning, naming its commit, for each acceptance whose target is
/// neither a package nor an artifact id of `report`: a typo that would
/// otherwise accept nothing in silence.
pub fn unknown_targets(accepted: &[Acceptance], report: &Report) -> Vec<String> {
    let mut packages: Vec<&str> = report
        .artifacts
        .iter()
        .map(|a| a.package.as_str())
        .collect();
    packages.sort();
    packages.dedup();
    accepted
        .iter()
        .filter(|x| !report.artifacts.iter().any(|a| x.covers(&a.id())))
        .map(|x| {
            format!(
                "commit {}: `{TRAILER}: {} …` names no package or artifact id of this \
                 measurement, so it accepts nothing; packages: {}",
                x.commit,
                x.target,
                packages.join(", ")
            )
        })
        .collect()
}

/// The acceptances in `log`: one line per commit, its short hash, a NUL,
/// then its `Size-Accepted` trailer values separated by `\x01` (as
/// `git log --format=%h%x00%(trailers:…)` gives it), and a warning for each malformed trailer (naming its commit), which
/// is ignored: the gate judges as if it were absent.
pub fn parse_trailers(log: &str) -> (Vec<Acceptance>, Vec<String>) {
    let (mut accepted, mut warnings) = (Vec::new(), Vec::new());
    for line in log.lines() {
        let Some((commit, values)) = line.split_once('\0') else {
            continue;
        };
        for value in values
            .split('\u{1}')
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            match parse_acceptance(value) {
                Ok((target, bytes, reason)) => {
                    if bytes == u64::MAX {
                        warnings.push(format!(
                            "commit {commit}: `{TRAILER}: {value}`: the size is out of range; \
                             counted as {} ({bytes} B)",
                            human_bytes(bytes)
                        ));
                    }
                    accepted.push(Acceptance {
                        target,
                        bytes,
                        reason,
                        commit: commit.to_owned(),
                    })
                }
                Err(e) => warnings.push(format!(
                    "commit {commit}: ignoring `{TRAILER}: {value}`: {e}"
                )),
            }
        }
    }
    (accepted, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Subject;
    use crate::report::tests::measured;

    fn artifact(id: &str, bytes: u64, gzip: u64) -> Measured {
        measured(id, bytes, gzip)
    }

    fn report(artifacts: Vec<Measured>) -> Report {
        Report {
            rustc: "rustc test".into(),
            shard: None,
            commit: None,
            artifacts,
            attribution: Vec::new(),
        }
    }

    const DEMO: &str = "wasm-demo/wasm/release/opt";
    const RLIB: &str = "cortex-core/rlib/release/raw";

    fn id(text: &str) -> ArtifactId {
        text.parse().unwrap()
    }

    #[test]
    fn a_huge_accepted_size_saturates_and_warns_instead_of_overflowing() {
        let log = "abc1234\0wasm-demo +99999999999999999999 MiB, huge\u{1}wasm-demo +1 KiB, more\n";
        let (accepted, warnings) = parse_trailers(log);
        assert_eq!(accepted[0].bytes, u64::MAX);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("abc1234") && warnings[0].contains("out of range"),
            "{warnings:?}"
        );
        let budgets: Budgets = serde_json::from_value(serde_json::json!({
            "max-growth-bytes": u64::MAX, "max-growth-percent": 5.0
        }))
        .unwrap();
        let base = report(vec![artifact(DEMO, 1000, 500)]);
        let now = report(vec![artifact(DEMO, u64::MAX, 500)]);
        // Neither the limit nor the accepted sum overflows.
        let violations = check_budgets(&now, Some(&base), &budgets, &accepted).unwrap();
        assert!(
            violations.iter().all(|v| v.limit_name != "growth"),
            "{violations:?}"
        );
    }

    #[test]
    fn an_acceptance_naming_nothing_here_is_warned_with_its_commit() {
        let (accepted, _) = parse_trailers(
            "abc1234\0wasm-dmeo +1 KiB, typo\u{1}wasm-demo +1 KiB, fine\u{1}\
             wasm-demo/wasm/release/opt +1 KiB, by id\n",
        );
        let now = report(vec![artifact(DEMO, 1000, 500), artifact(RLIB, 10, 5)]);
        let warnings = unknown_targets(&accepted, &now);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("abc1234"), "{warnings:?}");
        assert!(
            warnings[0].contains("`Size-Accepted: wasm-dmeo"),
            "{warnings:?}"
        );
        assert!(
            warnings[0].contains("cortex-core, wasm-demo"),
            "{warnings:?}"
        );
    }

    fn budgets(toml_text: &str) -> Budgets {
        let table: toml::Table = toml::from_str(toml_text).unwrap();
        serde_json::from_value(serde_json::to_value(table).unwrap()).unwrap()
    }

    #[test]
    fn gate_passes_when_everything_is_within_budget() {
        let b =
            budgets("max-growth-percent = 5.0\n[max-bytes]\n\"wasm-demo/wasm/release/opt\" = 1000");
        let now = report(vec![
            artifact(DEMO, 1000, 400),
            artifact(RLIB, 5_000_000, 9),
        ]);
        let base = report(vec![artifact(DEMO, 960, 390)]);
        assert_eq!(check_budgets(&now, Some(&base), &b, &[]).unwrap(), []);
    }

    #[test]
    fn gate_fails_when_budget_exceeded() {
        let b = budgets("[max-bytes]\n\"wasm-demo/wasm/release/opt\" = 1000\n[max-gzip-bytes]\n\"wasm-demo/wasm/release/opt\" = 300");
        let now = report(vec![artifact(DEMO, 1001, 400)]);
        let base = report(vec![artifact(DEMO, 900, 390)]);
        let v = check_budgets(&now, Some(&base), &b, &[]).unwrap();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(
            (v[0].limit_name, v[0].measured, v[0].limit, v[0].delta),
            ("size", 1001, 1000, Some(101))
        );
        assert_eq!(
            (v[1].limit_name, v[1].measured, v[1].limit),
            ("gzip size", 400, 300)
        );
        let line = v[0].to_string();
        assert!(
            line.starts_with(DEMO)
                && line.contains("1001 B")
                && line.contains("+101 B vs baseline"),
            "{line}"
        );
    }

    #[test]
    fn gate_applies_the_guides_1_mb_ceiling_to_wasm_only() {
        let b = budgets("");
        let now = report(vec![
            artifact(DEMO, 1_000_001, 1),
            artifact(RLIB, 9_000_000, 1),
        ]);
        let v = check_budgets(&now, None, &b, &[]).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(
            (&v[0].artifact, v[0].limit, v[0].delta),
            (&id(DEMO), 1_000_000, None)
        );
    }

    #[test]
    fn gate_fails_when_growth_exceeds_percent_or_bytes() {
        let now = report(vec![artifact(DEMO, 1100, 1), artifact(RLIB, 10_300, 1)]);
        let base = report(vec![artifact(DEMO, 1000, 1), artifact(RLIB, 10_000, 1)]);
        let by_percent =
            check_budgets(&now, Some(&base), &budgets("max-growth-percent = 5.0"), &[]).unwrap();
        assert_eq!(by_percent.len(), 1, "{by_percent:?}");
        assert_eq!(
            (&by_percent[0].artifact, by_percent[0].limit),
            (&id(DEMO), 1050)
        );
        let by_bytes =
            check_budgets(&now, Some(&base), &budgets("max-growth-bytes = 200"), &[]).unwrap();
        assert_eq!(by_bytes.len(), 1, "{by_bytes:?}");
        assert_eq!(
            (&by_bytes[0].artifact, by_bytes[0].limit, by_bytes[0].delta),
            (&id(RLIB), 10_200, Some(300))
        );
        // Both set: the larger allowance applies.
        let both = budgets("max-growth-percent = 5.0\nmax-growth-bytes = 200");
        assert_eq!(check_budgets(&now, Some(&base), &both, &[]).unwrap(), []);
        let bigger = report(vec![artifact(DEMO, 1201, 1), artifact(RLIB, 10_501, 1)]);
        let v = check_budgets(&bigger, Some(&base), &both, &[]).unwrap();
        let limits: Vec<(&ArtifactId, u64)> = v.iter().map(|v| (&v.artifact, v.limit)).collect();
        assert_eq!(limits, [(&id(DEMO), 1200), (&id(RLIB), 10_500)]);
        // Shrinking never fails the growth limits.
        let smaller = report(vec![artifact(DEMO, 10, 1)]);
        assert_eq!(
            check_budgets(&smaller, Some(&base), &budgets("max-growth-bytes = 0"), &[]).unwrap(),
            []
        );
    }

    #[test]
    fn accepted_growth_raises_only_the_growth_limit_of_what_it_covers() {
        let b =
            budgets("max-growth-bytes = 100\n[max-bytes]\n\"wasm-demo/wasm/release/opt\" = 5000");
        let base = report(vec![artifact(DEMO, 1000, 1), artifact(RLIB, 1000, 1)]);
        let now = report(vec![artifact(DEMO, 2000, 1), artifact(RLIB, 2000, 1)]);
        let accept = |target: &str, bytes| Acceptance {
            target: Target::parse(target).unwrap(),
            bytes,
            reason: "r".into(),
            commit: "abc1234".into(),
        };
        let v = check_budgets(&now, Some(&base), &b, &[accept("wasm-demo", 1000)]).unwrap();
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            v[0].artifact,
            id(RLIB),
            "the acceptance covers wasm-demo only"
        );
        // Not enough accepted: still fails, and says what was accepted.
        let v = check_budgets(&now, Some(&base), &b, &[accept(DEMO, 500)]).unwrap();
        let demo = v.iter().find(|v| v.artifact == id(DEMO)).unwrap();
        assert_eq!((demo.limit, demo.accepted), (1600, 500));
        assert!(demo.to_string().contains("500 B accepted"), "{demo}");
        // A ceiling is not lifted by an acceptance.
        let huge = report(vec![artifact(DEMO, 6000, 1)]);
        let v = check_budgets(&huge, Some(&base), &b, &[accept("wasm-demo", 100_000)]).unwrap();
        let names: Vec<&str> = v.iter().map(|v| v.limit_name).collect();
        assert_eq!(names, ["size"]);
    }

    #[test]
    fn budget_naming_an_unknown_artifact_is_an_error() {
        let b = budgets("[max-bytes]\n\"wasm-dmeo/wasm/release/opt\" = 1");
        let err = check_budgets(&report(vec![artifact(DEMO, 1, 1)]), None, &b, &[]).unwrap_err();
        assert!(
            err.to_string().contains("`wasm-dmeo/wasm/release/opt`")
                && err.to_string().contains(DEMO),
            "{err}"
        );
    }

    #[test]
    fn budget_naming_no_artifact_id_is_one_line_naming_it_and_the_form() {
        for table in ["max-bytes", "max-gzip-bytes"] {
            let value = serde_json::json!({ table: { "wasm-demo/wasm/release/optt": 1 } });
            let err = format!("{:#}", Budgets::from_metadata(&value).unwrap_err());
            assert!(
                err.starts_with("[workspace.metadata.size-budgets] in Cargo.toml is invalid")
                    && err.contains("`wasm-demo/wasm/release/optt` is not an artifact id")
                    && err.contains("no stage `optt`")
                    && err.contains("package/kind/profile/stage"),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn unknown_budget_key_is_rejected() {
        let table: toml::Table = toml::from_str("max-growth-percnt = 5.0").unwrap();
        let r: Result<Budgets, _> = serde_json::from_value(serde_json::to_value(table).unwrap());
        assert!(r.is_err());
    }

    #[test]
    fn acceptance_parses_units_and_reason() {
        assert_eq!(
            parse_acceptance("wasm-demo +12 KiB, serde for the config").unwrap(),
            (
                Target::Package("wasm-demo".into()),
                12 * 1024,
                "serde for the config".into()
            )
        );
        assert_eq!(
            parse_acceptance("wasm-demo/wasm/release/opt +1.5MiB, big")
                .unwrap()
                .1,
            1_572_864
        );
        assert_eq!(parse_acceptance("x +300, r").unwrap().1, 300);
        assert_eq!(parse_acceptance("x +2 kB, r").unwrap().1, 2000);
    }

    #[test]
    fn malformed_acceptance_says_the_expected_form() {
        for bad in [
            "wasm-demo 12 KiB, r",
            "wasm-demo +12 parsecs, r",
            "wasm-demo +12 KiB",
            "wasm-demo/wasm/release/optt +12 KiB, r",
            "",
        ] {
            let err = parse_acceptance(bad).unwrap_err().to_string();
            assert!(err.contains("Size-Accepted:"), "{bad}: {err}");
        }
        let err = parse_acceptance("wasm-demo/wasm/relase/opt +1 KiB, r").unwrap_err();
        assert!(err.to_string().contains("no profile `relase`"), "{err}");
    }

    #[test]
    fn acceptance_covers_its_package_or_exact_id() {
        let a = Acceptance {
            target: Target::parse("wasm-demo").unwrap(),
            bytes: 1,
            reason: "r".into(),
            commit: "c".into(),
        };
        assert!(a.covers(&id("wasm-demo/wasm/release/opt")));
        assert!(!a.covers(&id("cortex-core/rlib/release/raw")));
        let exact = Acceptance {
            target: Target::parse(DEMO).unwrap(),
            ..a
        };
        assert_eq!(exact.target, Target::Artifact(id(DEMO)));
        assert!(exact.covers(&id("wasm-demo/wasm/release/opt")));
        assert!(!exact.covers(&id("wasm-demo/wasm/release/raw")));
    }

    #[test]
    fn noise_is_smaller_than_every_threshold_set() {
        let both = budgets("min-delta-bytes = 64\nmin-delta-percent = 0.5");
        assert!(both.is_noise(100_000, 100_063), "63 B and 0.06 %");
        assert!(!both.is_noise(100_000, 100_064), "64 B is not below 64 B");
        assert!(!both.is_noise(1_000, 1_010), "1 % is not below 0.5 %");
        assert!(both.is_noise(100_000, 99_990), "shrinking counts the same");
        assert!(!both.is_noise(0, 10), "nothing before: no percentage");
        let bytes_only = budgets("min-delta-bytes = 64");
        assert!(bytes_only.is_noise(0, 10) && !bytes_only.is_noise(0, 100));
        assert!(!budgets("").is_noise(100, 101), "no thresholds, no noise");
    }

    #[test]
    fn growth_below_the_noise_thresholds_does_not_fail_the_gate_but_ceilings_do() {
        let b = budgets(
            "max-growth-bytes = 0\nmin-delta-bytes = 100\nmin-delta-percent = 50.0\n\
             [max-bytes]\n\"wasm-demo/wasm/release/opt\" = 1000",
        );
        let base = report(vec![artifact(DEMO, 990, 1), artifact(RLIB, 10_000, 1)]);
        let now = report(vec![artifact(DEMO, 1050, 1), artifact(RLIB, 10_200, 1)]);
        let v = check_budgets(&now, Some(&base), &b, &[]).unwrap();
        let got: Vec<(&ArtifactId, &str)> = v.iter().map(|v| (&v.artifact, v.limit_name)).collect();
        // The demo's +60 B is noise for the growth limit, not for its ceiling;
        // the rlib's +200 B is above min-delta-bytes, so it counts.
        assert_eq!(got, [(&id(DEMO), "size"), (&id(RLIB), "growth")]);
    }

    #[test]
    fn growers_below_the_noise_thresholds_are_not_listed() {
        let change = |name: &str, old: Option<u64>, new: Option<u64>| Change {
            name: name.into(),
            old,
            new,
            delta: new.unwrap_or(0) as i64 - old.unwrap_or(0) as i64,
            new_below: None,
            kept_by: None,
        };
        let growers = vec![
            Growers {
                artifact: Subject::Artifact(id(DEMO)),
                crates: vec![change("std", Some(10_000), Some(10_010))],
                functions: vec![
                    change("f", Some(500), Some(520)),
                    change("g", Some(500), Some(900)),
                    change("new", None, Some(4000)),
                ],
            },
            Growers {
                artifact: Subject::Artifact(id(RLIB)),
                crates: vec![change("core", Some(9_000), Some(9_001))],
                functions: vec![],
            },
        ];
        let kept = budgets("min-delta-bytes = 64\nmin-delta-percent = 5.0").drop_noise(growers);
        assert_eq!(kept.len(), 1, "{kept:?}");
        let names: Vec<&str> = kept[0].functions.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["g", "new"]);
        assert!(kept[0].crates.is_empty());
    }
}
