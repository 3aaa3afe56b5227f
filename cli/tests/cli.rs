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

/// A creation that a crash interrupted leaves a file that the next command simply creates
/// afresh (nothing was acknowledged); before, the tool refused any file with a blank header
/// ("delete the file to start over"). A used database whose header was destroyed stays an
/// error, and the file is left alone.
#[test]
fn interrupted_creation_is_created_afresh() {
    use tessera::device::{CrashMode, PowerLossDevice};
    let env = Env::new();
    let probe = std::sync::Arc::new(PowerLossDevice::new());
    drop(Database::open_device(probe.clone(), Options::default()).unwrap());
    let total = probe.ops();
    for n in 0..total {
        let dev = std::sync::Arc::new(PowerLossDevice::with_crash_after(n));
        let _ = Database::open_device(dev.clone(), Options::default());
        for mode in [CrashMode::DropAll, CrashMode::KeepAll, CrashMode::Torn { seed: n }] {
            let image = dev.crash(mode);
            std::fs::write(env.path("new.db"), &image).unwrap();
            let r = env.run(&["-f", "new.db", "put", "t", "k", "v"]);
            assert_eq!(r.code, 0, "crash point {n}/{total} {mode:?} ({} bytes): {}", image.len(), r.stderr);
            assert_eq!(env.run(&["-f", "new.db", "get", "t", "k"]).ok().stdout, "v\n");
        }
    }
    // A used database with its header sector zeroed: damage, refused, untouched.
    env.run(&["-f", "used.db", "put", "t", "k", "v"]).ok();
    let mut bytes = std::fs::read(env.path("used.db")).unwrap();
    bytes[..512].fill(0);
    std::fs::write(env.path("used.db"), &bytes).unwrap();
    let r = env.run(&["-f", "used.db", "get", "t", "k"]).code(1);
    assert!(r.stderr.contains("header was destroyed"), "{}", r.stderr);
    assert_eq!(std::fs::read(env.path("used.db")).unwrap(), bytes);
}

/// `--readonly` never writes (the file's bytes stay the same, commits in its log are read);
/// writes are refused with a clear message.
#[test]
fn readonly_never_writes() {
    let env = Env::new();
    env.run(&["put", "t", "a", "1"]).ok();
    env.run(&["put", "t", "b", "2"]).ok(); // stays in the log
    let before = std::fs::read(env.path("tessera.db")).unwrap();
    assert_eq!(env.run(&["--readonly", "get", "t", "b"]).ok().stdout, "2\n");
    assert!(env.run(&["--readonly", "check"]).ok().stdout.contains("ok"));
    let r = env.run(&["--readonly", "put", "t", "c", "3"]).code(1);
    assert!(r.stderr.contains("read-only"), "{}", r.stderr);
    let r = env.run(&["--readonly", "tessera.db", "-c", "SELECT 1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read(env.path("tessera.db")).unwrap() == before, "a read-only run changed the file");
    let r = env.run(&["--readonly", "-f", "missing.db", "get", "t", "a"]).code(1);
    assert!(r.stderr.contains("no such database file"), "{}", r.stderr);
    assert!(!env.path("missing.db").exists());
}

/// A damaged log frame: commands refuse the file, naming what is lost and how to read the
/// rest; `--salvage` opens it with what can be read and says what it gave up.
#[test]
fn damaged_log_is_refused_and_salvage_reads_the_rest() {
    let env = Env::new();
    for i in 0..4 {
        env.run(&["put", "t", &format!("k{i}"), "v"]).ok();
    }
    let mut bytes = std::fs::read(env.path("tessera.db")).unwrap();
    let frames: Vec<usize> = (1..bytes.len() / 512).map(|s| s * 512).filter(|&o| &bytes[o..o + 4] == b"TLOG").collect();
    let third = frames[2];
    bytes[third + 60] ^= 0x20;
    std::fs::write(env.path("tessera.db"), &bytes).unwrap();
    let r = env.run(&["get", "t", "k0"]).code(1);
    assert!(r.stderr.contains("salvage"), "{}", r.stderr);
    let r = env.run(&["check"]).code(2);
    assert!(r.stderr.contains("cannot be read"), "{}", r.stderr);
    let r = env.run(&["--salvage", "--readonly", "scan", "t"]).ok();
    assert!(r.stdout.contains("k0") && !r.stdout.contains("k3"), "{}", r.stdout);
    assert!(r.stderr.contains("salvaged"), "{}", r.stderr);
    assert_eq!(std::fs::read(env.path("tessera.db")).unwrap(), bytes, "--salvage --readonly wrote");
}

/// The key-value commands cannot write the SQL layer's tables (`sql:` prefix): `put` into
/// `sql:schema` used to succeed and leave a database on which every SQL statement failed with
/// "corruption at page 0" while `check` said ok. Reading them stays allowed.
#[test]
fn kv_commands_refuse_the_sql_namespace() {
    let env = Env::new();
    env.run(&["-c", "CREATE TABLE t(a INTEGER PRIMARY KEY, b); INSERT INTO t VALUES (1, 'one')"]).ok();
    for cmd in [
        &["put", "sql:schema", "meta", "garbage"][..],
        &["put", "sql:1", "k", "v"],
        &["put", "sql:new", "k", "v"],
        &["del", "sql:schema", "meta"],
        &["del", "sql:1", "\u{81}\u{1}"],
    ] {
        let r = env.run(cmd).code(1);
        assert!(r.stderr.starts_with("tessera: "), "{cmd:?}: {}", r.stderr);
        assert!(r.stderr.contains("reserved for the SQL layer"), "{cmd:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{cmd:?}: {}", r.stderr);
    }
    // Nothing changed: SQL still works, nothing new was created, and reading is allowed.
    assert_eq!(env.run(&["--mode", "list", "-c", "SELECT b FROM t"]).ok().stdout, "b\none\n");
    let tables = env.run(&["tables"]).ok().stdout;
    assert!(!tables.contains("sql:new"), "{tables}");
    assert!(env.run(&["get", "sql:schema", "meta"]).ok().stdout.len() > 1);
    env.run(&["check"]).ok();
}

/// `check` also runs the SQL-level check on a file with an SQL schema: damage that keeps every
/// page valid (an index entry removed behind the SQL layer's back) is reported with exit
/// code 2, like page damage.
#[test]
fn check_reports_sql_damage() {
    let env = Env::new();
    env.run(&["-c", "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX t_b ON t(b)"]).ok();
    env.run(&["-c", "INSERT INTO t VALUES (1, 'one'), (2, 'two')"]).ok();
    let r = env.run(&["check"]).ok();
    assert!(r.stdout.contains("sql tables: 1\n"), "{}", r.stdout);
    assert!(r.stdout.contains("sql rows: 2\n"), "{}", r.stdout);
    assert!(r.stdout.contains("sql errors: 0\n"), "{}", r.stdout);
    assert!(r.stdout.ends_with("ok\n"), "{}", r.stdout);

    // Remove the index entry of row 2 through the engine.
    {
        let db = Database::open(env.path("tessera.db")).unwrap();
        let rx = db.begin_read().unwrap();
        let mut index = None;
        for name in rx.list_tables().unwrap().into_iter().filter(|n| n.starts_with("sql:") && n != "sql:schema") {
            let t = rx.open_table(&name).unwrap();
            let first = t.iter().unwrap().next().map(|e| e.unwrap().1.len());
            if first == Some(0) {
                index = Some(name); // index entries have empty values
            }
        }
        let index = index.expect("the index's engine table");
        let last = rx.open_table(&index).unwrap().last().unwrap().unwrap().0.to_vec();
        drop(rx);
        let w = db.begin_write().unwrap();
        assert!(tessera::sql::internal_tables::open(&w, &index).unwrap().remove(&last).unwrap());
        w.commit().unwrap();
    }
    let r = env.run(&["check"]).code(2);
    assert!(r.stdout.contains("errors: 0\n"), "the engine sees no damage: {}", r.stdout);
    assert!(r.stdout.contains("sql errors: 1\n"), "{}", r.stdout);
    assert!(r.stdout.contains("t_b") && r.stdout.contains("rowid 2"), "{}", r.stdout);
    assert!(r.stderr.contains("damaged"), "{}", r.stderr);

    // A key-value database has no SQL section.
    env.run(&["-f", "kv.db", "put", "t", "k", "v"]).ok();
    let r = env.run(&["-f", "kv.db", "check"]).ok();
    assert!(!r.stdout.contains("sql"), "{}", r.stdout);
}
