//! Site CAs and client leaves: the one certificate profile of the tool.

use crate::base::clock::add_days;
use crate::base::random::random_bytes;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber,
};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};
use zeroize::Zeroizing;

use super::keys::{KeyAlgorithm, PkeyType, generate_key_pair};
use super::{PkiError, sha256_hex};
use crate::text::hex;

/// What we read back from an encoded certificate. Every value the service
/// reports comes from here, so it always agrees with the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Lower-case hex of the serial as encoded (leading zero bytes dropped).
    pub serial_hex: String,
    pub fingerprint_sha256: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub subject_cn: Option<String>,
    /// The whole subject, RFC 4514-like, for display.
    pub subject: String,
    pub issuer_cn: Option<String>,
    /// ESA's name of the signature algorithm (`ECDSA-SHA256`, ...).
    pub signature_algorithm: String,
    pub key_algorithm: Option<KeyAlgorithm>,
    pub sans: Vec<String>,
    pub subject_key_id: Option<Vec<u8>>,
    pub is_ca: bool,
}

/// Parses a DER certificate.
pub fn inspect(der: &[u8]) -> Result<CertInfo, PkiError> {
    let bad = |detail: String| PkiError::BadStoredMaterial {
        what: "certificate",
        detail,
    };
    let (rest, x) = X509Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
    if !rest.is_empty() {
        return Err(bad("trailing bytes after the certificate".into()));
    }
    let ts = |t: x509_parser::time::ASN1Time| {
        OffsetDateTime::from_unix_timestamp(t.timestamp()).map_err(|e| bad(e.to_string()))
    };
    let mut sans = Vec::new();
    let mut ski = None;
    for ext in x.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                sans.extend(san.general_names.iter().filter_map(general_name_string));
            }
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0.to_vec()),
            _ => {}
        }
    }
    Ok(CertInfo {
        serial_hex: hex(x.raw_serial()).trim_start_matches("00").to_owned(),
        fingerprint_sha256: sha256_hex(der),
        not_before: ts(x.validity().not_before)?,
        not_after: ts(x.validity().not_after)?,
        subject_cn: first_cn(x.subject()),
        subject: x.subject().to_string(),
        issuer_cn: first_cn(x.issuer()),
        signature_algorithm: signature_name(&x.signature_algorithm.algorithm.to_id_string()),
        key_algorithm: key_algorithm_of(x.public_key()),
        sans,
        subject_key_id: ski,
        is_ca: x.is_ca(),
    })
}

/// Parses a PEM certificate (the first block).
pub fn inspect_pem(pem_text: &str) -> Result<CertInfo, PkiError> {
    let p = pem::parse(pem_text).map_err(|e| PkiError::BadStoredMaterial {
        what: "certificate PEM",
        detail: e.to_string(),
    })?;
    inspect(p.contents())
}

fn first_cn(name: &x509_parser::x509::X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned)
}

pub(crate) fn general_name_string(g: &GeneralName<'_>) -> Option<String> {
    match g {
        GeneralName::DNSName(s) => Some(format!("DNS:{s}")),
        GeneralName::RFC822Name(s) => Some(format!("email:{s}")),
        GeneralName::URI(s) => Some(format!("URI:{s}")),
        GeneralName::IPAddress(b) => ip_from_bytes(b).map(|ip| format!("IP:{ip}")),
        _ => None,
    }
}

pub(crate) fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.11" => "SHA256-RSA",
        "1.2.840.113549.1.1.12" => "SHA384-RSA",
        "1.2.840.113549.1.1.13" => "SHA512-RSA",
        "1.2.840.10045.4.3.2" => "ECDSA-SHA256",
        "1.2.840.10045.4.3.3" => "ECDSA-SHA384",
        "1.3.101.112" => "Ed25519",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// The algorithm of a public key we can issue for, or `None`.
pub(crate) fn key_algorithm_of(
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
) -> Option<KeyAlgorithm> {
    use x509_parser::public_key::PublicKey;
    match spki.algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.1" => match spki.parsed().ok()? {
            PublicKey::RSA(rsa) => Some(KeyAlgorithm::Rsa {
                bits: modulus_bits(rsa.modulus),
            }),
            _ => None,
        },
        "1.2.840.10045.2.1" => {
            let curve = spki.algorithm.parameters.as_ref()?.as_oid().ok()?;
            match curve.to_id_string().as_str() {
                "1.2.840.10045.3.1.7" => Some(KeyAlgorithm::EcP256),
                "1.3.132.0.34" => Some(KeyAlgorithm::EcP384),
                _ => None,
            }
        }
        "1.3.101.112" => Some(KeyAlgorithm::Ed25519),
        _ => None,
    }
}

/// The exact bit length of an RSA modulus (big-endian, maybe zero-padded).
pub(crate) fn modulus_bits(modulus: &[u8]) -> u32 {
    let m: &[u8] = match modulus.iter().position(|&b| b != 0) {
        Some(i) => &modulus[i..],
        None => return 0,
    };
    (m.len() as u32 - 1) * 8 + (8 - m[0].leading_zeros())
}

/// A newly created site CA, ready to be stored.
pub struct NewCa {
    pub cert_pem: String,
    pub key_pem: Zeroizing<String>,
    pub info: CertInfo,
}

/// Creates a self-signed site CA: `CA:TRUE` (critical, pathlen 0: it only
/// issues leaves), keyCertSign + cRLSign, SKI, random serial.
pub fn create_ca(
    common_name: &str,
    key_type: PkeyType,
    not_before: OffsetDateTime,
    validity_days: u32,
) -> Result<NewCa, PkiError> {
    let (key_pair, key_pem) = generate_key_pair(key_type)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = cn_only(common_name);
    params.not_before = not_before;
    params.not_after = add_days(not_before, i64::from(validity_days))?;
    params.serial_number = Some(random_serial()?);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = KeyIdMethod::Sha256;
    let cert = params
        .self_signed(&key_pair)
        .map_err(|e| PkiError::Signing(e.to_string()))?;
    let info = inspect(cert.der())?;
    Ok(NewCa {
        cert_pem: cert.pem(),
        key_pem,
        info,
    })
}

/// A site CA loaded for signing.
pub struct SiteCa {
    issuer: Issuer<'static, KeyPair>,
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    pub info: CertInfo,
}

impl std::fmt::Debug for SiteCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteCa")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl SiteCa {
    /// Loads a stored CA, checking that the key belongs to the certificate.
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<SiteCa, PkiError> {
        let bad = |what: &'static str, detail: String| PkiError::BadStoredMaterial { what, detail };
        let cert = pem::parse(cert_pem).map_err(|e| bad("CA certificate", e.to_string()))?;
        if cert.tag() != "CERTIFICATE" {
            return Err(bad(
                "CA certificate",
                format!("PEM label is {}", cert.tag()),
            ));
        }
        let info = inspect(cert.contents())?;
        if !info.is_ca {
            return Err(bad(
                "CA certificate",
                "it is not a CA (CA:TRUE missing)".into(),
            ));
        }
        let key = KeyPair::from_pem(key_pem).map_err(|e| bad("CA private key", e.to_string()))?;
        let (_, x) = X509Certificate::from_der(cert.contents())
            .map_err(|e| bad("CA certificate", e.to_string()))?;
        if x.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(bad(
                "CA private key",
                "it does not match the CA certificate".into(),
            ));
        }
        let issuer = Issuer::from_ca_cert_der(&cert.contents().to_vec().into(), key)
            .map_err(|e| bad("CA certificate", e.to_string()))?;
        Ok(SiteCa {
            issuer,
            cert_pem: cert_pem.to_owned(),
            cert_der: cert.contents().to_vec(),
            info,
        })
    }

    pub(crate) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }

    /// The CA's common name (ESA's `Issuer`).
    pub fn common_name(&self) -> &str {
        self.info.subject_cn.as_deref().unwrap_or("")
    }
}

/// What a client leaf says about its holder.
#[derive(Debug, Clone)]
pub struct LeafProfile {
    pub subject: DistinguishedName,
    /// A subject `Name` in DER, put into the certificate verbatim instead
    /// of `subject` (which then only seeds rcgen): for CSR subjects that
    /// rcgen's one-value-per-type form cannot hold.
    pub raw_subject: Option<Vec<u8>>,
    pub sans: Vec<SanType>,
    pub key_algorithm: KeyAlgorithm,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A subject with only a CommonName.
pub fn leaf_subject(common_name: &str) -> DistinguishedName {
    cn_only(common_name)
}

fn cn_only(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

/// A positive serial of exactly 16 bytes (SPEC) with 126 bits from the
/// CSPRNG: the first byte is `01xxxxxx`, so the DER INTEGER needs neither
/// a leading zero (top bit clear) nor loses a byte (never zero).
fn random_serial() -> Result<SerialNumber, PkiError> {
    Ok(SerialNumber::from_slice(&serial_bytes(
        random_bytes::<16>()?
    )))
}

fn serial_bytes(mut b: [u8; 16]) -> [u8; 16] {
    b[0] = (b[0] & 0x3f) | 0x40;
    b
}

/// An issued certificate.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    pub pem: String,
    pub der: Vec<u8>,
    pub info: CertInfo,
}

/// Signs a client leaf for `public_key` with the site CA: `CA:FALSE`,
/// digitalSignature (+keyEncipherment for RSA), clientAuth, AKI + SKI,
/// a fresh random serial.
pub fn issue_leaf(
    ca: &SiteCa,
    profile: &LeafProfile,
    public_key: &impl PublicKeyData,
) -> Result<IssuedCert, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = profile.subject.clone();
    params.subject_alt_names = profile.sans.clone();
    params.not_before = profile.not_before;
    params.not_after = profile.not_after;
    params.serial_number = Some(random_serial()?);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = match profile.key_algorithm {
        KeyAlgorithm::Rsa { .. } => vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ],
        _ => vec![KeyUsagePurpose::DigitalSignature],
    };
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = KeyIdMethod::Sha256;
    let cert = params
        .signed_by(public_key, ca.issuer())
        .map_err(|e| PkiError::Signing(e.to_string()))?;
    let (der, pem) = match &profile.raw_subject {
        None => (cert.der().to_vec(), cert.pem()),
        Some(subject) => {
            let der = super::der::with_subject(cert.der(), subject, ca.issuer().key())?;
            let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
            let pem = pem::encode_config(&pem::Pem::new("CERTIFICATE", der.clone()), config);
            (der, pem)
        }
    };
    let info = inspect(&der)?;
    Ok(IssuedCert { pem, der, info })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::keys::generate;
    use time::macros::datetime;

    fn ca(t: PkeyType) -> SiteCa {
        let now = crate::base::clock::now_seconds();
        let n = create_ca("example.com Client CA", t, now, 3650).unwrap();
        SiteCa::load(&n.cert_pem, &n.key_pem).unwrap()
    }

    #[test]
    fn serials_are_always_16_positive_bytes() {
        // The first byte's extremes, and random ones.
        for first in [0x00, 0x01, 0x3f, 0x7f, 0x80, 0xff] {
            let b = serial_bytes([first; 16]);
            assert!((0x40..=0x7f).contains(&b[0]), "{first:#x} -> {:#x}", b[0]);
        }
        for _ in 0..500 {
            let s = random_serial().unwrap();
            let der = s.as_ref();
            assert_eq!(der.len(), 16);
            assert!(der[0] & 0x80 == 0 && der[0] != 0);
        }
    }

    #[test]
    fn ca_profile() {
        let ca = ca(PkeyType::EcP256);
        assert!(ca.info.is_ca);
        assert_eq!(ca.common_name(), "example.com Client CA");
        assert_eq!(ca.info.signature_algorithm, "ECDSA-SHA256");
        assert!(ca.info.subject_key_id.is_some());
        let (_, x) = X509Certificate::from_der(&ca.cert_der).unwrap();
        let bc = x.basic_constraints().unwrap().unwrap();
        assert!(bc.critical && bc.value.ca);
        let ku = x.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
    }

    #[test]
    fn leaf_profile_for_each_ca_type() {
        for (t, sig) in [
            (PkeyType::EcP256, "ECDSA-SHA256"),
            (PkeyType::EcP384, "ECDSA-SHA384"),
            (PkeyType::Ed25519, "Ed25519"),
            (PkeyType::Rsa2048, "SHA256-RSA"),
        ] {
            let ca = ca(t);
            let key = generate(PkeyType::EcP256).unwrap();
            let nb = datetime!(2026-01-01 00:00:00 UTC);
            let profile = LeafProfile {
                subject: leaf_subject("device-1"),
                raw_subject: None,
                sans: vec![],
                key_algorithm: KeyAlgorithm::EcP256,
                not_before: nb,
                not_after: nb + time::Duration::days(365),
            };
            let leaf = issue_leaf(&ca, &profile, &key.public).unwrap();
            assert_eq!(leaf.info.signature_algorithm, sig);
            assert_eq!(leaf.info.subject_cn.as_deref(), Some("device-1"));
            assert_eq!(
                leaf.info.issuer_cn.as_deref(),
                Some("example.com Client CA")
            );
            assert!(!leaf.info.is_ca);
            let (_, x) = X509Certificate::from_der(&leaf.der).unwrap();
            assert!(x.extended_key_usage().unwrap().unwrap().value.client_auth);
            let bc = x.basic_constraints().unwrap().unwrap().value;
            assert!(!bc.ca);
            let aki = x
                .iter_extensions()
                .find_map(|e| match e.parsed_extension() {
                    ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.clone(),
                    _ => None,
                })
                .unwrap();
            assert_eq!(Some(aki.0.to_vec()), ca.info.subject_key_id);
            assert!(leaf.info.subject_key_id.is_some());
            x.verify_signature(Some(
                X509Certificate::from_der(&ca.cert_der)
                    .unwrap()
                    .1
                    .public_key(),
            ))
            .unwrap();
        }
    }

    #[test]
    fn serials_are_random_and_positive() {
        let ca = ca(PkeyType::EcP256);
        let key = generate(PkeyType::EcP256).unwrap();
        let nb = crate::base::clock::now_seconds();
        let profile = LeafProfile {
            subject: leaf_subject("same"),
            raw_subject: None,
            sans: vec![],
            key_algorithm: KeyAlgorithm::EcP256,
            not_before: nb,
            not_after: nb + time::Duration::days(1),
        };
        let a = issue_leaf(&ca, &profile, &key.public).unwrap();
        let b = issue_leaf(&ca, &profile, &key.public).unwrap();
        assert_ne!(a.info.serial_hex, b.info.serial_hex);
        let (_, x) = X509Certificate::from_der(&a.der).unwrap();
        assert!(x.raw_serial()[0] & 0x80 == 0);
    }

    #[test]
    fn a_foreign_key_does_not_load_with_the_ca() {
        let now = crate::base::clock::now_seconds();
        let a = create_ca("A", PkeyType::EcP256, now, 10).unwrap();
        let b = create_ca("B", PkeyType::EcP256, now, 10).unwrap();
        let e = SiteCa::load(&a.cert_pem, &b.key_pem).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
    }

    #[test]
    fn modulus_bits_counts_exactly() {
        assert_eq!(modulus_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(modulus_bits(&[0x01, 0x00]), 9);
        assert_eq!(modulus_bits(&[]), 0);
    }
}
