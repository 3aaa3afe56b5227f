//! Decimal to binary and back for doubles, done here rather than by core because of the wasm
//! package's size: `str::parse::<f64>` carries a 10 KB table of 128-bit powers of five
//! (incompressible: a thirtieth of the gzipped package) and core's exact float formatting,
//! behind `format!("{:.40e}")`, about 20 KB of code. Parsing takes core's own path (Clinger's
//! fast path, then Eisel and Lemire's algorithm over the same table, built here on first use),
//! and exact big-integer arithmetic where that cannot decide; formatting is exact big-integer
//! arithmetic. Tests check both against core.

use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// An unsigned big integer: 32-bit limbs, least significant first, no zero limb on top.
#[derive(Clone)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// `self = self * k + add`.
    fn mul_add(&mut self, k: u32, add: u32) {
        let mut carry = u64::from(add);
        for w in self.0.iter_mut() {
            let v = u64::from(*w) * u64::from(k) + carry;
            *w = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    /// `self *= base^n` for `base` 2, 5 or 10.
    fn mul_pow(&mut self, base: u32, n: u32) {
        let (step, per) = match base {
            2 => (1 << 31, 31),
            5 => (1_220_703_125, 13),
            _ => (1_000_000_000, 9),
        };
        for _ in 0..n / per {
            self.mul_add(step, 0);
        }
        self.mul_add(base.pow(n % per), 0);
    }

    /// `self /= d`; returns the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for w in self.0.iter_mut().rev() {
            let v = (rem << 32) | u64::from(*w);
            *w = (v / u64::from(d)) as u32;
            rem = v % u64::from(d);
        }
        self.trim();
        rem as u32
    }

    /// Number of significant bits.
    fn bits(&self) -> u64 {
        match self.0.last() {
            Some(&top) => self.0.len() as u64 * 32 - u64::from(top.leading_zeros()),
            None => 0,
        }
    }

    fn bit(&self, i: u64) -> bool {
        self.0.get((i / 32) as usize).is_some_and(|w| w >> (i % 32) & 1 == 1)
    }

    fn shl(&mut self, n: u64) {
        let (limbs, s) = ((n / 32) as usize, (n % 32) as u32);
        if s != 0 {
            let mut carry = 0;
            for w in self.0.iter_mut() {
                let v = *w;
                *w = (v << s) | carry;
                carry = v >> (32 - s);
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        if !self.is_zero() && limbs > 0 {
            let mut v = vec![0; limbs];
            v.append(&mut self.0);
            self.0 = v;
        }
    }

    fn shr(&mut self, n: u64) {
        let (limbs, s) = ((n / 32) as usize, (n % 32) as u32);
        if limbs >= self.0.len() {
            self.0.clear();
            return;
        }
        self.0.copy_within(limbs.., 0);
        self.0.truncate(self.0.len() - limbs);
        if s != 0 {
            let mut carry = 0;
            for w in self.0.iter_mut().rev() {
                let v = *w;
                *w = (v >> s) | carry;
                carry = v << (32 - s);
            }
        }
        self.trim();
    }

    /// The 128 leading bits: truncated, or shifted up to bit 127 when there are fewer.
    fn top128(&self) -> (u64, u64) {
        let n = self.bits();
        let v = (0..128).fold(0u128, |v, k| (v << 1) | u128::from(k < n && self.bit(n - 1 - k)));
        ((v >> 64) as u64, v as u64)
    }

    fn cmp(&self, o: &Big) -> Ordering {
        self.0.len().cmp(&o.0.len()).then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }

    /// `self -= o`, for `o <= self`.
    fn sub(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for (i, w) in self.0.iter_mut().enumerate() {
            let v = i64::from(*w) - i64::from(o.0.get(i).copied().unwrap_or(0)) - borrow;
            *w = v as u32;
            borrow = i64::from(v < 0);
        }
        self.trim();
    }
}

/// `m·2^e` as an integer: itself when `e >= 0`, else scaled by `10^-e` (`m·5^-e`), so that its
/// decimal digits are those of `m·2^e` with the point `-e` places from the right.
fn scaled(m: u64, e: i32) -> Big {
    let mut big = Big::from_u64(m);
    if e >= 0 {
        big.mul_pow(2, e as u32);
    } else {
        big.mul_pow(5, e.unsigned_abs());
    }
    big
}

/// Add one unit in the last place to the ASCII decimal digits `d`. Returns whether it carried
/// out of the first digit (the digits are then all `0`; the caller puts the leading `1`).
pub(crate) fn round_up_digits(d: &mut [u8]) -> bool {
    for c in d.iter_mut().rev() {
        if *c == b'9' {
            *c = b'0';
        } else {
            *c += 1;
            return false;
        }
    }
    true
}

/// The digits and exponent of `format!("{:.40e}", r)` for a finite `r > 0`: 41 significant
/// digits, rounded half to even, and the decimal exponent of the first, from the exact
/// expansion (`r = m·2^e` is the integer `m·2^e`, or `m·5^-e / 10^-e`).
pub(crate) fn digits41(r: f64) -> ([u8; 41], i32) {
    let bits = r.to_bits();
    let biased = (bits >> 52) as i32;
    let frac = bits & ((1 << 52) - 1);
    let (m, e) = if biased == 0 { (frac, -1074) } else { (frac | 1 << 52, biased - 1075) };
    let mut big = scaled(m, e);
    // Base 10^9 chunks, least significant first, then the decimal digits.
    let mut chunks = Vec::new();
    while !big.is_zero() {
        chunks.push(big.div_small(1_000_000_000));
    }
    let mut d = Vec::with_capacity(chunks.len() * 9);
    for (i, &c) in chunks.iter().rev().enumerate() {
        let mut buf = [0u8; 9];
        let mut v = c;
        for b in buf.iter_mut().rev() {
            *b = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let skip = if i == 0 { buf.iter().take_while(|&&b| b == b'0').count() } else { 0 };
        d.extend_from_slice(&buf[skip..]);
    }
    let mut out = [b'0'; 41];
    let keep = d.len().min(41);
    out[..keep].copy_from_slice(&d[..keep]);
    let mut x = d.len() as i32 - 1 + e.min(0);
    if let Some((&next, rest)) = d.get(41..).and_then(<[u8]>::split_first) {
        let up = next > b'5' || (next == b'5' && (rest.iter().any(|&c| c != b'0') || out[40] & 1 == 1));
        if up && round_up_digits(&mut out) {
            out[0] = b'1';
            x += 1;
        }
    }
    (out, x)
}

/// Powers of ten that doubles hold exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// `s` as a double, correctly rounded (half to even), as `s.parse::<f64>().ok()` for text of
/// the form `[+-]digits[.digits][(e|E)[+-]digits]` (either digit run of the mantissa may be
/// empty, not both); `None` for anything else (core's parse would also take `inf` and `nan`).
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let neg = b.first() == Some(&b'-');
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let mant = i;
    // Up to 19 significant digits in `w`; `q` the power of ten that scales it; `inexact` when
    // a nonzero digit did not fit.
    let (mut w, mut nd, mut q, mut inexact) = (0u64, 0, 0i64, false);
    let mut sig = 0i64; // significant digits, all of them
    let (mut any, mut dot, mut frac_digits) = (false, false, 0i64);
    while let Some(&c) = b.get(i) {
        if c == b'.' && !dot {
            dot = true;
        } else if c.is_ascii_digit() {
            any = true;
            frac_digits += i64::from(dot);
            let d = u64::from(c - b'0');
            sig += i64::from(w != 0 || d != 0);
            if nd < 19 {
                if w != 0 || d != 0 {
                    w = w * 10 + d;
                    nd += 1;
                }
                q -= i64::from(dot);
            } else {
                q += i64::from(!dot);
                inexact |= d != 0;
            }
        } else {
            break;
        }
        i += 1;
    }
    let mant_end = i;
    if !any {
        return None;
    }
    let mut exp = 0i64;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let eneg = b.get(i) == Some(&b'-');
        i += usize::from(matches!(b.get(i), Some(b'-' | b'+')));
        let start = i;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            exp = (exp * 10 + i64::from(c - b'0')).min(1 << 40);
            i += 1;
        }
        if i == start {
            return None;
        }
        if eneg {
            exp = -exp;
        }
    }
    if i != b.len() {
        return None;
    }
    let sign = |v: f64| if neg { -v } else { v };
    if w == 0 {
        return Some(sign(0.0));
    }
    q += exp;
    // Clinger's fast path: `w` and `10^|q|` are exact doubles, so one correctly rounded
    // operation gives the correctly rounded result.
    if !inexact && w <= 1 << 53 && (-22..=22).contains(&q) {
        let p = POW10[q.unsigned_abs() as usize];
        return Some(sign(if q < 0 { w as f64 / p } else { w as f64 * p }));
    }
    // Eisel and Lemire's algorithm, as core's parse; when digits were dropped, the value is
    // in [w, w+1)·10^q and settled when both ends round alike.
    if let Some(v) = lemire(q, w).filter(|&v| !inexact || lemire(q, w + 1) == Some(v)) {
        return Some(sign(v));
    }
    // Exact: every digit into a big integer `d`, the value being `d·10^e10`.
    let mut d = Big(Vec::new());
    for &c in &b[mant..mant_end] {
        if c != b'.' {
            d.mul_add(10, u32::from(c - b'0'));
        }
    }
    let e10 = exp - frac_digits;
    // The value lies in [10^(sig-1+e10), 10^(sig+e10)).
    if sig - 1 + e10 >= 309 {
        return Some(sign(f64::INFINITY));
    }
    if sig + e10 <= -324 {
        return Some(sign(0.0));
    }
    let (top, exp2, sticky);
    if e10 >= 0 {
        d.mul_pow(10, e10 as u32);
        let n = d.bits();
        if n <= 64 {
            (top, exp2, sticky) = (d.0.iter().rev().fold(0u64, |v, &w| (v << 32) | u64::from(w)), 0, false);
        } else {
            let low = n - 64;
            top = (0..64).fold(0u64, |v, k| (v << 1) | u64::from(d.bit(n - 1 - k)));
            sticky = (0..low).any(|k| d.bit(k));
            exp2 = low as i64;
        }
    } else {
        // Quotient of d·2^s by 10^-e10 in [2^55, 2^57), by restoring division.
        let mut den = Big::from_u64(1);
        den.mul_pow(10, e10.unsigned_abs() as u32);
        let s = 56 - (d.bits() as i64 - den.bits() as i64);
        if s > 0 {
            d.shl(s as u64);
        } else {
            den.shl(s.unsigned_abs());
        }
        den.shl(57);
        let mut quot = 0u64;
        for k in (0..=57).rev() {
            if d.cmp(&den) != Ordering::Less {
                d.sub(&den);
                quot |= 1 << k;
            }
            den.shr(1);
        }
        (top, exp2, sticky) = (quot, -s, !d.is_zero());
    }
    Some(sign(assemble(top, exp2, sticky)))
}

/// Core's `POWER_OF_FIVE_128`, which `lemire` reads: for q in -342..=308, the 128 leading
/// bits of 5^q, truncated for q >= 0; for q < 0, those of `floor(2^b / 5^-q) + 1` with
/// `b = bits(5^-q) + 127` (q >= -27) or `2·bits(5^-q) + 128`, truncated. Built on first use
/// (10 KB of heap) instead of shipped: that table was a 30th of the gzipped wasm package.
static POW5: spin::Once<Vec<(u64, u64)>> = spin::Once::new();

fn pow5_table() -> Vec<(u64, u64)> {
    // floor(2^b / 5^n) = floor(2^K / 5^n) >> (K - b) for any K >= b; the largest b is 1718.
    const K: u64 = 1760;
    let mut t = Vec::with_capacity(651);
    let (mut x, mut p) = (Big::from_u64(1), Big::from_u64(1));
    x.shl(K);
    for n in 1..=342 {
        x.div_small(5);
        p.mul_add(5, 0);
        let b = if n <= 27 { p.bits() + 127 } else { 2 * p.bits() + 128 };
        let mut c = x.clone();
        c.shr(K - b);
        c.mul_add(1, 1);
        t.push(c.top128());
    }
    t.reverse();
    let mut p = Big::from_u64(1);
    for _ in 0..=308 {
        t.push(p.top128());
        p.mul_add(5, 0);
    }
    t
}

/// `w·10^q` for `w != 0` by Eisel and Lemire's algorithm, step for step as core's
/// `dec2flt::lemire::compute_float::<f64>`; `None` where that gives up.
fn lemire(q: i64, w: u64) -> Option<f64> {
    if q < -342 {
        return Some(0.0);
    }
    if q > 308 {
        return Some(f64::INFINITY);
    }
    let lz = w.leading_zeros();
    let w = w << lz;
    let (hi5, lo5) = POW5.call_once(pow5_table)[(q + 342) as usize];
    // 52 explicit mantissa bits + 3.
    let mask = u64::MAX >> 55;
    let r = u128::from(w) * u128::from(hi5);
    let (mut lo, mut hi) = (r as u64, (r >> 64) as u64);
    if hi & mask == mask {
        let second_hi = ((u128::from(w) * u128::from(lo5)) >> 64) as u64;
        lo = lo.wrapping_add(second_hi);
        if second_hi > lo {
            hi += 1;
        }
    }
    if lo == u64::MAX && !(-27..=55).contains(&q) {
        return None;
    }
    let upperbit = (hi >> 63) as i32;
    let shift = upperbit + 64 - 52 - 3;
    let mut mantissa = hi >> shift;
    let mut power2 = (((q as i32).wrapping_mul(152_170 + 65536) >> 16) + 63) + upperbit - lz as i32 + 1023;
    if power2 <= 0 {
        if -power2 + 1 >= 64 {
            return Some(0.0);
        }
        mantissa >>= -power2 + 1;
        mantissa += mantissa & 1;
        mantissa >>= 1;
        power2 = i32::from(mantissa >= 1 << 52);
        return Some(f64::from_bits(mantissa | (power2 as u64) << 52));
    }
    // Exactly halfway (possible only where 5^q fits 64 bits): round to even.
    if lo <= 1 && (-4..=23).contains(&q) && mantissa & 3 == 1 && (mantissa << shift) == hi {
        mantissa &= !1;
    }
    mantissa += mantissa & 1;
    mantissa >>= 1;
    if mantissa >= 2 << 52 {
        mantissa = 1 << 52;
        power2 += 1;
    }
    mantissa &= !(1 << 52);
    if power2 >= 0x7FF {
        return Some(f64::INFINITY);
    }
    Some(f64::from_bits(mantissa | (power2 as u64) << 52))
}

/// The double nearest `(top + f)·2^exp2` for some `0 < f < 1` when `sticky`, else `f = 0`
/// (half to even). With `sticky`, `top` has at least 55 significant bits.
fn assemble(top: u64, exp2: i64, sticky: bool) -> f64 {
    let lead = 63 - i64::from(top.leading_zeros()) + exp2; // exponent of the leading bit
    if lead > 1023 {
        return f64::INFINITY;
    }
    let mut ulp = (lead - 52).max(-1074);
    let drop = ulp - exp2;
    let mut m = if drop <= 0 {
        top << -drop
    } else if drop > 64 {
        0
    } else {
        let t = u128::from(top);
        let m = (t >> drop) as u64;
        let (rem, half) = (t & ((1 << drop) - 1), 1u128 << (drop - 1));
        m + u64::from(rem > half || (rem == half && (sticky || m & 1 == 1)))
    };
    if m == 1 << 53 {
        m >>= 1;
        ulp += 1;
    }
    if m < 1 << 52 {
        return f64::from_bits(m); // subnormal (ulp is -1074)
    }
    let biased = ulp + 1075;
    if biased >= 2047 {
        return f64::INFINITY;
    }
    f64::from_bits((biased as u64) << 52 | (m - (1 << 52)))
}

#[cfg(all(test, feature = "std"))]
#[allow(clippy::string_slice)] // slices of ASCII digit strings
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;

    fn check_digits(r: f64) {
        let fmt = format!("{:.40e}", r);
        let (m, x) = fmt.split_once('e').unwrap();
        let want: Vec<u8> = m.bytes().filter(u8::is_ascii_digit).collect();
        let (got, gx) = digits41(r);
        assert_eq!((&got[..], gx), (&want[..], x.parse::<i32>().unwrap()), "{r:e}");
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn digits41_matches_core_formatting() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let r = f64::from_bits(rng.next() >> 1);
            if r.is_finite() && r > 0.0 {
                check_digits(r);
            }
        }
        for r in [f64::MIN_POSITIVE, f64::MAX, 5e-324, 1.0, 0.1, 0.5, 1e22, 1e23, 123.456, 1e23f64.next_down()] {
            check_digits(r);
        }
        // Ties at the 42nd digit (m·2^-50 has 42 significant digits for these m) and
        // round-ups that carry through every digit.
        for m in (1_100_000u64..1_100_400).chain(11_000_000..11_000_400) {
            check_digits(m as f64 / (1u64 << 50) as f64);
        }
        for k in 0..64 {
            check_digits((1u64 << k) as f64 - 1.0 + 0.5);
            check_digits(10f64.powi(k) * (1.0 - f64::EPSILON));
        }
    }

    fn check_parse(s: &str) {
        let want = s.parse::<f64>().ok();
        let got = parse_f64(s);
        assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{s:?}: ours {got:?}, core {want:?}");
    }

    /// The exact decimal text of `m·2^e`.
    fn exact(m: u64, e: i32) -> String {
        let mut big = scaled(m, e);
        let mut digits = Vec::new();
        while !big.is_zero() {
            digits.push(b'0' + big.div_small(10) as u8);
        }
        digits.reverse();
        format!("{}e{}", String::from_utf8(digits).unwrap(), e.min(0))
    }

    #[test]
    fn pow5_table_is_cores() {
        let t = pow5_table();
        assert_eq!(t.len(), 651);
        assert_eq!(t[0], (0xeef4_53d6_923b_d65a, 0x113f_aa29_06a1_3b3f));
        assert_eq!(t[341], (0xcccc_cccc_cccc_cccc, 0xcccc_cccc_cccc_cccd));
        assert_eq!(t[342], (1 << 63, 0));
        assert_eq!(t[650], (0x8e67_9c2f_5e44_ff8f, 0x570f_09ea_a7ea_7648));
        // FNV-1a over (hi, lo) of every entry of core's table (read from a wasm build).
        let h = t
            .iter()
            .flat_map(|&(hi, lo)| [hi, lo])
            .fold(0xcbf2_9ce4_8422_2325u64, |h, v| (h ^ v).wrapping_mul(0x100_0000_01b3));
        assert_eq!(h, 0xf5eb_a93a_ea6a_c412);
    }

    #[test]
    fn parse_matches_core() {
        for s in [
            "",
            ".",
            "+",
            "-",
            "e5",
            "1e",
            "1e+",
            "1.2.3",
            "1e5.5",
            " 1",
            "1 ",
            "+.e1",
            "0",
            "-0",
            "-0.0",
            "+1",
            ".5",
            "5.",
            "-.5e-3",
            "00001.2500",
            "1e0000000000000000001",
            "0e999999",
            "1e-99999999999",
            "1e99999999999999999999",
            "123456789012345678901234567890",
            "0.30000000000000004",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.797693134862315807e308",
            "1.7976931348623159e308",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "4.9e-324",
            "2.2250738585072011e-308",
            "2.2250738585072012e-308",
            "9007199254740993",
            "9007199254740992.5",
            "1e22",
            "1e23",
            "1e-22",
            "1e-23",
            "0.1",
            "3.14159",
            "100000000000000000000000e-3",
            "0.000000000000000000000000000000000000000000001e40",
        ] {
            check_parse(s);
        }
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..200_000 {
            let mut s = String::new();
            if rng.below(4) == 0 {
                s.push(if rng.below(2) == 0 { '-' } else { '+' });
            }
            let int = rng.below(25) as usize;
            let frac = rng.below(25) as usize;
            let zeros = rng.below(3) == 0;
            for k in 0..int {
                s.push(if zeros && k > 0 && rng.below(3) != 0 { '0' } else { (b'0' + rng.below(10) as u8) as char });
            }
            if frac > 0 || rng.below(2) == 0 {
                s.push('.');
                for _ in 0..frac {
                    s.push(if zeros && rng.below(3) != 0 { '0' } else { (b'0' + rng.below(10) as u8) as char });
                }
            }
            if rng.below(2) == 0 {
                s.push(if rng.below(2) == 0 { 'e' } else { 'E' });
                match rng.below(3) {
                    0 => s.push('-'),
                    1 => s.push('+'),
                    _ => {}
                }
                let max = if rng.below(2) == 0 { 30 } else { 360 };
                s.push_str(&format!("{}", rng.below(max)));
            }
            check_parse(&s);
        }
        // Ties and near-ties that fit 19 digits: integers between doubles above 2^53, and
        // odd multiples of 2^-2 and 2^-3 just above 2^53; moderate doubles printed long.
        for k in 54..64 {
            for j in 0..200u64 {
                let half = (1u64 << k) + j * (1 << (k - 53)) + (1 << (k - 54));
                for v in [half - 1, half, half + 1] {
                    check_parse(&format!("{v}"));
                }
            }
        }
        for j in 0..2000u64 {
            check_parse(&format!("{}.5", (1u64 << 52) + j));
            check_parse(&format!("{}.25", (1u64 << 51) + j));
            check_parse(&format!("{}.125", (1u64 << 50) + j));
        }
        for _ in 0..50_000 {
            let x = f64::from_bits((rng.next() % (200 << 52)) + (923 << 52));
            for p in [15, 16, 17, 18, 19] {
                check_parse(&format!("{x:.p$e}"));
            }
            check_parse(&format!("{x}"));
        }
        // Halfway points between neighbouring doubles (and a hair either side), normal and
        // subnormal, and every double's shortest text.
        for _ in 0..20_000 {
            let bits = rng.next() >> 1;
            let x = f64::from_bits(bits);
            if !x.is_finite() {
                continue;
            }
            check_parse(&format!("{x:e}"));
            check_parse(&format!("{x:.16e}"));
            let biased = (bits >> 52) as i32;
            let frac = bits & ((1 << 52) - 1);
            let (m, e) = if biased == 0 { (frac, -1074) } else { (frac | 1 << 52, biased - 1075) };
            let half = exact(2 * m + 1, e - 1);
            check_parse(&half);
            let (digits, exp) = half.split_once('e').unwrap();
            check_parse(&format!("{digits}1e{}", exp.parse::<i32>().unwrap() - 1));
            check_parse(&format!("{}e{exp}", &digits[..digits.len() - 1]));
        }
    }
}
