//! Tessera's SQL layer (`tessera::sql`) against SQLite (rusqlite, bundled) on the same SQL
//! workloads, on database files in a temp dir. SQLite runs in WAL mode twice, with
//! `synchronous=NORMAL` and with `synchronous=FULL` (separate columns); its page cache is set to
//! Tessera's default cache size (`tessera::Options::default().cache_size`). Tessera opens its
//! file with `tessera::sql::Connection::open` and uses BEGIN/COMMIT through `execute`.
//!
//! Workloads (same data for every engine, from a fixed-seed xorshift generator; N rows):
//! - insert: N rows through a prepared INSERT in one transaction into
//!   `CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)` (k a permutation of 0..N,
//!   v 100 bytes);
//! - create index: `CREATE INDEX t_k ON t(k)` over the N rows;
//! - point selects: N prepared `SELECT k, v FROM t WHERE id = ?` on random ids;
//! - range selects: 10,000 (scaled by N / 1,000,000 when N is smaller) prepared
//!   `SELECT id, v FROM t WHERE k BETWEEN ? AND ?`, each range holding exactly 100 rows;
//! - group by: `SELECT k % 100, count(*), sum(id) FROM t GROUP BY 1`;
//! - join: `SELECT t.k, u.w FROM u JOIN t ON t.id = u.t_id` with
//!   `u(id INTEGER PRIMARY KEY, t_id INTEGER, w INTEGER)` of N/10 rows (t_id random existing
//!   ids): every u row meets one t row through t's primary key, so both engines return N/10
//!   rows. (u is loaded untimed.)
//!
//! Every workload checks its results (row counts and checksums) against values computed from
//! the generated data, on every engine; an engine whose results are wrong is reported as
//! `error` and the run exits non-zero.
//!
//! Run: `cargo bench --manifest-path bench/Cargo.toml --bench sql` from the repository root. Run
//! without `--bench` (as `cargo test --benches` in `bench/` does) it is a smoke test with N = 2000. Environment:
//! - `TESSERA_SQL_BENCH_N`: rows (default 1_000_000; 2000 in smoke runs).
//! - `TESSERA_SQL_BENCH_ENGINES`: comma-separated subset of `tessera`, `sqlite-normal`,
//!   `sqlite-full`; `sqlite` means both SQLite columns (default: all three). E.g.
//!   `TESSERA_SQL_BENCH_ENGINES=sqlite` runs SQLite only.
//! - `TESSERA_BENCH_DIR`: directory for the database files (default
//!   `<cargo target dir>/bench-tmp`); each engine gets its own temp dir inside, removed after.
//!   It should be a real disk: commit figures on tmpfs are meaningless (the harness warns).
//! - `TESSERA_BENCH_OUT`: if set, the Markdown table is also written there.

mod common;

use common::{env_usize, fs_type, target_dir, Rng};
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

type Res<T> = Result<T, Box<dyn Error>>;

const SEED: u64 = 0x5e1e_c7ab_2024_0002;
const V_LEN: usize = 100;
const RANGE_ROWS: i64 = 100;
const FULL_N: usize = 1_000_000;
const FULL_RANGES: usize = 10_000;
const GROUPS: i64 = 100;

const CREATE_T: &str = "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)";
const CREATE_U: &str = "CREATE TABLE u(id INTEGER PRIMARY KEY, t_id INTEGER, w INTEGER)";
const CREATE_INDEX: &str = "CREATE INDEX t_k ON t(k)";
const INSERT_T: &str = "INSERT INTO t VALUES (?1, ?2, ?3)";
const INSERT_U: &str = "INSERT INTO u VALUES (?1, ?2, ?3)";
const POINT: &str = "SELECT k, v FROM t WHERE id = ?1";
const RANGE: &str = "SELECT id, v FROM t WHERE k BETWEEN ?1 AND ?2";
const GROUP_BY: &str = "SELECT k % 100, count(*), sum(id) FROM t GROUP BY 1";
const JOIN: &str = "SELECT t.k, u.w FROM u JOIN t ON t.id = u.t_id";

const ROWS: [&str; 6] = [
    "insert N rows (prepared, 1 transaction)",
    "create index t_k",
    "N point selects by primary key",
    "range selects of 100 rows (index t_k)",
    "group by over N rows",
    "join N/10 x N on primary key",
];

// ---------------------------------------------------------------------------------------------
// Data and expected results
// ---------------------------------------------------------------------------------------------

struct Data {
    n: usize,
    /// k of the row with id i + 1: a permutation of 0..n.
    ks: Vec<i64>,
    /// v of the row with id i + 1.
    vs: Vec<String>,
    /// id of the row whose k is j.
    id_of_k: Vec<i64>,
    point_ids: Vec<i64>,
    range_starts: Vec<i64>,
    /// u rows: (t_id, w); u.id is the index + 1.
    u: Vec<(i64, i64)>,
}

/// What a workload must return: (rows, checksum).
struct Expected {
    points: (usize, i64),
    ranges: (usize, i64),
    /// (groups, total count, total sum of ids)
    groups: (usize, i64, i64),
    join: (usize, i64),
}

impl Data {
    fn new(n: usize, ranges: usize) -> Data {
        let mut rng = Rng::new(SEED);
        let mut ks: Vec<i64> = (0..n as i64).collect();
        for i in (1..n).rev() {
            ks.swap(i, rng.below(i + 1));
        }
        let mut id_of_k = vec![0; n];
        for (i, &k) in ks.iter().enumerate() {
            id_of_k[k as usize] = i as i64 + 1;
        }
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let vs = (0..n)
            .map(|_| {
                let mut bytes = [0u8; V_LEN];
                rng.fill(&mut bytes);
                bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
            })
            .collect();
        let point_ids = (0..n).map(|_| rng.below(n) as i64 + 1).collect();
        let range_starts = (0..ranges).map(|_| rng.below(n - RANGE_ROWS as usize + 1) as i64).collect();
        let u = (0..n / 10).map(|_| (rng.below(n) as i64 + 1, rng.below(1000) as i64)).collect();
        Data { n, ks, vs, id_of_k, point_ids, range_starts, u }
    }

    fn expected(&self) -> Expected {
        let points = (self.point_ids.len(), self.point_ids.iter().map(|&id| self.ks[id as usize - 1]).sum());
        let mut range_sum = 0;
        for &lo in &self.range_starts {
            range_sum += (lo..lo + RANGE_ROWS).map(|k| self.id_of_k[k as usize]).sum::<i64>();
        }
        let ranges = (self.range_starts.len() * RANGE_ROWS as usize, range_sum);
        let n = self.n as i64;
        let groups = (self.n.min(GROUPS as usize), n, n * (n + 1) / 2);
        let join = (self.u.len(), self.u.iter().map(|&(t_id, w)| self.ks[t_id as usize - 1] + w).sum());
        Expected { points, ranges, groups, join }
    }
}

fn check<T: std::fmt::Debug + PartialEq>(engine: &str, what: &str, got: T, expected: T) -> Res<()> {
    if got != expected {
        return Err(format!("{engine}: {what}: got {got:?}, expected {expected:?}").into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Engines
// ---------------------------------------------------------------------------------------------

/// One engine's implementation of the workloads. Each returns what it saw, for checking.
trait Engine {
    fn create_tables(&mut self) -> Res<()>;
    /// Loads t (timed) or u (untimed) in one transaction through a prepared INSERT.
    fn insert_t(&mut self, d: &Data) -> Res<()>;
    fn insert_u(&mut self, d: &Data) -> Res<()>;
    fn create_index(&mut self) -> Res<()>;
    /// (rows in t, rows in u)
    fn counts(&mut self) -> Res<(i64, i64)>;
    /// (rows found, sum of k); checks each v is 100 bytes.
    fn point_selects(&mut self, ids: &[i64]) -> Res<(usize, i64)>;
    /// (rows, sum of id)
    fn range_selects(&mut self, starts: &[i64]) -> Res<(usize, i64)>;
    /// (groups, sum of counts, sum of sums)
    fn group_by(&mut self) -> Res<(usize, i64, i64)>;
    /// (rows, sum of k + w)
    fn join(&mut self) -> Res<(usize, i64)>;
}

mod tessera_engine {
    use super::*;
    use tessera::sql::{Connection, Value};

    pub struct Tessera {
        conn: Connection,
    }

    pub fn open(dir: &Path) -> Res<Box<dyn Engine>> {
        Ok(Box::new(Tessera { conn: Connection::open(dir.join("db.tessera"))? }))
    }

    fn int(v: &Value) -> Res<i64> {
        match v {
            Value::Integer(i) => Ok(*i),
            other => Err(format!("expected an integer, got {other:?}").into()),
        }
    }

    fn text_len(v: &Value) -> Res<usize> {
        match v {
            Value::Text(s) => Ok(s.len()),
            other => Err(format!("expected text, got {other:?}").into()),
        }
    }

    impl Engine for Tessera {
        fn create_tables(&mut self) -> Res<()> {
            self.conn.execute(CREATE_T, &[])?;
            self.conn.execute(CREATE_U, &[])?;
            Ok(())
        }
        fn insert_t(&mut self, d: &Data) -> Res<()> {
            self.conn.execute("BEGIN", &[])?;
            let stmt = self.conn.prepare(INSERT_T)?;
            for i in 0..d.n {
                // The same call shape as the rusqlite side: a tuple with the text borrowed.
                self.conn.execute_prepared(&stmt, (i as i64 + 1, d.ks[i], d.vs[i].as_str()))?;
            }
            self.conn.execute("COMMIT", &[])?;
            Ok(())
        }
        fn insert_u(&mut self, d: &Data) -> Res<()> {
            self.conn.execute("BEGIN", &[])?;
            let stmt = self.conn.prepare(INSERT_U)?;
            for (i, &(t_id, w)) in d.u.iter().enumerate() {
                self.conn.execute_prepared(&stmt, (i as i64 + 1, t_id, w))?;
            }
            self.conn.execute("COMMIT", &[])?;
            Ok(())
        }
        fn create_index(&mut self) -> Res<()> {
            self.conn.execute(CREATE_INDEX, &[])?;
            Ok(())
        }
        fn counts(&mut self) -> Res<(i64, i64)> {
            let mut one = |sql: &str| -> Res<i64> {
                let row = self.conn.query(sql, &[])?.next().ok_or("no row")??;
                int(&row[0])
            };
            Ok((one("SELECT count(*) FROM t")?, one("SELECT count(*) FROM u")?))
        }
        fn point_selects(&mut self, ids: &[i64]) -> Res<(usize, i64)> {
            let stmt = self.conn.prepare(POINT)?;
            let (mut found, mut sum) = (0, 0);
            for &id in ids {
                for row in self.conn.query_prepared(&stmt, &[Value::Integer(id)])? {
                    let row = row?;
                    found += 1;
                    sum += int(&row[0])?;
                    if text_len(&row[1])? != V_LEN {
                        return Err("v has the wrong length".into());
                    }
                }
            }
            Ok((found, sum))
        }
        fn range_selects(&mut self, starts: &[i64]) -> Res<(usize, i64)> {
            let stmt = self.conn.prepare(RANGE)?;
            let (mut rows, mut sum) = (0, 0);
            for &lo in starts {
                let params = [Value::Integer(lo), Value::Integer(lo + RANGE_ROWS - 1)];
                for row in self.conn.query_prepared(&stmt, &params)? {
                    let row = row?;
                    rows += 1;
                    sum += int(&row[0])?;
                    if text_len(&row[1])? != V_LEN {
                        return Err("v has the wrong length".into());
                    }
                }
            }
            Ok((rows, sum))
        }
        fn group_by(&mut self) -> Res<(usize, i64, i64)> {
            let (mut groups, mut count, mut sum) = (0, 0, 0);
            for row in self.conn.query(GROUP_BY, &[])? {
                let row = row?;
                groups += 1;
                count += int(&row[1])?;
                sum += int(&row[2])?;
            }
            Ok((groups, count, sum))
        }
        fn join(&mut self) -> Res<(usize, i64)> {
            let (mut rows, mut sum) = (0, 0);
            for row in self.conn.query(JOIN, &[])? {
                let row = row?;
                rows += 1;
                sum += int(&row[0])? + int(&row[1])?;
            }
            Ok((rows, sum))
        }
    }
}

mod sqlite_engine {
    use super::*;
    use rusqlite::Connection;

    pub struct Sqlite {
        conn: Connection,
    }

    pub fn open(dir: &Path, synchronous: &str) -> Res<Box<dyn Engine>> {
        let conn = Connection::open(dir.join("db.sqlite"))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("sqlite: journal_mode is {mode}, not wal").into());
        }
        let cache_kib = tessera::Options::default().cache_size / 1024;
        conn.execute_batch(&format!("PRAGMA synchronous = {synchronous}; PRAGMA cache_size = -{cache_kib};"))?;
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        let want = if synchronous == "FULL" { 2 } else { 1 };
        if sync != want {
            return Err(format!("sqlite: synchronous is {sync}, not {synchronous}").into());
        }
        Ok(Box::new(Sqlite { conn }))
    }

    impl Engine for Sqlite {
        fn create_tables(&mut self) -> Res<()> {
            self.conn.execute_batch(&format!("{CREATE_T}; {CREATE_U};"))?;
            Ok(())
        }
        fn insert_t(&mut self, d: &Data) -> Res<()> {
            self.conn.execute_batch("BEGIN")?;
            {
                let mut stmt = self.conn.prepare_cached(INSERT_T)?;
                for i in 0..d.n {
                    stmt.execute((i as i64 + 1, d.ks[i], d.vs[i].as_str()))?;
                }
            }
            self.conn.execute_batch("COMMIT")?;
            Ok(())
        }
        fn insert_u(&mut self, d: &Data) -> Res<()> {
            self.conn.execute_batch("BEGIN")?;
            {
                let mut stmt = self.conn.prepare_cached(INSERT_U)?;
                for (i, &(t_id, w)) in d.u.iter().enumerate() {
                    stmt.execute((i as i64 + 1, t_id, w))?;
                }
            }
            self.conn.execute_batch("COMMIT")?;
            Ok(())
        }
        fn create_index(&mut self) -> Res<()> {
            self.conn.execute_batch(CREATE_INDEX)?;
            Ok(())
        }
        fn counts(&mut self) -> Res<(i64, i64)> {
            let t = self.conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
            let u = self.conn.query_row("SELECT count(*) FROM u", [], |r| r.get(0))?;
            Ok((t, u))
        }
        fn point_selects(&mut self, ids: &[i64]) -> Res<(usize, i64)> {
            let mut stmt = self.conn.prepare_cached(POINT)?;
            let (mut found, mut sum) = (0, 0);
            for &id in ids {
                let mut rows = stmt.query([id])?;
                while let Some(row) = rows.next()? {
                    found += 1;
                    sum += row.get::<_, i64>(0)?;
                    if row.get_ref(1)?.as_str()?.len() != V_LEN {
                        return Err("v has the wrong length".into());
                    }
                }
            }
            Ok((found, sum))
        }
        fn range_selects(&mut self, starts: &[i64]) -> Res<(usize, i64)> {
            let mut stmt = self.conn.prepare_cached(RANGE)?;
            let (mut n, mut sum) = (0, 0);
            for &lo in starts {
                let mut rows = stmt.query([lo, lo + RANGE_ROWS - 1])?;
                while let Some(row) = rows.next()? {
                    n += 1;
                    sum += row.get::<_, i64>(0)?;
                    if row.get_ref(1)?.as_str()?.len() != V_LEN {
                        return Err("v has the wrong length".into());
                    }
                }
            }
            Ok((n, sum))
        }
        fn group_by(&mut self) -> Res<(usize, i64, i64)> {
            let mut stmt = self.conn.prepare_cached(GROUP_BY)?;
            let mut rows = stmt.query([])?;
            let (mut groups, mut count, mut sum) = (0, 0, 0);
            while let Some(row) = rows.next()? {
                groups += 1;
                count += row.get::<_, i64>(1)?;
                sum += row.get::<_, i64>(2)?;
            }
            Ok((groups, count, sum))
        }
        fn join(&mut self) -> Res<(usize, i64)> {
            let mut stmt = self.conn.prepare_cached(JOIN)?;
            let mut rows = stmt.query([])?;
            let (mut n, mut sum) = (0, 0);
            while let Some(row) = rows.next()? {
                n += 1;
                sum += row.get::<_, i64>(0)? + row.get::<_, i64>(1)?;
            }
            Ok((n, sum))
        }
    }
}

struct EngineSpec {
    name: &'static str,
    header: &'static str,
    open: fn(&Path) -> Res<Box<dyn Engine>>,
}

const ENGINES: [EngineSpec; 3] = [
    EngineSpec { name: "tessera", header: "tessera ms", open: tessera_engine::open },
    EngineSpec { name: "sqlite-normal", header: "sqlite NORMAL ms", open: |dir| sqlite_engine::open(dir, "NORMAL") },
    EngineSpec { name: "sqlite-full", header: "sqlite FULL ms", open: |dir| sqlite_engine::open(dir, "FULL") },
];

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Runs every workload on one engine; one time in ms per row of `ROWS`.
fn run_engine(spec: &EngineSpec, d: &Data, expected: &Expected, root: &Path) -> Res<Vec<f64>> {
    let name = spec.name;
    let dir = tempfile::Builder::new().prefix(&format!("sql-{name}-")).tempdir_in(root)?;
    let mut e = (spec.open)(dir.path())?;
    let mut out = Vec::with_capacity(ROWS.len());
    let log = |row: &str, v: f64| eprintln!("  {name:>13}: {row:<42} {v:>10.1} ms");

    e.create_tables()?;
    let t = Instant::now();
    e.insert_t(d)?;
    out.push(ms(t));
    log(ROWS[0], out[0]);

    let t = Instant::now();
    e.create_index()?;
    out.push(ms(t));
    log(ROWS[1], out[1]);

    e.insert_u(d)?;
    check(name, "row counts (t, u)", e.counts()?, (d.n as i64, d.u.len() as i64))?;

    let t = Instant::now();
    let got = e.point_selects(&d.point_ids)?;
    out.push(ms(t));
    check(name, "point selects (rows, sum of k)", got, expected.points)?;
    log(ROWS[2], out[2]);

    let t = Instant::now();
    let got = e.range_selects(&d.range_starts)?;
    out.push(ms(t));
    check(name, "range selects (rows, sum of id)", got, expected.ranges)?;
    log(ROWS[3], out[3]);

    let t = Instant::now();
    let got = e.group_by()?;
    out.push(ms(t));
    check(name, "group by (groups, count, sum of id)", got, expected.groups)?;
    log(ROWS[4], out[4]);

    let t = Instant::now();
    let got = e.join()?;
    out.push(ms(t));
    check(name, "join (rows, sum of k + w)", got, expected.join)?;
    log(ROWS[5], out[5]);

    drop(e);
    dir.close()?;
    Ok(out)
}

fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn selected_engines() -> Vec<&'static EngineSpec> {
    let Ok(list) = std::env::var("TESSERA_SQL_BENCH_ENGINES") else { return ENGINES.iter().collect() };
    let mut out: Vec<&EngineSpec> = Vec::new();
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let names: &[&str] = match s.to_ascii_lowercase().as_str() {
            "tessera" => &["tessera"],
            "sqlite" => &["sqlite-normal", "sqlite-full"],
            "sqlite-normal" => &["sqlite-normal"],
            "sqlite-full" => &["sqlite-full"],
            other => panic!("TESSERA_SQL_BENCH_ENGINES: unknown engine {other:?}; known: tessera, sqlite, sqlite-normal, sqlite-full"),
        };
        for name in names {
            let spec = ENGINES.iter().find(|e| e.name == *name).unwrap();
            if !out.iter().any(|e| e.name == spec.name) {
                out.push(spec);
            }
        }
    }
    assert!(!out.is_empty(), "TESSERA_SQL_BENCH_ENGINES={list:?} selects no engine");
    out
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this binary without it: then,
    // unless told otherwise, a quick smoke run.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n = env_usize("TESSERA_SQL_BENCH_N", if smoke { 2_000 } else { FULL_N });
    assert!(n >= 1000, "TESSERA_SQL_BENCH_N must be at least 1000 (got {n})");
    let ranges = ((FULL_RANGES as f64 * (n as f64 / FULL_N as f64).min(1.0)).round() as usize).max(1);
    let engines = selected_engines();

    let root = match std::env::var("TESSERA_BENCH_DIR") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => target_dir().join("bench-tmp"),
    };
    std::fs::create_dir_all(&root).expect("creating the benchmark directory");
    let fstype = fs_type(&root).unwrap_or_else(|| "unknown".into());
    if fstype == "tmpfs" || fstype == "ramfs" {
        eprintln!(
            "WARNING: {} is on {fstype}: commit figures will be meaningless. \
             Set TESSERA_BENCH_DIR to a directory on a real disk.",
            root.display()
        );
    }

    eprintln!("generating {n} rows, {ranges} range starts, {} join rows...", n / 10);
    let data = Data::new(n, ranges);
    let expected = data.expected();

    let mut results: Vec<(&EngineSpec, Option<Vec<f64>>)> = Vec::new();
    let mut failed = false;
    for spec in &engines {
        eprintln!("{}:", spec.name);
        let started = Instant::now();
        match run_engine(spec, &data, &expected, &root) {
            Ok(times) => {
                eprintln!("  {:>13}: done in {:.1} s", spec.name, started.elapsed().as_secs_f64());
                results.push((spec, Some(times)));
            }
            Err(e) => {
                eprintln!("  {:>13}: FAILED: {e}", spec.name);
                failed = true;
                results.push((spec, None));
            }
        }
    }

    let cell = |name: &str, i: usize| -> Option<Result<f64, ()>> {
        results.iter().find(|(s, _)| s.name == name).map(|(_, r)| r.as_ref().map(|t| t[i]).ok_or(()))
    };
    let mut md = String::new();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _ = writeln!(
        md,
        "SQL benchmark, N = {n} rows ({ranges} range selects, {} join rows), {threads} cores, {fstype} at {}. \
         SQLite {} in WAL mode, cache {} MiB. Times in ms (lower is better); ratio = sqlite NORMAL / tessera \
         (above 1: Tessera is faster).\n",
        n / 10,
        root.display(),
        rusqlite::version(),
        tessera::Options::default().cache_size >> 20
    );
    let headers: Vec<&str> = ENGINES.iter().map(|e| e.header).collect();
    let _ = writeln!(md, "| workload | {} | ratio (sqlite NORMAL / tessera) |", headers.join(" | "));
    let _ = writeln!(md, "|---|{}---:|", "---:|".repeat(ENGINES.len()));
    for (i, row) in ROWS.iter().enumerate() {
        let _ = write!(md, "| {row} |");
        for e in &ENGINES {
            let s = match cell(e.name, i) {
                None => "–".to_string(),
                Some(Err(())) => "error".to_string(),
                Some(Ok(v)) => fmt_ms(v),
            };
            let _ = write!(md, " {s} |");
        }
        let ratio = match (cell("sqlite-normal", i), cell("tessera", i)) {
            (Some(Ok(s)), Some(Ok(t))) if t > 0.0 => format!("{:.2}", s / t),
            _ => "–".to_string(),
        };
        let _ = writeln!(md, " {ratio} |");
    }

    let out = std::env::var("TESSERA_BENCH_OUT").ok().map(PathBuf::from);
    common::finish(&md, out.as_deref(), failed);
}
