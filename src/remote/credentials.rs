//! The access key a remote is called with: the `[[remote]]` table's
//! `access_key_id` and `access_key_secret_file` (0600, read like `serve`'s
//! secret files), else the variables the official SDKs and the aliyun CLI
//! read. The secret is never formatted: `Debug` shows the id only.

use zeroize::Zeroizing;

use crate::config::Remote;
use crate::error::{ErrorCode, EsaError, EsaResult};

/// The variable with the AccessKeyId when the table has none.
pub const ACCESS_KEY_ID_ENV: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// The variable with the secret when the table names no file.
pub const ACCESS_KEY_SECRET_ENV: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";

pub struct Credentials {
    access_key_id: String,
    secret: Zeroizing<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl Credentials {
    pub fn new(access_key_id: String, secret: Zeroizing<String>) -> Credentials {
        Credentials {
            access_key_id,
            secret,
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// For the signer only.
    pub(super) fn secret(&self) -> &str {
        &self.secret
    }

    /// The credentials of `remote`; `env` reads a variable (the process
    /// environment in use, a map in tests).
    pub fn load(remote: &Remote, env: impl Fn(&str) -> Option<String>) -> EsaResult<Credentials> {
        let missing = |what: &str, var: &str| {
            EsaError::new(
                ErrorCode::InvalidConfig,
                format!(
                    "remote {}: no {what}: set {} in its [[remote]] table or ${var}",
                    remote.name,
                    if what == "AccessKeyId" {
                        "access_key_id"
                    } else {
                        "access_key_secret_file"
                    }
                ),
            )
        };
        let access_key_id = match &remote.access_key_id {
            Some(id) => id.clone(),
            None => env(ACCESS_KEY_ID_ENV)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| missing("AccessKeyId", ACCESS_KEY_ID_ENV))?,
        };
        if access_key_id.len() > 128 || !access_key_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(EsaError::new(
                ErrorCode::InvalidConfig,
                format!(
                    "remote {}: the AccessKeyId must be 1 to 128 printable ASCII characters",
                    remote.name
                ),
            ));
        }
        let secret = match &remote.access_key_secret_file {
            Some(path) => crate::acs::read_secret_file(path).map_err(|why| {
                EsaError::new(
                    ErrorCode::InvalidConfig,
                    format!(
                        "remote {}: access_key_secret_file {}: {why}",
                        remote.name,
                        path.display()
                    ),
                )
            })?,
            None => {
                let v = Zeroizing::new(env(ACCESS_KEY_SECRET_ENV).unwrap_or_default());
                let trimmed = v.trim();
                if trimmed.is_empty() {
                    return Err(missing("access key secret", ACCESS_KEY_SECRET_ENV));
                }
                Zeroizing::new(trimmed.to_owned())
            }
        };
        Ok(Credentials {
            access_key_id,
            secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn remote(id: Option<&str>, file: Option<std::path::PathBuf>) -> Remote {
        Remote {
            name: "t".into(),
            endpoint: "http://127.0.0.1:1".into(),
            access_key_id: id.map(str::to_owned),
            access_key_secret_file: file,
            ca_file: None,
            keep_private_keys: false,
        }
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_table_first_then_the_sdk_variables() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("s");
        std::fs::write(&f, "fromfile\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let vars = [
            (ACCESS_KEY_ID_ENV, "ENVID"),
            (ACCESS_KEY_SECRET_ENV, "fromenv"),
        ];
        let c = Credentials::load(&remote(Some("CFGID"), Some(f.clone())), env(&vars)).unwrap();
        assert_eq!((c.access_key_id(), c.secret()), ("CFGID", "fromfile"));
        let c = Credentials::load(&remote(None, None), env(&vars)).unwrap();
        assert_eq!((c.access_key_id(), c.secret()), ("ENVID", "fromenv"));
        let shown = format!("{c:?}");
        assert!(
            shown.contains("ENVID") && !shown.contains("fromenv"),
            "{shown}"
        );

        let e = Credentials::load(&remote(None, None), env(&[])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidConfig);
        assert!(e.message.contains(ACCESS_KEY_ID_ENV), "{}", e.message);
        let e = Credentials::load(&remote(Some("X"), None), env(&[])).unwrap_err();
        assert!(e.message.contains(ACCESS_KEY_SECRET_ENV), "{}", e.message);

        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Credentials::load(&remote(Some("X"), Some(f)), env(&[])).unwrap_err();
        assert!(
            e.message.contains("chmod 600") && !e.message.contains("fromfile"),
            "{}",
            e.message
        );
    }
}
