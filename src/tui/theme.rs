//! Styles. Meaning never rests on colour alone: the selection is REVERSED
//! and BOLD, states are words or marks (`expired`, `!12d`), and colour only
//! adds emphasis. With `NO_COLOR` set (and non-empty) no colour is used at
//! all, as <https://no-color.org> asks; modifiers such as BOLD stay.

use ratatui::style::{Color, Modifier, Style};

use crate::api::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to a non-empty value.
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    #[cfg(test)]
    pub fn colored() -> Theme {
        Theme { color: true }
    }

    #[cfg(test)]
    /// No colours, only modifiers (what `NO_COLOR` gives).
    pub fn plain() -> Theme {
        Theme { color: false }
    }

    #[cfg(test)]
    pub fn uses_color(self) -> bool {
        self.color
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    /// The selected row or item: visible on any terminal, colour or not.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    /// The marked item of a list that does not have the focus.
    pub fn marked(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn header(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn label(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    /// A key in the hint bar or the help.
    pub fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn warn(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        }
    }

    pub fn status(self, s: Status) -> Style {
        match s {
            Status::Active => self.ok(),
            Status::Revoked => self.fg(Color::Magenta),
            Status::Expired => self.fg(Color::Red).add_modifier(Modifier::DIM),
        }
    }
}
