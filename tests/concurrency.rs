//! Concurrency: four processes issue and revoke on one store at once, 500
//! operations each. Nothing may be lost, serials stay unique, and the CRL
//! lists exactly the revoked certificates. A front end polling
//! `Service::change_stamp` sees another process's writes, and a stale view
//! can never overwrite another process's change.
//!
//! The four processes are this test binary re-run as workers (so each does
//! its 500 operations through the library without paying a process start
//! per operation); they share the store only through its files and lock,
//! exactly as four `esa-certs` commands would. The store is on tmpfs when
//! the machine has one, so the run measures the locking, not the disk.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::process::{Command, Stdio};

use common::*;
use esa_certs::api::CreateRequest;
use esa_certs::config;
use esa_certs::error::ErrorCode;
use esa_certs::service::{ListQuery, Service};

const WORKERS: usize = 4;
const OPS: usize = 500;
const WORKER_ENV: &str = "ESA_CONCURRENCY_WORKER_CONFIG";

fn service(config_path: &std::path::Path) -> Service {
    let cfg = config::load(config_path).unwrap();
    Service::open(cfg).unwrap()
}

fn request() -> CreateRequest {
    CreateRequest {
        site_id: Some(SITE.to_string()),
        validity_days: Some("30".into()),
        pkey_type: Some("ED25519".into()),
        ..Default::default()
    }
}

/// One worker process: 500 operations, each printed once it returned
/// (`issued <id> <serial>` / `revoked <id>`). Does nothing unless started
/// by the test below.
#[test]
fn concurrency_worker() {
    let Ok(config_path) = std::env::var(WORKER_ENV) else {
        return;
    };
    let s = service(std::path::Path::new(&config_path));
    let mut mine: Vec<String> = Vec::new();
    let mut x: u64 = (u64::from(std::process::id()) * 2_654_435_761) | 1;
    let mut out = String::new();
    for op in 0..OPS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if mine.is_empty() || !x.is_multiple_of(4) {
            if op % 50 == 7 {
                // Now and then a small bulk issue (one operation).
                s.create_many(&request(), 5, |r| {
                    out.push_str(&format!("issued {} {}\n", r.id, r.serial_number));
                    mine.push(r.id);
                    Ok(())
                })
                .unwrap();
            } else {
                let r = s.create(&request()).unwrap();
                out.push_str(&format!("issued {} {}\n", r.id, r.serial_number));
                mine.push(r.id);
            }
        } else {
            let id = mine.swap_remove((x / 4) as usize % mine.len());
            s.revoke(&id, None).unwrap();
            out.push_str(&format!("revoked {id}\n"));
        }
    }
    // libtest has printed "test concurrency_worker ... " without a newline.
    print!("\n{out}");
}

#[test]
fn four_processes_issuing_and_revoking_lose_nothing() {
    // On tmpfs: this test is about the lock, not the disk (the crash test
    // covers durability); on a disk 2,000 operations are mostly fsync waits.
    let w = World::in_memory("[ca]\nkey_type = \"ECC_256\"\n");
    // Create the CA first, so the workers race on certificates only.
    w.ca_file(SITE);
    let exe = std::env::current_exe().unwrap();
    let started = std::time::Instant::now();
    let children: Vec<_> = (0..WORKERS)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "concurrency_worker",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WORKER_ENV, &w.config)
                .env("HOME", w.dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut issued: HashMap<String, String> = HashMap::new();
    let mut revoked: HashSet<String> = HashSet::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "worker failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut ops = 0;
        for line in text.lines() {
            let w: Vec<&str> = line.split(' ').collect();
            match w.as_slice() {
                ["issued", id, serial] => {
                    assert!(issued.insert(id.to_string(), serial.to_string()).is_none());
                    ops += 1;
                }
                ["revoked", id] => {
                    assert!(revoked.insert(id.to_string()));
                    ops += 1;
                }
                _ => {}
            }
        }
        assert!(ops >= OPS, "a worker reported {ops} operations: {text}");
    }
    println!(
        "{WORKERS} x {OPS} operations in {:?}: {} issued, {} revoked",
        started.elapsed(),
        issued.len(),
        revoked.len()
    );

    let s = service(&w.config);
    let listed = s.list(&ListQuery::default()).unwrap();
    assert!(listed.damaged.is_empty(), "{:?}", listed.damaged);
    let by_id: HashMap<&str, (&str, &str)> = listed
        .response
        .result
        .iter()
        .map(|c| (c.id.as_str(), (c.serial_number.as_str(), c.status.as_str())))
        .collect();
    assert_eq!(by_id.len(), issued.len(), "exactly the issued certificates");
    for (id, serial) in &issued {
        let (s, status) = by_id.get(id.as_str()).expect("issued certificate missing");
        assert_eq!(s, serial);
        let want = if revoked.contains(id) {
            "revoked"
        } else {
            "active"
        };
        assert_eq!(*status, want, "{id}");
    }
    let serials: HashSet<&str> = by_id.values().map(|(s, _)| *s).collect();
    assert_eq!(serials.len(), by_id.len(), "serials are unique");

    // The CRL lists exactly the revoked serials.
    let crl = s.crl_pem(SITE).unwrap();
    let der = pem::parse(&crl).unwrap().into_contents();
    let (_, parsed) = x509_parser::parse_x509_crl(&der).unwrap();
    let on_crl: BTreeSet<String> = parsed
        .iter_revoked_certificates()
        .map(|r| {
            r.raw_serial()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .trim_start_matches("00")
                .to_owned()
        })
        .collect();
    let want: BTreeSet<String> = revoked.iter().map(|id| issued[id].clone()).collect();
    assert_eq!(on_crl, want);
    assert!(s.doctor(false).unwrap().clean);
}

#[test]
fn a_polling_front_end_sees_other_processes_and_never_overwrites_them() {
    let w = World::new("[ca]\nkey_type = \"ECC_256\"\n");
    let tui = service(&w.config);
    let before = tui.change_stamp().unwrap();
    // Another process issues.
    let a = w.issue("ED25519", 10);
    let id = a["Id"].as_str().unwrap();
    let after_issue = tui.change_stamp().unwrap();
    assert_ne!(
        before, after_issue,
        "the stamp must move on another process's issue"
    );
    let view = tui.list(&ListQuery::default()).unwrap().response;
    assert!(view.result.iter().any(|c| c.id == id), "a refresh sees it");
    assert_eq!(
        tui.change_stamp().unwrap(),
        after_issue,
        "reading moves nothing"
    );

    // The front end's view says "active"; another process revokes and
    // deletes meanwhile. Acting on the stale view must fail, not undo it.
    w.ok(&["revoke", id]);
    assert_ne!(tui.change_stamp().unwrap(), after_issue);
    let e = tui.revoke(id, None).unwrap_err();
    assert_eq!(e.code, ErrorCode::StatusError, "{}", e.message);
    w.ok(&["delete", id]);
    let e = tui.activate(id).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidId, "{}", e.message);
    let listed = w.json(&["list", "--json"]);
    assert_eq!(listed["TotalCount"], 0, "the delete stands");
}
