//! Crash sweep: a scripted workload runs on a `PowerLossDevice` that loses power at every
//! crash point in turn; every image a power cut could leave must recover to a committed state.
//! Scaled by `TESSERA_TEST_SCALE`.

mod common;

use common::workload::{key, log_chain_scenario, main_scenario, Recorder, Scenario};
use common::{describe, dump, scaled, small_options, value, State};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tessera::device::{CrashMode, PowerLossDevice};
use tessera::{Database, Durability, Error, MemoryDevice, Options, Result};

/// Runs the scenario on `dev`; returns the recorder (and the workload's error, if any).
fn run_workload(sc: &Scenario, dev: Arc<PowerLossDevice>) -> (Recorder, Option<Error>) {
    let mut rec = Recorder::new();
    rec.states[0] = sc.base_state.clone();
    rec.model = sc.base_state.clone();
    let db = match Database::open_device(dev, sc.opts.clone()) {
        Ok(db) => db,
        Err(e) => {
            rec.failed_at = Some("open");
            return (rec, Some(e));
        }
    };
    let r = (sc.run)(&db, &mut rec);
    drop(db);
    (rec, r.err())
}

/// A device holding the scenario's base image that loses power at crash point `n`.
fn device(sc: &Scenario, n: u64) -> Arc<PowerLossDevice> {
    let dev = Arc::new(PowerLossDevice::from_bytes(sc.base.clone()));
    dev.set_crash_after(n);
    dev
}

/// Opens `image`, checks its state is allowed, and that the database keeps working.
/// Returns the recovered state.
fn verify_image(image: Vec<u8>, opts: &Options, rec: &Recorder, ctx: &str) -> State {
    let dev = Arc::new(MemoryDevice::from_bytes(image));
    let db =
        common::open_timeout(dev.clone(), opts.clone(), ctx).unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    let report = db.check().unwrap_or_else(|e| panic!("{ctx}: check() failed: {e}"));
    assert!(report.is_ok(), "{ctx}: check() found damage: {report:?}");
    let got = dump(&db).unwrap_or_else(|e| panic!("{ctx}: reading the recovered database failed: {e}"));
    let allowed = rec.allowed();
    if !allowed.iter().any(|(_, s)| **s == got) {
        let list: Vec<String> = allowed.iter().map(|(n, s)| format!("{n}: {}", describe(s))).collect();
        let nearest = rec.states.iter().position(|s| *s == got);
        panic!(
            "{ctx}: recovered state {} is not allowed (acked {} commits, durable floor #{}, failed at {:?}; \
             equals commit #{nearest:?}). Allowed:\n  {}",
            describe(&got),
            rec.acked(),
            rec.floor,
            rec.failed_at,
            list.join("\n  ")
        );
    }
    // The recovered database keeps working: write, commit, check, reopen.
    let tx = db.begin_write().unwrap_or_else(|e| panic!("{ctx}: begin_write after recovery: {e}"));
    tx.open_table("after").unwrap().insert(b"k", &value(99, 3000)).unwrap();
    tx.commit().unwrap_or_else(|e| panic!("{ctx}: commit after recovery: {e}"));
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{ctx}: check() after a post-recovery commit: {report:?}");
    drop(db);
    let db = common::open_timeout(MemoryDevice::from_bytes(dev.to_bytes()), opts.clone(), ctx)
        .unwrap_or_else(|e| panic!("{ctx}: second reopen failed: {e}"));
    let mut want = got.clone();
    want.entry("after".into()).or_default().insert(b"k".to_vec(), value(99, 3000));
    let again = dump(&db).unwrap_or_else(|e| panic!("{ctx}: second reopen read: {e}"));
    assert!(again == want, "{ctx}: post-recovery commit lost on reopen: {} vs {}", describe(&again), describe(&want));
    got
}

fn modes(seeds: usize) -> Vec<CrashMode> {
    let mut m = vec![CrashMode::DropAll, CrashMode::KeepAll];
    m.extend((0..seeds as u64).map(|s| CrashMode::Torn { seed: s * 7919 + 1 }));
    m
}

/// Crash points of an uncrashed run (and a check that it ends in the right state).
fn total_ops(sc: &Scenario) -> u64 {
    let dev = device(sc, u64::MAX);
    let (rec, err) = run_workload(sc, dev.clone());
    assert!(err.is_none(), "{}: uncrashed workload failed at {:?}: {err:?}", sc.name, rec.failed_at);
    let db = Database::open_device(MemoryDevice::from_bytes(dev.crash(CrashMode::DropAll)), sc.opts.clone()).unwrap();
    assert!(dump(&db).unwrap() == rec.model, "{}: clean run: final state differs", sc.name);
    dev.ops()
}

#[test]
fn workload_checkpoints_and_is_consistent_uncrashed() {
    for sc in [main_scenario(), log_chain_scenario()] {
        let dev = device(&sc, u64::MAX);
        let db = Database::open_device(dev.clone(), sc.opts.clone()).unwrap();
        let mut rec = Recorder::new();
        rec.model = sc.base_state.clone();
        (sc.run)(&db, &mut rec).unwrap();
        let st = db.stats();
        assert!(st.checkpoints >= 1, "{}: the workload should checkpoint: {st:?}", sc.name);
        assert!(st.log_bytes_written > 0, "{}: the workload should use the log: {st:?}", sc.name);
        common::assert_check(&db, sc.name);
        assert!(dump(&db).unwrap() == rec.model);
        // The log-chain workload must actually chain regions: the file grows past its
        // initial log region while most commits go through the log.
        if sc.name == "log chain" {
            assert!(st.log_bytes_written > 64 * 1024, "{}: log not exercised: {st:?}", sc.name);
        }
    }
}

/// Every crash point of the workload (a stride below scale 1), every crash mode.
fn sweep(sc: &Scenario) {
    let total = total_ops(sc);
    let seeds = scaled(4);
    let stride = (1.0 / common::scale()).ceil().max(1.0) as u64;
    let start = Instant::now();
    let mut checked = 0;
    let mut n = 0;
    while n < total {
        let dev = device(sc, n);
        let (rec, err) = run_workload(sc, dev.clone());
        assert!(err.is_some() && dev.crashed(), "{}: crash point {n}: the power cut went unnoticed", sc.name);
        for mode in modes(seeds) {
            let ctx = format!("{}: crash point {n}/{total}, {mode:?}", sc.name);
            verify_image(dev.crash(mode), &sc.opts, &rec, &ctx);
            checked += 1;
        }
        n += stride;
    }
    eprintln!("{}: {total} crash points, {checked} images in {:?}", sc.name, start.elapsed());
}

#[test]
fn crash_at_every_point() {
    sweep(&main_scenario());
}

#[test]
fn crash_at_every_point_log_chain() {
    sweep(&log_chain_scenario());
}

/// A crash during recovery (replay + checkpoint) must recover to the same state again.
fn recovery_sweep(sc: &Scenario, points: usize) {
    let total = total_ops(sc);
    let start = Instant::now();
    let points = scaled(points) as u64;
    let mut images = 0;
    for p in 0..points {
        let n = (p * total) / points + p % 3;
        if n >= total {
            continue;
        }
        let dev = device(sc, n);
        let (rec, _) = run_workload(sc, dev.clone());
        for mode in [CrashMode::DropAll, CrashMode::KeepAll, CrashMode::Torn { seed: n }] {
            let image = dev.crash(mode);
            // Recover once without crashing: opening writes nothing (the log is replayed in
            // memory); the first commit after it (through a checkpoint if the log's tail was
            // torn) and a checkpoint are where recovery's writes happen now.
            let clean = Arc::new(PowerLossDevice::from_bytes(image.clone()));
            let db = Database::open_device(clean.clone(), sc.opts.clone())
                .unwrap_or_else(|e| panic!("{}: crash point {n} {mode:?}: recovery failed: {e}", sc.name));
            let first = dump(&db).unwrap();
            // (An image of a creation in progress is created afresh: that writes.)
            let existing = image.len() >= 64 && &image[..8] == b"TESSERA\0" && image[20] & 1 == 0;
            if existing {
                assert_eq!(clean.ops(), 0, "{}: crash point {n} {mode:?}: opening wrote to the device", sc.name);
            }
            assert!(
                rec.allowed().iter().any(|(_, s)| **s == first),
                "{}: crash point {n} {mode:?}: bad state",
                sc.name
            );
            let after_work = |db: &Database| -> Result<()> {
                let tx = db.begin_write()?;
                tx.open_table("recovered").unwrap().insert(b"k", b"v")?;
                tx.commit()?;
                db.checkpoint()
            };
            after_work(&db).unwrap();
            drop(db);
            let mut second = first.clone();
            second.entry("recovered".into()).or_default().insert(b"k".to_vec(), b"v".to_vec());
            // A crash now may keep the recovered state or the commit made after it.
            let after = Recorder { states: vec![first.clone()], in_flight: Some(second.clone()), ..Recorder::new() };
            let rec_ops = clean.ops();
            for m in 0..rec_ops {
                let dev2 = Arc::new(PowerLossDevice::from_bytes(image.clone()));
                dev2.set_crash_after(m);
                let ctx = format!("{}: crash point {n} {mode:?}, then a crash {m}/{rec_ops} after recovery", sc.name);
                let r = common::open_timeout(dev2.clone(), sc.opts.clone(), &ctx).and_then(|db| after_work(&db));
                assert!(r.is_err(), "{ctx}: the first commit succeeded although the power went out");
                for mode2 in [CrashMode::DropAll, CrashMode::KeepAll, CrashMode::Torn { seed: m + 1 }] {
                    let ctx = format!("{ctx} {mode2:?}");
                    let got = verify_image(dev2.crash(mode2), &sc.opts, &after, &ctx);
                    assert!(
                        got == first || got == second,
                        "{ctx}: a crash after recovery changed the recovered state: {} instead of {} (commit #{:?})",
                        describe(&got),
                        describe(&first),
                        rec.states.iter().position(|s| *s == got)
                    );
                    images += 1;
                }
            }
        }
    }
    assert!(images > 0, "{}: no crash after recovery was tried", sc.name);
    eprintln!("{} recovery crashes: {images} images in {:?}", sc.name, start.elapsed());
}

#[test]
fn crash_during_recovery() {
    recovery_sweep(&main_scenario(), 24);
}

#[test]
fn crash_during_recovery_log_chain() {
    recovery_sweep(&log_chain_scenario(), 6);
}

/// A crash while a new database is being created leaves a device that opens as a new,
/// empty, working database.
#[test]
fn crash_during_creation() {
    let opts = small_options();
    let clean = PowerLossDevice::new();
    drop(Database::open_device(Arc::new(clean), opts.clone()).unwrap());
    let probe = Arc::new(PowerLossDevice::new());
    drop(Database::open_device(probe.clone(), opts.clone()).unwrap());
    let create_ops = probe.ops();
    assert!(create_ops >= 2);
    for k in 0..=create_ops {
        let dev = Arc::new(PowerLossDevice::with_crash_after(k));
        let r = Database::open_device(dev.clone(), opts.clone());
        assert_eq!(r.is_ok(), k >= create_ops, "crash at creation op {k}: open result {:?}", r.as_ref().err());
        drop(r);
        for mode in modes(scaled(6)) {
            let ctx = format!("creation crash {k}/{create_ops} {mode:?}");
            let img = dev.crash(mode);
            let db = Database::open_device(MemoryDevice::from_bytes(img), opts.clone())
                .unwrap_or_else(|e| panic!("{ctx}: open after the crash failed: {e}"));
            let st = dump(&db).unwrap();
            assert!(st.is_empty(), "{ctx}: not empty: {}", describe(&st));
            common::assert_check(&db, &ctx);
            let tx = db.begin_write().unwrap();
            tx.open_table("t").unwrap().insert(b"k", b"v").unwrap();
            tx.commit().unwrap();
            let want: State = BTreeMap::from([("t".to_string(), BTreeMap::from([(b"k".to_vec(), b"v".to_vec())]))]);
            assert!(dump(&db).unwrap() == want, "{ctx}");
        }
    }
}

/// Repeated crash → recover → work → crash cycles on one evolving image (each cycle starts
/// from the previous crash image), with a shifting crash point.
#[test]
fn repeated_crash_cycles() {
    let opts = Options { page_size: 4096, cache_size: 16 * 4096, max_log_size: 16 * 1024, ..Options::default() };
    let mut image: Vec<u8> = Vec::new();
    let mut state = State::new();
    let cycles = scaled(40);
    let mut rng = common::Rng(42);
    for cycle in 0..cycles {
        let dev = Arc::new(PowerLossDevice::from_bytes(image.clone()));
        dev.set_crash_after(20 + rng.below(150));
        let mut states = vec![state.clone()];
        let mut in_flight: Option<State> = None;
        let mut floor = 0;
        let r: Result<()> = (|| {
            let db = Database::open_device(dev.clone(), opts.clone())?;
            let got = dump(&db)?;
            assert!(got == state, "cycle {cycle}: recovered {} want {}", describe(&got), describe(&state));
            let mut model = state.clone();
            for t in 0..20u64 {
                let mut tx = db.begin_write()?;
                let durable = t % 4 != 3;
                if !durable {
                    tx.set_durability(Durability::None);
                }
                {
                    let name = ["x", "y"][(t % 2) as usize];
                    let mut tb = tx.open_table(name)?;
                    let m = model.entry(name.into()).or_default();
                    for i in 0..(5 + rng.below(40)) {
                        let k = format!("{:04}", rng.below(400)).into_bytes();
                        if rng.below(4) == 0 {
                            tb.remove(&k)?;
                            m.remove(&k);
                        } else {
                            let v = value(cycle as u64 * 1000 + t * 50 + i, rng.below(700) as usize);
                            tb.insert(&k, &v)?;
                            m.insert(k, v);
                        }
                    }
                }
                in_flight = Some(model.clone());
                tx.commit()?;
                in_flight = None;
                states.push(model.clone());
                if durable {
                    floor = states.len() - 1;
                }
            }
            Ok(())
        })();
        let _ = r;
        let mode = match cycle % 3 {
            0 => CrashMode::DropAll,
            1 => CrashMode::KeepAll,
            _ => CrashMode::Torn { seed: cycle as u64 },
        };
        image = dev.crash(mode);
        let db = Database::open_device(MemoryDevice::from_bytes(image.clone()), opts.clone())
            .unwrap_or_else(|e| panic!("cycle {cycle}: reopen failed: {e}"));
        common::assert_check(&db, &format!("cycle {cycle}"));
        let got = dump(&db).unwrap();
        let ok = states[floor..].contains(&got) || in_flight.as_ref() == Some(&got);
        assert!(
            ok,
            "cycle {cycle} ({mode:?}): recovered {} not allowed (floor {floor} of {} acked; equals #{:?})",
            describe(&got),
            states.len() - 1,
            states.iter().position(|s| *s == got)
        );
        state = got;
    }
}

/// Minimal reproduction: durable commits that live in a chained log region (past the commit
/// slot's `page_count`) must survive a crash during the recovery that replays them. Recovery
/// allocates pages from `page_count` on, i.e. over the chained regions, and writes them
/// before the new commit slot is durable.
#[test]
fn recovery_crash_keeps_chained_log_commits() {
    let create = Options { page_size: 4096, cache_size: 16 * 4096, max_log_size: 16 * 1024, ..Options::default() };
    let run = Options { page_size: 4096, cache_size: 8 << 20, max_log_size: 256 * 1024, ..Options::default() };
    let base = {
        let dev = Arc::new(MemoryDevice::new());
        drop(Database::open_device(dev.clone(), create).unwrap());
        dev.to_bytes()
    };
    // 12 durable commits of ~3 KB frames: more than the 16 KiB initial log region holds.
    let dev = Arc::new(PowerLossDevice::from_bytes(base));
    let db = Database::open_device(dev.clone(), run.clone()).unwrap();
    let checkpoints_at_open = db.stats().checkpoints;
    let mut want = BTreeMap::new();
    for c in 0..12u32 {
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("t").unwrap();
            for i in 0..10 {
                let k = key(c * 10 + i);
                t.insert(&k, &[c as u8; 300]).unwrap();
                want.insert(k, vec![c as u8; 300]);
            }
        }
        tx.commit().unwrap();
    }
    assert_eq!(db.stats().checkpoints, checkpoints_at_open, "the commits must stay in the chained log");
    drop(db);
    let image = dev.crash(CrashMode::DropAll);
    let want: State = BTreeMap::from([("t".to_string(), want)]);
    // Recovery alone is fine, and writes nothing (the log is replayed in memory).
    let probe = Arc::new(PowerLossDevice::from_bytes(image.clone()));
    let db = Database::open_device(probe.clone(), run.clone()).unwrap();
    assert!(dump(&db).unwrap() == want);
    assert_eq!(probe.ops(), 0, "opening wrote to the device");
    // The first checkpoint after it folds the chained log into the trees and frees the
    // regions the log continued into.
    db.checkpoint().unwrap();
    drop(db);
    assert!(probe.ops() > 4);
    // A crash at any point of that checkpoint must not lose any of the 12 commits.
    let mut problems = Vec::new();
    for m in 0..probe.ops() {
        let dev2 = Arc::new(PowerLossDevice::from_bytes(image.clone()));
        dev2.set_crash_after(m);
        let ctx = format!("crash at op {m}/{} of the checkpoint after recovery", probe.ops());
        let r = common::open_timeout(dev2.clone(), run.clone(), &ctx).and_then(|db| db.checkpoint());
        assert!(r.is_err());
        for mode in [CrashMode::KeepAll, CrashMode::DropAll] {
            let db = Database::open_device(MemoryDevice::from_bytes(dev2.crash(mode)), run.clone()).unwrap();
            let got = dump(&db).unwrap();
            if got != want {
                let n = got.get("t").map_or(0, |m| m.len());
                problems.push(format!("{ctx} {mode:?}: {n} of 120 entries survive"));
            }
        }
    }
    assert!(problems.is_empty(), "acknowledged commits lost:\n  {}", problems.join("\n  "));
}

/// Two non-durable commits, then a power cut that tears the first one's frame but keeps the
/// second's (any subset of unsynced sectors may survive). Recovery rightly drops both. The
/// next commit must not bring the second one back: its frame still sits in the log with the
/// same checkpoint sequence and the next transaction id, right after the new frame.
#[test]
fn torn_log_does_not_resurrect_later_frames() {
    let opts = Options { page_size: 4096, ..Options::default() };
    let base = {
        let dev = Arc::new(MemoryDevice::new());
        let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table("t").unwrap().insert(b"a", b"durable").unwrap();
        tx.commit().unwrap();
        db.checkpoint().unwrap();
        drop(db);
        dev.to_bytes()
    };
    let a: State = BTreeMap::from([("t".to_string(), BTreeMap::from([(b"a".to_vec(), b"durable".to_vec())]))]);
    let dev = Arc::new(PowerLossDevice::from_bytes(base));
    let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
    for k in [&b"k1"[..], b"k2"] {
        let mut tx = db.begin_write().unwrap();
        tx.set_durability(Durability::None);
        tx.open_table("t").unwrap().insert(k, b"non-durable").unwrap();
        tx.commit().unwrap();
    }
    let mut tried = 0;
    let mut problems = Vec::new();
    for seed in 0..scaled(64) as u64 {
        let image = dev.crash(CrashMode::Torn { seed });
        let dev2 = Arc::new(MemoryDevice::from_bytes(image));
        let db2 = Database::open_device(dev2.clone(), opts.clone()).unwrap();
        let got = dump(&db2).unwrap();
        if got != a {
            continue; // the first frame survived: not the case under test
        }
        tried += 1;
        let tx = db2.begin_write().unwrap();
        tx.open_table("t").unwrap().insert(b"k3", b"after the crash").unwrap();
        tx.commit().unwrap();
        drop(db2);
        let db3 = Database::open_device(MemoryDevice::from_bytes(dev2.to_bytes()), opts.clone()).unwrap();
        let got = dump(&db3).unwrap();
        let mut want = a.clone();
        want.get_mut("t").unwrap().insert(b"k3".to_vec(), b"after the crash".to_vec());
        if got != want {
            let keys: Vec<String> = got["t"].keys().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
            problems.push(format!("seed {seed}: reopened with keys {keys:?}, want [a, k3]"));
        }
    }
    std::mem::forget(db); // no drop-time sync of the pre-crash handle
    assert!(tried > 0, "no seed tore the first frame");
    assert!(
        problems.is_empty(),
        "{} of {tried} torn images resurrect a lost commit:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
