//! File primitives with the store's guarantees: private modes from the
//! moment of creation (whatever the umask), and durable atomic replacement.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of private files (keys, metadata) and of every store directory.
pub const FILE_MODE_PRIVATE: u32 = 0o600;
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and any missing parents with mode 0700. Existing
/// directories are left as they are (the doctor reports loose modes).
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir_all(parent)?;
    }
    match fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => {
            // The umask may have removed bits we need; it can never have
            // added any, so this only ever narrows to exactly 0700.
            fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates a new private directory (fails if it exists).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(DIR_MODE).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
}

/// Writes a new file with `mode` (never wider, umask-independent) and
/// flushes it to disk. Fails if the file exists. A file that cannot be
/// written whole (a full disk) is removed again: it was ours, and half of
/// it is worth nothing.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32, sync: bool) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    let written = (|| {
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        if crate::base::failpoint("write-enospc") {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
        Ok(())
    })();
    if written.is_err() {
        drop(f);
        let _ = fs::remove_file(path);
    }
    written
}

/// Atomically replaces `path` with `bytes`: write a temporary sibling,
/// fsync it, rename it over `path`, fsync the directory.
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    Staged::create(path, mode)?.commit(bytes)
}

/// A replacement of `path` in two steps: [`Staged::create`] makes the
/// empty temporary sibling (so a missing folder, a folder in the way or a
/// read-only place fail before anything else happens), [`Staged::commit`]
/// fills it and renames it over `path`. Dropped uncommitted, the temporary
/// is removed.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl Staged {
    pub fn create(path: &Path, mode: u32) -> io::Result<Staged> {
        if path.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a directory",
            ));
        }
        let tmp = temp_sibling(path);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        let staged = Staged {
            path: path.to_path_buf(),
            tmp,
            file: Some(file),
        };
        // The umask can only have narrowed the mode; make it exact.
        staged.file.as_ref().map_or(Ok(()), |f| {
            f.set_permissions(fs::Permissions::from_mode(mode))
        })?;
        Ok(staged)
    }

    pub fn commit(mut self, bytes: &[u8]) -> io::Result<()> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("committed twice"))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp, &self.path)?;
        self.tmp = PathBuf::new(); // renamed: nothing for Drop to remove
        // `Path::new("x.pem").parent()` is `Some("")`, which cannot be opened.
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        sync_dir(dir)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// `.<name>.tmp-<pid>-<random>` next to `path`; listing skips dot files.
fn temp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let salt = crate::base::random::random_bytes::<6>()
        .map(|b| crate::text::hex(&b))
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}-{salt}", std::process::id()))
}

/// fsync a directory so a rename or creation in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `O_NOFOLLOW | O_NONBLOCK`, for every open of a store file. No follow:
/// a symbolic link planted in the store can neither redirect a write
/// (audit log, lock, cache, log) nor pass another file off as a key.
/// No block: a FIFO in place of a store file would otherwise hang the open
/// until someone writes to it (a socket fails at once either way). The
/// flag changes nothing for the regular files the store is made of; the
/// opener then refuses anything else ([`ensure_regular`]).
pub const NO_FOLLOW_NO_BLOCK: i32 = libc::O_NOFOLLOW | libc::O_NONBLOCK;

/// What a file type is, in words, for errors and `doctor`.
pub fn describe_type(ft: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_file() {
        "a regular file"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_char_device() {
        "a character device"
    } else {
        "not a regular file"
    }
}

/// Refuses an open file that is not a regular file (a FIFO, a device, a
/// directory): the store reads and appends only regular files.
pub fn ensure_regular(file: &File) -> io::Result<()> {
    let ft = file.metadata()?.file_type();
    if ft.is_file() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {}, not a regular file", describe_type(ft)),
        ))
    }
}

/// Opens a store file for reading: never through a symbolic link, never
/// blocking, and only if it is a regular file.
pub fn open_no_follow(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(NO_FOLLOW_NO_BLOCK)
        .open(path)?;
    ensure_regular(&f)?;
    Ok(f)
}

/// Reads a file into a string, refusing anything over `limit` bytes so a
/// damaged or hostile store cannot make us allocate without bound. A
/// symbolic link is refused (`ELOOP`), and so is anything but a regular
/// file.
pub fn read_limited(path: &Path, limit: u64) -> io::Result<String> {
    use std::io::Read;
    let f = open_no_follow(path)?;
    let mut s = String::new();
    f.take(limit + 1).read_to_string(&mut s)?;
    if s.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("file is larger than {limit} bytes"),
        ));
    }
    Ok(s)
}

/// Reads at most the first `limit` bytes of a file that is not the
/// store's (the config, which may be a link): without blocking on a FIFO
/// and without reading an endless file (`/dev/zero`) to its end.
pub fn read_prefix(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let mut bytes = Vec::new();
    f.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_files_and_dirs_are_private() {
        // The umask case (umask 000) is covered end to end in tests/, where
        // a child process can change its own umask without racing others.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a/b");
        create_private_dir_all(&d).unwrap();
        let f = d.join("k.pem");
        write_new(&f, b"x", FILE_MODE_PRIVATE, true).unwrap();
        replace(&d.join("m.toml"), b"y", FILE_MODE_PRIVATE).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&d), 0o700);
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(&d.join("m.toml")), 0o600);
    }

    #[test]
    fn replace_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        replace(&p, b"1", 0o644).unwrap();
        replace(&p, b"2", 0o644).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"2");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn read_limited_refuses_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        fs::write(&p, vec![b'a'; 100]).unwrap();
        assert!(read_limited(&p, 99).is_err());
        assert_eq!(read_limited(&p, 100).unwrap().len(), 100);
    }

    #[test]
    fn a_fifo_or_socket_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let err = read_limited(&fifo, 10).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let sock = dir.path().join("sock");
        drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
        assert!(read_limited(&sock, 10).is_err());
        assert!(read_prefix(&fifo, 10).unwrap().is_empty());
    }

    #[test]
    fn an_endless_file_is_read_only_to_the_bound() {
        assert_eq!(
            read_prefix(Path::new("/dev/zero"), 1000).unwrap().len(),
            1000
        );
        assert!(read_limited(Path::new("/dev/zero"), 1000).is_err());
    }
}
