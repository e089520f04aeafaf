//! Test fixtures shared by several modules' tests.

mod git;

pub use git::git;

use std::path::Path;
use std::process::Command;

/// Builds a small program for wasm32-wasip1 in release (the workspace's size
/// profile, names kept as cargo writes them with `strip = "debuginfo"`) in
/// a temporary dir and returns its `.wasm`. `deps` are local library crates
/// (name, `lib.rs`) the program depends on by path. No registry crates, so it
/// builds offline in seconds.
pub fn build_wasm_program(main_rs: &str, deps: &[(&str, &str)]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tiny");
    let write = |path: &Path, text: &str| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let dep_lines: String = deps
        .iter()
        .map(|(name, _)| format!("{name} = {{ path = \"{name}\" }}\n"))
        .collect();
    write(
        &root.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"tiny\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\n{dep_lines}\n\
             [profile.release]\nopt-level = \"z\"\nlto = true\ncodegen-units = 1\n\
             panic = \"abort\"\nstrip = \"debuginfo\"\n\n[workspace]\n"
        ),
    );
    write(&root.join("src/main.rs"), main_rs);
    for (name, lib_rs) in deps {
        write(
            &root.join(name).join("Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n"),
        );
        write(&root.join(name).join("src/lib.rs"), lib_rs);
    }
    let out = Command::new(crate::util::process::cargo())
        .args([
            "build",
            "--offline",
            "--release",
            "--target",
            "wasm32-wasip1",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.path().join("target"))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building the tiny program failed (is the target installed? `rustup target add wasm32-wasip1`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.path().join("target/wasm32-wasip1/release/tiny.wasm")).unwrap()
}

/// A workspace at `root` with target dir `target` and no packages, for tests
/// of path layouts: no cargo runs.
pub fn workspace_at(root: &Path, target: &Path) -> crate::ops::env::workspace::Workspace {
    let metadata: cargo_metadata::Metadata = serde_json::from_value(serde_json::json!({
        "packages": [], "workspace_members": [], "resolve": null, "version": 1,
        "workspace_root": root, "target_directory": target,
    }))
    .unwrap();
    crate::ops::env::workspace::Workspace {
        root: root.to_owned(),
        target_dir: target.to_owned(),
        metadata,
    }
}
