//! [`FileDevice`]: a database file on the local file system (`std` only).
//!
//! Owns all OS-facing I/O of the native build: opening (and creating) the file, the locks that
//! keep a second opener out, positional writes (`pwrite`), the durability barrier
//! (`fdatasync`; `F_FULLFSYNC` on Apple targets, as `std` does), and reads, either through a
//! read-only memory map (zero-copy, see [`BlockDevice::mapping`]) or through `pread`.
//!
//! # Locks
//! Two, both held for the device's life:
//! - the lock directory `FILE-lock/` (module `lock`, the protocol every opener honours,
//!   Node processes and worker threads included, which cannot `flock`; see
//!   docs/ARCHITECTURE.md, "Locking a database file");
//! - an advisory `flock`-style lock on the file itself (`File::try_lock`): exclusive for a
//!   read-write open, shared for a read-only one. Between native processes it is belt and
//!   braces: the kernel drops it when a process dies, whatever the lock directory says.
//!
//! A conflicting opener gets [`Error::Locked`], or waits up to
//! [`FileOptions::lock_timeout`] for the holder to close.
//!
//! # The memory map
//! On 64-bit Unix the device maps 1 TiB of the file once, at open, shared and read-only, as
//! LMDB does: mapping past the end of a file is allowed, only *touching* a page wholly past
//! end-of-file faults (`SIGBUS`), and neither this device nor the engine reads at or past
//! [`BlockDevice::len`]. Because the mapping is made once, its address never changes and
//! growing the file never remaps. Where no map can be made (32-bit or non-Unix targets, an
//! address-space limit, or `open_with(path, false)`) every read is a `pread`, and bytes past
//! the reserve are always read with `pread`.

use super::lock::{self, DirLock, LockMode};
use super::{read_past_end, BlockDevice, Mapping};
use crate::engine::sync::RwLock;
use crate::error::{Error, Result};
use alloc::format;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use memmap2::MmapRaw;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::path::Path;
use std::time::{Duration, Instant};

/// Bytes of address space the file map reserves up front (1 TiB), on targets that map.
#[cfg(all(unix, target_pointer_width = "64"))]
const MAP_RESERVE: usize = 1 << 40;

/// How [`FileDevice::open_with_options`] opens a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileOptions {
    /// Open the file read-only (default false): `O_RDONLY`, never created, a shared lock
    /// (other read-only openers may hold it too; a read-write opener may not), and
    /// `write`/`set_len`/`sync` fail. If the lock directory cannot be created or written
    /// because the file's directory is read-only, the open still proceeds (it cannot register,
    /// but still refuses while a live read-write holder is registered).
    pub read_only: bool,
    /// Map the file for zero-copy reads where possible (default true); false: `pread` only.
    pub use_mmap: bool,
    /// How long to wait for a conflicting holder to close before failing with
    /// [`Error::Locked`] (default zero: fail at once).
    pub lock_timeout: Duration,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions { read_only: false, use_mmap: true, lock_timeout: Duration::ZERO }
    }
}

/// A block device backed by one locked file.
///
/// # Soundness of the map
/// [`FileDevice::read`] and the engine's zero-copy reads dereference the shared read-only
/// mapping. That is sound because:
/// - the file is locked (the lock directory and a `flock`-style lock, held for the device's
///   life), so no other *cooperating* read-write handle, in this process or another, can open
///   it while we do, and while we write no other handle can have it open at all. The locks
///   are advisory: a process that ignores them could still write or truncate the file under
///   us, and a read of a truncated page would then fault. That is the same caveat LMDB
///   documents, and the reason databases must not be shared with non-Tessera writers;
/// - bytes are only read below the cached length (`len`), which always lies at or below the
///   file's real length: it is raised only after a `pwrite` has extended the file, and a shrink
///   (`set_len`) holds `resize` exclusively, so no read through the map runs while pages are
///   being cut off;
/// - writes go through `pwrite` into the same page cache the shared mapping shows, so the map is
///   coherent with `write` (Linux and macOS have a unified buffer cache);
/// - the mapping is dropped with the device, never earlier, and never moves;
/// - the engine never reads a range while writing it (pages are copy-on-write), so a read never
///   observes a write in progress. Reads copy with raw pointers and never form a `&[u8]` over
///   mapped bytes that could change underneath it.
pub struct FileDevice {
    file: File,
    /// Opened read-only: writes fail.
    read_only: bool,
    /// Our entry in the lock directory, released on drop (`None`: a private file).
    _lock: Option<DirLock>,
    /// The shared read-only map of `MAP_RESERVE` bytes, if one could be made.
    map: Option<MmapRaw>,
    /// The file's length, as this handle last set it (no `stat` per call).
    len: AtomicU64,
    /// Shared by reads and writes, exclusive for `set_len`: a shrink never races a read.
    resize: RwLock<()>,
    /// Serializes seek+read/write pairs where the OS has no positional I/O.
    #[cfg(not(unix))]
    cursor: crate::engine::sync::Mutex<()>,
}

impl FileDevice {
    /// Opens (creating it if missing) the file at `path` read-write, locks it and maps it when
    /// possible.
    ///
    /// Fails with [`Error::Locked`] if any other opener, including another `FileDevice` in
    /// this process or a Node process or worker thread, holds the file.
    pub fn open(path: impl AsRef<Path>) -> Result<FileDevice> {
        Self::open_with_options(path, &FileOptions::default())
    }

    /// As [`FileDevice::open`]; `use_mmap = false` reads with `pread` only and
    /// [`BlockDevice::mapping`] returns `None`.
    pub fn open_with(path: impl AsRef<Path>, use_mmap: bool) -> Result<FileDevice> {
        Self::open_with_options(path, &FileOptions { use_mmap, ..FileOptions::default() })
    }

    /// Opens an existing file read-only with a shared lock (see [`FileOptions::read_only`]).
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<FileDevice> {
        Self::open_with_options(path, &FileOptions { read_only: true, ..FileOptions::default() })
    }

    /// Opens the file at `path` as `options` say.
    pub fn open_with_options(path: impl AsRef<Path>, options: &FileOptions) -> Result<FileDevice> {
        Self::open_inner(path.as_ref(), options, true)
    }

    /// Opens (read-write) a file that no other opener can know of — a temporary file this
    /// process just created under a unique name (the SQL layer's spill files) — with its
    /// `flock` but without a lock directory beside it.
    #[cfg_attr(not(feature = "sql"), allow(dead_code))]
    pub(crate) fn open_private(path: &Path) -> Result<FileDevice> {
        Self::open_inner(path, &FileOptions::default(), false)
    }

    fn open_inner(path: &Path, options: &FileOptions, lock_dir: bool) -> Result<FileDevice> {
        let deadline = Instant::now() + options.lock_timeout;
        let fail = |op, e: std::io::Error| Error::Io { op, offset: 0, message: format!("{}: {e}", path.display()) };
        let mut open = OpenOptions::new();
        open.read(true);
        let (file, created) = if options.read_only {
            (open.open(path).map_err(|e| fail("open", e))?, false)
        } else {
            open.write(true);
            match open.clone().create_new(true).open(path) {
                Ok(file) => (file, true),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    (open.open(path).map_err(|e| fail("open", e))?, false)
                }
                Err(e) => return Err(fail("open", e)),
            }
        };
        // The lock directory sits beside the file's real path, so every name of the file
        // (relative, through symlinks) finds the same one.
        let real = std::fs::canonicalize(path).map_err(|e| fail("open", e))?;
        let mode = if options.read_only { LockMode::Read } else { LockMode::Write };
        // flock first: between native processes it decides at once, and a loser never touches
        // the lock directory.
        loop {
            let r = if options.read_only { file.try_lock_shared() } else { file.try_lock() };
            match r {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5).min(deadline - Instant::now()));
                }
                Err(TryLockError::WouldBlock) => return Err(Error::Locked),
                Err(TryLockError::Error(e)) => return Err(fail("lock", e)),
            }
        }
        let dir_lock = match lock_dir {
            true => Some(lock::acquire(&real, mode, deadline.saturating_duration_since(Instant::now()))?),
            false => None,
        };
        if created {
            sync_parent_dir(path).map_err(|e| fail("open", e))?;
        }
        let len = file.metadata().map_err(|e| fail("open", e))?.len();
        let map = if options.use_mmap { map_file(&file) } else { None };
        Ok(FileDevice {
            file,
            read_only: options.read_only,
            _lock: dir_lock,
            map,
            len: AtomicU64::new(len),
            resize: RwLock::new(()),
            #[cfg(not(unix))]
            cursor: crate::engine::sync::Mutex::new(()),
        })
    }

    /// Whether the file was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn refuse_if_read_only(&self, op: &'static str, offset: u64) -> Result<()> {
        if self.read_only {
            return Err(Error::Io { op, offset, message: "the database file is open read-only".into() });
        }
        Ok(())
    }

    #[cfg(unix)]
    fn pread(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }

    #[cfg(unix)]
    fn pwrite(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(&self.file, data, offset)
    }

    #[cfg(not(unix))]
    fn pread(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let _cursor = self.cursor.lock();
        (&self.file).seek(SeekFrom::Start(offset))?;
        (&self.file).read_exact(buf)
    }

    #[cfg(not(unix))]
    fn pwrite(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        use std::io::{Seek, SeekFrom, Write};
        let _cursor = self.cursor.lock();
        (&self.file).seek(SeekFrom::Start(offset))?;
        (&self.file).write_all(data)
    }
}

/// Maps `MAP_RESERVE` bytes of `file` shared and read-only; `None` if the OS refuses.
#[cfg(all(unix, target_pointer_width = "64"))]
fn map_file(file: &File) -> Option<MmapRaw> {
    memmap2::MmapOptions::new().len(MAP_RESERVE).map_raw_read_only(file).ok()
}

/// This target does not map: past-EOF mappings are not portable (Windows grows the file).
#[cfg(not(all(unix, target_pointer_width = "64")))]
fn map_file(_file: &File) -> Option<MmapRaw> {
    None
}

/// Makes a newly created file's directory entry durable (Unix; elsewhere a no-op).
#[cfg(unix)]
fn sync_parent_dir(path: &Path) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

#[cfg(not(unix))]
fn sync_parent_dir(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

fn io_error(op: &'static str, offset: u64, e: std::io::Error) -> Error {
    Error::Io { op, offset, message: format!("{e}") }
}

impl BlockDevice for FileDevice {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let _resize = self.resize.read();
        let len = self.len.load(Ordering::Acquire);
        let end = match offset.checked_add(buf.len() as u64) {
            Some(end) if end <= len => end,
            _ => return Err(read_past_end(offset, buf.len(), len)),
        };
        // Always `pread`, never a copy from the map: reads here may touch bytes no write ever
        // stored (a hole: the log's tail past a write that failed for lack of space, a file
        // extended by `set_len`), and a fault on a hole of a file whose file system is full
        // (tmpfs allocates a page even to read one) is SIGBUS, where `pread` returns zeros.
        // The engine's zero-copy reads through `mapping` only touch pages it wrote and
        // committed.
        debug_assert!(end <= len);
        self.pread(offset, buf).map_err(|e| io_error("read", offset, e))
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.refuse_if_read_only("write", offset)?;
        if data.is_empty() {
            // Nothing to store, but a write ending past the end still grows the device.
            let grows = offset > self.len.load(Ordering::Acquire);
            return if grows { self.set_len(offset) } else { Ok(()) };
        }
        let end = offset.checked_add(data.len() as u64).ok_or_else(|| Error::Io {
            op: "write",
            offset,
            message: "write past the largest possible offset".into(),
        })?;
        let _resize = self.resize.read();
        self.pwrite(offset, data).map_err(|e| io_error("write", offset, e))?;
        self.len.fetch_max(end, Ordering::Release);
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.refuse_if_read_only("sync", 0)?;
        self.file.sync_data().map_err(|e| io_error("sync", 0, e))
    }

    fn len(&self) -> Result<u64> {
        Ok(self.len.load(Ordering::Acquire))
    }

    fn set_len(&self, len: u64) -> Result<()> {
        self.refuse_if_read_only("set_len", len)?;
        let _resize = self.resize.write();
        self.file.set_len(len).map_err(|e| io_error("set_len", len, e))?;
        self.len.store(len, Ordering::Release);
        Ok(())
    }

    fn mapping(&self) -> Option<Mapping> {
        // The promises `BlockDevice::mapping` asks for hold for the reasons listed under
        // "Soundness of the map" on `FileDevice`; the caller keeps its side (reads below `len`).
        let map = self.map.as_ref()?;
        Some(Mapping { base: NonNull::new(map.as_ptr().cast_mut())?, len: map.len() })
    }
}

impl fmt::Debug for FileDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileDevice")
            .field("len", &self.len.load(Ordering::Relaxed))
            .field("mapped", &self.map.is_some())
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn temp_path() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.tsr");
        (dir, path)
    }

    fn pattern(n: usize, salt: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt)).collect()
    }

    /// Bytes `offset..offset + n` read straight through the device's mapping.
    fn via_map(dev: &FileDevice, offset: usize, n: usize) -> Vec<u8> {
        let m = dev.mapping().expect("mapped");
        assert!(offset + n <= m.len && (offset + n) as u64 <= dev.len().unwrap());
        // SAFETY: in bounds of both the mapping and the device length, checked above.
        unsafe { core::slice::from_raw_parts(m.base.as_ptr().add(offset), n).to_vec() }
    }

    fn round_trip(use_mmap: bool) {
        let (_dir, path) = temp_path();
        let dev = FileDevice::open_with(&path, use_mmap).unwrap();
        assert_eq!(dev.mapping().is_some(), use_mmap && cfg!(all(unix, target_pointer_width = "64")));
        assert!(dev.is_empty().unwrap());
        let a = pattern(8192, 1);
        dev.write(0, &a).unwrap();
        dev.write(20_000, b"tail").unwrap();
        assert_eq!(dev.len().unwrap(), 20_004);
        let mut buf = vec![0; 8192];
        dev.read(0, &mut buf).unwrap();
        assert_eq!(buf, a);
        let mut gap = vec![1; 20_000 - 8192];
        dev.read(8192, &mut gap).unwrap();
        assert!(gap.iter().all(|&b| b == 0), "gap is zero-filled");
        let mut tail = [0; 4];
        dev.read(20_000, &mut tail).unwrap();
        assert_eq!(&tail, b"tail");
        // Overwrite in place: read-your-writes.
        dev.write(100, b"xyz").unwrap();
        dev.read(99, &mut tail).unwrap();
        assert_eq!(&tail, &[a[99], b'x', b'y', b'z']);
        dev.sync().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 20_004);
    }

    #[test]
    fn round_trip_through_map() {
        round_trip(true);
    }

    #[test]
    fn round_trip_through_pread() {
        round_trip(false);
    }

    #[test]
    fn read_past_end_errors() {
        for use_mmap in [true, false] {
            let (_dir, path) = temp_path();
            let dev = FileDevice::open_with(&path, use_mmap).unwrap();
            let mut buf = [0; 16];
            assert!(matches!(dev.read(0, &mut buf), Err(Error::Io { op: "read", .. })));
            dev.write(0, &[7; 100]).unwrap();
            assert!(dev.read(90, &mut buf).is_err());
            assert!(dev.read(u64::MAX - 4, &mut buf).is_err());
            dev.read(84, &mut buf).unwrap();
            assert_eq!(buf, [7; 16]);
        }
    }

    #[test]
    fn set_len_shrinks_and_grows() {
        for use_mmap in [true, false] {
            let (_dir, path) = temp_path();
            let dev = FileDevice::open_with(&path, use_mmap).unwrap();
            dev.write(0, &[0xAB; 3 * 4096]).unwrap();
            dev.set_len(4096).unwrap();
            assert_eq!(dev.len().unwrap(), 4096);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
            let mut one = [0; 1];
            assert!(dev.read(4096, &mut one).is_err());
            dev.set_len(3 * 4096).unwrap();
            let mut buf = vec![1; 3 * 4096];
            dev.read(0, &mut buf).unwrap();
            assert!(buf[..4096].iter().all(|&b| b == 0xAB));
            assert!(buf[4096..].iter().all(|&b| b == 0), "regrown bytes are zero");
        }
    }

    #[test]
    fn second_open_is_locked_until_drop() {
        let (_dir, path) = temp_path();
        let dev = FileDevice::open(&path).unwrap();
        dev.write(0, b"persisted").unwrap();
        dev.sync().unwrap();
        assert_eq!(FileDevice::open(&path).unwrap_err(), Error::Locked);
        assert_eq!(FileDevice::open_with(&path, false).unwrap_err(), Error::Locked);
        drop(dev);
        let dev = FileDevice::open(&path).unwrap();
        assert_eq!(dev.len().unwrap(), 9);
        let mut buf = [0; 9];
        dev.read(0, &mut buf).unwrap();
        assert_eq!(&buf, b"persisted");
    }

    #[test]
    fn open_error_names_the_path() {
        let (dir, _) = temp_path();
        let path = dir.path().join("missing-dir").join("db.tsr");
        match FileDevice::open(&path) {
            Err(Error::Io { op: "open", message, .. }) => assert!(message.contains("missing-dir")),
            other => panic!("expected an open error, got {other:?}"),
        }
    }

    #[cfg(all(unix, target_pointer_width = "64"))]
    #[test]
    fn writes_are_visible_through_the_mapping() {
        let (_dir, path) = temp_path();
        let dev = FileDevice::open(&path).unwrap();
        assert_eq!(dev.mapping().map(|m| m.len), Some(MAP_RESERVE));
        let a = pattern(10_000, 9);
        dev.write(0, &a).unwrap();
        assert_eq!(via_map(&dev, 0, a.len()), a);
        // Growing the file later is visible at the same address, without remapping.
        let base = dev.mapping().unwrap().base;
        dev.write(1 << 20, b"far").unwrap();
        assert_eq!(dev.mapping().unwrap().base, base);
        assert_eq!(via_map(&dev, 1 << 20, 3), b"far");
        dev.write(5, b"new").unwrap();
        assert_eq!(via_map(&dev, 4, 5), [a[4], b'n', b'e', b'w', a[8]]);
    }

    #[test]
    fn empty_write_past_the_end_grows() {
        let (_dir, path) = temp_path();
        let dev = FileDevice::open(&path).unwrap();
        dev.write(100, &[]).unwrap();
        assert_eq!(dev.len().unwrap(), 100);
        dev.write(50, &[]).unwrap();
        assert_eq!(dev.len().unwrap(), 100);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 100);
    }

    /// Reads racing shrinks must fail cleanly, never touch truncated pages of the map (SIGBUS).
    #[test]
    fn reads_racing_shrinks_never_fault() {
        let (_dir, path) = temp_path();
        let dev = FileDevice::open(&path).unwrap();
        let stop = core::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for t in 0..3u64 {
                let (dev, stop) = (&dev, &stop);
                scope.spawn(move || {
                    let mut buf = [0; 4096];
                    let mut i = t;
                    while !stop.load(Ordering::Relaxed) {
                        i = (i + 7) % 16;
                        let _ = dev.read(i * 4096, &mut buf);
                    }
                });
            }
            for _ in 0..300 {
                dev.write(0, &[3; 16 * 4096]).unwrap();
                dev.set_len(0).unwrap();
            }
            stop.store(true, Ordering::Relaxed);
        });
    }

    #[test]
    fn reopen_sees_existing_length() {
        let (_dir, path) = temp_path();
        std::fs::write(&path, pattern(5000, 3)).unwrap();
        let dev = FileDevice::open(&path).unwrap();
        assert_eq!(dev.len().unwrap(), 5000);
        let mut buf = vec![0; 5000];
        dev.read(0, &mut buf).unwrap();
        assert_eq!(buf, pattern(5000, 3));
    }
}
