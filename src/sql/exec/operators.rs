//! The executor: plan nodes ([`Plan`]) and the operators that run them as a stream of rows,
//! plus [`Txn`], the executor's view of the engine transaction.
//!
//! A plan is immutable and shared (`Arc`), so a prepared statement keeps it across runs;
//! [`open`] instantiates fresh operator state for one run. Operators pull rows from their
//! inputs one at a time (`Op::next`). Sorting, grouping, DISTINCT and set operations hold
//! rows within the work-memory budget and spill past it (`spill`); the build side of a hash
//! join is held in memory. Table scans read the engine in batches, continuing after the last
//! key, so no engine borrow outlives a call.

use alloc::boxed::Box;
use alloc::collections::{BTreeSet, VecDeque};
use alloc::rc::Rc;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::ops::Bound;
use hashbrown::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::sql::catalog::{IndexDef, PrimaryKey, TableDef};
use crate::sql::exec::spill::{self, Groups, Sorted, Sorter};
use crate::sql::parser::ast::CompoundOp;
use crate::sql::planner::expr::{conv, internal, CExpr, Coll, Env};
use crate::sql::types::encoding::{
    self, decode_key, decode_row, encode_key_prefix, invert, prefix_successor, rowid_key,
};
use crate::sql::types::functions::{Accumulator, AggregateKind};
use crate::sql::types::value::{Affinity, Value, TWO_63};
use crate::{ReadTransaction, WriteTransaction};

/// A row.
pub type Row = Vec<Value>;

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
    internal("write in a read transaction")
}

impl Txn {
    /// A read snapshot.
    pub fn read(r: ReadTransaction) -> Txn {
        Txn::Read(r, RefCell::new(HashMap::new()))
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

/// Which keys a scan visits, as expressions evaluated when the scan opens.
#[derive(Debug, Default)]
pub struct KeySpec {
    /// Equalities on the leading key columns.
    pub eq: Vec<CExpr>,
    /// An IN list on the next key column (instead of `lo`/`hi`).
    pub in_list: Option<Vec<CExpr>>,
    /// Lower bound on the next key column: (expr, inclusive).
    pub lo: Option<(CExpr, bool)>,
    /// Upper bound on the next key column.
    pub hi: Option<(CExpr, bool)>,
}

impl KeySpec {
    /// Whether the spec constrains nothing.
    pub fn is_full(&self) -> bool {
        self.eq.is_empty() && self.in_list.is_none() && self.lo.is_none() && self.hi.is_none()
    }
}

/// A scan of a table, directly or through an index.
#[derive(Debug)]
pub struct ScanPlan {
    /// The table.
    pub table: Arc<TableDef>,
    /// The index, or None for the table's own key order.
    pub index: Option<Arc<IndexDef>>,
    /// Whether the index holds every column the query needs (no row fetch).
    pub covering: bool,
    /// Key constraints.
    pub keys: KeySpec,
    /// Visit keys in descending order.
    pub reverse: bool,
    /// The row positions the query reads (None: all); the other columns read as NULL, and
    /// their text and blobs are not decoded.
    pub needed: Option<Arc<[bool]>>,
}

/// An aggregate in a grouping node.
#[derive(Debug)]
pub struct AggSpec {
    /// Which aggregate.
    pub kind: AggregateKind,
    /// DISTINCT.
    pub distinct: bool,
    /// Arguments.
    pub args: Vec<CExpr>,
}

/// A sort key.
#[derive(Debug)]
pub struct SortKey {
    /// Expression on the input row.
    pub expr: CExpr,
    /// Descending.
    pub desc: bool,
    /// NULLs first (default: NULLs first ascending, last descending).
    pub nulls_first: bool,
    /// Collation.
    pub coll: Coll,
}

/// A plan node.
#[derive(Debug)]
pub enum Plan {
    /// A single empty row (SELECT without FROM).
    One,
    /// Rows of a VALUES list.
    Values(Vec<Vec<CExpr>>),
    /// Rows already computed (INSERT ... RETURNING, materialized results).
    Rows(Vec<Row>),
    /// A table scan.
    Scan(ScanPlan),
    /// Keep rows where `pred` is true.
    Filter {
        /// Input.
        input: Arc<Plan>,
        /// Predicate.
        pred: CExpr,
    },
    /// Compute expressions per row.
    Project {
        /// Input.
        input: Arc<Plan>,
        /// Output expressions.
        exprs: Vec<CExpr>,
    },
    /// For each left row, run `right` with the left row as outer row (depth 1); emit
    /// `left ++ right` rows passing `on`; a LEFT join emits `left ++ NULLs` when none pass.
    NestedLoop {
        /// Outer input.
        left: Arc<Plan>,
        /// Inner input.
        right: Arc<Plan>,
        /// Whether `right` reads the left row (else it is computed once and reused).
        correlated: bool,
        /// Width of right rows.
        right_width: usize,
        /// Join condition on the combined row.
        on: Option<CExpr>,
        /// LEFT JOIN.
        left_join: bool,
    },
    /// Hash join on equal keys: the right side is built into a hash table once.
    HashJoin {
        /// Probe side.
        left: Arc<Plan>,
        /// Build side.
        right: Arc<Plan>,
        /// Keys on left rows.
        left_keys: Vec<CExpr>,
        /// Keys on right rows.
        right_keys: Vec<CExpr>,
        /// Width of right rows.
        right_width: usize,
        /// Remaining condition on the combined row.
        on: Option<CExpr>,
        /// LEFT JOIN.
        left_join: bool,
    },
    /// Grouping: emits `group values ++ aggregate results ++ first input row of the group`.
    Aggregate {
        /// Input.
        input: Arc<Plan>,
        /// GROUP BY expressions (empty: one group, even over no rows).
        group: Vec<CExpr>,
        /// Aggregates.
        aggs: Vec<AggSpec>,
        /// Width of input rows (for the NULL row of an empty input).
        input_width: usize,
    },
    /// Sort all rows.
    Sort {
        /// Input.
        input: Arc<Plan>,
        /// Keys.
        keys: Vec<SortKey>,
    },
    /// Drop duplicate rows.
    Distinct {
        /// Input.
        input: Arc<Plan>,
    },
    /// LIMIT / OFFSET.
    Limit {
        /// Input.
        input: Arc<Plan>,
        /// Limit (negative: none).
        limit: Option<CExpr>,
        /// Offset.
        offset: Option<CExpr>,
    },
    /// UNION [ALL] / INTERSECT / EXCEPT.
    Compound {
        /// Operator.
        op: CompoundOp,
        /// Left.
        left: Arc<Plan>,
        /// Right.
        right: Arc<Plan>,
    },
}

/// A running operator.
pub trait Op {
    /// The next row, or None at the end.
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>>;

    /// Feed every remaining row to `f`, which may take the row (`mem::take`) or leave it:
    /// operators that can reuse one row buffer (scans, filters) then do, which spares an
    /// allocation per row for consumers that only read rows (grouping).
    fn drain(&mut self, env: &mut Env, f: &mut dyn FnMut(&mut Env, &mut Row) -> Result<()>) -> Result<()> {
        while let Some(mut r) = self.next(env)? {
            f(env, &mut r)?;
        }
        Ok(())
    }
}

/// Instantiate operators for one run of `plan`.
pub fn open(plan: &Arc<Plan>) -> Box<dyn Op> {
    match &**plan {
        Plan::One => Box::new(OneOp(true)),
        Plan::Values(_) | Plan::Rows(_) => Box::new(ValuesOp { plan: plan.clone(), at: 0 }),
        Plan::Scan(_) => Box::new(ScanOp { plan: plan.clone(), state: None }),
        Plan::Filter { input, .. } | Plan::Project { input, .. } => {
            Box::new(MapOp { plan: plan.clone(), input: open(input) })
        }
        Plan::NestedLoop { left, .. } => Box::new(LoopOp {
            plan: plan.clone(),
            left: open(left),
            cur: None,
            right: None,
            cache: None,
            matched: false,
            at: 0,
        }),
        Plan::HashJoin { left, .. } => {
            Box::new(HashOp { plan: plan.clone(), left: open(left), table: None, pending: VecDeque::new() })
        }
        Plan::Aggregate { .. } => Box::new(AggOp { plan: plan.clone(), out: None }),
        Plan::Sort { .. } => Box::new(SortOp { plan: plan.clone(), limit: None, out: None }),
        Plan::Compound { .. } => Box::new(SetOp { plan: plan.clone(), stream: None, groups: None }),
        Plan::Distinct { input } => {
            Box::new(DistinctOp { input: open(input), seen: HashSet::new(), bytes: 0, spill: None, tail: None })
        }
        Plan::Limit { input, .. } => {
            Box::new(LimitOp { plan: plan.clone(), input: open_limited(input, plan), left: None, skip: 0 })
        }
    }
}

/// Open the input of a LIMIT node: a sort reached through projections (which map rows one
/// to one) learns the limit, to keep only the rows it can return.
fn open_limited(plan: &Arc<Plan>, limit: &Arc<Plan>) -> Box<dyn Op> {
    match &**plan {
        Plan::Sort { .. } => Box::new(SortOp { plan: plan.clone(), limit: Some(limit.clone()), out: None }),
        Plan::Project { input, .. } => Box::new(MapOp { plan: plan.clone(), input: open_limited(input, limit) }),
        _ => open(plan),
    }
}

struct OneOp(bool);
impl Op for OneOp {
    fn next(&mut self, _: &mut Env) -> Result<Option<Row>> {
        Ok(core::mem::take(&mut self.0).then(Vec::new))
    }
}

struct ValuesOp {
    plan: Arc<Plan>,
    at: usize,
}
impl Op for ValuesOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>> {
        let i = self.at;
        self.at += 1;
        match &*self.plan {
            Plan::Values(rows) => match rows.get(i) {
                Some(exprs) => Ok(Some(exprs.iter().map(|e| e.eval(&[], env)).collect::<Result<_>>()?)),
                None => Ok(None),
            },
            Plan::Rows(rows) => Ok(rows.get(i).cloned()),
            _ => Err(internal("values")),
        }
    }
}

struct MapOp {
    plan: Arc<Plan>,
    input: Box<dyn Op>,
}
impl Op for MapOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>> {
        loop {
            let Some(row) = self.input.next(env)? else { return Ok(None) };
            match &*self.plan {
                Plan::Filter { pred, .. } => {
                    if pred.test(&row, env)? {
                        return Ok(Some(row));
                    }
                }
                Plan::Project { exprs, .. } => {
                    return Ok(Some(exprs.iter().map(|e| e.eval(&row, env)).collect::<Result<_>>()?));
                }
                _ => return Err(internal("map")),
            }
        }
    }

    fn drain(&mut self, env: &mut Env, f: &mut dyn FnMut(&mut Env, &mut Row) -> Result<()>) -> Result<()> {
        match &*self.plan {
            Plan::Filter { pred, .. } => self.input.drain(env, &mut |env, row| {
                if pred.test(row, env)? {
                    f(env, row)?;
                }
                Ok(())
            }),
            Plan::Project { exprs, .. } => {
                let mut out = Vec::new();
                self.input.drain(env, &mut |env, row| {
                    out.clear();
                    for e in exprs {
                        out.push(e.eval(row, env)?);
                    }
                    f(env, &mut out)
                })
            }
            _ => Err(internal("map")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scans

struct ScanState {
    ranges: VecDeque<KeyRange>,
    /// Rows decoded from the last batch.
    buf: VecDeque<Row>,
    cur: Option<KeyRange>,
    batch: usize,
}

struct ScanOp {
    plan: Arc<Plan>,
    state: Option<ScanState>,
}

/// The key columns a scan's KeySpec refers to: (affinity, desc). For a table's own storage
/// of a rowid table this is the rowid alone (`None` affinity marks "rowid").
fn key_columns(table: &TableDef, index: Option<&IndexDef>) -> Vec<(Option<Affinity>, bool)> {
    let aff = |c: usize| Some(table.columns[c].affinity);
    match index {
        Some(ix) => {
            let mut v: Vec<_> = ix.columns.iter().map(|(c, d)| (aff(*c), *d)).collect();
            match &table.pk {
                PrimaryKey::Rowid { .. } => v.push((None, false)),
                PrimaryKey::Columns(cols) => v.extend(cols.iter().map(|(c, d)| (aff(*c), *d))),
            }
            v
        }
        None => match &table.pk {
            PrimaryKey::Rowid { .. } => vec![(None, false)],
            PrimaryKey::Columns(cols) => cols.iter().map(|(c, d)| (aff(*c), *d)).collect(),
        },
    }
}

/// A rowid comparison bound from a value: the integer range it allows, or None when no
/// integer can satisfy it.
fn rowid_of(v: &Value) -> Option<i64> {
    match v.clone().to_numeric_if_text() {
        Value::Integer(i) => Some(i),
        Value::Real(r) if crate::sql::types::value::fract(r) == 0.0 && (-TWO_63..TWO_63).contains(&r) => Some(r as i64),
        _ => None,
    }
}

trait TextNum {
    fn to_numeric_if_text(self) -> Value;
}
impl TextNum for Value {
    fn to_numeric_if_text(self) -> Value {
        match self {
            Value::Text(s) => crate::sql::types::value::parse_number(&s).unwrap_or(Value::Text(s)),
            v => v,
        }
    }
}

/// The key-encoded prefix of one column's value (inverted for DESC). For rowid columns the
/// 8-byte rowid key; None when the value cannot match any row (NULL, or a non-integer rowid).
fn col_prefix(v: &Value, aff: Option<Affinity>, desc: bool) -> Option<Vec<u8>> {
    if v.is_null() {
        return None;
    }
    match aff {
        None => rowid_of(v).map(|i| rowid_key(i).to_vec()),
        Some(a) => {
            let v = conv(v.clone(), Some(a)).clone();
            let mut out = Vec::new();
            encode_key_prefix(&mut out, &v);
            if desc {
                invert(&mut out);
            }
            Some(out)
        }
    }
}

/// Bounds for a range on a rowid.
fn rowid_range(prefix: &[u8], lo: Option<(Value, bool)>, hi: Option<(Value, bool)>) -> Option<KeyRange> {
    let mut start = Bound::Included(prefix.to_vec());
    let mut end = match prefix_successor(prefix) {
        Some(s) if !prefix.is_empty() => Bound::Excluded(s),
        _ => Bound::Unbounded,
    };
    let key = |i: i64| {
        let mut k = prefix.to_vec();
        k.extend_from_slice(&rowid_key(i));
        k
    };
    if let Some((v, incl)) = lo {
        match v.to_numeric_if_text() {
            Value::Null => return None,
            Value::Integer(i) => start = if incl { Bound::Included(key(i)) } else { Bound::Excluded(key(i)) },
            Value::Real(r) => {
                let c = crate::sql::types::value::ceil(r);
                if c >= TWO_63 {
                    return None;
                }
                if c >= -TWO_63 {
                    let c = c as i64;
                    start = if incl || (c as f64) != r { Bound::Included(key(c)) } else { Bound::Excluded(key(c)) };
                }
            }
            _ => return None, // text/blob is greater than every integer
        }
    }
    if let Some((v, incl)) = hi {
        match v.to_numeric_if_text() {
            Value::Null => return None,
            Value::Integer(i) => end = if incl { Bound::Included(key(i)) } else { Bound::Excluded(key(i)) },
            Value::Real(r) => {
                let f = crate::sql::types::value::floor(r);
                if f < -TWO_63 {
                    return None;
                }
                if f < TWO_63 {
                    let f = f as i64;
                    end = if incl || (f as f64) != r { Bound::Included(key(f)) } else { Bound::Excluded(key(f)) };
                }
            }
            _ => {} // every integer is below text
        }
    }
    Some((start, end))
}

/// Bounds for a range on a key-encoded column after `prefix`.
fn encoded_range(
    prefix: &[u8],
    aff: Affinity,
    desc: bool,
    lo: Option<(Value, bool)>,
    hi: Option<(Value, bool)>,
) -> Option<KeyRange> {
    let after = |p: Vec<u8>| match prefix_successor(&p) {
        Some(s) => Bound::Included(s),
        None => Bound::Unbounded,
    };
    let before = |p: Vec<u8>| Bound::Excluded(p);
    let enc = |v: &Value| -> Vec<u8> {
        let mut k = prefix.to_vec();
        let start = k.len();
        encode_key_prefix(&mut k, &conv(v.clone(), Some(aff)));
        if desc {
            invert(&mut k[start..]);
        }
        k
    };
    // NULL never satisfies a comparison: skip the NULL keys.
    let mut null_key = prefix.to_vec();
    let start_null = null_key.len();
    encode_key_prefix(&mut null_key, &Value::Null);
    if desc {
        invert(&mut null_key[start_null..]);
    }
    // In ascending order: (low side, high side). With DESC the key order is reversed.
    let (mut start, mut end): (Bound<Vec<u8>>, Bound<Vec<u8>>) = if desc {
        (Bound::Included(prefix.to_vec()), Bound::Excluded(null_key.clone()))
    } else {
        (after(null_key), if prefix.is_empty() { Bound::Unbounded } else { after(prefix.to_vec()).map_excl() })
    };
    let (lo_b, hi_b) = if desc { (hi, lo) } else { (lo, hi) };
    // Key-order lower bound comes from `lo` (asc) or `hi` (desc).
    if let Some((v, incl)) = lo_b {
        if v.is_null() {
            return None;
        }
        let k = enc(&v);
        start = if incl { Bound::Included(k) } else { after(k) };
    }
    if let Some((v, incl)) = hi_b {
        if v.is_null() {
            return None;
        }
        let k = enc(&v);
        end = if incl {
            match prefix_successor(&k) {
                Some(s) => Bound::Excluded(s),
                None => Bound::Unbounded,
            }
        } else {
            before(k)
        };
    }
    Some((start, end))
}

trait MapExcl {
    fn map_excl(self) -> Bound<Vec<u8>>;
}
impl MapExcl for Bound<Vec<u8>> {
    fn map_excl(self) -> Bound<Vec<u8>> {
        match self {
            Bound::Included(k) | Bound::Excluded(k) => Bound::Excluded(k),
            Bound::Unbounded => Bound::Unbounded,
        }
    }
}

fn prefix_range(prefix: Vec<u8>) -> KeyRange {
    let end = match prefix_successor(&prefix) {
        Some(s) if !prefix.is_empty() => Bound::Excluded(s),
        _ => Bound::Unbounded,
    };
    (Bound::Included(prefix), end)
}

/// Evaluate a scan's key spec into concrete key ranges, in scan order.
fn scan_ranges(sp: &ScanPlan, env: &mut Env) -> Result<Vec<KeyRange>> {
    let cols = key_columns(&sp.table, sp.index.as_deref());
    let k = &sp.keys;
    let mut prefix = Vec::new();
    for (i, e) in k.eq.iter().enumerate() {
        let (aff, desc) = cols.get(i).copied().ok_or_else(|| internal("key spec"))?;
        match col_prefix(&e.eval(&[], env)?, aff, desc) {
            Some(p) => prefix.extend_from_slice(&p),
            None => return Ok(Vec::new()),
        }
    }
    let next = cols.get(k.eq.len()).copied();
    let mut ranges = Vec::new();
    if let Some(list) = &k.in_list {
        let (aff, desc) = next.ok_or_else(|| internal("key spec"))?;
        let mut keys = BTreeSet::new();
        for e in list {
            if let Some(p) = col_prefix(&e.eval(&[], env)?, aff, desc) {
                let mut full = prefix.clone();
                full.extend_from_slice(&p);
                keys.insert(full);
            }
        }
        ranges.extend(keys.into_iter().map(prefix_range));
    } else if k.lo.is_some() || k.hi.is_some() {
        let (aff, desc) = next.ok_or_else(|| internal("key spec"))?;
        let lo = match &k.lo {
            Some((e, incl)) => Some((e.eval(&[], env)?, *incl)),
            None => None,
        };
        let hi = match &k.hi {
            Some((e, incl)) => Some((e.eval(&[], env)?, *incl)),
            None => None,
        };
        let r = match aff {
            None => rowid_range(&prefix, lo, hi),
            Some(a) => encoded_range(&prefix, a, desc, lo, hi),
        };
        ranges.extend(r);
    } else {
        ranges.push(prefix_range(prefix));
    }
    if sp.reverse {
        ranges.reverse();
    }
    Ok(ranges)
}

/// Literal default of a column for rows written before it was added.
fn literal_default(e: &Option<crate::sql::parser::ast::Expr>) -> Value {
    use crate::sql::parser::ast::{Expr, UnaryOp};
    match e {
        Some(Expr::Literal(v)) => v.clone(),
        Some(Expr::Unary { op: UnaryOp::Neg, expr }) => match &**expr {
            Expr::Literal(Value::Integer(i)) => Value::Integer(i.wrapping_neg()),
            Expr::Literal(Value::Real(r)) => Value::Real(-r),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// Decode a stored row (record + key) into the scan row layout: the columns, then the rowid
/// for rowid tables.
pub fn decode_table_row(table: &TableDef, key: &[u8], record: &[u8]) -> Result<Row> {
    let mut row = Vec::new();
    decode_table_row_into(table, key, record, None, &mut row)?;
    Ok(row)
}

/// [`decode_table_row`] into `row` (cleared first), decoding only the `needed` positions'
/// text and blobs (others NULL).
fn decode_table_row_into(
    table: &TableDef,
    key: &[u8],
    record: &[u8],
    needed: Option<&[bool]>,
    row: &mut Row,
) -> Result<()> {
    row.clear();
    row.reserve(table.row_width());
    match needed {
        Some(n) => encoding::decode_row_needed(record, n, row)?,
        None => decode_row(record, row)?,
    }
    if row.len() > table.columns.len() {
        return Err(Error::Corrupted { page: 0, reason: alloc::format!("row of {} has too many columns", table.name) });
    }
    while row.len() < table.columns.len() {
        row.push(literal_default(&table.columns[row.len()].default));
    }
    if table.has_rowid() {
        row.push(Value::Integer(encoding::decode_rowid(key)?));
    }
    Ok(())
}

/// Split an index key into the table's row key (the suffix after the indexed columns) and,
/// when `values` is given, the decoded indexed values.
pub fn index_row_key<'k>(ix: &IndexDef, key: &'k [u8], mut values: Option<&mut Vec<Value>>) -> Result<&'k [u8]> {
    let mut at = 0;
    for (_, desc) in &ix.columns {
        let (v, used) = decode_key(&key[at..], *desc)?;
        at += used;
        if let Some(out) = values.as_deref_mut() {
            out.push(v);
        }
    }
    Ok(&key[at..])
}

/// Decode the primary-key values of a WITHOUT ROWID row key.
fn decode_pk(cols: &[(usize, bool)], key: &[u8], out: &mut Vec<(usize, Value)>) -> Result<()> {
    let mut at = 0;
    for (c, desc) in cols {
        let (v, used) = decode_key(&key[at..], *desc)?;
        at += used;
        out.push((*c, v));
    }
    Ok(())
}

impl ScanOp {
    fn fill(&mut self, env: &mut Env) -> Result<bool> {
        let Plan::Scan(sp) = &*self.plan else { return Err(internal("scan")) };
        let st = self.state.as_mut().ok_or_else(|| internal("scan state"))?;
        let storage = match &sp.index {
            Some(ix) => &ix.storage,
            None => &sp.table.storage,
        };
        let txn = env.txn;
        // Equality on the rowid of a rowid table: a point lookup, no range cursor.
        let point = sp.index.is_none()
            && sp.table.has_rowid()
            && sp.keys.eq.len() == 1
            && sp.keys.in_list.is_none()
            && sp.keys.lo.is_none()
            && sp.keys.hi.is_none();
        loop {
            if st.cur.is_none() {
                match st.ranges.pop_front() {
                    Some(r) => st.cur = Some(r),
                    None => return Ok(false),
                }
            }
            if point {
                if let Some((Bound::Included(k), _)) = st.cur.take() {
                    let t = &sp.table;
                    let mut row = Vec::new();
                    if txn.with_value(storage, &k, &mut |rec| {
                        decode_table_row_into(t, &k, rec, sp.needed.as_deref(), &mut row)
                    })? {
                        st.buf.push_back(row);
                        return Ok(true);
                    }
                    continue;
                }
                return Err(internal("point lookup range"));
            }
            let (start, end) = st.cur.as_ref().ok_or_else(|| internal("scan range"))?;
            let mut last = Vec::new();
            let buf = &mut st.buf;
            let done =
                txn.scan_each(storage, (as_ref(start), as_ref(end)), sp.reverse, st.batch, &mut last, &mut |k, v| {
                    buf.push_back(make_row(sp, txn, k, v)?);
                    Ok(())
                })?;
            st.batch = (st.batch * 2).min(1024);
            if !last.is_empty() {
                let cur = st.cur.as_mut().ok_or_else(|| internal("scan range"))?;
                if sp.reverse {
                    cur.1 = Bound::Excluded(last);
                } else {
                    cur.0 = Bound::Excluded(last);
                }
            }
            if done {
                st.cur = None;
            }
            if !st.buf.is_empty() {
                return Ok(true);
            }
        }
    }
}

/// The scan row of one engine entry (for a non-covering index scan, the table row it points
/// at).
fn make_row(sp: &ScanPlan, txn: &Txn, key: &[u8], val: &[u8]) -> Result<Row> {
    let mut row = Vec::new();
    make_row_into(sp, txn, key, val, &mut row)?;
    Ok(row)
}

/// [`make_row`] into `row` (cleared first).
fn make_row_into(sp: &ScanPlan, txn: &Txn, key: &[u8], val: &[u8], row: &mut Row) -> Result<()> {
    let t = &sp.table;
    let needed = sp.needed.as_deref();
    let Some(ix) = &sp.index else { return decode_table_row_into(t, key, val, needed, row) };
    if sp.covering {
        let mut vals = Vec::new();
        let rk = index_row_key(ix, key, Some(&mut vals))?;
        row.clear();
        row.resize(t.row_width(), Value::Null);
        // Keys do not tell 1 from 1.0: the column affinity restores the stored type
        // (the planner does not cover columns without a type, where both can occur).
        for ((c, _), v) in ix.columns.iter().zip(vals) {
            row[*c] = t.columns[*c].affinity.apply(v);
        }
        match &t.pk {
            PrimaryKey::Rowid { alias } => {
                let id = encoding::decode_rowid(rk)?;
                row[t.columns.len()] = Value::Integer(id);
                if let Some(a) = alias {
                    row[*a] = Value::Integer(id);
                }
            }
            PrimaryKey::Columns(cols) => {
                let mut pk = Vec::new();
                decode_pk(cols, rk, &mut pk)?;
                for (c, v) in pk {
                    row[c] = t.columns[c].affinity.apply(v);
                }
            }
        }
        return Ok(());
    }
    let rk = index_row_key(ix, key, None)?;
    if txn.with_value(&t.storage, rk, &mut |rec| decode_table_row_into(t, rk, rec, needed, row))? {
        Ok(())
    } else {
        Err(Error::Corrupted { page: 0, reason: alloc::format!("index {} points at a missing row", ix.name) })
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Op for ScanOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>> {
        if self.state.is_none() {
            let Plan::Scan(sp) = &*self.plan else { return Err(internal("scan")) };
            let ranges = scan_ranges(sp, env)?;
            // Point lookups fetch a single row: start small, then grow.
            self.state = Some(ScanState { ranges: ranges.into(), buf: VecDeque::new(), cur: None, batch: 16 });
        }
        loop {
            let st = self.state.as_mut().ok_or_else(|| internal("scan state"))?;
            if let Some(row) = st.buf.pop_front() {
                return Ok(Some(row));
            }
            if !self.fill(env)? {
                return Ok(None);
            }
        }
    }

    fn drain(&mut self, env: &mut Env, f: &mut dyn FnMut(&mut Env, &mut Row) -> Result<()>) -> Result<()> {
        let Plan::Scan(sp) = &*self.plan else { return Err(internal("scan")) };
        if self.state.is_none() {
            let ranges = scan_ranges(sp, env)?;
            self.state = Some(ScanState { ranges: ranges.into(), buf: VecDeque::new(), cur: None, batch: 1024 });
        }
        let st = self.state.as_mut().ok_or_else(|| internal("scan state"))?;
        while let Some(mut r) = st.buf.pop_front() {
            f(env, &mut r)?;
        }
        let storage = match &sp.index {
            Some(ix) => &ix.storage,
            None => &sp.table.storage,
        };
        let txn = env.txn;
        let mut row = Vec::new();
        let mut last = Vec::new();
        loop {
            if st.cur.is_none() {
                match st.ranges.pop_front() {
                    Some(r) => st.cur = Some(r),
                    None => return Ok(()),
                }
            }
            let (start, end) = st.cur.as_ref().ok_or_else(|| internal("scan range"))?;
            last.clear();
            let done =
                txn.scan_each(storage, (as_ref(start), as_ref(end)), sp.reverse, 1024, &mut last, &mut |k, v| {
                    make_row_into(sp, txn, k, v, &mut row)?;
                    f(env, &mut row)
                })?;
            if !last.is_empty() {
                let cur = st.cur.as_mut().ok_or_else(|| internal("scan range"))?;
                let b = Bound::Excluded(core::mem::take(&mut last));
                if sp.reverse {
                    cur.1 = b;
                } else {
                    cur.0 = b;
                }
            }
            if done {
                st.cur = None;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Joins

struct LoopOp {
    plan: Arc<Plan>,
    left: Box<dyn Op>,
    cur: Option<Rc<[Value]>>,
    right: Option<Box<dyn Op>>,
    cache: Option<Rc<Vec<Row>>>,
    matched: bool,
    at: usize,
}

impl Op for LoopOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>> {
        let Plan::NestedLoop { right, correlated, right_width, on, left_join, .. } = &*self.plan else {
            return Err(internal("loop"));
        };
        loop {
            let Some(cur) = self.cur.clone() else {
                let Some(l) = self.left.next(env)? else { return Ok(None) };
                self.cur = Some(Rc::from(l));
                self.matched = false;
                self.at = 0;
                if *correlated {
                    self.right = Some(open(right));
                } else if self.cache.is_none() {
                    let mut rows = Vec::new();
                    open(right).drain(env, &mut |_, r| {
                        rows.push(core::mem::take(r));
                        Ok(())
                    })?;
                    self.cache = Some(Rc::new(rows));
                }
                continue;
            };
            let r = if *correlated {
                env.outer.push(cur.clone());
                let r = self.right.as_mut().ok_or_else(|| internal("loop right"))?.next(env);
                env.outer.pop();
                r?
            } else {
                let cache = self.cache.as_ref().ok_or_else(|| internal("loop cache"))?;
                let r = cache.get(self.at).cloned();
                self.at += 1;
                r
            };
            match r {
                Some(r) => {
                    let mut row = Vec::with_capacity(cur.len() + r.len());
                    row.extend_from_slice(&cur);
                    row.extend(r);
                    if match on {
                        Some(p) => p.test(&row, env)?,
                        None => true,
                    } {
                        self.matched = true;
                        return Ok(Some(row));
                    }
                }
                None => {
                    self.cur = None;
                    self.right = None;
                    if *left_join && !self.matched {
                        let mut row = cur.to_vec();
                        row.resize(cur.len() + right_width, Value::Null);
                        return Ok(Some(row));
                    }
                }
            }
        }
    }
}

struct HashOp {
    plan: Arc<Plan>,
    left: Box<dyn Op>,
    table: Option<HashMap<Vec<Value>, Vec<Row>>>,
    pending: VecDeque<Row>,
}

impl Op for HashOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>> {
        let Plan::HashJoin { right, left_keys, right_keys, right_width, on, left_join, .. } = &*self.plan else {
            return Err(internal("hash join"));
        };
        if self.table.is_none() {
            let mut t: HashMap<Vec<Value>, Vec<Row>> = HashMap::new();
            open(right).drain(env, &mut |env, r| {
                let key: Vec<Value> = right_keys.iter().map(|k| k.eval(r, env)).collect::<Result<_>>()?;
                if !key.iter().any(Value::is_null) {
                    t.entry(key).or_default().push(core::mem::take(r));
                }
                Ok(())
            })?;
            self.table = Some(t);
        }
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(Some(r));
            }
            let Some(l) = self.left.next(env)? else { return Ok(None) };
            let key: Vec<Value> = left_keys.iter().map(|k| k.eval(&l, env)).collect::<Result<_>>()?;
            let mut matched = false;
            if !key.iter().any(Value::is_null) {
                let t = self.table.as_ref().ok_or_else(|| internal("hash table"))?;
                if let Some(rows) = t.get(&key) {
                    for r in rows {
                        let mut row = l.clone();
                        row.extend_from_slice(r);
                        if match on {
                            Some(p) => p.test(&row, env)?,
                            None => true,
                        } {
                            matched = true;
                            self.pending.push_back(row);
                        }
                    }
                }
            }
            if !matched && *left_join {
                let mut row = l;
                let n = row.len();
                row.resize(n + right_width, Value::Null);
                return Ok(Some(row));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Grouping, sorting, DISTINCT, set operations: rows held against the work-memory budget,
// spilled through the external sorter of `spill` past it.

/// LIMIT and OFFSET values (-1: no limit; offset at least 0).
fn limit_values(limit: &Option<CExpr>, offset: &Option<CExpr>, env: &mut Env) -> Result<(i64, i64)> {
    let num = |e: &Option<CExpr>, env: &mut Env| -> Result<i64> {
        match e {
            None => Ok(-1),
            Some(e) => match e.eval(&[], env)?.to_numeric_if_text() {
                Value::Integer(i) => Ok(i),
                Value::Real(r) if crate::sql::types::value::fract(r) == 0.0 => Ok(r as i64),
                _ => Err(Error::Sql("datatype mismatch".into())),
            },
        }
    };
    Ok((num(limit, env)?, num(offset, env)?.max(0)))
}

/// ORDER BY: an external sort on the terms' sort keys (a top-k when a LIMIT sits above).
struct SortOp {
    plan: Arc<Plan>,
    /// The LIMIT node over this sort (through projections), if any.
    limit: Option<Arc<Plan>>,
    out: Option<Sorted>,
}

impl Op for SortOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>> {
        if self.out.is_none() {
            let Plan::Sort { input, keys } = &*self.plan else { return Err(internal("sort")) };
            let k = match self.limit.as_deref() {
                // An error here is reported by the LIMIT operator itself.
                Some(Plan::Limit { limit, offset, .. }) => match limit_values(limit, offset, env) {
                    Ok((l, o)) if l >= 0 => Some((l as u64).saturating_add(o as u64).min(usize::MAX as u64) as usize),
                    _ => None,
                },
                _ => None,
            };
            let work = env.work;
            let mut sorter = Sorter::new(work.budget(), k);
            open(input).drain(env, &mut |env, r| {
                let mut key = Vec::new();
                for k in keys {
                    spill::sort_key(&mut key, &k.expr.eval(r, env)?, k.desc, k.nulls_first, k.coll);
                }
                sorter.push(work, key, core::mem::take(r))
            })?;
            self.out = Some(sorter.finish(work)?);
        }
        match &mut self.out {
            Some(s) => Ok(s.next_entry()?.map(|(_, r)| r)),
            None => Ok(None),
        }
    }
}

/// GROUP BY: a hash table of groups while it fits half the budget; rows of groups not in it
/// by then go to an external sort on the group key and are aggregated as a stream, merged in
/// key order with the table's groups.
struct AggOp {
    plan: Arc<Plan>,
    out: Option<AggOut>,
}

struct AggOut {
    /// Finished rows of the in-memory groups, in key order.
    mem: core::iter::Peekable<alloc::vec::IntoIter<Row>>,
    /// The spilled groups.
    spilled: Option<Groups>,
    /// The next finished spilled group.
    next_spilled: Option<Row>,
}

/// Approximate bytes of a new in-memory group.
fn group_bytes(key: &[Value], first: &[Value], aggs: usize) -> usize {
    spill::row_bytes(key) + spill::row_bytes(first) + aggs * core::mem::size_of::<Accumulator>() + 64
}

fn step_aggs(
    accs: &mut [Accumulator],
    aggs: &[AggSpec],
    row: &[Value],
    args: &mut Vec<Value>,
    env: &mut Env,
) -> Result<()> {
    for (acc, spec) in accs.iter_mut().zip(aggs) {
        args.clear();
        for a in &spec.args {
            args.push(a.eval(row, env)?);
        }
        acc.step(args)?;
    }
    Ok(())
}

fn new_accs(aggs: &[AggSpec]) -> Vec<Accumulator> {
    aggs.iter().map(|a| Accumulator::new(a.kind, a.distinct)).collect()
}

/// The output row of a group: key values, aggregate results, the group's first input row.
fn group_row(mut key: Row, accs: &mut [Accumulator], first: Row) -> Result<Row> {
    key.reserve(accs.len() + first.len());
    for acc in accs {
        key.push(acc.finish()?);
    }
    key.extend(first);
    Ok(key)
}

impl AggOp {
    fn start(&mut self, env: &mut Env) -> Result<AggOut> {
        let Plan::Aggregate { input, group, aggs, input_width } = &*self.plan else {
            return Err(internal("aggregate"));
        };
        struct Group {
            accs: Vec<Accumulator>,
            first: Row,
        }
        let work = env.work;
        let budget = work.budget();
        let mut groups: HashMap<Vec<Value>, Group> = HashMap::new();
        let mut bytes = 0usize;
        let mut sorter: Option<Sorter> = None;
        let mut op = open(input);
        let mut args = Vec::new();
        let mut key: Vec<Value> = Vec::with_capacity(group.len());
        op.drain(env, &mut |env, row| {
            key.clear();
            for g in group {
                key.push(g.eval(row, env)?);
            }
            if let Some(g) = groups.get_mut(key.as_slice()) {
                return step_aggs(&mut g.accs, aggs, row, &mut args, env);
            }
            let key = core::mem::replace(&mut key, Vec::with_capacity(group.len()));
            let row = core::mem::take(row);
            if sorter.is_none() && (bytes <= budget / 2 || groups.is_empty()) {
                bytes += group_bytes(&key, &row, aggs.len());
                let mut accs = new_accs(aggs);
                step_aggs(&mut accs, aggs, &row, &mut args, env)?;
                groups.insert(key, Group { accs, first: row });
                return Ok(());
            }
            // Over budget: this group is aggregated after an external sort by key.
            work.note_buffered(bytes);
            let s = sorter.get_or_insert_with(|| Sorter::new(budget - budget / 2, None));
            let mut kb = Vec::new();
            spill::group_key(&mut kb, &key);
            let mut rec = key;
            rec.extend(row);
            s.push(work, kb, rec)
        })?;
        work.note_buffered(bytes);
        if groups.is_empty() && group.is_empty() {
            groups.insert(Vec::new(), Group { accs: new_accs(aggs), first: vec![Value::Null; *input_width] });
        }
        let mut sorted: Vec<(Vec<Value>, Group)> = groups.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut rows = Vec::with_capacity(sorted.len());
        for (key, mut g) in sorted {
            rows.push(group_row(key, &mut g.accs, g.first)?);
        }
        let spilled = match sorter {
            Some(s) => Some(Groups::new(s.finish(work)?)),
            None => None,
        };
        Ok(AggOut { mem: rows.into_iter().peekable(), spilled, next_spilled: None })
    }

    /// The next group of the spilled rows (records are `key values ++ input row`).
    fn next_spilled(&self, g: &mut Groups, env: &mut Env) -> Result<Option<Row>> {
        let Plan::Aggregate { group, aggs, .. } = &*self.plan else { return Err(internal("aggregate")) };
        let n = group.len();
        let Some((key, mut rec)) = g.first()? else { return Ok(None) };
        let body = spill::key_body(&key).to_vec();
        let mut accs = new_accs(aggs);
        let mut args = Vec::new();
        fn input(r: &[Value], n: usize) -> Result<&[Value]> {
            r.get(n..).ok_or_else(|| internal("short spilled group record"))
        }
        step_aggs(&mut accs, aggs, input(&rec, n)?, &mut args, env)?;
        while let Some((_, r)) = g.more(&body)? {
            step_aggs(&mut accs, aggs, input(&r, n)?, &mut args, env)?;
        }
        let first = rec.split_off(n);
        group_row(rec, &mut accs, first).map(Some)
    }
}

impl Op for AggOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>> {
        if self.out.is_none() {
            self.out = Some(self.start(env)?);
        }
        let Plan::Aggregate { group, .. } = &*self.plan else { return Err(internal("aggregate")) };
        let n = group.len();
        let mut out = self.out.take().ok_or_else(|| internal("aggregate state"))?;
        let r = (|| {
            if out.next_spilled.is_none() {
                if let Some(g) = &mut out.spilled {
                    out.next_spilled = self.next_spilled(g, env)?;
                    if out.next_spilled.is_none() {
                        out.spilled = None;
                    }
                }
            }
            // Both streams are in key order and share no key.
            let take_mem = match (out.mem.peek(), &out.next_spilled) {
                (Some(m), Some(s)) => m[..n] < s[..n],
                (Some(_), None) => true,
                (None, _) => false,
            };
            Ok(if take_mem { out.mem.next() } else { out.next_spilled.take() })
        })();
        self.out = Some(out);
        r
    }
}

/// DISTINCT: rows stream out as first seen while the set of seen rows fits half the budget;
/// after that, unseen rows are collected, deduplicated by an external sort on the row and
/// sorted back into arrival order, and follow at the end.
struct DistinctOp {
    input: Box<dyn Op>,
    seen: HashSet<Row>,
    bytes: usize,
    spill: Option<Sorter>,
    tail: Option<Sorted>,
}

impl Op for DistinctOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>> {
        let work = env.work;
        let budget = work.budget();
        loop {
            if let Some(t) = &mut self.tail {
                return Ok(t.next_entry()?.map(|(_, r)| r));
            }
            match self.input.next(env)? {
                Some(r) => {
                    if self.seen.contains(&r) {
                        continue;
                    }
                    if self.spill.is_none() && self.bytes <= budget / 2 {
                        self.bytes += 2 * spill::row_bytes(&r);
                        self.seen.insert(r.clone());
                        return Ok(Some(r));
                    }
                    work.note_buffered(self.bytes);
                    let s = self.spill.get_or_insert_with(|| Sorter::new(budget / 2, None));
                    let mut key = Vec::new();
                    spill::group_key(&mut key, &r);
                    s.push(work, key, r)?;
                }
                None => {
                    let Some(s) = self.spill.take() else { return Ok(None) };
                    self.seen = HashSet::new();
                    let mut groups = Groups::new(s.finish(work)?);
                    let mut order = Sorter::new(budget, None);
                    while let Some((k, r)) = groups.first()? {
                        let body = spill::key_body(&k).to_vec();
                        while groups.more(&body)?.is_some() {}
                        // Back to arrival order: the first copy's sequence number.
                        order.push(work, k[body.len()..].to_vec(), r)?;
                    }
                    drop(groups);
                    self.tail = Some(order.finish(work)?);
                }
            }
        }
    }
}

/// UNION ALL streams both sides; UNION, INTERSECT and EXCEPT sort both sides' rows (tagged
/// with their side) on the row and emit one row per group, in row order.
struct SetOp {
    plan: Arc<Plan>,
    /// UNION ALL: the side being read (the right one once the left is done).
    stream: Option<(Box<dyn Op>, bool)>,
    groups: Option<Groups>,
}

impl Op for SetOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>> {
        let Plan::Compound { op, left, right } = &*self.plan else { return Err(internal("compound")) };
        if *op == CompoundOp::UnionAll {
            loop {
                let (cur, on_right) = self.stream.get_or_insert_with(|| (open(left), false));
                if let Some(r) = cur.next(env)? {
                    return Ok(Some(r));
                }
                if *on_right {
                    return Ok(None);
                }
                self.stream = Some((open(right), true));
            }
        }
        if self.groups.is_none() {
            let work = env.work;
            let mut sorter = Sorter::new(work.budget(), None);
            for (side, plan) in [(0, left), (1, right)] {
                open(plan).drain(env, &mut |_, r| {
                    let mut key = Vec::new();
                    spill::group_key(&mut key, r);
                    let mut r = core::mem::take(r);
                    r.push(Value::Integer(side));
                    sorter.push(work, key, r)
                })?;
            }
            self.groups = Some(Groups::new(sorter.finish(work)?));
        }
        let g = self.groups.as_mut().ok_or_else(|| internal("compound state"))?;
        loop {
            // As SQLite's ephemeral tables do, a later equal row replaces an earlier one: UNION
            // keeps a group's last row, INTERSECT and EXCEPT its last left row.
            let Some((k, mut last)) = g.first()? else { return Ok(None) };
            let body = spill::key_body(&k).to_vec();
            let is_right = |r: &Row| matches!(r.last(), Some(Value::Integer(1)));
            let mut any_right = is_right(&last);
            let mut last_left = None;
            while let Some((_, r)) = g.more(&body)? {
                let prev = core::mem::replace(&mut last, r);
                if !is_right(&prev) {
                    last_left = Some(prev);
                }
                any_right |= is_right(&last);
            }
            if !is_right(&last) {
                last_left = Some(core::mem::take(&mut last));
            }
            let emit = match op {
                CompoundOp::Union => Some(last_left.filter(|_| !any_right).unwrap_or(last)),
                CompoundOp::Intersect => last_left.filter(|_| any_right),
                CompoundOp::Except => last_left.filter(|_| !any_right),
                CompoundOp::UnionAll => return Err(internal("union all")),
            };
            let emit = emit.map(|mut r| {
                r.pop();
                r
            });
            if let Some(r) = emit {
                return Ok(Some(r));
            }
        }
    }
}

struct LimitOp {
    plan: Arc<Plan>,
    input: Box<dyn Op>,
    left: Option<i64>,
    skip: i64,
}
impl Op for LimitOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Row>> {
        let Plan::Limit { limit, offset, .. } = &*self.plan else { return Err(internal("limit")) };
        if self.left.is_none() {
            let (l, o) = limit_values(limit, offset, env)?;
            self.left = Some(l);
            self.skip = o;
        }
        loop {
            if self.left == Some(0) {
                return Ok(None);
            }
            let Some(r) = self.input.next(env)? else { return Ok(None) };
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            if let Some(n) = self.left.as_mut() {
                if *n > 0 {
                    *n -= 1;
                }
            }
            return Ok(Some(r));
        }
    }
}

/// Lines describing a plan (EXPLAIN).
pub fn explain(plan: &Plan, depth: usize, out: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    let line = match plan {
        Plan::One => "ONE ROW".into(),
        Plan::Values(v) => alloc::format!("VALUES ({} rows)", v.len()),
        Plan::Rows(v) => alloc::format!("ROWS ({} rows)", v.len()),
        Plan::Scan(sp) => {
            let what = match (&sp.index, sp.keys.is_full()) {
                (None, true) => alloc::format!("SCAN {}", sp.table.name),
                (None, false) => alloc::format!("SEARCH {} USING PRIMARY KEY", sp.table.name),
                (Some(ix), full) => alloc::format!(
                    "{} {} USING {}INDEX {}",
                    if full { "SCAN" } else { "SEARCH" },
                    sp.table.name,
                    if sp.covering { "COVERING " } else { "" },
                    ix.name
                ),
            };
            let k = &sp.keys;
            let mut cons = Vec::new();
            if !k.eq.is_empty() {
                cons.push(alloc::format!("{} equality", k.eq.len()));
            }
            if let Some(l) = &k.in_list {
                cons.push(alloc::format!("IN list of {}", l.len()));
            }
            if k.lo.is_some() || k.hi.is_some() {
                cons.push("range".into());
            }
            if cons.is_empty() {
                what
            } else {
                alloc::format!("{what} ({})", cons.join(", "))
            }
        }
        Plan::Filter { .. } => "FILTER".into(),
        Plan::Project { .. } => "PROJECT".into(),
        Plan::NestedLoop { correlated, left_join, .. } => {
            alloc::format!(
                "{}NESTED LOOP{}",
                if *left_join { "LEFT " } else { "" },
                if *correlated { " (index lookup per row)" } else { "" }
            )
        }
        Plan::HashJoin { left_join, .. } => alloc::format!("{}HASH JOIN", if *left_join { "LEFT " } else { "" }),
        Plan::Aggregate { group, .. } => alloc::format!("AGGREGATE ({} group keys)", group.len()),
        Plan::Sort { .. } => "SORT".into(),
        Plan::Distinct { .. } => "DISTINCT".into(),
        Plan::Limit { .. } => "LIMIT".into(),
        Plan::Compound { op, .. } => alloc::format!("COMPOUND {op:?}"),
    };
    out.push(alloc::format!("{pad}{line}"));
    match plan {
        Plan::Filter { input, .. }
        | Plan::Project { input, .. }
        | Plan::Aggregate { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Distinct { input }
        | Plan::Limit { input, .. } => explain(input, depth + 1, out),
        Plan::NestedLoop { left, right, .. }
        | Plan::HashJoin { left, right, .. }
        | Plan::Compound { left, right, .. } => {
            explain(left, depth + 1, out);
            explain(right, depth + 1, out);
        }
        _ => {}
    }
}
