//! The SQL layer: SQLite-compatible SQL over the engine's tables.
//!
//! A statement travels through these modules in order:
//! 1. [`parser`] (with `lexer`) turns text into an [`ast`] (hand-written, to keep the wasm
//!    small).
//! 2. `catalog` holds the schema, which is stored in the database itself.
//! 3. `planner` resolves names, picks access paths (primary key, secondary index, full scan),
//!    join order and join methods, and produces a tree of plan nodes with compiled
//!    expressions (`expr`).
//! 4. `exec` runs the plan as a stream of rows over a read or write transaction; `dml` writes
//!    rows and index entries; `encoding` maps rows and index entries to engine keys and
//!    values; [`func`] holds the scalar and aggregate functions.
//! 5. `connection` ties it together: [`Connection`] runs statements in autocommit or explicit
//!    transactions and caches plans.
//!
//! [`Value`] is a SQL value.
//!
//! The typed API around [`Connection`]: [`Params`] (tuples, slices of [`Value`], [`Named`]
//! lists, the [`params!`](crate::params) and [`named_params!`](crate::named_params) macros, any
//! `serde::Serialize` struct through [`Serde`]) binds parameters; [`ToValue`] and
//! [`FromValue`] convert single values; a query yields [`Row`]s with typed getters;
//! [`Connection::query_row`], [`Connection::query_one`], [`Connection::query_map`] and (with
//! serde) [`Connection::query_as`] are the shortcuts; [`Connection::transaction`] gives a
//! [`Transaction`] that commits on [`Transaction::commit`] and rolls back when dropped.

pub mod ast;
mod catalog;
mod connection;
mod dml;
pub mod encoding;
mod exec;
mod expr;
pub mod func;
mod lexer;
pub mod params;
pub mod parser;
mod planner;
pub mod row;
mod transaction;
pub mod value;

pub use connection::{Connection, Cursor, Prepared, Rows};
pub use params::{Bindings, Named, Params, ToValue};
pub use row::{FromRow, FromValue, MappedRows, Row, RowIndex};
pub use transaction::Transaction;
pub use value::{Affinity, Value};
