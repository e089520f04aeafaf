//! RocksDB backends, native targets only.
//!
//! Each store is one RocksDB database with a column family per index. Keys
//! are built by [`keys`] so that RocksDB's bytewise order is the order we
//! read in: big-endian integers (log order) and escaped, terminated strings
//! (`(stream, version)`, `(from, type, to)` tuples). Every multi-key change
//! goes through one `WriteBatch`, so it is applied whole or not at all.

mod codec;
mod event;
mod graph;
mod keys;

use std::path::Path;

use rocksdb::{ColumnFamilyDescriptor, ErrorKind, Options, DB};

pub use event::RocksEventStore;
pub use graph::RocksGraphStore;

use crate::{Error, Result};

/// How a RocksDB store writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RocksOptions {
    /// fsync the write-ahead log before an append or graph change returns,
    /// so an acknowledged write survives a machine crash, not only a process
    /// crash. Slower: one sync per write.
    pub sync_writes: bool,
}

impl RocksOptions {
    fn write_options(self) -> rocksdb::WriteOptions {
        let mut w = rocksdb::WriteOptions::default();
        w.set_sync(self.sync_writes);
        w
    }
}

/// Opens (creating if missing) the database at `path` with exactly `column_families`.
fn open_db(path: &Path, column_families: &[&str]) -> Result<DB> {
    let open_error = |cause: String| Error::Open {
        path: path.to_owned(),
        cause,
    };
    if path.exists() && !path.is_dir() {
        return Err(open_error(
            "it is a file, not a directory; choose a directory for the store".into(),
        ));
    }
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_keep_log_file_num(2);
    let cfs = column_families
        .iter()
        .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
    DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| {
        let hint = match e.kind() {
            ErrorKind::Corruption => "the database is corrupt; restore it from a backup",
            ErrorKind::InvalidArgument => {
                "not a store of this kind (wrong column families); pick another directory"
            }
            _ if e.to_string().contains("lock") => {
                "another open store or process holds it; close that one first"
            }
            _ => "check the path and its permissions",
        };
        open_error(format!("{hint} ({e})"))
    })
}

fn storage(e: rocksdb::Error) -> Error {
    Error::Storage(e.into_string())
}

fn cf<'a>(db: &'a DB, name: &str) -> &'a rocksdb::ColumnFamily {
    db.cf_handle(name)
        .expect("open_db opened every column family this store uses")
}
