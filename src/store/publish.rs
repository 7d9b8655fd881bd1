//! Publishing new certificate entries: one (each file fsynced, as the CLI
//! does) or a batch (one filesystem sync), both under an intent so that a
//! crash leaves each entry whole or absent.

use std::fs::{self, File};
use std::io;
use std::path::Path;

use super::certs::stamp_of;
use super::index::Record;
use super::journal::{Intent, Op};
use super::{
    CertMeta, Entry, FILE_MODE_PRIVATE, NewEntry, Store, StoreError, WriteLock, check_id,
    create_private_dir_all, fsutil, io_err, toml_bytes, write_new,
};

/// How a publish reaches the disk.
#[derive(Debug, Clone, Copy)]
enum Durability {
    /// Each file fsynced before its rename, then the folder: one insert.
    EachFile,
    /// One filesystem sync for the batch, after its renames.
    OneSync,
}

impl Store {
    /// Publishes a new certificate entry atomically: the certificate and key
    /// are written and fsynced, then the `.toml` appears by rename.
    pub fn insert(
        &self,
        lock: &WriteLock,
        meta: &CertMeta,
        cert_pem: &str,
        key_pem: Option<&str>,
    ) -> Result<Entry, StoreError> {
        let item = NewEntry {
            meta,
            cert_pem,
            key_pem,
        };
        let mut entries = self.publish(lock, &[item], Durability::EachFile)?;
        entries.pop().ok_or_else(|| StoreError::Corrupt {
            path: self.certs_dir(meta.site_id),
            detail: "the entry was not published".into(),
        })
    }

    /// Publishes many new entries with one filesystem sync instead of three
    /// fsyncs per certificate: the intent is synced, every file written and
    /// each `.toml` renamed into place, then the filesystem is synced once
    /// (`syncfs`). A crash leaves each entry whole or absent, exactly as
    /// [`Self::insert`] does: recovery removes an entry of the batch whose
    /// files are not all whole.
    pub fn insert_batch(
        &self,
        lock: &WriteLock,
        items: &[NewEntry<'_>],
    ) -> Result<Vec<Entry>, StoreError> {
        self.publish(lock, items, Durability::OneSync)
    }

    /// Syncs the whole filesystem of the store (`syncfs`).
    fn sync_all(&self) -> Result<(), StoreError> {
        let root = File::open(&self.root).map_err(io_err("open", &self.root))?;
        rustix::fs::syncfs(&root).map_err(|e| io_err("sync", &self.root)(e.into()))
    }

    /// Runs a write that records an intent; if it fails, settles that
    /// intent at once (undoes a put, finishes a delete that got past its
    /// point of no return), as the next writer's recovery would: a failed
    /// command (a full disk) leaves the store as it found it, not debris.
    pub(super) fn settled<T>(
        &self,
        write: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = write();
        if result.is_err()
            && let Err(e) =
                super::journal::recover(&self.tmp_dir(), self, self.intents.path().as_deref())
        {
            tracing::warn!(error = %e, "could not settle a failed write; the next writer will");
        }
        result
    }

    fn publish(
        &self,
        lock: &WriteLock,
        items: &[NewEntry<'_>],
        durability: Durability,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut sites: Vec<u64> = items.iter().map(|i| i.meta.site_id).collect();
        sites.sort_unstable();
        sites.dedup();
        let fresh: Vec<std::path::PathBuf> = sites
            .into_iter()
            .map(|s| self.certs_dir(s))
            .filter(|d| !d.is_dir())
            .collect();
        self.settled(|| self.publish_unsettled(lock, items, durability))
            .inspect_err(|_| {
                for dir in &fresh {
                    // Made for this batch; still empty if nothing was published.
                    let _ = fs::remove_dir(dir);
                }
            })
    }

    fn publish_unsettled(
        &self,
        _lock: &WriteLock,
        items: &[NewEntry<'_>],
        durability: Durability,
    ) -> Result<Vec<Entry>, StoreError> {
        let fsync_each = matches!(durability, Durability::EachFile);
        let mut sites: Vec<u64> = items.iter().map(|i| i.meta.site_id).collect();
        sites.sort_unstable();
        sites.dedup();
        for &site in &sites {
            let certs = self.certs_dir(site);
            create_private_dir_all(&certs).map_err(io_err("create directory", &certs))?;
        }
        let mut names = Vec::with_capacity(items.len());
        for item in items {
            check_id(&item.meta.id)?;
            names.push((item.meta.site_id, item.meta.id.as_str()));
        }
        let intent = Intent::write(&self.intents, &self.tmp_dir(), Op::Put, &names)?;

        // Certificate and key first, then each metadata file as a
        // temporary, all durable before any entry becomes visible. A batch
        // is written by every core: on a large batch the file creation is
        // most of the work.
        let staged: Vec<(Entry, std::path::PathBuf)> = items
            .iter()
            .map(|item| {
                let e = Entry {
                    meta: item.meta.clone(),
                    folder: self.certs_dir(item.meta.site_id).into(),
                };
                let tmp = e.folder.join(format!(".{}.toml.tmp-new", e.meta.id));
                (e, tmp)
            })
            .collect();
        let threads = if items.len() < 64 {
            1
        } else {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(8)
        };
        let chunk = items.len().div_ceil(threads).max(1);
        let write_chunk = |items: &[NewEntry<'_>], staged: &[(Entry, std::path::PathBuf)]| {
            for (item, (e, tmp)) in items.iter().zip(staged) {
                write_entry_files(item, e, tmp, fsync_each)?;
            }
            Ok::<(), StoreError>(())
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .zip(staged.chunks(chunk))
                .map(|(items, staged)| {
                    // One chunk (a small batch) is written on this thread.
                    let spawned = if threads == 1 || crate::base::failpoint("store-spawn-writer") {
                        Err(io::Error::from_raw_os_error(libc::EAGAIN))
                    } else {
                        std::thread::Builder::new()
                            .spawn_scoped(scope, move || write_chunk(items, staged))
                    };
                    // No thread to spare (ulimit -u): written on this one too.
                    spawned.map_err(|_| write_chunk(items, staged))
                })
                .collect();
            for h in handles {
                match h {
                    Ok(h) => h.join().map_err(|_| StoreError::Corrupt {
                        path: self.root.clone(),
                        detail: "a writer thread panicked".into(),
                    })??,
                    Err(written) => written?,
                }
            }
            Ok::<(), StoreError>(())
        })?;
        for (e, tmp) in &staged {
            // Never over an existing entry (ids are random; this is the
            // belt to their braces).
            rustix::fs::renameat_with(
                rustix::fs::CWD,
                tmp,
                rustix::fs::CWD,
                e.meta_path(),
                rustix::fs::RenameFlags::NOREPLACE,
            )
            .map_err(|err| match err {
                rustix::io::Errno::EXIST => StoreError::Exists {
                    what: "a certificate with this id",
                    path: e.meta_path(),
                },
                err => io_err("publish", &e.meta_path())(err.into()),
            })?;
        }
        match durability {
            Durability::EachFile => {
                for &site in &sites {
                    let certs = self.certs_dir(site);
                    fsutil::sync_dir(&certs).map_err(io_err("sync", &certs))?;
                }
                intent.done()?;
            }
            // One sync for the whole batch: its files, its renames and
            // whatever was appended for it (the audit records). Until it
            // returns nothing is answered, and the intent (synced) names
            // every entry: after a crash recovery removes any entry of it
            // whose files did not all reach the disk (see `journal`).
            Durability::OneSync => {
                self.sync_all()?;
                intent.done()?;
            }
        }
        for &site in &sites {
            let records: Vec<Record> = staged
                .iter()
                .filter(|(e, _)| e.meta.site_id == site)
                .filter_map(|(e, _)| {
                    Some(Record::Put {
                        stamp: stamp_of(&e.meta_path())?,
                        meta: Box::new(e.meta.clone()),
                    })
                })
                .collect();
            self.index.append(site, &records);
        }
        Ok(staged.into_iter().map(|(e, _)| e).collect())
    }
}

/// Writes one entry's certificate, key and staged metadata (create-new:
/// an existing certificate of that id is an error, never overwritten).
fn write_entry_files(
    item: &NewEntry<'_>,
    e: &Entry,
    tmp: &Path,
    fsync_each: bool,
) -> Result<(), StoreError> {
    let cert = e.cert_path();
    write_new(&cert, item.cert_pem.as_bytes(), 0o644, fsync_each).map_err(|err| {
        if err.kind() == io::ErrorKind::AlreadyExists {
            StoreError::Exists {
                what: "a certificate with this id",
                path: cert.clone(),
            }
        } else {
            io_err("write", &cert)(err)
        }
    })?;
    if let Some(k) = item.key_pem {
        let key = e.key_path();
        write_new(&key, k.as_bytes(), FILE_MODE_PRIVATE, fsync_each)
            .map_err(io_err("write", &key))?;
    }
    write_new(tmp, &toml_bytes(item.meta)?, FILE_MODE_PRIVATE, fsync_each)
        .map_err(io_err("write", tmp))
}
