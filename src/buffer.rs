//! The per-table write buffer of a write transaction.
//!
//! Inserts and removals are appended to an arena instead of being applied to the B+tree one by
//! one. When the buffer fills (a quarter of the cache budget), before any read that could see a
//! buffered key, and at commit, the buffer is sorted by key and applied in key order. Sorted
//! application walks the tree left to right: every leaf is copied at most once per flush, pages
//! filled by appends end up full, and a transaction larger than the cache spills leaves it will
//! not touch again instead of thrashing. The log records operations in call order at the time
//! of the call, so replay reaches the same state whatever the flush points were.

use crate::btree::OpList;
use alloc::vec::Vec;
use core::hash::BuildHasher;
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
}

fn prefix(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(b)
}

impl WriteBuffer {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Bytes held (arena plus bookkeeping).
    pub fn bytes(&self) -> usize {
        self.arena.len() + self.ops.len() * (core::mem::size_of::<BufOp>() + 8)
    }

    /// Whether `key` may have a buffered operation (false positives possible, no false negatives).
    pub fn may_contain(&self, key: &[u8]) -> bool {
        !self.ops.is_empty() && self.hashes.contains(&self.hasher.hash_one(key))
    }

    /// Buffer an insert (`Some`) or a removal (`None`).
    pub fn push(&mut self, key: &[u8], value: Option<&[u8]>) {
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
        self.hashes.insert(self.hasher.hash_one(key));
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
    }

    /// Forget everything (keeps allocations).
    pub fn clear(&mut self) {
        self.ops.clear();
        self.arena.clear();
        self.hashes.clear();
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
