//! `cargo xtask serve-web`: builds a browser package's page and serves it
//! on 127.0.0.1 until Ctrl-C (`ops::build::page`), saying which requests
//! found no file.

use anyhow::Result;
use xshell::Shell;

use super::Outcome;
use crate::ops::build::page;
use crate::ops::env::workspace::Workspace;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port to serve on; if it is in use, another free one
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The browser package (`[package.metadata.cortex] browser = true`); the only one by default
    #[arg(short = 'p', long = "package", value_name = "PKG")]
    pub package: Option<String>,
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    let package = page::browser_package(ws, args.package.as_deref())?;
    let server = page::build_and_serve(sh, ws, package, args.port)?;
    let url = server.url();
    if !url.ends_with(&format!(":{}/", args.port)) {
        eprintln!("port {} is in use: serving on another", args.port);
    }
    eprintln!(
        "serving {} (Ctrl-C stops)",
        page::page_dir(ws, package).display()
    );
    println!("{url}");
    // Until Ctrl-C: each request that found no file, as it comes.
    let mut shown = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let failed = server.failed_requests();
        for request in &failed[shown..] {
            eprintln!("no file for {request}");
        }
        shown = failed.len();
    }
}
