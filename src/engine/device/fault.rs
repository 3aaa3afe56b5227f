//! Fault-injecting devices for tests, the fuzzer and benchmarks. Both build without `std`.
//!
//! - [`FailingDevice`] wraps any device and fails every operation from the n-th on, to check
//!   that each I/O error surfaces as an error (and poisons the database) instead of a panic or
//!   a silently wrong answer.
//! - [`PowerLossDevice`] is an in-memory disk with a volatile write cache. It keeps what a
//!   power cut would preserve apart from what reads see, and [`PowerLossDevice::crash`] returns
//!   the image a crash would leave under a [`CrashMode`]: unsynced writes lost, kept, or torn
//!   at [`SECTOR_SIZE`] granularity. With [`PowerLossDevice::with_crash_after`] the power goes
//!   out at a chosen operation, so a test can sweep every crash point of a workload.
//!
//! Neither exposes a [`BlockDevice::mapping`]: every read goes through [`BlockDevice::read`].

use super::{read_past_end, BlockDevice, SECTOR_SIZE};
use crate::engine::sync::{Mutex, RwLock};
use crate::error::{Error, Result};
use alloc::string::ToString;
use alloc::vec::Vec;

fn fault(op: &'static str, offset: u64, message: &str) -> Error {
    Error::Io { op, offset, message: message.to_string() }
}

/// A device whose operations all fail, forever, once `fail_after` of them have succeeded.
///
/// `read`, `write`, `sync` and `set_len` count as operations; `len` and `mapping` do not and
/// always pass through. A failed operation does not reach the inner device and fails with
/// `Error::Io { message: "injected failure", .. }`.
pub struct FailingDevice<D: BlockDevice> {
    inner: D,
    counter: Mutex<Counter>,
}

struct Counter {
    ops: u64,
    fail_after: u64,
}

impl<D: BlockDevice> FailingDevice<D> {
    /// Wraps `inner`; operations `0..fail_after` succeed, every later one fails.
    pub fn new(inner: D, fail_after: u64) -> Self {
        FailingDevice { inner, counter: Mutex::new(Counter { ops: 0, fail_after }) }
    }

    /// How many operations have been let through to the inner device so far.
    pub fn ops(&self) -> u64 {
        self.counter.lock().ops
    }

    /// Moves the failure point: operations fail once `ops() >= n` (`u64::MAX`: never).
    pub fn set_fail_after(&self, n: u64) {
        self.counter.lock().fail_after = n;
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// Unwraps the device.
    pub fn into_inner(self) -> D {
        self.inner
    }

    fn admit(&self, op: &'static str, offset: u64) -> Result<()> {
        let mut c = self.counter.lock();
        if c.ops >= c.fail_after {
            return Err(fault(op, offset, "injected failure"));
        }
        c.ops += 1;
        Ok(())
    }
}

impl<D: BlockDevice> BlockDevice for FailingDevice<D> {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.admit("read", offset)?;
        self.inner.read(offset, buf)
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.admit("write", offset)?;
        self.inner.write(offset, data)
    }
    fn sync(&self) -> Result<()> {
        self.admit("sync", 0)?;
        self.inner.sync()
    }
    fn len(&self) -> Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> Result<()> {
        self.admit("set_len", len)?;
        self.inner.set_len(len)
    }
}

/// What happens to the writes not yet synced when [`PowerLossDevice::crash`] cuts the power.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Every unsynced write and length change is lost.
    DropAll,
    /// Every unsynced write and length change reached the disk (the image equals what reads see).
    KeepAll,
    /// Each unsynced write is split into [`SECTOR_SIZE`]-byte pieces aligned to absolute
    /// offsets, and each piece (and each unsynced `set_len`) independently survives or not,
    /// pseudo-randomly but deterministically from `seed`. Survivors are applied in order.
    Torn {
        /// Seed of the keep/drop choices: the same seed gives the same image.
        seed: u64,
    },
}

/// An in-memory disk with a volatile write cache, for crash testing.
///
/// Reads see every write (`live`); only `sync` makes them durable. Writes and length changes
/// since the last sync are remembered in order, so [`PowerLossDevice::crash`] can build the
/// image a power cut would leave. After a crash the length is the durable one, changed only by
/// the pending operations the [`CrashMode`] keeps (a kept write past the end extends it,
/// zero-filling any gap).
///
/// `write`, `sync` and `set_len` are *crash points*: [`PowerLossDevice::ops`] counts those that
/// succeeded. A device made with [`PowerLossDevice::with_crash_after`]`(n)` loses power at
/// crash point `n`: that operation and every later `write`, `sync` and `set_len` fail with
/// `Error::Io { message: "power lost", .. }` and change nothing. Reads keep working on the
/// bytes as they were, and `crash` still tells what the disk holds. A test runs its workload
/// once on a device that never loses power to learn the total `ops()`, then sweeps `n` over
/// `0..total`.
pub struct PowerLossDevice {
    state: RwLock<State>,
}

struct State {
    /// What reads see.
    live: Vec<u8>,
    /// What survives any crash: the bytes as of the last successful sync.
    durable: Vec<u8>,
    /// Operations since the last sync, in order. Applied to `durable`, they give `live`.
    pending: Vec<Pending>,
    ops: u64,
    crash_after: u64,
    crashed: bool,
}

enum Pending {
    Write { offset: usize, data: Vec<u8> },
    SetLen(usize),
}

impl Pending {
    fn apply(&self, image: &mut Vec<u8>) {
        match self {
            Pending::Write { offset, data } => write_at(image, *offset, data),
            Pending::SetLen(len) => image.resize(*len, 0),
        }
    }
}

/// Writes `data` into `image` at `offset`, growing it (zero-filled) as needed.
fn write_at(image: &mut Vec<u8>, offset: usize, data: &[u8]) {
    let end = offset + data.len();
    if end > image.len() {
        image.resize(end, 0);
    }
    image[offset..end].copy_from_slice(data);
}

/// `offset` as an index of an in-memory image that can hold `offset + len` bytes.
fn index(op: &'static str, offset: u64, len: usize) -> Result<usize> {
    usize::try_from(offset)
        .ok()
        .filter(|o| o.checked_add(len).is_some_and(|end| end <= isize::MAX as usize))
        .ok_or_else(|| fault(op, offset, "offset too large for an in-memory device"))
}

/// SplitMix64: a tiny, well-mixed, deterministic generator (no dependency needed).
struct SplitMix64(u64);

impl SplitMix64 {
    fn coin(&mut self) -> bool {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) >> 63 == 1
    }
}

impl Default for PowerLossDevice {
    fn default() -> Self {
        Self::new()
    }
}

impl PowerLossDevice {
    /// An empty device that never loses power by itself.
    pub fn new() -> Self {
        Self::from_bytes(Vec::new())
    }

    /// A device whose durable (and live) bytes are `bytes`, e.g. an image [`crash`] returned.
    ///
    /// [`crash`]: PowerLossDevice::crash
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        PowerLossDevice {
            state: RwLock::new(State {
                live: bytes.clone(),
                durable: bytes,
                pending: Vec::new(),
                ops: 0,
                crash_after: u64::MAX,
                crashed: false,
            }),
        }
    }

    /// An empty device that loses power at crash point `n` (after `n` successful operations).
    pub fn with_crash_after(n: u64) -> Self {
        let dev = Self::new();
        dev.set_crash_after(n);
        dev
    }

    /// Moves the power cut to crash point `n` (`u64::MAX`: never). Has no effect once the
    /// power is already lost.
    pub fn set_crash_after(&self, n: u64) {
        self.state.write().crash_after = n;
    }

    /// How many crash points (`write`, `sync`, `set_len`) have succeeded.
    pub fn ops(&self) -> u64 {
        self.state.read().ops
    }

    /// Whether the power has been lost.
    pub fn crashed(&self) -> bool {
        self.state.read().crashed
    }

    /// The bytes the disk would hold if the power were cut now.
    pub fn crash(&self, mode: CrashMode) -> Vec<u8> {
        let s = self.state.read();
        let mut image = s.durable.clone();
        match mode {
            CrashMode::DropAll => {}
            CrashMode::KeepAll => s.pending.iter().for_each(|p| p.apply(&mut image)),
            CrashMode::Torn { seed } => {
                let mut rng = SplitMix64(seed);
                for p in &s.pending {
                    let Pending::Write { offset, data } = p else {
                        if rng.coin() {
                            p.apply(&mut image);
                        }
                        continue;
                    };
                    let (mut start, end) = (*offset, offset + data.len());
                    while start < end {
                        let piece_end = end.min((start / SECTOR_SIZE + 1) * SECTOR_SIZE);
                        if rng.coin() {
                            write_at(&mut image, start, &data[start - offset..piece_end - offset]);
                        }
                        start = piece_end;
                    }
                }
            }
        }
        image
    }
}

impl State {
    /// Counts a crash point, or fails it (for good) if the power is out.
    fn admit(&mut self, op: &'static str, offset: u64) -> Result<()> {
        if self.crashed || self.ops >= self.crash_after {
            self.crashed = true;
            return Err(fault(op, offset, "power lost"));
        }
        self.ops += 1;
        Ok(())
    }
}

impl BlockDevice for PowerLossDevice {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let s = self.state.read();
        let live = &s.live;
        match offset.checked_add(buf.len() as u64) {
            Some(end) if end <= live.len() as u64 => {
                buf.copy_from_slice(&live[offset as usize..end as usize]);
                Ok(())
            }
            _ => Err(read_past_end(offset, buf.len(), live.len() as u64)),
        }
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
        let mut s = self.state.write();
        let at = index("write", offset, data.len())?;
        s.admit("write", offset)?;
        write_at(&mut s.live, at, data);
        s.pending.push(Pending::Write { offset: at, data: data.to_vec() });
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        let mut guard = self.state.write();
        let s = &mut *guard;
        s.admit("sync", 0)?;
        // Replaying the pending operations costs what was written, not the device size.
        s.pending.drain(..).for_each(|p| p.apply(&mut s.durable));
        debug_assert_eq!(s.durable.len(), s.live.len());
        Ok(())
    }

    fn len(&self) -> Result<u64> {
        Ok(self.state.read().live.len() as u64)
    }

    fn set_len(&self, len: u64) -> Result<()> {
        let mut s = self.state.write();
        let len_at = index("set_len", len, 0)?;
        s.admit("set_len", len)?;
        s.live.resize(len_at, 0);
        s.pending.push(Pending::SetLen(len_at));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::device::MemoryDevice;
    use alloc::vec;

    fn message(r: Result<()>) -> alloc::string::String {
        match r {
            Err(Error::Io { message, .. }) => message,
            other => panic!("expected an I/O error, got {other:?}"),
        }
    }

    #[test]
    fn failing_device_fails_exactly_at_op_n() {
        for n in 0..8u64 {
            let dev = FailingDevice::new(MemoryDevice::new(), n);
            let mut buf = [0; 4];
            let results = [
                dev.write(0, b"abcd"),
                dev.read(0, &mut buf),
                dev.sync(),
                dev.set_len(8),
                dev.write(8, b"efgh"),
                dev.read(4, &mut buf),
                dev.sync(),
            ];
            for (i, r) in results.into_iter().enumerate() {
                if (i as u64) < n {
                    r.unwrap();
                } else {
                    assert_eq!(message(r), "injected failure", "op {i} with n = {n}");
                }
            }
            assert_eq!(dev.ops(), n.min(7));
            // len and mapping are not operations and keep working.
            assert_eq!(dev.len().unwrap(), dev.inner().len().unwrap());
            assert!(dev.mapping().is_none());
            // Failures are final until the failure point is moved.
            assert!(dev.sync().is_err());
            dev.set_fail_after(u64::MAX);
            dev.sync().unwrap();
        }
    }

    #[test]
    fn failed_write_does_not_reach_the_inner_device() {
        let dev = FailingDevice::new(MemoryDevice::new(), 1);
        dev.write(0, b"kept").unwrap();
        assert!(dev.write(0, b"lost").is_err());
        assert_eq!(dev.into_inner().to_bytes(), b"kept");
    }

    #[test]
    fn power_loss_unsynced_writes_depend_on_mode() {
        let dev = PowerLossDevice::new();
        dev.write(0, b"synced").unwrap();
        dev.sync().unwrap();
        dev.write(0, b"SYN").unwrap();
        dev.write(10, b"late").unwrap();
        let mut buf = [0; 6];
        dev.read(0, &mut buf).unwrap();
        assert_eq!(&buf, b"SYNced", "reads see unsynced writes");
        assert_eq!(dev.crash(CrashMode::DropAll), b"synced");
        assert_eq!(dev.crash(CrashMode::KeepAll), b"SYNced\0\0\0\0late");
        for seed in 0..32 {
            let image = dev.crash(CrashMode::Torn { seed });
            assert!(image.starts_with(b"syn") || image.starts_with(b"SYN"));
            assert_eq!(&image[3..6], b"ced", "synced bytes survive every crash");
        }
        dev.sync().unwrap();
        for mode in [CrashMode::DropAll, CrashMode::KeepAll, CrashMode::Torn { seed: 7 }] {
            assert_eq!(dev.crash(mode), b"SYNced\0\0\0\0late");
        }
    }

    #[test]
    fn torn_writes_keep_some_sectors_and_are_deterministic() {
        let s = SECTOR_SIZE;
        let old = vec![0xAA; 10 * s];
        let dev = PowerLossDevice::from_bytes(old.clone());
        // 8 pieces: a partial sector at each end, sector-aligned in absolute offsets.
        let (offset, new) = (s / 2, vec![0x55; 7 * s]);
        dev.write(offset as u64, &new).unwrap();
        let mut mixed = false;
        let mut images = Vec::new();
        for seed in 0..16 {
            let image = dev.crash(CrashMode::Torn { seed });
            assert_eq!(image, dev.crash(CrashMode::Torn { seed }), "same seed, same image");
            assert_eq!(image.len(), old.len());
            let mut kept = 0;
            for sector in image.chunks(s) {
                // Each sector is either untouched or holds the new bytes where the write was.
                assert!(sector.iter().all(|&b| b == 0xAA) || sector.contains(&0x55));
                kept += usize::from(sector.contains(&0x55));
            }
            let untouched = image.chunks(s).filter(|c| c.iter().all(|&b| b == 0xAA)).count();
            mixed |= kept > 0 && untouched > 2;
            images.push(image);
        }
        assert!(mixed, "some seed keeps some sectors and drops others");
        images.dedup();
        assert!(images.len() > 1, "seeds differ");
    }

    #[test]
    fn torn_write_past_the_end_zero_fills_dropped_sectors() {
        let dev = PowerLossDevice::new();
        dev.write(0, &vec![9; 4 * SECTOR_SIZE]).unwrap();
        let images: Vec<_> = (0..32).map(|seed| dev.crash(CrashMode::Torn { seed })).collect();
        for image in &images {
            assert_eq!(image.len() % SECTOR_SIZE, 0);
            for sector in image.chunks(SECTOR_SIZE) {
                assert!(sector.iter().all(|&b| b == 9) || sector.iter().all(|&b| b == 0));
            }
        }
        assert!(images.iter().any(|i| i.is_empty()) && images.iter().any(|i| i.len() == 2048));
    }

    #[test]
    fn length_changes_are_durable_only_after_sync() {
        let dev = PowerLossDevice::from_bytes(vec![1; 4096]);
        dev.set_len(1024).unwrap();
        assert_eq!(dev.len().unwrap(), 1024);
        assert_eq!(dev.crash(CrashMode::DropAll), vec![1; 4096]);
        assert_eq!(dev.crash(CrashMode::KeepAll), vec![1; 1024]);
        dev.set_len(2048).unwrap();
        let mut grown = vec![1; 1024];
        grown.resize(2048, 0);
        assert_eq!(dev.crash(CrashMode::KeepAll), grown, "KeepAll replays shrink then grow");
        dev.sync().unwrap();
        assert_eq!(dev.crash(CrashMode::DropAll), grown);
        dev.set_len(8192).unwrap();
        assert_eq!(dev.crash(CrashMode::DropAll).len(), 2048);
    }

    /// Runs a fixed workload, stopping at the first error.
    fn workload(dev: &PowerLossDevice) -> Result<()> {
        dev.write(0, b"one")?;
        dev.sync()?;
        dev.write(3, b"two")?;
        dev.set_len(16)?;
        dev.sync()?;
        dev.write(0, b"ONE")
    }

    #[test]
    fn crash_point_sweep() {
        let clean = PowerLossDevice::new();
        workload(&clean).unwrap();
        let total = clean.ops();
        assert_eq!(total, 6);
        assert!(!clean.crashed());
        for n in 0..total {
            let dev = PowerLossDevice::with_crash_after(n);
            assert_eq!(message(workload(&dev)), "power lost");
            assert!(dev.crashed());
            assert_eq!(dev.ops(), n);
            // Everything later fails too, and changes nothing.
            let before = dev.crash(CrashMode::KeepAll);
            assert!(dev.write(0, b"x").is_err() && dev.sync().is_err() && dev.set_len(0).is_err());
            assert_eq!(dev.crash(CrashMode::KeepAll), before);
            // Reads still work on the live bytes.
            let mut buf = vec![0; dev.len().unwrap() as usize];
            dev.read(0, &mut buf).unwrap();
            assert_eq!(buf, before);
            let durable = dev.crash(CrashMode::DropAll);
            let expected: &[u8] = match n {
                0 | 1 => b"",
                2..=4 => b"one",
                _ => b"onetwo\0\0\0\0\0\0\0\0\0\0",
            };
            assert_eq!(durable, expected, "crash at point {n}");
        }
    }

    #[test]
    fn power_loss_read_past_end_and_no_mapping() {
        let dev = PowerLossDevice::from_bytes(vec![0; 10]);
        let mut buf = [0; 4];
        assert!(dev.read(8, &mut buf).is_err());
        assert!(dev.read(u64::MAX, &mut buf).is_err());
        assert!(dev.mapping().is_none());
    }
}
