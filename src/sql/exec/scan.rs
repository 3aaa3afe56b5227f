//! Table and index scans (`ScanOp`): the key ranges a scan visits are computed from its
//! `KeySpec` when it opens (equalities on a key prefix, an IN list or a range on the next
//! key column, with the column's affinity applied first), then read through
//! [`Txn`] in batches that continue after the last key, so no engine
//! borrow outlives a call. Index scans fetch the row unless the index covers the query.
//! Also here: decoding a stored row into a `Tuple`, and the row key behind an index entry.

use crate::error::{Error, Result};
use crate::sql::catalog::{IndexDef, PrimaryKey, TableDef};
use crate::sql::exec::eval::{internal, Env};
use crate::sql::exec::operators::Operator;
use crate::sql::planner::expr::conv;
use crate::sql::planner::plan::{Plan, ScanPlan};
use crate::sql::storage::{KeyRange, Txn};
use crate::sql::types::collation::Coll;
use crate::sql::types::encoding::{
    self, decode_key, encode_key_prefix, encode_prefix_of, invert, prefix_successor, rowid_key,
};
use crate::sql::types::value::Tuple;
use crate::sql::types::value::{Affinity, Value, TWO_63};
use alloc::collections::{BTreeSet, VecDeque};
use alloc::sync::Arc;

use alloc::vec::Vec;
use core::ops::Bound;

// ---------------------------------------------------------------------------------------
// Scans

pub(super) struct ScanState {
    ranges: VecDeque<KeyRange>,
    /// Rows decoded from the last batch.
    buf: VecDeque<Tuple>,
    cur: Option<KeyRange>,
    batch: usize,
    /// Entries still to step over without decoding (OFFSET).
    skip: u64,
    /// The row each entry is decoded into before the filter reads it: rows the filter drops
    /// leave their text and blob buffers to the next entry.
    scratch: Tuple,
}

/// A scan, and the filter right above it in the plan when there is one (`Plan::Filter` over
/// `Plan::Scan`): the filter runs on each entry as it is decoded, so a row it drops is never
/// queued or copied.
pub(super) struct ScanOp {
    pub(super) plan: Arc<Plan>,
    pub(super) state: Option<ScanState>,
    pub(super) filter: Option<Arc<Plan>>,
}

/// The predicate of a fused filter node.
fn filter_pred(filter: &Option<Arc<Plan>>) -> Option<&crate::sql::planner::expr::CExpr> {
    match filter.as_deref() {
        Some(Plan::Filter { pred, .. }) => Some(pred),
        _ => None,
    }
}

/// The key columns a scan's KeySpec refers to: (affinity, desc). For a table's own storage
/// of a rowid table this is the rowid alone (`None` affinity marks "rowid").
fn key_columns(table: &TableDef, index: Option<&IndexDef>) -> Vec<(Option<Affinity>, bool, Coll)> {
    let aff = |c: usize| Some(table.columns[c].affinity);
    let coll = |colls: &[Coll], i: usize| colls.get(i).copied().unwrap_or(Coll::Binary);
    let pk = |v: &mut Vec<_>| match &table.pk {
        PrimaryKey::Rowid { .. } => v.push((None, false, Coll::Binary)),
        PrimaryKey::Columns(cols) => {
            v.extend(cols.iter().enumerate().map(|(i, (c, d))| (aff(*c), *d, coll(&table.pk_colls, i))))
        }
    };
    let mut v = Vec::new();
    if let Some(ix) = index {
        v.extend(ix.columns.iter().enumerate().map(|(i, (c, d))| (aff(*c), *d, coll(&ix.colls, i))));
    }
    pk(&mut v);
    v
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

pub(super) trait TextNum {
    fn to_numeric_if_text(self) -> Value;
}
impl TextNum for Value {
    fn to_numeric_if_text(self) -> Value {
        match self {
            Value::Text(s) => {
                crate::sql::types::value::parse_number(crate::sql::types::value::before_nul(s.as_bytes()))
                    .unwrap_or(Value::Text(s))
            }
            v => v,
        }
    }
}

/// The key-encoded prefix of one column's value (inverted for DESC). For rowid columns the
/// 8-byte rowid key; None when the value cannot match any row (NULL, or a non-integer rowid).
fn col_prefix(v: &Value, aff: Option<Affinity>, desc: bool, coll: Coll) -> Option<Vec<u8>> {
    if v.is_null() {
        return None;
    }
    match aff {
        None => rowid_of(v).map(|i| rowid_key(i).to_vec()),
        Some(a) => {
            let v = conv(v.clone(), Some(a));
            let mut out = Vec::new();
            encode_key_prefix(&mut out, &coll.key(&v));
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
    coll: Coll,
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
        encode_key_prefix(&mut k, &coll.key(&conv(v.clone(), Some(aff))));
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

/// One key range per distinct probe value on the column after `prefix` (an IN list, an IN
/// subquery's values), in key order; values no key can hold (NULL) have none.
fn probe_ranges(
    prefix: &[u8],
    values: &[Value],
    aff: Option<Affinity>,
    desc: bool,
    coll: Coll,
) -> impl Iterator<Item = KeyRange> {
    let mut keys = BTreeSet::new();
    for v in values {
        if let Some(p) = col_prefix(v, aff, desc, coll) {
            let mut full = prefix.to_vec();
            full.extend_from_slice(&p);
            keys.insert(full);
        }
    }
    keys.into_iter().map(prefix_range)
}

/// The key ranges holding every value a LIKE (`glob` false, keys under NOCASE) or GLOB
/// (keys under BINARY) pattern can match, after `prefix`: the values beginning with the
/// pattern's literal prefix, as text and as blobs (which both operators read as text; under
/// LIKE blobs are not folded, so every blob). The whole column when the pattern has no
/// literal prefix or is not text (the filter decides).
fn like_ranges(prefix: &[u8], pattern: &Value, glob: bool, desc: bool, coll: Coll) -> Vec<KeyRange> {
    let Value::Text(p) = pattern else { return alloc::vec![prefix_range(prefix.to_vec())] };
    let wild: &[u8] = if glob { b"*?[" } else { b"%_" };
    // Only the ASCII part of the literal prefix: text that is not UTF-8 can read as a non-ASCII
    // character through other bytes (an overlong form, a stray continuation byte), but an ASCII
    // character only through its own byte.
    let lit = p.as_bytes().split(|c| wild.contains(c) || !c.is_ascii()).next().unwrap_or_default();
    if lit.is_empty() {
        return alloc::vec![prefix_range(prefix.to_vec())];
    }
    let lit = coll.key(&Value::Text(crate::sql::types::text::Text::from_bytes(lit.to_vec()))).into_owned();
    let Value::Text(lit) = lit else { return alloc::vec![prefix_range(prefix.to_vec())] };
    let mut out = Vec::new();
    for blob in [false, true] {
        let mut k = prefix.to_vec();
        let start = k.len();
        encode_prefix_of(&mut k, if blob && !glob { b"" } else { lit.as_bytes() }, blob);
        if desc {
            invert(&mut k[start..]);
        }
        out.push(prefix_range(k));
    }
    // Text keys sort before blob keys; inverted, after.
    if desc {
        out.reverse();
    }
    out
}

/// Evaluate a scan's key spec into concrete key ranges, in scan order.
fn scan_ranges(sp: &ScanPlan, env: &mut Env) -> Result<Vec<KeyRange>> {
    let cols = key_columns(&sp.table, sp.index.as_deref());
    let k = &sp.keys;
    let mut prefix = Vec::new();
    for (i, e) in k.eq.iter().enumerate() {
        let (aff, desc, coll) = cols.get(i).copied().ok_or_else(|| internal("key spec"))?;
        let Some(e) = e else {
            // IS NULL: the NULL key of a (never rowid) column.
            encoding::encode_key_dir(&mut prefix, &Value::Null, desc);
            continue;
        };
        match col_prefix(&e.eval(&[], env)?, aff, desc, coll) {
            Some(p) => prefix.extend_from_slice(&p),
            None => return Ok(Vec::new()),
        }
    }
    let next = cols.get(k.eq.len()).copied();
    let mut ranges = Vec::new();
    let sub = match &k.in_sub {
        Some(e) => crate::sql::exec::eval::sub_values(e, env)?,
        None => None,
    };
    if let Some((values, sub_coll)) = sub {
        let (aff, desc, coll) = next.ok_or_else(|| internal("key spec"))?;
        if aff.is_some() && sub_coll != coll {
            // Values compared under another collation than the keys': read the column.
            ranges.push(prefix_range(prefix));
        } else {
            ranges.extend(probe_ranges(&prefix, &values, aff, desc, coll));
        }
    } else if let Some((pat, glob)) = k.like.as_deref() {
        let (_, desc, coll) = next.ok_or_else(|| internal("key spec"))?;
        ranges.extend(like_ranges(&prefix, &pat.eval(&[], env)?, *glob, desc, coll));
    } else if let Some(list) = &k.in_list {
        let (aff, desc, coll) = next.ok_or_else(|| internal("key spec"))?;
        let values = list.iter().map(|e| e.eval(&[], env)).collect::<Result<Vec<_>>>()?;
        ranges.extend(probe_ranges(&prefix, &values, aff, desc, coll));
    } else if k.lo.is_some() || k.hi.is_some() || k.not_null {
        let (aff, desc, coll) = next.ok_or_else(|| internal("key spec"))?;
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
            Some(a) => encoded_range(&prefix, a, desc, coll, lo, hi),
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
/// Decode a stored row (record + key) into the scan row layout: the columns, then the rowid
/// for rowid tables.
pub fn decode_table_row(table: &TableDef, key: &[u8], record: &[u8]) -> Result<Tuple> {
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
    row: &mut Tuple,
) -> Result<()> {
    // Over the row's previous values: their text and blob buffers are reused.
    encoding::decode_row_reusing(record, needed, row)?;
    if row.len() > table.columns.len() {
        return Err(Error::Corrupted { page: 0, reason: alloc::format!("row of {} has too many columns", table.name) });
    }
    while row.len() < table.columns.len() {
        row.push(table.columns[row.len()].absent.clone());
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
        let pred = filter_pred(&self.filter);
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
                    if st.skip > 0 {
                        st.skip -= txn.with_value(storage, &k, &mut |_| Ok(()))? as u64;
                        continue;
                    }
                    if txn.with_value(storage, &k, &mut |rec| {
                        decode_table_row_into(t, &k, rec, sp.needed.as_deref(), &mut row)
                    })? && pred.map_or(Ok(true), |p| p.test(&row, env))?
                    {
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
            let skip = &mut st.skip;
            let scratch = &mut st.scratch;
            // Entries an OFFSET steps over are counted, not decoded.
            let batch = if *skip > 0 { st.batch.max((*skip).min(1024) as usize) } else { st.batch };
            let done =
                txn.scan_each(storage, (as_ref(start), as_ref(end)), sp.reverse, batch, &mut last, &mut |k, v| {
                    if *skip > 0 {
                        *skip -= 1;
                    } else {
                        make_row_into(sp, txn, k, v, scratch)?;
                        if pred.map_or(Ok(true), |p| p.test(scratch, env))? {
                            buf.push_back(core::mem::take(scratch));
                        }
                    }
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

/// The scan row of one engine entry into `row` (for a non-covering index scan, the table
/// row it points at), over `row`'s previous values.
fn make_row_into(sp: &ScanPlan, txn: &Txn, key: &[u8], val: &[u8], row: &mut Tuple) -> Result<()> {
    let t = &sp.table;
    let needed = sp.needed.as_deref();
    let Some(ix) = &sp.index else { return decode_table_row_into(t, key, val, needed, row) };
    if sp.covering {
        row.clear();
        row.resize(t.row_width(), Value::Null);
        // The indexed values, decoded straight into their row positions.
        let mut at = 0;
        let binary = |colls: &[Coll], i: usize| colls.get(i).is_none_or(|c| *c == Coll::Binary);
        for (i, (c, desc)) in ix.columns.iter().enumerate() {
            let (v, used) = decode_key(key.get(at..).unwrap_or_default(), *desc)?;
            at += used;
            // Keys do not tell 1 from 1.0: the column affinity restores the stored type
            // (the planner does not cover columns without a type, where both can occur). A
            // key column under NOCASE or RTRIM holds the value folded, not the value: it is
            // left out (the planner covers such a column only from a BINARY key column,
            // which may be a primary key column of the row key, or an index column).
            if binary(&ix.colls, i) {
                row[*c] = t.columns[*c].affinity.apply(v);
            }
        }
        let rk = key.get(at..).unwrap_or_default();
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
                for (i, (c, v)) in pk.into_iter().enumerate() {
                    if binary(&t.pk_colls, i) {
                        row[c] = t.columns[c].affinity.apply(v);
                    }
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

impl ScanOp {
    /// The scan's state, its key ranges evaluated on first use, reading `batch` entries at
    /// first.
    fn state(&mut self, env: &mut Env, batch: usize) -> Result<&mut ScanState> {
        if self.state.is_none() {
            let Plan::Scan(sp) = &*self.plan else { return Err(internal("scan")) };
            let ranges = scan_ranges(sp, env)?.into();
            self.state =
                Some(ScanState { ranges, buf: VecDeque::new(), cur: None, batch, skip: 0, scratch: Vec::new() });
        }
        self.state.as_mut().ok_or_else(|| internal("scan state"))
    }

    /// The leading key columns of this index scan that are exactly the hinted `cols`, all
    /// compared BINARY, with the encoded key prefix every entry holding `cols`' values on them
    /// starts with.
    fn distinct_prefix<'p>(sp: &'p ScanPlan, cols: &[(usize, &Value)]) -> Option<(KeyCols<'p>, Vec<u8>)> {
        let ix = sp.index.as_ref()?;
        let k = cols.len();
        if k == 0 || k > ix.columns.len() || ix.colls.iter().take(k).any(|c| *c != Coll::Binary) {
            return None;
        }
        let key_cols = &ix.columns[..k];
        // Each hinted column is one of those key columns (no other column tells rows apart).
        if !cols.iter().all(|(p, _)| key_cols.iter().any(|(c, _)| c == p)) {
            return None;
        }
        let prefix = key_prefix(key_cols, |c| cols.iter().find(|(p, _)| *p == c).map(|(_, v)| *v))?;
        Some((key_cols, prefix))
    }
}

/// Key columns of an index: (row position, descending).
type KeyCols<'a> = &'a [(usize, bool)];

/// The key encoding of the values of `key_cols` (row position, descending), each looked up by
/// its row position; None when one is missing.
fn key_prefix<'v>(key_cols: &[(usize, bool)], value: impl Fn(usize) -> Option<&'v Value>) -> Option<Vec<u8>> {
    let mut k = Vec::new();
    for (c, desc) in key_cols {
        encoding::encode_key_dir(&mut k, value(*c)?, *desc);
    }
    Some(k)
}

impl Operator for ScanOp {
    fn skip_past(&mut self, _env: &mut Env, cols: &[(usize, &Value)]) -> Result<()> {
        let Plan::Scan(sp) = &*self.plan else { return Err(internal("scan")) };
        let Some((key_cols, prefix)) = Self::distinct_prefix(sp, cols) else { return Ok(()) };
        let Some(st) = self.state.as_mut() else { return Ok(()) };
        if st.skip > 0 {
            return Ok(());
        }
        // Buffered duplicates go; if the next value is already buffered, nothing else to do.
        while st.buf.front().is_some_and(|r| key_prefix(key_cols, |c| r.get(c)).as_ref() == Some(&prefix)) {
            st.buf.pop_front();
        }
        if !st.buf.is_empty() {
            return Ok(());
        }
        // Otherwise the cursor moves past every key starting with the prefix.
        let Some((start, end)) = st.cur.as_mut() else { return Ok(()) };
        if sp.reverse {
            *end = Bound::Excluded(prefix);
        } else {
            match encoding::prefix_successor(&prefix) {
                Some(next) => *start = Bound::Included(next),
                None => st.cur = None,
            }
        }
        if let Some((start, end)) = &st.cur {
            let empty = match (start, end) {
                (Bound::Included(s) | Bound::Excluded(s), Bound::Included(e)) => s > e,
                (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
                _ => false,
            };
            if empty {
                st.cur = None;
            }
        }
        // Small batches again: the next value may be near.
        st.batch = 16;
        Ok(())
    }

    fn skip(&mut self, env: &mut Env, mut n: u64) -> Result<()> {
        if self.filter.is_some() {
            // Only rows the filter keeps count: read them.
            while n > 0 && self.next(env)?.is_some() {
                n -= 1;
            }
            return Ok(());
        }
        let st = self.state(env, 16)?;
        while n > 0 && st.buf.pop_front().is_some() {
            n -= 1;
        }
        st.skip += n;
        Ok(())
    }

    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
        // Point lookups fetch a single row: start small, then grow.
        self.state(env, 16)?;
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

    fn drain(&mut self, env: &mut Env, f: &mut dyn FnMut(&mut Env, &mut Tuple) -> Result<()>) -> Result<()> {
        // Rows still to skip: the row-at-a-time path knows how.
        if self.state.as_ref().is_some_and(|s| s.skip > 0) {
            while let Some(mut r) = self.next(env)? {
                f(env, &mut r)?;
            }
            return Ok(());
        }
        self.state(env, 1024)?;
        let Plan::Scan(sp) = &*self.plan else { return Err(internal("scan")) };
        let pred = filter_pred(&self.filter);
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
                    if pred.map_or(Ok(true), |p| p.test(&row, env))? {
                        f(env, &mut row)?;
                    }
                    Ok(())
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
