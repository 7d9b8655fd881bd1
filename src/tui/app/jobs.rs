//! Copies, store reads and the results of workers.

use zeroize::Zeroizing;

use super::{
    App, CopyRequest, Effect, NOTE_FOR, NoteKind, Renewal, ResultView, RulesState, Screen,
    capitalise, short, verb_ing,
};
use crate::api::{CreateResponse, GetResponse, RenewResponse, Secret};
use crate::error::EsaError;
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::clipboard::CopyOutcome;
use crate::tui::screen::main::rows::CertRow;
use crate::tui::scroll::Scroll;
use crate::tui::worker::{Copied, Done, Job, Named, Op, Read, RenewJob, Snapshot};
use std::time::Instant;

impl App {
    /// Hands the job to a worker and shows that it runs.
    pub(in crate::tui) fn launch(&mut self, job: Job) {
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
            Job::Load { .. } | Job::Read { .. } | Job::Poll => {}
        }
        self.outbox.push(Effect::Job(job));
    }

    // ---- copies --------------------------------------------------------------

    pub(in crate::tui) fn copy(&mut self, what: String, text: Zeroizing<String>, secret: bool) {
        self.outbox
            .push(Effect::Copy(CopyRequest { what, text, secret }));
    }

    /// Copies a site's CA certificate, through `Backend::ca_pem`, which
    /// never creates a missing CA: a copy key must not create one. Read
    /// on a worker, like every copy of stored text.
    pub(in crate::tui) fn copy_ca(&mut self, site_id: u64) {
        let site = self.site_label(site_id);
        let text = format!("Reading the CA certificate of {}…", short(&site));
        self.read(
            Read::Copy {
                what: Copied::Ca,
                site: site_id,
                id: String::new(),
                label: site,
            },
            text,
        );
    }

    /// c/K/A on a stored certificate (table or details).
    pub(in crate::tui) fn copy_stored(&mut self, cmd: Cmd, id: &str, site_id: u64, label: &str) {
        let what = match cmd {
            Cmd::CopyCa => return self.copy_ca(site_id),
            Cmd::CopyKey => Copied::PrivateKey,
            _ => Copied::Certificate,
        };
        let text = format!("Reading the {} of {}…", copied_noun(what), short(label));
        self.read(
            Read::Copy {
                what,
                site: site_id,
                id: id.to_owned(),
                label: label.to_owned(),
            },
            text,
        );
    }

    /// The text a copy key asked for: to the clipboard, wherever the
    /// operator is now (they asked for it), or why not.
    pub(in crate::tui) fn copy_read(
        &mut self,
        what: Copied,
        label: String,
        result: Result<Option<Secret>, EsaError>,
    ) {
        let noun = copied_noun(what);
        match result {
            Ok(Some(text)) => {
                let text = Zeroizing::new(text.expose().to_owned());
                let secret = what == Copied::PrivateKey;
                self.copy(format!("{noun} of {}", short(&label)), text, secret);
            }
            Ok(None) => self.warn(format!(
                "site {} has no CA yet (it is created by the first issuance)",
                short(&label)
            )),
            Err(e) => {
                let title = match what {
                    Copied::Ca => "Cannot read the CA certificate".to_owned(),
                    _ => format!("Cannot copy the {noun}"),
                };
                // Not over a popup opened meanwhile.
                if self.popup.is_none() {
                    self.fail(&title, e);
                } else {
                    self.set_note(
                        NoteKind::Error,
                        format!("{title}: [{}] {}", e.code, sanitize(&e.message)),
                    );
                }
            }
        }
    }

    /// The runtime's report on a copy.
    pub fn copied(&mut self, what: &str, outcome: &CopyOutcome) {
        let text = outcome.describe(what);
        if outcome.is_failure() {
            self.set_note(NoteKind::Error, text);
        } else {
            self.set_note(NoteKind::Success, text);
        }
    }

    // ---- loading and jobs ------------------------------------------------------

    /// Re-reads the store on a worker (one read at a time; a request during
    /// a read queues one more). The first load of a store with several
    /// sites reads them a batch at a time, the selected one first and
    /// alone, so its table is on screen without waiting for the others
    /// (see [`App::start`]); a site selected meanwhile goes first in the
    /// next batch.
    pub fn reload(&mut self) {
        self.retry_rules();
        if self.load.in_flight {
            self.load.pending = true;
            return;
        }
        self.load.in_flight = true;
        let job = if self.load.unread.is_empty() {
            Job::load_all()
        } else {
            let selected = self.selected_site().map(|s| s.site_id);
            let size = self.load.batch.max(1);
            self.load.batch_sent = Some(Instant::now());
            Job::Load {
                sites: Some(self.load.unread.batch(selected, size)),
                // The first batch's stamp stands for the whole load.
                stamp: self.stamp.is_none(),
            }
        };
        self.outbox.push(Effect::Job(job));
    }

    /// A batch of the first load came back: the next one is sized so that
    /// it takes about [`BATCH_TARGET`].
    fn size_next_batch(&mut self) {
        let Some(took) = self.load.batch_sent.take().map(|t| t.elapsed()) else {
            return;
        };
        self.load.batch = next_batch(self.load.batch, took);
    }

    pub(in crate::tui) fn tick(&mut self) {
        self.spinner = self.spinner.wrapping_add(1);
        if let Some(n) = &self.note
            && n.kind != NoteKind::Error
            && n.at.elapsed() > NOTE_FOR
        {
            self.note = None;
            self.redraw = true;
        }
        let due = self
            .last_poll
            .is_none_or(|t| t.elapsed() >= self.poll_every);
        if due && self.load.loaded && !self.load.in_flight && !self.polling {
            self.last_poll = Some(Instant::now());
            // On the worker: the local store's stamp stats two folders per
            // site (0.2 s at 30,000 sites); a remote answers `None` at once
            // (it is re-read on demand only).
            self.polling = true;
            self.launch(Job::Poll);
        }
    }

    /// A poll's answer: re-read when the store moved since the last read
    /// (and no read is under way already).
    fn polled(&mut self, stamp: Option<u64>) {
        self.polling = false;
        if let Some(stamp) = stamp
            && Some(stamp) != self.stamp
            && !self.load.in_flight
        {
            self.reload();
        }
    }

    /// A worker's result.
    pub fn done(&mut self, done: Done) {
        let before = self.screen_mark();
        self.done_inner(done);
        self.forget_old_note(before);
    }

    fn done_inner(&mut self, done: Done) {
        match done {
            Done::Page(rows) => self.page_arrived(rows),
            Done::Loaded(r) => self.loaded(r),
            Done::Issued { result, named } => self.issued(result, named),
            Done::Changed {
                op,
                id,
                label,
                result,
                fresh,
            } => {
                self.busy = None;
                match result {
                    Ok(_) => {
                        let text = match op {
                            // The reason, and a shorter Id, so it fits.
                            Op::Revoke(Some(r)) => format!(
                                "Revoked {} for {} (Id {}…)",
                                short(&label),
                                r.as_str(),
                                id.get(..8).unwrap_or(&id)
                            ),
                            _ => format!("{} {} ({id})", capitalise(op.done()), short(&label)),
                        };
                        self.set_note(NoteKind::Success, text);
                        self.refresh_details(&id, op, fresh);
                        self.reload();
                    }
                    Err(e) => self.fail(&format!("{} refused", op.verb()), e),
                }
            }
            Done::NeedsPassphrase { job, error } => self.needs_passphrase(job, error),
            Done::Read { seq, answer } => self.answered(seq, answer),
            Done::Polled(stamp) => self.polled(stamp),
            Done::Renewed { job, result, named } => {
                self.busy = None;
                match result {
                    Ok(resp) => self.renewed(job, resp, named),
                    Err(e) => self.fail("Renewal refused", e),
                }
            }
        }
    }

    /// A successful renewal: its result, like an issuance's, with what
    /// became of the old certificate.
    fn renewed(&mut self, job: RenewJob, resp: RenewResponse, named: Named) {
        let new = resp.certificate;
        let view = Box::new(ResultView {
            name: named.name,
            pkey_type: named.pkey_type,
            key_kept: self.desk.keeps_private_keys(),
            site_id: resp.site_id,
            scroll: Scroll::default(),
            leave_armed: false,
            renewal: Some(Renewal {
                old_id: resp.renewed_from,
                old_label: job.label.clone(),
                old_not_after: job.not_after,
                old_status: resp.old_status,
                old_revoked: resp.old_revoked,
                site_name: resp.site_name,
            }),
            resp: new,
        });
        let id = view.resp.id.clone();
        self.pending_select = Some(id.clone());
        self.reload();
        match self.screen {
            Screen::Main | Screen::Details(_) => {
                self.set_note(
                    NoteKind::Success,
                    format!("Renewed {} (new Id {id})", short(&job.label)),
                );
                self.screen = Screen::Result(view);
            }
            // Never replace a form or a result: it may hold the only copy
            // of a key. The renewal's result waits until it is left.
            _ => {
                self.set_note(
                    NoteKind::Success,
                    format!(
                        "Renewed {} (new Id {id}); its result opens when you leave this screen",
                        short(&job.label)
                    ),
                );
                self.deferred = Some(view);
            }
        }
    }

    /// A job that could not even start.
    pub fn worker_failed(&mut self, e: EsaError) {
        self.busy = None;
        self.reading = None;
        if self.rules_state == RulesState::Reading {
            // Perhaps that read: the next re-read tries again.
            self.rules_state = RulesState::Failed(e.clone());
        }
        if self.load.in_flight {
            // A read that never came back: said like any failed read, so
            // no spinner waits for it. The polls read again; the popup is
            // shown once for a failure that repeats.
            let again = self.load.error.as_ref() == Some(&e);
            self.loaded(Err(e.clone()));
            if again {
                return;
            }
        }
        if let Screen::Form(f) = &mut self.screen {
            f.submitting = None;
        }
        self.fail("Cannot run the operation", e);
    }

    /// A page of a remote listing during a load: shown at once where the
    /// site was not read before (the first load), kept aside otherwise
    /// so a re-read replaces the old rows in one go when it ends.
    fn page_arrived(&mut self, rows: Vec<CertRow>) {
        let fresh: Vec<CertRow> = rows
            .iter()
            .filter(|r| !self.site_read(r.site_id))
            .cloned()
            .collect();
        if !fresh.is_empty() {
            self.table.append_rows(fresh);
            self.sync_site();
        }
        self.load.staged.extend(rows);
    }

    pub(in crate::tui) fn loaded(&mut self, r: Result<Snapshot, EsaError>) {
        self.load.in_flight = false;
        let staged = std::mem::take(&mut self.load.staged);
        let r = r.map(|mut snap| {
            if snap.streamed {
                // The pages are the read's rows, in the order they came.
                let mut rows = staged;
                rows.append(&mut snap.rows);
                snap.rows = rows;
            }
            snap
        });
        match r {
            Ok(snap) => {
                let keep = self.selected_site().map(|s| s.site_id);
                let damaged = match snap.batch {
                    // A batch of the first load: merged in (each site
                    // looked up, not searched for); the next follows.
                    Some(batch) => {
                        self.size_next_batch();
                        for fresh in snap.sites {
                            if let Some(i) = self.site_pos(fresh.site_id) {
                                self.sites[i] = fresh;
                            }
                        }
                        self.table.replace_sites_rows(&batch, snap.rows);
                        for id in batch {
                            self.load.unread.remove(id);
                        }
                        // A change during the first load moves the stamp
                        // taken before its first read: the next poll sees it.
                        self.stamp = self.stamp.or(snap.stamp);
                        self.load.damaged_so_far += snap.damaged;
                        if !self.load.unread.is_empty() {
                            self.load.pending = true;
                        }
                        self.load
                            .unread
                            .is_empty()
                            .then_some(self.load.damaged_so_far)
                    }
                    None => {
                        self.load.unread.clear();
                        self.stamp = snap.stamp;
                        self.set_sites(snap.sites);
                        self.table.replace_rows(snap.rows);
                        Some(snap.damaged)
                    }
                };
                self.site_sel = keep.and_then(|id| self.site_pos(id)).unwrap_or(0);
                self.sync_site();
                // Its site may not be read yet during the first load.
                if let Some(id) = self.pending_select.take()
                    && !self.table.select_id(&id)
                    && !self.load.unread.is_empty()
                {
                    self.pending_select = Some(id);
                }
                if let Some(n) = damaged {
                    if n > 0 && self.load.damaged != n {
                        self.warn(format!(
                            "{n} unreadable store entries were skipped (their paths are in the log)"
                        ));
                    }
                    self.load.damaged = n;
                }
                self.load.loaded = true;
                self.load.error = None;
            }
            Err(e) => {
                self.set_note(
                    NoteKind::Error,
                    format!(
                        "Cannot read the store: [{}] {}",
                        e.code,
                        sanitize(&e.message)
                    ),
                );
                self.load.error = Some(e);
                self.load.unread.clear();
                // Keep polling: the store may come back.
                self.load.loaded = true;
                self.stamp = None;
            }
        }
        if std::mem::take(&mut self.load.pending) {
            self.reload();
        } else if self.load.unread.is_empty() && std::mem::take(&mut self.load.announce) {
            // Replaced only if nothing else (an error) was said meanwhile.
            if self
                .note
                .as_ref()
                .is_some_and(|n| n.text == super::REREADING)
            {
                let text = reread_text(self.table.rows().len());
                self.info(text);
            }
        } else if let Some(note) = self.note.as_mut()
            && note.text.starts_with(REREAD_PREFIX)
        {
            // A later (automatic) re-read changed the count: the note
            // must not contradict the header.
            note.text = reread_text(self.table.rows().len());
        }
    }

    pub(in crate::tui) fn issued(&mut self, r: Result<CreateResponse, EsaError>, named: Named) {
        let Screen::Form(f) = &mut self.screen else {
            // The form is gone (cannot happen: it stays while issuing).
            if let Ok(resp) = r {
                self.pending_select = Some(resp.id);
                self.reload();
            }
            return;
        };
        match r {
            Ok(resp) => {
                let site_id = f.site_id().unwrap_or_default();
                // Without a CommonName the Id is the CN: say it once.
                let text = if resp.common_name == resp.id {
                    format!("Issued {}", resp.id)
                } else {
                    format!("Issued {} (Id {})", sanitize(&resp.common_name), resp.id)
                };
                self.set_note(NoteKind::Success, text);
                self.pending_select = Some(resp.id.clone());
                if let Some(i) = self.site_pos(site_id) {
                    self.site_sel = i;
                    self.sync_site();
                }
                self.screen = Screen::Result(Box::new(ResultView {
                    name: named.name,
                    pkey_type: named.pkey_type,
                    key_kept: self.desk.keeps_private_keys(),
                    resp,
                    site_id,
                    scroll: Scroll::default(),
                    leave_armed: false,
                    renewal: None,
                }));
                self.reload();
            }
            Err(e) => {
                let note = format!("Not issued: [{}] {}", e.code, sanitize(&e.message));
                f.fail(e);
                self.set_note(NoteKind::Error, note);
            }
        }
    }

    /// A change went through while its details may be open: they show
    /// the certificate as read again after it (`fresh`, read by the job).
    pub(in crate::tui) fn refresh_details(
        &mut self,
        id: &str,
        op: Op,
        fresh: Option<Box<GetResponse>>,
    ) {
        let Screen::Details(d) = &mut self.screen else {
            return;
        };
        if d.get.result.id != id {
            return;
        }
        if op == Op::Delete {
            self.screen = Screen::Main;
            return;
        }
        if let Some(get) = fresh {
            d.get = *get;
        }
    }
}

fn copied_noun(what: Copied) -> &'static str {
    match what {
        Copied::Certificate => "certificate",
        Copied::PrivateKey => "private key",
        Copied::Ca => "CA certificate",
    }
}

const REREAD_PREFIX: &str = "Re-read the store: ";

/// About how long a batch of the first load should take: short enough
/// that a site selected meanwhile is read soon, long enough that 30,000
/// sites are a few dozen batches, not 30,000 reads.
const BATCH_TARGET: std::time::Duration = std::time::Duration::from_millis(100);

/// The most sites in one batch.
const MAX_BATCH: usize = 8192;

/// The size of the batch after one of `n` sites that took `took`: twice
/// as many when it was quick, half when it was slow.
fn next_batch(n: usize, took: std::time::Duration) -> usize {
    let n = n.max(1);
    if took < BATCH_TARGET / 2 {
        n.saturating_mul(2).min(MAX_BATCH)
    } else if took > BATCH_TARGET * 2 {
        (n / 2).max(1)
    } else {
        n
    }
}

/// The status line after a re-read asked for (Ctrl-R/F5).
fn reread_text(n: usize) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{REREAD_PREFIX}{n} certificate{s}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn batches_grow_while_quick_and_shrink_when_slow() {
        let quick = Duration::from_millis(1);
        let slow = Duration::from_secs(1);
        let mut n = 1;
        let mut batches = 0;
        let mut read = 0;
        // 30,000 sites that are each quick to read: a few dozen batches.
        while read < 30_000 {
            read += n;
            batches += 1;
            n = next_batch(n, quick);
        }
        assert!(batches < 20, "{batches} batches");
        assert_eq!(next_batch(MAX_BATCH, quick), MAX_BATCH);
        assert_eq!(next_batch(64, slow), 32);
        assert_eq!(next_batch(1, slow), 1);
        assert_eq!(next_batch(0, slow), 1);
        assert_eq!(next_batch(64, BATCH_TARGET), 64);
    }
}
