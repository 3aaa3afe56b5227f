//! The writer's set of free pages, kept as runs of consecutive page ids.
//!
//! Single pages are taken lowest first (so files stay compact), `O(log runs)`; a run of `n`
//! pages for an overflow value is taken best fit (the shortest run that holds it, the lowest
//! of those), which keeps long runs whole, by a scan of the runs (`O(runs)`: free space is
//! usually a few hundred runs; an index by length cost 9 KB of gzipped wasm). The persisted
//! free list (`db::checkpoint`) is written from [`FreeSet::runs`].

use crate::engine::page::PageId;
use alloc::collections::BTreeMap;

/// A set of page ids stored as maximal runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FreeSet {
    /// start → length; runs never touch (adjacent runs are merged). (`usize` lengths share the
    /// map's code with the reader table's `BTreeMap<u64, usize>`: a run cannot be longer than
    /// the address space holds pages anyway.)
    runs: BTreeMap<PageId, usize>,
    pages: u64,
}

impl FreeSet {
    pub fn new() -> Self {
        FreeSet::default()
    }

    /// Pages in the set.
    pub fn len(&self) -> usize {
        self.pages as usize
    }

    pub fn is_empty(&self) -> bool {
        self.pages == 0
    }

    /// The run holding `id`, if any.
    fn run_of(&self, id: PageId) -> Option<(PageId, u64)> {
        let (&s, &n) = self.runs.range(..=id).next_back()?;
        (id < s + n as u64).then_some((s, n as u64))
    }

    pub fn contains(&self, id: &PageId) -> bool {
        self.run_of(*id).is_some()
    }

    fn add_run(&mut self, start: PageId, len: u64) {
        debug_assert!(len > 0 && len <= usize::MAX as u64);
        self.runs.insert(start, len as usize);
    }

    fn drop_run(&mut self, start: PageId, _len: u64) {
        self.runs.remove(&start);
    }

    /// Add `id`; false if it was there already.
    pub fn insert(&mut self, id: PageId) -> bool {
        if self.contains(&id) {
            return false;
        }
        let (mut start, mut len) = (id, 1);
        if let Some((s, n)) = id.checked_sub(1).and_then(|p| self.run_of(p)) {
            self.drop_run(s, n);
            (start, len) = (s, n + 1);
        }
        if let Some(n) = id.checked_add(1).and_then(|p| self.runs.get(&p).copied()) {
            self.drop_run(id + 1, n as u64);
            len += n as u64;
        }
        self.add_run(start, len);
        self.pages += 1;
        true
    }

    /// Remove `id`; false if it was not there.
    pub fn remove(&mut self, id: &PageId) -> bool {
        let id = *id;
        let Some((s, n)) = self.run_of(id) else { return false };
        self.drop_run(s, n);
        if id > s {
            self.add_run(s, id - s);
        }
        if id + 1 < s + n {
            self.add_run(id + 1, s + n - id - 1);
        }
        self.pages -= 1;
        true
    }

    /// The lowest page.
    pub fn first(&self) -> Option<PageId> {
        self.runs.keys().next().copied()
    }

    /// Take the lowest page.
    pub fn pop_first(&mut self) -> Option<PageId> {
        let id = self.first()?;
        self.remove(&id);
        Some(id)
    }

    /// Take `n` consecutive pages that end at or below `limit`: the shortest run that holds
    /// them (the lowest of equally short ones), from its start. `None` if no run does.
    pub fn take_run(&mut self, n: u64, limit: PageId) -> Option<PageId> {
        let mut best: Option<(u64, PageId)> = None;
        for (s, len) in self.runs().take_while(|&(s, _)| s.saturating_add(n) <= limit) {
            if len >= n && best.is_none_or(|(b, _)| len < b) {
                best = Some((len, s));
                if len == n {
                    break; // an exact fit: nothing is better
                }
            }
        }
        let (len, start) = best?;
        assert!(len >= n && start + n <= limit, "a run taken fits and ends below its limit");
        self.drop_run(start, len);
        if len > n {
            self.add_run(start + n, len - n);
        }
        self.pages -= n;
        debug_assert!(!self.contains(&start) && !self.contains(&(start + n - 1)), "a taken run left the set");
        Some(start)
    }

    /// Take `n` consecutive pages that end at or below `limit`, as low in the file as they
    /// can be (first fit by address: what compaction wants). `O(runs)`.
    pub fn take_lowest_run(&mut self, n: u64, limit: PageId) -> Option<PageId> {
        let (start, len) = self.runs().take_while(|&(s, _)| s.saturating_add(n) <= limit).find(|&(_, len)| len >= n)?;
        assert!(len >= n && start + n <= limit, "a run taken fits and ends below its limit");
        self.drop_run(start, len);
        if len > n {
            self.add_run(start + n, len - n);
        }
        self.pages -= n;
        Some(start)
    }

    pub fn extend(&mut self, ids: impl IntoIterator<Item = PageId>) {
        for id in ids {
            self.insert(id);
        }
    }

    /// Every page, in order.
    pub fn iter(&self) -> impl Iterator<Item = PageId> + '_ {
        self.runs.iter().flat_map(|(&s, &n)| s..s + n as u64)
    }

    /// The runs `(start, length)`, in order.
    pub fn runs(&self) -> impl Iterator<Item = (PageId, u64)> + '_ {
        self.runs.iter().map(|(&s, &n)| (s, n as u64))
    }
}

impl FromIterator<PageId> for FreeSet {
    fn from_iter<I: IntoIterator<Item = PageId>>(iter: I) -> Self {
        let mut f = FreeSet::new();
        f.extend(iter);
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::vec::Vec;

    /// Against a `BTreeSet` model over random operations.
    #[test]
    fn matches_a_set_of_pages() {
        let mut model = BTreeSet::new();
        let mut f = FreeSet::new();
        let mut x = 7u64;
        let mut rnd = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for _ in 0..20_000 {
            let id = 1 + rnd(300);
            match rnd(5) {
                0 | 1 => assert_eq!(f.insert(id), model.insert(id)),
                2 => assert_eq!(f.remove(&id), model.remove(&id)),
                3 => assert_eq!(f.pop_first(), model.pop_first()),
                _ => {
                    let n = 1 + rnd(6);
                    let limit = 1 + rnd(320);
                    let lowest = rnd(2) == 0;
                    let taken = if lowest { f.take_lowest_run(n, limit) } else { f.take_run(n, limit) };
                    if let Some(s) = taken {
                        if lowest {
                            // Nothing lower would have fit.
                            let pages: Vec<u64> = model.iter().copied().filter(|&p| p < s).collect();
                            assert!(
                                !pages.windows(n as usize).any(|w| w[0] + n - 1 == w[n as usize - 1]),
                                "a lower run fit"
                            );
                        }
                        assert!(s + n <= limit);
                        for p in s..s + n {
                            assert!(model.remove(&p), "took page {p} that was not free");
                        }
                    } else {
                        // No run of n free pages ends at or below the limit.
                        let pages: Vec<u64> = model.iter().copied().collect();
                        let fits =
                            pages.windows(n as usize).any(|w| w[0] + n - 1 == w[n as usize - 1] && w[0] + n <= limit)
                                || (n == 1 && pages.iter().any(|&p| p < limit));
                        assert!(!fits, "a run of {n} below {limit} was there");
                    }
                }
            }
            assert_eq!(f.len(), model.len());
            assert_eq!(f.first(), model.first().copied());
        }
        assert!(f.iter().eq(model.iter().copied()));
        // Runs are maximal: no two touch.
        let runs: Vec<_> = f.runs().collect();
        assert!(runs.windows(2).all(|w| w[0].0 + w[0].1 < w[1].0));
    }
}
