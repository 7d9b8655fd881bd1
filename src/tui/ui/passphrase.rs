//! "CA passphrase": which site, why, and a masked field (two for a new
//! CA). What was typed is shown only as one `•` per character.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::text::{fit, pad, wrap};
use crate::service::PassphrasePurpose;
use crate::tui::app::App;
use crate::tui::passphrase::PassAsk;

const LABEL_W: usize = 12;

pub fn draw(frame: &mut Frame, app: &App, p: &PassAsk, body: Rect) {
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
    lines.push(super::popup_keys(app, inner_w));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = super::popup_area(frame, body, w, h);
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
