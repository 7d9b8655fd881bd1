//! The ESA client-certificate API as the program's front ends see it: the
//! request and response shapes (field names and JSON types as ESA's), the
//! certificate status and the rules that hang on it.
//!
//! It is the vocabulary shared by every front end (CLI, TUI, HTTP server)
//! and every backend (the local service, a remote ESA endpoint), so it
//! depends on nothing but the ground floor ([`crate::base`], [`crate::error`],
//! [`crate::text`]).

mod backend;
pub mod input;
mod status;
mod types;
pub mod wire;

pub use backend::{Backend, Origin, Overview, Page, bundled, no_managed_ca, unsupported};

pub use input::{InputRules, IssueDefaults, SiteRef};

pub use status::{
    EXPIRING_SOON_DAYS, Facts, Lifecycle, Status, UnknownStatus, days_shown, days_shown_secs,
    expiring_within,
};
pub use types::*;
