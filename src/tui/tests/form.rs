//! The issue form: fields, inline errors, CSR pastes, issuing.

use super::*;

#[test]
fn the_form_validity_days_show_all_that_was_typed() {
    let mut h = Harness::new();
    h.ch('n');
    h.ctrl('u');
    h.typ("1234567");
    assert_eq!(h.form().days.value(), "12345");
    let screen = h.draw(80, 24);
    assert!(screen.contains("ValidityDays  12345 "), "{screen}");
}

#[test]
fn the_form_starts_on_the_configs_key_type_spelling() {
    for (config, spelling) in [("RSA", "RSA"), ("ECC", "ECC"), ("ED25519", "ED25519")] {
        let text =
            config_text("").replace("pkey_type = \"ECC\"", &format!("pkey_type = \"{config}\""));
        let mut h = Harness::with_config(&text);
        h.ch('n');
        assert_eq!(h.form().key_spelling(), spelling);
    }
    // Without the key, the default is RSA, spelt so.
    let text = config_text("").replace("pkey_type = \"ECC\"\n", "");
    let mut h = Harness::with_config(&text);
    h.ch('n');
    assert_eq!(h.form().key_spelling(), "RSA");
    assert!(h.draw(80, 24).contains("‹ RSA 2048 (RSA) ›"));
}

#[test]
fn esc_leaves_the_form_without_issuing() {
    let mut h = Harness::new();
    h.ch('n');
    assert_eq!(h.app.ctx(), Ctx::Form);
    assert_eq!(h.form().focus, Field::Days);
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.screen, Screen::Main));
    let n = h.service.list(&ListQuery::default()).unwrap();
    assert_eq!(n.response.total_count, 0);
    assert!(h.note().contains("nothing was issued"));
}

#[test]
fn the_form_issues_a_certificate_on_a_worker_and_shows_the_result() {
    let mut h = Harness::new();
    h.ch('n');
    // Defaults from the config; the site pre-selected.
    assert_eq!(h.form().site_id(), Some(SITE));
    assert_eq!(h.form().key_spelling(), "ECC");
    h.key(KeyCode::Down); // Key type
    h.key(KeyCode::Right); // ECC_256
    h.key(KeyCode::Right); // ECC_384
    h.key(KeyCode::Right); // ED25519
    assert_eq!(h.form().key_spelling(), "ED25519");
    h.key(KeyCode::Down);
    h.typ("form.example.com");
    h.key(KeyCode::Tab);
    h.typ("made in the form");
    // Submitting hands a job to the runtime and shows progress.
    h.app.handle_event(&TermEvent::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    assert!(h.form().submitting.is_some());
    assert!(
        h.draw(80, 24)
            .contains("Generating the Ed25519 key and signing")
    );
    // While it runs, Esc cannot drop it.
    h.app.step(Action::Cmd(crate::tui::action::Cmd::Back));
    assert!(matches!(h.app.screen, Screen::Form(_)));
    h.run();
    let Screen::Result(r) = &h.app.screen else {
        panic!("no result: {:?}", h.app.screen)
    };
    assert_eq!(r.resp.common_name, "form.example.com");
    assert!(r.resp.private_key.expose().contains("PRIVATE KEY"));
    let id = r.resp.id.clone();
    assert!(h.note().starts_with("Issued form.example.com"));
    // Back to the table, the new certificate selected.
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.screen, Screen::Main));
    assert_eq!(h.app.table.selected_row().unwrap().id, id);
    assert_eq!(h.app.table.selected_row().unwrap().name, "made in the form");
}

#[test]
fn inline_errors_use_the_service_codes_and_block_submitting() {
    let mut h = Harness::new();
    h.ch('n');
    // Untouched fields show nothing.
    assert!(h.form().error(Field::Days).is_none());
    for _ in 0..3 {
        h.key(KeyCode::Backspace);
    }
    h.typ("0");
    let e = h.form().error(Field::Days).unwrap();
    assert_eq!(e.code, ErrorCode::InvalidValidityDays);
    // ←/→ presets repair it.
    h.key(KeyCode::Right);
    assert_eq!(h.form().days.value(), "30");
    assert!(h.form().error(Field::Days).is_none());
    // A control character in Name.
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    assert_eq!(h.form().focus, Field::Name);
    h.paste("bad\u{7}name");
    assert_eq!(
        h.form().error(Field::Name).unwrap().code,
        ErrorCode::InvalidName
    );
    h.ctrl('s');
    assert!(h.app.take_effects().is_empty());
    assert_eq!(h.form().focus, Field::Name);
    assert!(h.draw(100, 30).contains("✗ InvalidParameter.Name: Name"));
    assert_eq!(h.note(), "Not issued: check Name (InvalidParameter.Name)");
    // Enter on the Issue button with a bad ValidityDays: the focus goes
    // back up to it, and the status line names it.
    h.ctrl('u');
    h.key(KeyCode::Up);
    h.key(KeyCode::Up);
    h.key(KeyCode::Up);
    assert_eq!(h.form().focus, Field::Days);
    h.ctrl('u');
    h.typ("4000");
    for _ in 0..4 {
        h.key(KeyCode::Down);
    }
    assert_eq!(h.form().focus, Field::Submit);
    h.key(KeyCode::Enter);
    assert_eq!(h.form().focus, Field::Days);
    assert_eq!(
        h.note(),
        "Not issued: check ValidityDays (InvalidParameter.ValidityDays)"
    );
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Warning);
}

#[test]
fn quota_refusals_land_in_the_form() {
    let mut h = Harness::new();
    h.ch('j'); // Sites has no focus: j moves in the table; go to site 42
    h.key(KeyCode::Tab);
    h.key(KeyCode::Down);
    assert_eq!(h.app.selected_site().unwrap().site_id, 42);
    for _ in 0..3 {
        h.ch('n');
        h.ctrl('s');
        if matches!(h.app.screen, Screen::Result(_)) {
            h.key(KeyCode::Esc);
        }
    }
    let f = h.form();
    assert_eq!(
        f.form_error.as_ref().unwrap().code,
        ErrorCode::QuotaCheckFailed
    );
    assert!(f.submitting.is_none());
}

#[test]
fn a_pasted_csr_switches_the_form_to_csr_mode_wherever_the_focus_is() {
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Up);
    h.key(KeyCode::Up);
    assert_eq!(h.form().focus, Field::Site);
    // Windows line ends and bare CRs are normalised.
    let pem = csr_pem("csr.example.com").replace('\n', "\r\n");
    h.paste(&pem);
    let f = h.form();
    assert_eq!(f.source, Source::Csr);
    // A valid CSR pasted: the focus is on Issue, so Enter issues.
    assert_eq!(f.focus, Field::Submit);
    assert!(!f.csr.text().contains('\r'));
    let p = f.csr_preview.as_ref().unwrap();
    assert_eq!(p.subject, "CN=csr.example.com, O=Acme");
    assert_eq!(p.key, "Ed25519");
    assert!(h.note().contains("CSR pasted"));
    h.ctrl('s');
    let Screen::Result(r) = &h.app.screen else {
        panic!("no result")
    };
    assert_eq!(r.resp.common_name, "csr.example.com");
    assert!(r.resp.private_key.is_empty());
}

#[test]
fn a_pasted_pem_that_is_not_a_csr_goes_into_no_field() {
    let mut h = Harness::new();
    let issued = h.issue("pem.example", "", 30);
    h.step(Action::FocusGained);
    let key = issued.private_key.expose().to_owned();
    assert!(key.contains("PRIVATE KEY"));
    h.ch('n');
    assert_eq!(h.form().focus, Field::Days);
    h.paste(&issued.certificate);
    assert_eq!(h.form().days.value(), "365");
    assert_eq!(
        h.note(),
        "That is a CERTIFICATE, not a CSR: nothing was pasted"
    );
    for _ in 0..2 {
        h.key(KeyCode::Down);
    }
    assert_eq!(h.form().focus, Field::CommonName);
    h.paste(&format!("\n{key}"));
    assert_eq!(h.form().common_name.value(), "");
    let note = h.note();
    assert!(
        note.starts_with("That is a private key: not used or kept"),
        "{note}"
    );
    assert!(note.chars().count() <= 78, "{note}");
    // In CSR mode, the CSR field does not take it either.
    for _ in 0..3 {
        h.key(KeyCode::Up);
    }
    h.key(KeyCode::Right);
    assert_eq!(h.form().source, Source::Csr);
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    assert_eq!(h.form().focus, Field::Csr);
    h.paste(&key);
    assert_eq!(h.form().csr.text(), "");
    let screen = h.draw(80, 24);
    assert!(!screen.contains("BEGIN"), "{screen}");
    // Nor the search.
    h.key(KeyCode::Esc);
    h.ch('/');
    h.paste(&key);
    assert_eq!(h.app.table.query(), "");
    assert!(h.app.search.as_ref().unwrap().value().is_empty());
}

#[test]
fn k_without_a_kept_key_is_one_status_line_and_not_offered() {
    let mut h = Harness::new();
    h.service
        .clone()
        .create(&CreateRequest {
            site_id: Some(SITE.to_string()),
            validity_days: Some("30".into()),
            pkey_type: None,
            common_name: None,
            name: None,
            csr: Some(csr_pem("from-csr.example").into_bytes()),
        })
        .unwrap();
    h.step(Action::FocusGained);
    let screen = h.draw(80, 24);
    let bar = screen.lines().last().unwrap();
    assert!(bar.contains("c/A copy cert/CA"), "{bar}");
    h.ch('K');
    assert!(h.app.popup.is_none());
    assert!(h.copies.is_empty());
    assert_eq!(
        h.note(),
        "No private key here: issued for a CSR, the key never left its owner"
    );
    assert!(h.note().chars().count() <= 78);
    // The same from the details.
    h.key(KeyCode::Enter);
    h.ch('K');
    assert!(h.app.popup.is_none());
    assert!(h.note().starts_with("No private key here"));

    let mut h = Harness::with_store("keep_private_keys = false");
    h.issue("unkept.example", "", 30);
    h.step(Action::FocusGained);
    h.ch('K');
    assert!(h.app.popup.is_none());
    assert_eq!(
        h.note(),
        "No private key here: not kept (keep_private_keys = false)"
    );
}

#[test]
fn the_csr_mode_common_name_hint_fits_80_columns() {
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Up);
    h.key(KeyCode::Right);
    assert_eq!(h.form().source, Source::Csr);
    let screen = h.draw(80, 24);
    assert!(screen.contains("used if the CSR has no CN "), "{screen}");
}

#[test]
fn a_csr_with_doubled_line_ends_still_parses() {
    // tmux turns each LF of a pasted CRLF file into CR: "\r\r" per line;
    // other routes give "\r\r\n", or blank lines inside the PEM.
    let pem = csr_pem("doubled.example.com");
    for pasted in [
        pem.replace('\n', "\r\r"),
        pem.replace('\n', "\r\r\n"),
        pem.replace('\n', "\n\n"),
        pem.replace('\n', "\r\n\r\n"),
    ] {
        let mut h = Harness::new();
        h.ch('n');
        h.paste(&pasted);
        let f = h.form();
        assert_eq!(f.source, Source::Csr);
        assert!(f.error(Field::Csr).is_none(), "{:?}", f.error(Field::Csr));
        let p = f.csr_preview.as_ref().expect("no preview");
        assert_eq!(p.subject, "CN=doubled.example.com, O=Acme");
        h.ctrl('s');
        assert!(matches!(h.app.screen, Screen::Result(_)));
    }
    // Typed without bracketed paste, Enter twice per line: the same.
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Up);
    h.key(KeyCode::Right); // Key source: use my CSR
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    assert_eq!(h.form().focus, Field::Csr);
    let lines: Vec<&str> = pem.lines().collect();
    for line in &lines[..lines.len() - 1] {
        h.typ(line);
        h.key(KeyCode::Enter);
        h.key(KeyCode::Enter);
    }
    h.typ(lines[lines.len() - 1]);
    assert!(
        h.form().csr_preview.is_some(),
        "{:?}",
        h.form().error(Field::Csr)
    );
    // Complete: the next Enter issues instead of growing the PEM.
    h.key(KeyCode::Enter);
    assert!(matches!(h.app.screen, Screen::Result(_)));
}

#[test]
fn a_csr_pasted_on_the_main_screen_opens_the_form() {
    let mut h = Harness::new();
    h.paste(&csr_pem("main.example.com"));
    assert_eq!(h.form().source, Source::Csr);
    assert!(h.form().csr_preview.is_some());
}

#[test]
fn a_bad_csr_is_marked_and_typing_it_works_without_bracketed_paste() {
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Up);
    h.key(KeyCode::Right); // Key source: CSR
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    assert_eq!(h.form().focus, Field::Csr);
    h.typ("garbage");
    assert_eq!(
        h.form().error(Field::Csr).unwrap().code,
        ErrorCode::InvalidCsr
    );
    h.ctrl('u');
    // Enter is a new line here while the CSR is incomplete: a terminal
    // without bracketed paste types the CSR line by line.
    let pem = csr_pem("typed.example");
    let lines: Vec<&str> = pem.lines().collect();
    for line in &lines[..lines.len() - 1] {
        h.typ(line);
        h.key(KeyCode::Enter);
        assert!(matches!(h.app.screen, Screen::Form(_)));
    }
    h.typ(lines[lines.len() - 1]);
    assert!(
        h.form().csr_preview.is_some(),
        "{:?}",
        h.form().error(Field::Csr)
    );
    // The bar no longer offers a new line; Enter issues.
    assert!(!h.app.applies(crate::tui::action::Cmd::Newline));
    h.key(KeyCode::Enter);
    assert!(matches!(h.app.screen, Screen::Result(_)));
}

/// #13: `n`, paste a valid CSR, Enter: the certificate is issued (it used
/// to add a blank line to the CSR field).
#[test]
fn paste_a_csr_then_enter_issues_it() {
    let mut h = Harness::new();
    h.ch('n');
    h.paste(&csr_pem("enter.example.com"));
    assert_eq!(h.form().focus, Field::Submit);
    h.key(KeyCode::Enter);
    let Screen::Result(r) = &h.app.screen else {
        panic!("Enter did not issue: {:?}", h.form().csr.text());
    };
    assert_eq!(r.resp.common_name, "enter.example.com");
    let id = r.resp.id.clone();
    assert_eq!(
        h.service.get(&id).unwrap().result.common_name,
        "enter.example.com"
    );
    // Focus back in a complete CSR field: Enter still issues, the PEM
    // does not grow.
    let mut h = Harness::new();
    h.ch('n');
    h.paste(&csr_pem("again.example.com"));
    h.key_mod(KeyCode::BackTab, KeyModifiers::SHIFT);
    while h.form().focus != Field::Csr {
        h.key_mod(KeyCode::BackTab, KeyModifiers::SHIFT);
    }
    let before = h.form().csr.text().to_owned();
    h.key(KeyCode::Enter);
    assert!(matches!(h.app.screen, Screen::Result(_)), "{before}");
}
