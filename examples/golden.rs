//! Writes the golden files of the current file format: a key-value database and an SQL
//! database, each with a text file of what it must read back (`tests/golden.rs` opens them).
//!
//! Run with `cargo run --example golden -- tests/golden/v<N>` when the format version changes;
//! the files of every earlier version stay committed, so the tests keep proving that a newer
//! build opens (or clearly refuses) what an older one wrote.
//!
//! What the files hold, on purpose: several tables, values inline and in overflow runs, a
//! table deleted after a checkpoint, a free list that spans several pages, and commits still
//! in the log (some in a continuation region) that the next open must replay. The SQL file has
//! rowid, INTEGER PRIMARY KEY and WITHOUT ROWID tables, secondary, multi-column, DESC and
//! UNIQUE indexes, a view, an ALTER TABLE, large BLOBs and autocommits left in the log.

use render::{kv_line, render};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use tessera::sql::{Connection, Value};
use tessera::{Database, Options};

#[path = "../tests/golden/render.rs"]
mod render;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: golden DIR")?;
    std::fs::create_dir_all(&dir)?;
    let dir = Path::new(&dir);
    for name in ["kv.tsr", "sql.tsr"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    kv(&dir.join("kv.tsr"), &dir.join("kv.expected"))?;
    sql(&dir.join("sql.tsr"), &dir.join("sql.expected"))?;
    Ok(())
}

/// Deterministic bytes, `len` of them from `seed`: a 32-byte xorshift block repeated (the
/// files are stored gzipped, and values this regular compress well).
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let block: Vec<u8> = (0..32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    (0..len).map(|i| block[i % 32]).collect()
}

fn kv(path: &Path, expected: &Path) -> tessera::Result<()> {
    // Created with a small log (a 16 KiB region), reopened with a larger limit: the log then
    // continues into a new region before the next checkpoint.
    let small = Options { max_log_size: 16 << 10, ..Options::default() };
    let db = Database::open_with(path, small)?;
    let tx = db.begin_write()?;
    for t in 0..2u64 {
        let mut table = tx.open_table(&format!("table{t}"))?;
        for i in 0..2000u64 {
            let len = match i % 97 {
                0 => 5000 + (i as usize % 7) * 1000, // overflow run
                _ => (i as usize * 37) % 200,
            };
            table.insert(format!("key{i:06}").as_bytes(), &bytes(t * 1_000_000 + i, len))?;
        }
    }
    {
        // One-page overflow runs, allocated one after another at the end of the file.
        let mut blobs = tx.open_table("blobs")?;
        for i in 0..600u64 {
            blobs.insert(&i.to_be_bytes(), &bytes(7_000_000 + i, 1100 + (i as usize % 50)))?;
        }
    }
    tx.open_table("doomed")?.insert(b"k", b"v")?;
    tx.commit()?;
    db.checkpoint()?;
    // Fragment the free space: every other key of table1 goes, so the free list holds many
    // short runs and spans several pages.
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("table1")?;
        for i in (0..2000u64).step_by(2) {
            t.remove(format!("key{i:06}").as_bytes())?;
        }
        let mut blobs = tx.open_table("blobs")?;
        for i in (0..600u64).step_by(2) {
            blobs.remove(&i.to_be_bytes())?;
        }
    }
    tx.delete_table("doomed")?;
    tx.commit()?;
    db.checkpoint()?;
    drop(db);
    let db = Database::open_with(path, Options { max_log_size: 1 << 20, ..Options::default() })?;
    // Autocommits that stay in the log (the last ones in a continuation region).
    for round in 0..120u64 {
        let tx = db.begin_write()?;
        {
            let mut t = tx.open_table("logged")?;
            for i in 0..8u64 {
                t.insert(format!("r{round:04}/{i}").as_bytes(), &bytes(round * 100 + i, 300))?;
            }
            if round % 10 == 9 {
                t.insert(b"big", &bytes(round, 9000))?;
            }
        }
        tx.open_table("table2")?.remove(format!("key{:06}", round * 3).as_bytes())?;
        tx.commit()?;
    }
    let free = db.stats().free_pages;
    let report = db.check()?;
    assert!(report.is_ok(), "{report:?}");
    // The expected contents, read back through this build.
    let rx = db.begin_read()?;
    let mut out = String::new();
    for name in rx.list_tables()? {
        for e in rx.open_table(&name)?.iter()? {
            let (k, v) = e?;
            out.push_str(&kv_line(&name, &k, &v));
        }
    }
    drop(rx);
    drop(db); // closing syncs but does not checkpoint: the commits above stay in the log
    std::fs::write(expected, out).expect("write expected");
    eprintln!("kv: {} bytes, {free} free pages", std::fs::metadata(path).expect("stat").len());
    Ok(())
}

/// The queries whose results the SQL golden file must reproduce.
const QUERIES: &[&str] = &[
    "SELECT * FROM users ORDER BY id",
    "SELECT id, name FROM users WHERE age BETWEEN 20 AND 40 ORDER BY age, name, id",
    "SELECT email FROM users WHERE email >= 'u5' ORDER BY email LIMIT 50",
    "SELECT * FROM docs ORDER BY id",
    "SELECT owner, count(*), sum(length(body)) FROM docs GROUP BY owner ORDER BY owner",
    "SELECT * FROM kv ORDER BY k",
    "SELECT * FROM events ORDER BY kind, ts DESC, rowid",
    "SELECT kind, ts FROM events WHERE kind = 'view' ORDER BY ts DESC LIMIT 20",
    "SELECT * FROM adults ORDER BY id",
    "SELECT note, count(*) FROM events GROUP BY note ORDER BY note",
];

fn sql(path: &Path, expected: &Path) -> tessera::Result<()> {
    let mut db = Connection::open(path)?;
    for stmt in [
        "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, age INTEGER, score REAL)",
        "CREATE INDEX users_age ON users(age, name)",
        "CREATE TABLE docs(id INTEGER PRIMARY KEY, owner INTEGER, title TEXT, body BLOB)",
        "CREATE INDEX docs_owner ON docs(owner DESC)",
        "CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID",
        "CREATE TABLE events(ts INTEGER, kind TEXT, payload TEXT)",
        "CREATE INDEX events_kind_ts ON events(kind, ts DESC)",
        "CREATE VIEW adults AS SELECT id, name FROM users WHERE age >= 18",
    ] {
        db.execute(stmt, ())?;
    }
    let mut seed = 1u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed >> 33
    };
    for batch in 0..4u64 {
        db.execute("BEGIN", ())?;
        for i in 0..300u64 {
            let id = batch * 300 + i + 1;
            let age = if next() % 5 == 0 { Value::Null } else { Value::Integer((next() % 90) as i64) };
            let name = format!("n{}é{}", next() % 1000, "x".repeat((next() % 20) as usize));
            let score = (next() as f64) / 7.0 - 1e6;
            db.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                (id as i64, name, format!("u{id}@{}", next() % 100), age, score),
            )?;
        }
        for _ in 0..25 {
            let id = (next() % 100_000) as i64;
            let len = [10usize, 900, 3000, 12_000, 30_000][(next() % 5) as usize];
            db.execute(
                "INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?)",
                (id, (next() % 1200) as i64, format!("t{}", next()), bytes(next(), len)),
            )?;
        }
        for _ in 0..100 {
            db.execute(
                "INSERT OR REPLACE INTO kv VALUES (?, ?)",
                (format!("k{}", next() % 5000), bytes(next(), (next() % 60) as usize)),
            )?;
        }
        for _ in 0..200 {
            let kind = ["click", "view", "buy", "error"][(next() % 4) as usize];
            db.execute("INSERT INTO events VALUES (?, ?, ?)", ((next() << 8) as i64, kind, format!("p{}", next())))?;
        }
        db.execute("COMMIT", ())?;
    }
    db.execute("DELETE FROM users WHERE id % 17 = 3", ())?;
    db.execute("UPDATE users SET score = score * 2 WHERE age < 30", ())?;
    db.execute("ALTER TABLE events ADD COLUMN note TEXT DEFAULT 'none'", ())?;
    db.execute("DELETE FROM events WHERE kind = 'error' AND ts % 3 = 0", ())?;
    drop(db);
    // A second session of autocommits: they stay in the log.
    let mut db = Connection::open(path)?;
    for i in 0..40i64 {
        db.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
            (2000 + i, format!("tail{i}"), format!("tail{i}@x"), i, i as f64 + 0.5),
        )?;
        if i % 8 == 0 {
            db.execute("INSERT INTO events(ts, kind, payload) VALUES (?, 'view', 'tail')", (i,))?;
        }
    }
    db.execute("INSERT INTO docs VALUES (777777, 1, 'tail', zeroblob(20000))", ())?;
    let mut out = String::new();
    for q in QUERIES {
        let _ = writeln!(out, "Q {q}");
        for row in db.query(q, ())? {
            let row = row?;
            let cells: Vec<String> = row.values().iter().map(render).collect();
            let _ = writeln!(out, "R {}", cells.join(" "));
        }
    }
    drop(db);
    let mut f = std::fs::File::create(expected).expect("create expected");
    f.write_all(out.as_bytes()).expect("write expected");
    eprintln!("sql: {} bytes", std::fs::metadata(path).expect("stat").len());
    Ok(())
}
