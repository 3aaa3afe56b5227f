//! Operators that sort or deduplicate rows, within the work-memory budget and spilling
//! through the external sorter of `spill` past it: ORDER BY (`SortOp`, a bounded top-k when
//! a LIMIT sits above), DISTINCT (`DistinctOp`) and UNION / INTERSECT / EXCEPT (`SetOp`).

use crate::error::Result;
use crate::sql::exec::eval::{internal, Env};
use crate::sql::exec::operators::{limit_values, open, Operator};
use crate::sql::exec::spill::{self, Groups, Sorted, Sorter};
use crate::sql::parser::ast::CompoundOp;
use crate::sql::planner::plan::Plan;
use crate::sql::types::collation::Coll;
use crate::sql::types::value::Tuple;
use crate::sql::types::value::Value;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use hashbrown::HashSet;

/// ORDER BY: an external sort on the terms' sort keys (a top-k when a LIMIT sits above).
pub(super) struct SortOp {
    pub(super) plan: Arc<Plan>,
    /// The LIMIT node over this sort (through projections), if any.
    pub(super) limit: Option<Arc<Plan>>,
    pub(super) out: Option<Sorted>,
}

impl Operator for SortOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
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
            // One key buffer for all rows: the sorter takes it (and the row) only for the rows
            // it keeps, so under a LIMIT the rows it drops cost no allocation.
            let mut key = Vec::new();
            open(input).drain(env, &mut |env, r| {
                for k in keys {
                    spill::sort_key(&mut key, &k.expr.eval(r, env)?, k.desc, k.nulls_first, k.coll);
                }
                sorter.offer(work, &mut key, r)
            })?;
            self.out = Some(sorter.finish(work)?);
        }
        match &mut self.out {
            Some(s) => Ok(s.next_entry()?.map(|(_, r)| r)),
            None => Ok(None),
        }
    }
}

/// DISTINCT: rows stream out as first seen while the set of seen rows fits half the budget;
/// after that, unseen rows are collected, deduplicated by an external sort on the row and
/// sorted back into arrival order, and follow at the end.
pub(super) struct DistinctOp {
    /// The DISTINCT node (its column collations).
    pub(super) plan: Arc<Plan>,
    pub(super) input: Box<dyn Operator>,
    pub(super) seen: HashSet<Tuple>,
    pub(super) bytes: usize,
    pub(super) spill: Option<Sorter>,
    pub(super) tail: Option<Sorted>,
}

impl Operator for DistinctOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
        let work = env.work;
        let budget = work.budget();
        let Plan::Distinct { colls, .. } = &*self.plan else { return Err(internal("distinct")) };
        // Under collations other than BINARY, rows are told apart by their folded values.
        let fold = !Coll::all_binary(colls);
        loop {
            if let Some(t) = &mut self.tail {
                return Ok(t.next_entry()?.map(|(_, r)| r));
            }
            match self.input.next(env)? {
                Some(r) => {
                    let folded = fold.then(|| Coll::row_key(colls, &r));
                    let k = folded.as_ref().unwrap_or(&r);
                    if self.seen.contains(k) {
                        continue;
                    }
                    if self.spill.is_none() && self.bytes <= budget / 2 {
                        self.bytes += 2 * spill::row_bytes(&r);
                        self.seen.insert(folded.unwrap_or_else(|| r.clone()));
                        if !fold {
                            // The input may step over the rows equal to this one.
                            let cols: Vec<(usize, &Value)> = r.iter().enumerate().collect();
                            self.input.skip_past(env, &cols)?;
                        }
                        return Ok(Some(r));
                    }
                    work.note_buffered(self.bytes);
                    let s = self.spill.get_or_insert_with(|| Sorter::new(budget / 2, None));
                    let mut key = Vec::new();
                    spill::group_key(&mut key, k);
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
/// with their side) on the row and emit one row per group, in row order (INTERSECT and EXCEPT
/// do not run the right side when the left one has no rows).
pub(super) struct SetOp {
    pub(super) plan: Arc<Plan>,
    /// UNION ALL: the side being read (the right one once the left is done).
    pub(super) stream: Option<(Box<dyn Operator>, bool)>,
    pub(super) groups: Option<Groups>,
}

impl Operator for SetOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
        let Plan::Compound { op, left, right, colls } = &*self.plan else { return Err(internal("compound")) };
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
            let mut left_rows = false;
            for (side, plan) in [(0, left), (1, right)] {
                // As SQLite's merge of a compound does, INTERSECT and EXCEPT of an empty left
                // side never run the right one (nor meet its errors).
                if side == 1 && !left_rows && matches!(op, CompoundOp::Intersect | CompoundOp::Except) {
                    break;
                }
                let fold = !Coll::all_binary(colls);
                open(plan).drain(env, &mut |_, r| {
                    left_rows |= side == 0;
                    let mut key = Vec::new();
                    if fold {
                        spill::group_key(&mut key, &Coll::row_key(colls, r));
                    } else {
                        spill::group_key(&mut key, r);
                    }
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
            let is_right = |r: &Tuple| matches!(r.last(), Some(Value::Integer(1)));
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
