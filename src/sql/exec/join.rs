//! Joins. `LoopOp` is the nested loop: for each left row it re-opens the right side (an
//! index lookup that reads the left row through the outer-row stack, or a scan), or reads a
//! right side computed once and cached; LEFT joins pad unmatched rows with NULLs. `HashOp`
//! builds a hash table of the right side on its equality keys (held in memory) and probes it
//! with each left row.

use crate::error::Result;
use crate::sql::exec::eval::{internal, Env};
use crate::sql::exec::operators::{open, Operator};
use crate::sql::planner::plan::Plan;
use crate::sql::types::value::Tuple;
use crate::sql::types::value::Value;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::sync::Arc;
use alloc::vec::Vec;
use hashbrown::HashMap;

// ---------------------------------------------------------------------------------------
// Joins

pub(super) struct LoopOp {
    pub(super) plan: Arc<Plan>,
    pub(super) left: Box<dyn Operator>,
    pub(super) cur: Option<Rc<[Value]>>,
    pub(super) right: Option<Box<dyn Operator>>,
    pub(super) cache: Option<Rc<Vec<Tuple>>>,
    pub(super) matched: bool,
    pub(super) at: usize,
}

impl Operator for LoopOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
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

pub(super) struct HashOp {
    pub(super) plan: Arc<Plan>,
    pub(super) left: Box<dyn Operator>,
    pub(super) table: Option<HashMap<Vec<Value>, Vec<Tuple>>>,
    pub(super) pending: VecDeque<Tuple>,
}

impl Operator for HashOp {
    fn next(&mut self, env: &mut Env) -> Result<Option<Tuple>> {
        let Plan::HashJoin { right, left_keys, right_keys, right_width, on, left_join, .. } = &*self.plan else {
            return Err(internal("hash join"));
        };
        if self.table.is_none() {
            let mut t: HashMap<Vec<Value>, Vec<Tuple>> = HashMap::new();
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
