//! How the CLI prints: JSON exactly as the service shapes it, or short text
//! for people. Text that came from outside is sanitised before printing.

use crate::base::clock;
use crate::base::random;
use std::io::Write;

use serde::Serialize;

use crate::error::{EsaError, EsaResult};

use super::Desk;
use crate::api::{Backend, Origin};
use crate::api::{
    CreateResponse, GetResponse, ListResponse, RenewResponse, SitesResponse, StatusChangeResponse,
};
use crate::store::Damaged;
use crate::text::{sanitize, sanitize_lines};

fn io(e: std::io::Error) -> EsaError {
    EsaError::internal(format!("cannot write to stdout: {e}"))
}

/// Errors: one line `error[Code]: Message`, or ESA's JSON error, on stderr.
pub fn print_error(e: &EsaError, json: bool) {
    let mut err = std::io::stderr().lock();
    if json {
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            #[serde(rename = "RequestId")]
            request_id: String,
            #[serde(rename = "Code")]
            code: &'a str,
            #[serde(rename = "Message")]
            message: &'a str,
            #[serde(rename = "HttpStatusCode")]
            http_status_code: u16,
        }
        let body = ErrorBody {
            // A remote endpoint's error keeps its RequestId and code.
            request_id: e
                .request_id()
                .map_or_else(random::new_request_id, str::to_owned),
            code: e.code_str(),
            // Already escaped where it quotes input; this also keeps raw
            // bidi marks and C1 controls (which JSON leaves as they are)
            // off the terminal.
            message: &sanitize(&e.message),
            http_status_code: e.http_status(),
        };
        let _ = serde_json::to_writer(&mut err, &body);
        let _ = writeln!(err);
    } else {
        let _ = writeln!(err, "error[{}]: {}", e.code_str(), sanitize(&e.message));
    }
}

pub fn json<T: Serialize>(out: &mut impl Write, value: &T) -> EsaResult<()> {
    serde_json::to_writer_pretty(&mut *out, value)
        .map_err(|e| EsaError::internal(format!("cannot encode JSON: {e}")))?;
    writeln!(out).map_err(io)
}

pub fn warn_damaged(damaged: &[Damaged]) {
    for d in damaged {
        if let Some(site) = d.whole_site {
            eprintln!(
                "warning: site {site} was not listed, the other sites were: {}",
                sanitize(&d.reason)
            );
            continue;
        }
        eprintln!(
            "warning: skipped unreadable entry {}: {}",
            sanitize(&d.path.display().to_string()),
            sanitize(&d.reason)
        );
    }
}

pub fn issued(out: &mut impl Write, desk: &Desk, r: &CreateResponse) -> EsaResult<()> {
    let rows = [
        ("Id", r.id.as_str()),
        ("Status", r.status.as_str()),
        ("CommonName", &r.common_name),
        ("Issuer", &r.issuer),
        ("NotBefore", &r.not_before),
        ("NotAfter", &r.not_after),
        ("SerialNumber", &r.serial_number),
        ("FingerprintSha256", &r.fingerprint_sha256),
        ("SignatureAlgorithm", &r.signature_algorithm),
        ("CACertificateId", &r.ca_certificate_id),
    ];
    for (k, v) in rows {
        writeln!(out, "{k:<19} {}", sanitize(v)).map_err(io)?;
    }
    if let Desk::Local(service) = desk {
        let entry_dir = service
            .certificate_path(&r.id)
            .map(|p| sanitize(&p.display().to_string()))
            .unwrap_or_default();
        writeln!(out, "{:<19} {entry_dir}", "Certificate file").map_err(io)?;
    }
    if r.private_key.is_empty() {
        writeln!(
            out,
            "PrivateKey          (issued for your CSR: the key stays with you)"
        )
        .map_err(io)?;
    } else if desk.backend().keeps_private_keys() {
        match desk.backend().origin() {
            Origin::Remote { name, .. } => writeln!(
                out,
                "PrivateKey          kept in this machine's key folder: esa-certs --remote {} export {} --what key",
                sanitize(&name),
                r.id
            ),
            Origin::Local { .. } => writeln!(
                out,
                "PrivateKey          kept in the store: esa-certs export {} --what key",
                r.id
            ),
        }
        .map_err(io)?;
    } else {
        // Not kept: this is the only time the key is available.
        writeln!(
            out,
            "PrivateKey          NOT kept (keep_private_keys = false); save it now:"
        )
        .map_err(io)?;
        out.write_all(r.private_key.expose().as_bytes())
            .map_err(io)?;
    }
    Ok(())
}

/// The successor as `issue` prints it, then what became of the old one:
/// the operator must never have to guess whether it still opens doors.
pub fn renewed(out: &mut impl Write, desk: &Desk, r: &RenewResponse) -> EsaResult<()> {
    issued(out, desk, &r.certificate)?;
    let old = &sanitize(&r.renewed_from);
    writeln!(out, "{:<19} {old}", "RenewedFrom").map_err(io)?;
    let fate = match r.old_status.as_str() {
        "revoked" if r.old_revoked => format!(
            "REVOKED now (reason superseded); the CRL was regenerated: redeploy it \
             (esa-certs crl --site-id {})",
            r.site_id
        ),
        "expired" => "already expired; nothing to revoke".to_owned(),
        _ => {
            let until = desk
                .backend()
                .get(None, &r.renewed_from)
                .map(|g| sanitize(&g.result.not_after))
                .unwrap_or_default();
            format!(
                "STILL VALID until {until}; once the new certificate is deployed run: \
                 esa-certs revoke {old} --reason superseded"
            )
        }
    };
    writeln!(out, "{:<19} {fate}", "Old certificate").map_err(io)
}

fn date(s: &str) -> &str {
    s.get(..10).unwrap_or(s)
}

pub fn table(out: &mut impl Write, r: &ListResponse) -> EsaResult<()> {
    let now = clock::now_seconds();
    let header = [
        "ID",
        "SITE",
        "STATUS",
        "NOT AFTER",
        "LEFT",
        "KEY",
        "NAME / COMMON NAME",
    ];
    let rows: Vec<[String; 7]> = r
        .result
        .iter()
        .map(|c| {
            let left = clock::parse_esa_time(&c.not_after)
                .map(|na| format!("{}d", crate::api::days_shown(na, now)))
                .unwrap_or_default();
            let label = if c.name.is_empty() || c.name == c.common_name {
                c.common_name.clone()
            } else {
                format!("{} ({})", c.name, c.common_name)
            };
            // Every cell but the number comes from a file an operator may
            // have edited by hand.
            [
                sanitize(&c.id),
                c.site_id.to_string(),
                c.status.to_string(),
                sanitize(date(&c.not_after)),
                left,
                sanitize(&c.pkey_type),
                sanitize(&label),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s
    };
    writeln!(out, "{}", line(&header)).map_err(io)?;
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells)).map_err(io)?;
    }
    writeln!(out, "{} certificate(s)", r.total_count).map_err(io)
}

pub fn details(out: &mut impl Write, r: &GetResponse) -> EsaResult<()> {
    let c = &r.result;
    let mut rows: Vec<(&str, String)> = vec![
        ("Id", c.id.clone()),
        ("Name", c.name.clone()),
        ("CommonName", c.common_name.clone()),
        ("Status", c.status.to_string()),
        ("Site", format!("{} ({})", c.site_name, c.site_id)),
        ("Type", c.kind.clone()),
        ("PkeyType", c.pkey_type.clone()),
        ("Issuer", c.issuer.clone()),
        ("SAN", c.san.clone()),
        ("SerialNumber", c.serial_number.clone()),
        ("FingerprintSha256", c.fingerprint_sha256.clone()),
        ("SignatureAlgorithm", c.signature_algorithm.clone()),
        ("NotBefore", c.not_before.clone()),
        ("NotAfter", c.not_after.clone()),
        ("ValidityDays", c.validity_days.clone()),
        ("CACertificateId", c.ca_certificate_id.clone()),
        ("CreateTime", c.create_time.clone()),
        ("UpdateTime", c.update_time.clone()),
        ("PrivateKeyStored", c.private_key_stored.to_string()),
    ];
    for (k, v) in [
        ("RevokeTime", &c.revoke_time),
        ("RevokeReason", &c.revoke_reason),
        ("RenewedFrom", &c.renewed_from),
        ("RenewedBy", &c.renewed_by),
    ] {
        if let Some(v) = v {
            rows.push((k, v.clone()));
        }
    }
    for (k, v) in rows {
        writeln!(out, "{k:<19} {}", sanitize(&v)).map_err(io)?;
    }
    out.write_all(sanitize_lines(&r.certificate).as_bytes())
        .map_err(io)
}

pub fn changed(
    out: &mut impl Write,
    r: &StatusChangeResponse,
    verb: &str,
    json_out: bool,
) -> EsaResult<()> {
    if json_out {
        return json(out, r);
    }
    writeln!(
        out,
        "{verb} {} (site {} {})",
        sanitize(&r.id),
        r.site_id,
        sanitize(&r.site_name)
    )
    .map_err(io)
}

pub fn sites(out: &mut impl Write, r: &SitesResponse) -> EsaResult<()> {
    let rows: Vec<[String; 3]> = r
        .sites
        .iter()
        .map(|s| {
            let ca = if s.ca_certificate_id.is_empty() {
                "not yet".to_owned()
            } else {
                sanitize(&s.ca_key_type)
            };
            [s.site_id.to_string(), sanitize(&s.site_name), ca]
        })
        .collect();
    // Each text column is as wide as its widest cell (a SiteId has up to
    // 20 digits), so the counts line up whatever the config holds.
    let width = |i: usize, header: &str| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .fold(header.len(), usize::max)
    };
    let (wi, wn, wc) = (width(0, "SITE ID"), width(1, "NAME"), width(2, "CA"));
    writeln!(
        out,
        "{:<wi$}  {:<wn$}  {:<wc$}  {:>6}  {:>7}  {:>7}  {:>8}",
        "SITE ID", "NAME", "CA", "ACTIVE", "REVOKED", "EXPIRED", "EXPIRING"
    )
    .map_err(io)?;
    for (s, [id, name, ca]) in r.sites.iter().zip(&rows) {
        writeln!(
            out,
            "{id:<wi$}  {name:<wn$}  {ca:<wc$}  {:>6}  {:>7}  {:>7}  {:>8}",
            s.active, s.revoked, s.expired, s.expiring_soon
        )
        .map_err(io)?;
    }
    Ok(())
}

/// `log`: one line per record, oldest first.
pub fn audit(out: &mut impl Write, r: &crate::service::AuditResponse) -> EsaResult<()> {
    for e in &r.result {
        let detail = e
            .detail
            .as_deref()
            .map(|d| format!("  ({})", sanitize(d)))
            .unwrap_or_default();
        writeln!(
            out,
            "{}  {:<10}  site {}  {}  serial {}  by {} (pid {}){}",
            sanitize(&e.time),
            sanitize(&e.operation),
            e.site_id,
            sanitize(&e.id),
            sanitize(&e.serial_number),
            sanitize(&e.user),
            e.pid,
            detail
        )
        .map_err(io)?;
    }
    if r.result.is_empty() {
        writeln!(out, "no audit records").map_err(io)?;
    }
    Ok(())
}

/// `doctor`: findings, then a summary line.
pub fn doctor(out: &mut impl Write, r: &crate::service::DoctorReport) -> EsaResult<()> {
    use crate::service::Severity;
    for f in &r.findings {
        let tag = match (f.severity, f.fixed) {
            (_, true) => "fixed",
            (Severity::Problem, false) => "problem",
            (Severity::Note, false) => "note",
        };
        writeln!(out, "{tag:<7}  {:<20}  {}", f.kind, sanitize(&f.path)).map_err(io)?;
        writeln!(out, "         {}", sanitize(&f.detail)).map_err(io)?;
    }
    writeln!(
        out,
        "checked {} site(s), {} certificate(s): {} problem(s){}",
        r.checked_sites,
        r.checked_certificates,
        r.problems,
        if r.fixed > 0 {
            format!(", {} fixed", r.fixed)
        } else {
            String::new()
        }
    )
    .map_err(io)
}

/// JSON of `value`, or the text `human` writes.
pub fn json_or<T: Serialize>(
    value: &T,
    json_out: bool,
    out: &mut impl Write,
    human: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> EsaResult<()> {
    if json_out {
        json(out, value)
    } else {
        human(out).map_err(io)
    }
}

/// `ca list`: the managed CA and every uploaded one, with bindings.
pub fn ca_list(
    backend: &dyn Backend,
    site_id: u64,
    json_out: bool,
    out: &mut impl Write,
) -> EsaResult<()> {
    #[derive(Serialize)]
    struct Row {
        #[serde(rename = "Type")]
        kind: &'static str,
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "Name")]
        name: String,
        #[serde(rename = "CommonName")]
        common_name: String,
        #[serde(rename = "NotAfter")]
        not_after: String,
        #[serde(rename = "Status")]
        status: String,
        #[serde(rename = "Hostnames")]
        hostnames: Vec<String>,
    }
    #[derive(Serialize)]
    struct CaList {
        #[serde(rename = "SiteId")]
        site_id: u64,
        #[serde(rename = "Result")]
        result: Vec<Row>,
    }
    let mut rows = Vec::new();
    let sites = backend.sites()?;
    if let Some(s) = sites
        .sites
        .iter()
        .find(|s| s.site_id == site_id && !s.ca_certificate_id.is_empty())
    {
        let bound = backend.ca_hostnames(site_id, None)?;
        rows.push(Row {
            kind: "managed",
            id: s.ca_certificate_id.clone(),
            name: String::new(),
            common_name: s.ca_common_name.clone(),
            not_after: s.ca_not_after.clone(),
            status: "active".into(),
            hostnames: bound.hostnames,
        });
    }
    for (info, hostnames) in backend.uploaded_cas(site_id)? {
        rows.push(Row {
            kind: "upload",
            id: info.id,
            name: info.name,
            common_name: info.common_name,
            not_after: info.not_after,
            status: info.status.to_string(),
            hostnames,
        });
    }
    if json_out {
        return json(
            out,
            &CaList {
                site_id,
                result: rows,
            },
        );
    }
    if rows.is_empty() {
        return writeln!(
            out,
            "site {site_id} has no CA yet (it is created on first issue)"
        )
        .map_err(io);
    }
    for r in rows {
        writeln!(
            out,
            "{:<8} {}  {}  NotAfter {}  {}{}",
            r.kind,
            r.id,
            sanitize(&r.common_name),
            r.not_after,
            r.status,
            if r.hostnames.is_empty() {
                String::new()
            } else {
                format!("  hostnames: {}", r.hostnames.join(", "))
            }
        )
        .map_err(io)?;
    }
    Ok(())
}
