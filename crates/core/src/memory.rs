//! In-memory backends: available on every target, the default on wasm.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::event::{check_expected, record_batch, Notifier};
use crate::{
    Appended, Edge, Error, EventStore, ExpectedVersion, GraphStore, NewEvent, Node, Properties,
    RecordedEvent, Result, Subscription, Visit,
};

/// Locks a mutex, recovering from poisoning: every writer below leaves the
/// state consistent before anything can panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Debug, Default)]
struct EventLog {
    events: Vec<Arc<RecordedEvent>>,
    /// Each stream's positions of its events, in version order.
    streams: Interned<Vec<u64>>,
}

impl EventLog {
    /// The version of the stream's last event.
    fn version(&self, stream: &str) -> Option<u64> {
        let id = self.streams.id(stream)?;
        Some(self.streams.get(id).len() as u64 - 1)
    }
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
        let current = log.version(stream);
        check_expected(stream, expected, current)?;
        let (appended, recorded) = record_batch(stream, current, log.events.len() as u64, events);
        if recorded.is_empty() {
            return Ok(appended);
        }
        let recorded: Vec<_> = recorded.into_iter().map(Arc::new).collect();
        let id = log.streams.intern(stream);
        log.streams
            .get_mut(id)
            .extend(recorded.iter().map(|e| e.position));
        log.events.extend(recorded.iter().cloned());
        self.notifier.publish(recorded);
        Ok(appended)
    }

    fn read_stream(&self, stream: &str, from: u64, max: usize) -> Result<Vec<RecordedEvent>> {
        let log = lock(&self.log);
        let positions = log
            .streams
            .id(stream)
            .map(|id| log.streams.get(id))
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
        Ok(lock(&self.log).version(stream))
    }

    fn next_position(&self) -> Result<u64> {
        Ok(lock(&self.log).events.len() as u64)
    }

    fn subscribe(&self) -> Subscription {
        self.notifier.subscribe()
    }
}

/// Strings interned as dense ids, each with its name and a `T`: one
/// `String → u32` map, and a `Vec` indexed by id for everything else. Ids
/// are handed out in the order strings are first seen and never forgotten,
/// so the `Vec` stands in for a map keyed by the string.
///
/// Both memory stores intern through this one type, so the binary carries
/// one map's code for both; a hash map, as only lookups are made (no
/// ordered walk), each hashing the name once instead of comparing it byte
/// by byte at every level of a B-tree.
#[derive(Debug)]
struct Interned<T> {
    ids: HashMap<String, u32, BuildHasherDefault<Fnv>>,
    entries: Vec<(String, T)>,
}

impl<T> Default for Interned<T> {
    fn default() -> Self {
        Self {
            ids: HashMap::default(),
            entries: Vec::new(),
        }
    }
}

impl<T: Default> Interned<T> {
    fn id(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The id of `name`, interning it with a default `T` if it is new.
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.id(name) {
            return id;
        }
        let id = u32::try_from(self.entries.len()).expect("fewer than 2^32 distinct names");
        self.ids.insert(name.to_owned(), id);
        self.entries.push((name.to_owned(), T::default()));
        id
    }

    fn name(&self, id: u32) -> &str {
        &self.entries[id as usize].0
    }

    fn get(&self, id: u32) -> &T {
        &self.entries[id as usize].1
    }

    fn get_mut(&mut self, id: u32) -> &mut T {
        &mut self.entries[id as usize].1
    }
}

/// FNV-1a, 64-bit: the interner's hash. Fixed, so the same on every run
/// and target, and tiny; the map's order is never observed.
#[derive(Debug, Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        if self.0 == 0 {
            self.0 = 0xcbf2_9ce4_8422_2325;
        }
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What the graph keeps for one interned name: a node id, an edge type, or both.
#[derive(Debug, Default)]
struct Slot {
    /// Label and properties while a node has this id.
    node: Option<(String, Properties)>,
    /// Edges out of the node (`other` is the target), sorted by the names of
    /// `(edge_type, other)`: the neighbour order the trait promises.
    out: Vec<Link>,
    /// Edges into the node (`other` is the source), sorted the same way; a
    /// mirror of the `out` lists, of the same type so that one `Vec` and one
    /// search serve both.
    inn: Vec<Link>,
}

/// An edge seen from one of its ends.
#[derive(Debug)]
struct Link {
    edge_type: u32,
    other: u32,
    properties: Properties,
}

/// The parent of a node [`Graph::walk`] has not reached.
const UNSEEN: u32 = u32::MAX;

/// Which of a slot's edge lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Out,
    In,
}

#[derive(Debug, Default)]
struct Graph {
    names: Interned<Slot>,
}

impl Graph {
    fn name(&self, id: u32) -> &str {
        self.names.name(id)
    }

    /// The id of a node that exists.
    fn node_id(&self, name: &str) -> Option<u32> {
        self.names
            .id(name)
            .filter(|&id| self.names.get(id).node.is_some())
    }

    fn node_or_err(&self, name: &str) -> Result<u32> {
        self.node_id(name)
            .ok_or_else(|| Error::NodeNotFound(name.to_owned()))
    }

    fn links(&self, id: u32, dir: Dir) -> &[Link] {
        let slot = self.names.get(id);
        match dir {
            Dir::Out => &slot.out,
            Dir::In => &slot.inn,
        }
    }

    fn links_mut(&mut self, id: u32, dir: Dir) -> &mut Vec<Link> {
        let slot = self.names.get_mut(id);
        match dir {
            Dir::Out => &mut slot.out,
            Dir::In => &mut slot.inn,
        }
    }

    /// Where the link `(edge_type, other)` is, or would go, in `id`'s list.
    fn search(&self, id: u32, dir: Dir, edge_type: &str, other: &str) -> Result<usize, usize> {
        self.links(id, dir).binary_search_by(|l| {
            (self.name(l.edge_type), self.name(l.other)).cmp(&(edge_type, other))
        })
    }

    /// The edge's index in its source's out-list and in its target's in-list.
    fn find_edge(&self, from: &str, edge_type: &str, to: &str) -> Option<[(u32, Dir, usize); 2]> {
        let (f, t) = (self.node_id(from)?, self.node_id(to)?);
        let out = self.search(f, Dir::Out, edge_type, to).ok()?;
        let inn = self.search(t, Dir::In, edge_type, from).ok()?;
        Some([(f, Dir::Out, out), (t, Dir::In, inn)])
    }

    fn edges(&self, id: &str, dir: Dir) -> Vec<Edge> {
        let Some(n) = self.node_id(id) else {
            return Vec::new();
        };
        self.links(n, dir)
            .iter()
            .map(|l| {
                let (from, to) = match dir {
                    Dir::Out => (n, l.other),
                    Dir::In => (l.other, n),
                };
                Edge {
                    from: self.name(from).to_owned(),
                    edge_type: self.name(l.edge_type).to_owned(),
                    to: self.name(to).to_owned(),
                    properties: l.properties.clone(),
                }
            })
            .collect()
    }

    /// Breadth-first along out-edges from `start`, at most `max_depth` edges
    /// deep, stopping as soon as `goal` is reached: the nodes in visit order
    /// with their depth, and each reached node's parent, indexed by id
    /// (`start` is its own parent, `UNSEEN` marks the rest). The trait's
    /// default traversals, over ids instead of strings.
    fn walk(&self, start: u32, max_depth: usize, goal: u32) -> (Vec<(u32, usize)>, Vec<u32>) {
        let mut parent = vec![UNSEEN; self.names.entries.len()];
        parent[start as usize] = start;
        let mut order = vec![(start, 0)];
        let mut next = 0;
        while let Some(&(id, depth)) = order.get(next) {
            next += 1;
            if id == goal {
                break;
            }
            if depth == max_depth {
                continue;
            }
            for l in &self.names.get(id).out {
                if parent[l.other as usize] == UNSEEN {
                    parent[l.other as usize] = id;
                    order.push((l.other, depth + 1));
                }
            }
        }
        (order, parent)
    }

    fn remove_edge(&mut self, from: &str, edge_type: &str, to: &str) -> bool {
        let Some(ends) = self.find_edge(from, edge_type, to) else {
            return false;
        };
        for (id, dir, index) in ends {
            self.links_mut(id, dir).remove(index);
        }
        true
    }
}

/// A [`GraphStore`] held in memory; its contents go with it.
///
/// Node ids and edge types are interned (see [`Interned`]): a removed
/// node's id stays interned, and a node added again under it gets it back.
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
        let id = g.names.intern(&node.id);
        let slot = &mut g.names.get_mut(id).node;
        if slot.is_some() {
            return Err(Error::NodeExists(node.id.clone()));
        }
        *slot = Some((node.label.clone(), node.properties.clone()));
        Ok(())
    }

    fn update_node(&self, node: &Node) -> Result<()> {
        let mut g = lock(&self.graph);
        let id = g.node_or_err(&node.id)?;
        g.names.get_mut(id).node = Some((node.label.clone(), node.properties.clone()));
        Ok(())
    }

    fn remove_node(&self, id: &str) -> Result<bool> {
        let mut g = lock(&self.graph);
        let Some(n) = g.node_id(id) else {
            return Ok(false);
        };
        let slot = g.names.get_mut(n);
        slot.node = None;
        let (out, inn) = (std::mem::take(&mut slot.out), std::mem::take(&mut slot.inn));
        // The other end of each edge forgets it; a loop's other end is `n`,
        // whose lists are already gone.
        for (links, dir) in [(out, Dir::In), (inn, Dir::Out)] {
            for l in links.iter().filter(|l| l.other != n) {
                let list = g.links_mut(l.other, dir);
                let at = list
                    .iter()
                    .position(|m| m.edge_type == l.edge_type && m.other == n)
                    .expect("every edge is in both of its ends' lists");
                list.remove(at);
            }
        }
        Ok(true)
    }

    fn get_node(&self, id: &str) -> Result<Option<Node>> {
        let g = lock(&self.graph);
        Ok(g.node_id(id).and_then(|n| {
            let (label, properties) = g.names.get(n).node.as_ref()?;
            Some(Node {
                id: id.to_owned(),
                label: label.clone(),
                properties: properties.clone(),
            })
        }))
    }

    fn add_edge(&self, edge: &Edge) -> Result<()> {
        let mut g = lock(&self.graph);
        let (from, to) = (g.node_or_err(&edge.from)?, g.node_or_err(&edge.to)?);
        let edge_type = g.names.intern(&edge.edge_type);
        let Err(out) = g.search(from, Dir::Out, &edge.edge_type, &edge.to) else {
            return Err(Error::EdgeExists {
                from: edge.from.clone(),
                edge_type: edge.edge_type.clone(),
                to: edge.to.clone(),
            });
        };
        let inn = g
            .search(to, Dir::In, &edge.edge_type, &edge.from)
            .expect_err("the in-lists mirror the out-lists");
        for (id, dir, index, other) in [(from, Dir::Out, out, to), (to, Dir::In, inn, from)] {
            let link = Link {
                edge_type,
                other,
                properties: edge.properties.clone(),
            };
            g.links_mut(id, dir).insert(index, link);
        }
        Ok(())
    }

    fn update_edge(&self, edge: &Edge) -> Result<()> {
        let mut g = lock(&self.graph);
        let ends = g
            .find_edge(&edge.from, &edge.edge_type, &edge.to)
            .ok_or_else(|| Error::EdgeNotFound {
                from: edge.from.clone(),
                edge_type: edge.edge_type.clone(),
                to: edge.to.clone(),
            })?;
        for (id, dir, index) in ends {
            g.links_mut(id, dir)[index].properties = edge.properties.clone();
        }
        Ok(())
    }

    fn remove_edge(&self, from: &str, edge_type: &str, to: &str) -> Result<bool> {
        Ok(lock(&self.graph).remove_edge(from, edge_type, to))
    }

    fn out_edges(&self, id: &str) -> Result<Vec<Edge>> {
        Ok(lock(&self.graph).edges(id, Dir::Out))
    }

    fn in_edges(&self, id: &str) -> Result<Vec<Edge>> {
        Ok(lock(&self.graph).edges(id, Dir::In))
    }

    fn bfs(&self, start: &str, max_depth: usize) -> Result<Vec<Visit>> {
        let g = lock(&self.graph);
        let s = g.node_or_err(start)?;
        let (order, _) = g.walk(s, max_depth, UNSEEN);
        Ok(order
            .into_iter()
            .map(|(id, depth)| Visit {
                id: g.name(id).to_owned(),
                depth,
            })
            .collect())
    }

    fn shortest_path(&self, from: &str, to: &str) -> Result<Option<Vec<String>>> {
        let g = lock(&self.graph);
        let (f, t) = (g.node_or_err(from)?, g.node_or_err(to)?);
        let (_, parent) = g.walk(f, usize::MAX, t);
        if parent[t as usize] == UNSEEN {
            return Ok(None);
        }
        let mut path = vec![t];
        while let Some(&last) = path.last().filter(|&&id| id != f) {
            path.push(parent[last as usize]);
        }
        Ok(Some(
            path.into_iter()
                .rev()
                .map(|id| g.name(id).to_owned())
                .collect(),
        ))
    }
}
