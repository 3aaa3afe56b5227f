//! Built-in SQL functions: SQLite's scalar functions, the aggregate accumulators behind
//! `count`/`sum`/`total`/`avg`/`min`/`max`/`group_concat`, and LIKE/GLOB matching.
//!
//! Semantics follow SQLite's `func.c` and `printf.c` (3.4x–3.5x), including argument coercion
//! (`sqlite3_value_int64` takes the integer prefix of text, `sqlite3_value_double` the numeric
//! prefix), the overflow rules of `abs` and `sum`, and `printf`'s flags and float rounding.
//! [`scalar`] resolves a name and argument count to a [`ScalarFn`]; [`aggregate`] says whether
//! a call is an aggregate, and an [`Accumulator`] folds its rows. Results larger than
//! [`MAX_LENGTH`] bytes fail with `string or blob too big`; `printf` widths and precisions
//! are capped at 100000, like SQLite built with `SQLITE_PRINTF_PRECISION_LIMIT=100000`.
//!
//! `coalesce`, `ifnull` and `iif` receive evaluated arguments here; the executor may
//! short-circuit them instead, as SQLite does.

use alloc::borrow::Cow;
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use crate::error::{Error, Result};
use crate::sql::types::value::{parse_number, real_to_i64, Value};

/// A scalar function over its evaluated arguments; call it with the argument count
/// [`scalar`] looked it up for.
pub type ScalarFn = fn(&[Value]) -> Result<Value>;

/// The largest string or blob a function builds (SQLite's default `SQLITE_MAX_LENGTH`).
pub const MAX_LENGTH: usize = 1_000_000_000;
/// The longest LIKE/GLOB pattern in bytes (SQLite's `SQLITE_MAX_LIKE_PATTERN_LENGTH`).
pub const MAX_PATTERN_LENGTH: usize = 50_000;
/// Cap on printf widths and precisions.
const PRINTF_LIMIT: i64 = 100_000;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Sql(msg.into()))
}

fn too_big<T>() -> Result<T> {
    err("string or blob too big")
}

fn wrong_args<T>(name: &str) -> Result<T> {
    err(format!("wrong number of arguments to function {name}()"))
}

/// Look up a scalar function by lower-case name and argument count. `Err(Error::Sql)` when the
/// name is unknown ("no such function: X"), the count is wrong ("wrong number of arguments to
/// function X()"), or the call is an aggregate ("misuse of aggregate function X()").
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
        "lower" => (1, 1, |a| Ok(map_text(&a[0], |s| s.to_ascii_lowercase()))),
        "upper" => (1, 1, |a| Ok(map_text(&a[0], |s| s.to_ascii_uppercase()))),
        "ltrim" => (1, 2, |a| trim(a, true, false)),
        "rtrim" => (1, 2, |a| trim(a, false, true)),
        "trim" => (1, 2, |a| trim(a, true, true)),
        "max" => (2, N, |a| Ok(min_max(a, true))),
        "min" => (2, N, |a| Ok(min_max(a, false))),
        "nullif" => (2, 2, |a| Ok(if a[0].total_cmp(&a[1]) == Ordering::Equal { Value::Null } else { a[0].clone() })),
        "octet_length" => (1, 1, octet_length),
        "quote" => (1, 1, |a| Ok(Value::Text(quote(&a[0], false)))),
        "unistr_quote" => (1, 1, |a| Ok(Value::Text(quote(&a[0], true)))),
        "random" => (0, 0, |_| Ok(Value::Integer(random_i64()))),
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
fn int_of(v: &Value) -> i64 {
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

/// `sqlite3_value_text`: None for NULL, numbers rendered, blobs as (lossy) UTF-8.
fn text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(Cow::Borrowed(s)),
        Value::Blob(b) => Some(String::from_utf8_lossy(b)),
        other => Some(Cow::Owned(other.to_text())),
    }
}

/// The bytes of a value as `sqlite3_value_blob` sees them (NULL: empty).
fn bytes(v: &Value) -> Cow<'_, [u8]> {
    match v {
        Value::Null => Cow::Borrowed(&[]),
        Value::Text(s) => Cow::Borrowed(s.as_bytes()),
        Value::Blob(b) => Cow::Borrowed(b),
        other => Cow::Owned(other.to_text().into_bytes()),
    }
}

/// The part before the first NUL, where SQLite reads a C string.
fn cstr(s: &str) -> &str {
    s.find('\0').map_or(s, |i| &s[..i])
}

/// `sqlite3_value_numeric_type`: text that is entirely a number (up to a NUL) becomes that
/// number.
/// [`numeric`] without a copy when `v` is already a number.
fn numeric_ref(v: &Value) -> alloc::borrow::Cow<'_, Value> {
    match v {
        Value::Text(_) => alloc::borrow::Cow::Owned(numeric(v)),
        other => alloc::borrow::Cow::Borrowed(other),
    }
}

fn numeric(v: &Value) -> Value {
    match v {
        Value::Text(s) => parse_number(cstr(s)).unwrap_or_else(|| v.clone()),
        other => other.clone(),
    }
}

fn check_len(n: usize) -> Result<()> {
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

fn fabs(x: f64) -> f64 {
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

fn char_fn(a: &[Value]) -> Result<Value> {
    let s = a
        .iter()
        .map(|v| u32::try_from(int_of(v)).ok().and_then(char::from_u32).unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Ok(Value::Text(s))
}

fn coalesce(a: &[Value]) -> Result<Value> {
    Ok(a.iter().find(|v| !v.is_null()).cloned().unwrap_or(Value::Null))
}

fn join(a: &[Value], sep: &str) -> Result<Value> {
    let mut out = String::new();
    for (i, s) in a.iter().filter_map(text).enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(&s);
        check_len(out.len())?;
    }
    Ok(Value::Text(out))
}

fn concat(a: &[Value]) -> Result<Value> {
    join(a, "")
}

fn concat_ws(a: &[Value]) -> Result<Value> {
    match text(&a[0]) {
        None => Ok(Value::Null),
        Some(sep) => join(&a[1..], &sep),
    }
}

fn hex(a: &[Value]) -> Result<Value> {
    let b = bytes(&a[0]);
    check_len(b.len().saturating_mul(2))?;
    let mut s = String::with_capacity(b.len() * 2);
    for &c in b.iter() {
        s.push(HEX_UPPER[(c >> 4) as usize] as char);
        s.push(HEX_UPPER[(c & 15) as usize] as char);
    }
    Ok(Value::Text(s))
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

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

fn instr(a: &[Value]) -> Result<Value> {
    let (h, n) = (&a[0], &a[1]);
    if h.is_null() || n.is_null() {
        return Ok(Value::Null);
    }
    if let (Value::Blob(h), Value::Blob(n)) = (h, n) {
        if n.is_empty() {
            return Ok(Value::Integer(1));
        }
        let pos = h.windows(n.len()).position(|w| w == &n[..]);
        return Ok(Value::Integer(pos.map_or(0, |p| p as i64 + 1)));
    }
    let (h, n) = (text(h).unwrap_or_default(), text(n).unwrap_or_default());
    Ok(Value::Integer(match h.find(&*n) {
        Some(p) => h[..p].chars().count() as i64 + 1,
        None => 0,
    }))
}

fn length(a: &[Value]) -> Result<Value> {
    Ok(match &a[0] {
        Value::Null => Value::Null,
        Value::Text(s) => Value::Integer(cstr(s).chars().count() as i64),
        Value::Blob(b) => Value::Integer(b.len() as i64),
        v => Value::Integer(v.to_text().len() as i64),
    })
}

fn octet_length(a: &[Value]) -> Result<Value> {
    Ok(if a[0].is_null() { Value::Null } else { Value::Integer(bytes(&a[0]).len() as i64) })
}

fn likelihood(a: &[Value]) -> Result<Value> {
    match a[1] {
        Value::Real(p) if (0.0..=1.0).contains(&p) => Ok(a[0].clone()),
        _ => err("second argument to likelihood() must be a constant between 0.0 and 1.0"),
    }
}

fn map_text(v: &Value, f: impl Fn(&str) -> String) -> Value {
    text(v).map_or(Value::Null, |s| Value::Text(f(&s)))
}

fn min_max(a: &[Value], max: bool) -> Value {
    if a.iter().any(Value::is_null) {
        return Value::Null;
    }
    let mut best = &a[0];
    for v in &a[1..] {
        let c = best.total_cmp(v);
        // Ties go to the later argument for min() and the earlier one for max(), as in SQLite.
        if (max && c == Ordering::Less) || (!max && c != Ordering::Less) {
            best = v;
        }
    }
    best.clone()
}

fn trim(a: &[Value], left: bool, right: bool) -> Result<Value> {
    let Some(s) = text(&a[0]) else { return Ok(Value::Null) };
    let set: Vec<char> = match a.get(1) {
        None => vec![' '],
        Some(v) => match text(v) {
            None => return Ok(Value::Null),
            Some(cs) => cstr(&cs).chars().collect(),
        },
    };
    let mut t: &str = &s;
    if left {
        t = t.trim_start_matches(&set[..]);
    }
    if right {
        t = t.trim_end_matches(&set[..]);
    }
    Ok(Value::Text(t.into()))
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

static RANDOM_STATE: AtomicU64 = AtomicU64::new(0x2545_f491_4f6c_dd1d);

/// SplitMix64 over a shared counter: lock-free, no_std, and good enough for `random()`.
fn next_random() -> u64 {
    let mut z = RANDOM_STATE.fetch_add(0x9e37_79b9_7f4a_7c15, AtomicOrdering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn random_i64() -> i64 {
    let r = next_random() as i64;
    // Never i64::MIN, so that abs(random()) cannot overflow.
    if r < 0 {
        -(r & i64::MAX)
    } else {
        r
    }
}

fn replace(a: &[Value]) -> Result<Value> {
    let Some(s) = text(&a[0]) else { return Ok(Value::Null) };
    let Some(p) = text(&a[1]) else { return Ok(Value::Null) };
    if p.is_empty() || p.starts_with('\0') {
        return Ok(Value::Text(s.into_owned()));
    }
    let Some(r) = text(&a[2]) else { return Ok(Value::Null) };
    if r.len() > p.len() {
        let grow = s.matches(&*p).count().saturating_mul(r.len() - p.len());
        check_len(s.len().saturating_add(grow))?;
    }
    Ok(Value::Text(s.replace(&*p, &r)))
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
    let b = cstr(&s).as_bytes();
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
    Ok(Value::Text(String::from_utf8_lossy(&out).into_owned()))
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
    let s = if blob.is_some() { Cow::Borrowed("") } else { text(v).unwrap_or_default() };
    let s = cstr(&s);
    let len = blob.map_or_else(|| if p1 < 0 { s.chars().count() } else { 0 }, <[u8]>::len) as i128;
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
            let start = s.char_indices().nth(clamp(p1, s.len())).map_or(s.len(), |(i, _)| i);
            let rest = &s[start..];
            let end = rest.char_indices().nth(clamp(p2, rest.len())).map_or(rest.len(), |(i, _)| i);
            Value::Text(rest[..end].into())
        }
    })
}

fn unhex(a: &[Value]) -> Result<Value> {
    let Some(h) = text(&a[0]) else { return Ok(Value::Null) };
    let pass = match a.get(1) {
        None => Cow::Borrowed(""),
        Some(v) => match text(v) {
            None => return Ok(Value::Null),
            Some(p) => p,
        },
    };
    let mut out = Vec::with_capacity(h.len() / 2);
    let mut it = cstr(&h).chars();
    while let Some(c) = it.next() {
        match c.to_digit(16) {
            Some(hi) => match it.next().and_then(|d| d.to_digit(16)) {
                Some(lo) => out.push((hi << 4 | lo) as u8),
                None => return Ok(Value::Null),
            },
            None if pass.contains(c) => {}
            None => return Ok(Value::Null),
        }
    }
    Ok(Value::Blob(out))
}

fn unicode(a: &[Value]) -> Result<Value> {
    let s = text(&a[0]).unwrap_or_default();
    Ok(cstr(&s).chars().next().map_or(Value::Null, |c| Value::Integer(c as i64)))
}

fn unistr(a: &[Value]) -> Result<Value> {
    let Some(s) = text(&a[0]) else { return Ok(Value::Null) };
    let b = s.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while let Some(k) = b[i..].iter().position(|&c| c == b'\\') {
        out.push_str(&s[i..i + k]);
        i += k;
        let (skip, digits) = match b.get(i + 1) {
            Some(b'\\') => {
                out.push('\\');
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
        out.push(char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER));
        i += skip + digits;
    }
    out.push_str(&s[i..]);
    Ok(Value::Text(out))
}

fn zeroblob(a: &[Value]) -> Result<Value> {
    let n = int_of(&a[0]).max(0);
    Ok(Value::Blob(alloc_bytes(usize::try_from(n).unwrap_or(usize::MAX))?))
}

/// `quote(x)`: a SQL literal for the value. Reals use 17 significant digits (shortened when
/// fewer round-trip); `escape` is `unistr_quote`, which writes control characters as
/// `unistr('\u00XX')` escapes.
pub fn quote(v: &Value, escape: bool) -> String {
    let mut out = Vec::new();
    match v {
        Value::Null => return "NULL".into(),
        Value::Integer(i) => return i.to_string(),
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
        Value::Text(s) => fmt_quoted(&mut out, Some(cstr(s).as_bytes()), b'Q', Spec { alt: escape, ..Spec::default() }),
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------
// printf

fn printf_fn(a: &[Value]) -> Result<Value> {
    let Some(f) = a.first().and_then(text) else { return Ok(Value::Null) };
    let out = printf(cstr(&f).as_bytes(), &a[1..])?;
    Ok(Value::Text(String::from_utf8_lossy(&out).into_owned()))
}

/// The flags, width and precision of one conversion.
#[derive(Clone, Copy)]
struct Spec {
    left: bool,
    sign: Option<u8>,
    alt: bool,
    alt2: bool,
    zero: bool,
    comma: bool,
    width: i64,
    precision: i64,
}

impl Default for Spec {
    fn default() -> Spec {
        Spec { left: false, sign: None, alt: false, alt2: false, zero: false, comma: false, width: 0, precision: -1 }
    }
}

/// The arguments of a printf() call, consumed in order; missing ones read as 0 / NULL.
struct Args<'a>(&'a [Value]);

impl Args<'_> {
    fn next(&mut self) -> Option<&Value> {
        let (v, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(v)
    }
    fn int(&mut self) -> i64 {
        self.next().map_or(0, int_of)
    }
    fn text(&mut self) -> Option<Vec<u8>> {
        let s = self.next().and_then(text)?;
        Some(cstr(&s).as_bytes().to_vec())
    }
}

/// SQLite's `printf()`: renders `fmt` with `args`. An unknown conversion ends the output.
fn printf(fmt: &[u8], args: &[Value]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut args = Args(args);
    let at = |k: usize| fmt.get(k).copied().unwrap_or(0);
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            let end = fmt[i..].iter().position(|&c| c == b'%').map_or(fmt.len(), |k| i + k);
            out.extend_from_slice(&fmt[i..end]);
            i = end;
            continue;
        }
        i += 1;
        let mut c = at(i);
        if c == 0 {
            out.push(b'%');
            break;
        }
        let mut s = Spec::default();
        loop {
            let mut done = true;
            match c {
                b'-' => (s.left, done) = (true, false),
                b'+' | b' ' => (s.sign, done) = (Some(c), false),
                b'#' => (s.alt, done) = (true, false),
                b'!' => (s.alt2, done) = (true, false),
                b'0' => (s.zero, done) = (true, false),
                b',' => (s.comma, done) = (true, false),
                b'l' => {
                    i += 1;
                    c = at(i);
                    if c == b'l' {
                        i += 1;
                        c = at(i);
                    }
                }
                b'1'..=b'9' => {
                    let mut wx = (c - b'0') as u32;
                    loop {
                        i += 1;
                        c = at(i);
                        if !c.is_ascii_digit() {
                            break;
                        }
                        wx = wx.wrapping_mul(10).wrapping_add((c - b'0') as u32);
                    }
                    s.width = ((wx & 0x7fff_ffff) as i64).min(PRINTF_LIMIT);
                    if c == b'.' || c == b'l' {
                        i -= 1;
                        done = false;
                    }
                }
                b'*' => {
                    let w = args.int() as i32 as i64;
                    if w < 0 {
                        s.left = true;
                    }
                    s.width = if w == i32::MIN as i64 { 0 } else { w.abs().min(PRINTF_LIMIT) };
                    if at(i + 1) != b'.' && at(i + 1) != b'l' {
                        i += 1;
                        c = at(i);
                    } else {
                        done = false;
                    }
                }
                b'.' => {
                    i += 1;
                    c = at(i);
                    if c == b'*' {
                        let p = args.int() as i32 as i64;
                        s.precision = if p == i32::MIN as i64 { -1 } else { p.abs() };
                        i += 1;
                        c = at(i);
                    } else {
                        let mut px = 0u32;
                        while c.is_ascii_digit() {
                            px = px.wrapping_mul(10).wrapping_add((c - b'0') as u32);
                            i += 1;
                            c = at(i);
                        }
                        s.precision = (px & 0x7fff_ffff) as i64;
                    }
                    s.precision = s.precision.min(PRINTF_LIMIT);
                    if c == b'l' {
                        i -= 1;
                        done = false;
                    }
                }
                _ => {}
            }
            if done {
                break;
            }
            i += 1;
            c = at(i);
            if c == 0 {
                break;
            }
        }
        match c {
            b'd' | b'i' | b'u' | b'x' | b'X' | b'o' | b'p' | b'r' => fmt_int(&mut out, c, args.int(), s),
            b'f' | b'e' | b'E' | b'g' | b'G' => {
                let r = args.next().map_or(0.0, Value::to_f64);
                fmt_float(&mut out, c, r, s)
            }
            b's' | b'z' => {
                let t = args.text().unwrap_or_default();
                let mut n = t.len();
                if s.precision >= 0 {
                    n = if s.alt2 { utf8_prefix(&t, s.precision) } else { n.min(s.precision as usize) };
                }
                pad_utf8(&mut out, &t[..n], s);
            }
            b'c' => {
                let t = args.text().unwrap_or_default();
                let ch = match t.first() {
                    None => &[0u8][..],
                    Some(_) => &t[..utf8_prefix(&t, 1).min(4)],
                };
                if s.precision > 1 {
                    s.width -= s.precision - 1;
                    if s.width > 1 && !s.left {
                        push_n(&mut out, b' ', s.width - 1);
                        s.width = 0;
                    }
                    for _ in 1..s.precision {
                        out.extend_from_slice(ch);
                    }
                }
                pad_utf8(&mut out, ch, Spec { alt2: true, ..s });
            }
            b'q' | b'Q' | b'w' => fmt_quoted(&mut out, args.text().as_deref(), c, s),
            b'j' | b'J' => fmt_json(&mut out, args.text().as_deref(), c == b'J', s),
            b'%' => pad(&mut out, b"%", s),
            b'n' => {}
            _ => break, // unknown conversion (or %T, %S): SQLite stops here
        }
        check_len(out.len())?;
        i += 1;
    }
    Ok(out)
}

fn push_n(out: &mut Vec<u8>, c: u8, n: i64) {
    out.resize(out.len() + n.max(0) as usize, c);
}

/// Append `body` padded with spaces to `s.width` bytes.
fn pad(out: &mut Vec<u8>, body: &[u8], s: Spec) {
    let w = s.width - body.len() as i64;
    if !s.left {
        push_n(out, b' ', w);
    }
    out.extend_from_slice(body);
    if s.left {
        push_n(out, b' ', w);
    }
}

/// [`pad`], with the width counted in characters when the `!` flag is set.
fn pad_utf8(out: &mut Vec<u8>, body: &[u8], mut s: Spec) {
    if s.alt2 && s.width > 0 {
        s.width += body.iter().filter(|&&c| c & 0xc0 == 0x80).count() as i64;
    }
    pad(out, body, s)
}

/// Bytes taken by the first `n` characters of `b` (SQLITE_SKIP_UTF8 steps).
fn utf8_prefix(b: &[u8], n: i64) -> usize {
    let mut i = 0;
    for _ in 0..n {
        if i >= b.len() {
            break;
        }
        i += 1;
        if b[i - 1] >= 0xc0 {
            while i < b.len() && b[i] & 0xc0 == 0x80 {
                i += 1;
            }
        }
    }
    i
}

fn fmt_int(out: &mut Vec<u8>, conv: u8, v: i64, mut s: Spec) {
    let (base, digits, prefix): (u64, &[u8; 16], &[u8]) = match conv {
        b'x' => (16, HEX_LOWER, b"x0"),
        b'X' => (16, HEX_UPPER, b"X0"),
        b'p' => (16, HEX_UPPER, b"x0"),
        b'o' => (8, HEX_LOWER, b"0"),
        _ => (10, HEX_LOWER, b""),
    };
    let signed = matches!(conv, b'd' | b'i' | b'r');
    let comma = s.comma && matches!(conv, b'd' | b'i' | b'u');
    let (mut u, sign) = match (signed, v < 0) {
        (true, true) => (v.unsigned_abs(), Some(b'-')),
        (true, false) => (v as u64, s.sign),
        _ => (v as u64, None),
    };
    let alt = s.alt && u != 0;
    if s.zero && s.precision < s.width - sign.is_some() as i64 {
        s.precision = s.width - sign.is_some() as i64;
    }
    // Built backwards, then reversed.
    let mut b = Vec::with_capacity(24);
    if conv == b'r' {
        let x = u % 10;
        let x = if x >= 4 || (u / 10) % 10 == 1 { 0 } else { x as usize };
        b.extend(["th", "st", "nd", "rd"][x].bytes().rev());
    }
    loop {
        b.push(digits[(u % base) as usize]);
        u /= base;
        if u == 0 {
            break;
        }
    }
    let zeros = s.precision - b.len() as i64;
    push_n(&mut b, b'0', zeros);
    if comma {
        let mut g = Vec::with_capacity(b.len() * 4 / 3 + 1);
        for (k, &d) in b.iter().enumerate() {
            if k > 0 && k % 3 == 0 {
                g.push(b',');
            }
            g.push(d);
        }
        b = g;
    }
    b.extend(sign);
    if alt {
        b.extend_from_slice(prefix);
    }
    b.reverse();
    pad(out, &b, s);
}

/// A float decoded to decimal digits, as SQLite's `sqlite3FpDecode`.
struct Decoded {
    neg: bool,
    /// Significant digits (ASCII), no trailing zeros, at least one.
    z: Vec<u8>,
    /// Position of the decimal point: the value is `0.z × 10^dp`.
    dp: i32,
    /// 1 for infinity, 2 for NaN.
    special: u8,
}

/// `r`'s digits rounded to `iround` significant digits (`iround <= 0`: to `-iround` digits
/// after the point), at most `mxround` digits, rounding half away from zero on the decimal
/// digits like SQLite.
fn fp_decode(r: f64, mut iround: i32, mxround: i32) -> Decoded {
    let neg = r < 0.0;
    let r = fabs(r);
    let special = if r.is_nan() { 2 } else { r.is_infinite() as u8 };
    if r == 0.0 || special != 0 {
        return Decoded { neg: neg && special != 0, z: vec![b'0'], dp: 1, special };
    }
    // SQLite scales r = m·2^e (m normalized to 64 bits) by 10^p, p = n-1-floor(log10(2^(e+63))),
    // which leaves n or n+1 digits: rounded when n is 18, else truncated.
    let n = if !(1..18).contains(&iround) { 18 } else { iround + 1 };
    let (bits, biased) = (r.to_bits() & ((1 << 52) - 1), (r.to_bits() >> 52) as i32);
    let e = if biased == 0 { -1074 - bits.leading_zeros() as i32 } else { biased - 1086 };
    let p = n - 1 - (((e + 63) * 78913) >> 18);
    let (all, x) = crate::sql::types::float::digits41(r);
    let mut dp = x + 1;
    let ndig = (dp + p).clamp(1, 40) as usize;
    let mut z = all[..ndig].to_vec();
    if n == 18 && all[ndig] >= b'5' && round_up(&mut z, ndig) {
        dp += 1;
    }
    let mut len = z.len() as i32;
    if iround <= 0 {
        iround = dp - iround;
        if iround == 0 && z[0] >= b'5' {
            iround = 1;
            z.insert(0, b'0');
            len += 1;
            dp += 1;
        }
    }
    if iround > 0 && (iround < len || len > mxround) {
        iround = iround.min(mxround);
        if iround == 17 {
            // "%!.17g": use fewer digits when they round-trip (49.47, not 49.469999999999999).
            let num = |d: &[u8]| d.iter().fold(0u64, |v, &c| v * 10 + (c - b'0') as u64);
            let back = |v: u64, p: i32| crate::sql::types::float::parse_f64(&format!("{v}e{p}"));
            if z[15] == b'9' && z[14] == b'9' {
                let jj = z[..14].iter().rposition(|&c| c != b'9').map_or(0, |k| k + 1);
                let v2 = if jj == 0 { 1 } else { num(&z[..jj]) + 1 };
                if back(v2, dp - jj as i32) == Some(r) {
                    iround = jj as i32 + 1;
                }
            } else if dp >= len || z[13..16] == *b"000" {
                let jj = z[..13].iter().rposition(|&c| c != b'0').map_or(1, |k| k + 1);
                if back(num(&z[..jj]), dp - jj as i32) == Some(r) {
                    iround = jj as i32 + 1;
                }
            }
        }
        len = iround;
        if z[iround as usize] >= b'5' && round_up(&mut z, iround as usize) {
            len += 1;
            dp += 1;
        }
    }
    z.truncate(len as usize);
    while z.len() > 1 && z.last() == Some(&b'0') {
        z.pop();
    }
    Decoded { neg, z, dp, special: 0 }
}

/// Add one unit at digit `n` of `z` (keeping `z[..n]`); on carry-out, prepend `1` and
/// return true.
fn round_up(z: &mut Vec<u8>, n: usize) -> bool {
    z.truncate(n);
    for d in z.iter_mut().rev() {
        if *d < b'9' {
            *d += 1;
            return false;
        }
        *d = b'0';
    }
    z.insert(0, b'1');
    true
}

fn fmt_float(out: &mut Vec<u8>, conv: u8, r: f64, mut s: Spec) {
    let mut precision = if s.precision < 0 { 6 } else { s.precision };
    let generic = matches!(conv, b'g' | b'G');
    if generic && precision == 0 {
        precision = 1;
    }
    let iround = match conv {
        b'f' => -precision,
        b'g' | b'G' => precision,
        _ => precision + 1,
    } as i32;
    let mut d = fp_decode(r, iround, if s.alt2 { 20 } else { 16 });
    if d.special == 2 {
        return pad(out, if s.zero { b"null" } else { b"NaN" }, s);
    }
    if d.special == 1 {
        if !s.zero {
            let inf: &[u8] = match (d.neg, s.sign) {
                (true, _) => b"-Inf",
                (false, Some(b'+')) => b"+Inf",
                (false, Some(_)) => b" Inf",
                _ => b"Inf",
            };
            return pad(out, inf, s);
        }
        (d.z, d.dp) = (vec![b'9'], 1000);
    }
    let sign = if !d.neg {
        s.sign
    } else if s.alt && s.sign.is_none() && conv == b'f' && d.dp <= iround {
        None // "%#f" of a value that rounds to zero: no minus sign
    } else {
        Some(b'-')
    };
    let mut exp_form = matches!(conv, b'e' | b'E');
    let rtz;
    if generic {
        precision -= 1;
        rtz = !s.alt;
        let exp = d.dp as i64 - 1;
        if exp < -4 || exp > precision {
            exp_form = true;
        } else {
            precision -= exp;
        }
    } else {
        rtz = s.alt2;
    }
    let z = &d.z;
    let mut e2 = if exp_form { 0 } else { d.dp as i64 - 1 };
    let dp_flag = precision > 0 || s.alt || s.alt2;
    let mut b = Vec::new();
    b.extend(sign);
    let mut j = 0;
    if e2 < 0 {
        b.push(b'0');
    } else if s.comma {
        while e2 >= 0 {
            b.push(z.get(j).copied().unwrap_or(b'0'));
            j += 1;
            if e2 % 3 == 0 && e2 > 1 {
                b.push(b',');
            }
            e2 -= 1;
        }
        j = j.min(z.len());
    } else {
        j = ((e2 + 1) as usize).min(z.len());
        b.extend_from_slice(&z[..j]);
        e2 -= j as i64;
        push_n(&mut b, b'0', e2 + 1);
        e2 = e2.min(-1);
    }
    if dp_flag {
        b.push(b'.');
    }
    if e2 < -1 && precision > 0 {
        let nn = (-1 - e2).min(precision);
        push_n(&mut b, b'0', nn);
        precision -= nn;
    }
    if precision > 0 {
        let nn = ((z.len() - j) as i64).min(precision);
        b.extend_from_slice(&z[j..j + nn as usize]);
        precision -= nn;
        if !rtz {
            push_n(&mut b, b'0', precision);
        }
    }
    if rtz && dp_flag {
        while b.last() == Some(&b'0') {
            b.pop();
        }
        if b.last() == Some(&b'.') {
            if s.alt2 {
                b.push(b'0');
            } else {
                b.pop();
            }
        }
    }
    if exp_form {
        let exp = d.dp - 1;
        b.push(if conv.is_ascii_uppercase() { b'E' } else { b'e' });
        b.push(if exp < 0 { b'-' } else { b'+' });
        let exp = exp.unsigned_abs();
        if exp >= 100 {
            b.push(b'0' + (exp / 100) as u8);
        }
        b.extend_from_slice(&[b'0' + (exp / 10 % 10) as u8, b'0' + (exp % 10) as u8]);
    }
    let padding = s.width - b.len() as i64;
    if padding > 0 && s.zero && !s.left {
        let at = sign.is_some() as usize;
        b.splice(at..at, core::iter::repeat_n(b'0', padding as usize));
    }
    s.width = s.width.max(0);
    pad(out, &b, s);
}

/// `%q` (double the quotes), `%Q` (also enclose in quotes; NULL → `NULL`) and `%w` (double
/// the double quotes). With `#`, backslashes are doubled and control characters escaped.
fn fmt_quoted(out: &mut Vec<u8>, arg: Option<&[u8]>, conv: u8, s: Spec) {
    let q = if conv == b'w' { b'"' } else { b'\'' };
    let (t, quoted): (&[u8], bool) = match arg {
        None if conv == b'Q' => (b"NULL", false),
        None => (b"(NULL)", false),
        Some(t) => (t, conv == b'Q'),
    };
    let t = &t[..precision_len(t, s)];
    let has_ctrl = t.iter().any(|&c| c <= 0x1f);
    let escape = s.alt && conv != b'w' && (has_ctrl || conv == b'q');
    let unistr = escape && conv == b'Q';
    let mut b = Vec::with_capacity(t.len() + 10);
    if unistr {
        b.extend_from_slice(b"unistr('");
    } else if quoted {
        b.push(b'\'');
    }
    for &c in t {
        match c {
            _ if c == q => b.extend_from_slice(&[c, c]),
            b'\\' if escape => b.extend_from_slice(b"\\\\"),
            0..=0x1f if escape => {
                b.extend_from_slice(&[b'\\', b'u', b'0', b'0', b'0' + (c >> 4), HEX_LOWER[(c & 15) as usize]])
            }
            _ => b.push(c),
        }
    }
    if quoted {
        b.push(b'\'');
    }
    if unistr {
        b.push(b')');
    }
    pad_utf8(out, &b, s);
}

/// `%j` (a JSON string body) and `%J` (a JSON string literal; NULL → `null`).
/// Bytes of `t` a `%s`-like conversion keeps: all without a precision, else `precision` bytes, or
/// characters with the `!` flag.
fn precision_len(t: &[u8], s: Spec) -> usize {
    if s.precision < 0 {
        t.len()
    } else if s.alt2 {
        utf8_prefix(t, s.precision)
    } else {
        t.len().min(s.precision as usize)
    }
}

fn fmt_json(out: &mut Vec<u8>, arg: Option<&[u8]>, quoted: bool, s: Spec) {
    let mut b = Vec::new();
    if let Some(t) = arg {
        let n = precision_len(t, s);
        if quoted {
            b.push(b'"');
        }
        for &c in &t[..n] {
            match c {
                b'"' | b'\\' => b.extend_from_slice(&[b'\\', c]),
                8 | 9 | 10 | 12 | 13 => b.extend_from_slice(&[b'\\', b"btn?fr"[c as usize - 8]]),
                0..=0x1f => {
                    b.extend_from_slice(&[b'\\', b'u', b'0', b'0', b'0' + (c >> 4), HEX_LOWER[(c & 15) as usize]])
                }
                _ => b.push(c),
            }
        }
        if quoted {
            b.push(b'"');
        }
    } else if quoted {
        b.extend_from_slice(b"null");
    }
    let len = if s.alt2 { b.iter().filter(|&&c| c & 0xc0 != 0x80).count() } else { b.len() };
    let w = s.width - len as i64;
    if !s.left && !b.is_empty() {
        push_n(out, b' ', w);
    }
    out.extend_from_slice(&b);
    if s.left || b.is_empty() {
        push_n(out, b' ', w);
    }
}

// ---------------------------------------------------------------------------------------
// LIKE and GLOB

fn like_fn(a: &[Value]) -> Result<Value> {
    let esc = match a.get(2) {
        None => None,
        Some(v) => {
            let Some(e) = text(v) else { return Ok(Value::Null) };
            let mut it = cstr(&e).chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Some(c),
                _ => return err("ESCAPE expression must be a single character"),
            }
        }
    };
    match_fn(a, |p, t| like(p, t, esc))
}

fn glob_fn(a: &[Value]) -> Result<Value> {
    match_fn(a, glob)
}

fn match_fn(a: &[Value], f: impl Fn(&str, &str) -> bool) -> Result<Value> {
    if bytes(&a[0]).len() > MAX_PATTERN_LENGTH {
        return err("LIKE or GLOB pattern too complex");
    }
    Ok(match (text(&a[0]), text(&a[1])) {
        (Some(p), Some(t)) => Value::Integer(f(&p, &t) as i64),
        _ => Value::Null,
    })
}

/// One element of a compiled LIKE/GLOB pattern.
enum Tok {
    /// `%` or `*`: any run of characters.
    Star,
    /// `_` or `?`: any one character.
    One,
    /// A character (case-insensitive for ASCII letters under LIKE).
    Lit(char),
    /// `[...]`: ranges (inclusive), inverted with `^`.
    Set(Vec<(char, char)>, bool),
    /// A pattern that cannot match here (a dangling escape or an unclosed `[`).
    Never,
}

impl Tok {
    fn matches(&self, c: char, nocase: bool) -> bool {
        match self {
            Tok::Star | Tok::Never => false,
            Tok::One => true,
            Tok::Lit(p) => *p == c || (nocase && p.is_ascii() && p.eq_ignore_ascii_case(&c)),
            Tok::Set(ranges, invert) => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *invert,
        }
    }
}

/// Match compiled tokens against text: greedy with backtracking to the last star, O(n·m).
fn wildcard(toks: &[Tok], text: &str, nocase: bool) -> bool {
    let text: Vec<char> = cstr(text).chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = toks.get(p) {
            if let Tok::Star = tok {
                star = Some((p + 1, t));
                p += 1;
                continue;
            }
            if t < text.len() && tok.matches(text[t], nocase) {
                p += 1;
                t += 1;
                continue;
            }
        } else if t == text.len() {
            return true;
        }
        match star {
            Some((sp, st)) if st < text.len() => {
                star = Some((sp, st + 1));
                (p, t) = (sp, st + 1);
            }
            _ => return false,
        }
    }
}

/// SQL LIKE: `%` matches any run, `_` any one character, `escape` makes the next pattern
/// character literal. Case-insensitive for ASCII letters only. Text after a NUL is ignored.
pub fn like(pattern: &str, text: &str, escape: Option<char>) -> bool {
    let mut toks = Vec::new();
    let mut it = cstr(pattern).chars();
    while let Some(c) = it.next() {
        toks.push(match c {
            _ if Some(c) == escape => it.next().map_or(Tok::Never, Tok::Lit),
            '%' => Tok::Star,
            '_' => Tok::One,
            _ => Tok::Lit(c),
        });
    }
    wildcard(&toks, text, true)
}

/// SQL GLOB: case-sensitive; `*` matches any run, `?` any one character, `[abc]`, `[a-z]`
/// and `[^x]` one character of (or not of) a set. `]` first in a set is literal, as is `-`
/// first or last.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut toks = Vec::new();
    let mut it = cstr(pattern).chars().peekable();
    while let Some(c) = it.next() {
        toks.push(match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            '[' => {
                let mut set = Vec::new();
                let mut c2 = it.next();
                let invert = c2 == Some('^');
                if invert {
                    c2 = it.next();
                }
                if c2 == Some(']') {
                    set.push((']', ']'));
                    c2 = it.next();
                }
                let mut prior: Option<char> = None;
                while let Some(x) = c2.filter(|&x| x != ']') {
                    match (x, prior, it.peek()) {
                        ('-', Some(lo), Some(&hi)) if hi != ']' => {
                            it.next();
                            set.push((lo, hi));
                            prior = None;
                        }
                        _ => {
                            set.push((x, x));
                            prior = Some(x);
                        }
                    }
                    c2 = it.next();
                }
                if c2.is_none() {
                    Tok::Never
                } else {
                    Tok::Set(set, invert)
                }
            }
            _ => Tok::Lit(c),
        });
    }
    wildcard(&toks, text, false)
}

// ---------------------------------------------------------------------------------------
// Aggregates

/// The built-in aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateKind {
    /// `count(x)`: non-NULL values.
    Count,
    /// `count(*)`: rows.
    CountStar,
    /// `sum(x)`: INTEGER while every input is an integer (overflow is an error), else REAL;
    /// NULL with no input.
    Sum,
    /// `total(x)`: always REAL, 0.0 with no input.
    Total,
    /// `avg(x)`: REAL, NULL with no input.
    Avg,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
    /// `group_concat(x[, sep])` and `string_agg(x, sep)`.
    GroupConcat,
}

/// `Some(kind)` if `name` (lower-case) with `argc` arguments is an aggregate call; `star` is
/// `f(*)` (only `count(*)` is valid; `f(*)` otherwise counts as no arguments). `min`/`max`
/// with two or more arguments are the scalar functions. Wrong argument counts are errors.
pub fn aggregate(name: &str, argc: usize, star: bool) -> Result<Option<AggregateKind>> {
    let argc = if star { 0 } else { argc };
    let (ok, kind) = match name {
        "count" => (argc <= 1, if argc == 0 { AggregateKind::CountStar } else { AggregateKind::Count }),
        "sum" => (argc == 1, AggregateKind::Sum),
        "total" => (argc == 1, AggregateKind::Total),
        "avg" => (argc == 1, AggregateKind::Avg),
        "min" | "max" if argc >= 2 => return Ok(None),
        "min" => (argc == 1, AggregateKind::Min),
        "max" => (argc == 1, AggregateKind::Max),
        "group_concat" => (argc == 1 || argc == 2, AggregateKind::GroupConcat),
        "string_agg" => (argc == 2, AggregateKind::GroupConcat),
        _ => return Ok(None),
    };
    if ok {
        Ok(Some(kind))
    } else {
        wrong_args(name)
    }
}

/// The running state of one aggregate over one group.
#[derive(Debug, Clone)]
pub struct Accumulator {
    kind: AggregateKind,
    /// DISTINCT: the argument values seen so far.
    seen: Option<BTreeSet<Value>>,
    count: i64,
    /// sum/total/avg: the integer sum until a non-integer (or an overflow) is seen, then a
    /// Kahan-Babuska-Neumaier sum as SQLite keeps it.
    isum: i64,
    rsum: f64,
    rerr: f64,
    approx: bool,
    overflow: bool,
    /// min/max: the best value so far (NULL: none yet).
    best: Value,
    /// group_concat: the text so far (None: no non-NULL value yet).
    text: Option<String>,
}

impl Accumulator {
    /// A fresh accumulator; `distinct` feeds each distinct non-NULL argument once.
    pub fn new(kind: AggregateKind, distinct: bool) -> Accumulator {
        Accumulator {
            kind,
            seen: distinct.then(BTreeSet::new),
            count: 0,
            isum: 0,
            rsum: 0.0,
            rerr: 0.0,
            approx: false,
            overflow: false,
            best: Value::Null,
            text: None,
        }
    }

    /// Feed one row's argument values (none for `count(*)`).
    pub fn step(&mut self, args: &[Value]) -> Result<()> {
        if self.kind == AggregateKind::CountStar {
            self.count += 1;
            return Ok(());
        }
        let Some(v) = args.first() else { return wrong_args(self.name()) };
        if self.seen.is_some() && args.len() != 1 {
            return err("DISTINCT aggregates must have exactly one argument");
        }
        if v.is_null() {
            return Ok(());
        }
        if let Some(seen) = &mut self.seen {
            if seen.contains(v) {
                return Ok(());
            }
            seen.insert(v.clone());
        }
        self.count += 1;
        match self.kind {
            AggregateKind::Count | AggregateKind::CountStar => {}
            AggregateKind::Sum | AggregateKind::Total | AggregateKind::Avg => match numeric_ref(v).as_ref() {
                &Value::Integer(i) if !self.approx => match self.isum.checked_add(i) {
                    Some(s) => self.isum = s,
                    None => {
                        self.overflow = true;
                        self.start_approx();
                        self.add_int(i);
                    }
                },
                &Value::Integer(i) => self.add_int(i),
                other => {
                    if self.approx {
                        self.overflow = false;
                    } else {
                        self.start_approx();
                    }
                    self.add(other.to_f64());
                }
            },
            AggregateKind::Min | AggregateKind::Max => {
                let want = if self.kind == AggregateKind::Max { Ordering::Less } else { Ordering::Greater };
                if self.best.is_null() || self.best.total_cmp(v) == want {
                    self.best = v.clone();
                }
            }
            AggregateKind::GroupConcat => {
                let s = text(v).unwrap_or_default();
                match &mut self.text {
                    None => self.text = Some(s.into_owned()),
                    Some(t) => {
                        match args.get(1) {
                            None => t.push(','),
                            Some(sep) => t.push_str(&text(sep).unwrap_or_default()),
                        }
                        t.push_str(&s);
                        check_len(t.len())?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The aggregate's value for the rows fed so far (the state is kept: more rows may follow).
    pub fn finish(&mut self) -> Result<Value> {
        Ok(match self.kind {
            AggregateKind::Count | AggregateKind::CountStar => Value::Integer(self.count),
            AggregateKind::Sum if self.count == 0 => Value::Null,
            AggregateKind::Sum if self.overflow => return err("integer overflow"),
            AggregateKind::Sum if !self.approx => Value::Integer(self.isum),
            AggregateKind::Sum | AggregateKind::Total => Value::real(self.real_sum()),
            AggregateKind::Avg if self.count == 0 => Value::Null,
            AggregateKind::Avg => Value::real(self.real_sum() / self.count as f64),
            AggregateKind::Min | AggregateKind::Max => self.best.clone(),
            AggregateKind::GroupConcat => self.text.clone().map_or(Value::Null, Value::Text),
        })
    }

    fn name(&self) -> &'static str {
        match self.kind {
            AggregateKind::Count | AggregateKind::CountStar => "count",
            AggregateKind::Sum => "sum",
            AggregateKind::Total => "total",
            AggregateKind::Avg => "avg",
            AggregateKind::Min => "min",
            AggregateKind::Max => "max",
            AggregateKind::GroupConcat => "group_concat",
        }
    }

    fn real_sum(&self) -> f64 {
        if !self.approx {
            self.isum as f64
        } else if self.rerr.is_finite() {
            self.rsum + self.rerr
        } else {
            self.rsum
        }
    }

    /// Switch from the integer sum to the compensated real sum.
    fn start_approx(&mut self) {
        self.approx = true;
        let i = self.isum;
        if !(-4503599627370495..=4503599627370495).contains(&i) {
            let small = i % 16384;
            (self.rsum, self.rerr) = ((i - small) as f64, small as f64);
        } else {
            (self.rsum, self.rerr) = (i as f64, 0.0);
        }
    }

    fn add_int(&mut self, i: i64) {
        if !(-4503599627370495..=4503599627370495).contains(&i) {
            let small = i % 16384;
            self.add((i - small) as f64);
            self.add(small as f64);
        } else {
            self.add(i as f64);
        }
    }

    /// One Kahan-Babuska-Neumaier step.
    fn add(&mut self, r: f64) {
        let s = self.rsum;
        let t = s + r;
        if fabs(s) > fabs(r) {
            self.rerr += (s - t) + r;
        } else {
            self.rerr += (r - t) + s;
        }
        self.rsum = t;
    }
}

#[cfg(test)]
mod tests {
    //! Differential tests: every call is also run by SQLite (rusqlite's bundled build) and the
    //! results must agree exactly (reals bit for bit, errors with the same message).

    use super::*;
    use rusqlite::types::{Value as Rv, ValueRef};

    fn to_rq(v: &Value) -> Rv {
        match v {
            Value::Null => Rv::Null,
            Value::Integer(i) => Rv::Integer(*i),
            Value::Real(r) => Rv::Real(*r),
            Value::Text(s) => Rv::Text(s.clone()),
            Value::Blob(b) => Rv::Blob(b.clone()),
        }
    }

    fn from_rq(v: ValueRef<'_>) -> Value {
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }

    fn message(e: rusqlite::Error) -> String {
        match e {
            rusqlite::Error::SqliteFailure(_, Some(m)) => m,
            rusqlite::Error::SqlInputError { msg, .. } => msg,
            e => e.to_string(),
        }
    }

    /// SQLite's value of the one-column, one-row query `sql` with `args` bound to ?1, ?2...
    fn sqlite(db: &rusqlite::Connection, sql: &str, args: &[Value]) -> Result<Value, String> {
        let mut st = db.prepare_cached(sql).map_err(message)?;
        let params = rusqlite::params_from_iter(args.iter().map(to_rq));
        st.query_row(params, |r| Ok(from_rq(r.get_ref(0)?))).map_err(message)
    }

    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Real(x), Value::Real(y)) => x.to_bits() == y.to_bits(),
            (Value::Integer(x), Value::Integer(y)) => x == y,
            (Value::Text(x), Value::Text(y)) => x == y,
            (Value::Blob(x), Value::Blob(y)) => x == y,
            (Value::Null, Value::Null) => true,
            _ => false,
        }
    }

    /// Compare ours with SQLite's; push a description of any difference.
    fn compare(what: &str, ours: Result<Value>, theirs: Result<Value, String>, bad: &mut Vec<String>) {
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) if same(a, b) => {}
            (Err(Error::Sql(a)), Err(b)) if a == b => {}
            (Ok(Value::Text(a)), Ok(Value::Text(b))) => {
                // Show where long texts part ways.
                let (a, b) = (a.as_bytes(), b.as_bytes());
                let k = a.iter().zip(b).take_while(|(x, y)| x == y).count().saturating_sub(20);
                let (a, b) = (&a[k..a.len().min(k + 60)], &b[k..b.len().min(k + 60)]);
                let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
                bad.push(format!("{what}: from byte {k}: ours {a:?}, sqlite {b:?}"))
            }
            _ => bad.push(format!("{what}: ours {ours:?}, sqlite {theirs:?}")),
        }
    }

    struct Diff {
        db: rusqlite::Connection,
        bad: Vec<String>,
        count: usize,
    }

    impl Diff {
        fn new() -> Diff {
            Diff { db: rusqlite::Connection::open_in_memory().unwrap(), bad: Vec::new(), count: 0 }
        }

        /// `name(args)` through [`scalar`] and through SQLite with bound parameters.
        fn call(&mut self, name: &str, args: &[Value]) {
            let params: Vec<String> = (1..=args.len()).map(|i| format!("?{i}")).collect();
            let sql = format!("SELECT {name}({})", params.join(", "));
            let ours = scalar(name, args.len()).and_then(|f| f(args));
            self.count += 1;
            compare(&format!("{name}{args:?}"), ours, sqlite(&self.db, &sql, args), &mut self.bad);
        }

        /// A query with literal arguments (for functions that want constants).
        fn literal(&mut self, sql: &str, ours: Result<Value>) {
            self.count += 1;
            compare(sql, ours, sqlite(&self.db, sql, &[]), &mut self.bad);
        }

        fn finish(self) -> usize {
            let n = self.bad.len();
            for b in self.bad.iter().take(60) {
                std::eprintln!("{b}");
            }
            assert!(n == 0, "{n} of {} calls differ from SQLite", self.count);
            self.count
        }
    }

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn b(s: &[u8]) -> Value {
        Value::Blob(s.to_vec())
    }

    /// Values with tricky conversions. Reals are ones whose text form is the same with 15
    /// and 17 significant digits (value.rs renders 15, SQLite 3.54 up to 17).
    fn pool() -> Vec<Value> {
        let mut v = vec![Value::Null];
        v.extend([0, 1, -1, 2, 3, 7, -5, 100, i64::MAX, i64::MIN, i64::MIN + 1].map(Value::Integer));
        v.extend(
            [0.0, -0.0, 0.5, -2.5, 1.5, 2.675, 123.456, 1e20, -1e-7, 1e300, 9.2e18, -9.3e18, f64::INFINITY]
                .map(Value::Real),
        );
        v.push(Value::Real(f64::NEG_INFINITY));
        for s in [
            "",
            "abc",
            "ABC def",
            " 12 ",
            "12abc",
            "-3.5e2x",
            "1e3",
            "0x1F",
            "héllo wörld",
            "日本語",
            "a'b\"c",
            "a\tb\nc\\",
            "%_*?[]",
            "9223372036854775808",
            "  -0012  ",
            "a\0b",
            "  ",
            "xXxXabcxXxX",
            "ab",
        ] {
            v.push(t(s));
        }
        v.extend([b(b""), b(b"abc"), b(&[0, 0xff, 0x10]), b("héllo".as_bytes()), b(b"12")]);
        v
    }

    fn small_ints() -> Vec<Value> {
        let mut v: Vec<Value> = [-9, -3, -2, -1, 0, 1, 2, 3, 4, 9, i64::MAX, i64::MIN].map(Value::Integer).to_vec();
        v.extend([Value::Null, Value::Real(2.7), Value::Real(-1.5), t("2"), t("x"), t("2e1")]);
        v
    }

    #[test]
    fn scalars_match_sqlite() {
        let mut d = Diff::new();
        let p = pool();
        let one = [
            "abs",
            "char",
            "hex",
            "length",
            "lower",
            "upper",
            "ltrim",
            "rtrim",
            "trim",
            "octet_length",
            "quote",
            "typeof",
            "unicode",
            "unhex",
            "sign",
            "soundex",
            "zeroblob",
            "round",
            "likely",
            "unlikely",
            "unistr",
            "unistr_quote",
            "printf",
            "format",
            "concat",
            "coalesce",
            "substr",
            "iif",
            "random",
        ];
        for f in one {
            for x in &p {
                d.call(f, core::slice::from_ref(x));
            }
        }
        let two = [
            "instr",
            "substr",
            "substring",
            "round",
            "ltrim",
            "rtrim",
            "trim",
            "nullif",
            "ifnull",
            "coalesce",
            "min",
            "max",
            "like",
            "glob",
            "concat",
            "concat_ws",
            "unhex",
            "iif",
            "char",
            "replace",
        ];
        for f in two {
            for x in &p {
                for y in &p {
                    d.call(f, &[x.clone(), y.clone()]);
                }
            }
        }
        let short: Vec<Value> = p.iter().step_by(3).cloned().collect();
        for x in &p {
            for y in &small_ints() {
                for z in &small_ints() {
                    d.call("substr", &[x.clone(), y.clone(), z.clone()]);
                }
            }
            for y in &short {
                for z in &short {
                    for f in ["replace", "iif", "min", "max", "concat_ws", "concat", "coalesce"] {
                        d.call(f, &[x.clone(), y.clone(), z.clone()]);
                    }
                }
            }
        }
        for args in [
            vec![Value::Integer(0), t("a"), Value::Integer(1), t("b")],
            vec![Value::Integer(0), t("a"), Value::Integer(0), t("b"), t("c")],
            vec![t("0.5"), t("a"), Value::Null, t("b"), t("c")],
            vec![Value::Null, Value::Integer(1), Value::Integer(2), Value::Null, t("x")],
            vec![t("a"), t("b"), Value::Null, t("d"), b(b"e")],
        ] {
            for f in ["iif", "if", "coalesce", "concat", "concat_ws", "min", "max", "char"] {
                d.call(f, &args);
            }
        }
        std::eprintln!("{} scalar calls", d.finish());
    }

    #[test]
    fn substr_edges_match_sqlite() {
        let mut d = Diff::new();
        let ints = [-20, -10, -6, -5, -4, -1, 0, 1, 2, 5, 6, 7, 20, i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1];
        for x in [t("héllo"), t(""), b(b"hello"), b(b""), t("a\0bc"), Value::Integer(-12345)] {
            for &s in &ints {
                d.call("substr", &[x.clone(), Value::Integer(s)]);
                for &n in &ints {
                    d.call("substr", &[x.clone(), Value::Integer(s), Value::Integer(n)]);
                }
            }
        }
        d.finish();
    }

    /// Assorted reals: shortest forms, long fractions, ties, huge and tiny magnitudes.
    fn reals() -> Vec<f64> {
        let mut v = vec![
            0.0,
            -0.0,
            0.1,
            0.125,
            0.5,
            1.5,
            2.5,
            -2.5,
            0.05,
            0.15,
            0.25,
            0.35,
            1.005,
            2.675,
            1.0 / 3.0,
            2.0 / 3.0,
            49.47,
            100.0,
            1e15,
            1e16,
            1e17,
            123456789012345678.0,
            9007199254740993.0,
            4503599627370497.0,
            4503599627370495.5,
            1e-5,
            1.5e-7,
            1e-300,
            5e-324,
            2.2250738585072014e-308,
            1e300,
            1.7976931348623157e308,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.999999,
            9.9999999,
            99.5,
            999999.5,
            0.0005,
            0.00049999,
            1e21,
            1e22,
            -123.456,
            3.25159265358979,
            6.02214076e23,
            1.602176634e-19,
            0.3,
            0.7,
            0.9999999999999999,
            1e-10,
        ];
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for i in 0..150 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = (x >> 11) as f64 / (1u64 << 53) as f64;
            let e = (i % 40) - 20;
            v.push(m * libm_pow10(e) * if i % 3 == 0 { -1.0 } else { 1.0 });
        }
        v
    }

    fn libm_pow10(e: i32) -> f64 {
        format!("1e{e}").parse().unwrap()
    }

    #[test]
    fn printf_matches_sqlite() {
        let mut d = Diff::new();
        let formats = [
            "%d", "%5d", "%-5d|", "%05d", "%+d", "% d", "%,d", "%,12d", "%.3d", "%+.3d", "%08.3d", "%x", "%X", "%#x",
            "%#X", "%#o", "%o", "%u", "%p", "%#p", "%#010x", "%r", "%5r", "%.5r", "%c", "%5c|", "%-5c|", "%.3c",
            "%5.3c|", "%-5.3c|", "%!5c|", "%s", "%10s|", "%-10s|", "%.2s", "%!.2s", "%!10s|", "%!-10s|", "%q", "%Q",
            "%w", "%#q", "%#Q", "%.2q", "%.2Q", "%!.2Q", "%10Q|", "%j", "%J", "%10J|", "%-10j|", "%.2J", "%!8J|", "%f",
            "%.2f", "%10.3f", "%-10.3f|", "%010.3f", "%+.1f", "% .1f", "%#.0f", "%#.2f", "%,f", "%,.2f", "%,15.1f",
            "%e", "%.3e", "%E", "%#.0e", "%+e", "%012.3e", "%g", "%G", "%.3g", "%#g", "%#.3g", "%!g", "%!.15g",
            "%!.17g", "%!.20e", "%!.20f", "%.20f", "%.20e", "%!.30f", "%.0f", "%.0e", "%.0g", "%5%", "%%", "%n|", "%z",
            "%T", "%S", "%y", "%", "ab%", "%5", "%-", "%lld", "%ld", "%l", "%!0.17g", "%.30g", "%.40f", "%10.4g|",
            "%-+8.2e|", "%,d%", "a%sb%dc",
        ];
        let mut args: Vec<Value> = vec![Value::Null];
        args.extend([0, 1, -1, 42, 255, 1234567, 1000, 11, 12, 13, 101, 112, i64::MAX, i64::MIN].map(Value::Integer));
        args.extend([0.5, 2.5, -2.5, 0.125, 1e20, 1.5e-7, 123.456, -0.0, 1e100, 9.9999].map(Value::Real));
        args.extend([f64::INFINITY, f64::NEG_INFINITY].map(Value::Real));
        for s in ["", "abc", "héllo", "a'b\"c", "\t\\x\u{1}", "12.5xyz", "日本語テキスト"] {
            args.push(t(s));
        }
        args.push(b(b"abc"));
        for f in formats {
            for a in &args {
                d.call("printf", &[t(f), a.clone()]);
            }
            d.call("printf", &[t(f)]);
        }
        // Beyond 17 digits SQLite's digits come from a 96-bit approximation of the power of
        // ten; ours are exact. They can differ in the last place for huge magnitudes.
        for r in reals().into_iter().filter(|r| fabs(*r) < 1e100) {
            for f in ["%.3f", "%.15g", "%!.15g", "%!.17g", "%.2e", "%g", "%.16e", "%!.16e", "%.0f", "%!.20f", "%.20g"] {
                d.call("format", &[t(f), Value::Real(r)]);
            }
        }
        let star = [
            vec![t("%*d|"), Value::Integer(5), Value::Integer(42)],
            vec![t("%*d|"), Value::Integer(-5), Value::Integer(42)],
            vec![t("%-*d|"), Value::Integer(5), Value::Integer(42)],
            vec![t("%*d|"), Value::Integer(i32::MIN as i64), Value::Integer(42)],
            vec![t("%*d|"), Value::Integer(4294967301), Value::Integer(42)],
            vec![t("%.*f"), Value::Integer(3), Value::Real(1.23456)],
            vec![t("%.*f"), Value::Integer(-3), Value::Real(1.23456)],
            vec![t("%*.*f|"), Value::Integer(10), Value::Integer(2), Value::Real(3.25159)],
            vec![t("%.*s"), Value::Integer(2), t("abcdef")],
            vec![t("%s %s %s"), t("a"), Value::Integer(2)],
            vec![t("%d %s %f %c"), t("12"), Value::Real(1.5), t("x"), t("yz")],
            vec![Value::Integer(42)],
            vec![Value::Null, Value::Integer(1)],
        ];
        for a in &star {
            d.call("printf", a);
        }
        std::eprintln!("{} printf calls", d.finish());
    }

    #[test]
    fn reals_quote_and_round_match_sqlite() {
        let mut d = Diff::new();
        for r in reals() {
            let r = Value::Real(r);
            d.call("quote", core::slice::from_ref(&r));
            d.call("round", core::slice::from_ref(&r));
            for n in [1, 2, 3, 5, 10, 15, 20, 30, 31, -1] {
                d.call("round", &[r.clone(), Value::Integer(n)]);
            }
        }
        d.finish();
    }

    #[test]
    fn edge_cases_match_sqlite() {
        let mut d = Diff::new();
        let i = Value::Integer;
        for c in [0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff, 0x110000] {
            d.call("char", &[i(c), i(65)]);
            d.call("char", &[i(-c)]);
        }
        for s in [
            r"\\0041",
            r"\0041\u00e9\+01F600\U0001F600",
            r"\",
            r"\x",
            r"\004",
            r"\u12",
            r"\+12345",
            r"a\\b",
            r"\+10FFFF",
            "plain",
            r"é\u00e9é",
        ] {
            d.call("unistr", &[t(s)]);
        }
        for (h, pass) in
            [("ABCD", ""), ("AB CD", " "), ("A BCD", " "), ("ab-cd", "-"), ("abc", ""), ("éAB", "é"), ("0g", "")]
        {
            d.call("unhex", &[t(h)]);
            d.call("unhex", &[t(h), t(pass)]);
        }
        for (x, set) in
            [("héllo", "hé"), ("ééaéé", "é"), ("xyzzy", "zyx"), ("  a  ", ""), ("日本語日", "日"), ("abc", "\0b")]
        {
            for f in ["trim", "ltrim", "rtrim"] {
                d.call(f, &[t(x), t(set)]);
            }
        }
        // SQLite writes surrogates and code points past U+10FFFF as invalid UTF-8; a Rust
        // string cannot hold that, so they become U+FFFD.
        assert_eq!(char_fn(&[i(0xd800), i(0x110000)]).unwrap(), t("\u{fffd}\u{fffd}"));
        assert_eq!(unistr(&[t(r"\uD800\U00110000")]).unwrap(), t("\u{fffd}\u{fffd}"));
        let formats = [
            "%!c",
            "%#c",
            "%,x",
            "%+u",
            "%+x",
            "% x",
            "%#d",
            "%-08d|",
            "%.0d",
            "%#.3o",
            "%5.2%|",
            "%-5%|",
            "%!.3s",
            "%.3w",
            "%.1w",
            "%!.2w",
            "%99999d",
            "%.99999d",
            "%-+ 0#,!12.4f|",
            "%0+8d",
            "%0-8d|",
            "%,.0f",
            "%,g",
            "%#x%#X%#o",
            "%.2c",
            "%!.2c",
            "%5.0c|",
            "%lx",
            "%llx",
            "%lf",
            "%l5d",
            "%5ld",
            "%-*s|",
            "%.*%",
            "%*%",
            "%0*d",
            "%#!.3g",
            "%!#.0g",
            "%!.0e",
            "%#.0e",
            "%!0.17g",
            "%!017.17g",
        ];
        for f in formats {
            for a in [
                i(0),
                i(-7),
                i(255),
                Value::Real(-0.0),
                Value::Real(0.5),
                Value::Real(1e-5),
                t("é"),
                t(""),
                Value::Null,
            ] {
                d.call("printf", &[t(f), a.clone(), a.clone()]);
            }
        }
        for a in [Value::Real(f64::INFINITY), Value::Real(f64::NEG_INFINITY)] {
            for f in ["%05f", "%+f", "% e", "%010g|", "%!0.17g", "%-10f|", "%d", "%x", "%s"] {
                d.call("printf", &[t(f), a.clone()]);
            }
        }
        for (h, n) in [
            (t("héllo"), t("l")),
            (t("日本語"), t("語")),
            (b(b"hello"), t("l")),
            (t("hello"), b(b"l")),
            (t("a\0b"), t("b")),
        ] {
            d.call("instr", &[h, n]);
        }
        d.call("replace", &[t("a\0b"), t("\0"), t("x")]);
        d.call("replace", &[t("aaa"), t("a"), Value::Null]);
        d.call("replace", &[t("aaa"), t(""), Value::Null]);
        for x in [t("a\0b"), b(b"a\0b"), t("\0ab")] {
            for f in ["length", "octet_length", "upper", "hex", "quote", "unicode", "soundex", "typeof", "lower"] {
                d.call(f, core::slice::from_ref(&x));
            }
            d.call("substr", &[x.clone(), i(2)]);
            d.call("like", &[t("a%"), x.clone()]);
            d.call("glob", &[t("a*b"), x.clone()]);
            d.call("printf", &[t("[%s|%q|%c|%j]"), x.clone(), x.clone(), x.clone(), x.clone()]);
        }
        for x in ["Robert", "Rupert", "Tymczak", "Pfister", "Ashcraft", "A", "", "123", "éclair", "Ｒobert", "Lloyd"]
        {
            d.call("soundex", &[t(x)]);
        }
        for x in [r"a\u0001b", r"tab\u0009here", r"back\\slash", "q'uote"] {
            let x = unistr(&[t(x)]).unwrap();
            d.call("quote", core::slice::from_ref(&x));
            d.call("unistr_quote", core::slice::from_ref(&x));
            for f in ["%#q", "%#Q", "%#w", "%J", "%!.3Q"] {
                d.call("printf", &[t(f), x.clone()]);
            }
        }
        d.finish();
    }

    /// A small deterministic generator for the fuzz tests.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
        fn string(&mut self, alphabet: &[&str], max: usize) -> String {
            (0..self.below(max + 1)).map(|_| alphabet[self.below(alphabet.len())]).collect()
        }
    }

    #[test]
    fn fuzzed_printf_and_patterns_match_sqlite() {
        let mut d = Diff::new();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let spec = ["-", "+", " ", "#", "!", "0", ",", "1", "2", "9", "12", ".", ".", "*", "l", "ll"];
        let conv = [
            "d", "i", "u", "x", "X", "o", "p", "r", "c", "s", "z", "q", "Q", "w", "j", "J", "f", "e", "E", "g", "G",
            "n", "%", "T", "y", "",
        ];
        let mut args: Vec<Value> = [0, 1, -1, 7, 42, -300, 4321, i64::MIN, 3].map(Value::Integer).to_vec();
        args.extend([0.5, -2.5, 1e-7, 123.456, 1e20, -0.0].map(Value::Real));
        args.extend([t(""), t("é"), t("a'b"), t("x\u{1}\\y"), t("12.5"), Value::Null, b(b"ab")]);
        let mut calls = 0;
        while calls < 20000 {
            let mut f = String::new();
            for _ in 0..1 + rng.below(3) {
                f.push_str(&rng.string(&["a", "é", " "], 2));
                f.push('%');
                f.push_str(&rng.string(&spec, 4));
                f.push_str(conv[rng.below(conv.len())]);
            }
            // Widths and precisions stay below the cap, where SQLite and we agree.
            if f.split(|c: char| !c.is_ascii_digit()).any(|run| run.len() > 4) {
                continue;
            }
            calls += 1;
            let mut call = vec![t(&f)];
            for _ in 0..rng.below(5) {
                call.push(args[rng.below(args.len())].clone());
            }
            d.call("printf", &call);
        }
        let pat = ["a", "b", "A", "%", "_", "*", "?", "[", "]", "^", "-", "\\", "é", "É", "!"];
        let txt = ["a", "b", "A", "B", "%", "_", "-", "]", "é", "\\", "!"];
        for _ in 0..20000 {
            let (p, s) = (t(&rng.string(&pat, 7)), t(&rng.string(&txt, 7)));
            d.call("like", &[p.clone(), s.clone()]);
            d.call("like", &[p.clone(), s.clone(), t(pat[rng.below(pat.len())])]);
            d.call("glob", &[p, s]);
        }
        let chars = ["a", "B", " ", "é", "日", "\0", "'", "%", "1", "-", ".", "e", "x", "\\", "\u{1}", "+"];
        let value = |rng: &mut Rng| match rng.below(6) {
            0 => Value::Null,
            1 => Value::Integer([0, 1, -1, 2, -3, 5, 64, i64::MAX, i64::MIN][rng.below(9)]),
            2 => Value::Real([0.5, -1.5, 2.25, 1e10, -0.0, 3.0, 1e-3][rng.below(7)]),
            3 => b(rng.string(&chars, 4).as_bytes()),
            _ => t(&rng.string(&chars, 6)),
        };
        let funcs: [(&str, usize); 22] = [
            ("substr", 3),
            ("substr", 2),
            ("instr", 2),
            ("trim", 2),
            ("ltrim", 2),
            ("rtrim", 2),
            ("replace", 3),
            ("round", 2),
            ("abs", 1),
            ("sign", 1),
            ("hex", 1),
            ("unhex", 2),
            ("quote", 1),
            ("length", 1),
            ("char", 3),
            ("unicode", 1),
            ("upper", 1),
            ("concat_ws", 3),
            ("nullif", 2),
            ("iif", 3),
            ("max", 3),
            ("min", 2),
        ];
        for _ in 0..20000 {
            let (f, n) = funcs[rng.below(funcs.len())];
            let call: Vec<Value> = (0..n).map(|_| value(&mut rng)).collect();
            d.call(f, &call);
        }
        std::eprintln!("{} fuzzed calls", d.finish());
    }

    #[test]
    fn like_and_glob_match_sqlite() {
        let mut d = Diff::new();
        let patterns = [
            "", "%", "_", "a%", "%a", "%a%", "a_c", "A%C", "%b%c%", "abc", "ABC", "_%_", "%%%", "a\\%", "a\\_c", "\\",
            "%\\", "é%", "É%", "%é", "[a-c]*", "*[a-c]", "[^a]*", "[]]*", "[a-]*", "[-a]*", "*[", "[", "[^]", "[]",
            "?*?", "*?*", "a*b*c", "*.txt", "[!a]*", "a[bc]d", "[z-a]*", "*", "?", "a?c", "A*", "[a-c-e]", "%a%a%a%b",
            "*a*a*a*b", "_\\%", "%\\%%", "[^]]", "x%y%", "\\\\%", "%_%_%",
        ];
        let texts = [
            "",
            "a",
            "abc",
            "ABC",
            "aXc",
            "a%c",
            "a_c",
            "abcabc",
            "é",
            "É",
            "]",
            "-",
            "xyz.txt",
            "a\\b",
            "bca",
            "acb",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            "abd",
            "acd",
            "d",
            "!",
            "%",
            "x\0y",
            "a\\",
            "%a",
            "xay",
        ];
        for p in patterns {
            for s in texts {
                d.call("like", &[t(p), t(s)]);
                d.call("glob", &[t(p), t(s)]);
                for e in ["\\", "%", "_", "a", "é", "x"] {
                    d.call("like", &[t(p), t(s), t(e)]);
                }
            }
        }
        for e in [t(""), t("ab"), Value::Null, Value::Integer(1), Value::Integer(12)] {
            d.call("like", &[t("a%"), t("abc"), e]);
        }
        let long = "%".repeat(MAX_PATTERN_LENGTH + 1);
        d.call("like", &[t(&long), t("abc")]);
        d.call("glob", &[t(&long[1..]), t("abc")]);
        assert!(like("a%", "ABC", None) && !like("a%", "xbc", None) && like("a!%", "a%", Some('!')));
        assert!(glob("[a-c]*", "cat") && !glob("[a-c]*", "dog") && !glob("A*", "abc"));
        std::eprintln!("{} like/glob calls", d.finish());
    }

    #[test]
    fn lookups_match_sqlite() {
        let mut d = Diff::new();
        for (name, argc) in [
            ("foo", 1),
            ("substr", 1),
            ("substr", 4),
            ("abs", 0),
            ("abs", 2),
            ("coalesce", 1),
            ("concat", 0),
            ("concat_ws", 1),
            ("iif", 1),
            ("min", 0),
            ("char", 0),
            ("printf", 0),
            ("random", 1),
            ("replace", 2),
            ("round", 3),
            ("like", 4),
            ("unhex", 3),
        ] {
            let args = vec![Value::Integer(1); argc];
            d.call(name, &args);
        }
        d.literal("SELECT likelihood(1, 0.5)", scalar("likelihood", 2).and_then(|f| f(&[1.into(), 0.5.into()])));
        d.literal("SELECT likelihood(1, 1)", scalar("likelihood", 2).and_then(|f| f(&[1.into(), 1.into()])));
        d.literal("SELECT likelihood(1, 1.5)", scalar("likelihood", 2).and_then(|f| f(&[1.into(), 1.5.into()])));
        d.finish();
        assert!(matches!(scalar("sum", 1), Err(Error::Sql(m)) if m == "misuse of aggregate function sum()"));
        assert!(matches!(scalar("max", 1), Err(Error::Sql(m)) if m == "misuse of aggregate function max()"));
        assert!(matches!(scalar("sum", 2), Err(Error::Sql(m)) if m == "wrong number of arguments to function sum()"));
        assert_eq!(aggregate("count", 0, true).unwrap(), Some(AggregateKind::CountStar));
        assert_eq!(aggregate("count", 0, false).unwrap(), Some(AggregateKind::CountStar));
        assert_eq!(aggregate("count", 1, false).unwrap(), Some(AggregateKind::Count));
        assert_eq!(aggregate("max", 1, false).unwrap(), Some(AggregateKind::Max));
        assert_eq!(aggregate("max", 2, false).unwrap(), None);
        assert_eq!(aggregate("string_agg", 2, false).unwrap(), Some(AggregateKind::GroupConcat));
        assert_eq!(aggregate("abs", 1, false).unwrap(), None);
        assert!(aggregate("sum", 1, true).is_err() && aggregate("string_agg", 1, false).is_err());
        assert!(aggregate("group_concat", 3, false).is_err() && aggregate("min", 0, false).is_err());
    }

    #[test]
    fn random_functions_are_random() {
        let r = scalar("random", 0).unwrap();
        let (a, b) = (r(&[]).unwrap(), r(&[]).unwrap());
        assert!(matches!((&a, &b), (Value::Integer(x), Value::Integer(y)) if x != y));
        let rb = scalar("randomblob", 1).unwrap();
        for (n, len) in [(0, 1), (-5, 1), (1, 1), (16, 16), (33, 33)] {
            assert!(matches!(rb(&[Value::Integer(n)]).unwrap(), Value::Blob(v) if v.len() == len));
        }
        assert!(rb(&[Value::Integer(i64::MAX)]).is_err());
        assert!(scalar("zeroblob", 1).unwrap()(&[Value::Integer(2_000_000_000)]).is_err());
        let long = scalar("printf", 2).unwrap()(&[t("%2000000000d"), Value::Integer(1)]).unwrap();
        assert!(matches!(long, Value::Text(s) if s.len() == PRINTF_LIMIT as usize));
    }

    /// Rows for aggregate tests; each list is one group.
    fn groups() -> Vec<Vec<Value>> {
        let i = Value::Integer;
        let r = Value::Real;
        vec![
            vec![],
            vec![Value::Null],
            vec![Value::Null, Value::Null],
            vec![i(1), i(2), i(3)],
            vec![i(1), r(2.5), Value::Null],
            vec![i(i64::MAX), i(1)],
            vec![i(i64::MAX), i(1), i(-1)],
            vec![i(i64::MAX), i(1), r(0.5)],
            vec![i(i64::MIN), i(-1), r(0.5), i(3)],
            vec![i(i64::MAX), i(i64::MAX), i(i64::MIN), i(i64::MIN)],
            vec![t("12"), t("3abc"), b(b"12"), t(" 4 "), t("1e2"), t("x")],
            vec![t("12"), t("3")],
            vec![r(1e308), r(1e308), r(-1e308)],
            vec![r(f64::INFINITY), r(f64::NEG_INFINITY)],
            vec![r(f64::INFINITY), i(1)],
            vec![r(0.1); 10],
            vec![r(1e20), r(1.0), r(-1e20)],
            vec![i(9007199254740993), i(4503599627370497), r(0.5), i(-9007199254740993)],
            vec![t("b"), t("a"), i(3), r(2.5), b(b"z"), Value::Null, t(""), i(3), r(3.0)],
            vec![t(""), t("")],
            vec![i(1), r(1.0), i(1), t("1"), b(b"1")],
            vec![t("héllo"), t("wörld"), t("héllo")],
        ]
    }

    #[test]
    fn aggregates_match_sqlite() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let mut bad = Vec::new();
        let mut n = 0;
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let mut groups = groups();
        let pick: Vec<Value> = vec![
            Value::Null,
            Value::Integer(i64::MAX / 3),
            Value::Integer(-(i64::MAX / 2)),
            Value::Integer(4503599627370497),
            Value::Integer(7),
            Value::Integer(-1),
            Value::Real(0.1),
            Value::Real(-1e17),
            Value::Real(3.5e17),
            Value::Real(1e-3),
            t("5"),
            t("2.5"),
            t("-7x"),
            b(b"9"),
        ];
        for _ in 0..300 {
            let len = rng.below(8);
            groups.push((0..len).map(|_| pick[rng.below(pick.len())].clone()).collect());
        }
        let seps = [t("-"), Value::Null, Value::Integer(7), t("")];
        let kinds = [
            ("count(x)", AggregateKind::Count, 1),
            ("count(*)", AggregateKind::CountStar, 0),
            ("sum(x)", AggregateKind::Sum, 1),
            ("total(x)", AggregateKind::Total, 1),
            ("avg(x)", AggregateKind::Avg, 1),
            ("min(x)", AggregateKind::Min, 1),
            ("max(x)", AggregateKind::Max, 1),
            ("group_concat(x)", AggregateKind::GroupConcat, 1),
            ("group_concat(x, s)", AggregateKind::GroupConcat, 2),
            ("string_agg(x, s)", AggregateKind::GroupConcat, 2),
        ];
        for rows in groups {
            db.execute_batch("DROP TABLE IF EXISTS t; CREATE TABLE t(x, s)").unwrap();
            for (k, v) in rows.iter().enumerate() {
                let sep = &seps[k % seps.len()];
                db.execute("INSERT INTO t VALUES (?1, ?2)", [to_rq(v), to_rq(sep)]).unwrap();
            }
            for (expr, kind, argc) in kinds {
                for distinct in [false, true] {
                    if distinct && argc != 1 {
                        continue;
                    }
                    let e = if distinct { expr.replacen('(', "(DISTINCT ", 1) } else { expr.into() };
                    let sql = format!("SELECT {e} FROM t");
                    let mut acc = Accumulator::new(kind, distinct);
                    let ours = rows
                        .iter()
                        .enumerate()
                        .try_for_each(|(k, v)| match argc {
                            0 => acc.step(&[]),
                            1 => acc.step(core::slice::from_ref(v)),
                            _ => acc.step(&[v.clone(), seps[k % seps.len()].clone()]),
                        })
                        .and_then(|()| acc.finish());
                    n += 1;
                    compare(&format!("{sql} over {rows:?}"), ours, sqlite(&db, &sql, &[]), &mut bad);
                }
            }
        }
        // DISTINCT with two arguments is an error, as in SQLite.
        let mut acc = Accumulator::new(AggregateKind::GroupConcat, true);
        assert!(acc.step(&[t("a"), t(",")]).is_err());
        for b in &bad {
            std::eprintln!("{b}");
        }
        assert!(bad.is_empty(), "{} of {n} aggregates differ from SQLite", bad.len());
    }
}
