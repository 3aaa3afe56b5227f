//! Turning keys and values into text and back: hex, and "printable" detection.

/// Lower-case hex of `b`.
pub fn to_hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

/// Parse hex (an optional `0x` prefix, either case, no separators).
pub fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s).as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex {s:?} has an odd number of digits"));
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    digits
        .chunks_exact(2)
        .map(|p| match (nibble(p[0]), nibble(p[1])) {
            (Some(h), Some(l)) => Ok(h << 4 | l),
            _ => Err(format!("{s:?} is not valid hex")),
        })
        .collect()
}

/// How to show bytes as text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// UTF-8 text when printable, else `0x` + hex.
    Auto,
    /// Always plain hex (no prefix), the form `--hex` accepts as input.
    Hex,
}

/// `b` as text. In [`Show::Auto`], text is used when `b` is valid UTF-8 without control
/// characters (`multiline` allows newlines, tabs and carriage returns, as for a lone value);
/// otherwise `0x` + hex.
pub fn show(b: &[u8], how: Show, multiline: bool) -> String {
    if how == Show::Auto {
        if let Ok(s) = std::str::from_utf8(b) {
            if s.chars().all(|c| !c.is_control() || (multiline && matches!(c, '\n' | '\t' | '\r'))) {
                return s.to_owned();
            }
        }
        return format!("0x{}", to_hex(b));
    }
    to_hex(b)
}

/// The smallest key greater than every key that starts with `prefix`, or `None` if there is
/// none (an empty prefix, or one made only of `0xff` bytes).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last != 0xff {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let b: Vec<u8> = (0..=255).collect();
        assert_eq!(from_hex(&to_hex(&b)).unwrap(), b);
        assert_eq!(from_hex("0xABcd").unwrap(), [0xab, 0xcd]);
        assert_eq!(from_hex("").unwrap(), b"");
        assert!(from_hex("abc").is_err());
        assert!(from_hex("zz").is_err());
        assert!(from_hex("é1").is_err());
    }

    #[test]
    fn show_modes() {
        assert_eq!(show(b"hello", Show::Auto, false), "hello");
        assert_eq!(show(b"a\tb", Show::Auto, false), "0x610962");
        assert_eq!(show(b"a\tb", Show::Auto, true), "a\tb");
        assert_eq!(show(&[0xff, 0], Show::Auto, true), "0xff00");
        assert_eq!(show(b"hi", Show::Hex, true), "6869");
    }

    #[test]
    fn successor() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[b'a', 0xff, 0xff]), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(&[0xff]), None);
        assert_eq!(prefix_successor(b""), None);
    }
}
