//! Errors crossing to JS: every error is a JS `Error` with a stable `code` property
//! ([`tessera::Error::code`] for engine errors, plus `INVALID_ARGUMENT`, `CLOSED` and `BUSY` from
//! this layer). The codes and the extra properties are listed in `docs/BINDINGS.md`.

use js_sys::Reflect;
use tessera as t;
use wasm_bindgen::prelude::*;

/// A JS `Error` with `message` and a stable `code` property.
pub(crate) fn error_with_code(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

pub(crate) fn engine_err(e: t::Error) -> JsValue {
    let err = error_with_code(e.code(), &e.to_string());
    if let t::Error::SqlSyntax { offset, line, column, .. } = &e {
        // Where the syntax error is: byte offset into the SQL text, 1-based line and column.
        let _ = Reflect::set(&err, &JsValue::from_str("offset"), &JsValue::from_f64(*offset as f64));
        let _ = Reflect::set(&err, &JsValue::from_str("line"), &JsValue::from_f64(f64::from(*line)));
        let _ = Reflect::set(&err, &JsValue::from_str("column"), &JsValue::from_f64(f64::from(*column)));
    }
    err
}

pub(crate) fn arg_err(message: impl AsRef<str>) -> JsValue {
    error_with_code("INVALID_ARGUMENT", message.as_ref())
}

pub(crate) fn closed_err(what: &str) -> JsValue {
    error_with_code("CLOSED", &format!("{what} is closed"))
}

pub(crate) fn busy_err() -> JsValue {
    error_with_code("BUSY", "the object is in use by a call in progress (re-entrant call from a device callback?)")
}

pub(crate) type JsResult<T> = Result<T, JsValue>;
