//! Drives the built `tessera` binary in a temporary directory.

mod common;

use common::Env;
use std::path::Path;
use tessera::{Database, Options};

#[test]
fn put_get_round_trip() {
    let env = Env::new();
    env.run(&["put", "users", "alice", "admin"]).ok();
    env.run(&["put", "users", "bob", "guest"]).ok();
    assert!(env.path("tessera.db").exists(), "default database file is ./tessera.db");
    assert_eq!(env.run(&["get", "users", "alice"]).ok().stdout, "admin\n");
    // Replace.
    env.run(&["put", "users", "alice", "root"]).ok();
    assert_eq!(env.run(&["get", "users", "alice"]).ok().stdout, "root\n");

    // Hex in and out, and binary values shown as hex by default.
    env.run(&["put", "--hex", "bin", "00ff", "0x01020a"]).ok();
    assert_eq!(env.run(&["get", "--hex", "bin", "00FF"]).ok().stdout, "01020a\n");
    env.run(&["put", "--hex", "bin", "6b", "00"]).ok();
    assert_eq!(env.run(&["get", "bin", "k"]).ok().stdout, "0x00\n");
    assert_eq!(env.run(&["get", "--raw", "bin", "k"]).ok().stdout_bytes, [0]);

    // Values from a file and from stdin; '@@' escapes a literal '@'.
    std::fs::write(env.path("v.bin"), [0xde, 0xad, 0xbe, 0xef]).unwrap();
    env.run(&["put", "files", "blob", "@v.bin"]).ok();
    assert_eq!(env.run(&["get", "--raw", "files", "blob"]).ok().stdout_bytes, [0xde, 0xad, 0xbe, 0xef]);
    env.run_with_stdin(&["put", "files", "in", "-"], Some(b"line one\nline two\n")).ok();
    assert_eq!(env.run(&["get", "files", "in"]).ok().stdout, "line one\nline two\n");
    env.run(&["put", "files", "at", "@@home"]).ok();
    assert_eq!(env.run(&["get", "files", "at"]).ok().stdout, "@home\n");
    let r = env.run(&["put", "files", "x", "@does-not-exist"]).code(1);
    assert!(r.stderr.contains("cannot read does-not-exist"), "{}", r.stderr);

    // -f / --db choose the file, before or after the command.
    env.run(&["-f", "other.db", "put", "t", "k", "v"]).ok();
    assert_eq!(env.run(&["get", "t", "k", "--db", "other.db"]).ok().stdout, "v\n");
    assert_eq!(env.run(&["--db=other.db", "get", "t", "k"]).ok().stdout, "v\n");
    env.run(&["get", "t", "k"]).code(1); // not in tessera.db
}

#[test]
fn get_missing_key_and_table() {
    let env = Env::new();
    env.run(&["put", "t", "a", "1"]).ok();
    let r = env.run(&["get", "t", "zzz"]).code(1);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.starts_with("tessera: ") && r.stderr.contains("not found"), "{}", r.stderr);
    let r = env.run(&["get", "nope", "a"]).code(1);
    assert!(r.stderr.contains("table not found"), "{}", r.stderr);
    // Reading a database that does not exist does not create it.
    let r = env.run(&["-f", "missing.db", "get", "t", "a"]).code(1);
    assert!(r.stderr.contains("no such database file"), "{}", r.stderr);
    assert!(!env.path("missing.db").exists());
}

#[test]
fn del_reports_whether_key_existed() {
    let env = Env::new();
    env.run(&["put", "t", "a", "1"]).ok();
    env.run(&["put", "t", "b", "2"]).ok();
    let r = env.run(&["del", "t", "a"]).ok();
    assert!(r.stdout.contains("deleted"), "{}", r.stdout);
    env.run(&["get", "t", "a"]).code(1);
    let r = env.run(&["del", "t", "a"]).code(1);
    assert!(r.stderr.contains("not found"), "{}", r.stderr);
    assert_eq!(env.run(&["get", "t", "b"]).ok().stdout, "2\n");
    // Deleting from a missing table neither succeeds nor creates the table.
    env.run(&["del", "ghost", "a"]).code(1);
    assert_eq!(env.run(&["tables"]).ok().stdout, "t\t1\n");
}

#[test]
fn scan_prefix_range_limit_reverse() {
    let env = Env::new();
    for k in ["apple", "apricot", "banana", "blueberry", "cherry"] {
        env.run(&["put", "fruit", k, &k.to_uppercase()]).ok();
    }
    env.run(&["put", "--hex", "fruit", "62ff", "00"]).ok(); // "b\xff": inside prefix "b"
    let all = env.run(&["scan", "fruit"]).ok().stdout;
    assert_eq!(
        all,
        "apple\tAPPLE\napricot\tAPRICOT\nbanana\tBANANA\nblueberry\tBLUEBERRY\n0x62ff\t0x00\ncherry\tCHERRY\n"
    );

    assert_eq!(env.run(&["scan", "fruit", "--prefix", "ap", "--keys-only"]).ok().stdout, "apple\napricot\n");
    assert_eq!(
        env.run(&["scan", "fruit", "--prefix", "b", "--keys-only", "--reverse"]).ok().stdout,
        "0x62ff\nblueberry\nbanana\n"
    );
    assert_eq!(env.run(&["scan", "fruit", "--limit", "2", "--keys-only"]).ok().stdout, "apple\napricot\n");
    assert_eq!(env.run(&["scan", "fruit", "--reverse", "--limit", "2"]).ok().stdout, "cherry\tCHERRY\n0x62ff\t0x00\n");
    assert_eq!(
        env.run(&["scan", "fruit", "--from", "apricot", "--to", "blueberry", "--keys-only"]).ok().stdout,
        "apricot\nbanana\n"
    );
    // Prefix and range intersect; an empty intersection prints nothing.
    assert_eq!(env.run(&["scan", "fruit", "--prefix", "a", "--from", "apr", "--keys-only"]).ok().stdout, "apricot\n");
    assert_eq!(env.run(&["scan", "fruit", "--prefix", "a", "--from", "b"]).ok().stdout, "");
    assert_eq!(env.run(&["scan", "fruit", "--limit", "0"]).ok().stdout, "");
    assert_eq!(env.run(&["scan", "fruit", "--hex", "--prefix", "63"]).ok().stdout, "636865727279\t434845525259\n");
    env.run(&["scan", "fruit", "--limit", "many"]).code(2);
    env.run(&["scan", "nope"]).code(1);
}

#[test]
fn tables_and_stats() {
    let env = Env::new();
    env.run(&["put", "b", "k1", "v"]).ok();
    env.run(&["put", "b", "k2", "v"]).ok();
    env.run(&["put", "a", "k", "v"]).ok();
    assert_eq!(env.run(&["tables"]).ok().stdout, "a\t1\nb\t2\n");

    let stats = env.run(&["stats"]).ok().stdout;
    let size = std::fs::metadata(env.path("tessera.db")).unwrap().len();
    assert!(stats.contains(&format!("file_size: {size}\n")), "{stats}");
    assert!(stats.contains("page_size: 4096\n"), "{stats}");
    for line in stats.lines() {
        let (name, value) = line.split_once(": ").expect("name: value");
        assert!(!name.is_empty() && value.parse::<u64>().is_ok(), "{line}");
    }
}

#[test]
fn check_healthy_database() {
    let env = Env::new();
    for i in 0..50 {
        env.run(&["put", if i % 2 == 0 { "even" } else { "odd" }, &format!("k{i:03}"), "v"]).ok();
    }
    let r = env.run(&["check"]).ok();
    assert!(r.stdout.contains("tables: 2\n"), "{}", r.stdout);
    assert!(r.stdout.contains("entries: 50\n"), "{}", r.stdout);
    assert!(r.stdout.contains("errors: 0\n"), "{}", r.stdout);
}

/// A database of a few hundred entries whose tree pages are written in place (a small log
/// region keeps them near the start of the file). Returns the page size.
fn make_database(path: &Path) -> usize {
    let db = Database::open_with(path, Options { max_log_size: 4 * 4096, ..Options::default() }).unwrap();
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table("data").unwrap();
        for i in 0..400u32 {
            t.insert(format!("key{i:05}").as_bytes(), &[i as u8; 100]).unwrap();
        }
    }
    tx.commit().unwrap();
    db.checkpoint().unwrap();
    db.page_size()
}

#[test]
fn check_damaged_database() {
    let env = Env::new();
    let path = env.path("tessera.db");
    let ps = make_database(&path);
    env.run(&["check"]).ok();

    // Flip bytes in the middle of a tree page (kind byte 1 = branch, 2 = leaf) near page 20.
    let mut bytes = std::fs::read(&path).unwrap();
    let pages = bytes.len() / ps;
    let near = 20.min(pages);
    let page = (near..pages).chain((1..near).rev()).find(|&p| matches!(bytes[p * ps], 1 | 2)).expect("a tree page");
    for b in &mut bytes[page * ps + ps / 2..page * ps + ps / 2 + 16] {
        *b ^= 0xff;
    }
    std::fs::write(&path, &bytes).unwrap();

    let r = env.run(&["check"]).code(2);
    assert!(r.stdout.contains(&format!("page {page}")), "report names the page: {}", r.stdout);
    assert!(r.stderr.contains("damaged"), "{}", r.stderr);
    // Reads of the damaged data fail cleanly too.
    let r = env.run(&["scan", "data"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("corruption at page"), "{}", r.stderr);
}

/// Damage that log replay runs into: opening must fail with an error, not hang. (The first
/// engine version hung here: `recover` lost the writer state on a replay error and the
/// half-built `Database`'s `Drop` waited for it forever.)
#[test]
fn damaged_page_under_pending_log_frame() {
    let env = Env::new();
    let path = env.path("tessera.db");
    let ps = make_database(&path);
    {
        // One more commit that stays in the log: closing does not checkpoint.
        let db = Database::open_with(&path, Options { max_log_size: 4 * 4096, ..Options::default() }).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table("data").unwrap().insert(b"key00007", b"new").unwrap();
        tx.commit().unwrap();
    }
    // Damage every tree page, so replaying that frame must read a bad one.
    let mut bytes = std::fs::read(&path).unwrap();
    for p in 1..bytes.len() / ps {
        if matches!(bytes[p * ps], 1 | 2) {
            bytes[p * ps + ps / 2] ^= 0xff;
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    let r = env.run(&["check"]).code(2);
    assert!(r.stderr.contains("corruption at page"), "{}", r.stderr);
}

#[test]
fn garbage_file_is_not_a_database() {
    let env = Env::new();
    let path = env.path("junk.db");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let garbage: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8 | 1 // never a blank header
        })
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    for cmd in [&["check"][..], &["tables"], &["get", "t", "k"], &["put", "t", "k", "v"], &["stats"]] {
        let args: Vec<&str> = ["-f", "junk.db"].iter().chain(cmd).copied().collect();
        let r = env.run(&args);
        assert_ne!(r.code, 0, "{cmd:?}");
        assert!(r.stderr.contains("not a Tessera database"), "{cmd:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    }
    assert_eq!(env.run(&["-f", "junk.db", "check"]).code, 2);
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the file is left alone");

    // Files the engine would take for an unfinished creation are not overwritten either.
    std::fs::write(env.path("short.txt"), b"hello\n").unwrap();
    let r = env.run(&["-f", "short.txt", "put", "t", "k", "v"]).code(1);
    assert!(r.stderr.contains("not a Tessera database"), "{}", r.stderr);
    assert_eq!(std::fs::read(env.path("short.txt")).unwrap(), b"hello\n");
    let mut blank = vec![0u8; 8192];
    blank[100] = 7;
    std::fs::write(env.path("blank.db"), &blank).unwrap();
    env.run(&["-f", "blank.db", "put", "t", "k", "v"]).code(1);
    env.run(&["-f", "blank.db", "check"]).code(2);
    assert_eq!(std::fs::read(env.path("blank.db")).unwrap(), blank);
}

#[test]
fn locked_database() {
    let env = Env::new();
    env.run(&["put", "t", "k", "v"]).ok();
    let held = Database::open(env.path("tessera.db")).unwrap();
    let r = env.run(&["get", "t", "k"]).code(1);
    assert!(r.stderr.contains("database is locked"), "{}", r.stderr);
    assert!(r.stderr.contains("--timeout"), "{}", r.stderr);
    let r = env.run(&["tessera.db", "-c", "SELECT 1"]).code(1);
    assert!(r.stderr.contains("database is locked"), "{}", r.stderr);
    // --timeout: waits that long, before or after the command, or after the shell's file.
    let t0 = std::time::Instant::now();
    let r = env.run(&["--timeout", "300", "get", "t", "k"]).code(1);
    assert!(t0.elapsed() >= std::time::Duration::from_millis(300));
    assert!(r.stderr.contains("kept it open for 300 ms"), "{}", r.stderr);
    env.run(&["get", "t", "k", "--timeout=50"]).code(1);
    env.run(&["tessera.db", "--timeout", "50", "-c", "SELECT 1"]).code(1);
    // Released while waiting: the command goes ahead.
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(held);
    });
    assert_eq!(env.run(&["--timeout", "30000", "get", "t", "k"]).ok().stdout, "v\n");
    release.join().unwrap();
    env.run(&["get", "t", "k"]).ok();
    assert!(!env.path("tessera.db-lock").exists(), "the lock directory goes with the last holder");
    env.run(&["--timeout", "soon", "get", "t", "k"]).code(2);
    env.run(&["get", "t", "k", "--timeout", "-1"]).code(2);
}

#[test]
fn bad_arguments_exit_2_with_usage() {
    let env = Env::new();
    let cases: &[&[&str]] = &[
        // A first word that is not a command names the SQL shell's database file, but only a
        // file can be followed by nothing: a missing one followed by words is a wrong command.
        &["frobnicate", "x"],
        &["put", "t", "k"],
        &["get", "t"],
        &["get", "t", "k", "extra"],
        &["get", "--bogus", "t", "k"],
        &["get", "--hex", "--raw", "t", "k"],
        &["put", "--hex", "t", "zz", "00"],
        &["scan"],
        &["scan", "t", "--limit"],
        &["--db"],
        &["--hex", "get", "t", "k"],
        &["tables", "extra"],
        &["-c"],
        &["--mode", "fancy"],
        &["-c", "SELECT 1", "put", "t", "k", "v"],
        &["other.db", "--db", "third.db"],
    ];
    for args in cases {
        let r = env.run(args).code(2);
        assert!(r.stderr.starts_with("tessera: "), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("usage: tessera"), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}");
    }
    assert!(!env.path("tessera.db").exists(), "usage errors never create the database");
    // No command: the SQL shell, here with nothing to run, which opens no database.
    env.run(&[]).ok();
    assert!(!env.path("tessera.db").exists());

    let help = env.run(&["help"]).ok().stdout;
    for cmd in ["put", "get", "del", "scan", "tables", "stats", "check", "compact"] {
        assert!(help.contains(&format!("  {cmd}")), "help lists {cmd}: {help}");
    }
    assert_eq!(env.run(&["--help"]).ok().stdout, help);
    assert_eq!(env.run(&["-h"]).ok().stdout, help);
    assert!(env.run(&["scan", "--help"]).ok().stdout.contains("--prefix"));
    assert!(env.run(&["help", "get"]).ok().stdout.contains("--raw"));
    assert!(env.run(&["--version"]).ok().stdout.starts_with("tessera "));
}

#[test]
fn compact_reports_sizes() {
    let env = Env::new();
    let path = env.path("tessera.db");
    {
        let db = Database::open(&path).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("t").unwrap();
            for i in 0..2000u32 {
                t.insert(format!("k{i:06}").as_bytes(), &[7u8; 200]).unwrap();
            }
        }
        tx.commit().unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table("t").unwrap();
            for i in 0..1900u32 {
                t.remove(format!("k{i:06}").as_bytes()).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let r = env.run(&["compact"]).ok().stdout;
    let field = |name: &str| -> u64 {
        r.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse().ok()).expect(name)
    };
    let (before, after) = (field("bytes before:"), field("bytes after:"));
    assert!(after < before, "{r}");
    assert_eq!(after, std::fs::metadata(&path).unwrap().len());
    assert_eq!(env.run(&["tables"]).ok().stdout, "t\t100\n");
    env.run(&["check"]).ok();
}
