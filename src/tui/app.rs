//! The app's state and its one update function, [`App::step`]. It calls the
//! service for quick reads and checks, and asks the runtime for the rest
//! through [`Effect`]s (a job for a worker, a clipboard copy), so tests can
//! step it with actions and run the effects themselves.

use crate::base::clock::now_seconds;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::EsaError;
use crate::pki::RevocationReason;
use crate::service::{CreateResponse, GetResponse, RenewResponse, Service, SiteSummary, Status};
use crate::text::sanitize;

use super::action::{Action, Cmd};
use super::form::IssueForm;
use super::input::TextInput;
use super::keys::{self, Ctx};
use super::passphrase::PassAsk;
use super::renew::RenewAsk;
use super::rows::CertTable;
use super::scroll::Scroll;
use super::theme::Theme;
use super::worker::{Job, Op, RenewJob};

mod commands;
mod jobs;
mod passphrase;

/// How often the store's change stamp is polled.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// How long an informational status message stays.
const NOTE_FOR: Duration = Duration::from_secs(10);

/// Something for the runtime to do.
#[derive(Debug)]
pub enum Effect {
    Job(Job),
    Copy(CopyRequest),
}

#[derive(Debug)]
pub struct CopyRequest {
    /// "the certificate PEM of alice", for the status line.
    pub what: String,
    pub text: Zeroizing<String>,
    /// A private key: keep it out of clipboard history.
    pub secret: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    Info,
    Success,
    Warning,
    Error,
}

/// The status line.
#[derive(Debug, Clone)]
pub struct Note {
    pub kind: NoteKind,
    pub text: String,
    at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Sites,
    Table,
}

/// The result of issuing (or renewing), shown once.
#[derive(Debug)]
pub struct ResultView {
    pub resp: CreateResponse,
    pub site_id: u64,
    /// `keep_private_keys`: whether the key can be exported later.
    pub key_kept: bool,
    pub scroll: Scroll,
    /// Esc was pressed once while the only copy of the key is on screen.
    pub leave_armed: bool,
    /// Set when this certificate renews another one.
    pub renewal: Option<Renewal>,
    /// Name and PkeyType (sanitised), which the response does not carry.
    pub name: String,
    pub pkey_type: String,
}

/// What became of the renewed certificate, for the result view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    pub old_id: String,
    pub old_label: String,
    pub old_not_after: String,
    /// `active`, `revoked` or `expired`, as the service reports it.
    pub old_status: crate::service::Status,
    pub old_revoked: bool,
    pub site_name: String,
}

impl Renewal {
    /// The RenewResponse again (for copying it as JSON).
    pub fn response(&self, certificate: &CreateResponse, site_id: u64) -> RenewResponse {
        RenewResponse {
            certificate: certificate.clone(),
            site_id,
            site_name: self.site_name.clone(),
            renewed_from: self.old_id.clone(),
            old_status: self.old_status,
            old_revoked: self.old_revoked,
        }
    }
}

impl ResultView {
    /// True when this screen is the only chance to get the private key.
    pub fn key_only_here(&self) -> bool {
        !self.key_kept && !self.resp.private_key.is_empty()
    }
}

#[derive(Debug)]
pub struct DetailsView {
    pub get: GetResponse,
    pub scroll: Scroll,
}

#[derive(Debug)]
pub enum Screen {
    Main,
    Form(Box<IssueForm>),
    Result(Box<ResultView>),
    Details(Box<DetailsView>),
}

/// A revoke/activate/delete waiting for "y".
#[derive(Debug, Clone)]
pub struct Confirm {
    pub op: Op,
    pub id: String,
    /// Name/CommonName as the table shows it (sanitised).
    pub label: String,
    pub status: Status,
    /// For a revoke: 0 = no reason, else `RevocationReason::ALL[i - 1]`.
    pub reason: usize,
    /// For an activate: why it was revoked (the RFC 5280 name, sanitised).
    pub revoked_for: Option<String>,
    /// For an activate: its successor (label, status) when it was renewed.
    pub successor: Option<(String, String)>,
}

impl Confirm {
    /// Revoked for a compromise: whoever has the key can use it again.
    pub fn compromised(&self) -> bool {
        matches!(
            self.revoked_for.as_deref(),
            Some("keyCompromise" | "cACompromise" | "aACompromise")
        )
    }

    pub fn reason(&self) -> Option<RevocationReason> {
        self.reason
            .checked_sub(1)
            .and_then(|i| RevocationReason::ALL.get(i).copied())
    }

    fn op(&self) -> Op {
        match self.op {
            Op::Revoke(_) => Op::Revoke(self.reason()),
            other => other,
        }
    }
}

/// A modal message, for refusals and errors that need reading.
#[derive(Debug, Clone)]
pub struct Message {
    pub title: String,
    pub error: EsaError,
}

/// The help popup: opened at the section for where the keyboard was.
#[derive(Debug, Default)]
pub struct HelpView {
    pub scroll: Scroll,
    /// The section (index into `keys::HELP_SECTIONS`) to show first; the
    /// renderer, which knows where it starts, scrolls there once.
    pub section: std::cell::Cell<Option<usize>>,
}

#[derive(Debug)]
pub enum Popup {
    Help(Box<HelpView>),
    Confirm(Confirm),
    Message(Message),
    Renew(Box<RenewAsk>),
    Passphrase(Box<PassAsk>),
}

#[derive(Debug, Default)]
pub struct LoadState {
    pub in_flight: bool,
    pending: bool,
    pub loaded: bool,
    /// Sites the first load has not read yet (it reads one site at a
    /// time); empty once every site is known.
    pub unread: Vec<u64>,
    /// Unreadable entries met by the first load so far.
    damaged_so_far: usize,
    pub error: Option<EsaError>,
    pub damaged: usize,
    /// A re-read asked for with Ctrl-R/F5: its end is said in the status
    /// line.
    announce: bool,
}

/// The status line while a re-read asked for runs.
const REREADING: &str = "Re-reading the store…";

pub struct App {
    service: Service,
    pub theme: Theme,
    clock: Option<OffsetDateTime>,
    pub sites: Vec<SiteSummary>,
    pub site_sel: usize,
    pub table: CertTable,
    pub focus: Pane,
    /// The filter being typed after `/`.
    pub search: Option<TextInput>,
    pub screen: Screen,
    pub popup: Option<Popup>,
    pub note: Option<Note>,
    /// Counts the notes set, to tell whether a step said something.
    note_seq: u64,
    pub load: LoadState,
    /// A lifecycle operation in flight, for the status line.
    pub busy: Option<String>,
    pub spinner: usize,
    /// How copies are made, for the help popup.
    pub clipboard_info: String,
    /// Whether the last draw had room for the sites list (kept by the
    /// renderer; without it Tab steps through the sites instead).
    pub sites_shown: std::cell::Cell<bool>,
    stamp: Option<u64>,
    poll_every: Duration,
    last_poll: Option<Instant>,
    pending_select: Option<String>,
    /// A renewal's result that arrived while another form or result was
    /// open: shown when that screen is left, so no key is lost.
    deferred: Option<Box<ResultView>>,
    outbox: Vec<Effect>,
    /// A tick changed something on screen (a message expired).
    redraw: bool,
    quit: bool,
}

impl App {
    pub fn new(service: Service, theme: Theme) -> App {
        let sites = service.declared_sites();
        let mut app = App {
            service,
            theme,
            clock: None,
            sites,
            site_sel: 0,
            table: CertTable::default(),
            focus: Pane::Table,
            search: None,
            screen: Screen::Main,
            popup: None,
            note: None,
            note_seq: 0,
            load: LoadState::default(),
            busy: None,
            spinner: 0,
            clipboard_info: String::new(),
            sites_shown: std::cell::Cell::new(true),
            stamp: None,
            poll_every: POLL_EVERY,
            last_poll: None,
            pending_select: None,
            deferred: None,
            outbox: Vec::new(),
            redraw: false,
            quit: false,
        };
        app.sync_site();
        app
    }

    /// Starts the first load; says so when a default config was written.
    pub fn start(&mut self, created_config: Option<PathBuf>) {
        if let Some(path) = created_config {
            self.info(format!(
                "Wrote a default config to {} — add your sites there",
                sanitize(&path.display().to_string())
            ));
        }
        // At 100k certificates reading the store takes seconds: with several
        // sites, read them one by one, the selected one first.
        if self.sites.len() > 1 {
            self.load.unread = self.sites.iter().map(|s| s.site_id).collect();
        }
        self.reload();
    }

    pub fn service(&self) -> &Service {
        &self.service
    }

    #[cfg(test)]
    /// Fixes the clock (tests), so days-left do not depend on the run.
    pub fn set_clock(&mut self, now: OffsetDateTime) {
        self.clock = Some(now);
    }

    #[cfg(test)]
    /// How often a tick looks at the store's change stamp (tests: always).
    pub fn set_poll_interval(&mut self, every: Duration) {
        self.poll_every = every;
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.unwrap_or_else(now_seconds)
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether the screen must be drawn again after a tick: a spinner is
    /// turning, or the tick changed something. Idle, nothing is drawn.
    pub fn tick_needs_draw(&mut self) -> bool {
        let animating = (self.load.in_flight && !self.load.loaded)
            || !self.load.unread.is_empty()
            || self.busy.is_some()
            || matches!(&self.screen, Screen::Form(f) if f.submitting.is_some());
        std::mem::take(&mut self.redraw) || animating
    }

    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.outbox)
    }

    pub fn selected_site(&self) -> Option<&SiteSummary> {
        self.sites.get(self.site_sel)
    }

    /// A site's name (sanitised) for messages, else its id.
    pub fn site_label(&self, site_id: u64) -> String {
        self.sites
            .iter()
            .find(|s| s.site_id == site_id)
            .map_or_else(|| site_id.to_string(), |s| sanitize(&s.site_name))
    }

    /// Whether the certificates and counts of `site` have been read.
    pub fn site_read(&self, site: u64) -> bool {
        self.load.loaded && !self.load.unread.contains(&site)
    }

    // ---- where the keyboard is -------------------------------------------

    pub fn ctx(&self) -> Ctx {
        match &self.popup {
            Some(Popup::Help(_)) => return Ctx::Help,
            Some(Popup::Confirm(_)) => return Ctx::Confirm,
            Some(Popup::Message(_)) => return Ctx::Message,
            Some(Popup::Renew(_)) => return Ctx::Renew,
            Some(Popup::Passphrase(_)) => return Ctx::Passphrase,
            None => {}
        }
        match &self.screen {
            Screen::Main if self.search.is_some() => Ctx::Search,
            Screen::Main => Ctx::Main,
            Screen::Form(f) => f.ctx(),
            Screen::Result(_) => Ctx::Result,
            Screen::Details(_) => Ctx::Details,
        }
    }

    pub fn text_focus(&self) -> bool {
        if let Some(Popup::Renew(r)) = &self.popup {
            return r.text_focus();
        }
        if let Some(Popup::Passphrase(_)) = &self.popup {
            return true;
        }
        if self.popup.is_some() {
            return false;
        }
        match &self.screen {
            Screen::Main => self.search.is_some(),
            Screen::Form(f) => f.text_focus() && f.submitting.is_none(),
            _ => false,
        }
    }

    /// Whether the focused text field takes digits only (ValidityDays).
    pub fn digits_focus(&self) -> bool {
        match (&self.popup, &self.screen) {
            (Some(Popup::Renew(r)), _) => r.text_focus(),
            (None, Screen::Form(f)) => f.focus == super::form::Field::Days,
            _ => false,
        }
    }

    /// Whether a command has something to act on now (the hint bar shows
    /// only those). The keys still work otherwise and say why not.
    pub fn applies(&self, cmd: Cmd) -> bool {
        let row = self.table.selected_row();
        if let Screen::Form(f) = &self.screen
            && f.submitting.is_some()
            && self.popup.is_none()
        {
            return cmd == Cmd::Help;
        }
        match (self.ctx(), cmd) {
            (Ctx::Main, Cmd::Back) => !self.table.query().is_empty(),
            (Ctx::Main, Cmd::Open | Cmd::CopyCert) => row.is_some(),
            (Ctx::Main, Cmd::CopyCa) => self
                .selected_site()
                .is_some_and(|s| !s.ca_certificate_id.is_empty()),
            (Ctx::Main, Cmd::CopyKey) => row.is_some_and(|r| r.key_stored),
            (Ctx::Details, Cmd::CopyKey) => match &self.screen {
                Screen::Details(d) => d.get.result.private_key_stored,
                _ => false,
            },
            (Ctx::Result, Cmd::CopyKey) => match &self.screen {
                Screen::Result(r) => !r.resp.private_key.is_empty(),
                _ => false,
            },
            // Only what the service allows; the keys still work otherwise
            // and say why not.
            (Ctx::Main | Ctx::Details, Cmd::Revoke | Cmd::Activate | Cmd::Delete | Cmd::Renew) => {
                self.target()
                    .is_some_and(|t| self.refusal(cmd, &t).is_none())
            }
            (Ctx::Main, Cmd::FocusNext) => self.sites.len() > 1,
            (Ctx::Form, Cmd::Left | Cmd::Right | Cmd::Toggle) => match &self.screen {
                Screen::Form(f) => f.focus != super::form::Field::Submit,
                _ => false,
            },
            (Ctx::Passphrase, Cmd::FocusNext | Cmd::FocusPrev) => matches!(
                &self.popup,
                Some(Popup::Passphrase(p))
                    if p.purpose == crate::service::PassphrasePurpose::New
            ),
            (Ctx::Confirm, Cmd::Left | Cmd::Right) => {
                matches!(&self.popup, Some(Popup::Confirm(c)) if matches!(c.op, Op::Revoke(_)))
            }
            _ => true,
        }
    }

    // ---- input -------------------------------------------------------------

    /// A terminal event: keys and pastes become actions, focus regained
    /// re-reads the store. Resizes need nothing: the next draw adapts.
    pub fn handle_event(&mut self, ev: &TermEvent) {
        match ev {
            TermEvent::Key(k) if k.kind != KeyEventKind::Release => {
                // Nothing is bound to Alt. A terminal reports Esc followed
                // at once by a key as Alt+key: take it as the two keys.
                if k.modifiers.contains(KeyModifiers::ALT) {
                    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
                    self.handle_event(&TermEvent::Key(esc));
                    let mut plain = *k;
                    plain.modifiers.remove(KeyModifiers::ALT);
                    self.handle_event(&TermEvent::Key(plain));
                    return;
                }
                // A ValidityDays field takes digits only: other keys keep
                // their meaning there (y/n in the renew popup, ? help).
                let non_digit = matches!(k.code, KeyCode::Char(c) if !c.is_ascii_digit())
                    && !k.modifiers.contains(KeyModifiers::CONTROL);
                let text_focus = self.text_focus() && !(non_digit && self.digits_focus());
                if let Some(a) = keys::action_for(k, self.ctx(), text_focus) {
                    self.step(a);
                }
            }
            TermEvent::Paste(s) => self.step(Action::Paste(s.clone())),
            TermEvent::FocusGained => self.step(Action::FocusGained),
            _ => {}
        }
    }

    /// The update function.
    pub fn step(&mut self, action: Action) {
        let before = self.screen_mark();
        self.step_inner(action);
        self.forget_old_note(before);
    }

    /// Which screen is shown, and how many notes were set so far.
    fn screen_mark(&self) -> (std::mem::Discriminant<Screen>, u64) {
        (std::mem::discriminant(&self.screen), self.note_seq)
    }

    /// A note belongs to the screen it was said on: when the screen
    /// changed and the change said nothing, the old note goes.
    fn forget_old_note(&mut self, (screen, seq): (std::mem::Discriminant<Screen>, u64)) {
        if std::mem::discriminant(&self.screen) != screen && self.note_seq == seq {
            self.note = None;
        }
    }

    fn step_inner(&mut self, action: Action) {
        match action {
            Action::Tick => self.tick(),
            Action::FocusGained => self.reload(),
            Action::Cmd(Cmd::Quit) => {
                if !self.key_would_be_lost("Ctrl-C again quits") {
                    self.quit = true;
                }
            }
            Action::Paste(text) => {
                // Wiped when dropped: it may be a private key pasted by
                // mistake.
                let text = Zeroizing::new(text);
                self.paste(&text);
            }
            Action::Edit(e) => self.edit(e),
            Action::Cmd(cmd) => self.command(cmd),
        }
    }

    fn command(&mut self, cmd: Cmd) {
        if let Some(popup) = self.popup.take() {
            // A command may have opened another popup (the passphrase).
            if let Some(next) = self.popup_command(popup, cmd) {
                self.popup = Some(next);
            }
            return;
        }
        if cmd == Cmd::Help {
            let ctx = self.ctx();
            let section = keys::HELP_SECTIONS
                .iter()
                .position(|(_, ctxs)| ctxs.contains(&ctx));
            self.popup = Some(Popup::Help(Box::new(HelpView {
                scroll: Scroll::default(),
                section: std::cell::Cell::new(section),
            })));
            return;
        }
        let screen = std::mem::replace(&mut self.screen, Screen::Main);
        self.screen = match screen {
            Screen::Main => {
                self.main_command(cmd);
                // A command may have opened another screen.
                std::mem::replace(&mut self.screen, Screen::Main)
            }
            Screen::Form(f) => self.form_command(f, cmd),
            Screen::Result(r) => self.result_command(r, cmd),
            Screen::Details(d) => self.details_command(d, cmd),
        };
        if matches!(self.screen, Screen::Main)
            && let Some(r) = self.deferred.take()
        {
            self.screen = Screen::Result(r);
        }
    }

    fn popup_command(&mut self, popup: Popup, cmd: Cmd) -> Option<Popup> {
        match popup {
            Popup::Help(h) => {
                if cmd == Cmd::Back {
                    return None;
                }
                scroll_command(&h.scroll, cmd);
                Some(Popup::Help(h))
            }
            Popup::Message(_) if cmd == Cmd::Back => None,
            Popup::Message(m) => Some(Popup::Message(m)),
            Popup::Renew(r) => self.renew_command(r, cmd),
            Popup::Passphrase(p) => self.passphrase_command(p, cmd),
            Popup::Confirm(mut c) => match cmd {
                Cmd::Confirm => {
                    self.start_job(Job::Change {
                        op: c.op(),
                        id: c.id.clone(),
                        label: c.label.clone(),
                    });
                    None
                }
                Cmd::Cancel => None,
                Cmd::Left | Cmd::Right if matches!(c.op, Op::Revoke(_)) => {
                    let n = RevocationReason::ALL.len() + 1;
                    c.reason = if cmd == Cmd::Right {
                        (c.reason + 1) % n
                    } else {
                        (c.reason + n - 1) % n
                    };
                    Some(Popup::Confirm(c))
                }
                _ => Some(Popup::Confirm(c)),
            },
        }
    }

    /// Esc or Ctrl-C on a result whose private key is on screen only: the
    /// first press warns (and arms), the second goes ahead. Returns whether
    /// this press was stopped.
    fn key_would_be_lost(&mut self, then: &str) -> bool {
        let Screen::Result(r) = &mut self.screen else {
            return false;
        };
        if !r.key_only_here() || r.leave_armed {
            return false;
        }
        r.leave_armed = true;
        self.warn(format!(
            "Key not stored, shown only here: K copies it; {then}"
        ));
        true
    }

    // ---- status line ---------------------------------------------------------------

    fn set_note(&mut self, kind: NoteKind, text: String) {
        self.note_seq += 1;
        self.note = Some(Note {
            kind,
            text,
            at: Instant::now(),
        });
    }

    fn info(&mut self, text: String) {
        self.set_note(NoteKind::Info, text);
    }

    fn warn(&mut self, text: String) {
        self.set_note(NoteKind::Warning, text);
    }

    /// An error from the service: a popup with its ESA code and message.
    fn fail(&mut self, title: &str, error: EsaError) {
        self.set_note(
            NoteKind::Error,
            format!("[{}] {}", error.code, sanitize(&error.message)),
        );
        self.popup = Some(Popup::Message(Message {
            title: title.to_owned(),
            error,
        }));
    }
}

fn scroll_command(s: &Scroll, cmd: Cmd) {
    match cmd {
        Cmd::Up => s.by(-1),
        Cmd::Down => s.by(1),
        Cmd::PageUp => s.page_up(),
        Cmd::PageDown => s.page_down(),
        Cmd::Top => s.top(),
        Cmd::Bottom => s.bottom(),
        _ => {}
    }
}

/// A name cut for a status message, so the message's point still fits
/// in 80 columns.
fn short(label: &str) -> String {
    crate::text::clip(label, 24)
}

/// "web · alice.example", or the CN alone, from store text.
pub fn row_label(name: &str, common_name: &str) -> String {
    super::rows::label(&sanitize(name), &sanitize(common_name))
}

fn verb_ing(op: Op) -> &'static str {
    match op {
        Op::Revoke(_) => "Revoking",
        Op::Activate => "Activating",
        Op::Delete => "Deleting",
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
