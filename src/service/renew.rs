//! Renewal: a successor certificate for the same holder.
//!
//! The rules, and why:
//! - **Active or expired** certificates can be renewed. A **revoked** one
//!   (even one that has expired since)
//!   cannot (`Certificate.StatusError`): its access was taken away on
//!   purpose, and a renewal would hand it back without anyone deciding to.
//!   Activate it first if the revocation was a mistake, or issue anew.
//! - A certificate is renewed **once**: when its successor still exists,
//!   renewing it again is a `Certificate.StatusError` that names the
//!   successor (renew that one instead), so the chain never forks.
//! - The successor has the same site, subject (CommonName included), SANs,
//!   Name label and key type. A certificate issued for a CSR keeps its public
//!   key (read from the old certificate; CSRs are not stored), so the holder
//!   only swaps the certificate. A generated key is replaced by a fresh key
//!   of the same type, stored only when `keep_private_keys` is on.
//! - Validity: the old certificate's `ValidityDays` unless given, checked
//!   like issuance (1..=3650, not past the CA).
//! - The old certificate **stays valid** unless `revoke_old` is set; then it
//!   is revoked with reason `superseded` and the CRL is regenerated, in the
//!   same locked step that records the links (`renewed_from` on the new,
//!   `renewed_by` on the old). An expired old certificate is left as it is.
//! - The quota counts the successor like any issuance, except that with
//!   `revoke_old` the certificate being replaced is not counted, so a site
//!   at its limit can still rotate.

use crate::base::clock::{self, esa_time, now_seconds};
use crate::base::limits;
use crate::base::random;

use super::create::{NewLeaf, check_against_ca, created_response};
use super::{Service, pki_err, store_err};
use crate::api::{Lifecycle, RenewResponse, Secret, Status};
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{self, LeafProfile, RenewalSource, RevocationReason};
use crate::store::{Entry, Source, StoredStatus, WriteLock};
use limits::MAX_VALIDITY_DAYS;

impl Service {
    /// Renews certificate `id`: issues its successor and links the two.
    ///
    /// `validity_days`: `None` keeps the old certificate's validity.
    /// `revoke_old`: revoke the old certificate (reason `superseded`) and
    /// regenerate the CRL; otherwise it stays valid until its NotAfter.
    ///
    /// Errors: `InvalidParameter.Id` (malformed or unknown Id),
    /// `Certificate.StatusError` (revoked, or already renewed),
    /// `InvalidParameter.ValidityDays`, `QuotaCheckFailed.Function`,
    /// `InternalException`. On error nothing is changed.
    ///
    /// Generating an RSA key can take a second: call it off the UI thread.
    pub fn renew(
        &self,
        id: &str,
        validity_days: Option<u32>,
        revoke_old: bool,
    ) -> EsaResult<RenewResponse> {
        let id = Self::parse_id(id)?.to_owned();
        let now = now_seconds();
        // Everything that can fail cheaply fails before a slow key generation.
        let old = self.entry(&id)?;
        if let Err(refused) = self.check_renewable(&old) {
            if matches!(self.live_successor(&old)?, Successor::Unlinked(_)) {
                // Refused because a renew was killed before its back link:
                // restore it now (under the lock), so the store says so.
                let lock = self.lock()?;
                self.restore_renew_link(&lock, &mut self.entry(&id)?)?;
            }
            return Err(refused);
        }
        let days = match validity_days {
            // The stored value is checked too: metadata can be edited by hand.
            None if (1..=MAX_VALIDITY_DAYS).contains(&old.meta.validity_days) => {
                old.meta.validity_days
            }
            None => {
                return Err(EsaError::new(
                    ErrorCode::InvalidValidityDays,
                    format!(
                        "certificate {id} records ValidityDays {}, outside 1 to {MAX_VALIDITY_DAYS}; \
                         give the new one's with --validity-days",
                        old.meta.validity_days
                    ),
                ));
            }
            Some(d) if (1..=MAX_VALIDITY_DAYS).contains(&d) => d,
            Some(d) => {
                return Err(EsaError::new(
                    ErrorCode::InvalidValidityDays,
                    format!(
                        "ValidityDays {d} is invalid; expected an integer from 1 to {MAX_VALIDITY_DAYS}"
                    ),
                ));
            }
        };
        let site = self.site(old.meta.site_id)?.clone();
        if let Some(ca_end) = self
            .store
            .ca_meta(site.id)
            .map_err(store_err)?
            .and_then(|ca| clock::parse_esa_time(&ca.not_after))
        {
            check_against_ca(now, days, ca_end)?;
        }
        let source = self.renewal_source(&old)?;
        let generated = match old.meta.source {
            Source::Csr => None,
            Source::Generated => {
                let t = source.key_algorithm.pkey_type().ok_or_else(|| {
                    EsaError::internal(format!(
                        "certificate {id} has a generated {} key, which esa-certs cannot generate",
                        source.key_algorithm
                    ))
                })?;
                Some(pki::generate(t).map_err(pki_err)?)
            }
        };
        let new_id = random::new_id().map_err(EsaError::from)?;

        let lock = self.lock()?;
        // Another writer may have revoked or renewed it meanwhile; a renew
        // killed before its back link left a successor to link first.
        let mut old = self.entry(&id)?;
        self.restore_renew_link(&lock, &mut old)?;
        self.check_renewable(&old)?;
        let revoke = revoke_old && super::status_of(&old.meta, now) == Status::Active;
        self.check_quota(&lock, &site, now, 1, revoke.then_some(id.as_str()))?;
        let (ca, ca_meta) = self.ensure_ca(&lock, &site, now)?;
        check_against_ca(now, days, ca.info.not_after)?;
        if revoke {
            // The CRL it will sign must be signable before anything changes.
            self.check_crl_window(site.id, now)?;
        }

        let (not_before, not_after) = self.leaf_window(&ca, now, days)?;
        let profile = LeafProfile {
            subject: source.subject.clone(),
            raw_subject: source.raw_subject.clone(),
            sans: source.sans.clone(),
            key_algorithm: source.key_algorithm,
            not_before,
            not_after,
        };
        let issued = match &generated {
            Some(g) => pki::issue_leaf(&ca, &profile, &g.public),
            None => pki::issue_leaf(&ca, &profile, &source.public_key),
        }
        .map_err(pki_err)?;
        let meta = NewLeaf {
            id: &new_id,
            site_id: old.meta.site_id,
            name: &old.meta.name,
            common_name: old.meta.common_name.clone(),
            validity_days: days,
            key_algorithm: source.key_algorithm,
            ca_id: &ca_meta.id,
            source: old.meta.source,
            key_stored: generated.is_some() && self.config.store.keep_private_keys,
            csr_sha256: old.meta.csr_sha256.clone(),
            renewed_from: Some(id.clone()),
        }
        .meta(&issued.info, now);
        let key_to_store = generated
            .as_ref()
            .filter(|_| meta.key_stored)
            .map(|g| g.pkcs8_pem.as_str());

        // Order for crash safety: the CRL is marked stale before anything
        // that changes it; the successor is published before the old entry
        // points at it, so a crash never leaves the holder without a valid
        // certificate. The successor's RenewedFrom is the intent: a crash
        // before the back link leaves a successor that the next `renew` of
        // the old one (refused) and `doctor --fix` link back, and until
        // then the old one already counts as renewed (see
        // [`Service::live_successor`]).
        let mut records = vec![super::create::issue_record(
            "renew",
            &meta,
            Some(format!("renewed_from={id}")),
        )];
        if revoke {
            records.push(crate::store::audit_record(
                "revoke",
                site.id,
                &id,
                &old.meta.serial,
                Some(format!("reason=superseded; renewed_by={new_id}")),
            ));
        }
        self.audit(&lock, records)?;
        if revoke {
            self.store
                .mark_crl_stale(&lock, site.id)
                .map_err(store_err)?;
        }
        self.store
            .insert(&lock, &meta, &issued.pem, key_to_store)
            .map_err(store_err)?;
        crate::base::fail::point("renew-after-successor");
        old.meta.renewed_by = Some(new_id.clone());
        old.meta.updated = esa_time(now);
        if revoke {
            old.meta.status = StoredStatus::Revoked;
            old.meta.revoked_at = Some(esa_time(now));
            old.meta.revoke_reason = Some(RevocationReason::Superseded.as_str().to_owned());
        }
        self.store.update(&lock, &old).map_err(store_err)?;
        if revoke {
            self.write_crl(&lock, site.id, &ca, now)?;
        }
        drop(lock);
        tracing::info!(
            old = %id, new = %new_id, site = site.id, serial = %meta.serial,
            revoked_old = revoke, "renewed client certificate"
        );

        Ok(RenewResponse {
            certificate: created_response(
                &meta,
                issued.pem,
                generated.map(|g| Secret(g.pkcs8_pem)).unwrap_or_default(),
            ),
            site_id: site.id,
            site_name: site.name.clone(),
            renewed_from: id,
            old_status: super::status_of(&old.meta, now),
            old_revoked: revoke,
        })
    }

    /// Whether `e` may be renewed now (see the module documentation).
    fn check_renewable(&self, e: &Entry) -> EsaResult<()> {
        // The rule looks at the record too: a revoked certificate that has
        // since expired shows `expired`, and must stay unrenewable.
        let successor = match self.live_successor(e)? {
            Successor::None => None,
            Successor::Linked(next) | Successor::Unlinked(next) => Some(next),
        };
        super::check_lifecycle(
            Lifecycle::Renew,
            &e.meta,
            now_seconds(),
            successor.as_deref(),
        )
    }

    /// The live successor of `e`: the one its RenewedBy names, else a live
    /// certificate whose RenewedFrom names `e` (a renew killed before it
    /// wrote the back link). A deleted successor does not count.
    fn live_successor(&self, e: &Entry) -> EsaResult<Successor> {
        if let Some(next) = &e.meta.renewed_by
            && store_lookup(self, next)?
        {
            return Ok(Successor::Linked(next.clone()));
        }
        Ok(self
            .claimed_successors(e.meta.site_id, &e.meta.id)?
            .into_iter()
            .next()
            .map_or(Successor::None, Successor::Unlinked))
    }

    /// The live certificates of `site` whose RenewedFrom is `id`.
    fn claimed_successors(&self, site: u64, id: &str) -> EsaResult<Vec<String>> {
        let listing = self.store.list(Some(site)).map_err(store_err)?;
        Ok(listing
            .entries
            .iter()
            .filter(|c| c.meta.renewed_from.as_deref() == Some(id))
            .map(|c| c.meta.id.clone())
            .collect())
    }

    /// Restores the RenewedBy link of `old` that a killed renew did not
    /// write: when `old` names no live successor and exactly one live
    /// certificate says it renews `old`. Returns the successor linked.
    /// (Two such certificates are a fork made before this check existed;
    /// it is left for the operator, and `doctor` reports it.)
    pub(super) fn restore_renew_link(
        &self,
        lock: &WriteLock,
        old: &mut Entry,
    ) -> EsaResult<Option<String>> {
        if let Some(next) = &old.meta.renewed_by
            && store_lookup(self, next)?
        {
            return Ok(None);
        }
        let claimed = self.claimed_successors(old.meta.site_id, &old.meta.id)?;
        let [next] = claimed.as_slice() else {
            return Ok(None);
        };
        let next = next.clone();
        old.meta.renewed_by = Some(next.clone());
        old.meta.updated = esa_time(now_seconds());
        self.store.update(lock, old).map_err(store_err)?;
        tracing::warn!(old = %old.meta.id, new = %next, "restored the RenewedBy link of an interrupted renew");
        Ok(Some(next))
    }

    fn renewal_source(&self, e: &Entry) -> EsaResult<RenewalSource> {
        let pem_text = self.store.read_cert(e).map_err(store_err)?;
        let der = pem::parse(&pem_text)
            .map_err(|err| {
                EsaError::internal(format!(
                    "the certificate file of {} is unreadable: {err}",
                    e.meta.id
                ))
            })?
            .into_contents();
        pki::renewal_source(&der).map_err(pki_err)
    }
}

/// Where the live successor of a certificate is recorded.
enum Successor {
    None,
    /// Named by the certificate's RenewedBy.
    Linked(String),
    /// Only its own RenewedFrom names the certificate: the back link was
    /// never written (a renew killed after publishing the successor).
    Unlinked(String),
}

/// Whether certificate `id` is still in the store (not deleted).
fn store_lookup(s: &Service, id: &str) -> EsaResult<bool> {
    match crate::store::check_id(id) {
        Ok(()) => s.store.get(id).map(|e| e.is_some()).map_err(store_err),
        // A damaged link must not block renewal forever.
        Err(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CreateRequest;
    use crate::config;

    fn service_with(extra: &str, site_extra: &str) -> (tempfile::TempDir, Service) {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[store]\npath = \"store\"\n{extra}\n[[site]]\nid = 1\nname = \"a.example\"\n{site_extra}"
        );
        let cfg = config::parse(&text, &dir.path().join("config.toml")).unwrap();
        (dir, Service::open(cfg).unwrap())
    }

    fn service(extra: &str) -> (tempfile::TempDir, Service) {
        service_with(extra, "")
    }

    fn issue(s: &Service, key: &str, days: &str) -> String {
        s.create(&CreateRequest {
            site_id: Some("1".into()),
            validity_days: Some(days.into()),
            pkey_type: Some(key.into()),
            common_name: Some("device-7".into()),
            name: Some("lab printer".into()),
            ..Default::default()
        })
        .unwrap()
        .id
    }

    #[test]
    fn keeps_identity_links_both_and_leaves_the_old_valid() {
        let (_d, s) = service("");
        let old = issue(&s, "ECC_384", "20");
        let r = s.renew(&old, None, false).unwrap();
        let new = &r.certificate.id;
        assert_ne!(new, &old);
        assert_eq!(r.renewed_from, old);
        assert!(!r.old_revoked);
        assert_eq!(r.old_status.as_str(), "active");
        assert_eq!(r.certificate.validity_days, "20");
        assert!(
            !r.certificate.private_key.is_empty(),
            "a fresh key is returned"
        );
        let o = s.get(&old).unwrap().result;
        let n = s.get(new).unwrap().result;
        assert_eq!(o.renewed_by.as_deref(), Some(new.as_str()));
        assert_eq!(n.renewed_from.as_deref(), Some(old.as_str()));
        assert_eq!(
            (n.common_name.as_str(), n.name.as_str()),
            ("device-7", "lab printer")
        );
        assert_eq!(n.pkey_type, "ECC_384");
        assert_eq!(o.status.as_str(), "active");
        assert_ne!(
            s.export(&old, crate::service::ExportWhat::Key).unwrap(),
            s.export(new, crate::service::ExportWhat::Key).unwrap(),
            "a new key"
        );
        // Renewed once: the old one points at its successor.
        let e = s.renew(&old, None, false).unwrap_err();
        assert_eq!(e.code, ErrorCode::StatusError);
        assert!(e.message.contains(new.as_str()), "{}", e.message);
    }

    #[test]
    fn revoke_old_revokes_as_superseded_and_updates_the_crl() {
        let (_d, s) = service("");
        let old = issue(&s, "ED25519", "5");
        let crl_before = s.store().crl(1).unwrap().unwrap().1.number;
        let r = s.renew(&old, Some(9), true).unwrap();
        assert!(r.old_revoked);
        assert_eq!(r.old_status.as_str(), "revoked");
        assert_eq!(r.certificate.validity_days, "9");
        let o = s.get(&old).unwrap().result;
        assert_eq!(o.status.as_str(), "revoked");
        assert_eq!(o.revoke_reason.as_deref(), Some("superseded"));
        let (_, crl) = s.store().crl(1).unwrap().unwrap();
        assert_eq!(crl.number, crl_before + 1);
        assert_eq!(crl.revoked_count, 1);
    }

    #[test]
    fn a_revoked_certificate_is_not_renewed_and_nothing_changes() {
        let (_d, s) = service("");
        let old = issue(&s, "ECC", "5");
        s.revoke(&old, None).unwrap();
        let before = s.list(&Default::default()).unwrap().response.result;
        let e = s.renew(&old, None, false).unwrap_err();
        assert_eq!(e.code, ErrorCode::StatusError);
        assert!(e.message.contains("revoked"), "{}", e.message);
        let after = s.list(&Default::default()).unwrap().response.result;
        assert_eq!(before, after);
        assert_eq!(
            s.renew("0".repeat(32).as_str(), None, false)
                .unwrap_err()
                .code,
            ErrorCode::InvalidId
        );
        assert_eq!(
            s.renew(&old, Some(0), false).unwrap_err().code,
            ErrorCode::StatusError
        );
    }

    #[test]
    fn validity_rules_apply() {
        let (_d, s) = service("[ca]\nvalidity_days = 50\n");
        let old = issue(&s, "ECC", "10");
        for bad in [0, 3651, 51] {
            let e = s.renew(&old, Some(bad), false).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidValidityDays, "{bad}");
        }
        assert!(s.get(&old).unwrap().result.renewed_by.is_none());
    }

    #[test]
    fn a_successor_without_the_back_link_still_counts_and_a_fork_is_reported() {
        let (_d, s) = service("");
        let old = issue(&s, "ECC", "10");
        let new = s.renew(&old, None, false).unwrap().certificate.id;
        // What a renew killed before its last write leaves: no RenewedBy.
        let unlink = |id: &str| {
            let lock = s.lock().unwrap();
            let mut e = s.entry(id).unwrap();
            e.meta.renewed_by = None;
            s.store().update(&lock, &e).unwrap();
        };
        unlink(&old);
        let kinds = |s: &Service| -> Vec<&'static str> {
            s.doctor(false)
                .unwrap()
                .findings
                .iter()
                .map(|f| f.kind)
                .collect()
        };
        assert_eq!(kinds(&s), ["renew-link-missing"]);
        let e = s.renew(&old, None, false).unwrap_err();
        assert_eq!(e.code, ErrorCode::StatusError);
        assert!(e.message.contains(new.as_str()), "{}", e.message);
        assert_eq!(
            s.get(&old).unwrap().result.renewed_by.as_deref(),
            Some(new.as_str()),
            "the refused renew restored the link"
        );
        assert!(kinds(&s).is_empty());

        // Two live successors (a fork made before the check existed):
        // reported, refused, and not "repaired" by picking one.
        let other = issue(&s, "ECC", "10");
        {
            let lock = s.lock().unwrap();
            let mut e = s.entry(&other).unwrap();
            e.meta.renewed_from = Some(old.clone());
            s.store().update(&lock, &e).unwrap();
        }
        assert_eq!(kinds(&s), ["renew-forked"]);
        unlink(&old);
        assert_eq!(kinds(&s), ["renew-forked"]);
        assert_eq!(
            s.renew(&old, None, false).unwrap_err().code,
            ErrorCode::StatusError
        );
        let report = s.doctor(true).unwrap();
        assert!(!report.clean);
        assert!(s.get(&old).unwrap().result.renewed_by.is_none());
    }

    #[test]
    fn revoke_old_frees_its_quota_slot() {
        let (_d, q) = service_with("", "max_client_certificates = 1\n");
        let old = issue(&q, "ECC", "10");
        assert_eq!(
            q.renew(&old, None, false).unwrap_err().code,
            ErrorCode::QuotaCheckFailed
        );
        assert!(q.renew(&old, None, true).is_ok());
    }
}
