//! What changed between two measurements: totals, wasm sections, crates and
//! functions, sorted by delta. `size-report` names its growers with it;
//! `cargo xtask size-diff` compares any two sides.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::artifact::{ArtifactId, Stage};
use crate::attribution::{attribute, demangle, Attribution, CrateSize, FunctionSize};
use crate::report::{Attributed, Report};
use crate::retained::kept_by_line;
use crate::table::{and_more, human_bytes, human_delta, Table};
use crate::wasm::Sizes;

/// One named thing on both sides; `None` where it does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub name: String,
    pub old: Option<u64>,
    pub new: Option<u64>,
    pub delta: i64,
    /// Absent from the new side's truncated list, whose smallest kept entry
    /// has this size: it shrank below it or was removed, the list cannot
    /// tell. `delta` is then the least it shrank by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_below: Option<u64>,
    /// For a thing that grew or is new: what keeps it alive, as one line
    /// (`regex ← wasm_demo::main ← _start`), when the new side knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_by: Option<String>,
}

impl Change {
    fn new(name: String, old: Option<u64>, new: Option<u64>) -> Self {
        let delta = new.unwrap_or(0) as i64 - old.unwrap_or(0) as i64;
        Self {
            name,
            old,
            new,
            delta,
            new_below: None,
            kept_by: None,
        }
    }

    /// `new`, `removed`, `left top` (see `new_below`) or empty.
    pub fn status(&self) -> &'static str {
        match (self.old, self.new) {
            (None, Some(_)) => "new",
            (Some(_), None) if self.new_below.is_some() => "left top",
            (Some(_), None) => "removed",
            _ => "",
        }
    }

    /// The new size for a table: `-`, or `<N` for one that left the top.
    fn new_cell(&self) -> String {
        match (self.new, self.new_below) {
            (Some(n), _) => human_bytes(n),
            (None, Some(cut)) => format!("<{}", human_bytes(cut)),
            (None, None) => "-".into(),
        }
    }
}

/// Where each side's list was cut: the smallest size it kept, for a list
/// holding only the biggest entries; `None` for a whole list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cutoffs {
    pub old: Option<u64>,
    pub new: Option<u64>,
}

/// Changes between two name → bytes maps, biggest growth first, then the
/// biggest shrink last; unchanged entries are left out. A truncated list
/// did not record its entries below its cutoff, so
/// - a name absent from the old list is only called new if it is now
///   bigger than the old cutoff;
/// - a name absent from the new list is only listed if it was bigger than
///   the new cutoff, and then as having left the top (`new_below`), not
///   as removed: it may have only shrunk.
pub fn diff_named(
    old: &BTreeMap<String, u64>,
    new: &BTreeMap<String, u64>,
    cutoffs: Cutoffs,
) -> Vec<Change> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    let mut out: Vec<Change> = names
        .into_iter()
        .filter_map(|name| {
            let (o, n) = (old.get(name).copied(), new.get(name).copied());
            if o.is_none() && cutoffs.old.is_some_and(|cut| n.unwrap_or(0) <= cut) {
                return None;
            }
            let mut c = Change::new(name.clone(), o, n);
            if let (Some(o), None, Some(cut)) = (o, n, cutoffs.new) {
                if o <= cut {
                    return None;
                }
                c.new_below = Some(cut);
                c.delta = cut as i64 - o as i64;
            }
            (c.delta != 0 || c.status() != "").then_some(c)
        })
        .collect();
    out.sort_by(|a, b| b.delta.cmp(&a.delta).then_with(|| a.name.cmp(&b.name)));
    out
}

/// What a row of a diff is about: an artifact of a report, or the `.wasm`
/// file a side of size-diff was given as, called `wasm`. Written, read and
/// ordered as that text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Subject {
    Artifact(ArtifactId),
    Wasm,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Artifact(id) => id.fmt(f),
            Subject::Wasm => f.write_str("wasm"),
        }
    }
}

impl TryFrom<String> for Subject {
    type Error = anyhow::Error;
    fn try_from(text: String) -> Result<Self> {
        match text.as_str() {
            "wasm" => Ok(Subject::Wasm),
            id => Ok(Subject::Artifact(id.parse()?)),
        }
    }
}

impl From<Subject> for String {
    fn from(subject: Subject) -> Self {
        subject.to_string()
    }
}

impl Ord for Subject {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Subject::Artifact(a), Subject::Artifact(b)) => a.cmp(b),
            _ => self.to_string().cmp(&other.to_string()),
        }
    }
}

impl PartialOrd for Subject {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Crates and functions of one artifact that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Growers {
    pub artifact: Subject,
    pub crates: Vec<Change>,
    pub functions: Vec<Change>,
}

fn crate_map(crates: &[CrateSize]) -> BTreeMap<String, u64> {
    crates
        .iter()
        .map(|c| (c.name.to_string(), c.bytes))
        .collect()
}

/// Functions by identity: names go through [`demangle`] again, so a
/// baseline written before a suffix was dropped still matches.
fn function_map(functions: &[FunctionSize]) -> BTreeMap<String, u64> {
    let mut map = BTreeMap::new();
    for f in functions {
        *map.entry(demangle(&f.name)).or_insert(0) += f.bytes;
    }
    map
}

/// What growers compare of one side: an artifact's attribution in a
/// report, or a whole file's.
struct Lists<'a> {
    crates: &'a [CrateSize],
    functions: &'a [FunctionSize],
    /// The smallest function a truncated list kept.
    cutoff: Option<u64>,
    kept_by: &'a BTreeMap<String, Vec<String>>,
    crates_kept_by: &'a BTreeMap<String, Vec<String>>,
}

/// No paths: a file's attribution does not walk its call graph.
static NO_PATHS: BTreeMap<String, Vec<String>> = BTreeMap::new();

impl<'a> From<&'a Attributed> for Lists<'a> {
    fn from(a: &'a Attributed) -> Self {
        Self {
            crates: &a.crates,
            functions: &a.functions,
            cutoff: a
                .truncated
                .then(|| a.functions.iter().map(|f| f.bytes).min().unwrap_or(0)),
            kept_by: &a.kept_by,
            crates_kept_by: &a.crates_kept_by,
        }
    }
}

impl<'a> From<&'a Attribution> for Lists<'a> {
    fn from(a: &'a Attribution) -> Self {
        Self {
            crates: &a.crates,
            functions: &a.functions,
            cutoff: None,
            kept_by: &NO_PATHS,
            crates_kept_by: &NO_PATHS,
        }
    }
}

/// The crates and functions that changed from `o` to `n`.
fn growers_of(artifact: Subject, o: Lists, n: Lists) -> Growers {
    let mut crates = diff_named(
        &crate_map(o.crates),
        &crate_map(n.crates),
        Cutoffs::default(),
    );
    let mut functions = diff_named(
        &function_map(o.functions),
        &function_map(n.functions),
        Cutoffs {
            old: o.cutoff,
            new: n.cutoff,
        },
    );
    name_keepers(&mut crates, n.crates_kept_by);
    name_keepers(&mut functions, n.kept_by);
    Growers {
        artifact,
        crates,
        functions,
    }
}

/// Growers of every artifact both sides attributed.
pub fn growers(old: &[Attributed], new: &[Attributed]) -> Vec<Growers> {
    new.iter()
        .filter_map(|n| {
            let o = old.iter().find(|o| o.artifact == n.artifact)?;
            let artifact = Subject::Artifact(n.artifact.clone());
            Some(growers_of(artifact, o.into(), n.into()))
        })
        .collect()
}

/// Fills `kept_by` of each change that grew, from the new side's paths.
fn name_keepers(changes: &mut [Change], paths: &BTreeMap<String, Vec<String>>) {
    for c in changes.iter_mut().filter(|c| c.delta > 0) {
        if let Some(path) = paths.get(&c.name).filter(|p| !p.is_empty()) {
            c.kept_by = Some(kept_by_line(&c.name, path));
        }
    }
}

/// The "kept by" lines of the rows a table shows.
fn keeper_lines(changes: &[Change], top: usize) -> String {
    let lines: Vec<&str> = changes
        .iter()
        .take(top)
        .filter_map(|c| c.kept_by.as_deref())
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let mut out = "  kept by (shortest path from a root):\n".to_owned();
    for l in lines {
        out.push_str(&format!("    {l}\n"));
    }
    out
}

fn change_table(label: &str, changes: &[Change], top: usize) -> Table {
    let mut t = Table::new(["delta", "old", "new", "", label]);
    for c in changes.iter().take(top) {
        t.row([
            human_delta(c.delta),
            c.old.map_or("-".into(), human_bytes),
            c.new_cell(),
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
        // A table with no rows would be a header saying nothing.
        if !g.crates.is_empty() {
            out.push_str(&format!("\nwhat changed in {}, by crate:\n", g.artifact));
            out.push_str(&indent(&change_table("crate", &g.crates, top).render()));
            more(&mut out, g.crates.len(), top);
            out.push_str(&keeper_lines(&g.crates, top));
        }
        if !g.functions.is_empty() {
            if g.crates.is_empty() {
                out.push_str(&format!("\nwhat changed in {}, by function:\n", g.artifact));
            } else {
                out.push_str("by function:\n");
            }
            out.push_str(&indent(
                &change_table("function", &g.functions, top).render(),
            ));
            more(&mut out, g.functions.len(), top);
            out.push_str(&keeper_lines(&g.functions, top));
        }
    }
    out
}

fn more(out: &mut String, len: usize, top: usize) {
    if len > top {
        out.push_str("  ");
        out.push_str(&and_more(len - top, None, None));
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// One side of `size-diff`, whatever it was given as.
#[derive(Debug)]
pub struct Side {
    label: String,
    /// (bytes, gzip bytes, sections) of each artifact, or of the file.
    artifacts: BTreeMap<Subject, Sizes>,
    /// A report's attribution.
    attribution: Vec<Attributed>,
    /// A file's attribution, with every function.
    file: Option<Attribution>,
}

impl Side {
    pub fn from_report(label: String, r: Report) -> Self {
        Self {
            label,
            artifacts: r
                .artifacts
                .iter()
                .map(|a| (Subject::Artifact(a.id()), a.sizes.clone()))
                .collect(),
            attribution: r.attribution,
            file: None,
        }
    }

    /// A `.wasm` file's bytes, named `label`: its sizes, and its
    /// attribution with every function kept.
    pub fn from_wasm(label: &str, bytes: &[u8]) -> Result<Self> {
        let sizes = Sizes::of(bytes, true)
            .with_context(|| format!("{label} is not a valid wasm module"))?;
        Ok(Self {
            label: label.to_owned(),
            artifacts: BTreeMap::from([(Subject::Wasm, sizes)]),
            attribution: Vec::new(),
            file: Some(attribute(bytes, label)?),
        })
    }
}

/// The whole diff, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Diff {
    pub old: String,
    pub new: String,
    pub totals: Vec<TotalChange>,
    pub sections: BTreeMap<Subject, Vec<Change>>,
    pub growers: Vec<Growers>,
}

#[derive(Debug, Serialize)]
pub struct TotalChange {
    pub artifact: Subject,
    pub bytes: Change,
    pub gzip_bytes: Change,
}

pub fn diff(old: &Side, new: &Side) -> Diff {
    let (old_ids, new_ids) = (
        old.artifacts.keys().collect::<Vec<_>>(),
        new.artifacts.keys().collect::<Vec<_>>(),
    );
    let mut ids: Vec<&Subject> = old_ids.into_iter().chain(new_ids).collect();
    ids.sort();
    ids.dedup();
    let mut totals = Vec::new();
    let mut sections = BTreeMap::new();
    for id in ids {
        let (o, n) = (old.artifacts.get(id), new.artifacts.get(id));
        let name = id.to_string();
        totals.push(TotalChange {
            artifact: id.clone(),
            bytes: Change::new(name.clone(), o.map(|s| s.bytes), n.map(|s| s.bytes)),
            gzip_bytes: Change::new(name, o.map(|s| s.gzip_bytes), n.map(|s| s.gzip_bytes)),
        });
        let secs = |s: Option<&Sizes>| s.and_then(|s| s.sections.clone()).unwrap_or_default();
        let changed = diff_named(&secs(o), &secs(n), Cutoffs::default());
        if !changed.is_empty() {
            sections.insert(id.clone(), changed);
        }
    }
    let mut grown = growers(&old.attribution, &new.attribution);
    if let (Some(o), Some(n)) = (&old.file, &new.file) {
        grown.push(growers_of(Subject::Wasm, o.into(), n.into()));
    }
    Diff {
        old: old.label.clone(),
        new: new.label.clone(),
        totals,
        sections,
        growers: grown,
    }
}

pub fn render(d: &Diff, top: usize) -> String {
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
            c.artifact.to_string(),
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
        let shipped_stage = match id {
            Subject::Artifact(id) => id.stage == Stage::Opt,
            Subject::Wasm => true,
        };
        if d.growers.iter().all(|g| g.artifact != *id) && !shipped_stage {
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
        let d = diff_named(&old, &new, Cutoffs::default());
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
        let d = diff_named(
            &old,
            &new,
            Cutoffs {
                old: Some(100),
                new: None,
            },
        );
        let names: Vec<&str> = d.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["grown"]);
    }

    #[test]
    fn names_that_left_a_truncated_new_list_are_not_called_removed() {
        let old = map(&[("big", 500), ("small", 60), ("shrunk", 300), ("kept", 100)]);
        let new = map(&[("big", 500), ("kept", 100)]);
        let d = diff_named(
            &old,
            &new,
            Cutoffs {
                old: None,
                new: Some(100),
            },
        );
        // `small` may still be there, below the cut: not a change at all.
        // `shrunk` is gone from the top: it shrank by at least 200 B.
        let got: Vec<(&str, i64, &str)> = d
            .iter()
            .map(|c| (c.name.as_str(), c.delta, c.status()))
            .collect();
        assert_eq!(got, [("shrunk", -200, "left top")]);
        let text = change_table("function", &d, 10).render();
        assert!(
            text.contains("<100 B") && text.contains("left top"),
            "{text}"
        );
        assert!(!text.contains("removed"), "{text}");
        // A whole new list still says removed.
        let whole = diff_named(&old, &new, Cutoffs::default());
        assert!(whole
            .iter()
            .any(|c| c.name == "small" && c.status() == "removed"));
    }

    #[test]
    fn growers_drop_functions_that_only_fell_out_of_the_new_top() {
        let mut old = attributed(
            "demo",
            &[("a", 1000)],
            &[("a::big", "a", 900), ("a::mid", "a", 50)],
        );
        let mut new = attributed(
            "demo",
            &[("a", 1000)],
            &[("a::big", "a", 900), ("a::x", "a", 50)],
        );
        old.truncated = true;
        new.truncated = true;
        let g = growers(&[old], &[new]);
        assert!(g[0].functions.is_empty(), "{:?}", g[0].functions);
    }

    fn attributed(
        artifact: &str,
        crates: &[(&str, u64)],
        functions: &[(&str, &str, u64)],
    ) -> Attributed {
        Attributed {
            artifact: ArtifactId::shipped(artifact),
            file: "x.wasm".into(),
            truncated: false,
            crates: crates
                .iter()
                .map(|(n, b)| CrateSize {
                    name: (*n).into(),
                    bytes: *b,
                })
                .collect(),
            functions: functions
                .iter()
                .map(|(n, c, b)| FunctionSize {
                    name: n.to_string(),
                    krate: (*c).into(),
                    bytes: *b,
                })
                .collect(),
            kept_by: BTreeMap::new(),
            crates_kept_by: BTreeMap::new(),
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

    #[test]
    fn growers_say_what_keeps_a_new_crate_and_a_growing_function() {
        let old = [attributed(
            "demo",
            &[("std", 1000)],
            &[("wasm_demo::main", "wasm_demo", 100)],
        )];
        let mut new = attributed(
            "demo",
            &[("std", 1000), ("regex", 4000)],
            &[
                ("wasm_demo::main", "wasm_demo", 300),
                ("regex::compile", "regex", 4000),
            ],
        );
        let root = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        new.crates_kept_by.insert(
            "regex".into(),
            root(&["_start", "__main_void", "wasm_demo::main"]),
        );
        new.crates_kept_by.insert("std".into(), root(&["_start"]));
        new.kept_by.insert(
            "regex::compile".into(),
            root(&[
                "_start",
                "__main_void",
                "wasm_demo::main",
                "regex::Regex::new",
            ]),
        );
        new.kept_by
            .insert("wasm_demo::main".into(), root(&["_start", "__main_void"]));
        let g = growers(&old, &[new]);
        let text = render_growers(&g, 10);
        assert!(
            text.contains("    regex ← wasm_demo::main ← __main_void ← _start\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "    regex::compile ← regex::Regex::new ← wasm_demo::main ← __main_void ← _start\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("    wasm_demo::main ← __main_void ← _start\n"),
            "{text}"
        );
        // std did not change: no line for it.
        assert!(!text.contains("std ←"), "{text}");
        // A baseline written before the paths existed still loads.
        let json = serde_json::to_string(&old[0]).unwrap();
        assert!(!json.contains("kept_by"), "{json}");
        let back: Attributed = serde_json::from_str(&json).unwrap();
        assert!(back.kept_by.is_empty());
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
