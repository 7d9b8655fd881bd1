//! Site CA keys encrypted at rest (`[ca] protect_key = true`) and where
//! their passphrase comes from.
//!
//! Sources, in order: a passphrase the front end set
//! ([`Service::set_ca_passphrase`], e.g. the TUI after asking for it), the
//! file named by `ESA_CERTS_CA_PASSPHRASE_FILE`, then the front end's
//! prompt ([`Service::set_passphrase_prompt`]; the CLI asks on the
//! terminal). With none of them, or a passphrase that does not decrypt the
//! key, the operation fails with `InvalidParameter.CAPassphrase` before it
//! changes anything. One passphrase is kept per [`Service`] (shared by its
//! clones) in a zeroizing buffer; a wrong one is forgotten at once so the
//! front end can ask again.

use crate::base::limits::MAX_PASSPHRASE_CHARS;
use std::io::Read;
use std::sync::{Arc, Mutex};

use zeroize::Zeroizing;

use super::{Service, store_err};
use crate::api::Secret;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{self, SiteCa, UnprotectError};
use crate::store::{self, CaMeta};
use crate::text::sanitize;

/// The environment variable naming a file that holds the CA passphrase
/// (its content, one trailing newline stripped).
pub const CA_PASSPHRASE_ENV: &str = "ESA_CERTS_CA_PASSPHRASE_FILE";

/// Why a front end is asked for a passphrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassphrasePurpose {
    /// To open an existing encrypted CA key (ask once).
    Unlock,
    /// To encrypt a new CA key (ask twice, to catch typos).
    New,
}

/// A front end's way to ask for a passphrase. `Ok(None)`: it cannot ask
/// (no terminal); the service then reports `InvalidParameter.CAPassphrase`.
pub type PassphrasePrompt =
    dyn Fn(u64, PassphrasePurpose) -> EsaResult<Option<Secret>> + Send + Sync;

#[derive(Default)]
pub(super) struct Passphrases {
    known: Mutex<Option<Secret>>,
    prompt: Mutex<Option<Arc<PassphrasePrompt>>>,
}

impl std::fmt::Debug for Passphrases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrases([redacted])")
    }
}

pub(super) fn passphrase_error(msg: impl Into<String>) -> EsaError {
    EsaError::new(ErrorCode::CaPassphrase, msg)
}

/// Checks a CA passphrase: not empty, at most [`MAX_PASSPHRASE_CHARS`], no
/// control characters. Messages never quote it.
pub fn check_ca_passphrase(p: &str) -> EsaResult<()> {
    if p.is_empty() {
        return Err(passphrase_error("the CA passphrase is empty"));
    }
    if p.chars().count() > MAX_PASSPHRASE_CHARS {
        return Err(passphrase_error(format!(
            "the CA passphrase is longer than {MAX_PASSPHRASE_CHARS} characters"
        )));
    }
    if p.chars().any(char::is_control) {
        return Err(passphrase_error(
            "the CA passphrase contains control characters (one trailing newline is stripped)",
        ));
    }
    Ok(())
}

/// Reads a passphrase file: its content with one trailing `\n` or `\r\n`
/// stripped (what `openssl -passin file:` uses for a one-line file).
pub fn read_passphrase_file(path: &std::path::Path) -> EsaResult<Secret> {
    let shown = sanitize(&path.display().to_string());
    let limit = 4 * MAX_PASSPHRASE_CHARS as u64 + 2;
    let mut raw = Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut raw))
        .map_err(|e| {
            passphrase_error(format!("cannot read the CA passphrase file {shown}: {e}"))
        })?;
    if raw.len() as u64 > limit {
        return Err(passphrase_error(format!(
            "the CA passphrase file {shown} is too big for a passphrase"
        )));
    }
    let text = std::str::from_utf8(&raw).map_err(|_| {
        passphrase_error(format!("the CA passphrase file {shown} is not UTF-8 text"))
    })?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    let secret = Secret(Zeroizing::new(text.to_owned()));
    check_ca_passphrase(secret.expose())
        .map_err(|e| passphrase_error(format!("{shown}: {}", e.message)))?;
    Ok(secret)
}

impl Service {
    /// Supplies the CA passphrase (for this service and its clones), e.g.
    /// after the TUI asked for it because an operation failed with
    /// `InvalidParameter.CAPassphrase`. Retry the operation afterwards.
    pub fn set_ca_passphrase(&self, passphrase: Secret) -> EsaResult<()> {
        check_ca_passphrase(passphrase.expose())?;
        *self.lock_known() = Some(passphrase);
        self.ca_cache.passphrase_changed();
        Ok(())
    }

    /// Forgets the CA passphrase (the buffer is zeroized) and the CA keys
    /// it opened.
    pub fn clear_ca_passphrase(&self) {
        *self.lock_known() = None;
        self.ca_cache.passphrase_changed();
    }

    /// Installs the front end's prompt (the CLI asks on the terminal).
    pub fn set_passphrase_prompt(&self, prompt: Arc<PassphrasePrompt>) {
        if let Ok(mut p) = self.passphrases.prompt.lock() {
            *p = Some(prompt);
        }
    }

    /// Whether the site's CA key is stored encrypted. `false` when the CA
    /// does not exist yet.
    pub fn ca_key_protected(&self, site_id: u64) -> EsaResult<bool> {
        // Read as every store file is: bounded, never through a link.
        match self.store.ca_key_pem(site_id) {
            Ok(Some(text)) => Ok(pki::is_protected(&text)),
            Ok(None) => Ok(false),
            Err(e) => Err(EsaError::internal(format!(
                "cannot read the CA key of site {site_id}: {e}"
            ))),
        }
    }

    /// Whether an operation that signs for this site would need a
    /// passphrase that the service does not have yet: the TUI can ask
    /// before starting the operation instead of after it failed.
    pub fn needs_ca_passphrase(&self, site_id: u64) -> EsaResult<bool> {
        let will_encrypt =
            self.config.ca.protect_key && self.store.ca_meta(site_id).map_err(store_err)?.is_none();
        let protected = will_encrypt || self.ca_key_protected(site_id)?;
        Ok(protected
            && self.lock_known().is_none()
            && std::env::var_os(CA_PASSPHRASE_ENV).is_none())
    }

    pub(super) fn known_passphrase(&self) -> Option<Secret> {
        self.lock_known().clone()
    }

    fn lock_known(&self) -> std::sync::MutexGuard<'_, Option<Secret>> {
        // A panic elsewhere cannot leave a half-written Option: recover it.
        self.passphrases
            .known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The passphrase from the first source that has one.
    pub(super) fn ca_passphrase(
        &self,
        site_id: u64,
        purpose: PassphrasePurpose,
    ) -> EsaResult<Secret> {
        if let Some(p) = self.lock_known().clone() {
            return Ok(p);
        }
        if let Some(path) = std::env::var_os(CA_PASSPHRASE_ENV).filter(|p| !p.is_empty()) {
            let p = read_passphrase_file(std::path::Path::new(&path))?;
            *self.lock_known() = Some(p.clone());
            return Ok(p);
        }
        let prompt = self.passphrases.prompt.lock().ok().and_then(|p| p.clone());
        if let Some(prompt) = prompt
            && let Some(p) = prompt(site_id, purpose)?
        {
            check_ca_passphrase(p.expose())?;
            *self.lock_known() = Some(p.clone());
            return Ok(p);
        }
        Err(passphrase_error(format!(
            "the CA key of site {site_id} is encrypted at rest ([ca] protect_key) and no passphrase \
             is available: set {CA_PASSPHRASE_ENV} to a file holding it, run on a terminal, or enter it in the TUI"
        )))
    }

    /// The plaintext PKCS#8 PEM of a stored CA key, decrypting it if needed.
    fn open_ca_key(&self, site_id: u64, key_pem: &str) -> EsaResult<Zeroizing<String>> {
        if !pki::is_protected(key_pem) {
            return Ok(Zeroizing::new(key_pem.to_owned()));
        }
        let pass = self.ca_passphrase(site_id, PassphrasePurpose::Unlock)?;
        match pki::unprotect(key_pem, pass.expose()) {
            Ok(k) => Ok(k),
            Err(UnprotectError::WrongPassphrase) => {
                self.clear_ca_passphrase();
                tracing::warn!(site = site_id, "wrong CA passphrase");
                Err(passphrase_error(format!(
                    "the passphrase does not decrypt the CA key of site {site_id}; nothing was changed"
                )))
            }
            Err(e) => Err(EsaError::internal(format!(
                "the CA key of site {site_id} ({}) is unreadable: {e}",
                self.store.ca_key_path(site_id).display()
            ))),
        }
    }

    /// Loads a stored site CA for signing (decrypting its key if needed);
    /// kept while its files stay the same (see `cacache`).
    pub(super) fn load_site_ca(&self, site_id: u64) -> EsaResult<Option<(Arc<SiteCa>, CaMeta)>> {
        // A stamp that cannot be taken only means no caching: the read
        // below reports what is wrong with the files.
        let stamp = self.store.ca_stamp(site_id).ok().flatten();
        if let Some(stamp) = &stamp
            && let Some(hit) = self.ca_cache.get(site_id, stamp)
        {
            return Ok(Some(hit));
        }
        let loading = stamp.map(|s| self.ca_cache.loading(s));
        let Some(stored) = self.store.load_ca(site_id).map_err(store_err)? else {
            return Ok(None);
        };
        let protected = pki::is_protected(&stored.key_pem);
        let key = self.open_ca_key(site_id, &stored.key_pem)?;
        let ca = SiteCa::load(&stored.cert_pem, &key).map_err(|e| {
            EsaError::internal(format!(
                "the CA of site {site_id} in {} is unusable: {e}",
                stored.dir.display()
            ))
        })?;
        let ca = Arc::new(ca);
        if let Some(l) = loading {
            self.ca_cache
                .put(site_id, l, ca.clone(), stored.meta.clone(), protected);
        }
        Ok(Some((ca, stored.meta)))
    }

    /// The stored CA's metadata, from the loaded CA while its files are
    /// unchanged.
    pub(super) fn site_ca_meta(&self, site_id: u64) -> EsaResult<Option<CaMeta>> {
        if let Some(stamp) = self.store.ca_stamp(site_id).ok().flatten()
            && let Some(meta) = self.ca_cache.meta(site_id, &stamp)
        {
            return Ok(Some(meta));
        }
        self.store.ca_meta(site_id).map_err(store_err)
    }

    /// The key PEM to store for a new CA: encrypted when `protect_key`.
    pub(super) fn key_for_storage(
        &self,
        site_id: u64,
        key_pem: &str,
    ) -> EsaResult<Zeroizing<String>> {
        if !self.config.ca.protect_key {
            return Ok(Zeroizing::new(key_pem.to_owned()));
        }
        let pass = self.ca_passphrase(site_id, PassphrasePurpose::New)?;
        pki::protect(key_pem, pass.expose()).map_err(super::pki_err)
    }

    /// `ca rekey-protect`: encrypts the CA keys of `sites` under `new` (a
    /// plaintext key is encrypted; an encrypted one is opened with the
    /// current passphrase and re-encrypted). Every key is opened and
    /// checked first, under one hold of the lock, so a key that cannot be
    /// opened changes nothing at all; then the run is recorded (see
    /// `store::rekey`) and each file is replaced by rename, 0600. A run
    /// that was cut short is finished by the next: the sites it already
    /// re-encrypted are checked to open under `new` and left as they are.
    /// Returns, per site, whether its key was plaintext before.
    pub fn rekey_protect(&self, sites: &[u64], new: &Secret) -> EsaResult<Vec<bool>> {
        for &site_id in sites {
            self.site(site_id)?;
        }
        check_ca_passphrase(new.expose())?;
        let lock = self.lock()?;
        let finished = self.interrupted_rekey(sites)?;
        let mut was_plain_by_site = Vec::with_capacity(sites.len());
        let mut sealed = Vec::with_capacity(sites.len());
        for &site_id in sites {
            let Some(stored) = self.store.load_ca(site_id).map_err(store_err)? else {
                return Err(EsaError::new(
                    ErrorCode::InvalidParameter,
                    format!(
                        "site {site_id} has no CA yet; it is created (protected, with protect_key = true) on first use"
                    ),
                ));
            };
            if finished.contains(&site_id) {
                let key = match pki::unprotect(&stored.key_pem, new.expose()) {
                    Ok(k) => k,
                    Err(UnprotectError::WrongPassphrase) => {
                        return Err(passphrase_error(format!(
                            "the interrupted rekey-protect already re-encrypted the CA key of site {site_id}, \
                             under another passphrase than the new one given: give that one as the new passphrase; nothing was changed"
                        )));
                    }
                    Err(e) => {
                        return Err(EsaError::internal(format!(
                            "the CA key of site {site_id} is unreadable: {e}"
                        )));
                    }
                };
                SiteCa::load(&stored.cert_pem, &key).map_err(|e| {
                    EsaError::internal(format!("the CA of site {site_id} is unusable: {e}"))
                })?;
                was_plain_by_site.push(false);
                continue;
            }
            let was_plain = !pki::is_protected(&stored.key_pem);
            let key = self.open_ca_key(site_id, &stored.key_pem)?;
            // Never write a key that does not belong to the certificate.
            SiteCa::load(&stored.cert_pem, &key).map_err(|e| {
                EsaError::internal(format!("the CA of site {site_id} is unusable: {e}"))
            })?;
            let key = pki::protect(&key, new.expose()).map_err(super::pki_err)?;
            let old_sha256 = store::key_digest(&stored.key_pem);
            sealed.push((site_id, stored.meta, key, was_plain, old_sha256));
            was_plain_by_site.push(was_plain);
        }
        let records = sealed
            .iter()
            .map(|(site_id, meta, _, was_plain, _)| {
                store::audit_record(
                    "ca-protect",
                    *site_id,
                    &meta.id,
                    &meta.serial,
                    Some(
                        if *was_plain {
                            "encrypted"
                        } else {
                            "re-encrypted"
                        }
                        .into(),
                    ),
                )
            })
            .collect();
        self.audit(&lock, records)?;
        let journal = store::RekeyJournal {
            started: crate::base::clock::esa_time(crate::base::clock::now_seconds()),
            sites: sealed
                .iter()
                .map(|(site_id, _, key, _, old_sha256)| store::RekeySite {
                    site_id: *site_id,
                    old_sha256: old_sha256.clone(),
                    new_sha256: store::key_digest(key),
                })
                .collect(),
        };
        self.store
            .write_rekey_journal(&lock, &journal)
            .map_err(store_err)?;
        for (n, (site_id, _, key, was_plain, _)) in sealed.iter().enumerate() {
            self.store
                .replace_ca_key(&lock, *site_id, key)
                .map_err(store_err)?;
            tracing::info!(site = site_id, was_plain, "protected the CA key");
            if n == 0 {
                crate::base::fail::point("rekey-protect-after-first-site");
            }
        }
        self.store.clear_rekey_journal(&lock).map_err(store_err)?;
        *self.lock_known() = Some(new.clone());
        Ok(was_plain_by_site)
    }

    /// The sites an interrupted `rekey-protect` already finished. Its
    /// unfinished sites must all be part of this run (else it could never
    /// be told apart from a fresh one).
    fn interrupted_rekey(&self, sites: &[u64]) -> EsaResult<Vec<u64>> {
        let Some(journal) = self.store.rekey_journal().map_err(store_err)? else {
            return Ok(Vec::new());
        };
        let progress = self.store.rekey_progress(&journal);
        let left_out: Vec<u64> = progress
            .iter()
            .filter(|(s, state)| *state != store::RekeyState::Done && !sites.contains(s))
            .map(|(s, _)| *s)
            .collect();
        if !left_out.is_empty() {
            return Err(EsaError::new(
                ErrorCode::InvalidParameter,
                format!(
                    "an interrupted `ca rekey-protect` left the CA keys of site(s) {left_out:?} under the old passphrase: \
                     finish it first (the same command again, e.g. with --all); nothing was changed"
                ),
            ));
        }
        Ok(progress
            .into_iter()
            .filter(|(_, state)| *state == store::RekeyState::Done)
            .map(|(s, _)| s)
            .collect())
    }
}

/// Shared state created with the service.
pub(super) fn new_passphrases() -> Arc<Passphrases> {
    Arc::new(Passphrases::default())
}
