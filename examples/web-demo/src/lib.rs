//! The demo's workload in a browser: [`wasm_demo::run_on`] on the memory
//! stores, exported with wasm-bindgen for `wasm32-unknown-unknown`. Its
//! summary is the WASI demo's, byte for byte.
//!
//! A browser has no clock std or tokio can read (`Instant::now()` panics
//! there) and no thread to block, so nothing here starts a tokio runtime:
//! the browser runs the future as a promise, and [`Browser`] is the
//! workload's timer on `setTimeout`. The page times the parts itself with
//! `performance.now()`, from the callback `run` calls as each one ends.
//!
//! Elsewhere (natively, on WASI) the crate is empty, and depends on nothing.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use cortex_core::{MemoryEventStore, MemoryGraphStore};
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_demo::{Host, Part};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, milliseconds: i32) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Runs the demo's workload on fresh memory stores and resolves to its
/// summary. `on_part`, if given, is called with each part's name (see
/// [`Part::name`]) as that part ends; if it throws, the run still ends,
/// then rejects with the first thing it threw.
#[wasm_bindgen]
pub async fn run(on_part: Option<Function>) -> Result<String, JsValue> {
    let (events, graph) = (MemoryEventStore::new(), MemoryGraphStore::new());
    let browser = Browser {
        on_part,
        thrown: RefCell::new(None),
    };
    let summary = wasm_demo::run_on(&browser, &events, &graph)
        .await
        .map_err(|e| JsError::new(&e.0))?;
    match browser.thrown.take() {
        Some(thrown) => Err(thrown),
        None => Ok(summary.to_string()),
    }
}

/// The workload's host in a browser: the browser's timer, and the page's
/// callback told as each part ends.
#[derive(Debug)]
struct Browser {
    on_part: Option<Function>,
    /// What `on_part` threw first.
    thrown: RefCell<Option<JsValue>>,
}

/// Time ran out in [`Host::timeout`].
#[derive(Debug)]
struct Elapsed;

impl Host for &Browser {
    type Elapsed = Elapsed;

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        sleep(duration)
    }

    async fn timeout<F: Future>(
        &self,
        duration: Duration,
        future: F,
    ) -> Result<F::Output, Elapsed> {
        let mut future = pin!(future);
        // Armed on the first poll that finds `future` pending: the workload's
        // futures are mostly ready at once (every event is sent before the
        // subscription is read), and a timer per call would be thousands.
        let mut timer = None;
        poll_fn(|cx| {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Ok(output));
            }
            let timer = timer.get_or_insert_with(|| Box::pin(sleep(duration)));
            timer.as_mut().poll(cx).map(|()| Err(Elapsed))
        })
        .await
    }

    fn part_done(&self, part: Part) {
        let Some(on_part) = &self.on_part else {
            return;
        };
        if let Err(thrown) = on_part.call1(&JsValue::NULL, &JsValue::from_str(part.name())) {
            self.thrown.borrow_mut().get_or_insert(thrown);
        }
    }
}

/// Resolves after `duration` (to the millisecond), on `setTimeout`; the
/// timer is cleared if the future is dropped first.
async fn sleep(duration: Duration) {
    let milliseconds = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
    let mut id = JsValue::UNDEFINED;
    let promise = Promise::new(&mut |resolve, _reject| id = set_timeout(&resolve, milliseconds));
    let _clear = ClearTimeout(id);
    // Only `resolve` settles it: it cannot reject.
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Clears its timer when dropped; clearing one that fired does nothing.
struct ClearTimeout(JsValue);

impl Drop for ClearTimeout {
    fn drop(&mut self) {
        clear_timeout(&self.0);
    }
}

#[cfg(feature = "bench")]
mod bench;
#[cfg(feature = "bench")]
pub use bench::run_benchmarks;
