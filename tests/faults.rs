//! I/O failures at every operation (`FailingDevice`), and on-disk corruption (a byte flipped in
//! every page). Errors must surface as `Err`, never as a panic, a hang or silently wrong data.
//! Scaled by `TESSERA_TEST_SCALE`.

mod common;

use common::workload::{key, log_chain_scenario, main_scenario, Recorder, Scenario};
use common::{describe, dump, open_timeout, scale, value, State};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;
use tessera::device::FailingDevice;
use tessera::{BlockDevice, Database, Durability, Error, MemoryDevice, Options};

fn options() -> Options {
    Options { page_size: 4096, cache_size: 16 * 4096, max_log_size: 16 * 1024, ..Options::default() }
}

fn is_io_or_poisoned(e: &Error) -> bool {
    matches!(e, Error::Io { .. } | Error::Poisoned)
}

/// Every operation (read, write, sync, set_len) of the workload fails in turn.
fn failure_sweep(sc: &Scenario) {
    let probe = Arc::new(FailingDevice::new(MemoryDevice::from_bytes(sc.base.clone()), u64::MAX));
    {
        let db = Database::open_device(probe.clone(), sc.opts.clone()).unwrap();
        let mut rec = Recorder::new();
        rec.model = sc.base_state.clone();
        (sc.run)(&db, &mut rec).unwrap();
    }
    let total = probe.ops();
    // About 400 failure points at scale 1, spread over the whole workload.
    let stride = ((total as f64 / (400.0 * scale())).ceil() as u64).max(1);
    let start = Instant::now();
    let mut n = 0;
    let mut points = 0;
    let mut problems = Vec::new();
    while n < total {
        let ctx = format!("{}: failure at op {n}/{total}", sc.name);
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| one_failure_point(sc, n, &ctx))) {
            problems.push(panic_message(p));
        }
        points += 1;
        n += stride;
    }
    eprintln!("{}: {points} of {total} failure points in {:?}", sc.name, start.elapsed());
    report(&problems, points);
}

#[test]
fn failing_device_at_every_op() {
    failure_sweep(&main_scenario());
}

#[test]
fn failing_device_at_every_op_log_chain() {
    failure_sweep(&log_chain_scenario());
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

/// Fails the test listing the problems found (the first few in full).
fn report(problems: &[String], total: usize) {
    if !problems.is_empty() {
        let shown: Vec<&str> = problems.iter().take(8).map(|s| s.as_str()).collect();
        panic!("{} of {total} cases failed; the first:\n  {}", problems.len(), shown.join("\n  "));
    }
}

fn one_failure_point(sc: &Scenario, n: u64, ctx: &str) {
    let opts = &sc.opts;
    let dev = Arc::new(FailingDevice::new(MemoryDevice::from_bytes(sc.base.clone()), n));
    let mut rec = Recorder::new();
    rec.states[0] = sc.base_state.clone();
    rec.model = sc.base_state.clone();
    let db = match open_timeout(dev.clone(), opts.clone(), ctx) {
        Ok(db) => db,
        Err(e) => {
            assert!(is_io_or_poisoned(&e), "{ctx}: open failed with {e:?}, expected an I/O error");
            // Whatever the failed open left behind opens to the starting state.
            let db = open_timeout(MemoryDevice::from_bytes(dev.inner().to_bytes()), opts.clone(), ctx)
                .unwrap_or_else(|e| panic!("{ctx}: reopen after a failed open: {e}"));
            assert!(dump(&db).unwrap() == sc.base_state, "{ctx}");
            return;
        }
    };
    let err = (sc.run)(&db, &mut rec).expect_err("the workload must hit the injected failure");
    assert!(is_io_or_poisoned(&err), "{ctx}: step {:?} failed with {err:?}, expected an I/O error", rec.failed_at);

    // Later operations fail too: the device is gone.
    match db.begin_write() {
        Ok(tx) => {
            let r = tx.open_table("later").and_then(|mut t| t.insert(b"k", b"v"));
            let r = r.and_then(|_| tx.commit());
            let e = r.expect_err("a commit after an I/O failure must fail");
            assert!(is_io_or_poisoned(&e), "{ctx}: later commit failed with {e:?}");
        }
        Err(e) => assert!(is_io_or_poisoned(&e), "{ctx}: later begin_write failed with {e:?}"),
    }
    let e = db.checkpoint().expect_err("a checkpoint after an I/O failure must fail");
    assert!(is_io_or_poisoned(&e), "{ctx}: later checkpoint failed with {e:?}");
    // Reads may still be served from the cache; what they return must be a real state.
    let allowed: Vec<&State> = [rec.states.last()].into_iter().flatten().chain(rec.in_flight.as_ref()).collect();
    match dump(&db) {
        Ok(s) => assert!(allowed.contains(&&s), "{ctx}: reads after the failure returned {}", describe(&s)),
        Err(e) => assert!(is_io_or_poisoned(&e), "{ctx}: reads after the failure failed with {e:?}"),
    }
    drop(db);

    // Nothing written was lost (the memory device keeps every write that was let through),
    // so reopening yields the last acknowledged commit, or the one in flight.
    let bytes = dev.inner().to_bytes();
    let db = open_timeout(MemoryDevice::from_bytes(bytes), opts.clone(), ctx)
        .unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    common::assert_check(&db, ctx);
    let got = dump(&db).unwrap_or_else(|e| panic!("{ctx}: reading the reopened database: {e}"));
    assert!(
        allowed.contains(&&got),
        "{ctx}: reopened state {} is neither the last acknowledged commit #{} ({}) nor the in-flight one \
         (failed at {:?}; equals commit #{:?})",
        describe(&got),
        rec.acked(),
        describe(rec.states.last().unwrap()),
        rec.failed_at,
        rec.states.iter().position(|s| *s == got)
    );
}

/// Options with room for a log: the commits of `image_with_log` stay in the log.
fn log_options() -> Options {
    Options { page_size: 4096, cache_size: 4 << 20, max_log_size: 1 << 20, ..Options::default() }
}

/// An image whose last commits are only in the log (recovery must replay them).
fn image_with_log(opts: &Options) -> (Vec<u8>, State) {
    let dev = Arc::new(MemoryDevice::new());
    let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
    let checkpoints_at_open = db.stats().checkpoints;
    let mut model = State::new();
    for round in 0..4u64 {
        let mut tx = db.begin_write().unwrap();
        if round == 3 {
            tx.set_durability(Durability::None);
        }
        {
            let mut t = tx.open_table("t").unwrap();
            let m = model.entry("t".into()).or_default();
            for i in 0..12 {
                let (k, v) = (key(round as u32 * 100 + i), value(round * 100 + i as u64, 150 + 40 * round as usize));
                t.insert(&k, &v).unwrap();
                m.insert(k, v);
            }
            let (k, v) = (b"big".to_vec(), value(round, 6000));
            t.insert(&k, &v).unwrap();
            m.insert(k, v);
        }
        tx.commit().unwrap();
    }
    assert!(db.stats().log_bytes_written > 0);
    assert_eq!(db.stats().checkpoints, checkpoints_at_open, "the image should need log replay");
    // Keep the bytes as they are now: the log holds all commits.
    let bytes = dev.to_bytes();
    std::mem::forget(db); // no drop-time sync/checkpoint: the image is as a crash would leave it
    (bytes, model)
}

/// I/O failures during recovery (the log read back and replayed in memory) and in the first
/// commit and checkpoint after it surface as errors: no panic, no hang; the image stays
/// recoverable, with or without that commit.
#[test]
fn failing_device_during_recovery() {
    let opts = log_options();
    let (image, model) = image_with_log(&opts);
    let mut after = model.clone();
    after.entry("t".into()).or_default().insert(b"after".to_vec(), b"recovery".to_vec());
    let work = |db: &Database| -> tessera::Result<()> {
        let tx = db.begin_write()?;
        tx.open_table("t")?.insert(b"after", b"recovery")?;
        tx.commit()?;
        db.checkpoint()
    };
    let probe = Arc::new(FailingDevice::new(MemoryDevice::from_bytes(image.clone()), u64::MAX));
    let db = Database::open_device(probe.clone(), opts.clone()).unwrap();
    let opened = probe.ops();
    work(&db).unwrap();
    drop(db);
    let total = probe.ops();
    assert!(opened >= 3 && total > opened + 5, "{opened} ops to open, {total} in all");
    for n in 0..total {
        let ctx = format!("failure at op {n}/{total} (open takes {opened})");
        let dev = Arc::new(FailingDevice::new(MemoryDevice::from_bytes(image.clone()), n));
        let r = open_timeout(dev.clone(), opts.clone(), &ctx).and_then(|db| work(&db));
        let e = r.expect_err("something must fail");
        assert!(is_io_or_poisoned(&e), "{ctx}: {e:?}");
        let db = open_timeout(MemoryDevice::from_bytes(dev.inner().to_bytes()), opts.clone(), &ctx)
            .unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
        common::assert_check(&db, &ctx);
        let got = dump(&db).unwrap();
        assert!(got == model || got == after, "{ctx}: got {} want {}", describe(&got), describe(&model));
    }
}

/// What opening and reading a damaged image produced.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Outcome {
    OpenFailed,
    ReadFailed,
    CheckFailed,
    /// Opened and read without complaint: the exact expected state.
    Intact,
}

/// Open, read and check a damaged image. Reads that succeed must return exactly `want` (an
/// older committed state is as wrong as garbage: damage that loses commits must be reported);
/// anything else is reported through a panic.
fn judge(image: Vec<u8>, opts: &Options, want: &State, ctx: &str) -> Outcome {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let db = match open_timeout(MemoryDevice::from_bytes(image), opts.clone(), ctx) {
            Ok(db) => db,
            Err(e) => {
                assert!(
                    matches!(e, Error::Corrupted { .. } | Error::NotADatabase(_) | Error::UnsupportedVersion(_)),
                    "{ctx}: open failed with {e:?}; expected Corrupted/NotADatabase"
                );
                return Outcome::OpenFailed;
            }
        };
        let state = match dump(&db) {
            Ok(s) => s,
            Err(e) => {
                assert!(matches!(e, Error::Corrupted { .. }), "{ctx}: reading failed with {e:?}; expected Corrupted");
                return Outcome::ReadFailed;
            }
        };
        let report = db.check();
        // Reads that returned without an error must be right, whatever check says.
        assert!(
            state == *want,
            "{ctx}: reads silently returned wrong data: {} (expected {}); check says {report:?}",
            describe(&state),
            describe(want)
        );
        match report {
            Ok(r) if !r.is_ok() => Outcome::CheckFailed,
            Err(e) => {
                assert!(matches!(e, Error::Corrupted { .. }), "{ctx}: check failed with {e:?}");
                Outcome::CheckFailed
            }
            Ok(_) => Outcome::Intact,
        }
    }));
    match r {
        Ok(o) => o,
        Err(p) => {
            let msg = panic_message(p);
            if msg.starts_with(ctx) {
                panic!("{msg}")
            }
            panic!("{ctx}: engine panicked: {msg}")
        }
    }
}

/// A multi-level database, fully checkpointed; returns the image and the committed history
/// (newest first).
fn checkpointed_image(opts: &Options) -> (Vec<u8>, Vec<State>) {
    let dev = Arc::new(MemoryDevice::new());
    let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
    let mut model = State::new();
    let mut history = vec![State::new()];
    for round in 0..6u64 {
        let tx = db.begin_write().unwrap();
        for name in ["alpha", "beta"] {
            let mut t = tx.open_table(name).unwrap();
            let m = model.entry(name.into()).or_default();
            for i in 0..150u64 {
                let k = format!("{name}/{:05}/{}", i * 7 + round, "s".repeat((i % 13) as usize)).into_bytes();
                let v = value(round * 1000 + i, if i % 50 == 7 { 9000 } else { (i as usize * 13) % 300 });
                t.insert(&k, &v).unwrap();
                m.insert(k, v);
            }
        }
        tx.commit().unwrap();
        history.push(model.clone());
        if round % 2 == 1 {
            db.checkpoint().unwrap();
        }
    }
    db.checkpoint().unwrap();
    drop(db);
    history.reverse();
    (dev.to_bytes(), history)
}

/// Offsets within page 0 worth damaging: header fields, both commit slots, unused space.
fn page0_offsets() -> Vec<usize> {
    let mut v = vec![0, 3, 7, 8, 12, 13, 16, 20, 40, 63, 100, 511, 2000, 4095];
    for slot in [512, 1024] {
        v.extend([
            slot,
            slot + 4,
            slot + 8,
            slot + 16,
            slot + 24,
            slot + 32,
            slot + 40,
            slot + 48,
            slot + 56,
            slot + 100,
        ]);
    }
    v
}

/// Flips bytes in every page of `image`, whose state is `want`.
fn flip_sweep(image: &[u8], want: &State, opts: &Options, label: &str) {
    let ps = opts.page_size;
    let pages = image.len() / ps;
    let per_page = ((3.0 * scale()).round() as usize).max(1);
    let mut rng = common::Rng(7);
    let mut tally = std::collections::BTreeMap::<Outcome, usize>::new();
    let mut problems = Vec::new();
    let mut cases = 0;
    let start = Instant::now();
    for p in 0..pages {
        let offsets: Vec<usize> = if p == 0 {
            page0_offsets()
        } else {
            // The page header (kind, count, checksum, id, ...) and random spots in the body.
            let mut v = vec![rng.below(32) as usize];
            v.extend((1..per_page).map(|_| rng.below(ps as u64) as usize));
            v
        };
        for off in offsets {
            let mut img = image.to_vec();
            let at = p * ps + off;
            img[at] ^= 1 << rng.below(8);
            let ctx = format!("{label}: byte {off} of page {p}/{pages} flipped");
            match catch_unwind(AssertUnwindSafe(|| judge(img, opts, want, &ctx))) {
                Ok(o) => *tally.entry(o).or_default() += 1,
                Err(p) => problems.push(panic_message(p)),
            }
            cases += 1;
        }
    }
    eprintln!("{label}: {pages} pages, outcomes {tally:?} in {:?}", start.elapsed());
    report(&problems, cases);
}

/// A flipped byte anywhere in a checkpointed file is detected or harmless.
#[test]
fn corruption_byte_flips_checkpointed() {
    let opts = options();
    let (image, history) = checkpointed_image(&opts);
    flip_sweep(&image, &history[0], &opts, "checkpointed");
}

/// The same with commits still in the log: a damaged frame is reported (open fails), never
/// read as an older state.
#[test]
fn corruption_byte_flips_with_log() {
    let opts = log_options();
    let (image, model) = image_with_log(&opts);
    flip_sweep(&image, &model, &opts, "with log");
}

/// A database whose first bytes were zeroed (e.g. a damaged first sector) is not mistaken for
/// a new, empty device: opening it must fail instead of silently starting over (and wiping it).
#[test]
fn zeroed_header_is_not_a_new_database() {
    let opts = options();
    let (image, history) = checkpointed_image(&opts);
    zeroed_header(&image, &history[0], &opts);
    // A database that has been checkpointed exactly once: its older commit slot is still the
    // one `create` wrote (sequence 1, no tables).
    let dev = Arc::new(MemoryDevice::new());
    let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
    let tx = db.begin_write().unwrap();
    tx.open_table("t").unwrap().insert(b"precious", b"data").unwrap();
    tx.commit().unwrap();
    db.checkpoint().unwrap();
    let state = dump(&db).unwrap();
    drop(db);
    zeroed_header(&dev.to_bytes(), &state, &opts);
}

fn zeroed_header(image: &[u8], want: &State, opts: &Options) {
    for zero in [8usize, 64, 512] {
        let mut img = image.to_vec();
        img[..zero].fill(0);
        let dev = Arc::new(MemoryDevice::from_bytes(img));
        let r = open_timeout(dev.clone(), opts.clone(), "zeroed header");
        let len_after = dev.len().unwrap();
        match r {
            Err(e) => assert!(matches!(e, Error::NotADatabase(_) | Error::Corrupted { .. }), "{e:?}"),
            Ok(db) => {
                let s = dump(&db).unwrap();
                assert!(
                    s == *want,
                    "first {zero} bytes zeroed: the database opened as {} (file now {len_after} bytes, was {}): \
                     an existing database was treated as a new device and overwritten",
                    describe(&s),
                    image.len()
                );
            }
        }
    }
}

/// Truncated files: open fails cleanly or the data is intact; never a panic.
#[test]
fn truncated_files() {
    let opts = options();
    let (image, history) = checkpointed_image(&opts);
    let ps = opts.page_size;
    let needed = {
        let db = Database::open_device(MemoryDevice::from_bytes(image.clone()), opts.clone()).unwrap();
        db.stats().page_count as usize * ps
    };
    // (Files shorter than 64 bytes are covered by `short_files_are_not_new_databases`.)
    let mut cuts: Vec<usize> = (1..image.len() / ps).map(|p| p * ps).collect();
    cuts.extend([64, 65, 600, 1100, 4095, image.len() - 1]);
    let mut problems = Vec::new();
    let total = cuts.len();
    for cut in cuts {
        let ctx = format!("truncated to {cut} of {} bytes", image.len());
        let r = catch_unwind(AssertUnwindSafe(|| {
            let o = judge(image[..cut].to_vec(), &opts, &history[0], &ctx);
            // A file cut short of what the commit slot needs must not open as if intact.
            if cut < needed {
                assert_ne!(o, Outcome::Intact, "{ctx}: opened as intact");
            }
        }));
        if let Err(p) = r {
            problems.push(panic_message(p));
        }
    }
    report(&problems, total);
}

/// A short file that is not a database (or a database cut to under 64 bytes) is not a new,
/// empty device either: opening it must fail rather than overwrite it.
#[test]
fn short_files_are_not_new_databases() {
    let opts = options();
    for content in [&b"hello, this is not a database\n"[..], &[0xFFu8; 63][..], &b"TESSERA\0"[..]] {
        let dev = Arc::new(MemoryDevice::from_bytes(content.to_vec()));
        let r = open_timeout(dev.clone(), opts.clone(), "short file");
        let after = dev.to_bytes();
        assert!(
            matches!(r, Err(Error::NotADatabase(_)) | Err(Error::Corrupted { .. })),
            "a {}-byte non-database file opened as {:?}; its bytes are now {} bytes long, {}",
            content.len(),
            r.as_ref().map(|_| "a new database"),
            after.len(),
            if after.starts_with(content) { "prefix intact" } else { "overwritten" }
        );
    }
}

/// An I/O error in the checkpoint a commit goes through (here the second commit's writes
/// outgrow half the cache, so the committed deltas are folded and checkpointed) must never
/// show readers wrong data: while the device fails they see the old or new state or get an
/// I/O error; once it works again, the state `commit` reported; reopened, old or new.
#[test]
fn failed_checkpoint_commit_never_shows_wrong_data() {
    let opts = Options { page_size: 4096, cache_size: 16 * 4096, ..Options::default() };
    let dev = Arc::new(FailingDevice::new(MemoryDevice::new(), u64::MAX));
    let db = Database::open_device(dev.clone(), opts.clone()).unwrap();
    let mut old = State::new();
    let mut new = State::new();
    for (round, prefix) in ["a", "b"].into_iter().enumerate() {
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("t").unwrap();
            for i in 0..100u32 {
                let k = format!("{prefix}{i:04}").into_bytes();
                t.insert(&k, &[7u8; 200]).unwrap();
                new.entry("t".into()).or_default().insert(k, vec![7u8; 200]);
            }
        }
        if round == 0 {
            tx.commit().unwrap();
            old = new.clone();
        } else {
            // The first two page writes succeed; the rest of the checkpoint fails.
            dev.set_fail_after(dev.ops() + 2);
            let r = tx.commit();
            assert!(matches!(r, Err(Error::Io { .. })), "commit returned {r:?}");
            assert!(matches!(db.begin_write().map(drop), Err(Error::Poisoned)));
        }
    }
    let got = dump(&db);
    assert!(
        matches!(&got, Ok(s) if *s == old) || matches!(&got, Err(Error::Io { .. })),
        "after a failed checkpoint, reads return {:?}",
        got.map(|s| describe(&s))
    );
    dev.set_fail_after(u64::MAX);
    let got = dump(&db);
    assert!(
        matches!(&got, Ok(s) if *s == old),
        "after a failed checkpoint, once the device works, reads return {:?}",
        got.map(|s| describe(&s))
    );
    drop(db);
    let db = Database::open_device(MemoryDevice::from_bytes(dev.inner().to_bytes()), opts).unwrap();
    let got = dump(&db).unwrap();
    assert!(got == new || got == old, "reopened: {}", describe(&got));
}
