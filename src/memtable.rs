//! The committed write delta of each table (the "memtable"): what small commits changed,
//! kept in memory in front of the B+tree until the next checkpoint.
//!
//! A commit that goes through the log does not apply its writes to the tree. Its sorted write
//! buffer becomes an immutable *run* appended to the table's [`TableDelta`]; the log frame
//! already holds the same operations, so nothing is lost in a crash (recovery replays the log).
//! Every snapshot holds the deltas of its commit, and a lookup consults the runs, newest
//! first, before the tree; range iteration merges the runs with the tree. A delta is *folded*
//! into the tree (applied in key order, like a large write buffer) when a checkpoint is about
//! to discard the log, or when a write transaction must read the table through the tree. The
//! invariant that makes this simple: a table's delta is always newer than its tree.
//!
//! Runs are merged as they accumulate (a new run swallows the previous one while that one is
//! at most twice its size), so a table holds O(log n) runs; a Bloom filter over all the
//! delta's keys lets most point lookups skip the runs with a few bit tests.

use crate::btree::{Guard, OpList, PageSource, RangeState};
use crate::buffer::WriteBuffer;
use crate::error::Result;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Bound;

/// The deltas of every table that has one, sorted by table name (a few tables at most have
/// one at a time: a sorted vector is smaller code than a map).
#[derive(Clone, Default)]
pub(crate) struct Deltas(Vec<(String, TableDelta)>);

impl Deltas {
    pub fn new() -> Self {
        Deltas(Vec::new())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn find(&self, name: &str) -> core::result::Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }
    pub fn get(&self, name: &str) -> Option<&TableDelta> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(n, _)| n)
    }
    pub fn values(&self) -> impl Iterator<Item = &TableDelta> {
        self.0.iter().map(|(_, d)| d)
    }
    pub fn insert(&mut self, name: &str, delta: TableDelta) {
        match self.find(name) {
            Ok(i) => self.0[i].1 = delta,
            Err(i) => self.0.insert(i, (name.into(), delta)),
        }
    }
    pub fn remove(&mut self, name: &str) {
        if let Ok(i) = self.find(name) {
            self.0.remove(i);
        }
    }
}

/// Bits of filter per key at capacity, and probes per key (~1% false positives).
const BITS_PER_KEY: usize = 12;
const PROBES: u64 = 3;

/// A Bloom filter over the delta's keys.
#[derive(Clone, Default)]
struct Filter {
    bits: Vec<u64>,
    /// Keys it was sized for.
    cap: usize,
}

/// A 64-bit hash of a key (deterministic, so one hash serves every probe of every filter).
#[inline]
pub(crate) fn key_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15 ^ key.len() as u64;
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ w).wrapping_mul(0xBF58_476D_1CE4_E5B9).rotate_left(31);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(last)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= h >> 31;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^ (h >> 29)
}

impl Filter {
    fn with_capacity(cap: usize) -> Filter {
        let words = (cap * BITS_PER_KEY).div_ceil(64).next_power_of_two().max(16);
        Filter { bits: alloc::vec![0; words], cap }
    }

    #[inline]
    fn probes(&self, h: u64) -> impl Iterator<Item = (usize, u64)> {
        let mask = (self.bits.len() * 64 - 1) as u64;
        let step = (h >> 32) | 1;
        (0..PROBES).map(move |i| {
            let bit = h.wrapping_add(i.wrapping_mul(step)) & mask;
            ((bit >> 6) as usize, 1u64 << (bit & 63))
        })
    }

    fn insert(&mut self, h: u64) {
        for (w, b) in self.probes(h) {
            self.bits[w] |= b;
        }
    }

    #[inline]
    fn may_contain(&self, h: u64) -> bool {
        !self.bits.is_empty() && self.probes(h).all(|(w, b)| self.bits[w] & b != 0)
    }
}

/// A table's committed delta: immutable sorted runs, oldest first. Cloning is cheap (the runs
/// and the filter are shared); a commit that adds a run builds a new `TableDelta`.
#[derive(Clone, Default)]
pub(crate) struct TableDelta {
    runs: Vec<Arc<WriteBuffer>>,
    filter: Arc<Filter>,
    /// Bytes held by the runs.
    bytes: usize,
}

impl TableDelta {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Memory held, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes + self.filter.bits.len() * 8
    }

    /// This delta with `run` (a frozen, newer write buffer) added.
    pub fn with_run(&self, run: WriteBuffer) -> TableDelta {
        if run.is_empty() {
            return self.clone();
        }
        let mut runs = self.runs.clone();
        let added = Arc::new(run);
        runs.push(added.clone());
        while runs.len() >= 2 && runs[runs.len() - 2].len() <= 2 * runs[runs.len() - 1].len() {
            let newer = runs.pop().expect("run");
            let older = runs.pop().expect("run");
            runs.push(Arc::new(WriteBuffer::merge(&older, &newer)));
        }
        let entries: usize = runs.iter().map(|r| r.len()).sum();
        let bytes = runs.iter().map(|r| r.bytes()).sum();
        let filter = if entries <= self.filter.cap {
            let mut f = (*self.filter).clone();
            for i in 0..added.len() {
                f.insert(key_hash(added.key(i)));
            }
            f
        } else {
            let mut f = Filter::with_capacity(entries * 2);
            for r in &runs {
                for i in 0..r.len() {
                    f.insert(key_hash(r.key(i)));
                }
            }
            f
        };
        TableDelta { runs, filter: Arc::new(filter), bytes }
    }

    /// The newest operation on `key`: `Some(Some(v))` put, `Some(None)` removed, `None` the
    /// delta does not know the key (look in the tree).
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        if self.runs.is_empty() || !self.filter.may_contain(key_hash(key)) {
            return None;
        }
        self.runs.iter().rev().find_map(|r| r.find(key))
    }

    /// All operations as one unsorted buffer, oldest first: sorting it (`sort_dedup`) leaves
    /// the newest operation per key. `extra` (newer still) is appended.
    pub fn to_buffer(&self, extra: &WriteBuffer) -> WriteBuffer {
        let mut b = WriteBuffer::default();
        for r in &self.runs {
            b.append(r);
        }
        b.append(extra);
        b
    }

    /// A merging cursor over the runs for the keys in `start..end`.
    pub fn cursor(&self, start: Bound<&[u8]>, end: Bound<&[u8]>) -> DeltaCursor<'_> {
        let runs = self
            .runs
            .iter()
            .rev()
            .map(|r| {
                let (lo, hi) = r.span(start, end);
                RunCursor { run: r, lo, hi }
            })
            .collect();
        DeltaCursor { runs }
    }
}

struct RunCursor<'a> {
    run: &'a WriteBuffer,
    /// Entries not yet consumed: `lo..hi`.
    lo: usize,
    hi: usize,
}

/// The delta's side of a merged range: one cursor per run, newest first.
pub(crate) struct DeltaCursor<'a> {
    runs: Vec<RunCursor<'a>>,
}

/// A tree entry taken out of the tree's range state but not yet returned.
type Peeked<'a> = Option<(Guard<'a>, Guard<'a>)>;

/// A range over a tree and its delta: the newest version of each key, removals hidden.
pub(crate) struct MergedRange<'a> {
    delta: DeltaCursor<'a>,
    front: Peeked<'a>,
    back: Peeked<'a>,
}

impl<'a> MergedRange<'a> {
    pub fn new(delta: DeltaCursor<'a>) -> Self {
        MergedRange { delta, front: None, back: None }
    }

    /// Next entry from the front (`back == false`) or the back. (Not inlined: one copy serves
    /// both directions; the call is small next to the work.)
    #[inline(never)]
    pub fn step<S: PageSource>(
        &mut self,
        tree: &mut RangeState<'a>,
        s: &'a S,
        back: bool,
    ) -> Result<Option<(Guard<'a>, Guard<'a>)>> {
        loop {
            // Peek the tree's next entry on this side. When the tree has nothing left, the
            // last tree entry may sit in the other side's peek slot.
            let (mine, other) =
                if back { (&mut self.back, &mut self.front) } else { (&mut self.front, &mut self.back) };
            if mine.is_none() {
                *mine = if back { tree.next_back(s)? } else { tree.next(s)? };
                if mine.is_none() {
                    *mine = other.take();
                }
            }
            // The winner: the smallest key going forward (largest going back); on a tie the
            // newest run, and any run over the tree.
            let mut pick: Option<(usize, &'a [u8])> = None;
            for (i, r) in self.delta.runs.iter().enumerate() {
                if r.lo < r.hi {
                    let k = r.run.key(if back { r.hi - 1 } else { r.lo });
                    let better = pick.as_ref().is_none_or(|(_, b)| if back { k > *b } else { k < *b });
                    if better {
                        pick = Some((i, k));
                    }
                }
            }
            let tree_key: Option<&[u8]> = mine.as_ref().map(|(k, _)| &**k);
            let tree_wins = match (&pick, tree_key) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some((_, b)), Some(t)) => {
                    if back {
                        t > *b
                    } else {
                        t < *b
                    }
                }
            };
            if tree_wins {
                return Ok(mine.take());
            }
            let Some((i, key)) = pick else {
                return Ok(None);
            };
            // Consume `key` everywhere: older runs, the tree's peeks on both sides.
            for r in &mut self.delta.runs {
                if r.lo < r.hi {
                    let at = if back { r.hi - 1 } else { r.lo };
                    if r.run.key(at) == key {
                        if back {
                            r.hi -= 1;
                        } else {
                            r.lo += 1;
                        }
                    }
                }
            }
            for peek in [&mut self.front, &mut self.back] {
                if peek.as_ref().is_some_and(|(k, _)| &**k == key) {
                    *peek = None;
                }
            }
            let r = &self.delta.runs[i];
            let at = if back { r.hi } else { r.lo - 1 };
            if let Some(v) = r.run.value(at) {
                return Ok(Some((Guard::borrowed(key), Guard::borrowed(v))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ops: &[(&str, Option<&str>)]) -> WriteBuffer {
        let mut b = WriteBuffer::default();
        for (k, v) in ops {
            b.push(k.as_bytes(), v.map(str::as_bytes));
        }
        b.freeze()
    }

    #[test]
    fn newest_run_wins_and_filter_has_no_false_negatives() {
        let mut d = TableDelta::default();
        d = d.with_run(run(&[("a", Some("1")), ("b", Some("1"))]));
        d = d.with_run(run(&[("b", None), ("c", Some("2"))]));
        d = d.with_run(run(&[("a", Some("3"))]));
        assert_eq!(d.get(b"a"), Some(Some(&b"3"[..])));
        assert_eq!(d.get(b"b"), Some(None));
        assert_eq!(d.get(b"c"), Some(Some(&b"2"[..])));
        assert_eq!(d.get(b"zz"), None);
        let mut all = d.to_buffer(&WriteBuffer::default());
        all.sort_dedup();
        let seen: Vec<_> = (0..all.len()).map(|i| (all.key(i).to_vec(), all.value(i).map(<[u8]>::to_vec))).collect();
        assert_eq!(
            seen,
            [(b"a".to_vec(), Some(b"3".to_vec())), (b"b".to_vec(), None), (b"c".to_vec(), Some(b"2".to_vec()))]
        );
        // Many runs: merged down to a logarithmic number, every key still found.
        for i in 0..500u32 {
            d = d.with_run(run(&[(&alloc::format!("k{i:05}"), Some("v"))]));
        }
        assert!(d.runs.len() <= 12, "{} runs", d.runs.len());
        for i in 0..500u32 {
            assert_eq!(d.get(alloc::format!("k{i:05}").as_bytes()), Some(Some(&b"v"[..])));
        }
    }
}
