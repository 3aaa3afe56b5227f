//! SQL storage format 2 → 3: format 2 wrote the keys of NOCASE and RTRIM columns (in indexes
//! and WITHOUT ROWID primary keys) unfolded; format 3 folds them by the collation. A format-2
//! database with such keys is upgraded in place the first time a connection opens it
//! writable; read-only, it is refused with an error that says so; and when the upgrade meets
//! values equal under a UNIQUE collation (format 2 let them in), it fails naming the index and
//! changes nothing.
//!
//! The two files under `tests/data/` were written by commit 2f972d0 (format 2) from the SQL in
//! [`FIXTURE`] and [`DUPLICATES`]; every answer is compared with SQLite running the same SQL.

mod common;

use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};
use tessera::sql::{Connection, Value};
use tessera::{Database, Error, Options};

const FIXTURE: &str = "
CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE UNIQUE, tag TEXT);
CREATE INDEX u_tag ON u(tag COLLATE NOCASE, id);
CREATE TABLE w(k TEXT COLLATE RTRIM PRIMARY KEY, v TEXT) WITHOUT ROWID;
CREATE INDEX w_v ON w(v);
CREATE TABLE p(a TEXT, b INTEGER);
CREATE INDEX p_a ON p(a);
INSERT INTO u(name, tag) VALUES ('alice', 'Red'), ('Bob', 'red'), ('carol', 'BLUE'), ('Dave', 'blue'), ('eve', 'Green');
INSERT INTO w VALUES ('x', 'one'), ('Y  ', 'two'), ('z ', 'three'), ('a', 'four');
INSERT INTO p VALUES ('A', 1), ('a', 2), ('b', 3);
";

const DUPLICATES: &str = "
CREATE TABLE d(id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE UNIQUE);
INSERT INTO d(name) VALUES ('Ann'), ('ANN'), ('bo');
";

/// Queries whose answers depend on the keys being folded (lookups, ranges and order through
/// the collated indexes and primary key).
const QUERIES: [&str; 10] = [
    "SELECT id FROM u WHERE name = 'ALICE'",
    "SELECT id FROM u WHERE name >= 'b' AND name < 'D' ORDER BY name",
    "SELECT id FROM u WHERE tag = 'RED' ORDER BY id",
    "SELECT tag, count(*) FROM u GROUP BY tag COLLATE NOCASE ORDER BY 1 COLLATE NOCASE",
    "SELECT name FROM u ORDER BY name",
    "SELECT v FROM w WHERE k = 'x   '",
    "SELECT v FROM w WHERE k = 'Y'",
    "SELECT k FROM w ORDER BY k",
    "SELECT b FROM p WHERE a = 'a'",
    "SELECT v FROM w WHERE v > 'o' ORDER BY v",
];

fn unpack(name: &str) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    let mut bytes = Vec::new();
    GzDecoder::new(std::fs::File::open(&src).unwrap()).read_to_end(&mut bytes).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("db.tsr");
    std::fs::write(&path, bytes).unwrap();
    (tmp, path)
}

fn rows(c: &mut Connection, sql: &str) -> Vec<Vec<Value>> {
    c.query(sql, ()).unwrap_or_else(|e| panic!("{sql}: {e}")).map(|r| r.unwrap().into_values()).collect()
}

fn sqlite_rows(s: &rusqlite::Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut st = s.prepare(sql).unwrap();
    let n = st.column_count();
    let mut out = Vec::new();
    let mut q = st.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        out.push((0..n).map(|i| common::from_sqlite(r.get_ref(i).unwrap())).collect());
    }
    out
}

fn meta_format(path: &Path) -> i64 {
    let db = Database::open_with(path, Options { read_only: true, ..Options::default() }).unwrap();
    let rx = db.begin_read().unwrap();
    let t = rx.open_table("sql:schema").unwrap();
    let rec = t.get(b"meta").unwrap().unwrap();
    let mut vals = Vec::new();
    tessera::sql::encoding::decode_row(&rec, &mut vals).unwrap();
    match vals.get(2) {
        Some(Value::Integer(f)) => *f,
        v => panic!("meta format field: {v:?}"),
    }
}

#[test]
fn format_2_collated_keys_are_upgraded_when_opened_writable() {
    let (_tmp, path) = unpack("sql-format2-collated.tsr.gz");
    assert_eq!(meta_format(&path), 2);
    // Read-only: refused (the keys cannot be read as they are), nothing written.
    let before = std::fs::read(&path).unwrap();
    let ro = Database::open_with(&path, Options { read_only: true, ..Options::default() }).unwrap();
    let mut c = Connection::new(ro).unwrap();
    let e = c.query("SELECT * FROM u", ()).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("SQL storage format 2"), "{e}");
    drop(c);
    assert!(std::fs::read(&path).unwrap() == before, "a read-only open wrote");

    // Writable: upgraded on open; every answer is SQLite's.
    let sqlite = rusqlite::Connection::open_in_memory().unwrap();
    sqlite.execute_batch(FIXTURE).unwrap();
    let mut c = Connection::open(&path).unwrap();
    for q in QUERIES {
        assert_eq!(rows(&mut c, q), sqlite_rows(&sqlite, q), "{q}");
    }
    let report = c.check().unwrap();
    assert!(report.is_ok(), "{report:?}");
    // The folded keys enforce the collation now.
    assert!(matches!(c.execute("INSERT INTO u(name) VALUES ('ALICE')", ()), Err(Error::Constraint(_))));
    assert!(matches!(c.execute("INSERT INTO w VALUES ('x  ', 'dup')", ()), Err(Error::Constraint(_))));
    drop(c);
    assert_eq!(meta_format(&path), 3);
    // And after a reopen, the same.
    let mut c = Connection::open(&path).unwrap();
    for q in QUERIES {
        assert_eq!(rows(&mut c, q), sqlite_rows(&sqlite, q), "{q}, reopened");
    }
}

#[test]
fn format_2_duplicates_under_a_unique_collation_fail_the_upgrade_untouched() {
    let (_tmp, path) = unpack("sql-format2-collated-duplicates.tsr.gz");
    let e = Connection::open(&path).map(|_| ()).unwrap_err();
    assert!(matches!(e, Error::Constraint(_)) && e.to_string().contains("cannot upgrade index"), "{e}");
    // Nothing committed: still format 2, every row there (read with the old encoding's
    // binary-only lookups: a plain scan).
    assert_eq!(meta_format(&path), 2);
    let db = Database::open_with(&path, Options { read_only: true, ..Options::default() }).unwrap();
    let rx = db.begin_read().unwrap();
    let n = rx.list_tables().unwrap().iter().filter(|t| t.starts_with("sql:") && *t != "sql:schema").count();
    assert!(n >= 2, "the table and its index are still there");
    // SQLite would never have let these rows in.
    let sqlite = rusqlite::Connection::open_in_memory().unwrap();
    assert!(sqlite.execute_batch(DUPLICATES).is_err());
}
