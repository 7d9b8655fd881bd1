//! Popups: each one's state, its keys and its drawing in one file. The one
//! list at the bottom (`popups!`) makes the [`Popup`] enum and routes every
//! question the app asks of an open popup (where the keyboard is, what a
//! key does, what a paste does, how it looks) to the popup's own
//! [`PopupState`]. Adding a popup is one new file that implements it, one
//! line in that list and its keys in `keys::BINDINGS`.

pub mod cas;
pub mod confirm;
pub mod desks;
pub mod help;
pub mod message;
pub mod passphrase;
pub mod renew;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::action::Cmd;
use super::app::App;
use super::input::Edit;
use super::keys::Ctx;
use super::screen::issue_form::refused_pem;
use crate::api::InputRules;

/// What a popup is to the app.
pub trait PopupState: Sized {
    /// Where the keyboard is while it is open (picks its key bindings).
    fn ctx(&self) -> Ctx;

    /// Whether typed characters go into a text field of the popup.
    fn text_focus(&self) -> bool {
        false
    }

    /// Whether that field takes digits only (other keys keep their meaning).
    fn digits_focus(&self) -> bool {
        false
    }

    /// Whether `cmd` has something to act on now (the hint bar shows only
    /// those; the key still works otherwise and says why not).
    fn applies(&self, _cmd: Cmd) -> bool {
        true
    }

    /// A command while it is open. Returns the popup to keep open, `None`
    /// when it closed (the command may have opened another one on `app`).
    fn command(self: Box<Self>, app: &mut App, cmd: Cmd) -> Option<Popup>;

    /// An edit key in its text field.
    fn edit(&mut self, _e: Edit, _rules: &InputRules) {}

    /// A paste; returns a warning for the status line. By default a PEM
    /// that is not a CSR is refused with a word (it goes into no field).
    fn paste(&mut self, text: &str, _rules: &InputRules) -> Option<String> {
        refused_pem(text)
    }

    fn draw(&self, frame: &mut Frame, app: &App, body: Rect);
}

macro_rules! popups {
    ($($name:ident($ty:ty),)*) => {
        /// The popup over the current screen, if any.
        #[derive(Debug)]
        pub enum Popup {
            $($name(Box<$ty>),)*
        }

        $(impl From<$ty> for Popup {
            fn from(p: $ty) -> Popup {
                Popup::$name(Box::new(p))
            }
        })*

        impl Popup {
            pub fn ctx(&self) -> Ctx {
                match self { $(Popup::$name(p) => PopupState::ctx(&**p),)* }
            }

            pub fn text_focus(&self) -> bool {
                match self { $(Popup::$name(p) => PopupState::text_focus(&**p),)* }
            }

            pub fn digits_focus(&self) -> bool {
                match self { $(Popup::$name(p) => PopupState::digits_focus(&**p),)* }
            }

            pub fn applies(&self, cmd: Cmd) -> bool {
                match self { $(Popup::$name(p) => PopupState::applies(&**p, cmd),)* }
            }

            pub fn command(self, app: &mut App, cmd: Cmd) -> Option<Popup> {
                match self { $(Popup::$name(p) => PopupState::command(p, app, cmd),)* }
            }

            pub fn edit(&mut self, e: Edit, rules: &InputRules) {
                match self { $(Popup::$name(p) => PopupState::edit(&mut **p, e, rules),)* }
            }

            pub fn paste(&mut self, text: &str, rules: &InputRules) -> Option<String> {
                match self { $(Popup::$name(p) => PopupState::paste(&mut **p, text, rules),)* }
            }

            pub fn draw(&self, frame: &mut Frame, app: &App, body: Rect) {
                match self { $(Popup::$name(p) => PopupState::draw(&**p, frame, app, body),)* }
            }
        }
    };
}

popups! {
    Help(help::HelpView),
    Confirm(confirm::Confirm),
    Message(message::Message),
    Renew(renew::RenewAsk),
    Passphrase(passphrase::PassAsk),
    Cas(cas::CasView),
    Desks(desks::DesksView),
}
