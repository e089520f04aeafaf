//! How the `xtask` binary is linked. It carries Binaryen's C++ (the
//! wasm-opt crate), whose ~145 static constructors run before `main` on
//! every command: where they sit in the binary decides how much memory
//! `cargo xtask --help` or `bloat` starts with.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        // lld (Rust's default linker here) mixes each C++ file's
        // `.text.startup` in with the rest of its code, so the constructors
        // touch pages all over a 20 MB `.text`: ~4 MB resident before any
        // work. Kept apart, they share a few pages. GNU ld groups them
        // already and accepts the flag.
        println!("cargo::rustc-link-arg-bins=-Wl,-z,keep-text-section-prefix");
    }
}
