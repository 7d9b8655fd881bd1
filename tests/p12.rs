//! `export --what p12|der`: OpenSSL reads both PKCS#12 modes for every key
//! type, the wrong password fails, passwords never come from an argument,
//! and a certificate without a kept key says so instead of writing a file.

mod common;
mod lifecycle_support;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{SITE, World, assert_code, have, openssl};
use lifecycle_support::{issue, issue_on};

const PW: &str = "correct horse battery";

fn pkcs12(file: &Path, args: &[&str]) -> (bool, String) {
    let mut a = vec!["pkcs12", "-in", file.to_str().unwrap()];
    a.extend_from_slice(args);
    openssl(&a)
}

fn export_p12(w: &World, id: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let pw = w.write("pw.txt", &format!("{PW}\n"));
    let mut args = vec![
        "export",
        id,
        "--what",
        "p12",
        "--out",
        out.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    w.run(&args)
}

#[test]
fn openssl_reads_both_modes_for_every_key_type() {
    require_openssl!();
    let w = World::new("");
    for pkey in ["RSA", "ECC_256", "ECC_384", "ED25519"] {
        let c = issue(&w, pkey);
        for (mode, extra, marks) in [
            (
                "modern",
                &[][..],
                &[
                    "PBES2, PBKDF2, AES-256-CBC",
                    "PRF hmacWithSHA256",
                    "MAC: sha256",
                ][..],
            ),
            (
                "legacy",
                &["--legacy"][..],
                &["pbeWithSHA1And3-KeyTripleDES-CBC", "MAC: sha1"][..],
            ),
        ] {
            let file = w.path(&format!("{pkey}-{mode}.p12"));
            let out = export_p12(&w, &c.id, &file, extra);
            assert!(out.status.success(), "{pkey} {mode}: {out:?}");
            assert!(String::from_utf8_lossy(&out.stderr).contains("wrote PKCS#12"));
            let mode_bits = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode_bits, 0o600, "{pkey} {mode}");

            let pass = format!("pass:{PW}");
            let (ok, info) = pkcs12(&file, &["-info", "-noout", "-passin", &pass]);
            assert!(ok, "{pkey} {mode}: {info}");
            for m in marks {
                assert!(info.contains(m), "{pkey} {mode}: missing {m:?} in {info}");
            }
            // Certificate + CA, and the key that belongs to the certificate.
            let (ok, certs) = pkcs12(&file, &["-nokeys", "-passin", &pass]);
            assert!(ok, "{certs}");
            assert_eq!(certs.matches("-----BEGIN CERTIFICATE-----").count(), 2);
            assert!(
                certs.contains("subject=CN = example.com Client CA"),
                "{certs}"
            );
            let (ok, key) = pkcs12(&file, &["-nocerts", "-nodes", "-passin", &pass]);
            assert!(ok, "{pkey} {mode}: {key}");
            let key_file = w.write(&format!("{pkey}-{mode}.key"), &key);
            let (ok, from_key) = openssl(&["pkey", "-in", key_file.to_str().unwrap(), "-pubout"]);
            assert!(ok, "{pkey} {mode}: {from_key}");
            let (_, from_cert) =
                openssl(&["x509", "-noout", "-pubkey", "-in", c.cert.to_str().unwrap()]);
            assert_eq!(from_key, from_cert, "{pkey} {mode}: key does not match");

            let (ok, text) = pkcs12(&file, &["-info", "-noout", "-passin", "pass:wrong"]);
            assert!(!ok, "{pkey} {mode}: a wrong password was accepted");
            assert!(text.contains("verify error"), "{text}");
        }
    }
}

#[test]
fn password_from_stdin_and_clear_errors_without_one() {
    let w = World::new("");
    let c = issue(&w, "ECC");
    let file = w.path("stdin.p12");
    let out = w.run_stdin(
        &[
            "export",
            &c.id,
            "--what",
            "p12",
            "--out",
            file.to_str().unwrap(),
            "--password-file",
            "-",
        ],
        format!("{PW}\nignored second line\n").as_bytes(),
    );
    assert!(out.status.success(), "{out:?}");
    let back = esa_certs::pki::open_p12(&std::fs::read(&file).unwrap(), PW).unwrap();
    assert_eq!(back.certs_der.len(), 2);

    // No file and no terminal: a clear parameter error, no file.
    let none = w.path("none.p12");
    let out = w.run(&[
        "export",
        &c.id,
        "--what",
        "p12",
        "--out",
        none.to_str().unwrap(),
    ]);
    assert_code(&out, "InvalidParameter");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-file"));
    assert!(!none.exists());

    // An empty password is refused.
    let empty = w.write("empty.txt", "\n");
    let out = w.run(&[
        "export",
        &c.id,
        "--what",
        "p12",
        "--out",
        none.to_str().unwrap(),
        "--password-file",
        empty.to_str().unwrap(),
    ]);
    assert_code(&out, "InvalidParameter");
    assert!(!none.exists());

    // There is no way to pass the password itself as an argument.
    for flag in ["--password", "--pass", "--passout"] {
        let out = w.run(&["export", &c.id, "--what", "p12", flag, PW]);
        assert_eq!(out.status.code(), Some(2), "{flag} must be a usage error");
    }
    // p12 options with another format are a mistake worth reporting.
    let pw = w.write("pw2.txt", PW);
    assert_code(
        &w.run(&[
            "export",
            &c.id,
            "--what",
            "cert",
            "--password-file",
            pw.to_str().unwrap(),
        ]),
        "InvalidParameter",
    );
    assert_code(
        &w.run(&["export", &c.id, "--what", "key", "--legacy"]),
        "InvalidParameter",
    );
}

#[test]
fn a_certificate_without_a_kept_key_says_so_and_writes_nothing() {
    require_openssl!();
    let w = World::with_config(&format!(
        "[store]\npath = \"store\"\nkeep_private_keys = false\n[[site]]\nid = {SITE}\nname = \"example.com\"\n"
    ));
    let c = issue(&w, "ECC");
    let file = w.path("nokey.p12");
    let out = export_p12(&w, &c.id, &file, &[]);
    assert_code(&out, "InvalidParameter");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not kept"),
        "{out:?}"
    );
    assert!(!file.exists());

    // A CSR certificate: the key never left the requester.
    let key = w.path("k.pem");
    let req = w.path("r.csr");
    let (ok, text) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ed25519",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-subj",
        "/CN=csr-holder",
        "-out",
        req.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    let v = w.json(&[
        "issue",
        "--site-id",
        &SITE.to_string(),
        "--validity-days",
        "5",
        "--csr",
        req.to_str().unwrap(),
        "--json",
    ]);
    let out = export_p12(&w, v["Id"].as_str().unwrap(), &file, &[]);
    assert_code(&out, "InvalidParameter");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("issued for a CSR"),
        "{out:?}"
    );
    assert!(!file.exists());
}

#[test]
fn der_export_is_the_certificate_and_relative_paths_work() {
    require_openssl!();
    let w = World::new("");
    let c = issue(&w, "ED25519");
    let out = w
        .cmd()
        .current_dir(w.dir.path())
        .args(["export", &c.id, "--what", "der", "--out", "rel.der"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let der_file = w.path("rel.der");
    let (ok, text) = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        der_file.to_str().unwrap(),
        "-noout",
        "-fingerprint",
        "-sha256",
    ]);
    assert!(ok, "{text}");
    let fp = text
        .split('=')
        .nth(1)
        .unwrap()
        .trim()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(fp, c.json["FingerprintSha256"].as_str().unwrap());
    // To a pipe, the same bytes.
    let piped = w.run(&["export", &c.id, "--what", "der"]);
    assert!(piped.status.success());
    assert_eq!(piped.stdout, std::fs::read(&der_file).unwrap());

    // A relative --out for a p12 (a bare file name has an empty parent).
    let pw = w.write("pw.txt", PW);
    let out = w
        .cmd()
        .current_dir(w.dir.path())
        .args([
            "export",
            &c.id,
            "--what",
            "p12",
            "--out",
            "rel.p12",
            "--password-file",
        ])
        .arg(&pw)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(w.path("rel.p12").exists());
}

/// Runs `esa-certs` under a pseudo-terminal (`script`), typing `answers`
/// each time a prompt appears. Returns (exit success, transcript).
fn on_a_terminal(w: &World, args: &[&str], answers: &[&str]) -> (bool, String) {
    let mut cmd_line = format!(
        "{} --config {}",
        env!("CARGO_BIN_EXE_esa-certs"),
        w.config.display()
    );
    for a in args {
        cmd_line.push(' ');
        cmd_line.push_str(a);
    }
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd_line, "/dev/null"])
        .env_remove("ESA_CERTS_CONFIG")
        .env("HOME", w.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    let transcript = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = Arc::clone(&transcript);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    for (i, answer) in answers.iter().enumerate() {
        // Type only once the prompt is up, so echo is already off.
        while transcript.lock().unwrap().matches("password: ").count() <= i {
            assert!(
                Instant::now() < deadline,
                "no prompt: {}",
                transcript.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let t = transcript.lock().unwrap().clone();
    (status.success(), t)
}

#[test]
fn on_a_terminal_the_password_is_asked_twice_without_echo() {
    if !have("script", &["-V"]) {
        eprintln!("SKIPPED: `script` (util-linux) is not installed");
        return;
    }
    let w = World::new("");
    let c = issue_on(&w, SITE, "ECC", 5);
    let file = w.path("tty.p12");
    let out = format!("--out {}", file.display());
    let args = ["export", &c.id, "--what", "p12", &out];
    let (ok, t) = on_a_terminal(&w, &args, &["Tty Secret 1", "Tty Secret 1"]);
    assert!(ok, "{t}");
    assert!(
        t.contains("PKCS#12 password: ") && t.contains("Repeat the password: "),
        "{t}"
    );
    assert!(!t.contains("Tty Secret"), "the password was echoed: {t}");
    let back = esa_certs::pki::open_p12(&std::fs::read(&file).unwrap(), "Tty Secret 1");
    assert!(back.is_ok(), "{back:?}");

    let other = w.path("mismatch.p12");
    let out = format!("--out {}", other.display());
    let args = ["export", &c.id, "--what", "p12", &out];
    let (ok, t) = on_a_terminal(&w, &args, &["one", "two"]);
    assert!(!ok && t.contains("do not match"), "{t}");
    assert!(!other.exists());
}
