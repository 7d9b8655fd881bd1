//! The help popup, generated from the key map (the same table as the hint
//! bar), plus the legend and how copies are made.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{Popup, PopupState};
use crate::api::EXPIRING_SOON_DAYS;
use crate::tui::action::Cmd;
use crate::tui::app::App;
use crate::tui::keys::Ctx;
use crate::tui::keys::{EDIT_KEYS, HELP_SECTIONS, help_rows};
use crate::tui::scroll::Scroll;
use crate::tui::ui::text::{pad, position, wrap};

/// The help popup: opened at the section for where the keyboard was.
#[derive(Debug, Default)]
pub struct HelpView {
    pub scroll: Scroll,
    /// The section (index into `keys::HELP_SECTIONS`) to show first; the
    /// renderer, which knows where it starts, scrolls there once.
    pub section: std::cell::Cell<Option<usize>>,
}

impl HelpView {
    /// Opened where the keyboard was: at the section of `ctx`.
    pub fn at(ctx: Ctx) -> HelpView {
        let section = HELP_SECTIONS
            .iter()
            .position(|(_, ctxs)| ctxs.contains(&ctx));
        HelpView {
            scroll: Scroll::default(),
            section: std::cell::Cell::new(section),
        }
    }
}

impl PopupState for HelpView {
    fn ctx(&self) -> Ctx {
        Ctx::Help
    }

    fn command(self: Box<Self>, _app: &mut App, cmd: Cmd) -> Option<Popup> {
        if cmd == Cmd::Back {
            return None;
        }
        self.scroll.command(cmd);
        Some(Popup::Help(self))
    }

    fn draw(&self, frame: &mut Frame, app: &App, body: Rect) {
        draw(frame, app, self, body);
    }
}

const KEYS_W: usize = 16;

/// The help's lines, and the first line of each of `HELP_SECTIONS`.
fn lines(app: &App, w: usize) -> (Vec<Line<'static>>, Vec<usize>) {
    let t = app.theme;
    let mut out = Vec::new();
    let mut starts = Vec::new();
    let row = |out: &mut Vec<Line<'static>>, keys: &str, text: &str| {
        for (i, part) in wrap(text, w.saturating_sub(KEYS_W + 1))
            .into_iter()
            .enumerate()
        {
            let k = if i == 0 {
                pad(keys, KEYS_W)
            } else {
                " ".repeat(KEYS_W)
            };
            out.push(Line::from(vec![
                Span::styled(k, t.key()),
                Span::raw(" "),
                Span::raw(part),
            ]));
        }
    };
    for (title, ctxs) in HELP_SECTIONS {
        starts.push(out.len());
        out.push(Line::styled(title.to_string(), t.header()));
        for (keys, text) in help_rows(ctxs) {
            row(&mut out, &keys, text);
        }
        out.push(Line::raw(""));
    }
    out.push(Line::styled(crate::tui::keys::EDIT_TITLE, t.header()));
    for (keys, text) in EDIT_KEYS {
        row(&mut out, keys, text);
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Table marks", t.header()));
    row(
        &mut out,
        "!12d",
        &format!("Active and expires within {EXPIRING_SOON_DAYS} days (Left column)"),
    );
    row(&mut out, "-3d", "Expired that many days ago");
    row(&mut out, "—", "Revoked: not valid, whatever its dates say");
    row(
        &mut out,
        crate::tui::screen::main::view::RENEWED_MARK.trim_end(),
        "Renewed: a successor exists (no ! warning any more)",
    );
    row(&mut out, "›", "The selected row or site");
    out.push(Line::raw(""));
    out.push(Line::styled("Clipboard", t.header()));
    for l in wrap(&app.clipboard_info, w) {
        out.push(Line::raw(l));
    }
    (out, starts)
}

fn draw(frame: &mut Frame, app: &App, view: &HelpView, body: Rect) {
    let t = app.theme;
    let scroll = &view.scroll;
    let area = crate::tui::ui::popup_area(frame, body, 84, body.height);
    let outer = Block::bordered().border_style(t.border(true));
    let inner = outer.inner(area);
    let (all, starts) = lines(app, usize::from(inner.width));
    if let Some(start) = view.section.take().and_then(|i| starts.get(i)) {
        scroll.to(*start);
    }
    let h = usize::from(inner.height);
    let first = scroll.clamp(all.len(), h);
    let block = outer
        .title(Line::styled(" Keys ", t.label()))
        .title_top(Line::styled(position(first, h, all.len()), t.dim()).right_aligned());
    frame.render_widget(block, area);
    let shown: Vec<Line> = all.into_iter().skip(first).take(h).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}
