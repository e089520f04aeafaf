//! wasm-size on real modules: a tiny program built by cargo for
//! wasm32-wasip1 and shrunk by `-Oz`, read by the attribution, the call
//! graph and the diff. Here in xtask, not in the crate, since they run
//! cargo and Binaryen: `cargo test -p wasm-size` compiles no C++.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::ops::build::artifacts;
use crate::ops::build::shrink::{self, Shrunk};
use wasm_size::attribution::*;
use wasm_size::callgraph;
use wasm_size::diff::{diff, render, Side};
use wasm_size::wasm::{validate_wasm, wasm_sections};
use wasmparser::Payload;

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
            Shrunk::Optimized
        );
        // Its own cache entry: not the shipped file's.
        assert_eq!(
            shrink::optimize_keeping_names(&raw, &names, &cache).unwrap(),
            Shrunk::Optimized
        );
        std::fs::remove_file(&names).unwrap();
        assert_eq!(
            shrink::optimize_keeping_names(&raw, &names, &cache).unwrap(),
            Shrunk::Cached
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
fn expected_functions(wasm: &[u8]) -> Vec<(String, CrateName, u64)> {
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
                None => (format!("func[{index}]"), CrateName::Unknown, bytes),
            }
        })
        .collect();
    out.sort();
    out
}

fn triples(a: &Attribution) -> Vec<(String, CrateName, u64)> {
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
            .map(|f| (f.bytes, f.name.as_str()))
            .collect::<Vec<_>>(),
        a.crates
            .iter()
            .map(|c| (c.bytes, c.name.as_str()))
            .collect(),
        a.data.iter().map(|d| (d.bytes, d.name.as_str())).collect(),
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
    assert_eq!(find(&a, "tiny_exported").krate, CrateName::Unknown);
    let crate_bytes = |name: &str| a.crates.iter().find(|c| c.name == name).map(|c| c.bytes);
    assert!(crate_bytes("tiny").unwrap() >= small.bytes + large.bytes);
    assert_eq!(crate_bytes("helper"), Some(mix.bytes));
    assert!(crate_bytes("std").is_some() && crate_bytes("core").is_some());
    assert!(
        crate_bytes(CrateName::Data.as_str()).is_some_and(|b| b > 0),
        "{:?}",
        a.crates
    );
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
    assert_eq!(find(&a, "tiny_exported").krate, CrateName::Unknown);
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
        .all(|f| f.name.starts_with("func[") && f.krate == CrateName::Unknown));
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

// --- the diff of two real builds -------------------------------------------

const BEFORE: &str = "fn main() { println!(\"{}\", std::hint::black_box(7u64) * 3); }\n";
const AFTER: &str = "fn main() { println!(\"{}\", extra::checksum(std::hint::black_box(7))); }\n";
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
    let old = crate::testing::build_wasm_program(BEFORE, &[]);
    let new = crate::testing::build_wasm_program(AFTER, &[("extra", EXTRA)]);
    let d = diff(
        &Side::from_wasm("old.wasm", &old).unwrap(),
        &Side::from_wasm("new.wasm", &new).unwrap(),
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
