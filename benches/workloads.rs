//! The runtime benchmark's guest: the demo's workload and the store
//! operations it exercises, on the memory stores, each timed by the program
//! itself with the monotonic clock. The same source runs natively and as
//! wasm (`cargo xtask bench-runtime` runs both), so start-up and wasm
//! compilation are outside every figure.
//!
//! Usage: `workloads [--samples N] [--only NAME]`. One JSON line per
//! workload on stdout: `{"name", "iterations", "samples_ns"}`, where each
//! sample is the mean time of one iteration over `iterations` iterations.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use cortex_core::{
    Edge, EventStore, ExpectedVersion, GraphStore, MemoryEventStore, MemoryGraphStore, NewEvent,
    Node, Properties,
};
use wasm_demo::Lcg;

const STREAMS: u64 = 8;
const EVENTS: u64 = 2_000;
const USERS: u64 = 64;
const ITEMS: u64 = 256;

type Result<T = ()> = std::result::Result<T, String>;

/// One named workload: `setup` builds its input untimed, `run` is timed.
struct Workload {
    name: &'static str,
    /// Iterations per sample: enough for a sample of a few milliseconds.
    iterations: u32,
    run: fn(&Fixture) -> Result<u64>,
}

/// Inputs built once, outside the timings.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    batches: Vec<(String, Vec<NewEvent>)>,
    filled: MemoryEventStore,
    graph: MemoryGraphStore,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "demo",
        iterations: 5,
        run: |f| {
            let (events, graph) = (MemoryEventStore::new(), MemoryGraphStore::new());
            let summary = f
                .runtime
                .block_on(wasm_demo::run(&events, &graph))
                .map_err(|e| e.0)?;
            Ok(summary.to_string().len() as u64)
        },
    },
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
        iterations: 5,
        run: |_| {
            let graph = MemoryGraphStore::new();
            build_graph(&graph)?;
            Ok(graph.out_edges("user-0").map_err(|e| e.to_string())?.len() as u64)
        },
    },
    Workload {
        name: "bfs",
        iterations: 20,
        run: |f| {
            let visits = f.graph.bfs("user-0", 3).map_err(|e| e.to_string())?;
            Ok(visits.len() as u64)
        },
    },
    Workload {
        name: "shortest_path",
        iterations: 10,
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

fn fixture() -> Result<Fixture> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    let batches = event_batches();
    let filled = MemoryEventStore::new();
    append_all(&filled, &batches)?;
    let graph = MemoryGraphStore::new();
    build_graph(&graph)?;
    Ok(Fixture {
        runtime,
        batches,
        filled,
        graph,
    })
}

fn parse_args() -> Result<(u32, Option<String>)> {
    let (mut samples, mut only) = (10, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--samples" => {
                samples = value()?
                    .parse()
                    .map_err(|_| "--samples takes a positive number".to_owned())?;
            }
            "--only" => only = Some(value()?),
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: workloads [--samples N] [--only NAME]"
                ))
            }
        }
    }
    if samples == 0 {
        return Err("--samples takes a positive number".into());
    }
    Ok((samples, only))
}

fn run() -> Result {
    let (samples, only) = parse_args()?;
    let selected: Vec<&Workload> = WORKLOADS
        .iter()
        .filter(|w| only.as_deref().is_none_or(|o| o == w.name))
        .collect();
    if selected.is_empty() {
        let names: Vec<&str> = WORKLOADS.iter().map(|w| w.name).collect();
        return Err(format!(
            "no workload named {only:?}; workloads: {}",
            names.join(", ")
        ));
    }
    let fixture = fixture()?;
    for w in selected {
        // One untimed iteration warms caches and the allocator.
        black_box((w.run)(&fixture)?);
        let mut samples_ns = Vec::new();
        for _ in 0..samples {
            let started = Instant::now();
            for _ in 0..w.iterations {
                black_box((w.run)(black_box(&fixture))?);
            }
            samples_ns.push((started.elapsed().as_nanos() / u128::from(w.iterations)) as u64);
        }
        let list: Vec<String> = samples_ns.iter().map(u64::to_string).collect();
        println!(
            "{{\"name\":\"{}\",\"iterations\":{},\"samples_ns\":[{}]}}",
            w.name,
            w.iterations,
            list.join(",")
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workloads: {e}");
            ExitCode::from(2)
        }
    }
}
