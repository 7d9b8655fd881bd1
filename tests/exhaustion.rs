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
}
