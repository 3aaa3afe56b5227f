//! Side-by-side comparison of Tessera with redb, LMDB (heed), fjall and SQLite, in one
//! process run, on the workload of redb's own comparison benchmark
//! (`crates/redb-bench/benches/lmdb_benchmark.rs` in cberner/redb), scaled by `N`.
//!
//! Run: `cargo bench --manifest-path bench/Cargo.toml --bench peers` from the repository root
//! (release profile; `bench/` is a workspace of its own). Run without `--bench` (as
//! `cargo test --benches` / `--all-targets` in `bench/` does), it is a smoke test: N defaults to 2000 and no
//! report file is written unless `TESSERA_BENCH_OUT` says where. Environment:
//! - `TESSERA_BENCH_N`: number of pairs in the bulk load (default 1_000_000; CI uses 20000).
//! - `TESSERA_BENCH_ENGINES`: comma-separated subset of `tessera,redb,lmdb,fjall,sqlite`
//!   (default: all, in that order).
//! - `TESSERA_BENCH_DIR`: directory under which each engine gets its own temp dir (default:
//!   `<cargo target dir>/bench-tmp`). It must be a real disk: durable-commit figures on tmpfs
//!   are meaningless, and the harness warns when it sees one.
//! - `TESSERA_BENCH_OUT`: where the Markdown table is written (default:
//!   `<cargo target dir>/peers.md`).
//! - `TESSERA_BENCH_CACHE_MB`: page-cache budget for the engines that have one (default 1024,
//!   redb's default).
//!
//! Workload (same data for every engine, from a fixed-seed xorshift generator): 24-byte
//! random keys, 150-byte random values.
//! - bulk load: N pairs in one transaction, durable commit;
//! - 200 durable single commits: one new pair per transaction, each commit synced;
//! - 20 batches of 1,000: each batch one durable commit;
//! - random reads: N point reads of existing keys (value length checked, hits counted);
//! - range reads: N/2 scans of the 10 entries starting at a random existing key;
//! - reads 2 threads: N random reads split over two threads, wall time;
//! - remove half: N/2 removals in one transaction, durable commit;
//! - file size after the bulk load, and at the end.
//!
//! Peer configuration: redb `Database::create` (defaults: 1 GiB cache, durable commits);
//! LMDB through heed with default flags (durable commits) and a map large enough; fjall
//! `SingleWriterTxDatabase` with every write transaction committed under
//! `PersistMode::SyncAll`, cache set to the common budget; SQLite (bundled) in WAL mode with
//! `synchronous=FULL`, one `WITHOUT ROWID` table, prepared statements, `cache_size` set to the
//! common budget. Tessera: `Database::open_with` with `cache_size` set to the common budget,
//! default durability (one sync per commit).

mod common;

use common::{env_usize, fs_type, target_dir, Rng};
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

type BoxError = Box<dyn Error>;
type Res<T> = Result<T, BoxError>;

const KEY_LEN: usize = 24;
const VALUE_LEN: usize = 150;
const SINGLE_COMMITS: usize = 200;
const BATCHES: usize = 20;
const BATCH_SIZE: usize = 1_000;
const SCAN_LEN: usize = 10;
const READ_THREADS: usize = 2;
const SEED: u64 = 0x7e55_e4a0_2024_0001;
const TABLE: &str = "kv";

type Key = [u8; KEY_LEN];
type Value = [u8; VALUE_LEN];

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

/// Every key and value the workload touches, generated up front so no row times the PRNG.
struct Workload {
    n: usize,
    keys: Vec<Key>,
    values: Vec<Value>,
    /// Indices into `keys` of the N point reads (all existing keys).
    reads: Vec<u32>,
    /// Indices into `keys` of the N/2 scan start keys (all existing keys).
    scans: Vec<u32>,
    /// What the scans must see: (entries, sum of the first byte of each value).
    scan_expected: (usize, u64),
}

impl Workload {
    fn new(n: usize) -> Self {
        let total = n + SINGLE_COMMITS + BATCHES * BATCH_SIZE;
        let mut rng = Rng::new(SEED);
        let mut keys = Vec::with_capacity(total);
        let mut values = Vec::with_capacity(total);
        for _ in 0..total {
            let mut k = [0u8; KEY_LEN];
            let mut v = [0u8; VALUE_LEN];
            rng.fill(&mut k);
            rng.fill(&mut v);
            keys.push(k);
            values.push(v);
        }
        let reads = (0..n).map(|_| rng.below(total) as u32).collect();
        let scans: Vec<u32> = (0..n / 2).map(|_| rng.below(total) as u32).collect();
        // The expected scan results, from the keys in sorted order (every key is in the table
        // when the scans run).
        let mut sorted: Vec<u32> = (0..total as u32).collect();
        sorted.sort_unstable_by_key(|&i| keys[i as usize]);
        let mut rank = vec![0u32; total];
        for (pos, &i) in sorted.iter().enumerate() {
            rank[i as usize] = pos as u32;
        }
        let mut scan_expected = (0usize, 0u64);
        for &i in &scans {
            let pos = rank[i as usize] as usize;
            for &j in &sorted[pos..(pos + SCAN_LEN).min(total)] {
                scan_expected.0 += 1;
                scan_expected.1 += values[j as usize][0] as u64;
            }
        }
        Workload { n, keys, values, reads, scans, scan_expected }
    }
    fn total(&self) -> usize {
        self.keys.len()
    }
    /// The pairs of `range` (indices into the generated data).
    fn pairs(&self, range: std::ops::Range<usize>) -> Pairs<'_> {
        Pairs { keys: &self.keys[range.clone()], values: &self.values[range] }
    }
    fn bulk(&self) -> Pairs<'_> {
        self.pairs(0..self.n)
    }
    fn single(&self, i: usize) -> Pairs<'_> {
        let at = self.n + i;
        self.pairs(at..at + 1)
    }
    fn batch(&self, i: usize) -> Pairs<'_> {
        let at = self.n + SINGLE_COMMITS + i * BATCH_SIZE;
        self.pairs(at..at + BATCH_SIZE)
    }
    /// The keys removed by the last row: the first N/2 of the bulk load (random order).
    fn removals(&self) -> &[Key] {
        &self.keys[..self.n / 2]
    }
}

#[derive(Clone, Copy)]
struct Pairs<'a> {
    keys: &'a [Key],
    values: &'a [Value],
}

impl<'a> Pairs<'a> {
    fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        self.keys.iter().map(|k| &k[..]).zip(self.values.iter().map(|v| &v[..]))
    }
}

// ---------------------------------------------------------------------------------------------
// The engine abstraction
// ---------------------------------------------------------------------------------------------

/// One database under test. Every write method is one transaction with a durable commit.
trait Engine: Sync {
    /// Inserts all `pairs` in one write transaction and commits it durably.
    fn write(&mut self, pairs: Pairs<'_>) -> Res<()>;
    /// Removes all `keys` in one write transaction and commits it durably.
    fn remove(&mut self, keys: &[Key]) -> Res<()>;
    /// Opens a read snapshot (on the calling thread) and hands a reader over it to `f`.
    fn read(&self, f: &mut dyn FnMut(&mut dyn Reader) -> Res<()>) -> Res<()>;
}

/// Point and range reads inside one read snapshot.
trait Reader {
    /// The length of the value stored under `key`, if any.
    fn get(&mut self, key: &[u8]) -> Res<Option<usize>>;
    /// Visits up to `n` entries from `start` on; returns (entries seen, sum of the first byte
    /// of each value).
    fn scan(&mut self, start: &[u8], n: usize) -> Res<(usize, u64)>;
}

struct EngineSpec {
    name: &'static str,
    open: fn(&Path, usize) -> Res<Box<dyn Engine>>,
}

const ENGINES: &[EngineSpec] = &[
    EngineSpec { name: "tessera", open: tessera_engine::open },
    EngineSpec { name: "redb", open: redb_engine::open },
    EngineSpec { name: "lmdb", open: lmdb_engine::open },
    EngineSpec { name: "fjall", open: fjall_engine::open },
    EngineSpec { name: "sqlite", open: sqlite_engine::open },
];

// ---------------------------------------------------------------------------------------------
// redb
// ---------------------------------------------------------------------------------------------

mod redb_engine {
    use super::*;
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};

    const T: TableDefinition<&[u8], &[u8]> = TableDefinition::new(TABLE);

    pub struct Redb {
        db: redb::Database,
    }

    pub fn open(dir: &Path, _cache: usize) -> Res<Box<dyn Engine>> {
        // redb's defaults: 1 GiB cache, Durability::Immediate.
        let db = redb::Database::create(dir.join("db.redb"))?;
        Ok(Box::new(Redb { db }))
    }

    impl Engine for Redb {
        fn write(&mut self, pairs: Pairs<'_>) -> Res<()> {
            let tx = self.db.begin_write()?;
            {
                let mut t = tx.open_table(T)?;
                for (k, v) in pairs.iter() {
                    t.insert(k, v)?;
                }
            }
            tx.commit()?;
            Ok(())
        }
        fn remove(&mut self, keys: &[Key]) -> Res<()> {
            let tx = self.db.begin_write()?;
            {
                let mut t = tx.open_table(T)?;
                for k in keys {
                    t.remove(&k[..])?;
                }
            }
            tx.commit()?;
            Ok(())
        }
        fn read(&self, f: &mut dyn FnMut(&mut dyn Reader) -> Res<()>) -> Res<()> {
            let tx = self.db.begin_read()?;
            let t = tx.open_table(T)?;
            f(&mut RedbReader { t: &t })
        }
    }

    struct RedbReader<'a> {
        t: &'a redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    }

    impl Reader for RedbReader<'_> {
        fn get(&mut self, key: &[u8]) -> Res<Option<usize>> {
            // The trait method: the lifetime-bound accessor (as redb's own benchmark does).
            Ok(ReadableTable::get(self.t, key)?.map(|g| g.value().len()))
        }
        fn scan(&mut self, start: &[u8], n: usize) -> Res<(usize, u64)> {
            let (mut seen, mut sum) = (0, 0u64);
            for item in ReadableTable::range(self.t, start..)?.take(n) {
                let (_k, v) = item?;
                seen += 1;
                sum += v.value()[0] as u64;
            }
            Ok((seen, sum))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// LMDB (heed)
// ---------------------------------------------------------------------------------------------

mod lmdb_engine {
    use super::*;
    use heed::types::Bytes;
    use heed::{CommitOrAbort, EnvOpenOptions};

    type Db = heed::Database<'static, Bytes, Bytes>;

    pub struct Lmdb {
        env: heed::Env,
        db: Db,
    }

    pub fn open(dir: &Path, _cache: usize) -> Res<Box<dyn Engine>> {
        // Default flags (durable commits); the map only reserves address space.
        let env = unsafe { EnvOpenOptions::new().map_size(64 << 30).open(dir)? };
        let wtxn = env.write_txn()?;
        let db: Db = env
            .create_databases_and_commit(wtxn, |dbo, wtxn| {
                dbo.create_database::<Bytes, Bytes>(wtxn, None).map(CommitOrAbort::<_, ()>::Commit)
            })?
            .unwrap_commit();
        Ok(Box::new(Lmdb { env, db }))
    }

    impl Engine for Lmdb {
        fn write(&mut self, pairs: Pairs<'_>) -> Res<()> {
            let mut tx = self.env.write_txn()?;
            for (k, v) in pairs.iter() {
                self.db.put(&mut tx, k, v)?;
            }
            tx.commit()?;
            Ok(())
        }
        fn remove(&mut self, keys: &[Key]) -> Res<()> {
            let mut tx = self.env.write_txn()?;
            for k in keys {
                self.db.delete(&mut tx, &k[..])?;
            }
            tx.commit()?;
            Ok(())
        }
        fn read(&self, f: &mut dyn FnMut(&mut dyn Reader) -> Res<()>) -> Res<()> {
            let tx = self.env.read_txn()?;
            f(&mut LmdbReader { db: self.db, tx: &tx })
        }
    }

    struct LmdbReader<'t, 'e> {
        db: Db,
        tx: &'t heed::RoTxn<'e, heed::WithTls>,
    }

    impl Reader for LmdbReader<'_, '_> {
        fn get(&mut self, key: &[u8]) -> Res<Option<usize>> {
            Ok(self.db.get(self.tx, key)?.map(|v| v.len()))
        }
        fn scan(&mut self, start: &[u8], n: usize) -> Res<(usize, u64)> {
            let (mut seen, mut sum) = (0, 0u64);
            let range = (std::ops::Bound::Included(start), std::ops::Bound::Unbounded);
            for item in self.db.range(self.tx, &range)?.take(n) {
                let (_k, v) = item?;
                seen += 1;
                sum += v[0] as u64;
            }
            Ok((seen, sum))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fjall
// ---------------------------------------------------------------------------------------------

mod fjall_engine {
    use super::*;
    use fjall::{KeyspaceCreateOptions, PersistMode, Readable};

    pub struct Fjall {
        db: fjall::SingleWriterTxDatabase,
        ks: fjall::SingleWriterTxKeyspace,
    }

    pub fn open(dir: &Path, cache: usize) -> Res<Box<dyn Engine>> {
        let db = fjall::SingleWriterTxDatabase::builder(dir).cache_size(cache as u64).open()?;
        let ks = db.keyspace(TABLE, KeyspaceCreateOptions::default)?;
        Ok(Box::new(Fjall { db, ks }))
    }

    impl Fjall {
        /// A write transaction whose commit syncs the journal (data and metadata).
        fn durable_tx(&self) -> fjall::SingleWriterWriteTx<'_> {
            self.db.write_tx().durability(Some(PersistMode::SyncAll))
        }
    }

    impl Engine for Fjall {
        fn write(&mut self, pairs: Pairs<'_>) -> Res<()> {
            let mut tx = self.durable_tx();
            for (k, v) in pairs.iter() {
                tx.insert(&self.ks, k, v);
            }
            tx.commit()?;
            Ok(())
        }
        fn remove(&mut self, keys: &[Key]) -> Res<()> {
            let mut tx = self.durable_tx();
            for k in keys {
                tx.remove(&self.ks, &k[..]);
            }
            tx.commit()?;
            Ok(())
        }
        fn read(&self, f: &mut dyn FnMut(&mut dyn Reader) -> Res<()>) -> Res<()> {
            let snap = self.db.read_tx();
            f(&mut FjallReader { snap: &snap, ks: &self.ks })
        }
    }

    struct FjallReader<'a> {
        snap: &'a fjall::Snapshot,
        ks: &'a fjall::SingleWriterTxKeyspace,
    }

    impl Reader for FjallReader<'_> {
        fn get(&mut self, key: &[u8]) -> Res<Option<usize>> {
            Ok(self.snap.get(self.ks, key)?.map(|v| v.len()))
        }
        fn scan(&mut self, start: &[u8], n: usize) -> Res<(usize, u64)> {
            let (mut seen, mut sum) = (0, 0u64);
            for item in self.snap.range(self.ks, start..).take(n) {
                let (_k, v) = item.into_inner()?;
                seen += 1;
                sum += v[0] as u64;
            }
            Ok((seen, sum))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite (rusqlite, bundled)
// ---------------------------------------------------------------------------------------------

mod sqlite_engine {
    use super::*;
    use rusqlite::{Connection, OptionalExtension};

    const INSERT: &str = "INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)";
    const DELETE: &str = "DELETE FROM kv WHERE key = ?1";
    const GET: &str = "SELECT value FROM kv WHERE key = ?1";
    const SCAN: &str = "SELECT value FROM kv WHERE key >= ?1 ORDER BY key LIMIT ?2";

    pub struct Sqlite {
        path: PathBuf,
        cache: usize,
        /// The writer connection (`Connection` is `Send`, not `Sync`).
        writer: Mutex<Connection>,
        /// Reader connections, kept so their page caches stay warm between rows; one per
        /// concurrent reader.
        readers: Mutex<Vec<Connection>>,
    }

    fn connect(path: &Path, cache: usize) -> Res<Connection> {
        let conn = Connection::open(path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("sqlite: journal_mode is {mode}, not wal").into());
        }
        conn.execute_batch(&format!("PRAGMA synchronous = FULL; PRAGMA cache_size = -{};", cache / 1024))?;
        Ok(conn)
    }

    pub fn open(dir: &Path, cache: usize) -> Res<Box<dyn Engine>> {
        let path = dir.join("db.sqlite");
        let conn = connect(&path, cache)?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID")?;
        Ok(Box::new(Sqlite { path, cache, writer: Mutex::new(conn), readers: Mutex::new(Vec::new()) }))
    }

    impl Engine for Sqlite {
        fn write(&mut self, pairs: Pairs<'_>) -> Res<()> {
            let conn = self.writer.get_mut().unwrap();
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(INSERT)?;
                for (k, v) in pairs.iter() {
                    stmt.execute((k, v))?;
                }
            }
            tx.commit()?;
            Ok(())
        }
        fn remove(&mut self, keys: &[Key]) -> Res<()> {
            let conn = self.writer.get_mut().unwrap();
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(DELETE)?;
                for k in keys {
                    stmt.execute([&k[..]])?;
                }
            }
            tx.commit()?;
            Ok(())
        }
        fn read(&self, f: &mut dyn FnMut(&mut dyn Reader) -> Res<()>) -> Res<()> {
            let pooled = self.readers.lock().unwrap().pop();
            let conn = match pooled {
                Some(c) => c,
                None => connect(&self.path, self.cache)?,
            };
            let result = (|| {
                // One read transaction: a consistent snapshot, as for the other engines.
                let tx = conn.unchecked_transaction()?;
                let mut get = tx.prepare_cached(GET)?;
                let mut scan = tx.prepare_cached(SCAN)?;
                let r = f(&mut SqliteReader { get: &mut get, scan: &mut scan });
                drop((get, scan));
                tx.commit()?;
                r
            })();
            self.readers.lock().unwrap().push(conn);
            result
        }
    }

    struct SqliteReader<'a, 'c> {
        get: &'a mut rusqlite::CachedStatement<'c>,
        scan: &'a mut rusqlite::CachedStatement<'c>,
    }

    impl Reader for SqliteReader<'_, '_> {
        fn get(&mut self, key: &[u8]) -> Res<Option<usize>> {
            Ok(self.get.query_row([key], |row| Ok(row.get_ref(0)?.as_blob()?.len())).optional()?)
        }
        fn scan(&mut self, start: &[u8], n: usize) -> Res<(usize, u64)> {
            let (mut seen, mut sum) = (0, 0u64);
            let mut rows = self.scan.query((start, n as i64))?;
            while let Some(row) = rows.next()? {
                seen += 1;
                sum += row.get_ref(0)?.as_blob()?[0] as u64;
            }
            Ok((seen, sum))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tessera
// ---------------------------------------------------------------------------------------------

mod tessera_engine {
    use super::*;

    pub struct Tessera {
        db: tessera::Database,
    }

    pub fn open(dir: &Path, cache: usize) -> Res<Box<dyn Engine>> {
        let options = tessera::Options { cache_size: cache, ..tessera::Options::default() };
        let db = tessera::Database::open_with(dir.join("db.tessera"), options)?;
        Ok(Box::new(Tessera { db }))
    }

    impl Engine for Tessera {
        fn write(&mut self, pairs: Pairs<'_>) -> Res<()> {
            let tx = self.db.begin_write()?;
            {
                let mut t = tx.open_table(TABLE)?;
                for (k, v) in pairs.iter() {
                    t.insert(k, v)?;
                }
            }
            tx.commit()?;
            Ok(())
        }
        fn remove(&mut self, keys: &[Key]) -> Res<()> {
            let tx = self.db.begin_write()?;
            {
                let mut t = tx.open_table(TABLE)?;
                for k in keys {
                    t.remove(&k[..])?;
                }
            }
            tx.commit()?;
            Ok(())
        }
        fn read(&self, f: &mut dyn FnMut(&mut dyn Reader) -> Res<()>) -> Res<()> {
            let rx = self.db.begin_read()?;
            let t = rx.open_table(TABLE)?;
            f(&mut TesseraReader { t: &t })
        }
    }

    struct TesseraReader<'a, 'tx> {
        t: &'a tessera::ReadTable<'tx>,
    }

    impl Reader for TesseraReader<'_, '_> {
        fn get(&mut self, key: &[u8]) -> Res<Option<usize>> {
            Ok(self.t.get(key)?.map(|v| v.len()))
        }
        fn scan(&mut self, start: &[u8], n: usize) -> Res<(usize, u64)> {
            let (mut seen, mut sum) = (0, 0u64);
            for item in self.t.range(start..)?.take(n) {
                let (_k, v) = item?;
                seen += 1;
                sum += v[0] as u64;
            }
            Ok((seen, sum))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The rows
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Ms,
    MiB,
}

struct Row {
    name: &'static str,
    unit: Unit,
}

const ROWS: &[Row] = &[
    Row { name: "bulk load", unit: Unit::Ms },
    Row { name: "file size after bulk load (MiB)", unit: Unit::MiB },
    Row { name: "200 durable single commits", unit: Unit::Ms },
    Row { name: "20 batches of 1,000", unit: Unit::Ms },
    Row { name: "random reads", unit: Unit::Ms },
    Row { name: "range reads", unit: Unit::Ms },
    Row { name: "reads 2 threads", unit: Unit::Ms },
    Row { name: "remove half", unit: Unit::Ms },
    Row { name: "file size at end (MiB)", unit: Unit::MiB },
];

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Bytes of every file under `path` (the engine's own temp dir).
fn dir_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path).map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum()).unwrap_or(0)
}

/// Point reads of `reads` (indices into the workload's keys) in one snapshot; returns
/// (hits, bytes of the values found).
fn point_reads(engine: &dyn Engine, w: &Workload, reads: &[u32]) -> Res<(usize, usize)> {
    let (mut found, mut bytes) = (0, 0);
    engine.read(&mut |r| {
        for &i in reads {
            if let Some(len) = r.get(&w.keys[i as usize])? {
                found += 1;
                bytes += len;
            }
        }
        Ok(())
    })?;
    Ok((found, bytes))
}

fn check_reads(name: &str, what: &str, expected: usize, (found, bytes): (usize, usize)) -> Res<()> {
    if found != expected || bytes != expected * VALUE_LEN {
        return Err(format!(
            "{name}: {what}: found {found} of {expected} keys, {bytes} value bytes (expected {})",
            expected * VALUE_LEN
        )
        .into());
    }
    Ok(())
}

/// Runs every row on one engine; returns one figure per row of `ROWS`.
fn run_engine(spec: &EngineSpec, w: &Workload, root: &Path, cache: usize) -> Res<Vec<f64>> {
    let name = spec.name;
    let dir = tempfile::Builder::new().prefix(&format!("{name}-")).tempdir_in(root)?;
    let mut out = Vec::with_capacity(ROWS.len());
    let mut engine = (spec.open)(dir.path(), cache)?;
    let log = |row: &str, v: f64, unit: &str| eprintln!("  {name:>8}: {row:<32} {v:>12.2} {unit}");

    let t = Instant::now();
    engine.write(w.bulk())?;
    out.push(ms(t.elapsed()));
    log(ROWS[0].name, out[0], "ms");

    out.push(mib(dir_size(dir.path())));
    log(ROWS[1].name, out[1], "MiB");

    let t = Instant::now();
    for i in 0..SINGLE_COMMITS {
        engine.write(w.single(i))?;
    }
    out.push(ms(t.elapsed()));
    log(ROWS[2].name, out[2], "ms");

    let t = Instant::now();
    for i in 0..BATCHES {
        engine.write(w.batch(i))?;
    }
    out.push(ms(t.elapsed()));
    log(ROWS[3].name, out[3], "ms");

    let t = Instant::now();
    let got = point_reads(&*engine, w, &w.reads)?;
    out.push(ms(t.elapsed()));
    check_reads(name, "random reads", w.reads.len(), got)?;
    log(ROWS[4].name, out[4], "ms");

    let t = Instant::now();
    let (mut seen, mut sum) = (0usize, 0u64);
    engine.read(&mut |r| {
        for &i in &w.scans {
            let (s, x) = r.scan(&w.keys[i as usize], SCAN_LEN)?;
            seen += s;
            sum += x;
        }
        Ok(())
    })?;
    out.push(ms(t.elapsed()));
    if (seen, sum) != w.scan_expected {
        return Err(format!(
            "{name}: range reads saw (entries, value checksum) = {:?}, expected {:?}",
            (seen, sum),
            w.scan_expected
        )
        .into());
    }
    log(ROWS[5].name, out[5], "ms");

    let chunk = w.reads.len().div_ceil(READ_THREADS).max(1);
    let barrier = Barrier::new(READ_THREADS);
    let engine_ref: &dyn Engine = &*engine;
    let t = Instant::now();
    let results: Vec<Result<(usize, usize), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = w
            .reads
            .chunks(chunk)
            .map(|part| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    point_reads(engine_ref, w, part).map_err(|e| e.to_string())
                })
            })
            .collect();
        // With fewer chunks than threads (tiny N) the barrier would never open.
        assert_eq!(handles.len(), READ_THREADS, "N too small to split over the threads");
        handles.into_iter().map(|h| h.join().expect("reader thread panicked")).collect()
    });
    out.push(ms(t.elapsed()));
    let mut total = (0, 0);
    for r in results {
        let (f, b) = r?;
        total.0 += f;
        total.1 += b;
    }
    check_reads(name, "reads 2 threads", w.reads.len(), total)?;
    log(ROWS[6].name, out[6], "ms");

    let t = Instant::now();
    engine.remove(w.removals())?;
    out.push(ms(t.elapsed()));
    log(ROWS[7].name, out[7], "ms");
    // The removed keys are gone, the others are still there.
    let removed = &w.removals()[..w.removals().len().min(1000)];
    let mut still_there = 0;
    let mut kept_found = 0;
    engine.read(&mut |r| {
        for k in removed {
            still_there += r.get(k)?.is_some() as usize;
        }
        for k in &w.keys[w.n / 2..(w.n / 2 + 1000).min(w.total())] {
            kept_found += r.get(k)?.is_some() as usize;
        }
        Ok(())
    })?;
    let kept_expected = (w.n / 2 + 1000).min(w.total()) - w.n / 2;
    if still_there != 0 || kept_found != kept_expected {
        return Err(format!(
            "{name}: after removal {still_there} removed keys still found, \
             {kept_found} of {kept_expected} kept keys found"
        )
        .into());
    }

    out.push(mib(dir_size(dir.path())));
    log(ROWS[8].name, out[8], "MiB");

    drop(engine);
    dir.close()?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Environment and report
// ---------------------------------------------------------------------------------------------

/// Today's date (UTC) as YYYY-MM-DD, without a date crate (Howard Hinnant's civil_from_days).
fn today() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!("{y:04}-{m:02}-{d:02}")
}

fn fmt_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::MiB => format!("{v:.2}"),
        Unit::Ms if v >= 100.0 => format!("{v:.0}"),
        Unit::Ms if v >= 10.0 => format!("{v:.1}"),
        Unit::Ms => format!("{v:.2}"),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` / `--all-targets` runs this binary
    // without it. Then, unless told otherwise, run a quick smoke test (small N, no report file)
    // so test runs stay fast.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n = env_usize("TESSERA_BENCH_N", if smoke { 2_000 } else { 1_000_000 });
    assert!(n >= 2 * READ_THREADS, "TESSERA_BENCH_N must be at least {}", 2 * READ_THREADS);
    let cache = env_usize("TESSERA_BENCH_CACHE_MB", 1024) << 20;
    let selected: Vec<&EngineSpec> = match std::env::var("TESSERA_BENCH_ENGINES") {
        Ok(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let s = if s.eq_ignore_ascii_case("heed") { "lmdb" } else { s };
                ENGINES
                    .iter()
                    .find(|e| e.name.eq_ignore_ascii_case(s))
                    .unwrap_or_else(|| panic!("unknown engine {s:?}; known: tessera,redb,lmdb,fjall,sqlite"))
            })
            .collect(),
        Err(_) => ENGINES.iter().collect(),
    };

    let target = target_dir();
    let root = match std::env::var("TESSERA_BENCH_DIR") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => target.join("bench-tmp"),
    };
    std::fs::create_dir_all(&root).expect("creating the benchmark directory");
    let fstype = fs_type(&root).unwrap_or_else(|| "unknown".into());
    if fstype == "tmpfs" || fstype == "ramfs" {
        eprintln!(
            "WARNING: {} is on {fstype}: durable-commit figures will be meaningless. \
             Set TESSERA_BENCH_DIR to a directory on a real disk.",
            root.display()
        );
    }
    let out_path = match std::env::var("TESSERA_BENCH_OUT") {
        Ok(path) => Some(PathBuf::from(path)),
        Err(_) if smoke => None,
        Err(_) => Some(target.join("peers.md")),
    };

    eprintln!("generating {n} pairs (+{} for the commit rows)...", SINGLE_COMMITS + BATCHES * BATCH_SIZE);
    let w = Workload::new(n);

    let mut columns: Vec<(&str, Option<Vec<f64>>)> = Vec::new();
    let mut failed = false;
    for spec in &selected {
        eprintln!("{}:", spec.name);
        let started = Instant::now();
        match run_engine(spec, &w, &root, cache) {
            Ok(figures) => {
                eprintln!("  {:>8}: done in {:.1} s", spec.name, started.elapsed().as_secs_f64());
                columns.push((spec.name, Some(figures)));
            }
            Err(e) => {
                eprintln!("  {:>8}: FAILED: {e}", spec.name);
                failed = true;
                columns.push((spec.name, None));
            }
        }
    }

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Peers benchmark, N = {n} pairs (24-byte keys, 150-byte values), {} on {threads} cores, \
         {fstype} at {}; cache budget {} MiB. Times in ms (lower is better), sizes in MiB.\n",
        today(),
        root.display(),
        cache >> 20
    );
    let has_tessera = columns.iter().any(|(name, f)| *name == "tessera" && f.is_some());
    let has_peer = columns.iter().any(|(name, f)| *name != "tessera" && f.is_some());
    let _ = write!(md, "| |");
    for (name, _) in &columns {
        let _ = write!(md, " {name} |");
    }
    let _ = writeln!(md, " tessera / best peer |");
    let _ = write!(md, "|---|");
    for _ in &columns {
        let _ = write!(md, "---:|");
    }
    let _ = writeln!(md, "---:|");
    for (i, row) in ROWS.iter().enumerate() {
        let best = columns.iter().filter_map(|(_, f)| f.as_ref().map(|f| f[i])).fold(f64::INFINITY, f64::min);
        let _ = write!(md, "| {} |", row.name);
        for (_, figures) in &columns {
            match figures {
                Some(f) if f[i] == best && columns.len() > 1 => {
                    let _ = write!(md, " **{}** |", fmt_value(f[i], row.unit));
                }
                Some(f) => {
                    let _ = write!(md, " {} |", fmt_value(f[i], row.unit));
                }
                None => {
                    let _ = write!(md, " error |");
                }
            }
        }
        let ratio = if has_tessera && has_peer {
            let tessera = columns.iter().find(|(n, _)| *n == "tessera").unwrap().1.as_ref().unwrap()[i];
            let best_peer = columns
                .iter()
                .filter(|(n, _)| *n != "tessera")
                .filter_map(|(_, f)| f.as_ref().map(|f| f[i]))
                .fold(f64::INFINITY, f64::min);
            if best_peer > 0.0 {
                format!("{:.2}", tessera / best_peer)
            } else {
                "–".into()
            }
        } else {
            "–".into()
        };
        let _ = writeln!(md, " {ratio} |");
    }

    common::finish(&md, out_path.as_deref(), failed);
}
