//! The main screen: the sites of the config on the left, the selected
//! site's certificates on the right. Only the rows in the visible window
//! are turned into lines, however many certificates there are.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::api::{EXPIRING_SOON_DAYS, SiteSummary, Status};
use crate::text::sanitize;
use crate::tui::app::{App, Pane};
use crate::tui::screen::main::rows::CertRow;
use crate::tui::ui::text::{fit, pad, pad_left, width};

/// Below this width the sites list is left out (the table's title still
/// names the site).
const SITES_MIN_TOTAL: u16 = 60;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let sites_w = if area.width < SITES_MIN_TOTAL {
        0
    } else {
        (area.width / 4).clamp(24, 30)
    };
    app.sites_shown.set(sites_w > 0);
    if sites_w > 0 {
        draw_sites(
            frame,
            app,
            Rect {
                width: sites_w,
                ..area
            },
        );
    }
    let table = Rect {
        x: area.x + sites_w,
        width: area.width - sites_w,
        ..area
    };
    draw_certs(frame, app, table);
}

fn date(s: &str) -> &str {
    s.get(..10).unwrap_or(s)
}

/// The CA line and the counts line of a site in the list, the counts in
/// words when they fit in `w` columns, abbreviated otherwise.
fn site_lines(s: &SiteSummary, w: usize) -> [String; 2] {
    let ca = if s.ca_certificate_id.is_empty() {
        "no CA yet".to_string()
    } else {
        format!("CA ✓ {}", sanitize(&s.ca_key_type))
    };
    let counts = |active: &str, revoked: &str, expired: &str| {
        let mut out = format!("{} {active}", s.active);
        if s.revoked > 0 {
            out.push_str(&format!(", {} {revoked}", s.revoked));
        }
        if s.expired > 0 {
            out.push_str(&format!(", {} {expired}", s.expired));
        }
        out
    };
    let long = counts("active", "revoked", "expired");
    let counts = if width(&long) <= w {
        long
    } else {
        counts("act", "rev", "exp")
    };
    [ca, counts]
}

fn draw_sites(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let focused = app.focus == Pane::Sites;
    let block = Block::bordered()
        .title(Line::styled(" Sites ", t.label()))
        .border_style(t.border(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let w = usize::from(inner.width);
    let per_page = usize::from(inner.height / 3).max(1);
    let first = app.site_sel.saturating_sub(per_page - 1);
    let mut lines = Vec::new();
    for (i, s) in app.sites.iter().enumerate().skip(first).take(per_page) {
        let selected = i == app.site_sel;
        let style = match (selected, focused) {
            (true, true) => t.selected(),
            (true, false) => t.marked(),
            _ => Style::new(),
        };
        let mark = if selected { "›" } else { " " };
        let read = app.site_read(s.site_id);
        let total = s.active + s.revoked + s.expired;
        let count = if read {
            format!(" {total}")
        } else {
            " …".to_string()
        };
        let name = fit(&sanitize(&s.site_name), w.saturating_sub(2 + width(&count)));
        let gap = w.saturating_sub(2 + width(&name) + width(&count));
        lines.push(Line::styled(
            format!("{mark} {name}{}{count}", " ".repeat(gap)),
            style,
        ));
        let mut two = site_lines(s, w.saturating_sub(2));
        if !read {
            two[1] = "reading…".into();
        }
        for l in two {
            lines.push(Line::styled(pad(&format!("  {l}"), w), style));
        }
    }
    if app.sites.is_empty() {
        lines.push(Line::styled(fit("No sites in the config", w), t.warn()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Column widths of the table for an inner width. Every column is shown
/// from 80x24 up (there the table's inner width is 54): narrow, the key
/// type is a short label (`P-256`, `RSA2k`) and the serial 4 hex digits.
struct Columns {
    label: usize,
    /// Key type width: 0 (left out, only when tiny), `KEY_W_NARROW`
    /// (short labels) or `KEY_W`.
    key: usize,
    /// Serial prefix width: 0 (left out, only when tiny) or more.
    serial: usize,
    left: usize,
    /// One free column at the right edge, when there is room.
    slack: usize,
}

const STATUS_W: usize = 7;
const KEY_W: usize = 8;
const KEY_W_NARROW: usize = 7;
const DATE_W: usize = 10;
const LEFT_W: usize = 6;
/// Fits `3650d` (the longest validity) and `-999d`.
const LEFT_W_NARROW: usize = 5;
const SERIAL_W: usize = 8;
const SERIAL_W_NARROW: usize = 4;
const MARK_W: usize = 2;
/// Room the names get before the wide columns are used.
const LABEL_MIN_WIDE: usize = 24;
/// Below this, the serial and then the key type are left out.
const LABEL_MIN: usize = 10;

impl Columns {
    fn new(w: usize) -> Columns {
        // Mark, label, status, [key], date, left, [serial]: one space
        // between columns.
        let used = |key: usize, left: usize, serial: usize, slack: usize| {
            let seps = 3 + usize::from(key > 0) + usize::from(serial > 0);
            MARK_W + STATUS_W + DATE_W + left + key + serial + seps + slack
        };
        let mut c = Columns {
            label: 0,
            key: KEY_W,
            serial: SERIAL_W,
            left: LEFT_W,
            slack: 1,
        };
        if w < used(KEY_W, LEFT_W, SERIAL_W, 1) + LABEL_MIN_WIDE {
            c = Columns {
                label: 0,
                key: KEY_W_NARROW,
                serial: SERIAL_W_NARROW,
                left: LEFT_W_NARROW,
                slack: 0,
            };
            if w < used(c.key, c.left, c.serial, 0) + LABEL_MIN {
                c.serial = 0;
            }
            if w < used(c.key, c.left, c.serial, 0) + LABEL_MIN {
                c.key = 0;
            }
        }
        c.label = w
            .saturating_sub(used(c.key, c.left, c.serial, c.slack))
            .max(4);
        c
    }

    fn header(&self) -> String {
        let mut s = format!(
            "{}{} {} ",
            " ".repeat(MARK_W),
            pad(
                if self.label >= 17 {
                    "Name · CommonName"
                } else {
                    "Name/CN"
                },
                self.label
            ),
            pad("Status", STATUS_W),
        );
        if self.key > 0 {
            s.push_str(&pad("Key", self.key));
            s.push(' ');
        }
        s.push_str(&format!(
            "{} {}",
            pad("NotAfter", DATE_W),
            pad_left("Left", self.left)
        ));
        if self.serial > 0 {
            s.push(' ');
            s.push_str(&pad(
                if self.serial >= 6 { "Serial" } else { "S/N" },
                self.serial,
            ));
        }
        s
    }

    /// The key type as the column shows it: ESA's spelling when wide,
    /// a short label when narrow.
    fn key_text(&self, key_type: &str) -> String {
        if self.key >= KEY_W {
            return key_type.to_owned();
        }
        short_key(key_type).to_owned()
    }
}

/// A short label for a key type (any of ESA's spellings): `RSA2k`,
/// `P-256`, `Ed25519`; others as they are.
pub fn short_key(key_type: &str) -> &str {
    match key_type.to_ascii_uppercase().as_str() {
        "RSA" | "RSA_2048" => "RSA2k",
        "RSA_3072" => "RSA3k",
        "RSA_4096" => "RSA4k",
        "ECC" | "ECC_256" => "P-256",
        "ECC_384" => "P-384",
        "ED25519" => "Ed25519",
        _ => key_type,
    }
}

/// Days left as the table shows them: `365d` for a certificate issued
/// now for 365 days, `!12d` within the expiring-soon window (less than
/// 30 days, as the service counts it; unless already renewed), `-3d` once
/// past, `—` when revoked (it is not valid, whatever its dates say).
pub fn left_text(row: &CertRow, app: &App) -> String {
    if row.status == Status::Revoked {
        return "—".into();
    }
    let now = app.now();
    let soon =
        row.status == Status::Active && !row.renewed && row.expires_within(now, EXPIRING_SOON_DAYS);
    match row.days_left(now) {
        None => "?".into(),
        Some(d) if soon => format!("!{d}d"),
        Some(d) => format!("{d}d"),
    }
}

/// Marks a certificate that has a successor (renewed).
pub const RENEWED_MARK: &str = "↻ ";

fn row_line(app: &App, row: &CertRow, cols: &Columns, selected: bool, w: usize) -> Line<'static> {
    let t = app.theme;
    let mark = if selected { "› " } else { "  " };
    let left = left_text(row, app);
    let label = if row.renewed {
        format!("{RENEWED_MARK}{}", row.label())
    } else {
        row.label()
    };
    let mut cells = vec![
        Span::raw(mark.to_string()),
        Span::raw(pad(&label, cols.label)),
        Span::raw(" "),
        Span::styled(pad(row.status.as_str(), STATUS_W), t.status(row.status)),
        Span::raw(" "),
    ];
    if cols.key > 0 {
        cells.push(Span::raw(pad(&cols.key_text(&row.key_type), cols.key)));
        cells.push(Span::raw(" "));
    }
    cells.push(Span::raw(pad(date(&row.not_after), DATE_W)));
    cells.push(Span::raw(" "));
    let left_style = if left.starts_with('!') {
        t.warn()
    } else {
        Style::new()
    };
    // Expired long ago: in years, so the narrow column still holds it.
    let left = if width(&left) > cols.left {
        row.days_left(app.now())
            .map_or(left, |d| format!("{}y", d / 365))
    } else {
        left
    };
    cells.push(Span::styled(pad_left(&left, cols.left), left_style));
    if cols.serial > 0 {
        cells.push(Span::raw(" "));
        // A short serial is a prefix, like a short commit hash.
        let short: String = row.serial.chars().take(cols.serial).collect();
        cells.push(Span::styled(pad(&short, cols.serial), t.dim()));
    }
    let used: usize = cells.iter().map(|s| s.width()).sum();
    cells.push(Span::raw(" ".repeat(w.saturating_sub(used))));
    let mut line = Line::from(cells);
    if selected {
        line = line.style(if app.focus == Pane::Table || !app.sites_shown.get() {
            t.selected()
        } else {
            t.marked()
        });
    }
    line
}

fn summary_lines(app: &App, w: usize) -> Vec<Line<'static>> {
    let t = app.theme;
    let Some(s) = app.selected_site() else {
        return vec![];
    };
    let ca = if s.ca_certificate_id.is_empty() {
        "No CA yet: it is created with the first certificate".to_string()
    } else {
        format!(
            "CA {} · {} · until {}",
            sanitize(&s.ca_common_name),
            sanitize(&s.ca_key_type),
            date(&s.ca_not_after)
        )
    };
    if !app.site_read(s.site_id) {
        return vec![
            Line::styled(fit(&ca, w), t.dim()),
            Line::styled(fit("Reading this site's certificates…", w), t.dim()),
        ];
    }
    // The quota first (it decides whether `n` can work), then the counts
    // in words, or abbreviated when the words do not fit.
    let counts = |active: &str, soon: &str, revoked: &str, expired: &str| {
        let mut out = String::new();
        if let Some(max) = s.max_client_certificates {
            out.push_str(&format!("quota {}/{max} · ", s.active + s.revoked));
        }
        out.push_str(&format!("{} {active}", s.active));
        if s.expiring_soon > 0 {
            out.push_str(&format!(" (!{} {soon})", s.expiring_soon));
        }
        out.push_str(&format!(
            " · {} {revoked} · {} {expired}",
            s.revoked, s.expired
        ));
        out
    };
    let within = format!("within {EXPIRING_SOON_DAYS}d");
    let long = counts("active", &within, "revoked", "expired");
    let counts = if width(&long) <= w {
        long
    } else {
        counts("act", &format!("<{EXPIRING_SOON_DAYS}d"), "rev", "exp")
    };
    vec![
        Line::styled(fit(&ca, w), t.dim()),
        Line::styled(fit(&counts, w), t.dim()),
    ]
}

fn draw_certs(frame: &mut Frame, app: &App, area: Rect) {
    let t = app.theme;
    let focused = app.focus == Pane::Table || !app.sites_shown.get();
    let site = app
        .selected_site()
        .map(|s| format!(" Certificates · {} ", sanitize(&s.site_name)))
        .unwrap_or_else(|| " Certificates ".into());
    let inner = Block::bordered().inner(area);
    let w = usize::from(inner.width);
    let mut lines = summary_lines(app, w);
    let search_line = search_line(app, w);
    let reserved = lines.len() + 1 + usize::from(search_line.is_some());
    let rows_h = usize::from(inner.height).saturating_sub(reserved);
    let (key, desc) = app.table.sort();
    let mut sort = format!(" sort: {} {} ", key.label(), if desc { "↓" } else { "↑" });
    // A long list: where the selection is in it.
    if app.table.len() > rows_h && rows_h > 0 {
        sort = format!(
            " {}/{} ·{sort}",
            app.table.selected_index() + 1,
            app.table.len()
        );
    }
    let block = Block::bordered()
        .title(Line::styled(site, t.label()))
        .title_top(Line::styled(sort, t.dim()).right_aligned())
        .border_style(t.border(focused));
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let cols = Columns::new(w);
    lines.push(Line::styled(pad(&cols.header(), w), t.header()));

    if let Some(e) = &app.load.error {
        lines.push(Line::styled(
            fit(&format!("✗ Cannot read the store: [{}]", e.code), w),
            t.error(),
        ));
        for l in crate::tui::ui::text::wrap(&sanitize(&e.message), w.saturating_sub(2)) {
            lines.push(Line::raw(format!("  {l}")));
        }
    } else if app.table.is_empty()
        && (!app.load.loaded
            || app
                .selected_site()
                .is_some_and(|s| !app.site_read(s.site_id)))
    {
        // Rows that arrived (a remote's first pages) are drawn at once;
        // the note is for a table that has none yet.
        lines.push(Line::styled(fit("Reading the store…", w), t.dim()));
    } else if app.table.is_empty() {
        if app.table.query().is_empty() {
            let msg = "No certificates yet: press n to issue one";
            lines.push(Line::styled(fit(msg, w), t.dim()));
        } else {
            for msg in no_match_lines(app) {
                lines.push(Line::styled(fit(&msg, w), t.dim()));
            }
        }
    } else {
        let (offset, rows) = app.table.window(rows_h);
        let sel = app.table.selected_index();
        for (i, row) in rows.enumerate() {
            lines.push(row_line(app, row, &cols, offset + i == sel, w));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some((line, cursor)) = search_line {
        let y = inner.bottom() - 1;
        frame.render_widget(
            Paragraph::new(line),
            Rect {
                y,
                height: 1,
                ..inner
            },
        );
        if let Some(x) = cursor {
            frame.set_cursor_position((inner.x + x, y));
        }
    }
}

/// Nothing on this site matches the filter: say so, and where it does
/// match (every site's rows are held once read).
fn no_match_lines(app: &App) -> Vec<String> {
    let query = sanitize(app.table.query());
    let elsewhere = app.table.matches_elsewhere();
    let total: usize = elsewhere.iter().map(|(_, n)| n).sum();
    match elsewhere.as_slice() {
        [] => vec![format!("Nothing matches “{query}”: Esc clears the filter")],
        [(site, n)] => vec![
            format!("Nothing matches “{query}” here;"),
            format!(
                "{n} on {} (Tab, then ↓ to that site)",
                app.site_label(*site)
            ),
        ],
        more => {
            let names: Vec<String> = more.iter().map(|(s, _)| app.site_label(*s)).collect();
            vec![
                format!("Nothing matches “{query}” here;"),
                format!(
                    "{total} on {} other sites: {}",
                    more.len(),
                    names.join(", ")
                ),
            ]
        }
    }
}

/// The filter line: while typing (with the cursor) or while a filter is
/// kept.
fn search_line(app: &App, w: usize) -> Option<(Line<'static>, Option<u16>)> {
    let t = app.theme;
    let count = format!(" {} of {} ", app.table.len(), app.table.site_total());
    let room = w.saturating_sub(width(&count) + 3);
    if let Some(input) = &app.search {
        let (shown, cx) = input.window(u16::try_from(room).unwrap_or(u16::MAX));
        let shown = sanitize(&shown);
        let gap = w.saturating_sub(2 + width(&shown) + width(&count));
        let line = Line::from(vec![
            Span::styled("/ ", t.key()),
            Span::raw(shown),
            Span::raw(" ".repeat(gap)),
            Span::styled(count, t.dim()),
        ]);
        return Some((line, Some(2 + cx)));
    }
    if app.table.query().is_empty() {
        return None;
    }
    let text = format!("filter: {}", sanitize(app.table.query()));
    let text = fit(&text, room);
    let gap = w.saturating_sub(width(&text) + width(&count));
    Some((
        Line::from(vec![
            Span::styled(text, t.marked()),
            Span::raw(" ".repeat(gap)),
            Span::styled(count, t.dim()),
        ]),
        None,
    ))
}
