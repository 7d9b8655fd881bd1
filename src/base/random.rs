//! Randomness from the operating system's CSPRNG (through aws-lc, which
//! this crate seeds from `getrandom`), and the identifiers made from it.

use time::OffsetDateTime;

/// The system random generator failed (it practically never does; the
/// callers turn it into their own error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random generator failed")]
pub struct RandomUnavailable;

/// Fills `N` bytes from the operating system's CSPRNG (via aws-lc).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomUnavailable> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| RandomUnavailable)?;
    Ok(out)
}

/// A fresh 32-hex-digit identifier (128 random bits), as ESA's `Id`.
pub fn new_id() -> Result<String, RandomUnavailable> {
    Ok(crate::text::hex(&random_bytes::<16>()?))
}

/// A fresh request id: an upper-case UUID v4 string.
pub fn new_request_id() -> String {
    let mut b = random_bytes::<16>().unwrap_or_else(|_| {
        // The id only labels a response; a time-based fallback is enough.
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        nanos.to_be_bytes()
    });
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::text::hex(&b).to_uppercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_is_an_upper_case_uuid_v4() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_uppercase());
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, new_request_id());
    }

    #[test]
    fn ids_are_32_lower_hex() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
}
