//! Time as the ESA API writes it, and date arithmetic that cannot panic.
//!
//! Every `now + N days` of the program goes through [`add_days`]: with a
//! clock set far into the future (or a hand-edited ValidityDays) the plain
//! `+` of the `time` crate panics, and a panic on a worker thread must never
//! be how a bad date is reported.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

const ESA_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Formats a UTC time as ESA does: `2023-12-01T02:12:49Z`.
pub fn esa_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(ESA_TIME)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses what [`esa_time`] wrote.
pub fn parse_esa_time(s: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(s, ESA_TIME)
        .ok()
        .map(|t| t.assume_utc())
}

/// The environment variable that replaces the system clock in a debug
/// build (tests of clock faults: a clock set back, or far ahead). Its value
/// is an ESA time (`2023-12-01T02:12:49Z`); release builds ignore it.
pub const FAKE_NOW_ENV: &str = "ESA_CERTS_FAKE_NOW";

/// The current time truncated to whole seconds (certificates carry seconds).
///
/// In a debug build, [`FAKE_NOW_ENV`] set to an ESA time is "now" instead
/// (an unreadable value is ignored, with a line on stderr).
pub fn now_seconds() -> OffsetDateTime {
    if let Some(fake) = fake_now() {
        return fake;
    }
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

#[cfg(debug_assertions)]
fn fake_now() -> Option<OffsetDateTime> {
    let raw = std::env::var(FAKE_NOW_ENV).ok()?;
    let t = parse_esa_time(&raw);
    static SAID: std::sync::Once = std::sync::Once::new();
    if t.is_none() {
        SAID.call_once(|| {
            eprintln!(
                "esa-certs: {FAKE_NOW_ENV}={} is not an ESA time (2023-12-01T02:12:49Z); ignored",
                crate::text::sanitize(&raw)
            );
        });
    }
    t
}

/// Release builds: always the system clock.
#[cfg(not(debug_assertions))]
fn fake_now() -> Option<OffsetDateTime> {
    None
}

/// The last instant an X.509 date can hold (GeneralizedTime has four
/// digits of year, RFC 5280 4.1.2.5).
pub const LAST_X509_TIME: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59 UTC);

/// `days` days from `from` is not a date a certificate or CRL can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{days} days from {} is past {}, the last date an X.509 certificate or CRL can hold",
    esa_time(*from),
    esa_time(LAST_X509_TIME)
)]
pub struct DateOutOfRange {
    pub from: OffsetDateTime,
    pub days: i64,
}

/// `t` plus `days` days, checked: an error when the sum overflows or is
/// not a date X.509 can encode (after 9999-12-31, before year 0). The one
/// way the program adds days to a time outside tests.
pub fn add_days(t: OffsetDateTime, days: i64) -> Result<OffsetDateTime, DateOutOfRange> {
    days.checked_mul(86_400)
        .and_then(|secs| t.checked_add(Duration::seconds(secs)))
        .filter(|end| end.year() >= 0 && *end <= LAST_X509_TIME)
        .ok_or(DateOutOfRange { from: t, days })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esa_time_round_trips() {
        let t = time::macros::datetime!(2023-12-01 02:12:49 UTC);
        assert_eq!(esa_time(t), "2023-12-01T02:12:49Z");
        assert_eq!(parse_esa_time("2023-12-01T02:12:49Z"), Some(t));
        assert_eq!(parse_esa_time("2023-12-01 02:12:49"), None);
    }

    #[test]
    fn add_days_is_checked() {
        let t = time::macros::datetime!(2023-12-01 02:12:49 UTC);
        assert_eq!(
            add_days(t, 365),
            Ok(time::macros::datetime!(2024-11-30 02:12:49 UTC))
        );
        let far = time::macros::datetime!(9999-12-01 00:00:00 UTC);
        assert_eq!(
            add_days(far, 30),
            Ok(time::macros::datetime!(9999-12-31 00:00:00 UTC))
        );
        let e = add_days(far, 31).unwrap_err();
        assert_eq!(
            e,
            DateOutOfRange {
                from: far,
                days: 31
            }
        );
        assert!(e.to_string().contains("9999-12-31T23:59:59Z"), "{e}");
        assert!(add_days(far, 3650).is_err());
        assert!(add_days(t, i64::MAX).is_err());
        assert!(add_days(t, i64::MIN).is_err());
        let first = time::macros::datetime!(0000-01-01 00:00:00 UTC);
        assert!(add_days(first, -1).is_err());
    }
}
