//! SQL functions.

mod aggregate;
mod pattern;
mod printf;
mod scalar;

pub use aggregate::*;
pub use pattern::*;
pub use scalar::*;
