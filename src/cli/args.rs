//! The command line as clap parses it: every subcommand, flag and help
//! text. `cli/mod.rs` turns these into service calls.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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

    /// Run the command (or the TUI) on this `[[remote]]` of the config: a
    /// team's `esa-certs serve` or Alibaba Cloud ESA. Default: the local store.
    #[arg(long, global = true, value_name = "NAME")]
    pub remote: Option<String>,

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
    Show {
        id: String,
        /// The certificate's site: checked locally; on a remote it spares
        /// the search of every site for the Id.
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        site_id: Option<String>,
    },
    /// Write a certificate, its key, its chain or its CA.
    Export(ExportArgs),
    /// Revoke an active certificate (RevokeClientCertificate).
    Revoke {
        id: String,
        /// The certificate's site: checked locally; on a remote it spares
        /// the search of every site for the Id.
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        site_id: Option<String>,
        /// RFC 5280 reason: unspecified, keyCompromise, cACompromise,
        /// affiliationChanged, superseded, cessationOfOperation,
        /// certificateHold, privilegeWithdrawn, aACompromise (or its number).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Re-activate a revoked certificate (ActivateClientCertificate).
    Activate {
        id: String,
        /// The certificate's site: checked locally; on a remote it spares
        /// the search of every site for the Id.
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        site_id: Option<String>,
    },
    /// Issue a successor with the same site, subject, Name and key type; the
    /// old certificate stays valid unless --revoke-old is given.
    Renew(RenewArgs),
    /// Delete a revoked or expired certificate (DeleteClientCertificate).
    Delete {
        id: String,
        /// The certificate's site: checked locally; on a remote it spares
        /// the search of every site for the Id.
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        site_id: Option<String>,
    },
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
    /// The certificate's site: checked locally; on a remote it spares
    /// the search of every site for the Id.
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub site_id: Option<String>,
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
