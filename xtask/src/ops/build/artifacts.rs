//! What the wasm builds produce and where: one target dir per package under
//! `<workspace target dir>/wasm/<package>`, so each wasm package is built
//! alone and cargo's feature unification cannot mix native features in.

use std::path::{Path, PathBuf};

use cargo_metadata::{Package, TargetKind};

use crate::ops::env::workspace::Workspace;
use wasm_size::artifact::{ArtifactId, Kind, Profile, Stage};

pub const WASM_TARGET: &str = "wasm32-wasip1";

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
    cargo_target_dir(ws, package, profile)
        .join(WASM_TARGET)
        .join(profile.cargo_dir())
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
pub fn expected(ws: &Workspace, package: &Package, profile: Profile) -> Vec<Artifact> {
    let dir = profile_dir(ws, &package.name, profile);
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
