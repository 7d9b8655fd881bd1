//! `esa-certs serve` at the HTTP level, without an SDK: what a malformed
//! or hostile request gets, and when the server refuses to start.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::World;

fn raw(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn body_of(response: &str) -> serde_json::Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {response}"))
}

#[test]
fn malformed_and_oversized_requests_get_errors_not_hangs() {
    let w = World::new("").with_access_key();
    let server = w.serve(&[]);
    let p = server.port;

    // Unsigned: 403 InvalidToken, with the RequestId in body and header.
    let r = raw(
        p,
        b"GET /?Action=ListSites HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
    let b = body_of(&r);
    assert_eq!(b["Code"], "Unauthorized.InvalidToken");
    let rid = b["RequestId"].as_str().unwrap();
    assert!(
        r.to_ascii_lowercase()
            .contains(&format!("x-acs-request-id: {}", rid.to_ascii_lowercase()))
    );

    // A declared body over 1 MiB: 413 at once, without reading it.
    let r = raw(
        p,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    assert_eq!(body_of(&r)["Code"], "RequestEntityTooLarge");

    // A chunked body that grows past 1 MiB: 413 too.
    let mut req = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n".to_vec();
    let chunk = vec![b'a'; 64 * 1024];
    for _ in 0..20 {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(&chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let r = raw(p, &req);
    assert!(r.starts_with("HTTP/1.1 413"), "{}", &r[..r.len().min(200)]);

    // Not HTTP at all: an HTTP error or a closed connection, never a hang.
    // (The read times out after 20 s: a hang would end with nothing read,
    // so the time is checked too.)
    let started = std::time::Instant::now();
    let r = raw(p, b"\x16\x03\x01garbage\r\n\r\n");
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 400"), "{r}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "garbage was answered at once"
    );

    // A client that never finishes its headers is cut off (10 s).
    let mut slow = TcpStream::connect(("127.0.0.1", p)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the slow client was dropped"
    );

    // The server still answers afterwards and stops cleanly.
    let r = raw(p, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
    assert!(server.stop(), "exit 0 on SIGTERM");
}

#[test]
fn unauthenticated_loopback_needs_the_flag_and_unknown_actions_are_named() {
    let w = World::new("");
    let out = w
        .cmd()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    common::assert_code(&out, "InvalidParameter.Config");
    let out = w
        .cmd()
        .args(["serve", "--listen", "0.0.0.0:0", "--insecure-no-auth"])
        .output()
        .unwrap();
    common::assert_code(&out, "InvalidParameter");
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));

    let server = w.serve(&["--insecure-no-auth"]);
    let r = raw(
        server.port,
        b"GET /?Action=Nope&Version=2024-09-10 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    assert_eq!(body_of(&r)["Code"], "InvalidAction.NotFound");
    let r = raw(
        server.port,
        b"GET /?Action=ListSites HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert_eq!(body_of(&r)["Sites"][0]["SiteName"], "example.com");
}

#[test]
fn a_secret_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new("").with_access_key();
    let secret = w.path("ak.secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = w
        .cmd()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    common::assert_code(&out, "InvalidParameter.Config");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("chmod 600") && !err.contains(common::server::SECRET),
        "{err}"
    );
}
