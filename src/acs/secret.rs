//! Reading an access key's secret from a file, the one way both ends do
//! it (`serve`'s `[[access_key]] secret_file` and a `[[remote]]`'s
//! `access_key_secret_file`): a regular file, never through a symbolic
//! link, not readable or writable by group or others, the secret alone on
//! one line. Errors say what is wrong with the file, never its content.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use zeroize::Zeroizing;

/// Longest secret file read.
pub const MAX_SECRET_BYTES: u64 = 4096;

/// The secret in `path` (one trailing newline stripped), or why the file
/// is refused.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<String>, String> {
    let file = crate::base::fs::open_no_follow(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {mode:o} lets others read it; run chmod 600 on it"
        ));
    }
    let text = Zeroizing::new(
        crate::base::fs::read_limited(path, MAX_SECRET_BYTES).map_err(|e| e.to_string())?,
    );
    let secret = text.strip_suffix('\n').unwrap_or(&text);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.is_empty() || secret.contains(['\n', '\r']) {
        return Err("expected the secret alone on one line".into());
    }
    Ok(Zeroizing::new(secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn a_private_one_line_file_is_read_and_anything_else_refused() {
        let d = tempfile::tempdir().unwrap();
        let ok = file(d.path(), "ok", "s3cret\n", 0o600);
        assert_eq!(read_secret_file(&ok).unwrap().as_str(), "s3cret");
        let crlf = file(d.path(), "crlf", "s3cret\r\n", 0o400);
        assert_eq!(read_secret_file(&crlf).unwrap().as_str(), "s3cret");
        let loose = file(d.path(), "loose", "s3cret\n", 0o640);
        let why = read_secret_file(&loose).unwrap_err();
        assert!(why.contains("mode 640") && !why.contains("s3cret"), "{why}");
        for (name, text) in [("empty", ""), ("two", "a\nb\n")] {
            let p = file(d.path(), name, text, 0o600);
            let why = read_secret_file(&p).unwrap_err();
            assert!(why.contains("one line") && !why.contains("a\nb"), "{why}");
        }
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&ok, &link).unwrap();
        assert!(read_secret_file(&link).is_err(), "a link is refused");
        assert!(read_secret_file(&d.path().join("missing")).is_err());
    }
}
