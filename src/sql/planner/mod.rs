//! Planning: syntax trees to plans.

pub mod expr;
mod select;

pub use select::*;
