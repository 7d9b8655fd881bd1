//! Copying to the clipboard. One native clipboard (arboard) is kept for
//! the whole session, because on X11 the copying process owns the
//! selection and the text vanishes when it goes away. Where there is no
//! native clipboard (SSH, no display, CI) the text is sent to the terminal
//! as an OSC 52 sequence; that cannot be read back, so the status line
//! says "sent to the terminal clipboard", not "copied". Nothing here can
//! make the app fail.

use std::io::Write;

use base64::Engine;

/// What happened to a copy, for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyOutcome {
    /// In the native clipboard; `private`: marked to stay out of history.
    Copied {
        private: bool,
    },
    /// Written to the terminal as OSC 52; `why`: why not native.
    SentOsc52 {
        why: String,
    },
    Failed(String),
}

impl CopyOutcome {
    /// A sentence for the status line: `what` is e.g. "the certificate PEM
    /// of alice".
    pub fn describe(&self, what: &str) -> String {
        match self {
            CopyOutcome::Copied { private: true } => {
                format!("Copied {what} (not in clipboard history)")
            }
            CopyOutcome::Copied { private: false } => format!("Copied {what} to the clipboard"),
            CopyOutcome::SentOsc52 { why } => format!("Sent {what} by OSC 52 ({why})"),
            CopyOutcome::Failed(e) => format!("Could not copy {what}: {e}"),
        }
    }

    pub fn is_failure(&self) -> bool {
        matches!(self, CopyOutcome::Failed(_))
    }
}

/// The session's clipboard.
pub struct Clipboard {
    native: Option<arboard::Clipboard>,
    /// Why there is no native clipboard (shown with OSC 52 copies).
    why_not: String,
}

impl std::fmt::Debug for Clipboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Clipboard {
    /// Opens the native clipboard if there is one.
    pub fn start() -> Clipboard {
        match arboard::Clipboard::new() {
            Ok(c) => Clipboard {
                native: Some(c),
                why_not: String::new(),
            },
            Err(e) => {
                tracing::info!(error = %e, "no native clipboard; copies use OSC 52");
                Clipboard {
                    native: None,
                    why_not: "no native clipboard".into(),
                }
            }
        }
    }

    #[cfg(test)]
    /// A clipboard that only knows OSC 52 (tests, or `why` the native one
    /// is not wanted).
    pub fn osc52_only(why: &str) -> Clipboard {
        Clipboard {
            native: None,
            why_not: why.to_owned(),
        }
    }

    /// One line for the help popup.
    pub fn describe(&self) -> String {
        if self.native.is_some() {
            "native clipboard (X11/desktop); OSC 52 if it fails".into()
        } else {
            format!("OSC 52 via the terminal ({})", self.why_not)
        }
    }

    /// Copies `text`; `secret` asks the desktop to keep it out of
    /// clipboard history. OSC 52 goes to `term`.
    pub fn copy(&mut self, text: &str, secret: bool, term: &mut impl Write) -> CopyOutcome {
        let why = match self.native.as_mut() {
            Some(cb) => match set_native(cb, text, secret) {
                Ok(()) => return CopyOutcome::Copied { private: secret },
                Err(e) => {
                    tracing::warn!(error = %e, "native clipboard failed; trying OSC 52");
                    format!("the native clipboard failed: {e}")
                }
            },
            None => self.why_not.clone(),
        };
        match term
            .write_all(osc52(text).as_bytes())
            .and_then(|()| term.flush())
        {
            Ok(()) => CopyOutcome::SentOsc52 { why },
            Err(e) => CopyOutcome::Failed(e.to_string()),
        }
    }
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "android", target_os = "emscripten"))
))]
fn set_native(cb: &mut arboard::Clipboard, text: &str, secret: bool) -> Result<(), arboard::Error> {
    use arboard::SetExtLinux;
    if secret {
        cb.set().exclude_from_history().text(text)
    } else {
        cb.set_text(text)
    }
}

#[cfg(target_os = "macos")]
fn set_native(cb: &mut arboard::Clipboard, text: &str, secret: bool) -> Result<(), arboard::Error> {
    use arboard::SetExtApple;
    if secret {
        cb.set().exclude_from_history().text(text)
    } else {
        cb.set_text(text)
    }
}

#[cfg(windows)]
fn set_native(cb: &mut arboard::Clipboard, text: &str, secret: bool) -> Result<(), arboard::Error> {
    use arboard::SetExtWindows;
    if secret {
        cb.set().exclude_from_history().text(text)
    } else {
        cb.set_text(text)
    }
}

#[cfg(not(any(unix, windows)))]
fn set_native(
    cb: &mut arboard::Clipboard,
    text: &str,
    _secret: bool,
) -> Result<(), arboard::Error> {
    cb.set_text(text)
}

/// `ESC ] 52 ; c ; <base64> BEL`: "put this in the clipboard", understood
/// by most terminals (and by tmux with `set -g set-clipboard on`).
pub fn osc52(text: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{b64}\x07")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_is_base64_in_the_standard_frame() {
        assert_eq!(osc52("hi\n"), "\x1b]52;c;aGkK\x07");
    }

    #[test]
    fn without_a_display_copies_go_to_the_terminal() {
        let mut cb = Clipboard::osc52_only("no display");
        let mut term = Vec::new();
        let out = cb.copy("PEM", true, &mut term);
        assert_eq!(
            out,
            CopyOutcome::SentOsc52 {
                why: "no display".into()
            }
        );
        assert_eq!(term, b"\x1b]52;c;UEVN\x07");
        assert_eq!(
            out.describe("certificate of alice"),
            "Sent certificate of alice by OSC 52 (no display)"
        );
    }

    #[test]
    fn a_broken_terminal_is_a_failure_not_a_crash() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("gone"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut cb = Clipboard::osc52_only("test");
        let out = cb.copy("x", false, &mut Broken);
        assert!(out.is_failure());
        assert_eq!(out.describe("it"), "Could not copy it: gone");
    }
}
