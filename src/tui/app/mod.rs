//! The app's state and its one update function, [`App::step`]. It calls the
//! service for quick reads and checks, and asks the runtime for the rest
//! through [`Effect`]s (a job for a worker, a clipboard copy), so tests can
//! step it with actions and run the effects themselves.

use crate::base::clock::now_seconds;
use crate::base::limits::MAX_SEARCH_CHARS;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::Desk;
use crate::api::SiteSummary;
use crate::api::{Backend, InputRules, IssueDefaults};
use crate::error::EsaError;
use crate::text::sanitize;

use super::action::{Action, Cmd};
use super::input::{Edit, TextInput};
use super::keys::{self, Ctx};
pub use super::popup::Popup;
use super::popup::help::HelpView;
use super::popup::message::Message;
use super::screen::details::DetailsView;
use super::screen::issue_form::{IssueForm, Pasted, looks_like_csr};
use super::screen::main::rows::CertTable;
pub use super::screen::result::Renewal;
use super::screen::result::ResultView;
use super::theme::Theme;
use super::worker::{Job, Op};

mod commands;
mod jobs;
mod reads;
mod unread;

pub use unread::Unread;

/// How often the store's change stamp is polled.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// How long an informational status message stays.
const NOTE_FOR: Duration = Duration::from_secs(10);

/// Something for the runtime to do.
#[derive(Debug)]
pub enum Effect {
    Job(Job),
    Copy(CopyRequest),
    /// Drive another desk: `None` the local store, `Some(name)` a remote.
    Switch(Option<String>),
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

#[derive(Debug)]
pub enum Screen {
    Main,
    Form(Box<IssueForm>),
    Result(Box<ResultView>),
    Details(Box<DetailsView>),
}

#[derive(Debug, Default)]
pub struct LoadState {
    pub in_flight: bool,
    pending: bool,
    pub loaded: bool,
    /// Sites the first load has not read yet (it reads them a batch at a
    /// time); empty once every site is known.
    pub unread: Unread,
    /// Sites in the first load's next batch: one (the selected site)
    /// first, then doubled while batches come back quickly and halved
    /// when one is slow, so that a batch takes about a tenth of a second
    /// whether sites hold 30,000 certificates or none.
    batch: usize,
    /// When the batch in flight was asked for.
    batch_sent: Option<Instant>,
    /// Rows of a remote load so far (see `App::page_arrived`).
    pub(in crate::tui) staged: Vec<super::screen::main::rows::CertRow>,
    /// Unreadable entries met by the first load so far.
    damaged_so_far: usize,
    pub error: Option<EsaError>,
    pub damaged: usize,
    /// A re-read asked for with Ctrl-R/F5: its end is said in the status
    /// line.
    pub(in crate::tui) announce: bool,
}

/// Whether the desk's sites and defaults (`App::rules`) are known.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::tui) enum RulesState {
    Known,
    /// Being read on a worker (a remote's ListSites).
    Reading,
    /// The read failed; the next re-read (Ctrl-R) tries again.
    Failed(EsaError),
}

/// The status line while a re-read asked for runs.
pub(in crate::tui) const REREADING: &str = "Re-reading the store…";

pub struct App {
    pub(in crate::tui) desk: Desk,
    /// The backend's sites and defaults, for the form's field rules
    /// (placeholders until `rules_state` is `Known`).
    pub(in crate::tui) rules: InputRules,
    pub(in crate::tui) rules_state: RulesState,
    /// The `[[remote]]` names `B` offers besides the local store.
    pub remotes: Vec<String>,
    pub theme: Theme,
    clock: Option<OffsetDateTime>,
    pub sites: Vec<SiteSummary>,
    /// Where each site id is in `sites` (see [`App::site_pos`]).
    site_at: std::collections::HashMap<u64, usize>,
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
    /// The read a popup or screen waits for (see `reads.rs`).
    pub(in crate::tui) reading: Option<reads::Reading>,
    /// Numbers the reads, to tell the latest one's answer.
    read_seq: u64,
    pub spinner: usize,
    /// How copies are made, for the help popup.
    pub clipboard_info: String,
    /// Whether the last draw had room for the sites list (kept by the
    /// renderer; without it Tab steps through the sites instead).
    pub sites_shown: std::cell::Cell<bool>,
    stamp: Option<u64>,
    poll_every: Duration,
    last_poll: Option<Instant>,
    /// A poll job is on the worker (one at a time).
    polling: bool,
    pending_select: Option<String>,
    /// A renewal's result that arrived while another form or result was
    /// open: shown when that screen is left, so no key is lost.
    pub(in crate::tui) deferred: Option<Box<ResultView>>,
    pub(in crate::tui) outbox: Vec<Effect>,
    /// A tick changed something on screen (a message expired).
    redraw: bool,
    quit: bool,
}

impl App {
    pub fn new(desk: Desk, theme: Theme) -> App {
        let placeholder = InputRules {
            sites: Vec::new(),
            defaults: IssueDefaults {
                validity_days: 365,
                pkey_type: crate::pki::PkeyType::EcP256,
            },
        };
        // The sites as declared (no store read, no counts yet): the local
        // store's are its config, in memory; a remote's are a ListSites
        // request, read on a worker (the form waits for them).
        let local = matches!(desk.origin(), crate::api::Origin::Local { .. });
        let (rules, rules_state) = if local {
            match desk.input_rules() {
                Ok(r) => (r, RulesState::Known),
                Err(e) => (placeholder, RulesState::Failed(e)),
            }
        } else {
            (placeholder, RulesState::Reading)
        };
        let rules_error = match &rules_state {
            RulesState::Failed(e) => Some(e.clone()),
            _ => None,
        };
        let sites: Vec<SiteSummary> = rules.sites.iter().map(SiteSummary::from).collect();
        let site_at = positions(&sites);
        let mut app = App {
            desk,
            rules,
            rules_state,
            remotes: Vec::new(),
            theme,
            clock: None,
            sites,
            site_at,
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
            reading: None,
            read_seq: 0,
            spinner: 0,
            clipboard_info: String::new(),
            sites_shown: std::cell::Cell::new(true),
            stamp: None,
            poll_every: POLL_EVERY,
            last_poll: None,
            polling: false,
            pending_select: None,
            deferred: None,
            outbox: Vec::new(),
            redraw: false,
            quit: false,
        };
        app.sync_site();
        if let Some(e) = rules_error {
            app.fail("Cannot read the sites", e);
        }
        if !local {
            app.outbox.push(Effect::Job(Job::Read {
                seq: 0,
                read: super::worker::Read::Rules,
            }));
        }
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
        // sites, read them a batch at a time, the selected one first.
        if self.sites.len() > 1 {
            self.load.unread = Unread::new(self.sites.iter().map(|s| s.site_id));
        }
        self.reload();
    }

    /// The backend this desk drives (the local store or a remote endpoint).
    pub fn desk(&self) -> &dyn Backend {
        self.desk.as_ref()
    }

    /// The config name of the remote the desk drives (`None`: local), as
    /// the config spells it (sanitise it to show it).
    pub fn remote_name(&self) -> Option<String> {
        match self.desk.origin() {
            crate::api::Origin::Remote { name, .. } => Some(name),
            crate::api::Origin::Local { .. } => None,
        }
    }

    /// A handle on the backend for a worker.
    pub fn desk_handle(&self) -> Desk {
        self.desk.clone()
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
            || self.reading.is_some()
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
        self.site_pos(site_id).map_or_else(
            || site_id.to_string(),
            |i| sanitize(&self.sites[i].site_name),
        )
    }

    /// Where the site of that id is in `sites` (O(1): a load of 30,000
    /// sites looks up every one).
    pub fn site_pos(&self, site_id: u64) -> Option<usize> {
        match self.site_at.get(&site_id) {
            Some(&i) if self.sites.get(i).is_some_and(|s| s.site_id == site_id) => Some(i),
            None if self.site_at.len() == self.sites.len() => None,
            // `sites` was changed without `set_sites` (a test): look.
            _ => self.sites.iter().position(|s| s.site_id == site_id),
        }
    }

    /// Replaces the sites (a whole re-read).
    pub(in crate::tui) fn set_sites(&mut self, sites: Vec<SiteSummary>) {
        self.site_at = positions(&sites);
        self.sites = sites;
    }

    /// Whether the certificates and counts of `site` have been read.
    pub fn site_read(&self, site: u64) -> bool {
        self.load.loaded && !self.load.unread.contains(site)
    }

    // ---- where the keyboard is -------------------------------------------

    pub fn ctx(&self) -> Ctx {
        if let Some(p) = &self.popup {
            return p.ctx();
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
        if let Some(p) = &self.popup {
            return p.text_focus();
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
            (Some(p), _) => p.digits_focus(),
            (None, Screen::Form(f)) => f.focus == super::screen::issue_form::Field::Days,
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
        if let Some(p) = &self.popup {
            return p.applies(cmd);
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
            (Ctx::FormCsr, Cmd::Newline) => match &self.screen {
                Screen::Form(f) => !f.csr_complete(),
                _ => false,
            },
            (Ctx::Form, Cmd::Left | Cmd::Right | Cmd::Toggle) => match &self.screen {
                Screen::Form(f) => f.focus != super::screen::issue_form::Field::Submit,
                _ => false,
            },
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
}

/// Site id → position in `sites`.
fn positions(sites: &[SiteSummary]) -> std::collections::HashMap<u64, usize> {
    sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.site_id, i))
        .collect()
}

/// A paste cut at a field's limit, for the status line.
fn cut_note(limit: usize) -> String {
    format!("Paste cut to {limit} characters, the most this field takes")
}

/// A name cut for a status message, so the message's point still fits
/// in 80 columns.
pub(in crate::tui) fn short(label: &str) -> String {
    crate::text::clip(label, 24)
}

/// "web · alice.example", or the CN alone, from store text.
pub(in crate::tui) fn row_label(name: &str, common_name: &str) -> String {
    super::screen::main::rows::label(&sanitize(name), &sanitize(common_name))
}

pub(in crate::tui) fn verb_ing(op: Op) -> &'static str {
    match op {
        Op::Revoke(_) => "Revoking",
        Op::Activate => "Activating",
        Op::Delete => "Deleting",
    }
}

pub(in crate::tui) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
