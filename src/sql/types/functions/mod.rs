//! SQL functions.

mod scalar;

pub use scalar::*;
