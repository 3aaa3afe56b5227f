//! Model test: random operation sequences against a `BTreeMap` oracle with transaction
//! semantics. Cases scale with `TESSERA_TEST_SCALE`.

mod common;

use common::{assert_check, describe, dump, scaled, value, State};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use tessera::{Database, Durability, Error, MemoryDevice, Options, ReadTransaction, WriteTransaction};

const TABLES: [&str; 3] = ["t0", "table-one", "t2"];

/// A key from a small space, so inserts, overwrites and removes collide often. The prefixes
/// stress separators: empty key, unpadded decimals, shared long prefixes, binary zeros, and
/// keys of exactly `MAX_KEY_LEN` bytes.
#[derive(Clone, Debug)]
struct K(u8, u16);

fn key_bytes(k: &K) -> Vec<u8> {
    let n = k.1;
    match k.0 {
        0 if n == 0 => Vec::new(),
        0 => n.to_string().into_bytes(),
        1 => format!("k{n:03}").into_bytes(),
        2 => format!("user/0000/{n}").into_bytes(),
        3 => {
            let mut v = vec![b'x'; 200];
            v.extend_from_slice(&n.to_be_bytes());
            v
        }
        4 => {
            let mut v = vec![b'y'; 1000];
            v.extend_from_slice(format!("{n:024}").as_bytes());
            assert_eq!(v.len(), tessera::MAX_KEY_LEN);
            v
        }
        6 => format!("bulk/{n:05}/{}", "p".repeat((n % 7) as usize * 9)).into_bytes(),
        _ => {
            let mut v = b"k\0".to_vec();
            v.extend(std::iter::repeat_n(0u8, (n % 5) as usize));
            v.push(n as u8);
            v
        }
    }
}

fn key_strategy() -> impl Strategy<Value = K> {
    prop_oneof![
        6 => (0u8..6, 0u16..24).prop_map(|(p, n)| K(p, n)),
        1 => (0u16..600).prop_map(|n| K(6, n)),
    ]
}

/// Value length and content seed.
#[derive(Clone, Debug)]
struct V(usize, u64);

fn value_strategy() -> impl Strategy<Value = V> {
    prop_oneof![
        6 => (0usize..64, any::<u64>()).prop_map(|(l, s)| V(l, s)),
        3 => (64usize..12_000, any::<u64>()).prop_map(|(l, s)| V(l, s)),
        1 => (16_000usize..24_000, any::<u64>()).prop_map(|(l, s)| V(l, s)),
    ]
}

#[derive(Clone, Debug)]
enum RangeMode {
    Forward,
    Reverse,
    /// Alternate `next` and `next_back`.
    Zigzag,
}

#[derive(Clone, Debug)]
enum Op {
    Insert(usize, K, V),
    /// Insert `count` consecutive bulk keys from `start`, with values of about `len` bytes.
    Bulk(usize, u16, u16, usize, u64),
    /// Remove `count` consecutive bulk keys from `start`.
    BulkRemove(usize, u16, u16),
    Remove(usize, K),
    Get(usize, K),
    Range(usize, Bound<K>, Bound<K>, RangeMode, usize),
    First(usize),
    Last(usize),
    Len(usize),
    ListTables,
    CreateTable(usize),
    DeleteTable(usize),
    /// Reads through a read transaction even while a write transaction is open.
    ReadCommitted(usize, K),
    Commit(bool),
    Abort,
    Reopen,
    Checkpoint,
    Compact,
    Sync,
    HoldSnapshot,
    CheckSnapshot,
}

fn bound_strategy() -> impl Strategy<Value = Bound<K>> {
    prop_oneof![
        2 => key_strategy().prop_map(Bound::Included),
        2 => key_strategy().prop_map(Bound::Excluded),
        1 => Just(Bound::Unbounded),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let t = 0usize..3;
    prop_oneof![
        30 => (t.clone(), key_strategy(), value_strategy()).prop_map(|(t, k, v)| Op::Insert(t, k, v)),
        10 => (t.clone(), key_strategy()).prop_map(|(t, k)| Op::Remove(t, k)),
        3 => (t.clone(), 0u16..600, 1u16..300, prop_oneof![0usize..40, 40usize..1500], any::<u64>())
            .prop_map(|(t, s, c, l, seed)| Op::Bulk(t, s, c, l, seed)),
        2 => (t.clone(), 0u16..600, 1u16..300).prop_map(|(t, s, c)| Op::BulkRemove(t, s, c)),
        6 => (t.clone(), key_strategy()).prop_map(|(t, k)| Op::Get(t, k)),
        5 => (
            t.clone(),
            bound_strategy(),
            bound_strategy(),
            prop_oneof![Just(RangeMode::Forward), Just(RangeMode::Reverse), Just(RangeMode::Zigzag)],
            1usize..40
        )
            .prop_map(|(t, a, b, m, n)| Op::Range(t, a, b, m, n)),
        2 => t.clone().prop_map(Op::First),
        2 => t.clone().prop_map(Op::Last),
        2 => t.clone().prop_map(Op::Len),
        1 => Just(Op::ListTables),
        1 => t.clone().prop_map(Op::CreateTable),
        1 => t.clone().prop_map(Op::DeleteTable),
        2 => (t, key_strategy()).prop_map(|(t, k)| Op::ReadCommitted(t, k)),
        10 => any::<bool>().prop_map(Op::Commit),
        2 => Just(Op::Abort),
        1 => Just(Op::Reopen),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Compact),
        1 => Just(Op::Sync),
        1 => Just(Op::HoldSnapshot),
        1 => Just(Op::CheckSnapshot),
    ]
}

fn options(i: usize) -> Options {
    match i {
        0 => common::small_options(),
        1 => Options { page_size: 8192, cache_size: 16 * 8192, max_log_size: 32 * 1024, ..Options::default() },
        2 => Options { page_size: 4096, cache_size: 16 * 4096, max_log_size: 16 * 1024, ..Options::default() },
        3 => Options { page_size: 4096, ..Options::default() },
        _ => Options { page_size: 65536, cache_size: 16 * 65536, max_log_size: 256 * 1024, ..Options::default() },
    }
}

fn in_bounds(k: &[u8], lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    let lo_ok = match lo {
        Bound::Included(b) => k >= b.as_slice(),
        Bound::Excluded(b) => k > b.as_slice(),
        Bound::Unbounded => true,
    };
    let hi_ok = match hi {
        Bound::Included(b) => k <= b.as_slice(),
        Bound::Excluded(b) => k < b.as_slice(),
        Bound::Unbounded => true,
    };
    lo_ok && hi_ok
}

type Entry = (Vec<u8>, Vec<u8>);

/// What a range read in `mode` must yield, at most `take` entries.
fn expected_range(
    m: Option<&BTreeMap<Vec<u8>, Vec<u8>>>,
    lo: &Bound<Vec<u8>>,
    hi: &Bound<Vec<u8>>,
    mode: &RangeMode,
    take: usize,
) -> Vec<Entry> {
    let mut all: std::collections::VecDeque<Entry> =
        m.into_iter().flatten().filter(|(k, _)| in_bounds(k, lo, hi)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut out = Vec::new();
    let mut front = true;
    while out.len() < take {
        let e = match mode {
            RangeMode::Forward => all.pop_front(),
            RangeMode::Reverse => all.pop_back(),
            RangeMode::Zigzag => {
                front = !front;
                if front {
                    all.pop_back()
                } else {
                    all.pop_front()
                }
            }
        };
        match e {
            Some(e) => out.push(e),
            None => break,
        }
    }
    out
}

/// Drives an iterator in `mode`, at most `take` entries.
fn drive<I, E>(mut it: I, mode: &RangeMode, take: usize) -> Result<Vec<Entry>, Error>
where
    I: DoubleEndedIterator<Item = Result<E, Error>>,
    E: IntoEntry,
{
    let mut out = Vec::new();
    let mut front = true;
    while out.len() < take {
        let e = match mode {
            RangeMode::Forward => it.next(),
            RangeMode::Reverse => it.next_back(),
            RangeMode::Zigzag => {
                front = !front;
                if front {
                    it.next_back()
                } else {
                    it.next()
                }
            }
        };
        match e {
            Some(e) => out.push(e?.into_entry()),
            None => break,
        }
    }
    Ok(out)
}

trait IntoEntry {
    fn into_entry(self) -> Entry;
}
impl IntoEntry for (Vec<u8>, Vec<u8>) {
    fn into_entry(self) -> Entry {
        self
    }
}
impl IntoEntry for (tessera::Guard<'_>, tessera::Guard<'_>) {
    fn into_entry(self) -> Entry {
        (self.0.to_vec(), self.1.to_vec())
    }
}

/// Short printable form of a key.
fn short(k: &[u8]) -> String {
    if k.len() <= 24 {
        format!("{:?}", String::from_utf8_lossy(k))
    } else {
        format!(
            "{:?}..({} bytes)..{:?}",
            String::from_utf8_lossy(&k[..8]),
            k.len(),
            String::from_utf8_lossy(&k[k.len() - 8..])
        )
    }
}

fn b(x: &Bound<Vec<u8>>) -> String {
    match x {
        Bound::Included(k) => format!("Included({})", short(k)),
        Bound::Excluded(k) => format!("Excluded({})", short(k)),
        Bound::Unbounded => "Unbounded".into(),
    }
}

/// The keys of entries, printable.
fn ks(e: &[Entry]) -> String {
    let v: Vec<String> = e.iter().map(|(k, v)| format!("{}={}B", short(k), v.len())).collect();
    format!("[{}]", v.join(", "))
}

fn key_bound(b: &Bound<K>) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(key_bytes(k)),
        Bound::Excluded(k) => Bound::Excluded(key_bytes(k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The open write transaction (begun on first use), borrowing only the `tx` field.
macro_rules! tx {
    ($h:expr) => {{
        $h.ensure_tx();
        $h.tx.as_ref().expect("tx")
    }};
}

struct Harness {
    // Field order is drop order: transactions go before the database.
    tx: Option<WriteTransaction>,
    snapshot: Option<(ReadTransaction, State)>,
    db: Option<Database>,
    store: Store,
    opts: Options,
    committed: State,
    /// The write transaction's view (valid while `tx` is open).
    pending: State,
    ntables: usize,
    step: usize,
}

impl Harness {
    fn db(&self) -> &Database {
        self.db.as_ref().expect("open database")
    }

    fn ensure_tx(&mut self) {
        if self.tx.is_none() {
            self.tx = Some(self.db().begin_write().expect("begin_write"));
            self.pending = self.committed.clone();
        }
    }

    fn table_name(&self, t: usize) -> &'static str {
        TABLES[t % self.ntables]
    }

    fn verify_all(&self, context: &str) -> Result<(), TestCaseError> {
        let ctx = format!("step {}: {context}", self.step);
        assert_check(self.db(), &ctx);
        let got = dump(self.db()).unwrap_or_else(|e| panic!("{ctx}: dump failed: {e}"));
        prop_assert!(
            got == self.committed,
            "{}: contents differ: got {} want {}",
            ctx,
            describe(&got),
            describe(&self.committed)
        );
        Ok(())
    }

    fn commit_open(&mut self, durable: bool) {
        if let Some(mut tx) = self.tx.take() {
            if !durable {
                tx.set_durability(Durability::None);
            }
            tx.commit().expect("commit");
            self.committed = std::mem::take(&mut self.pending);
        }
    }

    fn check_snapshot(&mut self) -> Result<(), TestCaseError> {
        if let Some((rx, want)) = self.snapshot.take() {
            let mut got = State::new();
            for name in rx.list_tables().expect("list_tables") {
                let t = rx.open_table(&name).expect("open_table");
                let m =
                    t.iter().expect("iter").map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec()))).collect::<Result<_, _>>();
                got.insert(name, m.expect("snapshot iteration"));
            }
            prop_assert!(
                got == want,
                "step {}: old snapshot changed: got {} want {}",
                self.step,
                describe(&got),
                describe(&want)
            );
        }
        Ok(())
    }

    fn reopen(&mut self) -> Result<(), TestCaseError> {
        self.check_snapshot()?;
        self.tx = None; // uncommitted changes are discarded
        self.db = None;
        self.db = Some(self.store.open(&self.opts));
        self.verify_all("after reopen")
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let step = self.step;
        match op {
            Op::Insert(t, k, v) => {
                let name = self.table_name(*t);
                let (key, val) = (key_bytes(k), value(v.1, v.0));
                tx!(self).open_table(name).unwrap().insert(&key, &val).expect("insert");
                self.pending.entry(name.into()).or_default().insert(key, val);
            }
            Op::Bulk(t, start, count, len, seed) => {
                let name = self.table_name(*t);
                let mut tb = tx!(self).open_table(name).unwrap();
                let m = self.pending.entry(name.into()).or_default();
                for n in *start..start.saturating_add(*count) {
                    let key = key_bytes(&K(6, n));
                    let val = value(seed ^ n as u64, (len + n as usize * 7) % (len + 1));
                    tb.insert(&key, &val).expect("bulk insert");
                    m.insert(key, val);
                }
            }
            Op::BulkRemove(t, start, count) => {
                let name = self.table_name(*t);
                let mut tb = tx!(self).open_table(name).unwrap();
                let m = self.pending.entry(name.into()).or_default();
                for n in *start..start.saturating_add(*count) {
                    let key = key_bytes(&K(6, n));
                    let got = tb.remove(&key).expect("bulk remove");
                    prop_assert_eq!(got, m.remove(&key).is_some(), "step {}: bulk remove flag", step);
                }
            }
            Op::Remove(t, k) => {
                let name = self.table_name(*t);
                let key = key_bytes(k);
                let got = tx!(self).open_table(name).unwrap().remove(&key).expect("remove");
                let want = self.pending.entry(name.into()).or_default().remove(&key).is_some();
                prop_assert_eq!(got, want, "step {}: remove returned the wrong flag", step);
            }
            Op::Get(t, k) | Op::ReadCommitted(t, k) => {
                let name = self.table_name(*t);
                let key = key_bytes(k);
                if self.tx.is_some() && matches!(op, Op::Get(..)) {
                    let got = tx!(self).open_table(name).unwrap().get(&key).expect("get");
                    let want = self.pending.entry(name.into()).or_default().get(&key).cloned();
                    prop_assert!(got == want, "step {}: write-tx get differs", step);
                } else {
                    let rx = self.db().begin_read().unwrap();
                    match rx.open_table(name) {
                        Ok(tb) => {
                            let got = tb.get(&key).expect("get").map(|g| g.to_vec());
                            let want = self.committed.get(name).and_then(|m| m.get(&key)).cloned();
                            prop_assert!(got == want, "step {}: read-tx get differs", step);
                        }
                        Err(Error::TableNotFound(_)) => {
                            prop_assert!(!self.committed.contains_key(name), "step {}: table {} missing", step, name)
                        }
                        Err(e) => panic!("step {step}: open_table: {e}"),
                    }
                }
            }
            Op::Range(t, lo, hi, mode, take) => {
                let name = self.table_name(*t);
                let (lo, hi) = (key_bound(lo), key_bound(hi));
                let r = (lo.clone(), hi.clone());
                if self.tx.is_some() {
                    let tb = tx!(self).open_table(name).unwrap();
                    let got = drive(tb.range::<Vec<u8>, _>(r).unwrap(), mode, *take).expect("range");
                    let m: &BTreeMap<Vec<u8>, Vec<u8>> = self.pending.entry(name.into()).or_default();
                    let want = expected_range(Some(m), &lo, &hi, mode, *take);
                    prop_assert!(
                        got == want,
                        "step {}: write-tx range {} {} {:?}: got {} want {}",
                        step,
                        b(&lo),
                        b(&hi),
                        mode,
                        ks(&got),
                        ks(&want)
                    );
                } else {
                    let rx = self.db().begin_read().unwrap();
                    if let Ok(tb) = rx.open_table(name) {
                        let got = drive(tb.range::<Vec<u8>, _>(r).unwrap(), mode, *take).expect("range");
                        let want = expected_range(self.committed.get(name), &lo, &hi, mode, *take);
                        prop_assert!(
                            got == want,
                            "step {}: read range {} {} {:?}: got {} want {}",
                            step,
                            b(&lo),
                            b(&hi),
                            mode,
                            ks(&got),
                            ks(&want)
                        );
                    } else {
                        prop_assert!(!self.committed.contains_key(name));
                    }
                }
            }
            Op::First(t) | Op::Last(t) | Op::Len(t) => {
                let name = self.table_name(*t);
                let first = matches!(op, Op::First(_));
                if self.tx.is_some() {
                    let tb = tx!(self).open_table(name).unwrap();
                    let m = self.pending.entry(name.into()).or_default();
                    match op {
                        Op::Len(_) => prop_assert_eq!(tb.len().unwrap(), m.len() as u64),
                        _ => {
                            let got = if first { tb.first() } else { tb.last() }.expect("first/last");
                            let want = if first { m.first_key_value() } else { m.last_key_value() };
                            let want = want.map(|(k, v)| (k.clone(), v.clone()));
                            prop_assert!(got == want, "step {}: write-tx first/last differs", step);
                        }
                    }
                } else {
                    let rx = self.db().begin_read().unwrap();
                    let Ok(tb) = rx.open_table(name) else {
                        prop_assert!(!self.committed.contains_key(name));
                        return Ok(());
                    };
                    let m = &self.committed[name];
                    match op {
                        Op::Len(_) => {
                            prop_assert_eq!(tb.len().unwrap(), m.len() as u64);
                            prop_assert_eq!(tb.is_empty().unwrap(), m.is_empty());
                        }
                        _ => {
                            let got = if first { tb.first() } else { tb.last() }.expect("first/last");
                            let got = got.map(|(k, v)| (k.to_vec(), v.to_vec()));
                            let want = if first { m.first_key_value() } else { m.last_key_value() };
                            let want = want.map(|(k, v)| (k.clone(), v.clone()));
                            prop_assert!(got == want, "step {}: read first/last differs", step);
                        }
                    }
                }
            }
            Op::ListTables => {
                if self.tx.is_some() {
                    let got = tx!(self).list_tables().expect("list_tables");
                    let want: Vec<String> = self.pending.keys().cloned().collect();
                    prop_assert_eq!(got, want, "step {}: write-tx list_tables", step);
                } else {
                    let got = self.db().begin_read().unwrap().list_tables().expect("list_tables");
                    let want: Vec<String> = self.committed.keys().cloned().collect();
                    prop_assert_eq!(got, want, "step {}: list_tables", step);
                }
            }
            Op::CreateTable(t) => {
                let name = self.table_name(*t);
                tx!(self).open_table(name).expect("open_table");
                self.pending.entry(name.into()).or_default();
            }
            Op::DeleteTable(t) => {
                let name = self.table_name(*t);
                let got = tx!(self).delete_table(name).expect("delete_table");
                let want = self.pending.remove(name).is_some();
                prop_assert_eq!(got, want, "step {}: delete_table flag", step);
            }
            Op::Commit(durable) => {
                if self.tx.is_none() {
                    // An empty transaction commits too.
                    self.ensure_tx();
                }
                self.commit_open(*durable);
                let got = dump(self.db()).expect("dump after commit");
                prop_assert!(
                    got == self.committed,
                    "step {}: after commit: got {} want {}",
                    step,
                    describe(&got),
                    describe(&self.committed)
                );
            }
            Op::Abort => {
                if let Some(tx) = self.tx.take() {
                    if step.is_multiple_of(2) {
                        tx.abort();
                    } else {
                        drop(tx);
                    }
                }
                let got = dump(self.db()).expect("dump after abort");
                prop_assert!(
                    got == self.committed,
                    "step {}: after abort: got {} want {}",
                    step,
                    describe(&got),
                    describe(&self.committed)
                );
            }
            Op::Reopen => self.reopen()?,
            Op::Checkpoint => {
                self.commit_open(true);
                self.db().checkpoint().expect("checkpoint");
                self.verify_all("after checkpoint")?;
            }
            Op::Compact => {
                self.commit_open(true);
                let r = self.db().compact().expect("compact");
                prop_assert!(r.bytes_after > 0);
                self.verify_all("after compact")?;
            }
            Op::Sync => {
                self.commit_open(false);
                self.db().sync().expect("sync");
            }
            Op::HoldSnapshot => {
                if self.snapshot.is_none() {
                    let rx = self.db().begin_read().unwrap();
                    self.snapshot = Some((rx, self.committed.clone()));
                }
            }
            Op::CheckSnapshot => self.check_snapshot()?,
        }
        Ok(())
    }
}

/// Where the database lives: a shared memory device, or a file (read through its mapping).
enum Store {
    Memory(Arc<MemoryDevice>),
    File(tempfile::TempDir),
}

impl Store {
    fn open(&self, opts: &Options) -> Database {
        match self {
            Store::Memory(dev) => Database::open_device(dev.clone(), opts.clone()).expect("open"),
            Store::File(dir) => Database::open_with(dir.path().join("db"), opts.clone()).expect("open"),
        }
    }
}

fn run(opts_idx: usize, ntables: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    run_on(Store::Memory(Arc::new(MemoryDevice::new())), options(opts_idx), ntables, ops)
}

fn run_on(store: Store, opts: Options, ntables: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let db = store.open(&opts);
    let mut h = Harness {
        tx: None,
        snapshot: None,
        db: Some(db),
        store,
        opts,
        committed: State::new(),
        pending: State::new(),
        ntables,
        step: 0,
    };
    for (i, op) in ops.iter().enumerate() {
        h.step = i;
        h.apply(op)?;
    }
    h.step = ops.len();
    h.tx = None;
    h.check_snapshot()?;
    h.verify_all("at the end")?;
    h.reopen()
}

fn config(cases: usize) -> Config {
    Config { cases: scaled(cases) as u32, failure_persistence: None, ..Config::default() }
}

proptest! {
    #![proptest_config(config(128))]

    /// Small pages, small caches and small logs: spills, checkpoints, log growth.
    #[test]
    fn model_small_cache(
        opts_idx in 0usize..3,
        ntables in 1usize..=3,
        ops in proptest::collection::vec(op_strategy(), 1..150),
    ) {
        run(opts_idx, ntables, &ops)?;
    }

    /// Roomy caches and logs (the log path), and 64 KiB pages.
    #[test]
    fn model_large_cache(
        opts_idx in 3usize..5,
        ntables in 1usize..=3,
        ops in proptest::collection::vec(op_strategy(), 1..150),
    ) {
        run(opts_idx, ntables, &ops)?;
    }
}

proptest! {
    #![proptest_config(config(16))]

    /// A file database: reads through the memory mapping, compaction truncates a mapped file.
    #[test]
    fn model_file_mmap(
        opts_idx in 0usize..4,
        ntables in 1usize..=3,
        ops in proptest::collection::vec(op_strategy(), 1..150),
    ) {
        run_on(Store::File(tempfile::tempdir().unwrap()), options(opts_idx), ntables, &ops)?;
    }
}

/// Many small entries in one table, so trees get several levels deep before checks.
#[test]
fn model_deep_tree_sequence() {
    let mut ops = Vec::new();
    for round in 0..4u16 {
        for n in 0..24u16 {
            for p in 0..6u8 {
                ops.push(Op::Insert(0, K(p, n), V(((n + round) as usize * 37) % 900, (p as u64) << 8 | n as u64)));
            }
        }
        ops.push(Op::Commit(round.is_multiple_of(2)));
        for n in (0..24u16).step_by(3) {
            ops.push(Op::Remove(0, K(round as u8 % 6, n)));
        }
        ops.push(Op::Range(0, Bound::Unbounded, Bound::Unbounded, RangeMode::Zigzag, 1000));
        ops.push(Op::Commit(true));
        ops.push(Op::Reopen);
    }
    ops.push(Op::Compact);
    ops.push(Op::Reopen);
    for i in 0..5 {
        run(i, 1, &ops).unwrap();
    }
}

/// Values and keys at the size boundaries: the largest inline cell, one byte more (overflow),
/// overflow runs that end exactly at a page boundary, for several page sizes; then read back
/// in the same transaction, after commit, after reopen, overwritten across the boundary, and
/// removed.
#[test]
fn size_boundaries() {
    for ps in [4096usize, 8192, 65536] {
        let max_inline = (ps - 32) / 4 - 2;
        let mut lens: Vec<usize> = Vec::new();
        for base in [max_inline - 6, ps - 32, 2 * ps - 32, 3 * ps - 32] {
            lens.extend(base.saturating_sub(2)..=base + 2);
        }
        lens.extend([0, 1, 8, 9]);
        let opts = Options { page_size: ps, cache_size: 16 * ps * 2, max_log_size: 16 * ps, ..Options::default() };
        let dev = Arc::new(MemoryDevice::new());
        let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
        let mut want = BTreeMap::new();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("b").unwrap();
            for (i, &vl) in lens.iter().enumerate() {
                for kl in [0usize, 1, 100, 1024] {
                    let mut k = vec![b'k'; kl];
                    if kl > 0 {
                        k[kl - 1] = i as u8;
                        k[0] = (vl % 251) as u8;
                    }
                    let v = value((i * 7 + kl) as u64, vl);
                    t.insert(&k, &v).unwrap();
                    assert_eq!(t.get(&k).unwrap().as_deref(), Some(&v[..]), "ps {ps} key {kl} value {vl}");
                    want.insert(k, v);
                }
            }
            let got: BTreeMap<Vec<u8>, Vec<u8>> = t.iter().unwrap().map(|e| e.unwrap()).collect();
            assert!(got == want, "ps {ps}: in-transaction contents differ");
        }
        tx.commit().unwrap();
        let check = |db: &Database, want: &BTreeMap<Vec<u8>, Vec<u8>>, ctx: &str| {
            let s = dump(db).unwrap();
            let empty = BTreeMap::new();
            assert!(s.get("b").unwrap_or(&empty) == want, "ps {ps}: {ctx}: contents differ");
            assert_check(db, ctx);
        };
        check(&db, &want, "after commit");
        drop(db);
        let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
        check(&db, &want, "after reopen");
        // Overwrite every value with one on the other side of its boundary, then remove half.
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("b").unwrap();
            let keys: Vec<Vec<u8>> = want.keys().cloned().collect();
            for (i, k) in keys.iter().enumerate() {
                let old = want[k].len();
                let nl = if old > max_inline { old % 50 } else { max_inline + 1 + old % 3 };
                let v = value(i as u64 + 999, nl);
                t.insert(k, &v).unwrap();
                want.insert(k.clone(), v);
                if i % 2 == 1 {
                    assert!(t.remove(k).unwrap());
                    want.remove(k);
                }
            }
        }
        tx.commit().unwrap();
        check(&db, &want, "after overwrite and remove");
        db.compact().unwrap();
        check(&db, &want, "after compact");
        drop(db);
        let db = Database::open_device(dev, opts).unwrap();
        check(&db, &want, "after the final reopen");
    }
}

/// Changing a table while walking it with a write-transaction iterator (which re-seeks each
/// step): every key present at the start is visited exactly once, in order, in both directions.
#[test]
fn modify_while_iterating_in_write_transaction() {
    let db = Database::open_device(MemoryDevice::new(), common::small_options()).unwrap();
    let tx = db.begin_write().unwrap();
    let mut writer = tx.open_table("t").unwrap();
    for i in 0..600u32 {
        writer.insert(format!("{i:05}").as_bytes(), &value(i as u64, 50 + (i as usize % 300))).unwrap();
    }
    let reader = tx.open_table("t").unwrap();
    let keys: Vec<Vec<u8>> = reader.iter().unwrap().map(|e| e.unwrap().0).collect();
    // Forward: remove each visited key, insert one behind the cursor and one far ahead of it
    // (removed again at once).
    let mut seen = Vec::new();
    for e in reader.iter().unwrap() {
        let (k, _) = e.unwrap();
        assert!(writer.remove(&k).unwrap());
        let mut behind = b"!".to_vec();
        behind.extend_from_slice(&k);
        writer.insert(&behind, &value(1, 700)).unwrap();
        writer.insert(b"~ahead", b"x").unwrap();
        assert!(writer.remove(b"~ahead").unwrap());
        seen.push(k);
        if seen.len() > keys.len() + 5 {
            break;
        }
    }
    assert_eq!(seen, keys);
    // Backward over the new keys, removing them all.
    let all: Vec<Vec<u8>> = reader.iter().unwrap().map(|e| e.unwrap().0).collect();
    assert_eq!(all.len(), 600);
    let mut visited = Vec::new();
    for e in reader.iter().unwrap().rev() {
        let (k, _) = e.unwrap();
        assert!(writer.remove(&k).unwrap());
        visited.push(k);
    }
    visited.reverse();
    assert_eq!(visited, all);
    assert_eq!(writer.len().unwrap(), 0);
    assert!(reader.first().unwrap().is_none());
    drop((reader, writer));
    tx.commit().unwrap();
    assert_check(&db, "after modify-while-iterating");
}

/// Regression (found by `model_large_cache`): reopening replays log frames whose net effect
/// is nothing (a table created, then dropped). Recovery then skips its checkpoint, yet the
/// next commit restarts the log at position 0 with the same transaction id, so the stale
/// frame after it (the drop) is replayed on the next open and the acknowledged commit is lost.
#[test]
fn reopen_after_replay_that_cancels_out() {
    for durable in [true, false] {
        let opts = Options { page_size: 4096, ..Options::default() };
        let dev = Arc::new(MemoryDevice::new());
        let commit = |db: &Database, f: &dyn Fn(&WriteTransaction)| {
            let mut tx = db.begin_write().unwrap();
            if !durable {
                tx.set_durability(Durability::None);
            }
            f(&tx);
            tx.commit().unwrap();
        };
        let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
        commit(&db, &|tx| tx.open_table("t").unwrap().insert(b"k", b"v1").unwrap());
        commit(&db, &|tx| assert!(tx.delete_table("t").unwrap()));
        drop(db);
        let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
        assert!(dump(&db).unwrap().is_empty());
        commit(&db, &|tx| tx.open_table("t").unwrap().insert(b"k", b"v2").unwrap());
        let want: State = BTreeMap::from([("t".to_string(), BTreeMap::from([(b"k".to_vec(), b"v2".to_vec())]))]);
        assert!(dump(&db).unwrap() == want);
        drop(db);
        let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
        let got = dump(&db).unwrap();
        assert!(got == want, "durable={durable}: the last commit was lost on reopen: got {}", describe(&got));
    }
}
