//! Size reports in shards, for CI machines that each measure a share of the
//! wasm packages (`size-report --shard I/N`), and their merge into one
//! report (`size-report --merge`) that the gate then judges as a whole.
//!
//! Packages go to shards round-robin by name: sorted by name, the k-th
//! (from 0) goes to shard `k % N + 1`. Every shard of one commit sees the
//! same package list, so the shards cover each package exactly once.

use anyhow::{bail, Result};

use crate::report::Report;
pub use crate::report::Shard;

/// Joins shard reports, each named (its file) for the errors, into one
/// report, as if one run had measured everything: artifacts and
/// attribution are the union, in the order a whole measurement writes them.
///
/// Refused, in one line: reports of different rustc or commits, one
/// artifact measured differently by two reports, and shard reports that do
/// not cover every shard exactly once (a lost CI job would otherwise gate
/// nothing for its packages).
pub fn merge(reports: &[(String, Report)]) -> Result<Report> {
    let Some((_, first)) = reports.first() else {
        bail!("--merge needs at least one size.json; give every shard's report");
    };
    check_one_measurement(reports)?;
    check_shards(reports)?;

    let mut merged = Report {
        rustc: first.rustc.clone(),
        commit: first.commit.clone(),
        shard: None,
        artifacts: Vec::new(),
        attribution: Vec::new(),
    };
    let mut artifact_from: Vec<&str> = Vec::new();
    let mut attribution_from: Vec<&str> = Vec::new();
    for (name, r) in reports {
        for a in &r.artifacts {
            let id = a.id();
            match merged.artifacts.iter().position(|m| m.id() == id) {
                Some(i) if merged.artifacts[i] != *a => bail!(
                    "--merge: {} and {name} measured {id} differently ({} B and {} B); two \
                     shards built the same package, so give each package to one shard",
                    artifact_from[i],
                    merged.artifacts[i].sizes.bytes,
                    a.sizes.bytes
                ),
                Some(_) => {}
                None => {
                    merged.artifacts.push(a.clone());
                    artifact_from.push(name);
                }
            }
        }
        for a in &r.attribution {
            match merged
                .attribution
                .iter()
                .position(|m| m.artifact == a.artifact)
            {
                Some(i) if merged.attribution[i] != *a => bail!(
                    "--merge: {} and {name} attribute {} differently; two shards built the \
                     same package, so give each package to one shard",
                    attribution_from[i],
                    a.artifact
                ),
                Some(_) => {}
                None => {
                    merged.attribution.push(a.clone());
                    attribution_from.push(name);
                }
            }
        }
    }
    merged.sort();
    Ok(merged)
}

/// All reports of one toolchain and one commit.
fn check_one_measurement(reports: &[(String, Report)]) -> Result<()> {
    let Some((first_name, first)) = reports.first() else {
        return Ok(());
    };
    for (name, r) in &reports[1..] {
        if r.rustc != first.rustc {
            bail!(
                "--merge: {first_name} was measured with `{}` but {name} with `{}`; measure \
                 every shard with one toolchain",
                first.rustc,
                r.rustc
            );
        }
        if r.commit != first.commit {
            let show = |c: &Option<String>| c.clone().unwrap_or_else(|| "unknown".into());
            bail!(
                "--merge: {first_name} is of commit {} but {name} of commit {}; merge the \
                 shards of one commit",
                show(&first.commit),
                show(&r.commit)
            );
        }
    }
    Ok(())
}

/// Each shard report holds exactly the packages its shard measures in a
/// workspace whose wasm packages are `packages`: a report with a package
/// emptied out, or measured at another split, would otherwise gate less
/// than the whole. Whole (unsharded) reports are not checked.
pub fn check_split(reports: &[(String, Report)], packages: &[String]) -> Result<()> {
    for (name, r) in reports {
        let Some(shard) = r.shard else { continue };
        let want = shard.select(packages.to_vec(), |p| p.as_str());
        let mut have: Vec<String> = r.artifacts.iter().map(|a| a.package.clone()).collect();
        have.sort();
        have.dedup();
        if have == want {
            continue;
        }
        let missing: Vec<&str> = want
            .iter()
            .filter(|p| !have.contains(p))
            .map(String::as_str)
            .collect();
        let extra: Vec<&str> = have
            .iter()
            .filter(|p| !want.contains(p))
            .map(String::as_str)
            .collect();
        let list = |v: &[&str]| match v {
            [] => "none".to_owned(),
            some => some.join(", "),
        };
        bail!(
            "--merge: {name} is shard {shard}, which measures {} in this workspace, but it \
             holds {} (missing: {}; not its own: {}); measure it again with `cargo xtask \
             size-report --shard {shard}` at this commit",
            list(&want.iter().map(String::as_str).collect::<Vec<_>>()),
            list(&have.iter().map(String::as_str).collect::<Vec<_>>()),
            list(&missing),
            list(&extra)
        );
    }
    Ok(())
}

/// With shard reports, every shard of one count exactly once.
fn check_shards(reports: &[(String, Report)]) -> Result<()> {
    let sharded: Vec<(&str, Shard)> = reports
        .iter()
        .filter_map(|(name, r)| Some((name.as_str(), r.shard?)))
        .collect();
    let Some(&(first_name, first)) = sharded.first() else {
        return Ok(());
    };
    if let Some((name, _)) = reports.iter().find(|(_, r)| r.shard.is_none()) {
        bail!(
            "--merge: {name} is a whole measurement, not a shard's (`size-report --shard I/N` \
             writes those); merge shard reports only"
        );
    }
    let count = first.count;
    for &(name, s) in &sharded {
        if s.count != count {
            bail!(
                "--merge: {first_name} is shard {first} but {name} is shard {s}; merge the shards \
                 of one split"
            );
        }
    }
    for index in 1..=count {
        let from: Vec<&str> = sharded
            .iter()
            .filter(|(_, s)| s.index == index)
            .map(|(name, _)| *name)
            .collect();
        match from.as_slice() {
            [_] => {}
            [] => bail!(
                "--merge: no report of shard {index}/{count}; give the size.json of every \
                 shard, 1/{count} to {count}/{count}"
            ),
            [a, b, ..] => bail!(
                "--merge: {a} and {b} are both shard {index}/{count}; give each shard's \
                 size.json once"
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed baseline: a real whole measurement of our packages.
    fn whole() -> Report {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../reports/size-baseline.json"
        );
        let mut r: Report = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        r.sort();
        r
    }

    /// What `size-report --shard` would have written for `shard` of `whole`.
    fn shard_of(whole: &Report, shard: Shard) -> Report {
        let mut packages: Vec<String> = whole.artifacts.iter().map(|a| a.package.clone()).collect();
        packages.dedup();
        let mine = shard.select(packages, |p| p.as_str());
        let mut r = whole.clone();
        r.shard = Some(shard);
        r.artifacts.retain(|a| mine.contains(&a.package));
        r.attribution.retain(|a| mine.contains(&a.artifact.package));
        r
    }

    fn named(reports: Vec<Report>) -> Vec<(String, Report)> {
        reports
            .into_iter()
            .enumerate()
            .map(|(i, r)| (format!("shard{}.json", i + 1), r))
            .collect()
    }

    #[test]
    fn shard_parses_i_of_n_and_rejects_the_rest_naming_the_fix() {
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
        for bad in ["0/2", "3/2", "1/0"] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.contains("1 <= I <= N"), "{bad}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        for bad in ["x", "1", "a/b", "1/2/3", "-1/2", ""] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.contains("expected I/N"), "{bad}: {e}");
        }
    }

    #[test]
    fn shards_cover_every_item_once_round_robin_by_name() {
        let items = vec!["d", "a", "c", "b", "e"];
        let of = |i| Shard { index: i, count: 2 }.select(items.clone(), |s| s);
        assert_eq!(of(1), ["a", "c", "e"]);
        assert_eq!(of(2), ["b", "d"]);
        let lonely = Shard { index: 3, count: 3 }.select(vec!["a"], |s| *s);
        assert!(
            lonely.is_empty(),
            "more shards than packages: some are empty"
        );
    }

    #[test]
    fn shard_is_written_as_i_slash_n_in_the_report() {
        let mut r = whole();
        r.shard = Some(Shard { index: 1, count: 2 });
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["shard"], "1/2");
        let back: Report = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        let mut bad = serde_json::to_value(&r).unwrap();
        bad["shard"] = "3/2".into();
        assert!(serde_json::from_value::<Report>(bad).is_err());
    }

    #[test]
    fn a_shard_that_lost_or_gained_a_package_is_refused_naming_it() {
        let whole = whole();
        let packages: Vec<String> =
            vec!["cortex-core".into(), "wasm-demo".into(), "web-demo".into()];
        let shards: Vec<Report> = (1..=2)
            .map(|i| shard_of(&whole, Shard { index: i, count: 2 }))
            .collect();
        check_split(&named(shards.clone()), &packages).unwrap();
        // Shard 2/2 (wasm-demo) with its artifacts emptied, as a broken CI
        // job or a hand-edited file would leave it.
        let mut emptied = shards.clone();
        emptied[1].artifacts.clear();
        emptied[1].attribution.clear();
        let err = check_split(&named(emptied), &packages)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("shard2.json") && err.contains("missing: wasm-demo"),
            "{err}"
        );
        // One holding another shard's package.
        let mut swapped = shards;
        let theirs = swapped[1].artifacts.clone();
        swapped[0].artifacts.extend(theirs);
        let err = check_split(&named(swapped), &packages)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not its own: wasm-demo"), "{err}");
    }

    #[test]
    fn two_shards_merge_to_the_whole_measurement() {
        let whole = whole();
        let shards: Vec<Report> = (1..=2)
            .map(|i| shard_of(&whole, Shard { index: i, count: 2 }))
            .collect();
        assert!(
            shards.iter().all(|s| !s.artifacts.is_empty()),
            "each shard measures something"
        );
        // In any order of the files.
        assert_eq!(merge(&named(shards.clone())).unwrap(), whole);
        let reversed: Vec<Report> = shards.into_iter().rev().collect();
        assert_eq!(merge(&named(reversed)).unwrap(), whole);
    }

    #[test]
    fn an_artifact_measured_differently_by_two_shards_is_refused() {
        let whole = whole();
        let one = shard_of(&whole, Shard { index: 1, count: 2 });
        let mut two = shard_of(&whole, Shard { index: 2, count: 2 });
        let mut stolen = one.artifacts[0].clone();
        stolen.sizes.bytes += 1;
        two.artifacts.push(stolen.clone());
        let e = merge(&named(vec![one, two])).unwrap_err().to_string();
        assert!(e.contains(&stolen.id().to_string()), "{e}");
        assert!(e.contains("shard1.json and shard2.json"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn shards_of_another_toolchain_or_commit_or_split_are_refused() {
        let whole = whole();
        let shard = |i, n| shard_of(&whole, Shard { index: i, count: n });
        let mut other_rustc = shard(2, 2);
        other_rustc.rustc = "rustc 0.0.1".into();
        let e = merge(&named(vec![shard(1, 2), other_rustc])).unwrap_err();
        assert!(e.to_string().contains("one toolchain"), "{e}");
        let mut other_commit = shard(2, 2);
        other_commit.commit = Some("0000000".into());
        let e = merge(&named(vec![shard(1, 2), other_commit])).unwrap_err();
        assert!(e.to_string().contains("of one commit"), "{e}");
        let e = merge(&named(vec![shard(1, 2), shard(2, 3)])).unwrap_err();
        assert!(e.to_string().contains("of one split"), "{e}");
        let e = merge(&named(vec![shard(1, 2)])).unwrap_err();
        assert!(e.to_string().contains("no report of shard 2/2"), "{e}");
        let e = merge(&named(vec![shard(1, 2), shard(1, 2)])).unwrap_err();
        assert!(e.to_string().contains("both shard 1/2"), "{e}");
        let e = merge(&named(vec![shard(1, 2), whole.clone()])).unwrap_err();
        assert!(e.to_string().contains("whole measurement"), "{e}");
        assert!(merge(&[]).is_err());
    }
}
