//! Headless Chromium, for the treemap page: its DOM after the page's
//! scripts ran, with what the page logged, and screenshots. The executable
//! comes from `setup::find_chromium` / `ensure_chromium`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// No sandbox (root in containers and CI), no GPU, and nothing fetched in
/// the background: the only thing loaded is the page.
const HEADLESS: [&str; 6] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--hide-scrollbars",
];

/// How long, in the page's virtual time, the page may run before the DOM
/// is dumped or the picture taken: the page is done at `load`, and virtual
/// time lets everything the page started finish first, whatever the load.
const BUDGET_MS: &str = "--virtual-time-budget=10000";

/// A `file://` URL for `path` (made absolute), with `query` (`?…` or empty).
pub fn file_url(path: &Path, query: &str) -> Result<String> {
    let path = std::path::absolute(path)
        .with_context(|| format!("cannot make {} absolute", path.display()))?;
    let mut url = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' | b'~' => {
                url.push(b as char)
            }
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    url.push_str(query);
    Ok(url)
}

/// The DOM after the page at `url` loaded and ran, and the console messages
/// Chromium logged for it.
pub struct Dumped {
    pub dom: String,
    pub console: Vec<String>,
}

/// Opens `url` in a `width`×`height` window and dumps the DOM, once the
/// page's virtual-time budget ran out.
pub fn dump_dom(sh: &Shell, chromium: &Path, url: &str, size: (u32, u32)) -> Result<Dumped> {
    dump(sh, chromium, url, size, Some(BUDGET_MS))
}

/// Opens `url` and dumps the DOM after its `load` event, in real time: a
/// page that times itself with `performance.now()` (which virtual time
/// stops while a script runs) and finishes before `load`.
pub fn dump_dom_in_real_time(sh: &Shell, chromium: &Path, url: &str) -> Result<Dumped> {
    dump(sh, chromium, url, (1024, 768), None)
}

fn dump(
    sh: &Shell,
    chromium: &Path,
    url: &str,
    (width, height): (u32, u32),
    budget: Option<&str>,
) -> Result<Dumped> {
    let size = format!("--window-size={width},{height}");
    let out = cmd!(
        sh,
        "{chromium} {HEADLESS...} --enable-logging=stderr --v=0 {budget...} {size} --dump-dom {url}"
    )
    .quiet()
    .ignore_status()
    .output()
    .with_context(|| format!("cannot start {}", chromium.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "{} could not open {url} ({}): {}",
            chromium.display(),
            out.status,
            stderr.trim()
        );
    }
    Ok(Dumped {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console: console_lines(&stderr),
    })
}

/// The console messages in Chromium's log: `[…:INFO:CONSOLE:12] "text",
/// source: file:///… (12)`, as `text (line 12)`.
fn console_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| {
            let at = l.find(":CONSOLE")?;
            let rest = &l[at..];
            let message = rest.split_once("] ").map_or(rest, |(_, m)| m);
            Some(message.to_owned())
        })
        .collect()
}

/// Saves a PNG of the page at `url` in a `width`×`height` window to `png`,
/// whole or not at all.
pub fn screenshot(
    sh: &Shell,
    chromium: &Path,
    url: &str,
    png: &Path,
    (width, height): (u32, u32),
) -> Result<()> {
    let name = png.file_name().unwrap_or_default().to_string_lossy();
    let tmp = png.with_file_name(format!(".{name}.{}.tmp.png", std::process::id()));
    let tmp = std::path::absolute(&tmp)?;
    let shot = format!("--screenshot={}", tmp.display());
    let size = format!("--window-size={width},{height}");
    let out = cmd!(
        sh,
        "{chromium} {HEADLESS...} {BUDGET_MS} {size} {shot} {url}"
    )
    .quiet()
    .ignore_status()
    .output()
    .with_context(|| format!("cannot start {}", chromium.display()))?;
    if !out.status.success() || !tmp.is_file() {
        let _ = std::fs::remove_file(&tmp);
        bail!(
            "{} could not take a screenshot of {url}: {}",
            chromium.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    std::fs::rename(&tmp, png).with_context(|| format!("cannot write {}", png.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_are_read_from_chromiums_log() {
        let log = "[1:2:1126/122859.460317:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n\
            [1:1:1126/122859.830743:INFO:CONSOLE:1] \"boom\", source: file:///tmp/t.html?selftest (1)\n\
            /usr/bin/chromium: 9: [: 25276510208: unexpected operator\n";
        assert_eq!(
            console_lines(log),
            ["\"boom\", source: file:///tmp/t.html?selftest (1)"]
        );
    }

    #[test]
    fn file_urls_escape_what_a_url_cannot_hold() {
        let url = file_url(Path::new("/tmp/a b/#x%.html"), "?selftest").unwrap();
        assert_eq!(url, "file:///tmp/a%20b/%23x%25.html?selftest");
    }
}
