//! A message that must be read: an operation the service refused or an
//! error, with its ESA code.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{Popup, PopupState};
use crate::error::EsaError;
use crate::tui::action::Cmd;
use crate::tui::app::App;
use crate::tui::keys::Ctx;
use crate::tui::ui::text::wrap;

/// A modal message, for refusals and errors that need reading.
#[derive(Debug, Clone)]
pub struct Message {
    pub title: String,
    pub error: EsaError,
}

impl PopupState for Message {
    fn ctx(&self) -> Ctx {
        Ctx::Message
    }

    fn command(self: Box<Self>, _app: &mut App, cmd: Cmd) -> Option<Popup> {
        (cmd != Cmd::Back).then_some(Popup::Message(self))
    }

    fn draw(&self, frame: &mut Frame, app: &App, body: Rect) {
        draw(frame, app, self, body);
    }
}

fn draw(frame: &mut Frame, app: &App, m: &Message, body: Rect) {
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
    lines.push(crate::tui::ui::popup_keys(app, inner_w));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let area = crate::tui::ui::popup_area(frame, body, w, h);
    let block = Block::bordered()
        .title(Line::styled(format!(" {} ", m.title), t.error()))
        .border_style(t.error());
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
