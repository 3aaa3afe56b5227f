//! Built-in SQL functions: SQLite's scalar functions, the aggregate accumulators behind
//! `count`/`sum`/`total`/`avg`/`min`/`max`/`group_concat`, and LIKE/GLOB matching.
//!
//! Semantics follow SQLite's `func.c` and `printf.c` (3.4x–3.5x), including argument coercion
//! (`sqlite3_value_int64` takes the integer prefix of text, `sqlite3_value_double` the numeric
//! prefix), the overflow rules of `abs` and `sum`, and `printf`'s flags and float rounding.
//! [`scalar`] resolves a name and argument count to a [`ScalarFn`]; `aggregate` says whether
//! a call is an aggregate, and an `Accumulator` folds its rows. Results larger than
//! [`MAX_LENGTH`] bytes fail with `string or blob too big`; `printf` widths and precisions
//! are capped at 100000, like SQLite built with `SQLITE_PRINTF_PRECISION_LIMIT=100000`.
//!
//! `coalesce`, `ifnull` and `iif` receive evaluated arguments here; the executor may
//! short-circuit them instead, as SQLite does.

use crate::sql::types::collation::Coll;
use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Ordering;

use super::aggregate::aggregate;
use super::pattern::{glob_fn, like_fn};
use super::printf::{fmt_float, fmt_quoted, printf_fn, Spec};
use crate::error::{Error, Result};

use crate::sql::types::text::{char_count, chars, push_char, read_char, skip_char, skip_utf8, Text};
use crate::sql::types::value::{parse_number, real_to_i64, Value};

/// A scalar function over its evaluated arguments; call it with the argument count
/// [`scalar`] looked it up for.
pub type ScalarFn = fn(&[Value]) -> Result<Value>;

/// The largest string or blob a function builds (SQLite's default `SQLITE_MAX_LENGTH`).
pub const MAX_LENGTH: usize = 1_000_000_000;
/// The longest LIKE/GLOB pattern in bytes (SQLite's `SQLITE_MAX_LIKE_PATTERN_LENGTH`).
pub const MAX_PATTERN_LENGTH: usize = 50_000;
/// Cap on printf widths and precisions.
pub(super) const PRINTF_LIMIT: i64 = 100_000;

pub(super) fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Sql(msg.into()))
}

fn too_big<T>() -> Result<T> {
    err("string or blob too big")
}

pub(super) fn wrong_args<T>(name: &str) -> Result<T> {
    err(format!("wrong number of arguments to function {name}()"))
}

/// Look up a scalar function by lower-case name and argument count. `Err(Error::Sql)` when the
/// name is unknown ("no such function: X"), the count is wrong ("wrong number of arguments to
/// function X()"), or the call is an aggregate ("misuse of aggregate function X()").
/// The functions that compare their arguments under a collation (SQLite's NEEDCOLL ones:
/// `min`/`max` of two or more arguments and `nullif`), for a collation other than BINARY;
/// None for every other function (`scalar` gives those, and the BINARY versions).
pub fn collated(name: &str, argc: usize, coll: Coll) -> Option<ScalarFn> {
    let f: ScalarFn = match (name, coll) {
        ("min", Coll::NoCase) if argc >= 2 => |a| Ok(min_max_coll(a, false, Coll::NoCase)),
        ("min", Coll::Rtrim) if argc >= 2 => |a| Ok(min_max_coll(a, false, Coll::Rtrim)),
        ("max", Coll::NoCase) if argc >= 2 => |a| Ok(min_max_coll(a, true, Coll::NoCase)),
        ("max", Coll::Rtrim) if argc >= 2 => |a| Ok(min_max_coll(a, true, Coll::Rtrim)),
        ("nullif", Coll::NoCase) if argc == 2 => |a| Ok(nullif(a, Coll::NoCase)),
        ("nullif", Coll::Rtrim) if argc == 2 => |a| Ok(nullif(a, Coll::Rtrim)),
        _ => return None,
    };
    Some(f)
}

fn nullif(a: &[Value], coll: Coll) -> Value {
    if coll.cmp(&a[0], &a[1]) == Ordering::Equal {
        Value::Null
    } else {
        a[0].clone()
    }
}

pub fn scalar(name: &str, argc: usize) -> Result<ScalarFn> {
    if aggregate(name, argc, false)?.is_some() {
        return err(format!("misuse of aggregate function {name}()"));
    }
    const N: usize = usize::MAX;
    let (lo, hi, f): (usize, usize, ScalarFn) = match name {
        "abs" => (1, 1, abs),
        "char" => (0, N, char_fn),
        "coalesce" => (2, N, coalesce),
        "concat" => (1, N, concat),
        "concat_ws" => (2, N, concat_ws),
        "format" | "printf" => (0, N, printf_fn),
        "glob" => (2, 2, glob_fn),
        "hex" => (1, 1, hex),
        "ifnull" => (2, 2, coalesce),
        "iif" | "if" => (2, N, iif),
        "instr" => (2, 2, instr),
        "length" => (1, 1, length),
        "like" => (2, 3, like_fn),
        "likelihood" => (2, 2, likelihood),
        "likely" | "unlikely" => (1, 1, |a| Ok(a[0].clone())),
        "lower" => (1, 1, |a| Ok(map_text(&a[0], <[u8]>::to_ascii_lowercase))),
        "upper" => (1, 1, |a| Ok(map_text(&a[0], <[u8]>::to_ascii_uppercase))),
        "ltrim" => (1, 2, |a| trim(a, true, false)),
        "rtrim" => (1, 2, |a| trim(a, false, true)),
        "trim" => (1, 2, |a| trim(a, true, true)),
        "max" => (2, N, |a| Ok(min_max(a, true))),
        "min" => (2, N, |a| Ok(min_max(a, false))),
        "nullif" => (2, 2, |a| Ok(nullif(a, Coll::Binary))),
        "octet_length" => (1, 1, octet_length),
        "quote" => (1, 1, |a| Ok(Value::Text(quote(&a[0], false)))),
        "unistr_quote" => (1, 1, |a| Ok(Value::Text(quote(&a[0], true)))),
        "random" => (0, 0, |_| Ok(Value::Integer(random_i64()))),
        "current_timestamp" => (0, 0, |_| now_text(true, true)),
        "current_date" => (0, 0, |_| now_text(true, false)),
        "current_time" => (0, 0, |_| now_text(false, true)),
        "randomblob" => (1, 1, randomblob),
        "replace" => (3, 3, replace),
        "round" => (1, 2, round),
        "sign" => (1, 1, sign),
        "soundex" => (1, 1, soundex),
        "substr" | "substring" => (2, 3, substr),
        "typeof" => (1, 1, |a| Ok(Value::Text(a[0].type_name().into()))),
        "unhex" => (1, 2, unhex),
        "unicode" => (1, 1, unicode),
        "unistr" => (1, 1, unistr),
        "zeroblob" => (1, 1, zeroblob),
        _ => return err(format!("no such function: {name}")),
    };
    if argc < lo || argc > hi {
        return wrong_args(name);
    }
    Ok(f)
}

// ---------------------------------------------------------------------------------------
// Argument coercions, as SQLite's sqlite3_value_* accessors do them.

/// `sqlite3_value_int64`: integers as is, reals truncated (saturating), text and blobs by
/// their integer prefix (saturating; `'1e3'` is 1), NULL as 0.
pub(super) fn int_of(v: &Value) -> i64 {
    match v {
        Value::Null => 0,
        Value::Integer(i) => *i,
        Value::Real(r) => real_to_i64(*r),
        Value::Text(s) => atoi(s.as_bytes()),
        Value::Blob(b) => atoi(b),
    }
}

/// SQLite's `sqlite3Atoi64` on a prefix: whitespace, sign, digits; saturates on overflow.
fn atoi(b: &[u8]) -> i64 {
    let mut i = b.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')).unwrap_or(b.len());
    let neg = b.get(i) == Some(&b'-');
    if neg || b.get(i) == Some(&b'+') {
        i += 1;
    }
    let mut u: u64 = 0;
    for &c in b[i..].iter().take_while(|c| c.is_ascii_digit()) {
        u = u.saturating_mul(10).saturating_add((c - b'0') as u64);
    }
    match (neg, u > i64::MAX as u64) {
        (true, true) => i64::MIN,
        (false, true) => i64::MAX,
        (true, false) => -(u as i64),
        (false, false) => u as i64,
    }
}

/// `sqlite3_value_text`: None for NULL, numbers rendered, text and blobs as their bytes
/// (UTF-8 or not, as SQLite: a text function never validates its input).
pub(super) fn text(v: &Value) -> Option<Cow<'_, [u8]>> {
    if v.is_null() {
        None
    } else {
        Some(v.text_bytes())
    }
}

/// The part before the first NUL, where SQLite reads a C string.
pub(super) fn cstr(s: &[u8]) -> &[u8] {
    crate::sql::types::value::before_nul(s)
}

/// `sqlite3_value_numeric_type`: text that is entirely a number (up to a NUL) becomes that
/// number.
/// [`numeric`] without a copy when `v` is already a number.
pub(super) fn numeric_ref(v: &Value) -> alloc::borrow::Cow<'_, Value> {
    match v {
        Value::Text(_) => alloc::borrow::Cow::Owned(numeric(v)),
        other => alloc::borrow::Cow::Borrowed(other),
    }
}

pub(super) fn numeric(v: &Value) -> Value {
    match v {
        Value::Text(s) => parse_number(cstr(s.as_bytes())).unwrap_or_else(|| v.clone()),
        other => other.clone(),
    }
}

pub(super) fn check_len(n: usize) -> Result<()> {
    if n > MAX_LENGTH {
        too_big()
    } else {
        Ok(())
    }
}

/// A zeroed byte vector of `n` bytes, failing cleanly when too big or out of memory.
fn alloc_bytes(n: usize) -> Result<Vec<u8>> {
    check_len(n)?;
    let mut v = Vec::new();
    if v.try_reserve_exact(n).is_err() {
        return err("out of memory");
    }
    v.resize(n, 0);
    Ok(v)
}

pub(super) fn fabs(x: f64) -> f64 {
    f64::from_bits(x.to_bits() & !(1 << 63))
}

// ---------------------------------------------------------------------------------------
// Scalar functions.

fn abs(a: &[Value]) -> Result<Value> {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::Integer(i) => i.checked_abs().map(Value::Integer).ok_or_else(|| Error::Sql("integer overflow".into())),
        v => {
            let r = v.to_f64();
            Ok(Value::real(if r < 0.0 { -r } else { r }))
        }
    }
}

/// `char(x, ...)`: each code point's UTF-8 bytes; outside 0..=0x10FFFF it is U+FFFD. Like
/// SQLite, a surrogate is written as its three bytes (text that is not UTF-8).
fn char_fn(a: &[Value]) -> Result<Value> {
    let mut out = Vec::with_capacity(a.len());
    for v in a {
        let c = u32::try_from(int_of(v)).ok().filter(|&c| c <= 0x10ffff).unwrap_or(0xfffd);
        push_char(&mut out, c);
    }
    Ok(Value::Text(Text::from_bytes(out)))
}

fn coalesce(a: &[Value]) -> Result<Value> {
    Ok(a.iter().find(|v| !v.is_null()).cloned().unwrap_or(Value::Null))
}

fn join(a: &[Value], sep: &[u8]) -> Result<Value> {
    let mut out = Vec::new();
    for (i, s) in a.iter().filter_map(text).enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(&s);
        check_len(out.len())?;
    }
    Ok(Value::Text(Text::from_bytes(out)))
}

fn concat(a: &[Value]) -> Result<Value> {
    join(a, b"")
}

fn concat_ws(a: &[Value]) -> Result<Value> {
    match text(&a[0]) {
        None => Ok(Value::Null),
        Some(sep) => join(&a[1..], &sep),
    }
}

fn hex(a: &[Value]) -> Result<Value> {
    let b = a[0].text_bytes();
    check_len(b.len().saturating_mul(2))?;
    let mut s = String::with_capacity(b.len() * 2);
    for &c in b.iter() {
        s.push(HEX_UPPER[(c >> 4) as usize] as char);
        s.push(HEX_UPPER[(c & 15) as usize] as char);
    }
    Ok(Value::Text(s.into()))
}

pub(super) const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
pub(super) const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

fn iif(a: &[Value]) -> Result<Value> {
    // iif(c1, v1, c2, v2, ..., [else]): a CASE expression.
    for pair in a.chunks(2) {
        match pair {
            [c, v] if c.truthy() == Some(true) => return Ok(v.clone()),
            [other] => return Ok(other.clone()),
            _ => {}
        }
    }
    Ok(Value::Null)
}

/// `instr(h, n)`: 1 + the characters of `h` before the first `n`, or 0. Blobs (both) count
/// bytes; otherwise, as SQLite, each step skips one byte and the continuation bytes after it.
fn instr(a: &[Value]) -> Result<Value> {
    let (h, n) = (&a[0], &a[1]);
    if h.is_null() || n.is_null() {
        return Ok(Value::Null);
    }
    let blobs = matches!((h, n), (Value::Blob(_), Value::Blob(_)));
    let (h, n) = (h.text_bytes(), n.text_bytes());
    if n.is_empty() {
        return Ok(Value::Integer(1));
    }
    let (mut at, mut count) = (0, 1);
    while n.len() <= h.len() - at && h[at..at + n.len()] != n[..] {
        count += 1;
        at += 1;
        while !blobs && at < h.len() && h[at] & 0xc0 == 0x80 {
            at += 1;
        }
    }
    Ok(Value::Integer(if n.len() > h.len() - at { 0 } else { count }))
}

fn length(a: &[Value]) -> Result<Value> {
    Ok(match &a[0] {
        Value::Null => Value::Null,
        Value::Text(s) => Value::Integer(char_count(cstr(s.as_bytes()), skip_char) as i64),
        Value::Blob(b) => Value::Integer(b.len() as i64),
        v => Value::Integer(v.to_text().len() as i64),
    })
}

fn octet_length(a: &[Value]) -> Result<Value> {
    Ok(if a[0].is_null() { Value::Null } else { Value::Integer(a[0].text_bytes().len() as i64) })
}

fn likelihood(a: &[Value]) -> Result<Value> {
    match a[1] {
        Value::Real(p) if (0.0..=1.0).contains(&p) => Ok(a[0].clone()),
        _ => err("second argument to likelihood() must be a constant between 0.0 and 1.0"),
    }
}

fn map_text(v: &Value, f: impl Fn(&[u8]) -> Vec<u8>) -> Value {
    text(v).map_or(Value::Null, |s| Value::Text(Text::from_bytes(f(&s))))
}

fn min_max(a: &[Value], max: bool) -> Value {
    min_max_coll(a, max, Coll::Binary)
}

fn min_max_coll(a: &[Value], max: bool, coll: Coll) -> Value {
    if a.iter().any(Value::is_null) {
        return Value::Null;
    }
    let mut best = &a[0];
    for v in &a[1..] {
        let c = coll.cmp(best, v);
        // Ties go to the later argument for min() and the earlier one for max(), as in SQLite.
        if (max && c == Ordering::Less) || (!max && c != Ordering::Less) {
            best = v;
        }
    }
    best.clone()
}

/// `trim`, `ltrim`, `rtrim`: drop characters of the set (default a space) from the ends. As in
/// SQLite, the set is split into characters by their UTF-8 lengths and matched byte-wise.
fn trim(a: &[Value], left: bool, right: bool) -> Result<Value> {
    let Some(s) = text(&a[0]) else { return Ok(Value::Null) };
    let set_bytes = match a.get(1) {
        None => Cow::Borrowed(&b" "[..]),
        Some(v) => match text(v) {
            None => return Ok(Value::Null),
            Some(cs) => cs,
        },
    };
    let set_bytes = cstr(&set_bytes);
    let mut set: Vec<&[u8]> = Vec::new();
    let mut i = 0;
    while i < set_bytes.len() {
        let j = skip_utf8(set_bytes, i);
        set.push(&set_bytes[i..j]);
        i = j;
    }
    let mut t: &[u8] = &s;
    while let Some(c) = set.iter().find(|c| left && t.starts_with(c)) {
        t = &t[c.len()..];
    }
    while let Some(c) = set.iter().find(|c| right && t.ends_with(c)) {
        t = &t[..t.len() - c.len()];
    }
    Ok(Value::Text(Text::from_bytes(t.to_vec())))
}

fn randomblob(a: &[Value]) -> Result<Value> {
    let n = int_of(&a[0]).max(1);
    let mut b = alloc_bytes(usize::try_from(n).unwrap_or(usize::MAX))?;
    for chunk in b.chunks_mut(8) {
        let r = next_random().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    Ok(Value::Blob(b))
}

use crate::sql::host::next_random;

/// `CURRENT_TIMESTAMP`, `CURRENT_DATE`, `CURRENT_TIME`: the host's clock, in UTC.
fn now_text(date: bool, time: bool) -> Result<Value> {
    Ok(Value::Text(crate::sql::host::format_time(crate::sql::host::now_ms()?, date, time).into()))
}

pub(crate) fn random_i64() -> i64 {
    let r = next_random() as i64;
    // Never i64::MIN, so that abs(random()) cannot overflow.
    if r < 0 {
        -(r & i64::MAX)
    } else {
        r
    }
}

/// `replace(s, p, r)`: every `p` in `s` (byte-wise, left to right, not overlapping) becomes
/// `r`. An empty `p` (or one starting with NUL) gives `s` back as text.
fn replace(a: &[Value]) -> Result<Value> {
    let Some(s) = text(&a[0]) else { return Ok(Value::Null) };
    let Some(p) = text(&a[1]) else { return Ok(Value::Null) };
    if p.first().is_none_or(|&c| c == 0) {
        return Ok(Value::Text(Text::from_bytes(s.into_owned())));
    }
    let Some(r) = text(&a[2]) else { return Ok(Value::Null) };
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(&p) {
            out.extend_from_slice(&r);
            check_len(out.len())?;
            i += p.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Ok(Value::Text(Text::from_bytes(out)))
}

fn round(a: &[Value]) -> Result<Value> {
    let n = match a.get(1) {
        Some(Value::Null) => return Ok(Value::Null),
        Some(v) => int_of(v).clamp(0, 30),
        None => 0,
    };
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let r = a[0].to_f64();
    let r = if !(-4503599627370496.0..=4503599627370496.0).contains(&r) {
        r // no fractional part (or not finite): nothing to round
    } else if n == 0 {
        (r + if r < 0.0 { -0.5 } else { 0.5 }) as i64 as f64
    } else {
        let mut out = Vec::new();
        let spec = Spec { alt2: true, precision: n, ..Spec::default() };
        fmt_float(&mut out, b'f', r, spec);
        core::str::from_utf8(&out).ok().and_then(crate::sql::types::float::parse_f64).unwrap_or(r)
    };
    Ok(Value::real(r))
}

fn sign(a: &[Value]) -> Result<Value> {
    let r = match numeric(&a[0]) {
        Value::Integer(i) => i as f64,
        Value::Real(r) => r,
        _ => return Ok(Value::Null),
    };
    Ok(Value::Integer(if r < 0.0 {
        -1
    } else if r > 0.0 {
        1
    } else {
        0
    }))
}

fn soundex(a: &[Value]) -> Result<Value> {
    const CODE: &[u8; 26] = b"01230120022455012623010202";
    let s = text(&a[0]).unwrap_or_default();
    let b = cstr(&s);
    // Like SQLite, bytes above 0x7f are coded by their low seven bits.
    let code = |c: u8| {
        let c = (c & 0x7f).to_ascii_uppercase();
        if c.is_ascii_uppercase() {
            CODE[(c - b'A') as usize]
        } else {
            b'0'
        }
    };
    let Some(start) = b.iter().position(u8::is_ascii_alphabetic) else {
        return Ok(Value::Text("?000".into()));
    };
    let mut out = vec![b[start].to_ascii_uppercase()];
    let mut prev = code(b[start]);
    for &c in &b[start + 1..] {
        if out.len() == 4 {
            break;
        }
        let k = code(c);
        if k != b'0' && k != prev {
            out.push(k);
        }
        prev = k;
    }
    out.resize(4, b'0');
    Ok(Value::Text(Text::from_bytes(out)))
}

fn substr(a: &[Value]) -> Result<Value> {
    let v = &a[0];
    if v.is_null() || (a.len() == 3 && a[2].is_null()) {
        return Ok(Value::Null);
    }
    let mut p1 = int_of(&a[1]) as i128;
    let mut p2 = a.get(2).map_or(i64::MAX, int_of) as i128;
    if p1 == 0 && a[1].is_null() {
        return Ok(Value::Null);
    }
    let blob = match v {
        Value::Blob(b) if b.is_empty() => return Ok(Value::Null),
        Value::Blob(b) => Some(&b[..]),
        _ => None,
    };
    let s = if blob.is_some() { Cow::Borrowed(&b""[..]) } else { text(v).unwrap_or_default() };
    let s = cstr(&s);
    // (SQLite counts from the end with SQLITE_SKIP_UTF8 but steps with length()'s rule.)
    let len = blob.map_or_else(|| if p1 < 0 { char_count(s, skip_utf8) } else { 0 }, <[u8]>::len) as i128;
    if p1 < 0 {
        p1 += len;
        if p1 < 0 {
            p2 = if p2 < 0 { 0 } else { p2 + p1 };
            p1 = 0;
        }
    } else if p1 > 0 {
        p1 -= 1;
    } else if p2 > 0 {
        p2 -= 1;
    }
    if p2 < 0 {
        if p2 < -p1 {
            p2 = p1;
        } else {
            p2 = -p2;
        }
        p1 -= p2;
    }
    let clamp = |x: i128, n: usize| x.min(n as i128) as usize;
    Ok(match blob {
        Some(b) => {
            let start = clamp(p1, b.len());
            Value::Blob(b[start..start + clamp(p2, b.len() - start)].to_vec())
        }
        None => {
            let skip = |from: usize, n: usize| (0..n).try_fold(from, |i, _| (i < s.len()).then(|| skip_char(s, i)));
            let start = skip(0, clamp(p1, s.len())).unwrap_or(s.len());
            let end = skip(start, clamp(p2, s.len())).unwrap_or(s.len());
            Value::Text(Text::from_bytes(s[start..end].to_vec()))
        }
    })
}

/// `unhex(h [, pass])`: pairs of hex digits as bytes; characters of `pass` may stand between
/// pairs. Anything else, or an odd digit, gives NULL.
fn unhex(a: &[Value]) -> Result<Value> {
    let Some(h) = text(&a[0]) else { return Ok(Value::Null) };
    let pass = match a.get(1) {
        None => Cow::Borrowed(&b""[..]),
        Some(v) => match text(v) {
            None => return Ok(Value::Null),
            Some(p) => p,
        },
    };
    let passes = |c: u32| chars(&pass).any(|p| p == c);
    let h = cstr(&h);
    let digit = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(h.len() / 2);
    let mut i = 0;
    while i < h.len() {
        match digit(h[i]) {
            Some(hi) => match h.get(i + 1).and_then(|&d| digit(d)) {
                Some(lo) => {
                    out.push((hi << 4 | lo) as u8);
                    i += 2;
                }
                None => return Ok(Value::Null),
            },
            None if passes(read_char(h, &mut i)) => {}
            None => return Ok(Value::Null),
        }
    }
    Ok(Value::Blob(out))
}

/// `unicode(s)`: the code point of the first character, read as SQLite reads it.
fn unicode(a: &[Value]) -> Result<Value> {
    let s = text(&a[0]).unwrap_or_default();
    let s = cstr(&s);
    Ok(if s.is_empty() { Value::Null } else { Value::Integer(read_char(s, &mut 0) as i64) })
}

fn unistr(a: &[Value]) -> Result<Value> {
    let Some(b) = text(&a[0]) else { return Ok(Value::Null) };
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(k) = b[i..].iter().position(|&c| c == b'\\') {
        out.extend_from_slice(&b[i..i + k]);
        i += k;
        let (skip, digits) = match b.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
                continue;
            }
            Some(c) if c.is_ascii_hexdigit() => (1, 4),
            Some(b'+') => (2, 6),
            Some(b'u') => (2, 4),
            Some(b'U') => (2, 8),
            _ => return err("invalid Unicode escape"),
        };
        let hex = b.get(i + skip..i + skip + digits).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        let Some(hex) = hex else { return err("invalid Unicode escape") };
        let v = hex.iter().fold(0u32, |v, &c| (v << 4) | (c as char).to_digit(16).unwrap_or(0));
        // As SQLite: the code point's low 21 bits, written as they are (surrogates too).
        push_char(&mut out, v & 0x1f_ffff);
        i += skip + digits;
    }
    out.extend_from_slice(&b[i..]);
    Ok(Value::Text(Text::from_bytes(out)))
}

fn zeroblob(a: &[Value]) -> Result<Value> {
    let n = int_of(&a[0]).max(0);
    Ok(Value::Blob(alloc_bytes(usize::try_from(n).unwrap_or(usize::MAX))?))
}

/// `quote(x)`: a SQL literal for the value. Reals use 17 significant digits (shortened when
/// fewer round-trip); `escape` is `unistr_quote`, which writes control characters as
/// `unistr('\u00XX')` escapes.
pub fn quote(v: &Value, escape: bool) -> Text {
    let mut out = Vec::new();
    match v {
        Value::Null => return "NULL".into(),
        Value::Integer(i) => return i.to_string().into(),
        Value::Real(r) => {
            fmt_float(&mut out, b'g', *r, Spec { alt2: true, zero: true, precision: 17, ..Spec::default() })
        }
        Value::Blob(b) => {
            out.extend_from_slice(b"X'");
            for &c in b {
                out.extend_from_slice(&[HEX_UPPER[(c >> 4) as usize], HEX_UPPER[(c & 15) as usize]]);
            }
            out.push(b'\'');
        }
        Value::Text(s) => fmt_quoted(&mut out, Some(cstr(s.as_bytes())), b'Q', Spec { alt: escape, ..Spec::default() }),
    }
    Text::from_bytes(out)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
