//! `esa-certs serve`: the ESA OpenAPI (2024-09-10, RPC style on `/`) over
//! the same [`Service`] as the CLI and the TUI, so the official Alibaba
//! Cloud SDKs drive this desk unmodified (see
//! `shared/reference/esa-openapi-wire.md`, the contract).
//!
//! hyper on tokio does the HTTP, rustls the TLS; the service's calls block
//! (the store's lock, key generation), so each runs on tokio's blocking
//! pool. Creates go to one committer thread that issues whatever has
//! queued up under one lock with one sync ([`committer`]).
//!
//! Safety rails: loopback unless TLS is on; no access key configured means
//! no start unless `--insecure-no-auth` on loopback; bodies over 1 MiB get
//! 413 without being read; headers must arrive within 10 s and a body
//! within 30 s; at most 1024 connections at once; every request logs its
//! action, AccessKeyId, remote address, status and time, never a secret.

mod auth;
mod committer;
mod dispatch;
mod params;

pub use dispatch::{Action, VERSION};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;

use crate::acs::{NonceCache, RequestParts};
use crate::api::wire::ErrorBody;
use crate::base::random;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::service::Service;
use crate::store::{Actor, with_actor};

use params::Params;

/// Largest request body read.
pub const MAX_BODY: usize = 1 << 20;
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
const TLS_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECTIONS: usize = 1024;
/// How long in-flight requests get to finish after SIGINT/SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The default address of `serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// How `serve` was asked to run (flags over the config's `[serve]`).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub insecure_no_auth: bool,
}

struct State {
    service: Arc<Service>,
    keys: auth::Keys,
    nonces: NonceCache,
    no_auth: bool,
    creates: committer::Committer,
}

/// Runs the server until SIGINT or SIGTERM; `on_listening` gets the bound
/// address once connections are accepted (the CLI prints it).
pub fn run(
    service: Arc<Service>,
    access_keys: &[crate::config::AccessKey],
    opts: &ServeOptions,
    on_listening: impl FnOnce(&str),
) -> EsaResult<()> {
    let keys = auth::Keys::load(access_keys)?;
    let loopback = opts.listen.ip().is_loopback();
    if !loopback && opts.tls.is_none() {
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            format!(
                "refusing to serve plain HTTP on {} (not a loopback address): give --tls-cert \
                 and --tls-key (or [serve] tls_cert/tls_key), or listen on 127.0.0.1",
                opts.listen
            ),
        ));
    }
    if keys.is_empty() && !opts.insecure_no_auth {
        return Err(EsaError::new(
            ErrorCode::InvalidConfig,
            "no [[access_key]] in the config: the server would accept anyone. Add one \
             (id and secret_file), or pass --insecure-no-auth on a loopback address",
        ));
    }
    if opts.insecure_no_auth && !loopback {
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            "--insecure-no-auth is allowed on a loopback address only",
        ));
    }
    let tls = match &opts.tls {
        Some((cert, key)) => Some(tls_acceptor(cert, key)?),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("esa-serve")
        .build()
        .map_err(|e| EsaError::internal(format!("cannot start the server runtime: {e}")))?;
    let state = Arc::new(State {
        creates: committer::Committer::start(service.clone())?,
        service,
        keys,
        nonces: NonceCache::new(auth::WINDOW_SECS),
        no_auth: opts.insecure_no_auth && access_keys.is_empty(),
    });
    runtime.block_on(serve(state, opts.listen, tls, on_listening))
}

fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> EsaResult<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, p: &std::path::Path, e: String| {
        EsaError::new(
            ErrorCode::InvalidParameter,
            format!("TLS {what} {}: {e}", p.display()),
        )
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("certificate", cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad("certificate", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(bad(
            "certificate",
            cert,
            "no certificate in the file".into(),
        ));
    }
    // The error of the PEM reader never quotes the key.
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|_| bad("key", key, "not a readable PEM private key".into()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EsaError::internal(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| bad("certificate and key", cert, e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn serve(
    state: Arc<State>,
    listen: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    on_listening: impl FnOnce(&str),
) -> EsaResult<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        EsaError::new(
            ErrorCode::InvalidParameter,
            format!("cannot listen on {listen}: {e}"),
        )
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| EsaError::internal(format!("listening socket: {e}")))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %local, scheme, "serving the ESA API");
    on_listening(&format!("{scheme}://{local}"));

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%remote, "too many connections; closing this one");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let st = state.clone();
        let svc = hyper::service::service_fn(move |req| handle(st.clone(), remote, req));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .keep_alive(true);
        match &tls {
            None => {
                let conn = http.serve_connection(TokioIo::new(tcp), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%remote, error = %e, "connection ended");
                    }
                    drop(permit);
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let stream = match tokio::time::timeout(TLS_TIMEOUT, acceptor.accept(tcp)).await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%remote, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%remote, "TLS handshake timed out");
                            return;
                        }
                    };
                    let conn = watcher.watch(http.serve_connection(TokioIo::new(stream), svc));
                    if let Err(e) = conn.await {
                        tracing::debug!(%remote, error = %e, "connection ended");
                    }
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish in time");
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {},
                _ = i.recv() => {},
            }
        }
        _ => {
            // Without signal handlers the process still stops on a signal,
            // just not gracefully.
            std::future::pending::<()>().await;
        }
    }
}

type Reply = Response<Full<Bytes>>;

async fn handle(
    st: Arc<State>,
    remote: SocketAddr,
    req: Request<Incoming>,
) -> Result<Reply, Infallible> {
    let started = Instant::now();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("esa-certs")
        .to_owned();
    let (outcome, action, key_id) = match answer(&st, remote, req).await {
        Ok((value, action, key_id)) => (Ok(value), Some(action), key_id),
        Err((e, action, key_id)) => (Err(e), action, key_id),
    };
    let reply = match outcome {
        Ok(value) => {
            let request_id = value
                .get("RequestId")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(random::new_request_id);
            tracing::info!(
                action = action.map(Action::as_str).unwrap_or("-"),
                access_key_id = key_id.as_deref().unwrap_or("-"),
                %remote, status = 200, request_id = %request_id,
                ms = started.elapsed().as_secs_f64() * 1e3, "api call"
            );
            json_reply(StatusCode::OK, &value, &request_id)
        }
        Err(e) => {
            let request_id = random::new_request_id();
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            tracing::info!(
                action = action.map(Action::as_str).unwrap_or("-"),
                access_key_id = key_id.as_deref().unwrap_or("-"),
                %remote, status = status.as_u16(), code = e.code_str(), request_id = %request_id,
                ms = started.elapsed().as_secs_f64() * 1e3, "api call refused"
            );
            let body = ErrorBody {
                request_id: request_id.clone(),
                code: e.code_str().to_owned(),
                message: e.message.clone(),
                host_id: host,
                recommend: recommend(e.code),
            };
            let value = serde_json::to_value(&body).unwrap_or(Value::Null);
            let mut reply = json_reply(status, &value, &request_id);
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                // The body was not read: the connection cannot be reused.
                reply
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            reply
        }
    };
    Ok(reply)
}

fn recommend(code: ErrorCode) -> Option<String> {
    let hint = match code {
        ErrorCode::InvalidTime => {
            "check the client's clock: a request is accepted within 15 minutes of the server's time"
        }
        ErrorCode::InvalidToken => {
            "check the AccessKeyId and secret against the server's [[access_key]] tables"
        }
        ErrorCode::InvalidAction => "see the README's list of actions of version 2024-09-10",
        ErrorCode::RequestTooLarge => "a request body is at most 1 MiB",
        _ => return None,
    };
    Some(hint.to_owned())
}

fn json_reply(status: StatusCode, value: &Value, request_id: &str) -> Reply {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    let h = reply.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-acs-request-id", v);
    }
    reply
}

type Failure = (EsaError, Option<Action>, Option<String>);

async fn answer(
    st: &Arc<State>,
    remote: SocketAddr,
    req: Request<Incoming>,
) -> Result<(Value, Action, Option<String>), Failure> {
    let fail = |e: EsaError| (e, None, None);
    let (head, body) = req.into_parts();
    if let Some(len) = head
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        && len > MAX_BODY as u64
    {
        return Err(fail(too_large()));
    }
    let body = match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect())
        .await
    {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(fail(too_large())),
        Ok(Err(e)) => {
            return Err(fail(EsaError::new(
                ErrorCode::InvalidParameter,
                format!("the request body could not be read: {e}"),
            )));
        }
        Err(_) => {
            return Err(fail(EsaError::new(
                ErrorCode::InvalidParameter,
                "the request body did not arrive within 30 seconds",
            )));
        }
    };
    let is_form = head
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form && !body.is_empty() {
        return Err(fail(EsaError::new(
            ErrorCode::InvalidParameter,
            "the body must be application/x-www-form-urlencoded",
        )));
    }
    let params = Params::decode(head.uri.query(), Some(&body)).map_err(fail)?;
    let mut headers: Vec<(String, String)> = Vec::with_capacity(head.headers.len());
    for (name, value) in &head.headers {
        let value = value.to_str().map_err(|_| {
            fail(EsaError::new(
                ErrorCode::InvalidParameter,
                format!("the header {name} is not ASCII text"),
            ))
        })?;
        headers.push((name.as_str().to_owned(), value.to_owned()));
    }
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };

    // Authentication first: an unsigned caller learns nothing else.
    // V1 signs parameters, not headers: its action and version are the
    // signed `Action`/`Version` parameters, never the unsigned headers.
    let mut v1 = false;
    let key_id = if st.no_auth {
        None
    } else {
        let parts = RequestParts {
            method: head.method.as_str(),
            headers: &headers,
            query: &params.query,
            form: &params.form,
            body: &body,
        };
        let now = crate::base::clock::now_seconds().unix_timestamp();
        let verified = auth::verify(&st.keys, &st.nonces, &parts, now).map_err(fail)?;
        v1 = verified.scheme == crate::acs::Scheme::V1;
        Some(verified.access_key_id)
    };
    let with_key = |e: EsaError| (e, None, key_id.clone());
    let action_name = (if v1 { None } else { header("x-acs-action") })
        .or_else(|| params.get("Action"))
        .ok_or_else(|| {
            with_key(EsaError::new(
                ErrorCode::InvalidAction,
                "no action: give the x-acs-action header or the Action parameter",
            ))
        })?;
    let action: Action = action_name.parse().map_err(with_key)?;
    let version =
        (if v1 { None } else { header("x-acs-version") }).or_else(|| params.get("Version"));
    if let Some(v) = version
        && v != VERSION
    {
        return Err((
            EsaError::new(
                ErrorCode::InvalidAction,
                format!(
                    "version {} is not served; this server speaks {VERSION}",
                    crate::text::quoted(&crate::text::clip(v, 20))
                ),
            ),
            Some(action),
            key_id,
        ));
    }
    let actor = Actor {
        access_key_id: key_id.clone().unwrap_or_default(),
        remote: remote.to_string(),
    };
    let svc = st.service.clone();
    let result = if action == Action::CreateClientCertificate {
        let req = dispatch::create_request(&params);
        let prepared = blocking(move || with_actor(Some(actor), || svc.prepare_create(&req))).await;
        match prepared {
            Ok(p) => st.creates.commit(p).await.and_then(|r| {
                serde_json::to_value(&r)
                    .map_err(|e| EsaError::internal(format!("response encoding: {e}")))
            }),
            Err(e) => Err(e),
        }
    } else {
        blocking(move || with_actor(Some(actor), || dispatch::call(&svc, action, &params))).await
    };
    match result {
        Ok(v) => Ok((v, action, key_id)),
        Err(e) => Err((e, Some(action), key_id)),
    }
}

fn too_large() -> EsaError {
    EsaError::new(
        ErrorCode::RequestTooLarge,
        format!("the request body is larger than {MAX_BODY} bytes"),
    )
}

/// Runs a blocking service call on tokio's blocking pool; a panic in it
/// becomes an InternalException for that request alone.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> EsaResult<T> + Send + 'static,
) -> EsaResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "a request handler failed");
            Err(EsaError::internal(
                "the request failed inside the server; nothing was changed",
            ))
        }
    }
}
