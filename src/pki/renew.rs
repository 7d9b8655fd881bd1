//! What a renewal carries over from the certificate it renews.

use rcgen::{DistinguishedName, SanType, SubjectPublicKeyInfo};
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

use super::PkiError;
use super::cert::key_algorithm_of;
use super::csr::{copy_sans, copy_subject};
use super::keys::KeyAlgorithm;

/// The identity of a certificate, read back from the certificate itself:
/// its whole subject, its SANs and its public key. A certificate issued for
/// a CSR is renewed from this (the CSR is not kept), so the holder's key
/// stays valid and nothing else about the subject changes.
#[derive(Debug, Clone)]
pub struct RenewalSource {
    pub subject: DistinguishedName,
    /// The subject's DER when `subject` cannot hold it all.
    pub raw_subject: Option<Vec<u8>>,
    pub common_name: Option<String>,
    pub sans: Vec<SanType>,
    pub key_algorithm: KeyAlgorithm,
    pub public_key: SubjectPublicKeyInfo,
}

/// Reads the subject, SANs and public key of a stored certificate.
pub fn renewal_source(cert_der: &[u8]) -> Result<RenewalSource, PkiError> {
    let bad = |detail: String| PkiError::BadStoredMaterial {
        what: "certificate to renew",
        detail,
    };
    let stored = |e: PkiError| match e {
        PkiError::Csr(reason) => bad(reason),
        other => other,
    };
    let (_, x) = X509Certificate::from_der(cert_der).map_err(|e| bad(e.to_string()))?;
    let copied = copy_subject(x.subject()).map_err(stored)?;
    let mut sans = Vec::new();
    let mut shown = Vec::new();
    for ext in x.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            copy_sans(&san.general_names, &mut sans, &mut shown).map_err(stored)?;
        }
    }
    let spki = x.public_key();
    let key_algorithm = key_algorithm_of(spki).ok_or_else(|| {
        bad(format!(
            "unsupported public key algorithm {}",
            spki.algorithm.algorithm.to_id_string()
        ))
    })?;
    let public_key = SubjectPublicKeyInfo::from_der(spki.raw).map_err(|e| bad(e.to_string()))?;
    Ok(RenewalSource {
        subject: copied.subject,
        raw_subject: copied.raw,
        common_name: copied.common_name,
        sans,
        key_algorithm,
        public_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::clock::now_seconds;
    use crate::pki::{LeafProfile, PkeyType, SiteCa, create_ca, generate, issue_leaf};
    use rcgen::DnType;

    #[test]
    fn carries_subject_sans_and_key() {
        let now = now_seconds();
        let n = create_ca("CA", PkeyType::EcP256, now, 30).unwrap();
        let ca = SiteCa::load(&n.cert_pem, &n.key_pem).unwrap();
        let key = generate(PkeyType::EcP384).unwrap();
        let mut subject = DistinguishedName::new();
        subject.push(
            DnType::CountryName,
            rcgen::DnValue::PrintableString("DE".try_into().unwrap()),
        );
        subject.push(DnType::OrganizationName, "Acme");
        subject.push(DnType::CommonName, "alice");
        let profile = LeafProfile {
            subject,
            raw_subject: None,
            sans: vec![
                SanType::Rfc822Name("alice@example.com".try_into().unwrap()),
                SanType::DnsName("alice.example".try_into().unwrap()),
            ],
            key_algorithm: KeyAlgorithm::EcP384,
            not_before: now,
            not_after: now + time::Duration::days(1),
        };
        let old = issue_leaf(&ca, &profile, &key.public).unwrap();
        let src = renewal_source(&old.der).unwrap();
        assert_eq!(src.common_name.as_deref(), Some("alice"));
        assert_eq!(src.key_algorithm, KeyAlgorithm::EcP384);
        let renewed_profile = LeafProfile {
            subject: src.subject.clone(),
            raw_subject: src.raw_subject.clone(),
            sans: src.sans.clone(),
            ..profile
        };
        let new = issue_leaf(&ca, &renewed_profile, &src.public_key).unwrap();
        assert_eq!(new.info.subject, old.info.subject);
        assert_eq!(new.info.sans, old.info.sans);
        let (_, a) = X509Certificate::from_der(&old.der).unwrap();
        let (_, b) = X509Certificate::from_der(&new.der).unwrap();
        assert_eq!(a.public_key().raw, b.public_key().raw);
        assert_eq!(
            a.subject().as_raw(),
            b.subject().as_raw(),
            "byte-identical subject"
        );
        assert_ne!(new.info.serial_hex, old.info.serial_hex);
    }
}
