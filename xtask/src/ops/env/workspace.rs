//! What xtask knows about the workspace, read once through `cargo metadata`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::{Metadata, MetadataCommand, Package, TargetKind};

use crate::util::process::cargo;
use wasm_size::budgets::Budgets;

#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    /// The workspace target dir; honours `CARGO_TARGET_DIR` and `build.target-dir`.
    pub target_dir: PathBuf,
    pub metadata: Metadata,
}

impl Workspace {
    /// The workspace that contains the current directory, found as cargo
    /// finds it. Never the one this binary was compiled in: one target dir
    /// can serve several checkouts, and cargo then runs the xtask binary
    /// built in one of them in all of them.
    pub fn load() -> Result<Self> {
        let here = std::env::current_dir()
            .context("cannot read the current directory; cd into the workspace")?;
        Self::load_at(&here)
    }

    /// The workspace that contains `dir` (another checkout, say). Reads the
    /// workspace's own packages only: no dependency resolution, fast, offline.
    pub fn load_at(dir: &Path) -> Result<Self> {
        let metadata = MetadataCommand::new()
            .cargo_path(cargo())
            .current_dir(dir)
            .no_deps()
            .exec()
            .with_context(|| {
                format!(
                    "could not read a cargo workspace at {} with `cargo metadata`: run \
                     `cargo xtask` inside a checkout of the workspace (`cargo metadata` there \
                     shows what is wrong)",
                    dir.display()
                )
            })?;
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

    /// Packages that declare `[package.metadata.cortex] browser = true`:
    /// built for wasm32-unknown-unknown, with bindings for a page.
    pub fn browser_packages(&self) -> Vec<&Package> {
        self.members()
            .filter(|p| p.metadata["cortex"]["browser"].as_bool() == Some(true))
            .collect()
    }

    /// Every package build-wasm builds and size-report measures: the wasm
    /// packages, then the browser packages.
    pub fn built_packages(&self) -> Vec<&Package> {
        let mut packages = self.wasm_packages();
        packages.extend(self.browser_packages());
        packages
    }

    /// The wasm packages named by `-p`, or all of them when none is named.
    pub fn select_wasm_packages(&self, names: &[String]) -> Result<Vec<&Package>> {
        self.select_from(self.wasm_packages(), names)
    }

    /// The wasm or browser packages named by `-p`, or all of them when none
    /// is named: what build-wasm builds.
    pub fn select_built_packages(&self, names: &[String]) -> Result<Vec<&Package>> {
        self.select_from(self.built_packages(), names)
    }

    fn select_from<'a>(
        &'a self,
        wasm: Vec<&'a Package>,
        names: &[String],
    ) -> Result<Vec<&'a Package>> {
        if names.is_empty() {
            return Ok(wasm);
        }
        names
            .iter()
            .map(|name| {
                if let Some(p) = wasm.iter().find(|p| p.name.as_str() == name) {
                    return Ok(*p);
                }
                let list = package_list(&wasm);
                if self.members().any(|p| p.name.as_str() == name) {
                    bail!(
                        "package `{name}` is not a wasm package; wasm packages: {list} \
                         (declare one with `[package.metadata.cortex] wasm = true`, or \
                         `browser = true` for a page's)"
                    )
                }
                bail!("no package `{name}` in this workspace; wasm packages: {list}")
            })
            .collect()
    }

    /// `-p PKG` if given (it must be a wasm package with a binary), else the
    /// only wasm package that has one. `purpose` ("to run") and `instead`
    /// (what to do without one) complete the error messages.
    pub fn binary_package(
        &self,
        name: Option<&str>,
        purpose: &str,
        instead: &str,
    ) -> Result<&Package> {
        let with_binary: Vec<&Package> = self
            .wasm_packages()
            .into_iter()
            .filter(|p| has_binary(p))
            .collect();
        match name {
            Some(name) => {
                let package = self.select_wasm_packages(&[name.to_owned()])?[0];
                if !has_binary(package) {
                    bail!(
                        "wasm package `{name}` has no binary {purpose}; packages with one: {}; \
                         or {instead}",
                        package_list(&with_binary)
                    );
                }
                Ok(package)
            }
            None => match with_binary.as_slice() {
                [one] => Ok(one),
                [] => bail!("no wasm package has a binary {purpose}; {instead}"),
                several => bail!(
                    "several wasm packages have binaries ({}); choose one with -p PKG",
                    package_list(several)
                ),
            },
        }
    }

    pub fn root_manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }

    /// `[workspace.metadata.size-budgets]` of the root manifest.
    pub fn budgets(&self) -> Result<Budgets> {
        Budgets::from_metadata(&self.metadata.workspace_metadata["size-budgets"])
    }

    /// `--reports-dir DIR` if given, else `<workspace>/reports`.
    pub fn reports_dir(&self, given: Option<&Path>) -> PathBuf {
        given.map_or_else(|| self.root.join("reports"), Path::to_path_buf)
    }

    /// `path` relative to the workspace root when inside it, for output.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

fn has_binary(package: &Package) -> bool {
    package
        .targets
        .iter()
        .any(|t| t.kind.contains(&TargetKind::Bin))
}

fn package_list(packages: &[&Package]) -> String {
    packages
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// CARGO_HOME as cargo resolves it: the variable, else `~/.cargo`.
pub fn cargo_home() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    std::path::absolute(home).ok()
}
