//! Many sites: a config of 30,000 `[[site]]`s over a store where three
//! sites hold certificates and the others are empty
//! (`common::many_sites_store`, made once under `target/bench-stores/`).
//!
//! - `list --json > /dev/null` as a whole process (the release binary);
//! - open + list all, in-process;
//! - the TUI: the first frame, then the background read of every other
//!   site — the whole of it, the worker's share and the screen thread's
//!   share (what keys wait for), and a key in the sites list with its
//!   frame while the read goes on.
//!
//! Run with `cargo bench --bench sites` (`-- --quick`, `-- <filter>`);
//! `BENCH_SITES=3000` for another number of sites.

mod common;

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{Harness, MANY_SITES, many_sites_store};
use esa_certs::config;
use esa_certs::service::{ListQuery, Service};
use esa_certs::tui::bench_support::BenchTui;
use ratatui::crossterm::event::KeyCode;

/// Certificates in each of the three sites that have some.
const PER_SITE: u32 = 100;

fn open(cfg: &Path) -> Service {
    Service::open(config::load(cfg).expect("config")).expect("open")
}

fn process_list(h: &mut Harness, label: &str, cfg: &Path) {
    let exe = env!("CARGO_BIN_EXE_esa-certs");
    h.run(
        &format!("{label}: `list --json > /dev/null` (process)"),
        10,
        || {
            let status = Command::new(exe)
                .arg("--config")
                .arg(cfg)
                .args(["list", "--json"])
                .stdout(Stdio::null())
                .status()
                .expect("run esa-certs");
            assert!(status.success(), "esa-certs list failed");
        },
    );
}

fn in_process(h: &mut Harness, label: &str, cfg: &Path, sites: u32) {
    h.run(
        &format!("{label}: open + list all (in-process)"),
        10,
        || {
            let s = open(cfg);
            let r = s.list(&ListQuery::default()).expect("list");
            assert_eq!(r.response.result.len(), 3 * PER_SITE as usize);
            assert!(r.damaged.is_empty());
            black_box(r);
        },
    );
    let service = open(cfg);
    h.run(&format!("{label}: config load"), 10, || {
        black_box(config::load(cfg).expect("config"));
    });
    h.run(
        &format!("{label}: change stamp (the TUI's poll)"),
        10,
        || {
            black_box(service.change_stamp().expect("stamp"));
        },
    );
    h.run(&format!("{label}: list one site (in-process)"), 30, || {
        black_box(
            service
                .list(&ListQuery {
                    site_id: Some(u64::from(sites / 2)),
                    ..Default::default()
                })
                .expect("list"),
        );
    });
}

fn tui(h: &mut Harness, label: &str, cfg: &Path) {
    let name = format!("{label}: TUI every site read and drawn");
    if !h.wanted(&name) {
        return;
    }
    let rounds = h.iters(5);
    let (mut first, mut whole, mut worker, mut screen, mut keys) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut jobs = 0;
    for _ in 0..=rounds {
        let t = Instant::now();
        let mut tui = BenchTui::start(open(cfg), 120, 40);
        tui.draw();
        tui.run_job();
        tui.draw();
        first.push(t.elapsed());
        // Focus the sites list: the keys below move its selection.
        tui.key_alone(KeyCode::Tab);
        jobs = 0;
        while let Some((w, s)) = tui.run_job_split() {
            jobs += 1;
            worker.push(w);
            let t = Instant::now();
            tui.draw();
            screen.push(s + t.elapsed());
            let t = Instant::now();
            tui.key_alone(KeyCode::Down);
            tui.draw();
            keys.push(t.elapsed());
        }
        assert!(tui.fully_loaded());
        whole.push(t.elapsed());
    }
    // The first round warms up.
    first.remove(0);
    whole.remove(0);
    h.record(&format!("{label}: TUI first frame (open+load+draw)"), first);
    h.record(&name, whole);
    println!("{:<44} {jobs} loads after the first", "");
    h.record(&format!("{label}:   a load's worker time"), worker);
    h.record(
        &format!("{label}:   a load's screen-thread time (+ frame)"),
        screen,
    );
    h.record(
        &format!("{label}:   site-list Down + frame, while loading"),
        keys,
    );
}

fn main() {
    let mut h = Harness::from_args();
    let sites: u32 = std::env::var("BENCH_SITES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(MANY_SITES);
    println!(
        "esa-certs benchmarks, {sites} sites, 3 with {PER_SITE} certificates ({} build, {} cores)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let cfg = many_sites_store(sites, PER_SITE);
    let label = format!("{}k sites", sites as f64 / 1000.0);
    process_list(&mut h, &label, &cfg);
    in_process(&mut h, &label, &cfg, sites);
    tui(&mut h, &label, &cfg);
    if h.rows.is_empty() {
        eprintln!("no benchmark matched the filter");
    }
}
