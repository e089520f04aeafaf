//! The one place child processes are started outside `xshell`: where
//! several run at once with their output streamed live and kept, or where
//! an exit code must pass through. Everything else runs through the `Shell` made in `main`, with
//! `cmd!` (argument vectors, echoed as they run).

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{Context, Result};
use xshell::Cmd;

/// The cargo to run: the one that started us (`CARGO`), else `cargo` on PATH.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The rustc cargo runs: `RUSTC`, else `rustc` on PATH.
pub fn rustc() -> OsString {
    std::env::var_os("RUSTC")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "rustc".into())
}

/// Runs `cmd` with every stream inherited and returns how it ended, for a
/// caller that passes the exit code on.
pub fn status(cmd: Cmd<'_>) -> Result<ExitStatus> {
    let shown = cmd.to_string();
    Command::from(cmd)
        .status()
        .with_context(|| format!("cannot start `{shown}`; is the program on PATH?"))
}

/// Runs `cmd` as xshell's `run` does (echoed, stderr inherited, an error
/// if it fails), but with its stdout sent to our stderr: a child's chatter
/// (apt, pip, rustup, another xtask) never reaches our stdout, which holds
/// a `--json` command's JSON alone.
pub fn run_on_stderr(cmd: Cmd<'_>) -> Result<()> {
    use std::os::fd::AsFd;
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("cannot duplicate stderr for a child's stdout")?;
    run_with_stdout(cmd, Stdio::from(stderr))
}

/// [`run_on_stderr`] with its stdout sent to `stdout`.
fn run_with_stdout(cmd: Cmd<'_>, stdout: Stdio) -> Result<()> {
    let shown = cmd.to_string();
    eprintln!("$ {shown}");
    let status = Command::from(cmd)
        .stdout(stdout)
        .status()
        .with_context(|| format!("cannot start `{shown}`; is the program on PATH?"))?;
    anyhow::ensure!(status.success(), "`{shown}` failed: {status}");
    Ok(())
}

/// A child started by [`start_reading`], its stdout not yet read.
#[derive(Debug)]
pub struct Pending(std::process::Child);

/// Starts `cmd` with its stdout piped (stderr discarded), to be read later
/// with [`Pending::finish`]: a question asked early, answered when needed.
pub fn start_reading(cmd: Cmd<'_>) -> Result<Pending> {
    let shown = cmd.to_string();
    let child = Command::from(cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start `{shown}`; is the program on PATH?"))?;
    Ok(Pending(child))
}

impl Pending {
    /// The child's stdout, trimmed, if it exited successfully.
    pub fn finish(self) -> Option<String> {
        let out = self.0.wait_with_output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

/// A server started by [`start_server`], killed when dropped.
#[derive(Debug)]
pub struct Server(std::process::Child);

/// Starts `cmd` in the background, its output discarded; it is killed
/// when the returned guard drops.
pub fn start_server(cmd: Cmd<'_>) -> Result<Server> {
    let shown = cmd.to_string();
    let child = Command::from(cmd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start `{shown}`; is the program on PATH?"))?;
    Ok(Server(child))
}

impl Server {
    /// Whether it has exited (it could not start, say).
    pub fn exited(&mut self) -> bool {
        !matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a child run by [`run_concurrently`] said or did.
enum Event {
    Line(usize, String),
    Done(usize, std::io::Result<ExitStatus>),
}

/// Runs `cmds`, at most `max` at a time, and returns how each ended, in
/// order. Their stderr lines reach `on_line(index, line)` as they come, in
/// the calling thread; stdout and stdin are inherited.
pub fn run_concurrently(
    cmds: Vec<Cmd<'_>>,
    max: usize,
    mut on_line: impl FnMut(usize, &str),
) -> Result<Vec<ExitStatus>> {
    let count = cmds.len();
    let mut pending = cmds
        .into_iter()
        .map(|cmd| (cmd.to_string(), Command::from(cmd)))
        .enumerate();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut statuses: Vec<Option<ExitStatus>> = vec![None; count];
    let mut running = 0;
    let mut failed_to_start = None;
    loop {
        while running < max.max(1) && failed_to_start.is_none() {
            let Some((i, (shown, mut command))) = pending.next() else {
                break;
            };
            match command.stderr(Stdio::piped()).spawn() {
                Ok(mut child) => {
                    let stderr = child.stderr.take().expect("piped");
                    let tx = tx.clone();
                    std::thread::spawn(move || {
                        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                            let _ = tx.send(Event::Line(i, line));
                        }
                        let _ = tx.send(Event::Done(i, child.wait()));
                    });
                    running += 1;
                }
                Err(e) => {
                    failed_to_start = Some(
                        anyhow::Error::new(e)
                            .context(format!("cannot start `{shown}`; is the program on PATH?")),
                    );
                }
            }
        }
        if running == 0 {
            break;
        }
        match rx.recv().expect("a running child's thread holds a sender") {
            Event::Line(i, line) => on_line(i, &line),
            Event::Done(i, status) => {
                running -= 1;
                statuses[i] = Some(status.context("waiting for a child process")?);
            }
        }
    }
    if let Some(e) = failed_to_start {
        return Err(e);
    }
    Ok(statuses
        .into_iter()
        .map(|s| s.expect("every child ran to its end"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_run_on_stderr_writes_to_the_stream_given_and_fails_when_it_fails() {
        let sh = xshell::Shell::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let file = std::fs::File::create(&out).unwrap();
        run_with_stdout(xshell::cmd!(sh, "echo chatter"), Stdio::from(file)).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "chatter\n");
        let err = run_on_stderr(xshell::cmd!(sh, "false")).unwrap_err();
        assert!(format!("{err:#}").contains("`false` failed"), "{err:#}");
    }

    #[test]
    fn concurrent_children_report_lines_and_statuses_in_order() {
        let sh = xshell::Shell::new().unwrap();
        let script = "echo line-$I >&2; exit $I";
        let cmds = (0..5)
            .map(|i| xshell::cmd!(sh, "sh -c {script}").env("I", i.to_string()))
            .collect();
        let mut lines = Vec::new();
        let statuses =
            run_concurrently(cmds, 2, |i, line| lines.push((i, line.to_owned()))).unwrap();
        let codes: Vec<i32> = statuses.iter().map(|s| s.code().unwrap()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
        lines.sort();
        let expected: Vec<(usize, String)> = (0..5).map(|i| (i, format!("line-{i}"))).collect();
        assert_eq!(lines, expected);
        let missing = vec![xshell::cmd!(sh, "/nonexistent/program")];
        assert!(run_concurrently(missing, 2, |_, _| {}).is_err());
    }
}
