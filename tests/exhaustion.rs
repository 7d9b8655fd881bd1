//! Running out: of threads (bulk issuance on a machine at its process
//! limit) and of disk space (ENOSPC in the middle of a write). A command
//! that cannot finish fails with a clear error, writes nothing half, and
//! the audit log records only what was committed.

mod common;

use std::process::Output;

use common::*;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The binary with `args` and the debug-only fail point `fail` armed.
fn run_failing(w: &World, fail: &str, args: &[&str]) -> Output {
    w.cmd()
        .args(args)
        .env("ESA_CERTS_TEST_FAIL", fail)
        .output()
        .expect("run esa-certs")
}

fn audit_ops(w: &World) -> Vec<String> {
    let v = w.json(&["log", "--json"]);
    v["Result"]
        .as_array()
        .expect("Result")
        .iter()
        .map(|r| r["Operation"].as_str().unwrap_or("").to_owned())
        .collect()
}

// ---- #13.6: bulk issuance when no thread can be started --------------------

#[test]
fn bulk_issuance_without_threads_fails_clearly_and_writes_nothing() {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED: the fail points exist in debug builds only");
        return;
    }
    let w = World::new("");
    w.issue("ECC", 30);
    let site = SITE.to_string();
    let bulk = [
        "issue",
        "--site-id",
        &site,
        "--count",
        "20",
        "--pkey-type",
        "ECC",
        "--name",
        "fleet-{n}",
    ];
    for (fail, what) in [
        ("bulk-spawn-keygen", "key generation"),
        ("bulk-spawn-sign", "signing"),
    ] {
        let before = w.snapshot();
        let out = run_failing(&w, fail, &bulk);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{fail}: {err}");
        assert!(
            err.starts_with("error[InternalException]: ")
                && err.contains(&format!("cannot start a {what} thread")),
            "{fail}: unclear error: {err}"
        );
        assert!(!err.contains("panicked"), "{fail}: {err}");
        assert!(out.stdout.is_empty(), "{fail}: issued something");
        assert_eq!(w.snapshot(), before, "{fail}: the store changed");
    }
    assert_eq!(audit_ops(&w), ["ca-create", "issue"]);
    // Without the fail point the same command works.
    let v = w.json(&["list", "--json"]);
    assert_eq!(v["TotalCount"], 1);
    w.ok(&bulk);
    let v = w.json(&["list", "--json"]);
    assert_eq!(v["TotalCount"], 21);
}

#[test]
fn listing_threads_that_cannot_start_list_on_the_calling_thread() {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED: the fail points exist in debug builds only");
        return;
    }
    let w = World::new("");
    for site in [SITE, SITE2] {
        w.ok(&[
            "issue",
            "--site-id",
            &site.to_string(),
            "--pkey-type",
            "ECC",
        ]);
    }
    let out = run_failing(&w, "pool-spawn", &["list", "--json"]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["TotalCount"], 2);
    let mut sites: Vec<u64> = v["Result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["SiteId"].as_u64().unwrap())
        .collect();
    sites.sort_unstable();
    let mut want = [SITE, SITE2];
    want.sort_unstable();
    assert_eq!(sites, want);
}

#[test]
fn bulk_writers_that_cannot_start_write_on_the_calling_thread() {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED: the fail points exist in debug builds only");
        return;
    }
    let w = World::new("");
    let out = run_failing(
        &w,
        "store-spawn-writer",
        &[
            "issue",
            "--site-id",
            &SITE.to_string(),
            "--count",
            "100",
            "--pkey-type",
            "ECC",
        ],
    );
    assert_success(&out);
    let v = w.json(&["list", "--json"]);
    assert_eq!(v["TotalCount"], 100);
    let out = w.run(&["doctor"]);
    assert_success(&out);
}

/// The real thing, not a fail point: `ulimit -u 1` leaves the process no
/// thread to start. Root ignores the limit, so as root the command runs
/// as `nobody` (through `setpriv`) in a world that `nobody` may write.
#[test]
fn bulk_issuance_at_the_process_limit_fails_clearly() {
    use std::os::unix::fs::PermissionsExt;
    let root = rustix::process::getuid().is_root();
    if !have("bash", &["--version"]) || (root && !have("setpriv", &["--version"])) {
        eprintln!("SKIPPED: needs bash (for ulimit -u) and, as root, setpriv");
        return;
    }
    let w = World::new("");
    std::fs::set_permissions(w.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&w.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let limited = |limit: Option<u32>, args: &[&str]| {
        let mut c = w.cmd();
        c.args(args).env_remove("ESA_CERTS_TEST_FAIL");
        let script = match limit {
            Some(n) => format!("ulimit -S -u {n} && exec \"$0\" \"$@\""),
            None => "exec \"$0\" \"$@\"".to_owned(),
        };
        let mut wrapped = if root {
            let mut s = std::process::Command::new("setpriv");
            s.args(["--reuid=65534", "--regid=65534", "--clear-groups", "bash"]);
            s
        } else {
            std::process::Command::new("bash")
        };
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        wrapped
            .arg("-c")
            .arg(script)
            .arg(c.get_program())
            .args(c.get_args())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run esa-certs")
    };
    // One certificate needs no thread: the store and the CA exist after it.
    let site = SITE.to_string();
    let one = ["issue", "--site-id", &site, "--pkey-type", "ECC"];
    assert_success(&limited(None, &one));
    let before = w.snapshot();
    let bulk = [&one[..], &["--count", "20"]].concat();
    let out = limited(Some(1), &bulk);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error[InternalException]: ") && err.contains("cannot start a"),
        "unclear error: {err}"
    );
    assert_eq!(w.snapshot(), before, "the store changed");
    assert_success(&limited(None, &bulk));
    assert_eq!(w.json(&["list", "--json"])["TotalCount"], 21);
    // Listing needs no thread either: its pool's helpers that cannot
    // start leave the work to the calling thread (issue #13 item 13).
    let out = limited(Some(1), &["list", "--json"]);
    assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["TotalCount"], 21, "{}", stderr(&out));
}

// ---- #13.10: a full disk ---------------------------------------------------

/// Set in the child that runs inside its own mount namespace, to the
/// tmpfs mounted there.
const TMPFS_ENV: &str = "ESA_CERTS_TEST_TMPFS";

/// Runs the test `name` again, as a child inside a new user and mount
/// namespace (`unshare -rm`) with a 1 MiB tmpfs mounted on a fresh folder,
/// or says why this machine cannot.
fn rerun_on_tmpfs(name: &str) {
    let mnt = tempfile::tempdir().expect("mount point");
    let exe = std::env::current_exe().expect("test binary");
    let out = match std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c"])
        .arg("mount -t tmpfs -o size=1m,mode=0700 tmpfs \"$0\" || exit 77; exec \"$@\"")
        .arg(mnt.path())
        .arg(&exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(TMPFS_ENV, mnt.path())
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("SKIPPED: no unshare ({e}): cannot mount a small tmpfs");
            return;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) if text.contains("1 passed") => {
            eprintln!("ran on a 1 MiB tmpfs in its own mount namespace");
        }
        Some(77) | Some(1) if text.contains("mount") && !text.contains("running 1 test") => {
            eprintln!("SKIPPED: cannot mount a tmpfs in a user namespace here:\n{text}");
        }
        other => panic!("the test on a tmpfs failed (exit {other:?}):\n{text}"),
    }
}

/// Fills the filesystem holding `dir` to its last block.
fn fill(dir: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("filler")).expect("filler");
    let chunk = vec![0u8; 1 << 16];
    while f.write(&chunk).is_ok_and(|n| n > 0) {}
    while f.write(&chunk[..1]).is_ok_and(|n| n > 0) {}
    let st = rustix::fs::statvfs(dir).expect("statvfs");
    assert_eq!(st.f_bavail, 0, "the tmpfs is not full");
}

/// Pads the audit log with a blank line (readers skip blank lines) so
/// that exactly `slack` bytes are left in its last page: what an append
/// can still write on a full tmpfs before ENOSPC.
fn leave_slack(audit: &std::path::Path, slack: u64) {
    use std::io::Write;
    let len = std::fs::metadata(audit).expect("audit.log").len();
    let want = (4096 - slack) % 4096;
    let pad = (want + 4096 - len % 4096) % 4096;
    assert!(pad >= 1, "cannot pad by zero bytes");
    let mut line = vec![b' '; pad as usize - 1];
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(audit)
        .expect("audit.log");
    f.write_all(&line).expect("pad the audit log");
    assert_eq!(std::fs::metadata(audit).unwrap().len() % 4096, want);
}

/// What a reader sees: the listing and the audit log (request ids aside).
fn readback(w: &World) -> (serde_json::Value, serde_json::Value) {
    let mut list = w.json(&["list", "--json"]);
    let mut log = w.json(&["log", "--json"]);
    list.as_object_mut().unwrap().remove("RequestId");
    log.as_object_mut().unwrap().remove("RequestId");
    (list, log)
}

#[test]
fn on_a_full_disk_commands_fail_cleanly_and_the_audit_log_claims_nothing() {
    let name = "on_a_full_disk_commands_fail_cleanly_and_the_audit_log_claims_nothing";
    let Some(mnt) = std::env::var_os(TMPFS_ENV) else {
        rerun_on_tmpfs(name);
        return;
    };
    let mnt = std::path::PathBuf::from(mnt);
    let mut w = World::new("");
    let store = mnt.join("store");
    let text = std::fs::read_to_string(&w.config).unwrap().replace(
        "path = \"store\"",
        &format!("path = {:?}", store.display().to_string()),
    );
    std::fs::write(&w.config, text).unwrap();
    w.store = store;
    let a = w.issue("ECC", 30)["Id"].as_str().unwrap().to_owned();
    w.issue("ECC", 30);
    let audit = w.store.join("audit.log");
    let site = SITE.to_string();
    let site2 = SITE2.to_string();
    let failing: [Vec<&str>; 4] = [
        vec!["revoke", &a],
        vec!["issue", "--site-id", &site, "--pkey-type", "ECC"],
        // A site without a CA yet: the CA cannot be created either.
        vec!["issue", "--site-id", &site2, "--pkey-type", "ECC"],
        vec![
            "issue",
            "--site-id",
            &site,
            "--pkey-type",
            "ECC",
            "--count",
            "3",
        ],
    ];

    // Room for a whole record in the audit log's last page (the append
    // succeeds, the change after it fails), then room for a part of one
    // (the append itself fails half-way).
    leave_slack(&audit, 3000);
    fill(&mnt);
    for (slack, step) in [(3000, "the change"), (40, "the audit append")] {
        if slack != 3000 {
            leave_slack(&audit, slack);
        }
        let files = w.snapshot();
        let seen = readback(&w);
        for args in &failing {
            let out = w.run(args);
            let err = stderr(&out);
            let what = format!("{args:?} on a full disk, {step} failing");
            assert_eq!(out.status.code(), Some(1), "{what}: {err}");
            assert!(
                err.starts_with("error[InternalException]: ") && err.contains("No space left"),
                "{what}: unclear error: {err}"
            );
            if step == "the audit append" {
                assert!(err.contains("audit log"), "{what}: {err}");
            }
            assert_eq!(w.snapshot(), files, "{what}: the store changed");
            assert_eq!(readback(&w), seen, "{what}: reads back differently");
        }
        // Reading needs no space.
        w.ok(&["show", &a]);
        let out = w.run(&["doctor", "--json"]);
        assert_success(&out);
    }

    std::fs::remove_file(mnt.join("filler")).unwrap();
    w.ok(&["revoke", &a]);
    w.issue("ECC", 30);
    let log = w.json(&["log", "--json"]);
    let ops: Vec<&str> = log["Result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["ca-create", "issue", "issue", "revoke", "issue"]);
    let out = w.run(&["doctor", "--json"]);
    assert_success(&out);
    assert_eq!(w.json(&["list", "--json"])["TotalCount"], 3);
}

/// The same without a tmpfs (any machine, debug builds): fail points make
/// the step after the audit append fail with ENOSPC (`write-enospc`: every
/// new file of the store), or the append itself after a short write
/// (`audit-enospc`).
#[test]
fn enospc_at_the_named_step_takes_the_audit_record_back() {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED: the fail points exist in debug builds only");
        return;
    }
    let w = World::new("");
    let a = w.issue("ECC", 30)["Id"].as_str().unwrap().to_owned();
    let b = w.issue("ECC", 30)["Id"].as_str().unwrap().to_owned();
    w.ok(&["revoke", &b]);
    let files = w.snapshot();
    let seen = readback(&w);
    let site = SITE.to_string();
    let site2 = SITE2.to_string();
    for fail in ["write-enospc", "audit-enospc"] {
        for args in [
            vec!["revoke", &a],
            vec!["activate", &b],
            vec!["delete", &b],
            vec!["issue", "--site-id", &site, "--pkey-type", "ECC"],
            vec!["issue", "--site-id", &site2, "--pkey-type", "ECC"],
            vec![
                "issue",
                "--site-id",
                &site,
                "--pkey-type",
                "ECC",
                "--count",
                "3",
            ],
        ] {
            let out = run_failing(&w, fail, &args);
            let err = stderr(&out);
            let what = format!("{args:?} with {fail}");
            assert_eq!(out.status.code(), Some(1), "{what}: {err}");
            assert!(
                err.starts_with("error[InternalException]: ") && err.contains("No space left"),
                "{what}: unclear error: {err}"
            );
            assert_eq!(w.snapshot(), files, "{what}: the store changed");
            assert_eq!(readback(&w), seen, "{what}: reads back differently");
        }
    }
    w.ok(&["revoke", &a]);
    assert_eq!(
        audit_ops(&w),
        ["ca-create", "issue", "issue", "revoke", "revoke"]
    );
}

#[test]
fn a_torn_last_audit_line_is_skipped_and_the_next_record_starts_a_fresh_line() {
    use std::io::Write;
    let w = World::new("");
    w.issue("ECC", 30);
    let path = w.store.join("audit.log");
    let torn = b"{\"time\":\"2026-01-0";
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(torn)
        .unwrap();
    let check = |records: usize| {
        let v = w.json(&["log", "--json"]);
        assert_eq!(v["TotalCount"], records, "{v}");
        let skipped = v["SkippedLines"].as_array().unwrap();
        assert_eq!(skipped.len(), 1, "{v}");
        assert_eq!(skipped[0]["Line"], 3, "{v}");
        let out = w.run(&["log"]);
        assert_success(&out);
    };
    check(2);
    w.issue("ECC", 30);
    check(3);
    let text = std::fs::read(&path).unwrap();
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    assert_eq!(lines[2], torn, "the torn record is not a line of its own");
    let next: serde_json::Value = serde_json::from_slice(lines[3]).unwrap();
    assert_eq!(next["op"], "issue");
    assert_eq!(lines.len(), 5, "one record per line, newline-terminated");
    assert!(lines[4].is_empty());
}
