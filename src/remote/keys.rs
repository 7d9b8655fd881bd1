//! The local key folder of a remote with `keep_private_keys = true`:
//! `<store>/remotes/<name>/keys/<Id>.key`, the folders 0700 and each key
//! 0600 from the moment it exists (written once, synced, never replaced),
//! so the one copy ESA hands out in the Create response stays usable for
//! key and PKCS#12 exports. A key is removed when its certificate is
//! deleted through this desk.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::base::fs::{FILE_MODE_PRIVATE, create_private_dir_all, read_limited, write_new};
use crate::error::{ErrorCode, EsaError, EsaResult};

/// Largest key file read (an RSA 4096 PKCS#8 PEM is ~3.3 KiB).
const MAX_KEY_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone)]
pub struct KeyFolder {
    dir: PathBuf,
}

/// Whether `id` can name a file: what ESA's Ids look like (32 hex digits
/// in the docs), and nothing that could leave the folder.
fn usable_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

impl KeyFolder {
    /// The folder of remote `name` under the store's folder `store`.
    pub fn new(store: &Path, name: &str) -> KeyFolder {
        KeyFolder {
            dir: store.join("remotes").join(name).join("keys"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes the folder (0700), before a Create is sent: a folder that
    /// cannot be made must stop the issue, not lose its key afterwards.
    pub fn prepare(&self) -> EsaResult<()> {
        create_private_dir_all(&self.dir).map_err(|e| {
            EsaError::new(
                ErrorCode::InternalException,
                format!(
                    "cannot make the key folder {}: {e}; nothing was sent",
                    self.dir.display()
                ),
            )
        })
    }

    /// Where certificate `id`'s key is kept (whether or not it exists).
    pub fn path(&self, id: &str) -> Option<PathBuf> {
        usable_id(id).then(|| self.dir.join(format!("{id}.key")))
    }

    /// Keeps `pem` as the key of `id` (0600, synced); an existing file is
    /// never replaced.
    pub fn save(&self, id: &str, pem: &str) -> io::Result<PathBuf> {
        let path = self.path(id).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the certificate Id cannot name a file",
            )
        })?;
        create_private_dir_all(&self.dir)?;
        write_new(&path, pem.as_bytes(), FILE_MODE_PRIVATE, true)?;
        crate::base::fs::sync_dir(&self.dir)?;
        Ok(path)
    }

    /// The kept key of `id`, if there is one.
    pub fn read(&self, id: &str) -> EsaResult<Option<Zeroizing<String>>> {
        let Some(path) = self.path(id) else {
            return Ok(None);
        };
        match read_limited(&path, MAX_KEY_BYTES) {
            Ok(text) => Ok(Some(Zeroizing::new(text))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EsaError::internal(format!(
                "cannot read the kept key {}: {e}",
                path.display()
            ))),
        }
    }

    /// Removes the kept key of `id`, if any.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        let Some(path) = self.path(id) else {
            return Ok(());
        };
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The Ids with a kept key (one directory read, for a listing).
    pub fn ids(&self) -> HashSet<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return HashSet::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".key"))
                    .filter(|id| usable_id(id))
                    .map(str::to_owned)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_are_private_written_once_and_found_by_id() {
        let d = tempfile::tempdir().unwrap();
        let k = KeyFolder::new(d.path(), "team");
        assert_eq!(k.dir(), d.path().join("remotes/team/keys"));
        assert_eq!(k.read("abc").unwrap(), None);
        let p = k.save("abc", "-----BEGIN PRIVATE KEY-----\n").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(k.dir()), 0o700);
        assert_eq!(mode(&d.path().join("remotes")), 0o700);
        assert!(k.read("abc").unwrap().unwrap().starts_with("-----BEGIN"));
        assert!(k.save("abc", "other").is_err(), "never replaced");
        assert_eq!(k.ids(), HashSet::from(["abc".to_owned()]));
        for bad in ["", "../x", "a/b", "a.b", &"f".repeat(129)] {
            assert!(k.path(bad).is_none(), "{bad}");
            assert!(k.save(bad, "x").is_err());
        }
        k.remove("abc").unwrap();
        k.remove("abc").unwrap();
        assert_eq!(k.read("abc").unwrap(), None);
    }
}
