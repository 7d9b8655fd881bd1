//! PKCS#12 (`.p12` / `.pfx`) bundles: a client certificate, its private key
//! and the site CA, protected by a password.
//!
//! Two encodings, because the world is split:
//! - [`P12Mode::Modern`] (the default): PBES2 with PBKDF2-HMAC-SHA256 and
//!   AES-256-CBC for both the key and the certificates, and an HMAC-SHA256
//!   MAC. OpenSSL 3, current Windows, macOS 14+ and Java 11+ read it.
//! - [`P12Mode::Legacy`]: `pbeWithSHAAnd3-KeyTripleDES-CBC` and an
//!   HMAC-SHA1 MAC, for old Windows (before Server 2019 / 10 1709),
//!   appliances and some macOS keychains that cannot read PBES2. OpenSSL 3
//!   still reads it without `-legacy`.
//!
//! Ed25519 keys go in as PKCS#8 v1 (the seed only): OpenSSL before 3.5
//! cannot read a `.p12` whose Ed25519 key is PKCS#8 v2.

use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, Pkcs12ImportPolicy,
    PrivateKey, PrivateKeyChain,
};
use rcgen::KeyPair;
use x509_parser::prelude::{FromDer, X509Certificate};
use zeroize::Zeroizing;

use super::PkiError;
use super::keys::{ED25519_PKCS8_V1_PREFIX, ed25519_seed};

/// Which PKCS#12 encryption to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum P12Mode {
    /// AES-256-CBC / PBKDF2-HMAC-SHA256, HMAC-SHA256 MAC.
    #[default]
    Modern,
    /// 3DES / SHA-1 PBE, HMAC-SHA1 MAC, for readers that predate PBES2.
    Legacy,
}

impl P12Mode {
    /// A short description for messages and logs.
    pub fn label(self) -> &'static str {
        match self {
            P12Mode::Modern => "AES-256-CBC, PBKDF2-HMAC-SHA256, HMAC-SHA256 MAC",
            P12Mode::Legacy => "legacy 3DES-CBC, SHA-1 PBE, HMAC-SHA1 MAC",
        }
    }

    fn encryption(self) -> EncryptionAlgorithm {
        match self {
            P12Mode::Modern => EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            P12Mode::Legacy => EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
        }
    }

    fn mac(self) -> MacAlgorithm {
        match self {
            P12Mode::Modern => MacAlgorithm::HmacSha256,
            P12Mode::Legacy => MacAlgorithm::HmacSha1,
        }
    }

    /// Key-derivation rounds. The legacy form keeps OpenSSL's historical
    /// 2048, which every old reader accepts; the modern one uses more.
    fn iterations(self) -> u32 {
        match self {
            P12Mode::Modern => 10_000,
            P12Mode::Legacy => 2_048,
        }
    }
}

/// What goes into a PKCS#12 bundle.
pub struct P12Input<'a> {
    /// The client certificate, PEM.
    pub cert_pem: &'a str,
    /// Its private key, PKCS#8 PEM.
    pub key_pem: &'a str,
    /// The issuing CA certificate(s), PEM, leaf-side first.
    pub ca_pem: &'a str,
    /// The label importers show (Windows, keychains); characters outside the
    /// Basic Multilingual Plane are dropped, as BMPString cannot carry them.
    pub friendly_name: &'a str,
    pub password: &'a str,
    pub mode: P12Mode,
}

/// The contents of a PKCS#12 bundle read back with [`open_p12`].
pub struct P12Contents {
    pub friendly_name: String,
    /// PKCS#8 DER of the private key.
    pub key_der: Zeroizing<Vec<u8>>,
    /// The certificates, the client certificate first.
    pub certs_der: Vec<Vec<u8>>,
}

impl std::fmt::Debug for P12Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("P12Contents")
            .field("friendly_name", &self.friendly_name)
            .field("certs", &self.certs_der.len())
            .finish_non_exhaustive()
    }
}

fn p12_err(what: &str) -> impl FnOnce(p12_keystore::error::Error) -> PkiError + '_ {
    move |e| PkiError::Pkcs12(format!("{what}: {e}"))
}

/// Builds a password-protected PKCS#12 file holding the certificate, its
/// key and the CA chain. Refuses a key that does not belong to the
/// certificate, so a bundle is never half right.
pub fn build_p12(input: &P12Input<'_>) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let bad = |what: &'static str, detail: String| PkiError::BadStoredMaterial { what, detail };
    let leaf = pem::parse(input.cert_pem).map_err(|e| bad("certificate", e.to_string()))?;
    if leaf.tag() != "CERTIFICATE" {
        return Err(bad("certificate", format!("PEM label is {}", leaf.tag())));
    }
    let chain: Vec<Vec<u8>> = pem::parse_many(input.ca_pem)
        .map_err(|e| bad("CA certificate", e.to_string()))?
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
        .collect();
    if chain.is_empty() {
        return Err(bad("CA certificate", "no CERTIFICATE block".into()));
    }
    let key_der = pkcs8_for_p12(input.key_pem)?;
    check_key_matches(leaf.contents(), &key_der)?;

    // Any unique id links the key to its certificate; OpenSSL uses a
    // 20-byte SHA-1 of the certificate, so keep that length.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, leaf.contents());
    let local_key_id = digest.as_ref()[..20].to_vec();
    let key = PrivateKey::from_der(&key_der).map_err(p12_err("private key"))?;
    let mut certs = vec![Certificate::from_der(leaf.contents()).map_err(p12_err("certificate"))?];
    for der in &chain {
        certs.push(Certificate::from_der(der).map_err(p12_err("CA certificate"))?);
    }
    let alias: String = input
        .friendly_name
        .chars()
        .filter(|c| u32::from(*c) <= 0xffff && !c.is_control())
        .collect();
    let alias = if alias.trim().is_empty() {
        "esa-certs client certificate".to_owned()
    } else {
        alias
    };
    let mut store = KeyStore::new();
    store.add_entry(
        &alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, certs)),
    );
    let rounds = input.mode.iterations();
    store
        .writer(input.password)
        .encryption_algorithm(input.mode.encryption())
        .encryption_iterations(rounds)
        .mac_algorithm(input.mode.mac())
        .mac_iterations(rounds)
        .write()
        .map(Zeroizing::new)
        .map_err(p12_err("encoding"))
}

/// Reads a PKCS#12 bundle written by [`build_p12`] (or any bundle with one
/// key and its chain). A wrong password is reported as such.
pub fn open_p12(data: &[u8], password: &str) -> Result<P12Contents, PkiError> {
    let store =
        KeyStore::from_pkcs12(data, password, Pkcs12ImportPolicy::Strict).map_err(|e| match e {
            p12_keystore::error::Error::MacError(_) => PkiError::Pkcs12(
                "the password is wrong (or the file was altered): the MAC does not verify".into(),
            ),
            other => PkiError::Pkcs12(format!("unreadable PKCS#12: {other}")),
        })?;
    let (alias, chain) = store
        .private_key_chain()
        .ok_or_else(|| PkiError::Pkcs12("the bundle holds no private key".into()))?;
    Ok(P12Contents {
        friendly_name: alias.to_owned(),
        key_der: Zeroizing::new(chain.key().as_der().to_vec()),
        certs_der: chain.certs().iter().map(|c| c.as_der().to_vec()).collect(),
    })
}

/// The PKCS#8 DER to put in the bundle: Ed25519 keys are rewritten as v1.
fn pkcs8_for_p12(key_pem: &str) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let der = super::keys::pkcs8_der(key_pem)?;
    const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
    let is_ed25519 = der
        .get(..32)
        .is_some_and(|head| head.windows(5).any(|w| w == ED25519_OID));
    if !is_ed25519 {
        return Ok(der);
    }
    let seed = ed25519_seed(&der).ok_or_else(|| PkiError::BadStoredMaterial {
        what: "private key",
        detail: "malformed Ed25519 PKCS#8".into(),
    })?;
    let mut v1 = Zeroizing::new(Vec::with_capacity(48));
    v1.extend_from_slice(&ED25519_PKCS8_V1_PREFIX);
    v1.extend_from_slice(seed);
    Ok(v1)
}

fn check_key_matches(cert_der: &[u8], key_der: &[u8]) -> Result<(), PkiError> {
    let bad = |what: &'static str, detail: String| PkiError::BadStoredMaterial { what, detail };
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|e| bad("certificate", e.to_string()))?;
    let key = KeyPair::try_from(key_der).map_err(|e| bad("private key", e.to_string()))?;
    if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err(bad(
            "private key",
            "it does not belong to the certificate".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::clock::now_seconds;
    use crate::pki::{
        LeafProfile, PkeyType, SiteCa, create_ca, generate, issue_leaf, leaf_subject,
    };

    struct Fixture {
        ca_pem: String,
        cert_pem: String,
        cert_der: Vec<u8>,
        key_pem: Zeroizing<String>,
    }

    fn fixture(t: PkeyType) -> Fixture {
        let now = now_seconds();
        let n = create_ca("P12 CA", PkeyType::EcP256, now, 30).unwrap();
        let ca = SiteCa::load(&n.cert_pem, &n.key_pem).unwrap();
        let key = generate(t).unwrap();
        let profile = LeafProfile {
            subject: leaf_subject("p12 leaf"),
            raw_subject: None,
            sans: vec![],
            key_algorithm: t.algorithm(),
            not_before: now,
            not_after: now + time::Duration::days(1),
        };
        let leaf = issue_leaf(&ca, &profile, &key.public).unwrap();
        Fixture {
            ca_pem: n.cert_pem,
            cert_pem: leaf.pem,
            cert_der: leaf.der,
            key_pem: key.pkcs8_pem,
        }
    }

    fn input<'a>(f: &'a Fixture, password: &'a str, mode: P12Mode) -> P12Input<'a> {
        P12Input {
            cert_pem: &f.cert_pem,
            key_pem: &f.key_pem,
            ca_pem: &f.ca_pem,
            friendly_name: "device 1",
            password,
            mode,
        }
    }

    #[test]
    fn round_trips_every_key_type_in_both_modes() {
        for t in [
            PkeyType::Rsa2048,
            PkeyType::EcP256,
            PkeyType::EcP384,
            PkeyType::Ed25519,
        ] {
            let f = fixture(t);
            for mode in [P12Mode::Modern, P12Mode::Legacy] {
                let p12 = build_p12(&input(&f, "s3cret pw", mode)).unwrap();
                let back = open_p12(&p12, "s3cret pw").unwrap();
                assert_eq!(back.friendly_name, "device 1", "{t:?} {mode:?}");
                assert_eq!(back.certs_der.len(), 2, "{t:?} {mode:?}");
                assert_eq!(back.certs_der[0], f.cert_der, "{t:?} {mode:?}");
                assert_eq!(
                    back.certs_der[1],
                    pem::parse(&f.ca_pem).unwrap().into_contents()
                );
                let key_back = KeyPair::try_from(back.key_der.as_slice()).unwrap();
                let key_orig = KeyPair::from_pem(&f.key_pem).unwrap();
                assert_eq!(key_back.public_key_raw(), key_orig.public_key_raw());
                if t == PkeyType::Ed25519 {
                    assert_eq!(back.key_der.len(), 48, "Ed25519 must be PKCS#8 v1");
                    assert_eq!(&back.key_der[..16], &ED25519_PKCS8_V1_PREFIX);
                }
                let e = open_p12(&p12, "wrong").unwrap_err().to_string();
                assert!(e.contains("password is wrong"), "{e}");
            }
        }
    }

    #[test]
    fn modes_write_the_promised_algorithms() {
        let f = fixture(PkeyType::EcP256);
        let modern = build_p12(&input(&f, "pw", P12Mode::Modern)).unwrap();
        let legacy = build_p12(&input(&f, "pw", P12Mode::Legacy)).unwrap();
        let has = |der: &[u8], oid: &[u8]| der.windows(oid.len()).any(|w| w == oid);
        // 2.16.840.1.101.3.4.1.42 aes256-CBC, 1.2.840.113549.1.5.13 PBES2
        let aes256 = [
            0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a,
        ];
        let pbes2 = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d,
        ];
        // 1.2.840.113549.1.12.1.3 pbeWithSHAAnd3-KeyTripleDES-CBC
        let tdes = [
            0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03,
        ];
        // 1.3.14.3.2.26 SHA-1 (the MAC digest), 2.16.840.1.101.3.4.2.1 SHA-256
        let sha1 = [0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a];
        let sha256 = [
            0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        ];
        assert!(has(&modern, &aes256) && has(&modern, &pbes2) && has(&modern, &sha256));
        assert!(!has(&modern, &tdes) && !has(&modern, &sha1));
        assert!(has(&legacy, &tdes) && has(&legacy, &sha1));
        assert!(!has(&legacy, &aes256) && !has(&legacy, &pbes2));
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let a = fixture(PkeyType::EcP256);
        let b = fixture(PkeyType::EcP256);
        let mut i = input(&a, "pw", P12Mode::Modern);
        i.key_pem = &b.key_pem;
        let e = build_p12(&i).unwrap_err().to_string();
        assert!(e.contains("does not belong"), "{e}");
    }

    #[test]
    fn a_pkcs8_v2_ed25519_key_is_written_as_v1() {
        let f = fixture(PkeyType::Ed25519);
        let v1 = pem::parse(f.key_pem.as_bytes()).unwrap().into_contents();
        // The same key as RFC 5958 v2 (with the public key), as aws-lc
        // writes a freshly generated Ed25519 key.
        let kp = KeyPair::from_pem(&f.key_pem).unwrap();
        let mut v2 = vec![0x30, 0x51, 0x02, 0x01, 0x01];
        v2.extend_from_slice(&v1[5..14]);
        v2.extend_from_slice(&[0x04, 0x20]);
        v2.extend_from_slice(&v1[16..48]);
        v2.extend_from_slice(&[0x81, 0x21, 0x00]);
        v2.extend_from_slice(kp.public_key_raw());
        assert_eq!(v2.len(), 0x53);
        assert!(
            KeyPair::try_from(v2.as_slice()).is_ok(),
            "a valid v2 encoding"
        );
        let v2_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", v2));
        let mut i = input(&f, "pw", P12Mode::Modern);
        i.key_pem = &v2_pem;
        let back = open_p12(&build_p12(&i).unwrap(), "pw").unwrap();
        assert_eq!(back.key_der.as_slice(), v1.as_slice());
    }

    #[test]
    fn friendly_name_falls_back_and_drops_what_bmpstring_cannot_hold() {
        let f = fixture(PkeyType::EcP256);
        let mut i = input(&f, "pw", P12Mode::Modern);
        i.friendly_name = "\u{1F600}";
        let back = open_p12(&build_p12(&i).unwrap(), "pw").unwrap();
        assert_eq!(back.friendly_name, "esa-certs client certificate");
    }
}
