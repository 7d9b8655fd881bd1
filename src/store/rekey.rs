//! The progress record of `ca rekey-protect` across sites.
//!
//! Each site's CA key is replaced atomically, but a run over several sites
//! is not one rename: killed half-way, some keys are under the new
//! passphrase and some under the old. Before the first key is replaced the
//! writer records (`<root>/rekey-protect.pending`, fsynced, 0600) every
//! site it is about to change with digests of the key file before and
//! after; it removes the record once every key is replaced. While the
//! record is there, anyone can tell, without a passphrase, which sites are
//! done (the key file has the new digest) and which are not (the old one):
//! `doctor` reports it, and the next run skips the finished sites.

use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{
    FILE_MODE_PRIVATE, Store, StoreError, WriteLock, fsutil, io_err, read_toml, toml_bytes,
};

const REKEY_FILE: &str = "rekey-protect.pending";

/// A `rekey-protect` run in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekeyJournal {
    pub started: String,
    pub sites: Vec<RekeySite>,
}

/// One site of the run: SHA-256 of its key file before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekeySite {
    pub site_id: u64,
    pub old_sha256: String,
    pub new_sha256: String,
}

/// Where one site of a recorded run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekeyState {
    /// The key file is the new one.
    Done,
    /// The key file is still the old one.
    Pending,
    /// Neither (changed since, or unreadable).
    Changed,
}

/// SHA-256 of a key file's content, in hex (a digest of the stored file,
/// which for a protected key is ciphertext).
pub fn key_digest(pem: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, pem.as_bytes());
    crate::text::hex(d.as_ref())
}

impl Store {
    pub fn rekey_journal_path(&self) -> PathBuf {
        self.root.join(REKEY_FILE)
    }

    /// The record of an unfinished run, if there is one.
    pub fn rekey_journal(&self) -> Result<Option<RekeyJournal>, StoreError> {
        let p = self.rekey_journal_path();
        match read_toml(&p) {
            Ok(j) => Ok(Some(j)),
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Records a run before its first key is replaced (durably).
    pub fn write_rekey_journal(
        &self,
        _lock: &WriteLock,
        journal: &RekeyJournal,
    ) -> Result<(), StoreError> {
        let p = self.rekey_journal_path();
        fsutil::replace(&p, &toml_bytes(journal)?, FILE_MODE_PRIVATE).map_err(io_err("write", &p))
    }

    /// Forgets the record once every key of the run is replaced.
    pub fn clear_rekey_journal(&self, _lock: &WriteLock) -> Result<(), StoreError> {
        let p = self.rekey_journal_path();
        match std::fs::remove_file(&p) {
            Ok(()) => fsutil::sync_dir(&self.root).map_err(io_err("sync", &self.root)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove", &p)(e)),
        }
    }

    /// Where each site of a recorded run stands, from its key file.
    pub fn rekey_progress(&self, journal: &RekeyJournal) -> Vec<(u64, RekeyState)> {
        journal
            .sites
            .iter()
            .map(|s| {
                let state = match self.ca_key_pem(s.site_id) {
                    Ok(Some(k)) if key_digest(&k) == s.new_sha256 => RekeyState::Done,
                    Ok(Some(k)) if key_digest(&k) == s.old_sha256 => RekeyState::Pending,
                    _ => RekeyState::Changed,
                };
                (s.site_id, state)
            })
            .collect()
    }
}
