//! SQLite's sqllogictest conformance scripts, run against `tessera::sql`.
//!
//! A purpose-built runner for the sqllogictest format (see `shared/sqllogictest/SOURCE.md` for
//! the format facts it follows, all verified against real SQLite): it runs every `*.test` file
//! under the shared directory, each with a fresh database, and checks every `statement` and
//! `query` record. One `#[test]` (normal harness), `every_sqllogictest_file_passes`, runs all
//! files in path order, prints one line per file
//! (`path: pass P, fail F, skip S (of N records)`), lists every skipped record with its reason,
//! and prints the first failures of each file with their SQL, expected and actual results.
//!
//! Where the files are: `<CARGO_MANIFEST_DIR>/../shared/sqllogictest` (CI clones the repository
//! beside `shared/`), else `/work/shared/sqllogictest`. If neither exists the test fails.
//!
//! Pass criterion, per file: with `P` records passed and `F` failed, `P / (P + F)` must be at
//! least 99% (and `P + F > 0`). Skipped records are not in that ratio, and the only allowed reason
//! to skip a record is that it uses triggers (`CREATE TRIGGER` / `DROP TRIGGER`); a record the
//! runner cannot understand (unknown kind, missing `----`, bad column types) is also reported as
//! a skip, with a reason that is not allowed, so it fails the test. Records excluded by
//! `skipif sqlite` / `onlyif <other engine>`, or after a `halt` meant for this engine, are not
//! for this engine: they are counted apart ("for other engines") and are not skips.
//!
//! Environment:
//! - `TESSERA_SLT_FILTER=substring`: run only the files whose path (relative to the
//!   sqllogictest directory) contains it. A filter matching no file fails the test.
//! - `TESSERA_SLT_ENGINE=tessera|rusqlite`: the engine under test. `tessera` (default) runs
//!   `tessera::sql::Connection::memory()` per file. `rusqlite` runs the same files against real
//!   SQLite (bundled with rusqlite) to validate the runner itself: there every record must pass
//!   (100%) and trigger records are run too, since SQLite has triggers.
//! - `TESSERA_SLT_COMPARE=0`: do not time the same files on real SQLite. By default a Tessera
//!   run also runs every file on SQLite and prints both times per file and in total (SQLite
//!   runs the trigger records Tessera skips).
//!
//! Run: `cargo test --release --test sqllogictest -- --nocapture` (the index file has 10,000
//! queries: the release profile is much faster).

mod common;

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::from_sqlite;
use md5::{Digest, Md5};
use tessera::sql::Value;

/// The engine name the scripts' `skipif` / `onlyif` conditions are matched against.
const ENGINE_LABEL: &str = "sqlite";
/// The reference driver's default: results with more values than this are compared by hash.
const DEFAULT_HASH_THRESHOLD: usize = 8;
/// Minimum `pass / (pass + fail)` per file.
const MIN_PASS_RATE: f64 = 0.99;
/// Failures printed in full per file.
const FAILURES_SHOWN: usize = 5;
/// The only reason a record may be skipped.
const SKIP_TRIGGERS: &str = "uses triggers (CREATE/DROP TRIGGER)";
const ALLOWED_SKIP_REASONS: &[&str] = &[SKIP_TRIGGERS];

// ---------------------------------------------------------------------------------------------
// Engines
// ---------------------------------------------------------------------------------------------

/// Rows of a query: the column count and the values, row by row.
struct QueryResult {
    columns: usize,
    rows: Vec<Vec<Value>>,
}

/// What the runner needs from a SQL engine.
trait Engine {
    /// Run every `;`-separated statement of `sql`, stepping through and discarding any rows.
    fn statement(&mut self, sql: &str) -> Result<(), String>;
    /// Run one query and collect its rows.
    fn query(&mut self, sql: &str) -> Result<QueryResult, String>;
    /// Whether records using triggers run (true for real SQLite, which has them).
    fn runs_triggers(&self) -> bool;
}

struct TesseraEngine {
    conn: tessera::sql::Connection,
}

impl Engine for TesseraEngine {
    fn statement(&mut self, sql: &str) -> Result<(), String> {
        self.conn.execute(sql, &[]).map(|_| ()).map_err(|e| e.to_string())
    }
    fn query(&mut self, sql: &str) -> Result<QueryResult, String> {
        let rows = self.conn.query(sql, &[]).map_err(|e| e.to_string())?;
        let columns = rows.columns().len();
        let rows = rows
            .map(|r| r.map(tessera::sql::Row::into_values))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        Ok(QueryResult { columns, rows })
    }
    fn runs_triggers(&self) -> bool {
        false
    }
}

struct SqliteEngine {
    conn: rusqlite::Connection,
}

impl Engine for SqliteEngine {
    fn statement(&mut self, sql: &str) -> Result<(), String> {
        use rusqlite::fallible_iterator::FallibleIterator;
        // Like sqlite3_exec (the reference driver): each statement in turn, every row stepped.
        let mut batch = rusqlite::Batch::new(&self.conn, sql);
        while let Some(mut stmt) = batch.next().map_err(|e| e.to_string())? {
            let mut rows = stmt.raw_query();
            while rows.next().map_err(|e| e.to_string())?.is_some() {}
        }
        Ok(())
    }
    fn query(&mut self, sql: &str) -> Result<QueryResult, String> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| e.to_string())?;
        let columns = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(from_sqlite(row.get_ref(i).map_err(|e| e.to_string())?));
            }
            out.push(values);
        }
        Ok(QueryResult { columns, rows: out })
    }
    fn runs_triggers(&self) -> bool {
        true
    }
}

#[derive(Clone, Copy, PartialEq)]
enum EngineKind {
    Tessera,
    Sqlite,
}

impl EngineKind {
    fn from_env() -> EngineKind {
        match std::env::var("TESSERA_SLT_ENGINE") {
            Err(_) => EngineKind::Tessera,
            Ok(s) => match s.trim().to_ascii_lowercase().as_str() {
                "" | "tessera" => EngineKind::Tessera,
                "rusqlite" | "sqlite" => EngineKind::Sqlite,
                other => panic!("TESSERA_SLT_ENGINE={other:?}: expected `tessera` or `rusqlite`"),
            },
        }
    }
    fn name(self) -> &'static str {
        match self {
            EngineKind::Tessera => "tessera",
            EngineKind::Sqlite => "rusqlite (real SQLite)",
        }
    }
    /// A fresh, empty database.
    fn open(self) -> Box<dyn Engine> {
        match self {
            EngineKind::Tessera => Box::new(TesseraEngine { conn: tessera::sql::Connection::memory() }),
            EngineKind::Sqlite => Box::new(SqliteEngine {
                conn: rusqlite::Connection::open_in_memory().expect("opening an in-memory SQLite database"),
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Panics inside the engine: reported as failures of the record, quietly
// ---------------------------------------------------------------------------------------------

thread_local! {
    static IN_ENGINE: Cell<bool> = const { Cell::new(false) };
}

/// Installs a panic hook that stays silent for panics inside [`guarded`] (they become the
/// record's failure message) and defers to the previous hook otherwise.
fn install_quiet_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !IN_ENGINE.with(Cell::get) {
            previous(info);
        }
    }));
}

/// What an engine call did.
enum Outcome<T> {
    Ok(T),
    /// The engine returned an error.
    Err(String),
    /// The engine panicked: always a failure, even for `statement error`.
    Panic(String),
}

fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Outcome<T> {
    IN_ENGINE.with(|c| c.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    IN_ENGINE.with(|c| c.set(false));
    match r {
        Ok(Ok(v)) => Outcome::Ok(v),
        Ok(Err(e)) => Outcome::Err(e),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(non-string panic payload)".into());
            Outcome::Panic(msg)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum SortMode {
    /// `nosort`
    None,
    /// `rowsort`
    Rows,
    /// `valuesort`
    Values,
}

#[derive(Debug)]
enum Kind {
    Statement {
        expect_error: bool,
    },
    Query {
        types: Vec<u8>,
        sort: SortMode,
        label: Option<String>,
        /// The lines after `----`.
        expected: Vec<String>,
    },
    Halt,
    HashThreshold(usize),
    /// Something the runner does not understand: reported as a skip with a disallowed reason.
    Malformed(String),
}

#[derive(Debug)]
struct Record {
    /// 1-based line of the record's first line (its first condition, or its kind line).
    line: usize,
    /// Whether the record's `skipif` / `onlyif` conditions select this engine.
    for_us: bool,
    kind: Kind,
    sql: String,
}

/// A condition or kind line without its trailing `# comment`.
fn strip_comment(line: &str) -> &str {
    match line.find('#') {
        Some(i) => line[..i].trim_end(),
        None => line.trim_end(),
    }
}

fn parse(text: &str) -> Vec<Record> {
    let lines: Vec<&str> = text.lines().map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let blank = |l: &str| l.trim().is_empty();
    let mut records = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if blank(l) || l.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        let mut for_us = true;
        // Conditions.
        while i < lines.len() {
            let words: Vec<&str> = strip_comment(lines[i]).split_whitespace().collect();
            match words.as_slice() {
                ["skipif", engine] => for_us &= *engine != ENGINE_LABEL,
                ["onlyif", engine] => for_us &= *engine == ENGINE_LABEL,
                _ => break,
            }
            i += 1;
        }
        if i >= lines.len() || blank(lines[i]) {
            records.push(Record {
                line: start + 1,
                for_us,
                kind: Kind::Malformed("conditions without a record".into()),
                sql: String::new(),
            });
            continue;
        }
        let words: Vec<&str> = strip_comment(lines[i]).split_whitespace().collect();
        i += 1;
        // The SQL: up to a blank line (or `----` for a query).
        let sql_start = i;
        while i < lines.len() && !blank(lines[i]) && lines[i] != "----" {
            i += 1;
        }
        let sql = lines[sql_start..i].join("\n");
        let mut separator = false;
        let mut expected = Vec::new();
        if i < lines.len() && lines[i] == "----" {
            separator = true;
            i += 1;
            while i < lines.len() && !blank(lines[i]) {
                expected.push(lines[i].to_string());
                i += 1;
            }
        }
        let kind = match words.as_slice() {
            ["statement", "ok"] if !separator => Kind::Statement { expect_error: false },
            ["statement", "error"] if !separator => Kind::Statement { expect_error: true },
            ["query", types, rest @ ..] if rest.len() <= 2 => {
                let sort = match rest.first() {
                    None | Some(&"nosort") => Some(SortMode::None),
                    Some(&"rowsort") => Some(SortMode::Rows),
                    Some(&"valuesort") => Some(SortMode::Values),
                    Some(_) => None,
                };
                let label = rest.get(1).map(|s| s.to_string());
                if types.is_empty() || !types.bytes().all(|c| matches!(c, b'I' | b'R' | b'T')) {
                    Kind::Malformed(format!("bad column types {types:?}"))
                } else if sort.is_none() {
                    Kind::Malformed(format!("unknown sort mode {:?}", rest[0]))
                } else if !separator {
                    Kind::Malformed("query without a ---- line".into())
                } else {
                    Kind::Query { types: types.as_bytes().to_vec(), sort: sort.unwrap(), label, expected }
                }
            }
            ["halt"] if sql.is_empty() => Kind::Halt,
            ["hash-threshold", n] if sql.is_empty() => match n.parse() {
                Ok(n) => Kind::HashThreshold(n),
                Err(_) => Kind::Malformed(format!("bad hash-threshold {n:?}")),
            },
            _ => Kind::Malformed(format!("unknown record {:?}", words.join(" "))),
        };
        if matches!(kind, Kind::Statement { .. } | Kind::Query { .. }) && sql.trim().is_empty() {
            records.push(Record { line: start + 1, for_us, kind: Kind::Malformed("no SQL".into()), sql });
            continue;
        }
        records.push(Record { line: start + 1, for_us, kind, sql });
    }
    records
}

/// Whether the SQL creates or drops a trigger.
fn uses_triggers(sql: &str) -> bool {
    let words: Vec<String> = sql
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_uppercase())
        .collect();
    words.windows(2).any(|w| (w[0] == "CREATE" || w[0] == "DROP") && w[1] == "TRIGGER")
        || words.windows(3).any(|w| w[0] == "CREATE" && (w[1] == "TEMP" || w[1] == "TEMPORARY") && w[2] == "TRIGGER")
}

// ---------------------------------------------------------------------------------------------
// Rendering results as the reference driver (SQLite's C API) does
// ---------------------------------------------------------------------------------------------

/// `sqlite3_column_int64` of text: the integer prefix after leading spaces (sqlite3Atoi64),
/// saturating at the i64 range.
fn text_to_i64(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'-' || s[i] == b'+') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut acc: u128 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        acc = (acc * 10 + (s[i] - b'0') as u128).min(u64::MAX as u128);
        i += 1;
    }
    if neg {
        if acc >= 1u128 << 63 {
            i64::MIN
        } else {
            -(acc as i64)
        }
    } else {
        acc.min(i64::MAX as u128) as i64
    }
}

/// `sqlite3_column_double` of text: the longest prefix (after leading spaces) that reads as a
/// number, 0.0 if none.
fn text_to_f64(s: &[u8]) -> f64 {
    let s = String::from_utf8_lossy(s);
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut end = 0;
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut mantissa_digits = i - digits_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        mantissa_digits += i - frac_start;
    }
    if mantissa_digits > 0 {
        end = i;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut k = i + 1;
            if k < b.len() && (b[k] == b'-' || b[k] == b'+') {
                k += 1;
            }
            let exp_start = k;
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            if k > exp_start {
                end = k;
            }
        }
    }
    t[..end].parse::<f64>().unwrap_or(0.0)
}

/// One value as the reference driver prints it for a column of type `ty` (`I`, `R` or `T`).
fn render(v: &Value, ty: u8) -> String {
    if v.is_null() {
        return "NULL".into();
    }
    match ty {
        b'I' => {
            let i = match v {
                Value::Integer(i) => *i,
                Value::Real(r) => *r as i64, // truncates and saturates, like sqlite3RealToI64
                Value::Text(s) => text_to_i64(s.as_bytes()),
                Value::Blob(b) => text_to_i64(b),
                Value::Null => unreachable!(),
            };
            i.to_string()
        }
        b'R' => {
            let r = match v {
                Value::Integer(i) => *i as f64,
                Value::Real(r) => *r,
                Value::Text(s) => text_to_f64(s.as_bytes()),
                Value::Blob(b) => text_to_f64(b),
                Value::Null => unreachable!(),
            };
            format!("{r:.3}")
        }
        _ => {
            let text = v.to_text().into_string_lossy();
            if text.is_empty() {
                "(empty)".into()
            } else {
                text.chars().map(|c| if (' '..='~').contains(&c) { c } else { '@' }).collect()
            }
        }
    }
}

fn md5_hex(values: &[String]) -> String {
    let mut h = Md5::new();
    for v in values {
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The rendered values of a result, in the record's sort mode.
fn rendered(result: &QueryResult, types: &[u8], sort: SortMode) -> Vec<String> {
    let mut rows: Vec<Vec<String>> =
        result.rows.iter().map(|row| row.iter().zip(types).map(|(v, &t)| render(v, t)).collect()).collect();
    if sort == SortMode::Rows {
        rows.sort();
    }
    let mut values: Vec<String> = rows.into_iter().flatten().collect();
    if sort == SortMode::Values {
        values.sort();
    }
    values
}

/// Parses `N values hashing to H`.
fn parse_hash_line(expected: &[String]) -> Option<(usize, &str)> {
    let [line] = expected else { return None };
    let (n, rest) = line.split_once(" values hashing to ")?;
    Some((n.trim().parse().ok()?, rest.trim()))
}

// ---------------------------------------------------------------------------------------------
// Running a file
// ---------------------------------------------------------------------------------------------

struct Failure {
    line: usize,
    sql: String,
    expected: String,
    got: String,
}

#[derive(Default)]
struct FileReport {
    pass: usize,
    fail: usize,
    /// (line, reason)
    skipped: Vec<(usize, String)>,
    /// Records not for this engine (conditions, or after a halt).
    other_engines: usize,
    failures: Vec<Failure>,
}

fn excerpt(lines: &[String]) -> String {
    const MAX: usize = 12;
    let mut s = lines.iter().take(MAX).cloned().collect::<Vec<_>>().join("\n");
    if lines.len() > MAX {
        let _ = write!(s, "\n... ({} values in all)", lines.len());
    }
    if s.is_empty() {
        s = "(no values)".into();
    }
    s
}

fn run_file(kind: EngineKind, text: &str) -> FileReport {
    let records = parse(text);
    let mut engine = kind.open();
    let mut report = FileReport::default();
    let mut threshold = DEFAULT_HASH_THRESHOLD;
    let mut labels: HashMap<String, (usize, String)> = HashMap::new();
    let mut halted = false;
    for rec in &records {
        if halted {
            if matches!(rec.kind, Kind::Statement { .. } | Kind::Query { .. } | Kind::Malformed(_)) {
                report.other_engines += 1;
            }
            continue;
        }
        if !rec.for_us {
            if matches!(rec.kind, Kind::Statement { .. } | Kind::Query { .. }) {
                report.other_engines += 1;
            }
            continue;
        }
        let fail = |report: &mut FileReport, expected: String, got: String| {
            report.fail += 1;
            report.failures.push(Failure { line: rec.line, sql: rec.sql.clone(), expected, got });
        };
        match &rec.kind {
            Kind::Halt => halted = true,
            Kind::HashThreshold(n) => threshold = *n,
            Kind::Malformed(why) => report.skipped.push((rec.line, format!("unparseable record: {why}"))),
            Kind::Statement { .. } | Kind::Query { .. } if uses_triggers(&rec.sql) && !engine.runs_triggers() => {
                report.skipped.push((rec.line, SKIP_TRIGGERS.into()));
            }
            Kind::Statement { expect_error } => match (guarded(|| engine.statement(&rec.sql)), expect_error) {
                (Outcome::Ok(()), false) | (Outcome::Err(_), true) => report.pass += 1,
                (Outcome::Ok(()), true) => fail(&mut report, "an error".into(), "success".into()),
                (Outcome::Err(e), false) => fail(&mut report, "success".into(), format!("error: {e}")),
                (Outcome::Panic(p), _) => fail(&mut report, "no panic".into(), format!("PANIC: {p}")),
            },
            Kind::Query { types, sort, label, expected } => {
                let result = match guarded(|| engine.query(&rec.sql)) {
                    Outcome::Ok(r) => r,
                    Outcome::Err(e) => {
                        fail(&mut report, excerpt(expected), format!("error: {e}"));
                        continue;
                    }
                    Outcome::Panic(p) => {
                        fail(&mut report, excerpt(expected), format!("PANIC: {p}"));
                        continue;
                    }
                };
                if result.columns != types.len() {
                    fail(
                        &mut report,
                        format!("{} columns ({})", types.len(), String::from_utf8_lossy(types)),
                        format!("{} columns", result.columns),
                    );
                    continue;
                }
                let values = rendered(&result, types, *sort);
                let hash = md5_hex(&values);
                let got_summary = || {
                    if values.len() > threshold && threshold > 0 {
                        format!("{} values hashing to {hash}\n{}", values.len(), excerpt(&values))
                    } else {
                        excerpt(&values)
                    }
                };
                let matches = match parse_hash_line(expected) {
                    Some((n, h)) => n == values.len() && h == hash,
                    None => *expected == values,
                };
                if !matches {
                    fail(&mut report, excerpt(expected), got_summary());
                    continue;
                }
                // Every query with the same label must produce the same results.
                if let Some(label) = label {
                    match labels.get(label) {
                        Some((first_line, h)) if *h != hash => {
                            fail(
                                &mut report,
                                format!("the results of {label} (first at line {first_line}), hashing to {h}"),
                                got_summary(),
                            );
                            continue;
                        }
                        Some(_) => {}
                        None => {
                            labels.insert(label.clone(), (rec.line, hash));
                        }
                    }
                }
                report.pass += 1;
            }
        }
    }
    report
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

fn slt_dir() -> Option<PathBuf> {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/sqllogictest");
    [beside, PathBuf::from("/work/shared/sqllogictest")].into_iter().find(|p| p.is_dir())
}

fn collect_tests(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("reading a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_tests(&path, out);
        } else if path.extension().is_some_and(|x| x == "test") {
            out.push(path);
        }
    }
}

#[test]
fn every_sqllogictest_file_passes() {
    let dir = slt_dir().unwrap_or_else(|| {
        panic!(
            "sqllogictest files not found: neither {}/../shared/sqllogictest nor /work/shared/sqllogictest \
             exists (the repository must sit beside shared/)",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let kind = EngineKind::from_env();
    let filter = std::env::var("TESSERA_SLT_FILTER").ok().filter(|f| !f.is_empty());
    let mut files = Vec::new();
    collect_tests(&dir, &mut files);
    assert!(!files.is_empty(), "no *.test file under {}", dir.display());
    let files: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|p| (p.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/"), p))
        .filter(|(rel, _)| filter.as_ref().is_none_or(|f| rel.contains(f.as_str())))
        .collect();
    assert!(!files.is_empty(), "TESSERA_SLT_FILTER={filter:?} matches no file under {}", dir.display());

    println!("sqllogictest: engine {}, {} files under {}", kind.name(), files.len(), dir.display());
    install_quiet_hook();
    let mut problems = Vec::new();
    let (mut total_pass, mut total_fail, mut total_skip) = (0, 0, 0);
    // Tessera's time against real SQLite's on the same files (the reference run's records are
    // not checked here: `TESSERA_SLT_ENGINE=rusqlite` does that).
    let compare = kind == EngineKind::Tessera && std::env::var("TESSERA_SLT_COMPARE").map_or(true, |v| v != "0");
    let (mut total_time, mut total_sqlite) = (0.0f64, 0.0f64);
    for (rel, path) in &files {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let started = Instant::now();
        let r = run_file(kind, &text);
        let took = started.elapsed().as_secs_f64();
        total_time += took;
        let sqlite = compare.then(|| {
            let started = Instant::now();
            run_file(EngineKind::Sqlite, &text);
            started.elapsed().as_secs_f64()
        });
        total_sqlite += sqlite.unwrap_or(0.0);
        let n = r.pass + r.fail + r.skipped.len();
        println!(
            "{rel}: pass {}, fail {}, skip {} (of {n} records) [{} for other engines; {took:.2} s{}]",
            r.pass,
            r.fail,
            r.skipped.len(),
            r.other_engines,
            sqlite.map_or(String::new(), |t| format!(", SQLite {t:.2} s"))
        );
        for (line, reason) in &r.skipped {
            println!("  skipped {rel}:{line}: {reason}");
        }
        for f in r.failures.iter().take(FAILURES_SHOWN) {
            println!("  FAILED {rel}:{}\n    sql:\n{}", f.line, indent(&f.sql, 6));
            println!("    expected:\n{}\n    got:\n{}", indent(&f.expected, 6), indent(&f.got, 6));
        }
        if r.failures.len() > FAILURES_SHOWN {
            println!("  ... and {} more failures", r.failures.len() - FAILURES_SHOWN);
        }
        total_pass += r.pass;
        total_fail += r.fail;
        total_skip += r.skipped.len();

        // The verdict for this file.
        let bad_skips: Vec<_> =
            r.skipped.iter().filter(|(_, why)| !ALLOWED_SKIP_REASONS.contains(&why.as_str())).collect();
        if !bad_skips.is_empty() {
            problems.push(format!(
                "{rel}: {} records skipped for a reason that is not allowed (first: line {}: {})",
                bad_skips.len(),
                bad_skips[0].0,
                bad_skips[0].1
            ));
        }
        let ran = r.pass + r.fail;
        if ran == 0 {
            problems.push(format!("{rel}: no record ran"));
            continue;
        }
        let rate = r.pass as f64 / ran as f64;
        match kind {
            EngineKind::Sqlite if r.fail > 0 || !r.skipped.is_empty() => problems.push(format!(
                "{rel}: real SQLite must pass every record, but {} failed and {} were skipped",
                r.fail,
                r.skipped.len()
            )),
            EngineKind::Tessera if rate < MIN_PASS_RATE => problems.push(format!(
                "{rel}: {:.2}% of records passed ({} of {ran}); at least {:.0}% required",
                rate * 100.0,
                r.pass,
                MIN_PASS_RATE * 100.0
            )),
            _ => {}
        }
    }
    println!("sqllogictest total: pass {total_pass}, fail {total_fail}, skip {total_skip} over {} files", files.len());
    if compare {
        println!(
            "sqllogictest time: {} {total_time:.2} s, SQLite {total_sqlite:.2} s on the same files ({:.2}x SQLite's)",
            kind.name(),
            total_time / total_sqlite.max(1e-9)
        );
    } else {
        println!("sqllogictest time: {} {total_time:.2} s", kind.name());
    }
    assert!(problems.is_empty(), "sqllogictest ({}):\n{}", kind.name(), problems.join("\n"));
}

fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n")
}

// ---------------------------------------------------------------------------------------------
// The runner's own pieces
// ---------------------------------------------------------------------------------------------

#[test]
fn runner_parses_conditions_halts_and_results() {
    let text =
        "hash-threshold 8\r\n\r\nonlyif mssql  # comment\r\nhalt\r\n\r\nstatement ok\r\nCREATE TABLE t(a)\r\n\r\n\
                skipif sqlite # not here\r\nquery I nosort\r\nSELECT 1\r\n----\r\n2\r\n\r\n\
                query IT rowsort label-x\r\nSELECT 1, 'a'\r\n----\r\n1\r\na\r\n\r\nonlyif sqlite\r\nhalt\r\n\r\n\
                statement error\r\nnot run\r\n";
    let recs = parse(text);
    assert_eq!(recs.len(), 7, "{recs:#?}");
    assert!(matches!(recs[0].kind, Kind::HashThreshold(8)));
    assert!(matches!(recs[1].kind, Kind::Halt) && !recs[1].for_us);
    assert!(matches!(recs[2].kind, Kind::Statement { expect_error: false }) && recs[2].sql == "CREATE TABLE t(a)");
    assert!(!recs[3].for_us);
    match &recs[4].kind {
        Kind::Query { types, sort, label, expected } => {
            assert_eq!(types, b"IT");
            assert_eq!(*sort, SortMode::Rows);
            assert_eq!(label.as_deref(), Some("label-x"));
            assert_eq!(expected, &["1", "a"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(recs[5].kind, Kind::Halt) && recs[5].for_us);
    assert!(matches!(recs[6].kind, Kind::Statement { expect_error: true }) && recs[6].line == 24);
    let r = run_file(EngineKind::Sqlite, text);
    assert_eq!((r.pass, r.fail, r.skipped.len(), r.other_engines), (2, 0, 0, 2));
}

#[test]
fn runner_renders_like_the_reference_driver() {
    assert_eq!(render(&Value::Null, b'I'), "NULL");
    assert_eq!(render(&Value::Text(Default::default()), b'T'), "(empty)");
    assert_eq!(render(&Value::Text("a\tb\u{e9}".into()), b'T'), "a@b@");
    assert_eq!(render(&Value::Real(2.9), b'I'), "2");
    assert_eq!(render(&Value::Real(-2.9), b'I'), "-2");
    assert_eq!(render(&Value::Text(" 12.5abc".into()), b'I'), "12");
    assert_eq!(render(&Value::Text("-1e2".into()), b'R'), "-100.000");
    assert_eq!(render(&Value::Text("x".into()), b'R'), "0.000");
    assert_eq!(render(&Value::Integer(7), b'R'), "7.000");
    assert_eq!(render(&Value::Real(0.5), b'T'), "0.5");
    assert_eq!(md5_hex(&[]), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex(&["1".into()]), "b026324c6904b2a9cb4b88d6d61c81d1"); // md5("1\n")
    assert!(uses_triggers("CREATE  trigger t1r1 UPDATE ON t1 BEGIN SELECT 1; END;"));
    assert!(uses_triggers("drop\nTRIGGER x"));
    assert!(!uses_triggers("CREATE TABLE trigger_log(x)"));
}

#[test]
fn runner_detects_wrong_results() {
    // A wrong listed value, a wrong hash, a statement that should fail, and a labelled query
    // whose results differ from the label's first query (though they match its own listing):
    // each is a failure with real SQLite.
    let text = "statement ok\nCREATE TABLE t(a INTEGER)\n\nstatement ok\nINSERT INTO t VALUES(1),(2),(3)\n\n\
                query I rowsort\nSELECT a FROM t\n----\n1\n2\n4\n\n\
                query I nosort\nSELECT a FROM t ORDER BY a\n----\n3 values hashing to 0123456789abcdef0123456789abcdef\n\n\
                statement error\nINSERT INTO t VALUES(5)\n\n\
                query I nosort label-a\nSELECT 1\n----\n1\n\n\
                query I nosort label-a\nSELECT 2 - 1.0\n----\n1\n\n\
                query I nosort label-a\nSELECT '1'\n----\n1\n\n\
                query I nosort label-b\nSELECT 1\n----\n1\n\n\
                query I nosort label-b\nSELECT 2\n----\n2\n";
    let r = run_file(EngineKind::Sqlite, text);
    let failed: Vec<usize> = r.failures.iter().map(|f| f.line).collect();
    // label-a: 1, 1.0 and '1' all print as 1 in an I column, so they agree.
    assert_eq!((r.pass, r.fail), (6, 4), "failed at lines {failed:?}");
    assert_eq!(failed, [7, 14, 19, 42]);
}
