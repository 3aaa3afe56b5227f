//! Decoding JS arguments: keys and values, table names, range bounds, options objects and
//! integers. Nothing here panics: a bad argument is an `INVALID_ARGUMENT` error.

use crate::errors::{arg_err, JsResult};
use js_sys::{Reflect, Uint8Array};
use std::ops::Bound;
use tessera as t;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Bytes of a key or value argument: a `Uint8Array` (any view, e.g. a Node `Buffer`) or a string.
pub(crate) fn bytes_arg(v: &JsValue, what: &str) -> JsResult<Vec<u8>> {
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(a) = v.dyn_ref::<Uint8Array>() {
        return Ok(a.to_vec());
    }
    Err(arg_err(format!("{what} must be a Uint8Array or a string")))
}

pub(crate) fn table_arg(v: &JsValue) -> JsResult<String> {
    v.as_string().ok_or_else(|| arg_err("table name must be a string"))
}

/// An optional bound: `undefined`/`null` means unbounded.
pub(crate) fn bound_arg(v: &JsValue, what: &str, end: bool) -> JsResult<Bound<Vec<u8>>> {
    if v.is_undefined() || v.is_null() {
        return Ok(Bound::Unbounded);
    }
    let b = bytes_arg(v, what)?;
    Ok(if end { Bound::Excluded(b) } else { Bound::Included(b) })
}

/// A property of an options object, read without running into a panic.
fn opt_prop(obj: &JsValue, name: &str) -> JsResult<Option<JsValue>> {
    if obj.is_undefined() || obj.is_null() {
        return Ok(None);
    }
    if !obj.is_object() {
        return Err(arg_err("options must be an object"));
    }
    let v = Reflect::get(obj, &JsValue::from_str(name))?;
    Ok(if v.is_undefined() || v.is_null() { None } else { Some(v) })
}

/// A non-negative integer that fits in 2^53 (offsets, sizes, counts).
pub(crate) fn uint_value(v: &JsValue, what: &str) -> JsResult<u64> {
    match v.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => Ok(n as u64),
        _ => Err(arg_err(format!("{what} must be a non-negative integer"))),
    }
}

pub(crate) fn opt_uint(obj: &JsValue, name: &str) -> JsResult<Option<u64>> {
    opt_prop(obj, name)?.map(|v| uint_value(&v, name)).transpose()
}

pub(crate) fn opt_bool(obj: &JsValue, name: &str) -> JsResult<Option<bool>> {
    opt_prop(obj, name)?.map(|v| v.as_bool().ok_or_else(|| arg_err(format!("{name} must be a boolean")))).transpose()
}

fn usize_of(n: u64, what: &str) -> JsResult<usize> {
    usize::try_from(n).map_err(|_| arg_err(format!("{what} is too large")))
}
pub(crate) fn options_arg(options: &JsValue) -> JsResult<t::Options> {
    let mut o = t::Options::default();
    if let Some(n) = opt_uint(options, "pageSize")? {
        o.page_size = usize_of(n, "pageSize")?;
    }
    if let Some(n) = opt_uint(options, "cacheSize")? {
        o.cache_size = usize_of(n, "cacheSize")?;
    }
    if let Some(n) = opt_uint(options, "maxLogSize")? {
        o.max_log_size = usize_of(n, "maxLogSize")?;
    }
    if let Some(b) = opt_bool(options, "readonly")? {
        o.read_only = b;
    }
    if let Some(b) = opt_bool(options, "salvage")? {
        o.salvage = b;
    }
    Ok(o)
}
