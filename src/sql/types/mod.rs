//! Types: SQL values and everything that works on a value alone.
//!
//! [`value`] is the dynamically typed [`Value`](value::Value) (NULL, INTEGER, REAL, TEXT,
//! BLOB) with SQLite's affinities, comparisons and conversions; [`float`] prints and parses
//! reals exactly as SQLite does; [`text`] is TEXT as bytes (not always UTF-8, as in
//! SQLite) and SQLite's way of reading characters from them; [`collation`] compares text (BINARY, NOCASE, RTRIM);
//! [`encoding`] maps values to bytes: order-preserving key encodings for row and index keys,
//! and the record format of stored rows; [`functions`] holds the built-in scalar and
//! aggregate functions. Nothing here knows about tables, plans or transactions, so every
//! stage can depend on it.

pub mod collation;
pub mod encoding;
pub mod float;
pub mod functions;
pub mod text;
pub mod value;
