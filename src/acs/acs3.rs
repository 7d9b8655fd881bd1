//! ACS3-HMAC-SHA256, as the new SDKs sign (wire reference §4): the
//! canonical request over the method, `/`, the canonical query, the signed
//! headers (the request's own `SignedHeaders` list) and the body's hash.

use aws_lc_rs::{digest, hmac};

use super::encode::{canonical_query, hex};
use super::{AuthError, RequestParts};

pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";
/// Headers a request must sign for the server to trust its date, nonce,
/// target and body.
pub const REQUIRED_SIGNED: [&str; 4] = [
    "host",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
];

pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

/// `Credential=..,SignedHeaders=..,Signature=..` after the algorithm.
#[derive(Debug)]
pub struct Authorization {
    pub credential: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub fn parse_authorization(value: &str) -> Result<Authorization, AuthError> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| {
            AuthError::Malformed("the Authorization scheme is not ACS3-HMAC-SHA256".into())
        })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        let Some((k, v)) = part.split_once('=') else {
            return Err(AuthError::Malformed(
                "an Authorization field has no '='".into(),
            ));
        };
        match k {
            "Credential" => credential = Some(v.to_owned()),
            "SignedHeaders" => signed = Some(v.to_owned()),
            "Signature" => signature = Some(v.to_owned()),
            _ => {}
        }
    }
    let missing = |f: &str| AuthError::Malformed(format!("the Authorization header has no {f}"));
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
    if signed_headers
        .iter()
        .any(|h| h.is_empty() || h.chars().any(|c| c.is_ascii_uppercase()))
    {
        return Err(AuthError::Malformed(
            "SignedHeaders must be lower-case names separated by ';'".into(),
        ));
    }
    Ok(Authorization {
        credential: credential
            .filter(|c| !c.is_empty())
            .ok_or_else(|| missing("Credential"))?,
        signed_headers,
        signature: signature
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("Signature"))?,
    })
}

/// The canonical request of `req` over the `signed` header names.
pub fn canonical_request(
    req: &RequestParts<'_>,
    signed: &[String],
    hashed_payload: &str,
) -> Result<String, AuthError> {
    let mut sorted: Vec<&String> = signed.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut headers = String::new();
    for name in &sorted {
        let mut values: Vec<&str> = req
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        if values.is_empty() {
            return Err(AuthError::Malformed(format!(
                "the signed header {name} is missing"
            )));
        }
        values.sort_unstable();
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }
    let names: Vec<&str> = sorted.iter().map(|s| s.as_str()).collect();
    Ok(format!(
        "{}\n/\n{}\n{}\n{}\n{}",
        req.method,
        canonical_query(req.query),
        headers,
        names.join(";"),
        hashed_payload
    ))
}

pub fn string_to_sign(canonical: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical.as_bytes()))
}

pub fn signature(secret: &str, string_to_sign: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hex(hmac::sign(&key, string_to_sign.as_bytes()).as_ref())
}

/// The client side: the headers to send, `authorization` last.
pub struct Acs3Signer<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
}

impl Acs3Signer<'_> {
    /// Signs a request to `/` with every header it returns (the Python
    /// SDK's choice: all headers present are signed).
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &self,
        method: &str,
        host: &str,
        action: &str,
        version: &str,
        query: &[(String, String)],
        body: &[u8],
        content_type: Option<&str>,
        date: &str,
        nonce: &str,
    ) -> Vec<(String, String)> {
        let hashed = sha256_hex(body);
        let mut headers: Vec<(String, String)> = vec![
            ("accept".into(), "application/json".into()),
            ("host".into(), host.into()),
            ("x-acs-action".into(), action.into()),
            ("x-acs-content-sha256".into(), hashed.clone()),
            ("x-acs-date".into(), date.into()),
            ("x-acs-signature-nonce".into(), nonce.into()),
            ("x-acs-version".into(), version.into()),
        ];
        if let Some(ct) = content_type {
            headers.push(("content-type".into(), ct.into()));
        }
        headers.sort();
        let names: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
        let parts = RequestParts {
            method,
            headers: &headers,
            query,
            form: &[],
            body,
        };
        // Every name is present, so this cannot fail.
        let canonical = canonical_request(&parts, &names, &hashed).unwrap_or_default();
        let sig = signature(self.secret, &string_to_sign(&canonical));
        headers.push((
            "authorization".into(),
            format!(
                "{ALGORITHM} Credential={},SignedHeaders={},Signature={sig}",
                self.access_key_id,
                names.join(";")
            ),
        ));
        headers
    }
}
