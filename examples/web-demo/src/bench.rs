//! The runtime benchmark's workloads in a browser (feature `bench`):
//! `cargo xtask bench-runtime` runs them from `benches/www/bench.html` for
//! its browser column, beside the native and WASI figures.
//!
//! Everything runs synchronously, inside the page's script, before its
//! `load` event: headless Chromium dumps the DOM after `load`, in real time
//! (virtual time would stop `performance.now()` while the script runs). So
//! the demo's workload runs on [`Spin`], a host that waits by polling the
//! clock, and is driven by [`block_on`], not by the browser's promises.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use cortex_benches::{json_line, DEMO, WORKLOADS};
use cortex_core::{MemoryEventStore, MemoryGraphStore};
use wasm_bindgen::prelude::*;
use wasm_demo::Host;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: milliseconds, to 5 µs on a cross-origin
    /// isolated page.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

fn now_ns() -> f64 {
    performance_now() * 1e6
}

/// Times every workload, `samples` samples each, and returns one JSON line
/// per workload, as the `workloads` binary prints them.
#[wasm_bindgen]
pub fn run_benchmarks(samples: u32) -> Result<String, JsError> {
    if samples == 0 {
        return Err(JsError::new("samples takes a positive number"));
    }
    let mut out = String::new();
    let (name, iterations) = DEMO;
    let measured = cortex_benches::samples(samples, iterations, now_ns, || {
        let (events, graph) = (MemoryEventStore::new(), MemoryGraphStore::new());
        let summary = block_on(wasm_demo::run_on(&Spin, &events, &graph)).map_err(|e| e.0)?;
        Ok(summary.to_string().len() as u64)
    })
    .map_err(|e| JsError::new(&e))?;
    out.push_str(&json_line(name, iterations, &measured));
    out.push('\n');
    let fixture = cortex_benches::fixture().map_err(|e| JsError::new(&e))?;
    for w in WORKLOADS {
        let measured = cortex_benches::samples(samples, w.iterations, now_ns, || (w.run)(&fixture))
            .map_err(|e| JsError::new(&e))?;
        out.push_str(&json_line(w.name, w.iterations, &measured));
        out.push('\n');
    }
    Ok(out)
}

/// Polls `future` until it is ready, again and again: [`Spin`]'s futures
/// wake no one, they are ready once the clock says so.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// A host that waits by reading `performance.now()` until the time is up.
#[derive(Debug)]
struct Spin;

/// Time ran out in [`Host::timeout`].
#[derive(Debug)]
struct Elapsed;

/// A check that is true once `duration` has passed since it was made.
fn deadline(duration: Duration) -> impl FnMut() -> bool {
    let until = performance_now() + duration.as_secs_f64() * 1e3;
    move || performance_now() >= until
}

impl Host for &Spin {
    type Elapsed = Elapsed;

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        let mut passed = deadline(duration);
        poll_fn(move |_| {
            if passed() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    async fn timeout<F: Future>(
        &self,
        duration: Duration,
        future: F,
    ) -> Result<F::Output, Elapsed> {
        let mut future = pin!(future);
        let mut passed = deadline(duration);
        poll_fn(|cx| match future.as_mut().poll(cx) {
            Poll::Ready(output) => Poll::Ready(Ok(output)),
            Poll::Pending if passed() => Poll::Ready(Err(Elapsed)),
            Poll::Pending => Poll::Pending,
        })
        .await
    }
}
