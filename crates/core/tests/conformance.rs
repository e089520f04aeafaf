//! Runs the conformance suite against every backend; each test's path names
//! its backend (`memory::…`, `rocks::…`, `rocks_reopened::…`).

#[macro_use]
mod suite;

use cortex_core::{EventStore, GraphStore, MemoryEventStore, MemoryGraphStore};
use suite::Backend;

struct Memory {
    events: MemoryEventStore,
    graph: MemoryGraphStore,
}

impl Backend for Memory {
    fn events(&self) -> &dyn EventStore {
        &self.events
    }
    fn graph(&self) -> &dyn GraphStore {
        &self.graph
    }
    /// Memory has nothing to reopen; its contents stay.
    fn reopen(&mut self) {}
}

mod memory {
    conformance_tests!(super::Memory {
        events: cortex_core::MemoryEventStore::new(),
        graph: cortex_core::MemoryGraphStore::new(),
    });
}

#[cfg(rocksdb_backend)]
mod on_disk {
    use cortex_core::{EventStore, GraphStore, RocksEventStore, RocksGraphStore};

    use crate::suite::Backend;

    /// RocksDB in a temporary directory; with `reopen_between`, the stores
    /// are closed and opened again wherever the suite calls `reopen`.
    pub struct Rocks {
        dir: tempfile::TempDir,
        stores: Option<(RocksEventStore, RocksGraphStore)>,
        reopen_between: bool,
    }

    impl Rocks {
        pub fn new(reopen_between: bool) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let stores = Some(Self::open(&dir));
            Self {
                dir,
                stores,
                reopen_between,
            }
        }

        fn open(dir: &tempfile::TempDir) -> (RocksEventStore, RocksGraphStore) {
            (
                RocksEventStore::open(dir.path().join("events")).unwrap(),
                RocksGraphStore::open(dir.path().join("graph")).unwrap(),
            )
        }
    }

    impl Backend for Rocks {
        fn events(&self) -> &dyn EventStore {
            &self.stores.as_ref().unwrap().0
        }
        fn graph(&self) -> &dyn GraphStore {
            &self.stores.as_ref().unwrap().1
        }
        fn reopen(&mut self) {
            if self.reopen_between {
                // Close first: RocksDB refuses a second open of a held directory.
                drop(self.stores.take());
                self.stores = Some(Self::open(&self.dir));
            }
        }
    }
}

#[cfg(rocksdb_backend)]
mod rocks {
    conformance_tests!(crate::on_disk::Rocks::new(false));
}

#[cfg(rocksdb_backend)]
mod rocks_reopened {
    conformance_tests!(crate::on_disk::Rocks::new(true));
}
