use std::fmt;
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::{Error, Result};

/// An event to append: the store assigns its stream version and global position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event_type: String,
    pub payload: Vec<u8>,
    /// Milliseconds since the Unix epoch, chosen by the caller.
    pub timestamp_ms: u64,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub stream_id: String,
    /// 0 for a stream's first event; gap-free within the stream.
    pub version: u64,
    /// 0 for the store's first event; gap-free across all streams.
    pub position: u64,
    pub event_type: String,
    pub payload: Vec<u8>,
    pub timestamp_ms: u64,
}

/// The optimistic-concurrency condition of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the stream's state.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have this version.
    Exact(u64),
}

impl ExpectedVersion {
    /// The state of a stream whose last version is `last`.
    pub fn of(last: Option<u64>) -> Self {
        last.map_or(Self::NoStream, Self::Exact)
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// Where an appended batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Global position of the batch's first event (the next free one if empty).
    pub first_position: u64,
    /// Stream version of the batch's first event (the next free one if empty).
    pub first_version: u64,
    pub count: u64,
}

/// An append-only log of events grouped in streams.
///
/// Appends are atomic per batch: all of a batch's events are stored or none.
pub trait EventStore: Send + Sync {
    /// Appends `events` to `stream` if the stream is at `expected`.
    /// An empty batch only checks `expected`.
    fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<Appended>;

    /// Up to `max` events of `stream` from version `from`; empty past the end.
    /// Fails with [`Error::StreamNotFound`] for a stream never appended to.
    fn read_stream(&self, stream: &str, from: u64, max: usize) -> Result<Vec<RecordedEvent>>;

    /// Up to `max` events of the global log from position `from`; empty past the end.
    fn read_all(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>>;

    /// The version of the stream's last event, `None` if it does not exist.
    fn stream_version(&self, stream: &str) -> Result<Option<u64>>;

    /// The position the next appended event will get (= number of events).
    fn next_position(&self) -> Result<u64>;

    /// Events appended from now on, in log order.
    fn subscribe(&self) -> Subscription;
}

/// A live feed of appended events, in global-position order.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Arc<RecordedEvent>>,
}

impl Subscription {
    /// Waits for the next appended event.
    pub async fn recv(&mut self) -> Result<Arc<RecordedEvent>> {
        self.rx.recv().await.map_err(|e| match e {
            broadcast::error::RecvError::Lagged(n) => Error::Lagged(n),
            broadcast::error::RecvError::Closed => Error::Closed,
        })
    }

    /// The next appended event if one is waiting.
    pub fn try_recv(&mut self) -> Result<Option<Arc<RecordedEvent>>> {
        match self.rx.try_recv() {
            Ok(event) => Ok(Some(event)),
            Err(broadcast::error::TryRecvError::Empty) => Ok(None),
            Err(broadcast::error::TryRecvError::Lagged(n)) => Err(Error::Lagged(n)),
            Err(broadcast::error::TryRecvError::Closed) => Err(Error::Closed),
        }
    }
}

/// The part of an event store both backends share: the concurrency check
/// and the fan-out to subscribers.
#[derive(Debug)]
pub(crate) struct Notifier {
    tx: broadcast::Sender<Arc<RecordedEvent>>,
}

/// How many events a subscriber may fall behind before it gets `Lagged`.
const SUBSCRIBER_CAPACITY: usize = 4096;

impl Notifier {
    pub(crate) fn new() -> Self {
        Self {
            tx: broadcast::channel(SUBSCRIBER_CAPACITY).0,
        }
    }

    pub(crate) fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.tx.subscribe(),
        }
    }

    /// Call while still holding the store's append lock, so subscribers see log order.
    pub(crate) fn publish(&self, events: impl IntoIterator<Item = Arc<RecordedEvent>>) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        for event in events {
            // An error only means every subscriber has gone.
            let _ = self.tx.send(event);
        }
    }
}

/// Fails unless a stream whose last version is `current` satisfies `expected`.
pub(crate) fn check_expected(
    stream: &str,
    expected: ExpectedVersion,
    current: Option<u64>,
) -> Result<()> {
    let ok = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => current.is_none(),
        ExpectedVersion::Exact(v) => current == Some(v),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::WrongExpectedVersion {
            stream: stream.to_owned(),
            expected,
            actual: ExpectedVersion::of(current),
        })
    }
}

/// Stamps a batch with the versions and positions it will occupy.
pub(crate) fn record_batch(
    stream: &str,
    current: Option<u64>,
    next_position: u64,
    events: &[NewEvent],
) -> (Appended, Vec<RecordedEvent>) {
    let first_version = current.map_or(0, |v| v + 1);
    let recorded = events
        .iter()
        .zip(0u64..)
        .map(|(e, i)| RecordedEvent {
            stream_id: stream.to_owned(),
            version: first_version + i,
            position: next_position + i,
            event_type: e.event_type.clone(),
            payload: e.payload.clone(),
            timestamp_ms: e.timestamp_ms,
        })
        .collect::<Vec<_>>();
    let appended = Appended {
        first_position: next_position,
        first_version,
        count: recorded.len() as u64,
    };
    (appended, recorded)
}
