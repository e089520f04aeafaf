//! Which workspace member or dependency edge would turn on tokio features
//! that wasm does not support, if built together with a wasm package.
//!
//! Cargo unifies a dependency's features across every package in one build.
//! tokio refuses to compile for wasm with anything beyond
//! [`WASM_TOKIO_FEATURES`], so one native-only member built beside a wasm
//! package (a plain `cargo build --target wasm32-wasip1` at the root) breaks
//! the wasm build. This module finds those edges from `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result};
use cargo_metadata::{
    cargo_platform::Cfg, DependencyKind, Metadata, MetadataCommand, Package, PackageId,
};
use xshell::{cmd, Shell};

/// What tokio accepts on wasm (its own build error lists the same five).
pub const WASM_TOKIO_FEATURES: [&str; 5] = ["sync", "macros", "io-util", "rt", "time"];

/// The line tokio's build prints when it gets other features on wasm.
pub const TOKIO_WASM_ERROR: &str =
    "Only features sync,macros,io-util,rt,time are supported on wasm";

/// One way tokio would get unsupported features in a wasm build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The workspace member whose dependencies cause it.
    pub member: String,
    /// `member → … → package that asks tokio for the features`.
    pub path: Vec<String>,
    /// The unsupported features asked for.
    pub features: BTreeSet<String>,
}

impl Leak {
    pub fn describe(&self) -> String {
        let features: Vec<&str> = self.features.iter().map(String::as_str).collect();
        format!(
            "{} → tokio asks for `{}`",
            self.path.join(" → "),
            features.join(", ")
        )
    }
}

/// Every member whose normal dependencies, for `target`, ask tokio for features
/// wasm does not support. The workspace is the one of `manifest`.
pub fn tokio_leaks(sh: &Shell, manifest: &Path, target: &str) -> Result<Vec<Leak>> {
    let metadata = MetadataCommand::new()
        .cargo_path(crate::util::process::cargo())
        .manifest_path(manifest)
        .other_options(vec!["--filter-platform".to_owned(), target.to_owned()])
        .exec()
        .context("`cargo metadata` failed while checking feature unification")?;
    let cfgs: Vec<Cfg> = cmd!(sh, "rustc --print cfg --target {target}")
        .quiet()
        .read()
        .with_context(|| format!("`rustc --print cfg --target {target}` failed"))?
        .lines()
        .filter_map(|l| Cfg::from_str(l).ok())
        .collect();
    Ok(Analysis::new(&metadata, target, &cfgs).leaks())
}

struct Analysis<'a> {
    metadata: &'a Metadata,
    packages: BTreeMap<&'a PackageId, &'a Package>,
    /// Normal dependencies as resolved for the target.
    deps: BTreeMap<&'a PackageId, Vec<&'a PackageId>>,
    /// Features each package has on, as resolved for the whole workspace.
    enabled: BTreeMap<&'a PackageId, Vec<String>>,
    target: &'a str,
    cfgs: &'a [Cfg],
}

impl<'a> Analysis<'a> {
    fn new(metadata: &'a Metadata, target: &'a str, cfgs: &'a [Cfg]) -> Self {
        let packages = metadata.packages.iter().map(|p| (&p.id, p)).collect();
        let mut deps = BTreeMap::new();
        let mut enabled = BTreeMap::new();
        for node in metadata.resolve.iter().flat_map(|r| &r.nodes) {
            let normal = node
                .deps
                .iter()
                .filter(|d| d.dep_kinds.iter().any(|k| k.kind == DependencyKind::Normal))
                .map(|d| &d.pkg)
                .collect();
            deps.insert(&node.id, normal);
            enabled.insert(
                &node.id,
                node.features.iter().map(|f| f.to_string()).collect(),
            );
        }
        Self {
            metadata,
            packages,
            deps,
            enabled,
            target,
            cfgs,
        }
    }

    /// The features of `names` and everything they turn on, within `tokio`'s own table.
    fn closure(tokio: &Package, names: impl IntoIterator<Item = String>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = names.into_iter().collect();
        while let Some(f) = todo.pop() {
            if let Some(implied) = tokio.features.get(&f) {
                if out.insert(f) {
                    todo.extend(implied.iter().filter(|i| !i.contains([':', '/'])).cloned());
                }
            }
        }
        out
    }

    /// Unsupported tokio features that `package` itself asks for.
    fn asks(&self, package: &Package, tokio: &Package) -> BTreeSet<String> {
        let mut asked = Vec::new();
        for dep in &package.dependencies {
            let applies = dep
                .target
                .as_ref()
                .is_none_or(|platform| platform.matches(self.target, self.cfgs));
            if dep.name == "tokio" && dep.kind == DependencyKind::Normal && applies {
                asked.extend(dep.features.iter().cloned());
                if dep.uses_default_features {
                    asked.push("default".to_owned());
                }
            }
        }
        // Features of the package that forward to tokio (`tokio/fs`, `tokio?/fs`).
        for f in self.enabled.get(&package.id).into_iter().flatten() {
            for value in package.features.get(f).into_iter().flatten() {
                if let Some(rest) = value
                    .strip_prefix("tokio/")
                    .or(value.strip_prefix("tokio?/"))
                {
                    asked.push(rest.to_owned());
                }
            }
        }
        let allowed = Self::closure(tokio, WASM_TOKIO_FEATURES.map(str::to_owned));
        Self::closure(tokio, asked)
            .difference(&allowed)
            .cloned()
            .collect()
    }

    fn leaks(&self) -> Vec<Leak> {
        let Some(tokio) = self
            .metadata
            .packages
            .iter()
            .find(|p| p.name.as_str() == "tokio")
        else {
            return Vec::new();
        };
        let mut leaks = Vec::new();
        for member in &self.metadata.workspace_members {
            // Breadth-first, so each offending package is reported by its shortest path.
            let mut parent: BTreeMap<&PackageId, Option<&PackageId>> =
                BTreeMap::from([(member, None)]);
            let mut queue = VecDeque::from([member]);
            while let Some(id) = queue.pop_front() {
                let package = self.packages[id];
                let features = self.asks(package, tokio);
                if !features.is_empty() {
                    let mut path = vec![package.name.to_string()];
                    let mut at = id;
                    while let Some(Some(p)) = parent.get(at) {
                        path.push(self.packages[p].name.to_string());
                        at = p;
                    }
                    path.reverse();
                    leaks.push(Leak {
                        member: self.packages[member].name.to_string(),
                        path,
                        features,
                    });
                }
                for dep in self.deps.get(id).into_iter().flatten() {
                    if !parent.contains_key(dep) {
                        parent.insert(dep, Some(id));
                        queue.push_back(dep);
                    }
                }
            }
        }
        leaks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn package(dir: &Path, name: &str, deps: &str) {
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}\n"
        );
        write(dir, &format!("{name}/Cargo.toml"), &manifest);
        write(dir, &format!("{name}/src/lib.rs"), "");
    }

    /// A workspace with a stand-in `tokio` (path crate, same feature names),
    /// so the test needs no registry.
    #[test]
    fn names_the_member_and_edge_that_turn_on_unsupported_tokio_features() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "Cargo.toml",
            "[workspace]\nresolver = \"2\"\nmembers = [\"app\", \"tool\", \"mid\", \"gated\"]\n",
        );
        write(
            root,
            "tokio/Cargo.toml",
            "[package]\nname = \"tokio\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[features]\n\
             sync = []\nmacros = []\nio-util = []\nrt = []\ntime = []\nfs = []\nnet = []\n\
             full = [\"fs\", \"net\", \"sync\"]\n",
        );
        write(root, "tokio/src/lib.rs", "");
        package(
            root,
            "app",
            "tokio = { path = \"../tokio\", features = [\"sync\", \"rt\"] }",
        );
        package(
            root,
            "mid",
            "tokio = { path = \"../tokio\", features = [\"full\"] }",
        );
        package(root, "tool", "mid = { path = \"../mid\" }");
        // Unsupported features asked for only off wasm: not a leak.
        package(root, "gated", "");
        let gated = std::fs::read_to_string(root.join("gated/Cargo.toml")).unwrap()
            + "\n[target.'cfg(not(target_arch = \"wasm32\"))'.dependencies]\n\
               tokio = { path = \"../tokio\", features = [\"net\"] }\n";
        write(root, "gated/Cargo.toml", &gated);

        let mut leaks = tokio_leaks(
            &Shell::new().unwrap(),
            &root.join("Cargo.toml"),
            "wasm32-wasip1",
        )
        .unwrap();
        leaks.sort_by(|a, b| a.member.cmp(&b.member));
        let full: BTreeSet<String> = ["fs", "full", "net"].map(String::from).into();
        assert_eq!(
            leaks,
            [
                Leak {
                    member: "mid".into(),
                    path: vec!["mid".into()],
                    features: full.clone()
                },
                Leak {
                    member: "tool".into(),
                    path: vec!["tool".into(), "mid".into()],
                    features: full
                },
            ]
        );
        assert_eq!(
            leaks[1].describe(),
            "tool → mid → tokio asks for `fs, full, net`"
        );
    }
}
