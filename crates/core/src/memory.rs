//! In-memory backends: available on every target, the default on wasm.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::event::{check_expected, record_batch, Notifier};
use crate::{
    Appended, Edge, Error, EventStore, ExpectedVersion, GraphStore, NewEvent, Node, Properties,
    RecordedEvent, Result, Subscription,
};

/// Locks a mutex, recovering from poisoning: every writer below leaves the
/// state consistent before anything can panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Debug, Default)]
struct EventLog {
    events: Vec<Arc<RecordedEvent>>,
    /// Stream id to the positions of its events, in version order.
    streams: BTreeMap<String, Vec<u64>>,
}

/// An [`EventStore`] held in memory; its contents go with it.
#[derive(Debug)]
pub struct MemoryEventStore {
    log: Mutex<EventLog>,
    notifier: Notifier,
}

impl MemoryEventStore {
    pub fn new() -> Self {
        Self {
            log: Mutex::default(),
            notifier: Notifier::new(),
        }
    }
}

impl Default for MemoryEventStore {
    fn default() -> Self {
        Self::new()
    }
}

impl EventStore for MemoryEventStore {
    fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<Appended> {
        let mut log = lock(&self.log);
        let current = log
            .streams
            .get(stream)
            .map(|positions| positions.len() as u64 - 1);
        check_expected(stream, expected, current)?;
        let (appended, recorded) = record_batch(stream, current, log.events.len() as u64, events);
        if recorded.is_empty() {
            return Ok(appended);
        }
        let recorded: Vec<_> = recorded.into_iter().map(Arc::new).collect();
        log.streams
            .entry(stream.to_owned())
            .or_default()
            .extend(recorded.iter().map(|e| e.position));
        log.events.extend(recorded.iter().cloned());
        self.notifier.publish(recorded);
        Ok(appended)
    }

    fn read_stream(&self, stream: &str, from: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        let log = lock(&self.log);
        let positions = log
            .streams
            .get(stream)
            .ok_or_else(|| Error::StreamNotFound(stream.to_owned()))?;
        let start = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .min(positions.len());
        Ok(positions[start..]
            .iter()
            .take(max)
            .map(|&p| RecordedEvent::clone(&log.events[p as usize]))
            .collect())
    }

    fn read_all(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        let log = lock(&self.log);
        let start = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .min(log.events.len());
        Ok(log.events[start..]
            .iter()
            .take(max)
            .map(|e| RecordedEvent::clone(e))
            .collect())
    }

    fn stream_version(&self, stream: &str) -> Result<Option<u64>> {
        Ok(lock(&self.log)
            .streams
            .get(stream)
            .map(|positions| positions.len() as u64 - 1))
    }

    fn next_position(&self) -> Result<u64> {
        Ok(lock(&self.log).events.len() as u64)
    }

    fn subscribe(&self) -> Subscription {
        self.notifier.subscribe()
    }
}

/// `(from, edge_type, to)`: tuple order is the neighbour order the trait promises.
type EdgeKey = (String, String, String);

#[derive(Debug, Default)]
struct Graph {
    nodes: BTreeMap<String, Node>,
    out: BTreeMap<EdgeKey, Properties>,
    /// `(to, edge_type, from)` for every edge, to find in-edges: a mirror of
    /// `out` of the same type, so the wasm binary carries one map's code.
    inn: BTreeMap<EdgeKey, Properties>,
}

impl Graph {
    fn edges_from(&self, id: &str) -> Vec<Edge> {
        edges_of(&self.out, id, false)
    }

    fn edges_into(&self, id: &str) -> Vec<Edge> {
        edges_of(&self.inn, id, true)
    }

    fn remove_edge(&mut self, from: &str, edge_type: &str, to: &str) -> bool {
        let key = (from.to_owned(), edge_type.to_owned(), to.to_owned());
        let existed = self.out.remove(&key).is_some();
        let (from, edge_type, to) = key;
        self.inn.remove(&(to, edge_type, from));
        existed
    }
}

/// Edges in `index` whose key starts with `id`; `mirrored` for `inn`, whose
/// keys are `(to, edge_type, from)`.
fn edges_of(index: &BTreeMap<EdgeKey, Properties>, id: &str, mirrored: bool) -> Vec<Edge> {
    index
        .range(first_is(id))
        .take_while(|(k, _)| k.0 == id)
        .map(|((first, edge_type, other), props)| {
            let (from, to) = if mirrored {
                (other, first)
            } else {
                (first, other)
            };
            Edge {
                from: from.clone(),
                edge_type: edge_type.clone(),
                to: to.clone(),
                properties: props.clone(),
            }
        })
        .collect()
}

/// The range of keys whose first component is `id` or sorts after it.
fn first_is(id: &str) -> std::ops::RangeFrom<EdgeKey> {
    (id.to_owned(), String::new(), String::new())..
}

fn edge_key(edge: &Edge) -> EdgeKey {
    (edge.from.clone(), edge.edge_type.clone(), edge.to.clone())
}

fn mirror_key(edge: &Edge) -> EdgeKey {
    (edge.to.clone(), edge.edge_type.clone(), edge.from.clone())
}

/// A [`GraphStore`] held in memory; its contents go with it.
#[derive(Debug, Default)]
pub struct MemoryGraphStore {
    graph: Mutex<Graph>,
}

impl MemoryGraphStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl GraphStore for MemoryGraphStore {
    fn add_node(&self, node: &Node) -> Result<()> {
        let mut g = lock(&self.graph);
        if g.nodes.contains_key(&node.id) {
            return Err(Error::NodeExists(node.id.clone()));
        }
        g.nodes.insert(node.id.clone(), node.clone());
        Ok(())
    }

    fn update_node(&self, node: &Node) -> Result<()> {
        let mut g = lock(&self.graph);
        let slot = g
            .nodes
            .get_mut(&node.id)
            .ok_or_else(|| Error::NodeNotFound(node.id.clone()))?;
        *slot = node.clone();
        Ok(())
    }

    fn remove_node(&self, id: &str) -> Result<bool> {
        let mut g = lock(&self.graph);
        if g.nodes.remove(id).is_none() {
            return Ok(false);
        }
        for e in g.edges_from(id).into_iter().chain(g.edges_into(id)) {
            g.remove_edge(&e.from, &e.edge_type, &e.to);
        }
        Ok(true)
    }

    fn get_node(&self, id: &str) -> Result<Option<Node>> {
        Ok(lock(&self.graph).nodes.get(id).cloned())
    }

    fn add_edge(&self, edge: &Edge) -> Result<()> {
        let mut g = lock(&self.graph);
        for id in [&edge.from, &edge.to] {
            if !g.nodes.contains_key(id) {
                return Err(Error::NodeNotFound(id.clone()));
            }
        }
        let key = edge_key(edge);
        if g.out.contains_key(&key) {
            return Err(Error::EdgeExists {
                from: key.0,
                edge_type: key.1,
                to: key.2,
            });
        }
        g.out.insert(key, edge.properties.clone());
        g.inn.insert(mirror_key(edge), edge.properties.clone());
        Ok(())
    }

    fn update_edge(&self, edge: &Edge) -> Result<()> {
        let mut g = lock(&self.graph);
        let key = edge_key(edge);
        match g.out.get_mut(&key) {
            Some(props) => {
                *props = edge.properties.clone();
                g.inn.insert(mirror_key(edge), edge.properties.clone());
                Ok(())
            }
            None => Err(Error::EdgeNotFound {
                from: key.0,
                edge_type: key.1,
                to: key.2,
            }),
        }
    }

    fn remove_edge(&self, from: &str, edge_type: &str, to: &str) -> Result<bool> {
        Ok(lock(&self.graph).remove_edge(from, edge_type, to))
    }

    fn out_edges(&self, id: &str) -> Result<Vec<Edge>> {
        Ok(lock(&self.graph).edges_from(id))
    }

    fn in_edges(&self, id: &str) -> Result<Vec<Edge>> {
        Ok(lock(&self.graph).edges_into(id))
    }
}
