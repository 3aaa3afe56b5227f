//! Planning: from a syntax tree to a plan.
//!
//! The planner owns every decision made before a statement touches data. It is given an
//! [`ast::Statement`](crate::sql::parser::ast::Statement), the cached
//! [`Schema`](crate::sql::catalog::Schema) and a read of the table statistics (through
//! [`Txn`](crate::sql::storage::Txn)), and returns a [`statement::Compiled`] plan that a
//! prepared statement keeps until the schema changes. How a statement passes through:
//!
//! 1. [`statement::compile`] dispatches on the statement kind. A query goes to the
//!    [`Planner`]; an INSERT, UPDATE or DELETE becomes an `InsertPlan`, `UpdatePlan` or
//!    `DeletePlan` ([`plan`]) whose source rows and RETURNING list are planned the same way;
//!    EXPLAIN plans its statement and prints it ([`explain`]); DDL and transaction control
//!    are left to the executor, which runs them from the syntax tree.
//! 2. `select` plans a SELECT: FROM sources (tables, views, CTEs, subqueries) and conjuncts
//!    of WHERE / ON, then grouping, HAVING, ORDER BY, projection, DISTINCT, LIMIT, and the
//!    compound operators over whole selects.
//! 3. `access` orders the joins and picks each source's access path (key prefix equality,
//!    an IN list or a range, over the table's own key or an index, covering or not) and the
//!    join method (index nested loop, hash join, or nested loop).
//! 4. `compile` turns each expression into a [`expr::CExpr`]: names resolved to row
//!    positions through a chain of frames, functions to pointers, comparison affinity and
//!    collation decided once.
//!
//! The result is data only: [`plan`] holds the plan tree and write plans, [`expr`] the
//! compiled expressions. Nothing here reads rows or evaluates expressions; that is the
//! execution stage's job, which depends on this one and not the other way round.

mod access;
mod compile;
pub mod explain;
pub mod expr;
mod order;
mod outer_agg;
pub mod plan;
mod select;
pub mod statement;

pub use plan::Plan;
pub use select::{expr_name, expr_sql, Frame, Planner};
pub(crate) use select::{walk, walk_mut};
