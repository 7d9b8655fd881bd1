//! "Renew this certificate?": names the certificate, offers the validity
//! of the successor and the choice to revoke the old one, and says in
//! words which will happen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::text::{fit, kv_lines, pad, wrap};
use crate::service::Status;
use crate::tui::app::App;
use crate::tui::renew::{RenewAsk, RenewField};

const KEY_W: usize = 14;
/// The ValidityDays box: every character the field takes, and the cursor.
const DAYS_W: usize = crate::tui::form::DAYS_MAX_CHARS + 1;

pub fn draw(frame: &mut Frame, app: &App, r: &RenewAsk, body: Rect) {
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
    lines.push(super::popup_keys(app, inner_w));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = super::popup_area(frame, body, w, h);
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
