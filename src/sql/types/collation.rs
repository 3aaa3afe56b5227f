//! Collations: how text compares (BINARY, NOCASE, RTRIM), by name as SQL writes them.
//!
//! Every collation here is "compare a folded copy byte-wise": NOCASE folds ASCII upper case to
//! lower case (as SQLite, no other letters), RTRIM drops trailing spaces. [`Coll::key`] gives the
//! folded value; operators that hash or sort values (DISTINCT, GROUP BY, compound selects,
//! IN (SELECT ...), index and primary keys) use it, so they agree with [`Coll::cmp`]. Which
//! collation an operator uses is decided once by the planner (`planner::compile`).

use alloc::borrow::Cow;
use core::cmp::Ordering;

use crate::error::{Error, Result};
use crate::sql::types::value::{Text, Value};

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

    /// The value this collation compares: text folded (NOCASE: ASCII lower case; RTRIM:
    /// trailing spaces dropped), everything else as it is. Two values are equal under the
    /// collation exactly when their keys are equal, and keys order as the collation does.
    pub fn key(self, v: &Value) -> Cow<'_, Value> {
        match (self, v) {
            (Coll::NoCase, Value::Text(s)) if s.as_bytes().iter().any(u8::is_ascii_uppercase) => {
                Cow::Owned(Value::Text(Text::from_bytes(s.as_bytes().to_ascii_lowercase())))
            }
            (Coll::Rtrim, Value::Text(s)) if s.as_bytes().ends_with(b" ") => {
                Cow::Owned(Value::Text(Text::from_bytes(rtrim(s.as_bytes()).to_vec())))
            }
            _ => Cow::Borrowed(v),
        }
    }

    /// The keys ([`Coll::key`]) of a row's values under per-column collations (a missing
    /// collation is BINARY).
    pub fn row_key(colls: &[Coll], row: &[Value]) -> alloc::vec::Vec<Value> {
        row.iter().enumerate().map(|(i, v)| colls.get(i).copied().unwrap_or(Coll::Binary).key(v).into_owned()).collect()
    }

    /// Whether every collation is BINARY (folding changes nothing).
    pub fn all_binary(colls: &[Coll]) -> bool {
        colls.iter().all(|c| *c == Coll::Binary)
    }

    /// Compare two values under this collation (NULLs sort first, as in total_cmp).
    pub fn cmp(self, a: &Value, b: &Value) -> Ordering {
        match (self, a, b) {
            (Coll::Binary, ..) => a.total_cmp(b),
            (Coll::NoCase, Value::Text(x), Value::Text(y)) => {
                x.as_bytes().iter().map(u8::to_ascii_lowercase).cmp(y.as_bytes().iter().map(u8::to_ascii_lowercase))
            }
            (Coll::Rtrim, Value::Text(x), Value::Text(y)) => rtrim(x.as_bytes()).cmp(rtrim(y.as_bytes())),
            _ => a.total_cmp(b),
        }
    }
}

/// The bytes without their trailing spaces (the RTRIM collation's view of text).
pub fn rtrim(b: &[u8]) -> &[u8] {
    let n = b.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    &b[..n]
}
