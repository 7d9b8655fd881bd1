//! Request and response shapes of the ESA operations. Field names and order
//! follow ESA's API (`RequestId`, `Id`, ...), so `--json` output can be fed
//! to the same scripts as the cloud API's.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Status;
use zeroize::Zeroizing;

/// Inputs of CreateClientCertificate, as text from a form or command line.
/// Everything is validated by the service, so both front ends share one set
/// of rules and error codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRequest {
    pub site_id: Option<String>,
    /// `None`: the config's `defaults.validity_days`.
    pub validity_days: Option<String>,
    /// `None` (and no CSR): the config's `defaults.pkey_type`.
    pub pkey_type: Option<String>,
    /// PEM text of a CSR, verbatim.
    pub csr: Option<Vec<u8>>,
    pub common_name: Option<String>,
    pub name: Option<String>,
}

/// Text that must not leak: zeroized on drop, redacted in `Debug`,
/// serialized as-is only where the contract says so.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub Zeroizing<String>);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Secret(\"\")")
        } else {
            f.write_str("Secret([redacted])")
        }
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Read from a remote endpoint's Create response (its `PrivateKey`).
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Secret(Zeroizing::new(String::deserialize(d)?)))
    }
}

/// Output of CreateClientCertificate: exactly ESA's keys, in ESA's order.
/// Read back from a remote endpoint too, where a field it leaves out is
/// empty.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CreateResponse {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Status")]
    pub status: Status,
    #[serde(rename = "Certificate", default)]
    pub certificate: String,
    /// PKCS#8 PEM; empty when the certificate was issued for a CSR.
    #[serde(rename = "PrivateKey", default)]
    pub private_key: Secret,
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
    #[serde(rename = "ValidityDays", default)]
    pub validity_days: String,
    #[serde(rename = "CACertificateId", default)]
    pub ca_certificate_id: String,
}

/// One certificate as List/GetClientCertificate(s) describe it, plus the
/// local extras an operator needs (key type, revocation, renewal links).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertSummary {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "CommonName")]
    pub common_name: String,
    #[serde(rename = "Status")]
    pub status: Status,
    /// `generated` (key made by esa-certs) or `csr`.
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Issuer")]
    pub issuer: String,
    /// Comma-separated SANs (`DNS:…`, `email:…`, `URI:…`, `IP:…`).
    #[serde(rename = "SAN")]
    pub san: String,
    #[serde(rename = "SerialNumber")]
    pub serial_number: String,
    #[serde(rename = "FingerprintSha256")]
    pub fingerprint_sha256: String,
    #[serde(rename = "SignatureAlgorithm")]
    pub signature_algorithm: String,
    /// `RSA`, `ECC` or `Ed25519`.
    #[serde(rename = "PubkeyAlgorithm")]
    pub pubkey_algorithm: String,
    #[serde(rename = "CACertificateId")]
    pub ca_certificate_id: String,
    #[serde(rename = "NotBefore")]
    pub not_before: String,
    #[serde(rename = "NotAfter")]
    pub not_after: String,
    #[serde(rename = "CreateTime")]
    pub create_time: String,
    #[serde(rename = "UpdateTime")]
    pub update_time: String,
    #[serde(rename = "SiteId")]
    pub site_id: u64,
    #[serde(rename = "SiteName")]
    pub site_name: String,
    /// `RSA_2048`, `ECC_256`, `ECC_384`, `ED25519`, ...
    #[serde(rename = "PkeyType")]
    pub pkey_type: String,
    #[serde(rename = "ValidityDays")]
    pub validity_days: String,
    #[serde(rename = "PrivateKeyStored")]
    pub private_key_stored: bool,
    #[serde(rename = "RevokeTime", skip_serializing_if = "Option::is_none")]
    pub revoke_time: Option<String>,
    #[serde(rename = "RevokeReason", skip_serializing_if = "Option::is_none")]
    pub revoke_reason: Option<String>,
    #[serde(rename = "RenewedFrom", skip_serializing_if = "Option::is_none")]
    pub renewed_from: Option<String>,
    #[serde(rename = "RenewedBy", skip_serializing_if = "Option::is_none")]
    pub renewed_by: Option<String>,
}

/// Output of ListClientCertificates.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ListResponse {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "TotalCount")]
    pub total_count: usize,
    #[serde(rename = "PageNumber")]
    pub page_number: usize,
    #[serde(rename = "PageSize")]
    pub page_size: usize,
    #[serde(rename = "SiteId", skip_serializing_if = "Option::is_none")]
    pub site_id: Option<u64>,
    #[serde(rename = "SiteName", skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    #[serde(rename = "Result")]
    pub result: Vec<CertSummary>,
}

/// Output of GetClientCertificate (never the private key).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GetResponse {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "SiteId")]
    pub site_id: u64,
    #[serde(rename = "SiteName")]
    pub site_name: String,
    #[serde(rename = "Status")]
    pub status: Status,
    #[serde(rename = "Certificate")]
    pub certificate: String,
    #[serde(rename = "Result")]
    pub result: CertSummary,
}

/// Output of Revoke/Activate/DeleteClientCertificate (ESA's Ack shape,
/// read back from a remote endpoint too).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusChangeResponse {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "SiteId")]
    pub site_id: u64,
    #[serde(rename = "SiteName", default)]
    pub site_name: String,
    #[serde(rename = "Id")]
    pub id: String,
}

/// Output of `renew`: the successor as CreateClientCertificate describes
/// it (its `Id`, `Certificate`, `PrivateKey`, ...), then where it came from
/// and what became of the old certificate.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RenewResponse {
    #[serde(flatten)]
    pub certificate: CreateResponse,
    #[serde(rename = "SiteId")]
    pub site_id: u64,
    #[serde(rename = "SiteName")]
    pub site_name: String,
    /// The Id of the renewed (old) certificate.
    #[serde(rename = "RenewedFrom")]
    pub renewed_from: String,
    /// The old certificate's status after the renewal: `active` (still
    /// valid until its NotAfter), `revoked` or `expired`.
    #[serde(rename = "OldStatus")]
    pub old_status: Status,
    /// Whether this renewal revoked the old certificate (`--revoke-old`).
    #[serde(rename = "OldRevoked")]
    pub old_revoked: bool,
}

/// A site and its CA and certificate counts (`esa-certs sites`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SiteSummary {
    #[serde(rename = "SiteId")]
    pub site_id: u64,
    #[serde(rename = "SiteName")]
    pub site_name: String,
    /// Empty until the CA is created by the first issuance.
    #[serde(rename = "CACertificateId")]
    pub ca_certificate_id: String,
    #[serde(rename = "CACommonName")]
    pub ca_common_name: String,
    #[serde(rename = "CANotAfter")]
    pub ca_not_after: String,
    #[serde(rename = "CAKeyType")]
    pub ca_key_type: String,
    #[serde(rename = "ActiveCount")]
    pub active: usize,
    #[serde(rename = "RevokedCount")]
    pub revoked: usize,
    #[serde(rename = "ExpiredCount")]
    pub expired: usize,
    /// Active certificates expiring within 30 days.
    #[serde(rename = "ExpiringSoonCount")]
    pub expiring_soon: usize,
    #[serde(
        rename = "MaxClientCertificates",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_client_certificates: Option<u64>,
}

impl From<&super::SiteRef> for SiteSummary {
    /// A site known by id and name only: no CA yet, counts of zero, until
    /// a listing fills them in.
    fn from(site: &super::SiteRef) -> SiteSummary {
        SiteSummary {
            site_id: site.id,
            site_name: site.name.clone(),
            ..SiteSummary::default()
        }
    }
}

/// Output of `esa-certs sites --json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SitesResponse {
    #[serde(rename = "RequestId")]
    pub request_id: String,
    #[serde(rename = "TotalCount")]
    pub total_count: usize,
    #[serde(rename = "Sites")]
    pub sites: Vec<SiteSummary>,
}
