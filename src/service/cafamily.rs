//! UploadClientCaCertificate, Get/List/DeleteClientCaCertificate(s) and the
//! four *Hostnames operations: a site's verify-only trust anchors and the
//! hostnames each CA (or certificate) is bound to.
//!
//! An uploaded CA never signs anything here: it joins the site's trust
//! bundle ([`Service::trust_bundle`]: the managed CA, then every upload),
//! which is what a TLS server such as nginx verifies clients against.
//! Hostname bindings say which of the site's hostnames ask for client
//! certificates from which CA. With no `Id`, a binding is the site's
//! managed CA's.

use super::{Service, pki_err, store_err};
use crate::api::{StatusChangeResponse, input, wire};
use crate::base::clock::{self, esa_time, now_seconds};
use crate::base::limits::MAX_UPLOAD_BYTES;
use crate::base::random;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki;
use crate::store::{self, UploadMeta};

/// What a hostname binding is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingTarget {
    /// Get/SetClientCaCertificateHostnames: an uploaded CA's Id (or, with
    /// no Id, the managed CA).
    Ca,
    /// Get/SetClientCertificateHostnames: a client certificate's Id (or,
    /// with no Id, the managed CA).
    Certificate,
}

fn upload_info(m: &UploadMeta, now: time::OffsetDateTime) -> wire::CertInfo {
    let status = crate::api::Status::derive(false, clock::parse_esa_time(&m.not_after), now);
    wire::CertInfo {
        ca_certificate_id: None,
        common_name: m.common_name.clone(),
        create_time: m.created.clone(),
        fingerprint_sha256: m.fingerprint_sha256.clone(),
        id: m.id.clone(),
        issuer: m.issuer.clone(),
        name: m.name.clone(),
        not_after: m.not_after.clone(),
        not_before: m.not_before.clone(),
        pubkey_algorithm: m.pubkey_algorithm.clone(),
        san: String::new(),
        serial_number: m.serial.clone(),
        signature_algorithm: m.signature_algorithm.clone(),
        status,
        kind: "upload".into(),
        update_time: m.created.clone(),
    }
}

/// The managed CA as GetClientCaCertificate describes it (`Type`
/// `managed`; its issuer is itself).
fn managed_info(
    m: &store::CaMeta,
    pem: &str,
    now: time::OffsetDateTime,
) -> EsaResult<wire::CertInfo> {
    let info = pki::inspect_pem(pem).map_err(pki_err)?;
    Ok(wire::CertInfo {
        ca_certificate_id: None,
        common_name: m.common_name.clone(),
        create_time: m.created.clone(),
        fingerprint_sha256: m.fingerprint_sha256.clone(),
        id: m.id.clone(),
        issuer: info.issuer_cn.unwrap_or_else(|| m.common_name.clone()),
        name: String::new(),
        not_after: m.not_after.clone(),
        not_before: m.not_before.clone(),
        pubkey_algorithm: info.key_algorithm.map(|k| k.esa_name()).unwrap_or_default(),
        san: String::new(),
        serial_number: m.serial.clone(),
        signature_algorithm: info.signature_algorithm,
        status: crate::api::Status::derive(false, clock::parse_esa_time(&m.not_after), now),
        kind: "managed".into(),
        update_time: m.created.clone(),
    })
}

impl Service {
    /// UploadClientCaCertificate.
    pub fn upload_ca(
        &self,
        site_id: u64,
        certificate: Option<&str>,
        name: Option<&str>,
    ) -> EsaResult<wire::UploadedCa> {
        self.site(site_id)?;
        let text = certificate
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                EsaError::new(
                    ErrorCode::InvalidCertificate,
                    "Certificate is required: the CA certificate as PEM",
                )
            })?;
        if text.len() > MAX_UPLOAD_BYTES {
            return Err(EsaError::new(
                ErrorCode::InvalidCertificate,
                format!(
                    "the certificate is {} bytes; at most {MAX_UPLOAD_BYTES} are accepted",
                    text.len()
                ),
            ));
        }
        let name = input::name(name)?;
        let now = now_seconds();
        let up = pki::check_uploaded_ca(text, now)
            .map_err(|why| EsaError::new(ErrorCode::InvalidCertificate, why))?;
        let info = &up.info;
        let lock = self.lock()?;
        if let Some(dup) = self
            .store
            .uploads(site_id)
            .map_err(store_err)?
            .into_iter()
            .find(|u| u.fingerprint_sha256 == info.fingerprint_sha256)
        {
            return Err(EsaError::new(
                ErrorCode::InvalidCertificate,
                format!("this CA is already uploaded to the site as {}", dup.id),
            ));
        }
        let id = random::new_id().map_err(EsaError::from)?;
        let meta = UploadMeta {
            id: id.clone(),
            site_id,
            name,
            common_name: info
                .subject_cn
                .clone()
                .unwrap_or_else(|| info.subject.clone()),
            issuer: info.issuer_cn.clone().unwrap_or_default(),
            serial: info.serial_hex.clone(),
            fingerprint_sha256: info.fingerprint_sha256.clone(),
            signature_algorithm: info.signature_algorithm.clone(),
            pubkey_algorithm: info.key_algorithm.map(|k| k.esa_name()).unwrap_or_default(),
            not_before: esa_time(info.not_before),
            not_after: esa_time(info.not_after),
            created: esa_time(now),
            self_signed: up.self_signed,
        };
        self.audit(
            &lock,
            vec![store::audit_record(
                "ca-upload",
                site_id,
                &id,
                &meta.serial,
                Some(format!("fingerprint={}", meta.fingerprint_sha256)),
            )],
        )?;
        self.store
            .insert_upload(&lock, &meta, &up.pem)
            .map_err(store_err)?;
        drop(lock);
        tracing::info!(id = %id, site = site_id, "uploaded client CA");
        let days = (info.not_after - info.not_before).whole_days();
        Ok(wire::UploadedCa {
            request_id: random::new_request_id(),
            id,
            status: crate::api::Status::Active,
            common_name: meta.common_name,
            not_before: meta.not_before,
            not_after: meta.not_after,
            issuer: meta.issuer,
            serial_number: meta.serial,
            fingerprint_sha256: meta.fingerprint_sha256,
            signature_algorithm: meta.signature_algorithm,
            validity_days: days.to_string(),
        })
    }

    /// ListClientCaCertificates: the uploaded CAs of a site (ESA's bounds:
    /// PageNumber 1..=500, PageSize 1..=100).
    pub fn list_cas(&self, site_id: u64, page: u64, size: u64) -> EsaResult<wire::List> {
        let site = self.site(site_id)?;
        super::backend::check_page(page, size, Some(500))?;
        let all = self.store.uploads(site_id).map_err(store_err)?;
        let now = now_seconds();
        let start = ((page - 1) * size) as usize;
        let result = all
            .iter()
            .skip(start)
            .take(size as usize)
            .map(|m| upload_info(m, now))
            .collect();
        Ok(wire::List {
            request_id: random::new_request_id(),
            total_count: all.len() as u64,
            page_number: page,
            page_size: size,
            site_id,
            site_name: site.name.clone(),
            result,
        })
    }

    fn upload_of(&self, site_id: u64, id: &str) -> EsaResult<(UploadMeta, String)> {
        let id = Self::parse_id(id)?;
        self.store
            .upload(site_id, id)
            .map_err(store_err)?
            .ok_or_else(|| {
                EsaError::new(
                    ErrorCode::InvalidId,
                    format!("site {site_id} has no uploaded CA with Id {id}"),
                )
            })
    }

    /// GetClientCaCertificate: an uploaded CA, or the site's managed CA
    /// by its `CACertificateId` (so a remote desk can build a chain from
    /// what a certificate names as its CA).
    pub fn get_ca(&self, site_id: u64, id: &str) -> EsaResult<wire::Get> {
        let site = self.site(site_id)?;
        if let Some(managed) = self.store.ca_meta(site_id).map_err(store_err)?
            && managed.id == id.trim()
        {
            let pem = self.existing_ca_pem(site_id)?.ok_or_else(|| {
                EsaError::internal(format!("the CA certificate of site {site_id} is missing"))
            })?;
            let result = managed_info(&managed, &pem, now_seconds())?;
            return Ok(wire::Get {
                request_id: random::new_request_id(),
                site_id,
                site_name: site.name.clone(),
                status: result.status,
                certificate: pem,
                result,
            });
        }
        let (meta, pem) = self.upload_of(site_id, id)?;
        let result = upload_info(&meta, now_seconds());
        Ok(wire::Get {
            request_id: random::new_request_id(),
            site_id,
            site_name: site.name.clone(),
            status: result.status,
            certificate: pem,
            result,
        })
    }

    /// DeleteClientCaCertificate: the upload and its hostname binding.
    pub fn delete_ca(&self, site_id: u64, id: &str) -> EsaResult<StatusChangeResponse> {
        let site = self.site(site_id)?;
        let (meta, _) = self.upload_of(site_id, id)?;
        let lock = self.lock()?;
        self.audit(
            &lock,
            vec![store::audit_record(
                "ca-delete",
                site_id,
                &meta.id,
                &meta.serial,
                None,
            )],
        )?;
        self.store
            .delete_upload(&lock, site_id, &meta.id)
            .map_err(store_err)?;
        self.store
            .set_binding(&lock, site_id, &meta.id, &[])
            .map_err(store_err)?;
        Ok(StatusChangeResponse {
            request_id: random::new_request_id(),
            site_id,
            site_name: site.name.clone(),
            id: meta.id,
        })
    }

    /// The Id a binding is kept under, after checking it names something
    /// of the site.
    fn binding_id(
        &self,
        target: BindingTarget,
        site_id: u64,
        id: Option<&str>,
    ) -> EsaResult<String> {
        let id = id.map(str::trim).filter(|i| !i.is_empty());
        match (target, id) {
            (_, None) => self
                .store
                .ca_meta(site_id)
                .map_err(store_err)?
                .map(|m| m.id)
                .ok_or_else(|| {
                    EsaError::new(
                        ErrorCode::InvalidId,
                        format!(
                            "site {site_id} has no managed CA yet; give the Id of an uploaded CA \
                             or issue a certificate first"
                        ),
                    )
                }),
            (BindingTarget::Ca, Some(id)) => {
                let managed = self.store.ca_meta(site_id).map_err(store_err)?;
                if managed.is_some_and(|m| m.id == id) {
                    return Ok(id.to_owned());
                }
                Ok(self.upload_of(site_id, id)?.0.id)
            }
            (BindingTarget::Certificate, Some(id)) => {
                let e = self.entry(id)?;
                super::backend::check_site_of(site_id, &e.meta)?;
                Ok(e.meta.id)
            }
        }
    }

    /// Get*Hostnames.
    pub fn hostnames(
        &self,
        target: BindingTarget,
        site_id: u64,
        id: Option<&str>,
    ) -> EsaResult<wire::Hostnames> {
        let site = self.site(site_id)?;
        let key = self.binding_id(target, site_id, id)?;
        let hostnames = self
            .store
            .bindings(site_id)
            .map_err(store_err)?
            .remove(&key)
            .unwrap_or_default();
        Ok(wire::Hostnames {
            request_id: random::new_request_id(),
            site_id,
            site_name: site.name.clone(),
            id: key,
            hostnames,
        })
    }

    /// Set*Hostnames: replaces the binding (an empty list removes it).
    pub fn set_hostnames(
        &self,
        target: BindingTarget,
        site_id: u64,
        id: Option<&str>,
        hostnames: &[String],
    ) -> EsaResult<wire::Hostnames> {
        let site = self.site(site_id)?;
        let list = input::hostnames(&site.name, hostnames)?;
        let key = self.binding_id(target, site_id, id)?;
        let lock = self.lock()?;
        self.audit(
            &lock,
            vec![store::audit_record(
                "hostnames",
                site_id,
                &key,
                "",
                Some(format!("hostnames={}", list.join(","))),
            )],
        )?;
        self.store
            .set_binding(&lock, site_id, &key, &list)
            .map_err(store_err)?;
        Ok(wire::Hostnames {
            request_id: random::new_request_id(),
            site_id,
            site_name: site.name.clone(),
            id: key,
            hostnames: list,
        })
    }

    /// The uploaded CAs of a site with their bindings, for `ca list` and
    /// the TUI.
    pub fn uploaded_cas(&self, site_id: u64) -> EsaResult<Vec<(wire::CertInfo, Vec<String>)>> {
        self.site(site_id)?;
        let mut bindings = self.store.bindings(site_id).map_err(store_err)?;
        let now = now_seconds();
        Ok(self
            .store
            .uploads(site_id)
            .map_err(store_err)?
            .iter()
            .map(|m| {
                (
                    upload_info(m, now),
                    bindings.remove(&m.id).unwrap_or_default(),
                )
            })
            .collect())
    }

    /// The site's trust bundle: the managed CA (created on first use, as
    /// `ca` does), then every uploaded CA still in date, as one PEM file.
    pub fn trust_bundle(&self, site_id: u64) -> EsaResult<String> {
        let mut out = self.ca_pem(site_id)?;
        let now = now_seconds();
        for m in self.store.uploads(site_id).map_err(store_err)? {
            if !crate::api::bundled(&m.not_after, now) {
                continue;
            }
            let (_, pem) = self.upload_of(site_id, &m.id)?;
            pki::inspect_pem(&pem).map_err(pki_err)?;
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&pem);
        }
        Ok(out)
    }
}
