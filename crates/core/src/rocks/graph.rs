use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rocksdb::{Direction, IteratorMode, WriteBatch, DB};

use super::codec::{Reader, Writer};
use super::{cf, keys, open_db, storage, RocksOptions};
use crate::{Edge, Error, GraphStore, Node, Result};

/// id -> (label, properties).
const NODES: &str = "nodes";
/// (from, type, to) -> properties.
const OUT: &str = "out";
/// (to, type, from) -> properties, the mirror of `OUT`.
const IN: &str = "in";

/// A [`GraphStore`] in a RocksDB database on disk.
#[derive(Debug)]
pub struct RocksGraphStore {
    db: DB,
    write: RocksOptions,
    /// Serialises check-then-write changes (add fails if present, and so on).
    writer: Mutex<()>,
}

impl RocksGraphStore {
    /// Opens or creates the store in directory `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, RocksOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, options: RocksOptions) -> Result<Self> {
        Ok(Self {
            db: open_db(path.as_ref(), &[NODES, OUT, IN])?,
            write: options,
            writer: Mutex::new(()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        self.db
            .write_opt(batch, &self.write.write_options())
            .map_err(storage)
    }

    fn has(&self, family: &str, key: &[u8]) -> Result<bool> {
        Ok(self
            .db
            .get_pinned_cf(cf(&self.db, family), key)
            .map_err(storage)?
            .is_some())
    }

    fn put_node(&self, node: &Node) -> Result<()> {
        let mut batch = WriteBatch::default();
        let value = Writer::default()
            .str(&node.label)
            .props(&node.properties)
            .finish();
        batch.put_cf(cf(&self.db, NODES), keys::strs(&[&node.id]), value);
        self.write(batch)
    }

    fn put_edge(&self, edge: &Edge) -> Result<()> {
        let mut batch = WriteBatch::default();
        let props = Writer::default().props(&edge.properties).finish();
        let (from, ty, to) = (&edge.from, &edge.edge_type, &edge.to);
        batch.put_cf(cf(&self.db, OUT), keys::strs(&[from, ty, to]), &props);
        batch.put_cf(cf(&self.db, IN), keys::strs(&[to, ty, from]), &props);
        self.write(batch)
    }

    /// Edges in `family` whose key starts with `id`; `mirrored` for `IN`,
    /// whose keys are `(to, type, from)`.
    fn edges(&self, family: &'static str, id: &str, mirrored: bool) -> Result<Vec<Edge>> {
        let prefix = keys::strs(&[id]);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(
            cf(&self.db, family),
            IteratorMode::From(&prefix, Direction::Forward),
        ) {
            let (key, value) = item.map_err(storage)?;
            let Some(rest) = key.strip_prefix(prefix.as_slice()) else {
                break;
            };
            let corrupt = || Error::Corrupt {
                what: family,
                detail: "malformed edge key".into(),
            };
            let (edge_type, rest) = keys::split_str(rest).ok_or_else(corrupt)?;
            let (other, rest) = keys::split_str(rest).ok_or_else(corrupt)?;
            if !rest.is_empty() {
                return Err(corrupt());
            }
            let mut r = Reader::new(&value, family);
            let properties = r.props()?;
            r.end()?;
            let (from, to) = if mirrored {
                (other, id.to_owned())
            } else {
                (id.to_owned(), other)
            };
            out.push(Edge {
                from,
                edge_type,
                to,
                properties,
            });
        }
        Ok(out)
    }
}

fn decode_node(id: &str, bytes: &[u8]) -> Result<Node> {
    let mut r = Reader::new(bytes, "node");
    let node = Node {
        id: id.to_owned(),
        label: r.str()?,
        properties: r.props()?,
    };
    r.end()?;
    Ok(node)
}

fn edge_error(edge: &Edge, exists: bool) -> Error {
    let (from, edge_type, to) = (edge.from.clone(), edge.edge_type.clone(), edge.to.clone());
    if exists {
        Error::EdgeExists {
            from,
            edge_type,
            to,
        }
    } else {
        Error::EdgeNotFound {
            from,
            edge_type,
            to,
        }
    }
}

impl GraphStore for RocksGraphStore {
    fn add_node(&self, node: &Node) -> Result<()> {
        let _guard = self.lock();
        if self.has(NODES, &keys::strs(&[&node.id]))? {
            return Err(Error::NodeExists(node.id.clone()));
        }
        self.put_node(node)
    }

    fn update_node(&self, node: &Node) -> Result<()> {
        let _guard = self.lock();
        if !self.has(NODES, &keys::strs(&[&node.id]))? {
            return Err(Error::NodeNotFound(node.id.clone()));
        }
        self.put_node(node)
    }

    fn remove_node(&self, id: &str) -> Result<bool> {
        let _guard = self.lock();
        let key = keys::strs(&[id]);
        if !self.has(NODES, &key)? {
            return Ok(false);
        }
        let mut batch = WriteBatch::default();
        batch.delete_cf(cf(&self.db, NODES), key);
        for e in self
            .edges(OUT, id, false)?
            .into_iter()
            .chain(self.edges(IN, id, true)?)
        {
            let (from, ty, to) = (&e.from, &e.edge_type, &e.to);
            batch.delete_cf(cf(&self.db, OUT), keys::strs(&[from, ty, to]));
            batch.delete_cf(cf(&self.db, IN), keys::strs(&[to, ty, from]));
        }
        self.write(batch)?;
        Ok(true)
    }

    fn get_node(&self, id: &str) -> Result<Option<Node>> {
        self.db
            .get_pinned_cf(cf(&self.db, NODES), keys::strs(&[id]))
            .map_err(storage)?
            .map(|bytes| decode_node(id, &bytes))
            .transpose()
    }

    fn add_edge(&self, edge: &Edge) -> Result<()> {
        let _guard = self.lock();
        for id in [&edge.from, &edge.to] {
            if !self.has(NODES, &keys::strs(&[id]))? {
                return Err(Error::NodeNotFound(id.clone()));
            }
        }
        if self.has(OUT, &keys::strs(&[&edge.from, &edge.edge_type, &edge.to]))? {
            return Err(edge_error(edge, true));
        }
        self.put_edge(edge)
    }

    fn update_edge(&self, edge: &Edge) -> Result<()> {
        let _guard = self.lock();
        if !self.has(OUT, &keys::strs(&[&edge.from, &edge.edge_type, &edge.to]))? {
            return Err(edge_error(edge, false));
        }
        self.put_edge(edge)
    }

    fn remove_edge(&self, from: &str, edge_type: &str, to: &str) -> Result<bool> {
        let _guard = self.lock();
        let key = keys::strs(&[from, edge_type, to]);
        if !self.has(OUT, &key)? {
            return Ok(false);
        }
        let mut batch = WriteBatch::default();
        batch.delete_cf(cf(&self.db, OUT), key);
        batch.delete_cf(cf(&self.db, IN), keys::strs(&[to, edge_type, from]));
        self.write(batch)?;
        Ok(true)
    }

    fn out_edges(&self, id: &str) -> Result<Vec<Edge>> {
        self.edges(OUT, id, false)
    }

    fn in_edges(&self, id: &str) -> Result<Vec<Edge>> {
        self.edges(IN, id, true)
    }
}
