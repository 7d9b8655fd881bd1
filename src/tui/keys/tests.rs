use super::*;

fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

fn act(code: KeyCode, ctx: Ctx, text: bool) -> Option<Action> {
    action_for(&press(code, KeyModifiers::NONE), ctx, text)
}

#[test]
fn spec_core_keys_in_the_main_screen() {
    let cases = [
        ('?', Cmd::Help),
        ('q', Cmd::Quit),
        ('j', Cmd::Down),
        ('k', Cmd::Up),
        ('n', Cmd::New),
        ('/', Cmd::Search),
        ('c', Cmd::CopyCert),
        ('K', Cmd::CopyKey),
        ('A', Cmd::CopyCa),
        ('r', Cmd::Revoke),
        ('a', Cmd::Activate),
        ('D', Cmd::Delete),
    ];
    for (c, cmd) in cases {
        assert_eq!(
            act(KeyCode::Char(c), Main, false),
            Some(Action::Cmd(cmd)),
            "{c}"
        );
    }
    assert_eq!(
        act(KeyCode::Enter, Main, false),
        Some(Action::Cmd(Cmd::Open))
    );
    assert_eq!(
        act(KeyCode::Tab, Main, false),
        Some(Action::Cmd(Cmd::FocusNext))
    );
    assert_eq!(
        act(KeyCode::BackTab, Main, false),
        Some(Action::Cmd(Cmd::FocusPrev))
    );
    assert_eq!(
        act(KeyCode::Down, Main, false),
        Some(Action::Cmd(Cmd::Down))
    );
    assert_eq!(
        act(KeyCode::Esc, Details, false),
        Some(Action::Cmd(Cmd::Back))
    );
    // Uppercase letters arrive with SHIFT on most terminals.
    let shifted = press(KeyCode::Char('K'), KeyModifiers::SHIFT);
    assert_eq!(
        action_for(&shifted, Main, false),
        Some(Action::Cmd(Cmd::CopyKey))
    );
}

#[test]
fn ctrl_c_quits_everywhere() {
    let ev = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
    for &ctx in ALL {
        for text in [false, true] {
            assert_eq!(
                action_for(&ev, ctx, text),
                Some(Action::Cmd(Cmd::Quit)),
                "{ctx:?}"
            );
        }
    }
}

#[test]
fn printable_keys_go_into_a_focused_field() {
    for c in ['q', 'j', '?', 'n', 'K', ' '] {
        assert_eq!(
            act(KeyCode::Char(c), FormText, true),
            Some(Action::Edit(Edit::Char(c)))
        );
    }
    assert_eq!(
        act(KeyCode::Char('j'), Search, true),
        Some(Action::Edit(Edit::Char('j')))
    );
    assert_eq!(
        act(KeyCode::Down, Search, true),
        Some(Action::Cmd(Cmd::Down))
    );
    assert_eq!(
        act(KeyCode::Left, FormText, true),
        Some(Action::Edit(Edit::Left))
    );
    assert_eq!(act(KeyCode::Left, Form, true), Some(Action::Cmd(Cmd::Left)));
    assert_eq!(
        act(KeyCode::Enter, FormCsr, true),
        Some(Action::Cmd(Cmd::Newline))
    );
    assert_eq!(
        act(KeyCode::Enter, FormText, true),
        Some(Action::Cmd(Cmd::Submit))
    );
    assert_eq!(
        act(KeyCode::F(1), FormText, true),
        Some(Action::Cmd(Cmd::Help))
    );
    let ctrl_u = press(KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(
        action_for(&ctrl_u, FormText, true),
        Some(Action::Edit(Edit::Clear))
    );
    assert_eq!(
        action_for(&ctrl_u, FormCsr, true),
        Some(Action::Cmd(Cmd::ClearField))
    );
    // No field: q quits only on the main screen.
    assert_eq!(act(KeyCode::Char('q'), Form, false), None);
}

#[test]
fn hints_and_help_come_from_the_same_table() {
    let main = hints(Main, false, |_| true);
    assert_eq!(main[0], ("?".to_owned(), "help".to_owned()));
    assert!(main.iter().any(|(k, h)| k == "r" && h == "revoke"));
    assert!(
        main.iter()
            .any(|(k, h)| k == "c/K/A" && h == "copy cert/key/CA")
    );
    let no_key = hints(Main, false, |c| c != Cmd::CopyKey);
    assert!(
        no_key
            .iter()
            .any(|(k, h)| k == "c/A" && h == "copy cert/CA")
    );
    // In a text field '?' is typed, so the bar offers F1.
    let text = hints(FormText, true, |_| true);
    assert_eq!(text[0], ("F1".to_owned(), "help".to_owned()));
    // Every hint of every context is in the help.
    for (_, ctxs) in HELP_SECTIONS {
        let rows = help_rows(ctxs);
        for ctx in *ctxs {
            for (_, hint) in hints(*ctx, false, |_| true) {
                let first = hint.split('/').next().unwrap_or_default();
                let binding = BINDINGS
                    .iter()
                    .find(|b| b.hint == first && b.ctx.contains(ctx));
                let help = binding.map(|b| b.help).unwrap_or_default();
                assert!(
                    rows.iter().any(|(_, h)| *h == help) || help == "Show this help",
                    "{hint} of {ctx:?} is not in the help"
                );
            }
        }
    }
}

/// The help lists, for each context, only keys that do something
/// there: no printable key where a text field always has the focus
/// (the help key, typed there, is listed once under Certificates).
#[test]
fn help_lists_no_key_that_is_typed_instead() {
    for (title, ctxs) in HELP_SECTIONS {
        for ctx in *ctxs {
            let always_text = matches!(ctx, Search | FormText | FormCsr | Passphrase);
            let listed = BINDINGS
                .iter()
                .filter(|b| b.ctx.contains(ctx) && b.cmd != Cmd::Help);
            for b in listed {
                for k in b.keys {
                    assert!(
                        !(always_text && k.is_printable()),
                        "{title}: {k} is listed for {ctx:?}, where it is typed"
                    );
                }
            }
        }
    }
    // The form's Days field is a text field in the Form context: no
    // letter moves the focus there.
    for b in BINDINGS.iter().filter(|b| b.ctx.contains(&Form)) {
        if matches!(b.cmd, Cmd::FocusNext | Cmd::FocusPrev) {
            assert!(b.keys.iter().all(|k| !k.is_printable()), "{:?}", b.cmd);
        }
    }
    for ctxs in [&[Search][..], FORM] {
        for (k, _) in help_rows(ctxs) {
            assert!(k.split('/').all(|k| k != "j" && k != "k"), "{k}");
        }
    }
}

#[test]
fn no_key_is_bound_twice_in_one_context() {
    for &ctx in ALL {
        let mut seen: Vec<KeySpec> = Vec::new();
        for b in BINDINGS.iter().filter(|b| b.ctx.contains(&ctx)) {
            for k in b.keys {
                assert!(!seen.contains(k), "{k} is bound twice in {ctx:?}");
                seen.push(*k);
            }
        }
    }
}
