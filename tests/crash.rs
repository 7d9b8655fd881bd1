//! Crash safety: the real binary is killed with SIGKILL at random moments
//! while it issues, revokes and bulk-issues, hundreds of times. Afterwards
//! the store must hold every certificate a finished command reported (and
//! each must verify under `openssl verify`), no half-written entry or
//! stray temporary, a CRL that lists exactly the revoked serials, an audit
//! record for every reported operation, and a clean `doctor`. `serve` is
//! killed the same way under 8 concurrent creates: every create it
//! answered must be in the store afterwards.
//!
//! The random delays come from a xorshift generator; the seed is printed
//! (and `ESA_CRASH_SEED=<n>` replays it). `ESA_CRASH_ROUNDS` overrides the
//! number of rounds.
//!
//! Longer than ~600 lines on purpose: every file in `tests/` is its own
//! binary that links the whole crate, so one topic stays one file.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn seed() -> u64 {
    std::env::var("ESA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

/// Runs `args`, sending SIGKILL after `delay` unless it finished first.
fn run_killed(w: &World, args: &[&str], delay: Duration) -> Output {
    let child = w
        .cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn esa-certs");
    let pid = child.id();
    std::thread::sleep(delay);
    // SIGKILL: a zombie (already finished) ignores it, so a command that
    // completed in time keeps its exit status.
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
    child.wait_with_output().expect("wait")
}

fn killed(o: &Output) -> bool {
    o.status.signal() == Some(9)
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    let text = String::from_utf8_lossy(stdout);
    // Only complete lines: the last one may have been cut by the kill.
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    complete
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn record(v: &serde_json::Value, reported: &mut HashMap<String, String>, active: &mut Vec<String>) {
    let id = v["Id"].as_str().expect("Id").to_owned();
    let serial = v["SerialNumber"].as_str().expect("serial").to_owned();
    assert!(reported.insert(id.clone(), serial).is_none(), "id reused");
    active.push(id);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn sigkill_at_random_moments_loses_nothing_that_was_reported() {
    require_openssl!();
    let rounds: u64 = std::env::var("ESA_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let seed = seed();
    println!("crash harness seed {seed} (replay: ESA_CRASH_SEED={seed}), {rounds} rounds");
    let mut rng = XorShift(seed);
    let w = World::new("[ca]\nkey_type = \"ECC_256\"\n");
    let site = SITE.to_string();
    let issue_args = [
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "30",
        "--pkey-type",
        "ECC",
        "--json",
    ];

    // id -> serial of every certificate a command reported.
    let mut reported: HashMap<String, String> = HashMap::new();
    let mut active: Vec<String> = Vec::new();
    let mut surely_revoked: HashSet<String> = HashSet::new();
    let mut maybe_revoked: HashSet<String> = HashSet::new();

    // Calibrate: how long each command takes undisturbed, so the kills
    // land across the whole run, not only in process start-up.
    let mut t_issue = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let v = w.json(&issue_args);
        t_issue.push(t.elapsed());
        record(&v, &mut reported, &mut active);
    }
    let t_issue = median(t_issue);
    let victim = active.pop().unwrap();
    let t = Instant::now();
    w.ok(&["revoke", &victim, "--json"]);
    let t_revoke = t.elapsed();
    surely_revoked.insert(victim);
    let t = Instant::now();
    let out = w.run(&[
        "issue",
        "--site-id",
        &site,
        "--validity-days",
        "30",
        "--pkey-type",
        "ECC",
        "--count",
        "50",
        "--json",
    ]);
    let t_bulk = t.elapsed();
    assert!(out.status.success());
    for v in json_lines(&out.stdout) {
        record(&v, &mut reported, &mut active);
    }
    println!("calibrated: issue {t_issue:?}, revoke {t_revoke:?}, bulk(50) {t_bulk:?}");

    let started = Instant::now();
    let (mut kills, mut completed) = (0u32, 0u32);
    let window = |d: Duration, rng: &mut XorShift| {
        // Uniform over 0..200% of the undisturbed run time (recovery
        // after a kill makes the next run slower than the calibration).
        let us = d.as_micros() as u64 * 2;
        Duration::from_micros(rng.below(us.max(1)))
    };
    for round in 0..rounds {
        let pick = rng.below(100);
        let (out, what) = if pick < 50 || active.is_empty() {
            (
                run_killed(&w, &issue_args, window(t_issue, &mut rng)),
                "issue",
            )
        } else if pick < 88 {
            let i = rng.below(active.len() as u64) as usize;
            let id = active.swap_remove(i);
            let out = run_killed(&w, &["revoke", &id, "--json"], window(t_revoke, &mut rng));
            if out.status.success() {
                surely_revoked.insert(id);
            } else if killed(&out) {
                maybe_revoked.insert(id);
            } else {
                // A revoke that was killed earlier may have gone through.
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(
                    err.contains("Certificate.StatusError") && maybe_revoked.contains(&id),
                    "round {round}: revoke {id} failed: {err}"
                );
            }
            (out, "revoke")
        } else {
            let count = (30 + rng.below(51)).to_string();
            let args = [
                "issue",
                "--site-id",
                &site,
                "--validity-days",
                "30",
                "--pkey-type",
                "ECC",
                "--count",
                &count,
                "--json",
            ];
            (run_killed(&w, &args, window(t_bulk, &mut rng)), "bulk")
        };
        if killed(&out) {
            kills += 1;
        } else {
            completed += 1;
            assert!(
                out.status.success() || what == "revoke",
                "round {round}: {what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        match what {
            "bulk" => {
                for v in json_lines(&out.stdout) {
                    record(&v, &mut reported, &mut active);
                }
            }
            "issue" => {
                // Pretty JSON, printed once the certificate is durable; a
                // kill can cut it short, and then it was not reported.
                match serde_json::from_slice::<serde_json::Value>(&out.stdout) {
                    Ok(v) => record(&v, &mut reported, &mut active),
                    Err(_) => assert!(!out.status.success(), "round {round}: no JSON"),
                }
            }
            _ => {}
        }
    }
    println!(
        "{rounds} rounds in {:?}: {kills} killed, {completed} completed, {} certificates reported",
        started.elapsed(),
        reported.len()
    );
    assert!(
        kills >= rounds as u32 / 3,
        "too few kills ({kills}) to mean anything"
    );

    // Before any writer repairs anything, a reader already sees a whole
    // store: every reported certificate, each surely revoked one revoked,
    // nothing listed that is not a whole entry (the list reads only
    // published metadata; each listed certificate is exported and checked
    // below with the rest).
    let before_repair: HashMap<String, String> = {
        let out = w.run(&["list", "--site-id", &site, "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["Result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["Id"].as_str().unwrap().to_owned(),
                    c["Status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    for id in reported.keys() {
        assert!(
            before_repair.contains_key(id),
            "{id} unlisted before repair"
        );
    }
    for id in &surely_revoked {
        assert_eq!(before_repair[id], "revoked", "{id} before repair");
    }

    // The next writer settles whatever the last kill left.
    let crl_pem = w.ok(&["crl", "--site-id", &site]);

    // No intent, temporary or half entry is left.
    let tmp: Vec<_> = std::fs::read_dir(w.store.join("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(tmp.is_empty(), "tmp/ after recovery: {tmp:?}");
    let certs = w.store.join(format!("sites/{SITE}/certs"));
    let names: BTreeSet<String> = std::fs::read_dir(&certs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for n in &names {
        assert!(!n.contains(".tmp-"), "temporary left: {n}");
        let id = n
            .strip_suffix(".key.pem")
            .or_else(|| n.strip_suffix(".pem"))
            .or_else(|| n.strip_suffix(".toml"))
            .unwrap_or_else(|| panic!("unexpected file {n}"));
        for part in [".pem", ".toml", ".key.pem"] {
            assert!(
                names.contains(&format!("{id}{part}")),
                "{n} without {id}{part}: a half-written entry"
            );
        }
    }

    // No temporary anywhere in the store (CRL, CA key, cache, entries).
    fn temporaries(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                temporaries(&p, out);
            } else if e.file_name().to_string_lossy().contains(".tmp-") {
                out.push(p.display().to_string());
            }
        }
    }
    let mut left = Vec::new();
    temporaries(&w.store, &mut left);
    assert!(left.is_empty(), "temporaries after recovery: {left:?}");

    // Every reported certificate is listed with the right status.
    let list = w.json(&["list", "--site-id", &site, "--json"]);
    let listed: HashMap<String, (String, String)> = list["Result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["Id"].as_str().unwrap().to_owned(),
                (
                    r["SerialNumber"].as_str().unwrap().to_owned(),
                    r["Status"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    for (id, serial) in &reported {
        let (s, status) = listed
            .get(id)
            .unwrap_or_else(|| panic!("reported certificate {id} is missing"));
        assert_eq!(s, serial, "{id}");
        if surely_revoked.contains(id) {
            assert_eq!(status, "revoked", "{id} was revoked");
        } else if !maybe_revoked.contains(id) {
            assert_eq!(status, "active", "{id} was never revoked");
        }
    }
    let serials: HashSet<&String> = listed.values().map(|(s, _)| s).collect();
    assert_eq!(serials.len(), listed.len(), "serials are unique");

    // Each reported certificate verifies against the site CA.
    let ca = w.ca_file(SITE);
    let ids: Vec<&String> = reported.keys().collect();
    for chunk in ids.chunks(200) {
        let mut args = vec![
            "verify".to_owned(),
            "-purpose".into(),
            "sslclient".into(),
            "-CAfile".into(),
            ca.display().to_string(),
        ];
        args.extend(
            chunk
                .iter()
                .map(|id| certs.join(format!("{id}.pem")).display().to_string()),
        );
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, text) = openssl(&refs);
        assert!(ok, "openssl verify: {text}");
        assert_eq!(text.matches(": OK").count(), chunk.len(), "{text}");
    }

    // The CRL lists exactly the revoked serials (none has expired).
    let revoked: BTreeSet<String> = listed
        .values()
        .filter(|(_, st)| st == "revoked")
        .map(|(s, _)| s.clone())
        .collect();
    for crl in [
        crl_pem,
        std::fs::read_to_string(w.store.join(format!("sites/{SITE}/crl.pem"))).unwrap(),
    ] {
        let der = pem_der(&crl);
        let (_, parsed) = x509_parser::parse_x509_crl(&der).unwrap();
        let on_crl: BTreeSet<String> = parsed
            .iter_revoked_certificates()
            .map(|r| hex(r.raw_serial()).trim_start_matches("00").to_owned())
            .collect();
        assert_eq!(on_crl, revoked, "the CRL disagrees with the statuses");
    }

    // Every reported operation is in the audit trail.
    let log = w.json(&["log", "--json"]);
    let audited: HashSet<(String, String)> = log["Result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["Operation"].as_str().unwrap().to_owned(),
                r["Id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for id in reported.keys() {
        assert!(
            audited.contains(&("issue".into(), id.clone())),
            "no audit record of issuing {id}"
        );
    }
    for id in &surely_revoked {
        assert!(
            audited.contains(&("revoke".into(), id.clone())),
            "no audit record of revoking {id}"
        );
    }

    // And the doctor agrees.
    let out = w.run(&["doctor", "--json"]);
    assert!(
        out.status.success(),
        "doctor: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pem_der(text: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---- Fail points: a kill at a named step, then the next command ----------

/// Runs `args` with the fail point `name` armed; the process must abort there.
fn aborted_at(w: &World, name: &str, args: &[&str]) {
    let out = w
        .cmd()
        .args(args)
        .env("ESA_CERTS_TEST_FAIL", name)
        .output()
        .expect("run esa-certs");
    assert_eq!(
        out.status.signal(),
        Some(6),
        "{args:?} did not abort at {name}: exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `doctor --json` (or `--fix --json`): its report and exit code.
fn doctor(w: &World, fix: bool) -> (serde_json::Value, Option<i32>) {
    let mut args = vec!["doctor", "--json"];
    if fix {
        args.insert(1, "--fix");
    }
    let out = w.run(&args);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code())
}

/// The findings of a doctor report of this kind, as (Id, Detail, Fixed).
fn findings_of(v: &serde_json::Value, kind: &str) -> Vec<(String, String, bool)> {
    v["Findings"]
        .as_array()
        .expect("Findings")
        .iter()
        .filter(|f| f["Kind"] == kind)
        .map(|f| {
            (
                f["Id"].as_str().unwrap_or("").to_owned(),
                f["Detail"].as_str().unwrap_or("").to_owned(),
                f["Fixed"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn shown(w: &World, id: &str) -> serde_json::Value {
    w.json(&["show", id, "--json"])["Result"].clone()
}

/// The live certificates of the first site that say they renew `id`.
fn successors(w: &World, id: &str) -> Vec<String> {
    let list = w.json(&["list", "--site-id", &SITE.to_string(), "--json"]);
    list["Result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Id"].as_str().unwrap().to_owned())
        .filter(|c| shown(w, c)["RenewedFrom"] == id)
        .collect()
}

#[test]
fn a_renew_killed_before_the_back_link_never_forks() {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED: the fail points exist in debug builds only");
        return;
    }
    let w = World::in_memory("[ca]\nkey_type = \"ECC_256\"\n");
    let renew_killed = |old: &str| -> String {
        aborted_at(&w, "renew-after-successor", &["renew", old, "--json"]);
        let next = successors(&w, old);
        assert_eq!(next.len(), 1, "the successor is published first: {next:?}");
        assert!(
            shown(&w, old).get("RenewedBy").is_none(),
            "the kill came before the back link"
        );
        next[0].clone()
    };

    // The next renew of the same certificate is refused (no second
    // successor), names the successor, and restores the lost link.
    let old = w.issue("ECC", 30)["Id"].as_str().unwrap().to_owned();
    let new = renew_killed(&old);
    let out = w.run(&["renew", &old]);
    assert_code(&out, "Certificate.StatusError");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&new), "the refusal names the successor: {err}");
    assert_eq!(successors(&w, &old), vec![new.clone()], "forked");
    assert_eq!(shown(&w, &old)["RenewedBy"], new.as_str());
    let (v, code) = doctor(&w, false);
    assert_eq!(code, Some(0), "{v:#}");

    // doctor names the missing link; --fix restores it.
    let old = w.issue("ECC", 30)["Id"].as_str().unwrap().to_owned();
    let new = renew_killed(&old);
    let (v, code) = doctor(&w, false);
    assert_eq!(code, Some(1), "{v:#}");
    let found = findings_of(&v, "renew-link-missing");
    assert_eq!(found.len(), 1, "{v:#}");
    assert_eq!(found[0].0, old, "the finding is the renewed certificate's");
    assert!(
        found[0].1.contains(&new),
        "the detail names the successor: {v:#}"
    );
    let (v, code) = doctor(&w, true);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(findings_of(&v, "renew-link-missing")[0].2, "fixed: {v:#}");
    assert_eq!(shown(&w, &old)["RenewedBy"], new.as_str());
    assert_code(&w.run(&["renew", &old]), "Certificate.StatusError");
    assert_eq!(successors(&w, &old), vec![new]);
}

/// The serials a CRL PEM lists.
fn crl_serials(pem: &str) -> BTreeSet<String> {
    let der = pem_der(pem);
    let (_, crl) = x509_parser::parse_x509_crl(&der).unwrap();
    crl.iter_revoked_certificates()
        .map(|r| hex(r.raw_serial()).trim_start_matches("00").to_owned())
        .collect()
}

#[test]
fn crl_current_never_serves_a_crl_a_killed_revoke_left_stale() {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED: the fail points exist in debug builds only");
        return;
    }
    let site = SITE.to_string();
    let current = ["crl", "--site-id", site.as_str(), "--current"];
    let stale_finding = |w: &World| {
        let (v, code) = doctor(w, false);
        assert_eq!(code, Some(1), "{v:#}");
        let stale: Vec<_> = v["Findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["Kind"] == "crl-stale" && f["SiteId"] == SITE)
            .collect();
        assert_eq!(stale.len(), 1, "doctor names the stale CRL: {v:#}");
    };

    // A plaintext CA key: `--current` regenerates the CRL first.
    let w = World::in_memory("[ca]\nkey_type = \"ECC_256\"\n");
    let c = w.issue("ECC", 30);
    let (id, serial) = (
        c["Id"].as_str().unwrap(),
        c["SerialNumber"].as_str().unwrap(),
    );
    aborted_at(&w, "status-before-crl", &["revoke", id]);
    assert_eq!(shown(&w, id)["Status"], "revoked");
    stale_finding(&w);
    let pem = w.ok(&current);
    assert!(
        crl_serials(&pem).contains(serial),
        "crl --current printed a CRL without the revoked serial"
    );
    assert_eq!(doctor(&w, false).1, Some(0));

    // A protected CA key and no passphrase: refused, saying why and what
    // to run; with the passphrase, regenerated.
    let w = World::in_memory("[ca]\nkey_type = \"ECC_256\"\nprotect_key = true\n");
    let pass = w.write("pass.txt", "the passphrase\n");
    let with_pass = |args: &[&str], fail: Option<&str>| {
        let mut c = w.cmd();
        c.args(args).env("ESA_CERTS_CA_PASSPHRASE_FILE", &pass);
        if let Some(f) = fail {
            c.env("ESA_CERTS_TEST_FAIL", f);
        }
        c.output().expect("run esa-certs")
    };
    let out = with_pass(
        &["issue", "--site-id", &site, "--pkey-type", "ECC", "--json"],
        None,
    );
    assert_success(&out);
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (id, serial) = (
        c["Id"].as_str().unwrap(),
        c["SerialNumber"].as_str().unwrap(),
    );
    let out = with_pass(&["revoke", id], Some("status-before-crl"));
    assert_eq!(out.status.signal(), Some(6), "the fail point did not fire");
    let before = w.snapshot();
    let out = w.run(&current);
    assert_code(&out, "InvalidParameter.CAPassphrase");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stale"),
        "the error says the CRL is stale: {err}"
    );
    assert!(
        err.contains(&format!("esa-certs crl --site-id {SITE}")),
        "the error says how to regenerate it: {err}"
    );
    assert!(out.stdout.is_empty(), "nothing printed on stdout");
    assert_eq!(
        w.snapshot(),
        before,
        "a refused --current changed the store"
    );
    stale_finding(&w);
    let out = with_pass(&current, None);
    assert_success(&out);
    assert!(crl_serials(&String::from_utf8_lossy(&out.stdout)).contains(serial));
    let out = with_pass(&["doctor", "--json"], None);
    assert_success(&out);
}

/// One CreateClientCertificate over a fresh connection; the certificate's
/// Id and PEM when the whole 200 response arrived.
fn create_over_http(port: u16) -> Option<(String, String)> {
    use std::io::{Read, Write};
    let body = b"PkeyType=ECC_256&ValidityDays=30";
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let head = format!(
        "POST /?Action=CreateClientCertificate&Version=2024-09-10&SiteId={SITE} HTTP/1.1\r\n\
         Host: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out);
    if !text.starts_with("HTTP/1.1 200") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(text.split("\r\n\r\n").nth(1)?).ok()?;
    Some((
        v["Id"].as_str()?.to_owned(),
        v["Certificate"].as_str()?.to_owned(),
    ))
}

#[test]
fn a_killed_serve_keeps_every_create_it_answered() {
    require_openssl!();
    // serve publishes a group of creates before its one sync and answers
    // after it: every create answered before a SIGKILL must be in the
    // store afterwards, whole, and nothing unanswered may be left half.
    let w = World::new("");
    let mut rng = XorShift(seed());
    let mut answered: Vec<(String, String)> = Vec::new();
    for _ in 0..3 {
        let mut server = w.serve(&["--insecure-no-auth"]);
        let port = server.port;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients: Vec<_> = (0..8)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        match create_over_http(port) {
                            Some(c) => got.push(c),
                            None => break,
                        }
                    }
                    got
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + rng.below(900)));
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for c in clients {
            answered.extend(c.join().unwrap());
        }
    }
    assert!(
        !answered.is_empty(),
        "no create was answered before the kills"
    );
    // The next writer settles what the kills left.
    w.ok(&["crl", "--site-id", &SITE.to_string()]);
    let listed: HashSet<String> = w.json(&["list", "--json"])["Result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Id"].as_str().unwrap().to_owned())
        .collect();
    for (id, _) in &answered {
        assert!(listed.contains(id), "answered create {id} was lost");
    }
    let ca = w.ca_file(SITE);
    for (id, pem) in answered.iter().step_by((answered.len() / 10).max(1)) {
        assert_eq!(w.ok(&["export", id, "--what", "cert"]).trim(), pem.trim());
        let file = w.write(&format!("{id}.pem"), pem);
        let (ok, out) = verify_client(&ca, &file);
        assert!(ok, "{id}: {out}");
    }
    let (v, code) = doctor(&w, false);
    assert_eq!(code, Some(0), "{v:#}");
    eprintln!(
        "{} creates answered before 3 kills, {} certificates in the store",
        answered.len(),
        listed.len()
    );
}
