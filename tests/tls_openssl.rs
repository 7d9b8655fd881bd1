//! Real mTLS handshakes against `openssl s_server`, which trusts a site CA
//! and checks its CRL: our certificates of every key type are accepted while
//! active, refused once revoked, accepted again after re-activation (with a
//! refreshed CRL), and a certificate of another site's CA is refused.
//!
//! A rejection is judged by what the server does (no HTTP answer, the alert
//! the client receives, the server's verify error), never by the client's
//! exit status alone: with TLS 1.3 a refused client certificate only shows
//! after the handshake, at the first read.

mod common;
mod lifecycle_support;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{SITE, SITE2, World};
use lifecycle_support::{Issued, crl_file, issue_on};

const LEAF_TYPES: [&str; 4] = ["RSA", "ECC_256", "ECC_384", "ED25519"];
const VERSIONS: [&str; 2] = ["-tls1_3", "-tls1_2"];

/// An `openssl s_server` that requires a client certificate from `ca`,
/// checks it against `crl`, and answers `GET /` with a status page.
/// Killed on drop, whatever happens to the test.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(w: &World, tag: &str, ca: &Path, crl: &Path, tls: &ServerCert) -> Server {
        for attempt in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free loopback port")
                .port();
            let log = w.path(&format!("s_server-{tag}-{attempt}.log"));
            let log_file = std::fs::File::create(&log).unwrap();
            let child = Command::new("openssl")
                .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
                .args(["-cert", tls.cert.to_str().unwrap()])
                .args(["-key", tls.key.to_str().unwrap()])
                .args(["-Verify", "1", "-verify_return_error"])
                .args(["-CAfile", ca.to_str().unwrap()])
                .args(["-crl_check", "-CRL", crl.to_str().unwrap()])
                .arg("-www")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().unwrap())
                .stderr(log_file)
                .spawn()
                .expect("spawn openssl s_server");
            let mut server = Server { child, port, log };
            if server.wait_ready() {
                return server;
            }
            // Most likely the port was taken between bind and listen.
            drop(server);
        }
        panic!("openssl s_server did not start");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            // s_server prints ACCEPT once it listens. A TCP probe alone is
            // not enough: when two tests race for one port, the probe can
            // reach the other test's server while ours failed to bind.
            if self.log().contains("ACCEPT") {
                return matches!(self.child.try_wait(), Ok(None))
                    && TcpStream::connect(("127.0.0.1", self.port)).is_ok();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Connects with `client`'s certificate and key, sends `GET /`.
    fn connect(&self, tls: &ServerCert, client: &Issued, version: &str) -> Outcome {
        let mut child = Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{}", self.port)])
            .args(["-servername", "localhost", version])
            .args([
                "-CAfile",
                tls.cert.to_str().unwrap(),
                "-verify_return_error",
            ])
            .args(["-cert", client.cert.to_str().unwrap()])
            .args(["-key", client.key.to_str().unwrap()])
            .arg("-ign_eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn openssl s_client");
        {
            let mut stdin = child.stdin.take().unwrap();
            let _ = stdin.write_all(b"GET / HTTP/1.0\r\n\r\n");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("s_client hung ({} {version})", client.pkey);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Outcome {
            answered: out.status.success() && text.contains("HTTP/1.0 200 ok"),
            text,
        }
    }
}

struct Outcome {
    /// The server completed the handshake and answered the request.
    answered: bool,
    text: String,
}

/// The TLS server's own certificate (not under test), made by openssl.
struct ServerCert {
    cert: PathBuf,
    key: PathBuf,
}

fn server_cert(w: &World) -> ServerCert {
    let (cert, key) = common::openssl_self_signed(
        w,
        "server",
        "/CN=localhost",
        2,
        &["subjectAltName=DNS:localhost"],
    );
    ServerCert { cert, key }
}

fn expect_all(server: &Server, tls: &ServerCert, certs: &[Issued], accepted: bool, why: &str) {
    for c in certs {
        for v in VERSIONS {
            let o = server.connect(tls, c, v);
            assert_eq!(
                o.answered,
                accepted,
                "{why}: {} {v} answered={} \n--- client ---\n{}\n--- server ---\n{}",
                c.pkey,
                o.answered,
                o.text,
                server.log()
            );
            if !accepted {
                assert!(o.text.contains("alert"), "{why}: no TLS alert: {}", o.text);
            }
        }
    }
}

/// The whole story for one kind of site CA.
fn lifecycle_against_s_server(ca_key_type: &str) {
    let w = World::new(&format!("[ca]\nkey_type = \"{ca_key_type}\"\n"));
    let tls = server_cert(&w);
    let certs: Vec<Issued> = LEAF_TYPES
        .iter()
        .map(|t| issue_on(&w, SITE, t, 30))
        .collect();
    let foreign = issue_on(&w, SITE2, "ECC_256", 30);
    let ca = w.ca_file(SITE);

    // Active: every key type gets in; another site's certificate does not.
    let crl = crl_file(&w, SITE, "crl-active.pem");
    let server = Server::start(&w, "active", &ca, &crl, &tls);
    expect_all(&server, &tls, &certs, true, "active");
    expect_all(
        &server,
        &tls,
        std::slice::from_ref(&foreign),
        false,
        "other site's CA",
    );
    assert!(
        server
            .log()
            .contains("unable to get local issuer certificate"),
        "{}",
        server.log()
    );
    drop(server);

    // Revoked: the new CRL shuts every one of them out.
    for c in &certs {
        w.ok(&["revoke", &c.id, "--reason", "keyCompromise"]);
    }
    let crl = crl_file(&w, SITE, "crl-revoked.pem");
    let server = Server::start(&w, "revoked", &ca, &crl, &tls);
    expect_all(&server, &tls, &certs, false, "revoked");
    let log = server.log();
    assert!(log.contains("num=23:certificate revoked"), "{log}");
    assert!(!log.contains("unable to get certificate CRL"), "{log}");
    drop(server);

    // Re-activated: after the CRL is refreshed, they are welcome again.
    for c in &certs {
        w.ok(&["activate", &c.id]);
    }
    let crl = crl_file(&w, SITE, "crl-reactivated.pem");
    let server = Server::start(&w, "reactivated", &ca, &crl, &tls);
    expect_all(&server, &tls, &certs, true, "re-activated");
}

#[test]
fn s_server_with_an_ecdsa_p256_site_ca() {
    require_openssl!();
    lifecycle_against_s_server("ECC_256");
}

#[test]
fn s_server_with_an_ed25519_site_ca() {
    require_openssl!();
    lifecycle_against_s_server("ED25519");
}

#[test]
fn s_server_with_an_rsa_site_ca() {
    require_openssl!();
    lifecycle_against_s_server("RSA_2048");
}
