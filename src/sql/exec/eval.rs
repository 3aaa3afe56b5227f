//! Evaluation of compiled expressions ([`CExpr`]): SQLite's arithmetic, casts, comparisons
//! with affinity and collation, LIKE/GLOB, CASE, function calls and subqueries.
//!
//! Evaluation takes the current row and an [`Env`]: the transaction, the bound parameters, the
//! work-memory budget, the stack of outer rows (correlated subqueries and index joins) and the
//! results of uncorrelated subqueries, cached for the statement. Subqueries run their plans
//! through [`open`](crate::sql::exec::open).

use crate::error::{Error, Result};
use crate::sql::exec;
use crate::sql::planner::expr::*;
use crate::sql::storage::Txn;
use crate::sql::types::collation::Coll;
use crate::sql::types::functions::{self};
use crate::sql::types::value::{real_to_i64, Affinity, Value};
use alloc::borrow::Cow;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// What a subquery produced, cached for uncorrelated subqueries.
#[derive(Debug)]
pub enum SubResult {
    /// Scalar: the first column of the first row, or NULL.
    Scalar(Value),
    /// EXISTS.
    Exists(bool),
    /// IN: the set of values and whether a NULL was among them.
    Set(hashbrown::HashSet<Value>, bool),
}

/// The evaluation environment of one statement execution.
pub struct Env<'a> {
    /// The transaction.
    pub txn: &'a Txn,
    /// Bound parameters.
    pub params: &'a [Value],
    /// Work-memory budget and temporary storage for sorting and grouping.
    pub work: &'a crate::sql::exec::spill::WorkMem,
    /// Outer rows, innermost last (depth 1 is the last one).
    pub outer: Vec<Rc<[Value]>>,
    /// Cached results of uncorrelated subqueries.
    pub subs: Vec<Option<Rc<SubResult>>>,
}

fn int_or_real(r: Option<i64>, f: impl FnOnce() -> f64) -> Value {
    match r {
        Some(i) => Value::Integer(i),
        None => Value::real(f()),
    }
}

/// `a || b`: NULL if either is NULL, else the text of both.
fn concat(a: Value, b: Value) -> Value {
    if a.is_null() || b.is_null() {
        Value::Null
    } else {
        // The left text is extended in place and the right one read where it is.
        let mut s = match a {
            Value::Text(t) => t,
            other => other.to_text(),
        };
        s.push_bytes(&b.text_bytes());
        Value::Text(s)
    }
}

/// Arithmetic on two values with SQLite's rules (integer overflow becomes real, division by
/// zero is NULL).
#[inline]
pub fn arith(op: Arith, a: Value, b: Value) -> Result<Value> {
    // Integers without overflow: the common case, inline.
    if let (Value::Integer(x), Value::Integer(y)) = (&a, &b) {
        if let Some(r) = int_arith(op, *x, *y) {
            return Ok(Value::Integer(r));
        }
    }
    arith_values(op, a, b)
}

/// `x op y` on integers when the result is an integer SQLite would give too (no overflow,
/// no division by zero); None otherwise.
#[inline]
fn int_arith(op: Arith, x: i64, y: i64) -> Option<i64> {
    match op {
        Arith::Add => x.checked_add(y),
        Arith::Sub => x.checked_sub(y),
        Arith::Mul => x.checked_mul(y),
        Arith::Div if y != 0 => x.checked_div(y),
        Arith::Rem if y != 0 => Some(x.checked_rem(y).unwrap_or(0)),
        _ => None,
    }
}

fn arith_values(op: Arith, a: Value, b: Value) -> Result<Value> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    let (a0, b0) = (a, b);
    let (a, b) = (a0.to_numeric(), b0.to_numeric());
    Ok(match op {
        Arith::BitAnd | Arith::BitOr | Arith::Shl | Arith::Shr => {
            // Each operand's integer value: a real truncates, text reads its integer prefix
            // ('1e2' is 1), as SQLite's sqlite3VdbeIntValue.
            let (x, y) = (a0.to_i64(), b0.to_i64());
            Value::Integer(match op {
                Arith::BitAnd => x & y,
                Arith::BitOr => x | y,
                Arith::Shl => shift(x, y),
                _ => shift(x, y.checked_neg().unwrap_or(i64::MAX)),
            })
        }
        _ => match (a, b) {
            (Value::Integer(x), Value::Integer(y)) => match op {
                Arith::Add => int_or_real(x.checked_add(y), || x as f64 + y as f64),
                Arith::Sub => int_or_real(x.checked_sub(y), || x as f64 - y as f64),
                Arith::Mul => int_or_real(x.checked_mul(y), || x as f64 * y as f64),
                Arith::Div => {
                    if y == 0 {
                        Value::Null
                    } else {
                        int_or_real(x.checked_div(y), || x as f64 / y as f64)
                    }
                }
                _ => {
                    if y == 0 {
                        Value::Null
                    } else {
                        Value::Integer(x.checked_rem(y).unwrap_or(0))
                    }
                }
            },
            (a, b) => {
                let (x, y) = (a.to_f64(), b.to_f64());
                match op {
                    Arith::Add => Value::real(x + y),
                    Arith::Sub => Value::real(x - y),
                    Arith::Mul => Value::real(x * y),
                    Arith::Div => {
                        if y == 0.0 {
                            Value::Null
                        } else {
                            Value::real(x / y)
                        }
                    }
                    _ => {
                        // SQLite takes each operand's integer value here: a real truncates,
                        // text reads its integer prefix ('1e2' is 1).
                        let int = |v: &Value| match v {
                            Value::Real(r) => real_to_i64(*r),
                            v => v.to_i64(),
                        };
                        let (ix, iy) = (int(&a0), int(&b0));
                        if iy == 0 {
                            Value::Null
                        } else {
                            Value::Real(ix.checked_rem(iy).unwrap_or(0) as f64)
                        }
                    }
                }
            }
        },
    })
}

fn shift(x: i64, by: i64) -> i64 {
    if by >= 64 {
        0
    } else if by >= 0 {
        ((x as u64) << by) as i64
    } else if by <= -64 {
        if x < 0 {
            -1
        } else {
            0
        }
    } else {
        x >> (-by)
    }
}

/// CAST(v AS affinity-of-type).
pub fn cast(v: Value, to: Affinity) -> Value {
    match (to, v) {
        (_, Value::Null) => Value::Null,
        (Affinity::Integer, v) => Value::Integer(v.to_i64()),
        (Affinity::Real, v) => Value::real(v.to_f64()),
        (Affinity::Text, v) => Value::Text(v.to_text()),
        (Affinity::Blob, Value::Blob(b)) => Value::Blob(b),
        (Affinity::Blob, v) => Value::Blob(v.to_text().into_bytes()),
        (Affinity::Numeric, v @ (Value::Integer(_) | Value::Real(_))) => v,
        (Affinity::Numeric, v) => cast_numeric(v),
    }
}

/// `CAST(text or blob AS NUMERIC)` (`sqlite3VdbeMemNumerify`): the numeric prefix (up to a
/// NUL), an integer when it is written as one that fits, else a real that becomes an integer
/// only when that loses nothing and it is within ±2^51.
fn cast_numeric(v: Value) -> Value {
    use crate::sql::types::value::{before_nul, parse_numeric_prefix, real_same_as_int};
    let text = match &v {
        Value::Text(s) => before_nul(s.as_bytes()),
        Value::Blob(b) => before_nul(b),
        _ => return v,
    };
    match parse_numeric_prefix(text) {
        Value::Real(r) => {
            let i = real_to_i64(r);
            if real_same_as_int(r, i) {
                Value::Integer(i)
            } else {
                Value::Real(r)
            }
        }
        n => n,
    }
}

fn bool_val(b: Option<bool>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => Value::Integer(b as i64),
    }
}

impl CExpr {
    /// Evaluate on `row`. Columns and constants, the common leaves, take an inlined path; the
    /// rest goes through `eval_node`.
    #[inline]
    pub fn eval(&self, row: &[Value], env: &mut Env) -> Result<Value> {
        match self {
            CExpr::Col { depth: 0, idx } => Ok(row.get(*idx as usize).cloned().unwrap_or(Value::Null)),
            CExpr::Const(v) => Ok(v.clone()),
            _ => self.eval_node(row, env),
        }
    }

    /// The value, borrowed when it is a current-row column, a constant or a parameter (no
    /// copy of a text or blob), computed otherwise.
    #[inline]
    fn eval_cow<'r, 'a: 'r>(&'r self, row: &'r [Value], env: &mut Env<'a>) -> Result<Cow<'r, Value>> {
        const NULL: &Value = &Value::Null;
        match self {
            CExpr::Col { depth: 0, idx } => Ok(Cow::Borrowed(row.get(*idx as usize).unwrap_or(NULL))),
            CExpr::Const(v) => Ok(Cow::Borrowed(v)),
            CExpr::Param(i) => {
                let params: &'a [Value] = env.params;
                Ok(Cow::Borrowed(params.get(*i).unwrap_or(NULL)))
            }
            _ => self.eval_node(row, env).map(Cow::Owned),
        }
    }

    /// The value of a current-row column or a constant, by reference.
    #[inline]
    fn leaf<'r>(&'r self, row: &'r [Value]) -> Option<&'r Value> {
        match self {
            CExpr::Col { depth: 0, idx } => row.get(*idx as usize),
            CExpr::Const(v) => Some(v),
            _ => None,
        }
    }

    #[inline(never)]
    fn eval_node(&self, row: &[Value], env: &mut Env) -> Result<Value> {
        Ok(match self {
            CExpr::Const(v) => v.clone(),
            CExpr::Param(i) => env.params.get(*i).cloned().unwrap_or(Value::Null),
            CExpr::Col { depth: 0, idx } => row.get(*idx as usize).cloned().unwrap_or(Value::Null),
            CExpr::Col { depth, idx } => {
                let n = env.outer.len();
                let r = env.outer.get(n.wrapping_sub(*depth as usize)).ok_or_else(|| internal("outer row"))?;
                r.get(*idx as usize).cloned().unwrap_or(Value::Null)
            }
            CExpr::Neg(e) => match e.eval(row, env)?.to_numeric_keep_null() {
                Value::Integer(i) => int_or_real(i.checked_neg(), || -(i as f64)),
                Value::Real(r) => Value::Real(-r),
                _ => Value::Null,
            },
            CExpr::Not(e) => bool_val(e.eval(row, env)?.truthy().map(|b| !b)),
            CExpr::BitNot(e) => match e.eval(row, env)? {
                Value::Null => Value::Null,
                v => Value::Integer(!v.to_i64()),
            },
            CExpr::Arith(op, a, b) => {
                // Integer columns and constants: no clones.
                if let (Some(Value::Integer(x)), Some(Value::Integer(y))) = (a.leaf(row), b.leaf(row)) {
                    if let Some(r) = int_arith(*op, *x, *y) {
                        return Ok(Value::Integer(r));
                    }
                }
                let a = a.eval(row, env)?;
                let b = b.eval(row, env)?;
                arith(*op, a, b)?
            }
            CExpr::Concat(a, b) => {
                let a = a.eval(row, env)?;
                let b = b.eval(row, env)?;
                concat(a, b)
            }
            CExpr::Chain(first, rest) => {
                let mut acc = first.eval(row, env)?;
                for (op, x) in rest {
                    let b = x.eval(row, env)?;
                    acc = match op {
                        Some(op) => arith(*op, acc, b)?,
                        None => concat(acc, b),
                    };
                }
                acc
            }
            CExpr::Cmp { op, l, r, conv: c, coll } => {
                let a = conv_cow(l.eval_cow(row, env)?, c.left);
                let b = conv_cow(r.eval_cow(row, env)?, c.right);
                if a.is_null() || b.is_null() {
                    Value::Null
                } else {
                    Value::Integer(op.test(coll.cmp(&a, &b)) as i64)
                }
            }
            CExpr::Is { l, r, negated, conv: c, coll } => {
                let a = conv_cow(l.eval_cow(row, env)?, c.left);
                let b = conv_cow(r.eval_cow(row, env)?, c.right);
                let eq = match (a.is_null(), b.is_null()) {
                    (true, true) => true,
                    (false, false) => coll.cmp(&a, &b) == Ordering::Equal,
                    _ => false,
                };
                Value::Integer((eq != *negated) as i64)
            }
            CExpr::And(a, b) => {
                let x = a.eval(row, env)?.truthy();
                if x == Some(false) {
                    return Ok(Value::Integer(0));
                }
                let y = b.eval(row, env)?.truthy();
                bool_val(match (x, y) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                })
            }
            CExpr::Or(a, b) => {
                let x = a.eval(row, env)?.truthy();
                if x == Some(true) {
                    return Ok(Value::Integer(1));
                }
                let y = b.eval(row, env)?.truthy();
                bool_val(match (x, y) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                })
            }
            CExpr::IsNull(e, negated) => Value::Integer((e.eval(row, env)?.is_null() != *negated) as i64),
            CExpr::InList { e, list, negated, item_aff, coll } => {
                let v = e.eval(row, env)?;
                if list.is_empty() {
                    return Ok(Value::Integer(*negated as i64));
                }
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let mut saw_null = false;
                let mut found = false;
                for item in list {
                    let x = conv(item.eval(row, env)?, *item_aff);
                    if x.is_null() {
                        saw_null = true;
                    } else if coll.cmp(&v, &x) == Ordering::Equal {
                        found = true;
                        break;
                    }
                }
                in_result(found, saw_null, *negated)
            }
            CExpr::InSub { e, sub, negated, aff, coll } => {
                let v = conv(e.eval(row, env)?, *aff);
                let v = coll.key(&v);
                let res = run_sub(sub, row, env, SubKind::Set(*aff, *coll))?;
                let SubResult::Set(set, has_null) = &*res else { return Err(internal("IN result")) };
                if set.is_empty() && !has_null {
                    return Ok(Value::Integer(*negated as i64));
                }
                if v.is_null() {
                    return Ok(Value::Null);
                }
                in_result(set.contains(v.as_ref()), *has_null, *negated)
            }
            CExpr::Exists(sub, negated) => {
                let res = run_sub(sub, row, env, SubKind::Exists)?;
                let SubResult::Exists(b) = &*res else { return Err(internal("EXISTS result")) };
                Value::Integer((*b != *negated) as i64)
            }
            CExpr::Scalar(sub) => {
                let res = run_sub(sub, row, env, SubKind::Scalar)?;
                let SubResult::Scalar(v) = &*res else { return Err(internal("scalar result")) };
                v.clone()
            }
            CExpr::Like { e, pat, esc, negated, glob } => {
                let v = e.eval_cow(row, env)?;
                let p = pat.eval_cow(row, env)?;
                let esc = match esc {
                    Some(x) => match x.eval(row, env)? {
                        Value::Null => return Ok(Value::Null),
                        x => Some(functions::like_escape(&x.text_bytes())?),
                    },
                    None => None,
                };
                if v.is_null() || p.is_null() {
                    return Ok(Value::Null);
                }
                let (t, p) = (v.text_bytes(), p.text_bytes());
                let m = if *glob { functions::glob(&p, &t) } else { functions::like(&p, &t, esc) };
                Value::Integer((m != *negated) as i64)
            }
            CExpr::Case { operand, whens, convs, colls, else_ } => {
                let base = match operand {
                    Some(o) => Some(o.eval(row, env)?),
                    None => None,
                };
                for (i, (w, t)) in whens.iter().enumerate() {
                    let hit = match &base {
                        Some(b) => {
                            let c = convs.get(i).copied().unwrap_or_default();
                            let w = conv(w.eval(row, env)?, c.right);
                            let b = conv(b.clone(), c.left);
                            let coll = colls.get(i).copied().unwrap_or(Coll::Binary);
                            !b.is_null() && !w.is_null() && coll.cmp(&b, &w) == Ordering::Equal
                        }
                        None => w.eval(row, env)?.truthy() == Some(true),
                    };
                    if hit {
                        return t.eval(row, env);
                    }
                }
                match else_ {
                    Some(e) => e.eval(row, env)?,
                    None => Value::Null,
                }
            }
            CExpr::Cast(e, to) => cast(e.eval(row, env)?, *to),
            CExpr::Func(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, env)?);
                }
                f(&vals)?
            }
            CExpr::Coalesce(args) => {
                for a in args {
                    let v = a.eval(row, env)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                Value::Null
            }
            CExpr::Iif(c, a, b) => {
                if c.eval(row, env)?.truthy() == Some(true) {
                    a.eval(row, env)?
                } else {
                    b.eval(row, env)?
                }
            }
        })
    }

    /// Evaluate as a WHERE condition: true only when the value is true (NULL is false).
    pub fn test(&self, row: &[Value], env: &mut Env) -> Result<bool> {
        Ok(self.eval(row, env)?.truthy() == Some(true))
    }
}

trait NumericKeepNull {
    fn to_numeric_keep_null(self) -> Value;
}
impl NumericKeepNull for Value {
    fn to_numeric_keep_null(self) -> Value {
        match self {
            Value::Null => Value::Null,
            v => v.to_numeric(),
        }
    }
}

fn in_result(found: bool, saw_null: bool, negated: bool) -> Value {
    if found {
        Value::Integer(!negated as i64)
    } else if saw_null {
        Value::Null
    } else {
        Value::Integer(negated as i64)
    }
}

pub(crate) fn internal(what: &str) -> Error {
    Error::Sql(alloc::format!("internal error: {what}"))
}

#[derive(Clone, Copy)]
enum SubKind {
    Scalar,
    Exists,
    /// The values (their keys under the collation) and whether a NULL was among them.
    Set(Option<Affinity>, Coll),
}

/// The values of a compiled uncorrelated `x IN (subquery)` (run once per statement, as for
/// the filter), with the collation they are keyed by; None for another expression.
pub fn sub_values(e: &CExpr, env: &mut Env) -> Result<Option<(Vec<Value>, Coll)>> {
    let CExpr::InSub { sub, aff, coll, .. } = e else { return Ok(None) };
    let res = run_sub(sub, &[], env, SubKind::Set(*aff, *coll))?;
    let SubResult::Set(set, _) = &*res else { return Err(internal("IN result")) };
    Ok(Some((set.iter().cloned().collect(), *coll)))
}

fn run_sub(sub: &Sub, row: &[Value], env: &mut Env, kind: SubKind) -> Result<Rc<SubResult>> {
    if !sub.correlated {
        if let Some(Some(r)) = env.subs.get(sub.slot) {
            return Ok(r.clone());
        }
    }
    if sub.correlated {
        env.outer.push(Rc::from(row));
    }
    let r = compute_sub(sub, env, kind);
    if sub.correlated {
        env.outer.pop();
    }
    let r = Rc::new(r?);
    if !sub.correlated {
        if env.subs.len() <= sub.slot {
            env.subs.resize(sub.slot + 1, None);
        }
        env.subs[sub.slot] = Some(r.clone());
    }
    Ok(r)
}

fn compute_sub(sub: &Sub, env: &mut Env, kind: SubKind) -> Result<SubResult> {
    let mut op = exec::open(&sub.plan);
    Ok(match kind {
        SubKind::Scalar => {
            let v = op.next(env)?.and_then(|r| r.into_iter().next()).unwrap_or(Value::Null);
            SubResult::Scalar(v)
        }
        SubKind::Exists => SubResult::Exists(op.next(env)?.is_some()),
        SubKind::Set(aff, coll) => {
            let mut set = hashbrown::HashSet::new();
            let mut has_null = false;
            while let Some(r) = op.next(env)? {
                match r.into_iter().next().map(|v| conv(v, aff)) {
                    Some(Value::Null) | None => has_null = true,
                    Some(v) => {
                        set.insert(coll.key(&v).into_owned());
                    }
                }
            }
            SubResult::Set(set, has_null)
        }
    })
}
