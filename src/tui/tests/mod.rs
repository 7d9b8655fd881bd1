//! Tests of the TUI without a terminal: keys in, state out (the effects
//! are run here, synchronously, as the runtime would), and whole screens
//! drawn on ratatui's `TestBackend`, compared as insta snapshots.

use crate::base::clock;
use crate::base::limits;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use time::macros::datetime;

use super::action::Action;
use super::app::{App, Effect, NoteKind, Popup, Screen};
use super::clipboard::Clipboard;
use super::screen::issue_form::{Field, Source};
use super::screen::main::rows::{CertRow, tests::summary};
use super::theme::Theme;
use super::worker::{self, Done, Snapshot};
use super::{keys::Ctx, ui};
use crate::api::{CreateRequest, CreateResponse, SiteSummary};
use crate::config;
use crate::error::ErrorCode;
use crate::service::{ListQuery, Service};

const SITE: u64 = 1234567890123;

/// A temporary config and store, the app on it, and what it copied.
struct Harness {
    _dir: tempfile::TempDir,
    app: App,
    /// The local service behind the app's desk (for setting up and checking).
    service: Service,
    /// Every desk switch asked for (`B`).
    switches: Vec<Option<String>>,
    /// (what, text, secret) of every copy.
    copies: Vec<(String, String, bool)>,
    clipboard: Clipboard,
    /// What OSC 52 copies wrote to the "terminal".
    term: Vec<u8>,
    /// Jobs run on another thread, as a worker would (else on this one).
    threaded: bool,
}

fn config_text(store_extra: &str) -> String {
    format!(
        "[store]\npath = \"store\"\n{store_extra}\n[ca]\nkey_type = \"ED25519\"\n\
         [defaults]\nvalidity_days = 365\npkey_type = \"ECC\"\n\
         [[site]]\nid = {SITE}\nname = \"example.com\"\n\
         [[site]]\nid = 42\nname = \"other.example\"\nmax_client_certificates = 2\n"
    )
}

impl Harness {
    fn new() -> Harness {
        Harness::with_store("")
    }

    fn with_store(store_extra: &str) -> Harness {
        Harness::with_config(&config_text(store_extra))
    }

    fn with_config(text: &str) -> Harness {
        let mut h = Harness::unstarted(text, |s| std::sync::Arc::new(s));
        h.run();
        h
    }

    /// The app on a desk made from the service (`wrap`), started, its
    /// first jobs not run yet.
    fn unstarted(text: &str, wrap: impl FnOnce(Service) -> super::Desk) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let cfg = config::parse(text, &path).unwrap();
        let service = Service::open(cfg).unwrap();
        let mut app = App::new(wrap(service.clone()), Theme::plain());
        app.clipboard_info = "OSC 52 via the terminal (test)".into();
        app.set_poll_interval(std::time::Duration::ZERO);
        app.start(None);
        Harness {
            _dir: dir,
            app,
            service,
            switches: Vec::new(),
            copies: Vec::new(),
            clipboard: Clipboard::osc52_only("test"),
            term: Vec::new(),
            threaded: false,
        }
    }

    fn root(&self) -> std::path::PathBuf {
        self._dir.path().to_path_buf()
    }

    /// Runs the app's effects as the runtime does, until none are left.
    fn run(&mut self) {
        loop {
            let effects = self.app.take_effects();
            if effects.is_empty() {
                return;
            }
            for e in effects {
                match e {
                    Effect::Job(job) => {
                        let desk = self.app.desk_handle();
                        let work = move || {
                            let pages = std::cell::RefCell::new(Vec::new());
                            let done =
                                worker::run(desk.as_ref(), job, &|d| pages.borrow_mut().push(d));
                            (pages.into_inner(), done)
                        };
                        let (pages, done) = if self.threaded {
                            std::thread::spawn(work).join().unwrap()
                        } else {
                            work()
                        };
                        for page in pages {
                            self.app.done(page);
                        }
                        self.app.done(done);
                    }
                    Effect::Switch(name) => self.switches.push(name),
                    Effect::Copy(req) => {
                        self.copies
                            .push((req.what.clone(), req.text.to_string(), req.secret));
                        let out = self.clipboard.copy(&req.text, req.secret, &mut self.term);
                        self.app.copied(&req.what, &out);
                    }
                }
            }
        }
    }

    fn key_mod(&mut self, code: KeyCode, m: KeyModifiers) {
        self.app
            .handle_event(&TermEvent::Key(KeyEvent::new(code, m)));
        self.run();
    }

    fn key(&mut self, code: KeyCode) {
        self.key_mod(code, KeyModifiers::NONE);
    }

    fn ch(&mut self, c: char) {
        let m = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        self.key_mod(KeyCode::Char(c), m);
    }

    fn ctrl(&mut self, c: char) {
        self.key_mod(KeyCode::Char(c), KeyModifiers::CONTROL);
    }

    fn typ(&mut self, s: &str) {
        for c in s.chars() {
            self.ch(c);
        }
    }

    fn paste(&mut self, s: &str) {
        self.app.handle_event(&TermEvent::Paste(s.to_owned()));
        self.run();
    }

    fn step(&mut self, a: Action) {
        self.app.step(a);
        self.run();
    }

    /// Issues through the service, as another process (the CLI) would.
    fn issue(&self, cn: &str, name: &str, days: u32) -> CreateResponse {
        self.service
            .clone()
            .create(&CreateRequest {
                site_id: Some(SITE.to_string()),
                validity_days: Some(days.to_string()),
                pkey_type: Some("ED25519".into()),
                common_name: Some(cn.into()),
                name: Some(name.into()),
                csr: None,
            })
            .unwrap()
    }

    fn draw(&self, w: u16, h: u16) -> String {
        render(&self.app, w, h).backend().to_string()
    }

    fn form(&self) -> &super::screen::issue_form::IssueForm {
        match &self.app.screen {
            Screen::Form(f) => f,
            other => panic!("not in the form: {other:?}"),
        }
    }

    fn note(&self) -> String {
        self.app
            .note
            .as_ref()
            .map(|n| n.text.clone())
            .unwrap_or_default()
    }

    fn labels(&self) -> Vec<String> {
        let (_, rows) = self.app.table.window(1000);
        rows.map(|r| r.common_name.clone()).collect()
    }
}

fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::draw(f, app)).unwrap();
    t
}

/// A PEM CSR made here (Ed25519: fixed size, so screens are stable).
fn csr_pem(cn: &str) -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Acme");
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// Fixed sites and certificates for the main-screen snapshots.
fn fixture(h: &mut Harness) {
    let mut rows = [
        summary(
            1,
            SITE,
            "web-frontend",
            "frontend.example.com",
            "active",
            "2027-03-01T00:00:00Z",
        ),
        summary(
            2,
            SITE,
            "",
            "alice@example.com",
            "active",
            "2026-06-20T12:00:00Z",
        ),
        summary(
            3,
            SITE,
            "batch",
            "batch-runner.internal",
            "revoked",
            "2026-12-01T00:00:00Z",
        ),
        summary(
            4,
            SITE,
            "",
            "old-laptop.example.com",
            "expired",
            "2026-05-01T00:00:00Z",
        ),
        summary(
            5,
            SITE,
            "ci",
            "ci.example.com",
            "active",
            "2028-06-01T00:00:00Z",
        ),
        summary(6, 42, "", "other.example", "active", "2027-01-01T00:00:00Z"),
    ];
    for (r, key) in rows.iter_mut().zip([
        "ECC_256", "RSA_2048", "ED25519", "RSA_4096", "ECC_384", "ECC_256",
    ]) {
        r.pkey_type = key.into();
    }
    let site = |id: u64, name: &str, ca: bool, counts: [usize; 4], max: Option<u64>| SiteSummary {
        site_id: id,
        site_name: name.into(),
        ca_certificate_id: if ca { "c".repeat(32) } else { String::new() },
        ca_common_name: format!("{name} Client CA"),
        ca_not_after: if ca {
            "2036-01-01T00:00:00Z".into()
        } else {
            String::new()
        },
        ca_key_type: "ECC_256".into(),
        active: counts[0],
        revoked: counts[1],
        expired: counts[2],
        expiring_soon: counts[3],
        max_client_certificates: max,
    };
    h.app.set_clock(datetime!(2026-06-01 00:00:00 UTC));
    // The snapshots list them oldest first.
    h.app
        .table
        .set_sort(super::screen::main::rows::SortKey::Issued, false);
    h.app.done(Done::Loaded(Ok(Snapshot {
        streamed: false,
        stamp: None,
        batch: None,
        sites: vec![
            site(SITE, "example.com", true, [3, 1, 1, 1], None),
            site(42, "other.example", true, [1, 0, 0, 0], Some(2)),
        ],
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, s)| CertRow::from_summary(s.clone(), i as u32))
            .collect(),
        damaged: 0,
    })));
}

/// Placeholders for what differs between runs: request ids, hex ids and
/// serials, fingerprints, times, PEM bodies. Hex and PEM filters eat the
/// padding after them so lines stay the same length whatever the match.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[0-9A-F]{4}-[0-9A-F]{12} *",
            "[REQUEST-ID] ",
        ),
        (r"\b[0-9a-f]{64}\b *", "[SHA256] "),
        (r"\b[0-9a-f]{28,40}\b *", "[HEX] "),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]"),
        // PEM body lines (Ed25519 keeps their count and lengths stable).
        (r"(│  |┆)[A-Za-z0-9+/=]{8,}…? *│", "$1[BASE64] │"),
    ]
}

macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        insta::with_settings!({ filters => filters(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

mod config_error;
mod details;
mod drawing;
mod form;
mod general;
mod lifecycle;
mod main_screen;
mod passphrase;
mod paste;
mod reads;
mod renew;
mod result;
mod snapshots;
