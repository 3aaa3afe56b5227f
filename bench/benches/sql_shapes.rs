//! Everyday query shapes, Tessera's SQL layer (`tessera::sql`) against SQLite (rusqlite,
//! bundled) side by side in one process, on the same data: the queries that apps and ORMs
//! write every day (primary-key and index lookups, ORDER BY ... LIMIT, min/max/count, OR and
//! IN lists, IN/EXISTS/NOT EXISTS subqueries, LEFT JOIN anti-joins, scalar subqueries, GROUP
//! BY with HAVING, LIKE/GLOB prefixes, 3-table joins in two FROM orders, keyset paging, and
//! the cost of preparing many distinct statement texts). It looks for plans that make a shape
//! needlessly slow, and for answers that differ from SQLite's.
//!
//! Engines: Tessera opens its file with `tessera::sql::Connection::open`; SQLite runs in WAL
//! mode with `synchronous=NORMAL` and its page cache set to Tessera's default cache size
//! (`tessera::Options::default().cache_size`). Both use prepared statements with `?`
//! parameters (Tessera: `Connection::prepare` + `query_prepared`; SQLite: `prepare`), except
//! the statement-preparation shape, which prepares every text afresh on both sides.
//!
//! Data (fixed-seed xorshift generator; N rows, loaded untimed in one transaction per engine,
//! indexes created after the load):
//! - `t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL)`, ids 1..=N; `a` has N/10
//!   distinct values 0..N/10 with ~1% NULLs; `b` is `'name%07d'` of a random number below
//!   10^7 (so `b LIKE 'name0123%'` is a prefix range of ~N/10^4 rows); `c` a random real in
//!   [0, 1000). Indexes `t_a ON t(a)` and `t_b ON t(b)`.
//! - `u(id INTEGER PRIMARY KEY, t_id INTEGER, w INTEGER)`, 2N rows, `t_id` a random t id
//!   (so ~13.5% of t rows have no u row), `w` random below 1000. Indexes `u_t ON u(t_id)`
//!   and `u_w ON u(w)` (the latter so that shape 26's correlated IN has an indexed u side).
//! - `g(id INTEGER PRIMARY KEY, name TEXT)`, 100 rows with ids 0..100, which `t.a % 100`
//!   refers to (3-table joins).
//!
//! ANALYZE: the harness probes Tessera with `ANALYZE`; only if Tessera accepts it is SQLite
//! analyzed too (otherwise neither is), and it prints which.
//!
//! Shapes (the numbers are the ones used by `TESSERA_SHAPES_ONLY`; each row of the table shows
//! its SQL): 1-2 first/last rows by primary key; 3 OFFSET paging; 4-6 min/max through the
//! primary key or an index; 7-8 count(*); 9-10 ORDER BY through an index; 11-13 OR and IN
//! lists; 14 IN (subquery); 15-16 DISTINCT / GROUP BY through an index; 17-18 LIKE / GLOB
//! prefix with a bound pattern; 19-20 correlated EXISTS / NOT EXISTS; 21 LEFT JOIN anti-join;
//! 22 scalar subquery per row; 23 point select; 24a-b index lookups (24b covering); 25 GROUP BY
//! with HAVING on the group key; 26 correlated IN; 27a-b 3-table join written in two FROM
//! orders; 28 range ORDER BY LIMIT; 29 keyset paging; 30 count(DISTINCT); 31 sum/avg over an
//! index range; 32 `= ? COLLATE NOCASE`; 33 preparation of 5,000 distinct statement texts
//! (`SELECT * FROM t WHERE id = <literal>`, parse + plan + run once each; its times are per
//! statement); 34-41 more of what ORMs emit (pk IN list, join from an index lookup, top-N sort,
//! IS NULL count, EXISTS probe, top groups, has-many fetch, index lookup with a residual
//! filter).
//!
//! Checking: before timing, every shape runs on both engines with 5 parameter sets (one when it
//! has none; fewer when those take over 2 s) and the full result rows are compared: in order when the SQL defines the order,
//! as sorted multisets when it does not, and for `ORDER BY <non-unique key> LIMIT` by the key
//! sequence plus the rows of every complete tie group (the rows of the tie group cut by the
//! LIMIT are not defined). Reals compare equal within a relative 1e-12 (sums may be added in a
//! different order). A shape whose answers differ is printed with both first differing rows
//! and reported `mismatch`, and the run exits non-zero at the end. A shape Tessera rejects
//! (error) is reported `unsupported` and is not a failure; a SQLite error is (the harness's
//! SQL is wrong).
//!
//! Timing: each shape runs repeatedly with parameters drawn from a fixed-seed generator (256
//! sets, cycled, so it is not one cached lookup) until ~200 ms have passed (and at least 3
//! times unless one run takes over a second); 3 such rounds per engine, interleaved
//! Tessera/SQLite; the table shows the median ms per query and the ratio SQLite / Tessera (at
//! least 1.0: Tessera is at least as fast). Rows are consumed on both sides (Tessera's come
//! decoded; on SQLite every column is read with `get_ref`).
//!
//! Run: `cargo bench --manifest-path bench/Cargo.toml --bench sql_shapes` from the repository
//! root. Run without `--bench` (as `cargo test --benches` in `bench/` does) it is a smoke
//! test: N = 2000, 200 statement texts, one short round. Environment:
//! - `TESSERA_SHAPES_N`: rows in t (default 1_000_000; 2000 in smoke runs).
//! - `TESSERA_SHAPES_ONLY`: comma-separated shape numbers or names to run a subset, e.g.
//!   `TESSERA_SHAPES_ONLY=14,27,anti-join` (`27` selects 27a and 27b).
//! - `TESSERA_SHAPES_EXPLAIN`: if set, prints both engines' `EXPLAIN QUERY PLAN` of each
//!   shape (with its first parameter set) before running it.
//! - `TESSERA_BENCH_DIR`: directory for the database files (default
//!   `<cargo target dir>/bench-tmp`); the run gets its own temp dir inside, removed after.
//! - `TESSERA_BENCH_OUT`: if set, the Markdown table is also written there.

mod common;

use common::{env_usize, fs_type, target_dir, Rng};
use std::cmp::Ordering;
use std::error::Error;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn Error>>;

const SEED: u64 = 0x5e1e_c7ab_2024_0033;
const FULL_N: usize = 1_000_000;
const FULL_TEXTS: usize = 5_000;
const SMOKE_TEXTS: usize = 200;
const PARAM_SETS: usize = 256;
const CHECK_SETS: usize = 5;
const ROUNDS: usize = 3;
const G_ROWS: i64 = 100;

const SCHEMA: [&str; 3] = [
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL)",
    "CREATE TABLE u(id INTEGER PRIMARY KEY, t_id INTEGER, w INTEGER)",
    "CREATE TABLE g(id INTEGER PRIMARY KEY, name TEXT)",
];
const INDEXES: [&str; 4] =
    ["CREATE INDEX t_a ON t(a)", "CREATE INDEX t_b ON t(b)", "CREATE INDEX u_t ON u(t_id)", "CREATE INDEX u_w ON u(w)"];
const INSERT_T: &str = "INSERT INTO t VALUES (?1, ?2, ?3, ?4)";
const INSERT_U: &str = "INSERT INTO u VALUES (?1, ?2, ?3)";
const INSERT_G: &str = "INSERT INTO g VALUES (?1, ?2)";

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

struct Data {
    n: usize,
    /// Distinct values of a: 0..na.
    na: usize,
    /// a, b, c of the row with id i + 1.
    a: Vec<Option<i64>>,
    b: Vec<String>,
    c: Vec<f64>,
    /// u rows: (t_id, w); u.id is the index + 1.
    u: Vec<(i64, i64)>,
}

impl Data {
    fn new(n: usize) -> Data {
        let mut rng = Rng::new(SEED);
        let na = (n / 10).max(1);
        let mut a = Vec::with_capacity(n);
        let mut b = Vec::with_capacity(n);
        let mut c = Vec::with_capacity(n);
        for _ in 0..n {
            a.push(if rng.below(100) == 0 { None } else { Some(rng.below(na) as i64) });
            b.push(format!("name{:07}", rng.below(10_000_000)));
            c.push((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 1000.0);
        }
        let u = (0..2 * n).map(|_| (rng.below(n) as i64 + 1, rng.below(1000) as i64)).collect();
        Data { n, na, a, b, c, u }
    }
    fn id(&self, rng: &mut Rng) -> i64 {
        rng.below(self.n) as i64 + 1
    }
    /// A start s of a range s..=s+width of t ids.
    fn id_range(&self, rng: &mut Rng, width: usize) -> i64 {
        rng.below(self.n.saturating_sub(width).max(1)) as i64 + 1
    }
    fn u_range(&self, rng: &mut Rng, width: usize) -> i64 {
        rng.below((2 * self.n).saturating_sub(width).max(1)) as i64 + 1
    }
    fn a(&self, rng: &mut Rng) -> i64 {
        rng.below(self.na) as i64
    }
    fn a_range(&self, rng: &mut Rng, width: usize) -> i64 {
        rng.below(self.na.saturating_sub(width).max(1)) as i64
    }
    fn b(&self, rng: &mut Rng) -> String {
        self.b[rng.below(self.n)].clone()
    }
}

/// A parameter value.
#[derive(Clone, Debug)]
enum P {
    I(i64),
    T(String),
}

use P::{I, T};

// ---------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------

/// How two engines' rows are compared.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    /// The SQL defines the order: compare in order.
    Defined,
    /// It does not: compare as sorted multisets.
    Unordered,
    /// `ORDER BY <column k, not unique> LIMIT`: the k values in order, and the rows of every
    /// tie group but the last as multisets.
    KeyLimit(usize),
}

use Order::{Defined, KeyLimit, Unordered};

struct Shape {
    id: &'static str,
    name: &'static str,
    /// The SQL; empty for the statement-preparation shape.
    sql: &'static str,
    order: Order,
    params: fn(&Data, &mut Rng) -> Vec<P>,
}

const TEXTS_ID: &str = "33";
const TEXTS_SQL: &str = "SELECT * FROM t WHERE id = <literal>";

fn none(_: &Data, _: &mut Rng) -> Vec<P> {
    Vec::new()
}

#[rustfmt::skip]
const SHAPES: &[Shape] = &[
    Shape { id: "1", name: "first-by-pk", sql: "SELECT * FROM t ORDER BY id LIMIT 10", order: Defined, params: none },
    Shape { id: "2", name: "last-by-pk", sql: "SELECT * FROM t ORDER BY id DESC LIMIT 10", order: Defined, params: none },
    Shape { id: "3", name: "offset-page", sql: "SELECT * FROM t ORDER BY id LIMIT 10 OFFSET ?", order: Defined,
        params: |_, r| vec![I(r.below(1001) as i64)] },
    Shape { id: "4", name: "max-pk", sql: "SELECT max(id) FROM t", order: Defined, params: none },
    Shape { id: "5", name: "min-index", sql: "SELECT min(a) FROM t", order: Defined, params: none },
    Shape { id: "6", name: "max-index-below", sql: "SELECT max(a) FROM t WHERE a < ?", order: Defined,
        params: |d, r| vec![I(d.a(r) + 1)] },
    Shape { id: "7", name: "count-all", sql: "SELECT count(*) FROM t", order: Defined, params: none },
    Shape { id: "8", name: "count-eq", sql: "SELECT count(*) FROM t WHERE a = ?", order: Defined,
        params: |d, r| vec![I(d.a(r))] },
    Shape { id: "9", name: "order-index-pk", sql: "SELECT * FROM t ORDER BY a, id LIMIT 10", order: Defined, params: none },
    Shape { id: "10", name: "eq-order-pk-desc", sql: "SELECT * FROM t WHERE a = ? ORDER BY id DESC LIMIT 10", order: Defined,
        params: |d, r| vec![I(d.a(r))] },
    Shape { id: "11", name: "or-same-column", sql: "SELECT * FROM t WHERE a = ?1 OR a = ?2", order: Unordered,
        params: |d, r| vec![I(d.a(r)), I(d.a(r))] },
    Shape { id: "12", name: "or-two-indexes", sql: "SELECT * FROM t WHERE a = ?1 OR b = ?2", order: Unordered,
        params: |d, r| vec![I(d.a(r)), T(d.b(r))] },
    Shape { id: "13", name: "in-list", sql: "SELECT * FROM t WHERE a IN (?,?,?,?,?)", order: Unordered,
        params: |d, r| (0..5).map(|_| I(d.a(r))).collect() },
    Shape { id: "14", name: "in-subquery", sql: "SELECT * FROM t WHERE id IN (SELECT t_id FROM u WHERE u.id BETWEEN ?1 AND ?1+50)",
        order: Unordered, params: |d, r| vec![I(d.u_range(r, 50))] },
    Shape { id: "15", name: "distinct-limit", sql: "SELECT DISTINCT a FROM t ORDER BY a LIMIT 10", order: Defined, params: none },
    Shape { id: "16", name: "group-limit", sql: "SELECT a, count(*) FROM t GROUP BY a ORDER BY a LIMIT 10", order: Defined,
        params: none },
    Shape { id: "17", name: "like-prefix", sql: "SELECT * FROM t WHERE b LIKE ?", order: Unordered,
        params: |_, r| vec![T(format!("name{:04}%", r.below(10_000)))] },
    Shape { id: "18", name: "glob-prefix", sql: "SELECT * FROM t WHERE b GLOB ?", order: Unordered,
        params: |_, r| vec![T(format!("name{:04}*", r.below(10_000)))] },
    Shape { id: "19", name: "exists", sql: "SELECT count(*) FROM t WHERE id BETWEEN ?1 AND ?1+100 AND EXISTS (SELECT 1 FROM u WHERE u.t_id = t.id)",
        order: Defined, params: |d, r| vec![I(d.id_range(r, 100))] },
    Shape { id: "20", name: "not-exists", sql: "SELECT count(*) FROM t WHERE id BETWEEN ?1 AND ?1+100 AND NOT EXISTS (SELECT 1 FROM u WHERE u.t_id = t.id)",
        order: Defined, params: |d, r| vec![I(d.id_range(r, 100))] },
    Shape { id: "21", name: "anti-join", sql: "SELECT t.id, t.a FROM t LEFT JOIN u ON u.t_id = t.id WHERE t.id BETWEEN ?1 AND ?1+100 AND u.id IS NULL",
        order: Unordered, params: |d, r| vec![I(d.id_range(r, 100))] },
    Shape { id: "22", name: "scalar-subquery", sql: "SELECT id, (SELECT count(*) FROM u WHERE u.t_id = t.id) FROM t WHERE id BETWEEN ?1 AND ?1+100",
        order: Unordered, params: |d, r| vec![I(d.id_range(r, 100))] },
    Shape { id: "23", name: "point", sql: "SELECT * FROM t WHERE id = ?", order: Defined, params: |d, r| vec![I(d.id(r))] },
    Shape { id: "24a", name: "index-eq", sql: "SELECT a, b FROM t WHERE a = ?", order: Unordered, params: |d, r| vec![I(d.a(r))] },
    Shape { id: "24b", name: "covering-range", sql: "SELECT id FROM t WHERE a BETWEEN ? AND ?+10", order: Unordered,
        params: |d, r| { let a = d.a_range(r, 10); vec![I(a), I(a)] } },
    Shape { id: "25", name: "having-key", sql: "SELECT a, count(*) FROM t GROUP BY a HAVING a BETWEEN ? AND ?+5", order: Unordered,
        params: |d, r| { let a = d.a_range(r, 5); vec![I(a), I(a)] } },
    Shape { id: "26", name: "correlated-in", sql: "SELECT count(*) FROM t WHERE id BETWEEN ?1 AND ?1+100 AND a IN (SELECT t_id FROM u WHERE u.w = t.id % 7)",
        order: Defined, params: |d, r| vec![I(d.id_range(r, 100))] },
    Shape { id: "27a", name: "join3-utg", sql: "SELECT t.id, g.name, u.w FROM u JOIN t ON t.id = u.t_id JOIN g ON g.id = t.a % 100 WHERE u.id BETWEEN ?1 AND ?1+100",
        order: Unordered, params: |d, r| vec![I(d.u_range(r, 100))] },
    Shape { id: "27b", name: "join3-gtu", sql: "SELECT t.id, g.name, u.w FROM g JOIN t ON g.id = t.a % 100 JOIN u ON t.id = u.t_id WHERE u.id BETWEEN ?1 AND ?1+100",
        order: Unordered, params: |d, r| vec![I(d.u_range(r, 100))] },
    Shape { id: "28", name: "range-order-limit", sql: "SELECT * FROM t WHERE a > ? ORDER BY a LIMIT 10", order: KeyLimit(1),
        params: |d, r| vec![I(d.a(r))] },
    Shape { id: "29", name: "keyset-page", sql: "SELECT * FROM t WHERE id > ? ORDER BY id LIMIT 20", order: Defined,
        params: |d, r| vec![I(d.id(r) - 1)] },
    Shape { id: "30", name: "count-distinct", sql: "SELECT count(DISTINCT a) FROM t WHERE id < 10000", order: Defined, params: none },
    Shape { id: "31", name: "sum-avg-range", sql: "SELECT sum(c), avg(c) FROM t WHERE a BETWEEN ? AND ?+100", order: Defined,
        params: |d, r| { let a = d.a_range(r, 100); vec![I(a), I(a)] } },
    Shape { id: "32", name: "eq-nocase", sql: "SELECT * FROM t WHERE b = ? COLLATE NOCASE", order: Unordered,
        params: |d, r| vec![T(d.b(r).to_uppercase())] },
    Shape { id: TEXTS_ID, name: "prepare-5000-texts", sql: "", order: Defined, params: none },
    Shape { id: "34", name: "pk-in-list", sql: "SELECT * FROM t WHERE id IN (?,?,?,?,?,?,?,?,?,?)", order: Unordered,
        params: |d, r| (0..10).map(|_| I(d.id(r))).collect() },
    Shape { id: "35", name: "join-from-index", sql: "SELECT t.id, t.b, u.id, u.w FROM t JOIN u ON u.t_id = t.id WHERE t.a = ?",
        order: Unordered, params: |d, r| vec![I(d.a(r))] },
    Shape { id: "36", name: "top-n-sort", sql: "SELECT * FROM t WHERE id BETWEEN ?1 AND ?1+1000 ORDER BY c DESC LIMIT 5",
        order: Defined, params: |d, r| vec![I(d.id_range(r, 1000))] },
    Shape { id: "37", name: "count-is-null", sql: "SELECT count(*) FROM t WHERE a IS NULL", order: Defined, params: none },
    Shape { id: "38", name: "exists-probe", sql: "SELECT EXISTS(SELECT 1 FROM t WHERE a = ?)", order: Defined,
        params: |d, r| vec![I(d.a(r) * 2)] },
    Shape { id: "39", name: "top-groups", sql: "SELECT a, count(*) AS n FROM t WHERE id BETWEEN ?1 AND ?1+1000 GROUP BY a ORDER BY n DESC, a LIMIT 5",
        order: Defined, params: |d, r| vec![I(d.id_range(r, 1000))] },
    Shape { id: "40", name: "has-many", sql: "SELECT * FROM u WHERE t_id = ? ORDER BY id", order: Defined,
        params: |d, r| vec![I(d.id(r))] },
    Shape { id: "41", name: "index-residual", sql: "SELECT * FROM t WHERE a = ? AND c > ?", order: Unordered,
        params: |d, r| vec![I(d.a(r)), I(r.below(1000) as i64)] },
];

fn selected(shape: &Shape, only: &[String]) -> bool {
    if only.is_empty() {
        return true;
    }
    only.iter().any(|s| {
        s.eq_ignore_ascii_case(shape.id)
            || s.eq_ignore_ascii_case(shape.name)
            || (s.chars().all(|c| c.is_ascii_digit())
                && shape.id.trim_end_matches(|c: char| c.is_ascii_alphabetic()) == s)
    })
}

// ---------------------------------------------------------------------------------------------
// Result values and comparing them
// ---------------------------------------------------------------------------------------------

/// One result value, engine-neutral.
#[derive(Clone, Debug)]
enum V {
    Null,
    I(i64),
    R(f64),
    T(String),
    B(Vec<u8>),
}

type Rows = Vec<Vec<V>>;

fn rank(v: &V) -> u8 {
    match v {
        V::Null => 0,
        V::I(_) | V::R(_) => 1,
        V::T(_) => 2,
        V::B(_) => 3,
    }
}

/// A total order for sorting (numbers by value, then integers before reals).
fn cmp_v(x: &V, y: &V) -> Ordering {
    match (x, y) {
        (V::I(a), V::I(b)) => a.cmp(b),
        (V::R(a), V::R(b)) => a.total_cmp(b),
        (V::I(a), V::R(b)) => (*a as f64).total_cmp(b).then(Ordering::Less),
        (V::R(a), V::I(b)) => a.total_cmp(&(*b as f64)).then(Ordering::Greater),
        (V::T(a), V::T(b)) => a.cmp(b),
        (V::B(a), V::B(b)) => a.cmp(b),
        _ => rank(x).cmp(&rank(y)),
    }
}

fn cmp_row(x: &[V], y: &[V]) -> Ordering {
    x.iter().zip(y).map(|(a, b)| cmp_v(a, b)).find(|o| o.is_ne()).unwrap_or(x.len().cmp(&y.len()))
}

fn eq_v(x: &V, y: &V) -> bool {
    match (x, y) {
        (V::Null, V::Null) => true,
        (V::I(a), V::I(b)) => a == b,
        (V::R(a), V::R(b)) => a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()),
        (V::T(a), V::T(b)) => a == b,
        (V::B(a), V::B(b)) => a == b,
        _ => false,
    }
}

fn eq_row(x: &[V], y: &[V]) -> bool {
    x.len() == y.len() && x.iter().zip(y).all(|(a, b)| eq_v(a, b))
}

/// The first difference between two row lists compared in order: (index, tessera's row,
/// sqlite's row), `None` for a missing row.
type Diff = (usize, Option<Vec<V>>, Option<Vec<V>>);

fn first_diff(t: &[Vec<V>], s: &[Vec<V>]) -> Option<Diff> {
    for i in 0..t.len().max(s.len()) {
        match (t.get(i), s.get(i)) {
            (Some(x), Some(y)) if eq_row(x, y) => {}
            (x, y) => return Some((i, x.cloned(), y.cloned())),
        }
    }
    None
}

fn sorted(rows: &[Vec<V>]) -> Rows {
    let mut rows = rows.to_vec();
    rows.sort_by(|x, y| cmp_row(x, y));
    rows
}

fn compare(order: Order, t: &[Vec<V>], s: &[Vec<V>]) -> Option<Diff> {
    match order {
        Defined => first_diff(t, s),
        Unordered => first_diff(&sorted(t), &sorted(s)),
        KeyLimit(k) => {
            let key =
                |rows: &[Vec<V>]| -> Rows { rows.iter().map(|r| r.get(k).cloned().into_iter().collect()).collect() };
            if let Some(d) = first_diff(&key(t), &key(s)) {
                return Some((d.0, t.get(d.0).cloned(), s.get(d.0).cloned()));
            }
            // Same keys in the same order: compare each tie group but the last as a multiset.
            let mut start = 0;
            while start < t.len() {
                let end = (start..t.len()).find(|&i| !eq_row(&t[i][k..=k], &t[start][k..=k])).unwrap_or(t.len());
                if end == t.len() {
                    break;
                }
                if let Some(d) = first_diff(&sorted(&t[start..end]), &sorted(&s[start..end])) {
                    return Some((start + d.0, d.1, d.2));
                }
                start = end;
            }
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Engines
// ---------------------------------------------------------------------------------------------

mod tessera_side {
    use super::*;
    use tessera::sql::{Connection, Prepared, Value};

    pub fn value(p: &P) -> Value {
        match p {
            P::I(i) => Value::Integer(*i),
            P::T(s) => Value::Text(s.into()),
        }
    }

    fn v(x: Value) -> V {
        match x {
            Value::Null => V::Null,
            Value::Integer(i) => V::I(i),
            Value::Real(r) => V::R(r),
            Value::Text(s) => V::T(s.into_string_lossy()),
            Value::Blob(b) => V::B(b),
        }
    }

    pub fn open(path: &std::path::Path) -> Res<Connection> {
        Ok(Connection::open(path)?)
    }

    pub fn load(conn: &mut Connection, d: &Data) -> Res<()> {
        for sql in SCHEMA {
            conn.execute(sql, ())?;
        }
        conn.execute("BEGIN", ())?;
        let ins = conn.prepare(INSERT_T)?;
        for i in 0..d.n {
            conn.execute_prepared(&ins, (i as i64 + 1, d.a[i], d.b[i].as_str(), d.c[i]))?;
        }
        let ins = conn.prepare(INSERT_U)?;
        for (i, &(t_id, w)) in d.u.iter().enumerate() {
            conn.execute_prepared(&ins, (i as i64 + 1, t_id, w))?;
        }
        let ins = conn.prepare(INSERT_G)?;
        for i in 0..G_ROWS {
            conn.execute_prepared(&ins, (i, format!("group{i:02}").as_str()))?;
        }
        conn.execute("COMMIT", ())?;
        for sql in INDEXES {
            conn.execute(sql, ())?;
        }
        Ok(())
    }

    pub fn rows(conn: &mut Connection, stmt: &Prepared, params: &[Value]) -> Res<Rows> {
        let mut out = Vec::new();
        for row in conn.query_prepared(stmt, params)? {
            out.push(row?.into_values().into_iter().map(v).collect());
        }
        Ok(out)
    }

    /// Runs the statement and consumes its rows; returns the number of values.
    pub fn run(conn: &mut Connection, stmt: &Prepared, params: &[Value]) -> Res<usize> {
        let mut n = 0;
        for row in conn.query_prepared(stmt, params)? {
            n += row?.len();
        }
        Ok(n)
    }

    /// Prepares, plans and runs one text.
    pub fn run_text(conn: &mut Connection, sql: &str, keep: Option<&mut Rows>) -> Res<usize> {
        let stmt = conn.prepare(sql)?;
        match keep {
            Some(out) => {
                let rows = rows(conn, &stmt, &[])?;
                let n = rows.len();
                out.extend(rows);
                Ok(n)
            }
            None => run(conn, &stmt, &[]),
        }
    }
}

mod sqlite_side {
    use super::*;
    use rusqlite::types::{Value, ValueRef};
    use rusqlite::{params_from_iter, Connection, Statement};

    pub fn value(p: &P) -> Value {
        match p {
            P::I(i) => Value::Integer(*i),
            P::T(s) => Value::Text(s.clone()),
        }
    }

    fn v(x: ValueRef) -> V {
        match x {
            ValueRef::Null => V::Null,
            ValueRef::Integer(i) => V::I(i),
            ValueRef::Real(r) => V::R(r),
            ValueRef::Text(s) => V::T(String::from_utf8_lossy(s).into_owned()),
            ValueRef::Blob(b) => V::B(b.to_vec()),
        }
    }

    pub fn open(path: &std::path::Path) -> Res<Connection> {
        let conn = Connection::open(path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("sqlite: journal_mode is {mode}, not wal").into());
        }
        let cache_kib = tessera::Options::default().cache_size / 1024;
        conn.execute_batch(&format!("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -{cache_kib};"))?;
        Ok(conn)
    }

    pub fn load(conn: &mut Connection, d: &Data) -> Res<()> {
        conn.execute_batch(&SCHEMA.join(";"))?;
        let tx = conn.transaction()?;
        {
            let mut ins = tx.prepare(INSERT_T)?;
            for i in 0..d.n {
                ins.execute((i as i64 + 1, d.a[i], d.b[i].as_str(), d.c[i]))?;
            }
            let mut ins = tx.prepare(INSERT_U)?;
            for (i, &(t_id, w)) in d.u.iter().enumerate() {
                ins.execute((i as i64 + 1, t_id, w))?;
            }
            let mut ins = tx.prepare(INSERT_G)?;
            for i in 0..G_ROWS {
                ins.execute((i, format!("group{i:02}")))?;
            }
        }
        tx.commit()?;
        conn.execute_batch(&INDEXES.join(";"))?;
        Ok(())
    }

    pub fn rows(stmt: &mut Statement, params: &[Value]) -> Res<Rows> {
        let cols = stmt.column_count();
        let mut rows = stmt.query(params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push((0..cols).map(|i| row.get_ref(i).map(v)).collect::<Result<_, _>>()?);
        }
        Ok(out)
    }

    /// Runs the statement and reads every value of its rows; returns the number of values.
    pub fn run(stmt: &mut Statement, params: &[Value]) -> Res<usize> {
        let cols = stmt.column_count();
        let mut rows = stmt.query(params_from_iter(params))?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            for i in 0..cols {
                if !matches!(row.get_ref(i)?, ValueRef::Blob(_)) {
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Prepares and runs one text (without rusqlite's statement cache).
    pub fn run_text(conn: &Connection, sql: &str, keep: Option<&mut Rows>) -> Res<usize> {
        let mut stmt = conn.prepare(sql)?;
        match keep {
            Some(out) => {
                let rows = rows(&mut stmt, &[])?;
                let n = rows.len();
                out.extend(rows);
                Ok(n)
            }
            None => run(&mut stmt, &[]),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// How a shape came out.
enum Status {
    Ok,
    Mismatch,
    /// Tessera returned an error.
    Unsupported(String),
    /// SQLite returned an error, or Tessera panicked: a failure.
    Error(String),
}

struct Outcome {
    status: Status,
    /// Median ms per query (per statement for the preparation shape).
    tessera: Option<f64>,
    sqlite: Option<f64>,
}

struct Timing {
    target: Duration,
    rounds: usize,
    texts: usize,
}

/// Runs `run(i)` for i = 0, 1, ... until the time target has passed (at least 3 times unless
/// a run is slow); returns ms per run.
fn time_round(target: Duration, mut run: impl FnMut(usize) -> Res<usize>) -> Res<f64> {
    let started = Instant::now();
    let mut reps = 0;
    loop {
        std::hint::black_box(run(reps)?);
        reps += 1;
        let elapsed = started.elapsed();
        if elapsed >= target && (reps >= 3 || elapsed >= Duration::from_secs(1)) {
            return Ok(elapsed.as_secs_f64() * 1e3 / reps as f64);
        }
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

fn show_row(r: &Option<Vec<V>>) -> String {
    match r {
        None => "(no row)".to_string(),
        Some(r) => format!("{r:?}"),
    }
}

fn report_diff(shape: &Shape, sql: &str, params: &[P], d: &Diff, nt: usize, ns: usize) {
    eprintln!("  MISMATCH in shape {} ({}): {sql}", shape.id, shape.name);
    eprintln!("    params {params:?}; tessera returned {nt} rows, sqlite {ns}; first difference at row {}:", d.0);
    eprintln!("    tessera: {}", show_row(&d.1));
    eprintln!("    sqlite:  {}", show_row(&d.2));
}

fn run_shape(
    shape: &Shape,
    d: &Data,
    tc: &mut tessera::sql::Connection,
    sc: &rusqlite::Connection,
    timing: &Timing,
) -> Res<Outcome> {
    let mut rng = Rng::new(SEED ^ hash(shape.id));
    let sets: Vec<Vec<P>> = (0..PARAM_SETS).map(|_| (shape.params)(d, &mut rng)).collect();
    let tv: Vec<Vec<tessera::sql::Value>> = sets.iter().map(|s| s.iter().map(tessera_side::value).collect()).collect();
    let sv: Vec<Vec<rusqlite::types::Value>> =
        sets.iter().map(|s| s.iter().map(sqlite_side::value).collect()).collect();
    let checks = if sets[0].is_empty() { 1 } else { CHECK_SETS };

    if std::env::var_os("TESSERA_SHAPES_EXPLAIN").is_some() {
        explain(shape.sql, &sets[0], tc, sc);
    }
    let mut sst = sc.prepare(shape.sql).map_err(|e| format!("sqlite: {e}"))?;
    let mut status = Status::Ok;
    let tst = match tc.prepare(shape.sql) {
        Ok(s) => Some(s),
        Err(e) => {
            status = Status::Unsupported(e.to_string());
            None
        }
    };

    // Check (a slow shape stops after the first sets that take over 2 s).
    let checking = Instant::now();
    for i in 0..checks {
        if i > 0 && checking.elapsed() > Duration::from_secs(2) {
            break;
        }
        let s = sqlite_side::rows(&mut sst, &sv[i]).map_err(|e| format!("sqlite: {e}"))?;
        let Some(tst) = &tst else { break };
        let t = match catch_unwind(AssertUnwindSafe(|| tessera_side::rows(tc, tst, &tv[i]))) {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                status = Status::Unsupported(e.to_string());
                break;
            }
            Err(_) => {
                return Ok(Outcome { status: Status::Error("tessera panicked".into()), tessera: None, sqlite: None })
            }
        };
        if let Some(diff) = compare(shape.order, &t, &s) {
            report_diff(shape, shape.sql, &sets[i], &diff, t.len(), s.len());
            status = Status::Mismatch;
            break;
        }
    }

    // Time: rounds interleaved.
    let (mut tt, mut st) = (Vec::new(), Vec::new());
    for _ in 0..timing.rounds {
        if let (Some(tst), Status::Ok | Status::Mismatch) = (&tst, &status) {
            match time_round(timing.target, |i| tessera_side::run(tc, tst, &tv[i % PARAM_SETS])) {
                Ok(ms) => tt.push(ms),
                Err(e) => status = Status::Unsupported(e.to_string()),
            }
        }
        st.push(time_round(timing.target, |i| sqlite_side::run(&mut sst, &sv[i % PARAM_SETS]))?);
    }
    Ok(Outcome { status, tessera: median(tt), sqlite: median(st) })
}

/// Prints `EXPLAIN QUERY PLAN` of both engines (with the first parameter set).
fn explain(sql: &str, params: &[P], tc: &mut tessera::sql::Connection, sc: &rusqlite::Connection) {
    let sql = format!("EXPLAIN QUERY PLAN {sql}");
    let tv: Vec<tessera::sql::Value> = params.iter().map(tessera_side::value).collect();
    let sv: Vec<rusqlite::types::Value> = params.iter().map(sqlite_side::value).collect();
    let show = |rows: Res<Rows>| match rows {
        Ok(rows) => rows.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>().join("\n      "),
        Err(e) => format!("error: {e}"),
    };
    let t = tc.prepare(&sql).map_err(Into::into).and_then(|st| tessera_side::rows(tc, &st, &tv));
    let s = sc.prepare(&sql).map_err(Into::into).and_then(|mut st| sqlite_side::rows(&mut st, &sv));
    eprintln!("  tessera plan:\n      {}", show(t));
    eprintln!("  sqlite plan:\n      {}", show(s));
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

/// Shape 33: `texts` distinct statement texts per set, one set to check and one per round.
fn run_texts(
    shape: &Shape,
    d: &Data,
    tc: &mut tessera::sql::Connection,
    sc: &rusqlite::Connection,
    timing: &Timing,
) -> Res<Outcome> {
    // Distinct literals over all sets; beyond N when N is small (those find no row).
    let mut rng = Rng::new(SEED ^ 33);
    let domain = d.n.max(timing.texts * (timing.rounds + 1) * 2);
    let mut seen = std::collections::HashSet::new();
    let sets: Vec<Vec<String>> = (0..=timing.rounds)
        .map(|_| {
            let mut texts = Vec::with_capacity(timing.texts);
            while texts.len() < timing.texts {
                let id = rng.below(domain) + 1;
                if seen.insert(id) {
                    texts.push(format!("SELECT * FROM t WHERE id = {id}"));
                }
            }
            texts
        })
        .collect();

    let mut s = Vec::new();
    for sql in &sets[0] {
        sqlite_side::run_text(sc, sql, Some(&mut s)).map_err(|e| format!("sqlite: {e}"))?;
    }
    let mut t = Vec::new();
    let mut status = Status::Ok;
    for sql in &sets[0] {
        match catch_unwind(AssertUnwindSafe(|| tessera_side::run_text(tc, sql, Some(&mut t)))) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                status = Status::Unsupported(e.to_string());
                break;
            }
            Err(_) => {
                return Ok(Outcome { status: Status::Error("tessera panicked".into()), tessera: None, sqlite: None })
            }
        }
    }
    if matches!(status, Status::Ok) {
        if let Some(diff) = compare(Defined, &t, &s) {
            report_diff(shape, TEXTS_SQL, &[], &diff, t.len(), s.len());
            status = Status::Mismatch;
        }
    }

    let per = |t: Instant| t.elapsed().as_secs_f64() * 1e3 / timing.texts as f64;
    let (mut tt, mut st) = (Vec::new(), Vec::new());
    for set in &sets[1..] {
        if matches!(status, Status::Ok | Status::Mismatch) {
            let started = Instant::now();
            let r: Res<()> = set.iter().try_for_each(|sql| tessera_side::run_text(tc, sql, None).map(drop));
            match r {
                Ok(()) => tt.push(per(started)),
                Err(e) => status = Status::Unsupported(e.to_string()),
            }
        }
        let started = Instant::now();
        for sql in set {
            sqlite_side::run_text(sc, sql, None)?;
        }
        st.push(per(started));
    }
    Ok(Outcome { status, tessera: median(tt), sqlite: median(st) })
}

fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else if v >= 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this binary without it: then,
    // unless told otherwise, a quick smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n = env_usize("TESSERA_SHAPES_N", if smoke { 2_000 } else { FULL_N });
    assert!(n >= 1000, "TESSERA_SHAPES_N must be at least 1000 (got {n})");
    let timing = if smoke {
        Timing { target: Duration::ZERO, rounds: 1, texts: SMOKE_TEXTS }
    } else {
        Timing { target: Duration::from_millis(200), rounds: ROUNDS, texts: FULL_TEXTS }
    };
    let only: Vec<String> = std::env::var("TESSERA_SHAPES_ONLY")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let shapes: Vec<&Shape> = SHAPES.iter().filter(|s| selected(s, &only)).collect();
    assert!(!shapes.is_empty(), "TESSERA_SHAPES_ONLY={only:?} selects no shape");

    let root = match std::env::var("TESSERA_BENCH_DIR") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => target_dir().join("bench-tmp"),
    };
    std::fs::create_dir_all(&root).expect("creating the benchmark directory");
    let fstype = fs_type(&root).unwrap_or_else(|| "unknown".into());
    let dir = tempfile::Builder::new().prefix("sql-shapes-").tempdir_in(&root).expect("creating a temp dir");

    eprintln!("generating t: {n} rows, u: {} rows, g: {G_ROWS} rows...", 2 * n);
    let data = Data::new(n);
    let mut tc = tessera_side::open(&dir.path().join("db.tessera")).expect("opening Tessera");
    let mut sc = sqlite_side::open(&dir.path().join("db.sqlite")).expect("opening SQLite");
    let started = Instant::now();
    tessera_side::load(&mut tc, &data).expect("loading Tessera");
    eprintln!("  tessera loaded in {:.1} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    sqlite_side::load(&mut sc, &data).expect("loading SQLite");
    eprintln!("  sqlite loaded in {:.1} s", started.elapsed().as_secs_f64());
    let analyzed = match tc.execute("ANALYZE", ()) {
        Ok(_) => {
            sc.execute_batch("ANALYZE").expect("ANALYZE on SQLite");
            "ANALYZE run on both engines".to_string()
        }
        Err(e) => format!("no ANALYZE on either engine (Tessera: {e})"),
    };
    eprintln!("{analyzed}");

    let mut failed = false;
    let mut md = String::new();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _ = writeln!(
        md,
        "SQL shapes, N = {n} rows in t ({} in u), {threads} cores, {fstype} at {}. SQLite {} in WAL mode, \
         synchronous=NORMAL, cache {} MiB; {analyzed}. Median of {} rounds, ms per query (shape {TEXTS_ID}: per \
         statement); ratio = sqlite / tessera (at least 1: Tessera is at least as fast).\n",
        2 * n,
        root.display(),
        rusqlite::version(),
        tessera::Options::default().cache_size >> 20,
        timing.rounds,
    );
    let _ = writeln!(md, "| # | shape | SQL | tessera ms | sqlite ms | sqlite / tessera | check |");
    let _ = writeln!(md, "|---|---|---|---:|---:|---:|---|");
    let (mut mismatches, mut unsupported) = (Vec::new(), Vec::new());
    for shape in shapes {
        let sql = if shape.id == TEXTS_ID {
            format!("{TEXTS_SQL} × {} distinct texts", timing.texts)
        } else {
            shape.sql.to_string()
        };
        eprintln!("{} {}: {sql}", shape.id, shape.name);
        let sql_cell = if shape.id == TEXTS_ID {
            format!("`{TEXTS_SQL}` × {} distinct texts", timing.texts)
        } else {
            format!("`{sql}`")
        };
        let started = Instant::now();
        let outcome = if shape.id == TEXTS_ID {
            run_texts(shape, &data, &mut tc, &sc, &timing)
        } else {
            run_shape(shape, &data, &mut tc, &sc, &timing)
        };
        let outcome =
            outcome.unwrap_or_else(|e| Outcome { status: Status::Error(e.to_string()), tessera: None, sqlite: None });
        let check = match &outcome.status {
            Status::Ok => "ok".to_string(),
            Status::Mismatch => {
                failed = true;
                mismatches.push(shape.id);
                "**mismatch**".to_string()
            }
            Status::Unsupported(e) => {
                eprintln!("  unsupported by Tessera: {e}");
                unsupported.push(shape.id);
                "unsupported".to_string()
            }
            Status::Error(e) => {
                eprintln!("  ERROR: {e}");
                failed = true;
                "**error**".to_string()
            }
        };
        let cell = |v: Option<f64>| v.map_or("–".to_string(), fmt_ms);
        let ratio = match (outcome.sqlite, outcome.tessera) {
            (Some(s), Some(t)) if t > 0.0 => format!("{:.2}", s / t),
            _ => "–".to_string(),
        };
        eprintln!(
            "  tessera {} ms, sqlite {} ms, ratio {ratio}, {check} ({:.1} s)",
            cell(outcome.tessera),
            cell(outcome.sqlite),
            started.elapsed().as_secs_f64()
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {ratio} | {check} |",
            shape.id,
            shape.name,
            sql_cell,
            cell(outcome.tessera),
            cell(outcome.sqlite)
        );
    }
    if !mismatches.is_empty() {
        let _ = writeln!(md, "\nMismatches (Tessera's answer differs from SQLite's): {}.", mismatches.join(", "));
    }
    if !unsupported.is_empty() {
        let _ = writeln!(md, "\nUnsupported by Tessera: {}.", unsupported.join(", "));
    }

    drop(tc);
    drop(sc);
    let _ = dir.close();
    let out = std::env::var("TESSERA_BENCH_OUT").ok().map(PathBuf::from);
    common::finish(&md, out.as_deref(), failed);
}
