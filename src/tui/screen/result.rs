//! The result of CreateClientCertificate (or of a renewal): every field of
//! the response, then the PEMs, scrollable. When the key is not stored it
//! says so first, in words; a renewal says first what became of the old
//! certificate.

use crate::api::{CreateResponse, RenewResponse};
use crate::error::EsaError;
use crate::text::sanitize;
use crate::tui::action::Cmd;
use crate::tui::app::{Pane, Screen, short};
use crate::tui::scroll::Scroll;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use zeroize::Zeroizing;

use crate::tui::app::App;
use crate::tui::ui::text::{kv_lines, pem_lines, position, wrap};

const KEY_W: usize = 19;

fn lines(app: &App, r: &ResultView, w: usize) -> Vec<Line<'static>> {
    let t = app.theme;
    let resp = &r.resp;
    let mut out = Vec::new();
    if let Some(n) = &r.renewal {
        let (text, style) = old_fate(n);
        for l in wrap(&text, w) {
            out.push(Line::styled(l, style(app)));
        }
        out.push(Line::raw(""));
    }
    if r.key_only_here() {
        let msg = "keep_private_keys = false: the private key below is NOT stored and will not be shown again. Copy it now with K (or the whole response with J).";
        for l in wrap(msg, w.saturating_sub(2)) {
            out.push(Line::styled(format!("! {l}"), t.warn()));
        }
        out.push(Line::raw(""));
    }
    let fields = [
        ("RequestId", resp.request_id.as_str()),
        ("Id", &resp.id),
        ("Status", resp.status.as_str()),
        ("CommonName", &resp.common_name),
        ("Name", &r.name),
        ("PkeyType", &r.pkey_type),
        ("NotBefore", &resp.not_before),
        ("NotAfter", &resp.not_after),
        ("Issuer", &resp.issuer),
        ("SerialNumber", &resp.serial_number),
        ("FingerprintSha256", &resp.fingerprint_sha256),
        ("SignatureAlgorithm", &resp.signature_algorithm),
        ("ValidityDays", &resp.validity_days),
        ("CACertificateId", &resp.ca_certificate_id),
    ];
    for (k, v) in fields {
        out.extend(kv_lines(k, v, KEY_W, w, t.label()));
    }
    if let Some(n) = &r.renewal {
        out.extend(kv_lines("RenewedFrom", &n.old_id, KEY_W, w, t.label()));
        out.extend(kv_lines(
            "OldStatus",
            n.old_status.as_str(),
            KEY_W,
            w,
            t.label(),
        ));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Certificate", t.label()));
    out.extend(pem_lines(&resp.certificate, w));
    out.push(Line::raw(""));
    out.push(Line::styled("PrivateKey", t.label()));
    if resp.private_key.is_empty() {
        out.push(Line::styled(
            "  (empty: issued for your CSR, the private key never left you)",
            t.dim(),
        ));
    } else {
        out.extend(pem_lines(resp.private_key.expose(), w));
        if r.key_kept {
            out.push(Line::styled(
                format!("  also stored: esa-certs export {} --what key", resp.id),
                t.dim(),
            ));
        } else {
            out.push(Line::styled(
                "  NOT stored: this is the only copy",
                t.warn(),
            ));
        }
    }
    out
}

type StyleOf = fn(&App) -> ratatui::style::Style;

/// One sentence on the renewed certificate, and how to show it.
fn old_fate(n: &Renewal) -> (String, StyleOf) {
    let who = format!("Renews {} ({}).", n.old_label, n.old_id);
    if n.old_revoked {
        (
            format!(
                "{who} The old certificate is now REVOKED (reason superseded) and on the site's CRL."
            ),
            |app| app.theme.warn(),
        )
    } else if n.old_status == crate::api::Status::Active {
        (
            format!(
                "{who} The old certificate STAYS VALID until {}; revoke it (r in the table) once the holder uses the new one.",
                n.old_not_after
            ),
            |app| app.theme.label(),
        )
    } else {
        (
            format!("{who} The old certificate is {}.", n.old_status),
            |app| app.theme.label(),
        )
    }
}

/// The result of issuing (or renewing), shown once.
#[derive(Debug)]
pub struct ResultView {
    pub resp: CreateResponse,
    pub site_id: u64,
    /// `keep_private_keys`: whether the key can be exported later.
    pub key_kept: bool,
    pub scroll: Scroll,
    /// Esc was pressed once while the only copy of the key is on screen.
    pub leave_armed: bool,
    /// Set when this certificate renews another one.
    pub renewal: Option<Renewal>,
    /// Name and PkeyType (sanitised), which the response does not carry.
    pub name: String,
    pub pkey_type: String,
}

/// What became of the renewed certificate, for the result view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    pub old_id: String,
    pub old_label: String,
    pub old_not_after: String,
    /// `active`, `revoked` or `expired`, as the service reports it.
    pub old_status: crate::api::Status,
    pub old_revoked: bool,
    pub site_name: String,
}

impl Renewal {
    /// The RenewResponse again (for copying it as JSON).
    pub fn response(&self, certificate: &CreateResponse, site_id: u64) -> RenewResponse {
        RenewResponse {
            certificate: certificate.clone(),
            site_id,
            site_name: self.site_name.clone(),
            renewed_from: self.old_id.clone(),
            old_status: self.old_status,
            old_revoked: self.old_revoked,
        }
    }
}

impl ResultView {
    /// True when this screen is the only chance to get the private key.
    pub fn key_only_here(&self) -> bool {
        !self.key_kept && !self.resp.private_key.is_empty()
    }
}

impl App {
    pub(in crate::tui) fn result_command(&mut self, r: Box<ResultView>, cmd: Cmd) -> Screen {
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
            other => r.scroll.command(other),
        }
        Screen::Result(r)
    }
}

pub fn draw(frame: &mut Frame, app: &App, r: &ResultView, area: Rect) {
    let t = app.theme;
    let outer = Block::bordered().border_style(t.border(true));
    let inner = outer.inner(area);
    let all = lines(app, r, usize::from(inner.width));
    let h = usize::from(inner.height);
    let first = r.scroll.clamp(all.len(), h);
    let block = outer
        .title(Line::styled(
            if r.renewal.is_some() {
                " Certificate renewed "
            } else {
                " Certificate issued "
            },
            t.label(),
        ))
        .title_top(Line::styled(position(first, h, all.len()), t.dim()).right_aligned());
    frame.render_widget(block, area);
    let shown: Vec<Line> = all.into_iter().skip(first).take(h).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}
