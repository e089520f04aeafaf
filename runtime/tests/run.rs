//! The real `cortex-wasm-run` binary against small WASI preview 1 modules
//! written in WAT: what the guest sees, what the host gets back.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// WASI imports every test module shares.
const IMPORTS: &str = r#"
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
"#;

/// Helpers every test module shares: `$print(ptr, len)` to stdout, `$eprint`
/// to stderr, `$strlen`, and one page of memory. Offsets 0..64 are scratch
/// space for results and iovecs.
const PRELUDE: &str = r#"
  (memory (export "memory") 1)
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 32) (local.get $ptr))
    (i32.store (i32.const 36) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 32) (i32.const 1) (i32.const 40))))
  (func $print (param i32 i32) (call $write (i32.const 1) (local.get 0) (local.get 1)))
  (func $eprint (param i32 i32) (call $write (i32.const 2) (local.get 0) (local.get 1)))
  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $n))
  (data (i32.const 48) "\n")
"#;

/// A module: the shared imports, `imports` (WAT wants every import before
/// any function), the prelude, then `body`.
fn module_importing(imports: &str, body: &str) -> Vec<u8> {
    wat::parse_str(format!("(module {IMPORTS} {imports} {PRELUDE} {body})"))
        .expect("test WAT is valid")
}

fn module(body: &str) -> Vec<u8> {
    module_importing("", body)
}

/// Prints each string of a WASI string list (`args` or `environ`), one a line.
fn list_printer(list: &str) -> Vec<u8> {
    module_importing(
        &format!(
            r#"
  (import "wasi_snapshot_preview1" "{list}_sizes_get"
    (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "{list}_get"
    (func $get (param i32 i32) (result i32)))"#
        ),
        r#"
  (func (export "_start") (local $i i32) (local $s i32)
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $get (i32.const 0x1000) (i32.const 0x2000)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 0))))
      (local.set $s (i32.load (i32.add (i32.const 0x1000) (i32.shl (local.get $i) (i32.const 2)))))
      (call $print (local.get $s) (call $strlen (local.get $s)))
      (call $print (i32.const 48) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
"#,
    )
}

struct Guest {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// Writes `bytes` to `<tempdir>/<name>`.
fn guest(name: &str, bytes: &[u8]) -> Guest {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    Guest { _dir: dir, path }
}

fn runtime() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cortex-wasm-run"))
}

/// Runs `options FILE args` with empty stdin.
fn run(options: &[&str], file: &Path, args: &[&str]) -> Output {
    runtime()
        .args(options)
        .arg(file)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2 and exactly one line on stderr, `error: …` containing each of `words`.
fn assert_could_not_run(out: &Output, words: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for w in words {
        assert!(err.contains(w), "{err:?} does not mention {w:?}");
    }
    assert!(out.stdout.is_empty(), "{}", stdout(out));
}

#[test]
fn guest_gets_the_file_name_then_every_argument_after_the_file() {
    let g = guest("args.wasm", &list_printer("args"));
    // As cargo calls a target runner: flags after FILE are the guest's.
    let out = run(&[], &g.path, &["--test-threads", "1", "--timings", "ü x"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "args.wasm\n--test-threads\n1\n--timings\nü x\n"
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn environment_is_empty_unless_given() {
    let g = guest("env.wasm", &list_printer("environ"));
    let out = runtime()
        .arg(&g.path)
        .env("CORTEX_SECRET", "host only")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");

    let out = runtime()
        .args(["--env", "A=1=2", "--env", "CORTEX_SECRET"])
        .arg(&g.path)
        .env("CORTEX_SECRET", "passed on")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "A=1=2\nCORTEX_SECRET=passed on\n");
}

#[test]
fn stdout_and_stderr_are_passed_through_separately() {
    let g = guest(
        "streams.wasm",
        &module(
            r#"
  (data (i32.const 100) "to stdout\n")
  (data (i32.const 200) "to stderr\n")
  (func (export "_start")
    (call $print (i32.const 100) (i32.const 10))
    (call $eprint (i32.const 200) (i32.const 10)))
"#,
        ),
    );
    let out = run(&[], &g.path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "to stdout\n");
    assert_eq!(stderr(&out), "to stderr\n");
}

#[test]
fn stdin_is_passed_through() {
    // cat: copies stdin to stdout until end of file.
    let g = guest(
        "cat.wasm",
        &module(
            r#"
  (func (export "_start")
    (loop $more
      (i32.store (i32.const 16) (i32.const 0x1000))
      (i32.store (i32.const 20) (i32.const 0x1000))
      (if (i32.ne (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24))
                  (i32.const 0))
        (then (call $proc_exit (i32.const 9))))
      (if (i32.load (i32.const 24))
        (then
          (call $print (i32.const 0x1000) (i32.load (i32.const 24)))
          (br $more)))))
"#,
        ),
    );
    let mut child = runtime()
        .arg(&g.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = "line one\nline two, longer than the first\n".repeat(500);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), input);
}

#[test]
fn proc_exit_code_is_the_exit_code() {
    for code in [0, 3, 125] {
        let g = guest(
            "exit.wasm",
            &module(&format!(
                r#"
  (data (i32.const 100) "before exit\n")
  (func (export "_start")
    (call $print (i32.const 100) (i32.const 12))
    (call $proc_exit (i32.const {code}))
    (call $print (i32.const 100) (i32.const 12)))
"#
            )),
        );
        let out = run(&[], &g.path, &[]);
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        assert_eq!(stdout(&out), "before exit\n");
        assert_eq!(stderr(&out), "");
    }
}

#[test]
fn trap_exits_134_with_the_message_and_wasm_backtrace() {
    let g = guest(
        "trap.wasm",
        &module(
            r#"
  (func $boom unreachable)
  (func $middle (call $boom))
  (func (export "_start") (call $middle))
"#,
        ),
    );
    let out = run(&[], &g.path, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(134), "{err}");
    let first = err.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "error: {} trapped: wasm `unreachable` instruction executed",
            g.path.display()
        )
    );
    let boom = err.find("boom").expect("backtrace names $boom");
    let middle = err.find("middle").expect("backtrace names $middle");
    assert!(boom < middle, "innermost frame first: {err}");
}

#[test]
fn missing_file_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.wasm");
    assert_could_not_run(
        &run(&[], &path, &[]),
        &["absent.wasm", "no such file", "build"],
    );
}

#[test]
fn non_wasm_file_is_one_line_and_exit_2() {
    let text = guest("notes.wasm", b"just some text\n");
    assert_could_not_run(
        &run(&[], &text.path, &[]),
        &["notes.wasm", "not a wasm module", "wasm32-wasip1"],
    );
    // Right header, broken body: wasmtime's own reason, still one line.
    let truncated = guest("cut.wasm", b"\0asm\x01\0\0\0\x01\x85\x80\x80");
    assert_could_not_run(
        &run(&[], &truncated.path, &[]),
        &["cut.wasm", "not a valid wasm module", "rebuild"],
    );
}

#[test]
fn module_that_cannot_run_is_explained() {
    let library = guest(
        "lib.wasm",
        &module(r#"(func (export "add") (param i32 i32) (result i32) (i32.const 0))"#),
    );
    assert_could_not_run(
        &run(&[], &library.path, &[]),
        &["lib.wasm", "_start", "not a WASI command"],
    );
    let foreign = guest(
        "foreign.wasm",
        &wat::parse_str(r#"(module (import "env" "host_fn" (func)) (func (export "_start")))"#)
            .unwrap(),
    );
    assert_could_not_run(
        &run(&[], &foreign.path, &[]),
        &["foreign.wasm", "host_fn", "WASI preview 1"],
    );
}

/// Opens `hello.txt` in the first preopened directory (fd 3) and prints it;
/// exits 1 with a message when there is none.
fn file_reader() -> Vec<u8> {
    module_importing(
        r#"
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#,
        r#"
  (data (i32.const 100) "no preopened dir\n")
  (data (i32.const 200) "cannot open hello.txt\n")
  (data (i32.const 300) "hello.txt")
  (func (export "_start")
    (if (call $fd_prestat_get (i32.const 3) (i32.const 0))
      (then (call $eprint (i32.const 100) (i32.const 17)) (call $proc_exit (i32.const 1))))
    ;; rights: fd_read (bit 1)
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 300) (i32.const 9)
                         (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8))
      (then (call $eprint (i32.const 200) (i32.const 22)) (call $proc_exit (i32.const 1))))
    (i32.store (i32.const 16) (i32.const 0x1000))
    (i32.store (i32.const 20) (i32.const 256))
    (drop (call $fd_read (i32.load (i32.const 8)) (i32.const 16) (i32.const 1) (i32.const 24)))
    (call $print (i32.const 0x1000) (i32.load (i32.const 24))))
"#,
    )
}

#[test]
fn directory_is_visible_only_with_dir() {
    let g = guest("read.wasm", &file_reader());
    let shared = tempfile::tempdir().unwrap();
    std::fs::write(shared.path().join("hello.txt"), "hello from the host\n").unwrap();

    let out = runtime()
        .arg(&g.path)
        .current_dir(shared.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "no preopened dir\n");

    let host = shared.path().to_str().unwrap();
    for spec in [host.to_owned(), format!("{host}::/data")] {
        let out = run(&["--dir", &spec], &g.path, &[]);
        assert_eq!(out.status.code(), Some(0), "--dir {spec}: {}", stderr(&out));
        assert_eq!(stdout(&out), "hello from the host\n");
    }
}

#[test]
fn missing_dir_is_one_line_and_exit_2() {
    let g = guest("read.wasm", &file_reader());
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent");
    assert_could_not_run(
        &run(&["--dir", absent.to_str().unwrap()], &g.path, &[]),
        &["--dir", "absent", "existing directory"],
    );
}

#[test]
fn bad_option_is_one_line_and_exit_2() {
    let out = runtime().args(["--frobnicate", "x.wasm"]).output().unwrap();
    assert_could_not_run(&out, &["unknown option --frobnicate", "--help"]);
    let out = runtime().output().unwrap();
    assert_could_not_run(&out, &["no FILE.wasm", "usage"]);
}

#[test]
fn timings_is_one_json_line_last_on_stderr() {
    let g = guest("args.wasm", &list_printer("args"));
    let out = run(&["--timings"], &g.path, &["x"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "args.wasm\nx\n");
    let err = stderr(&out);
    let line = err.lines().last().unwrap();
    let fields: Vec<(&str, u64)> = line
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or_else(|| panic!("not a JSON object: {line}"))
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once(':').unwrap();
            (k.trim_matches('"'), v.parse().unwrap())
        })
        .collect();
    let keys: Vec<&str> = fields.iter().map(|f| f.0).collect();
    assert_eq!(keys, ["compile_ns", "instantiate_ns", "run_ns"]);
    assert!(fields.iter().all(|f| f.1 > 0), "{line}");
    // Also when the guest exits with a code of its own.
    let exit = guest(
        "exit.wasm",
        &module(r#"(func (export "_start") (call $proc_exit (i32.const 4)))"#),
    );
    let out = run(&["--timings"], &exit.path, &[]);
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(
        err.lines().count() == 1 && err.starts_with("{\"compile_ns\":"),
        "{err}"
    );
    // And after the message when it traps.
    let trap = guest(
        "trap.wasm",
        &module(r#"(func (export "_start") unreachable)"#),
    );
    let out = run(&["--timings"], &trap.path, &[]);
    assert_eq!(out.status.code(), Some(134));
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.lines().last().unwrap().starts_with("{\"compile_ns\":"),
        "{err}"
    );
}

#[test]
fn text_format_runs_when_the_name_ends_in_wat() {
    let source = format!(
        r#"(module {IMPORTS} {PRELUDE}
  (data (i32.const 100) "from text\n")
  (func (export "_start") (call $print (i32.const 100) (i32.const 10))))"#
    );
    let g = guest("hello.wat", source.as_bytes());
    let out = run(&[], &g.path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "from text\n");
    // The same text under a .wasm name is refused, not guessed at.
    let misnamed = guest("hello.wasm", source.as_bytes());
    assert_could_not_run(&run(&[], &misnamed.path, &[]), &["not a wasm module"]);
    let broken = guest("broken.wat", b"(module (func");
    assert_could_not_run(
        &run(&[], &broken.path, &[]),
        &["broken.wat", "not a valid wasm module"],
    );
}
