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
    if t.is_none() {
        eprintln!(
            "esa-certs: {FAKE_NOW_ENV}={} is not an ESA time (2023-12-01T02:12:49Z); ignored",
            crate::text::sanitize(&raw)
        );
    }
    t
}

/// Release builds: always the system clock.
#[cfg(not(debug_assertions))]
fn fake_now() -> Option<OffsetDateTime> {
    None
}

/// `t` plus `days` days, or `None` when the result is outside the years
/// the `time` crate (and X.509's GeneralizedTime) can hold.
pub fn add_days(t: OffsetDateTime, days: i64) -> Option<OffsetDateTime> {
    let secs = days.checked_mul(86_400)?;
    t.checked_add(Duration::seconds(secs))
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
            Some(time::macros::datetime!(2024-11-30 02:12:49 UTC))
        );
        let far = time::macros::datetime!(9999-12-01 00:00:00 UTC);
        assert_eq!(add_days(far, 3650), None);
        assert_eq!(add_days(t, i64::MAX), None);
        assert_eq!(add_days(t, i64::MIN), None);
    }
}
