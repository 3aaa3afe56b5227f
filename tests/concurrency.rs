//! Readers and one writer in parallel: every snapshot must be consistent (all-or-nothing
//! commits, across tables), monotonic per reader thread, and old snapshots must keep reading
//! their own data while the writer commits, checkpoints and reuses pages.
//! Scaled by `TESSERA_TEST_SCALE`.

mod common;

use common::scaled;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera::{Database, Durability, MemoryDevice, Options, ReadTransaction};

const BATCH_KEYS: u64 = 16;
const ACCOUNTS: u64 = 20;
const CHURN_WINDOW: u64 = 50;
const INITIAL_BALANCE: u64 = 1000;

fn batch_key(k: u64) -> Vec<u8> {
    format!("batch/{k:03}").into_bytes()
}

/// Value of batch key `k` in batch `i`: `i` first, then filler whose length varies; key 0 is
/// large enough to live in an overflow run, so every commit replaces (and frees) a run.
fn batch_value(k: u64, i: u64) -> Vec<u8> {
    let mut v = i.to_le_bytes().to_vec();
    let filler = if k == 0 { 6000 + (i % 7) as usize * 100 } else { ((i * 13 + k) % 90) as usize };
    v.extend(std::iter::repeat_n((i % 251) as u8, filler));
    v
}

fn account(a: u64) -> Vec<u8> {
    format!("acct/{a:02}").into_bytes()
}

fn churn_key(i: u64) -> Vec<u8> {
    format!("churn/{i:08}").into_bytes()
}

fn setup(db: &Database) {
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table("batch").unwrap();
        for k in 0..BATCH_KEYS {
            t.insert(&batch_key(k), &batch_value(k, 0)).unwrap();
        }
        let mut t = tx.open_table("bank").unwrap();
        for a in 0..ACCOUNTS {
            t.insert(&account(a), &INITIAL_BALANCE.to_le_bytes()).unwrap();
        }
        tx.open_table("churn").unwrap();
    }
    tx.commit().unwrap();
}

/// Writer step `i` (1-based): set every batch key to `i`, move money between accounts, add
/// churn key `i` and drop churn key `i - CHURN_WINDOW`.
fn write_batch(db: &Database, i: u64) {
    let mut tx = db.begin_write().unwrap();
    if i.is_multiple_of(5) {
        tx.set_durability(Durability::None);
    }
    {
        let mut t = tx.open_table("batch").unwrap();
        for k in 0..BATCH_KEYS {
            t.insert(&batch_key(k), &batch_value(k, i)).unwrap();
        }
        let mut t = tx.open_table("bank").unwrap();
        for j in 0..3 {
            let (from, to) = ((i * 7 + j) % ACCOUNTS, (i * 11 + j * 3 + 1) % ACCOUNTS);
            if from == to {
                continue;
            }
            let bal = |t: &tessera::Table<'_>, a| {
                u64::from_le_bytes(t.get(&account(a)).unwrap().unwrap()[..8].try_into().unwrap())
            };
            let (fb, tb) = (bal(&t, from), bal(&t, to));
            let amount = (i % 17).min(fb);
            t.insert(&account(from), &(fb - amount).to_le_bytes()).unwrap();
            t.insert(&account(to), &(tb + amount).to_le_bytes()).unwrap();
        }
        let mut t = tx.open_table("churn").unwrap();
        t.insert(&churn_key(i), &vec![(i % 256) as u8; (i % 300) as usize]).unwrap();
        if i > CHURN_WINDOW {
            assert!(t.remove(&churn_key(i - CHURN_WINDOW)).unwrap());
        }
    }
    tx.commit().unwrap();
}

/// Checks one snapshot; returns its batch number.
fn verify_snapshot(rx: &ReadTransaction) -> u64 {
    let batch = rx.open_table("batch").unwrap();
    let mut seen = None;
    let mut n = 0;
    for e in batch.iter().unwrap() {
        let (k, v) = e.unwrap();
        let i = u64::from_le_bytes(v[..8].try_into().unwrap());
        let idx: u64 = std::str::from_utf8(&k[6..]).unwrap().parse().unwrap();
        assert_eq!(&*v, &batch_value(idx, i)[..], "batch key {idx}: value bytes of batch {i} are wrong");
        match seen {
            None => seen = Some(i),
            Some(s) => assert_eq!(s, i, "snapshot {} mixes batches {s} and {i}", rx.txn_id()),
        }
        n += 1;
    }
    assert_eq!(n, BATCH_KEYS);
    let i = seen.unwrap();
    let bank = rx.open_table("bank").unwrap();
    let total: u64 = bank.iter().unwrap().map(|e| u64::from_le_bytes(e.unwrap().1[..8].try_into().unwrap())).sum();
    assert_eq!(total, ACCOUNTS * INITIAL_BALANCE, "snapshot {} (batch {i}): money created or lost", rx.txn_id());
    let churn = rx.open_table("churn").unwrap();
    let keys: Vec<Vec<u8>> = churn.iter().unwrap().map(|e| e.unwrap().0.to_vec()).collect();
    let want: Vec<Vec<u8>> = (i.saturating_sub(CHURN_WINDOW - 1).max(1)..=i).map(churn_key).collect();
    assert!(
        keys == want,
        "snapshot {} (batch {i}): churn table holds {} keys, want {}",
        rx.txn_id(),
        keys.len(),
        want.len()
    );
    assert_eq!(churn.len().unwrap(), want.len() as u64);
    let rev: Vec<Vec<u8>> = churn.iter().unwrap().rev().map(|e| e.unwrap().0.to_vec()).collect();
    assert!(rev.iter().rev().eq(keys.iter()), "reverse iteration differs");
    i
}

/// Runs one writer and `readers` reader threads over `db`.
fn run(db: &Database, commits: u64, readers: usize) {
    setup(db);
    let old = db.begin_read().unwrap();
    assert_eq!(verify_snapshot(&old), 0);
    let done = AtomicBool::new(false);
    let snapshots = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for r in 0..readers {
            let (done, snapshots) = (&done, &snapshots);
            s.spawn(move || {
                let mut last = 0;
                let mut last_txn = 0;
                let mut held: Option<(ReadTransaction, u64)> = None;
                let mut rounds = 0u64;
                while !done.load(Ordering::Acquire) || rounds < 3 {
                    let rx = db.begin_read().unwrap();
                    assert!(rx.txn_id() >= last_txn, "reader {r}: txn id went backwards");
                    last_txn = rx.txn_id();
                    let i = verify_snapshot(&rx);
                    assert!(i >= last, "reader {r}: batch went backwards: {last} -> {i}");
                    last = i;
                    // Hold every 10th snapshot across many commits and re-verify it later.
                    if rounds.is_multiple_of(10) {
                        if let Some((h, hi)) = held.take() {
                            assert_eq!(verify_snapshot(&h), hi, "reader {r}: a held snapshot changed");
                        }
                        held = Some((rx, i));
                    }
                    snapshots.fetch_add(1, Ordering::Relaxed);
                    rounds += 1;
                }
                if let Some((h, hi)) = held {
                    assert_eq!(verify_snapshot(&h), hi, "reader {r}: a held snapshot changed");
                }
            });
        }
        s.spawn(|| {
            for i in 1..=commits {
                write_batch(db, i);
                if i.is_multiple_of(50) {
                    db.checkpoint().unwrap();
                }
                if i.is_multiple_of(97) {
                    db.sync().unwrap();
                }
                // Compaction moves pages and truncates the file while readers hold snapshots.
                if i.is_multiple_of(120) {
                    db.compact().unwrap();
                }
                if i.is_multiple_of(150) {
                    let report = db.check().unwrap();
                    assert!(report.is_ok(), "check during the run: {report:?}");
                }
            }
            done.store(true, Ordering::Release);
        });
    });
    // The snapshot taken before the writer started still reads the initial data.
    assert_eq!(verify_snapshot(&old), 0);
    drop(old);
    let rx = db.begin_read().unwrap();
    assert_eq!(verify_snapshot(&rx), commits);
    drop(rx);
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{report:?}");
    eprintln!(
        "{commits} commits, {} snapshots verified by {readers} readers in {:?}",
        snapshots.load(Ordering::Relaxed),
        start.elapsed()
    );
}

fn small_cache() -> Options {
    Options { page_size: 4096, cache_size: 16 * 4096 * 2, max_log_size: 64 * 1024, ..Options::default() }
}

/// In memory, with a small cache: eviction and checkpoints run while readers read.
#[test]
fn readers_and_writer_memory() {
    let db = Arc::new(Database::open_device(MemoryDevice::new(), small_cache()).unwrap());
    let commits = scaled(600) as u64;
    // Arc-shared handle used from plain spawned threads too.
    let stop = Arc::new(AtomicBool::new(false));
    let side = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Acquire) {
                let rx = db.begin_read().unwrap();
                // Before setup there are no tables; afterwards every snapshot is consistent.
                if rx.list_tables().unwrap().len() == 3 {
                    verify_snapshot(&rx);
                }
                n += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            n
        })
    };
    run(&db, commits, 4);
    stop.store(true, Ordering::Release);
    assert!(side.join().unwrap() > 0);
}

/// A file database (reads through the memory mapping), default and small caches.
#[test]
fn readers_and_writer_file_mmap() {
    for (name, opts) in [("default", Options::default()), ("small cache", small_cache())] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let db = Database::open_with(&path, opts.clone()).unwrap();
            eprintln!("file, {name}:");
            run(&db, scaled(600) as u64, 4);
        }
        // Everything committed is there after reopening.
        let db = Database::open_with(&path, opts).unwrap();
        let rx = db.begin_read().unwrap();
        assert_eq!(verify_snapshot(&rx), scaled(600) as u64);
    }
}

/// A file database without the mapping (reads copy through the cache).
#[test]
fn readers_and_writer_file_no_mmap() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { use_mmap: false, ..small_cache() };
    let db = Database::open_with(dir.path().join("db"), opts).unwrap();
    run(&db, scaled(400) as u64, 4);
}

/// Several threads competing for the write transaction: commits serialize, none is lost.
#[test]
fn competing_writers() {
    let db = Database::open_device(MemoryDevice::new(), small_cache()).unwrap();
    let per_thread = scaled(50) as u64;
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let db = &db;
            s.spawn(move || {
                for i in 0..per_thread {
                    let tx = db.begin_write().unwrap();
                    {
                        let mut tb = tx.open_table("counter").unwrap();
                        let n = tb.get(b"n").unwrap().map_or(0, |v| u64::from_le_bytes(v[..8].try_into().unwrap()));
                        tb.insert(b"n", &(n + 1).to_le_bytes()).unwrap();
                        tb.insert(format!("t{t}/{i:05}").as_bytes(), &[t as u8; 100]).unwrap();
                    }
                    if i.is_multiple_of(3) {
                        drop(tx); // abort
                        let tx = db.begin_write().unwrap();
                        {
                            let mut tb = tx.open_table("counter").unwrap();
                            let n = tb.get(b"n").unwrap().map_or(0, |v| u64::from_le_bytes(v[..8].try_into().unwrap()));
                            tb.insert(b"n", &(n + 1).to_le_bytes()).unwrap();
                            tb.insert(format!("t{t}/{i:05}").as_bytes(), &[t as u8; 100]).unwrap();
                        }
                        tx.commit().unwrap();
                    } else {
                        tx.commit().unwrap();
                    }
                }
            });
        }
    });
    let rx = db.begin_read().unwrap();
    let t = rx.open_table("counter").unwrap();
    assert_eq!(u64::from_le_bytes(t.get(b"n").unwrap().unwrap()[..8].try_into().unwrap()), 4 * per_thread);
    assert_eq!(t.len().unwrap(), 4 * per_thread + 1);
    drop(rx);
    assert!(db.check().unwrap().is_ok());
}
