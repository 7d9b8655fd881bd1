//! Keys, CSRs, certificates, CRLs and PKCS#12 bundles. Pure functions of their inputs (plus
//! the CSPRNG): no files, no policy about where things are kept.
//!
//! The certificate profile lives here and only here: a CSR contributes its
//! subject, its SANs and its public key, never its requested extensions, so
//! a CSR asking for `CA:TRUE` still gets a `CA:FALSE` client leaf.

mod cert;
mod check;
mod crl;
mod csr;
mod der;
mod keys;
mod p12;
mod protect;
mod renew;
mod upload;

pub use cert::{
    CertInfo, IssuedCert, LeafProfile, NewCa, SiteCa, create_ca, inspect, inspect_pem, issue_leaf,
    leaf_subject,
};
pub use check::{ReadCrl, crl_serials, key_matches_cert, read_crl};
pub use crl::{CrlEntry, RevocationReason, make_crl};
pub use csr::{ParsedCsr, parse_csr};
pub use der::name_with_cn;
pub use keys::{GeneratedKey, KeyAlgorithm, PkeyType, generate};
pub use p12::{P12Contents, P12Input, P12Mode, build_p12, open_p12};
pub use protect::{
    ENCRYPTED_LABEL, PBKDF2_ROUNDS, UnprotectError, is_protected, protect, unprotect,
};
pub use renew::{RenewalSource, renewal_source};
pub use upload::{UploadedCa, check_uploaded_ca};

/// Errors of the PKI layer. CSR problems are user errors; the rest are
/// internal (bad stored material, crypto library failures).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    #[error("{0}")]
    Csr(String),
    #[error("key generation failed: {0}")]
    KeyGeneration(String),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("stored {what} is unreadable: {detail}")]
    BadStoredMaterial { what: &'static str, detail: String },
    #[error("PKCS#12: {0}")]
    Pkcs12(String),
    /// A validity end past what X.509 can hold.
    #[error("{0}")]
    Date(#[from] crate::base::clock::DateOutOfRange),
}

impl From<crate::base::random::RandomUnavailable> for PkiError {
    fn from(e: crate::base::random::RandomUnavailable) -> Self {
        PkiError::KeyGeneration(e.to_string())
    }
}

/// Lower-case hex SHA-256 of `data` (no colons), as ESA's `FingerprintSha256`.
pub fn sha256_hex(data: &[u8]) -> String {
    crate::text::hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
}
