use std::collections::HashMap;
use std::path::Path;
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
#[derive(Debug)]
pub struct RocksEventStore {
    db: DB,
    write: RocksOptions,
    /// Held for the whole of an append: positions are handed out in order.
    state: Mutex<AppendState>,
    notifier: Notifier,
}

#[derive(Debug)]
struct AppendState {
    next_position: u64,
    /// Last version of streams seen since open (`None`: known not to exist).
    heads: HashMap<String, Option<u64>>,
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
            state: Mutex::new(AppendState {
                next_position,
                heads: HashMap::new(),
            }),
            notifier: Notifier::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, AppendState> {
        // An append changes the state only after its batch is written.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last version of `stream` as stored on disk.
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

    fn head(&self, state: &mut AppendState, stream: &str) -> Result<Option<u64>> {
        if let Some(head) = state.heads.get(stream) {
            return Ok(*head);
        }
        let head = self.load_head(stream)?;
        state.heads.insert(stream.to_owned(), head);
        Ok(head)
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
        let mut state = self.lock();
        let current = self.head(&mut state, stream)?;
        check_expected(stream, expected, current)?;
        let (appended, recorded) = record_batch(stream, current, state.next_position, events);
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
        state.next_position = last.position + 1;
        state.heads.insert(stream.to_owned(), Some(last.version));
        self.notifier.publish(recorded.into_iter().map(Arc::new));
        Ok(appended)
    }

    fn read_stream(&self, stream: &str, from: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        if self.stream_version(stream)?.is_none() {
            return Err(Error::StreamNotFound(stream.to_owned()));
        }
        let prefix = keys::strs(&[stream]);
        let start = keys::str_u64(stream, from);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(
            cf(&self.db, STREAMS),
            IteratorMode::From(&start, Direction::Forward),
        ) {
            if out.len() == max {
                break;
            }
            let (key, position) = item.map_err(storage)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let position = keys::u64_of(&position).ok_or_else(|| corrupt_key(STREAMS))?;
            out.push(self.event_at(position)?);
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
        let mut state = self.lock();
        self.head(&mut state, stream)
    }

    fn next_position(&self) -> Result<u64> {
        Ok(self.lock().next_position)
    }

    fn subscribe(&self) -> Subscription {
        self.notifier.subscribe()
    }
}
