//! Whole screens as insta snapshots.

use super::*;

#[test]
fn snapshot_main_screen() {
    let mut h = Harness::new();
    fixture(&mut h);
    snapshot!("main_120x30", h.draw(120, 30));
    snapshot!("main_80x24", h.draw(80, 24));
    snapshot!("main_tiny_30x8", h.draw(30, 8));
    h.ch('/');
    h.typ("example");
    snapshot!("main_search_80x24", h.draw(80, 24));
}

#[test]
fn every_column_is_shown_at_80x24() {
    let mut h = Harness::new();
    fixture(&mut h);
    let screen = h.draw(80, 24);
    let row = screen
        .lines()
        .find(|l| l.contains("› web-frontend"))
        .expect(&screen);
    // Name with at least 14 columns, status, key type, NotAfter, days
    // left, short serial.
    for part in [
        "web-frontend …",
        "active",
        "P-256",
        "2027-03-01",
        "273d",
        "41ab",
    ] {
        assert!(row.contains(part), "{part} in {row}");
    }
    assert!(screen.contains("Ed25519"), "{screen}");
    assert!(screen.contains("RSA4k"), "{screen}");
}

#[test]
fn too_small_says_so_in_full_at_the_smallest_sizes() {
    let h = Harness::new();
    for (w, ht) in [(20, 5), (30, 8), (39, 9), (12, 2), (5, 1)] {
        let screen = h.draw(w, ht);
        let text: String = screen
            .lines()
            .map(|l| l.trim_matches('"').trim())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!text.contains('…'), "{w}×{ht}: {screen}");
        assert!(text.contains("40×10"), "{w}×{ht}: {screen}");
        if w >= 20 {
            let size = format!("{w}×{ht}");
            assert!(text.contains("Terminal too small:"), "{w}×{ht}: {screen}");
            assert!(text.contains(&size), "{w}×{ht}: {screen}");
        }
    }
    snapshot!("too_small_20x5", h.draw(20, 5));
}

#[test]
fn snapshot_confirm_revoke() {
    let mut h = Harness::new();
    fixture(&mut h);
    h.ch('r');
    h.key(KeyCode::Right);
    h.key(KeyCode::Right);
    snapshot!("confirm_revoke_80x24", h.draw(80, 24));
}

#[test]
fn snapshot_renew_popup() {
    let mut h = Harness::new();
    fixture(&mut h);
    h.ch('R');
    snapshot!("renew_80x24", h.draw(80, 24));
    h.key(KeyCode::Tab);
    h.ch(' ');
    snapshot!("renew_revoke_old_80x24", h.draw(80, 24));
}

#[test]
fn snapshot_issue_form_with_an_inline_error() {
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Backspace);
    h.typ("4000");
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.typ("client-7.example.com");
    snapshot!("form_generate_error_80x24", h.draw(80, 24));
}

#[test]
fn snapshot_issue_form_csr_mode() {
    let mut h = Harness::new();
    h.ch('n');
    h.paste(&csr_pem("csr.example.com"));
    snapshot!("form_csr_80x24", h.draw(80, 24));
}

#[test]
fn snapshot_result_and_details() {
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Down);
    h.key(KeyCode::Right);
    h.key(KeyCode::Right);
    h.key(KeyCode::Right); // Ed25519: fixed-size PEMs
    h.key(KeyCode::Down);
    h.typ("alice.example.com");
    h.key(KeyCode::Down);
    h.typ("alice's laptop");
    h.ctrl('s');
    snapshot!("result_100x40", h.draw(100, 40));
    h.key(KeyCode::Esc);
    h.key(KeyCode::Enter);
    let Screen::Details(d) = &h.app.screen else {
        panic!("no details")
    };
    let nb = clock::parse_esa_time(&d.get.result.not_before).unwrap();
    h.app.set_clock(nb + time::Duration::hours(1));
    snapshot!("details_100x40", h.draw(100, 40));
}

#[test]
fn snapshot_result_when_the_key_is_not_kept() {
    let mut h = Harness::with_store("keep_private_keys = false");
    h.ch('n');
    h.key(KeyCode::Down);
    h.key(KeyCode::Right);
    h.key(KeyCode::Right);
    h.key(KeyCode::Right);
    h.key(KeyCode::Down);
    h.typ("once.example.com");
    h.ctrl('s');
    h.key(KeyCode::Esc);
    snapshot!("result_key_not_kept_100x30", h.draw(100, 30));
}

#[test]
fn snapshot_help() {
    let mut h = Harness::new();
    fixture(&mut h);
    h.ch('?');
    snapshot!("help_100x60", h.draw(100, 60));
}
