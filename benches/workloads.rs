//! The runtime benchmark's guest: the demo's workload and the store
//! operations it exercises (`cortex_benches`), on the memory stores, each
//! timed by the program itself with the monotonic clock. The same source
//! runs natively and as wasm (`cargo xtask bench-runtime` runs both), so
//! start-up and wasm compilation are outside every figure.
//!
//! Usage: `workloads [--samples N] [--only NAME]`. One JSON line per
//! workload on stdout: `{"name", "iterations", "samples_ns"}`, where each
//! sample is the mean time of one iteration over `iterations` iterations.

use std::process::ExitCode;
use std::time::Instant;

use cortex_benches::{json_line, Result, DEMO, WORKLOADS};
use cortex_core::{MemoryEventStore, MemoryGraphStore};

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
    let selected = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if !cortex_benches::names().into_iter().any(selected) {
        return Err(format!(
            "no workload named {only:?}; workloads: {}",
            cortex_benches::names().join(", ")
        ));
    }
    let epoch = Instant::now();
    let now_ns = || epoch.elapsed().as_nanos() as f64;
    let (name, iterations) = DEMO;
    if selected(name) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| e.to_string())?;
        let measured = cortex_benches::samples(samples, iterations, now_ns, || {
            let (events, graph) = (MemoryEventStore::new(), MemoryGraphStore::new());
            let summary = runtime
                .block_on(wasm_demo::run(&events, &graph))
                .map_err(|e| e.0)?;
            Ok(summary.to_string().len() as u64)
        })?;
        println!("{}", json_line(name, iterations, &measured));
    }
    let fixture = cortex_benches::fixture()?;
    for w in WORKLOADS.iter().filter(|w| selected(w.name)) {
        let measured =
            cortex_benches::samples(samples, w.iterations, now_ns, || (w.run)(&fixture))?;
        println!("{}", json_line(w.name, w.iterations, &measured));
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
