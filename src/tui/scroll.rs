//! A scroll position for long read-only views (details, result, help).
//! The renderer knows the content height; it clamps the position and
//! records the page size, so key handling needs no terminal.

use std::cell::Cell;

use super::action::Cmd;

#[derive(Debug, Default)]
pub struct Scroll {
    pos: Cell<usize>,
    page: Cell<usize>,
}

impl Scroll {
    /// A scrolling key; other commands do nothing here.
    pub fn command(&self, cmd: Cmd) {
        match cmd {
            Cmd::Up => self.by(-1),
            Cmd::Down => self.by(1),
            Cmd::PageUp => self.page_up(),
            Cmd::PageDown => self.page_down(),
            Cmd::Top => self.top(),
            Cmd::Bottom => self.bottom(),
            _ => {}
        }
    }

    pub fn by(&self, delta: isize) {
        self.pos.set(self.pos.get().saturating_add_signed(delta));
    }

    pub fn page_down(&self) {
        self.by(isize::try_from(self.page.get().max(1)).unwrap_or(1));
    }

    pub fn page_up(&self) {
        self.by(-isize::try_from(self.page.get().max(1)).unwrap_or(1));
    }

    /// To line `pos` (clamped when drawn).
    pub fn to(&self, pos: usize) {
        self.pos.set(pos);
    }

    pub fn top(&self) {
        self.pos.set(0);
    }

    pub fn bottom(&self) {
        self.pos.set(usize::MAX);
    }

    /// Called when drawing: content of `len` lines in `height` rows.
    /// Returns the first line to show.
    pub fn clamp(&self, len: usize, height: usize) -> usize {
        self.page.set(height.saturating_sub(1).max(1));
        let pos = self.pos.get().min(len.saturating_sub(height));
        self.pos.set(pos);
        pos
    }
}
