//! Load generator for `scripts/bench.sh`: N keep-alive clients for S
//! seconds against `esa-certs serve` (signed ACS3 requests, as the SDKs
//! send) or `cfssl serve`'s newcert; prints requests/s and p50/p99.
//!
//! usage: serve MODE URL SECONDS CLIENTS [SITE [KEY_ID SECRET]]
//!   MODE: create | get | list | cfssl

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use esa_certs::acs::{Acs3Signer, format_date, percent_encode};

fn request(
    stream: &mut TcpStream,
    reader: &mut BufReader<TcpStream>,
    head: &str,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut len = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut buf = vec![0; len];
    reader.read_exact(&mut buf)?;
    Ok((status, buf))
}

fn main() {
    let a: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if a.len() < 4 {
        eprintln!("usage: serve MODE URL SECONDS CLIENTS [SITE [KEY_ID SECRET]]");
        return;
    }
    let (mode, url) = (a[0].clone(), a[1].clone());
    let secs: u64 = a[2].parse().unwrap_or(10);
    let clients: usize = a[3].parse().unwrap_or(8);
    let site = a.get(4).cloned().unwrap_or_default();
    let key = a.get(5).cloned().unwrap_or_default();
    let secret = a.get(6).cloned().unwrap_or_default();
    let host = url.trim_start_matches("http://").to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let lat = Arc::new(Mutex::new(Vec::<f64>::new()));
    let errors = Arc::new(Mutex::new(0u64));
    let total_rows = Arc::new(Mutex::new(0u64));
    let mut handles = Vec::new();
    let started = Instant::now();
    for c in 0..clients {
        let (mode, host, site, key, secret) = (
            mode.clone(),
            host.clone(),
            site.clone(),
            key.clone(),
            secret.clone(),
        );
        let (stop, lat, errors, total_rows) = (
            stop.clone(),
            lat.clone(),
            errors.clone(),
            total_rows.clone(),
        );
        handles.push(std::thread::spawn(move || {
            let mut stream = TcpStream::connect(&host).expect("connect");
            stream.set_nodelay(true).ok();
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut mine = Vec::new();
            let mut n: u64 = c as u64;
            let signer = Acs3Signer { access_key_id: &key, secret: &secret };
            while !stop.load(Ordering::Relaxed) {
                n += clients as u64;
                let nonce = format!("{c}-{n}-{}", started.elapsed().as_nanos());
                let date = format_date(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64));
                // Get needs Ids: the first List of this client supplies them.
                if mode == "get" && mine.is_empty() {
                    let query = vec![("PageNumber".to_owned(), "1".to_owned()), ("PageSize".to_owned(), "100".to_owned()), ("SiteId".to_owned(), site.clone())];
                    let headers = signer.sign("GET", &host, "ListClientCertificates", "2024-09-10", &query, b"", None, &date, &format!("{nonce}-l"));
                    let mut head = format!("GET /?PageNumber=1&PageSize=100&SiteId={site} HTTP/1.1\r\n");
                    for (k, v) in headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("content-length: 0\r\n\r\n");
                    if let Ok((200, resp)) = request(&mut stream, &mut reader, &head, b"") {
                        let v: serde_json::Value = serde_json::from_slice(&resp).unwrap_or_default();
                        mine = v["Result"].as_array().into_iter().flatten().filter_map(|r| r["Id"].as_str().map(str::to_owned)).collect();
                    }
                    if mine.is_empty() {
                        eprintln!("get: the site lists no certificate to get");
                        break;
                    }
                    continue;
                }
                let (head, body): (String, Vec<u8>) = match mode.as_str() {
                    "cfssl" => {
                        let body = br#"{"request":{"CN":"x","key":{"algo":"ecdsa","size":256}},"profile":"client"}"#.to_vec();
                        (format!("POST /api/v1/cfssl/newcert HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()), body)
                    }
                    m => {
                        let (method, action, query, body): (&str, &str, Vec<(String, String)>, Vec<u8>) = match m {
                            "create" => ("POST", "CreateClientCertificate", vec![("SiteId".into(), site.clone())], b"PkeyType=ECC_256&ValidityDays=30".to_vec()),
                            "list" => ("GET", "ListClientCertificates", vec![("PageNumber".into(), (1 + n % 300).to_string()), ("PageSize".into(), "100".into()), ("SiteId".into(), site.clone())], Vec::new()),
                            _ => {
                                let id = mine[(n as usize) % mine.len()].clone();
                                ("GET", "GetClientCertificate", vec![("Id".into(), id), ("SiteId".into(), site.clone())], Vec::new())
                            }
                        };
                        let ct = (method == "POST").then_some("application/x-www-form-urlencoded");
                        let headers = signer.sign(method, &host, action, "2024-09-10", &query, &body, ct, &date, &nonce);
                        let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
                        let mut head = format!("{method} /?{} HTTP/1.1\r\n", q.join("&"));
                        for (k, v) in headers {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
                        (head, body)
                    }
                };
                let t = Instant::now();
                match request(&mut stream, &mut reader, &head, &body) {
                    Ok((200, resp)) => {
                        lat.lock().unwrap().push(t.elapsed().as_secs_f64() * 1e3);
                        if mode == "list" {
                            let v: serde_json::Value = serde_json::from_slice(&resp).unwrap_or_default();
                            *total_rows.lock().unwrap() += v["Result"].as_array().map_or(0, |r| r.len() as u64);
                            if mine.is_empty() {
                                mine = v["Result"].as_array().into_iter().flatten().filter_map(|r| r["Id"].as_str().map(str::to_owned)).collect();
                            }
                        }
                    }
                    Ok((status, resp)) => {
                        *errors.lock().unwrap() += 1;
                        if *errors.lock().unwrap() < 3 {
                            eprintln!("status {status}: {}", String::from_utf8_lossy(&resp));
                        }
                    }
                    Err(e) => {
                        eprintln!("connection error: {e}");
                        break;
                    }
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut l = lat.lock().unwrap().clone();
    l.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let pct = |p: f64| {
        l.get(((l.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "{mode}: clients={clients} ok={} errors={} rps={:.0} p50={:.2}ms p99={:.2}ms rows={}",
        l.len(),
        errors.lock().unwrap(),
        l.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        total_rows.lock().unwrap()
    );
}
