//! What `cargo xtask bloat` looks at: a `.wasm` file, or a package's
//! release build with names (built first unless fresh), and the line that
//! says which file the figures describe; and its treemap page.
//!
//! The shipped `<bin>.opt.wasm` has no names, so a package's figures come
//! from its twin `<bin>.opt.names.wasm` (the same `-Oz` run, names kept;
//! see `ops::build::shrink::optimize_keeping_names`), checked to have a code
//! section as big as the shipped one's.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::TargetKind;
use xshell::Shell;

use crate::ops::build::{self, artifacts};
use crate::ops::env::workspace::Workspace;
use crate::ops::measure::treemap;
use wasm_size::artifact::Profile;
use wasm_size::attribution::{Attribution, CrateName};
use wasm_size::retained::{with_retained, Named};
use wasm_size::scan::{self, Sections};
use wasm_size::table::human_bytes;

/// What the figures describe.
pub enum Subject {
    File(PathBuf),
    /// A package's release binary: the file with names, and the shipped one.
    Release {
        package: String,
        names: PathBuf,
        shipped: PathBuf,
    },
}

impl Subject {
    pub fn path(&self) -> &Path {
        match self {
            Subject::File(path) => path,
            Subject::Release { names, .. } => names,
        }
    }

    /// The line saying which file the figures describe. For a release build
    /// it also checks that the named file's code is the shipped code.
    pub fn figures(&self, file_bytes: u64, code: u64) -> Result<String> {
        let Subject::Release {
            package,
            names,
            shipped,
        } = self
        else {
            return Ok(format!(
                "figures: {}, code section {} of file {}",
                self.path().display(),
                human_bytes(code),
                human_bytes(file_bytes)
            ));
        };
        let file_name = |p: &Path| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        };
        let Ok(shipped_file) = std::fs::File::open(shipped) else {
            return Ok(format!(
                "figures: {package} release -Oz (names kept, {}), code section {code} B; \
                 the shipped {} is missing",
                names.display(),
                file_name(shipped)
            ));
        };
        let shipped_bytes = shipped_file.metadata()?.len();
        let mut sections = Sections::default();
        scan::read(shipped_file, &mut sections)
            .with_context(|| format!("{} is not a valid wasm module", shipped.display()))?;
        let shipped_code = sections.0.get("code").copied().unwrap_or(0);
        if shipped_code != code {
            eprintln!(
                "warning: the code section of {} is {code} B but the shipped {} has {shipped_code} B; \
                 the figures describe the file with names",
                names.display(),
                file_name(shipped)
            );
        }
        Ok(format!(
            "figures: {package} release -Oz (names kept from {}), code section {} of file {} ({})",
            names.display(),
            human_bytes(code),
            human_bytes(shipped_bytes),
            file_name(shipped)
        ))
    }
}

/// The release build with names of `package` (default: the only wasm
/// package with a binary), built first unless it is fresh: the one
/// freshness rule of every build (`ops::build::fresh`), so the figures are
/// always of the tree as it is.
pub fn release_build(sh: &Shell, ws: &Workspace, package: Option<&str>) -> Result<Subject> {
    let package = ws.binary_package(package, "to attribute", "pass a .wasm file instead")?;
    let bins: Vec<&str> = package
        .targets
        .iter()
        .filter(|t| t.kind.contains(&TargetKind::Bin))
        .map(|t| t.name.as_str())
        .collect();
    let dir = artifacts::profile_dir(ws, &package.name, Profile::Release);
    let bin = match bins.as_slice() {
        [bin] => *bin,
        [] => bail!("package `{}` has no binary to attribute", package.name),
        several => bail!(
            "package `{}` has several binaries ({}); pass one's file, e.g. `cargo xtask bloat {}`",
            package.name,
            several.join(", "),
            artifacts::names_path(&dir.join(format!("{}.wasm", several[0]))).display()
        ),
    };
    let raw = dir.join(format!("{bin}.wasm"));
    let names = artifacts::names_path(&raw);
    build::build(sh, ws, &[package], &[Profile::Release])?;
    if !names.is_file() {
        bail!(
            "building {} did not produce {}; run `cargo xtask build-wasm --release -p {}` to see why",
            package.name,
            names.display(),
            package.name
        );
    }
    Ok(Subject::Release {
        package: package.name.to_string(),
        shipped: artifacts::opt_path(&raw),
        names,
    })
}

/// `--html` (and `--screenshot`): the treemap of `a`; for a package's
/// release build, coloured against the committed baseline.
pub fn write_treemap(
    sh: &Shell,
    ws: &Workspace,
    subject: &Subject,
    a: &Attribution,
    named: Option<&Named>,
    html: &Path,
    screenshot: Option<&Path>,
) -> Result<()> {
    let (title, baseline) = match subject {
        Subject::File(path) => (path.display().to_string(), None),
        Subject::Release { package, .. } => (
            format!("{package} release -Oz"),
            treemap::package_baseline(ws, package)?,
        ),
    };
    let mut t = treemap::of(&title, a, baseline.as_ref(), &ws.budgets()?);
    if let Some(named) = named {
        let r = with_retained(a, named, &named.graph.dominators(), usize::MAX);
        treemap::set_retained(&mut t, &r);
    }
    treemap::write(html, &t)?;
    eprintln!("wrote {}", html.display());
    if let Some(png) = screenshot {
        treemap::screenshot(sh, html, &t, png)?;
        eprintln!(
            "wrote {} (the page checked in Chromium first)",
            png.display()
        );
    }
    Ok(())
}

/// A stripped module's functions are `func[i]`: says so, and which file
/// would have names.
pub fn warn_stripped(path: &std::path::Path) {
    let twin = artifacts::names_path(path);
    let fix = if path.to_string_lossy().ends_with(".opt.wasm") && twin.is_file() {
        format!(
            "attribute {} instead (same code, names kept)",
            twin.display()
        )
    } else {
        "attribute a build that keeps the name section".to_owned()
    };
    eprintln!(
        "warning: {} is stripped (no function names): functions are shown as func[i] \
         in {}; {fix}",
        path.display(),
        CrateName::Unknown
    );
}
