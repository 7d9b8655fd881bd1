//! Helpers for the lifecycle, TLS and PKCS#12 tests (beside `tests/common`,
//! which they build on): issued certificates as files, simulated expiry,
//! CRL files, and `openssl verify`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use crate::common::{SITE, World, openssl, set_toml_line};

/// A certificate issued through the CLI, with its PEM files on disk.
#[derive(Debug, Clone)]
pub struct Issued {
    pub id: String,
    pub serial: String,
    pub pkey: String,
    pub cert: PathBuf,
    /// Empty path when the certificate has no key here (CSR).
    pub key: PathBuf,
    pub json: serde_json::Value,
}

/// Issues a certificate of `pkey` on `site` and writes cert and key files.
pub fn issue_on(w: &World, site: u64, pkey: &str, days: u32) -> Issued {
    let v = w.json(&[
        "issue",
        "--site-id",
        &site.to_string(),
        "--validity-days",
        &days.to_string(),
        "--pkey-type",
        pkey,
        "--json",
    ]);
    files_for(w, v, pkey)
}

pub fn issue(w: &World, pkey: &str) -> Issued {
    issue_on(w, SITE, pkey, 30)
}

/// Writes the certificate (and key, when present) of an issue/renew JSON.
pub fn files_for(w: &World, v: serde_json::Value, pkey: &str) -> Issued {
    let id = v["Id"].as_str().expect("Id").to_owned();
    let cert = w.write(&format!("{id}.crt.pem"), v["Certificate"].as_str().unwrap());
    let key_text = v["PrivateKey"].as_str().unwrap_or("");
    let key = if key_text.is_empty() {
        PathBuf::new()
    } else {
        w.write(&format!("{id}.key.pem"), key_text)
    };
    Issued {
        serial: v["SerialNumber"].as_str().unwrap().to_owned(),
        id,
        pkey: pkey.to_owned(),
        cert,
        key,
        json: v,
    }
}

/// A file of a live certificate entry: `<id><suffix>` in the site's
/// `certs/` folder (`.pem`, `.key.pem`, `.toml`).
pub fn entry_file(w: &World, site: u64, id: &str, suffix: &str) -> PathBuf {
    w.store
        .join("sites")
        .join(site.to_string())
        .join("certs")
        .join(format!("{id}{suffix}"))
}

/// Simulates the passage of time for a certificate: its recorded NotAfter
/// (which `expired` is derived from) moves into the past. The certificate
/// file is left alone; only the status logic is under test.
pub fn make_expired(w: &World, site: u64, id: &str) {
    let meta = entry_file(w, site, id, ".toml");
    set_toml_line(&meta, "not_after", "\"2001-01-01T00:00:00Z\"");
}

/// Runs `esa-certs crl` for a site and writes the PEM to a fresh file.
pub fn crl_file(w: &World, site: u64, name: &str) -> PathBuf {
    let pem = w.ok(&["crl", "--site-id", &site.to_string()]);
    w.write(name, &pem)
}

/// `openssl verify -crl_check`: (success, output).
pub fn verify_with_crl(ca: &Path, crl: &Path, cert: &Path) -> (bool, String) {
    openssl(&[
        "verify",
        "-purpose",
        "sslclient",
        "-crl_check",
        "-CAfile",
        ca.to_str().unwrap(),
        "-CRLfile",
        crl.to_str().unwrap(),
        cert.to_str().unwrap(),
    ])
}

/// The serials (lower-case hex, no leading zeros) an `openssl crl -text`
/// listing names, and its CRL number.
pub fn crl_serials_and_number(crl: &Path) -> (Vec<String>, u64, String) {
    let (ok, text) = openssl(&["crl", "-noout", "-text", "-in", crl.to_str().unwrap()]);
    assert!(ok, "openssl crl rejected our CRL: {text}");
    let mut serials = Vec::new();
    let mut number = None;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if let Some(s) = t.strip_prefix("Serial Number: ") {
            serials.push(s.trim_start_matches('0').to_ascii_lowercase());
        }
        if t.starts_with("X509v3 CRL Number") {
            number = lines.peek().and_then(|n| n.trim().parse().ok());
        }
    }
    (serials, number.expect("CRL number"), text)
}
