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
/// flushes it to disk. Fails if the file exists.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32, sync: bool) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    f.write_all(bytes)?;
    if sync {
        f.sync_all()?;
    }
    Ok(())
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

/// `O_NOFOLLOW`: the store's own files are opened only if they are not
/// symbolic links, so a link planted in the store can neither redirect a
/// write (audit log, lock, cache, log) nor pass another file off as a key.
pub const NO_FOLLOW: i32 = libc::O_NOFOLLOW;

/// Opens a store file for reading without following a symbolic link.
pub fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(NO_FOLLOW)
        .open(path)
}

/// Reads a file into a string, refusing anything over `limit` bytes so a
/// damaged or hostile store cannot make us allocate without bound. A
/// symbolic link is refused (`ELOOP`).
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
}
