//! The read side of the CLI (list, show, export, sites), the first run, the
//! store's file guarantees, and two processes issuing at once.
//!
//! Longer than ~600 lines on purpose: every file in `tests/` is its own
//! binary that links the whole crate, so one topic stays one file.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{SITE, SITE2, World, openssl};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn first_run_writes_a_commented_default_config_and_works() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_esa-certs"))
            .args(args)
            .env_remove("ESA_CERTS_CONFIG")
            .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("HOME", dir.path())
            .output()
            .unwrap()
    };
    let out = run(&["sites", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = dir.path().join("cfg/esa-certs/config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("id = 1234567890123") && text.contains("name = \"example.com\""));
    assert!(
        text.lines().filter(|l| l.starts_with('#')).count() > 5,
        "commented"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Sites"][0]["SiteId"], 1234567890123u64);
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote a default config"));
    // The store is the data dir.
    let out = run(&[
        "issue",
        "--site-id",
        "1234567890123",
        "--validity-days",
        "2",
        "--pkey-type",
        "ecc",
    ]);
    assert!(out.status.success());
    assert!(
        dir.path()
            .join("data/esa-certs/sites/1234567890123/ca/ca.pem")
            .exists()
    );
    // $ESA_CERTS_CONFIG wins over the default location.
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        "[store]\npath = \"s2\"\n[[site]]\nid = 5\nname = \"five.example\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_esa-certs"))
        .args(["sites", "--json"])
        .env("ESA_CERTS_CONFIG", &other)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Sites"][0]["SiteId"], 5);
}

#[test]
fn the_first_run_config_is_private_under_a_permissive_umask() {
    // The config says where the keys live: under `umask 000` it must still
    // be created 0600 in a 0700 folder, never group/world-writable.
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_esa-certs");
    for (args, cfg) in [
        (String::new(), dir.path().join("cfg/esa-certs/config.toml")),
        (
            format!("--config '{}'", dir.path().join("new/sub/c.toml").display()),
            dir.path().join("new/sub/c.toml"),
        ),
    ] {
        let script = format!("umask 000 && exec '{bin}' {args} sites");
        let out = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env_remove("ESA_CERTS_CONFIG")
            .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("HOME", dir.path())
            .output()
            .unwrap();
        common::assert_success(&out);
        assert!(String::from_utf8_lossy(&out.stderr).contains("wrote a default config"));
        assert_eq!(mode(&cfg), 0o600, "{}", cfg.display());
        let folder = cfg.parent().unwrap();
        assert_eq!(mode(folder), 0o700, "{}", folder.display());
        // Folders it had to create above that one are private too.
        let above = folder.parent().unwrap();
        assert_eq!(mode(above), 0o700, "{}", above.display());
    }
}

#[test]
fn store_files_are_private_and_plain() {
    require_openssl!();
    let w = World::new("");
    let v = w.issue("ECC", 10);
    let id = v["Id"].as_str().unwrap();
    let certs = w.store.join(format!("sites/{SITE}/certs"));
    let f = |suffix: &str| certs.join(format!("{id}{suffix}"));
    for d in [
        w.store.clone(),
        w.store.join("sites"),
        w.store.join(format!("sites/{SITE}")),
        certs.clone(),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    assert_eq!(mode(&f(".key.pem")), 0o600);
    assert_eq!(mode(&f(".toml")), 0o600);
    assert_eq!(mode(&f(".pem")), 0o644);
    assert_eq!(
        mode(&w.store.join(format!("sites/{SITE}/ca/ca.key.pem"))),
        0o600
    );
    // Plain files that openssl reads without this tool.
    let ca = w.store.join(format!("sites/{SITE}/ca/ca.pem"));
    let (ok, out) = common::verify_client(&ca, &f(".pem"));
    assert!(ok, "{out}");
    let (ok, _) = openssl(&["pkey", "-in", f(".key.pem").to_str().unwrap(), "-noout"]);
    assert!(ok);
    let meta = std::fs::read_to_string(f(".toml")).unwrap();
    assert!(
        meta.contains(&format!("id = \"{id}\"")) && meta.contains("status = \"active\""),
        "{meta}"
    );
    assert!(!meta.contains("PRIVATE KEY"));
}

#[test]
fn keys_and_directories_are_private_under_a_permissive_umask() {
    let w = World::new("");
    let bin = env!("CARGO_BIN_EXE_esa-certs");
    let script = format!(
        "umask 000 && exec '{bin}' --config '{}' issue --site-id {SITE} --validity-days 3 --pkey-type ed25519 --json",
        w.config.display()
    );
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["Id"].as_str().unwrap();
    let certs = w.store.join(format!("sites/{SITE}/certs"));
    assert_eq!(mode(&certs.join(format!("{id}.key.pem"))), 0o600);
    assert_eq!(mode(&certs.join(format!("{id}.toml"))), 0o600);
    assert_eq!(mode(&certs), 0o700);
    assert_eq!(mode(&w.store), 0o700);
    assert_eq!(
        mode(&w.store.join(format!("sites/{SITE}/ca/ca.key.pem"))),
        0o600
    );
    assert_eq!(mode(&w.store.join("logs/esa-certs.log")), 0o600);
}

#[test]
fn keep_private_keys_false_stores_no_key() {
    let w = World::new("");
    let cfg = std::fs::read_to_string(&w.config).unwrap().replace(
        "path = \"store\"\n",
        "path = \"store\"\nkeep_private_keys = false\n",
    );
    std::fs::write(&w.config, cfg).unwrap();
    let v = w.issue("ECC", 10);
    assert!(
        v["PrivateKey"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let id = v["Id"].as_str().unwrap();
    let files: Vec<_> = walk_names(&w.store);
    assert!(files.iter().any(|f| f.ends_with(&format!("{id}.pem"))));
    assert!(
        !files.iter().any(|f| f.contains(&format!("{id}.key"))),
        "{files:?}"
    );
    let out = w.run(&["export", id, "--what", "key"]);
    common::assert_code(&out, "InvalidParameter");
    assert!(String::from_utf8_lossy(&out.stderr).contains("was not kept"));
    // Text mode prints the key once, since it is not kept.
    let text = w.ok(&[
        "issue",
        "--site-id",
        &SITE.to_string(),
        "--validity-days",
        "1",
        "--pkey-type",
        "ecc",
    ]);
    assert!(
        text.contains("NOT kept") && text.contains("-----BEGIN PRIVATE KEY-----"),
        "{text}"
    );
}

fn walk_names(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_names(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[test]
fn list_show_and_filters() {
    let w = World::new("");
    let a = w.issue("ECC", 10);
    let b = w.issue("ED25519", 100);
    let c = w.json(&[
        "issue",
        "--site-id",
        &SITE2.to_string(),
        "--validity-days",
        "5",
        "--pkey-type",
        "ecc",
        "--name",
        "other",
        "--json",
    ]);
    let all = w.json(&["list", "--json"]);
    assert_eq!(all["TotalCount"], 3);
    let ids: Vec<&str> = all["Result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap())
        .collect();
    for v in [&a, &b, &c] {
        assert!(ids.contains(&v["Id"].as_str().unwrap()));
    }
    let site = w.json(&["list", "--site-id", &SITE.to_string(), "--json"]);
    assert_eq!(site["TotalCount"], 2);
    assert_eq!(site["SiteId"], SITE);
    assert_eq!(site["SiteName"], "example.com");
    let r0 = &site["Result"][0];
    for key in [
        "Id",
        "Name",
        "CommonName",
        "Status",
        "Type",
        "Issuer",
        "SAN",
        "SerialNumber",
        "FingerprintSha256",
        "SignatureAlgorithm",
        "PubkeyAlgorithm",
        "CACertificateId",
        "NotBefore",
        "NotAfter",
        "CreateTime",
        "UpdateTime",
    ] {
        assert!(r0.get(key).is_some(), "Result[] has {key}");
    }
    assert!(r0.get("PrivateKey").is_none());
    w.ok(&["revoke", a["Id"].as_str().unwrap()]);
    let revoked = w.json(&["list", "--status", "revoked", "--json"]);
    assert_eq!(revoked["TotalCount"], 1);
    assert_eq!(revoked["Result"][0]["Id"], a["Id"]);
    let active = w.json(&[
        "list",
        "--status",
        "active",
        "--site-id",
        &SITE.to_string(),
        "--json",
    ]);
    assert_eq!(active["TotalCount"], 1);
    assert_eq!(active["Result"][0]["Id"], b["Id"]);
    let soon = w.json(&["list", "--expiring-within", "30", "--json"]);
    assert_eq!(soon["TotalCount"], 1, "only the active 5-day one of site 2");
    assert_eq!(soon["Result"][0]["Id"], c["Id"]);
    assert_eq!(
        w.json(&["list", "--status", "expired", "--json"])["TotalCount"],
        0
    );

    let table = w.ok(&["list"]);
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains("revoked")
            && table.contains("other (")
            && table.contains("3 certificate(s)"),
        "{table}"
    );

    let shown = w.json(&["show", b["Id"].as_str().unwrap(), "--json"]);
    assert_eq!(shown["Certificate"], b["Certificate"]);
    assert_eq!(shown["SiteId"], SITE);
    assert_eq!(shown["Status"], "active");
    assert_eq!(shown["Result"]["SerialNumber"], b["SerialNumber"]);
    assert_eq!(shown["Result"]["FingerprintSha256"], b["FingerprintSha256"]);
    assert_eq!(shown["Result"]["PubkeyAlgorithm"], "Ed25519");
    assert!(shown.get("PrivateKey").is_none() && shown["Result"].get("PrivateKey").is_none());
    let text = w.ok(&["show", b["Id"].as_str().unwrap()]);
    assert!(text.contains("FingerprintSha256") && text.contains("-----BEGIN CERTIFICATE-----"));
}

#[test]
fn export_writes_each_kind() {
    require_openssl!();
    let w = World::new("");
    let v = w.issue("ECC_384", 10);
    let id = v["Id"].as_str().unwrap();
    assert_eq!(w.ok(&["export", id]), v["Certificate"].as_str().unwrap());
    assert_eq!(
        w.ok(&["export", id, "--what", "key"]),
        v["PrivateKey"].as_str().unwrap()
    );
    let ca = w.ok(&["ca", "--site-id", &SITE.to_string()]);
    assert_eq!(w.ok(&["export", id, "--what", "ca"]), ca);
    let chain = w.ok(&["export", id, "--what", "chain"]);
    assert_eq!(
        chain,
        format!("{}{}", v["Certificate"].as_str().unwrap(), ca)
    );
    let key_out = w.path("out/client.key");
    std::fs::create_dir(w.path("out")).unwrap();
    w.ok(&[
        "export",
        id,
        "--what",
        "key",
        "--out",
        key_out.to_str().unwrap(),
    ]);
    assert_eq!(mode(&key_out), 0o600);
    let chain_out = w.path("out/chain.pem");
    w.ok(&[
        "export",
        id,
        "--what",
        "chain",
        "--out",
        chain_out.to_str().unwrap(),
    ]);
    assert_eq!(mode(&chain_out), 0o644);
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        chain_out.to_str().unwrap(),
        chain_out.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
}

#[test]
fn sites_shows_ca_state_and_counts() {
    let w = World::new("");
    let before = w.json(&["sites", "--json"]);
    assert_eq!(before["TotalCount"], 2);
    assert_eq!(before["Sites"][0]["CACertificateId"], "");
    let a = w.issue("ECC", 10);
    w.issue("ECC", 100);
    w.ok(&["revoke", a["Id"].as_str().unwrap()]);
    let after = w.json(&["sites", "--json"]);
    let s = &after["Sites"][0];
    assert_eq!(s["CACertificateId"], a["CACertificateId"]);
    assert_eq!(s["ActiveCount"], 1);
    assert_eq!(s["RevokedCount"], 1);
    assert_eq!(s["ExpiringSoonCount"], 0);
    let text = w.ok(&["sites"]);
    assert!(
        text.contains("example.com") && text.contains("ECC_256") && text.contains("not yet"),
        "{text}"
    );
}

/// `Service::overview` (one read of the store, for the TUI) agrees with
/// `sites()` and `list()` called separately; for one site, with `list` of
/// that site and that site's counts.
#[test]
fn overview_is_sites_and_list_from_one_read() {
    use esa_certs::service::{ListQuery, Service};
    let w = World::new("");
    let a = w.issue("ECC", 10);
    w.issue("ECC", 100);
    w.ok(&["revoke", a["Id"].as_str().unwrap()]);
    w.ok(&[
        "issue",
        "--site-id",
        &SITE2.to_string(),
        "--validity-days",
        "5",
        "--pkey-type",
        "ECC",
    ]);
    let service = Service::open(esa_certs::config::load(&w.config).unwrap()).unwrap();
    let strip = |mut s: esa_certs::api::SitesResponse| {
        s.request_id.clear();
        s
    };
    let (sites, listing) = service.overview(None).unwrap();
    let all_sites = strip(service.sites().unwrap());
    assert_eq!(strip(sites), all_sites);
    let list = service.list(&ListQuery::default()).unwrap();
    assert_eq!(listing.response.result, list.response.result);
    assert_eq!(listing.response.total_count, 3);
    assert!(listing.damaged.is_empty());

    let (sites, listing) = service.overview(Some(SITE2)).unwrap();
    let one = service
        .list(&ListQuery {
            site_id: Some(SITE2),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listing.response.result, one.response.result);
    let sites = strip(sites);
    assert_eq!(sites.sites[1], all_sites.sites[1]);
    assert_eq!(sites.sites[1].expiring_soon, 1);
    assert_eq!((sites.sites[0].active, sites.sites[0].revoked), (0, 0));
    let bad = service.overview(Some(7)).unwrap_err();
    assert_eq!(bad.code.as_str(), "InvalidParameter.SiteId");

    // A batch of sites: only those, in the order asked, each once, with
    // the counts and rows `sites()` and `list()` give for them.
    let (sites, listing) = service.overview_sites(&[SITE2, SITE, SITE2]).unwrap();
    let sites = strip(sites);
    assert_eq!(
        sites.sites,
        [all_sites.sites[1].clone(), all_sites.sites[0].clone()]
    );
    assert_eq!(listing.response.result, list.response.result);
    let (sites, listing) = service.overview_sites(&[SITE2]).unwrap();
    assert_eq!(strip(sites).sites, [all_sites.sites[1].clone()]);
    assert_eq!(listing.response.result, one.response.result);
    let bad = service.overview_sites(&[SITE, 7]).unwrap_err();
    assert_eq!(bad.code.as_str(), "InvalidParameter.SiteId");
}

#[test]
fn two_processes_issuing_at_once_both_succeed_with_distinct_serials() {
    let w = World::new("");
    let spawn = || {
        let mut cmd = w.cmd();
        let script_args = [
            "issue",
            "--site-id",
            &SITE.to_string(),
            "--validity-days",
            "5",
            "--pkey-type",
            "ecc",
            "--json",
        ]
        .map(str::to_owned);
        cmd.args(script_args);
        cmd.stdout(std::process::Stdio::piped()).spawn().unwrap()
    };
    // Several rounds of two concurrent issuers, the first of which also
    // races to create the site CA.
    let mut serials = std::collections::HashSet::new();
    let mut cas = std::collections::HashSet::new();
    for _ in 0..5 {
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success());
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(serials.insert(v["SerialNumber"].as_str().unwrap().to_owned()));
            cas.insert(v["CACertificateId"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(cas.len(), 1, "one CA, created once");
    assert_eq!(w.json(&["list", "--json"])["TotalCount"], 10);
    assert!(
        std::fs::read_dir(w.store.join("tmp"))
            .unwrap()
            .next()
            .is_none()
    );
}

/// Replaces the value of `key = …` lines of a hand-edited TOML file.
fn edit_toml(path: &Path, key: &str, value: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let prefix = format!("{key} = ");
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with(&prefix) {
                format!("{prefix}{value}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(text, edited, "no `{key}` in {}", path.display());
    std::fs::write(path, edited).unwrap();
}

#[test]
fn escapes_in_hand_edited_store_files_never_reach_the_terminal() {
    let w = World::new("");
    let id = w.issue("ECC", 30)["Id"].as_str().unwrap().to_owned();
    w.ok(&["list"]); // the listing cache must notice the edits below
    let no_esc = |args: &[&str]| {
        let out = w.run(args);
        common::assert_success(&out);
        for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !stream.contains(&0x1b),
                "{args:?}: ESC on {name}: {}",
                String::from_utf8_lossy(stream)
            );
        }
        String::from_utf8(out.stdout).unwrap()
    };

    // A path with an escape in the PKCS#12 note.
    let pass = w.write("pass.txt", "a long enough password\n");
    let p12 = w.path("out\u{1b}[2J.p12");
    no_esc(&[
        "export",
        &id,
        "--what",
        "p12",
        "--password-file",
        pass.to_str().unwrap(),
        "--out",
        p12.to_str().unwrap(),
    ]);
    assert!(p12.exists());

    let site = w.store.join(format!("sites/{SITE}"));
    let meta = site.join(format!("certs/{id}.toml"));
    edit_toml(&meta, "key_type", r#""\u001b[2J""#);
    edit_toml(&meta, "not_after", r#""\u001b[2J""#);
    edit_toml(&site.join("ca/ca.toml"), "key_type", r#""\u001b[2J""#);
    let audit = w.store.join("audit.log");
    let log = std::fs::read_to_string(&audit).unwrap();
    std::fs::write(&audit, log.replace(r#""time":""#, r#""time":"\u001b[2J"#)).unwrap();
    // A damaged entry whose very file name is an escape.
    std::fs::write(site.join("certs/a\u{1b}[2J.toml"), "junk").unwrap();
    // And text after the certificate's PEM block.
    let pem = site.join(format!("certs/{id}.pem"));
    let mut text = std::fs::read_to_string(&pem).unwrap();
    text.push_str("\u{1b}[2J\u{202e}\n");
    std::fs::write(&pem, text).unwrap();

    let escaped = r"\u{1b}[2J";
    let list = no_esc(&["list"]);
    assert_eq!(list.matches(escaped).count(), 2, "{list}");
    let sites = no_esc(&["sites"]);
    assert!(sites.contains(escaped), "{sites}");
    let log = no_esc(&["log"]);
    assert!(log.contains(escaped), "{log}");
    let show = no_esc(&["show", &id]);
    assert!(
        show.contains(escaped) && !show.contains('\u{202e}'),
        "{show}"
    );
    let exported = no_esc(&["export", &id]);
    assert!(
        exported.contains("-----END CERTIFICATE-----\n"),
        "{exported}"
    );
    no_esc(&["export", &id, "--what", "chain"]);

    // A first-run config in a folder whose name is an escape.
    let cfg = w.path("cfg\u{1b}[2J/config.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_esa-certs"))
        .arg("--config")
        .arg(&cfg)
        .arg("sites")
        .env("HOME", w.dir.path())
        .env("XDG_DATA_HOME", w.path("data"))
        .output()
        .unwrap();
    common::assert_success(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("wrote a default config") && !err.contains('\u{1b}'),
        "{err}"
    );
}

#[test]
fn status_and_what_take_any_case_like_pkey_type() {
    let w = World::new("");
    let id = w.issue("ecc", 30)["Id"].as_str().unwrap().to_owned();
    for status in ["ACTIVE", "Active", "active"] {
        let v = w.json(&["list", "--status", status, "--json"]);
        assert_eq!(v["TotalCount"], 1, "{status}");
    }
    assert_eq!(
        w.json(&["list", "--status", "REVOKED", "--json"])["TotalCount"],
        0
    );
    let key = w.ok(&["export", &id, "--what", "KEY"]);
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
    let chain = w.ok(&["export", &id, "--what", "Chain"]);
    assert_eq!(chain.matches("-----BEGIN CERTIFICATE-----").count(), 2);
}

#[test]
fn the_sites_table_lines_up_with_20_digit_ids_and_long_names() {
    let long = "a-rather-long-site-name.subdomain.example.com";
    let w = World::with_config(&format!(
        "[store]\npath = \"store\"\n[ca]\ncommon_name = \"CA {{site}}\"\n\
         [[site]]\nid = 18446744073709551615\nname = \"big.example\"\n\
         [[site]]\nid = 7\nname = \"{long}\"\n"
    ));
    let text = w.ok(&["sites"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let name_col = lines[0].find("NAME").unwrap();
    let active_end = lines[0].find("ACTIVE").unwrap() + "ACTIVE".len();
    assert!(lines[1].starts_with("18446744073709551615  "), "{text}");
    for (line, name) in [(lines[1], "big.example"), (lines[2], long)] {
        assert_eq!(line.find(name), Some(name_col), "{text}");
        // The counts are right-aligned under their headers.
        assert_eq!(&line[active_end - 1..active_end], "0", "{text}");
    }
}

#[test]
fn a_metadata_file_dated_past_2262_is_listed_not_a_panic() {
    let w = World::new("");
    let v = w.issue("ECC", 5);
    let id = v["Id"].as_str().unwrap();
    let meta = w.store.join(format!("sites/{SITE}/certs/{id}.toml"));
    // 2300-01-01: past the i64 nanosecond range of the listing cache stamp.
    let far = std::time::UNIX_EPOCH + std::time::Duration::from_secs(10_413_792_000);
    std::fs::File::options()
        .write(true)
        .open(&meta)
        .unwrap()
        .set_modified(far)
        .unwrap();
    let out = w.ok(&["list"]);
    assert!(out.contains(id), "{out}");
}
