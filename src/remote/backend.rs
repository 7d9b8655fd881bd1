//! The backend trait over the ESA API: each operation is one signed
//! request (a list is pages of ListClientCertificates), each answer
//! mapped back to the api types the front ends already know.

use super::*;
use crate::api::{Overview, SiteRef};

impl Backend for RemoteBackend {
    fn origin(&self) -> Origin {
        Origin::Remote {
            name: self.name.clone(),
            endpoint: self.endpoint.clone(),
        }
    }

    fn input_rules(&self) -> EsaResult<InputRules> {
        Ok(InputRules {
            sites: self.site_refs()?,
            defaults: self.defaults,
        })
    }

    fn keeps_private_keys(&self) -> bool {
        self.keys.is_some()
    }

    /// ListSites, then each site's certificates paged through to count
    /// them (PageSize 100: a site of N certificates costs N/100 calls),
    /// and the CA that signed them (GetClientCaCertificate).
    fn sites(&self) -> EsaResult<SitesResponse> {
        let now = crate::base::clock::now_seconds();
        let mut out = Vec::new();
        for site in self.site_refs()? {
            out.push(self.summarize(&site, now, &mut |_| {})?);
        }
        Ok(SitesResponse {
            request_id: crate::base::random::new_request_id(),
            total_count: out.len(),
            sites: out,
        })
    }

    /// One pass over the pages: each page goes to the screen as it
    /// arrives and is counted on the way, so the first rows show after one
    /// ListSites and one ListClientCertificates (not after a counting pass
    /// over every site). With `Some(site)` only that site is read; the
    /// others are listed with counts of zero, as the local store does.
    fn overview(
        &self,
        site: Option<u64>,
        page: &mut dyn FnMut(Vec<CertSummary>),
    ) -> EsaResult<Overview> {
        let now = crate::base::clock::now_seconds();
        let mut sites = Vec::new();
        for r in self.site_refs()? {
            sites.push(if site.is_none_or(|id| id == r.id) {
                self.summarize(&r, now, page)?
            } else {
                SiteSummary::from(&r)
            });
        }
        Ok(Overview {
            sites,
            rows: Vec::new(),
            damaged: 0,
        })
    }

    /// CreateClientCertificate, after the input rules; sent once, never
    /// retried.
    fn create(&self, req: &CreateRequest) -> EsaResult<CreateResponse> {
        let rules = self.input_rules()?;
        let site = rules.site_id(req.site_id.as_deref())?;
        let days = rules.validity_days(req.validity_days.as_deref())?;
        let mut form = vec![("ValidityDays", days.to_string())];
        match &req.csr {
            Some(csr) => {
                input::csr(csr)?;
                let text = String::from_utf8(csr.clone()).map_err(|_| {
                    EsaError::new(ErrorCode::InvalidCsr, "invalid CSR: the PEM is not UTF-8")
                })?;
                form.push(("CSR", text));
            }
            None => {
                let t = rules.pkey_type(req.pkey_type.as_deref())?;
                form.push(("PkeyType", wire_pkey_type(req.pkey_type.as_deref(), t)));
            }
        }
        if let Some(cn) = input::common_name(req.common_name.as_deref())? {
            form.push(("CommonName", cn));
        }
        let name = input::name(req.name.as_deref())?;
        if !name.is_empty() {
            form.push(("Name", name));
        }
        if let Some(folder) = &self.keys {
            folder.prepare()?;
        }
        let reply = self.client.call(&Call::post(
            "CreateClientCertificate",
            vec![("SiteId", site.to_string())],
            Some(form),
        ))?;
        self.created(reply)
    }

    /// Pages of 100 through ListClientCertificates, each handed over as it
    /// arrives.
    fn list_site(&self, site_id: u64, each: &mut dyn FnMut(Page) -> bool) -> EsaResult<()> {
        let keys = self.key_ids();
        let mut seen = 0u64;
        for page in 1.. {
            let l = self.list_wire(site_id, page, PAGE_SIZE)?;
            let n = l.result.len() as u64;
            let total = l.total_count;
            let rows = l
                .result
                .into_iter()
                .map(|c| {
                    let stored = keys.contains(&c.id);
                    c.into_summary(site_id, &l.site_name, stored)
                })
                .collect();
            if !each(Page { rows, total }) {
                break;
            }
            seen += n;
            if n == 0 || seen >= total {
                break;
            }
        }
        Ok(())
    }

    fn list_page(&self, site_id: u64, page: u64, size: u64) -> EsaResult<ListResponse> {
        let l = self.list_wire(site_id, page, size)?;
        let keys = self.key_ids();
        Ok(ListResponse {
            request_id: l.request_id,
            total_count: usize::try_from(l.total_count).unwrap_or(usize::MAX),
            page_number: usize::try_from(l.page_number).unwrap_or(usize::MAX),
            page_size: usize::try_from(l.page_size).unwrap_or(usize::MAX),
            site_id: Some(site_id),
            site_name: Some(l.site_name.clone()),
            result: l
                .result
                .into_iter()
                .map(|c| {
                    let stored = keys.contains(&c.id);
                    c.into_summary(site_id, &l.site_name, stored)
                })
                .collect(),
        })
    }

    fn get(&self, site_id: Option<u64>, id: &str) -> EsaResult<GetResponse> {
        let (site, got) = self.locate(site_id, id)?;
        let g = match got {
            Some(g) => g,
            None => self.get_on(site, id)?,
        };
        Ok(self.get_response(site, g))
    }

    fn revoke(
        &self,
        site_id: Option<u64>,
        id: &str,
        reason: Option<RevocationReason>,
    ) -> EsaResult<StatusChangeResponse> {
        if reason.is_some() {
            return Err(crate::api::unsupported(
                &self.origin(),
                "A revocation reason (RevokeClientCertificate takes none)",
            ));
        }
        let (site, _) = self.locate(site_id, id)?;
        self.ack("RevokeClientCertificate", site, id)
    }

    fn activate(&self, site_id: Option<u64>, id: &str) -> EsaResult<StatusChangeResponse> {
        let (site, _) = self.locate(site_id, id)?;
        self.ack("ActivateClientCertificate", site, id)
    }

    fn delete(&self, site_id: Option<u64>, id: &str) -> EsaResult<StatusChangeResponse> {
        let (site, _) = self.locate(site_id, id)?;
        let r = self.ack("DeleteClientCertificate", site, id)?;
        if let Some(folder) = &self.keys
            && let Err(e) = folder.remove(&r.id)
        {
            tracing::warn!(id = %r.id, error = %e, "could not remove the kept key");
        }
        Ok(r)
    }

    /// The CA named by the site's certificates (their CACertificateId),
    /// through GetClientCaCertificate; `None` while the site has none.
    fn ca_pem(&self, site_id: u64) -> EsaResult<Option<String>> {
        let first = self.list_wire(site_id, 1, 1)?;
        let Some(ca) = first
            .result
            .into_iter()
            .find_map(|c| c.ca_certificate_id.filter(|i| !i.is_empty()))
        else {
            return Ok(None);
        };
        Ok(Some(Backend::get_ca(self, site_id, &ca)?.certificate))
    }

    fn private_key(&self, site_id: Option<u64>, id: &str) -> EsaResult<Secret> {
        self.kept_key(site_id, id).map(|(key, _, _)| key)
    }

    fn export_p12(
        &self,
        site_id: Option<u64>,
        id: &str,
        password: &Secret,
        mode: P12Mode,
    ) -> EsaResult<Zeroizing<Vec<u8>>> {
        let (key, site, g) = self.kept_key(site_id, id)?;
        crate::service::check_p12_password(password.expose())?;
        let ca = self.issuer_pem(site, &g)?;
        let friendly = if g.result.name.trim().is_empty() {
            &g.result.common_name
        } else {
            &g.result.name
        };
        let p12 = crate::pki::build_p12(&crate::pki::P12Input {
            cert_pem: &g.certificate,
            key_pem: key.expose(),
            ca_pem: &ca,
            friendly_name: friendly,
            password: password.expose(),
            mode,
        })
        .map_err(|e| EsaError::internal(e.to_string()))?;
        tracing::info!(remote = %self.name, id = %g.result.id, "exported PKCS#12 with the kept key");
        Ok(p12)
    }

    fn upload_ca(
        &self,
        site_id: u64,
        certificate: &str,
        name: Option<&str>,
    ) -> EsaResult<wire::UploadedCa> {
        let mut form = vec![("Certificate", certificate.to_owned())];
        let name = input::name(name)?;
        if !name.is_empty() {
            form.push(("Name", name));
        }
        self.client.call_as(&Call::post(
            "UploadClientCaCertificate",
            vec![("SiteId", site_id.to_string())],
            Some(form),
        ))
    }

    fn list_cas(&self, site_id: u64, page: u64, size: u64) -> EsaResult<wire::List> {
        self.client.call_as(&Call::get(
            "ListClientCaCertificates",
            vec![
                ("PageNumber", page.to_string()),
                ("PageSize", size.to_string()),
                ("SiteId", site_id.to_string()),
            ],
        ))
    }

    fn get_ca(&self, site_id: u64, id: &str) -> EsaResult<wire::Get> {
        self.client.call_as(&Call::get(
            "GetClientCaCertificate",
            q(&[("Id", id.trim()), ("SiteId", &site_id.to_string())]),
        ))
    }

    fn delete_ca(&self, site_id: u64, id: &str) -> EsaResult<StatusChangeResponse> {
        self.ack("DeleteClientCaCertificate", site_id, id)
    }

    fn ca_hostnames(&self, site_id: u64, id: Option<&str>) -> EsaResult<wire::Hostnames> {
        self.hostnames_call(
            "GetClientCaCertificateHostnames",
            client::Method::Post,
            site_id,
            id,
        )
    }

    fn set_ca_hostnames(
        &self,
        site_id: u64,
        id: Option<&str>,
        hostnames: &[String],
    ) -> EsaResult<wire::Hostnames> {
        self.set_hostnames_call("SetClientCaCertificateHostnames", site_id, id, hostnames)
    }

    fn certificate_hostnames(&self, site_id: u64, id: Option<&str>) -> EsaResult<wire::Hostnames> {
        self.hostnames_call(
            "GetClientCertificateHostnames",
            client::Method::Get,
            site_id,
            id,
        )
    }

    fn set_certificate_hostnames(
        &self,
        site_id: u64,
        id: Option<&str>,
        hostnames: &[String],
    ) -> EsaResult<wire::Hostnames> {
        self.set_hostnames_call("SetClientCertificateHostnames", site_id, id, hostnames)
    }
}

impl RemoteBackend {
    /// A site's summary from one pass over its pages (each handed to
    /// `each` once counted), then its CA (GetClientCaCertificate).
    fn summarize(
        &self,
        site: &SiteRef,
        now: time::OffsetDateTime,
        each: &mut dyn FnMut(Vec<CertSummary>),
    ) -> EsaResult<SiteSummary> {
        let mut s = SiteSummary::from(site);
        self.list_site(site.id, &mut |page| {
            for c in &page.rows {
                if s.ca_certificate_id.is_empty() && !c.ca_certificate_id.is_empty() {
                    s.ca_certificate_id = c.ca_certificate_id.clone();
                    s.ca_common_name = c.issuer.clone();
                }
                match c.status {
                    Status::Active => {
                        s.active += 1;
                        if remote_time(&c.not_after).is_some_and(|na| {
                            expiring_within(c.status, na, now, EXPIRING_SOON_DAYS)
                        }) {
                            s.expiring_soon += 1;
                        }
                    }
                    Status::Revoked => s.revoked += 1,
                    Status::Expired => s.expired += 1,
                }
            }
            each(page.rows);
            true
        })?;
        if !s.ca_certificate_id.is_empty() {
            match Backend::get_ca(self, site.id, &s.ca_certificate_id) {
                Ok(ca) => {
                    s.ca_common_name = ca.result.common_name;
                    s.ca_not_after = ca.result.not_after;
                    s.ca_key_type = ca.result.pubkey_algorithm;
                }
                Err(e) => tracing::info!(
                    site = site.id,
                    code = e.code_str(),
                    "the remote does not describe the site's CA"
                ),
            }
        }
        Ok(s)
    }
}
