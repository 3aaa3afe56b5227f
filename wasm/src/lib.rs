//! wasm-bindgen bindings of the Tessera engine: the core of the npm package `tessera-db`.
//!
//! The engine is built without its `std` feature (`no_std` + `alloc`): storage is reached only
//! through [`JsDevice`], a [`tessera::BlockDevice`] whose methods call a JS object (the Node
//! backend over `node:fs`, later the OPFS backend over `FileSystemSyncAccessHandle`). The JS
//! layer in `npm/src/` wraps these classes in the public API.
//!
//! Conventions of this boundary:
//! - Keys and values are `Uint8Array` or `string` (UTF-8 encoded); results are `Uint8Array`.
//! - Every error is a JS `Error` with a stable `code` property: [`tessera::Error::code`] for
//!   engine errors, plus `INVALID_ARGUMENT`, `CLOSED` and `BUSY` from this layer.
//! - Nothing here panics on bad input: a panic aborts the wasm instance (and every database in
//!   it), so arguments are validated and turned into `INVALID_ARGUMENT` errors instead.
//! - Range scans return one packed buffer per batch (see [`Cursor::next_batch`]), so a scan
//!   costs one JS↔wasm call per batch, not per row.
//! - `ReadTx/WriteTx.runPacked` run a whole batch of gets, puts, deletes and ranges packed in
//!   one buffer and answer with one buffer: the browser main thread's requests to its worker.
//!
//! Feature `sql` (default): the SQL bindings of the `sql` module (`Database.exec/prepare`,
//! `Statement`) and the engine's SQL layer. Without it (`--no-default-features`) this is the
//! engine-only build of the package's `tessera-db/kv` flavour: key-value API only, same file
//! format.

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
compile_error!(
    "tessera-wasm assumes wasm32 without threads: JsDevice's Send/Sync impls are only sound with one thread"
);

use js_sys::{Array, Object, Reflect, Uint8Array};
use std::cell::RefCell;
use std::ops::Bound;
use std::rc::{Rc, Weak};
use tessera as t;
#[cfg(feature = "sql")]
use tessera::sql::{Connection, Cursor as SqlCursor};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[cfg(feature = "sql")]
mod sql;

// ---------------------------------------------------------------------------------------------
// Errors

/// A JS `Error` with `message` and a stable `code` property.
fn error_with_code(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

fn engine_err(e: t::Error) -> JsValue {
    let err = error_with_code(e.code(), &e.to_string());
    if let t::Error::SqlSyntax { offset, line, column, .. } = &e {
        // Where the syntax error is: byte offset into the SQL text, 1-based line and column.
        let _ = Reflect::set(&err, &JsValue::from_str("offset"), &JsValue::from_f64(*offset as f64));
        let _ = Reflect::set(&err, &JsValue::from_str("line"), &JsValue::from_f64(f64::from(*line)));
        let _ = Reflect::set(&err, &JsValue::from_str("column"), &JsValue::from_f64(f64::from(*column)));
    }
    err
}

fn arg_err(message: impl AsRef<str>) -> JsValue {
    error_with_code("INVALID_ARGUMENT", message.as_ref())
}

fn closed_err(what: &str) -> JsValue {
    error_with_code("CLOSED", &format!("{what} is closed"))
}

fn busy_err() -> JsValue {
    error_with_code("BUSY", "the object is in use by a call in progress (re-entrant call from a device callback?)")
}

type JsResult<T> = Result<T, JsValue>;

// ---------------------------------------------------------------------------------------------
// Argument conversion

/// Bytes of a key or value argument: a `Uint8Array` (any view, e.g. a Node `Buffer`) or a string.
fn bytes_arg(v: &JsValue, what: &str) -> JsResult<Vec<u8>> {
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(a) = v.dyn_ref::<Uint8Array>() {
        return Ok(a.to_vec());
    }
    Err(arg_err(format!("{what} must be a Uint8Array or a string")))
}

fn table_arg(v: &JsValue) -> JsResult<String> {
    v.as_string().ok_or_else(|| arg_err("table name must be a string"))
}

/// An optional bound: `undefined`/`null` means unbounded.
fn bound_arg(v: &JsValue, what: &str, end: bool) -> JsResult<Bound<Vec<u8>>> {
    if v.is_undefined() || v.is_null() {
        return Ok(Bound::Unbounded);
    }
    let b = bytes_arg(v, what)?;
    Ok(if end { Bound::Excluded(b) } else { Bound::Included(b) })
}

/// A property of an options object, read without running into a panic.
fn opt_prop(obj: &JsValue, name: &str) -> JsResult<Option<JsValue>> {
    if obj.is_undefined() || obj.is_null() {
        return Ok(None);
    }
    if !obj.is_object() {
        return Err(arg_err("options must be an object"));
    }
    let v = Reflect::get(obj, &JsValue::from_str(name))?;
    Ok(if v.is_undefined() || v.is_null() { None } else { Some(v) })
}

/// A non-negative integer that fits in 2^53 (offsets, sizes, counts).
fn uint_value(v: &JsValue, what: &str) -> JsResult<u64> {
    match v.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => Ok(n as u64),
        _ => Err(arg_err(format!("{what} must be a non-negative integer"))),
    }
}

fn opt_uint(obj: &JsValue, name: &str) -> JsResult<Option<u64>> {
    opt_prop(obj, name)?.map(|v| uint_value(&v, name)).transpose()
}

fn opt_bool(obj: &JsValue, name: &str) -> JsResult<Option<bool>> {
    opt_prop(obj, name)?.map(|v| v.as_bool().ok_or_else(|| arg_err(format!("{name} must be a boolean")))).transpose()
}

fn usize_of(n: u64, what: &str) -> JsResult<usize> {
    usize::try_from(n).map_err(|_| arg_err(format!("{what} is too large")))
}

fn set(obj: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), &value);
}

// ---------------------------------------------------------------------------------------------
// The device

#[wasm_bindgen(typescript_custom_section)]
const DEVICE_TS: &'static str = r#"
/** What `Database.openDevice` needs: a flat, growable byte store (see the BlockDevice contract). */
export interface TesseraDevice {
  /** Fill all of `buf` from `offset`; throw if that runs past the end. */
  read(offset: number, buf: Uint8Array): void;
  /** Store `data` at `offset`, growing the device (zero-filling any gap). */
  write(offset: number, data: Uint8Array): void;
  /** Durability barrier: completed writes and the length survive a crash once it returns. */
  sync(): void;
  /** Current length in bytes. */
  len(): number;
  /** Truncate or zero-extend to `len` bytes. */
  setLen(len: number): void;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A JS object implementing the device methods (`TesseraDevice` in TypeScript).
    #[wasm_bindgen(typescript_type = "TesseraDevice")]
    pub type DeviceObject;

    #[wasm_bindgen(method, catch)]
    fn read(this: &DeviceObject, offset: f64, buf: &mut [u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn write(this: &DeviceObject, offset: f64, data: &[u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn sync(this: &DeviceObject) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn len(this: &DeviceObject) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = setLen)]
    fn set_len(this: &DeviceObject, len: f64) -> Result<(), JsValue>;
}

/// The JS device object, made `Send + Sync` for [`tessera::BlockDevice`].
struct SendJs(DeviceObject);

// SAFETY: `BlockDevice` requires Send + Sync because native builds share a database across
// threads. This crate is only built for wasm32 without the `atomics` target feature (the
// `compile_error!` at the top enforces it), where there is exactly one thread: the JsValue can
// never be sent to, or touched from, another thread, so no data race is possible.
unsafe impl Send for SendJs {}
// SAFETY: as above: with one thread there is no concurrent access.
unsafe impl Sync for SendJs {}

/// A [`tessera::BlockDevice`] over a JS object (see `TesseraDevice`). Offsets cross as `f64`
/// numbers: exact up to 2^53 bytes, so files over 2 GiB (and 4 GiB) work.
pub struct JsDevice {
    obj: SendJs,
}

impl JsDevice {
    /// Wrap a JS object implementing the device methods.
    pub fn new(obj: DeviceObject) -> JsDevice {
        JsDevice { obj: SendJs(obj) }
    }
}

/// A JS exception thrown by a device method, as a [`tessera::Error::Io`].
fn io_err(op: &'static str, offset: u64, e: JsValue) -> t::Error {
    let message = if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        let msg: String = err.message().into();
        // Node's fs errors carry a `code` such as `ENOSPC`; keep it in the message.
        match Reflect::get(err, &JsValue::from_str("code")).ok().and_then(|c| c.as_string()) {
            Some(code) if !msg.contains(&code) => format!("{code}: {msg}"),
            _ => msg,
        }
    } else if let Some(s) = e.as_string() {
        s
    } else {
        format!("{e:?}")
    };
    t::Error::Io { op, offset, message }
}

fn f64_of(offset: u64) -> f64 {
    // Exact for every offset below 2^53 (8 PiB).
    offset as f64
}

impl t::BlockDevice for JsDevice {
    fn read(&self, offset: u64, buf: &mut [u8]) -> t::Result<()> {
        self.obj.0.read(f64_of(offset), buf).map_err(|e| io_err("read", offset, e))
    }
    fn write(&self, offset: u64, data: &[u8]) -> t::Result<()> {
        self.obj.0.write(f64_of(offset), data).map_err(|e| io_err("write", offset, e))
    }
    fn sync(&self) -> t::Result<()> {
        self.obj.0.sync().map_err(|e| io_err("sync", 0, e))
    }
    fn len(&self) -> t::Result<u64> {
        let v = self.obj.0.len().map_err(|e| io_err("len", 0, e))?;
        uint_value(&v, "device len()").map_err(|_| t::Error::Io {
            op: "len",
            offset: 0,
            message: "device len() did not return a non-negative integer".into(),
        })
    }
    fn set_len(&self, len: u64) -> t::Result<()> {
        self.obj.0.set_len(f64_of(len)).map_err(|e| io_err("set_len", len, e))
    }
}

// ---------------------------------------------------------------------------------------------
// Database

/// Transactions registered with their database so `close()` can end them.
enum TxRef {
    Read(Weak<RefCell<Option<t::ReadTransaction>>>),
    Write(Weak<RefCell<Option<t::WriteTransaction>>>),
}

struct DbState {
    db: t::Database,
    /// The SQL connection, on another handle of `db`.
    #[cfg(feature = "sql")]
    conn: Connection,
    txs: Vec<TxRef>,
    /// Cursors of SQL statements being iterated, dropped by `close()`.
    #[cfg(feature = "sql")]
    cursors: Vec<Weak<RefCell<Option<SqlCursor>>>>,
}

impl DbState {
    #[cfg(feature = "sql")]
    fn new(db: t::Database) -> JsResult<DbState> {
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
    state: Rc<RefCell<Option<DbState>>>,
}

fn options_arg(options: &JsValue) -> JsResult<t::Options> {
    let mut o = t::Options::default();
    if let Some(n) = opt_uint(options, "pageSize")? {
        o.page_size = usize_of(n, "pageSize")?;
    }
    if let Some(n) = opt_uint(options, "cacheSize")? {
        o.cache_size = usize_of(n, "cacheSize")?;
    }
    if let Some(n) = opt_uint(options, "maxLogSize")? {
        o.max_log_size = usize_of(n, "maxLogSize")?;
    }
    if let Some(b) = opt_bool(options, "readonly")? {
        o.read_only = b;
    }
    if let Some(b) = opt_bool(options, "salvage")? {
        o.salvage = b;
    }
    Ok(o)
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

    fn with<T>(&self, f: impl FnOnce(&mut DbState) -> JsResult<T>) -> JsResult<T> {
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

// ---------------------------------------------------------------------------------------------
// Range batches

/// Default rows per batch when the caller gives no `batchSize`.
const DEFAULT_BATCH_ROWS: usize = 256;
/// A batch also ends once it holds this many bytes (large values), after at least one row.
const BATCH_BYTES: usize = 1 << 20;

/// Range parameters shared by read and write cursors.
struct RangeSpec {
    table: String,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    reverse: bool,
    /// Rows still allowed by `limit` (`None`: no limit).
    remaining: Option<u64>,
    batch_rows: usize,
    done: bool,
}

impl RangeSpec {
    fn parse(table: &JsValue, start: &JsValue, end: &JsValue, options: &JsValue) -> JsResult<RangeSpec> {
        let table = table_arg(table)?;
        let start = bound_arg(start, "range start", false)?;
        let end = bound_arg(end, "range end", true)?;
        let reverse = opt_bool(options, "reverse")?.unwrap_or(false);
        let remaining = opt_uint(options, "limit")?;
        let batch_rows = match opt_uint(options, "batchSize")? {
            Some(0) => return Err(arg_err("batchSize must be at least 1")),
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => DEFAULT_BATCH_ROWS,
        };
        let done = remaining == Some(0);
        Ok(RangeSpec { table, start, end, reverse, remaining, batch_rows, done })
    }

    fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        fn f(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
            match b {
                Bound::Included(k) => Bound::Included(k.as_slice()),
                Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
                Bound::Unbounded => Bound::Unbounded,
            }
        }
        (f(&self.start), f(&self.end))
    }

    /// Run one batch over `entries` (an iterator positioned by the current bounds), appending
    /// rows to `out` as `[u32 key len LE][u32 value len LE][key][value]` until `batch_rows` rows
    /// or `max_bytes` bytes, and move the bounds past them.
    fn fill<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        out: &mut Vec<u8>,
        max_bytes: usize,
        mut next: impl FnMut() -> Option<t::Result<(K, V)>>,
    ) -> JsResult<()> {
        if self.done {
            return Ok(());
        }
        let base = out.len();
        let mut rows = 0usize;
        // Where the last row's key is in `out` (copied out once, at the end).
        let mut last: Option<(usize, usize)> = None;
        loop {
            if rows >= self.batch_rows || out.len() - base >= max_bytes || self.remaining == Some(0) {
                break;
            }
            match next() {
                None => {
                    self.done = true;
                    break;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Err(engine_err(e));
                }
                Some(Ok((k, v))) => {
                    let (k, v) = (k.as_ref(), v.as_ref());
                    let (kl, vl) = match (u32::try_from(k.len()), u32::try_from(v.len())) {
                        (Ok(a), Ok(b)) => (a, b),
                        _ => return Err(error_with_code("VALUE_TOO_LARGE", "entry too large for a batch")),
                    };
                    out.reserve(8 + k.len() + v.len());
                    out.extend_from_slice(&kl.to_le_bytes());
                    out.extend_from_slice(&vl.to_le_bytes());
                    last = Some((out.len(), k.len()));
                    out.extend_from_slice(k);
                    out.extend_from_slice(v);
                    rows += 1;
                    if let Some(r) = self.remaining.as_mut() {
                        *r -= 1;
                    }
                }
            }
        }
        if self.remaining == Some(0) {
            self.done = true;
        }
        if let Some((at, n)) = last {
            let k = out[at..at + n].to_vec();
            if self.reverse {
                self.end = Bound::Excluded(k);
            } else {
                self.start = Bound::Excluded(k);
            }
        }
        Ok(())
    }

    /// One batch of `BATCH_BYTES` at most over a table's range (a cursor's `nextBatch`).
    fn batch<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        next: impl FnMut() -> Option<t::Result<(K, V)>>,
    ) -> JsResult<Vec<u8>> {
        let mut out = Vec::new();
        self.fill(&mut out, BATCH_BYTES, next)?;
        Ok(out)
    }
}

/// Table `name` of a read snapshot, or `None` if it does not exist (a missing table reads as
/// empty).
fn read_table<'t>(rx: &'t t::ReadTransaction, name: &str) -> JsResult<Option<t::ReadTable<'t>>> {
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

// ---------------------------------------------------------------------------------------------
// Transactions

/// A read transaction: a consistent snapshot. Call `close()` when done so the pages it pins
/// can be reused (dropping the JS object without it keeps them pinned until garbage collection,
/// and only if the build uses weak refs).
#[wasm_bindgen]
pub struct ReadTx {
    inner: Rc<RefCell<Option<t::ReadTransaction>>>,
}

impl ReadTx {
    fn with<T>(&self, f: impl FnOnce(&t::ReadTransaction) -> JsResult<T>) -> JsResult<T> {
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
    fn with<T>(&self, f: impl FnOnce(&t::WriteTransaction) -> JsResult<T>) -> JsResult<T> {
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

// ---------------------------------------------------------------------------------------------
// Packed operations

/// Operation codes of a packed request (see [`ReadTx::run_packed`]).
const OP_GET: u8 = 1;
const OP_PUT: u8 = 2;
const OP_DELETE: u8 = 3;
const OP_RANGE: u8 = 4;

/// A cursor over a packed request; every read is bounds-checked (a short or malformed request
/// is an `INVALID_ARGUMENT` error, never a panic).
struct Packed<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Packed<'a> {
    fn bad() -> JsValue {
        arg_err("malformed packed operations")
    }

    fn take(&mut self, n: usize) -> JsResult<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(Self::bad)?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> JsResult<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> JsResult<usize> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    /// A length-prefixed byte string.
    fn bytes(&mut self) -> JsResult<&'a [u8]> {
        let n = self.u32()?;
        self.take(n)
    }

    /// The table names that open the request: `[u32 count]` then each as a byte string.
    fn tables(&mut self) -> JsResult<Vec<&'a str>> {
        let n = self.u32()?;
        let mut names = Vec::with_capacity(n.min(self.buf.len()));
        for _ in 0..n {
            names.push(core::str::from_utf8(self.bytes()?).map_err(|_| arg_err("table name must be valid UTF-8"))?);
        }
        Ok(names)
    }

    fn done(&self) -> bool {
        self.at >= self.buf.len()
    }

    /// The next operation's code and table index (checked against `tables`).
    fn op(&mut self, tables: usize) -> JsResult<(u8, usize)> {
        let code = self.u8()?;
        let table = self.u32()?;
        if table >= tables {
            return Err(Self::bad());
        }
        Ok((code, table))
    }

    /// A range operation's parameters: `[u8 flags]` (1: start, 2: end, 4: limit, 8: reverse),
    /// then the start and end keys and the u32 limit that the flags announce.
    fn range(&mut self) -> JsResult<RangeSpec> {
        let flags = self.u8()?;
        let start = if flags & 1 != 0 { Bound::Included(self.bytes()?.to_vec()) } else { Bound::Unbounded };
        let end = if flags & 2 != 0 { Bound::Excluded(self.bytes()?.to_vec()) } else { Bound::Unbounded };
        let remaining = if flags & 4 != 0 { Some(self.u32()? as u64) } else { None };
        let reverse = flags & 8 != 0;
        Ok(RangeSpec {
            table: String::new(),
            start,
            end,
            reverse,
            remaining,
            batch_rows: usize::MAX,
            done: remaining == Some(0),
        })
    }
}

/// Append a get's result: `[0]` (absent) or `[1][u32 len][bytes]`.
fn push_value(out: &mut Vec<u8>, v: Option<&[u8]>) -> JsResult<()> {
    match v {
        None => out.push(0),
        Some(v) => {
            let n = u32::try_from(v.len())
                .map_err(|_| error_with_code("VALUE_TOO_LARGE", "value too large for a packed result"))?;
            out.push(1);
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(v);
        }
    }
    Ok(())
}

/// Tag an operation's error with its index in the request (`opIndex`, as the JS layer does).
fn at_op(e: JsValue, i: usize) -> JsValue {
    let _ = Reflect::set(&e, &JsValue::from_str("opIndex"), &JsValue::from_f64(i as f64));
    e
}

/// Run a packed request: parse its table list, then for each operation read its code and table
/// (each table opened once per request, by `open`) and hand them to `op`, which reads the
/// operands and appends the result to the output. An error carries its operation's `opIndex`.
fn run_packed_ops<'a, T>(
    req: &'a [u8],
    mut open: impl FnMut(&str) -> JsResult<T>,
    mut op: impl FnMut(u8, &mut T, &mut Packed<'a>, &mut Vec<u8>) -> JsResult<()>,
) -> JsResult<Vec<u8>> {
    let mut r = Packed { buf: req, at: 0 };
    let names = r.tables()?;
    let mut tables: Vec<Option<T>> = (0..names.len()).map(|_| None).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while !r.done() {
        let mut step = || {
            let (code, ti) = r.op(names.len())?;
            if tables[ti].is_none() {
                tables[ti] = Some(open(names[ti])?);
            }
            let Some(table) = tables[ti].as_mut() else { return Err(Packed::bad()) };
            op(code, table, &mut r, &mut out)
        };
        step().map_err(|e| at_op(e, i))?;
        i += 1;
    }
    Ok(out)
}

/// One operation of `ReadTx::run_packed` on `table` (`None`: it does not exist): read its
/// operands from `r`, run it, append its result to `out`.
fn read_op(code: u8, table: Option<&t::ReadTable>, r: &mut Packed, out: &mut Vec<u8>) -> JsResult<()> {
    match code {
        OP_GET => {
            let key = r.bytes()?;
            let v = table.map(|t| t.get(key)).transpose().map_err(engine_err)?.flatten();
            push_value(out, v.as_deref())
        }
        OP_RANGE => {
            let mut spec = r.range()?;
            let at = out.len();
            out.extend_from_slice(&[0; 4]);
            if let Some(t) = table {
                let mut range = t.range::<&[u8], _>(spec.bounds()).map_err(engine_err)?;
                if spec.reverse {
                    spec.fill(out, usize::MAX, || range.next_back())?;
                } else {
                    spec.fill(out, usize::MAX, || range.next())?;
                }
            }
            let n = u32::try_from(out.len() - at - 4)
                .map_err(|_| error_with_code("VALUE_TOO_LARGE", "range too large for a packed result"))?;
            out[at..at + 4].copy_from_slice(&n.to_le_bytes());
            Ok(())
        }
        _ => Err(arg_err("only gets and ranges are allowed in a read transaction")),
    }
}

#[wasm_bindgen]
impl ReadTx {
    /// Run a packed request in this snapshot; returns the packed results. The request is
    /// `[u32 table count]`, each table name as `[u32 len][UTF-8]`, then operations
    /// `[u8 code][u32 table index]` and the code's operands: code 1, get: `[u32 key len][key]`;
    /// code 4, range: see `Packed::range`. The result holds, for each get, `[0]` (absent) or
    /// `[1][u32 len][value]`, for each range `[u32 len]` and its rows packed as by
    /// `Cursor.nextBatch`. All integers are little-endian. A failing operation's error carries
    /// its `opIndex`.
    #[wasm_bindgen(js_name = runPacked)]
    pub fn run_packed(&self, req: &[u8]) -> JsResult<Vec<u8>> {
        self.with(|rx| {
            run_packed_ops(
                req,
                |name| read_table(rx, name),
                |code, table, r, out| read_op(code, table.as_ref(), r, out),
            )
        })
    }
}

#[wasm_bindgen]
impl WriteTx {
    /// Run a packed request in this transaction (format of `ReadTx.runPacked`, without ranges;
    /// plus code 2: put, `[u32 key len][key][u32 value len][value]`, and code 3: delete, with
    /// a key, whose result is one byte, 1 if the key was present). Puts have no result. On
    /// error the transaction stays open with the operations before the failing one applied:
    /// abort it (the JS layer does).
    #[wasm_bindgen(js_name = runPacked)]
    pub fn run_packed(&self, req: &[u8]) -> JsResult<Vec<u8>> {
        self.with(|tx| {
            run_packed_ops(
                req,
                |name| tx.open_table(name).map_err(engine_err),
                |code, table, r, out| {
                    let key = r.bytes()?;
                    match code {
                        OP_GET => push_value(out, table.get(key).map_err(engine_err)?.as_deref()),
                        OP_PUT => table.insert(key, r.bytes()?).map_err(engine_err),
                        OP_DELETE => {
                            out.push(u8::from(table.remove(key).map_err(engine_err)?));
                            Ok(())
                        }
                        _ => Err(Packed::bad()),
                    }
                },
            )
        })
    }
}
