//! Text fitting for cells: truncation with `…`, padding and word wrap by
//! display width (CJK and other wide characters count as two columns).

use ratatui::layout::Rect;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub fn width(s: &str) -> usize {
    s.width()
}

/// `s` cut to at most `w` columns, the cut marked with `…`.
pub fn fit(s: &str, w: usize) -> String {
    if s.width() <= w {
        return s.to_owned();
    }
    if w == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        used += cw;
        out.push(c);
    }
    out.push('…');
    out
}

/// `s` fitted and padded with spaces to exactly `w` columns.
pub fn pad(s: &str, w: usize) -> String {
    let mut out = fit(s, w);
    let used = out.width();
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(used)));
    out
}

/// `s` fitted and right-aligned in `w` columns.
pub fn pad_left(s: &str, w: usize) -> String {
    let f = fit(s, w);
    let mut out: String = std::iter::repeat_n(' ', w.saturating_sub(f.width())).collect();
    out.push_str(&f);
    out
}

/// Word-wraps `s` to lines of at most `w` columns; words longer than a
/// line are broken.
pub fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for word in para.split(' ') {
            let ww = word.width();
            if used > 0 && used + 1 + ww > w {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            if used > 0 {
                line.push(' ');
                used += 1;
            }
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > w && used > 0 {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += cw;
            }
        }
        lines.push(line);
    }
    lines
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// `key  value` rows with the value wrapped under itself; the value is
/// sanitised (it came from the store or a CSR).
pub fn kv_lines(
    key: &str,
    value: &str,
    key_w: usize,
    w: usize,
    key_style: ratatui::style::Style,
) -> Vec<ratatui::text::Line<'static>> {
    use ratatui::text::{Line, Span};
    let value = crate::text::sanitize(value);
    let value = if value.is_empty() {
        "—".to_owned()
    } else {
        value
    };
    let room = w.saturating_sub(key_w + 1).max(8);
    wrap(&value, room)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let k = if i == 0 {
                pad(key, key_w)
            } else {
                " ".repeat(key_w)
            };
            Line::from(vec![
                Span::styled(k, key_style),
                Span::raw(" "),
                Span::raw(part),
            ])
        })
        .collect()
}

/// A PEM block, indented, each line cut (not wrapped) to the width.
pub fn pem_lines(pem: &str, w: usize) -> Vec<ratatui::text::Line<'static>> {
    pem.lines()
        .map(|l| ratatui::text::Line::raw(fit(&format!("  {}", crate::text::sanitize(l)), w)))
        .collect()
}

/// The `lines a–b of n` note for a scrolled view's title.
pub fn position(first: usize, shown: usize, total: usize) -> String {
    if total <= shown {
        String::new()
    } else {
        format!(
            " lines {}–{} of {total} ",
            first + 1,
            (first + shown).min(total)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_and_pad_count_columns() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("日本語", 5), "日本…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad_left("ab", 4), "  ab");
        assert_eq!(pad("abcdef", 3), "ab…");
    }

    #[test]
    fn wrap_breaks_words_and_long_tokens() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\nb", 10), ["a", "b"]);
        assert_eq!(wrap("", 0), [""]);
    }

    #[test]
    fn centered_stays_inside() {
        let a = Rect::new(2, 3, 10, 4);
        assert_eq!(centered(a, 4, 2), Rect::new(5, 4, 4, 2));
        assert_eq!(centered(a, 40, 20), a);
    }
}
