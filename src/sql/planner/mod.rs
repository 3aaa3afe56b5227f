//! Planning: syntax trees to plans.

mod access;
mod compile;
pub mod explain;
pub mod expr;
pub mod plan;
mod select;
pub mod statement;

pub use plan::*;
pub use select::*;
