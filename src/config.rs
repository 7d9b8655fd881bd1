//! The TOML configuration: where the store lives, how site CAs are made, the
//! defaults of the issue form, and the sites themselves.
//!
//! Errors name the file, the line and the key, because an operator editing a
//! config by hand needs to know exactly where to look. Validation that serde
//! cannot express (ranges, duplicate site ids) is done with spans kept from
//! the parse, so those errors point at a line too.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer};
use toml::Spanned;

use crate::pki::PkeyType;

/// The default config written on first run.
pub const DEFAULT_CONFIG: &str = include_str!("../assets/default-config.toml");

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
}

impl Config {
    pub fn site(&self, id: u64) -> Option<&Site> {
        self.sites.iter().find(|s| s.id == id)
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
                "the file is larger than {MAX_CONFIG_BYTES} bytes; a config is a few KiB"
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
        sites,
    })
}

/// Deepest nesting of arrays/inline tables, and most dotted-key parts, a
/// config may use. The TOML parser recurses once per level, so without a
/// bound a crafted file (`a = [[[[…`) overflows the stack and aborts.
pub const MAX_NESTING: usize = 32;

/// Finds the first place where `text` nests deeper than [`MAX_NESTING`]
/// (brackets and braces outside strings and comments, or dots in a key).
fn too_deep(text: &str) -> Option<(usize, String)> {
    let b = text.as_bytes();
    let (mut depth, mut dots, mut i) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            q @ (b'"' | b'\'') => {
                let triple = b[i..].starts_with(&[q, q, q]);
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    if q == b'"' && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if triple && b[i..].starts_with(&[q, q, q]) {
                        i += 3;
                        break;
                    }
                    if !triple && (b[i] == q || b[i] == b'\n') {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'.' => dots += 1,
            b'\n' | b'=' => dots = 0,
            _ => {}
        }
        if depth > MAX_NESTING {
            return Some((
                i,
                format!("values are nested more than {MAX_NESTING} levels deep"),
            ));
        }
        if dots > MAX_NESTING {
            return Some((i, format!("a key has more than {MAX_NESTING} dotted parts")));
        }
        i += 1;
    }
    None
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

/// Where each line of a text starts, so a byte offset's line number is a
/// binary search. Counting newlines up to the offset instead made a parse
/// quadratic in the number of sites (each site's line is recorded).
struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the start of each line; `starts[0] == 0`.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        LineIndex { text, starts }
    }

    /// The 1-based line of byte `offset` (the last line past the end).
    fn line_of(&self, offset: usize) -> usize {
        // starts[0] == 0 <= offset, so this is at least 1.
        self.starts.partition_point(|&s| s <= offset)
    }
}

/// Builds an `Invalid` error for the byte span, naming the dotted key found
/// on that line (with its table prefix).
fn invalid(path: &Path, lines: &LineIndex, span: Range<usize>, message: String) -> ConfigError {
    let text = lines.text;
    let line = lines.line_of(span.start);
    // Both quote the file: keep its control characters off the terminal.
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        key: crate::text::clip(&crate::text::sanitize(&key_at_line(text, line)), 80),
        message: crate::text::sanitize(&message),
    }
}

fn key_at_line(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(this) = lines.get(line.saturating_sub(1)) else {
        return String::new();
    };
    let header = |l: &str| -> Option<String> {
        let t = l.trim();
        t.starts_with('[').then(|| {
            t.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
    };
    if let Some(h) = header(this) {
        return h;
    }
    let key = this
        .split('=')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    let table = lines[..line.saturating_sub(1)]
        .iter()
        .rev()
        .find_map(|l| header(l));
    match table {
        Some(t) if !t.is_empty() && !key.is_empty() => format!("{t}.{key}"),
        Some(t) if key.is_empty() => t,
        _ => key.to_owned(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    ca: RawCa,
    #[serde(default)]
    crl: RawCrl,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    site: Vec<RawSite>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    #[serde(default, deserialize_with = "non_empty_opt")]
    path: Option<String>,
    #[serde(default = "yes")]
    keep_private_keys: bool,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            path: None,
            keep_private_keys: true,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCa {
    #[serde(default = "default_ca_cn")]
    common_name: Spanned<CaTemplate>,
    #[serde(default = "default_ca_key", deserialize_with = "pkey_type")]
    key_type: PkeyType,
    #[serde(default = "default_ca_days", deserialize_with = "ca_days")]
    validity_days: u32,
    #[serde(default)]
    protect_key: bool,
}

impl Default for RawCa {
    fn default() -> Self {
        RawCa {
            common_name: default_ca_cn(),
            key_type: default_ca_key(),
            validity_days: default_ca_days(),
            protect_key: false,
        }
    }
}

/// The CA CN template: non-empty, printable.
struct CaTemplate(String);

impl std::ops::Deref for CaTemplate {
    type Target = String;
    fn deref(&self) -> &String {
        &self.0
    }
}

impl<'de> Deserialize<'de> for CaTemplate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = printable_name(d, "a CA common name")?;
        Ok(CaTemplate(s))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCrl {
    #[serde(default = "default_crl_days", deserialize_with = "crl_days")]
    next_update_days: u32,
}

impl Default for RawCrl {
    fn default() -> Self {
        RawCrl {
            next_update_days: default_crl_days(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    #[serde(default = "default_leaf_days", deserialize_with = "leaf_days")]
    validity_days: u32,
    #[serde(default = "default_leaf_key", deserialize_with = "pkey_type")]
    pkey_type: PkeyType,
}

impl Default for RawDefaults {
    fn default() -> Self {
        RawDefaults {
            validity_days: default_leaf_days(),
            pkey_type: default_leaf_key(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    id: Spanned<u64>,
    name: Spanned<SiteName>,
    #[serde(default, deserialize_with = "quota")]
    max_client_certificates: Option<u64>,
}

struct SiteName(String);

impl<'de> Deserialize<'de> for SiteName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = printable_name(d, "a site name")?;
        if s.len() > 253 {
            return Err(de::Error::custom("a site name has at most 253 characters"));
        }
        Ok(SiteName(s))
    }
}

fn printable_name<'de, D: Deserializer<'de>>(d: D, what: &str) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Err(de::Error::custom(format!("{what} cannot be empty")));
    }
    if s.chars().any(crate::text::is_dangerous) {
        return Err(de::Error::custom(format!(
            "{what} cannot contain control, bidi or invisible format characters"
        )));
    }
    Ok(s)
}

fn non_empty_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Err(de::Error::custom("the path cannot be empty"));
    }
    Ok(Some(s))
}

fn pkey_type<'de, D: Deserializer<'de>>(d: D) -> Result<PkeyType, D::Error> {
    let s = String::deserialize(d)?;
    PkeyType::parse(&s).ok_or_else(|| {
        de::Error::custom(format!(
            "unknown key type {}; expected one of {}",
            crate::text::quoted(&s),
            PkeyType::SPELLINGS.join(", ")
        ))
    })
}

fn ranged<'de, D: Deserializer<'de>>(d: D, lo: u32, hi: u32) -> Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    if v < i64::from(lo) || v > i64::from(hi) {
        return Err(de::Error::custom(format!(
            "{v} is out of range; expected an integer in {lo}..={hi}"
        )));
    }
    Ok(v as u32)
}

fn ca_days<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    ranged(d, 1, MAX_CA_VALIDITY_DAYS)
}

fn leaf_days<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    ranged(d, 1, MAX_VALIDITY_DAYS)
}

fn crl_days<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    ranged(d, 1, 365)
}

fn quota<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = i64::deserialize(d)?;
    if v < 0 {
        return Err(de::Error::custom(format!(
            "{v} is negative; expected a count of certificates"
        )));
    }
    Ok(Some(v as u64))
}

fn yes() -> bool {
    true
}
fn default_ca_cn() -> Spanned<CaTemplate> {
    Spanned::new(0..0, CaTemplate("{site} Client CA".into()))
}
fn default_ca_key() -> PkeyType {
    PkeyType::EcP256
}
fn default_ca_days() -> u32 {
    3650
}
fn default_crl_days() -> u32 {
    7
}
fn default_leaf_days() -> u32 {
    365
}
fn default_leaf_key() -> PkeyType {
    PkeyType::Rsa2048
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Config, ConfigError> {
        parse(text, Path::new("/etc/esa/config.toml"))
    }

    fn err(text: &str) -> String {
        p(text).unwrap_err().to_string()
    }

    #[test]
    fn default_config_parses() {
        let c = p(DEFAULT_CONFIG).unwrap();
        assert_eq!(c.sites.len(), 1);
        assert_eq!(c.sites[0].id, 1234567890123);
        assert_eq!(c.sites[0].name, "example.com");
        assert_eq!(c.ca.key_type, PkeyType::EcP256);
        assert_eq!(c.ca.common_name_for(&c.sites[0]), "example.com Client CA");
        assert_eq!(c.defaults.validity_days, 365);
        assert_eq!(c.defaults.pkey_type, PkeyType::Rsa2048);
        assert!(c.store.keep_private_keys);
        assert_eq!(c.crl.next_update_days, 7);
    }

    #[test]
    fn relative_store_path_is_taken_from_the_config_folder() {
        let c = p("[store]\npath = \"data\"\n").unwrap();
        assert_eq!(c.store.path, PathBuf::from("/etc/esa/data"));
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = err("[store]\nkeep_private_keys = true\npaht = \"x\"\n");
        assert!(
            e.starts_with("/etc/esa/config.toml:3: key `store.paht`"),
            "{e}"
        );
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let e = err("[defaults]\nvalidity_days = \"ten\"\n");
        assert!(e.contains(":2: key `defaults.validity_days`"), "{e}");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        assert!(err("[defaults]\nvalidity_days = 0\n").contains("out of range"));
        assert!(err("[defaults]\nvalidity_days = 3651\n").contains("out of range"));
        assert!(err("[ca]\nvalidity_days = -1\n").contains("out of range"));
        let e = err("[defaults]\npkey_type = \"DSA\"\n");
        assert!(
            e.contains("key `defaults.pkey_type`") && e.contains("unknown key type"),
            "{e}"
        );
    }

    #[test]
    fn a_quoted_bad_value_is_escaped_once() {
        let e = err("[ca]\nkey_type = \"a\\u001b[31mb\"\n");
        assert!(e.contains(r#"unknown key type "a\u{1b}[31mb";"#), "{e}");
    }

    #[test]
    fn duplicate_site_id_points_at_the_second() {
        let e = err("[[site]]\nid = 7\nname = \"a.com\"\n\n[[site]]\nid = 7\nname = \"b.com\"\n");
        assert!(
            e.contains(":6: key `site.id`: duplicate site id 7 (first declared on line 2)"),
            "{e}"
        );
    }

    #[test]
    fn site_needs_a_name_and_a_clean_one() {
        assert!(err("[[site]]\nid = 7\n").contains("missing field `name`"));
        assert!(err("[[site]]\nid = 7\nname = \"a\\u001bb\"\n").contains("control"));
        assert!(err("[[site]]\nid = -7\nname = \"a\"\n").contains("site.id"));
    }

    #[test]
    fn ca_name_longer_than_64_after_expansion_is_refused() {
        let long = "x".repeat(60);
        let e = err(&format!("[[site]]\nid = 7\nname = \"{long}\"\n"));
        assert!(
            e.contains("ca.common_name") || e.contains("expands to"),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_names_a_line() {
        let e = err("[store\n");
        assert!(e.starts_with("/etc/esa/config.toml:1:"), "{e}");
    }

    /// `[[site]]` tables for ids 1..=n, four lines each (the first on line 1).
    fn many_sites(n: u64) -> String {
        let mut text = String::new();
        for id in 1..=n {
            text.push_str(&format!(
                "[[site]]\nid = {id}\nname = \"s{id}.example\"\n\n"
            ));
        }
        text
    }

    #[test]
    fn a_config_of_20000_sites_loads_and_errors_at_its_end_name_the_right_line() {
        // Line numbers were computed by rescanning the file for every site
        // (quadratic: 24k sites took seconds); this checks they stay exact.
        let n = 20_000;
        let text = many_sites(n);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, &text).unwrap();
        let c = load(&file).unwrap();
        assert_eq!(c.sites.len(), n as usize);
        assert_eq!(c.sites[19_999].name, "s20000.example");
        // Site k's `id` is on line 4k - 2; one more table repeats site 19,999's.
        let dup = format!("{text}[[site]]\nid = 19999\nname = \"again.example\"\n");
        let e = err(&dup);
        assert!(
            e.contains(&format!(
                ":{}: key `site.id`: duplicate site id 19999 (first declared on line {})",
                4 * n + 2,
                4 * 19_999 - 2
            )),
            "{e}"
        );
        // A bad value in the last table.
        let bad = format!(
            "{text}[[site]]\nid = 20001\nname = \"x.example\"\nmax_client_certificates = -1\n"
        );
        let e = err(&bad);
        assert!(
            e.contains(&format!(
                ":{}: key `site.max_client_certificates`",
                4 * n + 4
            )),
            "{e}"
        );
    }

    #[test]
    fn line_numbers_of_offsets() {
        let text = "a\nbc\n\nd";
        let lines = LineIndex::new(text);
        for (offset, line) in [
            (0, 1),
            (1, 1),
            (2, 2),
            (4, 2),
            (5, 3),
            (6, 4),
            (7, 4),
            (99, 4),
        ] {
            assert_eq!(lines.line_of(offset), line, "offset {offset}");
        }
        assert_eq!(LineIndex::new("").line_of(0), 1);
        assert_eq!(LineIndex::new("x\n").line_of(2), 2);
    }

    #[test]
    fn first_run_writes_the_default_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        let (_, created) = load_or_init(&path).unwrap();
        assert!(created);
        std::fs::write(&path, "[[site]]\nid = 1\nname = \"mine.org\"\n").unwrap();
        let (c, created) = load_or_init(&path).unwrap();
        assert!(!created);
        assert_eq!(c.sites[0].name, "mine.org");
    }
}
