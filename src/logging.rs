//! Logs go to `<store>/logs/esa-certs.log` (mode 0600), never to the
//! terminal the TUI owns. `ESA_CERTS_LOG` sets the filter (default `info`).
//! Nothing logged carries key material: the service logs ids, serials and
//! sites only.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

/// The environment variable holding the log filter (`debug`, `warn`, ...).
pub const LOG_ENV: &str = "ESA_CERTS_LOG";

/// Starts logging into the store's log file. Failing to open the log is not
/// fatal: the tool works without it.
pub fn init(store_root: &Path) {
    let dir = store_root.join("logs");
    if crate::base::fs::create_private_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(crate::base::fs::FILE_MODE_PRIVATE)
        .custom_flags(crate::base::fs::NO_FOLLOW_NO_BLOCK)
        .open(dir.join("esa-certs.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}
