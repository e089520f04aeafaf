//! From what [`super::read`] collected to the graph's rows: data cut into
//! objects, each reference and data word resolved to the node it points
//! to, and the edges written straight into compressed rows, node by node
//! (no list of pairs, no second copy).

use super::read::{page_table, slot_function, vtable_header_word, Memory, Ref};
use super::{Graph, Mode, TableStats};

/// The data objects: each active segment cut at every address code or
/// data points to, a piece from one such address to the next; then each
/// passive segment whole.
pub(super) struct Objects {
    /// The node id of the first object.
    pub first: u32,
    /// Each active object's extent, as offsets from the first data byte
    /// (`Memory::offset`), in address order.
    starts: Vec<u32>,
    ends: Vec<u32>,
    /// Each object's (segment, offset in it), the passive ones last.
    pub at: Vec<(u32, u32)>,
    /// Each passive segment's object, by segment index.
    passive: Vec<Option<u32>>,
    /// For each page of `1 << page_shift` data bytes, how many active
    /// objects start before it: [`Objects::of`] searches one page's
    /// objects, not all (every address of code and data is looked up).
    pages: Vec<u32>,
    page_shift: u32,
}

impl Objects {
    /// `refs` are the bodies' references, `words` the data words (offset,
    /// value) that point into data or hold a slot.
    pub fn cut(
        memory: &Memory,
        segment_lens: &[u64],
        refs: &[Ref],
        words: &[(u32, u32)],
        first: u32,
    ) -> Self {
        let mut anchors: Vec<u32> = memory
            .ranges
            .iter()
            .filter_map(|r| memory.offset(r.0))
            .collect();
        anchors.extend(refs.iter().filter_map(|r| r.address()));
        anchors.extend(
            words
                .iter()
                .filter_map(|&(_, value)| memory.offset(u64::from(value))),
        );
        anchors.sort_unstable();
        anchors.dedup();
        let mut o = Objects {
            first,
            starts: Vec::new(),
            ends: Vec::new(),
            at: Vec::new(),
            passive: vec![None; segment_lens.len()],
            pages: Vec::new(),
            page_shift: 0,
        };
        // Anchors inside a segment, each to the next one or the end.
        for &(start, end, seg) in &memory.ranges {
            let (Some(start), Some(end)) = (memory.offset(start), memory.end_offset(end)) else {
                continue;
            };
            let from = anchors.partition_point(|&a| a < start);
            let to = anchors.partition_point(|&a| a < end);
            for (j, &a) in anchors[from..to].iter().enumerate() {
                let next = anchors.get(from + j + 1).copied().unwrap_or(end).min(end);
                o.starts.push(a);
                o.ends.push(next);
                o.at.push((seg, a - start));
            }
        }
        let mut in_memory = vec![false; segment_lens.len()];
        for r in &memory.ranges {
            in_memory[r.2 as usize] = true;
        }
        for (seg, &active) in in_memory.iter().enumerate() {
            if !active {
                o.passive[seg] = Some(o.at.len() as u32);
                o.at.push((seg as u32, 0));
            }
        }
        o.paginate();
        o
    }

    /// Builds [`Objects::pages`]: about four objects a page.
    fn paginate(&mut self) {
        let span = u64::from(self.ends.last().copied().unwrap_or(0));
        let want = (self.starts.len() as u64 / 4).max(1);
        while span >> self.page_shift > want {
            self.page_shift += 1;
        }
        let count = (span >> self.page_shift) + 2;
        let starts = &self.starts;
        self.pages = page_table(count, self.page_shift, starts.len(), |i, page| {
            u64::from(starts[i]) < page
        });
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// The node of the active object holding data offset `offset`.
    fn of(&self, offset: u32) -> Option<u32> {
        let p = (offset >> self.page_shift) as usize;
        // Past the last page, no object holds it; else the objects starting
        // on its page, after all those starting before it.
        let (&lo, &hi) = (self.pages.get(p)?, self.pages.get(p + 1)?);
        let (lo, hi) = (lo as usize, hi as usize);
        let i = lo + self.starts[lo..hi].partition_point(|&s| s <= offset);
        (i > 0 && offset < self.ends[i - 1]).then(|| self.first + (i - 1) as u32)
    }

    /// Each object's own bytes, in node order.
    pub fn bytes<'a>(&'a self, segment_lens: &'a [u64]) -> impl Iterator<Item = u64> + 'a {
        let active = self
            .starts
            .iter()
            .zip(&self.ends)
            .map(|(&s, &e)| u64::from(e - s));
        let passive = self.at[self.starts.len()..]
            .iter()
            .map(|&(seg, _)| segment_lens[seg as usize]);
        active.chain(passive)
    }
}

/// What the references and data words say, resolved against the objects:
/// which objects something points to and which slots have strong
/// evidence, then the rows.
pub(super) struct Resolver<'a> {
    pub functions: u32,
    pub imports: u32,
    pub objects: &'a Objects,
    pub memory: &'a Memory,
    pub slots: &'a [u32],
    pub vtable_starts: &'a [u32],
    pub words: &'a [(u32, u32)],
}

/// The rows of every node but the table's, and what the table's evidence
/// needs: which functions a slot has strong evidence for.
pub(super) struct Rows {
    pub starts: Vec<u32>,
    pub edges: Vec<u32>,
    pub strong_slot: Vec<bool>,
}

impl Resolver<'_> {
    /// The node `r` points to; a slot's function whatever its evidence.
    fn target(&self, r: Ref) -> Option<u32> {
        match r {
            Ref::Function(f) => (f < self.functions).then_some(f),
            Ref::Address(a) => self.objects.of(a),
            Ref::Segment(s) => self
                .objects
                .passive
                .get(s as usize)
                .copied()
                .flatten()
                .map(|o| self.objects.first + o),
            Ref::Slot { slot, .. } => slot_function(self.slots, u64::from(slot)),
        }
    }

    /// Whether data word `value` points into data (else it holds a slot).
    fn is_pointer(&self, value: u32) -> bool {
        self.memory.offset(u64::from(value)).is_some()
    }

    /// Which objects code (`refs`) or a data pointer points to.
    fn referenced(&self, refs: &[Ref]) -> Vec<bool> {
        let mut referenced = vec![false; self.objects.len()];
        let mut mark = |node: Option<u32>| {
            if let Some(o) = node {
                referenced[(o - self.objects.first) as usize] = true;
            }
        };
        for &r in refs {
            if matches!(r, Ref::Address(_) | Ref::Segment(_)) {
                mark(self.target(r));
            }
        }
        for &(_, value) in self.words {
            if let Some(offset) = self.memory.offset(u64::from(value)) {
                mark(self.objects.of(offset));
            }
        }
        referenced
    }

    /// The function a slot word at `at` in object `from` points to: only
    /// in an object something points to, and not a vtable's size or
    /// alignment.
    fn slot_word(&self, referenced: &[bool], from: u32, at: u32, value: u32) -> Option<u32> {
        let o = (from - self.objects.first) as usize;
        let start = self.objects.starts[o];
        if !referenced[o] || vtable_header_word(self.vtable_starts, start, at) {
            return None;
        }
        slot_function(self.slots, u64::from(value))
    }

    /// Every node's row but the table's (the last node, `nodes - 1` when
    /// there is one): a function's references in order, then its weak
    /// slot constants for slots without strong evidence; a data object's
    /// pointers, then its slot words. Each defined function `d`'s
    /// references are `refs[ref_starts[d]..ref_starts[d + 1]]`, dropped
    /// once the functions' rows are written, before the data's.
    pub fn rows(&self, nodes: usize, refs: Vec<Ref>, ref_starts: Vec<u32>) -> Rows {
        let referenced = self.referenced(&refs);
        let mut strong_slot = vec![false; self.functions as usize];
        for &r in &refs {
            if let (Ref::Slot { strong: true, .. }, Some(f)) = (r, self.target(r)) {
                strong_slot[f as usize] = true;
            }
        }
        for &(at, value) in self.words {
            if self.is_pointer(value) {
                continue;
            }
            let Some(from) = self.objects.of(at) else {
                continue;
            };
            if let Some(f) = self.slot_word(&referenced, from, at, value) {
                strong_slot[f as usize] = true;
            }
        }
        let mut starts = Vec::with_capacity(nodes + 1);
        let mut edges = Vec::with_capacity(refs.len() + self.words.len());
        starts.resize(self.imports as usize + 1, 0);
        for d in 0..(self.functions - self.imports) as usize {
            let refs = &refs[ref_starts[d] as usize..ref_starts[d + 1] as usize];
            let weak = |r: &Ref| matches!(r, Ref::Slot { strong: false, .. });
            edges.extend(
                refs.iter()
                    .filter(|r| !weak(r))
                    .filter_map(|&r| self.target(r)),
            );
            edges.extend(
                refs.iter()
                    .filter(|r| weak(r))
                    .filter_map(|&r| self.target(r))
                    .filter(|&f| !strong_slot[f as usize]),
            );
            starts.push(edges.len() as u32);
        }
        drop((refs, ref_starts));
        self.data_rows(&referenced, &mut starts, &mut edges);
        starts.resize(nodes + 1, edges.len() as u32);
        Rows {
            starts,
            edges,
            strong_slot,
        }
    }

    /// Each object's row, appended: its pointer words, then its slot words,
    /// each in address order.
    fn data_rows(&self, referenced: &[bool], starts: &mut Vec<u32>, edges: &mut Vec<u32>) {
        let mut w = 0;
        for (i, (&start, &end)) in self
            .objects
            .starts
            .iter()
            .zip(&self.objects.ends)
            .enumerate()
        {
            let from = self.objects.first + i as u32;
            w += self.words[w..].partition_point(|&(at, _)| at < start);
            let to = w + self.words[w..].partition_point(|&(at, _)| at < end);
            let words = &self.words[w..to];
            edges.extend(
                words
                    .iter()
                    .filter_map(|&(_, v)| self.memory.offset(u64::from(v)))
                    .filter_map(|offset| self.objects.of(offset)),
            );
            edges.extend(
                words
                    .iter()
                    .filter(|&&(_, v)| !self.is_pointer(v))
                    .filter_map(|&(at, v)| self.slot_word(referenced, from, at, v)),
            );
            starts.push(edges.len() as u32);
            w = to;
        }
        // Passive segments point to nothing.
        let passive = self.objects.len() - self.objects.starts.len();
        starts.extend(std::iter::repeat_n(edges.len() as u32, passive));
    }
}

/// Appends the table node's row (the last row) to `graph`, whose other
/// rows are done: every listed function (twiggy's view), or those nothing
/// reachable points to; and says how each listed function is reached.
pub(super) fn table_row(
    graph: &mut Graph,
    strong_slot: &[bool],
    mode: Mode,
    listed: &[bool],
) -> TableStats {
    let t = graph.len() - 1;
    let mut stats = TableStats {
        functions: listed.iter().filter(|&&l| l).count() as u32,
        ..TableStats::default()
    };
    let reached = match mode {
        Mode::TableRoot => vec![false; listed.len()],
        Mode::SeeThrough => graph.reachable(),
    };
    for (f, _) in listed.iter().enumerate().filter(|(_, &l)| l) {
        if !reached[f] {
            graph.edges.push(f as u32);
            if mode == Mode::SeeThrough {
                stats.fallback += 1;
            }
        } else if strong_slot[f] {
            stats.strong += 1;
        } else {
            stats.weak += 1;
        }
    }
    graph.starts[t + 1] = graph.edges.len() as u32;
    stats
}

#[cfg(test)]
mod tests {
    use super::Objects;

    /// The paged lookup answers as a search over all objects: in objects,
    /// in gaps between them, past the last, with none at all.
    #[test]
    fn paged_lookup_agrees_with_searching_all_objects() {
        let mut seed = 11u32;
        let mut next = |n: u32| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 8) % n
        };
        for count in [0, 1, 2, 7, 100, 1_000] {
            let (mut starts, mut ends) = (Vec::new(), Vec::new());
            let mut at = next(50);
            for _ in 0..count {
                let len = 1 + next(40);
                starts.push(at);
                ends.push(at + len);
                // Objects touch or leave a gap, as segments do.
                at += len + if next(3) == 0 { next(5_000) } else { 0 };
            }
            let mut o = Objects {
                first: 10,
                at: vec![(0, 0); starts.len()],
                starts,
                ends,
                passive: Vec::new(),
                pages: Vec::new(),
                page_shift: 0,
            };
            o.paginate();
            let all = |offset: u32| {
                let i = o.starts.partition_point(|&s| s <= offset);
                (i > 0 && offset < o.ends[i - 1]).then(|| o.first + (i - 1) as u32)
            };
            for offset in (0..at + 100).chain([u32::MAX - 1, u32::MAX]) {
                assert_eq!(
                    o.of(offset),
                    all(offset),
                    "{count} objects, offset {offset}"
                );
            }
        }
    }
}
