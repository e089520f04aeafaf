//! Defines `cfg(rocksdb_backend)`: the one place that spells out when
//! cortex-core stores in RocksDB, namely a native target with the `rocksdb`
//! feature. RocksDB cannot build for wasm32, where the feature does nothing
//! (Cargo.toml gates the dependency the same way). The library and its
//! integration tests (a `rustc-cfg` reaches every target of the package)
//! say `#[cfg(rocksdb_backend)]` instead of repeating the predicate.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(rocksdb_backend)");
    let wasm32 = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "wasm32");
    let rocksdb = std::env::var_os("CARGO_FEATURE_ROCKSDB").is_some();
    if rocksdb && !wasm32 {
        println!("cargo::rustc-cfg=rocksdb_backend");
    }
}
