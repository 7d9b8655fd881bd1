//! A certificate's status and the rules that depend on it, in one place.
//!
//! The service enforces these rules and every front end asks them before
//! it offers an operation, so the TUI's refusal in the status line and the
//! service's `Certificate.StatusError` are the same sentence from the same
//! function ([`Lifecycle::refusal`]), and a remote backend or the HTTP
//! server inherits them without a copy.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Days before NotAfter at which an active certificate counts as
/// expiring soon (`sites`' `ExpiringSoonCount`, the TUI's `!` mark).
pub const EXPIRING_SOON_DAYS: i64 = 30;

/// The status shown for a certificate. `expired` is never stored: it is
/// derived from NotAfter whenever a status is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Revoked,
    Expired,
}

impl Status {
    /// The wire spelling: `active`, `revoked`, `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }

    /// A status typed by a person (`--status ACTIVE`): any case, trimmed.
    /// Wire values are parsed strictly by serde or [`FromStr`].
    pub fn parse_lenient(s: &str) -> Option<Status> {
        s.trim().to_ascii_lowercase().parse().ok()
    }

    /// The status of a certificate whose record says `revoked` (or not) at
    /// `now`: past its NotAfter it is `expired` whatever the record says.
    pub fn derive(
        revoked_on_record: bool,
        not_after: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Status {
        match not_after {
            Some(na) if na <= now => Status::Expired,
            _ if revoked_on_record => Status::Revoked,
            _ => Status::Active,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status value that is not one of the three (from the wire or a file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown certificate status {0:?} (expected active, revoked or expired)")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;

    /// Exactly the wire spelling; anything else is an error, never a
    /// silent `active`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Status::Active),
            "revoked" => Ok(Status::Revoked),
            "expired" => Ok(Status::Expired),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

/// An operation on an issued certificate that its status may forbid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifecycle {
    Revoke,
    Activate,
    Delete,
    Renew,
}

/// What the rules need to know about a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts<'a> {
    /// The status shown (expiry derived).
    pub status: Status,
    /// Its record says revoked, even if it shows `expired` since.
    pub revoked_on_record: bool,
    /// The Id of its successor, when it was renewed and the successor
    /// still exists.
    pub live_successor: Option<&'a str>,
}

impl Lifecycle {
    /// "Revoke", "Activate", "Delete", "Renew".
    pub fn verb(self) -> &'static str {
        match self {
            Lifecycle::Revoke => "Revoke",
            Lifecycle::Activate => "Activate",
            Lifecycle::Delete => "Delete",
            Lifecycle::Renew => "Renew",
        }
    }

    /// The statuses from which the operation is allowed (ESA's rules:
    /// revoke needs active, activate needs revoked, delete needs revoked;
    /// ours: delete also takes expired, renew takes active or expired).
    pub fn allowed_from(self) -> &'static [Status] {
        match self {
            Lifecycle::Revoke => &[Status::Active],
            Lifecycle::Activate => &[Status::Revoked],
            Lifecycle::Delete => &[Status::Revoked, Status::Expired],
            Lifecycle::Renew => &[Status::Active, Status::Expired],
        }
    }

    /// Why the operation is refused, or `None` when the rules allow it.
    /// The sentence is what the TUI shows and what the service's
    /// `Certificate.StatusError` says.
    pub fn refusal(self, f: Facts<'_>) -> Option<String> {
        if self == Lifecycle::Renew {
            // A revoked certificate stays unrenewable once it has expired:
            // renewing it would silently re-grant access someone took away.
            if f.revoked_on_record || f.status == Status::Revoked {
                return Some(
                    "A revoked certificate is not renewed: activate it first, or issue a new one"
                        .into(),
                );
            }
            // Renewed once already: refused while the successor exists, so
            // the history never forks.
            if let Some(next) = f.live_successor {
                return Some(format!("Already renewed by {next}: renew that one instead"));
            }
            return None;
        }
        if self.allowed_from().contains(&f.status) {
            return None;
        }
        let need = match self {
            Lifecycle::Revoke => "an active certificate",
            Lifecycle::Activate => "a revoked certificate",
            Lifecycle::Delete => "a revoked or expired certificate",
            Lifecycle::Renew => "an active or expired certificate",
        };
        Some(format!(
            "{} needs {need}; this one is {}",
            self.verb(),
            f.status
        ))
    }
}

/// Whether an active certificate with this NotAfter expires within `days`
/// days of `now` (strictly less, on the exact time; never once past).
pub fn expiring_within(
    status: Status,
    not_after: OffsetDateTime,
    now: OffsetDateTime,
    days: i64,
) -> bool {
    let left = (not_after - now).whole_seconds();
    status == Status::Active && left > 0 && left < days.saturating_mul(86_400)
}

/// Days left as every front end shows them: a started day counts as one,
/// so a certificate issued now for N days shows N, one with an hour left
/// 1, and one that expired an hour ago -1 (never 0 after NotAfter).
/// Rules such as "expiring within 30 days" use the exact time instead.
pub fn days_shown(not_after: OffsetDateTime, now: OffsetDateTime) -> i64 {
    days_shown_secs((not_after - now).whole_seconds())
}

/// [`days_shown`] for a number of seconds until NotAfter.
pub fn days_shown_secs(secs: i64) -> i64 {
    let days = i64::try_from(secs.unsigned_abs().div_ceil(86_400)).unwrap_or(i64::MAX);
    if secs < 0 { -days } else { days }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn facts(status: Status) -> Facts<'static> {
        Facts {
            status,
            revoked_on_record: status == Status::Revoked,
            live_successor: None,
        }
    }

    #[test]
    fn the_transition_table() {
        use Lifecycle::*;
        use Status::*;
        // (operation, from, allowed)
        let table = [
            (Revoke, Active, true),
            (Revoke, Revoked, false),
            (Revoke, Expired, false),
            (Activate, Active, false),
            (Activate, Revoked, true),
            (Activate, Expired, false),
            (Delete, Active, false),
            (Delete, Revoked, true),
            (Delete, Expired, true),
            (Renew, Active, true),
            (Renew, Revoked, false),
            (Renew, Expired, true),
        ];
        for (op, from, allowed) in table {
            assert_eq!(
                op.refusal(facts(from)).is_none(),
                allowed,
                "{op:?} from {from}"
            );
        }
    }

    #[test]
    fn refusals_are_the_sentences_the_tui_shows() {
        assert_eq!(
            Lifecycle::Activate.refusal(facts(Status::Active)).unwrap(),
            "Activate needs a revoked certificate; this one is active"
        );
        assert_eq!(
            Lifecycle::Revoke.refusal(facts(Status::Expired)).unwrap(),
            "Revoke needs an active certificate; this one is expired"
        );
        assert_eq!(
            Lifecycle::Delete.refusal(facts(Status::Active)).unwrap(),
            "Delete needs a revoked or expired certificate; this one is active"
        );
    }

    #[test]
    fn renew_refuses_a_certificate_revoked_on_record_even_once_expired() {
        let f = Facts {
            status: Status::Expired,
            revoked_on_record: true,
            live_successor: None,
        };
        assert!(Lifecycle::Renew.refusal(f).unwrap().contains("revoked"));
        let f = Facts {
            status: Status::Active,
            revoked_on_record: false,
            live_successor: Some("abc"),
        };
        assert_eq!(
            Lifecycle::Renew.refusal(f).unwrap(),
            "Already renewed by abc: renew that one instead"
        );
    }

    #[test]
    fn an_unknown_status_is_an_error_not_active() {
        assert_eq!("active".parse(), Ok(Status::Active));
        assert_eq!("revoked".parse(), Ok(Status::Revoked));
        assert_eq!("expired".parse(), Ok(Status::Expired));
        for bad in ["", "Active", "pending_revocation", "activ", " active"] {
            assert_eq!(
                bad.parse::<Status>(),
                Err(UnknownStatus(bad.into())),
                "{bad:?}"
            );
        }
        assert!(serde_json::from_str::<Status>("\"deleted\"").is_err());
        assert_eq!(
            serde_json::from_str::<Status>("\"revoked\"").unwrap(),
            Status::Revoked
        );
        assert_eq!(
            serde_json::to_string(&Status::Expired).unwrap(),
            "\"expired\""
        );
        assert_eq!(Status::parse_lenient(" ACTIVE "), Some(Status::Active));
        assert_eq!(Status::parse_lenient("nope"), None);
    }

    #[test]
    fn status_is_derived_from_the_record_and_not_after() {
        let now = datetime!(2026-01-01 00:00:00 UTC);
        let later = Some(datetime!(2026-06-01 00:00:00 UTC));
        assert_eq!(Status::derive(false, later, now), Status::Active);
        assert_eq!(Status::derive(true, later, now), Status::Revoked);
        // NotAfter == now is already expired.
        assert_eq!(Status::derive(false, Some(now), now), Status::Expired);
        assert_eq!(Status::derive(true, Some(now), now), Status::Expired);
        assert_eq!(Status::derive(false, None, now), Status::Active);
    }

    #[test]
    fn expiring_soon_boundaries() {
        let now = datetime!(2026-01-01 00:00:00 UTC);
        let day = time::Duration::days(1);
        let sec = time::Duration::seconds(1);
        let active = Status::Active;
        assert!(
            !expiring_within(active, now + day * 30, now, 30),
            "exactly 30 days: not within"
        );
        assert!(expiring_within(active, now + day * 30 - sec, now, 30));
        assert!(expiring_within(active, now + sec, now, 30));
        assert!(
            !expiring_within(active, now, now, 30),
            "at NotAfter it is expired"
        );
        assert!(!expiring_within(active, now - sec, now, 30));
        assert!(!expiring_within(Status::Revoked, now + day, now, 30));
        assert!(!expiring_within(Status::Expired, now + day, now, 30));
    }

    #[test]
    fn days_shown_counts_started_days() {
        assert_eq!(days_shown_secs(30 * 86_400), 30);
        assert_eq!(days_shown_secs(30 * 86_400 - 1), 30);
        assert_eq!(days_shown_secs(3600), 1);
        assert_eq!(days_shown_secs(0), 0);
        assert_eq!(days_shown_secs(-3600), -1);
        assert_eq!(days_shown_secs(i64::MIN), -(i64::MAX / 86_400) - 1);
    }
}
