//! Where a PKCS#12 password comes from: a file (or stdin) named by
//! `--password-file`, or the terminal with echo off. Never a plain argument:
//! those end up in shell history and in `ps` output.

use crate::base::limits::MAX_P12_PASSWORD_CHARS;
use std::io::{IsTerminal, Read};
use std::path::Path;

use zeroize::Zeroizing;

use crate::api::Secret;
use crate::error::{ErrorCode, EsaError, EsaResult};
use crate::service::{
    CA_PASSPHRASE_ENV, PassphrasePurpose, check_ca_passphrase, check_p12_password,
};

/// Biggest password file read (a password is one line).
const MAX_FILE_BYTES: u64 = 4 * (MAX_P12_PASSWORD_CHARS as u64) + 2;

fn invalid(msg: impl Into<String>) -> EsaError {
    EsaError::new(ErrorCode::InvalidParameter, msg)
}

/// Reads the password from `file` (`-`: stdin), or prompts for it twice on
/// the terminal when no file is given. Fails when there is neither a file
/// nor a terminal to ask on.
pub fn read(file: Option<&Path>) -> EsaResult<Secret> {
    let password = match file {
        Some(path) => from_file(path)?,
        None => prompt()?,
    };
    check_p12_password(password.expose())?;
    Ok(password)
}

fn from_file(path: &Path) -> EsaResult<Secret> {
    let mut raw = Zeroizing::new(Vec::new());
    let shown = path.display().to_string();
    let res = if shown == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut raw)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut raw))
    };
    res.map_err(|e| {
        invalid(format!(
            "cannot read the password file {}: {e}",
            crate::text::sanitize(&shown)
        ))
    })?;
    if raw.len() as u64 > MAX_FILE_BYTES {
        return Err(invalid(format!(
            "the password file {} is too big for a password (its first line is used)",
            crate::text::sanitize(&shown)
        )));
    }
    first_line(&raw).ok_or_else(|| {
        invalid(format!(
            "the password file {} is not UTF-8 text",
            crate::text::sanitize(&shown)
        ))
    })
}

/// The first line, without its `\n` or `\r\n`, as OpenSSL's `file:` does.
fn first_line(raw: &[u8]) -> Option<Secret> {
    let text = std::str::from_utf8(raw).ok()?;
    let line = text.split('\n').next().unwrap_or("");
    let line = line.strip_suffix('\r').unwrap_or(line);
    Some(Secret(Zeroizing::new(line.to_owned())))
}

fn prompt() -> EsaResult<Secret> {
    if !std::io::stdin().is_terminal() {
        return Err(invalid(
            "a PKCS#12 export needs a password: give --password-file FILE (or - for stdin); \
             stdin is not a terminal to ask on",
        ));
    }
    let ask = |label: &str| {
        rpassword::prompt_password(label)
            .map(|p| Secret(Zeroizing::new(p)))
            .map_err(|e| invalid(format!("cannot read the password from the terminal: {e}")))
    };
    let first = ask("PKCS#12 password: ")?;
    check_p12_password(first.expose())?;
    let again = ask("Repeat the password: ")?;
    if first != again {
        return Err(invalid(
            "the two passwords do not match; nothing was written",
        ));
    }
    Ok(first)
}

/// The CLI's CA passphrase prompt: asks on the terminal (twice for a new
/// passphrase); `None` when stdin is not a terminal.
pub fn ca_prompt(site_id: u64, purpose: PassphrasePurpose) -> EsaResult<Option<Secret>> {
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    match purpose {
        PassphrasePurpose::Unlock => {
            let p = ask_ca(&format!("Passphrase of the CA key of site {site_id}: "))?;
            check_ca_passphrase(p.expose())?;
            Ok(Some(p))
        }
        PassphrasePurpose::New => new_ca_passphrase().map(Some),
    }
}

/// A new CA passphrase, asked twice on the terminal.
pub fn new_ca_passphrase() -> EsaResult<Secret> {
    if !std::io::stdin().is_terminal() {
        return Err(EsaError::new(
            ErrorCode::CaPassphrase,
            format!(
                "a new CA passphrase is needed: give --new-passphrase-file FILE or set {CA_PASSPHRASE_ENV}; \
                 stdin is not a terminal to ask on"
            ),
        ));
    }
    let first = ask_ca("New CA key passphrase: ")?;
    check_ca_passphrase(first.expose())?;
    let again = ask_ca("Repeat the passphrase: ")?;
    if first != again {
        return Err(EsaError::new(
            ErrorCode::CaPassphrase,
            "the two passphrases do not match; nothing was changed",
        ));
    }
    Ok(first)
}

fn ask_ca(label: &str) -> EsaResult<Secret> {
    rpassword::prompt_password(label)
        .map(|p| Secret(Zeroizing::new(p)))
        .map_err(|e| {
            EsaError::new(
                ErrorCode::CaPassphrase,
                format!("cannot read the passphrase from the terminal: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_drops_the_line_end_only() {
        let s = |b: &[u8]| first_line(b).map(|p| p.expose().to_owned());
        assert_eq!(s(b"pw\n").as_deref(), Some("pw"));
        assert_eq!(s(b"pw\r\nsecond\n").as_deref(), Some("pw"));
        assert_eq!(s(b" spaced pw ").as_deref(), Some(" spaced pw "));
        assert_eq!(s(b"\n").as_deref(), Some(""));
        assert_eq!(s(&[0xff, 0xfe]), None);
    }
}
