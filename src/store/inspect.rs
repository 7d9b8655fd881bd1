//! What is on disk, for `doctor`: a walk of the whole tree (file types,
//! modes, links, temporaries, folders of the layout that are not folders)
//! and each certificate folder's files, read the way every command reads
//! them (bounded, never through a link, never blocking on a FIFO). The
//! store says what it found, in types; the service decides what is a
//! problem and what to advise. Nothing here writes, except
//! [`Store::narrow_mode`], which only ever narrows a mode.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{
    CA_CERT_FILE, CA_KEY_FILE, CA_META_FILE, CRL_STALE_FILE, CaMeta, MAX_FILE, Store, WriteLock,
    check_id, fsutil,
};

/// The mode the store gives what it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeRule {
    /// Every folder: 0700.
    Directory,
    /// Certificates and CRLs (public content): 0644 or narrower.
    Public,
    /// Everything else (keys, metadata, the audit log): 0600.
    Private,
}

impl ModeRule {
    pub fn for_name(name: &str, is_dir: bool) -> ModeRule {
        if is_dir {
            ModeRule::Directory
        } else if name.ends_with(".pem") && !name.ends_with(".key.pem") {
            ModeRule::Public
        } else {
            ModeRule::Private
        }
    }

    /// The mode a repair sets.
    pub fn mode(self) -> u32 {
        match self {
            ModeRule::Directory => 0o700,
            ModeRule::Public => 0o644,
            ModeRule::Private => 0o600,
        }
    }

    /// Whether `mode` lets group or others in further than the rule does.
    pub fn is_loose(self, mode: u32) -> bool {
        match self {
            ModeRule::Public => mode & 0o022 != 0,
            ModeRule::Directory | ModeRule::Private => mode & 0o077 != 0,
        }
    }
}

/// Something the walk of the store's tree found, in the order found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeFinding {
    /// A mode wider than the store gives.
    LooseMode {
        path: PathBuf,
        mode: u32,
        rule: ModeRule,
    },
    /// A symbolic link (never followed, never used).
    Symlink { path: PathBuf },
    /// A `.<name>.tmp-*` left by an interrupted replacement.
    Temporary { path: PathBuf },
    /// A FIFO, socket or device: the store only reads regular files.
    Special { path: PathBuf, kind: &'static str },
    /// Something other than a folder where the layout has one (a site's
    /// `certs/` replaced by a file): the commands cannot use it.
    NotADirectory { path: PathBuf, kind: &'static str },
}

/// One certificate folder (`certs/` or `deleted/`) as found.
#[derive(Debug, Default, Clone)]
pub struct Folder {
    /// Names that are no certificate's files: (path, a temporary of an
    /// interrupted write).
    pub strays: Vec<(PathBuf, bool)>,
    /// The ids found, sorted, with which of their files exist.
    pub entries: Vec<EntryFiles>,
}

/// The files of one certificate id in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFiles {
    pub id: String,
    pub toml: PathBuf,
    pub pem: PathBuf,
    pub key: PathBuf,
    pub has_toml: bool,
    pub has_pem: bool,
    pub has_key: bool,
}

/// A site CA's files as read (each `Err` carries why, safe to show).
#[derive(Debug)]
pub struct CaFiles {
    pub dir: PathBuf,
    pub meta: Result<CaMeta, String>,
    pub cert: Result<String, String>,
    pub key: Result<zeroize::Zeroizing<String>, String>,
}

impl CaFiles {
    pub fn meta_path(&self) -> PathBuf {
        self.dir.join(CA_META_FILE)
    }
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(CA_KEY_FILE)
    }
}

/// Reads a store file for inspection: bounded, never through a link, only
/// a regular file, never blocking. The error is the system's, with a link
/// called a link.
pub fn read(path: &Path) -> io::Result<String> {
    fsutil::read_limited(path, MAX_FILE).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            io::Error::new(
                e.kind(),
                "it is a symbolic link, and esa-certs never follows one inside its store",
            )
        } else {
            e
        }
    })
}

fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Whether the layout has a folder at `rel` (a path inside the root).
fn layout_wants_dir(rel: &Path) -> bool {
    let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
    match parts.as_slice() {
        ["sites" | "tmp" | "index" | "logs"] => true,
        ["sites", site] => site.parse::<u64>().is_ok(),
        ["sites", site, "ca" | "certs" | "deleted"] => site.parse::<u64>().is_ok(),
        _ => false,
    }
}

impl Store {
    /// Walks the whole store (links are not followed) and reports loose
    /// modes, links, temporaries, special files and layout folders that
    /// are not folders.
    pub fn inspect_tree(&self) -> Vec<TreeFinding> {
        let mut found = Vec::new();
        self.walk(&self.root, &mut found);
        found
    }

    fn walk(&self, dir: &Path, found: &mut Vec<TreeFinding>) {
        let Ok(meta) = fs::symlink_metadata(dir) else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if ModeRule::Directory.is_loose(mode) {
            found.push(TreeFinding::LooseMode {
                path: dir.to_path_buf(),
                mode,
                rule: ModeRule::Directory,
            });
        }
        let Ok(rd) = fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = fs::symlink_metadata(&p) else {
                continue;
            };
            let ft = m.file_type();
            let name = e.file_name().to_string_lossy().into_owned();
            let wants_dir = p.strip_prefix(&self.root).is_ok_and(layout_wants_dir);
            if ft.is_symlink() {
                found.push(TreeFinding::Symlink { path: p });
            } else if wants_dir && !ft.is_dir() {
                found.push(TreeFinding::NotADirectory {
                    path: p,
                    kind: fsutil::describe_type(ft),
                });
            } else if ft.is_dir() {
                self.walk(&p, found);
            } else if !ft.is_file() {
                found.push(TreeFinding::Special {
                    path: p,
                    kind: fsutil::describe_type(ft),
                });
            } else if is_temporary(&name) {
                found.push(TreeFinding::Temporary { path: p });
            } else {
                let mode = m.permissions().mode() & 0o777;
                let rule = ModeRule::for_name(&name, false);
                if rule.is_loose(mode) {
                    found.push(TreeFinding::LooseMode {
                        path: p,
                        mode,
                        rule,
                    });
                }
            }
        }
    }

    /// Narrows the mode of `path` to what the store gives it (a repair
    /// of `doctor --fix`; a link is left alone).
    pub fn narrow_mode(&self, _lock: &WriteLock, path: &Path) -> io::Result<()> {
        let meta = fs::symlink_metadata(path)?;
        if meta.file_type().is_symlink() {
            return Ok(());
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let rule = ModeRule::for_name(name, meta.is_dir());
        fs::set_permissions(path, fs::Permissions::from_mode(rule.mode()))
    }

    /// The files of a certificate folder, grouped by id. A folder that
    /// cannot be listed is empty here (the walk names it).
    pub fn inspect_folder(&self, folder: &Path) -> Folder {
        let mut out = Folder::default();
        let Ok(rd) = fs::read_dir(folder) else {
            return out;
        };
        // id -> which of (.toml, .pem, .key.pem) exist
        let mut files: HashMap<String, [bool; 3]> = HashMap::new();
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let (id, slot) = if let Some(id) = name.strip_suffix(".key.pem") {
                (id, 2)
            } else if let Some(id) = name.strip_suffix(".pem") {
                (id, 1)
            } else if let Some(id) = name.strip_suffix(".toml") {
                (id, 0)
            } else {
                (name.as_str(), 3)
            };
            if slot == 3 || check_id(id).is_err() {
                out.strays
                    .push((folder.join(&name), name.contains(".tmp-")));
                continue;
            }
            files.entry(id.to_owned()).or_default()[slot] = true;
        }
        let mut ids: Vec<_> = files.into_iter().collect();
        ids.sort();
        out.entries = ids
            .into_iter()
            .map(|(id, [has_toml, has_pem, has_key])| EntryFiles {
                toml: folder.join(format!("{id}.toml")),
                pem: folder.join(format!("{id}.pem")),
                key: folder.join(format!("{id}.key.pem")),
                id,
                has_toml,
                has_pem,
                has_key,
            })
            .collect();
        out
    }

    /// A site CA's three files, read and (the metadata) parsed; `None`
    /// when the site has no CA.
    pub fn inspect_ca(&self, site_id: u64) -> Option<CaFiles> {
        let dir = self.site_dir(site_id).join("ca");
        if !dir.exists() {
            return None;
        }
        let text = |name: &str| read(&dir.join(name)).map_err(|e| e.to_string());
        let meta = text(CA_META_FILE)
            .and_then(|t| toml::from_str::<CaMeta>(&t).map_err(|e| e.message().to_owned()));
        let cert = text(CA_CERT_FILE);
        let key = text(CA_KEY_FILE).map(zeroize::Zeroizing::new);
        Some(CaFiles {
            dir,
            meta,
            cert,
            key,
        })
    }

    /// Whether a writer marked the site's CRL stale and did not finish.
    pub fn crl_marked_stale(&self, site_id: u64) -> Option<PathBuf> {
        let p = self.site_dir(site_id).join(CRL_STALE_FILE);
        p.exists().then_some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_names_special_files_and_folders_that_are_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let site = dir.path().join("sites/7");
        fs::create_dir_all(&site).unwrap();
        fs::set_permissions(&site, fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(site.join("certs"), "").unwrap();
        fs::set_permissions(site.join("certs"), fs::Permissions::from_mode(0o600)).unwrap();
        let fifo = dir.path().join("audit.log");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let mut found = store.inspect_tree();
        found.retain(|f| !matches!(f, TreeFinding::LooseMode { .. }));
        found.sort_by_key(|f| format!("{f:?}"));
        assert_eq!(
            found,
            vec![
                TreeFinding::NotADirectory {
                    path: site.join("certs"),
                    kind: "a regular file"
                },
                TreeFinding::Special {
                    path: fifo,
                    kind: "a FIFO (named pipe)"
                },
            ]
        );
    }

    #[test]
    fn mode_rules() {
        assert_eq!(ModeRule::for_name("a.pem", false), ModeRule::Public);
        assert_eq!(ModeRule::for_name("a.key.pem", false), ModeRule::Private);
        assert_eq!(ModeRule::for_name("x", true), ModeRule::Directory);
        assert!(!ModeRule::Public.is_loose(0o644));
        assert!(ModeRule::Private.is_loose(0o640));
        assert!(ModeRule::Directory.is_loose(0o750));
    }
}
