//! The lock protocol of a database file, shared by every opener: native processes (this
//! module, used by [`FileDevice`](super::FileDevice)), Node processes and Node worker threads
//! (`npm/src/node-base.js`, the same protocol in JavaScript), and the `tessera` tool. Node can
//! take no `flock`, so the protocol uses nothing but file names in a directory; the reasoning
//! and its limits are in docs/ARCHITECTURE.md ("Locking a database file").
//!
//! For the database file `F` (its canonical path), the lock directory is `F-lock/`. Each
//! opener registers an *entry* there, a file named `<mode>.<pid>.<start>.<nonce>`:
//! - `mode`: `w` (read-write open) or `r` (read-only open). Any two entries conflict unless
//!   both are `r`.
//! - `pid`: the process id, decimal.
//! - `start`: the process's start identity, so that a reused pid is not taken for the dead
//!   holder: on Linux `<first 8 hex digits of the boot id>-<start time in clock ticks, field 22
//!   of /proc/PID/stat>`; elsewhere `0`.
//! - `nonce`: 16 hex digits, new for every attempt.
//!
//! The content is one line for people (pid, host, program, time); the protocol reads names
//! only. Acquiring: create the directory (it may exist), create our entry exclusively, then
//! list the directory. Every conflicting entry is judged alive or dead ([`Entry::alive`]); dead
//! ones are deleted. No live conflict: the lock is held. Otherwise we delete our entry, back
//! off a random few milliseconds and try again until the timeout has passed (and a conflict
//! was seen twice: a newcomer that is itself backing off never makes us give up). Releasing:
//! delete our entry, then remove the directory if it is empty.

use crate::error::{Error, Result};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How a database file is opened, and so which lock it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LockMode {
    /// Read-write: excludes every other opener (entry `w`).
    Write,
    /// Read-only: shared with other read-only openers, excludes a read-write one (entry `r`).
    Read,
}

impl LockMode {
    fn letter(self) -> char {
        match self {
            LockMode::Write => 'w',
            LockMode::Read => 'r',
        }
    }
}

/// A held lock: our entry in the lock directory, deleted (and the directory removed if that
/// left it empty) on drop.
#[derive(Debug)]
pub(crate) struct DirLock {
    dir: PathBuf,
    /// `None`: a read-only open in a directory it may not write to (nothing to release).
    entry: Option<PathBuf>,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if let Some(entry) = self.entry.take() {
            let _ = fs::remove_file(entry);
            // Fails (harmlessly) while other entries are there, or if another releaser was
            // first; a newcomer whose entry cannot be created because of it starts over.
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

/// The lock directory of the database file at `path` (which should be canonical).
pub(crate) fn lock_dir(path: &Path) -> PathBuf {
    let mut dir = path.as_os_str().to_owned();
    dir.push("-lock");
    PathBuf::from(dir)
}

/// A parsed entry name.
#[derive(Debug, PartialEq, Eq)]
struct Entry<'a> {
    mode: LockMode,
    pid: u32,
    start: &'a str,
}

impl<'a> Entry<'a> {
    /// `<mode>.<pid>.<start>.<nonce>`, or `None` for any other name (ignored by the protocol).
    fn parse(name: &'a str) -> Option<Entry<'a>> {
        let mut parts = name.split('.');
        let (mode, pid, start, nonce) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let mode = match mode {
            "w" => LockMode::Write,
            "r" => LockMode::Read,
            _ => return None,
        };
        // Decimal, positive, and a valid pid_t: `kill` must never see 0 or a negative number.
        if pid.is_empty() || pid.len() > 10 || !pid.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let pid: u32 = pid.parse().ok().filter(|&p| p > 0 && p <= i32::MAX as u32)?;
        let start_ok = start == "0"
            || start.split_once('-').is_some_and(|(boot, ticks)| {
                boot.len() == 8
                    && boot.bytes().all(|b| b.is_ascii_hexdigit())
                    && !ticks.is_empty()
                    && ticks.len() <= 20
                    && ticks.bytes().all(|b| b.is_ascii_digit())
            });
        if !start_ok || nonce.len() != 16 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Entry { mode, pid, start })
    }

    /// Whether this entry and an opener in `mode` exclude each other.
    fn conflicts_with(&self, mode: LockMode) -> bool {
        mode == LockMode::Write || self.mode == LockMode::Write
    }

    /// Whether the process that made this entry may still be running (when in doubt: yes).
    fn alive(&self) -> bool {
        let me = me();
        if self.pid == me.pid {
            // This process (another handle, or a Node worker thread) unless both start
            // identities are known and differ: an earlier process that had our pid.
            return self.start == "0" || me.start == "0" || self.start == me.start;
        }
        if let Some((boot, ticks)) = self.start.split_once('-') {
            if boot_id().is_some_and(|b| !b.eq_ignore_ascii_case(boot)) {
                return false; // made before the last reboot
            }
            match proc_start_time(self.pid) {
                Some(Ok(now)) => return now == ticks,
                Some(Err(e)) if e.kind() != ErrorKind::NotFound => return true,
                // No such process in /proc, or no /proc: ask kill() (hidepid may hide
                // other users' processes from /proc).
                _ => {}
            }
        }
        process_exists(self.pid)
    }
}

/// Whether a process with this pid exists: `kill(pid, 0)` succeeds or fails with EPERM.
#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return true };
    if pid <= 0 {
        return true;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists and
    // may be signalled. `pid` is positive, so it names one process, never a group.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// No liveness test here: an entry of another process is always taken as alive.
#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

/// Field 22 of /proc/PID/stat (start time in clock ticks after boot); `None` without /proc.
fn proc_start_time(pid: u32) -> Option<std::io::Result<String>> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    Some(fs::read_to_string(format!("/proc/{pid}/stat")).and_then(|stat| {
        // The command name (field 2) is in parentheses and may hold spaces and parentheses:
        // fields 3.. follow the last ')'.
        let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        rest.split_ascii_whitespace()
            .nth(22 - 3)
            .map(str::to_string)
            .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidData, "short /proc/PID/stat"))
    }))
}

/// The first 8 hex digits of the boot id (Linux), read once.
fn boot_id() -> Option<&'static str> {
    static BOOT: OnceLock<Option<String>> = OnceLock::new();
    BOOT.get_or_init(|| {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
        let head = id.get(..8)?;
        head.bytes().all(|b| b.is_ascii_hexdigit()).then(|| head.to_ascii_lowercase())
    })
    .as_deref()
}

/// This process: pid and start identity.
struct Me {
    pid: u32,
    start: String,
}

fn me() -> &'static Me {
    static ME: OnceLock<Me> = OnceLock::new();
    ME.get_or_init(|| {
        let pid = std::process::id();
        let start = match (boot_id(), proc_start_time(pid)) {
            (Some(boot), Some(Ok(ticks))) if !ticks.is_empty() && ticks.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{boot}-{ticks}")
            }
            _ => "0".to_string(),
        };
        Me { pid, start }
    })
}

/// 64 bits that differ between calls, threads and processes (std's per-process random hash
/// keys, the time, a counter); not cryptographic, only unique.
fn random_u64() -> u64 {
    use core::hash::{BuildHasher, Hasher};
    use core::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_usize(&h as *const _ as usize);
    h.finish()
}

/// The line an entry holds, for people looking at the directory.
fn diagnostics(mode: LockMode) -> String {
    let host = fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "?".into());
    let program = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "?".into());
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mode = match mode {
        LockMode::Write => "read-write",
        LockMode::Read => "read-only",
    };
    format!("pid {} host {host} program {program} (native) {mode} since unix time {since}\n", std::process::id())
}

fn lock_error(dir: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Io { op: "lock", offset: 0, message: format!("{}: {what}: {e}", dir.display()) }
}

/// Errors that mean "this directory may not be written here".
fn is_not_writable(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem)
}

/// How long to wait before attempt `attempt + 1`: random, growing from 1–4 ms to 1–50 ms.
fn backoff(attempt: u32) -> Duration {
    let cap = (4 + 8 * u64::from(attempt)).min(50);
    Duration::from_micros(1000 + random_u64() % ((cap - 1) * 1000))
}

/// Acquire the lock of the database file at `path` (canonical) in `mode`, waiting up to
/// `timeout` for conflicting holders to leave. [`Error::Locked`] if they do not.
pub(crate) fn acquire(path: &Path, mode: LockMode, timeout: Duration) -> Result<DirLock> {
    let dir = lock_dir(path);
    let deadline = Instant::now() + timeout;
    // A conflict is only final once seen on two attempts in a row: an entry of an opener that
    // is itself backing off is gone by the next listing. Past this, give up regardless.
    let give_up = deadline + Duration::from_secs(1);
    let mut seen: Vec<String> = Vec::new();
    let mut attempt = 0u32;
    loop {
        let entry = register(&dir, mode)?;
        let live = match conflicts(&dir, mode, entry.as_deref()) {
            Ok(live) => live,
            Err(e) => {
                if let Some(entry) = &entry {
                    let _ = fs::remove_file(entry);
                }
                return Err(e);
            }
        };
        let Some(live) = live else {
            // Our entry vanished with the directory: start over (within reason).
            if Instant::now() >= give_up {
                return Err(Error::Locked);
            }
            attempt += 1;
            continue;
        };
        if live.is_empty() {
            return Ok(DirLock { dir, entry });
        }
        if let Some(entry) = &entry {
            let _ = fs::remove_file(entry);
            let _ = fs::remove_dir(&dir);
        }
        let now = Instant::now();
        let persistent = live.iter().any(|n| seen.contains(n));
        if now >= give_up || (now >= deadline && persistent) {
            return Err(Error::Locked);
        }
        seen = live;
        let pause = backoff(attempt);
        std::thread::sleep(if now < deadline { pause.min(deadline - now + Duration::from_millis(1)) } else { pause });
        attempt += 1;
    }
}

/// Steps 1 and 2: make the directory and our entry in it. `Ok(None)`: a read-only open that
/// may not write here (it goes on unregistered).
fn register(dir: &Path, mode: LockMode) -> Result<Option<PathBuf>> {
    let mut lost_dir = 0;
    loop {
        match fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) if mode == LockMode::Read && is_not_writable(&e) => return Ok(None),
            Err(e) => return Err(lock_error(dir, "cannot create the lock directory", e)),
        }
        let name = format!("{}.{}.{}.{:016x}", mode.letter(), me().pid, me().start, random_u64());
        let entry = dir.join(name);
        match fs::OpenOptions::new().write(true).create_new(true).open(&entry) {
            Ok(mut file) => {
                // Only for people; a failure to write it changes nothing.
                let _ = file.write_all(diagnostics(mode).as_bytes());
                return Ok(Some(entry));
            }
            // Removed by a releaser after our mkdir: start over.
            Err(e) if e.kind() == ErrorKind::NotFound && lost_dir < 1000 => lost_dir += 1,
            Err(e) if mode == LockMode::Read && is_not_writable(&e) => return Ok(None),
            Err(e) => return Err(lock_error(dir, "cannot create a lock entry", e)),
        }
    }
}

/// Step 3: the names of live conflicting entries, deleting dead ones. `Ok(None)` if our own
/// entry is no longer there (the directory was removed under us).
fn conflicts(dir: &Path, mode: LockMode, ours: Option<&Path>) -> Result<Option<Vec<String>>> {
    let our_name = ours.and_then(Path::file_name);
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(if ours.is_some() { None } else { Some(Vec::new()) }),
        Err(e) => return Err(lock_error(dir, "cannot list the lock directory", e)),
    };
    let mut found_ours = false;
    let mut live = Vec::new();
    for item in listing {
        let item = item.map_err(|e| lock_error(dir, "cannot list the lock directory", e))?;
        let name = item.file_name();
        if Some(name.as_os_str()) == our_name {
            found_ours = true;
            continue;
        }
        let Some(name) = name.to_str() else { continue };
        let Some(entry) = Entry::parse(name) else { continue };
        if !entry.conflicts_with(mode) {
            continue;
        }
        if entry.alive() {
            live.push(name.to_string());
        } else {
            // Names are unique, so this can only ever delete that dead holder's entry.
            // NotFound: another opener was first; other errors: a read-only directory,
            // where a read-only opener simply does not count the dead entry.
            let _ = fs::remove_file(item.path());
        }
    }
    if ours.is_some() && !found_ours {
        return Ok(None);
    }
    Ok(Some(live))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_parse() {
        let e = Entry::parse("w.1234.0a1b2c3d-98765.0123456789abcdef").unwrap();
        assert_eq!(e, Entry { mode: LockMode::Write, pid: 1234, start: "0a1b2c3d-98765" });
        assert_eq!(Entry::parse("r.7.0.fedcba9876543210").unwrap().mode, LockMode::Read);
        for bad in [
            "x.1.0.0123456789abcdef",
            "w.0.0.0123456789abcdef",
            "w.-1.0.0123456789abcdef",
            "w.+1.0.0123456789abcdef",
            "w.4294967295.0.0123456789abcdef",
            "w.1.1.0123456789abcdef",
            "w.1.0a1b2c3-1.0123456789abcdef",
            "w.1.0a1b2c3d-.0123456789abcdef",
            "w.1.0.0123456789abcde",
            "w.1.0.0123456789abcdeg",
            "w.1.0.0123456789abcdef.tmp",
            "w.1.0",
            "notes.txt",
            "",
        ] {
            assert_eq!(Entry::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn modes_conflict_unless_both_read() {
        let r = Entry::parse("r.7.0.fedcba9876543210").unwrap();
        let w = Entry::parse("w.7.0.fedcba9876543210").unwrap();
        assert!(!r.conflicts_with(LockMode::Read));
        assert!(r.conflicts_with(LockMode::Write));
        assert!(w.conflicts_with(LockMode::Read));
        assert!(w.conflicts_with(LockMode::Write));
    }

    #[test]
    fn this_process_is_alive_and_its_predecessors_are_not() {
        let me = me();
        let name = format!("w.{}.{}.0123456789abcdef", me.pid, me.start);
        assert!(Entry::parse(&name).unwrap().alive());
        if cfg!(target_os = "linux") {
            assert_ne!(me.start, "0", "Linux has a start identity");
            let boot = boot_id().unwrap();
            let earlier = format!("w.{}.{boot}-1.0123456789abcdef", me.pid);
            assert!(!Entry::parse(&earlier).unwrap().alive());
            let other_boot =
                format!("w.1.{}-1.0123456789abcdef", if boot == "00000000" { "11111111" } else { "00000000" });
            assert!(!Entry::parse(&other_boot).unwrap().alive());
        }
    }

    #[test]
    fn nonces_differ() {
        let a: Vec<u64> = (0..1000).map(|_| random_u64()).collect();
        let mut b = a.clone();
        b.sort_unstable();
        b.dedup();
        assert_eq!(a.len(), b.len());
        for attempt in 0..20 {
            let d = backoff(attempt);
            assert!(d >= Duration::from_millis(1) && d <= Duration::from_millis(50), "{d:?}");
        }
    }
}
