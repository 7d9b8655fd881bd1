//! Starting on a config that cannot be used. The subcommands print the
//! error and exit; the TUI instead shows it full-screen — the file, the
//! line (quoted from the file), the key and the message — and reads the
//! file again on `r`, so the operator fixes it in another window and
//! carries on without restarting. Once it loads, the normal app starts.
//!
//! The config-error screen: what is wrong (file, line as the file has it,
//! key, message) and what to do (fix it, press r), full-screen, since
//! nothing else can work until the config does.

use crate::config::ConfigError;
use crate::error::{ErrorCode, EsaError};
use crate::text::sanitize;
use crate::tui::action::{Action, Cmd};
use crate::tui::keys::{self, Ctx};
use crate::tui::theme::Theme;
use crate::tui::ui::text::{fit, kv_lines, wrap};
use crate::tui::ui::{MIN_HEIGHT, MIN_WIDTH, bar_line};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use std::path::PathBuf;

/// Why the service could not be opened, kept whole for the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError {
    /// `InvalidParameter.Config`, or `InternalException` when the config
    /// is fine but its store cannot be opened.
    pub code: ErrorCode,
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    /// The dotted key (`defaults.validity_days`), when one is named.
    pub key: Option<String>,
    /// The reason alone (without the file and line).
    pub message: String,
    /// The whole error as the CLI prints it.
    full: String,
}

impl From<&ConfigError> for StartError {
    fn from(e: &ConfigError) -> StartError {
        let (file, line, key, message) = match e {
            ConfigError::Invalid {
                path,
                line,
                key,
                message,
            } => (
                Some(path.clone()),
                Some(*line),
                Some(key.clone()).filter(|k| !k.is_empty()),
                message.clone(),
            ),
            ConfigError::Read { path, source } => (
                Some(path.clone()),
                None,
                None,
                format!("cannot read the config: {source}"),
            ),
            ConfigError::WriteDefault { path, source } => (
                Some(path.clone()),
                None,
                None,
                format!("cannot write the default config: {source}"),
            ),
            other => (None, None, None, other.to_string()),
        };
        StartError {
            code: ErrorCode::InvalidConfig,
            file,
            line,
            key,
            message,
            full: e.to_string(),
        }
    }
}

impl From<EsaError> for StartError {
    fn from(e: EsaError) -> StartError {
        StartError {
            code: e.code,
            file: None,
            line: None,
            key: None,
            full: e.message.clone(),
            message: e.message,
        }
    }
}

impl From<StartError> for EsaError {
    fn from(e: StartError) -> EsaError {
        EsaError::new(e.code, e.full)
    }
}

/// Opens another desk: `None` the local store, `Some(name)` a remote.
pub type Switch = Box<dyn FnMut(Option<&str>) -> crate::error::EsaResult<crate::tui::Desk>>;

/// What the opener gives the TUI once the config works (the CLI passes its
/// own opener, so both front ends read the config the same way).
pub struct Opened {
    /// The desk to start on: the local store, or the `--remote` one.
    pub desk: crate::tui::Desk,
    /// The default config written on this first run, if so.
    pub created: Option<PathBuf>,
    /// The `[[remote]]` names `B` offers besides the local store.
    pub remotes: Vec<String>,
    /// Opens another desk: `None` the local store, `Some(name)` a remote.
    pub switch: Switch,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("desk", &self.desk.origin())
            .field("created", &self.created)
            .field("remotes", &self.remotes)
            .finish_non_exhaustive()
    }
}

/// The state of the config-error screen.
#[derive(Debug)]
pub struct ConfigScreen {
    pub error: StartError,
    /// The offending line as the file has it now (sanitised), when known.
    pub source_line: Option<String>,
    /// Reloads that failed again (the screen says so, so a key press is
    /// never silently lost).
    pub failed_reloads: u32,
    pub theme: Theme,
}

/// What the runtime should do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Stay,
    Reload,
    Quit,
}

impl ConfigScreen {
    pub fn new(error: StartError, theme: Theme) -> ConfigScreen {
        let mut s = ConfigScreen {
            source_line: None,
            error,
            failed_reloads: 0,
            theme,
        };
        s.read_source_line();
        s
    }

    fn read_source_line(&mut self) {
        self.source_line = match (&self.error.file, self.error.line) {
            // Bounded like the config read itself: `--config /dev/zero`
            // or a FIFO must not hang or fill the memory.
            (Some(f), Some(n)) if n > 0 => {
                crate::base::fs::read_prefix(f, crate::base::limits::MAX_CONFIG_BYTES)
                    .ok()
                    .and_then(|b| {
                        String::from_utf8_lossy(&b)
                            .lines()
                            .nth(n - 1)
                            .map(|l| sanitize(l.trim_end()))
                    })
            }
            _ => None,
        };
    }

    /// A terminal event, through the same key map as the app.
    pub fn handle_event(&self, ev: &ratatui::crossterm::event::Event) -> Next {
        use ratatui::crossterm::event::Event;
        let Event::Key(k) = ev else {
            return Next::Stay;
        };
        match keys::action_for(k, Ctx::ConfigError, false) {
            Some(Action::Cmd(Cmd::Reload)) => Next::Reload,
            Some(Action::Cmd(Cmd::Quit)) => Next::Quit,
            _ => Next::Stay,
        }
    }

    /// Runs `open` (after `r`): the service when the config works now, or
    /// the new error on this screen.
    pub fn reload(
        &mut self,
        open: &mut impl FnMut() -> Result<Opened, StartError>,
    ) -> Option<Opened> {
        match open() {
            Ok(o) => Some(o),
            Err(e) => {
                self.failed_reloads += 1;
                self.error = e;
                self.read_source_line();
                None
            }
        }
    }
}

// ---- drawing ---------------------------------------------------------------

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
    let [title, body, status, hints] = crate::tui::ui::rows(area);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn screen_for(file: &std::path::Path, line: usize) -> ConfigScreen {
        let error = StartError {
            code: ErrorCode::InvalidConfig,
            file: Some(file.to_path_buf()),
            line: Some(line),
            key: None,
            message: "bad".into(),
            full: "bad".into(),
        };
        ConfigScreen::new(error, Theme::plain())
    }

    #[test]
    fn the_source_line_is_read_within_the_config_bound() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        // Twice the bound in two-byte lines: the lines of its second half
        // lie past it.
        let bound = usize::try_from(crate::base::limits::MAX_CONFIG_BYTES).unwrap();
        std::fs::write(&p, "a\n".repeat(bound)).unwrap();
        assert_eq!(screen_for(&p, 3).source_line.as_deref(), Some("a"));
        assert_eq!(screen_for(&p, bound * 3 / 4).source_line, None);
        // An endless file: the first line is read, and nothing more.
        let zero = std::path::Path::new("/dev/zero");
        assert!(screen_for(zero, 1).source_line.is_some());
        assert_eq!(screen_for(zero, 2).source_line, None);
    }
}
