//! Statement parameters: what can be bound and how (the rules are documented on [`Params`]).

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::sql::types::value::{Text, Value};

/// A Rust value that can be a SQL value (a parameter). Integers become INTEGER (a `u64` or
/// `usize` above `i64::MAX` is an error), floats REAL (NaN becomes NULL, as in SQLite),
/// `bool` the integer 0 or 1, strings TEXT, byte strings BLOB, `None` NULL.
///
/// Implement it for your own types to pass them as parameters; report failure with
/// [`Error::Conversion`] (leave `place` empty: the caller fills in which parameter it was).
///
/// ```
/// use tessera::sql::{ToValue, Value};
/// assert_eq!(42u8.to_value()?, Value::Integer(42));
/// assert_eq!(true.to_value()?, Value::Integer(1));
/// assert_eq!(f64::NAN.to_value()?, Value::Null);
/// assert_eq!(b"\x00\x01".to_value()?, Value::Blob(vec![0, 1]));
/// assert_eq!(None::<&str>.to_value()?, Value::Null);
/// assert!(u64::MAX.to_value().is_err());
/// # Ok::<(), tessera::Error>(())
/// ```
pub trait ToValue {
    /// The SQL value.
    fn to_value(&self) -> Result<Value>;
}

/// An [`Error::Conversion`] whose place the caller fills in.
pub(crate) fn conversion(message: impl Into<String>) -> Error {
    Error::Conversion { place: String::new(), message: message.into() }
}

/// Fill in the place of an [`Error::Conversion`] that has none yet.
pub(crate) fn at_place(e: Error, place: impl FnOnce() -> String) -> Error {
    match e {
        Error::Conversion { place: p, message } if p.is_empty() => Error::Conversion { place: place(), message },
        other => other,
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Result<Value> {
        Ok(self.clone())
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Result<Value> {
        (**self).to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for alloc::boxed::Box<T> {
    fn to_value(&self) -> Result<Value> {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Result<Value> {
        match self {
            Some(v) => v.to_value(),
            None => Ok(Value::Null),
        }
    }
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Result<Value> {
                Ok(Value::Integer(i64::from(*self)))
            }
        }
    )*};
}
int_to_value!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Result<Value> {
                i64::try_from(*self).map(Value::Integer).map_err(|_| {
                    conversion(format!(
                        "{} {} is out of range for a SQL INTEGER (i64::MIN..=i64::MAX)",
                        stringify!($t),
                        self
                    ))
                })
            }
        }
    )*};
}
wide_to_value!(u64, usize, isize, i128, u128);

impl ToValue for f64 {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::real(*self))
    }
}

impl ToValue for f32 {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::real(f64::from(*self)))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Integer(i64::from(*self)))
    }
}

impl ToValue for char {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.to_string().into()))
    }
}

impl ToValue for str {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.into()))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.into()))
    }
}

impl ToValue for Text {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.clone()))
    }
}

impl ToValue for Cow<'_, str> {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Text(self.to_string().into()))
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl<const N: usize> ToValue for [u8; N] {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Blob(self.to_vec()))
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Result<Value> {
        Ok(Value::Blob(self.clone()))
    }
}

/// Parameter values ready to bind: by position or by name. Made by [`Params::into_bindings`];
/// matched against each statement's parameters when it runs (see [`Params`] for the rules).
#[derive(Debug, Clone, PartialEq)]
pub struct Bindings {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Positional(Vec<Value>),
    Named { values: Vec<(String, Value)>, ignore_unused: bool },
}

impl Bindings {
    /// Values bound by position: the first to parameter 1 (`?`, `?1` or the first named one).
    pub fn positional(values: Vec<Value>) -> Bindings {
        Bindings { kind: Kind::Positional(values) }
    }

    /// Values bound by name. A name with its sigil (`":id"`, `"@id"`, `"$id"`) matches that
    /// parameter only; a bare name (`"id"`) matches `:id`, `@id` and `$id`. A name the
    /// statement does not use is an error.
    pub fn named(values: Vec<(String, Value)>) -> Bindings {
        Bindings { kind: Kind::Named { values, ignore_unused: false } }
    }

    /// Like [`Bindings::named`], but names the statement does not use are ignored (how
    /// [`Serde`](crate::sql::Serde) parameters bind: a struct may have more fields than a statement
    /// uses).
    pub fn named_ignoring_unused(values: Vec<(String, Value)>) -> Bindings {
        Bindings { kind: Kind::Named { values, ignore_unused: true } }
    }

    /// Whether the values are bound by name.
    pub fn is_named(&self) -> bool {
        matches!(self.kind, Kind::Named { .. })
    }

    /// Whether a name the statement does not use is an error (named bindings only).
    pub(crate) fn checks_unused(&self) -> bool {
        matches!(self.kind, Kind::Named { ignore_unused: false, .. })
    }

    /// The values for a statement whose parameters are `names` (one entry per index, `None`
    /// for positional parameters), in index order. Does not check for given names the
    /// statement does not use when `all_used` is false (see [`Bindings::check_used`]).
    pub(crate) fn resolve(&self, names: &[Option<String>], all_used: bool) -> Result<Vec<Value>> {
        match &self.kind {
            Kind::Positional(values) => {
                check_count(names.len(), values.len())?;
                Ok(values.clone())
            }
            Kind::Named { values, ignore_unused } => {
                if all_used && !ignore_unused {
                    check_used(values, names.iter().flatten().map(String::as_str))?;
                }
                resolve_named(values, names)
            }
        }
    }

    /// Like [`Bindings::resolve`] with `all_used`, consuming the bindings (no copy of positional
    /// values).
    pub(crate) fn into_values(self, names: &[Option<String>]) -> Result<Vec<Value>> {
        match self.kind {
            Kind::Positional(values) => {
                check_count(names.len(), values.len())?;
                Ok(values)
            }
            kind => Bindings { kind }.resolve(names, true),
        }
    }

    /// For a script of several statements bound by name: every given name must be used by
    /// some statement (`names`: all their parameter names).
    pub(crate) fn check_used<'a>(&self, names: impl Iterator<Item = &'a str> + Clone) -> Result<()> {
        match &self.kind {
            Kind::Named { values, ignore_unused: false } => check_used(values, names),
            _ => Ok(()),
        }
    }
}

fn check_count(takes: usize, given: usize) -> Result<()> {
    if takes == given {
        return Ok(());
    }
    let s = if takes == 1 { "" } else { "s" };
    Err(Error::Sql(format!("wrong number of parameters: the statement takes {takes} parameter{s}, {given} given")))
}

const SIGILS: [char; 3] = [':', '@', '$'];

/// Whether a given name (with or without sigil) matches a statement's parameter name (with).
fn name_matches(given: &str, param: &str) -> bool {
    if given.starts_with(SIGILS) {
        given == param
    } else {
        param.get(1..) == Some(given)
    }
}

fn resolve_named(values: &[(String, Value)], names: &[Option<String>]) -> Result<Vec<Value>> {
    for (i, (k, _)) in values.iter().enumerate() {
        if values[..i].iter().any(|(p, _)| p == k) {
            return Err(Error::Sql(format!("parameter {k} is given twice")));
        }
    }
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let Some(name) = name else {
            return Err(Error::Sql(format!(
                "parameter {} is positional (?): it cannot be bound by name; pass the values by position",
                i + 1
            )));
        };
        match values.iter().find(|(k, _)| name_matches(k, name)) {
            Some((_, v)) => out.push(v.clone()),
            None => return Err(Error::Sql(format!("missing value for parameter {name}"))),
        }
    }
    Ok(out)
}

fn check_used<'a>(values: &[(String, Value)], names: impl Iterator<Item = &'a str> + Clone) -> Result<()> {
    for (k, _) in values {
        if !names.clone().any(|n| name_matches(k, n)) {
            return Err(Error::Sql(format!("the statement has no parameter named {k}")));
        }
    }
    Ok(())
}

/// Statement parameters: [`ToValue`] turns a Rust value into a SQL [`Value`], [`Params`] turns
/// a set of arguments into [`Bindings`] (positional or by name), and [`Bindings`] are matched
/// against a statement's parameters when it runs.
///
/// What can be passed as parameters:
///
/// | argument | binds |
/// | --- | --- |
/// | `()`, `&[]`, `[]` | nothing (the statement must take no parameters) |
/// | `(a, b, c)` — tuples of 1 to 16 [`ToValue`] | by position |
/// | `&[Value]`, `&[Value; N]`, `[Value; N]`, `Vec<Value>`, `&Vec<Value>` | by position |
/// | [`params!`](crate::params)`[a, b]` (a `&[&dyn ToValue]`) | by position |
/// | [`Named`]`(&[(":id", Value::from(1))])`, [`named_params!`](crate::named_params)`{":id": 1}` | by name |
/// | [`Serde`](crate::sql::Serde)`(&s)` — any `serde::Serialize` struct or map (feature `serde`) | by name (fields) |
///
/// Rules (checked before the statement runs, so a bad call changes nothing):
/// - By position, the number of values must equal the statement's parameter count
///   ([`Prepared::parameter_count`](crate::sql::Prepared::parameter_count), the largest `?NNN` or the number of distinct
///   parameters). A named parameter (`:a`) also has a position, so positional values bind
///   it too. Unlike SQLite's C API, a parameter left out is an error, not NULL.
/// - By name, every parameter of the statement must be named and given a value: a name
///   with its sigil (`":id"`) matches only that parameter; a bare name (`"id"`, as serde
///   fields are) matches `:id`, `@id` and `$id`. A missing name is an error; so is a given
///   name the statement does not use — except for [`Serde`](crate::sql::Serde) parameters, whose
///   extra fields are ignored so that one struct can feed an INSERT and an UPDATE that use
///   different fields.
/// - Positional `?` parameters cannot be bound by name.
///
/// ```
/// use tessera::sql::{Connection, Named, Value};
/// use tessera::{named_params, params};
///
/// let mut conn = Connection::memory();
/// conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL)", ())?;
/// conn.execute("INSERT INTO t VALUES (?, ?, ?)", (1, "ada", 9.5))?;
/// conn.execute("INSERT INTO t VALUES (?1, ?2, ?3)", params![2, "alan", None::<f64>])?;
/// conn.execute("INSERT INTO t VALUES (:id, :name, :score)", named_params! {":id": 3, ":name": "grace", ":score": 7})?;
/// conn.execute("INSERT INTO t VALUES (@id, @name, NULL)", Named(&[("@id", Value::from(4)), ("@name", "edsger".into())]))?;
/// conn.execute("INSERT INTO t VALUES (?, ?, ?)", &[Value::from(5), Value::from("barbara"), Value::Null])?;
/// let n: i64 = conn.query_one("SELECT count(*) FROM t WHERE name > ?", ("b",))?;
/// assert_eq!(n, 3);
///
/// // Mistakes are errors, not silent NULLs.
/// assert!(conn.execute("INSERT INTO t VALUES (?, ?, ?)", (6, "too few")).is_err());
/// assert!(conn.execute("INSERT INTO t VALUES (:id, :name, NULL)", named_params! {":id": 7}).is_err());
/// assert!(conn.execute("INSERT INTO t VALUES (?, ?, ?)", (8, "x", u64::MAX)).is_err());
/// # Ok::<(), tessera::Error>(())
/// ```
///
/// Arguments for a statement's parameters. See above for what implements it and how values
/// are matched to parameters.
///
/// ```
/// use tessera::sql::{Connection, Value};
/// let mut conn = Connection::memory();
/// conn.execute("CREATE TABLE t(a, b)", ())?;                          // no parameters
/// conn.execute("INSERT INTO t VALUES (?, ?)", (1, "one"))?;           // a tuple
/// conn.execute("INSERT INTO t VALUES (?, ?)", &[Value::from(2), Value::from("two")])?;
/// let args = vec![Value::from(3), Value::Blob(vec![3])];
/// conn.execute("INSERT INTO t VALUES (?, ?)", &args)?;                // kept for reuse
/// assert_eq!(conn.query_one::<i64>("SELECT count(*) FROM t", [])?, 3);
/// # Ok::<(), tessera::Error>(())
/// ```
pub trait Params {
    /// The values to bind. Fails when a value has no SQL form (e.g. a `u64` above
    /// `i64::MAX`).
    fn into_bindings(self) -> Result<Bindings>;
}

impl Params for Bindings {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(self)
    }
}

impl Params for &Bindings {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(self.clone())
    }
}

impl Params for () {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(Bindings::positional(Vec::new()))
    }
}

impl Params for &[Value] {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(Bindings::positional(self.to_vec()))
    }
}

impl<const N: usize> Params for &[Value; N] {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(Bindings::positional(self.to_vec()))
    }
}

impl<const N: usize> Params for [Value; N] {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(Bindings::positional(self.into()))
    }
}

impl Params for Vec<Value> {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(Bindings::positional(self))
    }
}

impl Params for &Vec<Value> {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(Bindings::positional(self.clone()))
    }
}

/// Convert values to bind by position, naming the parameter that fails.
fn positional<'a>(values: impl Iterator<Item = &'a dyn ToValue>) -> Result<Bindings> {
    let v = values
        .enumerate()
        .map(|(i, v)| v.to_value().map_err(|e| at_place(e, || format!("parameter {}", i + 1))))
        .collect::<Result<Vec<_>>>()?;
    Ok(Bindings::positional(v))
}

/// What [`params!`](crate::params) makes.
impl Params for &[&dyn ToValue] {
    fn into_bindings(self) -> Result<Bindings> {
        positional(self.iter().map(|v| v as &dyn ToValue))
    }
}

macro_rules! tuple_params {
    ($($name:ident)+) => {
        impl<$($name: ToValue),+> Params for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_bindings(self) -> Result<Bindings> {
                let ($($name,)+) = &self;
                positional([$($name as &dyn ToValue),+].into_iter())
            }
        }
    };
}
tuple_params!(A);
tuple_params!(A B);
tuple_params!(A B C);
tuple_params!(A B C D);
tuple_params!(A B C D E);
tuple_params!(A B C D E F);
tuple_params!(A B C D E F G);
tuple_params!(A B C D E F G H);
tuple_params!(A B C D E F G H I);
tuple_params!(A B C D E F G H I J);
tuple_params!(A B C D E F G H I J K);
tuple_params!(A B C D E F G H I J K L);
tuple_params!(A B C D E F G H I J K L M);
tuple_params!(A B C D E F G H I J K L M N);
tuple_params!(A B C D E F G H I J K L M N O);
tuple_params!(A B C D E F G H I J K L M N O P);

/// Parameters bound by name: wrap a list of `(name, value)` pairs. Names may carry their
/// sigil (`":id"` matches only `:id`) or not (`"id"` matches `:id`, `@id` and `$id`).
///
/// ```
/// use tessera::sql::{Connection, Named, Value};
/// let mut conn = Connection::memory();
/// conn.execute("CREATE TABLE t(id, name)", ())?;
/// conn.execute("INSERT INTO t VALUES (:id, $name)", Named(&[(":id", Value::from(1)), ("name", "ada".into())]))?;
/// let pairs = vec![("id".to_string(), Value::from(2)), ("name".to_string(), Value::from("alan"))];
/// conn.execute("INSERT INTO t VALUES (@id, @name)", Named(pairs))?;
/// let name: String = conn.query_one("SELECT name FROM t WHERE id = :id", Named(&[(":id", 2.into())]))?;
/// assert_eq!(name, "alan");
/// // A name the statement does not have is an error.
/// assert!(conn.query_one::<i64>("SELECT 1 WHERE :a", Named(&[(":b", 1.into())])).is_err());
/// # Ok::<(), tessera::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Named<T>(pub T);

fn named<'a, K: AsRef<str> + 'a>(pairs: impl Iterator<Item = (K, &'a dyn ToValue)>) -> Result<Bindings> {
    let v = pairs
        .map(|(k, v)| {
            let k = k.as_ref();
            v.to_value().map(|v| (k.to_string(), v)).map_err(|e| at_place(e, || format!("parameter {k}")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Bindings::named(v))
}

impl Params for Named<&[(&str, Value)]> {
    fn into_bindings(self) -> Result<Bindings> {
        named(self.0.iter().map(|(k, v)| (*k, v as &dyn ToValue)))
    }
}

impl<const N: usize> Params for Named<&[(&str, Value); N]> {
    fn into_bindings(self) -> Result<Bindings> {
        named(self.0.iter().map(|(k, v)| (*k, v as &dyn ToValue)))
    }
}

impl<const N: usize> Params for Named<[(&str, Value); N]> {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(Bindings::named(self.0.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    }
}

impl Params for Named<Vec<(String, Value)>> {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(Bindings::named(self.0))
    }
}

impl Params for Named<Vec<(&str, Value)>> {
    fn into_bindings(self) -> Result<Bindings> {
        Ok(Bindings::named(self.0.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    }
}

/// What [`named_params!`](crate::named_params) makes.
impl Params for Named<&[(&str, &dyn ToValue)]> {
    fn into_bindings(self) -> Result<Bindings> {
        named(self.0.iter().map(|(k, v)| (*k, *v)))
    }
}

/// Positional parameters of mixed types: `params![1, "x", None::<i64>]` is a
/// `&[&dyn ToValue]`, bound in order.
///
/// ```
/// use tessera::params;
/// let mut conn = tessera::sql::Connection::memory();
/// let name = String::from("ada");
/// let row = conn.query_row("SELECT ?, ?, ?", params![1, name, None::<i64>], |r| r.get::<String>(1))?;
/// assert_eq!(row, "ada");
/// # Ok::<(), tessera::Error>(())
/// ```
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::sql::ToValue]
    };
    ($($value:expr),+ $(,)?) => {
        &[$(&$value as &dyn $crate::sql::ToValue),+] as &[&dyn $crate::sql::ToValue]
    };
}

/// Named parameters of mixed types: `named_params! {":id": 1, ":name": "x"}` is a
/// [`Named`](crate::sql::Named) list bound by name.
///
/// ```
/// use tessera::named_params;
/// let mut conn = tessera::sql::Connection::memory();
/// let n: i64 = conn.query_one("SELECT :a + @b", named_params! {":a": 1, "b": 2u8})?;
/// assert_eq!(n, 3);
/// # Ok::<(), tessera::Error>(())
/// ```
#[macro_export]
macro_rules! named_params {
    () => {
        $crate::sql::Named(&[] as &[(&str, &dyn $crate::sql::ToValue)])
    };
    ($($name:literal : $value:expr),+ $(,)?) => {
        $crate::sql::Named(&[$(($name, &$value as &dyn $crate::sql::ToValue)),+] as &[(&str, &dyn $crate::sql::ToValue)])
    };
}
