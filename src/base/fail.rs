//! Test-only crash points: in a debug build, `ESA_CERTS_TEST_FAIL=<name>`
//! aborts the process at the [`point`] of that name, as a `kill -9` there
//! would. The crash tests (`tests/crash.rs`, `tests/odd_stores.rs`) run the
//! binary as a child with it set, then check what the next command and
//! `doctor` make of the store. Release builds compile the points away.

/// The environment variable naming the fail point to abort at.
pub const TEST_FAIL_ENV: &str = "ESA_CERTS_TEST_FAIL";

/// Aborts the process here when `ESA_CERTS_TEST_FAIL` names `name` (debug
/// builds only).
#[cfg(debug_assertions)]
pub fn point(name: &str) {
    if std::env::var(TEST_FAIL_ENV).is_ok_and(|v| v == name) {
        eprintln!("esa-certs: {TEST_FAIL_ENV}={name}: aborting here");
        std::process::abort();
    }
}

/// Release builds: no fail points.
#[cfg(not(debug_assertions))]
pub fn point(_name: &str) {}
