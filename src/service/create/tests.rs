use super::*;
use crate::config;
use time::Duration;

#[test]
fn an_expired_ca_is_named_as_such() {
    let now = clock::now_seconds();
    for end in [now - Duration::days(3), now + Duration::hours(5)] {
        let e = check_against_ca(now, 1, end).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidValidityDays);
        assert!(e.message.contains("cannot sign"), "{}", e.message);
    }
    let e = check_against_ca(now, 30, now + Duration::days(10)).unwrap_err();
    assert!(e.message.contains("at most 10 days"), "{}", e.message);
}

fn service(extra: &str) -> (tempfile::TempDir, Service) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[store]\npath = \"store\"\n[ca]\nvalidity_days = 100\n[[site]]\nid = 1\nname = \"a.example\"\n{extra}"
    );
    let cfg = config::parse(&text, &dir.path().join("config.toml")).unwrap();
    (dir, Service::open(cfg).unwrap())
}

fn req(site: &str, days: &str, key: &str) -> CreateRequest {
    CreateRequest {
        site_id: Some(site.into()),
        validity_days: Some(days.into()),
        pkey_type: Some(key.into()),
        ..Default::default()
    }
}

#[test]
fn input_rules_give_esa_codes() {
    let (_d, s) = service("");
    let code = |r: CreateRequest| s.create(&r).unwrap_err().code;
    assert_eq!(code(CreateRequest::default()), ErrorCode::MissingSiteId);
    assert_eq!(code(req("", "1", "ECC")), ErrorCode::MissingSiteId);
    assert_eq!(code(req("2", "1", "ECC")), ErrorCode::InvalidSiteId);
    assert_eq!(code(req("x", "1", "ECC")), ErrorCode::InvalidSiteId);
    for d in ["0", "-1", "3651", "1.5", "ten", ""] {
        assert_eq!(
            code(req("1", d, "ECC")),
            ErrorCode::InvalidValidityDays,
            "{d}"
        );
    }
    assert_eq!(code(req("1", "10", "DSA")), ErrorCode::InvalidPkeyType);
    let mut r = req("1", "10", "ECC");
    r.csr = Some(b"garbage".to_vec());
    assert_eq!(code(r), ErrorCode::InvalidCsr);
    let mut r = req("1", "10", "ECC");
    r.common_name = Some("x".repeat(65));
    assert_eq!(code(r), ErrorCode::InvalidCommonName);
    let mut r = req("1", "10", "ECC");
    r.name = Some("a\x07b".into());
    assert_eq!(code(r), ErrorCode::InvalidName);
}

#[test]
fn validity_cannot_pass_the_ca() {
    let (_d, s) = service("");
    // The CA of this config lives 100 days.
    let e = s.create(&req("1", "101", "ECC")).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidValidityDays);
    assert!(e.message.contains("at most 100 days"), "{}", e.message);
    // The CA now exists; the fast path refuses too.
    assert_eq!(
        s.create(&req("1", "101", "ECC")).unwrap_err().code,
        ErrorCode::InvalidValidityDays
    );
    assert!(s.create(&req("1", "100", "ECC")).is_ok());
}

#[test]
fn default_common_name_is_the_id_and_defaults_apply() {
    let (_d, s) = service("");
    let r = s
        .create(&CreateRequest {
            site_id: Some("1".into()),
            pkey_type: Some("ed25519".into()),
            validity_days: Some("30".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.common_name, r.id);
    assert_eq!(r.signature_algorithm, "ECDSA-SHA256");
    assert_eq!(r.validity_days, "30");
    assert!(
        r.private_key
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let info = pki::inspect_pem(&r.certificate).unwrap();
    assert_eq!(info.serial_hex, r.serial_number);
    assert_eq!(info.fingerprint_sha256, r.fingerprint_sha256);
    assert_eq!((info.not_after - info.not_before).whole_days(), 30);
}

#[test]
fn quota_counts_live_certificates() {
    let (_d, s) = service("max_client_certificates = 1\n");
    let first = s.create(&req("1", "10", "ECC")).unwrap();
    let e = s.create(&req("1", "10", "ECC")).unwrap_err();
    assert_eq!(e.code, ErrorCode::QuotaCheckFailed);
    // Revoked still counts; deleted does not.
    s.revoke(&first.id, None).unwrap();
    assert_eq!(
        s.create(&req("1", "10", "ECC")).unwrap_err().code,
        ErrorCode::QuotaCheckFailed
    );
    s.delete(&first.id).unwrap();
    assert!(s.create(&req("1", "10", "ECC")).is_ok());
}

#[test]
fn status_rules() {
    let (_d, s) = service("");
    let c = s.create(&req("1", "10", "ECC")).unwrap();
    let code = |r: EsaResult<crate::api::StatusChangeResponse>| r.unwrap_err().code;
    assert_eq!(code(s.activate(&c.id)), ErrorCode::StatusError);
    assert_eq!(code(s.delete(&c.id)), ErrorCode::StatusError);
    s.revoke(&c.id, Some(pki::RevocationReason::KeyCompromise))
        .unwrap();
    assert_eq!(code(s.revoke(&c.id, None)), ErrorCode::StatusError);
    s.activate(&c.id).unwrap();
    s.revoke(&c.id, None).unwrap();
    s.delete(&c.id).unwrap();
    assert_eq!(code(s.delete(&c.id)), ErrorCode::InvalidId);
    assert_eq!(code(s.revoke("nope", None)), ErrorCode::InvalidId);
}

#[test]
fn change_stamp_moves_with_every_write_and_only_then() {
    let (_d, s) = service("");
    let empty = s.change_stamp().unwrap();
    assert_eq!(s.change_stamp().unwrap(), empty);
    let mut last = empty;
    let mut moved = |what: &str| {
        let now = s.change_stamp().unwrap();
        assert_ne!(now, last, "the stamp did not move after {what}");
        last = now;
    };
    let c = s.create(&req("1", "10", "ECC")).unwrap();
    moved("create");
    s.revoke(&c.id, None).unwrap();
    moved("revoke");
    s.activate(&c.id).unwrap();
    moved("activate");
    s.revoke(&c.id, None).unwrap();
    moved("revoke");
    s.delete(&c.id).unwrap();
    moved("delete");
    let quiet = s.change_stamp().unwrap();
    s.list(&super::super::ListQuery::default()).unwrap();
    s.get(&s.create(&req("1", "10", "ECC")).unwrap().id)
        .unwrap();
    assert_ne!(s.change_stamp().unwrap(), quiet);
}
