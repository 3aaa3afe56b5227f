//! `Connection::check`: the SQL-level integrity check. Each test damages an SQL database
//! through the engine (the hidden `internal_tables` access, as a bug or a foreign writer
//! would) in a way the engine's own check cannot see — every page and tree stays valid — and
//! asserts that the SQL check names the damage; healthy databases report nothing.

use tessera::sql::encoding::{decode_row, encode_key, encode_key_dir, encode_row, rowid_key};
use tessera::sql::{internal_tables, Connection, SqlCheckReport, Value};
use tessera::Database;

fn exec(c: &mut Connection, sql: &str) {
    c.execute(sql, ()).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn check(c: &Connection) -> SqlCheckReport {
    c.check().unwrap_or_else(|e| panic!("check failed: {e}"))
}

/// The fields of schema record `obj:<name>`.
fn schema_record(db: &Database, name: &str) -> Vec<Value> {
    let rx = db.begin_read().unwrap();
    let t = rx.open_table("sql:schema").unwrap();
    let v = t.get(format!("obj:{name}").as_bytes()).unwrap().unwrap_or_else(|| panic!("no obj:{name}"));
    let mut vals = Vec::new();
    decode_row(&v, &mut vals).unwrap();
    vals
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        v => panic!("not an integer: {v:?}"),
    }
}

/// The engine table holding table `name`'s rows.
fn table_storage(db: &Database, name: &str) -> String {
    format!("sql:{}", int(&schema_record(db, name)[2]))
}

/// The engine table of index `name` (made by CREATE INDEX).
fn index_storage(db: &Database, name: &str) -> String {
    format!("sql:{}", int(&schema_record(db, name)[3]))
}

/// The engine table of table `name`'s `n`-th automatic index (UNIQUE constraint).
fn auto_index_storage(db: &Database, name: &str, n: usize) -> String {
    let rec = schema_record(db, name);
    let nsql = int(&rec[3]) as usize;
    format!("sql:{}", int(&rec[4 + nsql + n]))
}

/// Write (or with `None` remove) one engine entry of the SQL layer, committed.
fn poke(db: &Database, table: &str, key: &[u8], value: Option<&[u8]>) {
    let w = db.begin_write().unwrap();
    {
        let mut t = internal_tables::open(&w, table).unwrap();
        match value {
            Some(v) => t.insert(key, v).unwrap(),
            None => assert!(t.remove(key).unwrap(), "{table}: no such key {key:?}"),
        }
    }
    w.commit().unwrap();
}

fn record(vals: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_row(&mut out, vals);
    out
}

/// The key of an index entry: the indexed values, then the row key.
fn index_key(values: &[Value], row_key: &[u8]) -> Vec<u8> {
    let mut k = Vec::new();
    for v in values {
        encode_key(&mut k, v);
    }
    k.extend_from_slice(row_key);
    k
}

/// The row key of `pairs` (WITHOUT ROWID, PRIMARY KEY(a, b DESC)).
fn pairs_key(a: &str, b: f64) -> Vec<u8> {
    let mut k = Vec::new();
    encode_key_dir(&mut k, &Value::Text(a.into()), false);
    encode_key_dir(&mut k, &Value::Real(b), true);
    k
}

/// A database with a bit of everything: rowid tables with and without INTEGER PRIMARY KEY,
/// UNIQUE constraints (single and multi-column, NULLs repeated), secondary indexes (DESC,
/// multi-column, on an added column), WITHOUT ROWID with a DESC key column, ALTER TABLE ADD
/// COLUMN (rows before and after), RENAME COLUMN, DROP COLUMN, RENAME TO, a view, negative
/// rowids, REAL / TEXT / BLOB values.
fn healthy(c: &mut Connection) {
    exec(c, "CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT NOT NULL, age INTEGER)");
    exec(c, "CREATE INDEX users_age ON users(age DESC, name)");
    exec(c, "INSERT INTO users VALUES (-5, 'neg@x', 'neg', 40), (1, 'a@x', 'ada', 36), (2, NULL, 'bob', NULL)");
    exec(c, "INSERT INTO users(email, name, age) VALUES (NULL, 'carl', 36), ('d@x', 'dan', 7)");
    exec(c, "CREATE TABLE pairs(a TEXT, b REAL, c BLOB, PRIMARY KEY(a, b DESC)) WITHOUT ROWID");
    exec(c, "CREATE UNIQUE INDEX pairs_c ON pairs(c)");
    exec(c, "INSERT INTO pairs VALUES ('x', 1.5, x'00'), ('x', 2, x'0100'), ('y', -1, NULL), ('', 0, NULL)");
    exec(c, "CREATE TABLE legacy(code TEXT PRIMARY KEY, qty INTEGER, UNIQUE(qty, code))");
    exec(c, "INSERT INTO legacy VALUES ('a', 1), ('b', NULL), (NULL, 3), (NULL, 4)");
    exec(c, "ALTER TABLE legacy ADD COLUMN note TEXT DEFAULT 'none'");
    exec(c, "CREATE INDEX legacy_note ON legacy(note)");
    exec(c, "INSERT INTO legacy VALUES ('c', 5, 'set')");
    exec(c, "ALTER TABLE legacy RENAME COLUMN qty TO quantity");
    exec(c, "ALTER TABLE users ADD COLUMN extra BLOB");
    exec(c, "ALTER TABLE users DROP COLUMN extra");
    exec(c, "ALTER TABLE legacy RENAME TO old_stock");
    exec(c, "CREATE VIEW adults AS SELECT name FROM users WHERE age >= 18");
    exec(c, "CREATE TABLE empty(x)");
    exec(c, "CREATE TABLE gone(x UNIQUE)");
    exec(c, "DROP TABLE gone");
    exec(c, "UPDATE users SET age = age + 1 WHERE name = 'ada'");
    exec(c, "DELETE FROM users WHERE name = 'dan'");
}

#[test]
fn healthy_databases_report_nothing() {
    let c = Connection::memory();
    let r = check(&c);
    assert!(r.is_ok() && !r.has_schema, "{r:?}");

    let mut c = Connection::memory();
    healthy(&mut c);
    let r = check(&c);
    assert!(r.is_ok(), "{:#?}", r.problems);
    assert!(r.has_schema);
    assert_eq!((r.tables, r.indexes, r.views), (4, 6, 1), "{r:?}");
    assert_eq!(r.rows, 4 + 4 + 5, "{r:?}");
    // users: email (UNIQUE) and users_age hold 4 rows each; pairs: pairs_c 4; old_stock: its key
    // (PRIMARY KEY on a rowid table), the UNIQUE pair and old_stock_note (legacy_note) 5 each.
    assert_eq!(r.index_entries, 4 * 2 + 4 + 5 * 3, "{r:?}");
    assert!(c.database().check().unwrap().is_ok());

    // Also inside an explicit transaction (the check reads the last commit) and on a file.
    exec(&mut c, "BEGIN");
    exec(&mut c, "INSERT INTO empty VALUES (1)");
    assert!(check(&c).is_ok());
    exec(&mut c, "COMMIT");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    {
        let mut f = Connection::open(&path).unwrap();
        healthy(&mut f);
    }
    let f = Connection::open(&path).unwrap();
    assert!(check(&f).is_ok(), "{:#?}", check(&f).problems);
}

/// A table far larger than the work memory: the expected index entries are sorted through the
/// external sorter (spilling runs), so the check's memory stays bounded, and it still finds a
/// single missing entry among them.
#[test]
fn large_tables_are_checked_within_the_work_memory() {
    let mut c = Connection::memory();
    exec(&mut c, "CREATE TABLE big(id INTEGER PRIMARY KEY, k INTEGER, s TEXT UNIQUE)");
    exec(&mut c, "CREATE INDEX big_k ON big(k)");
    exec(&mut c, "BEGIN");
    for i in 0..30_000i64 {
        c.execute("INSERT INTO big VALUES (?, ?, ?)", (i, (i * 7919) % 1000, format!("s{i:06}"))).unwrap();
    }
    exec(&mut c, "COMMIT");
    c.set_work_memory(64 << 10);
    c.reset_spill_stats();
    let r = check(&c);
    assert!(r.is_ok(), "{:#?}", r.problems);
    assert_eq!((r.rows, r.index_entries), (30_000, 60_000));
    let st = c.spill_stats();
    assert!(st.runs > 2, "the check did not spill: {st:?}");
    assert!(st.peak_buffered <= 2 * (64 << 10), "{st:?}");

    let db = c.database().clone();
    let ix = index_storage(&db, "big_k");
    poke(&db, &ix, &index_key(&[Value::Integer((12_345 * 7919) % 1000)], &rowid_key(12_345)), None);
    let r = check(&c);
    assert_eq!(r.problems.len(), 1, "{:#?}", r.problems);
    assert!(r.problems[0].contains("big_k") && r.problems[0].contains("rowid 12345"), "{}", r.problems[0]);
}

/// Asserts that the engine check passes and the SQL check reports problems, each containing
/// every one of `words`; returns the problems.
fn damaged(c: &Connection, words: &[&str]) -> Vec<String> {
    let engine = c.database().check().unwrap();
    assert!(engine.is_ok(), "the engine check sees this damage: {engine:?}");
    let r = check(c);
    assert!(!r.is_ok(), "the SQL check found nothing");
    for p in &r.problems {
        for w in words {
            assert!(p.contains(w), "problem {p:?} does not mention {w:?}; all: {:#?}", r.problems);
        }
    }
    r.problems
}

fn fresh() -> (Connection, Database) {
    let mut c = Connection::memory();
    healthy(&mut c);
    let db = c.database().clone();
    (c, db)
}

#[test]
fn garbage_in_the_schema_table_is_reported() {
    // The meta record.
    let (c, db) = fresh();
    poke(&db, "sql:schema", b"meta", Some(b"garbage"));
    damaged(&c, &["meta"]);

    // An object's record that does not decode.
    let (c, db) = fresh();
    poke(&db, "sql:schema", b"obj:users", Some(b"\x05garbage"));
    damaged(&c, &["obj:users"]);

    // A record that decodes but whose SQL does not parse.
    let (c, db) = fresh();
    let mut rec = schema_record(&db, "empty");
    rec[4] = Value::Text("CREATE TABLE empty(x".into());
    poke(&db, "sql:schema", b"obj:empty", Some(&record(&rec)));
    damaged(&c, &["obj:empty"]);

    // An ALTER text that no longer replays (the column it renames does not exist).
    let (c, db) = fresh();
    let mut rec = schema_record(&db, "old_stock");
    let nsql = int(&rec[3]) as usize;
    assert!(nsql >= 3, "{rec:?}");
    rec[4 + 2] = Value::Text("ALTER TABLE legacy RENAME COLUMN nope TO quantity".into());
    poke(&db, "sql:schema", b"obj:old_stock", Some(&record(&rec)));
    damaged(&c, &["old_stock", "no such column"]);

    // An index on a column the table does not have: reported, and statements fail cleanly
    // instead of indexing past the row.
    let (c, db) = fresh();
    let mut rec = schema_record(&db, "users_age");
    rec[7] = Value::Integer(99);
    poke(&db, "sql:schema", b"obj:users_age", Some(&record(&rec)));
    damaged(&c, &["users_age", "99"]);
    let mut other = Connection::new(db.clone()).unwrap(); // loads the schema afresh
    let e = other.execute("INSERT INTO users(name) VALUES ('x')", ()).unwrap_err();
    assert!(e.to_string().contains("users_age"), "{e}");

    // A record under a key that is not its name, and an unknown key.
    let (c, db) = fresh();
    let rec = schema_record(&db, "adults");
    poke(&db, "sql:schema", b"obj:grownups", Some(&record(&rec)));
    poke(&db, "sql:schema", b"whatever", Some(&record(&[Value::Integer(1)])));
    let p = damaged(&c, &[]);
    assert!(p.iter().any(|p| p.contains("obj:grownups")), "{p:#?}");
    assert!(p.iter().any(|p| p.contains("whatever")), "{p:#?}");
}

#[test]
fn missing_and_stray_storage_tables_are_reported() {
    let (c, db) = fresh();
    let ix = index_storage(&db, "users_age");
    let w = db.begin_write().unwrap();
    assert!(internal_tables::delete(&w, &ix).unwrap());
    w.commit().unwrap();
    damaged(&c, &["users_age", &ix]);

    let (c, db) = fresh();
    poke(&db, "sql:999", b"k", Some(b"v"));
    damaged(&c, &["sql:999"]);
}

#[test]
fn damaged_rows_are_reported() {
    // A row record that does not decode.
    let (c, db) = fresh();
    let t = table_storage(&db, "users");
    poke(&db, &t, &rowid_key(1), Some(b"\x04\x01"));
    damaged(&c, &["users", "rowid 1"]);

    // A record with bytes after its columns.
    let (c, db) = fresh();
    let mut rec = record(&[Value::Integer(2), Value::Null, Value::Text("bob".into()), Value::Null]);
    rec.push(0);
    poke(&db, &t, &rowid_key(2), Some(&rec));
    damaged(&c, &["users", "rowid 2"]);

    // A row under a key that is not a rowid key (a non-canonical spelling of 7).
    let (c, db) = fresh();
    let rec = record(&[Value::Integer(7), Value::Text("e@x".into()), Value::Text("eve".into()), Value::Null]);
    poke(&db, &t, &[0x82, 0x00, 0x07], Some(&rec));
    let p = damaged(&c, &[]);
    assert!(p.iter().any(|p| p.contains("users") && p.contains("82 00 07")), "{p:#?}");

    // An INTEGER PRIMARY KEY column that disagrees with the rowid.
    let (c, db) = fresh();
    let rec = record(&[Value::Integer(3), Value::Text("a@x".into()), Value::Text("ada".into()), Value::Integer(37)]);
    poke(&db, &t, &rowid_key(1), Some(&rec));
    damaged(&c, &["users", "rowid 1"]);

    // NOT NULL violated.
    let (c, db) = fresh();
    let rec = record(&[Value::Integer(1), Value::Text("a@x".into()), Value::Null, Value::Integer(37)]);
    poke(&db, &t, &rowid_key(1), Some(&rec));
    let p = damaged(&c, &[]);
    assert!(p.iter().any(|p| p.contains("NOT NULL") && p.contains("users.name")), "{p:#?}");

    // A WITHOUT ROWID row whose key is not its primary key columns.
    let (c, db) = fresh();
    let t = table_storage(&db, "pairs");
    let key = pairs_key("x", 1.5);
    let rec = record(&[Value::Text("z".into()), Value::Real(1.5), Value::Blob(vec![0])]);
    poke(&db, &t, &key, Some(&rec));
    let p = damaged(&c, &[]);
    assert!(p.iter().any(|p| p.contains("pairs") && p.contains("PRIMARY KEY")), "{p:#?}");
}

#[test]
fn index_entries_must_match_the_rows() {
    // An entry removed.
    let (c, db) = fresh();
    let ix = index_storage(&db, "users_age");
    let mut k = Vec::new();
    encode_key_dir(&mut k, &Value::Integer(37), true);
    encode_key_dir(&mut k, &Value::Text("ada".into()), false);
    k.extend_from_slice(&rowid_key(1));
    poke(&db, &ix, &k, None);
    let p = damaged(&c, &["users_age", "missing", "rowid 1"]);
    assert_eq!(p.len(), 1, "{p:#?}");

    // An extra entry (pointing at a row that does not exist).
    let (c, db) = fresh();
    let mut k = Vec::new();
    encode_key_dir(&mut k, &Value::Integer(50), true);
    encode_key_dir(&mut k, &Value::Text("zed".into()), false);
    k.extend_from_slice(&rowid_key(77));
    poke(&db, &ix, &k, Some(b""));
    let p = damaged(&c, &["users_age", "rowid 77"]);
    assert_eq!(p.len(), 1, "{p:#?}");

    // A row added behind the SQL layer's back, without its index entries.
    let (c, db) = fresh();
    let t = table_storage(&db, "users");
    let rec = record(&[Value::Integer(9), Value::Text("i@x".into()), Value::Text("ivy".into()), Value::Integer(5)]);
    poke(&db, &t, &rowid_key(9), Some(&rec));
    let p = damaged(&c, &["missing", "rowid 9"]);
    assert_eq!(p.len(), 2, "one per index of users: {p:#?}");

    // An entry whose row exists but with other values.
    let (c, db) = fresh();
    let email = auto_index_storage(&db, "users", 0);
    poke(&db, &email, &index_key(&[Value::Text("a@x".into())], &rowid_key(1)), None);
    poke(&db, &email, &index_key(&[Value::Text("b@x".into())], &rowid_key(1)), Some(b""));
    let p = damaged(&c, &["rowid 1"]);
    assert_eq!(p.len(), 2, "one missing, one extra: {p:#?}");

    // An entry that does not decode, and one with a value.
    let (c, db) = fresh();
    poke(&db, &email, b"\x99junk", Some(b""));
    poke(&db, &index_storage(&db, "pairs_c"), &index_key(&[Value::Null], &pairs_key("y", -1.0)), Some(b"x"));
    let p = damaged(&c, &[]);
    assert!(p.iter().any(|p| p.contains("sqlite_autoindex_users_1")), "{p:#?}");
    assert!(p.iter().any(|p| p.contains("pairs_c")), "{p:#?}");
}

#[test]
fn duplicates_in_unique_indexes_are_reported() {
    // Two rows with the same email, both consistently indexed: every row has its entry, but the
    // UNIQUE constraint is broken.
    let (c, db) = fresh();
    let t = table_storage(&db, "users");
    let email = auto_index_storage(&db, "users", 0);
    let age = index_storage(&db, "users_age");
    let rec = record(&[Value::Integer(8), Value::Text("a@x".into()), Value::Text("ann".into()), Value::Null]);
    poke(&db, &t, &rowid_key(8), Some(&rec));
    poke(&db, &email, &index_key(&[Value::Text("a@x".into())], &rowid_key(8)), Some(b""));
    let mut k = Vec::new();
    encode_key_dir(&mut k, &Value::Null, true);
    encode_key_dir(&mut k, &Value::Text("ann".into()), false);
    k.extend_from_slice(&rowid_key(8));
    poke(&db, &age, &k, Some(b""));
    let p = damaged(&c, &["sqlite_autoindex_users_1", "users.email", "rowid 1", "rowid 8"]);
    assert_eq!(p.len(), 1, "{p:#?}");

    // The same in a CREATE UNIQUE INDEX over a WITHOUT ROWID table; NULLs never conflict.
    let (c, db) = fresh();
    let t = table_storage(&db, "pairs");
    let key = pairs_key("q", 0.0);
    poke(&db, &t, &key, Some(&record(&[Value::Text("q".into()), Value::Real(0.0), Value::Blob(vec![0])])));
    poke(&db, &index_storage(&db, "pairs_c"), &index_key(&[Value::Blob(vec![0])], &key), Some(b""));
    damaged(&c, &["pairs_c", "UNIQUE"]);
}

/// The SQL layer itself never leaves these problems behind: after failing statements,
/// rollbacks, OR REPLACE and upserts the check stays clean.
#[test]
fn statements_keep_the_database_consistent() {
    let mut c = Connection::memory();
    healthy(&mut c);
    assert!(c.execute("INSERT INTO users VALUES (1, 'dup', 'x', 1)", ()).is_err());
    exec(&mut c, "INSERT OR REPLACE INTO users VALUES (1, 'd@x', 'ada2', 1)");
    exec(&mut c, "INSERT INTO users VALUES (20, 'z@x', 'zed', 9) ON CONFLICT(id) DO UPDATE SET age = 10");
    exec(&mut c, "INSERT INTO users VALUES (20, 'z@x', 'zed', 9) ON CONFLICT(id) DO UPDATE SET age = 11");
    exec(&mut c, "BEGIN");
    exec(&mut c, "UPDATE users SET email = NULL WHERE id = 20");
    assert!(c.execute("UPDATE users SET email = 'd@x'", ()).is_err());
    exec(&mut c, "DELETE FROM pairs WHERE a = 'x'");
    exec(&mut c, "ROLLBACK");
    exec(&mut c, "UPDATE OR REPLACE pairs SET c = x'00' WHERE a = 'y'");
    exec(&mut c, "CREATE INDEX late ON old_stock(quantity, note)");
    exec(&mut c, "DROP INDEX users_age");
    let r = check(&c);
    assert!(r.is_ok(), "{:#?}", r.problems);
}

/// A DDL statement that fails inside BEGIN ... COMMIT is undone on its own like any other
/// statement: no schema record, generation bump, engine table or index entry of it survives
/// the COMMIT. (A failed CREATE UNIQUE INDEX used to leave its half-filled engine table
/// behind, with the schema's storage id counter bumped.)
#[test]
fn failed_ddl_in_a_transaction_leaves_nothing() {
    let mut c = Connection::memory();
    healthy(&mut c);
    exec(&mut c, "CREATE TABLE d(a, b)");
    exec(&mut c, "INSERT INTO d VALUES (1, 'x'), (2, 'x'), (3, 'y')");
    let engine_tables = |c: &Connection| c.database().begin_read().unwrap().list_tables().unwrap();
    let tables_before = engine_tables(&c);
    let schema_before = c.schema_objects().unwrap().len();
    exec(&mut c, "BEGIN");
    exec(&mut c, "INSERT INTO d VALUES (4, 'z')");
    // Fails on the duplicate 'x' after filling part of the index.
    assert!(c.execute("CREATE UNIQUE INDEX d_b ON d(b)", ()).is_err());
    // Fails while computing the selected rows (integer overflow in abs()).
    let e = c.execute("CREATE TABLE s AS SELECT a, abs(-9223372036854775807 - a) FROM d", ());
    assert!(e.is_err(), "{e:?}");
    // The transaction goes on, and the names are free.
    exec(&mut c, "CREATE INDEX d_a ON d(a)");
    exec(&mut c, "COMMIT");
    let r = check(&c);
    assert!(r.is_ok(), "{:#?}", r.problems);
    assert_eq!(c.schema_objects().unwrap().len(), schema_before + 1, "only d_a was added");
    assert_eq!(engine_tables(&c).len(), tables_before.len() + 1, "only d_a's engine table was added");
    assert_eq!(c.query_one::<i64>("SELECT count(*) FROM d", ()).unwrap(), 4);
    exec(&mut c, "CREATE TABLE s(x)");
    exec(&mut c, "CREATE INDEX d_b ON d(b)");
}
