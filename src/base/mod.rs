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
pub mod random;
