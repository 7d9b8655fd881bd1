//! Certificate revocation lists, signed by the site CA.

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};
use time::OffsetDateTime;

use super::PkiError;
use super::cert::SiteCa;

/// RFC 5280 reason codes (5.3.1), with their RFC names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    PrivilegeWithdrawn,
    AaCompromise,
}

impl RevocationReason {
    pub const ALL: [RevocationReason; 9] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::CertificateHold,
        RevocationReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise,
    ];

    /// The RFC 5280 name (`keyCompromise`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::CaCompromise => "cACompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
            RevocationReason::CertificateHold => "certificateHold",
            RevocationReason::PrivilegeWithdrawn => "privilegeWithdrawn",
            RevocationReason::AaCompromise => "aACompromise",
        }
    }

    /// Parses an RFC name (any case, `-`/`_` ignored) or the numeric code.
    pub fn parse(s: &str) -> Option<RevocationReason> {
        let norm: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().to_ascii_lowercase() == norm || r.code().to_string() == norm)
    }

    /// The reason of a numeric code (7 is unused by RFC 5280).
    pub fn from_code(code: u8) -> Option<RevocationReason> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The numeric reason code.
    pub fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::CaCompromise => 2,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::CertificateHold => 6,
            RevocationReason::PrivilegeWithdrawn => 9,
            RevocationReason::AaCompromise => 10,
        }
    }

    fn to_rcgen(self) -> rcgen::RevocationReason {
        use rcgen::RevocationReason as R;
        match self {
            RevocationReason::Unspecified => R::Unspecified,
            RevocationReason::KeyCompromise => R::KeyCompromise,
            RevocationReason::CaCompromise => R::CaCompromise,
            RevocationReason::AffiliationChanged => R::AffiliationChanged,
            RevocationReason::Superseded => R::Superseded,
            RevocationReason::CessationOfOperation => R::CessationOfOperation,
            RevocationReason::CertificateHold => R::CertificateHold,
            RevocationReason::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
            RevocationReason::AaCompromise => R::AaCompromise,
        }
    }
}

/// One revoked certificate as it goes into the CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    /// Lower-case hex of the serial, as stored.
    pub serial_hex: String,
    pub revoked_at: OffsetDateTime,
    pub reason: Option<RevocationReason>,
}

/// Signs a CRL listing `entries`. The authority key identifier is the CA's
/// own SKI, without which OpenSSL cannot match the CRL to the CA. The
/// caller chooses the dates (the service: `Service::crl_window`).
pub fn make_crl(
    ca: &SiteCa,
    number: u64,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    entries: &[CrlEntry],
) -> Result<String, PkiError> {
    let ski = ca
        .info
        .subject_key_id
        .clone()
        .ok_or_else(|| PkiError::BadStoredMaterial {
            what: "CA certificate",
            detail: "it has no subject key identifier".into(),
        })?;
    let revoked_certs = entries
        .iter()
        .map(|e| {
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&unhex(&e.serial_hex)?),
                revocation_time: e.revoked_at,
                reason_code: e.reason.map(RevocationReason::to_rcgen),
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, PkiError>>()?;
    let params = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::PreSpecified(ski),
    };
    let crl = params
        .signed_by(ca.issuer())
        .map_err(|e| PkiError::Signing(e.to_string()))?;
    crl.pem().map_err(|e| PkiError::Signing(e.to_string()))
}

fn unhex(s: &str) -> Result<Vec<u8>, PkiError> {
    let bad = || PkiError::BadStoredMaterial {
        what: "serial number",
        detail: format!(
            "{} is not hex",
            crate::text::quoted(&crate::text::clip(s, 40))
        ),
    };
    let padded = if s.len() % 2 == 1 {
        format!("0{s}")
    } else {
        s.to_owned()
    };
    (0..padded.len())
        .step_by(2)
        .map(|i| {
            padded
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::clock::now_seconds;
    use crate::pki::{PkeyType, create_ca};
    use x509_parser::prelude::FromDer;

    #[test]
    fn reasons_parse_by_name_and_code() {
        assert_eq!(
            RevocationReason::parse("keyCompromise"),
            Some(RevocationReason::KeyCompromise)
        );
        assert_eq!(
            RevocationReason::parse("key-compromise"),
            Some(RevocationReason::KeyCompromise)
        );
        assert_eq!(
            RevocationReason::parse("9"),
            Some(RevocationReason::PrivilegeWithdrawn)
        );
        assert_eq!(RevocationReason::parse("7"), None);
        assert_eq!(RevocationReason::parse("removeFromCRL"), None);
        for r in RevocationReason::ALL {
            assert_eq!(RevocationReason::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn crl_lists_serials_and_verifies() {
        let now = now_seconds();
        let n = create_ca("CA", PkeyType::EcP256, now, 30).unwrap();
        let ca = SiteCa::load(&n.cert_pem, &n.key_pem).unwrap();
        let entries = [CrlEntry {
            serial_hex: "0a1b2c".into(),
            revoked_at: now,
            reason: Some(RevocationReason::KeyCompromise),
        }];
        let next = now + time::Duration::days(7);
        let pem_text = make_crl(&ca, 5, now, next, &entries).unwrap();
        let der = pem::parse(&pem_text).unwrap().into_contents();
        let (_, crl) =
            x509_parser::revocation_list::CertificateRevocationList::from_der(&der).unwrap();
        assert_eq!(crl.crl_number().map(|n| n.to_string()), Some("5".into()));
        let serials: Vec<_> = crl
            .iter_revoked_certificates()
            .map(|r| crate::text::hex(r.raw_serial()))
            .collect();
        assert_eq!(serials, vec!["0a1b2c"]);
        let (_, cacert) = x509_parser::prelude::X509Certificate::from_der(&ca.cert_der).unwrap();
        crl.verify_signature(cacert.public_key()).unwrap();
    }
}
