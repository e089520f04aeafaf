//! The store conformance suite: written once, run against every backend
//! (object_store's pattern). Each function takes a [`Backend`] and calls
//! [`Backend::reopen`] between writing and checking, so persistent backends
//! are also checked across close and reopen.

use std::collections::BTreeMap;

use cortex_core::{
    Edge, Error, EventStore, ExpectedVersion, GraphStore, NewEvent, Node, Properties,
    RecordedEvent, Visit,
};

pub trait Backend {
    fn events(&self) -> &dyn EventStore;
    fn graph(&self) -> &dyn GraphStore;
    /// Closes and reopens the stores where the backend persists and the run
    /// asks for it; otherwise does nothing.
    fn reopen(&mut self);
}

/// Generates one `#[test]` per suite function, each on a fresh backend made by `$make`.
macro_rules! conformance_tests {
    ($make:expr) => {
        conformance_tests!(@each $make;
            append_then_read_in_order,
            expected_version_conflicts_write_nothing,
            concurrent_appenders_get_unique_gap_free_positions,
            empty_and_16_mib_payloads_round_trip,
            unicode_and_prefix_sharing_stream_ids_stay_apart,
            reads_past_the_end_are_empty_and_unknown_streams_are_errors,
            subscription_sees_appends_in_order,
            nodes_add_update_remove,
            edges_and_neighbours_are_typed_directed_and_ordered,
            removing_a_node_removes_its_edges_both_directions,
            bfs_terminates_on_cycles_and_respects_depth_limit,
            shortest_path_on_disconnected_graph,
        );
    };
    (@each $make:expr; $($test:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                let mut backend = $make;
                $crate::suite::$test(&mut backend);
            }
        )*
    };
}

fn event(event_type: &str, payload: &[u8]) -> NewEvent {
    NewEvent {
        event_type: event_type.to_owned(),
        payload: payload.to_vec(),
        timestamp_ms: 1_700_000_000_000 + payload.len() as u64,
    }
}

fn all_events(store: &dyn EventStore) -> Vec<RecordedEvent> {
    store.read_all(0, usize::MAX).unwrap()
}

fn assert_gap_free(store: &dyn EventStore) {
    let all = all_events(store);
    let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
    assert_eq!(positions, (0..all.len() as u64).collect::<Vec<_>>());
    assert_eq!(store.next_position().unwrap(), all.len() as u64);
    let mut streams: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for e in &all {
        streams.entry(&e.stream_id).or_default().push(e.version);
    }
    for (stream, versions) in streams {
        assert_eq!(
            versions,
            (0..versions.len() as u64).collect::<Vec<_>>(),
            "{stream}"
        );
        let read: Vec<u64> = store
            .read_stream(stream, 0, usize::MAX)
            .unwrap()
            .iter()
            .map(|e| e.version)
            .collect();
        assert_eq!(read, versions, "{stream}");
    }
}

pub fn append_then_read_in_order(b: &mut dyn Backend) {
    let s = b.events();
    let a = s
        .append(
            "orders",
            ExpectedVersion::NoStream,
            &[event("created", b"1"), event("paid", b"2")],
        )
        .unwrap();
    assert_eq!((a.first_position, a.first_version, a.count), (0, 0, 2));
    let a = s
        .append("users", ExpectedVersion::Any, &[event("joined", b"3")])
        .unwrap();
    assert_eq!((a.first_position, a.first_version, a.count), (2, 0, 1));
    let a = s
        .append(
            "orders",
            ExpectedVersion::Exact(1),
            &[event("shipped", b"4")],
        )
        .unwrap();
    assert_eq!((a.first_position, a.first_version, a.count), (3, 2, 1));

    for round in 0..2 {
        let s = b.events();
        let orders = s.read_stream("orders", 0, usize::MAX).unwrap();
        let types: Vec<&str> = orders.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["created", "paid", "shipped"], "round {round}");
        assert_eq!(orders[2].position, 3);
        assert_eq!(orders[1].payload, b"2");
        assert_eq!(orders[1].timestamp_ms, 1_700_000_000_001);
        assert!(orders.iter().all(|e| e.stream_id == "orders"));
        let log: Vec<(String, u64)> = all_events(s)
            .into_iter()
            .map(|e| (e.stream_id, e.version))
            .collect();
        let expected = [("orders", 0), ("orders", 1), ("users", 0), ("orders", 2)];
        assert_eq!(log, expected.map(|(s, v)| (s.to_owned(), v)));
        assert_eq!(s.read_stream("orders", 1, 1).unwrap()[0].event_type, "paid");
        assert_eq!(s.read_all(2, 1).unwrap()[0].stream_id, "users");
        assert_eq!(s.stream_version("orders").unwrap(), Some(2));
        b.reopen();
    }
    let a = b
        .events()
        .append("users", ExpectedVersion::Exact(0), &[event("left", b"")])
        .unwrap();
    assert_eq!((a.first_position, a.first_version), (4, 1));
    assert_gap_free(b.events());
}

pub fn expected_version_conflicts_write_nothing(b: &mut dyn Backend) {
    let s = b.events();
    s.append("acct", ExpectedVersion::NoStream, &[event("open", b"")])
        .unwrap();
    let conflict = |r: cortex_core::Result<_>, expected, actual| match r {
        Err(Error::WrongExpectedVersion {
            stream,
            expected: e,
            actual: a,
        }) => {
            assert_eq!((stream.as_str(), e, a), ("acct", expected, actual));
        }
        other => panic!("expected a version conflict, got {other:?}"),
    };
    let batch = [event("deposit", b"10"), event("deposit", b"20")];
    conflict(
        s.append("acct", ExpectedVersion::NoStream, &batch),
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
    );
    conflict(
        s.append("acct", ExpectedVersion::Exact(5), &batch),
        ExpectedVersion::Exact(5),
        ExpectedVersion::Exact(0),
    );
    match s.append("ghost", ExpectedVersion::Exact(0), &batch) {
        Err(Error::WrongExpectedVersion { actual, .. }) => {
            assert_eq!(actual, ExpectedVersion::NoStream)
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }
    // An empty batch checks the condition and writes nothing.
    conflict(
        s.append("acct", ExpectedVersion::Exact(3), &[]),
        ExpectedVersion::Exact(3),
        ExpectedVersion::Exact(0),
    );
    let a = s.append("acct", ExpectedVersion::Exact(0), &[]).unwrap();
    assert_eq!((a.first_position, a.first_version, a.count), (1, 1, 0));
    assert_eq!(all_events(s).len(), 1, "a refused batch wrote something");
    assert_eq!(s.stream_version("ghost").unwrap(), None);

    b.reopen();
    let s = b.events();
    conflict(
        s.append("acct", ExpectedVersion::NoStream, &batch),
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
    );
    s.append("acct", ExpectedVersion::Exact(0), &batch).unwrap();
    s.append("acct", ExpectedVersion::Any, &batch).unwrap();
    assert_eq!(s.stream_version("acct").unwrap(), Some(4));
    assert_gap_free(s);
}

#[cfg(not(target_arch = "wasm32"))]
pub fn concurrent_appenders_get_unique_gap_free_positions(b: &mut dyn Backend) {
    const THREADS: usize = 4;
    const BATCHES: usize = 25;
    let s = b.events();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            scope.spawn(move || {
                let own = format!("writer-{t}");
                for i in 0..BATCHES {
                    let payload = format!("{t}:{i}");
                    let batch = [
                        event("a", payload.as_bytes()),
                        event("b", payload.as_bytes()),
                    ];
                    s.append(&own, ExpectedVersion::Any, &batch).unwrap();
                    // Optimistic loop on a stream every writer shares.
                    loop {
                        let at = ExpectedVersion::of(s.stream_version("shared").unwrap());
                        match s.append("shared", at, &[event("shared", payload.as_bytes())]) {
                            Ok(_) => break,
                            Err(Error::WrongExpectedVersion { .. }) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            });
        }
    });
    check_concurrent_result(b, THREADS, BATCHES);
}

/// wasm32-wasip1 has no threads: the appenders take turns instead, which
/// still checks that interleaved writers neither lose nor repeat positions.
#[cfg(target_arch = "wasm32")]
pub fn concurrent_appenders_get_unique_gap_free_positions(b: &mut dyn Backend) {
    const THREADS: usize = 4;
    const BATCHES: usize = 25;
    let s = b.events();
    for i in 0..BATCHES {
        for t in 0..THREADS {
            let payload = format!("{t}:{i}");
            let batch = [
                event("a", payload.as_bytes()),
                event("b", payload.as_bytes()),
            ];
            s.append(&format!("writer-{t}"), ExpectedVersion::Any, &batch)
                .unwrap();
            let at = ExpectedVersion::of(s.stream_version("shared").unwrap());
            s.append("shared", at, &[event("shared", payload.as_bytes())])
                .unwrap();
        }
    }
    check_concurrent_result(b, THREADS, BATCHES);
}

fn check_concurrent_result(b: &mut dyn Backend, threads: usize, batches: usize) {
    b.reopen();
    let s = b.events();
    let all = all_events(s);
    assert_eq!(all.len(), threads * batches * 3);
    assert_gap_free(s);
    let mut shared: Vec<_> = s
        .read_stream("shared", 0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| e.payload)
        .collect();
    assert_eq!(shared.len(), threads * batches);
    shared.sort();
    shared.dedup();
    assert_eq!(
        shared.len(),
        threads * batches,
        "a shared append was duplicated"
    );
    // Each batch of two is contiguous in the log.
    for e in all.iter().filter(|e| e.event_type == "a") {
        let next = &all[e.position as usize + 1];
        assert_eq!((next.event_type.as_str(), &next.payload), ("b", &e.payload));
    }
}

pub fn empty_and_16_mib_payloads_round_trip(b: &mut dyn Backend) {
    let big: Vec<u8> = (0..16 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    b.events()
        .append(
            "blobs",
            ExpectedVersion::NoStream,
            &[event("empty", b""), event("big", &big)],
        )
        .unwrap();
    b.reopen();
    let read = b.events().read_stream("blobs", 0, 10).unwrap();
    assert_eq!(read.len(), 2);
    assert!(read[0].payload.is_empty());
    assert!(read[1].payload == big, "16 MiB payload changed on the way");
}

pub fn unicode_and_prefix_sharing_stream_ids_stay_apart(b: &mut dyn Backend) {
    let ids = [
        "",
        "a",
        "a\0",
        "a\0b",
        "ab",
        "поток-1",
        "流/二",
        "emoji 🦀",
        "\u{10FFFF}",
    ];
    for (i, id) in ids.iter().enumerate() {
        let events: Vec<NewEvent> = (0..=i)
            .map(|k| event("тип-✓", id.as_bytes()).clone_k(k))
            .collect();
        b.events()
            .append(id, ExpectedVersion::NoStream, &events)
            .unwrap();
    }
    b.reopen();
    for (i, id) in ids.iter().enumerate() {
        let read = b.events().read_stream(id, 0, usize::MAX).unwrap();
        assert_eq!(read.len(), i + 1, "stream {id:?}");
        assert!(read
            .iter()
            .all(|e| e.stream_id == *id && e.payload == id.as_bytes()));
        assert_eq!(read[0].event_type, "тип-✓");
        assert_eq!(b.events().stream_version(id).unwrap(), Some(i as u64));
    }
    assert_gap_free(b.events());
}

trait CloneK {
    fn clone_k(&self, k: usize) -> Self;
}

impl CloneK for NewEvent {
    /// The same event with a distinct timestamp per copy.
    fn clone_k(&self, k: usize) -> Self {
        NewEvent {
            timestamp_ms: self.timestamp_ms + k as u64,
            ..self.clone()
        }
    }
}

pub fn reads_past_the_end_are_empty_and_unknown_streams_are_errors(b: &mut dyn Backend) {
    b.events()
        .append(
            "s",
            ExpectedVersion::Any,
            &[event("x", b"1"), event("x", b"2")],
        )
        .unwrap();
    b.reopen();
    let s = b.events();
    assert!(s.read_stream("s", 2, 10).unwrap().is_empty());
    assert!(s.read_stream("s", u64::MAX, 10).unwrap().is_empty());
    assert!(s.read_stream("s", 0, 0).unwrap().is_empty());
    assert_eq!(s.read_stream("s", 1, 10).unwrap().len(), 1);
    assert!(s.read_all(2, 10).unwrap().is_empty());
    assert!(s.read_all(u64::MAX, 10).unwrap().is_empty());
    match s.read_stream("nope", 0, 10) {
        Err(e @ Error::StreamNotFound(_)) => assert!(e.to_string().contains("`nope`")),
        other => panic!("expected StreamNotFound, got {other:?}"),
    }
    // "s" is a prefix of "s2": no leakage between them.
    assert!(matches!(
        s.read_stream("s2", 0, 10),
        Err(Error::StreamNotFound(_))
    ));
}

pub fn subscription_sees_appends_in_order(b: &mut dyn Backend) {
    b.events()
        .append("before", ExpectedVersion::Any, &[event("old", b"")])
        .unwrap();
    b.reopen();
    let s = b.events();
    let mut sub = s.subscribe();
    s.append(
        "x",
        ExpectedVersion::Any,
        &[event("x1", b""), event("x2", b"")],
    )
    .unwrap();
    s.append("y", ExpectedVersion::Any, &[event("y1", b"")])
        .unwrap();
    s.append("x", ExpectedVersion::NoStream, &[event("refused", b"")])
        .unwrap_err();
    s.append("x", ExpectedVersion::Exact(1), &[event("x3", b"")])
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let seen: Vec<(u64, String)> = rt.block_on(async {
        let mut seen = Vec::new();
        for _ in 0..4 {
            let e = tokio::time::timeout(std::time::Duration::from_secs(5), sub.recv())
                .await
                .expect("subscriber waited 5 s for an appended event")
                .unwrap();
            seen.push((e.position, e.event_type.clone()));
        }
        seen
    });
    let expected = [(1, "x1"), (2, "x2"), (3, "y1"), (4, "x3")];
    assert_eq!(seen, expected.map(|(p, t)| (p, t.to_owned())));
    assert!(
        sub.try_recv().unwrap().is_none(),
        "a refused batch was published"
    );
}

fn node(id: &str, label: &str, props: &[(&str, &str)]) -> Node {
    Node {
        id: id.to_owned(),
        label: label.to_owned(),
        properties: props_of(props),
    }
}

fn props_of(props: &[(&str, &str)]) -> Properties {
    props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn edge(from: &str, edge_type: &str, to: &str) -> Edge {
    Edge {
        from: from.to_owned(),
        edge_type: edge_type.to_owned(),
        to: to.to_owned(),
        properties: Properties::new(),
    }
}

/// Builds nodes and `from -type-> to` edges; nodes named by edges are created.
fn build(g: &dyn GraphStore, edges: &[(&str, &str, &str)]) {
    for &(from, ty, to) in edges {
        for id in [from, to] {
            if g.get_node(id).unwrap().is_none() {
                g.add_node(&node(id, "n", &[])).unwrap();
            }
        }
        g.add_edge(&edge(from, ty, to)).unwrap();
    }
}

pub fn nodes_add_update_remove(b: &mut dyn Backend) {
    let g = b.graph();
    let alice = node(
        "alice",
        "person",
        &[("name", "Alice"), ("город", "Київ 🌻")],
    );
    g.add_node(&alice).unwrap();
    assert!(matches!(g.add_node(&alice), Err(Error::NodeExists(id)) if id == "alice"));
    let ghost = node("ghost", "x", &[]);
    assert!(matches!(g.update_node(&ghost), Err(Error::NodeNotFound(id)) if id == "ghost"));
    g.add_node(&node("bob", "person", &[])).unwrap();
    g.add_node(&node("", "empty id", &[])).unwrap();
    b.reopen();
    let g = b.graph();
    assert_eq!(g.get_node("alice").unwrap(), Some(alice));
    let alice2 = node("alice", "admin", &[("name", "Alice B.")]);
    g.update_node(&alice2).unwrap();
    assert!(g.remove_node("bob").unwrap());
    assert!(!g.remove_node("bob").unwrap());
    b.reopen();
    let g = b.graph();
    assert_eq!(g.get_node("alice").unwrap(), Some(alice2));
    assert_eq!(g.get_node("bob").unwrap(), None);
    assert_eq!(g.get_node("").unwrap().unwrap().label, "empty id");
}

pub fn edges_and_neighbours_are_typed_directed_and_ordered(b: &mut dyn Backend) {
    let g = b.graph();
    build(
        g,
        &[
            ("a", "likes", "c"),
            ("a", "knows", "c"),
            ("a", "knows", "b"),
            ("b", "knows", "a"),
            ("a", "knows", "a\0"),
        ],
    );
    assert!(matches!(
        g.add_edge(&edge("a", "knows", "b")),
        Err(Error::EdgeExists { .. })
    ));
    assert!(
        matches!(g.add_edge(&edge("a", "knows", "zz")), Err(Error::NodeNotFound(id)) if id == "zz")
    );
    assert!(matches!(
        g.update_edge(&edge("c", "knows", "a")),
        Err(Error::EdgeNotFound { .. })
    ));
    let mut weighted = edge("a", "likes", "c");
    weighted.properties = props_of(&[("weight", "0.5"), ("since", "2024")]);
    g.update_edge(&weighted).unwrap();
    b.reopen();
    let g = b.graph();
    let out: Vec<(String, String)> = g
        .out_edges("a")
        .unwrap()
        .into_iter()
        .map(|e| (e.edge_type, e.to))
        .collect();
    let expected = [
        ("knows", "a\0"),
        ("knows", "b"),
        ("knows", "c"),
        ("likes", "c"),
    ];
    assert_eq!(out, expected.map(|(t, to)| (t.to_owned(), to.to_owned())));
    assert_eq!(g.out_neighbours("a").unwrap(), ["a\0", "b", "c"]);
    assert_eq!(g.in_neighbours("c").unwrap(), ["a"]);
    assert_eq!(g.in_neighbours("a").unwrap(), ["b"]);
    assert_eq!(g.out_neighbours("a\0").unwrap(), Vec::<String>::new());
    let likes = g
        .in_edges("c")
        .unwrap()
        .into_iter()
        .find(|e| e.edge_type == "likes")
        .unwrap();
    assert_eq!(likes, weighted);
    assert!(g.remove_edge("a", "knows", "c").unwrap());
    assert!(!g.remove_edge("a", "knows", "c").unwrap());
    b.reopen();
    let g = b.graph();
    assert_eq!(g.out_edges("a").unwrap().len(), 3);
    assert_eq!(g.in_edges("c").unwrap(), [weighted]);
}

pub fn removing_a_node_removes_its_edges_both_directions(b: &mut dyn Backend) {
    let g = b.graph();
    build(
        g,
        &[
            ("hub", "to", "x"),
            ("hub", "to", "y"),
            ("x", "to", "hub"),
            ("y", "back", "hub"),
            ("hub", "self", "hub"),
            ("x", "to", "y"),
        ],
    );
    assert!(g.remove_node("hub").unwrap());
    b.reopen();
    let g = b.graph();
    assert!(g.out_edges("hub").unwrap().is_empty());
    assert!(g.in_edges("hub").unwrap().is_empty());
    assert_eq!(g.out_neighbours("x").unwrap(), ["y"]);
    assert_eq!(g.in_neighbours("y").unwrap(), ["x"]);
    assert!(g.out_edges("y").unwrap().is_empty());
    assert!(matches!(
        g.add_edge(&edge("x", "to", "hub")),
        Err(Error::NodeNotFound(_))
    ));
    // The id can be used again, with no edges left over.
    g.add_node(&node("hub", "new", &[])).unwrap();
    assert!(g.in_edges("hub").unwrap().is_empty());
}

fn visits(v: &[Visit]) -> Vec<(&str, usize)> {
    v.iter().map(|v| (v.id.as_str(), v.depth)).collect()
}

pub fn bfs_terminates_on_cycles_and_respects_depth_limit(b: &mut dyn Backend) {
    build(
        b.graph(),
        &[
            ("a", "e", "b"),
            ("b", "e", "c"),
            ("c", "e", "a"),
            ("c", "e", "d"),
            ("a", "e", "a"),
            ("z", "e", "a"),
        ],
    );
    b.reopen();
    let g = b.graph();
    assert_eq!(visits(&g.bfs("a", 0).unwrap()), [("a", 0)]);
    assert_eq!(visits(&g.bfs("a", 1).unwrap()), [("a", 0), ("b", 1)]);
    assert_eq!(
        visits(&g.bfs("a", 2).unwrap()),
        [("a", 0), ("b", 1), ("c", 2)]
    );
    let all = [("a", 0), ("b", 1), ("c", 2), ("d", 3)];
    assert_eq!(visits(&g.bfs("a", 3).unwrap()), all);
    assert_eq!(visits(&g.bfs("a", usize::MAX).unwrap()), all);
    assert!(matches!(g.bfs("nope", 3), Err(Error::NodeNotFound(_))));
}

pub fn shortest_path_on_disconnected_graph(b: &mut dyn Backend) {
    build(
        b.graph(),
        &[
            ("a", "e", "b"),
            ("b", "e", "c"),
            ("c", "e", "d"),
            ("a", "shortcut", "c"),
            ("x", "e", "y"),
            ("y", "e", "x"),
        ],
    );
    b.graph().add_node(&node("lonely", "n", &[])).unwrap();
    b.reopen();
    let g = b.graph();
    let path = |from, to| g.shortest_path(from, to).unwrap();
    assert_eq!(
        path("a", "d"),
        Some(vec!["a".into(), "c".into(), "d".into()])
    );
    assert_eq!(path("a", "a"), Some(vec!["a".to_string()]));
    assert_eq!(path("d", "a"), None, "edges are directed");
    assert_eq!(path("a", "x"), None);
    assert_eq!(path("x", "lonely"), None);
    assert_eq!(path("x", "y"), Some(vec!["x".into(), "y".into()]));
    assert!(matches!(g.shortest_path("a", "nope"), Err(Error::NodeNotFound(id)) if id == "nope"));
}
