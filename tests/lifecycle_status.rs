//! Revoke / activate / delete with ESA's status rules, the CRL that follows
//! them (checked with `openssl crl` and `openssl verify -crl_check`), and
//! `expired` derived from NotAfter everywhere.

mod common;
mod lifecycle_support;

use common::{SITE, SITE2, World, assert_code, assert_json_code, openssl};
use lifecycle_support::{
    crl_file, crl_serials_and_number, entry_file, issue, issue_on, make_expired, verify_with_crl,
};

/// Runs `args`, expects error `code`, and checks the store did not change.
fn refused(w: &World, args: &[&str], code: &str) {
    let before = w.snapshot();
    let out = w.run(args);
    assert_code(&out, code);
    assert_eq!(before, w.snapshot(), "store changed after refused {args:?}");
}

fn norm(serial: &str) -> String {
    serial.trim_start_matches('0').to_ascii_lowercase()
}

#[test]
fn every_refused_transition_is_a_status_error_and_changes_nothing() {
    let w = World::new("");
    const SE: &str = "Certificate.StatusError";

    // active: activate and delete are refused.
    let a = issue(&w, "ECC");
    refused(&w, &["activate", &a.id], SE);
    refused(&w, &["delete", &a.id], SE);

    // revoked: revoke and renew are refused.
    w.ok(&["revoke", &a.id]);
    refused(&w, &["revoke", &a.id], SE);
    refused(&w, &["revoke", &a.id, "--reason", "keyCompromise"], SE);
    refused(&w, &["renew", &a.id], SE);
    refused(&w, &["renew", &a.id, "--revoke-old"], SE);

    // expired (never revoked): revoke and activate are refused.
    let b = issue(&w, "ECC");
    make_expired(&w, SITE, &b.id);
    refused(&w, &["revoke", &b.id], SE);
    refused(&w, &["activate", &b.id], SE);

    // revoked, then expired: still no activate, and no renew either
    // (a renewal must not hand back access that was revoked).
    let c = issue(&w, "ECC");
    w.ok(&["revoke", &c.id]);
    make_expired(&w, SITE, &c.id);
    refused(&w, &["activate", &c.id], SE);
    refused(&w, &["revoke", &c.id], SE);
    refused(&w, &["renew", &c.id], SE);

    // renewed already: a second renewal is refused and names the successor.
    let d = issue(&w, "ECC");
    let succ = w.json(&["renew", &d.id, "--json"]);
    let out = w.run(&["renew", &d.id]);
    assert_code(&out, SE);
    assert!(String::from_utf8_lossy(&out.stderr).contains(succ["Id"].as_str().unwrap()));

    // The JSON form carries the same code.
    let before = w.snapshot();
    assert_json_code(&w.run(&["activate", &d.id, "--json"]), SE);
    assert_eq!(before, w.snapshot());

    // Unknown and malformed ids: InvalidParameter.Id, nothing changed.
    let unknown = "0".repeat(32);
    for op in ["revoke", "activate", "delete", "renew"] {
        refused(&w, &[op, &unknown], "InvalidParameter.Id");
        refused(&w, &[op, "not-an-id"], "InvalidParameter.Id");
        refused(&w, &[op, "../../etc/passwd"], "InvalidParameter.Id");
    }

    // Deleted: gone for every operation.
    w.ok(&["delete", &a.id]);
    for op in ["revoke", "activate", "delete", "renew"] {
        refused(&w, &[op, &a.id], "InvalidParameter.Id");
    }
    refused(&w, &["show", &a.id], "InvalidParameter.Id");
}

#[test]
fn allowed_transitions_and_expired_deletion() {
    let w = World::new("");
    let a = issue(&w, "ECC");
    w.ok(&["revoke", &a.id, "--reason", "key-compromise"]);
    let s = w.json(&["show", &a.id, "--json"]);
    assert_eq!(s["Status"], "revoked");
    assert_eq!(s["Result"]["RevokeReason"], "keyCompromise");
    assert!(s["Result"]["RevokeTime"].as_str().unwrap().ends_with('Z'));
    let out = w.run(&["activate", &a.id]);
    assert!(out.status.success());
    let warned = String::from_utf8_lossy(&out.stderr);
    assert!(
        warned.contains("warning:") && warned.contains("keyCompromise"),
        "re-trusting a compromised key is said aloud: {warned}"
    );
    let s = w.json(&["show", &a.id, "--json"]);
    assert_eq!(s["Status"], "active");
    assert!(s["Result"].get("RevokeTime").is_none());
    assert!(s["Result"].get("RevokeReason").is_none());

    // An expired certificate can be deleted without a revoke first: it can
    // never be used again, and otherwise it could never be removed.
    let b = issue(&w, "ECC");
    make_expired(&w, SITE, &b.id);
    w.ok(&["delete", &b.id]);
    assert!(!entry_file(&w, SITE, &b.id, ".toml").exists());
    assert!(!entry_file(&w, SITE, &b.id, ".key.pem").exists());
    let ids: Vec<String> = w.json(&["list", "--json"])["Result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![a.id.clone()]);

    // A bad reason is a parameter error, and nothing is revoked.
    let before = w.snapshot();
    assert_code(
        &w.run(&["revoke", &a.id, "--reason", "removeFromCRL"]),
        "InvalidParameter",
    );
    assert_eq!(before, w.snapshot());
}

#[test]
fn status_change_json_is_shaped_like_esa() {
    let w = World::new("");
    let a = issue(&w, "ED25519");
    for op in ["revoke", "activate", "revoke", "delete"] {
        let v = w.json(&[op, &a.id, "--json"]);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["RequestId", "SiteId", "SiteName", "Id"], "{op}");
        assert_eq!(v["Id"], a.id.as_str());
        assert_eq!(v["SiteId"], SITE);
        assert_eq!(v["SiteName"], "example.com");
        let rid = v["RequestId"].as_str().unwrap();
        assert_eq!((rid.len(), rid.to_uppercase() == rid), (36, true));
    }
    // Text form names what happened.
    let b = issue(&w, "ECC");
    let out = w.ok(&["revoke", &b.id]);
    assert!(out.starts_with(&format!("revoked {}", b.id)), "{out}");
}

#[test]
fn crl_follows_revocations_and_openssl_agrees() {
    require_openssl!();
    let w = World::new("");
    let x = issue(&w, "ECC");
    let y = issue(&w, "RSA");
    let ca = w.ca_file(SITE);

    let crl0 = crl_file(&w, SITE, "crl0.pem");
    let (serials, n0, _) = crl_serials_and_number(&crl0);
    assert!(serials.is_empty());
    for c in [&x, &y] {
        let (ok, text) = verify_with_crl(&ca, &crl0, &c.cert);
        assert!(ok && text.contains(": OK"), "{}: {text}", c.pkey);
    }

    // Revoking regenerates the stored CRL at once, without `esa-certs crl`.
    w.ok(&["revoke", &x.id, "--reason", "keyCompromise"]);
    let stored = w.store.join("sites").join(SITE.to_string()).join("crl.pem");
    let (serials, n1, text) = crl_serials_and_number(&stored);
    assert_eq!(serials, vec![norm(&x.serial)]);
    assert!(n1 > n0, "CRL number must increase: {n0} -> {n1}");
    assert!(text.contains("Key Compromise"), "{text}");
    let (ok, text) = verify_with_crl(&ca, &stored, &x.cert);
    assert!(!ok, "a revoked certificate verified: {text}");
    assert!(
        text.contains("error 23") && text.contains("certificate revoked"),
        "{text}"
    );
    let (ok, text) = verify_with_crl(&ca, &stored, &y.cert);
    assert!(ok, "{text}");

    // `esa-certs crl` issues a fresh CRL with the next number, same content.
    let crl2 = crl_file(&w, SITE, "crl2.pem");
    let (serials, n2, _) = crl_serials_and_number(&crl2);
    assert_eq!(serials, vec![norm(&x.serial)]);
    assert!(n2 > n1);

    // Re-activation takes it off the CRL.
    w.ok(&["activate", &x.id]);
    let crl3 = crl_file(&w, SITE, "crl3.pem");
    let (serials, n3, _) = crl_serials_and_number(&crl3);
    assert!(serials.is_empty(), "{serials:?}");
    assert!(n3 > n2);
    let (ok, text) = verify_with_crl(&ca, &crl3, &x.cert);
    assert!(ok, "re-activated certificate must verify: {text}");

    // Deleting a revoked certificate keeps it on the CRL until it expires,
    // or deleting it would re-enable it at every TLS server.
    w.ok(&["revoke", &x.id]);
    w.ok(&["delete", &x.id]);
    let crl4 = crl_file(&w, SITE, "crl4.pem");
    let (serials, _, _) = crl_serials_and_number(&crl4);
    assert_eq!(serials, vec![norm(&x.serial)]);
    let (ok, text) = verify_with_crl(&ca, &crl4, &x.cert);
    assert!(!ok && text.contains("error 23"), "{text}");

    // The other site's CRL is its own.
    issue_on(&w, SITE2, "ECC", 5);
    let other = crl_file(&w, SITE2, "other.pem");
    assert!(crl_serials_and_number(&other).0.is_empty());
    let (ok, _) = verify_with_crl(&ca, &other, &y.cert);
    assert!(!ok, "a CRL of another CA must not satisfy -crl_check");
}

#[test]
fn a_revoked_certificate_leaves_the_crl_once_expired() {
    require_openssl!();
    let w = World::new("");
    let x = issue(&w, "ECC");
    let keep = issue(&w, "ECC");
    w.ok(&["revoke", &x.id]);
    w.ok(&["revoke", &keep.id]);
    make_expired(&w, SITE, &x.id);
    let crl = crl_file(&w, SITE, "crl.pem");
    assert_eq!(crl_serials_and_number(&crl).0, vec![norm(&keep.serial)]);
}

fn crl_window_days(w: &World) -> i64 {
    use x509_parser::prelude::FromDer;
    let crl = crl_file(w, SITE, "window.pem");
    let (ok, text) = openssl(&["crl", "-noout", "-in", crl.to_str().unwrap()]);
    assert!(ok, "{text}");
    let der = pem::parse(std::fs::read(&crl).unwrap())
        .unwrap()
        .into_contents();
    let (_, parsed) =
        x509_parser::revocation_list::CertificateRevocationList::from_der(&der).unwrap();
    let this = parsed.last_update().timestamp();
    let next = parsed.next_update().expect("nextUpdate").timestamp();
    (next - this) / 86_400
}

#[test]
fn next_update_window_is_configurable() {
    require_openssl!();
    assert_eq!(crl_window_days(&World::new("")), 7, "default window");
    let w = World::new("[crl]\nnext_update_days = 3\n");
    assert_eq!(crl_window_days(&w), 3);
}

#[test]
fn expired_is_derived_everywhere_and_expiring_within_filters() {
    let w = World::new("");
    let soon = issue_on(&w, SITE, "ECC", 10);
    let later = issue_on(&w, SITE, "ECC", 60);
    let gone = issue_on(&w, SITE, "ECC", 60);
    make_expired(&w, SITE, &gone.id);

    let status_of = |id: &str| {
        let v = w.json(&["list", "--json"]);
        v["Result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["Id"] == id)
            .map(|c| c["Status"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(status_of(&gone.id), "expired");
    assert_eq!(status_of(&soon.id), "active");
    let show = w.json(&["show", &gone.id, "--json"]);
    assert_eq!(show["Status"], "expired");
    assert_eq!(show["Result"]["Status"], "expired");
    assert!(w.ok(&["show", &gone.id]).contains("expired"));

    let ids = |args: &[&str]| -> Vec<String> {
        w.json(args)["Result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&["list", "--status", "expired", "--json"]),
        vec![gone.id.as_str()]
    );
    assert_eq!(
        ids(&["list", "--expiring-within", "30", "--json"]),
        vec![soon.id.as_str()]
    );
    // Same-second issuances are ordered by Id, so compare as sets.
    let mut within_90 = ids(&["list", "--expiring-within", "90", "--json"]);
    within_90.sort();
    let mut expected = vec![soon.id.clone(), later.id.clone()];
    expected.sort();
    assert_eq!(within_90, expected);
    let sites = w.json(&["sites", "--json"]);
    let s = &sites["Sites"][0];
    assert_eq!(
        (
            &s["ActiveCount"],
            &s["ExpiredCount"],
            &s["ExpiringSoonCount"]
        ),
        (&2.into(), &1.into(), &1.into())
    );
    let table = w.ok(&["list"]);
    let line = table.lines().find(|l| l.starts_with(&gone.id)).unwrap();
    assert!(line.contains("expired"), "{line}");
}

#[test]
fn a_crl_left_stale_by_a_crash_is_repaired_by_the_next_writer() {
    require_openssl!();
    let w = World::new("");
    let x = issue(&w, "ECC");
    let site_dir = w.store.join("sites").join(SITE.to_string());
    let before = std::fs::read(site_dir.join("crl.pem")).unwrap();
    w.ok(&["revoke", &x.id]);
    // Simulate a writer killed after recording the revocation but before
    // publishing the new CRL: the old CRL is back, the marker remains, and
    // the lock file says its holder never finished.
    std::fs::write(site_dir.join("crl.pem"), &before).unwrap();
    std::fs::write(site_dir.join("crl.stale"), b"").unwrap();
    std::fs::write(w.store.join(".lock"), b"dirty\n").unwrap();
    assert!(
        crl_serials_and_number(&site_dir.join("crl.pem"))
            .0
            .is_empty()
    );
    // Any writer repairs it, here an unrelated issuance.
    issue(&w, "ECC");
    assert!(!site_dir.join("crl.stale").exists());
    let (serials, _, _) = crl_serials_and_number(&site_dir.join("crl.pem"));
    assert_eq!(serials, vec![norm(&x.serial)]);
}

#[test]
fn a_damaged_entry_never_takes_its_revocation_off_the_crl() {
    require_openssl!();
    let w = World::new("");
    let x = issue(&w, "ECC");
    let y = issue(&w, "ECC");
    let ca = w.ca_file(SITE);
    w.ok(&["revoke", &x.id, "--reason", "keyCompromise"]);
    // x's metadata is torn by hand; then another status change rewrites
    // the CRL, and so does `esa-certs crl`, and so does doctor --fix.
    std::fs::write(entry_file(&w, SITE, &x.id, ".toml"), "status = \"revo").unwrap();
    w.ok(&["revoke", &y.id]);
    let stored = w.store.join("sites").join(SITE.to_string()).join("crl.pem");
    let fresh = crl_file(&w, SITE, "fresh.pem");
    let _ = w.run(&["doctor", "--fix"]);
    for crl in [&stored, &fresh, &stored] {
        let (serials, _, text) = crl_serials_and_number(crl);
        assert!(serials.contains(&norm(&x.serial)), "{text}");
        assert!(text.contains("Key Compromise"), "reason kept: {text}");
        let (ok, out) = verify_with_crl(&ca, crl, &x.cert);
        assert!(!ok && out.contains("certificate revoked"), "{out}");
    }
    // doctor names the damage and the kept serial.
    let out = w.run(&["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = v["Findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["Kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"metadata-unparsable"), "{kinds:?}");
    assert!(kinds.contains(&"crl-kept"), "{kinds:?}");
    assert!(!kinds.contains(&"crl-mismatch"), "{kinds:?}");
}

#[test]
fn crl_numbers_never_go_back_when_the_state_file_is_lost() {
    require_openssl!();
    let w = World::new("");
    let x = issue(&w, "ECC");
    w.ok(&["revoke", &x.id]);
    let site_dir = w.store.join("sites").join(SITE.to_string());
    for _ in 0..3 {
        crl_file(&w, SITE, "c.pem");
    }
    let (_, before, _) = crl_serials_and_number(&site_dir.join("crl.pem"));
    std::fs::remove_file(site_dir.join("crl.toml")).unwrap();
    let (serials, after, _) = crl_serials_and_number(&crl_file(&w, SITE, "d.pem"));
    assert!(after > before, "CRL number went back: {before} -> {after}");
    assert_eq!(serials, vec![norm(&x.serial)]);
}

#[test]
fn crl_current_prints_the_stored_crl_without_signing() {
    require_openssl!();
    let w = World::new("");
    let site = SITE.to_string();
    // No CA yet: nothing stored, a clear error, nothing created.
    w.ok(&["sites"]); // the store's folders exist
    let empty = w.snapshot();
    let out = w.run(&["crl", "--site-id", &site, "--current"]);
    assert_code(&out, "InvalidParameter");
    assert_eq!(empty, w.snapshot());
    let x = issue(&w, "ECC");
    w.ok(&["revoke", &x.id]);
    let stored = w.store.join("sites").join(&site).join("crl.pem");
    let before = w.snapshot();
    let printed = w.ok(&["crl", "--site-id", &site, "--current"]);
    assert_eq!(printed, std::fs::read_to_string(&stored).unwrap());
    assert_eq!(before, w.snapshot(), "--current signs nothing");
    let (serials, _, _) = crl_serials_and_number(&w.write("cur.pem", &printed));
    assert_eq!(serials, vec![norm(&x.serial)]);
}
