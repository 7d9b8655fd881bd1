//! The input rules of CreateClientCertificate, field by field, as pure
//! functions: the local service applies them before it issues, a remote
//! backend before it sends, and the TUI's form as the operator types, so
//! every front end shows the same code and sentence for the same mistake.
//! Rules that need the store (the CA's end, the quota) stay with the
//! backend that has it.

use crate::base::limits::{
    MAX_COMMON_NAME_CHARS, MAX_HOSTNAMES, MAX_NAME_CHARS, MAX_VALIDITY_DAYS,
};
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{self, ParsedCsr, PkeyType, PkiError};
use crate::text::{clip, is_dangerous, quoted};

/// The issue form's and `issue`'s defaults (`[defaults]` of the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueDefaults {
    pub validity_days: u32,
    pub pkey_type: PkeyType,
}

/// A site as the input rules know it: its id and its name (a name given
/// for an id gets its own message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRef {
    pub id: u64,
    pub name: String,
}

/// What the field rules depend on: the backend's sites and the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRules {
    pub sites: Vec<SiteRef>,
    pub defaults: IssueDefaults,
}

impl InputRules {
    /// `SiteId`: required, a number, one of the backend's sites.
    pub fn site_id(&self, raw: Option<&str>) -> EsaResult<u64> {
        let raw = raw
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(missing_site_id)?;
        let id: u64 = raw
            .parse()
            .map_err(|_| EsaError::new(ErrorCode::InvalidSiteId, self.not_a_site_id(raw)))?;
        if self.sites.iter().any(|s| s.id == id) {
            Ok(id)
        } else {
            Err(unknown_site(id, ""))
        }
    }

    /// Why `raw` is not a site id. Two slips get their own words: a site's
    /// name given for its id (the message says which id to use, still
    /// refusing it: a script should not come to depend on names), and a
    /// number too large for a site id.
    fn not_a_site_id(&self, raw: &str) -> String {
        let shown = quoted(&clip(raw, 40));
        if let Some(site) = self.sites.iter().find(|s| s.name.eq_ignore_ascii_case(raw)) {
            format!("SiteId {shown} is a site name; its id is {}", site.id)
        } else if let digits = raw.strip_prefix('+').unwrap_or(raw)
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            format!(
                "SiteId {shown} is too large for a site id (at most {})",
                u64::MAX
            )
        } else {
            format!("SiteId {shown} is not a site id (an unsigned integer)")
        }
    }

    /// `ValidityDays`: an integer in 1..=3650; absent, the default. (The
    /// CA's end is checked at issuance, by the backend that knows it.)
    pub fn validity_days(&self, raw: Option<&str>) -> EsaResult<u32> {
        match raw {
            None => Ok(self.defaults.validity_days),
            Some(raw) => validity_days(raw),
        }
    }

    /// `PkeyType`: one of ESA's spellings, any case; absent, the default.
    pub fn pkey_type(&self, raw: Option<&str>) -> EsaResult<PkeyType> {
        let Some(raw) = raw else {
            return Ok(self.defaults.pkey_type);
        };
        PkeyType::parse(raw).ok_or_else(|| {
            EsaError::new(
                ErrorCode::InvalidPkeyType,
                format!(
                    "PkeyType {} is invalid; expected one of {}",
                    quoted(&clip(raw, 40)),
                    PkeyType::SPELLINGS.join(", ")
                ),
            )
        })
    }
}

/// `MissingSiteId`, in ESA's words.
pub fn missing_site_id() -> EsaError {
    EsaError::new(
        ErrorCode::MissingSiteId,
        "Required parameter SiteId missing. Specify SiteId and try again.",
    )
}

/// `InvalidParameter.SiteId` for a number that names no site (`where_`
/// says where sites are declared, e.g. the config's path).
pub fn unknown_site(id: u64, where_: &str) -> EsaError {
    let msg = if where_.is_empty() {
        format!("site {id} does not exist")
    } else {
        format!("site {id} is not in the config ({where_})")
    };
    EsaError::new(ErrorCode::InvalidSiteId, msg)
}

/// `ValidityDays` given as text: an integer in 1..=3650.
pub fn validity_days(raw: &str) -> EsaResult<u32> {
    let bad = || {
        EsaError::new(
            ErrorCode::InvalidValidityDays,
            format!(
                "ValidityDays {} is invalid; expected an integer from 1 to {MAX_VALIDITY_DAYS}",
                quoted(&clip(raw, 40))
            ),
        )
    };
    let n: i64 = raw.trim().parse().map_err(|_| bad())?;
    if !(1..=i64::from(MAX_VALIDITY_DAYS)).contains(&n) {
        return Err(bad());
    }
    u32::try_from(n).map_err(|_| bad())
}

/// `CSR`: PEM, signature verified, acceptable key (see [`pki::parse_csr`]).
pub fn csr(raw: &[u8]) -> EsaResult<ParsedCsr> {
    pki::parse_csr(raw).map_err(|e| match e {
        PkiError::Csr(reason) => {
            EsaError::new(ErrorCode::InvalidCsr, format!("invalid CSR: {reason}"))
        }
        other => EsaError::internal(other),
    })
}

/// `CommonName`: optional; printable, at most 64 characters.
pub fn common_name(raw: Option<&str>) -> EsaResult<Option<String>> {
    let Some(cn) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if cn.chars().any(is_dangerous) {
        return Err(EsaError::new(
            ErrorCode::InvalidCommonName,
            format!(
                "CommonName {} contains control, bidi or invisible format characters",
                quoted(&clip(cn, 64))
            ),
        ));
    }
    if cn.chars().count() > MAX_COMMON_NAME_CHARS {
        return Err(EsaError::new(
            ErrorCode::InvalidCommonName,
            format!(
                "CommonName has {} characters; at most {MAX_COMMON_NAME_CHARS} are allowed",
                cn.chars().count()
            ),
        ));
    }
    Ok(Some(cn.to_owned()))
}

/// `Name`: optional label; printable, at most 128 characters.
pub fn name(raw: Option<&str>) -> EsaResult<String> {
    let name = raw.map(str::trim).unwrap_or("");
    if name.chars().any(is_dangerous) {
        return Err(EsaError::new(
            ErrorCode::InvalidName,
            format!(
                "Name {} contains control, bidi or invisible format characters",
                quoted(&clip(name, 64))
            ),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(EsaError::new(
            ErrorCode::InvalidName,
            format!(
                "Name has {} characters; at most {MAX_NAME_CHARS} are allowed",
                name.chars().count()
            ),
        ));
    }
    Ok(name.to_owned())
}

/// `Hostnames` of Set*Hostnames: up to [`MAX_HOSTNAMES`] hostnames, each
/// the site's domain or one of its subdomains (a leading `*.` wildcard
/// label is allowed), compared case-insensitively; returned lower-cased,
/// without duplicates, in the order given. An empty list clears a binding.
pub fn hostnames(site_domain: &str, list: &[String]) -> EsaResult<Vec<String>> {
    let bad = |m: String| EsaError::new(ErrorCode::InvalidHostnames, m);
    if list.len() > MAX_HOSTNAMES {
        return Err(bad(format!(
            "{} hostnames given; at most {MAX_HOSTNAMES} can be bound",
            list.len()
        )));
    }
    let domain = site_domain.trim_end_matches('.').to_ascii_lowercase();
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for raw in list {
        let h = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let shown = quoted(&clip(raw, 80));
        let labels = h.strip_prefix("*.").unwrap_or(&h);
        let valid = !labels.is_empty()
            && h.len() <= 253
            && labels.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            return Err(bad(format!("{shown} is not a valid hostname")));
        }
        if labels != domain && !labels.ends_with(&format!(".{domain}")) {
            return Err(bad(format!(
                "{shown} is not {domain} or one of its subdomains"
            )));
        }
        if !out.contains(&h) {
            out.push(h);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> InputRules {
        InputRules {
            sites: vec![SiteRef {
                id: 7,
                name: "example.com".into(),
            }],
            defaults: IssueDefaults {
                validity_days: 90,
                pkey_type: PkeyType::EcP256,
            },
        }
    }

    #[test]
    fn site_id_rules() {
        let r = rules();
        assert_eq!(r.site_id(Some(" 7 ")), Ok(7));
        assert_eq!(r.site_id(None).unwrap_err().code, ErrorCode::MissingSiteId);
        assert_eq!(
            r.site_id(Some("  ")).unwrap_err().code,
            ErrorCode::MissingSiteId
        );
        let e = r.site_id(Some("8")).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidSiteId);
        let e = r.site_id(Some("Example.com")).unwrap_err();
        assert!(e.message.contains("its id is 7"), "{}", e.message);
        let e = r.site_id(Some("99999999999999999999")).unwrap_err();
        assert!(e.message.contains("too large"), "{}", e.message);
    }

    #[test]
    fn validity_and_key_defaults_and_bounds() {
        let r = rules();
        assert_eq!(r.validity_days(None), Ok(90));
        assert_eq!(r.validity_days(Some("3650")), Ok(3650));
        for bad in ["0", "3651", "-1", "1.5", "", "9999999999999999999999"] {
            assert_eq!(
                r.validity_days(Some(bad)).unwrap_err().code,
                ErrorCode::InvalidValidityDays,
                "{bad:?}"
            );
        }
        assert_eq!(r.pkey_type(None), Ok(PkeyType::EcP256));
        assert_eq!(r.pkey_type(Some("rsa")), Ok(PkeyType::Rsa2048));
        assert_eq!(
            r.pkey_type(Some("DSA")).unwrap_err().code,
            ErrorCode::InvalidPkeyType
        );
    }

    #[test]
    fn names_and_common_names() {
        assert_eq!(common_name(Some("  ")), Ok(None));
        assert_eq!(
            common_name(Some(&"a".repeat(64))).unwrap().unwrap().len(),
            64
        );
        assert_eq!(
            common_name(Some(&"a".repeat(65))).unwrap_err().code,
            ErrorCode::InvalidCommonName
        );
        assert_eq!(
            common_name(Some("a\u{202e}b")).unwrap_err().code,
            ErrorCode::InvalidCommonName
        );
        assert_eq!(name(None), Ok(String::new()));
        assert_eq!(name(Some(&"é".repeat(128))).unwrap().chars().count(), 128);
        assert_eq!(
            name(Some(&"é".repeat(129))).unwrap_err().code,
            ErrorCode::InvalidName
        );
        assert_eq!(csr(b"garbage").unwrap_err().code, ErrorCode::InvalidCsr);
    }

    #[test]
    fn hostnames_belong_to_the_site() {
        let ok = hostnames(
            "example.com",
            &[
                "A.example.com".into(),
                "example.com".into(),
                "*.api.example.com".into(),
                "a.example.com".into(),
            ],
        )
        .unwrap();
        assert_eq!(ok, ["a.example.com", "example.com", "*.api.example.com"]);
        for bad in [
            "evil.com",
            "example.com.evil.com",
            "notexample.com",
            "a..example.com",
            "-a.example.com",
            "a b.example.com",
            "",
        ] {
            let e = hostnames("example.com", &[bad.into()]).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidHostnames, "{bad}");
        }
        let many: Vec<String> = (0..51).map(|i| format!("h{i}.example.com")).collect();
        assert!(hostnames("example.com", &many).is_err());
        assert_eq!(hostnames("example.com", &many[..50]).unwrap().len(), 50);
        assert!(hostnames("example.com", &[]).unwrap().is_empty());
    }
}
