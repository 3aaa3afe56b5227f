//! The planner: from the AST to a tree of [`Plan`] nodes with compiled expressions.
//!
//! For a SELECT it
//! 1. lists the FROM sources (tables, views, CTEs, subqueries) and splits WHERE and inner-join
//!    ON clauses into conjuncts, noting which sources each conjunct reads;
//! 2. orders inner joins greedily, cheapest estimated source first, where a source that can be
//!    reached through an index from the sources already placed is cheap (LEFT joins keep the
//!    written order);
//! 3. picks each source's access path from the conjuncts usable at that point: equality on a
//!    key prefix, then an IN list or a range on the next key column, over the table's own key
//!    (rowid or primary key) or a secondary index, covering when the index holds every column
//!    the query reads;
//! 4. joins with an index nested loop when the access path reads the left row, else a hash
//!    join on equality conjuncts, else a nested loop over the right side computed once;
//! 5. adds grouping, HAVING, ORDER BY, projection, DISTINCT and LIMIT.
//!
//! Names resolve through a chain of [`Frame`]s, one per row level (outer queries, the left side
//! of an index join, the current row), which mirrors the runtime stack of outer rows, so a
//! column's depth is known at compile time. Every conjunct used for an access path is still
//! checked as a filter, so access paths only ever narrow what is read.

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::sql::planner::access::Access;
use crate::sql::planner::compile::{and_all, PostAgg};

use crate::sql::catalog::{lower, IndexDef, Schema, TableDef};
use crate::sql::parser::ast::{
    BinaryOp, CompoundOp, Cte, Expr, FromItem, JoinConstraint, JoinKind, OrderItem, Query, ResultColumn, Select,
    SetExpr, UnaryOp,
};
use crate::sql::planner::expr::{CExpr, CmpOp};
use crate::sql::planner::order::{GoalKind, Served};
use crate::sql::planner::plan::{AggSpec, KeySpec, Plan, ScanPlan, SortKey};
use crate::sql::storage::Txn;
use crate::sql::types::collation::Coll;
use crate::sql::types::functions;
use crate::sql::types::value::{Affinity, Value};

/// Nesting limit for views, CTEs and subqueries while planning.
pub(super) const MAX_DEPTH: usize = 64;

pub(super) fn err(msg: impl Into<String>) -> Error {
    Error::Sql(msg.into())
}

/// A column visible to name resolution.
#[derive(Debug, Clone)]
pub struct FrameCol {
    /// Table name or alias (lower-case), if any (shared by a frame's columns: frames are
    /// cloned often while planning).
    pub table: Option<Rc<str>>,
    /// Column name (as declared).
    pub name: Rc<str>,
    /// Not expanded by `*` (rowid, the right copy of a USING column, grouping slots).
    pub hidden: bool,
    /// Skipped by unqualified lookups (the right copy of a USING/NATURAL column).
    pub shadowed: bool,
    /// Affinity.
    pub aff: Option<Affinity>,
    /// Collation.
    pub coll: Option<Coll>,
}

/// The layout of one row level.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// Columns in row order.
    pub cols: Vec<FrameCol>,
}

/// A result column of a query: name, affinity and collation.
#[derive(Debug, Clone)]
pub struct OutCol {
    /// Column name.
    pub name: String,
    /// Affinity (for columns taken straight from a table).
    pub aff: Option<Affinity>,
    /// Collation of the result expression (see [`Typed`]); a query used as a FROM source
    /// (view, CTE, subquery) gives its columns this collation, BINARY when None.
    pub coll: Option<Coll>,
    /// Whether `coll` comes from an explicit COLLATE in the expression.
    pub explicit_coll: bool,
}

/// A compiled expression with what comparisons need to know about it.
///
/// The collation follows SQLite's rules (sqlite.org/datatype3.html#collation): a column
/// reference has its column's collation (BINARY when none is declared; the rowid has none),
/// and so do `+x` and `CAST(x AS ...)` of one; an expression containing an explicit
/// `COLLATE` has that collation (the leftmost, looking into operands left to right) and it is
/// *explicit*; any other expression has none. A comparison uses the left operand's collation
/// if explicit, else the right one's if explicit, else the left one's, else the right one's,
/// else BINARY ([`pick_coll`](crate::sql::planner::compile)). Every operator that compares
/// values (comparisons, IN, CASE, DISTINCT, GROUP BY, compound selects, ORDER BY, min/max,
/// index and key lookups) takes its collation from here.
pub(super) struct Typed {
    pub(super) e: CExpr,
    pub(super) aff: Option<Affinity>,
    pub(super) coll: Option<Coll>,
    pub(super) explicit_coll: bool,
}

impl Typed {
    pub(super) fn plain(e: CExpr) -> Typed {
        Typed { e, aff: None, coll: None, explicit_coll: false }
    }
}

/// A FROM source.
pub(super) struct Source {
    pub(super) alias: String,
    pub(super) frame: Frame,
    pub(super) kind: SourceKind,
    pub(super) rows: u64,
}

pub(super) enum SourceKind {
    Table(Arc<TableDef>),
    Sub(Arc<Plan>),
}

/// A WHERE/ON conjunct.
pub(super) struct Conj<'q> {
    pub(super) e: &'q Expr,
    /// Bitmask of the sources it reads (all sources when it holds a subquery).
    pub(super) mask: u64,
    /// Already applied as a filter.
    pub(super) used: bool,
}

/// The planner for one statement.
pub struct Planner<'s> {
    /// The schema.
    pub schema: &'s Schema,
    pub(super) txn: &'s Txn,
    pub(super) ctes: Vec<(String, Vec<String>, Query)>,
    /// Next subquery cache slot.
    pub slots: usize,
    pub(super) min_frame: usize,
    pub(super) depth: usize,
    /// Aggregates of enclosing queries, while their subqueries compile (see `outer_agg`).
    pub(super) outer_aggs: Vec<crate::sql::planner::outer_agg::OuterAgg>,
    /// The leftmost explicit collation among the expressions compiled so far at the current
    /// level (see `compile`).
    pub(super) explicit_seen: Option<Coll>,
    /// How deep the expression being compiled nests (see `compile`).
    pub(super) expr_depth: usize,
    /// LIMIT + OFFSET of the query whose SELECT is planned next (taken by `plan_select`).
    pub(super) limit_hint: Option<u64>,
    /// The enclosing rows' frames of the SELECT being planned (for the collation and
    /// affinity of an outer column in an access path's comparison).
    pub(super) outer_frames: Vec<Frame>,
}

/// Split an AND tree into conjuncts.
pub fn conjuncts<'q>(e: &'q Expr, out: &mut Vec<&'q Expr>) {
    match e {
        Expr::Binary { op: BinaryOp::And, left, right } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        e => out.push(e),
    }
}

pub(crate) fn is_aggregate_call(name: &str, args: usize, star: bool) -> bool {
    matches!(functions::aggregate(&name.to_ascii_lowercase(), args, star), Ok(Some(_)))
}

/// Whether an expression contains an aggregate call (not looking into subqueries).
pub fn has_aggregate(e: &Expr) -> bool {
    let mut found = false;
    walk(e, &mut |x| {
        if let Expr::Function { name, args, star, .. } = x {
            if is_aggregate_call(name, args.len(), *star) {
                found = true;
            }
        }
    });
    found
}

/// Visit every expression node (not entering subqueries).
pub(crate) fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } | Expr::Collate { expr, .. } => {
            walk(expr, f)
        }
        Expr::Binary { left, right, .. } => {
            walk(left, f);
            walk(right, f);
        }
        Expr::Between { expr, low, high, .. } => {
            walk(expr, f);
            walk(low, f);
            walk(high, f);
        }
        Expr::InList { expr, list, .. } => {
            walk(expr, f);
            list.iter().for_each(|x| walk(x, f));
        }
        Expr::InSubquery { expr, .. } => walk(expr, f),
        Expr::Like { expr, pattern, escape, .. } => {
            walk(expr, f);
            walk(pattern, f);
            if let Some(x) = escape {
                walk(x, f);
            }
        }
        Expr::Case { operand, whens, else_ } => {
            if let Some(o) = operand {
                walk(o, f);
            }
            for (w, t) in whens {
                walk(w, f);
                walk(t, f);
            }
            if let Some(x) = else_ {
                walk(x, f);
            }
        }
        Expr::Function { args, .. } => args.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

/// [`walk`], with each node mutable.
pub(crate) fn walk_mut(e: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    f(e);
    match e {
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } | Expr::Collate { expr, .. } => {
            walk_mut(expr, f)
        }
        Expr::Binary { left, right, .. } => {
            walk_mut(left, f);
            walk_mut(right, f);
        }
        Expr::Between { expr, low, high, .. } => {
            walk_mut(expr, f);
            walk_mut(low, f);
            walk_mut(high, f);
        }
        Expr::InList { expr, list, .. } => {
            walk_mut(expr, f);
            list.iter_mut().for_each(|x| walk_mut(x, f));
        }
        Expr::InSubquery { expr, .. } => walk_mut(expr, f),
        Expr::Like { expr, pattern, escape, .. } => {
            walk_mut(expr, f);
            walk_mut(pattern, f);
            if let Some(x) = escape {
                walk_mut(x, f);
            }
        }
        Expr::Case { operand, whens, else_ } => {
            if let Some(o) = operand {
                walk_mut(o, f);
            }
            for (w, t) in whens {
                walk_mut(w, f);
                walk_mut(t, f);
            }
            if let Some(x) = else_ {
                walk_mut(x, f);
            }
        }
        Expr::Function { args, .. } => args.iter_mut().for_each(|x| walk_mut(x, f)),
        _ => {}
    }
}

pub(super) fn has_subquery(e: &Expr) -> bool {
    let mut found = false;
    walk(e, &mut |x| {
        if matches!(x, Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }) {
            found = true;
        }
    });
    found
}

/// A display name for a result expression (SQLite uses the expression's text).
pub fn expr_name(e: &Expr) -> String {
    match e {
        Expr::Column { name, .. } => name.clone(),
        e => expr_sql(e),
    }
}

/// Render an expression as SQL text (for column names and EXPLAIN).
pub fn expr_sql(e: &Expr) -> String {
    match e {
        Expr::Literal(Value::Text(s)) => format!("'{}'", s.to_str_lossy().replace('\'', "''")),
        Expr::Literal(Value::Blob(b)) => {
            let mut s = String::from("X'");
            for x in b {
                s.push_str(&format!("{x:02X}"));
            }
            s.push('\'');
            s
        }
        Expr::Literal(v) => v.to_string(),
        Expr::Column { table: Some(t), name } => format!("{t}.{name}"),
        Expr::Column { name, .. } => name.clone(),
        Expr::Param(i) => format!("?{i}"),
        Expr::Unary { op, expr } => {
            let o = match op {
                UnaryOp::Neg => "-",
                UnaryOp::Plus => "+",
                UnaryOp::Not => "NOT ",
                UnaryOp::BitNot => "~",
            };
            format!("{o}{}", expr_sql(expr))
        }
        Expr::Binary { op, left, right } => {
            let o = match op {
                BinaryOp::Concat => "||",
                BinaryOp::Mul => "*",
                BinaryOp::Div => "/",
                BinaryOp::Mod => "%",
                BinaryOp::Add => "+",
                BinaryOp::Sub => "-",
                BinaryOp::BitAnd => "&",
                BinaryOp::BitOr => "|",
                BinaryOp::ShiftLeft => "<<",
                BinaryOp::ShiftRight => ">>",
                BinaryOp::Lt => "<",
                BinaryOp::LtEq => "<=",
                BinaryOp::Gt => ">",
                BinaryOp::GtEq => ">=",
                BinaryOp::Eq => "=",
                BinaryOp::NotEq => "<>",
                BinaryOp::Is => " IS ",
                BinaryOp::IsNot => " IS NOT ",
                BinaryOp::And => " AND ",
                BinaryOp::Or => " OR ",
            };
            format!("{}{o}{}", expr_sql(left), expr_sql(right))
        }
        Expr::Function { name, args, distinct, star } => {
            if *star {
                format!("{name}(*)")
            } else if args.is_empty() && name.starts_with("CURRENT_") {
                name.clone() // the CURRENT_TIMESTAMP keyword
            } else {
                let a: Vec<String> = args.iter().map(expr_sql).collect();
                format!("{name}({}{})", if *distinct { "DISTINCT " } else { "" }, a.join(","))
            }
        }
        Expr::Cast { expr, type_name } => format!("CAST({} AS {type_name})", expr_sql(expr)),
        Expr::IsNull { expr, negated } => format!("{} IS {}NULL", expr_sql(expr), if *negated { "NOT " } else { "" }),
        Expr::Collate { expr, collation } => format!("{} COLLATE {collation}", expr_sql(expr)),
        Expr::Subquery(_) => "(subquery)".into(),
        Expr::Case { .. } => "CASE".into(),
        _ => "expr".into(),
    }
}

impl Frame {
    /// The row layout of a scan of `t` under `alias`: its columns, then the hidden rowid.
    pub fn of_table(t: &TableDef, alias: &str) -> Frame {
        let ipk = match t.pk {
            crate::sql::catalog::PrimaryKey::Rowid { alias } => alias,
            _ => None,
        };
        let alias: Rc<str> = alias.into();
        let mut cols: Vec<FrameCol> = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| FrameCol {
                table: Some(alias.clone()),
                name: c.name.as_str().into(),
                hidden: false,
                shadowed: false,
                aff: Some(c.affinity),
                // An INTEGER PRIMARY KEY is the rowid, which has no collation (as in SQLite,
                // whatever its declaration says).
                coll: (Some(i) != ipk).then(|| c.coll()),
            })
            .collect();
        if t.has_rowid() {
            cols.push(FrameCol {
                table: Some(alias),
                name: "rowid".into(),
                hidden: true,
                shadowed: false,
                aff: Some(Affinity::Integer),
                coll: None,
            });
        }
        Frame { cols }
    }

    fn of_outputs(outs: &[OutCol], alias: &str) -> Frame {
        let alias: Rc<str> = alias.into();
        Frame {
            cols: outs
                .iter()
                .map(|o| FrameCol {
                    table: Some(alias.clone()),
                    name: o.name.as_str().into(),
                    hidden: false,
                    shadowed: false,
                    aff: o.aff,
                    coll: Some(o.coll.unwrap_or(Coll::Binary)),
                })
                .collect(),
        }
    }

    /// Find a column: (position, column). Errors on ambiguity.
    pub(super) fn find(&self, table: Option<&str>, name: &str) -> Result<Option<usize>> {
        let mut hit = None;
        for (i, c) in self.cols.iter().enumerate() {
            let name_ok = c.name.eq_ignore_ascii_case(name)
                || (c.hidden
                    && &*c.name == "rowid"
                    && ["rowid", "oid", "_rowid_"].iter().any(|r| r.eq_ignore_ascii_case(name)));
            if !name_ok {
                continue;
            }
            match table {
                Some(t) => {
                    if c.table.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(t)) && hit.is_none() {
                        hit = Some(i);
                    }
                }
                None => {
                    if c.shadowed {
                        continue;
                    }
                    if let Some(h) = hit {
                        // A declared column named like the rowid wins over the rowid.
                        let (a, b): (&FrameCol, &FrameCol) = (&self.cols[h], c);
                        if a.hidden != b.hidden {
                            if a.hidden {
                                hit = Some(i);
                            }
                            continue;
                        }
                        return Err(err(format!("ambiguous column name: {name}")));
                    }
                    hit = Some(i);
                }
            }
        }
        Ok(hit)
    }
}

pub(super) fn cmp_op(op: BinaryOp) -> Option<CmpOp> {
    Some(match op {
        BinaryOp::Eq => CmpOp::Eq,
        BinaryOp::NotEq => CmpOp::Ne,
        BinaryOp::Lt => CmpOp::Lt,
        BinaryOp::LtEq => CmpOp::Le,
        BinaryOp::Gt => CmpOp::Gt,
        BinaryOp::GtEq => CmpOp::Ge,
        _ => return None,
    })
}

/// What a conjunct says about one column of a source, for access path selection.
pub(super) enum ColCons<'q> {
    Eq(&'q Expr),
    /// `IS NULL`.
    IsNull,
    /// `x IN (SELECT ...)` (the whole expression): the subquery's values are probes.
    InSub(&'q Expr),
    /// `x LIKE pattern` (false) or `x GLOB pattern` (true): the pattern's literal prefix is
    /// a key range.
    Like(&'q Expr, bool),
    In(&'q [Expr]),
    Lo(&'q Expr, bool),
    Hi(&'q Expr, bool),
}

impl<'s> Planner<'s> {
    /// A planner over `schema`; `txn` is used for size estimates.
    pub fn new(schema: &'s Schema, txn: &'s Txn) -> Planner<'s> {
        Planner {
            schema,
            txn,
            ctes: Vec::new(),
            slots: 0,
            min_frame: usize::MAX,
            depth: 0,
            outer_aggs: Vec::new(),
            explicit_seen: None,
            expr_depth: 0,
            limit_hint: None,
            outer_frames: Vec::new(),
        }
    }

    pub(super) fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err("query nested too deeply"));
        }
        Ok(())
    }

    /// Plan a full query. `outer` are the enclosing row frames (for correlated subqueries).
    pub fn plan_query(&mut self, q: &Query, outer: &[Frame]) -> Result<(Arc<Plan>, Vec<OutCol>)> {
        self.enter()?;
        let saved = self.ctes.len();
        for Cte { name, columns, query } in &q.with {
            self.ctes.push((lower(name), columns.clone(), (**query).clone()));
        }
        let r = self.plan_query_inner(q, outer);
        self.ctes.truncate(saved);
        self.depth -= 1;
        r
    }

    fn plan_query_inner(&mut self, q: &Query, outer: &[Frame]) -> Result<(Arc<Plan>, Vec<OutCol>)> {
        let (mut plan, outs) = match &q.body {
            SetExpr::Select(s) => {
                self.limit_hint = q.limit.as_ref().map(|l| {
                    let lit = |e: &Expr| match e {
                        Expr::Literal(Value::Integer(n)) => Some((*n).max(0) as u64),
                        _ => None,
                    };
                    // A parameter: assume a page of rows.
                    let off = q.offset.as_ref().map_or(Some(0), lit).unwrap_or(100);
                    lit(l).unwrap_or(100).saturating_add(off)
                });
                self.plan_select(s, outer, &q.order_by)?
            }
            body => {
                let (p, outs) = self.plan_set(body, outer)?;
                let p = if q.order_by.is_empty() { p } else { self.sort_outputs(p, &outs, &q.order_by)? };
                (p, outs)
            }
        };
        if q.limit.is_some() || q.offset.is_some() {
            let mut frames = outer.to_vec();
            frames.push(Frame::default());
            let limit = match &q.limit {
                Some(e) => Some(self.compile(e, &frames, None)?.e),
                None => None,
            };
            let offset = match &q.offset {
                Some(e) => Some(self.compile(e, &frames, None)?.e),
                None => None,
            };
            plan = Arc::new(Plan::Limit { input: plan, limit, offset });
        }
        Ok((plan, outs))
    }

    /// ORDER BY over the output of a compound or VALUES: terms must name output columns.
    fn sort_outputs(&mut self, p: Arc<Plan>, outs: &[OutCol], order: &[OrderItem]) -> Result<Arc<Plan>> {
        let mut keys = Vec::new();
        for o in order {
            let idx = match &o.expr {
                Expr::Literal(Value::Integer(k)) if *k >= 1 && (*k as usize) <= outs.len() => *k as usize - 1,
                Expr::Literal(Value::Integer(_)) => {
                    return Err(err(format!("ORDER BY term out of range - should be between 1 and {}", outs.len())))
                }
                Expr::Column { name, .. } => match outs.iter().position(|c| c.name.eq_ignore_ascii_case(name)) {
                    Some(i) => i,
                    None => return Err(err("ORDER BY term does not match any column in the result set")),
                },
                Expr::Collate { expr, .. } => match &**expr {
                    Expr::Literal(Value::Integer(k)) if *k >= 1 && (*k as usize) <= outs.len() => *k as usize - 1,
                    _ => return Err(err("ORDER BY term does not match any column in the result set")),
                },
                _ => return Err(err("ORDER BY term does not match any column in the result set")),
            };
            let coll = match &o.expr {
                Expr::Collate { collation, .. } => Coll::by_name(collation)?,
                _ => outs[idx].coll.unwrap_or(Coll::Binary),
            };
            keys.push(SortKey {
                expr: CExpr::Col { depth: 0, idx: idx as u32 },
                desc: o.desc,
                nulls_first: o.nulls_first.unwrap_or(!o.desc),
                coll,
            });
        }
        Ok(Arc::new(Plan::Sort { input: p, keys }))
    }

    fn plan_set(&mut self, body: &SetExpr, outer: &[Frame]) -> Result<(Arc<Plan>, Vec<OutCol>)> {
        match body {
            SetExpr::Select(s) => self.plan_select(s, outer, &[]),
            SetExpr::Values(rows) => {
                let width = rows.first().map_or(0, Vec::len);
                let mut frames = outer.to_vec();
                frames.push(Frame::default());
                let mut out = Vec::new();
                for r in rows {
                    if r.len() != width {
                        return Err(err("all VALUES must have the same number of terms"));
                    }
                    out.push(r.iter().map(|e| Ok(self.compile(e, &frames, None)?.e)).collect::<Result<Vec<_>>>()?);
                }
                let outs = (1..=width)
                    .map(|i| OutCol { name: format!("column{i}"), aff: None, coll: None, explicit_coll: false })
                    .collect();
                Ok((Arc::new(Plan::Values(out)), outs))
            }
            SetExpr::Compound { op, left, right } => {
                let (l, lo) = self.plan_set(left, outer)?;
                let (r, ro) = self.plan_set(right, outer)?;
                if lo.len() != ro.len() {
                    let what = match op {
                        CompoundOp::Union | CompoundOp::UnionAll => "UNION",
                        CompoundOp::Intersect => "INTERSECT",
                        CompoundOp::Except => "EXCEPT",
                    };
                    return Err(err(format!(
                        "SELECTs to the left and right of {what} do not have the same number of result columns"
                    )));
                }
                // Each column compares with the left side's collation, else the right one's
                // (SQLite's multiSelectCollSeq).
                let outs: Vec<OutCol> = lo
                    .into_iter()
                    .zip(&ro)
                    .map(|(l, r)| OutCol { coll: l.coll.or(r.coll), explicit_coll: false, ..l })
                    .collect();
                let colls = outs.iter().map(|o| o.coll.unwrap_or(Coll::Binary)).collect();
                Ok((Arc::new(Plan::Compound { op: *op, left: l, right: r, colls }), outs))
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // FROM

    fn source_for_name(&mut self, name: &str, alias: Option<&str>) -> Result<Source> {
        let key = lower(name);
        let alias = lower(alias.unwrap_or(name));
        if let Some(pos) = self.ctes.iter().rposition(|(n, ..)| *n == key) {
            let (_, cols, q) = self.ctes[pos].clone();
            // A CTE sees only the CTEs defined before it.
            let saved: Vec<_> = self.ctes.drain(pos..).collect();
            let r = self.plan_query(&q, &[]);
            self.ctes.extend(saved);
            let (plan, mut outs) = r?;
            rename_outputs(&mut outs, &cols)?;
            return Ok(Source {
                frame: Frame::of_outputs(&outs, &alias),
                alias,
                kind: SourceKind::Sub(plan),
                rows: 1000,
            });
        }
        if let Some(v) = self.schema.views.get(&key).cloned() {
            let saved = core::mem::take(&mut self.ctes);
            let r = self.plan_query(&v.query, &[]);
            self.ctes = saved;
            let (plan, mut outs) = r?;
            rename_outputs(&mut outs, &v.columns)?;
            return Ok(Source {
                frame: Frame::of_outputs(&outs, &alias),
                alias,
                kind: SourceKind::Sub(plan),
                rows: 1000,
            });
        }
        let t = self.schema.table(name)?.clone();
        let rows = self.txn.count_estimate(&t.storage)?;
        Ok(Source { frame: Frame::of_table(&t, &alias), alias, kind: SourceKind::Table(t), rows })
    }

    /// Flatten a FROM tree into sources and join steps (kind, ON expression) per source.
    pub(super) fn flatten(
        &mut self,
        item: &FromItem,
        outer: &[Frame],
        sources: &mut Vec<Source>,
        joins: &mut Vec<(JoinKind, Option<Expr>)>,
    ) -> Result<()> {
        match item {
            FromItem::Table { name, alias } => {
                let s = self.source_for_name(name, alias.as_deref())?;
                sources.push(s);
                joins.push((JoinKind::Cross, None));
            }
            FromItem::Subquery { query, alias } => {
                let alias = lower(alias.as_deref().unwrap_or(""));
                let (plan, outs) = self.plan_query(query, outer)?;
                sources.push(Source {
                    frame: Frame::of_outputs(&outs, &alias),
                    alias,
                    kind: SourceKind::Sub(plan),
                    rows: 1000,
                });
                joins.push((JoinKind::Cross, None));
            }
            FromItem::Join { left, right, kind, constraint } => {
                self.flatten(left, outer, sources, joins)?;
                let before = sources.len();
                self.flatten(right, outer, sources, joins)?;
                if sources.len() != before + 1 {
                    return Err(err("parenthesized joins on the right of a join are not supported"));
                }
                let on = match constraint {
                    JoinConstraint::None => None,
                    JoinConstraint::On(e) => Some(e.clone()),
                    JoinConstraint::Using(cols) => Some(self.using_expr(sources, cols)?),
                    JoinConstraint::Natural => {
                        let right = &sources[before];
                        let cols: Vec<String> = right
                            .frame
                            .cols
                            .iter()
                            .filter(|c| !c.hidden)
                            .filter(|c| {
                                sources[..before].iter().any(|s| s.frame.find(None, &c.name).ok().flatten().is_some())
                            })
                            .map(|c| c.name.to_string())
                            .collect();
                        if cols.is_empty() {
                            None
                        } else {
                            Some(self.using_expr(sources, &cols)?)
                        }
                    }
                };
                let kind = match (kind, &on) {
                    (JoinKind::Cross, Some(_)) => JoinKind::Inner,
                    (k, _) => *k,
                };
                joins[before] = (kind, on);
            }
        }
        Ok(())
    }

    /// `USING (cols)` as `left.c = right.c AND ...`; hides the right copies.
    fn using_expr(&mut self, sources: &mut [Source], cols: &[String]) -> Result<Expr> {
        let n = sources.len();
        let mut e: Option<Expr> = None;
        for c in cols {
            let left = sources[..n - 1]
                .iter()
                .find(|s| s.frame.find(None, c).ok().flatten().is_some())
                .ok_or_else(|| err(format!("cannot join using column {c} - column not present in both tables")))?;
            let lt = left.alias.clone();
            let right = &mut sources[n - 1];
            let ri = right
                .frame
                .find(None, c)?
                .ok_or_else(|| err(format!("cannot join using column {c} - column not present in both tables")))?;
            right.frame.cols[ri].hidden = true;
            right.frame.cols[ri].shadowed = true;
            let rt = right.alias.clone();
            let eq = Expr::Binary {
                op: BinaryOp::Eq,
                left: Box::new(Expr::Column { table: Some(lt), name: c.clone() }),
                right: Box::new(Expr::Column { table: Some(rt), name: c.clone() }),
            };
            e = Some(match e {
                None => eq,
                Some(p) => Expr::Binary { op: BinaryOp::And, left: Box::new(p), right: Box::new(eq) },
            });
        }
        e.ok_or_else(|| err("USING needs columns"))
    }

    /// Which sources an expression reads (subqueries: all).
    pub(super) fn mask_of(&self, e: &Expr, sources: &[Source]) -> u64 {
        if has_subquery(e) {
            return u64::MAX >> (64 - sources.len().clamp(1, 64));
        }
        let mut mask = 0u64;
        walk(e, &mut |x| {
            if let Expr::Column { table, name } = x {
                for (i, s) in sources.iter().enumerate() {
                    let hit = match table {
                        Some(t) => {
                            s.alias.eq_ignore_ascii_case(t) && s.frame.find(Some(t), name).ok().flatten().is_some()
                        }
                        None => s.frame.find(None, name).ok().flatten().is_some(),
                    };
                    if hit {
                        mask |= 1 << i;
                    }
                }
            }
        });
        mask
    }

    // -----------------------------------------------------------------------------------
    // SELECT

    fn plan_select(&mut self, sel: &Select, outer: &[Frame], order: &[OrderItem]) -> Result<(Arc<Plan>, Vec<OutCol>)> {
        let saved = core::mem::replace(&mut self.outer_frames, outer.to_vec());
        let r = self.plan_select_in(sel, outer, order);
        self.outer_frames = saved;
        r
    }

    fn plan_select_in(
        &mut self,
        sel: &Select,
        outer: &[Frame],
        order: &[OrderItem],
    ) -> Result<(Arc<Plan>, Vec<OutCol>)> {
        let limit = self.limit_hint.take();
        let mut sources = Vec::new();
        let mut joins = Vec::new();
        if let Some(from) = &sel.from {
            self.flatten(from, outer, &mut sources, &mut joins)?;
        }
        if sources.len() > 64 {
            return Err(err("at most 64 tables in a join"));
        }
        let any_left = joins.iter().any(|(k, _)| *k == JoinKind::Left);
        // Conjuncts of WHERE and of inner-join ON clauses.
        let mut exprs: Vec<&Expr> = Vec::new();
        if let Some(w) = &sel.where_ {
            if self.has_local_aggregate(w) {
                return Err(err("misuse of aggregate function in WHERE"));
            }
            conjuncts(w, &mut exprs);
        }
        // HAVING terms that read only GROUP BY columns filter rows as well as groups: they
        // join WHERE (where an access path can use them), as in SQLite.
        let (pushed, having_rest) = self.split_having(sel, &sources);
        exprs.extend(pushed);
        let mut left_on: Vec<Vec<&Expr>> = vec![Vec::new(); sources.len()];
        for (i, (kind, on)) in joins.iter().enumerate() {
            if let Some(on) = on {
                if *kind == JoinKind::Left {
                    conjuncts(on, &mut left_on[i]);
                } else {
                    conjuncts(on, &mut exprs);
                }
            }
        }
        let mut conjs: Vec<Conj> =
            exprs.into_iter().map(|e| Conj { e, mask: self.mask_of(e, &sources), used: false }).collect();
        // A LEFT join's ON reads only its own source and those before it: clamp the mask there
        // (a conjunct with a subquery gets every source from mask_of, and would otherwise wait
        // for sources placed after this join, and be lost).
        let mut lconjs: Vec<Vec<Conj>> = left_on
            .into_iter()
            .enumerate()
            .map(|(si, v)| {
                let upto = if si >= 63 { u64::MAX } else { (1u64 << (si + 1)) - 1 };
                v.into_iter().map(|e| Conj { e, mask: self.mask_of(e, &sources) & upto, used: false }).collect()
            })
            .collect();

        // Result columns (in FROM order for `*`).
        let mut items: Vec<(Expr, String)> = Vec::new();
        for rc in &sel.columns {
            match rc {
                ResultColumn::Star => {
                    if sources.is_empty() {
                        return Err(err("no tables specified"));
                    }
                    for s in &sources {
                        star_items(s, &mut items);
                    }
                }
                ResultColumn::TableStar(t) => {
                    let s = sources
                        .iter()
                        .find(|s| s.alias.eq_ignore_ascii_case(t))
                        .ok_or_else(|| err(format!("no such table: {t}")))?;
                    star_items(s, &mut items);
                }
                ResultColumn::Expr { expr, alias } => {
                    let name = alias.clone().unwrap_or_else(|| expr_name(expr));
                    items.push((expr.clone(), name));
                }
            }
        }

        let goal = self.order_goal(sel, order, &items, &sources, limit);

        // Join order.
        let order_ix: Vec<usize> = if any_left || sources.len() <= 1 {
            (0..sources.len()).collect()
        } else {
            self.join_order(&sources, &conjs)
        };

        // Build the join tree.
        let mut plan: Option<Arc<Plan>> = None;
        let mut layout = Frame::default();
        let mut placed = 0u64;
        // How the first source's access path serves the ordering goal.
        let mut served: Option<Served> = None;
        for &si in &order_ix {
            let is_left = joins[si].0 == JoinKind::Left;
            let src = &sources[si];
            let bit = 1u64 << si;
            // Which conjuncts decide access: for a LEFT join only its ON clause.
            let (access, correlated) = {
                let pool: &Vec<Conj> = if is_left { &lconjs[si] } else { &conjs };
                match &src.kind {
                    SourceKind::Table(t) => {
                        let g = goal.as_ref().filter(|g| placed == 0 && g.source == si);
                        let covers = |ix: &IndexDef| self.covers(t, ix, &src.alias, sel, order, &conjs, &lconjs);
                        let a = self.best_access(t, src, si, placed, pool, &sources, g, &covers, 0)?.map(|(_, a)| a);
                        let corr = a.as_ref().is_some_and(|a| a.reads_left);
                        (a, corr)
                    }
                    SourceKind::Sub(_) => (None, false),
                }
            };
            let covering = match (&src.kind, &access) {
                (SourceKind::Table(t), Some(Access { index: Some(ix), .. })) => {
                    self.covers(t, ix, &src.alias, sel, order, &conjs, &lconjs)
                }
                _ => false,
            };
            let needed = match &src.kind {
                SourceKind::Table(t) => self.needed_columns(t, &src.alias, sel, order, &conjs, &lconjs),
                SourceKind::Sub(_) => None,
            };
            let pool: &mut Vec<Conj> = if is_left { &mut lconjs[si] } else { &mut conjs };
            let mut right_frames = outer.to_vec();
            if correlated {
                right_frames.push(layout.clone());
            }
            right_frames.push(Frame::default()); // key expressions see no current row
            let mut right: Arc<Plan> = match (&src.kind, access) {
                (SourceKind::Table(t), Some(a)) if !a.or_branches.is_empty() => {
                    let key = row_key_positions(t);
                    // The union tells rows apart by their key: decode it.
                    let needed = needed.as_ref().map(|n| {
                        let mut n = n.to_vec();
                        for (p, _) in &key {
                            if let Some(x) = n.get_mut(*p) {
                                *x = true;
                            }
                        }
                        Arc::from(n)
                    });
                    let mut branches = Vec::with_capacity(a.or_branches.len());
                    for b in &a.or_branches {
                        branches.push(Arc::new(Plan::Scan(ScanPlan {
                            table: t.clone(),
                            alias: src.alias.clone(),
                            index: b.index.clone(),
                            covering: false,
                            keys: self.compile_keys(b, &right_frames)?,
                            reverse: false,
                            needed: needed.clone(),
                        })));
                    }
                    Arc::new(Plan::OrScan { branches, key })
                }
                (SourceKind::Table(t), Some(a)) => {
                    let keys = self.compile_keys(&a, &right_frames)?;
                    if placed == 0 {
                        served = a.served;
                    }
                    Arc::new(Plan::Scan(ScanPlan {
                        table: t.clone(),
                        alias: src.alias.clone(),
                        index: a.index.clone(),
                        covering,
                        keys,
                        reverse: a.served.is_some_and(|s| s.reverse),
                        needed: needed.clone(),
                    }))
                }
                (SourceKind::Table(t), None) => Arc::new(Plan::Scan(ScanPlan {
                    table: t.clone(),
                    alias: src.alias.clone(),
                    index: None,
                    covering: false,
                    keys: KeySpec::default(),
                    reverse: false,
                    needed,
                })),
                (SourceKind::Sub(p), _) => p.clone(),
            };
            // Filters reading only this source (and outer rows).
            right_frames.pop();
            right_frames.push(src.frame.clone());
            let mut local = Vec::new();
            for c in pool.iter_mut() {
                if !c.used && c.mask & !bit == 0 {
                    local.push(self.compile(c.e, &right_frames, None)?.e);
                    c.used = true;
                }
            }
            // On a LEFT join, WHERE conjuncts reading only earlier sources could be applied
            // earlier; keep them simple: they run after the join.
            if let Some(p) = and_all(local) {
                right = Arc::new(Plan::Filter { input: right, pred: p });
            }
            let width = src.frame.cols.len();
            let mut new_layout = layout.clone();
            new_layout.cols.extend(src.frame.cols.iter().cloned());
            let mut join_frames = outer.to_vec();
            join_frames.push(new_layout.clone());
            plan = Some(match plan.take() {
                None => right,
                Some(left) => {
                    let now = placed | bit;
                    // Conjuncts that become evaluable with this source.
                    let mut on_parts = Vec::new();
                    let mut hash_l = Vec::new();
                    let mut hash_r = Vec::new();
                    for c in pool.iter_mut() {
                        if c.used || c.mask & !now != 0 {
                            continue;
                        }
                        if !correlated {
                            if let Some((l, r)) = self.equi_keys(c.e, &layout, &src.frame, outer)? {
                                hash_l.push(l);
                                hash_r.push(r);
                            }
                        }
                        on_parts.push(self.compile(c.e, &join_frames, None)?.e);
                        c.used = true;
                    }
                    let on = and_all(on_parts);
                    if correlated || hash_l.is_empty() {
                        Arc::new(Plan::NestedLoop {
                            left,
                            right,
                            correlated,
                            right_width: width,
                            on,
                            left_join: is_left,
                        })
                    } else {
                        Arc::new(Plan::HashJoin {
                            left,
                            right,
                            left_keys: hash_l,
                            right_keys: hash_r,
                            right_width: width,
                            on,
                            left_join: is_left,
                        })
                    }
                }
            });
            layout = new_layout;
            placed |= bit;
        }
        // Every ON conjunct of a LEFT join was placed at its join.
        if lconjs.iter().flatten().any(|c| !c.used) {
            return Err(crate::sql::exec::eval::internal("a LEFT JOIN ON term was not placed"));
        }
        let mut plan = plan.unwrap_or_else(|| Arc::new(Plan::One));
        let mut frames = outer.to_vec();
        frames.push(layout.clone());
        let rest: Vec<CExpr> =
            conjs.iter().filter(|c| !c.used).map(|c| Ok(self.compile(c.e, &frames, None)?.e)).collect::<Result<_>>()?;
        if let Some(p) = and_all(rest) {
            plan = Arc::new(Plan::Filter { input: plan, pred: p });
        }
        // (`served` is set only when the first source's path was chosen for `goal`.)
        let goal_kind = goal.as_ref().map(|g| g.kind);
        // min/max served by a key path: the first row with a non-NULL value is the answer.
        if let (Some(_), Some(GoalKind::MinMax), Some(g)) = (served, goal_kind, &goal) {
            let col = g.arg.clone().ok_or_else(|| err("min/max goal"))?;
            let pred = self.compile(&Expr::IsNull { expr: Box::new(col), negated: true }, &frames, None)?.e;
            plan = Arc::new(Plan::Filter { input: plan, pred });
            plan = Arc::new(Plan::Limit { input: plan, limit: Some(CExpr::Const(Value::Integer(1))), offset: None });
        }

        // Aggregation, also of this query's aggregates written inside its subqueries.
        // Those in ORDER BY count only when the query is an aggregate for another reason
        // (SQLite reports "misuse of aggregate" otherwise).
        let mut outer_aggs = {
            let mut scanned: Vec<&Expr> = items.iter().map(|(e, _)| e).collect();
            scanned.extend(sel.having.iter());
            self.outer_aggregates(&scanned, &layout)
        };
        let grouped = !sel.group_by.is_empty()
            || !outer_aggs.is_empty()
            || items.iter().any(|(e, _)| self.has_local_aggregate(e))
            || sel.having.as_ref().is_some_and(|h| self.has_local_aggregate(h))
            || order.iter().any(|o| self.has_local_aggregate(&o.expr));
        let in_order: Vec<&Expr> = order.iter().map(|o| &o.expr).collect();
        for oa in self.outer_aggregates(&in_order, &layout) {
            if !grouped {
                return Err(misuse_of(&oa));
            }
            if !outer_aggs.contains(&oa) {
                outer_aggs.push(oa);
            }
        }
        // In WHERE, this query's aggregates are misused wherever they are written.
        if let Some(oa) = sel.where_.as_ref().and_then(|w| self.outer_aggregates(&[w], &layout).into_iter().next()) {
            return Err(misuse_of(&oa));
        }
        let group_exprs: Vec<Expr> =
            sel.group_by.iter().map(|g| resolve_alias_or_number(g, &items, true)).collect::<Result<_>>()?;
        let order_exprs: Vec<Expr> =
            order.iter().map(|o| resolve_alias_or_number(&o.expr, &items, false)).collect::<Result<_>>()?;
        let mut agg_nodes: Vec<Expr> = Vec::new();
        let post_frames = if grouped {
            for (e, _) in &items {
                self.collect_aggs(e, &mut agg_nodes);
            }
            if let Some(h) = &sel.having {
                self.collect_aggs(h, &mut agg_nodes);
            }
            for o in &order_exprs {
                self.collect_aggs(o, &mut agg_nodes);
            }
            for oa in &outer_aggs {
                if !agg_nodes.contains(oa) {
                    agg_nodes.push(oa.clone());
                }
            }
            for g in &group_exprs {
                if self.has_local_aggregate(g) {
                    return Err(err("aggregate functions are not allowed in the GROUP BY clause"));
                }
            }
            let mut aggs = Vec::new();
            for call in &agg_nodes {
                let Expr::Function { name, args, distinct, star } = call else { continue };
                let kind = functions::aggregate(&name.to_ascii_lowercase(), args.len(), *star)?
                    .ok_or_else(|| err("aggregate"))?;
                if args.iter().any(has_aggregate) {
                    return Err(err(format!("misuse of aggregate function {name}()")));
                }
                let mut cargs = Vec::new();
                let mut coll = None;
                for a in args {
                    let t = self.compile(a, &frames, None)?;
                    coll = coll.or(t.coll);
                    cargs.push(t.e);
                }
                aggs.push(AggSpec { kind, distinct: *distinct, args: cargs, coll: coll.unwrap_or(Coll::Binary) });
            }
            let mut group = Vec::new();
            let mut group_colls = Vec::new();
            for g in &group_exprs {
                let t = self.compile(g, &frames, None)?;
                group.push(t.e);
                group_colls.push(t.coll.unwrap_or(Coll::Binary));
            }
            let mut post = Frame::default();
            for _ in 0..group.len() + aggs.len() {
                post.cols.push(FrameCol {
                    table: None,
                    name: "".into(),
                    hidden: true,
                    shadowed: true,
                    aff: None,
                    coll: None,
                });
            }
            post.cols.extend(layout.cols.iter().cloned());
            let sorted = served.is_some() && goal_kind == Some(GoalKind::Group);
            plan = if let Some(t) = self.whole_table_count(sel, &sources, &conjs, &group, &aggs, order) {
                Arc::new(Plan::Count { table: t, input_width: layout.cols.len() })
            } else {
                Arc::new(Plan::Aggregate {
                    input: plan,
                    group,
                    group_colls,
                    aggs,
                    input_width: layout.cols.len(),
                    sorted,
                })
            };
            let mut pf = outer.to_vec();
            pf.push(post);
            pf
        } else {
            if sel.having.is_some() {
                return Err(err("a GROUP BY clause is required before HAVING"));
            }
            frames.clone()
        };
        let post = PostAgg { group: &group_exprs, aggs: &agg_nodes };
        let post_ref = grouped.then_some(&post);
        // While the expressions after grouping compile, subqueries find this query's
        // aggregates of theirs in the group's slots.
        let registered = self.outer_aggs.len();
        for oa in &outer_aggs {
            let j = agg_nodes.iter().position(|a| a == oa).unwrap_or(0);
            self.outer_aggs.push(crate::sql::planner::outer_agg::OuterAgg {
                expr: oa.clone(),
                level: post_frames.len() - 1,
                idx: (group_exprs.len() + j) as u32,
            });
        }
        let ordered = served.is_some_and(|s| s.ordered);
        let r = self.finish_select(
            sel,
            having_rest.as_ref(),
            order,
            &order_exprs,
            &items,
            &post_frames,
            post_ref,
            plan,
            ordered,
        );
        self.outer_aggs.truncate(registered);
        r
    }

    /// HAVING, ORDER BY, projection and DISTINCT of a select, over its (grouped) rows.
    #[allow(clippy::too_many_arguments)]
    fn finish_select(
        &mut self,
        sel: &Select,
        having: Option<&Expr>,
        order: &[OrderItem],
        order_exprs: &[Expr],
        items: &[(Expr, String)],
        post_frames: &[Frame],
        post_ref: Option<&PostAgg>,
        mut plan: Arc<Plan>,
        ordered: bool,
    ) -> Result<(Arc<Plan>, Vec<OutCol>)> {
        if let Some(h) = having {
            let p = self.compile(h, post_frames, post_ref)?.e;
            plan = Arc::new(Plan::Filter { input: plan, pred: p });
        }
        // ORDER BY before projection (terms may use any column); aliases and numbers refer
        // to result columns. Rows that arrive in order (`order`) need no sort; the terms are
        // still compiled, to report their errors.
        if !order.is_empty() {
            let mut keys = Vec::new();
            for (o, e) in order.iter().zip(order_exprs) {
                let t = self.compile(e, post_frames, post_ref)?;
                keys.push(SortKey {
                    expr: t.e,
                    desc: o.desc,
                    nulls_first: o.nulls_first.unwrap_or(!o.desc),
                    coll: t.coll.unwrap_or(Coll::Binary),
                });
            }
            if !ordered {
                plan = Arc::new(Plan::Sort { input: plan, keys });
            }
        }
        let mut outs = Vec::new();
        let mut exprs = Vec::new();
        for (e, name) in items {
            let t = self.compile(e, post_frames, post_ref)?;
            outs.push(OutCol { name: name.clone(), aff: t.aff, coll: t.coll, explicit_coll: t.explicit_coll });
            exprs.push(t.e);
        }
        plan = Arc::new(Plan::Project { input: plan, exprs });
        if sel.distinct {
            let colls = outs.iter().map(|o| o.coll.unwrap_or(Coll::Binary)).collect();
            plan = Arc::new(Plan::Distinct { input: plan, colls });
        }
        Ok((plan, outs))
    }
}

/// SQLite's error for an aggregate of this query written inside a subquery where this query
/// does not aggregate (its WHERE, or ORDER BY of a non-aggregate query).
fn misuse_of(call: &Expr) -> Error {
    let name = match call {
        Expr::Function { name, .. } => name.as_str(),
        _ => "",
    };
    err(format!("misuse of aggregate: {name}()"))
}

impl Planner<'_> {
    /// The aggregate calls of this query in `e` (not those of an enclosing query).
    pub(super) fn collect_aggs(&self, e: &Expr, out: &mut Vec<Expr>) {
        walk(e, &mut |x| {
            if self.is_local_aggregate(x) && !out.contains(x) {
                out.push(x.clone());
            }
        });
    }

    /// The HAVING terms of a grouped SELECT that can filter rows before grouping (no
    /// aggregate, no subquery, every column a GROUP BY term that groups under BINARY and no
    /// result alias shadows), and the HAVING of the rest (`sel.having` when nothing moves).
    fn split_having<'q>(&self, sel: &'q Select, sources: &[Source]) -> (Vec<&'q Expr>, Option<Expr>) {
        let Some(h) = &sel.having else { return (Vec::new(), None) };
        if sel.group_by.is_empty() {
            return (Vec::new(), Some(h.clone()));
        }
        let aliases: Vec<&str> = sel
            .columns
            .iter()
            .filter_map(|c| match c {
                ResultColumn::Expr { alias: Some(a), .. } => Some(a.as_str()),
                _ => None,
            })
            .collect();
        let group_col = |x: &Expr| {
            let Expr::Column { name, .. } = x else { return false };
            !aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
                && sel.group_by.iter().any(|g| g == x)
                && matches!(self.static_coll(x, sources), Some((None | Some(Coll::Binary), _)))
        };
        let mut terms = Vec::new();
        conjuncts(h, &mut terms);
        let (mut pushed, mut rest) = (Vec::new(), Vec::new());
        for t in terms {
            let mut ok = !self.has_local_aggregate(t) && !has_subquery(t);
            walk(t, &mut |x| {
                ok &= match x {
                    Expr::Column { .. } => group_col(x),
                    Expr::Collate { .. } => false,
                    _ => true,
                }
            });
            if ok {
                pushed.push(t);
            } else {
                rest.push(t.clone());
            }
        }
        if pushed.is_empty() {
            return (pushed, Some(h.clone()));
        }
        let rest =
            rest.into_iter().reduce(|l, r| Expr::Binary { op: BinaryOp::And, left: Box::new(l), right: Box::new(r) });
        (pushed, rest)
    }

    /// Whether `e` holds an aggregate call of this query (not looking into subqueries).
    pub(super) fn has_local_aggregate(&self, e: &Expr) -> bool {
        let mut found = false;
        walk(e, &mut |x| found |= self.is_local_aggregate(x));
        found
    }
}

/// Where a row of `t` (the scan layout) holds its row key: the rowid after the columns, or the
/// PRIMARY KEY columns of a WITHOUT ROWID table, with their collations.
fn row_key_positions(t: &TableDef) -> Vec<(usize, Coll)> {
    match &t.pk {
        crate::sql::catalog::PrimaryKey::Rowid { .. } => vec![(t.columns.len(), Coll::Binary)],
        crate::sql::catalog::PrimaryKey::Columns(cols) => cols
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (*c, t.pk_colls.get(i).copied().unwrap_or(Coll::Binary)))
            .collect(),
    }
}

fn star_items(s: &Source, items: &mut Vec<(Expr, String)>) {
    for c in &s.frame.cols {
        if !c.hidden {
            items.push((Expr::Column { table: Some(s.alias.clone()), name: c.name.to_string() }, c.name.to_string()));
        }
    }
}

/// In ORDER BY / GROUP BY: an integer literal is a result column number, a bare name that is
/// a result alias is that result's expression.
pub(super) fn resolve_alias_or_number(e: &Expr, items: &[(Expr, String)], group: bool) -> Result<Expr> {
    match e {
        Expr::Literal(Value::Integer(k)) => {
            if *k >= 1 && (*k as usize) <= items.len() {
                Ok(items[*k as usize - 1].0.clone())
            } else {
                let what = if group { "GROUP BY" } else { "ORDER BY" };
                Err(err(format!("{} term out of range - should be between 1 and {}", what, items.len())))
            }
        }
        Expr::Column { table: None, name } => {
            match items.iter().find(|(x, n)| {
                n.eq_ignore_ascii_case(name)
                    && !matches!(x, Expr::Column { name: cn, .. } if cn.eq_ignore_ascii_case(name))
            }) {
                Some((x, _)) if !group || !has_aggregate(x) => Ok(x.clone()),
                _ => Ok(e.clone()),
            }
        }
        Expr::Collate { expr, collation } => Ok(Expr::Collate {
            expr: Box::new(resolve_alias_or_number(expr, items, group)?),
            collation: collation.clone(),
        }),
        _ => Ok(e.clone()),
    }
}

fn rename_outputs(outs: &mut [OutCol], cols: &[String]) -> Result<()> {
    if cols.is_empty() {
        return Ok(());
    }
    if cols.len() != outs.len() {
        return Err(err(format!("expected {} columns but {} values were given", cols.len(), outs.len())));
    }
    for (o, c) in outs.iter_mut().zip(cols) {
        o.name = c.clone();
    }
    Ok(())
}
