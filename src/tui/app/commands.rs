//! What each command of the `BINDINGS` table does when it applies: the
//! open popup gets it first, then the screen, then the desk-wide commands.

use super::*;

impl App {
    pub(super) fn command(&mut self, cmd: Cmd) {
        if let Some(popup) = self.popup.take() {
            // A command may have opened another popup (the passphrase).
            if let Some(next) = popup.command(self, cmd) {
                self.popup = Some(next);
            }
            return;
        }
        if cmd == Cmd::Help {
            self.popup = Some(HelpView::at(self.ctx()).into());
            return;
        }
        let screen = std::mem::replace(&mut self.screen, Screen::Main);
        self.screen = match screen {
            Screen::Main => {
                self.main_command(cmd);
                // A command may have opened another screen.
                std::mem::replace(&mut self.screen, Screen::Main)
            }
            Screen::Form(f) => self.form_command(f, cmd),
            Screen::Result(r) => self.result_command(r, cmd),
            Screen::Details(d) => self.details_command(d, cmd),
        };
        if matches!(self.screen, Screen::Main)
            && let Some(r) = self.deferred.take()
        {
            self.screen = Screen::Result(r);
        }
    }

    /// Esc or Ctrl-C on a result whose private key is on screen only: the
    /// first press warns (and arms), the second goes ahead. Returns whether
    /// this press was stopped.
    pub(in crate::tui) fn key_would_be_lost(&mut self, then: &str) -> bool {
        let Screen::Result(r) = &mut self.screen else {
            return false;
        };
        if !r.key_only_here() || r.leave_armed {
            return false;
        }
        r.leave_armed = true;
        self.warn(format!(
            "Key not stored, shown only here: K copies it; {then}"
        ));
        true
    }

    // ---- edits and pastes: the popup's, else the screen's --------------

    pub(in crate::tui) fn edit(&mut self, e: Edit) {
        if let Some(p) = &mut self.popup {
            p.edit(e, &self.rules);
            return;
        }
        if let Some(input) = self.search.as_mut() {
            input.apply(e);
            let q = input.value().to_owned();
            self.table.set_query(&q);
            return;
        }
        if let Screen::Form(f) = &mut self.screen
            && f.submitting.is_none()
        {
            f.edit(e, &self.rules);
        }
    }

    pub(in crate::tui) fn paste(&mut self, text: &str) {
        if let Some(p) = &mut self.popup {
            if let Some(why) = p.paste(text, &self.rules) {
                self.warn(why);
            }
            return;
        }
        // A PEM that is not a CSR (a certificate, a private key) goes into
        // no field, wherever the focus is.
        if let Some(why) = crate::tui::screen::issue_form::refused_pem(text) {
            self.warn(why);
            return;
        }
        if matches!(self.screen, Screen::Main) && self.search.is_none() && looks_like_csr(text) {
            // A CSR pasted on the main screen: open the form with it.
            self.open_form();
        }
        if let Screen::Form(f) = &mut self.screen {
            let pasted = f.submitting.is_none().then(|| f.paste(text, &self.rules));
            match pasted {
                Some(Pasted::Csr) => {
                    let msg = match &f.csr_preview {
                        Some(p) => format!("CSR pasted: {} · {}", p.subject, p.key),
                        None => "CSR pasted; it has a problem, see the form".into(),
                    };
                    self.info(msg);
                }
                Some(Pasted::Cut { limit }) => self.warn(cut_note(limit)),
                _ => {}
            }
            return;
        }
        if let Some(input) = self.search.as_mut() {
            let dropped = input.insert_str(text.trim());
            let q = input.value().to_owned();
            self.table.set_query(&q);
            if dropped > 0 {
                self.warn(cut_note(MAX_SEARCH_CHARS));
            }
        }
    }

    // ---- status line ---------------------------------------------------------------

    pub(in crate::tui) fn set_note(&mut self, kind: NoteKind, text: String) {
        self.note_seq += 1;
        self.note = Some(Note {
            kind,
            text,
            at: Instant::now(),
        });
    }

    pub(in crate::tui) fn info(&mut self, text: String) {
        self.set_note(NoteKind::Info, text);
    }

    pub(in crate::tui) fn warn(&mut self, text: String) {
        self.set_note(NoteKind::Warning, text);
    }

    /// An error from the service: a popup with its ESA code and message.
    pub(in crate::tui) fn fail(&mut self, title: &str, error: EsaError) {
        self.set_note(
            NoteKind::Error,
            format!("[{}] {}", error.code, sanitize(&error.message)),
        );
        self.popup = Some(
            Message {
                title: title.to_owned(),
                error,
            }
            .into(),
        );
    }
}
