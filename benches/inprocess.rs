//! In-process benchmarks: the cost of the cryptography alone (key
//! generation per type, one leaf signature per CA type) and of the store's
//! read paths (open + list, filter) at 1k/10k/100k certificates.
//!
//! A small harness instead of criterion keeps the dependency tree lean: each
//! case runs a warm-up, then N timed iterations, and reports the median with
//! the 10th and 90th percentiles. Run with `cargo bench --bench inprocess`
//! (`-- --quick` for fewer iterations, `-- <filter>` to select cases).
//! Stores are generated once under `target/bench-stores/` and reused.

mod common;

use esa_certs::base::clock;
use std::hint::black_box;

use common::{Harness, store};
use esa_certs::config;
use esa_certs::pki::{self, LeafProfile, PkeyType, SiteCa};
use esa_certs::service::{ListQuery, Service};

fn ca(t: PkeyType) -> SiteCa {
    let n = pki::create_ca("bench CA", t, clock::now_seconds(), 3650).expect("CA");
    SiteCa::load(&n.cert_pem, &n.key_pem).expect("load CA")
}

fn crypto(h: &mut Harness) {
    for (t, iters) in [
        (PkeyType::EcP256, 500),
        (PkeyType::EcP384, 300),
        (PkeyType::Ed25519, 500),
        (PkeyType::Rsa2048, 30),
        (PkeyType::Rsa3072, 10),
        (PkeyType::Rsa4096, 5),
    ] {
        h.run(&format!("keygen {}", t.as_esa()), iters, || {
            black_box(pki::generate(t).expect("keygen"));
        });
    }
    let leaf_key = pki::generate(PkeyType::EcP256).expect("keygen");
    for t in [
        PkeyType::EcP256,
        PkeyType::EcP384,
        PkeyType::Ed25519,
        PkeyType::Rsa2048,
        PkeyType::Rsa3072,
        PkeyType::Rsa4096,
    ] {
        let ca = ca(t);
        let now = clock::now_seconds();
        let profile = LeafProfile {
            subject: pki::leaf_subject("bench"),
            raw_subject: None,
            sans: Vec::new(),
            key_algorithm: leaf_key.pkey_type.algorithm(),
            not_before: now,
            not_after: now + time::Duration::days(365),
        };
        h.run(&format!("sign one leaf, {} CA", t.as_esa()), 300, || {
            black_box(pki::issue_leaf(&ca, &profile, &leaf_key.public).expect("sign"));
        });
    }
    // The whole cryptographic cost of one `issue`: key + signature.
    let ca256 = ca(PkeyType::EcP256);
    h.run("crypto of one issue (P-256 key, P-256 CA)", 300, || {
        let k = pki::generate(PkeyType::EcP256).expect("keygen");
        let now = clock::now_seconds();
        let p = LeafProfile {
            subject: pki::leaf_subject("x"),
            raw_subject: None,
            sans: Vec::new(),
            key_algorithm: k.pkey_type.algorithm(),
            not_before: now,
            not_after: now + time::Duration::days(365),
        };
        black_box(pki::issue_leaf(&ca256, &p, &k.public).expect("sign"));
    });
}

fn stores(h: &mut Harness) {
    for n in [1_000u32, 10_000, 100_000] {
        let label = format!("{}k", n / 1000);
        if !h.wanted(&format!("store {label}")) {
            continue;
        }
        let cfg = store(n);
        let iters = if n >= 100_000 { 10 } else { 30 };
        h.run(&format!("store {label}: open + list all"), iters, || {
            let s = Service::open(config::load(&cfg).expect("config")).expect("open");
            black_box(s.list(&ListQuery::default()).expect("list"));
        });
        let service = Service::open(config::load(&cfg).expect("config")).expect("open");
        h.run(&format!("store {label}: list one site"), iters, || {
            black_box(
                service
                    .list(&ListQuery {
                        site_id: Some(1),
                        ..Default::default()
                    })
                    .expect("list"),
            );
        });
        let all = service
            .list(&ListQuery::default())
            .expect("list")
            .response
            .result;
        assert_eq!(all.len(), n as usize, "the store lists every certificate");
        let matching = all.iter().filter(|c| c.name.contains("device-12")).count();
        assert!(matching > 0, "the filter case must match something");
        // A plain scan of the listing, as a baseline: the TUI's own filter
        // (precomputed lower-case keys, memchr) is measured in benches/tui.rs.
        h.run(
            &format!("store {label}: naive scan \"device-12\" (baseline)"),
            iters * 3,
            || {
                let hits = all
                    .iter()
                    .filter(|c| c.name.contains("device-12") || c.common_name.contains("device-12"))
                    .count();
                black_box(hits);
            },
        );
    }
}

fn main() {
    let mut h = Harness::from_args();
    println!(
        "esa-certs in-process benchmarks ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    crypto(&mut h);
    stores(&mut h);
    if h.rows.is_empty() {
        eprintln!("no benchmark matched the filter");
    }
}
