//! The key-value API: `Database`, `ReadTx`, `WriteTx` and range `Cursor`s, each a handle on
//! engine state shared through `Rc<RefCell<Option<..>>>` so that `close()` can end it while JS
//! still holds the object (later calls fail with `CLOSED`, re-entrant ones with `BUSY`).

use crate::args::{bytes_arg, options_arg, table_arg};
use crate::device::{DeviceObject, JsDevice};
use crate::errors::{arg_err, busy_err, closed_err, engine_err, JsResult};
use crate::packed::RangeSpec;
use js_sys::{Array, Object, Reflect};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use tessera as t;
#[cfg(feature = "sql")]
use tessera::sql::{Connection, Cursor as SqlCursor};
use wasm_bindgen::prelude::*;

fn set(obj: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value);
}

/// Transactions registered with their database so `close()` can end them.
enum TxRef {
    Read(Weak<RefCell<Option<t::ReadTransaction>>>),
    Write(Weak<RefCell<Option<t::WriteTransaction>>>),
}

pub(crate) struct DbState {
    db: t::Database,
    /// The SQL connection, on another handle of `db`.
    #[cfg(feature = "sql")]
    pub(crate) conn: Connection,
    txs: Vec<TxRef>,
    /// Cursors of SQL statements being iterated, dropped by `close()`.
    #[cfg(feature = "sql")]
    pub(crate) cursors: Vec<Weak<RefCell<Option<SqlCursor>>>>,
}

impl DbState {
    #[cfg(feature = "sql")]
    fn new(db: t::Database) -> JsResult<DbState> {
        crate::sql::install_host();
        let conn = Connection::new(db.clone()).map_err(engine_err)?;
        Ok(DbState { db, conn, txs: Vec::new(), cursors: Vec::new() })
    }

    #[cfg(not(feature = "sql"))]
    fn new(db: t::Database) -> JsResult<DbState> {
        Ok(DbState { db, txs: Vec::new() })
    }
}

/// An open database.
#[wasm_bindgen]
pub struct Database {
    pub(crate) state: Rc<RefCell<Option<DbState>>>,
}

#[wasm_bindgen]
impl Database {
    /// Open or create a database on a JS device (`TesseraDevice`). `options`: `{ pageSize,
    /// cacheSize, maxLogSize }` (bytes; page size applies to a new database only), `readonly`
    /// (never write to the device), `salvage` (open a damaged database with what can be read).
    #[wasm_bindgen(js_name = openDevice)]
    pub fn open_device(device: DeviceObject, options: JsValue) -> JsResult<Database> {
        let obj: &JsValue = device.as_ref();
        if !obj.is_object() {
            return Err(arg_err("device must be an object with read/write/sync/len/setLen methods"));
        }
        for m in ["read", "write", "sync", "len", "setLen"] {
            if !Reflect::get(obj, &JsValue::from_str(m))?.is_function() {
                return Err(arg_err(format!("device has no {m}() method")));
            }
        }
        let o = options_arg(&options)?;
        let db = t::Database::open_device(JsDevice::new(device), o).map_err(engine_err)?;
        Ok(Database { state: Rc::new(RefCell::new(Some(DbState::new(db)?))) })
    }

    /// A new, empty in-memory database.
    pub fn memory() -> JsResult<Database> {
        Ok(Database { state: Rc::new(RefCell::new(Some(DbState::new(t::Database::memory())?))) })
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut DbState) -> JsResult<T>) -> JsResult<T> {
        let mut g = self.state.try_borrow_mut().map_err(|_| busy_err())?;
        match g.as_mut() {
            Some(s) => f(s),
            None => Err(closed_err("the database")),
        }
    }

    /// Start a read transaction: a snapshot of the last commit.
    #[wasm_bindgen(js_name = beginRead)]
    pub fn begin_read(&self) -> JsResult<ReadTx> {
        self.with(|s| {
            let rx = s.db.begin_read().map_err(engine_err)?;
            let inner = Rc::new(RefCell::new(Some(rx)));
            s.txs.retain(|t| match t {
                TxRef::Read(w) => w.strong_count() > 0,
                TxRef::Write(w) => w.strong_count() > 0,
            });
            s.txs.push(TxRef::Read(Rc::downgrade(&inner)));
            Ok(ReadTx { inner })
        })
    }

    /// Start the write transaction. Only one may be open: a second one fails with
    /// `WRITE_IN_PROGRESS` until the first commits or aborts.
    #[wasm_bindgen(js_name = beginWrite)]
    pub fn begin_write(&self) -> JsResult<WriteTx> {
        self.with(|s| {
            let tx = s.db.begin_write().map_err(engine_err)?;
            let inner = Rc::new(RefCell::new(Some(tx)));
            s.txs.retain(|t| match t {
                TxRef::Read(w) => w.strong_count() > 0,
                TxRef::Write(w) => w.strong_count() > 0,
            });
            s.txs.push(TxRef::Write(Rc::downgrade(&inner)));
            Ok(WriteTx { inner })
        })
    }

    /// Make every commit made with durability `"none"` durable.
    pub fn sync(&self) -> JsResult<()> {
        self.with(|s| s.db.sync().map_err(engine_err))
    }

    /// Write committed pages in place; the log starts over.
    pub fn checkpoint(&self) -> JsResult<()> {
        self.with(|s| s.db.checkpoint().map_err(engine_err))
    }

    /// Move pages toward the start of the file and truncate it: `{ bytesBefore, bytesAfter }`.
    pub fn compact(&self) -> JsResult<Object> {
        self.with(|s| {
            let r = s.db.compact().map_err(engine_err)?;
            let o = Object::new();
            set(&o, "bytesBefore", JsValue::from_f64(r.bytes_before as f64));
            set(&o, "bytesAfter", JsValue::from_f64(r.bytes_after as f64));
            Ok(o)
        })
    }

    /// Engine counters, as a plain object of numbers.
    pub fn stats(&self) -> JsResult<Object> {
        self.with(|s| {
            let st = s.db.stats();
            let o = Object::new();
            for (k, v) in [
                ("cacheHits", st.cache_hits),
                ("cacheMisses", st.cache_misses),
                ("pagesRead", st.pages_read),
                ("pagesWritten", st.pages_written),
                ("logBytesWritten", st.log_bytes_written),
                ("bytesSynced", st.bytes_synced),
                ("syncs", st.syncs),
                ("commits", st.commits),
                ("checkpoints", st.checkpoints),
                ("cacheBytes", st.cache_bytes),
                ("cacheBudget", st.cache_budget),
                ("pageCount", st.page_count),
                ("freePages", st.free_pages),
                ("deltaBytes", st.delta_bytes),
                ("pageSize", st.page_size),
            ] {
                set(&o, k, JsValue::from_f64(v as f64));
            }
            Ok(o)
        })
    }

    /// Verify every page and tree invariant of the last commit:
    /// `{ ok, pageCount, pagesChecked, freePages, tables, entries, leakedPages, errors }`.
    pub fn check(&self) -> JsResult<Object> {
        self.with(|s| {
            let r = s.db.check().map_err(engine_err)?;
            let o = Object::new();
            set(&o, "ok", JsValue::from_bool(r.is_ok()));
            for (k, v) in [
                ("pageCount", r.page_count),
                ("pagesChecked", r.pages_checked),
                ("freePages", r.free_pages),
                ("tables", r.tables),
                ("entries", r.entries),
                ("leakedPages", r.leaked_pages),
            ] {
                set(&o, k, JsValue::from_f64(v as f64));
            }
            let errors = Array::new();
            for e in &r.errors {
                errors.push(&JsValue::from_str(e));
            }
            set(&o, "errors", errors.into());
            Ok(o)
        })
    }

    /// What opening found: `{ framesReplayed, framesSkipped, upgradedFrom, harmlessDamage,
    /// salvaged }` (`upgradedFrom` and `salvaged` are `null` when there is nothing to say).
    #[wasm_bindgen(js_name = recoveryReport)]
    pub fn recovery_report(&self) -> JsResult<Object> {
        self.with(|s| {
            let r = s.db.recovery_report();
            let o = Object::new();
            set(&o, "framesReplayed", JsValue::from_f64(r.frames_replayed as f64));
            set(&o, "framesSkipped", JsValue::from_f64(r.frames_skipped as f64));
            set(&o, "upgradedFrom", r.upgraded_from.map_or(JsValue::NULL, |v| JsValue::from_f64(v as f64)));
            let damage = Array::new();
            for d in &r.harmless_damage {
                damage.push(&JsValue::from_str(d));
            }
            set(&o, "harmlessDamage", damage.into());
            set(&o, "salvaged", r.salvaged.as_deref().map_or(JsValue::NULL, JsValue::from_str));
            Ok(o)
        })
    }

    /// Whether the database was opened read-only.
    #[wasm_bindgen(js_name = isReadOnly)]
    pub fn is_read_only(&self) -> JsResult<bool> {
        self.with(|s| Ok(s.db.is_read_only()))
    }

    /// Page size of this database, in bytes.
    #[wasm_bindgen(js_name = pageSize)]
    pub fn page_size(&self) -> JsResult<u32> {
        self.with(|s| Ok(s.db.page_size() as u32))
    }

    /// Close the database: aborts an open write transaction, ends open read transactions (their
    /// later calls fail with `CLOSED`) and releases the device. Closing twice is a no-op.
    pub fn close(&self) -> JsResult<()> {
        let state = {
            let mut g = self.state.try_borrow_mut().map_err(|_| busy_err())?;
            g.take()
        };
        if let Some(s) = state {
            for tx in &s.txs {
                match tx {
                    TxRef::Read(w) => {
                        if let Some(rc) = w.upgrade() {
                            let taken = rc.try_borrow_mut().map_err(|_| busy_err())?.take();
                            drop(taken);
                        }
                    }
                    TxRef::Write(w) => {
                        if let Some(rc) = w.upgrade() {
                            let taken = rc.try_borrow_mut().map_err(|_| busy_err())?.take();
                            drop(taken);
                        }
                    }
                }
            }
            #[cfg(feature = "sql")]
            {
                for w in &s.cursors {
                    if let Some(rc) = w.upgrade() {
                        let taken = rc.try_borrow_mut().map_err(|_| busy_err())?.take();
                        drop(taken);
                    }
                }
                drop(s.conn);
            }
            drop(s.db);
        }
        Ok(())
    }

    /// Whether `close()` has been called.
    #[wasm_bindgen(getter, js_name = isClosed)]
    pub fn is_closed(&self) -> bool {
        self.state.try_borrow().map(|g| g.is_none()).unwrap_or(false)
    }
}

/// Table `name` of a read snapshot, or `None` if it does not exist (a missing table reads as
/// empty).
pub(crate) fn read_table<'t>(rx: &'t t::ReadTransaction, name: &str) -> JsResult<Option<t::ReadTable<'t>>> {
    match rx.open_table(name) {
        Ok(t) => Ok(Some(t)),
        Err(t::Error::TableNotFound(_)) => Ok(None),
        Err(e) => Err(engine_err(e)),
    }
}

enum CursorTx {
    Read(Rc<RefCell<Option<t::ReadTransaction>>>),
    Write(Rc<RefCell<Option<t::WriteTransaction>>>),
}

/// A range scan in progress. Each [`Cursor::next_batch`] call resumes after the last key it
/// returned (one seek per batch), so the cursor holds no borrow of the transaction between calls.
#[wasm_bindgen]
pub struct Cursor {
    tx: CursorTx,
    spec: RefCell<RangeSpec>,
}

#[wasm_bindgen]
impl Cursor {
    /// The next batch of rows, packed into one buffer: for each row, the key length and the
    /// value length as little-endian u32, then the key bytes and the value bytes. An empty
    /// buffer means the scan is over.
    #[wasm_bindgen(js_name = nextBatch)]
    pub fn next_batch(&self) -> JsResult<Vec<u8>> {
        let mut spec = self.spec.try_borrow_mut().map_err(|_| busy_err())?;
        if spec.done {
            return Ok(Vec::new());
        }
        match &self.tx {
            CursorTx::Read(rc) => {
                let g = rc.try_borrow().map_err(|_| busy_err())?;
                let rx = g.as_ref().ok_or_else(|| closed_err("the transaction"))?;
                let Some(table) = read_table(rx, &spec.table)? else {
                    spec.done = true;
                    return Ok(Vec::new());
                };
                let mut range = table.range::<&[u8], _>(spec.bounds()).map_err(engine_err)?;
                if spec.reverse {
                    spec.batch(|| range.next_back())
                } else {
                    spec.batch(|| range.next())
                }
            }
            CursorTx::Write(rc) => {
                let g = rc.try_borrow().map_err(|_| busy_err())?;
                let tx = g.as_ref().ok_or_else(|| closed_err("the transaction"))?;
                let table = tx.open_table(&spec.table).map_err(engine_err)?;
                let mut range = table.range::<&[u8], _>(spec.bounds()).map_err(engine_err)?;
                if spec.reverse {
                    spec.batch(|| range.next_back())
                } else {
                    spec.batch(|| range.next())
                }
            }
        }
    }

    /// Whether the scan has returned its last row.
    #[wasm_bindgen(getter)]
    pub fn done(&self) -> bool {
        self.spec.try_borrow().map(|s| s.done).unwrap_or(false)
    }
}

/// A read transaction: a consistent snapshot. Call `close()` when done so the pages it pins
/// can be reused (dropping the JS object without it keeps them pinned until garbage collection,
/// and only if the build uses weak refs).
#[wasm_bindgen]
pub struct ReadTx {
    inner: Rc<RefCell<Option<t::ReadTransaction>>>,
}

impl ReadTx {
    pub(crate) fn with<T>(&self, f: impl FnOnce(&t::ReadTransaction) -> JsResult<T>) -> JsResult<T> {
        let g = self.inner.try_borrow().map_err(|_| busy_err())?;
        f(g.as_ref().ok_or_else(|| closed_err("the transaction"))?)
    }
}

#[wasm_bindgen]
impl ReadTx {
    /// The value under `key`, or `undefined`. A missing table reads as empty.
    pub fn get(&self, table: JsValue, key: JsValue) -> JsResult<Option<Vec<u8>>> {
        let name = table_arg(&table)?;
        let key = bytes_arg(&key, "key")?;
        self.with(|rx| match read_table(rx, &name)? {
            Some(t) => Ok(t.get(&key).map_err(engine_err)?.map(|g| g.to_vec())),
            None => Ok(None),
        })
    }

    /// Number of entries in `table` (0 if it does not exist).
    pub fn count(&self, table: JsValue) -> JsResult<f64> {
        let name = table_arg(&table)?;
        self.with(|rx| match read_table(rx, &name)? {
            Some(t) => Ok(t.len().map_err(engine_err)? as f64),
            None => Ok(0.0),
        })
    }

    /// A scan of `table` over `start <= key < end` (`undefined`/`null`: unbounded).
    /// `options`: `{ reverse, limit, batchSize }`.
    pub fn range(&self, table: JsValue, start: JsValue, end: JsValue, options: JsValue) -> JsResult<Cursor> {
        let spec = RangeSpec::parse(&table, &start, &end, &options)?;
        self.with(|_| Ok(()))?;
        Ok(Cursor { tx: CursorTx::Read(self.inner.clone()), spec: RefCell::new(spec) })
    }

    /// Names of all tables, sorted.
    #[wasm_bindgen(js_name = listTables)]
    pub fn list_tables(&self) -> JsResult<Vec<String>> {
        self.with(|rx| rx.list_tables().map_err(engine_err))
    }

    /// The id of the last transaction this snapshot includes.
    #[wasm_bindgen(js_name = txnId)]
    pub fn txn_id(&self) -> JsResult<f64> {
        self.with(|rx| Ok(rx.txn_id() as f64))
    }

    /// End the snapshot. Closing twice is a no-op.
    pub fn close(&self) -> JsResult<()> {
        let taken = self.inner.try_borrow_mut().map_err(|_| busy_err())?.take();
        drop(taken);
        Ok(())
    }
}

/// The write transaction. `commit()` makes it durable; `abort()` (or `close()`) discards it.
#[wasm_bindgen]
pub struct WriteTx {
    inner: Rc<RefCell<Option<t::WriteTransaction>>>,
}

impl WriteTx {
    pub(crate) fn with<T>(&self, f: impl FnOnce(&t::WriteTransaction) -> JsResult<T>) -> JsResult<T> {
        let g = self.inner.try_borrow().map_err(|_| busy_err())?;
        f(g.as_ref().ok_or_else(|| closed_err("the transaction"))?)
    }
}

#[wasm_bindgen]
impl WriteTx {
    /// The value under `key` as this transaction sees it, or `undefined`.
    pub fn get(&self, table: JsValue, key: JsValue) -> JsResult<Option<Vec<u8>>> {
        let name = table_arg(&table)?;
        let key = bytes_arg(&key, "key")?;
        self.with(|tx| {
            let t = tx.open_table(&name).map_err(engine_err)?;
            t.get(&key).map_err(engine_err)
        })
    }

    /// Insert or replace `key` → `value` in `table` (created on first use).
    pub fn put(&self, table: JsValue, key: JsValue, value: JsValue) -> JsResult<()> {
        let name = table_arg(&table)?;
        let key = bytes_arg(&key, "key")?;
        let value = bytes_arg(&value, "value")?;
        self.with(|tx| {
            let mut t = tx.open_table(&name).map_err(engine_err)?;
            t.insert(&key, &value).map_err(engine_err)
        })
    }

    /// Remove `key` from `table`; returns whether it was present.
    pub fn delete(&self, table: JsValue, key: JsValue) -> JsResult<bool> {
        let name = table_arg(&table)?;
        let key = bytes_arg(&key, "key")?;
        self.with(|tx| {
            let mut t = tx.open_table(&name).map_err(engine_err)?;
            t.remove(&key).map_err(engine_err)
        })
    }

    /// Number of entries in `table`.
    pub fn count(&self, table: JsValue) -> JsResult<f64> {
        let name = table_arg(&table)?;
        self.with(|tx| Ok(tx.open_table(&name).map_err(engine_err)?.len().map_err(engine_err)? as f64))
    }

    /// A scan of `table` as this transaction sees it (see `ReadTx.range`).
    pub fn range(&self, table: JsValue, start: JsValue, end: JsValue, options: JsValue) -> JsResult<Cursor> {
        let spec = RangeSpec::parse(&table, &start, &end, &options)?;
        self.with(|_| Ok(()))?;
        Ok(Cursor { tx: CursorTx::Write(self.inner.clone()), spec: RefCell::new(spec) })
    }

    /// Delete `table` and all its entries; returns whether it existed.
    #[wasm_bindgen(js_name = deleteTable)]
    pub fn delete_table(&self, table: JsValue) -> JsResult<bool> {
        let name = table_arg(&table)?;
        self.with(|tx| tx.delete_table(&name).map_err(engine_err))
    }

    /// Names of all tables, sorted (including this transaction's changes).
    #[wasm_bindgen(js_name = listTables)]
    pub fn list_tables(&self) -> JsResult<Vec<String>> {
        self.with(|tx| tx.list_tables().map_err(engine_err))
    }

    /// `"immediate"` (default: `commit()` costs one device sync) or `"none"` (durable only after
    /// a later `Database.sync()`, durable commit or checkpoint).
    #[wasm_bindgen(js_name = setDurability)]
    pub fn set_durability(&self, durability: JsValue) -> JsResult<()> {
        let d = match durability.as_string().as_deref() {
            Some("immediate") => t::Durability::Immediate,
            Some("none") => t::Durability::None,
            _ => return Err(arg_err("durability must be \"immediate\" or \"none\"")),
        };
        let mut g = self.inner.try_borrow_mut().map_err(|_| busy_err())?;
        g.as_mut().ok_or_else(|| closed_err("the transaction"))?.set_durability(d);
        Ok(())
    }

    /// Make the changes visible (and durable, by default). The transaction is over either way.
    pub fn commit(&self) -> JsResult<()> {
        let tx = self.inner.try_borrow_mut().map_err(|_| busy_err())?.take();
        tx.ok_or_else(|| closed_err("the transaction"))?.commit().map_err(engine_err)
    }

    /// Discard the changes. Aborting a finished transaction is a no-op.
    pub fn abort(&self) -> JsResult<()> {
        let taken = self.inner.try_borrow_mut().map_err(|_| busy_err())?.take();
        drop(taken);
        Ok(())
    }

    /// Whether the transaction is still open.
    #[wasm_bindgen(getter, js_name = isOpen)]
    pub fn is_open(&self) -> bool {
        self.inner.try_borrow().map(|g| g.is_some()).unwrap_or(true)
    }
}
