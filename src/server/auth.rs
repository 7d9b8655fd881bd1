//! Who may call: the `[[access_key]]` tables of the config, their secrets
//! read once at start from files that must be private (0600), and the
//! signature check of every request ([`crate::acs`]: ACS3-HMAC-SHA256 and
//! the V1 HMAC-SHA1 RPC signature, a 15-minute window, nonces refused the
//! second time within it).

use std::collections::HashMap;
use zeroize::Zeroizing;

use crate::acs::{AuthError, NonceCache, RequestParts, SecretLookup, Verified, Verifier};
use crate::config::AccessKey;
use crate::error::{ErrorCode, EsaError, EsaResult};

/// How far a request's date may be from the server's clock (ESA's).
pub const WINDOW_SECS: i64 = 15 * 60;

/// The accepted keys, by AccessKeyId.
pub struct Keys {
    secrets: HashMap<String, Zeroizing<String>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<_> = self.secrets.keys().collect();
        ids.sort();
        f.debug_struct("Keys")
            .field("ids", &ids)
            .finish_non_exhaustive()
    }
}

impl SecretLookup for Keys {
    fn secret(&self, access_key_id: &str) -> Option<Zeroizing<String>> {
        self.secrets.get(access_key_id).cloned()
    }
}

impl Keys {
    /// Reads every key's secret file: a regular file, not readable or
    /// writable by group or others, one line (a trailing newline is
    /// stripped). An error names the file, never its content.
    pub fn load(keys: &[AccessKey]) -> EsaResult<Keys> {
        let mut secrets = HashMap::new();
        for k in keys {
            let path = &k.secret_file;
            let bad = |why: String| {
                EsaError::new(
                    ErrorCode::InvalidConfig,
                    format!("access key {}: secret_file {}: {why}", k.id, path.display()),
                )
            };
            let secret = crate::acs::read_secret_file(path).map_err(bad)?;
            secrets.insert(k.id.clone(), secret);
        }
        Ok(Keys { secrets })
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

/// Checks one request's signature; the error is ESA's (403).
pub fn verify(
    keys: &Keys,
    nonces: &NonceCache,
    parts: &RequestParts<'_>,
    now: i64,
) -> EsaResult<Verified> {
    Verifier::new(keys, nonces, WINDOW_SECS)
        .verify(parts, now)
        .map_err(|e| auth_error(&e))
}

fn auth_error(e: &AuthError) -> EsaError {
    let message = match e {
        AuthError::Missing => "the request is not signed: no Authorization header and no \
                               Signature parameter"
            .to_owned(),
        AuthError::Malformed(why) => format!("the signature is malformed: {why}"),
        AuthError::UnknownKey(id) => format!(
            "the AccessKeyId {} is not one of this server's [[access_key]] ids",
            crate::text::quoted(&crate::text::clip(id, 64))
        ),
        AuthError::BadSignature { string_to_sign } => format!(
            "Specified signature is not matched with our calculation. server string to sign \
             is:{string_to_sign}"
        ),
        AuthError::BodyHash => "x-acs-content-sha256 does not match the body".to_owned(),
        AuthError::UnsignedRequired(h) => format!("the header {h} must be signed"),
        AuthError::Time { request, server } => format!(
            "the request time {request} is more than 15 minutes from the server's time {server}"
        ),
        AuthError::Replay => "the signature nonce was already used within the last 15 minutes \
                              (a replayed request)"
            .to_owned(),
    };
    EsaError::new(e.code(), message)
}
