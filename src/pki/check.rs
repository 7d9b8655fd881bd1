//! Consistency checks of stored material, for `doctor`: does a key belong
//! to its certificate, which serials does a CRL list, is it signed by the CA.

use std::collections::BTreeSet;

use rcgen::KeyPair;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::PkiError;
use super::crl::{CrlEntry, RevocationReason};
use crate::text::hex;

fn bad(what: &'static str, detail: impl ToString) -> PkiError {
    PkiError::BadStoredMaterial {
        what,
        detail: detail.to_string(),
    }
}

/// Whether the private key PEM belongs to the certificate (DER).
pub fn key_matches_cert(key_pem: &str, cert_der: &[u8]) -> Result<bool, PkiError> {
    let key = KeyPair::from_pem(key_pem).map_err(|e| bad("private key", e))?;
    let (_, x) = X509Certificate::from_der(cert_der).map_err(|e| bad("certificate", e))?;
    Ok(x.public_key().subject_public_key.data.as_ref() == key.public_key_raw())
}

/// A CRL as read back from the store, after checking that the CA
/// certificate's key signed it.
#[derive(Debug, Clone)]
pub struct ReadCrl {
    /// The cRLNumber extension, when present and within `u64`.
    pub number: Option<u64>,
    /// The CRL's thisUpdate (lastUpdate in x509-parser's terms).
    pub this_update: time::OffsetDateTime,
    /// Serials are lower-case hex with leading zero bytes dropped, as
    /// [`super::CertInfo::serial_hex`].
    pub entries: Vec<CrlEntry>,
}

/// Reads a PEM CRL signed by the CA certificate (PEM).
pub fn read_crl(crl_pem: &str, ca_cert_pem: &str) -> Result<ReadCrl, PkiError> {
    let crl = pem::parse(crl_pem).map_err(|e| bad("CRL", e))?;
    if crl.tag() != "X509 CRL" {
        return Err(bad("CRL", format!("PEM label is {}", crl.tag())));
    }
    let ca = pem::parse(ca_cert_pem).map_err(|e| bad("CA certificate", e))?;
    let (_, ca) = X509Certificate::from_der(ca.contents()).map_err(|e| bad("CA certificate", e))?;
    let (_, list) = x509_parser::parse_x509_crl(crl.contents()).map_err(|e| bad("CRL", e))?;
    list.verify_signature(ca.public_key())
        .map_err(|e| bad("CRL", format!("not signed by the site CA: {e}")))?;
    let entries = list
        .iter_revoked_certificates()
        .map(|r| CrlEntry {
            serial_hex: serial_hex(r.raw_serial()),
            revoked_at: r.revocation_date.to_datetime(),
            reason: r
                .reason_code()
                .and_then(|(_, code)| RevocationReason::from_code(code.0)),
        })
        .collect();
    let number = list.crl_number().and_then(|n| u64::try_from(n).ok());
    Ok(ReadCrl {
        number,
        this_update: list.last_update().to_datetime(),
        entries,
    })
}

/// The serials a CRL lists (see [`read_crl`]).
pub fn crl_serials(crl_pem: &str, ca_cert_pem: &str) -> Result<BTreeSet<String>, PkiError> {
    Ok(read_crl(crl_pem, ca_cert_pem)?
        .entries
        .into_iter()
        .map(|e| e.serial_hex)
        .collect())
}

/// Lower-case hex of a DER INTEGER's content, leading zero bytes dropped.
fn serial_hex(raw: &[u8]) -> String {
    let first = raw.iter().position(|&b| b != 0).unwrap_or(raw.len());
    hex(&raw[first..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::clock;
    use crate::pki::{PkeyType, create_ca, generate};

    #[test]
    fn a_key_matches_only_its_certificate() {
        let now = clock::now_seconds();
        let ca = create_ca("T", PkeyType::EcP256, now, 10).unwrap();
        let der = pem::parse(&ca.cert_pem).unwrap().into_contents();
        assert!(key_matches_cert(&ca.key_pem, &der).unwrap());
        let other = generate(PkeyType::Ed25519).unwrap();
        assert!(!key_matches_cert(&other.pkcs8_pem, &der).unwrap());
        assert!(key_matches_cert("garbage", &der).is_err());
    }
}
