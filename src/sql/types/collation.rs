//! Collations: how text compares (BINARY, NOCASE, RTRIM), by name as SQL writes them.

use core::cmp::Ordering;

use crate::error::{Error, Result};
use crate::sql::types::value::Value;

/// A comparison collation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coll {
    /// Byte-wise.
    Binary,
    /// ASCII case-insensitive.
    NoCase,
    /// Trailing spaces ignored.
    Rtrim,
}

impl Coll {
    /// Collation by name.
    pub fn by_name(name: &str) -> Result<Coll> {
        match name.to_ascii_uppercase().as_str() {
            "BINARY" => Ok(Coll::Binary),
            "NOCASE" => Ok(Coll::NoCase),
            "RTRIM" => Ok(Coll::Rtrim),
            _ => Err(Error::Sql(alloc::format!("no such collation sequence: {name}"))),
        }
    }

    /// Compare two values under this collation (NULLs sort first, as in total_cmp).
    pub fn cmp(self, a: &Value, b: &Value) -> Ordering {
        match (self, a, b) {
            (Coll::Binary, ..) => a.total_cmp(b),
            (Coll::NoCase, Value::Text(x), Value::Text(y)) => {
                x.bytes().map(|c| c.to_ascii_lowercase()).cmp(y.bytes().map(|c| c.to_ascii_lowercase()))
            }
            (Coll::Rtrim, Value::Text(x), Value::Text(y)) => x.trim_end_matches(' ').cmp(y.trim_end_matches(' ')),
            _ => a.total_cmp(b),
        }
    }
}
