//! Differential tests: every call is also run by SQLite (rusqlite's bundled build) and the
//! results must agree exactly (reals bit for bit, errors with the same message).

#![allow(clippy::string_slice)] // tests slice ASCII SQL at known offsets

use super::*;
use crate::sql::types::functions::{aggregate::*, pattern::*};
use rusqlite::types::{ToSqlOutput, ValueRef};

/// A value bound as it is: text as its bytes, UTF-8 or not.
fn to_rq(v: &Value) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match v {
        Value::Null => ValueRef::Null,
        Value::Integer(i) => ValueRef::Integer(*i),
        Value::Real(r) => ValueRef::Real(*r),
        Value::Text(s) => ValueRef::Text(s.as_bytes()),
        Value::Blob(b) => ValueRef::Blob(b),
    })
}

fn from_rq(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(Text::from_bytes(t.to_vec())),
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
    v.extend(INVALID_UTF8.iter().map(|s| raw(s)));
    v
}

/// Text that is not UTF-8, as `CAST(x'..' AS TEXT)` builds it: a lone lead byte, stray
/// continuation bytes, an overlong form (read as é by SQLite), a surrogate, a code point past
/// U+10FFFF, a lead with too many continuation bytes, and NUL.
const INVALID_UTF8: [&[u8]; 8] = [
    b"\xff",
    b"a\xc3",
    b"\x80\xbfx \xa9",
    b"\xe0\x83\xa9z",
    b"\xed\xa0\x80 12",
    b"\xf4\x90\x80\x80A",
    b"\xc3\xa9\x80\x80%",
    b"B\xff\0\xfe ",
];

/// Text holding exactly these bytes.
fn raw(s: &[u8]) -> Value {
    Value::Text(Text::from_bytes(s.to_vec()))
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
        "%#X", "%#o", "%o", "%u", "%p", "%#p", "%#010x", "%r", "%5r", "%.5r", "%c", "%5c|", "%-5c|", "%.3c", "%5.3c|",
        "%-5.3c|", "%!5c|", "%s", "%10s|", "%-10s|", "%.2s", "%!.2s", "%!10s|", "%!-10s|", "%q", "%Q", "%w", "%#q",
        "%#Q", "%.2q", "%.2Q", "%!.2Q", "%10Q|", "%j", "%J", "%10J|", "%-10j|", "%.2J", "%!8J|", "%f", "%.2f",
        "%10.3f", "%-10.3f|", "%010.3f", "%+.1f", "% .1f", "%#.0f", "%#.2f", "%,f", "%,.2f", "%,15.1f", "%e", "%.3e",
        "%E", "%#.0e", "%+e", "%012.3e", "%g", "%G", "%.3g", "%#g", "%#.3g", "%!g", "%!.15g", "%!.17g", "%!.20e",
        "%!.20f", "%.20f", "%.20e", "%!.30f", "%.0f", "%.0e", "%.0g", "%5%", "%%", "%n|", "%z", "%T", "%S", "%y", "%",
        "ab%", "%5", "%-", "%lld", "%ld", "%l", "%!0.17g", "%.30g", "%.40f", "%10.4g|", "%-+8.2e|", "%,d%", "a%sb%dc",
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
    // Surrogates and code points past U+10FFFF: SQLite writes some as bytes that are not UTF-8.
    d.call("char", &[i(0xd800), i(0x110000), i(0xdfff), i(-1)]);
    for e in [r"\uD800", r"\U00110000", r"\udfff", r"\+10FFFF", r"\+110000"] {
        d.call("unistr", &[t(e)]);
    }
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
        for a in
            [i(0), i(-7), i(255), Value::Real(-0.0), Value::Real(0.5), Value::Real(1e-5), t("é"), t(""), Value::Null]
        {
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
    for x in ["Robert", "Rupert", "Tymczak", "Pfister", "Ashcraft", "A", "", "123", "éclair", "Ｒobert", "Lloyd"] {
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
    /// Up to `max` pieces of text that is mostly not UTF-8 (pieces of [`INVALID_UTF8`], ASCII,
    /// whole characters).
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        const PIECES: [&[u8]; 14] = [
            b"a",
            b"A",
            b" ",
            b"%",
            b"_",
            b"\xc3",
            b"\xa9",
            b"\x80",
            b"\xff",
            b"\xe0\x83\xa9",
            b"\xc3\xa9",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\0",
        ];
        let mut out = Vec::new();
        for _ in 0..self.below(max + 1) {
            out.extend_from_slice(PIECES[self.below(PIECES.len())]);
        }
        out
    }
}

#[test]
fn fuzzed_printf_and_patterns_match_sqlite() {
    let mut d = Diff::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let spec = ["-", "+", " ", "#", "!", "0", ",", "1", "2", "9", "12", ".", ".", "*", "l", "ll"];
    let conv = [
        "d", "i", "u", "x", "X", "o", "p", "r", "c", "s", "z", "q", "Q", "w", "j", "J", "f", "e", "E", "g", "G", "n",
        "%", "T", "y", "",
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
    for k in 0..20000 {
        let (mut p, mut s) = (t(&rng.string(&pat, 7)), t(&rng.string(&txt, 7)));
        // Every fourth pair is not UTF-8 on one side or both.
        if k % 4 == 0 {
            let Value::Text(x) = &mut p else { unreachable!() };
            x.push_bytes(&rng.bytes(3));
            s = raw(&[rng.bytes(2), s.to_text().into_bytes(), rng.bytes(3)].concat());
        }
        d.call("like", &[p.clone(), s.clone()]);
        d.call("like", &[p.clone(), s.clone(), t(pat[rng.below(pat.len())])]);
        d.call("glob", &[p, s]);
    }
    let chars = ["a", "B", " ", "é", "日", "\0", "'", "%", "1", "-", ".", "e", "x", "\\", "\u{1}", "+"];
    let value = |rng: &mut Rng| match rng.below(7) {
        0 => Value::Null,
        1 => Value::Integer([0, 1, -1, 2, -3, 5, 64, i64::MAX, i64::MIN][rng.below(9)]),
        2 => Value::Real([0.5, -1.5, 2.25, 1e10, -0.0, 3.0, 1e-3][rng.below(7)]),
        3 => b(rng.string(&chars, 4).as_bytes()),
        4 => raw(&rng.bytes(6)),
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
        "%\\", "é%", "É%", "%é", "[a-c]*", "*[a-c]", "[^a]*", "[]]*", "[a-]*", "[-a]*", "*[", "[", "[^]", "[]", "?*?",
        "*?*", "a*b*c", "*.txt", "[!a]*", "a[bc]d", "[z-a]*", "*", "?", "a?c", "A*", "[a-c-e]", "%a%a%a%b", "*a*a*a*b",
        "_\\%", "%\\%%", "[^]]", "x%y%", "\\\\%", "%_%_%",
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
    assert!(like(b"a%", b"ABC", None) && !like(b"a%", b"xbc", None) && like(b"a!%", b"a%", Some('!' as u32)));
    assert!(glob(b"[a-c]*", b"cat") && !glob(b"[a-c]*", b"dog") && !glob(b"A*", b"abc"));
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
