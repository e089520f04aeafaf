use std::path::PathBuf;

use crate::ExpectedVersion;

/// Everything a store can fail with. Each variant names what failed and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Optimistic concurrency: the stream was not at the expected version.
    /// Nothing of the batch was written.
    #[error("stream `{stream}`: expected version {expected}, but the stream is at {actual}")]
    WrongExpectedVersion {
        stream: String,
        expected: ExpectedVersion,
        /// Where the stream actually is (`NoStream` or `Exact(last version)`).
        actual: ExpectedVersion,
    },
    #[error("stream `{0}` does not exist")]
    StreamNotFound(String),
    #[error("node `{0}` does not exist")]
    NodeNotFound(String),
    #[error("node `{0}` already exists")]
    NodeExists(String),
    #[error("edge `{from}` -[{edge_type}]-> `{to}` does not exist")]
    EdgeNotFound {
        from: String,
        edge_type: String,
        to: String,
    },
    #[error("edge `{from}` -[{edge_type}]-> `{to}` already exists")]
    EdgeExists {
        from: String,
        edge_type: String,
        to: String,
    },
    /// The store at `path` could not be opened; nothing there was changed.
    #[error("cannot open store at `{}`: {cause}", path.display())]
    Open { path: PathBuf, cause: String },
    /// A stored record could not be decoded.
    #[error("corrupt {what} record: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// The storage engine failed while the store was open.
    #[error("storage error: {0}")]
    Storage(String),
    /// A subscriber fell behind and missed events; re-read them with
    /// [`EventStore::read_all`](crate::EventStore::read_all).
    #[error("subscription lagged behind and missed {0} events")]
    Lagged(u64),
    /// The store behind a subscription was dropped.
    #[error("subscription closed: the store was dropped")]
    Closed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
