//! `esa-certs issue` end to end: every key type and every CSR type, each
//! certificate checked by the OpenSSL CLI, and every JSON value compared
//! with what OpenSSL reads from the certificate.

mod common;

use common::{SITE, World, openssl, openssl_csr};
use serde_json::Value;

const SEED_KEYS: [&str; 14] = [
    "RequestId",
    "Id",
    "Status",
    "Certificate",
    "PrivateKey",
    "CommonName",
    "NotBefore",
    "NotAfter",
    "Issuer",
    "SerialNumber",
    "FingerprintSha256",
    "SignatureAlgorithm",
    "ValidityDays",
    "CACertificateId",
];

/// Checks one issued certificate with OpenSSL against its JSON.
fn check_with_openssl(w: &World, v: &Value, days: u32, expect_key_algo: &str) {
    let obj = v.as_object().expect("object");
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, SEED_KEYS, "exactly the seed's keys, in order");

    let cert = w.write("leaf.pem", v["Certificate"].as_str().unwrap());
    let ca = w.ca_file(SITE);
    let cert_s = cert.to_str().unwrap();
    let ca_s = ca.to_str().unwrap();

    let (ok, out) = openssl(&["verify", "-purpose", "sslclient", "-CAfile", ca_s, cert_s]);
    assert!(ok && out.contains(": OK"), "openssl verify: {out}");

    let (ok, text) = openssl(&["x509", "-in", cert_s, "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("TLS Web Client Authentication"),
        "EKU clientAuth:\n{text}"
    );
    assert!(
        text.contains("CA:FALSE"),
        "basicConstraints CA:FALSE:\n{text}"
    );
    assert!(
        text.contains("X509v3 Authority Key Identifier"),
        "AKI:\n{text}"
    );
    assert!(
        text.contains("X509v3 Subject Key Identifier"),
        "SKI:\n{text}"
    );
    assert!(text.contains("Digital Signature"), "KU:\n{text}");
    assert!(
        text.contains(expect_key_algo),
        "key algorithm {expect_key_algo}:\n{text}"
    );
    if expect_key_algo == "rsaEncryption" {
        assert!(
            text.contains("Key Encipherment"),
            "RSA KU keyEncipherment:\n{text}"
        );
    }

    let (_, serial) = openssl(&["x509", "-in", cert_s, "-noout", "-serial"]);
    let serial = serial.trim().trim_start_matches("serial=").to_lowercase();
    assert_eq!(serial, v["SerialNumber"].as_str().unwrap(), "serial");
    assert!(serial.len() >= 30, "a 16-byte serial: {serial}");

    let (_, fp) = openssl(&["x509", "-in", cert_s, "-noout", "-fingerprint", "-sha256"]);
    let fp = fp
        .trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(fp, v["FingerprintSha256"].as_str().unwrap(), "fingerprint");

    let (_, issuer) = openssl(&[
        "x509", "-in", cert_s, "-noout", "-issuer", "-nameopt", "RFC2253",
    ]);
    assert_eq!(
        issuer.trim(),
        format!("issuer=CN={}", v["Issuer"].as_str().unwrap())
    );

    let (_, subject) = openssl(&[
        "x509", "-in", cert_s, "-noout", "-subject", "-nameopt", "RFC2253",
    ]);
    assert!(
        subject.contains(&format!("CN={}", v["CommonName"].as_str().unwrap())),
        "{subject}"
    );

    // NotAfter − NotBefore = ValidityDays, and the JSON dates agree.
    let nb = epoch(&openssl_date(cert_s, "-startdate"));
    let na = epoch(&openssl_date(cert_s, "-enddate"));
    assert_eq!(na - nb, i64::from(days) * 86400, "validity");
    assert_eq!(v["ValidityDays"], Value::String(days.to_string()));
    assert_eq!(epoch_iso(v["NotBefore"].as_str().unwrap()), nb);
    assert_eq!(epoch_iso(v["NotAfter"].as_str().unwrap()), na);
    assert_eq!(v["Status"], "active");
    let id = v["Id"].as_str().unwrap();
    assert!(
        id.len() == 32
            && id
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let rid = v["RequestId"].as_str().unwrap();
    assert!(rid.len() == 36 && rid == rid.to_uppercase(), "{rid}");
}

fn openssl_date(cert: &str, which: &str) -> String {
    let (_, d) = openssl(&["x509", "-in", cert, "-noout", which, "-dateopt", "iso_8601"]);
    d.trim().split('=').nth(1).unwrap().to_owned()
}

/// Seconds since the epoch of `YYYY-MM-DD HH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SSZ`.
fn epoch(s: &str) -> i64 {
    epoch_iso(&s.replace(' ', "T"))
}

fn epoch_iso(s: &str) -> i64 {
    let t = time::PrimitiveDateTime::parse(
        s,
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
    )
    .unwrap_or_else(|e| panic!("{s}: {e}"));
    t.assume_utc().unix_timestamp()
}

fn check_private_key(w: &World, v: &Value, name: &str) {
    let key = v["PrivateKey"].as_str().unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");
    let kp = w.write(&format!("{name}.key"), key);
    let (ok, out) = openssl(&["pkey", "-in", kp.to_str().unwrap(), "-noout"]);
    assert!(ok, "openssl reads the key: {out}");
    // The key belongs to the certificate.
    let cert = w.write(&format!("{name}.crt"), v["Certificate"].as_str().unwrap());
    let (_, a) = openssl(&["pkey", "-in", kp.to_str().unwrap(), "-pubout"]);
    let (_, b) = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-pubkey"]);
    assert_eq!(a, b, "key matches certificate");
}

#[test]
fn every_pkey_type_spelling_issues_a_valid_client_certificate() {
    require_openssl!();
    let w = World::new("");
    // RSA_4096 is exercised by the ignored test below (slow in debug builds).
    for (spelling, algo) in [
        ("RSA", "rsaEncryption"),
        ("rsa_2048", "rsaEncryption"),
        ("RSA_3072", "rsaEncryption"),
        ("ECC", "id-ecPublicKey"),
        ("ecc_256", "id-ecPublicKey"),
        ("ECC_384", "id-ecPublicKey"),
        ("Ed25519", "ED25519"),
    ] {
        let v = w.issue(spelling, 30);
        check_with_openssl(&w, &v, 30, algo);
        check_private_key(&w, &v, spelling);
        assert_eq!(
            v["CommonName"], v["Id"],
            "without CN or CSR the CN is the Id"
        );
        assert_eq!(v["Issuer"], "example.com Client CA");
        assert_eq!(
            v["SignatureAlgorithm"], "ECDSA-SHA256",
            "the default CA is P-256"
        );
    }
    let (_, text) = openssl(&[
        "x509",
        "-in",
        w.path("leaf.pem").to_str().unwrap(),
        "-noout",
        "-text",
    ]);
    assert!(
        !text.contains("Key Encipherment"),
        "no keyEncipherment for Ed25519"
    );
}

#[test]
#[ignore = "RSA-4096: a random prime search of 0.3-3 s, kept out of the ordinary run; cargo test --test issue -- --ignored"]
fn rsa_4096() {
    require_openssl!();
    let w = World::new("");
    let v = w.issue("RSA_4096", 10);
    check_with_openssl(&w, &v, 10, "rsaEncryption");
    check_private_key(&w, &v, "rsa4096");
}

#[test]
fn each_ca_key_type_signs_with_its_algorithm() {
    require_openssl!();
    for (ca_key, sig) in [
        ("RSA", "SHA256-RSA"),
        ("ECC_384", "ECDSA-SHA384"),
        ("ED25519", "Ed25519"),
    ] {
        let w = World::new(&format!("[ca]\nkey_type = \"{ca_key}\"\n"));
        let v = w.issue("ECC", 7);
        assert_eq!(v["SignatureAlgorithm"], sig, "CA {ca_key}");
        check_with_openssl(&w, &v, 7, "id-ecPublicKey");
    }
}

#[test]
fn ca_profile_seen_by_openssl() {
    require_openssl!();
    let w = World::new("[ca]\ncommon_name = \"Clients of {site}\"\n");
    let ca = w.ca_file(SITE);
    let (_, text) = openssl(&["x509", "-in", ca.to_str().unwrap(), "-noout", "-text"]);
    assert!(
        text.contains("Subject: CN = Clients of example.com"),
        "{text}"
    );
    assert!(
        text.contains("X509v3 Basic Constraints: critical"),
        "{text}"
    );
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("Certificate Sign, CRL Sign"), "{text}");
    assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
    // The CA is reused, never replaced.
    assert_eq!(
        std::fs::read(&ca).unwrap(),
        w.ok(&["ca", "--site-id", &SITE.to_string()]).as_bytes()
    );
    let a = w.issue("ECC", 1);
    let b = w.issue("ECC", 1);
    assert_eq!(a["CACertificateId"], b["CACertificateId"]);
    assert_ne!(a["SerialNumber"], b["SerialNumber"]);
    // Each site has its own CA.
    let other = w.ca_file(common::SITE2);
    assert_ne!(std::fs::read(&ca).unwrap(), std::fs::read(&other).unwrap());
}

fn issue_csr(w: &World, csr: &std::path::Path, extra: &[&str]) -> Value {
    let site = SITE.to_string();
    let mut args = vec![
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "90",
        "--csr",
        csr.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    w.json(&args)
}

#[test]
fn csrs_from_openssl_req_for_rsa_ec_and_ed25519() {
    require_openssl!();
    let w = World::new("");
    for (name, newkey, algo) in [
        ("rsa", vec!["-newkey", "rsa:2048"], "rsaEncryption"),
        (
            "ec256",
            vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "id-ecPublicKey",
        ),
        (
            "ec384",
            vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "id-ecPublicKey",
        ),
        ("ed25519", vec!["-newkey", "ed25519"], "ED25519"),
    ] {
        let csr = openssl_csr(&w, name, &newkey, &format!("/O=Acme/CN=device-{name}"), &[]);
        // PkeyType is ignored with a CSR (SPEC): the CSR's key decides.
        let v = issue_csr(
            &w,
            &csr,
            &[
                "--common-name",
                "ignored",
                "--name",
                "fleet",
                "--pkey-type",
                "RSA_4096",
            ],
        );
        check_with_openssl(&w, &v, 90, algo);
        assert_eq!(v["PrivateKey"], "", "no key when a CSR was used");
        assert_eq!(
            v["CommonName"],
            format!("device-{name}"),
            "the CSR's CN wins"
        );
        // The certificate carries the CSR's public key.
        let cert = w.write("csr-leaf.pem", v["Certificate"].as_str().unwrap());
        let (_, a) = openssl(&[
            "pkey",
            "-in",
            w.path(&format!("{name}.key")).to_str().unwrap(),
            "-pubout",
        ]);
        let (_, b) = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-pubkey"]);
        assert_eq!(a, b);
        let (_, subject) = openssl(&[
            "x509",
            "-in",
            cert.to_str().unwrap(),
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253",
        ]);
        assert_eq!(subject.trim(), format!("subject=CN=device-{name},O=Acme"));
    }
}

#[test]
fn csr_from_stdin_and_new_certificate_request_label() {
    require_openssl!();
    let w = World::new("");
    let csr = openssl_csr(
        &w,
        "s",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "/CN=stdin",
        &[],
    );
    let text = std::fs::read_to_string(&csr).unwrap();
    let relabelled = text.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");
    let site = SITE.to_string();
    let out = w.run_stdin(
        &[
            "issue",
            "--site-id",
            &site,
            "--validity-days",
            "5",
            "--csr",
            "-",
            "--json",
        ],
        relabelled.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["CommonName"], "stdin");
}

#[test]
fn csr_asking_for_ca_true_still_gets_a_ca_false_leaf() {
    require_openssl!();
    let w = World::new("");
    let csr = openssl_csr(
        &w,
        "evil",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "/CN=evil",
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectKeyIdentifier=hash",
            "-addext",
            "nameConstraints=permitted;DNS:evil.example",
            "-addext",
            "subjectAltName=DNS:evil.example,email:evil@example.com",
        ],
    );
    let v = issue_csr(&w, &csr, &[]);
    let cert = w.write("evil.pem", v["Certificate"].as_str().unwrap());
    let (_, text) = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-text"]);
    assert!(
        text.contains("CA:FALSE") && !text.contains("CA:TRUE"),
        "{text}"
    );
    assert!(!text.contains("Certificate Sign"), "{text}");
    assert!(!text.contains("Name Constraints"), "{text}");
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    // SANs are the one extension a CSR contributes.
    assert!(
        text.contains("DNS:evil.example, email:evil@example.com"),
        "{text}"
    );
    // A CA:TRUE leaf could sign: prove this one cannot act as a CA.
    let ca = w.ca_file(SITE);
    let (ok, out) = common::verify_client(&ca, &cert);
    assert!(ok, "{out}");
}

#[test]
fn common_name_and_name_are_kept() {
    let w = World::new("");
    let site = SITE.to_string();
    let v = w.json(&[
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "3",
        "--pkey-type",
        "ed25519",
        "--common-name",
        "alice@example.com",
        "--name",
        "Alice's laptop",
        "--json",
    ]);
    assert_eq!(v["CommonName"], "alice@example.com");
    let id = v["Id"].as_str().unwrap();
    let shown = w.json(&["show", id, "--json"]);
    assert_eq!(shown["Result"]["Name"], "Alice's laptop");
    assert_eq!(shown["Result"]["CommonName"], "alice@example.com");
}

#[test]
fn defaults_from_the_config_apply_when_flags_are_omitted() {
    let w = World::new("[defaults]\nvalidity_days = 12\npkey_type = \"ED25519\"\n");
    let v = w.json(&["issue", "--site-id", &SITE.to_string(), "--json"]);
    assert_eq!(v["ValidityDays"], "12");
    let shown = w.json(&["show", v["Id"].as_str().unwrap(), "--json"]);
    assert_eq!(shown["Result"]["PkeyType"], "ED25519");
}

/// The subject openssl prints for a PEM file (`req` or `x509`), RFC 2253.
fn openssl_subject(kind: &str, path: &std::path::Path) -> String {
    let (ok, out) = openssl(&[
        kind,
        "-in",
        path.to_str().unwrap(),
        "-noout",
        "-subject",
        "-nameopt",
        "RFC2253",
    ]);
    assert!(ok, "{out}");
    out.trim().trim_start_matches("subject=").to_owned()
}

#[test]
fn csr_subjects_with_repeated_or_multi_valued_attributes_are_kept_whole() {
    require_openssl!();
    let w = World::new("");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    for (name, subj, extra) in [
        // Active Directory / LDAP style, with repeated DC and OU.
        (
            "ad",
            "/DC=com/DC=example/DC=corp/OU=Engineering/OU=Laptops/CN=bob",
            &[][..],
        ),
        // Two CNs: the first is the certificate's CommonName.
        ("twocn", "/O=Acme/CN=first/CN=second", &[][..]),
        // A multi-valued RDN.
        (
            "multi",
            "/O=Acme/OU=Fleet+CN=device-7",
            &["-multivalue-rdn"][..],
        ),
        // No CommonName at all: the Id is appended as CN.
        ("nocn", "/O=Acme/OU=a/OU=b", &[][..]),
    ] {
        let csr = openssl_csr(&w, name, &ec, subj, extra);
        let v = issue_csr(&w, &csr, &[]);
        check_with_openssl(&w, &v, 90, "id-ecPublicKey");
        let cert = w.write(&format!("{name}.crt"), v["Certificate"].as_str().unwrap());
        let want = openssl_subject("req", &csr);
        let got = openssl_subject("x509", &cert);
        if name == "nocn" {
            assert_eq!(got, format!("CN={},{want}", v["Id"].as_str().unwrap()));
        } else {
            assert_eq!(got, want, "{name}");
        }
        if name == "twocn" {
            assert_eq!(v["CommonName"], "first");
        }
        // Renewal keeps the whole subject too.
        let id = v["Id"].as_str().unwrap();
        let r = w.json(&["renew", id, "--json"]);
        let renewed = w.write(&format!("{name}-r.crt"), r["Certificate"].as_str().unwrap());
        assert_eq!(openssl_subject("x509", &renewed), got, "{name} renewed");
    }
}
