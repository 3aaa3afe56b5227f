//! `printf` / `format`: SQLite's format conversions (`%d %f %e %g %s %q %Q %w %x %o %c`
//! and friends), flags, widths and precisions (capped), and its float rounding, byte for
//! byte.

use super::scalar::{check_len, cstr, fabs, int_of, text, HEX_LOWER, HEX_UPPER, PRINTF_LIMIT};
use crate::error::Result;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use crate::sql::types::value::Value;

// ---------------------------------------------------------------------------------------
// printf

pub(super) fn printf_fn(a: &[Value]) -> Result<Value> {
    let Some(f) = a.first().and_then(text) else { return Ok(Value::Null) };
    let out = printf(cstr(&f), &a[1..])?;
    Ok(Value::Text(crate::sql::types::text::Text::from_bytes(out)))
}

/// The flags, width and precision of one conversion.
#[derive(Clone, Copy)]
pub(super) struct Spec {
    pub(super) left: bool,
    pub(super) sign: Option<u8>,
    pub(super) alt: bool,
    pub(super) alt2: bool,
    pub(super) zero: bool,
    pub(super) comma: bool,
    pub(super) width: i64,
    pub(super) precision: i64,
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
        Some(cstr(&s).to_vec())
    }
}

/// SQLite's `printf()`: renders `fmt` with `args`. An unknown conversion ends the output.
pub(super) fn printf(fmt: &[u8], args: &[Value]) -> Result<Vec<u8>> {
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

pub(super) fn fmt_float(out: &mut Vec<u8>, conv: u8, r: f64, mut s: Spec) {
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
pub(super) fn fmt_quoted(out: &mut Vec<u8>, arg: Option<&[u8]>, conv: u8, s: Spec) {
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
