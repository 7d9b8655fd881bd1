//! The details view and copying.

use super::*;
use crate::service::BindingTarget;

#[test]
fn details_show_get_and_act_on_the_certificate() {
    let mut h = Harness::new();
    let c = h.issue("details.example", "", 30);
    h.step(Action::FocusGained);
    h.key(KeyCode::Enter);
    let Screen::Details(d) = &h.app.screen else {
        panic!("no details")
    };
    assert_eq!(d.get.result.id, c.id);
    h.ch('c');
    h.ch('K');
    h.ch('A');
    h.ch('J');
    let secrets: Vec<bool> = h.copies.iter().map(|c| c.2).collect();
    assert_eq!(secrets, [false, true, false, false]);
    assert_eq!(h.copies[0].1, c.certificate);
    assert_eq!(h.copies[1].1, c.private_key.expose());
    assert!(h.copies[2].1.contains("BEGIN CERTIFICATE"));
    assert!(h.copies[3].1.contains("\"FingerprintSha256\""));
    assert!(!h.copies[3].1.contains("PRIVATE KEY"));
    assert!(
        h.note()
            .starts_with("Sent details JSON of details.example by OSC 52 (")
    );
    // Revoking from the details refreshes them.
    h.ch('r');
    h.ch('y');
    let Screen::Details(d) = &h.app.screen else {
        panic!("left the details")
    };
    assert_eq!(d.get.status.as_str(), "revoked");
    h.key(KeyCode::Esc);
    assert!(matches!(h.app.screen, Screen::Main));
}

#[test]
fn copies_from_the_table_and_their_outcome_in_the_status_line() {
    let mut h = Harness::new();
    let c = h.issue("copy.example", "", 30);
    h.step(Action::FocusGained);
    h.ch('c');
    assert_eq!(h.copies[0].1, c.certificate);
    assert!(h.term.starts_with(b"\x1b]52;c;"));
    assert!(h.note().contains("by OSC 52 ("));
    h.ch('K');
    assert!(h.copies[1].2, "a private key is a secret copy");
}

#[test]
fn copy_messages_and_the_site_counts_fit_80_columns() {
    let mut h = Harness::with_config(&config_text("").replace(
        "name = \"example.com\"\n",
        "name = \"example.com\"\nmax_client_certificates = 100\n",
    ));
    h.clipboard = Clipboard::osc52_only("no native clipboard");
    let long = "a-rather-long-common-name.department.example.com";
    h.issue(long, "a long label for the laptop", 30);
    h.issue("soon.example", "", 10);
    let c = h.issue("gone.example", "", 30);
    h.service.revoke(&c.id, None).unwrap();
    h.step(Action::FocusGained);
    let status_line = |h: &Harness| {
        let s = h.draw(80, 24);
        s.lines().nth(22).unwrap_or_default().to_owned()
    };
    h.key(KeyCode::End); // the oldest, newest first
    assert!(h.app.table.selected_row().unwrap().common_name == long);
    for k in ['c', 'K', 'A'] {
        h.ch(k);
        let line = status_line(&h);
        // The label may be cut (marked …), never the caveat at the end.
        assert!(
            line.trim_matches('"')
                .trim_end()
                .ends_with("by OSC 52 (no native clipboard)"),
            "{line}"
        );
    }
    // The counts line of the site: the quota first, every count shown.
    let screen = h.draw(80, 24);
    let counts = screen.lines().nth(3).unwrap_or_default();
    assert!(
        counts.contains("quota 3/100") && counts.contains("1 rev") && counts.contains("0 exp"),
        "{screen}"
    );
    assert!(!counts.contains('…'), "{screen}");
}

#[test]
fn copy_ca_works_on_the_selected_site_without_a_row_and_never_creates_a_ca() {
    let mut h = Harness::new();
    // No certificate yet, so no CA: A says so and creates nothing.
    h.ch('A');
    assert!(h.copies.is_empty());
    assert_eq!(
        h.note(),
        "site example.com has no CA yet (it is created by the first issuance)"
    );
    assert_eq!(h.app.note.as_ref().unwrap().kind, NoteKind::Warning);
    assert!(h.service.existing_ca_pem(SITE).unwrap().is_none());
    assert!(!h.app.applies(crate::tui::action::Cmd::CopyCa));
    // With a CA but a filter that hides every row, A still copies it.
    h.issue("ca.example", "", 30);
    h.step(Action::FocusGained);
    assert!(h.app.applies(crate::tui::action::Cmd::CopyCa));
    h.ch('/');
    h.typ("nothing-matches");
    h.key(KeyCode::Enter);
    assert!(h.app.table.is_empty());
    h.ch('A');
    let ca = h.service.existing_ca_pem(SITE).unwrap().unwrap();
    assert_eq!(h.copies.len(), 1);
    assert_eq!(h.copies[0].1, ca);
    assert!(h.note().starts_with("Sent CA certificate of example.com"));
}

/// #11: the TUI shows a site's uploaded CAs and the hostname bindings
/// (`C` on the main screen; the certificate's own in its details).
#[test]
fn the_sites_cas_and_hostname_bindings_are_shown() {
    let mut h = Harness::new();
    let cert = h.issue("bound.example.com", "bound", 30);
    let s = h.service.clone();
    // Another site's managed CA is a proper self-signed CA to upload here.
    let other_ca = s.ca_pem(42).unwrap();
    let up = s
        .upload_ca(SITE, Some(&other_ca), Some("partner-root"))
        .unwrap();
    s.set_hostnames(BindingTarget::Ca, SITE, None, &["api.example.com".into()])
        .unwrap();
    s.set_hostnames(
        BindingTarget::Ca,
        SITE,
        Some(&up.id),
        &["partner.example.com".into()],
    )
    .unwrap();
    s.set_hostnames(
        BindingTarget::Certificate,
        SITE,
        Some(&cert.id),
        &["www.example.com".into(), "m.example.com".into()],
    )
    .unwrap();
    h.ctrl('r');
    h.run();

    h.ch('C');
    assert!(
        matches!(h.app.popup, Some(Popup::Cas(_))),
        "{:?}",
        h.app.popup
    );
    let screen = h.draw(100, 40);
    assert!(screen.contains("CAs of example.com"), "{screen}");
    assert!(screen.contains("api.example.com"), "{screen}");
    assert!(screen.contains("partner-root"), "{screen}");
    assert!(screen.contains("partner.example.com"), "{screen}");
    assert!(
        screen.contains("Uploaded CAs: verify-only, in the trust bundle (1)"),
        "{screen}"
    );
    h.key(KeyCode::Esc);
    assert!(h.app.popup.is_none());

    h.app.table.select_id(&cert.id);
    h.key(KeyCode::Enter);
    let screen = h.draw(100, 40);
    assert!(
        screen.contains("Hostnames           www.example.com, m.example.com")
            || screen.contains("Hostnames           m.example.com, www.example.com"),
        "{screen}"
    );
}
