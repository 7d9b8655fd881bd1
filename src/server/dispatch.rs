//! Action → service operation → the ESA response body. Every rule and
//! error code is the service's own; this file only names parameters and
//! shapes answers (see `shared/reference/esa-openapi-wire.md` §2–3).

use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use super::params::Params;
use crate::api::{Backend, CreateRequest, wire};
use crate::base::random;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::service::{BindingTarget, Service};

/// The API version every action belongs to.
pub const VERSION: &str = crate::api::wire::VERSION;

/// The operations of the 2024-09-10 API this server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateClientCertificate,
    GetClientCertificate,
    ListClientCertificates,
    RevokeClientCertificate,
    ActivateClientCertificate,
    DeleteClientCertificate,
    UploadClientCaCertificate,
    GetClientCaCertificate,
    ListClientCaCertificates,
    DeleteClientCaCertificate,
    GetClientCaCertificateHostnames,
    SetClientCaCertificateHostnames,
    GetClientCertificateHostnames,
    SetClientCertificateHostnames,
    ListSites,
}

impl Action {
    pub const ALL: [Action; 15] = [
        Action::CreateClientCertificate,
        Action::GetClientCertificate,
        Action::ListClientCertificates,
        Action::RevokeClientCertificate,
        Action::ActivateClientCertificate,
        Action::DeleteClientCertificate,
        Action::UploadClientCaCertificate,
        Action::GetClientCaCertificate,
        Action::ListClientCaCertificates,
        Action::DeleteClientCaCertificate,
        Action::GetClientCaCertificateHostnames,
        Action::SetClientCaCertificateHostnames,
        Action::GetClientCertificateHostnames,
        Action::SetClientCertificateHostnames,
        Action::ListSites,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateClientCertificate => "CreateClientCertificate",
            Action::GetClientCertificate => "GetClientCertificate",
            Action::ListClientCertificates => "ListClientCertificates",
            Action::RevokeClientCertificate => "RevokeClientCertificate",
            Action::ActivateClientCertificate => "ActivateClientCertificate",
            Action::DeleteClientCertificate => "DeleteClientCertificate",
            Action::UploadClientCaCertificate => "UploadClientCaCertificate",
            Action::GetClientCaCertificate => "GetClientCaCertificate",
            Action::ListClientCaCertificates => "ListClientCaCertificates",
            Action::DeleteClientCaCertificate => "DeleteClientCaCertificate",
            Action::GetClientCaCertificateHostnames => "GetClientCaCertificateHostnames",
            Action::SetClientCaCertificateHostnames => "SetClientCaCertificateHostnames",
            Action::GetClientCertificateHostnames => "GetClientCertificateHostnames",
            Action::SetClientCertificateHostnames => "SetClientCertificateHostnames",
            Action::ListSites => "ListSites",
        }
    }
}

impl FromStr for Action {
    type Err = EsaError;
    fn from_str(s: &str) -> EsaResult<Action> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                EsaError::new(
                    ErrorCode::InvalidAction,
                    format!(
                        "the specified action {} is not found in version {VERSION}",
                        crate::text::quoted(&crate::text::clip(s, 64))
                    ),
                )
            })
    }
}

fn json<T: Serialize>(v: &T) -> EsaResult<Value> {
    serde_json::to_value(v).map_err(|e| EsaError::internal(format!("response encoding: {e}")))
}

fn site_id(svc: &Service, p: &Params) -> EsaResult<u64> {
    Ok(svc.check_site_id(p.get("SiteId"))?.id)
}

fn id(p: &Params) -> EsaResult<&str> {
    p.required("Id", ErrorCode::InvalidId)
}

fn optional_id(p: &Params) -> Option<&str> {
    p.get("Id").filter(|i| !i.trim().is_empty())
}

/// The CreateClientCertificate request as the service reads it (CommonName
/// and Name are this desk's extensions; ESA ignores unknown parameters).
pub fn create_request(p: &Params) -> CreateRequest {
    CreateRequest {
        site_id: p.get("SiteId").map(str::to_owned),
        validity_days: p.get("ValidityDays").map(str::to_owned),
        pkey_type: p
            .get("PkeyType")
            .filter(|k| !k.is_empty())
            .map(str::to_owned),
        csr: p
            .get("CSR")
            .filter(|c| !c.trim().is_empty())
            .map(|c| c.as_bytes().to_vec()),
        common_name: p.get("CommonName").map(str::to_owned),
        name: p.get("Name").map(str::to_owned),
    }
}

/// Runs every action but CreateClientCertificate (which goes through the
/// group committer).
pub fn call(svc: &Service, action: Action, p: &Params) -> EsaResult<Value> {
    match action {
        Action::CreateClientCertificate => json(&svc.create(&create_request(p))?),
        Action::GetClientCertificate => {
            let site = site_id(svc, p)?;
            json(&wire::Get::from(&Backend::get(svc, Some(site), id(p)?)?))
        }
        Action::ListClientCertificates => {
            let site = site_id(svc, p)?;
            let page = svc.list_page(site, p.page("PageNumber", 1)?, p.page("PageSize", 20)?)?;
            json(&wire::List::from_listing(&page, site))
        }
        Action::RevokeClientCertificate => {
            let site = site_id(svc, p)?;
            json(&Backend::revoke(svc, Some(site), id(p)?, None)?)
        }
        Action::ActivateClientCertificate => {
            let site = site_id(svc, p)?;
            json(&Backend::activate(svc, Some(site), id(p)?)?)
        }
        Action::DeleteClientCertificate => {
            let site = site_id(svc, p)?;
            json(&Backend::delete(svc, Some(site), id(p)?)?)
        }
        Action::UploadClientCaCertificate => {
            let site = site_id(svc, p)?;
            json(&svc.upload_ca(site, p.get("Certificate"), p.get("Name"))?)
        }
        Action::GetClientCaCertificate => {
            let site = site_id(svc, p)?;
            json(&svc.get_ca(site, id(p)?)?)
        }
        Action::ListClientCaCertificates => {
            let site = site_id(svc, p)?;
            json(&svc.list_cas(site, p.page("PageNumber", 1)?, p.page("PageSize", 20)?)?)
        }
        Action::DeleteClientCaCertificate => {
            let site = site_id(svc, p)?;
            json(&svc.delete_ca(site, id(p)?)?)
        }
        Action::GetClientCaCertificateHostnames | Action::GetClientCertificateHostnames => {
            let site = site_id(svc, p)?;
            json(&svc.hostnames(target(action), site, optional_id(p))?)
        }
        Action::SetClientCaCertificateHostnames | Action::SetClientCertificateHostnames => {
            let site = site_id(svc, p)?;
            let list = p.hostnames()?;
            json(&svc.set_hostnames(target(action), site, optional_id(p), &list)?)
        }
        Action::ListSites => list_sites(svc, p),
    }
}

fn target(action: Action) -> BindingTarget {
    match action {
        Action::GetClientCaCertificateHostnames | Action::SetClientCaCertificateHostnames => {
            BindingTarget::Ca
        }
        _ => BindingTarget::Certificate,
    }
}

/// ListSites: the sites of the config (every one `active`), optionally
/// filtered by a case-insensitive part of `SiteName`, paged (PageSize up
/// to 500, ESA's bound for sites).
fn list_sites(svc: &Service, p: &Params) -> EsaResult<Value> {
    let page = p.page("PageNumber", 1)?;
    let size = p.page("PageSize", 500)?;
    if page == 0 || !(1..=500).contains(&size) {
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            "PageNumber must be 1 or more and PageSize 1 to 500",
        ));
    }
    let filter = p
        .get("SiteName")
        .map(str::to_lowercase)
        .filter(|f| !f.is_empty());
    // Only active sites exist here; another status matches none.
    if p.get("Status")
        .is_some_and(|s| !s.is_empty() && s != "active")
    {
        return json(&wire::ListSites {
            request_id: random::new_request_id(),
            total_count: 0,
            page_number: page,
            page_size: size,
            sites: Vec::new(),
        });
    }
    let all: Vec<wire::Site> = svc
        .input_rules()
        .sites
        .iter()
        .filter(|s| {
            filter
                .as_ref()
                .is_none_or(|f| s.name.to_lowercase().contains(f))
        })
        .map(|s| wire::Site {
            site_id: s.id,
            site_name: s.name.clone(),
            status: "active".into(),
        })
        .collect();
    let total = all.len() as u64;
    let start = usize::try_from((page - 1).saturating_mul(size)).unwrap_or(usize::MAX);
    json(&wire::ListSites {
        request_id: random::new_request_id(),
        total_count: total,
        page_number: page,
        page_size: size,
        sites: all.into_iter().skip(start).take(size as usize).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_and_unknown_is_not_found() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
        }
        let e = "DescribeInstances".parse::<Action>().unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidAction);
    }
}
