//! `doctor`: a read-only check of the whole store, entry by entry.
//!
//! It reports, and never deletes: unreadable or inconsistent metadata,
//! missing or damaged certificates and keys, keys that do not belong to
//! their certificate, orphan files, loose file modes, site CA problems,
//! CRLs that disagree with the statuses, and writes a crash left
//! unfinished. With `fix`, it makes only the repairs that destroy nothing:
//! narrowing modes, letting the write lock settle interrupted writes,
//! regenerating CRLs, restoring the RenewedBy link an interrupted renew did
//! not write, and rebuilding the listing cache. Everything else
//! (a damaged entry, an orphan key) is left for the operator to judge.

use crate::base::clock::{self, now_seconds};
use crate::base::random;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

mod site;
mod tree;

use super::{Service, store_err};
use crate::error::EsaResult;
use crate::pki;
use crate::store::{self, CertMeta, ModeRule, StoredStatus, TreeFinding};
use crate::text::{clip, sanitize};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something is wrong: `doctor` exits with `Store.ProblemsFound`.
    Problem,
    /// Worth knowing, nothing is wrong (e.g. a CA key it could not unlock).
    Note,
}

/// One thing `doctor` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    #[serde(rename = "Severity")]
    pub severity: Severity,
    /// A stable, script-friendly kind (`metadata-unparsable`, `mode-loose`, ...).
    #[serde(rename = "Kind")]
    pub kind: &'static str,
    #[serde(rename = "SiteId", skip_serializing_if = "Option::is_none")]
    pub site_id: Option<u64>,
    #[serde(rename = "Id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "Path")]
    pub path: String,
    /// What is wrong (safe to print: sanitised).
    #[serde(rename = "Detail")]
    pub detail: String,
    /// Repaired by `doctor --fix`.
    #[serde(rename = "Fixed")]
    pub fixed: bool,
}

/// The outcome of a check.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    /// No problem is left (notes do not count).
    #[serde(rename = "Clean")]
    pub clean: bool,
    /// Problems left after any fixes.
    #[serde(rename = "Problems")]
    pub problems: usize,
    #[serde(rename = "Fixed")]
    pub fixed: usize,
    #[serde(rename = "CheckedSites")]
    pub checked_sites: usize,
    #[serde(rename = "CheckedCertificates")]
    pub checked_certificates: usize,
    #[serde(rename = "Findings")]
    pub findings: Vec<Finding>,
}

#[derive(Default)]
struct Diagnosis {
    findings: Vec<Finding>,
    sites: usize,
    certificates: usize,
    /// The latest time the store records (see [`Diagnosis::saw`]).
    newest: Option<Stamp>,
}

/// A time the store records, where, and what it is.
struct Stamp {
    at: time::OffsetDateTime,
    site: u64,
    path: PathBuf,
    what: String,
}

impl Diagnosis {
    /// Notes a time the store records (an ESA time string; unreadable ones
    /// are reported elsewhere) if it is the latest seen so far.
    fn saw(&mut self, at: &str, site: u64, path: &Path, what: impl FnOnce() -> String) {
        let Some(at) = clock::parse_esa_time(at) else {
            return;
        };
        if self.newest.as_ref().is_none_or(|n| at > n.at) {
            self.newest = Some(Stamp {
                at,
                site,
                path: path.to_path_buf(),
                what: what(),
            });
        }
    }

    /// A clock behind the latest time the store records: it was set back
    /// (or another machine with a clock ahead wrote the store). Then new
    /// certificates start at their CA's NotBefore, new CRLs keep the last
    /// thisUpdate, and expiry is judged by the wrong time.
    fn check_clock(&mut self, now: time::OffsetDateTime) {
        let Some(n) = self.newest.take() else {
            return;
        };
        if n.at <= now {
            return;
        }
        let detail = format!(
            "the system clock ({}) is behind the store: {} is {} ({} later); until the clock is set right, new certificates start at their CA's NotBefore, CRLs keep the last thisUpdate, expiry is misjudged",
            clock::esa_time(now),
            n.what,
            clock::esa_time(n.at),
            behind_by((n.at - now).whole_seconds())
        );
        self.problem("clock-behind", Some(n.site), None, &n.path, detail);
    }

    fn add(
        &mut self,
        severity: Severity,
        kind: &'static str,
        site_id: Option<u64>,
        id: Option<&str>,
        path: &Path,
        detail: impl AsRef<str>,
    ) {
        self.findings.push(Finding {
            severity,
            kind,
            site_id,
            id: id.map(str::to_owned),
            path: sanitize(&path.display().to_string()),
            detail: clip(&sanitize(detail.as_ref()), 300),
            fixed: false,
        });
    }

    fn problem(
        &mut self,
        kind: &'static str,
        site: Option<u64>,
        id: Option<&str>,
        path: &Path,
        detail: impl AsRef<str>,
    ) {
        self.add(Severity::Problem, kind, site, id, path, detail);
    }
}

impl Service {
    /// Checks the store. With `fix`, applies the safe repairs first and
    /// reports what was fixed and what is left. Never deletes anything.
    pub fn doctor(&self, fix: bool) -> EsaResult<DoctorReport> {
        let before = self.diagnose()?;
        let mut report = if fix {
            self.apply_fixes(&before.findings)?;
            let after = self.diagnose()?;
            let left: BTreeSet<(&str, &str)> = after
                .findings
                .iter()
                .map(|f| (f.kind, f.path.as_str()))
                .collect();
            let mut findings: Vec<Finding> = before
                .findings
                .iter()
                .cloned()
                .map(|mut f| {
                    f.fixed = !left.contains(&(f.kind, f.path.as_str()));
                    f
                })
                .collect();
            let seen: BTreeSet<(&str, &str)> = before
                .findings
                .iter()
                .map(|f| (f.kind, f.path.as_str()))
                .collect();
            findings.extend(
                after
                    .findings
                    .iter()
                    .filter(|f| !seen.contains(&(f.kind, f.path.as_str())))
                    .cloned(),
            );
            DoctorReport {
                request_id: random::new_request_id(),
                clean: false,
                problems: 0,
                fixed: 0,
                checked_sites: after.sites,
                checked_certificates: after.certificates,
                findings,
            }
        } else {
            DoctorReport {
                request_id: random::new_request_id(),
                clean: false,
                problems: 0,
                fixed: 0,
                checked_sites: before.sites,
                checked_certificates: before.certificates,
                findings: before.findings,
            }
        };
        report.problems = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Problem && !f.fixed)
            .count();
        report.fixed = report.findings.iter().filter(|f| f.fixed).count();
        report.clean = report.problems == 0;
        Ok(report)
    }

    fn apply_fixes(&self, findings: &[Finding]) -> EsaResult<()> {
        // The write lock settles interrupted writes (journal recovery) and
        // regenerates CRLs marked stale.
        let lock = self.lock()?;
        for f in findings.iter().filter(|f| f.kind == "mode-loose") {
            let p = Path::new(&f.path);
            if let Err(e) = self.store.narrow_mode(&lock, p) {
                tracing::warn!(path = %p.display(), error = %e, "doctor could not fix a mode");
            }
        }
        let crl_sites: BTreeSet<u64> = findings
            .iter()
            .filter(|f| f.kind.starts_with("crl-"))
            .filter_map(|f| f.site_id)
            .collect();
        for site in crl_sites {
            if self.store.ca_meta(site).map_err(store_err)?.is_some() {
                self.regenerate_crl(&lock, site, now_seconds())?;
            }
        }
        for f in findings.iter().filter(|f| f.kind == "renew-link-missing") {
            let Some(id) = f.id.as_deref() else { continue };
            if let Some(mut old) = self.store.get(id).map_err(store_err)? {
                self.restore_renew_link(&lock, &mut old)?;
            }
        }
        for site in self.store.site_ids().map_err(store_err)? {
            self.store.rebuild_index(&lock, site).map_err(store_err)?;
        }
        tracing::info!("doctor --fix applied the safe repairs");
        Ok(())
    }

    fn diagnose(&self) -> EsaResult<Diagnosis> {
        let _shared = self.store.read_lock().map_err(store_err)?;
        let mut d = Diagnosis::default();
        self.check_tree(&mut d);
        for name in self.store.leftover_intents().map_err(store_err)? {
            let p = self.store.tmp_path().join(&name);
            d.problem(
                "intent-left",
                None,
                None,
                &p,
                "a write was interrupted (crash or kill); the next write command finishes or undoes it (or doctor --fix)",
            );
        }
        self.check_audit(&mut d);
        self.check_rekey(&mut d);
        let sites = self.store.site_ids().map_err(store_err)?;
        for site in sites {
            d.sites += 1;
            if self.config.site(site).is_none() {
                d.add(
                    Severity::Note,
                    "site-not-in-config",
                    Some(site),
                    None,
                    &self.store.site_dir(site),
                    "the store has a folder for a site the config does not declare",
                );
            }
            self.check_site(site, &mut d)?;
        }
        d.check_clock(now_seconds());
        Ok(d)
    }
}

/// How far behind, for a person: seconds, minutes, hours or days.
fn behind_by(secs: i64) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else if secs < 7200 {
        format!("{} min", secs / 60)
    } else if secs < 172_800 {
        format!("{} h", secs / 3600)
    } else {
        format!("{} days", secs / 86_400)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn behind_by_reads_for_a_person() {
        assert_eq!(super::behind_by(1), "1 s");
        assert_eq!(super::behind_by(600), "10 min");
        assert_eq!(super::behind_by(7200), "2 h");
        assert_eq!(super::behind_by(30 * 86_400), "30 days");
    }
}
