//! Helpers shared by the robustness tests (`model`, `crash`, `faults`, `concurrency`,
//! `fuzz_regress`) and the SQL tests that compare with SQLite (`sqllogictest`, `sql_diff`).
//! Each test crate uses a different subset.
#![allow(dead_code)]

pub mod workload;

use std::collections::BTreeMap;
use tessera::{Database, Error, Options, Result};

/// Full logical contents of a database: table name → (key → value).
pub type State = BTreeMap<String, BTreeMap<Vec<u8>, Vec<u8>>>;

/// `TESSERA_TEST_SCALE` (float, default 1.0): multiplies the size of long sweeps.
pub fn scale() -> f64 {
    std::env::var("TESSERA_TEST_SCALE")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0)
}

/// `n` scaled by [`scale`], at least 1.
pub fn scaled(n: usize) -> usize {
    ((n as f64 * scale()).round() as usize).max(1)
}

/// Small pages, a small cache and a small log: spills, checkpoints and log growth happen often.
pub fn small_options() -> Options {
    Options { page_size: 4096, cache_size: 16 * 4096 * 4, max_log_size: 64 * 1024, ..Options::default() }
}

/// Deterministic value bytes: `len` bytes derived from `seed` (different seeds, different bytes).
pub fn value(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (len as u64);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// SplitMix64, for deterministic pseudo-random choices in sweeps.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Read the whole committed state through a read transaction: every table iterated forward;
/// verifies along the way that reverse iteration, `len`, `first` and `last` agree.
pub fn dump(db: &Database) -> Result<State> {
    let rx = db.begin_read()?;
    let mut out = State::new();
    for name in rx.list_tables()? {
        let t = rx.open_table(&name)?;
        let mut m = BTreeMap::new();
        for e in t.iter()? {
            let (k, v) = e?;
            m.insert(k.to_vec(), v.to_vec());
        }
        let mut rev = Vec::new();
        for e in t.iter()?.rev() {
            let (k, v) = e?;
            rev.push((k.to_vec(), v.to_vec()));
        }
        rev.reverse();
        let fwd: Vec<(Vec<u8>, Vec<u8>)> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        if rev != fwd {
            return Err(Error::Corrupted { page: 0, reason: format!("table {name}: reverse iteration differs") });
        }
        if t.len()? != m.len() as u64 {
            return Err(Error::Corrupted {
                page: 0,
                reason: format!("table {name}: len {} but {} entries iterated", t.len()?, m.len()),
            });
        }
        let first = t.first()?.map(|(k, v)| (k.to_vec(), v.to_vec()));
        let last = t.last()?.map(|(k, v)| (k.to_vec(), v.to_vec()));
        if first != fwd.first().cloned() || last != fwd.last().cloned() {
            return Err(Error::Corrupted { page: 0, reason: format!("table {name}: first/last disagree") });
        }
        out.insert(name, m);
    }
    Ok(out)
}

/// A short description of a state for assertion messages.
pub fn describe(s: &State) -> String {
    let parts: Vec<String> = s
        .iter()
        .map(|(t, m)| {
            let bytes: usize = m.iter().map(|(k, v)| k.len() + v.len()).sum();
            format!("{t}: {} entries / {bytes} bytes", m.len())
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Runs `db.check()` and panics with the report unless it is clean.
pub fn assert_check(db: &Database, context: &str) {
    let report = db.check().unwrap_or_else(|e| panic!("{context}: check() failed: {e}"));
    assert!(report.is_ok(), "{context}: check() found damage: {report:?}");
}

/// `Database::open_device`, failing the test (instead of hanging it) if open does not return
/// within 20 seconds: a failed recovery used to leave the writer state taken, and the
/// `Database` dropped on the error path then waited for it forever.
pub fn open_timeout<D: tessera::BlockDevice + 'static>(dev: D, opts: Options, ctx: &str) -> Result<Database> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Database::open_device(dev, opts));
    });
    match rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(r) => r,
        Err(_) => panic!("{ctx}: Database::open_device did not return within 20 s (deadlock?)"),
    }
}

/// A Tessera SQL value bound to a SQLite (rusqlite) statement as it is (text as its bytes).
#[cfg(feature = "sql")]
pub fn to_sqlite(v: &tessera::sql::Value) -> rusqlite::types::ToSqlOutput<'_> {
    use rusqlite::types::ValueRef;
    use tessera::sql::Value;
    rusqlite::types::ToSqlOutput::Borrowed(match v {
        Value::Null => ValueRef::Null,
        Value::Integer(i) => ValueRef::Integer(*i),
        Value::Real(r) => ValueRef::Real(*r),
        Value::Text(s) => ValueRef::Text(s.as_bytes()),
        Value::Blob(b) => ValueRef::Blob(b),
    })
}

/// A value read from SQLite (rusqlite) as a Tessera SQL value.
#[cfg(feature = "sql")]
pub fn from_sqlite(v: rusqlite::types::ValueRef<'_>) -> tessera::sql::Value {
    use rusqlite::types::ValueRef;
    use tessera::sql::Value;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(tessera::sql::Text::from_bytes(t.to_vec())),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}
