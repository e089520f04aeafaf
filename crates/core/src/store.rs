//! The one place the storage backend is chosen, at compile time: RocksDB
//! natively, memory on `wasm32` (where RocksDB cannot build) and natively
//! without the default `rocksdb` feature (benchmarks that compare native
//! and wasm on the same backend, with no C++ to build). The choice is
//! `cfg(rocksdb_backend)`, defined in `build.rs`.

use std::path::Path;

use crate::Result;

#[cfg(rocksdb_backend)]
mod chosen {
    pub type EventStore = crate::RocksEventStore;
    pub type GraphStore = crate::RocksGraphStore;
    pub const BACKEND: &str = "rocksdb";

    pub fn open(dir: &std::path::Path) -> crate::Result<(EventStore, GraphStore)> {
        Ok((
            EventStore::open(dir.join("events"))?,
            GraphStore::open(dir.join("graph"))?,
        ))
    }

    /// A new, unique directory under the system's temporary directory.
    pub fn scratch_dir() -> Option<std::path::PathBuf> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("cortex-scratch-{}-{n}", std::process::id());
        Some(std::env::temp_dir().join(name))
    }

    pub fn remove_scratch(dir: &std::path::Path) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(not(rocksdb_backend))]
mod chosen {
    pub type EventStore = crate::MemoryEventStore;
    pub type GraphStore = crate::MemoryGraphStore;
    pub const BACKEND: &str = "memory";

    pub fn open(_dir: &std::path::Path) -> crate::Result<(EventStore, GraphStore)> {
        Ok((EventStore::new(), GraphStore::new()))
    }

    pub fn scratch_dir() -> Option<std::path::PathBuf> {
        None
    }

    /// Nothing to remove; and no `remove_dir_all` linked into the `.wasm`.
    pub fn remove_scratch(_dir: &std::path::Path) {}
}

/// The event store backend of this target.
pub type DefaultEventStore = chosen::EventStore;
/// The graph store backend of this target.
pub type DefaultGraphStore = chosen::GraphStore;
/// The name of this target's backend: `"rocksdb"` or `"memory"`.
pub const BACKEND: &str = chosen::BACKEND;

/// Opens this target's default stores. RocksDB keeps them in `dir/events`
/// and `dir/graph`; the memory backend ignores `dir`.
pub fn open_default(dir: &Path) -> Result<(DefaultEventStore, DefaultGraphStore)> {
    chosen::open(dir)
}

/// This target's default stores in a fresh scratch location, removed on drop:
/// a temporary directory natively, nothing on wasm.
#[derive(Debug)]
pub struct ScratchStores {
    stores: Option<(DefaultEventStore, DefaultGraphStore)>,
    dir: Option<std::path::PathBuf>,
}

impl ScratchStores {
    pub fn open() -> Result<Self> {
        let dir = chosen::scratch_dir();
        let stores = open_default(dir.as_deref().unwrap_or(Path::new("")));
        if stores.is_err() {
            if let Some(dir) = &dir {
                chosen::remove_scratch(dir);
            }
        }
        Ok(Self {
            stores: Some(stores?),
            dir,
        })
    }

    pub fn events(&self) -> &DefaultEventStore {
        &self.stores.as_ref().expect("present until drop").0
    }

    pub fn graph(&self) -> &DefaultGraphStore {
        &self.stores.as_ref().expect("present until drop").1
    }
}

impl Drop for ScratchStores {
    fn drop(&mut self) {
        // Close the databases before removing their files.
        drop(self.stores.take());
        if let Some(dir) = &self.dir {
            chosen::remove_scratch(dir);
        }
    }
}
