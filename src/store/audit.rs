//! The audit trail: `<store>/audit.log`, one JSON record per line, of every
//! operation that creates, changes, destroys or hands out a key
//! (issue, renew, revoke, activate, delete, key and PKCS#12 exports, CA
//! creation and CA key protection).
//!
//! Records are appended (`O_APPEND`, mode 0600) and fsynced under the
//! store's write lock, before the change they describe is committed: every
//! operation a caller saw succeed is in the log. A change that then fails
//! (a full disk) takes its records back out ([`Store::unaudit`]), and an
//! append that fails half-way (ENOSPC) cuts its own part off again, so the
//! log never claims what did not happen and never keeps half a record.
//! Only a crash can still tear the last line; readers skip such a line and
//! say so, and the next writer starts on a fresh line so a torn record
//! never swallows a good one.

use crate::base::clock;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{FILE_MODE_PRIVATE, Store, StoreError, WriteLock, io_err};

/// File name of the audit log in the store root.
pub const AUDIT_FILE: &str = "audit.log";
/// Longest line read back; longer ones are skipped (a record is ~250 bytes).
const MAX_LINE: usize = 64 * 1024;

/// One audited operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub time: String,
    /// `issue`, `renew`, `revoke`, `activate`, `delete`, `export-key`,
    /// `export-p12`, `ca-create`, `ca-protect`.
    pub op: String,
    /// The certificate Id (the CA's Id for `ca-*`).
    #[serde(default)]
    pub id: String,
    pub site_id: u64,
    /// Lower-case hex serial of the certificate (or CA).
    #[serde(default)]
    pub serial: String,
    /// The OS user who ran the command (`$USER`, which the user can set).
    pub who: String,
    /// The real uid of the process, which `$USER` cannot change (absent in
    /// records written before it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    pub pid: u32,
    /// Extra facts (`renewed_from=…`, `reason=…`, `mode=…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The AccessKeyId of the API request (records written by `serve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The remote address of the API request (records written by `serve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

/// Who asked over the API: recorded with each operation `serve` performs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// Empty when the server runs with `--insecure-no-auth`.
    pub access_key_id: String,
    pub remote: String,
}

thread_local! {
    static ACTOR: std::cell::RefCell<Option<Actor>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `actor` as the requester of every audit record written on
/// this thread (the server runs each request on one blocking thread).
pub fn with_actor<R>(actor: Option<Actor>, f: impl FnOnce() -> R) -> R {
    let before = ACTOR.with(|a| a.replace(actor));
    struct Restore(Option<Option<Actor>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(before) = self.0.take() {
                ACTOR.with(|a| a.replace(before));
            }
        }
    }
    let _restore = Restore(Some(before));
    f()
}

/// The requester set by [`with_actor`] on this thread, if any.
pub fn current_actor() -> Option<Actor> {
    ACTOR.with(|a| a.borrow().clone())
}

impl AuditRecord {
    /// Marks the record as done for `actor` (an API request).
    pub fn by(mut self, actor: Option<&Actor>) -> AuditRecord {
        if let Some(a) = actor {
            self.access_key_id = Some(a.access_key_id.clone()).filter(|k| !k.is_empty());
            self.remote = Some(a.remote.clone());
        }
        self
    }
}

/// What reading the log found.
#[derive(Debug, Default, Clone)]
pub struct AuditLog {
    pub records: Vec<AuditRecord>,
    /// Lines that could not be read: (1-based line number, why).
    pub skipped: Vec<(usize, String)>,
}

/// The OS user: `$USER`, else `$LOGNAME`, else `uid:<n>`.
pub fn current_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty())
        .map(|s| crate::text::clip(&s, 64))
        .unwrap_or_else(|| format!("uid:{}", rustix::process::getuid().as_raw()))
}

/// Where the audit log ended before an append, so that the records can be
/// taken back if the change they describe fails ([`Store::unaudit`]).
#[derive(Debug)]
#[must_use = "a failed change must take its records back with Store::unaudit"]
pub struct AuditMark {
    /// `None`: nothing was appended.
    len: Option<u64>,
}

impl Store {
    pub fn audit_path(&self) -> PathBuf {
        self.root.join(AUDIT_FILE)
    }

    /// Appends `records` in one write and fsyncs them. Needs the write lock
    /// so that appends of different processes never interleave. An append
    /// that fails part-way (ENOSPC after a short write) is cut off again:
    /// the log is left as it was, without half a record.
    pub fn audit(
        &self,
        lock: &WriteLock,
        records: &[AuditRecord],
    ) -> Result<AuditMark, StoreError> {
        self.append_audit(lock, records, true)
    }

    /// [`Store::audit`] without its own sync, for a batch that syncs the
    /// whole filesystem before it is answered ([`Store::insert_batch`]):
    /// the records reach the disk with the entries they describe.
    pub fn audit_unsynced(
        &self,
        lock: &WriteLock,
        records: &[AuditRecord],
    ) -> Result<AuditMark, StoreError> {
        self.append_audit(lock, records, false)
    }

    fn append_audit(
        &self,
        _lock: &WriteLock,
        records: &[AuditRecord],
        sync: bool,
    ) -> Result<AuditMark, StoreError> {
        if records.is_empty() {
            return Ok(AuditMark { len: None });
        }
        let path = self.audit_path();
        let mut buf = Vec::with_capacity(records.len() * 256 + 1);
        for r in records {
            serde_json::to_writer(&mut buf, r).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                detail: e.to_string(),
            })?;
            buf.push(b'\n');
        }
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(FILE_MODE_PRIVATE)
            .custom_flags(super::fsutil::NO_FOLLOW_NO_BLOCK)
            .open(&path)
            .map_err(io_err("open", &path))?;
        super::fsutil::ensure_regular(&f).map_err(io_err("open", &path))?;
        let len = f.metadata().map_err(io_err("read", &path))?.len();
        if !ends_with_newline(&mut f, len).map_err(io_err("read", &path))? {
            // A crash tore the last record: start on a line of our own.
            buf.insert(0, b'\n');
        }
        let appended = if crate::base::failpoint("audit-enospc") {
            // What a full disk does: a short write, then ENOSPC.
            f.write_all(&buf[..buf.len() / 2])
                .and(Err(io::Error::from_raw_os_error(libc::ENOSPC)))
        } else {
            f.write_all(&buf)
        };
        if let Err(e) = appended.and_then(|()| if sync { f.sync_data() } else { Ok(()) }) {
            if let Err(cut) = f.set_len(len).and_then(|()| f.sync_data()) {
                tracing::error!(error = %cut, "could not cut a failed append off the audit log");
            }
            return Err(io_err("write", &path)(e));
        }
        Ok(AuditMark { len: Some(len) })
    }

    /// Takes back the records appended at `mark`: the change they describe
    /// failed before it was committed. The write lock, held since the
    /// append, guarantees that nothing was appended after them.
    pub fn unaudit(&self, _lock: &WriteLock, mark: AuditMark) -> Result<(), StoreError> {
        let Some(len) = mark.len else {
            return Ok(());
        };
        let path = self.audit_path();
        let f = OpenOptions::new()
            .write(true)
            .custom_flags(super::fsutil::NO_FOLLOW_NO_BLOCK)
            .open(&path)
            .map_err(io_err("open", &path))?;
        super::fsutil::ensure_regular(&f).map_err(io_err("open", &path))?;
        f.set_len(len)
            .and_then(|()| f.sync_data())
            .map_err(io_err("truncate", &path))
    }

    /// Reads the whole log. A missing log is an empty one.
    pub fn read_audit(&self) -> Result<AuditLog, StoreError> {
        let path = self.audit_path();
        let f = match super::fsutil::open_no_follow(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(AuditLog::default()),
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        read_log(f).map_err(io_err("read", &path))
    }

    /// Mode bits of the audit log, if it exists (for `doctor`).
    pub fn audit_mode(&self) -> Option<u32> {
        std::fs::metadata(self.audit_path())
            .ok()
            .map(|m| m.permissions().mode() & 0o777)
    }
}

fn ends_with_newline(f: &mut File, len: u64) -> io::Result<bool> {
    if len == 0 {
        return Ok(true);
    }
    f.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

fn read_log(f: File) -> io::Result<AuditLog> {
    let mut log = AuditLog::default();
    let mut reader = io::BufReader::with_capacity(1 << 16, f);
    let mut line = Vec::with_capacity(512);
    let mut n = 0usize;
    loop {
        line.clear();
        let got = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if got == 0 {
            break;
        }
        n += 1;
        if line.last() != Some(&b'\n') {
            if line.len() > MAX_LINE {
                // Skip the rest of an overlong line.
                let mut sink = Vec::new();
                reader.read_until(b'\n', &mut sink)?;
                log.skipped.push((n, "line too long".into()));
                continue;
            }
            log.skipped
                .push((n, "torn last line (a write interrupted by a crash)".into()));
            break;
        }
        let body = &line[..line.len() - 1];
        if body.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<AuditRecord>(body) {
            Ok(r) => log.records.push(r),
            Err(e) => log.skipped.push((n, format!("not a record: {e}"))),
        }
    }
    Ok(log)
}

/// Shorthand used by the service.
pub fn record(
    op: &str,
    site_id: u64,
    id: &str,
    serial: &str,
    detail: Option<String>,
) -> AuditRecord {
    AuditRecord {
        time: clock::esa_time(clock::now_seconds()),
        op: op.to_owned(),
        id: id.to_owned(),
        site_id,
        serial: serial.to_owned(),
        who: current_user(),
        uid: Some(rustix::process::getuid().as_raw()),
        pid: std::process::id(),
        detail,
        access_key_id: None,
        remote: None,
    }
    .by(current_actor().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_survive_a_torn_line_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lock = store.lock().unwrap();
        let _mark = store
            .audit(&lock, &[record("issue", 1, "a", "01", None)])
            .unwrap();
        // A crash in the middle of the next append.
        let p = store.audit_path();
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"time\":\"2026").unwrap();
        let log = store.read_audit().unwrap();
        assert_eq!(log.records.len(), 1);
        assert_eq!(log.skipped.len(), 1);
        let _mark = store
            .audit(
                &lock,
                &[
                    record("revoke", 1, "a", "01", Some("reason=x".into())),
                    record("delete", 1, "a", "01", None),
                ],
            )
            .unwrap();
        let log = store.read_audit().unwrap();
        let ops: Vec<&str> = log.records.iter().map(|r| r.op.as_str()).collect();
        assert_eq!(ops, ["issue", "revoke", "delete"]);
        assert_eq!(log.skipped.len(), 1, "{:?}", log.skipped);
        assert_eq!(store.audit_mode(), Some(0o600));
    }

    #[test]
    fn records_taken_back_leave_the_log_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let lock = store.lock().unwrap();
        let _mark = store
            .audit(&lock, &[record("issue", 1, "a", "01", None)])
            .unwrap();
        let before = std::fs::read(store.audit_path()).unwrap();
        let mark = store
            .audit(&lock, &[record("revoke", 1, "a", "01", None)])
            .unwrap();
        assert_ne!(std::fs::read(store.audit_path()).unwrap(), before);
        store.unaudit(&lock, mark).unwrap();
        assert_eq!(std::fs::read(store.audit_path()).unwrap(), before);
        // Nothing appended, nothing to take back.
        let mark = store.audit(&lock, &[]).unwrap();
        store.unaudit(&lock, mark).unwrap();
        assert_eq!(std::fs::read(store.audit_path()).unwrap(), before);
    }
}
