//! Jobs that sign for a site, and the CA passphrase they may need
//! (`[ca] protect_key = true`). The service keeps one passphrase for the
//! session; the popup asks for it before such a job when the service has
//! none, and again when the job comes back because the passphrase did not
//! open the key (another site's CA may have another one).

use std::time::Instant;

use super::{App, Effect, NoteKind, Popup, Screen, short, verb_ing};
use crate::error::EsaError;
use crate::service::PassphrasePurpose;
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::passphrase::PassAsk;
use crate::tui::worker::Job;

impl App {
    /// Starts a job that signs for a site (issue, renew, or a status
    /// change, which signs the CRL), asking for the CA passphrase first
    /// when the site needs one the service does not have.
    pub(super) fn start_job(&mut self, job: Job) {
        match self.job_site(&job) {
            Some(site) if self.service.needs_ca_passphrase(site).unwrap_or(false) => {
                self.ask_passphrase(site, job, None);
            }
            _ => self.launch(job),
        }
    }

    /// Hands the job to a worker and shows that it runs.
    fn launch(&mut self, job: Job) {
        match &job {
            Job::Issue(_) => {
                if let Screen::Form(f) = &mut self.screen {
                    f.submitting = Some(Instant::now());
                }
            }
            Job::Change { op, label, .. } => {
                self.busy = Some(format!("{} {label}…", verb_ing(*op)));
            }
            Job::Renew(j) => self.busy = Some(format!("Renewing {}…", short(&j.label))),
            Job::Load { .. } => {}
        }
        self.outbox.push(Effect::Job(job));
    }

    /// The site a job signs for.
    fn job_site(&self, job: &Job) -> Option<u64> {
        match job {
            Job::Issue(v) => Some(v.site.id),
            Job::Change { id, .. } => self.service.get(id).ok().map(|g| g.site_id),
            Job::Renew(j) => self.service.get(&j.id).ok().map(|g| g.site_id),
            Job::Load { .. } => None,
        }
    }

    fn ask_passphrase(&mut self, site: u64, job: Job, error: Option<String>) {
        // No CA yet (or an unreadable key file): the key is made now and
        // encrypted with what is typed, so it is typed twice.
        let purpose = match self.service.ca_key_protected(site) {
            Ok(false) => PassphrasePurpose::New,
            _ => PassphrasePurpose::Unlock,
        };
        let name = self
            .sites
            .iter()
            .find(|s| s.site_id == site)
            .map(|s| sanitize(&s.site_name))
            .unwrap_or_default();
        let mut ask = PassAsk::new(site, &name, purpose, job);
        ask.error = error;
        self.popup = Some(Popup::Passphrase(Box::new(ask)));
    }

    /// A job came back: the passphrase the service had does not open the
    /// key, or there was none. Nothing changed; ask and run it again.
    pub(super) fn needs_passphrase(&mut self, job: Job, error: EsaError) {
        self.busy = None;
        if let Screen::Form(f) = &mut self.screen {
            f.submitting = None;
        }
        match self.job_site(&job) {
            Some(site) => {
                self.set_note(
                    NoteKind::Warning,
                    format!("[{}] {}", error.code, sanitize(&error.message)),
                );
                self.ask_passphrase(site, job, Some(sanitize(&error.message)));
            }
            None => self.fail("Cannot open the CA key", error),
        }
    }

    /// A key in the passphrase popup; returns the popup unless it closed.
    pub(super) fn passphrase_command(&mut self, mut p: Box<PassAsk>, cmd: Cmd) -> Option<Popup> {
        match cmd {
            Cmd::Cancel => {
                self.info("No CA passphrase given; nothing was changed".into());
                None
            }
            Cmd::FocusNext | Cmd::FocusPrev => {
                p.focus_step();
                Some(Popup::Passphrase(p))
            }
            Cmd::Confirm => {
                let set = p
                    .take()
                    .and_then(|s| self.service.set_ca_passphrase(s).map_err(|e| e.message));
                match set {
                    Ok(()) => {
                        self.info("CA passphrase kept in memory (zeroized) until you quit".into());
                        let PassAsk { job, .. } = *p;
                        self.launch(job);
                        None
                    }
                    Err(msg) => {
                        p.error = Some(msg);
                        Some(Popup::Passphrase(p))
                    }
                }
            }
            _ => Some(Popup::Passphrase(p)),
        }
    }
}
