//! What keeps each function and data object of a `.wasm` alive: the
//! reference graph of the module, its dominator tree (retained sizes), the
//! shortest path from a root, and what no root reaches.
//!
//! Nodes are the functions (imports included, with no bytes), the data
//! objects (below), and in one mode a synthetic `table` node. Roots are the
//! exported functions and the start function. Edges:
//! - `call`, `return_call` and `ref.func` in a body: to that function;
//! - a constant address in a body (`i32.const C`, or a load or store whose
//!   static offset is C) that falls in an active data segment: to the data
//!   object holding C;
//! - a 4-byte word of a data object whose value is such an address: to that
//!   object (a vtable pointed to from a static, a string table);
//! - the table, by [`Mode`].
//!
//! Data objects: each active data segment is cut at every address some
//! code or data points to; a piece from one such address to the next is an
//! object. The data a constant points at is the object starting there.
//!
//! ## Seeing through the table ([`Mode::SeeThrough`])
//! A function in an element segment is called through a function pointer:
//! its table slot `k` sits in a vtable in data, or in a constant in code.
//! - Strong evidence: a word of a data object equal to `k` (a vtable's
//!   methods, a static `fn` table), skipping the size and alignment words
//!   of an object shaped like a vtable (first word 0 or a slot, then a size
//!   that is a multiple of a power-of-two alignment); `i32.const k` right
//!   before `call_indirect`; `ref.func`. Data words count only in objects
//!   that code or data points to.
//! - Weak evidence: `i32.const k` in a body, unless the next instruction
//!   does arithmetic, a comparison or a branch on it (an integer, not a
//!   pointer). A small `k` is a common integer, so weak edges are used only
//!   for a slot with no strong evidence at all (a `fn` pointer such as the
//!   `main` given to `lang_start`).
//! - Fallback: an element function that nothing reachable points to is
//!   kept by the `table` node, a root: `call_indirect` could still reach
//!   it, and `-Oz` keeps it for the same reason.
//!
//! [`Mode::TableRoot`] is twiggy's view: the `table` node is a root with an
//! edge to every element function, and no constant or data word is read as
//! a slot.

use anyhow::{anyhow, bail, Context, Result};
use wasmparser::{
    DataKind, ElementItems, ElementKind, Encoding, ExternalKind, FunctionBody, KnownCustom, Name,
    Operator, OperatorsReader, Payload, TypeRef,
};

use crate::scan;

/// How functions listed in the table are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Through the vtables and constants that hold their slots.
    SeeThrough,
    /// From one `table` root, as twiggy does.
    TableRoot,
}

/// One node of the graph: what it is, for names and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// A function by its index; imports come first and have no body.
    Function(u32),
    /// A piece of data segment `segment` starting `offset` bytes into it.
    Data { segment: u32, offset: u32 },
    /// The synthetic table root.
    Table,
}

/// How many table slots each kind of evidence attributed, for docs/bloat.md's
/// "how exact" and the command's note.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Element functions (distinct) in the table.
    pub functions: u32,
    /// Reached through a vtable, `call_indirect` constant or `ref.func`.
    pub strong: u32,
    /// Reached only through a code constant.
    pub weak: u32,
    /// Kept by the `table` root because nothing reachable points to them.
    pub fallback: u32,
}

/// The reference graph of one module. Node ids are `u32`: functions first
/// (by function index), then data objects, then the table node if any.
/// Edges are one flat list (compressed rows), so 25,000 functions with a
/// million edges cost a few megabytes.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Functions in the index space, imports included.
    pub functions: u32,
    /// Of which imported (the first ones).
    pub imports: u32,
    /// `module.field` of each import.
    pub import_names: Vec<String>,
    /// Each data object: (segment, offset in it).
    pub objects: Vec<(u32, u32)>,
    /// The name section's data segment names, by segment index.
    pub segment_names: Vec<Option<String>>,
    /// The `table` node's id, if the graph has one.
    pub table: Option<u32>,
    /// Own bytes of each node: a body (without its size prefix), a data
    /// object's contents; 0 for imports and the table.
    pub bytes: Vec<u64>,
    /// Root node ids: exports and start, and the table node if any.
    pub roots: Vec<u32>,
    pub table_stats: TableStats,
    /// `edges[starts[n]..starts[n + 1]]` are node `n`'s successors.
    starts: Vec<u32>,
    edges: Vec<u32>,
}

impl Graph {
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn node(&self, id: u32) -> Node {
        if id < self.functions {
            Node::Function(id)
        } else if Some(id) == self.table {
            Node::Table
        } else {
            let (segment, offset) = self.objects[(id - self.functions) as usize];
            Node::Data { segment, offset }
        }
    }

    /// The node id of function `index`.
    pub fn function_node(&self, index: u32) -> Option<u32> {
        (index < self.functions).then_some(index)
    }

    pub fn successors(&self, id: u32) -> &[u32] {
        let (a, b) = (
            self.starts[id as usize] as usize,
            self.starts[id as usize + 1] as usize,
        );
        &self.edges[a..b]
    }

    /// A data node's name: the segment's name (or `data[i]`), `+offset`
    /// when it does not start the segment.
    pub fn data_name(&self, segment: u32, offset: u32) -> String {
        let base = self
            .segment_names
            .get(segment as usize)
            .and_then(|n| n.clone())
            .unwrap_or_else(|| format!("data[{segment}]"));
        match offset {
            0 => base,
            o => format!("{base}+{o:#x}"),
        }
    }
}

/// A reference found in a body or a data word, before data objects exist.
#[derive(Debug, Clone, Copy)]
enum Ref {
    Function(u32),
    /// An address in linear memory.
    Address(u64),
    /// A table slot: strong or weak evidence.
    Slot {
        slot: u32,
        strong: bool,
    },
    /// A passive data segment (`memory.init`).
    Segment(u32),
}

/// Reads `wasm` into its reference graph. Any input gives `Ok` or an
/// `Err` saying why it is not a readable module; it never panics.
pub fn graph(wasm: &[u8], mode: Mode) -> Result<Graph> {
    let mut collector = Collector::new(mode);
    scan::read(std::io::Cursor::new(wasm), &mut collector)?;
    collector.finish()
}

/// What the graph takes from a module in `size::scan`'s pass: no section
/// kept, only the references each body and data word makes and the few
/// data words the vtable test reads.
#[derive(Debug)]
pub struct Collector {
    mode: Mode,
    imports: u32,
    import_names: Vec<String>,
    defined: u32,
    roots: Vec<u32>,
    /// Table 0: slot → function, or NONE.
    slots: Vec<u32>,
    element_functions: Vec<u32>,
    /// Each data segment's length.
    segment_lens: Vec<u64>,
    segment_names: Vec<Option<String>>,
    memory: Memory,
    memory64: bool,
    /// Words of active data that point into data, or (seeing through the
    /// table) hold a slot: (word address, value).
    words: Vec<(u64, u64)>,
    /// Seeing through the table: the words around each slot word, which
    /// tell a vtable's header from its methods; sorted by address.
    near_slots: Vec<(u64, u64)>,
    /// Own bytes of each function, by index.
    bytes: Vec<u64>,
    bodies: u32,
    /// Every reference a body makes, as (from function, what).
    code_refs: Vec<(u32, Ref)>,
}

impl Collector {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            imports: 0,
            import_names: Vec::new(),
            defined: 0,
            roots: Vec::new(),
            slots: Vec::new(),
            element_functions: Vec::new(),
            segment_lens: Vec::new(),
            segment_names: Vec::new(),
            memory: Memory::new(&[]),
            memory64: false,
            words: Vec::new(),
            near_slots: Vec::new(),
            bytes: Vec::new(),
            bodies: 0,
            code_refs: Vec::new(),
        }
    }

    fn see_through(&self) -> bool {
        self.mode == Mode::SeeThrough
    }

    /// Data segments: their extents, the memory they make, and the words
    /// the graph reads, taken while the section is at hand.
    fn data(&mut self, section: &wasmparser::DataSectionReader) -> Result<()> {
        let mut extents: Vec<(Option<u64>, u64)> = Vec::new();
        for segment in section.clone() {
            let segment = segment?;
            let address = match segment.kind {
                DataKind::Active {
                    memory_index: 0,
                    offset_expr,
                } => const_value(&offset_expr),
                _ => None,
            };
            extents.push((address, segment.data.len() as u64));
        }
        self.memory = Memory::new(&extents);
        self.segment_lens = extents.iter().map(|e| e.1).collect();
        let mut contents: Vec<&[u8]> = Vec::with_capacity(extents.len());
        for segment in section.clone() {
            contents.push(segment?.data);
        }
        let functions = self.imports.saturating_add(self.defined);
        for s in self.slots.iter_mut() {
            if *s >= functions {
                *s = NONE;
            }
        }
        let see_through = self.see_through();
        let mut slot_words = Vec::new();
        for &(start, end, seg) in &self.memory.ranges {
            let data = contents[seg as usize];
            let first = (4 - start % 4) % 4;
            let mut at = first;
            while at + 4 <= end - start {
                let i = at as usize;
                let value = u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
                let value = u64::from(value);
                if self.memory.contains(value) {
                    self.words.push((start + at, value));
                } else if see_through && slot_function(&self.slots, value).is_some() {
                    self.words.push((start + at, value));
                    slot_words.push(start + at);
                }
                at += 4;
            }
        }
        // A slot word is a vtable's size or alignment only when it is its
        // second or third word: the three words before and after decide.
        for at in slot_words {
            for a in [
                at.wrapping_sub(8),
                at.wrapping_sub(4),
                at,
                at.wrapping_add(4),
            ] {
                if let Some(value) = self.memory.word(&contents, a) {
                    self.near_slots.push((a, value));
                }
            }
        }
        self.near_slots.sort_unstable();
        self.near_slots.dedup();
        Ok(())
    }

    pub fn finish(self) -> Result<Graph> {
        let Collector {
            mode,
            imports,
            import_names,
            defined,
            mut roots,
            mut slots,
            mut element_functions,
            segment_lens,
            segment_names,
            memory,
            words,
            near_slots,
            mut bytes,
            bodies,
            code_refs,
            ..
        } = self;
        let functions = imports.checked_add(defined).ok_or_else(too_many)?;
        if bodies != defined {
            bail!("{bodies} function bodies for {defined} declared functions");
        }
        roots.retain(|&r| r < functions);
        element_functions.retain(|&f| f < functions);
        for s in slots.iter_mut() {
            if *s >= functions {
                *s = NONE;
            }
        }
        bytes.resize(functions as usize, 0);

        // Data objects: each active segment cut at every address pointed to.
        let mut anchors: Vec<u64> = memory.ranges.iter().map(|r| r.0).collect();
        anchors.extend(code_refs.iter().filter_map(|(_, r)| match r {
            Ref::Address(a) => Some(*a),
            _ => None,
        }));
        anchors.extend(
            words
                .iter()
                .filter(|(_, value)| memory.contains(*value))
                .map(|(_, value)| *value),
        );
        anchors.sort_unstable();
        anchors.dedup();
        // Objects: anchors inside a segment, each to the next one or the end.
        let mut object_starts: Vec<u64> = Vec::new();
        let mut objects: Vec<(u32, u32)> = Vec::new();
        let mut object_ends: Vec<u64> = Vec::new();
        for &(start, end, seg) in &memory.ranges {
            let from = anchors.partition_point(|&a| a < start);
            let to = anchors.partition_point(|&a| a < end);
            for (j, &a) in anchors[from..to].iter().enumerate() {
                let next = anchors.get(from + j + 1).copied().unwrap_or(end).min(end);
                object_starts.push(a);
                object_ends.push(next);
                objects.push((seg, (a - start) as u32));
            }
        }
        let first_object = functions;
        let mut passive: Vec<Option<u32>> = vec![None; segment_lens.len()];
        let mut in_memory = vec![false; segment_lens.len()];
        for r in &memory.ranges {
            in_memory[r.2 as usize] = true;
        }
        for seg in 0..segment_lens.len() {
            if !in_memory[seg] {
                passive[seg] = Some(objects.len() as u32);
                object_starts.push(u64::MAX);
                object_ends.push(u64::MAX);
                objects.push((seg as u32, 0));
            }
        }
        let object_of = |address: u64| -> Option<u32> {
            let i = object_starts.partition_point(|&s| s <= address);
            (i > 0 && address < object_ends[i - 1]).then(|| first_object + (i - 1) as u32)
        };
        for (i, (&s, &e)) in object_starts.iter().zip(&object_ends).enumerate() {
            let len = if s == u64::MAX {
                segment_lens[objects[i].0 as usize]
            } else {
                e - s
            };
            bytes.push(len);
        }
        let table = (mode == Mode::TableRoot || !element_functions.is_empty()).then(|| {
            bytes.push(0);
            (bytes.len() - 1) as u32
        });
        if u32::try_from(bytes.len()).is_err() {
            bail!("too many nodes");
        }

        // Edges, as (from, to) pairs, then in compressed rows.
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(code_refs.len() + words.len());
        let mut weak: Vec<(u32, u32)> = Vec::new();
        let mut strong_slot = vec![false; functions as usize];
        let mut referenced = vec![false; objects.len()];
        let mut push_ref = |from: u32, r: Ref, pairs: &mut Vec<(u32, u32)>| match r {
            Ref::Function(f) if f < functions => pairs.push((from, f)),
            Ref::Function(_) => {}
            Ref::Address(a) => {
                if let Some(o) = object_of(a) {
                    referenced[(o - first_object) as usize] = true;
                    pairs.push((from, o));
                }
            }
            Ref::Segment(s) => {
                if let Some(Some(o)) = passive.get(s as usize) {
                    referenced[*o as usize] = true;
                    pairs.push((from, first_object + o));
                }
            }
            Ref::Slot { slot, strong } => {
                if let Some(f) = slot_function(&slots, u64::from(slot)) {
                    if strong {
                        strong_slot[f as usize] = true;
                        pairs.push((from, f));
                    } else {
                        weak.push((from, f));
                    }
                }
            }
        };
        for &(from, r) in &code_refs {
            push_ref(from, r, &mut pairs);
        }
        drop(code_refs);
        // Data words: pointers first, so `referenced` is known for slots.
        let mut slot_words = Vec::new();
        for &(at, value) in &words {
            let Some(from) = object_of(at) else { continue };
            if memory.contains(value) {
                push_ref(from, Ref::Address(value), &mut pairs);
            } else {
                slot_words.push((from, at, value));
            }
        }
        for (from, at, value) in slot_words {
            let o = (from - first_object) as usize;
            if !referenced[o] || vtable_header_word(&near_slots, &slots, object_starts[o], at) {
                continue;
            }
            if let Some(f) = slot_function(&slots, value) {
                strong_slot[f as usize] = true;
                pairs.push((from, f));
            }
        }
        let mut stats = TableStats::default();
        if let Some(t) = table {
            let mut listed = vec![false; functions as usize];
            for &f in &element_functions {
                listed[f as usize] = true;
            }
            stats.functions = listed.iter().filter(|&&l| l).count() as u32;
            if mode == Mode::TableRoot {
                for (f, _) in listed.iter().enumerate().filter(|(_, &l)| l) {
                    pairs.push((t, f as u32));
                }
            } else {
                // Weak edges only for slots without strong evidence.
                for &(from, f) in &weak {
                    if !strong_slot[f as usize] {
                        pairs.push((from, f));
                    }
                }
                let reached = build(&pairs, &bytes, &roots).reachable();
                for (f, _) in listed.iter().enumerate().filter(|(_, &l)| l) {
                    if !reached[f] {
                        pairs.push((t, f as u32));
                        stats.fallback += 1;
                    } else if strong_slot[f] {
                        stats.strong += 1;
                    } else {
                        stats.weak += 1;
                    }
                }
            }
            roots.push(t);
        }
        let mut graph = build(&pairs, &bytes, &roots);
        graph.functions = functions;
        graph.imports = imports;
        graph.import_names = import_names;
        graph.objects = objects;
        graph.segment_names = segment_names;
        graph.table = table;
        graph.bytes = bytes;
        graph.table_stats = stats;
        Ok(graph)
    }
}

impl scan::Sink for Collector {
    fn payload(&mut self, payload: &Payload) -> Result<()> {
        match payload {
            Payload::Version { encoding, .. } if *encoding != Encoding::Module => {
                bail!("it is a component; analyse the core modules inside it")
            }
            Payload::ImportSection(section) => {
                for import in section.clone() {
                    let import = import?;
                    if matches!(import.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        self.imports = self.imports.checked_add(1).ok_or_else(too_many)?;
                        self.import_names
                            .push(format!("{}.{}", import.module, import.name));
                    }
                }
            }
            Payload::FunctionSection(section) => {
                self.defined = self
                    .defined
                    .checked_add(section.count())
                    .ok_or_else(too_many)?;
            }
            Payload::MemorySection(section) => {
                if let Some(memory) = section.clone().into_iter().next() {
                    self.memory64 = memory?.memory64;
                }
            }
            Payload::ExportSection(section) => {
                for export in section.clone() {
                    let export = export?;
                    if export.kind == ExternalKind::Func {
                        self.roots.push(export.index);
                    }
                }
            }
            Payload::StartSection { func, .. } => self.roots.push(*func),
            Payload::ElementSection(section) => {
                for element in section.clone() {
                    let element = element?;
                    let functions = element_items(&element.items)?;
                    self.element_functions
                        .extend(functions.iter().filter(|&&f| f != NONE));
                    if let ElementKind::Active {
                        table_index: None | Some(0),
                        offset_expr,
                    } = element.kind
                    {
                        let Some(offset) = const_value(&offset_expr) else {
                            continue; // a global's value: unknown here
                        };
                        let offset = usize::try_from(offset).map_err(|_| bad("element offset"))?;
                        let end = offset
                            .checked_add(functions.len())
                            .filter(|&e| e <= MAX_SLOTS)
                            .ok_or_else(|| bad("element segment beyond any table"))?;
                        if self.slots.len() < end {
                            self.slots.resize(end, NONE);
                        }
                        self.slots[offset..end].copy_from_slice(&functions);
                    }
                }
            }
            Payload::DataSection(section) => self.data(section)?,
            Payload::CustomSection(section) => {
                if let KnownCustom::Name(names) = section.as_known() {
                    for subsection in names {
                        if let Name::Data(map) = subsection.context("in the name section")? {
                            for naming in map {
                                let naming = naming.context("in the name section")?;
                                let i = naming.index as usize;
                                if i < MAX_SLOTS {
                                    if self.segment_names.len() <= i {
                                        self.segment_names.resize(i + 1, None);
                                    }
                                    self.segment_names[i] = Some(naming.name.to_owned());
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A body's references. The data section is known by now: the scan
    /// reads bodies last.
    fn body(&mut self, body: &FunctionBody) -> Result<()> {
        if self.bodies >= self.defined {
            bail!(
                "more function bodies than the {} declared functions",
                self.defined
            );
        }
        let functions = self
            .imports
            .checked_add(self.defined)
            .ok_or_else(too_many)?;
        if self.bodies == 0 {
            for s in self.slots.iter_mut() {
                if *s >= functions {
                    *s = NONE;
                }
            }
            self.bytes = vec![0; functions as usize];
        }
        let from = self.imports + self.bodies;
        self.bodies += 1;
        self.bytes[from as usize] = body.range().len() as u64;
        scan_body(
            body.get_operators_reader()?,
            from,
            &self.memory,
            &self.slots,
            self.memory64,
            self.mode == Mode::SeeThrough,
            &mut self.code_refs,
        )
    }
}

/// A graph with these edges; names and objects are filled in by the caller.
fn build(pairs: &[(u32, u32)], bytes: &[u64], roots: &[u32]) -> Graph {
    let n = bytes.len();
    let mut starts = vec![0u32; n + 1];
    for &(from, _) in pairs {
        starts[from as usize + 1] += 1;
    }
    for i in 0..n {
        starts[i + 1] += starts[i];
    }
    let mut fill = starts.clone();
    let mut edges = vec![0u32; pairs.len()];
    for &(from, to) in pairs {
        edges[fill[from as usize] as usize] = to;
        fill[from as usize] += 1;
    }
    let mut roots = roots.to_vec();
    roots.sort_unstable();
    roots.dedup();
    Graph {
        functions: 0,
        imports: 0,
        import_names: Vec::new(),
        objects: Vec::new(),
        segment_names: Vec::new(),
        table: None,
        bytes: bytes.to_vec(),
        roots,
        table_stats: TableStats::default(),
        starts,
        edges,
    }
}

const NONE: u32 = u32::MAX;
/// More slots or names than this is a broken file, not a big one.
const MAX_SLOTS: usize = 1 << 24;

fn too_many() -> anyhow::Error {
    anyhow!("too many functions")
}

fn bad(what: &str) -> anyhow::Error {
    anyhow!("{what} out of range")
}

/// The function in table slot `value`, if it is a filled slot.
fn slot_function(slots: &[u32], value: u64) -> Option<u32> {
    let f = *slots.get(usize::try_from(value).ok()?)?;
    (f != NONE).then_some(f)
}

/// The functions an element segment lists, `NONE` for a null entry.
fn element_items(items: &ElementItems) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    match items {
        ElementItems::Functions(list) => {
            for f in list.clone() {
                out.push(f?);
            }
        }
        ElementItems::Expressions(_, list) => {
            for expr in list.clone() {
                let mut reader = expr?.get_operators_reader();
                let f = match reader.read()? {
                    Operator::RefFunc { function_index } => function_index,
                    _ => NONE,
                };
                out.push(f);
            }
        }
    }
    if out.len() > MAX_SLOTS {
        bail!("element segment too long");
    }
    Ok(out)
}

/// The value of a constant offset expression (`i32.const`/`i64.const`);
/// `None` for anything else (a global's value is not known here).
fn const_value(expr: &wasmparser::ConstExpr) -> Option<u64> {
    let mut reader = expr.get_operators_reader();
    match reader.read().ok()? {
        Operator::I32Const { value } => Some(u64::from(value as u32)),
        Operator::I64Const { value } => Some(value as u64),
        _ => None,
    }
}

/// The active segments of memory 0, by address, to tell whether a value
/// points into data.
#[derive(Debug)]
struct Memory {
    /// (start, end, segment index), sorted by start, empty ones left out.
    ranges: Vec<(u64, u64, u32)>,
    low: u64,
    high: u64,
}

impl Memory {
    /// From each segment's address (`None` for passive ones) and length.
    fn new(segments: &[(Option<u64>, u64)]) -> Self {
        let mut ranges: Vec<(u64, u64, u32)> = segments
            .iter()
            .enumerate()
            .filter_map(|(i, &(address, len))| {
                let start = address?;
                let end = start.checked_add(len)?;
                (end > start).then_some((start, end, i as u32))
            })
            .collect();
        ranges.sort_unstable();
        // Overlapping segments (legal, never emitted by a linker): keep the
        // first of each overlap, so objects never overlap either.
        let mut kept: Vec<(u64, u64, u32)> = Vec::with_capacity(ranges.len());
        for r in ranges {
            if kept.last().is_none_or(|k| r.0 >= k.1) {
                kept.push(r);
            }
        }
        let low = kept.first().map_or(u64::MAX, |r| r.0);
        let high = kept.last().map_or(0, |r| r.1);
        Self {
            ranges: kept,
            low,
            high,
        }
    }

    fn contains(&self, address: u64) -> bool {
        if address < self.low || address >= self.high {
            return false;
        }
        let i = self.ranges.partition_point(|r| r.0 <= address);
        i > 0 && address < self.ranges[i - 1].1
    }

    /// The word at `address`, `contents` being each segment's bytes.
    fn word(&self, contents: &[&[u8]], address: u64) -> Option<u64> {
        let i = self.ranges.partition_point(|r| r.0 <= address);
        let &(start, end, seg) = self.ranges.get(i.checked_sub(1)?)?;
        if address.checked_add(4)? > end {
            return None;
        }
        let at = (address - start) as usize;
        let b = contents.get(seg as usize)?.get(at..at + 4)?;
        Some(u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    }
}

/// Whether the word at `at` is the size or alignment of a vtable starting
/// at `start`: `[drop slot or 0, size, align, methods…]`, with `align` a
/// power of two and `size` a multiple of it.
fn vtable_header_word(near_slots: &[(u64, u64)], slots: &[u32], start: u64, at: u64) -> bool {
    if Some(at) != start.checked_add(4) && Some(at) != start.checked_add(8) {
        return false;
    }
    let word = |a: Option<u64>| {
        let a = a?;
        near_slots
            .binary_search_by_key(&a, |w| w.0)
            .ok()
            .map(|i| near_slots[i].1)
    };
    let (Some(drop), Some(size), Some(align)) = (
        word(Some(start)),
        word(start.checked_add(4)),
        word(start.checked_add(8)),
    ) else {
        return false;
    };
    (drop == 0 || slot_function(slots, drop).is_some())
        && align.is_power_of_two()
        && size % align == 0
}

/// The references one body makes, appended to `out`.
fn scan_body(
    mut reader: OperatorsReader,
    from: u32,
    memory: &Memory,
    slots: &[u32],
    memory64: bool,
    see_through: bool,
    out: &mut Vec<(u32, Ref)>,
) -> Result<()> {
    // A constant that may be a slot, judged by the instruction after it.
    let mut pending: Option<u32> = None;
    while !reader.eof() {
        let op = reader.read()?;
        if let Some(slot) = pending.take() {
            if let Some(strong) = slot_evidence(&op) {
                out.push((from, Ref::Slot { slot, strong }));
            }
        }
        match op {
            Operator::Call { function_index }
            | Operator::ReturnCall { function_index }
            | Operator::RefFunc { function_index } => {
                out.push((from, Ref::Function(function_index)))
            }
            Operator::I32Const { value } => {
                let value = u64::from(value as u32);
                if memory.contains(value) {
                    out.push((from, Ref::Address(value)));
                } else if see_through && slot_function(slots, value).is_some() {
                    pending = Some(value as u32);
                }
            }
            Operator::I64Const { value } if memory64 => {
                if memory.contains(value as u64) {
                    out.push((from, Ref::Address(value as u64)));
                }
            }
            Operator::MemoryInit { data_index, .. } | Operator::DataDrop { data_index } => {
                out.push((from, Ref::Segment(data_index)))
            }
            _ => {
                if let Some(offset) = memarg_offset(&op) {
                    if offset != 0 && memory.contains(offset) {
                        out.push((from, Ref::Address(offset)));
                    }
                }
            }
        }
    }
    Ok(())
}

/// For a constant equal to a table slot, what the next instruction says:
/// `Some(true)` it is called right away, `Some(false)` it may be a function
/// pointer (stored, passed, kept), `None` it is used as an integer.
fn slot_evidence(next: &Operator) -> Option<bool> {
    use Operator::*;
    match next {
        CallIndirect { .. } | ReturnCallIndirect { .. } => Some(true),
        Call { .. }
        | ReturnCall { .. }
        | I32Store { .. }
        | I64Store { .. }
        | LocalSet { .. }
        | LocalTee { .. }
        | GlobalSet { .. }
        | LocalGet { .. }
        | GlobalGet { .. }
        | I32Const { .. }
        | Return
        | End
        | Br { .. } => Some(false),
        _ => None,
    }
}

/// The static offset of a load or store.
fn memarg_offset(op: &Operator) -> Option<u64> {
    use Operator::*;
    match op {
        I32Load { memarg }
        | I64Load { memarg }
        | F32Load { memarg }
        | F64Load { memarg }
        | I32Load8S { memarg }
        | I32Load8U { memarg }
        | I32Load16S { memarg }
        | I32Load16U { memarg }
        | I64Load8S { memarg }
        | I64Load8U { memarg }
        | I64Load16S { memarg }
        | I64Load16U { memarg }
        | I64Load32S { memarg }
        | I64Load32U { memarg }
        | I32Store { memarg }
        | I64Store { memarg }
        | F32Store { memarg }
        | F64Store { memarg }
        | I32Store8 { memarg }
        | I32Store16 { memarg }
        | I64Store8 { memarg }
        | I64Store16 { memarg }
        | I64Store32 { memarg } => Some(memarg.offset),
        _ => None,
    }
}

/// The dominator tree: `idom[n]` is the node every path from a root to `n`
/// passes through last, [`SUPER_ROOT`] for roots and nodes reached from
/// several roots, [`UNREACHED`] for nodes no root reaches.
#[derive(Debug, Clone)]
pub struct Dominators {
    /// The tree itself; the commands show retained sizes and the tests
    /// check the tree.
    #[cfg_attr(not(test), allow(dead_code))]
    pub idom: Vec<u32>,
    /// Own bytes plus those of every node it dominates; 0 when unreached.
    pub retained: Vec<u64>,
    /// Bytes of everything reachable.
    #[cfg_attr(not(test), allow(dead_code))]
    pub reachable_bytes: u64,
}

/// The virtual node above all roots.
pub const SUPER_ROOT: u32 = u32::MAX - 1;
pub const UNREACHED: u32 = u32::MAX;

impl Graph {
    /// Which nodes some root reaches.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<u32> = Vec::new();
        for &r in &self.roots {
            if !seen[r as usize] {
                seen[r as usize] = true;
                stack.push(r);
            }
        }
        while let Some(n) = stack.pop() {
            for &s in self.successors(n) {
                if !seen[s as usize] {
                    seen[s as usize] = true;
                    stack.push(s);
                }
            }
        }
        seen
    }

    /// Nodes in reverse postorder from the super root (roots in order).
    fn reverse_postorder(&self) -> Vec<u32> {
        let n = self.len();
        let mut seen = vec![false; n];
        let mut order: Vec<u32> = Vec::with_capacity(n);
        // (node, next successor position)
        let mut stack: Vec<(u32, u32)> = Vec::new();
        for &r in &self.roots {
            if seen[r as usize] {
                continue;
            }
            seen[r as usize] = true;
            stack.push((r, self.starts[r as usize]));
            while let Some(top) = stack.last_mut() {
                let (node, pos) = *top;
                if pos < self.starts[node as usize + 1] {
                    top.1 += 1;
                    let s = self.edges[pos as usize];
                    if !seen[s as usize] {
                        seen[s as usize] = true;
                        stack.push((s, self.starts[s as usize]));
                    }
                } else {
                    order.push(node);
                    stack.pop();
                }
            }
        }
        order.reverse();
        order
    }

    /// The dominator tree, by Cooper, Harvey and Kennedy's iterative
    /// algorithm over reverse postorder ("A Simple, Fast Dominance
    /// Algorithm", 2001): near-linear on call graphs, flat arrays only.
    pub fn dominators(&self) -> Dominators {
        let n = self.len();
        let order = self.reverse_postorder();
        // Position in reverse postorder, the super root being -1 → 0 here
        // and every node one further.
        let mut rank = vec![u32::MAX; n];
        for (i, &v) in order.iter().enumerate() {
            rank[v as usize] = i as u32 + 1;
        }
        // Predecessors, in compressed rows, reachable ones only.
        let mut pstarts = vec![0u32; n + 1];
        for &v in &order {
            for &s in self.successors(v) {
                pstarts[s as usize + 1] += 1;
            }
        }
        for i in 0..n {
            pstarts[i + 1] += pstarts[i];
        }
        let mut fill = pstarts.clone();
        let mut preds = vec![0u32; pstarts[n] as usize];
        for &v in &order {
            for &s in self.successors(v) {
                preds[fill[s as usize] as usize] = v;
                fill[s as usize] += 1;
            }
        }
        drop(fill);
        let mut is_root = vec![false; n];
        for &r in &self.roots {
            is_root[r as usize] = true;
        }
        // idom by rank: 0 is the super root.
        let mut idom = vec![u32::MAX; order.len() + 1];
        idom[0] = 0;
        let intersect = |idom: &[u32], mut a: u32, mut b: u32| {
            while a != b {
                while a > b {
                    a = idom[a as usize];
                }
                while b > a {
                    b = idom[b as usize];
                }
            }
            a
        };
        let mut changed = true;
        while changed {
            changed = false;
            for (i, &v) in order.iter().enumerate() {
                let me = i + 1;
                let mut new: u32 = if is_root[v as usize] { 0 } else { u32::MAX };
                let (a, b) = (
                    pstarts[v as usize] as usize,
                    pstarts[v as usize + 1] as usize,
                );
                for &p in &preds[a..b] {
                    let p = rank[p as usize];
                    if idom[p as usize] == u32::MAX {
                        continue;
                    }
                    new = if new == u32::MAX {
                        p
                    } else {
                        intersect(&idom, p, new)
                    };
                }
                if new != u32::MAX && idom[me] != new {
                    idom[me] = new;
                    changed = true;
                }
            }
        }
        let mut out = vec![UNREACHED; n];
        let mut retained = vec![0u64; n];
        let mut reachable_bytes = 0;
        for &v in &order {
            retained[v as usize] = self.bytes[v as usize];
            reachable_bytes += self.bytes[v as usize];
        }
        for (i, &v) in order.iter().enumerate().rev() {
            let d = idom[i + 1];
            if d == 0 {
                out[v as usize] = SUPER_ROOT;
            } else {
                let parent = order[d as usize - 1];
                out[v as usize] = parent;
                retained[parent as usize] += retained[v as usize];
            }
        }
        Dominators {
            idom: out,
            retained,
            reachable_bytes,
        }
    }

    /// A breadth-first tree from the roots: `parent[n]` is the node before
    /// `n` on a shortest path, [`SUPER_ROOT`] for roots, [`UNREACHED`].
    pub fn shortest_paths(&self) -> Vec<u32> {
        let mut parent = vec![UNREACHED; self.len()];
        let mut queue: std::collections::VecDeque<u32> = std::collections::VecDeque::new();
        for &r in &self.roots {
            if parent[r as usize] == UNREACHED {
                parent[r as usize] = SUPER_ROOT;
                queue.push_back(r);
            }
        }
        while let Some(n) = queue.pop_front() {
            for &s in self.successors(n) {
                if parent[s as usize] == UNREACHED {
                    parent[s as usize] = n;
                    queue.push_back(s);
                }
            }
        }
        parent
    }

    /// For each group (e.g. a crate), the bytes the module would lose
    /// without that group's nodes: those that are reachable, and those
    /// no root reaches any more once they are gone. `group[n]` is node
    /// `n`'s group, `NONE` for none.
    ///
    /// Only nodes reachable from a group's own nodes can be lost, so each
    /// group costs a search over what it reaches, not over the module.
    pub fn group_retained(&self, group: &[u32], groups: usize) -> Vec<u64> {
        let n = self.len();
        let reachable = self.reachable();
        // Predecessors of every node.
        let mut pstarts = vec![0u32; n + 1];
        for v in 0..n {
            for &s in self.successors(v as u32) {
                pstarts[s as usize + 1] += 1;
            }
        }
        for i in 0..n {
            pstarts[i + 1] += pstarts[i];
        }
        let mut fill = pstarts.clone();
        let mut preds = vec![0u32; pstarts[n] as usize];
        for v in 0..n {
            for &s in self.successors(v as u32) {
                preds[fill[s as usize] as usize] = v as u32;
                fill[s as usize] += 1;
            }
        }
        drop(fill);
        let mut is_root = vec![false; n];
        for &r in &self.roots {
            is_root[r as usize] = true;
        }
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); groups];
        for (v, &g) in group.iter().enumerate().take(n) {
            if (g as usize) < groups && reachable[v] {
                members[g as usize].push(v as u32);
            }
        }
        // Stamps instead of clearing: `mark[v] == 3g+1` in the group's
        // reach, `3g+2` reached again without the group, `3g+3` a member.
        let mut mark = vec![0u64; n];
        let mut out = vec![0u64; groups];
        let mut reach: Vec<u32> = Vec::new();
        let mut stack: Vec<u32> = Vec::new();
        for (g, nodes) in members.iter().enumerate() {
            if nodes.is_empty() {
                continue;
            }
            let base = 3 * g as u64;
            let (inside, saved, member) = (base + 1, base + 2, base + 3);
            for &v in nodes {
                mark[v as usize] = member;
            }
            reach.clear();
            stack.extend_from_slice(nodes);
            while let Some(v) = stack.pop() {
                for &s in self.successors(v) {
                    if mark[s as usize] < inside {
                        mark[s as usize] = inside;
                        reach.push(s);
                        stack.push(s);
                    }
                }
            }
            // Reached without the group: a root, or an outside predecessor.
            for &v in &reach {
                let (a, b) = (
                    pstarts[v as usize] as usize,
                    pstarts[v as usize + 1] as usize,
                );
                let outside = is_root[v as usize]
                    || preds[a..b]
                        .iter()
                        .any(|&p| reachable[p as usize] && mark[p as usize] < inside);
                if outside && mark[v as usize] == inside {
                    mark[v as usize] = saved;
                    stack.push(v);
                    while let Some(u) = stack.pop() {
                        for &s in self.successors(u) {
                            if mark[s as usize] == inside {
                                mark[s as usize] = saved;
                                stack.push(s);
                            }
                        }
                    }
                }
            }
            let mut lost: u64 = nodes.iter().map(|&v| self.bytes[v as usize]).sum();
            lost += reach
                .iter()
                .filter(|&&v| mark[v as usize] == inside)
                .map(|&v| self.bytes[v as usize])
                .sum::<u64>();
            out[g] = lost;
        }
        out
    }
}

/// The path `parents` (from [`Graph::shortest_paths`]) gives to `node`,
/// root first; empty when no root reaches it.
pub fn path_to(parents: &[u32], node: u32) -> Vec<u32> {
    let mut path = Vec::new();
    let mut at = node;
    while let Some(&p) = parents.get(at as usize) {
        if p == UNREACHED {
            return Vec::new();
        }
        path.push(at);
        if p == SUPER_ROOT || path.len() > parents.len() {
            break;
        }
        at = p;
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests;
