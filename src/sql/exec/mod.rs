//! Execution: plans run over a transaction.

mod operators;
pub mod spill;
pub mod write;

pub use operators::*;
