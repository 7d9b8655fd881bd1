//! The on-disk store: plain PEM and TOML files an operator can use without
//! this tool, published atomically, guarded by a lock file.
//!
//! ```text
//! <root>/                          0700
//!   .lock                          flock: exclusive for writers, shared for readers;
//!                                  `clean` or `dirty` (see `Sweep`)
//!   tmp/                           intents of writers in flight, one reused file
//!                                  per writing process (see `journal`)
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
mod ca;
mod certs;

mod index;
mod inspect;
mod journal;
mod meta;
mod publish;
mod rekey;
mod uploads;

pub use audit::{
    AUDIT_FILE, Actor, AuditLog, AuditMark, AuditRecord, current_actor, current_user,
    record as audit_record, with_actor,
};
use ca::{CA_CERT_FILE, CA_KEY_FILE, CA_META_FILE, CRL_STALE_FILE};
pub use ca::{CaStamp, StoredCa};
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

/// Proof that the exclusive store lock is held. Released on drop.
#[derive(Debug)]
pub struct WriteLock {
    file: File,
    sweep: std::sync::Arc<std::sync::Mutex<Sweep>>,
    /// Taking the lock finished (its recovery and sweep ran): only then
    /// may letting it go say `clean`.
    armed: bool,
}

impl WriteLock {
    /// Makes the lock file say `dirty` durably, before a mark that only a
    /// sweep would find after a power cut. Fails if it cannot.
    fn sync_dirty(&self) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.file.write_all_at(LOCK_DIRTY, 0)?;
        self.file.sync_data()
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        use std::os::unix::fs::FileExt;
        // Clean only when this holder left nothing for the next to settle:
        // its recovery and sweep ran, it did not die half-way, and no
        // stale CRL (marked by it or found by the sweep) is pending.
        let clean =
            self.armed && !std::thread::panicking() && lock_sweep(&self.sweep).marked.is_empty();
        if clean {
            let _ = self.file.write_all_at(LOCK_CLEAN, 0);
        }
    }
}

/// The lock file's text while held, and after a holder that finished
/// cleanly (see [`Sweep`]).
const LOCK_DIRTY: &[u8] = b"dirty\n";
const LOCK_CLEAN: &[u8] = b"clean\n";

/// So that taking the lock costs the same at 30,000 sites as at one.
/// Each writer writes `dirty` in the lock file when it takes the lock and
/// `clean` when it lets it go having finished (unsynced: only a crash of
/// the process leaves `dirty`, and its page cache survives it). A lock
/// that finds `clean` skips the sweep for debris of crashed writers
/// (temporaries and stale-CRL marks in every site's folder: three folder
/// reads per site). Intents are settled on every lock all the same: they
/// are one small folder. Before a stale-CRL mark the `dirty` is synced,
/// so a power cut cannot hide the mark behind an older `clean`.
#[derive(Debug, Default)]
struct Sweep {
    /// Sites with a stale-CRL mark not yet cleared: marked by this
    /// process, or found by a sweep. While one is pending, no holder of
    /// the lock says `clean`, whoever took it.
    marked: std::collections::BTreeSet<u64>,
}

fn lock_sweep(s: &std::sync::Mutex<Sweep>) -> std::sync::MutexGuard<'_, Sweep> {
    s.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
    intents: std::sync::Arc<journal::IntentFile>,
    sweep: std::sync::Arc<std::sync::Mutex<Sweep>>,
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
            intents: Default::default(),
            sweep: Default::default(),
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
        self.after_lock(file)
    }

    /// Takes the exclusive lock only if nobody holds the store lock.
    pub fn try_lock(&self) -> Result<Option<WriteLock>, StoreError> {
        let file = self.lock_file()?;
        match file.try_lock() {
            Ok(()) => self.after_lock(file).map(Some),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(io_err("lock", &self.root.join(".lock"))(e)),
        }
    }

    fn after_lock(&self, file: File) -> Result<WriteLock, StoreError> {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 16];
        let n = file
            .read_at(&mut buf, 0)
            .map_err(io_err("read", &self.root.join(".lock")))?;
        let swept = !buf[..n].starts_with(LOCK_CLEAN);
        // Not written (a full disk): the file keeps what it said, and a
        // `clean` there is still true, as nothing was done yet.
        let _ = file.write_all_at(LOCK_DIRTY, 0);
        let mut lock = WriteLock {
            file,
            sweep: self.sweep.clone(),
            armed: false,
        };
        journal::recover(&self.tmp_dir(), self, self.intents.path().as_deref())?;
        if swept {
            self.remove_dead_temporaries()?;
            let stale = self.stale_marks(&self.site_ids()?);
            lock_sweep(&self.sweep).marked = stale.into_iter().collect();
        }
        lock.armed = true;
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
        // A blank intent file names no work: a live writer's between two
        // writes, or one a killed writer had done with.
        let mut names: Vec<String> = rd
            .flatten()
            .filter(|e| {
                !(e.file_name().to_string_lossy().starts_with("intent-")
                    && e.file_type().is_ok_and(|t| t.is_file())
                    && fsutil::read_limited(&e.path(), journal::MAX_INTENT)
                        .is_ok_and(|t| journal::is_blank(&t)))
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
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
mod tests;
