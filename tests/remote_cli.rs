//! The CLI over a remote ESA endpoint: `esa-certs serve` runs in another
//! process on its own store, and a second config's `[[remote]]` names it;
//! every operation runs with `--remote team`, and each result is checked
//! through the server's own store (its CLI), and with OpenSSL where it is
//! a certificate.

mod common;

use common::server::{SECRET, Server};
use common::{SITE, World, assert_json_code, have_openssl, openssl};

/// The server's world (two sites, the test access key) and a client world
/// whose config names the server as `[[remote]] team`.
fn pair(secret: &str) -> (World, Server, World) {
    let server = World::new("").with_access_key();
    let running = server.serve(&[]);
    let client = World::remote_client(&running, secret);
    (server, running, client)
}

fn remote<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--remote", "team"];
    v.extend_from_slice(args);
    v
}

#[test]
fn every_operation_runs_on_the_remote_and_lands_in_the_servers_store() {
    let (server, _running, client) = pair(SECRET);
    let site = SITE.to_string();

    // ListSites: the server's sites, not the client's own.
    let sites = client.json(&remote(&["sites", "--json"]));
    let ids: Vec<u64> = sites["Sites"]
        .as_array()
        .or_else(|| sites["Result"].as_array())
        .expect("a list of sites")
        .iter()
        .map(|s| s["SiteId"].as_u64().unwrap())
        .collect();
    assert!(ids.contains(&SITE), "{sites}");
    assert!(
        !ids.contains(&7),
        "the client's local site leaked in: {sites}"
    );

    // Create from a generated key: the key comes back once and is kept in
    // this machine's key folder (keep_private_keys = true).
    let made = client.json(&remote(&[
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "30",
        "--pkey-type",
        "ECC_256",
        "--common-name",
        "alice.example.com",
        "--json",
    ]));
    let id = made["Id"].as_str().unwrap().to_owned();
    assert!(made["PrivateKey"].as_str().unwrap().contains("PRIVATE KEY"));
    let there = server.json(&["show", &id, "--json"]);
    assert_eq!(there["Result"]["CommonName"], "alice.example.com");
    assert_eq!(there["Status"], "active");

    // Create from a CSR.
    let csr_id = if have_openssl() {
        let csr = common::openssl_csr(
            &client,
            "bob",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "/CN=bob.example.com",
            &[],
        );
        let r = client.json(&remote(&[
            "issue",
            "--site-id",
            &site,
            "--validity-days",
            "10",
            "--csr",
            csr.to_str().unwrap(),
            "--json",
        ]));
        assert_eq!(r["PrivateKey"], "", "no key for a CSR: {r}");
        let rid = r["Id"].as_str().unwrap().to_owned();
        assert_eq!(
            server.json(&["show", &rid, "--json"])["Result"]["CommonName"],
            "bob.example.com"
        );
        Some(rid)
    } else {
        eprintln!("skipping the CSR part: openssl is not installed");
        None
    };

    // Get and List, with the status filter applied the same way as locally.
    let shown = client.json(&remote(&["show", &id, "--json"]));
    assert_eq!(shown["Result"]["Id"], id.as_str());
    // With --site-id the remote asks that site only; the wrong site is
    // refused, on the remote and locally alike.
    let on_site = client.json(&remote(&["show", &id, "--site-id", &site, "--json"]));
    assert_eq!(on_site["Result"]["Id"], id.as_str());
    let other = common::SITE2.to_string();
    assert!(
        !client
            .run(&remote(&["show", &id, "--site-id", &other, "--json"]))
            .status
            .success()
    );
    assert!(
        !server
            .run(&["show", &id, "--site-id", &other, "--json"])
            .status
            .success()
    );
    assert!(
        !server
            .run(&["export", &id, "--site-id", &other])
            .status
            .success()
    );
    let listed = client.json(&remote(&["list", "--site-id", &site, "--json"]));
    let expected = 1 + usize::from(csr_id.is_some());
    assert_eq!(listed["TotalCount"], expected, "{listed}");

    // Export: certificate, chain, CA, DER, the kept key, PKCS#12.
    let cert = client.ok(&remote(&["export", &id]));
    let ca = client.ok(&remote(&["ca", "--site-id", &site]));
    assert_eq!(
        ca,
        server.ok(&["ca", "--site-id", &site]),
        "the remote's CA is the server's CA"
    );
    let key = client.ok(&remote(&["export", &id, "--what", "key"]));
    assert!(key.contains("BEGIN PRIVATE KEY"));
    let chain = client.ok(&remote(&["export", &id, "--what", "chain"]));
    assert!(chain.starts_with(&cert) && chain.ends_with(&ca));
    let der = client.path("alice.der");
    client.ok(&remote(&[
        "export",
        &id,
        "--what",
        "der",
        "--out",
        der.to_str().unwrap(),
    ]));
    if have_openssl() {
        let cert_file = client.write("alice.pem", &cert);
        let ca_file = client.write("ca.pem", &ca);
        let key_file = client.write("alice.key", &key);
        let (ok, text) = openssl(&[
            "verify",
            "-CAfile",
            ca_file.to_str().unwrap(),
            cert_file.to_str().unwrap(),
        ]);
        assert!(ok, "openssl verify: {text}");
        let (ok, text) = openssl(&[
            "x509",
            "-inform",
            "der",
            "-in",
            der.to_str().unwrap(),
            "-noout",
            "-subject",
        ]);
        assert!(ok && text.contains("alice.example.com"), "{text}");
        // The kept key belongs to the certificate.
        let (_, a) = openssl(&["pkey", "-in", key_file.to_str().unwrap(), "-pubout"]);
        let (_, b) = openssl(&[
            "x509",
            "-in",
            cert_file.to_str().unwrap(),
            "-pubkey",
            "-noout",
        ]);
        assert_eq!(a, b, "the kept key is the certificate's");
        let pw = client.write("pw", "remote-pass-1\n");
        let p12 = client.path("alice.p12");
        client.ok(&remote(&[
            "export",
            &id,
            "--what",
            "p12",
            "--out",
            p12.to_str().unwrap(),
            "--password-file",
            pw.to_str().unwrap(),
        ]));
        let (ok, text) = openssl(&[
            "pkcs12",
            "-in",
            p12.to_str().unwrap(),
            "-passin",
            "pass:remote-pass-1",
            "-nokeys",
        ]);
        assert!(ok && text.contains("BEGIN CERTIFICATE"), "{text}");
    } else {
        eprintln!("skipping the OpenSSL checks of the exports: openssl is not installed");
    }

    // Revoke, activate, revoke again, delete: each seen in the server's store.
    client.ok(&remote(&["revoke", &id, "--site-id", &site]));
    assert_eq!(server.json(&["show", &id, "--json"])["Status"], "revoked");
    client.ok(&remote(&["activate", &id]));
    assert_eq!(server.json(&["show", &id, "--json"])["Status"], "active");
    let only_revoked = client.json(&remote(&["list", "--status", "revoked", "--json"]));
    assert_eq!(only_revoked["TotalCount"], 0, "{only_revoked}");
    client.ok(&remote(&["revoke", &id]));
    client.ok(&remote(&["delete", &id]));
    let gone = server.run(&["show", &id, "--json"]);
    assert!(!gone.status.success(), "deleted on the server");
    // The kept key went with it.
    let no_key = client.run(&remote(&["export", &id, "--what", "key", "--json"]));
    assert!(!no_key.status.success());

    // Hostname bindings of the managed CA.
    client.ok(&remote(&[
        "hostnames",
        "--site-id",
        &site,
        "--set",
        "a.example.com,b.example.com",
    ]));
    let bound = server.json(&["hostnames", "--site-id", &site, "--json"]);
    assert_eq!(
        bound["Hostnames"],
        serde_json::json!(["a.example.com", "b.example.com"])
    );

    // Uploaded CAs: upload, list, bundle, delete.
    if have_openssl() {
        let (pem, _) = common::openssl_self_signed(
            &client,
            "partner",
            "/CN=Partner Root",
            365,
            &[
                "basicConstraints=critical,CA:TRUE",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        let up = client.json(&remote(&[
            "ca",
            "upload",
            "--site-id",
            &site,
            "--file",
            pem.to_str().unwrap(),
            "--name",
            "partner",
            "--json",
        ]));
        let ca_id = up["Id"].as_str().expect("an uploaded CA id").to_owned();
        let list = server.json(&["ca", "list", "--site-id", &site, "--json"]);
        assert!(list.to_string().contains(&ca_id), "{list}");
        let remote_list = client.json(&remote(&["ca", "list", "--site-id", &site, "--json"]));
        assert_eq!(remote_list["Result"], list["Result"]);
        let bundle = client.ok(&remote(&["ca", "--site-id", &site, "--bundle"]));
        assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2, "{bundle}");
        client.ok(&remote(&["ca", "delete", "--site-id", &site, &ca_id]));
        let after = server.json(&["ca", "list", "--site-id", &site, "--json"]);
        assert!(!after.to_string().contains(&ca_id), "{after}");
    } else {
        eprintln!("skipping the uploaded-CA part: openssl is not installed");
    }
}

#[test]
fn local_only_features_say_the_remote_does_not_offer_them() {
    let (_server, _running, client) = pair(SECRET);
    let site = SITE.to_string();
    let some_id = "0123456789abcdef0123456789abcdef";
    for args in [
        vec!["renew", some_id],
        vec!["crl", "--site-id", &site],
        vec!["doctor"],
        vec!["log"],
        vec!["ca", "rekey-protect", "--site-id", &site],
        vec![
            "issue",
            "--site-id",
            &site,
            "--validity-days",
            "3",
            "--count",
            "2",
        ],
    ] {
        let mut full = remote(&args);
        full.push("--json");
        let out = client.run(&full);
        let e = assert_json_code(&out, "UnsupportedOperation");
        let msg = e["Message"].as_str().unwrap();
        assert!(msg.contains("remote team"), "{args:?}: {msg}");
    }
    // serve answers for the local store only.
    let out = client.run(&["--remote", "team", "serve", "--json"]);
    assert_json_code(&out, "InvalidParameter");
}

#[test]
fn the_servers_error_codes_and_request_ids_come_back_unchanged() {
    let (_server, _running, client) = pair(SECRET);
    let out = client.run(&remote(&[
        "issue",
        "--site-id",
        &SITE.to_string(),
        "--validity-days",
        "0",
        "--json",
    ]));
    let e = assert_json_code(&out, "InvalidParameter.ValidityDays");
    let rid = e["RequestId"].as_str().unwrap();
    assert_eq!(rid.len(), 36, "a server RequestId: {e}");

    let out = client.run(&remote(&["issue", "--site-id", "999", "--json"]));
    assert!(!out.status.success());

    let out = client.run(&remote(&[
        "show",
        "0123456789abcdef0123456789abcdef",
        "--json",
    ]));
    assert!(!out.status.success());
}

#[test]
fn a_wrong_secret_is_unauthorized_and_an_unknown_remote_is_a_config_error() {
    let (_server, _running, client) = pair("not-the-secret");
    let out = client.run(&remote(&["sites", "--json"]));
    assert_json_code(&out, "Unauthorized.InvalidToken");
    let out = client.run(&["--remote", "nope", "sites", "--json"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("nope"), "names the remote: {text}");
}

#[test]
fn a_bad_remote_table_names_the_file_the_line_and_the_key() {
    let base = "[store]\npath = \"store\"\n\n[[site]]\nid = 7\nname = \"local.example\"\n\n";
    for (table, line, needle) in [
        (
            "[[remote]]\nname = \"team\"\nendpoint = \"http://127.0.0.1:1\"\nacess_key_id = \"x\"\n",
            11,
            "remote.acess_key_id",
        ),
        (
            "[[remote]]\nname = \"team\"\nendpoint = \"http://\"\n",
            10,
            "remote.endpoint",
        ),
        (
            "[[remote]]\nname = \"team\"\nendpoint = \"ftp://esa.example:21\"\n",
            10,
            "remote.endpoint",
        ),
        (
            "[[remote]]\nname = \"team\"\nendpoint = \"http://127.0.0.1:99999\"\n",
            10,
            "remote.endpoint",
        ),
        (
            "[[remote]]\nname = \"bad name!\"\nendpoint = \"esa.cn-hangzhou.aliyuncs.com\"\n",
            9,
            "remote name",
        ),
        (
            "[[remote]]\nname = \"a\"\nendpoint = \"esa.cn-hangzhou.aliyuncs.com\"\n\n\
             [[remote]]\nname = \"a\"\nendpoint = \"esa.cn-hangzhou.aliyuncs.com\"\n",
            13,
            "duplicate remote a",
        ),
    ] {
        let w = World::with_config(&format!("{base}{table}"));
        let out = w.run(&["--remote", "a", "sites", "--json"]);
        let e = assert_json_code(&out, "InvalidParameter.Config");
        let msg = e["Message"].as_str().unwrap();
        let at = format!("config.toml:{line}:");
        assert!(msg.contains(&at), "{table}: wants {at} in {msg}");
        assert!(msg.contains(needle), "{table}: wants {needle} in {msg}");
    }
}
