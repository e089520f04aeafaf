use super::check::{check, selftest_result, Hover, Node, Rendered, View};
use super::*;
use crate::artifact::ArtifactId;
use crate::attribution::{CrateName, CrateSize, DataSize, FunctionSize};

fn function(name: &str, krate: &str, bytes: u64) -> FunctionSize {
    FunctionSize {
        name: name.into(),
        krate: krate.into(),
        bytes,
    }
}

/// Crates from the functions and segments, as `attribute` rolls them up.
fn attribution(functions: Vec<FunctionSize>, data: Vec<DataSize>) -> Attribution {
    let mut per: BTreeMap<CrateName, u64> = BTreeMap::new();
    for f in &functions {
        *per.entry(f.krate.clone()).or_default() += f.bytes;
    }
    if !data.is_empty() {
        *per.entry(CrateName::Data).or_default() += data.iter().map(|d| d.bytes).sum::<u64>();
    }
    let mut crates: Vec<CrateSize> = per
        .into_iter()
        .map(|(name, bytes)| CrateSize { name, bytes })
        .collect();
    crates.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    Attribution {
        file: "t.wasm".into(),
        named: true,
        indices: (0..functions.len() as u32).collect(),
        functions,
        crates,
        data,
    }
}

fn sample() -> Attribution {
    attribution(
        vec![
            function("regex::compile", "regex", 9000),
            function("regex::exec", "regex", 3000),
            function(
                "<alloc::vec::Vec<T> as core::ops::Drop>::drop",
                "alloc",
                700,
            ),
            function(
                "<alloc::vec::Vec<T> as core::ops::Drop>::drop",
                "alloc",
                500,
            ),
            function("alloc::fmt::format", "alloc", 2100),
            function("app::main", "app", 4000),
            function("app::tiny", "app", 3),
        ],
        vec![
            DataSize {
                name: ".rodata".into(),
                bytes: 5000,
            },
            DataSize {
                name: ".data".into(),
                bytes: 0,
            },
        ],
    )
}

#[test]
fn model_has_each_crate_with_its_functions_by_name_largest_first() {
    let t = model("t.wasm", &sample(), None);
    let names: Vec<&str> = t.crates.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["regex", "[data]", "app", "alloc"]);
    assert_eq!(t.total, 9000 + 3000 + 700 + 500 + 2100 + 4000 + 3 + 5000);
    let alloc = &t.crates[3];
    assert_eq!(alloc.items[0].name, "alloc::fmt::format");
    let drop = &alloc.items[1];
    assert_eq!(
        (drop.bytes, drop.count),
        (1200, 2),
        "bodies with one name are one item"
    );
    let data = &t.crates[1];
    assert_eq!(data.items.len(), 2);
    assert!(
        data.items[1].rect.is_none() && data.items[1].zoom.is_none(),
        "0 B is not drawn"
    );
    assert!(t
        .crates
        .iter()
        .all(|c| c.change.is_none() && c.retained.is_none()));
    assert!(t.compared.is_none());
}

#[test]
fn items_lie_inside_their_crate_with_areas_by_bytes() {
    let t = model("t.wasm", &sample(), None);
    let view = WIDTH * HEIGHT;
    for c in &t.crates {
        let r = c.rect.unwrap();
        let share = r.area() / view;
        assert!(
            (share - c.bytes as f64 / t.total as f64).abs() < 1e-9,
            "{}",
            c.name
        );
        let drawn: Vec<&Item> = c.items.iter().filter(|i| i.rect.is_some()).collect();
        let area: f64 = drawn.iter().map(|i| i.rect.unwrap().area()).sum();
        let bytes: u64 = drawn.iter().map(|i| i.bytes).sum();
        for it in drawn {
            let ir = it.rect.unwrap();
            assert!(ir.x >= r.x && ir.y >= r.y, "{} outside {}", it.name, c.name);
            assert!(ir.x + ir.w <= r.x + r.w + 1e-9 && ir.y + ir.h <= r.y + r.h + 1e-9);
            let want = area * it.bytes as f64 / bytes as f64;
            assert!((ir.area() - want).abs() < 1e-6 * area, "{}", it.name);
            let zoom = it.zoom.unwrap();
            let want = view * it.bytes as f64 / c.bytes as f64;
            assert!((zoom.area() - want).abs() < 1e-6 * view, "{}", it.name);
        }
    }
}

#[test]
fn items_too_small_for_the_whole_view_are_drawn_when_zoomed_into() {
    let a = attribution(
        vec![
            function("big::f", "big", 1_000_000),
            function("app::main", "app", 100_000),
            function("app::tiny", "app", 1),
        ],
        vec![],
    );
    let t = model("t.wasm", &a, None);
    let tiny = &t.crates[1].items[1];
    assert_eq!(tiny.name, "app::tiny");
    assert!(tiny.rect.is_none(), "{:?}", tiny.rect);
    assert!(tiny.zoom.is_some());
    assert!(t.crates[1].items[0].rect.is_some());
}

#[test]
fn the_whole_view_draws_the_biggest_items_up_to_its_limit() {
    let functions = (0..20u64)
        .flat_map(|c| {
            (0..300u64).map(move |f| function(&format!("c{c}::f{f}"), &format!("c{c}"), 100 + f))
        })
        .collect();
    let t = model("t.wasm", &attribution(functions, vec![]), None);
    let items = || t.crates.iter().flat_map(|c| &c.items);
    assert_eq!(items().filter(|i| i.rect.is_some()).count(), MAX_DRAWN);
    assert_eq!(items().filter(|i| i.zoom.is_some()).count(), 6000);
    let smallest_drawn = items()
        .filter_map(|i| i.rect)
        .map(|r| r.area())
        .fold(f64::MAX, f64::min);
    assert!(smallest_drawn >= 16.0);
}

#[test]
fn a_crate_with_many_functions_keeps_the_biggest_and_one_rest() {
    let functions = (0..MAX_ITEMS as u64 + 50)
        .map(|i| function(&format!("big::f{i}"), "big", 10_000 - i))
        .collect();
    let t = model("t.wasm", &attribution(functions, vec![]), None);
    let items = &t.crates[0].items;
    assert_eq!(items.len(), MAX_ITEMS);
    let rest = items.last().unwrap();
    assert!(rest.rest);
    assert_eq!(rest.count, 51);
    assert_eq!(rest.name, "… 51 smaller functions");
    let sum: u64 = items.iter().map(|i| i.bytes).sum();
    assert_eq!(sum, t.crates[0].bytes);
}

/// Budgets without noise thresholds: every byte of change counts.
fn no_noise() -> Budgets {
    Budgets::from_metadata(&serde_json::Value::Null).unwrap()
}

/// The gate's noise thresholds colour the page too: a change the table
/// would not list as a grower is not red (or green) on the page.
#[test]
fn a_change_below_the_gates_noise_thresholds_is_coloured_unchanged() {
    let now = sample();
    let mut base = Attributed::new(ArtifactId::shipped("x"), now.clone(), 100);
    // regex 40 B bigger now than in the baseline, and one of its
    // functions 10 B bigger: noise under 64 B and 5%, not without them.
    base.crates
        .iter_mut()
        .find(|c| c.name == "regex")
        .unwrap()
        .bytes -= 40;
    let f = base
        .functions
        .iter_mut()
        .find(|f| f.krate == "regex")
        .unwrap();
    f.bytes -= 10;
    let name = f.name.clone();
    let colours = |budgets: &Budgets| {
        let t = model(
            "t.wasm",
            &now,
            Some(Baseline {
                note: String::new(),
                attributed: &base,
                budgets,
            }),
        );
        let regex = t.crates.iter().find(|b| b.name == "regex").unwrap().clone();
        let item = regex.items.iter().find(|i| i.name == name).unwrap().change;
        (regex.change, item)
    };
    let gate: Budgets = serde_json::from_value(serde_json::json!({
        "min-delta-bytes": 64, "min-delta-percent": 5.0
    }))
    .unwrap();
    assert_eq!(colours(&gate), (Some(Change::Same), Some(Change::Same)));
    assert_eq!(
        colours(&no_noise()),
        (Some(Change::Grown), Some(Change::Grown))
    );
}

/// The baseline `colours_say_grown_shrunk_new_and_what_the_baseline_cannot_say`
/// compares `sample()` with; `truncated` as a committed report says.
fn colour_baseline(truncated: bool) -> Attributed {
    Attributed {
        artifact: ArtifactId::shipped("x"),
        file: "x.opt.names.wasm".into(),
        truncated,
        kept_by: Default::default(),
        crates_kept_by: Default::default(),
        crates: vec![
            CrateSize {
                name: "regex".into(),
                bytes: 11_000,
            },
            CrateSize {
                name: "alloc".into(),
                bytes: 4000,
            },
            CrateSize {
                name: CrateName::Data,
                bytes: 5000,
            },
        ],
        functions: vec![
            function("regex::compile", "regex", 8000),
            function("regex::exec", "regex", 3000),
            function("alloc::fmt::format", "alloc", 2500),
            function(
                "<alloc::vec::Vec<T> as core::ops::Drop>::drop",
                "alloc",
                1500,
            ),
        ],
    }
}

/// `now`'s treemap against `base`, without noise thresholds.
fn against(now: &Attribution, base: &Attributed, note: &str) -> Treemap {
    model(
        "t.wasm",
        now,
        Some(Baseline {
            note: note.into(),
            attributed: base,
            budgets: &no_noise(),
        }),
    )
}

#[test]
fn colours_say_grown_shrunk_new_and_what_the_baseline_cannot_say() {
    let now = sample();
    let base = colour_baseline(true);
    let t = against(&now, &base, "reports/size-baseline.json");
    assert_eq!(t.compared.as_deref(), Some("reports/size-baseline.json"));
    let get = |c: &str| t.crates.iter().find(|b| b.name == c).unwrap();
    assert_eq!(get("regex").change, Some(Change::Grown));
    assert_eq!(get("regex").base, Some(11_000));
    assert_eq!(get("alloc").change, Some(Change::Shrunk));
    assert_eq!(get(CrateName::Data.as_str()).change, Some(Change::Same));
    assert_eq!(get("app").change, Some(Change::New));
    let item = |c: &str, f: &str| {
        get(c)
            .items
            .iter()
            .find(|i| i.name == f)
            .unwrap()
            .change
            .unwrap()
    };
    assert_eq!(item("regex", "regex::compile"), Change::Grown);
    assert_eq!(item("regex", "regex::exec"), Change::Same);
    assert_eq!(item("alloc", "alloc::fmt::format"), Change::Shrunk);
    assert_eq!(item("app", "app::main"), Change::New, "in a new crate");
    assert_eq!(
        item(CrateName::Data.as_str(), ".rodata"),
        Change::Unlisted,
        "no segments kept"
    );
    // Truncated at 1500 B: a missing function now bigger grew past it, one
    // smaller says nothing; a complete list says new.
    let mut now = now;
    now.functions.push(function("regex::parse", "regex", 1600));
    now.functions.push(function("regex::small", "regex", 20));
    now.crates[0].bytes += 1620;
    let t = against(&now, &base, "");
    let regex = &t.crates[0];
    let change = |f: &str| regex.items.iter().find(|i| i.name == f).unwrap().change;
    assert_eq!(change("regex::parse"), Some(Change::Grown));
    assert_eq!(change("regex::small"), Some(Change::Unlisted));
    let complete = colour_baseline(false);
    let t = against(&now, &complete, "");
    let regex = &t.crates[0];
    let change = |f: &str| regex.items.iter().find(|i| i.name == f).unwrap().change;
    assert_eq!(change("regex::small"), Some(Change::New));
}

#[test]
fn the_page_is_self_contained_and_names_cannot_break_out() {
    let mut a = sample();
    a.functions.push(function(
        "evil::</script><script>alert(1)</script>",
        "evil",
        50,
    ));
    a.crates.push(CrateSize {
        name: "evil".into(),
        bytes: 50,
    });
    let t = model("<b>t</b>.wasm", &a, None);
    let html = page(&t);
    assert_eq!(
        html.matches("</script>").count(),
        3,
        "only our three scripts close"
    );
    assert!(!html.contains("alert(1)</script>"));
    assert!(html.contains("&lt;b&gt;t&lt;/b&gt;.wasm — treemap</title>"));
    for forbidden in [
        "http://", "https://", " src=", " href=", "<link", "@import", "url(",
    ] {
        assert!(!html.contains(forbidden), "the page refers to {forbidden}");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    for part in [STYLE, SCRIPT, GUARD] {
        assert!(!part.to_ascii_lowercase().contains("</script") && !part.contains("<!--"));
    }
    // The data reads back as the model.
    let start = html.find("id=\"treemap-data\">").unwrap() + "id=\"treemap-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    let back: Treemap = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(back.crates.len(), t.crates.len());
    assert!(back
        .crates
        .iter()
        .any(|c| c.items.iter().any(|i| i.name.contains("</script><script>"))));
}

#[test]
fn retained_shows_only_when_known() {
    let mut t = model("t.wasm", &sample(), None);
    let json = serde_json::to_string(&t).unwrap();
    assert!(!json.contains("retained"));
    t.crates[0].retained = Some(12_345);
    t.crates[0].items[0].retained = Some(9000);
    let json = serde_json::to_string(&t).unwrap();
    assert!(json.contains("\"retained\":12345") && json.contains("\"retained\":9000"));
    assert!(SCRIPT.contains("it.retained != null"));
}

#[test]
fn report_files_keep_the_plain_name_for_the_first() {
    assert_eq!(report_file_names(&["wasm-demo"]), ["size-treemap.html"]);
    assert_eq!(
        report_file_names(&["a", "b/c"]),
        ["size-treemap.html", "size-treemap-b_c.html"]
    );
}

/// What a faithful browser reports for `t` at `scale` px per unit.
fn faithful(t: &Treemap, scale: f64) -> Rendered {
    let node = |id: String, kind: &str, label: &str, r: layout::Rect| Node {
        id,
        kind: kind.into(),
        label: label.into(),
        x: r.x * scale,
        y: r.y * scale,
        w: r.w * scale,
        h: r.h * scale,
    };
    let view = |zoomed: Option<String>, nodes| View {
        zoomed,
        width: t.width * scale,
        height: t.height * scale,
        nodes,
    };
    let mut whole = Vec::new();
    let mut views = Vec::new();
    let mut hovers = Vec::new();
    for (i, c) in t.crates.iter().enumerate() {
        let Some(r) = c.rect else { continue };
        whole.push(node(format!("c{i}"), "crate", c.name.as_str(), r));
        hovers.push(Hover {
            id: format!("c{i}"),
            text: format!("{}in …{}", c.name, crate::table::human_bytes(c.bytes)),
        });
        let mut zoomed = Vec::new();
        for (j, it) in c.items.iter().enumerate() {
            if let Some(r) = it.rect {
                whole.push(node(format!("c{i}.{j}"), "item", &it.name, r));
            }
            if let Some(r) = it.zoom {
                zoomed.push(node(format!("c{i}.{j}"), "item", &it.name, r));
            }
        }
        views.push(view(Some(c.name.to_string()), zoomed));
    }
    views.insert(0, view(None, whole));
    Rendered {
        errors: vec![],
        views,
        hovers,
    }
}

#[test]
fn the_check_passes_a_faithful_rendering() {
    let t = model("t.wasm", &sample(), None);
    assert_eq!(check(&t, &faithful(&t, 0.8)), Vec::<String>::new());
}

/// Each way a rendering can be wrong is caught.
#[test]
fn the_check_sees_each_kind_of_wrong_rendering() {
    let t = model("t.wasm", &sample(), None);
    let caught = |change: &dyn Fn(&mut Rendered), words: &str| {
        let mut r = faithful(&t, 0.8);
        change(&mut r);
        let problems = check(&t, &r);
        assert!(
            problems.iter().any(|p| p.contains(words)),
            "expected {words:?} in {problems:#?}"
        );
    };
    caught(&|r| r.errors.push("console.error: boom".into()), "boom");
    caught(
        &|r| r.views[0].nodes[1].label = "x".into(),
        "labelled \"x\"",
    );
    caught(
        &|r| drop(r.views[0].nodes.remove(0)),
        "crate \"regex\" is not drawn",
    );
    caught(&|r| r.views[0].nodes[0].w *= 1.2, "covers");
    caught(&|r| r.views[0].nodes[1].x += 3.0, "the layout puts it at");
    caught(
        &|r| {
            let dup = r.views[0].nodes[0].clone();
            r.views[0].nodes.push(dup);
        },
        "drawn twice",
    );
    caught(
        &|r| {
            // Both crates drawn at one place: they overlap.
            let (a, b) = (r.views[0].nodes[0].clone(), &mut r.views[0].nodes[3]);
            assert_eq!(b.kind, "crate");
            (b.x, b.y) = (a.x, a.y);
        },
        "overlap",
    );
    caught(&|r| r.views[0].height *= 0.5, "proportions");
    caught(&|r| drop(r.views.pop()), "clicking each crate zoomed into");
    caught(&|r| r.hovers[0].text.clear(), "hovering over \"regex\"");
    caught(
        &|r| r.hovers[0].text.push_str(" retained 1 B"),
        "its retained size is None",
    );
    caught(&|r| r.views.clear(), "no view");
    caught(
        &|r| {
            let i = r.views[0]
                .nodes
                .iter()
                .position(|n| n.kind == "item")
                .unwrap();
            r.views[0].nodes[i].y -= 40.0;
        },
        "sticks out of",
    );
}

#[test]
fn the_selftest_result_is_read_from_the_dumped_dom() {
    let dom = "<html><body><div id=\"map\"></div>\
        <pre id=\"selftest\" hidden=\"\">{\"views\":[],\"errors\":[\"a \\u003c b\"]}</pre>\n</body></html>";
    let r = selftest_result(dom).unwrap();
    assert_eq!(r.errors, ["a < b"]);
    let err = selftest_result("<html><body></body></html>").unwrap_err();
    assert!(err.to_string().contains("no self-test result"), "{err}");
}
