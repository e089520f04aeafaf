use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rocksdb::{Direction, IteratorMode, WriteBatch, DB};

use super::codec::{Reader, Writer};
use super::{cf, keys, open_db, storage, RocksOptions};
use crate::event::{check_expected, record_batch, Notifier};
use crate::{
    Appended, Error, EventStore, ExpectedVersion, NewEvent, RecordedEvent, Result, Subscription,
};

/// position (u64 BE) -> event record.
const EVENTS: &str = "events";
/// (stream, version u64 BE) -> position (u64 BE).
const STREAMS: &str = "streams";

/// An [`EventStore`] in a RocksDB database on disk.
///
/// Appends take a lock; reads never do. They read what RocksDB has
/// committed, so a reader never waits for an append, nor for its fsync.
#[derive(Debug)]
pub struct RocksEventStore {
    db: DB,
    write: RocksOptions,
    /// Held for the whole of an append, so positions are handed out in
    /// order and the expected-version check sees every earlier append.
    appending: Mutex<HeadCache>,
    /// The position of the next event. Stored only under `appending`, after
    /// the batch is written: a reader that sees `n` can read every event
    /// before `n`.
    next_position: AtomicU64,
    notifier: Notifier,
}

/// How many stream heads an event store keeps in memory at most.
const HEAD_CACHE_CAPACITY: usize = 4096;

/// The last version of streams recently appended to, so appending to a
/// busy stream skips the index lookup. Only appends fill it, with what
/// they wrote: it never holds a stream that does not exist, and is never
/// stale, since appends are serialised. Bounded by two generations of at
/// most half the capacity each: when the young one is full it becomes the
/// old one and the old one is dropped.
#[derive(Debug, Default)]
struct HeadCache {
    young: HashMap<String, u64>,
    old: HashMap<String, u64>,
}

impl HeadCache {
    fn get(&self, stream: &str) -> Option<u64> {
        self.young
            .get(stream)
            .or_else(|| self.old.get(stream))
            .copied()
    }

    fn insert(&mut self, stream: &str, last_version: u64) {
        if let Some(head) = self.young.get_mut(stream) {
            *head = last_version;
            return;
        }
        self.old.remove(stream);
        if self.young.len() >= HEAD_CACHE_CAPACITY / 2 {
            std::mem::swap(&mut self.young, &mut self.old);
            self.young.clear();
        }
        self.young.insert(stream.to_owned(), last_version);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

impl RocksEventStore {
    /// Opens or creates the store in directory `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, RocksOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, options: RocksOptions) -> Result<Self> {
        let db = open_db(path.as_ref(), &[EVENTS, STREAMS])?;
        let next_position = match db.iterator_cf(cf(&db, EVENTS), IteratorMode::End).next() {
            None => 0,
            Some(item) => {
                let (key, _) = item.map_err(storage)?;
                keys::u64_of(&key).ok_or_else(|| corrupt_key(EVENTS))? + 1
            }
        };
        Ok(Self {
            db,
            write: options,
            appending: Mutex::new(HeadCache::default()),
            next_position: AtomicU64::new(next_position),
            notifier: Notifier::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HeadCache> {
        // An append changes the cache only after its batch is written.
        self.appending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last version of `stream` as committed on disk; takes no lock.
    fn load_head(&self, stream: &str) -> Result<Option<u64>> {
        let prefix = keys::strs(&[stream]);
        let last = keys::str_u64(stream, u64::MAX);
        let mut it = self.db.iterator_cf(
            cf(&self.db, STREAMS),
            IteratorMode::From(&last, Direction::Reverse),
        );
        match it.next() {
            Some(item) => {
                let (key, _) = item.map_err(storage)?;
                match key.strip_prefix(prefix.as_slice()) {
                    Some(version) => Ok(Some(
                        keys::u64_of(version).ok_or_else(|| corrupt_key(STREAMS))?,
                    )),
                    None => Ok(None),
                }
            }
            None => Ok(None),
        }
    }

    fn event_at(&self, position: u64) -> Result<RecordedEvent> {
        let bytes = self
            .db
            .get_pinned_cf(cf(&self.db, EVENTS), position.to_be_bytes())
            .map_err(storage)?
            .ok_or_else(|| Error::Corrupt {
                what: "stream index",
                detail: format!("it points at missing position {position}"),
            })?;
        decode_event(position, &bytes)
    }
}

fn corrupt_key(what: &'static str) -> Error {
    Error::Corrupt {
        what,
        detail: "malformed key".into(),
    }
}

fn encode_event(e: &RecordedEvent) -> Vec<u8> {
    Writer::default()
        .str(&e.stream_id)
        .u64(e.version)
        .str(&e.event_type)
        .u64(e.timestamp_ms)
        .bytes(&e.payload)
        .finish()
}

fn decode_event(position: u64, bytes: &[u8]) -> Result<RecordedEvent> {
    let mut r = Reader::new(bytes, "event");
    let event = RecordedEvent {
        position,
        stream_id: r.str()?,
        version: r.u64()?,
        event_type: r.str()?,
        timestamp_ms: r.u64()?,
        payload: r.bytes()?,
    };
    r.end()?;
    Ok(event)
}

impl EventStore for RocksEventStore {
    fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<Appended> {
        let mut heads = self.lock();
        let current = match heads.get(stream) {
            Some(head) => Some(head),
            None => self.load_head(stream)?,
        };
        check_expected(stream, expected, current)?;
        // Relaxed: only appends store it, and they hold the lock we hold.
        let next_position = self.next_position.load(Ordering::Relaxed);
        let (appended, recorded) = record_batch(stream, current, next_position, events);
        let Some(last) = recorded.last() else {
            return Ok(appended);
        };
        let mut batch = WriteBatch::default();
        for e in &recorded {
            let position = e.position.to_be_bytes();
            batch.put_cf(cf(&self.db, EVENTS), position, encode_event(e));
            batch.put_cf(
                cf(&self.db, STREAMS),
                keys::str_u64(stream, e.version),
                position,
            );
        }
        self.db
            .write_opt(batch, &self.write.write_options())
            .map_err(storage)?;
        self.next_position
            .store(last.position + 1, Ordering::Release);
        heads.insert(stream, last.version);
        self.notifier.publish(recorded.into_iter().map(Arc::new));
        Ok(appended)
    }

    fn read_stream(&self, stream: &str, from: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        let prefix = keys::strs(&[stream]);
        let start = keys::str_u64(stream, from);
        // One iterator, so the events and the existence check below come
        // from the same point in time.
        let mut index = self.db.iterator_cf(
            cf(&self.db, STREAMS),
            IteratorMode::From(&start, Direction::Forward),
        );
        let mut out = Vec::new();
        while out.len() < max {
            let Some(item) = index.next() else { break };
            let (key, position) = item.map_err(storage)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let position = keys::u64_of(&position).ok_or_else(|| corrupt_key(STREAMS))?;
            out.push(self.event_at(position)?);
        }
        if out.is_empty() {
            index.set_mode(IteratorMode::From(&prefix, Direction::Forward));
            let exists = match index.next() {
                Some(item) => item.map_err(storage)?.0.starts_with(&prefix),
                None => false,
            };
            if !exists {
                return Err(Error::StreamNotFound(stream.to_owned()));
            }
        }
        Ok(out)
    }

    fn read_all(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        let start = from.to_be_bytes();
        self.db
            .iterator_cf(
                cf(&self.db, EVENTS),
                IteratorMode::From(&start, Direction::Forward),
            )
            .take(max)
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                decode_event(
                    keys::u64_of(&key).ok_or_else(|| corrupt_key(EVENTS))?,
                    &value,
                )
            })
            .collect()
    }

    fn stream_version(&self, stream: &str) -> Result<Option<u64>> {
        self.load_head(stream)
    }

    fn next_position(&self) -> Result<u64> {
        Ok(self.next_position.load(Ordering::Acquire))
    }

    fn subscribe(&self) -> Subscription {
        self.notifier.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    fn open() -> (tempfile::TempDir, RocksEventStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = RocksEventStore::open(dir.path()).unwrap();
        (dir, store)
    }

    fn event(n: u64) -> NewEvent {
        NewEvent {
            event_type: "t".into(),
            payload: n.to_le_bytes().to_vec(),
            timestamp_ms: n,
        }
    }

    #[test]
    fn looking_up_unknown_streams_caches_nothing() {
        let (_dir, store) = open();
        store
            .append("known", ExpectedVersion::Any, &[event(0)])
            .unwrap();
        for i in 0..100_000 {
            let id = format!("unknown-{i}");
            assert_eq!(store.stream_version(&id).unwrap(), None);
            assert!(matches!(
                store.read_stream(&id, 0, 10),
                Err(Error::StreamNotFound(_))
            ));
            // Appends that write nothing learn the head too; they keep it no more than readers.
            assert!(matches!(
                store.append(&id, ExpectedVersion::Exact(0), &[event(1)]),
                Err(Error::WrongExpectedVersion { .. })
            ));
            store.append(&id, ExpectedVersion::NoStream, &[]).unwrap();
        }
        assert_eq!(store.lock().len(), 1, "only the stream appended to");
    }

    #[test]
    fn head_cache_stays_bounded_and_appends_stay_correct_past_it() {
        let (_dir, store) = open();
        let streams = (HEAD_CACHE_CAPACITY * 2 + 10) as u64;
        for round in 0..2u64 {
            for i in 0..streams {
                let expected = ExpectedVersion::of(round.checked_sub(1));
                let a = store
                    .append(&format!("s{i}"), expected, &[event(i)])
                    .unwrap();
                assert_eq!(a.first_version, round);
                assert!(store.lock().len() <= HEAD_CACHE_CAPACITY);
            }
        }
        assert_eq!(store.next_position().unwrap(), 2 * streams);
    }

    #[test]
    fn head_cache_keeps_the_streams_appended_to_last() {
        let mut cache = HeadCache::default();
        for i in 0..100_000u64 {
            cache.insert(&format!("s{i}"), i);
            assert!(cache.len() <= HEAD_CACHE_CAPACITY);
        }
        for i in 100_000 - HEAD_CACHE_CAPACITY as u64 / 2..100_000 {
            assert_eq!(cache.get(&format!("s{i}")), Some(i));
        }
        cache.insert("s99999", 7);
        assert_eq!(cache.get("s99999"), Some(7));
    }

    /// An appender holding the lock stands in for one blocked in its fsync:
    /// without readers that bypass the lock, this test hangs rather than
    /// flakes, and fails at the timeout.
    #[test]
    fn readers_do_not_wait_for_an_append_in_progress() {
        let (_dir, store) = open();
        store
            .append("s", ExpectedVersion::Any, &[event(0), event(1)])
            .unwrap();
        let appending = store.lock();
        let (tx, rx) = mpsc::channel();
        std::thread::scope(|scope| {
            let store = &store;
            scope.spawn(move || {
                let read = (
                    store.read_stream("s", 0, 10).map(|e| e.len()),
                    store.stream_version("s"),
                    store.read_all(0, 10).map(|e| e.len()),
                    store.next_position(),
                );
                let _ = tx.send(read);
            });
            let read = rx.recv_timeout(Duration::from_secs(30));
            // Let a blocked reader finish, or the scope never ends.
            drop(appending);
            let (events, version, all, next) = read.expect("a reader waited for the append lock");
            assert_eq!(events.unwrap(), 2);
            assert_eq!(version.unwrap(), Some(1));
            assert_eq!(all.unwrap(), 2);
            assert_eq!(next.unwrap(), 2);
        });
    }
}
