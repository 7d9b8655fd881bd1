//! The limits of the ESA fields and of what the program reads, in one
//! place: the service enforces them, the config checks against them, the
//! PKI layer refuses CSRs past them, and the TUI caps its fields at them
//! (a field never holds more than the service would accept).

/// Largest ValidityDays a client certificate may ask for (ESA's limit).
pub const MAX_VALIDITY_DAYS: u32 = 3650;
/// Longest a site CA may live.
pub const MAX_CA_VALIDITY_DAYS: u32 = 36500;
/// RFC 5280's upper bound for a CommonName.
pub const MAX_COMMON_NAME_CHARS: usize = 64;
/// Longest `Name` label (characters).
pub const MAX_NAME_CHARS: usize = 128;
/// Biggest CSR accepted (ESA's 64 KiB).
pub const MAX_CSR_BYTES: usize = 64 * 1024;
/// Biggest config file read: most are a few KiB, but a config of 30,000
/// `[[site]]`s is about 1.3 MB; 8 MiB leaves room for 100,000 and still
/// stops `--config /dev/zero` or a log file given by mistake.
pub const MAX_CONFIG_BYTES: u64 = 8 << 20;
/// Longest PKCS#12 password accepted (characters).
pub const MAX_P12_PASSWORD_CHARS: usize = 1024;
/// Longest CA passphrase accepted (characters).
pub const MAX_PASSPHRASE_CHARS: usize = 1024;
/// Most hostnames bound to one CA or certificate (ESA's limit).
pub const MAX_HOSTNAMES: usize = 50;
/// Biggest uploaded CA certificate (PEM text).
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024;
/// The TUI's `/` filter: longer than any field it matches (Name, CommonName, Id).
pub const MAX_SEARCH_CHARS: usize = 256;
