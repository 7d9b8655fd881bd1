//! The local store as a [`Backend`]: the service's own operations, with the
//! ESA API's `SiteId` checked against the certificate where a caller gives
//! one (ESA addresses every certificate by site and Id).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use super::{BindingTarget, ListQuery, Service};
use crate::api::Status;
use crate::api::{
    Backend, CreateRequest, CreateResponse, GetResponse, InputRules, ListResponse, Origin, Page,
    RenewResponse, Secret, SitesResponse, StatusChangeResponse, wire,
};
use crate::api::{CertSummary, Overview};
use crate::base::clock::{self, now_seconds};
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{P12Mode, RevocationReason};
use crate::store::CertMeta;

/// Writes of this process in and out, and the page cache they guard.
///
/// ListClientCertificates pages through a site's listing; reading and
/// sorting 100,000 entries for every page would cost ~100 ms, so the
/// sorted listing is kept per site and reused while (a) no write of this
/// process began or ended since it was read, and none was in flight while
/// it was read, and (b) the store's [`crate::store::Store::change_stamp`]
/// (folder modification times, which other processes' writes move) is
/// unchanged. Statuses are derived again for the rows of each page, so a
/// certificate that expired since is shown expired.
#[derive(Debug, Default)]
pub struct Writes {
    begun: AtomicU64,
    ended: AtomicU64,
    pages: Mutex<HashMap<u64, Cached>>,
}

#[derive(Debug)]
struct Cached {
    writes: u64,
    stamp: u64,
    listing: Arc<ListResponse>,
}

impl Writes {
    pub(super) fn begin(&self) {
        self.begun.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn end(&self) {
        self.ended.fetch_add(1, Ordering::SeqCst);
    }

    /// The number of finished writes when none is in flight.
    fn quiet(&self) -> Option<u64> {
        let ended = self.ended.load(Ordering::SeqCst);
        (self.begun.load(Ordering::SeqCst) == ended).then_some(ended)
    }
}

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
        let all = self.site_listing(site_id)?;
        let total = all.result.len();
        let start = usize::try_from((page - 1).saturating_mul(size)).unwrap_or(usize::MAX);
        let now = now_seconds();
        let rows: Vec<_> = all
            .result
            .iter()
            .skip(start)
            .take(size as usize)
            .map(|c| {
                let mut c = c.clone();
                c.status = Status::derive(
                    c.status == Status::Revoked,
                    clock::parse_esa_time(&c.not_after),
                    now,
                );
                c
            })
            .collect();
        Ok(ListResponse {
            request_id: crate::base::random::new_request_id(),
            total_count: total,
            page_number: usize::try_from(page).unwrap_or(usize::MAX),
            page_size: size as usize,
            site_id: all.site_id,
            site_name: all.site_name.clone(),
            result: rows,
        })
    }

    /// The whole sorted listing of a site, from the page cache when it is
    /// still current (see [`Writes`]).
    fn site_listing(&self, site_id: u64) -> EsaResult<Arc<ListResponse>> {
        let before = self.writes.quiet();
        let stamp = self.store.change_stamp().ok();
        if let (Some(w), Some(st)) = (before, stamp)
            && let Ok(pages) = self.writes.pages.lock()
            && let Some(c) = pages.get(&site_id)
            && c.writes == w
            && c.stamp == st
        {
            return Ok(c.listing.clone());
        }
        let listing = Arc::new(
            self.list(&ListQuery {
                site_id: Some(site_id),
                ..ListQuery::default()
            })?
            .response,
        );
        if let (Some(w), Some(st)) = (before, stamp)
            && self.writes.quiet() == Some(w)
            && let Ok(mut pages) = self.writes.pages.lock()
        {
            pages.insert(
                site_id,
                Cached {
                    writes: w,
                    stamp: st,
                    listing: listing.clone(),
                },
            );
        }
        Ok(listing)
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

    /// One pass over the store for the counts and the rows.
    fn overview(
        &self,
        site: Option<u64>,
        _page: &mut dyn FnMut(Vec<CertSummary>),
    ) -> EsaResult<Overview> {
        let (sites, listing) = Service::overview(self, site)?;
        Ok(overview_of(sites, listing))
    }

    /// One read of those sites for their counts and rows.
    fn overview_sites(
        &self,
        sites: &[u64],
        _page: &mut dyn FnMut(Vec<CertSummary>),
    ) -> EsaResult<Overview> {
        let (sites, listing) = Service::overview_sites(self, sites)?;
        Ok(overview_of(sites, listing))
    }

    fn needs_ca_passphrase(&self, site: u64) -> EsaResult<bool> {
        Service::needs_ca_passphrase(self, site)
    }

    fn ca_key_protected(&self, site: u64) -> EsaResult<bool> {
        Service::ca_key_protected(self, site)
    }

    fn set_ca_passphrase(&self, passphrase: Secret) -> EsaResult<()> {
        Service::set_ca_passphrase(self, passphrase)
    }

    fn uploaded_cas(&self, site: u64) -> EsaResult<Vec<(wire::CertInfo, Vec<String>)>> {
        Service::uploaded_cas(self, site)
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

    fn export_p12(
        &self,
        site_id: Option<u64>,
        id: &str,
        password: &Secret,
        mode: P12Mode,
    ) -> EsaResult<Zeroizing<Vec<u8>>> {
        self.check_site_of(site_id, id)?;
        Service::export_p12(self, id, password, mode)
    }

    fn upload_ca(
        &self,
        site_id: u64,
        certificate: &str,
        name: Option<&str>,
    ) -> EsaResult<wire::UploadedCa> {
        Service::upload_ca(self, site_id, Some(certificate), name)
    }

    fn list_cas(&self, site_id: u64, page: u64, size: u64) -> EsaResult<wire::List> {
        Service::list_cas(self, site_id, page, size)
    }

    fn get_ca(&self, site_id: u64, id: &str) -> EsaResult<wire::Get> {
        Service::get_ca(self, site_id, id)
    }

    fn delete_ca(&self, site_id: u64, id: &str) -> EsaResult<StatusChangeResponse> {
        Service::delete_ca(self, site_id, id)
    }

    fn ca_hostnames(&self, site_id: u64, id: Option<&str>) -> EsaResult<wire::Hostnames> {
        self.hostnames(BindingTarget::Ca, site_id, id)
    }

    fn set_ca_hostnames(
        &self,
        site_id: u64,
        id: Option<&str>,
        hostnames: &[String],
    ) -> EsaResult<wire::Hostnames> {
        self.set_hostnames(BindingTarget::Ca, site_id, id, hostnames)
    }

    fn certificate_hostnames(&self, site_id: u64, id: Option<&str>) -> EsaResult<wire::Hostnames> {
        self.hostnames(BindingTarget::Certificate, site_id, id)
    }

    fn set_certificate_hostnames(
        &self,
        site_id: u64,
        id: Option<&str>,
        hostnames: &[String],
    ) -> EsaResult<wire::Hostnames> {
        self.set_hostnames(BindingTarget::Certificate, site_id, id, hostnames)
    }

    fn change_stamp(&self) -> Option<u64> {
        Service::change_stamp(self).ok()
    }

    fn renew(&self, id: &str, days: Option<u32>, revoke_old: bool) -> EsaResult<RenewResponse> {
        Service::renew(self, id, days, revoke_old)
    }

    fn trust_bundle(&self, site_id: u64) -> EsaResult<String> {
        Service::trust_bundle(self, site_id)
    }

    fn crl_pem(&self, site_id: u64) -> EsaResult<String> {
        Service::crl_pem(self, site_id)
    }
}

/// An overview as the service read it; its unreadable entries are logged
/// with their paths (a screen shows only their number).
fn overview_of(sites: SitesResponse, listing: super::ListOutcome) -> Overview {
    for d in &listing.damaged {
        tracing::warn!(path = %d.path.display(), reason = %d.reason, "skipped an unreadable entry");
    }
    Overview {
        sites: sites.sites,
        damaged: listing.damaged.len(),
        rows: listing.response.result,
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
