//! The CA passphrase popup.

use super::*;

/// `[ca] protect_key`: the TUI asks for the CA passphrase (twice for a new
/// CA) before an operation that signs, runs the operation with it, and
/// asks again when the service refuses it; Esc changes nothing.
#[test]
fn a_protected_ca_key_asks_for_its_passphrase() {
    let protected = config_text("").replace("[ca]\n", "[ca]\nprotect_key = true\n");
    let mut h = Harness::with_config(&protected);
    h.ch('n');
    h.key(KeyCode::Down); // Key type
    h.key(KeyCode::Down);
    h.typ("locked.example");
    h.key(KeyCode::Enter);
    // No CA yet: a new passphrase, typed twice, before anything runs.
    let Some(Popup::Passphrase(p)) = &h.app.popup else {
        panic!("no passphrase popup: {:?}", h.app.popup)
    };
    assert_eq!(p.purpose, crate::service::PassphrasePurpose::New);
    assert_eq!(h.app.ctx(), Ctx::Passphrase);
    assert!(h.form().submitting.is_none());
    h.typ("first try");
    h.key(KeyCode::Enter);
    h.typ("first trx");
    h.key(KeyCode::Enter);
    let screen = h.draw(80, 24);
    assert!(screen.contains("the two passphrases differ"), "{screen}");
    assert!(
        screen.contains("•••••••••") && !screen.contains("first tr"),
        "{screen}"
    );
    snapshot!("passphrase_new_80x24", screen);
    // Esc: nothing issued, no CA made, the form is still there.
    h.key(KeyCode::Esc);
    assert!(h.app.popup.is_none());
    assert!(matches!(h.app.screen, Screen::Form(_)));
    assert!(!h.service.sites_with_ca().unwrap().contains(&SITE));
    assert!(!h.service.ca_key_protected(SITE).unwrap());
    // Again, typed the same twice: issued, with an encrypted CA key.
    h.key(KeyCode::Enter);
    h.typ("correct horse");
    h.key(KeyCode::Tab);
    h.typ("correct horse");
    h.key(KeyCode::Enter);
    let Screen::Result(r) = &h.app.screen else {
        panic!("no result: {:?} {:?}", h.app.screen, h.app.popup)
    };
    let id = r.resp.id.clone();
    assert!(h.service.ca_key_protected(SITE).unwrap());
    h.key(KeyCode::Esc);

    // Another session on the same store: revoking signs the CRL, so it asks.
    let cfg = config::parse(&protected, &h.root().join("config.toml")).unwrap();
    let mut app = App::new(
        std::sync::Arc::new(Service::open(cfg).unwrap()),
        Theme::plain(),
    );
    app.start(None);
    h.app = app;
    h.run();
    h.app.table.select_id(&id);
    h.ch('r');
    h.ch('y');
    let Some(Popup::Passphrase(p)) = &h.app.popup else {
        panic!("no passphrase popup: {:?}", h.app.popup)
    };
    assert_eq!(p.purpose, crate::service::PassphrasePurpose::Unlock);
    // A wrong one: the job runs, is refused, comes back; nothing changed.
    h.typ("wrong horse");
    h.key(KeyCode::Enter);
    let Some(Popup::Passphrase(p)) = &h.app.popup else {
        panic!("the popup did not come back: {:?}", h.app.popup)
    };
    assert!(p.error.is_some());
    assert!(h.app.busy.is_none());
    assert_eq!(h.service.get(&id).unwrap().status.as_str(), "active");
    let screen = h.draw(80, 24);
    assert!(!screen.contains("wrong horse"), "{screen}");
    // The right one: revoked.
    h.typ("correct horse");
    h.key(KeyCode::Enter);
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
    assert_eq!(h.service.get(&id).unwrap().status.as_str(), "revoked");
    // Kept for the session: activating does not ask again.
    h.ch('a');
    h.ch('y');
    assert!(h.app.popup.is_none(), "{:?}", h.app.popup);
    assert_eq!(h.service.get(&id).unwrap().status.as_str(), "active");
}
