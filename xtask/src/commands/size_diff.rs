//! `cargo xtask size-diff OLD NEW`: what changed between any two size
//! JSONs, `.wasm` files or git revisions (`size::diff` computes it).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use xshell::Shell;

use super::Outcome;
use crate::ops::env::workspace::Workspace;
use crate::ops::measure::revision;
use crate::ops::reports::load_baseline;
use crate::util::git;
use wasm_size::diff::{diff, render, Side};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old side: a size JSON (reports/size.json, a baseline), a .wasm file, or a git revision
    pub old: String,
    /// The new side: same kinds as OLD
    pub new: String,
    /// Rows per table (crates and functions)
    #[arg(short = 'n', long, default_value_t = 15)]
    pub top: usize,
    /// Print the diff as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

fn load_side(sh: &Shell, ws: &Workspace, arg: &str) -> Result<Side> {
    let path = PathBuf::from(arg);
    if path.is_file() {
        if path.extension().is_some_and(|e| e == "wasm") {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            return Side::from_wasm(&path.display().to_string(), &bytes);
        }
        let report =
            load_baseline(&path)?.with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(Side::from_report(arg.to_owned(), report));
    }
    if arg.ends_with(".json") || arg.ends_with(".wasm") {
        bail!("{arg}: no such file; give a size JSON, a .wasm file or a git revision");
    }
    let commit = git::resolve(sh, &ws.root, arg).with_context(|| {
        format!("`{arg}` is neither a file nor a git revision; give a size JSON, a .wasm file or a revision")
    })?;
    let report = revision::measure(sh, ws, &commit)?;
    Ok(Side::from_report(format!("{arg} ({commit})"), report))
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let old = load_side(sh, ws, &args.old)?;
    let new = load_side(sh, ws, &args.new)?;
    let d = diff(&old, &new);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", render(&d, args.top));
    }
    Ok(Outcome::Passed)
}
