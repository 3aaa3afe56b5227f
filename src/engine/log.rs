//! The logical redo log: what a committed transaction changed, as a list of operations.
//!
//! A commit that fits in the log region costs one sequential write of one frame plus one device
//! sync; the B+tree pages it changed stay in memory (the cache's dirty entries) until a
//! checkpoint writes them in place. Because the log records the *changes* rather than page
//! images, a batch of small writes logs only its own bytes.
//!
//! Payload encoding (all little-endian), a sequence of ops:
//! ```text
//! 1 TABLE   name_len u16, name      following PUT/DEL apply to this table (created if missing)
//! 2 PUT     klen u16, vlen u32, key, value
//! 3 DEL     klen u16, key
//! 4 DROP    name_len u16, name      drop the table and all its entries
//! ```
//! Replay applies the ops with the same code a live transaction uses, so a replayed database
//! holds exactly the same entries (its page layout may differ; that is invisible).

use crate::engine::format::{get_u16, get_u32};
use crate::error::{Error, Result};
use alloc::vec::Vec;

const OP_TABLE: u8 = 1;
const OP_PUT: u8 = 2;
const OP_REMOVE: u8 = 3;
const OP_DELETE_TABLE: u8 = 4;

/// One decoded operation, borrowing from the payload.
#[derive(Debug, PartialEq, Eq)]
pub enum Op<'a> {
    /// Select (and create) a table.
    Table(&'a str),
    /// Insert or replace.
    Put(&'a [u8], &'a [u8]),
    /// Remove.
    Remove(&'a [u8]),
    /// Delete a table (and all its entries).
    DeleteTable(&'a str),
}

/// Builds a payload.
#[derive(Default)]
pub struct LogWriter {
    pub buf: Vec<u8>,
    current: Option<alloc::string::String>,
}

impl LogWriter {
    fn select(&mut self, table: &str) {
        if self.current.as_deref() != Some(table) {
            self.buf.push(OP_TABLE);
            self.buf.extend_from_slice(&(table.len() as u16).to_le_bytes());
            self.buf.extend_from_slice(table.as_bytes());
            self.current = Some(table.into());
        }
    }
    /// Record a table creation (an empty TABLE op creates it on replay).
    pub fn create(&mut self, table: &str) {
        self.select(table);
    }
    /// Record an insert.
    pub fn put(&mut self, table: &str, key: &[u8], value: &[u8]) {
        self.select(table);
        self.buf.push(OP_PUT);
        self.buf.extend_from_slice(&(key.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(key);
        self.buf.extend_from_slice(value);
    }
    /// Record a removal.
    pub fn remove(&mut self, table: &str, key: &[u8]) {
        self.select(table);
        self.buf.push(OP_REMOVE);
        self.buf.extend_from_slice(&(key.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(key);
    }
    /// Record a table drop.
    pub fn delete_table(&mut self, table: &str) {
        self.buf.push(OP_DELETE_TABLE);
        self.buf.extend_from_slice(&(table.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(table.as_bytes());
        self.current = None;
    }
    /// Forget everything recorded.
    pub fn clear(&mut self) {
        self.buf = Vec::new();
        self.current = None;
    }
}

/// Iterates the ops of a payload; a malformed payload yields an error naming the frame's page.
pub struct LogReader<'a> {
    b: &'a [u8],
    at: usize,
    page: u64,
}

impl<'a> LogReader<'a> {
    /// Read `payload`; `page` is where the frame starts (for error messages).
    pub fn new(payload: &'a [u8], page: u64) -> Self {
        LogReader { b: payload, at: 0, page }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or_else(|| Error::corrupted(self.page, "log frame payload truncated"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn name(&mut self) -> Result<&'a str> {
        let n = get_u16(self.take(2)?, 0) as usize;
        core::str::from_utf8(self.take(n)?).map_err(|_| Error::corrupted(self.page, "log table name is not UTF-8"))
    }
}

impl<'a> Iterator for LogReader<'a> {
    type Item = Result<Op<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.b.len() {
            return None;
        }
        let op = self.b[self.at];
        self.at += 1;
        let r = (|| match op {
            OP_TABLE => Ok(Op::Table(self.name()?)),
            OP_DELETE_TABLE => Ok(Op::DeleteTable(self.name()?)),
            OP_PUT => {
                let h = self.take(6)?;
                let (kl, vl) = (get_u16(h, 0) as usize, get_u32(h, 2) as usize);
                Ok(Op::Put(self.take(kl)?, self.take(vl)?))
            }
            OP_REMOVE => {
                let kl = get_u16(self.take(2)?, 0) as usize;
                Ok(Op::Remove(self.take(kl)?))
            }
            other => Err(Error::corrupted(self.page, alloc::format!("unknown log op {other}"))),
        })();
        if r.is_err() {
            self.at = self.b.len();
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut w = LogWriter::default();
        w.put("a", b"k1", b"v1");
        w.put("a", b"k2", b"");
        w.remove("b", b"k1");
        w.delete_table("a");
        w.create("c");
        let ops: Vec<Op> = LogReader::new(&w.buf, 1).map(|o| o.unwrap()).collect();
        assert_eq!(
            ops,
            [
                Op::Table("a"),
                Op::Put(b"k1", b"v1"),
                Op::Put(b"k2", b""),
                Op::Table("b"),
                Op::Remove(b"k1"),
                Op::DeleteTable("a"),
                Op::Table("c")
            ]
        );
    }

    #[test]
    fn truncated_payload_is_an_error() {
        let mut w = LogWriter::default();
        w.put("a", b"key", b"value");
        let cut = &w.buf[..w.buf.len() - 2];
        let r: Vec<_> = LogReader::new(cut, 9).collect();
        assert!(matches!(r.last(), Some(Err(Error::Corrupted { page: 9, .. }))));
    }
}
