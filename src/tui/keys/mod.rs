//! The key map: one table ([`BINDINGS`]) from which key handling, the
//! hint bar and the help popup are all derived, so they cannot drift.

use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::{Action, Cmd};
use super::input::Edit;

/// Where the keyboard is: each binding lists the contexts it works in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ctx {
    /// The sites list or the certificates table.
    Main,
    /// Typing a filter after `/`.
    Search,
    /// The issue form, on a choice (site, key source, validity, key type)
    /// or the Issue button.
    Form,
    /// The issue form, in CommonName or Name.
    FormText,
    /// The issue form, in the multi-line CSR field.
    FormCsr,
    Result,
    Details,
    Help,
    Confirm,
    Message,
    /// The renew popup, on ValidityDays (a text field) or "revoke the old
    /// one" (a switch).
    Renew,
    /// The CA passphrase popup (a masked text field, two when new).
    Passphrase,
    /// The site's CAs and their hostname bindings.
    Cas,
    /// Choosing the desk's backend (local store or a remote).
    Desks,
    /// The full-screen panel shown while the config file is unusable.
    ConfigError,
}

/// A key as the table writes it: a code, maybe with Ctrl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    code: KeyCode,
    ctrl: bool,
}

const fn ch(c: char) -> KeySpec {
    KeySpec {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

const fn ctrl(c: char) -> KeySpec {
    KeySpec {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

const fn key(code: KeyCode) -> KeySpec {
    KeySpec { code, ctrl: false }
}

impl KeySpec {
    /// Printable keys go into a focused text field instead.
    fn is_printable(self) -> bool {
        matches!(self.code, KeyCode::Char(_)) && !self.ctrl
    }

    fn matches(self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl != self.ctrl || ev.modifiers.contains(KeyModifiers::ALT) {
            return false;
        }
        match (self.code, ev.code) {
            // Shift is in the character already ('K'); terminals differ in
            // whether they also report SHIFT, so it is not compared.
            (KeyCode::Char(a), KeyCode::Char(b)) => {
                a == b || (self.ctrl && a.eq_ignore_ascii_case(&b))
            }
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One command: its keys, where it works, and its words.
#[derive(Debug)]
pub struct Binding {
    pub cmd: Cmd,
    pub keys: &'static [KeySpec],
    pub ctx: &'static [Ctx],
    /// Short label for the hint bar; empty: help popup only.
    pub hint: &'static str,
    /// The sentence in the help popup.
    pub help: &'static str,
}

use Ctx::*;

const FORM: &[Ctx] = &[Form, FormText, FormCsr];
const VIEWS: &[Ctx] = &[Main, Details, Result];
const SCROLL: &[Ctx] = &[Main, Details, Result];
const HELP_WORKS: &[Ctx] = &[Main, Form, FormText, FormCsr, Result, Details];
/// Every context (Ctrl-C works in all of them).
pub const ALL: &[Ctx] = &[
    Main,
    Search,
    Form,
    FormText,
    FormCsr,
    Result,
    Details,
    Help,
    Confirm,
    Message,
    Renew,
    Passphrase,
    Cas,
    Desks,
    ConfigError,
];

const fn b(
    cmd: Cmd,
    keys: &'static [KeySpec],
    ctx: &'static [Ctx],
    hint: &'static str,
    help: &'static str,
) -> Binding {
    Binding {
        cmd,
        keys,
        ctx,
        hint,
        help,
    }
}

/// Enter in the issue form, both meanings in one help row.
const FORM_ENTER: &str = "Issue the certificate (in an incomplete CSR: a new line)";

/// Every key binding, most useful first (the hint bar keeps this order and
/// drops from the end when the terminal is narrow).
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    b(Cmd::Help, &[ch('?'), key(KeyCode::F(1))], HELP_WORKS, "help", "Show this help"),
    b(Cmd::Quit, &[ctrl('c')], ALL, "", "Quit, from anywhere (twice on a result whose key is not kept)"),
    b(Cmd::New, &[ch('n')], &[Main], "new", "Issue a new certificate for the selected site"),
    b(Cmd::Open, &[key(KeyCode::Enter)], &[Main], "open", "Open the selected certificate (in Sites: go to its certificates)"),
    b(Cmd::Search, &[ch('/')], &[Main], "search", "Filter by CommonName, Name, or Id / serial / fingerprint prefix"),
    b(Cmd::CopyCert, &[ch('c')], VIEWS, "copy cert", "Copy the certificate PEM"),
    b(Cmd::CopyKey, &[ch('K')], VIEWS, "copy key", "Copy the private key PEM (kept out of clipboard history)"),
    b(Cmd::CopyCa, &[ch('A')], VIEWS, "copy CA", "Copy the site CA certificate PEM"),
    b(Cmd::CopyJson, &[ch('J')], &[Result, Details], "copy JSON", "Copy the whole response as JSON"),
    b(Cmd::Revoke, &[ch('r')], &[Main, Details], "revoke", "Revoke (asks first; an RFC 5280 reason can be given)"),
    b(Cmd::Activate, &[ch('a')], &[Main, Details], "activate", "Re-activate a revoked certificate (asks first)"),
    b(Cmd::Delete, &[ch('D')], &[Main, Details], "delete", "Delete a revoked or expired certificate (asks first)"),
    b(Cmd::Renew, &[ch('R')], &[Main, Details], "renew", "Renew: issue a successor, same subject and key type (asks first)"),
    b(Cmd::Quit, &[ch('q')], &[Main], "quit", "Quit"),
    b(Cmd::Sort, &[ch('s')], &[Main], "sort", "Sort by issue time, expiry, status, name (cycles)"),
    b(Cmd::SortReverse, &[ch('S')], &[Main], "", "Reverse the sort order"),
    b(Cmd::Cas, &[ch('C')], &[Main], "CAs", "The site's CAs (managed, uploaded) and their hostname bindings"),
    b(Cmd::FocusNext, &[key(KeyCode::Tab)], &[Main], "focus", "Move the focus between Sites and Certificates (too narrow for Sites: next site)"),
    b(Cmd::FocusPrev, &[key(KeyCode::BackTab)], &[Main], "", "Move the focus back"),
    b(Cmd::Reload, &[ctrl('r'), key(KeyCode::F(5))], &[Main], "", "Re-read the store now (it is also re-read when it changes)"),
    b(Cmd::Desks, &[ch('B')], &[Main], "desk", "Choose the backend: the local store or a [[remote]] endpoint"),
    b(Cmd::Open, &[key(KeyCode::Enter)], &[Search], "keep filter", "Keep the filter and go back to the table"),
    b(Cmd::Back, &[key(KeyCode::Esc)], &[Search], "clear", "Clear the filter"),
    b(Cmd::Submit, &[key(KeyCode::Enter)], &[Form, FormText], "issue", FORM_ENTER),
    b(Cmd::Submit, &[ctrl('s')], FORM, "issue", "Issue the certificate, from any field"),
    b(Cmd::Newline, &[key(KeyCode::Enter)], &[FormCsr], "new line", FORM_ENTER),
    // No j/k: most fields take text, where they are typed.
    b(Cmd::FocusNext, &[key(KeyCode::Tab), key(KeyCode::Down)], FORM, "next", "Next field"),
    b(Cmd::FocusPrev, &[key(KeyCode::BackTab), key(KeyCode::Up)], FORM, "prev", "Previous field"),
    b(Cmd::Left, &[key(KeyCode::Left)], &[Form], "change", "Previous choice; in ValidityDays the previous preset (30/90/365/730)"),
    b(Cmd::Right, &[key(KeyCode::Right)], &[Form], "change", "Next choice; in ValidityDays the next preset"),
    b(Cmd::Toggle, &[ch(' ')], &[Form], "", "Next choice (Site, Key source, Key type)"),
    b(Cmd::ClearField, &[ctrl('u')], &[FormCsr], "clear", "Empty the CSR field"),
    b(Cmd::Back, &[key(KeyCode::Esc)], FORM, "cancel", "Leave the form without issuing"),
    b(Cmd::Down, &[key(KeyCode::Down), ch('j')], &[Main, Details, Result], "", "Move down / scroll"),
    b(Cmd::Up, &[key(KeyCode::Up), ch('k')], &[Main, Details, Result], "", "Move up / scroll"),
    // While searching, j/k are typed into the filter.
    b(Cmd::Down, &[key(KeyCode::Down)], &[Search], "", "Move down in the table"),
    b(Cmd::Up, &[key(KeyCode::Up)], &[Search], "", "Move up in the table"),
    b(Cmd::PageDown, &[key(KeyCode::PageDown)], SCROLL, "", "One page down"),
    b(Cmd::PageUp, &[key(KeyCode::PageUp)], SCROLL, "", "One page up"),
    b(Cmd::Top, &[ch('g'), key(KeyCode::Home)], SCROLL, "", "To the top"),
    b(Cmd::Bottom, &[ch('G'), key(KeyCode::End)], SCROLL, "", "To the bottom"),
    b(Cmd::Back, &[key(KeyCode::Esc)], &[Main], "clear filter", "Clear the filter"),
    b(Cmd::Back, &[key(KeyCode::Esc)], &[Details, Result], "back", "Back to the certificates"),
    b(Cmd::Back, &[ch('q')], &[Details], "back", "Back to the certificates (q: from the details)"),
    // In the help, every key it takes is in its bar.
    b(Cmd::Back, &[key(KeyCode::Esc)], &[Help], "close", "Close the help"),
    b(Cmd::Back, &[ch('q')], &[Help], "close", "Close the help"),
    b(Cmd::Back, &[ch('?')], &[Help], "close", "Close the help"),
    b(Cmd::Down, &[ch('j'), key(KeyCode::Down)], &[Help], "scroll", "Scroll down"),
    b(Cmd::Up, &[ch('k'), key(KeyCode::Up)], &[Help], "scroll", "Scroll up"),
    b(Cmd::PageDown, &[key(KeyCode::PageDown)], &[Help], "page", "One page down"),
    b(Cmd::PageUp, &[key(KeyCode::PageUp)], &[Help], "page", "One page up"),
    b(Cmd::Top, &[ch('g'), key(KeyCode::Home)], &[Help], "to top", "To the top"),
    b(Cmd::Bottom, &[ch('G'), key(KeyCode::End)], &[Help], "to end", "To the end"),
    b(Cmd::Back, &[key(KeyCode::Esc), ch('q'), ch('C')], &[Cas], "close", "Close the list of CAs"),
    b(Cmd::Down, &[ch('j'), key(KeyCode::Down)], &[Cas], "scroll", "Scroll down"),
    b(Cmd::Up, &[ch('k'), key(KeyCode::Up)], &[Cas], "", "Scroll up"),
    b(Cmd::PageDown, &[key(KeyCode::PageDown)], &[Cas], "", "One page down"),
    b(Cmd::PageUp, &[key(KeyCode::PageUp)], &[Cas], "", "One page up"),
    b(Cmd::Confirm, &[key(KeyCode::Enter)], &[Desks], "open", "Drive the chosen backend"),
    b(Cmd::Cancel, &[key(KeyCode::Esc), ch('q')], &[Desks], "cancel", "Stay on this one"),
    b(Cmd::Down, &[ch('j'), key(KeyCode::Down)], &[Desks], "", "Next"),
    b(Cmd::Up, &[ch('k'), key(KeyCode::Up)], &[Desks], "", "Previous"),
    b(Cmd::Confirm, &[ch('y'), key(KeyCode::Enter)], &[Confirm], "yes", "Do it"),
    b(Cmd::Cancel, &[ch('n'), key(KeyCode::Esc)], &[Confirm], "no", "Cancel"),
    b(Cmd::Left, &[key(KeyCode::Left)], &[Confirm], "reason", "Revocation reason: previous"),
    b(Cmd::Right, &[key(KeyCode::Right)], &[Confirm], "reason", "Revocation reason: next"),
    b(Cmd::Back, &[key(KeyCode::Enter), key(KeyCode::Esc)], &[Message], "close", "Close the message"),
    b(Cmd::Confirm, &[ch('y'), key(KeyCode::Enter)], &[Renew], "renew", "Renew with these settings"),
    b(Cmd::Cancel, &[ch('n'), key(KeyCode::Esc)], &[Renew], "cancel", "Cancel; nothing is issued"),
    b(Cmd::FocusNext, &[key(KeyCode::Tab), key(KeyCode::Down)], &[Renew], "next", "Next setting"),
    b(Cmd::FocusPrev, &[key(KeyCode::BackTab), key(KeyCode::Up)], &[Renew], "", "Previous setting"),
    b(Cmd::Left, &[key(KeyCode::Left)], &[Renew], "change", "ValidityDays: the previous preset; Revoke old: switch"),
    b(Cmd::Right, &[key(KeyCode::Right)], &[Renew], "change", "ValidityDays: the next preset; Revoke old: switch"),
    b(Cmd::Toggle, &[ch(' ')], &[Renew], "", "Revoke old: switch"),
    b(Cmd::Confirm, &[key(KeyCode::Enter)], &[Passphrase], "ok", "Use this passphrase and go on with the operation"),
    b(Cmd::Cancel, &[key(KeyCode::Esc)], &[Passphrase], "cancel", "Cancel the operation; nothing changes"),
    b(Cmd::FocusNext, &[key(KeyCode::Tab), key(KeyCode::Down)], &[Passphrase], "other field", "A new passphrase: the other field"),
    b(Cmd::FocusPrev, &[key(KeyCode::BackTab), key(KeyCode::Up)], &[Passphrase], "", "A new passphrase: the other field"),
    b(Cmd::Reload, &[ch('r'), ctrl('r'), key(KeyCode::F(5))], &[ConfigError], "reload", "Read the config file again (after fixing it)"),
    b(Cmd::Quit, &[ch('q')], &[ConfigError], "quit", "Quit"),
];

/// The title of the help's (and README's) section on [`EDIT_KEYS`].
pub const EDIT_TITLE: &str = "Text fields";

/// Keys that edit a focused text field (the help lists them).
pub const EDIT_KEYS: &[(&str, &str)] = &[
    ("←/→ Home End", "Move the cursor (CommonName, Name, search)"),
    ("Backspace Del", "Delete a character"),
    (
        "Ctrl-U / Ctrl-W",
        "Empty the field / delete the word before the cursor",
    ),
    (
        "paste",
        "A PEM CSR pasted anywhere in the form switches it to CSR mode; other PEM (a certificate, a key) is not pasted",
    ),
];

/// The help popup's sections: a title and the contexts it covers.
pub const HELP_SECTIONS: &[(&str, &[Ctx])] = &[
    ("Certificates", &[Main]),
    ("Search", &[Search]),
    ("Issue form", FORM),
    ("Result of issuing", &[Result]),
    ("Certificate details", &[Details]),
    ("Confirmations and messages", &[Confirm, Message]),
    ("Renewal", &[Renew]),
    ("CA passphrase", &[Passphrase]),
    ("Site CAs", &[Cas]),
    ("Desk: local store or a remote", &[Desks]),
    ("Config error screen", &[ConfigError]),
];

/// The action for a key press in a context. `text_focus`: a text field has
/// the focus, so printable keys are typed into it.
pub fn action_for(ev: &KeyEvent, ctx: Ctx, text_focus: bool) -> Option<Action> {
    if !matches!(ev.kind, KeyEventKind::Press | KeyEventKind::Repeat) {
        return None;
    }
    let plain = !ev
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    if text_focus
        && plain
        && let KeyCode::Char(c) = ev.code
    {
        return Some(Action::Edit(Edit::Char(c)));
    }
    let bound = BINDINGS.iter().filter(|b| b.ctx.contains(&ctx)).find(|b| {
        b.keys
            .iter()
            .any(|k| k.matches(ev) && !(text_focus && k.is_printable()))
    });
    if let Some(b) = bound {
        return Some(Action::Cmd(b.cmd));
    }
    if !text_focus {
        return None;
    }
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    let edit = match ev.code {
        KeyCode::Backspace => Edit::Backspace,
        KeyCode::Delete => Edit::Delete,
        KeyCode::Left => Edit::Left,
        KeyCode::Right => Edit::Right,
        KeyCode::Home => Edit::Home,
        KeyCode::End => Edit::End,
        KeyCode::Char('u') if ctrl => Edit::Clear,
        KeyCode::Char('w') if ctrl => Edit::DeleteWord,
        KeyCode::Char('h') if ctrl => Edit::Backspace,
        _ => return None,
    };
    Some(Action::Edit(edit))
}

/// The keys of a binding that work now, as text (`↓/j`).
pub fn keys_label(b: &Binding, text_focus: bool) -> String {
    b.keys
        .iter()
        .filter(|k| !(text_focus && k.is_printable()))
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The hint bar's entries for a context: (keys, label), in table order.
/// Each binding shows its first key that works now; entries whose labels
/// share a first word merge (`c/K/A copy cert/key/CA`). `applies` lets the
/// app hide commands that have nothing to act on (no selection, no key).
pub fn hints(ctx: Ctx, text_focus: bool, applies: impl Fn(Cmd) -> bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for b in BINDINGS
        .iter()
        .filter(|b| b.ctx.contains(&ctx) && !b.hint.is_empty())
    {
        if !applies(b.cmd) {
            continue;
        }
        let Some(key) = b.keys.iter().find(|k| !(text_focus && k.is_printable())) else {
            continue;
        };
        let key = key.to_string();
        if let Some((keys, _)) = out.iter_mut().find(|(_, h)| h == b.hint) {
            if !keys.split('/').any(|k| k == key) {
                keys.push('/');
                keys.push_str(&key);
            }
            continue;
        }
        let (verb, rest) = b.hint.split_once(' ').unwrap_or((b.hint, ""));
        if let Some((keys, label)) = out.last_mut()
            && !rest.is_empty()
            && label.split_once(' ').is_some_and(|(v, _)| v == verb)
        {
            keys.push('/');
            keys.push_str(&key);
            label.push('/');
            label.push_str(rest);
            continue;
        }
        out.push((key, b.hint.to_owned()));
    }
    out
}

/// The help popup's rows for one section: (keys, sentence), deduplicated.
pub fn help_rows(ctxs: &[Ctx]) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for b in BINDINGS
        .iter()
        .filter(|b| b.ctx.iter().any(|c| ctxs.contains(c)))
    {
        // Ctrl-C and the help key are listed once, under Certificates.
        let everywhere =
            b.cmd == Cmd::Help || (b.cmd == Cmd::Quit && b.keys.iter().any(|k| k.ctrl));
        if everywhere && ctxs != [Main] {
            continue;
        }
        let row = (keys_label(b, false), b.help);
        if !out.contains(&row) {
            out.push(row);
        }
    }
    out
}

#[cfg(test)]
mod tests;
