//! Uploaded client CAs and hostname bindings of a site.
//!
//! ```text
//! sites/<site-id>/uploads/<id>.pem   an uploaded CA certificate (public, 0644)
//! sites/<site-id>/uploads/<id>.toml  its metadata; the upload exists iff this does
//! sites/<site-id>/hostnames.toml     hostname bindings: CA or certificate Id -> hostnames
//! ```
//!
//! The `.pem` is written and synced before the `.toml` appears by an
//! atomic replace, so a crash leaves the whole upload or none (a stray
//! `.pem` without its `.toml` is ignored and overwritten by the next
//! upload of that Id, which is random). Deletion removes the `.toml`
//! first. The bindings file is replaced whole, atomically.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{
    FILE_MODE_PRIVATE, Store, StoreError, WriteLock, check_id, create_private_dir_all, io_err,
    read_text, read_toml, replace, toml_bytes,
};

const UPLOADS_DIR: &str = "uploads";
const BINDINGS_FILE: &str = "hostnames.toml";
/// Uploaded CAs are public certificates.
const FILE_MODE_PUBLIC: u32 = 0o644;

/// `uploads/<id>.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadMeta {
    pub id: String,
    pub site_id: u64,
    pub name: String,
    pub common_name: String,
    pub issuer: String,
    pub serial: String,
    pub fingerprint_sha256: String,
    pub signature_algorithm: String,
    pub pubkey_algorithm: String,
    pub not_before: String,
    pub not_after: String,
    pub created: String,
    pub self_signed: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct BindingsFile {
    #[serde(default)]
    bindings: BTreeMap<String, Vec<String>>,
}

impl Store {
    fn uploads_dir(&self, site_id: u64) -> PathBuf {
        self.site_dir(site_id).join(UPLOADS_DIR)
    }

    /// Stores an uploaded CA certificate.
    pub fn insert_upload(
        &self,
        _lock: &WriteLock,
        meta: &UploadMeta,
        pem: &str,
    ) -> Result<(), StoreError> {
        check_id(&meta.id)?;
        let dir = self.uploads_dir(meta.site_id);
        create_private_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        let pem_path = dir.join(format!("{}.pem", meta.id));
        replace(&pem_path, pem.as_bytes(), FILE_MODE_PUBLIC).map_err(io_err("write", &pem_path))?;
        let meta_path = dir.join(format!("{}.toml", meta.id));
        replace(&meta_path, &toml_bytes(meta)?, FILE_MODE_PRIVATE)
            .map_err(io_err("write", &meta_path))
    }

    /// The uploaded CAs of a site, oldest first (then by Id).
    pub fn uploads(&self, site_id: u64) -> Result<Vec<UploadMeta>, StoreError> {
        let dir = self.uploads_dir(site_id);
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("read directory", &dir)(e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(io_err("read directory", &dir))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".toml")) else {
                continue;
            };
            if check_id(id).is_err() {
                continue;
            }
            let meta: UploadMeta = read_toml(&entry.path())?;
            if meta.id != id || meta.site_id != site_id {
                return Err(StoreError::Corrupt {
                    path: entry.path(),
                    detail: "the metadata names another upload or site".into(),
                });
            }
            out.push(meta);
        }
        out.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        Ok(out)
    }

    /// One uploaded CA and its PEM.
    pub fn upload(
        &self,
        site_id: u64,
        id: &str,
    ) -> Result<Option<(UploadMeta, String)>, StoreError> {
        if check_id(id).is_err() {
            return Ok(None);
        }
        let dir = self.uploads_dir(site_id);
        let meta_path = dir.join(format!("{id}.toml"));
        let meta: UploadMeta = match read_toml(&meta_path) {
            Ok(m) => m,
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let pem = read_text(&dir.join(format!("{id}.pem")))?;
        Ok(Some((meta, pem)))
    }

    /// Removes an uploaded CA (the `.toml` first: the upload is gone at
    /// once, a crash leaves only an ignored `.pem`).
    pub fn delete_upload(
        &self,
        _lock: &WriteLock,
        site_id: u64,
        id: &str,
    ) -> Result<(), StoreError> {
        check_id(id)?;
        let dir = self.uploads_dir(site_id);
        for file in [format!("{id}.toml"), format!("{id}.pem")] {
            let path = dir.join(file);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("remove", &path)(e)),
            }
        }
        crate::base::fs::sync_dir(&dir).map_err(io_err("sync", &dir))
    }

    /// Every hostname binding of a site: CA or certificate Id -> hostnames.
    pub fn bindings(&self, site_id: u64) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
        let path = self.site_dir(site_id).join(BINDINGS_FILE);
        match read_toml::<BindingsFile>(&path) {
            Ok(f) => Ok(f.bindings),
            Err(StoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Ok(BTreeMap::new())
            }
            Err(e) => Err(e),
        }
    }

    /// Sets (or, with an empty list, removes) the binding of one Id.
    pub fn set_binding(
        &self,
        lock: &WriteLock,
        site_id: u64,
        id: &str,
        hostnames: &[String],
    ) -> Result<(), StoreError> {
        let mut bindings = self.bindings(site_id)?;
        if hostnames.is_empty() {
            bindings.remove(id);
        } else {
            bindings.insert(id.to_owned(), hostnames.to_vec());
        }
        self.write_bindings(lock, site_id, bindings)
    }

    fn write_bindings(
        &self,
        _lock: &WriteLock,
        site_id: u64,
        bindings: BTreeMap<String, Vec<String>>,
    ) -> Result<(), StoreError> {
        let dir = self.site_dir(site_id);
        create_private_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        let path = dir.join(BINDINGS_FILE);
        let bytes = toml_bytes(&BindingsFile { bindings })?;
        replace(&path, &bytes, FILE_MODE_PRIVATE).map_err(io_err("write", &path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str, created: &str) -> UploadMeta {
        UploadMeta {
            id: id.into(),
            site_id: 7,
            name: "corp".into(),
            common_name: "Corp Root".into(),
            issuer: "Corp Root".into(),
            serial: "01".into(),
            fingerprint_sha256: "ab".into(),
            signature_algorithm: "ECDSA-SHA256".into(),
            pubkey_algorithm: "ECDSA P-256".into(),
            not_before: created.into(),
            not_after: created.into(),
            created: created.into(),
            self_signed: true,
        }
    }

    #[test]
    fn uploads_and_bindings_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let lock = store.lock().unwrap();
        let a = "a".repeat(32);
        let b = "b".repeat(32);
        store
            .insert_upload(&lock, &meta(&b, "2026-01-02 00:00:00"), "PEM-B")
            .unwrap();
        store
            .insert_upload(&lock, &meta(&a, "2026-01-03 00:00:00"), "PEM-A")
            .unwrap();
        let ids: Vec<_> = store
            .uploads(7)
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, [b.clone(), a.clone()], "oldest first");
        assert_eq!(store.upload(7, &a).unwrap().unwrap().1, "PEM-A");
        assert!(store.upload(7, "../etc").unwrap().is_none());
        assert!(
            store.upload(8, &a).unwrap().is_none(),
            "uploads belong to one site"
        );

        store
            .set_binding(&lock, 7, &a, &["x.example.com".into()])
            .unwrap();
        assert_eq!(store.bindings(7).unwrap()[&a], ["x.example.com"]);
        store.set_binding(&lock, 7, &a, &[]).unwrap();
        assert!(store.bindings(7).unwrap().is_empty());

        store.delete_upload(&lock, 7, &a).unwrap();
        assert!(store.upload(7, &a).unwrap().is_none());
        assert_eq!(store.uploads(7).unwrap().len(), 1);
    }
}
