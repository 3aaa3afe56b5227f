//! How SQL rows and index entries become engine keys and values.
//!
//! * **Key encoding** (primary keys, index entries): order-preserving, so the engine's
//!   byte-wise key order is SQLite's value order. Each value is a tag byte, then:
//!   - NULL `0x05`;
//!   - numbers `0x10`, the value as an order-preserving f64 (8 bytes), then, only when the
//!     value is integral with `|x| >= 2^53` (where f64 loses integers), the exact i64 (8 bytes,
//!     sign bit flipped). INTEGER 1 and REAL 1.0 encode the same, as SQLite's comparison
//!     says they are equal (so UNIQUE sees them as duplicates); decoding gives an INTEGER
//!     for integral values and the reader applies the column's affinity;
//!   - text `0x20` and blobs `0x30`: the bytes with `0x00` escaped as `0x00 0xFF`, ended by
//!     `0x00 0x00`.
//!
//!   A DESC column has every byte of its encoding inverted. Keys concatenate column
//!   encodings; every encoding is prefix-free, so concatenation preserves order. A key column
//!   with a NOCASE or RTRIM collation encodes the value folded by it (`Coll::key`; done by the
//!   callers in `exec::write` and `exec::scan`), so such a key decodes to the folded value,
//!   not the stored one.
//! * **Rowid keys**: variable length, order-preserving: `0x80 + n` then the `n` significant
//!   bytes (big-endian) of a rowid >= 0, `0x7F - n` then the low `n` bytes of a negative one
//!   (`n` = 0..=8, the fewest that hold the value). 1 is `81 01`, 0 is `80`, -1 is `7F`.
//! * **Row records** (the value stored under a row's key): a varint column count, then per
//!   column a type byte (0 NULL, 1 INTEGER as zigzag varint, 2 REAL as 8 LE bytes, 3 TEXT, 4
//!   BLOB, both as varint length + bytes). Rows written before an `ALTER TABLE ADD COLUMN`
//!   have fewer columns; readers fill in the column default.

use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::sql::types::value::{Text, Value};

const TAG_NULL: u8 = 0x05;
const TAG_NUM: u8 = 0x10;
const TAG_TEXT: u8 = 0x20;
const TAG_BLOB: u8 = 0x30;
const TWO_53: f64 = 9007199254740992.0;
const I64_CAP: f64 = 9223372036854774784.0; // largest f64 below 2^63

fn bad(what: &str) -> Error {
    Error::Corrupted { page: 0, reason: alloc::format!("bad SQL {what} encoding") }
}

/// An encoded rowid key: 1 to 9 bytes (see [`rowid_key`]).
#[derive(Clone, Copy)]
pub struct RowidKey {
    len: u8,
    buf: [u8; 9],
}

impl core::ops::Deref for RowidKey {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

/// The rowid as an order-preserving, variable-length key: a tag byte `0x80 + n` followed by the
/// `n` significant bytes (big-endian) of a non-negative rowid, or `0x7F - n` followed by the
/// low `n` bytes of a negative one, where `n` is the fewest bytes that hold it (0 for 0 and
/// -1). Small rowids make short keys whose first four bytes (the engine's slot key heads)
/// already tell them apart: rowids below 2^24 are whole in the head.
#[inline]
pub fn rowid_key(rowid: i64) -> RowidKey {
    let bits = rowid as u64;
    let mag = if rowid < 0 { !bits } else { bits };
    let n = 8 - mag.leading_zeros() as usize / 8;
    let mut buf = [0u8; 9];
    buf[0] = if rowid < 0 { 0x7F - n as u8 } else { 0x80 + n as u8 };
    buf[1..1 + n].copy_from_slice(&bits.to_be_bytes()[8 - n..]);
    debug_assert_eq!(decode_rowid(&buf[..1 + n]).ok(), Some(rowid), "a rowid key decodes to its rowid");
    RowidKey { len: 1 + n as u8, buf }
}

/// Decode a rowid key (the whole of `key`); non-canonical encodings are corrupt.
#[inline]
pub fn decode_rowid(key: &[u8]) -> Result<i64> {
    let (&tag, body) = key.split_first().ok_or_else(|| bad("rowid"))?;
    let (neg, n) = match tag {
        0x80..=0x88 => (false, (tag - 0x80) as usize),
        0x77..=0x7F => (true, (0x7F - tag) as usize),
        _ => return Err(bad("rowid")),
    };
    // Canonical: the right length, no redundant leading byte (0x00 for a rowid >= 0, 0xFF for
    // a negative one), and with all 8 bytes the sign bit agrees with the tag.
    let first = body.first().copied().unwrap_or(0);
    let redundant = if neg { 0xFF } else { 0x00 };
    if body.len() != n || (n > 0 && first == redundant) || (n == 8 && (first >= 0x80) != neg) {
        return Err(bad("rowid"));
    }
    let mut b = [redundant; 8];
    b[8 - n..].copy_from_slice(body);
    Ok(i64::from_be_bytes(b))
}

/// The exact value of an integral number key (`|x| >= 2^53`): 8 bytes, big-endian with the
/// sign bit flipped.
fn exact_i64_key(i: i64) -> [u8; 8] {
    ((i as u64) ^ (1 << 63)).to_be_bytes()
}

fn decode_exact_i64(b: [u8; 8]) -> i64 {
    (u64::from_be_bytes(b) ^ (1 << 63)) as i64
}

fn f64_key(f: f64) -> [u8; 8] {
    let f = if f == 0.0 { 0.0 } else { f }; // -0.0 == 0.0
    let bits = f.to_bits();
    let k = if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) };
    k.to_be_bytes()
}

fn f64_from_key(b: [u8; 8]) -> f64 {
    let k = u64::from_be_bytes(b);
    let bits = if k >> 63 == 1 { k ^ (1 << 63) } else { !k };
    f64::from_bits(bits)
}

fn needs_exact(f: f64) -> bool {
    f.abs() >= TWO_53
        && crate::sql::types::value::fract(f) == 0.0
        && (-crate::sql::types::value::TWO_63..crate::sql::types::value::TWO_63).contains(&f)
}

/// Append the key encoding of a value; every key of a value equal to `v` starts with it.
pub fn encode_key_prefix(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(TAG_NULL),
        Value::Integer(i) => {
            out.push(TAG_NUM);
            let f = (*i as f64).min(I64_CAP);
            out.extend_from_slice(&f64_key(f));
            if needs_exact(f) {
                out.extend_from_slice(&exact_i64_key(*i));
            }
        }
        Value::Real(r) => {
            out.push(TAG_NUM);
            out.extend_from_slice(&f64_key(*r));
            if needs_exact(*r) {
                out.extend_from_slice(&exact_i64_key(*r as i64));
            }
        }
        Value::Text(s) => escaped(out, TAG_TEXT, s.as_bytes()),
        Value::Blob(b) => escaped(out, TAG_BLOB, b),
    }
}

fn escaped(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Append the start of the key encoding of every text (or, with `blob`, every blob) value
/// beginning with `bytes`: the keys of exactly those values start with these bytes.
pub fn encode_prefix_of(out: &mut Vec<u8>, bytes: &[u8], blob: bool) {
    out.push(if blob { TAG_BLOB } else { TAG_TEXT });
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
}

/// Append the key encoding of one value (ascending).
pub fn encode_key(out: &mut Vec<u8>, v: &Value) {
    encode_key_prefix(out, v);
}

/// Append one value's key encoding, inverted when `desc`.
pub fn encode_key_dir(out: &mut Vec<u8>, v: &Value, desc: bool) {
    let start = out.len();
    encode_key(out, v);
    if desc {
        invert(&mut out[start..]);
    }
    // A value's key is self-delimiting: decoding it consumes exactly what was appended.
    debug_assert_eq!(
        decode_key(&out[start..], desc).ok().map(|(_, n)| n),
        Some(out.len() - start),
        "a key encoding decodes to its own length"
    );
}

/// Invert bytes in place (the DESC transform).
pub fn invert(bytes: &mut [u8]) {
    for b in bytes {
        *b = !*b;
    }
}

/// Decode one key-encoded value at the start of `key` (ascending or `desc`); returns the value
/// and the bytes consumed.
pub fn decode_key(key: &[u8], desc: bool) -> Result<(Value, usize)> {
    let x = |i: usize| -> Result<u8> { key.get(i).map(|b| if desc { !*b } else { *b }).ok_or_else(|| bad("key")) };
    match x(0)? {
        TAG_NULL => Ok((Value::Null, 1)),
        TAG_NUM => {
            let mut b = [0u8; 8];
            for (i, slot) in b.iter_mut().enumerate() {
                *slot = x(1 + i)?;
            }
            let f = f64_from_key(b);
            let mut at = 9;
            let mut exact = None;
            if needs_exact(f) {
                let mut e = [0u8; 8];
                for (i, slot) in e.iter_mut().enumerate() {
                    *slot = x(at + i)?;
                }
                exact = Some(decode_exact_i64(e));
                at += 8;
            }
            let v = match exact {
                Some(i) => Value::Integer(i),
                None if crate::sql::types::value::fract(f) == 0.0 && f.abs() < TWO_53 => Value::Integer(f as i64),
                None => Value::Real(f),
            };
            Ok((v, at))
        }
        tag @ (TAG_TEXT | TAG_BLOB) => {
            let mut bytes = Vec::new();
            let mut i = 1;
            loop {
                let b = x(i)?;
                if b == 0 {
                    match x(i + 1)? {
                        0 => break,
                        0xFF => bytes.push(0),
                        _ => return Err(bad("key")),
                    }
                    i += 2;
                } else {
                    bytes.push(b);
                    i += 1;
                }
            }
            let v = if tag == TAG_TEXT { Value::Text(Text::from_bytes(bytes)) } else { Value::Blob(bytes) };
            Ok((v, i + 2))
        }
        _ => Err(bad("key")),
    }
}

/// The smallest byte string greater than every string starting with `prefix`, or `None` when
/// there is none (the prefix is all 0xFF).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last < 0xFF {
            p.push(last + 1);
            return Some(p);
        }
    }
    None
}

/// Append an unsigned LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Read an unsigned LEB128 varint at `*at`, advancing it.
#[inline]
pub fn get_varint(b: &[u8], at: &mut usize) -> Result<u64> {
    // One-byte varints (small integers, short lengths) are the common case.
    if let Some(&byte) = b.get(*at) {
        if byte < 0x80 {
            *at += 1;
            return Ok(byte as u64);
        }
    }
    get_varint_long(b, at)
}

#[inline(never)]
fn get_varint_long(b: &[u8], at: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at).ok_or_else(|| bad("row"))?;
        *at += 1;
        v |= ((byte & 0x7F) as u64) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err(bad("row"))
}

/// Encode a row record.
pub fn encode_row(out: &mut Vec<u8>, row: &[Value]) {
    #[cfg(debug_assertions)]
    let start = out.len();
    put_varint(out, row.len() as u64);
    for v in row {
        match v {
            Value::Null => out.push(0),
            Value::Integer(i) => {
                out.push(1);
                put_varint(out, ((*i << 1) ^ (*i >> 63)) as u64);
            }
            Value::Real(r) => {
                out.push(2);
                out.extend_from_slice(&r.to_le_bytes());
            }
            Value::Text(s) => {
                out.push(3);
                put_varint(out, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Blob(b) => {
                out.push(4);
                put_varint(out, b.len() as u64);
                out.extend_from_slice(b);
            }
        }
    }
    #[cfg(debug_assertions)]
    {
        let mut back = Vec::new();
        debug_assert!(
            decode_row(&out[start..], &mut back).is_ok() && back.len() == row.len(),
            "a row record decodes to as many values"
        );
    }
}

/// Decode a row record, appending its values to `out`.
pub fn decode_row(b: &[u8], out: &mut Vec<Value>) -> Result<()> {
    decode_values(b, None, out, out.len())
}

/// Decode a row record into `out` from its first position, overwriting the values there:
/// a TEXT or BLOB lands in the buffer of the value it replaces when that is of its kind, so
/// a scan that decodes every row into one `out` does not allocate per row. `out` ends with
/// exactly the record's values. With `needed`, TEXT and BLOB values are read only at positions
/// where it is true (elsewhere they read as NULL); positions past `needed` are read.
pub fn decode_row_reusing(b: &[u8], needed: Option<&[bool]>, out: &mut Vec<Value>) -> Result<()> {
    decode_values(b, needed, out, 0)
}

/// Decode a record's values into `out[base..]` (reusing the buffers of what is there) and
/// truncate `out` after them.
fn decode_values(b: &[u8], needed: Option<&[bool]>, out: &mut Vec<Value>, base: usize) -> Result<()> {
    let mut at = 0;
    let n = get_varint(b, &mut at)?;
    if n > b.len() as u64 {
        return Err(bad("row"));
    }
    let n = n as usize;
    out.truncate(base + n);
    out.reserve(base + n - out.len());
    for i in 0..n {
        let tag = *b.get(at).ok_or_else(|| bad("row"))?;
        at += 1;
        let slot = out.get_mut(base + i);
        let v = match tag {
            0 => Value::Null,
            1 => {
                let z = get_varint(b, &mut at)?;
                Value::Integer(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            2 => {
                let s: [u8; 8] = b.get(at..at + 8).and_then(|s| s.try_into().ok()).ok_or_else(|| bad("row"))?;
                at += 8;
                Value::Real(f64::from_le_bytes(s))
            }
            3 | 4 => {
                let len = get_varint(b, &mut at)? as usize;
                let end = at.checked_add(len).filter(|e| *e <= b.len()).ok_or_else(|| bad("row"))?;
                let bytes = &b[at..end];
                at = end;
                if needed.is_some_and(|n| !n.get(i).copied().unwrap_or(true)) {
                    Value::Null
                } else {
                    match (tag, slot) {
                        (3, Some(Value::Text(t))) => {
                            t.set_bytes(bytes);
                            continue;
                        }
                        (4, Some(Value::Blob(v))) => {
                            v.clear();
                            v.extend_from_slice(bytes);
                            continue;
                        }
                        (3, _) => Value::Text(Text::from_bytes(bytes.to_vec())),
                        _ => Value::Blob(bytes.to_vec()),
                    }
                }
            }
            _ => return Err(bad("row")),
        };
        match out.get_mut(base + i) {
            Some(slot) => *slot = v,
            None => out.push(v),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use core::cmp::Ordering;

    fn key(v: &Value, desc: bool) -> Vec<u8> {
        let mut out = Vec::new();
        encode_key_dir(&mut out, v, desc);
        out
    }

    fn samples() -> Vec<Value> {
        let mut v = vec![
            Value::Null,
            Value::Integer(i64::MIN),
            Value::Integer(i64::MAX),
            Value::Integer(i64::MAX - 1),
            Value::Integer(0),
            Value::Integer(-1),
            Value::Integer(1),
            Value::Integer(9007199254740993),
            Value::Integer(9007199254740992),
            Value::Real(9007199254740992.0),
            Value::Real(9.3e18),
            Value::Real(-9.3e18),
            Value::Real(9223372036854774784.0),
            Value::Real(0.5),
            Value::Real(-0.5),
            Value::Real(1.0),
            Value::Real(f64::INFINITY),
            Value::Real(f64::NEG_INFINITY),
            Value::Text(Text::new()),
            Value::Text("a\0b".into()),
            Value::Text("a".into()),
            Value::Text("ab".into()),
            Value::Blob(vec![]),
            Value::Blob(vec![0, 0xFF]),
            Value::Blob(vec![0]),
        ];
        for i in -20..20 {
            v.push(Value::Integer(i * 7));
            v.push(Value::Real(i as f64 * 3.25));
        }
        v
    }

    #[test]
    fn key_order_is_value_order_and_round_trips() {
        let s = samples();
        for a in &s {
            for desc in [false, true] {
                let ka = key(a, desc);
                let (back, used) = decode_key(&ka, desc).unwrap();
                assert_eq!(used, ka.len());
                assert_eq!(back.total_cmp(a), Ordering::Equal, "{a:?}");
                for b in &s {
                    let kb = key(b, desc);
                    let want = a.total_cmp(b);
                    let got = ka.cmp(&kb);
                    let want = if desc { want.reverse() } else { want };
                    assert_eq!(got, want, "{a:?} vs {b:?} desc={desc}");
                    // Equal values share the search prefix.
                    if want == Ordering::Equal {
                        let mut pa = Vec::new();
                        encode_key_prefix(&mut pa, a);
                        let mut pb = Vec::new();
                        encode_key_prefix(&mut pb, b);
                        assert_eq!(pa, pb, "{a:?} vs {b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn rows_round_trip_and_garbage_is_an_error() {
        let row = samples();
        let mut buf = Vec::new();
        encode_row(&mut buf, &row);
        let mut back = Vec::new();
        decode_row(&buf, &mut back).unwrap();
        assert_eq!(back.len(), row.len());
        for (a, b) in row.iter().zip(&back) {
            assert_eq!(a.type_name(), b.type_name());
            assert_eq!(a.total_cmp(b), Ordering::Equal);
        }
        for cut in 0..buf.len() {
            let mut out = Vec::new();
            let _ = decode_row(&buf[..cut], &mut out); // must not panic
        }
        assert!(decode_row(&[5, 9], &mut Vec::new()).is_err());
    }

    #[test]
    fn rowid_keys_sort_numerically() {
        // Every power of two and its neighbours, both signs, and the extremes.
        let mut ids = vec![i64::MIN, i64::MIN + 1, i64::MAX, 0];
        for k in 0..63 {
            for d in [-1i64, 0, 1] {
                ids.push((1i64 << k) + d);
                ids.push(-(1i64 << k) + d);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        for w in ids.windows(2) {
            assert!(*rowid_key(w[0]) < *rowid_key(w[1]), "{} vs {}", w[0], w[1]);
        }
        for &i in &ids {
            assert_eq!(decode_rowid(&rowid_key(i)).unwrap(), i);
        }
        assert_eq!(&*rowid_key(0), &[0x80]);
        assert_eq!(&*rowid_key(-1), &[0x7F]);
        assert_eq!(&*rowid_key(1), &[0x81, 1]);
        assert_eq!(&*rowid_key(256), &[0x82, 1, 0]);
        assert_eq!(&*rowid_key(-2), &[0x7E, 0xFE]);
        assert_eq!(rowid_key(i64::MAX).len(), 9);
        // Non-canonical or malformed keys are corruption, never another rowid.
        for bad in [
            &[][..],
            &[0x82, 0, 1],
            &[0x7E, 0xFF],
            &[0x81],
            &[0x81, 1, 2],
            &[0x90, 1],
            &[0x88, 0x80, 0, 0, 0, 0, 0, 0, 0],
        ] {
            assert!(decode_rowid(bad).is_err(), "{bad:?}");
        }
    }
}
