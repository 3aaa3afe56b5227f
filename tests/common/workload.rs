//! The scripted workload shared by the crash and fault sweeps, and the bookkeeping of which
//! states a recovered database may hold.

use super::{value, State};
use std::sync::Arc;
use tessera::{Database, Durability, MemoryDevice, Options, Result};

/// Which logical states a recovered database may legally hold.
#[derive(Default)]
pub struct Recorder {
    /// `states[0]` is the empty database; `states[i]` the state after the i-th acknowledged commit.
    pub states: Vec<State>,
    /// Index into `states` of the newest state known to be durable.
    pub floor: usize,
    /// A commit whose `commit()` was called but did not return `Ok` (it may or may not survive).
    pub in_flight: Option<State>,
    /// The current oracle state (what the open write transaction would commit).
    pub model: State,
    /// The workload step that failed, for messages.
    pub failed_at: Option<&'static str>,
}

impl Recorder {
    pub fn new() -> Self {
        Recorder { states: vec![State::new()], ..Recorder::default() }
    }

    pub fn acked(&self) -> usize {
        self.states.len() - 1
    }

    /// The states a crash image may recover to: any acknowledged state from the durable floor
    /// on (non-durable commits are lost only as a suffix), or the in-flight commit.
    pub fn allowed(&self) -> Vec<(String, &State)> {
        let mut v: Vec<(String, &State)> =
            (self.floor..self.states.len()).map(|i| (format!("commit #{i}"), &self.states[i])).collect();
        if let Some(s) = &self.in_flight {
            v.push(("the in-flight commit".into(), s));
        }
        v
    }
}

/// Commits `tx` and records the outcome; `model` is the state it commits.
fn commit(rec: &mut Recorder, mut tx: tessera::WriteTransaction, durable: bool) -> Result<()> {
    if !durable {
        tx.set_durability(Durability::None);
    }
    rec.in_flight = Some(rec.model.clone());
    tx.commit()?;
    rec.in_flight = None;
    rec.states.push(rec.model.clone());
    if durable {
        rec.floor = rec.acked();
    }
    Ok(())
}

fn put(rec: &mut Recorder, t: &mut tessera::Table<'_>, table: &str, k: &[u8], v: &[u8]) -> Result<()> {
    t.insert(k, v)?;
    rec.model.entry(table.into()).or_default().insert(k.to_vec(), v.to_vec());
    Ok(())
}

fn del(rec: &mut Recorder, t: &mut tessera::Table<'_>, table: &str, k: &[u8]) -> Result<()> {
    let got = t.remove(k)?;
    let want = rec.model.entry(table.into()).or_default().remove(k).is_some();
    assert_eq!(got, want, "remove flag for {k:?}");
    Ok(())
}

pub fn key(i: u32) -> Vec<u8> {
    format!("key/{i:06}").into_bytes()
}

/// The scripted workload. Stops at the first error (the power is gone).
pub fn workload(db: &Database, rec: &mut Recorder) -> Result<()> {
    macro_rules! step {
        ($name:expr, $e:expr) => {{
            rec.failed_at = Some($name);
            $e?;
        }};
    }
    // 1. A first table with a few hundred entries.
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("a")?;
        rec.model.entry("a".into()).or_default();
        for i in 0..300 {
            step!("tx1 insert", put(rec, &mut t, "a", &key(i), &value(i as u64, 40 + (i as usize % 90))));
        }
    }
    step!("tx1 commit", commit(rec, tx, true));

    // 2. Overwrites, deletes and a large (overflow) value.
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("a")?;
        for i in (0..300).step_by(6) {
            step!("tx2 overwrite", put(rec, &mut t, "a", &key(i), &value(1000 + i as u64, 120)));
        }
        for i in (1..300).step_by(10) {
            step!("tx2 delete", del(rec, &mut t, "a", &key(i)));
        }
        step!("tx2 big", put(rec, &mut t, "a", b"big", &value(7, 20_000)));
    }
    step!("tx2 commit", commit(rec, tx, true));

    // 3. A second table, committed without durability, then another non-durable commit.
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("b")?;
        rec.model.entry("b".into()).or_default();
        for i in 0..25 {
            step!("tx3 insert", put(rec, &mut t, "b", &key(i), &value(50 + i as u64, 300)));
        }
    }
    step!("tx3 commit", commit(rec, tx, false));
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("a")?;
        for i in 300..320 {
            step!("tx4 insert", put(rec, &mut t, "a", &key(i), &value(i as u64, 64)));
        }
    }
    step!("tx4 commit (non-durable)", commit(rec, tx, false));

    // 4. Drop the second table and create a third; durable.
    let tx = db.begin_write()?;
    step!("tx5 drop", tx.delete_table("b").map(|existed| assert!(existed)));
    rec.model.remove("b");
    {
        let mut t = tx.open_table("c")?;
        rec.model.entry("c".into()).or_default();
        for i in 0..10 {
            step!("tx5 insert", put(rec, &mut t, "c", &key(i), b"c"));
        }
        step!("tx5 empty value", put(rec, &mut t, "c", b"", b""));
    }
    step!("tx5 commit", commit(rec, tx, true));

    // 5. A transaction too large for the log: commits through a checkpoint.
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("a")?;
        for i in 400..700 {
            step!("tx6 insert", put(rec, &mut t, "a", &key(i), &value(i as u64, 180)));
        }
    }
    step!("tx6 commit (large)", commit(rec, tx, true));

    // 6. An explicit checkpoint.
    step!("checkpoint", db.checkpoint());
    rec.floor = rec.acked();

    // 7. Remove the big value, overwrite a range; then a run of small durable commits.
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("a")?;
        step!("tx7 del big", del(rec, &mut t, "a", b"big"));
        for i in 400..450 {
            step!("tx7 overwrite", put(rec, &mut t, "a", &key(i), &value(9000 + i as u64, 30)));
        }
    }
    step!("tx7 commit", commit(rec, tx, true));
    for round in 0..6u32 {
        let tx = db.begin_write()?;
        {
            let mut t = tx.open_table("c")?;
            for i in 0..8 {
                step!("small insert", put(rec, &mut t, "c", &key(100 + round * 8 + i), &value(round as u64, 200)));
            }
            step!("small delete", del(rec, &mut t, "c", &key(round)));
        }
        step!("small commit", commit(rec, tx, round % 3 != 1));
    }

    // 8. A non-durable commit made durable by sync.
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("a")?;
        step!("tx8 big", put(rec, &mut t, "a", b"big2", &value(8, 9_000)));
    }
    step!("tx8 commit (non-durable)", commit(rec, tx, false));
    step!("sync", db.sync());
    rec.floor = rec.acked();

    // 9. Shrink: delete most of table a, compact, and commit once more.
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("a")?;
        for i in 0..700u32 {
            if !i.is_multiple_of(5) && rec.model["a"].contains_key(&key(i)) {
                step!("tx9 delete", del(rec, &mut t, "a", &key(i)));
            }
        }
    }
    step!("tx9 commit", commit(rec, tx, true));
    step!("compact", db.compact().map(|_| ()));
    rec.floor = rec.acked();
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("d")?;
        rec.model.entry("d".into()).or_default();
        step!("tx10 insert", put(rec, &mut t, "d", b"after-compact", &value(10, 5000)));
    }
    step!("tx10 commit", commit(rec, tx, true));
    rec.failed_at = None;
    Ok(())
}

/// A workload over a starting image.
pub struct Scenario {
    pub name: &'static str,
    /// Options the workload and every reopen use.
    pub opts: Options,
    /// The device's bytes before the workload (empty: a new database).
    pub base: Vec<u8>,
    /// The logical state of `base`.
    pub base_state: State,
    pub run: fn(&Database, &mut Recorder) -> Result<()>,
}

/// The shared workload on a new database: checkpoints forced by a small cache and log.
pub fn main_scenario() -> Scenario {
    Scenario {
        name: "main",
        opts: Options { page_size: 4096, cache_size: 16 * 4096, max_log_size: 16 * 1024, ..Options::default() },
        base: Vec::new(),
        base_state: State::new(),
        run: workload,
    }
}

/// Many small commits into a database created with a 16 KiB log region and reopened with a
/// larger maximum: the log grows by chaining new regions at the end of the file, and a reader
/// holds an old snapshot across commits and a checkpoint.
pub fn log_chain_scenario() -> Scenario {
    let create = Options { page_size: 4096, cache_size: 16 * 4096, max_log_size: 16 * 1024, ..Options::default() };
    let dev = Arc::new(MemoryDevice::new());
    let mut base_state = State::new();
    {
        let db = Database::open_device(dev.clone(), create).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("base").unwrap();
            for i in 0..50u32 {
                t.insert(&key(i), &value(i as u64, 100)).unwrap();
                base_state.entry("base".into()).or_default().insert(key(i), value(i as u64, 100));
            }
        }
        tx.commit().unwrap();
        db.checkpoint().unwrap();
    }
    Scenario {
        name: "log chain",
        opts: Options { page_size: 4096, cache_size: 8 << 20, max_log_size: 256 * 1024, ..Options::default() },
        base: dev.to_bytes(),
        base_state,
        run: log_chain_workload,
    }
}

pub fn log_chain_workload(db: &Database, rec: &mut Recorder) -> Result<()> {
    let mut reader = None;
    for round in 0..48u32 {
        if round == 15 {
            reader = Some((db.begin_read()?, rec.model.clone()));
        }
        let mut tx = db.begin_write()?;
        let durable = round % 7 != 3;
        if !durable {
            tx.set_durability(Durability::None);
        }
        {
            let name = if round.is_multiple_of(3) { "base" } else { "chain" };
            let mut t = tx.open_table(name)?;
            let m = rec.model.entry(name.into()).or_default();
            for i in 0..10u32 {
                let k = key(round * 10 + i);
                let v = value((round * 10 + i) as u64, 200 + (i as usize * 31) % 200);
                t.insert(&k, &v)?;
                m.insert(k, v);
            }
            if round % 5 == 4 {
                let v = value(round as u64, 20_000);
                t.insert(b"large", &v)?;
                m.insert(b"large".to_vec(), v);
            }
            let k = key((round / 2) * 10);
            if t.remove(&k)? != m.remove(&k).is_some() {
                panic!("remove flag differs");
            }
        }
        rec.in_flight = Some(rec.model.clone());
        tx.commit()?;
        rec.in_flight = None;
        rec.states.push(rec.model.clone());
        if durable {
            rec.floor = rec.acked();
        }
        if round == 35 {
            if let Some((rx, want)) = reader.take() {
                // The old snapshot still reads its own data.
                let mut got = State::new();
                for name in rx.list_tables()? {
                    let t = rx.open_table(&name)?;
                    let m = t.iter()?.map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec()))).collect::<Result<_>>()?;
                    got.insert(name, m);
                }
                assert!(got == want, "old snapshot changed");
            }
        }
        if round == 40 {
            db.checkpoint()?;
            rec.floor = rec.acked();
        }
    }
    Ok(())
}
