//! The checks of what is not a site: the store's tree as a whole (modes,
//! links, FIFOs and devices), an interrupted re-key, the audit log.

use super::*;

impl Service {
    /// The store's walk of its tree, as findings: loose modes, links,
    /// temporaries, FIFOs and devices, layout folders that are not folders.
    pub(super) fn check_tree(&self, d: &mut Diagnosis) {
        for found in self.store.inspect_tree() {
            match found {
                TreeFinding::LooseMode { path, mode, rule } => {
                    let detail = match rule {
                        ModeRule::Directory => format!("directory mode {mode:03o}; expected 700"),
                        ModeRule::Public => {
                            format!("file mode {mode:03o}; expected 644 or narrower")
                        }
                        ModeRule::Private => format!("file mode {mode:03o}; expected 600"),
                    };
                    d.problem("mode-loose", None, None, &path, detail);
                }
                TreeFinding::Symlink { path } => d.problem(
                    "symlink",
                    None,
                    None,
                    &path,
                    "a symbolic link inside the store: esa-certs never follows one and refuses to use it; replace it with the file it stands for",
                ),
                TreeFinding::Temporary { path } => d.problem(
                    "temporary-left",
                    None,
                    None,
                    &path,
                    "a temporary of an interrupted write; the next write command removes it (or doctor --fix)",
                ),
                TreeFinding::Special { path, kind } => d.problem(
                    "special-file",
                    None,
                    None,
                    &path,
                    format!(
                        "{kind} where the store keeps only regular files: the commands refuse to read it (without waiting on it); replace it with the file it stands for, or remove it"
                    ),
                ),
                TreeFinding::NotADirectory { path, kind } => d.problem(
                    "not-a-directory",
                    None,
                    None,
                    &path,
                    format!(
                        "{kind} where the store keeps a folder: the commands cannot use what it should hold (listing skips it); move it away and restore the folder"
                    ),
                ),
            }
        }
    }

    /// A `ca rekey-protect` cut short: which sites are under the new
    /// passphrase and which still under the old.
    pub(super) fn check_rekey(&self, d: &mut Diagnosis) {
        let path = self.store.rekey_journal_path();
        let journal = match self.store.rekey_journal() {
            Ok(Some(j)) => j,
            Ok(None) => return,
            Err(e) => {
                d.problem("rekey-interrupted", None, None, &path, e.to_string());
                return;
            }
        };
        let progress = self.store.rekey_progress(&journal);
        let sites = |want: store::RekeyState| -> Vec<u64> {
            progress
                .iter()
                .filter(|(_, s)| *s == want)
                .map(|(site, _)| *site)
                .collect()
        };
        let changed = sites(store::RekeyState::Changed);
        d.problem(
            "rekey-interrupted",
            None,
            None,
            &path,
            format!(
                "`ca rekey-protect` was interrupted: the CA keys of site(s) {:?} are under the new passphrase, those of site(s) {:?} still under the old one{}; run the same command again (current passphrase: the old one) to finish",
                sites(store::RekeyState::Done),
                sites(store::RekeyState::Pending),
                if changed.is_empty() {
                    String::new()
                } else {
                    format!(", and those of site(s) {changed:?} changed since")
                }
            ),
        );
    }

    /// The audit log: lines skipped (notes), or a log that cannot be read.
    pub(super) fn check_audit(&self, d: &mut Diagnosis) {
        match self.store.read_audit() {
            Ok(log) => {
                for (line, why) in &log.skipped {
                    d.add(
                        Severity::Note,
                        "audit-line-skipped",
                        None,
                        None,
                        &self.store.audit_path(),
                        format!("line {line}: {why}"),
                    );
                }
            }
            Err(e) => d.problem(
                "audit-unreadable",
                None,
                None,
                &self.store.audit_path(),
                format!("{e}; commands that write cannot append their records"),
            ),
        }
    }
}

impl Service {
    /// The passphrase from a non-interactive source (set, or the env file),
    /// for checks that must not prompt.
    pub(super) fn passphrase_if_available(&self) -> Option<crate::api::Secret> {
        if let Some(p) = self.known_passphrase() {
            return Some(p);
        }
        let path = std::env::var_os(crate::service::CA_PASSPHRASE_ENV).filter(|p| !p.is_empty())?;
        crate::service::read_passphrase_file(Path::new(&path)).ok()
    }
}
