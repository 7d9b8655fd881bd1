//! "Desk" (`B`): which backend the desk drives — the local store or one of
//! the config's `[[remote]]` endpoints (a team's `esa-certs serve`, or
//! Alibaba Cloud ESA). Choosing one restarts the screens on it; the jobs
//! still running on the old one are let finish and their results dropped.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{Popup, PopupState};
use crate::error::EsaError;
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::app::{App, Effect};
use crate::tui::keys::Ctx;
use crate::tui::ui::text::{fit, wrap};

#[derive(Debug)]
pub struct DesksView {
    /// `None`: the local store; else a remote by its config name.
    pub entries: Vec<Option<String>>,
    /// The one the desk drives now.
    pub current: usize,
    pub sel: usize,
}

impl App {
    /// `B`: the desks to choose from.
    pub(in crate::tui) fn open_desks(&mut self) {
        if self.remotes.is_empty() {
            self.warn(
                "No [[remote]] in the config: add one to drive a team's esa-certs serve or Alibaba Cloud ESA"
                    .into(),
            );
            return;
        }
        let entries: Vec<Option<String>> = std::iter::once(None)
            .chain(self.remotes.iter().cloned().map(Some))
            .collect();
        let now = self.remote_name();
        let current = entries.iter().position(|e| *e == now).unwrap_or(0);
        self.popup = Some(
            DesksView {
                entries,
                current,
                sel: current,
            }
            .into(),
        );
    }

    /// The runtime could not open the chosen desk: the current one stays.
    pub fn switch_failed(&mut self, e: EsaError) {
        self.fail("Cannot open that desk", e);
    }
}

fn label(e: &Option<String>) -> String {
    match e {
        None => "local store".into(),
        Some(n) => format!("remote {}", sanitize(n)),
    }
}

impl PopupState for DesksView {
    fn ctx(&self) -> Ctx {
        Ctx::Desks
    }

    fn command(mut self: Box<Self>, app: &mut App, cmd: Cmd) -> Option<Popup> {
        let n = self.entries.len();
        match cmd {
            Cmd::Cancel | Cmd::Back => return None,
            Cmd::Up => self.sel = (self.sel + n - 1) % n,
            Cmd::Down => self.sel = (self.sel + 1) % n,
            Cmd::Confirm => {
                if self.sel != self.current {
                    let chosen = self.entries[self.sel].clone();
                    app.info(format!("Opening the {}…", label(&chosen)));
                    app.outbox.push(Effect::Switch(chosen));
                }
                return None;
            }
            _ => {}
        }
        Some(Popup::Desks(self))
    }

    fn draw(&self, frame: &mut Frame, app: &App, body: Rect) {
        let t = app.theme;
        let w: u16 = 60;
        let inner_w = usize::from(w.min(body.width).saturating_sub(2));
        let mut lines = Vec::new();
        for l in wrap(
            "The desk drives one backend at a time; the others are untouched.",
            inner_w,
        ) {
            lines.push(Line::styled(l, t.dim()));
        }
        lines.push(Line::raw(""));
        for (i, e) in self.entries.iter().enumerate() {
            let mark = if i == self.sel { "› " } else { "  " };
            let now = if i == self.current { "  (now)" } else { "" };
            let text = fit(&format!("{mark}{}{now}", label(e)), inner_w);
            let style = if i == self.sel {
                t.selected()
            } else {
                t.label()
            };
            lines.push(Line::from(Span::styled(text, style)));
        }
        lines.push(Line::raw(""));
        lines.push(crate::tui::ui::popup_keys(app, inner_w));
        let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
        let area = crate::tui::ui::popup_area(frame, body, w, h);
        let block = Block::bordered()
            .title(Line::styled(" Desk ", t.label()))
            .border_style(t.border(true));
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}
