use std::collections::{BTreeMap, VecDeque};

use crate::{Error, Result};

/// Property map of a node or edge; ordered so that every backend returns the same bytes.
pub type Properties = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub label: String,
    pub properties: Properties,
}

/// A directed, typed edge. `(from, edge_type, to)` identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub edge_type: String,
    pub to: String,
    pub properties: Properties,
}

/// A node reached by a traversal, `depth` edges away from its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub id: String,
    pub depth: usize,
}

/// A directed property graph.
///
/// Neighbour lists come ordered by `(edge_type, other end)`, bytewise, in
/// every backend, so traversals are deterministic.
pub trait GraphStore: Send + Sync {
    /// Adds a node; fails with [`Error::NodeExists`] if its id is taken.
    fn add_node(&self, node: &Node) -> Result<()>;
    /// Replaces a node's label and properties; fails with [`Error::NodeNotFound`].
    fn update_node(&self, node: &Node) -> Result<()>;
    /// Removes a node and every edge into or out of it; `false` if it did not exist.
    fn remove_node(&self, id: &str) -> Result<bool>;
    fn get_node(&self, id: &str) -> Result<Option<Node>>;

    /// Adds an edge between two existing nodes; fails with
    /// [`Error::NodeNotFound`] or [`Error::EdgeExists`].
    fn add_edge(&self, edge: &Edge) -> Result<()>;
    /// Replaces an edge's properties; fails with [`Error::EdgeNotFound`].
    fn update_edge(&self, edge: &Edge) -> Result<()>;
    /// Removes an edge; `false` if it did not exist.
    fn remove_edge(&self, from: &str, edge_type: &str, to: &str) -> Result<bool>;

    /// Edges leaving `id`.
    fn out_edges(&self, id: &str) -> Result<Vec<Edge>>;
    /// Edges arriving at `id`.
    fn in_edges(&self, id: &str) -> Result<Vec<Edge>>;

    /// Ids of the nodes `id` has an edge to, without repeats.
    fn out_neighbours(&self, id: &str) -> Result<Vec<String>> {
        Ok(dedup_in_order(
            self.out_edges(id)?.into_iter().map(|e| e.to),
        ))
    }

    /// Ids of the nodes with an edge to `id`, without repeats.
    fn in_neighbours(&self, id: &str) -> Result<Vec<String>> {
        Ok(dedup_in_order(
            self.in_edges(id)?.into_iter().map(|e| e.from),
        ))
    }

    /// Breadth-first walk along outgoing edges from `start`, at most
    /// `max_depth` edges deep; each node once, `start` first at depth 0.
    fn bfs(&self, start: &str, max_depth: usize) -> Result<Vec<Visit>> {
        if self.get_node(start)?.is_none() {
            return Err(Error::NodeNotFound(start.to_owned()));
        }
        // Node to its parent: the same map type as `shortest_path`'s, one
        // instantiation for both.
        let mut seen: BTreeMap<String, Option<String>> = BTreeMap::from([(start.to_owned(), None)]);
        let mut order = vec![Visit {
            id: start.to_owned(),
            depth: 0,
        }];
        let mut next = 0;
        while let Some(Visit { id, depth }) = order.get(next).cloned() {
            next += 1;
            if depth == max_depth {
                continue;
            }
            for n in self.out_neighbours(&id)? {
                if !seen.contains_key(&n) {
                    seen.insert(n.clone(), Some(id.clone()));
                    order.push(Visit {
                        id: n,
                        depth: depth + 1,
                    });
                }
            }
        }
        Ok(order)
    }

    /// Fewest-edges path from `from` to `to` along outgoing edges, both ends
    /// included; `None` when `to` cannot be reached.
    fn shortest_path(&self, from: &str, to: &str) -> Result<Option<Vec<String>>> {
        for id in [from, to] {
            if self.get_node(id)?.is_none() {
                return Err(Error::NodeNotFound(id.to_owned()));
            }
        }
        let mut parent: BTreeMap<String, Option<String>> =
            BTreeMap::from([(from.to_owned(), None)]);
        let mut queue = VecDeque::from([from.to_owned()]);
        while let Some(id) = queue.pop_front() {
            if id == to {
                let mut path = vec![id];
                while let Some(Some(p)) = parent.get(path.last().expect("path starts non-empty")) {
                    path.push(p.clone());
                }
                path.reverse();
                return Ok(Some(path));
            }
            for n in self.out_neighbours(&id)? {
                if !parent.contains_key(&n) {
                    parent.insert(n.clone(), Some(id.clone()));
                    queue.push_back(n);
                }
            }
        }
        Ok(None)
    }
}

/// The traversals' map type doubles as the set here: one instantiation of
/// the B-tree code in the binary instead of two.
fn dedup_in_order(ids: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
    ids.filter(|id| seen.insert(id.clone(), None).is_none())
        .collect()
}
