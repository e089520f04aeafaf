//! `cargo xtask build-wasm`: each wasm package alone, in its own target dir,
//! for wasm32-wasip1; release `.wasm` files then go through -Oz. Browser
//! packages alike for wasm32-unknown-unknown, with their page's bindings.

use anyhow::Result;
use xshell::Shell;

use super::flags::BuildSelection;
use super::Outcome;
use crate::ops::build;
use crate::ops::build::artifacts::Artifact;
use crate::ops::env::workspace::Workspace;
use wasm_size::artifact::Kind;
use wasm_size::table::{human_bytes, Table};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub select: BuildSelection,
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let packages = ws.select_built_packages(&args.select.packages)?;
    let built = build::build(sh, ws, &packages, &args.select.profiles())?;
    print_artifacts(&built.artifacts);
    Ok(Outcome::Passed)
}

pub fn print_artifacts(artifacts: &[Artifact]) {
    let mut table = Table::new(["package", "kind", "profile", "stage", "size", "path"]);
    let len = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.len()).ok();
    for a in artifacts {
        let size = match a.kind {
            // A dir: what a browser downloads of it, its `.wasm` and `.js`.
            Kind::Browser => artifacts
                .iter()
                .filter(|b| (&b.package, b.profile, b.stage) == (&a.package, a.profile, a.stage))
                .filter(|b| matches!(b.kind, Kind::Wasm | Kind::Js))
                .map(|b| len(&b.path))
                .sum::<Option<u64>>(),
            _ => len(&a.path),
        };
        let size = size.map(human_bytes).unwrap_or_default();
        table.row([
            a.package.clone(),
            a.kind.to_string(),
            a.profile.to_string(),
            a.stage.to_string(),
            size,
            a.path.display().to_string(),
        ]);
    }
    eprint!("{}", table.render());
}
