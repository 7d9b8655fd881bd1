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

pub use cert::{
    CertInfo, IssuedCert, LeafProfile, NewCa, SiteCa, create_ca, inspect, inspect_pem, issue_leaf,
    leaf_subject,
};
pub use check::{ReadCrl, crl_serials, key_matches_cert, read_crl};
pub use crl::{CrlEntry, RevocationReason, make_crl};
pub use csr::{MAX_CSR_BYTES, ParsedCsr, parse_csr};
pub use der::name_with_cn;
pub use keys::{GeneratedKey, KeyAlgorithm, PkeyType, generate};
pub use p12::{P12Contents, P12Input, P12Mode, build_p12, open_p12};
pub use protect::{
    ENCRYPTED_LABEL, PBKDF2_ROUNDS, UnprotectError, is_protected, protect, unprotect,
};
pub use renew::{RenewalSource, renewal_source};

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

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
}

const ESA_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Formats a UTC time as ESA does: `2023-12-01T02:12:49Z`.
pub fn esa_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(ESA_TIME)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses what [`esa_time`] wrote.
pub fn parse_esa_time(s: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(s, ESA_TIME)
        .ok()
        .map(|t| t.assume_utc())
}

/// The current time truncated to whole seconds (certificates carry seconds).
pub fn now_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// Fills `N` bytes from the operating system's CSPRNG (via aws-lc).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], PkiError> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out)
        .map_err(|_| PkiError::KeyGeneration("the system random generator failed".into()))?;
    Ok(out)
}

/// A fresh 32-hex-digit identifier (128 random bits), as ESA's `Id`.
pub fn new_id() -> Result<String, PkiError> {
    Ok(crate::text::hex(&random_bytes::<16>()?))
}

/// A fresh request id: an upper-case UUID v4 string.
pub fn new_request_id() -> String {
    let mut b = random_bytes::<16>().unwrap_or_else(|_| {
        // The id only labels a response; a time-based fallback is enough.
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        nanos.to_be_bytes()
    });
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::text::hex(&b).to_uppercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Lower-case hex SHA-256 of `data` (no colons), as ESA's `FingerprintSha256`.
pub fn sha256_hex(data: &[u8]) -> String {
    crate::text::hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esa_time_round_trips() {
        let t = time::macros::datetime!(2023-12-01 02:12:49 UTC);
        assert_eq!(esa_time(t), "2023-12-01T02:12:49Z");
        assert_eq!(parse_esa_time("2023-12-01T02:12:49Z"), Some(t));
        assert_eq!(parse_esa_time("2023-12-01 02:12:49"), None);
    }

    #[test]
    fn request_id_is_an_upper_case_uuid_v4() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_uppercase());
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, new_request_id());
    }

    #[test]
    fn ids_are_32_lower_hex() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
