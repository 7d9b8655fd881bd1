//! Revoke, activate and delete: confirmations and refusals.

use super::*;

#[test]
fn activate_shows_why_it_was_revoked_and_warns_on_compromise_and_successors() {
    let mut h = Harness::new();
    let c = h.issue("leaked.example", "", 30);
    let svc = h.service.clone();
    svc.revoke(&c.id, Some(crate::pki::RevocationReason::KeyCompromise))
        .unwrap();
    h.step(Action::FocusGained);
    assert!(h.app.table.select_id(&c.id));
    h.ch('a');
    let screen = h.draw(80, 24);
    assert!(screen.contains("keyCompromise"), "{screen}");
    assert!(
        screen.contains("revoked for keyCompromise: its key may be known"),
        "{screen}"
    );
    h.ch('n');
    // Renewed with the old one revoked: the successor is named.
    let old = h.issue("rotated.example", "", 30);
    let new = svc.renew(&old.id, None, true).unwrap();
    h.step(Action::FocusGained);
    assert!(h.app.table.select_id(&old.id));
    h.ch('a');
    let Some(Popup::Confirm(cf)) = &h.app.popup else {
        panic!("no confirm")
    };
    assert!(!cf.compromised());
    assert_eq!(
        cf.successor,
        Some(("rotated.example".into(), new.certificate.status.to_string()))
    );
    let screen = h.draw(80, 24);
    assert!(
        screen.contains("its successor rotated.example is active"),
        "{screen}"
    );
}

#[test]
fn revoke_asks_names_the_certificate_and_takes_a_reason() {
    let mut h = Harness::new();
    let c = h.issue("victim.example", "laptop", 30);
    h.step(Action::FocusGained);
    h.ch('r');
    let Some(Popup::Confirm(conf)) = &h.app.popup else {
        panic!("no confirmation")
    };
    assert_eq!(conf.id, c.id);
    assert_eq!(conf.label, "laptop · victim.example");
    let screen = h.draw(80, 24);
    assert!(screen.contains("Revoke this certificate?") && screen.contains(&c.id));
    h.key(KeyCode::Right);
    h.key(KeyCode::Right); // keyCompromise
    h.ch('y');
    assert_eq!(
        h.note(),
        format!(
            "Revoked laptop · victim.example for keyCompromise (Id {}…)",
            &c.id[..8]
        )
    );
    assert!(h.note().chars().count() <= 78);
    let got = h.service.get(&c.id).unwrap();
    assert_eq!(got.status.as_str(), "revoked");
    assert_eq!(got.result.revoke_reason.as_deref(), Some("keyCompromise"));
    assert_eq!(
        h.app.table.selected_row().unwrap().status.as_str(),
        "revoked"
    );
    // n cancels.
    h.ch('a');
    h.ch('n');
    assert!(h.app.popup.is_none());
    assert_eq!(h.service.get(&c.id).unwrap().status.as_str(), "revoked");
}

#[test]
fn transitions_the_service_refuses_are_refused_at_once() {
    let mut h = Harness::new();
    let c = h.issue("active.example", "", 30);
    h.step(Action::FocusGained);
    let refused = |h: &mut Harness, key: char, says: &str| {
        h.ch(key);
        assert!(h.app.popup.is_none(), "{key}: {:?}", h.app.popup);
        assert_eq!(h.note(), says);
        assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Warning);
    };
    refused(
        &mut h,
        'D',
        "Delete needs a revoked or expired certificate; this one is active",
    );
    refused(
        &mut h,
        'a',
        "Activate needs a revoked certificate; this one is active",
    );
    assert_eq!(h.service.get(&c.id).unwrap().status.as_str(), "active");
    h.ch('r');
    h.ch('y');
    refused(
        &mut h,
        'r',
        "Revoke needs an active certificate; this one is revoked",
    );
    // From the details too.
    h.key(KeyCode::Enter);
    refused(
        &mut h,
        'r',
        "Revoke needs an active certificate; this one is revoked",
    );
    h.key(KeyCode::Esc);
    // Another process re-activates it before the table knows: the
    // confirmation opens, and the service's refusal shows its code.
    h.service.activate(&c.id).unwrap();
    h.ch('a');
    h.ch('y');
    let Some(Popup::Message(m)) = &h.app.popup else {
        panic!("no message")
    };
    assert_eq!(m.error.code, ErrorCode::StatusError);
    assert!(h.draw(80, 24).contains("Certificate.StatusError"));
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Error);
    h.key(KeyCode::Enter);
    assert!(h.app.popup.is_none());
    // Revoke, then delete: the row leaves the table.
    h.step(Action::FocusGained);
    h.ch('r');
    h.ch('y');
    h.ch('D');
    h.key(KeyCode::Enter);
    assert!(h.app.table.is_empty());
    assert!(h.note().starts_with("Deleted"));
}
