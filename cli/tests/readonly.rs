//! Reading a database the process cannot write: a read-only file, a read-only directory, an
//! unprivileged user, a full disk (`disk_full_unreadable.sh`: every open wrote a checkpoint, so
//! nothing could be read). Opening never writes now, and a plain open of a file the process
//! cannot write falls back to read-only and says so, as sqlite3 does.
//!
//! Permissions do not stop root, so when the tests run as root (CI does) the tool runs as an
//! unprivileged user (uid/gid 65534); the full-disk test mounts a small tmpfs, which needs
//! root, and says so and returns early when it cannot.
#![cfg(unix)]

mod common;

use common::Env;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Runs the tool in `dir`, as an unprivileged user when this process is root.
fn run_as_user(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(args).current_dir(dir);
    if is_root() {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().expect("run tessera");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn is_root() -> bool {
    // The owner of a file this process creates.
    let probe = tempfile::NamedTempFile::new().unwrap();
    std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().unwrap()) == 0
}

/// A database with rows in its trees and commits still in its log (the tool never
/// checkpoints on close), in a directory everyone may enter.
fn database(env: &Env) -> std::path::PathBuf {
    env.run(&["-c", "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)"]).ok();
    for i in 0..5 {
        env.run(&["-c", &format!("INSERT INTO t VALUES ({i}, 'row {i}')")]).ok();
    }
    env.run(&["put", "kv", "k", "v"]).ok();
    let dir = env.path("");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.path("tessera.db")
}

fn can_read(dir: &Path, note: &str) {
    let (code, out, err) = run_as_user(dir, &["tessera.db", "-c", "SELECT count(*), max(b) FROM t"]);
    assert_eq!(code, 0, "SELECT: {err}");
    assert!(out.contains('5') && out.contains("row 4"), "{out}");
    assert!(err.contains(note), "the tool must say it opened read-only: {err:?}");
    let (code, out, err) = run_as_user(dir, &["get", "kv", "k"]);
    assert_eq!((code, out.as_str()), (0, "v\n"), "{err}");
    let (code, out, err) = run_as_user(dir, &["check"]);
    assert_eq!(code, 0, "check: {out} {err}");
    let (code, _, err) = run_as_user(dir, &["put", "kv", "k2", "v"]);
    assert_eq!(code, 1, "a put must fail: {err}");
    assert!(err.contains("read-only"), "{err}");
}

/// A database file the user may read but not write: opened read-only without being asked.
#[test]
fn unwritable_file_is_read() {
    let env = Env::new();
    let path = database(&env);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&path).unwrap();
    can_read(&env.path(""), "opened read-only");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
    // Asked for, read-only says nothing.
    let (code, _, err) = run_as_user(&env.path(""), &["--readonly", "get", "kv", "k"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("opened read-only"), "{err}");
}

/// A writable file in a directory the user may not write (no lock directory can be made
/// there): read-only, and said so.
#[test]
fn read_only_directory_is_read() {
    let env = Env::new();
    let path = database(&env);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(env.path(""), std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = std::fs::read(&path).unwrap();
    can_read(&env.path(""), "opened read-only");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
    std::fs::set_permissions(env.path(""), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// disk_full_unreadable.sh: on a full disk every query failed ("No space left on device")
/// because opening wrote a checkpoint. Reads, `check` and `--readonly` work; a write fails
/// with a clear error and loses nothing.
#[test]
fn full_disk_is_readable() {
    if !is_root() {
        eprintln!("full_disk_is_readable: needs root to mount a tmpfs; not run");
        return;
    }
    let mnt = tempfile::tempdir().unwrap();
    let ok = Command::new("mount").args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"]).arg(mnt.path()).status();
    if !ok.is_ok_and(|s| s.success()) {
        eprintln!("full_disk_is_readable: cannot mount a tmpfs here; not run");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(mnt.path());
    let db = mnt.path().join("full.db");
    let tool = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let db_s = db.to_str().unwrap();
    assert_eq!(tool(&[db_s, "-c", "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"]).0, 0);
    // Fill the disk as disk_full_unreadable.sh does: a script of autocommits that stops at
    // the first failed write (which leaves the file longer than what the disk holds).
    let script: String = (0..100_000).map(|_| "INSERT INTO t(v) VALUES (zeroblob(300));\n").collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg(db_s)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    let _ = child.stdin.take().unwrap().write_all(script.as_bytes());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No space left"), "the disk never filled: {err}");
    let rows: u64 = {
        let (code, out, err) = tool(&["--readonly", db_s, "--mode", "list", "-c", "SELECT count(*) FROM t"]);
        assert_eq!(code, 0, "a read-only query on a full disk: {err}");
        out.chars().filter(char::is_ascii_digit).collect::<String>().parse().unwrap()
    };
    let filler = mnt.path().join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 8 << 20]); // whatever space is left
    assert!(rows > 0);
    let (code, out, err) = tool(&[db_s, "-c", "SELECT count(*) FROM t"]);
    assert_eq!(code, 0, "a query on a full disk: {err}");
    assert!(out.contains(&rows.to_string()), "{out}");
    let (code, out, err) = tool(&["--db", db_s, "check"]);
    assert_eq!(code, 0, "check on a full disk: {out}{err}");
    let (code, out, err) = tool(&["--readonly", db_s, "-c", "SELECT count(*) FROM t"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&rows.to_string()), "{out}");
    // A write fails cleanly (no space) or fits in the file's own free space; either way
    // nothing is lost.
    let (code, _, err) = tool(&[db_s, "-c", "INSERT INTO t(v) VALUES (zeroblob(900000))"]);
    let want = if code == 0 { rows + 1 } else { rows };
    assert!(code == 0 || err.contains("space"), "{err}");
    let _ = std::fs::remove_file(&filler);
    let (code, out, err) = tool(&[db_s, "-c", "SELECT count(*) FROM t"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&want.to_string()), "{out}");
    assert_eq!(tool(&["--db", db_s, "check"]).0, 0);
}
