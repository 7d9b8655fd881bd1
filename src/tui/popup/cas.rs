//! "CAs of this site" (`C`): the managed CA that issues the site's
//! certificates and the CAs uploaded to it (verify-only trust anchors, in
//! the site's trust bundle), each with the hostnames bound to it. Read
//! once when opened; what the CLI's `ca list` and `hostnames` show.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::{Popup, PopupState};
use crate::api::{Backend, SiteSummary};
use crate::error::EsaError;
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::app::{App, short};
use crate::tui::keys::Ctx;
use crate::tui::scroll::Scroll;
use crate::tui::ui::text::{kv_lines, position, wrap};
use crate::tui::worker::Read;

/// One CA as the popup shows it (sanitised store text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaEntry {
    pub id: String,
    pub label: String,
    pub not_after: String,
    pub status: String,
    pub hostnames: Vec<String>,
}

#[derive(Debug)]
pub struct CasView {
    pub site_name: String,
    /// `None` until the site's first issuance creates it.
    pub managed: Option<CaEntry>,
    pub uploaded: Vec<CaEntry>,
    pub scroll: Scroll,
}

impl App {
    /// `C`: the selected site's CAs and their hostname bindings, read on
    /// a worker (several requests on a remote); the popup opens when
    /// they arrive.
    pub(in crate::tui) fn open_cas(&mut self) {
        let Some(site) = self.selected_site().cloned() else {
            self.warn("No site is selected".into());
            return;
        };
        let text = format!("Reading the CAs of {}…", short(&sanitize(&site.site_name)));
        self.read(Read::Cas { site }, text);
    }
}

/// What the popup shows, read from the desk (on a worker: a remote makes
/// a request per uploaded CA).
pub(in crate::tui) fn read(desk: &dyn Backend, site: &SiteSummary) -> Result<CasView, EsaError> {
    let managed = if site.ca_certificate_id.is_empty() {
        None
    } else {
        let bound = desk.hostnames(site.site_id, true, None)?;
        Some(CaEntry {
            id: sanitize(&site.ca_certificate_id),
            label: sanitize(&site.ca_common_name),
            not_after: sanitize(&site.ca_not_after),
            status: format!("managed · {}", sanitize(&site.ca_key_type)),
            hostnames: bound.iter().map(|h| sanitize(h)).collect(),
        })
    };
    let uploaded = desk
        .uploaded_cas(site.site_id)?
        .into_iter()
        .map(|(info, hostnames)| {
            let name = sanitize(&info.name);
            let cn = sanitize(&info.common_name);
            CaEntry {
                id: sanitize(&info.id),
                label: if name.is_empty() || name == cn {
                    cn
                } else {
                    format!("{name} · {cn}")
                },
                not_after: sanitize(&info.not_after),
                status: info.status.to_string(),
                hostnames: hostnames.iter().map(|h| sanitize(h)).collect(),
            }
        })
        .collect();
    Ok(CasView {
        site_name: sanitize(&site.site_name),
        managed,
        uploaded,
        scroll: Scroll::default(),
    })
}

impl PopupState for CasView {
    fn ctx(&self) -> Ctx {
        Ctx::Cas
    }

    fn command(self: Box<Self>, _app: &mut App, cmd: Cmd) -> Option<Popup> {
        if cmd == Cmd::Back {
            return None;
        }
        self.scroll.command(cmd);
        Some(Popup::Cas(self))
    }

    fn draw(&self, frame: &mut Frame, app: &App, body: Rect) {
        draw(frame, app, self, body);
    }
}

const KEY_W: usize = 11;

fn entry_lines(e: &CaEntry, w: usize, app: &App) -> Vec<Line<'static>> {
    let t = app.theme;
    let mut out = vec![Line::styled(e.label.clone(), t.header())];
    out.extend(kv_lines("Id", &e.id, KEY_W, w, t.label()));
    out.extend(kv_lines("NotAfter", &e.not_after, KEY_W, w, t.label()));
    out.extend(kv_lines("Status", &e.status, KEY_W, w, t.label()));
    let bound = if e.hostnames.is_empty() {
        "none bound".to_owned()
    } else {
        e.hostnames.join(", ")
    };
    out.extend(kv_lines("Hostnames", &bound, KEY_W, w, t.label()));
    out.push(Line::raw(""));
    out
}

fn lines(app: &App, v: &CasView, w: usize) -> Vec<Line<'static>> {
    let t = app.theme;
    let mut out = vec![Line::styled(
        "Managed CA: issues this site's certificates",
        t.label(),
    )];
    match &v.managed {
        Some(e) => out.extend(entry_lines(e, w, app)),
        None => {
            for l in wrap("None yet: the first certificate issued creates it.", w) {
                out.push(Line::styled(l, t.dim()));
            }
            out.push(Line::raw(""));
        }
    }
    out.push(Line::styled(
        format!(
            "Uploaded CAs: verify-only, in the trust bundle ({})",
            v.uploaded.len()
        ),
        t.label(),
    ));
    if v.uploaded.is_empty() {
        let hint = "None. Upload one with `esa-certs ca upload --site-id ID --file ca.pem`; `esa-certs ca --site-id ID --bundle` writes the bundle.";
        for l in wrap(hint, w) {
            out.push(Line::styled(l, t.dim()));
        }
    }
    for e in &v.uploaded {
        out.extend(entry_lines(e, w, app));
    }
    out
}

fn draw(frame: &mut Frame, app: &App, v: &CasView, body: Rect) {
    let t = app.theme;
    let area = crate::tui::ui::popup_area(frame, body, 84, body.height);
    let outer = Block::bordered().border_style(t.border(true));
    let inner = outer.inner(area);
    let w = usize::from(inner.width);
    let mut all = lines(app, v, w);
    let h = usize::from(inner.height).saturating_sub(1);
    let first = v.scroll.clamp(all.len(), h);
    let block = outer
        .title(Line::styled(format!(" CAs of {} ", v.site_name), t.label()))
        .title_top(Line::styled(position(first, h, all.len()), t.dim()).right_aligned());
    frame.render_widget(block, area);
    let mut shown: Vec<Line> = all.drain(..).skip(first).take(h).collect();
    while shown.len() < h {
        shown.push(Line::raw(""));
    }
    shown.push(crate::tui::ui::popup_keys(app, w));
    frame.render_widget(Paragraph::new(shown), inner);
}
