//! What `cargo xtask bloat` prints: its tables as text, from the
//! attribution and the call graph's views, each cut at a row limit with a
//! line saying what was left out, and kept near [`COLUMNS`] wide by
//! shortening names.

use std::collections::HashMap;

use crate::attribution::{monomorphisations, Attribution, CrateName};
use crate::attribution::{CrateSize, DataSize, FunctionSize};
use crate::callgraph::{Dominators, TableStats};
use crate::retained::{Garbage, LeftOut, Named, Why};
use crate::table::{and_more, human_bytes, percent, truncate, Table};

/// Output lines are kept to about this many columns by shortening names.
pub const COLUMNS: usize = 120;

fn strings<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// A table whose last column is shortened so lines stay near `COLUMNS`.
fn render_fitted(header: Vec<String>, rows: Vec<Vec<String>>) -> String {
    Table::from_rows(header, rows).render_fitted(COLUMNS)
}

pub fn functions_table(a: &Attribution, code: u64, rows: usize) -> String {
    let shown = &a.functions[..rows.min(a.functions.len())];
    let body = shown
        .iter()
        .map(|f| {
            vec![
                human_bytes(f.bytes),
                percent(f.bytes, code),
                truncate(f.krate.as_str(), 24),
                f.name.clone(),
            ]
        })
        .collect();
    let mut out = render_fitted(strings(["bytes", "% code", "crate", "function"]), body);
    let rest = &a.functions[shown.len()..];
    if !rest.is_empty() {
        let bytes: u64 = rest.iter().map(|f| f.bytes).sum();
        out.push_str(&and_more(rest.len(), Some("functions"), Some(bytes)));
    }
    out
}

pub fn data_table(a: &Attribution, rows: usize) -> String {
    let total: u64 = a.data.iter().map(|d| d.bytes).sum();
    let shown = &a.data[..rows.min(a.data.len())];
    let body = shown
        .iter()
        .map(|d| {
            vec![
                human_bytes(d.bytes),
                percent(d.bytes, total),
                d.name.clone(),
            ]
        })
        .collect();
    let mut out = render_fitted(strings(["bytes", "% data", "data segment"]), body);
    let rest = &a.data[shown.len()..];
    if !rest.is_empty() {
        let bytes: u64 = rest.iter().map(|d| d.bytes).sum();
        out.push_str(&and_more(rest.len(), Some("data segments"), Some(bytes)));
    }
    out
}

/// Crates with their bytes, share of all body and segment bytes, and how
/// many functions (segments, for `[data]`) they hold.
pub fn crates_table(a: &Attribution, rows: usize) -> String {
    let total: u64 = a.crates.iter().map(|c| c.bytes).sum();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for f in &a.functions {
        *counts.entry(f.krate.as_str()).or_default() += 1;
    }
    counts.insert(CrateName::Data.as_str(), a.data.len());
    let shown = &a.crates[..rows.min(a.crates.len())];
    let body = shown
        .iter()
        .map(|c| {
            vec![
                human_bytes(c.bytes),
                percent(c.bytes, total),
                counts
                    .get(c.name.as_str())
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
                c.name.to_string(),
            ]
        })
        .collect();
    let mut out = render_fitted(strings(["bytes", "% code+data", "count", "crate"]), body);
    let rest = &a.crates[shown.len()..];
    if !rest.is_empty() {
        let bytes: u64 = rest.iter().map(|c| c.bytes).sum();
        out.push_str(&and_more(rest.len(), Some("crates"), Some(bytes)));
    }
    out.push_str("count: functions; data segments for [data]\n");
    out
}

pub fn monos_table(a: &Attribution, code: u64, rows: usize) -> String {
    let monos = monomorphisations(&a.functions);
    if monos.is_empty() {
        return "no function has more than one body\n".to_owned();
    }
    let shown = &monos[..rows.min(monos.len())];
    let body = shown
        .iter()
        .map(|m| {
            vec![
                human_bytes(m.bytes),
                percent(m.bytes, code),
                m.instances.to_string(),
                truncate(m.krate.as_str(), 24),
                m.name.clone(),
            ]
        })
        .collect();
    let mut out = render_fitted(
        strings(["bytes", "% code", "bodies", "crate", "generic function"]),
        body,
    );
    let rest = &monos[shown.len()..];
    if !rest.is_empty() {
        let bytes: u64 = rest.iter().map(|m| m.bytes).sum();
        out.push_str(&and_more(
            rest.len(),
            Some("generic functions"),
            Some(bytes),
        ));
    }
    out
}

/// `--retained --crates`: each crate's bytes and what the module loses
/// without its functions, largest loss first.
pub fn retained_crates_table(a: &Attribution, named: &Named, rows: usize) -> String {
    let total: u64 = named.graph.bytes.iter().sum();
    let per_crate = named.crate_retained();
    let mut crates: Vec<(&CrateName, u64, u64)> = a
        .crates
        .iter()
        .map(|c| {
            (
                &c.name,
                c.bytes,
                per_crate.get(c.name.as_str()).copied().unwrap_or(0),
            )
        })
        .collect();
    crates.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| x.0.cmp(y.0)));
    let body = crates
        .iter()
        .take(rows)
        .map(|(name, bytes, retained)| {
            vec![
                human_bytes(*bytes),
                human_bytes(*retained),
                percent(*retained, total),
                name.to_string(),
            ]
        })
        .collect();
    let mut out = render_fitted(strings(["bytes", "retained", "% retained", "crate"]), body);
    if crates.len() > rows {
        out.push_str(&and_more(crates.len() - rows, Some("crates"), None));
    }
    out.push_str("retained: what the module loses without the crate's functions\n");
    out
}

/// `--retained`: each function's body and retained bytes, largest
/// retained first.
pub fn retained_functions_table(named: &Named, d: &Dominators, rows: usize) -> String {
    let g = &named.graph;
    let total: u64 = g.bytes.iter().sum();
    let mut nodes: Vec<u32> = (0..g.len() as u32)
        .filter(|&n| n >= g.imports && (n < g.functions || Some(n) == g.table))
        .collect();
    nodes.sort_by(|&x, &y| {
        d.retained[y as usize]
            .cmp(&d.retained[x as usize])
            .then(g.bytes[y as usize].cmp(&g.bytes[x as usize]))
            .then(x.cmp(&y))
    });
    let body = nodes
        .iter()
        .take(rows)
        .map(|&n| {
            vec![
                human_bytes(g.bytes[n as usize]),
                human_bytes(d.retained[n as usize]),
                percent(d.retained[n as usize], total),
                truncate(named.krate(n), 24),
                named.name(n).into_owned(),
            ]
        })
        .collect();
    let mut out = render_fitted(
        strings(["bytes", "retained", "% retained", "crate", "function"]),
        body,
    );
    if nodes.len() > rows {
        out.push_str(&and_more(nodes.len() - rows, Some("functions"), None));
    }
    out.push_str(&format!(
        "retained: the body and all that only it keeps alive; % of {} of code and data\n",
        human_bytes(total)
    ));
    out
}

/// `--garbage`: what no root reaches, the largest first, and the total.
pub fn garbage_table(found: &[Garbage], rows: usize) -> String {
    if found.is_empty() {
        return "every function and data object is reachable from the exports and start\n"
            .to_owned();
    }
    let total: u64 = found.iter().map(|g| g.bytes).sum();
    let shown = &found[..rows.min(found.len())];
    let body = shown
        .iter()
        .map(|g| {
            vec![
                human_bytes(g.bytes),
                truncate(g.krate.as_str(), 24),
                g.name.clone(),
            ]
        })
        .collect();
    let mut out = render_fitted(strings(["bytes", "crate", "unreached"]), body);
    let rest = &found[shown.len()..];
    if !rest.is_empty() {
        let bytes: u64 = rest.iter().map(|g| g.bytes).sum();
        out.push_str(&and_more(rest.len(), None, Some(bytes)));
    }
    out.push_str(&format!(
        "{} unreached: {} in {} functions and data objects\n",
        human_bytes(total),
        human_bytes(total),
        found.len()
    ));
    out
}

/// How the functions in the indirect-call table were attributed.
pub fn table_note(s: &TableStats) -> String {
    format!(
        "table: {} functions; {} hang under a vtable or slot constant's user, {} under a \
         code constant only, {} under [table] (nothing reachable points to them); \
         --table-root for twiggy's view",
        s.functions, s.strong, s.weak, s.fallback
    )
}

/// `--why`: one block per target, root first, with each step's bytes.
pub fn why_text(found: &Why) -> String {
    let mut out = String::new();
    for p in &found.paths {
        out.push_str(&format!("{} ({})\n", p.target, human_bytes(p.bytes)));
        if p.path.is_empty() {
            out.push_str("  no root reaches it (see --garbage)\n");
        }
        for (i, (step, bytes)) in p.path.iter().zip(&p.step_bytes).enumerate() {
            let arrow = if i == 0 { "root" } else { "  →" };
            out.push_str(&format!(
                "  {arrow} {} ({})\n",
                truncate(step, COLUMNS - 20),
                human_bytes(*bytes)
            ));
        }
    }
    if found.left_out > 0 {
        out.push_str(&and_more(found.left_out, Some("matches"), None));
    }
    out
}

/// `bloat --json`: the attribution's lists cut to their first `-n`
/// entries, `left_out` saying how many more each had.
#[derive(Debug, serde::Serialize)]
pub struct Bounded<'a> {
    file: &'a str,
    named: bool,
    functions: &'a [FunctionSize],
    crates: &'a [CrateSize],
    data: &'a [DataSize],
    left_out: LeftOut,
}

impl<'a> Bounded<'a> {
    pub fn of(a: &'a Attribution, rows: usize) -> Self {
        Self {
            file: &a.file,
            named: a.named,
            functions: &a.functions[..rows.min(a.functions.len())],
            crates: &a.crates[..rows.min(a.crates.len())],
            data: &a.data[..rows.min(a.data.len())],
            left_out: LeftOut::of(a, rows),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retained::tests::named;

    fn function(name: &str, krate: &str, bytes: u64) -> FunctionSize {
        FunctionSize {
            name: name.into(),
            krate: krate.into(),
            bytes,
        }
    }

    #[test]
    fn tables_fit_the_width_and_count_the_rest() {
        let long = format!("<{} as core::fmt::Debug>::fmt", "a::b".repeat(60));
        let a = Attribution {
            file: "f.wasm".into(),
            named: true,
            functions: vec![
                function(&long, "a", 2048),
                function("b::f", "b", 1000),
                function("b::g", "b", 24),
            ],
            crates: vec![
                CrateSize {
                    name: "a".into(),
                    bytes: 2048,
                },
                CrateSize {
                    name: "b".into(),
                    bytes: 1024,
                },
                CrateSize {
                    name: CrateName::Data,
                    bytes: 100,
                },
            ],
            data: vec![DataSize {
                name: ".rodata".into(),
                bytes: 100,
            }],
            indices: vec![],
        };
        let text = functions_table(&a, 4096, 2);
        assert!(text.lines().all(|l| l.chars().count() <= COLUMNS), "{text}");
        assert!(text.contains("2.0 KiB   50.0%  a      <a::b"), "{text}");
        assert!(text.contains('…'), "{text}");
        assert!(text.ends_with("... and 1 more functions, 24 B\n"), "{text}");
        assert!(text.contains("1000 B   24.4%  b      b::f"), "{text}");
        // Shares of all 3172 body and segment bytes; counts from the functions.
        let crates = crates_table(&a, 20);
        let lines: Vec<&str> = crates.lines().collect();
        assert_eq!(lines[1], "2.0 KiB        64.6%      1  a", "{crates}");
        assert_eq!(lines[2], "1.0 KiB        32.3%      2  b", "{crates}");
        assert_eq!(lines[3], "  100 B         3.2%      1  [data]", "{crates}");
    }

    #[test]
    fn retained_tables_put_the_root_first_and_count_what_they_cut() {
        let (a, named) = named();
        let d = named.graph.dominators();
        let text = retained_functions_table(&named, &d, 2);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains("retained") && lines[0].contains("function"),
            "{text}"
        );
        assert!(lines[1].ends_with("_start"), "the root retains all: {text}");
        assert!(lines[2].ends_with("wasm_demo::main"), "{text}");
        assert!(text.contains("... and 3 more functions"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= COLUMNS), "{text}");
        let crates = retained_crates_table(a, &named, 20);
        let regex = crates.lines().find(|l| l.ends_with(" regex")).unwrap();
        let demo = crates.lines().find(|l| l.ends_with(" wasm_demo")).unwrap();
        assert!(
            crates.find(demo).unwrap() < crates.find(regex).unwrap(),
            "demo keeps regex alive, so it loses more: {crates}"
        );
        assert!(
            crates.ends_with("without the crate's functions\n"),
            "{crates}"
        );
    }

    #[test]
    fn garbage_table_lists_the_unreached_and_says_when_there_is_none() {
        let (_, named) = named();
        let found = crate::retained::garbage(&named);
        let text = garbage_table(&found, 20);
        assert!(text.contains("dlmalloc"), "{text}");
        assert!(!text.contains("compile"), "reached from _start: {text}");
        assert!(text.contains("in 1 functions and data objects"), "{text}");
        assert_eq!(
            garbage_table(&[], 20),
            "every function and data object is reachable from the exports and start\n"
        );
    }
}
