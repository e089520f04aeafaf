//! RocksDB on disk: SIGKILL during synced appends; bad paths, held locks and
//! corruption, reported as typed errors that keep RocksDB's own as their source.
#![cfg(rocksdb_backend)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cortex_core::{
    Error, EventStore, ExpectedVersion, GraphStore, NewEvent, RocksEventStore, RocksGraphStore,
    RocksOptions,
};

const CHILD_DIR_VAR: &str = "CORTEX_CRASH_CHILD_DIR";
const CHILD_ROUND_VAR: &str = "CORTEX_CRASH_CHILD_ROUND";

/// An acknowledged batch as the child reported it.
#[derive(Debug, Clone, Copy)]
struct Ack {
    batch: u64,
    first_position: u64,
    count: u64,
}

/// Payload `batch:index/count`, so a reader can tell whole batches from partial ones.
fn payload(batch: u64, index: u64, count: u64) -> Vec<u8> {
    format!("{batch}:{index}/{count}").into_bytes()
}

fn parse_payload(p: &[u8]) -> (u64, u64, u64) {
    let s = std::str::from_utf8(p).unwrap();
    let (batch, rest) = s.split_once(':').unwrap();
    let (index, count) = rest.split_once('/').unwrap();
    (
        batch.parse().unwrap(),
        index.parse().unwrap(),
        count.parse().unwrap(),
    )
}

/// The child process of the crash test: appends synced batches forever and
/// reports each acknowledged one on stdout. Does nothing unless started by it.
#[test]
#[ignore = "child process of sigkill_during_synced_appends_loses_no_acknowledged_batch"]
fn crash_child() {
    let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR_VAR), std::env::var(CHILD_ROUND_VAR))
    else {
        return;
    };
    let round: u64 = round.parse().unwrap();
    let store = RocksEventStore::open_with(&dir, RocksOptions { sync_writes: true }).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let batch = round * 1_000_000 + i;
        let count = 1 + batch % 4;
        let events: Vec<NewEvent> = (0..count)
            .map(|index| NewEvent {
                event_type: "tick".into(),
                payload: payload(batch, index, count),
                timestamp_ms: batch,
            })
            .collect();
        let stream = format!("s{}", batch % 3);
        let a = store
            .append(&stream, ExpectedVersion::Any, &events)
            .unwrap();
        writeln!(out, "ack {batch} {} {count}", a.first_position).unwrap();
        out.flush().unwrap();
    }
}

/// A running `crash_child`, and what it has acknowledged so far.
struct Child {
    process: std::process::Child,
    acks: Arc<Mutex<Vec<Ack>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Child {
    fn start(dir: &Path, round: u64) -> Self {
        let mut process = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_VAR, dir)
            .env(CHILD_ROUND_VAR, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let acks = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let acks = Arc::clone(&acks);
            let stdout = process.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let f: Vec<&str> = line.split_whitespace().collect();
                    if let ["ack", batch, first, count] = f[..] {
                        acks.lock().unwrap().push(Ack {
                            batch: batch.parse().unwrap(),
                            first_position: first.parse().unwrap(),
                            count: count.parse().unwrap(),
                        });
                    }
                }
            })
        };
        Self {
            process,
            acks,
            reader,
        }
    }

    fn wait_for_acks(&self, min_acks: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.acks.lock().unwrap().len() < min_acks {
            assert!(
                Instant::now() < deadline,
                "child acknowledged nothing for 20 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Kills the child with SIGKILL; returns what it acknowledged.
    fn kill(mut self) -> Vec<Ack> {
        self.process.kill().unwrap(); // SIGKILL on Unix
        self.process.wait().unwrap();
        self.reader.join().unwrap();
        let acks = self.acks.lock().unwrap().clone();
        acks
    }
}

/// Starts the child, lets it acknowledge `min_acks` batches and then run
/// `extra` longer, and kills it. Returns what it acknowledged.
fn run_and_kill(dir: &Path, round: u64, min_acks: usize, extra: Duration) -> Vec<Ack> {
    let child = Child::start(dir, round);
    child.wait_for_acks(min_acks);
    std::thread::sleep(extra);
    child.kill()
}

#[test]
fn sigkill_during_synced_appends_loses_no_acknowledged_batch() {
    const KILLS: u64 = 24;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut acknowledged = Vec::new();
    for round in 0..KILLS {
        // Vary the moment: during open, right after the first ack, mid-stream.
        let min_acks = (round % 4) as usize * 3;
        let extra = Duration::from_micros(round * 1_700 % 9_000);
        acknowledged.extend(run_and_kill(dir.path(), round, min_acks, extra));

        let store = RocksEventStore::open(dir.path()).unwrap();
        let all = store.read_all(0, usize::MAX).unwrap();
        let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
        assert_eq!(
            positions,
            (0..all.len() as u64).collect::<Vec<_>>(),
            "gap after kill {round}"
        );
        // Every stored batch is whole and contiguous.
        let mut batches: BTreeMap<u64, Vec<(u64, u64, u64)>> = BTreeMap::new();
        for e in &all {
            let (batch, index, count) = parse_payload(&e.payload);
            batches
                .entry(batch)
                .or_default()
                .push((e.position, index, count));
        }
        for (batch, events) in &batches {
            let count = events[0].2;
            assert_eq!(
                events.len() as u64,
                count,
                "batch {batch} half-applied after kill {round}"
            );
            for (i, &(position, index, _)) in events.iter().enumerate() {
                assert_eq!(
                    (index, position),
                    (i as u64, events[0].0 + i as u64),
                    "batch {batch}"
                );
            }
        }
        for ack in &acknowledged {
            let events = batches.get(&ack.batch).unwrap_or_else(|| {
                panic!("acknowledged batch {} lost after kill {round}", ack.batch)
            });
            assert_eq!(
                (events[0].0, events.len() as u64),
                (ack.first_position, ack.count)
            );
        }
        // Each stream's index agrees with the log: versions 0.. in log
        // order. A stream the child never reached is not found; any other
        // error (a corrupt index) fails the test.
        for stream in ["s0", "s1", "s2"] {
            let in_log: Vec<u64> = all
                .iter()
                .filter(|e| e.stream_id == stream)
                .map(|e| e.position)
                .collect();
            match store.read_stream(stream, 0, usize::MAX) {
                Ok(events) => {
                    let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
                    assert_eq!(
                        versions,
                        (0..versions.len() as u64).collect::<Vec<_>>(),
                        "stream {stream} after kill {round}"
                    );
                    let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
                    assert_eq!(positions, in_log, "stream {stream} after kill {round}");
                }
                Err(Error::StreamNotFound(_)) => assert!(
                    in_log.is_empty(),
                    "stream {stream} not found after kill {round}, but the log has it"
                ),
                Err(e) => panic!("reading stream {stream} after kill {round}: {e}"),
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "crash test ran over 2 minutes"
        );
    }
    assert!(
        acknowledged.len() > 20,
        "too few acknowledged batches to mean anything"
    );
}

/// Every file of a directory tree with its bytes, RocksDB's own info logs left out.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            files.extend(snapshot(&path));
        } else if !name.starts_with("LOG") {
            files.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    files
}

fn open_error(
    result: cortex_core::Result<impl std::fmt::Debug>,
    path: &Path,
    cause: &str,
) -> Error {
    match result {
        Err(e @ Error::Open { .. }) => {
            let Error::Open {
                path: p, cause: c, ..
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(p, path);
            assert!(c.contains(cause), "cause {c:?} does not say {cause:?}");
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            e
        }
        other => panic!("expected Error::Open, got {other:?}"),
    }
}

/// The RocksDB error `e` keeps as its source.
fn rocksdb_source(e: &Error) -> &rocksdb::Error {
    use std::error::Error as _;
    e.source()
        .unwrap_or_else(|| panic!("no source in {e:?}"))
        .downcast_ref::<rocksdb::Error>()
        .unwrap_or_else(|| panic!("source of {e:?} is not a rocksdb::Error"))
}

/// Checks `result` is `Error::Locked` at `path` and returns the message
/// of RocksDB's error under it.
fn locked_error(result: cortex_core::Result<impl std::fmt::Debug>, path: &Path) -> String {
    match result {
        Err(e @ Error::Locked { .. }) => {
            let Error::Locked { path: p, .. } = &e else {
                unreachable!()
            };
            assert_eq!(p, path);
            let message = e.to_string();
            assert!(message.contains(&path.display().to_string()), "{e}");
            assert!(message.contains("another open store"), "{e}");
            rocksdb_source(&e).to_string()
        }
        other => panic!("expected Error::Locked, got {other:?}"),
    }
}

#[test]
fn opening_a_file_is_a_typed_error_and_keeps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"precious").unwrap();
    open_error(RocksEventStore::open(&file), &file, "is a file");
    open_error(RocksGraphStore::open(&file), &file, "is a file");
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");
}

#[test]
fn opening_a_store_held_open_is_a_locked_error() {
    let dir = tempfile::tempdir().unwrap();
    let first = RocksEventStore::open(dir.path()).unwrap();
    first.append("s", ExpectedVersion::Any, &[]).unwrap();
    let source = locked_error(RocksEventStore::open(dir.path()), dir.path());
    assert!(source.contains("lock hold by current process"), "{source}");
    // The first store is unharmed.
    let e = NewEvent {
        event_type: "t".into(),
        payload: vec![1],
        timestamp_ms: 0,
    };
    first.append("s", ExpectedVersion::NoStream, &[e]).unwrap();
    assert_eq!(first.read_all(0, 10).unwrap().len(), 1);
}

#[test]
fn opening_a_store_another_process_holds_is_a_locked_error() {
    let dir = tempfile::tempdir().unwrap();
    let child = Child::start(dir.path(), 0);
    child.wait_for_acks(1);
    let result = RocksEventStore::open(dir.path());
    let acks = child.kill();
    let source = locked_error(result, dir.path());
    assert!(source.contains("While lock file"), "{source}");
    assert!(!acks.is_empty());
    // Once the holder is gone, the store opens.
    RocksEventStore::open(dir.path()).unwrap();
}

#[test]
fn opening_a_corrupt_database_is_a_typed_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RocksEventStore::open(dir.path()).unwrap();
        let e = NewEvent {
            event_type: "t".into(),
            payload: b"keep me".to_vec(),
            timestamp_ms: 0,
        };
        store.append("s", ExpectedVersion::Any, &[e]).unwrap();
    }
    let manifest = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("MANIFEST-")
        })
        .unwrap();
    let mut bytes = std::fs::read(&manifest).unwrap();
    for b in bytes.iter_mut().skip(7) {
        *b ^= 0x5A;
    }
    std::fs::write(&manifest, &bytes).unwrap();
    let before = snapshot(dir.path());
    let e = open_error(RocksEventStore::open(dir.path()), dir.path(), "corrupt");
    assert_eq!(rocksdb_source(&e).kind(), rocksdb::ErrorKind::Corruption);
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a failed open changed the database files"
    );
}

#[test]
fn opening_a_store_of_the_other_kind_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    drop(RocksGraphStore::open(dir.path()).unwrap());
    let e = open_error(
        RocksEventStore::open(dir.path()),
        dir.path(),
        "not a store of this kind",
    );
    assert_eq!(
        rocksdb_source(&e).kind(),
        rocksdb::ErrorKind::InvalidArgument
    );
    let graph = RocksGraphStore::open(dir.path()).unwrap();
    assert!(graph.get_node("x").unwrap().is_none());
}

#[test]
fn reading_a_corrupt_table_is_a_storage_error_with_its_source() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = RocksEventStore::open(dir.path()).unwrap();
        let e = NewEvent {
            event_type: "t".into(),
            payload: vec![1],
            timestamp_ms: 0,
        };
        store.append("s", ExpectedVersion::Any, &[e]).unwrap();
    }
    // Opening again replays the write-ahead log into one table file per
    // column family. Corrupt the stream index's, which open does not read.
    drop(RocksEventStore::open(dir.path()).unwrap());
    let index = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sst"))
        .find(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.windows(7).any(|w| w == b"streams")
        })
        .expect("a table file of the `streams` column family");
    // A table starts with its first data block, read only when iterated.
    let mut bytes = std::fs::read(&index).unwrap();
    for b in bytes.iter_mut().take(16) {
        *b ^= 0x5A;
    }
    std::fs::write(&index, &bytes).unwrap();
    let store = RocksEventStore::open(dir.path()).unwrap();
    match store.read_stream("s", 0, 10) {
        Err(e @ Error::Storage(_)) => {
            assert_eq!(rocksdb_source(&e).kind(), rocksdb::ErrorKind::Corruption);
            assert!(e.to_string().contains("Corruption"), "{e}");
        }
        other => panic!("expected Error::Storage, got {other:?}"),
    }
}
