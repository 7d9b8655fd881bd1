//! Hostile pastes (proptest).

use super::*;

/// #13: a 1 MB paste into CommonName, Name or the `/` filter used to be
/// taken whole, one quadratic insert per character (9 s for 200 KB). Each
/// field now keeps what the service would accept and says it cut the rest.
#[test]
fn a_megabyte_paste_is_cut_at_each_fields_limit_and_said() {
    let huge = "a".repeat(1 << 20);
    let mut h = Harness::new();
    h.ch('n');
    h.key(KeyCode::Down); // KeyType
    h.key(KeyCode::Down); // CommonName
    assert_eq!(h.form().focus, Field::CommonName);
    h.paste(&huge);
    assert_eq!(
        h.form().common_name.value().len(),
        limits::MAX_COMMON_NAME_CHARS
    );
    assert!(h.note().contains("cut to 64 characters"), "{}", h.note());
    h.key(KeyCode::Down); // Name
    assert_eq!(h.form().focus, Field::Name);
    h.paste(&huge);
    assert_eq!(h.form().name.value().len(), limits::MAX_NAME_CHARS);
    assert!(h.note().contains("cut to 128 characters"), "{}", h.note());
    // Keys still work at the limit; nothing more goes in.
    h.ch('b');
    assert_eq!(h.form().name.value().len(), limits::MAX_NAME_CHARS);
    h.key(KeyCode::Backspace);
    assert_eq!(h.form().name.value().len(), limits::MAX_NAME_CHARS - 1);

    let mut h = Harness::new();
    h.ch('/');
    h.paste(&huge);
    assert_eq!(h.app.table.query().len(), limits::MAX_SEARCH_CHARS);
    assert!(h.note().contains("cut to 256 characters"), "{}", h.note());
}

/// Whatever is pasted, wherever the focus is, nothing panics and no
/// control, escape or bidi character reaches the screen's cells.
mod hostile_paste {
    use super::*;
    use proptest::prelude::*;

    fn forbidden(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{61c}')
    }

    fn screen_is_clean(h: &Harness, w: u16, ht: u16) -> Result<(), TestCaseError> {
        let t = render(&h.app, w, ht);
        for cell in t.backend().buffer().content() {
            prop_assert!(
                !cell.symbol().chars().any(forbidden),
                "{:?} drawn at {w}x{ht}",
                cell.symbol()
            );
        }
        Ok(())
    }

    /// Text with escapes, C1 controls, bidi marks, CR/LF, sometimes inside
    /// PEM armour around a real CSR.
    fn pasted() -> impl Strategy<Value = String> {
        let junk = "[a-z0-9 \n\r\t\u{1b}\u{7}\u{8}\u{9b}\u{202e}\u{2066}\u{200f}\\[;=/+-]{0,300}";
        (junk, junk, any::<bool>(), any::<bool>()).prop_map(|(a, b, armour, real)| {
            let middle = if real {
                csr_pem("paste.example")
            } else if armour {
                format!(
                    "-----BEGIN CERTIFICATE REQUEST-----\n{a}\n-----END CERTIFICATE REQUEST-----\n"
                )
            } else {
                String::new()
            };
            format!("{a}{middle}{b}")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn pastes_are_contained(text in pasted(), place in 0usize..5) {
            let mut h = Harness::new();
            match place {
                0 => {}                        // main screen
                1 => h.ch('/'),                // search
                2 => {                         // form, CommonName
                    h.ch('n');
                    h.key(KeyCode::Down);
                    h.key(KeyCode::Down);
                }
                3 => {                         // form, CSR mode
                    h.ch('n');
                    h.key(KeyCode::Down);
                    h.key(KeyCode::Right);
                }
                _ => {                         // the passphrase popup
                    let p = crate::tui::popup::passphrase::PassAsk::new(
                        SITE, "example.com", crate::service::PassphrasePurpose::New,
                        super::super::worker::Job::load_all());
                    h.app.popup = Some(Popup::Passphrase(Box::new(p)));
                }
            }
            h.paste(&text);
            screen_is_clean(&h, 80, 24)?;
            screen_is_clean(&h, 30, 8)?;
            // Whatever was pasted, the app still takes keys.
            h.key(KeyCode::Esc);
            screen_is_clean(&h, 120, 40)?;
        }
    }

    /// A paste far over the CSR limit is bounded, not kept whole.
    #[test]
    fn a_huge_paste_is_refused_with_the_csr_code() {
        let mut h = Harness::new();
        h.ch('n');
        let huge = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            "QUJD\n".repeat(200_000)
        );
        h.paste(&huge);
        let screen = h.draw(80, 24);
        assert!(screen.contains("InvalidParameter.CSR"), "{screen}");
        assert!(h.form().csr.text().len() <= limits::MAX_CSR_BYTES + 1);
    }
}
