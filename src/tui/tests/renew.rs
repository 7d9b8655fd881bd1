//! The renew popup and renewals.

use super::*;

#[test]
fn renew_asks_first_and_keeps_the_old_one_valid_by_default() {
    let mut h = Harness::new();
    let old = h.issue("renew.example", "laptop", 30);
    h.step(Action::FocusGained);
    h.ch('R');
    assert_eq!(h.app.ctx(), Ctx::Renew);
    let Some(Popup::Renew(r)) = &h.app.popup else {
        panic!("no renew popup")
    };
    // The old certificate's validity, and no revocation, unless changed.
    assert_eq!(r.id, old.id);
    assert_eq!(r.label, "laptop · renew.example");
    assert_eq!(r.days.value(), "30");
    assert!(!r.revoke_old);
    let screen = h.draw(80, 24);
    assert!(screen.contains("Renew this certificate?"), "{screen}");
    assert!(screen.contains("STAYS VALID"), "{screen}");
    // Enter hands a job to the runtime, with a spinner in the status line.
    h.app.handle_event(&TermEvent::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    assert!(h.app.popup.is_none());
    assert!(
        h.app
            .busy
            .as_deref()
            .unwrap()
            .starts_with("Renewing laptop")
    );
    h.run();
    assert!(h.app.busy.is_none());
    let Screen::Result(v) = &h.app.screen else {
        panic!("no result: {:?}", h.app.screen)
    };
    let n = v.renewal.as_ref().unwrap();
    assert_eq!((n.old_id.as_str(), n.old_revoked), (old.id.as_str(), false));
    assert_eq!(n.old_status.as_str(), "active");
    assert_eq!(v.resp.validity_days, "30");
    assert_eq!(v.resp.common_name, "renew.example");
    let new_id = v.resp.id.clone();
    let screen = h.draw(100, 40);
    assert!(screen.contains("Certificate renewed"), "{screen}");
    assert!(
        screen.contains("The old certificate STAYS VALID"),
        "{screen}"
    );
    let got = h.service.get(&old.id).unwrap();
    assert_eq!(got.status.as_str(), "active");
    assert_eq!(got.result.renewed_by.as_deref(), Some(new_id.as_str()));
    // J copies the RenewResponse, as `renew --json` prints it.
    h.ch('J');
    assert!(h.copies[0].1.contains("\"RenewedFrom\""));
    // Back in the table, the successor is selected; the old one can no
    // longer be renewed, so the hint is gone.
    h.key(KeyCode::Esc);
    assert_eq!(h.app.table.selected_row().unwrap().id, new_id);
    assert!(h.app.table.select_id(&old.id));
    assert!(!h.app.applies(crate::tui::action::Cmd::Renew));
    assert!(h.app.applies(crate::tui::action::Cmd::Revoke));
}

#[test]
fn the_renew_popup_answers_y_and_n_and_days_take_digits_only() {
    let mut h = Harness::new();
    h.issue("yn.example", "", 30);
    h.step(Action::FocusGained);
    // n cancels, from the ValidityDays field too.
    h.ch('R');
    h.ch('n');
    assert!(h.app.popup.is_none());
    assert!(h.note().contains("cancelled"), "{}", h.note());
    // Letters are not typed into ValidityDays; digits are; a paste keeps
    // its digits only.
    h.ch('R');
    h.typ("x1");
    h.paste("2 days");
    let Some(Popup::Renew(r)) = &h.app.popup else {
        panic!("no renew popup")
    };
    assert_eq!(r.days.value(), "3012");
    assert!(r.days_error.is_none());
    for _ in 0..4 {
        h.key(KeyCode::Backspace);
    }
    h.typ("60");
    // y renews.
    h.ch('y');
    let Screen::Result(v) = &h.app.screen else {
        panic!("no result: {:?}", h.app.screen)
    };
    assert_eq!(v.resp.validity_days, "60");
    h.key(KeyCode::Esc);
    // The issue form's ValidityDays takes digits only as well.
    h.ch('n');
    assert_eq!(h.form().focus, Field::Days);
    h.typ("ab-");
    h.paste("7x");
    assert_eq!(h.form().days.value(), "3657");
}

#[test]
fn renew_with_another_validity_and_the_old_one_revoked() {
    let mut h = Harness::new();
    let old = h.issue("rotate.example", "", 30);
    h.step(Action::FocusGained);
    h.key(KeyCode::Enter); // from the details this time
    h.ch('R');
    // Typed days, checked as typed by the service's rule.
    h.key(KeyCode::Backspace);
    h.key(KeyCode::Backspace);
    h.typ("0");
    let Some(Popup::Renew(r)) = &h.app.popup else {
        panic!("no renew popup")
    };
    assert_eq!(
        r.days_error.as_ref().unwrap().code,
        ErrorCode::InvalidValidityDays
    );
    assert!(h.draw(80, 24).contains("InvalidParameter.ValidityDays"));
    h.key(KeyCode::Enter); // refused in the popup: nothing runs
    assert!(matches!(h.app.popup, Some(Popup::Renew(_))));
    h.key(KeyCode::Backspace);
    h.typ("90");
    h.key(KeyCode::Tab);
    h.ch(' '); // Revoke old: yes
    let Some(Popup::Renew(r)) = &h.app.popup else {
        panic!("no renew popup")
    };
    assert!(r.revoke_old && r.days_error.is_none());
    // What is typed is what is shown: 99999 (past the range) in full;
    // more digits than the field takes are not taken.
    h.key(KeyCode::BackTab);
    h.ctrl('u');
    h.typ("999999");
    let Some(Popup::Renew(r)) = &h.app.popup else {
        panic!("no renew popup")
    };
    assert_eq!(r.days.value(), "99999");
    let screen = h.draw(80, 24);
    assert!(screen.contains("ValidityDays 99999"), "{screen}");
    h.ctrl('u');
    h.typ("90");
    h.key(KeyCode::Tab);
    assert!(h.draw(80, 24).contains("REVOKED at once"));
    h.key(KeyCode::Enter);
    let Screen::Result(v) = &h.app.screen else {
        panic!("no result: {:?}", h.app.screen)
    };
    assert_eq!(v.resp.validity_days, "90");
    assert!(v.renewal.as_ref().unwrap().old_revoked);
    assert!(h.draw(100, 40).contains("now REVOKED"));
    let got = h.service.get(&old.id).unwrap();
    assert_eq!(got.status.as_str(), "revoked");
    assert_eq!(got.result.revoke_reason.as_deref(), Some("superseded"));
}

#[test]
fn renewals_the_service_refuses_do_not_open_the_popup() {
    let mut h = Harness::new();
    let c = h.issue("gone.example", "", 30);
    h.service.revoke(&c.id, None).unwrap();
    h.step(Action::FocusGained);
    assert!(!h.app.applies(crate::tui::action::Cmd::Renew));
    h.ch('R');
    assert!(h.app.popup.is_none());
    assert_eq!(
        h.note(),
        "A revoked certificate is not renewed: activate it first, or issue a new one"
    );
    // Renewed once: refused while the successor exists.
    h.service.activate(&c.id).unwrap();
    let next = h.service.renew(&c.id, None, false).unwrap();
    h.step(Action::FocusGained);
    assert!(h.app.table.select_id(&c.id));
    h.ch('R');
    assert!(h.app.popup.is_none());
    assert_eq!(
        h.note(),
        format!(
            "Already renewed by {}: renew that one instead",
            next.certificate.id
        )
    );
}

#[test]
fn refused_renewals_show_the_esa_code_and_esc_cancels() {
    let mut h = Harness::new();
    let c = h.issue("gone.example", "", 30);
    h.step(Action::FocusGained);
    // Revoked by another process after the table was read: the popup
    // opens, and the service refuses.
    h.service.revoke(&c.id, None).unwrap();
    h.ch('R');
    assert!(matches!(h.app.popup, Some(Popup::Renew(_))));
    h.key(KeyCode::Enter);
    let Some(Popup::Message(m)) = &h.app.popup else {
        panic!("no message: {:?}", h.app.popup)
    };
    assert_eq!(m.error.code, ErrorCode::StatusError);
    let screen = h.draw(80, 24);
    assert!(screen.contains("Renewal refused") && screen.contains("Certificate.StatusError"));
    h.key(KeyCode::Enter);
    // Esc in the popup issues nothing.
    let before = h.service.list(&ListQuery::default()).unwrap();
    h.ch('R');
    h.key(KeyCode::Esc);
    assert!(h.app.popup.is_none());
    assert!(h.note().contains("nothing was issued"));
    let after = h.service.list(&ListQuery::default()).unwrap();
    assert_eq!(before.response.total_count, after.response.total_count);
}

#[test]
fn a_renewal_that_ends_while_a_form_is_open_waits_for_it() {
    let mut h = Harness::new();
    h.issue("wait.example", "", 30);
    h.step(Action::FocusGained);
    h.ch('R');
    // Confirm, but let the worker finish only once the form is open.
    h.app.step(Action::Cmd(crate::tui::action::Cmd::Confirm));
    let jobs = h.app.take_effects();
    h.ch('n');
    for e in jobs {
        if let Effect::Job(job) = e {
            let done = worker::run(h.app.desk(), job, &|_| {});
            h.app.done(done);
        }
    }
    assert!(matches!(h.app.screen, Screen::Form(_)));
    assert!(h.note().contains("opens when you leave this screen"));
    h.key(KeyCode::Esc);
    let Screen::Result(v) = &h.app.screen else {
        panic!("no result: {:?}", h.app.screen)
    };
    assert!(v.renewal.is_some());
}
