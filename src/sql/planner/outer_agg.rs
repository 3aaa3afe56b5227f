//! Aggregates of an outer query written inside a subquery.
//!
//! SQLite gives an aggregate call to the query its column references come from: in
//! `SELECT (SELECT max(t.x)) FROM t` the `max` reads only `t`, a column of the outer query,
//! so the outer query is an aggregate query (one row) and the subquery sees `max(t.x)` as a
//! value of that query's group, like a correlated column. An aggregate that reads a column
//! of the subquery's own FROM (or reads no column) stays the subquery's.
//!
//! The outer query finds such calls before it plans its grouping ([`Planner::outer_aggregates`])
//! and aggregates them with its own; while it compiles the expressions that run after
//! grouping, each call is registered ([`OuterAgg`]) so that compiling the subquery resolves
//! it to the group's slot instead of aggregating it there.
//!
//! Which query a column belongs to is decided on names, before planning: a reference is the
//! subquery's when it names one of the subquery's FROM aliases or one of the columns of its
//! FROM tables. A FROM item whose columns are not known here (a view, a CTE, a subquery)
//! claims every unqualified name, which keeps such aggregates where they were.

use crate::sql::catalog::lower;
use crate::sql::parser::ast::{Expr, FromItem, JoinConstraint, Query, ResultColumn, SetExpr};
use crate::sql::planner::select::{is_aggregate_call, walk, Frame, Planner};
use alloc::string::String;
use alloc::vec::Vec;

/// An outer aggregate while the subqueries of its query are compiled: the call, the index of
/// its query's post-grouping frame in the frame chain, and its slot in that frame.
#[derive(Debug, Clone)]
pub(crate) struct OuterAgg {
    pub(crate) expr: Expr,
    pub(crate) level: usize,
    pub(crate) idx: u32,
}

/// The names one FROM clause brings into scope: each item's alias and its columns, when
/// known.
type Scope = Vec<(String, Option<Vec<String>>)>;

impl Planner<'_> {
    /// The aggregate calls inside subqueries of `exprs` that read only columns of `layout`
    /// (the query being planned), in first-seen order without duplicates.
    pub(super) fn outer_aggregates(&self, exprs: &[&Expr], layout: &Frame) -> Vec<Expr> {
        let mut out = Vec::new();
        let mut scopes = Vec::new();
        for e in exprs {
            self.scan_expr(e, &mut scopes, layout, &mut out);
        }
        out
    }

    /// Whether `x` is an aggregate call of the query being planned: an aggregate call that is
    /// not registered as an outer query's.
    pub(super) fn is_local_aggregate(&self, x: &Expr) -> bool {
        match x {
            Expr::Function { name, args, star, .. } => {
                is_aggregate_call(name, args.len(), *star) && !self.outer_aggs.iter().any(|o| o.expr == *x)
            }
            _ => false,
        }
    }

    /// The slot of a registered outer aggregate seen from `frames`: (depth, index, level).
    pub(super) fn outer_agg_slot(&self, x: &Expr, frames: &[Frame]) -> Option<(u32, u32, usize)> {
        let o = self.outer_aggs.iter().rev().find(|o| o.level < frames.len() && o.expr == *x)?;
        Some(((frames.len() - 1 - o.level) as u32, o.idx, o.level))
    }

    fn scan_expr(&self, e: &Expr, scopes: &mut Vec<Scope>, layout: &Frame, out: &mut Vec<Expr>) {
        walk(e, &mut |x| match x {
            Expr::Subquery(q) | Expr::Exists { query: q, .. } | Expr::InSubquery { query: q, .. } => {
                self.scan_query(q, scopes, layout, out)
            }
            Expr::Function { name, args, star, .. }
                if !scopes.is_empty()
                    && is_aggregate_call(name, args.len(), *star)
                    && !out.contains(x)
                    && reads_only(args, scopes, layout) =>
            {
                out.push(x.clone())
            }
            _ => {}
        });
    }

    fn scan_query(&self, q: &Query, scopes: &mut Vec<Scope>, layout: &Frame, out: &mut Vec<Expr>) {
        self.scan_set(&q.body, scopes, layout, out);
        // ORDER BY, LIMIT and OFFSET of a compound see no FROM of their own; of a simple
        // select, its FROM: scan them inside that scope (approximated by the last select).
        if let SetExpr::Select(sel) = &q.body {
            scopes.push(self.scope_of(sel.from.as_ref()));
            for o in &q.order_by {
                self.scan_expr(&o.expr, scopes, layout, out);
            }
            scopes.pop();
        }
        for e in q.limit.iter().chain(q.offset.iter()) {
            self.scan_expr(e, scopes, layout, out);
        }
    }

    fn scan_set(&self, body: &SetExpr, scopes: &mut Vec<Scope>, layout: &Frame, out: &mut Vec<Expr>) {
        match body {
            SetExpr::Select(sel) => {
                scopes.push(self.scope_of(sel.from.as_ref()));
                if let Some(f) = &sel.from {
                    self.scan_from(f, scopes, layout, out);
                }
                for rc in &sel.columns {
                    if let ResultColumn::Expr { expr, .. } = rc {
                        self.scan_expr(expr, scopes, layout, out);
                    }
                }
                for e in sel.where_.iter().chain(sel.group_by.iter()).chain(sel.having.iter()) {
                    self.scan_expr(e, scopes, layout, out);
                }
                scopes.pop();
            }
            SetExpr::Values(rows) => {
                scopes.push(Vec::new());
                for e in rows.iter().flatten() {
                    self.scan_expr(e, scopes, layout, out);
                }
                scopes.pop();
            }
            SetExpr::Compound { left, right, .. } => {
                self.scan_set(left, scopes, layout, out);
                self.scan_set(right, scopes, layout, out);
            }
        }
    }

    fn scan_from(&self, f: &FromItem, scopes: &mut Vec<Scope>, layout: &Frame, out: &mut Vec<Expr>) {
        if let FromItem::Join { left, right, constraint, .. } = f {
            self.scan_from(left, scopes, layout, out);
            self.scan_from(right, scopes, layout, out);
            if let JoinConstraint::On(e) = constraint {
                self.scan_expr(e, scopes, layout, out);
            }
        }
    }

    fn scope_of(&self, from: Option<&FromItem>) -> Scope {
        let mut scope = Vec::new();
        if let Some(f) = from {
            self.add_items(f, &mut scope);
        }
        scope
    }

    fn add_items(&self, f: &FromItem, scope: &mut Scope) {
        match f {
            FromItem::Table { name, alias } => {
                let cols = match self.schema.tables.get(&lower(name)) {
                    Some(t) if !self.ctes.iter().any(|(n, ..)| n.eq_ignore_ascii_case(name)) => {
                        Some(t.columns.iter().map(|c| c.name.clone()).collect())
                    }
                    _ => None,
                };
                scope.push((alias.clone().unwrap_or_else(|| name.clone()), cols));
            }
            FromItem::Subquery { alias, .. } => scope.push((alias.clone().unwrap_or_default(), None)),
            FromItem::Join { left, right, .. } => {
                self.add_items(left, scope);
                self.add_items(right, scope);
            }
        }
    }
}

/// Whether the arguments of an aggregate call read at least one column, every one of them
/// resolving in `layout` and none in the subqueries' scopes (nor inside a nested subquery).
fn reads_only(args: &[Expr], scopes: &[Scope], layout: &Frame) -> bool {
    let mut refs = 0usize;
    let mut ok = true;
    for a in args {
        walk(a, &mut |x| match x {
            Expr::Column { table, name } => {
                refs += 1;
                let has = |cols: &Option<Vec<String>>| {
                    cols.as_ref().is_none_or(|cs| cs.iter().any(|c| c.eq_ignore_ascii_case(name)))
                };
                // `t.x` where the subquery's `t` has no `x` is the outer query's (SQLite
                // looks outward for the column, not only for the alias).
                let local = scopes.iter().flatten().any(|(alias, cols)| match table {
                    Some(t) => alias.eq_ignore_ascii_case(t) && has(cols),
                    None => has(cols),
                });
                if local || !matches!(layout.find(table.as_deref(), name), Ok(Some(_))) {
                    ok = false;
                }
            }
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ok = false,
            _ => {}
        });
    }
    ok && refs > 0
}
