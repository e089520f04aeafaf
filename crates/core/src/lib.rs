//! CortexOS core: an append-only event store and a property graph store.
//!
//! Both are traits ([`EventStore`], [`GraphStore`]) with two backends:
//! in memory ([`MemoryEventStore`], [`MemoryGraphStore`]) on every target, and
//! RocksDB (`RocksEventStore`, `RocksGraphStore`) on native targets only,
//! with the `rocksdb` feature (on by default). [`store`] picks the default
//! backend at compile time, in one place: RocksDB natively, memory on `wasm32`.

mod error;
mod event;
mod graph;
mod memory;
#[cfg(rocksdb_backend)]
mod rocks;
pub mod store;

pub use error::{Error, Result};
pub use event::{Appended, EventStore, ExpectedVersion, NewEvent, RecordedEvent, Subscription};
pub use graph::{Edge, GraphStore, Node, Properties, Visit};
pub use memory::{MemoryEventStore, MemoryGraphStore};
#[cfg(rocksdb_backend)]
pub use rocks::{RocksEventStore, RocksGraphStore, RocksOptions};
