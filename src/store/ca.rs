//! The site CA and its CRL on disk: `sites/<id>/ca/` (certificate, key
//! 0600, metadata) and `sites/<id>/crl.pem`, `crl.toml`, `crl.stale`.

use super::*;

/// A stored site CA.
pub struct StoredCa {
    pub meta: CaMeta,
    pub cert_pem: String,
    pub key_pem: Zeroizing<String>,
    pub dir: PathBuf,
}

pub(super) const CA_CERT_FILE: &str = "ca.pem";
pub(super) const CA_KEY_FILE: &str = "ca.key.pem";
pub(super) const CA_META_FILE: &str = "ca.toml";
pub(super) const CRL_FILE: &str = "crl.pem";
pub(super) const CRL_META_FILE: &str = "crl.toml";
pub(super) const CRL_STALE_FILE: &str = "crl.stale";

/// The identity of a site CA's files at one moment ([`Store::ca_stamp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaStamp([FileStamp; 3]);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Store {
    /// Path of a site CA's private key file.
    pub fn ca_key_path(&self, site_id: u64) -> PathBuf {
        self.site_dir(site_id).join("ca").join(CA_KEY_FILE)
    }

    /// A site CA's key file as stored (encrypted or not), size-limited;
    /// `None` when the CA does not exist yet.
    pub fn ca_key_pem(&self, site_id: u64) -> Result<Option<Zeroizing<String>>, StoreError> {
        let path = self.ca_key_path(site_id);
        match read_text(&path) {
            Ok(s) => Ok(Some(Zeroizing::new(s))),
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Replaces a site CA's private key file atomically (a temporary 0600
    /// file renamed over it), e.g. to encrypt it at rest.
    pub fn replace_ca_key(
        &self,
        _lock: &WriteLock,
        site_id: u64,
        key_pem: &str,
    ) -> Result<(), StoreError> {
        let p = self.ca_key_path(site_id);
        if !p.exists() {
            return Err(StoreError::Corrupt {
                path: p,
                detail: "the site CA has no key file".into(),
            });
        }
        replace(&p, key_pem.as_bytes(), FILE_MODE_PRIVATE).map_err(io_err("write", &p))
    }

    // ---- site CA ----------------------------------------------------------

    /// The site CA, if it was created.
    pub fn load_ca(&self, site_id: u64) -> Result<Option<StoredCa>, StoreError> {
        let dir = self.site_dir(site_id).join("ca");
        if !dir.exists() {
            return Ok(None);
        }
        let meta: CaMeta = read_toml(&dir.join(CA_META_FILE))?;
        let cert_pem = read_text(&dir.join(CA_CERT_FILE))?;
        let key_pem = Zeroizing::new(read_text(&dir.join(CA_KEY_FILE))?);
        Ok(Some(StoredCa {
            meta,
            cert_pem,
            key_pem,
            dir,
        }))
    }

    /// What identifies the stored site CA's three files as they are now
    /// (device, inode, size, modification and change times of each), so a
    /// reader can keep the parsed CA while the files stay the same. A file
    /// replaced by rename (every store write) gets a new inode; one edited
    /// in place a new size or new times. `None` when the CA or one of its
    /// files is missing.
    pub fn ca_stamp(&self, site_id: u64) -> Result<Option<CaStamp>, StoreError> {
        use std::os::unix::fs::MetadataExt;
        let dir = self.site_dir(site_id).join("ca");
        let mut files = [FileStamp::default(); 3];
        for (slot, name) in files
            .iter_mut()
            .zip([CA_META_FILE, CA_CERT_FILE, CA_KEY_FILE])
        {
            let path = dir.join(name);
            let m = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_err("stat", &path)(e)),
            };
            *slot = FileStamp {
                dev: m.dev(),
                ino: m.ino(),
                size: m.size(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            };
        }
        Ok(Some(CaStamp(files)))
    }

    /// The CA certificate PEM only (no key read).
    pub fn ca_cert_pem(&self, site_id: u64) -> Result<Option<String>, StoreError> {
        let path = self.site_dir(site_id).join("ca").join(CA_CERT_FILE);
        match read_text(&path) {
            Ok(s) => Ok(Some(s)),
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The CA metadata only.
    pub fn ca_meta(&self, site_id: u64) -> Result<Option<CaMeta>, StoreError> {
        let path = self.site_dir(site_id).join("ca").join(CA_META_FILE);
        if !path.exists() {
            return Ok(None);
        }
        read_toml(&path).map(Some)
    }

    /// Stores a new site CA. Never replaces an existing one.
    pub fn create_ca(
        &self,
        lock: &WriteLock,
        meta: &CaMeta,
        cert_pem: &str,
        key_pem: &str,
    ) -> Result<PathBuf, StoreError> {
        let site = self.site_dir(meta.site_id);
        let dest = site.join("ca");
        if dest.exists() {
            return Err(StoreError::Exists {
                what: "a site CA",
                path: dest,
            });
        }
        let meta_bytes = toml_bytes(meta)?;
        let files = [
            (CA_KEY_FILE, key_pem.as_bytes(), FILE_MODE_PRIVATE),
            (CA_CERT_FILE, cert_pem.as_bytes(), 0o644),
            (CA_META_FILE, meta_bytes.as_slice(), FILE_MODE_PRIVATE),
        ];
        self.publish_dir(lock, &format!("ca-{}", meta.site_id), &files, &site, &dest)?;
        Ok(dest)
    }

    /// Stages `files` in a fresh directory under `tmp/`, then renames it to
    /// `dest` (inside `parent`), fsyncing files and both directories.
    fn publish_dir(
        &self,
        _lock: &WriteLock,
        stage_name: &str,
        files: &[(&str, &[u8], u32)],
        parent: &Path,
        dest: &Path,
    ) -> Result<(), StoreError> {
        let fresh = !parent.is_dir();
        create_private_dir_all(parent).map_err(io_err("create directory", parent))?;
        // Made for this; still empty unless the rename got through.
        let undo_parent = || {
            if fresh {
                let _ = fs::remove_dir(parent);
            }
        };
        let stage = self.root.join("tmp").join(stage_name);
        fsutil::create_private_dir(&stage)
            .inspect_err(|_| undo_parent())
            .map_err(io_err("create directory", &stage))?;
        let result = (|| {
            for (name, bytes, mode) in files {
                let p = stage.join(name);
                write_new(&p, bytes, *mode, true).map_err(io_err("write", &p))?;
            }
            fsutil::sync_dir(&stage).map_err(io_err("sync", &stage))?;
            fs::rename(&stage, dest).map_err(io_err("publish", dest))?;
            fsutil::sync_dir(parent).map_err(io_err("sync", parent))
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&stage);
            undo_parent();
        }
        result
    }

    // ---- CRL --------------------------------------------------------------

    /// The current CRL of a site, with its state.
    pub fn crl(&self, site_id: u64) -> Result<Option<(String, CrlMeta)>, StoreError> {
        let dir = self.site_dir(site_id);
        let meta_path = dir.join(CRL_META_FILE);
        if !meta_path.exists() {
            return Ok(None);
        }
        let meta: CrlMeta = read_toml(&meta_path)?;
        let pem = read_text(&dir.join(CRL_FILE))?;
        Ok(Some((pem, meta)))
    }

    /// Whether the site has a CRL state file (what [`Self::crl`] needs to
    /// answer `Some`), without reading it.
    pub fn has_crl(&self, site_id: u64) -> Result<bool, StoreError> {
        let path = self.site_dir(site_id).join(CRL_META_FILE);
        match fs::symlink_metadata(&path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("stat", &path)(e)),
        }
    }

    /// The site's CRL file as it is, even without its state file.
    pub fn crl_pem(&self, site_id: u64) -> Result<Option<String>, StoreError> {
        let p = self.site_dir(site_id).join(CRL_FILE);
        match read_text(&p) {
            Ok(t) => Ok(Some(t)),
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Replaces a site's CRL. The state (with the new number) goes first,
    /// then the PEM: after a crash between the two the number has already
    /// moved on, so CRL numbers never repeat.
    pub fn write_crl(
        &self,
        _lock: &WriteLock,
        site_id: u64,
        pem: &str,
        meta: &CrlMeta,
    ) -> Result<PathBuf, StoreError> {
        let dir = self.site_dir(site_id);
        create_private_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        let m = dir.join(CRL_META_FILE);
        replace(&m, &toml_bytes(meta)?, FILE_MODE_PRIVATE).map_err(io_err("write", &m))?;
        let p = dir.join(CRL_FILE);
        replace(&p, pem.as_bytes(), 0o644).map_err(io_err("write", &p))?;
        Ok(p)
    }

    /// Marks a site's CRL as about to change. Until [`Self::clear_crl_stale`]
    /// the CRL may disagree with the statuses; the next writer regenerates it.
    pub fn mark_crl_stale(&self, lock: &WriteLock, site_id: u64) -> Result<(), StoreError> {
        let dir = self.site_dir(site_id);
        create_private_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        let p = dir.join(CRL_STALE_FILE);
        lock.sync_dirty()
            .map_err(io_err("sync", &self.root.join(".lock")))?;
        super::lock_sweep(&self.sweep).marked.insert(site_id);
        replace(&p, b"", FILE_MODE_PRIVATE).map_err(io_err("write", &p))
    }

    pub fn clear_crl_stale(&self, _lock: &WriteLock, site_id: u64) -> Result<(), StoreError> {
        let p = self.site_dir(site_id).join(CRL_STALE_FILE);
        let cleared = match fs::remove_file(&p) {
            Ok(()) => fsutil::sync_dir(&self.site_dir(site_id)).map_err(io_err("sync", &p)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove", &p)(e)),
        };
        if cleared.is_ok() {
            super::lock_sweep(&self.sweep).marked.remove(&site_id);
        }
        cleared
    }

    /// Sites whose CRL was marked stale by a writer that did not finish:
    /// those a sweep found when the lock was taken after a crashed writer
    /// (see `Sweep`), and those this process marked, while their mark is
    /// there.
    pub fn sites_with_stale_crl(&self) -> Result<Vec<u64>, StoreError> {
        let marked: Vec<u64> = super::lock_sweep(&self.sweep)
            .marked
            .iter()
            .copied()
            .collect();
        let stale = self.stale_marks(&marked);
        // A mark cleared meanwhile (by another process) is forgotten.
        super::lock_sweep(&self.sweep)
            .marked
            .retain(|s| stale.contains(s));
        Ok(stale)
    }

    /// Which of `sites` have a stale-CRL mark.
    pub(super) fn stale_marks(&self, sites: &[u64]) -> Vec<u64> {
        sites
            .iter()
            .copied()
            .filter(|&s| self.site_dir(s).join(CRL_STALE_FILE).exists())
            .collect()
    }

    /// Path of a site's CRL file (it may not exist yet).
    pub fn crl_path(&self, site_id: u64) -> PathBuf {
        self.site_dir(site_id).join(CRL_FILE)
    }
}
