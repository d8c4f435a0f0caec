//! An append-only export file that knows its own size and SHA-256 as it is written.
//!
//! Hashing the bytes on their way to disk means the manifest never needs a second pass over a
//! multi-gigabyte file; resuming re-hashes only the durable prefix it keeps.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::checkpoint;
use crate::error::{Error, Result};
use crate::fsutil;

/// Bytes gathered before a write: a write per 128 KiB costs little next to the hashing, and an
/// export of many shops holds one such buffer per file it writes at once.
const BUFFER: usize = 128 << 10;

/// A file being written, with its running size and hash.
#[derive(Debug)]
pub struct HashedFile {
    path: PathBuf,
    file: File,
    /// Grows as needed up to [`BUFFER`]: a file written in big blocks (see [`DIRECT`]) or a
    /// small one never holds memory it does not use.
    buf: Vec<u8>,
    hasher: Sha256,
    bytes: u64,
}

impl HashedFile {
    /// Starts `path` empty (0600).
    pub fn create(path: &Path) -> Result<HashedFile> {
        let file = fsutil::open_private(path, true)?;
        Ok(HashedFile { path: path.to_owned(), file, buf: Vec::new(), hasher: Sha256::new(), bytes: 0 })
    }

    /// Reopens `path` keeping its first `keep` bytes (the durable prefix a checkpoint vouches
    /// for) and cutting anything after them (a torn tail from a crash), after proving the prefix
    /// is what the checkpoint recorded: its SHA-256 and, for NDJSON, its record count. A mismatch (the file was edited, truncated or
    /// replaced, or the checkpoint was) is exit 8 with the `--fresh` hint: appending would give
    /// an export that differs from a clean one.
    pub fn resume_checked(path: &Path, keep: u64, sha256: Option<&str>, records: Option<u64>) -> Result<HashedFile> {
        let (file, lines) = Self::reopen(path, keep)?;
        let Some(expected) = sha256 else {
            return Err(checkpoint::damaged(path, "the checkpoint records no SHA-256 for its kept bytes"));
        };
        if file.digest() != expected {
            return Err(checkpoint::damaged(
                path,
                format!("its first {keep} bytes are not the ones the checkpoint recorded (SHA-256 differs)"),
            ));
        }
        if let Some(n) = records.filter(|n| *n != lines) {
            return Err(checkpoint::damaged(path, format!("it holds {lines} records, the checkpoint says {n}")));
        }
        file.cut()
    }

    /// Opens and hashes the first `keep` bytes, counting their lines; nothing is cut yet, so a
    /// refused resume leaves the file as it found it.
    fn reopen(path: &Path, keep: u64) -> Result<(HashedFile, u64)> {
        let file = match fsutil::open_private_rw(path, false) {
            Ok(f) => f,
            Err(e) => return Err(checkpoint::damaged(path, e)),
        };
        let io_err = |e| Error::io("cannot resume", path, e);
        let len = file.metadata().map_err(io_err)?.len();
        if len < keep {
            return Err(checkpoint::damaged(
                path,
                format!("it is shorter ({len} bytes) than its checkpoint says ({keep} bytes)"),
            ));
        }
        let (hasher, lines) = hash_prefix(&file, keep).map_err(io_err)?;
        let file = HashedFile { path: path.to_owned(), file, buf: Vec::new(), hasher, bytes: keep };
        Ok((file, lines))
    }

    /// Cuts the torn tail after the kept prefix and positions for appending.
    fn cut(mut self) -> Result<HashedFile> {
        let keep = self.bytes;
        let cut = self.file.set_len(keep).and_then(|()| self.file.seek(SeekFrom::Start(keep)).map(drop));
        cut.map_err(|e| Error::io("cannot resume", &self.path, e))?;
        Ok(self)
    }

    /// Lowercase hex SHA-256 of what has been drained to the file so far (after a commit: all).
    pub fn digest(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written so far (buffered ones included).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn drain(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.hasher.update(&self.buf);
            self.file.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Makes everything written so far durable (flush + fsync): only then may a checkpoint
    /// claim it.
    pub fn commit(&mut self) -> Result<u64> {
        self.drain().and_then(|()| self.file.sync_data()).map_err(|e| Error::io("cannot write", &self.path, e))?;
        Ok(self.bytes)
    }

    /// Commits and returns the final size and lowercase hex SHA-256.
    pub fn finish(mut self) -> Result<(u64, String)> {
        self.commit()?;
        Ok((self.bytes, hex::encode(self.hasher.finalize())))
    }
}

/// Hashes the first `keep` bytes of `file` from its start and counts the newlines among them.
fn hash_prefix(mut file: &File, keep: u64) -> io::Result<(Sha256, u64)> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut lines = 0u64;
    let mut reader = file.take(keep);
    let mut chunk = vec![0u8; BUFFER];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
        lines += chunk[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok((hasher, lines))
}

/// The SHA-256 of a file's prefix read back from disk: how a resume proves that a CSV file's kept
/// bytes are the ones its checkpoint recorded before appending to them.
#[derive(Debug)]
pub struct PrefixHash {
    path: PathBuf,
    len: u64,
    hasher: Sha256,
}

impl PrefixHash {
    /// Starts at the empty prefix of `path`.
    pub fn empty(path: &Path) -> PrefixHash {
        PrefixHash { path: path.to_owned(), len: 0, hasher: Sha256::new() }
    }

    /// Hashes the first `len` bytes of `path` and checks them against `expected` (exit 8 naming
    /// the file, with the `--fresh` hint, on any difference).
    pub fn verified(path: &Path, len: u64, expected: Option<&str>) -> Result<PrefixHash> {
        let mut prefix = PrefixHash::empty(path);
        prefix.advance(len).map_err(|e| checkpoint::damaged(path, e))?;
        if expected != Some(prefix.digest().as_str()) {
            return Err(checkpoint::damaged(
                path,
                format!("its first {len} bytes are not the ones the checkpoint recorded (SHA-256 differs)"),
            ));
        }
        Ok(prefix)
    }

    /// Extends the hash to the first `len` bytes (already durable on disk).
    pub fn advance(&mut self, len: u64) -> Result<()> {
        if len <= self.len {
            return Ok(());
        }
        let read = || -> io::Result<Sha256> {
            let mut file = fsutil::open_nofollow(&self.path)?;
            file.seek(SeekFrom::Start(self.len))?;
            let mut hasher = self.hasher.clone();
            let want = len - self.len;
            let copied = io::copy(&mut (&mut file).take(want), &mut HashSink(&mut hasher))?;
            if copied < want {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("it is shorter than {len} bytes")));
            }
            Ok(hasher)
        };
        self.hasher = read().map_err(|e| Error::io("cannot read back", &self.path, e))?;
        self.len = len;
        Ok(())
    }

    /// Lowercase hex SHA-256 of the prefix hashed so far.
    pub fn digest(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// Reopens the file to append after the prefix hashed so far, cutting anything after it (a
    /// torn tail from a crash); the hash carries on from the prefix's, which is not read again.
    pub fn resume(self) -> Result<HashedFile> {
        let file = fsutil::open_private_rw(&self.path, false).map_err(|e| checkpoint::damaged(&self.path, e))?;
        let file = HashedFile { path: self.path, file, buf: Vec::new(), hasher: self.hasher, bytes: self.len };
        file.cut()
    }
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.update(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes at least this long skip the buffer when it is empty (as `BufWriter` does): the CSV
/// writer hands over rows in blocks this big, and copying them once more would only cost time
/// and a buffer's worth of memory per file.
const DIRECT: usize = 64 << 10;

impl Write for HashedFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Drained before it would pass the bound, so the buffer never grows past it.
        if self.buf.len() + data.len() > BUFFER {
            self.drain()?;
        }
        if self.buf.is_empty() && data.len() >= DIRECT {
            self.hasher.update(data);
            self.file.write_all(data)?;
            self.bytes += data.len() as u64;
            return Ok(data.len());
        }
        self.buf.extend_from_slice(data);
        self.bytes += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain()?;
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_writes_keep_their_order_size_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut f = HashedFile::create(&path).unwrap();
        let mut expected = Vec::new();
        for (i, len) in [10, DIRECT, 3, DIRECT * 2 + 1, BUFFER, 1].into_iter().enumerate() {
            let chunk = vec![b'a' + i as u8; len];
            f.write_all(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
            if i == 3 {
                f.commit().unwrap();
            }
        }
        let (bytes, sha) = f.finish().unwrap();
        assert_eq!((bytes, sha), (expected.len() as u64, hex::encode(Sha256::digest(&expected))));
        assert!(std::fs::read(&path).unwrap() == expected);
    }

    #[test]
    fn resume_cuts_the_torn_tail_and_hashes_like_one_run() {
        let dir = tempfile::tempdir().unwrap();
        let whole = dir.path().join("whole");
        let mut w = HashedFile::create(&whole).unwrap();
        w.write_all(b"line one\nline two\n").unwrap();
        let (_, expected) = w.finish().unwrap();

        let torn = dir.path().join("torn");
        let mut t = HashedFile::create(&torn).unwrap();
        t.write_all(b"line one\n").unwrap();
        let durable = t.commit().unwrap();
        t.write_all(b"line tw").unwrap();
        t.commit().unwrap();
        drop(t);

        let prefix = hex::encode(Sha256::digest(b"line one\n"));
        assert!(HashedFile::resume_checked(&torn, durable, Some("00"), None).is_err());
        assert!(HashedFile::resume_checked(&torn, durable, Some(&prefix), Some(2)).is_err());
        let mut r = HashedFile::resume_checked(&torn, durable, Some(&prefix), Some(1)).unwrap();
        r.write_all(b"line two\n").unwrap();
        let (bytes, sha) = r.finish().unwrap();
        assert_eq!((bytes, sha), (18, expected));
        assert_eq!(std::fs::read(&torn).unwrap(), b"line one\nline two\n");
    }
}
