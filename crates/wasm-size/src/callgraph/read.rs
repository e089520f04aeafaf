//! Reading a module into the call graph's nodes and edges: the
//! [`Collector`] is the `size::scan` sink that takes what the graph needs
//! from each payload and body (references, data words, the table's slots)
//! and, at the end, cuts data into objects and resolves every reference
//! into an edge.

use anyhow::{anyhow, bail, Context, Result};
use wasmparser::{
    DataKind, ElementItems, ElementKind, Encoding, ExternalKind, FunctionBody, KnownCustom, MemArg,
    Name, Operator, OperatorsReader, Payload, TypeRef, VisitOperator, VisitSimdOperator,
};

use super::resolve::{table_row, Objects, Resolver};
use super::{Graph, Mode, TableStats, NONE};
use crate::scan;

/// A reference found in a body, before data objects exist. Eight bytes: a
/// 33 MB module makes hundreds of thousands of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Ref {
    Function(u32),
    /// An address in linear memory, as its offset from the first data
    /// byte ([`Memory::offset`]).
    Address(u32),
    /// A table slot: strong or weak evidence.
    Slot {
        slot: u32,
        strong: bool,
    },
    /// A passive data segment (`memory.init`).
    Segment(u32),
}

impl Ref {
    /// The data offset an address points at.
    pub fn address(self) -> Option<u32> {
        match self {
            Ref::Address(a) => Some(a),
            _ => None,
        }
    }
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
    /// table) hold a slot: (word's data offset, value), by address.
    words: Vec<(u32, u32)>,
    /// Seeing through the table: the data offsets 4 or 8 bytes before a
    /// slot word where three words shaped like a vtable's header start
    /// (drop, size, alignment), in order.
    vtable_starts: Vec<u32>,
    /// Own bytes of each function, by index.
    bytes: Vec<u64>,
    bodies: u32,
    /// Every reference each body makes, once each:
    /// `refs[ref_starts[d]..ref_starts[d + 1]]` for defined function `d`.
    refs: Vec<Ref>,
    ref_starts: Vec<u32>,
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
            vtable_starts: Vec::new(),
            bytes: Vec::new(),
            bodies: 0,
            refs: Vec::new(),
            ref_starts: vec![0],
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
        if self.memory.high.saturating_sub(self.memory.low) > u64::from(u32::MAX) {
            bail!("the data segments spread over more than 4 GiB of memory");
        }
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
        let low = self.memory.low;
        // A slot word is a vtable's size or alignment only when it is its
        // second or third word, which the object's start decides, known
        // only once code is read. Whether a start is shaped like a vtable
        // depends on that start alone: each one that may matter (4 or 8
        // bytes before a slot word) is tested as the slot word is met,
        // and the shaped ones kept. Slot words come in address order, so
        // the list is sorted as it is made (small integers that look like
        // slots are everywhere in a large module's data).
        let mut last: Option<u32> = None;
        for &range in &self.memory.ranges {
            let (start, end, seg) = range;
            let data = contents[seg as usize];
            let first = (4 - start % 4) % 4;
            let mut at = first;
            while at + 4 <= end - start {
                let i = at as usize;
                let value = le_u32(&data[i..i + 4]);
                // Within the 4 GiB checked above.
                let offset = (start + at - low) as u32;
                if self.memory.contains(u64::from(value)) {
                    self.words.push((offset, value));
                } else if see_through && slot_function(&self.slots, u64::from(value)).is_some() {
                    self.words.push((offset, value));
                    for s in [offset.checked_sub(8), offset.checked_sub(4)]
                        .into_iter()
                        .flatten()
                    {
                        if last.is_some_and(|l| s <= l) {
                            continue;
                        }
                        last = Some(s);
                        if vtable_shaped(&self.memory, &contents, &self.slots, range, s) {
                            self.vtable_starts.push(s);
                        }
                    }
                }
                at += 4;
            }
        }
        debug_assert!(self.vtable_starts.windows(2).all(|w| w[0] < w[1]));
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
            vtable_starts,
            mut bytes,
            bodies,
            refs,
            ref_starts,
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
        let objects = Objects::cut(&memory, &segment_lens, &refs, &words, functions);
        bytes.extend(objects.bytes(&segment_lens));
        let table = (mode == Mode::TableRoot || !element_functions.is_empty()).then(|| {
            bytes.push(0);
            (bytes.len() - 1) as u32
        });
        if u32::try_from(bytes.len()).is_err() {
            bail!("too many nodes");
        }
        let rows = Resolver {
            functions,
            imports,
            objects: &objects,
            memory: &memory,
            slots: &slots,
            vtable_starts: &vtable_starts,
            words: &words,
        }
        .rows(bytes.len(), refs, ref_starts);
        drop(words);
        roots.sort_unstable();
        roots.dedup();
        let mut graph = Graph {
            functions,
            imports,
            import_names,
            objects: objects.at,
            segment_names,
            table,
            bytes,
            roots,
            table_stats: TableStats::default(),
            starts: rows.starts,
            edges: rows.edges,
        };
        if let Some(t) = table {
            let mut listed = vec![false; functions as usize];
            for &f in &element_functions {
                listed[f as usize] = true;
            }
            graph.table_stats = table_row(&mut graph, &rows.strong_slot, mode, &listed);
            graph.roots.push(t);
        }
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
            Payload::ElementSection(section) => self.elements(section)?,
            Payload::DataSection(section) => self.data(section)?,
            Payload::CustomSection(section) => self.data_names(section)?,
            _ => {}
        }
        Ok(())
    }

    fn body(&mut self, body: &FunctionBody) -> Result<()> {
        self.bodies(std::slice::from_ref(body))
    }

    /// The bodies' references. The data section is known by now: the scan
    /// reads bodies last. Decoding every operator is most of the work on a
    /// large module, so a batch is cut in runs of about equal bytes, one
    /// per thread, and the runs' references joined in order.
    fn bodies(&mut self, bodies: &[FunctionBody]) -> Result<()> {
        let count = u32::try_from(bodies.len()).map_err(|_| too_many())?;
        if self.bodies.saturating_add(count) > self.defined {
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
        for body in bodies {
            self.bytes[(self.imports + self.bodies) as usize] = body.range().len() as u64;
            self.bodies += 1;
        }
        let scanner = Scanner {
            memory: &self.memory,
            slots: &self.slots,
            memory64: self.memory64,
            see_through: self.mode == Mode::SeeThrough,
        };
        let runs = runs(bodies, threads());
        let parts: Vec<Result<Part>> = std::thread::scope(|scope| {
            let scanner = &scanner;
            let others: Vec<_> = runs[1..]
                .iter()
                .map(|run| scope.spawn(move || scanner.part(run)))
                .collect();
            let mut parts = vec![scanner.part(runs[0])];
            parts.extend(
                others
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
            );
            parts
        });
        for part in parts {
            let part = part?;
            let base = self.refs.len();
            self.refs.extend_from_slice(&part.refs);
            for end in part.ends {
                let end = u32::try_from(base + end).map_err(|_| anyhow!("too many references"))?;
                self.ref_starts.push(end);
            }
        }
        Ok(())
    }
}

/// What decoding a body needs, fixed once the data section is read.
struct Scanner<'a> {
    memory: &'a Memory,
    slots: &'a [u32],
    memory64: bool,
    see_through: bool,
}

/// The references a run of consecutive bodies makes, each body's once;
/// body `i`'s end at `ends[i]`.
#[derive(Default)]
struct Part {
    refs: Vec<Ref>,
    ends: Vec<usize>,
}

impl Scanner<'_> {
    fn part(&self, bodies: &[FunctionBody]) -> Result<Part> {
        let mut part = Part::default();
        let mut seen = Seen::default();
        for body in bodies {
            let start = part.refs.len();
            scan_body(
                body.get_operators_reader()?,
                self.memory,
                self.slots,
                self.memory64,
                self.see_through,
                &mut part.refs,
            )?;
            drop_repeats(&mut part.refs, start, &mut seen);
            part.ends.push(part.refs.len());
        }
        Ok(part)
    }
}

/// How many threads share a batch: the machine's, at most 4.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// `bodies` cut into at most `n` non-empty runs of about equal bytes, in
/// order; one run (possibly empty) when there are fewer bodies than that.
fn runs<'b, 'a>(bodies: &'b [FunctionBody<'a>], n: usize) -> Vec<&'b [FunctionBody<'a>]> {
    let total: usize = bodies.iter().map(|b| b.range().len()).sum();
    let mut out = Vec::with_capacity(n);
    let (mut from, mut bytes) = (0, 0);
    for (i, body) in bodies.iter().enumerate() {
        bytes += body.range().len();
        if out.len() + 1 < n && bytes * n >= total * (out.len() + 1) {
            out.push(&bodies[from..=i]);
            from = i + 1;
        }
    }
    if from < bodies.len() || out.is_empty() {
        out.push(&bodies[from..]);
    }
    out
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
pub(super) fn slot_function(slots: &[u32], value: u64) -> Option<u32> {
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
pub(super) struct Memory {
    /// (start, end, segment index), sorted by start, empty ones left out.
    pub ranges: Vec<(u64, u64, u32)>,
    low: u64,
    high: u64,
    /// For each page of `1 << page_shift` bytes from `low`, the first range
    /// that ends past the page's start: a lookup scans from there instead
    /// of searching all ranges (a large module has thousands of segments,
    /// and every constant and data word is looked up).
    pages: Vec<u32>,
    page_shift: u32,
}

/// Pages in [`Memory::pages`] at most: a sparse 64-bit memory gets larger
/// pages, not a larger table.
const MAX_PAGES: u64 = 1 << 16;

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
        let span = high.saturating_sub(low);
        let mut page_shift = 12;
        while span >> page_shift >= MAX_PAGES {
            page_shift += 1;
        }
        let count = if kept.is_empty() {
            0
        } else {
            (span >> page_shift) + 1
        };
        let pages = page_table(count, page_shift, kept.len(), |i, page| {
            kept[i].1 <= low + page
        });
        Self {
            ranges: kept,
            low,
            high,
            pages,
            page_shift,
        }
    }

    /// `address` as an offset from the first data byte, if data holds it:
    /// within 4 GiB (`Collector::data` checks).
    pub fn offset(&self, address: u64) -> Option<u32> {
        self.contains(address).then(|| (address - self.low) as u32)
    }

    /// A segment's end (one past its last byte) as such an offset.
    pub fn end_offset(&self, end: u64) -> Option<u32> {
        u32::try_from(end.checked_sub(self.low)?).ok()
    }

    fn contains(&self, address: u64) -> bool {
        if address < self.low || address >= self.high {
            return false;
        }
        let mut i = self.pages[((address - self.low) >> self.page_shift) as usize] as usize;
        while let Some(&(start, end, _)) = self.ranges.get(i) {
            if address < end {
                return start <= address;
            }
            i += 1;
        }
        false
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
        Some(u64::from(le_u32(b)))
    }
}

/// A page table over items in address order: for each of `count` pages of
/// `1 << shift` bytes, how many of the first `items` lie wholly before it,
/// `before(i, page)` saying whether item `i` does for the page at offset
/// `page`. A lookup then starts at its page's entry instead of searching
/// all items.
pub(super) fn page_table(
    count: u64,
    shift: u32,
    items: usize,
    before: impl Fn(usize, u64) -> bool,
) -> Vec<u32> {
    let mut i = 0;
    (0..count)
        .map(|p| {
            let page = p << shift;
            while i < items && before(i, page) {
                i += 1;
            }
            i as u32
        })
        .collect()
}

/// The little-endian word `b` starts with (at least 4 bytes).
fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Whether the three words from data offset `start` are shaped like a
/// vtable's header: a drop slot or 0, a size, a power-of-two alignment
/// dividing it. A word inside `range` (the segment being read, as nearly
/// all are) is read there; others are looked up among all segments.
fn vtable_shaped(
    memory: &Memory,
    contents: &[&[u8]],
    slots: &[u32],
    range: (u64, u64, u32),
    start: u32,
) -> bool {
    let (r_start, r_end, seg) = range;
    let word = |a: Option<u32>| {
        let a = memory.low.checked_add(u64::from(a?))?;
        if a >= r_start && a.checked_add(4)? <= r_end {
            let i = (a - r_start) as usize;
            let b = &contents[seg as usize][i..i + 4];
            return Some(u64::from(le_u32(b)));
        }
        memory.word(contents, a)
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

/// Whether the word at `at` is the size or alignment of a vtable starting
/// at `start` (data offsets): `[drop slot or 0, size, align, methods…]`,
/// with `align` a power of two and `size` a multiple of it. `vtable_starts`
/// are the starts so shaped, in order ([`Collector`] finds them).
pub(super) fn vtable_header_word(vtable_starts: &[u32], start: u32, at: u32) -> bool {
    (Some(at) == start.checked_add(4) || Some(at) == start.checked_add(8))
        && vtable_starts.binary_search(&start).is_ok()
}

/// The references one body makes, appended to `out`.
fn scan_body(
    mut reader: OperatorsReader,
    memory: &Memory,
    slots: &[u32],
    memory64: bool,
    see_through: bool,
    out: &mut Vec<Ref>,
) -> Result<()> {
    let mut refs = BodyRefs {
        memory,
        slots,
        memory64,
        see_through,
        out,
        pending: None,
    };
    while !reader.eof() {
        reader.visit_operator(&mut refs)?;
    }
    Ok(())
}

/// What one body refers to, gathered as its operators are decoded: a
/// visitor, so no `Operator` is built for the many the graph ignores.
struct BodyRefs<'m> {
    memory: &'m Memory,
    slots: &'m [u32],
    memory64: bool,
    see_through: bool,
    out: &'m mut Vec<Ref>,
    /// A constant that may be a slot, judged by the operator after it.
    pending: Option<u32>,
}

impl BodyRefs<'_> {
    /// Settles the pending constant with what the next operator says of it
    /// (see [`evidence`]).
    fn next(&mut self, evidence: Option<bool>) {
        if let Some(slot) = self.pending.take() {
            if let Some(strong) = evidence {
                self.out.push(Ref::Slot { slot, strong });
            }
        }
    }

    fn i32_const(&mut self, value: i32) {
        let value = u64::from(value as u32);
        if let Some(offset) = self.memory.offset(value) {
            self.out.push(Ref::Address(offset));
        } else if self.see_through && slot_function(self.slots, value).is_some() {
            self.pending = Some(value as u32);
        }
    }

    fn i64_const(&mut self, value: i64) {
        if self.memory64 {
            if let Some(offset) = self.memory.offset(value as u64) {
                self.out.push(Ref::Address(offset));
            }
        }
    }

    /// A load or store: its static offset, when it points into data.
    fn memarg(&mut self, memarg: MemArg) {
        if memarg.offset != 0 {
            if let Some(offset) = self.memory.offset(memarg.offset) {
                self.out.push(Ref::Address(offset));
            }
        }
    }
}

/// For a constant equal to a table slot, what the operator after it says:
/// `Some(true)` it is called right away, `Some(false)` it may be a function
/// pointer (stored, passed, kept), `None` it is used as an integer.
macro_rules! evidence {
    (CallIndirect) => {
        Some(true)
    };
    (ReturnCallIndirect) => {
        Some(true)
    };
    (Call) => {
        Some(false)
    };
    (ReturnCall) => {
        Some(false)
    };
    (I32Store) => {
        Some(false)
    };
    (I64Store) => {
        Some(false)
    };
    (LocalSet) => {
        Some(false)
    };
    (LocalTee) => {
        Some(false)
    };
    (GlobalSet) => {
        Some(false)
    };
    (LocalGet) => {
        Some(false)
    };
    (GlobalGet) => {
        Some(false)
    };
    (I32Const) => {
        Some(false)
    };
    (Return) => {
        Some(false)
    };
    (End) => {
        Some(false)
    };
    (Br) => {
        Some(false)
    };
    ($other:ident) => {
        None
    };
}

/// What an operator refers to: a function, an address (a constant, or a
/// load or store's static offset), a passive segment.
macro_rules! refers {
    ($s:ident, Call, $f:ident) => { $s.out.push(Ref::Function($f)) };
    ($s:ident, ReturnCall, $f:ident) => { $s.out.push(Ref::Function($f)) };
    ($s:ident, RefFunc, $f:ident) => { $s.out.push(Ref::Function($f)) };
    ($s:ident, I32Const, $v:ident) => { $s.i32_const($v) };
    ($s:ident, I64Const, $v:ident) => { $s.i64_const($v) };
    ($s:ident, MemoryInit, $d:ident, $m:ident) => {{
        let _ = $m;
        $s.out.push(Ref::Segment($d))
    }};
    ($s:ident, DataDrop, $d:ident) => { $s.out.push(Ref::Segment($d)) };
    ($s:ident, I32Load, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Load, $m:ident) => { $s.memarg($m) };
    ($s:ident, F32Load, $m:ident) => { $s.memarg($m) };
    ($s:ident, F64Load, $m:ident) => { $s.memarg($m) };
    ($s:ident, I32Load8S, $m:ident) => { $s.memarg($m) };
    ($s:ident, I32Load8U, $m:ident) => { $s.memarg($m) };
    ($s:ident, I32Load16S, $m:ident) => { $s.memarg($m) };
    ($s:ident, I32Load16U, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Load8S, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Load8U, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Load16S, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Load16U, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Load32S, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Load32U, $m:ident) => { $s.memarg($m) };
    ($s:ident, I32Store, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Store, $m:ident) => { $s.memarg($m) };
    ($s:ident, F32Store, $m:ident) => { $s.memarg($m) };
    ($s:ident, F64Store, $m:ident) => { $s.memarg($m) };
    ($s:ident, I32Store8, $m:ident) => { $s.memarg($m) };
    ($s:ident, I32Store16, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Store8, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Store16, $m:ident) => { $s.memarg($m) };
    ($s:ident, I64Store32, $m:ident) => { $s.memarg($m) };
    ($s:ident, $other:ident $(, $arg:ident)*) => {{ $(let _ = $arg;)* }};
}

/// Each `visit_*` method: settle the pending constant, then read the
/// operator's references.
macro_rules! visit_for_refs {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) {
                self.next(evidence!($op));
                refers!(self, $op $($(, $arg)*)?);
            }
        )*
    };
}

impl<'a> VisitOperator<'a> for BodyRefs<'_> {
    type Output = ();

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = ()>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(visit_for_refs);
}

impl<'a> VisitSimdOperator<'a> for BodyRefs<'_> {
    wasmparser::for_each_visit_simd_operator!(visit_for_refs);
}

/// Drops the repeats among `refs[start..]` (one body's), keeping the first
/// of each where it stands: a repeated edge changes no figure, and a body
/// names the same callee or string many times.
fn drop_repeats(refs: &mut Vec<Ref>, start: usize, seen: &mut Seen) {
    if refs.len() - start < 2 {
        return;
    }
    seen.clear(refs.len() - start);
    let mut w = start;
    for i in start..refs.len() {
        let r = refs[i];
        if seen.insert(r) {
            refs[w] = r;
            w += 1;
        }
    }
    refs.truncate(w);
}

/// A set of references, emptied in O(1) for each body: open addressing
/// over slots stamped with the body they belong to.
#[derive(Debug, Default)]
struct Seen {
    keys: Vec<u64>,
    stamps: Vec<u32>,
    stamp: u32,
}

impl Seen {
    /// Empties the set, with room for `n` references.
    fn clear(&mut self, n: usize) {
        let want = (2 * n).next_power_of_two().max(16);
        if self.keys.len() < want || self.stamp == u32::MAX {
            self.keys = vec![0; want];
            self.stamps = vec![0; want];
            self.stamp = 0;
        }
        self.stamp += 1;
    }

    /// Adds `r`; false when it was there.
    fn insert(&mut self, r: Ref) -> bool {
        let key = match r {
            Ref::Function(f) => u64::from(f),
            Ref::Address(a) => 1 << 32 | u64::from(a),
            Ref::Slot { slot, strong } => (2 + u64::from(strong)) << 32 | u64::from(slot),
            Ref::Segment(s) => 4 << 32 | u64::from(s),
        };
        let mask = self.keys.len() - 1;
        // Fibonacci hashing: the high bits of the product are well mixed.
        let mut i = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask;
        loop {
            if self.stamps[i] != self.stamp {
                self.stamps[i] = self.stamp;
                self.keys[i] = key;
                return true;
            }
            if self.keys[i] == key {
                return false;
            }
            i = (i + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{drop_repeats, runs, Memory, Ref, Seen};
    use wasmparser::{BinaryReader, FunctionBody};

    /// The page table answers as a search over the ranges does: gaps,
    /// many segments on one page, segments across pages, and a sparse
    /// 64-bit memory whose pages are made larger.
    #[test]
    fn memory_lookups_by_page_match_a_search() {
        let layouts: [Vec<(Option<u64>, u64)>; 3] = [
            (0..300u64)
                .map(|i| (Some(1024 + i * 40), 24 + i % 17))
                .collect(),
            vec![
                (Some(4096), 10_000),
                (None, 5),
                (Some(20_000), 3),
                (Some(30_000), 9000),
            ],
            vec![
                (Some(16), 8),
                (Some(1 << 40), 64),
                (Some((1 << 40) + 100_000), 4),
            ],
        ];
        for segments in &layouts {
            let m = Memory::new(segments);
            let search = |a: u64| m.ranges.iter().any(|&(s, e, _)| s <= a && a < e);
            let probes = m
                .ranges
                .iter()
                .flat_map(|&(s, e, _)| [s - 1, s, s + 1, e - 1, e, e + 1]);
            for a in probes.chain([0, m.low, m.high, u64::MAX]) {
                assert_eq!(m.contains(a), search(a), "{a} in {segments:?}");
            }
        }
    }

    /// Runs cover every body once, in order, none empty, at most `n` of
    /// them, and split the bytes about evenly.
    #[test]
    fn runs_cut_bodies_in_order() {
        let buf = vec![0u8; 1000];
        let sizes = [100, 1, 1, 300, 50, 50, 200, 98, 100, 100];
        let mut at = 0;
        let bodies: Vec<FunctionBody> = sizes
            .iter()
            .map(|&len| {
                let b = FunctionBody::new(BinaryReader::new(&buf[at..at + len], at));
                at += len;
                b
            })
            .collect();
        for n in 1..=12 {
            let cut = runs(&bodies, n);
            assert!(!cut.is_empty() && cut.len() <= n, "{n}: {}", cut.len());
            assert!(cut.iter().all(|r| !r.is_empty()), "{n}");
            let starts: Vec<usize> = cut
                .iter()
                .flat_map(|r| r.iter())
                .map(|b| b.range().start)
                .collect();
            let all: Vec<usize> = bodies.iter().map(|b| b.range().start).collect();
            assert_eq!(starts, all, "{n}");
        }
        let halves: Vec<usize> = runs(&bodies, 2)
            .iter()
            .map(|r| r.iter().map(|b| b.range().len()).sum())
            .collect();
        assert_eq!(halves, [502, 498]);
        assert_eq!(runs(&bodies[..0], 2).len(), 1);
    }

    /// Short and long bodies alike keep the first of each reference, in
    /// order, after what earlier bodies left; the set is emptied between
    /// bodies.
    #[test]
    fn repeats_dropped_keep_the_first_of_each() {
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            seed >> 16
        };
        let mut seen = Seen::default();
        for len in [0, 1, 2, 5, 31, 32, 33, 100, 3_000, 3] {
            let body: Vec<Ref> = (0..len)
                .map(|_| match next() % 4 {
                    0 => Ref::Function(next() % 64),
                    1 => Ref::Address(next() % 64),
                    2 => Ref::Segment(next() % 64),
                    _ => Ref::Slot {
                        slot: next() % 64,
                        strong: next() % 2 == 0,
                    },
                })
                .collect();
            let before = [Ref::Function(1), Ref::Function(1)];
            let mut refs: Vec<Ref> = before.iter().chain(&body).copied().collect();
            drop_repeats(&mut refs, before.len(), &mut seen);
            let mut expected = before.to_vec();
            for r in &body {
                if !expected[before.len()..].contains(r) {
                    expected.push(*r);
                }
            }
            assert_eq!(refs, expected, "{len}");
        }
    }
}
