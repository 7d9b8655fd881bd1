//! Revoke, activate and delete: the status rules of [`crate::api::Lifecycle`]
//! checked under the store lock, the change audited, then the CRL.

use time::OffsetDateTime;

use super::{Service, check_lifecycle, store_err};
use crate::api::{Lifecycle, StatusChangeResponse};
use crate::base::clock::{esa_time, now_seconds};
use crate::base::random;
use crate::error::EsaResult;
use crate::pki::RevocationReason;
use crate::store::{self, CertMeta, Entry, StoredStatus, WriteLock};

impl Service {
    fn status_change(
        &self,
        id: &str,
        op: Lifecycle,
        apply: impl FnOnce(&mut CertMeta, OffsetDateTime),
    ) -> EsaResult<(Entry, super::ServiceLock)> {
        let id = Self::parse_id(id)?.to_owned();
        let lock = self.lock()?;
        let mut e = self.entry(&id)?;
        let now = now_seconds();
        check_lifecycle(op, &e.meta, now, None)?;
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
        let (e, lock) = self.status_change(id, Lifecycle::Revoke, |m, now| {
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
        let (e, lock) = self.status_change(id, Lifecycle::Activate, |m, _| {
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
        let (e, lock) = self.status_change(id, Lifecycle::Delete, |_, _| {})?;
        self.audited(
            &lock,
            vec![store::audit_record(
                "delete",
                e.meta.site_id,
                &e.meta.id,
                &e.meta.serial,
                None,
            )],
            || self.store.delete(&lock, &e).map_err(store_err),
            // Past its point of no return a failed delete is finished by
            // recovery: it happened unless the entry is still live.
            |_| !matches!(self.store.get(&e.meta.id), Ok(Some(_))),
        )?;
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
        // Likewise the CRL's dates: a clock too far ahead refuses the
        // change instead of committing it without its CRL.
        let now = now_seconds();
        if ca.is_some() {
            self.check_crl_window(site, now)?;
        }
        // Whether the entry on disk holds the new status (a failed update
        // may have failed after its rename).
        let written = || !matches!(self.store.get(&e.meta.id), Ok(Some(now)) if now.meta != e.meta);
        self.audited(
            lock,
            vec![store::audit_record(
                op,
                site,
                &e.meta.id,
                &e.meta.serial,
                detail,
            )],
            || {
                self.store.mark_crl_stale(lock, site).map_err(store_err)?;
                self.store.update(lock, e).map_err(|err| {
                    // The status did not change, so the CRL is not stale.
                    if !written()
                        && let Err(clear) = self.store.clear_crl_stale(lock, site)
                    {
                        tracing::warn!(site, error = %clear, "left a CRL marked stale");
                    }
                    store_err(err)
                })
            },
            |_| written(),
        )?;
        // From here the change is committed; a CRL that cannot be written
        // stays marked stale and the next writer regenerates it.
        crate::base::fail::point("status-before-crl");
        match ca {
            Some(ca) => self.write_crl(lock, site, &ca, now).map(|_| ()),
            None => self.store.clear_crl_stale(lock, site).map_err(store_err),
        }
    }
}
