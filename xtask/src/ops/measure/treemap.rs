//! Writing treemap pages (`size::treemap`): `bloat --html` for one file,
//! `size-report` for each shipped `.wasm`; and checking a page in headless
//! Chromium, which `bloat --screenshot` does before it takes the picture.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::ops::build::artifacts;
use crate::ops::env::browser;
use crate::ops::env::setup;
use crate::ops::env::workspace::Workspace;
use crate::ops::reports;
use crate::util::files::{content_hash, write_atomic};
use wasm_size::artifact::ArtifactId;
use wasm_size::attribution::{attribute, Attribution};
use wasm_size::budgets::Budgets;
use wasm_size::callgraph::{self, Mode};
use wasm_size::report::{Attributed, Report};
use wasm_size::retained::{with_retained, Named};
use wasm_size::treemap::check::{check, selftest_result};
use wasm_size::treemap::{model, page, report_file_names, Baseline, Treemap};

/// The window the page is checked and pictured in: the map fills its width
/// and, at the layout's 16:10, about its height.
pub const WINDOW: (u32, u32) = (1280, 880);

pub use wasm_size::treemap::set_retained;

/// Writes the page of `t` to `path`.
pub fn write(path: &Path, t: &Treemap) -> Result<()> {
    write_atomic(path, page(t).as_bytes())
}

/// The committed baseline's attribution of `package`'s shipped `.wasm`, for
/// `bloat -p`'s colours; `None` without a baseline or that artifact in it.
pub fn package_baseline(ws: &Workspace, package: &str) -> Result<Option<(String, Attributed)>> {
    let path = ws.reports_dir(None).join("size-baseline.json");
    let Some(report) = reports::load_baseline(&path)? else {
        return Ok(None);
    };
    let id = ArtifactId::shipped(package);
    let note = format!(
        "baseline {} (commit {})",
        ws.relative(&path),
        report.commit.as_deref().unwrap_or("unknown")
    );
    Ok(report
        .attribution
        .into_iter()
        .find(|a| a.artifact == id)
        .map(|a| (note, a)))
}

/// The treemap of `a`, coloured against `baseline` if given, a change
/// that is noise to `budgets` as unchanged.
pub fn of(
    title: &str,
    a: &Attribution,
    baseline: Option<&(String, Attributed)>,
    budgets: &Budgets,
) -> Treemap {
    model(
        title,
        a,
        baseline.map(|(note, attributed)| Baseline {
            note: note.clone(),
            attributed,
            budgets,
        }),
    )
}

/// size-report's pages, to write: one per shipped `.wasm` that has an
/// attribution, in `dir`, named by [`report_file_names`], coloured against
/// the same artifact in `baseline`. The full attribution is read again from
/// the file the report names (the report keeps only the biggest functions).
pub fn report_pages(
    ws: &Workspace,
    dir: &Path,
    report: &Report,
    baseline: Option<&Report>,
    note: &str,
    budgets: &Budgets,
) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let packages: Vec<&str> = report
        .attribution
        .iter()
        .map(|a| a.artifact.package.as_str())
        .collect();
    let mut written = Vec::new();
    for (a, name) in report.attribution.iter().zip(report_file_names(&packages)) {
        let file = ws.root.join(&a.file);
        let base = baseline
            .and_then(|b| b.attribution.iter().find(|b| b.artifact == a.artifact))
            .map(|b| (note.replace('`', ""), b.clone()));
        let path = dir.join(name);
        // The page of the same module against the same baseline is the same
        // page: a no-op size-report copies it from the size cache. The
        // module is known by its length and time, else by its bytes.
        let by_stat = artifacts::stat_identity(&file);
        let bytes = match by_stat {
            Some(_) => None,
            None => match read_module(&file, &a.artifact)? {
                Some(bytes) => Some(bytes),
                None => continue,
            },
        };
        let identity =
            by_stat.map_or_else(|| bytes.clone().unwrap_or_default(), String::into_bytes);
        let key = content_hash(&[
            b"treemap v2",
            a.artifact.to_string().as_bytes(),
            &identity,
            &serde_json::to_vec(&base)?,
            format!(
                "{:?} {:?}",
                budgets.min_delta_bytes, budgets.min_delta_percent
            )
            .as_bytes(),
            artifacts::program_identity().as_bytes(),
        ]);
        let cached = artifacts::size_cache_dir(ws).join(format!("treemap-{key}.html"));
        let html = match std::fs::read(&cached) {
            Ok(html) => html,
            Err(_) => {
                let bytes = match bytes {
                    Some(bytes) => bytes,
                    None => match read_module(&file, &a.artifact)? {
                        Some(bytes) => bytes,
                        None => continue,
                    },
                };
                let attribution = attribute(&bytes, &a.file)?;
                let named = Named::new(callgraph::graph(&bytes, Mode::SeeThrough)?, &attribution);
                let retained =
                    with_retained(&attribution, &named, &named.graph.dominators(), usize::MAX);
                let mut t = of(
                    &a.artifact.to_string(),
                    &attribution,
                    base.as_ref(),
                    budgets,
                );
                set_retained(&mut t, &retained);
                let html = page(&t).into_bytes();
                if std::fs::create_dir_all(cached.parent().expect("in the cache dir")).is_ok() {
                    // A cache that cannot be written only costs time next run.
                    let _ = write_atomic(&cached, &html);
                }
                html
            }
        };
        written.push((path, html));
    }
    Ok(written)
}

/// The names file a report names, or `None` when it is not on this
/// machine: a merged report names the files of the machines that measured
/// each shard, and their treemaps are theirs.
fn read_module(file: &Path, artifact: &ArtifactId) -> Result<Option<Vec<u8>>> {
    match std::fs::read(file) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "no treemap for {artifact}: {} is not on this machine (a shard's report?)",
                file.display()
            );
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
    }
}

/// Opens the page at `path` in headless Chromium with `?selftest` and
/// returns every way what it rendered differs from `t`
/// (`size::treemap::check`), and every console message; empty when it
/// renders as its model.
pub fn check_in_browser(
    sh: &Shell,
    chromium: &Path,
    path: &Path,
    t: &Treemap,
) -> Result<Vec<String>> {
    let url = browser::file_url(path, "?selftest")?;
    let dumped = browser::dump_dom(sh, chromium, &url, WINDOW)?;
    let rendered =
        selftest_result(&dumped.dom).with_context(|| format!("{} in Chromium", path.display()))?;
    let mut problems = check(t, &rendered);
    problems.extend(dumped.console.iter().map(|m| format!("console: {m}")));
    Ok(problems)
}

/// Checks the page at `path` in Chromium (installed as root with apt-get
/// when missing) and saves a screenshot of it to `png`; a page that does not
/// render as its model gets no picture.
pub fn screenshot(sh: &Shell, path: &Path, t: &Treemap, png: &Path) -> Result<()> {
    let chromium = setup::ensure_chromium(sh)?;
    let problems = check_in_browser(sh, &chromium, path, t)?;
    if !problems.is_empty() {
        bail!(
            "{} does not render as its model in {}, so no screenshot: {}",
            path.display(),
            chromium.display(),
            problems.join("; ")
        );
    }
    let url = browser::file_url(path, "")?;
    browser::screenshot(sh, &chromium, &url, png, WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::build_wasm_program;
    use wasm_size::report::KEPT_FUNCTIONS;

    /// A small real program: the standard library, a crate of its own
    /// and generic code, so names hold `<`, `>` and `::`.
    fn tiny_wasm() -> Attribution {
        let wasm = build_wasm_program(
            "use std::collections::BTreeMap;\n\
             fn main() {\n\
                 let mut m = BTreeMap::new();\n\
                 for (i, a) in std::env::args().enumerate() { m.insert(a, i); }\n\
                 println!(\"{}\", tally::describe(&m));\n\
                 println!(\"{}\", tally::Tally::default().add(m.len() as u64).total());\n\
             }\n",
            &[(
                "tally",
                "use std::fmt::Debug;\n\
                 #[inline(never)]\n\
                 pub fn describe<K: Debug, V: Debug>(m: &std::collections::BTreeMap<K, V>) -> String {\n\
                     format!(\"{m:?} {}\", m.len())\n\
                 }\n\
                 #[derive(Default)]\n\
                 pub struct Tally(Vec<u64>);\n\
                 impl Tally {\n\
                     #[inline(never)]\n\
                     pub fn add(mut self, n: u64) -> Self { self.0.push(n); self }\n\
                     #[inline(never)]\n\
                     pub fn total(&self) -> u64 { self.0.iter().sum() }\n\
                 }\n",
            )],
        );
        attribute(&wasm, "tiny.wasm").unwrap()
    }

    /// A baseline where the biggest crate was bigger, the second smaller
    /// and `tally` absent: all three colours, and a truncated function list.
    fn baseline_of(a: &Attribution) -> (String, Attributed) {
        let mut base = Attributed::new(ArtifactId::shipped("tiny"), a.clone(), 10);
        base.crates[0].bytes += 500;
        base.crates[1].bytes -= 100;
        base.crates.retain(|c| c.name != "tally");
        base.functions[0].bytes -= 40;
        assert!(KEPT_FUNCTIONS > 10 && base.truncated);
        ("a made-up baseline".to_owned(), base)
    }

    fn chromium() -> std::path::PathBuf {
        setup::find_chromium().unwrap_or_else(|| panic!("{}", setup::CHROMIUM_HELP))
    }

    #[test]
    #[ignore = "browser: `cargo xtask test` runs it in a step of its own, after installing Chromium"]
    fn browser_renders_the_treemap_of_a_real_wasm_as_its_model() {
        let mut a = tiny_wasm();
        assert!(a.crates.iter().any(|c| c.name == "tally"), "{:?}", a.crates);
        let base = baseline_of(&a);
        // A name that would end the page's script if it were not escaped.
        let evil = "tally::</script><script>throw 1</script><!--";
        a.functions.push(wasm_size::attribution::FunctionSize {
            name: evil.into(),
            krate: "tally".into(),
            bytes: 64,
        });
        a.crates
            .iter_mut()
            .find(|c| c.name == "tally")
            .unwrap()
            .bytes += 64;
        let budgets = Budgets::from_metadata(&serde_json::Value::Null).unwrap();
        let mut t = of("tiny.wasm", &a, Some(&base), &budgets);
        // Retained sizes, as the dominator analysis will give them: shown
        // on hover for these two, and for nothing else.
        t.crates[0].retained = Some(t.crates[0].bytes + 1234);
        t.crates[0].items[0].retained = Some(4321);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("treemap.html");
        write(&path, &t).unwrap();
        let sh = Shell::new().unwrap();
        let problems = check_in_browser(&sh, &chromium(), &path, &t).unwrap();
        assert_eq!(problems, Vec::<String>::new());
        // And it was a real rendering: every crate, some functions.
        let dumped = browser::dump_dom(
            &sh,
            &chromium(),
            &browser::file_url(&path, "?selftest").unwrap(),
            WINDOW,
        )
        .unwrap();
        let rendered = selftest_result(&dumped.dom).unwrap();
        let drawn = &rendered.views[0].nodes;
        assert!(
            drawn.iter().filter(|n| n.kind == "crate").count() >= 4,
            "{drawn:?}"
        );
        assert!(drawn.iter().any(|n| n.label.contains("tally::describe")));
        assert!(
            rendered
                .views
                .iter()
                .any(|v| v.nodes.iter().any(|n| n.label == evil)),
            "the escaped name is drawn as text"
        );
        assert_eq!(rendered.views.len(), 1 + t.crates.len());
    }

    /// The check can fail: a page whose script draws one rectangle
    /// elsewhere than its model, and one whose script throws, are caught.
    #[test]
    #[ignore = "browser: `cargo xtask test` runs it in a step of its own, after installing Chromium"]
    fn browser_check_catches_a_wrong_layout_and_a_script_error() {
        let a = tiny_wasm();
        let budgets = Budgets::from_metadata(&serde_json::Value::Null).unwrap();
        let t = of("tiny.wasm", &a, None, &budgets);
        let dir = tempfile::tempdir().unwrap();
        let sh = Shell::new().unwrap();

        // The page is given a layout with the two biggest crates swapped;
        // the check compares with the true one.
        let mut wrong = t.clone();
        let (r0, r1) = (wrong.crates[0].rect, wrong.crates[1].rect);
        (wrong.crates[0].rect, wrong.crates[1].rect) = (r1, r0);
        let path = dir.path().join("wrong.html");
        write(&path, &wrong).unwrap();
        let problems = check_in_browser(&sh, &chromium(), &path, &t).unwrap();
        let biggest = t.crates[0].name.as_str();
        assert!(
            problems
                .iter()
                .any(|p| p.contains(&format!("{biggest:?} is at"))),
            "{problems:#?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("covers")),
            "{problems:#?}"
        );

        // A script error: the page's data without its crates.
        let html = page(&t).replacen("\"crates\":[", "\"crates\":null,\"x\":[", 1);
        let path = dir.path().join("throws.html");
        std::fs::write(&path, html).unwrap();
        let problems = check_in_browser(&sh, &chromium(), &path, &t).unwrap();
        assert!(
            problems.iter().any(|p| p.starts_with("page: error: ")),
            "{problems:#?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("console: ")),
            "{problems:#?}"
        );
    }

    /// A module of 29,100 functions in 300 crates (generated: attribution
    /// figures, no wasm): the page holds at most `MAX_DRAWN` rectangles in
    /// the whole view, and still renders as its model. Prints the page's
    /// size and the browser's time, for docs/treemap.md; asserts no
    /// time.
    #[test]
    #[ignore = "browser: `cargo xtask test` runs it in a step of its own, after installing Chromium"]
    fn browser_renders_a_big_module_as_its_model() {
        use wasm_size::attribution::{CrateSize, FunctionSize};
        use wasm_size::treemap::MAX_DRAWN;
        let mut functions = Vec::new();
        let mut crates = Vec::new();
        for c in 0..300u64 {
            let mut sum = 0;
            for f in 0..29 * (1 + c % 5) + 10 {
                let bytes = 20 + (c * 7919 + f * 104_729) % 3000;
                sum += bytes;
                functions.push(FunctionSize {
                    name: format!("<crate{c}::Type{f}<T> as core::fmt::Debug>::fmt"),
                    krate: format!("crate{c}").into(),
                    bytes,
                });
            }
            crates.push(CrateSize {
                name: format!("crate{c}").into(),
                bytes: sum,
            });
        }
        crates.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
        assert_eq!(functions.len(), 29_100);
        let a = Attribution {
            file: "big.wasm".into(),
            named: true,
            indices: (0..functions.len() as u32).collect(),
            functions,
            crates,
            data: vec![],
        };
        let budgets = Budgets::from_metadata(&serde_json::Value::Null).unwrap();
        let t = of("big.wasm", &a, None, &budgets);
        let drawn = t
            .crates
            .iter()
            .flat_map(|c| &c.items)
            .filter(|i| i.rect.is_some());
        assert_eq!(drawn.count(), MAX_DRAWN);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.html");
        write(&path, &t).unwrap();
        let sh = Shell::new().unwrap();
        let started = std::time::Instant::now();
        let problems = check_in_browser(&sh, &chromium(), &path, &t).unwrap();
        assert_eq!(problems, Vec::<String>::new());
        eprintln!(
            "29,100 functions in 300 crates: page {} bytes, self-test in Chromium {:.1} s",
            std::fs::metadata(&path).unwrap().len(),
            started.elapsed().as_secs_f64()
        );
    }
}
