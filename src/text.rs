//! Text that came from outside (CSR subjects, labels, file content) must never
//! reach a terminal as raw control sequences. These helpers make such text
//! safe to print and decide what we accept in names.

use std::fmt::Write;

/// True for characters that change how a terminal or a bidi-aware renderer
/// shows the text around them, or that cannot be seen at all: C0/C1
/// controls and DEL, every Unicode format character (general category Cf:
/// bidi marks, embeddings, overrides and isolates, zero-width spaces and
/// joiners, the BOM, the soft hyphen, tag characters, …) and the line and
/// paragraph separators (Zl, Zp). Such characters let two different names
/// look the same, or hide part of a name, so they are refused in names and
/// escaped on output. Variation selectors (Mn) are allowed: emoji need them.
pub fn is_dangerous(c: char) -> bool {
    c.is_control() || is_format_or_separator(c)
}

/// General categories Cf, Zl and Zp (Unicode 16). The standard library has
/// no category tables; `tests/hostile.rs` checks this list against the
/// regex engine's Unicode tables.
fn is_format_or_separator(c: char) -> bool {
    matches!(
        c as u32,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            // The whole tag block (E0000 is unassigned, the rest Cf).
            | 0xE0000..=0xE007F
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

/// `s` sanitised and put in double quotes, for quoting input in a message:
/// `"a\u{1b}b"`. (`{:?}` of a sanitised string escapes the backslashes of
/// its escapes a second time: `"a\\u{1b}b"`.)
pub fn quoted(s: &str) -> String {
    format!("\"{}\"", sanitize(s))
}

/// [`sanitize`] for text of several lines, such as a PEM file read from the
/// store: line ends (`\n`, `\r\n`) are kept, every other dangerous
/// character is escaped. A well-formed PEM comes back unchanged.
pub fn sanitize_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    sanitize_lines_into(s, &mut out);
    out
}

/// Whether [`sanitize_lines`] would change `s`.
pub fn lines_need_escaping(s: &str) -> bool {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if is_dangerous(c) && !is_line_end(c, chars.peek()) {
            return true;
        }
    }
    false
}

/// [`sanitize_lines`] appending to `out`, with no other allocation: a
/// caller holding a secret reserves `10 * s.len()` (the longest escape is
/// 10 bytes per character) in a zeroizing buffer and no copy is left behind.
pub fn sanitize_lines_into(s: &str, out: &mut String) {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if is_dangerous(c) && !is_line_end(c, chars.peek()) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
}

fn is_line_end(c: char, next: Option<&char>) -> bool {
    c == '\n' || (c == '\r' && next == Some(&'\n'))
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

/// Lower-case hex of `bytes`. By table, not `write!`: every create hexes
/// a fingerprint, a serial, an Id, a RequestId and two digests of the
/// signature check, and the formatter cost more than the digests.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
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
    fn invisible_and_format_characters_are_escaped() {
        for c in [
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{2028}',
            '\u{2029}',
            '\u{2060}',
            '\u{2061}',
            '\u{2064}',
            '\u{feff}',
            '\u{ad}',
            '\u{180e}',
            '\u{e0000}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e007f}',
            '\u{61c}',
            '\u{206f}',
            '\u{fff9}',
        ] {
            assert!(is_dangerous(c), "U+{:04X}", c as u32);
        }
        assert_eq!(sanitize("a\u{200b}b\u{2028}"), "a\\u{200b}b\\u{2028}");
        // Visible text, combining marks and emoji variation selectors stay.
        for c in [
            'é',
            '中',
            '\u{301}',
            '\u{fe0f}',
            '\u{1f600}',
            ' ',
            '\u{a0}',
            '\u{3000}',
        ] {
            assert!(!is_dangerous(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn sanitize_lines_keeps_line_ends_only() {
        let pem = "-----BEGIN X-----\nQUJD\n-----END X-----\n";
        assert_eq!(sanitize_lines(pem), pem);
        assert!(!lines_need_escaping(pem) && !lines_need_escaping("a\r\n"));
        assert!(lines_need_escaping("a\rb") && lines_need_escaping("\u{200b}\n"));
        assert_eq!(sanitize_lines("a\r\nb\nc"), "a\r\nb\nc");
        assert_eq!(
            sanitize_lines("a\u{1b}[2J\nb\rc\n\u{202e}"),
            "a\\u{1b}[2J\nb\\u{d}c\n\\u{202e}"
        );
    }

    #[test]
    fn quoted_escapes_once() {
        assert_eq!(quoted("a\u{1b}[31mb"), r#""a\u{1b}[31mb""#);
        assert_eq!(quoted("plain"), "\"plain\"");
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
        let all: Vec<u8> = (0..=255).collect();
        let by_format: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), by_format);
        assert_eq!(hex(&[]), "");
    }
}
