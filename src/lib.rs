//! esa-certs: a terminal certificate desk for mTLS client certificates that
//! does locally what Alibaba Cloud ESA's `CreateClientCertificate` API family
//! does in the cloud.
//!
//! Layers, each calling only the ones below it:
//!
//! ```text
//! cli (clap) ─┐
//!             ├─> service  ESA operations, request/response shapes, error codes
//! tui ────────┘      ├─> pki     keys, CSRs, certificates, CRLs (no I/O)
//!                    ├─> store   files, locking, atomic writes (no crypto policy)
//!                    └─> config  TOML, sites, defaults, paths
//! ```
//!
//! [`error`], [`text`] and [`logging`] are shared helpers.

#![forbid(unsafe_code)]

pub mod acs;
pub mod api;
pub mod base;
pub mod cli;
pub mod config;
pub mod error;
pub mod logging;
pub mod pki;
pub mod remote;
pub mod server;
pub mod service;
pub mod store;
pub mod text;
pub mod tui;
