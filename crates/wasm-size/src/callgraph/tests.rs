//! The graph, dominators, paths and per-group figures on hand-built
//! modules whose answers are known, and on a large generated one.

use super::*;
use crate::synthetic::{body, large, Function, Instr, Module};

/// Function indices of the fixture (import `ext` is 0).
const START: u32 = 1;
const MAIN: u32 = 2;
const HELPER: u32 = 3;
const A: u32 = 4;
const METHOD: u32 = 5;
const FNPTR: u32 = 6;
const DEAD: u32 = 7;
const TABLED: u32 = 8;
const VTABLE: u32 = 1024;
const TEXT: u32 = 1040;

fn f(name: &str, body: Vec<Instr>) -> Function {
    Function {
        name: name.into(),
        body,
    }
}

/// `_start → main → {helper, a, fn pointer}`, `a → {helper, vtable}`,
/// the vtable lists `method`; `tabled` is in the table, pointed at by
/// nothing; `dead` and the second segment are reached by nothing.
fn fixture() -> Module {
    // Slots: 1 method, 2 fnptr, 3 tabled.
    let mut vtable = Vec::new();
    for w in [0u32, 4, 4, 1] {
        vtable.extend(w.to_le_bytes());
    }
    let mut rodata = vtable;
    rodata.extend(b"hello, world");
    Module {
        imports: vec!["ext".into()],
        functions: vec![
            f("_start", vec![Instr::Call(MAIN)]),
            f(
                "app::main",
                vec![
                    Instr::Call(HELPER),
                    Instr::Call(A),
                    Instr::Store(2),
                    Instr::Load(TEXT),
                    Instr::Add(3), // an integer equal to a slot: not a pointer
                ],
            ),
            f("lib::helper", vec![Instr::Call(0), Instr::Add(100)]),
            f(
                "app::a",
                vec![Instr::Call(HELPER), Instr::Const(VTABLE as i32)],
            ),
            f("<app::T as lib::Trait>::method", vec![Instr::Add(5); 4]),
            f("app::callback", vec![Instr::Add(6); 2]),
            f("app::dead", vec![Instr::Call(HELPER)]),
            f("app::tabled", vec![Instr::Add(7)]),
        ],
        exports: vec![("_start".into(), START)],
        start: None,
        table: vec![METHOD, FNPTR, TABLED],
        data: vec![
            (VTABLE, rodata, ".rodata".into()),
            (4096, b"unused".to_vec(), ".data".into()),
        ],
        names: true,
    }
}

fn bytes_of(m: &Module, index: u32) -> u64 {
    body(&m.functions[(index - m.imports.len() as u32) as usize]).len() as u64
}

fn data_node(g: &Graph, segment: u32, offset: u32) -> u32 {
    let i = g
        .objects
        .iter()
        .position(|&o| o == (segment, offset))
        .unwrap_or_else(|| panic!("no object {segment}+{offset} in {:?}", g.objects));
    g.functions + i as u32
}

#[test]
fn see_through_hangs_a_method_under_the_function_using_its_vtable() {
    let m = fixture();
    let g = graph(&m.encode(), Mode::SeeThrough).unwrap();
    let vtable = data_node(&g, 0, 0);
    let text = data_node(&g, 0, 16);
    let table = g.table.unwrap();
    assert_eq!(g.bytes[vtable as usize], 16);
    assert_eq!(g.bytes[text as usize], 12);
    let d = g.dominators();
    let idom = |n: u32| d.idom[n as usize];
    assert_eq!(idom(START), SUPER_ROOT);
    assert_eq!(idom(MAIN), START);
    assert_eq!(idom(HELPER), MAIN, "called by main and by a");
    assert_eq!(idom(A), MAIN);
    assert_eq!(idom(vtable), A);
    assert_eq!(idom(METHOD), vtable);
    assert_eq!(idom(FNPTR), MAIN, "a stored constant is a fn pointer");
    assert_eq!(idom(text), MAIN);
    assert_eq!(idom(0), HELPER);
    assert_eq!(
        idom(TABLED),
        table,
        "nothing points to it: the table keeps it"
    );
    assert_eq!(idom(DEAD), UNREACHED);
    assert_eq!(d.idom[data_node(&g, 1, 0) as usize], UNREACHED);
    assert_eq!(
        d.retained[A as usize],
        bytes_of(&m, A) + 16 + bytes_of(&m, METHOD)
    );
    assert_eq!(d.retained[table as usize], bytes_of(&m, TABLED));
    assert_eq!(
        g.table_stats,
        TableStats {
            functions: 3,
            strong: 1,
            weak: 1,
            fallback: 1
        }
    );
    let parents = g.shortest_paths();
    assert_eq!(path_to(&parents, METHOD), [START, MAIN, A, vtable, METHOD]);
    assert!(path_to(&parents, DEAD).is_empty());
    // Slot 3 is also `main`'s integer 3, followed by an add: no edge.
    assert!(!g.successors(MAIN).contains(&TABLED));
}

#[test]
fn table_root_is_twiggys_view() {
    let m = fixture();
    let g = graph(&m.encode(), Mode::TableRoot).unwrap();
    let table = g.table.unwrap();
    let d = g.dominators();
    for f in [METHOD, FNPTR, TABLED] {
        assert_eq!(d.idom[f as usize], table, "{f}");
    }
    assert_eq!(
        d.retained[table as usize],
        [METHOD, FNPTR, TABLED]
            .iter()
            .map(|&f| bytes_of(&m, f))
            .sum::<u64>()
    );
    assert_eq!(d.idom[data_node(&g, 0, 0) as usize], A);
}

/// `twiggy dominators -f json` (twiggy 0.8.0) on `fixture().encode()`, run
/// once by hand and written down here, so the check runs where twiggy is
/// not installed: (item, shallow bytes, retained bytes, dominator).
const TWIGGY_ON_FIXTURE: [(&str, u64, u64, &str); 9] = [
    ("_start", 8, 89, "export \"_start\""),
    ("app::main", 31, 81, "_start"),
    ("lib::helper", 16, 26, "app::main"),
    ("import env::ext", 10, 10, "lib::helper"),
    ("app::a", 12, 12, "app::main"),
    ("data segment \".data\"", 12, 12, "app::main"),
    ("<app::T as lib::Trait>::method", 34, 34, "elem[0]"),
    ("app::callback", 20, 20, "elem[0]"),
    ("app::tabled", 13, 13, "elem[0]"),
];

/// `--table-root` is twiggy's dominator tree over the functions: the same
/// dominator for each, and the same retained bytes once sizes are counted
/// twiggy's way. The differences are twiggy's model, not the tree:
/// - a function's size includes its body's size prefix and its entry in
///   the function section (the type index, one byte here); an import
///   counts its import entry (ours: 0);
/// - the roots are its `export "…"` items and `table[0]` → `elem[0]`
///   (ours: the exported function itself and `[table]`);
/// - data: twiggy links a segment only from `i32.const C; load offset=O`,
///   looked up as the first segment starting at or after C + O. main
///   loads from `.rodata` (address 1040) and twiggy names `.data`, the
///   next segment (12 bytes with its header); ours cuts `.rodata` into the
///   vtable (under `a`) and the text (under main). Data is left out here.
#[test]
fn table_root_agrees_with_twiggy_dominators_on_the_functions() {
    let m = fixture();
    let g = graph(&m.encode(), Mode::TableRoot).unwrap();
    let d = g.dominators();
    let table = g.table.unwrap();
    let names: Vec<&str> = std::iter::once("import env::ext")
        .chain(m.functions.iter().map(|f| f.name.as_str()))
        .collect();
    let id = |name: &str| names.iter().position(|n| *n == name).map(|i| i as u32);
    // A function's size as twiggy counts it.
    let twiggy_size = |n: u32| match n {
        0 => 10, // `env` `ext` func type 0: its import entry
        n if n < g.functions => {
            let b = g.bytes[n as usize];
            let prefix = (64 - b.max(1).leading_zeros()).div_ceil(7) as u64;
            b + prefix + 1
        }
        _ => 0, // data objects: see above
    };
    let dominated_by = |top: u32, n: u32| {
        let mut at = n;
        loop {
            if at == top {
                return true;
            }
            match d.idom[at as usize] {
                SUPER_ROOT | UNREACHED => return false,
                up => at = up,
            }
        }
    };
    for (item, shallow, retained, dominator) in TWIGGY_ON_FIXTURE {
        let Some(n) = id(item) else {
            continue; // data
        };
        assert_eq!(twiggy_size(n), shallow, "{item}");
        let expected = match dominator {
            "export \"_start\"" => SUPER_ROOT,
            "elem[0]" => table,
            f => id(f).unwrap(),
        };
        assert_eq!(d.idom[n as usize], expected, "{item}'s dominator");
        let ours: u64 = (0..g.functions)
            .filter(|&f| dominated_by(n, f))
            .map(twiggy_size)
            .sum();
        let twiggy_data = if item == "app::main" || item == "_start" {
            12
        } else {
            0
        };
        assert_eq!(ours, retained - twiggy_data, "{item}'s retained bytes");
    }
    // The table: twiggy's table[0] (3 B) and elem[0] (8 B) retain the same
    // three functions as `[table]`.
    let under_table: u64 = (0..g.functions)
        .filter(|&f| d.idom[f as usize] == table)
        .map(twiggy_size)
        .sum();
    assert_eq!(under_table, 78 - 3 - 8);
    assert_eq!(d.idom[DEAD as usize], UNREACHED, "twiggy: garbage too");
}

#[test]
fn a_groups_retained_size_is_what_the_module_loses_without_it() {
    let m = fixture();
    let g = graph(&m.encode(), Mode::SeeThrough).unwrap();
    let vtable = data_node(&g, 0, 0);
    let text = data_node(&g, 0, 16);
    let mut group = vec![NONE; g.len()];
    group[A as usize] = 0; // a alone: helper stays, main still calls it
    group[MAIN as usize] = 1; // main and a, together
    group[A as usize] = 1;
    group[HELPER as usize] = 2;
    group[DEAD as usize] = 3; // unreachable: loses nothing
    let got = g.group_retained(&group, 4);
    let b = |f| bytes_of(&m, f);
    assert_eq!(got[0], 0, "group 0 lost its only member to group 1");
    assert_eq!(
        got[1],
        b(MAIN) + b(A) + b(HELPER) + 16 + 12 + b(METHOD) + b(FNPTR),
        "everything main keeps, helper included (its only callers go)"
    );
    assert_eq!(got[2], b(HELPER), "the import has no bytes");
    assert_eq!(got[3], 0);
    let _ = (vtable, text);
    let mut alone = vec![NONE; g.len()];
    alone[A as usize] = 0;
    assert_eq!(
        g.group_retained(&alone, 1)[0],
        b(A) + 16 + b(METHOD),
        "helper is still called by main"
    );
}

#[test]
fn a_module_without_table_or_data_is_just_calls() {
    let m = Module {
        functions: vec![f("a", vec![Instr::Call(1)]), f("b", vec![])],
        exports: vec![("a".into(), 0)],
        ..Module::default()
    };
    let g = graph(&m.encode(), Mode::SeeThrough).unwrap();
    assert_eq!((g.len(), g.table), (2, None));
    let d = g.dominators();
    assert_eq!(d.retained[0], g.bytes[0] + g.bytes[1]);
    assert_eq!(d.reachable_bytes, d.retained[0]);
}

/// ≥ 25,000 functions and several megabytes, made here: the analyses
/// give the figures the module was built to have.
#[test]
fn a_large_module_gives_the_figures_it_was_built_with() {
    let l = large(26_000, 200);
    let wasm = l.module.encode();
    assert!(wasm.len() > 5_000_000, "{} bytes", wasm.len());
    let g = graph(&wasm, Mode::SeeThrough).unwrap();
    assert_eq!(g.functions, 26_000);
    let d = g.dominators();
    let chain_bytes: u64 = l.chain.iter().map(|&c| g.bytes[c as usize]).sum();
    assert_eq!(d.retained[l.chain[0] as usize], chain_bytes);
    assert_eq!(d.idom[l.chain[0] as usize], 0);
    let (user, address, [m1, m2]) = l.vtable_user;
    let vtable = data_node(&g, 0, address - crate::synthetic::VTABLES_AT);
    assert_eq!(d.idom[vtable as usize], user);
    assert_eq!(d.idom[m1 as usize], vtable);
    assert_eq!(d.idom[m2 as usize], vtable + 1);
    let stats = g.table_stats;
    assert_eq!(stats.weak, 0, "{stats:?}");
    assert!(stats.strong > 4000 && stats.fallback > 0, "{stats:?}");
    assert_eq!(stats.strong + stats.fallback, stats.functions);
    let parents = g.shortest_paths();
    let path = path_to(&parents, *l.chain.last().unwrap());
    assert_eq!(path.len(), l.chain.len() + 1);
    assert_eq!(path[0], 0);
    // Every reachable byte is somewhere under the super root.
    let top: u64 = (0..g.len() as u32)
        .filter(|&n| d.idom[n as usize] == SUPER_ROOT)
        .map(|n| d.retained[n as usize])
        .sum();
    assert_eq!(top, d.reachable_bytes);
    let mut crates = vec![NONE; g.len()];
    for i in 0..g.functions {
        crates[i as usize] = i % 40;
    }
    let lost = g.group_retained(&crates, 40);
    assert!(lost.iter().all(|&b| b > 0 && b <= d.reachable_bytes));
}

/// Bodies handed out one at a time, in small batches cut over threads, or
/// in the pass's own batches: the same graph, in both modes.
#[test]
fn batches_and_threads_give_the_same_graph() {
    let wasm = large(3_000, 300).module.encode();
    for mode in [Mode::SeeThrough, Mode::TableRoot] {
        let read = |batch| {
            let mut collector = Collector::new(mode);
            scan::read_in_batches(std::io::Cursor::new(&wasm), &mut collector, batch).unwrap();
            format!("{:?}", collector.finish().unwrap())
        };
        let one_by_one = read(0);
        assert_eq!(read(10_000), one_by_one);
        assert_eq!(read(usize::MAX), one_by_one);
        assert_eq!(format!("{:?}", graph(&wasm, mode).unwrap()), one_by_one);
    }
}
