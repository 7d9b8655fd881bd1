//! The commands that read or write files of their own: `export` (staged
//! output with the right mode), `doctor`, `rekey-protect`, and reading a
//! CSR from a file or stdin.

use super::*;

pub(super) fn export(desk: &Desk, a: ExportArgs, out: &mut impl Write) -> EsaResult<()> {
    let what = match a.what {
        WhatArg::Cert => ExportWhat::Cert,
        WhatArg::Key => ExportWhat::Key,
        WhatArg::Chain => ExportWhat::Chain,
        WhatArg::Ca => ExportWhat::Ca,
        WhatArg::Der => ExportWhat::Der,
        WhatArg::P12 => ExportWhat::P12,
    };
    if what != ExportWhat::P12 && (a.password_file.is_some() || a.legacy) {
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            "--password-file and --legacy only apply to --what p12",
        ));
    }
    if what.is_binary() && a.out.is_none() && std::io::stdout().is_terminal() {
        return Err(EsaError::new(
            ErrorCode::InvalidParameter,
            "refusing to write binary output to a terminal; use --out FILE or redirect stdout",
        ));
    }
    // The destination is prepared first: a key export is audited before
    // the key leaves the store, so a path that cannot be written must fail
    // before the audit record is made (a refused export changes nothing).
    let staged = a
        .out
        .as_deref()
        .map(|path| stage_out(path, what.is_secret()))
        .transpose()?;
    let site = desk.site_opt(a.site_id.as_deref())?;
    if let (Desk::Local(_), Some(_)) = (desk, site) {
        // The store finds the entry by Id alone: say so if it is not there.
        desk.backend().get(site, &a.id)?;
    }
    let mut note = None;
    let bytes = if what == ExportWhat::P12 {
        // Say "no key" before asking for a password that cannot be used.
        match desk {
            Desk::Local(service) => service.check_key_exportable(&a.id)?,
            Desk::Remote(_) => drop(desk.backend().private_key(site, &a.id)?),
        }
        let password = password::read(a.password_file.as_deref())?;
        let mode = if a.legacy {
            P12Mode::Legacy
        } else {
            P12Mode::Modern
        };
        note = Some(format!(
            "PKCS#12 ({}) with certificate, private key and CA",
            mode.label()
        ));
        desk.backend().export_p12(site, &a.id, &password, mode)?
    } else {
        match desk {
            Desk::Local(service) => zeroize::Zeroizing::new(service.export(&a.id, what)?),
            Desk::Remote(_) => remote_export(desk.backend(), site, &a.id, what)?,
        }
    };
    match (staged, a.out) {
        (Some(staged), Some(path)) => {
            staged.commit(&bytes).map_err(cannot_write(&path))?;
            if let Some(n) = note {
                eprintln!(
                    "esa-certs: wrote {n} to {}",
                    crate::text::sanitize(&path.display().to_string())
                );
            }
            Ok(())
        }
        _ if what.is_binary() => out.write_all(&bytes).map_err(stdout_err),
        _ => match std::str::from_utf8(&bytes) {
            Ok(pem) => write_pem(out, pem),
            Err(_) => out.write_all(&bytes).map_err(stdout_err),
        },
    }
}

/// Writes PEM text read from the store to stdout. A well-formed PEM is
/// written byte for byte; a hand-edited file's control, bidi or format
/// characters are escaped so they cannot act on a terminal. The escaped
/// copy (it may be a private key) lives in a zeroizing buffer sized so it
/// never reallocates.
pub(super) fn write_pem(out: &mut impl Write, pem: &str) -> EsaResult<()> {
    if !crate::text::lines_need_escaping(pem) {
        return out.write_all(pem.as_bytes()).map_err(stdout_err);
    }
    let mut shown = zeroize::Zeroizing::new(String::with_capacity(pem.len() * 10));
    crate::text::sanitize_lines_into(pem, &mut shown);
    out.write_all(shown.as_bytes()).map_err(stdout_err)
}

pub(super) fn doctor(
    service: &Service,
    fix: bool,
    json: bool,
    out: &mut impl Write,
) -> EsaResult<()> {
    let report = service.doctor(fix)?;
    if json {
        output::json(out, &report)?;
    } else {
        output::doctor(out, &report)?;
    }
    out.flush().map_err(stdout_err)?;
    if report.clean {
        Ok(())
    } else {
        Err(EsaError::new(
            ErrorCode::StoreProblems,
            format!(
                "doctor found {} problem(s) in the store{}",
                report.problems,
                if fix {
                    " that --fix cannot repair safely"
                } else {
                    "; see above (doctor --fix repairs the safe ones)"
                }
            ),
        ))
    }
}

pub(super) fn rekey_protect(
    service: &Service,
    site_id: Option<String>,
    all: bool,
    new_file: Option<PathBuf>,
    json: bool,
    out: &mut impl Write,
) -> EsaResult<()> {
    let sites: Vec<u64> = if all {
        service.sites_with_ca()?
    } else {
        vec![check_site(service, site_id.as_deref())?.id]
    };
    let any_plain = sites
        .iter()
        .map(|&s| service.ca_key_protected(s).map(|p| !p))
        .collect::<EsaResult<Vec<bool>>>()?
        .into_iter()
        .any(|plain| plain);
    let new = match new_file {
        Some(f) => crate::service::read_passphrase_file(&f)?,
        None => match std::env::var_os(crate::service::CA_PASSPHRASE_ENV).filter(|_| any_plain) {
            // Migration: the passphrase the store will be opened with.
            Some(f) => crate::service::read_passphrase_file(Path::new(&f))?,
            None => password::new_ca_passphrase()?,
        },
    };
    let mut done = Vec::new();
    for (site, was_plain) in sites
        .iter()
        .copied()
        .zip(service.rekey_protect(&sites, &new)?)
    {
        if !json {
            eprintln!(
                "esa-certs: the CA key of site {site} is now encrypted at rest ({})",
                if was_plain {
                    "it was plaintext"
                } else {
                    "new passphrase"
                }
            );
        }
        done.push(serde_json::json!({"SiteId": site, "WasPlaintext": was_plain}));
    }
    if json {
        output::json(
            out,
            &serde_json::json!({
                "RequestId": random::new_request_id(),
                "Result": done,
            }),
        )?;
    }
    Ok(())
}

/// Reads a CSR from a file or stdin, never more than the limit (+1 byte so
/// the parser can say the input was too big).
pub(super) fn read_csr(src: &str) -> EsaResult<Vec<u8>> {
    let limit = MAX_CSR_BYTES as u64 + 1;
    let mut buf = Vec::new();
    let res = if src == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut buf)
    } else {
        std::fs::File::open(src).and_then(|f| f.take(limit).read_to_end(&mut buf))
    };
    res.map_err(|e| {
        EsaError::new(
            ErrorCode::InvalidCsr,
            format!(
                "cannot read the CSR from {}: {e}",
                crate::text::sanitize(src)
            ),
        )
    })?;
    Ok(buf)
}

pub(super) fn stdout_err(e: std::io::Error) -> EsaError {
    EsaError::internal(format!("cannot write to stdout: {e}"))
}

/// Writes an export file atomically; secrets are created 0600.
pub(super) fn stage_out(path: &Path, secret: bool) -> EsaResult<crate::base::fs::Staged> {
    let mode = if secret {
        crate::base::fs::FILE_MODE_PRIVATE
    } else {
        0o644
    };
    crate::base::fs::Staged::create(path, mode).map_err(cannot_write(path))
}

pub(super) fn cannot_write(path: &Path) -> impl Fn(std::io::Error) -> EsaError + '_ {
    move |e| {
        EsaError::new(
            ErrorCode::InvalidParameter,
            format!("cannot write {}: {e}", path.display()),
        )
    }
}

/// `export` from a remote: the certificate from GetClientCertificate, the
/// CA from the site's managed CA, the key from this machine's key folder
/// (`keep_private_keys`), all through the backend.
fn remote_export(
    backend: &dyn Backend,
    site: Option<u64>,
    id: &str,
    what: ExportWhat,
) -> EsaResult<zeroize::Zeroizing<Vec<u8>>> {
    if what == ExportWhat::Key {
        let key = backend.private_key(site, id)?;
        return Ok(zeroize::Zeroizing::new(key.expose().as_bytes().to_vec()));
    }
    let got = backend.get(site, id)?;
    let ca = || {
        backend
            .ca_pem(got.site_id)?
            .ok_or_else(|| crate::api::no_managed_ca(&backend.origin(), got.site_id))
    };
    let mut cert = got.certificate.clone();
    if !cert.ends_with('\n') {
        cert.push('\n');
    }
    let out = match what {
        ExportWhat::Cert => cert.into_bytes(),
        ExportWhat::Ca => ca()?.into_bytes(),
        ExportWhat::Chain => (cert + &ca()?).into_bytes(),
        ExportWhat::Der => pem::parse(&cert)
            .map_err(|e| {
                EsaError::new(
                    ErrorCode::InternalException,
                    format!(
                        "the certificate {id} from {} is not PEM: {e}",
                        backend.origin()
                    ),
                )
            })?
            .into_contents(),
        ExportWhat::Key | ExportWhat::P12 => {
            return Err(EsaError::internal("a key export takes the key path"));
        }
    };
    Ok(zeroize::Zeroizing::new(out))
}
