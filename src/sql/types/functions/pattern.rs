//! LIKE and GLOB: a pattern is compiled to [`PatternElement`]s and matched by backtracking
//! over characters. LIKE folds ASCII letters only (as SQLite does without ICU) and takes an
//! optional escape character; GLOB is case-sensitive with `[...]` sets. Pattern and text are
//! bytes, read as characters the way SQLite reads them ([`read_char`]), so text that is not
//! UTF-8 matches as it does in SQLite.

use super::scalar::{bytes, cstr, err, text, MAX_PATTERN_LENGTH};
use crate::error::Result;
use alloc::vec::Vec;

use crate::sql::types::text::read_char;

use crate::sql::types::value::Value;

// ---------------------------------------------------------------------------------------
// LIKE and GLOB

pub(super) fn like_fn(a: &[Value]) -> Result<Value> {
    let esc = match a.get(2) {
        None => None,
        Some(v) => {
            let Some(e) = text(v) else { return Ok(Value::Null) };
            Some(like_escape(&e)?)
        }
    };
    match_fn(a, |p, t| like(p, t, esc))
}

/// The escape character of `LIKE ... ESCAPE e`: `e` must be exactly one character.
pub fn like_escape(e: &[u8]) -> Result<u32> {
    let mut it = chars(cstr(e));
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(c),
        _ => err("ESCAPE expression must be a single character"),
    }
}

pub(super) fn glob_fn(a: &[Value]) -> Result<Value> {
    match_fn(a, glob)
}

fn match_fn(a: &[Value], f: impl Fn(&[u8], &[u8]) -> bool) -> Result<Value> {
    if bytes(&a[0]).len() > MAX_PATTERN_LENGTH {
        return err("LIKE or GLOB pattern too complex");
    }
    Ok(match (text(&a[0]), text(&a[1])) {
        (Some(p), Some(t)) => Value::Integer(f(&p, &t) as i64),
        _ => Value::Null,
    })
}

/// One element of a compiled LIKE/GLOB pattern.
enum PatternElement {
    /// `%` or `*`: any run of characters.
    Star,
    /// `_` or `?`: any one character.
    One,
    /// A character (case-insensitive for ASCII letters under LIKE).
    Lit(u32),
    /// `[...]`: ranges (inclusive), inverted with `^`.
    Set(Vec<(u32, u32)>, bool),
    /// A pattern that cannot match here (a dangling escape or an unclosed `[`).
    Never,
}

impl PatternElement {
    fn matches(&self, c: u32, nocase: bool) -> bool {
        let lower = |c: u32| if (b'A' as u32..=b'Z' as u32).contains(&c) { c + 32 } else { c };
        match self {
            PatternElement::Star | PatternElement::Never => false,
            PatternElement::One => true,
            PatternElement::Lit(p) => *p == c || (nocase && lower(*p) == lower(c)),
            PatternElement::Set(ranges, invert) => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *invert,
        }
    }
}

/// Match compiled tokens against text: greedy with backtracking to the last star, O(n·m).
fn wildcard(toks: &[PatternElement], text: &[u8], nocase: bool) -> bool {
    let text: Vec<u32> = chars(cstr(text)).collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = toks.get(p) {
            if let PatternElement::Star = tok {
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
pub fn like(pattern: &[u8], text: &[u8], escape: Option<u32>) -> bool {
    let mut toks = Vec::new();
    let mut it = chars(cstr(pattern));
    while let Some(c) = it.next() {
        toks.push(match c {
            _ if Some(c) == escape => it.next().map_or(PatternElement::Never, PatternElement::Lit),
            0x25 /* % */ => PatternElement::Star,
            0x5f /* _ */ => PatternElement::One,
            _ => PatternElement::Lit(c),
        });
    }
    wildcard(&toks, text, true)
}

/// SQL GLOB: case-sensitive; `*` matches any run, `?` any one character, `[abc]`, `[a-z]`
/// and `[^x]` one character of (or not of) a set. `]` first in a set is literal, as is `-`
/// first or last.
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    const CLOSE: u32 = b']' as u32;
    let mut toks = Vec::new();
    let mut it = chars(cstr(pattern)).peekable();
    while let Some(c) = it.next() {
        toks.push(match c {
            0x2a /* * */ => PatternElement::Star,
            0x3f /* ? */ => PatternElement::One,
            0x5b /* [ */ => {
                let mut set = Vec::new();
                let mut c2 = it.next();
                let invert = c2 == Some(b'^' as u32);
                if invert {
                    c2 = it.next();
                }
                if c2 == Some(CLOSE) {
                    set.push((CLOSE, CLOSE));
                    c2 = it.next();
                }
                let mut prior: Option<u32> = None;
                while let Some(x) = c2.filter(|&x| x != CLOSE) {
                    match (x, prior, it.peek()) {
                        (0x2d /* - */, Some(lo), Some(&hi)) if hi != CLOSE => {
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
                    PatternElement::Never
                } else {
                    PatternElement::Set(set, invert)
                }
            }
            _ => PatternElement::Lit(c),
        });
    }
    wildcard(&toks, text, false)
}

/// The characters of `b` as SQLite reads them.
fn chars(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let mut i = 0;
    core::iter::from_fn(move || (i < b.len()).then(|| read_char(b, &mut i)))
}
