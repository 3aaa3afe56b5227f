//! Sorting, grouping, DISTINCT and set operations larger than the work-memory budget: with a
//! tiny budget the operators spill sorted runs to a temporary database. Every query must give
//! exactly the rows (and row order) of the in-memory path, and the rows SQLite gives; the
//! spill must really happen, the temporary file must be gone afterwards, memory must stay
//! near the budget, and a failing temporary device must be an error, never a panic.

mod common;

use tessera::device::{FailingDevice, MemoryDevice};
use tessera::sql::{Connection, SpillStats, Value};

const TINY: usize = 64 << 10;

fn rows_count() -> usize {
    // Debug builds (CI's `cargo test`) are ~20x slower: fewer rows, still hundreds of runs.
    let n = if cfg!(debug_assertions) { 20_000 } else { 200_000 };
    common::scaled(n)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The same rows in Tessera and SQLite: `t(id, k, s, r, b, m)` with duplicates, NULLs, text in
/// several cases and with trailing spaces, blobs with zero bytes, and a column of mixed types
/// (where 3 and 3.0 are equal).
fn setup(n: usize) -> (Connection, rusqlite::Connection) {
    let mut c = Connection::memory();
    let lite = rusqlite::Connection::open_in_memory().unwrap();
    let ddl = "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT, r REAL, b BLOB, m)";
    c.execute(ddl, ()).unwrap();
    lite.execute(ddl, []).unwrap();
    let words = ["apple", "Apple", "APPLE ", "banana", "b", "", "zeta  ", "Ünïcode"];
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut all = Vec::with_capacity(n);
    for id in 0..n as i64 {
        let x = rng.next();
        let k = if x.is_multiple_of(17) { Value::Null } else { Value::Integer((x % (n as u64 / 8 + 1)) as i64) };
        let s = if x.is_multiple_of(13) {
            Value::Null
        } else {
            Value::Text(format!("{}{}", words[(x >> 8) as usize % 8], (x >> 12) % 40).into())
        };
        let r = if x.is_multiple_of(11) { Value::Null } else { Value::Real(((x >> 16) % 4000) as f64 * 0.25 - 300.0) };
        let b =
            if x.is_multiple_of(7) { Value::Null } else { Value::Blob(vec![(x >> 20) as u8 % 4, 0, (x >> 24) as u8]) };
        let m = match (x >> 28) % 6 {
            0 => Value::Null,
            1 => Value::Integer(((x >> 32) % 50) as i64),
            2 => Value::Real(((x >> 32) % 50) as f64),
            3 => Value::Real(((x >> 32) % 50) as f64 + 0.5),
            4 => Value::Text(format!("m{}", (x >> 32) % 50).into()),
            _ => Value::Blob(vec![((x >> 32) % 50) as u8]),
        };
        all.push(vec![Value::Integer(id), k, s, r, b, m]);
    }
    c.execute("BEGIN", ()).unwrap();
    let ins = c.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)").unwrap();
    for row in &all {
        c.execute_prepared(&ins, row).unwrap();
    }
    c.execute("COMMIT", ()).unwrap();
    let tx = lite.unchecked_transaction().unwrap();
    {
        let mut st = tx.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)").unwrap();
        for row in &all {
            let p: Vec<rusqlite::types::Value> = row.iter().map(to_sqlite).collect();
            st.execute(rusqlite::params_from_iter(p)).unwrap();
        }
    }
    tx.commit().unwrap();
    (c, lite)
}

fn to_sqlite(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as L;
    match v {
        Value::Null => L::Null,
        Value::Integer(i) => L::Integer(*i),
        Value::Real(r) => L::Real(*r),
        Value::Text(s) => L::Text(s.clone().into_string_lossy()),
        Value::Blob(b) => L::Blob(b.clone()),
    }
}

fn tessera(c: &mut Connection, sql: &str) -> Vec<Vec<Value>> {
    c.query(sql, ())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .map(|r| r.map(Vec::from))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn sqlite(lite: &rusqlite::Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut st = lite.prepare(sql).unwrap();
    let n = st.column_count();
    let mut rows = st.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        out.push((0..n).map(|i| common::from_sqlite(r.get_ref(i).unwrap())).collect());
    }
    out
}

/// Exact comparison, types included (1 and 1.0 differ here).
fn show(rows: &[Vec<Value>]) -> Vec<String> {
    rows.iter().map(|r| format!("{r:?}")).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Assert equal row lists, reporting only the first difference (results are large).
fn same(got: &[String], want: &[String], what: &str) {
    if got != want {
        let i = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
        panic!(
            "{what}: {} rows vs {} expected; first difference at {i}: {:?} vs {:?}",
            got.len(),
            want.len(),
            got.get(i),
            want.get(i)
        );
    }
}

/// Run `sql` with the default budget and with a tiny one: identical rows in identical order,
/// and the tiny run spilled. Returns the rows and the tiny run's spill counters.
fn both(c: &mut Connection, sql: &str) -> (Vec<Vec<Value>>, SpillStats) {
    c.set_work_memory(64 << 20);
    c.reset_spill_stats();
    let big = tessera(c, sql);
    assert_eq!(c.spill_stats().runs, 0, "{sql}: spilled under the default budget");
    c.set_work_memory(TINY);
    c.reset_spill_stats();
    let small = tessera(c, sql);
    same(&show(&small), &show(&big), &format!("{sql}: spilled vs in-memory"));
    (small, c.spill_stats())
}

/// Ordered queries: the same rows in the same order as SQLite too.
const ORDERED: &[&str] = &[
    "SELECT id, k, s FROM t ORDER BY k, id",
    "SELECT id, s FROM t ORDER BY s DESC NULLS FIRST, id",
    "SELECT id, s, k FROM t ORDER BY s NULLS LAST, k DESC NULLS LAST, id DESC",
    "SELECT id, m FROM t ORDER BY m, id",
    "SELECT id, m, b FROM t ORDER BY m DESC, b, id",
    "SELECT id, b, r FROM t ORDER BY b DESC, r NULLS LAST, id",
    "SELECT id, s FROM t ORDER BY s COLLATE NOCASE, id DESC",
    "SELECT id, s FROM t ORDER BY s COLLATE RTRIM DESC, id",
    "SELECT k, count(*), sum(r), min(s), max(s), count(DISTINCT s) FROM t GROUP BY k ORDER BY 2 DESC, 1",
];

/// Queries whose row order SQLite does not fix (compared with SQLite as multisets).
const UNORDERED: &[&str] = &[
    "SELECT k, count(*), count(k), sum(r), total(r), avg(r), min(s), max(s), min(m), max(b) FROM t GROUP BY k",
    "SELECT m, count(*), count(DISTINCT k), sum(DISTINCT r), avg(id) FROM t GROUP BY m",
    "SELECT s, k % 5, count(*), max(id) FROM t GROUP BY s, k % 5 HAVING count(*) > 1",
    "SELECT count(*), count(DISTINCT s), count(DISTINCT k), sum(r), min(b) FROM t",
    "SELECT DISTINCT k, s FROM t",
    "SELECT DISTINCT m FROM t",
    "SELECT k FROM t UNION SELECT id % 777 FROM t",
    "SELECT s, k FROM t WHERE id % 2 = 0 UNION SELECT s, k FROM t WHERE id % 3 = 0",
    "SELECT m FROM t UNION SELECT r FROM t",
    "SELECT k, s FROM t WHERE id % 2 = 0 INTERSECT SELECT k, s FROM t WHERE id % 3 = 0",
    "SELECT k FROM t EXCEPT SELECT id FROM t WHERE id % 5 = 0",
    "SELECT k FROM t UNION ALL SELECT k FROM t",
];

/// group_concat's order inside a group is not fixed by SQLite: compared with the in-memory
/// path only (arrival order in both).
const ONLY_TESSERA: &[&str] = &[
    "SELECT k, group_concat(s), group_concat(id, '-') FROM t GROUP BY k",
    "SELECT group_concat(DISTINCT m) FROM t WHERE typeof(m) = 'text'",
    "SELECT s, group_concat(k) FROM t GROUP BY s ORDER BY 2 DESC",
];

#[test]
fn spilled_queries_match_in_memory_and_sqlite() {
    let n = rows_count();
    let (mut c, lite) = setup(n);
    for sql in ORDERED {
        let (got, st) = both(&mut c, sql);
        assert!(st.runs > 0, "{sql}: did not spill: {st:?}");
        same(&show(&got), &show(&sqlite(&lite, sql)), &format!("{sql}: vs SQLite"));
    }
    for sql in UNORDERED {
        let (got, st) = both(&mut c, sql);
        let small_result = got.len() * 64 < TINY;
        let union_all = sql.contains("UNION ALL");
        assert!(st.runs > 0 || small_result || union_all, "{sql}: did not spill: {st:?}");
        same(&sorted(show(&got)), &sorted(show(&sqlite(&lite, sql))), &format!("{sql}: vs SQLite"));
    }
    for sql in ONLY_TESSERA {
        both(&mut c, sql);
    }
    // The big GROUP BY really spilled, with many runs (merged in several passes).
    let (_, st) = both(&mut c, UNORDERED[0]);
    assert!(st.runs > 20, "{st:?}");
    // Memory stayed near the budget: no operator held more than the budget plus a margin
    // for the entry that crossed it.
    assert!(st.peak_buffered <= 2 * TINY as u64, "{st:?}");
}

#[test]
fn order_by_limit_keeps_only_the_top_rows() {
    let n = rows_count();
    let (mut c, lite) = setup(n);
    for sql in [
        "SELECT id, k FROM t ORDER BY k, id LIMIT 10",
        "SELECT id, s FROM t ORDER BY s DESC, id LIMIT 25 OFFSET 40",
        "SELECT id, upper(s) FROM t ORDER BY r NULLS LAST, id DESC LIMIT 5",
        "SELECT k, count(*) FROM t GROUP BY k ORDER BY 2 DESC, 1 LIMIT 3",
    ] {
        c.set_work_memory(TINY);
        let before = c.spill_stats();
        let got = tessera(&mut c, sql);
        let after = c.spill_stats();
        same(&show(&got), &show(&sqlite(&lite, sql)), sql);
        if !sql.contains("GROUP BY") {
            // A bounded top-k: nothing spilled, little held.
            assert_eq!(after.runs, before.runs, "{sql}: {after:?}");
        }
    }
    // A limit larger than the budget allows still spills and is still right.
    let sql = "SELECT id, s FROM t ORDER BY s, id LIMIT 5000 OFFSET 10";
    let before = c.spill_stats().runs;
    let got = tessera(&mut c, sql);
    assert!(c.spill_stats().runs > before);
    same(&show(&got), &show(&sqlite(&lite, sql)), sql);
}

#[test]
fn temp_file_lives_while_rows_stream_and_is_removed_after() {
    let (mut c, _lite) = setup(20_000);
    let dir = tempfile::tempdir().unwrap();
    c.set_temp_dir(Some(dir.path().to_path_buf()));
    c.set_work_memory(TINY);
    let files = || std::fs::read_dir(dir.path()).unwrap().count();
    {
        let mut rows = c.query("SELECT id, s FROM t ORDER BY s, id", ()).unwrap();
        for _ in 0..10 {
            rows.next().unwrap().unwrap();
        }
        // On Unix the file is unlinked as soon as it is open (see below); elsewhere it is
        // there until the operator is dropped.
        assert_eq!(files(), if cfg!(unix) { 0 } else { 1 }, "temporary files while the rows stream");
    } // dropped half read
    assert_eq!(files(), 0, "temporary file left behind after drop");
    // Read to the end: removed as soon as the merge is done.
    let mut rows = c.query("SELECT k, count(*) FROM t GROUP BY k", ()).unwrap();
    let mut count = 0;
    for r in rows.by_ref() {
        r.unwrap();
        count += 1;
    }
    drop(rows);
    assert!(count > 100);
    assert_eq!(files(), 0);
    assert!(c.spill_stats().temp_databases >= 2);
}

/// On Unix a spill file has no name while it is in use: it is unlinked right after it is
/// opened, so it cannot outlive the process (a killed query used to leave multi-GB
/// `tessera-spill-*.tmp` files behind). The query still reads its runs through the open
/// descriptor and returns the right rows.
#[cfg(unix)]
#[test]
fn spill_file_has_no_name_while_in_use() {
    let (mut c, lite) = setup(20_000);
    let dir = tempfile::tempdir().unwrap();
    c.set_temp_dir(Some(dir.path().to_path_buf()));
    c.set_work_memory(TINY);
    c.reset_spill_stats();
    let sql = "SELECT id, s FROM t ORDER BY s, id";
    let stmt = c.prepare(sql).unwrap();
    let mut cursor = c.start(&stmt, ()).unwrap();
    let mut got = vec![cursor.next(&c).unwrap().unwrap()];
    let st = c.spill_stats();
    assert!(st.temp_databases == 1 && st.runs > 1, "the query did not spill: {st:?}");
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(names.is_empty(), "spill files visible while the query streams: {names:?}");
    // The file is still open, without a name (Linux shows such descriptors as "(deleted)").
    #[cfg(target_os = "linux")]
    {
        let open: Vec<String> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .map(|p| p.display().to_string())
            .filter(|p| p.starts_with(&dir.path().display().to_string()))
            .collect();
        assert!(open.len() == 1 && open[0].ends_with(" (deleted)"), "{open:?}");
    }
    while let Some(row) = cursor.next(&c) {
        got.push(row.unwrap());
    }
    same(&show(&got), &show(&sqlite(&lite, sql)), "rows read back from an unlinked spill file");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A process killed while its query streams from spilled runs leaves no file behind. The
/// child is this test binary running `spill_child_process` (which does nothing unless
/// `TESSERA_SPILL_CHILD_DIR` is set): it spills into the directory, says so, and waits to be
/// killed.
#[cfg(unix)]
#[test]
fn killed_query_leaves_no_spill_file() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "spill_child_process", "--nocapture", "--test-threads", "1"])
        .env("TESSERA_SPILL_CHILD_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.by_ref().map_while(Result::ok).find(|l| l.contains("SPILLED"));
    assert!(ready.is_some(), "the child did not spill");
    child.kill().unwrap();
    child.wait().unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "files left behind by the killed process: {left:?}");
}

/// The child of `killed_query_leaves_no_spill_file` (a no-op when run on its own).
#[cfg(unix)]
#[test]
fn spill_child_process() {
    let Some(dir) = std::env::var_os("TESSERA_SPILL_CHILD_DIR") else { return };
    let (mut c, _lite) = setup(20_000);
    c.set_temp_dir(Some(dir.into()));
    c.set_work_memory(TINY);
    let stmt = c.prepare("SELECT id, s FROM t ORDER BY s, id").unwrap();
    let mut cursor = c.start(&stmt, ()).unwrap();
    cursor.next(&c).unwrap().unwrap();
    assert!(c.spill_stats().runs > 1);
    println!("\nSPILLED");
    std::thread::sleep(std::time::Duration::from_secs(120));
    panic!("not killed");
}

#[test]
fn failing_temp_device_is_an_error_not_a_panic() {
    let (mut c, _lite) = setup(20_000);
    c.set_work_memory(TINY);
    let want = {
        c.set_temp_device(|| Ok(Box::new(MemoryDevice::new())));
        tessera(&mut c, "SELECT id FROM t ORDER BY s, id")
    };
    let mut failures = 0;
    for fail_after in [0u64, 1, 5, 20, 60, 200, 1000] {
        c.set_temp_device(move || Ok(Box::new(FailingDevice::new(MemoryDevice::new(), fail_after))));
        for sql in [
            "SELECT id FROM t ORDER BY s, id",
            "SELECT k, count(*) FROM t GROUP BY k",
            "SELECT DISTINCT s, k FROM t",
            "SELECT s FROM t UNION SELECT k FROM t",
        ] {
            match c.query(sql, ()).and_then(|r| r.map(|r| r.map(Vec::from)).collect::<Result<Vec<_>, _>>()) {
                Ok(rows) => {
                    if sql.contains("ORDER BY") {
                        same(&show(&rows), &show(&want), sql);
                    }
                }
                Err(e) => {
                    failures += 1;
                    assert!(matches!(e, tessera::Error::Io { .. } | tessera::Error::Poisoned), "{sql}: {e}");
                }
            }
        }
    }
    assert!(failures > 0);
    // The connection is fine afterwards.
    c.set_temp_device(|| Ok(Box::new(MemoryDevice::new())));
    same(&show(&tessera(&mut c, "SELECT id FROM t ORDER BY s, id")), &show(&want), "after failures");
}
