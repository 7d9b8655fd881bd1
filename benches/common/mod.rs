//! What the benchmarks share: the small harness (warm-up, N timed runs,
//! median with p10/p90) and the generated stores under
//! `target/bench-stores/<n>/` (3 sites, P-256 keys), made once and reused
//! by every bench file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use esa_certs::api::CreateRequest;
use esa_certs::config;
use esa_certs::service::Service;

pub struct Harness {
    filter: Option<String>,
    quick: bool,
    pub rows: Vec<(String, Vec<Duration>)>,
}

impl Harness {
    pub fn from_args() -> Harness {
        let args: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| a != "--bench")
            .collect();
        Harness {
            quick: args.iter().any(|a| a == "--quick"),
            filter: args.into_iter().find(|a| !a.starts_with("--")),
            rows: Vec::new(),
        }
    }

    pub fn wanted(&self, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| name.contains(f))
    }

    /// Times `f` `iters` times after one warm-up call.
    pub fn run(&mut self, name: &str, iters: usize, mut f: impl FnMut()) {
        self.run_measured(name, iters, || {
            let t = Instant::now();
            f();
            t.elapsed()
        });
    }

    /// Like [`Harness::run`], for cases that time only part of each call
    /// (not their setup or teardown): `f` returns the time that counts.
    pub fn run_measured(&mut self, name: &str, iters: usize, mut f: impl FnMut() -> Duration) {
        if !self.wanted(name) {
            return;
        }
        let iters = self.iters(iters);
        f();
        let times = (0..iters).map(|_| f()).collect();
        self.record(name, times);
    }

    /// Iterations for a case: fewer with `--quick`.
    pub fn iters(&self, iters: usize) -> usize {
        if self.quick {
            iters.div_ceil(5).max(3)
        } else {
            iters
        }
    }

    /// Reports times measured by the caller (one per event).
    pub fn record(&mut self, name: &str, mut times: Vec<Duration>) {
        if times.is_empty() {
            return;
        }
        times.sort();
        let s = stats(&times);
        println!(
            "{name:<44} median {:>10}   p10 {:>10}   p90 {:>10}   max {:>10}   n={}",
            fmt(s.0),
            fmt(s.1),
            fmt(s.2),
            fmt(times[times.len() - 1]),
            times.len()
        );
        self.rows.push((name.to_owned(), times));
    }
}

pub fn stats(sorted: &[Duration]) -> (Duration, Duration, Duration) {
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.1), at(0.9))
}

pub fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else if us < 1e6 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// A store with `n` P-256 certificates spread over 3 sites, made once.
pub fn store(n: u32) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/bench-stores/{n}"));
    let cfg = dir.join("config.toml");
    if dir.join("complete").exists() && holds(&cfg) != Some(n as usize) {
        eprintln!(
            "{} does not hold {n} certificates: made again",
            dir.display()
        );
        let _ = std::fs::remove_file(dir.join("complete"));
    }
    if !dir.join("complete").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bench dir");
        std::fs::write(
            &cfg,
            "[store]\npath = \"store\"\n[[site]]\nid = 1\nname = \"a.example\"\n[[site]]\nid = 2\nname = \"b.example\"\n[[site]]\nid = 3\nname = \"c.example\"\n",
        )
        .expect("config");
        let service = Service::open(config::load(&cfg).expect("config")).expect("store");
        eprintln!(
            "generating a store of {n} certificates in {} ...",
            dir.display()
        );
        for site in 1..=3u32 {
            let count = n / 3 + u32::from(site <= n % 3);
            let req = CreateRequest {
                site_id: Some(site.to_string()),
                validity_days: Some(((site * 97) % 700 + 1).to_string()),
                pkey_type: Some("ECC".into()),
                name: Some(format!("device-{{n}}.site{site}")),
                ..Default::default()
            };
            service
                .create_many(&req, count, |_| Ok(()))
                .expect("bulk issue");
        }
        assert_eq!(holds(&cfg), Some(n as usize), "the generated store");
        std::fs::write(dir.join("complete"), "").expect("marker");
    }
    cfg
}

/// How many certificates the store of `cfg` lists (a store made by an
/// older layout, or cut short, lists fewer: the figures would be wrong).
fn holds(cfg: &Path) -> Option<usize> {
    let service = Service::open(config::load(cfg).ok()?).ok()?;
    let listing = service.list(&Default::default()).ok()?;
    Some(listing.response.result.len())
}

/// Sites in the many-sites store ([`many_sites_store`]).
pub const MANY_SITES: u32 = 30_000;

/// The sites of the many-sites store that hold certificates (the others
/// are empty): the first, one in the middle, the last.
pub fn many_sites_with_certs(sites: u32) -> [u32; 3] {
    [1, sites / 2, sites]
}

/// A config of `sites` `[[site]]` tables (ids 1..=sites, names
/// `s<id>.example`), in the format `esa-certs` reads.
pub fn many_sites_config(sites: u32, store: &str) -> String {
    let mut cfg = format!("[store]\npath = \"{store}\"\n");
    for id in 1..=sites {
        cfg.push_str(&format!(
            "\n[[site]]\nid = {id}\nname = \"s{id}.example\"\n"
        ));
    }
    cfg
}

/// A store of `sites` sites, made once under
/// `target/bench-stores/sites-<sites>/`: [`many_sites_with_certs`] hold
/// `per_site` P-256 certificates each (issued through the service, so
/// they have their CA and listing cache); every other site has an empty
/// `certs/` folder, as a site looks once its certificates were deleted.
/// Returns the config path.
pub fn many_sites_store(sites: u32, per_site: u32) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/bench-stores/sites-{sites}-{per_site}"));
    let cfg = dir.join("config.toml");
    if dir.join("complete").exists() {
        return cfg;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    std::fs::write(&cfg, many_sites_config(sites, "store")).expect("config");
    eprintln!(
        "generating a store of {sites} sites in {} ...",
        dir.display()
    );
    let service = Service::open(config::load(&cfg).expect("config")).expect("store");
    let with = many_sites_with_certs(sites);
    for site in with {
        let req = CreateRequest {
            site_id: Some(site.to_string()),
            validity_days: Some("365".into()),
            pkey_type: Some("ECC".into()),
            name: Some(format!("device-{{n}}.site{site}")),
            ..Default::default()
        };
        service
            .create_many(&req, per_site, |_| Ok(()))
            .expect("bulk issue");
    }
    for site in (1..=sites).filter(|s| !with.contains(s)) {
        let certs = dir.join(format!("store/sites/{site}/certs"));
        // Private, as the store makes its folders.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&certs)
            .expect("site folder");
    }
    std::fs::write(dir.join("complete"), "").expect("marker");
    cfg
}
