//! The on-disk store: plain PEM and TOML files an operator can use without
//! this tool, published atomically, guarded by a lock file.
//!
//! ```text
//! <root>/                          0700
//!   .lock                          flock: exclusive for writers, shared for readers
//!   tmp/                           intents of writers in flight (see `journal`)
//!   index/<site-id>.jsonl          listing cache (see `index`), never trusted blindly
//!   sites/<site-id>/
//!     ca/ca.pem ca.key.pem ca.toml the site CA (key 0600)
//!     crl.pem crl.toml             the current CRL and its number
//!     crl.stale                    present while a status change is in flight
//!     certs/<id>.pem               the certificate
//!     certs/<id>.key.pem           its private key (0600), when kept
//!     certs/<id>.toml              its metadata; the entry exists iff this does
//!     deleted/<id>.pem <id>.toml   deleted entries (key destroyed)
//!     uploads/<id>.pem <id>.toml   uploaded client CAs (see `uploads`)
//!     hostnames.toml               hostname bindings of CAs and certificates
//! ```
//!
//! Why flat files and not a folder per certificate: on ext4 every new
//! folder goes through the directory inode allocator, which dominated bulk
//! issuance (perf: `ext4_mkdir` → `find_inode_bit`), and three files per
//! certificate is what easy-rsa and step operators expect anyway.
//!
//! A certificate's `.pem` and `.key.pem` are written (and fsynced) first,
//! then its `.toml` appears by rename: a crash leaves the whole entry or
//! none (the intent journal removes the leftovers). Metadata updates
//! replace the `.toml` by rename. Writers hold the exclusive lock, passed
//! around as a [`WriteLock`] token so a write cannot forget it.

mod audit;
mod certs;

mod index;
mod inspect;
mod journal;
mod meta;
mod rekey;
mod uploads;

pub use audit::{
    AUDIT_FILE, Actor, AuditLog, AuditMark, AuditRecord, current_actor, current_user,
    record as audit_record, with_actor,
};
pub use inspect::{CaFiles, EntryFiles, Folder, ModeRule, TreeFinding, read as inspect_read};
pub use meta::{CaMeta, CertMeta, CrlMeta, Source, StoredStatus};
pub use rekey::{RekeyJournal, RekeySite, RekeyState, key_digest};
pub use uploads::UploadMeta;

// The file primitives are the ground floor's; the store adds its layout,
// its lock and its journal on top.
use crate::base::fs as fsutil;
use crate::base::fs::{
    FILE_MODE_PRIVATE, create_private_dir_all, read_limited, replace, write_new,
};

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
        // O_NOFOLLOW's ELOOP reads "too many levels of symbolic links".
        source: match source.raw_os_error() {
            Some(libc::ELOOP) => io::Error::new(
                source.kind(),
                "it is a symbolic link, and esa-certs never follows one inside its store",
            ),
            Some(libc::ENOSPC | libc::EDQUOT) => io::Error::new(
                source.kind(),
                format!(
                    "{source}: the store's disk is full (or over quota); free some space and run the command again"
                ),
            ),
            _ => source,
        },
    }
}

/// A certificate entry as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub meta: CertMeta,
    /// The folder holding the entry's files (`certs/` or `deleted/`).
    /// Shared by every entry of the folder (100,000 entries, one path).
    pub folder: std::sync::Arc<Path>,
}

impl Entry {
    pub fn cert_path(&self) -> PathBuf {
        self.folder.join(format!("{}.pem", self.meta.id))
    }
    pub fn key_path(&self) -> PathBuf {
        self.folder.join(format!("{}.key.pem", self.meta.id))
    }
    pub fn meta_path(&self) -> PathBuf {
        self.folder.join(format!("{}.toml", self.meta.id))
    }
}

/// A certificate to publish with [`Store::insert_batch`].
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    pub meta: &'a CertMeta,
    pub cert_pem: &'a str,
    pub key_pem: Option<&'a str>,
}

/// An entry that could not be read; listing goes on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    pub path: PathBuf,
    pub reason: String,
    /// `Some(site)` when the whole site could not be listed (its `certs/`
    /// is not a readable folder): the other sites are listed all the same.
    pub whole_site: Option<u64>,
}

/// The result of a listing: the readable entries and the damaged ones.
#[derive(Debug, Default, Clone)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub damaged: Vec<Damaged>,
    /// Sites whose listing cache is worth rewriting (many misses or many
    /// superseded records); a writer may call [`Store::rebuild_index`].
    pub stale_index: Vec<u64>,
}

/// A stored site CA.
pub struct StoredCa {
    pub meta: CaMeta,
    pub cert_pem: String,
    pub key_pem: Zeroizing<String>,
    pub dir: PathBuf,
}

const CA_CERT_FILE: &str = "ca.pem";
const CA_KEY_FILE: &str = "ca.key.pem";
const CA_META_FILE: &str = "ca.toml";
const CRL_FILE: &str = "crl.pem";
const CRL_META_FILE: &str = "crl.toml";
const CRL_STALE_FILE: &str = "crl.stale";

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

/// Proof that the exclusive store lock is held. Released on drop.
#[derive(Debug)]
pub struct WriteLock {
    _file: File,
}

/// A shared lock: readers that need a consistent view across files. On a
/// store this process cannot lock (read-only, or the lock file is not a
/// regular file) readers go on without it and a warning says so.
#[derive(Debug)]
pub struct ReadLock {
    _file: Option<File>,
}

/// A handle on a store directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    index: index::Index,
    warnings: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl journal::Layout for Store {
    fn certs_dir(&self, site: u64) -> PathBuf {
        self.site_dir(site).join("certs")
    }
    fn deleted_dir(&self, site: u64) -> PathBuf {
        self.site_dir(site).join("deleted")
    }
}

impl Store {
    /// Opens (creating if needed, mode 0700) the store at `root`.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        for d in [root.to_path_buf(), root.join("sites"), root.join("tmp")] {
            create_private_dir_all(&d).map_err(io_err("create directory", &d))?;
        }
        Ok(Store {
            root: root.to_path_buf(),
            index: index::Index::new(root),
            warnings: Default::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn lock_file(&self) -> Result<File, StoreError> {
        let path = self.root.join(".lock");
        let read_only = |e: &io::Error| {
            matches!(
                e.raw_os_error(),
                Some(libc::EROFS | libc::EACCES | libc::EPERM)
            )
        };
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE_PRIVATE)
            .custom_flags(fsutil::NO_FOLLOW_NO_BLOCK)
            .open(&path)
            .and_then(|f| fsutil::ensure_regular(&f).map(|()| f))
            .map_err(|e| {
                if read_only(&e) {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "{e}: the store is read-only for this process; commands that only read \
                             (list, show, doctor, crl --current) work without write access, this one needs it"
                        ),
                    )
                } else {
                    e
                }
            })
            .map_err(io_err("open lock file", &path))
    }

    /// Says something to the user of a front end (the CLI prints these on
    /// stderr); each sentence once per process. The service says its own
    /// warnings here too (a clock behind the CA), so there is one channel.
    pub fn warn(&self, sentence: String) {
        tracing::warn!("{sentence}");
        let mut w = self
            .warnings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !w.contains(&sentence) {
            w.push(sentence);
        }
    }

    /// The warnings said since the last call (see [`Self::warn`]).
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .warnings
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Takes the exclusive lock (waiting for other writers), then finishes
    /// or undoes what a crashed writer left (see `journal`).
    pub fn lock(&self) -> Result<WriteLock, StoreError> {
        let file = self.lock_file()?;
        file.lock()
            .map_err(io_err("lock", &self.root.join(".lock")))?;
        self.after_lock(WriteLock { _file: file })
    }

    /// Takes the exclusive lock only if nobody holds the store lock.
    pub fn try_lock(&self) -> Result<Option<WriteLock>, StoreError> {
        let file = self.lock_file()?;
        match file.try_lock() {
            Ok(()) => self.after_lock(WriteLock { _file: file }).map(Some),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(io_err("lock", &self.root.join(".lock"))(e)),
        }
    }

    fn after_lock(&self, lock: WriteLock) -> Result<WriteLock, StoreError> {
        journal::recover(&self.tmp_dir(), self)?;
        self.remove_dead_temporaries()?;
        Ok(lock)
    }

    /// Removes `.<name>.tmp-*` files that an interrupted [`replace`] left
    /// next to site files (CRL, CRL state, CA key) and the listing cache.
    /// Only writers holding the exclusive lock create them, so under the
    /// lock every one found belongs to a dead writer. (Temporaries of
    /// certificate entries are the journal's business.)
    fn remove_dead_temporaries(&self) -> Result<(), StoreError> {
        let mut dirs = vec![self.root.join("index")];
        for site in self.site_ids()? {
            dirs.push(self.site_dir(site));
            dirs.push(self.site_dir(site).join("ca"));
        }
        for dir in dirs {
            let Ok(rd) = fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                if e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with('.') && n.contains(".tmp-"))
                {
                    let p = e.path();
                    match fs::remove_file(&p) {
                        Ok(()) => {
                            tracing::warn!(path = %p.display(), "removed a temporary of an interrupted write");
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_err("remove", &p)(e)),
                    }
                }
            }
        }
        Ok(())
    }

    /// Takes the shared lock. A reader needs no write access: the lock
    /// file is opened read-only when it cannot be opened for writing, and
    /// when it cannot be opened at all (a read-only store without one, or
    /// something else in its place) the reader goes on without the lock
    /// and says so.
    pub fn read_lock(&self) -> Result<ReadLock, StoreError> {
        let path = self.root.join(".lock");
        let file = self.lock_file().or_else(|writable| {
            fsutil::open_no_follow(&path).map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    writable
                } else {
                    io_err("open lock file", &path)(e)
                }
            })
        });
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                self.warn(format!(
                    "reading without the store lock ({e}); a writer working at the same time may be seen half-way"
                ));
                return Ok(ReadLock { _file: None });
            }
        };
        if let Err(e) = file.lock_shared() {
            self.warn(format!(
                "reading without the store lock (lock {}: {e}); a writer working at the same time may be seen half-way",
                path.display()
            ));
            return Ok(ReadLock { _file: None });
        }
        Ok(ReadLock { _file: Some(file) })
    }

    /// `sites/<id>/`.
    pub fn site_dir(&self, site_id: u64) -> PathBuf {
        self.root.join("sites").join(site_id.to_string())
    }

    /// `sites/<id>/certs/`: live entries.
    pub fn certs_dir(&self, site_id: u64) -> PathBuf {
        journal::Layout::certs_dir(self, site_id)
    }

    /// `sites/<id>/deleted/`: deleted entries (certificate and metadata).
    pub fn deleted_dir(&self, site_id: u64) -> PathBuf {
        journal::Layout::deleted_dir(self, site_id)
    }

    /// `tmp/`: intents and staging of writers in flight.
    pub fn tmp_path(&self) -> PathBuf {
        self.tmp_dir()
    }

    /// Names of intents left in `tmp/` by writers that did not finish (the
    /// next writer settles them).
    pub fn leftover_intents(&self) -> Result<Vec<String>, StoreError> {
        let tmp = self.tmp_dir();
        let rd = match fs::read_dir(&tmp) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read", &tmp)(e)),
        };
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

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
    /// modification times of the folders every write touches (`sites/`,
    /// each `sites/<id>/` for CA and CRL changes, each `sites/<id>/certs/`
    /// for issues, status changes and deletes — every one of them ends with
    /// a rename in that folder). It stats a few folders and reads no file.
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

/// Reads one certificate's metadata file (size-limited).
pub fn read_meta(path: &Path) -> Result<CertMeta, StoreError> {
    read_toml(path)
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

    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
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
        assert_eq!(mode(&e.key_path()), 0o600);
        assert_eq!(mode(&e.meta_path()), 0o600);
        assert_eq!(mode(&e.cert_path()), 0o644);
        assert_eq!(mode(&e.folder), 0o700);
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
        assert!(
            names(&e.folder).is_empty(),
            "nothing left in certs/: {:?}",
            names(&e.folder)
        );
        let deleted = store.list_deleted(7).unwrap();
        assert_eq!(deleted.entries.len(), 1);
        assert_eq!(
            names(&deleted.entries[0].folder),
            vec![format!("{id}.pem"), format!("{id}.toml")]
        );
        assert!(names(&dir.path().join("tmp")).is_empty());
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
        let broken = dir
            .path()
            .join("sites/1/certs")
            .join(format!("{}.toml", "c".repeat(32)));
        fs::write(&broken, "garbage = [").unwrap();
        let l = store.list(None).unwrap();
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.damaged.len(), 1);
        assert_eq!(l.damaged[0].path, broken);
    }

    fn ids(l: &Listing) -> Vec<(String, StoredStatus, String)> {
        let mut v: Vec<_> = l
            .entries
            .iter()
            .map(|e| (e.meta.id.clone(), e.meta.status, e.meta.not_after.clone()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_cache_follows_every_write_and_agrees_with_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lock = store.lock().unwrap();
        let a = store
            .insert(&lock, &meta(&"a".repeat(32), 1), "C", None)
            .unwrap();
        let mut b = store
            .insert(&lock, &meta(&"b".repeat(32), 1), "C", None)
            .unwrap();
        store
            .insert(&lock, &meta(&"c".repeat(32), 2), "C", None)
            .unwrap();
        b.meta.status = StoredStatus::Revoked;
        store.update(&lock, &b).unwrap();
        store.delete(&lock, &a).unwrap();
        let listed = store.list(Some(1)).unwrap();
        assert_eq!(ids(&listed), ids(&store.scan(1).unwrap()));
        assert_eq!(listed.entries.len(), 1);
        assert_eq!(listed.entries[0].meta.status, StoredStatus::Revoked);
        assert_eq!(store.list(None).unwrap().entries.len(), 2);
        assert!(dir.path().join("index/1.jsonl").exists());
    }

    #[test]
    fn edits_outside_the_tool_are_seen_through_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lock = store.lock().unwrap();
        for c in ['a', 'b', 'c'] {
            store
                .insert(&lock, &meta(&c.to_string().repeat(32), 1), "C", None)
                .unwrap();
        }
        store.rebuild_index(&lock, 1).unwrap();
        drop(lock);
        let certs = dir.path().join("sites/1/certs");
        // Edited in place (same inode), as an operator's editor might.
        let a = certs.join(format!("{}.toml", "a".repeat(32)));
        let text = fs::read_to_string(&a)
            .unwrap()
            .replace("2027-01-01T00:00:00Z", "2001-01-01T00:00:00Z");
        fs::write(&a, text).unwrap();
        // Removed by hand.
        fs::remove_file(certs.join(format!("{}.toml", "b".repeat(32)))).unwrap();
        // Copied in by hand.
        let d = "d".repeat(32);
        let mut m = meta(&d, 1);
        m.name = "by hand".into();
        fs::write(
            certs.join(format!("{d}.toml")),
            toml::to_string(&m).unwrap(),
        )
        .unwrap();
        // A torn record at the end of the cache.
        let index = dir.path().join("index/1.jsonl");
        let mut f = fs::OpenOptions::new().append(true).open(&index).unwrap();
        std::io::Write::write_all(&mut f, b"{\"put\":{\"meta\":").unwrap();

        let listed = store.list(Some(1)).unwrap();
        assert_eq!(ids(&listed), ids(&store.scan(1).unwrap()));
        let got: Vec<_> = ids(&listed)
            .into_iter()
            .map(|(id, _, na)| (id, na))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".repeat(32), "2001-01-01T00:00:00Z".to_owned()),
                ("c".repeat(32), "2027-01-01T00:00:00Z".to_owned()),
                (d.clone(), "2027-01-01T00:00:00Z".to_owned()),
            ]
        );
    }

    #[test]
    fn a_crashed_insert_leaves_nothing_and_a_crashed_delete_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let certs = dir.path().join("sites/1/certs");
        let (x, y) = ("e".repeat(32), "f".repeat(32));
        {
            let lock = store.lock().unwrap();
            let e = store.insert(&lock, &meta(&y, 1), "C", Some("K")).unwrap();
            // An insert that died after writing the key, before the .toml.
            let intent =
                journal::Intent::write(&dir.path().join("tmp"), journal::Op::Put, &[(1, &x)])
                    .unwrap();
            fs::write(certs.join(format!("{x}.pem")), "C").unwrap();
            fs::write(certs.join(format!("{x}.key.pem")), "K").unwrap();
            fs::write(certs.join(format!(".{x}.toml.tmp-new")), "half").unwrap();
            std::mem::forget(intent);
            // A delete that died right after moving the .toml.
            let intent =
                journal::Intent::write(&dir.path().join("tmp"), journal::Op::Del, &[(1, &y)])
                    .unwrap();
            let deleted = dir.path().join("sites/1/deleted");
            fs::create_dir_all(&deleted).unwrap();
            fs::rename(e.meta_path(), deleted.join(format!("{y}.toml"))).unwrap();
            std::mem::forget(intent);
        }
        assert!(store.list(Some(1)).unwrap().entries.is_empty());
        drop(store.lock().unwrap());
        assert!(names(&certs).is_empty(), "{:?}", names(&certs));
        assert_eq!(
            names(&dir.path().join("sites/1/deleted")),
            vec![format!("{y}.pem"), format!("{y}.toml")]
        );
        assert!(names(&dir.path().join("tmp")).is_empty());
    }

    #[test]
    fn a_batch_publishes_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lock = store.lock().unwrap();
        let metas: Vec<CertMeta> = (0..20u8)
            .map(|i| meta(&format!("{:032x}", u128::from(i) + 1), 1 + u64::from(i % 2)))
            .collect();
        let items: Vec<NewEntry<'_>> = metas
            .iter()
            .map(|m| NewEntry {
                meta: m,
                cert_pem: "C",
                key_pem: Some("K"),
            })
            .collect();
        let entries = store.insert_batch(&lock, &items).unwrap();
        assert_eq!(entries.len(), 20);
        assert_eq!(store.list(None).unwrap().entries.len(), 20);
        assert!(entries.iter().all(|e| mode(&e.key_path()) == 0o600));
        assert!(names(&dir.path().join("tmp")).is_empty());
        // An id already present is refused before anything is written.
        assert!(matches!(
            store.insert_batch(&lock, &items[..1]),
            Err(StoreError::Exists { .. })
        ));
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
