//! A per-site index of certificate metadata, so that listing 100,000
//! certificates reads one file instead of 100,000.
//!
//! The per-certificate `meta.toml` files stay the source of truth; the index
//! is a cache that can always be rebuilt from them and is never trusted when
//! it might disagree:
//!
//! * `index/<site>.jsonl` is append-only: `{"put":{meta}}` or `{"del":"id"}`
//!   per line, the last record of an id wins.
//! * A writer creates `index/<site>.dirty` (and fsyncs it) before touching a
//!   site's entries and removes it only after the index records are durable.
//!   A reader that sees the marker, a torn line, or an entry count that
//!   differs from the `certs/` directory ignores the index and reads the
//!   files; the next writer rebuilds it.
//! * Readers hold the shared store lock, so they never see a live writer's
//!   marker — only a crashed one's.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{CertMeta, FILE_MODE_PRIVATE, StoreError, fsutil, io_err};

/// Rewrite the index once it holds this many more records than live entries.
const COMPACT_SLACK: usize = 1000;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Record {
    Put(Box<CertMeta>),
    Del(String),
    /// An entry folder whose files could not be read at the last rebuild;
    /// it counts as present, so the index still matches the folder.
    Bad {
        id: String,
        reason: String,
    },
}

/// The folded content of an index file.
pub(crate) struct Loaded {
    pub metas: Vec<CertMeta>,
    /// Damaged entries recorded by the last rebuild: (id, reason).
    pub bad: Vec<(String, String)>,
    /// Lines in the file (records ever appended since the last rewrite).
    pub records: usize,
}

impl Loaded {
    pub fn wants_compaction(&self) -> bool {
        self.records > self.metas.len() * 2 + COMPACT_SLACK
    }

    /// Entry folders this index accounts for.
    pub fn folders(&self) -> usize {
        self.metas.len() + self.bad.len()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Index {
    dir: PathBuf,
}

impl Index {
    pub fn new(root: &Path) -> Index {
        Index {
            dir: root.join("index"),
        }
    }

    fn file(&self, site: u64) -> PathBuf {
        self.dir.join(format!("{site}.jsonl"))
    }

    fn marker(&self, site: u64) -> PathBuf {
        self.dir.join(format!("{site}.dirty"))
    }

    pub fn is_dirty(&self, site: u64) -> bool {
        self.marker(site).exists()
    }

    /// Sites whose marker a crashed writer left behind.
    pub fn dirty_sites(&self) -> Vec<u64> {
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| {
                let name = e.file_name();
                name.to_str()?.strip_suffix(".dirty")?.parse().ok()
            })
            .collect()
    }

    /// Marks a site's index as possibly stale (durably) before a change.
    pub fn begin(&self, site: u64) -> Result<(), StoreError> {
        fsutil::create_private_dir_all(&self.dir).map_err(io_err("create directory", &self.dir))?;
        let m = self.marker(site);
        match OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE_PRIVATE)
            .open(&m)
        {
            Ok(_) => fsutil::sync_dir(&self.dir).map_err(io_err("sync", &self.dir)),
            Err(e) => Err(io_err("write", &m)(e)),
        }
    }

    /// Appends records durably.
    pub fn append(&self, site: u64, records: &[Record]) -> Result<(), StoreError> {
        let p = self.file(site);
        let mut buf = Vec::with_capacity(records.len() * 768);
        for r in records {
            serde_json::to_writer(&mut buf, r).map_err(|e| StoreError::Corrupt {
                path: p.clone(),
                detail: e.to_string(),
            })?;
            buf.push(b'\n');
        }
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(FILE_MODE_PRIVATE)
            .open(&p)
            .map_err(io_err("open", &p))?;
        f.write_all(&buf).map_err(io_err("write", &p))?;
        f.sync_data().map_err(io_err("sync", &p))
    }

    /// Clears the marker once the index agrees with the files again.
    pub fn end(&self, site: u64) -> Result<(), StoreError> {
        let m = self.marker(site);
        match fs::remove_file(&m) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove", &m)(e)),
        }
    }

    /// Replaces the index with exactly `metas` (and the damaged folders)
    /// and clears the marker.
    pub fn rewrite(
        &self,
        site: u64,
        metas: &[CertMeta],
        bad: &[(String, String)],
    ) -> Result<(), StoreError> {
        fsutil::create_private_dir_all(&self.dir).map_err(io_err("create directory", &self.dir))?;
        let p = self.file(site);
        let mut buf = Vec::with_capacity(metas.len() * 768);
        for m in metas {
            serde_json::to_writer(&mut buf, &Record::Put(Box::new(m.clone()))).map_err(|e| {
                StoreError::Corrupt {
                    path: p.clone(),
                    detail: e.to_string(),
                }
            })?;
            buf.push(b'\n');
        }
        for (id, reason) in bad {
            let r = Record::Bad {
                id: id.clone(),
                reason: reason.clone(),
            };
            serde_json::to_writer(&mut buf, &r).map_err(|e| StoreError::Corrupt {
                path: p.clone(),
                detail: e.to_string(),
            })?;
            buf.push(b'\n');
        }
        fsutil::replace(&p, &buf, FILE_MODE_PRIVATE).map_err(io_err("write", &p))?;
        self.end(site)
    }

    /// Reads and folds the index; `None` when it cannot be trusted (dirty,
    /// missing, torn, or unparsable).
    pub fn load(&self, site: u64) -> Option<Loaded> {
        if self.is_dirty(site) {
            return None;
        }
        // Streamed line by line: the file of a 100k store is ~70 MB and
        // need not sit in memory beside what it parses into.
        let mut reader =
            io::BufReader::with_capacity(1 << 16, fs::File::open(self.file(site)).ok()?);
        let mut line = Vec::with_capacity(1024);
        let mut by_id: HashMap<String, usize> = HashMap::new();
        let mut metas: Vec<Option<CertMeta>> = Vec::new();
        let mut bad: HashMap<String, String> = HashMap::new();
        let mut records = 0;
        loop {
            line.clear();
            if io::BufRead::read_until(&mut reader, b'\n', &mut line).ok()? == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                return None; // a torn last line: a writer died mid-append
            }
            if line.len() == 1 {
                continue;
            }
            records += 1;
            match serde_json::from_slice::<Record>(&line).ok()? {
                Record::Bad { id, reason } => {
                    bad.insert(id, reason);
                }
                Record::Put(m) => match by_id.get(&m.id) {
                    Some(&i) => metas[i] = Some(*m),
                    None => {
                        by_id.insert(m.id.clone(), metas.len());
                        metas.push(Some(*m));
                    }
                },
                Record::Del(id) => {
                    if let Some(i) = by_id.remove(&id) {
                        metas[i] = None;
                    }
                    bad.remove(&id);
                }
            }
        }
        Some(Loaded {
            metas: metas.into_iter().flatten().collect(),
            bad: bad.into_iter().collect(),
            records,
        })
    }
}
