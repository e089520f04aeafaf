//! One advisory file lock, held for as long as the value lives. The OS
//! releases it if the process dies, so a killed run never leaves it held.

use std::fs::{File, TryLockError};
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

/// Creates `path` if needed and locks it exclusively.
pub fn acquire(path: &Path, when_busy: WhenBusy<'_>) -> Result<Lock> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    match (file.try_lock(), when_busy) {
        (Ok(()), _) => {}
        (Err(TryLockError::WouldBlock), WhenBusy::Fail(message)) => bail!("{message}"),
        (Err(TryLockError::WouldBlock), WhenBusy::Wait(note)) => {
            eprintln!("{note}");
            file.lock()
                .with_context(|| format!("cannot lock {}", path.display()))?;
        }
        (Err(TryLockError::Error(e)), _) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
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
}
