//! An uploaded CA (UploadClientCaCertificate): a verify-only trust anchor
//! of a site. What makes one acceptable is decided here, once: exactly one
//! PEM certificate and nothing else (never a key), `CA:TRUE`, allowed to
//! sign certificates, in date, and either properly self-signed (its own
//! signature verifies) or an intermediate (issued by someone else).

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

use super::{CertInfo, inspect};

/// An accepted upload: what the store keeps and the service reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedCa {
    pub info: CertInfo,
    /// The certificate alone, re-encoded as one PEM block.
    pub pem: String,
    pub self_signed: bool,
}

/// Checks an uploaded CA certificate. The error is a sentence for the
/// user (it never quotes the input back).
pub fn check_uploaded_ca(text: &str, now: OffsetDateTime) -> Result<UploadedCa, String> {
    let blocks = pem::parse_many(text).map_err(|e| format!("not a PEM certificate: {e}"))?;
    if blocks.iter().any(|b| b.tag().contains("PRIVATE KEY")) {
        return Err(
            "the upload contains a private key; a client CA is uploaded without its key".into(),
        );
    }
    let [block] = blocks.as_slice() else {
        return Err(match blocks.len() {
            0 => "no PEM certificate found".into(),
            n => format!("{n} PEM blocks found; upload one CA certificate at a time"),
        });
    };
    if block.tag() != "CERTIFICATE" {
        return Err(format!(
            "a PEM \"{}\" block is not a certificate",
            block.tag().chars().take(40).collect::<String>()
        ));
    }
    let der = block.contents();
    let (rest, x) =
        X509Certificate::from_der(der).map_err(|e| format!("not a valid certificate: {e}"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the certificate".into());
    }
    if !x.is_ca() {
        return Err("the certificate is not a CA (basicConstraints CA:TRUE is missing)".into());
    }
    for ext in x.extensions() {
        if let ParsedExtension::KeyUsage(ku) = ext.parsed_extension()
            && !ku.key_cert_sign()
        {
            return Err("the CA's keyUsage does not allow signing certificates".into());
        }
    }
    let info = inspect(der).map_err(|e| e.to_string())?;
    if now < info.not_before {
        return Err(format!(
            "the CA is not valid yet (NotBefore {})",
            crate::base::clock::esa_time(info.not_before)
        ));
    }
    if now > info.not_after {
        return Err(format!(
            "the CA has expired (NotAfter {})",
            crate::base::clock::esa_time(info.not_after)
        ));
    }
    let self_signed = x.subject().as_raw() == x.issuer().as_raw();
    if self_signed && x.verify_signature(None).is_err() {
        return Err("the CA claims to be self-signed but its signature does not verify".into());
    }
    let pem = pem::encode_config(
        &pem::Pem::new("CERTIFICATE", der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    Ok(UploadedCa {
        info,
        pem,
        self_signed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{PkeyType, create_ca, generate};

    fn ca_pem() -> String {
        let now = OffsetDateTime::now_utc();
        create_ca(
            "Corp Root",
            PkeyType::EcP256,
            now - time::Duration::days(1),
            31,
        )
        .unwrap()
        .cert_pem
    }

    #[test]
    fn a_self_signed_ca_is_accepted_and_a_leaf_or_key_is_not() {
        let pem = ca_pem();
        let now = OffsetDateTime::now_utc();
        let ok = check_uploaded_ca(&pem, now).unwrap();
        assert!(ok.self_signed && ok.info.is_ca);
        assert_eq!(ok.info.subject_cn.as_deref(), Some("Corp Root"));

        let key = generate(PkeyType::EcP256).unwrap();
        let with_key = format!("{pem}{}", key.pkcs8_pem.as_str());
        let err = check_uploaded_ca(&with_key, now).unwrap_err();
        assert!(err.contains("private key"), "{err}");
        assert!(!err.contains("BEGIN"), "the input is never quoted back");

        let two = format!("{pem}{pem}");
        assert!(
            check_uploaded_ca(&two, now)
                .unwrap_err()
                .contains("2 PEM blocks")
        );
        assert!(check_uploaded_ca("garbage", now).is_err());
        let later = now + time::Duration::days(60);
        assert!(
            check_uploaded_ca(&pem, later)
                .unwrap_err()
                .contains("expired")
        );
        let earlier = now - time::Duration::days(2);
        assert!(
            check_uploaded_ca(&pem, earlier)
                .unwrap_err()
                .contains("not valid yet")
        );
    }
}
