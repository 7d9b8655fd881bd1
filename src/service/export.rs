//! Exports of a certificate's material: PEM, DER, its kept key, PKCS#12.

use super::{Service, pki_err, store_err};
use crate::api::Secret;
use crate::base::limits::MAX_P12_PASSWORD_CHARS;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::pki::{self};
use crate::store::{self, CertMeta, Entry};

/// What `export` can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportWhat {
    /// The certificate PEM.
    Cert,
    /// The private key PEM (PKCS#8), when it was kept.
    Key,
    /// Certificate then CA certificate, PEM.
    Chain,
    /// The site CA certificate PEM.
    Ca,
    /// The certificate, DER (binary).
    Der,
    /// PKCS#12 with certificate, key and CA (binary, password-protected):
    /// made by [`Service::export_p12`], which takes the password.
    P12,
}

impl ExportWhat {
    /// Whether the output holds a private key (files get mode 0600).
    pub fn is_secret(self) -> bool {
        matches!(self, ExportWhat::Key | ExportWhat::P12)
    }

    /// Whether the output is binary (not for a terminal).
    pub fn is_binary(self) -> bool {
        matches!(self, ExportWhat::Der | ExportWhat::P12)
    }
}

/// Checks a PKCS#12 password: not empty, at most
/// [`MAX_P12_PASSWORD_CHARS`], no control characters (they do not survive
/// the trip through other tools' prompts). The message never quotes it.
pub fn check_p12_password(password: &str) -> EsaResult<()> {
    let bad = |why: &str| {
        Err(EsaError::new(
            ErrorCode::InvalidParameter,
            format!("the PKCS#12 password {why}"),
        ))
    };
    if password.is_empty() {
        return bad("is empty; a PKCS#12 file with a key needs a password");
    }
    if password.chars().count() > MAX_P12_PASSWORD_CHARS {
        return bad(&format!(
            "is longer than {MAX_P12_PASSWORD_CHARS} characters"
        ));
    }
    if password.chars().any(|c| c.is_control()) {
        return bad("contains control characters");
    }
    Ok(())
}

impl Service {
    /// Exports a certificate's material as bytes. [`ExportWhat::P12`] needs
    /// a password: use [`Service::export_p12`].
    pub fn export(&self, id: &str, what: ExportWhat) -> EsaResult<Vec<u8>> {
        let e = self.entry(id)?;
        let out = match what {
            ExportWhat::Cert => self.store.read_cert(&e).map_err(store_err)?,
            ExportWhat::Ca => self.site_ca_pem(&e)?,
            ExportWhat::Chain => {
                let mut s = self.store.read_cert(&e).map_err(store_err)?;
                if !s.ends_with('\n') {
                    s.push('\n');
                }
                s + &self.site_ca_pem(&e)?
            }
            ExportWhat::Der => return self.cert_der(&e),
            ExportWhat::Key => {
                let key = self.kept_key(&e)?;
                self.check_key_belongs(&e, &key)?;
                self.audit_export(&e, "export-key", None)?;
                tracing::info!(id = %e.meta.id, site = e.meta.site_id, "exported private key");
                return Ok(key.as_bytes().to_vec());
            }
            ExportWhat::P12 => {
                return Err(EsaError::new(
                    ErrorCode::InvalidParameter,
                    "a PKCS#12 export needs a password (Service::export_p12)",
                ));
            }
        };
        Ok(out.into_bytes())
    }

    /// Succeeds when a PKCS#12 (or key) export of `id` is possible: the
    /// certificate exists and its private key was kept. Call it before
    /// asking for a password; the error says why not (CSR, or
    /// `keep_private_keys = false`).
    pub fn check_key_exportable(&self, id: &str) -> EsaResult<()> {
        let e = self.entry(id)?;
        if e.meta.key_stored {
            Ok(())
        } else {
            Err(EsaError::new(
                ErrorCode::InvalidParameter,
                no_key_message(&e.meta),
            ))
        }
    }

    /// Builds a PKCS#12 bundle of certificate `id`: the certificate, its
    /// private key and the site CA, encrypted with `password` (checked with
    /// [`check_p12_password`]) in `mode`. The friendly name is the
    /// certificate's Name, else its CommonName. Nothing is written: the
    /// caller stores the bytes (mode 0600). Errors: `InvalidParameter.Id`,
    /// `InvalidParameter` (no kept key, bad password), `InternalException`.
    pub fn export_p12(
        &self,
        id: &str,
        password: &Secret,
        mode: pki::P12Mode,
    ) -> EsaResult<zeroize::Zeroizing<Vec<u8>>> {
        let e = self.entry(id)?;
        let key = self.kept_key(&e)?;
        check_p12_password(password.expose())?;
        let cert = self.store.read_cert(&e).map_err(store_err)?;
        let ca = self.site_ca_pem(&e)?;
        let friendly = if e.meta.name.trim().is_empty() {
            &e.meta.common_name
        } else {
            &e.meta.name
        };
        let p12 = pki::build_p12(&pki::P12Input {
            cert_pem: &cert,
            key_pem: &key,
            ca_pem: &ca,
            friendly_name: friendly,
            password: password.expose(),
            mode,
        })
        .map_err(pki_err)?;
        self.audit_export(&e, "export-p12", Some(format!("mode={}", mode.label())))?;
        tracing::info!(
            id = %e.meta.id, site = e.meta.site_id, mode = mode.label(),
            "exported PKCS#12 with the private key"
        );
        Ok(p12)
    }

    /// Records that a key left the store (under the write lock, so the
    /// line never interleaves with another process's).
    fn audit_export(&self, e: &Entry, op: &str, detail: Option<String>) -> EsaResult<()> {
        let lock = self.lock()?;
        self.audit(
            &lock,
            vec![store::audit_record(
                op,
                e.meta.site_id,
                &e.meta.id,
                &e.meta.serial,
                detail,
            )],
        )
    }

    /// Refuses to hand out a key file that does not belong to the entry's
    /// certificate (a store damaged or tampered with).
    fn check_key_belongs(&self, e: &Entry, key: &str) -> EsaResult<()> {
        match pki::key_matches_cert(key, &self.cert_der(e)?) {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(EsaError::internal(format!(
                "the key file {} does not belong to certificate {}; nothing was exported (see esa-certs doctor)",
                e.key_path().display(),
                e.meta.id
            ))),
        }
    }

    fn cert_der(&self, e: &Entry) -> EsaResult<Vec<u8>> {
        let text = self.store.read_cert(e).map_err(store_err)?;
        let block = pem::parse(&text).map_err(|err| {
            EsaError::internal(format!(
                "the certificate file {} is unreadable: {err}",
                e.cert_path().display()
            ))
        })?;
        Ok(block.into_contents())
    }

    fn kept_key(&self, e: &Entry) -> EsaResult<zeroize::Zeroizing<String>> {
        self.store
            .read_key(e)
            .map_err(store_err)?
            .ok_or_else(|| EsaError::new(ErrorCode::InvalidParameter, no_key_message(&e.meta)))
    }

    fn site_ca_pem(&self, e: &Entry) -> EsaResult<String> {
        self.store
            .ca_cert_pem(e.meta.site_id)
            .map_err(store_err)?
            .ok_or_else(|| {
                EsaError::internal(format!("the CA of site {} is missing", e.meta.site_id))
            })
    }
}

fn no_key_message(m: &CertMeta) -> String {
    match m.source {
        store::Source::Csr => format!(
            "certificate {} was issued for a CSR: its private key never left the requester",
            m.id
        ),
        store::Source::Generated => format!(
            "the private key of certificate {} was not kept (keep_private_keys = false): it was shown once at issuance",
            m.id
        ),
    }
}
