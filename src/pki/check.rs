//! Consistency checks of stored material, for `doctor`: does a key belong
//! to its certificate, which serials does a CRL list, is it signed by the CA.

use std::collections::BTreeSet;

use rcgen::KeyPair;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::PkiError;
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

/// The serials (lower-case hex, leading zero bytes dropped, as
/// [`super::CertInfo::serial_hex`]) a CRL lists, after checking that the
/// CA certificate's key signed it.
pub fn crl_serials(crl_pem: &str, ca_cert_pem: &str) -> Result<BTreeSet<String>, PkiError> {
    let crl = pem::parse(crl_pem).map_err(|e| bad("CRL", e))?;
    if crl.tag() != "X509 CRL" {
        return Err(bad("CRL", format!("PEM label is {}", crl.tag())));
    }
    let ca = pem::parse(ca_cert_pem).map_err(|e| bad("CA certificate", e))?;
    let (_, ca) = X509Certificate::from_der(ca.contents()).map_err(|e| bad("CA certificate", e))?;
    let (_, list) = x509_parser::parse_x509_crl(crl.contents()).map_err(|e| bad("CRL", e))?;
    list.verify_signature(ca.public_key())
        .map_err(|e| bad("CRL", format!("not signed by the site CA: {e}")))?;
    Ok(list
        .iter_revoked_certificates()
        .map(|r| hex(r.raw_serial()).trim_start_matches("00").to_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{PkeyType, create_ca, generate};

    #[test]
    fn a_key_matches_only_its_certificate() {
        let now = crate::pki::now_seconds();
        let ca = create_ca("T", PkeyType::EcP256, now, 10).unwrap();
        let der = pem::parse(&ca.cert_pem).unwrap().into_contents();
        assert!(key_matches_cert(&ca.key_pem, &der).unwrap());
        let other = generate(PkeyType::Ed25519).unwrap();
        assert!(!key_matches_cert(&other.pkcs8_pem, &der).unwrap());
        assert!(key_matches_cert("garbage", &der).is_err());
    }
}
