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
//!
//! The module reads a `.wasm` into the graph in `read` (a `size::scan`
//! sink) and `resolve` (data objects, references into rows), and works on the graph's flat arrays in `dominators`
//! (retained sizes, per node and per group) and `paths` (reachability
//! and shortest paths).

use anyhow::Result;

use crate::scan;

mod dominators;
mod paths;
mod read;
mod resolve;

pub use dominators::Dominators;
pub use paths::path_to;
pub use read::Collector;

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

/// Reads `wasm` into its reference graph. Any input gives `Ok` or an
/// `Err` saying why it is not a readable module; it never panics.
pub fn graph(wasm: &[u8], mode: Mode) -> Result<Graph> {
    let mut collector = Collector::new(mode);
    scan::read(std::io::Cursor::new(wasm), &mut collector)?;
    collector.finish()
}

/// No function: an empty table slot, a node in no group.
const NONE: u32 = u32::MAX;

/// The virtual node above all roots.
pub const SUPER_ROOT: u32 = u32::MAX - 1;
pub const UNREACHED: u32 = u32::MAX;

#[cfg(test)]
mod tests;
