//! The response bodies exactly as the ESA OpenAPI (2024-09-10) carries
//! them: field names, which fields exist, and JSON types (`ValidityDays` a
//! string; `SiteId`, `TotalCount`, `PageNumber`, `PageSize` numbers;
//! `Result` an object for Get and an array for List). The HTTP server
//! writes these and the remote client reads them, so one definition keeps
//! the two ends agreed (see `shared/reference/esa-openapi-wire.md` §3).
//!
//! The local desk's own types ([`super::CertSummary`]) carry more than the
//! wire does (key type, revocation reason, renewal links); the conversions
//! here drop or default what the other side cannot know.

use serde::{Deserialize, Serialize};

use super::{CertSummary, GetResponse, ListResponse, Status};

/// The API version of every operation (`x-acs-version`).
pub const VERSION: &str = "2024-09-10";

/// One certificate (`Result` of Get, an item of List's `Result`).
/// `CACertificateId` exists for client certificates only, not for CAs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    #[serde(
        rename = "CACertificateId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ca_certificate_id: Option<String>,
    #[serde(rename = "CommonName", default)]
    pub common_name: String,
    #[serde(rename = "CreateTime", default)]
    pub create_time: String,
    #[serde(rename = "FingerprintSha256", default)]
    pub fingerprint_sha256: String,
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Issuer", default)]
    pub issuer: String,
    #[serde(rename = "Name", default)]
    pub name: String,
    #[serde(rename = "NotAfter", default)]
    pub not_after: String,
    #[serde(rename = "NotBefore", default)]
    pub not_before: String,
    #[serde(rename = "PubkeyAlgorithm", default)]
    pub pubkey_algorithm: String,
    #[serde(rename = "SAN", default)]
    pub san: String,
    #[serde(rename = "SerialNumber", default)]
    pub serial_number: String,
    #[serde(rename = "SignatureAlgorithm", default)]
    pub signature_algorithm: String,
    #[serde(rename = "Status")]
    pub status: Status,
    #[serde(rename = "Type", default)]
    pub kind: String,
    #[serde(rename = "UpdateTime", default)]
    pub update_time: String,
}

impl From<&CertSummary> for CertInfo {
    fn from(c: &CertSummary) -> Self {
        CertInfo {
            ca_certificate_id: Some(c.ca_certificate_id.clone()),
            common_name: c.common_name.clone(),
            create_time: c.create_time.clone(),
            fingerprint_sha256: c.fingerprint_sha256.clone(),
            id: c.id.clone(),
            issuer: c.issuer.clone(),
            name: c.name.clone(),
            not_after: c.not_after.clone(),
            not_before: c.not_before.clone(),
            pubkey_algorithm: c.pubkey_algorithm.clone(),
            san: c.san.clone(),
            serial_number: c.serial_number.clone(),
            signature_algorithm: c.signature_algorithm.clone(),
            status: c.status,
            kind: c.kind.clone(),
            update_time: c.update_time.clone(),
        }
    }
}

impl CertInfo {
    /// The desk's summary of a certificate read over the wire: what ESA
    /// does not say (the key type's size, revocation and renewal details)
    /// is left empty; `key_stored` says whether the desk kept the key.
    pub fn into_summary(self, site_id: u64, site_name: &str, key_stored: bool) -> CertSummary {
        CertSummary {
            id: self.id,
            name: self.name,
            common_name: self.common_name,
            status: self.status,
            kind: self.kind,
            issuer: self.issuer,
            san: self.san,
            serial_number: self.serial_number,
            fingerprint_sha256: self.fingerprint_sha256,
            signature_algorithm: self.signature_algorithm,
            pkey_type: self.pubkey_algorithm.clone(),
            pubkey_algorithm: self.pubkey_algorithm,
            ca_certificate_id: self.ca_certificate_id.unwrap_or_default(),
            not_before: self.not_before,
            not_after: self.not_after,
            create_time: self.create_time,
            update_time: self.update_time,
            site_id,
            site_name: site_name.to_owned(),
            validity_days: String::new(),
            private_key_stored: key_stored,
            revoke_time: None,
            revoke_reason: None,
            renewed_from: None,
            renewed_by: None,
        }
    }
}

/// GetClientCertificate / GetClientCaCertificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Get {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "SiteId")]
    pub site_id: u64,
    #[serde(rename = "SiteName", default)]
    pub site_name: String,
    #[serde(rename = "Status")]
    pub status: Status,
    #[serde(rename = "Certificate", default)]
    pub certificate: String,
    #[serde(rename = "Result")]
    pub result: CertInfo,
}

impl From<&GetResponse> for Get {
    fn from(g: &GetResponse) -> Self {
        Get {
            request_id: g.request_id.clone(),
            site_id: g.site_id,
            site_name: g.site_name.clone(),
            status: g.status,
            certificate: g.certificate.clone(),
            result: CertInfo::from(&g.result),
        }
    }
}

/// ListClientCertificates / ListClientCaCertificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct List {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "TotalCount")]
    pub total_count: u64,
    #[serde(rename = "PageNumber")]
    pub page_number: u64,
    #[serde(rename = "PageSize")]
    pub page_size: u64,
    #[serde(rename = "SiteId")]
    pub site_id: u64,
    #[serde(rename = "SiteName", default)]
    pub site_name: String,
    #[serde(rename = "Result", default)]
    pub result: Vec<CertInfo>,
}

impl List {
    /// The wire page of a listing of one site.
    pub fn from_listing(l: &ListResponse, site_id: u64) -> List {
        List {
            request_id: l.request_id.clone(),
            total_count: l.total_count as u64,
            page_number: l.page_number as u64,
            page_size: l.page_size as u64,
            site_id,
            site_name: l.site_name.clone().unwrap_or_default(),
            result: l.result.iter().map(CertInfo::from).collect(),
        }
    }
}

/// UploadClientCaCertificate: the CA as read from the uploaded PEM (no
/// `Certificate`, `PrivateKey` or `CACertificateId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedCa {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Status")]
    pub status: Status,
    #[serde(rename = "CommonName", default)]
    pub common_name: String,
    #[serde(rename = "NotBefore", default)]
    pub not_before: String,
    #[serde(rename = "NotAfter", default)]
    pub not_after: String,
    #[serde(rename = "Issuer", default)]
    pub issuer: String,
    #[serde(rename = "SerialNumber", default)]
    pub serial_number: String,
    #[serde(rename = "FingerprintSha256", default)]
    pub fingerprint_sha256: String,
    #[serde(rename = "SignatureAlgorithm", default)]
    pub signature_algorithm: String,
    /// Days from NotBefore to NotAfter, as a string like Create's.
    #[serde(rename = "ValidityDays", default)]
    pub validity_days: String,
}

/// Get/SetClientCaCertificateHostnames and Get/SetClientCertificateHostnames:
/// the hostnames bound to one CA (`Hostnames` a real JSON array).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hostnames {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "SiteId")]
    pub site_id: u64,
    #[serde(rename = "SiteName", default)]
    pub site_name: String,
    #[serde(rename = "Id", default)]
    pub id: String,
    #[serde(rename = "Hostnames", default)]
    pub hostnames: Vec<String>,
}

/// One site of ListSites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    #[serde(rename = "SiteId")]
    pub site_id: u64,
    #[serde(rename = "SiteName")]
    pub site_name: String,
    /// `active` for every site a local server declares.
    #[serde(rename = "Status", default)]
    pub status: String,
}

/// ListSites.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSites {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "TotalCount")]
    pub total_count: u64,
    #[serde(rename = "PageNumber")]
    pub page_number: u64,
    #[serde(rename = "PageSize")]
    pub page_size: u64,
    #[serde(rename = "Sites", default)]
    pub sites: Vec<Site>,
}

/// An error body, as ESA's: `HostId` names the endpoint; `Recommend` is a
/// hint (ESA's points at its diagnosis page; ours says what to check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    #[serde(rename = "Code", default)]
    pub code: String,
    #[serde(rename = "Message", default)]
    pub message: String,
    #[serde(rename = "HostId", default)]
    pub host_id: String,
    #[serde(rename = "Recommend", default, skip_serializing_if = "Option::is_none")]
    pub recommend: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_types_are_numbers_and_result_an_array() {
        let l = List {
            request_id: "R".into(),
            total_count: 1,
            page_number: 1,
            page_size: 20,
            site_id: 7,
            site_name: "example.com".into(),
            result: vec![],
        };
        let v = serde_json::to_value(&l).unwrap();
        assert!(v["TotalCount"].is_u64() && v["PageNumber"].is_u64() && v["SiteId"].is_u64());
        assert!(v["Result"].is_array());
        let back: List = serde_json::from_value(v).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn a_ca_variant_has_no_ca_certificate_id() {
        let info = CertInfo {
            ca_certificate_id: None,
            common_name: "Corp Root".into(),
            create_time: String::new(),
            fingerprint_sha256: String::new(),
            id: "a".repeat(32),
            issuer: String::new(),
            name: String::new(),
            not_after: String::new(),
            not_before: String::new(),
            pubkey_algorithm: "RSA".into(),
            san: String::new(),
            serial_number: String::new(),
            signature_algorithm: String::new(),
            status: Status::Active,
            kind: "upload".into(),
            update_time: String::new(),
        };
        let v = serde_json::to_value(&info).unwrap();
        assert!(v.get("CACertificateId").is_none());
        let err = serde_json::from_str::<CertInfo>(r#"{"Id":"x","Status":"pending"}"#);
        assert!(err.is_err(), "an unknown status is an error");
    }
}
