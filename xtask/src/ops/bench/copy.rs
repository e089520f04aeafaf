//! The benchmark copy of a workspace that `bench-build` times builds in:
//! made from the files git lists, edited there (never in the user's tree),
//! with its dependencies fetched before any clock runs.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use xshell::{cmd, Shell};

use crate::ops::build::artifacts::WASM_TARGET;
use crate::ops::env::workspace::Workspace;
use crate::util::files::{remove_dir, write_atomic};
use crate::util::git;
use crate::util::process::cargo;

/// Recreates `src` as a copy of the workspace's files: those git tracks or
/// would track (untracked but not ignored), as they are in the working tree;
/// outside git, every file but `.git` and target dirs. Returns the count.
pub fn copy_workspace(sh: &Shell, ws: &Workspace, src: &Path) -> Result<usize> {
    remove_dir(src)?;
    let files = match git::listed_files(sh, &ws.root) {
        Some(files) => files,
        None => walk(&ws.root, Path::new(""))?,
    };
    let mut copied = 0;
    for rel in files {
        let from = ws.root.join(&rel);
        // Deleted in the working tree, or the target dir inside the workspace.
        if !from.is_file() || from.starts_with(&ws.target_dir) {
            continue;
        }
        let to = src.join(&rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::copy(&from, &to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
        copied += 1;
    }
    ensure!(
        src.join("Cargo.toml").is_file(),
        "the benchmark copy {} has no Cargo.toml; is {} a cargo workspace?",
        src.display(),
        ws.root.display()
    );
    Ok(copied)
}

fn walk(root: &Path, rel: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join(rel);
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let path = rel.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if name != ".git" && name != "target" {
                out.extend(walk(root, &path)?);
            }
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

/// Makes sure every dependency is downloaded, untimed, so that the builds
/// (run `--offline`) never measure the network.
pub fn fetch(sh: &Shell, src: &Path) -> Result<()> {
    let cargo = cargo();
    let _src = sh.push_dir(src);
    let fetch = |offline: Option<&str>| {
        cmd!(
            sh,
            "{cargo} fetch --target {WASM_TARGET} --color never {offline...}"
        )
        .quiet()
        .ignore_status()
        .output()
    };
    let out =
        fetch(Some("--offline")).context("cannot run cargo; is it on PATH (or set CARGO)?")?;
    if out.status.success() {
        return Ok(());
    }
    eprintln!("downloading dependencies first (untimed): cargo fetch");
    let out = fetch(None)?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        bail!(
            "`cargo fetch` could not download the dependencies (cargo's errors are above); \
             connect to the network, or run `cargo fetch` in {} once",
            src.display()
        );
    }
    Ok(())
}

/// `pristine` with one new public function appended, returning `nonce`: a
/// real change to the crate (cargo and rustc must recompile it, unlike after
/// a `touch`), valid at the end of any module file and warning-free in a
/// library or a binary. Always built from the pristine text, so runs do not
/// pile edits up.
pub fn edited_source(pristine: &str, nonce: u64) -> String {
    let mut text = pristine.to_owned();
    if !text.ends_with('\n') {
        // The file may end in a line comment.
        text.push('\n');
    }
    text.push_str(&format!(
        "\n/// Added by `cargo xtask bench-build` to time a rebuild (edit {nonce}).\n\
         #[allow(dead_code)]\n\
         pub fn bench_build_edit() -> u64 {{\n    {nonce}\n}}\n"
    ));
    text
}

/// A file of the copy that the incremental runs change, one new content per
/// run, and put back afterwards.
#[derive(Debug)]
pub struct SourceEdit {
    path: PathBuf,
    pristine: String,
    /// Differs in every run and every benchmark, so no content repeats.
    nonce: u64,
}

impl SourceEdit {
    pub fn new(path: PathBuf) -> Result<Self> {
        let pristine = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Self {
            path,
            pristine,
            nonce,
        })
    }

    pub fn apply(&mut self) -> Result<()> {
        self.nonce += 1;
        write_atomic(
            &self.path,
            edited_source(&self.pristine, self.nonce).as_bytes(),
        )
    }

    pub fn restore(self) -> Result<()> {
        write_atomic(&self.path, self.pristine.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Compiles `source` with rustc, warnings denied, as a library or a binary.
    fn assert_compiles(source: &str, crate_type: &str) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("edited.rs");
        std::fs::write(&file, source).unwrap();
        let out = Command::new("rustc")
            .args(["--edition", "2021", "--crate-type", crate_type])
            .args(["--emit", "metadata", "-D", "warnings", "--out-dir"])
            .arg(dir.path())
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the edited {crate_type} does not compile:\n{source}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn edit_is_a_new_item_that_compiles_in_a_library_and_a_binary() {
        // Ends in a line comment without a newline: the edit must not join it.
        let lib = "//! A crate.\n\n/// One.\npub fn one() -> u32 {\n    1\n} // the end";
        assert_compiles(&edited_source(lib, 7), "lib");
        let bin = "fn main() {\n    println!(\"hi\");\n}\n";
        assert_compiles(&edited_source(bin, 8), "bin");
    }

    #[test]
    fn each_run_changes_the_file_without_piling_up_and_restore_puts_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.rs");
        let pristine = "pub fn one() -> u32 {\n    1\n}\n";
        std::fs::write(&path, pristine).unwrap();
        let mut edit = SourceEdit::new(path.clone()).unwrap();
        let mut seen = vec![pristine.to_owned()];
        for _ in 0..3 {
            edit.apply().unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.starts_with(pristine), "{text}");
            assert_eq!(text.matches("fn bench_build_edit").count(), 1, "{text}");
            assert!(!seen.contains(&text), "a run repeated an earlier content");
            seen.push(text);
        }
        assert_compiles(seen.last().unwrap(), "lib");
        edit.restore().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), pristine);
    }
}
