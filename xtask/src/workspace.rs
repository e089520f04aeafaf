//! What xtask knows about the workspace, read once through `cargo metadata`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::{Metadata, MetadataCommand, Package};

/// The cargo to run: the one that started us (`CARGO`), else `cargo` on PATH.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

pub struct Workspace {
    pub root: PathBuf,
    /// The workspace target dir; honours `CARGO_TARGET_DIR` and `build.target-dir`.
    pub target_dir: PathBuf,
    pub metadata: Metadata,
}

impl Workspace {
    /// Reads the workspace's own packages (no dependency resolution: fast, offline).
    pub fn load() -> Result<Self> {
        Self::load_at(Path::new(env!("CARGO_MANIFEST_DIR")))
    }

    /// The workspace that contains `dir` (another checkout, say).
    pub fn load_at(dir: &Path) -> Result<Self> {
        let metadata = MetadataCommand::new()
            .cargo_path(cargo())
            .current_dir(dir)
            .no_deps()
            .exec()
            .context(
                "could not read the workspace with `cargo metadata`; run it yourself to see why",
            )?;
        Ok(Self {
            root: metadata.workspace_root.clone().into(),
            target_dir: metadata.target_directory.clone().into(),
            metadata,
        })
    }

    pub fn members(&self) -> impl Iterator<Item = &Package> {
        self.metadata.workspace_packages().into_iter()
    }

    /// Packages that declare `[package.metadata.cortex] wasm = true`.
    pub fn wasm_packages(&self) -> Vec<&Package> {
        self.members()
            .filter(|p| p.metadata["cortex"]["wasm"].as_bool() == Some(true))
            .collect()
    }

    /// The wasm packages named by `-p`, or all of them when none is named.
    pub fn select_wasm_packages(&self, names: &[String]) -> Result<Vec<&Package>> {
        let wasm = self.wasm_packages();
        if names.is_empty() {
            return Ok(wasm);
        }
        names
            .iter()
            .map(|name| {
                if let Some(p) = wasm.iter().find(|p| p.name.as_str() == name) {
                    return Ok(*p);
                }
                let list = wasm
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                if self.members().any(|p| p.name.as_str() == name) {
                    bail!(
                        "package `{name}` is not a wasm package; wasm packages: {list} \
                         (declare one with `[package.metadata.cortex] wasm = true`)"
                    )
                }
                bail!("no package `{name}` in this workspace; wasm packages: {list}")
            })
            .collect()
    }

    pub fn root_manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }
}
