//! Signature nonces seen within the time window: a request whose nonce
//! was already used by the same key within the window is a replay.
//! Memory is bounded: entries expire with the window, and past
//! [`MAX_NONCES`] live entries a new one is refused (the caller is sending
//! more than ~1,100 signed requests a second for 15 minutes).

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// Most nonces remembered at once.
pub const MAX_NONCES: usize = 1_000_000;

#[derive(Debug, PartialEq, Eq)]
pub enum NonceCheck {
    Fresh,
    Replay,
    Full,
}

#[derive(Debug, Default)]
struct Seen {
    set: HashSet<String>,
    /// (expiry, key) in insertion order; expiry is monotone enough since
    /// `now` comes from one clock.
    order: VecDeque<(i64, String)>,
}

#[derive(Debug)]
pub struct NonceCache {
    window_secs: i64,
    cap: usize,
    seen: Mutex<Seen>,
}

impl NonceCache {
    pub fn new(window_secs: i64) -> NonceCache {
        NonceCache::with_cap(window_secs, MAX_NONCES)
    }

    pub fn with_cap(window_secs: i64, cap: usize) -> NonceCache {
        NonceCache {
            window_secs,
            cap,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Records `nonce` of `key_id` at `now`; tells whether it was fresh.
    pub fn check_and_insert(&self, key_id: &str, nonce: &str, now: i64) -> NonceCheck {
        let mut seen = match self.seen.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        while let Some((expiry, _)) = seen.order.front() {
            if *expiry > now {
                break;
            }
            if let Some((_, k)) = seen.order.pop_front() {
                seen.set.remove(&k);
            }
        }
        let key = format!("{key_id}\n{nonce}");
        if seen.set.contains(&key) {
            return NonceCheck::Replay;
        }
        if seen.set.len() >= self.cap {
            return NonceCheck::Full;
        }
        seen.set.insert(key.clone());
        // A nonce must be remembered for as long as a request carrying it
        // could still be accepted: its date may be up to a window ahead.
        seen.order.push_back((now + 2 * self.window_secs, key));
        NonceCheck::Fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_within_the_window_expiry_after_and_a_cap() {
        let c = NonceCache::with_cap(900, 2);
        assert_eq!(c.check_and_insert("k", "n1", 1000), NonceCheck::Fresh);
        assert_eq!(c.check_and_insert("k", "n1", 1500), NonceCheck::Replay);
        assert_eq!(
            c.check_and_insert("other", "n1", 1500),
            NonceCheck::Fresh,
            "per key"
        );
        assert_eq!(c.check_and_insert("k", "n3", 1500), NonceCheck::Full);
        // After two windows the first ones are forgotten.
        assert_eq!(
            c.check_and_insert("k", "n1", 1000 + 1800),
            NonceCheck::Fresh
        );
    }
}
