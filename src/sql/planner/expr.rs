//! Compiled expressions: what the planner makes of an expression.
//!
//! The planner turns [`crate::sql::parser::ast::Expr`] into [`CExpr`]: names are resolved to row
//! positions, functions to function pointers, comparison affinity and collation are decided
//! once. The execution stage evaluates them (`exec::eval`).

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::sql::planner::Plan;
use crate::sql::types::collation::Coll;
use crate::sql::types::functions::ScalarFn;
use crate::sql::types::value::{Affinity, Value};

/// Arithmetic and bit operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// +
    Add,
    /// -
    Sub,
    /// *
    Mul,
    /// /
    Div,
    /// %
    Rem,
    /// &
    BitAnd,
    /// |
    BitOr,
    /// <<
    Shl,
    /// >>
    Shr,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// =
    Eq,
    /// <>
    Ne,
    /// <
    Lt,
    /// <=
    Le,
    /// >
    Gt,
    /// >=
    Ge,
}

impl CmpOp {
    pub fn test(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn swap(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            o => o,
        }
    }
}

/// Affinity conversions applied to comparison operands before comparing (SQLite's rules:
/// a numeric-affinity operand makes a TEXT/BLOB/no-affinity other side numeric; a TEXT
/// operand makes a no-affinity other side text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Conv {
    /// Affinity applied to the left operand.
    pub left: Option<Affinity>,
    /// Affinity applied to the right operand.
    pub right: Option<Affinity>,
}

impl Conv {
    /// The conversions for comparing operands with these affinities (None: no affinity).
    pub fn for_operands(l: Option<Affinity>, r: Option<Affinity>) -> Conv {
        let num = |a: Option<Affinity>| a.is_some_and(Affinity::is_numeric);
        let weak = |a: Option<Affinity>| matches!(a, None | Some(Affinity::Blob) | Some(Affinity::Text));
        // "No affinity" is an expression's; a column declared BLOB or without a type has BLOB
        // affinity, which a TEXT column does not convert (SQLite's sqlite3CompareAffinity).
        let none = |a: Option<Affinity>| a.is_none();
        if num(l) && weak(r) {
            Conv { left: None, right: Some(Affinity::Numeric) }
        } else if num(r) && weak(l) {
            Conv { left: Some(Affinity::Numeric), right: None }
        } else if l == Some(Affinity::Text) && none(r) {
            Conv { left: None, right: Some(Affinity::Text) }
        } else if r == Some(Affinity::Text) && none(l) {
            Conv { left: Some(Affinity::Text), right: None }
        } else {
            Conv::default()
        }
    }
}

/// The affinity SQLite applies to both sides of `x IN (SELECT y ...)`: when both have an
/// affinity (columns), numeric if either is numeric, else none; otherwise the one that has.
pub fn in_affinity(x: Option<Affinity>, y: Option<Affinity>) -> Option<Affinity> {
    match (x, y) {
        (Some(a), Some(b)) => {
            if a.is_numeric() || b.is_numeric() {
                Some(Affinity::Numeric)
            } else {
                None
            }
        }
        (Some(a), None) | (None, Some(a)) => (a != Affinity::Blob).then_some(a),
        (None, None) => None,
    }
}

/// Whether the comparison-time affinity `a` changes `v`'s type: TEXT affinity turns numbers
/// into text, a numeric affinity may turn text into a number.
fn converts(v: &Value, a: Option<Affinity>) -> bool {
    match (a, v) {
        (Some(Affinity::Text), Value::Integer(_) | Value::Real(_)) => true,
        (Some(a), Value::Text(_)) => a.is_numeric(),
        _ => false,
    }
}

/// Apply a comparison-time affinity (numeric affinity only converts text that is entirely a
/// number; it never turns a REAL into an INTEGER for comparison purposes).
pub fn conv(v: Value, a: Option<Affinity>) -> Value {
    if !converts(&v, a) {
        return v;
    }
    match v {
        Value::Text(s) => {
            match crate::sql::types::value::parse_number(crate::sql::types::value::before_nul(s.as_bytes())) {
                Some(n) => n,
                None => Value::Text(s),
            }
        }
        v => Value::Text(v.to_text()),
    }
}

/// [`conv`] of a borrowed value: borrowed still when the affinity changes nothing.
pub fn conv_cow(v: alloc::borrow::Cow<'_, Value>, a: Option<Affinity>) -> alloc::borrow::Cow<'_, Value> {
    if converts(&v, a) {
        alloc::borrow::Cow::Owned(conv(v.into_owned(), a))
    } else {
        v
    }
}

/// A subquery used inside an expression.
#[derive(Debug)]
pub struct Sub {
    /// The plan.
    pub plan: Arc<Plan>,
    /// Whether it reads columns of enclosing rows (then it is re-run per row).
    pub correlated: bool,
    /// Slot in `Env::subs` (`exec::eval`) caching the result of an uncorrelated subquery.
    pub slot: usize,
}

/// A compiled expression.
#[derive(Debug)]
pub enum CExpr {
    /// A constant.
    Const(Value),
    /// Parameter (0-based).
    Param(usize),
    /// A column of the current row (depth 0) or of an outer row (depth ≥ 1).
    Col {
        /// Outer depth.
        depth: u32,
        /// Position in that row.
        idx: u32,
    },
    /// -x.
    Neg(Box<CExpr>),
    /// NOT x.
    Not(Box<CExpr>),
    /// ~x.
    BitNot(Box<CExpr>),
    /// Arithmetic.
    Arith(Arith, Box<CExpr>, Box<CExpr>),
    /// ||.
    Concat(Box<CExpr>, Box<CExpr>),
    /// A comparison.
    Cmp {
        /// Operator.
        op: CmpOp,
        /// Left.
        l: Box<CExpr>,
        /// Right.
        r: Box<CExpr>,
        /// Operand conversions.
        conv: Conv,
        /// Collation.
        coll: Coll,
    },
    /// IS / IS NOT.
    Is {
        /// Left.
        l: Box<CExpr>,
        /// Right.
        r: Box<CExpr>,
        /// IS NOT.
        negated: bool,
        /// Operand conversions.
        conv: Conv,
        /// Collation.
        coll: Coll,
    },
    /// AND.
    And(Box<CExpr>, Box<CExpr>),
    /// OR.
    Or(Box<CExpr>, Box<CExpr>),
    /// IS [NOT] NULL.
    IsNull(Box<CExpr>, bool),
    /// [NOT] IN (list).
    InList {
        /// Operand.
        e: Box<CExpr>,
        /// List.
        list: Vec<CExpr>,
        /// NOT IN.
        negated: bool,
        /// Affinity applied to list items.
        item_aff: Option<Affinity>,
        /// Collation.
        coll: Coll,
    },
    /// [NOT] IN (subquery).
    InSub {
        /// Operand.
        e: Box<CExpr>,
        /// Subquery.
        sub: Sub,
        /// NOT IN.
        negated: bool,
        /// Affinity applied to the operand and to the subquery's values (SQLite's
        /// comparison affinity of the two).
        aff: Option<Affinity>,
        /// Collation of the comparisons (operand against the subquery's column).
        coll: Coll,
    },
    /// [NOT] EXISTS.
    Exists(Sub, bool),
    /// Scalar subquery.
    Scalar(Sub),
    /// LIKE / GLOB.
    Like {
        /// Operand.
        e: Box<CExpr>,
        /// Pattern.
        pat: Box<CExpr>,
        /// Escape.
        esc: Option<Box<CExpr>>,
        /// NOT.
        negated: bool,
        /// GLOB.
        glob: bool,
    },
    /// CASE.
    Case {
        /// Operand (simple CASE).
        operand: Option<Box<CExpr>>,
        /// WHEN/THEN.
        whens: Vec<(CExpr, CExpr)>,
        /// Comparison conversions of a simple CASE (operand vs each WHEN).
        convs: Vec<Conv>,
        /// Comparison collations of a simple CASE (operand vs each WHEN).
        colls: Vec<Coll>,
        /// ELSE.
        else_: Option<Box<CExpr>>,
    },
    /// CAST.
    Cast(Box<CExpr>, Affinity),
    /// A scalar function.
    Func(ScalarFn, Vec<CExpr>),
    /// coalesce / ifnull (lazy).
    Coalesce(Vec<CExpr>),
    /// iif(c, a, b) (lazy).
    Iif(Box<CExpr>, Box<CExpr>, Box<CExpr>),
    /// A long chain of arithmetic (`Some(op)`) and `||` (`None`) operators, evaluated left
    /// to right in a loop (`((first op1 x1) op2 x2) ...`) instead of nested nodes.
    Chain(Box<CExpr>, Vec<(Option<Arith>, CExpr)>),
}

impl CExpr {
    /// Calls `f` for each subquery in this expression, outermost first and left to right
    /// (not those inside the subqueries' own plans). For EXPLAIN QUERY PLAN.
    pub fn for_each_sub(&self, f: &mut dyn FnMut(crate::sql::planner::explain::SubUse, &Sub)) {
        use crate::sql::planner::explain::SubUse;
        match self {
            CExpr::Const(_) | CExpr::Param(_) | CExpr::Col { .. } => {}
            CExpr::Neg(a) | CExpr::Not(a) | CExpr::BitNot(a) | CExpr::IsNull(a, _) | CExpr::Cast(a, _) => {
                a.for_each_sub(f)
            }
            CExpr::Arith(_, a, b) | CExpr::Concat(a, b) | CExpr::And(a, b) | CExpr::Or(a, b) => {
                a.for_each_sub(f);
                b.for_each_sub(f);
            }
            CExpr::Cmp { l, r, .. } | CExpr::Is { l, r, .. } => {
                l.for_each_sub(f);
                r.for_each_sub(f);
            }
            CExpr::InList { e, list, .. } => {
                e.for_each_sub(f);
                list.iter().for_each(|x| x.for_each_sub(f));
            }
            CExpr::InSub { e, sub, .. } => {
                e.for_each_sub(f);
                f(SubUse::List, sub);
            }
            CExpr::Exists(sub, _) | CExpr::Scalar(sub) => f(SubUse::Scalar, sub),
            CExpr::Like { e, pat, esc, .. } => {
                e.for_each_sub(f);
                pat.for_each_sub(f);
                if let Some(x) = esc {
                    x.for_each_sub(f);
                }
            }
            CExpr::Case { operand, whens, else_, .. } => {
                if let Some(x) = operand {
                    x.for_each_sub(f);
                }
                for (w, t) in whens {
                    w.for_each_sub(f);
                    t.for_each_sub(f);
                }
                if let Some(x) = else_ {
                    x.for_each_sub(f);
                }
            }
            CExpr::Func(_, args) | CExpr::Coalesce(args) => args.iter().for_each(|x| x.for_each_sub(f)),
            CExpr::Iif(a, b, c) => {
                a.for_each_sub(f);
                b.for_each_sub(f);
                c.for_each_sub(f);
            }
            CExpr::Chain(first, rest) => {
                first.for_each_sub(f);
                rest.iter().for_each(|(_, x)| x.for_each_sub(f));
            }
        }
    }
}
