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
    let cert = json_at(
        &w,
        "9999-11-30T00:00:00Z",
        &[
            "issue",
            "--site-id",
            &s,
            "--validity-days",
            "7",
            "--pkey-type",
            "ECC",
        ],
    );
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
