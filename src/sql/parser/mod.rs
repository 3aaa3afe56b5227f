//! Parsing: SQL text to syntax trees.
//!
//! [`lexer`] cuts the text into tokens, [`parser`] (a hand-written recursive-descent parser,
//! to keep the wasm small) builds one [`ast::Statement`] per statement, with the byte
//! positions that errors report. Nothing here knows about the schema or the storage.

pub mod ast;
mod expr;
pub mod lexer;
mod statement;

pub use statement::{parse, ParsedStatement, Parser};
