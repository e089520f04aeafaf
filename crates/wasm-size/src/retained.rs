//! The call graph (`size::callgraph`) with names: retained sizes per
//! function and per crate, the shortest path from a root to the functions
//! a pattern names, and what no root reaches. `bloat --retained`, `--why`,
//! `--garbage` and the gate's "kept by" lines are made here.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::attribution::{Attribution, CrateName, CrateSize, DataSize, FunctionSize};
use crate::callgraph::{path_to, Dominators, Graph, Node, SUPER_ROOT, UNREACHED};

/// What the table node is called.
pub const TABLE: &str = "[table]";

/// A graph whose nodes have names and crates. Only functions keep a name
/// string; a data object's is made when asked for, and crates are
/// indices: a 33 MB module has over a hundred thousand data objects.
#[derive(Debug)]
pub struct Named<'a> {
    pub graph: Graph,
    /// Each function's name (demangled; imports' `module.field`), by index:
    /// borrowed from the attribution, not copied.
    names: Vec<Cow<'a, str>>,
    /// Each node's crate, as an index into `crate_names`: `[data]` for
    /// data, `[unknown]` for imports and the table.
    crate_of: Vec<u32>,
    crate_names: Vec<String>,
}

impl<'a> Named<'a> {
    /// Names the nodes of `graph` from `a`, the attribution of the same file.
    pub fn new(graph: Graph, a: &'a Attribution) -> Self {
        let by_index: HashMap<u32, &'a FunctionSize> =
            a.indices.iter().copied().zip(a.functions.iter()).collect();
        let (unknown, data) = (0, 1);
        let (unknown_name, data_name) = (CrateName::Unknown.as_str(), CrateName::Data.as_str());
        let mut crate_names = vec![unknown_name.to_owned(), data_name.to_owned()];
        let mut ids: HashMap<&str, u32> =
            HashMap::from([(unknown_name, unknown), (data_name, data)]);
        let mut names = Vec::with_capacity(graph.functions as usize);
        let mut crate_of = Vec::with_capacity(graph.len());
        for i in 0..graph.functions {
            let (name, krate) = match by_index.get(&i) {
                _ if i < graph.imports => {
                    (Cow::Owned(graph.import_names[i as usize].clone()), unknown)
                }
                Some(f) => {
                    let next = crate_names.len() as u32;
                    let id = *ids.entry(f.krate.as_str()).or_insert_with(|| {
                        crate_names.push(f.krate.as_str().to_owned());
                        next
                    });
                    (Cow::Borrowed(f.name.as_str()), id)
                }
                None => (Cow::Owned(format!("func[{i}]")), unknown),
            };
            names.push(name);
            crate_of.push(krate);
        }
        for id in graph.functions..graph.len() as u32 {
            crate_of.push(match graph.node(id) {
                Node::Table => unknown,
                _ => data,
            });
        }
        Self {
            graph,
            names,
            crate_of,
            crate_names,
        }
    }

    /// Node `n`'s name: a function's, a data object's (its segment's name
    /// or `data[i]`, `+offset` inside it), or the table's.
    pub fn name(&self, n: u32) -> Cow<'_, str> {
        match self.graph.node(n) {
            Node::Function(i) => Cow::Borrowed(&self.names[i as usize]),
            Node::Data { segment, offset } => Cow::Owned(self.graph.data_name(segment, offset)),
            Node::Table => Cow::Borrowed(TABLE),
        }
    }

    /// Node `n`'s crate.
    pub fn krate(&self, n: u32) -> &str {
        &self.crate_names[self.crate_of[n as usize] as usize]
    }

    /// Bytes the module would lose without each crate's functions (and,
    /// for `[data]`, without its data), by crate name.
    pub fn crate_retained(&self) -> BTreeMap<String, u64> {
        self.retained_of_crates(|_| true)
    }

    /// [`Named::crate_retained`] of the crates named in `only`: each
    /// crate's search costs what it reaches, so a bounded list asks for
    /// its own crates alone.
    pub fn crate_retained_of(&self, only: &[&str]) -> BTreeMap<String, u64> {
        let only: std::collections::HashSet<&str> = only.iter().copied().collect();
        self.retained_of_crates(|c| only.contains(c))
    }

    fn retained_of_crates(&self, wanted: impl Fn(&str) -> bool) -> BTreeMap<String, u64> {
        // Crates of some node but the table's, by `crate_names` index.
        let mut present = vec![false; self.crate_names.len()];
        let group: Vec<u32> = (0..self.graph.len() as u32)
            .map(|n| {
                let c = self.crate_of[n as usize];
                if Some(n) == self.graph.table || !wanted(&self.crate_names[c as usize]) {
                    return u32::MAX;
                }
                present[c as usize] = true;
                c
            })
            .collect();
        let lost = self.graph.group_retained(&group, self.crate_names.len());
        (0..self.crate_names.len())
            .filter(|&c| present[c])
            .map(|c| (self.crate_names[c].clone(), lost[c]))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionRetained {
    #[serde(flatten)]
    pub function: FunctionSize,
    pub retained_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrateRetained {
    #[serde(flatten)]
    pub krate: CrateSize,
    pub retained_bytes: u64,
}

/// `bloat --retained --json`: the attribution's fields, with
/// `retained_bytes` on each function and crate; each list cut to its
/// first entries as `bloat -n` asks, `left_out` saying how many more.
#[derive(Debug, Clone, Serialize)]
pub struct RetainedAttribution {
    pub file: String,
    pub named: bool,
    pub functions: Vec<FunctionRetained>,
    pub crates: Vec<CrateRetained>,
    pub data: Vec<DataSize>,
    pub left_out: LeftOut,
}

/// How many entries of each list a bounded JSON leaves out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub functions: usize,
    pub crates: usize,
    pub data: usize,
}

impl LeftOut {
    /// What the first `limit` entries of each of `a`'s lists leave out.
    pub fn of(a: &Attribution, limit: usize) -> Self {
        Self {
            functions: a.functions.len().saturating_sub(limit),
            crates: a.crates.len().saturating_sub(limit),
            data: a.data.len().saturating_sub(limit),
        }
    }
}

/// `a` with retained sizes, the first `limit` entries of each list
/// (`usize::MAX` for all).
pub fn with_retained(
    a: &Attribution,
    named: &Named,
    d: &Dominators,
    limit: usize,
) -> RetainedAttribution {
    let shown: Vec<&str> = a
        .crates
        .iter()
        .take(limit)
        .map(|c| c.name.as_str())
        .collect();
    let per_crate = named.crate_retained_of(&shown);
    let functions = a
        .functions
        .iter()
        .zip(&a.indices)
        .take(limit)
        .map(|(f, &i)| FunctionRetained {
            function: f.clone(),
            retained_bytes: named
                .graph
                .function_node(i)
                .map_or(0, |n| d.retained[n as usize]),
        })
        .collect();
    let crates = a
        .crates
        .iter()
        .take(limit)
        .map(|c| CrateRetained {
            krate: c.clone(),
            retained_bytes: per_crate.get(c.name.as_str()).copied().unwrap_or(0),
        })
        .collect();
    RetainedAttribution {
        file: a.file.clone(),
        named: a.named,
        functions,
        crates,
        data: a.data.iter().take(limit).cloned().collect(),
        left_out: LeftOut::of(a, limit),
    }
}

/// One `--why` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhyPath {
    pub target: String,
    /// The target's own bytes.
    pub bytes: u64,
    /// Names from a root to the target; empty when no root reaches it.
    pub path: Vec<String>,
    /// Own bytes of each step of `path`.
    #[serde(skip)]
    pub step_bytes: Vec<u64>,
}

/// `bloat --why --json`.
#[derive(Debug, Clone, Serialize)]
pub struct Why {
    pub paths: Vec<WhyPath>,
    /// Matching functions beyond the limit, not in `paths`.
    pub left_out: usize,
}

/// Whether `name` or `krate` contains `pattern`, ignoring case.
fn matches(pattern: &str, name: &str, krate: &str) -> bool {
    name.to_lowercase().contains(pattern) || krate.to_lowercase().contains(pattern)
}

/// The shortest path from a root to each function whose name or crate
/// contains `pattern` (ignoring case): reached ones first, nearest first,
/// then bigger first; at most `limit`, `left_out` counting the others.
pub fn why(named: &Named, pattern: &str, limit: usize) -> Why {
    let pattern = pattern.to_lowercase();
    let g = &named.graph;
    let parents = g.shortest_paths();
    let mut found: Vec<(usize, u64, u32)> = (0..g.functions)
        .filter(|&n| matches(&pattern, &named.name(n), named.krate(n)))
        .map(|n| {
            let depth = depth(&parents, n);
            (depth, g.bytes[n as usize], n)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let left_out = found.len().saturating_sub(limit);
    let paths = found
        .into_iter()
        .take(limit)
        .map(|(_, bytes, n)| {
            let path = path_to(&parents, n);
            WhyPath {
                target: named.name(n).into_owned(),
                bytes,
                path: path.iter().map(|&p| named.name(p).into_owned()).collect(),
                step_bytes: path.iter().map(|&p| g.bytes[p as usize]).collect(),
            }
        })
        .collect();
    Why { paths, left_out }
}

/// Steps from a root; `usize::MAX` when unreached.
fn depth(parents: &[u32], mut n: u32) -> usize {
    let mut d = 0;
    loop {
        match parents.get(n as usize) {
            Some(&UNREACHED) | None => return usize::MAX,
            Some(&SUPER_ROOT) => return d,
            Some(&p) => {
                d += 1;
                if d > parents.len() {
                    return usize::MAX;
                }
                n = p;
            }
        }
    }
}

/// The names closest to `pattern`: crates and the last segment of each
/// function name, by edit distance, at most `count`.
pub fn closest(named: &Named, pattern: &str, count: usize) -> Vec<String> {
    let pattern: Vec<char> = pattern.to_lowercase().chars().take(64).collect();
    let mut candidates: Vec<&str> = Vec::new();
    for n in 0..named.graph.functions as usize {
        candidates.push(named.krate(n as u32));
        let name = &named.names[n];
        let last = name.rsplit("::").next().unwrap_or(name);
        candidates.push(last);
    }
    candidates.sort_unstable();
    candidates.dedup();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| !c.is_empty())
        .map(|c| {
            let c_chars: Vec<char> = c.to_lowercase().chars().take(64).collect();
            (edit_distance(&pattern, &c_chars), c)
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(count)
        .map(|(_, c)| c.to_owned())
        .collect()
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// A function or data object no root reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Garbage {
    pub name: String,
    #[serde(rename = "crate")]
    pub krate: CrateName,
    pub bytes: u64,
}

/// What no root reaches: functions with a body and data objects, biggest
/// first.
pub fn garbage(named: &Named) -> Vec<Garbage> {
    let g = &named.graph;
    let reached = g.reachable();
    let mut out: Vec<Garbage> = (0..g.len())
        .filter(|&n| !reached[n] && g.bytes[n] > 0)
        .map(|n| Garbage {
            name: named.name(n as u32).into_owned(),
            krate: named.krate(n as u32).into(),
            bytes: g.bytes[n],
        })
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    out
}

/// What keeps each of `functions` and each crate alive: the names on its
/// shortest path from a root, root first, without itself. For a crate, the
/// path of its function nearest a root, up to that function's caller.
#[derive(Debug)]
pub struct KeptBy {
    pub functions: BTreeMap<String, Vec<String>>,
    pub crates: BTreeMap<String, Vec<String>>,
}

pub fn kept_by(named: &Named, functions: &[&str]) -> KeptBy {
    let g = &named.graph;
    let parents = g.shortest_paths();
    let wanted: std::collections::HashSet<&str> = functions.iter().copied().collect();
    let mut by_function = BTreeMap::new();
    let mut nearest: BTreeMap<&str, (usize, u32)> = BTreeMap::new();
    for n in 0..g.functions {
        let name: &str = &named.names[n as usize];
        let d = depth(&parents, n);
        if d == usize::MAX {
            continue;
        }
        if wanted.contains(name) && !by_function.contains_key(name) {
            let mut path = names_of(named, &path_to(&parents, n));
            path.pop();
            by_function.insert(name.to_owned(), path);
        }
        let krate = named.krate(n);
        let e = nearest.entry(krate).or_insert((d, n));
        if d < e.0 {
            *e = (d, n);
        }
    }
    let crates = nearest
        .into_iter()
        .map(|(krate, (_, n))| {
            let path = path_to(&parents, n);
            // Up to the first node outside the crate.
            let keep = path
                .iter()
                .rposition(|&p| named.krate(p) != krate)
                .map_or(0, |i| i + 1);
            (krate.to_owned(), names_of(named, &path[..keep]))
        })
        .collect();
    KeptBy {
        functions: by_function,
        crates,
    }
}

fn names_of(named: &Named, path: &[u32]) -> Vec<String> {
    path.iter().map(|&p| named.name(p).into_owned()).collect()
}

/// A path as one line, target first: `regex ← wasm_demo::main ← _start`.
pub fn kept_by_line(target: &str, path: &[String]) -> String {
    let mut line = target.to_owned();
    for step in path.iter().rev() {
        line.push_str(" ← ");
        line.push_str(step);
    }
    line
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::attribution::attribute;
    use crate::callgraph::{graph, Mode};
    use crate::synthetic::{Function, Instr, Module};

    fn module() -> Vec<u8> {
        let f = |name: &str, body: Vec<Instr>| Function {
            name: name.into(),
            body,
        };
        Module {
            functions: vec![
                f("_start", vec![Instr::Call(1)]),
                f(
                    "_ZN9wasm_demo4main17h0123456789abcdefE",
                    vec![Instr::Call(2)],
                ),
                f(
                    "_ZN5regex5Regex3new17h0123456789abcdefE",
                    vec![Instr::Call(3)],
                ),
                f(
                    "_ZN5regex7compile17h0123456789abcdefE",
                    vec![Instr::Add(9); 20],
                ),
                f("dlmalloc", vec![Instr::Add(9); 3]),
            ],
            exports: vec![("_start".into(), 0)],
            names: true,
            ..Module::default()
        }
        .encode()
    }

    /// `_start` → `wasm_demo::main` → `Regex::new` → `regex::compile` (the
    /// biggest), and `dlmalloc`, which nothing calls; also `bloat_text`'s.
    /// The attribution is leaked: `Named` borrows its names, and a test
    /// keeps both.
    pub(crate) fn named() -> (&'static Attribution, Named<'static>) {
        let wasm = module();
        let a: &'static Attribution = Box::leak(Box::new(attribute(&wasm, "m.wasm").unwrap()));
        let g = graph(&wasm, Mode::SeeThrough).unwrap();
        let n = Named::new(g, a);
        (a, n)
    }

    #[test]
    fn why_gives_the_path_from_the_root_with_bytes() {
        let (_, n) = named();
        let paths = why(&n, "REGEX", 10).paths;
        assert_eq!(paths.len(), 2);
        assert_eq!(paths[0].target, "regex::Regex::new");
        assert_eq!(
            paths[0].path,
            ["_start", "wasm_demo::main", "regex::Regex::new"]
        );
        assert_eq!(paths[1].path.len(), 4);
        assert_eq!(paths[0].step_bytes.len(), 3);
        let json = serde_json::to_value(Why { paths, left_out: 0 }).unwrap();
        assert_eq!(json["paths"][0]["target"], "regex::Regex::new");
        assert!(json["paths"][0]["bytes"].as_u64().unwrap() > 0);
        assert!(json["paths"][0].get("step_bytes").is_none());
        let dead = why(&n, "dlmalloc", 10).paths;
        assert!(dead[0].path.is_empty());
        assert_eq!(garbage(&n)[0].name, "dlmalloc");
    }

    #[test]
    fn why_keeps_the_nearest_within_the_limit_and_counts_the_rest() {
        let (_, n) = named();
        let all = why(&n, "REGEX", 10);
        let one = why(&n, "REGEX", 1);
        assert_eq!((all.paths.len(), all.left_out), (2, 0));
        assert_eq!((one.paths.len(), one.left_out), (1, 1));
        assert_eq!(one.paths[0], all.paths[0]);
        let json = serde_json::to_value(&one).unwrap();
        assert_eq!(json["left_out"], 1);
    }

    #[test]
    fn retained_json_within_a_limit_is_the_first_entries_and_counts_the_rest() {
        let (a, n) = named();
        let d = n.graph.dominators();
        let all = with_retained(a, &n, &d, usize::MAX);
        let two = with_retained(a, &n, &d, 2);
        assert_eq!(all.left_out, LeftOut::default());
        assert_eq!(two.functions[..], all.functions[..2]);
        assert_eq!(two.crates[..], all.crates[..2]);
        assert_eq!(
            two.left_out,
            LeftOut {
                functions: a.functions.len() - 2,
                crates: a.crates.len() - 2,
                data: a.data.len().saturating_sub(2),
            }
        );
        let v = serde_json::to_value(&two).unwrap();
        assert_eq!(v["left_out"]["functions"], a.functions.len() - 2);
    }

    #[test]
    fn a_crate_retained_alone_is_what_it_is_among_all() {
        let (_, n) = named();
        let all = n.crate_retained();
        let some = n.crate_retained_of(&["regex", "wasm_demo"]);
        assert_eq!(some.len(), 2);
        assert_eq!(some["regex"], all["regex"]);
        assert_eq!(some["wasm_demo"], all["wasm_demo"]);
    }

    #[test]
    fn closest_names_a_near_miss() {
        let (_, n) = named();
        assert_eq!(closest(&n, "regx", 1), ["regex"]);
        assert_eq!(closest(&n, "dlmaloc", 1), ["dlmalloc"]);
    }

    #[test]
    fn retained_json_adds_retained_bytes_and_keeps_the_fields() {
        let (a, n) = named();
        let d = n.graph.dominators();
        let r = with_retained(a, &n, &d, usize::MAX);
        let v = serde_json::to_value(&r).unwrap();
        let regex_new = v["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "regex::Regex::new")
            .unwrap();
        let own = regex_new["bytes"].as_u64().unwrap();
        assert!(regex_new["retained_bytes"].as_u64().unwrap() > own);
        assert_eq!(regex_new["crate"], "regex");
        let regex = v["crates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "regex")
            .unwrap();
        assert_eq!(regex["retained_bytes"], regex["bytes"]);
        let demo = v["crates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "wasm_demo")
            .unwrap();
        assert_eq!(
            demo["retained_bytes"].as_u64().unwrap(),
            demo["bytes"].as_u64().unwrap() + regex["bytes"].as_u64().unwrap()
        );
    }

    #[test]
    fn kept_by_names_the_path_to_a_crate_and_a_function() {
        let (_, n) = named();
        let k = kept_by(&n, &["regex::compile"]);
        assert_eq!(
            kept_by_line("regex", &k.crates["regex"]),
            "regex ← wasm_demo::main ← _start"
        );
        assert_eq!(
            kept_by_line("regex::compile", &k.functions["regex::compile"]),
            "regex::compile ← regex::Regex::new ← wasm_demo::main ← _start"
        );
    }
}
