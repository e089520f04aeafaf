//! Where the bytes of a `.wasm` go, read from its `name` section: each
//! function body and data segment, and a rollup per crate.
//!
//! Sizes, consistently:
//! - a function's `bytes` is its body in the code section: the locals
//!   declarations and the instructions, without the LEB128 body-size prefix
//!   in front of it. Imported functions have no body and are not listed.
//!   The bodies plus their prefixes plus the count make up the code section.
//! - a data segment's `bytes` is its contents, without its header (memory
//!   index, offset expression, length).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use wasmparser::{Encoding, KnownCustom, Name, Payload, TypeRef};

use crate::scan;

#[cfg(test)]
mod tests;

/// Where bytes are counted in the rollup by crate: a crate, or one of the
/// two buckets that are none. Written and read as the crate's name, or as
/// `[unknown]` and `[data]`, in JSON too; compared, ordered and hashed as
/// that text, so lists sorted by it keep their order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum CrateName {
    /// Shared: a module's thousands of functions name a few hundred crates.
    Named(Arc<str>),
    /// The crate of a function whose name says nothing about its crate: C
    /// code (wasi-libc's `dlmalloc`, `memcpy`), `#[no_mangle]` functions,
    /// linker stubs, and every function of a file without names.
    Unknown,
    /// The bucket for data segments.
    Data,
}

impl CrateName {
    pub fn as_str(&self) -> &str {
        match self {
            CrateName::Named(name) => name,
            CrateName::Unknown => "[unknown]",
            CrateName::Data => "[data]",
        }
    }
}

impl From<String> for CrateName {
    fn from(name: String) -> Self {
        match name.as_str() {
            "[unknown]" => CrateName::Unknown,
            "[data]" => CrateName::Data,
            _ => CrateName::Named(name.into()),
        }
    }
}

impl From<&str> for CrateName {
    fn from(name: &str) -> Self {
        name.to_owned().into()
    }
}

impl From<CrateName> for String {
    fn from(name: CrateName) -> Self {
        match name {
            CrateName::Named(name) => name.to_string(),
            other => other.as_str().to_owned(),
        }
    }
}

impl fmt::Display for CrateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for CrateName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for CrateName {}

impl PartialEq<str> for CrateName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CrateName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Ord for CrateName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for CrateName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for CrateName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionSize {
    /// Demangled, without the hash suffix; `func[i]` (absolute function
    /// index) when the file does not name it.
    pub name: String,
    #[serde(rename = "crate")]
    pub krate: CrateName,
    /// The body's bytes in the code section, without its size prefix.
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateSize {
    pub name: CrateName,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSize {
    /// From the name section's data names, else `data[i]`.
    pub name: String,
    /// The segment's contents, without its header.
    pub bytes: u64,
}

/// Where the bytes of one wasm file go. Every list is sorted by bytes,
/// largest first, then by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub file: String,
    /// Whether the file's name section names its functions; without it every
    /// function is `func[i]` in `[unknown]`.
    pub named: bool,
    /// One entry per body: monomorphisations of one generic function are
    /// different bodies and stay separate entries (see [`monomorphisations`]).
    pub functions: Vec<FunctionSize>,
    /// Function bytes per crate, plus a `[data]` bucket holding every data
    /// segment: together, all body and segment bytes of the file.
    pub crates: Vec<CrateSize>,
    pub data: Vec<DataSize>,
    /// The function index of each entry of `functions`, in the same order:
    /// how the call graph (`size::callgraph`) names its nodes.
    #[serde(skip)]
    pub indices: Vec<u32>,
}

/// Attributes the code and data of `wasm`; `file` is only recorded. Any
/// input gives `Ok` or an `Err` saying why it is not a readable module;
/// it never panics.
pub fn attribute(wasm: &[u8], file: &str) -> Result<Attribution> {
    attribute_from(std::io::Cursor::new(wasm), file)
}

/// [`attribute`], reading the module from a stream (`size::scan`).
pub fn attribute_from(
    reader: impl std::io::Read + std::io::Seek,
    file: &str,
) -> Result<Attribution> {
    let mut collector = Collector::default();
    scan::read(reader, &mut collector)
        .with_context(|| format!("{file} is not a readable wasm module"))?;
    Ok(collector.finish(file))
}

/// What attribution takes from a module in `size::scan`'s pass: sizes and
/// names by index, nothing of the bodies.
#[derive(Debug, Default)]
pub struct Collector {
    /// (absolute function index, body bytes), in code section order.
    bodies: Vec<(u32, u64)>,
    /// Contents bytes of each data segment, in order.
    segments: Vec<u64>,
    function_names: HashMap<u32, String>,
    data_names: HashMap<u32, String>,
    imported_functions: u32,
}

impl Collector {
    pub fn finish(self, file: &str) -> Attribution {
        let mut parsed = self;
        let named = parsed
            .bodies
            .iter()
            .any(|(index, _)| parsed.function_names.contains_key(index));
        let mut crates = Crates::default();
        // Each raw name is dropped once demangled, so the demangled names
        // take the memory the raw ones leave, not memory beside them.
        let mut indexed: Vec<(u32, FunctionSize)> = parsed
            .bodies
            .iter()
            .map(
                |&(index, bytes)| match parsed.function_names.remove(&index) {
                    Some(raw) => {
                        let name = demangle(&raw);
                        let f = FunctionSize {
                            krate: crates.of(&name),
                            name,
                            bytes,
                        };
                        (index, f)
                    }
                    None => {
                        let f = FunctionSize {
                            name: format!("func[{index}]"),
                            krate: CrateName::Unknown,
                            bytes,
                        };
                        (index, f)
                    }
                },
            )
            .collect();
        // Largest first, then by name, then in body order (indices grow with
        // it): the order a stable sort gives, without its scratch copy of
        // every entry.
        indexed.sort_unstable_by(|(i, a), (j, b)| {
            (b.bytes.cmp(&a.bytes))
                .then_with(|| a.name.cmp(&b.name))
                .then(i.cmp(j))
        });
        // Split in place: the functions reuse `indexed`'s allocation.
        let indices: Vec<u32> = indexed.iter().map(|(i, _)| *i).collect();
        let functions: Vec<FunctionSize> = indexed.into_iter().map(|(_, f)| f).collect();
        let mut data: Vec<DataSize> = parsed
            .segments
            .iter()
            .enumerate()
            .map(|(i, &bytes)| DataSize {
                name: parsed
                    .data_names
                    .get(&(i as u32))
                    .cloned()
                    .unwrap_or_else(|| format!("data[{i}]")),
                bytes,
            })
            .collect();
        data.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
        let data_bucket = CrateName::Data;
        let mut per_crate: BTreeMap<&CrateName, u64> = BTreeMap::new();
        for f in &functions {
            *per_crate.entry(&f.krate).or_default() += f.bytes;
        }
        if !data.is_empty() {
            *per_crate.entry(&data_bucket).or_default() +=
                data.iter().map(|d| d.bytes).sum::<u64>();
        }
        let mut crates: Vec<CrateSize> = per_crate
            .into_iter()
            .map(|(name, bytes)| CrateSize {
                name: name.clone(),
                bytes,
            })
            .collect();
        crates.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
        Attribution {
            file: file.to_owned(),
            named,
            functions,
            crates,
            data,
            indices,
        }
    }
}

/// Crate names made once each and shared by every function of the crate.
#[derive(Debug, Default)]
struct Crates(HashSet<Arc<str>>);

impl Crates {
    /// [`crate_of`], sharing the name with earlier functions of the crate.
    fn of(&mut self, demangled: &str) -> CrateName {
        let Some(krate) = crate_text(demangled) else {
            return CrateName::Unknown;
        };
        if let Some(shared) = self.0.get(krate) {
            return CrateName::Named(shared.clone());
        }
        let shared: Arc<str> = krate.into();
        self.0.insert(shared.clone());
        CrateName::Named(shared)
    }
}

impl scan::Sink for Collector {
    fn payload(&mut self, payload: &Payload) -> Result<()> {
        match payload {
            Payload::Version { encoding, .. } if *encoding != Encoding::Module => {
                bail!("it is a component; attribute the core modules inside it")
            }
            Payload::ImportSection(imports) => {
                for import in imports.clone() {
                    if matches!(import?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        self.imported_functions = self
                            .imported_functions
                            .checked_add(1)
                            .ok_or_else(|| anyhow!("too many imported functions"))?;
                    }
                }
            }
            Payload::DataSection(segments) => {
                for segment in segments.clone() {
                    self.segments.push(segment?.data.len() as u64);
                }
            }
            Payload::CustomSection(section) => {
                if let KnownCustom::Name(names) = section.as_known() {
                    for subsection in names {
                        match subsection.context("in the name section")? {
                            Name::Function(map) => read_names(map, &mut self.function_names)?,
                            Name::Data(map) => read_names(map, &mut self.data_names)?,
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn body(&mut self, body: &wasmparser::FunctionBody) -> Result<()> {
        let index = u32::try_from(self.bodies.len())
            .ok()
            .and_then(|i| i.checked_add(self.imported_functions))
            .ok_or_else(|| anyhow!("function index out of range"))?;
        self.bodies.push((index, body.range().len() as u64));
        Ok(())
    }
}

fn read_names(map: wasmparser::NameMap<'_>, into: &mut HashMap<u32, String>) -> Result<()> {
    for naming in map {
        let naming = naming.context("in the name section")?;
        into.insert(naming.index, naming.name.to_owned());
    }
    Ok(())
}

/// A symbol as people read it: demangled (legacy or v0) without the hash
/// suffix; other names (C, `#[no_mangle]`, already demangled) as they are,
/// minus a `::h<16 hex>` suffix if they carry one. A `.71`-style suffix,
/// which the linker or Binaryen adds to tell equal names apart, goes too:
/// it changes from build to build, and the bodies stay separate entries.
///
/// This is a function's identity across builds: two builds whose names
/// differ only in rustc's hash or in these suffixes name the same function.
pub fn demangle(symbol: &str) -> String {
    let symbol = strip_llvm_suffix(symbol);
    let mut name = match rustc_demangle::try_demangle(symbol) {
        Ok(d) => format!("{d:#}"),
        Err(_) => symbol.to_owned(),
    };
    loop {
        let before = name.len();
        name.truncate(strip_llvm_suffix(&name).len());
        while let Some((head, tail)) = name.rsplit_once('.') {
            if head.is_empty() || tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
                break;
            }
            name.truncate(head.len());
        }
        name.truncate(strip_hash(&name).len());
        if name.len() == before {
            return name;
        }
    }
}

/// `name` without the suffixes LLVM appends to a local symbol it promotes
/// or makes unique, which change from build to build: `.llvm.<digits>`
/// (ThinLTO) and `.__uniq.<digits>`.
fn strip_llvm_suffix(name: &str) -> &str {
    // Most names have no dot: one fast scan instead of two searches.
    if !name.as_bytes().contains(&b'.') {
        return name;
    }
    for marker in [".llvm.", ".__uniq."] {
        if let Some(at) = name.rfind(marker) {
            let tail = &name[at + marker.len()..];
            if at > 0
                && !tail.is_empty()
                && tail.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
            {
                return &name[..at];
            }
        }
    }
    name
}

/// `name` without a trailing `::h` and 16 hex digits (rustc's hash). Only
/// the last 19 bytes are read: hex digits hold no `::h`, so a hash suffix
/// follows the last `::h` of the name.
fn strip_hash(name: &str) -> &str {
    let b = name.as_bytes();
    match b.len().checked_sub(19) {
        Some(at) if &b[at..at + 3] == b"::h" && b[at + 3..].iter().all(u8::is_ascii_hexdigit) => {
            // `at` is the index of an ASCII `:`, a character boundary.
            &name[..at]
        }
        _ => name,
    }
}

/// The crate a demangled function name belongs to. The rule:
/// - a path `a::b::f`, closures (`{{closure}}`, `{closure#0}`) and generic
///   arguments included: its first segment, `a`.
/// - a trait method `<A as B>::f`: the crate of the type `A` (as
///   cargo-bloat does: the impl is compiled for that type), after peeling
///   `&`, `&mut`, `*const`, `*mut`, `dyn`, slices, arrays and tuples. When
///   `A` names no crate (a primitive or a type parameter: `<u8 as
///   core::fmt::Debug>::fmt`, `<&T as core::fmt::Display>::fmt`), the crate
///   of the trait `B`. Nested `<<A as B>::C as D>::f` follow the same rule
///   inwards.
/// - an inherent method on a primitive, `<[T]>::sort` (v0 demangling), is
///   `core`: such impls exist only in the standard library, and the
///   demangled name does not say which of its crates.
/// - drop glue `core::ptr::drop_in_place<T>`: the crate of `T`, like `<T as
///   Drop>::drop`: it is code generated for `T`. `core` when `T` names none.
/// - rustc's allocator and panic shims are `std`, which they route to:
///   `__rustc::__rust_alloc` (today's spelling, v0), and without a path
///   `__rust_alloc`, `__rdl_alloc`, `__rg_oom`, `rust_begin_unwind`,
///   `rust_panic`.
/// - anything else without a path (C from wasi-libc such as `dlmalloc` or
///   `memcpy`, `#[no_mangle]` functions, linker stubs like `_start`,
///   `func[i]`) is `[unknown]`: the name cannot tell C from Rust.
///
/// `std`, `core` and `alloc` stay separate crates.
pub fn crate_of(demangled: &str) -> CrateName {
    crate_text(demangled).map_or(CrateName::Unknown, |krate| CrateName::Named(krate.into()))
}

/// [`crate_of`] as text, borrowed from the name (or a literal); `None` for
/// `[unknown]`.
fn crate_text(demangled: &str) -> Option<&str> {
    let name = strip_hash(demangled.trim());
    if let Some(rest) = name.strip_prefix("core::ptr::drop_in_place") {
        let rest = rest.strip_prefix("::").unwrap_or(rest);
        if rest.starts_with('<') {
            let inner = matching_close(rest).map(|end| &rest[1..end]);
            return Some(inner.and_then(|t| type_crate(t, 0)).unwrap_or("core"));
        }
    }
    if name.starts_with('<') {
        return Some(type_crate(name, 0).unwrap_or("core"));
    }
    if let Some(krate) = type_crate(name, 0) {
        return Some(if krate == "__rustc" { "std" } else { krate });
    }
    let shim = ["__rust_", "__rdl_", "__rg_"]
        .iter()
        .any(|p| name.starts_with(p))
        || name == "rust_begin_unwind"
        || name == "rust_panic";
    shim.then_some("std")
}

/// Real names nest a few levels; a name section can hold anything.
const MAX_NESTING: usize = 32;

/// The crate a type or path names, if any: see [`crate_of`]. `depth`
/// bounds the recursion, so no name can overflow the stack.
fn type_crate(ty: &str, depth: usize) -> Option<&str> {
    if depth > MAX_NESTING {
        return None;
    }
    let depth = depth + 1;
    let mut ty = ty.trim();
    loop {
        let peeled = ["&mut ", "&", "*const ", "*mut ", "dyn ", "impl ", "mut "]
            .iter()
            .find_map(|p| ty.strip_prefix(p));
        match peeled {
            Some(rest) => ty = rest.trim_start(),
            None => break,
        }
    }
    match ty.chars().next()? {
        '<' => {
            let (self_ty, trait_path) = as_parts(ty)?;
            type_crate(self_ty, depth).or_else(|| type_crate(trait_path?, depth))
        }
        '[' | '(' => {
            let inner = &ty[1..matching_close(ty)?];
            let element = split_top_level(inner, ";")[0];
            split_top_level(element, ",")
                .into_iter()
                .find_map(|t| type_crate(t, depth))
        }
        _ => {
            let (first, _) = ty.split_once("::")?;
            let identifier = !first.is_empty()
                && !first.starts_with(|c: char| c.is_ascii_digit())
                && first.chars().all(|c| c.is_alphanumeric() || c == '_');
            identifier.then_some(first)
        }
    }
}

/// The byte index of the bracket closing the one `s` starts with.
fn matching_close(s: &str) -> Option<usize> {
    let (mut depth, mut previous) = (0usize, 0u8);
    for (i, b) in s.bytes().enumerate() {
        let next = bracket_depth(depth, previous, b)?;
        if next == 0 && depth == 1 {
            return Some(i);
        }
        (depth, previous) = (next, b);
    }
    None
}

/// The bracket depth after byte `b`, `previous` the byte before it: `<`,
/// `(` and `[` open, `>`, `)` and `]` close, but the `>` of `->` closes
/// nothing. `None` when it closes a bracket never opened.
fn bracket_depth(depth: usize, previous: u8, b: u8) -> Option<usize> {
    match b {
        b'<' | b'(' | b'[' => Some(depth + 1),
        b'>' if previous == b'-' => Some(depth),
        b'>' | b')' | b']' => depth.checked_sub(1),
        _ => Some(depth),
    }
}

/// For `ty` starting with `<`: what its brackets hold, split at a ` as `
/// outside any inner bracket (`<A as B>` gives `A` and `B`, `<[T]>` gives
/// `[T]`). `None` when the brackets do not close or hold two such ` as `.
/// One pass, as far as the closing bracket, as [`matching_close`] reads
/// brackets.
fn as_parts(ty: &str) -> Option<(&str, Option<&str>)> {
    const AS: &[u8] = b" as ";
    let bytes = ty.as_bytes();
    let (mut depth, mut previous, mut split) = (0usize, 0u8, None);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b' ' && depth == 1 && bytes[i..].starts_with(AS) {
            if split.replace(i).is_some() {
                return None;
            }
            previous = b' ';
            i += AS.len();
            continue;
        }
        let next = bracket_depth(depth, previous, b)?;
        if next == 0 && depth == 1 {
            return Some(match split {
                Some(at) => (&ty[1..at], Some(&ty[at + AS.len()..i])),
                None => (&ty[1..i], None),
            });
        }
        (depth, previous) = (next, b);
        i += 1;
    }
    None
}

/// `s` split at each `separator` outside brackets.
fn split_top_level<'a>(s: &'a str, separator: &str) -> Vec<&'a str> {
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let (mut depth, mut start, mut i) = (0usize, 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'<' | b'(' | b'[' => depth += 1,
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' | b')' | b']' => depth = depth.saturating_sub(1),
            _ if depth == 0 && bytes[i..].starts_with(separator.as_bytes()) => {
                parts.push(&s[start..i]);
                i += separator.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&s[start..]);
    parts
}

/// All instantiations of one generic function, as `--monos` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Monomorphisations {
    /// The function's name with its generic arguments left out.
    pub name: String,
    /// The crate defining the generic function (`core` for all drop glue),
    /// not those of the types it is instantiated with.
    #[serde(rename = "crate")]
    pub krate: CrateName,
    pub instances: usize,
    pub bytes: u64,
}

/// Functions grouped by their name without generic arguments
/// (`Vec<u8>::push` and `Vec<T>::push` are one group), keeping groups of two
/// or more bodies: what a generic function costs over all the types it is
/// used with. Sorted by bytes, largest first, then by name.
pub fn monomorphisations(functions: &[FunctionSize]) -> Vec<Monomorphisations> {
    let mut groups: BTreeMap<String, Monomorphisations> = BTreeMap::new();
    for f in functions {
        let name = without_generic_args(&f.name);
        let group = groups
            .entry(name.clone())
            .or_insert_with(|| Monomorphisations {
                krate: crate_of(&name),
                name,
                instances: 0,
                bytes: 0,
            });
        group.instances += 1;
        group.bytes += f.bytes;
    }
    let mut monos: Vec<_> = groups.into_values().filter(|g| g.instances > 1).collect();
    monos.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    monos
}

/// Drops each `<…>` that follows a name (generic arguments, with or without
/// `::`), keeping qualified paths `<A as B>` themselves, whose own generic
/// arguments are dropped in turn.
fn without_generic_args(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(open) = rest.find('<') {
        let before = &rest[..open];
        let after_name = before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':' || c == '}');
        let impl_path = rest[open + 1..].starts_with("impl ");
        if !after_name || impl_path {
            out.push_str(&rest[..=open]);
            rest = &rest[open + 1..];
            continue;
        }
        out.push_str(before.strip_suffix("::").unwrap_or(before));
        match matching_close(&rest[open..]) {
            Some(close) => rest = &rest[open + close + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
