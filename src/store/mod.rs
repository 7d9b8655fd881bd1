//! The on-disk store: plain PEM and TOML files an operator can use without
//! this tool, published atomically, guarded by a lock file.
//!
//! ```text
//! <root>/                         0700
//!   .lock                         flock: exclusive for writers
//!   tmp/                          staging; emptied by the next writer
//!   sites/<site-id>/
//!     ca/ca.pem ca.key.pem ca.toml   the site CA (key 0600)
//!     crl.pem crl.toml               the current CRL and its number
//!     crl.stale                      present while a status change is in flight
//!     certs/<id>/cert.pem key.pem meta.toml
//!     deleted/<id>/cert.pem meta.toml   deleted entries (key destroyed)
//! ```
//!
//! A certificate is written in full under `tmp/` (each file fsynced), then
//! its directory is renamed into `certs/` and the parent fsynced: a crash
//! leaves the whole entry or nothing. Metadata updates replace `meta.toml`
//! by rename. Writers hold the exclusive lock, passed around as a
//! [`WriteLock`] token so a write cannot forget it.

mod fsutil;
mod meta;

pub use fsutil::{
    DIR_MODE, FILE_MODE_PRIVATE, create_private_dir_all, read_limited, replace, write_new,
};
pub use meta::{CaMeta, CertMeta, CrlMeta, Source, StoredStatus};

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// Biggest PEM or TOML file the store reads (real ones are a few KiB).
const MAX_FILE: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("{what} already exists at {}", path.display())]
    Exists { what: &'static str, path: PathBuf },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// A certificate entry as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub meta: CertMeta,
    pub dir: PathBuf,
}

impl Entry {
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CERT_FILE)
    }
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }
}

/// An entry that could not be read; listing goes on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    pub path: PathBuf,
    pub reason: String,
}

/// The result of a listing: the readable entries and the damaged ones.
#[derive(Debug, Default, Clone)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub damaged: Vec<Damaged>,
}

/// A stored site CA.
pub struct StoredCa {
    pub meta: CaMeta,
    pub cert_pem: String,
    pub key_pem: Zeroizing<String>,
    pub dir: PathBuf,
}

const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";
const META_FILE: &str = "meta.toml";
const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca.key.pem";
const CA_META_FILE: &str = "ca.toml";
const CRL_FILE: &str = "crl.pem";
const CRL_META_FILE: &str = "crl.toml";
const CRL_STALE_FILE: &str = "crl.stale";

/// Proof that the exclusive store lock is held. Released on drop.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

/// A shared lock: readers that need a consistent view across files.
#[derive(Debug)]
pub struct ReadLock {
    _file: File,
}

/// A handle on a store directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating if needed, mode 0700) the store at `root`.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        for d in [root.to_path_buf(), root.join("sites"), root.join("tmp")] {
            create_private_dir_all(&d).map_err(io_err("create directory", &d))?;
        }
        Ok(Store {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock_file(&self) -> Result<File, StoreError> {
        let path = self.root.join(".lock");
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE_PRIVATE)
            .open(&path)
            .map_err(io_err("open lock file", &path))
    }

    /// Takes the exclusive lock (waiting for other writers), then clears
    /// staging debris left by a writer that crashed.
    pub fn lock(&self) -> Result<WriteLock, StoreError> {
        let file = self.lock_file()?;
        file.lock()
            .map_err(io_err("lock", &self.root.join(".lock")))?;
        let lock = WriteLock { _file: file };
        self.clear_staging(&lock)?;
        Ok(lock)
    }

    /// Takes the shared lock.
    pub fn read_lock(&self) -> Result<ReadLock, StoreError> {
        let file = self.lock_file()?;
        file.lock_shared()
            .map_err(io_err("lock", &self.root.join(".lock")))?;
        Ok(ReadLock { _file: file })
    }

    /// Under the exclusive lock nobody else is staging, so anything in
    /// `tmp/` is an unfinished write of a crashed process.
    fn clear_staging(&self, _lock: &WriteLock) -> Result<(), StoreError> {
        let tmp = self.root.join("tmp");
        let rd = match fs::read_dir(&tmp) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return create_private_dir_all(&tmp).map_err(io_err("create directory", &tmp));
            }
            Err(e) => return Err(io_err("read", &tmp)(e)),
        };
        for e in rd.flatten() {
            let p = e.path();
            let r = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            r.map_err(io_err("remove staging", &p))?;
        }
        Ok(())
    }

    fn site_dir(&self, site_id: u64) -> PathBuf {
        self.root.join("sites").join(site_id.to_string())
    }

    fn certs_dir(&self, site_id: u64) -> PathBuf {
        self.site_dir(site_id).join("certs")
    }

    fn deleted_dir(&self, site_id: u64) -> PathBuf {
        self.site_dir(site_id).join("deleted")
    }

    /// The site ids that have a folder in the store.
    pub fn site_ids(&self) -> Result<Vec<u64>, StoreError> {
        let dir = self.root.join("sites");
        let mut ids: Vec<u64> = fs::read_dir(&dir)
            .map_err(io_err("read", &dir))?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// A cheap fingerprint of the store's state, for readers that poll: the
    /// modification times of the folders every write touches (`sites/`, each
    /// `sites/<id>/` for CA, CRL and status changes, each `sites/<id>/certs/`
    /// for inserts and deletes). It stats a few folders and reads no file;
    /// equal stamps mean "nothing was published since".
    pub fn change_stamp(&self) -> Result<u64, StoreError> {
        use std::hash::{Hash, Hasher};
        fn stamp(h: &mut impl Hasher, path: &Path) -> Result<(), StoreError> {
            match fs::metadata(path).and_then(|m| m.modified()) {
                Ok(t) => t.hash(h),
                Err(e) if e.kind() == io::ErrorKind::NotFound => 0u8.hash(h),
                Err(e) => return Err(io_err("stat", path)(e)),
            }
            Ok(())
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        stamp(&mut h, &self.root.join("sites"))?;
        for site in self.site_ids()? {
            site.hash(&mut h);
            stamp(&mut h, &self.site_dir(site))?;
            stamp(&mut h, &self.certs_dir(site))?;
        }
        Ok(h.finish())
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
        create_private_dir_all(parent).map_err(io_err("create directory", parent))?;
        let stage = self.root.join("tmp").join(stage_name);
        fsutil::create_private_dir(&stage).map_err(io_err("create directory", &stage))?;
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
        }
        result
    }

    // ---- certificates -----------------------------------------------------

    /// Publishes a new certificate entry atomically.
    pub fn insert(
        &self,
        lock: &WriteLock,
        meta: &CertMeta,
        cert_pem: &str,
        key_pem: Option<&str>,
    ) -> Result<Entry, StoreError> {
        check_id(&meta.id)?;
        let parent = self.certs_dir(meta.site_id);
        let dest = parent.join(&meta.id);
        if dest.exists() {
            return Err(StoreError::Exists {
                what: "a certificate with this id",
                path: dest,
            });
        }
        let meta_bytes = toml_bytes(meta)?;
        let mut files: Vec<(&str, &[u8], u32)> = vec![(CERT_FILE, cert_pem.as_bytes(), 0o644)];
        if let Some(k) = key_pem {
            files.push((KEY_FILE, k.as_bytes(), FILE_MODE_PRIVATE));
        }
        // meta.toml last: a staged directory is only renamed once complete,
        // but keeping the record last makes partial staging obvious too.
        files.push((META_FILE, &meta_bytes, FILE_MODE_PRIVATE));
        self.publish_dir(lock, &meta.id, &files, &parent, &dest)?;
        Ok(Entry {
            meta: meta.clone(),
            dir: dest,
        })
    }

    /// Finds a live (not deleted) certificate by id.
    pub fn get(&self, id: &str) -> Result<Option<Entry>, StoreError> {
        check_id(id)?;
        for site in self.site_ids()? {
            let dir = self.certs_dir(site).join(id);
            if dir.is_dir() {
                let meta: CertMeta = read_toml(&dir.join(META_FILE))?;
                return Ok(Some(Entry { meta, dir }));
            }
        }
        Ok(None)
    }

    /// Replaces an entry's `meta.toml`.
    pub fn update(&self, _lock: &WriteLock, entry: &Entry) -> Result<(), StoreError> {
        let p = entry.dir.join(META_FILE);
        replace(&p, &toml_bytes(&entry.meta)?, FILE_MODE_PRIVATE).map_err(io_err("write", &p))
    }

    /// Moves an entry to `deleted/` (so its serial stays on the CRL until it
    /// expires) and destroys its private key.
    pub fn delete(&self, lock: &WriteLock, entry: &Entry) -> Result<(), StoreError> {
        let _ = lock;
        let parent = self.deleted_dir(entry.meta.site_id);
        create_private_dir_all(&parent).map_err(io_err("create directory", &parent))?;
        let dest = parent.join(&entry.meta.id);
        fs::rename(&entry.dir, &dest).map_err(io_err("delete", &entry.dir))?;
        let certs = self.certs_dir(entry.meta.site_id);
        fsutil::sync_dir(&certs).map_err(io_err("sync", &certs))?;
        fsutil::sync_dir(&parent).map_err(io_err("sync", &parent))?;
        let key = dest.join(KEY_FILE);
        match fs::remove_file(&key) {
            Ok(()) => fsutil::sync_dir(&dest).map_err(io_err("sync", &dest)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove key", &key)(e)),
        }
    }

    /// Reads an entry's certificate PEM.
    pub fn read_cert(&self, entry: &Entry) -> Result<String, StoreError> {
        read_text(&entry.cert_path())
    }

    /// Reads an entry's private key PEM, if it was kept.
    pub fn read_key(&self, entry: &Entry) -> Result<Option<Zeroizing<String>>, StoreError> {
        if !entry.meta.key_stored {
            return Ok(None);
        }
        read_text(&entry.key_path()).map(|k| Some(Zeroizing::new(k)))
    }

    /// All live entries of one site (or of every site).
    pub fn list(&self, site: Option<u64>) -> Result<Listing, StoreError> {
        let sites = match site {
            Some(s) => vec![s],
            None => self.site_ids()?,
        };
        let mut listing = Listing::default();
        for s in sites {
            scan_entries(&self.certs_dir(s), &mut listing)?;
        }
        Ok(listing)
    }

    /// Deleted entries of a site (for the CRL).
    pub fn list_deleted(&self, site: u64) -> Result<Listing, StoreError> {
        let mut listing = Listing::default();
        scan_entries(&self.deleted_dir(site), &mut listing)?;
        Ok(listing)
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
    pub fn mark_crl_stale(&self, _lock: &WriteLock, site_id: u64) -> Result<(), StoreError> {
        let dir = self.site_dir(site_id);
        create_private_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        let p = dir.join(CRL_STALE_FILE);
        replace(&p, b"", FILE_MODE_PRIVATE).map_err(io_err("write", &p))
    }

    pub fn clear_crl_stale(&self, _lock: &WriteLock, site_id: u64) -> Result<(), StoreError> {
        let p = self.site_dir(site_id).join(CRL_STALE_FILE);
        match fs::remove_file(&p) {
            Ok(()) => fsutil::sync_dir(&self.site_dir(site_id)).map_err(io_err("sync", &p)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove", &p)(e)),
        }
    }

    /// Sites whose CRL was marked stale by a writer that did not finish.
    pub fn sites_with_stale_crl(&self) -> Result<Vec<u64>, StoreError> {
        Ok(self
            .site_ids()?
            .into_iter()
            .filter(|&s| self.site_dir(s).join(CRL_STALE_FILE).exists())
            .collect())
    }

    /// Path of a site's CRL file (it may not exist yet).
    pub fn crl_path(&self, site_id: u64) -> PathBuf {
        self.site_dir(site_id).join(CRL_FILE)
    }
}

fn scan_entries(dir: &Path, listing: &mut Listing) -> Result<(), StoreError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read", dir)(e)),
    };
    for e in rd {
        let e = e.map_err(io_err("read", dir))?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        if check_id(name).is_err() {
            listing.damaged.push(Damaged {
                path,
                reason: "not a certificate id".into(),
            });
            continue;
        }
        match read_toml::<CertMeta>(&path.join(META_FILE)) {
            Ok(meta) if meta.id == name => listing.entries.push(Entry { meta, dir: path }),
            Ok(meta) => listing.damaged.push(Damaged {
                path,
                reason: format!("meta.toml names id {}", crate::text::sanitize(&meta.id)),
            }),
            Err(err) => listing.damaged.push(Damaged {
                path,
                reason: err.to_string(),
            }),
        }
    }
    Ok(())
}

/// A certificate id is 32 lower-case hex digits; anything else is refused
/// before it can become part of a path.
pub fn check_id(id: &str) -> Result<(), StoreError> {
    if id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            path: PathBuf::from(crate::text::clip(&crate::text::sanitize(id), 40)),
            detail: "not a certificate id (32 lower-case hex digits)".into(),
        })
    }
}

fn read_text(path: &Path) -> Result<String, StoreError> {
    read_limited(path, MAX_FILE).map_err(io_err("read", path))
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let text = read_text(path)?;
    toml::from_str(&text).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: e.message().to_owned(),
    })
}

fn toml_bytes<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    toml::to_string(value)
        .map(String::into_bytes)
        .map_err(|e| StoreError::Corrupt {
            path: PathBuf::from("<memory>"),
            detail: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str, site: u64) -> CertMeta {
        CertMeta {
            id: id.into(),
            site_id: site,
            name: "n".into(),
            common_name: "cn".into(),
            serial: "01".into(),
            fingerprint_sha256: "00".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            validity_days: 365,
            key_type: "ECC_256".into(),
            signature_algorithm: "ECDSA-SHA256".into(),
            issuer: "CA".into(),
            ca_id: "c".repeat(32),
            source: Source::Generated,
            key_stored: true,
            status: StoredStatus::Active,
            san: vec![],
            created: "2026-01-01T00:00:00Z".into(),
            updated: "2026-01-01T00:00:00Z".into(),
            revoked_at: None,
            revoke_reason: None,
            renewed_from: None,
            renewed_by: None,
            csr_sha256: None,
        }
    }

    #[test]
    fn insert_get_update_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lock = store.lock().unwrap();
        let id = "a".repeat(32);
        let e = store
            .insert(&lock, &meta(&id, 7), "CERT", Some("KEY"))
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&e.key_path()), 0o600);
        assert_eq!(mode(&e.dir), 0o700);
        let mut got = store.get(&id).unwrap().unwrap();
        assert_eq!(got, e);
        assert_eq!(store.read_key(&got).unwrap().unwrap().as_str(), "KEY");
        got.meta.status = StoredStatus::Revoked;
        store.update(&lock, &got).unwrap();
        assert_eq!(
            store.get(&id).unwrap().unwrap().meta.status,
            StoredStatus::Revoked
        );
        assert_eq!(store.list(Some(7)).unwrap().entries.len(), 1);
        store.delete(&lock, &got).unwrap();
        assert!(store.get(&id).unwrap().is_none());
        assert!(store.list(Some(7)).unwrap().entries.is_empty());
        let deleted = store.list_deleted(7).unwrap();
        assert_eq!(deleted.entries.len(), 1);
        assert!(!deleted.entries[0].key_path().exists());
        assert!(
            fs::read_dir(dir.path().join("tmp"))
                .unwrap()
                .next()
                .is_none()
        );
    }

    #[test]
    fn ids_that_could_escape_are_refused() {
        for bad in ["../../etc/passwd", "A".repeat(32).as_str(), "", "a/b"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.get("../x").is_err());
    }

    #[test]
    fn damaged_entries_are_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lock = store.lock().unwrap();
        store
            .insert(&lock, &meta(&"b".repeat(32), 1), "C", None)
            .unwrap();
        let broken = dir.path().join("sites/1/certs").join("c".repeat(32));
        fs::create_dir_all(&broken).unwrap();
        fs::write(broken.join("meta.toml"), "garbage = [").unwrap();
        let l = store.list(None).unwrap();
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.damaged.len(), 1);
        assert_eq!(l.damaged[0].path, broken);
    }

    #[test]
    fn staging_debris_is_cleared_by_the_next_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fs::create_dir(dir.path().join("tmp/deadbeef")).unwrap();
        fs::write(dir.path().join("tmp/deadbeef/cert.pem"), "half").unwrap();
        drop(store.lock().unwrap());
        assert!(
            fs::read_dir(dir.path().join("tmp"))
                .unwrap()
                .next()
                .is_none()
        );
    }

    #[test]
    fn a_ca_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lock = store.lock().unwrap();
        let m = CaMeta {
            id: "d".repeat(32),
            site_id: 3,
            common_name: "CA".into(),
            key_type: "ECC_256".into(),
            serial: "01".into(),
            fingerprint_sha256: "00".into(),
            not_before: "x".into(),
            not_after: "y".into(),
            created: "z".into(),
        };
        store.create_ca(&lock, &m, "CERT", "KEY").unwrap();
        assert!(matches!(
            store.create_ca(&lock, &m, "CERT2", "KEY2"),
            Err(StoreError::Exists { .. })
        ));
        assert_eq!(store.load_ca(3).unwrap().unwrap().cert_pem, "CERT");
    }
}
