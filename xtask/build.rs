//! How the `xtask` binary is linked. It carries Binaryen's C++ (the
//! wasm-opt crate), whose ~145 static constructors run before `main` on
//! every command: where they sit in the binary, and how many relocations
//! the loader applies, decide how much memory `cargo xtask --help` or
//! `bloat` starts with.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        // lld (Rust's default linker here) mixes each C++ file's
        // `.text.startup` in with the rest of its code, so the constructors
        // touch pages all over a 20 MB `.text`: ~4 MB resident before any
        // work. Kept apart, they share a few pages. GNU ld groups them
        // already: it warns that it ignores the flag, and links.
        println!("cargo::rustc-link-arg-bins=-Wl,-z,keep-text-section-prefix");
        // 1.5 MB of relative relocations (a 24-byte entry each), read by
        // the loader at every start, packed into 12 KB of DT_RELR. A binary
        // with them runs only on glibc 2.36 or later; xtask runs where it
        // is built, so the build machine's glibc decides.
        if glibc_at_least(2, 36) {
            println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        }
    }
}

/// Whether this machine's glibc is at least `major.minor`; false when it
/// cannot tell (another libc, no `getconf`).
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    // "glibc 2.36"
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.trim().trim_start_matches("glibc ").split('.');
    let mut number = || parts.next().and_then(|p| p.parse::<u32>().ok());
    match (number(), number()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}
