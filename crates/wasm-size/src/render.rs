//! The size report for people: the artifact and section tables of
//! `size-report`, and `size.md`.

use crate::artifact::ArtifactId;
use crate::budgets::{Acceptance, Budgets, TRAILER};
use crate::report::{Measured, Report};
use crate::table::{human_bytes, human_delta, Table};

/// What the size-first std saves: a line per package whose shipped `.wasm`
/// has its `release-stable-std` twin in `report`; empty without one.
pub fn std_savings(report: &Report) -> String {
    let mut out = String::new();
    for stable in report
        .artifacts
        .iter()
        .filter(|a| a.id().is_stable_std_twin())
    {
        let package = &stable.package;
        let Some(shipped) = report.artifact(&ArtifactId::shipped(package)) else {
            continue;
        };
        let saved = |new: u64, old: u64| {
            let pct = (old as f64 - new as f64) * 100.0 / (old.max(1) as f64);
            format!("{} ({pct:.1}%)", human_bytes(old.saturating_sub(new)))
        };
        let (new, old) = (&shipped.sizes, &stable.sizes);
        out.push_str(&format!(
            "size-first std: {package} ships {} (gzip {}) against {} (gzip {}) with the \
             prebuilt std: saves {}, gzip {}\n",
            human_bytes(new.bytes),
            human_bytes(new.gzip_bytes),
            human_bytes(old.bytes),
            human_bytes(old.gzip_bytes),
            saved(new.bytes, old.bytes),
            saved(new.gzip_bytes, old.gzip_bytes),
        ));
    }
    out
}

/// One row per artifact: sizes, the change against the baseline, the budget.
pub fn size_table(report: &Report, baseline: Option<&Report>, budgets: &Budgets) -> Table {
    let mut t = Table::new([
        "artifact",
        "size",
        "gzip",
        "brotli",
        "vs baseline",
        "budget",
    ]);
    for a in &report.artifacts {
        let id = a.id();
        let delta = match baseline.and_then(|b| b.delta(&id, a.sizes.bytes)) {
            Some(d) => human_delta(d),
            None if baseline.is_some() => "new".to_owned(),
            None => "-".to_owned(),
        };
        let budget = budgets.max_for(&id).map_or("-".to_owned(), human_bytes);
        t.row([
            id.to_string(),
            human_bytes(a.sizes.bytes),
            human_bytes(a.sizes.gzip_bytes),
            human_bytes(a.sizes.brotli_bytes),
            delta,
            budget,
        ]);
    }
    t
}

/// Sections as rows, wasm artifacts as columns.
pub fn section_table(report: &Report) -> Option<Table> {
    let wasm: Vec<&Measured> = report
        .artifacts
        .iter()
        .filter(|a| a.sizes.sections.is_some())
        .collect();
    let mut names: Vec<&String> = wasm
        .iter()
        .flat_map(|a| a.sizes.sections.as_ref().unwrap().keys())
        .collect();
    names.sort();
    names.dedup();
    // Biggest first, by the last (shipped) column.
    let last = wasm.last()?;
    names.sort_by_key(|n| {
        std::cmp::Reverse(
            last.sizes
                .sections
                .as_ref()
                .unwrap()
                .get(*n)
                .copied()
                .unwrap_or(0),
        )
    });
    let mut rows = Vec::new();
    for name in names {
        let mut row = vec![name.clone()];
        for a in &wasm {
            let bytes = a.sizes.sections.as_ref().unwrap().get(name);
            row.push(bytes.map_or("-".to_owned(), |b| human_bytes(*b)));
        }
        rows.push(row);
    }
    let mut header: Vec<String> = vec!["section".into()];
    header.extend(
        wasm.iter()
            .map(|a| format!("{} {} {}", a.package, a.profile, a.stage)),
    );
    Some(Table::from_rows(header, rows))
}

/// `size.md`: provenance, the tables, and what changed.
pub fn markdown(
    report: &Report,
    sizes: &Table,
    sections: Option<&Table>,
    baseline_note: &str,
    growers: &str,
) -> String {
    let mut md =
        String::from("# Size report\n\nWritten by `cargo xtask size-report`; do not edit.\n\n");
    md.push_str(&format!(
        "- rustc: `{}`\n- commit: `{}`\n- {}\n\n",
        report.rustc,
        report.commit.as_deref().unwrap_or("unknown"),
        baseline_note.replace('\n', "\n- ")
    ));
    md.push_str(&sizes.render_markdown());
    let savings = std_savings(report);
    if !savings.is_empty() {
        md.push('\n');
        md.push_str(&savings);
    }
    if !growers.is_empty() {
        md.push_str("\n## What changed\n\n```text");
        md.push_str(growers);
        md.push_str("```\n");
    }
    if let Some(s) = sections {
        md.push_str("\n## Wasm sections\n\n");
        md.push_str(&s.render_markdown());
    }
    md
}

/// One line per acceptance the gate applied.
pub fn accepted_lines(accepted: &[Acceptance]) -> String {
    accepted
        .iter()
        .map(|a| {
            format!(
                "accepted growth: {} +{} ({} `{}`: {})\n",
                a.target,
                human_bytes(a.bytes),
                a.commit,
                TRAILER,
                a.reason
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::measured;

    #[test]
    fn std_savings_compare_the_shipped_file_with_its_stable_std_twin() {
        let report = Report {
            rustc: "rustc".into(),
            commit: None,
            shard: None,
            artifacts: vec![
                measured("demo/wasm/release/opt", 60_000, 20_000),
                measured("demo/wasm/release-stable-std/opt", 120_000, 50_000),
                measured("other/wasm/release/opt", 1_000, 500),
            ],
            attribution: Vec::new(),
        };
        let text = std_savings(&report);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("demo ships 58.6 KiB"), "{text}");
        assert!(
            text.contains("saves 58.6 KiB (50.0%), gzip 29.3 KiB (60.0%)"),
            "{text}"
        );
        let without_twin = Report {
            artifacts: report.artifacts[2..].to_vec(),
            ..report
        };
        assert_eq!(std_savings(&without_twin), "");
    }
}
