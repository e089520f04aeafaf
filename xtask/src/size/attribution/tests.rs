//! `crate_of` over real demangled shapes, and `attribute` checked against a
//! wasm that a real `cargo build` makes from a tiny two-crate program,
//! measured here independently of wasmparser.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::*;
use crate::ops::artifacts;
use crate::ops::shrink::{self, Outcome};
use crate::size::callgraph;
use crate::size::wasm::{validate_wasm, wasm_sections};

#[test]
fn crate_of_plain_paths_closures_and_generics() {
    for (name, krate) in [
        (
            "cortex_core::memory::MemoryEventStore::append",
            "cortex_core",
        ),
        ("wasm_demo::main::{{closure}}", "wasm_demo"),
        (
            "cortex_core::graph::GraphStore::bfs::{closure#0}",
            "cortex_core",
        ),
        ("std::rt::lang_start::{{closure}}", "std"),
        ("std::rt::lang_start::<()>", "std"),
        ("hashbrown::raw::RawTable<T,A>::reserve_rehash", "hashbrown"),
        ("alloc::raw_vec::RawVec<T,A>::grow_one", "alloc"),
        ("core::fmt::write", "core"),
        // Legacy mangling spells inherent impls on primitives with their crate.
        ("alloc::slice::<impl [T]>::to_vec", "alloc"),
        ("core::str::<impl str>::find", "core"),
        // A hash suffix that survived (names that were never mangled).
        ("cortex_core::memory::f::h0123456789abcdef", "cortex_core"),
    ] {
        assert_eq!(crate_of(name), krate, "{name}");
    }
}

#[test]
fn crate_of_trait_impls_is_the_self_types_crate() {
    for (name, krate) in [
        ("<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop", "alloc"),
        ("<cortex_core::event::Event as core::clone::Clone>::clone", "cortex_core"),
        (
            "<tokio::sync::broadcast::Receiver<T> as core::ops::drop::Drop>::drop",
            "tokio",
        ),
        (
            "<core::future::poll_fn::PollFn<F> as core::future::future::Future>::poll",
            "core",
        ),
        (
            "<alloc::boxed::Box<dyn core::error::Error+core::marker::Send+core::marker::Sync> \
             as core::convert::From<&str>>::from",
            "alloc",
        ),
        (
            "<&mut std::io::Write::write_fmt::Adapter<T> as core::fmt::Write>::write_str",
            "std",
        ),
        ("<dyn core::any::Any as core::fmt::Debug>::fmt", "core"),
        // A primitive or a type parameter: the trait's crate.
        ("<T as core::any::Any>::type_id", "core"),
        ("<&T as core::fmt::Display>::fmt", "core"),
        ("<&mut W as core::fmt::Write>::write_char", "core"),
        ("<u64 as core::fmt::Debug>::fmt", "core"),
        ("<[u8] as core::fmt::Debug>::fmt", "core"),
        ("<T as wasm_demo::Checksum>::fold", "wasm_demo"),
        // Slices, arrays and tuples have no crate: their elements do.
        ("<[cortex_core::event::Event] as core::fmt::Debug>::fmt", "cortex_core"),
        ("<[alloc::string::String; 4] as core::fmt::Debug>::fmt", "alloc"),
        ("<(u32, cortex_core::graph::Edge) as core::cmp::Ord>::cmp", "cortex_core"),
        // Nested qualified paths, arrows in fn types.
        (
            "<<alloc::vec::into_iter::IntoIter<T,A> as core::ops::drop::Drop>::drop::DropGuard<T,A> \
             as core::ops::drop::Drop>::drop",
            "alloc",
        ),
        (
            "<fn() -> cortex_core::Error as core::ops::function::FnOnce<()>>::call_once",
            "core",
        ),
        // v0: inherent impls on primitives, and on paths.
        ("<[T]>::sort", "core"),
        ("<str>::find::<char>", "core"),
        ("<cortex_core::memory::MemoryEventStore>::append", "cortex_core"),
    ] {
        assert_eq!(crate_of(name), krate, "{name}");
    }
}

#[test]
fn crate_of_drop_glue_is_the_dropped_types_crate() {
    for (name, krate) in [
        ("core::ptr::drop_in_place<cortex_core::memory::MemoryGraphStore>", "cortex_core"),
        ("core::ptr::drop_in_place::<alloc::vec::Vec<u8>>", "alloc"),
        ("core::ptr::drop_in_place<(alloc::string::String,u32)>", "alloc"),
        ("core::ptr::drop_in_place<wasm_demo::run::{{closure}}>", "wasm_demo"),
        (
            "core::ptr::drop_in_place<&mut std::io::Write::write_fmt::Adapter<std::sys::stdio::wasi::Stdout>>",
            "std",
        ),
        ("core::ptr::drop_in_place<[u8]>", "core"),
        ("core::ptr::drop_in_place<u8>", "core"),
        // Not drop glue, just a function whose name starts alike.
        ("core::ptr::drop_in_place_helper", "core"),
    ] {
        assert_eq!(crate_of(name), krate, "{name}");
    }
}

#[test]
fn crate_of_symbols_without_a_path() {
    for name in [
        "__rustc::__rust_alloc",
        "__rustc::rust_begin_unwind",
        "__rust_alloc",
        "__rust_dealloc",
        "__rust_realloc",
        "__rust_alloc_error_handler",
        "__rdl_alloc",
        "__rg_oom",
        "rust_begin_unwind",
        "rust_panic",
    ] {
        assert_eq!(crate_of(name), "std", "{name}");
    }
    for name in [
        "dlmalloc",
        "memcpy",
        "__wasm_call_ctors",
        "_start",
        "__main_void",
        "func[12]",
        "data[0]",
        "",
        "::",
        "<",
        ">",
        "<>::f",
        "1abc::f",
        "a b::c",
    ] {
        let krate = crate_of(name);
        assert!(
            krate == UNKNOWN || (name.starts_with('<') && krate == "core"),
            "{name}: {krate}"
        );
    }
}

/// Names from a hostile or broken file: deep nesting must neither
/// overflow the stack nor take long.
#[test]
fn crate_of_and_grouping_survive_pathological_names() {
    let started = std::time::Instant::now();
    for name in [
        "<".repeat(200_000),
        format!("{}a::b{}", "<".repeat(50_000), ">".repeat(50_000)),
        "<a::b as ".repeat(20_000),
        "[(".repeat(50_000),
        "a<".repeat(50_000),
        format!("{}::f", "a<b>".repeat(50_000)),
    ] {
        let krate = crate_of(&name);
        assert!(!krate.is_empty());
        let _ = without_generic_args(&name);
        let _ = demangle(&name);
    }
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}

#[test]
fn demangle_drops_hashes_and_keeps_other_names() {
    assert_eq!(
        demangle("_ZN4core3fmt5write17h0123456789abcdefE"),
        "core::fmt::write"
    );
    assert_eq!(
        demangle("_ZN4core3fmt5write17h0123456789abcdefE.llvm.1234"),
        "core::fmt::write"
    );
    assert_eq!(
        demangle("_RNvNtCs1234_7mycrate3bar3foo"),
        "mycrate::bar::foo"
    );
    assert_eq!(demangle("dlmalloc"), "dlmalloc");
    // Disambiguating suffixes that change from build to build.
    assert_eq!(
        demangle("_ZN4core3fmt5write17h0123456789abcdefE.71"),
        "core::fmt::write"
    );
    assert_eq!(demangle("dlmalloc.3.12"), "dlmalloc");
    assert_eq!(demangle("func.v2"), "func.v2");
    assert_eq!(demangle(".12"), ".12");
    assert_eq!(demangle("a::b::h0123456789abcdef"), "a::b");
    assert_eq!(demangle("a::b::hxyz"), "a::b::hxyz");
}

/// A rebuild that changed only rustc's hashes and LLVM's suffixes names
/// every function as before, so size-diff sees no change.
#[test]
fn names_differing_only_in_hash_and_llvm_suffix_are_one_function() {
    for (a, b) in [
        (
            "_ZN4core3fmt5write17h0123456789abcdefE",
            "_ZN4core3fmt5write17hfedcba9876543210E.llvm.8812391823",
        ),
        (
            "_RNvNtCs1234_7mycrate3bar3foo",
            "_RNvNtCs9876_7mycrate3bar3foo.llvm.77",
        ),
        ("dlmalloc.llvm.123456", "dlmalloc"),
        ("helper.__uniq.1234567", "helper.llvm.99"),
        ("a::b::h0123456789abcdef.llvm.5", "a::b::hfedcba9876543210"),
        ("a::b::h0123456789abcdef.17", "a::b"),
    ] {
        assert_eq!(demangle(a), demangle(b), "{a} vs {b}");
    }
    assert_eq!(demangle("dlmalloc.llvm.123456"), "dlmalloc");
    assert_eq!(demangle("helper.__uniq.1234567"), "helper");
    // Only a suffix: names that merely contain the words stay.
    assert_eq!(demangle("x.llvm."), "x.llvm.");
    assert_eq!(demangle("a.llvm.b c"), "a.llvm.b c");
    let old = crate::size::report::Attributed::new(
        "wasm",
        attribution_of(&["_ZN4core3fmt5write17h0123456789abcdefE", "dlmalloc.llvm.1"]),
        100,
    );
    let new = crate::size::report::Attributed::new(
        "wasm",
        attribution_of(&["_ZN4core3fmt5write17hfedcba9876543210E", "dlmalloc.llvm.2"]),
        100,
    );
    let g = crate::size::diff::growers(&[old], &[new]);
    assert!(g[0].functions.is_empty() && g[0].crates.is_empty(), "{g:?}");
}

/// What `attribute` makes of functions with these raw names, 10 bytes each.
fn attribution_of(raw: &[&str]) -> Attribution {
    let functions: Vec<FunctionSize> = raw
        .iter()
        .map(|r| {
            let name = demangle(r);
            function(&name, &crate_of(&name), 10)
        })
        .collect();
    let mut crates: BTreeMap<String, u64> = BTreeMap::new();
    for f in &functions {
        *crates.entry(f.krate.clone()).or_default() += f.bytes;
    }
    Attribution {
        file: "x.wasm".into(),
        named: true,
        functions,
        crates: crates
            .into_iter()
            .map(|(name, bytes)| CrateSize { name, bytes })
            .collect(),
        data: vec![],
        indices: vec![],
    }
}

#[test]
fn generic_arguments_are_left_out_of_group_names() {
    for (name, group) in [
        (
            "alloc::raw_vec::RawVec<T,A>::grow_one",
            "alloc::raw_vec::RawVec::grow_one",
        ),
        (
            "alloc::raw_vec::RawVec<u8>::grow_one",
            "alloc::raw_vec::RawVec::grow_one",
        ),
        (
            "<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop",
            "<alloc::vec::Vec as core::ops::drop::Drop>::drop",
        ),
        (
            "core::ptr::drop_in_place<alloc::vec::Vec<u8>>",
            "core::ptr::drop_in_place",
        ),
        (
            "core::ptr::drop_in_place::<alloc::vec::Vec<u8>>",
            "core::ptr::drop_in_place",
        ),
        (
            "alloc::slice::<impl [T]>::to_vec",
            "alloc::slice::<impl [T]>::to_vec",
        ),
        (
            "<F as core::ops::function::FnOnce<(A,)>>::call_once",
            "<F as core::ops::function::FnOnce>::call_once",
        ),
        (
            "core::iter::Map<I, fn() -> u8>::next",
            "core::iter::Map::next",
        ),
        (
            "wasm_demo::main::{{closure}}",
            "wasm_demo::main::{{closure}}",
        ),
        ("unclosed<a::b", "unclosed"),
    ] {
        assert_eq!(without_generic_args(name), group, "{name}");
    }
}

fn function(name: &str, krate: &str, bytes: u64) -> FunctionSize {
    FunctionSize {
        name: name.to_owned(),
        krate: krate.to_owned(),
        bytes,
    }
}

#[test]
fn monomorphisations_group_bodies_of_one_generic_function() {
    let functions = [
        function("alloc::raw_vec::RawVec<T,A>::grow_one", "alloc", 100),
        function("alloc::raw_vec::RawVec<T,A>::grow_one", "alloc", 90),
        function("alloc::raw_vec::RawVec<u8>::grow_one", "alloc", 80),
        function("core::ptr::drop_in_place<a::X>", "a", 10),
        function("core::ptr::drop_in_place<b::Y>", "b", 5),
        function("wasm_demo::main", "wasm_demo", 500),
    ];
    let monos = monomorphisations(&functions);
    let got: Vec<(&str, &str, usize, u64)> = monos
        .iter()
        .map(|m| (m.name.as_str(), m.krate.as_str(), m.instances, m.bytes))
        .collect();
    assert_eq!(
        got,
        [
            ("alloc::raw_vec::RawVec::grow_one", "alloc", 3, 270),
            ("core::ptr::drop_in_place", "core", 2, 15)
        ]
    );
}

#[test]
fn not_wasm_is_an_error_naming_the_file() {
    let err = attribute(b"not wasm at all", "x.wasm").unwrap_err();
    assert!(
        format!("{err:#}").contains("x.wasm is not a readable wasm module"),
        "{err:#}"
    );
    let empty = attribute(b"\0asm\x01\0\0\0", "empty.wasm").unwrap();
    assert!(!empty.named && empty.functions.is_empty() && empty.crates.is_empty());
}

// --- a real wasm from a tiny two-crate program -----------------------------

const TINY_MAIN: &str = r#"
use std::hint::black_box;

#[inline(never)]
fn small(x: u32) -> u32 {
    x.wrapping_mul(3) ^ 7
}

#[inline(never)]
fn large(xs: &[u32]) -> u64 {
    let mut acc = 0u64;
    for (i, x) in xs.iter().enumerate() {
        acc = acc.rotate_left(5) ^ u64::from(*x).wrapping_mul(0x9e37_79b9) ^ i as u64;
        if acc % 3 == 0 {
            acc /= 7;
        } else if acc % 5 == 1 {
            acc = acc.wrapping_mul(acc) >> 3;
        } else {
            acc += 11;
        }
    }
    acc
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn tiny_exported(x: u32) -> u32 {
    x.rotate_right(3) + 1
}

fn main() {
    let v: Vec<u32> = (0..black_box(100)).collect();
    println!(
        "{} {} {} {}",
        small(black_box(5)),
        large(black_box(&v)),
        helper::mix(black_box(9)),
        tiny_exported(black_box(1))
    );
}
"#;

const TINY_HELPER: &str = r#"
#[inline(never)]
pub fn mix(x: u64) -> u64 {
    let y = x ^ (x >> 31);
    y.wrapping_mul(0xbf58_476d_1ce4_e5b9).rotate_left(17) ^ 0x94d0_49bb
}
"#;

/// The raw release `.wasm` of the tiny program (names kept, as cargo
/// writes it with `strip = "debuginfo"`), built once per test run.
fn tiny_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(build_tiny_crate)
}

fn build_tiny_crate() -> Vec<u8> {
    crate::testing::build_wasm_program(TINY_MAIN, &[("helper", TINY_HELPER)])
}

/// The tiny program through both `-Oz` runs: (shipped, names kept).
fn tiny_optimized() -> &'static (Vec<u8>, Vec<u8>) {
    static OPT: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    OPT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("tiny.wasm");
        std::fs::write(&raw, tiny_wasm()).unwrap();
        let cache = dir.path().join("cache");
        let (shipped, names) = (artifacts::opt_path(&raw), artifacts::names_path(&raw));
        assert_eq!(
            shrink::optimize(&raw, &shipped, &cache).unwrap(),
            Outcome::Optimized
        );
        // Its own cache entry: not the shipped file's.
        assert_eq!(
            shrink::optimize_keeping_names(&raw, &names, &cache).unwrap(),
            Outcome::Optimized
        );
        std::fs::remove_file(&names).unwrap();
        assert_eq!(
            shrink::optimize_keeping_names(&raw, &names, &cache).unwrap(),
            Outcome::Cached
        );
        (
            std::fs::read(&shipped).unwrap(),
            std::fs::read(&names).unwrap(),
        )
    })
}

/// A module read by hand, to check `attribute` against: what each section
/// holds, straight from the bytes.
struct Manual {
    /// (section id, contents), custom sections as id 0 with their name.
    sections: Vec<(u8, String, Vec<u8>)>,
}

fn leb(bytes: &[u8], pos: &mut usize) -> u64 {
    let (mut value, mut shift) = (0u64, 0);
    loop {
        let b = bytes[*pos];
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return value;
        }
        shift += 7;
    }
}

fn leb_len(n: u64) -> u64 {
    let mut len = 1;
    let mut n = n >> 7;
    while n > 0 {
        n >>= 7;
        len += 1;
    }
    len
}

fn name_string(bytes: &[u8], pos: &mut usize) -> String {
    let len = leb(bytes, pos) as usize;
    let s = String::from_utf8(bytes[*pos..*pos + len].to_vec()).unwrap();
    *pos += len;
    s
}

impl Manual {
    fn read(wasm: &[u8]) -> Self {
        assert_eq!(&wasm[..8], b"\0asm\x01\0\0\0");
        let mut pos = 8;
        let mut sections = Vec::new();
        while pos < wasm.len() {
            let id = wasm[pos];
            pos += 1;
            let len = leb(wasm, &mut pos) as usize;
            let contents = &wasm[pos..pos + len];
            pos += len;
            let mut p = 0;
            let name = if id == 0 {
                name_string(contents, &mut p)
            } else {
                String::new()
            };
            sections.push((id, name, contents[p..].to_vec()));
        }
        Self { sections }
    }

    fn section(&self, id: u8, name: &str) -> Option<&[u8]> {
        self.sections
            .iter()
            .find(|(i, n, _)| *i == id && n == name)
            .map(|(_, _, c)| c.as_slice())
    }

    fn imported_functions(&self) -> u64 {
        let Some(s) = self.section(2, "") else {
            return 0;
        };
        let mut p = 0;
        let count = leb(s, &mut p);
        for _ in 0..count {
            name_string(s, &mut p);
            name_string(s, &mut p);
            assert_eq!(s[p], 0, "the tiny program imports only functions");
            p += 1;
            leb(s, &mut p);
        }
        count
    }

    /// Each body's length after its size prefix, in order.
    fn bodies(&self) -> Vec<u64> {
        let s = self.section(10, "").unwrap();
        let mut p = 0;
        let count = leb(s, &mut p);
        let bodies: Vec<u64> = (0..count)
            .map(|_| {
                let len = leb(s, &mut p);
                p += len as usize;
                len
            })
            .collect();
        assert_eq!(p, s.len());
        bodies
    }

    /// Name subsection `id` (1 functions, 9 data) as index to name.
    fn names(&self, id: u8) -> HashMap<u64, String> {
        let mut map = HashMap::new();
        let Some(s) = self.section(0, "name") else {
            return map;
        };
        let mut p = 0;
        while p < s.len() {
            let sub = s[p];
            p += 1;
            let len = leb(s, &mut p) as usize;
            if sub == id {
                let mut q = p;
                for _ in 0..leb(s, &mut q) {
                    let index = leb(s, &mut q);
                    map.insert(index, name_string(s, &mut q));
                }
            }
            p += len;
        }
        map
    }

    /// Each data segment's contents length, in order (active segments with
    /// an `i32.const` offset, or passive ones: what wasm-ld writes).
    fn segments(&self) -> Vec<u64> {
        let Some(s) = self.section(11, "") else {
            return Vec::new();
        };
        let mut p = 0;
        let count = leb(s, &mut p);
        (0..count)
            .map(|_| {
                match leb(s, &mut p) {
                    0 => {
                        assert_eq!(s[p], 0x41, "i32.const");
                        p += 1;
                        leb(s, &mut p);
                        assert_eq!(s[p], 0x0b, "end");
                        p += 1;
                    }
                    1 => {}
                    flags => panic!("unexpected data segment flags {flags}"),
                }
                let len = leb(s, &mut p);
                p += len as usize;
                len
            })
            .collect()
    }
}

/// (name, crate, bytes) of every function, as the hand reader sees them.
fn expected_functions(wasm: &[u8]) -> Vec<(String, String, u64)> {
    let m = Manual::read(wasm);
    let imports = m.imported_functions();
    let names = m.names(1);
    let mut out: Vec<_> = m
        .bodies()
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| {
            let index = imports + i as u64;
            match names.get(&index) {
                Some(raw) => {
                    // Naming is `demangle`'s job, tested above; sizes and
                    // indices are what this checks.
                    let name = demangle(raw);
                    (name.clone(), crate_of(&name), bytes)
                }
                None => (format!("func[{index}]"), UNKNOWN.to_owned(), bytes),
            }
        })
        .collect();
    out.sort();
    out
}

fn triples(a: &Attribution) -> Vec<(String, String, u64)> {
    let mut out: Vec<_> = a
        .functions
        .iter()
        .map(|f| (f.name.clone(), f.krate.clone(), f.bytes))
        .collect();
    out.sort();
    out
}

fn find<'a>(a: &'a Attribution, name: &str) -> &'a FunctionSize {
    a.functions
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} not among {:?}", triples(a)))
}

fn check_against_the_bytes(wasm: &[u8], file: &str) -> Attribution {
    let a = attribute(wasm, file).unwrap();
    assert_eq!(a.file, file);
    assert_eq!(triples(&a), expected_functions(wasm));
    // Bodies, their size prefixes and the count tile the code section.
    let m = Manual::read(wasm);
    let code = m.section(10, "").unwrap().len() as u64;
    let bodies: u64 = a.functions.iter().map(|f| f.bytes + leb_len(f.bytes)).sum();
    assert_eq!(bodies + leb_len(a.functions.len() as u64), code);
    assert_eq!(Some(&code), wasm_sections(wasm).unwrap().get("code"));
    // Data: each segment's contents, named from the name section or by index.
    let data_names = m.names(9);
    let mut want: Vec<(String, u64)> = m
        .segments()
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| {
            let name = data_names.get(&(i as u64)).cloned();
            (name.unwrap_or_else(|| format!("data[{i}]")), bytes)
        })
        .collect();
    want.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    let got: Vec<(String, u64)> = a.data.iter().map(|d| (d.name.clone(), d.bytes)).collect();
    assert_eq!(got, want);
    // The rollup holds every body and segment byte once, sorted.
    let total = a.functions.iter().map(|f| f.bytes).sum::<u64>()
        + a.data.iter().map(|d| d.bytes).sum::<u64>();
    assert_eq!(a.crates.iter().map(|c| c.bytes).sum::<u64>(), total);
    for list in [
        a.functions
            .iter()
            .map(|f| (f.bytes, &f.name))
            .collect::<Vec<_>>(),
        a.crates.iter().map(|c| (c.bytes, &c.name)).collect(),
        a.data.iter().map(|d| (d.bytes, &d.name)).collect(),
    ] {
        assert!(
            list.windows(2)
                .all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1 <= w[1].1)),
            "not sorted: {list:?}"
        );
    }
    a
}

#[test]
fn attribution_of_a_real_build_matches_its_bytes() {
    let wasm = tiny_wasm();
    validate_wasm(wasm).unwrap();
    let a = check_against_the_bytes(wasm, "tiny.wasm");
    assert!(a.named);
    let (small, large) = (find(&a, "tiny::small"), find(&a, "tiny::large"));
    let mix = find(&a, "helper::mix");
    assert_eq!(
        (small.krate.as_str(), large.krate.as_str()),
        ("tiny", "tiny")
    );
    assert_eq!(mix.krate, "helper");
    assert!(
        large.bytes > mix.bytes && mix.bytes > small.bytes,
        "{:?}",
        triples(&a)
    );
    assert_eq!(find(&a, "tiny_exported").krate, UNKNOWN);
    let crate_bytes = |name: &str| a.crates.iter().find(|c| c.name == name).map(|c| c.bytes);
    assert!(crate_bytes("tiny").unwrap() >= small.bytes + large.bytes);
    assert_eq!(crate_bytes("helper"), Some(mix.bytes));
    assert!(crate_bytes("std").is_some() && crate_bytes("core").is_some());
    assert!(crate_bytes(DATA).is_some_and(|b| b > 0), "{:?}", a.crates);
    assert!(
        a.data.iter().any(|d| d.name.starts_with(".rodata")),
        "{:?}",
        a.data
    );
}

/// The names twin has the shipped file's code, byte for byte, so its
/// per-function figures describe the file we ship.
#[test]
fn names_twin_has_the_shipped_code() {
    let (shipped, names) = tiny_optimized();
    let (shipped_m, names_m) = (Manual::read(shipped), Manual::read(names));
    assert!(shipped_m.section(0, "name").is_none());
    assert!(names_m.section(0, "name").is_some());
    assert!(names_m.section(0, "producers").is_none());
    assert_eq!(
        shipped_m.section(10, "").unwrap().len(),
        names_m.section(10, "").unwrap().len(),
        "Binaryen wrote different code when keeping names"
    );
    assert_eq!(shipped_m.section(10, ""), names_m.section(10, ""));
    assert_eq!(shipped_m.section(11, ""), names_m.section(11, ""));
    let a = check_against_the_bytes(names, "tiny.opt.names.wasm");
    assert!(a.named);
    // Binaryen inlines the small helpers into `main`; what is left keeps
    // its crate.
    assert_eq!(find(&a, "tiny::main").krate, "tiny");
    assert_eq!(find(&a, "tiny_exported").krate, UNKNOWN);
    assert!(a.functions.iter().any(|f| f.krate == "core"));
}

#[test]
fn stripped_file_falls_back_to_indices() {
    let (shipped, names) = tiny_optimized();
    let a = check_against_the_bytes(shipped, "tiny.opt.wasm");
    assert!(!a.named);
    assert!(a
        .functions
        .iter()
        .all(|f| f.name.starts_with("func[") && f.krate == UNKNOWN));
    assert!(a.data.iter().all(|d| d.name.starts_with("data[")));
    let sizes = |a: &Attribution| {
        let mut s: Vec<u64> = a.functions.iter().map(|f| f.bytes).collect();
        s.sort();
        s
    };
    assert_eq!(sizes(&a), sizes(&attribute(names, "n").unwrap()));
}

/// xorshift64*: deterministic, so a failure names a case that reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Byte ranges of each section header and of the custom sections (the
/// name section above all), where a mutation changes the most structure.
fn interesting_ranges(wasm: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.unwrap();
        if let Some((_, range)) = payload.as_section() {
            ranges.push(range.start.saturating_sub(6)..range.start + range.len().min(8));
            if let Payload::CustomSection(_) = payload {
                ranges.push(range);
            }
        }
    }
    ranges.retain(|r| !r.is_empty());
    ranges
}

fn mutate(rng: &mut Rng, base: &[u8], ranges: &[std::ops::Range<usize>]) -> Vec<u8> {
    let mut w = base.to_vec();
    let pick = |rng: &mut Rng, w: &[u8]| {
        if rng.below(2) == 0 && !ranges.is_empty() {
            let r = &ranges[rng.below(ranges.len())];
            (r.start + rng.below(r.len())).min(w.len().saturating_sub(1))
        } else {
            rng.below(w.len())
        }
    };
    match rng.below(5) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let i = pick(rng, &w);
                w[i] = rng.next() as u8;
            }
        }
        1 => {
            // LEB128 continuation bits and extremes.
            for _ in 0..1 + rng.below(3) {
                let i = pick(rng, &w);
                w[i] = [0x80, 0xff, 0x7f, 0x00][rng.below(4)];
            }
        }
        2 => w.truncate(rng.below(w.len())),
        3 => {
            // Splice: a chunk copied from elsewhere, inserted.
            let from = rng.below(w.len());
            let len = rng.below(64).min(w.len() - from);
            let chunk = w[from..from + len].to_vec();
            let at = pick(rng, &w);
            w.splice(at..at, chunk);
        }
        _ => {
            // Cut a chunk out.
            let at = pick(rng, &w);
            let len = rng.below(64).min(w.len() - at);
            w.drain(at..at + len);
        }
    }
    w
}

#[test]
fn damaged_files_give_errors_not_panics() {
    let (_, names) = tiny_optimized();
    let bases = [tiny_wasm(), names.as_slice()];
    let mut rng = Rng(0x5eed_b10a7);
    let (mut ok, mut err) = (0, 0);
    let started = std::time::Instant::now();
    for case in 0..1500 {
        let base = bases[case % bases.len()];
        let ranges = interesting_ranges(base);
        let damaged = mutate(&mut rng, base, &ranges);
        let result = std::panic::catch_unwind(|| {
            // The call-graph analyses read the same damaged bytes.
            for mode in [callgraph::Mode::SeeThrough, callgraph::Mode::TableRoot] {
                if let Ok(g) = callgraph::graph(&damaged, mode) {
                    let d = g.dominators();
                    let parents = g.shortest_paths();
                    for n in 0..g.len() as u32 {
                        let _ = callgraph::path_to(&parents, n);
                        assert!(d.retained[n as usize] <= d.reachable_bytes);
                    }
                    let group: Vec<u32> = (0..g.len() as u32).map(|n| n % 3).collect();
                    let _ = g.group_retained(&group, 3);
                }
            }
            attribute(&damaged, "damaged.wasm")
        });
        match result {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(_)) => err += 1,
            Err(_) => panic!(
                "attribute panicked on case {case} ({} bytes)",
                damaged.len()
            ),
        }
    }
    assert!(
        ok > 100 && err > 100,
        "ok {ok}, err {err}: the mutations do not exercise both"
    );
    eprintln!(
        "1500 damaged files: {ok} ok, {err} errors in {:?}",
        started.elapsed()
    );
}
