//! `crate_of` over real demangled shapes, and `attribute` checked against a
//! wasm that a real `cargo build` makes from a tiny two-crate program,
//! measured here independently of wasmparser.

use super::*;

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
            krate == CrateName::Unknown || (name.starts_with('<') && krate == "core"),
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
        assert!(!krate.as_str().is_empty());
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
    let old = crate::report::Attributed::new(
        crate::artifact::ArtifactId::shipped("app"),
        attribution_of(&["_ZN4core3fmt5write17h0123456789abcdefE", "dlmalloc.llvm.1"]),
        100,
    );
    let new = crate::report::Attributed::new(
        crate::artifact::ArtifactId::shipped("app"),
        attribution_of(&["_ZN4core3fmt5write17hfedcba9876543210E", "dlmalloc.llvm.2"]),
        100,
    );
    let g = crate::diff::growers(&[old], &[new]);
    assert!(g[0].functions.is_empty() && g[0].crates.is_empty(), "{g:?}");
}

/// What `attribute` makes of functions with these raw names, 10 bytes each.
fn attribution_of(raw: &[&str]) -> Attribution {
    let functions: Vec<FunctionSize> = raw
        .iter()
        .map(|r| {
            let name = demangle(r);
            function(&name, crate_of(&name).as_str(), 10)
        })
        .collect();
    let mut crates: BTreeMap<CrateName, u64> = BTreeMap::new();
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
        krate: krate.into(),
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

#[test]
fn the_buckets_are_variants_written_and_ordered_as_their_names() {
    for (name, text) in [
        (CrateName::Data, "[data]"),
        (CrateName::Unknown, "[unknown]"),
        (CrateName::Named("std".into()), "std"),
    ] {
        assert_eq!(serde_json::to_value(&name).unwrap(), text);
        let back: CrateName = serde_json::from_value(text.into()).unwrap();
        assert_eq!(back, name);
        assert_eq!(std::mem::discriminant(&back), std::mem::discriminant(&name));
    }
    let mut names: Vec<CrateName> = ["std", "[unknown]", "Zed", "_x", "[data]"]
        .map(CrateName::from)
        .into();
    names.sort();
    let texts: Vec<&str> = names.iter().map(CrateName::as_str).collect();
    assert_eq!(texts, ["Zed", "[data]", "[unknown]", "_x", "std"]);
}

/// `as_parts` reads brackets as `matching_close` and splits as
/// `split_top_level` would, in one pass.
#[test]
fn as_parts_agrees_with_closing_then_splitting() {
    fn two_passes(ty: &str) -> Option<(&str, Option<&str>)> {
        let inner = &ty[1..matching_close(ty)?];
        match split_top_level(inner, " as ").as_slice() {
            [a, b] => Some((a, Some(b))),
            [a] => Some((a, None)),
            _ => None,
        }
    }
    for ty in [
        "<A as B>",
        "<A as B>::f",
        "<<A as B>::C as D>::f",
        "<[T]>::sort",
        "<A as B as C>",
        "<A as B",
        "<",
        "<>",
        "< as >",
        "<fn() -> u8 as X>::call",
        "<A<B as C> as D>",
        "<&mut F as core::ops::FnOnce<(A,)>>::call_once",
        "<(A, B) as X>",
        "<A as B>> as C>",
        "<a as b><c as d>",
    ] {
        assert_eq!(as_parts(ty), two_passes(ty), "{ty}");
    }
}
