//! The CA passphrase popup (`[ca] protect_key = true`): asked before an
//! operation that signs for a site whose CA key is encrypted (issue,
//! renew, revoke, activate, delete: the last three sign the CRL), and
//! again when the service refused the passphrase it had. The operation
//! waits in the popup and starts once a passphrase is given; `Esc` drops
//! it and nothing changes.
//!
//! What is typed lives in zeroizing buffers, is drawn as one `•` per
//! character and is never copied anywhere but into the service.
//!
//! "CA passphrase": which site, why, and a masked field (two for a new
//! CA). What was typed is shown only as one `•` per character.

use super::{Popup, PopupState};
use crate::api::InputRules;
use crate::api::Secret;
use crate::base::limits::MAX_PASSPHRASE_CHARS;
use crate::error::EsaError;
use crate::service::{PassphrasePurpose, check_ca_passphrase};
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::app::App;
use crate::tui::app::NoteKind;
use crate::tui::app::Screen;
use crate::tui::input::Edit;
use crate::tui::keys::Ctx;
use crate::tui::ui::text::{fit, pad, wrap};
use crate::tui::worker::Job;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use zeroize::{Zeroize, Zeroizing};

pub struct PassAsk {
    pub site_id: u64,
    /// Sanitised site name.
    pub site_name: String,
    /// `New`: the site has no CA yet and its key will be encrypted with
    /// this passphrase (typed twice).
    pub purpose: PassphrasePurpose,
    first: Zeroizing<String>,
    second: Zeroizing<String>,
    /// The focus is on the repeat field (`New` only).
    pub on_second: bool,
    /// Why the popup is (again) open: a refused passphrase, a mismatch.
    pub error: Option<String>,
    /// What runs once the passphrase is set.
    pub job: Job,
}

impl std::fmt::Debug for PassAsk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassAsk")
            .field("site_id", &self.site_id)
            .field("purpose", &self.purpose)
            .field("typed", &"[redacted]")
            .field("error", &self.error)
            .field("job", &self.job)
            .finish()
    }
}

impl PassAsk {
    pub fn new(site_id: u64, site_name: &str, purpose: PassphrasePurpose, job: Job) -> PassAsk {
        PassAsk {
            site_id,
            site_name: site_name.to_owned(),
            purpose,
            first: Zeroizing::new(String::new()),
            second: Zeroizing::new(String::new()),
            on_second: false,
            error: None,
            job,
        }
    }

    /// Characters typed in each field (what the popup draws as dots).
    pub fn lengths(&self) -> (usize, usize) {
        (self.first.chars().count(), self.second.chars().count())
    }

    fn field(&mut self) -> &mut Zeroizing<String> {
        if self.on_second {
            &mut self.second
        } else {
            &mut self.first
        }
    }

    /// Typing: characters are appended, Backspace takes the last one,
    /// Ctrl-U / Ctrl-W empty the field. The cursor stays at the end.
    pub fn edit(&mut self, e: Edit) {
        let field = self.field();
        match e {
            Edit::Char(c) => push_bounded(field, std::iter::once(c)),
            Edit::Backspace => {
                field.pop();
            }
            Edit::Clear | Edit::DeleteWord => field.clear(),
            _ => {}
        }
    }

    /// A paste: one line (a trailing newline, as a password manager
    /// copies it, is dropped; other control characters are refused when
    /// submitting).
    pub fn paste(&mut self, text: &str) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        push_bounded(self.field(), text.chars());
    }

    pub fn focus_step(&mut self) {
        if self.purpose == PassphrasePurpose::New {
            self.on_second = !self.on_second;
        }
    }

    /// The passphrase to hand to the service, or why not (the message
    /// never quotes what was typed).
    pub fn take(&mut self) -> Result<Secret, String> {
        if let Err(e) = check_ca_passphrase(&self.first) {
            self.on_second = false;
            return Err(e.message);
        }
        if self.purpose == PassphrasePurpose::New {
            if !self.on_second && self.second.is_empty() {
                self.on_second = true;
                return Err("type it again to confirm".into());
            }
            if *self.first != *self.second {
                self.second.clear();
                self.on_second = true;
                return Err("the two passphrases differ; type it again".into());
            }
        }
        Ok(Secret(Zeroizing::new(self.first.to_string())))
    }
}

/// Appends up to one character past the longest passphrase (so that
/// submitting says it is too long), however much is pasted.
fn push_bounded(field: &mut String, chars: impl Iterator<Item = char>) {
    let room = (MAX_PASSPHRASE_CHARS + 1).saturating_sub(field.chars().count());
    // Grows by hand: a reallocation by `push` would leave the old buffer
    // behind unwiped.
    for c in chars.take(room) {
        if field.len() + c.len_utf8() > field.capacity() {
            let mut bigger = String::with_capacity((field.capacity() * 2).max(64));
            bigger.push_str(field);
            field.zeroize();
            *field = bigger;
        }
        field.push(c);
    }
}

// ---- drawing ---------------------------------------------------------------

const LABEL_W: usize = 12;

impl App {
    /// Starts a job that signs for a site (issue, renew, or a status
    /// change, which signs the CRL), asking for the CA passphrase first
    /// when the site needs one the service does not have.
    ///
    /// These questions are asked here, on the UI thread, and not on a
    /// worker: only the local store answers them from its files (a quick
    /// look at the CA key); a remote keeps `Backend`'s default bodies,
    /// which answer at once without a request (`set_ca_passphrase` too:
    /// a remote refuses it at once). The renewal's `get` in
    /// [`App::job_site`] is local only too: a remote desk refuses `R`
    /// before any job is made (`App::refusal`).
    pub(in crate::tui) fn start_job(&mut self, job: Job) {
        match self.job_site(&job) {
            Some(site) if self.desk().needs_ca_passphrase(site).unwrap_or(false) => {
                self.ask_passphrase(site, job, None);
            }
            _ => self.launch(job),
        }
    }

    /// The site a job signs for.
    fn job_site(&self, job: &Job) -> Option<u64> {
        match job {
            Job::Issue(v) => Some(v.site),
            Job::Change { site, .. } => Some(*site),
            Job::Renew(j) => self.desk().get(None, &j.id).ok().map(|g| g.site_id),
            Job::Load { .. } | Job::Read { .. } | Job::Poll => None,
        }
    }

    fn ask_passphrase(&mut self, site: u64, job: Job, error: Option<String>) {
        // No CA yet (or an unreadable key file): the key is made now and
        // encrypted with what is typed, so it is typed twice.
        let purpose = match self.desk().ca_key_protected(site) {
            Ok(false) => PassphrasePurpose::New,
            _ => PassphrasePurpose::Unlock,
        };
        let name = self
            .sites
            .iter()
            .find(|s| s.site_id == site)
            .map(|s| sanitize(&s.site_name))
            .unwrap_or_default();
        let mut ask = PassAsk::new(site, &name, purpose, job);
        ask.error = error;
        self.popup = Some(ask.into());
    }

    /// A job came back: the passphrase the service had does not open the
    /// key, or there was none. Nothing changed; ask and run it again.
    pub(in crate::tui) fn needs_passphrase(&mut self, job: Job, error: EsaError) {
        self.busy = None;
        if let Screen::Form(f) = &mut self.screen {
            f.submitting = None;
        }
        match self.job_site(&job) {
            Some(site) => {
                self.set_note(
                    NoteKind::Warning,
                    format!("[{}] {}", error.code, sanitize(&error.message)),
                );
                self.ask_passphrase(site, job, Some(sanitize(&error.message)));
            }
            None => self.fail("Cannot open the CA key", error),
        }
    }
}

impl PopupState for PassAsk {
    fn ctx(&self) -> Ctx {
        Ctx::Passphrase
    }

    fn text_focus(&self) -> bool {
        true
    }

    /// Tab moves between the two fields of a new passphrase only.
    fn applies(&self, cmd: Cmd) -> bool {
        match cmd {
            Cmd::FocusNext | Cmd::FocusPrev => self.purpose == PassphrasePurpose::New,
            _ => true,
        }
    }

    fn command(mut self: Box<Self>, app: &mut App, cmd: Cmd) -> Option<Popup> {
        match cmd {
            Cmd::Cancel => {
                app.info("No CA passphrase given; nothing was changed".into());
                None
            }
            Cmd::FocusNext | Cmd::FocusPrev => {
                self.focus_step();
                Some(Popup::Passphrase(self))
            }
            Cmd::Confirm => {
                let set = self
                    .take()
                    .and_then(|s| app.desk().set_ca_passphrase(s).map_err(|e| e.message));
                match set {
                    Ok(()) => {
                        app.info("CA passphrase kept in memory (zeroized) until you quit".into());
                        let PassAsk { job, .. } = *self;
                        app.launch(job);
                        None
                    }
                    Err(msg) => {
                        self.error = Some(msg);
                        Some(Popup::Passphrase(self))
                    }
                }
            }
            _ => Some(Popup::Passphrase(self)),
        }
    }

    fn edit(&mut self, e: Edit, _rules: &InputRules) {
        PassAsk::edit(self, e);
    }

    /// Everything pasted goes into the field (a passphrase may look like
    /// anything).
    fn paste(&mut self, text: &str, _rules: &InputRules) -> Option<String> {
        PassAsk::paste(self, text);
        None
    }

    fn draw(&self, frame: &mut Frame, app: &App, body: Rect) {
        draw(frame, app, self, body);
    }
}

fn draw(frame: &mut Frame, app: &App, p: &PassAsk, body: Rect) {
    let t = app.theme;
    let w: u16 = 64;
    let inner_w = usize::from(w.min(body.width).saturating_sub(2));
    let site = format!("{} ({})", p.site_name, p.site_id);
    let why = match p.purpose {
        PassphrasePurpose::Unlock => format!(
            "The CA key of site {site} is encrypted at rest. Its passphrase opens it for this operation."
        ),
        PassphrasePurpose::New => format!(
            "Site {site} gets its CA now, with the key encrypted by this passphrase. Without it nothing can be issued or revoked for the site: keep it safe."
        ),
    };
    let mut lines: Vec<Line> = wrap(&why, inner_w)
        .into_iter()
        .map(|l| Line::styled(l, t.dim()))
        .collect();
    lines.push(Line::raw(""));
    let (first, second) = p.lengths();
    let field_w = inner_w.saturating_sub(LABEL_W + 2).max(1);
    let mut field = |label: &str, n: usize, focused: bool| {
        let style = if focused { t.selected() } else { t.label() };
        let dots = fit(&"•".repeat(n), field_w.saturating_sub(1));
        let y = lines.len();
        lines.push(Line::from(vec![
            Span::styled(
                pad(
                    &format!("{} {label}", if focused { "›" } else { " " }),
                    LABEL_W,
                ),
                style,
            ),
            Span::raw(" "),
            Span::styled(
                pad(&dots, field_w),
                Style::new().add_modifier(Modifier::UNDERLINED),
            ),
        ]));
        (y, dots.chars().count())
    };
    let mut cursor = field("Passphrase", first, !p.on_second);
    if p.purpose == PassphrasePurpose::New {
        let again = field("Again", second, p.on_second);
        if p.on_second {
            cursor = again;
        }
    }
    if let Some(e) = &p.error {
        lines.push(Line::raw(""));
        for l in wrap(&format!("✗ {e}"), inner_w) {
            lines.push(Line::styled(l, t.error()));
        }
    }
    lines.push(Line::raw(""));
    lines.push(crate::tui::ui::popup_keys(app, inner_w));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = crate::tui::ui::popup_area(frame, body, w, h);
    let block = Block::bordered()
        .title(Line::styled(" CA passphrase ", t.label()))
        .border_style(t.border(true));
    let inner = block.inner(area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
    let (y, x) = cursor;
    if y < usize::from(inner.height) {
        let x = inner.x + u16::try_from(LABEL_W + 1 + x).unwrap_or(u16::MAX);
        let y = inner.y + u16::try_from(y).unwrap_or(0);
        if x < inner.right() {
            frame.set_cursor_position((x, y));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(purpose: PassphrasePurpose) -> PassAsk {
        PassAsk::new(1, "example.com", purpose, Job::load_all())
    }

    fn typ(a: &mut PassAsk, s: &str) {
        for c in s.chars() {
            a.edit(Edit::Char(c));
        }
    }

    #[test]
    fn unlock_needs_one_nonempty_line() {
        let mut a = ask(PassphrasePurpose::Unlock);
        assert!(a.take().unwrap_err().contains("empty"));
        typ(&mut a, "correct horsE");
        a.edit(Edit::Backspace);
        a.focus_step(); // one field: stays
        assert!(!a.on_second);
        assert_eq!(a.take().unwrap().expose(), "correct hors");
        a.edit(Edit::Clear);
        a.paste("from a manager\n");
        assert_eq!(a.take().unwrap().expose(), "from a manager");
        a.edit(Edit::Clear);
        a.paste("two\nlines");
        let e = a.take().unwrap_err();
        assert!(
            e.contains("control characters") && !e.contains("two"),
            "{e}"
        );
        a.edit(Edit::Clear);
        a.paste(&"x".repeat(1 << 20));
        assert_eq!(a.lengths().0, MAX_PASSPHRASE_CHARS + 1);
        assert!(a.take().unwrap_err().contains("longer"));
    }

    #[test]
    fn a_new_passphrase_is_typed_twice() {
        let mut a = ask(PassphrasePurpose::New);
        typ(&mut a, "s3cret-one");
        assert!(a.take().unwrap_err().contains("again"));
        assert!(a.on_second);
        typ(&mut a, "s3cret-two");
        let e = a.take().unwrap_err();
        assert!(e.contains("differ") && !e.contains("s3cret"), "{e}");
        assert_eq!(a.lengths(), (10, 0));
        typ(&mut a, "s3cret-one");
        assert_eq!(a.take().unwrap().expose(), "s3cret-one");
    }

    #[test]
    fn debug_does_not_show_what_was_typed() {
        let mut a = ask(PassphrasePurpose::Unlock);
        typ(&mut a, "hunter2");
        let d = format!("{a:?}");
        assert!(!d.contains("hunter2"), "{d}");
    }
}
