//! One advisory file lock, held for as long as the value lives. The OS
//! releases it if the process dies, so a killed run never leaves it held.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};

/// What to do when another process holds the lock.
#[derive(Debug, Clone, Copy)]
pub enum WhenBusy<'a> {
    /// Print this note and wait our turn.
    Wait(&'a str),
    /// Fail with this message.
    Fail(&'a str),
}

/// A held lock on a file.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Creates `path` if needed and locks it exclusively. The holder writes
/// who it is into the file (its pid and directory), so that one who waits
/// can say whom it waits for.
pub fn acquire(path: &Path, when_busy: WhenBusy<'_>) -> Result<Lock> {
    // Not truncated on open: the content is the holder's.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    match (file.try_lock(), when_busy) {
        (Ok(()), _) => {}
        (Err(TryLockError::WouldBlock), WhenBusy::Fail(message)) => bail!("{message}"),
        (Err(TryLockError::WouldBlock), WhenBusy::Wait(note)) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            match holder.trim() {
                "" => eprintln!("{note}"),
                holder => eprintln!("{note} (held by {holder})"),
            }
            file.lock()
                .with_context(|| format!("cannot lock {}", path.display()))?;
        }
        (Err(TryLockError::Error(e)), _) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
    let me = format!(
        "xtask pid {} in {}",
        std::process::id(),
        std::env::current_dir().unwrap_or_default().display()
    );
    // Only the note of a waiter depends on it.
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(me.as_bytes()));
    Ok(Lock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_a_second_holder_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let held = acquire(&path, WhenBusy::Fail("busy")).unwrap();
        let err = acquire(&path, WhenBusy::Fail("another one holds it")).unwrap_err();
        assert_eq!(err.to_string(), "another one holds it");
        drop(held);
        acquire(&path, WhenBusy::Fail("busy")).unwrap();
    }

    #[test]
    fn the_holder_writes_who_it_is_and_a_second_open_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let held = acquire(&path, WhenBusy::Fail("busy")).unwrap();
        let _ = acquire(&path, WhenBusy::Fail("busy")).unwrap_err();
        let holder = std::fs::read_to_string(&path).unwrap();
        assert!(
            holder.contains(&format!("pid {}", std::process::id())),
            "{holder:?}"
        );
        drop(held);
    }
}
