//! The ESA error model: every failure the service reports carries one of
//! ESA's error codes, so the CLI (text or JSON), the TUI and the HTTP
//! server show the same thing and scripts can branch on the code.
//!
//! The code knows its wire spelling ([`ErrorCode::as_str`], parsed back by
//! `FromStr` for codes that come over the wire) and its HTTP status
//! ([`ErrorCode::http_status`]: 403 for the two authentication codes, as
//! ESA's error table says, 400 for every other documented code). An error
//! that came back from a remote ESA endpoint keeps what the endpoint said
//! ([`WireOrigin`]), so a code we do not know still surfaces unchanged.

use std::fmt;
use std::str::FromStr;

/// ESA error codes, as the real API spells them where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `SiteId` was not given.
    MissingSiteId,
    /// `SiteId` is not a number or not a site of the config.
    InvalidSiteId,
    /// `ValidityDays` is not an integer in 1..=3650 or ends after the CA.
    InvalidValidityDays,
    /// `PkeyType` is not one of the known spellings.
    InvalidPkeyType,
    /// The CSR is not a valid, acceptable PEM certificate request.
    InvalidCsr,
    /// The `CommonName` extension parameter is unacceptable.
    InvalidCommonName,
    /// The `Name` label is unacceptable.
    InvalidName,
    /// A certificate Id that is malformed or names no certificate.
    InvalidId,
    /// Any other parameter (an option value, a password, an output path).
    InvalidParameter,
    /// The configuration file cannot be read or is invalid.
    InvalidConfig,
    /// The site's `max_client_certificates` quota is reached.
    QuotaCheckFailed,
    /// The certificate's status does not allow the operation.
    StatusError,
    /// A site CA key is encrypted at rest and no passphrase was available
    /// (no `ESA_CERTS_CA_PASSPHRASE_FILE`, no terminal, nothing set by the
    /// front end), or the passphrase given does not decrypt it. Nothing was
    /// changed. Front ends ask for a passphrase and retry with
    /// [`crate::service::Service::set_ca_passphrase`].
    CaPassphrase,
    /// `doctor` found problems in the store (each one is listed).
    StoreProblems,
    /// I/O or an internal failure; nothing was half-written.
    InternalException,
    /// The request's signature, access key or token is wrong or missing
    /// (HTTP 403; only an API produces it).
    InvalidToken,
    /// The request's date is too far from the server's clock (HTTP 403).
    InvalidTime,
    /// The API has no such action.
    InvalidAction,
    /// The backend does not offer the operation (a local-only feature such
    /// as the CRL or the audit log asked of a remote ESA endpoint).
    Unsupported,
    /// A remote endpoint could not be reached or did not answer in time,
    /// or answered with something that is not ESA's JSON.
    RemoteUnavailable,
    /// An uploaded CA certificate is unacceptable (not one PEM
    /// certificate, not a CA, out of date, a key included).
    InvalidCertificate,
    /// `Hostnames` is not a list of up to 50 hostnames of the site.
    InvalidHostnames,
    /// The request body is larger than the server accepts (HTTP 413).
    RequestTooLarge,
}

impl ErrorCode {
    /// The code as ESA spells it (`InvalidParameter.SiteId`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingSiteId => "MissingSiteId",
            ErrorCode::InvalidSiteId => "InvalidParameter.SiteId",
            ErrorCode::InvalidValidityDays => "InvalidParameter.ValidityDays",
            ErrorCode::InvalidPkeyType => "InvalidParameter.PkeyType",
            ErrorCode::InvalidCsr => "InvalidParameter.CSR",
            ErrorCode::InvalidCommonName => "InvalidParameter.CommonName",
            ErrorCode::InvalidName => "InvalidParameter.Name",
            ErrorCode::InvalidId => "InvalidParameter.Id",
            ErrorCode::InvalidParameter => "InvalidParameter",
            ErrorCode::InvalidConfig => "InvalidParameter.Config",
            ErrorCode::QuotaCheckFailed => "QuotaCheckFailed.Function",
            ErrorCode::StatusError => "Certificate.StatusError",
            ErrorCode::CaPassphrase => "InvalidParameter.CAPassphrase",
            ErrorCode::StoreProblems => "Store.ProblemsFound",
            ErrorCode::InternalException => "InternalException",
            ErrorCode::InvalidToken => "Unauthorized.InvalidToken",
            ErrorCode::InvalidTime => "Unauthorized.InvalidTime",
            ErrorCode::InvalidAction => "InvalidAction.NotFound",
            ErrorCode::Unsupported => "UnsupportedOperation",
            ErrorCode::RemoteUnavailable => "Remote.Unavailable",
            ErrorCode::InvalidCertificate => "InvalidParameter.Certificate",
            ErrorCode::InvalidHostnames => "InvalidParameter.Hostnames",
            ErrorCode::RequestTooLarge => "RequestEntityTooLarge",
        }
    }

    /// The HTTP status ESA pairs with the code: 403 for the two
    /// authentication codes, 400 for every other one (ESA documents
    /// `InternalException` as 400 too); the server's own 413 for a body
    /// over its limit.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidToken | ErrorCode::InvalidTime => 403,
            ErrorCode::RequestTooLarge => 413,
            _ => 400,
        }
    }

    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 23] = [
        ErrorCode::MissingSiteId,
        ErrorCode::InvalidSiteId,
        ErrorCode::InvalidValidityDays,
        ErrorCode::InvalidPkeyType,
        ErrorCode::InvalidCsr,
        ErrorCode::InvalidCommonName,
        ErrorCode::InvalidName,
        ErrorCode::InvalidId,
        ErrorCode::InvalidParameter,
        ErrorCode::InvalidConfig,
        ErrorCode::QuotaCheckFailed,
        ErrorCode::StatusError,
        ErrorCode::CaPassphrase,
        ErrorCode::StoreProblems,
        ErrorCode::InternalException,
        ErrorCode::InvalidToken,
        ErrorCode::InvalidTime,
        ErrorCode::InvalidAction,
        ErrorCode::Unsupported,
        ErrorCode::RemoteUnavailable,
        ErrorCode::InvalidCertificate,
        ErrorCode::InvalidHostnames,
        ErrorCode::RequestTooLarge,
    ];
}

/// A code string that is none of ours (it came over the wire).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error code {0:?}")]
pub struct UnknownCode(pub String);

impl FromStr for ErrorCode {
    type Err = UnknownCode;

    /// The exact wire spelling (`InvalidParameter.SiteId`); codes are
    /// case-sensitive on the wire, as ESA's are.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as ESA would report it: a code and a human message.
///
/// Messages never contain key material; they may quote user input only after
/// [`crate::text::sanitize`] so that terminal escapes cannot pass through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EsaError {
    pub code: ErrorCode,
    pub message: String,
    /// Set when the error came back from a remote ESA endpoint.
    pub origin: Option<Box<WireOrigin>>,
}

/// What a remote endpoint said about an error, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireOrigin {
    /// The `Code` as received (it may be one we do not know).
    pub code: String,
    /// The endpoint's `RequestId` (also in its `x-acs-request-id` header).
    pub request_id: String,
    pub http_status: u16,
}

impl EsaError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        EsaError {
            code,
            message: message.into(),
            origin: None,
        }
    }

    /// The code as the user should see it: the remote endpoint's own when
    /// the error came from one, else ours.
    pub fn code_str(&self) -> &str {
        match &self.origin {
            Some(o) => &o.code,
            None => self.code.as_str(),
        }
    }

    /// The HTTP status: the remote endpoint's when it sent one, else the
    /// one ESA pairs with the code.
    pub fn http_status(&self) -> u16 {
        match &self.origin {
            Some(o) => o.http_status,
            None => self.code.http_status(),
        }
    }

    /// The remote endpoint's RequestId, when the error came from one.
    pub fn request_id(&self) -> Option<&str> {
        self.origin.as_deref().map(|o| o.request_id.as_str())
    }

    /// An `InternalException` that says what failed; the detail is logged by
    /// the caller, the user sees the summary and the detail.
    pub fn internal(what: impl fmt::Display) -> Self {
        EsaError::new(ErrorCode::InternalException, what.to_string())
    }
}

impl From<crate::base::random::RandomUnavailable> for EsaError {
    fn from(e: crate::base::random::RandomUnavailable) -> Self {
        EsaError::internal(e)
    }
}

impl From<crate::base::clock::DateOutOfRange> for EsaError {
    /// A CA or CRL date past what X.509 can hold: the clock (a CA or CRL
    /// starts at "now") is set too far ahead for anything to be signed.
    fn from(e: crate::base::clock::DateOutOfRange) -> Self {
        EsaError::internal(format!(
            "the system clock is beyond what an X.509 date can hold: {e}; check the system clock (nothing was signed or changed)"
        ))
    }
}

/// Shorthand for service results.
pub type EsaResult<T> = Result<T, EsaError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_from_str() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code), "{code}");
        }
        assert_eq!(
            "Throttling.User".parse::<ErrorCode>(),
            Err(UnknownCode("Throttling.User".into()))
        );
        // Wire codes are exact: no case folding, no trimming.
        assert!("invalidparameter".parse::<ErrorCode>().is_err());
        assert!(" MissingSiteId".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
        }
    }

    #[test]
    fn http_status_follows_esa_error_table() {
        // The seed's table: the two Unauthorized codes are 403, every
        // other documented code (InternalException included) is 400.
        for code in ErrorCode::ALL {
            let want = match code.as_str() {
                "Unauthorized.InvalidToken" | "Unauthorized.InvalidTime" => 403,
                // Not an ESA code: the server's answer to an oversized body.
                "RequestEntityTooLarge" => 413,
                _ => 400,
            };
            assert_eq!(code.http_status(), want, "{code}");
        }
        assert_eq!(ErrorCode::InvalidToken.http_status(), 403);
        assert_eq!(ErrorCode::InvalidTime.http_status(), 403);
        assert_eq!(ErrorCode::InternalException.http_status(), 400);
        assert_eq!(ErrorCode::MissingSiteId.http_status(), 400);
    }

    #[test]
    fn a_remote_error_keeps_its_wire_code_status_and_request_id() {
        let mut e = EsaError::new(ErrorCode::InternalException, "slow down");
        assert_eq!(e.code_str(), "InternalException");
        assert_eq!(e.request_id(), None);
        e.origin = Some(Box::new(WireOrigin {
            code: "Throttling.User".into(),
            request_id: "R-1".into(),
            http_status: 429,
        }));
        assert_eq!(e.code_str(), "Throttling.User");
        assert_eq!(e.http_status(), 429);
        assert_eq!(e.request_id(), Some("R-1"));
    }
}
