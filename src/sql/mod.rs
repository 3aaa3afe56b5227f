//! The SQL layer: SQLite-compatible SQL over the engine's tables.
//!
//! A statement travels through these modules in order:
//! 1. [`parser`] turns text into an [`ast`] (hand-written, to keep the wasm small).
//! 2. `catalog` resolves names against the schema, which is stored in the database itself.
//! 3. `planner` picks access paths (primary key, secondary index, full scan), join order and
//!    join methods, and produces a tree of operators.
//! 4. `exec` runs the operators as a stream over a read or write transaction; `encoding`
//!    maps rows and index entries to engine keys and values.
//!
//! [`Connection`] is the entry point; [`Value`] is a SQL value.

pub mod ast;
pub mod func;
pub mod parser;
pub mod value;

pub use value::{Affinity, Value};
mod connection;

pub use connection::{Connection, Prepared, Rows};
