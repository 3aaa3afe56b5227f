//! serde support (feature `serde`): structs as parameters, rows as structs (the mapping is
//! documented on [`Serde`]).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use ::serde::de::{self, DeserializeOwned, Visitor};
use ::serde::ser::{self, Impossible, Serialize};
use ::serde::{forward_to_deserialize_any, Deserialize};

use crate::error::{Error, Result};
use crate::sql::api::connection::{Connection, Rows};
use crate::sql::api::params::{at_place, conversion, Bindings, Params};
use crate::sql::api::row::Row;
use crate::sql::types::value::Value;

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        conversion(msg.to_string())
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        conversion(msg.to_string())
    }
}

/// A [`Value`] serializes as its plain content: NULL as `None`, INTEGER as `i64`, REAL as
/// `f64`, TEXT as a string, BLOB as bytes.
impl Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Integer(i) => s.serialize_i64(*i),
            Value::Real(r) => s.serialize_f64(*r),
            Value::Text(t) => match t.as_str() {
                Some(t) => s.serialize_str(t),
                None => s.serialize_bytes(t.as_bytes()),
            },
            Value::Blob(b) => s.serialize_bytes(b),
        }
    }
}

/// A [`Value`] deserializes from any scalar: unit or `None` as NULL, bools and integers as
/// INTEGER (a `u64` above `i64::MAX` is an error), floats as REAL, strings as TEXT, bytes as
/// BLOB.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> core::result::Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a SQL value (null, integer, float, string or bytes)")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> core::result::Result<Value, E> {
        Ok(Value::Integer(v.into()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> core::result::Result<Value, E> {
        Ok(Value::Integer(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> core::result::Result<Value, E> {
        i64::try_from(v).map(Value::Integer).map_err(|_| E::custom(format!("integer {v} is out of range for i64")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> core::result::Result<Value, E> {
        Ok(Value::real(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> core::result::Result<Value, E> {
        Ok(Value::Text(v.into()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> core::result::Result<Value, E> {
        Ok(Value::Text(v.into()))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> core::result::Result<Value, E> {
        Ok(Value::Blob(v.into()))
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> core::result::Result<Value, E> {
        Ok(Value::Blob(v))
    }
    fn visit_none<E: de::Error>(self) -> core::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E: de::Error>(self) -> core::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> core::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

// -------------------------------------------------------------------------------------------
// Parameters

/// serde support (feature `serde`): any `Serialize` struct or map as named parameters
/// (`Serde`, [`to_params`]), and rows into any `Deserialize` type ([`from_row`],
/// [`Connection::query_as`], [`Rows::deserialize`]). Hand-written serializer and deserializer,
/// no_std + alloc, no serde_json.
///
/// Parameters: each field binds the parameter of the same name (`:field`, `@field` or
/// `$field`; fields the statement does not use are ignored, a parameter with no field is an
/// error). A sequence or tuple binds by position instead. Field values map to SQL values as:
///
/// | Rust (serde data model) | SQL |
/// | --- | --- |
/// | integers (`u64` up to `i64::MAX`), `bool` | INTEGER (`bool` as 0/1) |
/// | `f32`, `f64` | REAL (NaN as NULL) |
/// | `String`, `&str`, `char`, unit enum variants (by name) | TEXT |
/// | `Vec<u8>`, `[u8; N]`, `serde_bytes` | BLOB |
/// | `None`, `()` | NULL |
/// | newtype structs | their inner value |
///
/// [`Value`] itself implements `Serialize` and `Deserialize` (so a `HashMap<String, Value>`
/// works as parameters and as a row). Nested structs, maps, sequences of anything but `u8` and data-carrying enum variants
/// have no SQL value: binding them is an [`Error::Conversion`] naming the field.
///
/// Rows: a struct or map takes the columns by name (a column name matches a field name
/// ASCII-case-insensitively; columns with no field are ignored unless the struct denies
/// unknown fields); a tuple or sequence takes them by position (a tuple's length must equal
/// the column count); a single value (`i64`, `String`, `Option<f64>`, a newtype) takes the
/// only column of a one-column row (and so does a sequence when that column is a BLOB, so
/// that `Vec<u8>` reads the bytes). Values convert with the same strictness as
/// [`FromValue`](crate::sql::FromValue): INTEGER into any integer type in range, into `f64`, and
/// into `bool` (0 is false); REAL into floats; TEXT into strings and unit enum variants;
/// BLOB (or TEXT) into `Vec<u8>`; NULL only into `Option` and `()`. A wrong type is an
/// [`Error::Conversion`] naming the column.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tessera::sql::{from_row, Connection, Serde};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Item {
///     id: i64,
///     name: String,
///     price: f64,
///     tags: Option<String>,
///     thumbnail: Vec<u8>,
///     in_stock: bool,
/// }
///
/// let mut conn = Connection::memory();
/// conn.execute("CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT, price REAL, tags TEXT, thumbnail BLOB, in_stock INTEGER)", ())?;
/// let item = Item { id: 7, name: "lamp".into(), price: 19.5, tags: None, thumbnail: vec![0x89, 0x50], in_stock: true };
/// conn.execute(
///     "INSERT INTO item VALUES (:id, :name, :price, :tags, :thumbnail, :in_stock)",
///     Serde(&item),
/// )?;
/// // Extra fields are fine: this statement uses two of them.
/// conn.execute("UPDATE item SET price = :price * 2 WHERE id = :id", Serde(&item))?;
///
/// let back: Item = conn.query_row("SELECT * FROM item WHERE id = ?", (7,), |row| from_row(row))?;
/// assert_eq!(back, Item { price: 39.0, ..item });
/// let pairs: Vec<(String, f64)> = conn.query_as("SELECT name, price FROM item", ())?.collect::<Result<_, _>>()?;
/// assert_eq!(pairs, [("lamp".to_string(), 39.0)]);
/// # Ok::<(), tessera::Error>(())
/// ```
///
/// In short: a `serde::Serialize` value as parameters; a struct or map binds by name (as
/// above), a tuple or sequence by position.
///
/// ```
/// use serde::Serialize;
/// use tessera::sql::{Connection, Serde};
///
/// #[derive(Serialize)]
/// struct NewUser<'a> { name: &'a str, age: Option<u32> }
///
/// let mut conn = Connection::memory();
/// conn.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, age INTEGER)", ())?;
/// conn.execute("INSERT INTO users(name, age) VALUES (:name, :age)", Serde(NewUser { name: "ada", age: Some(36) }))?;
/// conn.execute("INSERT INTO users(name, age) VALUES ($name, $age)", Serde(&NewUser { name: "alan", age: None }))?;
/// let mut map = std::collections::BTreeMap::new();
/// map.insert("name", "ada");
/// assert_eq!(conn.query_one::<i64>("SELECT age FROM users WHERE name = @name", Serde(&map))?, 36);
/// // A parameter with no field is an error.
/// assert!(conn.execute("INSERT INTO users(name, age) VALUES (:name, :years)", Serde(NewUser { name: "x", age: None })).is_err());
/// # Ok::<(), tessera::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Serde<T>(pub T);

impl<T: Serialize> Params for Serde<T> {
    fn into_bindings(self) -> Result<Bindings> {
        to_params(&self.0)
    }
}

/// Serialize `value` into parameter [`Bindings`]: see [`Serde`].
///
/// ```
/// use tessera::sql::{to_params, Bindings, Value};
/// #[derive(serde::Serialize)]
/// struct P { id: u64, flag: bool }
/// let b = to_params(&P { id: 3, flag: true })?;
/// assert!(b.is_named());
/// assert!(to_params(&P { id: u64::MAX, flag: false }).is_err());
/// assert_eq!(to_params(&(1, "x"))?, Bindings::positional(vec![Value::from(1), Value::from("x")]));
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn to_params<T: Serialize + ?Sized>(value: &T) -> Result<Bindings> {
    value.serialize(ParamsSerializer)
}

/// The top level of a parameter value: a struct or map (named), a sequence or tuple
/// (positional).
struct ParamsSerializer;

fn not_params(what: &str) -> Error {
    Error::Conversion {
        place: "parameters".into(),
        message: format!(
            "{what} cannot be parameters: pass a struct or map (by name), or a tuple or sequence (by position)"
        ),
    }
}

macro_rules! not_params {
    ($($method:ident($($arg:ty),*) $what:literal;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<Bindings> {
            Err(not_params($what))
        }
    )*};
}

impl ser::Serializer for ParamsSerializer {
    type Ok = Bindings;
    type Error = Error;
    type SerializeSeq = PositionalParams;
    type SerializeTuple = PositionalParams;
    type SerializeTupleStruct = PositionalParams;
    type SerializeTupleVariant = Impossible<Bindings, Error>;
    type SerializeMap = NamedParams;
    type SerializeStruct = NamedParams;
    type SerializeStructVariant = Impossible<Bindings, Error>;

    not_params! {
        serialize_bool(bool) "a bool";
        serialize_i8(i8) "an integer";
        serialize_i16(i16) "an integer";
        serialize_i32(i32) "an integer";
        serialize_i64(i64) "an integer";
        serialize_u8(u8) "an integer";
        serialize_u16(u16) "an integer";
        serialize_u32(u32) "an integer";
        serialize_u64(u64) "an integer";
        serialize_f32(f32) "a float";
        serialize_f64(f64) "a float";
        serialize_char(char) "a char";
        serialize_str(&str) "a string";
        serialize_bytes(&[u8]) "bytes";
        serialize_none() "None";
        serialize_unit_struct(&'static str) "a unit struct";
        serialize_unit_variant(&'static str, u32, &'static str) "an enum";
    }

    fn serialize_unit(self) -> Result<Bindings> {
        Ok(Bindings::positional(Vec::new()))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Bindings> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<Bindings> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Bindings> {
        Err(not_params("an enum"))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<PositionalParams> {
        Ok(PositionalParams(Vec::with_capacity(len.unwrap_or(0))))
    }

    fn serialize_tuple(self, len: usize) -> Result<PositionalParams> {
        Ok(PositionalParams(Vec::with_capacity(len)))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<PositionalParams> {
        Ok(PositionalParams(Vec::with_capacity(len)))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible<Bindings, Error>> {
        Err(not_params("an enum"))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<NamedParams> {
        Ok(NamedParams { values: Vec::with_capacity(len.unwrap_or(0)), key: None })
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<NamedParams> {
        Ok(NamedParams { values: Vec::with_capacity(len), key: None })
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible<Bindings, Error>> {
        Err(not_params("an enum"))
    }
}

/// Collects positional parameters.
struct PositionalParams(Vec<Value>);

impl PositionalParams {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let i = self.0.len() + 1;
        self.0.push(value.serialize(ValueSerializer).map_err(|e| at_place(e, || format!("parameter {i}")))?);
        Ok(())
    }
}

impl ser::SerializeSeq for PositionalParams {
    type Ok = Bindings;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Bindings> {
        Ok(Bindings::positional(self.0))
    }
}

impl ser::SerializeTuple for PositionalParams {
    type Ok = Bindings;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Bindings> {
        Ok(Bindings::positional(self.0))
    }
}

impl ser::SerializeTupleStruct for PositionalParams {
    type Ok = Bindings;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Bindings> {
        Ok(Bindings::positional(self.0))
    }
}

/// Collects named parameters (struct fields or map entries).
struct NamedParams {
    values: Vec<(String, Value)>,
    /// A map key waiting for its value.
    key: Option<String>,
}

impl NamedParams {
    fn push<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<()> {
        let v = value.serialize(ValueSerializer).map_err(|e| at_place(e, || format!("field {key:?}")))?;
        self.values.push((key, v));
        Ok(())
    }
}

impl ser::SerializeStruct for NamedParams {
    type Ok = Bindings;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        self.push(key.to_string(), value)
    }
    fn end(self) -> Result<Bindings> {
        Ok(Bindings::named_ignoring_unused(self.values))
    }
}

impl ser::SerializeMap for NamedParams {
    type Ok = Bindings;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        match key.serialize(ValueSerializer) {
            Ok(Value::Text(k)) => {
                self.key = Some(k.into_string_lossy());
                Ok(())
            }
            _ => Err(Error::Conversion {
                place: "parameters".into(),
                message: "a map of parameters must have string keys (parameter names)".into(),
            }),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self.key.take().ok_or_else(|| conversion("map value without a key"))?;
        self.push(key, value)
    }
    fn end(self) -> Result<Bindings> {
        Ok(Bindings::named_ignoring_unused(self.values))
    }
}

/// One field: a scalar into a [`Value`].
struct ValueSerializer;

fn nested(what: &str) -> Error {
    conversion(format!("{what} has no SQL value (only numbers, strings, bytes, bools, None and unit enum variants do)"))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = ByteSeq;
    type SerializeTuple = ByteSeq;
    type SerializeTupleStruct = ByteSeq;
    type SerializeTupleVariant = Impossible<Value, Error>;
    type SerializeMap = Impossible<Value, Error>;
    type SerializeStruct = Impossible<Value, Error>;
    type SerializeStructVariant = Impossible<Value, Error>;

    fn serialize_bool(self, v: bool) -> Result<Value> {
        Ok(Value::Integer(i64::from(v)))
    }
    fn serialize_i8(self, v: i8) -> Result<Value> {
        Ok(Value::Integer(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value> {
        Ok(Value::Integer(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value> {
        Ok(Value::Integer(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value> {
        Ok(Value::Integer(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value> {
        crate::sql::ToValue::to_value(&v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value> {
        Ok(Value::Integer(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value> {
        Ok(Value::Integer(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value> {
        Ok(Value::Integer(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value> {
        crate::sql::ToValue::to_value(&v)
    }
    fn serialize_u128(self, v: u128) -> Result<Value> {
        crate::sql::ToValue::to_value(&v)
    }
    fn serialize_f32(self, v: f32) -> Result<Value> {
        Ok(Value::real(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value> {
        Ok(Value::real(v))
    }
    fn serialize_char(self, v: char) -> Result<Value> {
        Ok(Value::Text(v.to_string().into()))
    }
    fn serialize_str(self, v: &str) -> Result<Value> {
        Ok(Value::Text(v.into()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value> {
        Ok(Value::Blob(v.into()))
    }
    fn serialize_none(self) -> Result<Value> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Value> {
        Ok(Value::Text(variant.into()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<Value> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Value> {
        Err(nested("an enum variant with data"))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<ByteSeq> {
        Ok(ByteSeq(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<ByteSeq> {
        Ok(ByteSeq(Vec::with_capacity(len)))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<ByteSeq> {
        Ok(ByteSeq(Vec::with_capacity(len)))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible<Value, Error>> {
        Err(nested("an enum variant with data"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Impossible<Value, Error>> {
        Err(nested("a nested map"))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Impossible<Value, Error>> {
        Err(nested(&format!("a nested struct ({name})")))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible<Value, Error>> {
        Err(nested("an enum variant with data"))
    }
}

/// A sequence inside a field: only a sequence of `u8` (`Vec<u8>`, `[u8; N]`) has a SQL value,
/// a BLOB.
struct ByteSeq(Vec<u8>);

impl ByteSeq {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.0.push(value.serialize(ByteSerializer)?);
        Ok(())
    }
}

impl ser::SerializeSeq for ByteSeq {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value> {
        Ok(Value::Blob(self.0))
    }
}

impl ser::SerializeTuple for ByteSeq {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value> {
        Ok(Value::Blob(self.0))
    }
}

impl ser::SerializeTupleStruct for ByteSeq {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value> {
        Ok(Value::Blob(self.0))
    }
}

/// An element of a sequence field: must be a `u8`.
struct ByteSerializer;

fn not_byte() -> Error {
    nested("a sequence of anything but u8 (bytes)")
}

macro_rules! not_byte {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<u8> {
            Err(not_byte())
        }
    )*};
}

impl ser::Serializer for ByteSerializer {
    type Ok = u8;
    type Error = Error;
    type SerializeSeq = Impossible<u8, Error>;
    type SerializeTuple = Impossible<u8, Error>;
    type SerializeTupleStruct = Impossible<u8, Error>;
    type SerializeTupleVariant = Impossible<u8, Error>;
    type SerializeMap = Impossible<u8, Error>;
    type SerializeStruct = Impossible<u8, Error>;
    type SerializeStructVariant = Impossible<u8, Error>;

    fn serialize_u8(self, v: u8) -> Result<u8> {
        Ok(v)
    }
    not_byte! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<u8> {
        Err(not_byte())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result<u8> {
        Err(not_byte())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<u8> {
        Err(not_byte())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Impossible<u8, Error>> {
        Err(not_byte())
    }
    fn serialize_tuple(self, _: usize) -> Result<Impossible<u8, Error>> {
        Err(not_byte())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Impossible<u8, Error>> {
        Err(not_byte())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible<u8, Error>> {
        Err(not_byte())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Impossible<u8, Error>> {
        Err(not_byte())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Impossible<u8, Error>> {
        Err(not_byte())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible<u8, Error>> {
        Err(not_byte())
    }
}

// -------------------------------------------------------------------------------------------
// Rows

/// Read `row` as any `Deserialize` type: see [`Serde`]. Text and blob fields may
/// borrow from the row (`&'a str`, `&'a [u8]`).
///
/// ```
/// use serde::Deserialize;
/// use tessera::sql::{from_row, Connection};
///
/// #[derive(Deserialize)]
/// struct Pair<'a> { key: &'a str, val: Option<i64> }
///
/// let mut conn = Connection::memory();
/// let row = conn.query("SELECT 'k' AS KEY, NULL AS val", ())?.next().unwrap()?;
/// let p: Pair = from_row(&row)?;                      // KEY matches `key`
/// assert_eq!((p.key, p.val), ("k", None));
/// let (k, v): (String, Option<i64>) = from_row(&row)?;  // by position
/// assert_eq!(k, "k");
/// # let _ = v;
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn from_row<'a, T: Deserialize<'a>>(row: &'a Row) -> Result<T> {
    T::deserialize(RowDeserializer { row })
}

/// The rows of a query deserialized as `T`: made by [`Connection::query_as`] and
/// [`Rows::deserialize`].
pub struct DeserializedRows<'c, T> {
    rows: Rows<'c>,
    _t: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Iterator for DeserializedRows<'_, T> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        Some(self.rows.next()?.and_then(|r| from_row(&r)))
    }
}

impl<'c> Rows<'c> {
    /// Each row deserialized as a `T` (see [`from_row`]).
    pub fn deserialize<T: DeserializeOwned>(self) -> DeserializedRows<'c, T> {
        DeserializedRows { rows: self, _t: PhantomData }
    }
}

impl Connection {
    /// Run a query and deserialize each row as a `T` (a struct by column names, a tuple by
    /// position, a single value from a one-column row; see [`from_row`]).
    ///
    /// ```
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// struct Point { x: i64, y: i64 }
    ///
    /// let mut conn = tessera::sql::Connection::memory();
    /// conn.execute("CREATE TABLE p(x INTEGER, y INTEGER); INSERT INTO p VALUES (1, 2), (3, 4)", ())?;
    /// let points = conn.query_as::<Point>("SELECT x, y FROM p ORDER BY x", ())?.collect::<Result<Vec<_>, _>>()?;
    /// assert_eq!(points, [Point { x: 1, y: 2 }, Point { x: 3, y: 4 }]);
    /// let xs = conn.query_as::<i64>("SELECT x FROM p ORDER BY x", ())?.collect::<Result<Vec<_>, _>>()?;
    /// assert_eq!(xs, [1, 3]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn query_as<T: DeserializeOwned>(&mut self, sql: &str, params: impl Params) -> Result<DeserializedRows<'_, T>> {
        Ok(self.query(sql, params)?.deserialize())
    }
}

/// A whole row.
struct RowDeserializer<'a> {
    row: &'a Row,
}

impl<'a> RowDeserializer<'a> {
    /// The only column of a one-column row, for a single-value target.
    fn single(&self, what: &str) -> Result<ValueDeserializer<'a>> {
        if self.row.len() == 1 {
            Ok(ValueDeserializer { value: &self.row.values()[0] })
        } else {
            Err(Error::Conversion {
                place: "row".into(),
                message: format!("the row has {} columns, {what} takes 1", self.row.len()),
            })
        }
    }

    fn in_column<T>(&self, r: Result<T>) -> Result<T> {
        r.map_err(|e| at_place(e, || self.row.describe(0)))
    }

    fn map(&self, fields: &'static [&'static str]) -> RowMap<'a> {
        RowMap { row: self.row, fields, i: 0 }
    }
}

macro_rules! single_value {
    ($($method:ident($($arg:ident: $ty:ty),*) $what:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value> {
            let v = self.single($what)?;
            self.in_column(v.$method($($arg,)* visitor))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for RowDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_map(self.map(&[]))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_map(self.map(&[]))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_map(self.map(fields))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if let [Value::Blob(_)] = self.row.values() {
            // `Vec<u8>` from a one-column row of a BLOB: the bytes, not a list of one column.
            return self.in_column(ValueDeserializer { value: &self.row.values()[0] }.deserialize_seq(visitor));
        }
        let mut seq = RowSeq { row: self.row, i: 0 };
        let v = visitor.visit_seq(&mut seq)?;
        if seq.i != self.row.len() {
            return Err(Error::Conversion {
                place: "row".into(),
                message: format!("the row has {} columns, only {} were read", self.row.len(), seq.i),
            });
        }
        Ok(v)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        if len != self.row.len() {
            return Err(Error::Conversion {
                place: "row".into(),
                message: format!("the row has {} columns, a tuple of {len} takes {len}", self.row.len()),
            });
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.row.len() == 1 {
            self.in_column(ValueDeserializer { value: &self.row.values()[0] }.deserialize_option(visitor))
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let v = self.single("an enum")?;
        self.in_column(v.deserialize_enum(name, variants, visitor))
    }

    single_value! {
        deserialize_bool() "a bool";
        deserialize_i8() "an integer";
        deserialize_i16() "an integer";
        deserialize_i32() "an integer";
        deserialize_i64() "an integer";
        deserialize_i128() "an integer";
        deserialize_u8() "an integer";
        deserialize_u16() "an integer";
        deserialize_u32() "an integer";
        deserialize_u64() "an integer";
        deserialize_u128() "an integer";
        deserialize_f32() "a float";
        deserialize_f64() "a float";
        deserialize_char() "a char";
        deserialize_str() "a string";
        deserialize_string() "a string";
        deserialize_bytes() "bytes";
        deserialize_byte_buf() "bytes";
        deserialize_unit() "()";
        deserialize_identifier() "an identifier";
    }
}

/// A row as a map from column names to values.
struct RowMap<'a> {
    row: &'a Row,
    /// The target struct's fields (empty for a map): a column name that matches one
    /// case-insensitively is given in the field's spelling.
    fields: &'static [&'static str],
    i: usize,
}

impl<'de> de::MapAccess<'de> for RowMap<'de> {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some(name) = self.row.columns().get(self.i) else { return Ok(None) };
        let name: &'de str = name;
        let key = match self.fields.iter().find(|f| f.eq_ignore_ascii_case(name)) {
            Some(f) => seed.deserialize(de::value::BorrowedStrDeserializer::<Error>::new(f)),
            None => seed.deserialize(de::value::BorrowedStrDeserializer::<Error>::new(name)),
        };
        key.map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let i = self.i;
        self.i += 1;
        let value = self.row.values().get(i).ok_or_else(|| conversion("value without a column"))?;
        seed.deserialize(ValueDeserializer { value }).map_err(|e| at_place(e, || self.row.describe(i)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.row.len() - self.i)
    }
}

/// A row as a sequence of values.
struct RowSeq<'a> {
    row: &'a Row,
    i: usize,
}

impl<'de> de::SeqAccess<'de> for RowSeq<'de> {
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        let i = self.i;
        let Some(value) = self.row.values().get(i) else { return Ok(None) };
        self.i += 1;
        seed.deserialize(ValueDeserializer { value }).map(Some).map_err(|e| at_place(e, || self.row.describe(i)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.row.len() - self.i)
    }
}

/// One value.
struct ValueDeserializer<'a> {
    value: &'a Value,
}

impl ValueDeserializer<'_> {
    fn null_into(&self, what: &str) -> Error {
        conversion(format!("expected {what}, found null"))
    }
}

/// A typed request: NULL is an error naming the type; anything else goes to the visitor
/// (whose own checks give messages like `invalid type: string "x", expected i64`).
macro_rules! not_null {
    ($($method:ident $what:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            if self.value.is_null() {
                return Err(self.null_into($what));
            }
            self.deserialize_any(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Integer(i) => visitor.visit_i64(*i),
            Value::Real(r) => visitor.visit_f64(*r),
            Value::Text(s) => match s.as_str() {
                Some(s) => visitor.visit_borrowed_str(s),
                None => visitor.visit_borrowed_bytes(s.as_bytes()),
            },
            Value::Blob(b) => visitor.visit_borrowed_bytes(b),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::Integer(i) => visitor.visit_bool(*i != 0),
            Value::Null => Err(self.null_into("bool")),
            _ => self.deserialize_any(visitor),
        }
    }

    not_null! {
        deserialize_i8 "i8";
        deserialize_i16 "i16";
        deserialize_i32 "i32";
        deserialize_i64 "i64";
        deserialize_i128 "i128";
        deserialize_u8 "u8";
        deserialize_u16 "u16";
        deserialize_u32 "u32";
        deserialize_u64 "u64";
        deserialize_u128 "u128";
        deserialize_f32 "f32";
        deserialize_f64 "f64";
        deserialize_char "char";
        deserialize_str "a string";
        deserialize_string "a string";
        deserialize_bytes "bytes";
        deserialize_byte_buf "bytes";
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::Blob(b) => visitor.visit_seq(de::value::SeqDeserializer::<_, Error>::new(b.iter().copied())),
            Value::Text(s) => {
                visitor.visit_seq(de::value::SeqDeserializer::<_, Error>::new(s.as_bytes().iter().copied()))
            }
            Value::Null => Err(self.null_into("a sequence (bytes)")),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_any(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value> {
        self.deserialize_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.value {
            Value::Text(s) => match s.as_str() {
                Some(s) => visitor.visit_enum(de::value::BorrowedStrDeserializer::<Error>::new(s)),
                None => Err(conversion(format!("expected an enum variant name, found text that is not UTF-8: {s:?}"))),
            },
            v => Err(conversion(format!("expected an enum variant name (text), found {}", v.type_name()))),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        tuple tuple_struct map struct identifier
    }
}
