//! The SQL lexer: turns text into tokens (SQLite's lexical rules). Errors become a
//! [`Tok::Bad`] token, so the parser reports the first problem it reaches, lexical or not.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::sql::types::value::Value;

/// Token kinds. Keywords are plain [`Tok::Word`]s; the parser compares their text.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A keyword or unquoted identifier (text in the source).
    Word,
    /// A `"quoted"`, `[bracketed]` or `` `backticked` `` identifier, unescaped.
    Quoted(String),
    /// A string literal, unescaped.
    Str(String),
    /// A blob literal `x'..'`.
    Blob(Vec<u8>),
    /// A numeric literal.
    Num(Value),
    /// A parameter: `?`, `?NNN`, `:name`, `@name`, `$name` (text in the source).
    Var,
    /// An operator or punctuation; `==` is `=`, `<>` is `!=`.
    Op(&'static str),
    /// A lexical error.
    Bad(String),
    /// End of input.
    Eof,
}

/// A token and its byte range in the source.
#[derive(Debug, Clone)]
pub struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The token starting at or after `pos` (whitespace and comments skipped).
pub fn next_token(src: &str, mut pos: usize) -> Token {
    let b = src.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    // Skip whitespace and comments.
    loop {
        match at(pos) {
            c if c.is_ascii_whitespace() => pos += 1,
            b'-' if at(pos + 1) == b'-' => {
                while pos < b.len() && b[pos] != b'\n' {
                    pos += 1;
                }
            }
            b'/' if at(pos + 1) == b'*' => {
                pos = src.get(pos + 2..).and_then(|rest| rest.find("*/")).map_or(b.len(), |i| pos + 2 + i + 2);
            }
            _ => break,
        }
    }
    let start = pos;
    let tok = |kind, end| Token { kind, start, end };
    let bad = |msg: String, end| Token { kind: Tok::Bad(msg), start, end };
    if pos >= b.len() {
        return tok(Tok::Eof, pos);
    }
    let c = b[pos];
    let next = at(pos + 1);
    match c {
        b'\'' | b'"' | b'`' | b'[' => {
            let close = if c == b'[' { b']' } else { c };
            let mut i = pos + 1;
            let mut text = String::new();
            loop {
                match src.get(i..).and_then(|rest| rest.find(close as char)) {
                    None => {
                        let what = if c == b'\'' { "string literal" } else { "quoted identifier" };
                        return bad(format!("unterminated {what}"), b.len());
                    }
                    Some(j) => {
                        text.push_str(src.get(i..i + j).unwrap_or_default());
                        i += j + 1;
                        if close != b']' && at(i) == close {
                            text.push(close as char);
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            tok(if c == b'\'' { Tok::Str(text) } else { Tok::Quoted(text) }, i)
        }
        b'x' | b'X' if next == b'\'' => {
            let Some(len) = src.get(pos + 2..).and_then(|rest| rest.find('\'')) else {
                return bad("unterminated blob literal".into(), b.len());
            };
            let hex = &b[pos + 2..pos + 2 + len];
            let end = pos + 3 + len;
            if len % 2 != 0 || !hex.iter().all(u8::is_ascii_hexdigit) {
                return bad("malformed blob literal: expected an even number of hex digits".into(), end);
            }
            let digit = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
            let bytes = hex.chunks(2).map(|p| digit(p[0]) << 4 | digit(p[1])).collect();
            tok(Tok::Blob(bytes), end)
        }
        b'0'..=b'9' => number(src, pos),
        b'.' if next.is_ascii_digit() => number(src, pos),
        b'?' => {
            let mut i = pos + 1;
            while at(i).is_ascii_digit() {
                i += 1;
            }
            tok(Tok::Var, i)
        }
        b':' | b'@' | b'$' => {
            let mut i = pos + 1;
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            if i == pos + 1 {
                return bad(format!("unrecognized token: '{}'", c as char), i);
            }
            tok(Tok::Var, i)
        }
        c if is_ident(c) && !c.is_ascii_digit() => {
            let mut i = pos + 1;
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            tok(Tok::Word, i)
        }
        _ => {
            let (op, len) = match (c, next) {
                (b'|', b'|') => ("||", 2),
                (b'<', b'=') => ("<=", 2),
                (b'<', b'>') | (b'!', b'=') => ("!=", 2),
                (b'<', b'<') => ("<<", 2),
                (b'>', b'=') => (">=", 2),
                (b'>', b'>') => (">>", 2),
                (b'=', b'=') => ("=", 2),
                _ => {
                    let op = match c {
                        b'(' => "(",
                        b')' => ")",
                        b',' => ",",
                        b';' => ";",
                        b'.' => ".",
                        b'+' => "+",
                        b'-' => "-",
                        b'*' => "*",
                        b'/' => "/",
                        b'%' => "%",
                        b'&' => "&",
                        b'|' => "|",
                        b'~' => "~",
                        b'<' => "<",
                        b'>' => ">",
                        b'=' => "=",
                        // Bytes >= 0x80 are identifier characters, so `c` is ASCII here.
                        _ => return bad(format!("unrecognized token: '{}'", c.escape_ascii()), pos + 1),
                    };
                    (op, 1)
                }
            };
            tok(Tok::Op(op), pos + len)
        }
    }
}

/// A numeric literal at `start`: decimal or `0x` hex integer, or a real. Decimal integers too
/// large for i64 become reals, as in SQLite.
fn number(src: &str, start: usize) -> Token {
    let b = src.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let digits = |mut i: usize, hex: bool| {
        while if hex { at(i).is_ascii_hexdigit() } else { at(i).is_ascii_digit() } {
            i += 1;
        }
        i
    };
    let mut i;
    let mut value = None;
    if at(start) == b'0' && matches!(at(start + 1), b'x' | b'X') {
        i = digits(start + 2, true);
        let hex = src.get(start + 2..i).unwrap_or_default();
        if !hex.is_empty() && hex.len() <= 16 {
            value = u64::from_str_radix(hex, 16).ok().map(|v| Value::Integer(v as i64));
        }
    } else {
        i = digits(start, false);
        let mut real = false;
        if at(i) == b'.' {
            real = true;
            i = digits(i + 1, false);
        }
        if matches!(at(i), b'e' | b'E') {
            real = true;
            let mut j = i + 1;
            if matches!(at(j), b'+' | b'-') {
                j += 1;
            }
            i = if at(j).is_ascii_digit() { digits(j, false) } else { usize::MAX };
        }
        if i != usize::MAX {
            let text = src.get(start..i).unwrap_or_default();
            let int = if real { None } else { text.parse::<i64>().ok().map(Value::Integer) };
            value = int.or_else(|| crate::sql::types::float::parse_f64(text).map(Value::Real));
        }
    }
    match value {
        Some(v) if !is_ident(at(i)) => Token { kind: Tok::Num(v), start, end: i },
        _ => {
            let mut end = start + 1;
            while end < b.len() && (is_ident(b[end]) || b[end] == b'.') {
                end += 1;
            }
            let msg = format!("malformed number: '{}'", src.get(start..end).unwrap_or_default());
            Token { kind: Tok::Bad(msg), start, end }
        }
    }
}
