//! The workspace and the machine: `cargo metadata`, set-up (rustup, apt),
//! provenance, the compiler cache, the headless browser, and the check that
//! no member gives tokio features wasm does not support.

pub mod browser;
pub mod cache;
pub mod doctor;
pub mod features;
pub mod provenance;
pub mod setup;
pub mod workspace;
