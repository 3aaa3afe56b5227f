//! SQL TEXT as SQLite keeps it: a string of bytes, and SQLite's way of reading characters
//! from bytes that need not be UTF-8.
//!
//! Text that comes from Rust or JavaScript strings is UTF-8. SQL can also build text that is
//! not: `CAST(x'ff41' AS TEXT)`, `x'ff' || 'a'`, `substr` of such text. SQLite never checks
//! text; it stores, compares (memcmp), hashes and returns those bytes unchanged, and its text
//! functions read characters with a lenient decoder. So [`Text`] holds bytes, and the
//! conversion to a Rust `str` happens at the edge, where the caller chooses: [`Text::as_str`]
//! (None when the bytes are not UTF-8) or [`Text::to_str_lossy`] (U+FFFD for each bad
//! sequence, as JavaScript's `TextDecoder` does).
//!
//! The character readers mirror SQLite 3.54's, whose functions do not all split bytes into
//! characters the same way: [`read_char`] decodes one character as `sqlite3Utf8Read` does
//! (LIKE, GLOB, `unicode`), [`skip_utf8`] steps over one as `SQLITE_SKIP_UTF8` does (`trim`'s
//! set, `substr`'s count from the end), and [`skip_char`] as `length` and `substr` step. On
//! valid UTF-8 all agree with Rust's `chars()`; the differential tests in
//! `functions/tests.rs` hold them to SQLite on bytes that are not UTF-8.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// SQL TEXT: bytes, UTF-8 unless SQL built them from a blob.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Vec<u8>);

impl Text {
    /// Empty text.
    pub const fn new() -> Text {
        Text(Vec::new())
    }

    /// Text holding exactly these bytes (they need not be UTF-8).
    pub fn from_bytes(bytes: Vec<u8>) -> Text {
        Text(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text as a `str`, or None when its bytes are not UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.0).ok()
    }

    /// The text as a `str`, each invalid sequence replaced by U+FFFD.
    pub fn to_str_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// The text as a `String` (no copy when it is UTF-8), each invalid sequence replaced by
    /// U+FFFD.
    pub fn into_string_lossy(self) -> String {
        String::from_utf8(self.0).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Append bytes.
    pub(crate) fn push_bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }

    /// Replace the bytes, keeping the allocation (a decoder reusing a row's values).
    pub(crate) fn set_bytes(&mut self, b: &[u8]) {
        self.0.clear();
        self.0.extend_from_slice(b);
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(s.as_bytes().to_vec())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(s.into_bytes())
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text(s.as_bytes().to_vec())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_bytes()
    }
}

/// Writes the text, invalid sequences as U+FFFD.
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_str_lossy())
    }
}

/// Quoted like a `str`; bytes that are not UTF-8 are written as `\xNN`.
impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                fmt::Display::fmt(&c.escape_debug(), f)?;
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str("\"")
    }
}

/// The first bits of a character from its lead byte 0xc0..=0xff (SQLite's `sqlite3Utf8Trans1`:
/// the lead byte without its length marker; 0 for leads of sequences longer than four bytes).
const LEAD_BITS: [u8; 64] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, //
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, //
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, //
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x00, 0x01, 0x02, 0x03, 0x00, 0x01, 0x00, 0x00,
];

fn is_continuation(b: u8) -> bool {
    b & 0xc0 == 0x80
}

/// Decode the character at `b[*i]` and step past it, as SQLite's `sqlite3Utf8Read`: a byte
/// below 0xc0 is one character (a stray continuation byte reads as its own value); a lead
/// byte takes every continuation byte after it; an overlong form, a surrogate or U+FFFE/FFFF
/// reads as U+FFFD. Requires `*i < b.len()`.
pub fn read_char(b: &[u8], i: &mut usize) -> u32 {
    let lead = b[*i];
    *i += 1;
    if lead < 0xc0 {
        return lead as u32;
    }
    let mut c = LEAD_BITS[(lead - 0xc0) as usize] as u32;
    while let Some(&x) = b.get(*i).filter(|&&x| is_continuation(x)) {
        c = (c << 6).wrapping_add((x & 0x3f) as u32);
        *i += 1;
    }
    if c < 0x80 || c & 0xffff_f800 == 0xd800 || c & 0xffff_fffe == 0xfffe {
        0xfffd
    } else {
        c
    }
}

/// The characters of `b`, each read by [`read_char`].
pub fn chars(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut i = 0;
    core::iter::from_fn(move || (i < b.len()).then(|| read_char(b, &mut i)))
}

/// The index after the character at `b[i]`, as SQLite's `SQLITE_SKIP_UTF8`: a lead byte
/// (0xc0 and up) takes the continuation bytes after it; any other byte is one character.
pub fn skip_utf8(b: &[u8], i: usize) -> usize {
    skip_from(b, i, 0xc0)
}

/// The index after the character at `b[i]`, as `length()` and `substr()` step: any byte from
/// 0x80 up (a stray continuation byte too) takes the continuation bytes after it.
pub fn skip_char(b: &[u8], i: usize) -> usize {
    skip_from(b, i, 0x80)
}

fn skip_from(b: &[u8], i: usize, takes: u8) -> usize {
    let mut j = i + 1;
    if b[i] >= takes {
        while b.get(j).is_some_and(|&x| is_continuation(x)) {
            j += 1;
        }
    }
    j
}

/// The number of characters in `b` when stepping with `step` ([`skip_char`] is `length()`).
pub fn char_count(b: &[u8], step: fn(&[u8], usize) -> usize) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        i = step(b, i);
        n += 1;
    }
    n
}

/// Append the UTF-8 encoding of code point `c` (any value below 2^21, as SQLite's
/// `WRITE_UTF8`; surrogates are written as they are).
pub fn push_char(out: &mut Vec<u8>, c: u32) {
    if c < 0x80 {
        out.push(c as u8);
    } else if c < 0x800 {
        out.extend_from_slice(&[0xc0 | (c >> 6) as u8 & 0x1f, 0x80 | (c & 0x3f) as u8]);
    } else if c < 0x10000 {
        out.extend_from_slice(&[0xe0 | (c >> 12) as u8 & 0x0f, 0x80 | (c >> 6) as u8 & 0x3f, 0x80 | (c & 0x3f) as u8]);
    } else {
        out.extend_from_slice(&[
            0xf0 | (c >> 18) as u8 & 0x07,
            0x80 | (c >> 12) as u8 & 0x3f,
            0x80 | (c >> 6) as u8 & 0x3f,
            0x80 | (c & 0x3f) as u8,
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn chars(b: &[u8]) -> Vec<u32> {
        super::chars(b).collect()
    }

    #[test]
    fn valid_utf8_reads_as_rust_chars() {
        let s = "aé€😀\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}";
        let want: Vec<u32> = s.chars().map(|c| c as u32).collect();
        // U+FFFF reads as U+FFFD in SQLite.
        let want: Vec<u32> = want.into_iter().map(|c| if c == 0xffff { 0xfffd } else { c }).collect();
        assert_eq!(chars(s.as_bytes()), want);
        assert_eq!(char_count(s.as_bytes(), skip_char), s.chars().count());
        assert_eq!(char_count(s.as_bytes(), skip_utf8), s.chars().count());
        let mut enc = Vec::new();
        for c in s.chars() {
            push_char(&mut enc, c as u32);
        }
        assert_eq!(enc, s.as_bytes());
    }

    #[test]
    fn invalid_bytes_read_as_sqlite_reads_them() {
        // A stray continuation byte is its own character with its own value.
        assert_eq!(chars(b"\x80a"), [0x80, 'a' as u32]);
        // A lead byte without continuation: too small, so U+FFFD.
        assert_eq!(chars(b"\xffA"), [0xfffd, 'A' as u32]);
        // An overlong NUL and a surrogate read as U+FFFD.
        assert_eq!(chars(b"\xc0\x80\xed\xa0\x80"), [0xfffd, 0xfffd]);
        // A lead takes every continuation byte after it, even too many.
        assert_eq!(char_count(b"\xc3\xa9\x80\x80x", skip_utf8), 2);
        assert_eq!(char_count(b"a\x80\x80", skip_utf8), 3);
        // length() also lets a stray continuation byte take the ones after it.
        assert_eq!(char_count(b"\x80\xbfx a", skip_char), 4);
        assert_eq!(char_count(b"\x80\xbfx a", skip_utf8), 5);
    }

    #[test]
    fn debug_and_display_show_invalid_bytes() {
        let t = Text::from_bytes(b"a\xffb\"".to_vec());
        assert_eq!(format!("{t:?}"), "\"a\\xffb\\\"\"");
        assert_eq!(format!("{t}"), "a\u{fffd}b\"");
        assert_eq!(t.as_str(), None);
        assert_eq!(Text::from("é").as_str(), Some("é"));
        assert_eq!(Text::from_bytes(b"x\xff".to_vec()).into_string_lossy(), "x\u{fffd}");
    }
}
