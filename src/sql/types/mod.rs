//! Values and their encodings.

pub mod collation;
pub mod encoding;
pub mod float;
pub mod functions;
pub mod value;
