//! The scriptable front end: clap arguments in, ESA-shaped JSON or short
//! human text out. Every operation goes through [`crate::service`].

mod args;
mod files;
mod output;
mod password;

use crate::base::limits::MAX_CSR_BYTES;
use crate::base::random;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

pub use args::*;
use files::*;

use crate::api::{Backend, CreateRequest, ListResponse, Status};
use crate::config;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{P12Mode, RevocationReason};
use crate::service::{AuditQuery, ExportWhat, ListOutcome, ListQuery, Service, parse_since};

/// Runs the program with the process arguments.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::print_error(&e, json);
            ExitCode::from(1)
        }
    }
}

fn config_error(e: config::ConfigError) -> EsaError {
    EsaError::new(ErrorCode::InvalidConfig, e.to_string())
}

/// Loads the config (writing the default on first run) and opens the store.
pub fn open_service(flag: Option<&Path>) -> EsaResult<(Service, Option<PathBuf>)> {
    open_with(flag, config_error).map(|(service, created, _)| (service, created))
}

/// [`open_service`] with the config error mapped by `config_err` (the TUI
/// keeps its file, line and key to show them), and the config as loaded
/// (the TUI opens its `[[remote]]`s from it).
fn open_with<E: From<EsaError>>(
    flag: Option<&Path>,
    config_err: impl Fn(config::ConfigError) -> E,
) -> Result<(Service, Option<PathBuf>, config::Config), E> {
    let path = config::resolve_path(flag).map_err(&config_err)?;
    let (cfg, created) = config::load_or_init(&path).map_err(&config_err)?;
    let service = Service::open(cfg.clone())?;
    crate::logging::init(service.store_path());
    service.set_passphrase_prompt(std::sync::Arc::new(password::ca_prompt));
    if created {
        tracing::info!(path = %path.display(), "wrote the default config");
    }
    Ok((service, created.then_some(path), cfg))
}

fn run(cli: Cli) -> EsaResult<()> {
    let json = cli.json;
    let command = cli.command.unwrap_or(Command::Tui);
    if matches!(command, Command::Tui) {
        // The TUI shows a config error full-screen and reads the file
        // again on request, instead of exiting.
        let flag = cli.config;
        let remote = cli.remote;
        return crate::tui::run(|| {
            let (service, created, cfg) =
                open_with(flag.as_deref(), |e| crate::tui::StartError::from(&e))?;
            let local = service.clone();
            // The [[remote]] endpoints B offers.
            let remotes = cfg.remotes.iter().map(|r| r.name.clone()).collect();
            let desk: crate::tui::Desk = match remote.as_deref() {
                Some(name) => std::sync::Arc::new(crate::remote::open(&cfg, name)?),
                None => std::sync::Arc::new(service),
            };
            Ok(crate::tui::Opened {
                desk,
                created,
                remotes,
                switch: Box::new(move |name| match name {
                    None => Ok(std::sync::Arc::new(local.clone()) as crate::tui::Desk),
                    Some(n) => Ok(std::sync::Arc::new(crate::remote::open(&cfg, n)?)),
                }),
            })
        });
    }
    if let Command::Serve(a) = command {
        if cli.remote.is_some() {
            return Err(EsaError::new(
                ErrorCode::InvalidParameter,
                "serve answers for the local store; --remote does not apply to it",
            ));
        }
        return serve(cli.config.as_deref(), a);
    }
    let (service, created, cfg) = open_with(cli.config.as_deref(), config_error)?;
    if let Some(path) = &created {
        eprintln!(
            "esa-certs: wrote a default config to {}",
            crate::text::sanitize(&path.display().to_string())
        );
    }
    let remote = cli
        .remote
        .as_deref()
        .map(|name| crate::remote::open(&cfg, name))
        .transpose()?;
    let desk = match &remote {
        Some(r) => Desk::Remote(r),
        None => Desk::Local(&service),
    };
    // stdout is line-buffered; a 100k-entry listing would be millions of
    // write calls without this buffer.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let result = dispatch(&desk, command, json, &mut out);
    for w in service.take_warnings() {
        eprintln!("warning: {}", crate::text::sanitize(&w));
    }
    let flushed = out.flush().map_err(stdout_err);
    result.and(flushed)
}

/// Which backend a command runs on: the local service, or a `[[remote]]`
/// ESA endpoint. Every operation of the ESA API goes through
/// [`Desk::backend`]; the local-only ones ask [`Desk::local`], which answers
/// `UnsupportedOperation` naming the remote.
pub(super) enum Desk<'a> {
    Local(&'a Service),
    Remote(&'a crate::remote::RemoteBackend),
}

impl Desk<'_> {
    pub(super) fn backend(&self) -> &dyn Backend {
        match self {
            Desk::Local(s) => *s,
            Desk::Remote(r) => *r,
        }
    }

    /// The local service, for `what` (a feature only the local store has).
    pub(super) fn local(&self, what: &str) -> EsaResult<&Service> {
        match self {
            Desk::Local(s) => Ok(s),
            Desk::Remote(r) => Err(crate::api::unsupported(&r.origin(), what)),
        }
    }

    /// An optional `--site-id`, checked the same way.
    pub(super) fn site_opt(&self, raw: Option<&str>) -> EsaResult<Option<u64>> {
        raw.map(|s| self.site(Some(s))).transpose()
    }

    /// `--site-id` by the backend's own input rules (the local config's
    /// sites, or the remote's ListSites).
    pub(super) fn site(&self, raw: Option<&str>) -> EsaResult<u64> {
        match self {
            Desk::Local(s) => s.check_site_id(raw).map(|s| s.id),
            Desk::Remote(r) => r.input_rules()?.site_id(raw),
        }
    }
}

fn dispatch(desk: &Desk, command: Command, json: bool, mut out: impl Write) -> EsaResult<()> {
    let backend = desk.backend();
    match command {
        Command::Tui => Ok(()),
        Command::Issue(a) => {
            if let Desk::Local(service) = desk {
                warn_plaintext_ca(service, a.site_id.as_deref());
            }
            let req = CreateRequest {
                site_id: a.site_id,
                validity_days: a.validity_days,
                pkey_type: a.pkey_type,
                csr: a.csr.as_deref().map(read_csr).transpose()?,
                common_name: a.common_name,
                name: a.name,
            };
            if let Some(count) = a.count {
                let service = desk.local("Bulk issuance (issue --count)")?;
                return issue_many(service, &req, count, json, &mut out);
            }
            // Never retried: a create that timed out may have been issued.
            let r = backend.create(&req)?;
            if json {
                output::json(&mut out, &r)
            } else {
                output::issued(&mut out, desk, &r)
            }
        }
        Command::List(a) => {
            let q = ListQuery {
                site_id: desk.site_opt(a.site_id.as_deref())?,
                status: a.status.map(|s| match s {
                    StatusArg::Active => Status::Active,
                    StatusArg::Revoked => Status::Revoked,
                    StatusArg::Expired => Status::Expired,
                }),
                expiring_within: a.expiring_within,
            };
            let r = match desk {
                Desk::Local(service) => service.list(&q)?,
                Desk::Remote(_) => list_pages(backend, &q)?,
            };
            output::warn_damaged(&r.damaged);
            let written = if json {
                output::json(&mut out, &r.response)
            } else {
                output::table(&mut out, &r.response)
            };
            // The process ends next: freeing 100,000 summaries one string
            // at a time would cost a tenth of the command. (No secrets in
            // them; the OS takes the memory back.)
            std::mem::forget(r);
            written
        }
        Command::Show { id, site_id } => {
            let r = backend.get(desk.site_opt(site_id.as_deref())?, &id)?;
            if json {
                output::json(&mut out, &r)
            } else {
                output::details(&mut out, &r)
            }
        }
        Command::Export(a) => export(desk, a, &mut out),
        Command::Renew(a) => {
            let service = desk.local("Renewal")?;
            let days = a
                .validity_days
                .as_deref()
                .map(|d| service.check_validity_days(Some(d)))
                .transpose()?;
            let r = service.renew(&a.id, days, a.revoke_old)?;
            if json {
                output::json(&mut out, &r)
            } else {
                output::renewed(&mut out, desk, &r)
            }
        }
        Command::Revoke {
            id,
            reason,
            site_id,
        } => {
            let reason = reason
                .as_deref()
                .map(|r| {
                    RevocationReason::parse(r).ok_or_else(|| {
                        EsaError::new(
                            ErrorCode::InvalidParameter,
                            format!(
                                "unknown revocation reason {}; expected one of {}",
                                crate::text::quoted(r),
                                RevocationReason::ALL.map(|r| r.as_str()).join(", ")
                            ),
                        )
                    })
                })
                .transpose()?;
            let r = backend.revoke(desk.site_opt(site_id.as_deref())?, &id, reason)?;
            output::changed(&mut out, &r, "revoked", json)
        }
        Command::Activate { id, site_id } => {
            let site = desk.site_opt(site_id.as_deref())?;
            // RFC 5280 only means certificateHold to be undone: re-trusting
            // a key revoked as compromised deserves a word (ESA allows it).
            let reason = backend
                .get(site, &id)
                .ok()
                .and_then(|g| g.result.revoke_reason)
                .filter(|r| r.ends_with("Compromise"));
            let r = backend.activate(site, &id)?;
            if let Some(reason) = reason {
                eprintln!(
                    "warning: {} was revoked for {}: its key may be known to others, and it is trusted again",
                    r.id,
                    crate::text::sanitize(&reason)
                );
            }
            output::changed(&mut out, &r, "activated", json)
        }
        Command::Delete { id, site_id } => {
            let r = backend.delete(desk.site_opt(site_id.as_deref())?, &id)?;
            output::changed(&mut out, &r, "deleted", json)
        }
        Command::Ca(CaArgs {
            site_id,
            bundle,
            action: None,
        }) => {
            let site = desk.site(site_id.as_deref())?;
            let pem = match desk {
                _ if bundle => backend.trust_bundle(site)?,
                // The local service creates a missing CA on first use.
                Desk::Local(service) => service.ca_pem(site)?,
                Desk::Remote(_) => backend
                    .ca_pem(site)?
                    .ok_or_else(|| crate::api::no_managed_ca(&backend.origin(), site))?,
            };
            write_pem(&mut out, &pem)
        }
        Command::Ca(CaArgs {
            action: Some(CaAction::List { site_id }),
            ..
        }) => {
            let site = desk.site(site_id.as_deref())?;
            output::ca_list(backend, site, json, &mut out)
        }
        Command::Ca(CaArgs {
            action:
                Some(CaAction::Upload {
                    site_id,
                    file,
                    name,
                }),
            ..
        }) => {
            let site = desk.site(site_id.as_deref())?;
            let text = String::from_utf8(read_csr(&file)?).map_err(|_| {
                EsaError::new(ErrorCode::InvalidCertificate, "the file is not PEM text")
            })?;
            let r = backend.upload_ca(site, &text, name.as_deref())?;
            output::json_or(&r, json, &mut out, |o| {
                writeln!(
                    o,
                    "{}  {}  NotAfter {}",
                    r.id,
                    crate::text::sanitize(&r.common_name),
                    r.not_after
                )
            })
        }
        Command::Ca(CaArgs {
            action: Some(CaAction::Delete { site_id, id }),
            ..
        }) => {
            let site = desk.site(site_id.as_deref())?;
            let r = backend.delete_ca(site, &id)?;
            output::json_or(&r, json, &mut out, |o| {
                writeln!(o, "deleted uploaded CA {}", r.id)
            })
        }
        Command::Hostnames(a) => {
            let site = desk.site(a.site_id.as_deref())?;
            let id = a.id.as_deref();
            let r = match (&a.set, a.certificate) {
                (Some(list), cert) => {
                    let list: Vec<String> = list
                        .split(',')
                        .map(str::trim)
                        .filter(|h| !h.is_empty())
                        .map(str::to_owned)
                        .collect();
                    if cert {
                        backend.set_certificate_hostnames(site, id, &list)?
                    } else {
                        backend.set_ca_hostnames(site, id, &list)?
                    }
                }
                (None, true) => backend.certificate_hostnames(site, id)?,
                (None, false) => backend.ca_hostnames(site, id)?,
            };
            output::json_or(&r, json, &mut out, |o| {
                writeln!(o, "{}: {}", r.id, r.hostnames.join(", "))
            })
        }
        Command::Serve(_) => Ok(()),
        Command::Ca(CaArgs {
            action:
                Some(CaAction::RekeyProtect {
                    site_id,
                    all,
                    new_passphrase_file,
                }),
            ..
        }) => {
            let service = desk.local("Re-keying a CA (ca rekey-protect)")?;
            rekey_protect(service, site_id, all, new_passphrase_file, json, &mut out)
        }
        Command::Doctor { fix } => {
            doctor(desk.local("The store check (doctor)")?, fix, json, &mut out)
        }
        Command::Log(a) => {
            let service = desk.local("The audit log")?;
            let q = AuditQuery {
                site_id: a
                    .site_id
                    .as_deref()
                    .map(|s| parse_site(service, s))
                    .transpose()?,
                id: a.id.map(|id| id.trim().to_owned()),
                since: a.since.as_deref().map(parse_since).transpose()?,
            };
            let r = service.audit_log(&q)?;
            for s in &r.skipped_lines {
                eprintln!(
                    "warning: skipped line {} of the audit log: {}",
                    s.line,
                    crate::text::sanitize(&s.reason)
                );
            }
            if json {
                output::json(&mut out, &r)
            } else {
                output::audit(&mut out, &r)
            }
        }
        Command::Crl { site_id, current } => {
            let service = desk.local("The CRL")?;
            let site = check_site(service, site_id.as_deref())?;
            let pem = if current {
                service.current_crl_pem(site.id)?
            } else {
                service.crl_pem(site.id)?
            };
            write_pem(&mut out, &pem)
        }
        Command::Sites => {
            let r = backend.sites()?;
            if json {
                output::json(&mut out, &r)
            } else {
                output::sites(&mut out, &r)
            }
        }
    }
}

/// `list` on a remote: ListClientCertificates page by page (PageSize 100)
/// for the site asked, or for every site ListSites names, filtered by the
/// same status and expiring-soon rules as the local list.
fn list_pages(backend: &dyn Backend, q: &ListQuery) -> EsaResult<ListOutcome> {
    let sites = match q.site_id {
        Some(s) => vec![s],
        None => backend.sites()?.sites.iter().map(|s| s.site_id).collect(),
    };
    let now = crate::base::clock::now_seconds();
    let mut rows = Vec::new();
    for site in sites {
        backend.list_site(site, &mut |page| {
            rows.extend(
                page.rows
                    .into_iter()
                    .filter(|r| q.admits(r.status, &r.not_after, now)),
            );
            true
        })?;
    }
    let site_name = q.site_id.and_then(|id| {
        rows.first()
            .map(|r| r.site_name.clone())
            .or_else(|| Some(id.to_string()))
    });
    Ok(ListOutcome {
        response: ListResponse {
            request_id: crate::base::random::new_request_id(),
            total_count: rows.len(),
            page_number: 1,
            page_size: rows.len(),
            site_id: q.site_id,
            site_name,
            result: rows,
        },
        damaged: Vec::new(),
    })
}

/// `serve`: the service without a terminal prompt (a request must never
/// wait on a passphrase typed at the server's terminal; use
/// `ESA_CERTS_CA_PASSPHRASE_FILE`), then the HTTP server until a signal.
fn serve(config: Option<&Path>, a: ServeArgs) -> EsaResult<()> {
    let (service, created) = open_service(config)?;
    if let Some(path) = created {
        eprintln!(
            "esa-certs: wrote a default config to {}",
            crate::text::sanitize(&path.display().to_string())
        );
    }
    service.set_passphrase_prompt(std::sync::Arc::new(|_, _| Ok(None)));
    let (settings, keys) = service.serve_settings();
    let listen = match a.listen.or(settings.listen) {
        Some(l) => l,
        None => crate::server::DEFAULT_LISTEN
            .parse()
            .map_err(|_| EsaError::internal("the default listen address is invalid"))?,
    };
    let tls = match (a.tls_cert, a.tls_key) {
        (Some(c), Some(k)) => Some((c, k)),
        _ => settings.tls_cert.clone().zip(settings.tls_key.clone()),
    };
    let opts = crate::server::ServeOptions {
        listen,
        tls,
        insecure_no_auth: a.insecure_no_auth,
    };
    let keys = keys.to_vec();
    crate::server::run(std::sync::Arc::new(service), &keys, &opts, |url| {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "listening on {url}");
        let _ = stdout.flush();
    })
}

/// `issue --count N`: one compact JSON line (or one text line) per
/// certificate, printed once the certificate is durable in the store.
fn issue_many(
    service: &Service,
    req: &CreateRequest,
    count: u32,
    json: bool,
    out: &mut impl Write,
) -> EsaResult<()> {
    if !json && !service.keeps_private_keys() {
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            "with keep_private_keys = false the generated keys exist only in the output: add --json",
        ));
    }
    let issued = service.create_many(req, count, |r| {
        let line = if json {
            serde_json::to_string(&r)
                .map_err(|e| EsaError::internal(format!("cannot encode JSON: {e}")))?
        } else {
            format!(
                "{}  {}  {}",
                r.id,
                r.serial_number,
                crate::text::sanitize(&r.common_name)
            )
        };
        writeln!(out, "{line}").map_err(stdout_err)
    })?;
    out.flush().map_err(stdout_err)?;
    if !json {
        eprintln!("issued {issued} certificate(s)");
    }
    Ok(())
}

fn parse_site(service: &Service, raw: &str) -> EsaResult<u64> {
    check_site(service, Some(raw)).map(|s| s.id)
}

/// With `protect_key = true`, a CA key still stored in plaintext (made
/// before the option was set) is signed with all the same: say how to
/// encrypt it. (doctor reports it too.)
fn warn_plaintext_ca(service: &Service, raw_site: Option<&str>) {
    let Ok(site) = service.check_site_id(raw_site) else {
        return; // the service reports the bad id
    };
    if service.ca_key_left_plaintext(site.id) {
        eprintln!(
            "warning: the CA key of site {} is stored in plaintext although [ca] protect_key = true; \
             encrypt it with: esa-certs ca rekey-protect --site-id {}",
            site.id, site.id
        );
    }
}

/// `--site-id`, checked by the service.
fn check_site(service: &Service, raw: Option<&str>) -> EsaResult<crate::config::Site> {
    service.check_site_id(raw)
}
