//! LIKE and GLOB: a pattern is read element by element where it stands and matched by
//! backtracking over characters, without allocating. LIKE folds ASCII letters only (as
//! SQLite does without ICU) and takes an optional escape character; GLOB is case-sensitive
//! with `[...]` sets. Pattern and text are
//! bytes, read as characters the way SQLite reads them ([`read_char`]), so text that is not
//! UTF-8 matches as it does in SQLite.

use super::scalar::{cstr, err, text, MAX_PATTERN_LENGTH};
use crate::error::Result;

use crate::sql::types::text::{chars, read_char};

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
    if a[0].text_bytes().len() > MAX_PATTERN_LENGTH {
        return err("LIKE or GLOB pattern too complex");
    }
    Ok(match (text(&a[0]), text(&a[1])) {
        (Some(p), Some(t)) => Value::Integer(f(&p, &t) as i64),
        _ => Value::Null,
    })
}

/// One element of a LIKE/GLOB pattern, read where it stands in the pattern's bytes.
enum Element {
    /// `%` or `*`: any run of characters.
    Star,
    /// `_` or `?`: any one character.
    One,
    /// A character (case-insensitive for ASCII letters under LIKE).
    Lit(u32),
    /// `[...]` whose set starts at this byte of the pattern (after the `[`).
    Set(usize),
    /// A pattern that cannot match here (a dangling escape or an unclosed `[`).
    Never,
}

/// How a pattern reads: LIKE (with its escape character) or GLOB.
#[derive(Clone, Copy)]
enum Kind {
    Like(Option<u32>),
    Glob,
}

const CLOSE: u32 = b']' as u32;

/// The element at byte `p` of `pat` (which is not at its end) and the byte after it.
fn element(pat: &[u8], mut p: usize, kind: Kind) -> (Element, usize) {
    let c = read_char(pat, &mut p);
    let e = match kind {
        Kind::Like(esc) if Some(c) == esc => {
            if p < pat.len() {
                Element::Lit(read_char(pat, &mut p))
            } else {
                Element::Never
            }
        }
        Kind::Like(_) if c == b'%' as u32 => Element::Star,
        Kind::Like(_) if c == b'_' as u32 => Element::One,
        Kind::Glob if c == b'*' as u32 => Element::Star,
        Kind::Glob if c == b'?' as u32 => Element::One,
        Kind::Glob if c == b'[' as u32 => {
            let start = p;
            match set_end(pat, p) {
                Some(end) => {
                    p = end;
                    Element::Set(start)
                }
                None => {
                    p = pat.len();
                    Element::Never
                }
            }
        }
        _ => Element::Lit(c),
    };
    (e, p)
}

/// The characters of a GLOB set from byte `p` (after its `[`): whether it is inverted (`^`)
/// and each member as an inclusive range, handed to `f` until it returns true. `]` first is
/// a member; `-` between two members is a range, elsewhere itself. Returns the byte after the
/// closing `]` (None: there is none) and whether `f` returned true.
fn walk_set(pat: &[u8], mut p: usize, mut f: impl FnMut(u32, u32) -> bool) -> (Option<usize>, bool, bool) {
    let next = |p: &mut usize| if *p < pat.len() { Some(read_char(pat, p)) } else { None };
    let mut c = next(&mut p);
    let invert = c == Some(b'^' as u32);
    if invert {
        c = next(&mut p);
    }
    let mut hit = false;
    if c == Some(CLOSE) {
        hit |= f(CLOSE, CLOSE);
        c = next(&mut p);
    }
    let mut prior: Option<u32> = None;
    while let Some(x) = c.filter(|&x| x != CLOSE) {
        let mut ahead = p;
        let peek = next(&mut ahead);
        match (x, prior, peek) {
            (0x2d /* - */, Some(lo), Some(hi)) if hi != CLOSE => {
                p = ahead;
                hit |= f(lo, hi);
                prior = None;
            }
            _ => {
                hit |= f(x, x);
                prior = Some(x);
            }
        }
        c = next(&mut p);
    }
    (c.map(|_| p), invert, hit)
}

/// The byte after the `]` closing the set that starts at `p`, if it is closed.
fn set_end(pat: &[u8], p: usize) -> Option<usize> {
    walk_set(pat, p, |_, _| false).0
}

impl Element {
    fn matches(&self, pat: &[u8], c: u32, nocase: bool) -> bool {
        let lower = |c: u32| if (b'A' as u32..=b'Z' as u32).contains(&c) { c + 32 } else { c };
        match self {
            Element::Star | Element::Never => false,
            Element::One => true,
            Element::Lit(p) => *p == c || (nocase && lower(*p) == lower(c)),
            Element::Set(start) => {
                let (_, invert, hit) = walk_set(pat, *start, |lo, hi| lo <= c && c <= hi);
                hit != invert
            }
        }
    }
}

/// Match `pat` against `text` (both up to their first NUL): greedy, going back to the last
/// star on a mismatch, O(n·m) at worst, without recursion or allocation.
fn wildcard(pat: &[u8], text: &[u8], kind: Kind) -> bool {
    let (pat, text) = (cstr(pat), cstr(text));
    let nocase = matches!(kind, Kind::Like(_));
    let (mut p, mut t) = (0, 0);
    // After the last star: where its pattern continues, and the text position it took.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pat.len() {
            let (e, next_p) = element(pat, p, kind);
            if let Element::Star = e {
                star = Some((next_p, t));
                p = next_p;
                continue;
            }
            if t < text.len() {
                let mut next_t = t;
                let c = read_char(text, &mut next_t);
                if e.matches(pat, c, nocase) {
                    p = next_p;
                    t = next_t;
                    continue;
                }
            }
        } else if t == text.len() {
            return true;
        }
        match star {
            Some((sp, st)) if st < text.len() => {
                let mut next_t = st;
                read_char(text, &mut next_t);
                star = Some((sp, next_t));
                (p, t) = (sp, next_t);
            }
            _ => return false,
        }
    }
}

/// SQL LIKE: `%` matches any run, `_` any one character, `escape` makes the next pattern
/// character literal. Case-insensitive for ASCII letters only. Text after a NUL is ignored.
pub fn like(pattern: &[u8], text: &[u8], escape: Option<u32>) -> bool {
    wildcard(pattern, text, Kind::Like(escape))
}

/// SQL GLOB: case-sensitive; `*` matches any run, `?` any one character, `[abc]`, `[a-z]`
/// and `[^x]` one character of (or not of) a set. `]` first in a set is literal, as is `-`
/// first or last.
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    wildcard(pattern, text, Kind::Glob)
}
