//! The plan types: what the planner produces and the executor runs.
//!
//! A query is a tree of [`Plan`] nodes (scans, joins, filters, projections, grouping,
//! sorting, set operations, limits) whose expressions are compiled ([`CExpr`]). A write
//! statement is an [`InsertPlan`], [`UpdatePlan`] or [`DeletePlan`] around such trees.
//! Plans are immutable and shared (`Arc`): a prepared statement keeps them across runs.

use crate::sql::catalog::{IndexDef, TableDef};
use crate::sql::parser::ast::{CompoundOp, ConflictAction};
use crate::sql::planner::expr::CExpr;
use crate::sql::types::collation::Coll;
use crate::sql::types::functions::AggregateKind;
use crate::sql::types::value::{Tuple, Value};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Which keys a scan visits, as expressions evaluated when the scan opens.
#[derive(Debug, Default)]
pub struct KeySpec {
    /// Equalities on the leading key columns; `None`: `IS NULL` (the NULL key).
    pub eq: Vec<Option<CExpr>>,
    /// An IN list on the next key column (instead of `lo`/`hi`).
    pub in_list: Option<Vec<CExpr>>,
    /// Lower bound on the next key column: (expr, inclusive).
    pub lo: Option<(CExpr, bool)>,
    /// Upper bound on the next key column.
    pub hi: Option<(CExpr, bool)>,
    /// Skip the NULL keys of the next key column (with no bounds on it).
    pub not_null: bool,
    /// `NULL IN (subquery)` compiled: the subquery's values are probes on the next key
    /// column (instead of `in_list`). A subquery that cannot be used so is not here, and the
    /// column is read in full.
    pub in_sub: Option<Box<CExpr>>,
    /// `LIKE` (false) / `GLOB` (true) pattern on the next key column: its literal prefix
    /// is a key range.
    pub like: Option<Box<(CExpr, bool)>>,
}

impl KeySpec {
    /// Whether the spec constrains nothing.
    pub fn is_full(&self) -> bool {
        self.eq.is_empty()
            && self.in_list.is_none()
            && self.in_sub.is_none()
            && self.like.is_none()
            && self.lo.is_none()
            && self.hi.is_none()
            && !self.not_null
    }
}

/// A scan of a table, directly or through an index.
#[derive(Debug)]
pub struct ScanPlan {
    /// The table.
    pub table: Arc<TableDef>,
    /// The name the query gives it (EXPLAIN QUERY PLAN shows it).
    pub alias: String,
    /// The index, or None for the table's own key order.
    pub index: Option<Arc<IndexDef>>,
    /// Whether the index holds every column the query needs (no row fetch).
    pub covering: bool,
    /// Key constraints.
    pub keys: KeySpec,
    /// Visit keys in descending order.
    pub reverse: bool,
    /// The row positions the query reads (None: all); the other columns read as NULL, and
    /// their text and blobs are not decoded.
    pub needed: Option<Arc<[bool]>>,
}

/// An aggregate in a grouping node.
#[derive(Debug)]
pub struct AggSpec {
    /// Which aggregate.
    pub kind: AggregateKind,
    /// DISTINCT.
    pub distinct: bool,
    /// Arguments.
    pub args: Vec<CExpr>,
    /// The collation min/max and DISTINCT compare the (first) argument with.
    pub coll: Coll,
}

/// A sort key.
#[derive(Debug)]
pub struct SortKey {
    /// Expression on the input row.
    pub expr: CExpr,
    /// Descending.
    pub desc: bool,
    /// NULLs first (default: NULLs first ascending, last descending).
    pub nulls_first: bool,
    /// Collation.
    pub coll: Coll,
}

/// A plan node.
#[derive(Debug)]
pub enum Plan {
    /// A single empty row (SELECT without FROM).
    One,
    /// Rows of a VALUES list.
    Values(Vec<Vec<CExpr>>),
    /// Rows already computed (INSERT ... RETURNING, materialized results).
    Rows(Vec<Tuple>),
    /// A table scan.
    Scan(ScanPlan),
    /// Keep rows where `pred` is true.
    Filter {
        /// Input.
        input: Arc<Plan>,
        /// Predicate.
        pred: CExpr,
    },
    /// Compute expressions per row.
    Project {
        /// Input.
        input: Arc<Plan>,
        /// Output expressions.
        exprs: Vec<CExpr>,
    },
    /// For each left row, run `right` with the left row as outer row (depth 1); emit
    /// `left ++ right` rows passing `on`; a LEFT join emits `left ++ NULLs` when none pass.
    NestedLoop {
        /// Outer input.
        left: Arc<Plan>,
        /// Inner input.
        right: Arc<Plan>,
        /// Whether `right` reads the left row (else it is computed once and reused).
        correlated: bool,
        /// Width of right rows.
        right_width: usize,
        /// Join condition on the combined row.
        on: Option<CExpr>,
        /// LEFT JOIN.
        left_join: bool,
    },
    /// Hash join on equal keys: the right side is built into a hash table once.
    HashJoin {
        /// Probe side.
        left: Arc<Plan>,
        /// Build side.
        right: Arc<Plan>,
        /// Keys on left rows.
        left_keys: Vec<CExpr>,
        /// Keys on right rows.
        right_keys: Vec<CExpr>,
        /// Width of right rows.
        right_width: usize,
        /// Remaining condition on the combined row.
        on: Option<CExpr>,
        /// LEFT JOIN.
        left_join: bool,
    },
    /// Grouping: emits `group values ++ aggregate results ++ first input row of the group`.
    Aggregate {
        /// Input.
        input: Arc<Plan>,
        /// GROUP BY expressions (empty: one group, even over no rows).
        group: Vec<CExpr>,
        /// The collation each GROUP BY expression groups by.
        group_colls: Vec<Coll>,
        /// Aggregates.
        aggs: Vec<AggSpec>,
        /// Width of input rows (for the NULL row of an empty input).
        input_width: usize,
        /// The input arrives grouped (in the order of an index or key whose leading columns
        /// are the GROUP BY terms): each group is emitted when the next begins, in input
        /// order, without a hash table.
        sorted: bool,
    },
    /// The union of scans of one table (one per disjunct of an OR), each row once: rows
    /// whose row key (`key`, positions in the row) was already emitted are skipped.
    OrScan {
        /// The scans (`Plan::Scan` of the same table, same row layout).
        branches: Vec<Arc<Plan>>,
        /// Positions of the row key's values in a row, with the collation each is keyed by.
        key: Vec<(usize, Coll)>,
    },
    /// `count(*)` of a whole table from the count the engine keeps, shaped as an
    /// [`Plan::Aggregate`] row with no group keys: the count, then `input_width` NULLs.
    Count {
        /// The table.
        table: Arc<TableDef>,
        /// Width of the rows the aggregate would have read.
        input_width: usize,
    },
    /// Sort all rows.
    Sort {
        /// Input.
        input: Arc<Plan>,
        /// Keys.
        keys: Vec<SortKey>,
    },
    /// Drop duplicate rows.
    Distinct {
        /// Input.
        input: Arc<Plan>,
        /// The collation of each column (rows are duplicates when equal under these).
        colls: Vec<Coll>,
    },
    /// LIMIT / OFFSET.
    Limit {
        /// Input.
        input: Arc<Plan>,
        /// Limit (negative: none).
        limit: Option<CExpr>,
        /// Offset.
        offset: Option<CExpr>,
    },
    /// UNION [ALL] / INTERSECT / EXCEPT.
    Compound {
        /// Operator.
        op: CompoundOp,
        /// Left.
        left: Arc<Plan>,
        /// Right.
        right: Arc<Plan>,
        /// The collation of each column (rows are the same when equal under these).
        colls: Vec<Coll>,
    },
}

/// Compiled pieces shared by INSERT and UPDATE.
pub struct RowRules {
    /// CHECK constraints compiled on the table's row layout.
    pub checks: Vec<(CExpr, String)>,
    /// DEFAULT expressions per column.
    pub defaults: Vec<Option<CExpr>>,
}

/// A compiled INSERT.
pub struct InsertPlan {
    /// Target table.
    pub table: Arc<TableDef>,
    /// Source rows.
    pub source: Arc<Plan>,
    /// Target column of each source column.
    pub targets: Vec<usize>,
    /// Conflict action.
    pub or: ConflictAction,
    /// The `ON CONFLICT` clauses, in order (empty: none).
    pub upsert: Vec<UpsertClause>,
    /// The order the uniqueness constraints are checked in ([`insert_check_order`]), decided
    /// once with the plan rather than at each execution.
    pub check_order: Vec<Constraint>,
    /// Tuple rules.
    pub rules: RowRules,
    /// RETURNING expressions on the row layout.
    pub returning: Vec<CExpr>,
}

impl InsertPlan {
    /// The one source row, when it is a single VALUES row of constants and parameters each
    /// used once, and nothing else in the statement reads parameters (no RETURNING, no
    /// upsert): the parameters are moved out of `params` instead of copied. `None` (and
    /// `params` untouched) otherwise.
    pub fn take_param_row(&self, params: &mut [Value]) -> Option<Tuple> {
        let Plan::Values(rows) = &*self.source else { return None };
        let [row] = rows.as_slice() else { return None };
        if !self.returning.is_empty() || !self.upsert.is_empty() {
            return None;
        }
        let mut used = 0u64;
        for e in row {
            match e {
                CExpr::Const(_) => {}
                CExpr::Param(i) if *i < params.len().min(64) && used & (1 << i) == 0 => used |= 1 << i,
                _ => return None,
            }
        }
        // Room for the whole row (hidden rowid included): no reallocation when it is filled.
        let mut out = Vec::with_capacity(self.table.row_width().max(row.len()));
        out.extend(row.iter().map(|e| match e {
            CExpr::Param(i) => core::mem::take(&mut params[*i]),
            CExpr::Const(v) => v.clone(),
            _ => unreachable!("checked above"),
        }));
        Some(out)
    }
}

/// A uniqueness constraint of a table: its row key (the rowid, or a WITHOUT ROWID table's
/// PRIMARY KEY) or one of its unique indexes (position in `TableDef::indexes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// The row key.
    Key,
    /// A unique index.
    Index(usize),
}

/// The unique indexes of `t` (and a WITHOUT ROWID table's PRIMARY KEY) in the order SQLite
/// checks them: SQLite keeps a table's indexes newest first, so the indexes CREATE INDEX made
/// (newest first), then the PRIMARY KEY of a WITHOUT ROWID table, then the automatic indexes
/// of the table's UNIQUE constraints (last declared first). (Approximate where SQLite's
/// order depends on where a PRIMARY KEY was declared among the UNIQUE constraints.) A rowid
/// table's rowid is checked before all of them.
pub fn index_check_order(t: &TableDef) -> Vec<Constraint> {
    let unique = |auto: bool| {
        t.indexes
            .iter()
            .enumerate()
            .rev()
            .filter(move |(_, ix)| ix.unique && ix.sql.is_none() == auto)
            .map(|(i, _)| Constraint::Index(i))
    };
    let mut order: Vec<Constraint> = unique(false).collect();
    if !t.has_rowid() {
        order.push(Constraint::Key);
    }
    order.extend(unique(true));
    order
}

/// The order SQLite checks an INSERT's uniqueness constraints in: with ON CONFLICT targets,
/// the targeted constraints in clause order (a rowid table's rowid, when no clause names it,
/// right after them), then the others; without targets the rowid, then every unique index
/// ([`index_check_order`]). See `sqlite3GenerateConstraintChecks`.
pub fn insert_check_order(t: &TableDef, clauses: &[UpsertClause]) -> Vec<Constraint> {
    let mut order: Vec<Constraint> = Vec::new();
    for c in clauses.iter().filter_map(|c| c.target) {
        if !order.contains(&c) {
            order.push(c);
        }
    }
    if t.has_rowid() && !order.contains(&Constraint::Key) {
        // First without targets, right after the targeted constraints with them.
        order.push(Constraint::Key);
    }
    for c in index_check_order(t) {
        if !order.contains(&c) {
            order.push(c);
        }
    }
    order
}

/// One `ON CONFLICT` clause of an INSERT.
pub struct UpsertClause {
    /// The constraint its target names; `None`: no target (any constraint).
    pub target: Option<Constraint>,
    /// `DO UPDATE` (`None`: `DO NOTHING`).
    pub update: Option<UpsertPlan>,
}

/// `DO UPDATE SET ... WHERE ...`, compiled on `existing row ++ excluded row`.
pub struct UpsertPlan {
    /// Assignments.
    pub sets: Vec<(usize, CExpr)>,
    /// Condition.
    pub where_: Option<CExpr>,
}

/// A compiled UPDATE.
pub struct UpdatePlan {
    /// Target table.
    pub table: Arc<TableDef>,
    /// Rows to update (table row layout).
    pub scan: Arc<Plan>,
    /// Assignments on the old row.
    pub sets: Vec<(usize, CExpr)>,
    /// Conflict action.
    pub or: ConflictAction,
    /// Tuple rules.
    pub rules: RowRules,
    /// RETURNING expressions on the new row.
    pub returning: Vec<CExpr>,
}

/// A compiled DELETE.
pub struct DeletePlan {
    /// Target table.
    pub table: Arc<TableDef>,
    /// Rows to delete.
    pub scan: Arc<Plan>,
    /// RETURNING expressions.
    pub returning: Vec<CExpr>,
}
