//! `cargo xtask doctor`: the guide's troubleshooting section as checks
//! (`ops::env::doctor`), one line each; exit 1 when one failed.

use anyhow::Result;
use xshell::Shell;

use super::Outcome;
use crate::ops::env::doctor::{self, Status};
use crate::ops::env::workspace::Workspace;
use wasm_size::table::print_json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the checks as JSON on stdout: status, what, detail
    #[arg(long)]
    pub json: bool,
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let checks = doctor::checks(sh, ws)?;
    if args.json {
        print_json(&checks)?;
    } else {
        for check in &checks {
            println!("{check}");
        }
    }
    Ok(match checks.iter().any(|c| c.status == Status::Fail) {
        true => Outcome::Failed,
        false => Outcome::Passed,
    })
}
