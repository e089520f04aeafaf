//! File helpers every layer shares: atomic writes, content hashes, removal.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// Writes `bytes` to `path` so that readers see the old file or the new one,
/// never a half-written one: a temporary file in the same directory, synced,
/// then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| {
            format!(
                "cannot write {}: check that {} exists and is writable",
                path.display(),
                dir.display()
            )
        });
    }
    Ok(())
}

/// Removes `dir` and everything in it; a missing `dir` is fine.
pub fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot remove {}; remove it yourself and run again",
                dir.display()
            )
        }),
    }
}

/// Fails, saying what to do, unless files can be created in `dir` (made if
/// missing): checked before long work whose results go there.
pub fn check_writable(dir: &Path) -> Result<()> {
    let advice = || {
        format!(
            "cannot write in {}: make it writable, or pass --reports-dir",
            dir.display()
        )
    };
    std::fs::create_dir_all(dir).with_context(advice)?;
    let probe = dir.join(format!(".probe.{}", std::process::id()));
    std::fs::File::create(&probe).with_context(advice)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The bytes of the files under `dir` (0 if it does not exist), each file
/// once however many hard links it has (cargo links its outputs from
/// `deps/`), symbolic links not followed: what `du --apparent-size` says.
pub fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", d.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", d.display()))?;
            let meta = entry
                .metadata()
                .with_context(|| format!("cannot read {}", entry.path().display()))?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() && seen.insert(file_identity(&meta, &entry.path())) {
                total += meta.len();
            }
        }
    }
    Ok(total)
}

#[cfg(unix)]
fn file_identity(meta: &std::fs::Metadata, _path: &Path) -> (u64, u64, std::path::PathBuf) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino(), std::path::PathBuf::new())
}

#[cfg(not(unix))]
fn file_identity(_meta: &std::fs::Metadata, path: &Path) -> (u64, u64, std::path::PathBuf) {
    (0, 0, path.to_path_buf())
}

/// Hex SHA-256 of `parts`, in order.
pub fn content_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new contents").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["out.json"]);
    }

    #[test]
    fn atomic_write_into_missing_dir_fails_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("nope/out.json"), b"x").unwrap_err();
        assert!(
            format!("{err:#}").contains("exists and is writable"),
            "{err:#}"
        );
    }

    #[test]
    fn dir_bytes_counts_each_file_once_and_a_missing_dir_as_zero() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("deps/deeper")).unwrap();
        std::fs::write(root.join("deps/a"), [0u8; 100]).unwrap();
        std::fs::write(root.join("deps/deeper/b"), [0u8; 20]).unwrap();
        std::fs::hard_link(root.join("deps/a"), root.join("a")).unwrap();
        assert_eq!(dir_bytes(root).unwrap(), 120);
        assert_eq!(dir_bytes(&root.join("missing")).unwrap(), 0);
    }

    #[test]
    fn content_hash_separates_parts() {
        assert_ne!(content_hash(&[b"ab", b"c"]), content_hash(&[b"a", b"bc"]));
        assert_eq!(content_hash(&[b"x"]).len(), 64);
    }
}
