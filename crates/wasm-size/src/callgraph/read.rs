//! Reading a module into the call graph's nodes and edges: the
//! [`Collector`] is the `size::scan` sink that takes what the graph needs
//! from each payload and body (references, data words, the table's slots)
//! and, at the end, cuts data into objects and resolves every reference
//! into an edge.

use anyhow::{anyhow, bail, Context, Result};
use wasmparser::{
    DataKind, ElementItems, ElementKind, Encoding, ExternalKind, FunctionBody, KnownCustom, Name,
    Operator, OperatorsReader, Payload, TypeRef,
};

use super::{build, Graph, Mode, TableStats, NONE};
use crate::scan;

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

    /// Element segments: the functions they list, and table 0's slots.
    fn elements(&mut self, section: &wasmparser::ElementSectionReader) -> Result<()> {
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
        Ok(())
    }

    /// The name section's data segment names.
    fn data_names(&mut self, section: &wasmparser::CustomSectionReader) -> Result<()> {
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
        let objects = Objects::cut(&memory, &segment_lens, &code_refs, &words, functions);
        bytes.extend(objects.bytes(&segment_lens));
        let table = (mode == Mode::TableRoot || !element_functions.is_empty()).then(|| {
            bytes.push(0);
            (bytes.len() - 1) as u32
        });
        if u32::try_from(bytes.len()).is_err() {
            bail!("too many nodes");
        }
        let mut edges = Edges::new(functions, &objects, &slots);
        edges.reserve(code_refs.len() + words.len());
        for &(from, r) in &code_refs {
            edges.add(from, r);
        }
        drop(code_refs);
        edges.data_words(&words, &memory, &near_slots);
        let mut stats = TableStats::default();
        if let Some(t) = table {
            stats = edges.table(t, mode, &element_functions, &bytes, &roots);
            roots.push(t);
        }
        let mut graph = build(&edges.pairs, &bytes, &roots);
        graph.functions = functions;
        graph.imports = imports;
        graph.import_names = import_names;
        graph.objects = objects.at;
        graph.segment_names = segment_names;
        graph.table = table;
        graph.bytes = bytes;
        graph.table_stats = stats;
        Ok(graph)
    }
}

/// The data objects: each active segment cut at every address code or
/// data points to, a piece from one such address to the next; then each
/// passive segment whole.
struct Objects {
    /// The node id of the first object.
    first: u32,
    /// Each object's address range; `u64::MAX` for a passive segment.
    starts: Vec<u64>,
    ends: Vec<u64>,
    /// Each object's (segment, offset in it).
    at: Vec<(u32, u32)>,
    /// Each passive segment's object, by segment index.
    passive: Vec<Option<u32>>,
}

impl Objects {
    fn cut(
        memory: &Memory,
        segment_lens: &[u64],
        code_refs: &[(u32, Ref)],
        words: &[(u64, u64)],
        first: u32,
    ) -> Self {
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
        let mut o = Objects {
            first,
            starts: Vec::new(),
            ends: Vec::new(),
            at: Vec::new(),
            passive: vec![None; segment_lens.len()],
        };
        // Anchors inside a segment, each to the next one or the end.
        for &(start, end, seg) in &memory.ranges {
            let from = anchors.partition_point(|&a| a < start);
            let to = anchors.partition_point(|&a| a < end);
            for (j, &a) in anchors[from..to].iter().enumerate() {
                let next = anchors.get(from + j + 1).copied().unwrap_or(end).min(end);
                o.starts.push(a);
                o.ends.push(next);
                o.at.push((seg, (a - start) as u32));
            }
        }
        let mut in_memory = vec![false; segment_lens.len()];
        for r in &memory.ranges {
            in_memory[r.2 as usize] = true;
        }
        for (seg, &active) in in_memory.iter().enumerate() {
            if !active {
                o.passive[seg] = Some(o.at.len() as u32);
                o.starts.push(u64::MAX);
                o.ends.push(u64::MAX);
                o.at.push((seg as u32, 0));
            }
        }
        o
    }

    fn len(&self) -> usize {
        self.at.len()
    }

    /// The node of the object holding `address`.
    fn of(&self, address: u64) -> Option<u32> {
        let i = self.starts.partition_point(|&s| s <= address);
        (i > 0 && address < self.ends[i - 1]).then(|| self.first + (i - 1) as u32)
    }

    /// Each object's own bytes, in node order.
    fn bytes<'a>(&'a self, segment_lens: &'a [u64]) -> impl Iterator<Item = u64> + 'a {
        self.starts
            .iter()
            .zip(&self.ends)
            .zip(&self.at)
            .map(|((&s, &e), &(seg, _))| match s {
                u64::MAX => segment_lens[seg as usize],
                _ => e - s,
            })
    }
}

/// The edges as (from, to) pairs while references are resolved, with what
/// the table's evidence needs: weak edges held back, slots with strong
/// evidence, objects something points to.
struct Edges<'a> {
    functions: u32,
    objects: &'a Objects,
    slots: &'a [u32],
    pairs: Vec<(u32, u32)>,
    weak: Vec<(u32, u32)>,
    strong_slot: Vec<bool>,
    referenced: Vec<bool>,
}

impl<'a> Edges<'a> {
    fn new(functions: u32, objects: &'a Objects, slots: &'a [u32]) -> Self {
        Self {
            functions,
            objects,
            slots,
            pairs: Vec::new(),
            weak: Vec::new(),
            strong_slot: vec![false; functions as usize],
            referenced: vec![false; objects.len()],
        }
    }

    fn reserve(&mut self, additional: usize) {
        self.pairs.reserve(additional);
    }

    /// The edge `from` makes by `r`, if `r` points to a node.
    fn add(&mut self, from: u32, r: Ref) {
        let first_object = self.objects.first;
        match r {
            Ref::Function(f) if f < self.functions => self.pairs.push((from, f)),
            Ref::Function(_) => {}
            Ref::Address(a) => {
                if let Some(o) = self.objects.of(a) {
                    self.referenced[(o - first_object) as usize] = true;
                    self.pairs.push((from, o));
                }
            }
            Ref::Segment(s) => {
                if let Some(Some(o)) = self.objects.passive.get(s as usize) {
                    self.referenced[*o as usize] = true;
                    self.pairs.push((from, first_object + o));
                }
            }
            Ref::Slot { slot, strong } => {
                if let Some(f) = slot_function(self.slots, u64::from(slot)) {
                    if strong {
                        self.strong_slot[f as usize] = true;
                        self.pairs.push((from, f));
                    } else {
                        self.weak.push((from, f));
                    }
                }
            }
        }
    }

    /// Data words: pointers first, so `referenced` is known for slots.
    fn data_words(&mut self, words: &[(u64, u64)], memory: &Memory, near_slots: &[(u64, u64)]) {
        let mut slot_words = Vec::new();
        for &(at, value) in words {
            let Some(from) = self.objects.of(at) else {
                continue;
            };
            if memory.contains(value) {
                self.add(from, Ref::Address(value));
            } else {
                slot_words.push((from, at, value));
            }
        }
        for (from, at, value) in slot_words {
            let o = (from - self.objects.first) as usize;
            let start = self.objects.starts[o];
            if !self.referenced[o] || vtable_header_word(near_slots, self.slots, start, at) {
                continue;
            }
            if let Some(f) = slot_function(self.slots, value) {
                self.strong_slot[f as usize] = true;
                self.pairs.push((from, f));
            }
        }
    }

    /// The table node `t`'s edges: to every element function (twiggy's
    /// view), or to those nothing reachable points to, after weak edges to
    /// slots without strong evidence.
    fn table(
        &mut self,
        t: u32,
        mode: Mode,
        element_functions: &[u32],
        bytes: &[u64],
        roots: &[u32],
    ) -> TableStats {
        let mut stats = TableStats::default();
        let mut listed = vec![false; self.functions as usize];
        for &f in element_functions {
            listed[f as usize] = true;
        }
        stats.functions = listed.iter().filter(|&&l| l).count() as u32;
        if mode == Mode::TableRoot {
            for (f, _) in listed.iter().enumerate().filter(|(_, &l)| l) {
                self.pairs.push((t, f as u32));
            }
            return stats;
        }
        // Weak edges only for slots without strong evidence.
        for &(from, f) in &self.weak {
            if !self.strong_slot[f as usize] {
                self.pairs.push((from, f));
            }
        }
        let reached = build(&self.pairs, bytes, roots).reachable();
        for (f, _) in listed.iter().enumerate().filter(|(_, &l)| l) {
            if !reached[f] {
                self.pairs.push((t, f as u32));
                stats.fallback += 1;
            } else if self.strong_slot[f] {
                stats.strong += 1;
            } else {
                stats.weak += 1;
            }
        }
        stats
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
            Payload::ElementSection(section) => self.elements(section)?,
            Payload::DataSection(section) => self.data(section)?,
            Payload::CustomSection(section) => self.data_names(section)?,
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
