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
//! * `put`: the `.toml` is there → the entry is complete, keep it; else
//!   remove whatever was written (a key of a certificate never issued must
//!   not linger).
//! * `del`: the `.toml` is still in `certs/` → the delete never happened;
//!   it is in `deleted/` → finish it (move the certificate, destroy the key).
//! * `upd`: a rename either happened or not; only temporaries remain.
//!
//! Temporaries of an interrupted `replace` (`.<name>.tmp-*`) are removed in
//! every case.

use crate::base::random;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{StoreError, check_id, fsutil, io_err};

/// Biggest intent file read back (a bulk issue of 100,000 is ~6 MB).
const MAX_INTENT: u64 = 64 << 20;

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

/// An intent on disk; removed (by [`Intent::done`]) once the work is
/// complete. Dropping it without `done` leaves it for recovery.
#[must_use]
pub(crate) struct Intent {
    path: PathBuf,
}

impl Intent {
    /// Records `items` durably in `tmp/`.
    pub fn write(tmp: &Path, op: Op, items: &[(u64, &str)]) -> Result<Intent, StoreError> {
        let mut text = String::with_capacity(items.len() * 56);
        for (site, id) in items {
            text.push_str(&format!("{} {site} {id}\n", op.word()));
        }
        let salt = random::random_bytes::<6>()
            .map(|b| crate::text::hex(&b))
            .unwrap_or_default();
        let path = tmp.join(format!("intent-{}-{salt}", std::process::id()));
        fsutil::write_new(&path, text.as_bytes(), fsutil::FILE_MODE_PRIVATE, true)
            .map_err(io_err("write", &path))?;
        Ok(Intent { path })
    }

    /// The work is durable: forget the intent.
    pub fn done(self) -> Result<(), StoreError> {
        fs::remove_file(&self.path).map_err(io_err("remove", &self.path))
    }
}

/// Where a site's entries live, for recovery.
pub(crate) trait Layout {
    fn certs_dir(&self, site: u64) -> PathBuf;
    fn deleted_dir(&self, site: u64) -> PathBuf;
}

/// Finishes or undoes every intent left in `tmp/` (and clears any other
/// debris there). Returns the sites whose entries were touched.
pub(crate) fn recover(tmp: &Path, layout: &impl Layout) -> Result<Vec<u64>, StoreError> {
    let rd = match fs::read_dir(tmp) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fsutil::create_private_dir_all(tmp).map_err(io_err("create directory", tmp))?;
            return Ok(Vec::new());
        }
        Err(e) => return Err(io_err("read", tmp)(e)),
    };
    let mut touched = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        let is_intent = e
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with("intent-"));
        if is_intent {
            // An intent names at most a bulk issue's ids (~60 bytes each).
            let text = fsutil::read_limited(&p, MAX_INTENT).unwrap_or_default();
            for line in text.lines() {
                let mut w = line.split(' ');
                let (Some(op), Some(site), Some(id)) = (
                    w.next().and_then(Op::parse),
                    w.next().and_then(|s| s.parse::<u64>().ok()),
                    w.next().filter(|id| check_id(id).is_ok()),
                ) else {
                    continue;
                };
                settle(layout, op, site, id)?;
                touched.push(site);
            }
            tracing::warn!(intent = %p.display(), "recovered an interrupted write");
        }
        let r = if p.is_dir() {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        };
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &p)(e)),
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

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}
