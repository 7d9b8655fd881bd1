//! The renew popup's state: which certificate, the validity of its
//! successor (default: the old one's) and whether to revoke the old one
//! (default: no, as `esa-certs renew` without `--revoke-old`). The days are
//! checked as typed with the service's own rule, so the popup cannot accept
//! what the service would refuse for that reason. It is not opened for a
//! certificate the service will not renew (revoked, or renewed already:
//! the app says why in the status line); other refusals (quota, a race
//! with another process) come from the service itself.
//!
//! "Renew this certificate?": names the certificate, offers the validity
//! of the successor and the choice to revoke the old one, and says in
//! words which will happen.

use super::{Popup, PopupState};
use crate::api::InputRules;
use crate::api::{CertSummary, Status};
use crate::error::EsaError;
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::app::App;
use crate::tui::input::{Edit, TextInput};
use crate::tui::keys::Ctx;
use crate::tui::screen::issue_form::refused_pem;
use crate::tui::screen::issue_form::{DAYS_MAX_CHARS, PRESETS};
use crate::tui::screen::main::rows::CertRow;
use crate::tui::ui::text::{fit, kv_lines, pad, wrap};
use crate::tui::worker::{Job, RenewJob};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewField {
    Days,
    RevokeOld,
}

#[derive(Debug, Clone)]
pub struct RenewAsk {
    pub id: String,
    /// Name/CommonName as the table shows it (sanitised).
    pub label: String,
    pub status: Status,
    /// The old certificate's NotAfter (sanitised), for "stays valid until".
    pub not_after: String,
    /// The old certificate's ValidityDays (0: unknown).
    pub old_days: u32,
    /// Its key type, e.g. `ECC_256` (sanitised).
    pub key_type: String,
    /// Issued for a CSR: the successor keeps the public key.
    pub from_csr: bool,
    pub days: TextInput,
    pub revoke_old: bool,
    pub focus: RenewField,
    /// What the service says about the typed days.
    pub days_error: Option<EsaError>,
}

impl RenewAsk {
    fn new(id: &str, label: &str, status: Status, not_after: &str, old_days: u32) -> RenewAsk {
        let days = if old_days == 0 {
            String::new()
        } else {
            old_days.to_string()
        };
        RenewAsk {
            id: id.to_owned(),
            label: label.to_owned(),
            status,
            not_after: sanitize(not_after),
            old_days,
            key_type: String::new(),
            from_csr: false,
            days: TextInput::limited(&days, DAYS_MAX_CHARS),
            revoke_old: false,
            focus: RenewField::Days,
            days_error: None,
        }
    }

    /// From a row of the table.
    pub fn from_row(r: &CertRow) -> RenewAsk {
        RenewAsk {
            key_type: r.key_type.clone(),
            from_csr: r.from_csr,
            ..RenewAsk::new(&r.id, &r.label(), r.status, &r.not_after, r.validity_days)
        }
    }

    /// From the details of a certificate.
    pub fn from_summary(s: &CertSummary, label: &str) -> RenewAsk {
        let status = s.status;
        let days = s.validity_days.parse().unwrap_or(0);
        RenewAsk {
            key_type: sanitize(&s.pkey_type),
            from_csr: s.kind == "csr",
            ..RenewAsk::new(&s.id, label, status, &s.not_after, days)
        }
    }

    /// The days to ask for: `None` keeps the old certificate's validity.
    /// Errors as the service words them.
    pub fn days(&self, rules: &InputRules) -> Result<Option<u32>, EsaError> {
        let d = rules.validity_days(Some(self.days.value()))?;
        Ok((d != self.old_days).then_some(d))
    }

    pub fn text_focus(&self) -> bool {
        self.focus == RenewField::Days
    }

    pub fn focus_step(&mut self) {
        self.focus = match self.focus {
            RenewField::Days => RenewField::RevokeOld,
            RenewField::RevokeOld => RenewField::Days,
        };
    }

    /// ←/→/Space: a ValidityDays preset (the old validity among them), or
    /// the switch.
    pub fn cycle(&mut self, forward: bool, rules: &InputRules) {
        match self.focus {
            RenewField::RevokeOld => self.revoke_old = !self.revoke_old,
            RenewField::Days => {
                let mut choices: Vec<u32> = PRESETS.to_vec();
                if self.old_days > 0 && !choices.contains(&self.old_days) {
                    choices.push(self.old_days);
                    choices.sort_unstable();
                }
                let now: Option<u32> = self.days.value().trim().parse().ok();
                let next = match (now, forward) {
                    (Some(d), true) => choices.iter().find(|p| **p > d),
                    (Some(d), false) => choices.iter().rev().find(|p| **p < d),
                    (None, _) => choices.iter().find(|p| **p == self.old_days.max(1)),
                };
                if let Some(p) = next {
                    self.days.set(&p.to_string());
                }
                self.revalidate(rules);
            }
        }
    }

    pub fn edit(&mut self, e: Edit, rules: &InputRules) {
        let non_digit = matches!(e, Edit::Char(c) if !c.is_ascii_digit());
        if self.focus == RenewField::Days && !non_digit && self.days.apply(e) {
            self.revalidate(rules);
        }
    }

    pub fn paste(&mut self, text: &str, rules: &InputRules) {
        if self.focus == RenewField::Days {
            self.days
                .insert_str(&crate::tui::screen::issue_form::digits(text));
            self.revalidate(rules);
        }
    }

    fn revalidate(&mut self, rules: &InputRules) {
        self.days_error = self.days(rules).err();
    }
}

// ---- drawing ---------------------------------------------------------------

const KEY_W: usize = 14;
/// The ValidityDays box: every character the field takes, and the cursor.
const DAYS_W: usize = crate::tui::screen::issue_form::DAYS_MAX_CHARS + 1;

impl PopupState for RenewAsk {
    fn ctx(&self) -> Ctx {
        Ctx::Renew
    }

    fn text_focus(&self) -> bool {
        RenewAsk::text_focus(self)
    }

    fn digits_focus(&self) -> bool {
        RenewAsk::text_focus(self)
    }

    fn command(mut self: Box<Self>, app: &mut App, cmd: Cmd) -> Option<Popup> {
        match cmd {
            Cmd::Cancel => {
                app.info("Renewal cancelled; nothing was issued".into());
                return None;
            }
            Cmd::Confirm => match self.days(&app.rules) {
                Ok(days) => {
                    app.start_job(Job::Renew(RenewJob {
                        id: self.id.clone(),
                        label: self.label.clone(),
                        not_after: self.not_after.clone(),
                        days,
                        revoke_old: self.revoke_old,
                    }));
                    return None;
                }
                Err(e) => {
                    self.days_error = Some(e);
                    self.focus = RenewField::Days;
                }
            },
            Cmd::FocusNext | Cmd::FocusPrev => self.focus_step(),
            Cmd::Left => self.cycle(false, &app.rules),
            Cmd::Right | Cmd::Toggle => self.cycle(true, &app.rules),
            _ => {}
        }
        Some(Popup::Renew(self))
    }

    fn edit(&mut self, e: Edit, rules: &InputRules) {
        RenewAsk::edit(self, e, rules);
    }

    fn paste(&mut self, text: &str, rules: &InputRules) -> Option<String> {
        let refused = refused_pem(text);
        if refused.is_none() {
            RenewAsk::paste(self, text, rules);
        }
        refused
    }

    fn draw(&self, frame: &mut Frame, app: &App, body: Rect) {
        draw(frame, app, self, body);
    }
}

fn draw(frame: &mut Frame, app: &App, r: &RenewAsk, body: Rect) {
    let t = app.theme;
    let w: u16 = 72;
    let inner_w = usize::from(w.min(body.width).saturating_sub(2));
    let mut lines = vec![
        Line::styled("Renew this certificate?", t.label()),
        Line::raw(""),
    ];
    lines.extend(kv_lines("Name/CN", &r.label, KEY_W, inner_w, t.label()));
    lines.extend(kv_lines("Id", &r.id, KEY_W, inner_w, t.label()));
    let status = format!("{} · NotAfter {}", r.status.as_str(), r.not_after);
    lines.extend(kv_lines("Status", &status, KEY_W, inner_w, t.label()));
    lines.push(Line::raw(""));

    // The two settings, the focused one marked like the form's fields.
    let label = |f: RenewField, text: &str| {
        let focused = r.focus == f;
        let style = if focused { t.selected() } else { t.label() };
        Span::styled(
            pad(
                &format!("{} {text}", if focused { "›" } else { " " }),
                KEY_W,
            ),
            style,
        )
    };
    let (shown, cx) = r.days.window(u16::try_from(DAYS_W).unwrap_or(1));
    let days_note = if r.old_days > 0 {
        format!("←/→ presets · the old one had {}", r.old_days)
    } else {
        "←/→ presets".to_string()
    };
    let days_y = lines.len();
    lines.push(Line::from(vec![
        label(RenewField::Days, "ValidityDays"),
        Span::raw(" "),
        Span::styled(
            pad(&crate::text::sanitize(&shown), DAYS_W),
            Style::new().add_modifier(Modifier::UNDERLINED),
        ),
        Span::styled(
            format!(
                "  {}",
                fit(&days_note, inner_w.saturating_sub(KEY_W + DAYS_W + 3))
            ),
            t.dim(),
        ),
    ]));
    if let Some(e) = &r.days_error {
        let text = format!("✗ {}: {}", e.code, crate::text::sanitize(&e.message));
        for l in wrap(&text, inner_w.saturating_sub(KEY_W + 1).max(10)) {
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(KEY_W + 1)),
                Span::styled(l, t.error()),
            ]));
        }
    }
    let switch = if r.revoke_old {
        "‹ yes: revoke it now ›"
    } else {
        "‹ no: it stays valid ›"
    };
    lines.push(Line::from(vec![
        label(RenewField::RevokeOld, "Revoke old"),
        Span::raw(" "),
        Span::styled(switch, t.marked()),
    ]));
    lines.push(Line::raw(""));

    // What will happen, in words.
    let key = if r.from_csr {
        "the same public key (it was issued for a CSR)".to_string()
    } else if r.key_type.is_empty() {
        "a new key pair of the same type".to_string()
    } else {
        format!("a new {} key pair", r.key_type)
    };
    let mut what = vec![format!(
        "A successor is issued for the same site, subject and Name, with {key}."
    )];
    what.push(match (r.revoke_old, r.status) {
        (true, Status::Active) => {
            "The old certificate is REVOKED at once (reason superseded) and goes on the site's CRL."
                .to_string()
        }
        (_, Status::Expired) => "The old certificate has expired; it stays as it is.".to_string(),
        _ => format!(
            "The old certificate STAYS VALID until {}: both work until you revoke it.",
            r.not_after
        ),
    });
    for (i, para) in what.iter().enumerate() {
        let style = if i == 1 && r.revoke_old && r.status == Status::Active {
            t.warn()
        } else {
            t.dim()
        };
        for l in wrap(para, inner_w) {
            lines.push(Line::styled(l, style));
        }
    }
    lines.push(Line::raw(""));
    lines.push(crate::tui::ui::popup_keys(app, inner_w));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = crate::tui::ui::popup_area(frame, body, w, h);
    let block = Block::bordered()
        .title(Line::styled(" Renew ", t.label()))
        .border_style(t.border(true));
    let inner = block.inner(area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
    if r.focus == RenewField::Days && days_y < usize::from(inner.height) {
        let x = inner.x + u16::try_from(KEY_W + 1).unwrap_or(0) + cx;
        let y = inner.y + u16::try_from(days_y).unwrap_or(0);
        if x < inner.right() {
            frame.set_cursor_position((x, y));
        }
    }
}
