//! Certificate entries: find, update, delete, list (publishing new ones
//! is `publish`).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::Path;

use zeroize::Zeroizing;

use super::index::{Cached, Record, Stamp};
use super::journal::{Intent, Op};
use super::{
    CertMeta, Damaged, Entry, FILE_MODE_PRIVATE, Listing, Store, StoreError, WriteLock, check_id,
    create_private_dir_all, fsutil, io_err, read_text, read_toml, replace, toml_bytes,
};

impl Store {
    /// Finds a live (not deleted) certificate by id.
    pub fn get(&self, id: &str) -> Result<Option<Entry>, StoreError> {
        check_id(id)?;
        for site in self.site_ids()? {
            let folder = self.certs_dir(site);
            let path = folder.join(format!("{id}.toml"));
            if path.exists() {
                let meta: CertMeta = read_toml(&path)?;
                return Ok(Some(Entry {
                    meta,
                    folder: folder.into(),
                }));
            }
        }
        Ok(None)
    }

    /// Replaces an entry's `.toml` (atomically, by rename).
    pub fn update(&self, _lock: &WriteLock, entry: &Entry) -> Result<(), StoreError> {
        let p = entry.meta_path();
        self.settled(|| {
            let intent = Intent::write(
                &self.intents,
                &self.tmp_dir(),
                Op::Upd,
                &[(entry.meta.site_id, &entry.meta.id)],
            )?;
            replace(&p, &toml_bytes(&entry.meta)?, FILE_MODE_PRIVATE)
                .map_err(io_err("write", &p))?;
            intent.done()
        })?;
        if let Some(stamp) = stamp_of(&p) {
            let record = Record::Put {
                meta: Box::new(entry.meta.clone()),
                stamp,
            };
            self.index.append(entry.meta.site_id, &[record]);
        }
        Ok(())
    }

    /// Moves an entry to `deleted/` (so its serial stays on the CRL until it
    /// expires) and destroys its private key. The `.toml` moves first: from
    /// that instant the entry is deleted, and recovery finishes the rest.
    pub fn delete(&self, _lock: &WriteLock, entry: &Entry) -> Result<(), StoreError> {
        let site = entry.meta.site_id;
        let id = &entry.meta.id;
        let deleted = self.deleted_dir(site);
        let fresh = !deleted.is_dir();
        create_private_dir_all(&deleted).map_err(io_err("create directory", &deleted))?;
        self.settled(|| {
            let intent = Intent::write(&self.intents, &self.tmp_dir(), Op::Del, &[(site, id)])?;
            let gone = Entry {
                meta: entry.meta.clone(),
                folder: deleted.as_path().into(),
            };
            fs::rename(entry.meta_path(), gone.meta_path())
                .map_err(io_err("delete", &entry.meta_path()))?;
            match fs::rename(entry.cert_path(), gone.cert_path()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("delete", &entry.cert_path())(e)),
            }
            match fs::remove_file(entry.key_path()) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove key", &entry.key_path())(e)),
            }
            fsutil::sync_dir(&deleted).map_err(io_err("sync", &deleted))?;
            fsutil::sync_dir(&entry.folder).map_err(io_err("sync", &entry.folder))?;
            intent.done()
        })
        .inspect_err(|_| {
            if fresh {
                // Made for this delete; still empty if the delete failed.
                let _ = fs::remove_dir(&deleted);
            }
        })?;
        self.index.append(site, &[Record::Del { id: id.clone() }]);
        Ok(())
    }

    /// Reads an entry's certificate PEM.
    pub fn read_cert(&self, entry: &Entry) -> Result<String, StoreError> {
        read_text(&entry.cert_path())
    }

    /// Reads an entry's private key PEM, if it was kept.
    pub fn read_key(&self, entry: &Entry) -> Result<Option<Zeroizing<String>>, StoreError> {
        if !entry.meta.key_stored {
            return Ok(None);
        }
        read_text(&entry.key_path()).map(|k| Some(Zeroizing::new(k)))
    }

    /// All live entries of one site (or of every site). The listing cache
    /// saves parsing, but every entry is checked against a fresh `stat` of
    /// its `.toml`, so the result is what reading every file would give.
    pub fn list(&self, site: Option<u64>) -> Result<Listing, StoreError> {
        let sites = match site {
            Some(s) => vec![s],
            None => self.site_ids()?,
        };
        Ok(self.list_sites(&sites))
    }

    /// The live entries of `sites`, site by site in that order (see
    /// [`Store::list`]). A site that cannot be listed (its `certs/` is a
    /// file, or unreadable) does not hide the others: it is reported in
    /// `damaged` with `whole_site`.
    ///
    /// The work runs on a bounded pool ([`crate::base::pool`]: one thread
    /// per CPU, whatever the number of sites) in two passes: every site's
    /// cache is parsed and every site's folder listed and stat'ed, side
    /// by side (so a store of three big sites keeps every core busy too);
    /// then each site's entries are taken from its cache or its files.
    pub fn list_sites(&self, sites: &[u64]) -> Listing {
        use crate::base::pool;
        use std::sync::Mutex;
        let panicked = || StoreError::Corrupt {
            path: self.root.clone(),
            detail: "a listing thread panicked".into(),
        };
        enum Part {
            Cache(Cached),
            Found(Result<Found, StoreError>),
        }
        // Each site's folder, then its cache: for one site the calling
        // thread takes the folder and a helper the cache, as before the
        // pool (measured: the other way round lists a site of 33k about
        // 25 % slower).
        let tasks: Vec<(u64, bool)> = sites
            .iter()
            .flat_map(|&s| [(s, false), (s, true)])
            .collect();
        let mut parts = pool::map(
            &tasks,
            |&(s, cache)| {
                if cache {
                    Part::Cache(self.index.load(s))
                } else {
                    Part::Found(stamps(&self.certs_dir(s)))
                }
            },
            // A cache that could not be read: the files are.
            |&(_, cache)| {
                if cache {
                    Part::Cache(Cached::empty())
                } else {
                    Part::Found(Err(panicked()))
                }
            },
        )
        .into_iter();
        // Each site's two parts, to be taken (once) by the thread that
        // resolves that site.
        type Parts = (Cached, Result<Found, StoreError>);
        let pairs: Vec<(u64, Mutex<Option<Parts>>)> = sites
            .iter()
            .map(|&s| {
                let pair = match (parts.next(), parts.next()) {
                    (Some(Part::Found(f)), Some(Part::Cache(c))) => (c, f),
                    _ => (Cached::empty(), Err(panicked())),
                };
                (s, Mutex::new(Some(pair)))
            })
            .collect();
        let results = pool::map(
            &pairs,
            |(s, pair)| -> Result<(Validated, bool), StoreError> {
                let taken = pair.lock().ok().and_then(|mut p| p.take());
                let (cached, found) = taken.ok_or_else(panicked)?;
                let records = cached.records;
                let outcome = resolve(&self.certs_dir(*s), found?, cached.by_id);
                let stale =
                    super::index::wants_rewrite(records, outcome.misses, outcome.entries.len());
                Ok((outcome, stale))
            },
            |_| Err(panicked()),
        );
        let mut listing = Listing::default();
        // One allocation of the final size: growing site by site would
        // hold the old and the new buffer at once.
        listing
            .entries
            .reserve_exact(results.iter().flatten().map(|(o, _)| o.entries.len()).sum());
        for (&s, result) in sites.iter().zip(results) {
            let (outcome, stale) = match result {
                Ok(r) => r,
                Err(e) => {
                    listing.damaged.push(Damaged {
                        path: self.certs_dir(s),
                        reason: e.to_string(),
                        whole_site: Some(s),
                    });
                    continue;
                }
            };
            if stale {
                listing.stale_index.push(s);
            }
            listing
                .entries
                .extend(outcome.entries.into_iter().map(|(e, _)| e));
            listing.damaged.extend(outcome.damaged);
        }
        listing
    }

    /// Rewrites a site's listing cache from the files.
    pub fn rebuild_index(&self, _lock: &WriteLock, site: u64) -> Result<(), StoreError> {
        let cached = self.index.load(site);
        let outcome = validate(&self.certs_dir(site), cached.by_id)?;
        let entries: Vec<(&CertMeta, Stamp)> =
            outcome.entries.iter().map(|(e, s)| (&e.meta, *s)).collect();
        tracing::info!(site, entries = entries.len(), "rewrote the listing cache");
        self.index.rewrite(site, &entries)
    }

    /// Reads every entry's file, ignoring the cache (for `doctor` and for
    /// checking the cache itself).
    pub fn scan(&self, site: u64) -> Result<Listing, StoreError> {
        let outcome = validate(&self.certs_dir(site), HashMap::new())?;
        Ok(Listing {
            entries: outcome.entries.into_iter().map(|(e, _)| e).collect(),
            damaged: outcome.damaged,
            stale_index: Vec::new(),
        })
    }

    /// Deleted entries of a site (for the CRL).
    pub fn list_deleted(&self, site: u64) -> Result<Listing, StoreError> {
        let outcome = validate(&self.deleted_dir(site), HashMap::new())?;
        Ok(Listing {
            entries: outcome.entries.into_iter().map(|(e, _)| e).collect(),
            damaged: outcome.damaged,
            stale_index: Vec::new(),
        })
    }
}

pub(super) fn stamp_of(path: &Path) -> Option<Stamp> {
    rustix::fs::stat(path).ok().map(|st| Stamp::of(&st))
}

struct Validated {
    entries: Vec<(Entry, Stamp)>,
    damaged: Vec<Damaged>,
    /// Entries read from their file because the cache did not match.
    misses: usize,
}

/// Lists `<id>.toml` in `folder`, taking each from `cached` when its stamp
/// still matches the file and reading the file otherwise.
fn validate(
    folder: &Path,
    cached: HashMap<String, (Box<CertMeta>, Stamp)>,
) -> Result<Validated, StoreError> {
    Ok(resolve(folder, stamps(folder)?, cached))
}

/// What listing a folder found: entries with their stamps, and names
/// that are not certificate ids.
struct Found {
    stamped: Vec<(String, Stamp)>,
    damaged: Vec<Damaged>,
}

/// The `<id>.toml` files of `folder` with a fresh `stat` of each.
fn stamps(folder: &Path) -> Result<Found, StoreError> {
    let mut found = Found {
        stamped: Vec::new(),
        damaged: Vec::new(),
    };
    let rd = match fs::read_dir(folder) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(io_err("read", folder)(e)),
    };
    let dir = File::open(folder).map_err(io_err("open", folder))?;
    for e in rd {
        let e = e.map_err(io_err("read", folder))?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(id) = name.strip_suffix(".toml") else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        if check_id(id).is_err() {
            found.damaged.push(Damaged {
                path: folder.join(name),
                reason: "not a certificate id (32 lower-case hex digits)".into(),
                whole_site: None,
            });
            continue;
        }
        let stamp = match rustix::fs::statat(&dir, name, rustix::fs::AtFlags::empty()) {
            Ok(st) => Stamp::of(&st),
            Err(rustix::io::Errno::NOENT) => continue, // deleted meanwhile
            Err(err) => return Err(io_err("stat", &folder.join(name))(err.into())),
        };
        found.stamped.push((id.to_owned(), stamp));
    }
    Ok(found)
}

/// Takes each found entry from `cached` when the stamps agree, else reads
/// its file.
fn resolve(
    folder: &Path,
    found: Found,
    mut cached: HashMap<String, (Box<CertMeta>, Stamp)>,
) -> Validated {
    let mut out = Validated {
        entries: Vec::with_capacity(found.stamped.len()),
        damaged: found.damaged,
        misses: 0,
    };
    let shared: std::sync::Arc<Path> = folder.into();
    let entry = |meta| Entry {
        meta,
        folder: shared.clone(),
    };
    for (id, stamp) in found.stamped {
        if let Some((meta, s)) = cached.remove(&id)
            && s == stamp
        {
            out.entries.push((entry(*meta), stamp));
            continue;
        }
        out.misses += 1;
        let path = folder.join(format!("{id}.toml"));
        match read_toml::<CertMeta>(&path) {
            Ok(meta) if meta.id == id => out.entries.push((entry(meta), stamp)),
            Ok(meta) => out.damaged.push(Damaged {
                path,
                reason: format!(
                    "the file names id {}",
                    crate::text::clip(&crate::text::sanitize(&meta.id), 40)
                ),
                whole_site: None,
            }),
            Err(err) => out.damaged.push(Damaged {
                path,
                reason: err.to_string(),
                whole_site: None,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The store tests' metadata, named after its site, key not kept.
    fn meta(id: String, site: u64) -> CertMeta {
        let mut m = super::super::tests::meta(&id, site);
        m.name = format!("n{site}");
        m.key_stored = false;
        m
    }

    /// Issue #13 item 13: listing 2,000 sites (on a bounded pool) gives
    /// every site's entries, site by site in id order, and the one site
    /// whose `certs/` is a file is reported while its neighbours are
    /// listed. (`tests/odd_stores.rs` checks the same for the CLI's
    /// warning and `doctor` on two sites.)
    #[test]
    fn listing_many_sites_keeps_site_order_and_reports_the_broken_one() {
        const SITES: u64 = 2_000;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Every fifth site holds an entry, every tenth two, the others
        // none; site ids are written in reverse so that creation order is
        // not site order.
        let held = |s: u64| u64::from(s.is_multiple_of(5)) + u64::from(s.is_multiple_of(10));
        let metas: Vec<CertMeta> = (1..=SITES)
            .rev()
            .flat_map(|s| (0..held(s)).map(move |k| meta(format!("{s:028x}{k:04x}"), s)))
            .collect();
        // The `.toml`s as a publish leaves them (listing reads nothing
        // else), without its syncs: folder fsyncs would be most of the
        // test's time.
        for s in 1..=SITES {
            create_private_dir_all(&store.certs_dir(s)).unwrap();
        }
        for m in &metas {
            let e = Entry {
                meta: m.clone(),
                folder: store.certs_dir(m.site_id).into(),
            };
            fs::write(e.meta_path(), toml_bytes(m).unwrap()).unwrap();
        }
        assert_eq!(store.site_ids().unwrap().len(), SITES as usize);

        let sites =
            |l: &Listing| -> Vec<u64> { l.entries.iter().map(|e| e.meta.site_id).collect() };
        let listing = store.list(None).unwrap();
        assert!(listing.damaged.is_empty(), "{:?}", listing.damaged);
        assert_eq!(listing.entries.len(), metas.len());
        let expected: Vec<u64> = (1..=SITES)
            .flat_map(|s| (0..held(s)).map(move |_| s))
            .collect();
        assert_eq!(sites(&listing), expected);
        for e in &listing.entries {
            assert_eq!(e.meta.name, format!("n{}", e.meta.site_id));
            assert_eq!(&*e.folder, store.certs_dir(e.meta.site_id));
        }

        let broken = 1_000; // two entries
        let certs = store.certs_dir(broken);
        fs::remove_dir_all(&certs).unwrap();
        fs::write(&certs, "not a folder\n").unwrap();
        let listing = store.list(None).unwrap();
        assert_eq!(listing.damaged.len(), 1, "{:?}", listing.damaged);
        assert_eq!(listing.damaged[0].whole_site, Some(broken));
        assert_eq!(listing.damaged[0].path, certs);
        let without: Vec<u64> = expected.iter().copied().filter(|&s| s != broken).collect();
        assert_eq!(sites(&listing), without);
        // The same sites asked for by id, in another order: that order.
        let asked = [7, broken, 1_995, 10];
        let listing = store.list_sites(&asked);
        assert_eq!(sites(&listing), [1_995, 10, 10]);
        assert_eq!(listing.damaged[0].whole_site, Some(broken));
    }
}
