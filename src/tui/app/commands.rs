//! Key commands per screen: the main screen, the issue form, the result
//! and the details. Each takes the screen by value and returns the next.

use zeroize::Zeroizing;

use super::{
    App, Confirm, DetailsView, Pane, Popup, RenewJob, ResultView, Screen, row_label,
    scroll_command, short,
};
use crate::error::EsaError;
use crate::service::{Facts, Lifecycle, Status};
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::form::{IssueForm, Pasted, looks_like_csr};
use crate::tui::input::{Edit, TextInput};
use crate::tui::renew::{RenewAsk, RenewField};
use crate::tui::scroll::Scroll;
use crate::tui::worker::{Job, Op};

/// The certificate a lifecycle key acts on (the details' one, else the
/// selected row), with what the service's rules look at.
#[derive(Debug, Clone)]
pub(in crate::tui) struct Target {
    pub id: String,
    pub label: String,
    pub status: Status,
    /// Revoked in the store (it may show `expired` since).
    pub revoked: bool,
    /// The Id of its successor, when renewed.
    pub successor: Option<String>,
}

impl App {
    /// What r/a/D/R act on now.
    pub(in crate::tui) fn target(&self) -> Option<Target> {
        if let Screen::Details(d) = &self.screen {
            let r = &d.get.result;
            return Some(Target {
                id: r.id.clone(),
                label: row_label(&r.name, &r.common_name),
                status: d.get.status,
                revoked: r.revoke_time.is_some(),
                successor: r.renewed_by.clone(),
            });
        }
        self.table.selected_row().map(|r| Target {
            id: r.id.clone(),
            label: r.label(),
            status: r.status,
            revoked: r.revoked,
            successor: r.successor.clone(),
        })
    }

    /// Why the service would refuse `cmd` on `t` (its status rules, see
    /// README "Status rules" and `service::renew`), in words for the
    /// status line; `None`: it may go ahead.
    pub(in crate::tui) fn refusal(&self, cmd: Cmd, t: &Target) -> Option<String> {
        let op = match cmd {
            Cmd::Revoke => Lifecycle::Revoke,
            Cmd::Activate => Lifecycle::Activate,
            Cmd::Delete => Lifecycle::Delete,
            Cmd::Renew => Lifecycle::Renew,
            _ => return None,
        };
        // The successor counts while it is still in the table.
        let live_successor = t
            .successor
            .as_deref()
            .filter(|next| self.table.rows().iter().any(|r| r.id == *next));
        op.refusal(Facts {
            status: t.status,
            revoked_on_record: t.revoked,
            live_successor,
        })
    }

    /// r/a/D/R: refused at once, in the status line, when the service
    /// would refuse; otherwise the confirmation (or the renew popup).
    fn lifecycle(&mut self, cmd: Cmd) {
        let Some(t) = self.target() else {
            self.warn("No certificate is selected".into());
            return;
        };
        if let Some(why) = self.refusal(cmd, &t) {
            self.warn(why);
            return;
        }
        if cmd != Cmd::Renew {
            self.ask(cmd, &t.id, &t.label, t.status);
            return;
        }
        let ask = match &self.screen {
            Screen::Details(d) => RenewAsk::from_summary(&d.get.result, &t.label),
            _ => match self.table.selected_row() {
                Some(r) => RenewAsk::from_row(r),
                None => return,
            },
        };
        self.popup = Some(Popup::Renew(Box::new(ask)));
    }

    pub(super) fn main_command(&mut self, cmd: Cmd) {
        if self.search.is_some() {
            match cmd {
                Cmd::Open => self.search = None,
                Cmd::Back => {
                    self.search = None;
                    self.table.set_query("");
                }
                Cmd::Up => self.table.move_by(-1),
                Cmd::Down => self.table.move_by(1),
                _ => {}
            }
            return;
        }
        let row = self.table.selected_row().cloned();
        match cmd {
            Cmd::Back => self.table.set_query(""),
            Cmd::FocusNext | Cmd::FocusPrev if !self.sites_shown.get() => {
                // No room for the sites list: Tab goes to the next site.
                self.focus = Pane::Table;
                let n = self.sites.len().max(1);
                self.site_sel = if cmd == Cmd::FocusNext {
                    (self.site_sel + 1) % n
                } else {
                    (self.site_sel + n - 1) % n
                };
                self.sync_site();
            }
            Cmd::FocusNext | Cmd::FocusPrev => {
                self.focus = match self.focus {
                    Pane::Sites => Pane::Table,
                    Pane::Table => Pane::Sites,
                };
            }
            Cmd::Up | Cmd::Down | Cmd::PageUp | Cmd::PageDown | Cmd::Top | Cmd::Bottom => {
                self.move_selection(cmd)
            }
            Cmd::New => self.open_form(),
            Cmd::Open => match self.focus {
                Pane::Sites => self.focus = Pane::Table,
                Pane::Table => {
                    if let Some(r) = row {
                        self.open_details(&r.id);
                    }
                }
            },
            Cmd::Search => {
                self.focus = Pane::Table;
                self.search = Some(TextInput::new(self.table.query()));
            }
            Cmd::Sort => {
                let next = self.table.sort().0.next();
                self.table.set_sort(next, next.starts_descending());
            }
            Cmd::SortReverse => {
                let (key, desc) = self.table.sort();
                self.table.set_sort(key, !desc);
            }
            Cmd::Reload => {
                self.reload();
                self.load.announce = true;
                self.info(super::REREADING.into());
            }
            // The CA is the selected site's, with or without a row.
            Cmd::CopyCa => match self.selected_site() {
                Some(s) => self.copy_ca(s.site_id),
                None => self.warn("No site is selected".into()),
            },
            Cmd::CopyKey if row.as_ref().is_some_and(|r| !r.key_stored) => {
                let from_csr = row.as_ref().is_some_and(|r| r.from_csr);
                self.warn(no_key_here(from_csr));
            }
            Cmd::CopyCert | Cmd::CopyKey => match row {
                Some(r) => self.copy_stored(cmd, &r.id, r.site_id, &r.label()),
                None => self.warn("No certificate is selected".into()),
            },
            Cmd::Revoke | Cmd::Activate | Cmd::Delete | Cmd::Renew => self.lifecycle(cmd),
            _ => {}
        }
    }

    /// A key in the renew popup; returns the popup unless it closed.
    pub(super) fn renew_command(&mut self, mut r: Box<RenewAsk>, cmd: Cmd) -> Option<Popup> {
        match cmd {
            Cmd::Cancel => {
                self.info("Renewal cancelled; nothing was issued".into());
                return None;
            }
            Cmd::Confirm => match r.days(&self.service) {
                Ok(days) => {
                    self.start_job(Job::Renew(RenewJob {
                        id: r.id.clone(),
                        label: r.label.clone(),
                        not_after: r.not_after.clone(),
                        days,
                        revoke_old: r.revoke_old,
                    }));
                    return None;
                }
                Err(e) => {
                    r.days_error = Some(e);
                    r.focus = RenewField::Days;
                }
            },
            Cmd::FocusNext | Cmd::FocusPrev => r.focus_step(),
            Cmd::Left => r.cycle(false, &self.service),
            Cmd::Right | Cmd::Toggle => r.cycle(true, &self.service),
            _ => {}
        }
        Some(Popup::Renew(r))
    }

    pub(super) fn move_selection(&mut self, cmd: Cmd) {
        if self.focus == Pane::Sites && self.sites_shown.get() {
            let last = self.sites.len().saturating_sub(1);
            self.site_sel = match cmd {
                Cmd::Up | Cmd::PageUp => self.site_sel.saturating_sub(1),
                Cmd::Down | Cmd::PageDown => (self.site_sel + 1).min(last),
                Cmd::Top => 0,
                _ => last,
            };
            self.sync_site();
            return;
        }
        let page = self.table.page();
        match cmd {
            Cmd::Up => self.table.move_by(-1),
            Cmd::Down => self.table.move_by(1),
            Cmd::PageUp => self.table.move_by(-page),
            Cmd::PageDown => self.table.move_by(page),
            Cmd::Top => self.table.top(),
            _ => self.table.bottom(),
        }
    }

    pub(super) fn sync_site(&mut self) {
        let id = self.selected_site().map(|s| s.site_id);
        self.table.set_site(id);
    }

    pub(super) fn open_form(&mut self) {
        let site = self.selected_site().map(|s| s.site_id);
        let form = IssueForm::new(&self.service, &self.sites, site);
        self.screen = Screen::Form(Box::new(form));
    }

    pub(super) fn open_details(&mut self, id: &str) {
        match self.service.get(id) {
            Ok(get) => {
                self.screen = Screen::Details(Box::new(DetailsView {
                    get,
                    scroll: Scroll::default(),
                }))
            }
            Err(e) => self.fail("Cannot open the certificate", e),
        }
    }

    pub(super) fn form_command(&mut self, mut f: Box<IssueForm>, cmd: Cmd) -> Screen {
        if f.submitting.is_some() {
            if cmd == Cmd::Back {
                self.warn("Issuing is under way and cannot be interrupted".into());
            }
            return Screen::Form(f);
        }
        match cmd {
            Cmd::Back => {
                self.info("Left the form; nothing was issued".into());
                return Screen::Main;
            }
            Cmd::FocusNext => f.focus_step(true),
            Cmd::FocusPrev => f.focus_step(false),
            Cmd::Left => f.cycle(false, &self.service),
            Cmd::Right | Cmd::Toggle => f.cycle(true, &self.service),
            Cmd::Newline => f.newline(&self.service),
            Cmd::ClearField => f.clear_csr(&self.service),
            Cmd::Submit => {
                if let Some(valid) = f.submit(&self.service) {
                    // The form is the screen again once this returns.
                    self.screen = Screen::Form(f);
                    self.start_job(Job::Issue(Box::new(valid)));
                    return std::mem::replace(&mut self.screen, Screen::Main);
                }
                // The focus is on the first bad field; say which.
                if let Some(why) = f.refusal() {
                    self.warn(why);
                }
            }
            _ => {}
        }
        Screen::Form(f)
    }

    pub(super) fn result_command(&mut self, r: Box<ResultView>, cmd: Cmd) -> Screen {
        match cmd {
            Cmd::Back => {
                if r.key_only_here() && !r.leave_armed {
                    self.screen = Screen::Result(r);
                    self.key_would_be_lost("Esc again leaves");
                    return std::mem::replace(&mut self.screen, Screen::Main);
                }
                if r.leave_armed {
                    self.note = None;
                }
                if self.table.select_id(&r.resp.id) {
                    self.focus = Pane::Table;
                }
                return Screen::Main;
            }
            Cmd::CopyCert => {
                let what = format!("certificate of {}", short(&sanitize(&r.resp.common_name)));
                self.copy(what, Zeroizing::new(r.resp.certificate.clone()), false);
            }
            Cmd::CopyKey => {
                if r.resp.private_key.is_empty() {
                    self.warn("Issued for your CSR: the private key never left you".into());
                } else {
                    let what = format!("private key of {}", short(&sanitize(&r.resp.common_name)));
                    let key = Zeroizing::new(r.resp.private_key.expose().to_owned());
                    self.copy(what, key, true);
                }
            }
            Cmd::CopyCa => self.copy_ca(r.site_id),
            Cmd::CopyJson => {
                // A renewal copies RenewResponse, as `esa-certs renew --json`.
                let json = match &r.renewal {
                    Some(n) => serde_json::to_string_pretty(&n.response(&r.resp, r.site_id)),
                    None => serde_json::to_string_pretty(&r.resp),
                };
                match json {
                    Ok(json) => {
                        let secret = !r.resp.private_key.is_empty();
                        self.copy("response JSON".into(), Zeroizing::new(json), secret);
                    }
                    Err(e) => self.fail("Cannot encode JSON", EsaError::internal(e)),
                }
            }
            other => scroll_command(&r.scroll, other),
        }
        Screen::Result(r)
    }

    pub(super) fn details_command(&mut self, d: Box<DetailsView>, cmd: Cmd) -> Screen {
        if matches!(cmd, Cmd::Revoke | Cmd::Activate | Cmd::Delete | Cmd::Renew) {
            // The details are the screen while the rules look at them.
            self.screen = Screen::Details(d);
            self.lifecycle(cmd);
            return std::mem::replace(&mut self.screen, Screen::Main);
        }
        let r = &d.get.result;
        let label = row_label(&r.name, &r.common_name);
        match cmd {
            Cmd::Back => {
                self.table.select_id(&r.id);
                return Screen::Main;
            }
            Cmd::CopyKey if !r.private_key_stored => {
                let from_csr = r.kind == "csr";
                self.warn(no_key_here(from_csr));
            }
            Cmd::CopyCert | Cmd::CopyKey | Cmd::CopyCa => {
                let (id, site) = (r.id.clone(), r.site_id);
                self.copy_stored(cmd, &id, site, &label);
            }
            Cmd::CopyJson => match serde_json::to_string_pretty(&d.get) {
                Ok(json) => self.copy(
                    format!("details JSON of {}", short(&label)),
                    Zeroizing::new(json),
                    false,
                ),
                Err(e) => self.fail("Cannot encode JSON", EsaError::internal(e)),
            },
            other => scroll_command(&d.scroll, other),
        }
        Screen::Details(d)
    }

    pub(super) fn ask(&mut self, cmd: Cmd, id: &str, label: &str, status: Status) {
        let op = match cmd {
            Cmd::Revoke => Op::Revoke(None),
            Cmd::Activate => Op::Activate,
            _ => Op::Delete,
        };
        // Re-activating: what it was revoked for, and whether a successor
        // took its place (one quick read of each).
        let (mut revoked_for, mut successor) = (None, None);
        if op == Op::Activate
            && let Ok(g) = self.service.get(id)
        {
            revoked_for = g.result.revoke_reason.as_deref().map(sanitize);
            successor = g.result.renewed_by.as_deref().and_then(|next| {
                let n = self.service.get(next).ok()?.result;
                Some((row_label(&n.name, &n.common_name), n.status.to_string()))
            });
        }
        self.popup = Some(Popup::Confirm(Confirm {
            op,
            id: id.to_owned(),
            label: label.to_owned(),
            status,
            reason: 0,
            revoked_for,
            successor,
        }));
    }

    pub(super) fn edit(&mut self, e: Edit) {
        if let Some(Popup::Passphrase(p)) = &mut self.popup {
            p.edit(e);
            return;
        }
        if let Some(Popup::Renew(r)) = &mut self.popup {
            r.edit(e, &self.service);
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
            f.edit(e, &self.service);
        }
    }

    pub(super) fn paste(&mut self, text: &str) {
        if let Some(Popup::Passphrase(p)) = &mut self.popup {
            p.paste(text);
            return;
        }
        // A PEM that is not a CSR (a certificate, a private key) goes into
        // no field, wherever the focus is.
        if let Some(why) = super::super::form::refused_pem(text) {
            self.warn(why);
            return;
        }
        if let Some(Popup::Renew(r)) = &mut self.popup {
            r.paste(text, &self.service);
            return;
        }
        if self.popup.is_some() {
            return;
        }
        if matches!(self.screen, Screen::Main) && self.search.is_none() && looks_like_csr(text) {
            // A CSR pasted on the main screen: open the form with it.
            self.open_form();
        }
        if let Screen::Form(f) = &mut self.screen {
            let pasted = f.submitting.is_none().then(|| f.paste(text, &self.service));
            if pasted == Some(Pasted::Csr) {
                let msg = match &f.csr_preview {
                    Some(p) => format!("CSR pasted: {} · {}", p.subject, p.key),
                    None => "CSR pasted; it has a problem, see the form".into(),
                };
                self.info(msg);
            }
            return;
        }
        if let Some(input) = self.search.as_mut() {
            input.insert_str(text.trim());
            let q = input.value().to_owned();
            self.table.set_query(&q);
        }
    }
}

/// K on a certificate whose key is not in the store: one line, 80 columns.
fn no_key_here(from_csr: bool) -> String {
    if from_csr {
        "No private key here: issued for a CSR, the key never left its owner".into()
    } else {
        "No private key here: not kept (keep_private_keys = false)".into()
    }
}
