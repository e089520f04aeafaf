//! The runtime benchmark's workloads, shared by its guests: the
//! `workloads` binary (natively and on WASI) and web-demo's `bench`
//! feature (in a browser). The demo's workload is async and each guest runs
//! it on its own host; the store operations here are plain functions.
//! Each guest brings its clock; [`samples`] times with it.

use std::hint::black_box;

use cortex_core::{
    Edge, EventStore, ExpectedVersion, GraphStore, MemoryEventStore, MemoryGraphStore, NewEvent,
    Node, Properties,
};
use wasm_demo::Lcg;

const STREAMS: u64 = 8;
const EVENTS: u64 = 2_000;
const USERS: u64 = 64;
const ITEMS: u64 = 256;

pub type Result<T = ()> = std::result::Result<T, String>;

/// The demo's workload: its name, and iterations per sample.
pub const DEMO: (&str, u32) = ("demo", 5);

/// One named store workload, timed on a [`Fixture`].
#[derive(Debug)]
pub struct Workload {
    pub name: &'static str,
    /// Iterations per sample: enough for a sample of a millisecond or
    /// more, so a browser's 5 µs timer is under 1% of it.
    pub iterations: u32,
    pub run: fn(&Fixture) -> Result<u64>,
}

/// Inputs built once, outside the timings.
#[derive(Debug)]
pub struct Fixture {
    batches: Vec<(String, Vec<NewEvent>)>,
    filled: MemoryEventStore,
    graph: MemoryGraphStore,
}

/// The store operations the demo exercises, after [`DEMO`] in every guest.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "append",
        iterations: 10,
        run: |f| {
            let events = MemoryEventStore::new();
            append_all(&events, &f.batches)?;
            events.next_position().map_err(|e| e.to_string())
        },
    },
    Workload {
        name: "read_all",
        iterations: 20,
        run: |f| {
            let (mut from, mut bytes) = (0, 0);
            loop {
                let page = f.filled.read_all(from, 256).map_err(|e| e.to_string())?;
                if page.is_empty() {
                    return Ok(bytes);
                }
                bytes += page.iter().map(|e| e.payload.len() as u64).sum::<u64>();
                from += page.len() as u64;
            }
        },
    },
    Workload {
        name: "read_stream",
        iterations: 20,
        run: |f| {
            let mut n = 0;
            for s in 0..STREAMS {
                let events = f.filled.read_stream(&format!("user-{s}"), 0, usize::MAX);
                n += events.map_err(|e| e.to_string())?.len() as u64;
            }
            Ok(n)
        },
    },
    Workload {
        name: "graph_build",
        iterations: 10,
        run: |_| {
            let graph = MemoryGraphStore::new();
            build_graph(&graph)?;
            Ok(graph.out_edges("user-0").map_err(|e| e.to_string())?.len() as u64)
        },
    },
    Workload {
        name: "bfs",
        iterations: 2_000,
        run: |f| {
            let visits = f.graph.bfs("user-0", 3).map_err(|e| e.to_string())?;
            Ok(visits.len() as u64)
        },
    },
    Workload {
        name: "shortest_path",
        iterations: 100,
        run: |f| {
            let mut hops = 0;
            for i in (0..ITEMS).step_by(16) {
                let path = f.graph.shortest_path("user-0", &format!("item-{i}"));
                hops += path
                    .map_err(|e| e.to_string())?
                    .map_or(0, |p| p.len() as u64);
            }
            Ok(hops)
        },
    },
];

/// The names of every workload, in the order the guests run them.
pub fn names() -> Vec<&'static str> {
    std::iter::once(DEMO.0)
        .chain(WORKLOADS.iter().map(|w| w.name))
        .collect()
}

/// `samples` samples of `body`, each the mean time of one iteration over
/// `iterations`, in nanoseconds of `now_ns` (a monotonic clock); after one
/// untimed sample that warms caches, the allocator and a browser's JIT.
pub fn samples(
    samples: u32,
    iterations: u32,
    now_ns: impl Fn() -> f64,
    mut body: impl FnMut() -> Result<u64>,
) -> Result<Vec<u64>> {
    // One untimed sample first: a browser's wasm starts in its baseline
    // compiler and moves hot functions to the optimising one as they run;
    // native and wasmtime code is compiled ahead, so this costs them time
    // only, never figures.
    for _ in 0..iterations {
        black_box(body()?);
    }
    let mut out = Vec::new();
    for _ in 0..samples {
        let started = now_ns();
        for _ in 0..iterations {
            black_box(body()?);
        }
        out.push(((now_ns() - started) / f64::from(iterations)).round() as u64);
    }
    Ok(out)
}

/// The line a guest prints for one workload:
/// `{"name", "iterations", "samples_ns"}`.
pub fn json_line(name: &str, iterations: u32, samples_ns: &[u64]) -> String {
    let list: Vec<String> = samples_ns.iter().map(u64::to_string).collect();
    format!(
        "{{\"name\":\"{name}\",\"iterations\":{iterations},\"samples_ns\":[{}]}}",
        list.join(",")
    )
}

fn event_batches() -> Vec<(String, Vec<NewEvent>)> {
    let mut rng = Lcg(7);
    let mut out = Vec::new();
    let mut appended = 0;
    while appended < EVENTS {
        let stream = format!("user-{}", rng.next_u64() % STREAMS);
        let size = (1 + rng.next_u64() % 4).min(EVENTS - appended);
        let batch = (appended..appended + size)
            .map(|i| NewEvent {
                event_type: "view".to_owned(),
                payload: (0..16 + rng.next_u64() % 64)
                    .map(|_| rng.next_u64() as u8)
                    .collect(),
                timestamp_ms: i,
            })
            .collect();
        out.push((stream, batch));
        appended += size;
    }
    out
}

fn append_all(events: &MemoryEventStore, batches: &[(String, Vec<NewEvent>)]) -> Result {
    for (stream, batch) in batches {
        events
            .append(stream, ExpectedVersion::Any, batch)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Users follow users and view items; items relate to items.
fn build_graph(graph: &MemoryGraphStore) -> Result {
    let node = |id: String, label: &str| Node {
        id,
        label: label.to_owned(),
        properties: Properties::new(),
    };
    let edge = |from: String, edge_type: &str, to: String| Edge {
        from,
        edge_type: edge_type.to_owned(),
        to,
        properties: Properties::new(),
    };
    let err = |e: cortex_core::Error| e.to_string();
    for u in 0..USERS {
        graph
            .add_node(&node(format!("user-{u}"), "user"))
            .map_err(err)?;
    }
    for i in 0..ITEMS {
        graph
            .add_node(&node(format!("item-{i}"), "item"))
            .map_err(err)?;
    }
    for u in 0..USERS {
        let followed = format!("user-{}", (u * 5 + 1) % USERS);
        graph
            .add_edge(&edge(format!("user-{u}"), "follows", followed))
            .map_err(err)?;
        for k in 0..4 {
            let item = format!("item-{}", (u * 13 + k * 29) % ITEMS);
            graph
                .add_edge(&edge(format!("user-{u}"), "view", item))
                .map_err(err)?;
        }
    }
    for i in 0..ITEMS {
        let related = format!("item-{}", (i * 7 + 3) % ITEMS);
        if related != format!("item-{i}") {
            graph
                .add_edge(&edge(format!("item-{i}"), "related", related))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Builds the inputs of [`WORKLOADS`].
pub fn fixture() -> Result<Fixture> {
    let batches = event_batches();
    let filled = MemoryEventStore::new();
    append_all(&filled, &batches)?;
    let graph = MemoryGraphStore::new();
    build_graph(&graph)?;
    Ok(Fixture {
        batches,
        filled,
        graph,
    })
}
