//! Safety guarantees end to end: a hand-damaged store is reported entry by
//! entry by `doctor` and nothing is deleted; CA keys encrypted at rest
//! (readable by OpenSSL, wrong or missing passphrase changes nothing,
//! migration of an existing store); no key material in logs or errors;
//! private modes under a permissive umask; the audit trail.
//!
//! Longer than ~600 lines on purpose: every file in `tests/` is its own
//! binary that links the whole crate, so one topic stays one file.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;

fn own_uid() -> u32 {
    // The test process's uid, as the file it creates records it.
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn certs(w: &World) -> std::path::PathBuf {
    w.store.join(format!("sites/{SITE}/certs"))
}

fn findings(v: &serde_json::Value) -> Vec<(String, String)> {
    v["Findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["Severity"] == "problem" && f["Fixed"] == false)
        .map(|f| {
            (
                f["Kind"].as_str().unwrap().to_owned(),
                f["Id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn doctor(w: &World, args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["doctor", "--json"];
    a.extend_from_slice(args);
    let out = w.run(&a);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

#[test]
fn a_hand_damaged_store_is_reported_entry_by_entry_and_stays_usable() {
    let w = World::new("");
    let ids: Vec<String> = (0..6)
        .map(|_| w.issue("ECC", 30)["Id"].as_str().unwrap().to_owned())
        .collect();
    let (code, v) = doctor(&w, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["Clean"], true);

    let c = certs(&w);
    // A truncated certificate, a garbage metadata file, a missing key, a
    // key that belongs to another certificate, a loose key mode, an orphan.
    let pem = std::fs::read_to_string(c.join(format!("{}.pem", ids[0]))).unwrap();
    std::fs::write(c.join(format!("{}.pem", ids[0])), &pem[..pem.len() / 2]).unwrap();
    std::fs::write(c.join(format!("{}.toml", ids[1])), "\u{1b}[2J garbage = [").unwrap();
    std::fs::remove_file(c.join(format!("{}.key.pem", ids[2]))).unwrap();
    std::fs::copy(
        c.join(format!("{}.key.pem", ids[4])),
        c.join(format!("{}.key.pem", ids[3])),
    )
    .unwrap();
    std::fs::set_permissions(
        c.join(format!("{}.key.pem", ids[4])),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let orphan = "0".repeat(32);
    std::fs::write(c.join(format!("{orphan}.key.pem")), "KEY").unwrap();

    let before = w.snapshot();
    let (code, v) = doctor(&w, &[]);
    assert_eq!(code, 1);
    let got = findings(&v);
    for (kind, id) in [
        ("cert-unparsable", &ids[0]),
        ("metadata-unparsable", &ids[1]),
        ("key-missing", &ids[2]),
        ("key-mismatch", &ids[3]),
        ("orphan-file", &orphan),
    ] {
        assert!(
            got.contains(&(kind.to_owned(), id.clone())),
            "{kind} of {id} not reported: {got:?}"
        );
    }
    assert!(got.iter().any(|(k, _)| k == "mode-loose"), "{got:?}");
    assert!(
        !v.to_string().contains('\u{1b}'),
        "an escape from the file reached the report"
    );
    assert_eq!(
        w.snapshot(),
        before,
        "doctor without --fix changed the store"
    );
    // Text mode: one line per finding and ESA's error line.
    let out = w.run(&["doctor"]);
    assert_code(&out, "Store.ProblemsFound");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{}.toml", ids[1])), "{text}");

    // The rest stays usable.
    let list = w.run(&["list", "--json"]);
    assert!(list.status.success());
    let err = String::from_utf8_lossy(&list.stderr);
    assert!(err.contains(&ids[1]), "the damaged entry is named: {err}");
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v["TotalCount"], 5);
    w.ok(&["revoke", &ids[5]]);
    w.issue("ED25519", 5);
    w.ok(&["export", &ids[4], "--what", "key"]);

    // --fix repairs only what is safe and deletes nothing.
    let (code, v) = doctor(&w, &["--fix"]);
    assert_eq!(code, 1, "damaged entries remain: {v}");
    let got = findings(&v);
    assert!(!got.iter().any(|(k, _)| k == "mode-loose"), "{got:?}");
    assert_eq!(mode(&c.join(format!("{}.key.pem", ids[4]))), 0o600);
    for id in [&ids[0], &ids[1], &ids[3], &orphan] {
        assert!(
            std::fs::read_dir(&c)
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(id.as_str())),
            "doctor --fix deleted {id}"
        );
    }
}

#[test]
fn doctor_reports_a_crl_that_disagrees_and_fix_regenerates_it() {
    let w = World::new("");
    let a = w.issue("ECC", 30);
    let id = a["Id"].as_str().unwrap();
    let crl = w.store.join(format!("sites/{SITE}/crl.pem"));
    let empty_crl = std::fs::read_to_string(&crl).unwrap();
    w.ok(&["revoke", id]);
    // Put back the CRL from before the revocation, by hand.
    std::fs::write(&crl, empty_crl).unwrap();
    let (code, v) = doctor(&w, &[]);
    assert_eq!(code, 1);
    assert!(findings(&v).iter().any(|(k, _)| k == "crl-mismatch"), "{v}");
    let (code, v) = doctor(&w, &["--fix"]);
    assert_eq!(code, 0, "{v}");
    let (code, _) = doctor(&w, &[]);
    assert_eq!(code, 0);
}

// ---- protected CA keys ---------------------------------------------------------

const PASS: &str = "correct horse battery staple";

fn protected_world() -> World {
    let w = World::new("[ca]\nkey_type = \"ECC_256\"\nprotect_key = true\n");
    w.write("pass.txt", &format!("{PASS}\n"));
    w.write("wrong.txt", "not it\n");
    w
}

fn with_pass(w: &World, file: &str, args: &[&str]) -> std::process::Output {
    w.cmd()
        .args(args)
        .env("ESA_CERTS_CA_PASSPHRASE_FILE", w.path(file))
        .output()
        .unwrap()
}

#[test]
fn ca_keys_can_be_encrypted_at_rest_and_openssl_reads_them() {
    require_openssl!();
    let w = protected_world();
    let site = SITE.to_string();
    let issue = [
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "5",
        "--pkey-type",
        "ECC",
        "--json",
    ];
    // Without a passphrase (stdin is not a terminal) nothing is created.
    let out = w.run(&issue);
    assert_json_code(&out, "InvalidParameter.CAPassphrase");
    assert!(!w.store.join(format!("sites/{SITE}/ca")).exists());

    let out = with_pass(&w, "pass.txt", &issue);
    assert_success(&out);
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key_path = w.store.join(format!("sites/{SITE}/ca/ca.key.pem"));
    let key = std::fs::read_to_string(&key_path).unwrap();
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{key}"
    );
    assert_eq!(mode(&key_path), 0o600);

    // OpenSSL decrypts it with the same passphrase file, and it is the
    // key of the CA certificate.
    let ca = w.ca_file(SITE);
    let pass_arg = format!("file:{}", w.path("pass.txt").display());
    let key_arg = key_path.display().to_string();
    let (ok, text) = openssl(&["asn1parse", "-in", &key_arg]);
    assert!(
        ok && text.contains("PBES2") && text.contains("PBKDF2"),
        "{text}"
    );
    assert!(
        text.contains("aes-256-cbc") && text.contains("hmacWithSHA256"),
        "{text}"
    );
    let (ok, from_key) = openssl(&["pkey", "-in", &key_arg, "-passin", &pass_arg, "-pubout"]);
    assert!(ok, "{from_key}");
    let (ok, from_cert) = openssl(&[
        "x509",
        "-in",
        &ca.display().to_string(),
        "-noout",
        "-pubkey",
    ]);
    assert!(ok);
    assert_eq!(from_key.trim(), from_cert.trim());
    let (ok, _) = openssl(&["pkey", "-in", &key_arg, "-passin", "pass:wrong", "-noout"]);
    assert!(!ok, "openssl accepted a wrong passphrase");

    // A wrong passphrase changes nothing, for issue and for revoke.
    let id = first["Id"].as_str().unwrap();
    let before = w.snapshot();
    let out = with_pass(&w, "wrong.txt", &issue);
    assert_json_code(&out, "InvalidParameter.CAPassphrase");
    let out = with_pass(&w, "wrong.txt", &["revoke", id, "--json"]);
    assert_json_code(&out, "InvalidParameter.CAPassphrase");
    let out = w.run(&["revoke", id, "--json"]);
    assert_json_code(&out, "InvalidParameter.CAPassphrase");
    assert_eq!(
        w.snapshot(),
        before,
        "a refused passphrase changed the store"
    );

    // The right one works for every signing operation.
    assert!(with_pass(&w, "pass.txt", &["revoke", id]).status.success());
    assert!(
        with_pass(&w, "pass.txt", &["crl", "--site-id", &site])
            .status
            .success()
    );
    let (ok, text) = openssl(&[
        "verify",
        "-CAfile",
        &ca.display().to_string(),
        &w.write("first.pem", first["Certificate"].as_str().unwrap())
            .display()
            .to_string(),
    ]);
    assert!(ok, "{text}");
    // doctor checks the key against the certificate when it can open it.
    let out = with_pass(&w, "pass.txt", &["doctor"]);
    assert_success(&out);
}

#[test]
fn rekey_protect_migrates_an_existing_store_and_changes_the_passphrase() {
    require_openssl!();
    let w = World::new("[ca]\nkey_type = \"ECC_256\"\n");
    w.write("pass.txt", &format!("{PASS}\n"));
    w.write("new.txt", "a brand new passphrase\n");
    let old = w.issue("ECC", 5);
    let key_path = w.store.join(format!("sites/{SITE}/ca/ca.key.pem"));
    let plain = std::fs::read_to_string(&key_path).unwrap();
    assert!(plain.starts_with("-----BEGIN PRIVATE KEY-----"));
    let site = SITE.to_string();

    // No passphrase source at all: refused, unchanged.
    let out = w.run(&["ca", "rekey-protect", "--site-id", &site]);
    assert_code(&out, "InvalidParameter.CAPassphrase");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), plain);

    // Migration with the passphrase the store will be opened with.
    let out = with_pass(&w, "pass.txt", &["ca", "rekey-protect", "--all"]);
    assert_success(&out);
    let sealed = std::fs::read_to_string(&key_path).unwrap();
    assert!(sealed.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert_eq!(mode(&key_path), 0o600);
    // `ca` still prints the certificate, and old certificates still verify.
    let ca = w.ca_file(SITE);
    let cert = w.write("old.pem", old["Certificate"].as_str().unwrap());
    let (ok, text) = openssl(&[
        "verify",
        "-CAfile",
        &ca.display().to_string(),
        &cert.display().to_string(),
    ]);
    assert!(ok, "{text}");
    assert_json_code(
        &w.run(&["crl", "--site-id", &site, "--json"]),
        "InvalidParameter.CAPassphrase",
    );
    assert!(
        with_pass(&w, "pass.txt", &["crl", "--site-id", &site])
            .status
            .success()
    );

    // Re-encryption under a new passphrase: the old one stops working.
    let new_file = w.path("new.txt").display().to_string();
    let out = with_pass(
        &w,
        "pass.txt",
        &[
            "ca",
            "rekey-protect",
            "--site-id",
            &site,
            "--new-passphrase-file",
            &new_file,
        ],
    );
    assert_success(&out);
    assert_json_code(
        &with_pass(&w, "pass.txt", &["crl", "--site-id", &site, "--json"]),
        "InvalidParameter.CAPassphrase",
    );
    assert!(
        with_pass(&w, "new.txt", &["crl", "--site-id", &site])
            .status
            .success()
    );
    let log = w.json(&["log", "--json"]);
    let protects = log["Result"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["Operation"] == "ca-protect")
        .count();
    assert_eq!(protects, 2);
}

// ---- secrets stay out of logs, errors and panics ----------------------------------

/// The base64 body lines of every PEM block in `text` (long enough to be
/// unmistakable).
fn pem_bodies(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_key_material_reaches_logs_or_stderr() {
    let w = protected_world();
    w.write("p12.txt", "p12-password-9f8e7d\n");
    let pass = w.path("pass.txt");
    let run = |args: &[&str]| {
        let out = w
            .cmd()
            .args(args)
            .env("ESA_CERTS_LOG", "trace")
            .env("ESA_CERTS_CA_PASSPHRASE_FILE", &pass)
            .output()
            .unwrap();
        (out.status.success(), out.stdout, out.stderr)
    };
    let site = SITE.to_string();
    let mut stderr = Vec::new();
    let mut secrets: Vec<String> = vec![PASS.into(), "p12-password-9f8e7d".into()];
    let (ok, out, err) = run(&[
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "5",
        "--pkey-type",
        "ECC",
        "--json",
    ]);
    assert!(ok, "{}", String::from_utf8_lossy(&err));
    stderr.extend(err);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let id = v["Id"].as_str().unwrap().to_owned();
    secrets.extend(pem_bodies(v["PrivateKey"].as_str().unwrap()));
    let p12 = w.path("x.p12").display().to_string();
    let p12_pass = w.path("p12.txt").display().to_string();
    for args in [
        vec!["export", &id, "--what", "key"],
        vec![
            "export",
            &id,
            "--what",
            "p12",
            "--out",
            &p12,
            "--password-file",
            &p12_pass,
        ],
        vec!["renew", &id, "--json"],
        vec!["revoke", &id],
        vec!["export", "0123", "--what", "key"],
        vec!["issue", "--site-id", &site, "--csr", "/nonexistent"],
    ] {
        let (_, out, err) = run(&args);
        if args[0] == "renew" {
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            secrets.extend(pem_bodies(v["PrivateKey"].as_str().unwrap()));
        }
        stderr.extend(err);
    }
    // The CA key, decrypted (by our own code: no openssl needed here).
    let sealed =
        std::fs::read_to_string(w.store.join(format!("sites/{SITE}/ca/ca.key.pem"))).unwrap();
    let pass_text = std::fs::read_to_string(&pass).unwrap();
    let plain = esa_certs::pki::unprotect(&sealed, pass_text.trim_end_matches('\n'))
        .expect("the CA key opens with its passphrase");
    secrets.extend(pem_bodies(&plain));
    assert!(secrets.len() > 4);
    let log = std::fs::read_to_string(w.store.join("logs/esa-certs.log")).unwrap();
    assert!(log.contains("TRACE") || log.contains("DEBUG") || log.contains("INFO"));
    let audit = std::fs::read_to_string(w.store.join("audit.log")).unwrap();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    for (name, text) in [("log", &log), ("audit.log", &audit), ("stderr", &stderr)] {
        assert!(!text.contains("PRIVATE KEY"), "{name} mentions a PEM key");
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{name} contains a secret: {s}");
        }
    }
}

// ---- modes under a permissive umask ------------------------------------------------

#[test]
fn every_secret_is_private_from_creation_under_umask_000() {
    let w = World::new("[ca]\nkey_type = \"ECC_256\"\n");
    w.write("pass.txt", "umask test passphrase\n");
    w.write("p12.txt", "p12pass\n");
    let bin = env!("CARGO_BIN_EXE_esa-certs");
    let cfg = w.config.display().to_string();
    let script = format!(
        "umask 000 && export ESA_CERTS_CA_PASSPHRASE_FILE='{pass}' && \
         id=$('{bin}' --config '{cfg}' issue --site-id {SITE} --validity-days 3 --pkey-type ecc --count 3 --json | head -n 1 | sed 's/.*\"Id\":\"\\([0-9a-f]*\\)\".*/\\1/') && \
         '{bin}' --config '{cfg}' ca rekey-protect --site-id {SITE} && \
         '{bin}' --config '{cfg}' export \"$id\" --what key --out '{dir}/k.pem' && \
         '{bin}' --config '{cfg}' export \"$id\" --what p12 --out '{dir}/k.p12' --password-file '{dir}/p12.txt' && \
         '{bin}' --config '{cfg}' renew \"$id\" --revoke-old > /dev/null",
        pass = w.path("pass.txt").display(),
        dir = w.dir.path().display(),
    );
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert_success(&out);
    assert_eq!(mode(&w.path("k.pem")), 0o600);
    assert_eq!(mode(&w.path("k.p12")), 0o600);
    assert_eq!(mode(&w.store.join("audit.log")), 0o600);
    let c = certs(&w);
    let mut keys = 0;
    for e in std::fs::read_dir(&c).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".key.pem") || name.ends_with(".toml") {
            assert_eq!(mode(&e.path()), 0o600, "{name}");
            keys += usize::from(name.ends_with(".key.pem"));
        }
    }
    assert_eq!(keys, 4, "three bulk keys and the renewal's");
    assert_eq!(
        mode(&w.store.join(format!("sites/{SITE}/ca/ca.key.pem"))),
        0o600
    );
    // And doctor, which checks every file and folder, agrees.
    let out = w
        .cmd()
        .arg("doctor")
        .env("ESA_CERTS_CA_PASSPHRASE_FILE", w.path("pass.txt"))
        .output()
        .unwrap();
    assert_success(&out);
}

// ---- the audit trail -------------------------------------------------------------

#[test]
fn the_audit_trail_records_who_did_what_and_survives_a_torn_line() {
    let w = World::new("");
    w.write("p12.txt", "p12pass\n");
    let run = |args: &[&str]| {
        let out = w.cmd().args(args).env("USER", "alice").output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let site = SITE.to_string();
    let v: serde_json::Value = serde_json::from_slice(&run(&[
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "5",
        "--pkey-type",
        "ECC",
        "--json",
    ]))
    .unwrap();
    let id = v["Id"].as_str().unwrap().to_owned();
    let serial = v["SerialNumber"].as_str().unwrap().to_owned();
    let p12 = w.path("x.p12").display().to_string();
    let pw = w.path("p12.txt").display().to_string();
    run(&["export", &id, "--what", "key"]);
    run(&[
        "export",
        &id,
        "--what",
        "p12",
        "--out",
        &p12,
        "--password-file",
        &pw,
    ]);
    run(&["export", &id, "--what", "cert"]);
    run(&["revoke", &id, "--reason", "keyCompromise"]);
    run(&["activate", &id]);
    let r: serde_json::Value =
        serde_json::from_slice(&run(&["renew", &id, "--revoke-old", "--json"])).unwrap();
    let new_id = r["Id"].as_str().unwrap().to_owned();
    run(&["delete", &id]);
    run(&[
        "issue",
        "--site-id",
        "42",
        "--validity-days",
        "5",
        "--pkey-type",
        "ECC",
        "--count",
        "2",
    ]);

    let log = w.json(&["log", "--json"]);
    let ops: Vec<(String, String)> = log["Result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["User"], "alice");
            assert_eq!(
                r["Uid"],
                u64::from(own_uid()),
                "the kernel's uid, not $USER"
            );
            assert!(r["Time"].as_str().unwrap().ends_with('Z'));
            (
                r["Operation"].as_str().unwrap().to_owned(),
                r["Id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let names: Vec<&str> = ops.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        names,
        [
            "ca-create",
            "issue",
            "export-key",
            "export-p12",
            "revoke",
            "activate",
            "renew",
            "revoke",
            "delete",
            "ca-create",
            "issue",
            "issue"
        ],
        "a cert export is not a key export and is not audited"
    );
    assert_eq!(ops[6].1, new_id);
    let mine = w.json(&["log", "--json", "--id", &id]);
    assert_eq!(mine["TotalCount"], 7);
    assert!(
        mine["Result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["SerialNumber"] == serial.as_str())
    );
    assert_eq!(
        w.json(&["log", "--json", "--site-id", "42"])["TotalCount"],
        3
    );
    assert_eq!(
        w.json(&["log", "--json", "--since", "2999-01-01"])["TotalCount"],
        0
    );
    assert_code(&w.run(&["log", "--since", "yesterday"]), "InvalidParameter");
    let text = w.ok(&["log", "--id", &id]);
    assert!(
        text.contains("revoke") && text.contains("by alice"),
        "{text}"
    );

    // A crash tore the last line: `log` skips it and says so, and the next
    // operation's record is intact.
    let audit = w.store.join("audit.log");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&audit)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"time\":\"2026-").unwrap();
    let out = w.run(&["log"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped line 13"));
    w.issue("ECC", 5);
    let log = w.json(&["log", "--json"]);
    assert_eq!(log["TotalCount"], 13);
    assert_eq!(log["SkippedLines"].as_array().unwrap().len(), 1);
    assert_eq!(mode(&audit), 0o600);
}

#[test]
fn no_audit_record_means_no_operation() {
    let w = World::new("");
    let a = w.issue("ECC", 5);
    let id = a["Id"].as_str().unwrap();
    // Make the audit log unwritable: a directory in its place.
    let audit = w.store.join("audit.log");
    std::fs::remove_file(&audit).unwrap();
    std::fs::create_dir(&audit).unwrap();
    let before = w.snapshot();
    assert_code(
        &w.run(&[
            "issue",
            "--site-id",
            &SITE.to_string(),
            "--validity-days",
            "5",
        ]),
        "InternalException",
    );
    assert_code(&w.run(&["revoke", id]), "InternalException");
    assert_code(
        &w.run(&["export", id, "--what", "key"]),
        "InternalException",
    );
    assert_eq!(
        w.snapshot(),
        before,
        "an unaudited operation changed the store"
    );
}

// ---- symbolic links planted in the store -----------------------------------------

#[test]
fn symlinks_in_the_store_are_never_followed() {
    use std::os::unix::fs::symlink;
    let w = World::new("");
    let a = w.issue("ECC", 30);
    let b = w.issue("ECC", 30);
    let a_id = a["Id"].as_str().unwrap();
    let b_id = b["Id"].as_str().unwrap();
    let site = SITE.to_string();
    let issue = [
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "5",
        "--json",
    ];

    // The audit log and the lock redirected outside: no write goes there,
    // and without its audit record the operation does not happen.
    for name in ["audit.log", ".lock"] {
        let outside = w.path(&format!("outside-{name}"));
        std::fs::write(&outside, "untouched\n").unwrap();
        let inside = w.store.join(name);
        std::fs::rename(&inside, w.path("saved")).unwrap();
        symlink(&outside, &inside).unwrap();
        let before = w.snapshot();
        let out = w.run(&issue);
        assert!(!out.status.success(), "{name}: issued through a symlink");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "untouched\n");
        assert_eq!(before, w.snapshot(), "{name}: store changed");
        std::fs::remove_file(&inside).unwrap();
        std::fs::rename(w.path("saved"), &inside).unwrap();
    }

    // The listing cache redirected: never written through.
    let index = w.store.join(format!("index/{SITE}.jsonl"));
    let outside = w.path("outside-index");
    std::fs::remove_file(&index).unwrap();
    symlink(&outside, &index).unwrap();
    w.json(&issue);
    w.ok(&["list"]);
    assert!(!outside.exists(), "the cache was written through a symlink");
    std::fs::remove_file(&index).unwrap();

    // A key file that is a link to another file (here: another
    // certificate's key) is not exported.
    let key_a = certs(&w).join(format!("{a_id}.key.pem"));
    std::fs::remove_file(&key_a).unwrap();
    symlink(certs(&w).join(format!("{b_id}.key.pem")), &key_a).unwrap();
    let out = w.run(&["export", a_id, "--what", "key"]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PRIVATE KEY"));
    // ... nor is a plain copy of another certificate's key.
    std::fs::remove_file(&key_a).unwrap();
    std::fs::copy(certs(&w).join(format!("{b_id}.key.pem")), &key_a).unwrap();
    let out = w.run(&["export", a_id, "--what", "key", "--json"]);
    assert_json_code(&out, "InternalException");
    assert!(out.stdout.is_empty());

    // doctor calls a link a problem.
    std::fs::remove_file(&key_a).unwrap();
    symlink("/etc/hostname", &key_a).unwrap();
    let (code, v) = doctor(&w, &[]);
    assert_eq!(code, 1);
    assert!(findings(&v).iter().any(|(k, _)| k == "symlink"), "{v:#}");
}

#[test]
fn rekey_protect_all_re_encrypts_every_site_or_none() {
    let w = protected_world();
    w.write("new.txt", "a brand new passphrase\n");
    for site in [SITE, SITE2] {
        let out = with_pass(&w, "pass.txt", &["ca", "--site-id", &site.to_string()]);
        assert_success(&out);
    }
    let key = |site: u64| w.store.join(format!("sites/{site}/ca/ca.key.pem"));
    let new_file = w.path("new.txt").display().to_string();
    let rekey = [
        "ca",
        "rekey-protect",
        "--all",
        "--new-passphrase-file",
        &new_file,
    ];

    // With the wrong current passphrase nothing changes, for any site.
    let before = w.snapshot();
    let out = with_pass(&w, "wrong.txt", &rekey);
    assert_code(&out, "InvalidParameter.CAPassphrase");
    assert_eq!(before, w.snapshot());

    let out = with_pass(&w, "pass.txt", &rekey);
    assert_success(&out);
    for site in [SITE, SITE2] {
        let crl = ["crl", "--site-id", &site.to_string()];
        assert_success(&with_pass(&w, "new.txt", &crl));
        assert_code(
            &with_pass(&w, "pass.txt", &crl),
            "InvalidParameter.CAPassphrase",
        );
        assert_eq!(mode(&key(site)), 0o600);
    }
}

#[test]
fn doctor_catches_metadata_that_disagrees_with_its_certificate() {
    let w = World::new("");
    let v = w.issue("ECC", 30);
    let id = v["Id"].as_str().unwrap();
    let meta = certs(&w).join(format!("{id}.toml"));
    set_toml_line(&meta, "not_after", "\"2020-01-01T00:00:00Z\"");
    let (code, v) = doctor(&w, &[]);
    assert_eq!(code, 1);
    assert!(
        findings(&v).contains(&("meta-mismatch".to_owned(), id.to_owned())),
        "{v:#}"
    );
}

#[test]
fn a_plaintext_ca_key_under_protect_key_is_pointed_out() {
    let w = World::new("[ca]\nkey_type = \"ECC_256\"\n");
    w.issue("ECC", 5);
    let cfg = std::fs::read_to_string(&w.config)
        .unwrap()
        .replace("[ca]\n", "[ca]\nprotect_key = true\n");
    std::fs::write(&w.config, cfg).unwrap();
    w.write("pass.txt", &format!("{PASS}\n"));
    let site = SITE.to_string();
    let issue_args = [
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "5",
        "--json",
    ];
    let issue = || with_pass(&w, "pass.txt", &issue_args);
    let out = issue();
    assert_success(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plaintext") && err.contains("ca rekey-protect --site-id"),
        "{err}"
    );
    // Once encrypted, no more warning.
    assert_success(&with_pass(
        &w,
        "pass.txt",
        &["ca", "rekey-protect", "--site-id", &site],
    ));
    let out = issue();
    assert_success(&out);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}
