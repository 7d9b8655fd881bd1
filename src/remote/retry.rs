//! When a call is sent again: only an idempotent read (an action named
//! `Get…` or `List…`, ListSites included), only after a network failure,
//! a 5xx or a 429, at most [`RetryPolicy::attempts`] times in all, with a
//! doubling backoff, waiting what the server asks in `x-acs-retry-after`
//! (milliseconds, as the SDKs read it) when it asks.
//!
//! Writes (Create, Revoke, Activate, Delete, the uploads and Set…) are
//! never retried: an answer lost after the server acted would otherwise
//! act twice (a second certificate issued). Revoke/Activate/Delete travel
//! as GET on the wire (see the wire reference), which is why the rule is
//! by action and never by HTTP method.

use std::time::Duration;

/// Whether an action only reads, so sending it twice changes nothing.
pub fn is_idempotent_read(action: &str) -> bool {
    action.starts_with("Get") || action.starts_with("List")
}

/// What one attempt came to, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer below 400 (the caller decides what it means).
    Answered,
    /// An HTTP error status, with the server's `x-acs-retry-after`.
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No answer: `retryable` for refused/reset/timed-out connections,
    /// not for TLS verification failures.
    Network { retryable: bool },
}

impl Outcome {
    pub fn of_status(status: u16, retry_after: Option<Duration>) -> Outcome {
        if status < 400 {
            Outcome::Answered
        } else {
            Outcome::Status {
                status,
                retry_after,
            }
        }
    }
}

/// `x-acs-retry-after`: a positive number of milliseconds (the SDKs'
/// reading; anything else is ignored, as they ignore it).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|&ms| ms > 0)
        .map(Duration::from_millis)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// The longest wait between attempts: a server asking for more is
    /// answered with its error instead.
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the first
    /// attempt.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            budget: Duration::from_secs(45),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1` of `action`, or
    /// `None` to stop with this outcome. `elapsed` is the time since the
    /// first attempt began.
    pub fn next_delay(
        &self,
        action: &str,
        attempt: u32,
        outcome: Outcome,
        elapsed: Duration,
    ) -> Option<Duration> {
        if !is_idempotent_read(action) || attempt >= self.attempts || elapsed >= self.budget {
            return None;
        }
        let backoff = self
            .base_delay
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(self.max_delay);
        let delay = match outcome {
            Outcome::Answered | Outcome::Network { retryable: false } => return None,
            Outcome::Network { retryable: true } => backoff,
            Outcome::Status {
                status,
                retry_after,
            } => {
                if status != 429 && status < 500 {
                    return None;
                }
                match retry_after {
                    Some(asked) if asked > self.max_delay => return None,
                    Some(asked) => asked,
                    None => backoff,
                }
            }
        };
        (elapsed + delay < self.budget).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZERO: Duration = Duration::ZERO;

    fn net() -> Outcome {
        Outcome::Network { retryable: true }
    }

    #[test]
    fn only_reads_are_retried_whatever_their_http_method() {
        let p = RetryPolicy::default();
        for read in [
            "GetClientCertificate",
            "ListClientCertificates",
            "ListSites",
            "GetClientCaCertificateHostnames", // a POST on the wire
            "ListClientCaCertificates",
        ] {
            assert!(p.next_delay(read, 1, net(), ZERO).is_some(), "{read}");
        }
        for write in [
            "CreateClientCertificate",
            "RevokeClientCertificate", // a GET on the wire
            "ActivateClientCertificate",
            "DeleteClientCertificate",
            "UploadClientCaCertificate",
            "DeleteClientCaCertificate",
            "SetClientCaCertificateHostnames",
            "SetClientCertificateHostnames",
        ] {
            for outcome in [
                net(),
                Outcome::of_status(503, None),
                Outcome::of_status(429, Some(Duration::from_millis(5))),
            ] {
                assert_eq!(p.next_delay(write, 1, outcome, ZERO), None, "{write}");
            }
        }
    }

    #[test]
    fn which_failures_and_how_long() {
        let p = RetryPolicy::default();
        let read = "ListClientCertificates";
        // Doubling backoff, then no more after the last attempt.
        assert_eq!(
            p.next_delay(read, 1, net(), ZERO),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            p.next_delay(read, 2, net(), ZERO),
            Some(Duration::from_millis(400))
        );
        assert_eq!(p.next_delay(read, 3, net(), ZERO), None);
        // 5xx and 429 yes; other statuses, answers and TLS failures no.
        assert!(
            p.next_delay(read, 1, Outcome::of_status(500, None), ZERO)
                .is_some()
        );
        assert!(
            p.next_delay(read, 1, Outcome::of_status(502, None), ZERO)
                .is_some()
        );
        assert!(
            p.next_delay(read, 1, Outcome::of_status(429, None), ZERO)
                .is_some()
        );
        for s in [200, 304, 400, 403, 404, 413] {
            assert_eq!(
                p.next_delay(read, 1, Outcome::of_status(s, None), ZERO),
                None
            );
        }
        assert_eq!(
            p.next_delay(read, 1, Outcome::Network { retryable: false }, ZERO),
            None
        );
        // The server's x-acs-retry-after is what is waited, within bounds.
        let asked = Outcome::of_status(429, Some(Duration::from_millis(1500)));
        assert_eq!(
            p.next_delay(read, 1, asked, ZERO),
            Some(Duration::from_millis(1500))
        );
        let too_long = Outcome::of_status(503, Some(Duration::from_secs(60)));
        assert_eq!(p.next_delay(read, 1, too_long, ZERO), None);
        // Nothing starts past the budget.
        assert_eq!(p.next_delay(read, 1, net(), Duration::from_secs(45)), None);
        assert_eq!(
            p.next_delay(read, 1, asked, Duration::from_millis(44_000)),
            None
        );
    }

    #[test]
    fn retry_after_is_positive_milliseconds() {
        assert_eq!(parse_retry_after("250"), Some(Duration::from_millis(250)));
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_millis(7)));
        for bad in ["", "0", "-5", "1.5", "soon"] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
    }
}
