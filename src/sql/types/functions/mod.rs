//! The built-in SQL functions, as SQLite defines them (`func.c`, `printf.c`).
//!
//! `scalar` resolves a name and argument count to a [`ScalarFn`] and holds the scalar
//! functions with SQLite's argument coercions; `printf` is `printf` / `format`; `pattern` is
//! LIKE and GLOB matching; `aggregate` says whether a call is an aggregate
//! ([`AggregateKind`]) and folds its rows ([`Accumulator`]). The tests in `tests.rs` run every
//! function against SQLite (rusqlite's bundled build).

mod aggregate;
mod pattern;
mod printf;
mod scalar;

pub use aggregate::{aggregate, Accumulator, AggregateKind};
pub use pattern::{glob, like, like_escape};
pub use scalar::{collated, scalar, ScalarFn};
