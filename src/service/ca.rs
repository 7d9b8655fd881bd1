//! The site CA (created on first use) and its CRL: signed after every
//! change to the set of revoked certificates, on demand, or as stored.

use std::collections::HashSet;
use std::sync::Arc;

use time::OffsetDateTime;

use super::{Service, pki_err, store_err};
use crate::base::clock::{self, esa_time, now_seconds};
use crate::base::random;
use crate::config::Site;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{self, CrlEntry, RevocationReason, SiteCa};
use crate::store::{self, CaMeta, CrlMeta, StoredStatus, WriteLock};

impl Service {
    /// Loads the site CA, creating it (and an empty CRL) on first use.
    pub(super) fn ensure_ca(
        &self,
        lock: &WriteLock,
        site: &Site,
        now: OffsetDateTime,
    ) -> EsaResult<(Arc<SiteCa>, CaMeta)> {
        if let Some((ca, meta)) = self.load_site_ca(site.id)? {
            // A crash right after the CA was published leaves it without a
            // CRL: write the first one now.
            if !self.store.has_crl(site.id).map_err(store_err)? {
                self.write_crl(lock, site.id, &ca, now)?;
            }
            return Ok((ca, meta));
        }
        // The CA's first CRL must be signable too, or no CA is made.
        self.check_crl_window(site.id, now)?;
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
        self.audited(
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
            || {
                self.store
                    .create_ca(lock, &meta, &new.cert_pem, &stored_key)
                    .map_err(store_err)
            },
            |_| !matches!(self.store.ca_meta(site.id), Ok(None)),
        )?;
        tracing::info!(site = site.id, ca_id = %meta.id, key_type = %meta.key_type, "created site CA");
        self.write_crl(lock, site.id, &ca, now)?;
        Ok((Arc::new(ca), meta))
    }

    /// The site CA certificate PEM, creating the CA on first use.
    pub fn ca_pem(&self, site_id: u64) -> EsaResult<String> {
        let site = self.site(site_id)?;
        if let Some(pem) = self.store.ca_cert_pem(site_id).map_err(store_err)? {
            return Ok(pem);
        }
        let lock = self.lock()?;
        let (ca, _) = self.ensure_ca(&lock, site, now_seconds())?;
        Ok(ca.cert_pem.clone())
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
    /// (so without the CA passphrase), unless a status change was cut short
    /// before its CRL was signed (the store marks the CRL stale first). A
    /// stale CRL may miss a revocation, so it is never served: it is
    /// regenerated first when the CA key opens without asking (plaintext,
    /// or a passphrase set or in `ESA_CERTS_CA_PASSPHRASE_FILE`), else
    /// refused with `InvalidParameter.CAPassphrase` saying how to
    /// regenerate it. Errors: `InvalidParameter.SiteId`; `InvalidParameter`
    /// when the site has no CRL yet; `InternalException` when a stale CRL
    /// cannot be regenerated (a read-only store).
    pub fn current_crl_pem(&self, site_id: u64) -> EsaResult<String> {
        self.site(site_id)?;
        let stale = {
            let _shared = self.store.read_lock().map_err(store_err)?;
            self.store.crl_marked_stale(site_id).is_some()
        };
        if stale {
            self.refresh_stale_crl(site_id)?;
        }
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

    /// Regenerates a CRL marked stale for `crl --current`, which never asks
    /// for a passphrase: see [`Service::current_crl_pem`].
    fn refresh_stale_crl(&self, site_id: u64) -> EsaResult<()> {
        let stale = |what_now: String| {
            format!(
                "the stored CRL of site {site_id} is stale: a revoke or activate was interrupted \
                 (crash or kill) after the status changed and before the CRL was signed again, \
                 so it may miss a revocation; {what_now}"
            )
        };
        if self.needs_ca_passphrase(site_id)? {
            return Err(super::protect::passphrase_error(stale(format!(
                "it was not printed. Sign a fresh one with the CA passphrase: \
                 `esa-certs crl --site-id {site_id}` (or `esa-certs doctor --fix`), \
                 or `crl --current` with {} set",
                super::CA_PASSPHRASE_ENV
            ))));
        }
        tracing::warn!(
            site = site_id,
            "crl --current: regenerating a stale CRL first"
        );
        // Taking the write lock regenerates every CRL marked stale.
        self.lock().map(drop).map_err(|e| {
            EsaError::new(
                e.code,
                stale(format!("it cannot be regenerated here: {}", e.message)),
            )
        })
    }

    pub(super) fn regenerate_crl(
        &self,
        lock: &WriteLock,
        site_id: u64,
        now: OffsetDateTime,
    ) -> EsaResult<()> {
        let Some((ca, _)) = self.load_site_ca(site_id)? else {
            return self.store.clear_crl_stale(lock, site_id).map_err(store_err);
        };
        self.write_crl(lock, site_id, &ca, now).map(|_| ())
    }

    /// Signs and stores the next CRL of a site: every revoked, unexpired
    /// certificate, deleted ones included.
    pub(super) fn write_crl(
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
        // So do the dates: thisUpdate never goes back (see crl_window).
        let stored = self.store.crl(site_id).ok().flatten().map(|(_, m)| m);
        let last = stored
            .as_ref()
            .map(|m| m.number)
            .into_iter()
            .chain(previous.as_ref().and_then(|p| p.number))
            .max()
            .unwrap_or(0);
        let number = last.checked_add(1).ok_or_else(|| {
            EsaError::internal(format!(
                "the CRL number of site {site_id} cannot grow past {last}"
            ))
        })?;
        let (this_update, next_update) = self.crl_window(
            site_id,
            now,
            last_crl_update(stored.as_ref(), previous.as_ref()),
        )?;
        let pem = pki::make_crl(ca, number, this_update, next_update, &entries).map_err(pki_err)?;
        let meta = CrlMeta {
            number,
            this_update: esa_time(this_update),
            next_update: esa_time(next_update),
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
    /// The thisUpdate and nextUpdate of the site's next CRL at `now`, given
    /// the `last` thisUpdate it had. thisUpdate is now, but never before
    /// `last`: with the clock set back, the new CRL keeps the last
    /// thisUpdate (a relying party may take an older thisUpdate for a
    /// replayed CRL), and a warning says so. nextUpdate is
    /// `[crl] next_update_days` after thisUpdate, checked: a clock far
    /// ahead answers `InternalException`, and nothing is signed.
    fn crl_window(
        &self,
        site_id: u64,
        now: OffsetDateTime,
        last: Option<OffsetDateTime>,
    ) -> EsaResult<(OffsetDateTime, OffsetDateTime)> {
        let this_update = match last {
            Some(last) if now < last => {
                self.store.warn(format!(
                    "the system clock ({}) is behind the last CRL of site {site_id} (thisUpdate {}): the new CRL keeps that thisUpdate, so CRLs never go back in time; check the system clock",
                    esa_time(now),
                    esa_time(last)
                ));
                last
            }
            _ => now,
        };
        let days = i64::from(self.config.crl.next_update_days);
        Ok((this_update, clock::add_days(this_update, days)?))
    }

    /// Fails as [`Self::write_crl`] would on its dates (a clock too far
    /// ahead). Callers that change the store before they sign a CRL ask
    /// this first, so such a clock refuses the change instead of leaving
    /// it without its CRL.
    pub(super) fn check_crl_window(&self, site_id: u64, now: OffsetDateTime) -> EsaResult<()> {
        let stored = self.store.crl(site_id).ok().flatten().map(|(_, m)| m);
        self.crl_window(site_id, now, last_crl_update(stored.as_ref(), None))
            .map(drop)
    }

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

/// The latest thisUpdate the site's CRL has had: `crl.toml`'s and the
/// CRL's own, so losing either never lets thisUpdate go back.
fn last_crl_update(
    stored: Option<&CrlMeta>,
    previous: Option<&pki::ReadCrl>,
) -> Option<OffsetDateTime> {
    stored
        .and_then(|m| clock::parse_esa_time(&m.this_update))
        .into_iter()
        .chain(previous.map(|p| p.this_update))
        .max()
}
