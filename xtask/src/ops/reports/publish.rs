//! The history kept on a branch of its own (`size-history`), never on main:
//! CI on main files each commit's line there, so the history grows without
//! commits by hand. Fetch the branch, add the line, redraw the chart,
//! commit, push; a push that loses a race with another run is tried once
//! more from a fresh fetch.

use std::path::Path;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::ops::env::workspace::Workspace;
use crate::ops::reports;
use crate::util::files::remove_dir;
use wasm_size::budgets::Budgets;
use wasm_size::history::{Entry, HISTORY_FILE};

/// The branch the history lives on.
pub const BRANCH: &str = "size-history";

/// Files `entry` in the history on [`BRANCH`] of `remote` (a remote's name
/// in this checkout, or a URL or path) and pushes it.
pub fn publish(
    sh: &Shell,
    ws: &Workspace,
    remote: &str,
    entry: Entry,
    budgets: &Budgets,
) -> Result<()> {
    let url = remote_url(sh, &ws.root, remote);
    let work = ws.target_dir.join("history-publish");
    for attempt in 1..=2 {
        match try_publish(sh, &work, &url, &entry, budgets)? {
            Pushed::Yes => {
                eprintln!("published {}'s line to {BRANCH} on {remote}", entry.commit);
                remove_dir(&work)?;
                return Ok(());
            }
            Pushed::Rejected(why) if attempt == 1 => eprintln!(
                "the push to {BRANCH} was rejected ({why}), probably another run's line: \
                 fetching again and retrying once"
            ),
            Pushed::Rejected(why) => bail!(
                "could not push the history to {BRANCH} on {remote} twice ({why}); \
                 the line is in reports/{HISTORY_FILE} of this run's artifacts"
            ),
        }
    }
    unreachable!("the loop returns or fails on its second attempt")
}

enum Pushed {
    Yes,
    Rejected(String),
}

/// A remote's URL when `remote` names one here, else `remote` itself.
fn remote_url(sh: &Shell, root: &Path, remote: &str) -> String {
    cmd!(sh, "git -C {root} remote get-url {remote}")
        .quiet()
        .ignore_stderr()
        .read()
        .unwrap_or_else(|_| remote.to_owned())
}

/// One fetch, change, commit and push in a fresh repository at `work`.
fn try_publish(
    sh: &Shell,
    work: &Path,
    url: &str,
    entry: &Entry,
    budgets: &Budgets,
) -> Result<Pushed> {
    remove_dir(work)?;
    std::fs::create_dir_all(work).with_context(|| format!("cannot create {}", work.display()))?;
    let git = |args: &[&str]| {
        cmd!(sh, "git -C {work} -c user.name=cortex-size-history -c user.email=size-history@localhost {args...}")
            .quiet()
            .ignore_stderr()
    };
    git(&["init", "-q"]).run()?;
    let refspec = format!("refs/heads/{BRANCH}");
    if git(&["fetch", "-q", url, &refspec]).run().is_ok() {
        git(&["checkout", "-q", "-B", BRANCH, "FETCH_HEAD"]).run()?;
    } else {
        // No branch yet: this line starts it.
        git(&["checkout", "-q", "--orphan", BRANCH]).run()?;
    }
    reports::update(work, Some(entry.clone()), budgets)?;
    git(&["add", "-A"]).run()?;
    let message = format!("history: {}", entry.commit);
    git(&["commit", "-q", "--allow-empty", "-m", &message]).run()?;
    let push = cmd!(sh, "git -C {work} push -q {url} HEAD:{refspec}")
        .quiet()
        .ignore_status()
        .output()?;
    if push.status.success() {
        return Ok(Pushed::Yes);
    }
    let why = String::from_utf8_lossy(&push.stderr);
    let why = why
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Ok(Pushed::Rejected(why.to_owned()))
}
