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
use crate::config;
use crate::error::ErrorCode;
use crate::service::{CreateRequest, CreateResponse, ListQuery, Service, SiteSummary};

const SITE: u64 = 1234567890123;

/// A temporary config and store, the app on it, and what it copied.
struct Harness {
    _dir: tempfile::TempDir,
    app: App,
    /// (what, text, secret) of every copy.
    copies: Vec<(String, String, bool)>,
    clipboard: Clipboard,
    /// What OSC 52 copies wrote to the "terminal".
    term: Vec<u8>,
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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let cfg = config::parse(text, &path).unwrap();
        let service = Service::open(cfg).unwrap();
        let mut app = App::new(service, Theme::plain());
        app.clipboard_info = "OSC 52 via the terminal (test)".into();
        app.set_poll_interval(std::time::Duration::ZERO);
        app.start(None);
        let mut h = Harness {
            _dir: dir,
            app,
            copies: Vec::new(),
            clipboard: Clipboard::osc52_only("test"),
            term: Vec::new(),
        };
        h.run();
        h
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
                        let done = worker::run(self.app.service(), job);
                        self.app.done(done);
                    }
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
        self.app
            .service()
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
        stamp: None,
        site: None,
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

// ---- state logic: keys in, state out -----------------------------------------

#[test]
fn starts_with_a_load_and_lists_what_the_store_holds() {
    let h0 = Harness::new();
    assert!(h0.app.load.loaded && h0.app.table.is_empty());
    let mut h = h0;
    h.issue("a.example", "", 30);
    h.issue("b.example", "lbl", 30);
    h.step(Action::FocusGained);
    let mut labels = h.labels();
    labels.sort();
    assert_eq!(labels, ["a.example", "b.example"]);
}

#[test]
fn the_first_load_reads_site_by_site_the_selected_one_first() {
    let h = Harness::new();
    h.issue("first.example", "", 30);
    h.app
        .service()
        .create(&CreateRequest {
            site_id: Some("42".into()),
            validity_days: Some("30".into()),
            pkey_type: Some("ED25519".into()),
            common_name: Some("later.example".into()),
            ..Default::default()
        })
        .unwrap();
    let mut app = App::new(h.app.service().clone(), Theme::plain());
    app.start(None);
    let next_load = |app: &mut App| {
        let mut jobs = app.take_effects();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        match jobs.pop() {
            Some(Effect::Job(job @ super::worker::Job::Load { .. })) => job,
            other => panic!("not a load: {other:?}"),
        }
    };
    let job = next_load(&mut app);
    assert!(matches!(job, super::worker::Job::Load { site: Some(SITE) }));
    app.done(worker::run(app.service(), job));
    assert_eq!(app.load.unread, [42]);
    assert_eq!(app.table.len(), 1);
    let screen = render(&app, 100, 24).backend().to_string();
    assert!(screen.contains("first.example"), "{screen}");
    assert!(screen.contains("reading the other sites"), "{screen}");
    assert!(
        screen.contains("reading…") && screen.contains("       …│"),
        "{screen}"
    );
    // Switching to a site not read yet says so instead of "no certificates".
    app.step(Action::Cmd(super::action::Cmd::FocusNext));
    app.step(Action::Cmd(super::action::Cmd::Down));
    assert_eq!(app.selected_site().unwrap().site_id, 42);
    assert!(
        render(&app, 100, 24)
            .backend()
            .to_string()
            .contains("Reading the store…")
    );
    // The next site was queued at once; then every site is known.
    let job = next_load(&mut app);
    assert!(matches!(job, super::worker::Job::Load { site: Some(42) }));
    app.done(worker::run(app.service(), job));
    assert!(app.load.unread.is_empty());
    assert_eq!(app.table.rows().len(), 2);
    assert_eq!(
        app.table.selected_row().unwrap().common_name,
        "later.example"
    );
    assert!(app.take_effects().is_empty());
    let screen = render(&app, 100, 24).backend().to_string();
    assert!(screen.contains("2 certificates · 2 sites"), "{screen}");
    // Later reloads read everything at once.
    app.reload();
    let job = next_load(&mut app);
    assert!(matches!(job, super::worker::Job::Load { site: None }));
}

#[test]
fn a_change_by_another_process_shows_up_on_the_next_tick() {
    let mut h = Harness::new();
    h.step(Action::Tick);
    assert!(h.app.table.is_empty());
    h.issue("cli.example", "", 30);
    h.step(Action::Tick);
    assert_eq!(h.labels(), ["cli.example"]);
    // No change: no reload is even asked for.
    h.app.step(Action::Tick);
    assert!(h.app.take_effects().is_empty());
}

#[test]
fn quit_keys() {
    let mut h = Harness::new();
    h.ch('n');
    h.ch('q'); // not a quit from the form (nor typed: ValidityDays takes digits)
    assert!(!h.app.should_quit());
    assert_eq!(h.form().days.value(), "365");
    h.ctrl('c');
    assert!(h.app.should_quit());
    let mut h = Harness::new();
    h.ch('q');
    assert!(h.app.should_quit());
}

#[test]
fn the_form_validity_days_show_all_that_was_typed() {
    let mut h = Harness::new();
    h.ch('n');
    h.ctrl('u');
    h.typ("1234567");
    assert_eq!(h.form().days.value(), "12345");
    let screen = h.draw(80, 24);
    assert!(screen.contains("ValidityDays  12345 "), "{screen}");
}

#[test]
fn ctrl_r_says_when_the_re_read_is_done() {
    let mut h = Harness::new();
    h.issue("one.example", "", 30);
    h.issue("two.example", "", 30);
    // The runtime runs the load later: meanwhile the note says so.
    h.app.step(Action::Cmd(super::action::Cmd::Reload));
    assert_eq!(h.note(), "Re-reading the store…");
    h.run();
    assert_eq!(h.note(), "Re-read the store: 2 certificates");
    assert_eq!(h.labels().len(), 2);
    h.key(KeyCode::F(5));
    assert_eq!(h.note(), "Re-read the store: 2 certificates");
    // Another process adds one; the automatic re-read (a tick sees the
    // store change) must not leave the old count on screen.
    h.issue("three.example", "", 30);
    h.step(Action::Tick);
    assert_eq!(h.labels().len(), 3);
    assert_eq!(h.note(), "Re-read the store: 3 certificates");
}

#[test]
fn help_opens_at_the_section_for_where_you_are() {
    // The first line inside the help popup.
    let first = |h: &Harness| {
        let screen = h.draw(100, 30);
        let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
        let top = lines.iter().position(|l| {
            let s: String = l.iter().collect();
            s.contains("┌ Keys")
        });
        let top = top.expect("no help popup");
        let mark: Vec<char> = "┌ Keys".chars().collect();
        let x = lines[top]
            .windows(mark.len())
            .position(|w| w == mark)
            .unwrap();
        let row: String = lines[top + 1][x + 1..].iter().collect();
        row.split('│').next().unwrap_or_default().trim().to_owned()
    };
    let mut h = Harness::new();
    h.ch('?');
    assert_eq!(first(&h), "Certificates");
    h.key(KeyCode::Esc);
    h.ch('n');
    h.key(KeyCode::F(1));
    assert_eq!(first(&h), "Issue form");
    // Scrolling from there works as usual.
    h.ch('k');
    assert_ne!(first(&h), "Issue form");
    h.key(KeyCode::Esc);
    h.key(KeyCode::Tab); // a choice: '?' is a key here, not typed
    h.ch('?');
    assert_eq!(first(&h), "Issue form");
}

#[test]
fn the_form_starts_on_the_configs_key_type_spelling() {
    for (config, spelling) in [("RSA", "RSA"), ("ECC", "ECC"), ("ED25519", "ED25519")] {
        let text =
            config_text("").replace("pkey_type = \"ECC\"", &format!("pkey_type = \"{config}\""));
        let mut h = Harness::with_config(&text);
        h.ch('n');
        assert_eq!(h.form().key_spelling(), spelling);
    }
    // Without the key, the default is RSA, spelt so.
    let text = config_text("").replace("pkey_type = \"ECC\"\n", "");
    let mut h = Harness::with_config(&text);
    h.ch('n');
    assert_eq!(h.form().key_spelling(), "RSA");
    assert!(h.draw(80, 24).contains("‹ RSA 2048 (RSA) ›"));
}

#[test]
fn popups_show_the_same_keys_as_the_bar() {
    let mut h = Harness::new();
    fixture(&mut h);
    let agree = |h: &Harness| {
        let screen = h.draw(80, 24);
        let bar = screen
            .lines()
            .last()
            .unwrap()
            .trim_matches('"')
            .trim()
            .to_owned();
        assert!(!bar.is_empty());
        assert!(
            screen
                .lines()
                .rev()
                .skip(1)
                .any(|l| l.contains(&format!("│{bar} "))),
            "the popup's keys differ from the bar {bar:?}:\n{screen}"
        );
    };
    h.ch('r');
    agree(&h);
    assert!(h.draw(80, 24).contains("│y yes  n no  ←/→ reason"));
    h.ch('n');
    h.ch('R');
    agree(&h);
}

#[test]
fn a_note_does_not_follow_you_to_another_screen() {
    let mut h = Harness::new();
    let c = h.issue("gone.example", "", 30);
    h.step(Action::FocusGained);
    // An error note: the certificate went away behind the table's back.
    h.app.service().revoke(&c.id, None).unwrap();
    h.app.service().delete(&c.id).unwrap();
    h.ch('c');
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Error);
    h.key(KeyCode::Enter); // closes the message: same screen, note kept
    assert!(h.app.note.is_some());
    h.ch('n');
    assert!(h.app.note.is_none(), "{:?}", h.app.note);
    // A screen change that says something keeps what it said.
    h.key(KeyCode::Esc);
    assert!(h.note().contains("nothing was issued"));
}

#[test]
fn esc_then_a_key_at_once_is_not_lost_as_alt() {
    let mut h = Harness::new();
    h.ch('?');
    h.key_mod(KeyCode::Char('n'), KeyModifiers::ALT);
    assert!(h.app.popup.is_none());
    assert!(matches!(h.app.screen, Screen::Form(_)));
}

#[test]
fn esc_leaves_the_form_without_issuing() {
    let mut h = Harness::new();
    h.ch('n');
    assert_eq!(h.app.ctx(), Ctx::Form);
    assert_eq!(h.form().focus, Field::Days);
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.screen, Screen::Main));
    let n = h.app.service().list(&ListQuery::default()).unwrap();
    assert_eq!(n.response.total_count, 0);
    assert!(h.note().contains("nothing was issued"));
}

#[test]
fn the_form_issues_a_certificate_on_a_worker_and_shows_the_result() {
    let mut h = Harness::new();
    h.ch('n');
    // Defaults from the config; the site pre-selected.
    assert_eq!(h.form().site_id(), Some(SITE));
    assert_eq!(h.form().key_spelling(), "ECC");
    h.key(KeyCode::Down); // Key type
    h.key(KeyCode::Right); // ECC_256
    h.key(KeyCode::Right); // ECC_384
    h.key(KeyCode::Right); // ED25519
    assert_eq!(h.form().key_spelling(), "ED25519");
    h.key(KeyCode::Down);
    h.typ("form.example.com");
    h.key(KeyCode::Tab);
    h.typ("made in the form");
    // Submitting hands a job to the runtime and shows progress.
    h.app.handle_event(&TermEvent::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    assert!(h.form().submitting.is_some());
    assert!(
        h.draw(80, 24)
            .contains("Generating the Ed25519 key and signing")
    );
    // While it runs, Esc cannot drop it.
    h.app.step(Action::Cmd(super::action::Cmd::Back));
    assert!(matches!(h.app.screen, Screen::Form(_)));
    h.run();
    let Screen::Result(r) = &h.app.screen else {
        panic!("no result: {:?}", h.app.screen)
    };
    assert_eq!(r.resp.common_name, "form.example.com");
    assert!(r.resp.private_key.expose().contains("PRIVATE KEY"));
    let id = r.resp.id.clone();
    assert!(h.note().starts_with("Issued form.example.com"));
    // Back to the table, the new certificate selected.
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.screen, Screen::Main));
    assert_eq!(h.app.table.selected_row().unwrap().id, id);
    assert_eq!(h.app.table.selected_row().unwrap().name, "made in the form");
}

#[test]
fn inline_errors_use_the_service_codes_and_block_submitting() {
    let mut h = Harness::new();
    h.ch('n');
    // Untouched fields show nothing.
    assert!(h.form().error(Field::Days).is_none());
    for _ in 0..3 {
        h.key(KeyCode::Backspace);
    }
    h.typ("0");
    let e = h.form().error(Field::Days).unwrap();
    assert_eq!(e.code, ErrorCode::InvalidValidityDays);
    // ←/→ presets repair it.
    h.key(KeyCode::Right);
    assert_eq!(h.form().days.value(), "30");
    assert!(h.form().error(Field::Days).is_none());
    // A control character in Name.
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    assert_eq!(h.form().focus, Field::Name);
    h.paste("bad\u{7}name");
    assert_eq!(
        h.form().error(Field::Name).unwrap().code,
        ErrorCode::InvalidName
    );
    h.ctrl('s');
    assert!(h.app.take_effects().is_empty());
    assert_eq!(h.form().focus, Field::Name);
    assert!(h.draw(100, 30).contains("✗ InvalidParameter.Name: Name"));
    assert_eq!(h.note(), "Not issued: check Name (InvalidParameter.Name)");
    // Enter on the Issue button with a bad ValidityDays: the focus goes
    // back up to it, and the status line names it.
    h.ctrl('u');
    h.key(KeyCode::Up);
    h.key(KeyCode::Up);
    h.key(KeyCode::Up);
    assert_eq!(h.form().focus, Field::Days);
    h.ctrl('u');
    h.typ("4000");
    for _ in 0..4 {
        h.key(KeyCode::Down);
    }
    assert_eq!(h.form().focus, Field::Submit);
    h.key(KeyCode::Enter);
    assert_eq!(h.form().focus, Field::Days);
    assert_eq!(
        h.note(),
        "Not issued: check ValidityDays (InvalidParameter.ValidityDays)"
    );
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Warning);
}

#[test]
fn quota_refusals_land_in_the_form() {
    let mut h = Harness::new();
    h.ch('j'); // Sites has no focus: j moves in the table; go to site 42
    h.key(KeyCode::Tab);
    h.key(KeyCode::Down);
    assert_eq!(h.app.selected_site().unwrap().site_id, 42);
    for _ in 0..3 {
        h.ch('n');
        h.ctrl('s');
        if matches!(h.app.screen, Screen::Result(_)) {
            h.key(KeyCode::Esc);
        }
    }
    let f = h.form();
    assert_eq!(
        f.form_error.as_ref().unwrap().code,
        ErrorCode::QuotaCheckFailed
    );
    assert!(f.submitting.is_none());
}

#[test]
fn a_pasted_csr_switches_the_form_to_csr_mode_wherever_the_focus_is() {
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Up);
    h.key(KeyCode::Up);
    assert_eq!(h.form().focus, Field::Site);
    // Windows line ends and bare CRs are normalised.
    let pem = csr_pem("csr.example.com").replace('\n', "\r\n");
    h.paste(&pem);
    let f = h.form();
    assert_eq!(f.source, Source::Csr);
    assert_eq!(f.focus, Field::Csr);
    assert!(!f.csr.text().contains('\r'));
    let p = f.csr_preview.as_ref().unwrap();
    assert_eq!(p.subject, "CN=csr.example.com, O=Acme");
    assert_eq!(p.key, "Ed25519");
    assert!(h.note().contains("CSR pasted"));
    h.ctrl('s');
    let Screen::Result(r) = &h.app.screen else {
        panic!("no result")
    };
    assert_eq!(r.resp.common_name, "csr.example.com");
    assert!(r.resp.private_key.is_empty());
}

#[test]
fn a_pasted_pem_that_is_not_a_csr_goes_into_no_field() {
    let mut h = Harness::new();
    let issued = h.issue("pem.example", "", 30);
    h.step(Action::FocusGained);
    let key = issued.private_key.expose().to_owned();
    assert!(key.contains("PRIVATE KEY"));
    h.ch('n');
    assert_eq!(h.form().focus, Field::Days);
    h.paste(&issued.certificate);
    assert_eq!(h.form().days.value(), "365");
    assert_eq!(
        h.note(),
        "That is a CERTIFICATE, not a CSR: nothing was pasted"
    );
    for _ in 0..2 {
        h.key(KeyCode::Down);
    }
    assert_eq!(h.form().focus, Field::CommonName);
    h.paste(&format!("\n{key}"));
    assert_eq!(h.form().common_name.value(), "");
    let note = h.note();
    assert!(
        note.starts_with("That is a private key: not used or kept"),
        "{note}"
    );
    assert!(note.chars().count() <= 78, "{note}");
    // In CSR mode, the CSR field does not take it either.
    for _ in 0..3 {
        h.key(KeyCode::Up);
    }
    h.key(KeyCode::Right);
    assert_eq!(h.form().source, Source::Csr);
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    assert_eq!(h.form().focus, Field::Csr);
    h.paste(&key);
    assert_eq!(h.form().csr.text(), "");
    let screen = h.draw(80, 24);
    assert!(!screen.contains("BEGIN"), "{screen}");
    // Nor the search.
    h.key(KeyCode::Esc);
    h.ch('/');
    h.paste(&key);
    assert_eq!(h.app.table.query(), "");
    assert!(h.app.search.as_ref().unwrap().value().is_empty());
}

#[test]
fn k_without_a_kept_key_is_one_status_line_and_not_offered() {
    let mut h = Harness::new();
    h.app
        .service()
        .clone()
        .create(&CreateRequest {
            site_id: Some(SITE.to_string()),
            validity_days: Some("30".into()),
            pkey_type: None,
            common_name: None,
            name: None,
            csr: Some(csr_pem("from-csr.example").into_bytes()),
        })
        .unwrap();
    h.step(Action::FocusGained);
    let screen = h.draw(80, 24);
    let bar = screen.lines().last().unwrap();
    assert!(bar.contains("c/A copy cert/CA"), "{bar}");
    h.ch('K');
    assert!(h.app.popup.is_none());
    assert!(h.copies.is_empty());
    assert_eq!(
        h.note(),
        "No private key here: issued for a CSR, the key never left its owner"
    );
    assert!(h.note().chars().count() <= 78);
    // The same from the details.
    h.key(KeyCode::Enter);
    h.ch('K');
    assert!(h.app.popup.is_none());
    assert!(h.note().starts_with("No private key here"));

    let mut h = Harness::with_store("keep_private_keys = false");
    h.issue("unkept.example", "", 30);
    h.step(Action::FocusGained);
    h.ch('K');
    assert!(h.app.popup.is_none());
    assert_eq!(
        h.note(),
        "No private key here: not kept (keep_private_keys = false)"
    );
}

#[test]
fn the_csr_mode_common_name_hint_fits_80_columns() {
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Up);
    h.key(KeyCode::Right);
    assert_eq!(h.form().source, Source::Csr);
    let screen = h.draw(80, 24);
    assert!(screen.contains("used if the CSR has no CN "), "{screen}");
}

#[test]
fn a_csr_with_doubled_line_ends_still_parses() {
    // tmux turns each LF of a pasted CRLF file into CR: "\r\r" per line;
    // other routes give "\r\r\n", or blank lines inside the PEM.
    let pem = csr_pem("doubled.example.com");
    for pasted in [
        pem.replace('\n', "\r\r"),
        pem.replace('\n', "\r\r\n"),
        pem.replace('\n', "\n\n"),
        pem.replace('\n', "\r\n\r\n"),
    ] {
        let mut h = Harness::new();
        h.ch('n');
        h.paste(&pasted);
        let f = h.form();
        assert_eq!(f.source, Source::Csr);
        assert!(f.error(Field::Csr).is_none(), "{:?}", f.error(Field::Csr));
        let p = f.csr_preview.as_ref().expect("no preview");
        assert_eq!(p.subject, "CN=doubled.example.com, O=Acme");
        h.ctrl('s');
        assert!(matches!(h.app.screen, Screen::Result(_)));
    }
    // Typed without bracketed paste, Enter twice per line: the same.
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Up);
    h.key(KeyCode::Right); // Key source: use my CSR
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    assert_eq!(h.form().focus, Field::Csr);
    for line in pem.lines() {
        h.typ(line);
        h.key(KeyCode::Enter);
        h.key(KeyCode::Enter);
    }
    assert!(
        h.form().csr_preview.is_some(),
        "{:?}",
        h.form().error(Field::Csr)
    );
}

#[test]
fn a_csr_pasted_on_the_main_screen_opens_the_form() {
    let mut h = Harness::new();
    h.paste(&csr_pem("main.example.com"));
    assert_eq!(h.form().source, Source::Csr);
    assert!(h.form().csr_preview.is_some());
}

#[test]
fn a_bad_csr_is_marked_and_typing_it_works_without_bracketed_paste() {
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Up);
    h.key(KeyCode::Right); // Key source: CSR
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    assert_eq!(h.form().focus, Field::Csr);
    h.typ("garbage");
    assert_eq!(
        h.form().error(Field::Csr).unwrap().code,
        ErrorCode::InvalidCsr
    );
    h.ctrl('u');
    // Enter is a new line here, not a submit: a terminal without bracketed
    // paste types the CSR line by line.
    for line in csr_pem("typed.example").lines() {
        h.typ(line);
        h.key(KeyCode::Enter);
    }
    assert!(matches!(h.app.screen, Screen::Form(_)));
    assert!(
        h.form().csr_preview.is_some(),
        "{:?}",
        h.form().error(Field::Csr)
    );
}

#[test]
fn search_filters_live_and_esc_clears() {
    let mut h = Harness::new();
    let a = h.issue("alpha.example", "", 30);
    h.issue("beta.example", "build", 30);
    h.step(Action::FocusGained);
    h.ch('/');
    assert_eq!(h.app.ctx(), Ctx::Search);
    h.typ("bu");
    assert_eq!(h.labels(), ["beta.example"]);
    h.key(KeyCode::Enter); // keep the filter
    assert_eq!(h.app.ctx(), Ctx::Main);
    assert_eq!(h.labels(), ["beta.example"]);
    h.key(KeyCode::Esc);
    assert_eq!(h.labels().len(), 2);
    // Id and fingerprint prefixes.
    h.ch('/');
    h.typ(&a.id[..6]);
    assert_eq!(h.labels(), ["alpha.example"]);
    h.key(KeyCode::Esc);
    h.ch('/');
    h.typ(&a.fingerprint_sha256[..8].to_uppercase());
    assert_eq!(h.labels(), ["alpha.example"]);
}

#[test]
fn a_filter_with_no_match_here_says_where_it_matches() {
    let mut h = Harness::new();
    fixture(&mut h);
    h.ch('/');
    h.typ("other");
    assert!(h.app.table.is_empty());
    let screen = h.draw(80, 24);
    assert!(screen.contains("Nothing matches “other” here;"), "{screen}");
    assert!(
        screen.contains("1 on other.example (Tab, then ↓ to that site)"),
        "{screen}"
    );
    // As it says: the filter stays, and the other site shows the match.
    h.key(KeyCode::Enter);
    h.key(KeyCode::Tab);
    h.key(KeyCode::Down);
    assert_eq!(h.labels(), ["other.example"]);
    // Matching nowhere: as before.
    h.key(KeyCode::Tab);
    h.ch('/');
    h.typ("zz");
    assert!(
        h.draw(80, 24)
            .contains("Nothing matches “otherzz”: Esc clears")
    );
}

#[test]
fn activate_shows_why_it_was_revoked_and_warns_on_compromise_and_successors() {
    let mut h = Harness::new();
    let c = h.issue("leaked.example", "", 30);
    let svc = h.app.service().clone();
    svc.revoke(&c.id, Some(crate::pki::RevocationReason::KeyCompromise))
        .unwrap();
    h.step(Action::FocusGained);
    assert!(h.app.table.select_id(&c.id));
    h.ch('a');
    let screen = h.draw(80, 24);
    assert!(screen.contains("keyCompromise"), "{screen}");
    assert!(
        screen.contains("revoked for keyCompromise: its key may be known"),
        "{screen}"
    );
    h.ch('n');
    // Renewed with the old one revoked: the successor is named.
    let old = h.issue("rotated.example", "", 30);
    let new = svc.renew(&old.id, None, true).unwrap();
    h.step(Action::FocusGained);
    assert!(h.app.table.select_id(&old.id));
    h.ch('a');
    let Some(Popup::Confirm(cf)) = &h.app.popup else {
        panic!("no confirm")
    };
    assert!(!cf.compromised());
    assert_eq!(
        cf.successor,
        Some(("rotated.example".into(), new.certificate.status.to_string()))
    );
    let screen = h.draw(80, 24);
    assert!(
        screen.contains("its successor rotated.example is active"),
        "{screen}"
    );
}

#[test]
fn the_newest_certificate_is_at_the_top() {
    let mut h = Harness::new();
    h.issue("first.example", "", 30);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    h.issue("second.example", "", 30);
    h.step(Action::FocusGained);
    assert_eq!(h.labels(), ["second.example", "first.example"]);
    assert!(h.draw(80, 24).contains("sort: issued ↓"));
}

#[test]
fn q_leaves_the_details_and_an_id_cn_is_said_once() {
    let mut h = Harness::new();
    h.issue("q.example", "", 30);
    h.step(Action::FocusGained);
    h.key(KeyCode::Enter);
    assert!(matches!(h.app.screen, Screen::Details(_)));
    h.ch('q');
    assert!(matches!(h.app.screen, Screen::Main));
    assert!(!h.app.should_quit());
    // Issued without a CommonName: the Id is the CN, said once; the
    // result shows PkeyType.
    h.ch('n');
    h.ctrl('s');
    let Screen::Result(r) = &h.app.screen else {
        panic!("no result")
    };
    assert_eq!(r.resp.common_name, r.resp.id);
    assert_eq!(h.note(), format!("Issued {}", r.resp.id));
    assert!(h.draw(100, 40).contains("PkeyType            ECC"));
}

#[test]
fn sort_cycles_and_reverses() {
    let mut h = Harness::new();
    fixture(&mut h);
    assert_eq!(h.app.table.sort().0.label(), "issued");
    h.ch('s');
    assert_eq!(h.app.table.sort().0.label(), "expiry");
    assert_eq!(h.labels()[0], "old-laptop.example.com");
    h.ch('S');
    assert_eq!(h.labels()[0], "ci.example.com");
    h.ch('s');
    h.ch('s');
    assert_eq!(h.app.table.sort().0.label(), "name");
    assert_eq!(h.labels()[0], "alice@example.com");
}

#[test]
fn revoke_asks_names_the_certificate_and_takes_a_reason() {
    let mut h = Harness::new();
    let c = h.issue("victim.example", "laptop", 30);
    h.step(Action::FocusGained);
    h.ch('r');
    let Some(Popup::Confirm(conf)) = &h.app.popup else {
        panic!("no confirmation")
    };
    assert_eq!(conf.id, c.id);
    assert_eq!(conf.label, "laptop · victim.example");
    let screen = h.draw(80, 24);
    assert!(screen.contains("Revoke this certificate?") && screen.contains(&c.id));
    h.key(KeyCode::Right);
    h.key(KeyCode::Right); // keyCompromise
    h.ch('y');
    assert_eq!(
        h.note(),
        format!(
            "Revoked laptop · victim.example for keyCompromise (Id {}…)",
            &c.id[..8]
        )
    );
    assert!(h.note().chars().count() <= 78);
    let got = h.app.service().get(&c.id).unwrap();
    assert_eq!(got.status.as_str(), "revoked");
    assert_eq!(got.result.revoke_reason.as_deref(), Some("keyCompromise"));
    assert_eq!(
        h.app.table.selected_row().unwrap().status.as_str(),
        "revoked"
    );
    // n cancels.
    h.ch('a');
    h.ch('n');
    assert!(h.app.popup.is_none());
    assert_eq!(
        h.app.service().get(&c.id).unwrap().status.as_str(),
        "revoked"
    );
}

#[test]
fn transitions_the_service_refuses_are_refused_at_once() {
    let mut h = Harness::new();
    let c = h.issue("active.example", "", 30);
    h.step(Action::FocusGained);
    let refused = |h: &mut Harness, key: char, says: &str| {
        h.ch(key);
        assert!(h.app.popup.is_none(), "{key}: {:?}", h.app.popup);
        assert_eq!(h.note(), says);
        assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Warning);
    };
    refused(
        &mut h,
        'D',
        "Delete needs a revoked or expired certificate; this one is active",
    );
    refused(
        &mut h,
        'a',
        "Activate needs a revoked certificate; this one is active",
    );
    assert_eq!(
        h.app.service().get(&c.id).unwrap().status.as_str(),
        "active"
    );
    h.ch('r');
    h.ch('y');
    refused(
        &mut h,
        'r',
        "Revoke needs an active certificate; this one is revoked",
    );
    // From the details too.
    h.key(KeyCode::Enter);
    refused(
        &mut h,
        'r',
        "Revoke needs an active certificate; this one is revoked",
    );
    h.key(KeyCode::Esc);
    // Another process re-activates it before the table knows: the
    // confirmation opens, and the service's refusal shows its code.
    h.app.service().activate(&c.id).unwrap();
    h.ch('a');
    h.ch('y');
    let Some(Popup::Message(m)) = &h.app.popup else {
        panic!("no message")
    };
    assert_eq!(m.error.code, ErrorCode::StatusError);
    assert!(h.draw(80, 24).contains("Certificate.StatusError"));
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Error);
    h.key(KeyCode::Enter);
    assert!(h.app.popup.is_none());
    // Revoke, then delete: the row leaves the table.
    h.step(Action::FocusGained);
    h.ch('r');
    h.ch('y');
    h.ch('D');
    h.key(KeyCode::Enter);
    assert!(h.app.table.is_empty());
    assert!(h.note().starts_with("Deleted"));
}

#[test]
fn details_show_get_and_act_on_the_certificate() {
    let mut h = Harness::new();
    let c = h.issue("details.example", "", 30);
    h.step(Action::FocusGained);
    h.key(KeyCode::Enter);
    let Screen::Details(d) = &h.app.screen else {
        panic!("no details")
    };
    assert_eq!(d.get.result.id, c.id);
    h.ch('c');
    h.ch('K');
    h.ch('A');
    h.ch('J');
    let secrets: Vec<bool> = h.copies.iter().map(|c| c.2).collect();
    assert_eq!(secrets, [false, true, false, false]);
    assert_eq!(h.copies[0].1, c.certificate);
    assert_eq!(h.copies[1].1, c.private_key.expose());
    assert!(h.copies[2].1.contains("BEGIN CERTIFICATE"));
    assert!(h.copies[3].1.contains("\"FingerprintSha256\""));
    assert!(!h.copies[3].1.contains("PRIVATE KEY"));
    assert!(
        h.note()
            .starts_with("Sent details JSON of details.example by OSC 52 (")
    );
    // Revoking from the details refreshes them.
    h.ch('r');
    h.ch('y');
    let Screen::Details(d) = &h.app.screen else {
        panic!("left the details")
    };
    assert_eq!(d.get.status.as_str(), "revoked");
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.screen, Screen::Main));
}

#[test]
fn copies_from_the_table_and_their_outcome_in_the_status_line() {
    let mut h = Harness::new();
    let c = h.issue("copy.example", "", 30);
    h.step(Action::FocusGained);
    h.ch('c');
    assert_eq!(h.copies[0].1, c.certificate);
    assert!(h.term.starts_with(b"\x1b]52;c;"));
    assert!(h.note().contains("by OSC 52 ("));
    h.ch('K');
    assert!(h.copies[1].2, "a private key is a secret copy");
}

#[test]
fn copy_messages_and_the_site_counts_fit_80_columns() {
    let mut h = Harness::with_config(&config_text("").replace(
        "name = \"example.com\"\n",
        "name = \"example.com\"\nmax_client_certificates = 100\n",
    ));
    h.clipboard = Clipboard::osc52_only("no native clipboard");
    let long = "a-rather-long-common-name.department.example.com";
    h.issue(long, "a long label for the laptop", 30);
    h.issue("soon.example", "", 10);
    let c = h.issue("gone.example", "", 30);
    h.app.service().revoke(&c.id, None).unwrap();
    h.step(Action::FocusGained);
    let status_line = |h: &Harness| {
        let s = h.draw(80, 24);
        s.lines().nth(22).unwrap_or_default().to_owned()
    };
    h.key(KeyCode::End); // the oldest, newest first
    assert!(h.app.table.selected_row().unwrap().common_name == long);
    for k in ['c', 'K', 'A'] {
        h.ch(k);
        let line = status_line(&h);
        // The label may be cut (marked …), never the caveat at the end.
        assert!(
            line.trim_matches('"')
                .trim_end()
                .ends_with("by OSC 52 (no native clipboard)"),
            "{line}"
        );
    }
    // The counts line of the site: the quota first, every count shown.
    let screen = h.draw(80, 24);
    let counts = screen.lines().nth(3).unwrap_or_default();
    assert!(
        counts.contains("quota 3/100") && counts.contains("1 rev") && counts.contains("0 exp"),
        "{screen}"
    );
    assert!(!counts.contains('…'), "{screen}");
}

#[test]
fn copy_ca_works_on_the_selected_site_without_a_row_and_never_creates_a_ca() {
    let mut h = Harness::new();
    // No certificate yet, so no CA: A says so and creates nothing.
    h.ch('A');
    assert!(h.copies.is_empty());
    assert_eq!(
        h.note(),
        "site example.com has no CA yet (it is created by the first issuance)"
    );
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Warning);
    assert!(h.app.service().existing_ca_pem(SITE).unwrap().is_none());
    assert!(!h.app.applies(super::action::Cmd::CopyCa));
    // With a CA but a filter that hides every row, A still copies it.
    h.issue("ca.example", "", 30);
    h.step(Action::FocusGained);
    assert!(h.app.applies(super::action::Cmd::CopyCa));
    h.ch('/');
    h.typ("nothing-matches");
    h.key(KeyCode::Enter);
    assert!(h.app.table.is_empty());
    h.ch('A');
    let ca = h.app.service().existing_ca_pem(SITE).unwrap().unwrap();
    assert_eq!(h.copies.len(), 1);
    assert_eq!(h.copies[0].1, ca);
    assert!(h.note().starts_with("Sent CA certificate of example.com"));
}

#[test]
fn without_a_kept_key_the_result_warns_and_esc_asks_twice() {
    let mut h = Harness::with_store("keep_private_keys = false");
    h.ch('n');
    h.ctrl('s');
    assert!(h.draw(100, 30).contains("will not be shown again"));
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.screen, Screen::Result(_)));
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Warning);
    // The whole warning fits at 80 columns.
    let screen = h.draw(80, 24);
    assert!(screen.contains("K copies it; Esc again leaves"), "{screen}");
    h.ch('J');
    assert!(h.copies[0].1.contains("PRIVATE KEY") && h.copies[0].2);
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.screen, Screen::Main));
    // The table cannot copy a key that was not kept: it says why.
    h.ch('K');
    assert!(h.app.popup.is_none());
    assert!(
        h.note().contains("keep_private_keys = false"),
        "{}",
        h.note()
    );
}

#[test]
fn without_a_kept_key_ctrl_c_on_the_result_asks_twice() {
    let mut h = Harness::with_store("keep_private_keys = false");
    h.ch('n');
    h.ctrl('s');
    h.ctrl('c');
    assert!(!h.app.should_quit());
    assert!(matches!(h.app.screen, Screen::Result(_)));
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Warning);
    let screen = h.draw(80, 24);
    assert!(
        screen.contains("K copies it; Ctrl-C again quits"),
        "{screen}"
    );
    h.ctrl('c');
    assert!(h.app.should_quit());
    // With the key kept, Ctrl-C quits at once.
    let mut h = Harness::new();
    h.ch('n');
    h.ctrl('s');
    assert!(matches!(h.app.screen, Screen::Result(_)));
    h.ctrl('c');
    assert!(h.app.should_quit());
}

#[test]
fn store_errors_are_shown_and_the_app_keeps_running() {
    let mut h = Harness::new();
    let sites = h.root().join("store/sites");
    std::fs::remove_dir_all(&sites).unwrap();
    std::fs::write(&sites, "not a folder").unwrap();
    h.step(Action::FocusGained);
    let e = h.app.load.error.as_ref().unwrap();
    assert_eq!(e.code, ErrorCode::InternalException);
    let screen = h.draw(80, 24);
    assert!(screen.contains("Cannot read the store"), "{screen}");
    // Still usable; once repaired the next poll reads it again.
    h.ch('?');
    assert!(matches!(h.app.popup, Some(Popup::Help(_))));
    h.key(KeyCode::Esc);
    std::fs::remove_file(&sites).unwrap();
    std::fs::create_dir(&sites).unwrap();
    h.step(Action::Tick);
    assert!(h.app.load.error.is_none());
}

#[test]
fn too_narrow_for_the_sites_list_tab_steps_through_sites() {
    let mut h = Harness::new();
    fixture(&mut h);
    let _ = h.draw(50, 20);
    h.key(KeyCode::Tab);
    assert_eq!(h.app.selected_site().unwrap().site_id, 42);
    assert!(h.draw(50, 20).contains("Certificates · other.example"));
    h.ch('k'); // still moves in the table, not in the hidden list
    assert_eq!(h.app.selected_site().unwrap().site_id, 42);
    let _ = h.draw(100, 30);
    h.key(KeyCode::Tab);
    assert_eq!(h.app.focus, super::app::Pane::Sites);
}

#[test]
fn hints_follow_the_selection() {
    let mut h = Harness::new();
    fixture(&mut h);
    let bar = |h: &Harness| {
        let s = h.draw(140, 24);
        s.lines().last().unwrap_or_default().to_owned()
    };
    // frontend: active
    assert!(bar(&h).contains("r revoke") && !bar(&h).contains("a activate"));
    h.ch('j');
    h.ch('j'); // batch: revoked
    assert!(bar(&h).contains("a activate") && bar(&h).contains("D delete"));
    assert!(!bar(&h).contains("r revoke"));
}

#[test]
fn renew_asks_first_and_keeps_the_old_one_valid_by_default() {
    let mut h = Harness::new();
    let old = h.issue("renew.example", "laptop", 30);
    h.step(Action::FocusGained);
    h.ch('R');
    assert_eq!(h.app.ctx(), Ctx::Renew);
    let Some(Popup::Renew(r)) = &h.app.popup else {
        panic!("no renew popup")
    };
    // The old certificate's validity, and no revocation, unless changed.
    assert_eq!(r.id, old.id);
    assert_eq!(r.label, "laptop · renew.example");
    assert_eq!(r.days.value(), "30");
    assert!(!r.revoke_old);
    let screen = h.draw(80, 24);
    assert!(screen.contains("Renew this certificate?"), "{screen}");
    assert!(screen.contains("STAYS VALID"), "{screen}");
    // Enter hands a job to the runtime, with a spinner in the status line.
    h.app.handle_event(&TermEvent::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    assert!(h.app.popup.is_none());
    assert!(
        h.app
            .busy
            .as_deref()
            .unwrap()
            .starts_with("Renewing laptop")
    );
    h.run();
    assert!(h.app.busy.is_none());
    let Screen::Result(v) = &h.app.screen else {
        panic!("no result: {:?}", h.app.screen)
    };
    let n = v.renewal.as_ref().unwrap();
    assert_eq!((n.old_id.as_str(), n.old_revoked), (old.id.as_str(), false));
    assert_eq!(n.old_status.as_str(), "active");
    assert_eq!(v.resp.validity_days, "30");
    assert_eq!(v.resp.common_name, "renew.example");
    let new_id = v.resp.id.clone();
    let screen = h.draw(100, 40);
    assert!(screen.contains("Certificate renewed"), "{screen}");
    assert!(
        screen.contains("The old certificate STAYS VALID"),
        "{screen}"
    );
    let got = h.app.service().get(&old.id).unwrap();
    assert_eq!(got.status.as_str(), "active");
    assert_eq!(got.result.renewed_by.as_deref(), Some(new_id.as_str()));
    // J copies the RenewResponse, as `renew --json` prints it.
    h.ch('J');
    assert!(h.copies[0].1.contains("\"RenewedFrom\""));
    // Back in the table, the successor is selected; the old one can no
    // longer be renewed, so the hint is gone.
    h.key(KeyCode::Esc);
    assert_eq!(h.app.table.selected_row().unwrap().id, new_id);
    assert!(h.app.table.select_id(&old.id));
    assert!(!h.app.applies(super::action::Cmd::Renew));
    assert!(h.app.applies(super::action::Cmd::Revoke));
}

#[test]
fn the_renew_popup_answers_y_and_n_and_days_take_digits_only() {
    let mut h = Harness::new();
    h.issue("yn.example", "", 30);
    h.step(Action::FocusGained);
    // n cancels, from the ValidityDays field too.
    h.ch('R');
    h.ch('n');
    assert!(h.app.popup.is_none());
    assert!(h.note().contains("cancelled"), "{}", h.note());
    // Letters are not typed into ValidityDays; digits are; a paste keeps
    // its digits only.
    h.ch('R');
    h.typ("x1");
    h.paste("2 days");
    let Some(Popup::Renew(r)) = &h.app.popup else {
        panic!("no renew popup")
    };
    assert_eq!(r.days.value(), "3012");
    assert!(r.days_error.is_none());
    for _ in 0..4 {
        h.key(KeyCode::Backspace);
    }
    h.typ("60");
    // y renews.
    h.ch('y');
    let Screen::Result(v) = &h.app.screen else {
        panic!("no result: {:?}", h.app.screen)
    };
    assert_eq!(v.resp.validity_days, "60");
    h.key(KeyCode::Esc);
    // The issue form's ValidityDays takes digits only as well.
    h.ch('n');
    assert_eq!(h.form().focus, Field::Days);
    h.typ("ab-");
    h.paste("7x");
    assert_eq!(h.form().days.value(), "3657");
}

#[test]
fn renew_with_another_validity_and_the_old_one_revoked() {
    let mut h = Harness::new();
    let old = h.issue("rotate.example", "", 30);
    h.step(Action::FocusGained);
    h.key(KeyCode::Enter); // from the details this time
    h.ch('R');
    // Typed days, checked as typed by the service's rule.
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Backspace);
    h.typ("0");
    let Some(Popup::Renew(r)) = &h.app.popup else {
        panic!("no renew popup")
    };
    assert_eq!(
        r.days_error.as_ref().unwrap().code,
        ErrorCode::InvalidValidityDays
    );
    assert!(h.draw(80, 24).contains("InvalidParameter.ValidityDays"));
    h.key(KeyCode::Enter); // refused in the popup: nothing runs
    assert!(matches!(h.app.popup, Some(Popup::Renew(_))));
    h.key(KeyCode::Backspace);
    h.typ("90");
    h.key(KeyCode::Tab);
    h.ch(' '); // Revoke old: yes
    let Some(Popup::Renew(r)) = &h.app.popup else {
        panic!("no renew popup")
    };
    assert!(r.revoke_old && r.days_error.is_none());
    // What is typed is what is shown: 99999 (past the range) in full;
    // more digits than the field takes are not taken.
    h.key(KeyCode::BackTab);
    h.ctrl('u');
    h.typ("999999");
    let Some(Popup::Renew(r)) = &h.app.popup else {
        panic!("no renew popup")
    };
    assert_eq!(r.days.value(), "99999");
    let screen = h.draw(80, 24);
    assert!(screen.contains("ValidityDays 99999"), "{screen}");
    h.ctrl('u');
    h.typ("90");
    h.key(KeyCode::Tab);
    assert!(h.draw(80, 24).contains("REVOKED at once"));
    h.key(KeyCode::Enter);
    let Screen::Result(v) = &h.app.screen else {
        panic!("no result: {:?}", h.app.screen)
    };
    assert_eq!(v.resp.validity_days, "90");
    assert!(v.renewal.as_ref().unwrap().old_revoked);
    assert!(h.draw(100, 40).contains("now REVOKED"));
    let got = h.app.service().get(&old.id).unwrap();
    assert_eq!(got.status.as_str(), "revoked");
    assert_eq!(got.result.revoke_reason.as_deref(), Some("superseded"));
}

#[test]
fn renewals_the_service_refuses_do_not_open_the_popup() {
    let mut h = Harness::new();
    let c = h.issue("gone.example", "", 30);
    h.app.service().revoke(&c.id, None).unwrap();
    h.step(Action::FocusGained);
    assert!(!h.app.applies(super::action::Cmd::Renew));
    h.ch('R');
    assert!(h.app.popup.is_none());
    assert_eq!(
        h.note(),
        "A revoked certificate is not renewed: activate it first, or issue a new one"
    );
    // Renewed once: refused while the successor exists.
    h.app.service().activate(&c.id).unwrap();
    let next = h.app.service().renew(&c.id, None, false).unwrap();
    h.step(Action::FocusGained);
    assert!(h.app.table.select_id(&c.id));
    h.ch('R');
    assert!(h.app.popup.is_none());
    assert_eq!(
        h.note(),
        format!(
            "Already renewed by {}: renew that one instead",
            next.certificate.id
        )
    );
}

#[test]
fn refused_renewals_show_the_esa_code_and_esc_cancels() {
    let mut h = Harness::new();
    let c = h.issue("gone.example", "", 30);
    h.step(Action::FocusGained);
    // Revoked by another process after the table was read: the popup
    // opens, and the service refuses.
    h.app.service().revoke(&c.id, None).unwrap();
    h.ch('R');
    assert!(matches!(h.app.popup, Some(Popup::Renew(_))));
    h.key(KeyCode::Enter);
    let Some(Popup::Message(m)) = &h.app.popup else {
        panic!("no message: {:?}", h.app.popup)
    };
    assert_eq!(m.error.code, ErrorCode::StatusError);
    let screen = h.draw(80, 24);
    assert!(screen.contains("Renewal refused") && screen.contains("Certificate.StatusError"));
    h.key(KeyCode::Enter);
    // Esc in the popup issues nothing.
    let before = h.app.service().list(&ListQuery::default()).unwrap();
    h.ch('R');
    h.key(KeyCode::Esc);
    assert!(h.app.popup.is_none());
    assert!(h.note().contains("nothing was issued"));
    let after = h.app.service().list(&ListQuery::default()).unwrap();
    assert_eq!(before.response.total_count, after.response.total_count);
}

#[test]
fn a_renewal_that_ends_while_a_form_is_open_waits_for_it() {
    let mut h = Harness::new();
    h.issue("wait.example", "", 30);
    h.step(Action::FocusGained);
    h.ch('R');
    // Confirm, but let the worker finish only once the form is open.
    h.app.step(Action::Cmd(super::action::Cmd::Confirm));
    let jobs = h.app.take_effects();
    h.ch('n');
    for e in jobs {
        if let Effect::Job(job) = e {
            let done = worker::run(h.app.service(), job);
            h.app.done(done);
        }
    }
    assert!(matches!(h.app.screen, Screen::Form(_)));
    assert!(h.note().contains("opens when you leave this screen"));
    h.key(KeyCode::Esc);
    let Screen::Result(v) = &h.app.screen else {
        panic!("no result: {:?}", h.app.screen)
    };
    assert!(v.renewal.is_some());
}

// ---- the config-error screen ------------------------------------------------------

mod config_screen {
    use super::*;
    use crate::tui::screen::config_error::{ConfigScreen, Next, Opened, StartError};

    fn opener(path: std::path::PathBuf) -> impl FnMut() -> Result<Opened, StartError> {
        move || {
            let cfg = config::load(&path).map_err(|e| StartError::from(&e))?;
            Ok((Service::open(cfg)?, None))
        }
    }

    fn press(c: char) -> TermEvent {
        TermEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn draw(s: &ConfigScreen, w: u16, h: u16) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| ui::draw_config_error(f, s)).unwrap();
        t.backend().to_string()
    }

    #[test]
    fn shows_file_line_key_and_reloads_on_r_until_it_works() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let broken = format!(
            "[store]\npath = \"store\"\n[defaults]\nvalidity_days = \"a year\"\n[[site]]\nid = {SITE}\nname = \"example.com\"\n"
        );
        std::fs::write(&path, &broken).unwrap();
        let mut open = opener(path.clone());
        let Err(e) = open() else {
            panic!("the broken config loaded")
        };
        let mut s = ConfigScreen::new(e, Theme::plain());
        assert_eq!(s.error.code, ErrorCode::InvalidConfig);
        assert_eq!(s.error.file.as_deref(), Some(path.as_path()));
        assert_eq!(s.error.line, Some(4));
        assert_eq!(s.error.key.as_deref(), Some("defaults.validity_days"));
        assert_eq!(s.source_line.as_deref(), Some("validity_days = \"a year\""));
        let screen = draw(&s, 80, 24);
        assert!(screen.contains("press r to reload"), "{screen}");
        insta::with_settings!({
            filters => vec![(r"File +\S*config\.toml *", "File     [CONFIG] ")],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!("config_error_80x24", screen);
        });
        // r while still broken: said so, nothing lost.
        assert_eq!(s.handle_event(&press('r')), Next::Reload);
        assert!(s.reload(&mut open).is_none());
        assert_eq!(s.failed_reloads, 1);
        assert!(draw(&s, 80, 24).contains("still not usable (1 reload)"));
        // q and Ctrl-C quit; other keys do nothing.
        assert_eq!(s.handle_event(&press('q')), Next::Quit);
        assert_eq!(s.handle_event(&press('x')), Next::Stay);
        let ctrl_c = TermEvent::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(s.handle_event(&ctrl_c), Next::Quit);
        // Fixed: r gives the service, and the app starts on it.
        std::fs::write(&path, broken.replace("\"a year\"", "365")).unwrap();
        let (service, _) = s.reload(&mut open).expect("the fixed config loads");
        let mut app = App::new(service, Theme::plain());
        app.start(None);
        assert!(matches!(app.screen, Screen::Main));
        // Too small a window still says what is wrong.
        assert!(draw(&s, 30, 5).contains("Config error"));
    }

    #[test]
    fn a_store_that_cannot_be_opened_is_shown_too() {
        let e = StartError::from(crate::error::EsaError::internal(
            "store: create directory /nope: permission denied",
        ));
        let s = ConfigScreen::new(e, Theme::plain());
        let screen = draw(&s, 80, 24);
        assert!(screen.contains("store cannot be opened"), "{screen}");
        assert!(screen.contains("InternalException"), "{screen}");
    }
}

// ---- drawing ------------------------------------------------------------------

/// Every screen at every awkward size: nothing may panic.
#[test]
fn any_size_draws_without_panicking() {
    let mut h = Harness::new();
    h.issue(
        "size.example",
        "a very long label that will not fit anywhere at all",
        3650,
    );
    h.step(Action::FocusGained);
    let sizes = [
        (0, 0),
        (1, 1),
        (2, 1),
        (1, 40),
        (10, 3),
        (39, 9),
        (40, 10),
        (41, 11),
        (45, 12),
        (59, 14),
        (60, 15),
        (80, 24),
        (300, 5),
        (200, 80),
    ];
    type Setup = Box<dyn Fn(&mut Harness)>;
    let mut states: Vec<Setup> = vec![
        Box::new(|_| {}),
        Box::new(|h| h.ch('/')),
        Box::new(|h| h.ch('?')),
        Box::new(|h| h.ch('r')),
        Box::new(|h| h.key(KeyCode::Enter)),
        Box::new(|h| h.ch('n')),
        Box::new(|h| {
            h.ch('n');
            h.paste(&csr_pem("tiny.example"));
        }),
        Box::new(|h| {
            h.ch('n');
            h.ctrl('s');
        }),
        Box::new(|h| {
            // A message: the certificate went away behind the table's back.
            let id = h.app.table.selected_row().unwrap().id.clone();
            h.app.service().revoke(&id, None).unwrap();
            h.app.service().delete(&id).unwrap();
            h.ch('c');
            assert!(matches!(h.app.popup, Some(Popup::Message(_))));
        }),
    ];
    for setup in states.drain(..) {
        let mut h = Harness::new();
        h.issue(
            "size.example",
            "a very long label that will not fit anywhere at all",
            3650,
        );
        h.step(Action::FocusGained);
        setup(&mut h);
        for (w, ht) in sizes {
            let _ = render(&h.app, w, ht);
        }
    }
}

#[test]
fn no_colour_at_all_with_no_color_and_selection_is_reversed() {
    let mut h = Harness::new();
    fixture(&mut h);
    let t = render(&h.app, 100, 30);
    let buf = t.backend().buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
        "a colour was used with NO_COLOR"
    );
    // The selected row (frontend) is REVERSED and BOLD.
    let y = (0..buf.area.height)
        .find(|&y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .contains("› web-frontend")
        })
        .unwrap();
    let cell = &buf[(40, y)];
    assert!(cell.modifier.contains(Modifier::REVERSED | Modifier::BOLD));
    h.app.theme = Theme::colored();
    let t = render(&h.app, 100, 30);
    assert!(
        t.backend()
            .buffer()
            .content
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
    assert!(Theme::colored().uses_color() && !Theme::plain().uses_color());
}

#[test]
fn store_text_is_sanitised_before_it_is_drawn() {
    let mut h = Harness::new();
    fixture(&mut h);
    let mut evil = summary(
        9,
        SITE,
        "x\u{1b}[2Jy",
        "\u{202e}evil",
        "active",
        "2027-01-01T00:00:00Z",
    );
    evil.site_name = "example.com".into();
    let mut rows: Vec<CertRow> = h.app.table.rows().to_vec();
    rows.push(CertRow::from_summary(evil, 99));
    h.app.table.replace_rows(rows);
    let screen = h.draw(120, 30);
    assert!(!screen.contains('\u{1b}') && !screen.contains('\u{202e}'));
    assert!(screen.contains("x\\u{1b}[2Jy"));
}

// ---- snapshots ----------------------------------------------------------------

#[test]
fn snapshot_main_screen() {
    let mut h = Harness::new();
    fixture(&mut h);
    snapshot!("main_120x30", h.draw(120, 30));
    snapshot!("main_80x24", h.draw(80, 24));
    snapshot!("main_tiny_30x8", h.draw(30, 8));
    h.ch('/');
    h.typ("example");
    snapshot!("main_search_80x24", h.draw(80, 24));
}

#[test]
fn every_column_is_shown_at_80x24() {
    let mut h = Harness::new();
    fixture(&mut h);
    let screen = h.draw(80, 24);
    let row = screen
        .lines()
        .find(|l| l.contains("› web-frontend"))
        .expect(&screen);
    // Name with at least 14 columns, status, key type, NotAfter, days
    // left, short serial.
    for part in [
        "web-frontend …",
        "active",
        "P-256",
        "2027-03-01",
        "273d",
        "41ab",
    ] {
        assert!(row.contains(part), "{part} in {row}");
    }
    assert!(screen.contains("Ed25519"), "{screen}");
    assert!(screen.contains("RSA4k"), "{screen}");
}

#[test]
fn too_small_says_so_in_full_at_the_smallest_sizes() {
    let h = Harness::new();
    for (w, ht) in [(20, 5), (30, 8), (39, 9), (12, 2), (5, 1)] {
        let screen = h.draw(w, ht);
        let text: String = screen
            .lines()
            .map(|l| l.trim_matches('"').trim())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!text.contains('…'), "{w}×{ht}: {screen}");
        assert!(text.contains("40×10"), "{w}×{ht}: {screen}");
        if w >= 20 {
            let size = format!("{w}×{ht}");
            assert!(text.contains("Terminal too small:"), "{w}×{ht}: {screen}");
            assert!(text.contains(&size), "{w}×{ht}: {screen}");
        }
    }
    snapshot!("too_small_20x5", h.draw(20, 5));
}

#[test]
fn snapshot_confirm_revoke() {
    let mut h = Harness::new();
    fixture(&mut h);
    h.ch('r');
    h.key(KeyCode::Right);
    h.key(KeyCode::Right);
    snapshot!("confirm_revoke_80x24", h.draw(80, 24));
}

#[test]
fn snapshot_renew_popup() {
    let mut h = Harness::new();
    fixture(&mut h);
    h.ch('R');
    snapshot!("renew_80x24", h.draw(80, 24));
    h.key(KeyCode::Tab);
    h.ch(' ');
    snapshot!("renew_revoke_old_80x24", h.draw(80, 24));
}

#[test]
fn snapshot_issue_form_with_an_inline_error() {
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Backspace);
    h.typ("4000");
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.typ("client-7.example.com");
    snapshot!("form_generate_error_80x24", h.draw(80, 24));
}

#[test]
fn snapshot_issue_form_csr_mode() {
    let mut h = Harness::new();
    h.ch('n');
    h.paste(&csr_pem("csr.example.com"));
    snapshot!("form_csr_80x24", h.draw(80, 24));
}

#[test]
fn snapshot_result_and_details() {
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Down);
    h.key(KeyCode::Right);
    h.key(KeyCode::Right);
    h.key(KeyCode::Right); // Ed25519: fixed-size PEMs
    h.key(KeyCode::Down);
    h.typ("alice.example.com");
    h.key(KeyCode::Down);
    h.typ("alice's laptop");
    h.ctrl('s');
    snapshot!("result_100x40", h.draw(100, 40));
    h.key(KeyCode::Esc);
    h.key(KeyCode::Enter);
    let Screen::Details(d) = &h.app.screen else {
        panic!("no details")
    };
    let nb = clock::parse_esa_time(&d.get.result.not_before).unwrap();
    h.app.set_clock(nb + time::Duration::hours(1));
    snapshot!("details_100x40", h.draw(100, 40));
}

#[test]
fn snapshot_result_when_the_key_is_not_kept() {
    let mut h = Harness::with_store("keep_private_keys = false");
    h.ch('n');
    h.key(KeyCode::Down);
    h.key(KeyCode::Right);
    h.key(KeyCode::Right);
    h.key(KeyCode::Right);
    h.key(KeyCode::Down);
    h.typ("once.example.com");
    h.ctrl('s');
    h.key(KeyCode::Esc);
    snapshot!("result_key_not_kept_100x30", h.draw(100, 30));
}

#[test]
fn snapshot_help() {
    let mut h = Harness::new();
    fixture(&mut h);
    h.ch('?');
    snapshot!("help_100x60", h.draw(100, 60));
}

// ---- the README's key map ---------------------------------------------------------

/// The key map as a Markdown table, from the same table as the help.
fn key_map_markdown() -> String {
    use super::keys::{EDIT_KEYS, HELP_SECTIONS, help_rows};
    let mut out = String::from("| Where | Keys | What |\n| --- | --- | --- |\n");
    for (title, ctxs) in HELP_SECTIONS {
        for (keys, text) in help_rows(ctxs) {
            out.push_str(&format!("| {title} | `{keys}` | {text} |\n"));
        }
    }
    for (keys, text) in EDIT_KEYS {
        let title = super::keys::EDIT_TITLE;
        out.push_str(&format!("| {title} | `{keys}` | {text} |\n"));
    }
    out
}

#[test]
fn the_readme_key_map_matches_the_bindings() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = key_map_markdown();
    assert!(
        readme.contains(&table),
        "README.md's key map is out of date; replace it with:\n\n{table}"
    );
}

/// 100,000 certificates: a frame and a filter keystroke work on the full
/// table (times are reported, not asserted: `benches/tui.rs` measures).
#[test]
fn a_100k_table_draws_only_its_window() {
    let mut h = Harness::new();
    fixture(&mut h);
    let rows: Vec<CertRow> = (0..100_000u32)
        .map(|i| {
            let s = summary(
                i,
                SITE,
                "",
                &format!("client-{i}.example"),
                "active",
                "2027-01-01T00:00:00Z",
            );
            CertRow::from_summary(s, i)
        })
        .collect();
    h.app.table.replace_rows(rows);
    h.key(KeyCode::Home);
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let start = std::time::Instant::now();
    t.draw(|f| ui::draw(f, &h.app)).unwrap();
    let frame = start.elapsed();
    // A list longer than the window says where the selection is.
    let screen = t.backend().to_string();
    assert!(screen.contains(" 1/100000 · sort: issued"), "{screen}");
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    t.draw(|f| ui::draw(f, &h.app)).unwrap();
    assert!(t.backend().to_string().contains(" 3/100000 · sort"));
    h.ch('/');
    let start = std::time::Instant::now();
    h.ch('7');
    let filtered = start.elapsed();
    t.draw(|f| ui::draw(f, &h.app)).unwrap();
    let keystroke = start.elapsed();
    eprintln!(
        "100k rows: frame {frame:?}, filter keystroke {filtered:?}, with its frame {keystroke:?}"
    );
    // The filter narrowed the table, and the frame shows its first rows.
    assert!(h.app.table.len() < 100_000 && h.app.table.len() > 20);
    let screen = t.backend().to_string();
    let (_, mut window) = h.app.table.window(5);
    for row in window.by_ref() {
        assert!(
            screen.contains(&row.common_name),
            "{} in\n{screen}",
            row.common_name
        );
    }
}

/// `[ca] protect_key`: the TUI asks for the CA passphrase (twice for a new
/// CA) before an operation that signs, runs the operation with it, and
/// asks again when the service refuses it; Esc changes nothing.
#[test]
fn a_protected_ca_key_asks_for_its_passphrase() {
    let protected = config_text("").replace("[ca]\n", "[ca]\nprotect_key = true\n");
    let mut h = Harness::with_config(&protected);
    h.ch('n');
    h.key(KeyCode::Down); // Key type
    h.key(KeyCode::Down);
    h.typ("locked.example");
    h.key(KeyCode::Enter);
    // No CA yet: a new passphrase, typed twice, before anything runs.
    let Some(Popup::Passphrase(p)) = &h.app.popup else {
        panic!("no passphrase popup: {:?}", h.app.popup)
    };
    assert_eq!(p.purpose, crate::service::PassphrasePurpose::New);
    assert_eq!(h.app.ctx(), Ctx::Passphrase);
    assert!(h.form().submitting.is_none());
    h.typ("first try");
    h.key(KeyCode::Enter);
    h.typ("first trx");
    h.key(KeyCode::Enter);
    let screen = h.draw(80, 24);
    assert!(screen.contains("the two passphrases differ"), "{screen}");
    assert!(
        screen.contains("•••••••••") && !screen.contains("first tr"),
        "{screen}"
    );
    snapshot!("passphrase_new_80x24", screen);
    // Esc: nothing issued, no CA made, the form is still there.
    h.key(KeyCode::Esc);
    assert!(h.app.popup.is_none());
    assert!(matches!(h.app.screen, Screen::Form(_)));
    assert!(!h.app.service().sites_with_ca().unwrap().contains(&SITE));
    assert!(!h.app.service().ca_key_protected(SITE).unwrap());
    // Again, typed the same twice: issued, with an encrypted CA key.
    h.key(KeyCode::Enter);
    h.typ("correct horse");
    h.key(KeyCode::Tab);
    h.typ("correct horse");
    h.key(KeyCode::Enter);
    let Screen::Result(r) = &h.app.screen else {
        panic!("no result: {:?} {:?}", h.app.screen, h.app.popup)
    };
    let id = r.resp.id.clone();
    assert!(h.app.service().ca_key_protected(SITE).unwrap());
    h.key(KeyCode::Esc);

    // Another session on the same store: revoking signs the CRL, so it asks.
    let cfg = config::parse(&protected, &h.root().join("config.toml")).unwrap();
    let mut app = App::new(Service::open(cfg).unwrap(), Theme::plain());
    app.start(None);
    h.app = app;
    h.run();
    h.app.table.select_id(&id);
    h.ch('r');
    h.ch('y');
    let Some(Popup::Passphrase(p)) = &h.app.popup else {
        panic!("no passphrase popup: {:?}", h.app.popup)
    };
    assert_eq!(p.purpose, crate::service::PassphrasePurpose::Unlock);
    // A wrong one: the job runs, is refused, comes back; nothing changed.
    h.typ("wrong horse");
    h.key(KeyCode::Enter);
    let Some(Popup::Passphrase(p)) = &h.app.popup else {
        panic!("the popup did not come back: {:?}", h.app.popup)
    };
    assert!(p.error.is_some());
    assert!(h.app.busy.is_none());
    assert_eq!(h.app.service().get(&id).unwrap().status.as_str(), "active");
    let screen = h.draw(80, 24);
    assert!(!screen.contains("wrong horse"), "{screen}");
    // The right one: revoked.
    h.typ("correct horse");
    h.key(KeyCode::Enter);
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
    assert_eq!(h.app.service().get(&id).unwrap().status.as_str(), "revoked");
    // Kept for the session: activating does not ask again.
    h.ch('a');
    h.ch('y');
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
    assert_eq!(h.app.service().get(&id).unwrap().status.as_str(), "active");
}

/// Whatever is pasted, wherever the focus is, nothing panics and no
/// control, escape or bidi character reaches the screen's cells.
mod hostile_paste {
    use super::*;
    use proptest::prelude::*;

    fn forbidden(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{61c}')
    }

    fn screen_is_clean(h: &Harness, w: u16, ht: u16) -> Result<(), TestCaseError> {
        let t = render(&h.app, w, ht);
        for cell in t.backend().buffer().content() {
            prop_assert!(
                !cell.symbol().chars().any(forbidden),
                "{:?} drawn at {w}x{ht}",
                cell.symbol()
            );
        }
        Ok(())
    }

    /// Text with escapes, C1 controls, bidi marks, CR/LF, sometimes inside
    /// PEM armour around a real CSR.
    fn pasted() -> impl Strategy<Value = String> {
        let junk = "[a-z0-9 \n\r\t\u{1b}\u{7}\u{8}\u{9b}\u{202e}\u{2066}\u{200f}\\[;=/+-]{0,300}";
        (junk, junk, any::<bool>(), any::<bool>()).prop_map(|(a, b, armour, real)| {
            let middle = if real {
                csr_pem("paste.example")
            } else if armour {
                format!(
                    "-----BEGIN CERTIFICATE REQUEST-----\n{a}\n-----END CERTIFICATE REQUEST-----\n"
                )
            } else {
                String::new()
            };
            format!("{a}{middle}{b}")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn pastes_are_contained(text in pasted(), place in 0usize..5) {
            let mut h = Harness::new();
            match place {
                0 => {}                        // main screen
                1 => h.ch('/'),                // search
                2 => {                         // form, CommonName
                    h.ch('n');
                    h.key(KeyCode::Down);
                    h.key(KeyCode::Down);
                }
                3 => {                         // form, CSR mode
                    h.ch('n');
                    h.key(KeyCode::Down);
                    h.key(KeyCode::Right);
                }
                _ => {                         // the passphrase popup
                    let p = crate::tui::popup::passphrase::PassAsk::new(
                        SITE, "example.com", crate::service::PassphrasePurpose::New,
                        super::super::worker::Job::Load { site: None });
                    h.app.popup = Some(Popup::Passphrase(Box::new(p)));
                }
            }
            h.paste(&text);
            screen_is_clean(&h, 80, 24)?;
            screen_is_clean(&h, 30, 8)?;
            // Whatever was pasted, the app still takes keys.
            h.key(KeyCode::Esc);
            screen_is_clean(&h, 120, 40)?;
        }
    }

    /// A paste far over the CSR limit is bounded, not kept whole.
    #[test]
    fn a_huge_paste_is_refused_with_the_csr_code() {
        let mut h = Harness::new();
        h.ch('n');
        let huge = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            "QUJD\n".repeat(200_000)
        );
        h.paste(&huge);
        let screen = h.draw(80, 24);
        assert!(screen.contains("InvalidParameter.CSR"), "{screen}");
        assert!(h.form().csr.text().len() <= limits::MAX_CSR_BYTES + 1);
    }
}
