//! The Markdown comment `size-report --comment FILE` writes for a pull
//! request: found again by its marker, a verdict first, then the table,
//! what grew, and the details folded away. GitHub refuses a comment over
//! 65,536 characters, so the comment is cut, with a note, below that.

use crate::budgets::{Budgets, Violation};
use crate::report::Report;
use crate::table::{human_bytes, human_delta, Table};

/// The hidden first line a workflow finds the comment by, to update it.
pub const MARKER: &str = "<!-- cortex-size-report -->";

/// GitHub's limit on a comment's body, in characters.
pub const GITHUB_LIMIT: usize = 65_536;

/// What the comment says, given as the gate saw it.
#[derive(Debug)]
pub struct Gate<'a> {
    pub report: &'a Report,
    pub baseline: Option<&'a Report>,
    pub budgets: &'a Budgets,
    pub violations: &'a [Violation],
    /// The growers, as `size-report` prints them (empty: nothing grew).
    pub growers: &'a str,
    /// What the report was compared with, one line.
    pub compared: &'a str,
}

/// The comment, at most `limit` characters.
pub fn comment(gate: &Gate<'_>, limit: usize) -> String {
    let head = format!("{MARKER}\n{}\n\n", verdict(gate));
    let mut parts = vec![artifact_table(gate)];
    let savings = crate::render::std_savings(gate.report);
    if !savings.is_empty() {
        parts.push(format!("\n{savings}"));
    }
    if !gate.violations.is_empty() {
        let lines: String = gate.violations.iter().map(|v| format!("- {v}\n")).collect();
        parts.push(format!("\n**Limits exceeded**\n\n{lines}"));
    }
    if !gate.growers.trim().is_empty() {
        parts.push(format!(
            "\n**What grew**\n\n```text\n{}\n```\n",
            gate.growers.trim()
        ));
    }
    parts.push(details(gate.report));
    parts.push(format!(
        "\n<sub>{}; {}; commit `{}`. Written by `cargo xtask size-report --comment`.</sub>\n",
        gate.compared,
        gate.report.rustc,
        gate.report.commit.as_deref().unwrap_or("unknown")
    ));
    fit(&head, &parts, limit)
}

/// Pass or fail, and the biggest change against what it was compared with.
fn verdict(gate: &Gate<'_>) -> String {
    let state = if gate.violations.is_empty() {
        "✅ **Size check passed**".to_owned()
    } else {
        format!(
            "❌ **Size check failed**: {} limit(s) exceeded",
            gate.violations.len()
        )
    };
    let biggest = gate.baseline.and_then(|base| {
        gate.report
            .artifacts
            .iter()
            .filter_map(|a| {
                let old = base.artifact(&a.id())?.sizes.bytes;
                Some((a.id(), old, a.sizes.bytes))
            })
            .max_by_key(|(_, old, new)| new.abs_diff(*old))
    });
    match biggest {
        Some((id, old, new)) if old != new => format!(
            "{state} · biggest change: `{id}` {} ({})",
            human_delta(new as i64 - old as i64),
            percent_change(old, new)
        ),
        Some(_) => format!("{state} · no artifact changed size"),
        None => format!("{state} · nothing to compare with"),
    }
}

fn percent_change(old: u64, new: u64) -> String {
    if old == 0 {
        return "new".to_owned();
    }
    format!("{:+.1}%", (new as f64 - old as f64) * 100.0 / old as f64)
}

/// Size, gzip, the change in bytes and percent, and the budget.
fn artifact_table(gate: &Gate<'_>) -> String {
    let mut t = Table::new(["artifact", "size", "gzip", "delta", "delta %", "budget"]);
    for a in &gate.report.artifacts {
        let id = a.id();
        let old = gate
            .baseline
            .and_then(|b| b.artifact(&id))
            .map(|b| b.sizes.bytes);
        let (delta, pct) = match old {
            Some(old) => (
                human_delta(a.sizes.bytes as i64 - old as i64),
                percent_change(old, a.sizes.bytes),
            ),
            None if gate.baseline.is_some() => ("new".to_owned(), "new".to_owned()),
            None => ("-".to_owned(), "-".to_owned()),
        };
        let budget = gate
            .budgets
            .max_for(&id)
            .map_or("-".to_owned(), human_bytes);
        t.row([
            format!("`{id}`"),
            human_bytes(a.sizes.bytes),
            human_bytes(a.sizes.gzip_bytes),
            delta,
            pct,
            budget,
        ]);
    }
    t.render_markdown()
}

/// Sections of each wasm artifact, and crates of each attributed one,
/// folded away.
fn details(report: &Report) -> String {
    let mut out = String::from("\n<details><summary>Sections and crates</summary>\n\n");
    if let Some(sections) = crate::render::section_table(report) {
        out.push_str(&sections.render_markdown());
    }
    for a in &report.attribution {
        out.push_str(&format!("\nCrates of `{}`:\n\n", a.artifact));
        let mut t = Table::new(["crate", "bytes"]);
        for c in &a.crates {
            t.row([format!("`{}`", c.name), human_bytes(c.bytes)]);
        }
        out.push_str(&t.render_markdown());
    }
    out.push_str("\n</details>\n");
    out
}

/// `head` and as many of `parts` as fit in `limit` characters, in order;
/// where one does not fit, it is cut at a line and a note says so.
fn fit(head: &str, parts: &[String], limit: usize) -> String {
    const NOTE: &str = "\n\n… cut to stay under GitHub's comment limit; the whole report is \
                        in the job's `reports/` artifact.\n";
    let mut out = head.to_owned();
    for (i, part) in parts.iter().enumerate() {
        let rest_after: usize = if i + 1 == parts.len() {
            0
        } else {
            NOTE.chars().count()
        };
        let room = limit.saturating_sub(out.chars().count() + rest_after);
        if part.chars().count() <= room {
            out.push_str(part);
            continue;
        }
        let mut kept = 0;
        let room = limit.saturating_sub(out.chars().count() + NOTE.chars().count() + 16);
        for line in part.split_inclusive('\n') {
            if kept + line.chars().count() > room {
                break;
            }
            out.push_str(line);
            kept += line.chars().count();
        }
        // An open code block or <details> would swallow the note.
        if out.matches("```").count() % 2 == 1 {
            out.push_str("\n```");
        }
        if out.matches("<details>").count() > out.matches("</details>").count() {
            out.push_str("\n</details>");
        }
        out.push_str(NOTE);
        break;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::ArtifactId;
    use crate::attribution::CrateSize;
    use crate::budgets::check_budgets;
    use crate::diff::{growers, render_growers};

    /// The committed baseline: a real report of this repository.
    fn real_report() -> Report {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../reports/size-baseline.json"
        );
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    const SHIPPED: &str = "wasm-demo/wasm/release/opt";

    /// The real report with the shipped demo grown by `bytes`, all of them
    /// a new crate `serde_json`.
    fn grown_by_a_new_crate(base: &Report, bytes: u64) -> Report {
        let mut now = base.clone();
        let a = now
            .artifacts
            .iter_mut()
            .find(|a| a.id() == ArtifactId::shipped("wasm-demo"))
            .unwrap();
        a.sizes.bytes += bytes;
        a.sizes.gzip_bytes += bytes / 3;
        let at = now
            .attribution
            .iter_mut()
            .find(|a| a.artifact == ArtifactId::shipped("wasm-demo"))
            .unwrap();
        at.crates.push(CrateSize {
            name: "serde_json".into(),
            bytes,
        });
        now
    }

    fn budgets(toml_text: &str) -> Budgets {
        let table: toml::Table = toml::from_str(toml_text).unwrap();
        serde_json::from_value(serde_json::to_value(table).unwrap()).unwrap()
    }

    fn render(now: &Report, base: &Report, b: &Budgets, limit: usize) -> String {
        let violations = check_budgets(now, Some(base), b, &[]).unwrap();
        let g = render_growers(&growers(&base.attribution, &now.attribution), 10);
        comment(
            &Gate {
                report: now,
                baseline: Some(base),
                budgets: b,
                violations: &violations,
                growers: &g,
                compared: "baseline: `reports/size-baseline.json`",
            },
            limit,
        )
    }

    #[test]
    fn failing_gate_with_a_new_crate_says_so_first_and_lists_it() {
        let base = real_report();
        let now = grown_by_a_new_crate(&base, 40_000);
        let text = render(
            &now,
            &base,
            &budgets("max-growth-percent = 5.0"),
            GITHUB_LIMIT,
        );
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(MARKER));
        let verdict = lines.next().unwrap();
        assert!(
            verdict.contains("failed")
                && verdict.contains(SHIPPED)
                && verdict.contains("+39.1 KiB"),
            "{verdict}"
        );
        assert!(
            text.contains("**Limits exceeded**") && text.contains("growth"),
            "{text}"
        );
        assert!(
            text.contains("serde_json") && text.contains("new"),
            "{text}"
        );
        assert!(text.contains("| `wasm-demo/wasm/release/opt` |"), "{text}");
        assert!(
            text.contains("<details>") && text.trim_end().ends_with("</sub>"),
            "{text}"
        );
    }

    #[test]
    fn passing_gate_names_the_biggest_change_in_percent() {
        let base = real_report();
        let now = grown_by_a_new_crate(&base, 100);
        let text = render(
            &now,
            &base,
            &budgets("max-growth-percent = 5.0"),
            GITHUB_LIMIT,
        );
        let verdict = text.lines().nth(1).unwrap();
        assert!(
            verdict.contains("passed") && verdict.contains("+100 B"),
            "{verdict}"
        );
        assert!(verdict.contains("(+0.1%)"), "{verdict}");
        assert!(!text.contains("Limits exceeded"));
    }

    #[test]
    fn a_huge_comment_is_cut_under_the_limit_with_a_note() {
        let base = real_report();
        let mut now = grown_by_a_new_crate(&base, 40_000);
        let at = now
            .attribution
            .iter_mut()
            .find(|a| a.artifact == ArtifactId::shipped("wasm-demo"))
            .unwrap();
        for i in 0..5_000 {
            at.crates.push(CrateSize {
                name: format!("generated_crate_with_a_long_name_{i}").into(),
                bytes: 10 + i,
            });
        }
        let text = render(&now, &base, &budgets(""), GITHUB_LIMIT);
        assert!(text.chars().count() <= GITHUB_LIMIT, "{}", text.len());
        assert!(text.starts_with(MARKER));
        assert!(
            text.contains("cut to stay under GitHub's comment limit"),
            "{text}"
        );
        assert_eq!(text.matches("```").count() % 2, 0, "an open code block");
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
        // The verdict and the table come first and survive the cut.
        assert!(text.contains("| `wasm-demo/wasm/release/opt` |"));
        // A tiny limit still gives the marker and the verdict.
        let tiny = render(&now, &base, &budgets(""), 400);
        assert!(
            tiny.chars().count() <= 400 && tiny.starts_with(MARKER),
            "{tiny}"
        );
    }
}
