//! The site CAs this process has loaded, kept while their files stay the
//! same: a create used to read the CA's three files, parse its metadata
//! (twice: the early check and the commit), decode and check its key and
//! parse its certificate for every group, and decrypt the key with PBKDF2
//! when it is protected at rest.
//!
//! An entry is used only while [`crate::store::Store::ca_stamp`] (device,
//! inode, size and times of the three files) is what it was when the
//! files were read; under the write lock no other writer can change them
//! between that check and the use. An entry whose key was encrypted is
//! also dropped whenever the front end sets or forgets the CA passphrase,
//! so a passphrase change is checked against the key file as before.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::pki::SiteCa;
use crate::store::{CaMeta, CaStamp};

#[derive(Default)]
pub(super) struct CaCache {
    sites: Mutex<HashMap<u64, Entry>>,
    /// Moves whenever the passphrase is set or forgotten.
    passphrase_epoch: AtomicU64,
}

impl std::fmt::Debug for CaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaCache([redacted])")
    }
}

#[derive(Clone)]
struct Entry {
    stamp: CaStamp,
    ca: Arc<SiteCa>,
    meta: CaMeta,
    /// `Some(epoch)` when the key was decrypted with the passphrase of
    /// that epoch.
    protected: Option<u64>,
}

/// What a load is about to record: the stamp it read under and the
/// passphrase epoch it started in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Loading {
    stamp: CaStamp,
    epoch: u64,
}

impl CaCache {
    fn sites(&self) -> MutexGuard<'_, HashMap<u64, Entry>> {
        // Entries are replaced whole: a panic elsewhere leaves none torn.
        self.sites
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn valid(&self, e: &Entry, stamp: &CaStamp) -> bool {
        e.stamp == *stamp
            && e.protected
                .is_none_or(|epoch| epoch == self.passphrase_epoch.load(Ordering::SeqCst))
    }

    /// The CA of `site` if it was loaded from files that still carry
    /// `stamp`.
    pub fn get(&self, site: u64, stamp: &CaStamp) -> Option<(Arc<SiteCa>, CaMeta)> {
        let sites = self.sites();
        let e = sites.get(&site).filter(|e| self.valid(e, stamp))?;
        Some((e.ca.clone(), e.meta.clone()))
    }

    /// The metadata of `site`'s CA if it was loaded from files that still
    /// carry `stamp`.
    pub fn meta(&self, site: u64, stamp: &CaStamp) -> Option<CaMeta> {
        let sites = self.sites();
        sites
            .get(&site)
            .filter(|e| e.stamp == *stamp)
            .map(|e| e.meta.clone())
    }

    /// Starts a load of files that carry `stamp` (taken before reading
    /// them: a change while they are read makes the entry stale, never
    /// wrong).
    pub fn loading(&self, stamp: CaStamp) -> Loading {
        Loading {
            stamp,
            epoch: self.passphrase_epoch.load(Ordering::SeqCst),
        }
    }

    /// Records a loaded CA.
    pub fn put(&self, site: u64, l: Loading, ca: Arc<SiteCa>, meta: CaMeta, protected: bool) {
        self.sites().insert(
            site,
            Entry {
                stamp: l.stamp,
                ca,
                meta,
                protected: protected.then_some(l.epoch),
            },
        );
    }

    /// The passphrase was set or forgotten: keys it decrypted are loaded
    /// again (and so checked against it) on their next use.
    pub fn passphrase_changed(&self) {
        self.passphrase_epoch.fetch_add(1, Ordering::SeqCst);
        self.sites().retain(|_, e| e.protected.is_none());
    }
}

#[cfg(test)]
mod tests {
    use crate::api::{CreateRequest, Secret};
    use crate::error::ErrorCode;
    use crate::service::Service;
    use zeroize::Zeroizing;

    fn service(ca: &str) -> (tempfile::TempDir, Service) {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[store]\npath = \"store\"\n[ca]\nkey_type = \"ECC_256\"\n{ca}\n[[site]]\nid = 1\nname = \"a.example\"\n"
        );
        let cfg = crate::config::parse(&text, &dir.path().join("config.toml")).unwrap();
        (dir, Service::open(cfg).unwrap())
    }

    fn create(s: &Service, days: &str) -> Result<String, ErrorCode> {
        let req = CreateRequest {
            site_id: Some("1".into()),
            validity_days: Some(days.into()),
            pkey_type: Some("ECC_256".into()),
            ..CreateRequest::default()
        };
        s.create(&req).map(|r| r.id).map_err(|e| e.code)
    }

    fn pass(p: &str) -> Secret {
        Secret(Zeroizing::new(p.to_owned()))
    }

    #[test]
    fn a_ca_file_changed_under_the_cache_is_read_again() {
        let (dir, s) = service("validity_days = 100");
        create(&s, "90").unwrap();
        create(&s, "90").unwrap();
        // An operator shortens the CA's recorded end in place (same inode).
        let meta = dir.path().join("store/sites/1/ca/ca.toml");
        let text = std::fs::read_to_string(&meta).unwrap();
        let end = text
            .lines()
            .find_map(|l| l.strip_prefix("not_after = "))
            .unwrap()
            .to_owned();
        let soon = crate::base::clock::esa_time(
            crate::base::clock::now_seconds() + time::Duration::days(10),
        );
        let edited = text.replace(&end, &format!("\"{soon}\"")) + "# shortened\n";
        std::fs::write(&meta, edited).unwrap();
        assert_eq!(create(&s, "90"), Err(ErrorCode::InvalidValidityDays));
    }

    #[test]
    fn a_protected_key_is_checked_again_when_the_passphrase_changes() {
        let (_d, s) = service("protect_key = true");
        s.set_ca_passphrase(pass("correct horse battery staple"))
            .unwrap();
        create(&s, "5").unwrap();
        create(&s, "5").unwrap();
        s.set_ca_passphrase(pass("not the passphrase")).unwrap();
        assert_eq!(create(&s, "5"), Err(ErrorCode::CaPassphrase));
        s.clear_ca_passphrase();
        assert_eq!(create(&s, "5"), Err(ErrorCode::CaPassphrase));
        s.set_ca_passphrase(pass("correct horse battery staple"))
            .unwrap();
        create(&s, "5").unwrap();
    }
}
