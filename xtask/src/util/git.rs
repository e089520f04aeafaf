//! Git, through the `Shell`: HEAD, status, dates, files, trailers, and a
//! worktree that removes itself.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// The short hash of HEAD in `root`, or `None` outside a git checkout.
pub fn head_short(sh: &Shell, root: &Path) -> Option<String> {
    cmd!(sh, "git -C {root} rev-parse --short HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
}

/// The short hash of `commit`, as `rev-parse --short` gives it.
pub fn short(sh: &Shell, root: &Path, commit: &str) -> Result<String> {
    cmd!(sh, "git -C {root} rev-parse --short {commit}")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("`{commit}` is not a commit in {}", root.display()))
}

/// The full hash of `rev`, or an error if it names no commit.
pub fn resolve(sh: &Shell, root: &Path, rev: &str) -> Result<String> {
    let spec = format!("{rev}^{{commit}}");
    cmd!(sh, "git -C {root} rev-parse --verify --quiet {spec}")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("`{rev}` is not a commit in {}", root.display()))
}

/// The full hashes of commit `rev` and of HEAD, in one call; `None` when
/// `rev` is not a commit of this repository (or there is no repository).
pub fn commit_and_head(sh: &Shell, root: &Path, rev: &str) -> Option<(String, String)> {
    let spec = format!("{rev}^{{commit}}");
    let out = cmd!(sh, "git -C {root} rev-parse {spec} HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    let mut lines = out.lines();
    Some((lines.next()?.to_owned(), lines.next()?.to_owned()))
}

/// Every first-parent commit of HEAD, newest first, as full hashes.
pub fn first_parent_commits(sh: &Shell, root: &Path) -> Result<Vec<String>> {
    let list = cmd!(sh, "git -C {root} rev-list --first-parent HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| {
            format!(
                "cannot list the commits of {} (`git rev-list --first-parent HEAD` failed); \
                 run it in a git checkout with a commit",
                root.display()
            )
        })?;
    Ok(list.lines().map(str::to_owned).collect())
}

/// The committer date of `commit`, ISO 8601.
pub fn commit_date(sh: &Shell, root: &Path, commit: &str) -> Result<String> {
    let date = cmd!(sh, "git -C {root} show -s --format=%cI {commit} --")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| {
            format!(
                "cannot read the date of commit {commit} (`git show -s --format=%cI {commit}` \
                 failed in {}): --record needs a git checkout that has the commit",
                root.display()
            )
        })?;
    if date.is_empty() {
        bail!("git gave no date for commit {commit}: is it a commit in this repository?");
    }
    Ok(date)
}

/// `git status --porcelain` lines of `root`, untracked files included,
/// leaving out `except` (a directory xtask rewrites itself) when it lies
/// inside. Empty when the tree is HEAD's. Fails outside a git checkout.
pub fn uncommitted_changes(sh: &Shell, root: &Path, except: &Path) -> Result<Vec<String>> {
    // Pathspecs are relative to `root`; a directory outside it needs no exclusion.
    let inside = match (root.canonicalize(), except.canonicalize()) {
        (Ok(r), Ok(d)) => d
            .strip_prefix(&r)
            .ok()
            .filter(|rel| !rel.as_os_str().is_empty())
            .map(Path::to_path_buf),
        _ => None,
    };
    let status = match inside {
        Some(rel) => {
            let exclude = format!(":(exclude){}", rel.display());
            cmd!(sh, "git -C {root} status --porcelain -- . {exclude}")
        }
        None => cmd!(sh, "git -C {root} status --porcelain"),
    }
    .quiet()
    .ignore_stderr()
    .read()
    .with_context(|| format!("`git status` failed in {}", root.display()))?;
    Ok(status
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .collect())
}

/// The files git tracks or would track (untracked but not ignored) in
/// `root`, relative to it; `None` outside a git checkout.
pub fn listed_files(sh: &Shell, root: &Path) -> Option<Vec<PathBuf>> {
    let list = cmd!(
        sh,
        "git -C {root} ls-files -z --cached --others --exclude-standard"
    )
    .quiet()
    .ignore_stderr()
    .read()
    .ok()?;
    Some(
        list.split('\0')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect(),
    )
}

/// One line per commit in `since..HEAD`: its short hash, a NUL, then the
/// values of its `key:` trailers separated by `\x01`.
pub fn trailers_since(sh: &Shell, root: &Path, since: &str, key: &str) -> Result<String> {
    let range = format!("{since}..HEAD");
    let format = format!("--format=%h%x00%(trailers:key={key},valueonly,separator=%x01)");
    cmd!(sh, "git -C {root} log {format} {range}")
        .quiet()
        .ignore_stderr()
        .read()
        .with_context(|| format!("cannot read the commits in {range}"))
}

/// A detached `git worktree` of `repo` at `path`, removed when dropped: on
/// success, on error, and on unwinding. A leftover at `path` (a run killed
/// with SIGKILL skips every guard) is removed first.
#[derive(Debug)]
pub struct Worktree<'a> {
    sh: &'a Shell,
    repo: PathBuf,
    path: PathBuf,
}

impl<'a> Worktree<'a> {
    pub fn add(sh: &'a Shell, repo: &Path, path: &Path, commit: &str) -> Result<Self> {
        let tree = Self {
            sh,
            repo: repo.to_owned(),
            path: path.to_owned(),
        };
        tree.remove();
        // The guard exists before git starts, so a checkout that fails or is
        // interrupted half-way is removed too.
        cmd!(
            sh,
            "git -C {repo} worktree add --detach --quiet {path} {commit}"
        )
        .quiet()
        .run()
        .with_context(|| {
            format!(
                "cannot check out {commit} in a worktree at {}",
                path.display()
            )
        })?;
        Ok(tree)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn remove(&self) {
        let (sh, repo, path) = (self.sh, &self.repo, &self.path);
        if path.exists() {
            // Twice: a checkout interrupted half-way is still locked
            // ("initializing"), and one --force keeps a locked worktree.
            let _ = cmd!(sh, "git -C {repo} worktree remove --force --force {path}")
                .quiet()
                .ignore_stderr()
                .run();
            let _ = std::fs::remove_dir_all(path);
        }
        // prune skips a locked worktree whose dir is gone: unlock it first.
        let _ = cmd!(sh, "git -C {repo} worktree unlock {path}")
            .quiet()
            .ignore_stderr()
            .run();
        let _ = cmd!(sh, "git -C {repo} worktree prune")
            .quiet()
            .ignore_stderr()
            .run();
    }
}

impl Drop for Worktree<'_> {
    fn drop(&mut self) {
        self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::git;

    /// A checkout interrupted half-way is left locked ("initializing"); the
    /// guard removes it all the same, with its dir there or already gone.
    #[test]
    fn a_locked_worktree_is_removed_with_or_without_its_dir() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        std::fs::write(repo.join("f"), "x").unwrap();
        git(&repo, &["init", "-q"]);
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-qm", "one"]);
        let sh = Shell::new().unwrap();
        for dir_gone in [false, true] {
            let path = dir.path().join(format!("tree-{dir_gone}"));
            let tree = Worktree::add(&sh, &repo, &path, "HEAD").unwrap();
            let shown = path.to_str().unwrap();
            git(
                &repo,
                &["worktree", "lock", "--reason", "initializing", shown],
            );
            if dir_gone {
                std::fs::remove_dir_all(&path).unwrap();
            }
            drop(tree);
            let list = git(&repo, &["worktree", "list", "--porcelain"]);
            assert!(!list.contains(shown), "dir gone: {dir_gone}: {list}");
            assert!(!path.exists());
        }
    }
}
