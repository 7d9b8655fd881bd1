//! Certificate signing requests: strict parsing of untrusted input.
//!
//! What a CSR may contribute to a certificate: its subject (string
//! attributes only, no control or bidi characters), its DNS/email/URI/IP
//! SANs, and its public key (RSA 2048..=8192 bits, P-256, P-384, Ed25519).
//! Everything else it requests (basicConstraints, key usages, name
//! constraints, unknown extensions) is ignored: the leaf profile is ours.

use crate::base::limits::{MAX_COMMON_NAME_CHARS, MAX_CSR_BYTES};
use rcgen::{DistinguishedName, DnType, DnValue, SanType, SubjectPublicKeyInfo};
use x509_parser::prelude::{FromDer, ParsedExtension, X509CertificationRequest};

use super::PkiError;
use super::cert::{general_name_string, ip_from_bytes, key_algorithm_of};
use super::keys::KeyAlgorithm;
use crate::text::{clip, is_dangerous, sanitize};
/// Largest RSA modulus accepted (what the verifier supports).
const MAX_RSA_BITS: u32 = 8192;
/// Most subject attributes / SANs we copy (a real CSR has a handful).
const MAX_ATTRIBUTES: usize = 32;
const MAX_SANS: usize = 100;
/// Longest subject attribute (X.520's upper bounds are 64 to 128 for the
/// usual ones; this leaves room for odd ones without letting a 40 KB
/// `O=` through to every listing).
const MAX_ATTRIBUTE_CHARS: usize = 256;

/// A CSR that passed every check.
#[derive(Debug, Clone)]
pub struct ParsedCsr {
    pub subject: DistinguishedName,
    /// The subject's DER, when `subject` cannot hold all of it (a
    /// repeated attribute type or a multi-valued RDN): see `der`.
    pub raw_subject: Option<Vec<u8>>,
    /// The subject for display (already sanitised).
    pub subject_display: String,
    pub common_name: Option<String>,
    pub sans: Vec<SanType>,
    /// SANs for display (`DNS:a.example`, ...).
    pub san_strings: Vec<String>,
    pub key_algorithm: KeyAlgorithm,
    pub public_key: SubjectPublicKeyInfo,
    /// SHA-256 of the DER, to tell CSRs apart.
    pub der_sha256: String,
}

fn reject(reason: impl Into<String>) -> PkiError {
    PkiError::Csr(reason.into())
}

/// Parses and verifies a PEM CSR. `text` is the operator's input, verbatim.
pub fn parse_csr(text: &[u8]) -> Result<ParsedCsr, PkiError> {
    if text.len() > MAX_CSR_BYTES {
        // Readers stop one byte past the limit: the true size is unknown.
        return Err(reject(format!(
            "the CSR is larger than {} KiB; at most {MAX_CSR_BYTES} bytes are accepted",
            MAX_CSR_BYTES / 1024
        )));
    }
    let text = std::str::from_utf8(text)
        .map_err(|_| reject("the CSR is not PEM text (it contains non-UTF-8 bytes)"))?;
    let blocks =
        pem::parse_many(text).map_err(|e| reject(format!("the CSR is not valid PEM: {e}")))?;
    let block = match blocks.as_slice() {
        [] => {
            return Err(reject(
                "no PEM block found; expected -----BEGIN CERTIFICATE REQUEST-----",
            ));
        }
        [one] => one,
        _ => {
            return Err(reject(format!(
                "expected one PEM block, found {}",
                blocks.len()
            )));
        }
    };
    if !matches!(
        block.tag(),
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST"
    ) {
        return Err(reject(format!(
            "the PEM block is a {}, not a CERTIFICATE REQUEST",
            crate::text::quoted(&clip(block.tag(), 40))
        )));
    }
    parse_der(block.contents())
}

fn parse_der(der: &[u8]) -> Result<ParsedCsr, PkiError> {
    let (rest, csr) = X509CertificationRequest::from_der(der).map_err(|e| {
        reject(format!(
            "the CSR is not valid DER: {}",
            clip(&e.to_string(), 120)
        ))
    })?;
    if !rest.is_empty() {
        return Err(reject("trailing bytes after the CSR"));
    }
    let info = &csr.certification_request_info;
    let spki = &info.subject_pki;
    let key_algorithm = key_algorithm_of(spki).ok_or_else(|| {
        reject(format!(
            "unsupported public key {}; use RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519",
            describe_key(spki)
        ))
    })?;
    if let KeyAlgorithm::Rsa { bits } = key_algorithm {
        if bits < 2048 {
            return Err(reject(format!(
                "the RSA key has {bits} bits; at least 2048 are required"
            )));
        }
        if bits > MAX_RSA_BITS {
            return Err(reject(format!(
                "the RSA key has {bits} bits; at most {MAX_RSA_BITS} are supported"
            )));
        }
        // Small public exponents (e = 3) are refused, as the CA/Browser
        // Forum requires of publicly trusted keys: e must be odd, >= 65537.
        if let Ok(x509_parser::public_key::PublicKey::RSA(rsa)) = spki.parsed() {
            let e = rsa.try_exponent().unwrap_or(0);
            if e < 65_537 || e % 2 == 0 {
                return Err(reject(format!(
                    "the RSA public exponent is {e}; it must be an odd number of at least 65537"
                )));
            }
        }
    }
    if !outer_encoding_is_strict(der) {
        return Err(reject(
            "the CSR's signature algorithm or signature field is not valid DER; the CSR was altered",
        ));
    }
    let sig_oid = csr.signature_algorithm.algorithm.to_id_string();
    if !ACCEPTED_SIGNATURES.contains(&sig_oid.as_str()) {
        return Err(reject(format!(
            "the CSR is signed with {}, which is not accepted; sign it with SHA-256 or stronger \
             (RSA PKCS#1 v1.5 or ECDSA) or with Ed25519 (openssl req -sha256)",
            oid_name(&sig_oid)
        )));
    }
    csr.verify_signature().map_err(|e| {
        reject(format!(
            "the CSR signature does not verify ({e}); the CSR was altered or not signed by its key"
        ))
    })?;

    let CopiedSubject {
        subject,
        raw,
        shown,
        common_name,
    } = copy_subject(&info.subject)?;

    let mut sans = Vec::new();
    let mut san_strings = Vec::new();
    if let Some(exts) = csr.requested_extensions() {
        for ext in exts {
            if let ParsedExtension::SubjectAlternativeName(san) = ext {
                copy_sans(&san.general_names, &mut sans, &mut san_strings)?;
            }
        }
    }

    let public_key = SubjectPublicKeyInfo::from_der(spki.raw)
        .map_err(|e| reject(format!("the public key is not usable: {e}")))?;
    Ok(ParsedCsr {
        subject,
        raw_subject: raw,
        subject_display: shown,
        common_name,
        sans,
        san_strings,
        key_algorithm,
        public_key,
        der_sha256: super::sha256_hex(der),
    })
}

/// x509-parser verifies the signature over the request info with the key's
/// algorithm, and reads the outer `signatureAlgorithm` and `signature`
/// fields leniently. The parts outside the signed bytes are checked here:
/// `SEQUENCE { info SEQUENCE, SEQUENCE { OID, ... }, BIT STRING (0 unused bits) }`.
fn outer_encoding_is_strict(der: &[u8]) -> bool {
    (|| {
        let (0x30, body, _) = super::der::header(der, 0)? else {
            return None;
        };
        let (0x30, info, info_len) = super::der::header(der, body)? else {
            return None;
        };
        let alg_at = info + info_len;
        let (0x30, alg, alg_len) = super::der::header(der, alg_at)? else {
            return None;
        };
        let (0x06, _, _) = super::der::header(der, alg)? else {
            return None;
        };
        let (0x03, sig, _) = super::der::header(der, alg + alg_len)? else {
            return None;
        };
        (*der.get(sig)? == 0).then_some(())
    })()
    .is_some()
}

/// A subject copied attribute by attribute into rcgen's form.
pub(crate) struct CopiedSubject {
    pub subject: DistinguishedName,
    /// The subject's DER when `subject` cannot hold it all (rcgen keeps one
    /// value per attribute type and one attribute per RDN).
    pub raw: Option<Vec<u8>>,
    /// `CN=…, O=…`, sanitised for display.
    pub shown: String,
    pub common_name: Option<String>,
}

/// Copies a subject (string attributes only, no control or bidi
/// characters, a CommonName of at most 64 characters). Used for CSRs and,
/// on renewal, for the subject of the certificate being renewed.
pub(crate) fn copy_subject(
    name: &x509_parser::x509::X509Name<'_>,
) -> Result<CopiedSubject, PkiError> {
    let mut subject = DistinguishedName::new();
    let mut shown = Vec::new();
    let mut common_name = None;
    for (n, attr) in name.iter_attributes().enumerate() {
        if n >= MAX_ATTRIBUTES {
            return Err(reject(format!(
                "the subject has more than {MAX_ATTRIBUTES} attributes"
            )));
        }
        let oid = attr.attr_type();
        let oid_str = oid.to_id_string();
        let value = attr
            .as_str()
            .map_err(|_| reject(format!("subject attribute {oid_str} is not a text string")))?;
        if value.chars().any(is_dangerous) {
            return Err(reject(format!(
                "subject attribute {oid_str} contains control, bidi or invisible format characters: \"{}\"",
                clip(&sanitize(value), 80)
            )));
        }
        if value.chars().count() > MAX_ATTRIBUTE_CHARS {
            return Err(reject(format!(
                "subject attribute {oid_str} has {} characters; at most {MAX_ATTRIBUTE_CHARS}",
                value.chars().count()
            )));
        }
        let (ty, short) = dn_type(&oid_str, oid.iter());
        if ty == DnType::CommonName {
            if value.chars().count() > MAX_COMMON_NAME_CHARS {
                return Err(reject(format!(
                    "the subject CommonName has {} characters; at most {MAX_COMMON_NAME_CHARS}",
                    value.chars().count()
                )));
            }
            common_name.get_or_insert_with(|| value.to_owned());
        }
        let v = if ty == DnType::CountryName {
            rcgen::string::PrintableString::try_from(value)
                .map(DnValue::PrintableString)
                .map_err(|_| reject("the subject country is not a printable string"))?
        } else {
            DnValue::Utf8String(value.to_owned())
        };
        subject.push(ty, v);
        shown.push(format!("{short}={value}"));
    }
    // Repeated types (OU=a, OU=b; DC=corp, DC=example) or several
    // attributes in one RDN: the certificate takes the subject verbatim.
    let mut types: Vec<String> = Vec::new();
    let mut lossy = false;
    for rdn in name.iter() {
        lossy |= rdn.iter().count() > 1;
        for attr in rdn.iter() {
            let t = attr.attr_type().to_id_string();
            lossy |= types.contains(&t);
            types.push(t);
        }
    }
    Ok(CopiedSubject {
        subject,
        raw: lossy.then(|| name.as_raw().to_vec()),
        shown: sanitize(&shown.join(", ")),
        common_name,
    })
}

/// Appends the DNS/email/URI/IP names of `names` (other forms are not
/// copied), refusing more than [`MAX_SANS`] in all.
pub(crate) fn copy_sans(
    names: &[x509_parser::prelude::GeneralName<'_>],
    sans: &mut Vec<SanType>,
    shown: &mut Vec<String>,
) -> Result<(), PkiError> {
    for g in names {
        if sans.len() >= MAX_SANS {
            return Err(reject(format!(
                "more than {MAX_SANS} subject alternative names"
            )));
        }
        if let Some(s) = to_san(g)? {
            shown.push(general_name_string(g).unwrap_or_default());
            sans.push(s);
        }
    }
    Ok(())
}

/// Signature algorithms a CSR may use: SHA-2 with RSA PKCS#1 v1.5 or
/// ECDSA, and Ed25519 (what the verifier checks; SHA-1 and MD5 are too
/// weak, RSA-PSS parameters are not verified).
const ACCEPTED_SIGNATURES: [&str; 7] = [
    "1.2.840.113549.1.1.11", // sha256WithRSAEncryption
    "1.2.840.113549.1.1.12", // sha384WithRSAEncryption
    "1.2.840.113549.1.1.13", // sha512WithRSAEncryption
    "1.2.840.10045.4.3.2",   // ecdsa-with-SHA256
    "1.2.840.10045.4.3.3",   // ecdsa-with-SHA384
    "1.2.840.10045.4.3.4",   // ecdsa-with-SHA512
    "1.3.101.112",           // Ed25519
];

/// A readable name for an algorithm OID (its OID when unknown).
fn oid_name(oid: &str) -> String {
    let name = match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.3.101.113" => "Ed448",
        "1.2.840.10040.4.3" => "dsa-with-SHA1",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-SHA256",
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        "1.3.132.0.10" => "secp256k1",
        "1.2.840.10045.2.1" => "EC",
        "1.2.840.10040.4.1" => "DSA",
        "1.2.840.113549.1.1.1" => "RSA",
        _ => return oid.to_owned(),
    };
    format!("{name} ({oid})")
}

/// `EC on curve P-521 (1.3.132.0.35)`, `Ed448 (1.3.101.113)`, ...
fn describe_key(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> String {
    let alg = spki.algorithm.algorithm.to_id_string();
    if alg == "1.2.840.10045.2.1" {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map_or_else(|| "unnamed".to_owned(), |c| oid_name(&c.to_id_string()));
        return format!("EC on curve {curve}");
    }
    oid_name(&alg)
}

fn dn_type<'a>(oid: &str, arcs: Option<impl Iterator<Item = u64>>) -> (DnType, &'a str) {
    match oid {
        "2.5.4.3" => (DnType::CommonName, "CN"),
        "2.5.4.6" => (DnType::CountryName, "C"),
        "2.5.4.7" => (DnType::LocalityName, "L"),
        "2.5.4.8" => (DnType::StateOrProvinceName, "ST"),
        "2.5.4.10" => (DnType::OrganizationName, "O"),
        "2.5.4.11" => (DnType::OrganizationalUnitName, "OU"),
        _ => (
            DnType::CustomDnType(arcs.map(|a| a.collect()).unwrap_or_default()),
            "OID",
        ),
    }
}

fn to_san(g: &x509_parser::prelude::GeneralName<'_>) -> Result<Option<SanType>, PkiError> {
    use x509_parser::prelude::GeneralName as G;
    let ia5 = |s: &str, what: &str| {
        if s.chars().any(is_dangerous) || s.len() > 255 {
            return Err(reject(format!(
                "the {what} SAN {} is not acceptable",
                crate::text::quoted(&crate::text::clip(s, 60))
            )));
        }
        rcgen::string::Ia5String::try_from(s).map_err(|_| {
            reject(format!(
                "the {what} SAN {} is not ASCII",
                crate::text::quoted(&crate::text::clip(s, 60))
            ))
        })
    };
    Ok(match g {
        G::DNSName(s) => Some(SanType::DnsName(ia5(s, "DNS")?)),
        G::RFC822Name(s) => Some(SanType::Rfc822Name(ia5(s, "email")?)),
        G::URI(s) => Some(SanType::URI(ia5(s, "URI")?)),
        G::IPAddress(b) => Some(SanType::IpAddress(
            ip_from_bytes(b).ok_or_else(|| reject("an IP SAN has a bad length"))?,
        )),
        // Other name forms (otherName, directoryName, ...) are not copied.
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair};

    fn csr_pem(params: &CertificateParams, key: &KeyPair) -> String {
        params.serialize_request(key).unwrap().pem().unwrap()
    }

    fn params(cn: &str) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        p
    }

    #[test]
    fn parses_subject_sans_and_key() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let mut p = params("alice");
        p.distinguished_name.push(DnType::OrganizationName, "Acme");
        p.subject_alt_names = vec![SanType::Rfc822Name("alice@example.com".try_into().unwrap())];
        let csr = parse_csr(csr_pem(&p, &key).as_bytes()).unwrap();
        assert_eq!(csr.common_name.as_deref(), Some("alice"));
        assert_eq!(csr.key_algorithm, KeyAlgorithm::EcP384);
        assert_eq!(csr.subject_display, "CN=alice, O=Acme");
        assert_eq!(csr.san_strings, vec!["email:alice@example.com"]);
    }

    #[test]
    fn requested_ca_true_is_ignored_not_copied() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = params("evil");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let csr = parse_csr(csr_pem(&p, &key).as_bytes()).unwrap();
        assert_eq!(csr.common_name.as_deref(), Some("evil"));
    }

    #[test]
    fn rejects_garbage_wrong_label_and_oversize() {
        let e = |b: &[u8]| parse_csr(b).unwrap_err().to_string();
        assert!(e(b"hello").contains("no PEM block"));
        assert!(e(&[0xff, 0xfe, 0x00]).contains("non-UTF-8"));
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(e(cert.as_bytes()).contains("not a CERTIFICATE REQUEST"));
        let junk = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
        assert!(e(junk.as_bytes()).contains("not valid DER"));
        assert!(e(&vec![b'A'; MAX_CSR_BYTES + 1]).contains("at most 65536 bytes"));
    }

    #[test]
    fn rejects_a_tampered_signature() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let good = csr_pem(&params("bob"), &key);
        let mut der = pem::parse(&good).unwrap().into_contents();
        let last = der.len() - 1;
        der[last] ^= 0x01;
        let bad = pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", der));
        let e = parse_csr(bad.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("signature does not verify"), "{e}");
    }

    #[test]
    fn rejects_control_characters_in_the_subject() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let e = parse_csr(csr_pem(&params("a\x1b[2Jb"), &key).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("control") && e.contains("\\u{1b}") && !e.contains('\x1b'),
            "{e}"
        );
    }

    #[test]
    fn refuses_overlong_subject_attributes() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = params("ok");
        p.distinguished_name.push(
            DnType::OrganizationName,
            "O".repeat(MAX_ATTRIBUTE_CHARS + 1),
        );
        let e = parse_csr(csr_pem(&p, &key).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 256"), "{e}");
        let mut p = params("ok");
        p.distinguished_name
            .push(DnType::OrganizationName, "O".repeat(MAX_ATTRIBUTE_CHARS));
        assert!(parse_csr(csr_pem(&p, &key).as_bytes()).is_ok());
    }

    #[test]
    fn accepts_new_certificate_request_label() {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let der = pem::parse(csr_pem(&params("x"), &key))
            .unwrap()
            .into_contents();
        let text = pem::encode(&pem::Pem::new("NEW CERTIFICATE REQUEST", der));
        assert_eq!(
            parse_csr(text.as_bytes()).unwrap().key_algorithm,
            KeyAlgorithm::Ed25519
        );
    }
}
