//! File helpers every layer shares: atomic writes, content hashes, removal.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

/// Writes `bytes` to `path` so that readers see the old file or the new one,
/// never a half-written one: a temporary file in the same directory, synced,
/// then renamed over `path`. Only a regular file (or nothing) is replaced
/// so: a symbolic link keeps pointing where it did, and the file it points
/// to is the one replaced; a device, FIFO or socket (`/dev/stdout`,
/// `/dev/null`, a pipe) is written through, as a shell redirection would.
/// A directory is refused.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => bail!(
            "cannot write {}: it is a directory; name a file (in it, say)",
            path.display()
        ),
        Ok(meta) if !meta.is_file() => return write_through(path, bytes),
        // A link to a regular file: replace the file, keep the link.
        Ok(_) if is_symlink(path) => path.canonicalize().unwrap_or_else(|_| path.to_owned()),
        Ok(_) => path.to_owned(),
        // A dangling link: create what it points to, as a shell would.
        Err(_) if is_symlink(path) => return write_through(path, bytes),
        Err(_) => path.to_owned(),
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
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

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// Writes `bytes` into what `path` opens, without replacing it.
fn write_through(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Fails, in one line naming `flag`, unless `path` can be written as an
/// output: its directory exists, it is not a directory, and it is none of
/// `protected` (the tool's own inputs and outputs, which it would
/// overwrite). Checked before any work, so bad input costs nothing.
pub fn check_output(flag: &str, path: &Path, protected: &[PathBuf]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "{flag} {}: the directory {} does not exist; create it or write elsewhere",
            path.display(),
            dir.display()
        );
    }
    if path.is_dir() {
        bail!(
            "{flag} {}: that is a directory; name a file (in it, say)",
            path.display()
        );
    }
    if let Some(same) = protected.iter().find(|p| same_file(p, path)) {
        bail!(
            "{flag} {}: that is {}, which this command reads or writes itself; \
             name another file",
            path.display(),
            same.display()
        );
    }
    Ok(())
}

/// Whether `a` and `b` name one file: the same device and inode when both
/// exist, else the same absolute path once links in their directories are
/// resolved.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return x.dev() == y.dev() && x.ino() == y.ino();
    }
    let resolve = |p: &Path| -> Option<PathBuf> {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new(".")).canonicalize().ok()?;
        Some(dir.join(p.file_name()?))
    };
    matches!((resolve(a), resolve(b)), (Some(x), Some(y)) if x == y)
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
    fn atomic_write_writes_through_a_fifo_and_keeps_it_a_fifo() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success(), "mkfifo failed");
        // The read end, held open without blocking (O_NONBLOCK), so the
        // write end opens at once and nothing waits if the FIFO is replaced.
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        let mut reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        write_atomic(&fifo, b"through").unwrap();
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"through");
    }

    #[test]
    fn atomic_write_writes_through_a_device_and_keeps_it() {
        use std::os::unix::fs::FileTypeExt;
        // A null device of the test's own (1, 3), never the machine's
        // /dev/null: a regression must not be able to replace that.
        let dir = tempfile::tempdir().unwrap();
        let null = dir.path().join("null");
        let made = std::process::Command::new("mknod")
            .arg(&null)
            .args(["c", "1", "3"])
            .status()
            .unwrap();
        assert!(
            made.success(),
            "mknod needs root, as CI and our machines run"
        );
        write_atomic(&null, b"gone").unwrap();
        let kind = std::fs::symlink_metadata(&null).unwrap().file_type();
        assert!(kind.is_char_device(), "the device was replaced: {kind:?}");
    }

    #[test]
    fn atomic_write_through_a_link_replaces_its_target_and_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.md");
        let link = dir.path().join("link.md");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        // A dangling link: its target is created.
        let dangling = dir.path().join("dangling.md");
        std::os::unix::fs::symlink(dir.path().join("made.md"), &dangling).unwrap();
        write_atomic(&dangling, b"made").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("made.md")).unwrap(),
            "made"
        );
    }

    #[test]
    fn atomic_write_refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(dir.path(), b"x").unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        assert!(dir.path().is_dir());
    }

    #[test]
    fn an_output_that_is_an_input_a_directory_or_nowhere_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("size.json");
        std::fs::write(&input, "{}").unwrap();
        let protected = [input.clone()];
        // The same file by another spelling, and through a link.
        let spelled = dir.path().join(".").join("size.json");
        let link = dir.path().join("alias.json");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        for path in [&input, &spelled, &link] {
            let err = check_output("--comment", path, &protected).unwrap_err();
            assert!(err.to_string().contains("reads or writes itself"), "{err}");
        }
        let err = check_output("--comment", dir.path(), &protected).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        let nowhere = dir.path().join("no/such/dir/c.md");
        let err = check_output("--comment", &nowhere, &protected).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        check_output("--comment", &dir.path().join("comment.md"), &protected).unwrap();
        check_output("--comment", Path::new("/dev/stdout"), &protected).unwrap();
        assert_eq!(std::fs::read_to_string(&input).unwrap(), "{}");
    }

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
