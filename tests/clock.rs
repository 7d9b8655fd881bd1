//! Clock faults (issue #13 items 11 and 12), with the system clock replaced
//! by `ESA_CERTS_FAKE_NOW` (honoured by debug builds only):
//!
//! - a clock far in the future, where "now + N days" no longer fits an
//!   X.509 date (year 9999): every command that would sign a certificate
//!   or a CRL answers an ESA error (exit 1, JSON on stderr), never a
//!   panic, and leaves the store as it was;
//! - a clock set back behind the site CA or the last CRL: certificates
//!   never start before their issuer, a CRL's thisUpdate never goes
//!   backwards, and `doctor` says the clock is behind the store.

mod common;

use std::process::Output;

use common::*;

const FAKE_NOW: &str = "ESA_CERTS_FAKE_NOW";
/// Late enough that no site CA (and no 60-day CRL) can start from it.
const FAR: &str = "9999-12-01T00:00:00Z";

fn skip_in_release() -> bool {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED: {FAKE_NOW} is honoured by debug builds only");
        return true;
    }
    false
}

/// Runs `args` (plus `--json`) with the clock at `now`.
fn at(w: &World, now: &str, args: &[&str]) -> Output {
    w.cmd()
        .env(FAKE_NOW, now)
        .args(args)
        .arg("--json")
        .output()
        .expect("run esa-certs")
}

/// Runs `args` with the clock at `now`, expects success, returns stdout.
fn ok_at(w: &World, now: &str, args: &[&str]) -> String {
    let out = at(w, now, args);
    assert_success(&out);
    String::from_utf8(out.stdout).unwrap()
}

fn json_at(w: &World, now: &str, args: &[&str]) -> serde_json::Value {
    let s = ok_at(w, now, args);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("bad JSON ({e}): {s}"))
}

/// An ESA error, not a panic: exit 1 and ESA's JSON error on stderr.
#[track_caller]
fn refused(out: &Output, code: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "a panic: {err}");
    let v = assert_json_code(out, code);
    v["Message"].as_str().unwrap().to_owned()
}

/// `issue --site-id S --validity-days D --pkey-type ECC`.
fn issue_ecc<'a>(site: &'a str, days: &'a str) -> Vec<&'a str> {
    vec![
        "issue",
        "--site-id",
        site,
        "--validity-days",
        days,
        "--pkey-type",
        "ECC",
    ]
}

fn site() -> String {
    SITE.to_string()
}

#[test]
fn a_far_future_clock_creates_no_ca_and_no_crl() {
    if skip_in_release() {
        return;
    }
    let w = World::new("[ca]\nkey_type = \"ECC_256\"\n");
    // The store exists (with no CA yet) before the snapshot.
    w.ok(&["list"]);
    let before = w.snapshot();
    let s = site();
    for args in [
        &[
            "issue",
            "--site-id",
            &s,
            "--validity-days",
            "1",
            "--pkey-type",
            "ECC",
        ][..],
        &[
            "issue",
            "--site-id",
            &s,
            "--validity-days",
            "1",
            "--pkey-type",
            "ECC",
            "--count",
            "3",
        ],
        &["ca", "--site-id", &s],
        &["ca", "--site-id", &s, "--bundle"],
        &["crl", "--site-id", &s],
    ] {
        let msg = refused(&at(&w, FAR, args), "InternalException");
        assert!(
            msg.contains("system clock") && msg.contains("X.509"),
            "{args:?}: {msg}"
        );
        assert_eq!(w.snapshot(), before, "{args:?} changed the store");
    }
}

/// A site CA that ends on 9999-12-30 and an active certificate under it,
/// made with the clock late in year 9999.
fn late_world() -> (World, String) {
    let w = World::new(
        "[ca]\nkey_type = \"ECC_256\"\nvalidity_days = 3650\n[crl]\nnext_update_days = 60\n",
    );
    let s = site();
    ok_at(&w, "9990-01-01T00:00:00Z", &["ca", "--site-id", &s]);
    let cert = json_at(&w, "9999-11-30T00:00:00Z", &issue_ecc(&s, "7"));
    (w, cert["Id"].as_str().unwrap().to_owned())
}

#[test]
fn a_far_future_clock_signs_no_crl_and_changes_nothing() {
    if skip_in_release() {
        return;
    }
    let (w, id) = late_world();
    let before = w.snapshot();
    let s = site();
    // The certificates would fit under the CA; the 60-day CRL would not.
    for args in [
        &["crl", "--site-id", &s][..],
        &["renew", &id, "--validity-days", "7", "--revoke-old"],
        &["revoke", &id],
    ] {
        let msg = refused(&at(&w, FAR, args), "InternalException");
        assert!(
            msg.contains("system clock") && msg.contains("X.509"),
            "{args:?}: {msg}"
        );
        assert_eq!(w.snapshot(), before, "{args:?} changed the store");
    }
    // A certificate that would end after the CA is refused as before.
    for args in [
        &["renew", &id, "--validity-days", "3650"][..],
        &[
            "issue",
            "--site-id",
            &s,
            "--validity-days",
            "3650",
            "--pkey-type",
            "ECC",
        ],
    ] {
        refused(&at(&w, FAR, args), "InvalidParameter.ValidityDays");
        assert_eq!(w.snapshot(), before, "{args:?} changed the store");
    }
    // Without a CRL to sign, a renewal under that clock still works.
    let r = json_at(&w, FAR, &["renew", &id, "--validity-days", "7"]);
    assert_eq!(r["RenewedFrom"], id.as_str());
}

/// When the site CA (and its first CRL) were made.
const T1: &str = "2031-01-01T00:00:00Z";
/// A clock set back a month behind [`T1`].
const T0: &str = "2030-12-01T00:00:00Z";
/// A clock a month after [`T1`].
const T2: &str = "2031-02-01T00:00:00Z";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A site CA made at [`T1`].
fn ca_world() -> World {
    let w = World::new("[ca]\nkey_type = \"ECC_256\"\n");
    ok_at(&w, T1, &["ca", "--site-id", &site()]);
    w
}

/// The site's stored CRL: (number, thisUpdate as the CRL says it, and as
/// crl.toml says it).
fn crl_state(w: &World) -> (u64, String, String) {
    let dir = w.store.join(format!("sites/{SITE}"));
    let pem = std::fs::read_to_string(dir.join("crl.pem")).unwrap();
    let ca = std::fs::read_to_string(dir.join("ca/ca.pem")).unwrap();
    let read = esa_certs::pki::read_crl(&pem, &ca).unwrap();
    let meta = std::fs::read_to_string(dir.join("crl.toml")).unwrap();
    let stored = meta
        .lines()
        .find_map(|l| l.strip_prefix("this_update = "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    assert_eq!(read.number, Some(meta_number(&meta)));
    (
        read.number.unwrap(),
        esa_certs::base::clock::esa_time(read.this_update),
        stored,
    )
}

fn meta_number(meta: &str) -> u64 {
    meta.lines()
        .find_map(|l| l.strip_prefix("number = "))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_clock_behind_the_ca_never_issues_before_the_ca() {
    if skip_in_release() {
        return;
    }
    let w = ca_world();
    let s = site();
    let issue = |extra: &[&str]| {
        let mut args = vec!["issue", "--site-id", &s, "--validity-days", "30"];
        args.extend_from_slice(extra);
        at(&w, T0, &args)
    };
    let out = issue(&["--pkey-type", "ECC"]);
    assert_success(&out);
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("behind") && err.contains(T1),
        "no warning: {err}"
    );
    let cert: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cert["NotBefore"], T1, "{cert}");
    assert_eq!(cert["NotAfter"], "2031-01-31T00:00:00Z", "{cert}");
    let info = esa_certs::pki::inspect_pem(cert["Certificate"].as_str().unwrap()).unwrap();
    assert_eq!(esa_certs::base::clock::esa_time(info.not_before), T1);

    // A bulk issue and a renewal the same way.
    let out = issue(&["--pkey-type", "ECC", "--count", "2"]);
    assert_success(&out);
    assert!(stderr(&out).contains("warning:"), "{}", stderr(&out));
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let c: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(c["NotBefore"], T1, "{c}");
    }
    let id = cert["Id"].as_str().unwrap();
    let out = at(&w, T0, &["renew", id]);
    assert_success(&out);
    assert!(stderr(&out).contains("warning:"), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["NotBefore"], T1, "{r}");
    assert_eq!(r["NotAfter"], "2031-01-31T00:00:00Z", "{r}");

    // A right clock: from now, and no warning.
    let out = at(&w, T2, &issue_ecc(&s, "30"));
    assert_success(&out);
    assert!(!stderr(&out).contains("warning:"), "{}", stderr(&out));
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["NotBefore"], T2);
}

#[test]
fn a_clock_set_back_never_moves_a_crl_back() {
    if skip_in_release() {
        return;
    }
    let w = ca_world();
    let s = site();
    let (n1, this1, stored1) = crl_state(&w);
    assert_eq!((this1.as_str(), stored1.as_str()), (T1, T1));

    // On demand: thisUpdate stays at the last one, the number grows.
    let out = at(&w, T0, &["crl", "--site-id", &s]);
    assert_success(&out);
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("behind") && err.contains(T1),
        "no warning: {err}"
    );
    let (n2, this2, stored2) = crl_state(&w);
    assert_eq!((this2.as_str(), stored2.as_str()), (T1, T1));
    assert!(n2 > n1, "{n2} after {n1}");

    // After a revocation the same way.
    let c = json_at(&w, T2, &issue_ecc(&s, "30"));
    ok_at(&w, T2, &["crl", "--site-id", &s]);
    let (n3, this3, _) = crl_state(&w);
    assert_eq!(this3, T2);
    ok_at(&w, T0, &["revoke", c["Id"].as_str().unwrap()]);
    let (n4, this4, stored4) = crl_state(&w);
    assert_eq!((this4.as_str(), stored4.as_str()), (T2, T2));
    assert!(n4 > n3, "{n4} after {n3}");

    // With crl.toml lost, the CRL itself still says where thisUpdate was.
    std::fs::remove_file(w.store.join(format!("sites/{SITE}/crl.toml"))).unwrap();
    ok_at(&w, T0, &["crl", "--site-id", &s]);
    let (n5, this5, _) = crl_state(&w);
    assert_eq!(this5, T2);
    assert!(n5 > n4, "{n5} after {n4}");
}
#[test]
fn doctor_says_when_the_clock_is_behind_the_store() {
    if skip_in_release() {
        return;
    }
    let w = ca_world();
    let s = site();
    json_at(&w, T2, &issue_ecc(&s, "30"));
    let clean = json_at(&w, T2, &["doctor"]);
    assert_eq!(clean["Clean"], true, "{clean}");

    // Behind the certificate made at T2 (and the CRL, the CA).
    let out = at(&w, T0, &["doctor"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["Findings"].as_array().unwrap();
    let behind: Vec<_> = findings
        .iter()
        .filter(|f| f["Kind"] == "clock-behind")
        .collect();
    assert_eq!(behind.len(), 1, "{report}");
    assert_eq!(behind[0]["Severity"], "problem");
    let detail = behind[0]["Detail"].as_str().unwrap();
    assert!(detail.contains(T0) && detail.contains(T2), "{detail}");
    // Only the clock: nothing else is reported, and --fix cannot fix it.
    assert_eq!(findings.len(), 1, "{report}");
    let out = at(&w, T0, &["doctor", "--fix"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // Behind only the CA.
    let w = ca_world();
    let out = at(&w, T0, &["doctor"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["Findings"][0]["Kind"], "clock-behind", "{report}");
    assert!(
        report["Findings"][0]["Detail"]
            .as_str()
            .unwrap()
            .contains(T1),
        "{report}"
    );
}
