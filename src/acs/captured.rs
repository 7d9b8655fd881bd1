//! Requests captured from the official SDKs on this machine (Python
//! `alibabacloud-esa20240910` 3.16.0, `aliyun-python-sdk-core` 2.16.1 for
//! V1, npm `@alicloud/esa20240910` 2.43.0), byte for byte as they reached a
//! socket (`tests/data/sdk_captures.txt`, access key `testAKID` /
//! `testSecret`): each verifies at its own date, and a changed body or
//! query value is refused.

use std::collections::HashMap;

use super::*;

const CAPTURES: &str = include_str!("../../tests/data/sdk_captures.txt");

struct Keys(HashMap<String, String>);
impl SecretLookup for Keys {
    fn secret(&self, id: &str) -> Option<Zeroizing<String>> {
        self.0.get(id).map(|s| Zeroizing::new(s.clone()))
    }
}

#[derive(Debug, Clone)]
struct Captured {
    sdk: String,
    method: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse() -> Vec<Captured> {
    let mut out = Vec::new();
    let mut sdk = String::new();
    let mut lines = CAPTURES.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(title) = line.strip_prefix("===== ") {
            sdk = title.trim_end_matches(" =====").to_owned();
            continue;
        }
        let Some(request) = line.strip_prefix("----- ") else {
            continue;
        };
        let mut parts = request.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default();
        let query = target
            .split_once('?')
            .map(|(_, q)| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let mut headers = Vec::new();
        for h in lines.by_ref() {
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(": ").expect("a header line");
            headers.push((k.to_owned(), v.to_owned()));
        }
        let mut body = String::new();
        while let Some(l) = lines.peek() {
            if l.starts_with("----- ") || l.starts_with("===== ") {
                break;
            }
            if !body.is_empty() {
                body.push('\n');
            }
            body.push_str(l);
            lines.next();
        }
        out.push(Captured {
            sdk: sdk.clone(),
            method,
            query,
            headers,
            body: body.trim_end_matches('\n').as_bytes().to_vec(),
        });
    }
    out
}

fn header<'a>(c: &'a Captured, name: &str) -> Option<&'a str> {
    c.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The request's own date: `x-acs-date`, else V1's `Timestamp`.
fn date_of(c: &Captured) -> i64 {
    let raw = header(c, "x-acs-date")
        .map(str::to_owned)
        .or_else(|| {
            c.query
                .iter()
                .find(|(k, _)| k == "Timestamp")
                .map(|(_, v)| v.clone())
        })
        .expect("a date");
    parse_date(&raw).expect("an ISO 8601 date")
}

fn verify(c: &Captured) -> Result<Verified, AuthError> {
    let keys = Keys(HashMap::from([("testAKID".into(), "testSecret".into())]));
    let nonces = NonceCache::new(900);
    let form: Vec<(String, String)> = if header(c, "content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
    {
        form_urlencoded::parse(&c.body).into_owned().collect()
    } else {
        Vec::new()
    };
    Verifier::new(&keys, &nonces, 900).verify(
        &RequestParts {
            method: &c.method,
            headers: &c.headers,
            query: &c.query,
            form: &form,
            body: &c.body,
        },
        date_of(c),
    )
}

#[test]
fn every_captured_sdk_request_verifies_at_its_date() {
    let all = parse();
    assert_eq!(all.len(), 13, "the capture file changed");
    for sdk in [
        "alibabacloud-esa20240910",
        "aliyun-python-sdk-core",
        "@alicloud/esa20240910",
    ] {
        assert!(
            all.iter().any(|c| c.sdk.contains(sdk)),
            "no request of {sdk}"
        );
    }
    for c in &all {
        let v = verify(c).unwrap_or_else(|e| panic!("{} {} refused: {e:?}", c.sdk, c.method));
        assert_eq!(v.access_key_id, "testAKID");
        let expected = if c.sdk.contains("(V1)") {
            Scheme::V1
        } else {
            Scheme::Acs3
        };
        assert_eq!(v.scheme, expected, "{}", c.sdk);
    }
}

#[test]
fn a_captured_request_with_one_change_is_refused() {
    for c in parse() {
        if !c.body.is_empty() {
            let mut t = c.clone();
            let last = t.body.len() - 1;
            t.body[last] ^= 1;
            assert!(verify(&t).is_err(), "{}: a changed body verified", c.sdk);
        }
        if let Some(i) = c.query.iter().position(|(k, _)| k == "SiteId") {
            let mut t = c.clone();
            t.query[i].1.push('9');
            assert!(verify(&t).is_err(), "{}: a changed SiteId verified", c.sdk);
        }
    }
}
