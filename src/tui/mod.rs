//! The interactive terminal UI (being built: see issue 3).

use std::path::PathBuf;

use crate::error::{EsaError, EsaResult};
use crate::service::Service;

pub fn run(_service: Service, _created_config: Option<PathBuf>) -> EsaResult<()> {
    Err(EsaError::internal(
        "the TUI is not built yet; use the subcommands (esa-certs --help)",
    ))
}
