//! `cargo xtask bloat`: which functions, crates and data segments the bytes
//! of a `.wasm` go to (like cargo-bloat, for wasm), and with `--retained`,
//! `--why` and `--garbage` what keeps them. It reads its flags, picks the
//! file (`ops::measure::bloat`), runs the one analysis pass
//! (`wasm_size::analyse`) and prints `wasm_size::bloat_text`'s tables.

use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::Shell;

use super::Outcome;
use crate::ops::env::workspace::Workspace;
use crate::ops::measure::bloat::{release_build, warn_stripped, write_treemap, Subject};
use crate::ops::reports;
use crate::util::files::check_output;
use wasm_size::analyse::{analyse, Analysed};
use wasm_size::attribution::Attribution;
use wasm_size::bloat_text::{
    crates_table, data_table, functions_table, garbage_table, monos_table, retained_crates_table,
    retained_functions_table, table_note, why_text, Bounded,
};
use wasm_size::callgraph::Mode;
use wasm_size::retained::{closest, garbage, why, with_retained, Named};
use wasm_size::table::print_json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A .wasm file to attribute (built anywhere; it needs a name section for names)
    #[arg(value_name = "FILE.wasm", conflicts_with = "package")]
    pub file: Option<PathBuf>,
    /// Attribute this wasm package's release build [default: the only wasm package with a binary]
    #[arg(short = 'p', long = "package", value_name = "PKG")]
    pub package: Option<String>,
    /// Rows to show in each table and in each list of --json (which says
    /// how many it left out); 0 shows all
    #[arg(short = 'n', value_name = "N", default_value_t = 20)]
    pub rows: usize,
    /// Roll functions up per crate (data segments as `[data]`)
    #[arg(long)]
    pub crates: bool,
    /// Generic functions with several instantiations, and what they cost together
    #[arg(long)]
    pub monos: bool,
    /// Print the attribution as JSON on stdout (messages go to stderr)
    #[arg(long)]
    pub json: bool,
    /// Each function's retained size: its body plus all that only it keeps
    /// alive (dominator tree from the exports and start); per crate with
    /// --crates: what the module would lose without the crate
    #[arg(long, conflicts_with_all = ["monos", "why", "garbage"])]
    pub retained: bool,
    /// The shortest path from a root to each function whose name or crate
    /// contains PATTERN (ignoring case), with the bytes at each step
    #[arg(long, value_name = "PATTERN", conflicts_with_all = ["monos", "garbage", "crates"])]
    pub why: Option<String>,
    /// Functions and data that no root reaches (useful on raw builds, before -Oz)
    #[arg(long, conflicts_with_all = ["monos", "crates"])]
    pub garbage: bool,
    /// Twiggy's view: the indirect-call table is a root and retains every
    /// function it lists, instead of seeing through vtables and constants
    #[arg(long)]
    pub table_root: bool,
    /// Also write the treemap to FILE: one self-contained HTML page; with
    /// -p, coloured against the committed size baseline
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// With --html: check the page in headless Chromium, then save a
    /// screenshot of it to PNG
    #[arg(long, value_name = "PNG", requires = "html")]
    pub screenshot: Option<PathBuf>,
}

pub fn run(sh: &Shell, ws: &Workspace, args: &Args) -> Result<Outcome> {
    // Bad output paths first, before any build: never over our own files.
    let mut protected = reports::own_files(ws, &ws.reports_dir(None));
    protected.extend(args.file.iter().cloned());
    if let Some(html) = &args.html {
        check_output("--html", html, &protected)?;
        protected.push(html.clone());
    }
    if let Some(png) = &args.screenshot {
        check_output("--screenshot", png, &protected)?;
    }
    let subject = match &args.file {
        Some(file) => Subject::File(file.clone()),
        None => release_build(sh, ws, args.package.as_deref())?,
    };
    report(sh, Some(ws), &subject, args)
}

/// Whether `args` ask about a file alone, which needs no workspace (no
/// build, no treemap page to keep off our own files): `main` then runs
/// [`run_on_file`] without reading the workspace through `cargo metadata`,
/// which would cost more than the analysis of a small module.
pub fn reads_a_file_alone(args: &Args) -> bool {
    args.file.is_some() && args.html.is_none() && args.screenshot.is_none()
}

/// `bloat FILE` without `--html`: no workspace.
pub fn run_on_file(sh: &Shell, args: &Args) -> Result<Outcome> {
    let file = args.file.clone().context("no file to attribute")?;
    report(sh, None, &Subject::File(file), args)
}

/// Analyses `subject`'s file and prints what `args` ask for; `ws` is only
/// needed for `--html`.
fn report(sh: &Shell, ws: Option<&Workspace>, subject: &Subject, args: &Args) -> Result<Outcome> {
    let path = subject.path();
    let cannot_read = || {
        format!(
            "cannot read {}; pass a .wasm file, or -p PKG for a wasm package's release build",
            path.display()
        )
    };
    // Streamed from the file, never held whole: a module can be tens of MB.
    let file = std::fs::File::open(path).with_context(cannot_read)?;
    let file_bytes = file.metadata().with_context(cannot_read)?.len();
    let views = args.retained || args.why.is_some() || args.garbage;
    // The treemap shows retained sizes too.
    let graph_mode = (views || args.html.is_some()).then_some(match args.table_root {
        true => Mode::TableRoot,
        false => Mode::SeeThrough,
    });
    let Analysed {
        attribution,
        graph,
        sections,
    } = analyse(file, &path.display().to_string(), graph_mode)?;
    if !attribution.named {
        warn_stripped(path);
    }
    let code = sections.get("code").copied().unwrap_or(0);
    let figures = subject.figures(file_bytes, code)?;
    let named = graph.map(|graph| Named::new(graph, &attribution));
    if let Some(html) = &args.html {
        let screenshot = args.screenshot.as_deref();
        let ws = ws.context("--html needs the workspace")?;
        write_treemap(
            sh,
            ws,
            subject,
            &attribution,
            named.as_ref(),
            html,
            screenshot,
        )?;
    }
    if let Some(named) = named.as_ref().filter(|_| views) {
        return graph_views(args, &attribution, named, &figures);
    }
    let rows = row_limit(args.rows);
    if args.json {
        print_json(&Bounded::of(&attribution, rows))?;
        return Ok(Outcome::Passed);
    }
    println!("{figures}\n");
    if args.crates {
        print!("{}", crates_table(&attribution, rows));
    }
    if args.monos {
        print!("{}", monos_table(&attribution, code, rows));
    }
    if !args.crates && !args.monos {
        print!("{}", functions_table(&attribution, code, rows));
        if !attribution.data.is_empty() {
            println!();
            print!("{}", data_table(&attribution, rows));
        }
    }
    Ok(Outcome::Passed)
}

/// `-n 0` shows every row.
fn row_limit(rows: usize) -> usize {
    if rows == 0 {
        usize::MAX
    } else {
        rows
    }
}

/// `--retained`, `--why` and `--garbage`: the views of the call graph.
fn graph_views(args: &Args, a: &Attribution, named: &Named, figures: &str) -> Result<Outcome> {
    let rows = row_limit(args.rows);
    if let Some(pattern) = &args.why {
        let found = why(named, pattern, rows);
        if found.paths.is_empty() {
            let near = closest(named, pattern, 3);
            eprintln!(
                "no function or crate matches `{pattern}`; closest names: {}",
                near.join(", ")
            );
            return Ok(Outcome::Failed);
        }
        match args.json {
            true => print_json(&found)?,
            false => print!("{figures}\n\n{}", why_text(&found)),
        }
        return Ok(Outcome::Passed);
    }
    if args.garbage {
        let found = garbage(named);
        if !args.json {
            print!("{figures}\n\n{}", garbage_table(&found, rows));
            return Ok(Outcome::Passed);
        }
        // A list cannot say what it left out: stderr does.
        print_json(&&found[..rows.min(found.len())])?;
        if found.len() > rows {
            eprintln!(
                "note: {} more unreached functions and data objects left out; -n 0 lists all",
                found.len() - rows
            );
        }
        return Ok(Outcome::Passed);
    }
    let d = named.graph.dominators();
    if args.json {
        print_json(&with_retained(a, named, &d, rows))?;
        return Ok(Outcome::Passed);
    }
    println!("{figures}\n");
    if args.crates {
        print!("{}", retained_crates_table(a, named, rows));
    } else {
        print!("{}", retained_functions_table(named, &d, rows));
    }
    if !args.table_root {
        println!("{}", table_note(&named.graph.table_stats));
    }
    Ok(Outcome::Passed)
}
