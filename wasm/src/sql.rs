//! SQL bindings (the `sql` feature, on by default): `Database.exec/prepare/inTransaction`,
//! `Statement`, and the scratch buffers of its hot path.
//!
//! The hot path (`Statement.run/get/all/iterate`) passes no JS objects across the boundary:
//! JS encodes the parameters into a scratch buffer in wasm memory and reads the result rows
//! from another, both found through a small header at a fixed address ([`sql_io`]). Each call
//! takes and returns only numbers.
//!
//! Parameters, one after another: a tag byte, then
//!   P_NULL; P_INT, P_REAL: f64 LE (P_INT: an integral number, bound as INTEGER);
//!   P_BIGINT: i64 LE; P_TEXT (UTF-8), P_BLOB: u32 LE length, then the bytes.
//! Result rows, column after column (JS knows the column count): a tag byte, then
//!   R_NULL; R_INT32: i32 LE; R_INT53: f64 LE (an integer with |v| <= 2^53 - 1);
//!   R_INT64: i64 LE; R_REAL: f64 LE; R_TEXT, R_BLOB: u32 LE length, then the bytes.

use crate::{arg_err, busy_err, closed_err, engine_err, error_with_code, Database, DbState, JsResult};
use js_sys::Array;
use std::cell::RefCell;
use std::rc::Rc;
use tessera::sql::{Connection, Cursor as SqlCursor, Prepared, StatementKind, Value};
use wasm_bindgen::prelude::*;

const P_NULL: u8 = 0;
const P_INT: u8 = 1;
const P_REAL: u8 = 2;
const P_BIGINT: u8 = 3;
const P_TEXT: u8 = 4;
const P_BLOB: u8 = 5;

const R_NULL: u8 = 0;
const R_INT32: u8 = 1;
const R_INT53: u8 = 2;
const R_INT64: u8 = 3;
const R_REAL: u8 = 4;
const R_TEXT: u8 = 5;
const R_BLOB: u8 = 6;

/// Header slots (f64 each).
const H_PARAMS_PTR: usize = 0;
const H_PARAMS_CAP: usize = 1;
const H_OUT_PTR: usize = 2;
const H_OUT_LEN: usize = 3;
const H_ROWS: usize = 4;
const H_COLS_GEN: usize = 5;
const H_CHANGES: usize = 6;
const H_ROWID: usize = 7;
const H_FLAGS: usize = 8;
const H_SLOTS: usize = 10;

/// `H_FLAGS` bits.
const F_ROWID_BIG: u32 = 1;
const F_TX_CURSOR: u32 = 2;
const F_DONE: u32 = 4;

/// Give the SQL layer the host's clock (`Date.now()`, for `CURRENT_TIMESTAMP`) and seed
/// `random()` from `crypto.getRandomValues` (falling back to `Math.random`), once.
pub(crate) fn install_host() {
    // wasm is single-threaded here: a flag does what std's Once would, for less code.
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    tessera::sql::set_clock(|| js_sys::Date::now() as i64);
    let mut seed = [0u8; 8];
    let bytes = js_sys::Uint8Array::new_with_length(8);
    let crypto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok();
    let filled = crypto
        .and_then(|c| {
            let f = js_sys::Reflect::get(&c, &JsValue::from_str("getRandomValues")).ok()?;
            f.dyn_into::<js_sys::Function>().ok()?.call1(&c, &bytes).ok()
        })
        .is_some();
    if filled {
        bytes.copy_to(&mut seed);
    } else {
        let r = (js_sys::Math::random() * 9007199254740992.0) as u64;
        seed = (r ^ (js_sys::Date::now() as u64).rotate_left(32)).to_le_bytes();
    }
    tessera::sql::seed_random(u64::from_le_bytes(seed));
}

/// A batch of `iterate` ends after this many bytes (and at least one row).
const SQL_BATCH_BYTES: usize = 256 << 10;
/// Largest safe integer of a JS number.
const MAX_SAFE: i64 = (1 << 53) - 1;

#[repr(C)]
struct Header {
    slots: [f64; H_SLOTS],
    /// The last insert rowid, exact (read by JS when `F_ROWID_BIG` is set).
    rowid: i64,
}

struct Io {
    header: Header,
    /// Parameters written by JS (kept at its full length, zero-filled, so JS writes only
    /// initialised memory).
    params: Vec<u8>,
    /// Result rows written by wasm.
    out: Vec<u8>,
}

thread_local! {
    static IO: RefCell<Io> = const {
        RefCell::new(Io { header: Header { slots: [0.0; H_SLOTS], rowid: 0 }, params: Vec::new(), out: Vec::new() })
    };
}

fn with_io<T>(f: impl FnOnce(&mut Io) -> JsResult<T>) -> JsResult<T> {
    IO.with(|io| {
        let mut io = io.try_borrow_mut().map_err(|_| busy_err())?;
        f(&mut io)
    })
}

impl Io {
    fn publish_params(&mut self) {
        self.header.slots[H_PARAMS_PTR] = self.params.as_ptr() as usize as f64;
        self.header.slots[H_PARAMS_CAP] = self.params.len() as f64;
    }

    fn publish_out(&mut self, rows: u32) {
        self.header.slots[H_OUT_PTR] = self.out.as_ptr() as usize as f64;
        self.header.slots[H_OUT_LEN] = self.out.len() as f64;
        self.header.slots[H_ROWS] = f64::from(rows);
    }
}

/// The wasm memory (JS reads the SQL scratch buffers through it).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Address of the SQL scratch header (see the SQL section of this file).
#[wasm_bindgen(js_name = sqlIo)]
pub fn sql_io() -> JsResult<u32> {
    with_io(|io| {
        if io.params.is_empty() {
            io.params.resize(4096, 0);
        }
        io.publish_params();
        Ok(&io.header as *const Header as usize as u32)
    })
}

/// Grow the parameter buffer to at least `n` bytes, keeping its contents.
#[wasm_bindgen(js_name = sqlReserve)]
pub fn sql_reserve(n: u32) -> JsResult<()> {
    with_io(|io| {
        let n = n as usize;
        if io.params.len() < n {
            let cap = n.max(io.params.len() * 2);
            io.params.resize(cap, 0);
        }
        io.publish_params();
        Ok(())
    })
}

fn param_err() -> JsValue {
    arg_err("malformed parameter buffer")
}

fn take<'a>(buf: &'a [u8], at: &mut usize, n: usize) -> JsResult<&'a [u8]> {
    let s = buf.get(*at..*at + n).ok_or_else(param_err)?;
    *at += n;
    Ok(s)
}

fn take8(buf: &[u8], at: &mut usize) -> JsResult<[u8; 8]> {
    take(buf, at, 8)?.try_into().map_err(|_| param_err())
}

fn take_len(buf: &[u8], at: &mut usize) -> JsResult<usize> {
    let b: [u8; 4] = take(buf, at, 4)?.try_into().map_err(|_| param_err())?;
    Ok(u32::from_le_bytes(b) as usize)
}

/// Decode the parameter buffer (see the format above): `count` values expected.
fn decode_params(buf: &[u8], count: usize) -> JsResult<Vec<Value>> {
    let mut out = Vec::with_capacity(count);
    let mut at = 0;
    while at < buf.len() {
        let tag = buf[at];
        at += 1;
        let v = match tag {
            P_NULL => Value::Null,
            P_INT => Value::Integer(f64::from_le_bytes(take8(buf, &mut at)?) as i64),
            P_REAL => {
                let f = f64::from_le_bytes(take8(buf, &mut at)?);
                // As SQLite: a NaN bound as a double is NULL.
                if f.is_nan() {
                    Value::Null
                } else {
                    Value::Real(f)
                }
            }
            P_BIGINT => Value::Integer(i64::from_le_bytes(take8(buf, &mut at)?)),
            P_TEXT => {
                let n = take_len(buf, &mut at)?;
                let b = take(buf, &mut at, n)?;
                // TextEncoder's output: UTF-8 by construction.
                Value::Text(tessera::sql::Text::from_bytes(b.to_vec()))
            }
            P_BLOB => {
                let n = take_len(buf, &mut at)?;
                Value::Blob(take(buf, &mut at, n)?.to_vec())
            }
            _ => return Err(param_err()),
        };
        out.push(v);
    }
    Ok(out)
}

fn put_len(out: &mut Vec<u8>, n: usize) -> JsResult<()> {
    let n = u32::try_from(n).map_err(|_| error_with_code("VALUE_TOO_LARGE", "value too large for a result row"))?;
    out.extend_from_slice(&n.to_le_bytes());
    Ok(())
}

fn encode_value(out: &mut Vec<u8>, v: &Value) -> JsResult<()> {
    match v {
        Value::Null => out.push(R_NULL),
        Value::Integer(i) => {
            if let Ok(small) = i32::try_from(*i) {
                out.push(R_INT32);
                out.extend_from_slice(&small.to_le_bytes());
            } else if (-MAX_SAFE..=MAX_SAFE).contains(i) {
                out.push(R_INT53);
                out.extend_from_slice(&(*i as f64).to_le_bytes());
            } else {
                out.push(R_INT64);
                out.extend_from_slice(&i.to_le_bytes());
            }
        }
        Value::Real(f) => {
            out.push(R_REAL);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Text(s) => {
            out.push(R_TEXT);
            put_len(out, s.len())?;
            out.extend_from_slice(s.as_bytes());
        }
        Value::Blob(b) => {
            out.push(R_BLOB);
            put_len(out, b.len())?;
            out.extend_from_slice(b);
        }
    }
    Ok(())
}

/// Fetch up to `max_rows` rows (and about `max_bytes`) of `cur` into `out`: (rows, done).
fn fill_rows(
    cur: &mut SqlCursor,
    conn: &Connection,
    out: &mut Vec<u8>,
    max_rows: usize,
    max_bytes: usize,
) -> JsResult<(u32, bool)> {
    let mut rows = 0u32;
    while (rows as usize) < max_rows && out.len() < max_bytes {
        match cur.next(conn) {
            None => return Ok((rows, true)),
            Some(Err(e)) => return Err(engine_err(e)),
            Some(Ok(row)) => {
                for v in &row {
                    encode_value(out, v)?;
                }
                rows += 1;
            }
        }
    }
    Ok((rows, cur.is_done()))
}

/// What a statement is, for `changes` and the JS side.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Query,
    Write,
    /// BEGIN, COMMIT, ROLLBACK.
    TxControl,
    /// DDL and the rest.
    Other,
}

/// Kind of a statement and whether it returns rows (a query, or RETURNING).
fn classify(stmt: &Prepared) -> (Kind, bool) {
    let kind = match stmt.kind() {
        StatementKind::Query | StatementKind::Explain => Kind::Query,
        StatementKind::Insert | StatementKind::Update | StatementKind::Delete => Kind::Write,
        StatementKind::Transaction => Kind::TxControl,
        _ => Kind::Other,
    };
    (kind, stmt.returns_rows())
}

#[wasm_bindgen]
impl Database {
    /// Run every statement of `sql` (rows of queries are discarded).
    pub fn exec(&self, sql: &str) -> JsResult<()> {
        let none: &[Value] = &[];
        self.with(|s| s.conn.execute(sql, none).map(|_| ()).map_err(engine_err))
    }

    /// Prepare one SQL statement.
    pub fn prepare(&self, sql: &str) -> JsResult<Statement> {
        let prepared = self.with(|s| s.conn.prepare(sql).map_err(engine_err))?;
        let (kind, reader) = classify(&prepared);
        Ok(Statement {
            state: self.state.clone(),
            prepared,
            kind,
            reader,
            columns: Vec::new(),
            columns_gen: 0,
            cursor: Rc::new(RefCell::new(None)),
        })
    }

    /// Whether a SQL transaction (BEGIN) is open.
    #[wasm_bindgen(getter, js_name = inTransaction)]
    pub fn in_transaction(&self) -> JsResult<bool> {
        self.with(|s| Ok(s.conn.in_transaction()))
    }
}

/// A prepared SQL statement. Parameters and rows go through the scratch buffers (see above).
#[wasm_bindgen]
pub struct Statement {
    state: Rc<RefCell<Option<DbState>>>,
    prepared: Prepared,
    kind: Kind,
    reader: bool,
    /// Result column names of the last execution, and a counter bumped when they change.
    columns: Vec<String>,
    columns_gen: u32,
    /// The running statement of `iterate`.
    cursor: Rc<RefCell<Option<SqlCursor>>>,
}

impl Statement {
    /// Decode `n` bytes of parameters and start the statement.
    fn start(&mut self, s: &mut DbState, io: &mut Io, n: u32) -> JsResult<SqlCursor> {
        if self.cursor.try_borrow().map(|c| c.is_some()).unwrap_or(true) {
            return Err(error_with_code("BUSY", "this statement is busy: an iterate() over its rows is still open"));
        }
        let buf = io.params.get(..n as usize).ok_or_else(param_err)?;
        let params = decode_params(buf, self.prepared.parameter_count())?;
        // Handed over, not copied: a one-row INSERT moves the values into its row.
        let cur = s.conn.start(&self.prepared, params).map_err(engine_err)?;
        if cur.columns() != &self.columns[..] {
            self.columns = cur.columns().to_vec();
            self.columns_gen += 1;
        }
        io.header.slots[H_COLS_GEN] = f64::from(self.columns_gen);
        Ok(cur)
    }

    fn call<T>(&mut self, f: impl FnOnce(&mut Statement, &mut DbState, &mut Io) -> JsResult<T>) -> JsResult<T> {
        let state = self.state.clone();
        let mut g = state.try_borrow_mut().map_err(|_| busy_err())?;
        let s = g.as_mut().ok_or_else(|| closed_err("the database"))?;
        with_io(|io| f(self, s, io))
    }
}

#[wasm_bindgen]
impl Statement {
    /// Run with the `n` bytes of encoded parameters; `changes` and the last insert rowid go to
    /// the header.
    pub fn run(&mut self, n: u32) -> JsResult<()> {
        self.call(|st, s, io| {
            let cur = st.start(s, io, n)?;
            drop(cur);
            let changes = if st.kind == Kind::Write { s.conn.changes() } else { 0 };
            let rowid = s.conn.last_insert_rowid();
            io.header.slots[H_CHANGES] = changes as f64;
            io.header.slots[H_ROWID] = rowid as f64;
            io.header.rowid = rowid;
            io.header.slots[H_FLAGS] = f64::from(if (-MAX_SAFE..=MAX_SAFE).contains(&rowid) { 0 } else { F_ROWID_BIG });
            Ok(())
        })
    }

    /// Run and put the first row (if any) in the output buffer; returns whether there was one.
    pub fn get(&mut self, n: u32) -> JsResult<bool> {
        self.call(|st, s, io| {
            let mut cur = st.start(s, io, n)?;
            io.out.clear();
            let (rows, _) = fill_rows(&mut cur, &s.conn, &mut io.out, 1, usize::MAX)?;
            io.publish_out(rows);
            Ok(rows == 1)
        })
    }

    /// Run and put every row in the output buffer; returns the number of rows.
    pub fn all(&mut self, n: u32) -> JsResult<u32> {
        self.call(|st, s, io| {
            let mut cur = st.start(s, io, n)?;
            io.out.clear();
            let (rows, _) = fill_rows(&mut cur, &s.conn, &mut io.out, usize::MAX, usize::MAX)?;
            if io.out.capacity() > 16 << 20 && io.out.len() < io.out.capacity() / 4 {
                io.out.shrink_to_fit();
            }
            io.publish_out(rows);
            Ok(rows)
        })
    }

    /// Start an iteration and fetch its first batch (at most `batch` rows); returns the number
    /// of rows. The header's flags say whether the cursor reads the open transaction
    /// (`F_TX_CURSOR`) and whether it is done (`F_DONE`; the cursor is then released).
    pub fn iterate(&mut self, n: u32, batch: u32) -> JsResult<u32> {
        self.call(|st, s, io| {
            let in_tx = st.kind == Kind::Query && s.conn.in_transaction();
            let cur = st.start(s, io, n)?;
            *st.cursor.try_borrow_mut().map_err(|_| busy_err())? = Some(cur);
            s.cursors.retain(|w| w.strong_count() > 0);
            s.cursors.push(Rc::downgrade(&st.cursor));
            let rows = st.batch(s, io, batch)?;
            if in_tx {
                io.header.slots[H_FLAGS] = f64::from(io.header.slots[H_FLAGS] as u32 | F_TX_CURSOR);
            }
            Ok(rows)
        })
    }

    /// The next batch of the iteration (see `iterate`).
    #[wasm_bindgen(js_name = nextBatch)]
    pub fn next_batch(&mut self, batch: u32) -> JsResult<u32> {
        self.call(|st, s, io| st.batch(s, io, batch))
    }

    /// End the iteration (releases its cursor). A no-op if none is open.
    #[wasm_bindgen(js_name = endIterate)]
    pub fn end_iterate(&mut self) -> JsResult<()> {
        let taken = self.cursor.try_borrow_mut().map_err(|_| busy_err())?.take();
        drop(taken);
        Ok(())
    }

    /// Result column names of the last execution.
    #[wasm_bindgen(js_name = columnNames)]
    pub fn column_names(&self) -> Vec<String> {
        self.columns.clone()
    }

    /// Result column names of a query that has not run yet: starts it with NULL parameters
    /// (which reads no rows) to learn them. Other statements: the names of the last run.
    #[wasm_bindgen(js_name = probeColumns)]
    pub fn probe_columns(&mut self) -> JsResult<Vec<String>> {
        if self.kind != Kind::Query || self.columns_gen > 0 {
            return Ok(self.columns.clone());
        }
        let state = self.state.clone();
        let mut g = state.try_borrow_mut().map_err(|_| busy_err())?;
        let s = g.as_mut().ok_or_else(|| closed_err("the database"))?;
        let nulls = vec![Value::Null; self.prepared.parameter_count()];
        let cur = s.conn.start(&self.prepared, &nulls[..]).map_err(engine_err)?;
        self.columns = cur.columns().to_vec();
        self.columns_gen += 1;
        Ok(self.columns.clone())
    }

    /// Generation of `columnNames` (bumped whenever they change).
    #[wasm_bindgen(getter, js_name = columnsGen)]
    pub fn columns_gen(&self) -> u32 {
        self.columns_gen
    }

    /// Parameter names by index, with their prefix (`:a`, `@a`, `$a`); `null` for `?`/`?NNN`.
    #[wasm_bindgen(js_name = parameterNames)]
    pub fn parameter_names(&self) -> Array {
        self.prepared
            .parameter_names()
            .iter()
            .map(|n| match n {
                Some(n) => JsValue::from_str(n),
                None => JsValue::NULL,
            })
            .collect()
    }

    /// Whether the statement returns rows (a query, or a write with RETURNING).
    #[wasm_bindgen(getter)]
    pub fn reader(&self) -> bool {
        self.reader
    }

    /// The statement's SQL text.
    #[wasm_bindgen(getter)]
    pub fn source(&self) -> String {
        self.prepared.sql().to_string()
    }
}

impl Statement {
    fn batch(&mut self, s: &mut DbState, io: &mut Io, batch: u32) -> JsResult<u32> {
        io.out.clear();
        let mut g = self.cursor.try_borrow_mut().map_err(|_| busy_err())?;
        let (rows, done) = match g.as_mut() {
            None => (0, true),
            Some(cur) => match fill_rows(cur, &s.conn, &mut io.out, (batch as usize).max(1), SQL_BATCH_BYTES) {
                Ok(r) => r,
                Err(e) => {
                    *g = None;
                    return Err(e);
                }
            },
        };
        if done {
            *g = None;
        }
        io.publish_out(rows);
        io.header.slots[H_FLAGS] = f64::from(if done { F_DONE } else { 0 });
        Ok(rows)
    }
}
