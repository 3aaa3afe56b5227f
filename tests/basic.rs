//! End-to-end behaviour of the public API on memory and file devices.

use tessera::{Database, Durability, Error, MemoryDevice, Options};

fn key(i: u32) -> Vec<u8> {
    format!("key{i:08}").into_bytes()
}

#[test]
fn insert_get_remove_commit_abort() {
    let db = Database::memory();
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table("t").unwrap();
        for i in 0..5000 {
            t.insert(&key(i), &i.to_le_bytes()).unwrap();
        }
        assert_eq!(t.len().unwrap(), 5000);
        assert!(t.remove(&key(10)).unwrap());
        assert!(!t.remove(&key(10)).unwrap());
        assert_eq!(t.get(&key(11)).unwrap().unwrap(), 11u32.to_le_bytes());
    }
    tx.commit().unwrap();

    let tx = db.begin_write().unwrap();
    tx.open_table("t").unwrap().insert(b"aborted", b"x").unwrap();
    drop(tx); // abort

    let rx = db.begin_read().unwrap();
    let t = rx.open_table("t").unwrap();
    assert_eq!(t.len().unwrap(), 4999);
    assert!(t.get(b"aborted").unwrap().is_none());
    assert!(t.get(&key(10)).unwrap().is_none());
    for i in (0..5000).filter(|&i| i != 10) {
        assert_eq!(&*t.get(&key(i)).unwrap().unwrap(), &i.to_le_bytes(), "key {i}");
    }
    let all: Vec<_> = t.iter().unwrap().map(|e| e.unwrap().0.to_vec()).collect();
    assert_eq!(all.len(), 4999);
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    let rev: Vec<_> = t.iter().unwrap().rev().map(|e| e.unwrap().0.to_vec()).collect();
    assert_eq!(rev.iter().rev().cloned().collect::<Vec<_>>(), all);
    let r: Vec<_> = t.range(key(100)..key(110)).unwrap().map(|e| e.unwrap().0.to_vec()).collect();
    assert_eq!(r, (100..110).map(key).collect::<Vec<_>>());
    let r: Vec<_> = t.range(key(100)..=key(110)).unwrap().rev().map(|e| e.unwrap().0.to_vec()).collect();
    assert_eq!(r, (100..=110).rev().map(key).collect::<Vec<_>>());
    assert_eq!(t.first().unwrap().unwrap().0.to_vec(), key(0));
    assert_eq!(t.last().unwrap().unwrap().0.to_vec(), key(4999));
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.entries, 4999);
}

#[test]
fn large_values_and_key_limits() {
    let db = Database::memory();
    let tx = db.begin_write().unwrap();
    let big: Vec<u8> = (0..(3 << 20)).map(|i| (i % 251) as u8).collect();
    {
        let mut t = tx.open_table("blobs").unwrap();
        t.insert(b"big", &big).unwrap();
        t.insert(b"medium", &big[..5000]).unwrap();
        assert!(matches!(t.insert(&[0u8; 1025], b"v"), Err(Error::KeyTooLarge { len: 1025, .. })));
        t.insert(&[7u8; 1024], &big[..2000]).unwrap();
    }
    tx.commit().unwrap();
    let rx = db.begin_read().unwrap();
    let t = rx.open_table("blobs").unwrap();
    assert_eq!(&*t.get(b"big").unwrap().unwrap(), &big[..]);
    assert_eq!(&*t.get(b"medium").unwrap().unwrap(), &big[..5000]);
    assert_eq!(&*t.get(&[7u8; 1024]).unwrap().unwrap(), &big[..2000]);
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn tables_are_created_listed_and_dropped() {
    let db = Database::memory();
    let tx = db.begin_write().unwrap();
    tx.open_table("a").unwrap().insert(b"1", b"1").unwrap();
    tx.open_table("b").unwrap();
    tx.commit().unwrap();
    assert_eq!(db.begin_read().unwrap().list_tables().unwrap(), ["a", "b"]);
    let tx = db.begin_write().unwrap();
    assert!(tx.delete_table("a").unwrap());
    assert!(!tx.delete_table("zzz").unwrap());
    tx.commit().unwrap();
    let rx = db.begin_read().unwrap();
    assert_eq!(rx.list_tables().unwrap(), ["b"]);
    assert!(matches!(rx.open_table("a"), Err(Error::TableNotFound(_))));
    assert!(matches!(rx.open_table(""), Err(Error::InvalidTableName(_))));
}

#[test]
fn snapshot_isolation() {
    let db = Database::memory();
    let tx = db.begin_write().unwrap();
    tx.open_table("t").unwrap().insert(b"k", b"v1").unwrap();
    tx.commit().unwrap();
    let old = db.begin_read().unwrap();
    let tx = db.begin_write().unwrap();
    tx.open_table("t").unwrap().insert(b"k", b"v2").unwrap();
    tx.commit().unwrap();
    assert_eq!(&*old.open_table("t").unwrap().get(b"k").unwrap().unwrap(), b"v1");
    assert_eq!(&*db.begin_read().unwrap().open_table("t").unwrap().get(b"k").unwrap().unwrap(), b"v2");
}

#[test]
fn reopen_file_recovers_log_and_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Database::open(&path).unwrap();
        for round in 0..20u32 {
            let tx = db.begin_write().unwrap();
            {
                let mut t = tx.open_table("t").unwrap();
                for i in 0..100 {
                    t.insert(&key(round * 100 + i), &[round as u8; 150]).unwrap();
                }
            }
            tx.commit().unwrap();
        }
        assert!(matches!(Database::open(&path), Err(Error::Locked)));
    }
    let db = Database::open(&path).unwrap();
    let rx = db.begin_read().unwrap();
    let t = rx.open_table("t").unwrap();
    assert_eq!(t.len().unwrap(), 2000);
    assert_eq!(&*t.get(&key(1234)).unwrap().unwrap(), &[12u8; 150]);
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn churn_does_not_grow_file_without_bound() {
    let db = Database::open_device(MemoryDevice::new(), Options::default()).unwrap();
    let mut sizes = Vec::new();
    for round in 0..60u32 {
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("t").unwrap();
            for i in 0..500 {
                t.insert(&key(i), &[round as u8; 200]).unwrap();
            }
        }
        tx.commit().unwrap();
        sizes.push(db.stats().page_count);
    }
    db.checkpoint().unwrap();
    let late = sizes[59];
    assert!(late <= sizes[19] * 2, "file keeps growing: {sizes:?}");
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{report:?}");
}

#[test]
fn non_durable_commits_and_sync() {
    let db = Database::memory();
    let mut tx = db.begin_write().unwrap();
    tx.set_durability(Durability::None);
    tx.open_table("t").unwrap().insert(b"a", b"b").unwrap();
    tx.commit().unwrap();
    db.sync().unwrap();
    assert!(db.begin_read().unwrap().open_table("t").unwrap().get(b"a").unwrap().is_some());
}

#[test]
fn reverse_range_with_bounds_past_the_ends() {
    let db = Database::memory();
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table("t").unwrap();
        t.insert(b"", b"empty").unwrap();
        t.insert(b"m", b"middle").unwrap();
    }
    tx.commit().unwrap();
    let rx = db.begin_read().unwrap();
    let t = rx.open_table("t").unwrap();
    fn keys<'a>(r: impl Iterator<Item = tessera::Result<(tessera::Guard<'a>, tessera::Guard<'a>)>>) -> Vec<Vec<u8>> {
        r.map(|e| e.unwrap().0.to_vec()).collect()
    }
    assert_eq!(keys(t.range(..=b"zzzz".as_slice()).unwrap().rev()), [b"m".to_vec(), b"".to_vec()]);
    assert_eq!(keys(t.range(..b"m".as_slice()).unwrap().rev()), [b"".to_vec()]);
    assert_eq!(keys(t.range(..=b"m".as_slice()).unwrap().rev()), [b"m".to_vec(), b"".to_vec()]);
    assert_eq!(keys(t.range(b"n".as_slice()..).unwrap().rev()), Vec::<Vec<u8>>::new());
    assert_eq!(keys(t.range(..b"".as_slice()).unwrap().rev()), Vec::<Vec<u8>>::new());
}

#[test]
fn foreign_files_are_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("short.txt", b"hello".to_vec()),
        ("text.txt", b"some notes that are not a database at all\n".repeat(100)),
        ("zero-magic.bin", {
            let mut b = vec![0u8; 8192];
            b[100] = 1;
            b
        }),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = Database::open(&path).unwrap_err();
        assert!(matches!(err, Error::NotADatabase(_)), "{name}: {err:?}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was modified");
    }
    // An all-zero file (a creation that never reached the disk) becomes a new database.
    let path = dir.path().join("zeros.db");
    std::fs::write(&path, vec![0u8; 4096]).unwrap();
    let db = Database::open(&path).unwrap();
    assert!(db.begin_read().unwrap().list_tables().unwrap().is_empty());
}

#[test]
fn damaged_copy_of_the_newest_slot_is_reported() {
    let dev = std::sync::Arc::new(MemoryDevice::new());
    {
        let db = Database::open_device(dev.clone(), Options::default()).unwrap();
        for i in 0..3u32 {
            let tx = db.begin_write().unwrap();
            tx.open_table("t").unwrap().insert(&key(i), b"v").unwrap();
            tx.commit().unwrap();
            db.checkpoint().unwrap();
        }
        assert_eq!(db.recovery_report(), tessera::RecoveryReport::default());
    }
    // Find the slot with the highest sequence number and flip a byte in it: its mirror (1 KiB
    // further) is intact, so nothing is lost, but the damage is reported.
    let mut bytes = dev.to_bytes();
    let seq = |off: usize| u64::from_le_bytes(bytes[off + 8..off + 16].try_into().unwrap());
    let newest = if seq(512) > seq(1024) { 512 } else { 1024 };
    bytes[newest + 30] ^= 0xff;
    let db = Database::open_device(MemoryDevice::from_bytes(bytes), Options::default()).unwrap();
    assert_eq!(db.begin_read().unwrap().open_table("t").unwrap().len().unwrap(), 3);
    assert_eq!(db.recovery_report().harmless_damage.len(), 1, "{:?}", db.recovery_report());
    let report = db.check().unwrap();
    assert!(!report.is_ok());
    assert!(report.errors[0].contains("commit slot"), "{:?}", report.errors);
}

#[test]
fn value_of_64_mib_round_trips_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    let big: Vec<u8> = (0..64usize << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    {
        let db = Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table("blobs").unwrap().insert(b"movie", &big).unwrap();
        tx.commit().unwrap();
        let rx = db.begin_read().unwrap();
        assert!(rx.open_table("blobs").unwrap().get(b"movie").unwrap().unwrap() == big[..]);
    }
    let db = Database::open(&path).unwrap();
    {
        let rx = db.begin_read().unwrap();
        let t = rx.open_table("blobs").unwrap();
        let v = t.get(b"movie").unwrap().unwrap();
        assert_eq!(v.len(), big.len());
        assert!(*v == big[..]);
    }
    // Replacing it frees the run for reuse.
    let tx = db.begin_write().unwrap();
    tx.open_table("blobs").unwrap().insert(b"movie", b"short").unwrap();
    tx.commit().unwrap();
    db.checkpoint().unwrap();
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert!(report.free_pages >= (64 << 20) / 4096, "the run was not freed: {report:?}");
}

#[test]
fn open_existing_table_does_not_create() {
    let db = Database::memory();
    let tx = db.begin_write().unwrap();
    assert!(matches!(tx.open_existing_table("missing"), Err(Error::TableNotFound(_))));
    assert!(tx.list_tables().unwrap().is_empty());
    tx.open_table("made").unwrap().insert(b"k", b"v").unwrap();
    assert_eq!(tx.open_existing_table("made").unwrap().get(b"k").unwrap().unwrap(), b"v");
    tx.commit().unwrap();
    assert_eq!(db.begin_read().unwrap().list_tables().unwrap(), ["made"]);
}

#[test]
fn close_makes_non_durable_commits_durable_and_reports_failure() {
    use tessera::device::{CrashMode, FailingDevice, PowerLossDevice};
    // A non-durable commit survives power loss once close() returned Ok.
    let dev = std::sync::Arc::new(PowerLossDevice::new());
    let db = Database::open_device(dev.clone(), Options::default()).unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.set_durability(Durability::None);
    tx.open_table("t").unwrap().insert(b"k", b"v").unwrap();
    tx.commit().unwrap();
    db.close().unwrap();
    let db =
        Database::open_device(MemoryDevice::from_bytes(dev.crash(CrashMode::DropAll)), Options::default()).unwrap();
    assert_eq!(&*db.begin_read().unwrap().open_table("t").unwrap().get(b"k").unwrap().unwrap(), b"v");
    // A failing final sync is reported, not swallowed.
    let dev = std::sync::Arc::new(FailingDevice::new(MemoryDevice::new(), u64::MAX));
    let db = Database::open_device(dev.clone(), Options::default()).unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.set_durability(Durability::None);
    tx.open_table("t").unwrap().insert(b"k", b"v").unwrap();
    tx.commit().unwrap();
    dev.set_fail_after(dev.ops());
    assert!(matches!(db.close(), Err(Error::Io { .. })));
}

#[test]
fn database_far_larger_than_the_cache_stays_within_budget() {
    // The memory device has no mapping, so every read goes through the page cache.
    let budget = 1 << 20;
    let opts = Options { cache_size: budget, ..Options::default() };
    let db = Database::open_device(MemoryDevice::new(), opts).unwrap();
    let value = [0x5au8; 400];
    let mut max_seen = 0;
    for round in 0..25u32 {
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("big").unwrap();
            for i in 0..2000u32 {
                t.insert(&key(round * 2000 + i), &value).unwrap();
            }
        }
        tx.commit().unwrap();
        max_seen = max_seen.max(db.stats().cache_bytes);
    }
    let rx = db.begin_read().unwrap();
    let t = rx.open_table("big").unwrap();
    assert_eq!(t.len().unwrap(), 50_000);
    let mut x = 12345u64;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = (x % 50_000) as u32;
        assert_eq!(&*t.get(&key(i)).unwrap().unwrap(), &value[..]);
        max_seen = max_seen.max(db.stats().cache_bytes);
    }
    let scanned = t.iter().unwrap().count();
    assert_eq!(scanned, 50_000);
    max_seen = max_seen.max(db.stats().cache_bytes);
    let file_bytes = db.stats().page_count * 4096;
    assert!(file_bytes > 15 * budget as u64, "database of {file_bytes} bytes is not far larger than the cache");
    assert!(max_seen <= budget as u64, "cache held {max_seen} bytes, budget {budget}");
    assert!(db.stats().cache_misses > 0 && db.stats().cache_hits > 0);
}

#[test]
fn damage_inside_the_log_is_reported() {
    let dev = std::sync::Arc::new(MemoryDevice::new());
    {
        let db = Database::open_device(dev.clone(), Options::default()).unwrap();
        for i in 0..5u32 {
            let tx = db.begin_write().unwrap();
            tx.open_table("t").unwrap().insert(&key(i), &[i as u8; 100]).unwrap();
            tx.commit().unwrap();
        }
        std::mem::forget(db); // leave the commits in the log, as a crash would
    }
    let mut bytes = dev.to_bytes();
    // Frames start at 512-byte boundaries with the magic "TLOG"; damage the second one.
    let frames: Vec<usize> = (0..bytes.len() / 512).map(|s| s * 512).filter(|&o| &bytes[o..o + 4] == b"TLOG").collect();
    assert!(frames.len() >= 5, "{frames:?}");
    let undamaged = Database::open_device(MemoryDevice::from_bytes(bytes.clone()), Options::default()).unwrap();
    assert_eq!(undamaged.recovery_report().frames_replayed, 5);
    assert_eq!(undamaged.recovery_report().frames_skipped, 0);
    drop(undamaged);
    bytes[frames[1] + 40] ^= 0xff;
    // The damaged frame's commit and the three after it were acknowledged: open refuses...
    let err = Database::open_device(MemoryDevice::from_bytes(bytes.clone()), Options::default()).unwrap_err();
    assert!(matches!(err, Error::Corrupted { .. }) && err.to_string().contains("from 2 on"), "{err}");
    // ... unless told to salvage, which opens with the first commit and says what it gave up.
    let db = Database::open_device(MemoryDevice::from_bytes(bytes), Options { salvage: true, ..Options::default() })
        .unwrap();
    let r = db.recovery_report();
    assert_eq!(r.frames_replayed, 1, "{r:?}");
    assert!(r.salvaged.is_some(), "{r:?}");
    assert_eq!(db.begin_read().unwrap().open_table("t").unwrap().len().unwrap(), 1);
}

/// Small commits stay in the tables' in-memory deltas (not in the trees) until a checkpoint.
/// Every read path must merge them with the tree: point reads, ranges in both directions and
/// mixed, first/last, len, reads inside the next write transaction; and a checkpoint, a
/// reopen (log replay) and a dropped table must all agree with a model.
#[test]
fn unfolded_commits_are_merged_into_every_read() {
    use std::collections::BTreeMap;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("delta.db");
    let db = Database::open(&path).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    // A bulk load (through a checkpoint: it lands in the tree).
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table("t").unwrap();
        for i in 0..20_000u32 {
            t.insert(&key(i * 2), &i.to_le_bytes()).unwrap();
            model.insert(key(i * 2), i.to_le_bytes().to_vec());
        }
    }
    tx.commit().unwrap();
    db.checkpoint().unwrap();
    assert_eq!(db.stats().delta_bytes, 0);
    // Many small commits: new keys, overwrites, removals of tree keys and of delta keys.
    let mut seed = 7u64;
    let mut rnd = move |n: u32| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) % n as u64) as u32
    };
    for c in 0..60u32 {
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("t").unwrap();
            for _ in 0..(1 + rnd(40)) {
                let k = key(rnd(41_000));
                if rnd(3) == 0 {
                    assert_eq!(t.remove(&k).unwrap(), model.remove(&k).is_some());
                } else {
                    let v = format!("c{c}").into_bytes();
                    t.insert(&k, &v).unwrap();
                    model.insert(k, v);
                }
            }
        }
        tx.commit().unwrap();
    }
    assert!(db.stats().delta_bytes > 0, "small commits should stay in the deltas");
    let check = |db: &Database, model: &BTreeMap<Vec<u8>, Vec<u8>>, what: &str| {
        let rx = db.begin_read().unwrap();
        let t = rx.open_table("t").unwrap();
        assert_eq!(t.len().unwrap(), model.len() as u64, "{what}: len");
        for i in (0..41_000u32).step_by(7) {
            let k = key(i);
            assert_eq!(t.get(&k).unwrap().map(|g| g.to_vec()), model.get(&k).cloned(), "{what}: get {i}");
        }
        let all: Vec<(Vec<u8>, Vec<u8>)> =
            t.iter().unwrap().map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert!(all == want, "{what}: forward scan differs");
        let back: Vec<Vec<u8>> = t.iter().unwrap().rev().map(|e| e.unwrap().0.to_vec()).collect();
        assert!(back.iter().eq(model.keys().rev()), "{what}: reverse scan differs");
        // Bounded and mixed-direction ranges.
        for (lo, hi) in [(100u32, 180u32), (0, 40_999), (39_990, 41_000), (5_001, 5_003)] {
            let (lo, hi) = (key(lo), key(hi));
            let mut it = t.range(lo.as_slice()..hi.as_slice()).unwrap();
            let mut want = model.range(lo.clone()..hi.clone());
            let mut step = 0;
            loop {
                let (got, exp) =
                    if step % 3 == 2 { (it.next_back(), want.next_back()) } else { (it.next(), want.next()) };
                let got = got.map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap());
                assert_eq!(got, exp.map(|(k, v)| (k.clone(), v.clone())), "{what}: mixed range step {step}");
                if got.is_none() {
                    break;
                }
                step += 1;
            }
        }
        let first = t.first().unwrap().map(|(k, _)| k.to_vec());
        let last = t.last().unwrap().map(|(k, _)| k.to_vec());
        assert_eq!(first.as_ref(), model.keys().next(), "{what}: first");
        assert_eq!(last.as_ref(), model.keys().next_back(), "{what}: last");
    };
    check(&db, &model, "deltas");
    // Inside a write transaction: point reads see the deltas; a range read folds them.
    let tx = db.begin_write().unwrap();
    {
        let t = tx.open_table("t").unwrap();
        for i in (0..41_000u32).step_by(13) {
            assert_eq!(t.get(&key(i)).unwrap(), model.get(&key(i)).cloned(), "write-tx get {i}");
        }
        assert_eq!(t.len().unwrap(), model.len() as u64);
        let n = t.iter().unwrap().count();
        assert_eq!(n, model.len());
    }
    tx.commit().unwrap();
    check(&db, &model, "after a folding transaction");
    // More deltas, then reopen: the log is replayed.
    let tx = db.begin_write().unwrap();
    tx.open_table("t").unwrap().insert(b"zzz", b"last").unwrap();
    tx.commit().unwrap();
    model.insert(b"zzz".to_vec(), b"last".to_vec());
    drop(db);
    let db = Database::open(&path).unwrap();
    check(&db, &model, "reopened");
    assert!(db.check().unwrap().errors.is_empty());
    // Deltas, then a checkpoint folds them; then a table dropped while it has a delta.
    let tx = db.begin_write().unwrap();
    tx.open_table("t").unwrap().remove(b"zzz").unwrap();
    tx.open_table("u").unwrap().insert(b"k", b"v").unwrap();
    tx.commit().unwrap();
    model.remove(b"zzz".as_slice());
    db.checkpoint().unwrap();
    assert_eq!(db.stats().delta_bytes, 0);
    check(&db, &model, "checkpointed");
    let tx = db.begin_write().unwrap();
    tx.open_table("u").unwrap().insert(b"k2", b"v2").unwrap();
    tx.commit().unwrap();
    let tx = db.begin_write().unwrap();
    assert!(tx.delete_table("u").unwrap());
    tx.commit().unwrap();
    let rx = db.begin_read().unwrap();
    assert!(matches!(rx.open_table("u"), Err(Error::TableNotFound(_))));
    let tx = db.begin_write().unwrap();
    assert_eq!(tx.open_table("u").unwrap().len().unwrap(), 0);
    drop(tx);
    assert!(db.check().unwrap().errors.is_empty());
}

/// Removing most of a table rewrites its leaves elsewhere (copy-on-write); with the default
/// `auto_compact` the commit then shrinks the file, and `compact` also moves a log region
/// that was appended at the end. Without `auto_compact` the space stays until `compact`.
#[test]
fn removing_most_keys_shrinks_the_file_automatically() {
    let dir = tempfile::tempdir().unwrap();
    let run = |auto: bool| -> (u64, u64, u64) {
        let path = dir.path().join(format!("shrink-{auto}.db"));
        // A small log: the removal below commits through a checkpoint, not into the deltas.
        let opts = Options { auto_compact: auto, max_log_size: 256 << 10, ..Options::default() };
        let db = Database::open_with(&path, opts.clone()).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("t").unwrap();
            for i in 0..60_000u32 {
                t.insert(&key(i.wrapping_mul(2_654_435_761)), &[i as u8; 120]).unwrap();
            }
        }
        tx.commit().unwrap();
        let full = std::fs::metadata(&path).unwrap().len();
        // Remove all but every tenth key, in one transaction too large for the log.
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("t").unwrap();
            for i in (0..60_000u32).filter(|i| i % 10 != 0) {
                assert!(t.remove(&key(i.wrapping_mul(2_654_435_761))).unwrap());
            }
        }
        tx.commit().unwrap();
        let after = std::fs::metadata(&path).unwrap().len();
        let report = db.check().unwrap();
        assert!(report.errors.is_empty(), "{report:?}");
        assert_eq!(report.entries, 6_000);
        db.compact().unwrap();
        let compacted = std::fs::metadata(&path).unwrap().len();
        drop(db);
        let db = Database::open_with(&path, opts).unwrap();
        let rx = db.begin_read().unwrap();
        let t = rx.open_table("t").unwrap();
        assert_eq!(t.len().unwrap(), 6_000);
        for i in (0..60_000u32).step_by(10) {
            assert_eq!(&*t.get(&key(i.wrapping_mul(2_654_435_761))).unwrap().unwrap(), &[i as u8; 120][..]);
        }
        (full, after, compacted)
    };
    let (full, after, compacted) = run(true);
    assert!(after < full / 3, "auto compaction: {full} bytes after the load, {after} after removing 90%");
    assert!(compacted <= after + 4 * 4096, "compact after auto compaction: {after} -> {compacted}");
    let (full, after, compacted) = run(false);
    assert!(after >= full, "without auto compaction: {full} -> {after}");
    assert!(compacted < full / 3, "compact: {full} bytes after the load, {compacted} after compact");
}

/// compact_overflow.sh: `compact` must move overflow runs too. Before, a file whose free pages
/// lay below overflow runs kept them (77% of its pages free after `compact`). After it, the
/// file holds its live pages plus a small constant; values of every size read back.
#[test]
fn compact_moves_overflow_runs() {
    let opts = Options { auto_compact: false, ..Options::default() };
    let db = Database::open_device(MemoryDevice::new(), opts).unwrap();
    let tx = db.begin_write().unwrap();
    let sizes = [5000usize, 1500, 9000, 30_000, 300];
    for i in 0..1500u32 {
        tx.open_table("t").unwrap().insert(&key(i), &vec![(i % 251) as u8; sizes[i as usize % 5]]).unwrap();
    }
    tx.commit().unwrap();
    let tx = db.begin_write().unwrap();
    for i in 150..1500u32 {
        if i % 7 != 0 {
            tx.open_table("t").unwrap().remove(&key(i)).unwrap();
        }
    }
    tx.commit().unwrap();
    db.compact().unwrap();
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{report:?}");
    let st = db.stats();
    // Live: tree and overflow pages, the log region, the header, the free list's pages.
    let live = report.pages_checked + 64 + 1 + st.free_list_pages;
    assert!(
        st.page_count <= live + 32,
        "after compact the file has {} pages for {live} live ones ({} free)",
        st.page_count,
        st.free_pages
    );
    let rx = db.begin_read().unwrap();
    let t = rx.open_table("t").unwrap();
    for i in 0..1500u32 {
        let got = t.get(&key(i)).unwrap();
        if i < 150 || i % 7 == 0 {
            assert_eq!(got.as_deref(), Some(&vec![(i % 251) as u8; sizes[i as usize % 5]][..]), "key {i}");
        } else {
            assert!(got.is_none());
        }
    }
}
