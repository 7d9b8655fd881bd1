//! "Revoke this certificate?": names the certificate (Name/CN and Id),
//! says what will happen, and for a revoke offers the RFC 5280 reason.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::text::{fit, kv_lines, wrap};
use crate::tui::app::{App, Confirm};
use crate::tui::worker::Op;

const KEY_W: usize = 10;

pub fn draw(frame: &mut Frame, app: &App, c: &Confirm, body: Rect) {
    let t = app.theme;
    let w: u16 = 70;
    let inner_w = usize::from(w.min(body.width).saturating_sub(2));
    let (question, consequence) = match c.op {
        Op::Revoke(_) => (
            "Revoke this certificate?",
            "It goes on the site's CRL at once; it can be re-activated later.",
        ),
        Op::Activate => (
            "Re-activate this certificate?",
            "It leaves the site's CRL and is trusted again.",
        ),
        Op::Delete => (
            "Delete this certificate?",
            "It leaves the lists and its stored private key is destroyed; a revoked certificate stays on the CRL until it expires.",
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
    if matches!(c.op, Op::Revoke(_)) {
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
    lines.push(super::popup_keys(app, inner_w));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = super::popup_area(frame, body, w, h);
    let block = Block::bordered()
        .title(Line::styled(format!(" {} ", c.op.verb()), t.warn()))
        .border_style(t.warn());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
