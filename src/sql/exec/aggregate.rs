//! GROUP BY and aggregates. `AggOp`: a hash table of groups while it fits half the budget,
//! then an external sort on the group key for the rest, aggregated as a stream and merged in
//! key order with the in-memory groups. `StreamAggOp`: input that arrives grouped (in index
//! order) is aggregated one group at a time, each emitted as the next begins. `CountOp`:
//! `count(*)` of a whole table from the engine's entry count.

use crate::error::Result;
use crate::sql::exec::eval::{internal, Env};
use crate::sql::exec::operators::{open, Operator};
use crate::sql::exec::spill::{self, Groups, Sorter};
use crate::sql::planner::plan::{AggSpec, Plan};
use crate::sql::types::collation::Coll;
use crate::sql::types::functions::Accumulator;
use crate::sql::types::value::Tuple;
use crate::sql::types::value::Value;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use hashbrown::HashMap;

/// GROUP BY: a hash table of groups while it fits half the budget; rows of groups not in it
/// by then go to an external sort on the group key and are aggregated as a stream, merged in
/// key order with the table's groups.
pub(super) struct AggOp {
    pub(super) plan: Arc<Plan>,
    pub(super) out: Option<AggOut>,
}

pub(super) struct AggOut {
    /// Finished rows of the in-memory groups, in key order.
    mem: core::iter::Peekable<alloc::vec::IntoIter<Tuple>>,
    /// The spilled groups.
    spilled: Option<Groups>,
    /// The next finished spilled group.
    next_spilled: Option<Tuple>,
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
    aggs.iter().map(|a| Accumulator::new(a.kind, a.distinct).with_collation(a.coll)).collect()
}

/// The output row of a group: key values, aggregate results, the group's first input row.
fn group_row(mut key: Tuple, accs: &mut [Accumulator], first: Tuple) -> Result<Tuple> {
    key.reserve(accs.len() + first.len());
    for acc in accs {
        key.push(acc.finish()?);
    }
    key.extend(first);
    Ok(key)
}

impl AggOp {
    fn start(&mut self, env: &mut Env) -> Result<AggOut> {
        let Plan::Aggregate { input, group, group_colls, aggs, input_width, .. } = &*self.plan else {
            return Err(internal("aggregate"));
        };
        struct Group {
            accs: Vec<Accumulator>,
            first: Tuple,
            /// The group's values when the key holds them folded by a collation (those of
            /// the group's first row).
            vals: Option<Tuple>,
        }
        // Under a collation other than BINARY, groups are keyed by the folded values.
        let fold = !Coll::all_binary(group_colls);
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
            let folded = fold.then(|| Coll::row_key(group_colls, &key));
            if let Some(g) = groups.get_mut(folded.as_deref().unwrap_or(key.as_slice())) {
                return step_aggs(&mut g.accs, aggs, row, &mut args, env);
            }
            let vals = core::mem::replace(&mut key, Vec::with_capacity(group.len()));
            let (key, vals) = match folded {
                Some(f) => (f, Some(vals)),
                None => (vals, None),
            };
            let row = core::mem::take(row);
            if sorter.is_none() && (bytes <= budget / 2 || groups.is_empty()) {
                bytes += group_bytes(&key, &row, aggs.len());
                let mut accs = new_accs(aggs);
                step_aggs(&mut accs, aggs, &row, &mut args, env)?;
                groups.insert(key, Group { accs, first: row, vals });
                return Ok(());
            }
            // Over budget: this group is aggregated after an external sort by key.
            work.note_buffered(bytes);
            let s = sorter.get_or_insert_with(|| Sorter::new(budget - budget / 2, None));
            let mut kb = Vec::new();
            spill::group_key(&mut kb, &key);
            let mut rec = vals.unwrap_or(key);
            rec.extend(row);
            s.push(work, kb, rec)
        })?;
        work.note_buffered(bytes);
        if groups.is_empty() && group.is_empty() {
            groups
                .insert(Vec::new(), Group { accs: new_accs(aggs), first: vec![Value::Null; *input_width], vals: None });
        }
        let mut sorted: Vec<(Vec<Value>, Group)> = groups.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut rows = Vec::with_capacity(sorted.len());
        for (key, mut g) in sorted {
            rows.push(group_row(g.vals.unwrap_or(key), &mut g.accs, g.first)?);
        }
        let spilled = match sorter {
            Some(s) => Some(Groups::new(s.finish(work)?)),
            None => None,
        };
        Ok(AggOut { mem: rows.into_iter().peekable(), spilled, next_spilled: None })
    }

    /// The next group of the spilled rows (records are `key values ++ input row`).
    fn next_spilled(&self, g: &mut Groups, env: &mut Env) -> Result<Option<Tuple>> {
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

impl Operator for AggOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
        if self.out.is_none() {
            self.out = Some(self.start(env)?);
        }
        let Plan::Aggregate { group, group_colls, .. } = &*self.plan else { return Err(internal("aggregate")) };
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
                (Some(m), Some(s)) => Coll::row_key(group_colls, &m[..n]) < Coll::row_key(group_colls, &s[..n]),
                (Some(_), None) => true,
                (None, _) => false,
            };
            Ok(if take_mem { out.mem.next() } else { out.next_spilled.take() })
        })();
        self.out = Some(out);
        r
    }
}

/// The group being aggregated by a [`StreamAggOp`].
pub(super) struct Current {
    /// The group key (folded by the group collations).
    key: Tuple,
    /// The group's values (those of its first row).
    vals: Tuple,
    accs: Vec<Accumulator>,
    first: Tuple,
}

/// GROUP BY over input that arrives grouped: rows with equal keys (under the group
/// collations) are adjacent, so one group is held at a time and the output follows the
/// input's order. Nothing is buffered: under a LIMIT only the groups returned are read.
pub(super) struct StreamAggOp {
    pub(super) plan: Arc<Plan>,
    pub(super) input: alloc::boxed::Box<dyn Operator>,
    /// The open group; `None` before the first row and after the end.
    pub(super) cur: Option<Current>,
}

impl Operator for StreamAggOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
        let Plan::Aggregate { group, group_colls, aggs, .. } = &*self.plan else {
            return Err(internal("aggregate"));
        };
        let fold = !Coll::all_binary(group_colls);
        let mut args = Vec::new();
        let mut vals = Vec::with_capacity(group.len());
        loop {
            let Some(row) = self.input.next(env)? else {
                return match self.cur.take() {
                    Some(mut c) => group_row(c.vals, &mut c.accs, c.first).map(Some),
                    None => Ok(None),
                };
            };
            vals.clear();
            for g in group {
                vals.push(g.eval(&row, env)?);
            }
            let key = if fold { Coll::row_key(group_colls, &vals) } else { Vec::new() };
            let same = self.cur.as_ref().is_some_and(|c| if fold { c.key == key } else { c.vals == vals });
            if same {
                let c = self.cur.as_mut().ok_or_else(|| internal("aggregate group"))?;
                step_aggs(&mut c.accs, aggs, &row, &mut args, env)?;
                continue;
            }
            let vals = core::mem::replace(&mut vals, Vec::with_capacity(group.len()));
            let mut accs = new_accs(aggs);
            step_aggs(&mut accs, aggs, &row, &mut args, env)?;
            let done = self.cur.replace(Current { key, vals, accs, first: row });
            if let Some(mut c) = done {
                return group_row(c.vals, &mut c.accs, c.first).map(Some);
            }
        }
    }
}

/// `count(*)` of a whole table, read from the engine's entry count (no row is decoded).
pub(super) struct CountOp {
    pub(super) plan: Arc<Plan>,
    pub(super) done: bool,
}

impl Operator for CountOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
        let Plan::Count { table, input_width } = &*self.plan else { return Err(internal("count")) };
        if core::mem::replace(&mut self.done, true) {
            return Ok(None);
        }
        let n = env.txn.count(&table.storage)?;
        let n = i64::try_from(n).map_err(|_| internal("table entry count"))?;
        let mut row = Vec::with_capacity(1 + input_width);
        row.push(Value::Integer(n));
        row.resize(1 + input_width, Value::Null);
        Ok(Some(row))
    }
}
