//! Planning a whole statement: a query (or EXPLAIN) becomes a plan with its column names;
//! INSERT, UPDATE and DELETE become write plans (target table, source rows, constraints,
//! RETURNING); DDL and transaction control are run from the syntax tree each time.

use crate::error::{Error, Result};
use crate::sql::planner::plan::{index_check_order, Constraint, UpsertClause, UpsertPlan};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::sql::catalog::{lower, Schema, TableDef};
use crate::sql::parser::ast::{self, ConflictAction, InsertSource, Query, ResultColumn, SetExpr, Statement};
use crate::sql::planner::expr::CExpr;
use crate::sql::planner::plan::{DeletePlan, InsertPlan, RowRules, UpdatePlan};
use crate::sql::planner::Plan;
use crate::sql::planner::{expr_sql, Frame, Planner};
use crate::sql::storage::Txn;

fn err(m: impl Into<String>) -> Error {
    Error::Sql(m.into())
}

/// A compiled statement: what a prepared statement caches until the schema changes.
pub enum Compiled {
    Query {
        plan: Arc<Plan>,
        columns: Arc<[String]>,
    },
    Insert(InsertPlan, Vec<String>),
    Update(UpdatePlan, Vec<String>),
    Delete(DeletePlan, Vec<String>),
    /// Executed from the AST each time (DDL, transaction control).
    Direct,
    Explain(Vec<String>),
    /// EXPLAIN QUERY PLAN: SQLite's (id, parent, detail) rows.
    QueryPlan(Vec<crate::sql::planner::explain::PlanLine>),
}

// -------------------------------------------------------------------------------------------
// Compilation

/// Plan one statement.
pub fn compile(schema: &Schema, txn: &Txn, stmt: &Statement) -> Result<Compiled> {
    let mut p = Planner::new(schema, txn);
    Ok(match stmt {
        Statement::Query(q) => {
            let (plan, outs) = p.plan_query(q, &[])?;
            Compiled::Query { plan, columns: outs.into_iter().map(|o| o.name).collect::<Vec<_>>().into() }
        }
        Statement::Explain(inner, true) => {
            let plan = match &**inner {
                Statement::Query(q) => p.plan_query(q, &[])?.0,
                other => match compile(schema, txn, other)? {
                    Compiled::Insert(ip, _) => ip.source.clone(),
                    Compiled::Update(up, _) => up.scan.clone(),
                    Compiled::Delete(dp, _) => dp.scan.clone(),
                    _ => Arc::new(Plan::One),
                },
            };
            Compiled::QueryPlan(crate::sql::planner::explain::query_plan(&plan))
        }
        Statement::Explain(inner, false) => {
            let mut lines = Vec::new();
            match &**inner {
                Statement::Query(q) => {
                    let (plan, _) = p.plan_query(q, &[])?;
                    crate::sql::planner::explain::explain(&plan, 0, &mut lines);
                }
                other => match compile(schema, txn, other)? {
                    Compiled::Insert(ip, _) => {
                        lines.push(format!("INSERT INTO {}", ip.table.name));
                        crate::sql::planner::explain::explain(&ip.source, 1, &mut lines);
                    }
                    Compiled::Update(up, _) => {
                        lines.push(format!("UPDATE {}", up.table.name));
                        crate::sql::planner::explain::explain(&up.scan, 1, &mut lines);
                    }
                    Compiled::Delete(dp, _) => {
                        lines.push(format!("DELETE FROM {}", dp.table.name));
                        crate::sql::planner::explain::explain(&dp.scan, 1, &mut lines);
                    }
                    _ => lines.push("EXECUTE STATEMENT".into()),
                },
            }
            Compiled::Explain(lines)
        }
        Statement::Insert(ins) => {
            if !ins.with.is_empty() {
                return Err(err("WITH before INSERT is not supported"));
            }
            let t = writable(schema, &ins.table)?;
            let targets: Vec<usize> = if ins.columns.is_empty() {
                (0..t.columns.len()).collect()
            } else {
                ins.columns
                    .iter()
                    .map(|c| t.column(c).ok_or_else(|| err(format!("table {} has no column named {c}", t.name))))
                    .collect::<Result<_>>()?
            };
            let source = match &ins.source {
                InsertSource::Values(rows) => {
                    for r in rows {
                        if r.len() != targets.len() {
                            return Err(if ins.columns.is_empty() {
                                err(format!(
                                    "table {} has {} columns but {} values were supplied",
                                    t.name,
                                    t.columns.len(),
                                    r.len()
                                ))
                            } else {
                                err(format!("{} values for {} columns", r.len(), targets.len()))
                            });
                        }
                    }
                    let q = Query {
                        with: Vec::new(),
                        body: SetExpr::Values(rows.clone()),
                        order_by: Vec::new(),
                        limit: None,
                        offset: None,
                    };
                    p.plan_query(&q, &[])?.0
                }
                InsertSource::Query(q) => {
                    let (plan, outs) = p.plan_query(q, &[])?;
                    if outs.len() != targets.len() {
                        return Err(err(format!(
                            "table {} has {} columns but {} values were supplied",
                            t.name,
                            targets.len(),
                            outs.len()
                        )));
                    }
                    plan
                }
                InsertSource::DefaultValues => {
                    if !ins.columns.is_empty() {
                        return Err(err("DEFAULT VALUES takes no column list"));
                    }
                    Arc::new(Plan::One)
                }
            };
            let targets = if matches!(ins.source, InsertSource::DefaultValues) { Vec::new() } else { targets };
            let rules = row_rules(&mut p, &t)?;
            let upsert = upsert_clauses(&mut p, &t, ins)?;
            let (returning, cols) = returning(&mut p, &t, &ins.returning)?;
            Compiled::Insert(
                InsertPlan {
                    check_order: crate::sql::planner::plan::insert_check_order(&t, &upsert),
                    table: t,
                    source,
                    targets,
                    or: ins.or.unwrap_or(ConflictAction::Abort),
                    upsert,
                    rules,
                    returning,
                },
                cols,
            )
        }
        Statement::Update(up) => {
            if !up.with.is_empty() {
                return Err(err("WITH before UPDATE is not supported"));
            }
            let t = writable(schema, &up.table)?;
            let alias = lower(up.alias.as_deref().unwrap_or(&up.table));
            let scan = table_scan(&mut p, &t, &up.table, up.alias.as_deref(), up.where_.as_ref())?;
            let frames = vec![Frame::of_table(&t, &alias)];
            let mut sets = Vec::new();
            for a in &up.sets {
                let c = t.column(&a.column).ok_or_else(|| err(format!("no such column: {}", a.column)))?;
                sets.push((c, p.compile_expr(&a.value, &frames)?));
            }
            let rules = row_rules(&mut p, &t)?;
            let (returning, cols) = returning(&mut p, &t, &up.returning)?;
            Compiled::Update(
                UpdatePlan { table: t, scan, sets, or: up.or.unwrap_or(ConflictAction::Abort), rules, returning },
                cols,
            )
        }
        Statement::Delete(d) => {
            if !d.with.is_empty() {
                return Err(err("WITH before DELETE is not supported"));
            }
            let t = writable(schema, &d.table)?;
            let scan = table_scan(&mut p, &t, &d.table, d.alias.as_deref(), d.where_.as_ref())?;
            let (returning, cols) = returning(&mut p, &t, &d.returning)?;
            Compiled::Delete(DeletePlan { table: t, scan, returning }, cols)
        }
        _ => Compiled::Direct,
    })
}

/// The `ON CONFLICT` clauses of an INSERT into `t`: each target must name the columns of the
/// row key or of a unique index (in any order; a target column's COLLATE must be the column's
/// collation), as SQLite's `sqlite3UpsertAnalyzeTarget` has it. `DO UPDATE` is compiled on
/// `existing row ++ proposed row`: unqualified columns and the table's name (or its alias) are
/// the existing row, `excluded.x` the proposed one.
fn upsert_clauses(p: &mut Planner, t: &Arc<TableDef>, ins: &ast::Insert) -> Result<Vec<UpsertClause>> {
    let order = index_check_order(t);
    let mut clauses = Vec::new();
    for (n, u) in ins.upsert.iter().enumerate() {
        let target = if u.target.is_empty() {
            None
        } else {
            let mut cols = Vec::new();
            let mut rowid = false;
            for c in &u.target {
                match t.column(&c.name) {
                    Some(i) => cols.push((i, c.collation.as_deref())),
                    None if t.has_rowid()
                        && ["rowid", "oid", "_rowid_"].iter().any(|r| c.name.eq_ignore_ascii_case(r)) =>
                    {
                        rowid = true
                    }
                    None => return Err(err(format!("no such column: {}", c.name))),
                }
            }
            let alias = match &t.pk {
                crate::sql::catalog::PrimaryKey::Rowid { alias } => *alias,
                _ => None,
            };
            let found =
                if u.target.len() == 1 && (rowid || (alias.is_some() && cols[0].0 == alias.unwrap_or(usize::MAX))) {
                    Some(Constraint::Key)
                } else if rowid {
                    None
                } else {
                    order.iter().copied().find(|c| {
                        let key: Vec<usize> = match c {
                            Constraint::Key => t.key_columns().iter().map(|(c, _)| *c).collect(),
                            Constraint::Index(i) => t.indexes[*i].columns.iter().map(|(c, _)| *c).collect(),
                        };
                        // SQLite never matches an index over the INTEGER PRIMARY KEY column: the
                        // target's column is the rowid there, the index's the column.
                        let over_rowid = alias.is_some_and(|a| key.contains(&a));
                        !over_rowid
                            && key.len() == cols.len()
                            && key.iter().all(|k| {
                                cols.iter().any(|(c, coll)| {
                                    c == k
                                        && coll.is_none_or(|coll| {
                                            coll.eq_ignore_ascii_case(
                                                t.columns[*k].collation.as_deref().unwrap_or("BINARY"),
                                            )
                                        })
                                })
                            })
                    })
                };
            if found.is_none() {
                let which = if ins.upsert.len() == 1 { String::new() } else { format!("{} ", ordinal(n + 1)) };
                return Err(err(format!(
                    "{which}ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint"
                )));
            }
            found
        };
        let update = match &u.update {
            None => None,
            Some(up) => {
                let name = lower(ins.alias.as_deref().unwrap_or(&t.name));
                let mut frame = Frame::of_table(t, &name);
                let mut excluded = Frame::of_table(t, "excluded");
                for c in &mut excluded.cols {
                    c.shadowed = true; // only `excluded.x` reads the proposed row
                                       // SQLite reads `excluded.x` as a value without affinity or collation.
                    c.aff = None;
                    c.coll = None;
                }
                frame.cols.extend(excluded.cols);
                let frames = vec![frame];
                let mut sets = Vec::new();
                for a in &up.sets {
                    let c = t.column(&a.column).ok_or_else(|| err(format!("no such column: {}", a.column)))?;
                    sets.push((c, p.compile_expr(&a.value, &frames)?));
                }
                let where_ = match &up.where_ {
                    Some(w) => Some(p.compile_expr(w, &frames)?),
                    None => None,
                };
                Some(UpsertPlan { sets, where_ })
            }
        };
        clauses.push(UpsertClause { target, update });
    }
    Ok(clauses)
}

/// `1st`, `2nd`, `3rd`, `4th`, ... `11th`, ... `21st` (SQLite's `%r`).
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The table `name`, if statements may write to it.
pub fn writable(schema: &Schema, name: &str) -> Result<Arc<TableDef>> {
    if schema.views.contains_key(&lower(name)) {
        return Err(err(format!("cannot modify {name} because it is a view")));
    }
    Ok(schema.table(name)?.clone())
}

/// Rows of `t` matching `where_`, in the table's row layout (columns + rowid).
fn table_scan(
    p: &mut Planner,
    t: &Arc<TableDef>,
    name: &str,
    alias: Option<&str>,
    where_: Option<&ast::Expr>,
) -> Result<Arc<Plan>> {
    // Plan `SELECT <all columns and rowid> FROM t WHERE ...` and take its join/filter part:
    // simplest is to plan the select and project the table's row layout.
    let alias_l = lower(alias.unwrap_or(name));
    let mut cols: Vec<ResultColumn> = t
        .columns
        .iter()
        .map(|c| ResultColumn::Expr {
            expr: ast::Expr::Column { table: Some(alias_l.clone()), name: c.name.clone() },
            alias: None,
        })
        .collect();
    if t.has_rowid() {
        cols.push(ResultColumn::Expr {
            expr: ast::Expr::Column { table: Some(alias_l.clone()), name: "rowid".into() },
            alias: None,
        });
    }
    let sel = ast::Select {
        distinct: false,
        columns: cols,
        from: Some(ast::FromItem::Table { name: name.into(), alias: alias.map(Into::into) }),
        where_: where_.cloned(),
        group_by: Vec::new(),
        having: None,
    };
    let q = Query {
        with: Vec::new(),
        body: SetExpr::Select(Box::new(sel)),
        order_by: Vec::new(),
        limit: None,
        offset: None,
    };
    Ok(p.plan_query(&q, &[])?.0)
}

fn row_rules(p: &mut Planner, t: &TableDef) -> Result<RowRules> {
    let frames = vec![Frame::of_table(t, &lower(&t.name))];
    let mut checks = Vec::new();
    for (_, c) in &t.checks {
        checks.push((p.compile_expr(c, &frames)?, expr_sql(c)));
    }
    let mut defaults = Vec::new();
    for c in &t.columns {
        defaults.push(match &c.default {
            Some(d) => Some(p.compile_expr(d, &[Frame::default()])?),
            None => None,
        });
    }
    Ok(RowRules { checks, defaults })
}

fn returning(p: &mut Planner, t: &TableDef, cols: &[ResultColumn]) -> Result<(Vec<CExpr>, Vec<String>)> {
    let frames = vec![Frame::of_table(t, &lower(&t.name))];
    let mut exprs = Vec::new();
    let mut names = Vec::new();
    for rc in cols {
        match rc {
            ResultColumn::Star | ResultColumn::TableStar(_) => {
                for (i, c) in t.columns.iter().enumerate() {
                    exprs.push(CExpr::Col { depth: 0, idx: i as u32 });
                    names.push(c.name.clone());
                }
            }
            ResultColumn::Expr { expr, alias } => {
                exprs.push(p.compile_expr(expr, &frames)?);
                names.push(alias.clone().unwrap_or_else(|| crate::sql::planner::expr_name(expr)));
            }
        }
    }
    Ok((exprs, names))
}
