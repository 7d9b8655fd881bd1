//! One test per error code of SPEC's table: the exact code, exit status 1,
//! the JSON error shape with `--json`, and a store left exactly as it was.
//!
//! Longer than ~600 lines on purpose: every file in `tests/` is its own
//! binary that links the whole crate, so one topic stays one file.

mod common;

use common::{SITE, World, assert_code, assert_json_code, openssl};

/// Runs `args` on a store that already holds a CA and one certificate, and
/// asserts the error `code` and an unchanged store (text and JSON modes).
fn refused(w: &World, args: &[&str], code: &str) {
    let before = w.snapshot();
    let out = w.run(args);
    assert_code(&out, code);
    assert!(out.stdout.is_empty(), "nothing on stdout on error");
    assert_eq!(before, w.snapshot(), "store unchanged after {args:?}");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = w.run(&json_args);
    let v = assert_json_code(&out, code);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["RequestId", "Code", "Message", "HttpStatusCode"]);
    assert!(!v["Message"].as_str().unwrap().is_empty());
    assert_eq!(before, w.snapshot(), "store unchanged after {json_args:?}");
}

fn world_with_one() -> World {
    let w = World::new("");
    w.issue("ECC", 30);
    w
}

#[test]
fn missing_site_id() {
    let w = world_with_one();
    refused(
        &w,
        &["issue", "--validity-days", "5", "--pkey-type", "ECC"],
        "MissingSiteId",
    );
    refused(
        &w,
        &["issue", "--site-id", "", "--validity-days", "5"],
        "MissingSiteId",
    );
    refused(&w, &["ca"], "MissingSiteId");
}

#[test]
fn unknown_or_malformed_site_id() {
    let w = world_with_one();
    for bad in ["999", "abc", "-1", "12345678901234567890123"] {
        refused(
            &w,
            &["issue", "--site-id", bad, "--validity-days", "5"],
            "InvalidParameter.SiteId",
        );
    }
    refused(&w, &["list", "--site-id", "999"], "InvalidParameter.SiteId");
    refused(&w, &["crl", "--site-id", "7"], "InvalidParameter.SiteId");
}

#[test]
fn a_site_name_or_a_huge_number_for_site_id_is_named_as_such() {
    let w = world_with_one();
    let huge = "1234567890123456789012345";
    for (raw, says) in [
        (
            "example.com",
            format!("SiteId \"example.com\" is a site name; its id is {SITE}"),
        ),
        (
            " other.example ",
            "SiteId \"other.example\" is a site name; its id is 42".to_owned(),
        ),
        (
            huge,
            format!("SiteId \"{huge}\" is too large for a site id (at most 18446744073709551615)"),
        ),
    ] {
        for args in [
            vec!["issue", "--site-id", raw, "--validity-days", "5"],
            vec!["list", "--site-id", raw],
            vec!["ca", "--site-id", raw],
            vec!["crl", "--site-id", raw],
            vec!["log", "--site-id", raw],
        ] {
            refused(&w, &args, "InvalidParameter.SiteId");
            let err = String::from_utf8_lossy(&w.run(&args).stderr).into_owned();
            assert!(err.contains(&says), "{args:?}: {err}");
        }
    }
    // Other text is still "not a site id".
    let out = w.run(&["issue", "--site-id", "example.org", "--validity-days", "5"]);
    assert_code(&out, "InvalidParameter.SiteId");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a site id"));
}

#[test]
fn impossible_validity() {
    let w = world_with_one();
    let site = SITE.to_string();
    for bad in [
        "0",
        "-5",
        "3651",
        "99999999999999999999",
        "1.5",
        "365d",
        "",
        " ",
    ] {
        refused(
            &w,
            &[
                "issue",
                "--site-id",
                &site,
                "--validity-days",
                bad,
                "--pkey-type",
                "ECC",
            ],
            "InvalidParameter.ValidityDays",
        );
    }
}

#[test]
fn validity_past_the_ca_end() {
    let w = World::new("[ca]\nvalidity_days = 10\n");
    w.issue("ECC", 10);
    let out = w.run(&[
        "issue",
        "--site-id",
        &SITE.to_string(),
        "--validity-days",
        "11",
        "--pkey-type",
        "ECC",
    ]);
    assert_code(&out, "InvalidParameter.ValidityDays");
    assert!(String::from_utf8_lossy(&out.stderr).contains("after the site CA"));
    // 3650 is in range but past a 10-day CA, before the CA even exists.
    let fresh = World::new("[ca]\nvalidity_days = 10\n");
    fresh.ok(&["sites"]);
    refused(
        &fresh,
        &[
            "issue",
            "--site-id",
            &SITE.to_string(),
            "--validity-days",
            "3650",
            "--pkey-type",
            "ECC",
        ],
        "InvalidParameter.ValidityDays",
    );
    assert!(
        !fresh.store.join(format!("sites/{SITE}/ca")).exists(),
        "no CA created by a refused request"
    );
}

#[test]
fn unknown_pkey_type() {
    let w = world_with_one();
    let site = SITE.to_string();
    for bad in ["DSA", "RSA_1024", "ECC_521", "ed448", "rsa 2048", ""] {
        refused(
            &w,
            &[
                "issue",
                "--site-id",
                &site,
                "--validity-days",
                "5",
                "--pkey-type",
                bad,
            ],
            "InvalidParameter.PkeyType",
        );
    }
}

#[test]
fn bad_csrs() {
    require_openssl!();
    let w = world_with_one();
    let site = SITE.to_string();
    let issue = |path: &std::path::Path| {
        vec![
            "issue".to_owned(),
            "--site-id".to_owned(),
            site.clone(),
            "--validity-days".to_owned(),
            "5".to_owned(),
            "--csr".to_owned(),
            path.to_str().unwrap().to_owned(),
        ]
    };
    let check = |name: &str, content: &[u8], reason: &str| {
        let p = w.path(name);
        std::fs::write(&p, content).unwrap();
        let args = issue(&p);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&w, &args, "InvalidParameter.CSR");
        let out = w.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(reason), "{name}: expected {reason:?} in {err}");
    };

    // A good CSR to corrupt.
    let key = w.path("k.pem");
    let csr = w.path("good.csr");
    let (ok, out) = openssl(&[
        "req",
        "-new",
        "-nodes",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        "/CN=ok",
    ]);
    assert!(ok, "{out}");
    let good = std::fs::read_to_string(&csr).unwrap();

    // Bad signature: flip a bit of the signature (the last bytes of the DER).
    let (_, der_b64) = good.split_once('\n').unwrap();
    let b64: String = der_b64
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let mut der = base64_decode(&b64);
    let n = der.len();
    der[n - 3] ^= 0x40;
    let tampered = pem_wrap("CERTIFICATE REQUEST", &der);
    check(
        "tampered.csr",
        tampered.as_bytes(),
        "signature does not verify",
    );

    // A 1024-bit RSA key.
    let weak = w.path("weak.csr");
    let (ok, out) = openssl(&[
        "req",
        "-new",
        "-nodes",
        "-newkey",
        "rsa:1024",
        "-keyout",
        w.path("weak.key").to_str().unwrap(),
        "-out",
        weak.to_str().unwrap(),
        "-subj",
        "/CN=weak",
    ]);
    assert!(ok, "{out}");
    check("weak2.csr", &std::fs::read(&weak).unwrap(), "1024 bits");

    // Valid CSRs that are refused for their algorithms, with that reason
    // (not "altered"): RSA-PSS and SHA-1 signatures, a P-521 key.
    for (name, args, reason) in [
        (
            "pss",
            vec!["-newkey", "rsa:2048", "-sigopt", "rsa_padding_mode:pss"],
            "RSASSA-PSS",
        ),
        (
            "sha1",
            vec![
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-sha1",
            ],
            "ecdsa-with-SHA1",
        ),
        (
            "p521",
            vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"],
            "curve P-521",
        ),
        (
            "e3",
            vec!["-newkey", "rsa:2048", "-pkeyopt", "rsa_keygen_pubexp:3"],
            "exponent is 3",
        ),
    ] {
        let path = w.path(&format!("{name}.csr"));
        let key = w.path(&format!("{name}.key"));
        let mut req = vec!["req", "-new", "-nodes", "-subj", "/CN=alg"];
        req.extend(args);
        req.extend([
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            path.to_str().unwrap(),
        ]);
        let (ok, out) = openssl(&req);
        assert!(ok, "{out}");
        check(
            &format!("{name}2.csr"),
            &std::fs::read(&path).unwrap(),
            reason,
        );
    }

    // The wrong PEM label: a certificate instead of a CSR.
    let cert_pem = std::fs::read(w.ca_file(SITE)).unwrap();
    check("cert.csr", &cert_pem, "not a CERTIFICATE REQUEST");
    // Binary garbage, empty input, truncated PEM, and an oversized paste.
    check(
        "garbage.csr",
        &[0x30, 0x82, 0xff, 0x00, 0xde, 0xad, 0xbe, 0xef],
        "not PEM text",
    );
    check("empty.csr", b"", "no PEM block");
    check("truncated.csr", &good.as_bytes()[..good.len() / 2], "PEM");
    let mut huge = good.clone().into_bytes();
    huge.extend(std::iter::repeat_n(b' ', 70 * 1024));
    check("huge.csr", &huge, "larger than 64 KiB");
    // Two CSRs in one paste.
    check(
        "two.csr",
        format!("{good}{good}").as_bytes(),
        "expected one PEM block",
    );
    // A missing file.
    let out = w.run(
        &issue(&w.path("nope.csr"))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_code(&out, "InvalidParameter.CSR");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn pem_wrap(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

#[test]
fn quota() {
    let w = World::new("");
    let cfg = std::fs::read_to_string(&w.config).unwrap().replace(
        "name = \"example.com\"\n",
        "name = \"example.com\"\nmax_client_certificates = 2\n",
    );
    std::fs::write(&w.config, cfg).unwrap();
    w.issue("ECC", 5);
    w.issue("ECC", 5);
    refused(
        &w,
        &[
            "issue",
            "--site-id",
            &SITE.to_string(),
            "--validity-days",
            "5",
            "--pkey-type",
            "ECC",
        ],
        "QuotaCheckFailed.Function",
    );
}

#[test]
fn internal_exception_leaves_nothing_half_written() {
    let w = world_with_one();
    // A CA key that no longer matches its certificate is an internal failure.
    let ca_dir = w.store.join(format!("sites/{SITE}/ca"));
    let other = World::new("");
    other.issue("ECC", 1);
    let foreign = other.store.join(format!("sites/{SITE}/ca/ca.key.pem"));
    std::fs::write(ca_dir.join("ca.key.pem"), std::fs::read(foreign).unwrap()).unwrap();
    refused(
        &w,
        &[
            "issue",
            "--site-id",
            &SITE.to_string(),
            "--validity-days",
            "5",
            "--pkey-type",
            "ECC",
        ],
        "InternalException",
    );
    let out = w.run(&[
        "issue",
        "--site-id",
        &SITE.to_string(),
        "--validity-days",
        "5",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not match"), "{err}");
    assert!(!err.contains("PRIVATE KEY"), "no key material in errors");
}

#[test]
fn bad_common_name_and_name() {
    let w = world_with_one();
    let site = SITE.to_string();
    let refused_issue = |flag: &str, value: &str, code: &str| {
        refused(
            &w,
            &[
                "issue",
                "--site-id",
                &site,
                "--validity-days",
                "5",
                flag,
                value,
            ],
            code,
        );
    };
    let long = "x".repeat(65);
    refused_issue("--common-name", &long, "InvalidParameter.CommonName");
    refused_issue(
        "--common-name",
        "a\u{1b}[2Jb",
        "InvalidParameter.CommonName",
    );
    refused_issue("--name", "x\u{202e}y", "InvalidParameter.Name");
    // Invisible format characters and separators are refused too.
    for (flag, value, code) in [
        ("--name", "a\u{200b}b", "InvalidParameter.Name"),
        ("--name", "tag\u{e0041}", "InvalidParameter.Name"),
        ("--common-name", "a\u{2028}b", "InvalidParameter.CommonName"),
        (
            "--common-name",
            "\u{feff}bom",
            "InvalidParameter.CommonName",
        ),
        (
            "--common-name",
            "soft\u{ad}hyphen",
            "InvalidParameter.CommonName",
        ),
    ] {
        refused_issue(flag, value, code);
    }
    // The escape never reaches the terminal raw.
    let out = w.run(&[
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "5",
        "--common-name",
        "a\u{1b}[2Jb",
    ]);
    assert!(
        !out.stderr.contains(&0x1b),
        "escape sequences are printed escaped"
    );
}

#[test]
fn quoted_input_is_escaped_once_in_messages() {
    let w = World::new("");
    let id = w.issue("ECC", 30)["Id"].as_str().unwrap().to_owned();
    let once = r#"unknown revocation reason "a\u{1b}[31mb";"#;
    let out = w.run(&["revoke", &id, "--reason", "a\u{1b}[31mb"]);
    assert_code(&out, "InvalidParameter");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(once), "{err}");
    let out = w.run(&["revoke", &id, "--reason", "a\u{1b}[31mb", "--json"]);
    let v = assert_json_code(&out, "InvalidParameter");
    let msg = v["Message"].as_str().unwrap();
    assert!(msg.contains(once), "{msg}");
}

#[test]
fn unknown_and_malformed_ids() {
    let w = world_with_one();
    for cmd in ["show", "revoke", "activate", "delete", "export"] {
        refused(&w, &[cmd, &"0".repeat(32)], "InvalidParameter.Id");
        refused(&w, &[cmd, "../../etc/passwd"], "InvalidParameter.Id");
    }
}

#[test]
fn usage_errors_exit_2() {
    let w = World::new("");
    for args in [
        vec!["issue", "--bogus"],
        vec!["list", "--status", "dormant"],
        vec!["export", "x", "--what", "everything"],
        vec!["frobnicate"],
    ] {
        let out = w.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn issue_help_shows_the_count_placeholder_literally() {
    // clap turns `{n}` in help text into a line break.
    let w = World::new("");
    for flag in ["--help", "-h"] {
        let out = w.run(&["issue", flag]);
        common::assert_success(&out);
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(
            help.contains("{n} in --common-name and --name becomes each one's number"),
            "{help}"
        );
        assert!(!help.contains('\u{1b}'), "no styling in a pipe: {help:?}");
    }
}

#[test]
fn bad_config_names_file_line_and_key() {
    let w = World::with_config("[store]\npath = \"store\"\n\n[defaults]\nvalidity_dayz = 30\n");
    let out = w.run(&["sites"]);
    assert_code(&out, "InvalidParameter.Config");
    let err = String::from_utf8_lossy(&out.stderr);
    let file = w.config.display().to_string();
    assert!(
        err.contains(&format!("{file}:5: key `defaults.validity_dayz`")),
        "{err}"
    );
    assert!(!w.store.exists(), "nothing written for a bad config");

    let w = World::with_config("[[site]]\nid = 1\nname = \"a\"\n[[site]]\nid = 1\nname = \"b\"\n");
    let out = w.run(&["sites", "--json"]);
    let v = assert_json_code(&out, "InvalidParameter.Config");
    assert!(
        v["Message"]
            .as_str()
            .unwrap()
            .contains(":5: key `site.id`: duplicate site id 1"),
        "{v}"
    );

    let w = World::with_config("[ca]\nkey_type = 42\n");
    let out = w.run(&["sites"]);
    assert_code(&out, "InvalidParameter.Config");
    assert!(String::from_utf8_lossy(&out.stderr).contains(":2: key `ca.key_type`"));

    // A file that is not text, and a path that cannot be read as a file:
    // the file is named, nothing is written.
    let w = World::with_config("[store]\npath = \"store\"\n");
    std::fs::write(&w.config, b"[store]\npath = \"\xff\xfe\"\n").unwrap();
    let out = w.run(&["sites"]);
    assert_code(&out, "InvalidParameter.Config");
    let err = String::from_utf8_lossy(&out.stderr);
    let file = w.config.display().to_string();
    assert!(
        err.contains(&format!("{file}:2: the file is not UTF-8 text")),
        "{err}"
    );
    let folder = w.path("a-folder");
    std::fs::create_dir(&folder).unwrap();
    {
        let path = folder;
        let out = w
            .cmd_bare()
            .arg("--config")
            .arg(&path)
            .arg("sites")
            .output()
            .unwrap();
        assert_code(&out, "InvalidParameter.Config");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
    assert!(
        !w.store.exists(),
        "nothing written for an unreadable config"
    );
}

#[test]
fn an_export_that_cannot_be_written_is_refused_and_audits_nothing() {
    let w = World::new("");
    let v = w.issue("ECC", 30);
    let id = v["Id"].as_str().unwrap();
    let pass = w.write("p12pass.txt", "a long enough password\n");
    let missing = w.path("no/such/folder/k.pem");
    let folder = w.path("a-folder");
    std::fs::create_dir(&folder).unwrap();
    for out in [&missing, &folder] {
        let out = out.to_str().unwrap();
        refused(
            &w,
            &["export", id, "--what", "key", "--out", out],
            "InvalidParameter",
        );
        refused(
            &w,
            &[
                "export",
                id,
                "--what",
                "p12",
                "--password-file",
                pass.to_str().unwrap(),
                "--out",
                out,
            ],
            "InvalidParameter",
        );
    }
    assert!(
        std::fs::read_dir(&folder).unwrap().next().is_none(),
        "no temporary left"
    );
}
