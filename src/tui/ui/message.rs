//! A message that must be read: an operation the service refused or an
//! error, with its ESA code.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::text::wrap;
use crate::tui::app::{App, Message};

pub fn draw(frame: &mut Frame, app: &App, m: &Message, body: Rect) {
    let t = app.theme;
    let w: u16 = 70;
    let inner_w = usize::from(w.min(body.width).saturating_sub(2));
    let mut lines = vec![
        Line::styled(m.error.code.to_string(), t.error()),
        Line::raw(""),
    ];
    for l in wrap(&crate::text::sanitize(&m.error.message), inner_w) {
        lines.push(Line::raw(l));
    }
    lines.push(Line::raw(""));
    lines.push(super::popup_keys(app, inner_w));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = super::popup_area(frame, body, w, h);
    let block = Block::bordered()
        .title(Line::styled(format!(" {} ", m.title), t.error()))
        .border_style(t.error());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
