//! The config-error screen: what is wrong (file, line as the file has it,
//! key, message) and what to do (fix it, press r), full-screen, since
//! nothing else can work until the config does.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::text::{fit, kv_lines, wrap};
use super::{MIN_HEIGHT, MIN_WIDTH, bar_line};
use crate::error::ErrorCode;
use crate::tui::keys::{self, Ctx};
use crate::tui::startup::ConfigScreen;

const KEY_W: usize = 8;

fn lines(s: &ConfigScreen, w: usize) -> Vec<Line<'static>> {
    let t = s.theme;
    let e = &s.error;
    let what = if e.code == ErrorCode::InvalidConfig {
        "esa-certs cannot start with this config file:"
    } else {
        "The config was read, but its store cannot be opened:"
    };
    let mut out = vec![Line::styled(what, t.label()), Line::raw("")];
    if let Some(f) = &e.file {
        out.extend(kv_lines(
            "File",
            &f.display().to_string(),
            KEY_W,
            w,
            t.label(),
        ));
    }
    if let Some(n) = e.line {
        out.extend(kv_lines("Line", &n.to_string(), KEY_W, w, t.label()));
    }
    if let Some(k) = &e.key {
        out.extend(kv_lines("Key", k, KEY_W, w, t.label()));
    }
    for (i, l) in wrap(
        &crate::text::sanitize(&e.message),
        w.saturating_sub(KEY_W + 1),
    )
    .into_iter()
    .enumerate()
    {
        let key = if i == 0 { "Error" } else { "" };
        out.push(Line::from(vec![
            Span::styled(format!("{key:<KEY_W$} "), t.label()),
            Span::styled(l, t.error()),
        ]));
    }
    if let (Some(n), Some(src)) = (e.line, &s.source_line) {
        out.push(Line::raw(""));
        let gutter = format!("{n:>5} │ ");
        out.push(Line::from(vec![
            Span::styled(gutter.clone(), t.dim()),
            Span::raw(fit(src, w.saturating_sub(gutter.chars().count()))),
        ]));
    }
    out.push(Line::raw(""));
    let todo = if e.code == ErrorCode::InvalidConfig {
        "Fix the file (in another window or terminal), then press r to reload, or q to quit. Nothing in the store has been touched."
    } else {
        "Fix the store path or its permissions, then press r to reload, or q to quit."
    };
    for l in wrap(todo, w) {
        out.push(Line::raw(l));
    }
    out
}

/// Draws the whole screen. Never panics, whatever the size.
pub fn draw(frame: &mut Frame, s: &ConfigScreen) {
    let t = s.theme;
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        // Too small for the panel: the essentials on one line.
        let msg = format!("Config error: {} · r reload · q quit", s.error.message);
        let line = Line::styled(fit(&msg, usize::from(area.width)), t.error());
        frame.render_widget(Paragraph::new(line), Rect { height: 1, ..area });
        return;
    }
    let [title, body, status, hints] = super::rows(area);
    frame.render_widget(
        Paragraph::new(Line::styled(
            fit(
                " esa-certs › The config needs fixing",
                usize::from(area.width),
            ),
            t.title(),
        )),
        title,
    );
    let block = Block::bordered()
        .title(Line::styled(format!(" {} ", s.error.code), t.error()))
        .border_style(t.error());
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let all = lines(s, usize::from(inner.width.saturating_sub(2)));
    let text_area = Rect {
        x: inner.x + 1,
        width: inner.width.saturating_sub(2),
        ..inner
    };
    frame.render_widget(Paragraph::new(all), text_area);
    if s.failed_reloads > 0 {
        let n = s.failed_reloads;
        let msg = format!(
            " ✗ Read it again: still not usable ({n} reload{})",
            if n == 1 { "" } else { "s" }
        );
        frame.render_widget(
            Paragraph::new(Line::styled(fit(&msg, usize::from(area.width)), t.error())),
            status,
        );
    }
    let bar = keys::hints(Ctx::ConfigError, false, |_| true);
    frame.render_widget(Paragraph::new(bar_line(t, " ", bar, area.width)), hints);
}
