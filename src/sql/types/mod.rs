//! Values and their encodings.

pub mod encoding;
pub mod float;
pub mod functions;
pub mod value;
