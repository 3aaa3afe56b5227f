//! Long random histories of *sessions*: open, a few transactions of inserts and removes
//! (values from a few bytes to several pages, so overflow runs come and go), sometimes a
//! checkpoint or a compaction, close; reopen and compare every table with a model, and run
//! `check`. The free list grows and shrinks across many reopen cycles and spans several pages;
//! this is the history the crash sweeps and the proptest model (one session each) never reach.
//! Scaled by `TESSERA_TEST_SCALE`.

mod common;

use common::{describe, dump, scaled, Rng, State};
use std::sync::Arc;
use tessera::{Database, Durability, MemoryDevice, Options};

/// Value sizes: inline, near the inline limit, one-page and multi-page overflow runs.
const SIZES: [usize; 6] = [0, 10, 100, 1000, 2000, 6000];

fn key(rng: &mut Rng, space: u64) -> Vec<u8> {
    let k = rng.below(space);
    // Keys of varied length, so leaves hold varied counts.
    format!("k{k:07}{}", "x".repeat((k % 5) as usize * 7)).into_bytes()
}

fn session(db: &Database, model: &mut State, rng: &mut Rng, space: u64) {
    let txns = 1 + rng.below(4);
    for _ in 0..txns {
        let mut tx = db.begin_write().unwrap();
        if rng.below(4) == 0 {
            tx.set_durability(Durability::None);
        }
        let ops = 50 + rng.below(1500);
        // Grow or shrink phases: most sessions lean one way.
        let insert_pct = [85, 60, 25][rng.below(3) as usize];
        let mut staged = model.clone();
        for _ in 0..ops {
            let t = format!("t{}", rng.below(3));
            let k = key(rng, space);
            let mut table = tx.open_table(&t).unwrap();
            if rng.below(100) < insert_pct {
                let len = SIZES[rng.below(SIZES.len() as u64) as usize];
                let v = common::value(rng.next_u64(), len);
                table.insert(&k, &v).unwrap();
                staged.entry(t).or_default().insert(k, v);
            } else {
                let had = staged.entry(t).or_default().remove(&k).is_some();
                assert_eq!(table.remove(&k).unwrap(), had);
            }
        }
        if rng.below(10) == 0 {
            drop(tx); // abort
        } else {
            tx.commit().unwrap();
            *model = staged;
        }
    }
    match rng.below(8) {
        0 => db.checkpoint().unwrap(),
        1 => {
            db.compact().unwrap();
        }
        _ => {}
    }
}

/// Runs `sessions` sessions; returns the most pages the persisted free list spanned.
fn run(seed: u64, sessions: usize, opts: Options) -> u64 {
    let dev = Arc::new(MemoryDevice::new());
    let mut rng = Rng(seed);
    let mut model = State::new();
    let space = 20_000;
    let mut list_pages = 0;
    for s in 0..sessions {
        let ctx = format!("seed {seed}, session {s}");
        let db = Database::open_device(dev.clone(), opts.clone()).unwrap_or_else(|e| panic!("{ctx}: open: {e}"));
        let got = dump(&db).unwrap_or_else(|e| panic!("{ctx}: read after reopen: {e}"));
        let want: State = model.iter().filter(|(_, m)| !m.is_empty()).map(|(k, v)| (k.clone(), v.clone())).collect();
        let got: State = got.into_iter().filter(|(_, m)| !m.is_empty()).collect();
        assert!(got == want, "{ctx}: reopened state {} differs from the model {}", describe(&got), describe(&want));
        let report = db.check().unwrap_or_else(|e| panic!("{ctx}: check: {e}"));
        assert!(report.is_ok(), "{ctx}: check found damage: {report:?}");
        assert_eq!(report.leaked_pages, 0, "{ctx}: pages leaked: {report:?}");
        session(&db, &mut model, &mut rng, space);
        list_pages = list_pages.max(db.stats().free_list_pages);
        db.close().unwrap_or_else(|e| panic!("{ctx}: close: {e}"));
    }
    list_pages
}

/// Many sessions with a small cache and log: spills, checkpoints through commits, log
/// continuation regions and free lists of several pages all happen.
#[test]
fn many_sessions_small_cache() {
    let opts = Options { page_size: 4096, cache_size: 64 * 4096, max_log_size: 128 << 10, ..Options::default() };
    let mut list_pages = 0;
    for seed in 0..scaled(3) as u64 {
        list_pages = list_pages.max(run(seed, scaled(60), opts.clone()));
    }
    eprintln!("free list spanned up to {list_pages} pages");
    assert!(list_pages >= 2, "the histories never made a free list of several pages");
}

/// Free-list pages holding at most three runs: the list spans many pages and its length
/// changes at almost every checkpoint, so the cases where taking pages for the list changes
/// how many it needs come up all the time.
#[test]
fn many_sessions_tiny_free_list_pages() {
    let opts =
        Options { cache_size: 64 * 4096, max_log_size: 128 << 10, free_list_runs_per_page: 3, ..Options::default() };
    let mut list_pages = 0;
    for seed in 10..10 + scaled(2) as u64 {
        list_pages = list_pages.max(run(seed, scaled(30), opts.clone()));
    }
    eprintln!("free list spanned up to {list_pages} pages");
    assert!(list_pages >= 20, "the histories never made a long free list");
}

/// The default options: most commits stay in the log between sessions.
#[test]
fn many_sessions_default_options() {
    for seed in 100..100 + scaled(2) as u64 {
        let list_pages = run(seed, scaled(60), Options::default());
        eprintln!("seed {seed}: free list spanned up to {list_pages} pages");
    }
}
