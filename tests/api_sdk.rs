//! `esa-certs serve` driven by the official Alibaba Cloud SDKs (Python
//! `alibabacloud-esa20240910` for ACS3, `aliyun-python-sdk-core` for V1),
//! with each result checked through the store's own CLI and by OpenSSL.

mod common;

use common::server::{drive, sdk_python};
use common::{SITE, SITE2, World, openssl_csr};

/// A self-signed CA made by OpenSSL, to upload.
fn openssl_ca(w: &World, name: &str) -> std::path::PathBuf {
    let exts = [
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign",
    ];
    common::openssl_self_signed(w, name, &format!("/CN={name}"), 30, &exts).0
}

#[test]
fn every_operation_through_the_official_sdk_and_the_cli_sees_it() {
    let Some(py) = sdk_python() else { return };
    require_openssl!();
    let w = World::new("").with_access_key();
    let csr = openssl_csr(
        &w,
        "leaf",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "/CN=sdk-client",
        &[],
    );
    let ca1 = openssl_ca(&w, "corp-root");
    let ca2 = openssl_ca(&w, "other-root");
    let server = w.serve(&[]);
    let out = drive(
        &py,
        "all-ops",
        &server,
        SITE,
        &[
            csr.to_str().unwrap(),
            ca1.to_str().unwrap(),
            ca2.to_str().unwrap(),
        ],
    );

    // The CLI sees what the API did: the generated certificate is active,
    // the CSR one was deleted.
    let generated = out["generated"]["id"].as_str().unwrap();
    let deleted = out["csr"]["id"].as_str().unwrap();
    let list = w.json(&["list", "--site-id", &SITE.to_string(), "--json"]);
    let ids: Vec<&str> = list["Result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [generated]);
    assert_eq!(out["csr"]["common_name"], "sdk-client");
    let shown = w.run(&["show", deleted]);
    assert!(!shown.status.success(), "the deleted certificate is gone");

    // Uploaded CA and bindings, through `ca list` and the trust bundle.
    let cas = w.json(&["ca", "list", "--site-id", &SITE.to_string(), "--json"]);
    let rows = cas["Result"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "managed + one upload: {cas}");
    assert_eq!(rows[0]["Type"], "managed");
    assert_eq!(rows[1]["Id"], out["upload"]["id"]);
    assert_eq!(
        rows[1]["Hostnames"],
        serde_json::json!(["api.example.com", "www.example.com"])
    );
    let bundle = w.ok(&["ca", "--site-id", &SITE.to_string(), "--bundle"]);
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
    let hosts = w.json(&[
        "hostnames",
        "--site-id",
        &SITE.to_string(),
        "--certificate",
        "--id",
        generated,
        "--json",
    ]);
    assert_eq!(hosts["Hostnames"], serde_json::json!(["app.example.com"]));

    // The certificate issued over the API passes OpenSSL as a client
    // certificate of the site CA, and of the bundle.
    let cert = w.write("api.pem", out["generated"]["certificate"].as_str().unwrap());
    let ca = w.ca_file(SITE);
    let bundle_file = w.write("bundle.pem", &bundle);
    for anchor in [&ca, &bundle_file] {
        let (ok, text) = common::verify_client(anchor, &cert);
        assert!(ok, "openssl verify: {text}");
    }

    // The other way round: the API sees what the CLI issues.
    let cli = w.issue("ECC_256", 20);
    let got = w.json(&["show", cli["Id"].as_str().unwrap(), "--json"]);
    assert_eq!(got["Result"]["Id"], cli["Id"]);
    let sites = out["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 2);
    assert_eq!(sites[0], serde_json::json!([SITE, "example.com", "active"]));

    // The audit log names the AccessKeyId and the remote address.
    let log = std::fs::read_to_string(w.store.join("audit.log")).unwrap();
    let api_issue = log
        .lines()
        .find(|l| l.contains(generated) && l.contains("\"issue\""))
        .unwrap();
    assert!(
        api_issue.contains("\"access_key_id\":\"testAKID\"")
            && api_issue.contains("\"remote\":\"127.0.0.1:"),
        "{api_issue}"
    );
    assert!(
        !log.contains(common::server::SECRET),
        "no secret in the audit log"
    );
    assert!(server.stop(), "SIGTERM: exit 0");
    let logs = std::fs::read_dir(w.store.join("logs")).unwrap();
    for f in logs.flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap_or_default();
        assert!(
            !text.contains(common::server::SECRET) && !text.contains("PRIVATE KEY"),
            "no secret or key in {}",
            f.path().display()
        );
    }
}

#[test]
fn every_error_code_through_the_official_sdk() {
    let Some(py) = sdk_python() else { return };
    let w = World::with_config(&format!(
        "[store]\npath = \"store\"\n[[site]]\nid = {SITE}\nname = \"example.com\"\n[[site]]\nid = {SITE2}\nname = \"other.example\"\n[[site]]\nid = 77\nname = \"quota.example\"\nmax_client_certificates = 1\n"
    ))
    .with_access_key();
    let server = w.serve(&[]);
    let before_token = w.snapshot();
    let out = drive(&py, "errors", &server, SITE, &[&SITE2.to_string(), "77"]);
    let expect = [
        ("MissingSiteId", "MissingSiteId", 400),
        ("InvalidSiteId", "InvalidParameter.SiteId", 400),
        ("InvalidValidityDays", "InvalidParameter.ValidityDays", 400),
        (
            "InvalidValidityDaysHuge",
            "InvalidParameter.ValidityDays",
            400,
        ),
        ("InvalidPkeyType", "InvalidParameter.PkeyType", 400),
        ("InvalidCsr", "InvalidParameter.CSR", 400),
        ("InvalidId", "InvalidParameter.Id", 400),
        ("InvalidIdMalformed", "InvalidParameter.Id", 400),
        ("InvalidCertificate", "InvalidParameter.Certificate", 400),
        ("InvalidHostnames", "InvalidParameter.Hostnames", 400),
        ("InvalidPage", "InvalidParameter", 400),
        ("InvalidToken", "Unauthorized.InvalidToken", 403),
        ("UnknownKey", "Unauthorized.InvalidToken", 403),
        ("StatusError", "Certificate.StatusError", 400),
        ("OtherSite", "InvalidParameter.Id", 400),
        ("QuotaCheckFailed", "QuotaCheckFailed.Function", 400),
        ("InvalidAction", "InvalidAction.NotFound", 400),
        ("InvalidTime", "Unauthorized.InvalidTime", 403),
        ("Replay", "Unauthorized.InvalidToken", 403),
    ];
    for (case, code, status) in expect {
        let e = &out[case];
        assert_eq!(e["code"], code, "{case}: {e}");
        assert_eq!(e["status"], status, "{case}: {e}");
        let rid = e["request_id"].as_str().unwrap_or_default();
        assert!(!rid.is_empty(), "{case}: every error carries a RequestId");
        assert_eq!(e["data"]["RequestId"], rid, "{case}");
        assert!(e["data"]["HostId"].is_string(), "{case}");
        assert!(
            !e["message"]
                .as_str()
                .unwrap()
                .contains(common::server::SECRET)
        );
    }
    assert!(
        out["InvalidTime"]["message"]
            .as_str()
            .unwrap()
            .contains("server's time")
    );
    // Only the two successful creates changed the store.
    let list = w.json(&["list", "--json"]);
    assert_eq!(list["Result"].as_array().unwrap().len(), 2);
    assert_ne!(before_token, w.snapshot());
}

#[test]
fn eight_concurrent_sdk_clients_issue_200_distinct_certificates() {
    let Some(py) = sdk_python() else { return };
    let w = World::in_memory("").with_access_key();
    let server = w.serve(&[]);
    let out = drive(&py, "concurrent", &server, SITE, &["8", "25"]);
    assert_eq!(out["failures"], serde_json::json!([]));
    let mut serials: Vec<&str> = out["serials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(serials.len(), 200);
    serials.sort_unstable();
    serials.dedup();
    assert_eq!(serials.len(), 200, "200 distinct serials");
    let list = w.json(&["list", "--json"]);
    assert_eq!(list["TotalCount"], 200);
    let doctor = w.run(&["doctor"]);
    common::assert_success(&doctor);
}

#[test]
fn the_v1_hmac_sha1_sdk_is_verified_too() {
    let Some(py) = sdk_python() else { return };
    let w = World::new("").with_access_key();
    let server = w.serve(&[]);
    let out = drive(&py, "v1", &server, SITE, &[]);
    assert_eq!(out["created"], out["got"]);
    assert_eq!(out["error"]["code"], "Unauthorized.InvalidToken");
    assert_eq!(out["error"]["status"], 403);
}

#[test]
fn the_sdk_speaks_https_to_serve_with_a_private_root() {
    let Some(py) = sdk_python() else { return };
    require_openssl!();
    let w = World::new("").with_access_key();
    let (cert, key) = common::openssl_self_signed(
        &w,
        "tls",
        "/CN=localhost",
        2,
        &["subjectAltName=DNS:localhost,IP:127.0.0.1"],
    );
    let server = w.serve(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let out = drive(&py, "tls", &server, SITE, &[cert.to_str().unwrap()]);
    assert_eq!(out["sites"], 2);
    let id = out["id"].as_str().unwrap();
    assert_eq!(w.json(&["show", id, "--json"])["Result"]["Id"], id);
}
