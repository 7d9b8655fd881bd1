//! The ESA operations (Create/List/Get/Revoke/Activate/Delete client
//! certificates, the site CA and its CRL) over the config, the PKI layer and
//! the store. The CLI and the TUI call only this: every rule and every error
//! code lives here once.

mod audit;
mod backend;
mod bulk;
mod ca;
mod cacache;
mod cafamily;
mod create;
mod doctor;
mod export;
mod frontend;
mod group;
mod lifecycle;
mod protect;
mod read;
mod renew;

pub use audit::{AuditEntry, AuditQuery, AuditResponse, SkippedLine, parse_since};
pub use backend::MAX_PAGE_SIZE;
pub use bulk::{BATCH, MAX_COUNT, numbered};
pub use cafamily::BindingTarget;
pub use create::{KeyChoice, ValidRequest};
pub use doctor::{DoctorReport, Finding, Severity};
pub use export::{ExportWhat, check_p12_password};
pub use group::PreparedCreate;
pub use protect::{
    CA_PASSPHRASE_ENV, PassphrasePrompt, PassphrasePurpose, check_ca_passphrase,
    read_passphrase_file,
};

use crate::api::{Facts, Lifecycle, ListResponse, Status};
use crate::base::clock::{self, now_seconds};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::config::{Config, Site};
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::PkiError;
use crate::store::{self, CertMeta, Damaged, Entry, Store, StoreError, StoredStatus, WriteLock};

/// The status of a stored certificate at `now` (expiry derived from its
/// NotAfter), by the rule in [`Status::derive`].
pub(crate) fn status_of(meta: &CertMeta, now: OffsetDateTime) -> Status {
    Status::derive(
        meta.status == StoredStatus::Revoked,
        clock::parse_esa_time(&meta.not_after),
        now,
    )
}

/// Refuses `op` on a stored certificate with `Certificate.StatusError`
/// when the lifecycle rules forbid it (the sentence is the rule's own, the
/// one the TUI shows).
pub(crate) fn check_lifecycle(
    op: Lifecycle,
    meta: &CertMeta,
    now: OffsetDateTime,
    live_successor: Option<&str>,
) -> EsaResult<()> {
    let facts = Facts {
        status: status_of(meta, now),
        revoked_on_record: meta.status == StoredStatus::Revoked,
        live_successor,
    };
    match op.refusal(facts) {
        None => Ok(()),
        Some(why) => Err(EsaError::new(
            ErrorCode::StatusError,
            format!("certificate {}: {why}", meta.id),
        )),
    }
}

/// Filters of ListClientCertificates (ESA has none; these are local).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub site_id: Option<u64>,
    pub status: Option<Status>,
    /// Only active certificates whose NotAfter is within this many days.
    pub expiring_within: Option<u32>,
}

impl ListQuery {
    /// Whether a certificate of this status and NotAfter (ESA time text)
    /// belongs in the answer: the one filter of every listing, local or
    /// paged from a remote.
    pub fn admits(&self, status: Status, not_after: &str, now: time::OffsetDateTime) -> bool {
        self.status.is_none_or(|s| status == s)
            && self.expiring_within.is_none_or(|d| {
                crate::base::clock::parse_esa_time(not_after)
                    .is_some_and(|na| crate::api::expiring_within(status, na, now, i64::from(d)))
            })
    }
}

/// A listing plus what could not be read (reported, never fatal).
#[derive(Debug, Clone)]
pub struct ListOutcome {
    pub response: ListResponse,
    pub damaged: Vec<Damaged>,
}

/// The service. Cheap to clone; safe to move to a worker thread.
#[derive(Debug, Clone)]
pub struct Service {
    config: Arc<Config>,
    /// The input rules' view of the config (built once: the TUI's form
    /// checks a field on every key).
    rules: Arc<crate::api::InputRules>,
    store: Store,
    passphrases: Arc<protect::Passphrases>,
    /// Writes of this process: every write holds a [`ServiceLock`].
    writes: Arc<backend::Writes>,
    /// Site CAs loaded, while their files are unchanged.
    ca_cache: Arc<cacache::CaCache>,
}

/// The store's write lock as the service holds it: counts the write in
/// and out, so the page cache of ListClientCertificates never serves what
/// a write of this process has changed (see [`backend`]).
pub(crate) struct ServiceLock {
    lock: WriteLock,
    writes: Arc<backend::Writes>,
}

impl std::ops::Deref for ServiceLock {
    type Target = WriteLock;
    fn deref(&self) -> &WriteLock {
        &self.lock
    }
}

impl Drop for ServiceLock {
    fn drop(&mut self) {
        self.writes.end();
    }
}

pub(crate) fn store_err(e: StoreError) -> EsaError {
    tracing::error!(error = %e, "store failure");
    EsaError::new(ErrorCode::InternalException, format!("store: {e}"))
}

pub(crate) fn pki_err(e: PkiError) -> EsaError {
    match e {
        PkiError::Csr(reason) => {
            EsaError::new(ErrorCode::InvalidCsr, format!("invalid CSR: {reason}"))
        }
        PkiError::Date(e) => EsaError::from(e),
        other => {
            tracing::error!(error = %other, "pki failure");
            EsaError::new(ErrorCode::InternalException, other.to_string())
        }
    }
}

impl Service {
    /// Opens the store named by the config (creating it on first use).
    pub fn open(config: Config) -> EsaResult<Service> {
        let store = Store::open(&config.store.path).map_err(store_err)?;
        let rules = crate::api::InputRules {
            sites: config
                .sites
                .iter()
                .map(|s| crate::api::SiteRef {
                    id: s.id,
                    name: s.name.clone(),
                })
                .collect(),
            defaults: crate::api::IssueDefaults {
                validity_days: config.defaults.validity_days,
                pkey_type: config.defaults.pkey_type,
            },
        };
        Ok(Service {
            rules: Arc::new(rules),
            config: Arc::new(config),
            store,
            passphrases: protect::new_passphrases(),
            writes: Arc::default(),
            ca_cache: Arc::default(),
        })
    }

    #[cfg(test)]
    pub fn config(&self) -> &Config {
        &self.config
    }

    #[cfg(test)]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Takes the store's write lock and repairs what a crashed writer may
    /// have left: a CRL that was marked for regeneration but not rewritten.
    pub(crate) fn lock(&self) -> EsaResult<ServiceLock> {
        self.writes.begin();
        let lock = ServiceLock {
            lock: self
                .store
                .lock()
                .inspect_err(|_| self.writes.end())
                .map_err(store_err)?,
            writes: self.writes.clone(),
        };
        for site in self.store.sites_with_stale_crl().map_err(store_err)? {
            tracing::warn!(
                site,
                "regenerating a CRL left stale by an interrupted writer"
            );
            self.regenerate_crl(&lock, site, now_seconds())?;
        }
        Ok(lock)
    }

    /// Lists entries for a reader: under the shared lock, then, if an index
    /// had to be bypassed, rebuilds it when no writer is busy.
    fn read_listing(&self, site: Option<u64>) -> EsaResult<store::Listing> {
        self.read_listing_with(|store| store.list(site))
    }

    /// [`Service::read_listing`] of the given sites only, in that order.
    fn read_listing_of(&self, sites: &[u64]) -> EsaResult<store::Listing> {
        self.read_listing_with(|store| Ok(store.list_sites(sites)))
    }

    fn read_listing_with(
        &self,
        list: impl FnOnce(&Store) -> Result<store::Listing, store::StoreError>,
    ) -> EsaResult<store::Listing> {
        let listing = {
            let _shared = self.store.read_lock().map_err(store_err)?;
            list(&self.store).map_err(store_err)?
        };
        if !listing.stale_index.is_empty()
            && let Ok(Some(lock)) = self.store.try_lock()
        {
            {
                for &s in &listing.stale_index {
                    if let Err(e) = self.store.rebuild_index(&lock, s) {
                        tracing::warn!(site = s, error = %e, "could not rebuild the index");
                    }
                }
            }
        }
        Ok(listing)
    }

    fn site(&self, site_id: u64) -> EsaResult<&Site> {
        self.config.site(site_id).ok_or_else(|| {
            crate::api::input::unknown_site(site_id, &self.config.path.display().to_string())
        })
    }

    fn site_name(&self, site_id: u64) -> String {
        self.config
            .site(site_id)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }

    fn parse_id(id: &str) -> EsaResult<&str> {
        let id = id.trim();
        store::check_id(id).map_err(|_| {
            EsaError::new(
                ErrorCode::InvalidId,
                format!(
                    "{} is not a certificate Id (32 lower-case hex digits)",
                    crate::text::quoted(&crate::text::clip(id, 40))
                ),
            )
        })?;
        Ok(id)
    }

    fn entry(&self, id: &str) -> EsaResult<Entry> {
        let id = Self::parse_id(id)?;
        self.store.get(id).map_err(store_err)?.ok_or_else(|| {
            EsaError::new(ErrorCode::InvalidId, format!("no certificate with Id {id}"))
        })
    }

    /// A stamp that changes whenever this or another process publishes a
    /// change to the store (issue, revoke, activate, delete, a new CA). It
    /// costs a few `stat` calls, so a front end can poll it and re-list only
    /// when it moved.
    pub fn change_stamp(&self) -> EsaResult<u64> {
        self.store.change_stamp().map_err(store_err)
    }

    /// What the store had to say to the user since the last call (e.g.
    /// that it read without the lock on a read-only store); the CLI prints
    /// these on stderr.
    pub fn take_warnings(&self) -> Vec<String> {
        self.store.take_warnings()
    }
}
