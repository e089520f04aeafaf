//! What the wasm builds produce and where: one target dir per package under
//! `<workspace target dir>/wasm/<package>`, so each wasm package is built
//! alone and cargo's feature unification cannot mix native features in.

use std::path::{Path, PathBuf};

use cargo_metadata::{Package, TargetKind};

use crate::ops::env::workspace::Workspace;
use wasm_size::artifact::{ArtifactId, Kind, Profile, Stage};

pub const WASM_TARGET: &str = "wasm32-wasip1";
/// A browser package's target (`[package.metadata.cortex] browser = true`).
pub const BROWSER_TARGET: &str = "wasm32-unknown-unknown";

/// Whether `package` is built for a page (`browser = true`).
pub fn is_browser(package: &Package) -> bool {
    package.metadata["cortex"]["browser"].as_bool() == Some(true)
}

/// The target `package` is built for.
pub fn target_of(package: &Package) -> &'static str {
    if is_browser(package) {
        BROWSER_TARGET
    } else {
        WASM_TARGET
    }
}

/// One file the wasm build produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub package: String,
    pub kind: Kind,
    pub profile: Profile,
    pub stage: Stage,
    pub path: PathBuf,
}

impl Artifact {
    /// `package/kind/profile/stage`.
    pub fn id(&self) -> ArtifactId {
        ArtifactId::new(&self.package, self.kind, self.profile, self.stage)
    }
}

/// The target dir of one wasm package.
pub fn package_target_dir(ws: &Workspace, package: &str) -> PathBuf {
    ws.target_dir.join("wasm").join(package)
}

/// The target dir cargo builds `package` in for `profile`: the package's
/// own, but a dir of its own inside it for the `release-stable-std` twin,
/// whose release outputs would otherwise overwrite the shipped build's.
pub fn cargo_target_dir(ws: &Workspace, package: &str, profile: Profile) -> PathBuf {
    let dir = package_target_dir(ws, package);
    match profile {
        Profile::ReleaseStableStd => dir.join("stable-std"),
        Profile::Debug | Profile::Release => dir,
    }
}

/// Where `-Oz` results are cached by input hash: one cache for every build.
/// A file as its path, length and time, for cache keys: `None` where the
/// file system does not keep times to the nanosecond (a rewrite within the
/// same second could keep all three). A rewritten file gets a new time.
pub fn stat_identity(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    (modified.subsec_nanos() != 0)
        .then(|| format!("{} {} {}", path.display(), meta.len(), modified.as_nanos()))
}

/// This xtask binary, as its path, length and time, for the keys of caches
/// whose entries this program computes: any rebuild makes new entries.
pub fn program_identity() -> String {
    std::env::current_exe()
        .and_then(|exe| {
            let meta = std::fs::metadata(&exe)?;
            Ok(format!(
                "{} {} {:?}",
                exe.display(),
                meta.len(),
                meta.modified()?
            ))
        })
        .unwrap_or_default()
}

pub fn opt_cache_dir(ws: &Workspace) -> PathBuf {
    ws.target_dir.join("wasm").join("opt-cache")
}

/// Where measurements are cached by content hash.
pub fn size_cache_dir(ws: &Workspace) -> PathBuf {
    ws.target_dir.join("wasm").join("size-cache")
}

/// Where cargo puts `profile` outputs for the wasm target.
pub fn profile_dir(ws: &Workspace, package: &str, profile: Profile) -> PathBuf {
    target_profile_dir(ws, package, WASM_TARGET, profile)
}

/// Where cargo puts `profile` outputs of `package` for its own target.
pub fn package_profile_dir(ws: &Workspace, package: &Package, profile: Profile) -> PathBuf {
    target_profile_dir(ws, &package.name, target_of(package), profile)
}

fn target_profile_dir(ws: &Workspace, package: &str, target: &str, profile: Profile) -> PathBuf {
    cargo_target_dir(ws, package, profile)
        .join(target)
        .join(profile.cargo_dir())
}

/// A browser package's bindings as generated, before -Oz, in its profile
/// dir `dir`: `bindgen/<name>_bg.wasm` and `bindgen/<name>.js`.
pub fn bindgen_dir(dir: &Path) -> PathBuf {
    dir.join("bindgen")
}

/// What a page loads of a browser package built in `dir`: `pkg/`, with
/// `<name>_bg.wasm` after -Oz and `<name>.js`, the files `www/` imports.
pub fn pkg_dir(dir: &Path) -> PathBuf {
    dir.join("pkg")
}

/// The shipped file beside a raw `.wasm`: `name.opt.wasm`.
pub fn opt_path(raw: &Path) -> PathBuf {
    raw.with_extension("opt.wasm")
}

/// The shipped file's twin that keeps the name section:
/// `name.opt.names.wasm`, the same `-Oz` code, for `cargo xtask bloat`. Not
/// an artifact: nothing ships or measures it. Takes the raw `name.wasm` or
/// the shipped `name.opt.wasm`.
pub fn names_path(raw_or_shipped: &Path) -> PathBuf {
    let file = raw_or_shipped
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    match file.strip_suffix(".opt.wasm") {
        Some(stem) => raw_or_shipped.with_file_name(format!("{stem}.opt.names.wasm")),
        None => raw_or_shipped.with_extension("opt.names.wasm"),
    }
}

/// The artifacts a build of `package` in `profile` produces: its library's
/// `.rlib`, each binary's `.wasm`, and for release builds (either std) also
/// each `.opt.wasm`.
///
/// A browser package's (release builds only) are its library's `.rlib`, the
/// cdylib's `.wasm` as cargo wrote it (raw), and in `pkg/` the page's
/// files: `<name>_bg.wasm` after bindings and -Oz (wasm, opt), `<name>.js`
/// (js, opt), and the two together, the dir itself (browser, opt).
pub fn expected(ws: &Workspace, package: &Package, profile: Profile) -> Vec<Artifact> {
    let dir = package_profile_dir(ws, package, profile);
    let artifact = |kind, stage, path| Artifact {
        package: package.name.to_string(),
        kind,
        profile,
        stage,
        path,
    };
    let mut out = Vec::new();
    for target in &package.targets {
        if target.kind.contains(&TargetKind::Lib) || target.kind.contains(&TargetKind::RLib) {
            let file = format!("lib{}.rlib", target.name.replace('-', "_"));
            out.push(artifact(Kind::Rlib, Stage::Raw, dir.join(file)));
        }
        if is_browser(package) && target.kind.contains(&TargetKind::CDyLib) {
            let name = target.name.replace('-', "_");
            out.push(artifact(
                Kind::Wasm,
                Stage::Raw,
                dir.join(format!("{name}.wasm")),
            ));
            let pkg = pkg_dir(&dir);
            out.push(artifact(
                Kind::Wasm,
                Stage::Opt,
                pkg.join(format!("{name}_bg.wasm")),
            ));
            out.push(artifact(
                Kind::Js,
                Stage::Opt,
                pkg.join(format!("{name}.js")),
            ));
            out.push(artifact(Kind::Browser, Stage::Opt, pkg));
        }
        if target.kind.contains(&TargetKind::Bin) {
            let raw = dir.join(format!("{}.wasm", target.name));
            if profile.is_release() {
                out.push(artifact(Kind::Wasm, Stage::Opt, opt_path(&raw)));
            }
            out.push(artifact(Kind::Wasm, Stage::Raw, raw));
        }
    }
    out.sort_by_key(|a| (a.kind, a.stage));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stable_std_twin_builds_in_a_target_dir_of_its_own() {
        let ws = crate::testing::workspace_at(Path::new("/w"), Path::new("/t"));
        assert_eq!(
            profile_dir(&ws, "demo", Profile::Release),
            Path::new("/t/wasm/demo/wasm32-wasip1/release")
        );
        assert_eq!(
            profile_dir(&ws, "demo", Profile::ReleaseStableStd),
            Path::new("/t/wasm/demo/stable-std/wasm32-wasip1/release")
        );
        assert_eq!(
            profile_dir(&ws, "demo", Profile::Debug),
            Path::new("/t/wasm/demo/wasm32-wasip1/debug")
        );
    }

    #[test]
    fn a_browser_package_ships_its_pages_files_from_pkg() {
        let ws = crate::testing::workspace_at(Path::new("/w"), Path::new("/t"));
        let package: Package = serde_json::from_value(serde_json::json!({
            "name": "web-demo", "version": "0.1.0", "id": "web-demo 0.1.0",
            "manifest_path": "/w/web-demo/Cargo.toml", "dependencies": [], "features": {},
            "metadata": {"cortex": {"browser": true}}, "edition": "2021",
            "targets": [{"name": "web_demo", "kind": ["cdylib", "rlib"],
                "crate_types": ["cdylib", "rlib"], "src_path": "/w/web-demo/src/lib.rs"}],
        }))
        .unwrap();
        assert_eq!(target_of(&package), BROWSER_TARGET);
        let got: Vec<(String, String)> = expected(&ws, &package, Profile::Release)
            .into_iter()
            .map(|a| (a.id().to_string(), a.path.display().to_string()))
            .collect();
        let dir = "/t/wasm/web-demo/wasm32-unknown-unknown/release";
        let want = [
            (
                "web-demo/rlib/release/raw",
                format!("{dir}/libweb_demo.rlib"),
            ),
            ("web-demo/wasm/release/raw", format!("{dir}/web_demo.wasm")),
            (
                "web-demo/wasm/release/opt",
                format!("{dir}/pkg/web_demo_bg.wasm"),
            ),
            ("web-demo/js/release/opt", format!("{dir}/pkg/web_demo.js")),
            ("web-demo/browser/release/opt", format!("{dir}/pkg")),
        ]
        .map(|(id, path)| (id.to_owned(), path));
        assert_eq!(got, want);
    }

    #[test]
    fn names_path_from_the_raw_or_the_shipped_file() {
        let dir = Path::new("/t/wasm32-wasip1/release");
        let want = dir.join("wasm-demo.opt.names.wasm");
        assert_eq!(names_path(&dir.join("wasm-demo.wasm")), want);
        assert_eq!(names_path(&dir.join("wasm-demo.opt.wasm")), want);
        assert_eq!(
            opt_path(&dir.join("wasm-demo.wasm")),
            dir.join("wasm-demo.opt.wasm")
        );
    }
}
