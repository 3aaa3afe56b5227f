//! The per-table write buffer of a write transaction.
//!
//! Inserts and removals are appended to an arena instead of being applied to the B+tree one by
//! one. When the buffer fills (a quarter of the cache budget), before any read that could see a
//! buffered key, and at commit, the buffer is sorted by key and applied in key order. Sorted
//! application walks the tree left to right: every leaf is copied at most once per flush, pages
//! filled by appends end up full, and a transaction larger than the cache writes early the leaves it will
//! not touch again instead of thrashing. The log records operations in call order at the time
//! of the call, so replay reaches the same state whatever the flush points were.

use crate::engine::btree::OpList;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::hash::BuildHasher;
use core::ops::Bound;
use hashbrown::{DefaultHashBuilder, HashSet};

#[derive(Clone, Copy)]
struct BufOp {
    /// First eight key bytes, big-endian, zero-padded: orders keys whenever it differs.
    prefix: u64,
    off: usize,
    klen: u32,
    /// Value length; `u32::MAX` marks a removal.
    vlen: u32,
    seq: u32,
}

const REMOVE: u32 = u32::MAX;

/// Buffered writes of one table.
#[derive(Default)]
pub(crate) struct WriteBuffer {
    arena: Vec<u8>,
    ops: Vec<BufOp>,
    hashes: HashSet<u64>,
    hasher: DefaultHashBuilder,
    /// In an immutable run: every operation's key prefix, densely (a search reads one cache
    /// line of them per step instead of one per operation) ...
    prefixes: Vec<u64>,
    /// ... and every `FENCE`th of them, a small array that stays in cache and narrows a
    /// search to one line of `prefixes`. Both are empty in a live buffer.
    fence: Vec<u64>,
}

/// Operations per fence block (one 64-byte line of prefixes).
const FENCE: usize = 8;

/// The first eight bytes of `key`, big-endian, zero-padded: comparing prefixes orders keys
/// whenever they differ.
#[inline]
pub(crate) fn prefix(key: &[u8]) -> u64 {
    match key.first_chunk::<8>() {
        Some(b) => u64::from_be_bytes(*b),
        None => {
            // Short key: pad with zeros (a byte loop: no call to memcpy for a few bytes).
            let mut p = 0u64;
            for (i, &b) in key.iter().enumerate() {
                p |= u64::from(b) << (56 - 8 * i);
            }
            p
        }
    }
}

impl WriteBuffer {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Bytes held (arena plus bookkeeping).
    pub fn bytes(&self) -> usize {
        self.arena.len()
            + self.ops.len() * (core::mem::size_of::<BufOp>() + 8)
            + (self.prefixes.len() + self.fence.len()) * 8
    }

    /// Whether `key` may have a buffered operation (false positives possible, no false negatives).
    pub fn may_contain(&self, key: &[u8]) -> bool {
        !self.ops.is_empty() && self.hashes.contains(&self.hasher.hash_one(key))
    }

    /// Buffer an insert (`Some`) or a removal (`None`).
    pub fn push(&mut self, key: &[u8], value: Option<&[u8]>) {
        self.push_raw(key, value);
        self.hashes.insert(self.hasher.hash_one(key));
    }

    /// The largest key with a buffered operation (put or removal), if any.
    #[cfg(feature = "sql")]
    pub fn max_key(&self) -> Option<&[u8]> {
        self.ops.iter().map(|op| self.op_key(op)).max()
    }

    fn op_key(&self, op: &BufOp) -> &[u8] {
        &self.arena[op.off..op.off + op.klen as usize]
    }

    /// Sort by key and keep only the last operation per key; then read it as an [`OpList`].
    pub fn sort_dedup(&mut self) {
        let mut ops = core::mem::take(&mut self.ops);
        ops.sort_unstable_by(|a, b| {
            a.prefix.cmp(&b.prefix).then_with(|| self.op_key(a).cmp(self.op_key(b))).then(a.seq.cmp(&b.seq))
        });
        let mut w = 0;
        for r in 0..ops.len() {
            let superseded =
                ops.get(r + 1).is_some_and(|n| n.prefix == ops[r].prefix && self.op_key(n) == self.op_key(&ops[r]));
            if !superseded {
                ops[w] = ops[r];
                w += 1;
            }
        }
        ops.truncate(w);
        self.ops = ops;
        self.prefixes.clear();
        self.fence.clear();
    }

    /// Append an operation without recording its hash (runs and fold inputs are never asked
    /// `may_contain`).
    fn push_raw(&mut self, key: &[u8], value: Option<&[u8]>) {
        debug_assert!(self.fence.is_empty(), "a run is immutable");
        let off = self.arena.len();
        self.arena.extend_from_slice(key);
        let vlen = match value {
            Some(v) => {
                self.arena.extend_from_slice(v);
                v.len() as u32
            }
            None => REMOVE,
        };
        let seq = self.ops.len() as u32;
        self.ops.push(BufOp { prefix: prefix(key), off, klen: key.len() as u32, vlen, seq });
    }

    /// Append `other`'s operations after this buffer's, in `other`'s order (call order for a
    /// live buffer, key order for a run), so that they win over this buffer's on a tie.
    pub fn append(&mut self, other: &WriteBuffer) {
        self.arena.reserve(other.arena.len());
        self.ops.reserve(other.ops.len());
        for op in &other.ops {
            let at = op.off + op.klen as usize;
            let value = (op.vlen != REMOVE).then(|| &other.arena[at..at + op.vlen as usize]);
            self.push_raw(&other.arena[op.off..at], value);
        }
    }

    /// Sort, keep the last operation per key and drop the lookup hashes: an immutable run.
    pub fn freeze(mut self) -> WriteBuffer {
        self.sort_dedup();
        debug_assert!(
            (1..OpList::len(&self)).all(|i| OpList::key(&self, i - 1) < OpList::key(&self, i)),
            "a frozen run is sorted, one operation per key"
        );
        self.hashes = HashSet::new();
        self.build_fence();
        self
    }

    fn build_fence(&mut self) {
        self.prefixes = self.ops.iter().map(|op| op.prefix).collect();
        self.fence = self.prefixes.iter().step_by(FENCE).copied().collect();
    }

    /// The key prefix of sorted operation `i` in a run (orders keys whenever it differs).
    #[inline]
    pub fn prefix_at(&self, i: usize) -> u64 {
        self.prefixes[i]
    }

    /// Compare the key of sorted operation `i` with `key` (whose prefix is `p`).
    #[inline]
    fn cmp_at(&self, i: usize, key: &[u8], p: u64) -> Ordering {
        let op = &self.ops[i];
        op.prefix.cmp(&p).then_with(|| self.op_key(op).cmp(key))
    }

    /// In a sorted buffer: the operation on `key`, if any (`Some(None)`: a removal).
    #[inline]
    pub fn find(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        let p = prefix(key);
        let i = self.lower(key, p);
        (i < self.ops.len() && self.cmp_at(i, key, p) == Ordering::Equal).then(|| self.value(i))
    }

    /// First index whose key is not below `key` (sorted buffer).
    fn lower(&self, key: &[u8], p: u64) -> usize {
        let (mut lo, mut hi) = (0, self.ops.len());
        let dense = !self.fence.is_empty();
        if dense {
            // Blocks before `j` start below `p`: the answer is past their first entry. The
            // first block starting above `p` begins with a larger key: the answer is not past
            // its start.
            let j = self.fence.partition_point(|&f| f < p);
            let mut j2 = j;
            while j2 < self.fence.len() && self.fence[j2] <= p {
                j2 += 1;
            }
            lo = if j == 0 { 0 } else { (j - 1) * FENCE + 1 };
            hi = hi.min(j2 * FENCE);
            if hi - lo < 2 * FENCE {
                // A line or two of prefixes: count those below without branching, then step
                // over equal prefixes whose keys are smaller.
                let mut i = lo + self.prefixes[lo..hi].iter().filter(|&&x| x < p).count();
                while i < hi && self.prefixes[i] == p && self.op_key(&self.ops[i]) < key {
                    i += 1;
                }
                return i;
            }
        }
        while lo < hi {
            let mid = (lo + hi) / 2;
            let pm = if dense { self.prefixes[mid] } else { self.ops[mid].prefix };
            if pm < p || (pm == p && self.op_key(&self.ops[mid]) < key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Index range of the sorted operations whose keys lie within `start..end`.
    pub fn span(&self, start: Bound<&[u8]>, end: Bound<&[u8]>) -> (usize, usize) {
        let at_or_after = |k: &[u8], excl: bool| {
            let i = self.lower(k, prefix(k));
            if excl && i < self.ops.len() && self.op_key(&self.ops[i]) == k {
                i + 1
            } else {
                i
            }
        };
        let lo = match start {
            Bound::Included(k) => at_or_after(k, false),
            Bound::Excluded(k) => at_or_after(k, true),
            Bound::Unbounded => 0,
        };
        let hi = match end {
            Bound::Included(k) => at_or_after(k, true),
            Bound::Excluded(k) => at_or_after(k, false),
            Bound::Unbounded => self.ops.len(),
        };
        (lo, hi.max(lo))
    }

    /// Merge two sorted runs into a new compact one; `newer` wins where both hold a key.
    pub fn merge(older: &WriteBuffer, newer: &WriteBuffer) -> WriteBuffer {
        let mut out = WriteBuffer::default();
        out.arena.reserve(older.arena.len() + newer.arena.len());
        out.ops.reserve(older.ops.len() + newer.ops.len());
        let (mut i, mut j) = (0, 0);
        while i < older.ops.len() || j < newer.ops.len() {
            let ord = match (older.ops.get(i), newer.ops.get(j)) {
                (Some(a), Some(b)) => a.prefix.cmp(&b.prefix).then_with(|| older.op_key(a).cmp(newer.op_key(b))),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            let (src, k) = match ord {
                Ordering::Less => {
                    i += 1;
                    (older, i - 1)
                }
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                    (newer, j - 1)
                }
                Ordering::Greater => {
                    j += 1;
                    (newer, j - 1)
                }
            };
            out.push_raw(src.key(k), src.value(k));
        }
        out.build_fence();
        out
    }

    /// Forget everything (keeps allocations).
    pub fn clear(&mut self) {
        self.ops.clear();
        self.arena.clear();
        self.hashes.clear();
        self.prefixes.clear();
        self.fence.clear();
    }
}

impl OpList for WriteBuffer {
    fn len(&self) -> usize {
        self.ops.len()
    }
    fn key(&self, i: usize) -> &[u8] {
        self.op_key(&self.ops[i])
    }
    fn value(&self, i: usize) -> Option<&[u8]> {
        let op = &self.ops[i];
        (op.vlen != REMOVE).then(|| {
            let at = op.off + op.klen as usize;
            &self.arena[at..at + op.vlen as usize]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn fenced_search_agrees_with_a_full_search() {
        // Long runs of keys sharing their 8-byte prefix span many fence blocks; short keys
        // pad with zeros.
        let mut b = WriteBuffer::default();
        let mut probes = Vec::new();
        for i in 0..700u32 {
            let group = [b'a' + (i % 5) as u8; 8];
            let mut k = group.to_vec();
            k.extend_from_slice(&(i / 5).to_be_bytes());
            b.push(&k, Some(b"v"));
            probes.push(k.clone());
            k.push(0);
            probes.push(k);
            probes.push(vec![b'a' + (i % 7) as u8; (i % 9) as usize]);
        }
        // Random keys: the common case of a block or two of distinct prefixes.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..300 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut k = x.to_be_bytes().to_vec();
            k.extend_from_slice(&x.rotate_left(17).to_le_bytes());
            k.truncate((x % 12) as usize);
            b.push(&k, Some(b"r"));
            probes.push(k.iter().map(|c| c ^ 1).collect());
            probes.push(k);
        }
        for k in [&b"a"[..], b"", b"zzzzzzzzzz", b"aaaaaaa\xff"] {
            b.push(k, None);
            probes.push(k.to_vec());
        }
        let run = b.freeze();
        assert!(!run.fence.is_empty());
        let mut plain = WriteBuffer::default();
        plain.append(&run);
        for k in &probes {
            let p = prefix(k);
            assert_eq!(run.lower(k, p), plain.lower(k, p), "{k:?}");
            assert_eq!(run.find(k), plain.find(k));
        }
        assert_eq!(run.find(b"a"), Some(None));
    }

    #[test]
    fn last_operation_per_key_wins_in_key_order() {
        let mut b = WriteBuffer::default();
        b.push(b"banana", Some(b"1"));
        b.push(b"apple", Some(b"2"));
        b.push(b"banana", None);
        b.push(b"apple_pie_long_key", Some(b"3"));
        b.push(b"apple", Some(b"4"));
        assert!(b.may_contain(b"apple"));
        b.sort_dedup();
        let seen: Vec<_> = (0..b.len()).map(|i| (b.key(i).to_vec(), b.value(i).map(|v| v.to_vec()))).collect();
        assert_eq!(
            seen,
            vec![
                (b"apple".to_vec(), Some(b"4".to_vec())),
                (b"apple_pie_long_key".to_vec(), Some(b"3".to_vec())),
                (b"banana".to_vec(), None)
            ]
        );
        b.clear();
        assert!(b.is_empty() && !b.may_contain(b"apple"));
    }
}
