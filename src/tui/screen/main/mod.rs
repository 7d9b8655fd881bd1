//! The main screen: the sites, the certificate table and the search.

pub mod rows;
pub mod view;

use crate::api::Origin;
use crate::api::{Facts, Lifecycle, Status};
use crate::tui::action::Cmd;
use crate::tui::app::{App, Pane, Screen, row_label};
use crate::tui::input::TextInput;
use crate::tui::popup::renew::RenewAsk;

/// The certificate a lifecycle key acts on (the details' one, else the
/// selected row), with what the service's rules look at.
#[derive(Debug, Clone)]
pub(in crate::tui) struct Target {
    pub site: u64,
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
                site: d.get.site_id,
                id: r.id.clone(),
                label: row_label(&r.name, &r.common_name),
                status: d.get.status,
                revoked: r.revoke_time.is_some(),
                successor: r.renewed_by.clone(),
            });
        }
        self.table.selected_row().map(|r| Target {
            site: r.site_id,
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
        // Local-only: a remote endpoint has no renewal.
        let origin = self.desk().origin();
        if op == Lifecycle::Renew && !matches!(origin, Origin::Local { .. }) {
            return Some(crate::api::unsupported(&origin, "Renewal").message);
        }
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
    pub(in crate::tui) fn lifecycle(&mut self, cmd: Cmd) {
        let Some(t) = self.target() else {
            self.warn("No certificate is selected".into());
            return;
        };
        if let Some(why) = self.refusal(cmd, &t) {
            self.warn(why);
            return;
        }
        if cmd != Cmd::Renew {
            self.ask(cmd, t.site, &t.id, &t.label, t.status);
            return;
        }
        let ask = match &self.screen {
            Screen::Details(d) => RenewAsk::from_summary(&d.get.result, &t.label),
            _ => match self.table.selected_row() {
                Some(r) => RenewAsk::from_row(r),
                None => return,
            },
        };
        self.popup = Some(ask.into());
    }

    pub(in crate::tui) fn main_command(&mut self, cmd: Cmd) {
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
            Cmd::Cas => self.open_cas(),
            Cmd::Desks => self.open_desks(),
            Cmd::Open => match self.focus {
                Pane::Sites => self.focus = Pane::Table,
                Pane::Table => {
                    if let Some(r) = row {
                        self.open_details(r.site_id, &r.id, &r.label());
                    }
                }
            },
            Cmd::Search => {
                self.focus = Pane::Table;
                self.search = Some(TextInput::limited(
                    self.table.query(),
                    crate::base::limits::MAX_SEARCH_CHARS,
                ));
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
                self.info(crate::tui::app::REREADING.into());
            }
            // The CA is the selected site's, with or without a row.
            Cmd::CopyCa => match self.selected_site() {
                Some(s) => self.copy_ca(s.site_id),
                None => self.warn("No site is selected".into()),
            },
            Cmd::CopyKey if row.as_ref().is_some_and(|r| !r.key_stored) => {
                let from_csr = row.as_ref().is_some_and(|r| r.from_csr);
                self.warn(crate::tui::screen::details::no_key_here(from_csr));
            }
            Cmd::CopyCert | Cmd::CopyKey => match row {
                Some(r) => self.copy_stored(cmd, &r.id, r.site_id, &r.label()),
                None => self.warn("No certificate is selected".into()),
            },
            Cmd::Revoke | Cmd::Activate | Cmd::Delete | Cmd::Renew => self.lifecycle(cmd),
            _ => {}
        }
    }

    pub(in crate::tui) fn move_selection(&mut self, cmd: Cmd) {
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

    pub(in crate::tui) fn sync_site(&mut self) {
        let id = self.selected_site().map(|s| s.site_id);
        self.table.set_site(id);
    }
}
