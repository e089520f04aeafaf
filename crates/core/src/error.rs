use std::fmt;
use std::path::PathBuf;

use crate::ExpectedVersion;

/// Everything a store can fail with. Each variant names what failed and why.
///
/// An error of the storage engine behind one is its `source()`, and quoted
/// in its message too: many callers print only the message.
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
    #[error("cannot open store at `{}`: {cause}{}", path.display(), InParens(source))]
    Open {
        path: PathBuf,
        /// What is wrong and what to do about it.
        cause: String,
        /// The storage engine's own error, when it reported one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The store at `path` is held by another open store, in this process
    /// or another; nothing there was changed.
    #[error(
        "cannot open store at `{}`: another open store or process holds it; \
         close that one first ({source})",
        path.display()
    )]
    Locked {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A stored record could not be decoded.
    #[error("corrupt {what} record: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// The storage engine failed while the store was open.
    #[error("storage error: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A subscriber fell behind and missed events; re-read them with
    /// [`EventStore::read_all`](crate::EventStore::read_all).
    #[error("subscription lagged behind and missed {0} events")]
    Lagged(u64),
    /// The store behind a subscription was dropped.
    #[error("subscription closed: the store was dropped")]
    Closed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// ` (source)`, or nothing.
struct InParens<'a>(&'a Option<Box<dyn std::error::Error + Send + Sync>>);

impl fmt::Display for InParens<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(source) => write!(f, " ({source})"),
            None => Ok(()),
        }
    }
}
