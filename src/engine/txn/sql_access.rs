//! The engine calls only the SQL layer makes (feature `sql`): one-call lookups and writes by
//! table name without a table handle, an append test, and catalog access for a snapshot. The
//! SQL layer's `storage` module is their only caller.

use super::{inner::*, read::*, tables::*, write::*};
use crate::engine::btree;
use crate::engine::page::PageId;
use crate::error::Result;
use alloc::vec::Vec;

impl TxnInner {
    /// Whether `key` is above every key in `table`, so that it cannot be there. The first
    /// call in a transaction computes a bound (the largest key of the tree, the delta and the
    /// buffer); later ones compare with it, and inserts keep it up to date: appending keys
    /// costs no lookup.
    #[cfg(feature = "sql")]
    pub(super) fn above_all(&mut self, table: &str, key: &[u8]) -> Result<bool> {
        let t = &self.tables[table];
        if let Some(u) = &t.upper {
            return Ok(key > u.as_slice());
        }
        // The first time in this transaction: the largest key the tree, the committed delta
        // or the buffer has an operation on (a removed key only makes the bound higher). The
        // delta stays where it is: folding it here would undo what a log commit saves.
        let mut last = match t.root {
            0 => Vec::new(),
            root => btree::Cursor::last(&*self, root)?.map(|c| c.key().to_vec()).unwrap_or_default(),
        };
        for k in [t.delta.max_key(), t.buffer.max_key()].into_iter().flatten() {
            raise(&mut last, k);
        }
        let above = key > last.as_slice();
        self.tables.get_mut(table).expect("open table").upper = Some(last);
        Ok(above)
    }
}

impl ReadTransaction {
    /// Root page and entry count of a table, for callers that cache them per snapshot.
    #[cfg(feature = "sql")]
    pub(crate) fn table_meta(&self, name: &str) -> Result<Option<(PageId, u64)>> {
        btree::get(self, self.snap.catalog_root, name.as_bytes())?.map(|v| decode_meta(&v)).transpose()
    }

    /// A handle on table `name` from [`ReadTransaction::table_meta`]'s result.
    #[cfg(feature = "sql")]
    pub(crate) fn table_at(&self, name: &str, (root, count): (PageId, u64)) -> ReadTable<'_> {
        ReadTable { txn: self, root, count, delta: self.delta(name) }
    }
}

impl WriteTransaction {
    /// The value under `key` in `table` (None when the table does not exist): one lookup,
    /// no table handle.
    #[cfg(feature = "sql")]
    pub(crate) fn get_in(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with(|t| if t.table(table, false)? { t.get(table, key) } else { Ok(None) })
    }

    /// [`WriteTransaction::get_in`] for a key about to be inserted: a key above every key of
    /// the table (an append, as with increasing rowids) is answered without a lookup.
    #[cfg(feature = "sql")]
    pub(crate) fn get_new_in(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with(|t| {
            if !t.table(table, false)? || t.above_all(table, key)? {
                return Ok(None);
            }
            t.get(table, key)
        })
    }

    /// Insert into `table`, creating it if needed.
    #[cfg(feature = "sql")]
    pub(crate) fn put_in(&self, table: &str, key: &[u8], value: &[u8]) -> Result<()> {
        check_table_name(table)?;
        self.with(|t| {
            t.table(table, true)?;
            t.insert(table, key, value)
        })
    }

    /// Remove from `table` (false when absent or the table does not exist).
    #[cfg(feature = "sql")]
    pub(crate) fn remove_in(&self, table: &str, key: &[u8]) -> Result<bool> {
        self.with(|t| if t.table(table, false)? { t.remove(table, key) } else { Ok(false) })
    }
}
