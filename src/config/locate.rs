//! Where in the file an error is: a line index, the key at a line, and the
//! nesting bound that keeps a crafted file from overflowing the parser's
//! stack. Errors name the file, the line and the key.

use std::ops::Range;
use std::path::Path;

use super::ConfigError;

/// Deepest nesting of arrays/inline tables, and most dotted-key parts, a
/// config may use. The TOML parser recurses once per level, so without a
/// bound a crafted file (`a = [[[[…`) overflows the stack and aborts.
pub const MAX_NESTING: usize = 32;

/// Finds the first place where `text` nests deeper than [`MAX_NESTING`]
/// (brackets and braces outside strings and comments, or dots in a key).
pub(super) fn too_deep(text: &str) -> Option<(usize, String)> {
    let b = text.as_bytes();
    let (mut depth, mut dots, mut i) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            q @ (b'"' | b'\'') => {
                let triple = b[i..].starts_with(&[q, q, q]);
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    if q == b'"' && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if triple && b[i..].starts_with(&[q, q, q]) {
                        i += 3;
                        break;
                    }
                    if !triple && (b[i] == q || b[i] == b'\n') {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'.' => dots += 1,
            b'\n' | b'=' => dots = 0,
            _ => {}
        }
        if depth > MAX_NESTING {
            return Some((
                i,
                format!("values are nested more than {MAX_NESTING} levels deep"),
            ));
        }
        if dots > MAX_NESTING {
            return Some((i, format!("a key has more than {MAX_NESTING} dotted parts")));
        }
        i += 1;
    }
    None
}

/// Where each line of a text starts, so a byte offset's line number is a
/// binary search. Counting newlines up to the offset instead made a parse
/// quadratic in the number of sites (each site's line is recorded).
pub(super) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the start of each line; `starts[0] == 0`.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        LineIndex { text, starts }
    }

    /// The 1-based line of byte `offset` (the last line past the end).
    pub(super) fn line_of(&self, offset: usize) -> usize {
        // starts[0] == 0 <= offset, so this is at least 1.
        self.starts.partition_point(|&s| s <= offset)
    }
}

/// Builds an `Invalid` error for the byte span, naming the dotted key found
/// on that line (with its table prefix).
pub(super) fn invalid(
    path: &Path,
    lines: &LineIndex,
    span: Range<usize>,
    message: String,
) -> ConfigError {
    let text = lines.text;
    let line = lines.line_of(span.start);
    // Both quote the file: keep its control characters off the terminal.
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        key: crate::text::clip(&crate::text::sanitize(&key_at_line(text, line)), 80),
        message: crate::text::sanitize(&message),
    }
}

fn key_at_line(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(this) = lines.get(line.saturating_sub(1)) else {
        return String::new();
    };
    let header = |l: &str| -> Option<String> {
        let t = l.trim();
        t.starts_with('[').then(|| {
            t.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
    };
    if let Some(h) = header(this) {
        return h;
    }
    let key = this
        .split('=')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    let table = lines[..line.saturating_sub(1)]
        .iter()
        .rev()
        .find_map(|l| header(l));
    match table {
        Some(t) if !t.is_empty() && !key.is_empty() => format!("{t}.{key}"),
        Some(t) if key.is_empty() => t,
        _ => key.to_owned(),
    }
}
