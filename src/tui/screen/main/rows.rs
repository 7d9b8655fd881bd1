//! The certificates table as data: every row loaded once, with its search
//! keys precomputed; a sorted order of all rows; and the view (the rows of
//! the selected site that match the filter) as a list of indices. A filter
//! keystroke is one linear scan over the order, with no sorting and no
//! allocation per row, so 100,000 certificates stay interactive; drawing
//! takes only the visible window of the view.

use crate::base::clock;
use std::cell::Cell;

use time::OffsetDateTime;

use crate::api::{CertSummary, Status};
use crate::text::sanitize;
use clock::parse_esa_time;

/// One certificate as the table needs it. Text from the store is already
/// sanitised; the search keys are lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRow {
    pub id: String,
    pub site_id: u64,
    pub name: String,
    pub common_name: String,
    pub status: Status,
    pub key_type: String,
    pub not_after: String,
    /// NotAfter as a Unix time (`i64::MAX` when unreadable).
    pub not_after_unix: i64,
    pub serial: String,
    pub fingerprint: String,
    pub key_stored: bool,
    pub created: String,
    /// ValidityDays at issuance (0 when unreadable): a renewal's default.
    pub validity_days: u32,
    /// Issued for a CSR: a renewal keeps its public key.
    pub from_csr: bool,
    /// A successor exists (renewing again is refused while it lives).
    pub renewed: bool,
    /// The successor's Id, when renewed.
    pub successor: Option<String>,
    /// Revoked in the store, even when it shows `expired` since: renewing
    /// it is refused.
    pub revoked: bool,
    /// `name \n common_name`, lower-case, for substring search.
    text_key: String,
    /// The label as shown, lower-case, for sorting by name.
    sort_key: String,
    /// Position in the service's listing (issue order).
    seq: u32,
}

impl CertRow {
    /// Takes the summary apart (a load converts 100k of them: no string
    /// is copied that can be moved).
    pub fn from_summary(s: CertSummary, seq: u32) -> CertRow {
        let name = sanitize_owned(s.name);
        let common_name = sanitize_owned(s.common_name);
        let mut text_key = String::with_capacity(name.len() + common_name.len() + 1);
        lower_into(&mut text_key, &name);
        text_key.push('\n');
        lower_into(&mut text_key, &common_name);
        let mut sort_key = String::with_capacity(name.len() + common_name.len() + 5);
        if !name.is_empty() {
            lower_into(&mut sort_key, &name);
            sort_key.push_str(" · ");
        }
        lower_into(&mut sort_key, &common_name);
        let mut serial = s.serial_number;
        serial.make_ascii_lowercase();
        let mut fingerprint = s.fingerprint_sha256;
        fingerprint.make_ascii_lowercase();
        CertRow {
            id: s.id,
            site_id: s.site_id,
            status: s.status,
            key_type: sanitize_owned(s.pkey_type),
            not_after_unix: parse_esa_time(&s.not_after).map_or(i64::MAX, |t| t.unix_timestamp()),
            not_after: sanitize_owned(s.not_after),
            serial,
            fingerprint,
            key_stored: s.private_key_stored,
            created: s.create_time,
            validity_days: s.validity_days.parse().unwrap_or(0),
            from_csr: s.kind == "csr",
            renewed: s.renewed_by.is_some(),
            successor: s.renewed_by,
            revoked: s.revoke_time.is_some(),
            name,
            common_name,
            text_key,
            sort_key,
            seq,
        }
    }

    /// What the table's first column shows: the Name label and the CN.
    pub fn label(&self) -> String {
        label(&self.name, &self.common_name)
    }

    /// Days until NotAfter, a started day counting as one: a certificate
    /// issued just now for N days shows N, one with an hour left shows 1.
    /// Past NotAfter the same way, negative: an hour ago is -1, never 0.
    pub fn days_left(&self, now: OffsetDateTime) -> Option<i64> {
        if self.not_after_unix == i64::MAX {
            return None;
        }
        Some(crate::api::days_shown_secs(
            self.not_after_unix - now.unix_timestamp(),
        ))
    }

    /// Whether this active certificate expires within `days` days: the
    /// API's expiring-soon rule ([`crate::api::expiring_within`]).
    pub fn expires_within(&self, now: OffsetDateTime, days: i64) -> bool {
        OffsetDateTime::from_unix_timestamp(self.not_after_unix)
            .is_ok_and(|na| crate::api::expiring_within(self.status, na, now, days))
    }

    fn matches(&self, q: &Query) -> bool {
        q.finder.find(self.text_key.as_bytes()).is_some()
            || (!q.hex.is_empty()
                && (self.id.starts_with(&q.hex)
                    || self.serial.starts_with(&q.hex)
                    || self.fingerprint.starts_with(&q.hex)))
    }
}

/// `s` made safe to draw, without a copy when it already is.
fn sanitize_owned(s: String) -> String {
    if s.chars().any(crate::text::is_dangerous) {
        sanitize(&s)
    } else {
        s
    }
}

/// Appends `s` in lower case (ASCII without a detour through a new String).
fn lower_into(out: &mut String, s: &str) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.push_str(&s.to_lowercase());
    }
}

/// "web · alice.example" (Name and CommonName), or the CN alone.
pub fn label(name: &str, common_name: &str) -> String {
    if name.is_empty() {
        common_name.to_owned()
    } else {
        format!("{name} · {common_name}")
    }
}

/// A normalised filter: lower-case text, and the same without `:` and
/// spaces for hex prefixes (fingerprints are often written `AB:CD:…`).
#[derive(Debug, Clone)]
struct Query {
    text: String,
    hex: String,
    /// A substring searcher for `text`, built once per keystroke.
    finder: memchr::memmem::Finder<'static>,
}

impl Default for Query {
    fn default() -> Self {
        Query::new("")
    }
}

impl Query {
    fn new(raw: &str) -> Query {
        let text = raw.trim().to_lowercase();
        let hex: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
        let hex = if hex.chars().all(|c| c.is_ascii_hexdigit()) {
            hex
        } else {
            String::new()
        };
        let finder = memchr::memmem::Finder::new(text.as_bytes()).into_owned();
        Query { text, hex, finder }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Issue order (same second: by name).
    Issued,
    Expiry,
    Status,
    Name,
}

impl SortKey {
    /// The order a key starts in: newest first by issue time (so a new
    /// certificate is at the top), otherwise ascending (soonest expiry,
    /// active first, A to Z).
    pub fn starts_descending(self) -> bool {
        self == SortKey::Issued
    }

    pub fn next(self) -> SortKey {
        match self {
            SortKey::Issued => SortKey::Expiry,
            SortKey::Expiry => SortKey::Status,
            SortKey::Status => SortKey::Name,
            SortKey::Name => SortKey::Issued,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Issued => "issued",
            SortKey::Expiry => "expiry",
            SortKey::Status => "status",
            SortKey::Name => "name",
        }
    }
}

fn status_rank(s: Status) -> u8 {
    match s {
        Status::Active => 0,
        Status::Revoked => 1,
        Status::Expired => 2,
    }
}

/// Rows, order, view and selection.
#[derive(Debug)]
pub struct CertTable {
    rows: Vec<CertRow>,
    order: Vec<u32>,
    view: Vec<u32>,
    selected: usize,
    /// First visible view index; the renderer keeps the selection in view.
    offset: Cell<usize>,
    /// Rows that fit at the last draw, for PgUp/PgDn.
    page: Cell<usize>,
    sort: SortKey,
    descending: bool,
    site: Option<u64>,
    /// Rows of the selected site, counted when the rows or the site change.
    site_total: usize,
    query: Query,
    raw_query: String,
}

impl Default for CertTable {
    fn default() -> Self {
        CertTable {
            rows: Vec::new(),
            order: Vec::new(),
            view: Vec::new(),
            selected: 0,
            offset: Cell::new(0),
            page: Cell::new(10),
            sort: SortKey::Issued,
            descending: SortKey::Issued.starts_descending(),
            site: None,
            site_total: 0,
            query: Query::default(),
            raw_query: String::new(),
        }
    }
}

impl CertTable {
    /// Replaces every row (after a reload), keeping the selected
    /// certificate selected when it still exists.
    pub fn replace_rows(&mut self, rows: Vec<CertRow>) {
        let keep = self.selected_row().map(|r| r.id.clone());
        self.rows = rows;
        self.rebuild_order();
        self.rebuild_view(keep.as_deref());
    }

    /// Replaces the rows of some sites (the first load reads a batch of
    /// sites at a time). Each site's rows stay in issue order, which is
    /// all a view shows. A batch that changes nothing (sites without
    /// certificates: most of a store of 30,000 sites) costs one scan and
    /// no sort.
    pub fn replace_sites_rows(&mut self, sites: &[u64], rows: Vec<CertRow>) {
        let keep = self.selected_row().map(|r| r.id.clone());
        let batch: std::collections::HashSet<u64> = sites.iter().copied().collect();
        let before = self.rows.len();
        self.rows.retain(|r| !batch.contains(&r.site_id));
        if rows.is_empty() && self.rows.len() == before {
            return;
        }
        self.rows.extend(rows);
        self.rebuild_order();
        self.rebuild_view(keep.as_deref());
    }

    /// Adds rows (a page of a remote listing as it arrives).
    pub fn append_rows(&mut self, rows: Vec<CertRow>) {
        let keep = self.selected_row().map(|r| r.id.clone());
        self.rows.extend(rows);
        self.rebuild_order();
        self.rebuild_view(keep.as_deref());
    }

    pub fn rows(&self) -> &[CertRow] {
        &self.rows
    }

    pub fn sort(&self) -> (SortKey, bool) {
        (self.sort, self.descending)
    }

    pub fn set_sort(&mut self, key: SortKey, descending: bool) {
        let keep = self.selected_row().map(|r| r.id.clone());
        self.sort = key;
        self.descending = descending;
        self.rebuild_order();
        self.rebuild_view(keep.as_deref());
    }

    pub fn set_site(&mut self, site: Option<u64>) {
        if self.site != site {
            self.site = site;
            self.selected = 0;
            self.offset.set(0);
            self.rebuild_view(None);
        }
    }

    pub fn query(&self) -> &str {
        &self.raw_query
    }

    /// Sets the filter; the view is rebuilt by one scan.
    pub fn set_query(&mut self, raw: &str) {
        if raw == self.raw_query {
            return;
        }
        let keep = self.selected_row().map(|r| r.id.clone());
        let query = Query::new(raw);
        // Typing on narrows: every row matching the longer query matches
        // the shorter one (substring and prefix alike), so only the
        // current view needs scanning.
        let narrowing = query.text.starts_with(&self.query.text);
        self.raw_query = raw.to_owned();
        self.query = query;
        if narrowing {
            self.narrow_view(keep.as_deref());
        } else {
            self.rebuild_view(keep.as_deref());
        }
    }

    fn narrow_view(&mut self, keep: Option<&str>) {
        let (rows, q) = (&self.rows, &self.query);
        if !q.text.is_empty() {
            self.view.retain(|&i| rows[i as usize].matches(q));
        }
        self.reselect(keep);
    }

    fn rebuild_order(&mut self) {
        let rows = &self.rows;
        let mut order: Vec<u32> = (0..rows.len() as u32).collect();
        match self.sort {
            // The listing is by issue time; within one second (bulk
            // issuance) its order is by random Id, so by name there.
            SortKey::Issued => order.sort_by(|&a, &b| {
                let (a, b) = (&rows[a as usize], &rows[b as usize]);
                a.created
                    .cmp(&b.created)
                    .then_with(|| a.sort_key.cmp(&b.sort_key))
                    .then(a.seq.cmp(&b.seq))
            }),
            SortKey::Expiry => order.sort_by_key(|&i| rows[i as usize].not_after_unix),
            SortKey::Status => order.sort_by_key(|&i| {
                let r = &rows[i as usize];
                (status_rank(r.status), r.not_after_unix)
            }),
            SortKey::Name => order.sort_by(|&a, &b| {
                let (a, b) = (&rows[a as usize], &rows[b as usize]);
                a.sort_key.cmp(&b.sort_key).then(a.seq.cmp(&b.seq))
            }),
        }
        if self.descending {
            order.reverse();
        }
        self.order = order;
    }

    fn rebuild_view(&mut self, keep: Option<&str>) {
        let (rows, site, q) = (&self.rows, self.site, &self.query);
        self.site_total = rows
            .iter()
            .filter(|r| site.is_none_or(|s| r.site_id == s))
            .count();
        self.view.clear();
        self.view.extend(self.order.iter().copied().filter(|&i| {
            let r = &rows[i as usize];
            site.is_none_or(|s| r.site_id == s) && (q.text.is_empty() || r.matches(q))
        }));
        self.reselect(keep);
    }

    fn reselect(&mut self, keep: Option<&str>) {
        let found = keep.and_then(|id| {
            self.view
                .iter()
                .position(|&i| self.rows[i as usize].id == id)
        });
        self.selected = found.unwrap_or(0).min(self.view.len().saturating_sub(1));
    }

    /// With a filter: how many rows of each other site match it, by
    /// site, in the order the sites first appear (one scan of the rows).
    pub fn matches_elsewhere(&self) -> Vec<(u64, usize)> {
        let mut out: Vec<(u64, usize)> = Vec::new();
        if self.query.text.is_empty() {
            return out;
        }
        for r in &self.rows {
            if Some(r.site_id) == self.site || !r.matches(&self.query) {
                continue;
            }
            match out.iter_mut().find(|(s, _)| *s == r.site_id) {
                Some((_, n)) => *n += 1,
                None => out.push((r.site_id, 1)),
            }
        }
        out
    }

    /// Rows in the view (the selected site, filtered).
    pub fn len(&self) -> usize {
        self.view.len()
    }

    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    /// Rows of the selected site, unfiltered.
    pub fn site_total(&self) -> usize {
        self.site_total
    }

    pub fn selected_index(&self) -> usize {
        self.selected
    }

    pub fn selected_row(&self) -> Option<&CertRow> {
        self.view
            .get(self.selected)
            .map(|&i| &self.rows[i as usize])
    }

    pub fn select_id(&mut self, id: &str) -> bool {
        match self
            .view
            .iter()
            .position(|&i| self.rows[i as usize].id == id)
        {
            Some(p) => {
                self.selected = p;
                true
            }
            None => false,
        }
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.view.is_empty() {
            return;
        }
        let last = self.view.len() - 1;
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    pub fn page(&self) -> isize {
        isize::try_from(self.page.get().max(1)).unwrap_or(1)
    }

    pub fn top(&mut self) {
        self.selected = 0;
    }

    pub fn bottom(&mut self) {
        self.selected = self.view.len().saturating_sub(1);
    }

    /// The rows to draw in a window of `height` lines: the first view
    /// index and the rows. Scrolls just enough to keep the selection in
    /// view.
    pub fn window(&self, height: usize) -> (usize, impl Iterator<Item = &CertRow>) {
        self.page.set(height.max(1));
        let mut offset = self.offset.get();
        if height == 0 || self.selected < offset {
            offset = self.selected;
        } else if self.selected >= offset + height {
            offset = self.selected + 1 - height;
        }
        // Fill the window after rows disappeared below it.
        offset = offset.min(self.view.len().saturating_sub(height));
        self.offset.set(offset);
        let end = (offset + height).min(self.view.len());
        let rows = self.view[offset.min(end)..end]
            .iter()
            .map(|&i| &self.rows[i as usize]);
        (offset, rows)
    }
}

#[cfg(test)]
pub(crate) mod tests;
