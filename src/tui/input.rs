//! Text fields: a one-line input with a cursor, and the multi-line CSR
//! buffer. Small on purpose: the form needs insert, delete, cursor moves
//! and paste, nothing more.

use unicode_width::UnicodeWidthChar;

/// One editing step, from a key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Char(char),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    /// Ctrl-U: empty the field.
    Clear,
    /// Ctrl-W: delete the word before the cursor.
    DeleteWord,
}

/// A one-line text field. The cursor is a char index into `value`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    value: String,
    cursor: usize,
    /// At most this many characters (`None`: no limit); more are dropped
    /// as typed, so a box sized for the limit always shows all of it.
    max_chars: Option<usize>,
}

impl TextInput {
    #[cfg(test)]
    pub fn new(value: &str) -> TextInput {
        let mut t = TextInput::default();
        t.set(value);
        t
    }

    /// A field that takes at most `max` characters.
    pub fn limited(value: &str, max: usize) -> TextInput {
        let mut t = TextInput {
            max_chars: Some(max),
            ..TextInput::default()
        };
        t.set(value);
        t
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// Replaces the value (cut at the limit); the cursor goes to the end.
    pub fn set(&mut self, value: &str) {
        self.value = match self.max_chars {
            Some(max) => value.chars().take(max).collect(),
            None => value.to_owned(),
        };
        self.cursor = self.value.chars().count();
    }

    fn byte_at(&self, char_idx: usize) -> usize {
        self.value
            .char_indices()
            .nth(char_idx)
            .map_or(self.value.len(), |(b, _)| b)
    }

    /// Inserts text at the cursor, up to the limit, in one splice (a 1 MB
    /// paste costs one pass, not one pass per character). Line breaks
    /// become spaces: the field is one line. Returns how many characters
    /// did not fit.
    pub fn insert_str(&mut self, s: &str) -> usize {
        let room = self
            .max_chars
            .map_or(usize::MAX, |m| m.saturating_sub(self.value.chars().count()));
        let mut taken = 0;
        let mut add = String::new();
        let mut dropped = 0;
        for c in s.chars() {
            if taken == room {
                dropped += 1;
                continue;
            }
            add.push(if c == '\n' || c == '\r' { ' ' } else { c });
            taken += 1;
        }
        let at = self.byte_at(self.cursor);
        self.value.insert_str(at, &add);
        self.cursor += taken;
        dropped
    }

    /// Applies an edit; returns whether the value changed.
    pub fn apply(&mut self, edit: Edit) -> bool {
        let len = self.value.chars().count();
        match edit {
            Edit::Char(c) => {
                let _ = self.insert_str(c.encode_utf8(&mut [0; 4]));
                return self.value.chars().count() != len;
            }
            Edit::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
                return true;
            }
            Edit::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.value.remove(at);
                return true;
            }
            Edit::Left => self.cursor = self.cursor.saturating_sub(1),
            Edit::Right => self.cursor = (self.cursor + 1).min(len),
            Edit::Home => self.cursor = 0,
            Edit::End => self.cursor = len,
            Edit::Clear if !self.value.is_empty() => {
                self.set("");
                return true;
            }
            Edit::DeleteWord if self.cursor > 0 => {
                let chars: Vec<char> = self.value.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                let (a, b) = (self.byte_at(start), self.byte_at(self.cursor));
                self.value.replace_range(a..b, "");
                self.cursor = start;
                return true;
            }
            _ => {}
        }
        false
    }

    /// The part of the value that fits in `width` columns with the cursor
    /// in view, and the cursor's column within it.
    pub fn window(&self, width: u16) -> (String, u16) {
        let width = usize::from(width);
        if width == 0 {
            return (String::new(), 0);
        }
        let chars: Vec<char> = self.value.chars().collect();
        let w = |c: &char| c.width().unwrap_or(0);
        // Scroll so that the text before the cursor plus the cursor cell fit.
        let mut start = 0;
        let mut before: usize = chars[..self.cursor].iter().map(w).sum();
        while before + 1 > width && start < self.cursor {
            before -= w(&chars[start]);
            start += 1;
        }
        let mut shown = String::new();
        let mut used = 0;
        for c in &chars[start..] {
            if used + w(c) > width {
                break;
            }
            used += w(c);
            shown.push(*c);
        }
        (shown, u16::try_from(before).unwrap_or(u16::MAX))
    }
}

/// The CSR field: multi-line text, edited at its end (it is pasted, not
/// typed; a terminal without bracketed paste types it, Enter included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultiLine {
    text: String,
    limit: usize,
}

impl MultiLine {
    /// A buffer that stops growing at `limit` bytes (the service then says
    /// the input is too large).
    pub fn new(limit: usize) -> MultiLine {
        MultiLine {
            text: String::new(),
            limit,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn set(&mut self, text: &str) {
        self.text.clear();
        self.push_str(text);
    }

    pub fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            if self.text.len() + c.len_utf8() > self.limit {
                break;
            }
            self.text.push(c);
        }
    }

    /// Applies an edit at the end of the text; returns whether it changed.
    pub fn apply(&mut self, edit: Edit) -> bool {
        match edit {
            Edit::Char(c) => {
                let before = self.text.len();
                self.push_str(c.encode_utf8(&mut [0; 4]));
                self.text.len() != before
            }
            Edit::Backspace => self.text.pop().is_some(),
            Edit::Clear | Edit::DeleteWord if !self.text.is_empty() => {
                self.text.clear();
                true
            }
            _ => false,
        }
    }

    pub fn newline(&mut self) -> bool {
        let before = self.text.len();
        self.push_str("\n");
        self.text.len() != before
    }
}

/// Pasted text with its line ends made `\n`: a run of CRs with or
/// without an LF after it is one line end. Windows files give `\r\n`;
/// tmux turns each LF of a paste into CR, so a CRLF file arrives as
/// `\r\r`, and other routes give `\r\r\n`.
pub fn normalize_newlines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\r' {
            out.push(c);
            continue;
        }
        while chars.next_if_eq(&'\r').is_some() {}
        chars.next_if_eq(&'\n');
        out.push('\n');
    }
    out
}

/// PEM text with the blank lines inside its blocks dropped: a PEM parser
/// reads a blank line after BEGIN as the end of (missing) headers, so a
/// CSR whose line ends arrived doubled would not parse.
pub fn tidy_pem(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut inside = false;
    for line in s.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with("-----BEGIN ") {
            inside = true;
        } else if t.starts_with("-----END ") {
            inside = false;
        } else if inside && t.is_empty() {
            continue;
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_move_the_cursor_and_change_the_value() {
        let mut t = TextInput::new("héllo");
        assert!(t.apply(Edit::Backspace));
        assert_eq!(t.value(), "héll");
        t.apply(Edit::Home);
        t.apply(Edit::Right);
        assert!(t.apply(Edit::Char('X')));
        assert_eq!(t.value(), "hXéll");
        assert!(t.apply(Edit::Delete));
        assert_eq!(t.value(), "hXll");
        assert!(!t.apply(Edit::Left) && !t.apply(Edit::End));
        t.insert_str("a\nb");
        assert_eq!(t.value(), "hXlla b");
        assert!(t.apply(Edit::DeleteWord));
        assert_eq!(t.value(), "hXlla ");
        assert!(t.apply(Edit::Clear));
        assert_eq!(t.value(), "");
        assert!(!t.apply(Edit::Backspace));
    }

    #[test]
    fn a_limited_field_stops_at_its_limit() {
        let mut t = TextInput::limited("123456", 5);
        assert_eq!(t.value(), "12345");
        assert!(!t.apply(Edit::Char('9')));
        assert!(t.apply(Edit::Backspace));
        t.insert_str("999");
        assert_eq!(t.value(), "12349");
        // Sized for the limit plus the cursor, the box shows all of it.
        assert_eq!(t.window(6), ("12349".to_owned(), 5));
    }

    #[test]
    fn window_keeps_the_cursor_visible() {
        let t = TextInput::new("abcdefghij");
        assert_eq!(t.window(5), ("ghij".to_owned(), 4));
        let mut t = TextInput::new("abcdefghij");
        t.apply(Edit::Home);
        assert_eq!(t.window(5), ("abcde".to_owned(), 0));
        assert_eq!(t.window(0), (String::new(), 0));
        let wide = TextInput::new("日本語");
        assert_eq!(wide.window(3), ("語".to_owned(), 2));
    }

    #[test]
    fn multiline_stops_at_its_limit_and_newlines_are_normalised() {
        let mut m = MultiLine::new(5);
        m.push_str("abcdefg");
        assert_eq!(m.text(), "abcde");
        assert!(!m.newline());
        assert!(m.apply(Edit::Backspace));
        assert!(m.newline());
        assert_eq!(m.text(), "abcd\n");
        assert_eq!(normalize_newlines("a\r\nb\rc\n"), "a\nb\nc\n");
        assert_eq!(normalize_newlines("a\r\rb\r\r\nc\n\nd"), "a\nb\nc\n\nd");
        assert_eq!(
            tidy_pem("x\n\n-----BEGIN A-----\n\nQUJD\n  \nREVG\n-----END A-----\n\n"),
            "x\n\n-----BEGIN A-----\nQUJD\nREVG\n-----END A-----\n\n"
        );
    }
}
