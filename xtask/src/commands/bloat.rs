//! `cargo xtask bloat`: which functions, crates and data segments the bytes
//! of a `.wasm` go to (like cargo-bloat, for wasm). The analysis is
//! `size::attribution`; this is its command line and its tables.
//!
//! The shipped `<bin>.opt.wasm` has no names, so `-p PKG` reads its twin
//! `<bin>.opt.names.wasm` (the same `-Oz` run, names kept; see
//! `ops::build::shrink::optimize_keeping_names`) and checks that its code section
//! is as big as the shipped one's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::TargetKind;
use xshell::Shell;

use super::Outcome;
use crate::ops::build;
use crate::ops::build::artifacts;
use crate::ops::env::workspace::Workspace;
use crate::ops::measure::treemap;
use crate::ops::reports;
use crate::util::files::check_output;
use wasm_size::analyse::{analyse, Analysed};
use wasm_size::artifact::Profile;
use wasm_size::attribution::{monomorphisations, Attribution, DATA, UNKNOWN};
use wasm_size::callgraph::{Mode, TableStats};
use wasm_size::retained::{closest, garbage, why, with_retained, Named, Why};
use wasm_size::scan::{self, Sections};
use wasm_size::table::{and_more, human_bytes, percent, truncate, Table};

/// Output lines are kept to about this many columns by shortening names.
const COLUMNS: usize = 120;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A .wasm file to attribute (built anywhere; it needs a name section for names)
    #[arg(value_name = "FILE.wasm", conflicts_with = "package")]
    pub file: Option<PathBuf>,
    /// Attribute this wasm package's release build [default: the only wasm package with a binary]
    #[arg(short = 'p', long = "package", value_name = "PKG")]
    pub package: Option<String>,
    /// Rows to show in each table; 0 shows all
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
    // The treemap shows retained sizes too.
    let graph_mode = (args.retained || args.why.is_some() || args.garbage || args.html.is_some())
        .then_some(match args.table_root {
            true => Mode::TableRoot,
            false => Mode::SeeThrough,
        });
    let Analysed {
        attribution,
        graph,
        sections,
    } = analyse(file, &path.display().to_string(), graph_mode)?;
    if !attribution.named {
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
             in {UNKNOWN}; {fix}",
            path.display()
        );
    }
    let code = sections.get("code").copied().unwrap_or(0);
    let figures = subject.figures(file_bytes, code)?;
    let named = graph.map(|graph| Named::new(graph, &attribution));
    if let Some(html) = &args.html {
        write_treemap(
            sh,
            ws,
            &subject,
            &attribution,
            named.as_ref(),
            html,
            args.screenshot.as_deref(),
        )?;
    }
    if let Some(named) = named
        .as_ref()
        .filter(|_| args.retained || args.why.is_some() || args.garbage)
    {
        return graph_views(args, &attribution, named, &figures);
    }
    if args.json {
        print_json(&attribution)?;
        return Ok(Outcome::Passed);
    }
    println!("{figures}\n");
    let rows = if args.rows == 0 {
        usize::MAX
    } else {
        args.rows
    };
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

/// `--retained`, `--why` and `--garbage`: the views of the call graph.
fn graph_views(args: &Args, a: &Attribution, named: &Named, figures: &str) -> Result<Outcome> {
    let rows = if args.rows == 0 {
        usize::MAX
    } else {
        args.rows
    };
    if let Some(pattern) = &args.why {
        let paths = why(named, pattern, rows);
        if paths.is_empty() {
            let near = closest(named, pattern, 3);
            eprintln!(
                "no function or crate matches `{pattern}`; closest names: {}",
                near.join(", ")
            );
            return Ok(Outcome::Failed);
        }
        if args.json {
            print_json(&Why { paths })?;
        } else {
            println!("{figures}\n");
            print!("{}", why_text(&paths));
        }
        return Ok(Outcome::Passed);
    }
    if args.garbage {
        let found = garbage(named);
        if args.json {
            print_json(&found)?;
            return Ok(Outcome::Passed);
        }
        println!("{figures}\n");
        let total: u64 = found.iter().map(|g| g.bytes).sum();
        if found.is_empty() {
            println!("every function and data object is reachable from the exports and start");
            return Ok(Outcome::Passed);
        }
        let shown = &found[..rows.min(found.len())];
        let body = shown
            .iter()
            .map(|g| vec![human_bytes(g.bytes), truncate(&g.krate, 24), g.name.clone()])
            .collect();
        print!(
            "{}",
            render_fitted(strings(["bytes", "crate", "unreached"]), body)
        );
        let rest = &found[shown.len()..];
        if !rest.is_empty() {
            let bytes: u64 = rest.iter().map(|g| g.bytes).sum();
            print!("{}", and_more(rest.len(), None, Some(bytes)));
        }
        println!(
            "{} unreached: {} in {} functions and data objects",
            human_bytes(total),
            human_bytes(total),
            found.len()
        );
        return Ok(Outcome::Passed);
    }
    let d = named.graph.dominators();
    if args.json {
        print_json(&with_retained(a, named, &d))?;
        return Ok(Outcome::Passed);
    }
    println!("{figures}\n");
    let total: u64 = named.graph.bytes.iter().sum();
    if args.crates {
        let per_crate = named.crate_retained();
        let mut crates: Vec<(&String, u64, u64)> = a
            .crates
            .iter()
            .map(|c| {
                (
                    &c.name,
                    c.bytes,
                    per_crate.get(&c.name).copied().unwrap_or(0),
                )
            })
            .collect();
        crates.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| x.0.cmp(y.0)));
        let body = crates
            .iter()
            .take(rows)
            .map(|(name, bytes, retained)| {
                vec![
                    human_bytes(*bytes),
                    human_bytes(*retained),
                    percent(*retained, total),
                    (*name).clone(),
                ]
            })
            .collect();
        print!(
            "{}",
            render_fitted(strings(["bytes", "retained", "% retained", "crate"]), body)
        );
        if crates.len() > rows {
            print!("{}", and_more(crates.len() - rows, Some("crates"), None));
        }
        println!("retained: what the module loses without the crate's functions");
    } else {
        let g = &named.graph;
        let mut nodes: Vec<u32> = (0..g.len() as u32)
            .filter(|&n| n >= g.imports && (n < g.functions || Some(n) == g.table))
            .collect();
        nodes.sort_by(|&x, &y| {
            d.retained[y as usize]
                .cmp(&d.retained[x as usize])
                .then(g.bytes[y as usize].cmp(&g.bytes[x as usize]))
                .then(x.cmp(&y))
        });
        let body = nodes
            .iter()
            .take(rows)
            .map(|&n| {
                vec![
                    human_bytes(g.bytes[n as usize]),
                    human_bytes(d.retained[n as usize]),
                    percent(d.retained[n as usize], total),
                    truncate(&named.crates[n as usize], 24),
                    named.names[n as usize].clone(),
                ]
            })
            .collect();
        print!(
            "{}",
            render_fitted(
                strings(["bytes", "retained", "% retained", "crate", "function"]),
                body
            )
        );
        if nodes.len() > rows {
            print!("{}", and_more(nodes.len() - rows, Some("functions"), None));
        }
        println!(
            "retained: the body and all that only it keeps alive; % of {} of code and data",
            human_bytes(total)
        );
    }
    if !args.table_root {
        println!("{}", table_note(&named.graph.table_stats));
    }
    Ok(Outcome::Passed)
}

/// How the functions in the indirect-call table were attributed.
fn table_note(s: &TableStats) -> String {
    format!(
        "table: {} functions; {} hang under a vtable or slot constant's user, {} under a \
         code constant only, {} under [table] (nothing reachable points to them); \
         --table-root for twiggy's view",
        s.functions, s.strong, s.weak, s.fallback
    )
}

/// `--why`: one block per target, root first, with each step's bytes.
fn why_text(paths: &[wasm_size::retained::WhyPath]) -> String {
    let mut out = String::new();
    for p in paths {
        out.push_str(&format!("{} ({})\n", p.target, human_bytes(p.bytes)));
        if p.path.is_empty() {
            out.push_str("  no root reaches it (see --garbage)\n");
        }
        for (i, (step, bytes)) in p.path.iter().zip(&p.step_bytes).enumerate() {
            let arrow = if i == 0 { "root" } else { "  →" };
            out.push_str(&format!(
                "  {arrow} {} ({})\n",
                truncate(step, COLUMNS - 20),
                human_bytes(*bytes)
            ));
        }
    }
    out
}

/// `--html` (and `--screenshot`): the treemap of `a`; for a package's
/// release build, coloured against the committed baseline.
fn write_treemap(
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
        let r = with_retained(a, named, &named.graph.dominators());
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

/// What the figures describe.
enum Subject {
    File(PathBuf),
    /// A package's release binary: the file with names, and the shipped one.
    Release {
        package: String,
        names: PathBuf,
        shipped: PathBuf,
    },
}

impl Subject {
    fn path(&self) -> &Path {
        match self {
            Subject::File(path) => path,
            Subject::Release { names, .. } => names,
        }
    }

    /// The line saying which file the figures describe. For a release build
    /// it also checks that the named file's code is the shipped code.
    fn figures(&self, file_bytes: u64, code: u64) -> Result<String> {
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
/// package with a binary), built first if missing or older than what cargo
/// last wrote.
fn release_build(sh: &Shell, ws: &Workspace, package: Option<&str>) -> Result<Subject> {
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
    if is_stale(&names, &raw) {
        build::build(sh, ws, &[package], &[Profile::Release])?;
        if !names.is_file() {
            bail!(
                "building {} did not produce {}; run `cargo xtask build-wasm --release -p {}` to see why",
                package.name,
                names.display(),
                package.name
            );
        }
    }
    Ok(Subject::Release {
        package: package.name.to_string(),
        shipped: artifacts::opt_path(&raw),
        names,
    })
}

/// Missing, or older than `source`, which it is made from.
fn is_stale(derived: &Path, source: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(derived), modified(source)) {
        (None, _) => true,
        (Some(derived), Some(source)) => derived < source,
        (Some(_), None) => false,
    }
}

/// Pretty JSON on stdout, written as it is made: the list of every
/// function of a large module is megabytes.
fn print_json(value: &impl serde::Serialize) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

fn strings<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// A table whose last column is shortened so lines stay near `COLUMNS`.
fn render_fitted(header: Vec<String>, rows: Vec<Vec<String>>) -> String {
    Table::from_rows(header, rows).render_fitted(COLUMNS)
}

fn functions_table(a: &Attribution, code: u64, rows: usize) -> String {
    let shown = &a.functions[..rows.min(a.functions.len())];
    let body = shown
        .iter()
        .map(|f| {
            vec![
                human_bytes(f.bytes),
                percent(f.bytes, code),
                truncate(&f.krate, 24),
                f.name.clone(),
            ]
        })
        .collect();
    let mut out = render_fitted(strings(["bytes", "% code", "crate", "function"]), body);
    let rest = &a.functions[shown.len()..];
    if !rest.is_empty() {
        let bytes: u64 = rest.iter().map(|f| f.bytes).sum();
        out.push_str(&and_more(rest.len(), Some("functions"), Some(bytes)));
    }
    out
}

fn data_table(a: &Attribution, rows: usize) -> String {
    let total: u64 = a.data.iter().map(|d| d.bytes).sum();
    let shown = &a.data[..rows.min(a.data.len())];
    let body = shown
        .iter()
        .map(|d| {
            vec![
                human_bytes(d.bytes),
                percent(d.bytes, total),
                d.name.clone(),
            ]
        })
        .collect();
    let mut out = render_fitted(strings(["bytes", "% data", "data segment"]), body);
    let rest = &a.data[shown.len()..];
    if !rest.is_empty() {
        let bytes: u64 = rest.iter().map(|d| d.bytes).sum();
        out.push_str(&and_more(rest.len(), Some("data segments"), Some(bytes)));
    }
    out
}

/// Crates with their bytes, share of all body and segment bytes, and how
/// many functions (segments, for `[data]`) they hold.
fn crates_table(a: &Attribution, rows: usize) -> String {
    let total: u64 = a.crates.iter().map(|c| c.bytes).sum();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for f in &a.functions {
        *counts.entry(&f.krate).or_default() += 1;
    }
    counts.insert(DATA, a.data.len());
    let shown = &a.crates[..rows.min(a.crates.len())];
    let body = shown
        .iter()
        .map(|c| {
            vec![
                human_bytes(c.bytes),
                percent(c.bytes, total),
                counts
                    .get(c.name.as_str())
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
                c.name.clone(),
            ]
        })
        .collect();
    let mut out = render_fitted(strings(["bytes", "% code+data", "count", "crate"]), body);
    let rest = &a.crates[shown.len()..];
    if !rest.is_empty() {
        let bytes: u64 = rest.iter().map(|c| c.bytes).sum();
        out.push_str(&and_more(rest.len(), Some("crates"), Some(bytes)));
    }
    out.push_str("count: functions; data segments for [data]\n");
    out
}

fn monos_table(a: &Attribution, code: u64, rows: usize) -> String {
    let monos = monomorphisations(&a.functions);
    if monos.is_empty() {
        return "no function has more than one body\n".to_owned();
    }
    let shown = &monos[..rows.min(monos.len())];
    let body = shown
        .iter()
        .map(|m| {
            vec![
                human_bytes(m.bytes),
                percent(m.bytes, code),
                m.instances.to_string(),
                truncate(&m.krate, 24),
                m.name.clone(),
            ]
        })
        .collect();
    let mut out = render_fitted(
        strings(["bytes", "% code", "bodies", "crate", "generic function"]),
        body,
    );
    let rest = &monos[shown.len()..];
    if !rest.is_empty() {
        let bytes: u64 = rest.iter().map(|m| m.bytes).sum();
        out.push_str(&and_more(
            rest.len(),
            Some("generic functions"),
            Some(bytes),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_size::attribution::{CrateSize, DataSize, FunctionSize};

    fn function(name: &str, krate: &str, bytes: u64) -> FunctionSize {
        FunctionSize {
            name: name.into(),
            krate: krate.into(),
            bytes,
        }
    }

    #[test]
    fn tables_fit_the_width_and_count_the_rest() {
        let long = format!("<{} as core::fmt::Debug>::fmt", "a::b".repeat(60));
        let a = Attribution {
            file: "f.wasm".into(),
            named: true,
            functions: vec![
                function(&long, "a", 2048),
                function("b::f", "b", 1000),
                function("b::g", "b", 24),
            ],
            crates: vec![
                CrateSize {
                    name: "a".into(),
                    bytes: 2048,
                },
                CrateSize {
                    name: "b".into(),
                    bytes: 1024,
                },
                CrateSize {
                    name: DATA.into(),
                    bytes: 100,
                },
            ],
            data: vec![DataSize {
                name: ".rodata".into(),
                bytes: 100,
            }],
            indices: vec![],
        };
        let text = functions_table(&a, 4096, 2);
        assert!(text.lines().all(|l| l.chars().count() <= COLUMNS), "{text}");
        assert!(text.contains("2.0 KiB   50.0%  a      <a::b"), "{text}");
        assert!(text.contains('…'), "{text}");
        assert!(text.ends_with("... and 1 more functions, 24 B\n"), "{text}");
        assert!(text.contains("1000 B   24.4%  b      b::f"), "{text}");
        // Shares of all 3172 body and segment bytes; counts from the functions.
        let crates = crates_table(&a, 20);
        let lines: Vec<&str> = crates.lines().collect();
        assert_eq!(lines[1], "2.0 KiB        64.6%      1  a", "{crates}");
        assert_eq!(lines[2], "1.0 KiB        32.3%      2  b", "{crates}");
        assert_eq!(lines[3], "  100 B         3.2%      1  [data]", "{crates}");
    }
}
