//! `cargo xtask build-wasm`: each wasm package alone, in its own target dir,
//! for wasm32-wasip1; release `.wasm` files then go through -Oz.

use anyhow::Result;
use xshell::Shell;

use super::Outcome;
use crate::ops::artifacts::Artifact;
use crate::ops::build;
use crate::ops::workspace::Workspace;
use crate::size::artifact::Profile;
use crate::util::table::{human_bytes, Table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build the debug profile (default: both profiles)
    #[arg(long)]
    pub debug: bool,
    /// Build the release profile (default: both profiles)
    #[arg(long)]
    pub release: bool,
    /// Build only this wasm package (repeatable; default: every wasm package)
    #[arg(short = 'p', long = "package", value_name = "PKG")]
    pub packages: Vec<String>,
}

impl Args {
    pub fn profiles(&self) -> Vec<Profile> {
        match (self.debug, self.release) {
            (true, false) => vec![Profile::Debug],
            (false, true) => vec![Profile::Release],
            _ => vec![Profile::Debug, Profile::Release],
        }
    }
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let packages = ws.select_wasm_packages(&args.packages)?;
    let artifacts = build::build(sh, ws, &packages, &args.profiles())?;
    print_artifacts(&artifacts);
    Ok(Outcome::Passed)
}

pub fn print_artifacts(artifacts: &[Artifact]) {
    let mut table = Table::new(["package", "kind", "profile", "stage", "size", "path"]);
    for a in artifacts {
        let size = std::fs::metadata(&a.path)
            .map(|m| human_bytes(m.len()))
            .unwrap_or_default();
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
