//! The local store as a [`Backend`]: the service's own operations, with the
//! ESA API's `SiteId` checked against the certificate where a caller gives
//! one (ESA addresses every certificate by site and Id).

use super::{ListQuery, Service};
use crate::api::{
    Backend, CreateRequest, CreateResponse, GetResponse, InputRules, ListResponse, Origin, Page,
    RenewResponse, Secret, SitesResponse, StatusChangeResponse,
};
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::RevocationReason;
use crate::store::CertMeta;

/// Largest ListClientCertificates page (ESA's bound).
pub const MAX_PAGE_SIZE: u64 = 100;

impl Service {
    /// Refuses an Id that names a certificate of another site than the
    /// one the request is addressed to.
    fn check_site_of(&self, site_id: Option<u64>, id: &str) -> EsaResult<()> {
        let Some(site) = site_id else {
            return Ok(());
        };
        self.site(site)?;
        let e = self.entry(id)?;
        check_site_of(site, &e.meta)
    }

    /// One page of a site's certificates, oldest first, as
    /// ListClientCertificates pages them (`page` from 1, `size` 1..=100; a
    /// page past the end is empty).
    pub fn list_page(&self, site_id: u64, page: u64, size: u64) -> EsaResult<ListResponse> {
        check_page(page, size, None)?;
        let mut all = self
            .list(&ListQuery {
                site_id: Some(site_id),
                ..ListQuery::default()
            })?
            .response;
        let total = all.result.len();
        let start = usize::try_from((page - 1).saturating_mul(size)).unwrap_or(usize::MAX);
        let rows: Vec<_> = if start >= total {
            Vec::new()
        } else {
            let end = start.saturating_add(size as usize).min(total);
            all.result.drain(start..end).collect()
        };
        all.result = rows;
        all.total_count = total;
        all.page_number = usize::try_from(page).unwrap_or(usize::MAX);
        all.page_size = size as usize;
        Ok(all)
    }
}

/// A certificate found by Id must belong to the site the request names.
pub(super) fn check_site_of(site: u64, meta: &CertMeta) -> EsaResult<()> {
    if meta.site_id == site {
        Ok(())
    } else {
        Err(EsaError::new(
            ErrorCode::InvalidId,
            format!("no certificate with Id {} on site {site}", meta.id),
        ))
    }
}

/// ESA's paging bounds: PageNumber from 1 (up to `max_page` where the
/// operation has one), PageSize 1..=100.
pub(super) fn check_page(page: u64, size: u64, max_page: Option<u64>) -> EsaResult<()> {
    if page == 0 || max_page.is_some_and(|m| page > m) {
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            match max_page {
                Some(m) => format!("PageNumber {page} is invalid; expected 1 to {m}"),
                None => format!("PageNumber {page} is invalid; it must be 1 or more"),
            },
        ));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            format!("PageSize {size} is invalid; expected 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    Ok(())
}

impl Backend for Service {
    fn origin(&self) -> Origin {
        Origin::Local {
            store: self.store_path().display().to_string(),
        }
    }

    fn input_rules(&self) -> EsaResult<InputRules> {
        Ok(Service::input_rules(self).clone())
    }

    fn keeps_private_keys(&self) -> bool {
        Service::keeps_private_keys(self)
    }

    fn sites(&self) -> EsaResult<SitesResponse> {
        Service::sites(self)
    }

    fn create(&self, req: &CreateRequest) -> EsaResult<CreateResponse> {
        Service::create(self, req)
    }

    fn list_site(&self, site_id: u64, each: &mut dyn FnMut(Page) -> bool) -> EsaResult<()> {
        let listing = self.list(&ListQuery {
            site_id: Some(site_id),
            ..ListQuery::default()
        })?;
        let total = listing.response.result.len() as u64;
        each(Page {
            rows: listing.response.result,
            total,
        });
        Ok(())
    }

    fn list_page(&self, site_id: u64, page: u64, size: u64) -> EsaResult<ListResponse> {
        Service::list_page(self, site_id, page, size)
    }

    fn get(&self, site_id: Option<u64>, id: &str) -> EsaResult<GetResponse> {
        self.check_site_of(site_id, id)?;
        Service::get(self, id)
    }

    fn revoke(
        &self,
        site_id: Option<u64>,
        id: &str,
        reason: Option<RevocationReason>,
    ) -> EsaResult<StatusChangeResponse> {
        self.check_site_of(site_id, id)?;
        Service::revoke(self, id, reason)
    }

    fn activate(&self, site_id: Option<u64>, id: &str) -> EsaResult<StatusChangeResponse> {
        self.check_site_of(site_id, id)?;
        Service::activate(self, id)
    }

    fn delete(&self, site_id: Option<u64>, id: &str) -> EsaResult<StatusChangeResponse> {
        self.check_site_of(site_id, id)?;
        Service::delete(self, id)
    }

    fn ca_pem(&self, site_id: u64) -> EsaResult<Option<String>> {
        self.existing_ca_pem(site_id)
    }

    fn private_key(&self, site_id: Option<u64>, id: &str) -> EsaResult<Secret> {
        self.check_site_of(site_id, id)?;
        let bytes = zeroize::Zeroizing::new(self.export(id, super::ExportWhat::Key)?);
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| EsaError::internal(format!("the key file of {id} is not text")))?;
        Ok(Secret(zeroize::Zeroizing::new(text)))
    }

    fn change_stamp(&self) -> Option<u64> {
        Service::change_stamp(self).ok()
    }

    fn renew(&self, id: &str, days: Option<u32>, revoke_old: bool) -> EsaResult<RenewResponse> {
        Service::renew(self, id, days, revoke_old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Status;

    fn service(sites: &str) -> (tempfile::TempDir, Service) {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[store]\npath = \"{}\"\n[ca]\nkey_type = \"ED25519\"\n{sites}",
            dir.path().join("store").display()
        );
        let cfg = crate::config::parse(&text, &dir.path().join("c.toml")).unwrap();
        (dir, Service::open(cfg).unwrap())
    }

    fn issue(s: &Service, site: &str) -> String {
        Backend::create(
            s,
            &CreateRequest {
                site_id: Some(site.into()),
                validity_days: Some("5".into()),
                pkey_type: Some("ED25519".into()),
                ..CreateRequest::default()
            },
        )
        .unwrap()
        .id
    }

    #[test]
    fn pages_follow_esa_bounds() {
        let (_d, s) = service("[[site]]\nid = 1\nname = \"a.example\"\n");
        let ids: Vec<String> = (0..5).map(|_| issue(&s, "1")).collect();
        let p = s.list_page(1, 2, 2).unwrap();
        assert_eq!((p.total_count, p.page_number, p.page_size), (5, 2, 2));
        let got: Vec<&str> = p.result.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(got.len(), 2);
        let all: Vec<String> = (1..=3)
            .flat_map(|n| s.list_page(1, n, 2).unwrap().result)
            .map(|c| c.id)
            .collect();
        let mut want = ids.clone();
        want.sort();
        let mut have = all.clone();
        have.sort();
        assert_eq!(have, want, "three pages hold every certificate once");
        assert!(s.list_page(1, 9, 2).unwrap().result.is_empty());
        for (page, size) in [(0, 20), (1, 0), (1, 101)] {
            assert_eq!(
                s.list_page(1, page, size).unwrap_err().code,
                ErrorCode::InvalidParameter
            );
        }
        assert_eq!(
            s.list_page(2, 1, 20).unwrap_err().code,
            ErrorCode::InvalidSiteId
        );
    }

    #[test]
    fn an_id_of_another_site_is_not_found_there() {
        let (_d, s) = service(
            "[[site]]\nid = 1\nname = \"a.example\"\n[[site]]\nid = 2\nname = \"b.example\"\n",
        );
        let id = issue(&s, "1");
        assert_eq!(
            Backend::get(&s, Some(1), &id).unwrap().status,
            Status::Active
        );
        assert_eq!(
            Backend::get(&s, Some(2), &id).unwrap_err().code,
            ErrorCode::InvalidId
        );
        assert_eq!(
            Backend::revoke(&s, Some(2), &id, None).unwrap_err().code,
            ErrorCode::InvalidId
        );
        assert_eq!(
            Backend::revoke(&s, Some(3), &id, None).unwrap_err().code,
            ErrorCode::InvalidSiteId
        );
        // Nothing changed by the refusals.
        assert_eq!(Backend::get(&s, None, &id).unwrap().status, Status::Active);
        let key = Backend::private_key(&s, Some(1), &id).unwrap();
        assert!(key.expose().contains("PRIVATE KEY"));
    }
}
