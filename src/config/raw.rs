//! The file as serde reads it: every table with `deny_unknown_fields`, each
//! value checked (ranges, key types, printable names) where it is parsed so
//! the error carries the value's span.

use serde::Deserialize;
use serde::de::{self, Deserializer};
use toml::Spanned;

use super::{MAX_CA_VALIDITY_DAYS, MAX_VALIDITY_DAYS};
use crate::pki::PkeyType;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) store: RawStore,
    #[serde(default)]
    pub(super) ca: RawCa,
    #[serde(default)]
    pub(super) crl: RawCrl,
    #[serde(default)]
    pub(super) defaults: RawDefaults,
    #[serde(default)]
    pub(super) site: Vec<RawSite>,
    #[serde(default)]
    pub(super) serve: RawServe,
    #[serde(default)]
    pub(super) access_key: Vec<RawAccessKey>,
    #[serde(default)]
    pub(super) remote: Vec<RawRemote>,
}

/// `[serve]`: defaults of `esa-certs serve`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    #[serde(default)]
    pub(super) listen: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "non_empty_opt")]
    pub(super) tls_cert: Option<String>,
    #[serde(default, deserialize_with = "non_empty_opt")]
    pub(super) tls_key: Option<String>,
}

/// `[[access_key]]`: a key the server accepts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccessKey {
    pub(super) id: Spanned<String>,
    pub(super) secret_file: Spanned<String>,
}

/// `[[remote]]`: an ESA endpoint the desk can drive.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRemote {
    pub(super) name: Spanned<String>,
    pub(super) endpoint: Spanned<String>,
    #[serde(default)]
    pub(super) access_key_id: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "non_empty_opt")]
    pub(super) access_key_secret_file: Option<String>,
    #[serde(default, deserialize_with = "non_empty_opt")]
    pub(super) ca_file: Option<String>,
    #[serde(default)]
    pub(super) keep_private_keys: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    #[serde(default, deserialize_with = "non_empty_opt")]
    pub(super) path: Option<String>,
    #[serde(default = "yes")]
    pub(super) keep_private_keys: bool,
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
pub(super) struct RawCa {
    #[serde(default = "default_ca_cn")]
    pub(super) common_name: Spanned<CaTemplate>,
    #[serde(default = "default_ca_key", deserialize_with = "pkey_type")]
    pub(super) key_type: PkeyType,
    #[serde(default = "default_ca_days", deserialize_with = "ca_days")]
    pub(super) validity_days: u32,
    #[serde(default)]
    pub(super) protect_key: bool,
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
pub(super) struct CaTemplate(pub(super) String);

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
pub(super) struct RawCrl {
    #[serde(default = "default_crl_days", deserialize_with = "crl_days")]
    pub(super) next_update_days: u32,
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
pub(super) struct RawDefaults {
    #[serde(default = "default_leaf_days", deserialize_with = "leaf_days")]
    pub(super) validity_days: u32,
    #[serde(default = "default_leaf_key", deserialize_with = "pkey_type")]
    pub(super) pkey_type: PkeyType,
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
pub(super) struct RawSite {
    pub(super) id: Spanned<u64>,
    pub(super) name: Spanned<SiteName>,
    #[serde(default, deserialize_with = "quota")]
    pub(super) max_client_certificates: Option<u64>,
}

pub(super) struct SiteName(pub(super) String);

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
