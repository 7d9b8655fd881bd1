//! The second [`Backend`]: an ESA endpoint (Alibaba Cloud ESA, or a team's
//! `esa-certs serve`) driven over its OpenAPI, so the CLI and the TUI work
//! against it as against the local store.
//!
//! [`open`] builds one from a `[[remote]]` table without touching the
//! network; the first call that needs the sites (ListSites) reads and
//! keeps them. Input is checked by the same [`crate::api::input`] rules the
//! local service applies before anything is sent; every error the endpoint
//! answers surfaces with its own code and RequestId.
//!
//! What the API has no operation for stays local-only and answers
//! [`crate::api::unsupported`]: renewal, the CRL, revocation reasons. A
//! generated private key exists once, in the Create response: with
//! `keep_private_keys` it is kept in the remote's key folder ([`keys`]),
//! which is what key and PKCS#12 exports read.

mod backend;
mod client;
mod credentials;
mod keys;
mod retry;
mod wire_error;

pub use client::{Endpoint, Timeouts};
pub use credentials::{ACCESS_KEY_ID_ENV, ACCESS_KEY_SECRET_ENV, Credentials};
pub use keys::KeyFolder;
pub use retry::{RetryPolicy, is_idempotent_read};

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;
use zeroize::Zeroizing;

use crate::api::{
    Backend, CertSummary, CreateRequest, CreateResponse, GetResponse, InputRules, IssueDefaults,
    ListResponse, Origin, Page, Secret, SiteRef, SiteSummary, SitesResponse, StatusChangeResponse,
    expiring_within, input, wire,
};
use crate::api::{EXPIRING_SOON_DAYS, Status};
use crate::config::Config;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{P12Mode, PkeyType, RevocationReason};
use client::{Call, Client};

/// ListClientCertificates' largest page (ESA's bound).
pub const PAGE_SIZE: u64 = 100;
/// ListSites' largest page.
const SITES_PAGE_SIZE: u64 = 500;

/// How a backend is built besides its config (tests shorten the waits).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
}

/// An ESA endpoint as a [`Backend`].
#[derive(Debug)]
pub struct RemoteBackend {
    name: String,
    /// The endpoint as the config writes it, for titles.
    endpoint: String,
    client: Client,
    /// The key folder, when this remote keeps generated keys.
    keys: Option<KeyFolder>,
    defaults: IssueDefaults,
    /// ListSites, once read.
    sites: Mutex<Option<Vec<SiteRef>>>,
}

/// The backend of the `[[remote]]` named `name` in `config`, with the
/// credentials of its table (or the `ALIBABA_CLOUD_ACCESS_KEY_*`
/// variables). Nothing is sent until the first operation. An unknown name
/// is an error listing the configured remotes.
pub fn open(config: &Config, name: &str) -> EsaResult<RemoteBackend> {
    open_with(config, name, OpenOptions::default())
}

/// [`open`] with other timeouts or retries.
pub fn open_with(config: &Config, name: &str, options: OpenOptions) -> EsaResult<RemoteBackend> {
    let remote = config
        .remotes
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = config.remotes.iter().map(|r| r.name.as_str()).collect();
            EsaError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "no [[remote]] named {} in {}; {}",
                    crate::text::quoted(&crate::text::clip(name, 64)),
                    config.path.display(),
                    if known.is_empty() {
                        "the config has no [[remote]] table".to_owned()
                    } else {
                        format!("configured: {}", known.join(", "))
                    }
                ),
            )
        })?;
    let endpoint = Endpoint::parse(&remote.endpoint)?;
    let credentials = Credentials::load(remote, |k| std::env::var(k).ok())?;
    let client = Client::new(
        &remote.name,
        endpoint,
        credentials,
        remote.ca_file.as_deref(),
        options.timeouts,
        options.retry,
    )?;
    Ok(RemoteBackend {
        name: remote.name.clone(),
        endpoint: remote.endpoint.clone(),
        client,
        keys: remote
            .keep_private_keys
            .then(|| KeyFolder::new(&config.store.path, &remote.name)),
        defaults: IssueDefaults {
            validity_days: config.defaults.validity_days,
            pkey_type: config.defaults.pkey_type,
        },
        sites: Mutex::new(None),
    })
}

fn q(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

/// NotAfter and friends: ESA's models say `YYYY-MM-DD HH:MM:SS`, its docs
/// show `YYYY-MM-DDTHH:MM:SSZ`; both are read.
fn remote_time(s: &str) -> Option<time::OffsetDateTime> {
    crate::base::clock::parse_esa_time(s).or_else(|| {
        crate::acs::parse_date(s).and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
    })
}

/// The PkeyType as sent: what the operator typed (already checked), else
/// the default in ESA's documented spelling where it has one.
fn wire_pkey_type(raw: Option<&str>, t: PkeyType) -> String {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => r.to_owned(),
        None => match t {
            PkeyType::Rsa2048 => "RSA".to_owned(),
            PkeyType::EcP256 => "ECC".to_owned(),
            other => other.as_esa().to_owned(),
        },
    }
}

/// The fields of the Create response that ESA types as strings, as
/// strings even when an endpoint sends a number.
fn stringify_create_fields(v: &mut Value) {
    const TEXT: [&str; 12] = [
        "CACertificateId",
        "Certificate",
        "CommonName",
        "FingerprintSha256",
        "Id",
        "Issuer",
        "NotAfter",
        "NotBefore",
        "PrivateKey",
        "SerialNumber",
        "SignatureAlgorithm",
        "ValidityDays",
    ];
    if let Some(obj) = v.as_object_mut() {
        for k in TEXT {
            if let Some(n @ (Value::Number(_) | Value::Bool(_))) = obj.get(k) {
                let s = n.to_string();
                obj.insert(k.to_owned(), Value::String(s));
            }
        }
    }
}

impl RemoteBackend {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key folder, when this remote keeps generated keys.
    pub fn key_folder(&self) -> Option<&KeyFolder> {
        self.keys.as_ref()
    }

    /// Where the key of certificate `id` is kept, when it is.
    pub fn kept_key_path(&self, id: &str) -> Option<PathBuf> {
        self.keys
            .as_ref()
            .and_then(|k| k.path(id))
            .filter(|p| p.is_file())
    }

    /// The endpoint's sites (ListSites, every page), read once.
    fn site_refs(&self) -> EsaResult<Vec<SiteRef>> {
        if let Ok(cache) = self.sites.lock()
            && let Some(s) = cache.as_ref()
        {
            return Ok(s.clone());
        }
        let mut sites = Vec::new();
        for page in 1.. {
            let l: wire::ListSites = self.client.call_as(&Call::get(
                "ListSites",
                vec![
                    ("PageNumber", page.to_string()),
                    ("PageSize", SITES_PAGE_SIZE.to_string()),
                ],
            ))?;
            let n = l.sites.len();
            sites.extend(l.sites.into_iter().map(|s| SiteRef {
                id: s.site_id,
                name: s.site_name,
            }));
            if n == 0 || sites.len() as u64 >= l.total_count {
                break;
            }
        }
        if let Ok(mut cache) = self.sites.lock() {
            *cache = Some(sites.clone());
        }
        Ok(sites)
    }

    fn site_ref(&self, site_id: u64) -> EsaResult<SiteRef> {
        self.site_refs()?
            .into_iter()
            .find(|s| s.id == site_id)
            .ok_or_else(|| {
                EsaError::new(
                    ErrorCode::InvalidSiteId,
                    format!("site {site_id} is not a site of {}", self.client.describe()),
                )
            })
    }

    fn key_ids(&self) -> std::collections::HashSet<String> {
        self.keys.as_ref().map(KeyFolder::ids).unwrap_or_default()
    }

    fn get_on(&self, site_id: u64, id: &str) -> EsaResult<wire::Get> {
        self.client.call_as(&Call::get(
            "GetClientCertificate",
            q(&[("Id", id.trim()), ("SiteId", &site_id.to_string())]),
        ))
    }

    /// The site a certificate is on: the one given, the only one, or the
    /// first site that has the Id (ESA addresses a certificate by site and
    /// Id; the CLI lets the site be left out). Returns the Get when one
    /// was made.
    fn locate(&self, site_id: Option<u64>, id: &str) -> EsaResult<(u64, Option<wire::Get>)> {
        if let Some(s) = site_id {
            return Ok((s, None));
        }
        let sites = self.site_refs()?;
        if let [only] = sites.as_slice() {
            return Ok((only.id, None));
        }
        let mut last = None;
        for s in &sites {
            match self.get_on(s.id, id) {
                Ok(g) => return Ok((s.id, Some(g))),
                // "Not on this site" is a client error about the request;
                // refusals of the caller (403), throttling and outages end
                // the search.
                Err(e)
                    if (400..500).contains(&e.http_status())
                        && !matches!(e.http_status(), 403 | 429) =>
                {
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(EsaError::new(
            ErrorCode::InvalidId,
            format!(
                "no certificate with Id {} on any of the {} site(s) of {}{}; give --site-id",
                crate::text::quoted(&crate::text::clip(id.trim(), 64)),
                sites.len(),
                self.client.describe(),
                last.map(|e| format!(" (last answer: {} {})", e.code_str(), e.message))
                    .unwrap_or_default()
            ),
        ))
    }

    fn summary(&self, info: wire::CertInfo, site_id: u64, site_name: &str) -> CertSummary {
        let stored = self.kept_key_path(&info.id).is_some();
        info.into_summary(site_id, site_name, stored)
    }

    fn get_response(&self, site_id: u64, g: wire::Get) -> GetResponse {
        let site_name = g.site_name.clone();
        GetResponse {
            request_id: g.request_id,
            site_id,
            site_name: site_name.clone(),
            status: g.status,
            certificate: g.certificate,
            result: self.summary(g.result, site_id, &site_name),
        }
    }

    fn list_wire(&self, site_id: u64, page: u64, size: u64) -> EsaResult<wire::List> {
        self.client.call_as(&Call::get(
            "ListClientCertificates",
            vec![
                ("PageNumber", page.to_string()),
                ("PageSize", size.to_string()),
                ("SiteId", site_id.to_string()),
            ],
        ))
    }

    fn ack(&self, action: &'static str, site_id: u64, id: &str) -> EsaResult<StatusChangeResponse> {
        self.client.call_as(&Call::get(
            action,
            q(&[("Id", id.trim()), ("SiteId", &site_id.to_string())]),
        ))
    }

    /// The CA that signed certificate `g` (GetClientCaCertificate of its
    /// CACertificateId), as PEM.
    fn issuer_pem(&self, site_id: u64, g: &GetResponse) -> EsaResult<String> {
        let ca = &g.result.ca_certificate_id;
        if ca.is_empty() {
            return Err(EsaError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "{} does not say which CA signed certificate {}",
                    self.client.describe(),
                    g.result.id
                ),
            ));
        }
        Ok(Backend::get_ca(self, site_id, ca)?.certificate)
    }

    /// The kept key of a certificate, checked against the certificate the
    /// endpoint has, and that certificate.
    fn kept_key(&self, site_id: Option<u64>, id: &str) -> EsaResult<(Secret, u64, GetResponse)> {
        let Some(folder) = &self.keys else {
            let mut e =
                crate::api::unsupported(&self.origin(), "A private key after its Create response");
            e.message.push_str(
                " unless it keeps them: set keep_private_keys = true in its [[remote]] table \
                 (keys issued before that were shown once)",
            );
            return Err(e);
        };
        let (site, got) = self.locate(site_id, id)?;
        let g = match got {
            Some(g) => g,
            None => self.get_on(site, id)?,
        };
        let g = self.get_response(site, g);
        let key = folder.read(&g.result.id)?.ok_or_else(|| {
            EsaError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "no private key of certificate {} is kept in {} (it was issued for a CSR, \
                     before keep_private_keys was set, or by another desk)",
                    g.result.id,
                    folder.dir().display()
                ),
            )
        })?;
        let der = pem::parse(&g.certificate)
            .map(pem::Pem::into_contents)
            .map_err(|e| {
                EsaError::new(
                    ErrorCode::RemoteUnavailable,
                    format!(
                        "the certificate {} from the remote is not PEM: {e}",
                        g.result.id
                    ),
                )
            })?;
        if !crate::pki::key_matches_cert(&key, &der).unwrap_or(false) {
            return Err(EsaError::internal(format!(
                "the kept key {} does not belong to certificate {}; nothing was exported",
                folder.path(&g.result.id).unwrap_or_default().display(),
                g.result.id
            )));
        }
        Ok((Secret(key), site, g))
    }

    fn hostnames_call(
        &self,
        action: &'static str,
        method: client::Method,
        site_id: u64,
        id: Option<&str>,
    ) -> EsaResult<wire::Hostnames> {
        let mut query = vec![("SiteId", site_id.to_string())];
        if let Some(id) = id.map(str::trim).filter(|i| !i.is_empty()) {
            query.insert(0, ("Id", id.to_owned()));
        }
        let call = match method {
            client::Method::Get => Call::get(action, query),
            // GetClientCaCertificateHostnames: a POST with an empty body
            // and no Content-Type, as the SDK sends it.
            client::Method::Post => Call::post(action, query, None),
        };
        self.client.call_as(&call)
    }

    fn set_hostnames_call(
        &self,
        action: &'static str,
        site_id: u64,
        id: Option<&str>,
        hostnames: &[String],
    ) -> EsaResult<wire::Hostnames> {
        let site = self.site_ref(site_id)?;
        let list = input::hostnames(&site.name, hostnames)?;
        let json = serde_json::to_string(&list)
            .map_err(|e| EsaError::internal(format!("Hostnames encoding: {e}")))?;
        let mut form = vec![("Hostnames", json)];
        if let Some(id) = id.map(str::trim).filter(|i| !i.is_empty()) {
            form.push(("Id", id.to_owned()));
        }
        self.client.call_as(&Call::post(
            action,
            vec![("SiteId", site_id.to_string())],
            Some(form),
        ))
    }

    /// Reads a Create answer, keeping the key first when this remote keeps
    /// keys (even if the rest of the answer cannot be read).
    fn created(&self, reply: client::Reply) -> EsaResult<CreateResponse> {
        let mut body = reply.body;
        stringify_create_fields(&mut body);
        let id = body.get("Id").and_then(Value::as_str).map(str::to_owned);
        let key = body
            .get("PrivateKey")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .map(|k| Zeroizing::new(k.to_owned()));
        let mut kept = None;
        if let (Some(folder), Some(id), Some(key)) = (&self.keys, &id, &key) {
            match folder.save(id, key) {
                Ok(p) => {
                    tracing::info!(remote = %self.name, id = %id, "kept the private key");
                    kept = Some(p);
                }
                Err(e) => tracing::warn!(
                    remote = %self.name, id = %id, error = %e,
                    "could not keep the private key; it is shown once instead"
                ),
            }
        }
        serde_json::from_value::<CreateResponse>(body).map_err(|e| {
            EsaError::new(
                ErrorCode::RemoteUnavailable,
                format!(
                    "the answer to CreateClientCertificate from {} could not be read ({e}); the \
                     certificate may have been issued{}{} (RequestId {}): check with list",
                    self.client.describe(),
                    id.map(|i| format!(" as {i}")).unwrap_or_default(),
                    kept.map(|p| format!(", its key is kept in {}", p.display()))
                        .unwrap_or_default(),
                    reply.request_id
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests;
