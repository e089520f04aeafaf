//! Reaching nodes on the graph's flat arrays: what some root reaches, and
//! a shortest path from a root to each node.

use super::{Graph, SUPER_ROOT, UNREACHED};

impl Graph {
    /// Which nodes some root reaches.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<u32> = Vec::new();
        for &r in &self.roots {
            if !seen[r as usize] {
                seen[r as usize] = true;
                stack.push(r);
            }
        }
        while let Some(n) = stack.pop() {
            for &s in self.successors(n) {
                if !seen[s as usize] {
                    seen[s as usize] = true;
                    stack.push(s);
                }
            }
        }
        seen
    }

    /// A breadth-first tree from the roots: `parent[n]` is the node before
    /// `n` on a shortest path, [`SUPER_ROOT`] for roots, [`UNREACHED`].
    pub fn shortest_paths(&self) -> Vec<u32> {
        let mut parent = vec![UNREACHED; self.len()];
        let mut queue: std::collections::VecDeque<u32> = std::collections::VecDeque::new();
        for &r in &self.roots {
            if parent[r as usize] == UNREACHED {
                parent[r as usize] = SUPER_ROOT;
                queue.push_back(r);
            }
        }
        while let Some(n) = queue.pop_front() {
            for &s in self.successors(n) {
                if parent[s as usize] == UNREACHED {
                    parent[s as usize] = n;
                    queue.push_back(s);
                }
            }
        }
        parent
    }
}

/// The path `parents` (from [`Graph::shortest_paths`]) gives to `node`,
/// root first; empty when no root reaches it.
pub fn path_to(parents: &[u32], node: u32) -> Vec<u32> {
    let mut path = Vec::new();
    let mut at = node;
    while let Some(&p) = parents.get(at as usize) {
        if p == UNREACHED {
            return Vec::new();
        }
        path.push(at);
        if p == SUPER_ROOT || path.len() > parents.len() {
            break;
        }
        at = p;
    }
    path.reverse();
    path
}
