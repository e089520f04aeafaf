//! Retained sizes on the graph's flat arrays: the dominator tree by
//! Cooper, Harvey and Kennedy's algorithm, and the bytes a group of nodes
//! (a crate) takes with it.

use super::{Graph, SUPER_ROOT, UNREACHED};

/// The dominator tree: `idom[n]` is the node every path from a root to `n`
/// passes through last, [`SUPER_ROOT`] for roots and nodes reached from
/// several roots, [`UNREACHED`] for nodes no root reaches.
#[derive(Debug, Clone)]
pub struct Dominators {
    /// The tree itself; the commands show retained sizes and the tests
    /// check the tree.
    #[cfg_attr(not(test), allow(dead_code))]
    pub idom: Vec<u32>,
    /// Own bytes plus those of every node it dominates; 0 when unreached.
    pub retained: Vec<u64>,
    /// Bytes of everything reachable.
    #[cfg_attr(not(test), allow(dead_code))]
    pub reachable_bytes: u64,
}

impl Graph {
    /// Nodes in reverse postorder from the super root (roots in order).
    fn reverse_postorder(&self) -> Vec<u32> {
        let n = self.len();
        let mut seen = vec![false; n];
        let mut order: Vec<u32> = Vec::with_capacity(n);
        // (node, next successor position)
        let mut stack: Vec<(u32, u32)> = Vec::new();
        for &r in &self.roots {
            if seen[r as usize] {
                continue;
            }
            seen[r as usize] = true;
            stack.push((r, self.starts[r as usize]));
            while let Some(top) = stack.last_mut() {
                let (node, pos) = *top;
                if pos < self.starts[node as usize + 1] {
                    top.1 += 1;
                    let s = self.edges[pos as usize];
                    if !seen[s as usize] {
                        seen[s as usize] = true;
                        stack.push((s, self.starts[s as usize]));
                    }
                } else {
                    order.push(node);
                    stack.pop();
                }
            }
        }
        order.reverse();
        order
    }

    /// The dominator tree, by Cooper, Harvey and Kennedy's iterative
    /// algorithm over reverse postorder ("A Simple, Fast Dominance
    /// Algorithm", 2001): near-linear on call graphs, flat arrays only.
    pub fn dominators(&self) -> Dominators {
        let n = self.len();
        let order = self.reverse_postorder();
        // Position in reverse postorder, the super root being -1 → 0 here
        // and every node one further.
        let mut rank = vec![u32::MAX; n];
        for (i, &v) in order.iter().enumerate() {
            rank[v as usize] = i as u32 + 1;
        }
        // Predecessors, reachable ones only.
        let preds = self.predecessors(&order);
        let idom = self.idom_by_rank(&order, &rank, &preds);
        // Done with: what follows takes their memory.
        drop((preds, rank));
        let mut out = vec![UNREACHED; n];
        let mut retained = vec![0u64; n];
        let mut reachable_bytes = 0;
        for &v in &order {
            retained[v as usize] = self.bytes[v as usize];
            reachable_bytes += self.bytes[v as usize];
        }
        for (i, &v) in order.iter().enumerate().rev() {
            let d = idom[i + 1];
            if d == 0 {
                out[v as usize] = SUPER_ROOT;
            } else {
                let parent = order[d as usize - 1];
                out[v as usize] = parent;
                retained[parent as usize] += retained[v as usize];
            }
        }
        Dominators {
            idom: out,
            retained,
            reachable_bytes,
        }
    }

    /// The immediate dominators, by rank (0 the super root): iterated over
    /// `order` until nothing changes.
    fn idom_by_rank(&self, order: &[u32], rank: &[u32], preds: &Rows) -> Vec<u32> {
        let is_root = self.is_root();
        let mut idom = vec![u32::MAX; order.len() + 1];
        idom[0] = 0;
        let intersect = |idom: &[u32], mut a: u32, mut b: u32| {
            while a != b {
                while a > b {
                    a = idom[a as usize];
                }
                while b > a {
                    b = idom[b as usize];
                }
            }
            a
        };
        let mut changed = true;
        while changed {
            changed = false;
            for (i, &v) in order.iter().enumerate() {
                let me = i + 1;
                let mut new: u32 = if is_root[v as usize] { 0 } else { u32::MAX };
                for &p in preds.row(v) {
                    let p = rank[p as usize];
                    if idom[p as usize] == u32::MAX {
                        continue;
                    }
                    new = if new == u32::MAX {
                        p
                    } else {
                        intersect(&idom, p, new)
                    };
                }
                if new != u32::MAX && idom[me] != new {
                    idom[me] = new;
                    changed = true;
                }
            }
        }
        idom
    }

    /// The predecessors among `nodes` of every node, in compressed rows.
    fn predecessors(&self, nodes: &[u32]) -> Rows {
        let n = self.len();
        let mut starts = vec![0u32; n + 1];
        for &v in nodes {
            for &s in self.successors(v) {
                starts[s as usize + 1] += 1;
            }
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut items = vec![0u32; starts[n] as usize];
        for &v in nodes {
            for &s in self.successors(v) {
                items[fill[s as usize] as usize] = v;
                fill[s as usize] += 1;
            }
        }
        Rows { starts, items }
    }

    fn is_root(&self) -> Vec<bool> {
        let mut is_root = vec![false; self.len()];
        for &r in &self.roots {
            is_root[r as usize] = true;
        }
        is_root
    }

    /// For each group (e.g. a crate), the bytes the module would lose
    /// without that group's nodes: those that are reachable, and those
    /// no root reaches any more once they are gone. `group[n]` is node
    /// `n`'s group, `NONE` for none.
    ///
    /// Only nodes reachable from a group's own nodes can be lost, so each
    /// group costs a search over what it reaches, not over the module.
    pub fn group_retained(&self, group: &[u32], groups: usize) -> Vec<u64> {
        let n = self.len();
        let reachable = self.reachable();
        let all: Vec<u32> = (0..n as u32).collect();
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); groups];
        for (v, &g) in group.iter().enumerate().take(n) {
            if (g as usize) < groups && reachable[v] {
                members[g as usize].push(v as u32);
            }
        }
        let mut search = GroupSearch {
            graph: self,
            preds: self.predecessors(&all),
            is_root: self.is_root(),
            reachable,
            mark: vec![0u64; n],
            reach: Vec::new(),
            stack: Vec::new(),
        };
        let mut out = vec![0u64; groups];
        for (g, nodes) in members.iter().enumerate() {
            if !nodes.is_empty() {
                out[g] = search.lost(g, nodes);
            }
        }
        out
    }
}

/// Lists per node in compressed rows: `items[starts[n]..starts[n + 1]]`.
struct Rows {
    starts: Vec<u32>,
    items: Vec<u32>,
}

impl Rows {
    fn row(&self, n: u32) -> &[u32] {
        &self.items[self.starts[n as usize] as usize..self.starts[n as usize + 1] as usize]
    }
}

/// One search per group, over marks reused from group to group.
struct GroupSearch<'a> {
    graph: &'a Graph,
    preds: Rows,
    is_root: Vec<bool>,
    reachable: Vec<bool>,
    /// Stamps instead of clearing: `mark[v] == 3g+1` in group `g`'s reach,
    /// `3g+2` reached again without the group, `3g+3` a member.
    mark: Vec<u64>,
    reach: Vec<u32>,
    stack: Vec<u32>,
}

impl GroupSearch<'_> {
    /// The bytes lost without group `g`, whose reachable members are `nodes`.
    fn lost(&mut self, g: usize, nodes: &[u32]) -> u64 {
        let base = 3 * g as u64;
        let (inside, saved, member) = (base + 1, base + 2, base + 3);
        let (graph, mark) = (self.graph, &mut self.mark);
        for &v in nodes {
            mark[v as usize] = member;
        }
        self.reach.clear();
        self.stack.extend_from_slice(nodes);
        while let Some(v) = self.stack.pop() {
            for &s in graph.successors(v) {
                if mark[s as usize] < inside {
                    mark[s as usize] = inside;
                    self.reach.push(s);
                    self.stack.push(s);
                }
            }
        }
        // Reached without the group: a root, or an outside predecessor.
        for &v in &self.reach {
            let outside = self.is_root[v as usize]
                || self
                    .preds
                    .row(v)
                    .iter()
                    .any(|&p| self.reachable[p as usize] && mark[p as usize] < inside);
            if outside && mark[v as usize] == inside {
                mark[v as usize] = saved;
                self.stack.push(v);
                while let Some(u) = self.stack.pop() {
                    for &s in graph.successors(u) {
                        if mark[s as usize] == inside {
                            mark[s as usize] = saved;
                            self.stack.push(s);
                        }
                    }
                }
            }
        }
        let mut lost: u64 = nodes.iter().map(|&v| graph.bytes[v as usize]).sum();
        lost += self
            .reach
            .iter()
            .filter(|&&v| mark[v as usize] == inside)
            .map(|&v| graph.bytes[v as usize])
            .sum::<u64>();
        lost
    }
}
