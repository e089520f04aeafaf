//! The treemap of a `.wasm`: one self-contained HTML page where each crate
//! is a rectangle, and each function (data segment, for `[data]`) a
//! rectangle inside it, with areas by bytes. Colours say what grew, shrank
//! or is new against a baseline.
//!
//! The layout is computed here ([`layout::squarify`]), so it is tested
//! on plain data; the page's script only places the rectangles it is given,
//! shows the numbers on hover and zooms into a crate on click. The page
//! holds its data as JSON, its script and its style inline, and a Content
//! Security Policy that forbids any fetch: it opens from disk, offline.
//! [`check`] reads back what a browser rendered (the page measures itself
//! when opened with `?selftest`) and compares it with the model.

pub mod check;
pub mod layout;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, CrateName};
use crate::budgets::Budgets;
use crate::report::Attributed;
use crate::retained::RetainedAttribution;
use layout::{squarify, Rect};

/// The layout's units: the page scales them to its width and keeps this
/// aspect ratio, so what the browser shows is this layout, scaled.
pub const WIDTH: f64 = 1600.0;
pub const HEIGHT: f64 = 1000.0;
/// Space around a crate's functions, and the crate's label strip above
/// them when the crate is big enough to show it.
const PAD: f64 = 2.0;
const HEADER: f64 = 18.0;
/// In the whole-module view, items smaller than this (in square units, 4×4
/// at the nominal size) are not drawn: too small to read or point at, and
/// a 25,000-function module would draw thousands of them on every way
/// back from a crate. They are there when the crate is zoomed into.
const MIN_AREA: f64 = 16.0;
/// At most this many items in the whole-module view, the biggest: a
/// browser lays out a few thousand rectangles at once without a pause.
pub const MAX_DRAWN: usize = 3000;
/// How many crates, the biggest, the page's self-test zooms into: each
/// way back redraws the whole view, so all of them would make the test of
/// a module with hundreds of crates take minutes.
pub const SELFTEST_ZOOMS: usize = 24;
/// Items per crate; the smallest beyond it are one `… N more` item, so a
/// 25,000-function module still gives a page a browser opens quickly.
pub const MAX_ITEMS: usize = 400;

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Treemap {
    /// What the figures describe (a file, or a package's release build).
    pub title: String,
    /// All function body and data segment bytes.
    pub total: u64,
    /// What the colours compare with, when there is a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared: Option<String>,
    pub width: f64,
    pub height: f64,
    /// How many crates the page's self-test zooms into ([`SELFTEST_ZOOMS`]).
    pub selftest_zooms: usize,
    /// Largest first.
    pub crates: Vec<Block>,
}

/// One crate: its rectangle in the whole-module view and its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub name: CrateName,
    pub bytes: u64,
    /// What the module would lose without it, when an analysis gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retained: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Its bytes in the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<u64>,
    /// `None` for a crate of 0 bytes.
    pub rect: Option<Rect>,
    /// Functions (segments, for `[data]`), largest first.
    pub items: Vec<Item>,
}

/// One function (bodies with one name together) or data segment, or the
/// rest of a crate's items beyond [`MAX_ITEMS`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retained: Option<u64>,
    /// How many bodies (segments) have this name; for the rest item, how
    /// many items it stands for.
    pub count: usize,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rest: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<u64>,
    /// In the whole-module view; `None` when too small to draw there.
    pub rect: Option<Rect>,
    /// In the view of its crate alone.
    pub zoom: Option<Rect>,
}

/// Against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Grown,
    Shrunk,
    New,
    Same,
    /// Not in the baseline's list of biggest functions and not big enough
    /// now to have been in it: the baseline does not say.
    Unlisted,
}

/// What the colours compare with: a note for the legend and the baseline's
/// attribution of the same artifact.
#[derive(Debug)]
pub struct Baseline<'a> {
    pub note: String,
    pub attributed: &'a Attributed,
    /// Whose noise thresholds (`min-delta-bytes`, `min-delta-percent`)
    /// colour a change too small for the gate as unchanged: red on the
    /// page means what a grower means in the table.
    pub budgets: &'a Budgets,
}

/// Fills in the retained sizes the call graph gives: each crate's (what the
/// module would lose without it), and each function's, summed over the
/// bodies with its name. The rest item and data segments get none.
pub fn set_retained(t: &mut Treemap, r: &RetainedAttribution) {
    let mut functions: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &r.functions {
        *functions.entry(f.function.name.as_str()).or_default() += f.retained_bytes;
    }
    let crates: BTreeMap<&str, u64> = r
        .crates
        .iter()
        .map(|c| (c.krate.name.as_str(), c.retained_bytes))
        .collect();
    for block in &mut t.crates {
        block.retained = crates.get(block.name.as_str()).copied();
        for item in block.items.iter_mut().filter(|i| !i.rest) {
            item.retained = functions.get(item.name.as_str()).copied();
        }
    }
}

/// The treemap of `a`, coloured against `baseline` if given.
pub fn model(title: &str, a: &Attribution, baseline: Option<Baseline<'_>>) -> Treemap {
    let data = CrateName::Data;
    let mut per_crate: BTreeMap<&CrateName, BTreeMap<&str, (u64, usize)>> = BTreeMap::new();
    for f in &a.functions {
        let e = per_crate
            .entry(&f.krate)
            .or_default()
            .entry(&f.name)
            .or_default();
        e.0 += f.bytes;
        e.1 += 1;
    }
    for d in &a.data {
        let e = per_crate
            .entry(&data)
            .or_default()
            .entry(&d.name)
            .or_default();
        e.0 += d.bytes;
        e.1 += 1;
    }
    let compare = baseline
        .as_ref()
        .map(|b| Compare::new(b.attributed, b.budgets));
    let mut crates: Vec<Block> = a
        .crates
        .iter()
        .map(|c| {
            let items = items(&c.name, per_crate.remove(&c.name).unwrap_or_default());
            let mut block = Block {
                name: c.name.clone(),
                bytes: c.bytes,
                retained: None,
                change: None,
                base: None,
                rect: None,
                items,
            };
            if let Some(compare) = &compare {
                compare.colour(&mut block);
            }
            block
        })
        .collect();
    lay_out(&mut crates);
    Treemap {
        title: title.to_owned(),
        total: a.crates.iter().map(|c| c.bytes).sum(),
        compared: baseline.map(|b| b.note),
        width: WIDTH,
        height: HEIGHT,
        selftest_zooms: SELFTEST_ZOOMS,
        crates,
    }
}

/// A crate's items, biggest first, from (bytes, count) by name; past
/// `MAX_ITEMS`, the smallest as one "… N smaller" item.
fn items(krate: &CrateName, named: BTreeMap<&str, (u64, usize)>) -> Vec<Item> {
    let item = |name: String, bytes: u64, count: usize, rest: bool| Item {
        name,
        bytes,
        retained: None,
        count,
        rest,
        change: None,
        base: None,
        rect: None,
        zoom: None,
    };
    let mut items: Vec<Item> = named
        .into_iter()
        .map(|(name, (bytes, count))| item(name.to_owned(), bytes, count, false))
        .collect();
    items.sort_by(|x, y| y.bytes.cmp(&x.bytes).then_with(|| x.name.cmp(&y.name)));
    if items.len() > MAX_ITEMS {
        let rest = items.split_off(MAX_ITEMS - 1);
        let noun = match *krate == CrateName::Data {
            true => "data segments",
            false => "functions",
        };
        let name = format!("… {} smaller {noun}", rest.len());
        items.push(item(
            name,
            rest.iter().map(|i| i.bytes).sum(),
            rest.len(),
            true,
        ));
    }
    items
}

/// The baseline's figures by name.
struct Compare<'a> {
    crates: HashMap<&'a str, u64>,
    functions: HashMap<&'a str, u64>,
    /// The smallest function the baseline kept, when it kept only the biggest.
    cutoff: Option<u64>,
    budgets: &'a Budgets,
}

impl<'a> Compare<'a> {
    fn new(b: &'a Attributed, budgets: &'a Budgets) -> Self {
        Self {
            budgets,
            crates: b
                .crates
                .iter()
                .map(|c| (c.name.as_str(), c.bytes))
                .collect(),
            functions: b
                .functions
                .iter()
                .map(|f| (f.name.as_str(), f.bytes))
                .collect(),
            cutoff: b
                .truncated
                .then(|| b.functions.iter().map(|f| f.bytes).min().unwrap_or(0)),
        }
    }

    fn colour(&self, block: &mut Block) {
        let base = self.crates.get(block.name.as_str()).copied();
        block.base = base;
        block.change = Some(match base {
            None => Change::New,
            Some(b) => self.by_delta(block.bytes, b),
        });
        for item in &mut block.items {
            item.change = Some(if base.is_none() {
                Change::New
            } else if block.name == CrateName::Data || item.rest {
                // The baseline keeps no segments, and the rest is a mix.
                Change::Unlisted
            } else if let Some(&b) = self.functions.get(item.name.as_str()) {
                item.base = Some(b);
                self.by_delta(item.bytes, b)
            } else {
                match self.cutoff {
                    // Too small for the baseline's list either way.
                    Some(cut) if item.bytes <= cut => Change::Unlisted,
                    // Now big enough to be listed: it grew past the
                    // cutoff, or is new.
                    Some(_) => Change::Grown,
                    None => Change::New,
                }
            });
        }
    }
}

impl Compare<'_> {
    /// Grown or shrunk, unless the change is noise to the gate.
    fn by_delta(&self, now: u64, base: u64) -> Change {
        if self.budgets.is_noise(base, now) {
            return Change::Same;
        }
        match now.cmp(&base) {
            std::cmp::Ordering::Greater => Change::Grown,
            std::cmp::Ordering::Less => Change::Shrunk,
            std::cmp::Ordering::Equal => Change::Same,
        }
    }
}

/// Crates in the whole view; each crate's items inside it, under its label
/// strip when it is big enough for one, and again alone in the whole view.
fn lay_out(crates: &mut [Block]) {
    let view = Rect {
        x: 0.0,
        y: 0.0,
        w: WIDTH,
        h: HEIGHT,
    };
    let bytes: Vec<u64> = crates.iter().map(|c| c.bytes).collect();
    for (block, rect) in crates.iter_mut().zip(squarify(&bytes, view)) {
        block.rect = rect;
        let items: Vec<u64> = block.items.iter().map(|i| i.bytes).collect();
        for (item, zoom) in block.items.iter_mut().zip(squarify(&items, view)) {
            item.zoom = zoom;
        }
        let Some(rect) = rect else { continue };
        let top = if rect.h > 2.5 * HEADER && rect.w > 4.0 * HEADER {
            HEADER
        } else {
            PAD
        };
        let Some(inner) = rect.inset(PAD, top, PAD, PAD) else {
            continue;
        };
        for (item, r) in block.items.iter_mut().zip(squarify(&items, inner)) {
            item.rect = r.filter(|r| r.area() >= MIN_AREA);
        }
    }
    let mut drawn: Vec<(f64, usize, usize)> = crates
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.items
                .iter()
                .enumerate()
                .filter_map(move |(j, it)| Some((it.rect?.area(), i, j)))
        })
        .collect();
    if drawn.len() > MAX_DRAWN {
        drawn.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        for &(_, i, j) in &drawn[MAX_DRAWN..] {
            crates[i].items[j].rect = None;
        }
    }
}

const STYLE: &str = include_str!("treemap/page.css");
const SCRIPT: &str = include_str!("treemap/page.js");
/// Installed first, in a script of its own, so it records errors even when
/// the main script does not parse.
const GUARD: &str = include_str!("treemap/guard.js");

/// The page: one HTML file with everything inline.
pub fn page(t: &Treemap) -> String {
    let json = serde_json::to_string(t).expect("the model serialises");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         script-src 'unsafe-inline'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <script>\n{GUARD}</script>\n\
         <header><h1>{title}</h1><nav id=\"crumbs\"></nav><div id=\"legend\"></div></header>\n\
         <div id=\"map\"></div>\n<div id=\"tip\" hidden></div>\n\
         <script type=\"application/json\" id=\"treemap-data\">{data}</script>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        title = escape_html(&format!("{} — treemap", t.title)),
        data = escape_script_json(&json),
    )
}

/// Text for an HTML element or attribute.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that can sit inside a `<script>` element: no `</script>`, no
/// `<!--`, whatever the names hold. `<`, `>` and `&` only occur inside
/// JSON strings, where `\u003c` is the same character; U+2028 and U+2029
/// are escaped for older script parsers.
fn escape_script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The file names of the treemaps size-report writes, one per shipped
/// `.wasm` given by package name: the first (in the order given) is
/// `size-treemap.html`, each further one `size-treemap-<package>.html`.
pub fn report_file_names(packages: &[&str]) -> Vec<String> {
    packages
        .iter()
        .enumerate()
        .map(|(i, p)| match i {
            0 => "size-treemap.html".to_owned(),
            _ => {
                let safe: String = p
                    .chars()
                    .map(
                        |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                            true => c,
                            false => '_',
                        },
                    )
                    .collect();
                format!("size-treemap-{safe}.html")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
