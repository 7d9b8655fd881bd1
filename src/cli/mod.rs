//! The scriptable front end: clap arguments in, ESA-shaped JSON or short
//! human text out. Every operation goes through [`crate::service`].

mod output;
mod password;

use crate::base::limits::MAX_CSR_BYTES;
use crate::base::random;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::{CreateRequest, Status};
use crate::config;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{P12Mode, RevocationReason};
use crate::service::{AuditQuery, BindingTarget, ExportWhat, ListQuery, Service, parse_since};

/// A terminal certificate desk for mTLS client certificates: each site of the
/// config has its own CA, which issues, revokes and re-activates client
/// certificates the way Alibaba Cloud ESA's CreateClientCertificate family does.
#[derive(Debug, Parser)]
#[command(name = "esa-certs", version, about, long_about = None)]
pub struct Cli {
    /// Config file (default: $ESA_CERTS_CONFIG, else
    /// $XDG_CONFIG_HOME/esa-certs/config.toml). Written with defaults if missing.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// ESA-shaped JSON on stdout, and errors as JSON on stderr.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the interactive terminal UI (the default).
    Tui,
    /// Issue a client certificate (CreateClientCertificate).
    Issue(IssueArgs),
    /// List certificates (ListClientCertificates).
    List(ListArgs),
    /// Show one certificate (GetClientCertificate).
    Show { id: String },
    /// Write a certificate, its key, its chain or its CA.
    Export(ExportArgs),
    /// Revoke an active certificate (RevokeClientCertificate).
    Revoke {
        id: String,
        /// RFC 5280 reason: unspecified, keyCompromise, cACompromise,
        /// affiliationChanged, superseded, cessationOfOperation,
        /// certificateHold, privilegeWithdrawn, aACompromise (or its number).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Re-activate a revoked certificate (ActivateClientCertificate).
    Activate { id: String },
    /// Issue a successor with the same site, subject, Name and key type; the
    /// old certificate stays valid unless --revoke-old is given.
    Renew(RenewArgs),
    /// Delete a revoked or expired certificate (DeleteClientCertificate).
    Delete { id: String },
    /// Print the site CA certificate (PEM), creating the CA on first use;
    /// `ca rekey-protect` encrypts (or re-encrypts) CA keys at rest.
    Ca(CaArgs),
    /// Issue and print the site's current CRL (PEM).
    Crl {
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        site_id: Option<String>,
        /// Print the stored CRL as it is instead of signing a fresh one
        /// (needs no CA passphrase: for publishing from cron). A CRL left
        /// stale by an interrupted revoke is regenerated first when the CA
        /// key opens without asking, else refused (exit 1).
        #[arg(long)]
        current: bool,
    },
    /// List the sites of the config with their CA and counts.
    Sites,
    /// Check the store entry by entry (read-only); exit 1 with
    /// Store.ProblemsFound when something is wrong.
    Doctor {
        /// Apply the safe repairs only: narrow file modes, finish
        /// interrupted writes, regenerate CRLs, rebuild the listing cache.
        /// Nothing is ever deleted.
        #[arg(long)]
        fix: bool,
    },
    /// Show the audit trail: every issue, renewal, revocation, activation,
    /// deletion, key export and CA key change, with who and when.
    Log(LogArgs),
    /// Serve the ESA OpenAPI (2024-09-10) on HTTP(S), for the official
    /// Alibaba Cloud SDKs and any ESA client; prints `listening on URL`.
    Serve(ServeArgs),
    /// Show or set the hostnames bound to a CA or a certificate
    /// (Get/SetClientCaCertificateHostnames, Get/SetClientCertificateHostnames).
    Hostnames(HostnamesArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default: [serve] listen, else 127.0.0.1:8787;
    /// port 0 picks a free one). A non-loopback address needs TLS.
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept unsigned requests (loopback only; for local experiments when
    /// no [[access_key]] is configured).
    #[arg(long)]
    pub insecure_no_auth: bool,
}

#[derive(Debug, Args)]
pub struct HostnamesArgs {
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub site_id: Option<String>,
    /// The CA (uploaded, or the managed one) or certificate Id; default:
    /// the site's managed CA.
    #[arg(long)]
    pub id: Option<String>,
    /// The Id is a client certificate's (default: a CA's).
    #[arg(long)]
    pub certificate: bool,
    /// Replace the binding with these hostnames (comma-separated; an empty
    /// string clears it). Without it, the binding is shown.
    #[arg(long, value_name = "LIST")]
    pub set: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CaArgs {
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub site_id: Option<String>,
    /// The site's trust bundle: the managed CA, then every uploaded CA in
    /// date (what a TLS server verifies client certificates against).
    #[arg(long)]
    pub bundle: bool,
    #[command(subcommand)]
    pub action: Option<CaAction>,
}

#[derive(Debug, Subcommand)]
pub enum CaAction {
    /// The site's CAs: the managed one and every uploaded one, with their
    /// hostname bindings (ListClientCaCertificates plus the managed CA).
    List {
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        site_id: Option<String>,
    },
    /// Upload a CA certificate (PEM, CA:TRUE, in date; no key) as a
    /// verify-only trust anchor of the site (UploadClientCaCertificate).
    Upload {
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        site_id: Option<String>,
        /// The PEM file, or - for stdin.
        #[arg(long, value_name = "FILE")]
        file: String,
        /// A label for the CA.
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete an uploaded CA and its binding (DeleteClientCaCertificate).
    Delete {
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        site_id: Option<String>,
        id: String,
    },
    /// Encrypt a site CA's private key at rest (PKCS#8 PBES2, AES-256-CBC,
    /// PBKDF2-HMAC-SHA256), or re-encrypt it under a new passphrase.
    RekeyProtect {
        #[arg(
            long,
            value_name = "ID",
            allow_hyphen_values = true,
            required_unless_present = "all"
        )]
        site_id: Option<String>,
        /// Every site of the config that has a CA.
        #[arg(long, conflicts_with = "site_id")]
        all: bool,
        /// The new passphrase: content of FILE (one trailing newline
        /// stripped). Without it: $ESA_CERTS_CA_PASSPHRASE_FILE when the key
        /// is still plaintext, else asked twice on the terminal.
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct LogArgs {
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub site_id: Option<String>,
    /// Only records of this certificate Id.
    #[arg(long)]
    pub id: Option<String>,
    /// Only records at or after this date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The site (SiteId) whose CA signs the certificate.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub site_id: Option<String>,
    /// Validity in days, 1..=3650 (default: the config's defaults.validity_days).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub validity_days: Option<String>,
    /// Key to generate: RSA, RSA_2048, RSA_3072, RSA_4096, ECC, ECC_256,
    /// ECC_384, ED25519 (default: the config's defaults.pkey_type).
    /// Ignored with --csr, as in ESA: the CSR's key decides.
    #[arg(long, value_name = "T")]
    pub pkey_type: Option<String>,
    /// Sign this PEM CSR instead of generating a key (`-` reads stdin).
    #[arg(long, value_name = "FILE|-")]
    pub csr: Option<String>,
    /// CommonName when there is no CSR (default: the certificate Id).
    #[arg(long, value_name = "CN")]
    pub common_name: Option<String>,
    /// A free-text label shown in lists (ESA's Name).
    #[arg(long, value_name = "LABEL")]
    pub name: Option<String>,
    // The help is built by count_help: clap would turn `{n}` in a doc
    // comment into a line break.
    #[arg(long, value_name = "N", help = count_help())]
    pub count: Option<u32>,
}

/// `--count`'s help. clap replaces every `{n}` in help text with a line
/// break, and has no escape for it, so the placeholder is written bold with
/// a second bold code between `{` and `n`: clap does not see `{n}`, a
/// terminal shows a bold `{n}`, and the codes are stripped when the help
/// goes to a pipe (or with NO_COLOR), leaving `{n}`.
fn count_help() -> clap::builder::StyledStr {
    let b = clap::builder::styling::Style::new().bold();
    format!(
        "Issue N certificates (generated keys); {b}{{{b}n}}{b:#} in --common-name and \
         --name becomes each one's number (without it, -<n> is appended). \
         With --json: one JSON line each."
    )
    .into()
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Active,
    Revoked,
    Expired,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub site_id: Option<String>,
    /// Only certificates with this status (any case).
    #[arg(long, value_enum, ignore_case = true)]
    pub status: Option<StatusArg>,
    /// Only active certificates that expire within this many days.
    #[arg(long, value_name = "DAYS")]
    pub expiring_within: Option<u32>,
}

#[derive(Debug, Args)]
pub struct RenewArgs {
    pub id: String,
    /// Validity of the new certificate, 1..=3650 (default: the old one's).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub validity_days: Option<String>,
    /// Revoke the old certificate (reason superseded) and refresh the CRL.
    #[arg(long)]
    pub revoke_old: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhatArg {
    /// The certificate, PEM.
    Cert,
    /// The private key, PKCS#8 PEM (when kept).
    Key,
    /// Certificate then site CA, PEM.
    Chain,
    /// The site CA certificate, PEM.
    Ca,
    /// The certificate, DER.
    Der,
    /// PKCS#12: certificate, key and site CA, password-protected.
    P12,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub id: String,
    #[arg(long, value_enum, default_value = "cert", ignore_case = true)]
    pub what: WhatArg,
    /// Write here instead of stdout (keys and .p12: mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// p12: read the password from the first line of FILE (`-`: stdin).
    /// Without it the password is asked for on the terminal, twice.
    #[arg(long, value_name = "FILE|-")]
    pub password_file: Option<PathBuf>,
    /// p12: 3DES + SHA-1 MAC, for old Windows, appliances and keychains
    /// that cannot read the default AES-256/PBKDF2 encoding.
    #[arg(long)]
    pub legacy: bool,
}

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

fn export(service: &Service, a: ExportArgs, out: &mut impl Write) -> EsaResult<()> {
    let what = match a.what {
        WhatArg::Cert => ExportWhat::Cert,
        WhatArg::Key => ExportWhat::Key,
        WhatArg::Chain => ExportWhat::Chain,
        WhatArg::Ca => ExportWhat::Ca,
        WhatArg::Der => ExportWhat::Der,
        WhatArg::P12 => ExportWhat::P12,
    };
    if what != ExportWhat::P12 && (a.password_file.is_some() || a.legacy) {
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            "--password-file and --legacy only apply to --what p12",
        ));
    }
    if what.is_binary() && a.out.is_none() && std::io::stdout().is_terminal() {
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            "refusing to write binary output to a terminal; use --out FILE or redirect stdout",
        ));
    }
    // The destination is prepared first: a key export is audited before
    // the key leaves the store, so a path that cannot be written must fail
    // before the audit record is made (a refused export changes nothing).
    let staged = a
        .out
        .as_deref()
        .map(|path| stage_out(path, what.is_secret()))
        .transpose()?;
    let mut note = None;
    let bytes = if what == ExportWhat::P12 {
        // Say "no key" before asking for a password that cannot be used.
        service.check_key_exportable(&a.id)?;
        let password = password::read(a.password_file.as_deref())?;
        let mode = if a.legacy {
            P12Mode::Legacy
        } else {
            P12Mode::Modern
        };
        note = Some(format!(
            "PKCS#12 ({}) with certificate, private key and CA",
            mode.label()
        ));
        service.export_p12(&a.id, &password, mode)?
    } else {
        zeroize::Zeroizing::new(service.export(&a.id, what)?)
    };
    match (staged, a.out) {
        (Some(staged), Some(path)) => {
            staged.commit(&bytes).map_err(cannot_write(&path))?;
            if let Some(n) = note {
                eprintln!(
                    "esa-certs: wrote {n} to {}",
                    crate::text::sanitize(&path.display().to_string())
                );
            }
            Ok(())
        }
        _ if what.is_binary() => out.write_all(&bytes).map_err(stdout_err),
        _ => match std::str::from_utf8(&bytes) {
            Ok(pem) => write_pem(out, pem),
            Err(_) => out.write_all(&bytes).map_err(stdout_err),
        },
    }
}

/// Writes PEM text read from the store to stdout. A well-formed PEM is
/// written byte for byte; a hand-edited file's control, bidi or format
/// characters are escaped so they cannot act on a terminal. The escaped
/// copy (it may be a private key) lives in a zeroizing buffer sized so it
/// never reallocates.
fn write_pem(out: &mut impl Write, pem: &str) -> EsaResult<()> {
    if !crate::text::lines_need_escaping(pem) {
        return out.write_all(pem.as_bytes()).map_err(stdout_err);
    }
    let mut shown = zeroize::Zeroizing::new(String::with_capacity(pem.len() * 10));
    crate::text::sanitize_lines_into(pem, &mut shown);
    out.write_all(shown.as_bytes()).map_err(stdout_err)
}

fn doctor(service: &Service, fix: bool, json: bool, out: &mut impl Write) -> EsaResult<()> {
    let report = service.doctor(fix)?;
    if json {
        output::json(out, &report)?;
    } else {
        output::doctor(out, &report)?;
    }
    out.flush().map_err(stdout_err)?;
    if report.clean {
        Ok(())
    } else {
        Err(EsaError::new(
            ErrorCode::StoreProblems,
            format!(
                "doctor found {} problem(s) in the store{}",
                report.problems,
                if fix {
                    " that --fix cannot repair safely"
                } else {
                    "; see above (doctor --fix repairs the safe ones)"
                }
            ),
        ))
    }
}

fn rekey_protect(
    service: &Service,
    site_id: Option<String>,
    all: bool,
    new_file: Option<PathBuf>,
    json: bool,
    out: &mut impl Write,
) -> EsaResult<()> {
    let sites: Vec<u64> = if all {
        service.sites_with_ca()?
    } else {
        vec![check_site(service, site_id.as_deref())?.id]
    };
    let any_plain = sites
        .iter()
        .map(|&s| service.ca_key_protected(s).map(|p| !p))
        .collect::<EsaResult<Vec<bool>>>()?
        .into_iter()
        .any(|plain| plain);
    let new = match new_file {
        Some(f) => crate::service::read_passphrase_file(&f)?,
        None => match std::env::var_os(crate::service::CA_PASSPHRASE_ENV).filter(|_| any_plain) {
            // Migration: the passphrase the store will be opened with.
            Some(f) => crate::service::read_passphrase_file(Path::new(&f))?,
            None => password::new_ca_passphrase()?,
        },
    };
    let mut done = Vec::new();
    for (site, was_plain) in sites
        .iter()
        .copied()
        .zip(service.rekey_protect(&sites, &new)?)
    {
        if !json {
            eprintln!(
                "esa-certs: the CA key of site {site} is now encrypted at rest ({})",
                if was_plain {
                    "it was plaintext"
                } else {
                    "new passphrase"
                }
            );
        }
        done.push(serde_json::json!({"SiteId": site, "WasPlaintext": was_plain}));
    }
    if json {
        output::json(
            out,
            &serde_json::json!({
                "RequestId": random::new_request_id(),
                "Result": done,
            }),
        )?;
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

/// Reads a CSR from a file or stdin, never more than the limit (+1 byte so
/// the parser can say the input was too big).
fn read_csr(src: &str) -> EsaResult<Vec<u8>> {
    let limit = MAX_CSR_BYTES as u64 + 1;
    let mut buf = Vec::new();
    let res = if src == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut buf)
    } else {
        std::fs::File::open(src).and_then(|f| f.take(limit).read_to_end(&mut buf))
    };
    res.map_err(|e| {
        EsaError::new(
            ErrorCode::InvalidCsr,
            format!(
                "cannot read the CSR from {}: {e}",
                crate::text::sanitize(src)
            ),
        )
    })?;
    Ok(buf)
}

fn stdout_err(e: std::io::Error) -> EsaError {
    EsaError::internal(format!("cannot write to stdout: {e}"))
}

/// Writes an export file atomically; secrets are created 0600.
fn stage_out(path: &Path, secret: bool) -> EsaResult<crate::base::fs::Staged> {
    let mode = if secret {
        crate::base::fs::FILE_MODE_PRIVATE
    } else {
        0o644
    };
    crate::base::fs::Staged::create(path, mode).map_err(cannot_write(path))
}

fn cannot_write(path: &Path) -> impl Fn(std::io::Error) -> EsaError + '_ {
    move |e| {
        EsaError::new(
            ErrorCode::InvalidParameter,
            format!("cannot write {}: {e}", path.display()),
        )
    }
}
