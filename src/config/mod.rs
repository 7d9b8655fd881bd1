//! The TOML configuration: where the store lives, how site CAs are made, the
//! defaults of the issue form, and the sites themselves.
//!
//! Errors name the file, the line and the key, because an operator editing a
//! config by hand needs to know exactly where to look. Validation that serde
//! cannot express (ranges, duplicate site ids) is done with spans kept from
//! the parse, so those errors point at a line too.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::pki::PkeyType;

mod locate;
mod raw;

pub use locate::MAX_NESTING;
use locate::{LineIndex, invalid, too_deep};
use raw::RawConfig;

/// The default config written on first run.
pub const DEFAULT_CONFIG: &str = include_str!("../../assets/default-config.toml");

/// The environment variable that names the config file.
pub const CONFIG_ENV: &str = "ESA_CERTS_CONFIG";

use crate::base::limits::{
    MAX_CA_VALIDITY_DAYS, MAX_COMMON_NAME_CHARS, MAX_CONFIG_BYTES, MAX_VALIDITY_DAYS,
};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{}: cannot read the config: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: cannot write the default config: {source}", path.display())]
    WriteDefault {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {}{message}", path.display(), key_prefix(key))]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error(
        "no config path: pass --config, set ${CONFIG_ENV}, or set $HOME so the default location can be found"
    )]
    NoLocation,
}

/// `key `x`: ` before a message about one key; nothing for the whole file.
fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("key `{key}`: ")
    }
}

/// A site, as declared by a `[[site]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: u64,
    pub name: String,
    pub max_client_certificates: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub path: PathBuf,
    pub keep_private_keys: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaConfig {
    /// Template with `{site}` standing for the site name.
    pub common_name: String,
    pub key_type: PkeyType,
    pub validity_days: u32,
    /// Keep each site CA's private key encrypted at rest (PKCS#8 PBES2);
    /// the passphrase comes from `ESA_CERTS_CA_PASSPHRASE_FILE`, a prompt
    /// or the TUI.
    pub protect_key: bool,
}

impl CaConfig {
    /// The CN of the given site's CA.
    pub fn common_name_for(&self, site: &Site) -> String {
        self.common_name.replace("{site}", &site.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlConfig {
    pub next_update_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    pub validity_days: u32,
    pub pkey_type: PkeyType,
}

/// A loaded, validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub store: StoreConfig,
    pub ca: CaConfig,
    pub crl: CrlConfig,
    pub defaults: Defaults,
    pub sites: Vec<Site>,
    pub serve: ServeConfig,
    pub access_keys: Vec<AccessKey>,
    pub remotes: Vec<Remote>,
    /// Where each site id is in `sites`, for [`Config::site`].
    site_at: SiteIndex,
}

/// Site id → position in [`Config::sites`]: looking a site up is O(1),
/// which listing 100,000 certificates over 30,000 sites needs (a name per
/// certificate). Built from `sites`, so it adds nothing to equality.
#[derive(Clone, Default)]
struct SiteIndex(HashMap<u64, usize>);

impl SiteIndex {
    fn of(sites: &[Site]) -> SiteIndex {
        SiteIndex(sites.iter().enumerate().map(|(i, s)| (s.id, i)).collect())
    }
}

impl PartialEq for SiteIndex {
    fn eq(&self, _: &SiteIndex) -> bool {
        true
    }
}

impl Eq for SiteIndex {}

impl fmt::Debug for SiteIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SiteIndex({} sites)", self.0.len())
    }
}

/// `[serve]`: what `esa-certs serve` uses when no flag says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServeConfig {
    pub listen: Option<std::net::SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// `[[access_key]]`: an AccessKeyId the server accepts, with the file that
/// holds its secret (read when the server starts; it must be 0600).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub secret_file: PathBuf,
}

/// `[[remote]]`: an ESA endpoint (Alibaba Cloud's, or a team's `serve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub name: String,
    /// `esa.cn-hangzhou.aliyuncs.com` (HTTPS) or `http(s)://host:port`.
    pub endpoint: String,
    /// Else `$ALIBABA_CLOUD_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// Else `$ALIBABA_CLOUD_ACCESS_KEY_SECRET`.
    pub access_key_secret_file: Option<PathBuf>,
    /// A private root to trust for the endpoint's TLS certificate.
    pub ca_file: Option<PathBuf>,
    /// Keep generated private keys in a local key folder for this remote
    /// (default: `[store] keep_private_keys`).
    pub keep_private_keys: bool,
}

impl Config {
    pub fn site(&self, id: u64) -> Option<&Site> {
        match self.site_at.0.get(&id) {
            Some(&i) if self.sites.get(i).is_some_and(|s| s.id == id) => self.sites.get(i),
            None if self.site_at.0.len() == self.sites.len() => None,
            // `sites` was changed since it was loaded (it is public): look.
            _ => self.sites.iter().find(|s| s.id == id),
        }
    }
}

/// Where the config is: `--config`, else `$ESA_CERTS_CONFIG`, else the
/// platform config dir (`$XDG_CONFIG_HOME/esa-certs/config.toml`).
pub fn resolve_path(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    project_dirs()
        .map(|d| d.config_dir().join("config.toml"))
        .ok_or(ConfigError::NoLocation)
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "esa-certs")
}

/// Loads the config at `path`, first writing the commented default there if
/// nothing exists yet. The flag says whether the default was just written.
pub fn load_or_init(path: &Path) -> Result<(Config, bool), ConfigError> {
    let created = match write_default(path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(source) => {
            return Err(ConfigError::WriteDefault {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    Ok((load(path)?, created))
}

/// Creates `path` with the default config, failing with `AlreadyExists`
/// when something is there (never overwrites an operator's file).
///
/// The config names where keys are kept, so nobody else may change it: the
/// folders made for it are 0700 and the file 0600 from the moment they
/// exist, whatever the umask (a world-writable config would let another
/// user point the store elsewhere).
fn write_default(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::base::fs::create_private_dir_all(dir)?;
    }
    crate::base::fs::write_new(
        path,
        DEFAULT_CONFIG.as_bytes(),
        crate::base::fs::FILE_MODE_PRIVATE,
        true,
    )
}

/// Reads and validates the config at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            line: 1,
            key: String::new(),
            message: format!(
                "the file is larger than {MAX_CONFIG_BYTES} bytes; a config is a few KiB (30,000 sites take about 1.3 MB)"
            ),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        key: String::new(),
        message: "the file is not UTF-8 text".into(),
    })?;
    parse(&text, path)
}

/// Parses config text; `path` is used for error messages and to resolve a
/// relative store path.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let lines = LineIndex::new(text);
    if let Some((offset, why)) = too_deep(text) {
        return Err(invalid(path, &lines, offset..offset, why));
    }
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        invalid(path, &lines, span, e.message().trim().to_owned())
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let store_path = match raw.store.path {
        Some(p) => expand_path(&p, base),
        None => project_dirs()
            .map(|d| d.data_dir().to_path_buf())
            .ok_or(ConfigError::NoLocation)?,
    };

    let mut seen: HashMap<u64, usize> = HashMap::new();
    let mut sites = Vec::with_capacity(raw.site.len());
    for s in raw.site {
        let id = *s.id.get_ref();
        if let Some(first) = seen.get(&id) {
            return Err(invalid(
                path,
                &lines,
                s.id.span(),
                format!("duplicate site id {id} (first declared on line {first})"),
            ));
        }
        seen.insert(id, lines.line_of(s.id.span().start));
        let s_name_span = s.name.span();
        let site = Site {
            id,
            name: s.name.into_inner().0,
            max_client_certificates: s.max_client_certificates,
        };
        let ca_cn = raw.ca.common_name.get_ref().replace("{site}", &site.name);
        if ca_cn.chars().count() > MAX_COMMON_NAME_CHARS {
            // Point at the template when the file sets it, else at the site.
            let span = match raw.ca.common_name.span() {
                s if s.is_empty() => s_name_span.clone(),
                s => s,
            };
            return Err(invalid(
                path,
                &lines,
                span,
                format!(
                    "expands to {} characters for site {id}; a CommonName has at most {MAX_COMMON_NAME_CHARS}",
                    ca_cn.chars().count()
                ),
            ));
        }
        sites.push(site);
    }

    let serve = ServeConfig {
        listen: match &raw.serve.listen {
            Some(l) => Some(l.get_ref().parse().map_err(|_| {
                invalid(
                    path,
                    &lines,
                    l.span(),
                    format!(
                        "{} is not an address; expected HOST:PORT such as 127.0.0.1:8787",
                        crate::text::quoted(&crate::text::clip(l.get_ref(), 60))
                    ),
                )
            })?),
            None => None,
        },
        tls_cert: raw.serve.tls_cert.as_deref().map(|p| expand_path(p, base)),
        tls_key: raw.serve.tls_key.as_deref().map(|p| expand_path(p, base)),
    };
    let mut access_keys: Vec<AccessKey> = Vec::with_capacity(raw.access_key.len());
    for k in raw.access_key {
        let id = k.id.get_ref();
        if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                path,
                &lines,
                k.id.span(),
                "an access key id is 1 to 128 printable ASCII characters".into(),
            ));
        }
        if access_keys.iter().any(|a| &a.id == id) {
            return Err(invalid(
                path,
                &lines,
                k.id.span(),
                format!("duplicate access key id {id}"),
            ));
        }
        if k.secret_file.get_ref().is_empty() {
            return Err(invalid(
                path,
                &lines,
                k.secret_file.span(),
                "secret_file is empty".into(),
            ));
        }
        access_keys.push(AccessKey {
            id: id.clone(),
            secret_file: expand_path(k.secret_file.get_ref(), base),
        });
    }
    let mut remotes: Vec<Remote> = Vec::with_capacity(raw.remote.len());
    for r in raw.remote {
        let name = r.name.get_ref();
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(invalid(
                path,
                &lines,
                r.name.span(),
                "a remote name is 1 to 64 of A-Z a-z 0-9 - _ .".into(),
            ));
        }
        if remotes.iter().any(|x| &x.name == name) {
            return Err(invalid(
                path,
                &lines,
                r.name.span(),
                format!("duplicate remote {name}"),
            ));
        }
        let raw_endpoint = r.endpoint.get_ref().trim();
        let (scheme, host) = match raw_endpoint.split_once("://") {
            Some((scheme, rest)) => (Some(scheme), rest.trim_end_matches('/')),
            None => (None, raw_endpoint.trim_end_matches('/')),
        };
        let endpoint = raw_endpoint.trim_end_matches('/');
        // A host, or host:port with a port number.
        let port_ok = host
            .rsplit_once(':')
            .is_none_or(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
        if host.is_empty()
            || !port_ok
            || scheme.is_some_and(|s| s != "http" && s != "https")
            || host.contains(['/', ' ', '?', '#', '@'])
        {
            return Err(invalid(
                path,
                &lines,
                r.endpoint.span(),
                "expected a host such as esa.cn-hangzhou.aliyuncs.com or http(s)://host:port"
                    .into(),
            ));
        }
        remotes.push(Remote {
            name: name.clone(),
            endpoint: endpoint.to_owned(),
            access_key_id: r.access_key_id.map(|s| s.into_inner()),
            access_key_secret_file: r
                .access_key_secret_file
                .as_deref()
                .map(|p| expand_path(p, base)),
            ca_file: r.ca_file.as_deref().map(|p| expand_path(p, base)),
            keep_private_keys: r.keep_private_keys.unwrap_or(raw.store.keep_private_keys),
        });
    }

    Ok(Config {
        path: path.to_path_buf(),
        store: StoreConfig {
            path: store_path,
            keep_private_keys: raw.store.keep_private_keys,
        },
        ca: CaConfig {
            common_name: raw.ca.common_name.into_inner().0,
            key_type: raw.ca.key_type,
            validity_days: raw.ca.validity_days,
            protect_key: raw.ca.protect_key,
        },
        crl: CrlConfig {
            next_update_days: raw.crl.next_update_days,
        },
        defaults: Defaults {
            validity_days: raw.defaults.validity_days,
            pkey_type: raw.defaults.pkey_type,
        },
        site_at: SiteIndex::of(&sites),
        sites,
        serve,
        access_keys,
        remotes,
    })
}

fn expand_path(p: &str, base: &Path) -> PathBuf {
    let expanded = match p.strip_prefix("~/") {
        Some(rest) => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(rest),
            None => PathBuf::from(p),
        },
        None => PathBuf::from(p),
    };
    if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded)
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.id)
    }
}

#[cfg(test)]
mod tests;
