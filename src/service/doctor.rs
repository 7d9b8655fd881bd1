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

    fn check_site(&self, site: u64, d: &mut Diagnosis) -> EsaResult<()> {
        let ca_cert = self.check_ca(site, d);
        let live = self.check_entries(site, &self.store.certs_dir(site), false, d);
        let deleted = self.check_entries(site, &self.store.deleted_dir(site), true, d);
        self.check_renew_links(site, &live, d);
        self.note_times(site, &live, &deleted, d);
        let Some(ca_cert) = ca_cert else {
            return Ok(());
        };
        // The CRL must list exactly the revoked, unexpired serials.
        if let Some(stale) = self.store.crl_marked_stale(site) {
            d.problem(
                "crl-stale",
                Some(site),
                None,
                &stale,
                "a status change was interrupted before the CRL was rewritten; the next write command regenerates it (or doctor --fix)",
            );
        }
        let now = now_seconds();
        let expected: BTreeSet<String> = live
            .iter()
            .chain(deleted.iter())
            .filter(|m| m.status == StoredStatus::Revoked)
            .filter(|m| clock::parse_esa_time(&m.not_after).is_none_or(|na| na > now))
            .map(|m| m.serial.clone())
            .collect();
        let crl_path = self.store.crl_path(site);
        match store::inspect_read(&crl_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => d.problem(
                "crl-missing",
                Some(site),
                None,
                &crl_path,
                "the site CA has no CRL",
            ),
            Err(e) => d.problem("crl-unreadable", Some(site), None, &crl_path, e.to_string()),
            Ok(text) => match pki::crl_serials(&text, &ca_cert) {
                Err(e) => d.problem("crl-unreadable", Some(site), None, &crl_path, e.to_string()),
                Ok(mut listed) => {
                    // Serials no readable entry accounts for stay on the CRL
                    // on purpose (a damaged entry must not un-revoke): noted.
                    let known: BTreeSet<&str> = live
                        .iter()
                        .chain(deleted.iter())
                        .map(|m| m.serial.as_str())
                        .collect();
                    let unknown: Vec<String> = listed
                        .iter()
                        .filter(|s| !known.contains(s.as_str()))
                        .cloned()
                        .collect();
                    if !unknown.is_empty() {
                        d.add(
                            Severity::Note,
                            "crl-kept",
                            Some(site),
                            None,
                            &crl_path,
                            format!(
                                "{} revoked serial(s) on the CRL belong to no readable entry and stay revoked: {:?}",
                                unknown.len(),
                                unknown.iter().take(5).collect::<Vec<_>>()
                            ),
                        );
                        for s in &unknown {
                            listed.remove(s);
                        }
                    }
                    if listed != expected {
                        self.crl_mismatch(site, &crl_path, &expected, &listed, d);
                    }
                }
            },
        }
        Ok(())
    }

    /// Feeds the times the site records to [`Diagnosis::saw`]: its CA's
    /// NotBefore and creation, its CRL's thisUpdate, and each certificate's
    /// NotBefore, creation, last update and revocation.
    fn note_times(&self, site: u64, live: &[CertMeta], deleted: &[CertMeta], d: &mut Diagnosis) {
        let dir = self.store.site_dir(site);
        if let Ok(Some(ca)) = self.store.ca_meta(site) {
            let path = dir.join("ca").join("ca.toml");
            d.saw(&ca.not_before, site, &path, || {
                format!("the NotBefore of the CA of site {site}")
            });
            d.saw(&ca.created, site, &path, || {
                format!("the creation of the CA of site {site}")
            });
        }
        if let Ok(Some((_, crl))) = self.store.crl(site) {
            d.saw(&crl.this_update, site, &dir.join("crl.toml"), || {
                format!("the thisUpdate of the CRL of site {site}")
            });
        }
        for (folder, metas) in [
            (self.store.certs_dir(site), live),
            (self.store.deleted_dir(site), deleted),
        ] {
            for m in metas {
                let path = folder.join(format!("{}.toml", m.id));
                let times = [
                    ("NotBefore", Some(&m.not_before)),
                    ("creation", Some(&m.created)),
                    ("last update", Some(&m.updated)),
                    ("revocation", m.revoked_at.as_ref()),
                ];
                for (what, at) in times {
                    if let Some(at) = at {
                        d.saw(at, site, &path, || {
                            format!("the {what} of certificate {}", m.id)
                        });
                    }
                }
            }
        }
    }

    /// Renewal links: a live certificate whose RenewedFrom names a live
    /// one that does not name it back (RenewedBy) is a renew killed before
    /// its last write; two live successors of one certificate are a fork.
    fn check_renew_links(&self, site: u64, live: &[CertMeta], d: &mut Diagnosis) {
        let by_id: std::collections::HashMap<&str, &CertMeta> =
            live.iter().map(|m| (m.id.as_str(), m)).collect();
        let mut claims: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for m in live {
            if let Some(from) = m.renewed_from.as_deref()
                && by_id.contains_key(from)
            {
                claims.entry(from).or_default().push(m.id.as_str());
            }
        }
        for (old, successors) in claims {
            let linked = by_id
                .get(old)
                .and_then(|m| m.renewed_by.as_deref())
                .filter(|next| by_id.contains_key(next));
            let path = self.store.certs_dir(site).join(format!("{old}.toml"));
            let unlinked: Vec<&str> = successors
                .iter()
                .copied()
                .filter(|s| Some(*s) != linked)
                .collect();
            match (linked, unlinked.as_slice()) {
                (_, []) => {}
                (None, [next]) => d.problem(
                    "renew-link-missing",
                    Some(site),
                    Some(old),
                    &path,
                    format!(
                        "certificate {next} renews this one (its RenewedFrom) but this one has no RenewedBy: a renew was interrupted before its last write; `renew` refuses this one and restores the link (or doctor --fix)"
                    ),
                ),
                _ => d.problem(
                    "renew-forked",
                    Some(site),
                    Some(old),
                    &path,
                    format!(
                        "this certificate has several live successors ({}): it was renewed more than once; revoke or delete the ones not in use (left as it is)",
                        linked
                            .into_iter()
                            .chain(unlinked.iter().copied())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            }
        }
    }

    fn crl_mismatch(
        &self,
        site: u64,
        crl_path: &std::path::Path,
        expected: &BTreeSet<String>,
        listed: &BTreeSet<String>,
        d: &mut Diagnosis,
    ) {
        let missing: Vec<&String> = expected.difference(listed).collect();
        let extra: Vec<&String> = listed.difference(expected).collect();
        d.problem(
            "crl-mismatch",
            Some(site),
            None,
            crl_path,
            format!(
                "the CRL disagrees with the statuses: {} revoked serial(s) missing {:?}, {} listed but not revoked {:?}",
                missing.len(),
                missing.iter().take(5).collect::<Vec<_>>(),
                extra.len(),
                extra.iter().take(5).collect::<Vec<_>>()
            ),
        );
    }

    /// Checks the site CA; returns its certificate PEM when usable.
    fn check_ca(&self, site: u64, d: &mut Diagnosis) -> Option<String> {
        let ca = self.store.inspect_ca(site)?;
        let dir = ca.dir.clone();
        if let Err(e) = &ca.meta {
            d.problem("ca-unreadable", Some(site), None, &ca.meta_path(), e);
        }
        let (cert, key) = match (ca.cert, ca.key) {
            (Err(e), key) => {
                d.problem("ca-unreadable", Some(site), None, &dir.join("ca.pem"), e);
                if let Err(e) = key {
                    d.problem(
                        "ca-unreadable",
                        Some(site),
                        None,
                        &dir.join("ca.key.pem"),
                        e,
                    );
                }
                return None;
            }
            (Ok(cert), Err(e)) => {
                d.problem(
                    "ca-unreadable",
                    Some(site),
                    None,
                    &dir.join("ca.key.pem"),
                    e,
                );
                (cert, None)
            }
            (Ok(cert), Ok(key)) => (cert, Some(key)),
        };
        let Some(der) = pem::parse(&cert).ok().map(pem::Pem::into_contents) else {
            d.problem(
                "ca-unreadable",
                Some(site),
                None,
                &dir.join("ca.pem"),
                "not a PEM certificate",
            );
            return None;
        };
        if let Err(e) = pki::inspect(&der) {
            d.problem(
                "ca-unreadable",
                Some(site),
                None,
                &dir.join("ca.pem"),
                e.to_string(),
            );
            return None;
        }
        let key_path = dir.join("ca.key.pem");
        if let Some(key) = key {
            let protected = pki::is_protected(&key);
            if self.config.ca.protect_key && !protected {
                d.problem(
                    "ca-key-unprotected",
                    Some(site),
                    None,
                    &key_path,
                    "protect_key = true but this CA key is stored in plaintext: run `esa-certs ca rekey-protect`",
                );
            }
            let plain = if protected {
                self.passphrase_if_available().and_then(|pass| {
                    match pki::unprotect(&key, pass.expose()) {
                        Ok(k) => Some(k),
                        Err(pki::UnprotectError::WrongPassphrase) => {
                            d.add(
                                Severity::Note,
                                "ca-key-locked",
                                Some(site),
                                None,
                                &key_path,
                                "the passphrase available does not decrypt this key; it was not checked",
                            );
                            None
                        }
                        Err(e) => {
                            d.problem("ca-unusable", Some(site), None, &key_path, e.to_string());
                            None
                        }
                    }
                })
            } else {
                Some(key)
            };
            match plain {
                Some(k) => match pki::key_matches_cert(&k, &der) {
                    Ok(true) => {}
                    Ok(false) => d.problem(
                        "ca-unusable",
                        Some(site),
                        None,
                        &key_path,
                        "the CA key does not belong to the CA certificate",
                    ),
                    Err(e) => d.problem("ca-unusable", Some(site), None, &key_path, e.to_string()),
                },
                None if protected && self.passphrase_if_available().is_none() => d.add(
                    Severity::Note,
                    "ca-key-locked",
                    Some(site),
                    None,
                    &key_path,
                    "encrypted at rest; set ESA_CERTS_CA_PASSPHRASE_FILE to check that it matches the certificate",
                ),
                None => {}
            }
        }
        Some(cert)
    }

    /// Checks every file of `certs/` (or `deleted/`); returns the readable
    /// metadata.
    fn check_entries(
        &self,
        site: u64,
        folder: &Path,
        deleted: bool,
        d: &mut Diagnosis,
    ) -> Vec<CertMeta> {
        let mut metas = Vec::new();
        let found = self.store.inspect_folder(folder);
        for (path, temporary) in &found.strays {
            let detail = if *temporary {
                "a temporary file of an interrupted write (the next write command removes it)"
            } else {
                "an unexpected file in a certificate folder (left as it is)"
            };
            d.problem("stray-file", Some(site), None, path, detail);
        }
        for files in found.entries {
            let store::EntryFiles {
                id,
                toml: toml_path,
                pem: pem_path,
                key: key_path,
                has_toml,
                has_pem,
                has_key,
            } = files;
            let id = id.as_str();
            if !has_toml {
                for (present, path) in [(has_pem, &pem_path), (has_key, &key_path)] {
                    if present {
                        d.problem(
                            "orphan-file",
                            Some(site),
                            Some(id),
                            path,
                            "no metadata (.toml) for this file: not part of any entry; left as it is",
                        );
                    }
                }
                continue;
            }
            d.certificates += usize::from(!deleted);
            let meta = match crate::store::read_meta(&toml_path) {
                Ok(m) => m,
                Err(e) => {
                    d.problem(
                        "metadata-unparsable",
                        Some(site),
                        Some(id),
                        &toml_path,
                        e.to_string(),
                    );
                    continue;
                }
            };
            if meta.id != id || meta.site_id != site {
                d.problem(
                    "metadata-mismatch",
                    Some(site),
                    Some(id),
                    &toml_path,
                    format!(
                        "the file says id {} of site {}",
                        clip(&meta.id, 40),
                        meta.site_id
                    ),
                );
                continue;
            }
            if !has_pem {
                d.problem(
                    "cert-missing",
                    Some(site),
                    Some(id),
                    &pem_path,
                    "the certificate file is missing",
                );
            } else {
                self.check_cert_file(site, &meta, &pem_path, has_key.then_some(&key_path), d);
            }
            if deleted && has_key {
                d.problem(
                    "key-unexpected",
                    Some(site),
                    Some(id),
                    &key_path,
                    "a deleted certificate still has its private key (it should have been destroyed)",
                );
            } else if !deleted && meta.key_stored && !has_key {
                d.problem(
                    "key-missing",
                    Some(site),
                    Some(id),
                    &key_path,
                    "the metadata says the key is kept, but the key file is missing",
                );
            } else if !deleted && !meta.key_stored && has_key {
                d.problem(
                    "key-unexpected",
                    Some(site),
                    Some(id),
                    &key_path,
                    "a key file for a certificate whose key is not kept",
                );
            }
            metas.push(meta);
        }
        metas
    }

    fn check_cert_file(
        &self,
        site: u64,
        meta: &CertMeta,
        pem_path: &Path,
        key_path: Option<&PathBuf>,
        d: &mut Diagnosis,
    ) {
        let id = Some(meta.id.as_str());
        let der = match store::inspect_read(pem_path)
            .map_err(|e| e.to_string())
            .and_then(|t| pem::parse(t).map_err(|e| e.to_string()))
        {
            Ok(p) if p.tag() == "CERTIFICATE" => p.into_contents(),
            Ok(p) => {
                d.problem(
                    "cert-unparsable",
                    Some(site),
                    id,
                    pem_path,
                    format!("PEM label is {}", p.tag()),
                );
                return;
            }
            Err(e) => {
                d.problem("cert-unparsable", Some(site), id, pem_path, e);
                return;
            }
        };
        match pki::inspect(&der) {
            Err(e) => {
                d.problem("cert-unparsable", Some(site), id, pem_path, e.to_string());
                return;
            }
            Ok(info) => {
                if info.serial_hex != meta.serial
                    || info.fingerprint_sha256 != meta.fingerprint_sha256
                {
                    d.problem(
                        "cert-mismatch",
                        Some(site),
                        id,
                        pem_path,
                        format!(
                            "the certificate (serial {}) is not the one the metadata describes (serial {})",
                            info.serial_hex,
                            clip(&meta.serial, 40)
                        ),
                    );
                } else {
                    // Status and expiry are derived from the metadata: it
                    // must say what the certificate says.
                    let differs = [
                        (
                            "NotBefore",
                            clock::esa_time(info.not_before),
                            &meta.not_before,
                        ),
                        ("NotAfter", clock::esa_time(info.not_after), &meta.not_after),
                        (
                            "CommonName",
                            info.subject_cn.clone().unwrap_or_default(),
                            &meta.common_name,
                        ),
                        (
                            "SignatureAlgorithm",
                            info.signature_algorithm.clone(),
                            &meta.signature_algorithm,
                        ),
                    ];
                    for (field, in_cert, in_meta) in differs {
                        if &in_cert != in_meta {
                            d.problem(
                                "meta-mismatch",
                                Some(site),
                                id,
                                pem_path,
                                format!(
                                    "{field} is {} in the certificate but \"{}\" in the metadata",
                                    sanitize(&in_cert),
                                    clip(&sanitize(in_meta), 60)
                                ),
                            );
                        }
                    }
                }
            }
        }
        if let Some(key_path) = key_path {
            match store::inspect_read(key_path).map(zeroize::Zeroizing::new) {
                Err(e) => d.problem("key-unparsable", Some(site), id, key_path, e.to_string()),
                Ok(key) => match pki::key_matches_cert(&key, &der) {
                    Ok(true) => {}
                    Ok(false) => d.problem(
                        "key-mismatch",
                        Some(site),
                        id,
                        key_path,
                        "the private key does not belong to the certificate",
                    ),
                    Err(e) => d.problem("key-unparsable", Some(site), id, key_path, e.to_string()),
                },
            }
        }
    }
}

impl Service {
    /// The store's walk of its tree, as findings: loose modes, links,
    /// temporaries, FIFOs and devices, layout folders that are not folders.
    fn check_tree(&self, d: &mut Diagnosis) {
        for found in self.store.inspect_tree() {
            match found {
                TreeFinding::LooseMode { path, mode, rule } => {
                    let detail = match rule {
                        ModeRule::Directory => format!("directory mode {mode:03o}; expected 700"),
                        ModeRule::Public => {
                            format!("file mode {mode:03o}; expected 644 or narrower")
                        }
                        ModeRule::Private => format!("file mode {mode:03o}; expected 600"),
                    };
                    d.problem("mode-loose", None, None, &path, detail);
                }
                TreeFinding::Symlink { path } => d.problem(
                    "symlink",
                    None,
                    None,
                    &path,
                    "a symbolic link inside the store: esa-certs never follows one and refuses to use it; replace it with the file it stands for",
                ),
                TreeFinding::Temporary { path } => d.problem(
                    "temporary-left",
                    None,
                    None,
                    &path,
                    "a temporary of an interrupted write; the next write command removes it (or doctor --fix)",
                ),
                TreeFinding::Special { path, kind } => d.problem(
                    "special-file",
                    None,
                    None,
                    &path,
                    format!(
                        "{kind} where the store keeps only regular files: the commands refuse to read it (without waiting on it); replace it with the file it stands for, or remove it"
                    ),
                ),
                TreeFinding::NotADirectory { path, kind } => d.problem(
                    "not-a-directory",
                    None,
                    None,
                    &path,
                    format!(
                        "{kind} where the store keeps a folder: the commands cannot use what it should hold (listing skips it); move it away and restore the folder"
                    ),
                ),
            }
        }
    }

    /// A `ca rekey-protect` cut short: which sites are under the new
    /// passphrase and which still under the old.
    fn check_rekey(&self, d: &mut Diagnosis) {
        let path = self.store.rekey_journal_path();
        let journal = match self.store.rekey_journal() {
            Ok(Some(j)) => j,
            Ok(None) => return,
            Err(e) => {
                d.problem("rekey-interrupted", None, None, &path, e.to_string());
                return;
            }
        };
        let progress = self.store.rekey_progress(&journal);
        let sites = |want: store::RekeyState| -> Vec<u64> {
            progress
                .iter()
                .filter(|(_, s)| *s == want)
                .map(|(site, _)| *site)
                .collect()
        };
        let changed = sites(store::RekeyState::Changed);
        d.problem(
            "rekey-interrupted",
            None,
            None,
            &path,
            format!(
                "`ca rekey-protect` was interrupted: the CA keys of site(s) {:?} are under the new passphrase, those of site(s) {:?} still under the old one{}; run the same command again (current passphrase: the old one) to finish",
                sites(store::RekeyState::Done),
                sites(store::RekeyState::Pending),
                if changed.is_empty() {
                    String::new()
                } else {
                    format!(", and those of site(s) {changed:?} changed since")
                }
            ),
        );
    }

    /// The audit log: lines skipped (notes), or a log that cannot be read.
    fn check_audit(&self, d: &mut Diagnosis) {
        match self.store.read_audit() {
            Ok(log) => {
                for (line, why) in &log.skipped {
                    d.add(
                        Severity::Note,
                        "audit-line-skipped",
                        None,
                        None,
                        &self.store.audit_path(),
                        format!("line {line}: {why}"),
                    );
                }
            }
            Err(e) => d.problem(
                "audit-unreadable",
                None,
                None,
                &self.store.audit_path(),
                format!("{e}; commands that write cannot append their records"),
            ),
        }
    }
}

impl Service {
    /// The passphrase from a non-interactive source (set, or the env file),
    /// for checks that must not prompt.
    fn passphrase_if_available(&self) -> Option<crate::api::Secret> {
        if let Some(p) = self.known_passphrase() {
            return Some(p);
        }
        let path = std::env::var_os(super::CA_PASSPHRASE_ENV).filter(|p| !p.is_empty())?;
        super::read_passphrase_file(Path::new(&path)).ok()
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
