//! The operator protocol and the simple operators.
//!
//! A plan is immutable and shared (`Arc`), so a prepared statement keeps it across runs;
//! [`open`] instantiates fresh operator state for one run, choosing the operator for each
//! plan node (the scans, joins, grouping and sorting live in their own files). Operators pull
//! rows from their inputs one at a time ([`Operator::next`]). Here: the one-row and VALUES
//! sources, filter and projection (`MapOp`) and LIMIT / OFFSET.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use hashbrown::HashSet;

use crate::error::{Error, Result};
use crate::sql::exec::aggregate::{AggOp, CountOp, StreamAggOp};
use crate::sql::exec::eval::{internal, Env};
use crate::sql::exec::join::{HashOp, LoopOp};
use crate::sql::exec::scan::{ScanOp, TextNum};
use crate::sql::exec::sort::{DistinctOp, SetOp, SortOp};
use crate::sql::planner::expr::CExpr;
use crate::sql::planner::plan::Plan;
use crate::sql::types::value::Tuple;
use crate::sql::types::value::Value;

/// A running operator.
pub trait Operator {
    /// The next row, or None at the end.
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>>;

    /// Drop the next `n` rows (OFFSET). By default they are read and dropped; a projection
    /// passes the skip down without computing its columns (SQLite does not compute the
    /// result columns of the rows OFFSET skips either), and a scan steps over them without
    /// decoding them.
    fn skip(&mut self, env: &mut Env, n: u64) -> Result<()> {
        read_and_drop(self, env, n)
    }

    /// Feed every remaining row to `f`, which may take the row (`mem::take`) or leave it:
    /// operators that can reuse one row buffer (scans, filters) then do, which spares an
    /// allocation per row for consumers that only read rows (grouping).
    fn drain(&mut self, env: &mut Env, f: &mut dyn FnMut(&mut Env, &mut Tuple) -> Result<()>) -> Result<()> {
        while let Some(mut r) = self.next(env)? {
            f(env, &mut r)?;
        }
        Ok(())
    }

    /// A hint from DISTINCT, which just returned a row: `cols` are that row's values by their
    /// position in this operator's rows, and every later row equal to it on them (as keys
    /// compare: BINARY, 1 = 1.0) is a duplicate the caller will drop. An index scan whose
    /// leading key columns are exactly these steps over such rows with one seek instead of
    /// reading them (a loose index scan); a projection of plain columns and a filter pass the
    /// hint down; any other operator ignores it.
    fn skip_past(&mut self, _env: &mut Env, _cols: &[(usize, &Value)]) -> Result<()> {
        Ok(())
    }
}

/// Read the next `n` rows of `op` and drop them (fewer at its end).
fn read_and_drop<O: Operator + ?Sized>(op: &mut O, env: &mut Env, n: u64) -> Result<()> {
    for _ in 0..n {
        if op.next(env)?.is_none() {
            break;
        }
    }
    Ok(())
}

/// Instantiate operators for one run of `plan`.
pub fn open(plan: &Arc<Plan>) -> Box<dyn Operator> {
    match &**plan {
        Plan::One => Box::new(OneOp(true)),
        Plan::Values(_) | Plan::Rows(_) => Box::new(ValuesOp { plan: plan.clone(), at: 0 }),
        Plan::Scan(_) => Box::new(ScanOp { plan: plan.clone(), state: None, filter: None }),
        // A filter right over a scan runs inside it (`ScanOp`).
        Plan::Filter { input, .. } if matches!(**input, Plan::Scan(_)) => {
            Box::new(ScanOp { plan: input.clone(), state: None, filter: Some(plan.clone()) })
        }
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
        Plan::Aggregate { input, sorted: true, .. } => {
            Box::new(StreamAggOp { plan: plan.clone(), input: open(input), cur: None })
        }
        Plan::Aggregate { .. } => Box::new(AggOp { plan: plan.clone(), out: None }),
        Plan::Count { .. } => Box::new(CountOp { plan: plan.clone(), done: false }),
        Plan::OrScan { .. } => Box::new(OrScanOp { plan: plan.clone(), at: 0, cur: None, seen: HashSet::new() }),
        Plan::Sort { .. } => Box::new(SortOp { plan: plan.clone(), limit: None, out: None }),
        Plan::Compound { .. } => Box::new(SetOp { plan: plan.clone(), stream: None, groups: None }),
        Plan::Distinct { input, .. } => Box::new(DistinctOp {
            plan: plan.clone(),
            input: open(input),
            seen: HashSet::new(),
            bytes: 0,
            spill: None,
            tail: None,
        }),
        Plan::Limit { input, .. } => {
            Box::new(LimitOp { plan: plan.clone(), input: open_limited(input, plan), left: None })
        }
    }
}

/// Open the input of a LIMIT node: a sort reached through projections (which map rows one
/// to one) learns the limit, to keep only the rows it can return.
fn open_limited(plan: &Arc<Plan>, limit: &Arc<Plan>) -> Box<dyn Operator> {
    match &**plan {
        Plan::Sort { .. } => Box::new(SortOp { plan: plan.clone(), limit: Some(limit.clone()), out: None }),
        Plan::Project { input, .. } => Box::new(MapOp { plan: plan.clone(), input: open_limited(input, limit) }),
        _ => open(plan),
    }
}

struct OneOp(bool);
impl Operator for OneOp {
    fn next(&mut self, _: &mut Env) -> Result<Option<Tuple>> {
        Ok(core::mem::take(&mut self.0).then(Vec::new))
    }
}

struct ValuesOp {
    plan: Arc<Plan>,
    at: usize,
}
impl Operator for ValuesOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
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
    input: Box<dyn Operator>,
}
impl Operator for MapOp {
    fn skip(&mut self, env: &mut Env, n: u64) -> Result<()> {
        match &*self.plan {
            Plan::Project { .. } => self.input.skip(env, n),
            _ => read_and_drop(self, env, n),
        }
    }

    fn skip_past(&mut self, env: &mut Env, cols: &[(usize, &Value)]) -> Result<()> {
        match &*self.plan {
            Plan::Filter { .. } => self.input.skip_past(env, cols),
            Plan::Project { exprs, .. } => {
                // Only when each hinted output is a plain input column.
                let mut down = Vec::with_capacity(cols.len());
                for (i, v) in cols {
                    match exprs.get(*i) {
                        Some(CExpr::Col { depth: 0, idx }) => down.push((*idx as usize, *v)),
                        _ => return Ok(()),
                    }
                }
                self.input.skip_past(env, &down)
            }
            _ => Ok(()),
        }
    }

    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
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

    fn drain(&mut self, env: &mut Env, f: &mut dyn FnMut(&mut Env, &mut Tuple) -> Result<()>) -> Result<()> {
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
// Grouping, sorting, DISTINCT, set operations: rows held against the work-memory budget,
// spilled through the external sorter of `spill` (exec::spill) past it.

/// LIMIT and OFFSET values (-1: no limit; offset at least 0).
pub(super) fn limit_values(limit: &Option<CExpr>, offset: &Option<CExpr>, env: &mut Env) -> Result<(i64, i64)> {
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

struct LimitOp {
    plan: Arc<Plan>,
    input: Box<dyn Operator>,
    left: Option<i64>,
}
impl Operator for LimitOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
        let Plan::Limit { limit, offset, .. } = &*self.plan else { return Err(internal("limit")) };
        if self.left.is_none() {
            let (l, o) = limit_values(limit, offset, env)?;
            self.left = Some(l);
            if o > 0 && l != 0 {
                self.input.skip(env, o as u64)?;
            }
        }
        if self.left == Some(0) {
            return Ok(None);
        }
        let Some(r) = self.input.next(env)? else { return Ok(None) };
        if let Some(n) = self.left.as_mut() {
            if *n > 0 {
                *n -= 1;
            }
        }
        Ok(Some(r))
    }
}

/// The union of an OR's scans: each branch in turn, skipping rows whose key an earlier
/// branch (or this one) already gave.
struct OrScanOp {
    plan: Arc<Plan>,
    /// The branch being read.
    at: usize,
    cur: Option<Box<dyn Operator>>,
    /// Row keys emitted so far.
    seen: HashSet<Vec<Value>>,
}

impl Operator for OrScanOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
        let Plan::OrScan { branches, key } = &*self.plan else { return Err(internal("or scan")) };
        loop {
            let Some(op) = self.cur.as_mut() else {
                let Some(b) = branches.get(self.at) else { return Ok(None) };
                self.cur = Some(open(b));
                self.at += 1;
                continue;
            };
            let Some(row) = op.next(env)? else {
                self.cur = None;
                continue;
            };
            let mut k = Vec::with_capacity(key.len());
            for (pos, coll) in key {
                let v = row.get(*pos).ok_or_else(|| internal("or scan row key"))?;
                k.push(coll.key(v).into_owned());
            }
            if self.seen.insert(k) {
                return Ok(Some(row));
            }
        }
    }
}
