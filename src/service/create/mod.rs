//! CreateClientCertificate: input rules, then issuance under the lock.

use crate::base::clock::{self, esa_time, now_seconds};
use crate::base::random;
use rcgen::DnType;
use time::OffsetDateTime;

use super::{Service, pki_err, store_err};
use crate::api::input::{self, InputRules};
use crate::api::{CreateRequest, CreateResponse, Secret, Status};
use crate::config::Site;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{
    self, CertInfo, GeneratedKey, IssuedCert, KeyAlgorithm, LeafProfile, ParsedCsr, PkeyType,
    SiteCa,
};
use crate::store::{AuditRecord, CaMeta, CertMeta, Source, StoredStatus, WriteLock};

/// Where the certificate's key comes from.
#[derive(Debug, Clone)]
pub enum KeyChoice {
    Generate(PkeyType),
    Csr(Box<ParsedCsr>),
}

/// The public key a leaf is issued for.
pub(super) enum LeafKey<'a> {
    Generated(&'a GeneratedKey),
    Csr(&'a ParsedCsr),
}

/// What distinguishes one leaf from the next of the same request.
pub(super) struct Leaf<'a> {
    pub id: &'a str,
    pub common_name: Option<&'a str>,
    pub name: &'a str,
    pub key: LeafKey<'a>,
}

/// A request that passed every input rule.
#[derive(Debug, Clone)]
pub struct ValidRequest {
    pub site: Site,
    pub validity_days: u32,
    pub key: KeyChoice,
    pub common_name: Option<String>,
    pub name: String,
}

/// What the store records of a new certificate besides what is read from
/// the signed certificate itself (issuance and renewal share it).
pub(super) struct NewLeaf<'a> {
    pub id: &'a str,
    pub site_id: u64,
    pub name: &'a str,
    /// The CommonName asked for: recorded when the certificate has none.
    pub common_name: String,
    pub validity_days: u32,
    pub key_algorithm: KeyAlgorithm,
    pub ca_id: &'a str,
    pub source: Source,
    pub key_stored: bool,
    pub csr_sha256: Option<String>,
    pub renewed_from: Option<String>,
}

impl NewLeaf<'_> {
    /// The metadata of an active certificate issued at `now`.
    pub(super) fn meta(self, info: &CertInfo, now: OffsetDateTime) -> CertMeta {
        CertMeta {
            id: self.id.to_owned(),
            site_id: self.site_id,
            name: self.name.to_owned(),
            common_name: info.subject_cn.clone().unwrap_or(self.common_name),
            serial: info.serial_hex.clone(),
            fingerprint_sha256: info.fingerprint_sha256.clone(),
            not_before: esa_time(info.not_before),
            not_after: esa_time(info.not_after),
            validity_days: self.validity_days,
            key_type: self.key_algorithm.esa_name(),
            signature_algorithm: info.signature_algorithm.clone(),
            issuer: info.issuer_cn.clone().unwrap_or_default(),
            ca_id: self.ca_id.to_owned(),
            source: self.source,
            key_stored: self.key_stored,
            status: StoredStatus::Active,
            san: info.sans.clone(),
            created: esa_time(now),
            updated: esa_time(now),
            revoked_at: None,
            revoke_reason: None,
            renewed_from: self.renewed_from,
            renewed_by: None,
            csr_sha256: self.csr_sha256,
        }
    }
}

impl Service {
    /// The rules' view of this backend: the config's sites and defaults.
    pub fn input_rules(&self) -> &InputRules {
        &self.rules
    }

    /// `SiteId`: required, a number, a site of the config.
    pub fn check_site_id(&self, raw: Option<&str>) -> EsaResult<Site> {
        let id = self.rules.site_id(raw)?;
        self.site(id).cloned()
    }

    /// `ValidityDays` ([`InputRules::validity_days`]).
    pub fn check_validity_days(&self, raw: Option<&str>) -> EsaResult<u32> {
        self.rules.validity_days(raw)
    }

    /// `PkeyType` ([`InputRules::pkey_type`]).
    pub fn check_pkey_type(&self, raw: Option<&str>) -> EsaResult<PkeyType> {
        self.rules.pkey_type(raw)
    }

    /// `CSR` ([`input::csr`]).
    pub fn check_csr(&self, raw: &[u8]) -> EsaResult<ParsedCsr> {
        input::csr(raw)
    }

    /// `CommonName` ([`input::common_name`]).
    pub fn check_common_name(&self, raw: Option<&str>) -> EsaResult<Option<String>> {
        input::common_name(raw)
    }

    /// `Name` ([`input::name`]).
    pub fn check_name(&self, raw: Option<&str>) -> EsaResult<String> {
        input::name(raw)
    }

    /// Applies every input rule, in ESA's order (SiteId first).
    pub fn validate(&self, req: &CreateRequest) -> EsaResult<ValidRequest> {
        let site = self.check_site_id(req.site_id.as_deref())?;
        let validity_days = self.check_validity_days(req.validity_days.as_deref())?;
        let key = match &req.csr {
            Some(csr) => KeyChoice::Csr(Box::new(self.check_csr(csr)?)),
            None => KeyChoice::Generate(self.check_pkey_type(req.pkey_type.as_deref())?),
        };
        Ok(ValidRequest {
            site,
            validity_days,
            key,
            common_name: self.check_common_name(req.common_name.as_deref())?,
            name: self.check_name(req.name.as_deref())?,
        })
    }

    /// CreateClientCertificate.
    pub fn create(&self, req: &CreateRequest) -> EsaResult<CreateResponse> {
        let valid = self.validate(req)?;
        self.create_valid(&valid)
    }

    /// Issues a certificate for a validated request. Key generation happens
    /// before the lock is taken so slow RSA keys do not block other writers.
    pub fn create_valid(&self, v: &ValidRequest) -> EsaResult<CreateResponse> {
        let now = now_seconds();
        // Fail fast, before a slow key generation, when the CA already
        // exists and ends too soon. Checked again under the lock.
        check_against_ca(now, v.validity_days, self.planned_ca_end(&v.site, now)?)?;
        let generated = match &v.key {
            KeyChoice::Generate(t) => Some(pki::generate(*t).map_err(pki_err)?),
            KeyChoice::Csr(_) => None,
        };
        let id = random::new_id().map_err(EsaError::from)?;

        let lock = self.lock()?;
        self.check_quota(&lock, &v.site, now, 1, None)?;
        // Checked before ensure_ca so a refused request never creates a CA.
        check_against_ca(now, v.validity_days, self.planned_ca_end(&v.site, now)?)?;
        let (ca, ca_meta) = self.ensure_ca(&lock, &v.site, now)?;
        check_against_ca(now, v.validity_days, ca.info.not_after)?;

        let csr = match &v.key {
            KeyChoice::Csr(c) => Some(c.as_ref()),
            KeyChoice::Generate(_) => None,
        };
        let leaf = Leaf {
            id: &id,
            common_name: v.common_name.as_deref(),
            name: &v.name,
            key: match (&generated, csr) {
                (Some(g), _) => LeafKey::Generated(g),
                (None, Some(c)) => LeafKey::Csr(c),
                (None, None) => {
                    return Err(EsaError::internal("no public key for the certificate"));
                }
            },
        };
        let (issued, meta) = self.sign_leaf(&ca, &ca_meta, v, &leaf, now)?;
        let key_to_store = generated
            .as_ref()
            .filter(|_| meta.key_stored)
            .map(|g| g.pkcs8_pem.as_str());
        self.audited(
            &lock,
            vec![issue_record("issue", &meta, None)],
            || {
                self.store
                    .insert(&lock, &meta, &issued.pem, key_to_store)
                    .map_err(store_err)
            },
            |r| self.published(&r.id),
        )?;
        drop(lock);
        tracing::info!(
            id = %meta.id, site = meta.site_id, serial = %meta.serial,
            key_type = %meta.key_type, source = ?meta.source, "issued client certificate"
        );

        Ok(created_response(
            &meta,
            issued.pem,
            generated.map(|g| Secret(g.pkcs8_pem)).unwrap_or_default(),
        ))
    }

    /// Signs one leaf with the site CA and describes it for the store.
    ///
    /// ESA's CN rule: the CSR's CN wins; else the CommonName parameter; else
    /// the Id, so certificates with generated keys can always be told apart.
    pub(super) fn sign_leaf(
        &self,
        ca: &SiteCa,
        ca_meta: &CaMeta,
        v: &ValidRequest,
        leaf: &Leaf<'_>,
        now: OffsetDateTime,
    ) -> EsaResult<(IssuedCert, CertMeta)> {
        let csr = match leaf.key {
            LeafKey::Csr(c) => Some(c),
            LeafKey::Generated(_) => None,
        };
        let common_name = csr
            .and_then(|c| c.common_name.clone())
            .or_else(|| leaf.common_name.map(str::to_owned))
            .unwrap_or_else(|| leaf.id.to_owned());
        let (not_before, not_after) = self.leaf_window(ca, now, v.validity_days)?;
        let mut profile = LeafProfile {
            subject: pki::leaf_subject(&common_name),
            raw_subject: None,
            sans: Vec::new(),
            key_algorithm: match leaf.key {
                LeafKey::Csr(c) => c.key_algorithm,
                LeafKey::Generated(g) => g.pkey_type.algorithm(),
            },
            not_before,
            not_after,
        };
        if let Some(c) = csr {
            profile.subject = c.subject.clone();
            profile.raw_subject = c.raw_subject.clone();
            if c.common_name.is_none() {
                profile
                    .subject
                    .push(DnType::CommonName, common_name.as_str());
                if let Some(raw) = &profile.raw_subject {
                    profile.raw_subject =
                        Some(pki::name_with_cn(raw, &common_name).ok_or_else(|| {
                            EsaError::internal("cannot add a CommonName to the CSR's subject")
                        })?);
                }
            }
            profile.sans = c.sans.clone();
        }
        let issued = match leaf.key {
            LeafKey::Generated(g) => pki::issue_leaf(ca, &profile, &g.public),
            LeafKey::Csr(c) => pki::issue_leaf(ca, &profile, &c.public_key),
        }
        .map_err(pki_err)?;

        let meta = NewLeaf {
            id: leaf.id,
            site_id: v.site.id,
            name: leaf.name,
            common_name,
            validity_days: v.validity_days,
            key_algorithm: profile.key_algorithm,
            ca_id: &ca_meta.id,
            source: if csr.is_some() {
                Source::Csr
            } else {
                Source::Generated
            },
            key_stored: csr.is_none() && self.config.store.keep_private_keys,
            csr_sha256: csr.map(|c| c.der_sha256.clone()),
            renewed_from: None,
        }
        .meta(&issued.info, now);
        Ok((issued, meta))
    }

    /// NotBefore and NotAfter of a leaf that `ca` issues at `now` for
    /// `days` days. A certificate never starts before its issuer: with the
    /// clock behind the CA's NotBefore (set back, or the CA made on a
    /// machine whose clock was ahead) it starts at the CA's NotBefore, and a
    /// warning says so. It ends `days` days after its start, not after the
    /// CA (`InvalidParameter.ValidityDays`), checked like every date sum.
    pub(super) fn leaf_window(
        &self,
        ca: &SiteCa,
        now: OffsetDateTime,
        days: u32,
    ) -> EsaResult<(OffsetDateTime, OffsetDateTime)> {
        let start = if now < ca.info.not_before {
            self.store.warn(format!(
                "the system clock ({}) is behind the site CA's NotBefore ({}): the certificate starts at the CA's NotBefore instead, so it is not valid before then; check the system clock",
                esa_time(now),
                esa_time(ca.info.not_before)
            ));
            ca.info.not_before
        } else {
            now
        };
        check_against_ca(start, days, ca.info.not_after)?;
        let end = clock::add_days(start, i64::from(days)).map_err(|e| {
            EsaError::new(
                ErrorCode::InvalidValidityDays,
                format!("ValidityDays {days}: {e}"),
            )
        })?;
        Ok((start, end))
    }

    /// The NotAfter of the site CA: the stored one, or the one a CA created
    /// now from the config would get.
    pub(super) fn planned_ca_end(
        &self,
        site: &Site,
        now: OffsetDateTime,
    ) -> EsaResult<OffsetDateTime> {
        let stored = self.site_ca_meta(site.id)?;
        Ok(match stored {
            Some(m) => clock::parse_esa_time(&m.not_after).ok_or_else(|| {
                EsaError::internal(format!(
                    "the CA of site {} has an unreadable not_after",
                    site.id
                ))
            })?,
            // A clock too far ahead for a CA is an error here, before
            // any key is generated.
            None => clock::add_days(now, i64::from(self.config.ca.validity_days))?,
        })
    }

    /// `max_client_certificates`: non-deleted, non-expired certificates,
    /// plus the `adding` ones about to be issued, not counting `replaced`
    /// (a certificate a renewal revokes).
    pub(super) fn check_quota(
        &self,
        lock: &WriteLock,
        site: &Site,
        now: OffsetDateTime,
        adding: u64,
        replaced: Option<&str>,
    ) -> EsaResult<()> {
        let live = self.live_count(lock, site, now, replaced)?;
        quota_check(site, live, adding)
    }

    /// The site's live (non-deleted, non-expired) certificates, not
    /// counting `replaced`; `None` when the site has no quota (then the
    /// store is not read).
    pub(super) fn live_count(
        &self,
        _lock: &WriteLock,
        site: &Site,
        now: OffsetDateTime,
        replaced: Option<&str>,
    ) -> EsaResult<Option<u64>> {
        if site.max_client_certificates.is_none() {
            return Ok(None);
        }
        let listing = self.store.list(Some(site.id)).map_err(store_err)?;
        Ok(Some(
            listing
                .entries
                .iter()
                .filter(|e| super::status_of(&e.meta, now) != Status::Expired)
                .filter(|e| Some(e.meta.id.as_str()) != replaced)
                .count() as u64,
        ))
    }
}

/// `max_client_certificates` against `live` (from
/// [`Service::live_count`]) plus the `adding` ones about to be issued.
pub(super) fn quota_check(site: &Site, live: Option<u64>, adding: u64) -> EsaResult<()> {
    let (Some(max), Some(live)) = (site.max_client_certificates, live) else {
        return Ok(());
    };
    if live + adding > max {
        return Err(EsaError::new(
            ErrorCode::QuotaCheckFailed,
            format!(
                "site {} already has {live} live client certificates; its max_client_certificates is {max}",
                site.id
            ),
        ));
    }
    Ok(())
}

/// The audit record of a new certificate.
pub(super) fn issue_record(op: &str, meta: &CertMeta, detail: Option<String>) -> AuditRecord {
    let key = if meta.key_stored {
        "key stored"
    } else if meta.source == Source::Csr {
        "csr"
    } else {
        "key not stored"
    };
    let detail = match detail {
        Some(d) => format!("{key}; {d}"),
        None => key.to_owned(),
    };
    crate::store::audit_record(op, meta.site_id, &meta.id, &meta.serial, Some(detail))
}

/// The CreateClientCertificate response for a stored certificate.
pub(super) fn created_response(meta: &CertMeta, pem: String, key: Secret) -> CreateResponse {
    CreateResponse {
        request_id: random::new_request_id(),
        id: meta.id.clone(),
        status: Status::Active,
        certificate: pem,
        private_key: key,
        common_name: meta.common_name.clone(),
        not_before: meta.not_before.clone(),
        not_after: meta.not_after.clone(),
        issuer: meta.issuer.clone(),
        serial_number: meta.serial.clone(),
        fingerprint_sha256: meta.fingerprint_sha256.clone(),
        signature_algorithm: meta.signature_algorithm.clone(),
        validity_days: meta.validity_days.to_string(),
        ca_certificate_id: meta.ca_id.clone(),
    }
}

/// A certificate may not outlive its CA.
pub(super) fn check_against_ca(
    now: OffsetDateTime,
    days: u32,
    ca_end: OffsetDateTime,
) -> EsaResult<()> {
    // Checked: a day count from hand-edited metadata must not overflow.
    let end = clock::add_days(now, i64::from(days)).ok();
    if end.is_none_or(|end| end > ca_end) {
        let max = (ca_end - now).whole_days().max(0);
        if max == 0 {
            // Nothing can be issued under this CA any more: say so, and
            // what to do, rather than "at most 0 days".
            return Err(EsaError::new(
                ErrorCode::InvalidValidityDays,
                format!(
                    "the site CA {} {}: it cannot sign certificates for even one more day \
                     (a CA is never replaced silently)",
                    if ca_end <= now {
                        "expired on"
                    } else {
                        "expires on"
                    },
                    esa_time(ca_end)
                ),
            ));
        }
        return Err(EsaError::new(
            ErrorCode::InvalidValidityDays,
            format!(
                "ValidityDays {days} would end after the site CA ({}); at most {max} days are possible",
                esa_time(ca_end)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
