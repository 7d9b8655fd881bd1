//! Drawing at any size, colours, sanitising, the README key map.

use super::*;

/// Every screen at every awkward size: nothing may panic.
#[test]
fn any_size_draws_without_panicking() {
    let mut h = Harness::new();
    h.issue(
        "size.example",
        "a very long label that will not fit anywhere at all",
        3650,
    );
    h.step(Action::FocusGained);
    let sizes = [
        (0, 0),
        (1, 1),
        (2, 1),
        (1, 40),
        (10, 3),
        (39, 9),
        (40, 10),
        (41, 11),
        (45, 12),
        (59, 14),
        (60, 15),
        (80, 24),
        (300, 5),
        (200, 80),
    ];
    type Setup = Box<dyn Fn(&mut Harness)>;
    let mut states: Vec<Setup> = vec![
        Box::new(|_| {}),
        Box::new(|h| h.ch('/')),
        Box::new(|h| h.ch('?')),
        Box::new(|h| h.ch('r')),
        Box::new(|h| h.key(KeyCode::Enter)),
        Box::new(|h| h.ch('n')),
        Box::new(|h| {
            h.ch('n');
            h.paste(&csr_pem("tiny.example"));
        }),
        Box::new(|h| {
            h.ch('n');
            h.ctrl('s');
        }),
        Box::new(|h| {
            // A message: the certificate went away behind the table's back.
            let id = h.app.table.selected_row().unwrap().id.clone();
            h.service.revoke(&id, None).unwrap();
            h.service.delete(&id).unwrap();
            h.ch('c');
            assert!(matches!(h.app.popup, Some(Popup::Message(_))));
        }),
    ];
    for setup in states.drain(..) {
        let mut h = Harness::new();
        h.issue(
            "size.example",
            "a very long label that will not fit anywhere at all",
            3650,
        );
        h.step(Action::FocusGained);
        setup(&mut h);
        for (w, ht) in sizes {
            let _ = render(&h.app, w, ht);
        }
    }
}

#[test]
fn no_colour_at_all_with_no_color_and_selection_is_reversed() {
    let mut h = Harness::new();
    fixture(&mut h);
    let t = render(&h.app, 100, 30);
    let buf = t.backend().buffer();
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
        "a colour was used with NO_COLOR"
    );
    // The selected row (frontend) is REVERSED and BOLD.
    let y = (0..buf.area.height)
        .find(|&y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .contains("› web-frontend")
        })
        .unwrap();
    let cell = &buf[(40, y)];
    assert!(cell.modifier.contains(Modifier::REVERSED | Modifier::BOLD));
    h.app.theme = Theme::colored();
    let t = render(&h.app, 100, 30);
    assert!(
        t.backend()
            .buffer()
            .content
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
    assert!(Theme::colored().uses_color() && !Theme::plain().uses_color());
}

#[test]
fn store_text_is_sanitised_before_it_is_drawn() {
    let mut h = Harness::new();
    fixture(&mut h);
    let mut evil = summary(
        9,
        SITE,
        "x\u{1b}[2Jy",
        "\u{202e}evil",
        "active",
        "2027-01-01T00:00:00Z",
    );
    evil.site_name = "example.com".into();
    let mut rows: Vec<CertRow> = h.app.table.rows().to_vec();
    rows.push(CertRow::from_summary(evil, 99));
    h.app.table.replace_rows(rows);
    let screen = h.draw(120, 30);
    assert!(!screen.contains('\u{1b}') && !screen.contains('\u{202e}'));
    assert!(screen.contains("x\\u{1b}[2Jy"));
}

// ---- the README's key map ---------------------------------------------------------

/// The key map as a Markdown table, from the same table as the help.
fn key_map_markdown() -> String {
    use crate::tui::keys::{EDIT_KEYS, HELP_SECTIONS, help_rows};
    let mut out = String::from("| Where | Keys | What |\n| --- | --- | --- |\n");
    for (title, ctxs) in HELP_SECTIONS {
        for (keys, text) in help_rows(ctxs) {
            out.push_str(&format!("| {title} | `{keys}` | {text} |\n"));
        }
    }
    for (keys, text) in EDIT_KEYS {
        let title = crate::tui::keys::EDIT_TITLE;
        out.push_str(&format!("| {title} | `{keys}` | {text} |\n"));
    }
    out
}

#[test]
fn the_readme_key_map_matches_the_bindings() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = key_map_markdown();
    assert!(
        readme.contains(&table),
        "README.md's key map is out of date; replace it with:\n\n{table}"
    );
}
