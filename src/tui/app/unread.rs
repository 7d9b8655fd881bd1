//! The sites the first load has not read yet.

use std::collections::HashSet;

/// The unread sites: a queue in the sites' order and a set. Asking
/// whether a site is read, marking one read and taking the next batch
/// cost O(1) per site, so a first load of 30,000 sites stays linear (a
/// `Vec` searched and filtered once per site made it quadratic).
#[derive(Debug, Default)]
pub struct Unread {
    /// Every site, in order; those before `next` are all read.
    queue: Vec<u64>,
    next: usize,
    left: HashSet<u64>,
}

impl Unread {
    pub fn new(sites: impl IntoIterator<Item = u64>) -> Unread {
        let queue: Vec<u64> = sites.into_iter().collect();
        let left = queue.iter().copied().collect();
        Unread {
            queue,
            next: 0,
            left,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    pub fn contains(&self, site: u64) -> bool {
        self.left.contains(&site)
    }

    /// Marks `site` read.
    pub fn remove(&mut self, site: u64) {
        self.left.remove(&site);
    }

    pub fn clear(&mut self) {
        *self = Unread::default();
    }

    /// Up to `n` (at least one) unread sites to read next: `first` when it
    /// is unread (the selected site goes before its turn), then the
    /// others in order. They stay unread until [`Unread::remove`]d.
    pub fn batch(&mut self, first: Option<u64>, n: usize) -> Vec<u64> {
        while self
            .queue
            .get(self.next)
            .is_some_and(|s| !self.left.contains(s))
        {
            self.next += 1;
        }
        let n = n.max(1);
        let first = first.filter(|s| self.left.contains(s));
        let mut out = Vec::with_capacity(n.min(self.left.len()));
        out.extend(first);
        out.extend(
            self.queue[self.next..]
                .iter()
                .copied()
                .filter(|s| self.left.contains(s) && Some(*s) != first)
                .take(n - out.len()),
        );
        out
    }

    /// The unread sites in order.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<u64> {
        self.queue[self.next..]
            .iter()
            .copied()
            .filter(|s| self.left.contains(s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_take_the_selected_site_first_then_the_others_in_order() {
        let mut u = Unread::new([5, 1, 9, 3, 7]);
        assert_eq!(u.batch(Some(9), 1), [9]);
        u.remove(9);
        assert_eq!(u.batch(Some(9), 2), [5, 1]);
        assert_eq!(u.batch(Some(3), 2), [3, 5]);
        u.remove(3);
        u.remove(5);
        assert_eq!(u.batch(None, 10), [1, 7]);
        assert_eq!(u.to_vec(), [1, 7]);
        assert!(u.contains(7) && !u.contains(5));
        u.remove(1);
        u.remove(7);
        assert!(u.is_empty());
        assert!(u.batch(None, 4).is_empty());
    }

    /// A first load of 30,000 sites in batches of one: each batch and
    /// each mark is constant work (the cursor only moves forward), so the
    /// whole is linear. A quadratic version does ~450 million steps here.
    #[test]
    fn reading_30000_sites_one_at_a_time_visits_each_once() {
        let n = 30_000u64;
        let mut u = Unread::new(1..=n);
        let mut order = Vec::with_capacity(n as usize);
        while !u.is_empty() {
            let b = u.batch(None, 1);
            assert_eq!(b.len(), 1);
            u.remove(b[0]);
            order.push(b[0]);
        }
        assert_eq!(order, (1..=n).collect::<Vec<_>>());
        assert!(u.batch(None, 1).is_empty());
        assert_eq!(u.next, n as usize);
    }
}
