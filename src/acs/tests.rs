//! The wire reference's worked examples (§4.1 and §6), and tampered copies
//! of them, each refused for the right reason.

use std::collections::HashMap;

use super::*;

const NOW: i64 = 1_735_689_600; // 2025-01-01T00:00:00Z
const UA: &str = "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2";
const SECRET: &str = "testSecret";

struct Keys(HashMap<String, String>);
impl SecretLookup for Keys {
    fn secret(&self, id: &str) -> Option<Zeroizing<String>> {
        self.0.get(id).map(|s| Zeroizing::new(s.clone()))
    }
}
fn keys() -> Keys {
    Keys(HashMap::from([("testAKID".to_owned(), SECRET.to_owned())]))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const SIGNED1: &str = "accept;content-type;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version";

fn vector1_headers() -> Vec<(String, String)> {
    pairs(&[
        ("Host", "127.0.0.1:8080"),
        ("accept", "application/json"),
        ("content-type", "application/x-www-form-urlencoded"),
        ("user-agent", UA),
        ("x-acs-action", "CreateClientCertificate"),
        (
            "x-acs-content-sha256",
            "83b91f6d7bda1857a1ff3047bd4bd75ae7c10e87a359e2d52295d78d128bc04d",
        ),
        ("x-acs-credentials-provider", "static_ak"),
        ("x-acs-date", "2025-01-01T00:00:00Z"),
        ("x-acs-signature-nonce", "0123456789abcdef0123456789abcdef"),
        ("x-acs-version", "2024-09-10"),
        (
            "Authorization",
            &format!(
                "ACS3-HMAC-SHA256 Credential=testAKID,SignedHeaders={SIGNED1},Signature=88a6ec2031f4f0fc9ace5f699ae43ee74c14d1e157e93a4a02248310dd470ec3"
            ),
        ),
        ("Content-Length", "33"),
    ])
}

const BODY1: &[u8] = b"PkeyType=RSA2048&ValidityDays=365";

fn verify(
    method: &str,
    headers: &[(String, String)],
    query: &[(String, String)],
    form: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Result<Verified, AuthError> {
    let k = keys();
    let nonces = NonceCache::new(900);
    Verifier::new(&k, &nonces, 900).verify(
        &RequestParts {
            method,
            headers,
            query,
            form,
            body,
        },
        now,
    )
}

fn v1_form() -> Vec<(String, String)> {
    pairs(&[("PkeyType", "RSA2048"), ("ValidityDays", "365")])
}

#[test]
fn acs3_vector_1_canonical_request_and_signature() {
    let headers = vector1_headers();
    let query = pairs(&[("SiteId", "123")]);
    let signed: Vec<String> = SIGNED1.split(';').map(str::to_owned).collect();
    let parts = RequestParts {
        method: "POST",
        headers: &headers,
        query: &query,
        form: &v1_form(),
        body: BODY1,
    };
    let canonical = acs3::canonical_request(&parts, &signed, &sha256_hex(BODY1)).unwrap();
    assert!(canonical.starts_with("POST\n/\nSiteId=123\naccept:application/json\n"));
    assert!(canonical.contains("x-acs-version:2024-09-10\n\naccept;content-type;"));
    let sts = acs3::string_to_sign(&canonical);
    assert_eq!(
        sts,
        "ACS3-HMAC-SHA256\n1c56b4a12f9bf87aeaa98b5d28de6f5fddb452ae0744d60c527ac82771dfd92b"
    );
    assert_eq!(
        acs3::signature(SECRET, &sts),
        "88a6ec2031f4f0fc9ace5f699ae43ee74c14d1e157e93a4a02248310dd470ec3"
    );
    let ok = verify("POST", &headers, &query, &v1_form(), BODY1, NOW).unwrap();
    assert_eq!(
        ok,
        Verified {
            access_key_id: "testAKID".into(),
            scheme: Scheme::Acs3
        }
    );
}

#[test]
fn acs3_vector_2_get() {
    let signed = "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version";
    let headers = pairs(&[
        ("host", "127.0.0.1:8080"),
        ("accept", "application/json"),
        ("user-agent", UA),
        ("x-acs-action", "GetClientCertificate"),
        (
            "x-acs-content-sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        ("x-acs-credentials-provider", "static_ak"),
        ("x-acs-date", "2025-01-01T00:00:00Z"),
        ("x-acs-signature-nonce", "fedcba9876543210fedcba9876543210"),
        ("x-acs-version", "2024-09-10"),
        (
            "authorization",
            &format!(
                "ACS3-HMAC-SHA256 Credential=testAKID,SignedHeaders={signed},Signature=e0c7a2da16c7dc0cabecfb6312aeb351e09cbe85a4d391b22ef52c3b8a8bc1cb"
            ),
        ),
    ]);
    let query = pairs(&[("Id", "cid"), ("SiteId", "123")]);
    let names: Vec<String> = signed.split(';').map(str::to_owned).collect();
    let parts = RequestParts {
        method: "GET",
        headers: &headers,
        query: &query,
        form: &[],
        body: b"",
    };
    let canonical = acs3::canonical_request(&parts, &names, &sha256_hex(b"")).unwrap();
    assert_eq!(
        sha256_hex(canonical.as_bytes()),
        "f9ec59b0351264b338e393a32eb2ec6d5b0e06606ab925a9b732c0b34602a09d"
    );
    verify("GET", &headers, &query, &[], b"", NOW).unwrap();
}

#[test]
fn acs3_tampered_copies_are_refused() {
    let query = pairs(&[("SiteId", "123")]);
    let form = v1_form();
    let base = vector1_headers();
    let set = |name: &str, value: &str| {
        let mut h = base.clone();
        for (k, v) in &mut h {
            if k.eq_ignore_ascii_case(name) {
                *v = value.to_owned();
            }
        }
        h
    };
    // A signed header changed.
    let e = verify(
        "POST",
        &set("x-acs-action", "DeleteClientCertificate"),
        &query,
        &form,
        BODY1,
        NOW,
    )
    .unwrap_err();
    assert!(matches!(e, AuthError::BadSignature { .. }), "{e:?}");
    // A body byte changed: the body hash no longer matches.
    let e = verify(
        "POST",
        &base,
        &query,
        &form,
        b"PkeyType=RSA2048&ValidityDays=366",
        NOW,
    )
    .unwrap_err();
    assert_eq!(e, AuthError::BodyHash);
    // A query value changed.
    let e = verify(
        "POST",
        &base,
        &pairs(&[("SiteId", "124")]),
        &form,
        BODY1,
        NOW,
    )
    .unwrap_err();
    assert!(matches!(e, AuthError::BadSignature { .. }));
    // The date changed (still inside the window).
    let e = verify(
        "POST",
        &set("x-acs-date", "2025-01-01T00:00:01Z"),
        &query,
        &form,
        BODY1,
        NOW,
    )
    .unwrap_err();
    assert!(matches!(e, AuthError::BadSignature { .. }));
    // The method changed.
    let e = verify("PUT", &base, &query, &form, BODY1, NOW).unwrap_err();
    assert!(matches!(e, AuthError::BadSignature { .. }));
    // Out of the 15-minute window: InvalidTime (403).
    let e = verify("POST", &base, &query, &form, BODY1, NOW + 901).unwrap_err();
    assert!(matches!(e, AuthError::Time { .. }));
    assert_eq!(e.code(), ErrorCode::InvalidTime);
    assert!(verify("POST", &base, &query, &form, BODY1, NOW - 899).is_ok());
    // A wrong secret.
    let wrong = Keys(HashMap::from([(
        "testAKID".to_owned(),
        "otherSecret".to_owned(),
    )]));
    let nonces = NonceCache::new(900);
    let e = Verifier::new(&wrong, &nonces, 900)
        .verify(
            &RequestParts {
                method: "POST",
                headers: &base,
                query: &query,
                form: &form,
                body: BODY1,
            },
            NOW,
        )
        .unwrap_err();
    assert!(matches!(e, AuthError::BadSignature { .. }));
    // An unknown key, no signature at all, another scheme.
    let auth = base
        .iter()
        .find(|(k, _)| k == "Authorization")
        .unwrap()
        .1
        .replace("testAKID", "nobody");
    let e = verify(
        "POST",
        &set("Authorization", &auth),
        &query,
        &form,
        BODY1,
        NOW,
    )
    .unwrap_err();
    assert_eq!(e, AuthError::UnknownKey("nobody".into()));
    let unsigned: Vec<_> = base
        .iter()
        .filter(|(k, _)| k != "Authorization")
        .cloned()
        .collect();
    assert_eq!(
        verify("POST", &unsigned, &query, &form, BODY1, NOW).unwrap_err(),
        AuthError::Missing
    );
    assert!(matches!(
        verify(
            "POST",
            &set("Authorization", "Basic eA=="),
            &query,
            &form,
            BODY1,
            NOW
        ),
        Err(AuthError::Malformed(_))
    ));
    // A routed header present but left out of SignedHeaders.
    let no_action = auth
        .replace("nobody", "testAKID")
        .replace("x-acs-action;", "");
    let e = verify(
        "POST",
        &set("Authorization", &no_action),
        &query,
        &form,
        BODY1,
        NOW,
    )
    .unwrap_err();
    assert_eq!(e, AuthError::UnsignedRequired("x-acs-action"));
    // SignedHeaders that leave out the date.
    let auth = auth
        .replace("nobody", "testAKID")
        .replace("x-acs-date;", "");
    let e = verify(
        "POST",
        &set("Authorization", &auth),
        &query,
        &form,
        BODY1,
        NOW,
    )
    .unwrap_err();
    assert_eq!(e, AuthError::UnsignedRequired("x-acs-date"));
    for e in [
        AuthError::BadSignature {
            string_to_sign: "x".into(),
        },
        AuthError::UnknownKey("testAKID".into()),
    ] {
        assert!(!format!("{e} {e:?}").contains(SECRET));
        assert_eq!(e.code(), ErrorCode::InvalidToken);
    }
}

#[test]
fn a_nonce_is_accepted_once() {
    let k = keys();
    let nonces = NonceCache::new(900);
    let headers = vector1_headers();
    let query = pairs(&[("SiteId", "123")]);
    let form = v1_form();
    let parts = RequestParts {
        method: "POST",
        headers: &headers,
        query: &query,
        form: &form,
        body: BODY1,
    };
    let v = Verifier::new(&k, &nonces, 900);
    assert!(v.verify(&parts, NOW).is_ok());
    assert_eq!(v.verify(&parts, NOW + 1).unwrap_err(), AuthError::Replay);
}

#[test]
fn the_signer_reproduces_itself_through_the_verifier() {
    let query = pairs(&[("Id", "a b/c"), ("SiteId", "7")]);
    let body = b"Hostnames=%5B%5D";
    let headers = Acs3Signer {
        access_key_id: "testAKID",
        secret: SECRET,
    }
    .sign(
        "POST",
        "127.0.0.1:9",
        "SetClientCertificateHostnames",
        "2024-09-10",
        &query,
        body,
        Some("application/x-www-form-urlencoded"),
        &format_date(NOW),
        "nonce-1",
    );
    let form = pairs(&[("Hostnames", "[]")]);
    let ok = verify("POST", &headers, &query, &form, body, NOW + 5).unwrap();
    assert_eq!(ok.scheme, Scheme::Acs3);
}

fn v1_query() -> Vec<(String, String)> {
    pairs(&[
        ("SiteId", "123"),
        ("PkeyType", "RSA2048"),
        ("ValidityDays", "365"),
        ("Version", "2024-09-10"),
        ("Action", "CreateClientCertificate"),
        ("Format", "JSON"),
        ("RegionId", "cn-hangzhou"),
        ("Timestamp", "2025-01-01T00:00:00Z"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureType", ""),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "11111111-2222-3333-4444-555555555555"),
        ("AccessKeyId", "testAKID"),
        ("Signature", "XruvsaSBcp4fXTAElsvk66Ewd/8="),
    ])
}

#[test]
fn v1_vector_and_tampered_copies() {
    let q = v1_query();
    let params: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let sts = v1::string_to_sign("POST", &params);
    assert_eq!(
        sts,
        "POST&%2F&AccessKeyId%3DtestAKID%26Action%3DCreateClientCertificate%26Format%3DJSON%26PkeyType%3DRSA2048%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D11111111-2222-3333-4444-555555555555%26SignatureType%3D%26SignatureVersion%3D1.0%26SiteId%3D123%26Timestamp%3D2025-01-01T00%253A00%253A00Z%26ValidityDays%3D365%26Version%3D2024-09-10"
    );
    assert_eq!(v1::signature(SECRET, &sts), "XruvsaSBcp4fXTAElsvk66Ewd/8=");
    let ok = verify("POST", &[], &q, &[], b"", NOW).unwrap();
    assert_eq!(ok.scheme, Scheme::V1);
    // The same parameters split between query and body verify the same
    // (V1 signs body parameters too); moving one changes nothing.
    let (body, query): (Vec<_>, Vec<_>) = q.iter().cloned().partition(|(k, _)| k == "ValidityDays");
    assert!(verify("POST", &[], &query, &body, b"", NOW).is_ok());
    let change = |name: &str, value: &str| {
        q.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if k == name {
                        value.to_owned()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    for (name, value) in [
        ("ValidityDays", "366"),
        ("Action", "DeleteClientCertificate"),
        ("Timestamp", "2025-01-01T00:00:01Z"),
    ] {
        let e = verify("POST", &[], &change(name, value), &[], b"", NOW).unwrap_err();
        assert!(matches!(e, AuthError::BadSignature { .. }), "{name}: {e:?}");
    }
    let e = verify("GET", &[], &q, &[], b"", NOW).unwrap_err();
    assert!(matches!(e, AuthError::BadSignature { .. }));
    assert!(matches!(
        verify("POST", &[], &q, &[], b"", NOW + 3600).unwrap_err(),
        AuthError::Time { .. }
    ));
    let e = verify("POST", &[], &change("AccessKeyId", "nobody"), &[], b"", NOW).unwrap_err();
    assert_eq!(e, AuthError::UnknownKey("nobody".into()));
    let e = verify(
        "POST",
        &[],
        &change("SignatureMethod", "HMAC-SHA256"),
        &[],
        b"",
        NOW,
    )
    .unwrap_err();
    assert!(matches!(e, AuthError::Malformed(_)));
}
