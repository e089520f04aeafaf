//! The guide's troubleshooting section as checks, for `cargo xtask
//! doctor`: targets, libclang, Chromium, the release profile, the compiler
//! cache, each package's std, and wasm feature unification.

use anyhow::{Context, Result};
use serde::Serialize;
use xshell::Shell;

use crate::ops::build::std_mode::{StdMode, SIZE_FIRST_CARGO_ARGS, SIZE_FIRST_RUSTFLAGS};
use crate::ops::env::cache;
use crate::ops::env::features::{self, WASM_TOKIO_FEATURES};
use crate::ops::env::setup::{self, Toolchain, WASM_TARGETS};
use crate::ops::env::workspace::Workspace;

/// How a check came out; a warning does not fail doctor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One check's line: `[ok  ] target: wasm32-wasip1 installed`.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub status: Status,
    pub what: String,
    pub detail: String,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tag = match self.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        write!(f, "[{tag}] {}: {}", self.what, self.detail)
    }
}

/// The checks, in the order they ran.
#[derive(Debug, Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn line(&mut self, status: Status, what: &str, detail: &str) {
        self.checks.push(Check {
            status,
            what: what.to_owned(),
            detail: detail.to_owned(),
        });
    }
}

/// Runs every check. Doctor passes when none failed (warnings allowed).
pub fn checks(sh: &Shell, ws: &Workspace) -> Result<Vec<Check>> {
    let mut report = Report::default();

    for target in WASM_TARGETS {
        match setup::target_installed(sh, target)? {
            true => report.line(Status::Ok, "target", &format!("{target} installed")),
            false => report.line(
                Status::Fail,
                "target",
                &format!(
                    "{target} missing; fix: `rustup target add {target}` (or `cargo xtask test`)"
                ),
            ),
        }
    }

    match setup::find_libclang() {
        Some(path) => report.line(Status::Ok, "libclang", &path.display().to_string()),
        None => report.line(
            Status::Fail,
            "libclang",
            &format!("not found; {}", setup::LIBCLANG_HELP),
        ),
    }

    match setup::find_chromium() {
        Some(path) => report.line(Status::Ok, "chromium", &path.display().to_string()),
        None => report.line(
            Status::Warn,
            "chromium",
            &format!(
                "not found (only the treemap's browser test needs it); {}",
                setup::CHROMIUM_HELP
            ),
        ),
    }

    let problems = release_profile_problems(&std::fs::read_to_string(ws.root_manifest())?)?;
    for problem in &problems {
        report.line(Status::Fail, "release profile", problem);
    }
    if problems.is_empty() {
        report.line(
            Status::Ok,
            "release profile",
            "opt-level = \"z\", lto = true, codegen-units = 1",
        );
    }

    compiler_cache(sh, &mut report);
    std_modes(sh, ws, &mut report);

    let leaks = features::tokio_leaks(sh, &ws.root_manifest(), WASM_TARGETS[0])?;
    for wasm in ws.wasm_packages() {
        let name = wasm.name.as_str();
        let mut clean = true;
        for leak in &leaks {
            if leak.member == name {
                clean = false;
                report.line(
                    Status::Fail,
                    "feature unification",
                    &format!("{name} itself cannot build for wasm: {}", leak.describe()),
                );
            } else {
                clean = false;
                report.line(
                    Status::Warn,
                    "feature unification",
                    &format!(
                        "{name} built together with `{}` fails on wasm: {}; build it alone \
                         (`cargo xtask build-wasm -p {name}`)",
                        leak.member,
                        leak.describe()
                    ),
                );
            }
        }
        if clean {
            report.line(
                Status::Ok,
                "feature unification",
                &format!(
                    "no workspace member turns on tokio features beyond {} next to {name}",
                    WASM_TOKIO_FEATURES.join(", ")
                ),
            );
        }
    }
    Ok(report.checks)
}

/// Each wasm package's std, and for the size-first ones the unstable
/// settings in use, why, and whether std's source is there to build from.
fn std_modes(sh: &Shell, ws: &Workspace, report: &mut Report) {
    let mut size_first = Vec::new();
    for package in ws.wasm_packages() {
        let name = package.name.as_str();
        match StdMode::of(package) {
            Ok(StdMode::Stable) => {
                report.line(Status::Ok, "std", &format!("{name}: the prebuilt std"))
            }
            Ok(StdMode::Size) => {
                size_first.push(name);
                let settings: Vec<String> = SIZE_FIRST_CARGO_ARGS
                    .iter()
                    .chain(SIZE_FIRST_RUSTFLAGS)
                    .map(|(flag, why)| format!("`{flag}` ({why})"))
                    .collect();
                report.line(
                    Status::Ok,
                    "std",
                    &format!(
                        "{name}: size-first for release (std = \"size\"): std built from \
                         source on this rustc, with RUSTC_BOOTSTRAP=1 for that build only, \
                         so that stable rustc takes: {}; debug and release-stable-std link \
                         the prebuilt std",
                        settings.join("; ")
                    ),
                );
            }
            Err(e) => report.line(Status::Fail, "std", &format!("{e:#}")),
        }
    }
    if size_first.is_empty() {
        return;
    }
    match Toolchain::read(sh) {
        Ok(t) if t.has_rust_src() => report.line(
            Status::Ok,
            "rust-src",
            &format!("{} (for {})", t.rust_src().display(), size_first.join(", ")),
        ),
        Ok(t) => report.line(
            Status::Fail,
            "rust-src",
            &format!(
                "missing from {}, and {} builds std from it; fix: `rustup component add \
                 rust-src` (build-wasm and size-report also install it)",
                t.rust_src().display(),
                size_first.join(", ")
            ),
        ),
        Err(e) => report.line(Status::Fail, "rust-src", &format!("{e:#}")),
    }
}

/// Whether a rustc wrapper is active, and for sccache its hit rate so far.
fn compiler_cache(sh: &Shell, report: &mut Report) {
    let Some(wrapper) = cache::wrapper(sh) else {
        report.line(
            Status::Ok,
            "compiler cache",
            "none (set RUSTC_WRAPPER, or pass --cache sccache to share builds between \
             checkouts and machines)",
        );
        return;
    };
    let incremental = sh.var("CARGO_INCREMENTAL").unwrap_or_default();
    let shown = wrapper.display();
    if !cache::is_sccache(&wrapper) {
        report.line(
            Status::Ok,
            "compiler cache",
            &format!("RUSTC_WRAPPER={shown}, CARGO_INCREMENTAL={incremental} for xtask's builds"),
        );
        return;
    }
    if let Some(why) = cache::server_mismatch(sh) {
        report.line(Status::Warn, "compiler cache", &why);
    }
    match cache::stats(sh, &wrapper) {
        Ok(stats) => {
            let rate = stats
                .hit_rate()
                .map_or("no compilations yet".to_owned(), |r| {
                    format!("{r:.0}% hits")
                });
            let languages: Vec<String> = stats
                .by_language
                .iter()
                .map(|(l, h, m)| format!("{l} {h}/{}", h + m))
                .collect();
            report.line(
                Status::Ok,
                "compiler cache",
                &format!(
                    "sccache ({shown}), {rate} ({} of {} since its server started{}{}), \
                     cache: {}; CARGO_INCREMENTAL={incremental} for xtask's builds",
                    stats.hits,
                    stats.hits + stats.misses,
                    if languages.is_empty() { "" } else { ": " },
                    languages.join(", "),
                    stats.location
                ),
            );
        }
        Err(e) => report.line(
            Status::Warn,
            "compiler cache",
            &format!(
                "RUSTC_WRAPPER={shown} but its statistics cannot be read ({e:#}); builds \
                 through it may fail: {}",
                cache::SCCACHE_HELP
            ),
        ),
    }
}

/// What is wrong with `[profile.release]` of the root manifest, if anything.
pub fn release_profile_problems(manifest: &str) -> Result<Vec<String>> {
    let doc: toml::Table = toml::from_str(manifest).context("root Cargo.toml is not valid TOML")?;
    let release = doc
        .get("profile")
        .and_then(|p| p.get("release"))
        .and_then(|r| r.as_table());
    let get = |key: &str| release.and_then(|r| r.get(key));
    let mut problems = Vec::new();
    if get("opt-level").and_then(|v| v.as_str()) != Some("z") {
        problems.push("set `opt-level = \"z\"` under [profile.release] in Cargo.toml".to_owned());
    }
    let lto_on = matches!(get("lto"), Some(toml::Value::Boolean(true)))
        || get("lto").and_then(|v| v.as_str()) == Some("fat");
    if !lto_on {
        problems.push("set `lto = true` under [profile.release] in Cargo.toml".to_owned());
    }
    if get("codegen-units").and_then(|v| v.as_integer()) != Some(1) {
        problems.push("set `codegen-units = 1` under [profile.release] in Cargo.toml".to_owned());
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::release_profile_problems;

    #[test]
    fn release_profile_check_names_each_missing_setting() {
        let good = "[profile.release]\nopt-level = \"z\"\nlto = true\ncodegen-units = 1\n";
        assert!(release_profile_problems(good).unwrap().is_empty());
        let fat = good.replace("lto = true", "lto = \"fat\"");
        assert!(release_profile_problems(&fat).unwrap().is_empty());
        let bad = "[profile.release]\nopt-level = 3\nlto = \"thin\"\n";
        let problems = release_profile_problems(bad).unwrap();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("opt-level"));
        assert!(problems[1].contains("lto"));
        assert!(problems[2].contains("codegen-units"));
        assert_eq!(release_profile_problems("").unwrap().len(), 3);
    }
}
