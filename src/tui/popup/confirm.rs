//! "Revoke this certificate?": names the certificate (Name/CN and Id),
//! says what will happen, and for a revoke offers the RFC 5280 reason.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{Popup, PopupState};
use crate::api::{Backend, Origin, Status};
use crate::error::EsaResult;
use crate::pki::RevocationReason;
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::app::App;
use crate::tui::app::{Screen, row_label, short};
use crate::tui::keys::Ctx;
use crate::tui::ui::text::{fit, kv_lines, wrap};
use crate::tui::worker::{Job, Op, Read};

/// A revoke/activate/delete waiting for "y".
#[derive(Debug, Clone)]
pub struct Confirm {
    pub op: Op,
    pub site: u64,
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
    /// The desk is the local store: it keeps a CRL and takes a revocation
    /// reason (a remote ESA endpoint does neither).
    pub local: bool,
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

impl App {
    /// Asks "y" for a revoke, activate or delete of `id`.
    pub(in crate::tui) fn ask(
        &mut self,
        cmd: Cmd,
        site: u64,
        id: &str,
        label: &str,
        status: Status,
    ) {
        let op = match cmd {
            Cmd::Revoke => Op::Revoke(None),
            Cmd::Activate => Op::Activate,
            _ => Op::Delete,
        };
        let ask = Confirm {
            op,
            site,
            id: id.to_owned(),
            label: label.to_owned(),
            status,
            reason: 0,
            revoked_for: None,
            successor: None,
            local: matches!(self.desk().origin(), Origin::Local { .. }),
        };
        if op == Op::Activate {
            // Re-activating: what it was revoked for, and whether a
            // successor took its place, read on a worker first.
            let text = format!("Reading {}…", short(label));
            self.read(Read::ActivateFacts(Box::new(ask)), text);
        } else {
            self.popup = Some(ask.into());
        }
    }
}

/// Fills in what an activate's confirmation says besides the row: why it
/// was revoked (GetClientCertificate) and its successor, if it was
/// renewed (one more Get; a successor that cannot be read is left out).
pub(in crate::tui) fn read_facts(desk: &dyn Backend, mut ask: Confirm) -> EsaResult<Confirm> {
    let g = desk.get(Some(ask.site), &ask.id)?;
    ask.revoked_for = g.result.revoke_reason.as_deref().map(sanitize);
    ask.successor = g.result.renewed_by.as_deref().and_then(|next| {
        let n = desk.get(Some(ask.site), next).ok()?.result;
        Some((row_label(&n.name, &n.common_name), n.status.to_string()))
    });
    Ok(ask)
}

impl PopupState for Confirm {
    fn ctx(&self) -> Ctx {
        Ctx::Confirm
    }

    fn applies(&self, cmd: Cmd) -> bool {
        match cmd {
            Cmd::Left | Cmd::Right => self.local && matches!(self.op, Op::Revoke(_)),
            _ => true,
        }
    }

    fn command(mut self: Box<Self>, app: &mut App, cmd: Cmd) -> Option<Popup> {
        match cmd {
            Cmd::Confirm => {
                let refresh =
                    matches!(&app.screen, Screen::Details(d) if d.get.result.id == self.id);
                app.start_job(Job::Change {
                    op: self.op(),
                    site: self.site,
                    id: self.id.clone(),
                    label: self.label.clone(),
                    refresh,
                });
                None
            }
            Cmd::Cancel => None,
            Cmd::Left | Cmd::Right if self.local && matches!(self.op, Op::Revoke(_)) => {
                let n = RevocationReason::ALL.len() + 1;
                self.reason = if cmd == Cmd::Right {
                    (self.reason + 1) % n
                } else {
                    (self.reason + n - 1) % n
                };
                Some(Popup::Confirm(self))
            }
            _ => Some(Popup::Confirm(self)),
        }
    }

    fn draw(&self, frame: &mut Frame, app: &App, body: Rect) {
        draw(frame, app, self, body);
    }
}

const KEY_W: usize = 10;

fn draw(frame: &mut Frame, app: &App, c: &Confirm, body: Rect) {
    let t = app.theme;
    let w: u16 = 70;
    let inner_w = usize::from(w.min(body.width).saturating_sub(2));
    let (question, consequence) = match (c.op, c.local) {
        (Op::Revoke(_), true) => (
            "Revoke this certificate?",
            "It goes on the site's CRL at once; it can be re-activated later.",
        ),
        (Op::Revoke(_), false) => (
            "Revoke this certificate?",
            "The endpoint stops trusting it at once; it can be re-activated later.",
        ),
        (Op::Activate, true) => (
            "Re-activate this certificate?",
            "It leaves the site's CRL and is trusted again.",
        ),
        (Op::Activate, false) => (
            "Re-activate this certificate?",
            "The endpoint trusts it again.",
        ),
        (Op::Delete, true) => (
            "Delete this certificate?",
            "It leaves the lists and its stored private key is destroyed; a revoked certificate stays on the CRL until it expires.",
        ),
        (Op::Delete, false) => (
            "Delete this certificate?",
            "It leaves the endpoint's lists, and a private key kept on this machine for it is destroyed.",
        ),
    };
    let mut lines = vec![Line::styled(question, t.label()), Line::raw("")];
    lines.extend(kv_lines("Name/CN", &c.label, KEY_W, inner_w, t.label()));
    lines.extend(kv_lines("Id", &c.id, KEY_W, inner_w, t.label()));
    lines.extend(kv_lines(
        "Status",
        c.status.as_str(),
        KEY_W,
        inner_w,
        t.label(),
    ));
    if c.local && matches!(c.op, Op::Revoke(_)) {
        let reason = match c.reason() {
            None => "none (no reason code)".to_string(),
            Some(r) => format!("{} ({})", r.as_str(), r.code()),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<KEY_W$}", "Reason"), t.label()),
            Span::raw(" "),
            Span::styled(
                fit(&format!("‹ {reason} ›"), inner_w - KEY_W - 1),
                t.marked(),
            ),
        ]));
    }
    if let Some(why) = &c.revoked_for {
        lines.extend(kv_lines("Revoked", why, KEY_W, inner_w, t.label()));
    }
    if c.compromised() {
        let why = c.revoked_for.as_deref().unwrap_or_default();
        lines.push(Line::raw(""));
        for l in wrap(
            &format!(
                "⚠ It was revoked for {why}: its key may be known to others; re-activate only if you are sure it is not."
            ),
            inner_w,
        ) {
            lines.push(Line::styled(l, t.error()));
        }
    }
    if let Some((label, status)) = &c.successor {
        let text = format!("⚠ Superseded: its successor {label} is {status}; both would be valid.");
        if !c.compromised() {
            lines.push(Line::raw(""));
        }
        for l in wrap(&text, inner_w) {
            lines.push(Line::styled(l, t.warn()));
        }
    }
    lines.push(Line::raw(""));
    for l in wrap(consequence, inner_w) {
        lines.push(Line::styled(l, t.dim()));
    }
    lines.push(Line::raw(""));
    lines.push(crate::tui::ui::popup_keys(app, inner_w));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = crate::tui::ui::popup_area(frame, body, w, h);
    let block = Block::bordered()
        .title(Line::styled(format!(" {} ", c.op.verb()), t.warn()))
        .border_style(t.warn());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
