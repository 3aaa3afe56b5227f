//! Parsing: SQL text to syntax trees.
//!
//! [`lexer`] cuts the text into tokens (keywords and names, literals, operators, parameters)
//! with their byte positions. The parser, hand-written recursive descent to keep the wasm
//! small, builds one [`ast::Statement`] per statement: `statement` holds the [`Parser`], its
//! token helpers and the statement grammar, `expr` the expression grammar (precedence
//! climbing). Nesting is bounded, so hostile SQL cannot overflow the stack; errors carry the
//! position of the offending token. Nothing here knows about the schema or the storage.

pub mod ast;
mod expr;
pub mod lexer;
mod statement;

pub use statement::{parse, ParsedStatement, Parser};
