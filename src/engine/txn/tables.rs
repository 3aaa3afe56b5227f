//! Per-table state inside a write transaction ([`TableState`]: root, count, buffered writes,
//! delta) and the table operations: open, insert, remove, get, flush into the tree, drop.

use super::{inner::*, options::*};
use crate::engine::btree;
use crate::engine::delta::TableDelta;
use crate::engine::format;
use crate::engine::log::LogWriter;
use crate::engine::page::PageId;
use crate::engine::write_buffer::WriteBuffer;
use crate::error::{Error, Result};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Raise the key bound `bound` to `key` if `key` is larger.
pub(super) fn raise(bound: &mut Vec<u8>, key: &[u8]) {
    if key > bound.as_slice() {
        bound.clear();
        bound.extend_from_slice(key);
    }
}

/// A table's state inside a write transaction.
pub(super) struct TableState {
    pub(super) root: PageId,
    pub(super) count: u64,
    pub(super) dirty: bool,
    pub(super) dropped: bool,
    pub(super) buffer: WriteBuffer,
    /// Committed writes not yet in the tree (newer than it).
    pub(super) delta: TableDelta,
    /// A key no smaller than any key in the table (tree, delta and buffer), once known: set by
    /// [`TxnInner::above_all`], raised by inserts (removals leave it a valid bound).
    pub(super) upper: Option<Vec<u8>>,
}

impl TableState {
    pub(super) fn new(root: PageId, count: u64, dirty: bool, dropped: bool) -> Self {
        TableState {
            root,
            count,
            dirty,
            dropped,
            buffer: WriteBuffer::default(),
            delta: TableDelta::default(),
            upper: None,
        }
    }
}

impl TxnInner {
    pub(super) fn table(&mut self, name: &str, create: bool) -> Result<bool> {
        if let Some(t) = self.tables.get_mut(name) {
            if !t.dropped {
                return Ok(true);
            }
            if !create {
                return Ok(false);
            }
            t.dropped = false;
            t.dirty = true;
            if self.logging {
                self.log.create(name);
            }
            return Ok(true);
        }
        let meta = btree::get(&*self, self.catalog_root, name.as_bytes())?.map(|v| decode_meta(&v)).transpose()?;
        match meta {
            Some((root, count)) => {
                let mut t = TableState::new(root, count, false, false);
                if let Some(d) = self.w.deltas.get(name) {
                    t.delta = d.clone();
                }
                self.tables.insert(name.into(), t);
                Ok(true)
            }
            None if create => {
                self.tables.insert(name.into(), TableState::new(0, 0, true, false));
                if self.logging {
                    self.log.create(name);
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub(super) fn log_op(&mut self, f: impl FnOnce(&mut LogWriter)) {
        if self.logging {
            f(&mut self.log);
            if self.log.buf.len() > self.log_limit {
                self.log_limit = self.log_bound();
                if self.log.buf.len() > self.log_limit {
                    self.logging = false;
                    self.log.clear();
                }
            }
        }
    }

    pub(super) fn insert(&mut self, table: &str, key: &[u8], value: &[u8]) -> Result<()> {
        self.check_usable()?;
        check_key(key)?;
        if value.len() > MAX_VALUE_LEN {
            return Err(Error::ValueTooLarge { len: value.len(), max: MAX_VALUE_LEN });
        }
        self.log_op(|l| l.put(table, key, value));
        let t = self.tables.get_mut(table).expect("open table");
        t.buffer.push(key, Some(value));
        if let Some(u) = &mut t.upper {
            raise(u, key);
        }
        if t.buffer.bytes() > self.shared.pager.budget / 4 {
            self.flush(table)?;
        }
        Ok(())
    }

    pub(super) fn remove(&mut self, table: &str, key: &[u8]) -> Result<bool> {
        self.check_usable()?;
        check_key(key)?;
        if self.tables[table].buffer.may_contain(key) {
            self.flush(table)?;
        }
        let t = &self.tables[table];
        let present = match t.delta.get(key) {
            Some(v) => v.is_some(),
            None => {
                let r = btree::get(&*self, t.root, key).map(|v| v.is_some());
                self.fail(r)?
            }
        };
        if !present {
            return Ok(false);
        }
        self.log_op(|l| l.remove(table, key));
        let t = self.tables.get_mut(table).expect("open table");
        t.buffer.push(key, None);
        if t.buffer.bytes() > self.shared.pager.budget / 4 {
            self.flush(table)?;
        }
        Ok(true)
    }

    /// The value under `key`, seeing buffered writes.
    pub(super) fn get(&mut self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_usable()?;
        if self.tables[table].buffer.may_contain(key) {
            self.flush(table)?;
        }
        let t = &self.tables[table];
        match t.delta.get(key) {
            Some(v) => Ok(v.map(<[u8]>::to_vec)),
            None => Ok(btree::get(&*self, t.root, key)?.map(|g| g.to_vec())),
        }
    }

    /// Apply the table's committed delta and buffered writes to its tree, in key order.
    pub(super) fn flush(&mut self, table: &str) -> Result<()> {
        self.check_usable()?;
        let t = self.tables.get_mut(table).expect("open table");
        if t.buffer.is_empty() && t.delta.is_empty() {
            return Ok(());
        }
        let mut buffer = if t.delta.is_empty() {
            core::mem::take(&mut t.buffer)
        } else {
            let all = t.delta.to_buffer(&t.buffer);
            t.buffer.clear();
            t.delta = TableDelta::default();
            self.deltas_changed = true;
            all
        };
        let root = t.root;
        buffer.sort_dedup();
        let r = btree::apply_sorted(self, root, &buffer);
        buffer.clear();
        let t = self.tables.get_mut(table).expect("open table");
        t.buffer = buffer;
        t.dirty = true;
        let (root, delta) = self.fail(r)?;
        let t = self.tables.get_mut(table).expect("open table");
        t.root = root;
        t.count = t.count.checked_add_signed(delta).ok_or_else(|| Error::corrupted(root, "entry count underflow"))?;
        let r = self.maybe_write_early();
        self.fail(r)
    }

    pub(super) fn flush_all(&mut self) -> Result<()> {
        let names: Vec<String> =
            self.tables.iter().filter(|(_, t)| !t.buffer.is_empty()).map(|(n, _)| n.clone()).collect();
        for n in names {
            self.flush(&n)?;
        }
        Ok(())
    }

    /// Fold every table's delta (and buffer) into its tree: before a checkpoint.
    pub(super) fn fold_all(&mut self) -> Result<()> {
        let names: Vec<String> = self.w.deltas.keys().cloned().collect();
        for n in &names {
            self.table(n, false)?;
        }
        let names: Vec<String> = self
            .tables
            .iter()
            .filter(|(_, t)| !t.buffer.is_empty() || !t.delta.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        for n in names {
            self.flush(&n)?;
        }
        Ok(())
    }

    /// Memory the deltas would hold if this transaction committed its buffers as runs.
    pub(super) fn delta_bytes(&self) -> usize {
        let mut n = self.w.delta_bytes;
        for (name, t) in &self.tables {
            n += t.delta.bytes() + t.buffer.bytes();
            n -= self.w.deltas.get(name).map_or(0, TableDelta::bytes);
        }
        n
    }

    pub(super) fn delete_table(&mut self, name: &str) -> Result<bool> {
        self.check_usable()?;
        if !self.table(name, false)? {
            return Ok(false);
        }
        let root = self.tables[name].root;
        let r = btree::free_tree(self, root);
        self.fail(r)?;
        let t = self.tables.get_mut(name).expect("open table");
        *t = TableState::new(0, 0, true, true);
        self.deltas_changed = true;
        self.log_op(|l| l.delete_table(name));
        Ok(true)
    }
}

pub(super) fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        Err(Error::KeyTooLarge { len: key.len(), max: MAX_KEY_LEN })
    } else {
        Ok(())
    }
}

pub(super) fn check_table_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_TABLE_NAME_LEN {
        Err(Error::InvalidTableName(name.to_string()))
    } else {
        Ok(())
    }
}

/// [`check_table_name`], and not in the SQL layer's namespace ([`RESERVED_TABLE_PREFIX`]).
pub(super) fn check_public_table_name(name: &str) -> Result<()> {
    check_table_name(name)?;
    if name.starts_with(RESERVED_TABLE_PREFIX) {
        return Err(Error::ReservedTableName(name.to_string()));
    }
    Ok(())
}

pub(super) fn decode_meta(v: &[u8]) -> Result<(PageId, u64)> {
    format::decode_pair(v).ok_or_else(|| Error::corrupted(0, "catalog entry of the wrong size"))
}
