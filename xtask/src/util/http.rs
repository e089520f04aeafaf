//! A static file server on loopback, for a page a browser opens: the
//! browser test's and `serve-web`'s. `127.0.0.1` only, a free port (or the
//! one asked for, else a free one: a port in use is never a failure), the
//! right `Content-Type` for wasm, and the cross-origin isolation headers
//! that give `performance.now()` its fine resolution. Serves files under
//! its root and nothing else, and keeps every request it could not answer
//! with a file, for a test to fail on.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};

/// A running server; stops when dropped.
pub struct StaticServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    failed: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl StaticServer {
    /// Serves `root` on 127.0.0.1: on `port` if it is free, else on any
    /// free port (see [`StaticServer::url`]).
    pub fn start(root: &Path, port: Option<u16>) -> Result<Self> {
        let root = root
            .canonicalize()
            .with_context(|| format!("cannot serve {}: no such directory", root.display()))?;
        let any = (Ipv4Addr::LOCALHOST, 0);
        let listener = match port.map(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p))) {
            Some(Ok(listener)) => listener,
            Some(Err(_)) | None => TcpListener::bind(any).context("cannot listen on 127.0.0.1")?,
        };
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let failed = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::clone(&failed);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let root = root.clone();
                let failures = Arc::clone(&failures);
                // One thread a connection: a browser opens several at once.
                std::thread::spawn(move || {
                    if let Ok(Some(failure)) = serve(&stream, &root) {
                        failures
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(failure);
                    }
                    // Closed only now: a client that has read the answer to
                    // its end finds the failure recorded.
                    drop(stream);
                });
            }
        });
        Ok(Self {
            addr,
            stop,
            failed,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The requests answered with no file so far, as `GET /path: 404 Not
    /// Found`, in the order they came.
    pub fn failed_requests(&self) -> Vec<String> {
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one request: the file under `root` that its path names, or 404
/// (also for a path that would leave `root`), or 405 for another method.
/// Returns the request and its status when no file answered it.
fn serve(stream: &TcpStream, root: &Path) -> std::io::Result<Option<String>> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The headers: read and ignored.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut words = request.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    let mut out = stream;
    let failure = |status: &str| Some(format!("{method} {target}: {status}"));
    if method != "GET" && method != "HEAD" {
        let status = "405 Method Not Allowed";
        respond(&mut out, status, "text/plain", b"GET only\n")?;
        return Ok(failure(status));
    }
    match file_of(root, target).and_then(|p| Some((std::fs::read(&p).ok()?, p))) {
        Some((body, path)) => {
            let body = if method == "HEAD" { &[][..] } else { &body };
            respond(&mut out, "200 OK", content_type(&path), body)?;
            Ok(None)
        }
        None => {
            let status = "404 Not Found";
            respond(&mut out, status, "text/plain", b"not found\n")?;
            Ok(failure(status))
        }
    }
}

fn respond(
    out: &mut impl Write,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Embedder-Policy: require-corp\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(body)?;
    out.flush()
}

/// The file a request target names under `root` (`/` is `index.html`), if
/// it stays inside `root`.
fn file_of(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    let relative = Path::new(&path);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let file = root.join(relative).canonicalize().ok()?;
    (file.starts_with(root) && file.is_file()).then_some(file)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn get(server: &StaticServer, path: &str) -> String {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn serves_files_with_their_type_and_isolation_and_nothing_outside_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        std::fs::create_dir_all(root.join("pkg")).unwrap();
        std::fs::write(root.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(root.join("pkg/m.wasm"), b"\0asm").unwrap();
        std::fs::write(dir.path().join("secret"), "no").unwrap();
        let server = StaticServer::start(&root, None).unwrap();
        assert!(
            server.url().starts_with("http://127.0.0.1:"),
            "{}",
            server.url()
        );

        let page = get(&server, "/");
        assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
        assert!(page.contains("Content-Type: text/html"), "{page}");
        assert!(
            page.contains("Cross-Origin-Embedder-Policy: require-corp"),
            "{page}"
        );
        assert!(page.ends_with("<p>hi</p>"), "{page}");
        let wasm = get(&server, "/pkg/m.wasm?v=1");
        assert!(wasm.contains("Content-Type: application/wasm"), "{wasm}");
        assert_eq!(server.failed_requests(), Vec::<String>::new());
        for outside in [
            "/../secret",
            "/pkg/../../secret",
            "/%2e%2e/secret",
            "/nope.js",
        ] {
            let r = get(&server, outside);
            assert!(r.starts_with("HTTP/1.1 404"), "{outside}: {r}");
        }
    }

    #[test]
    fn a_port_in_use_gives_another_port() {
        let dir = tempfile::tempdir().unwrap();
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let server = StaticServer::start(dir.path(), Some(port)).unwrap();
        assert_ne!(server.addr.port(), port);
        let page = get(&server, "/missing");
        assert!(page.starts_with("HTTP/1.1 404"), "{page}");
        // Recorded once the answer is written, before the connection closes.
        assert_eq!(server.failed_requests(), ["GET /missing: 404 Not Found"]);
    }
}
