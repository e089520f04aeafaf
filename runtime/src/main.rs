//! `cortex-wasm-run`: runs one wasm32-wasip1 command module under wasmtime
//! with WASI preview 1, the way `cargo xtask run-wasm` and cargo's wasm test
//! runner (`CARGO_TARGET_WASM32_WASIP1_RUNNER`) need it:
//!
//! ```text
//! cortex-wasm-run [--dir HOST[::GUEST]]... [--env K[=V]]... [--timings] FILE.wasm [ARGS...]
//! ```
//!
//! FILE is a binary module, or the text format when its name ends in `.wat`.
//!
//! Options come before FILE; everything after it goes to the guest, whose
//! argv[0] is FILE's name. stdin, stdout and stderr are the host's; nothing
//! else is shared unless asked: no directory without `--dir`, no environment
//! variable without `--env`.
//!
//! Exit code: the guest's `proc_exit` code (0 when `_start` returns); 134
//! when the guest traps or is otherwise aborted (wasmtime's convention, the
//! status of a process killed by SIGABRT); 2 when it could not be run at all.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use wasmtime::{Config, Engine, Linker, Module, Store, Trap, WasmBacktrace};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

const USAGE: &str = "\
usage: cortex-wasm-run [--dir HOST[::GUEST]]... [--env K[=V]]... [--timings] FILE.wasm [ARGS...]

Runs a wasm32-wasip1 command module (WASI preview 1) under wasmtime.
FILE is a binary module, or the text format if its name ends in .wat.
Options go before FILE; everything after FILE is passed to the guest.

  --dir HOST[::GUEST]  make host directory HOST visible to the guest as GUEST
                       (default: the same path), read-write; repeatable
  --env K=V            set K to V in the guest's environment; `--env K`
                       passes the host's value of K; repeatable
  --timings            at the end, print one JSON line to stderr:
                       {\"compile_ns\":..,\"instantiate_ns\":..,\"run_ns\":..}
  -h, --help           print this help

Exit code: the guest's, 134 if it trapped, 2 if it could not be run.";

/// Exit status for a guest that trapped: what a shell reports for SIGABRT.
const TRAPPED: u8 = 134;
/// Exit status when the module could not be run at all.
const COULD_NOT_RUN: u8 = 2;

/// What the command line asks for.
#[derive(Debug, Default)]
struct Options {
    /// (host path, guest path)
    dirs: Vec<(PathBuf, String)>,
    env: Vec<(String, String)>,
    timings: bool,
    file: PathBuf,
    /// The guest's argv after argv[0].
    guest_args: Vec<String>,
}

/// Why nothing ran: one line naming the cause and the fix. Exit 2.
#[derive(Debug)]
struct CouldNotRun(String);

impl<S: Into<String>> From<S> for CouldNotRun {
    fn from(s: S) -> Self {
        Self(s.into())
    }
}

enum Parsed {
    Run(Options),
    Help,
}

fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, CouldNotRun> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    let utf8 = |arg: OsString, what: &str| {
        arg.into_string().map_err(|arg| {
            CouldNotRun::from(format!(
                "{what} {arg:?} is not valid UTF-8, which WASI requires; pass it in UTF-8"
            ))
        })
    };
    let file = loop {
        let Some(arg) = args.next() else {
            return Err(
                "no FILE.wasm given; usage: cortex-wasm-run [OPTIONS] FILE.wasm [ARGS...] \
                        (see --help)"
                    .into(),
            );
        };
        let value = |args: &mut dyn Iterator<Item = OsString>, flag: &str| {
            args.next()
                .ok_or_else(|| CouldNotRun::from(format!("{flag} needs a value; see --help")))
        };
        match arg.to_str() {
            Some("-h" | "--help") => return Ok(Parsed::Help),
            Some("--timings") => options.timings = true,
            Some("--dir") => {
                let spec = utf8(value(&mut args, "--dir")?, "--dir")?;
                let (host, guest) = match spec.split_once("::") {
                    Some((host, guest)) => (host.to_owned(), guest.to_owned()),
                    None => (spec.clone(), spec.clone()),
                };
                if host.is_empty() || guest.is_empty() {
                    return Err(format!(
                        "--dir {spec:?}: expected HOST or HOST::GUEST, both non-empty"
                    )
                    .into());
                }
                options.dirs.push((host.into(), guest));
            }
            Some("--env") => {
                let spec = utf8(value(&mut args, "--env")?, "--env")?;
                let (name, value) = match spec.split_once('=') {
                    Some((k, v)) => (k.to_owned(), v.to_owned()),
                    None => {
                        let value = std::env::var(&spec).map_err(|_| {
                            format!(
                                "--env {spec}: the host has no UTF-8 variable {spec} to pass \
                                 on; set it, or give a value with --env {spec}=VALUE"
                            )
                        })?;
                        (spec.clone(), value)
                    }
                };
                if name.is_empty() {
                    return Err(format!("--env {spec:?}: the variable name is empty").into());
                }
                options.env.push((name, value));
            }
            Some("--") => {
                break args.next().ok_or("no FILE.wasm after `--`; see --help")?;
            }
            Some(flag) if flag.starts_with('-') && flag.len() > 1 => {
                return Err(format!(
                    "unknown option {flag}; options go before FILE.wasm, see --help"
                )
                .into());
            }
            _ => break arg,
        }
    };
    options.file = file.into();
    options.guest_args = args
        .enumerate()
        .map(|(i, arg)| utf8(arg, &format!("guest argument {}", i + 1)))
        .collect::<Result<_, _>>()?;
    Ok(Parsed::Run(options))
}

/// Nanoseconds spent in each phase, for `--timings`.
#[derive(Debug, Default)]
struct Timings {
    compile_ns: u128,
    instantiate_ns: u128,
    run_ns: u128,
}

impl Timings {
    fn json(&self) -> String {
        format!(
            "{{\"compile_ns\":{},\"instantiate_ns\":{},\"run_ns\":{}}}",
            self.compile_ns, self.instantiate_ns, self.run_ns
        )
    }
}

/// How the guest ended, once it started.
enum Ended {
    /// `_start` returned or the guest called `proc_exit`.
    Exit(i32),
    /// A trap, or a fatal host error: a message for stderr.
    Aborted(String),
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

/// Reads and compiles FILE, explaining the usual mistakes in one line each.
fn compile(engine: &Engine, file: &Path) -> Result<Module, CouldNotRun> {
    let name = display_name(file);
    let bytes = std::fs::read(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CouldNotRun::from(format!(
            "{name}: no such file; build it first (e.g. `cargo xtask build-wasm`) or check the path"
        )),
        std::io::ErrorKind::IsADirectory => CouldNotRun::from(format!(
            "{name} is a directory, not a .wasm file; pass the module's path"
        )),
        _ => CouldNotRun::from(format!(
            "cannot read {name}: {e}; check that it exists and is readable"
        )),
    })?;
    // wasmtime also reads the text format, for hand-written `.wat` modules.
    let text = file.extension().is_some_and(|e| e == "wat");
    if !text && !bytes.starts_with(b"\0asm") {
        return Err(format!(
            "{name} is not a wasm module (no \\0asm header); pass a .wasm file built for \
             wasm32-wasip1, e.g. by `cargo xtask build-wasm`"
        )
        .into());
    }
    Module::new(engine, &bytes).map_err(|e| {
        format!(
            "{name} is not a valid wasm module: {}; rebuild it for wasm32-wasip1",
            one_line(&format!("{e:#}"))
        )
        .into()
    })
}

/// Multi-line causes folded onto the one `error:` line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn wasi_context(options: &Options) -> Result<WasiP1Ctx, CouldNotRun> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stdio();
    let argv0 = options
        .file
        .file_name()
        .unwrap_or(options.file.as_os_str())
        .to_string_lossy();
    wasi.arg(argv0).args(&options.guest_args);
    for (k, v) in &options.env {
        wasi.env(k, v);
    }
    for (host, guest) in &options.dirs {
        wasi.preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(|e| {
                format!(
                    "--dir {}: cannot open {} as a directory: {}; pass an existing directory",
                    host.display(),
                    host.display(),
                    one_line(&format!("{e:#}"))
                )
            })?;
    }
    Ok(wasi.build_p1())
}

/// Compiles, links and runs; `Err` when the guest never started.
fn run(options: &Options, timings: &mut Timings) -> Result<Ended, CouldNotRun> {
    let name = display_name(&options.file);
    // Defaults: cranelift at opt-level `speed`, wasm backtraces (20 frames)
    // on traps, compilation on every core.
    let engine = Engine::new(&Config::new())
        .map_err(|e| format!("cannot start wasmtime: {}", one_line(&format!("{e:#}"))))?;

    let started = Instant::now();
    let module = compile(&engine, &options.file)?;
    timings.compile_ns = started.elapsed().as_nanos();

    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    p1::add_to_linker_sync(&mut linker, |wasi| wasi)
        .map_err(|e| format!("cannot set up WASI: {}", one_line(&format!("{e:#}"))))?;
    let mut store = Store::new(&engine, wasi_context(options)?);

    let started = Instant::now();
    let instance = linker.instantiate(&mut store, &module).map_err(|e| {
        format!(
            "{name} cannot be instantiated: {}; build it for wasm32-wasip1 (WASI preview 1 \
             imports only)",
            one_line(&format!("{e:#}"))
        )
    })?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(|_| {
            format!(
                "{name} has no `_start` function, so it is not a WASI command; build a binary \
                 target (or a test), not a library"
            )
        })?;
    timings.instantiate_ns = started.elapsed().as_nanos();

    let started = Instant::now();
    let result = start.call(&mut store, ());
    timings.run_ns = started.elapsed().as_nanos();
    Ok(match result {
        Ok(()) => Ended::Exit(0),
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => Ended::Exit(exit.0),
            None => Ended::Aborted(describe_abort(&name, &e)),
        },
    })
}

/// `<file> trapped: <trap>` and the wasm backtrace, or for a fatal host
/// error (not a trap) `<file> aborted: <error chain>`.
fn describe_abort(name: &str, error: &wasmtime::Error) -> String {
    let backtrace = error
        .downcast_ref::<WasmBacktrace>()
        .map(|bt| format!("\n{bt}"))
        .unwrap_or_default();
    match error.downcast_ref::<Trap>() {
        Some(trap) => {
            let trap = trap.to_string();
            let trap = trap.strip_prefix("wasm trap: ").unwrap_or(&trap);
            format!("{name} trapped: {trap}{backtrace}")
        }
        None => format!("{name} aborted: {error:?}"),
    }
}

fn main() -> ExitCode {
    let options = match parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(options)) => options,
        Ok(Parsed::Help) => {
            // `| head` closing the pipe early is not an error worth a panic.
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(CouldNotRun(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(COULD_NOT_RUN);
        }
    };
    let mut timings = Timings::default();
    let (code, message) = match run(&options, &mut timings) {
        Ok(Ended::Exit(code)) => (u8::try_from(code).unwrap_or(1), None),
        Ok(Ended::Aborted(message)) => (TRAPPED, Some(message)),
        Err(CouldNotRun(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(COULD_NOT_RUN);
        }
    };
    if let Some(message) = message {
        eprintln!("error: {message}");
    }
    // Last, so a reader can take the final line of stderr.
    if options.timings {
        eprintln!("{}", timings.json());
    }
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Parsed, CouldNotRun> {
        parse(args.iter().map(OsString::from))
    }

    fn options(args: &[&str]) -> Options {
        match parse_strs(args) {
            Ok(Parsed::Run(options)) => options,
            Ok(Parsed::Help) => panic!("help for {args:?}"),
            Err(e) => panic!("{args:?}: {}", e.0),
        }
    }

    #[test]
    fn everything_after_the_file_goes_to_the_guest() {
        let o = options(&["--timings", "t.wasm", "--timings", "--dir", "x", "--", "-h"]);
        assert!(o.timings);
        assert_eq!(o.file, Path::new("t.wasm"));
        assert_eq!(o.guest_args, ["--timings", "--dir", "x", "--", "-h"]);
    }

    #[test]
    fn dir_guest_path_defaults_to_the_host_path() {
        let o = options(&["--dir", "/a", "--dir", "/b::/data", "t.wasm"]);
        assert_eq!(
            o.dirs,
            [
                (PathBuf::from("/a"), "/a".to_owned()),
                (PathBuf::from("/b"), "/data".to_owned())
            ]
        );
    }

    #[test]
    fn env_takes_a_value_or_the_hosts() {
        let o = options(&["--env", "A=1=2", "--env", "PATH", "t.wasm"]);
        assert_eq!(o.env[0], ("A".to_owned(), "1=2".to_owned()));
        assert_eq!(o.env[1].0, "PATH");
        assert_eq!(o.env[1].1, std::env::var("PATH").unwrap());
    }

    #[test]
    fn double_dash_lets_a_file_start_with_a_dash() {
        let o = options(&["--", "-odd.wasm", "a"]);
        assert_eq!(o.file, Path::new("-odd.wasm"));
        assert_eq!(o.guest_args, ["a"]);
    }

    #[test]
    fn bad_command_lines_are_refused() {
        for args in [
            &[][..],
            &["--dir"],
            &["--dir", "::g", "t.wasm"],
            &["--env", "=v", "t.wasm"],
            &["--bogus", "t.wasm"],
            &["--"],
        ] {
            assert!(parse_strs(args).is_err(), "{args:?} accepted");
        }
        assert!(matches!(
            parse_strs(&["--dir", "a", "--help"]),
            Ok(Parsed::Help)
        ));
    }

    #[test]
    fn timings_line_is_json() {
        let t = Timings {
            compile_ns: 1,
            instantiate_ns: 22,
            run_ns: 333,
        };
        assert_eq!(
            t.json(),
            r#"{"compile_ns":1,"instantiate_ns":22,"run_ns":333}"#
        );
    }
}
