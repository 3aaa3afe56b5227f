//! Execution: plans run over a transaction.

mod aggregate;
pub mod ddl;
pub mod eval;
mod join;
mod operators;
mod scan;
mod sort;
pub mod spill;
pub mod write;

pub use operators::*;
pub use scan::{decode_table_row, index_row_key};
