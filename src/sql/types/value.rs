//! SQL values and SQLite's rules for them: storage classes, comparison, affinity, and the
//! conversions between numbers and text.
//!
//! A [`Value`] is one of SQLite's five storage classes. Comparison follows SQLite: NULL is
//! unknown to `=`/`<` (see [`Value::sql_cmp`]) but sorts first in ORDER BY, GROUP BY and
//! DISTINCT ([`Value::total_cmp`]); INTEGER and REAL compare numerically with each other;
//! every number sorts before every TEXT, and TEXT before every BLOB. Text compares with the
//! BINARY collation (memcmp of UTF-8) unless a collation says otherwise.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cmp::Ordering;

pub use super::text::Text;

/// The values of one row, in column order: what operators pass along and what records
/// decode to. (The public [`Row`](crate::sql::Row) wraps one with its column names.)
pub type Tuple = alloc::vec::Vec<Value>;

/// A SQL value.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// NULL.
    #[default]
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// An IEEE-754 double. NaN never appears: arithmetic producing NaN yields NULL.
    Real(f64),
    /// Text: UTF-8, unless SQL built it from a blob (see [`Text`]).
    Text(Text),
    /// Bytes.
    Blob(Vec<u8>),
}

/// Column affinity, from the declared type by SQLite's rules (section 3.1 of "Datatypes In
/// SQLite").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Affinity {
    /// Declared type contains "INT".
    Integer,
    /// Contains "CHAR", "CLOB" or "TEXT".
    Text,
    /// Contains "BLOB" or no type: values are stored as given.
    Blob,
    /// Contains "REAL", "FLOA" or "DOUB".
    Real,
    /// Anything else (NUMERIC, DECIMAL, BOOLEAN, DATE ...).
    Numeric,
}

impl Affinity {
    /// The affinity of a declared column type.
    pub fn of_type(type_name: Option<&str>) -> Affinity {
        let Some(t) = type_name else { return Affinity::Blob };
        let t = t.to_ascii_uppercase();
        if t.contains("INT") {
            Affinity::Integer
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            Affinity::Text
        } else if t.contains("BLOB") || t.is_empty() {
            Affinity::Blob
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }

    /// Whether this is a numeric affinity (INTEGER, REAL, NUMERIC).
    pub fn is_numeric(self) -> bool {
        matches!(self, Affinity::Integer | Affinity::Real | Affinity::Numeric)
    }

    /// Apply this affinity to a value being stored (or compared), as SQLite does.
    pub fn apply(self, v: Value) -> Value {
        match self {
            Affinity::Blob => v,
            Affinity::Text => match v {
                Value::Integer(_) | Value::Real(_) => Value::Text(v.to_text()),
                other => other,
            },
            Affinity::Integer | Affinity::Numeric => match v {
                Value::Text(ref s) => match parse_number(before_nul(s.as_bytes())) {
                    Some(Value::Real(r)) => real_to_int_under_affinity(r),
                    Some(n) => n,
                    None => v,
                },
                Value::Real(r) => real_to_int_under_affinity(r),
                other => other,
            },
            Affinity::Real => match v {
                Value::Text(ref s) => match parse_number(before_nul(s.as_bytes())) {
                    Some(Value::Integer(i)) => Value::Real(i as f64),
                    Some(n) => n,
                    None => v,
                },
                Value::Integer(i) => Value::Real(i as f64),
                other => other,
            },
        }
    }
}

/// 2^63 as an f64: reals in `-TWO_63..TWO_63` convert to i64 exactly (when integral).
pub const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// `f64::trunc` without `std` (which `no_std` lacks): toward zero.
pub fn trunc(r: f64) -> f64 {
    if !r.is_finite() || r.abs() >= 4503599627370496.0 {
        r // already integral (or not a number)
    } else {
        let t = r as i64 as f64;
        if t == 0.0 && r.is_sign_negative() {
            -0.0
        } else {
            t
        }
    }
}

/// `f64::fract` without `std`.
pub fn fract(r: f64) -> f64 {
    r - trunc(r)
}

/// `f64::floor` without `std`.
pub fn floor(r: f64) -> f64 {
    let t = trunc(r);
    if t > r {
        t - 1.0
    } else {
        t
    }
}

/// `f64::ceil` without `std`.
pub fn ceil(r: f64) -> f64 {
    let t = trunc(r);
    if t < r {
        t + 1.0
    } else {
        t
    }
}

/// Text up to its first NUL: SQLite's conversions read a C string, so a NUL ends the text.
pub fn before_nul(s: &[u8]) -> &[u8] {
    match s.iter().position(|&c| c == 0) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// A real under INTEGER or NUMERIC affinity (`sqlite3VdbeIntegerAffinity`): an integer when
/// exactly integral and strictly inside the i64 range (so -2^63 stays REAL).
fn real_to_int_under_affinity(r: f64) -> Value {
    if fract(r) == 0.0 && r > -TWO_63 && r < TWO_63 {
        Value::Integer(r as i64)
    } else {
        Value::Real(r)
    }
}

/// Whether a real converts to the integer `i` without loss under `CAST(.. AS NUMERIC)`
/// (`sqlite3RealSameAsInt`): zero, or equal and within ±2^51.
pub fn real_same_as_int(r: f64, i: i64) -> bool {
    r == 0.0 || (r == i as f64 && (-(1i64 << 51)..(1i64 << 51)).contains(&i))
}

fn real_to_int_if_exact(r: f64) -> Value {
    if fract(r) == 0.0 && (-TWO_63..TWO_63).contains(&r) {
        Value::Integer(r as i64)
    } else {
        Value::Real(r)
    }
}

impl Value {
    /// SQLite's `typeof()` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Integer(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
        }
    }

    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A REAL from an f64, NULL for NaN (SQLite never stores NaN).
    pub fn real(r: f64) -> Value {
        if r.is_nan() {
            Value::Null
        } else {
            Value::Real(r)
        }
    }

    fn class_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) => 1,
            Value::Text(_) => 2,
            Value::Blob(_) => 3,
        }
    }

    /// Total order used by ORDER BY, GROUP BY, DISTINCT and indexes: NULL < numbers < text <
    /// blob; numbers compare numerically across INTEGER and REAL; text and blob by bytes.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Integer(a), Value::Integer(b)) => a.cmp(b),
            (Value::Real(a), Value::Real(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (Value::Integer(a), Value::Real(b)) => cmp_int_real(*a, *b),
            (Value::Real(a), Value::Integer(b)) => cmp_int_real(*b, *a).reverse(),
            (Value::Text(a), Value::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Value::Blob(a), Value::Blob(b)) => a.cmp(b),
            _ => self.class_rank().cmp(&other.class_rank()),
        }
    }

    /// Comparison as seen by `=`, `<` and friends: `None` when either side is NULL.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        if self.is_null() || other.is_null() {
            None
        } else {
            Some(self.total_cmp(other))
        }
    }

    /// The value as text, as SQLite renders it (`CAST(x AS TEXT)`, `||`): a blob's bytes
    /// become text unchanged, UTF-8 or not.
    pub fn to_text(&self) -> Text {
        match self {
            Value::Null => Text::new(),
            Value::Integer(i) => i.to_string().into(),
            Value::Real(r) => format_real(*r).into(),
            Value::Text(s) => s.clone(),
            Value::Blob(b) => Text::from_bytes(b.clone()),
        }
    }

    /// The bytes of [`Value::to_text`], borrowed from text and blobs (NULL: empty).
    pub fn text_bytes(&self) -> alloc::borrow::Cow<'_, [u8]> {
        match self {
            Value::Text(s) => alloc::borrow::Cow::Borrowed(s.as_bytes()),
            Value::Blob(b) => alloc::borrow::Cow::Borrowed(b),
            other => alloc::borrow::Cow::Owned(other.to_text().into_bytes()),
        }
    }

    /// The value as an f64 (`CAST(x AS REAL)` rules: text uses its longest numeric prefix).
    pub fn to_f64(&self) -> f64 {
        match self {
            Value::Null => 0.0,
            Value::Integer(i) => *i as f64,
            Value::Real(r) => *r,
            Value::Text(s) => match parse_numeric_prefix(s.as_bytes()) {
                Value::Integer(i) => i as f64,
                Value::Real(r) => r,
                _ => 0.0,
            },
            Value::Blob(b) => match parse_numeric_prefix(b) {
                Value::Integer(i) => i as f64,
                Value::Real(r) => r,
                _ => 0.0,
            },
        }
    }

    /// The value as an i64 (`CAST(x AS INTEGER)` rules: reals truncate toward zero and
    /// saturate; text uses its longest numeric prefix).
    pub fn to_i64(&self) -> i64 {
        match self {
            Value::Null => 0,
            Value::Integer(i) => *i,
            Value::Real(r) => real_to_i64(*r),
            Value::Text(s) => prefix_to_i64(s.as_bytes()),
            Value::Blob(b) => prefix_to_i64(b),
        }
    }

    /// The value converted for arithmetic: numbers stay, text and blobs use their numeric
    /// prefix (integer when it is one), NULL stays NULL.
    ///
    /// Text holding a NUL is read up to the NUL; when that part is a whole number, SQLite
    /// gives it as a REAL (`'7' || char(0) + 1` is 8.0).
    pub fn to_numeric(&self) -> Value {
        let bytes = match self {
            Value::Null => return Value::Null,
            Value::Integer(_) | Value::Real(_) => return self.clone(),
            Value::Text(s) => s.as_bytes(),
            Value::Blob(b) => b.as_slice(),
        };
        if let Some(nul) = bytes.iter().position(|&c| c == 0) {
            let whole = parse_number(&bytes[..nul]);
            if let Some(n) = whole {
                return Value::Real(n.to_f64());
            }
        }
        parse_numeric_prefix(bytes)
    }

    /// Truthiness as in `WHERE`: NULL is unknown (None), numbers are true when non-zero,
    /// text and blobs by their numeric prefix.
    pub fn truthy(&self) -> Option<bool> {
        match self {
            Value::Null => None,
            Value::Integer(i) => Some(*i != 0),
            Value::Real(r) => Some(*r != 0.0),
            other => Some(other.to_f64() != 0.0),
        }
    }
}

/// The integer prefix of text as `CAST(x AS INTEGER)` reads it: optional whitespace and sign,
/// then digits only (so `'1e3'` is 1), saturating at the i64 range.
fn prefix_to_i64(b: &[u8]) -> i64 {
    let mut i = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let neg = b.get(i) == Some(&b'-');
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let mut v: i128 = 0;
    while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
        v = (v * 10 + (d - b'0') as i128).min(1 << 64);
        i += 1;
    }
    let v = if neg { -v } else { v };
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// f64 → i64 the way SQLite casts: truncation toward zero, saturating at the i64 range.
pub fn real_to_i64(r: f64) -> i64 {
    if r.is_nan() {
        0
    } else if r >= TWO_63 {
        i64::MAX
    } else if r <= -TWO_63 {
        i64::MIN
    } else {
        r as i64
    }
}

/// Compare an integer with a real exactly (no rounding of large integers).
pub fn cmp_int_real(i: i64, r: f64) -> Ordering {
    if r.is_nan() {
        return Ordering::Greater;
    }
    if r >= TWO_63 {
        return Ordering::Less;
    }
    if r < -TWO_63 {
        return Ordering::Greater;
    }
    let t = trunc(r) as i64; // exact: |r| < 2^63
    match i.cmp(&t) {
        Ordering::Equal => {
            let frac = r - trunc(r);
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    }
}

impl PartialEq for Value {
    /// Equality in the [`Value::total_cmp`] sense (NULL equals NULL, 1 equals 1.0).
    fn eq(&self, other: &Value) -> bool {
        self.total_cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Value) -> Ordering {
        self.total_cmp(other)
    }
}

impl core::hash::Hash for Value {
    /// Consistent with `Eq`: integral reals hash like the equal integer.
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        match self {
            Value::Null => 0u8.hash(state),
            Value::Integer(i) => {
                1u8.hash(state);
                i.hash(state)
            }
            Value::Real(r) => match real_to_int_if_exact(*r) {
                Value::Integer(i) => {
                    1u8.hash(state);
                    i.hash(state)
                }
                _ => {
                    1u8.hash(state);
                    r.to_bits().hash(state)
                }
            },
            Value::Text(s) => {
                2u8.hash(state);
                s.hash(state)
            }
            Value::Blob(b) => {
                3u8.hash(state);
                b.hash(state)
            }
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Integer(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Integer(v as i64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.into())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v.into())
    }
}
impl From<Text> for Value {
    fn from(v: Text) -> Value {
        Value::Text(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Blob(v.into())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Blob(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Integer(v as i64)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl core::fmt::Display for Value {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            other => core::fmt::Display::fmt(&other.to_text(), f),
        }
    }
}

/// Render a REAL as SQLite (3.54, `%!.17g`) does: 17 significant digits, shortened when the
/// 16th and 15th digits are 9s (or the 14th-16th are 0s) and the shorter text reads back as the
/// same double; always with a decimal point or an exponent (used below 1e-4 and from 1e17),
/// e.g. `1.0`, `0.1`, `0.66666666666666663`, `10000000000.502501`, `1.0e+20`, `-2.5e-07`.
pub fn format_real(r: f64) -> String {
    if r.is_nan() {
        return "NaN".into();
    }
    if r.is_infinite() {
        return if r > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if r == 0.0 {
        return "0.0".into();
    }
    let neg = r < 0.0;
    let (digits, exp) = real_digits(if neg { -r } else { r });
    let digits = digits.as_str();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4..17).contains(&exp) {
        out.push_str(digits.get(..1).unwrap_or_default());
        out.push('.');
        if digits.len() > 1 {
            out.push_str(digits.get(1..).unwrap_or_default());
        } else {
            out.push('0');
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(digits.get(..int_len).unwrap_or_default());
            out.push('.');
            out.push_str(digits.get(int_len..).unwrap_or_default());
        }
    }
    out
}

/// The significant digits (no trailing zeros) and the decimal exponent of a positive finite
/// double as SQLite's `sqlite3FpDecode(r, 17, 20)` produces them: 18 or 19 digits of
/// `r * 10^p` from `sqlite3Fp2Convert10` (ported bit for bit: its 96-bit powers of ten are
/// not exact far from 1), then the shortening rules of `%!.17g`, then rounding half up.
fn real_digits(r: f64) -> (String, i32) {
    let bits = r.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let mut m = bits & 0x000f_ffff_ffff_ffff;
    let e = if biased == 0 {
        let nn = m.leading_zeros() as i32;
        m <<= nn;
        -1074 - nn
    } else {
        m = (m << 11) | (1 << 63);
        biased - 1086
    };
    // sqlite3Fp2Convert10(m, e, 18).
    let p = 18 - 1 - (((e + 63) * 78913) >> 18);
    let (pow, _) = power_of_ten(p);
    let h = ((u128::from(m) * u128::from(pow)) >> 64) as u64;
    let h = h >> -(e + ((p * 108853) >> 15) + 2);
    let d = (h + ((h << 1) & 2)) >> 1;
    let mut z: Vec<u8> = d.to_string().into_bytes();
    let mut idp = z.len() as i32 - p; // value = 0.z * 10^idp
    let n = z.len();
    let reads_back = |v2: u64, scale: i32| crate::sql::types::float::parse_f64(&format!("{v2}e{scale}")) == Some(r);
    let mut keep = 17usize;
    if n > 17 {
        let at = |i: usize| z.get(i).copied().unwrap_or(b'0');
        if at(15) == b'9' && at(14) == b'9' {
            let mut jj = 14;
            while jj > 0 && z[jj - 1] == b'9' {
                jj -= 1;
            }
            let v2 = if jj == 0 { 1 } else { z[..jj].iter().fold(0u64, |a, d| a * 10 + u64::from(d - b'0')) + 1 };
            if reads_back(v2, idp - jj as i32) {
                keep = jj + 1;
            }
        } else if idp >= n as i32 || (at(13) == b'0' && at(14) == b'0' && at(15) == b'0') {
            let mut jj = 13;
            while z[jj - 1] == b'0' {
                jj -= 1;
            }
            let v2 = z[..jj].iter().fold(0u64, |a, d| a * 10 + u64::from(d - b'0'));
            if reads_back(v2, idp - jj as i32) {
                keep = jj + 1;
            }
        }
    }
    if n > keep {
        let round_up = z[keep] >= b'5';
        z.truncate(keep);
        if round_up && crate::sql::types::float::round_up_digits(&mut z) {
            z.insert(0, b'1');
            idp += 1;
        }
    }
    while z.len() > 1 && z.last() == Some(&b'0') {
        z.pop();
    }
    (String::from_utf8(z).unwrap_or_default(), idp - 1)
}

// SQLite's (3.54) powers of ten for double<->decimal conversion (`powerOfTen` in util.c,
// tables from tool/mkfptab.c): the top 64 bits of 10^p, and the next 32.
const POW10_BASE: [u64; 27] = [
    0x8000000000000000,
    0xa000000000000000,
    0xc800000000000000,
    0xfa00000000000000,
    0x9c40000000000000,
    0xc350000000000000,
    0xf424000000000000,
    0x9896800000000000,
    0xbebc200000000000,
    0xee6b280000000000,
    0x9502f90000000000,
    0xba43b74000000000,
    0xe8d4a51000000000,
    0x9184e72a00000000,
    0xb5e620f480000000,
    0xe35fa931a0000000,
    0x8e1bc9bf04000000,
    0xb1a2bc2ec5000000,
    0xde0b6b3a76400000,
    0x8ac7230489e80000,
    0xad78ebc5ac620000,
    0xd8d726b7177a8000,
    0x878678326eac9000,
    0xa968163f0a57b400,
    0xd3c21bcecceda100,
    0x84595161401484a0,
    0xa56fa5b99019a5c8,
];
const POW10_SCALE: [u64; 26] = [
    0x8049a4ac0c5811ae,
    0xcf42894a5dce35ea,
    0xa76c582338ed2621,
    0x873e4f75e2224e68,
    0xda7f5bf590966848,
    0xb080392cc4349dec,
    0x8e938662882af53e,
    0xe65829b3046b0afa,
    0xba121a4650e4ddeb,
    0x964e858c91ba2655,
    0xf2d56790ab41c2a2,
    0xc428d05aa4751e4c,
    0x9e74d1b791e07e48,
    0xcccccccccccccccc,
    0xcecb8f27f4200f3a,
    0xa70c3c40a64e6c51,
    0x86f0ac99b4e8dafd,
    0xda01ee641a708de9,
    0xb01ae745b101e9e4,
    0x8e41ade9fbebc27d,
    0xe5d3ef282a242e81,
    0xb9a74a0637ce2ee1,
    0x95f83d0a1fb69cd9,
    0xf24a01a73cf2dccf,
    0xc3b8358109e84f07,
    0x9e19db92b4e31ba9,
];
const POW10_SCALE_LO: [u32; 26] = [
    0x205b896d, 0x52064cad, 0xaf2af2b8, 0x5a7744a7, 0xaf39a475, 0xbd8d794e, 0x547eb47b, 0x0cb4a5a3, 0x92f34d62,
    0x3a6a07f9, 0xfae27299, 0xaa97e14c, 0x775ea265, 0xcccccccc, 0x00000000, 0x999090b6, 0x69a028bb, 0xe80e6f48,
    0x5ec05dd0, 0x14588f14, 0x8f1668c9, 0x6d953e2c, 0x4abdaf10, 0xbc633b39, 0x0a862f81, 0x6c07a2c2,
];

/// SQLite's `powerOfTen(p)`: the top 64 bits of 10^p and the next 32, for -348 <= p <= 347.
fn power_of_ten(p: i32) -> (u64, u32) {
    let (g, n);
    if p < 0 {
        if p == -1 {
            return (POW10_SCALE[13], POW10_SCALE_LO[13]);
        }
        let (mut gg, mut nn) = (p / 27, p % 27);
        if nn != 0 {
            gg -= 1;
            nn += 27;
        }
        g = gg;
        n = nn;
    } else if p < 27 {
        return (POW10_BASE[p as usize], 0);
    } else {
        g = p / 27;
        n = p % 27;
    }
    let s = POW10_SCALE[(g + 13) as usize];
    let s_lo = POW10_SCALE_LO[(g + 13) as usize];
    if n == 0 {
        return (s, s_lo);
    }
    // sqlite3Multiply160: the upper 96 bits of ((s << 32) + s_lo) * base.
    let b = POW10_BASE[n as usize];
    let mut r = u128::from(s) * u128::from(b);
    r += (u128::from(s_lo) * u128::from(b)) >> 32;
    let mut lo = (r >> 32) as u32;
    let mut x = (r >> 64) as u64;
    if x & (1 << 63) == 0 {
        x = (x << 1) | u64::from((lo >> 31) & 1);
        lo = (lo << 1) | 1;
    }
    (x, lo)
}

/// Parse a whole string as a number the way numeric affinity does: optional surrounding
/// whitespace, an integer (fitting i64) or a real. `None` if it is not entirely a number.
pub fn parse_number(s: &[u8]) -> Option<Value> {
    let start = s.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |i| i + 1);
    if start >= end {
        return None;
    }
    let b = &s[start..end];
    let (len, v) = scan_number(b);
    if len == b.len() {
        v
    } else {
        None
    }
}

/// The longest numeric prefix of the bytes (after leading whitespace), as CAST uses it;
/// `Integer(0)` if there is none.
pub fn parse_numeric_prefix(b: &[u8]) -> Value {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    match scan_number(&b[start..]) {
        (_, Some(v)) => v,
        _ => Value::Integer(0),
    }
}

/// Scan a number at the start of `b`: returns the bytes consumed and the value.
fn scan_number(b: &[u8]) -> (usize, Option<Value>) {
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut is_real = false;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        let j = i + 1;
        let mut k = j;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        frac_digits = k - j;
        if int_digits > 0 || frac_digits > 0 {
            is_real = true;
            i = k;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        return (0, None);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut k = i + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        let ds = k;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if k > ds {
            is_real = true;
            i = k;
        }
    }
    // The scanned text is ASCII digits, signs, '.', 'e': valid UTF-8.
    let text = core::str::from_utf8(&b[..i]).unwrap_or("0");
    if !is_real {
        if let Ok(v) = text.parse::<i64>() {
            return (i, Some(Value::Integer(v)));
        }
    }
    match crate::sql::types::float::parse_f64(text) {
        Some(r) => (i, Some(Value::real(r))),
        None => (0, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_formatting_matches_sqlite() {
        assert_eq!(format_real(1.0), "1.0");
        assert_eq!(format_real(0.1), "0.1");
        assert_eq!(format_real(-2.5), "-2.5");
        assert_eq!(format_real(1e20), "1.0e+20");
        assert_eq!(format_real(1.5e-7), "1.5e-07");
        assert_eq!(format_real(123456789012345.0), "123456789012345.0");
        assert_eq!(format_real(1e15), "1000000000000000.0");
        assert_eq!(format_real(1e16), "10000000000000000.0");
        assert_eq!(format_real(1e17), "1.0e+17");
        assert_eq!(format_real(2.0 / 3.0), "0.66666666666666663");
        assert_eq!(format_real(1e-5), "1.0e-05");
        assert_eq!(format_real(0.0001), "0.0001");
        assert_eq!(format_real(9007199254740993.0), "9007199254740992.0");
        assert_eq!(format_real(10000000000.5 + 0.0025), "10000000000.502501");
        assert_eq!(format_real(49.47), "49.47");
        assert_eq!(format_real(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_real(1.0 / 3.0), "0.33333333333333332");
        assert_eq!(format_real(100.0 / 3.0), "33.333333333333336");
        assert_eq!(format_real(1.1 * 1.1), "1.2100000000000002");
    }

    #[test]
    fn numbers_parse_like_affinity() {
        assert_eq!(parse_number(b" 12 "), Some(Value::Integer(12)));
        assert_eq!(parse_number(b"1.5e3"), Some(Value::Real(1500.0)));
        assert_eq!(parse_number(b"12abc"), None);
        assert_eq!(parse_number(b""), None);
        assert_eq!(parse_numeric_prefix(b"12abc"), Value::Integer(12));
        assert_eq!(parse_numeric_prefix(b"abc"), Value::Integer(0));
        assert_eq!(parse_numeric_prefix(b"-3.5x"), Value::Real(-3.5));
        assert_eq!(Value::Text("1e3".into()).to_i64(), 1);
        assert_eq!(Value::Text(" -12x".into()).to_i64(), -12);
        assert_eq!(Value::Text("99999999999999999999".into()).to_i64(), i64::MAX);
    }

    #[test]
    fn comparison_crosses_int_and_real() {
        assert_eq!(Value::Integer(1).total_cmp(&Value::Real(1.0)), Ordering::Equal);
        assert_eq!(Value::Integer(1).total_cmp(&Value::Real(1.5)), Ordering::Less);
        assert_eq!(Value::Integer(i64::MAX).total_cmp(&Value::Real(9.3e18)), Ordering::Less);
        assert_eq!(Value::Integer(5).total_cmp(&Value::Text("1".into())), Ordering::Less);
        assert_eq!(Value::Null.total_cmp(&Value::Integer(-5)), Ordering::Less);
        assert_eq!(Value::Null.sql_cmp(&Value::Null), None);
    }
}
