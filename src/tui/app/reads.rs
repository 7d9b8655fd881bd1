//! Reads a popup or a screen opens with (`C`, Enter, `a`), the text a
//! copy key copies, and a remote's sites: on a worker, since a remote
//! desk answers over the network, and a slow or unreachable one must not
//! freeze the screen for the HTTP timeout. The status line says what is
//! being read; the answer opens the popup or screen, or says why not,
//! like any failed operation.

use super::{App, NoteKind, Popup, RulesState, Screen};
use crate::api::{InputRules, SiteSummary};
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
        let latest = self.reading.as_ref().is_some_and(|r| r.seq == seq);
        let answer = match answer {
            Answer::Rules(r) => return self.rules_read(r),
            // A copy asked for is made even after another read began.
            Answer::Copy {
                what,
                label,
                result,
            } => {
                if latest {
                    self.reading = None;
                }
                return self.copy_read(what, label, result);
            }
            other => other,
        };
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
            // Not shown over what was opened meanwhile (rules and copies
            // were handled above).
            Answer::Cas(_)
            | Answer::ActivateFacts(_)
            | Answer::Details(_)
            | Answer::Rules(_)
            | Answer::Copy { .. } => {}
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

    /// Reads the desk's sites and defaults again after a failed read
    /// (called by every re-read of the store).
    pub(in crate::tui) fn retry_rules(&mut self) {
        if matches!(self.rules_state, RulesState::Failed(_)) {
            self.rules_state = RulesState::Reading;
            self.outbox.push(super::Effect::Job(Job::Read {
                seq: 0,
                read: Read::Rules,
            }));
        }
    }

    /// The sites and defaults, read on a worker (a remote desk).
    fn rules_read(&mut self, r: Result<InputRules, EsaError>) {
        let rules = match r {
            Ok(rules) => rules,
            Err(e) => {
                self.rules_state = RulesState::Failed(e.clone());
                return self.read_failed(self.popup.is_none(), "Cannot read the sites", e);
            }
        };
        self.rules = rules;
        self.rules_state = RulesState::Known;
        if self.sites.is_empty() {
            // Their names until the first load brings the counts.
            self.sites = self.rules.sites.iter().map(SiteSummary::from).collect();
            self.sync_site();
        }
        if let Screen::Form(f) = &mut self.screen {
            f.adopt_rules(&self.rules);
        }
    }

    /// Why the form cannot issue yet: the desk's sites are not known.
    pub(in crate::tui) fn rules_missing(&self) -> Option<String> {
        match &self.rules_state {
            RulesState::Known => None,
            RulesState::Reading => {
                Some("Not issued: the sites are still being read; try again in a moment".into())
            }
            RulesState::Failed(e) => Some(format!(
                "Not issued: the sites are not read [{}]; Esc, then Ctrl-R reads them",
                e.code
            )),
        }
    }

    /// What the status line says is under way: an operation, else a read.
    pub fn busy_text(&self) -> Option<&str> {
        self.busy
            .as_deref()
            .or(self.reading.as_ref().map(|r| r.text.as_str()))
    }
}
