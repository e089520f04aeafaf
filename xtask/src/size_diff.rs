//! What changed between two measurements: totals, wasm sections, crates and
//! functions, sorted by delta. `size-report` uses it to name the growers
//! against its baseline; `cargo xtask size-diff OLD NEW` compares any two
//! size JSONs, `.wasm` files or git revisions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::bloat::{self, CrateSize, FunctionSize};
use crate::measure;
use crate::revision;
use crate::size_report::{load_baseline, Attributed, Report};
use crate::table::{human_bytes, human_delta, Table};
use crate::workspace::Workspace;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old side: a size JSON (reports/size.json, a baseline), a .wasm file, or a git revision
    pub old: String,
    /// The new side: same kinds as OLD
    pub new: String,
    /// Rows per table (crates and functions)
    #[arg(short = 'n', long, default_value_t = 15)]
    pub top: usize,
    /// Print the diff as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// One named thing on both sides; `None` where it does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub name: String,
    pub old: Option<u64>,
    pub new: Option<u64>,
    pub delta: i64,
}

impl Change {
    fn new(name: String, old: Option<u64>, new: Option<u64>) -> Self {
        let delta = new.unwrap_or(0) as i64 - old.unwrap_or(0) as i64;
        Self {
            name,
            old,
            new,
            delta,
        }
    }

    /// `new`, `removed` or empty.
    pub fn status(&self) -> &'static str {
        match (self.old, self.new) {
            (None, Some(_)) => "new",
            (Some(_), None) => "removed",
            _ => "",
        }
    }
}

/// Changes between two name → bytes maps, biggest growth first, then the
/// biggest shrink last; unchanged entries are left out. Names absent from a
/// truncated old list (`old_cutoff`: the smallest size it kept) are only
/// called new if they are now bigger than that cutoff: below it, the old
/// side simply did not record them.
pub fn diff_named(
    old: &BTreeMap<String, u64>,
    new: &BTreeMap<String, u64>,
    old_cutoff: Option<u64>,
) -> Vec<Change> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    let mut out: Vec<Change> = names
        .into_iter()
        .filter_map(|name| {
            let (o, n) = (old.get(name).copied(), new.get(name).copied());
            if o.is_none() && old_cutoff.is_some_and(|cut| n.unwrap_or(0) <= cut) {
                return None;
            }
            let c = Change::new(name.clone(), o, n);
            (c.delta != 0 || c.status() != "").then_some(c)
        })
        .collect();
    out.sort_by(|a, b| b.delta.cmp(&a.delta).then_with(|| a.name.cmp(&b.name)));
    out
}

/// Crates and functions of one artifact that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Growers {
    pub artifact: String,
    pub crates: Vec<Change>,
    pub functions: Vec<Change>,
}

fn crate_map(crates: &[CrateSize]) -> BTreeMap<String, u64> {
    crates.iter().map(|c| (c.name.clone(), c.bytes)).collect()
}

fn function_map(functions: &[FunctionSize]) -> BTreeMap<String, u64> {
    let mut map = BTreeMap::new();
    for f in functions {
        *map.entry(f.name.clone()).or_insert(0) += f.bytes;
    }
    map
}

/// Growers of every artifact both sides attributed.
pub fn growers(old: &[Attributed], new: &[Attributed]) -> Vec<Growers> {
    new.iter()
        .filter_map(|n| {
            let o = old.iter().find(|o| o.artifact == n.artifact)?;
            Some(Growers {
                artifact: n.artifact.clone(),
                crates: diff_named(&crate_map(&o.crates), &crate_map(&n.crates), None),
                functions: diff_named(
                    &function_map(&o.functions),
                    &function_map(&n.functions),
                    o.truncated
                        .then(|| o.functions.iter().map(|f| f.bytes).min().unwrap_or(0)),
                ),
            })
        })
        .collect()
}

fn change_table(label: &str, changes: &[Change], top: usize) -> Table {
    let mut t = Table::new(["delta", "old", "new", "", label]);
    for c in changes.iter().take(top) {
        t.row([
            human_delta(c.delta),
            c.old.map_or("-".into(), human_bytes),
            c.new.map_or("-".into(), human_bytes),
            c.status().to_owned(),
            c.name.clone(),
        ]);
    }
    t
}

/// Growers as text for one screen: per artifact, the top crates and
/// functions by change. Empty when nothing changed.
pub fn render_growers(growers: &[Growers], top: usize) -> String {
    let mut out = String::new();
    for g in growers {
        if g.crates.is_empty() && g.functions.is_empty() {
            continue;
        }
        out.push_str(&format!("\nwhat changed in {}, by crate:\n", g.artifact));
        out.push_str(&indent(&change_table("crate", &g.crates, top).render()));
        more(&mut out, g.crates.len(), top);
        out.push_str("by function:\n");
        out.push_str(&indent(
            &change_table("function", &g.functions, top).render(),
        ));
        more(&mut out, g.functions.len(), top);
    }
    out
}

fn more(out: &mut String, len: usize, top: usize) {
    if len > top {
        out.push_str(&format!("  ... and {} more\n", len - top));
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// One side of `size-diff`, whatever it was given as.
#[derive(Debug)]
struct Side {
    label: String,
    /// artifact id → (bytes, gzip bytes, sections)
    artifacts: BTreeMap<String, measure::Sizes>,
    attribution: Vec<Attributed>,
}

impl Side {
    fn from_report(label: String, r: Report) -> Self {
        Self {
            label,
            artifacts: r
                .artifacts
                .iter()
                .map(|a| (a.id(), a.sizes.clone()))
                .collect(),
            attribution: r.attribution,
        }
    }

    fn from_wasm(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let shown = path.display().to_string();
        measure::validate_wasm(&bytes)
            .with_context(|| format!("{shown} is not a valid wasm module"))?;
        let sizes = measure::Sizes {
            bytes: bytes.len() as u64,
            gzip_bytes: measure::gzip_len(&bytes),
            brotli_bytes: measure::brotli_len(&bytes),
            sections: Some(measure::wasm_sections(&bytes)?),
        };
        let attribution = bloat::attribute(&bytes, &shown)?;
        let attributed = Attributed::new(WASM_ID, attribution, usize::MAX);
        Ok(Self {
            label: shown,
            artifacts: BTreeMap::from([(WASM_ID.to_owned(), sizes)]),
            attribution: vec![attributed],
        })
    }
}

/// What a `.wasm` given to size-diff is called in its tables.
const WASM_ID: &str = "wasm";

fn load_side(ws: &Workspace, arg: &str) -> Result<Side> {
    let path = PathBuf::from(arg);
    if path.is_file() {
        if path.extension().is_some_and(|e| e == "wasm") {
            return Side::from_wasm(&path);
        }
        let report =
            load_baseline(&path)?.with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(Side::from_report(arg.to_owned(), report));
    }
    if arg.ends_with(".json") || arg.ends_with(".wasm") {
        bail!("{arg}: no such file; give a size JSON, a .wasm file or a git revision");
    }
    let commit = revision::resolve(ws, arg).with_context(|| {
        format!("`{arg}` is neither a file nor a git revision; give a size JSON, a .wasm file or a revision")
    })?;
    let report = revision::measure(ws, &commit)?;
    Ok(Side::from_report(format!("{arg} ({commit})"), report))
}

/// The whole diff, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Diff {
    pub old: String,
    pub new: String,
    pub totals: Vec<TotalChange>,
    pub sections: BTreeMap<String, Vec<Change>>,
    pub growers: Vec<Growers>,
}

#[derive(Debug, Serialize)]
pub struct TotalChange {
    pub artifact: String,
    pub bytes: Change,
    pub gzip_bytes: Change,
}

fn diff(old: &Side, new: &Side) -> Diff {
    let (old_ids, new_ids) = (
        old.artifacts.keys().collect::<Vec<_>>(),
        new.artifacts.keys().collect::<Vec<_>>(),
    );
    let mut ids: Vec<&String> = old_ids.into_iter().chain(new_ids).collect();
    ids.sort();
    ids.dedup();
    let mut totals = Vec::new();
    let mut sections = BTreeMap::new();
    for id in ids {
        let (o, n) = (old.artifacts.get(id), new.artifacts.get(id));
        totals.push(TotalChange {
            artifact: id.clone(),
            bytes: Change::new(id.clone(), o.map(|s| s.bytes), n.map(|s| s.bytes)),
            gzip_bytes: Change::new(id.clone(), o.map(|s| s.gzip_bytes), n.map(|s| s.gzip_bytes)),
        });
        let secs =
            |s: Option<&measure::Sizes>| s.and_then(|s| s.sections.clone()).unwrap_or_default();
        let changed = diff_named(&secs(o), &secs(n), None);
        if !changed.is_empty() {
            sections.insert(id.clone(), changed);
        }
    }
    Diff {
        old: old.label.clone(),
        new: new.label.clone(),
        totals,
        sections,
        growers: growers(&old.attribution, &new.attribution),
    }
}

fn render(d: &Diff, top: usize) -> String {
    let mut out = format!("size-diff: {} → {}\n\n", d.old, d.new);
    let mut t = Table::new([
        "artifact",
        "old",
        "new",
        "delta",
        "gzip old",
        "gzip new",
        "gzip delta",
    ]);
    for c in &d.totals {
        let status = c.bytes.status();
        t.row([
            c.artifact.clone(),
            c.bytes.old.map_or("-".into(), human_bytes),
            c.bytes.new.map_or("-".into(), human_bytes),
            if status.is_empty() {
                human_delta(c.bytes.delta)
            } else {
                status.to_owned()
            },
            c.gzip_bytes.old.map_or("-".into(), human_bytes),
            c.gzip_bytes.new.map_or("-".into(), human_bytes),
            human_delta(c.gzip_bytes.delta),
        ]);
    }
    out.push_str(&t.render());
    for (id, changes) in &d.sections {
        if d.growers.iter().all(|g| &g.artifact != id) && !id.ends_with("/opt") && id != WASM_ID {
            continue; // sections of debug and raw builds would drown the shipped ones
        }
        out.push_str(&format!("\nsections of {id}:\n"));
        out.push_str(&indent(&change_table("section", changes, top).render()));
    }
    let growers = render_growers(&d.growers, top);
    if growers.is_empty() {
        out.push_str("\nno crate or function changed size (or neither side has attribution)\n");
    } else {
        out.push_str(&growers);
    }
    out
}

pub fn run(ws: &Workspace, args: &Args) -> Result<bool> {
    let old = load_side(ws, &args.old)?;
    let new = load_side(ws, &args.new)?;
    let d = diff(&old, &new);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", render(&d, args.top));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, u64)]) -> BTreeMap<String, u64> {
        entries.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn diff_sorts_growth_first_and_marks_new_and_removed() {
        let old = map(&[("a", 100), ("b", 50), ("gone", 30), ("same", 7)]);
        let new = map(&[("a", 90), ("b", 80), ("fresh", 200), ("same", 7)]);
        let d = diff_named(&old, &new, None);
        let got: Vec<(&str, i64, &str)> = d
            .iter()
            .map(|c| (c.name.as_str(), c.delta, c.status()))
            .collect();
        assert_eq!(
            got,
            [
                ("fresh", 200, "new"),
                ("b", 30, ""),
                ("a", -10, ""),
                ("gone", -30, "removed")
            ]
        );
    }

    #[test]
    fn names_below_a_truncated_old_list_are_not_called_new() {
        let old = map(&[("big", 500), ("kept", 100)]);
        let new = map(&[("big", 500), ("kept", 100), ("small", 60), ("grown", 300)]);
        let d = diff_named(&old, &new, Some(100));
        let names: Vec<&str> = d.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["grown"]);
    }

    fn attributed(
        artifact: &str,
        crates: &[(&str, u64)],
        functions: &[(&str, &str, u64)],
    ) -> Attributed {
        Attributed {
            artifact: artifact.into(),
            file: "x.wasm".into(),
            truncated: false,
            crates: crates
                .iter()
                .map(|(n, b)| CrateSize {
                    name: n.to_string(),
                    bytes: *b,
                })
                .collect(),
            functions: functions
                .iter()
                .map(|(n, c, b)| FunctionSize {
                    name: n.to_string(),
                    krate: c.to_string(),
                    bytes: *b,
                })
                .collect(),
        }
    }

    #[test]
    fn growers_name_an_added_dependency_by_its_crate() {
        let old = [attributed(
            "demo",
            &[("std", 1000), ("cortex_core", 500)],
            &[("cortex_core::f", "cortex_core", 500)],
        )];
        let new = [attributed(
            "demo",
            &[("std", 1000), ("cortex_core", 520), ("serde_json", 4000)],
            &[
                ("cortex_core::f", "cortex_core", 520),
                ("serde_json::de::parse", "serde_json", 4000),
            ],
        )];
        let g = growers(&old, &new);
        assert_eq!(g.len(), 1);
        assert_eq!(
            (g[0].crates[0].name.as_str(), g[0].crates[0].status()),
            ("serde_json", "new")
        );
        assert_eq!(g[0].functions[0].name, "serde_json::de::parse");
        let text = render_growers(&g, 10);
        assert!(
            text.contains("serde_json") && text.contains("+3.9 KiB") && text.contains("new"),
            "{text}"
        );
    }

    const BEFORE: &str = "fn main() { println!(\"{}\", std::hint::black_box(7u64) * 3); }\n";
    const AFTER: &str =
        "fn main() { println!(\"{}\", extra::checksum(std::hint::black_box(7))); }\n";
    const EXTRA: &str = r#"
#[inline(never)]
pub fn checksum(seed: u64) -> u64 {
    let mut table = [0u64; 64];
    for (i, t) in table.iter_mut().enumerate() {
        *t = seed.rotate_left(i as u32) ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    table.iter().fold(seed, |a, t| a.wrapping_mul(31) ^ t)
}
"#;

    /// Two real builds of one program; the second adds a dependency.
    #[test]
    fn diff_of_two_builds_names_the_added_dependency() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old.wasm"), dir.path().join("new.wasm"));
        std::fs::write(&old, crate::testing::build_wasm_program(BEFORE, &[])).unwrap();
        let with_dep = crate::testing::build_wasm_program(AFTER, &[("extra", EXTRA)]);
        std::fs::write(&new, with_dep).unwrap();
        let d = diff(
            &Side::from_wasm(&old).unwrap(),
            &Side::from_wasm(&new).unwrap(),
        );
        assert_eq!(d.totals.len(), 1);
        assert!(d.totals[0].bytes.delta > 0, "{:?}", d.totals);
        let crates = &d.growers[0].crates;
        let extra = crates
            .iter()
            .find(|c| c.name == "extra")
            .unwrap_or_else(|| panic!("{crates:?}"));
        assert_eq!((extra.status(), extra.old), ("new", None));
        assert!(extra.delta > 0);
        let f = d.growers[0]
            .functions
            .iter()
            .find(|f| f.name == "extra::checksum")
            .unwrap_or_else(|| panic!("{:?}", d.growers[0].functions));
        assert_eq!(f.status(), "new");
        let text = render(&d, 10);
        assert!(
            text.contains("extra::checksum") && text.contains("new"),
            "{text}"
        );
        assert!(
            text.contains("sections of wasm") && text.contains("code"),
            "{text}"
        );
    }

    #[test]
    fn monomorphisations_with_one_name_are_summed() {
        let f = |b| FunctionSize {
            name: "core::ptr::drop_in_place<T>".into(),
            krate: "core".into(),
            bytes: b,
        };
        assert_eq!(
            function_map(&[f(10), f(5)])["core::ptr::drop_in_place<T>"],
            15
        );
    }
}
