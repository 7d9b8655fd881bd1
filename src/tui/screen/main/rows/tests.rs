//! The table's filter, sort and window, and the row summary the TUI tests share.

use super::*;

/// A row as the service would describe it, for tests of the table and
/// the screens.
pub fn summary(
    seq: u32,
    site: u64,
    name: &str,
    cn: &str,
    status: &str,
    not_after: &str,
) -> CertSummary {
    let id = format!("{seq:08x}{}", "0".repeat(24));
    CertSummary {
        id: id.clone(),
        name: name.into(),
        common_name: cn.into(),
        status: status.parse().expect("a test status"),
        kind: "generated".into(),
        issuer: "example.com Client CA".into(),
        san: String::new(),
        serial_number: format!("{:02x}{}", seq + 0x40, "ab".repeat(15)),
        fingerprint_sha256: format!("{:04x}{}", seq * 7 + 0x1000, "cd".repeat(30)),
        signature_algorithm: "ECDSA-SHA256".into(),
        pubkey_algorithm: "ECC".into(),
        ca_certificate_id: "c".repeat(32),
        not_before: "2026-01-01T00:00:00Z".into(),
        not_after: not_after.into(),
        create_time: format!("2026-01-01T00:00:{:02}Z", seq % 60),
        update_time: "2026-01-01T00:00:00Z".into(),
        site_id: site,
        site_name: "example.com".into(),
        pkey_type: "ECC_256".into(),
        validity_days: "365".into(),
        private_key_stored: true,
        revoke_time: None,
        revoke_reason: None,
        renewed_from: None,
        renewed_by: None,
    }
}

fn table() -> CertTable {
    let rows = [
        summary(
            1,
            1,
            "web",
            "alice.example",
            "active",
            "2026-06-01T00:00:00Z",
        ),
        summary(2, 1, "", "bob.example", "revoked", "2026-03-01T00:00:00Z"),
        summary(
            3,
            2,
            "ops",
            "carol.example",
            "active",
            "2026-02-01T00:00:00Z",
        ),
        summary(
            4,
            1,
            "Batch",
            "dave.example",
            "expired",
            "2025-12-01T00:00:00Z",
        ),
    ];
    let mut t = CertTable::default();
    t.replace_rows(
        rows.iter()
            .enumerate()
            .map(|(i, s)| CertRow::from_summary(s.clone(), i as u32))
            .collect(),
    );
    t.set_site(Some(1));
    t
}

fn ids(t: &CertTable) -> Vec<String> {
    let (_, rows) = t.window(100);
    rows.map(|r| r.common_name.clone()).collect()
}

#[test]
fn view_is_the_selected_site_newest_first() {
    let mut t = table();
    assert_eq!(t.sort(), (SortKey::Issued, true));
    assert_eq!(ids(&t), ["dave.example", "bob.example", "alice.example"]);
    t.set_sort(SortKey::Issued, false);
    assert_eq!(ids(&t), ["alice.example", "bob.example", "dave.example"]);
    assert_eq!(t.site_total(), 3);
}

#[test]
fn filter_by_text_and_by_hex_prefixes() {
    let mut t = table();
    t.set_query("BOB");
    assert_eq!(ids(&t), ["bob.example"]);
    t.set_query("batch");
    assert_eq!(ids(&t), ["dave.example"]);
    t.set_query("00000001");
    assert_eq!(ids(&t), ["alice.example"]);
    // Serial prefix, fingerprint prefix with colons.
    t.set_query("42ab");
    assert_eq!(ids(&t), ["bob.example"]);
    t.set_query("10:0e");
    assert_eq!(ids(&t), ["bob.example"]);
    t.set_query("nothing-matches");
    assert!(t.is_empty() && t.selected_row().is_none());
    t.set_query("");
    assert_eq!(t.len(), 3);
}

#[test]
fn sorting_keeps_the_selection() {
    let mut t = table();
    t.move_by(1);
    assert_eq!(t.selected_row().unwrap().common_name, "bob.example");
    t.set_sort(SortKey::Expiry, false);
    assert_eq!(ids(&t), ["dave.example", "bob.example", "alice.example"]);
    assert_eq!(t.selected_row().unwrap().common_name, "bob.example");
    t.set_sort(SortKey::Status, false);
    assert_eq!(ids(&t), ["alice.example", "bob.example", "dave.example"]);
    // By the label as shown: "batch · dave", "bob", "web · alice".
    t.set_sort(SortKey::Name, true);
    assert_eq!(ids(&t), ["alice.example", "bob.example", "dave.example"]);
}

#[test]
fn window_scrolls_with_the_selection() {
    let mut rows = Vec::new();
    for i in 0..50 {
        rows.push(CertRow::from_summary(
            summary(i, 1, "", &format!("c{i}"), "active", "2027-01-01T00:00:00Z"),
            i,
        ));
    }
    let mut t = CertTable::default();
    t.replace_rows(rows);
    assert_eq!(t.window(10).0, 0);
    t.move_by(15);
    assert_eq!(t.window(10).0, 6);
    t.move_by(-100);
    assert_eq!(t.window(10).0, 0);
    t.bottom();
    let (off, rows) = t.window(10);
    assert_eq!((off, rows.count()), (40, 10));
    assert_eq!(t.window(0).1.count(), 0);
}

#[test]
fn days_left_counts_started_days() {
    use time::macros::datetime;
    let r = CertRow::from_summary(summary(1, 1, "", "x", "active", "2026-01-31T00:00:00Z"), 0);
    // Issued just now for 30 days: 30, a second later still 30.
    assert_eq!(r.days_left(datetime!(2026-01-01 00:00:00 UTC)), Some(30));
    assert_eq!(r.days_left(datetime!(2026-01-01 00:00:01 UTC)), Some(30));
    assert_eq!(r.days_left(datetime!(2026-01-30 23:00:00 UTC)), Some(1));
    assert_eq!(r.days_left(datetime!(2026-01-31 00:00:00 UTC)), Some(0));
    // Past: an hour ago is -1, two whole days -2.
    assert_eq!(r.days_left(datetime!(2026-01-31 01:00:00 UTC)), Some(-1));
    assert_eq!(r.days_left(datetime!(2026-02-02 00:00:00 UTC)), Some(-2));
    // Expiring soon: less than 30 days on the exact time.
    assert!(!r.expires_within(datetime!(2026-01-01 00:00:00 UTC), 30));
    assert!(r.expires_within(datetime!(2026-01-01 00:00:01 UTC), 30));
    assert!(!r.expires_within(datetime!(2026-02-01 00:00:00 UTC), 30));
}

/// 100,000 rows: a filter keystroke must stay far under a frame (16 ms)
/// in a release build; debug builds only report the time.
#[test]
fn filtering_100k_rows_narrows_correctly() {
    let rows: Vec<CertRow> = (0..100_000u32)
        .map(|i| {
            CertRow::from_summary(
                summary(
                    i,
                    1 + u64::from(i % 2),
                    "",
                    &format!("client-{i}.example"),
                    "active",
                    "2027-01-01T00:00:00Z",
                ),
                i,
            )
        })
        .collect();
    let mut t = CertTable::default();
    t.replace_rows(rows);
    t.set_site(Some(1));
    // A query that matches nothing, then one that widens again (a
    // full scan), then narrowing ones. How long they take is measured
    // by `benches/tui.rs`, not here.
    t.set_query("zz");
    assert_eq!(t.len(), 0);
    t.set_query("c");
    assert_eq!(t.len(), 50_000);
    for q in ["cl", "cli", "client-9", "client-99", "client-999"] {
        t.set_query(q);
        let expected = (0..100_000u32)
            .filter(|i| i % 2 == 0 && format!("client-{i}.example").contains(q))
            .count();
        assert_eq!(t.len(), expected, "{q}");
    }
}
