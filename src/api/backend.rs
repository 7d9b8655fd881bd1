//! The sealed boundary between the front ends and whatever keeps the
//! certificates: one trait of ESA operations, in the shape of s3s's `S3`
//! trait (typed input, typed output, one method per operation).
//!
//! Two implementations stand behind it: the local service (the store on
//! this machine) and the ESA client (a team's `esa-certs serve`, or
//! Alibaba Cloud ESA). The CLI and the TUI hold a `dyn Backend` and never
//! know which; the rules of [`super::input`] and [`super::Lifecycle`] are
//! applied by both, and every error comes back as an [`EsaError`] with the
//! backend's own code (and, from a remote, its RequestId).
//!
//! The CA family (UploadClientCaCertificate, Get/List/DeleteClientCa…,
//! the four *Hostnames operations) is part of the trait: both backends
//! offer it.
//!
//! Operations only the local store has (the CRL, renewal) have default
//! bodies that answer [`unsupported`], so a remote says plainly that it
//! does not offer them. (The audit log and `doctor` are the local
//! service's own and not in the trait; a front end answers [`unsupported`]
//! for them itself.)

use std::fmt;

use zeroize::Zeroizing;

use super::{
    CertSummary, CreateRequest, CreateResponse, GetResponse, InputRules, ListResponse,
    RenewResponse, Secret, SiteSummary, SitesResponse, Status, StatusChangeResponse,
    expiring_within, wire,
};
use crate::base::clock;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{P12Mode, RevocationReason};

/// Which kind of backend a desk talks to, for titles and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The local store at this path.
    Local { store: String },
    /// A remote ESA endpoint, by its config name and endpoint.
    Remote { name: String, endpoint: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Local { store } => write!(f, "local store {store}"),
            Origin::Remote { name, endpoint } => write!(f, "remote {name} ({endpoint})"),
        }
    }
}

/// An uploaded CA belongs in a site's trust bundle until its NotAfter has
/// passed (an unreadable date keeps it: the upload checked it).
pub fn bundled(not_after: &str, now: time::OffsetDateTime) -> bool {
    clock::parse_esa_time(not_after).is_none_or(|end| end >= now)
}

/// The answer when a site has no managed CA on a backend that never
/// creates one on a read (a remote: it appears with the first issue).
pub fn no_managed_ca(origin: &Origin, site: u64) -> EsaError {
    EsaError::new(
        ErrorCode::InvalidParameter,
        format!(
            "site {site} has no managed CA yet on {origin}: it appears with the first certificate issued"
        ),
    )
}

/// Every uploaded CA of a site, ListClientCaCertificates page by page
/// (PageSize 100).
fn each_uploaded_ca<B: Backend + ?Sized>(
    backend: &B,
    site: u64,
    f: &mut dyn FnMut(wire::CertInfo) -> EsaResult<()>,
) -> EsaResult<()> {
    for page in 1.. {
        let list = backend.list_cas(site, page, 100)?;
        let got = list.result.len() as u64;
        for ca in list.result {
            f(ca)?;
        }
        if got < 100 || page * 100 >= list.total_count {
            break;
        }
    }
    Ok(())
}

/// The answer to an operation a backend does not offer.
pub fn unsupported(origin: &Origin, what: &str) -> EsaError {
    EsaError::new(
        ErrorCode::Unsupported,
        format!("{what} is a feature of the local store; {origin} does not offer it"),
    )
}

/// A page of a site's certificates, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub rows: Vec<CertSummary>,
    /// How many the site has in all.
    pub total: u64,
}

/// What a desk's main screen shows: the sites with their counts, and the
/// certificates of one site (or of all).
#[derive(Debug, Default)]
pub struct Overview {
    pub sites: Vec<SiteSummary>,
    /// The rows not already handed over page by page (see
    /// [`Backend::overview`]).
    pub rows: Vec<CertSummary>,
    /// Entries that could not be read (a local store logs their paths).
    pub damaged: usize,
}

/// The ESA operations, as every front end may use them.
///
/// Calls block (a remote one waits for the network; a local one for the
/// store's lock or a key generation): front ends with a screen call them
/// from a worker thread.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Where this backend keeps its certificates.
    fn origin(&self) -> Origin;

    /// The sites and defaults the input rules check against.
    fn input_rules(&self) -> EsaResult<InputRules>;

    /// Whether a generated private key stays retrievable after the Create
    /// response (the local store, or a remote's local key folder).
    fn keeps_private_keys(&self) -> bool;

    /// The sites with their CA and counts.
    fn sites(&self) -> EsaResult<SitesResponse>;

    /// CreateClientCertificate. Never retried by a remote backend: the
    /// caller sees whether it was issued.
    fn create(&self, req: &CreateRequest) -> EsaResult<CreateResponse>;

    /// Every certificate of one site, newest last, handed over page by
    /// page as they arrive (`each` returns `false` to stop early). A local
    /// store hands everything over at once.
    fn list_site(&self, site_id: u64, each: &mut dyn FnMut(Page) -> bool) -> EsaResult<()>;

    /// ListClientCertificates: one page (`page` from 1, `size` 1..=100).
    fn list_page(&self, site_id: u64, page: u64, size: u64) -> EsaResult<ListResponse>;

    /// GetClientCertificate. `site_id` may be left out where the backend
    /// can find the certificate by its Id alone.
    fn get(&self, site_id: Option<u64>, id: &str) -> EsaResult<GetResponse>;

    fn revoke(
        &self,
        site_id: Option<u64>,
        id: &str,
        reason: Option<RevocationReason>,
    ) -> EsaResult<StatusChangeResponse>;

    fn activate(&self, site_id: Option<u64>, id: &str) -> EsaResult<StatusChangeResponse>;

    fn delete(&self, site_id: Option<u64>, id: &str) -> EsaResult<StatusChangeResponse>;

    /// The site's managed CA certificate (PEM), when the CA exists. Never
    /// creates one.
    fn ca_pem(&self, site_id: u64) -> EsaResult<Option<String>>;

    /// The kept private key of a certificate (PKCS#8 PEM); an error that
    /// says why when none was kept.
    fn private_key(&self, site_id: Option<u64>, id: &str) -> EsaResult<Secret>;

    /// PKCS#12 of a certificate with its kept private key and the site CA,
    /// encrypted with `password`; an error that says why when no key was
    /// kept.
    fn export_p12(
        &self,
        site_id: Option<u64>,
        id: &str,
        password: &Secret,
        mode: P12Mode,
    ) -> EsaResult<Zeroizing<Vec<u8>>>;

    /// UploadClientCaCertificate: a CA certificate (PEM) as a verify-only
    /// trust anchor of the site.
    fn upload_ca(
        &self,
        site_id: u64,
        certificate: &str,
        name: Option<&str>,
    ) -> EsaResult<wire::UploadedCa>;

    /// ListClientCaCertificates: one page of the site's uploaded CAs
    /// (`page` 1..=500, `size` 1..=100).
    fn list_cas(&self, site_id: u64, page: u64, size: u64) -> EsaResult<wire::List>;

    /// GetClientCaCertificate.
    fn get_ca(&self, site_id: u64, id: &str) -> EsaResult<wire::Get>;

    /// DeleteClientCaCertificate (and its hostname binding).
    fn delete_ca(&self, site_id: u64, id: &str) -> EsaResult<StatusChangeResponse>;

    /// GetClientCaCertificateHostnames: the hostnames bound to a CA (no
    /// `id`: the site's managed CA).
    fn ca_hostnames(&self, site_id: u64, id: Option<&str>) -> EsaResult<wire::Hostnames>;

    /// SetClientCaCertificateHostnames: replaces the binding (an empty list
    /// removes it).
    fn set_ca_hostnames(
        &self,
        site_id: u64,
        id: Option<&str>,
        hostnames: &[String],
    ) -> EsaResult<wire::Hostnames>;

    /// GetClientCertificateHostnames: the hostnames bound to a client
    /// certificate (no `id`: the site's managed CA).
    fn certificate_hostnames(&self, site_id: u64, id: Option<&str>) -> EsaResult<wire::Hostnames>;

    /// SetClientCertificateHostnames.
    fn set_certificate_hostnames(
        &self,
        site_id: u64,
        id: Option<&str>,
        hostnames: &[String],
    ) -> EsaResult<wire::Hostnames>;

    /// A stamp that moves when the certificates change, for polling; `None`
    /// when the backend cannot tell cheaply (then the front end re-reads on
    /// demand only).
    fn change_stamp(&self) -> Option<u64> {
        None
    }

    /// The sites with their counts and the certificates of `site` (or of
    /// every site), for a screen. A backend that pages hands each page of
    /// rows to `page` as it arrives, and those rows are not in the
    /// result again; the local store reads everything in one pass and
    /// returns it whole. The default pages through [`Backend::list_site`]
    /// and counts each site's statuses from the rows it sees.
    fn overview(
        &self,
        site: Option<u64>,
        page: &mut dyn FnMut(Vec<CertSummary>),
    ) -> EsaResult<Overview> {
        let mut sites = self.sites()?.sites;
        let now = clock::now_seconds();
        for s in sites.iter_mut() {
            if site.is_some_and(|id| id != s.site_id) {
                continue;
            }
            let (mut active, mut revoked, mut expired, mut soon) = (0, 0, 0, 0);
            self.list_site(s.site_id, &mut |p| {
                for r in &p.rows {
                    match r.status {
                        Status::Active => {
                            active += 1;
                            let ends = clock::parse_esa_time(&r.not_after);
                            if ends.is_some_and(|na| {
                                expiring_within(r.status, na, now, super::EXPIRING_SOON_DAYS)
                            }) {
                                soon += 1;
                            }
                        }
                        Status::Revoked => revoked += 1,
                        Status::Expired => expired += 1,
                    }
                }
                page(p.rows);
                true
            })?;
            (s.active, s.revoked, s.expired, s.expiring_soon) = (active, revoked, expired, soon);
        }
        Ok(Overview {
            sites,
            rows: Vec::new(),
            damaged: 0,
        })
    }

    /// The counts and certificates of `sites` only: their summaries (in
    /// that order) and their rows, for a screen that reads a store of many
    /// sites a batch at a time, so that each batch costs its own sites and
    /// not every site. Rows handed to `page` are not in the result again,
    /// as for [`Backend::overview`]. The default asks
    /// [`Backend::overview`] for each site in turn; a backend that can
    /// read several sites in one pass overrides it.
    fn overview_sites(
        &self,
        sites: &[u64],
        page: &mut dyn FnMut(Vec<CertSummary>),
    ) -> EsaResult<Overview> {
        let mut out = Overview::default();
        for &id in sites {
            let one = self.overview(Some(id), page)?;
            out.sites
                .extend(one.sites.into_iter().filter(|s| s.site_id == id));
            out.rows.extend(one.rows);
            out.damaged += one.damaged;
        }
        Ok(out)
    }

    /// Whether an operation that signs for `site` needs a CA passphrase
    /// the backend does not have (a local `protect_key` store).
    fn needs_ca_passphrase(&self, _site: u64) -> EsaResult<bool> {
        Ok(false)
    }

    /// Whether the site's CA key exists and is encrypted (so a passphrase
    /// is typed once, not twice for a new one).
    fn ca_key_protected(&self, _site: u64) -> EsaResult<bool> {
        Ok(false)
    }

    /// Keeps the CA passphrase for the session.
    fn set_ca_passphrase(&self, _passphrase: Secret) -> EsaResult<()> {
        Err(unsupported(&self.origin(), "A CA passphrase"))
    }

    /// The uploaded CAs of a site with the hostnames bound to each.
    fn uploaded_cas(&self, site: u64) -> EsaResult<Vec<(wire::CertInfo, Vec<String>)>> {
        let mut out = Vec::new();
        each_uploaded_ca(self, site, &mut |ca| {
            let bound = self.ca_hostnames(site, Some(&ca.id))?.hostnames;
            out.push((ca, bound));
            Ok(())
        })?;
        Ok(out)
    }

    /// The site's trust bundle: its managed CA, then every uploaded CA
    /// still in date (GetClientCaCertificate for each one's PEM).
    fn trust_bundle(&self, site: u64) -> EsaResult<String> {
        let mut pem = self
            .ca_pem(site)?
            .ok_or_else(|| no_managed_ca(&self.origin(), site))?;
        let now = clock::now_seconds();
        each_uploaded_ca(self, site, &mut |ca| {
            if !bundled(&ca.not_after, now) {
                return Ok(());
            }
            let got = self.get_ca(site, &ca.id)?;
            if !pem.ends_with('\n') {
                pem.push('\n');
            }
            pem.push_str(&got.certificate);
            Ok(())
        })?;
        Ok(pem)
    }

    /// The hostnames bound to a CA (`ca: true`; no `id`: the managed CA)
    /// or to a client certificate.
    fn hostnames(&self, site: u64, ca: bool, id: Option<&str>) -> EsaResult<Vec<String>> {
        let bound = if ca {
            self.ca_hostnames(site, id)?
        } else {
            self.certificate_hostnames(site, id)?
        };
        Ok(bound.hostnames)
    }

    /// Renewal (local only).
    fn renew(&self, _id: &str, _days: Option<u32>, _revoke_old: bool) -> EsaResult<RenewResponse> {
        Err(unsupported(&self.origin(), "Renewal"))
    }

    /// The site's CRL, freshly signed (local only: ESA publishes none).
    fn crl_pem(&self, _site_id: u64) -> EsaResult<String> {
        Err(unsupported(&self.origin(), "The CRL"))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn an_uploaded_ca_leaves_the_bundle_once_its_not_after_has_passed() {
        let now = datetime!(2026-06-01 12:00:00 UTC);
        assert!(super::bundled("2026-06-02T00:00:00Z", now));
        assert!(
            super::bundled("2026-06-01T12:00:00Z", now),
            "its last second"
        );
        assert!(!super::bundled("2026-06-01T11:59:59Z", now));
        assert!(super::bundled("not a date", now), "the upload checked it");
    }
}
