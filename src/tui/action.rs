//! What the app can be asked to do. Keys become [`Action`]s in
//! [`super::keys`]; [`super::app::App::step`] is the only place that acts on
//! them, so tests drive the app with actions and no terminal.

use super::input::Edit;

/// A command from the key map. Adding one is a variant here, one line in
/// [`super::keys::BINDINGS`] and its handling in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmd {
    Quit,
    Help,
    Back,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    /// Space on a choice: the next value.
    Toggle,
    New,
    Open,
    Submit,
    Newline,
    Search,
    CopyCert,
    CopyKey,
    CopyCa,
    CopyJson,
    /// The site's CAs and their hostname bindings.
    Cas,
    /// Choose the desk's backend.
    Desks,
    Revoke,
    Activate,
    Delete,
    /// Issue a successor (asks first: validity, revoke the old one).
    Renew,
    Sort,
    SortReverse,
    Reload,
    Confirm,
    Cancel,
    ClearField,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Cmd(Cmd),
    /// A key for the focused text field.
    Edit(Edit),
    /// A bracketed paste (newlines not yet normalised).
    Paste(String),
    /// About ten times a second: spinners, status expiry, store polling.
    Tick,
    /// The terminal window got the focus back: re-read the store.
    FocusGained,
}
