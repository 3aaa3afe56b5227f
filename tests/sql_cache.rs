//! The connection's statement cache (`Connection::set_statement_cache_size`): a repeated text
//! is neither parsed nor planned again, and a cached plan never runs against a schema other
//! than the one it was made for — whoever changed the schema, and even when the change was
//! rolled back and another one took its generation number.

use tessera::sql::{Connection, Named, Value};
use tessera::Database;

fn rows(c: &mut Connection, sql: &str) -> Vec<Vec<Value>> {
    c.query(sql, ()).unwrap().map(|r| r.unwrap().values().to_vec()).collect()
}

fn columns(c: &mut Connection, sql: &str) -> Vec<String> {
    c.query(sql, ()).unwrap().columns().to_vec()
}

fn int(i: i64) -> Value {
    Value::Integer(i)
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn repeated_texts_hit_the_cache_and_give_the_same_rows() {
    let mut c = Connection::memory();
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)", ()).unwrap();
    for i in 0..10 {
        c.execute("INSERT INTO t VALUES (?, ?)", (i, format!("v{i}"))).unwrap();
    }
    let before = c.statement_cache_stats();
    let first = rows(&mut c, "SELECT * FROM t WHERE id = 5");
    assert_eq!(first, [vec![int(5), text("v5")]]);
    for _ in 0..5 {
        assert_eq!(rows(&mut c, "SELECT * FROM t WHERE id = 5"), first);
    }
    let p = c.prepare("SELECT * FROM t WHERE id = 5").unwrap();
    assert_eq!(c.query_prepared(&p, ()).unwrap().count(), 1);
    let after = c.statement_cache_stats();
    assert_eq!(after.misses - before.misses, 1, "{before:?} {after:?}");
    assert_eq!(after.hits - before.hits, 6, "{before:?} {after:?}");
    // The INSERT was a single statement run by `execute`: cached too.
    assert!(c.statement_cached("INSERT INTO t VALUES (?, ?)"));
}

#[test]
fn add_column_shows_in_a_cached_select_star() {
    let mut c = Connection::memory();
    c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)", ()).unwrap();
    c.execute("INSERT INTO t VALUES (1, 'x')", ()).unwrap();
    assert_eq!(columns(&mut c, "SELECT * FROM t"), ["a", "b"]);
    let held = c.prepare("SELECT * FROM t").unwrap();
    c.execute("ALTER TABLE t ADD COLUMN c DEFAULT 7", ()).unwrap();
    assert_eq!(columns(&mut c, "SELECT * FROM t"), ["a", "b", "c"]);
    assert_eq!(rows(&mut c, "SELECT * FROM t"), [vec![int(1), text("x"), int(7)]]);
    // A statement prepared before the change, from the cache, is re-planned as well.
    assert_eq!(c.query_prepared(&held, ()).unwrap().columns(), ["a", "b", "c"]);
}

#[test]
fn drop_and_recreate_with_another_shape() {
    let mut c = Connection::memory();
    c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)", ()).unwrap();
    c.execute("INSERT INTO t VALUES (1, 'old')", ()).unwrap();
    assert_eq!(rows(&mut c, "SELECT * FROM t"), [vec![int(1), text("old")]]);
    c.execute("DROP TABLE t", ()).unwrap();
    assert!(c.query("SELECT * FROM t", ()).is_err(), "the table is gone");
    c.execute("CREATE TABLE t(x TEXT, y INTEGER, z)", ()).unwrap();
    c.execute("INSERT INTO t VALUES ('new', 2, 3)", ()).unwrap();
    assert_eq!(columns(&mut c, "SELECT * FROM t"), ["x", "y", "z"]);
    assert_eq!(rows(&mut c, "SELECT * FROM t"), [vec![text("new"), int(2), int(3)]]);
}

#[test]
fn a_cached_insert_keeps_an_index_created_after_it() {
    let mut c = Connection::memory();
    c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)", ()).unwrap();
    c.execute("INSERT INTO t VALUES (?, ?)", (1, 10)).unwrap();
    assert!(c.statement_cached("INSERT INTO t VALUES (?, ?)"));
    c.execute("CREATE INDEX t_b ON t(b)", ()).unwrap();
    c.execute("INSERT INTO t VALUES (?, ?)", (2, 42)).unwrap();
    // Read through the index: the row is there only if the insert wrote its entry.
    assert_eq!(rows(&mut c, "SELECT a FROM t WHERE b = 42"), [vec![int(2)]]);
    let report = c.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    // A UNIQUE index created after the statement was cached is enforced by it.
    c.execute("CREATE UNIQUE INDEX t_b_unique ON t(b)", ()).unwrap();
    assert!(c.execute("INSERT INTO t VALUES (?, ?)", (3, 42)).is_err());
    assert_eq!(rows(&mut c, "SELECT count(*) FROM t"), [vec![int(2)]]);
}

#[test]
fn a_cached_query_stops_reading_a_dropped_index() {
    let mut c = Connection::memory();
    c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)", ()).unwrap();
    c.execute("CREATE INDEX t_b ON t(b)", ()).unwrap();
    c.execute("INSERT INTO t VALUES (1, 5), (2, 6)", ()).unwrap();
    let q = "SELECT a FROM t WHERE b = 5";
    assert_eq!(rows(&mut c, q), [vec![int(1)]]);
    c.execute("DROP INDEX t_b", ()).unwrap();
    c.execute("INSERT INTO t VALUES (3, 5)", ()).unwrap();
    assert_eq!(rows(&mut c, q), [vec![int(1)], vec![int(3)]]);
}

#[test]
fn a_schema_change_through_another_connection() {
    let db = Database::memory();
    let mut a = Connection::new(db.clone()).unwrap();
    let mut b = Connection::new(db.clone()).unwrap();
    a.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)", ()).unwrap();
    a.execute("INSERT INTO t VALUES (1, 'x')", ()).unwrap();
    assert_eq!(rows(&mut a, "SELECT * FROM t"), [vec![int(1), text("x")]]);
    b.execute("ALTER TABLE t ADD COLUMN c DEFAULT 'added'", ()).unwrap();
    assert_eq!(rows(&mut a, "SELECT * FROM t"), [vec![int(1), text("x"), text("added")]]);
    // Dropped and created again with another shape by the other connection.
    b.execute("DROP TABLE t; CREATE TABLE t(p, q); INSERT INTO t VALUES ('p', 'q')", ()).unwrap();
    assert_eq!(rows(&mut a, "SELECT * FROM t"), [vec![text("p"), text("q")]]);
    // And a cached write of the first connection follows the new shape.
    a.execute("INSERT INTO t VALUES (?, ?)", ("r", "s")).unwrap();
    b.execute("ALTER TABLE t ADD COLUMN extra DEFAULT 0", ()).unwrap();
    assert!(a.execute("INSERT INTO t VALUES (?, ?)", ("u", "v")).is_err(), "three columns now");
    assert_eq!(rows(&mut b, "SELECT count(*) FROM t"), [vec![int(2)]]);
}

/// A plan made inside a transaction that changed the schema and rolled back is for a
/// generation number the database never had; the next change (here by another connection)
/// takes that number with a different schema.
#[test]
fn a_rolled_back_schema_change_leaves_no_plan_behind() {
    let db = Database::memory();
    let mut a = Connection::new(db.clone()).unwrap();
    let mut b = Connection::new(db.clone()).unwrap();
    a.execute("CREATE TABLE t(a INTEGER PRIMARY KEY)", ()).unwrap();
    a.execute("INSERT INTO t VALUES (1)", ()).unwrap();
    assert_eq!(columns(&mut a, "SELECT * FROM t"), ["a"]);
    let held = a.prepare("SELECT * FROM t").unwrap();
    a.execute("BEGIN", ()).unwrap();
    a.execute("ALTER TABLE t ADD COLUMN gone DEFAULT 'rolled back'", ()).unwrap();
    assert_eq!(columns(&mut a, "SELECT * FROM t"), ["a", "gone"]);
    a.execute("ROLLBACK", ()).unwrap();
    b.execute("ALTER TABLE t ADD COLUMN kept DEFAULT 'committed'", ()).unwrap();
    assert_eq!(rows(&mut a, "SELECT * FROM t"), [vec![int(1), text("committed")]]);
    assert_eq!(a.query_prepared(&held, ()).unwrap().columns(), ["a", "kept"]);

    // The same through one connection, with a failing statement ending the transaction.
    a.execute("BEGIN", ()).unwrap();
    a.execute("ALTER TABLE t ADD COLUMN gone2", ()).unwrap();
    assert_eq!(columns(&mut a, "SELECT * FROM t"), ["a", "kept", "gone2"]);
    assert!(a.execute("INSERT OR ROLLBACK INTO t(a) VALUES (1)", ()).is_err());
    assert!(!a.in_transaction());
    a.execute("ALTER TABLE t ADD COLUMN kept2 DEFAULT 2", ()).unwrap();
    assert_eq!(columns(&mut a, "SELECT * FROM t"), ["a", "kept", "kept2"]);
}

#[test]
fn the_bound_evicts_the_least_recently_used() {
    let mut c = Connection::memory();
    c.set_statement_cache_size(3);
    assert_eq!(c.statement_cache_size(), 3);
    let texts = ["SELECT 1", "SELECT 2", "SELECT 3", "SELECT 4", "SELECT 5"];
    for t in &texts[..3] {
        c.prepare(t).unwrap();
    }
    c.query(texts[0], ()).unwrap().for_each(drop); // now the most recently used
    c.prepare(texts[3]).unwrap(); // evicts "SELECT 2"
    let cached: Vec<bool> = texts.iter().map(|t| c.statement_cached(t)).collect();
    assert_eq!(cached, [true, false, true, true, false]);
    c.execute(texts[4], ()).unwrap(); // evicts "SELECT 3"
    let cached: Vec<bool> = texts.iter().map(|t| c.statement_cached(t)).collect();
    assert_eq!(cached, [true, false, false, true, true]);
    assert_eq!(c.statement_cache_stats().entries, 3);
    // Shrinking drops the least recently used first.
    c.set_statement_cache_size(1);
    let cached: Vec<bool> = texts.iter().map(|t| c.statement_cached(t)).collect();
    assert_eq!(cached, [false, false, false, false, true]);
    // Many texts through a small cache: the bound holds and every answer is right.
    c.set_statement_cache_size(8);
    for i in 0..200 {
        let sql = format!("SELECT {}", i % 13);
        assert_eq!(rows(&mut c, &sql), [vec![int(i % 13)]]);
        assert!(c.statement_cache_stats().entries <= 8);
    }
}

#[test]
fn size_zero_disables_the_cache() {
    let mut c = Connection::memory();
    c.execute("CREATE TABLE t(a)", ()).unwrap();
    assert!(c.statement_cache_stats().entries > 0);
    c.set_statement_cache_size(0);
    assert_eq!(c.statement_cache_stats().entries, 0);
    let before = c.statement_cache_stats();
    for i in 0..5 {
        c.execute("INSERT INTO t VALUES (?)", (i,)).unwrap();
        assert_eq!(rows(&mut c, "SELECT count(*) FROM t"), [vec![int(i + 1)]]);
    }
    c.prepare("SELECT a FROM t").unwrap();
    let after = c.statement_cache_stats();
    assert_eq!((after.entries, after.hits), (0, before.hits));
    assert!(!c.statement_cached("SELECT count(*) FROM t"));
}

#[test]
fn what_is_not_cached() {
    let mut c = Connection::memory();
    c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)", ()).unwrap();
    // Several statements in one text.
    c.execute("INSERT INTO t VALUES (1, 1); INSERT INTO t VALUES (2, 2)", ()).unwrap();
    assert!(!c.statement_cached("INSERT INTO t VALUES (1, 1); INSERT INTO t VALUES (2, 2)"));
    // EXPLAIN: its text follows the row counts as well as the schema.
    rows(&mut c, "EXPLAIN QUERY PLAN SELECT * FROM t");
    assert!(!c.statement_cached("EXPLAIN QUERY PLAN SELECT * FROM t"));
    // A text longer than 16 KiB.
    let long = format!("SELECT 1 {}", " ".repeat(17 * 1024));
    assert_eq!(rows(&mut c, &long), [vec![int(1)]]);
    assert!(!c.statement_cached(&long));
    // A text that does not parse, or fails to plan.
    assert!(c.query("SELEC 1", ()).is_err());
    assert!(!c.statement_cached("SELEC 1"));
    // A later syntax error does not stop the statements before it (as before the cache).
    assert!(c.execute("INSERT INTO t VALUES (3, 3); SELEC", ()).is_err());
    assert_eq!(rows(&mut c, "SELECT count(*) FROM t"), [vec![int(3)]]);
}

#[test]
fn cached_transaction_control_and_named_parameters() {
    let mut c = Connection::memory();
    c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)", ()).unwrap();
    for i in 0..3 {
        c.execute("BEGIN", ()).unwrap();
        c.execute("INSERT INTO t(b) VALUES (:b)", Named(&[(":b", Value::from(i))])).unwrap();
        if i == 1 {
            c.execute("ROLLBACK", ()).unwrap();
        } else {
            c.execute("COMMIT", ()).unwrap();
        }
    }
    assert!(c.statement_cached("BEGIN") && c.statement_cached("COMMIT"));
    assert_eq!(rows(&mut c, "SELECT b FROM t ORDER BY b"), [vec![int(0)], vec![int(2)]]);
    // A wrong name is still refused when the text comes from the cache.
    let wrong = Named(&[(":nope", Value::from(1))]);
    assert!(c.execute("INSERT INTO t(b) VALUES (:b)", wrong).is_err());
}

#[test]
fn two_cursors_of_one_cached_statement() {
    let mut c = Connection::memory();
    c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)", ()).unwrap();
    let p1 = c.prepare("SELECT a FROM t ORDER BY a").unwrap();
    let p2 = c.prepare("SELECT a FROM t ORDER BY a").unwrap();
    let mut x = c.start(&p1, ()).unwrap();
    let mut y = c.start(&p2, ()).unwrap();
    let mut seen = Vec::new();
    while let (Some(r), Some(s)) = (x.next(&c), y.next(&c)) {
        seen.push((r.unwrap(), s.unwrap()));
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|(r, s)| r == s));
}

#[test]
fn connections_and_statements_stay_send() {
    fn send<T: Send>() {}
    send::<Connection>();
    send::<tessera::sql::Prepared>();
}
