//! A per-site cache of certificate metadata, so that listing 100,000
//! certificates parses one file instead of 100,000 TOML files.
//!
//! The `<id>.toml` files stay the source of truth and the cache is never
//! trusted blindly: each cached record carries the stamp (inode, mtime,
//! size) of the file it was read from, and a listing compares it with a
//! fresh `stat` of every `<id>.toml` found in `certs/`. A file that is new,
//! changed (by this tool, by another, or by hand) or gone is read again or
//! dropped, so the listing always equals what a full scan would give. The
//! cache only saves the parsing. Because of that, writers may append to it
//! without fsync or markers: a lost or torn record only costs a re-read.
//!
//! `index/<site>.jsonl` holds one JSON record per line (`put` with the
//! metadata and its stamp, or `del`); the last record of an id wins. It is
//! rewritten when it holds many superseded records or many misses.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{self, BufRead, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{CertMeta, FILE_MODE_PRIVATE, StoreError, fsutil, io_err};

/// Rewrite the cache once it holds this many more records than entries.
const COMPACT_SLACK: usize = 1000;
/// Rewrite the cache once this many entries had to be read from files.
const MISS_LIMIT: usize = 64;

/// What identifies one version of a `<id>.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    pub ino: u64,
    pub mtime_ns: i64,
    pub size: u64,
}

impl Stamp {
    pub fn of(stat: &rustix::fs::Stat) -> Stamp {
        Stamp {
            ino: stat.st_ino,
            // Saturating: an mtime past 2262 (touch -d) must not overflow.
            mtime_ns: stat
                .st_mtime
                .saturating_mul(1_000_000_000)
                .saturating_add(stat.st_mtime_nsec as i64),
            size: stat.st_size as u64,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Record {
    Put { meta: Box<CertMeta>, stamp: Stamp },
    Del { id: String },
}

/// The cache of one site, folded (last record per id wins).
pub(crate) struct Cached {
    /// Boxed: the map moves its values when it grows.
    pub by_id: HashMap<String, (Box<CertMeta>, Stamp)>,
    /// Records in the file (superseded ones included).
    pub records: usize,
}

impl Cached {
    pub fn empty() -> Cached {
        Cached {
            by_id: HashMap::new(),
            records: 0,
        }
    }
}

/// Whether a cache of `records` lines should be rewritten, given `live`
/// entries of which `misses` had to be read from their files this time.
pub(crate) fn wants_rewrite(records: usize, misses: usize, live: usize) -> bool {
    misses >= MISS_LIMIT || records > live * 2 + COMPACT_SLACK
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

    /// Appends records (best effort: the cache is validated on every read,
    /// so a failure here is logged, never fatal).
    pub fn append(&self, site: u64, records: &[Record]) {
        if let Err(e) = self.try_append(site, records) {
            tracing::warn!(site, error = %e, "could not update the listing cache");
        }
    }

    fn try_append(&self, site: u64, records: &[Record]) -> Result<(), StoreError> {
        fsutil::create_private_dir_all(&self.dir).map_err(io_err("create directory", &self.dir))?;
        let p = self.file(site);
        let buf = encode(records, &p)?;
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(FILE_MODE_PRIVATE)
            .custom_flags(fsutil::NO_FOLLOW_NO_BLOCK)
            .open(&p)
            .map_err(io_err("open", &p))?;
        fsutil::ensure_regular(&f).map_err(io_err("open", &p))?;
        let len = f.metadata().map_err(io_err("read", &p))?.len();
        f.write_all(&buf).map_err(|e| {
            // A short write (a full disk) would glue the next record to a
            // torn one and hide every record after it: cut it off.
            let _ = f.set_len(len);
            io_err("write", &p)(e)
        })
    }

    /// Replaces the cache of a site with exactly these entries.
    pub fn rewrite(&self, site: u64, entries: &[(&CertMeta, Stamp)]) -> Result<(), StoreError> {
        fsutil::create_private_dir_all(&self.dir).map_err(io_err("create directory", &self.dir))?;
        let p = self.file(site);
        let records: Vec<Record> = entries
            .iter()
            .map(|(m, s)| Record::Put {
                meta: Box::new((*m).clone()),
                stamp: *s,
            })
            .collect();
        fsutil::replace(&p, &encode(&records, &p)?, FILE_MODE_PRIVATE).map_err(io_err("write", &p))
    }

    /// Reads the cache; a missing or unreadable file is an empty cache, and
    /// a torn or unparsable line ends the reading (what follows is re-read
    /// from the files).
    pub fn load(&self, site: u64) -> Cached {
        let mut cached = Cached::empty();
        // Read in 1 MiB pieces rather than whole (tens of MB at 100k): a
        // whole-file buffer per site, freed after the parse, left ~50 MB of
        // the process's peak memory unreturned. The size sizes the map (a
        // record is ~700 bytes) so that it seldom grows.
        let Ok(file) = fsutil::open_no_follow(&self.file(site)) else {
            return cached;
        };
        let len = file.metadata().map_or(0, |m| m.len());
        cached
            .by_id
            .reserve(usize::try_from(len / 600).unwrap_or(0));
        let mut reader = io::BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::with_capacity(4096);
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.last() != Some(&b'\n') => break, // torn tail
                Ok(_) => {}
            }
            let Ok(record) = serde_json::from_slice::<Record>(&line) else {
                break;
            };
            cached.records += 1;
            match record {
                Record::Put { meta, stamp } => {
                    cached.by_id.insert(meta.id.clone(), (meta, stamp));
                }
                Record::Del { id } => {
                    cached.by_id.remove(&id);
                }
            }
        }
        cached
    }
}

fn encode(records: &[Record], path: &Path) -> Result<Vec<u8>, StoreError> {
    let mut buf = Vec::with_capacity(records.len() * 800);
    for r in records {
        serde_json::to_writer(&mut buf, r).map_err(|e| StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        buf.push(b'\n');
    }
    Ok(buf)
}
