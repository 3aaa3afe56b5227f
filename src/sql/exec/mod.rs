//! Execution: running plans over a transaction.
//!
//! The executor owns everything that happens to rows. A query's [`Plan`](crate::sql::planner::Plan)
//! tree is instantiated by [`open`] into a tree of [`Operator`]s, one fresh state per run
//! (the plan itself is shared and immutable); the caller pulls rows from the root one at a
//! time (`Operator::next`), each operator pulling from its inputs:
//!
//! - `scan` reads a table or an index through [`storage`](crate::sql::storage) in key ranges
//!   computed when it opens, in batches that continue after the last key, and decodes rows;
//! - `join` runs nested-loop and hash joins; `aggregate` groups; `sort` runs ORDER BY,
//!   DISTINCT and the set operations; the simple operators (VALUES, filter and projection,
//!   LIMIT) live in `operators`;
//! - [`eval`] evaluates compiled expressions against the current row and an
//!   [`Env`](eval::Env) (parameters, outer rows, cached subquery results); subqueries open
//!   their own operator trees;
//! - operators that hold rows count them against the connection's work-memory budget and
//!   past it spill sorted runs to a temporary database ([`spill`]).
//!
//! Writes: [`write`](mod@write) executes INSERT, UPDATE and DELETE plans, keeping every index in step
//! and enforcing the constraints, through the statement's
//! [`Writer`](crate::sql::storage::Writer), whose undo log lets a failed statement roll back on
//! its own. [`ddl`] runs CREATE, DROP and ALTER against the catalog and the storage, and
//! [`analyze`] gathers the statistics of ANALYZE into `sqlite_stat1`.

mod aggregate;
pub mod analyze;
pub mod ddl;
pub mod eval;
mod join;
mod operators;
mod scan;
mod sort;
pub mod spill;
pub mod write;

pub use operators::{open, Operator};
pub use scan::{decode_table_row, index_row_key};
