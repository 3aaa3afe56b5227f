//! Long random histories of SQL sessions against real SQLite (rusqlite, bundled): each session
//! opens the database, runs a transaction or a few autocommits of INSERT OR REPLACE, UPDATE and
//! DELETE on a table with an index and BLOBs from a few bytes to several pages (overflow runs
//! come and go, the free list grows and shrinks and spans many pages), sometimes a
//! checkpoint or a compaction, and closes it; after every reopen the whole table, index-driven
//! queries and the SQL integrity check must agree with SQLite. This is the history of
//! `freelist_next_pointer.sh` (the 16th session of the shell could not reopen its file), run
//! through the SQL layer and compared row by row. Scaled by `TESSERA_TEST_SCALE`.

mod common;

use common::{from_sqlite, scaled, Rng};
use std::sync::Arc;
use tessera::sql::{Connection, Value};
use tessera::{Database, MemoryDevice, Options};

const SCHEMA: [&str; 2] = ["CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB, w TEXT)", "CREATE INDEX t_w ON t(w)"];

fn rows_sqlite(db: &rusqlite::Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut st = db.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| Ok((0..n).map(|i| from_sqlite(r.get_ref(i).unwrap())).collect()))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn rows_tessera(db: &mut Connection, sql: &str) -> Vec<Vec<Value>> {
    db.query(sql, ()).unwrap_or_else(|e| panic!("{sql}: {e}")).map(|r| r.unwrap().into_values()).collect()
}

/// A statement with its parameters, run on both sides.
fn both(t: &mut Connection, s: &rusqlite::Connection, sql: &str, params: &[Value]) {
    let n = t.execute(sql, params).unwrap_or_else(|e| panic!("tessera: {sql}: {e}"));
    let m = s
        .execute(sql, rusqlite::params_from_iter(params.iter().map(common::to_sqlite)))
        .unwrap_or_else(|e| panic!("sqlite: {sql}: {e}"));
    // (SQLite reports the last DML statement's count for any other statement.)
    if ["INSERT", "UPDATE", "DELETE"].iter().any(|d| sql.starts_with(d)) {
        assert_eq!(n, m as u64, "{sql}: changed rows");
    }
}

fn session(t: &mut Connection, s: &rusqlite::Connection, rng: &mut Rng) {
    let in_txn = rng.below(3) != 0;
    if in_txn {
        both(t, s, "BEGIN", &[]);
    }
    let ops = 20 + rng.below(if in_txn { 900 } else { 40 });
    let insert_pct = [85, 55, 25][rng.below(3) as usize];
    for _ in 0..ops {
        let k = rng.below(6000) as i64;
        match rng.below(100) {
            p if p < insert_pct => {
                let len = [0usize, 10, 100, 2000, 6000, 15_000][rng.below(6) as usize];
                let blob = common::value(rng.next_u64(), len);
                let w = format!("{:08x}", rng.below(1 << 20));
                both(
                    t,
                    s,
                    "INSERT OR REPLACE INTO t VALUES (?, ?, ?)",
                    &[Value::Integer(k), Value::Blob(blob), Value::Text(w.into())],
                );
            }
            p if p < insert_pct + 5 => {
                both(
                    t,
                    s,
                    "UPDATE t SET w = upper(w) WHERE k BETWEEN ? AND ?",
                    &[Value::Integer(k), Value::Integer(k + 40)],
                );
            }
            _ => both(t, s, "DELETE FROM t WHERE k = ?", &[Value::Integer(k)]),
        }
    }
    if in_txn {
        both(t, s, "COMMIT", &[]);
    }
}

fn compare(t: &mut Connection, s: &rusqlite::Connection, ctx: &str) {
    for q in [
        "SELECT k, length(v), hex(substr(v, 1, 16)), hex(substr(v, -16)), w FROM t ORDER BY k",
        "SELECT w, k FROM t WHERE w >= '0007' AND w < '0009' ORDER BY w, k",
        "SELECT count(*), sum(length(v)), min(w), max(w) FROM t",
    ] {
        let (a, b) = (rows_tessera(t, q), rows_sqlite(s, q));
        assert!(a == b, "{ctx}: {q}: {} rows vs SQLite's {}", a.len(), b.len());
    }
    let report = t.check().unwrap_or_else(|e| panic!("{ctx}: SQL check: {e}"));
    assert!(report.is_ok(), "{ctx}: SQL check: {report:?}");
}

fn run(seed: u64, sessions: usize, opts: Options) -> u64 {
    let dev = Arc::new(MemoryDevice::new());
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let mut rng = Rng(seed);
    let mut list_pages = 0;
    {
        let mut t = Connection::open_device(dev.clone(), opts.clone()).unwrap();
        for sql in SCHEMA {
            both(&mut t, &s, sql, &[]);
        }
    }
    for n in 0..sessions {
        let ctx = format!("seed {seed}, session {n}");
        let db = Database::open_device(dev.clone(), opts.clone()).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
        let report = db.check().unwrap();
        assert!(report.is_ok(), "{ctx}: check: {report:?}");
        let mut t = Connection::new(db.clone()).unwrap();
        compare(&mut t, &s, &ctx);
        session(&mut t, &s, &mut rng);
        match rng.below(6) {
            0 => db.checkpoint().unwrap(),
            1 => {
                db.compact().unwrap();
            }
            _ => {}
        }
        list_pages = list_pages.max(db.stats().free_list_pages);
        drop(t);
        db.close().unwrap();
    }
    list_pages
}

#[test]
fn sql_sessions_agree_with_sqlite() {
    let opts = Options { cache_size: 128 * 4096, max_log_size: 256 << 10, ..Options::default() };
    for seed in 0..scaled(2) as u64 {
        run(seed, scaled(40), opts.clone());
    }
}

/// The same with free-list pages of three runs each: long free lists out of little free space.
#[test]
fn sql_sessions_with_tiny_free_list_pages() {
    let opts = Options { free_list_runs_per_page: 3, cache_size: 128 * 4096, ..Options::default() };
    let mut list_pages = 0;
    for seed in 50..50 + scaled(2) as u64 {
        list_pages = list_pages.max(run(seed, scaled(40), opts.clone()));
    }
    assert!(list_pages >= 20, "the histories never made a long free list ({list_pages} pages)");
}
