//! One pass over a module for `bloat`: its attribution, section sizes and,
//! when asked, its call graph, each a `scan::Sink` fed by `scan::read`.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use anyhow::{Context, Result};

use crate::attribution::{self, Attribution};
use crate::callgraph::{self, Graph, Mode};
use crate::scan::{read, Sections};

/// What `bloat` reads from one file.
#[derive(Debug)]
pub struct Analysed {
    pub attribution: Attribution,
    /// When asked for: the call graph in that mode.
    pub graph: Option<Graph>,
    pub sections: BTreeMap<String, u64>,
}

/// The attribution, section sizes and, given a `mode`, the call graph of
/// the module in `reader`, in one pass; `file` is only recorded and named
/// in errors.
pub fn analyse<R: Read + Seek>(reader: R, file: &str, mode: Option<Mode>) -> Result<Analysed> {
    let mut sink = (
        (attribution::Collector::default(), Sections::default()),
        mode.map(callgraph::Collector::new),
    );
    read(reader, &mut sink).with_context(|| format!("{file} is not a readable wasm module"))?;
    let ((sizes, sections), graph) = sink;
    // The two ends are independent and each a fifth of the work on a large
    // module (names demangled and put in crates; references resolved into
    // edges): on two threads at once.
    let (attribution, graph) = std::thread::scope(|scope| {
        let graph = scope.spawn(|| graph.map(callgraph::Collector::finish).transpose());
        let attribution = sizes.finish(file);
        let graph = graph
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (attribution, graph)
    });
    let graph = graph.with_context(|| format!("{file} is not a readable wasm module"))?;
    Ok(Analysed {
        attribution,
        graph,
        sections: sections.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::READ_AT_MOST;
    use crate::synthetic::large;
    use std::io::Cursor;
    use std::io::{Read, Seek, SeekFrom};

    /// A reader that counts what it hands out and how much it is asked to
    /// hold at once.
    struct Counting<'a> {
        inner: Cursor<&'a [u8]>,
        largest_read: usize,
    }

    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.largest_read = self.largest_read.max(buf.len());
            self.inner.read(buf)
        }
    }

    impl Seek for Counting<'_> {
        fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    #[test]
    fn a_streamed_module_gives_what_the_bytes_give() {
        let wasm = large(6_000, 400).module.encode();
        let a = analyse(Cursor::new(&wasm[..]), "m.wasm", Some(Mode::SeeThrough)).unwrap();
        assert_eq!(
            a.attribution,
            attribution::attribute(&wasm, "m.wasm").unwrap()
        );
        assert_eq!(a.sections, crate::wasm::wasm_sections(&wasm).unwrap());
        let g = a.graph.unwrap();
        let d = g.dominators();
        assert_eq!(d.reachable_bytes, g.bytes.iter().sum::<u64>());
        // Never asked to hold the module at once.
        let mut counting = Counting {
            inner: Cursor::new(&wasm),
            largest_read: 0,
        };
        let mut sections = Sections::default();
        read(&mut counting, &mut sections).unwrap();
        assert!(wasm.len() as u64 > 2 * READ_AT_MOST, "{}", wasm.len());
        assert!(counting.largest_read as u64 <= READ_AT_MOST);
    }

    #[test]
    fn a_truncated_module_is_an_error() {
        let wasm = large(100, 100).module.encode();
        for cut in [4, 20, wasm.len() / 2, wasm.len() - 1] {
            let err = analyse(Cursor::new(&wasm[..cut]), "t.wasm", Some(Mode::SeeThrough));
            assert!(err.is_err(), "cut at {cut}");
        }
    }
}
