//! Installs what the build needs, or says exactly how to: rustup targets and
//! components, libclang for the rocksdb crate's bindgen, Chromium for the
//! treemap's browser test, and the compiler cache test's Redis server.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::util::process;

/// The wasm targets the project builds for.
pub const WASM_TARGETS: [&str; 2] = ["wasm32-wasip1", "wasm32-unknown-unknown"];

fn has_rustup(sh: &Shell) -> bool {
    cmd!(sh, "rustup --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok()
}

/// Adds each missing rustup target; without rustup, fails saying what to do.
pub fn ensure_targets(sh: &Shell, targets: &[&str]) -> Result<()> {
    let installed = installed_targets(sh)?;
    let missing: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| !installed.iter().any(|i| i == t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !has_rustup(sh) {
        bail!(
            "Rust target(s) {} not installed and rustup is not available; install the \
             standard library for them with your toolchain's installer, or install rustup \
             and run `rustup target add {}`",
            missing.join(", "),
            missing.join(" ")
        );
    }
    eprintln!("installing missing Rust target(s): {}", missing.join(", "));
    process::run_on_stderr(cmd!(sh, "rustup target add {missing...}"))
        .context("`rustup target add` failed; run it yourself to see why")?;
    Ok(())
}

/// Targets whose standard library is installed: rustup's list, or the sysroot's.
fn installed_targets(sh: &Shell) -> Result<Vec<String>> {
    if has_rustup(sh) {
        let list = cmd!(sh, "rustup target list --installed").quiet().read()?;
        return Ok(list.lines().map(str::to_owned).collect());
    }
    let rustlib = sysroot(sh)?.join("lib/rustlib");
    Ok(std::fs::read_dir(&rustlib)
        .with_context(|| format!("cannot read {}", rustlib.display()))?
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect())
}

/// Whether `target`'s standard library is installed.
pub fn target_installed(sh: &Shell, target: &str) -> Result<bool> {
    Ok(installed_targets(sh)?.iter().any(|t| t == target))
}

/// Adds missing rustup components (rustfmt, clippy).
pub fn ensure_components(sh: &Shell, components: &[&str]) -> Result<()> {
    if !has_rustup(sh) {
        return Ok(());
    }
    let installed = cmd!(sh, "rustup component list --installed")
        .quiet()
        .read()?;
    let missing: Vec<&str> = components
        .iter()
        .copied()
        .filter(|c| !installed.lines().any(|l| l.starts_with(&format!("{c}-"))))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "installing missing rustup component(s): {}",
            missing.join(", ")
        );
        process::run_on_stderr(cmd!(sh, "rustup component add {missing...}"))?;
    }
    Ok(())
}

/// The toolchain cargo builds with (`RUSTC`, else `rustc`): its sysroot and
/// the commit its std was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    pub sysroot: PathBuf,
    /// `commit-hash` of `rustc -vV`; `None` for a toolchain built locally.
    pub commit_hash: Option<String>,
}

/// The sysroot of the rustc cargo builds with (`RUSTC`, else `rustc`).
fn sysroot(sh: &Shell) -> Result<PathBuf> {
    let rustc = process::rustc();
    let sysroot = cmd!(sh, "{rustc} --print sysroot")
        .quiet()
        .read()
        .context("cannot run rustc: is a Rust toolchain installed and on PATH?")?;
    Ok(sysroot.trim().into())
}

impl Toolchain {
    pub fn read(sh: &Shell) -> Result<Self> {
        let sysroot = sysroot(sh)?;
        let rustc = process::rustc();
        let verbose = cmd!(sh, "{rustc} -vV").quiet().read()?;
        let commit_hash = verbose
            .lines()
            .find_map(|l| l.strip_prefix("commit-hash: "))
            .map(str::trim)
            .filter(|h| !h.is_empty() && *h != "unknown")
            .map(str::to_owned);
        Ok(Self {
            sysroot,
            commit_hash,
        })
    }

    /// Where the rust-src component puts std's source.
    pub fn rust_src(&self) -> PathBuf {
        self.sysroot.join("lib/rustlib/src/rust")
    }

    pub fn has_rust_src(&self) -> bool {
        self.rust_src().join("library/std/Cargo.toml").is_file()
    }
}

/// Makes sure std's source (rust-src) is there for a build of std from
/// source: installs it with rustup, or fails in one line saying how.
/// `who` names what needs it.
pub fn ensure_rust_src(sh: &Shell, toolchain: &Toolchain, who: &str) -> Result<()> {
    if toolchain.has_rust_src() {
        return Ok(());
    }
    let fix = "run `rustup component add rust-src` (or install your toolchain's rust-src \
               component by its installer), then build again";
    if !has_rustup(sh) {
        bail!(
            "{who} builds std from source, but std's source is not in {} and rustup is not \
               available to install it: {fix}",
            toolchain.rust_src().display()
        );
    }
    eprintln!("{who} builds std from source; installing the rust-src component");
    let added = process::run_on_stderr(cmd!(sh, "rustup component add rust-src"));
    if added.is_err() || !toolchain.has_rust_src() {
        bail!(
            "{who} builds std from source, but std's source is not in {} and \
               `rustup component add rust-src` could not install it (its output is above; \
               offline?): {fix}",
            toolchain.rust_src().display()
        );
    }
    Ok(())
}

/// Where a libclang shared library is, if anywhere we know to look.
pub fn find_libclang() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("LIBCLANG_PATH")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    for parent in [
        "/usr/lib",
        "/usr/lib64",
        "/usr/local/lib",
        "/opt/homebrew/opt/llvm/lib",
    ] {
        dirs.push(parent.into());
        if let Ok(entries) = std::fs::read_dir(parent) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("llvm") {
                    dirs.push(e.path().join("lib"));
                } else if name.ends_with("-linux-gnu") {
                    dirs.push(e.path());
                }
            }
        }
    }
    dirs.into_iter().find_map(|dir| {
        std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                name.starts_with("libclang")
                    && !name.starts_with("libclang-cpp")
                    && is_shared_lib(&name)
            })
    })
}

fn is_shared_lib(name: &str) -> bool {
    name.contains(".so") || name.ends_with(".dylib") || name.ends_with(".dll")
}

pub const LIBCLANG_HELP: &str = "the rocksdb crate's bindgen needs libclang. Install it: \
    `sudo apt-get install libclang-dev` (Debian, Ubuntu), `sudo dnf install clang-devel` \
    (Fedora), `brew install llvm` (macOS); or point LIBCLANG_PATH at the directory holding it";

/// Finds libclang; as root with apt-get, installs Debian's `libclang-dev`.
pub fn ensure_libclang(sh: &Shell) -> Result<()> {
    if find_libclang().is_some() {
        return Ok(());
    }
    apt_install(sh, "libclang", "libclang-dev", LIBCLANG_HELP)?;
    if find_libclang().is_none() {
        bail!("libclang-dev installed but no libclang found; {LIBCLANG_HELP}");
    }
    Ok(())
}

pub const REDIS_HELP: &str = "the compiler-cache test runs a Redis server. Install it: \
    `sudo apt-get install redis-server` (Debian, Ubuntu), `sudo dnf install redis` (Fedora), \
    `brew install redis` (macOS)";

/// redis-server from PATH; as root with apt-get, installs Debian's.
pub fn ensure_redis(sh: &Shell) -> Result<PathBuf> {
    let found = |sh: &Shell| {
        cmd!(sh, "redis-server --version")
            .quiet()
            .ignore_stdout()
            .run()
            .is_ok()
    };
    if !found(sh) {
        apt_install(sh, "redis-server", "redis-server", REDIS_HELP)?;
        if !found(sh) {
            bail!("redis-server installed but not on PATH; {REDIS_HELP}");
        }
    }
    Ok("redis-server".into())
}

/// As root with apt-get, installs Debian's `package`; else fails with `help`.
fn apt_install(sh: &Shell, what: &str, package: &str, help: &str) -> Result<()> {
    let is_root = cmd!(sh, "id -u")
        .quiet()
        .read()
        .map(|u| u.trim() == "0")
        .unwrap_or(false);
    let has_apt = cmd!(sh, "apt-get --version")
        .quiet()
        .ignore_stdout()
        .run()
        .is_ok();
    if !(is_root && has_apt) {
        bail!("{what} not found: {help}");
    }
    eprintln!("{what} not found; installing Debian's {package}");
    let _env = sh.push_env("DEBIAN_FRONTEND", "noninteractive");
    process::run_on_stderr(cmd!(sh, "apt-get update -qq"))?;
    process::run_on_stderr(cmd!(
        sh,
        "apt-get install -y -qq --no-install-recommends {package}"
    ))
    .with_context(|| format!("apt-get could not install {package}; {help}"))?;
    Ok(())
}

pub const CHROMIUM_HELP: &str = "the treemap's browser test and `bloat --screenshot` need \
    Chromium (or Chrome). Install it: `sudo apt-get install chromium` (Debian), \
    `brew install --cask chromium` (macOS); or point CHROMIUM at its executable";

/// Chromium's (or Chrome's) executable: `CHROMIUM` if set, else the first
/// of the usual names on PATH.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Finds Chromium; as root with apt-get, installs Debian's `chromium`.
pub fn ensure_chromium(sh: &Shell) -> Result<PathBuf> {
    if let Some(found) = find_chromium() {
        return Ok(found);
    }
    apt_install(sh, "Chromium", "chromium", CHROMIUM_HELP)?;
    find_chromium()
        .with_context(|| format!("chromium installed but not found on PATH; {CHROMIUM_HELP}"))
}
