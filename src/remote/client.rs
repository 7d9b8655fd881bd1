//! One ESA endpoint over HTTP(S): RPC-style calls to `/` (the action and
//! version in `x-acs-action`/`x-acs-version`, parameters in the query or a
//! form body, as the official SDKs place them), each signed
//! ACS3-HMAC-SHA256 with a fresh date and nonce, through ureq on rustls
//! with aws-lc.
//!
//! Answers: a 2xx JSON body is the result; anything else becomes an
//! [`EsaError`] keeping the endpoint's Code, Message and RequestId
//! ([`super::wire_error`]). Transport failures are `Remote.Unavailable`
//! naming the endpoint. Only idempotent reads are retried ([`retry`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::credentials::Credentials;
use super::retry::{self, Outcome, RetryPolicy};
use super::wire_error::{self, HttpAnswer};
use crate::acs::{Acs3Signer, percent_encode};
use crate::api::wire::VERSION;
use crate::error::{ErrorCode, EsaError, EsaResult};

/// Largest response body read (a page of 100 certificates is ~250 KiB).
const MAX_RESPONSE_BYTES: u64 = 8 << 20;

/// How long a connection may take, and a whole request (connect, send,
/// answer, body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}

/// Where requests go: `esa.cn-hangzhou.aliyuncs.com` means
/// `https://esa.cn-hangzhou.aliyuncs.com/`; `http(s)://host:port` is used
/// as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// `host` or `host:port`: the URL's authority and the signed `host`.
    pub authority: String,
}

impl Endpoint {
    pub fn parse(raw: &str) -> EsaResult<Endpoint> {
        let raw = raw.trim();
        let (https, authority) = if let Some(rest) = raw.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = raw.strip_prefix("http://") {
            (false, rest)
        } else {
            (true, raw)
        };
        let authority = authority.trim_end_matches('/');
        if authority.is_empty()
            || authority.contains(['/', ' ', '?', '#', '@'])
            || authority.starts_with(':')
            || authority.ends_with(':')
        {
            return Err(EsaError::new(
                ErrorCode::InvalidConfig,
                format!(
                    "endpoint {} is not a host such as esa.cn-hangzhou.aliyuncs.com or \
                     http(s)://host:port",
                    crate::text::quoted(&crate::text::clip(raw, 80))
                ),
            ));
        }
        Ok(Endpoint {
            https,
            authority: authority.to_owned(),
        })
    }

    /// `https://host/`.
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}/",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One API call. `form: None` sends no body (and no Content-Type);
/// `Some` sends a form, possibly empty, as the SDKs do for POSTs with body
/// fields.
#[derive(Debug, Clone)]
pub struct Call {
    pub action: &'static str,
    pub method: Method,
    pub query: Vec<(&'static str, String)>,
    pub form: Option<Vec<(&'static str, String)>>,
}

impl Call {
    pub fn get(action: &'static str, query: Vec<(&'static str, String)>) -> Call {
        Call {
            action,
            method: Method::Get,
            query,
            form: None,
        }
    }

    pub fn post(
        action: &'static str,
        query: Vec<(&'static str, String)>,
        form: Option<Vec<(&'static str, String)>>,
    ) -> Call {
        Call {
            action,
            method: Method::Post,
            query,
            form,
        }
    }

    /// The form body: keys sorted (the SDKs' order), `application/x-www-
    /// form-urlencoded`.
    fn body(&self) -> Vec<u8> {
        let Some(form) = &self.form else {
            return Vec::new();
        };
        let mut pairs: Vec<&(&str, String)> = form.iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            ser.append_pair(k, v);
        }
        ser.finish().into_bytes()
    }
}

/// A successful answer: the JSON body and the endpoint's RequestId.
#[derive(Debug, Clone)]
pub struct Reply {
    pub body: Value,
    pub request_id: String,
}

/// A signed-request client for one endpoint.
pub struct Client {
    /// The `[[remote]]` name, for messages.
    name: String,
    endpoint: Endpoint,
    credentials: Credentials,
    agent: ureq::Agent,
    policy: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of `endpoint`, trusting the roots in `ca_file` (PEM)
    /// instead of the public ones when given.
    pub fn new(
        name: &str,
        endpoint: Endpoint,
        credentials: Credentials,
        ca_file: Option<&std::path::Path>,
        timeouts: Timeouts,
        policy: RetryPolicy,
    ) -> EsaResult<Client> {
        use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
        let roots = match ca_file {
            Some(path) => RootCerts::new_with_certs(&read_roots(name, path)?),
            None => RootCerts::WebPki,
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .root_certs(roots)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            // A signed request is never sent anywhere else.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("esa-certs/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(timeouts.connect))
            .timeout_global(Some(timeouts.request))
            .build()
            .new_agent();
        Ok(Client {
            name: name.to_owned(),
            endpoint,
            credentials,
            agent,
            policy,
        })
    }

    /// `remote NAME (URL)`, for messages.
    pub fn describe(&self) -> String {
        format!("remote {} ({})", self.name, self.endpoint.base_url())
    }

    /// Sends `call`, retrying it when [`retry::may_retry`] allows (reads
    /// only), and returns the answer's JSON.
    pub fn call(&self, call: &Call) -> EsaResult<Reply> {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let answer = self.attempt(call);
            let outcome = match &answer {
                Ok(a) => Outcome::of_status(a.status, a.retry_after),
                Err(t) => Outcome::Network {
                    retryable: t.retryable,
                },
            };
            match self
                .policy
                .next_delay(call.action, attempt, outcome, started.elapsed())
            {
                Some(delay) => {
                    tracing::info!(
                        action = call.action,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "retrying a read"
                    );
                    std::thread::sleep(delay);
                    attempt += 1;
                }
                None => {
                    return match answer {
                        Ok(a) => wire_error::into_reply(a, call.action, &self.describe()),
                        Err(t) => Err(self.unavailable(call, &t.message)),
                    };
                }
            }
        }
    }

    /// [`Client::call`], the body read as `T`.
    pub fn call_as<T: serde::de::DeserializeOwned>(&self, call: &Call) -> EsaResult<T> {
        let reply = self.call(call)?;
        serde_json::from_value(reply.body).map_err(|e| {
            EsaError::new(
                ErrorCode::RemoteUnavailable,
                format!(
                    "{}: the answer to {} is not in ESA's shape ({e}; RequestId {})",
                    self.describe(),
                    call.action,
                    reply.request_id
                ),
            )
        })
    }

    fn unavailable(&self, call: &Call, why: &str) -> EsaError {
        let tail = if retry::is_idempotent_read(call.action) {
            String::new()
        } else {
            // A write may have been carried out before the answer was lost.
            format!(
                "; {} is not retried automatically: it may or may not have been carried out, \
                 check with `esa-certs --remote {} list` or `show`",
                call.action, self.name
            )
        };
        EsaError::new(
            ErrorCode::RemoteUnavailable,
            format!(
                "{} did not answer {}: {why}{tail}",
                self.describe(),
                call.action
            ),
        )
    }

    /// One signed request; `Err` only for transport failures.
    fn attempt(&self, call: &Call) -> Result<HttpAnswer, Transport> {
        let query: Vec<(String, String)> = call
            .query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let body = call.body();
        let date = crate::acs::format_date(crate::base::clock::now_seconds().unix_timestamp());
        let nonce = crate::base::random::random_bytes::<16>()
            .map(|b| crate::text::hex(&b))
            .map_err(|e| Transport {
                message: e.to_string(),
                retryable: false,
            })?;
        let signer = Acs3Signer {
            access_key_id: self.credentials.access_key_id(),
            secret: self.credentials.secret(),
        };
        let headers = signer.sign(
            call.method.as_str(),
            &self.endpoint.authority,
            call.action,
            VERSION,
            &query,
            &body,
            call.form
                .as_ref()
                .map(|_| "application/x-www-form-urlencoded"),
            &date,
            &nonce,
        );
        let mut url = self.endpoint.base_url();
        if !query.is_empty() {
            url.push('?');
            let encoded: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect();
            url.push_str(&encoded.join("&"));
        }
        let result = match call.method {
            Method::Get => {
                let mut req = self.agent.get(&url);
                for (k, v) in &headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                req.call()
            }
            Method::Post => {
                let mut req = self.agent.post(&url);
                for (k, v) in &headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                req.send(&body[..])
            }
        };
        let mut response = result.map_err(Transport::from)?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status().as_u16();
        let request_id = header("x-acs-request-id");
        let retry_after = header("x-acs-retry-after").and_then(|v| retry::parse_retry_after(&v));
        let date = header("date");
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(Transport::from)?;
        Ok(HttpAnswer {
            status,
            request_id,
            retry_after,
            date,
            body,
        })
    }
}

/// A failure to exchange a request at all.
#[derive(Debug)]
struct Transport {
    message: String,
    /// A network failure that may pass (refused, reset, timed out); not a
    /// TLS verification failure or a bad URL, which would fail again.
    retryable: bool,
}

impl From<ureq::Error> for Transport {
    fn from(e: ureq::Error) -> Self {
        use ureq::Error as E;
        let retryable = matches!(
            e,
            E::Io(_)
                | E::Timeout(_)
                | E::HostNotFound
                | E::ConnectionFailed
                | E::Protocol(_)
                | E::BodyStalled
        );
        let message = match &e {
            E::Timeout(t) => format!("timed out ({t})"),
            E::Rustls(r) => {
                format!("TLS: {r} (for a private root, set ca_file in the [[remote]] table)")
            }
            other => other.to_string(),
        };
        Transport { message, retryable }
    }
}

/// The certificates of a `ca_file` (PEM), as ureq's roots.
fn read_roots(
    name: &str,
    path: &std::path::Path,
) -> EsaResult<Vec<ureq::tls::Certificate<'static>>> {
    let bad = |why: String| {
        EsaError::new(
            ErrorCode::InvalidConfig,
            format!("remote {name}: ca_file {}: {why}", path.display()),
        )
    };
    let text = crate::base::fs::read_limited(path, 1 << 20).map_err(|e| bad(e.to_string()))?;
    let mut roots = Vec::new();
    for item in ureq::tls::parse_pem(text.as_bytes()) {
        match item.map_err(|e| bad(e.to_string()))? {
            ureq::tls::PemItem::Certificate(c) => roots.push(c),
            _ => return Err(bad("holds something other than certificates".into())),
        }
    }
    if roots.is_empty() {
        return Err(bad("no PEM certificate in the file".into()));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_a_host_or_a_url() {
        let e = Endpoint::parse("esa.cn-hangzhou.aliyuncs.com").unwrap();
        assert_eq!(
            (e.https, e.authority.as_str(), e.base_url().as_str()),
            (
                true,
                "esa.cn-hangzhou.aliyuncs.com",
                "https://esa.cn-hangzhou.aliyuncs.com/"
            )
        );
        let e = Endpoint::parse("http://127.0.0.1:8787/").unwrap();
        assert_eq!((e.https, e.authority.as_str()), (false, "127.0.0.1:8787"));
        let e = Endpoint::parse("https://esa.local:8443").unwrap();
        assert_eq!(e.base_url(), "https://esa.local:8443/");
        for bad in ["", "http://", "ftp://x", "host/path", "a b", "u@host"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_form_body_is_sorted_and_form_encoded() {
        let c = Call::post(
            "SetClientCaCertificateHostnames",
            vec![("SiteId", "1".into())],
            Some(vec![
                ("Id", "a b".into()),
                ("Hostnames", "[\"a.example.com\"]".into()),
            ]),
        );
        assert_eq!(
            String::from_utf8(c.body()).unwrap(),
            "Hostnames=%5B%22a.example.com%22%5D&Id=a+b"
        );
        assert!(Call::get("GetClientCertificate", vec![]).body().is_empty());
    }
}
