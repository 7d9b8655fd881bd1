//! CA private keys encrypted at rest: PKCS#8 `EncryptedPrivateKeyInfo`
//! (`-----BEGIN ENCRYPTED PRIVATE KEY-----`) with PBES2, PBKDF2-HMAC-SHA256
//! and AES-256-CBC, the form `openssl pkey -passin …` reads.
//!
//! Why PBKDF2 and not scrypt: every OpenSSL since 1.0 and every PKCS#8
//! reader knows it, and [`PBKDF2_ROUNDS`] (OWASP's 2023 figure for
//! HMAC-SHA256) makes each guess cost about as much as one signature of a
//! whole bulk batch. Decrypted bytes live only in [`Zeroizing`] buffers;
//! rcgen's `KeyPair`, which the signer needs, keeps its own copy that is
//! not zeroized when dropped (a limitation of that crate).

use crate::base::random::random_bytes;
use pkcs5::pbes2;
use pkcs8::EncryptedPrivateKeyInfo;
use pkcs8::der::asn1::OctetString;
use pkcs8::der::{Decode, Encode};
use zeroize::Zeroizing;

use super::PkiError;

/// PBKDF2-HMAC-SHA256 iterations for a protected CA key.
pub const PBKDF2_ROUNDS: u32 = 600_000;
/// Most rounds accepted when reading a key (a hostile file could ask for
/// billions and stall every command).
const MAX_ROUNDS: u32 = 10_000_000;

/// PEM label of an encrypted PKCS#8 key.
pub const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// Why a protected key could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnprotectError {
    /// The passphrase does not decrypt the key.
    #[error("the passphrase does not decrypt the key")]
    WrongPassphrase,
    /// The file is not a readable encrypted key.
    #[error("{0}")]
    Malformed(String),
}

/// Whether `pem_text` holds an encrypted PKCS#8 key (by its PEM label).
pub fn is_protected(pem_text: &str) -> bool {
    pem_text
        .trim_start()
        .starts_with(&format!("-----BEGIN {ENCRYPTED_LABEL}-----"))
}

/// Encrypts a `PRIVATE KEY` PEM (PKCS#8) under `passphrase`.
pub fn protect(key_pem: &str, passphrase: &str) -> Result<Zeroizing<String>, PkiError> {
    let plain = super::keys::pkcs8_der(key_pem)?;
    let salt = random_bytes::<16>()?;
    let iv = random_bytes::<16>()?;
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ROUNDS, &salt, iv)
        .map_err(|e| PkiError::Signing(format!("PBES2 parameters: {e}")))?;
    let sealed = params
        .encrypt(passphrase.as_bytes(), &plain)
        .map_err(|e| PkiError::Signing(format!("encrypting the key: {e}")))?;
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: params.into(),
        encrypted_data: OctetString::new(sealed)
            .map_err(|e| PkiError::Signing(format!("encoding the key: {e}")))?,
    };
    let der = info
        .to_der()
        .map_err(|e| PkiError::Signing(format!("encoding the key: {e}")))?;
    Ok(encode_lf(&pem::Pem::new(ENCRYPTED_LABEL, der)))
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` PEM into a `PRIVATE KEY` PEM.
pub fn unprotect(pem_text: &str, passphrase: &str) -> Result<Zeroizing<String>, UnprotectError> {
    let malformed = |d: String| UnprotectError::Malformed(d);
    let block = pem::parse(pem_text).map_err(|e| malformed(format!("not PEM: {e}")))?;
    if block.tag() != ENCRYPTED_LABEL {
        return Err(malformed(format!(
            "the PEM label is {}, not {ENCRYPTED_LABEL}",
            crate::text::clip(&crate::text::sanitize(block.tag()), 40)
        )));
    }
    let info = EncryptedPrivateKeyInfo::<OctetString>::from_der(block.contents())
        .map_err(|e| malformed(format!("not an EncryptedPrivateKeyInfo: {e}")))?;
    let pkcs5::EncryptionScheme::Pbes2(params) = &info.encryption_algorithm else {
        return Err(malformed("only PBES2 is supported".into()));
    };
    // scrypt's cost is memory as well as time; only the PBKDF2 form this
    // tool writes (and OpenSSL's `pkcs8 -topk8 -v2` default) is read.
    let pbes2::Kdf::Pbkdf2(kdf) = &params.kdf else {
        return Err(malformed(
            "only PBES2 with PBKDF2 is supported (re-encrypt with `openssl pkcs8 -topk8 -v2 aes-256-cbc`)".into(),
        ));
    };
    if kdf.iteration_count > MAX_ROUNDS {
        return Err(malformed(format!(
            "the key asks for {} PBKDF2 rounds; at most {MAX_ROUNDS} are accepted",
            kdf.iteration_count
        )));
    }
    let plain = Zeroizing::new(
        params
            .decrypt(passphrase.as_bytes(), info.encrypted_data.as_bytes())
            .map_err(|_| UnprotectError::WrongPassphrase)?,
    );
    // CBC padding can come out right by chance with a wrong passphrase: the
    // plaintext must also be a DER SEQUENCE that spans the whole buffer.
    if !is_der_sequence(&plain) {
        return Err(UnprotectError::WrongPassphrase);
    }
    Ok(encode_lf(&pem::Pem::new("PRIVATE KEY", plain.to_vec())))
}

/// PEM with `\n` line ends, as OpenSSL and rcgen write it.
fn encode_lf(p: &pem::Pem) -> Zeroizing<String> {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    Zeroizing::new(pem::encode_config(p, config))
}

/// A DER SEQUENCE header whose length covers exactly `der`.
fn is_der_sequence(der: &[u8]) -> bool {
    let (Some(&0x30), Some(&first)) = (der.first(), der.get(1)) else {
        return false;
    };
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || der.len() < 2 + n {
            return false;
        }
        let len = der[2..2 + n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, 2 + n)
    };
    header + len == der.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let key = crate::pki::generate(crate::pki::PkeyType::EcP256).unwrap();
        let sealed = protect(&key.pkcs8_pem, "correct horse").unwrap();
        assert!(is_protected(&sealed));
        assert!(!sealed.contains(key.pkcs8_pem.lines().nth(1).unwrap()));
        let opened = unprotect(&sealed, "correct horse").unwrap();
        assert_eq!(opened.as_str(), key.pkcs8_pem.as_str());
        assert_eq!(
            unprotect(&sealed, "wrong").unwrap_err(),
            UnprotectError::WrongPassphrase
        );
        assert!(matches!(
            unprotect(&key.pkcs8_pem, "x"),
            Err(UnprotectError::Malformed(_))
        ));
    }

    #[test]
    fn der_sequence_check() {
        assert!(is_der_sequence(&[0x30, 0x00]));
        assert!(is_der_sequence(&[0x30, 0x01, 0x05]));
        assert!(!is_der_sequence(&[0x30, 0x02, 0x05]));
        assert!(!is_der_sequence(&[0x04, 0x00]));
        assert!(!is_der_sequence(&[]));
    }
}
