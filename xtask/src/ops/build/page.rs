//! A browser package's page, ready to serve: its release build (bindings
//! and `-Oz`, see `web`) and its `www/` laid out in one dir, `pkg/` beside
//! `index.html` as `www/main.js` imports it; served on loopback
//! (`serve-web`); and the page run in headless Chromium, for the browser
//! test.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::Package;
use xshell::Shell;

use crate::ops::build;
#[cfg(test)]
use crate::ops::env::browser;
use crate::ops::env::workspace::Workspace;
use crate::util::http::StaticServer;
use wasm_size::artifact::{Kind, Profile, Stage};

/// The browser package `-p PKG` names, else the only one.
pub fn browser_package<'a>(ws: &'a Workspace, name: Option<&str>) -> Result<&'a Package> {
    let all = ws.browser_packages();
    let list = || {
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        names.join(", ")
    };
    match name {
        Some(name) => match all.iter().find(|p| p.name.as_str() == name) {
            Some(p) => Ok(p),
            None => bail!(
                "package `{name}` is not a browser package; browser packages: {} (declare one \
                 with `[package.metadata.cortex] browser = true`)",
                list()
            ),
        },
        None => match all.as_slice() {
            [one] => Ok(one),
            [] => bail!("no package declares `[package.metadata.cortex] browser = true`"),
            _ => bail!(
                "several browser packages ({}); choose one with -p PKG",
                list()
            ),
        },
    }
}

/// Builds `package`'s release (fresh builds start no cargo) and lays out
/// its page afresh in `into`: the files of its `www/`, then `pkg/` with the
/// shipped `.wasm` and `.js`. Returns `into`.
pub fn build_and_lay_out(
    sh: &Shell,
    ws: &Workspace,
    package: &Package,
    into: &Path,
) -> Result<PathBuf> {
    let built = build::build(sh, ws, &[package], &[Profile::Release])?;
    let (artifacts, _locks) = built.into_parts();
    let www = package
        .manifest_path
        .parent()
        .context("a manifest has a parent dir")?
        .join("www");
    let shipped: Vec<&Path> = artifacts
        .iter()
        .filter(|a| matches!(a.kind, Kind::Wasm | Kind::Js) && a.stage == Stage::Opt)
        .map(|a| a.path.as_path())
        .collect();
    lay_out(www.as_std_path(), &shipped, into)?;
    Ok(into.to_owned())
}

/// Where `serve-web` lays out `package`'s page: `<target>/wasm/<pkg>/page/`.
pub fn page_dir(ws: &Workspace, package: &Package) -> PathBuf {
    build::artifacts::package_target_dir(ws, &package.name).join("page")
}

/// Builds `package` and lays out its page afresh in its [`page_dir`], then
/// serves it on 127.0.0.1: on `port` if it is free, else on a free one.
pub fn build_and_serve(
    sh: &Shell,
    ws: &Workspace,
    package: &Package,
    port: u16,
) -> Result<StaticServer> {
    let root = build_and_lay_out(sh, ws, package, &page_dir(ws, package))?;
    StaticServer::start(&root, Some(port))
}

/// Lays out a page in `into`, emptied first (nothing of an older layout is
/// served): the files of `www`, then `pkg/` with `pkg_files`.
pub fn lay_out(www: &Path, pkg_files: &[&Path], into: &Path) -> Result<()> {
    if into.exists() {
        std::fs::remove_dir_all(into)
            .with_context(|| format!("cannot empty {}", into.display()))?;
    }
    copy_dir(www, into)?;
    let pkg = into.join("pkg");
    std::fs::create_dir_all(&pkg).with_context(|| format!("cannot create {}", pkg.display()))?;
    for file in pkg_files {
        let name = file.file_name().context("a file has a name")?;
        std::fs::copy(file, pkg.join(name))
            .with_context(|| format!("cannot copy {} to {}", file.display(), pkg.display()))?;
    }
    Ok(())
}

/// Copies the files of `from` (and its subdirs) into `to`.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()))?;
        } else {
            std::fs::copy(&path, to.join(entry.file_name()))
                .with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}

/// Opens the page `server` serves in headless Chromium and returns its
/// summary (`#summary`), once its `data-status` is `done`. Fails, with
/// what the page said, if it ended in `error` or never finished, if
/// anything reached the console (a script error), or if a request found
/// no file (a failed fetch; the browser's own `/favicon.ico` aside).
#[cfg(test)]
pub fn run_page(sh: &Shell, chromium: &Path, server: &StaticServer) -> Result<String> {
    let url = server.url();
    let dumped = browser::dump_dom(sh, chromium, &url, (1024, 768))?;
    let mut problems = Vec::new();
    if let Some(how) = ended(&dumped.dom) {
        problems.push(format!("the page ended in {how}"));
    }
    problems.extend(dumped.console.iter().map(|line| format!("console: {line}")));
    problems.extend(
        server
            .failed_requests()
            .into_iter()
            .filter(|r| !r.contains(" /favicon.ico:"))
            .map(|r| format!("failed fetch: {r}")),
    );
    if !problems.is_empty() {
        bail!("{url}: {}", problems.join("; "));
    }
    element_text(&dumped.dom, "summary").with_context(|| format!("{url} has no #summary"))
}

/// How a page that did not finish ended, from its DOM: its `data-status`
/// and what its `#error` says (`` `error`: message ``); `None` when it is
/// `done`.
pub fn ended(dom: &str) -> Option<String> {
    let status = attribute(dom, "data-status").unwrap_or_default();
    if status == "done" {
        return None;
    }
    let error = element_text(dom, "error").unwrap_or_default();
    Some(format!("`{status}`: {}", error.trim()))
}

/// The value of the first `name="…"` attribute in `html`.
pub fn attribute(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("{name}=\""))? + name.len() + 2;
    let value = &html[at..];
    Some(unescape(&value[..value.find('"')?]))
}

/// The text of the element with `id` in `html` (one without child elements).
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(unescape(&rest[start..end]))
}

/// HTML text as a serialised DOM escapes it.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::env::setup;

    #[test]
    fn the_pages_status_and_texts_are_read_from_its_dom() {
        let dom = "<html><body data-status=\"error\"><pre id=\"summary\">a &lt;b&gt; &amp; c\n\
                   </pre><pre id=\"error\">RuntimeError: unreachable</pre></body></html>";
        assert_eq!(attribute(dom, "data-status").as_deref(), Some("error"));
        assert_eq!(element_text(dom, "summary").as_deref(), Some("a <b> & c\n"));
        assert_eq!(
            element_text(dom, "error").as_deref(),
            Some("RuntimeError: unreachable")
        );
        assert_eq!(element_text(dom, "timings"), None);
    }

    fn chromium() -> PathBuf {
        setup::find_chromium().unwrap_or_else(|| panic!("{}", setup::CHROMIUM_HELP))
    }

    /// web-demo's page, built and served as `serve-web` serves it, gives
    /// the WASI demo's summary, byte for byte, with nothing on the console.
    #[test]
    #[ignore = "browser: `cargo xtask test` runs it in a step of its own, after installing Chromium"]
    fn browser_runs_the_web_demo_to_the_wasi_demos_summary() {
        let sh = Shell::new().unwrap();
        let ws = Workspace::load().unwrap();
        let package = browser_package(&ws, Some("web-demo")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = build_and_lay_out(&sh, &ws, package, dir.path()).unwrap();
        let server = StaticServer::start(&root, None).unwrap();
        let t = std::time::Instant::now();
        let summary = run_page(&sh, &chromium(), &server).unwrap();
        eprintln!("the page ran in {:.2} s", t.elapsed().as_secs_f64());
        let expected = ws.root.join("examples/wasm-demo/expected-summary.txt");
        let expected = std::fs::read_to_string(expected).unwrap();
        assert_eq!(summary, expected);
    }

    /// The harness can fail: a page whose wasm traps, and one whose
    /// module is missing, are reported with what went wrong.
    #[test]
    #[ignore = "browser: `cargo xtask test` runs it in a step of its own, after installing Chromium"]
    fn browser_harness_reports_a_trapping_wasm_and_a_failed_fetch() {
        let dir = tempfile::tempdir().unwrap();
        let page = dir.path();
        std::fs::write(
            page.join("index.html"),
            include_str!("../../../../examples/web-demo/www/index.html"),
        )
        .unwrap();
        // The page's own script, on a module whose `run` traps.
        std::fs::write(
            page.join("main.js"),
            include_str!("../../../../examples/web-demo/www/main.js"),
        )
        .unwrap();
        std::fs::create_dir(page.join("pkg")).unwrap();
        // (module (func (export "run") unreachable))
        let trap: &[u8] = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x03\x02\x01\0\
                            \x07\x07\x01\x03run\0\0\x0a\x05\x01\x03\0\0\x0b";
        wasm_size::wasm::validate_wasm(trap).unwrap();
        std::fs::write(page.join("pkg/trap.wasm"), trap).unwrap();
        std::fs::write(
            page.join("pkg/web_demo.js"),
            "let exports;\n\
             export default async function init() {\n\
               const bytes = await (await fetch(new URL('trap.wasm', import.meta.url))).arrayBuffer();\n\
               exports = (await WebAssembly.instantiate(bytes)).instance.exports;\n\
             }\n\
             export async function run() { exports.run(); }\n",
        )
        .unwrap();
        let sh = Shell::new().unwrap();
        let server = StaticServer::start(page, None).unwrap();
        let err = run_page(&sh, &chromium(), &server).unwrap_err().to_string();
        assert!(err.contains("the page ended in `error`"), "{err}");
        assert!(err.contains("unreachable"), "{err}");

        // Without its module: the import fails, and the console says so.
        std::fs::remove_file(page.join("pkg/web_demo.js")).unwrap();
        let err = run_page(&sh, &chromium(), &server).unwrap_err().to_string();
        assert!(err.contains("the page ended in `loading`"), "{err}");
        assert!(
            err.contains("failed fetch: GET /pkg/web_demo.js: 404 Not Found"),
            "{err}"
        );
    }
}
