//! The storage boundary: [`BlockDevice`], the only way the engine touches storage.
//!
//! A device is a flat, growable array of bytes. The engine reads and writes it at byte
//! offsets, asks for a durability barrier with [`BlockDevice::sync`], and never assumes
//! anything else (no atomic multi-sector writes, no ordering between unsynced writes).
//!
//! # Contract
//! - `read(offset, buf)` fills all of `buf` from `offset`; reading past [`BlockDevice::len`] is
//!   an error. It returns what the last `write` to those bytes wrote, whether or not it was
//!   synced (read-your-writes within one process).
//! - `write(offset, data)` stores `data` at `offset`, growing the device if it ends past `len`
//!   (a gap is zero-filled). It is **not** durable: after a crash it may be missing entirely,
//!   or torn (any subset of its 512-byte sectors present).
//! - `sync()` is the durability barrier: when it returns `Ok`, every write that returned
//!   before the call started, and the current length, survive a crash.
//! - `set_len(len)` truncates or zero-extends; durable after the next `sync`.
//! - **Errors are final.** After any `Err` the engine assumes nothing about the bytes it was
//!   writing and stops writing (the database is poisoned until reopened and recovered).
//! - Methods take `&self` and may be called from several threads at once (reads concurrently
//!   with one writer). The engine never writes a range while it may be read: pages are
//!   copy-on-write and reused only once no reader can see them.
//!
//! # Zero-copy reads
//! A device may expose a read-only memory [`Mapping`] of its bytes (the file backend maps the
//! file). The engine then reads committed pages in place instead of copying them into its
//! cache. See [`BlockDevice::mapping`] for what the device promises.
//!
//! Implementations: [`MemoryDevice`] (any target), `FileDevice` (`std`), and the
//! fault-injecting test devices `FailingDevice` and `PowerLossDevice` in [`fault`].

mod block;
pub(crate) use block::read_past_end;
pub use block::{BlockDevice, Mapping, SECTOR_SIZE};

mod memory;
pub use memory::MemoryDevice;

#[cfg(feature = "std")]
mod file;
#[cfg(feature = "std")]
pub use file::{FileDevice, FileOptions};
#[cfg(feature = "std")]
mod lock;

pub mod fault;
pub use fault::{CrashMode, FailingDevice, PowerLossDevice};
