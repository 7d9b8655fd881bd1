//! The audit trail: reading it (`esa-certs log`), and the service's side of
//! writing it. Each operation appends its records under the write lock
//! before it commits the change they describe (a crash leaves a record and
//! no change, never a change without a record); a change that fails takes
//! its records back ([`Service::audited`]), so the log claims only what was
//! committed.

use crate::base::clock;
use crate::base::random;
use serde::Serialize;

use super::{Service, store_err};
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::store::{AuditMark, AuditRecord, Entry, NewEntry, WriteLock};

/// Filters of `log`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub site_id: Option<u64>,
    pub id: Option<String>,
    /// `YYYY-MM-DDTHH:MM:SSZ`: records at or after it.
    pub since: Option<String>,
}

/// One audited operation, as `log --json` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditEntry {
    #[serde(rename = "Time")]
    pub time: String,
    #[serde(rename = "Operation")]
    pub operation: String,
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "SiteId")]
    pub site_id: u64,
    #[serde(rename = "SerialNumber")]
    pub serial_number: String,
    #[serde(rename = "User")]
    pub user: String,
    /// The real uid (absent in records older than this field).
    #[serde(rename = "Uid", skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(rename = "Pid")]
    pub pid: u32,
    #[serde(rename = "Detail", skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A line of the log that could not be read.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SkippedLine {
    #[serde(rename = "Line")]
    pub line: usize,
    #[serde(rename = "Reason")]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditResponse {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "TotalCount")]
    pub total_count: usize,
    #[serde(rename = "Result")]
    pub result: Vec<AuditEntry>,
    #[serde(rename = "SkippedLines")]
    pub skipped_lines: Vec<SkippedLine>,
}

/// Parses `--since`: a date (`2026-01-31`) or an ESA time.
pub fn parse_since(raw: &str) -> EsaResult<String> {
    let raw = raw.trim();
    let full = if raw.len() == 10 {
        format!("{raw}T00:00:00Z")
    } else {
        raw.to_owned()
    };
    clock::parse_esa_time(&full)
        .map(clock::esa_time)
        .ok_or_else(|| {
            EsaError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "--since {} is not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM:SSZ)",
                    crate::text::quoted(&crate::text::clip(raw, 40))
                ),
            )
        })
}

impl Service {
    /// The audit trail, oldest first, filtered. Unreadable lines (a torn
    /// last line after a crash) are skipped and listed.
    pub fn audit_log(&self, q: &AuditQuery) -> EsaResult<AuditResponse> {
        let log = {
            let _shared = self.store.read_lock().map_err(store_err)?;
            self.store.read_audit().map_err(store_err)?
        };
        let result: Vec<AuditEntry> = log
            .records
            .into_iter()
            .filter(|r| q.site_id.is_none_or(|s| r.site_id == s))
            .filter(|r| q.id.as_deref().is_none_or(|id| r.id == id))
            .filter(|r| q.since.as_deref().is_none_or(|t| r.time.as_str() >= t))
            .map(|r| AuditEntry {
                time: r.time,
                operation: r.op,
                id: r.id,
                site_id: r.site_id,
                serial_number: r.serial,
                user: r.who,
                uid: r.uid,
                pid: r.pid,
                detail: r.detail,
            })
            .collect();
        Ok(AuditResponse {
            request_id: random::new_request_id(),
            total_count: result.len(),
            result,
            skipped_lines: log
                .skipped
                .into_iter()
                .map(|(line, reason)| SkippedLine { line, reason })
                .collect(),
        })
    }
}

impl Service {
    /// Appends audit records under the write lock, for a change that cannot
    /// fail half-way once they are written (see [`Service::audited`] for
    /// one that can).
    pub(super) fn audit(&self, lock: &WriteLock, records: Vec<AuditRecord>) -> EsaResult<()> {
        self.append_audit(lock, &records, true).map(drop)
    }

    fn append_audit(
        &self,
        lock: &WriteLock,
        records: &[AuditRecord],
        sync: bool,
    ) -> EsaResult<AuditMark> {
        let appended = if sync {
            self.store.audit(lock, records)
        } else {
            self.store.audit_unsynced(lock, records)
        };
        appended.map_err(|e| {
            tracing::error!(error = %e, "audit log failure");
            EsaError::internal(format!(
                "the audit log cannot be written, so nothing was done: {e}"
            ))
        })
    }

    /// Whether a live entry with this id exists (when the store cannot
    /// tell, it is taken to exist: a record too many rather than one short).
    pub(super) fn published(&self, id: &str) -> bool {
        !matches!(self.store.get(id), Ok(None))
    }

    /// Appends `records`, then runs `commit`, the change they describe. If
    /// the change fails (a full disk), its records are taken back out of
    /// the log, except those that `happened` says took effect all the same
    /// (it failed after its point of no return, or only some entries of a
    /// batch were published): the log records what was committed.
    pub(super) fn audited<T>(
        &self,
        lock: &WriteLock,
        records: Vec<AuditRecord>,
        commit: impl FnOnce() -> EsaResult<T>,
        happened: impl Fn(&AuditRecord) -> bool,
    ) -> EsaResult<T> {
        self.audited_as(lock, records, true, commit, happened)
    }

    /// Publishes new entries with one sync ([`crate::store::Store::insert_batch`])
    /// and their `issue` records, which that sync makes durable with them.
    pub(super) fn publish_batch(
        &self,
        lock: &WriteLock,
        records: Vec<AuditRecord>,
        items: &[NewEntry<'_>],
    ) -> EsaResult<Vec<Entry>> {
        self.audited_as(
            lock,
            records,
            false,
            || self.store.insert_batch(lock, items).map_err(store_err),
            |r| self.published(&r.id),
        )
    }

    fn audited_as<T>(
        &self,
        lock: &WriteLock,
        records: Vec<AuditRecord>,
        sync: bool,
        commit: impl FnOnce() -> EsaResult<T>,
        happened: impl Fn(&AuditRecord) -> bool,
    ) -> EsaResult<T> {
        let mark = self.append_audit(lock, &records, sync)?;
        let failed = match commit() {
            Ok(done) => return Ok(done),
            Err(e) => e,
        };
        let total = records.len();
        let kept: Vec<AuditRecord> = records.into_iter().filter(|r| happened(r)).collect();
        if kept.len() == total {
            // Every record is still true: the log already says so.
            return Err(failed);
        }
        let also = match self.store.unaudit(lock, mark) {
            Err(e) => Some(format!("its audit record could not be taken back: {e}")),
            Ok(()) if kept.is_empty() => None,
            // Part of a batch was published: its records go back in.
            Ok(()) => self
                .append_audit(lock, &kept, true)
                .err()
                .map(|e| format!("the records of what it did commit were lost: {}", e.message)),
        };
        match also {
            None => Err(failed),
            Some(also) => {
                tracing::error!(error = %also, "the audit log disagrees with the store");
                Err(EsaError {
                    message: format!("{} (and {also})", failed.message),
                    ..failed
                })
            }
        }
    }
}
