//! Result rows: [`Row`] (values plus column names, with typed getters), [`FromValue`] (a SQL
//! value into a Rust type, with SQLite-like strictness), [`FromRow`] (a whole row into a
//! value or a tuple), and the query shortcuts [`Connection::query_row`],
//! [`Connection::query_one`] and [`Connection::query_map`].
//!
//! ```
//! use tessera::sql::{Connection, Row};
//! let mut conn = Connection::memory();
//! conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL)", ())?;
//! conn.execute("INSERT INTO t VALUES (1, 'ada', 9.5), (2, 'alan', NULL)", ())?;
//! for row in conn.query("SELECT id, name, score FROM t ORDER BY id", ())? {
//!     let row: Row = row?;
//!     let id: i64 = row.get(0)?;
//!     let name: String = row.get("name")?;           // by column name, case-insensitive
//!     let score: Option<f64> = row.get("SCORE")?;   // NULL reads as None
//!     println!("{id} {name} {score:?}");
//! }
//! let (id, name): (i64, String) = conn.query_one("SELECT id, name FROM t WHERE id = ?", (2,))?;
//! assert_eq!((id, name.as_str()), (2, "alan"));
//! // Reading a column as the wrong type is an error that names the column.
//! let e = conn.query_row("SELECT name FROM t", (), |r| r.get::<i64>(0)).unwrap_err();
//! assert_eq!(e.to_string(), r#"cannot convert column 0 ("name"): expected i64, found text"#);
//! # Ok::<(), tessera::Error>(())
//! ```

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Deref;

use crate::error::{Error, Result};
use crate::sql::api::connection::{Connection, Rows};
use crate::sql::api::params::{at_place, conversion, Params};
use crate::sql::types::value::{Text, Value};

/// One result row: its values and the statement's column names.
///
/// A `Row` dereferences to `[Value]`, so `row[0]`, `row.len()` and `row.iter()` work, and it
/// compares equal to a `Vec<Value>` or array with the same values.
///
/// ```
/// use tessera::sql::{Connection, Value};
/// let mut conn = Connection::memory();
/// let row = conn.query("SELECT 1 AS one, 'two' AS two, x'ff' AS three", ())?.next().unwrap()?;
/// assert_eq!(row.len(), 3);
/// assert_eq!(row[1], Value::from("two"));
/// assert_eq!(row, [Value::Integer(1), Value::from("two"), Value::Blob(vec![0xff])]);
/// assert_eq!(row.columns(), ["one", "two", "three"]);
/// assert_eq!(row.get::<Vec<u8>>("three")?, [0xff]);
/// assert_eq!(row.get_ref(0)?, &Value::Integer(1));
/// assert!(row.get::<i64>(3).is_err());                 // no such column
/// assert!(row.get::<i64>("four").is_err());
/// let values: Vec<Value> = row.into_values();
/// # Ok::<(), tessera::Error>(())
/// ```
#[derive(Clone)]
pub struct Row {
    values: Vec<Value>,
    columns: Arc<[String]>,
}

impl Row {
    /// A row of `values` under `columns` (the same length).
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        Row { values, columns }
    }

    /// Column `idx` (a `usize` position from 0, or a column name) as a `T`.
    ///
    /// Errors: [`Error::InvalidColumn`] for a position or name not in the row;
    /// [`Error::Conversion`] when the value does not fit `T` (see [`FromValue`]).
    pub fn get<T: FromValue>(&self, idx: impl RowIndex) -> Result<T> {
        let i = idx.index(&self.columns)?;
        T::from_value(&self.values[i]).map_err(|e| at_place(e, || self.describe(i)))
    }

    /// Column `idx` as the SQL value itself.
    pub fn get_ref(&self, idx: impl RowIndex) -> Result<&Value> {
        let i = idx.index(&self.columns)?;
        Ok(&self.values[i])
    }

    /// The values.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The values, taken out of the row.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The column names (as the statement names them: the alias, or the expression text).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The name of column `idx`.
    pub fn column_name(&self, idx: usize) -> Result<&str> {
        self.columns.get(idx).map(String::as_str).ok_or_else(|| out_of_range(idx, self.columns.len()))
    }

    /// The position of the column named `name` (ASCII case-insensitive, as in SQLite; the
    /// first such column).
    pub fn column_index(&self, name: &str) -> Result<usize> {
        name.index(&self.columns)
    }

    /// The whole row as a `T` (a single value, a tuple, ...); see [`FromRow`].
    pub fn to<T: FromRow>(&self) -> Result<T> {
        T::from_row(self)
    }

    /// `column 1 ("name")`.
    pub(crate) fn describe(&self, i: usize) -> String {
        match self.columns.get(i) {
            Some(n) => format!("column {i} ({n:?})"),
            None => format!("column {i}"),
        }
    }
}

fn out_of_range(idx: usize, len: usize) -> Error {
    Error::InvalidColumn(format!("column index {idx} out of range: the row has {len} columns"))
}

impl Deref for Row {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.values
    }
}

impl AsRef<[Value]> for Row {
    fn as_ref(&self) -> &[Value] {
        &self.values
    }
}

impl From<Row> for Vec<Value> {
    fn from(r: Row) -> Vec<Value> {
        r.values
    }
}

impl<'a> IntoIterator for &'a Row {
    type Item = &'a Value;
    type IntoIter = core::slice::Iter<'a, Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.iter()
    }
}

impl IntoIterator for Row {
    type Item = Value;
    type IntoIter = alloc::vec::IntoIter<Value>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.into_iter()
    }
}

/// Prints the values as a list (the column names are left out).
impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.values).finish()
    }
}

/// Rows are equal when their values are (column names are not compared).
impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        self.values == other.values
    }
}

impl PartialEq<Vec<Value>> for Row {
    fn eq(&self, other: &Vec<Value>) -> bool {
        &self.values == other
    }
}

impl PartialEq<[Value]> for Row {
    fn eq(&self, other: &[Value]) -> bool {
        self.values == other
    }
}

impl<const N: usize> PartialEq<[Value; N]> for Row {
    fn eq(&self, other: &[Value; N]) -> bool {
        self.values == other
    }
}

impl PartialEq<Row> for Vec<Value> {
    fn eq(&self, other: &Row) -> bool {
        self == &other.values
    }
}

/// A column position or name, for [`Row::get`].
pub trait RowIndex {
    /// The position of this column among `columns`.
    fn index(&self, columns: &[String]) -> Result<usize>;
}

impl RowIndex for usize {
    fn index(&self, columns: &[String]) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(out_of_range(*self, columns.len()))
        }
    }
}

impl RowIndex for &str {
    fn index(&self, columns: &[String]) -> Result<usize> {
        columns.iter().position(|c| c.eq_ignore_ascii_case(self)).ok_or_else(|| {
            Error::InvalidColumn(format!("no column named {:?} in the result (columns: {})", self, columns.join(", ")))
        })
    }
}

impl RowIndex for &String {
    fn index(&self, columns: &[String]) -> Result<usize> {
        self.as_str().index(columns)
    }
}

/// A Rust type that can be read from a SQL value, with SQLite-like strictness (as rusqlite's
/// `FromSql`):
///
/// | Rust type | accepts |
/// | --- | --- |
/// | `i64`, `i32`, `i16`, `i8`, `u64`, `u32`, `u16`, `u8`, `usize`, `isize` | INTEGER in the type's range |
/// | `f64`, `f32` | REAL or INTEGER |
/// | `bool` | INTEGER (0 is false, anything else true) |
/// | `String` | TEXT |
/// | `Vec<u8>` | BLOB or TEXT (its UTF-8 bytes) |
/// | `Option<T>` | NULL as `None`, else what `T` accepts |
/// | [`Value`] | anything |
///
/// Anything else is an [`Error::Conversion`] naming the expected Rust type and the SQL type
/// found: NULL into a non-`Option`, TEXT into a number (no implicit parsing), REAL into an
/// integer. To implement it for your own types, return [`Error::Conversion`] with an empty
/// `place` (the row fills in the column).
///
/// ```
/// use tessera::sql::{FromValue, Value};
/// assert_eq!(f64::from_value(&Value::Integer(2))?, 2.0);
/// assert_eq!(Option::<i64>::from_value(&Value::Null)?, None);
/// assert!(i64::from_value(&Value::from("12")).is_err());
/// assert!(u8::from_value(&Value::Integer(256)).is_err());
/// assert!(String::from_value(&Value::Null).is_err());
/// # Ok::<(), tessera::Error>(())
/// ```
pub trait FromValue: Sized {
    /// The value as `Self`.
    fn from_value(value: &Value) -> Result<Self>;
}

/// An [`Error::Conversion`] (place to be filled in) for a value of the wrong SQL type.
pub(crate) fn invalid_type(expected: &str, found: &Value) -> Error {
    conversion(format!("expected {expected}, found {}", found.type_name()))
}

impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Value> {
        Ok(value.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Option<T>> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<i64> {
        match value {
            Value::Integer(i) => Ok(*i),
            v => Err(invalid_type("i64", v)),
        }
    }
}

macro_rules! narrow_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<$t> {
                match value {
                    Value::Integer(i) => <$t>::try_from(*i).map_err(|_| {
                        conversion(format!("integer {i} is out of range for {}", stringify!($t)))
                    }),
                    v => Err(invalid_type(stringify!($t), v)),
                }
            }
        }
    )*};
}
narrow_from_value!(i8, i16, i32, isize, u8, u16, u32, u64, usize, i128, u128);

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<f64> {
        match value {
            Value::Real(r) => Ok(*r),
            Value::Integer(i) => Ok(*i as f64),
            v => Err(invalid_type("f64", v)),
        }
    }
}

impl FromValue for f32 {
    fn from_value(value: &Value) -> Result<f32> {
        match value {
            Value::Real(r) => Ok(*r as f32),
            Value::Integer(i) => Ok(*i as f32),
            v => Err(invalid_type("f32", v)),
        }
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<bool> {
        match value {
            Value::Integer(i) => Ok(*i != 0),
            v => Err(invalid_type("bool", v)),
        }
    }
}

/// Text as a `String`; text whose bytes are not UTF-8 (SQL can build such text from a blob)
/// is a conversion error: read it as [`Text`] or `Vec<u8>` to get its bytes.
impl FromValue for String {
    fn from_value(value: &Value) -> Result<String> {
        match value {
            Value::Text(s) => match s.as_str() {
                Some(s) => Ok(s.into()),
                None => Err(conversion(format!("expected String, found text that is not UTF-8: {s:?}"))),
            },
            v => Err(invalid_type("String", v)),
        }
    }
}

impl FromValue for Text {
    fn from_value(value: &Value) -> Result<Text> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            v => Err(invalid_type("Text", v)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Vec<u8>> {
        match value {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            v => Err(invalid_type("Vec<u8>", v)),
        }
    }
}

/// A Rust type that a whole row can be read into: any [`FromValue`] type (the row must have
/// exactly one column), a tuple of up to 16 [`FromValue`] types (as many columns as
/// elements), a [`Row`] or a `Vec<Value>`. With the `serde` feature, any
/// `serde::Deserialize` type reads a row through [`from_row`](crate::sql::from_row) and
/// [`Connection::query_as`](crate::sql::Connection::query_as) instead.
pub trait FromRow: Sized {
    /// The row as `Self`.
    fn from_row(row: &Row) -> Result<Self>;
}

fn check_width(row: &Row, n: usize, what: &str) -> Result<()> {
    if row.len() == n {
        Ok(())
    } else {
        Err(Error::Conversion {
            place: "row".into(),
            message: format!("the row has {} columns, {what} takes {n}", row.len()),
        })
    }
}

impl<T: FromValue> FromRow for T {
    fn from_row(row: &Row) -> Result<T> {
        check_width(row, 1, "a single value")?;
        row.get(0)
    }
}

impl FromRow for Row {
    fn from_row(row: &Row) -> Result<Row> {
        Ok(row.clone())
    }
}

impl FromRow for Vec<Value> {
    fn from_row(row: &Row) -> Result<Vec<Value>> {
        Ok(row.values.clone())
    }
}

macro_rules! tuple_from_row {
    ($n:literal: $($name:ident $i:tt)+) => {
        impl<$($name: FromValue),+> FromRow for ($($name,)+) {
            fn from_row(row: &Row) -> Result<Self> {
                check_width(row, $n, concat!("a tuple of ", $n))?;
                Ok(($(row.get::<$name>($i)?,)+))
            }
        }
    };
}
tuple_from_row!(1: A 0);
tuple_from_row!(2: A 0 B 1);
tuple_from_row!(3: A 0 B 1 C 2);
tuple_from_row!(4: A 0 B 1 C 2 D 3);
tuple_from_row!(5: A 0 B 1 C 2 D 3 E 4);
tuple_from_row!(6: A 0 B 1 C 2 D 3 E 4 F 5);
tuple_from_row!(7: A 0 B 1 C 2 D 3 E 4 F 5 G 6);
tuple_from_row!(8: A 0 B 1 C 2 D 3 E 4 F 5 G 6 H 7);
tuple_from_row!(9: A 0 B 1 C 2 D 3 E 4 F 5 G 6 H 7 I 8);
tuple_from_row!(10: A 0 B 1 C 2 D 3 E 4 F 5 G 6 H 7 I 8 J 9);
tuple_from_row!(11: A 0 B 1 C 2 D 3 E 4 F 5 G 6 H 7 I 8 J 9 K 10);
tuple_from_row!(12: A 0 B 1 C 2 D 3 E 4 F 5 G 6 H 7 I 8 J 9 K 10 L 11);
tuple_from_row!(13: A 0 B 1 C 2 D 3 E 4 F 5 G 6 H 7 I 8 J 9 K 10 L 11 M 12);
tuple_from_row!(14: A 0 B 1 C 2 D 3 E 4 F 5 G 6 H 7 I 8 J 9 K 10 L 11 M 12 N 13);
tuple_from_row!(15: A 0 B 1 C 2 D 3 E 4 F 5 G 6 H 7 I 8 J 9 K 10 L 11 M 12 N 13 O 14);
tuple_from_row!(16: A 0 B 1 C 2 D 3 E 4 F 5 G 6 H 7 I 8 J 9 K 10 L 11 M 12 N 13 O 14 P 15);

/// The rows of a query, each passed through a function: made by [`Connection::query_map`]
/// and [`Rows::mapped`].
pub struct MappedRows<'c, F> {
    rows: Rows<'c>,
    f: F,
}

impl<T, F: FnMut(&Row) -> Result<T>> Iterator for MappedRows<'_, F> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        Some(self.rows.next()?.and_then(|r| (self.f)(&r)))
    }
}

impl<'c> Rows<'c> {
    /// Each row passed through `f`.
    pub fn mapped<T, F: FnMut(&Row) -> Result<T>>(self, f: F) -> MappedRows<'c, F> {
        MappedRows { rows: self, f }
    }
}

impl Connection {
    /// Run a query and pass its first row to `f` (further rows are not read).
    /// [`Error::QueryReturnedNoRows`] when there is none.
    ///
    /// ```
    /// let mut conn = tessera::sql::Connection::memory();
    /// conn.execute("CREATE TABLE t(a INTEGER, b TEXT)", ())?;
    /// conn.execute("INSERT INTO t VALUES (1, 'x'), (2, 'y')", ())?;
    /// let b = conn.query_row("SELECT a, b FROM t WHERE a = ?", (2,), |r| r.get::<String>("b"))?;
    /// assert_eq!(b, "y");
    /// let none = conn.query_row("SELECT a FROM t WHERE a > 5", (), |r| r.get::<i64>(0));
    /// assert!(matches!(none, Err(tessera::Error::QueryReturnedNoRows(_))));
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn query_row<T, F: FnOnce(&Row) -> Result<T>>(&mut self, sql: &str, params: impl Params, f: F) -> Result<T> {
        match self.query(sql, params)?.next() {
            Some(row) => f(&row?),
            None => Err(Error::QueryReturnedNoRows(sql.to_string())),
        }
    }

    /// Run a query that must return exactly one row and read it as a `T` (see [`FromRow`]:
    /// a single value, a tuple, a [`Row`]). [`Error::QueryReturnedNoRows`] when it returns
    /// none, [`Error::Sql`] when it returns more than one.
    ///
    /// ```
    /// let mut conn = tessera::sql::Connection::memory();
    /// conn.execute("CREATE TABLE t(a INTEGER, b TEXT)", ())?;
    /// conn.execute("INSERT INTO t VALUES (1, 'x'), (2, NULL)", ())?;
    /// let n: i64 = conn.query_one("SELECT count(*) FROM t", ())?;
    /// let (a, b): (i64, Option<String>) = conn.query_one("SELECT a, b FROM t WHERE a = ?", (2,))?;
    /// assert_eq!((n, a, b), (2, 2, None));
    /// assert!(conn.query_one::<i64>("SELECT a FROM t", ()).is_err()); // two rows
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn query_one<T: FromRow>(&mut self, sql: &str, params: impl Params) -> Result<T> {
        let mut rows = self.query(sql, params)?;
        let row = rows.next().ok_or_else(|| Error::QueryReturnedNoRows(sql.to_string()))??;
        if rows.next().transpose()?.is_some() {
            return Err(Error::Sql(format!("query_one: the query returned more than one row: {sql}")));
        }
        T::from_row(&row)
    }

    /// Run a query and pass each row through `f`.
    ///
    /// ```
    /// let mut conn = tessera::sql::Connection::memory();
    /// let names: Vec<String> = conn
    ///     .query_map("SELECT 'a' UNION ALL SELECT 'b'", (), |r| r.get(0))?
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(names, ["a", "b"]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn query_map<T, F: FnMut(&Row) -> Result<T>>(
        &mut self,
        sql: &str,
        params: impl Params,
        f: F,
    ) -> Result<MappedRows<'_, F>> {
        Ok(self.query(sql, params)?.mapped(f))
    }
}
