//! Compiling expressions: names resolve through the [`Frame`] chain to row positions,
//! functions to function pointers, and each comparison gets its affinity conversions and
//! collation, decided once here instead of per row.

use crate::error::Result;
use crate::sql::parser::ast::{BinaryOp, Expr, Query, UnaryOp};
use crate::sql::planner::expr::{Arith, CExpr, CmpOp, Conv, Sub};
use crate::sql::planner::select::{cmp_op, err, is_aggregate_call, Frame, OutCol, Planner, Typed};
use crate::sql::types::collation::Coll;
use crate::sql::types::functions;
use crate::sql::types::value::{Affinity, Value};
use alloc::boxed::Box;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

impl<'s> Planner<'s> {
    // -----------------------------------------------------------------------------------
    // Expressions

    /// Compile an expression against `frames` (the last frame is the current row).
    pub(super) fn compile(&mut self, e: &Expr, frames: &[Frame], post: Option<&PostAgg>) -> Result<Typed> {
        // Expressions nest as deep as the parser lets them (chains of one operator are not
        // nesting: see the AND/OR and arithmetic chains below); subqueries count in `depth`.
        self.expr_depth += 1;
        if self.expr_depth > MAX_EXPR_DEPTH {
            self.expr_depth -= 1;
            return Err(err("expression nested too deeply"));
        }
        let r = self.compile_counted(e, frames, post);
        self.expr_depth -= 1;
        r
    }

    fn compile_counted(&mut self, e: &Expr, frames: &[Frame], post: Option<&PostAgg>) -> Result<Typed> {
        // Operands are compiled left to right inside `compile_inner`; each reports its explicit
        // collation in `explicit_seen`, so the leftmost one is there afterwards.
        let before = self.explicit_seen.take();
        let r = self.compile_inner(e, frames, post);
        let operands = self.explicit_seen.take();
        let mut t = match r {
            Ok(t) => t,
            Err(err) => {
                self.explicit_seen = before;
                return Err(err);
            }
        };
        // An explicit COLLATE anywhere in an operand gives the whole expression that
        // collation (SQLite's EP_Collate), e.g. `(a COLLATE NOCASE) || 'x'`.
        if !t.explicit_coll && !matches!(e, Expr::Column { .. }) {
            if let Some(c) = operands {
                t.coll = Some(c);
                t.explicit_coll = true;
            }
        }
        self.explicit_seen = before.or(if t.explicit_coll { t.coll } else { None });
        Ok(t)
    }

    /// Compile a standalone expression (public entry for DML).
    pub fn compile_expr(&mut self, e: &Expr, frames: &[Frame]) -> Result<CExpr> {
        Ok(self.compile(e, frames, None)?.e)
    }

    fn compile_inner(&mut self, e: &Expr, frames: &[Frame], post: Option<&PostAgg>) -> Result<Typed> {
        if let Some((depth, idx, level)) = self.outer_agg_slot(e, frames) {
            // An enclosing query's aggregate: a value of its group, like a correlated column.
            self.min_frame = self.min_frame.min(level);
            let mut t = Typed::plain(CExpr::Col { depth, idx });
            if let Some(c) = explicit_coll(e)? {
                t.coll = Some(c);
                t.explicit_coll = true;
            }
            return Ok(t);
        }
        if let Some(p) = post {
            if let Some(i) = p.group.iter().position(|g| g == e) {
                // A grouping slot keeps the affinity of a column and the collation of the
                // expression it holds.
                let (aff, coll, explicit_coll) = match e {
                    Expr::Column { .. } => match self.compile(e, frames, None) {
                        Ok(t) => (t.aff, t.coll, false),
                        Err(_) => (None, None, false),
                    },
                    e => match explicit_coll(e)? {
                        Some(c) => (None, Some(c), true),
                        None => (None, None, false),
                    },
                };
                return Ok(Typed { e: CExpr::Col { depth: 0, idx: i as u32 }, aff, coll, explicit_coll });
            }
            if let Expr::Function { name, args, star, .. } = e {
                if is_aggregate_call(name, args.len(), *star) {
                    let j = p.aggs.iter().position(|a| a == e).ok_or_else(|| err("aggregate not collected"))?;
                    // Its arguments are not compiled here: their explicit collation from the AST.
                    let mut t = Typed::plain(CExpr::Col { depth: 0, idx: (p.group.len() + j) as u32 });
                    if let Some(c) = explicit_coll(e)? {
                        t.coll = Some(c);
                        t.explicit_coll = true;
                    }
                    return Ok(t);
                }
            }
        }
        let bx = |t: Typed| Box::new(t.e);
        Ok(match e {
            Expr::Literal(v) => Typed::plain(CExpr::Const(v.clone())),
            Expr::Param(i) => Typed::plain(CExpr::Param((*i as usize).saturating_sub(1))),
            Expr::Column { table, name } => self.resolve(table.as_deref(), name, frames)?,
            Expr::Unary { op, expr } => {
                let t = self.compile(expr, frames, post)?;
                match op {
                    UnaryOp::Neg => Typed::plain(CExpr::Neg(bx(t))),
                    UnaryOp::Plus => Typed { aff: None, ..t },
                    UnaryOp::Not => Typed::plain(CExpr::Not(bx(t))),
                    UnaryOp::BitNot => Typed::plain(CExpr::BitNot(bx(t))),
                }
            }
            // A long chain of AND or OR (`x=1 OR x=2 OR ...`, left-deep as parsed) compiles
            // to a balanced tree: the same operands in the same order, evaluated left to
            // right and stopping at the same one, but log2(n) deep, so a chain of a thousand
            // terms needs no deep recursion.
            Expr::Binary { op: op @ (BinaryOp::And | BinaryOp::Or), .. } if chain_len(e, |o| o == *op) > 4 => {
                let mut operands = Vec::new();
                for x in left_chain(e, |o| o == *op).0 {
                    operands.push(self.compile(x, frames, post)?.e);
                }
                Typed::plain(balanced(operands, *op == BinaryOp::And).ok_or_else(|| err("empty chain"))?)
            }
            // A long chain of arithmetic and || (`1+1+...`): evaluated in a loop, left to
            // right as nested operators would be.
            Expr::Binary { op, .. } if chain_op(*op).is_some() && chain_len(e, |o| chain_op(o).is_some()) > 16 => {
                let (operands, ops) = left_chain(e, |o| chain_op(o).is_some());
                let mut it = operands.into_iter();
                let first = self.compile(it.next().ok_or_else(|| err("empty chain"))?, frames, post)?.e;
                let mut rest = Vec::with_capacity(ops.len());
                for (x, o) in it.zip(ops) {
                    rest.push((chain_op(o).ok_or_else(|| err("chain operator"))?, self.compile(x, frames, post)?.e));
                }
                Typed::plain(CExpr::Chain(Box::new(first), rest))
            }
            Expr::Binary { op, left, right } => {
                let l = self.compile(left, frames, post)?;
                let r = self.compile(right, frames, post)?;
                let ar = chain_op(*op).flatten();
                if let Some(o) = ar {
                    return Ok(Typed::plain(CExpr::Arith(o, Box::new(l.e), Box::new(r.e))));
                }
                match op {
                    BinaryOp::Concat => Typed::plain(CExpr::Concat(Box::new(l.e), Box::new(r.e))),
                    BinaryOp::And => Typed::plain(CExpr::And(Box::new(l.e), Box::new(r.e))),
                    BinaryOp::Or => Typed::plain(CExpr::Or(Box::new(l.e), Box::new(r.e))),
                    BinaryOp::Is | BinaryOp::IsNot => {
                        let conv = Conv::for_operands(l.aff, r.aff);
                        let coll = pick_coll(&l, &r);
                        Typed::plain(CExpr::Is {
                            l: Box::new(l.e),
                            r: Box::new(r.e),
                            negated: *op == BinaryOp::IsNot,
                            conv,
                            coll,
                        })
                    }
                    _ => {
                        let op = cmp_op(*op).ok_or_else(|| err("operator"))?;
                        let conv = Conv::for_operands(l.aff, r.aff);
                        let coll = pick_coll(&l, &r);
                        Typed::plain(CExpr::Cmp { op, l: Box::new(l.e), r: Box::new(r.e), conv, coll })
                    }
                }
            }
            Expr::IsNull { expr, negated } => {
                Typed::plain(CExpr::IsNull(bx(self.compile(expr, frames, post)?), *negated))
            }
            Expr::Between { expr, low, high, negated } => {
                let mk = |p: &mut Self, op: CmpOp| -> Result<CExpr> {
                    let x = p.compile(expr, frames, post)?;
                    let b = p.compile(if matches!(op, CmpOp::Ge | CmpOp::Lt) { low } else { high }, frames, post)?;
                    let conv = Conv::for_operands(x.aff, b.aff);
                    let coll = pick_coll(&x, &b);
                    Ok(CExpr::Cmp { op, l: Box::new(x.e), r: Box::new(b.e), conv, coll })
                };
                if *negated {
                    let a = mk(self, CmpOp::Lt)?;
                    let b = mk(self, CmpOp::Gt)?;
                    Typed::plain(CExpr::Or(Box::new(a), Box::new(b)))
                } else {
                    let a = mk(self, CmpOp::Ge)?;
                    let b = mk(self, CmpOp::Le)?;
                    Typed::plain(CExpr::And(Box::new(a), Box::new(b)))
                }
            }
            Expr::InList { expr, list, negated } => {
                let x = self.compile(expr, frames, post)?;
                let mut items = Vec::new();
                for i in list {
                    items.push(self.compile(i, frames, post)?.e);
                }
                let item_aff = Conv::for_operands(x.aff, None).right;
                let coll = x.coll.unwrap_or(Coll::Binary);
                Typed::plain(CExpr::InList { e: Box::new(x.e), list: items, negated: *negated, item_aff, coll })
            }
            Expr::InSubquery { expr, query, negated } => {
                let x = self.compile(expr, frames, post)?;
                let (sub, outs) = self.subquery(query, frames)?;
                if outs.len() != 1 {
                    return Err(err(format!("sub-select returns {} columns - expected 1", outs.len())));
                }
                let aff = crate::sql::planner::expr::in_affinity(x.aff, outs[0].aff);
                let y = Typed {
                    e: CExpr::Const(Value::Null),
                    aff: None,
                    coll: outs[0].coll,
                    explicit_coll: outs[0].explicit_coll,
                };
                let coll = pick_coll(&x, &y);
                Typed::plain(CExpr::InSub { e: Box::new(x.e), sub, negated: *negated, aff, coll })
            }
            Expr::Exists { query, negated } => {
                let (sub, _) = self.subquery(query, frames)?;
                Typed::plain(CExpr::Exists(sub, *negated))
            }
            Expr::Subquery(query) => {
                let (sub, outs) = self.subquery(query, frames)?;
                if outs.len() != 1 {
                    return Err(err(format!("sub-select returns {} columns - expected 1", outs.len())));
                }
                Typed { e: CExpr::Scalar(sub), aff: outs[0].aff, coll: None, explicit_coll: false }
            }
            Expr::Like { expr, pattern, escape, negated, glob } => {
                let x = self.compile(expr, frames, post)?;
                let p = self.compile(pattern, frames, post)?;
                let esc = match escape {
                    Some(e) => Some(Box::new(self.compile(e, frames, post)?.e)),
                    None => None,
                };
                Typed::plain(CExpr::Like { e: Box::new(x.e), pat: Box::new(p.e), esc, negated: *negated, glob: *glob })
            }
            Expr::Case { operand, whens, else_ } => {
                let (operand, op_t) = match operand {
                    Some(o) => {
                        let t = self.compile(o, frames, post)?;
                        let rest = Typed { e: CExpr::Const(Value::Null), ..t };
                        (Some(Box::new(t.e)), rest)
                    }
                    None => (None, Typed::plain(CExpr::Const(Value::Null))),
                };
                let mut ws = Vec::new();
                let mut convs = Vec::new();
                let mut colls = Vec::new();
                for (w, t) in whens {
                    let wt = self.compile(w, frames, post)?;
                    convs.push(Conv::for_operands(op_t.aff, wt.aff));
                    colls.push(pick_coll(&op_t, &wt));
                    ws.push((wt.e, self.compile(t, frames, post)?.e));
                }
                let else_ = match else_ {
                    Some(x) => Some(Box::new(self.compile(x, frames, post)?.e)),
                    None => None,
                };
                Typed::plain(CExpr::Case { operand, whens: ws, convs, colls, else_ })
            }
            Expr::Cast { expr, type_name } => {
                let aff = Affinity::of_type(Some(type_name));
                let x = self.compile(expr, frames, post)?;
                Typed {
                    e: CExpr::Cast(Box::new(x.e), aff),
                    aff: Some(aff),
                    coll: x.coll,
                    explicit_coll: x.explicit_coll,
                }
            }
            Expr::Collate { expr, collation } => {
                let c = Coll::by_name(collation)?;
                let x = self.compile(expr, frames, post)?;
                Typed { e: x.e, aff: x.aff, coll: Some(c), explicit_coll: true }
            }
            Expr::Function { name, args, distinct, star } => {
                let lname = name.to_ascii_lowercase();
                if functions::aggregate(&lname, args.len(), *star)?.is_some() {
                    return Err(err(format!("misuse of aggregate function {name}()")));
                }
                if *distinct {
                    return Err(err(format!("DISTINCT is only allowed in aggregate functions, not {name}()")));
                }
                if *star {
                    return Err(err(format!("wrong number of arguments to function {name}()")));
                }
                let mut cargs = Vec::new();
                // min/max/nullif compare under the first argument's collation that has one.
                let mut coll = None;
                for a in args {
                    let t = self.compile(a, frames, post)?;
                    coll = coll.or(t.coll);
                    cargs.push(t.e);
                }
                if let Some(f) = functions::collated(&lname, cargs.len(), coll.unwrap_or(Coll::Binary)) {
                    return Ok(Typed::plain(CExpr::Func(f, cargs)));
                }
                match lname.as_str() {
                    "coalesce" if cargs.len() >= 2 => Typed::plain(CExpr::Coalesce(cargs)),
                    "ifnull" if cargs.len() == 2 => Typed::plain(CExpr::Coalesce(cargs)),
                    "iif" if cargs.len() == 3 => {
                        let mut it = cargs.into_iter();
                        let (c, a, b) = match (it.next(), it.next(), it.next()) {
                            (Some(c), Some(a), Some(b)) => (c, a, b),
                            _ => return Err(err("iif")),
                        };
                        Typed::plain(CExpr::Iif(Box::new(c), Box::new(a), Box::new(b)))
                    }
                    _ => Typed::plain(CExpr::Func(functions::scalar(&lname, cargs.len())?, cargs)),
                }
            }
        })
    }

    pub(super) fn resolve(&mut self, table: Option<&str>, name: &str, frames: &[Frame]) -> Result<Typed> {
        for (fi, f) in frames.iter().enumerate().rev() {
            if let Some(i) = f.find(table, name)? {
                self.min_frame = self.min_frame.min(fi);
                let c = &f.cols[i];
                return Ok(Typed {
                    e: CExpr::Col { depth: (frames.len() - 1 - fi) as u32, idx: i as u32 },
                    aff: c.aff,
                    coll: c.coll,
                    explicit_coll: false,
                });
            }
        }
        // SQLite treats an unknown double-quoted identifier as a string; we only know the
        // name here, so report the column.
        Err(err(match table {
            Some(t) => format!("no such column: {t}.{name}"),
            None => format!("no such column: {name}"),
        }))
    }

    pub(super) fn subquery(&mut self, q: &Query, frames: &[Frame]) -> Result<(Sub, Vec<OutCol>)> {
        let saved = self.min_frame;
        self.min_frame = usize::MAX;
        // A subquery's collations stay inside it.
        let explicit = self.explicit_seen.take();
        let r = self.plan_query(q, frames);
        self.explicit_seen = explicit;
        let min = self.min_frame;
        self.min_frame = saved.min(min);
        let (plan, outs) = r?;
        let correlated = min < frames.len();
        let slot = self.slots;
        self.slots += 1;
        Ok((Sub { plan, correlated, slot }, outs))
    }
}

/// Names for the post-aggregation compile: GROUP BY expressions and aggregate calls map to
/// the leading slots of the aggregate row.
pub(super) struct PostAgg<'a> {
    pub(super) group: &'a [Expr],
    pub(super) aggs: &'a [Expr],
}

/// The explicit collation of an expression: that of the leftmost `COLLATE` found looking into
/// operands left to right (not into subqueries), as SQLite's EP_Collate propagation finds it.
pub(super) fn explicit_coll(e: &Expr) -> Result<Option<Coll>> {
    let kids: Vec<&Expr> = match e {
        Expr::Collate { collation, .. } => return Coll::by_name(collation).map(Some),
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => vec![&**expr],
        Expr::InSubquery { expr, .. } => vec![&**expr],
        Expr::Binary { left, right, .. } => vec![&**left, &**right],
        Expr::Between { expr, low, high, .. } => vec![&**expr, &**low, &**high],
        Expr::InList { expr, list, .. } => core::iter::once(&**expr).chain(list.iter()).collect(),
        Expr::Like { expr, pattern, escape, .. } => {
            core::iter::once(&**expr).chain(core::iter::once(&**pattern)).chain(escape.as_deref()).collect()
        }
        Expr::Case { operand, whens, else_ } => operand
            .as_deref()
            .into_iter()
            .chain(whens.iter().flat_map(|(w, t)| [w, t]))
            .chain(else_.as_deref())
            .collect(),
        Expr::Function { args, .. } => args.iter().collect(),
        _ => return Ok(None),
    };
    for k in kids {
        if let Some(c) = explicit_coll(k)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// The collation of a comparison `l op r` (see [`Typed`]).
pub(super) fn pick_coll(l: &Typed, r: &Typed) -> Coll {
    if l.explicit_coll {
        return l.coll.unwrap_or(Coll::Binary);
    }
    if r.explicit_coll {
        return r.coll.unwrap_or(Coll::Binary);
    }
    l.coll.or(r.coll).unwrap_or(Coll::Binary)
}

pub(super) fn and_all(v: Vec<CExpr>) -> Option<CExpr> {
    balanced(v, true)
}

/// The AND (`and`) or OR of `operands` as a balanced tree: evaluated left to right and
/// stopping at the same operand as a left-nested chain, but only log2(n) deep.
fn balanced(mut operands: Vec<CExpr>, and: bool) -> Option<CExpr> {
    while operands.len() > 1 {
        let mut next = Vec::with_capacity(operands.len().div_ceil(2));
        let mut it = operands.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) if and => CExpr::And(Box::new(a), Box::new(b)),
                Some(b) => CExpr::Or(Box::new(a), Box::new(b)),
                None => a,
            });
        }
        operands = next;
    }
    operands.pop()
}

fn conv_numeric(args: &[Value]) -> Result<Value> {
    Ok(crate::sql::planner::expr::conv(args[0].clone(), Some(Affinity::Numeric)))
}

fn conv_text(args: &[Value]) -> Result<Value> {
    Ok(crate::sql::planner::expr::conv(args[0].clone(), Some(Affinity::Text)))
}

pub(super) fn conv_fn(a: Affinity) -> functions::ScalarFn {
    if a == Affinity::Text {
        conv_text
    } else {
        conv_numeric
    }
}

/// How deep expressions may nest in the compiler: above the parser's own nesting limit (200),
/// so every expression the parser accepts compiles.
const MAX_EXPR_DEPTH: usize = 250;

/// A chain operator: arithmetic, or `||` (None).
fn chain_op(op: BinaryOp) -> Option<Option<Arith>> {
    Some(match op {
        BinaryOp::Add => Some(Arith::Add),
        BinaryOp::Sub => Some(Arith::Sub),
        BinaryOp::Mul => Some(Arith::Mul),
        BinaryOp::Div => Some(Arith::Div),
        BinaryOp::Mod => Some(Arith::Rem),
        BinaryOp::BitAnd => Some(Arith::BitAnd),
        BinaryOp::BitOr => Some(Arith::BitOr),
        BinaryOp::ShiftLeft => Some(Arith::Shl),
        BinaryOp::ShiftRight => Some(Arith::Shr),
        BinaryOp::Concat => None,
        _ => return None,
    })
}

/// How many operands the left spine of `e` has while its operators pass `link`.
fn chain_len(mut e: &Expr, link: impl Fn(BinaryOp) -> bool) -> usize {
    let mut n = 1;
    while let Expr::Binary { op, left, .. } = e {
        if !link(*op) {
            break;
        }
        n += 1;
        e = left;
    }
    n
}

/// The operands of the left spine of `e` while its operators pass `link`, leftmost first,
/// and the operators between them (walked without recursion).
fn left_chain(mut e: &Expr, link: impl Fn(BinaryOp) -> bool) -> (Vec<&Expr>, Vec<BinaryOp>) {
    let (mut operands, mut between) = (Vec::new(), Vec::new());
    loop {
        match e {
            Expr::Binary { op, left, right } if link(*op) => {
                operands.push(&**right);
                between.push(*op);
                e = left;
            }
            _ => {
                operands.push(e);
                break;
            }
        }
    }
    operands.reverse();
    between.reverse();
    (operands, between)
}
