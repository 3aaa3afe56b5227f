//! The write transaction's public face: [`WriteTransaction`], [`Table`] and [`TableRange`]
//! (which merge the transaction's own buffered writes over the snapshot).

use super::{database::*, inner::*, options::*, read::*, tables::*};
use crate::engine::btree::RangeState;
use crate::error::{Error, Result};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::ops::{Bound, RangeBounds};

// ---------------------------------------------------------------------------------------------
// Write transactions

/// The write transaction. Commit with [`WriteTransaction::commit`]; dropping it aborts.
pub struct WriteTransaction {
    pub(super) inner: RefCell<Option<TxnInner>>,
    pub(super) durability: Durability,
}

impl WriteTransaction {
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut TxnInner) -> Result<T>) -> Result<T> {
        let mut g = self.inner.borrow_mut();
        f(g.as_mut().expect("open transaction"))
    }

    /// Open a table, creating it if it does not exist. Names starting with
    /// [`RESERVED_TABLE_PREFIX`] are refused ([`Error::ReservedTableName`]).
    pub fn open_table(&self, name: &str) -> Result<Table<'_>> {
        check_public_table_name(name)?;
        self.open_table_internal(name)
    }

    /// Open a table that must already exist ([`Error::TableNotFound`] otherwise). Names
    /// starting with [`RESERVED_TABLE_PREFIX`] are refused ([`Error::ReservedTableName`]).
    pub fn open_existing_table(&self, name: &str) -> Result<Table<'_>> {
        check_public_table_name(name)?;
        self.open_existing_table_internal(name)
    }

    /// Delete a table and all its entries; returns whether it existed. Names starting with
    /// [`RESERVED_TABLE_PREFIX`] are refused ([`Error::ReservedTableName`]).
    pub fn delete_table(&self, name: &str) -> Result<bool> {
        check_public_table_name(name)?;
        self.delete_table_internal(name)
    }

    /// [`WriteTransaction::open_table`] for any valid name, the SQL layer's included.
    pub(crate) fn open_table_internal(&self, name: &str) -> Result<Table<'_>> {
        check_table_name(name)?;
        self.with(|t| t.table(name, true))?;
        Ok(Table { txn: self, name: name.into() })
    }

    /// [`WriteTransaction::open_existing_table`] for any valid name.
    pub(crate) fn open_existing_table_internal(&self, name: &str) -> Result<Table<'_>> {
        check_table_name(name)?;
        if !self.with(|t| t.table(name, false))? {
            return Err(Error::TableNotFound(name.into()));
        }
        Ok(Table { txn: self, name: name.into() })
    }

    /// [`WriteTransaction::delete_table`] for any valid name.
    pub(crate) fn delete_table_internal(&self, name: &str) -> Result<bool> {
        check_table_name(name)?;
        self.with(|t| t.delete_table(name))
    }

    /// Names of all tables, sorted (including changes made in this transaction).
    pub fn list_tables(&self) -> Result<Vec<String>> {
        self.with(|t| {
            t.write_catalog()?;
            list_tables(&*t, t.catalog_root)
        })
    }

    /// Choose how [`WriteTransaction::commit`] reaches the device.
    pub fn set_durability(&mut self, d: Durability) {
        self.durability = d;
    }

    /// Make the transaction's changes visible (and durable, by default).
    ///
    /// With [`Options::auto_compact`], a commit that leaves most of the file free then
    /// compacts it; the commit stands even if that fails (an I/O error there poisons the
    /// database, like any other).
    pub fn commit(self) -> Result<()> {
        let mut inner = self.inner.borrow_mut().take().expect("open transaction");
        inner.durable = self.durability == Durability::Immediate;
        let shared = inner.shared.clone();
        let auto = shared.options.auto_compact && !inner.force_checkpoint;
        let r = inner.commit();
        let r = inner.w.settle(r, true);
        let compact = auto && r.is_ok() && inner.w.compact_due(shared.pager.page_size);
        drop(inner); // hands the writer state back
        if compact {
            let _ = Database { shared }.compact();
        }
        r
    }

    /// Discard the transaction's changes.
    pub fn abort(self) {}
}

impl Drop for WriteTransaction {
    fn drop(&mut self) {
        if let Some(mut inner) = self.inner.borrow_mut().take() {
            inner.undo(); // dropping `inner` then hands the writer state back
        }
    }
}

/// A table in a write transaction.
pub struct Table<'t> {
    pub(super) txn: &'t WriteTransaction,
    pub(super) name: String,
}

impl<'t> Table<'t> {
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut TxnInner, &str) -> Result<T>) -> Result<T> {
        self.txn.with(|t| {
            if !t.table(&self.name, false)? {
                return Err(Error::TableNotFound(self.name.clone()));
            }
            f(t, &self.name)
        })
    }

    /// Insert or replace the value under `key`.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.with(|t, n| t.insert(n, key, value))
    }

    /// Remove `key`; returns whether it was present.
    pub fn remove(&mut self, key: &[u8]) -> Result<bool> {
        self.with(|t, n| t.remove(n, key))
    }

    /// The value under `key` (a copy: the transaction may change the page afterwards).
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with(|t, n| t.get(n, key))
    }

    /// Number of entries.
    pub fn len(&self) -> Result<u64> {
        self.with(|t, n| {
            t.flush(n)?;
            Ok(t.tables[n].count)
        })
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Entries with keys in `range`, in key order, as owned copies. Each step re-seeks, so
    /// the table may be changed between steps.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<TableRange<'_>> {
        let (start, end) = bounds(&range);
        Ok(TableRange { table: self, start, end, done: false })
    }

    /// All entries in key order.
    pub fn iter(&self) -> Result<TableRange<'_>> {
        self.range::<&[u8], _>(..)
    }

    /// Up to `max` entries of `start..end` appended to `out` as owned copies, in key order (or
    /// reverse order), with one tree descent for the whole batch. Returns whether the range
    /// is exhausted. Callers continue after the last key returned.
    pub fn range_batch(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        max: usize,
        out: &mut Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<bool> {
        self.with(|t, n| {
            t.flush(n)?;
            let root = t.tables[n].root;
            let mut st = RangeState::new(root, start.map(<[u8]>::to_vec), end.map(<[u8]>::to_vec));
            for _ in 0..max {
                let e = if reverse { st.next_back(&*t)? } else { st.next(&*t)? };
                match e {
                    Some((k, v)) => out.push((k.to_vec(), v.to_vec())),
                    None => return Ok(true),
                }
            }
            Ok(false)
        })
    }

    /// The entry with the smallest key.
    pub fn first(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.iter()?.next().transpose()
    }

    /// The entry with the largest key.
    pub fn last(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.iter()?.next_back().transpose()
    }
}

/// Iterator over a key range of a [`Table`] in a write transaction.
pub struct TableRange<'a> {
    pub(super) table: &'a Table<'a>,
    pub(super) start: Bound<Vec<u8>>,
    pub(super) end: Bound<Vec<u8>>,
    pub(super) done: bool,
}

impl TableRange<'_> {
    pub(super) fn step(&mut self, back: bool) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        if self.done {
            return None;
        }
        let r = self.table.with(|t, n| {
            t.flush(n)?;
            let root = t.tables[n].root;
            let mut st = RangeState::new(root, self.start.clone(), self.end.clone());
            let e = if back { st.next_back(&*t)? } else { st.next(&*t)? };
            Ok(e.map(|(k, v)| (k.to_vec(), v.to_vec())))
        });
        match r {
            Ok(Some((k, v))) => {
                if back {
                    self.end = Bound::Excluded(k.clone());
                } else {
                    self.start = Bound::Excluded(k.clone());
                }
                Some(Ok((k, v)))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Iterator for TableRange<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        self.step(false)
    }
}

impl DoubleEndedIterator for TableRange<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.step(true)
    }
}
