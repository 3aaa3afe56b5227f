//! The fuzzed properties, shared by the cargo-fuzz targets and the tests that replay them
//! (`tests/fuzz_regress.rs` and `tests/fuzz_sql.rs` include this file):
//! - [`open_walk`]: any byte image, opened as a database, walked, checked and written to,
//!   yields `Result`s and never panics;
//! - [`sql_statements`]: any text, run as SQL statements on a small seeded database, yields
//!   `Result`s and never panics.
//!
//! Running (nightly and `cargo install cargo-fuzz`), from `fuzz/`:
//! ```text
//! cargo run --example write_seed                               # seeds corpus/open_walk
//! cargo +nightly fuzz run open_walk corpus/open_walk -- -max_len=131072
//! cargo +nightly fuzz run open_walk_patched -- -max_len=64
//! ```
//! `open_walk` takes raw images (checksums stop most mutations early); `open_walk_patched`
//! takes 4-byte patches for a built-in valid image and recomputes every checksum afterwards,
//! so the damage reaches the page, slot, free-list and log parsers.
//!
//! `sql_statements` starts from the checked-in seeds (`fuzz/seeds/sql_statements/`, one SQL
//! script a file; libFuzzer writes new inputs to the first directory only):
//! ```text
//! cargo +nightly fuzz run sql_statements corpus/sql_statements seeds/sql_statements -- -max_len=4096
//! ```
#![allow(dead_code)]

use std::ops::Bound;
use std::sync::OnceLock;
use tessera::{Database, MemoryDevice, Options};

/// Page size of the images built here.
pub const PAGE: usize = 4096;

/// Options the image is opened with: small cache and log, so a damaged image still gets
/// evictions, spills and checkpoints when written to.
pub fn options() -> Options {
    Options { page_size: PAGE, cache_size: 16 * PAGE, max_log_size: 16 * 1024, ..Options::default() }
}

/// Most entries visited per iteration (a damaged tree may look huge).
const MAX_STEPS: usize = 20_000;

/// Open `image` and exercise the read and write paths; every error is acceptable, a panic
/// is not.
pub fn open_walk(image: &[u8]) {
    let Ok(db) = Database::open_device(MemoryDevice::from_bytes(image.to_vec()), options()) else {
        return;
    };
    let _ = db.stats();
    let _ = db.recovery_report();
    let keys = walk(&db);
    let _ = db.check();
    // A small write transaction: insert, overwrite and remove keys seen, drop a table.
    if let Ok(tx) = db.begin_write() {
        let r = (|| -> tessera::Result<()> {
            let names = tx.list_tables()?;
            if let Some(name) = names.first() {
                let mut t = tx.open_table(name)?;
                for k in keys.iter().take(8) {
                    t.insert(k, b"fuzz")?;
                }
                for k in keys.iter().skip(8).take(8) {
                    t.remove(k)?;
                }
                let _ = t.len()?;
                let _ = t.first()?;
                let _ = t.last()?;
                for e in t.range::<&[u8], _>(..)?.take(50) {
                    e?;
                }
            }
            if let Some(name) = names.get(1) {
                tx.delete_table(name)?;
            }
            let mut t = tx.open_table("fuzz-new")?;
            for i in 0..40u32 {
                t.insert(&i.to_be_bytes(), &vec![i as u8; 300])?;
            }
            Ok(())
        })();
        if r.is_ok() {
            let _ = tx.commit();
        }
    }
    let _ = walk(&db);
    let _ = db.checkpoint();
    let _ = db.check();
}

/// Reads everything reachable; returns some keys seen.
fn walk(db: &Database) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    let Ok(rx) = db.begin_read() else { return keys };
    let Ok(names) = rx.list_tables() else { return keys };
    for name in names.iter().take(16) {
        let Ok(t) = rx.open_table(name) else { continue };
        let _ = t.len();
        let _ = t.is_empty();
        let _ = t.first();
        let _ = t.last();
        if let Ok(it) = t.iter() {
            for e in it.take(MAX_STEPS) {
                match e {
                    Ok((k, v)) => {
                        if keys.len() < 32 {
                            keys.push(k.to_vec());
                        }
                        let _ = v.len();
                    }
                    Err(_) => break,
                }
            }
        }
        if let Ok(it) = t.iter() {
            for e in it.rev().take(MAX_STEPS) {
                if e.is_err() {
                    break;
                }
            }
        }
        for k in keys.iter().take(8) {
            let _ = t.get(k);
            let r = t.range::<&[u8], _>((Bound::Excluded(&k[..]), Bound::Unbounded));
            if let Ok(mut it) = r {
                let _ = it.next();
                let _ = it.next_back();
                let _ = it.next();
            }
            let r = t.range::<&[u8], _>(..=&k[..]);
            if let Ok(it) = r {
                for e in it.rev().take(20) {
                    if e.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = t.get(b"");
        let _ = t.get(&[0xFF; 1024]);
    }
    let _ = rx.open_table("missing");
    keys
}

/// A small valid image: two tables, a multi-level tree, an overflow value, a free list, and
/// commits both checkpointed and still in the log.
pub fn base_image() -> &'static [u8] {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dev = std::sync::Arc::new(MemoryDevice::new());
        let db = Database::open_device(dev.clone(), options()).expect("create");
        let tx = db.begin_write().expect("write");
        {
            let mut t = tx.open_table("a").expect("table");
            for i in 0..400u32 {
                t.insert(format!("key{i:05}").as_bytes(), &vec![(i % 251) as u8; (i as usize * 7) % 120])
                    .expect("insert");
            }
            t.insert(b"big", &vec![7u8; 9000]).expect("insert");
            let mut t = tx.open_table("b").expect("table");
            t.insert(b"", b"empty key").expect("insert");
            t.insert(&[0xAB; 300], b"long key").expect("insert");
        }
        tx.commit().expect("commit");
        let tx = db.begin_write().expect("write");
        {
            let mut t = tx.open_table("a").expect("table");
            for i in (0..400u32).step_by(3) {
                t.remove(format!("key{i:05}").as_bytes()).expect("remove");
            }
        }
        tx.commit().expect("commit");
        db.checkpoint().expect("checkpoint");
        // Two commits that stay in the log.
        for round in 0..2u8 {
            let tx = db.begin_write().expect("write");
            tx.open_table("c").expect("table").insert(&[round], &[round; 50]).expect("insert");
            tx.commit().expect("commit");
        }
        let bytes = dev.to_bytes();
        std::mem::forget(db); // as a crash leaves it: the last commits only in the log
        bytes
    })
}

fn crc_skipping(b: &[u8], at: usize) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&b[..at]);
    h.update(&[0; 4]);
    h.update(&b[at + 4..]);
    h.finalize()
}

/// Recompute every checksum in `image` that a valid engine would have written: the file
/// header, both commit slots, tree and free-list pages (kinds 1, 2, 4), overflow runs, and
/// log frames in every page that starts with a frame header.
pub fn reseal(image: &mut [u8]) {
    if image.len() >= 64 {
        let c = crc_skipping(&image[..64], 16);
        image[16..20].copy_from_slice(&c.to_le_bytes());
    }
    for slot in [512usize, 1024] {
        if image.len() >= slot + 128 && image[slot..slot + 4] == *b"TSLT" {
            let c = crc_skipping(&image[slot..slot + 128], 4);
            image[slot + 4..slot + 8].copy_from_slice(&c.to_le_bytes());
        }
    }
    let pages = image.len() / PAGE;
    for p in 1..pages {
        let page = &mut image[p * PAGE..(p + 1) * PAGE];
        match page[0] {
            1 | 2 | 4 => {
                let c = crc_skipping(page, 4);
                page[4..8].copy_from_slice(&c.to_le_bytes());
            }
            3 => {
                let len = u64::from_le_bytes(page[16..24].try_into().expect("8 bytes")) as usize;
                let end = p * PAGE + 32 + len;
                if len < (1 << 24) && end <= image.len() {
                    let c = crc_skipping(&image[p * PAGE..end], 4);
                    image[p * PAGE + 4..p * PAGE + 8].copy_from_slice(&c.to_le_bytes());
                }
            }
            _ => {
                // Log frames start on sector boundaries: "TLOG", crc, txn, len, flags, seq.
                for s in (0..PAGE).step_by(512) {
                    let at = p * PAGE + s;
                    if image[at..at + 4] == *b"TLOG" {
                        let len = u32::from_le_bytes(image[at + 16..at + 20].try_into().expect("4")) as usize;
                        let end = at + 32 + len;
                        if end <= image.len() {
                            let c = crc_skipping(&image[at..end], 4);
                            image[at + 4..at + 8].copy_from_slice(&c.to_le_bytes());
                        }
                    }
                }
            }
        }
    }
}

/// Apply patches encoded in `data` to `base` and reseal the checksums. Each patch is 4
/// bytes: a 3-byte little-endian offset (modulo the image length) and a byte value, except
/// that a first byte of 0xFF means: truncate to the offset in the next 3 bytes.
pub fn patched(base: &[u8], data: &[u8]) -> Vec<u8> {
    let mut image = base.to_vec();
    for p in data.chunks_exact(4) {
        let off = (p[0] as usize | (p[1] as usize) << 8 | (p[2] as usize) << 16) % image.len().max(1);
        if p[0] == 0xFF && p[3] == 0xFF {
            image.truncate(off);
            if image.is_empty() {
                break;
            }
        } else if let Some(b) = image.get_mut(off) {
            *b = p[3];
        }
    }
    reseal(&mut image);
    image
}

/// The schema and rows every [`sql_statements`] run starts from: a rowid table with an
/// index, a WITHOUT ROWID table with a composite key and a UNIQUE column, and a view.
pub const SQL_SEED: &str = "
    CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL DEFAULT 1.5 CHECK (c > -1e9));
    CREATE INDEX t_b ON t(b DESC, c);
    CREATE TABLE u(x INTEGER, y TEXT UNIQUE, z BLOB, PRIMARY KEY(x, y)) WITHOUT ROWID;
    CREATE VIEW v AS SELECT a, b, x, z FROM t LEFT JOIN u ON t.a = u.x;
    INSERT INTO t(b, c) VALUES ('one', 1.0), ('two', 2.5), ('é中😀', NULL), (NULL, -3.0), ('two', 0.0);
    INSERT INTO u VALUES (1, 'a', x'00ff'), (2, 'b', NULL), (3, 'ß', x''), (5, 'e', zeroblob(3));
";

/// Most statements run from one input, and the most rows read from one query: enough to
/// reach every stage, small enough that statements which multiply rows
/// (`INSERT INTO t SELECT * FROM t, t`) stay fast.
const MAX_STATEMENTS: usize = 12;
const MAX_ROWS: usize = 2_000;

/// Run `data` (as UTF-8, lossily) as up to [`MAX_STATEMENTS`] `;`-separated statements on a
/// fresh in-memory database seeded with [`SQL_SEED`]: each is prepared (parsed and planned)
/// and run, its rows read; then the SQL layer checks its data and lists its schema. Every
/// error is acceptable, a panic is not. A small work-memory budget makes sorting and
/// grouping spill (to in-memory temporary databases).
pub fn sql_statements(data: &[u8]) {
    use tessera::sql::Connection;
    let text = String::from_utf8_lossy(data);
    let mut conn = Connection::memory();
    conn.set_work_memory(16 << 10);
    conn.set_temp_device(|| Ok(Box::new(MemoryDevice::new())));
    conn.execute(SQL_SEED, ()).expect("the seed schema runs");
    for sql in text.split(';').filter(|s| !s.trim().is_empty()).take(MAX_STATEMENTS) {
        let Ok(stmt) = conn.prepare(sql) else { continue };
        let _ = (stmt.kind(), stmt.returns_rows());
        // Parameters are bound to NULL, one per `?`, `?NNN`, `:name`.
        let params = vec![tessera::sql::Value::Null; stmt.parameter_count()];
        let Ok(rows) = conn.query_prepared(&stmt, params.as_slice()) else { continue };
        let _ = rows.columns().len();
        for row in rows.take(MAX_ROWS) {
            if row.is_err() {
                break;
            }
        }
    }
    let _ = conn.check();
    let _ = conn.schema_objects();
    let _ = conn.execute("ROLLBACK", ());
}
