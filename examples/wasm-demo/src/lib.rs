//! The demo's deterministic CortexOS workload: events over several streams,
//! a graph built from them, traversals, and checksums, over any
//! [`EventStore`] and [`GraphStore`]. The `wasm-demo` binary runs it on the
//! target's default stores; `cargo xtask bench-runtime` times it natively
//! and as wasm on the memory stores; `web-demo` runs it in a browser, on
//! the browser's timer ([`run_on`] with its own [`Host`]).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use cortex_core::{Edge, EventStore, ExpectedVersion, GraphStore, NewEvent, Node, Properties};

const STREAMS: u64 = 8;
const EVENTS: u64 = 2_000;
const ITEMS: u64 = 50;
const EVENT_TYPES: [&str; 4] = ["login", "view", "click", "purchase"];

/// FNV-1a, 64-bit: tiny, deterministic on every target.
struct Checksum(u64);

impl Checksum {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self
    }

    fn u64(&mut self, n: u64) -> &mut Self {
        self.bytes(&n.to_le_bytes())
    }
}

/// A fixed pseudo-random sequence (64-bit LCG), so every run does the same
/// work; the seed is the field. The runtime benchmark draws from it too.
#[derive(Debug)]
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn user(n: u64) -> String {
    format!("user-{n}")
}

fn item(n: u64) -> String {
    format!("item-{n}")
}

/// Any failure ends the demo with its message. A plain message rather than
/// `Box<dyn Error>`: that one's vtable drags `Debug` formatting (and its
/// Unicode escape tables) into the `.wasm`.
#[derive(Debug)]
pub struct DemoError(pub String);

impl From<cortex_core::Error> for DemoError {
    fn from(e: cortex_core::Error) -> Self {
        Self(e.to_string())
    }
}

impl From<&str> for DemoError {
    fn from(e: &str) -> Self {
        Self(e.to_owned())
    }
}

pub type DemoResult<T = ()> = Result<T, DemoError>;

/// What the workload needs from where it runs, besides the stores: a
/// timer, and an ear for the end of each [`Part`]. [`Tokio`] natively and
/// on WASI. A browser has no clock std or tokio can read (tokio's timer
/// would panic there), so `web-demo` brings its own on `setTimeout`, and
/// its page times each part with `performance.now()`.
pub trait Host {
    /// What [`Host::timeout`] gives when time runs out.
    type Elapsed;

    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;

    /// `future`'s output, or [`Host::Elapsed`] if it is not ready within
    /// `duration`.
    fn timeout<F: Future>(
        &self,
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Self::Elapsed>>;

    /// Called as each part of the workload ends, in [`Part::ALL`]'s order.
    fn part_done(&self, _part: Part) {}
}

/// tokio's timer: the binary's host and the runtime benchmark's. It needs a
/// tokio runtime with its time driver enabled. Its futures are tokio's own,
/// not wrapped in one of ours: the shipped `.wasm` is byte for byte what it
/// was before there was a `Host`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Host for Tokio {
    type Elapsed = tokio::time::error::Elapsed;

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(duration)
    }

    fn timeout<F: Future>(
        &self,
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Self::Elapsed>> {
        tokio::time::timeout(duration, future)
    }
}

/// The parts of the workload, in the order it runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Appending the events, in batches over the streams.
    Append,
    /// Receiving every append from the subscription.
    Subscription,
    /// Reading the log back in pages, and each stream.
    ReadBack,
    /// Building the graph from the events.
    Graph,
    /// Breadth-first search and shortest paths.
    Traversals,
    /// A short sleep, then removing a node and counting again.
    Removal,
}

impl Part {
    /// Every part, in the order the workload runs them.
    pub const ALL: [Part; 6] = [
        Part::Append,
        Part::Subscription,
        Part::ReadBack,
        Part::Graph,
        Part::Traversals,
        Part::Removal,
    ];

    /// A short name for people: `"read back"`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Append => "append",
            Part::Subscription => "subscription",
            Part::ReadBack => "read back",
            Part::Graph => "graph",
            Part::Traversals => "traversals",
            Part::Removal => "removal",
        }
    }
}

/// Runs the workload on `events` and `graph`, which must start empty, with
/// tokio's timer (see [`run_on`]).
pub fn run<'a>(
    events: &'a impl EventStore,
    graph: &'a impl GraphStore,
) -> impl Future<Output = DemoResult<Summary>> + 'a {
    run_on(Tokio, events, graph)
}

/// Runs the workload on `events` and `graph`, which must start empty, with
/// `host`'s timer, telling it as each part ends. `host` is taken by value
/// (a host with state implements [`Host`] on a reference): [`Tokio`] is
/// zero-sized, so `run`'s future holds nothing more than before.
pub async fn run_on(
    host: impl Host,
    events: &impl EventStore,
    graph: &impl GraphStore,
) -> DemoResult<Summary> {
    let mut subscription = events.subscribe();

    // Events: batches of 1 to 4 over the streams, with optimistic versions.
    let mut rng = Lcg(42);
    let mut versions = [ExpectedVersion::NoStream; STREAMS as usize];
    let (mut appended, mut batches) = (0, 0);
    while appended < EVENTS {
        let stream = rng.next_u64() % STREAMS;
        let size = (1 + rng.next_u64() % 4).min(EVENTS - appended);
        let batch: Vec<NewEvent> = (appended..appended + size)
            .map(|i| {
                let len = 16 + rng.next_u64() % 64;
                NewEvent {
                    event_type: EVENT_TYPES[(rng.next_u64() % 4) as usize].to_owned(),
                    payload: (0..len).map(|_| rng.next_u64() as u8).collect(),
                    timestamp_ms: 1_700_000_000_000 + i * 1_000,
                }
            })
            .collect();
        let slot = &mut versions[stream as usize];
        let a = events.append(&user(stream), *slot, &batch)?;
        *slot = ExpectedVersion::Exact(a.first_version + a.count - 1);
        appended += size;
        batches += 1;
    }
    host.part_done(Part::Append);

    // The subscriber saw every append, in log order.
    let mut received = 0;
    while received < EVENTS {
        let event = host
            .timeout(Duration::from_secs(5), subscription.recv())
            .await
            .map_err(|_| "subscription stalled")??;
        if event.position != received {
            return Err(DemoError(format!(
                "subscription out of order at {received}"
            )));
        }
        received += 1;
    }
    host.part_done(Part::Subscription);

    // Read everything back, in pages, and by stream.
    let mut log_sum = Checksum::new();
    let mut read = 0;
    loop {
        let page = events.read_all(read, 256)?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            log_sum
                .u64(e.position)
                .bytes(e.stream_id.as_bytes())
                .u64(e.version)
                .bytes(e.event_type.as_bytes())
                .bytes(&e.payload)
                .u64(e.timestamp_ms);
        }
        read += page.len() as u64;
    }
    let mut per_stream = 0;
    for s in 0..STREAMS {
        per_stream += events.read_stream(&user(s), 0, usize::MAX)?.len() as u64;
    }
    host.part_done(Part::ReadBack);

    // A graph from the events: users view items, items relate, users follow.
    let node = |id: String, label: &str| Node {
        id,
        label: label.to_owned(),
        properties: Properties::new(),
    };
    let add_edge = |from: String, edge_type: &str, to: String| {
        let edge = Edge {
            from,
            edge_type: edge_type.to_owned(),
            to,
            properties: Properties::new(),
        };
        match graph.add_edge(&edge) {
            Err(cortex_core::Error::EdgeExists { .. }) => Ok(()),
            other => other,
        }
    };
    for s in 0..STREAMS {
        graph.add_node(&node(user(s), "user"))?;
    }
    for i in 0..ITEMS {
        graph.add_node(&node(item(i), "item"))?;
    }
    for s in 0..STREAMS {
        add_edge(user(s), "follows", user((s * 3 + 1) % STREAMS))?;
    }
    for i in 0..ITEMS {
        add_edge(item(i), "related", item((i * 7 + 3) % ITEMS))?;
    }
    for e in events.read_all(0, usize::MAX)? {
        if e.event_type == "view" || e.event_type == "purchase" {
            let target = item(u64::from(e.payload[0]) % ITEMS);
            add_edge(e.stream_id.clone(), &e.event_type, target)?;
        }
    }
    let (nodes, edges) = count_graph(graph)?;
    host.part_done(Part::Graph);

    let visits = graph.bfs(&user(0), 3)?;
    let mut bfs_sum = Checksum::new();
    for v in &visits {
        bfs_sum.bytes(v.id.as_bytes()).u64(v.depth as u64);
    }
    let (mut found, mut hops) = (0, 0);
    for i in (0..ITEMS).step_by(5) {
        if let Some(path) = graph.shortest_path(&user(0), &item(i))? {
            found += 1;
            hops += path.len() as u64 - 1;
        }
    }
    host.part_done(Part::Traversals);
    host.sleep(Duration::from_millis(1)).await;
    graph.remove_node(&item(7))?;
    let (nodes_after, edges_after) = count_graph(graph)?;
    host.part_done(Part::Removal);

    Ok(Summary {
        appended,
        batches,
        read,
        per_stream,
        log_checksum: log_sum.0,
        received,
        nodes,
        edges,
        visits: visits.len(),
        bfs_checksum: bfs_sum.0,
        found,
        hops,
        nodes_after,
        edges_after,
    })
}

/// What a run computed: counts and checksums, identical on every target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    appended: u64,
    batches: u64,
    read: u64,
    per_stream: u64,
    log_checksum: u64,
    received: u64,
    nodes: u64,
    edges: u64,
    visits: usize,
    bfs_checksum: u64,
    found: u64,
    hops: u64,
    nodes_after: u64,
    edges_after: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self;
        writeln!(
            f,
            "events: {} in {} batches over {STREAMS} streams",
            s.appended, s.batches
        )?;
        writeln!(
            f,
            "read back: {} from the log, {} by stream, checksum {:016x}",
            s.read, s.per_stream, s.log_checksum
        )?;
        writeln!(f, "subscription: {} in order", s.received)?;
        writeln!(f, "graph: {} nodes, {} edges", s.nodes, s.edges)?;
        writeln!(
            f,
            "bfs from user-0, depth 3: {} nodes, checksum {:016x}",
            s.visits, s.bfs_checksum
        )?;
        writeln!(
            f,
            "shortest paths: {} of 10 found, {} hops",
            s.found, s.hops
        )?;
        writeln!(
            f,
            "after removing item-7: {} nodes, {} edges",
            s.nodes_after, s.edges_after
        )
    }
}

fn count_graph(graph: &impl GraphStore) -> DemoResult<(u64, u64)> {
    let ids = (0..STREAMS).map(user).chain((0..ITEMS).map(item));
    let (mut nodes, mut edges) = (0, 0);
    for id in ids {
        if graph.get_node(&id)?.is_some() {
            nodes += 1;
            edges += graph.out_edges(&id)?.len() as u64;
        }
    }
    Ok((nodes, edges))
}
