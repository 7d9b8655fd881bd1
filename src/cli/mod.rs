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

use crate::api::{CreateRequest, Status};
use crate::config;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{P12Mode, RevocationReason};
use crate::service::{AuditQuery, BindingTarget, ExportWhat, ListQuery, Service, parse_since};

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
        return crate::tui::run(|| {
            let (service, created, cfg) =
                open_with(flag.as_deref(), |e| crate::tui::StartError::from(&e))?;
            let local = service.clone();
            // The [[remote]] endpoints B offers.
            let remotes = cfg.remotes.iter().map(|r| r.name.clone()).collect();
            Ok(crate::tui::Opened {
                desk: std::sync::Arc::new(service),
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
        return serve(cli.config.as_deref(), a);
    }
    let (service, created) = open_service(cli.config.as_deref())?;
    if let Some(path) = &created {
        eprintln!(
            "esa-certs: wrote a default config to {}",
            crate::text::sanitize(&path.display().to_string())
        );
    }
    // stdout is line-buffered; a 100k-entry listing would be millions of
    // write calls without this buffer.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let result = dispatch(&service, command, json, &mut out);
    for w in service.take_warnings() {
        eprintln!("warning: {}", crate::text::sanitize(&w));
    }
    let flushed = out.flush().map_err(stdout_err);
    result.and(flushed)
}

fn dispatch(service: &Service, command: Command, json: bool, mut out: impl Write) -> EsaResult<()> {
    match command {
        Command::Tui => Ok(()),
        Command::Issue(a) => {
            warn_plaintext_ca(service, a.site_id.as_deref());
            let req = CreateRequest {
                site_id: a.site_id,
                validity_days: a.validity_days,
                pkey_type: a.pkey_type,
                csr: a.csr.as_deref().map(read_csr).transpose()?,
                common_name: a.common_name,
                name: a.name,
            };
            if let Some(count) = a.count {
                return issue_many(service, &req, count, json, &mut out);
            }
            let r = service.create(&req)?;
            if json {
                output::json(&mut out, &r)
            } else {
                output::issued(&mut out, service, &r)
            }
        }
        Command::List(a) => {
            let q = ListQuery {
                site_id: a
                    .site_id
                    .as_deref()
                    .map(|s| parse_site(service, s))
                    .transpose()?,
                status: a.status.map(|s| match s {
                    StatusArg::Active => Status::Active,
                    StatusArg::Revoked => Status::Revoked,
                    StatusArg::Expired => Status::Expired,
                }),
                expiring_within: a.expiring_within,
            };
            let r = service.list(&q)?;
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
        Command::Show { id } => {
            let r = service.get(&id)?;
            if json {
                output::json(&mut out, &r)
            } else {
                output::details(&mut out, &r)
            }
        }
        Command::Export(a) => export(service, a, &mut out),
        Command::Renew(a) => {
            let days = a
                .validity_days
                .as_deref()
                .map(|d| service.check_validity_days(Some(d)))
                .transpose()?;
            let r = service.renew(&a.id, days, a.revoke_old)?;
            if json {
                output::json(&mut out, &r)
            } else {
                output::renewed(&mut out, service, &r)
            }
        }
        Command::Revoke { id, reason } => {
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
            let r = service.revoke(&id, reason)?;
            output::changed(&mut out, &r, "revoked", json)
        }
        Command::Activate { id } => {
            // RFC 5280 only means certificateHold to be undone: re-trusting
            // a key revoked as compromised deserves a word (ESA allows it).
            let reason = service
                .get(&id)
                .ok()
                .and_then(|g| g.result.revoke_reason)
                .filter(|r| r.ends_with("Compromise"));
            let r = service.activate(&id)?;
            if let Some(reason) = reason {
                eprintln!(
                    "warning: {} was revoked for {}: its key may be known to others, and it is trusted again",
                    r.id,
                    crate::text::sanitize(&reason)
                );
            }
            output::changed(&mut out, &r, "activated", json)
        }
        Command::Delete { id } => {
            let r = service.delete(&id)?;
            output::changed(&mut out, &r, "deleted", json)
        }
        Command::Ca(CaArgs {
            site_id,
            bundle,
            action: None,
        }) => {
            let site = check_site(service, site_id.as_deref())?;
            let pem = if bundle {
                service.trust_bundle(site.id)?
            } else {
                service.ca_pem(site.id)?
            };
            write_pem(&mut out, &pem)
        }
        Command::Ca(CaArgs {
            action: Some(CaAction::List { site_id }),
            ..
        }) => {
            let site = check_site(service, site_id.as_deref())?;
            output::ca_list(service, site.id, json, &mut out)
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
            let site = check_site(service, site_id.as_deref())?;
            let text = String::from_utf8(read_csr(&file)?).map_err(|_| {
                EsaError::new(ErrorCode::InvalidCertificate, "the file is not PEM text")
            })?;
            let r = service.upload_ca(site.id, Some(&text), name.as_deref())?;
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
            let site = check_site(service, site_id.as_deref())?;
            let r = service.delete_ca(site.id, &id)?;
            output::json_or(&r, json, &mut out, |o| {
                writeln!(o, "deleted uploaded CA {}", r.id)
            })
        }
        Command::Hostnames(a) => {
            let site = check_site(service, a.site_id.as_deref())?;
            let target = if a.certificate {
                BindingTarget::Certificate
            } else {
                BindingTarget::Ca
            };
            let r = match &a.set {
                Some(list) => {
                    let list: Vec<String> = list
                        .split(',')
                        .map(str::trim)
                        .filter(|h| !h.is_empty())
                        .map(str::to_owned)
                        .collect();
                    service.set_hostnames(target, site.id, a.id.as_deref(), &list)?
                }
                None => service.hostnames(target, site.id, a.id.as_deref())?,
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
        }) => rekey_protect(service, site_id, all, new_passphrase_file, json, &mut out),
        Command::Doctor { fix } => doctor(service, fix, json, &mut out),
        Command::Log(a) => {
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
            let site = check_site(service, site_id.as_deref())?;
            let pem = if current {
                service.current_crl_pem(site.id)?
            } else {
                service.crl_pem(site.id)?
            };
            write_pem(&mut out, &pem)
        }
        Command::Sites => {
            let r = service.sites()?;
            if json {
                output::json(&mut out, &r)
            } else {
                output::sites(&mut out, &r)
            }
        }
    }
}

/// `issue --count N`: one compact JSON line (or one text line) per
/// certificate, printed once the certificate is durable in the store.
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
