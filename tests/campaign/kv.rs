//! The key-value file under test and its reference model: every committed state (table → key
//! → value), and a reader that records what a damaged file returns, read by read.

use super::judge::{classify, is_clean_error, Base, Medium, Placed, Verdict};
use super::layout::FileMap;
use crate::common::{value, State};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tessera::{Database, Durability, Error, MemoryDevice, Options, WriteTransaction};

pub struct Kv {
    pub base: Base,
    /// Every committed state, oldest first, with the transaction id that made it; the last is
    /// the model (what the clean file holds).
    pub states: Vec<(u64, State)>,
    /// Tables to open (every table any state had, and one that never existed).
    pub tables: Vec<String>,
    /// Keys to look up per table: every key ever written to it.
    pub probes: BTreeMap<String, Vec<Vec<u8>>>,
}

struct Builder {
    dev: Arc<MemoryDevice>,
    model: State,
    states: Vec<(u64, State)>,
    snapshots: Vec<(String, Vec<u8>)>,
    ever: BTreeMap<String, BTreeSet<Vec<u8>>>,
}

impl Builder {
    fn put(&mut self, tx: &WriteTransaction, table: &str, k: &[u8], v: &[u8]) {
        tx.open_table(table).unwrap().insert(k, v).unwrap();
        self.model.entry(table.into()).or_default().insert(k.to_vec(), v.to_vec());
        self.ever.entry(table.into()).or_default().insert(k.to_vec());
    }
    fn del(&mut self, tx: &WriteTransaction, table: &str, k: &[u8]) {
        let got = tx.open_table(table).unwrap().remove(k).unwrap();
        let want = self.model.entry(table.into()).or_default().remove(k).is_some();
        assert_eq!(got, want, "remove {table} {k:?}");
    }
    fn create(&mut self, tx: &WriteTransaction, table: &str) {
        tx.open_table(table).unwrap();
        self.model.entry(table.into()).or_default();
        self.ever.entry(table.into()).or_default();
    }
    fn drop_table(&mut self, tx: &WriteTransaction, table: &str) {
        assert!(tx.delete_table(table).unwrap());
        self.model.remove(table);
    }
    fn commit(&mut self, db: &Database, mut tx: WriteTransaction, durable: bool) {
        if !durable {
            tx.set_durability(Durability::None);
        }
        tx.commit().unwrap();
        let txn = db.begin_read().unwrap().txn_id();
        self.states.push((txn, self.model.clone()));
    }
    fn snap(&mut self, label: impl Into<String>) {
        self.snapshots.push((label.into(), self.dev.to_bytes()));
    }
    fn keys(&self, table: &str) -> Vec<Vec<u8>> {
        self.model.get(table).map(|t| t.keys().cloned().collect()).unwrap_or_default()
    }
}

fn akey(i: u32) -> Vec<u8> {
    format!("a/{i:05}").into_bytes()
}
fn bkey(i: u32) -> Vec<u8> {
    format!("b/{i:04}/{}", "x".repeat((i % 23) as usize)).into_bytes()
}
/// Binary keys with zero and 0xFF bytes and lengths up to ~200.
fn gkey(i: u32) -> Vec<u8> {
    let mut k = (i.wrapping_mul(2_654_435_761)).to_be_bytes().to_vec();
    k.extend(value(i as u64 + 77, (i as usize * 7) % 200));
    k
}
/// Value sizes of table beta: every tenth an overflow run (1.5 to 20 KB), the rest 0..900.
fn bsize(i: u32) -> usize {
    if i % 10 == 3 {
        1500 + (i as usize * 7919) % 18_500
    } else {
        (i as usize * 131) % 900
    }
}

/// Build the file: a bulk load, checkpoints, deletions (a free list, a deleted table), then
/// commits left in a log that chains through continuation regions, some not durable.
pub fn build() -> Kv {
    let dev = Arc::new(MemoryDevice::new());
    // The empty database (transaction 0) is a committed state too.
    let mut b = Builder {
        dev: dev.clone(),
        model: State::new(),
        states: vec![(0, State::new())],
        snapshots: Vec::new(),
        ever: BTreeMap::new(),
    };
    // A 16 KiB log region at creation; until the reopen below, the log may hold at most 16 KiB.
    let small = Options { max_log_size: 16 << 10, ..Options::default() };
    {
        let db = Database::open_device(dev.clone(), small).unwrap();
        let tx = db.begin_write().unwrap();
        for i in 0..1500 {
            b.put(&tx, "alpha", &akey(i), &value(i as u64, (i as usize * 37) % 200));
        }
        for i in 0..500 {
            b.put(&tx, "beta", &bkey(i), &value(10_000 + i as u64, bsize(i)));
        }
        for i in 0..900 {
            b.put(&tx, "gamma", &gkey(i), &value(20_000 + i as u64, (i as usize * 5) % 64));
        }
        for i in 0..300 {
            b.put(&tx, "doomed", format!("d{i}").as_bytes(), &value(30_000 + i as u64, 100));
        }
        b.create(&tx, "empty");
        b.commit(&db, tx, true);
        b.snap("after the bulk load");
        db.checkpoint().unwrap();
        b.snap("after checkpoint 1");

        // Overwrites (some values grow into overflow runs, some shrink out of them), deletes.
        let tx = db.begin_write().unwrap();
        for i in (0..1500).step_by(5) {
            b.put(&tx, "alpha", &akey(i), &value(40_000 + i as u64, 20 + (i as usize % 150)));
        }
        for i in (0..500).step_by(7) {
            let len = if i % 2 == 0 { 3000 + (i as usize * 31) % 9000 } else { 10 };
            b.put(&tx, "beta", &bkey(i), &value(50_000 + i as u64, len));
        }
        for i in (1..900).step_by(4) {
            b.del(&tx, "gamma", &gkey(i));
        }
        b.commit(&db, tx, true);
        db.checkpoint().unwrap();
        b.snap("after checkpoint 2");

        // A deleted table and many deletions: a free list.
        let tx = db.begin_write().unwrap();
        b.drop_table(&tx, "doomed");
        for i in (2..1500).step_by(3) {
            b.del(&tx, "alpha", &akey(i));
        }
        for i in (3..500).step_by(20) {
            b.del(&tx, "beta", &bkey(i));
        }
        b.commit(&db, tx, true);
        db.checkpoint().unwrap();
        b.snap("after checkpoint 3 (free list)");
    }

    // Reopened with a larger log limit: the commits below stay in the log, which outgrows its
    // 16 KiB region and continues in larger ones appended at the end of the file.
    let opts = Options { max_log_size: 1 << 20, ..Options::default() };
    let db = Database::open_device(dev.clone(), opts).unwrap();
    let checkpoints = db.stats().checkpoints;
    for r in 0..36u32 {
        let tx = db.begin_write().unwrap();
        let durable = r % 5 != 2 && r < 33;
        for j in 0..5 {
            let k = format!("a/late/{r:02}/{j}").into_bytes();
            b.put(&tx, "alpha", &k, &value(60_000 + (r * 10 + j) as u64, 50 + ((r * 7 + j * 13) as usize % 250)));
        }
        let keys = b.keys("alpha");
        let victim = keys[(r as usize * 101) % keys.len()].clone();
        b.del(&tx, "alpha", &victim);
        let over = keys[(r as usize * 211 + 7) % keys.len()].clone();
        b.put(&tx, "alpha", &over, &value(70_000 + r as u64, 90));
        if r % 4 == 1 {
            let len = 2000 + (r as usize * 997) % 18_000;
            b.put(&tx, "beta", format!("b/late/{r:02}").as_bytes(), &value(80_000 + r as u64, len));
        }
        if r % 6 == 3 {
            let keys = b.keys("gamma");
            for j in 0..3 {
                let k = keys[(r as usize * 37 + j * 101) % keys.len()].clone();
                b.del(&tx, "gamma", &k);
            }
        }
        match r {
            8 => {
                for j in 0..10u32 {
                    b.put(&tx, "temp", &j.to_be_bytes(), &value(90_000 + j as u64, 40));
                }
            }
            12 => {
                for j in 0..20u32 {
                    b.put(&tx, "late", format!("l{j:02}").as_bytes(), &value(91_000 + j as u64, 120));
                }
            }
            20 => b.drop_table(&tx, "temp"),
            25 => {
                b.put(&tx, "late", b"", b"");
                b.put(&tx, "late", b"zero-length value", b"");
            }
            _ => {}
        }
        b.commit(&db, tx, durable);
        if r % 6 == 5 {
            b.snap(format!("log commit {r}"));
        }
    }
    assert_eq!(db.stats().checkpoints, checkpoints, "the last commits must stay in the log");
    drop(db);
    let image = dev.to_bytes();
    let map = FileMap::parse(&image);
    assert!(map.chain.len() >= 2, "the log must continue into another region: {:?}", map.chain);
    assert!(!map.freelist_pages.is_empty(), "the file must have a free list");
    assert!(map.runs.len() >= 20, "the file must have overflow runs");
    assert_eq!(map.last_txn(), b.states.last().unwrap().0, "the log must end with the last commit");
    let mut tables: BTreeSet<String> = b.ever.keys().cloned().collect();
    tables.insert("never-existed".into());
    let probes = b.ever.iter().map(|(t, ks)| (t.clone(), ks.iter().cloned().collect())).collect();
    Kv {
        base: Base { name: "kv", image, map, snapshots: b.snapshots },
        states: b.states,
        tables: tables.into_iter().collect(),
        probes,
    }
}

type Entry = (Vec<u8>, Vec<u8>);

/// One thing a read returned without an error.
#[derive(Debug)]
enum Fact {
    Tables(Vec<String>),
    /// `open_table` said the table does not exist.
    Missing(String),
    /// A scan's entries (reversed scans in reverse order); `complete`: it ended without error.
    Scan {
        table: String,
        rev: bool,
        items: Vec<Entry>,
        complete: bool,
    },
    Len {
        table: String,
        n: u64,
    },
    Ends {
        table: String,
        last: bool,
        entry: Option<Entry>,
    },
    Get {
        table: String,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    },
}

fn fits(fact: &Fact, s: &State) -> Result<(), String> {
    let empty = BTreeMap::new();
    let table = |t: &str| s.get(t).unwrap_or(&empty);
    match fact {
        Fact::Tables(names) => {
            let want: Vec<&String> = s.keys().collect();
            let got: BTreeSet<&String> = names.iter().collect();
            if got.into_iter().collect::<Vec<_>>() != want {
                return Err(format!("list_tables gave {names:?}, expected {want:?}"));
            }
        }
        Fact::Missing(t) if s.contains_key(t) => {
            return Err(format!("open_table({t:?}) said the table does not exist"))
        }
        Fact::Missing(_) => {}
        Fact::Scan { table: t, rev, items, complete } => {
            if !s.contains_key(t) {
                return Err(format!("table {t:?} opened and scanned, but it does not exist"));
            }
            let m = table(t);
            let n = items.len();
            let want: Vec<(&Vec<u8>, &Vec<u8>)> =
                if *rev { m.iter().rev().take(n + 1).collect() } else { m.iter().take(n + 1).collect() };
            for (i, (k, v)) in items.iter().enumerate() {
                match want.get(i) {
                    Some((wk, wv)) if *wk == k && *wv == v => {}
                    Some((wk, _)) if *wk == k => {
                        return Err(format!("{t}: {} scan entry {i}: key {} has a wrong value", dir(*rev), show(k)))
                    }
                    Some((wk, _)) => {
                        return Err(format!(
                            "{t}: {} scan entry {i}: key {}, expected {}",
                            dir(*rev),
                            show(k),
                            show(wk)
                        ))
                    }
                    None => return Err(format!("{t}: {} scan: extra entry {i}, key {}", dir(*rev), show(k))),
                }
            }
            if *complete && n != m.len() {
                return Err(format!("{t}: {} scan ended after {n} of {} entries", dir(*rev), m.len()));
            }
        }
        Fact::Len { table: t, n } => {
            if *n != table(t).len() as u64 {
                return Err(format!("{t}: len() = {n}, expected {}", table(t).len()));
            }
        }
        Fact::Ends { table: t, last, entry } => {
            let m = table(t);
            let want = if *last { m.iter().next_back() } else { m.iter().next() };
            if entry.as_ref().map(|(k, v)| (k, v)) != want {
                return Err(format!("{t}: {}() differs", if *last { "last" } else { "first" }));
            }
        }
        Fact::Get { table: t, key, value } => {
            let want = table(t).get(key);
            if value.as_ref() != want {
                let got = value.as_ref().map(|v| format!("{} bytes", v.len()));
                let want = want.map(|v| format!("{} bytes", v.len()));
                return Err(format!("{t}: get({}) = {got:?}, expected {want:?}", show(key)));
            }
        }
    }
    Ok(())
}

fn dir(rev: bool) -> &'static str {
    if rev {
        "reverse"
    } else {
        "forward"
    }
}

fn show(k: &[u8]) -> String {
    match std::str::from_utf8(k) {
        Ok(s) if s.len() <= 40 => format!("{s:?}"),
        _ => format!("0x{}", k.iter().take(12).map(|b| format!("{b:02x}")).collect::<String>()),
    }
}

/// What reading a damaged database returned.
#[derive(Default)]
pub struct Reads {
    facts: Vec<Fact>,
    /// Errors of reads (context, error).
    errors: Vec<(String, Error)>,
}

impl Reads {
    fn fail(&mut self, ctx: String, e: Error) {
        self.errors.push((ctx, e));
    }
}

impl Kv {
    /// The most entries any table ever held: a scan past this many never ends.
    fn scan_cap(&self) -> usize {
        let most = self.states.iter().flat_map(|(_, s)| s.values().map(|t| t.len())).max().unwrap_or(0);
        2 * most + 100
    }

    /// Read everything: every table forward and backward, len, first, last, every key ever
    /// written; each read on its own, so that the reads that succeed can all be judged.
    fn read(&self, db: &Database) -> Reads {
        let mut out = Reads::default();
        let rx = match db.begin_read() {
            Ok(rx) => rx,
            Err(e) => {
                out.fail("begin_read".into(), e);
                return out;
            }
        };
        match rx.list_tables() {
            Ok(t) => out.facts.push(Fact::Tables(t)),
            Err(e) => out.fail("list_tables".into(), e),
        }
        let cap = self.scan_cap();
        for name in &self.tables {
            let t = match rx.open_table(name) {
                Ok(t) => t,
                Err(Error::TableNotFound(_)) => {
                    out.facts.push(Fact::Missing(name.clone()));
                    continue;
                }
                Err(e) => {
                    out.fail(format!("open_table({name})"), e);
                    continue;
                }
            };
            for rev in [false, true] {
                let mut items = Vec::new();
                let r = t.iter().and_then(|it| {
                    let it: Box<dyn Iterator<Item = _>> = if rev { Box::new(it.rev()) } else { Box::new(it) };
                    for e in it {
                        let (k, v) = e?;
                        items.push((k.to_vec(), v.to_vec()));
                        if items.len() > cap {
                            break;
                        }
                    }
                    Ok(())
                });
                let complete = r.is_ok();
                if let Err(e) = r {
                    out.fail(format!("{} scan of {name}", dir(rev)), e);
                }
                out.facts.push(Fact::Scan { table: name.clone(), rev, items, complete });
            }
            match t.len() {
                Ok(n) => out.facts.push(Fact::Len { table: name.clone(), n }),
                Err(e) => out.fail(format!("len({name})"), e),
            }
            for last in [false, true] {
                match if last { t.last() } else { t.first() } {
                    Ok(e) => out.facts.push(Fact::Ends {
                        table: name.clone(),
                        last,
                        entry: e.map(|(k, v)| (k.to_vec(), v.to_vec())),
                    }),
                    Err(e) => out.fail(format!("first/last({name})"), e),
                }
            }
            for key in self.probes.get(name).into_iter().flatten() {
                match t.get(key) {
                    Ok(v) => out.facts.push(Fact::Get {
                        table: name.clone(),
                        key: key.clone(),
                        value: v.map(|v| v.to_vec()),
                    }),
                    Err(e) => out.fail(format!("get({name}, {})", show(key)), e),
                }
            }
        }
        out
    }

    fn consistent(&self, reads: &Reads, state: usize) -> Result<(), String> {
        let s = &self.states[state].1;
        reads.facts.iter().try_for_each(|f| fits(f, s))
    }

    /// Open `image` with `opts`, read everything, check, and judge what the reads returned.
    pub fn judge(&self, image: Vec<u8>, medium: Medium, opts: Options) -> Verdict {
        let mut placed = Placed::new(image, medium);
        let opened = match (placed.image.take(), &placed.path) {
            (Some(image), _) => Database::open_device(MemoryDevice::from_bytes(image), opts),
            (None, Some(path)) => Database::open_with(path, opts),
            (None, None) => unreachable!(),
        };
        let db = match opened {
            Ok(db) => db,
            Err(e) => return Verdict::open_failed(e),
        };
        let reads = self.read(&db);
        let check = match db.check() {
            Ok(r) => r.errors,
            Err(e) => vec![format!("check() failed: {e}")],
        };
        let report = db.recovery_report();
        drop(db);
        let (errors, other): (Vec<_>, Vec<_>) = reads.errors.iter().partition(|(_, e)| is_clean_error(e));
        let errors: Vec<String> = errors.iter().map(|(c, e)| format!("{c}: {e}")).collect();
        let other: Vec<String> = other.iter().map(|(c, e)| format!("{c}: {e:?}")).collect();
        let txns: Vec<u64> = self.states.iter().map(|(t, _)| *t).collect();
        let mut v = classify(&txns, errors, other, check, |i| self.consistent(&reads, i));
        if let Some(s) = report.salvaged {
            v.detail.push_str(&format!(" [salvaged: {s}]"));
        }
        v
    }
}
