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
    if path.exists() && !path.is_dir() {
        return Err(Error::Open {
            path: path.to_owned(),
            cause: "it is a file, not a directory; choose a directory for the store".into(),
            source: None,
        });
    }
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_keep_log_file_num(2);
    let cfs = column_families
        .iter()
        .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
    DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| open_error(path, e))
}

/// RocksDB's refusal to open `path`, sorted by what the caller can do about it.
fn open_error(path: &Path, e: rocksdb::Error) -> Error {
    let path = path.to_owned();
    let cause = match e.kind() {
        _ if is_held_lock(&e) => {
            return Error::Locked {
                path,
                source: Box::new(e),
            }
        }
        ErrorKind::Corruption => "the database is corrupt; restore it from a backup",
        ErrorKind::InvalidArgument => {
            "not a store of this kind (wrong column families); pick another directory"
        }
        _ => "check the path and its permissions",
    };
    Error::Open {
        path,
        cause: cause.into(),
        source: Some(Box::new(e)),
    }
}

/// Whether the open failed because someone holds the database's `LOCK` file.
///
/// `rocksdb::ErrorKind` has no kind for it, but RocksDB's `LockFile`
/// (env/fs_posix.cc) reports it as an IO error with one of two fixed texts,
/// and nothing else produces them: "While lock file: <dir>/LOCK: …" when
/// `fcntl` refuses the lock (another process holds it) and "lock hold by
/// current process, …" when this process already does. Matching those, not
/// any "lock", keeps out "while open a file for lock": the file cannot even
/// be created, a path or permissions problem no holder could fix.
fn is_held_lock(e: &rocksdb::Error) -> bool {
    let message = e.as_ref();
    e.kind() == ErrorKind::IOError
        && (message.contains("While lock file") || message.contains("lock hold by current process"))
}

fn storage(e: rocksdb::Error) -> Error {
    Error::Storage(Box::new(e))
}

fn cf<'a>(db: &'a DB, name: &str) -> &'a rocksdb::ColumnFamily {
    db.cf_handle(name)
        .expect("open_db opened every column family this store uses")
}
