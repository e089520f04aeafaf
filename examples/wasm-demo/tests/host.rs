//! `run_on`, the workload on a host of the caller's: the browser demo's
//! way in. Its host hears each part end, in order, and its timer is the
//! one the workload waits on; the summary is `run`'s.

use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

use cortex_core::{MemoryEventStore, MemoryGraphStore};
use wasm_demo::{Host, Part, Tokio};

/// tokio's timer, recording the parts; `expire` makes every timeout elapse.
#[derive(Default)]
struct Recording {
    parts: RefCell<Vec<Part>>,
    expire: bool,
}

impl Host for &Recording {
    type Elapsed = ();

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        Tokio.sleep(duration)
    }

    async fn timeout<F: Future>(&self, duration: Duration, future: F) -> Result<F::Output, ()> {
        if self.expire {
            return Err(());
        }
        Tokio.timeout(duration, future).await.map_err(|_| ())
    }

    fn part_done(&self, part: Part) {
        self.parts.borrow_mut().push(part);
    }
}

fn run_on(host: &Recording) -> wasm_demo::DemoResult<wasm_demo::Summary> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (events, graph) = (MemoryEventStore::new(), MemoryGraphStore::new());
    runtime.block_on(wasm_demo::run_on(host, &events, &graph))
}

#[test]
fn the_host_hears_every_part_in_order_and_the_summary_is_the_demos() {
    let host = Recording::default();
    let summary = run_on(&host).unwrap();
    assert_eq!(*host.parts.borrow(), Part::ALL);
    assert_eq!(summary.to_string(), include_str!("../expected-summary.txt"));
}

#[test]
fn the_workload_waits_on_the_hosts_timer() {
    let host = Recording {
        expire: true,
        ..Recording::default()
    };
    let err = run_on(&host).unwrap_err();
    assert_eq!(err.0, "subscription stalled");
    assert_eq!(*host.parts.borrow(), [Part::Append]);
}

#[test]
fn each_part_has_its_own_name() {
    let mut names: Vec<_> = Part::ALL.iter().map(|p| p.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Part::ALL.len());
}
