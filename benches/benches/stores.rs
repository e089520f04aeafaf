//! cortex-core store benchmarks, native: both backends side by side, and
//! RocksDB's batched append against raw `WriteBatch` puts of the same bytes.
//!
//! Run: `cargo bench -p cortex-benches`

use std::hint::black_box;

use cortex_core::{
    Edge, EventStore, ExpectedVersion, GraphStore, MemoryEventStore, MemoryGraphStore, NewEvent,
    Node, Properties, RocksEventStore, RocksGraphStore,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const PAYLOAD: usize = 100;
const BATCH: usize = 100;
const STREAM: &str = "bench-stream";
const EVENT_TYPE: &str = "bench-event";

fn event(i: usize) -> NewEvent {
    NewEvent {
        event_type: EVENT_TYPE.to_owned(),
        payload: vec![(i % 251) as u8; PAYLOAD],
        timestamp_ms: i as u64,
    }
}

/// Each backend under its name, freshly opened; RocksDB's directory lives
/// as long as the store.
fn event_backends() -> Vec<(&'static str, Box<dyn EventStore>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let rocks = RocksEventStore::open(dir.path()).unwrap();
    vec![
        ("memory", Box::new(MemoryEventStore::new()), None),
        ("rocksdb", Box::new(rocks), Some(dir)),
    ]
}

fn appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    for (name, store, _dir) in event_backends() {
        let mut i = 0;
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{name}/single"), |b| {
            b.iter(|| {
                i += 1;
                store
                    .append(STREAM, ExpectedVersion::Any, &[event(i)])
                    .unwrap()
            })
        });
        let batch: Vec<NewEvent> = (0..BATCH).map(event).collect();
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(format!("{name}/batch-{BATCH}"), |b| {
            b.iter(|| {
                store
                    .append(STREAM, ExpectedVersion::Any, black_box(&batch))
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// The floor for `rocksdb/batch-100`: the same number of puts, of the same
/// sizes, into the same two column families, with no store logic around them.
fn raw_rocksdb_batch(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = rocksdb::Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    let db = rocksdb::DB::open_cf(&opts, dir.path(), ["events", "streams"]).unwrap();
    // RocksEventStore's record: three length-prefixed fields and two u64s.
    let value_len = 8 + STREAM.len() + 8 + 8 + EVENT_TYPE.len() + 8 + 8 + PAYLOAD;
    let stream_key_len = STREAM.len() + 2 + 8;
    let value = vec![7u8; value_len];
    let mut position = 0u64;
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(format!("raw-rocksdb/batch-{BATCH}"), |b| {
        b.iter(|| {
            let (events, streams) = (
                db.cf_handle("events").unwrap(),
                db.cf_handle("streams").unwrap(),
            );
            let mut batch = rocksdb::WriteBatch::default();
            for _ in 0..BATCH {
                let mut stream_key = vec![1u8; stream_key_len - 8];
                stream_key.extend_from_slice(&position.to_be_bytes());
                batch.put_cf(events, position.to_be_bytes(), &value);
                batch.put_cf(streams, stream_key, position.to_be_bytes());
                position += 1;
            }
            db.write(batch).unwrap();
        })
    });
    group.finish();
}

fn reads(c: &mut Criterion) {
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(1_000));
    for (name, store, _dir) in event_backends() {
        for chunk in (0..10_000).collect::<Vec<_>>().chunks(BATCH) {
            let batch: Vec<NewEvent> = chunk.iter().map(|&i| event(i)).collect();
            store.append(STREAM, ExpectedVersion::Any, &batch).unwrap();
        }
        group.bench_function(format!("{name}/stream-1000"), |b| {
            b.iter(|| store.read_stream(STREAM, black_box(4_000), 1_000).unwrap())
        });
        group.bench_function(format!("{name}/all-1000"), |b| {
            b.iter(|| store.read_all(black_box(4_000), 1_000).unwrap())
        });
    }
    group.finish();
}

const NODES: usize = 1_000;
const OUT_DEGREE: usize = 5;

fn build_graph(g: &dyn GraphStore) {
    for n in 0..NODES {
        let node = Node {
            id: format!("n{n}"),
            label: "node".into(),
            properties: Properties::new(),
        };
        g.add_node(&node).unwrap();
    }
    for n in 0..NODES {
        for k in 1..=OUT_DEGREE {
            let edge = Edge {
                from: format!("n{n}"),
                edge_type: "e".into(),
                to: format!("n{}", (n * 31 + k * 97) % NODES),
                properties: Properties::new(),
            };
            let _ = g.add_edge(&edge);
        }
    }
}

fn graphs(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph");
    group.sample_size(10);
    group.bench_function("memory/build-1000x5", |b| {
        b.iter(|| build_graph(&MemoryGraphStore::new()))
    });
    group.bench_function("rocksdb/build-1000x5", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| build_graph(&RocksGraphStore::open(dir.path()).unwrap()),
            BatchSize::PerIteration,
        )
    });
    let memory = MemoryGraphStore::new();
    build_graph(&memory);
    let dir = tempfile::tempdir().unwrap();
    let rocks = RocksGraphStore::open(dir.path()).unwrap();
    build_graph(&rocks);
    for (name, g) in [("memory", &memory as &dyn GraphStore), ("rocksdb", &rocks)] {
        group.bench_function(format!("{name}/bfs-depth-4"), |b| {
            b.iter(|| g.bfs(black_box("n0"), 4).unwrap())
        });
        group.bench_function(format!("{name}/shortest-path"), |b| {
            b.iter(|| g.shortest_path(black_box("n0"), "n999").unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, appends, raw_rocksdb_batch, reads, graphs);
criterion_main!(benches);
