//! The ESA operations (Create/List/Get/Revoke/Activate/Delete client
//! certificates, the site CA and its CRL) over the config, the PKI layer and
//! the store. The CLI and the TUI call only this: every rule and every error
//! code lives here once.

mod audit;
mod bulk;
mod create;
mod doctor;
mod protect;
mod renew;
mod types;

pub use audit::{AuditEntry, AuditQuery, AuditResponse, SkippedLine, parse_since};
pub use bulk::{BATCH, MAX_COUNT, numbered};
pub use create::{KeyChoice, ValidRequest};
pub use doctor::{DoctorReport, Finding, Severity};
pub use protect::{
    CA_PASSPHRASE_ENV, PassphrasePrompt, PassphrasePurpose, check_ca_passphrase,
    read_passphrase_file,
};
pub use types::*;

use crate::base::clock::{self, esa_time, now_seconds};
use crate::base::limits::MAX_P12_PASSWORD_CHARS;
use crate::base::random;
use std::collections::HashSet;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::config::{Config, Site};
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{self, CrlEntry, PkiError, RevocationReason, SiteCa};
use crate::store::{
    self, CaMeta, CertMeta, CrlMeta, Damaged, Entry, Store, StoreError, StoredStatus, WriteLock,
};

/// Days before NotAfter at which a certificate counts as expiring soon.
pub const EXPIRING_SOON_DAYS: i64 = 30;

/// The status shown for a certificate: `expired` is derived from NotAfter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Active,
    Revoked,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" => Some(Status::Active),
            "revoked" => Some(Status::Revoked),
            "expired" => Some(Status::Expired),
            _ => None,
        }
    }

    /// The status of a stored certificate at `now`.
    pub fn of(meta: &CertMeta, now: OffsetDateTime) -> Status {
        status_and_days(meta, now).0
    }
}

/// The status and the days left of a stored certificate at `now`, from one
/// parse of its NotAfter (listings of 100k entries need both).
fn status_and_days(meta: &CertMeta, now: OffsetDateTime) -> (Status, Option<i64>) {
    let not_after = clock::parse_esa_time(&meta.not_after);
    let status = match not_after {
        Some(na) if na <= now => Status::Expired,
        _ => match meta.status {
            StoredStatus::Active => Status::Active,
            StoredStatus::Revoked => Status::Revoked,
        },
    };
    (status, not_after.map(|na| (na - now).whole_days()))
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Days left as every front end shows them: a started day counts as one,
/// so a certificate issued now for N days shows N, one with an hour left
/// 1, and one that expired an hour ago -1 (never 0 after NotAfter).
/// Rules such as "expiring within 30 days" use the exact time instead.
pub fn days_shown(not_after: OffsetDateTime, now: OffsetDateTime) -> i64 {
    days_shown_secs((not_after - now).whole_seconds())
}

/// [`days_shown`] for a number of seconds until NotAfter.
pub fn days_shown_secs(secs: i64) -> i64 {
    let days = i64::try_from(secs.unsigned_abs().div_ceil(86_400)).unwrap_or(i64::MAX);
    if secs < 0 { -days } else { days }
}

/// Whole days from `now` to a stored NotAfter (negative once past): for
/// rules (`d < 30` is "less than 30 days on the exact time").
pub fn days_left(meta: &CertMeta, now: OffsetDateTime) -> Option<i64> {
    clock::parse_esa_time(&meta.not_after).map(|na| (na - now).whole_days())
}

/// Filters of ListClientCertificates (ESA has none; these are local).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub site_id: Option<u64>,
    pub status: Option<Status>,
    /// Only active certificates whose NotAfter is within this many days.
    pub expiring_within: Option<u32>,
}

/// A listing plus what could not be read (reported, never fatal).
#[derive(Debug, Clone)]
pub struct ListOutcome {
    pub response: ListResponse,
    pub damaged: Vec<Damaged>,
}

/// What `export` can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportWhat {
    /// The certificate PEM.
    Cert,
    /// The private key PEM (PKCS#8), when it was kept.
    Key,
    /// Certificate then CA certificate, PEM.
    Chain,
    /// The site CA certificate PEM.
    Ca,
    /// The certificate, DER (binary).
    Der,
    /// PKCS#12 with certificate, key and CA (binary, password-protected):
    /// made by [`Service::export_p12`], which takes the password.
    P12,
}

impl ExportWhat {
    /// Whether the output holds a private key (files get mode 0600).
    pub fn is_secret(self) -> bool {
        matches!(self, ExportWhat::Key | ExportWhat::P12)
    }

    /// Whether the output is binary (not for a terminal).
    pub fn is_binary(self) -> bool {
        matches!(self, ExportWhat::Der | ExportWhat::P12)
    }
}

/// Checks a PKCS#12 password: not empty, at most
/// [`MAX_P12_PASSWORD_CHARS`], no control characters (they do not survive
/// the trip through other tools' prompts). The message never quotes it.
pub fn check_p12_password(password: &str) -> EsaResult<()> {
    let bad = |why: &str| {
        Err(EsaError::new(
            ErrorCode::InvalidParameter,
            format!("the PKCS#12 password {why}"),
        ))
    };
    if password.is_empty() {
        return bad("is empty; a PKCS#12 file with a key needs a password");
    }
    if password.chars().count() > MAX_P12_PASSWORD_CHARS {
        return bad(&format!(
            "is longer than {MAX_P12_PASSWORD_CHARS} characters"
        ));
    }
    if password.chars().any(|c| c.is_control()) {
        return bad("contains control characters");
    }
    Ok(())
}

/// The service. Cheap to clone; safe to move to a worker thread.
#[derive(Debug, Clone)]
pub struct Service {
    config: Arc<Config>,
    store: Store,
    passphrases: Arc<protect::Passphrases>,
}

pub(crate) fn store_err(e: StoreError) -> EsaError {
    tracing::error!(error = %e, "store failure");
    EsaError::new(ErrorCode::InternalException, format!("store: {e}"))
}

pub(crate) fn pki_err(e: PkiError) -> EsaError {
    match e {
        PkiError::Csr(reason) => {
            EsaError::new(ErrorCode::InvalidCsr, format!("invalid CSR: {reason}"))
        }
        other => {
            tracing::error!(error = %other, "pki failure");
            EsaError::new(ErrorCode::InternalException, other.to_string())
        }
    }
}

impl Service {
    /// Opens the store named by the config (creating it on first use).
    pub fn open(config: Config) -> EsaResult<Service> {
        let store = Store::open(&config.store.path).map_err(store_err)?;
        Ok(Service {
            config: Arc::new(config),
            store,
            passphrases: protect::new_passphrases(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Takes the store's write lock and repairs what a crashed writer may
    /// have left: a CRL that was marked for regeneration but not rewritten.
    pub(crate) fn lock(&self) -> EsaResult<WriteLock> {
        let lock = self.store.lock().map_err(store_err)?;
        for site in self.store.sites_with_stale_crl().map_err(store_err)? {
            tracing::warn!(
                site,
                "regenerating a CRL left stale by an interrupted writer"
            );
            self.regenerate_crl(&lock, site, now_seconds())?;
        }
        Ok(lock)
    }

    /// Lists entries for a reader: under the shared lock, then, if an index
    /// had to be bypassed, rebuilds it when no writer is busy.
    fn read_listing(&self, site: Option<u64>) -> EsaResult<store::Listing> {
        let listing = {
            let _shared = self.store.read_lock().map_err(store_err)?;
            self.store.list(site).map_err(store_err)?
        };
        if !listing.stale_index.is_empty()
            && let Ok(Some(lock)) = self.store.try_lock()
        {
            {
                for &s in &listing.stale_index {
                    if let Err(e) = self.store.rebuild_index(&lock, s) {
                        tracing::warn!(site = s, error = %e, "could not rebuild the index");
                    }
                }
            }
        }
        Ok(listing)
    }

    fn site(&self, site_id: u64) -> EsaResult<&Site> {
        self.config.site(site_id).ok_or_else(|| {
            EsaError::new(
                ErrorCode::InvalidSiteId,
                format!(
                    "site {site_id} is not in the config ({})",
                    self.config.path.display()
                ),
            )
        })
    }

    fn site_name(&self, site_id: u64) -> String {
        self.config
            .site(site_id)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }

    /// Loads the site CA, creating it (and an empty CRL) on first use.
    fn ensure_ca(
        &self,
        lock: &WriteLock,
        site: &Site,
        now: OffsetDateTime,
    ) -> EsaResult<(SiteCa, CaMeta)> {
        if let Some((ca, meta)) = self.load_site_ca(site.id)? {
            // A crash right after the CA was published leaves it without a
            // CRL: write the first one now.
            if self.store.crl(site.id).map_err(store_err)?.is_none() {
                self.write_crl(lock, site.id, &ca, now)?;
            }
            return Ok((ca, meta));
        }
        let cn = self.config.ca.common_name_for(site);
        let new = pki::create_ca(
            &cn,
            self.config.ca.key_type,
            now,
            self.config.ca.validity_days,
        )
        .map_err(pki_err)?;
        let meta = CaMeta {
            id: random::new_id().map_err(EsaError::from)?,
            site_id: site.id,
            common_name: cn,
            key_type: self.config.ca.key_type.as_esa().to_owned(),
            serial: new.info.serial_hex.clone(),
            fingerprint_sha256: new.info.fingerprint_sha256.clone(),
            not_before: esa_time(new.info.not_before),
            not_after: esa_time(new.info.not_after),
            created: esa_time(now),
        };
        let ca = SiteCa::load(&new.cert_pem, &new.key_pem).map_err(pki_err)?;
        let stored_key = self.key_for_storage(site.id, &new.key_pem)?;
        self.audit(
            lock,
            vec![store::audit_record(
                "ca-create",
                site.id,
                &meta.id,
                &meta.serial,
                self.config
                    .ca
                    .protect_key
                    .then(|| "key encrypted at rest".to_owned()),
            )],
        )?;
        self.store
            .create_ca(lock, &meta, &new.cert_pem, &stored_key)
            .map_err(store_err)?;
        tracing::info!(site = site.id, ca_id = %meta.id, key_type = %meta.key_type, "created site CA");
        self.write_crl(lock, site.id, &ca, now)?;
        Ok((ca, meta))
    }

    // ---- read side ----------------------------------------------------------

    /// Get's `Result` for a stored entry (consumes the metadata: listing
    /// 100k entries should not copy every string twice).
    fn summary(&self, m: CertMeta, now: OffsetDateTime) -> CertSummary {
        let status = Status::of(&m, now);
        self.summary_as(m, status)
    }

    /// [`Service::summary`] with the status already known.
    fn summary_as(&self, m: CertMeta, status: Status) -> CertSummary {
        CertSummary {
            status: status.as_str().to_owned(),
            kind: match m.source {
                store::Source::Generated => "generated".into(),
                store::Source::Csr => "csr".into(),
            },
            san: m.san.join(","),
            pubkey_algorithm: pki::KeyAlgorithm::parse(&m.key_type)
                .map(|k| k.family().to_owned())
                .unwrap_or_default(),
            site_name: self.site_name(m.site_id),
            validity_days: m.validity_days.to_string(),
            id: m.id,
            name: m.name,
            common_name: m.common_name,
            issuer: m.issuer,
            serial_number: m.serial,
            fingerprint_sha256: m.fingerprint_sha256,
            signature_algorithm: m.signature_algorithm,
            ca_certificate_id: m.ca_id,
            not_before: m.not_before,
            not_after: m.not_after,
            create_time: m.created,
            update_time: m.updated,
            site_id: m.site_id,
            pkey_type: m.key_type,
            private_key_stored: m.key_stored,
            revoke_time: m.revoked_at,
            revoke_reason: m.revoke_reason,
            renewed_from: m.renewed_from,
            renewed_by: m.renewed_by,
        }
    }

    /// ListClientCertificates, oldest first.
    pub fn list(&self, q: &ListQuery) -> EsaResult<ListOutcome> {
        if let Some(s) = q.site_id {
            self.site(s)?;
        }
        let listing = self.read_listing(q.site_id)?;
        Ok(self.list_outcome(listing, q, now_seconds()))
    }

    /// The sites with their counts and every certificate, from one read of
    /// the store: what `sites()` and `list(&ListQuery::default())` return,
    /// for half the cost (a front end that shows both on every refresh).
    ///
    /// With `Some(site)` only that site is read: its counts and its
    /// certificates are complete, and every other site is listed with
    /// counts of zero, so a front end can show one site at once and read
    /// the others one by one. Errors: `InvalidParameter.SiteId`, `InternalException`.
    pub fn overview(&self, site: Option<u64>) -> EsaResult<(SitesResponse, ListOutcome)> {
        if let Some(s) = site {
            self.site(s)?;
        }
        let listing = self.read_listing(site)?;
        let now = now_seconds();
        let sites = self.sites_response(&listing.entries, now)?;
        Ok((
            sites,
            self.list_outcome(listing, &ListQuery::default(), now),
        ))
    }

    /// The listing response for the entries of `listing` that match `q`
    /// (its site already applied by the read).
    fn list_outcome(
        &self,
        listing: store::Listing,
        q: &ListQuery,
        now: OffsetDateTime,
    ) -> ListOutcome {
        let keep = |m: &CertMeta, status: Status| {
            q.status.is_none_or(|s| status == s)
                && q.expiring_within.is_none_or(|d| {
                    status == Status::Active
                        && days_left(m, now).is_some_and(|left| left < i64::from(d))
                })
        };
        // One parse of NotAfter per entry, reused for the summary. (Extend,
        // not collect: an in-place collect into smaller items ends with a
        // realloc that copies the whole listing.)
        let mut metas: Vec<(CertMeta, Status)> = Vec::with_capacity(listing.entries.len());
        metas.extend(
            listing
                .entries
                .into_iter()
                .map(|e| {
                    let status = Status::of(&e.meta, now);
                    (e.meta, status)
                })
                .filter(|(m, status)| keep(m, *status)),
        );
        metas.sort_unstable_by(|(a, _), (b, _)| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        let result: Vec<CertSummary> = metas
            .into_iter()
            .map(|(m, status)| self.summary_as(m, status))
            .collect();
        ListOutcome {
            response: ListResponse {
                request_id: random::new_request_id(),
                total_count: result.len(),
                page_number: 1,
                page_size: result.len(),
                site_id: q.site_id,
                site_name: q.site_id.map(|s| self.site_name(s)),
                result,
            },
            damaged: listing.damaged,
        }
    }

    fn parse_id(id: &str) -> EsaResult<&str> {
        let id = id.trim();
        store::check_id(id).map_err(|_| {
            EsaError::new(
                ErrorCode::InvalidId,
                format!(
                    "{} is not a certificate Id (32 lower-case hex digits)",
                    crate::text::quoted(&crate::text::clip(id, 40))
                ),
            )
        })?;
        Ok(id)
    }

    fn entry(&self, id: &str) -> EsaResult<Entry> {
        let id = Self::parse_id(id)?;
        self.store.get(id).map_err(store_err)?.ok_or_else(|| {
            EsaError::new(ErrorCode::InvalidId, format!("no certificate with Id {id}"))
        })
    }

    /// GetClientCertificate.
    pub fn get(&self, id: &str) -> EsaResult<GetResponse> {
        let e = self.entry(id)?;
        let certificate = self.store.read_cert(&e).map_err(store_err)?;
        let result = self.summary(e.meta.clone(), now_seconds());
        Ok(GetResponse {
            request_id: random::new_request_id(),
            site_id: e.meta.site_id,
            site_name: result.site_name.clone(),
            status: result.status.clone(),
            certificate,
            result,
        })
    }

    /// A stamp that changes whenever this or another process publishes a
    /// change to the store (issue, revoke, activate, delete, a new CA). It
    /// costs a few `stat` calls, so a front end can poll it and re-list only
    /// when it moved.
    pub fn change_stamp(&self) -> EsaResult<u64> {
        self.store.change_stamp().map_err(store_err)
    }

    /// The site CA certificate PEM, creating the CA on first use.
    pub fn ca_pem(&self, site_id: u64) -> EsaResult<String> {
        let site = self.site(site_id)?;
        if let Some(pem) = self.store.ca_cert_pem(site_id).map_err(store_err)? {
            return Ok(pem);
        }
        let lock = self.lock()?;
        let (ca, _) = self.ensure_ca(&lock, site, now_seconds())?;
        Ok(ca.cert_pem)
    }

    /// Issues a fresh CRL for the site (next number, thisUpdate = now) and
    /// returns it.
    pub fn crl_pem(&self, site_id: u64) -> EsaResult<String> {
        let site = self.site(site_id)?;
        let lock = self.lock()?;
        let now = now_seconds();
        let (ca, _) = self.ensure_ca(&lock, site, now)?;
        self.write_crl(&lock, site_id, &ca, now)
    }

    /// The site's stored CRL, as the last change left it, without signing
    /// (so without the CA passphrase). Errors: `InvalidParameter.SiteId`;
    /// `InvalidParameter` when the site has no CRL yet.
    pub fn current_crl_pem(&self, site_id: u64) -> EsaResult<String> {
        self.site(site_id)?;
        let _shared = self.store.read_lock().map_err(store_err)?;
        self.store
            .crl_pem(site_id)
            .map_err(store_err)?
            .ok_or_else(|| {
                EsaError::new(
                    ErrorCode::InvalidParameter,
                    format!(
                        "site {site_id} has no CRL yet (it is made with its CA on first use; run esa-certs crl --site-id {site_id})"
                    ),
                )
            })
    }

    /// Sites of the config with their CA and counts.
    pub fn sites(&self) -> EsaResult<SitesResponse> {
        let listing = self.read_listing(None)?;
        self.sites_response(&listing.entries, now_seconds())
    }

    /// Every site of the config with its CA and the counts of `entries`.
    fn sites_response(&self, entries: &[Entry], now: OffsetDateTime) -> EsaResult<SitesResponse> {
        let mut sites = Vec::new();
        for site in &self.config.sites {
            let ca = self.store.ca_meta(site.id).map_err(store_err)?;
            sites.push(SiteSummary {
                site_id: site.id,
                site_name: site.name.clone(),
                ca_certificate_id: ca.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
                ca_common_name: ca
                    .as_ref()
                    .map(|c| c.common_name.clone())
                    .unwrap_or_else(|| self.config.ca.common_name_for(site)),
                ca_not_after: ca.as_ref().map(|c| c.not_after.clone()).unwrap_or_default(),
                ca_key_type: ca
                    .as_ref()
                    .map(|c| c.key_type.clone())
                    .unwrap_or_else(|| self.config.ca.key_type.as_esa().to_owned()),
                active: 0,
                revoked: 0,
                expired: 0,
                expiring_soon: 0,
                max_client_certificates: site.max_client_certificates,
            });
        }
        // One pass over the entries, whatever the number of sites.
        let at: std::collections::HashMap<u64, usize> = sites
            .iter()
            .enumerate()
            .map(|(i, s)| (s.site_id, i))
            .collect();
        for e in entries {
            let Some(s) = at.get(&e.meta.site_id).map(|&i| &mut sites[i]) else {
                continue;
            };
            let (status, left) = status_and_days(&e.meta, now);
            match status {
                Status::Active => {
                    s.active += 1;
                    if left.is_some_and(|d| d < EXPIRING_SOON_DAYS) {
                        s.expiring_soon += 1;
                    }
                }
                Status::Revoked => s.revoked += 1,
                Status::Expired => s.expired += 1,
            }
        }
        Ok(SitesResponse {
            request_id: random::new_request_id(),
            total_count: sites.len(),
            sites,
        })
    }

    /// Exports a certificate's material as bytes. [`ExportWhat::P12`] needs
    /// a password: use [`Service::export_p12`].
    pub fn export(&self, id: &str, what: ExportWhat) -> EsaResult<Vec<u8>> {
        let e = self.entry(id)?;
        let out = match what {
            ExportWhat::Cert => self.store.read_cert(&e).map_err(store_err)?,
            ExportWhat::Ca => self.site_ca_pem(&e)?,
            ExportWhat::Chain => {
                let mut s = self.store.read_cert(&e).map_err(store_err)?;
                if !s.ends_with('\n') {
                    s.push('\n');
                }
                s + &self.site_ca_pem(&e)?
            }
            ExportWhat::Der => return self.cert_der(&e),
            ExportWhat::Key => {
                let key = self.kept_key(&e)?;
                self.check_key_belongs(&e, &key)?;
                self.audit_export(&e, "export-key", None)?;
                tracing::info!(id = %e.meta.id, site = e.meta.site_id, "exported private key");
                return Ok(key.as_bytes().to_vec());
            }
            ExportWhat::P12 => {
                return Err(EsaError::new(
                    ErrorCode::InvalidParameter,
                    "a PKCS#12 export needs a password (Service::export_p12)",
                ));
            }
        };
        Ok(out.into_bytes())
    }

    /// Succeeds when a PKCS#12 (or key) export of `id` is possible: the
    /// certificate exists and its private key was kept. Call it before
    /// asking for a password; the error says why not (CSR, or
    /// `keep_private_keys = false`).
    pub fn check_key_exportable(&self, id: &str) -> EsaResult<()> {
        let e = self.entry(id)?;
        if e.meta.key_stored {
            Ok(())
        } else {
            Err(EsaError::new(
                ErrorCode::InvalidParameter,
                no_key_message(&e.meta),
            ))
        }
    }

    /// Builds a PKCS#12 bundle of certificate `id`: the certificate, its
    /// private key and the site CA, encrypted with `password` (checked with
    /// [`check_p12_password`]) in `mode`. The friendly name is the
    /// certificate's Name, else its CommonName. Nothing is written: the
    /// caller stores the bytes (mode 0600). Errors: `InvalidParameter.Id`,
    /// `InvalidParameter` (no kept key, bad password), `InternalException`.
    pub fn export_p12(
        &self,
        id: &str,
        password: &Secret,
        mode: pki::P12Mode,
    ) -> EsaResult<zeroize::Zeroizing<Vec<u8>>> {
        let e = self.entry(id)?;
        let key = self.kept_key(&e)?;
        check_p12_password(password.expose())?;
        let cert = self.store.read_cert(&e).map_err(store_err)?;
        let ca = self.site_ca_pem(&e)?;
        let friendly = if e.meta.name.trim().is_empty() {
            &e.meta.common_name
        } else {
            &e.meta.name
        };
        let p12 = pki::build_p12(&pki::P12Input {
            cert_pem: &cert,
            key_pem: &key,
            ca_pem: &ca,
            friendly_name: friendly,
            password: password.expose(),
            mode,
        })
        .map_err(pki_err)?;
        self.audit_export(&e, "export-p12", Some(format!("mode={}", mode.label())))?;
        tracing::info!(
            id = %e.meta.id, site = e.meta.site_id, mode = mode.label(),
            "exported PKCS#12 with the private key"
        );
        Ok(p12)
    }

    /// Records that a key left the store (under the write lock, so the
    /// line never interleaves with another process's).
    fn audit_export(&self, e: &Entry, op: &str, detail: Option<String>) -> EsaResult<()> {
        let lock = self.lock()?;
        self.audit(
            &lock,
            vec![store::audit_record(
                op,
                e.meta.site_id,
                &e.meta.id,
                &e.meta.serial,
                detail,
            )],
        )
    }

    /// Refuses to hand out a key file that does not belong to the entry's
    /// certificate (a store damaged or tampered with).
    fn check_key_belongs(&self, e: &Entry, key: &str) -> EsaResult<()> {
        match pki::key_matches_cert(key, &self.cert_der(e)?) {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(EsaError::internal(format!(
                "the key file {} does not belong to certificate {}; nothing was exported (see esa-certs doctor)",
                e.key_path().display(),
                e.meta.id
            ))),
        }
    }

    fn cert_der(&self, e: &Entry) -> EsaResult<Vec<u8>> {
        let text = self.store.read_cert(e).map_err(store_err)?;
        let block = pem::parse(&text).map_err(|err| {
            EsaError::internal(format!(
                "the certificate file {} is unreadable: {err}",
                e.cert_path().display()
            ))
        })?;
        Ok(block.into_contents())
    }

    fn kept_key(&self, e: &Entry) -> EsaResult<zeroize::Zeroizing<String>> {
        self.store
            .read_key(e)
            .map_err(store_err)?
            .ok_or_else(|| EsaError::new(ErrorCode::InvalidParameter, no_key_message(&e.meta)))
    }

    fn site_ca_pem(&self, e: &Entry) -> EsaResult<String> {
        self.store
            .ca_cert_pem(e.meta.site_id)
            .map_err(store_err)?
            .ok_or_else(|| {
                EsaError::internal(format!("the CA of site {} is missing", e.meta.site_id))
            })
    }

    // ---- lifecycle ------------------------------------------------------------

    fn status_change(
        &self,
        id: &str,
        op: &'static str,
        allowed: &[Status],
        apply: impl FnOnce(&mut CertMeta, OffsetDateTime),
    ) -> EsaResult<(Entry, WriteLock)> {
        let id = Self::parse_id(id)?.to_owned();
        let lock = self.lock()?;
        let mut e = self.entry(&id)?;
        let now = now_seconds();
        let status = Status::of(&e.meta, now);
        if !allowed.contains(&status) {
            let need: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            return Err(EsaError::new(
                ErrorCode::StatusError,
                format!(
                    "certificate {id} is {status}; {op} needs a certificate that is {}",
                    need.join(" or ")
                ),
            ));
        }
        apply(&mut e.meta, now);
        e.meta.updated = esa_time(now);
        Ok((e, lock))
    }

    fn change_response(&self, e: &Entry) -> StatusChangeResponse {
        StatusChangeResponse {
            request_id: random::new_request_id(),
            site_id: e.meta.site_id,
            site_name: self.site_name(e.meta.site_id),
            id: e.meta.id.clone(),
        }
    }

    /// RevokeClientCertificate: active → revoked, and a new CRL.
    pub fn revoke(
        &self,
        id: &str,
        reason: Option<RevocationReason>,
    ) -> EsaResult<StatusChangeResponse> {
        let (e, lock) = self.status_change(id, "revoke", &[Status::Active], |m, now| {
            m.status = StoredStatus::Revoked;
            m.revoked_at = Some(esa_time(now));
            m.revoke_reason = reason.map(|r| r.as_str().to_owned());
        })?;
        let detail = reason.map(|r| format!("reason={}", r.as_str()));
        self.commit_status(&lock, &e, "revoke", detail)?;
        tracing::info!(id = %e.meta.id, site = e.meta.site_id, serial = %e.meta.serial, "revoked");
        Ok(self.change_response(&e))
    }

    /// ActivateClientCertificate: revoked → active, and a new CRL.
    pub fn activate(&self, id: &str) -> EsaResult<StatusChangeResponse> {
        let (e, lock) = self.status_change(id, "activate", &[Status::Revoked], |m, _| {
            m.status = StoredStatus::Active;
            m.revoked_at = None;
            m.revoke_reason = None;
        })?;
        self.commit_status(&lock, &e, "activate", None)?;
        tracing::info!(id = %e.meta.id, site = e.meta.site_id, serial = %e.meta.serial, "activated");
        Ok(self.change_response(&e))
    }

    /// DeleteClientCertificate: a revoked (or expired) certificate leaves
    /// the lists; a revoked one stays on the CRL until it expires.
    pub fn delete(&self, id: &str) -> EsaResult<StatusChangeResponse> {
        let (e, lock) =
            self.status_change(id, "delete", &[Status::Revoked, Status::Expired], |_, _| {})?;
        self.audit(
            &lock,
            vec![store::audit_record(
                "delete",
                e.meta.site_id,
                &e.meta.id,
                &e.meta.serial,
                None,
            )],
        )?;
        self.store.delete(&lock, &e).map_err(store_err)?;
        tracing::info!(id = %e.meta.id, site = e.meta.site_id, serial = %e.meta.serial, "deleted");
        Ok(self.change_response(&e))
    }

    /// Writes a changed status, then the CRL. The CA (and its passphrase)
    /// is loaded before anything changes, so a missing or wrong passphrase
    /// leaves the store as it was. The CRL is marked stale before the
    /// status changes, so a crash between the two is repaired by the next
    /// writer.
    fn commit_status(
        &self,
        lock: &WriteLock,
        e: &Entry,
        op: &str,
        detail: Option<String>,
    ) -> EsaResult<()> {
        let site = e.meta.site_id;
        let ca = self.load_site_ca(site)?.map(|(ca, _)| ca);
        self.audit(
            lock,
            vec![store::audit_record(
                op,
                site,
                &e.meta.id,
                &e.meta.serial,
                detail,
            )],
        )?;
        self.store.mark_crl_stale(lock, site).map_err(store_err)?;
        self.store.update(lock, e).map_err(store_err)?;
        match ca {
            Some(ca) => self.write_crl(lock, site, &ca, now_seconds()).map(|_| ()),
            None => self.store.clear_crl_stale(lock, site).map_err(store_err),
        }
    }

    fn regenerate_crl(&self, lock: &WriteLock, site_id: u64, now: OffsetDateTime) -> EsaResult<()> {
        let Some((ca, _)) = self.load_site_ca(site_id)? else {
            return self.store.clear_crl_stale(lock, site_id).map_err(store_err);
        };
        self.write_crl(lock, site_id, &ca, now).map(|_| ())
    }

    /// Signs and stores the next CRL of a site: every revoked, unexpired
    /// certificate, deleted ones included.
    fn write_crl(
        &self,
        lock: &WriteLock,
        site_id: u64,
        ca: &SiteCa,
        now: OffsetDateTime,
    ) -> EsaResult<String> {
        let live = self.store.list(Some(site_id)).map_err(store_err)?;
        let deleted = self.store.list_deleted(site_id).map_err(store_err)?;
        let mut entries: Vec<CrlEntry> = live
            .entries
            .iter()
            .chain(deleted.entries.iter())
            .filter(|e| e.meta.status == StoredStatus::Revoked)
            .filter(|e| clock::parse_esa_time(&e.meta.not_after).is_none_or(|na| na > now))
            .map(|e| CrlEntry {
                serial_hex: e.meta.serial.clone(),
                revoked_at: e
                    .meta
                    .revoked_at
                    .as_deref()
                    .and_then(clock::parse_esa_time)
                    .unwrap_or(now),
                reason: e
                    .meta
                    .revoke_reason
                    .as_deref()
                    .and_then(RevocationReason::parse),
            })
            .collect();
        // What the current CRL says is kept where no readable entry says
        // otherwise: a damaged metadata file must never quietly un-revoke
        // a certificate (doctor reports such serials as crl-kept).
        let previous = self.previous_crl(site_id, ca);
        let known: HashSet<&str> = live
            .entries
            .iter()
            .chain(deleted.entries.iter())
            .map(|e| e.meta.serial.as_str())
            .collect();
        if let Some(prev) = &previous {
            let mut kept = 0usize;
            for old in &prev.entries {
                if !known.contains(old.serial_hex.as_str()) {
                    entries.push(old.clone());
                    kept += 1;
                }
            }
            if kept > 0 {
                tracing::warn!(
                    site = site_id,
                    kept,
                    "kept revoked serials that no readable entry accounts for"
                );
            }
        }
        entries.sort_by(|a, b| a.serial_hex.cmp(&b.serial_hex));
        // The next number follows both the state file and the CRL itself,
        // so losing either never makes numbers go back.
        let last = self
            .store
            .crl(site_id)
            .ok()
            .flatten()
            .map(|(_, m)| m.number)
            .into_iter()
            .chain(previous.as_ref().and_then(|p| p.number))
            .max()
            .unwrap_or(0);
        let number = last.checked_add(1).ok_or_else(|| {
            EsaError::internal(format!(
                "the CRL number of site {site_id} cannot grow past {last}"
            ))
        })?;
        let days = self.config.crl.next_update_days;
        let pem = pki::make_crl(ca, number, now, days, &entries).map_err(pki_err)?;
        let meta = CrlMeta {
            number,
            this_update: esa_time(now),
            next_update: esa_time(now + Duration::days(i64::from(days))),
            revoked_count: entries.len(),
        };
        self.store
            .write_crl(lock, site_id, &pem, &meta)
            .map_err(store_err)?;
        self.store
            .clear_crl_stale(lock, site_id)
            .map_err(store_err)?;
        tracing::info!(site = site_id, number, revoked = entries.len(), "wrote CRL");
        Ok(pem)
    }
}

impl Service {
    /// The site's current CRL, when it is there and signed by its CA.
    fn previous_crl(&self, site_id: u64, ca: &SiteCa) -> Option<pki::ReadCrl> {
        let pem = self.store.crl_pem(site_id).ok().flatten()?;
        match pki::read_crl(&pem, &ca.cert_pem) {
            Ok(crl) => Some(crl),
            Err(e) => {
                tracing::warn!(site = site_id, error = %e, "the current CRL is unreadable; not carried over");
                None
            }
        }
    }
}

fn no_key_message(m: &CertMeta) -> String {
    match m.source {
        store::Source::Csr => format!(
            "certificate {} was issued for a CSR: its private key never left the requester",
            m.id
        ),
        store::Source::Generated => format!(
            "the private key of certificate {} was not kept (keep_private_keys = false): it was shown once at issuance",
            m.id
        ),
    }
}
