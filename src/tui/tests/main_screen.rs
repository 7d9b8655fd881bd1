//! The main screen: search, sorting, the sites list, store errors, a 100k table.

use super::*;

#[test]
fn search_filters_live_and_esc_clears() {
    let mut h = Harness::new();
    let a = h.issue("alpha.example", "", 30);
    h.issue("beta.example", "build", 30);
    h.step(Action::FocusGained);
    h.ch('/');
    assert_eq!(h.app.ctx(), Ctx::Search);
    h.typ("bu");
    assert_eq!(h.labels(), ["beta.example"]);
    h.key(KeyCode::Enter); // keep the filter
    assert_eq!(h.app.ctx(), Ctx::Main);
    assert_eq!(h.labels(), ["beta.example"]);
    h.key(KeyCode::Esc);
    assert_eq!(h.labels().len(), 2);
    // Id and fingerprint prefixes.
    h.ch('/');
    h.typ(&a.id[..6]);
    assert_eq!(h.labels(), ["alpha.example"]);
    h.key(KeyCode::Esc);
    h.ch('/');
    h.typ(&a.fingerprint_sha256[..8].to_uppercase());
    assert_eq!(h.labels(), ["alpha.example"]);
}

#[test]
fn a_filter_with_no_match_here_says_where_it_matches() {
    let mut h = Harness::new();
    fixture(&mut h);
    h.ch('/');
    h.typ("other");
    assert!(h.app.table.is_empty());
    let screen = h.draw(80, 24);
    assert!(screen.contains("Nothing matches “other” here;"), "{screen}");
    assert!(
        screen.contains("1 on other.example (Tab, then ↓ to that site)"),
        "{screen}"
    );
    // As it says: the filter stays, and the other site shows the match.
    h.key(KeyCode::Enter);
    h.key(KeyCode::Tab);
    h.key(KeyCode::Down);
    assert_eq!(h.labels(), ["other.example"]);
    // Matching nowhere: as before.
    h.key(KeyCode::Tab);
    h.ch('/');
    h.typ("zz");
    assert!(
        h.draw(80, 24)
            .contains("Nothing matches “otherzz”: Esc clears")
    );
}

#[test]
fn the_newest_certificate_is_at_the_top() {
    let mut h = Harness::new();
    h.issue("first.example", "", 30);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    h.issue("second.example", "", 30);
    h.step(Action::FocusGained);
    assert_eq!(h.labels(), ["second.example", "first.example"]);
    assert!(h.draw(80, 24).contains("sort: issued ↓"));
}

#[test]
fn q_leaves_the_details_and_an_id_cn_is_said_once() {
    let mut h = Harness::new();
    h.issue("q.example", "", 30);
    h.step(Action::FocusGained);
    h.key(KeyCode::Enter);
    assert!(matches!(h.app.screen, Screen::Details(_)));
    h.ch('q');
    assert!(matches!(h.app.screen, Screen::Main));
    assert!(!h.app.should_quit());
    // Issued without a CommonName: the Id is the CN, said once; the
    // result shows PkeyType.
    h.ch('n');
    h.ctrl('s');
    let Screen::Result(r) = &h.app.screen else {
        panic!("no result")
    };
    assert_eq!(r.resp.common_name, r.resp.id);
    assert_eq!(h.note(), format!("Issued {}", r.resp.id));
    assert!(h.draw(100, 40).contains("PkeyType            ECC"));
}

#[test]
fn sort_cycles_and_reverses() {
    let mut h = Harness::new();
    fixture(&mut h);
    assert_eq!(h.app.table.sort().0.label(), "issued");
    h.ch('s');
    assert_eq!(h.app.table.sort().0.label(), "expiry");
    assert_eq!(h.labels()[0], "old-laptop.example.com");
    h.ch('S');
    assert_eq!(h.labels()[0], "ci.example.com");
    h.ch('s');
    h.ch('s');
    assert_eq!(h.app.table.sort().0.label(), "name");
    assert_eq!(h.labels()[0], "alice@example.com");
}

#[test]
fn store_errors_are_shown_and_the_app_keeps_running() {
    let mut h = Harness::new();
    let sites = h.root().join("store/sites");
    std::fs::remove_dir_all(&sites).unwrap();
    std::fs::write(&sites, "not a folder").unwrap();
    h.step(Action::FocusGained);
    let e = h.app.load.error.as_ref().unwrap();
    assert_eq!(e.code, ErrorCode::InternalException);
    let screen = h.draw(80, 24);
    assert!(screen.contains("Cannot read the store"), "{screen}");
    // Still usable; once repaired the next poll reads it again.
    h.ch('?');
    assert!(matches!(h.app.popup, Some(Popup::Help(_))));
    h.key(KeyCode::Esc);
    std::fs::remove_file(&sites).unwrap();
    std::fs::create_dir(&sites).unwrap();
    h.step(Action::Tick);
    assert!(h.app.load.error.is_none());
}

#[test]
fn too_narrow_for_the_sites_list_tab_steps_through_sites() {
    let mut h = Harness::new();
    fixture(&mut h);
    let _ = h.draw(50, 20);
    h.key(KeyCode::Tab);
    assert_eq!(h.app.selected_site().unwrap().site_id, 42);
    assert!(h.draw(50, 20).contains("Certificates · other.example"));
    h.ch('k'); // still moves in the table, not in the hidden list
    assert_eq!(h.app.selected_site().unwrap().site_id, 42);
    let _ = h.draw(100, 30);
    h.key(KeyCode::Tab);
    assert_eq!(h.app.focus, crate::tui::app::Pane::Sites);
}

#[test]
fn hints_follow_the_selection() {
    let mut h = Harness::new();
    fixture(&mut h);
    let bar = |h: &Harness| {
        let s = h.draw(140, 24);
        s.lines().last().unwrap_or_default().to_owned()
    };
    // frontend: active
    assert!(bar(&h).contains("r revoke") && !bar(&h).contains("a activate"));
    h.ch('j');
    h.ch('j'); // batch: revoked
    assert!(bar(&h).contains("a activate") && bar(&h).contains("D delete"));
    assert!(!bar(&h).contains("r revoke"));
}

/// 100,000 certificates: a frame and a filter keystroke work on the full
/// table (times are reported, not asserted: `benches/tui.rs` measures).
#[test]
fn a_100k_table_draws_only_its_window() {
    let mut h = Harness::new();
    fixture(&mut h);
    let rows: Vec<CertRow> = (0..100_000u32)
        .map(|i| {
            let s = summary(
                i,
                SITE,
                "",
                &format!("client-{i}.example"),
                "active",
                "2027-01-01T00:00:00Z",
            );
            CertRow::from_summary(s, i)
        })
        .collect();
    h.app.table.replace_rows(rows);
    h.key(KeyCode::Home);
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let start = std::time::Instant::now();
    t.draw(|f| ui::draw(f, &h.app)).unwrap();
    let frame = start.elapsed();
    // A list longer than the window says where the selection is.
    let screen = t.backend().to_string();
    assert!(screen.contains(" 1/100000 · sort: issued"), "{screen}");
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    t.draw(|f| ui::draw(f, &h.app)).unwrap();
    assert!(t.backend().to_string().contains(" 3/100000 · sort"));
    h.ch('/');
    let start = std::time::Instant::now();
    h.ch('7');
    let filtered = start.elapsed();
    t.draw(|f| ui::draw(f, &h.app)).unwrap();
    let keystroke = start.elapsed();
    eprintln!(
        "100k rows: frame {frame:?}, filter keystroke {filtered:?}, with its frame {keystroke:?}"
    );
    // The filter narrowed the table, and the frame shows its first rows.
    assert!(h.app.table.len() < 100_000 && h.app.table.len() > 20);
    let screen = t.backend().to_string();
    let (_, mut window) = h.app.table.window(5);
    for row in window.by_ref() {
        assert!(
            screen.contains(&row.common_name),
            "{} in\n{screen}",
            row.common_name
        );
    }
}

/// A remote hands its rows over page by page while the load runs: the
/// first page is drawn at once, not "Reading the store…" until the end.
#[test]
fn rows_of_a_first_page_show_while_the_load_runs() {
    let h = Harness::new();
    let made = h.issue("paged.example", "first page", 30);
    let mut app = App::new(std::sync::Arc::new(h.service.clone()), Theme::plain());
    app.start(None);
    assert!(!app.take_effects().is_empty(), "the load job was asked for");
    let before = render(&app, 100, 20);
    assert!(format!("{:?}", before.backend()).contains("Reading the store…"));
    let listed = h.service.list(&ListQuery::default()).unwrap();
    let row = listed.response.result.into_iter().next().unwrap();
    assert_eq!(row.id, made.id);
    app.done(Done::Page(vec![CertRow::from_summary(row, 0)]));
    let screen = format!("{:?}", render(&app, 100, 20).backend());
    assert!(screen.contains("first page · paged.example"), "{screen}");
    assert!(!screen.contains("Reading the store…"), "{screen}");
}
