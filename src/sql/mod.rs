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
//!    transactions and caches plans; `schema_info` lists the schema's objects with the SQL
//!    that recreates each ([`Connection::schema_objects`]).
//!
//! [`Value`] is a SQL value.

pub mod ast;
mod catalog;
mod connection;
mod dml;
pub mod encoding;
mod exec;
mod expr;
pub mod func;
mod lexer;
pub mod parser;
mod planner;
mod schema_info;
pub mod value;

pub use connection::{Connection, Cursor, Prepared, Rows};
pub use schema_info::{ObjectKind, SchemaObject};
pub use value::{Affinity, Value};
