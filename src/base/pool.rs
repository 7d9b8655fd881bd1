//! A bounded pool for work over many items (listing 30,000 sites): at most
//! one thread per CPU, each taking the next item from a shared counter,
//! the results in the items' order. Nothing is spawned per item.

use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The threads [`map`] uses at most: the CPUs this process may run on.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// `work` applied to every item, in the items' order, on this thread and
/// at most `threads() - 1` more (never more threads than items).
///
/// A helper that cannot be started (`ulimit -u`, or the debug fail point
/// `pool-spawn`) is simply not there: the threads that did start, this one
/// at least, take its share, so the work is done inline when no thread
/// can start. A panic in `work` (a bug) does not take the others down:
/// that item's result is `panicked(item)`.
pub fn map<T, R, W, P>(items: &[T], work: W, panicked: P) -> Vec<R>
where
    T: Sync,
    R: Send,
    W: Fn(&T) -> R + Sync,
    P: Fn(&T) -> R,
{
    map_on(threads(), items, work, panicked)
}

/// [`map`] on at most `threads` threads (this one included).
pub fn map_on<T, R, W, P>(threads: usize, items: &[T], work: W, panicked: P) -> Vec<R>
where
    T: Sync,
    R: Send,
    W: Fn(&T) -> R + Sync,
    P: Fn(&T) -> R,
{
    let threads = threads.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    // Each thread keeps what it did with the items' positions; a panic is
    // caught per item, so a thread always comes back with its part.
    let run = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, catch_unwind(AssertUnwindSafe(|| work(item))).ok()));
        }
    };
    let parts: Vec<Vec<(usize, Option<R>)>> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            // One that cannot start: the next would not either.
            .map_while(|_| {
                if super::failpoint("pool-spawn") {
                    return None;
                }
                std::thread::Builder::new()
                    .name("esa-certs-pool".into())
                    .spawn_scoped(scope, run)
                    .ok()
            })
            .collect();
        let mut parts = vec![run()];
        // `run` catches every panic of `work`; a failed join loses only
        // that thread's results, which are redone below.
        parts.extend(helpers.into_iter().filter_map(|h| h.join().ok()));
        parts
    });
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    for (i, r) in parts.into_iter().flatten() {
        slots[i] = r;
    }
    slots
        .into_iter()
        .zip(items)
        .map(|(r, item)| r.unwrap_or_else(|| panicked(item)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Mutex;

    #[test]
    fn results_come_in_the_items_order_from_at_most_the_threads_asked() {
        let items: Vec<u64> = (0..30_000).collect();
        let seen = Mutex::new(HashSet::new());
        let out = map_on(
            4,
            &items,
            |&i| {
                seen.lock().unwrap().insert(std::thread::current().id());
                i * 2
            },
            |_| u64::MAX,
        );
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        let threads = seen.lock().unwrap().len();
        assert!((1..=4).contains(&threads), "{threads} threads");
    }

    #[test]
    fn one_thread_or_no_items_spawn_nothing() {
        let caller = std::thread::current().id();
        let out = map_on(
            1,
            &[1, 2, 3],
            |&i| (i, std::thread::current().id()),
            |_| unreachable!(),
        );
        assert!(out.iter().all(|(_, t)| *t == caller));
        assert_eq!(out.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 2, 3]);
        let none: Vec<u8> = map_on(8, &[] as &[u8], |&b| b, |&b| b);
        assert!(none.is_empty());
    }

    #[test]
    fn a_panicking_item_is_reported_and_the_others_are_done() {
        let items: Vec<u32> = (0..1000).collect();
        let out = map_on(
            3,
            &items,
            |&i| {
                assert!(i != 500, "item 500 is broken");
                Ok(i)
            },
            |&i| Err(i),
        );
        assert_eq!(out[500], Err(500));
        assert_eq!(out.iter().filter(|r| r.is_ok()).count(), 999);
        assert_eq!(out[999], Ok(999));
    }
}
