//! The read side: ListClientCertificates, GetClientCertificate, the
//! sites with their counts, and the overview a front end refreshes.

use time::OffsetDateTime;

use super::{ListOutcome, ListQuery, Service, status_of, store_err};
use crate::api::{
    CertSummary, EXPIRING_SOON_DAYS, GetResponse, ListResponse, SiteSummary, SitesResponse, Status,
    expiring_within,
};
use crate::base::clock::{self, now_seconds};
use crate::base::random;
use crate::config::Site;
use crate::error::EsaResult;
use crate::pki::{self};
use crate::store::{self, CertMeta, Entry, StoredStatus};

impl Service {
    /// Get's `Result` for a stored entry (consumes the metadata: listing
    /// 100k entries should not copy every string twice).
    fn summary(&self, m: CertMeta, now: OffsetDateTime) -> CertSummary {
        let status = status_of(&m, now);
        self.summary_as(m, status)
    }

    /// [`Service::summary`] with the status already known.
    fn summary_as(&self, m: CertMeta, status: Status) -> CertSummary {
        CertSummary {
            status,
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
    /// counts of zero (and its CA looked up: every site costs something;
    /// to read a store of many sites in parts, use
    /// [`Service::overview_sites`]). Errors: `InvalidParameter.SiteId`,
    /// `InternalException`.
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

    /// [`Service::overview`] of the given sites only: their summaries, in
    /// the order asked (an id asked twice counts once), and their
    /// certificates, from one read of those sites. A front end reading a
    /// store of 30,000 sites a batch at a time pays for each batch, not
    /// for every site each time. Errors: `InvalidParameter.SiteId` (a site
    /// not in the config), `InternalException`.
    pub fn overview_sites(&self, sites: &[u64]) -> EsaResult<(SitesResponse, ListOutcome)> {
        let mut seen = std::collections::HashSet::with_capacity(sites.len());
        let mut wanted = Vec::with_capacity(sites.len());
        for &s in sites {
            let site = self.site(s)?;
            if seen.insert(s) {
                wanted.push(site);
            }
        }
        let ids: Vec<u64> = wanted.iter().map(|s| s.id).collect();
        let listing = self.read_listing_of(&ids)?;
        let now = now_seconds();
        let sites = self.summaries(wanted, &listing.entries, now)?;
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
        let keep = |m: &CertMeta, status: Status| q.admits(status, &m.not_after, now);
        // One parse of NotAfter per entry, reused for the summary. (Extend,
        // not collect: an in-place collect into smaller items ends with a
        // realloc that copies the whole listing.)
        let mut metas: Vec<(CertMeta, Status)> = Vec::with_capacity(listing.entries.len());
        metas.extend(
            listing
                .entries
                .into_iter()
                .map(|e| {
                    let status = status_of(&e.meta, now);
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

    /// GetClientCertificate.
    pub fn get(&self, id: &str) -> EsaResult<GetResponse> {
        let e = self.entry(id)?;
        let certificate = self.store.read_cert(&e).map_err(store_err)?;
        let result = self.summary(e.meta.clone(), now_seconds());
        Ok(GetResponse {
            request_id: random::new_request_id(),
            site_id: e.meta.site_id,
            site_name: result.site_name.clone(),
            status: result.status,
            certificate,
            result,
        })
    }

    /// Sites of the config with their CA and counts.
    pub fn sites(&self) -> EsaResult<SitesResponse> {
        let listing = self.read_listing(None)?;
        self.sites_response(&listing.entries, now_seconds())
    }

    /// Every site of the config with its CA and the counts of `entries`.
    fn sites_response(&self, entries: &[Entry], now: OffsetDateTime) -> EsaResult<SitesResponse> {
        self.summaries(&self.config.sites, entries, now)
    }

    /// `sites` with their CA and the counts of `entries` (entries of other
    /// sites are not counted).
    fn summaries<'a>(
        &self,
        sites_of: impl IntoIterator<Item = &'a Site>,
        entries: &[Entry],
        now: OffsetDateTime,
    ) -> EsaResult<SitesResponse> {
        let mut sites = Vec::new();
        for site in sites_of {
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
            let not_after = clock::parse_esa_time(&e.meta.not_after);
            let status = Status::derive(e.meta.status == StoredStatus::Revoked, not_after, now);
            match status {
                Status::Active => {
                    s.active += 1;
                    if not_after
                        .is_some_and(|na| expiring_within(status, na, now, EXPIRING_SOON_DAYS))
                    {
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
}
