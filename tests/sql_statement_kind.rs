//! `Prepared::kind` and `Prepared::returns_rows`: what the JS bindings ask of a statement
//! (whether it is a query, a write or transaction control, and whether rows come back).

use tessera::sql::{Connection, StatementKind};

#[test]
fn kinds_and_whether_rows_come_back() {
    let mut c = Connection::memory();
    c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)", ()).unwrap();
    let cases = [
        ("SELECT * FROM t", StatementKind::Query, true),
        ("VALUES (1), (2)", StatementKind::Query, true),
        ("WITH w AS (SELECT 1) SELECT * FROM w", StatementKind::Query, true),
        ("EXPLAIN SELECT * FROM t", StatementKind::Explain, true),
        ("INSERT INTO t(b) VALUES (1)", StatementKind::Insert, false),
        ("REPLACE INTO t VALUES (1, 2) RETURNING a", StatementKind::Insert, true),
        ("UPDATE t SET b = 2", StatementKind::Update, false),
        ("UPDATE t SET b = 2 RETURNING *", StatementKind::Update, true),
        ("DELETE FROM t", StatementKind::Delete, false),
        ("DELETE FROM t RETURNING b", StatementKind::Delete, true),
        ("BEGIN", StatementKind::Transaction, false),
        ("COMMIT", StatementKind::Transaction, false),
        ("ROLLBACK", StatementKind::Transaction, false),
        ("PRAGMA synchronous", StatementKind::Pragma, true),
        ("PRAGMA synchronous = OFF", StatementKind::Pragma, false),
        ("CREATE TABLE u(x)", StatementKind::Schema, false),
        ("CREATE INDEX t_b ON t(b)", StatementKind::Schema, false),
        ("CREATE VIEW v AS SELECT a FROM t", StatementKind::Schema, false),
        ("ALTER TABLE t ADD COLUMN c", StatementKind::Schema, false),
        ("DROP TABLE t", StatementKind::Schema, false),
        ("REINDEX", StatementKind::Schema, false),
    ];
    for (sql, kind, rows) in cases {
        let p = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!((p.kind(), p.returns_rows()), (kind, rows), "{sql}");
    }
}
