//! Drawing: pure functions of the app state (`&App`), one file per screen
//! or popup. Every screen shares the frame drawn here: a title line, the
//! body, a status line and the bar of keys that work in the current
//! context (generated from the key map, like the help popup).

pub mod text;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::app::{App, NoteKind, Screen};
use super::keys;
use super::theme::Theme;

pub use super::screen::config_error::draw as draw_config_error;
use text::{fit, width};

/// Below this the app draws one line asking for a bigger terminal.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn spinner(app: &App) -> &'static str {
    SPINNER[app.spinner % SPINNER.len()]
}

/// Draws the whole screen. Never panics, whatever the size.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        draw_too_small(frame, app.theme, area);
        return;
    }
    let [title, body, status, hints] = rows(area);
    draw_title(frame, app, title);
    match &app.screen {
        Screen::Main => crate::tui::screen::main::view::draw(frame, app, body),
        Screen::Form(f) => crate::tui::screen::issue_form::view::draw(frame, app, f, body),
        Screen::Result(r) => crate::tui::screen::result::draw(frame, app, r, body),
        Screen::Details(d) => crate::tui::screen::details::draw(frame, app, d, body),
    }
    if let Some(p) = &app.popup {
        p.draw(frame, app, body);
    }
    draw_status(frame, app, status);
    draw_hints(frame, app, hints);
}

/// "Terminal too small", wrapped onto as many lines as the terminal has;
/// a shorter text when even that does not fit.
fn draw_too_small(frame: &mut Frame, t: Theme, area: Rect) {
    let (w, h) = (area.width, area.height);
    let long = format!("Terminal too small: {w}×{h}, need {MIN_WIDTH}×{MIN_HEIGHT}");
    let short = format!("{w}×{h} < {MIN_WIDTH}×{MIN_HEIGHT}");
    let cols = usize::from(w);
    let lines = [long, short]
        .iter()
        .map(|m| text::wrap(m, cols))
        .find(|l| l.len() <= usize::from(h))
        .unwrap_or_else(|| vec![fit(&format!("{MIN_WIDTH}×{MIN_HEIGHT}"), cols)]);
    let lines: Vec<Line> = lines
        .into_iter()
        .map(|l| Line::styled(l, t.warn()))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_title(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let screen = match &app.screen {
        Screen::Main => "Client certificates",
        Screen::Form(_) => "New client certificate",
        Screen::Result(r) if r.renewal.is_some() => "Certificate renewed",
        Screen::Result(_) => "Certificate issued",
        Screen::Details(_) => "Certificate details",
    };
    let right = if app.load.in_flight && !app.load.loaded {
        format!("{} reading the store ", spinner(app))
    } else if !app.load.unread.is_empty() {
        format!("{} reading the other sites ", spinner(app))
    } else {
        let n = app.table.rows().len();
        let s = app.sites.len();
        format!(
            "{n} certificate{} · {s} site{} ",
            if n == 1 { "" } else { "s" },
            if s == 1 { "" } else { "s" }
        )
    };
    let w = usize::from(area.width);
    let left_w = w.saturating_sub(width(&right) + 1);
    let desk = app
        .remote_name()
        .map(|n| format!(" › remote {}", crate::text::sanitize(&n)))
        .unwrap_or_default();
    let left = fit(&format!(" esa-certs{desk} › {screen}"), left_w);
    let gap = w.saturating_sub(width(&left) + width(&right));
    let mut spans = vec![Span::styled(left, t.title())];
    if gap > 0 && width(&right) < w {
        spans.push(Span::raw(" ".repeat(gap)));
        spans.push(Span::styled(right, t.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let w = usize::from(area.width);
    let busy = app.busy_text().map(|b| format!(" {} {b} ", spinner(app)));
    let busy_w = busy.as_ref().map_or(0, |b| width(b));
    let mut spans = Vec::new();
    if let Some(n) = &app.note {
        let (mark, style) = match n.kind {
            NoteKind::Info => ("·", Style::new()),
            NoteKind::Success => ("✓", t.ok()),
            NoteKind::Warning => ("!", t.warn()),
            NoteKind::Error => ("✗", t.error()),
        };
        let room = w.saturating_sub(busy_w + 1);
        spans.push(Span::styled(
            fit(&format!(" {mark} {}", n.text), room),
            style,
        ));
    }
    if let Some(b) = busy {
        let used: usize = spans.iter().map(|s| s.width()).sum();
        spans.push(Span::raw(" ".repeat(w.saturating_sub(used + busy_w))));
        spans.push(Span::styled(fit(&b, w), t.warn()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The keys that work here, as many as fit, most useful first.
fn draw_hints(frame: &mut Frame, app: &App, area: Rect) {
    frame.render_widget(Paragraph::new(hints_line(app, " ", area.width)), area);
}

/// The keys line inside a popup: the same entries as the hint bar (one
/// source, so the two always agree).
pub fn popup_keys(app: &App, width_cols: usize) -> Line<'static> {
    hints_line(app, "", u16::try_from(width_cols).unwrap_or(u16::MAX))
}

/// The hint bar of the current context.
fn hints_line(app: &App, lead: &str, width_cols: u16) -> Line<'static> {
    // In a digits-only field the letter keys keep their meaning.
    let typed = app.text_focus() && !app.digits_focus();
    let hints = keys::hints(app.ctx(), typed, |c| app.applies(c));
    bar_line(app.theme, lead, hints, width_cols)
}

/// A hint bar: `key label` pairs after `lead`, dropped from the end when
/// narrow.
pub fn bar_line(
    t: Theme,
    lead: &str,
    hints: Vec<(String, String)>,
    width_cols: u16,
) -> Line<'static> {
    let w = usize::from(width_cols);
    let mut spans = vec![Span::raw(lead.to_owned())];
    let mut used = width(lead);
    for (keys, label) in hints {
        let need = width(&keys) + 1 + width(&label);
        if used + need > w {
            break;
        }
        spans.push(Span::styled(keys, t.key()));
        spans.push(Span::raw(format!(" {label}  ")));
        used += need + 2;
    }
    Line::from(spans)
}

/// Clears a popup's area and returns it.
/// The screen's rows: the title line, the body, the status line and the
/// key hints. `area` must be at least three rows high.
pub fn rows(area: Rect) -> [Rect; 4] {
    let line = |y| Rect {
        y,
        height: 1,
        ..area
    };
    [
        line(area.y),
        Rect {
            y: area.y + 1,
            height: area.height - 3,
            ..area
        },
        line(area.bottom() - 2),
        line(area.bottom() - 1),
    ]
}

pub fn popup_area(frame: &mut Frame, body: Rect, w: u16, h: u16) -> Rect {
    let r = text::centered(body, w, h);
    frame.render_widget(Clear, r);
    r
}
