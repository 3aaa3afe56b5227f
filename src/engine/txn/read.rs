//! Read transactions: [`ReadTransaction`] (a snapshot), [`ReadTable`] and its [`Range`]
//! iterator, merging each table's committed delta over its tree.

use super::{tables::*, writer::*};
use crate::engine::btree::{self, PageSource, RangeState};
use crate::engine::delta::{MergedRange, TableDelta};
use crate::engine::page::{Guard, PageId, PageRef};
use crate::engine::pager::DirtyView;
use crate::engine::write_buffer::WriteBuffer;
use crate::error::{Error, Result};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::{Bound, RangeBounds};

pub(super) fn bounds<K: AsRef<[u8]>, R: RangeBounds<K>>(r: &R) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let f = |b: Bound<&K>| match b {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    };
    (f(r.start_bound()), f(r.end_bound()))
}

// ---------------------------------------------------------------------------------------------
// Read transactions

/// A read-only snapshot. Dropping it lets the pages it pinned be reused.
pub struct ReadTransaction {
    pub(super) shared: Arc<Shared>,
    pub(super) snap: Snapshot,
    pub(super) view: Arc<DirtyView>,
}

impl Drop for ReadTransaction {
    fn drop(&mut self) {
        let mut r = self.shared.readers.lock();
        if let Some(n) = r.active.get_mut(&self.snap.txn_id) {
            *n -= 1;
            if *n == 0 {
                r.active.remove(&self.snap.txn_id);
            }
        }
    }
}

impl PageSource for ReadTransaction {
    #[inline]
    fn page(&self, id: PageId) -> Result<PageRef<'_>> {
        self.shared.pager.read_page_in(&self.view, id)
    }

    fn overflow(&self, first: PageId, len: usize) -> Result<Guard<'_>> {
        self.shared.pager.read_overflow(first, len)
    }

    fn page_size(&self) -> usize {
        self.shared.pager.page_size
    }

    #[inline]
    fn prefetch(&self, id: PageId) {
        self.shared.pager.prefetch(id);
    }
}

impl ReadTransaction {
    /// Open an existing table.
    pub fn open_table(&self, name: &str) -> Result<ReadTable<'_>> {
        check_table_name(name)?;
        match btree::get(self, self.snap.catalog_root, name.as_bytes())? {
            Some(v) => {
                let (root, count) = decode_meta(&v)?;
                Ok(ReadTable { txn: self, root, count, delta: self.delta(name) })
            }
            None => Err(Error::TableNotFound(name.into())),
        }
    }

    /// Names of all tables, sorted.
    pub fn list_tables(&self) -> Result<Vec<String>> {
        list_tables(self, self.snap.catalog_root)
    }

    pub(super) fn delta(&self, name: &str) -> Option<&TableDelta> {
        if self.snap.deltas.is_empty() {
            None
        } else {
            self.snap.deltas.get(name)
        }
    }

    /// The id of the last transaction this snapshot includes.
    pub fn txn_id(&self) -> u64 {
        self.snap.txn_id
    }
}

pub(super) fn list_tables<S: PageSource>(s: &S, root: PageId) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut st = RangeState::new(root, Bound::Unbounded, Bound::Unbounded);
    while let Some((k, _)) = st.next(s)? {
        out.push(String::from_utf8_lossy(&k).into_owned());
    }
    Ok(out)
}

/// A table in a read transaction.
pub struct ReadTable<'t> {
    pub(super) txn: &'t ReadTransaction,
    pub(super) root: PageId,
    pub(super) count: u64,
    /// Committed writes not yet folded into the tree.
    pub(super) delta: Option<&'t TableDelta>,
}

impl<'t> ReadTable<'t> {
    /// The value stored under `key`.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Result<Option<Guard<'t>>> {
        if let Some(found) = self.delta.and_then(|d| d.get(key)) {
            return Ok(found.map(Guard::borrowed));
        }
        btree::get(self.txn, self.root, key)
    }

    /// Entries with keys in `range`, in key order (reverse with `.rev()`).
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<Range<'t>> {
        let (s, e) = bounds(&range);
        let merge = self
            .delta
            .map(|d| MergedRange::new(d.cursor(s.as_ref().map(Vec::as_slice), e.as_ref().map(Vec::as_slice))));
        Ok(Range { txn: self.txn, state: RangeState::new(self.root, s, e), merge })
    }

    /// All entries in key order.
    pub fn iter(&self) -> Result<Range<'t>> {
        self.range::<&[u8], _>(..)
    }

    /// The entry with the smallest key.
    pub fn first(&self) -> Result<Option<(Guard<'t>, Guard<'t>)>> {
        self.iter()?.next().transpose()
    }

    /// The entry with the largest key.
    pub fn last(&self) -> Result<Option<(Guard<'t>, Guard<'t>)>> {
        self.iter()?.next_back().transpose()
    }

    /// Number of entries. With unfolded commits this probes the tree once per key they
    /// wrote (bounded by the log size).
    pub fn len(&self) -> Result<u64> {
        let Some(d) = self.delta else {
            return Ok(self.count);
        };
        let mut ops = d.to_buffer(&WriteBuffer::default());
        ops.sort_dedup();
        let mut n = self.count;
        for i in 0..btree::OpList::len(&ops) {
            let (key, put) = (btree::OpList::key(&ops, i), btree::OpList::value(&ops, i).is_some());
            let in_tree = btree::get(self.txn, self.root, key)?.is_some();
            match (put, in_tree) {
                (true, false) => n += 1,
                (false, true) => {
                    n = n.checked_sub(1).ok_or_else(|| Error::corrupted(self.root, "entry count underflow"))?
                }
                _ => {}
            }
        }
        Ok(n)
    }

    /// An estimate of the number of entries without reading the tree: the count as of the
    /// last checkpoint plus the operations of unfolded commits (each may add one). For query
    /// planning, where [`ReadTable::len`]'s exact count would probe the tree per key.
    pub fn approx_len(&self) -> u64 {
        self.count + self.delta.map_or(0, |d| d.ops())
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// Iterator over a key range of a [`ReadTable`].
pub struct Range<'t> {
    pub(super) txn: &'t ReadTransaction,
    pub(super) state: RangeState<'t>,
    /// The table's delta, merged in (None: the tree alone).
    pub(super) merge: Option<MergedRange<'t>>,
}

impl<'t> Iterator for Range<'t> {
    type Item = Result<(Guard<'t>, Guard<'t>)>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.merge {
            None => self.state.next(self.txn).transpose(),
            Some(m) => m.next(&mut self.state, self.txn, false).transpose(),
        }
    }
}

impl DoubleEndedIterator for Range<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.merge {
            None => self.state.next_back(self.txn).transpose(),
            Some(m) => m.next(&mut self.state, self.txn, true).transpose(),
        }
    }
}
