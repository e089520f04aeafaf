//! What a browser rendered, checked against the model. The page, opened
//! with `?selftest`, hovers and clicks through every view and writes what it
//! measured from the DOM into `<pre id="selftest">`; a headless browser
//! dumps the DOM and [`check`] compares, from the model's side:
//! every crate with bytes, and every item drawn, present once, labelled
//! with its name, where the layout put it; areas proportional to bytes;
//! nothing overlapping; items inside their crate; the hover naming what is
//! under the pointer, its size, and its retained size exactly when known;
//! and no error on the console.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::layout::Rect;
use super::Treemap;
use crate::table::human_bytes;

/// What the page reported about itself.
#[derive(Debug, Clone, Deserialize)]
pub struct Rendered {
    /// Errors and console warnings the page caught.
    pub errors: Vec<String>,
    /// The whole-module view, then each crate's, as clicked through.
    pub views: Vec<View>,
    #[serde(default)]
    pub hovers: Vec<Hover>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct View {
    /// The crate zoomed into; `None` for the whole module.
    pub zoomed: Option<String>,
    /// The map's size in CSS pixels.
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<Node>,
}

/// One rectangle as the DOM has it, relative to the map, in CSS pixels.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    /// `c<crate>` or `c<crate>.<item>`, indices into the model.
    pub id: String,
    pub kind: String,
    /// The text of its label element.
    pub label: String,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Hover {
    pub id: String,
    /// The tooltip's text; empty when none showed.
    pub text: String,
}

/// The self-test result in a DOM dumped by the browser.
pub fn selftest_result(dom: &str) -> Result<Rendered> {
    const OPEN: &str = "<pre id=\"selftest\" hidden=\"\">";
    let Some(start) = dom.find(OPEN) else {
        bail!("the page wrote no self-test result (<pre id=\"selftest\">): its script did not run to the end");
    };
    let text = &dom[start + OPEN.len()..];
    let end = text
        .find("</pre>")
        .context("the self-test result is not closed")?;
    serde_json::from_str(&text[..end]).context("the self-test result is not the JSON expected")
}

/// How far, in CSS pixels, an edge may be from where the model puts it:
/// browsers place boxes in fractions of a pixel (Chromium in 1/64 px).
const EDGE: f64 = 0.1;

/// Every way the rendering differs from the model; empty when it matches.
pub fn check(t: &Treemap, r: &Rendered) -> Vec<String> {
    let mut problems: Vec<String> = r.errors.iter().map(|e| format!("page: {e}")).collect();
    let zoomable: Vec<usize> = (0..t.crates.len())
        .filter(|&i| {
            t.crates[i].rect.is_some() && t.crates[i].items.iter().any(|it| it.zoom.is_some())
        })
        .take(t.selftest_zooms)
        .collect();
    let Some((whole, zooms)) = r.views.split_first() else {
        problems.push("the page measured no view".to_owned());
        return problems;
    };
    if whole.zoomed.is_some() {
        problems.push(format!("the first view is zoomed into {:?}", whole.zoomed));
    }
    check_view(t, None, whole, &mut problems);
    let got: Vec<Option<&str>> = zooms.iter().map(|v| v.zoomed.as_deref()).collect();
    let want: Vec<Option<&str>> = zoomable
        .iter()
        .map(|&i| Some(t.crates[i].name.as_str()))
        .collect();
    if got != want {
        problems.push(format!(
            "clicking each crate zoomed into {got:?}, not {want:?}"
        ));
    }
    for (view, &i) in zooms.iter().zip(&zoomable) {
        check_view(t, Some(i), view, &mut problems);
    }
    check_hovers(t, &r.hovers, &mut problems);
    problems
}

/// What the model draws in a view: id → (label, kind, rect, bytes, parent).
struct Expected<'a> {
    name: &'a str,
    kind: &'static str,
    rect: Rect,
    bytes: u64,
    /// The crate holding it, in the whole view.
    parent: Option<String>,
}

fn expected(t: &Treemap, zoomed: Option<usize>) -> Vec<(String, Expected<'_>)> {
    let mut out = Vec::new();
    for (i, c) in t.crates.iter().enumerate() {
        match zoomed {
            None => {
                if let Some(rect) = c.rect {
                    out.push((
                        format!("c{i}"),
                        Expected {
                            name: c.name.as_str(),
                            kind: "crate",
                            rect,
                            bytes: c.bytes,
                            parent: None,
                        },
                    ));
                }
            }
            Some(z) if z != i => continue,
            Some(_) => {}
        }
        for (j, it) in c.items.iter().enumerate() {
            let rect = match zoomed {
                None => it.rect,
                Some(_) => it.zoom,
            };
            if let Some(rect) = rect {
                out.push((
                    format!("c{i}.{j}"),
                    Expected {
                        name: &it.name,
                        kind: "item",
                        rect,
                        bytes: it.bytes,
                        parent: zoomed.is_none().then(|| format!("c{i}")),
                    },
                ));
            }
        }
    }
    out
}

fn check_view(t: &Treemap, zoomed: Option<usize>, v: &View, problems: &mut Vec<String>) {
    let name = match zoomed {
        None => "the whole view".to_owned(),
        Some(i) => format!("the view of {}", t.crates[i].name),
    };
    let mut say = |p: String| problems.push(format!("{name}: {p}"));
    if zoomed.is_none() {
        for c in t.crates.iter().filter(|c| c.bytes > 0 && c.rect.is_none()) {
            say(format!(
                "crate {} has {} B but no rectangle",
                c.name, c.bytes
            ));
        }
    }
    if v.width <= 0.0 || (v.height / v.width - t.height / t.width).abs() * v.width > 1.0 {
        say(format!(
            "the map is {}×{} px, not in the layout's proportions {}:{}",
            v.width, v.height, t.width, t.height
        ));
        return;
    }
    let scale = v.width / t.width;
    let want = expected(t, zoomed);
    let mut seen: HashMap<&str, &Node> = HashMap::new();
    for n in &v.nodes {
        if seen.insert(&n.id, n).is_some() {
            say(format!("{} is drawn twice", n.id));
        }
    }
    for (id, e) in &want {
        let Some(n) = seen.get(id.as_str()) else {
            say(format!("{} {:?} is not drawn", e.kind, e.name));
            continue;
        };
        if n.label != e.name {
            say(format!("{id} is labelled {:?}, not {:?}", n.label, e.name));
        }
        if n.kind != e.kind {
            say(format!("{id} is drawn as a {}, not a {}", n.kind, e.kind));
        }
        let at = [e.rect.x, e.rect.y, e.rect.w, e.rect.h].map(|v| v * scale);
        let got = [n.x, n.y, n.w, n.h];
        if at.iter().zip(&got).any(|(a, g)| (a - g).abs() > EDGE) {
            say(format!(
                "{:?} is at {got:?} px, the layout puts it at {at:?}",
                e.name
            ));
        }
    }
    let known: HashMap<&str, &Expected> = want.iter().map(|(id, e)| (id.as_str(), e)).collect();
    for n in &v.nodes {
        if !known.contains_key(n.id.as_str()) {
            say(format!(
                "{} {:?} is drawn but not in the model",
                n.id, n.label
            ));
        }
    }
    // The invariants, on what was drawn: each group's areas by bytes.
    let drawn: Vec<(&Node, &Expected)> = v
        .nodes
        .iter()
        .filter_map(|n| Some((n, *known.get(n.id.as_str())?)))
        .collect();
    let mut groups: HashMap<Option<&str>, Vec<(&Node, &Expected)>> = HashMap::new();
    for (n, e) in &drawn {
        groups.entry(e.parent.as_deref()).or_default().push((n, e));
    }
    for (parent, group) in &groups {
        check_group(*parent, group, &seen, v, &mut say);
    }
}

/// One group (the crates, or one crate's items) as drawn: areas by bytes,
/// no overlap, inside its parent.
fn check_group(
    parent: Option<&str>,
    group: &[(&Node, &Expected)],
    seen: &HashMap<&str, &Node>,
    v: &View,
    say: &mut impl FnMut(String),
) {
    let area: f64 = group.iter().map(|(n, _)| n.w * n.h).sum();
    let bytes: f64 = group.iter().map(|(_, e)| e.bytes as f64).sum();
    for (n, e) in group {
        let want = area * e.bytes as f64 / bytes;
        if (n.w * n.h - want).abs() > EDGE * 2.0 * (n.w + n.h) + 0.01 * want {
            say(format!(
                "{:?} ({}) covers {:.1} px², its bytes' share is {want:.1} px²",
                e.name,
                human_bytes(e.bytes),
                n.w * n.h
            ));
        }
    }
    for (k, (a, ea)) in group.iter().enumerate() {
        for (b, eb) in &group[k + 1..] {
            let w = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
            let h = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
            if w > EDGE && h > EDGE {
                say(format!("{:?} and {:?} overlap", ea.name, eb.name));
            }
        }
    }
    let outer = match parent {
        Some(id) => seen.get(id).map(|c| [c.x, c.y, c.w, c.h]),
        None => Some([0.0, 0.0, v.width, v.height]),
    };
    let Some([x, y, w, h]) = outer else {
        return;
    };
    for (n, e) in group {
        let inside = n.x >= x - EDGE
            && n.y >= y - EDGE
            && n.x + n.w <= x + w + EDGE
            && n.y + n.h <= y + h + EDGE;
        if !inside {
            say(format!(
                "{:?} sticks out of {}",
                e.name,
                parent.unwrap_or("the map")
            ));
        }
    }
}

/// Each hover showed a tooltip naming what is under the pointer and its size.
fn check_hovers(t: &Treemap, hovers: &[Hover], problems: &mut Vec<String>) {
    if hovers.is_empty() && t.crates.iter().any(|c| c.rect.is_some()) {
        problems.push("the page hovered over nothing".to_owned());
    }
    for h in hovers {
        let mut ids = h.id.trim_start_matches('c').split('.');
        let c = ids
            .next()
            .and_then(|i| t.crates.get(i.parse::<usize>().ok()?));
        let (name, bytes, retained) = match (c, ids.next()) {
            (Some(c), None) => (c.name.as_str(), c.bytes, c.retained),
            (Some(c), Some(j)) => match j.parse::<usize>().ok().and_then(|j| c.items.get(j)) {
                Some(it) => (it.name.as_str(), it.bytes, it.retained),
                None => {
                    problems.push(format!("hovered over {}, which the model has not", h.id));
                    continue;
                }
            },
            (None, _) => {
                problems.push(format!("hovered over {}, which the model has not", h.id));
                continue;
            }
        };
        if !h.text.contains(name) || !h.text.contains(&human_bytes(bytes)) {
            problems.push(format!(
                "hovering over {name:?} shows {:?}, not its name and {}",
                h.text,
                human_bytes(bytes)
            ));
        }
        let shows_retained = match retained {
            Some(r) => h.text.contains(&format!("retained {}", human_bytes(r))),
            None => !h.text.contains("retained"),
        };
        if !shows_retained {
            problems.push(format!(
                "hovering over {name:?} shows {:?}; its retained size is {retained:?}",
                h.text
            ));
        }
    }
}
