//! Key types: ESA's `PkeyType` spellings, key generation, and the PKCS#8
//! form we hand out.

use std::fmt;

use rcgen::{KeyPair, PublicKeyData, RsaKeySize, SignatureAlgorithm};
use zeroize::Zeroizing;

use super::PkiError;

/// A key type that can be generated, as ESA's `PkeyType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PkeyType {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EcP256,
    EcP384,
    Ed25519,
}

impl PkeyType {
    /// Every accepted spelling (case-insensitive), in ESA's documentation order.
    pub const SPELLINGS: [&'static str; 8] = [
        "RSA", "RSA_2048", "RSA_3072", "RSA_4096", "ECC", "ECC_256", "ECC_384", "ED25519",
    ];

    /// The six distinct key types, in the order a picker shows them.
    pub const ALL: [PkeyType; 6] = [
        PkeyType::Rsa2048,
        PkeyType::Rsa3072,
        PkeyType::Rsa4096,
        PkeyType::EcP256,
        PkeyType::EcP384,
        PkeyType::Ed25519,
    ];

    /// Parses one of [`Self::SPELLINGS`], ignoring case and surrounding space.
    pub fn parse(s: &str) -> Option<PkeyType> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "RSA" | "RSA_2048" => PkeyType::Rsa2048,
            "RSA_3072" => PkeyType::Rsa3072,
            "RSA_4096" => PkeyType::Rsa4096,
            "ECC" | "ECC_256" => PkeyType::EcP256,
            "ECC_384" => PkeyType::EcP384,
            "ED25519" => PkeyType::Ed25519,
            _ => return None,
        })
    }

    /// The canonical ESA spelling (`RSA_2048`, `ECC_256`, ...).
    pub fn as_esa(self) -> &'static str {
        self.algorithm().esa_name_static()
    }

    /// What a person calls it (`RSA 2048`, `ECDSA P-256`, ...).
    pub fn label(self) -> &'static str {
        match self {
            PkeyType::Rsa2048 => "RSA 2048",
            PkeyType::Rsa3072 => "RSA 3072",
            PkeyType::Rsa4096 => "RSA 4096",
            PkeyType::EcP256 => "ECDSA P-256",
            PkeyType::EcP384 => "ECDSA P-384",
            PkeyType::Ed25519 => "Ed25519",
        }
    }

    pub fn algorithm(self) -> KeyAlgorithm {
        match self {
            PkeyType::Rsa2048 => KeyAlgorithm::Rsa { bits: 2048 },
            PkeyType::Rsa3072 => KeyAlgorithm::Rsa { bits: 3072 },
            PkeyType::Rsa4096 => KeyAlgorithm::Rsa { bits: 4096 },
            PkeyType::EcP256 => KeyAlgorithm::EcP256,
            PkeyType::EcP384 => KeyAlgorithm::EcP384,
            PkeyType::Ed25519 => KeyAlgorithm::Ed25519,
        }
    }

    /// The algorithm a key of this type signs with (when it is a CA key).
    pub(crate) fn signature_algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            PkeyType::Rsa2048 | PkeyType::Rsa3072 | PkeyType::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
            PkeyType::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            PkeyType::EcP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            PkeyType::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

impl fmt::Display for PkeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_esa())
    }
}

/// The public-key algorithm of any certificate we issue, including those
/// made from a CSR (whose RSA size may be anything from 2048 bits up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    Rsa { bits: u32 },
    EcP256,
    EcP384,
    Ed25519,
}

impl KeyAlgorithm {
    /// ESA-style name: `RSA_2048`, `ECC_256`, `ECC_384`, `ED25519`.
    pub fn esa_name(self) -> String {
        match self {
            KeyAlgorithm::Rsa { bits } => format!("RSA_{bits}"),
            other => other.esa_name_static().to_owned(),
        }
    }

    fn esa_name_static(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa { bits: 2048 } => "RSA_2048",
            KeyAlgorithm::Rsa { bits: 3072 } => "RSA_3072",
            KeyAlgorithm::Rsa { bits: 4096 } => "RSA_4096",
            KeyAlgorithm::Rsa { .. } => "RSA",
            KeyAlgorithm::EcP256 => "ECC_256",
            KeyAlgorithm::EcP384 => "ECC_384",
            KeyAlgorithm::Ed25519 => "ED25519",
        }
    }

    /// Parses what [`Self::esa_name`] wrote.
    pub fn parse(s: &str) -> Option<KeyAlgorithm> {
        if let Some(bits) = s.strip_prefix("RSA_") {
            return bits.parse().ok().map(|bits| KeyAlgorithm::Rsa { bits });
        }
        match s {
            "ECC_256" => Some(KeyAlgorithm::EcP256),
            "ECC_384" => Some(KeyAlgorithm::EcP384),
            "ED25519" => Some(KeyAlgorithm::Ed25519),
            _ => None,
        }
    }

    /// ESA's `PubkeyAlgorithm` value: `RSA`, `ECC` or `Ed25519`.
    pub fn family(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa { .. } => "RSA",
            KeyAlgorithm::EcP256 | KeyAlgorithm::EcP384 => "ECC",
            KeyAlgorithm::Ed25519 => "Ed25519",
        }
    }

    /// A human label (`RSA 2048`, `ECDSA P-256`, `Ed25519`).
    pub fn label(self) -> String {
        match self {
            KeyAlgorithm::Rsa { bits } => format!("RSA {bits}"),
            KeyAlgorithm::EcP256 => "ECDSA P-256".into(),
            KeyAlgorithm::EcP384 => "ECDSA P-384".into(),
            KeyAlgorithm::Ed25519 => "Ed25519".into(),
        }
    }

    /// The generatable type with the same algorithm, if there is one.
    pub fn pkey_type(self) -> Option<PkeyType> {
        PkeyType::ALL.into_iter().find(|t| t.algorithm() == self)
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.esa_name())
    }
}

/// The public half of a generated key, as a certificate carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    alg: &'static SignatureAlgorithm,
    raw: Vec<u8>,
}

impl PublicKeyData for PublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

/// A freshly generated key with its PKCS#8 PEM (zeroized on drop). Only
/// the public half is kept beside the PEM: a leaf's key never signs here.
pub struct GeneratedKey {
    pub public: PublicKey,
    pub pkey_type: PkeyType,
    /// PKCS#8 v1 (`-----BEGIN PRIVATE KEY-----`), readable by OpenSSL 3.0.
    pub pkcs8_pem: Zeroizing<String>,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("pkey_type", &self.pkey_type)
            .finish_non_exhaustive()
    }
}

/// Generates a key of the given type. RSA takes tens to hundreds of
/// milliseconds: never call this on a UI thread.
///
/// EC keys come straight from aws-lc (one scalar multiplication): rcgen's
/// `KeyPair::generate_for` would serialise the new key to PKCS#8 and parse
/// it back, and the parse checks the key with a second multiplication,
/// which was a quarter of a create's CPU.
pub fn generate(pkey_type: PkeyType) -> Result<GeneratedKey, PkiError> {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _,
    };
    let failed = |e: aws_lc_rs::error::Unspecified| PkiError::KeyGeneration(e.to_string());
    let ec = match pkey_type {
        PkeyType::EcP256 => Some(&ECDSA_P256_SHA256_ASN1_SIGNING),
        PkeyType::EcP384 => Some(&ECDSA_P384_SHA384_ASN1_SIGNING),
        _ => None,
    };
    let Some(ec) = ec else {
        let (key_pair, pkcs8_pem) = generate_key_pair(pkey_type)?;
        return Ok(GeneratedKey {
            public: PublicKey {
                alg: key_pair.algorithm(),
                raw: key_pair.public_key_raw().to_vec(),
            },
            pkey_type,
            pkcs8_pem,
        });
    };
    let key = EcdsaKeyPair::generate(ec).map_err(failed)?;
    // The same PKCS#8 v1 document rcgen's generate_for keeps.
    let der = Zeroizing::new(key.to_pkcs8v1().map_err(failed)?.as_ref().to_vec());
    let pkcs8_pem = Zeroizing::new(pem::encode_config(
        &pem::Pem::new("PRIVATE KEY", der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    ));
    Ok(GeneratedKey {
        public: PublicKey {
            alg: pkey_type.signature_algorithm(),
            raw: key.public_key().as_ref().to_vec(),
        },
        pkey_type,
        pkcs8_pem,
    })
}

/// Generates a key that signs here (a site CA's) with its PKCS#8 PEM.
pub(crate) fn generate_key_pair(
    pkey_type: PkeyType,
) -> Result<(KeyPair, Zeroizing<String>), PkiError> {
    let alg = pkey_type.signature_algorithm();
    let key_pair = match pkey_type {
        PkeyType::Rsa2048 => KeyPair::generate_rsa_for(alg, RsaKeySize::_2048),
        PkeyType::Rsa3072 => KeyPair::generate_rsa_for(alg, RsaKeySize::_3072),
        PkeyType::Rsa4096 => KeyPair::generate_rsa_for(alg, RsaKeySize::_4096),
        _ => KeyPair::generate_for(alg),
    }
    .map_err(|e| PkiError::KeyGeneration(e.to_string()))?;
    let pkcs8_pem = pkcs8_v1_pem(&key_pair, pkey_type)?;
    Ok((key_pair, pkcs8_pem))
}

/// OpenSSL before 3.5 cannot read the PKCS#8 v2 (RFC 5958 `OneAsymmetricKey`
/// with the public key) that aws-lc writes for Ed25519, so Ed25519 keys are
/// re-encoded as v1: version 0, the algorithm, and the 32-byte seed.
fn pkcs8_v1_pem(key_pair: &KeyPair, pkey_type: PkeyType) -> Result<Zeroizing<String>, PkiError> {
    if pkey_type != PkeyType::Ed25519 {
        return Ok(Zeroizing::new(key_pair.serialize_pem()));
    }
    let der = Zeroizing::new(key_pair.serialize_der());
    let seed = ed25519_seed(&der).ok_or_else(|| {
        PkiError::KeyGeneration("unexpected Ed25519 PKCS#8 layout from the crypto library".into())
    })?;
    let mut v1 = Zeroizing::new(Vec::with_capacity(48));
    v1.extend_from_slice(&ED25519_PKCS8_V1_PREFIX);
    v1.extend_from_slice(seed);
    Ok(Zeroizing::new(pem::encode(&pem::Pem::new(
        "PRIVATE KEY",
        v1.to_vec(),
    ))))
}

/// `SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }`
/// up to the seed.
pub(crate) const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Finds the 32-byte seed in an Ed25519 PKCS#8 (v1 or v2) DER.
pub(crate) fn ed25519_seed(der: &[u8]) -> Option<&[u8]> {
    // Both versions carry `OID 1.3.101.112` then `04 22 04 20 <seed>`.
    const MARK: [u8; 9] = [0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20, 0, 0];
    let at = der.windows(7).position(|w| w == &MARK[..7])?;
    der.get(at + 7..at + 7 + 32)
}

/// The DER of a stored `PRIVATE KEY` (PKCS#8) PEM, in a zeroizing buffer.
/// Errors name the label found, never the content.
pub(crate) fn pkcs8_der(key_pem: &str) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let bad = |detail: String| PkiError::BadStoredMaterial {
        what: "private key",
        detail,
    };
    let block = pem::parse(key_pem).map_err(|e| bad(e.to_string()))?;
    if block.tag() != "PRIVATE KEY" {
        return Err(bad(format!(
            "PEM label is {}, expected PRIVATE KEY (PKCS#8)",
            crate::text::sanitize(block.tag())
        )));
    }
    Ok(Zeroizing::new(block.into_contents()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_case_insensitively() {
        for s in PkeyType::SPELLINGS {
            assert!(PkeyType::parse(s).is_some(), "{s}");
            assert!(PkeyType::parse(&s.to_lowercase()).is_some(), "{s}");
        }
        assert_eq!(PkeyType::parse(" ecc "), Some(PkeyType::EcP256));
        assert_eq!(PkeyType::parse("rsa"), Some(PkeyType::Rsa2048));
        assert_eq!(PkeyType::parse("RSA_1024"), None);
        assert_eq!(PkeyType::parse("ECC_521"), None);
        assert_eq!(PkeyType::parse(""), None);
    }

    #[test]
    fn esa_names_round_trip() {
        for t in PkeyType::ALL {
            assert_eq!(PkeyType::parse(t.as_esa()), Some(t));
            assert_eq!(
                KeyAlgorithm::parse(&t.algorithm().esa_name()),
                Some(t.algorithm())
            );
        }
        assert_eq!(
            KeyAlgorithm::parse("RSA_2560"),
            Some(KeyAlgorithm::Rsa { bits: 2560 })
        );
    }

    #[test]
    fn ed25519_key_is_pkcs8_v1() {
        let k = generate(PkeyType::Ed25519).unwrap();
        let p = pem::parse(k.pkcs8_pem.as_bytes()).unwrap();
        assert_eq!(p.tag(), "PRIVATE KEY");
        assert_eq!(p.contents().len(), 48);
        assert_eq!(&p.contents()[..16], &ED25519_PKCS8_V1_PREFIX);
        // The v1 form still loads as the same key.
        let again = KeyPair::from_pem(&k.pkcs8_pem).unwrap();
        assert_eq!(again.public_key_raw(), k.public.der_bytes());
    }

    #[test]
    fn ec_keys_generate() {
        for t in [PkeyType::EcP256, PkeyType::EcP384] {
            let k = generate(t).unwrap();
            assert!(k.pkcs8_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
            assert!(!k.pkcs8_pem.contains('\r'), "LF line endings, as before");
            // The PEM holds the very key whose public half is kept.
            let again = KeyPair::from_pem(&k.pkcs8_pem).unwrap();
            assert_eq!(again.public_key_raw(), k.public.der_bytes());
            assert_eq!(again.algorithm(), k.public.algorithm());
        }
    }
}
