//! The packed binary formats: range rows (`Cursor.nextBatch`) and packed requests and results
//! (`ReadTx/WriteTx.runPacked`, the browser main thread's batches to its worker). The byte
//! layouts are specified in `docs/BINDINGS.md`; the comments here say the same.

use crate::args::{bound_arg, opt_bool, opt_uint, table_arg};
use crate::errors::{arg_err, engine_err, error_with_code, JsResult};
use crate::kv::{read_table, ReadTx, WriteTx};
use js_sys::Reflect;
use std::ops::Bound;
use tessera as t;
use wasm_bindgen::prelude::*;

/// Default rows per batch when the caller gives no `batchSize`.
const DEFAULT_BATCH_ROWS: usize = 256;
/// A batch also ends once it holds this many bytes (large values), after at least one row.
const BATCH_BYTES: usize = 1 << 20;

/// Range parameters shared by read and write cursors.
pub(crate) struct RangeSpec {
    pub(crate) table: String,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    pub(crate) reverse: bool,
    /// Rows still allowed by `limit` (`None`: no limit).
    remaining: Option<u64>,
    batch_rows: usize,
    pub(crate) done: bool,
}

impl RangeSpec {
    pub(crate) fn parse(table: &JsValue, start: &JsValue, end: &JsValue, options: &JsValue) -> JsResult<RangeSpec> {
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

    pub(crate) fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
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
    pub(crate) fn batch<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        next: impl FnMut() -> Option<t::Result<(K, V)>>,
    ) -> JsResult<Vec<u8>> {
        let mut out = Vec::new();
        self.fill(&mut out, BATCH_BYTES, next)?;
        Ok(out)
    }
}

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
