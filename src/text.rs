//! Text that came from outside (CSR subjects, labels, file content) must never
//! reach a terminal as raw control sequences. These helpers make such text
//! safe to print and decide what we accept in names.

use std::fmt::Write;

/// True for characters that change how a terminal or a bidi-aware renderer
/// shows the text around them: C0/C1 controls, DEL, and the Unicode bidi
/// embedding/override/isolate marks and directional marks.
pub fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// Returns `s` with every dangerous character replaced by a visible escape
/// (`\u{1b}`), so the result can be printed or drawn as-is.
pub fn sanitize(s: &str) -> String {
    if !s.chars().any(is_dangerous) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_dangerous(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Shortens `s` to at most `max` characters for messages, marking the cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_and_bidi_controls() {
        assert_eq!(sanitize("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(sanitize("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(sanitize("plain é"), "plain é");
        assert_eq!(sanitize("tab\there"), "tab\\u{9}here");
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
    }
}
