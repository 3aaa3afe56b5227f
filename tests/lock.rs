//! Locking a database file across processes (the protocol in docs/ARCHITECTURE.md, "Locking a
//! database file"): two native processes, two handles in one process, a holder killed with
//! SIGKILL, and lock-directory entries as a Node process (which cannot `flock`) leaves them.
//!
//! The holder processes are this test binary run again: `holder_process` does nothing unless
//! `TESSERA_LOCK_HOLDER` names a file; then it opens it, commits, prints `ready`, and holds the
//! database until its stdin closes.
//!
//! The tests run one at a time (`serial`): a test that spawns a process forks this one, and
//! until the child execs it holds a copy of every open file descriptor, the `flock` of another
//! test's just-closed database included; that test's next open then sees the file locked.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tessera::device::{FileDevice, FileOptions};
use tessera::{BlockDevice, Database, Error};

const HOLDER_ENV: &str = "TESSERA_LOCK_HOLDER";

/// Held for the whole of each test (see the module docs); a failed test does not block the
/// others.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Not a test of its own: the body of a holder process (see the module docs).
#[test]
fn holder_process() {
    let Ok(path) = std::env::var(HOLDER_ENV) else { return };
    let rows: u32 = std::env::var("TESSERA_LOCK_ROWS").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let fail = |e: Error| -> ! {
        println!("error {} {e}", e.code());
        std::process::exit(3);
    };
    if std::env::var("TESSERA_LOCK_MODE").as_deref() == Ok("ro") {
        let device = FileDevice::open_read_only(&path).unwrap_or_else(|e| fail(e));
        println!("ready {}", std::process::id());
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        drop(device);
        std::process::exit(0);
    }
    let db = Database::open(&path).unwrap_or_else(|e| fail(e));
    for i in 0..rows {
        let tx = db.begin_write().unwrap();
        tx.open_table("held").unwrap().insert(format!("row-{i:06}").as_bytes(), b"v").unwrap();
        tx.commit().unwrap();
    }
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    drop(db);
    std::process::exit(0);
}

/// A holder process of `path` that has committed `rows` rows and holds the database.
#[derive(Debug)]
struct Holder {
    child: Child,
}

impl Holder {
    fn start(path: &Path, rows: u32) -> Holder {
        Holder::try_start(path, rows, false).unwrap_or_else(|e| panic!("holder failed: {e}"))
    }

    /// A holder (`read_only`: of the file device, read-only), or the error line it printed.
    fn try_start(path: &Path, rows: u32, read_only: bool) -> Result<Holder, String> {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "holder_process", "--nocapture", "--test-threads=1"])
            .env(HOLDER_ENV, path)
            .env("TESSERA_LOCK_ROWS", rows.to_string())
            .env("TESSERA_LOCK_MODE", if read_only { "ro" } else { "rw" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Owned by a Holder at once, so a panic below still stops it (Drop).
        let mut holder = Holder { child };
        let mut out = BufReader::new(holder.child.stdout.take().unwrap());
        loop {
            let mut line = String::new();
            assert!(out.read_line(&mut line).unwrap() > 0, "holder ended before it was ready");
            // The harness has printed `test holder_process ... ` before, on the same line.
            if line.contains("ready ") {
                return Ok(holder);
            }
            if let Some(at) = line.find("error ") {
                return Err(line[at..].trim().to_string());
            }
        }
    }

    /// Let it close the database and exit.
    fn release(mut self) {
        drop(self.child.stdin.take());
        assert!(self.child.wait().unwrap().success());
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

/// A holder left running by a failed test is stopped.
impl Drop for Holder {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    (dir, path)
}

fn lock_dir(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("-lock");
    PathBuf::from(s)
}

fn count(db: &Database) -> u64 {
    db.begin_read().unwrap().open_table("held").map(|t| t.len().unwrap()).unwrap_or(0)
}

/// The start identity the protocol records for process `pid` (Linux: boot id and start time).
fn start_of(pid: u32) -> String {
    if !cfg!(target_os = "linux") {
        return "0".into();
    }
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let start = after.split(' ').nth(19).unwrap();
    format!("{}-{start}", &boot[..8])
}

fn entry(path: &Path, mode: char, pid: u32, start: &str) -> PathBuf {
    let dir = lock_dir(path);
    std::fs::create_dir_all(&dir).unwrap();
    let entry = dir.join(format!("{mode}.{pid}.{start}.0123456789abcdef"));
    std::fs::write(&entry, "test entry\n").unwrap();
    entry
}

#[test]
fn second_native_process_is_locked_out_until_the_first_closes() {
    let _serial = serial();
    let (_dir, path) = temp_db();
    let holder = Holder::start(&path, 5);
    assert!(matches!(Database::open(&path), Err(Error::Locked)));
    assert!(matches!(tessera::device::FileDevice::open(&path), Err(Error::Locked)));
    holder.release();
    let db = Database::open(&path).unwrap();
    assert_eq!(count(&db), 5);
    drop(db);
    assert!(!lock_dir(&path).exists(), "the last holder removes the lock directory");
}

#[test]
fn two_handles_in_one_process_are_locked_out() {
    let _serial = serial();
    let (_dir, path) = temp_db();
    let db = Database::open(&path).unwrap();
    assert!(matches!(Database::open(&path), Err(Error::Locked)));
    // By another name of the same file too.
    let other = path.parent().unwrap().join(".").join("locked.db");
    assert!(matches!(Database::open(&other), Err(Error::Locked)));
    std::os::unix::fs::symlink(&path, path.with_file_name("link.db")).unwrap();
    assert!(matches!(Database::open(path.with_file_name("link.db")), Err(Error::Locked)));
    drop(db);
    Database::open(path.with_file_name("link.db")).unwrap();
}

#[test]
fn kill_9_of_the_holder_leaves_no_lock_behind() {
    let _serial = serial();
    let (_dir, path) = temp_db();
    let holder = Holder::start(&path, 30);
    holder.kill_9();
    let db = Database::open(&path).unwrap();
    assert_eq!(count(&db), 30);
    assert!(db.check().unwrap().is_ok());
    drop(db);
    assert!(!lock_dir(&path).exists());
}

/// A Node process holds no `flock`: only its entry in the lock directory says it is there.
#[test]
fn a_live_entry_without_flock_locks_native_opens_out() {
    let _serial = serial();
    let (_dir, path) = temp_db();
    drop(Database::open(&path).unwrap());
    let mut live = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = live.id();
    let e = entry(&path, 'w', pid, &start_of(pid));
    let r = Database::open(&path);
    live.kill().unwrap();
    live.wait().unwrap();
    assert!(matches!(r, Err(Error::Locked)), "{r:?}");
    assert!(e.exists(), "a live holder's entry is never removed");
    // Now its process is gone: the entry is stale, removed by the next opener.
    drop(Database::open(&path).unwrap());
    assert!(!e.exists());
    assert!(!lock_dir(&path).exists());
}

#[test]
fn entries_of_dead_processes_are_removed() {
    let _serial = serial();
    let (_dir, path) = temp_db();
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let dead = entry(&path, 'w', pid, "0");
    let mut stale = vec![dead];
    if cfg!(target_os = "linux") {
        // This process's pid with another start time: an earlier process that had our pid
        // (a restarted container's pid 1, say).
        let me = start_of(std::process::id());
        let (boot, _) = me.split_once('-').unwrap();
        stale.push(entry(&path, 'w', std::process::id(), &format!("{boot}-1")));
        // Another boot.
        stale.push(entry(&path, 'r', std::process::id(), "00000000-1"));
    }
    let unrelated = lock_dir(&path).join("notes.txt");
    std::fs::write(&unrelated, "not an entry").unwrap();
    let t0 = Instant::now();
    let db = Database::open(&path).unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5));
    for e in &stale {
        assert!(!e.exists(), "{} should have been removed", e.display());
    }
    assert!(unrelated.exists(), "names that are not entries are left alone");
    drop(db);
}

#[test]
fn read_only_opens_share_the_file_and_exclude_writers() {
    let _serial = serial();
    let (dir, path) = temp_db();
    drop(Database::open(&path).unwrap());
    // Two readers in other processes and two in this one.
    let r1 = Holder::try_start(&path, 0, true).unwrap();
    let r2 = Holder::try_start(&path, 0, true).unwrap();
    let a = FileDevice::open_read_only(&path).unwrap();
    let b = FileDevice::open_read_only(&path).unwrap();
    assert!(a.is_read_only() && b.is_read_only());
    // A writer is kept out, here and in another process.
    assert!(matches!(Database::open(&path), Err(Error::Locked)));
    assert!(Holder::try_start(&path, 0, false).unwrap_err().starts_with("error LOCKED"));
    // Reads work; writes, set_len and sync are refused.
    let mut head = [0; 16];
    a.read(0, &mut head).unwrap();
    assert!(a.len().unwrap() > 0);
    assert!(matches!(a.write(0, b"x"), Err(Error::Io { op: "write", .. })));
    assert!(matches!(a.set_len(0), Err(Error::Io { op: "set_len", .. })));
    assert!(matches!(a.sync(), Err(Error::Io { op: "sync", .. })));
    let mut again = [0; 16];
    b.read(0, &mut again).unwrap();
    assert_eq!(head, again);
    r1.release();
    r2.release();
    drop((a, b));
    assert!(!lock_dir(&path).exists());
    // A writer keeps readers out, here and in another process.
    let w = Database::open(&path).unwrap();
    assert!(matches!(FileDevice::open_read_only(&path), Err(Error::Locked)));
    assert!(Holder::try_start(&path, 0, true).unwrap_err().starts_with("error LOCKED"));
    drop(w);
    // A read-only open never creates the file.
    let missing = dir.path().join("missing.db");
    assert!(matches!(FileDevice::open_read_only(&missing), Err(Error::Io { op: "open", .. })));
    assert!(!missing.exists() && !lock_dir(&missing).exists());
}

#[test]
fn lock_timeout_waits_for_the_holder() {
    let _serial = serial();
    let (_dir, path) = temp_db();
    let holder = Holder::start(&path, 1);
    let wait = |ms| FileOptions { lock_timeout: Duration::from_millis(ms), ..FileOptions::default() };
    let t0 = Instant::now();
    assert!(matches!(FileDevice::open_with_options(&path, &wait(300)), Err(Error::Locked)));
    assert!(t0.elapsed() >= Duration::from_millis(300), "gave up after {:?}", t0.elapsed());
    let t0 = Instant::now();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        holder.release();
    });
    let device = FileDevice::open_with_options(&path, &wait(30_000)).unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(400));
    release.join().unwrap();
    let db = Database::open_device(device, tessera::Options::default()).unwrap();
    assert_eq!(count(&db), 1);
}

/// An entry without flock (a Node holder) is waited for like any other holder.
#[test]
fn lock_timeout_waits_for_an_entry_to_go() {
    let _serial = serial();
    let (_dir, path) = temp_db();
    let mut live = Command::new("sleep").arg("0.5").spawn().unwrap();
    let pid = live.id();
    let e = entry(&path, 'w', pid, &start_of(pid));
    let reaper = std::thread::spawn(move || live.wait().unwrap());
    let t0 = Instant::now();
    let options = FileOptions { lock_timeout: Duration::from_secs(30), ..FileOptions::default() };
    let device = FileDevice::open_with_options(&path, &options).unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(200), "opened after {:?}", t0.elapsed());
    assert!(!e.exists());
    reaper.join().unwrap();
    drop(device);
}

/// Where the lock directory cannot be made, a read-only open goes on unregistered and a
/// read-write one fails with an error naming the directory. (Skipped when running as root, who
/// may write anywhere: run the test binary as another user, e.g. with `setpriv --reuid=65534
/// --regid=65534 --clear-groups`, to cover it.)
#[test]
fn unwritable_directory() {
    let _serial = serial();
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = temp_db();
    drop(Database::open(&path).unwrap());
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let privileged = std::fs::write(dir.path().join("probe"), b"").is_ok();
    if !privileged {
        let a = FileDevice::open_read_only(&path).unwrap();
        let b = FileDevice::open_read_only(&path).unwrap();
        assert!(!lock_dir(&path).exists(), "they could not register");
        // Unregistered readers still hold the shared flock: a native writer is kept out.
        assert!(matches!(FileDevice::open(&path), Err(Error::Locked)));
        drop((a, b));
        match FileDevice::open(&path) {
            Err(Error::Io { op: "lock", message, .. }) => assert!(message.contains("locked.db-lock"), "{message}"),
            other => panic!("expected a lock error, got {other:?}"),
        }
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}
