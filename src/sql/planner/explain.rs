//! EXPLAIN: a plan printed as indented lines, one per plan node (the access path of each
//! scan, the join method, grouping, sorting, limits); EXPLAIN QUERY PLAN: the same plan in
//! SQLite's shape and words ([`query_plan`]).

use crate::sql::catalog::PrimaryKey;
use crate::sql::parser::ast::CompoundOp;
use crate::sql::planner::expr::CExpr;
use crate::sql::planner::plan::{KeySpec, Plan, ScanPlan};
use alloc::string::String;
use alloc::vec::Vec;

/// Lines describing a plan (EXPLAIN).
pub fn explain(plan: &Plan, depth: usize, out: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    let line = match plan {
        Plan::One => "ONE ROW".into(),
        Plan::Values(v) => alloc::format!("VALUES ({} rows)", v.len()),
        Plan::Rows(v) => alloc::format!("ROWS ({} rows)", v.len()),
        Plan::Scan(sp) => {
            let what = match (&sp.index, sp.keys.is_full()) {
                (None, true) => alloc::format!("SCAN {}", sp.table.name),
                (None, false) => alloc::format!("SEARCH {} USING PRIMARY KEY", sp.table.name),
                (Some(ix), full) => alloc::format!(
                    "{} {} USING {}INDEX {}",
                    if full { "SCAN" } else { "SEARCH" },
                    sp.table.name,
                    if sp.covering { "COVERING " } else { "" },
                    ix.name
                ),
            };
            let k = &sp.keys;
            let mut cons = Vec::new();
            if !k.eq.is_empty() {
                cons.push(alloc::format!("{} equality", k.eq.len()));
            }
            if let Some(l) = &k.in_list {
                cons.push(alloc::format!("IN list of {}", l.len()));
            }
            if k.lo.is_some() || k.hi.is_some() {
                cons.push("range".into());
            }
            if cons.is_empty() {
                what
            } else {
                alloc::format!("{what} ({})", cons.join(", "))
            }
        }
        Plan::Filter { .. } => "FILTER".into(),
        Plan::Project { .. } => "PROJECT".into(),
        Plan::NestedLoop { correlated, left_join, .. } => {
            alloc::format!(
                "{}NESTED LOOP{}",
                if *left_join { "LEFT " } else { "" },
                if *correlated { " (index lookup per row)" } else { "" }
            )
        }
        Plan::HashJoin { left_join, .. } => alloc::format!("{}HASH JOIN", if *left_join { "LEFT " } else { "" }),
        Plan::Aggregate { group, sorted, .. } => {
            alloc::format!("AGGREGATE ({} group keys{})", group.len(), if *sorted { ", in key order" } else { "" })
        }
        Plan::OrScan { branches, .. } => alloc::format!("MULTI-INDEX OR ({} scans)", branches.len()),
        Plan::Count { table, .. } => alloc::format!("COUNT {} (entry count)", table.name),
        Plan::Sort { .. } => "SORT".into(),
        Plan::Distinct { .. } => "DISTINCT".into(),
        Plan::Limit { .. } => "LIMIT".into(),
        Plan::Compound { op, .. } => alloc::format!("COMPOUND {op:?}"),
    };
    out.push(alloc::format!("{pad}{line}"));
    match plan {
        Plan::Filter { input, .. }
        | Plan::Project { input, .. }
        | Plan::Aggregate { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Distinct { input, .. }
        | Plan::Limit { input, .. } => explain(input, depth + 1, out),
        Plan::OrScan { branches, .. } => {
            for b in branches {
                explain(b, depth + 1, out);
            }
        }
        Plan::NestedLoop { left, right, .. }
        | Plan::HashJoin { left, right, .. }
        | Plan::Compound { left, right, .. } => {
            explain(left, depth + 1, out);
            explain(right, depth + 1, out);
        }
        _ => {}
    }
}

/// One row of EXPLAIN QUERY PLAN: (id, parent id, detail).
pub type PlanLine = (i64, i64, String);

/// EXPLAIN QUERY PLAN in SQLite's shape: one line per scan (`SCAN t`, `SEARCH t USING INDEX
/// i (a=? AND b>?)`, `SEARCH t USING INTEGER PRIMARY KEY (rowid=?)`, `... COVERING INDEX
/// ...`), `MULTI-INDEX OR` with an `INDEX n` line per branch, `USE TEMP B-TREE FOR ORDER BY`
/// (`GROUP BY`, `DISTINCT`) where rows are sorted or grouped in memory, `COMPOUND QUERY`,
/// and the subqueries of expressions (`LIST SUBQUERY n`, `CORRELATED SCALAR SUBQUERY n`) with
/// their own lines below them. Where Tessera does what SQLite has no words for, the line
/// says so in the same style: `SCAN t USING ENTRY COUNT` (count(*) of a table), `HASH JOIN`
/// above the side held in a hash table.
pub fn query_plan(plan: &Plan) -> Vec<PlanLine> {
    let mut q = QueryPlan { out: Vec::new(), subs: 0 };
    q.node(plan, 0);
    q.out
}

struct QueryPlan {
    out: Vec<PlanLine>,
    /// Subqueries numbered so far.
    subs: usize,
}

impl QueryPlan {
    fn line(&mut self, parent: i64, detail: String) -> i64 {
        let id = self.out.len() as i64 + 1;
        self.out.push((id, parent, detail));
        id
    }

    fn node(&mut self, plan: &Plan, parent: i64) {
        match plan {
            Plan::One => {}
            Plan::Values(v) => {
                self.line(parent, alloc::format!("SCAN {} CONSTANT ROWS", v.len()));
            }
            Plan::Rows(v) => {
                self.line(parent, alloc::format!("SCAN {} CONSTANT ROWS", v.len()));
            }
            Plan::Scan(sp) => {
                self.line(parent, scan_detail(sp));
                self.keys_subqueries(&sp.keys, parent);
            }
            Plan::OrScan { branches, .. } => {
                let id = self.line(parent, "MULTI-INDEX OR".into());
                for (i, b) in branches.iter().enumerate() {
                    let bi = self.line(id, alloc::format!("INDEX {}", i + 1));
                    self.node(b, bi);
                }
            }
            Plan::Count { table, .. } => {
                self.line(parent, alloc::format!("SCAN {} USING ENTRY COUNT", table.name));
            }
            Plan::Filter { input, pred } => {
                self.node(input, parent);
                self.expr(pred, parent);
            }
            Plan::Project { input, exprs } => {
                self.node(input, parent);
                for e in exprs {
                    self.expr(e, parent);
                }
            }
            Plan::NestedLoop { left, right, on, .. } => {
                self.node(left, parent);
                self.node(right, parent);
                if let Some(on) = on {
                    self.expr(on, parent);
                }
            }
            Plan::HashJoin { left, right, on, .. } => {
                self.node(left, parent);
                let id = self.line(parent, "HASH JOIN".into());
                self.node(right, id);
                if let Some(on) = on {
                    self.expr(on, parent);
                }
            }
            Plan::Aggregate { input, group, aggs, sorted, .. } => {
                self.node(input, parent);
                if !group.is_empty() && !sorted {
                    self.line(parent, "USE TEMP B-TREE FOR GROUP BY".into());
                }
                for a in aggs {
                    for e in &a.args {
                        self.expr(e, parent);
                    }
                }
            }
            Plan::Sort { input, .. } => {
                self.node(input, parent);
                self.line(parent, "USE TEMP B-TREE FOR ORDER BY".into());
            }
            Plan::Distinct { input, .. } => {
                self.node(input, parent);
                self.line(parent, "USE TEMP B-TREE FOR DISTINCT".into());
            }
            Plan::Limit { input, .. } => self.node(input, parent),
            Plan::Compound { op, left, right, .. } => {
                let id = self.line(parent, "COMPOUND QUERY".into());
                let l = self.line(id, "LEFT-MOST SUBQUERY".into());
                self.node(left, l);
                let what = match op {
                    CompoundOp::UnionAll => "UNION ALL",
                    CompoundOp::Union => "UNION USING TEMP B-TREE",
                    CompoundOp::Intersect => "INTERSECT USING TEMP B-TREE",
                    CompoundOp::Except => "EXCEPT USING TEMP B-TREE",
                };
                let r = self.line(id, what.into());
                self.node(right, r);
            }
        }
    }

    /// The subqueries of a scan's key expressions (an IN (subquery) whose values probe it).
    fn keys_subqueries(&mut self, k: &KeySpec, parent: i64) {
        for e in k.in_sub.iter().map(|b| &**b) {
            self.expr(e, parent);
        }
    }

    /// A line per subquery in `e` (outermost first), its plan below it.
    fn expr(&mut self, e: &CExpr, parent: i64) {
        e.for_each_sub(&mut |kind, sub| {
            self.subs += 1;
            let what = match kind {
                SubUse::List => "LIST SUBQUERY",
                SubUse::Scalar => "SCALAR SUBQUERY",
            };
            let corr = if sub.correlated { "CORRELATED " } else { "" };
            let id = self.line(parent, alloc::format!("{corr}{what} {}", self.subs));
            self.node(&sub.plan, id);
        });
    }
}

/// How an expression uses a subquery (EXISTS and scalar subqueries are SQLite's "SCALAR").
#[derive(Clone, Copy)]
pub enum SubUse {
    /// `IN (subquery)`.
    List,
    /// A scalar subquery or EXISTS.
    Scalar,
}

/// SQLite's words for one scan: SCAN or SEARCH, the table's name in the query, the key used,
/// and the constraints on its columns (`a=?` for equalities and IN, `a>?` / `a<?` for the
/// bounds of a range, a LIKE or GLOB prefix, or the NULL keys min() skips).
fn scan_detail(sp: &ScanPlan) -> String {
    let t = &sp.table;
    let name = if sp.alias.is_empty() { t.name.as_str() } else { sp.alias.as_str() };
    let col_name = |c: usize| -> String {
        if c == usize::MAX || c >= t.columns.len() {
            "rowid".into()
        } else {
            t.columns[c].name.clone()
        }
    };
    let mut key_cols: Vec<String> = Vec::new();
    if let Some(ix) = &sp.index {
        key_cols.extend(ix.columns.iter().map(|(c, _)| col_name(*c)));
    }
    match &t.pk {
        PrimaryKey::Rowid { .. } => key_cols.push("rowid".into()),
        PrimaryKey::Columns(cols) => key_cols.extend(cols.iter().map(|(c, _)| col_name(*c))),
    }
    let k = &sp.keys;
    let mut cons: Vec<String> = k.eq.iter().enumerate().map(|(i, _)| alloc::format!("{}=?", key_cols[i])).collect();
    if let Some(next) = key_cols.get(k.eq.len()) {
        if k.in_list.is_some() || k.in_sub.is_some() {
            cons.push(alloc::format!("{next}=?"));
        }
        if k.lo.is_some() || k.like.is_some() || k.not_null {
            cons.push(alloc::format!("{next}>?"));
        }
        if k.hi.is_some() || k.like.is_some() {
            cons.push(alloc::format!("{next}<?"));
        }
    }
    let search = !cons.is_empty();
    let verb = if search { "SEARCH" } else { "SCAN" };
    let using = match (&sp.index, &t.pk) {
        (Some(ix), _) => alloc::format!(" USING {}INDEX {}", if sp.covering { "COVERING " } else { "" }, ix.name),
        (None, PrimaryKey::Rowid { .. }) if search => " USING INTEGER PRIMARY KEY".into(),
        (None, PrimaryKey::Columns(_)) if search => " USING PRIMARY KEY".into(),
        (None, _) => String::new(),
    };
    let cons = if search { alloc::format!(" ({})", cons.join(" AND ")) } else { String::new() };
    alloc::format!("{verb} {name}{using}{cons}")
}
