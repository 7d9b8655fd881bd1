//! Intents: what a writer is about to do, written down before it does it,
//! so the next writer can finish or undo a crashed one.
//!
//! A certificate is three files (`<id>.pem`, `<id>.key.pem`, `<id>.toml`)
//! and exists exactly when its `<id>.toml` does; that file is always the
//! last to appear (by rename) and the first to go. Before touching any of
//! them a writer records an intent (`tmp/intent-*`, fsynced) naming the
//! operation and the ids. Recovery, run under the exclusive lock, looks at
//! each named id:
//!
//! * `put`: the `.toml` is there and every file of the entry is whole →
//!   keep it; else remove whatever was written (a key of a certificate
//!   never issued must not linger). A batch renames its `.toml` files
//!   before its one sync, so after a crash a `.toml` can be there while a
//!   file it names is torn; that create was never answered.
//! * `del`: the `.toml` is still in `certs/` → the delete never happened;
//!   it is in `deleted/` → finish it (move the certificate, destroy the key).
//! * `upd`: a rename either happened or not; only temporaries remain.
//!
//! Temporaries of an interrupted `replace` (`.<name>.tmp-*`) are removed in
//! every case.

use crate::base::random;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::{StoreError, check_id, fsutil, io_err};

/// Biggest intent file read back (a bulk issue of 100,000 is ~6 MB).
pub(crate) const MAX_INTENT: u64 = 64 << 20;

/// One operation on one certificate, as written in an intent file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Put,
    Upd,
    Del,
}

impl Op {
    fn word(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Upd => "upd",
            Op::Del => "del",
        }
    }

    fn parse(s: &str) -> Option<Op> {
        match s {
            "put" => Some(Op::Put),
            "upd" => Some(Op::Upd),
            "del" => Some(Op::Del),
            _ => None,
        }
    }
}

/// This process's intent file (`tmp/intent-<pid>-<salt>`), made on the
/// first write and then reused: each intent is written over its start and
/// [`Intent::done`] blanks it again (newlines, which recovery skips).
///
/// Creating and unlinking a file per write was most of a create's cost on
/// ext4 without a journal: its inode allocator skips every inode deleted
/// in the last minute or more (`recently_deleted` in `find_inode_bit`),
/// so each unlinked intent made every later file creation slower. The
/// file keeps its size ([`INTENT_BLOCK`] and up) so that the sync of an
/// intent writes one data block and no inode. A blank intent means
/// nothing to recover; the file is removed when the last handle on the
/// store goes.
#[derive(Debug, Default)]
pub(crate) struct IntentFile {
    slot: Mutex<Option<Open>>,
}

#[derive(Debug)]
struct Open {
    file: File,
    path: PathBuf,
    /// Bytes at the start that may hold an intent (to blank).
    used: usize,
}

/// The intent file's smallest size: a group of 64 creates fits.
const INTENT_BLOCK: usize = 4096;

/// Whether an intent file's text names no work.
pub(crate) fn is_blank(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_whitespace())
}

impl IntentFile {
    /// The path of this process's intent file, if it has one.
    pub(crate) fn path(&self) -> Option<PathBuf> {
        self.guard().as_ref().map(|o| o.path.clone())
    }

    fn guard(&self) -> MutexGuard<'_, Option<Open>> {
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for IntentFile {
    fn drop(&mut self) {
        let slot = self.slot.get_mut().unwrap_or_else(|p| p.into_inner());
        // Only a blank one: an intent that was never done is recovery's.
        if let Some(open) = slot.take()
            && fsutil::read_limited(&open.path, MAX_INTENT).is_ok_and(|t| is_blank(&t))
        {
            let _ = fs::remove_file(&open.path);
        }
    }
}

impl Open {
    fn create(tmp: &Path) -> Result<Open, StoreError> {
        let salt = random::random_bytes::<6>()
            .map(|b| crate::text::hex(&b))
            .unwrap_or_default();
        let path = tmp.join(format!("intent-{}-{salt}", std::process::id()));
        fsutil::write_new(
            &path,
            &[b'\n'; INTENT_BLOCK],
            fsutil::FILE_MODE_PRIVATE,
            true,
        )
        .map_err(io_err("write", &path))?;
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        fsutil::sync_dir(tmp).map_err(io_err("sync", tmp))?;
        Ok(Open {
            file,
            path,
            used: 0,
        })
    }

    /// Overwrites the first `self.used` bytes with newlines.
    fn blank(&mut self) -> io::Result<()> {
        let n = std::mem::take(&mut self.used);
        if n > 0 {
            self.file.write_all_at(&vec![b'\n'; n], 0)?;
        }
        // A bulk issue's intent can be megabytes: give them back.
        if n > 64 * INTENT_BLOCK {
            self.file.set_len(INTENT_BLOCK as u64)?;
        }
        Ok(())
    }
}

/// An intent on disk; blanked (by [`Intent::done`]) once the work is
/// complete. Dropping it without `done` leaves it for recovery.
#[must_use]
pub(crate) struct Intent<'a> {
    slot: MutexGuard<'a, Option<Open>>,
}

impl<'a> Intent<'a> {
    /// Records `items` durably in this process's intent file in `tmp/`.
    pub fn write(
        file: &'a IntentFile,
        tmp: &Path,
        op: Op,
        items: &[(u64, &str)],
    ) -> Result<Intent<'a>, StoreError> {
        let mut text = String::with_capacity(items.len() * 56);
        for (site, id) in items {
            text.push_str(&format!("{} {site} {id}\n", op.word()));
        }
        let mut slot = file.guard();
        // Another process's recovery removes every intent file it finds
        // (ours too, while we do not hold the lock): then make a new one.
        let gone = slot
            .as_ref()
            .is_none_or(|o| o.file.metadata().map_or(true, |m| m.nlink() == 0));
        if gone {
            *slot = None;
            *slot = Some(Open::create(tmp)?);
        }
        let Some(open) = slot.as_mut() else {
            return Err(StoreError::Corrupt {
                path: tmp.to_path_buf(),
                detail: "the intent file went missing".into(),
            });
        };
        open.used = open.used.max(text.len());
        let written = (|| {
            if crate::base::failpoint("write-enospc") {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            open.file.write_all_at(text.as_bytes(), 0)?;
            open.file.sync_data()
        })();
        if let Err(e) = written {
            // Never leave half an intent: nothing was done yet.
            let _ = open.blank();
            return Err(io_err("write", &open.path)(e));
        }
        Ok(Intent { slot })
    }

    /// The work is durable: forget the intent. Not synced: an intent that
    /// comes back after a power cut names work that is complete, which
    /// recovery keeps as it is.
    pub fn done(mut self) -> Result<(), StoreError> {
        match self.slot.as_mut() {
            Some(open) => open.blank().map_err(io_err("clear", &open.path)),
            None => Ok(()),
        }
    }
}

/// Where a site's entries live, for recovery.
pub(crate) trait Layout {
    fn certs_dir(&self, site: u64) -> PathBuf;
    fn deleted_dir(&self, site: u64) -> PathBuf;
}

/// Finishes or undoes every intent left in `tmp/` (and clears any other
/// debris there). `own` is this process's intent file: settled like the
/// others, then emptied rather than removed. Returns the sites whose
/// entries were touched.
pub(crate) fn recover(
    tmp: &Path,
    layout: &impl Layout,
    own: Option<&Path>,
) -> Result<Vec<u64>, StoreError> {
    let rd = match fs::read_dir(tmp) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fsutil::create_private_dir_all(tmp).map_err(io_err("create directory", tmp))?;
            return Ok(Vec::new());
        }
        Err(e) => return Err(io_err("read", tmp)(e)),
    };
    // Everything in tmp/, with each intent's text.
    let found: Vec<(PathBuf, Option<String>)> = rd
        .flatten()
        .map(|e| {
            let p = e.path();
            let is_intent = e
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("intent-"));
            // An intent names at most a bulk issue's ids (~60 bytes each).
            let text = is_intent.then(|| fsutil::read_limited(&p, MAX_INTENT).unwrap_or_default());
            (p, text)
        })
        .collect();
    let mut work: Vec<(Op, u64, &str)> = Vec::new();
    for (p, text) in &found {
        let Some(text) = text.as_deref().filter(|t| !is_blank(t)) else {
            continue;
        };
        tracing::warn!(intent = %p.display(), "recovering an interrupted write");
        for line in text.lines() {
            let mut w = line.split(' ');
            if let (Some(op), Some(site), Some(id)) = (
                w.next().and_then(Op::parse),
                w.next().and_then(|s| s.parse::<u64>().ok()),
                w.next().filter(|id| check_id(id).is_ok()),
            ) {
                work.push((op, site, id));
            }
        }
    }
    // Deletes and updates first: a put of the same id named by an older
    // intent (its blanking is not synced, so a power cut can bring it
    // back) then finds the delete finished, not half-way.
    work.sort_by_key(|(op, ..)| *op == Op::Put);
    let mut touched = Vec::new();
    for (op, site, id) in &work {
        settle(layout, *op, *site, id)?;
        touched.push(*site);
    }
    if !work.is_empty() {
        // What recovery kept (entries whole in the page cache, of a writer
        // killed before its sync) must be on the disk before the intents
        // that name it go.
        let dir = File::open(tmp).map_err(io_err("open", tmp))?;
        rustix::fs::syncfs(&dir).map_err(|e| io_err("sync", tmp)(e.into()))?;
    }
    for (p, text) in &found {
        if own == Some(p.as_path()) {
            if let Some(text) = text.as_deref().filter(|t| !is_blank(t)) {
                OpenOptions::new()
                    .write(true)
                    .open(p)
                    .and_then(|f| f.write_all_at(&vec![b'\n'; text.len()], 0))
                    .map_err(io_err("clear", p))?;
            }
            continue;
        }
        let r = if p.is_dir() {
            fs::remove_dir_all(p)
        } else {
            fs::remove_file(p)
        };
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", p)(e)),
        }
    }
    touched.sort_unstable();
    touched.dedup();
    Ok(touched)
}

fn remove_if_present(p: &Path) -> Result<(), StoreError> {
    match fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove", p)(e)),
    }
}

/// Removes `.<id>.toml.tmp-*` left by an interrupted replace in `dir`.
fn remove_temporaries(dir: &Path, id: &str) -> Result<(), StoreError> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(());
    };
    let prefix = format!(".{id}.");
    for e in rd.flatten() {
        if e.file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix) && n.contains(".tmp-"))
        {
            remove_if_present(&e.path())?;
        }
    }
    Ok(())
}

fn settle(layout: &impl Layout, op: Op, site: u64, id: &str) -> Result<(), StoreError> {
    let certs = layout.certs_dir(site);
    let deleted = layout.deleted_dir(site);
    let live_meta = certs.join(format!("{id}.toml"));
    match op {
        Op::Put if !live_meta.exists() => {
            remove_if_present(&certs.join(format!("{id}.pem")))?;
            remove_if_present(&certs.join(format!("{id}.key.pem")))?;
        }
        // A batch publishes before its one sync, so a crash can leave an
        // entry whose `.toml` reached the disk and another file did not:
        // that create was never answered, so the entry goes whole.
        Op::Put if !entry_complete(&certs, id) => {
            tracing::warn!(
                id,
                site,
                "removed a certificate whose files a crash left incomplete (its create was never answered)"
            );
            remove_if_present(&live_meta)?;
            remove_if_present(&certs.join(format!("{id}.pem")))?;
            remove_if_present(&certs.join(format!("{id}.key.pem")))?;
        }
        Op::Del if !live_meta.exists() && deleted.join(format!("{id}.toml")).exists() => {
            let pem = certs.join(format!("{id}.pem"));
            if pem.exists() {
                fs::rename(&pem, deleted.join(format!("{id}.pem")))
                    .map_err(io_err("move", &pem))?;
            }
            remove_if_present(&certs.join(format!("{id}.key.pem")))?;
        }
        _ => {}
    }
    remove_temporaries(&certs, id)?;
    fsutil::sync_dir(&certs)
        .or_else(ignore_missing)
        .map_err(io_err("sync", &certs))?;
    Ok(())
}

/// Whether an entry's files are whole: its `.toml` reads as its record,
/// its certificate is one whole PEM block, and its key (when the record
/// says one is kept) too. Torn files after a crash are short or zeros,
/// and never end in a PEM footer.
fn entry_complete(certs: &Path, id: &str) -> bool {
    let meta = fsutil::read_limited(&certs.join(format!("{id}.toml")), MAX_ENTRY_FILE)
        .ok()
        .and_then(|t| toml::from_str::<super::CertMeta>(&t).ok());
    let Some(meta) = meta.filter(|m| m.id == id) else {
        return false;
    };
    let pem_whole = |name: String, label: &str| {
        fsutil::read_limited(&certs.join(name), MAX_ENTRY_FILE).is_ok_and(|t| {
            let t = t.trim_end();
            t.starts_with("-----BEGIN ") && t.ends_with("-----") && t.contains(label)
        })
    };
    pem_whole(format!("{id}.pem"), "-----END CERTIFICATE-----")
        && (!meta.key_stored || pem_whole(format!("{id}.key.pem"), " PRIVATE KEY-----"))
}

/// Largest entry file read back by [`entry_complete`].
const MAX_ENTRY_FILE: u64 = 1 << 20;

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}
