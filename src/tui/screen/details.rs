//! GetClientCertificate for one certificate: every field, then its PEM.
//! Never the private key: that is shown only right after issuing.

use crate::api::{Backend, GetResponse};
use crate::base::clock;
use crate::error::{EsaError, EsaResult};
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::app::{Screen, row_label, short};
use crate::tui::scroll::Scroll;
use crate::tui::worker::Read;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use zeroize::Zeroizing;

use crate::tui::app::App;
use crate::tui::ui::text::{kv_lines, pem_lines, position};

const KEY_W: usize = 19;

fn lines(app: &App, d: &DetailsView, w: usize) -> Vec<Line<'static>> {
    let t = app.theme;
    let r = &d.get.result;
    let days = clock::parse_esa_time(&r.not_after)
        .map(|na| crate::api::days_shown(na, app.now()))
        .map(|d| {
            if d < 0 {
                format!(" (expired {} days ago)", -d)
            } else {
                format!(" (in {d} days)")
            }
        })
        .unwrap_or_default();
    let not_after = format!("{}{days}", r.not_after);
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let fields: Vec<(&str, String)> = vec![
        ("Id", r.id.clone()),
        ("Name", r.name.clone()),
        ("CommonName", r.common_name.clone()),
        ("Status", r.status.to_string()),
        ("Type", r.kind.clone()),
        (
            "SiteId · SiteName",
            format!("{} · {}", r.site_id, r.site_name),
        ),
        ("Issuer", r.issuer.clone()),
        ("CACertificateId", r.ca_certificate_id.clone()),
        ("SAN", r.san.clone()),
        (
            "Hostnames",
            match &d.hostnames {
                Some(h) if h.is_empty() => "none bound".to_owned(),
                Some(h) => h.join(", "),
                None => "(could not be read)".to_owned(),
            },
        ),
        ("SerialNumber", r.serial_number.clone()),
        ("FingerprintSha256", r.fingerprint_sha256.clone()),
        ("SignatureAlgorithm", r.signature_algorithm.clone()),
        ("PubkeyAlgorithm", r.pubkey_algorithm.clone()),
        ("PkeyType", r.pkey_type.clone()),
        ("ValidityDays", r.validity_days.clone()),
        ("NotBefore", r.not_before.clone()),
        ("NotAfter", not_after),
        ("CreateTime", r.create_time.clone()),
        ("UpdateTime", r.update_time.clone()),
        ("PrivateKeyStored", yes_no(r.private_key_stored).to_owned()),
    ];
    let mut out = Vec::new();
    for (k, v) in &fields {
        out.extend(kv_lines(k, v, KEY_W, w, t.label()));
    }
    let optional = [
        ("RevokeTime", &r.revoke_time),
        ("RevokeReason", &r.revoke_reason),
        ("RenewedFrom", &r.renewed_from),
        ("RenewedBy", &r.renewed_by),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            out.extend(kv_lines(k, v, KEY_W, w, t.label()));
        }
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Certificate", t.label()));
    out.extend(pem_lines(&d.get.certificate, w));
    out
}

#[derive(Debug)]
pub struct DetailsView {
    pub get: GetResponse,
    /// GetClientCertificateHostnames (`None`: it could not be read).
    pub hostnames: Option<Vec<String>>,
    pub scroll: Scroll,
}

/// GetClientCertificate and its hostnames (a binding that cannot be read
/// is said in the field, the certificate still shows).
pub(in crate::tui) fn read(desk: &dyn Backend, site: u64, id: &str) -> EsaResult<DetailsView> {
    let get = desk.get(Some(site), id)?;
    let hostnames = desk
        .hostnames(get.site_id, false, Some(id))
        .ok()
        .map(|h| h.iter().map(|n| sanitize(n)).collect());
    Ok(DetailsView {
        get,
        hostnames,
        scroll: Scroll::default(),
    })
}

impl App {
    /// Enter on a row: the details, read on a worker (two requests on a
    /// remote); the screen opens when they arrive.
    pub(in crate::tui) fn open_details(&mut self, site: u64, id: &str, label: &str) {
        let text = format!("Reading {}…", short(label));
        self.read(
            Read::Details {
                site,
                id: id.to_owned(),
            },
            text,
        );
    }

    pub(in crate::tui) fn details_command(&mut self, d: Box<DetailsView>, cmd: Cmd) -> Screen {
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
            other => d.scroll.command(other),
        }
        Screen::Details(d)
    }
}

/// K on a certificate whose key is not in the store: one line, 80 columns.
pub(in crate::tui) fn no_key_here(from_csr: bool) -> String {
    if from_csr {
        "No private key here: issued for a CSR, the key never left its owner".into()
    } else {
        "No private key here: not kept (keep_private_keys = false)".into()
    }
}

pub fn draw(frame: &mut Frame, app: &App, d: &DetailsView, area: Rect) {
    let t = app.theme;
    let outer = Block::bordered().border_style(t.border(true));
    let inner = outer.inner(area);
    let all = lines(app, d, usize::from(inner.width));
    let h = usize::from(inner.height);
    let first = d.scroll.clamp(all.len(), h);
    let title = format!(
        " {} ",
        crate::tui::ui::text::fit(
            &crate::tui::app::row_label(&d.get.result.name, &d.get.result.common_name),
            usize::from(area.width).saturating_sub(24)
        )
    );
    let block = outer
        .title(Line::styled(title, t.label()))
        .title_top(Line::styled(position(first, h, all.len()), t.dim()).right_aligned());
    frame.render_widget(block, area);
    let shown: Vec<Line> = all.into_iter().skip(first).take(h).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}
