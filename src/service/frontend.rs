//! What a front end may ask the service besides the ESA operations: the
//! sites it declares, the defaults of the issue form, where things live.
//! These replace reaching into the config or the store, so the front
//! ends' whole view of a backend is the service's public API.

use std::path::{Path, PathBuf};

use super::{Service, store_err};
use crate::api::{IssueDefaults, SiteSummary};
use crate::config::{AccessKey, ServeConfig};
use crate::error::EsaResult;

impl Service {
    /// The sites of the config, in its order, without reading the store:
    /// counts are zero and the CA fields empty until a listing fills them.
    pub fn declared_sites(&self) -> Vec<SiteSummary> {
        self.config
            .sites
            .iter()
            .map(|s| SiteSummary {
                site_id: s.id,
                site_name: s.name.clone(),
                max_client_certificates: s.max_client_certificates,
                ..SiteSummary::default()
            })
            .collect()
    }

    pub fn issue_defaults(&self) -> IssueDefaults {
        IssueDefaults {
            validity_days: self.config.defaults.validity_days,
            pkey_type: self.config.defaults.pkey_type,
        }
    }

    /// `store.keep_private_keys`: whether a generated key can be exported
    /// again after the Create response.
    pub fn keeps_private_keys(&self) -> bool {
        self.config.store.keep_private_keys
    }

    /// The store's folder (the log goes under it).
    pub fn store_path(&self) -> &Path {
        self.store.root()
    }

    /// The config file this service was opened with.
    pub fn config_path(&self) -> &Path {
        &self.config.path
    }

    /// Where certificate `id`'s PEM lives, when it exists.
    pub fn certificate_path(&self, id: &str) -> Option<PathBuf> {
        let id = Self::parse_id(id).ok()?;
        self.store.get(id).ok().flatten().map(|e| e.cert_path())
    }

    /// The site's CA certificate PEM when the CA exists; never creates it
    /// (a copy key must not create a CA, unlike [`Service::ca_pem`]).
    pub fn existing_ca_pem(&self, site_id: u64) -> EsaResult<Option<String>> {
        self.site(site_id)?;
        self.store.ca_cert_pem(site_id).map_err(store_err)
    }

    /// The sites of the config whose CA exists, in config order.
    pub fn sites_with_ca(&self) -> EsaResult<Vec<u64>> {
        let mut out = Vec::new();
        for s in &self.config.sites {
            if self.store.ca_meta(s.id).map_err(store_err)?.is_some() {
                out.push(s.id);
            }
        }
        Ok(out)
    }

    /// True when `[ca] protect_key = true` but the site's existing CA key is
    /// still stored in plaintext (made before the option was set): it is
    /// used all the same, and the operator should run `rekey-protect`.
    pub fn ca_key_left_plaintext(&self, site_id: u64) -> bool {
        self.config.ca.protect_key
            && self.ca_key_protected(site_id) == Ok(false)
            && self.store.ca_meta(site_id).ok().flatten().is_some()
    }

    /// The `[serve]` table and the `[[access_key]]` tables, for `serve`.
    pub fn serve_settings(&self) -> (&ServeConfig, &[AccessKey]) {
        (&self.config.serve, &self.config.access_keys)
    }
}
