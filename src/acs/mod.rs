//! Alibaba Cloud request signatures, both ways: [`Verifier`] checks what
//! the official SDKs send (ACS3-HMAC-SHA256, and the V1 HMAC-SHA1 RPC
//! signature of `aliyun-python-sdk-core` and `@alicloud/pop-core`), and
//! [`Acs3Signer`] signs what the desk sends to a remote endpoint. The
//! contract and its test vectors: `shared/reference/esa-openapi-wire.md`
//! §4, §6 and §9.
//!
//! Order of the checks: parse, find the key, verify the signature (in
//! constant time), then the date window, then the nonce, so that unsigned
//! garbage can neither fill the nonce cache nor learn the server's clock.
//! A secret is never formatted: not in errors, not in `Debug`.

mod acs3;
mod encode;
mod nonce;
mod secret;
mod v1;

pub use acs3::{Acs3Signer, sha256_hex};
pub use encode::{canonical_query, percent_encode};
pub use nonce::{MAX_NONCES, NonceCache, NonceCheck};
pub use secret::read_secret_file;

use time::OffsetDateTime;
use time::macros::format_description;
use zeroize::Zeroizing;

use crate::error::ErrorCode;

/// What the verifier needs of a request, already taken apart by the HTTP
/// layer.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// Names as received (any case), values raw; repeated names allowed.
    pub headers: &'a [(String, String)],
    /// The URL query, form-decoded, in wire order.
    pub query: &'a [(String, String)],
    /// The form body, decoded (empty if none).
    pub form: &'a [(String, String)],
    /// The exact body bytes.
    pub body: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Acs3,
    V1,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    pub scheme: Scheme,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the request is not signed")]
    Missing,
    #[error("malformed signature: {0}")]
    Malformed(String),
    #[error("unknown AccessKeyId {0:?}")]
    UnknownKey(String),
    #[error("the signature does not match")]
    BadSignature { string_to_sign: String },
    #[error("x-acs-content-sha256 does not match the body")]
    BodyHash,
    #[error("{0} must be signed")]
    UnsignedRequired(&'static str),
    #[error("request time {request} is outside the window around {server}")]
    Time { request: String, server: String },
    #[error("the signature nonce was used before")]
    Replay,
}

impl AuthError {
    /// The ESA code: `Unauthorized.InvalidTime` for the date window, else
    /// `Unauthorized.InvalidToken`.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Time { .. } => ErrorCode::InvalidTime,
            _ => ErrorCode::InvalidToken,
        }
    }
}

/// Secrets by AccessKeyId.
pub trait SecretLookup: Send + Sync {
    fn secret(&self, access_key_id: &str) -> Option<Zeroizing<String>>;
}

pub struct Verifier<'k> {
    keys: &'k dyn SecretLookup,
    nonces: &'k NonceCache,
    window_secs: i64,
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the only date format the SDKs send.
pub fn parse_date(s: &str) -> Option<i64> {
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::PrimitiveDateTime::parse(s, f)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// `now` in the SDKs' date format.
pub fn format_date(unix: i64) -> String {
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(f).ok())
        .unwrap_or_default()
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

impl<'k> Verifier<'k> {
    pub fn new(keys: &'k dyn SecretLookup, nonces: &'k NonceCache, window_secs: i64) -> Self {
        Verifier {
            keys,
            nonces,
            window_secs,
        }
    }

    pub fn verify(&self, req: &RequestParts<'_>, now: i64) -> Result<Verified, AuthError> {
        let auth = req
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.trim());
        let param = |name: &str| {
            req.query
                .iter()
                .chain(req.form)
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        match auth {
            Some(a) if a.starts_with("ACS3-") => self.verify_acs3(req, a, now),
            Some(_) if param("Signature").is_none() => Err(AuthError::Malformed(
                "the Authorization scheme is not ACS3-HMAC-SHA256".into(),
            )),
            _ if param("Signature").is_some() => self.verify_v1(req, now),
            _ => Err(AuthError::Missing),
        }
    }

    fn verify_acs3(
        &self,
        req: &RequestParts<'_>,
        auth: &str,
        now: i64,
    ) -> Result<Verified, AuthError> {
        let a = acs3::parse_authorization(auth)?;
        for required in acs3::REQUIRED_SIGNED {
            if !a.signed_headers.iter().any(|h| h == required) {
                return Err(AuthError::UnsignedRequired(required));
            }
        }
        // The server routes by these: when present they must be signed,
        // or the action of a signed request could be swapped.
        for routed in ["x-acs-action", "x-acs-version"] {
            let present = req
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(routed));
            if present && !a.signed_headers.iter().any(|h| h == routed) {
                return Err(AuthError::UnsignedRequired(routed));
            }
        }
        let secret = self
            .keys
            .secret(&a.credential)
            .ok_or_else(|| AuthError::UnknownKey(a.credential.clone()))?;
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
        };
        let hashed = acs3::sha256_hex(req.body);
        let claimed = header("x-acs-content-sha256").unwrap_or_default();
        if !constant_time_eq(&claimed.to_ascii_lowercase(), &hashed) {
            return Err(AuthError::BodyHash);
        }
        let canonical = acs3::canonical_request(req, &a.signed_headers, &hashed)?;
        let sts = acs3::string_to_sign(&canonical);
        let expected = acs3::signature(&secret, &sts);
        if !constant_time_eq(&a.signature.to_ascii_lowercase(), &expected) {
            return Err(AuthError::BadSignature {
                string_to_sign: sts,
            });
        }
        let date = header("x-acs-date").unwrap_or_default();
        let nonce = header("x-acs-signature-nonce").unwrap_or_default();
        self.check_time_and_nonce(&a.credential, date, nonce, now)?;
        Ok(Verified {
            access_key_id: a.credential,
            scheme: Scheme::Acs3,
        })
    }

    fn verify_v1(&self, req: &RequestParts<'_>, now: i64) -> Result<Verified, AuthError> {
        let params: Vec<(&str, &str)> = req
            .query
            .iter()
            .chain(req.form)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let get = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let need = |name: &'static str| {
            get(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| AuthError::Malformed(format!("the {name} parameter is missing")))
        };
        if need("SignatureMethod")? != "HMAC-SHA1" {
            return Err(AuthError::Malformed(
                "SignatureMethod must be HMAC-SHA1".into(),
            ));
        }
        if need("SignatureVersion")? != "1.0" {
            return Err(AuthError::Malformed("SignatureVersion must be 1.0".into()));
        }
        let key_id = need("AccessKeyId")?.to_owned();
        let timestamp = need("Timestamp")?;
        let nonce = need("SignatureNonce")?;
        let given = need("Signature")?;
        if params.iter().filter(|(k, _)| *k == "Signature").count() > 1 {
            return Err(AuthError::Malformed("Signature is given twice".into()));
        }
        let secret = self
            .keys
            .secret(&key_id)
            .ok_or_else(|| AuthError::UnknownKey(key_id.clone()))?;
        let sts = v1::string_to_sign(req.method, &params);
        let expected = v1::signature(&secret, &sts);
        if !constant_time_eq(given, &expected) {
            return Err(AuthError::BadSignature {
                string_to_sign: sts,
            });
        }
        self.check_time_and_nonce(&key_id, timestamp, nonce, now)?;
        Ok(Verified {
            access_key_id: key_id,
            scheme: Scheme::V1,
        })
    }

    fn check_time_and_nonce(
        &self,
        key_id: &str,
        date: &str,
        nonce: &str,
        now: i64,
    ) -> Result<(), AuthError> {
        let when = parse_date(date).ok_or_else(|| {
            AuthError::Malformed("the request date is not YYYY-MM-DDTHH:MM:SSZ".into())
        })?;
        if (when - now).abs() > self.window_secs {
            return Err(AuthError::Time {
                request: date.to_owned(),
                server: format_date(now),
            });
        }
        if nonce.is_empty() || nonce.len() > 128 {
            return Err(AuthError::Malformed(
                "the signature nonce is empty or too long".into(),
            ));
        }
        match self.nonces.check_and_insert(key_id, nonce, now) {
            NonceCheck::Fresh => Ok(()),
            NonceCheck::Replay => Err(AuthError::Replay),
            NonceCheck::Full => Err(AuthError::Malformed(
                "too many signed requests within the window; try again later".into(),
            )),
        }
    }
}

#[cfg(test)]
mod captured;
#[cfg(test)]
mod tests;
