//! The ground floor: small helpers that every layer may use and that use
//! nothing of ours but [`crate::text`]. They live here, not in `pki` or
//! `store`, so that `config`, `store` and `pki` can share a clock, a random
//! source, the limits of the ESA fields and the file primitives without
//! importing each other (imports point down; a helper that two siblings
//! need sits below both).

pub mod clock;
pub mod fail;
pub mod fs;
pub mod limits;
pub mod pool;
pub mod random;

/// Test-only fault injection: in a debug build, `ESA_CERTS_TEST_FAIL=<name>`
/// makes the fail point of that name fire (the caller decides what firing
/// means: abort as a `kill -9` would, or fail as the OS might). Always
/// `false` in a release build.
pub fn failpoint(name: &str) -> bool {
    cfg!(debug_assertions) && std::env::var("ESA_CERTS_TEST_FAIL").is_ok_and(|v| v == name)
}
