//! Reads a popup or a screen opens with (`C`, Enter, `a`): on a worker,
//! since a remote desk answers over the network, and a slow or
//! unreachable one must not freeze the screen for the HTTP timeout. The
//! status line says what is being read; the answer opens the popup or
//! screen, or says why not, like any failed operation.

use super::{App, NoteKind, Popup, Screen};
use crate::error::EsaError;
use crate::text::sanitize;
use crate::tui::keys::Ctx;
use crate::tui::worker::{Answer, Job, Read};

/// The read whose answer the app waits for (one at a time: a newer one
/// replaces it, and the older answer is dropped when it comes).
#[derive(Debug)]
pub(in crate::tui) struct Reading {
    seq: u64,
    /// "Reading the CAs of example.com…", for the status line.
    pub text: String,
    /// Where the keyboard was when it was asked for: the answer opens
    /// only there, never over something opened meanwhile.
    ctx: Ctx,
}

impl App {
    /// Starts `read` on a worker; `text` is said in the status line until
    /// it answers.
    pub(in crate::tui) fn read(&mut self, read: Read, text: String) {
        self.read_seq = self.read_seq.wrapping_add(1);
        let seq = self.read_seq;
        self.reading = Some(Reading {
            seq,
            text,
            ctx: self.ctx(),
        });
        self.outbox
            .push(super::Effect::Job(Job::Read { seq, read }));
    }

    /// A read's answer: the popup or screen it was for, or its error.
    pub(in crate::tui) fn answered(&mut self, seq: u64, answer: Answer) {
        let Some(reading) = self.reading.take_if(|r| r.seq == seq) else {
            // A later read replaced it (or the desk changed).
            return;
        };
        // The operator may have moved on while it was read.
        let here = self.ctx() == reading.ctx;
        match answer {
            Answer::Cas(Ok(view)) if here => self.popup = Some(view.into()),
            Answer::Cas(Err(e)) => self.read_failed(here, "Cannot read the site's CAs", e),
            Answer::ActivateFacts(Ok(ask)) if here => self.popup = Some(Popup::Confirm(ask)),
            Answer::ActivateFacts(Err(e)) => {
                self.read_failed(here, "Cannot read the certificate", e)
            }
            Answer::Details(Ok(view)) if here => self.screen = Screen::Details(view),
            Answer::Details(Err(e)) => self.read_failed(here, "Cannot open the certificate", e),
            // Not shown over what was opened meanwhile.
            Answer::Cas(_) | Answer::ActivateFacts(_) | Answer::Details(_) => {}
        }
    }

    /// A failed read: the usual error popup where it was asked for, a
    /// line in the status bar only over something opened since.
    fn read_failed(&mut self, here: bool, title: &str, e: EsaError) {
        if here {
            self.fail(title, e);
        } else {
            self.set_note(
                NoteKind::Error,
                format!("{title}: [{}] {}", e.code, sanitize(&e.message)),
            );
        }
    }

    /// What the status line says is under way: an operation, else a read.
    pub fn busy_text(&self) -> Option<&str> {
        self.busy
            .as_deref()
            .or(self.reading.as_ref().map(|r| r.text.as_str()))
    }
}
