//! The client against a scripted HTTP server on loopback: what goes on the
//! wire (signed so that our own verifier, tested against the SDK's
//! vectors, accepts it), what is retried, how answers and failures read.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::acs::{NonceCache, RequestParts, SecretLookup, Verifier};

const ID: &str = "testAKID";
const SECRET: &str = "testSecret";

/// A request as the fake server read it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn action(&self) -> &str {
        self.header("x-acs-action").unwrap_or_default()
    }
}

/// One scripted answer: status, extra headers, body.
type Script = dyn Fn(&Seen) -> (u16, Vec<(String, String)>, String) + Send + Sync;

struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// Serves `script` on 127.0.0.1 (one request per connection) until the
/// test ends.
fn fake(script: Box<Script>) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let target = parts.next().unwrap_or_default().to_owned();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let req = Seen {
                method,
                target,
                headers,
                body,
            };
            log.lock().unwrap().push(req.clone());
            let (status, extra, body) = script(&req);
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    Fake { url, seen }
}

fn config(endpoint: &str, keep: bool) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("ak");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let text = format!(
        "[store]\npath = \"store\"\n[[remote]]\nname = \"t\"\nendpoint = \"{endpoint}\"\n\
         access_key_id = \"{ID}\"\naccess_key_secret_file = \"ak\"\nkeep_private_keys = {keep}\n"
    );
    let cfg = crate::config::parse(&text, &dir.path().join("c.toml")).unwrap();
    (dir, cfg)
}

fn fast() -> OpenOptions {
    OpenOptions {
        timeouts: Timeouts {
            connect: Duration::from_millis(500),
            request: Duration::from_millis(800),
        },
        retry: RetryPolicy {
            base_delay: Duration::from_millis(10),
            ..RetryPolicy::default()
        },
    }
}

const SITES: &str = r#"{"RequestId":"S","TotalCount":1,"PageNumber":1,"PageSize":500,"Sites":[{"SiteId":7,"SiteName":"example.com","Status":"active"}]}"#;

struct Keys;
impl SecretLookup for Keys {
    fn secret(&self, id: &str) -> Option<Zeroizing<String>> {
        (id == ID).then(|| Zeroizing::new(SECRET.to_owned()))
    }
}

fn pairs(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[test]
fn requests_are_placed_and_signed_as_the_sdk_does() {
    let f = fake(Box::new(|r| {
        match r.action() {
        "ListSites" => (200, vec![], SITES.into()),
        "SetClientCertificateHostnames" => (
            200,
            vec![],
            r#"{"RequestId":"H","SiteId":7,"SiteName":"example.com","Id":"c","Hostnames":["a.example.com"]}"#.into(),
        ),
        _ => (
            200,
            vec![],
            r#"{"RequestId":"A","SiteId":7,"SiteName":"example.com","Id":"c","Hostnames":[]}"#.into(),
        ),
    }
    }));
    let (_d, cfg) = config(&f.url, false);
    let b = open_with(&cfg, "t", fast()).unwrap();
    b.set_certificate_hostnames(7, Some("c"), &["A.example.com".into()])
        .unwrap();
    b.ca_hostnames(7, None).unwrap();
    b.revoke(Some(7), "c", None).unwrap();

    let seen = f.seen.lock().unwrap().clone();
    let nonces = NonceCache::new(900);
    let now = crate::base::clock::now_seconds().unix_timestamp();
    for r in &seen {
        let (_, query) = r.target.split_once('?').unwrap_or((&r.target, ""));
        let query = pairs(query);
        let form = if r.header("content-type").is_some() {
            pairs(std::str::from_utf8(&r.body).unwrap())
        } else {
            Vec::new()
        };
        let parts = RequestParts {
            method: &r.method,
            headers: &r.headers,
            query: &query,
            form: &form,
            body: &r.body,
        };
        let v = Verifier::new(&Keys, &nonces, 900).verify(&parts, now);
        assert!(v.is_ok(), "{} not accepted: {v:?}", r.action());
        assert_eq!(r.header("x-acs-version"), Some("2024-09-10"));
        assert!(r.target.starts_with("/"), "{}", r.target);
    }
    let set = seen
        .iter()
        .find(|r| r.action() == "SetClientCertificateHostnames")
        .unwrap();
    assert_eq!(set.method, "POST");
    assert_eq!(set.target, "/?SiteId=7");
    // Hostnames as one compact JSON field, checked (lower-cased) first.
    assert_eq!(
        std::str::from_utf8(&set.body).unwrap(),
        "Hostnames=%5B%22a.example.com%22%5D&Id=c"
    );
    let get = seen
        .iter()
        .find(|r| r.action() == "GetClientCaCertificateHostnames")
        .unwrap();
    assert_eq!((get.method.as_str(), get.body.len()), ("POST", 0));
    assert!(get.header("content-type").is_none());
    let revoke = seen
        .iter()
        .find(|r| r.action() == "RevokeClientCertificate")
        .unwrap();
    assert_eq!(revoke.method, "GET");
    assert_eq!(revoke.target, "/?Id=c&SiteId=7");
    // Nothing secret on the wire but the signature.
    for r in &seen {
        let all = format!("{r:?}");
        assert!(!all.contains(SECRET));
    }
}

#[test]
fn a_create_is_sent_once_and_a_read_is_retried() {
    let f = fake(Box::new(|r| match r.action() {
        "ListSites" => (200, vec![], SITES.into()),
        _ => (
            503,
            vec![("x-acs-request-id".into(), "R-503".into())],
            r#"{"Code":"ServiceUnavailable","Message":"try later"}"#.into(),
        ),
    }));
    let (_d, cfg) = config(&f.url, false);
    let b = open_with(&cfg, "t", fast()).unwrap();
    let e = b
        .create(&CreateRequest {
            site_id: Some("7".into()),
            pkey_type: Some("ED25519".into()),
            ..CreateRequest::default()
        })
        .unwrap_err();
    assert_eq!(e.code_str(), "ServiceUnavailable");
    assert_eq!(e.http_status(), 503);
    assert_eq!(e.request_id(), Some("R-503"));
    let count = |a: &str| {
        f.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.action() == a)
            .count()
    };
    assert_eq!(
        count("CreateClientCertificate"),
        1,
        "a Create is never retried"
    );
    let create = f
        .seen
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.action() == "CreateClientCertificate")
        .cloned()
        .unwrap();
    assert_eq!(create.target, "/?SiteId=7");
    assert_eq!(
        std::str::from_utf8(&create.body).unwrap(),
        "PkeyType=ED25519&ValidityDays=365"
    );

    assert!(b.list_page(7, 1, 20).is_err());
    assert_eq!(
        count("ListClientCertificates"),
        3,
        "a read is tried three times"
    );
    assert!(b.revoke(Some(7), "c", None).is_err());
    assert_eq!(
        count("RevokeClientCertificate"),
        1,
        "a GET write is not retried"
    );
}

#[test]
fn throttling_waits_what_the_server_asks() {
    let tries = Arc::new(Mutex::new(0));
    let t = tries.clone();
    let f = fake(Box::new(move |_| {
        let mut n = t.lock().unwrap();
        *n += 1;
        if *n == 1 {
            (
                429,
                vec![("x-acs-retry-after".into(), "300".into())],
                r#"{"RequestId":"T","Code":"Throttling.User","Message":"slow down"}"#.into(),
            )
        } else {
            (200, vec![], SITES.into())
        }
    }));
    let (_d, cfg) = config(&f.url, false);
    let b = open_with(&cfg, "t", fast()).unwrap();
    let started = Instant::now();
    let rules = b.input_rules().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(rules.sites[0].id, 7);
    assert_eq!(*tries.lock().unwrap(), 2);
}

#[test]
fn a_silent_or_absent_server_is_unavailable_quickly() {
    // Accepts, reads, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let (_d, cfg) = config(&url, false);
    let b = open_with(&cfg, "t", fast()).unwrap();
    let started = Instant::now();
    let e = b.activate(Some(7), "c").unwrap_err();
    assert_eq!(e.code, ErrorCode::RemoteUnavailable);
    assert!(
        e.message.contains(&url) && e.message.contains("timed out"),
        "{}",
        e.message
    );
    assert!(e.message.contains("not retried"), "{}", e.message);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // Nothing listening: refused at once (reads tried three times).
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let (_d, cfg) = config(&url, false);
    let b = open_with(&cfg, "t", fast()).unwrap();
    let started = Instant::now();
    let e = b.input_rules().unwrap_err();
    assert_eq!(e.code, ErrorCode::RemoteUnavailable);
    assert!(
        e.message.contains("remote t (") && e.message.contains(&url),
        "{}",
        e.message
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_generated_key_is_kept_before_the_answer_is_read() {
    let created = r#"{"RequestId":"C","Id":"0123456789abcdef0123456789abcdef","Status":"active","Certificate":"-----BEGIN CERTIFICATE-----\n","PrivateKey":"-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n","CommonName":"c","ValidityDays":30,"CACertificateId":"ca"}"#;
    let f = fake(Box::new(move |r| match r.action() {
        "ListSites" => (200, vec![], SITES.into()),
        _ => (200, vec![], created.into()),
    }));
    let (d, cfg) = config(&f.url, true);
    let b = open_with(&cfg, "t", fast()).unwrap();
    let r = b
        .create(&CreateRequest {
            site_id: Some("7".into()),
            ..CreateRequest::default()
        })
        .unwrap();
    // A number where ESA documents a string is read as the string.
    assert_eq!(r.validity_days, "30");
    let path = d
        .path()
        .join("store/remotes/t/keys/0123456789abcdef0123456789abcdef.key");
    assert_eq!(b.kept_key_path(&r.id), Some(path.clone()));
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("PRIVATE KEY")
    );
    // The default key type goes out in ESA's documented spelling.
    let seen = f.seen.lock().unwrap();
    let create = seen
        .iter()
        .find(|r| r.action() == "CreateClientCertificate")
        .unwrap();
    assert!(
        std::str::from_utf8(&create.body)
            .unwrap()
            .starts_with("PkeyType=RSA&")
    );
}

#[test]
fn input_is_checked_before_anything_is_sent_and_names_are_checked() {
    let f = fake(Box::new(|_| (200, vec![], SITES.into())));
    let (_d, cfg) = config(&f.url, false);
    let e = open_with(&cfg, "nope", fast()).unwrap_err();
    assert!(e.message.contains("configured: t"), "{}", e.message);
    let b = open_with(&cfg, "t", fast()).unwrap();
    assert!(f.seen.lock().unwrap().is_empty(), "open sends nothing");
    for (req, code) in [
        (
            CreateRequest {
                site_id: Some("8".into()),
                ..CreateRequest::default()
            },
            ErrorCode::InvalidSiteId,
        ),
        (
            CreateRequest {
                site_id: Some("7".into()),
                validity_days: Some("0".into()),
                ..CreateRequest::default()
            },
            ErrorCode::InvalidValidityDays,
        ),
        (
            CreateRequest {
                site_id: Some("7".into()),
                csr: Some(b"not a csr".to_vec()),
                ..CreateRequest::default()
            },
            ErrorCode::InvalidCsr,
        ),
    ] {
        assert_eq!(b.create(&req).unwrap_err().code, code);
    }
    let e = b
        .set_ca_hostnames(7, None, &["evil.org".into()])
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidHostnames);
    let actions: Vec<String> = f
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.action().to_owned())
        .collect();
    assert_eq!(actions, ["ListSites"], "only the sites were asked for");
    // Local-only features say so.
    for e in [
        b.renew("c", None, false).unwrap_err(),
        b.crl_pem(7).unwrap_err(),
        b.private_key(Some(7), "c").unwrap_err(),
        b.revoke(Some(7), "c", Some(RevocationReason::KeyCompromise))
            .unwrap_err(),
    ] {
        assert_eq!(e.code, ErrorCode::Unsupported, "{}", e.message);
        assert!(e.message.contains("remote t ("), "{}", e.message);
    }
    let debug = format!("{b:?}");
    assert!(!debug.contains(SECRET) && debug.contains(ID), "{debug}");
}
