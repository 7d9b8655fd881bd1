//! The ESA error model: every failure the service reports carries one of
//! ESA's error codes, so the CLI (text or JSON) and the TUI show the same
//! thing and scripts can branch on the code.

use std::fmt;

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
        }
    }

    /// The HTTP status ESA pairs with the code (all of ours are 400, as in
    /// ESA's table, including `InternalException`).
    pub fn http_status(self) -> u16 {
        400
    }

    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 15] = [
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
    ];
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
}

impl EsaError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        EsaError {
            code,
            message: message.into(),
        }
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

/// Shorthand for service results.
pub type EsaResult<T> = Result<T, EsaError>;
