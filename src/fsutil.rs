//! Small file-system helpers that every writer uses, so that "atomic" and "private" are decided in
//! one place: a file is written to a temporary sibling, flushed, synced and renamed over the target,
//! so a reader (or a crash) sees either the old file or the new one, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Creates `dir` (and parents) readable only by the user (0700 on Unix).
///
/// Directories it creates are 0700 from the start (parents included), so there is no moment
/// when another user could list them; an existing `dir` is restricted too.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    set_private(dir, true)
}

/// Restricts an existing file (0600) or directory (0700) to the user. A no-op off Unix, where the
/// user's profile directory already carries per-user ACLs.
pub fn set_private(path: &Path, is_dir: bool) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if is_dir { 0o700 } else { 0o600 };
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io("cannot set permissions on", path, e))?;
    }
    #[cfg(not(unix))]
    let _ = (path, is_dir);
    Ok(())
}

/// Opens `path` for writing with 0600 permissions from the first byte (no window where another
/// user could open it). `truncate` chooses between starting over and appending.
///
/// The last component is never followed if it is a symlink (a planted `orders.ndjson -> ~/.bashrc`
/// would otherwise be written through), and it must be a regular file. A file that already existed
/// with wider permissions is tightened to 0600, with a note.
pub fn open_private(path: &Path, truncate: bool) -> Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true);
    if truncate {
        options.truncate(true);
    }
    open_checked(path, &mut options, "cannot open for writing")
}

/// Opens `path` for reading and writing (resuming a file a checkpoint vouches for, a lock file),
/// under the same rules as [`open_private`]: no symlink, a regular file, 0600.
pub fn open_private_rw(path: &Path, create: bool) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(create);
    open_checked(path, &mut options, "cannot open")
}

/// Opens `path` for reading without following a symlink in its last component: for state files
/// and export files, which only shopunlink writes and which must never lead elsewhere.
pub fn open_nofollow(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    let file = open_raw(path, &mut options)?;
    ensure_regular(path, &file)?;
    Ok(file)
}

/// Opens with `O_NOFOLLOW` where the OS has it, else after a `symlink_metadata` check (a small
/// race remains there, which is all those platforms allow without native calls).
fn open_raw(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
        options.open(path).map_err(|e| if e.raw_os_error() == Some(libc::ELOOP) { symlink_error(path) } else { e })
    }
    #[cfg(not(unix))]
    {
        if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(symlink_error(path));
        }
        options.open(path)
    }
}

fn symlink_error(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{} is a symbolic link; refusing to follow it", path.display()))
}

/// A FIFO or device in place of a data file would hang or mislead the reader.
fn ensure_regular(path: &Path, file: &File) -> io::Result<()> {
    if file.metadata()?.is_file() {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a regular file", path.display())))
    }
}

fn open_checked(path: &Path, options: &mut OpenOptions, what: &str) -> Result<File> {
    let file = open_raw(path, options).map_err(|e| Error::io(what, path, e))?;
    ensure_regular(path, &file).map_err(|e| Error::io(what, path, e))?;
    tighten(path, &file)?;
    Ok(file)
}

/// Restricts an already open file to 0600 if it was wider (an `audit.log` created 0644 by an
/// older version or by hand): the mode given at creation does not apply to an existing file.
fn tighten(path: &Path, file: &File) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(|e| Error::io("cannot inspect", path, e))?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::info!("{} was readable by others ({mode:o}); restricted it to 0600", path.display());
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io("cannot set permissions on", path, e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file);
    Ok(())
}

/// Writes `bytes` to `path` atomically, 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_in_batch(path, bytes)?;
    sync_dir(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    Ok(())
}

/// [`write_atomic`] without making the rename durable: for many small files written together
/// (pictures), whose caller syncs the directory once before anything relies on them.
pub fn write_atomic_in_batch(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let write = || -> io::Result<()> {
        let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|e| Error::io("cannot write", path, e))
}

/// Makes a rename inside `dir` durable. Best effort: not every platform can sync a directory.
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Reads a file to a string, `None` if it does not exist (follows symlinks: for the user's own
/// config, which dotfile managers often link).
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// Reads a state or export file's bytes, `None` if it does not exist; never through a symlink.
pub fn read_state_bytes(path: &Path) -> Result<Option<Vec<u8>>> {
    let read = || -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        open_nofollow(path)?.read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    match read() {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// [`read_state_bytes`] as text; invalid UTF-8 is an error naming the file.
pub fn read_state(path: &Path) -> Result<Option<String>> {
    let Some(bytes) = read_state_bytes(path)? else { return Ok(None) };
    String::from_utf8(bytes).map(Some).map_err(|e| {
        Error::internal(format!("{} is not text (invalid UTF-8)", path.display()))
            .with_cause(e)
            .with_detail("path", path.display().to_string())
    })
}

/// Appends one line to `path` (created 0600, never through a symlink), synced: used for the audit
/// log, where every line must survive a crash that follows it.
pub fn append_line(path: &Path, line: &str) -> Result<()> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    let mut f = open_checked(path, &mut options, "cannot append to")?;
    f.write_all(format!("{line}\n").as_bytes())
        .and_then(|()| f.sync_data())
        .map_err(|e| Error::io("cannot append to", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left behind");
    }

    #[cfg(unix)]
    #[test]
    fn writes_never_follow_a_symlink_and_tighten_wide_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, b"precious").unwrap();
        let link = dir.path().join("audit.log");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert!(append_line(&link, "x").is_err());
        assert!(open_private(&link, true).is_err());
        assert!(read_state(&link).is_err());
        assert_eq!(fs::read(&outside).unwrap(), b"precious");

        let wide = dir.path().join("wide.log");
        fs::write(&wide, b"").unwrap();
        fs::set_permissions(&wide, fs::Permissions::from_mode(0o644)).unwrap();
        append_line(&wide, "x").unwrap();
        assert_eq!(fs::metadata(&wide).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
