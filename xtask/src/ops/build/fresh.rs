//! Whether a wasm package's build is fresh without asking cargo: a no-op
//! `size-report` over N packages would otherwise start 2N cargo processes
//! (debug and release), each a full manifest load and fingerprint walk.
//!
//! After a successful build xtask writes a stamp beside its outputs. The
//! build counts as fresh, and cargo is not run, only when all of this holds;
//! any doubt runs cargo, which is always right:
//! - the inputs key is the same: the toolchain (`rustc -V`), this xtask
//!   binary (which chooses the flags cargo gets), the variables that can
//!   change a build (`affects_builds`), `Cargo.lock` (which may change
//!   only by cargo's own hand during the build), every member's manifest,
//!   the `.cargo` config files cargo reads, and `rust-toolchain(.toml)`;
//! - the variables the build declared itself (build scripts'
//!   `rerun-if-env-changed`, rustc's `# env-dep:`) have the values they
//!   had, and the manifest of every local package it read, a path
//!   dependency outside the workspace too, has the same content;
//! - every output is there, as long and as old as the stamp says;
//! - every source file cargo's dep-info (`<output>.d`) lists, the local
//!   packages' sources (registry crates are immutable, pinned by
//!   `Cargo.lock`), is older than the moment that build started, less a
//!   margin for the file clock (100 ms; 2 s on a file system of whole
//!   seconds).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::ops::build::artifacts;
use crate::ops::env::workspace::{self, Workspace};
use crate::util::files::{content_hash, write_atomic};

/// Whether the variable `name` can change what cargo builds, as cargo's
/// own fingerprint sees it: cargo's and rustc's (`CARGO_*`, `RUSTFLAGS`,
/// `RUSTC*`, `RUSTUP_TOOLCHAIN`), the C/C++ toolchain's that the cc crate
/// and bindgen read (plain, `_<triple>`, `TARGET_`/`HOST_` forms), and the
/// compiler cache's. Any other (`TERM`, a CI step's own, a random one a
/// benchmark sets) changes nothing; the variables a package's build reads
/// itself (build scripts' `rerun-if-env-changed`, `env!`) are recorded per
/// build in its stamp.
fn affects_builds(name: &str) -> bool {
    const EXACT: [&str; 5] = [
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTUP_TOOLCHAIN",
        "LIBCLANG_PATH",
        "BINDGEN_EXTRA_CLANG_ARGS",
    ];
    const C_TOOLCHAIN: [&str; 10] = [
        "CC",
        "CXX",
        "AR",
        "RANLIB",
        "CFLAGS",
        "CXXFLAGS",
        "CPPFLAGS",
        "LDFLAGS",
        "CRATE_CC_NO_DEFAULTS",
        "CC_ENABLE_DEBUG_OUTPUT",
    ];
    let bare = name
        .strip_prefix("TARGET_")
        .or_else(|| name.strip_prefix("HOST_"))
        .unwrap_or(name);
    let c_tool = C_TOOLCHAIN
        .iter()
        .any(|t| bare == *t || bare.strip_prefix(t).is_some_and(|r| r.starts_with('_')));
    EXACT.contains(&name)
        || c_tool
        || name.starts_with("CARGO_")
        || name.starts_with("RUSTC")
        || name.starts_with("SCCACHE_")
}

/// The stamp's file name, in the output dir of a package and profile.
const STAMP: &str = ".xtask-fresh.json";

/// Everything but the sources that a build's result depends on, hashed in
/// two parts: `Cargo.lock`, which cargo itself may write during a build
/// (resolving the manifests hashed in the other part), and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    lock: String,
    rest: String,
}

impl Key {
    /// The key a stamp records.
    pub fn combined(&self) -> String {
        content_hash(&[self.lock.as_bytes(), self.rest.as_bytes()])
    }

    /// Whether a build that started with `self` and ended with `after` can
    /// be recorded as fresh for `after`: nothing changed, or only Cargo.lock
    /// (cargo writes it from the same manifests).
    pub fn still_holds(&self, after: &Key) -> bool {
        self.rest == after.rest
    }
}

/// The inputs key of `ws` for toolchain `rustc` (its `rustc -V`).
pub fn inputs_key(ws: &Workspace, rustc: &str) -> Key {
    let mut env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .filter(|(k, _)| affects_builds(k))
        .collect();
    env.sort();
    let mut files: Vec<PathBuf> = vec![ws.root_manifest()];
    files.extend(ws.members().map(|p| p.manifest_path.clone().into()));
    for dir in ws.root.ancestors() {
        files.push(dir.join(".cargo").join("config.toml"));
        files.push(dir.join(".cargo").join("config"));
    }
    if let Some(home) = workspace::cargo_home() {
        files.push(home.join("config.toml"));
        files.push(home.join("config"));
    }
    files.push(ws.root.join("rust-toolchain.toml"));
    files.push(ws.root.join("rust-toolchain"));
    // This program: the flags it adds to cargo's (remapped paths, the
    // size-first std) are its own, and a rebuilt xtask may add others.
    let mut parts: Vec<Vec<u8>> = vec![
        rustc.as_bytes().to_vec(),
        artifacts::program_identity().into_bytes(),
    ];
    for (k, v) in env {
        parts.push(format!("{k}={v}").into_bytes());
    }
    for file in files {
        parts.push(file.display().to_string().into_bytes());
        parts.push(std::fs::read(&file).unwrap_or_default());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Key {
        lock: content_hash(&[&std::fs::read(ws.root.join("Cargo.lock")).unwrap_or_default()]),
        rest: content_hash(&refs),
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Stamp {
    key: String,
    /// When the build that wrote the outputs started, ns since the epoch.
    started_ns: u128,
    outputs: Vec<Output>,
    /// The variables the build read itself, with their values then: those
    /// its build scripts declared (`rerun-if-env-changed`) and those rustc
    /// saw read by `env!`/`option_env!` (`# env-dep:` in its dep-info).
    #[serde(default)]
    env: Vec<(String, Option<String>)>,
    /// The manifest of every local package whose sources the build read,
    /// with its content hash: path dependencies outside the workspace and
    /// `[patch]` path crates too, whose manifests (features, say) are in
    /// no other part of the key.
    #[serde(default)]
    manifests: Vec<(PathBuf, String)>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Output {
    path: PathBuf,
    len: u64,
    modified_ns: u128,
}

fn modified_ns(path: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok()?;
    let since = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((meta.len(), since.as_nanos()))
}

/// Now, as the moment a build starts: take it before cargo starts.
pub fn build_started() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// How much earlier than its start a build is recorded. Files get their
/// times from a clock that lags the real one by up to a kernel tick (10 ms
/// at 100 Hz): an edit just after the start must never look older than it.
/// A file system that keeps whole seconds (its outputs' times have no
/// fraction) needs two seconds. An edit within the margin before a build
/// costs the next run one cargo check.
fn margin_ns(outputs: &[Output]) -> u128 {
    let whole_seconds = outputs.iter().all(|o| o.modified_ns % 1_000_000_000 == 0);
    match whole_seconds {
        true => 2_000_000_000,
        false => 100_000_000,
    }
}

/// Whether the build of `outputs` (a package's raw artifacts for one
/// profile, in `dir`) is fresh for `key`.
pub fn is_fresh(dir: &Path, outputs: &[PathBuf], key: &str) -> bool {
    let Some(stamp) = std::fs::read(dir.join(STAMP))
        .ok()
        .and_then(|b| serde_json::from_slice::<Stamp>(&b).ok())
    else {
        return false;
    };
    if stamp.key != key || stamp.outputs.len() != outputs.len() {
        return false;
    }
    if !stamp.env.iter().all(|(k, v)| std::env::var(k).ok() == *v) {
        return false;
    }
    if !stamp
        .manifests
        .iter()
        .all(|(path, hash)| file_hash(path) == *hash)
    {
        return false;
    }
    let outputs_unchanged = stamp
        .outputs
        .iter()
        .zip(outputs)
        .all(|(o, path)| o.path == *path && modified_ns(path) == Some((o.len, o.modified_ns)));
    outputs_unchanged
        && outputs.iter().all(|out| {
            let Ok(dep_info) = std::fs::read_to_string(out.with_extension("d")) else {
                return false;
            };
            dep_info_inputs(&dep_info)
                .iter()
                .all(|input| modified_ns(input).is_some_and(|(_, m)| m < stamp.started_ns))
        })
}

/// Records that `outputs` in `dir` were just built, from inputs as they
/// were at `started_ns`. A stamp that cannot be written only costs the
/// next run a cargo check.
pub fn record(dir: &Path, outputs: &[PathBuf], key: &str, started_ns: u128) -> Result<()> {
    let outputs = outputs
        .iter()
        .filter_map(|path| {
            let (len, modified_ns) = modified_ns(path)?;
            Some(Output {
                path: path.clone(),
                len,
                modified_ns,
            })
        })
        .collect::<Vec<_>>();
    let env = declared_env(dir)
        .into_iter()
        .map(|k| {
            let v = std::env::var(&k).ok();
            (k, v)
        })
        .collect();
    // A manifest written since the build started may not be what it read:
    // recorded as unknown, so the next run asks cargo.
    let manifests = local_manifests(&outputs)
        .into_iter()
        .map(|m| {
            let hash = match modified_ns(&m) {
                Some((_, at)) if at < started_ns => file_hash(&m),
                _ => String::new(),
            };
            (m, hash)
        })
        .collect();
    let stamp = Stamp {
        key: key.to_owned(),
        started_ns: started_ns.saturating_sub(margin_ns(&outputs)),
        outputs,
        env,
        manifests,
    };
    write_atomic(&dir.join(STAMP), &serde_json::to_vec(&stamp)?)
}

/// A file's content hash; empty for a file that cannot be read, which a
/// later check then sees as changed once it can.
fn file_hash(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| content_hash(&[&b]))
        .unwrap_or_default()
}

/// The manifest of each local package whose sources the dep-info of
/// `outputs` lists: for each source, the nearest `Cargo.toml` above it.
fn local_manifests(outputs: &[Output]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for out in outputs {
        let Ok(dep_info) = std::fs::read_to_string(out.path.with_extension("d")) else {
            continue;
        };
        for input in dep_info_inputs(&dep_info) {
            if let Some(dir) = input.parent() {
                if !dirs.iter().any(|d| d == dir) {
                    dirs.push(dir.to_owned());
                }
            }
        }
    }
    let mut manifests: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|dir| {
            dir.ancestors()
                .map(|a| a.join("Cargo.toml"))
                .find(|m| m.is_file())
        })
        .collect();
    manifests.sort();
    manifests.dedup();
    manifests
}

/// The variables the build in `dir` (a profile dir) read itself: declared
/// by a build script (`cargo:rerun-if-env-changed=V` in `build/*/output`)
/// or read by `env!`/`option_env!` (`# env-dep:V` in rustc's dep-info,
/// `deps/*.d`). Sorted, each once.
fn declared_env(dir: &Path) -> Vec<String> {
    let entries = |sub: &str| {
        std::fs::read_dir(dir.join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
    };
    let script_outputs = entries("build").map(|p| p.join("output"));
    let dep_infos = entries("deps").filter(|p| p.extension().is_some_and(|e| e == "d"));
    let mut names = Vec::new();
    for file in script_outputs.chain(dep_infos) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        names.extend(env_names(&text));
    }
    names.sort();
    names.dedup();
    names
}

/// The variable names a build script's output or a dep-info file declares.
fn env_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let rest = line
                .strip_prefix("cargo::rerun-if-env-changed=")
                .or_else(|| line.strip_prefix("cargo:rerun-if-env-changed="))
                .or_else(|| line.strip_prefix("# env-dep:"))?;
            let name = rest.split('=').next()?.trim();
            (!name.is_empty()).then(|| name.to_owned())
        })
        .collect()
}

/// Forgets the stamp, before a build that may fail halfway.
pub fn forget(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(STAMP));
}

/// The inputs a Makefile-style dep-info file lists (`out: in1 in2 …`,
/// spaces in paths escaped as `\ `), every rule's.
fn dep_info_inputs(text: &str) -> Vec<PathBuf> {
    let mut inputs = Vec::new();
    for line in text.lines() {
        let Some((_, deps)) = split_rule(line) else {
            continue;
        };
        let mut current = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek().is_some_and(|n| *n == ' ' || *n == '\\') => {
                    current.push(chars.next().expect("peeked"));
                }
                ' ' => {
                    if !current.is_empty() {
                        inputs.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                _ => current.push(c),
            }
        }
        if !current.is_empty() {
            inputs.push(PathBuf::from(current));
        }
    }
    inputs
}

/// `target: deps` split at the first `: ` not escaped.
fn split_rule(line: &str) -> Option<(&str, &str)> {
    let at = line
        .find(": ")
        .or_else(|| line.strip_suffix(':').map(str::len))?;
    Some((&line[..at], line.get(at + 1..).unwrap_or("").trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_variables_that_can_change_a_build_are_in_the_key() {
        for name in [
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_PROFILE_RELEASE_LTO",
            "RUSTC_WRAPPER",
            "RUSTC_BOOTSTRAP",
            "CC",
            "CFLAGS_wasm32_wasip1",
            "TARGET_CC",
            "HOST_CXXFLAGS",
            "SCCACHE_BASEDIRS",
            "LIBCLANG_PATH",
        ] {
            assert!(affects_builds(name), "{name}");
        }
        for name in [
            "TERM",
            "FOO",
            "PWD",
            "SHLVL",
            "_",
            "HOME",
            "CI",
            "CCACHE_DIR",
            "CFLAGSX",
        ] {
            assert!(!affects_builds(name), "{name}");
        }
    }

    #[test]
    fn declared_variables_come_from_build_script_output_and_env_dep_lines() {
        let text = "cargo:rerun-if-changed=build.rs\n\
                    cargo:rerun-if-env-changed=TINY_FLAVOUR\n\
                    cargo::rerun-if-env-changed=OTHER\n\
                    # env-dep:CARGO_PKG_NAME=app\n\
                    # env-dep:UNSET\n\
                    /a/src/main.rs:\n";
        assert_eq!(
            env_names(text),
            ["TINY_FLAVOUR", "OTHER", "CARGO_PKG_NAME", "UNSET"]
        );
    }

    #[test]
    fn dep_info_lists_every_input_and_unescapes_spaces() {
        let text =
            "/t/app.wasm: /w/src/main.rs /w/my\\ dir/lib.rs /w/build.rs\n\n/w/src/main.rs:\n";
        assert_eq!(
            dep_info_inputs(text),
            vec![
                PathBuf::from("/w/src/main.rs"),
                PathBuf::from("/w/my dir/lib.rs"),
                PathBuf::from("/w/build.rs"),
            ]
        );
    }

    #[test]
    fn a_build_is_fresh_until_an_input_output_or_key_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (src, out) = (dir.path().join("main.rs"), dir.path().join("app.wasm"));
        std::fs::write(&src, "fn main() {}").unwrap();
        let set_modified = |path: &Path, t: SystemTime| {
            let file = std::fs::File::options().append(true).open(path).unwrap();
            file.set_modified(t).unwrap();
        };
        set_modified(&src, SystemTime::now() - std::time::Duration::from_secs(10));
        let started = build_started();
        std::fs::write(&out, b"\0asm").unwrap();
        std::fs::write(
            out.with_extension("d"),
            format!("{}: {}\n", out.display(), src.display()),
        )
        .unwrap();
        let outputs = [out.clone()];
        assert!(!is_fresh(dir.path(), &outputs, "k"), "no stamp yet");
        record(dir.path(), &outputs, "k", started).unwrap();
        assert!(is_fresh(dir.path(), &outputs, "k"));
        assert!(!is_fresh(dir.path(), &outputs, "other key"));

        // An output replaced behind our back.
        std::fs::write(&out, b"\0asm\x01").unwrap();
        assert!(!is_fresh(dir.path(), &outputs, "k"));
        record(dir.path(), &outputs, "k", started).unwrap();
        assert!(is_fresh(dir.path(), &outputs, "k"));

        // A source whose time is within the margin before the build's
        // start, left for the kernel's coarse file times.
        set_modified(
            &src,
            UNIX_EPOCH + std::time::Duration::from_nanos(started as u64 - 50_000_000),
        );
        assert!(!is_fresh(dir.path(), &outputs, "k"));

        // A source gone.
        std::fs::remove_file(&src).unwrap();
        assert!(!is_fresh(dir.path(), &outputs, "k"));
        forget(dir.path());
        assert!(!dir.path().join(STAMP).exists());
    }
}
