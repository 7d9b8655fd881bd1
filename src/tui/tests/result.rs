//! The result view and the only copy of a key.

use super::*;

#[test]
fn without_a_kept_key_the_result_warns_and_esc_asks_twice() {
    let mut h = Harness::with_store("keep_private_keys = false");
    h.ch('n');
    h.ctrl('s');
    assert!(h.draw(100, 30).contains("will not be shown again"));
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.screen, Screen::Result(_)));
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Warning);
    // The whole warning fits at 80 columns.
    let screen = h.draw(80, 24);
    assert!(screen.contains("K copies it; Esc again leaves"), "{screen}");
    h.ch('J');
    assert!(h.copies[0].1.contains("PRIVATE KEY") && h.copies[0].2);
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.screen, Screen::Main));
    // The table cannot copy a key that was not kept: it says why.
    h.ch('K');
    assert!(h.app.popup.is_none());
    assert!(
        h.note().contains("keep_private_keys = false"),
        "{}",
        h.note()
    );
}

#[test]
fn without_a_kept_key_ctrl_c_on_the_result_asks_twice() {
    let mut h = Harness::with_store("keep_private_keys = false");
    h.ch('n');
    h.ctrl('s');
    h.ctrl('c');
    assert!(!h.app.should_quit());
    assert!(matches!(h.app.screen, Screen::Result(_)));
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Warning);
    let screen = h.draw(80, 24);
    assert!(
        screen.contains("K copies it; Ctrl-C again quits"),
        "{screen}"
    );
    h.ctrl('c');
    assert!(h.app.should_quit());
    // With the key kept, Ctrl-C quits at once.
    let mut h = Harness::new();
    h.ch('n');
    h.ctrl('s');
    assert!(matches!(h.app.screen, Screen::Result(_)));
    h.ctrl('c');
    assert!(h.app.should_quit());
}
