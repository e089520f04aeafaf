//! The one place child processes are started outside `xshell`: where output
//! must stream live while it is kept, or where an exit code must pass
//! through. Everything else runs through the `Shell` made in `main`, with
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

/// Runs `cmd` with its stderr shown line by line as it comes and each line
/// handed to `on_line`; stdout and stdin are inherited.
pub fn stream_stderr(cmd: Cmd<'_>, mut on_line: impl FnMut(&str)) -> Result<ExitStatus> {
    let shown = cmd.to_string();
    let mut child = Command::from(cmd)
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{shown}`; is the program on PATH?"))?;
    for line in BufReader::new(child.stderr.take().expect("piped")).lines() {
        let line = line?;
        eprintln!("{line}");
        on_line(&line);
    }
    Ok(child.wait()?)
}

/// Runs `cmd` with every stream inherited and returns how it ended, for a
/// caller that passes the exit code on.
pub fn status(cmd: Cmd<'_>) -> Result<ExitStatus> {
    let shown = cmd.to_string();
    Command::from(cmd)
        .status()
        .with_context(|| format!("cannot start `{shown}`; is the program on PATH?"))
}
