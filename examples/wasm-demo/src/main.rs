//! The CortexOS demo binary: runs the workload in [`wasm_demo::run`] on this
//! target's default stores (RocksDB natively, memory on wasm) and prints its
//! summary, the same on every target.
//!
//! Its release `.wasm` is the project's headline size: keep it lean.

use std::process::ExitCode;

use cortex_core::store::ScratchStores;
use wasm_demo::{DemoError, DemoResult};

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build();
    let result = match runtime {
        Ok(rt) => rt.block_on(run()),
        Err(e) => Err(DemoError(e.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(DemoError(e)) => {
            eprintln!("wasm-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> DemoResult {
    let stores = ScratchStores::open()?;
    let summary = wasm_demo::run(stores.events(), stores.graph()).await?;
    print!("{summary}");
    Ok(())
}
