//! The reads `C`, Enter and `a` open with, and a remote's sites: on the
//! worker, never on the UI thread; a failed one said, the keys still
//! working. A [`Spy`] desk stands for a remote: it answers from the local
//! service, records which thread called it, and fails reads on demand.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use zeroize::Zeroizing;

use super::*;
use crate::api::{
    Backend, GetResponse, InputRules, ListResponse, Origin, Overview, Page, RenewResponse, Secret,
    SitesResponse, StatusChangeResponse, wire,
};
use crate::error::{EsaError, EsaResult};
use crate::pki::{P12Mode, RevocationReason};
use crate::tui::app::RulesState;

/// A remote-like desk over the local service.
#[derive(Debug)]
struct Spy {
    inner: Service,
    /// The thread the app runs on.
    ui: ThreadId,
    /// Every call, by name, with whether it came from the UI thread.
    calls: Mutex<Vec<(&'static str, bool)>>,
    /// What reads answer instead (the table's listing still works).
    fail: Mutex<Option<EsaError>>,
}

impl Spy {
    fn new(inner: Service) -> Spy {
        Spy {
            inner,
            ui: std::thread::current().id(),
            calls: Mutex::new(Vec::new()),
            fail: Mutex::new(None),
        }
    }

    fn fail_with(&self, e: Option<EsaError>) {
        *self.fail.lock().unwrap() = e;
    }

    fn seen(&self, name: &'static str) {
        let on_ui = std::thread::current().id() == self.ui;
        self.calls.lock().unwrap().push((name, on_ui));
    }

    /// A read that fails when told to.
    fn read(&self, name: &'static str) -> EsaResult<()> {
        self.seen(name);
        match self.fail.lock().unwrap().clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn on_ui(&self) -> Vec<&'static str> {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|c| c.1).map(|c| c.0).collect()
    }

    fn called(&self, name: &str) -> bool {
        self.calls.lock().unwrap().iter().any(|c| c.0 == name)
    }
}

impl Backend for Spy {
    fn origin(&self) -> Origin {
        Origin::Remote {
            name: "spy".into(),
            endpoint: "https://esa.invalid".into(),
        }
    }
    fn input_rules(&self) -> EsaResult<InputRules> {
        self.read("input_rules")?;
        Backend::input_rules(&self.inner)
    }
    fn keeps_private_keys(&self) -> bool {
        Backend::keeps_private_keys(&self.inner)
    }
    fn sites(&self) -> EsaResult<SitesResponse> {
        self.seen("sites");
        Backend::sites(&self.inner)
    }
    fn create(&self, req: &CreateRequest) -> EsaResult<CreateResponse> {
        self.seen("create");
        Backend::create(&self.inner, req)
    }
    fn list_site(&self, site_id: u64, each: &mut dyn FnMut(Page) -> bool) -> EsaResult<()> {
        self.seen("list_site");
        Backend::list_site(&self.inner, site_id, each)
    }
    fn list_page(&self, site_id: u64, page: u64, size: u64) -> EsaResult<ListResponse> {
        self.seen("list_page");
        Backend::list_page(&self.inner, site_id, page, size)
    }
    fn overview(
        &self,
        site: Option<u64>,
        page: &mut dyn FnMut(Vec<crate::api::CertSummary>),
    ) -> EsaResult<Overview> {
        self.seen("overview");
        Backend::overview(&self.inner, site, page)
    }
    fn get(&self, site_id: Option<u64>, id: &str) -> EsaResult<GetResponse> {
        self.read("get")?;
        Backend::get(&self.inner, site_id, id)
    }
    fn revoke(
        &self,
        site_id: Option<u64>,
        id: &str,
        reason: Option<RevocationReason>,
    ) -> EsaResult<StatusChangeResponse> {
        self.seen("revoke");
        Backend::revoke(&self.inner, site_id, id, reason)
    }
    fn activate(&self, site_id: Option<u64>, id: &str) -> EsaResult<StatusChangeResponse> {
        self.seen("activate");
        Backend::activate(&self.inner, site_id, id)
    }
    fn delete(&self, site_id: Option<u64>, id: &str) -> EsaResult<StatusChangeResponse> {
        self.seen("delete");
        Backend::delete(&self.inner, site_id, id)
    }
    fn ca_pem(&self, site_id: u64) -> EsaResult<Option<String>> {
        self.read("ca_pem")?;
        Backend::ca_pem(&self.inner, site_id)
    }
    fn private_key(&self, site_id: Option<u64>, id: &str) -> EsaResult<Secret> {
        self.read("private_key")?;
        Backend::private_key(&self.inner, site_id, id)
    }
    fn export_p12(
        &self,
        site_id: Option<u64>,
        id: &str,
        password: &Secret,
        mode: P12Mode,
    ) -> EsaResult<Zeroizing<Vec<u8>>> {
        self.read("export_p12")?;
        Backend::export_p12(&self.inner, site_id, id, password, mode)
    }
    fn upload_ca(
        &self,
        site_id: u64,
        certificate: &str,
        name: Option<&str>,
    ) -> EsaResult<wire::UploadedCa> {
        self.seen("upload_ca");
        Backend::upload_ca(&self.inner, site_id, certificate, name)
    }
    fn list_cas(&self, site_id: u64, page: u64, size: u64) -> EsaResult<wire::List> {
        self.read("list_cas")?;
        Backend::list_cas(&self.inner, site_id, page, size)
    }
    fn uploaded_cas(&self, site: u64) -> EsaResult<Vec<(wire::CertInfo, Vec<String>)>> {
        self.read("uploaded_cas")?;
        Backend::uploaded_cas(&self.inner, site)
    }
    fn get_ca(&self, site_id: u64, id: &str) -> EsaResult<wire::Get> {
        self.read("get_ca")?;
        Backend::get_ca(&self.inner, site_id, id)
    }
    fn delete_ca(&self, site_id: u64, id: &str) -> EsaResult<StatusChangeResponse> {
        self.seen("delete_ca");
        Backend::delete_ca(&self.inner, site_id, id)
    }
    fn ca_hostnames(&self, site_id: u64, id: Option<&str>) -> EsaResult<wire::Hostnames> {
        self.read("ca_hostnames")?;
        Backend::ca_hostnames(&self.inner, site_id, id)
    }
    fn set_ca_hostnames(
        &self,
        site_id: u64,
        id: Option<&str>,
        hostnames: &[String],
    ) -> EsaResult<wire::Hostnames> {
        self.seen("set_ca_hostnames");
        Backend::set_ca_hostnames(&self.inner, site_id, id, hostnames)
    }
    fn certificate_hostnames(&self, site_id: u64, id: Option<&str>) -> EsaResult<wire::Hostnames> {
        self.read("certificate_hostnames")?;
        Backend::certificate_hostnames(&self.inner, site_id, id)
    }
    fn set_certificate_hostnames(
        &self,
        site_id: u64,
        id: Option<&str>,
        hostnames: &[String],
    ) -> EsaResult<wire::Hostnames> {
        self.seen("set_certificate_hostnames");
        Backend::set_certificate_hostnames(&self.inner, site_id, id, hostnames)
    }
    fn renew(&self, id: &str, days: Option<u32>, revoke_old: bool) -> EsaResult<RenewResponse> {
        self.seen("renew");
        Backend::renew(&self.inner, id, days, revoke_old)
    }
}

/// The app on a [`Spy`] desk, its jobs on another thread; its first
/// jobs not run yet. `fail`: what the spy's reads answer from the start.
fn spied_unstarted(fail: Option<EsaError>) -> (Harness, Arc<Spy>) {
    let mut spy = None;
    let mut h = Harness::unstarted(&config_text(""), |s| {
        let desk = Arc::new(Spy::new(s));
        desk.fail_with(fail);
        spy = Some(desk.clone());
        desk
    });
    h.threaded = true;
    (h, spy.unwrap())
}

fn spied() -> (Harness, Arc<Spy>) {
    let (mut h, spy) = spied_unstarted(None);
    h.run();
    (h, spy)
}

/// A key handed to the app without running the jobs it asks for (they
/// are "still on the worker").
fn press(h: &mut Harness, code: KeyCode) {
    let m = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    h.app.handle_event(&TermEvent::Key(KeyEvent::new(code, m)));
}

fn message_title(h: &Harness) -> String {
    match &h.app.popup {
        Some(Popup::Message(m)) => m.title.clone(),
        other => panic!("no message: {other:?}"),
    }
}

fn unavailable() -> EsaError {
    EsaError::new(
        ErrorCode::RemoteUnavailable,
        "cannot reach https://esa.invalid: timed out after 30 s",
    )
}

#[test]
fn reads_for_c_enter_and_a_run_on_the_worker_never_on_the_ui_thread() {
    let (mut h, spy) = spied();
    // The sites (ListSites on a remote) came from the worker too.
    assert_eq!(h.app.rules_state, RulesState::Known);
    assert!(spy.called("input_rules"));
    let c = h.issue("seen.example", "laptop", 30);
    h.step(Action::FocusGained);

    h.ch('C');
    assert!(
        matches!(h.app.popup, Some(Popup::Cas(_))),
        "{:?}",
        h.app.popup
    );
    assert!(spy.called("ca_hostnames") && spy.called("uploaded_cas"));
    h.key(KeyCode::Esc);

    assert!(h.app.table.select_id(&c.id));
    h.key(KeyCode::Enter);
    assert!(matches!(h.app.screen, Screen::Details(_)));
    assert!(spy.called("get") && spy.called("certificate_hostnames"));
    h.key(KeyCode::Esc);

    h.service
        .revoke(&c.id, Some(RevocationReason::KeyCompromise))
        .unwrap();
    h.step(Action::FocusGained);
    assert!(h.app.table.select_id(&c.id));
    h.ch('a');
    let Some(Popup::Confirm(cf)) = &h.app.popup else {
        panic!("no confirmation: {:?}", h.app.popup)
    };
    assert_eq!(cf.revoked_for.as_deref(), Some("keyCompromise"));
    h.ch('y');
    assert!(h.note().starts_with("Activated"), "{}", h.note());
    // From the details as well.
    h.key(KeyCode::Enter);
    h.ch('r');
    h.ch('y');
    h.ch('a');
    assert!(matches!(h.app.popup, Some(Popup::Confirm(_))));
    h.ch('n');

    assert_eq!(
        spy.on_ui(),
        Vec::<&str>::new(),
        "backend calls on the UI thread"
    );
}

#[test]
fn failed_reads_are_said_and_the_keys_still_work() {
    let (mut h, spy) = spied();
    let c = h.issue("down.example", "", 30);
    h.service.revoke(&c.id, None).unwrap();
    h.step(Action::FocusGained);
    assert!(h.app.table.select_id(&c.id));

    // A network error (a timeout).
    spy.fail_with(Some(unavailable()));
    h.ch('C');
    assert_eq!(message_title(&h), "Cannot read the site's CAs");
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Error);
    assert!(h.note().contains("Remote.Unavailable"), "{}", h.note());
    let screen = h.draw(80, 24);
    assert!(screen.contains("timed out after 30 s"), "{screen}");
    h.key(KeyCode::Enter);
    assert!(h.app.popup.is_none());

    // A 403.
    spy.fail_with(Some(EsaError::new(
        ErrorCode::InvalidToken,
        "HTTP 403: the access key may not call GetClientCertificate",
    )));
    h.key(KeyCode::Enter);
    assert_eq!(message_title(&h), "Cannot open the certificate");
    assert!(matches!(h.app.screen, Screen::Main));
    assert!(h.note().contains("HTTP 403"), "{}", h.note());
    h.key(KeyCode::Esc);

    // A 5xx.
    spy.fail_with(Some(EsaError::internal("HTTP 503 from the endpoint")));
    h.ch('a');
    assert_eq!(message_title(&h), "Cannot read the certificate");
    assert!(h.note().contains("HTTP 503"), "{}", h.note());
    h.key(KeyCode::Esc);
    assert!(h.app.popup.is_none() && h.app.reading.is_none());
    h.ch('c');
    assert_eq!(message_title(&h), "Cannot copy the certificate");
    h.key(KeyCode::Esc);
    assert!(h.copies.is_empty());

    // Still usable: help, the form, the search, and the same keys once
    // the desk answers again.
    h.ch('?');
    assert!(matches!(h.app.popup, Some(Popup::Help(_))));
    h.key(KeyCode::Esc);
    h.ch('n');
    assert!(matches!(h.app.screen, Screen::Form(_)));
    h.key(KeyCode::Esc);
    h.ch('/');
    h.typ("down");
    h.key(KeyCode::Enter);
    assert_eq!(h.labels(), vec!["down.example".to_owned()]);
    spy.fail_with(None);
    h.ch('a');
    assert!(matches!(h.app.popup, Some(Popup::Confirm(_))));
    h.ch('n');
    h.key(KeyCode::Enter);
    assert!(matches!(h.app.screen, Screen::Details(_)));
    assert_eq!(spy.on_ui(), Vec::<&str>::new());
}

#[test]
fn a_read_under_way_is_in_the_status_line_and_never_opens_over_what_came_since() {
    let mut h = Harness::new();
    let c = h.issue("slow.example", "", 30);
    h.step(Action::FocusGained);
    assert!(h.app.table.select_id(&c.id));

    // Enter: nothing opens until the answer; the status line says why.
    press(&mut h, KeyCode::Enter);
    assert!(matches!(h.app.screen, Screen::Main));
    let screen = h.draw(80, 24);
    assert!(screen.contains("Reading slow.example…"), "{screen}");
    assert!(h.app.tick_needs_draw(), "the spinner turns");
    // Meanwhile the form was opened: the details stay closed.
    press(&mut h, KeyCode::Char('n'));
    h.run();
    assert!(matches!(h.app.screen, Screen::Form(_)));
    assert!(h.app.reading.is_none());
    assert!(!h.draw(80, 24).contains("Reading"));
    h.key(KeyCode::Esc);

    // Asked twice: the later read's answer opens it, the earlier one's
    // is dropped.
    press(&mut h, KeyCode::Char('C'));
    press(&mut h, KeyCode::Char('C'));
    h.run();
    assert!(matches!(h.app.popup, Some(Popup::Cas(_))));
    h.key(KeyCode::Esc);
    assert!(h.app.popup.is_none());
}

#[test]
fn a_failed_read_answered_after_another_popup_opened_is_a_status_line_only() {
    let (mut h, spy) = spied();
    h.issue("late.example", "", 30);
    h.step(Action::FocusGained);
    spy.fail_with(Some(unavailable()));
    press(&mut h, KeyCode::Char('C'));
    press(&mut h, KeyCode::Char('?'));
    h.run();
    assert!(
        matches!(h.app.popup, Some(Popup::Help(_))),
        "{:?}",
        h.app.popup
    );
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Error);
    assert!(
        h.note()
            .starts_with("Cannot read the site's CAs: [Remote.Unavailable]"),
        "{}",
        h.note()
    );
}

#[test]
fn a_remote_desk_issues_only_once_its_sites_are_known() {
    let (mut h, spy) = spied_unstarted(None);
    // No request before the first frame: the sites are read on a worker.
    assert_eq!(h.app.rules_state, RulesState::Reading);
    assert!(!spy.called("input_rules"));
    assert!(h.app.sites.is_empty());
    press(&mut h, KeyCode::Char('n'));
    assert!(matches!(h.app.screen, Screen::Form(_)));
    h.app.handle_event(&TermEvent::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(
        h.note(),
        "Not issued: the sites are still being read; try again in a moment"
    );
    assert!(matches!(h.app.screen, Screen::Form(_)));
    let effects = h.app.take_effects();
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Job(worker::Job::Issue(_)))),
        "{effects:?}"
    );
    for e in effects {
        h.app.outbox.push(e);
    }
    // The sites arrive: the form takes them, and issues.
    h.run();
    assert_eq!(h.app.rules_state, RulesState::Known);
    assert_eq!(h.form().sites.len(), 2);
    assert_eq!(h.form().site_id(), Some(SITE));
    h.ctrl('s');
    assert!(matches!(h.app.screen, Screen::Result(_)), "{}", h.note());
    assert_eq!(spy.on_ui(), Vec::<&str>::new());
}

#[test]
fn sites_that_could_not_be_read_are_said_and_read_again_on_ctrl_r() {
    let (mut h, spy) = spied_unstarted(Some(unavailable()));
    h.run();
    assert_eq!(message_title(&h), "Cannot read the sites");
    assert!(matches!(h.app.rules_state, RulesState::Failed(_)));
    h.key(KeyCode::Esc);
    h.ch('n');
    h.ctrl('s');
    assert_eq!(
        h.note(),
        "Not issued: the sites are not read [Remote.Unavailable]; Esc, then Ctrl-R reads them"
    );
    assert!(matches!(h.app.screen, Screen::Form(_)));
    h.key(KeyCode::Esc);
    spy.fail_with(None);
    h.ctrl('r');
    assert_eq!(h.app.rules_state, RulesState::Known);
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
}

/// A remote keeps no CRL and RevokeClientCertificate takes no reason: its
/// confirmations say what the endpoint does, and offer no reason picker.
#[test]
fn a_remote_desk_confirms_without_a_crl_or_a_reason() {
    let (mut h, _spy) = spied();
    let c = h.issue("remote.example", "", 30);
    h.step(Action::FocusGained);
    assert!(h.app.table.select_id(&c.id));
    h.ch('r');
    let Some(Popup::Confirm(cf)) = &h.app.popup else {
        panic!("no confirmation: {:?}", h.app.popup)
    };
    assert!(!cf.local);
    assert!(!h.app.applies(crate::tui::action::Cmd::Right));
    let screen = h.draw(90, 24);
    assert!(
        screen.contains("The endpoint stops trusting it"),
        "{screen}"
    );
    assert!(
        !screen.contains("CRL") && !screen.contains("Reason"),
        "{screen}"
    );
    h.key(KeyCode::Right); // no reason to pick: nothing changes
    h.ch('y');
    assert!(h.note().starts_with("Revoked"), "{}", h.note());
    assert_eq!(
        h.service.get(&c.id).unwrap().status,
        crate::api::Status::Revoked
    );
}
