//! The checks of one site: its CA, its CRL against the statuses, every
//! entry (metadata, certificate, key) and the renew links between them.

use super::*;

impl Service {
    pub(super) fn check_site(&self, site: u64, d: &mut Diagnosis) -> EsaResult<()> {
        let ca_cert = self.check_ca(site, d);
        let live = self.check_entries(site, &self.store.certs_dir(site), false, d);
        let deleted = self.check_entries(site, &self.store.deleted_dir(site), true, d);
        self.check_renew_links(site, &live, d);
        self.note_times(site, &live, &deleted, d);
        let Some(ca_cert) = ca_cert else {
            return Ok(());
        };
        // The CRL must list exactly the revoked, unexpired serials.
        if let Some(stale) = self.store.crl_marked_stale(site) {
            d.problem(
                "crl-stale",
                Some(site),
                None,
                &stale,
                "a status change was interrupted before the CRL was rewritten; the next write command regenerates it (or doctor --fix)",
            );
        }
        let now = now_seconds();
        let expected: BTreeSet<String> = live
            .iter()
            .chain(deleted.iter())
            .filter(|m| m.status == StoredStatus::Revoked)
            .filter(|m| clock::parse_esa_time(&m.not_after).is_none_or(|na| na > now))
            .map(|m| m.serial.clone())
            .collect();
        let crl_path = self.store.crl_path(site);
        match store::inspect_read(&crl_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => d.problem(
                "crl-missing",
                Some(site),
                None,
                &crl_path,
                "the site CA has no CRL",
            ),
            Err(e) => d.problem("crl-unreadable", Some(site), None, &crl_path, e.to_string()),
            Ok(text) => match pki::crl_serials(&text, &ca_cert) {
                Err(e) => d.problem("crl-unreadable", Some(site), None, &crl_path, e.to_string()),
                Ok(mut listed) => {
                    // Serials no readable entry accounts for stay on the CRL
                    // on purpose (a damaged entry must not un-revoke): noted.
                    let known: BTreeSet<&str> = live
                        .iter()
                        .chain(deleted.iter())
                        .map(|m| m.serial.as_str())
                        .collect();
                    let unknown: Vec<String> = listed
                        .iter()
                        .filter(|s| !known.contains(s.as_str()))
                        .cloned()
                        .collect();
                    if !unknown.is_empty() {
                        d.add(
                            Severity::Note,
                            "crl-kept",
                            Some(site),
                            None,
                            &crl_path,
                            format!(
                                "{} revoked serial(s) on the CRL belong to no readable entry and stay revoked: {:?}",
                                unknown.len(),
                                unknown.iter().take(5).collect::<Vec<_>>()
                            ),
                        );
                        for s in &unknown {
                            listed.remove(s);
                        }
                    }
                    if listed != expected {
                        self.crl_mismatch(site, &crl_path, &expected, &listed, d);
                    }
                }
            },
        }
        Ok(())
    }

    /// Feeds the times the site records to [`Diagnosis::saw`]: its CA's
    /// NotBefore and creation, its CRL's thisUpdate, and each certificate's
    /// NotBefore, creation, last update and revocation.
    fn note_times(&self, site: u64, live: &[CertMeta], deleted: &[CertMeta], d: &mut Diagnosis) {
        let dir = self.store.site_dir(site);
        if let Ok(Some(ca)) = self.store.ca_meta(site) {
            let path = dir.join("ca").join("ca.toml");
            d.saw(&ca.not_before, site, &path, || {
                format!("the NotBefore of the CA of site {site}")
            });
            d.saw(&ca.created, site, &path, || {
                format!("the creation of the CA of site {site}")
            });
        }
        if let Ok(Some((_, crl))) = self.store.crl(site) {
            d.saw(&crl.this_update, site, &dir.join("crl.toml"), || {
                format!("the thisUpdate of the CRL of site {site}")
            });
        }
        for (folder, metas) in [
            (self.store.certs_dir(site), live),
            (self.store.deleted_dir(site), deleted),
        ] {
            for m in metas {
                let path = folder.join(format!("{}.toml", m.id));
                let times = [
                    ("NotBefore", Some(&m.not_before)),
                    ("creation", Some(&m.created)),
                    ("last update", Some(&m.updated)),
                    ("revocation", m.revoked_at.as_ref()),
                ];
                for (what, at) in times {
                    if let Some(at) = at {
                        d.saw(at, site, &path, || {
                            format!("the {what} of certificate {}", m.id)
                        });
                    }
                }
            }
        }
    }

    /// Renewal links: a live certificate whose RenewedFrom names a live
    /// one that does not name it back (RenewedBy) is a renew killed before
    /// its last write; two live successors of one certificate are a fork.
    pub(super) fn check_renew_links(&self, site: u64, live: &[CertMeta], d: &mut Diagnosis) {
        let by_id: std::collections::HashMap<&str, &CertMeta> =
            live.iter().map(|m| (m.id.as_str(), m)).collect();
        let mut claims: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for m in live {
            if let Some(from) = m.renewed_from.as_deref()
                && by_id.contains_key(from)
            {
                claims.entry(from).or_default().push(m.id.as_str());
            }
        }
        for (old, successors) in claims {
            let linked = by_id
                .get(old)
                .and_then(|m| m.renewed_by.as_deref())
                .filter(|next| by_id.contains_key(next));
            let path = self.store.certs_dir(site).join(format!("{old}.toml"));
            let unlinked: Vec<&str> = successors
                .iter()
                .copied()
                .filter(|s| Some(*s) != linked)
                .collect();
            match (linked, unlinked.as_slice()) {
                (_, []) => {}
                (None, [next]) => d.problem(
                    "renew-link-missing",
                    Some(site),
                    Some(old),
                    &path,
                    format!(
                        "certificate {next} renews this one (its RenewedFrom) but this one has no RenewedBy: a renew was interrupted before its last write; `renew` refuses this one and restores the link (or doctor --fix)"
                    ),
                ),
                _ => d.problem(
                    "renew-forked",
                    Some(site),
                    Some(old),
                    &path,
                    format!(
                        "this certificate has several live successors ({}): it was renewed more than once; revoke or delete the ones not in use (left as it is)",
                        linked
                            .into_iter()
                            .chain(unlinked.iter().copied())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            }
        }
    }

    pub(super) fn crl_mismatch(
        &self,
        site: u64,
        crl_path: &std::path::Path,
        expected: &BTreeSet<String>,
        listed: &BTreeSet<String>,
        d: &mut Diagnosis,
    ) {
        let missing: Vec<&String> = expected.difference(listed).collect();
        let extra: Vec<&String> = listed.difference(expected).collect();
        d.problem(
            "crl-mismatch",
            Some(site),
            None,
            crl_path,
            format!(
                "the CRL disagrees with the statuses: {} revoked serial(s) missing {:?}, {} listed but not revoked {:?}",
                missing.len(),
                missing.iter().take(5).collect::<Vec<_>>(),
                extra.len(),
                extra.iter().take(5).collect::<Vec<_>>()
            ),
        );
    }

    /// Checks the site CA; returns its certificate PEM when usable.
    pub(super) fn check_ca(&self, site: u64, d: &mut Diagnosis) -> Option<String> {
        let ca = self.store.inspect_ca(site)?;
        let dir = ca.dir.clone();
        if let Err(e) = &ca.meta {
            d.problem("ca-unreadable", Some(site), None, &ca.meta_path(), e);
        }
        let (cert, key) = match (ca.cert, ca.key) {
            (Err(e), key) => {
                d.problem("ca-unreadable", Some(site), None, &dir.join("ca.pem"), e);
                if let Err(e) = key {
                    d.problem(
                        "ca-unreadable",
                        Some(site),
                        None,
                        &dir.join("ca.key.pem"),
                        e,
                    );
                }
                return None;
            }
            (Ok(cert), Err(e)) => {
                d.problem(
                    "ca-unreadable",
                    Some(site),
                    None,
                    &dir.join("ca.key.pem"),
                    e,
                );
                (cert, None)
            }
            (Ok(cert), Ok(key)) => (cert, Some(key)),
        };
        let Some(der) = pem::parse(&cert).ok().map(pem::Pem::into_contents) else {
            d.problem(
                "ca-unreadable",
                Some(site),
                None,
                &dir.join("ca.pem"),
                "not a PEM certificate",
            );
            return None;
        };
        if let Err(e) = pki::inspect(&der) {
            d.problem(
                "ca-unreadable",
                Some(site),
                None,
                &dir.join("ca.pem"),
                e.to_string(),
            );
            return None;
        }
        let key_path = dir.join("ca.key.pem");
        if let Some(key) = key {
            let protected = pki::is_protected(&key);
            if self.config.ca.protect_key && !protected {
                d.problem(
                    "ca-key-unprotected",
                    Some(site),
                    None,
                    &key_path,
                    "protect_key = true but this CA key is stored in plaintext: run `esa-certs ca rekey-protect`",
                );
            }
            let plain = if protected {
                self.passphrase_if_available().and_then(|pass| {
                    match pki::unprotect(&key, pass.expose()) {
                        Ok(k) => Some(k),
                        Err(pki::UnprotectError::WrongPassphrase) => {
                            d.add(
                                Severity::Note,
                                "ca-key-locked",
                                Some(site),
                                None,
                                &key_path,
                                "the passphrase available does not decrypt this key; it was not checked",
                            );
                            None
                        }
                        Err(e) => {
                            d.problem("ca-unusable", Some(site), None, &key_path, e.to_string());
                            None
                        }
                    }
                })
            } else {
                Some(key)
            };
            match plain {
                Some(k) => match pki::key_matches_cert(&k, &der) {
                    Ok(true) => {}
                    Ok(false) => d.problem(
                        "ca-unusable",
                        Some(site),
                        None,
                        &key_path,
                        "the CA key does not belong to the CA certificate",
                    ),
                    Err(e) => d.problem("ca-unusable", Some(site), None, &key_path, e.to_string()),
                },
                None if protected && self.passphrase_if_available().is_none() => d.add(
                    Severity::Note,
                    "ca-key-locked",
                    Some(site),
                    None,
                    &key_path,
                    "encrypted at rest; set ESA_CERTS_CA_PASSPHRASE_FILE to check that it matches the certificate",
                ),
                None => {}
            }
        }
        Some(cert)
    }

    /// Checks every file of `certs/` (or `deleted/`); returns the readable
    /// metadata.
    pub(super) fn check_entries(
        &self,
        site: u64,
        folder: &Path,
        deleted: bool,
        d: &mut Diagnosis,
    ) -> Vec<CertMeta> {
        let mut metas = Vec::new();
        let found = self.store.inspect_folder(folder);
        for (path, temporary) in &found.strays {
            let detail = if *temporary {
                "a temporary file of an interrupted write (the next write command removes it)"
            } else {
                "an unexpected file in a certificate folder (left as it is)"
            };
            d.problem("stray-file", Some(site), None, path, detail);
        }
        for files in found.entries {
            let store::EntryFiles {
                id,
                toml: toml_path,
                pem: pem_path,
                key: key_path,
                has_toml,
                has_pem,
                has_key,
            } = files;
            let id = id.as_str();
            if !has_toml {
                for (present, path) in [(has_pem, &pem_path), (has_key, &key_path)] {
                    if present {
                        d.problem(
                            "orphan-file",
                            Some(site),
                            Some(id),
                            path,
                            "no metadata (.toml) for this file: not part of any entry; left as it is",
                        );
                    }
                }
                continue;
            }
            d.certificates += usize::from(!deleted);
            let meta = match crate::store::read_meta(&toml_path) {
                Ok(m) => m,
                Err(e) => {
                    d.problem(
                        "metadata-unparsable",
                        Some(site),
                        Some(id),
                        &toml_path,
                        e.to_string(),
                    );
                    continue;
                }
            };
            if meta.id != id || meta.site_id != site {
                d.problem(
                    "metadata-mismatch",
                    Some(site),
                    Some(id),
                    &toml_path,
                    format!(
                        "the file says id {} of site {}",
                        clip(&meta.id, 40),
                        meta.site_id
                    ),
                );
                continue;
            }
            if !has_pem {
                d.problem(
                    "cert-missing",
                    Some(site),
                    Some(id),
                    &pem_path,
                    "the certificate file is missing",
                );
            } else {
                self.check_cert_file(site, &meta, &pem_path, has_key.then_some(&key_path), d);
            }
            if deleted && has_key {
                d.problem(
                    "key-unexpected",
                    Some(site),
                    Some(id),
                    &key_path,
                    "a deleted certificate still has its private key (it should have been destroyed)",
                );
            } else if !deleted && meta.key_stored && !has_key {
                d.problem(
                    "key-missing",
                    Some(site),
                    Some(id),
                    &key_path,
                    "the metadata says the key is kept, but the key file is missing",
                );
            } else if !deleted && !meta.key_stored && has_key {
                d.problem(
                    "key-unexpected",
                    Some(site),
                    Some(id),
                    &key_path,
                    "a key file for a certificate whose key is not kept",
                );
            }
            metas.push(meta);
        }
        metas
    }

    pub(super) fn check_cert_file(
        &self,
        site: u64,
        meta: &CertMeta,
        pem_path: &Path,
        key_path: Option<&PathBuf>,
        d: &mut Diagnosis,
    ) {
        let id = Some(meta.id.as_str());
        let der = match store::inspect_read(pem_path)
            .map_err(|e| e.to_string())
            .and_then(|t| pem::parse(t).map_err(|e| e.to_string()))
        {
            Ok(p) if p.tag() == "CERTIFICATE" => p.into_contents(),
            Ok(p) => {
                d.problem(
                    "cert-unparsable",
                    Some(site),
                    id,
                    pem_path,
                    format!("PEM label is {}", p.tag()),
                );
                return;
            }
            Err(e) => {
                d.problem("cert-unparsable", Some(site), id, pem_path, e);
                return;
            }
        };
        match pki::inspect(&der) {
            Err(e) => {
                d.problem("cert-unparsable", Some(site), id, pem_path, e.to_string());
                return;
            }
            Ok(info) => {
                if info.serial_hex != meta.serial
                    || info.fingerprint_sha256 != meta.fingerprint_sha256
                {
                    d.problem(
                        "cert-mismatch",
                        Some(site),
                        id,
                        pem_path,
                        format!(
                            "the certificate (serial {}) is not the one the metadata describes (serial {})",
                            info.serial_hex,
                            clip(&meta.serial, 40)
                        ),
                    );
                } else {
                    // Status and expiry are derived from the metadata: it
                    // must say what the certificate says.
                    let differs = [
                        (
                            "NotBefore",
                            clock::esa_time(info.not_before),
                            &meta.not_before,
                        ),
                        ("NotAfter", clock::esa_time(info.not_after), &meta.not_after),
                        (
                            "CommonName",
                            info.subject_cn.clone().unwrap_or_default(),
                            &meta.common_name,
                        ),
                        (
                            "SignatureAlgorithm",
                            info.signature_algorithm.clone(),
                            &meta.signature_algorithm,
                        ),
                    ];
                    for (field, in_cert, in_meta) in differs {
                        if &in_cert != in_meta {
                            d.problem(
                                "meta-mismatch",
                                Some(site),
                                id,
                                pem_path,
                                format!(
                                    "{field} is {} in the certificate but \"{}\" in the metadata",
                                    sanitize(&in_cert),
                                    clip(&sanitize(in_meta), 60)
                                ),
                            );
                        }
                    }
                }
            }
        }
        if let Some(key_path) = key_path {
            match store::inspect_read(key_path).map(zeroize::Zeroizing::new) {
                Err(e) => d.problem("key-unparsable", Some(site), id, key_path, e.to_string()),
                Ok(key) => match pki::key_matches_cert(&key, &der) {
                    Ok(true) => {}
                    Ok(false) => d.problem(
                        "key-mismatch",
                        Some(site),
                        id,
                        key_path,
                        "the private key does not belong to the certificate",
                    ),
                    Err(e) => d.problem("key-unparsable", Some(site), id, key_path, e.to_string()),
                },
            }
        }
    }
}
