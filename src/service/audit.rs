//! Reading the audit trail (`esa-certs log`). Writing it is part of each
//! operation (see `crate::store` `audit`).

use crate::base::clock;
use crate::base::random;
use serde::Serialize;

use super::{Service, store_err};
use crate::error::{ErrorCode, EsaError, EsaResult};

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
