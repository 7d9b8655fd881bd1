//! TUI benchmarks on the generated 100,000-certificate store (3 sites):
//! the real app state driven through its key map and drawn on a 120×40
//! `TestBackend` (`esa_certs::tui::bench_support`).
//!
//! - first full frame: from opening the config and the service to the
//!   first frame that shows the table's rows (open, app start, the loading
//!   frame, the worker's read of the selected site, the loaded frame);
//! - every site read: the same until the first load has read all sites
//!   (one job per site);
//! - filter keystroke: one key typed into `/` search, with its frame —
//!   queries typed character by character and then erased (each erasure
//!   widens the filter, so it rescans every row);
//! - scroll step: `j` and `PgDn` with their frames;
//! - after a 1 MB paste: the paste itself, then one key with its frame, in
//!   the `/` filter and the form's CommonName, Name and CSR fields (each
//!   field keeps what the service accepts and says it cut the rest);
//! - peak RSS: `VmHWM` of a fresh child process that opens the store,
//!   loads it, draws and filters (so nothing else in this process counts).
//!
//! Run with `cargo bench --bench tui` (`-- --quick`, `-- <filter>`). The
//! issue's targets: first frame < 500 ms, keystroke < 16 ms, RSS < 300 MB.
//! On a shared machine wall times grow with the load; the first frame's
//! CPU time (this thread's, from schedstat) is printed beside it.

mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Harness, fmt, store};
use esa_certs::config;
use esa_certs::service::Service;
use esa_certs::tui::bench_support::BenchTui;
use ratatui::crossterm::event::KeyCode;

const N: u32 = 100_000;
const W: u16 = 120;
const H: u16 = 40;
const RSS_CHILD: &str = "--rss-child";

fn open(cfg: &Path) -> Service {
    Service::open(config::load(cfg).expect("config")).expect("open")
}

/// Time this thread has spent on a CPU (`/proc/thread-self/schedstat`):
/// unlike wall time, not inflated when other work shares the cores. The
/// cases run the app's jobs on this thread, so it is the app's CPU time.
fn on_cpu() -> Duration {
    let ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// Open, start, read, draw until rows are on screen; returns the app and
/// the time to that frame. The rest of the store is not read yet.
fn first_frame(cfg: &Path) -> (BenchTui, Duration) {
    first_frame_cpu(cfg).0
}

/// [`first_frame`], and the CPU time it took.
fn first_frame_cpu(cfg: &Path) -> ((BenchTui, Duration), Duration) {
    let cpu = on_cpu();
    let t = Instant::now();
    let mut tui = BenchTui::start(open(cfg), W, H);
    tui.draw(); // the "reading the store" frame the runtime draws first
    tui.run_job();
    tui.draw();
    let took = t.elapsed();
    let cpu = on_cpu().saturating_sub(cpu);
    assert!(
        tui.shows_rows(),
        "no rows on the first frame:\n{}",
        tui.screen()
    );
    ((tui, took), cpu)
}

/// [`first_frame`], then until every site is read and drawn.
fn loaded(cfg: &Path) -> (BenchTui, Duration, Duration) {
    let t = Instant::now();
    let (mut tui, first) = first_frame(cfg);
    tui.settle();
    tui.draw();
    assert!(tui.fully_loaded());
    (tui, first, t.elapsed())
}

fn key(tui: &mut BenchTui, code: KeyCode) -> Duration {
    let t = Instant::now();
    tui.key(code);
    tui.draw();
    t.elapsed()
}

/// What an operator types: a Name prefix, a CommonName (= Id) fragment,
/// a hex prefix; each char by char, then erased.
const QUERIES: [&str; 4] = ["device-0012", "device-3", "e-01", "a7f"];

fn filter(h: &mut Harness, tui: &mut BenchTui) {
    let name = "tui 100k: filter keystroke (+ frame)";
    if !h.wanted(name) {
        return;
    }
    let rounds = h.iters(5);
    let (mut typing, mut erasing) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for q in QUERIES {
            tui.key(KeyCode::Char('/'));
            for c in q.chars() {
                typing.push(key(tui, KeyCode::Char(c)));
            }
            for _ in q.chars() {
                erasing.push(key(tui, KeyCode::Backspace));
            }
            tui.key(KeyCode::Esc);
        }
    }
    let all: Vec<Duration> = typing.iter().chain(&erasing).copied().collect();
    h.record(name, all);
    h.record("tui 100k:   of which typing (narrows)", typing);
    h.record("tui 100k:   of which Backspace (rescans)", erasing);
}

/// A 1 MB paste (timed alone), then keys typed after it, each with its
/// frame: in the filter, and in the form's CommonName, Name and CSR fields.
fn huge_paste(h: &mut Harness, tui: &mut BenchTui) {
    let huge = "a".repeat(1 << 20);
    let rounds = h.iters(20);
    // (name, keys that focus the field from the main screen, key typed)
    let cases: [(&str, &[KeyCode], KeyCode); 4] = [
        ("filter", &[KeyCode::Char('/')], KeyCode::Char('b')),
        (
            "CommonName",
            &[KeyCode::Char('n'), KeyCode::Down, KeyCode::Down],
            KeyCode::Backspace,
        ),
        (
            "Name",
            &[
                KeyCode::Char('n'),
                KeyCode::Down,
                KeyCode::Down,
                KeyCode::Down,
            ],
            KeyCode::Backspace,
        ),
        (
            "CSR",
            &[
                KeyCode::Char('n'),
                KeyCode::Up,
                KeyCode::Right,
                KeyCode::Down,
                KeyCode::Down,
            ],
            KeyCode::Char('b'),
        ),
    ];
    for (field, open, typed) in cases {
        let paste_name = format!("tui 100k: 1 MB paste into {field} (+ frame)");
        let key_name = format!("tui 100k:   then a key in {field} (+ frame)");
        if !h.wanted(&paste_name) && !h.wanted(&key_name) {
            continue;
        }
        let (mut pastes, mut keys) = (Vec::new(), Vec::new());
        for _ in 0..rounds.min(5) {
            for k in open {
                tui.key(*k);
            }
            let t = Instant::now();
            tui.paste(&huge);
            tui.draw();
            pastes.push(t.elapsed());
            for _ in 0..rounds {
                keys.push(key(tui, typed));
            }
            tui.key(KeyCode::Esc);
            tui.key(KeyCode::Esc);
        }
        h.record(&paste_name, pastes);
        h.record(&key_name, keys);
    }
}

fn scroll(h: &mut Harness, tui: &mut BenchTui) {
    let name = "tui 100k: scroll step j (+ frame)";
    if h.wanted(name) {
        let n = h.iters(2000);
        tui.key(KeyCode::Char('g'));
        let times = (0..n).map(|_| key(tui, KeyCode::Char('j'))).collect();
        h.record(name, times);
    }
    let name = "tui 100k: scroll step PgDn (+ frame)";
    if h.wanted(name) {
        let n = h.iters(500);
        tui.key(KeyCode::Char('g'));
        let times = (0..n).map(|_| key(tui, KeyCode::PageDown)).collect();
        h.record(name, times);
    }
    let name = "tui 100k: G to the last row (+ frame)";
    if h.wanted(name) {
        let n = h.iters(50);
        let times = (0..n)
            .map(|_| {
                tui.key(KeyCode::Char('g'));
                key(tui, KeyCode::Char('G'))
            })
            .collect();
        h.record(name, times);
    }
}

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// In the child: load the whole store, draw, filter; print the peak RSS.
fn rss_child(cfg: &Path) {
    let (mut tui, _, _) = loaded(cfg);
    let after_load = status_kb("VmHWM:").unwrap_or(0);
    for c in "device-0012".chars() {
        key(&mut tui, KeyCode::Char(c));
    }
    black_box(tui.view_len());
    let rss = status_kb("VmRSS:").unwrap_or(0);
    let hwm = status_kb("VmHWM:").unwrap_or(0);
    println!("{after_load} {rss} {hwm}");
}

fn peak_rss(h: &Harness, cfg: &Path) {
    if !h.wanted("tui 100k: peak RSS") {
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    let out = std::process::Command::new(exe)
        .arg(RSS_CHILD)
        .arg(cfg)
        .output()
        .expect("run the RSS child");
    let text = String::from_utf8_lossy(&out.stdout);
    let kb: Vec<u64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    if !out.status.success() || kb.len() != 3 {
        eprintln!(
            "RSS child failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let mb = |k: u64| k as f64 / 1024.0;
    println!(
        "{:<44} VmHWM {:.0} MB once loaded, {:.0} MB after filtering; VmRSS {:.0} MB",
        "tui 100k: peak RSS (fresh process)",
        mb(kb[0]),
        mb(kb[2]),
        mb(kb[1]),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == RSS_CHILD) {
        rss_child(Path::new(&args[i + 1]));
        return;
    }
    let mut h = Harness::from_args();
    println!(
        "esa-certs TUI benchmarks, {N} certificates, {W}x{H} ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let cfg = store(N);
    peak_rss(&h, &cfg);
    let mut cpu = Vec::new();
    h.run_measured("tui 100k: first full frame (open+load+draw)", 10, || {
        let ((tui, took), on) = first_frame_cpu(&cfg);
        cpu.push(on);
        drop(tui);
        took
    });
    if cpu.len() > 1 {
        cpu.remove(0); // the warm-up
    }
    h.record("tui 100k:   its on-CPU time (schedstat)", cpu);
    h.run_measured("tui 100k: every site read and drawn", 3, || {
        let (tui, _, all) = loaded(&cfg);
        drop(tui);
        all
    });
    let (mut tui, _, took) = loaded(&cfg);
    eprintln!("(app for the key cases ready in {})", fmt(took));
    filter(&mut h, &mut tui);
    scroll(&mut h, &mut tui);
    huge_paste(&mut h, &mut tui);
    if h.rows.is_empty() {
        eprintln!("no benchmark matched the filter");
    }
}
