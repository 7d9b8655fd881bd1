//! Shared helpers for the integration tests: a temporary config and store
//! (never the user's home), the built binary, and the `openssl` CLI.
#![allow(dead_code)]

pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const SITE: u64 = 1234567890123;
pub const SITE2: u64 = 42;

/// A temporary world: config file, store, and a scratch folder.
pub struct World {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub store: PathBuf,
}

impl World {
    /// Two sites; `extra` is appended to the config (e.g. `[ca]` overrides).
    pub fn new(extra: &str) -> World {
        Self::with_config(&format!(
            "[store]\npath = \"store\"\n{extra}\n[[site]]\nid = {SITE}\nname = \"example.com\"\n\n[[site]]\nid = {SITE2}\nname = \"other.example\"\n"
        ))
    }

    /// Like [`World::new`], with the store on a memory filesystem
    /// (`/dev/shm`) when there is one: for tests of locking and logic that
    /// would otherwise mostly wait for the disk's fsyncs.
    pub fn in_memory(extra: &str) -> World {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm).unwrap_or_else(|_| tempfile::tempdir().expect("tempdir"))
        } else {
            tempfile::tempdir().expect("tempdir")
        };
        Self::in_dir(
            dir,
            &format!(
                "[store]\npath = \"store\"\n{extra}\n[[site]]\nid = {SITE}\nname = \"example.com\"\n\n[[site]]\nid = {SITE2}\nname = \"other.example\"\n"
            ),
        )
    }

    /// A world whose config is exactly `text`.
    pub fn with_config(text: &str) -> World {
        Self::in_dir(tempfile::tempdir().expect("tempdir"), text)
    }

    fn in_dir(dir: tempfile::TempDir, text: &str) -> World {
        let config = dir.path().join("config.toml");
        std::fs::write(&config, text).expect("write config");
        let store = dir.path().join("store");
        World { dir, config, store }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A command for the binary with this world's config and a clean env.
    pub fn cmd(&self) -> Command {
        let mut c = self.cmd_bare();
        c.arg("--config").arg(&self.config);
        c
    }

    /// [`World::cmd`] without `--config` (the test passes its own).
    pub fn cmd_bare(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_esa-certs"));
        c.env_remove("ESA_CERTS_CONFIG");
        c.env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"));
        c.env("XDG_DATA_HOME", self.dir.path().join("xdg-data"));
        c.env("HOME", self.dir.path());
        c.stdin(Stdio::null());
        c
    }

    /// Runs the binary with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run esa-certs")
    }

    /// Runs with `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn esa-certs");
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "esa-certs {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and parses stdout as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let s = self.ok(args);
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("bad JSON ({e}): {s}"))
    }

    /// Issues a certificate with a generated key; returns the JSON.
    pub fn issue(&self, pkey: &str, days: u32) -> serde_json::Value {
        self.json(&[
            "issue",
            "--site-id",
            &SITE.to_string(),
            "--validity-days",
            &days.to_string(),
            "--pkey-type",
            pkey,
            "--json",
        ])
    }

    /// Writes `text` to a file in the scratch folder and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The CA PEM of a site, written to a file.
    pub fn ca_file(&self, site: u64) -> PathBuf {
        let pem = self.ok(&["ca", "--site-id", &site.to_string()]);
        self.write(&format!("ca-{site}.pem"), &pem)
    }

    /// Every file under the store with a hash of its content and its mode,
    /// for "unchanged" checks (the log and the lock file are excluded: they
    /// are not store state).
    pub fn snapshot(&self) -> Vec<(PathBuf, u64)> {
        let mut out = Vec::new();
        if self.store.exists() {
            walk(&self.store, &self.store, &mut out);
        }
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, u64)>) {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::PermissionsExt;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        if rel.starts_with("logs") || rel == Path::new(".lock") {
            continue;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::fs::metadata(&p)
            .unwrap()
            .permissions()
            .mode()
            .hash(&mut h);
        if p.is_dir() {
            out.push((rel, h.finish()));
            walk(root, &p, out);
        } else {
            std::fs::read(&p).unwrap().hash(&mut h);
            out.push((rel, h.finish()));
        }
    }
}

/// Whether `openssl` is on PATH; tests that need it print why they skip.
pub fn have_openssl() -> bool {
    have("openssl", &["version"])
}

pub fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Skips the calling test (with a printed reason) when openssl is missing.
#[macro_export]
macro_rules! require_openssl {
    () => {
        if !common::have_openssl() {
            eprintln!("SKIPPED: the `openssl` CLI is not installed (apt-get install openssl)");
            return;
        }
    };
}

/// Runs openssl with `args`; returns (success, stdout + stderr).
pub fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// `openssl verify -purpose sslclient -CAfile ca cert`: (success, output).
pub fn verify_client(ca: &std::path::Path, cert: &std::path::Path) -> (bool, String) {
    openssl(&[
        "verify",
        "-purpose",
        "sslclient",
        "-CAfile",
        ca.to_str().unwrap(),
        cert.to_str().unwrap(),
    ])
}

/// Asserts that a command succeeded, showing its output when it did not.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts that stderr carries exactly this ESA code (text mode).
pub fn assert_code(out: &Output, code: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit status; stderr: {err}");
    assert!(
        err.starts_with(&format!("error[{code}]: ")),
        "expected error[{code}], got: {err}"
    );
}

/// Asserts a JSON error on stderr with this code.
pub fn assert_json_code(out: &Output, code: &str) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap_or_else(|e| {
        panic!(
            "stderr is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(v["Code"], code);
    // ESA's table: the two Unauthorized codes are 403, every other one 400.
    let status = if code.starts_with("Unauthorized.") {
        403
    } else {
        400
    };
    assert_eq!(v["HttpStatusCode"], status);
    v
}

/// `openssl req -new -nodes` with a fresh key (`newkey`: e.g. `["-newkey", "rsa:2048"]`):
/// writes `<name>.key` and `<name>.csr` in the world's folder, returns the CSR path.
pub fn openssl_csr(
    w: &World,
    name: &str,
    newkey: &[&str],
    subj: &str,
    extra: &[&str],
) -> std::path::PathBuf {
    let key = w.path(&format!("{name}.key"));
    let csr = w.path(&format!("{name}.csr"));
    let mut args = vec!["req", "-new", "-nodes"];
    args.extend_from_slice(newkey);
    args.extend_from_slice(&[
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        subj,
    ]);
    args.extend_from_slice(extra);
    let (ok, out) = openssl(&args);
    assert!(ok, "openssl req: {out}");
    csr
}

/// Replaces the `key = …` line of a TOML file (a certificate's metadata,
/// edited by hand the way an operator or a damaged disk would); panics if
/// the file has no such line.
pub fn set_toml_line(path: &std::path::Path, key: &str, value: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let prefix = format!("{key} = ");
    assert!(
        text.lines().any(|l| l.starts_with(&prefix)),
        "no {key} in {}",
        path.display()
    );
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
    std::fs::write(path, edited).unwrap();
}

/// A self-signed P-256 certificate made by `openssl req -x509`, with each
/// of `extensions` as an `-addext`: writes `<name>.pem` and `<name>.key` in
/// the world's folder and returns (certificate, key).
pub fn openssl_self_signed(
    w: &World,
    name: &str,
    subj: &str,
    days: u32,
    extensions: &[&str],
) -> (PathBuf, PathBuf) {
    let cert = w.path(&format!("{name}.pem"));
    let key = w.path(&format!("{name}.key"));
    let days = days.to_string();
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
        "-subj",
        subj,
        "-days",
        &days,
    ];
    for e in extensions {
        args.extend_from_slice(&["-addext", e]);
    }
    let (ok, text) = openssl(&args);
    assert!(ok, "openssl req -x509: {text}");
    (cert, key)
}
