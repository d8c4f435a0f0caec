//! An append-only export file that knows its own size and SHA-256 as it is written.
//!
//! Hashing the bytes on their way to disk means the manifest never needs a second pass over a
//! multi-gigabyte file; resuming re-hashes only the durable prefix it keeps.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fsutil;

const BUFFER: usize = 1 << 20;

/// A file being written, with its running size and hash.
#[derive(Debug)]
pub struct HashedFile {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    hasher: Sha256,
    bytes: u64,
}

impl HashedFile {
    /// Starts `path` empty (0600).
    pub fn create(path: &Path) -> Result<HashedFile> {
        let file = fsutil::open_private(path, true)?;
        Ok(HashedFile { path: path.to_owned(), file, buf: Vec::with_capacity(BUFFER), hasher: Sha256::new(), bytes: 0 })
    }

    /// Reopens `path` keeping its first `keep` bytes (the durable prefix a checkpoint vouches
    /// for) and cutting anything after them: a torn tail from a crash.
    pub fn resume(path: &Path, keep: u64) -> Result<HashedFile> {
        let io_err = |e| Error::io("cannot resume", path, e);
        let mut file = OpenOptions::new().read(true).write(true).open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        if len < keep {
            return Err(Error::verification(format!(
                "{} is shorter ({len} bytes) than its checkpoint ({keep} bytes)",
                path.display()
            ))
            .with_hint("it was changed outside shopunlink; rerun with --fresh"));
        }
        file.set_len(keep).map_err(io_err)?;
        let mut hasher = Sha256::new();
        let mut reader = (&file).take(keep);
        let mut chunk = vec![0u8; BUFFER];
        loop {
            let n = reader.read(&mut chunk).map_err(io_err)?;
            if n == 0 {
                break;
            }
            hasher.update(&chunk[..n]);
        }
        file.seek(SeekFrom::Start(keep)).map_err(io_err)?;
        Ok(HashedFile { path: path.to_owned(), file, buf: Vec::with_capacity(BUFFER), hasher, bytes: keep })
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

impl Write for HashedFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.bytes += data.len() as u64;
        if self.buf.len() >= BUFFER {
            self.drain()?;
        }
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

        let mut r = HashedFile::resume(&torn, durable).unwrap();
        r.write_all(b"line two\n").unwrap();
        let (bytes, sha) = r.finish().unwrap();
        assert_eq!((bytes, sha), (18, expected));
        assert_eq!(std::fs::read(&torn).unwrap(), b"line one\nline two\n");
    }
}
