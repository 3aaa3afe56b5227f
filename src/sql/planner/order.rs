//! Order from access paths: when the order a scan visits keys in is the order a query wants,
//! the query needs no sort, and under a LIMIT it stops reading after the rows it returns.
//!
//! A SELECT states one *goal* ([`OrderGoal`]) about the order of its first source's rows:
//! - `Sort`: its ORDER BY (a query without aggregates), every term a column of one table;
//! - `Group`: its GROUP BY, every term a column of one table; grouped input is aggregated as
//!   a stream (`Plan::Aggregate { sorted }`), and an ORDER BY over the same columns then needs
//!   no sort either;
//! - `MinMax`: a query whose only aggregate is `min(col)` or `max(col)` over one table: the
//!   first non-NULL key of an ascending (min) or descending (max) scan is the answer.
//!
//! A key path serves a goal when, after the columns its equalities bind, its key columns
//! (an index's columns then the row key; the table's own key) come in the goal's order: same
//! column, same collation, one scan direction for all terms (a DESC key column flips it), and
//! NULLs where SQLite puts them by default (first ascending, last descending). Terms on
//! columns an equality binds are constant and skipped; terms after the full key are
//! decided already. The access path choice (`access`) weighs this: a served goal saves the
//! sort, and under a LIMIT reads only as many rows as the LIMIT needs.

use crate::sql::catalog::{IndexDef, PrimaryKey, TableDef};
use crate::sql::parser::ast::{Expr, OrderItem, ResultColumn, Select};
use crate::sql::planner::expr::CExpr;
use crate::sql::planner::plan::AggSpec;
use crate::sql::planner::select::{has_subquery, resolve_alias_or_number, Conj, Planner, Source, SourceKind};
use crate::sql::types::collation::Coll;
use crate::sql::types::functions::AggregateKind;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// What the query wants from the order of its first source's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GoalKind {
    /// ORDER BY of a query without aggregates.
    Sort,
    /// GROUP BY (any direction), then possibly an ORDER BY over the groups.
    Group,
    /// The only aggregate is min or max of a column.
    MinMax,
}

/// One ordering term on a column of the goal's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GoalTerm {
    /// Column position; `usize::MAX` for the rowid.
    pub(super) col: usize,
    /// The collation the term orders (or groups) by.
    pub(super) coll: Coll,
    /// Descending.
    pub(super) desc: bool,
    /// NULLs first.
    pub(super) nulls_first: bool,
}

/// A query's ordering goal (see the module doc).
#[derive(Debug, Clone)]
pub(super) struct OrderGoal {
    pub(super) kind: GoalKind,
    /// The source (position in FROM) all terms belong to.
    pub(super) source: usize,
    /// ORDER BY terms (`Sort`), GROUP BY terms (`Group`) or the min/max column (`MinMax`, desc
    /// for max).
    pub(super) terms: Vec<GoalTerm>,
    /// `Group`: the ORDER BY over the groups, when every term is a column of the source
    /// (`None`: there is an ORDER BY that grouped input cannot serve).
    pub(super) then: Option<Vec<GoalTerm>>,
    /// Rows the query wants when the order is served (LIMIT + OFFSET), if it has a LIMIT.
    pub(super) limit: Option<u64>,
    /// `MinMax`: the aggregate's argument.
    pub(super) arg: Option<Expr>,
}

/// How a key path serves a goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Served {
    /// Scan in descending key order.
    pub(super) reverse: bool,
    /// The query's rows come out in its ORDER BY order (no sort needed): always for `Sort`;
    /// for `Group` when its ORDER BY is served too.
    pub(super) ordered: bool,
}

/// A key column: (column position or `usize::MAX` for the rowid, collation, DESC).
pub(super) type KeyCol = (usize, Coll, bool);

/// The key columns a scan of `t` through `index` (None: the table's own key) visits keys in:
/// the index's columns then the row key, or the table's own key.
pub(super) fn full_key(t: &TableDef, index: Option<&IndexDef>) -> Vec<KeyCol> {
    let coll = |colls: &[Coll], i: usize| colls.get(i).copied().unwrap_or(Coll::Binary);
    let mut v: Vec<KeyCol> = Vec::new();
    if let Some(ix) = index {
        v.extend(ix.columns.iter().enumerate().map(|(i, (c, d))| (*c, coll(&ix.colls, i), *d)));
    }
    match &t.pk {
        PrimaryKey::Rowid { .. } => v.push((usize::MAX, Coll::Binary, false)),
        PrimaryKey::Columns(cols) => {
            v.extend(cols.iter().enumerate().map(|(i, (c, d))| (*c, coll(&t.pk_colls, i), *d)))
        }
    }
    v
}

/// Whether a term on column `col` under `coll` is constant when the key's first `eq` columns
/// are bound by equalities (an equality under BINARY binds the value; one under the term's
/// own collation binds it as far as the term can tell).
fn bound(key: &[KeyCol], eq: usize, col: usize, coll: Coll) -> bool {
    key[..eq.min(key.len())].iter().any(|(c, kc, _)| *c == col && (*kc == Coll::Binary || *kc == coll))
}

/// Whether `terms`, in order, follow the key from position `eq` on (after skipping bound
/// terms), with one scan direction; terms after position `unique_after` (rows are distinct
/// there) are decided already. `nulls`: the terms' NULL placement must be the default.
/// Some(reverse) when they do.
fn follows(terms: &[GoalTerm], key: &[KeyCol], eq: usize, unique_after: usize, nulls: bool) -> Option<bool> {
    let mut pos = eq;
    let mut reverse = None;
    for t in terms {
        if pos >= unique_after {
            break;
        }
        if bound(key, eq, t.col, t.coll) {
            continue;
        }
        let (c, kc, d) = *key.get(pos)?;
        if c != t.col || (kc != t.coll && c != usize::MAX) {
            return None;
        }
        if nulls && t.nulls_first == t.desc {
            return None;
        }
        let rev = t.desc != d;
        if *reverse.get_or_insert(rev) != rev {
            return None;
        }
        pos += 1;
    }
    Some(reverse.unwrap_or(false))
}

impl OrderGoal {
    /// How a scan of `key` with its first `eq` columns bound by equalities serves the goal
    /// (None: it does not).
    pub(super) fn served_by(&self, key: &[KeyCol], eq: usize) -> Option<Served> {
        match self.kind {
            GoalKind::Sort => {
                let reverse = follows(&self.terms, key, eq, key.len(), true)?;
                Some(Served { reverse, ordered: true })
            }
            GoalKind::MinMax => {
                let reverse = follows(&self.terms, key, eq, key.len(), false)?;
                Some(Served { reverse, ordered: false })
            }
            GoalKind::Group => {
                // The unbound GROUP BY columns must be the next key columns, in any order.
                let free: Vec<&GoalTerm> = self.terms.iter().filter(|t| !bound(key, eq, t.col, t.coll)).collect();
                let next = key.get(eq..eq + free.len())?;
                let mut seen = 0u64;
                for t in &free {
                    let j = next.iter().position(|(c, kc, _)| *c == t.col && (*kc == t.coll || *c == usize::MAX))?;
                    if j >= 64 || seen & (1 << j) != 0 {
                        return None;
                    }
                    seen |= 1 << j;
                }
                let then = self.then.as_deref().and_then(|o| follows(o, key, eq, eq + free.len(), true));
                Some(Served { reverse: then.unwrap_or(false), ordered: then.is_some() })
            }
        }
    }

    /// How many rows a scan reads per row that passes the conjuncts it does not use:
    /// `unused` = (equalities, other conjuncts); an equality keeps one row in 100, any other
    /// conjunct one in 4.
    pub(super) fn filtered(unused: (usize, usize)) -> u64 {
        100u64.saturating_pow(unused.0.min(20) as u32).saturating_mul(4u64.saturating_pow(unused.1.min(30) as u32))
    }

    /// Rows a scan producing `rows` reads when it serves the goal: under a LIMIT only enough
    /// to pass `limit` rows through the conjuncts it does not use.
    pub(super) fn rows_read(&self, rows: u64, unused: (usize, usize)) -> u64 {
        match self.limit {
            Some(l) => l.max(1).saturating_mul(Self::filtered(unused)).min(rows),
            None => rows,
        }
    }
}

impl Planner<'_> {
    /// The ordering goal of a SELECT (see the module doc), or None when it has none that a key
    /// order could serve. `items` are its result columns, `limit` its LIMIT + OFFSET.
    pub(super) fn order_goal(
        &self,
        sel: &Select,
        order: &[OrderItem],
        items: &[(Expr, String)],
        sources: &[Source],
        limit: Option<u64>,
    ) -> Option<OrderGoal> {
        let aggregated = items.iter().any(|(e, _)| self.has_local_aggregate(e))
            || sel.having.as_ref().is_some_and(|h| self.has_local_aggregate(h))
            || order.iter().any(|o| self.has_local_aggregate(&o.expr));
        let order_terms = |src: &mut Option<usize>| -> Option<Vec<GoalTerm>> {
            order
                .iter()
                .map(|o| {
                    let e = resolve_alias_or_number(&o.expr, items, false).ok()?;
                    self.goal_term(&e, sources, src, o.desc, o.nulls_first.unwrap_or(!o.desc))
                })
                .collect()
        };
        let mut source = None;
        if !sel.group_by.is_empty() {
            let terms = sel
                .group_by
                .iter()
                .map(|g| {
                    let e = resolve_alias_or_number(g, items, true).ok()?;
                    self.goal_term(&e, sources, &mut source, false, true)
                })
                .collect::<Option<Vec<_>>>()?;
            let then = order_terms(&mut source);
            return Some(OrderGoal { kind: GoalKind::Group, source: source?, terms, then, limit: None, arg: None });
        }
        if !aggregated {
            if order.is_empty() {
                return None;
            }
            let terms = order_terms(&mut source)?;
            // Under DISTINCT a row out may take many rows in.
            let limit = limit.filter(|_| !sel.distinct);
            return Some(OrderGoal { kind: GoalKind::Sort, source: source?, terms, then: None, limit, arg: None });
        }
        // min() or max() of a column, the query's only aggregate, over one table.
        if sources.len() != 1 {
            return None;
        }
        let mut exprs: Vec<&Expr> = Vec::new();
        for rc in &sel.columns {
            match rc {
                ResultColumn::Expr { expr, .. } => exprs.push(expr),
                _ => return None,
            }
        }
        exprs.extend(sel.having.iter());
        exprs.extend(order.iter().map(|o| &o.expr));
        if exprs.iter().any(|e| has_subquery(e)) {
            return None;
        }
        let mut calls = Vec::new();
        for e in exprs {
            self.collect_aggs(e, &mut calls);
        }
        let [Expr::Function { name, args, star: false, .. }] = calls.as_slice() else { return None };
        let max = name.eq_ignore_ascii_case("max");
        if !(max || name.eq_ignore_ascii_case("min")) || args.len() != 1 {
            return None;
        }
        let term = self.goal_term(&args[0], sources, &mut source, max, !max)?;
        Some(OrderGoal {
            kind: GoalKind::MinMax,
            source: source?,
            terms: alloc::vec![term],
            then: None,
            limit: Some(1),
            arg: Some(args[0].clone()),
        })
    }

    /// A term on a column of one table source (all terms of a goal on the same one, kept in
    /// `src`), with the collation it compares under.
    fn goal_term(
        &self,
        e: &Expr,
        sources: &[Source],
        src: &mut Option<usize>,
        desc: bool,
        nulls_first: bool,
    ) -> Option<GoalTerm> {
        let (si, col) = sources.iter().enumerate().find_map(|(si, s)| match &s.kind {
            SourceKind::Table(t) => self.own_column(e, t, s).map(|c| (si, c)),
            SourceKind::Sub(_) => None,
        })?;
        if *src.get_or_insert(si) != si {
            return None;
        }
        let coll =
            if col == usize::MAX { Coll::Binary } else { self.static_coll(e, sources)?.0.unwrap_or(Coll::Binary) };
        Some(GoalTerm { col, coll, desc, nulls_first })
    }

    /// The table whose entry count answers the query: `SELECT count(*) FROM t` without WHERE
    /// or GROUP BY, reading no column of `t` (its only aggregate is count(*)).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn whole_table_count(
        &self,
        sel: &Select,
        sources: &[Source],
        conjs: &[Conj],
        group: &[CExpr],
        aggs: &[AggSpec],
        order: &[OrderItem],
    ) -> Option<Arc<TableDef>> {
        let [Source { kind: SourceKind::Table(t), alias, .. }] = sources else { return None };
        let [AggSpec { kind: AggregateKind::CountStar, .. }] = aggs else { return None };
        if !conjs.is_empty() || !group.is_empty() {
            return None;
        }
        let need = self.needed_columns(t, alias, sel, order, conjs, &[])?;
        need.iter().all(|n| !n).then(|| t.clone())
    }
}
