//! Cross-process locks: OS advisory file locks (`flock` on Unix, `LockFileEx` on Windows).
//!
//! The kernel drops such a lock when its holder exits for any reason (`kill -9` included), so a
//! crash never leaves a stale lock to clean up by hand. Each lock is a small file beside what it
//! guards (`exports.json.lock`, `DIR/.shopunlink.lock`, ...) that holds the holder's pid, so a
//! refusal or a wait can say which process is in the way.
//!
//! The locks are std's (`File::lock`, since Rust 1.89, the crate's MSRV).

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fsutil;

/// How often an async waiter tries again (it must not block a runtime thread).
const POLL: Duration = Duration::from_millis(50);

/// A held lock; released when dropped (and by the kernel if the process dies first).
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

/// Why a lock could not be taken without waiting.
#[derive(Debug)]
pub enum Busy {
    /// Another process holds it; its pid when it has written it yet.
    Held(Option<u32>),
}

impl Lock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock at `path` if it is free; `Ok(Err(Busy))` if another process holds it.
    pub fn try_take(path: &Path) -> Result<std::result::Result<Lock, Busy>> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Ok(Lock::held(file, path)?)),
            Err(TryLockError::WouldBlock) => Ok(Err(Busy::Held(holder(&file)))),
            Err(TryLockError::Error(e)) => Err(Error::io("cannot lock", path, e)),
        }
    }

    /// Takes the lock at `path`, waiting for it if needed; a wait is announced on stderr (info)
    /// naming `what` is waited for and who holds it. Blocks the thread: for synchronous code.
    pub fn take(path: &Path, what: &str) -> Result<Lock> {
        match Lock::try_take(path)? {
            Ok(lock) => Ok(lock),
            Err(busy) => {
                announce(what, &busy);
                let file = open(path)?;
                file.lock().map_err(|e| Error::io("cannot lock", path, e))?;
                Lock::held(file, path)
            }
        }
    }

    /// [`Lock::take`] for async code: polls instead of blocking a runtime thread.
    pub async fn take_async(path: &Path, what: &str) -> Result<Lock> {
        let mut announced = false;
        loop {
            match Lock::try_take(path)? {
                Ok(lock) => return Ok(lock),
                Err(busy) => {
                    if !announced {
                        announce(what, &busy);
                        announced = true;
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    /// Records our pid in the freshly taken lock.
    fn held(mut file: File, path: &Path) -> Result<Lock> {
        let write = |f: &mut File| -> std::io::Result<()> {
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
            f.write_all(std::process::id().to_string().as_bytes())
        };
        write(&mut file).map_err(|e| Error::io("cannot write", path, e))?;
        Ok(Lock { file, path: path.to_owned() })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Empty the pid first: a reader that opens the file after we let go reads no stale pid.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Opens (creating, 0600, never through a symlink) the lock file, and its directory (0700).
fn open(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_private_dir(dir)?;
    }
    fsutil::open_private_rw(path, true)
}

/// The pid the holder wrote, if it has.
fn holder(file: &File) -> Option<u32> {
    let mut text = String::new();
    let mut reader = file;
    reader.seek(SeekFrom::Start(0)).ok()?;
    reader.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

fn announce(what: &str, busy: &Busy) {
    tracing::info!("waiting for {what}: {}", describe(busy));
}

/// "process 1234 holds it", for messages.
pub fn describe(busy: &Busy) -> String {
    match busy {
        Busy::Held(Some(pid)) => format!("process {pid} holds it"),
        Busy::Held(None) => "another shopunlink process holds it".into(),
    }
}

/// The pid of a [`Busy`], for `--json` details.
pub fn pid(busy: &Busy) -> Option<u32> {
    match busy {
        Busy::Held(pid) => *pid,
    }
}

/// The lock file guarding `file` (`exports.json` → `exports.json.lock`), beside it.
pub fn beside(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    file.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = Lock::try_take(&path).unwrap().unwrap();
        // flock locks belong to the open file description: a second open conflicts even in-process.
        let Err(busy) = Lock::try_take(&path).unwrap() else { panic!("taken twice") };
        assert_eq!(pid(&busy), Some(std::process::id()));
        drop(held);
        assert!(Lock::try_take(&path).unwrap().is_ok());
    }

    #[test]
    fn locks_sit_beside_what_they_guard() {
        assert_eq!(beside(Path::new("/s/exports.json")), Path::new("/s/exports.json.lock"));
    }
}
