//! The storage boundary: the one place where the SQL layer meets the key-value engine.
//!
//! Everything above this file sees SQL tables and indexes as ordered maps of byte keys to
//! byte values, named by engine table, and reaches them only through [`Txn`] (a read
//! snapshot or the write transaction a statement runs in) and [`Writer`] (writes with an
//! undo log, so a failing statement inside an explicit transaction can be rolled back on its
//! own). Sorting and grouping spill to a [`TempDb`], written a table at a time and read back
//! in batches through a [`TempSnapshot`]. The engine's own types (`Database`,
//! `ReadTransaction`, `WriteTransaction`, `ReadTable`, `Options`, devices, durability, the
//! key-size limit) appear nowhere else in `sql/`, except where the public API takes or
//! returns a [`Database`] (`Connection::new`, `Connection::database`). The hidden
//! `internal_tables` test hook (`tessera::sql::internal_tables`) lives here too.
//!
//! How keys and values are laid out (row keys, index entries, records) is the business of
//! `types::encoding` and `catalog`; this file only moves bytes.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::ops::Bound;
use hashbrown::HashMap;

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::{Database, Durability, Options, ReadTransaction, WriteTransaction};

/// The engine's limit on key length (row keys of WITHOUT ROWID tables and index entries
/// must fit).
pub use crate::MAX_KEY_LEN;
/// The prefix of the engine tables the SQL layer keeps for itself (the key-value API refuses
/// them).
pub use crate::RESERVED_TABLE_PREFIX;

/// A callback on one engine entry (key, value).
pub type EntryFn<'f> = dyn FnMut(&[u8], &[u8]) -> Result<()> + 'f;

/// The engine transaction a statement runs in.
#[allow(clippy::large_enum_variant)] // one per statement or transaction
pub enum Txn {
    /// A snapshot for reading, with the tables' roots looked up so far.
    Read(ReadTransaction, RefCell<HashMap<String, Option<(u64, u64)>>>),
    /// The write transaction.
    Write(WriteTransaction),
}

fn read_only() -> Error {
    Error::Sql("internal error: write in a read transaction".into())
}

impl Txn {
    /// A read snapshot.
    pub fn read(r: ReadTransaction) -> Txn {
        Txn::Read(r, RefCell::new(HashMap::new()))
    }

    /// A read snapshot of `db`.
    pub fn begin_read(db: &Database) -> Result<Txn> {
        Ok(Txn::read(db.begin_read()?))
    }

    /// The write transaction of `db`; unless `durable`, its commit does not wait for the
    /// device sync (`PRAGMA synchronous` OFF or NORMAL).
    pub fn begin_write(db: &Database, durable: bool) -> Result<Txn> {
        let mut w = db.begin_write()?;
        if !durable {
            w.set_durability(Durability::None);
        }
        Ok(Txn::Write(w))
    }

    /// The names of every engine table, reserved ones included.
    pub fn list_tables(&self) -> Result<Vec<String>> {
        match self {
            Txn::Read(r, _) => r.list_tables(),
            Txn::Write(w) => w.list_tables(),
        }
    }

    /// Commit a write transaction; a read snapshot just ends.
    pub fn commit(self) -> Result<()> {
        match self {
            Txn::Write(w) => w.commit(),
            Txn::Read(..) => Ok(()),
        }
    }

    /// A handle on a table of a read snapshot (None: no such table), looking each table up
    /// in the engine's catalog once per snapshot.
    fn read_table<'a>(
        r: &'a ReadTransaction,
        cache: &RefCell<HashMap<String, Option<(u64, u64)>>>,
        table: &str,
    ) -> Result<Option<crate::ReadTable<'a>>> {
        let hit = cache.borrow().get(table).copied();
        let meta = match hit {
            Some(m) => m,
            None => {
                let m = r.table_meta(table)?;
                cache.borrow_mut().insert(table.into(), m);
                m
            }
        };
        Ok(meta.map(|m| r.table_at(table, m)))
    }

    /// The value under `key` in engine table `table` (a missing table is empty).
    pub fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self {
            Txn::Read(r, c) => match Self::read_table(r, c, table)? {
                Some(t) => Ok(t.get(key)?.map(|g| g.to_vec())),
                None => Ok(None),
            },
            Txn::Write(w) => w.get_in(table, key),
        }
    }

    /// [`Txn::get`] for a key about to be inserted (cheap when it is above every key).
    pub fn get_new(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self {
            Txn::Read(..) => self.get(table, key),
            Txn::Write(w) => w.get_new_in(table, key),
        }
    }

    /// Hand the value under `key` to `f` without copying it (in a read snapshot); returns
    /// whether the key was found.
    pub fn with_value(&self, table: &str, key: &[u8], f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<bool> {
        match self {
            Txn::Read(r, c) => match Self::read_table(r, c, table)? {
                Some(t) => match t.get(key)? {
                    Some(g) => f(&g).map(|_| true),
                    None => Ok(false),
                },
                None => Ok(false),
            },
            Txn::Write(w) => match w.get_in(table, key)? {
                Some(v) => f(&v).map(|_| true),
                None => Ok(false),
            },
        }
    }

    /// Up to `max` entries of a key range; returns whether the range is exhausted.
    pub fn scan(
        &self,
        table: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        max: usize,
        out: &mut Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<bool> {
        match self {
            Txn::Read(r, c) => Self::read_range(r, c, table, (start, end), reverse, max, &mut |k, v| {
                out.push((k.to_vec(), v.to_vec()));
                Ok(())
            }),
            Txn::Write(w) => match w.open_existing_table_internal(table) {
                Ok(t) => t.range_batch(start, end, reverse, max, out),
                Err(Error::TableNotFound(_)) => Ok(true),
                Err(e) => Err(e),
            },
        }
    }

    /// Like [`Txn::scan`], but hands each entry to `f` without copying it (in a read
    /// snapshot); returns whether the range is exhausted. `last` is set to the last key seen.
    pub fn scan_each(
        &self,
        table: &str,
        (start, end): (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        max: usize,
        last: &mut Vec<u8>,
        f: &mut EntryFn<'_>,
    ) -> Result<bool> {
        match self {
            Txn::Read(r, c) => Self::read_range(r, c, table, (start, end), reverse, max, &mut |k, v| {
                f(k, v)?;
                last.clear();
                last.extend_from_slice(k);
                Ok(())
            }),
            Txn::Write(_) => {
                let mut out = Vec::new();
                let done = self.scan(table, start, end, reverse, max, &mut out)?;
                for (k, v) in &out {
                    f(k, v)?;
                }
                if let Some((k, _)) = out.last() {
                    last.clear();
                    last.extend_from_slice(k);
                }
                Ok(done)
            }
        }
    }

    /// Up to `max` entries of a key range of a read snapshot, each handed to `f` without
    /// copying; returns whether the range is exhausted (a missing table is empty). The one
    /// read loop behind [`Txn::scan`] and [`Txn::scan_each`].
    fn read_range(
        r: &ReadTransaction,
        c: &RefCell<HashMap<String, Option<(u64, u64)>>>,
        table: &str,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        max: usize,
        f: &mut EntryFn<'_>,
    ) -> Result<bool> {
        let Some(t) = Self::read_table(r, c, table)? else { return Ok(true) };
        let mut it = t.range::<&[u8], _>(range)?;
        for _ in 0..max {
            let e = if reverse { it.next_back() } else { it.next() };
            match e {
                Some(e) => {
                    let (k, v) = e?;
                    f(&k, &v)?;
                }
                None => return Ok(true),
            }
        }
        Ok(false)
    }

    /// Every entry of a table.
    pub fn scan_all(&self, table: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        self.scan(table, Bound::Unbounded, Bound::Unbounded, false, usize::MAX, &mut out)?;
        Ok(out)
    }

    /// The number of entries in a table, estimated (for planning): exact in a write
    /// transaction, the checkpointed count plus the unfolded commits' operations in a read.
    pub fn count_estimate(&self, table: &str) -> Result<u64> {
        match self {
            Txn::Read(r, c) => Ok(Self::read_table(r, c, table)?.map_or(0, |t| t.approx_len())),
            Txn::Write(_) => self.count(table),
        }
    }

    /// Number of entries in a table.
    pub fn count(&self, table: &str) -> Result<u64> {
        match self {
            Txn::Read(r, c) => match Self::read_table(r, c, table)? {
                Some(t) => t.len(),
                None => Ok(0),
            },
            Txn::Write(w) => match w.open_existing_table_internal(table) {
                Ok(t) => t.len(),
                Err(Error::TableNotFound(_)) => Ok(0),
                Err(e) => Err(e),
            },
        }
    }

    /// The write transaction, or an error for a read snapshot.
    pub fn writer(&self) -> Result<&WriteTransaction> {
        match self {
            Txn::Write(w) => Ok(w),
            Txn::Read(..) => Err(read_only()),
        }
    }

    /// Insert or replace.
    pub fn put(&self, table: &str, key: &[u8], value: &[u8]) -> Result<()> {
        self.writer()?.put_in(table, key, value)
    }

    /// Remove; returns whether the key was present.
    pub fn remove(&self, table: &str, key: &[u8]) -> Result<bool> {
        self.writer()?.remove_in(table, key)
    }
}

/// One key range: `(start, end)`.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Undo log of one statement: (engine table, key, previous value). A connection keeps one
/// and resets it per statement, so logging a write allocates nothing once it has warmed up
/// (keys go to one arena).
#[derive(Default)]
pub struct Undo {
    /// Whether to record (inside explicit transactions).
    pub enabled: bool,
    /// Engine table names the entries refer to (by position).
    tables: Vec<String>,
    /// The entries' keys, one after another.
    keys: Vec<u8>,
    /// Entries in write order: (table position, end of the key in `keys`, previous value).
    entries: Vec<(u32, usize, Option<Vec<u8>>)>,
    /// Engine tables the statement created (DDL), dropped by a rollback.
    created: Vec<String>,
}

impl Undo {
    /// Empty, for a new statement.
    pub fn reset(&mut self, enabled: bool) {
        self.enabled = enabled;
        self.keys.clear();
        self.entries.clear();
        self.created.clear();
    }

    fn record(&mut self, table: &str, key: &[u8], prior: Option<Vec<u8>>) {
        let t = match self.tables.iter().position(|n| n == table) {
            Some(i) => i,
            None => {
                self.tables.push(table.into());
                self.tables.len() - 1
            }
        };
        self.keys.extend_from_slice(key);
        self.entries.push((t as u32, self.keys.len(), prior));
    }

    /// Undo every recorded write, newest first, then drop the engine tables the statement
    /// created.
    pub fn rollback(&mut self, txn: &Txn) -> Result<()> {
        while let Some((t, end, old)) = self.entries.pop() {
            let start = self.entries.last().map_or(0, |e| e.1);
            let (t, k) = (&self.tables[t as usize], &self.keys[start..end]);
            match old {
                Some(v) => txn.put(t, k, &v)?,
                None => {
                    txn.remove(t, k)?;
                }
            }
        }
        self.keys.clear();
        while let Some(name) = self.created.pop() {
            txn.writer()?.delete_table_internal(&name)?;
        }
        Ok(())
    }
}

/// Writes with undo logging.
pub struct Writer<'a> {
    /// The transaction.
    pub txn: &'a Txn,
    /// The statement's undo log.
    pub undo: &'a mut Undo,
    /// Scratch space to encode a record in (kept by the connection across statements).
    pub rec: &'a mut Vec<u8>,
}

impl Writer<'_> {
    /// Write `key` whose previous value is `prior`.
    pub fn put(&mut self, table: &str, key: &[u8], value: &[u8], prior: Option<Vec<u8>>) -> Result<()> {
        if self.undo.enabled {
            self.undo.record(table, key, prior);
        }
        self.txn.put(table, key, value)
    }

    /// Remove `key` whose value was `old`.
    pub fn del(&mut self, table: &str, key: &[u8], old: Vec<u8>) -> Result<()> {
        if self.undo.enabled {
            self.undo.record(table, key, Some(old));
        }
        self.txn.remove(table, key).map(|_| ())
    }

    /// Write `key`, looking its previous value up for the undo log (schema records).
    pub fn put_logged(&mut self, table: &str, key: &[u8], value: &[u8]) -> Result<()> {
        let prior = if self.undo.enabled { self.txn.get(table, key)? } else { None };
        self.put(table, key, value, prior)
    }

    /// Remove `key` if it is there, keeping its value for the undo log (schema records).
    pub fn remove_logged(&mut self, table: &str, key: &[u8]) -> Result<()> {
        if !self.undo.enabled {
            return self.txn.remove(table, key).map(|_| ());
        }
        match self.txn.get(table, key)? {
            Some(old) => self.del(table, key, old),
            None => Ok(()),
        }
    }

    /// Create the engine table `table` (a new table or index's storage); a rollback of the
    /// statement drops it again.
    pub fn create_table(&mut self, table: &str) -> Result<()> {
        let w = self.txn.writer()?;
        let new = matches!(w.open_existing_table_internal(table), Err(Error::TableNotFound(_)));
        w.open_table_internal(table)?;
        if new && self.undo.enabled {
            self.undo.created.push(table.into());
        }
        Ok(())
    }
}

// -------------------------------------------------------------------------------------------
// Temporary databases, where sorting and grouping spill (see `exec::spill`)

/// Makes the storage device of one temporary database.
pub type TempDeviceFn = dyn Fn() -> Result<Box<dyn BlockDevice>> + Send + Sync;

/// Where temporary databases go.
#[derive(Clone, Default)]
pub enum TempStorage {
    /// A file in the system temp directory (`std`), memory otherwise.
    #[default]
    Default,
    /// A file in this directory.
    #[cfg(feature = "std")]
    Dir(std::path::PathBuf),
    /// A device from this function.
    Device(Arc<TempDeviceFn>),
}

#[cfg(feature = "std")]
type TempPath = std::path::PathBuf;
#[cfg(not(feature = "std"))]
type TempPath = ();

/// A temporary database, deleted when dropped (on Unix its file has no name once open).
pub struct TempDb {
    db: Option<Database>,
    /// The file to delete on drop (none on Unix, where it is unlinked once open).
    path: Option<TempPath>,
}

#[cfg(feature = "std")]
impl TempDb {
    fn file(dir: &std::path::Path, options: Options) -> Result<TempDb> {
        use alloc::string::ToString;
        use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let io = |e: std::io::Error| Error::Io { op: "open", offset: 0, message: e.to_string() };
        for _ in 0..100 {
            let n = COUNTER.fetch_add(1, Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = dir.join(alloc::format!("tessera-spill-{}-{n}-{nanos}.tmp", std::process::id()));
            // Create it exclusively so two processes never share a file.
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(e)),
            }
            let mut t = TempDb { db: None, path: Some(path.clone()) };
            // A private file: its flock, no lock directory (no other opener can know of it).
            let device = crate::device::FileDevice::open_private(&path)?;
            // On Unix the open descriptor (locked, maybe mapped) keeps the file usable without
            // its name: unlink it now, so that it disappears with the process even when the
            // process is killed. Elsewhere (or if that fails) it is deleted on drop.
            #[cfg(unix)]
            if std::fs::remove_file(&path).is_ok() {
                t.path = None;
            }
            t.db = Some(Database::open_device(device, options)?);
            return Ok(t);
        }
        Err(Error::Io { op: "open", offset: 0, message: "no free temporary file name".into() })
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        drop(self.db.take());
        #[cfg(feature = "std")]
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
        #[cfg(not(feature = "std"))]
        {
            self.path = None;
        }
    }
}

impl TempDb {
    /// A new temporary database where `storage` says, with a page cache of `cache_size` bytes.
    pub fn open(storage: &TempStorage, cache_size: usize) -> Result<TempDb> {
        let options = Options { page_size: 4096, cache_size, max_log_size: 4 << 20, ..Options::default() };
        Ok(match storage {
            TempStorage::Device(f) => TempDb { db: Some(Database::open_device(f()?, options)?), path: None },
            #[cfg(feature = "std")]
            TempStorage::Dir(dir) => TempDb::file(dir, options)?,
            #[cfg(feature = "std")]
            TempStorage::Default => TempDb::file(&std::env::temp_dir(), options)?,
            #[cfg(not(feature = "std"))]
            TempStorage::Default => {
                TempDb { db: Some(Database::open_device(crate::MemoryDevice::new(), options)?), path: None }
            }
        })
    }

    fn db(&self) -> Result<&Database> {
        self.db.as_ref().ok_or_else(|| Error::Sql("temporary database closed".into()))
    }

    /// Write the new table `name` in one commit without sync, deleting the tables `drop` in
    /// the same commit. `fill` writes the entries through the function it is given.
    pub fn write_table(
        &self,
        name: &str,
        drop: &[String],
        fill: impl FnOnce(&mut dyn FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()>,
    ) -> Result<()> {
        let mut tx = self.db()?.begin_write()?;
        tx.set_durability(Durability::None);
        {
            let mut t = tx.open_table(name)?;
            fill(&mut |k: &[u8], v: &[u8]| t.insert(k, v).map(|_| ()))?;
        }
        for n in drop {
            tx.delete_table(n)?;
        }
        tx.commit()
    }

    /// A read snapshot of the temporary database.
    pub fn snapshot(&self) -> Result<TempSnapshot> {
        Ok(TempSnapshot(self.db()?.begin_read()?))
    }
}

/// A read snapshot of a [`TempDb`].
pub struct TempSnapshot(ReadTransaction);

impl TempSnapshot {
    /// Append to `out` up to `n` entries of table `name` that follow key `after` (from the
    /// first without); `Ok(true)` when the table has no more. `root` caches the table's root
    /// page and entry count between calls, so each batch seeks from the root without keeping
    /// a borrow of the snapshot.
    pub fn read_batch(
        &self,
        name: &str,
        root: &mut Option<(u64, u64)>,
        after: Option<&[u8]>,
        n: usize,
        out: &mut VecDeque<(Vec<u8>, Vec<u8>)>,
    ) -> Result<bool> {
        let meta = match *root {
            Some(m) => m,
            None => {
                let m = self.0.table_meta(name)?.ok_or_else(|| Error::TableNotFound(name.into()))?;
                *root = Some(m);
                m
            }
        };
        let t = self.0.table_at(name, meta);
        let start = match after {
            Some(k) => Bound::Excluded(k),
            None => Bound::Unbounded,
        };
        let mut it = t.range::<&[u8], _>((start, Bound::Unbounded))?;
        for _ in 0..n {
            match it.next() {
                Some(e) => {
                    let (k, v) = e?;
                    out.push_back((k.to_vec(), v.to_vec()));
                }
                None => return Ok(true),
            }
        }
        Ok(false)
    }
}

/// Not part of the API: write access to the SQL layer's own engine tables (names starting with
/// [`crate::RESERVED_TABLE_PREFIX`]), which the key-value API refuses. It exists for tests that
/// damage a database on purpose; writing through it can break a database's SQL schema.
pub mod internal_tables {
    use crate::{Result, Table, WriteTransaction};

    /// Open (or create) the engine table `name`, reserved names included.
    pub fn open<'t>(tx: &'t WriteTransaction, name: &str) -> Result<Table<'t>> {
        tx.open_table_internal(name)
    }

    /// Delete the engine table `name`, reserved names included.
    pub fn delete(tx: &WriteTransaction, name: &str) -> Result<bool> {
        tx.delete_table_internal(name)
    }
}
