//! The [`BlockDevice`] trait and its [`Mapping`]: the contract the module docs of `device`
//! state, as types.

use crate::error::Result;
use core::ptr::NonNull;

/// Bytes sectors tear at: the unit of atomicity the engine assumes (and no more).
pub const SECTOR_SIZE: usize = 512;

/// A read-only view of a device's bytes in memory.
#[derive(Clone, Copy, Debug)]
pub struct Mapping {
    /// Address of byte 0 of the device.
    pub base: NonNull<u8>,
    /// How many bytes from `base` the mapping reserves. Only bytes below both this and the
    /// device's current [`BlockDevice::len`] may be read.
    pub len: usize,
}

// SAFETY: a Mapping is an address and a length; it grants no access by itself. Readers
// dereference it only under the contract of `BlockDevice::mapping`, which holds across threads
// (the mapping stays valid as long as the device lives, whichever thread reads it).
unsafe impl Send for Mapping {}
// SAFETY: as above; the mapped bytes are only read through shared references.
unsafe impl Sync for Mapping {}

/// A flat, growable, byte-addressed storage device. See the [module docs](crate::device) for
/// the contract.
pub trait BlockDevice: Send + Sync {
    /// Fill `buf` with the bytes at `offset..offset + buf.len()`.
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<()>;
    /// Store `data` at `offset` (not durable until [`BlockDevice::sync`]).
    fn write(&self, offset: u64, data: &[u8]) -> Result<()>;
    /// Durability barrier: all completed writes and the length survive a crash once this returns.
    fn sync(&self) -> Result<()>;
    /// Current length in bytes.
    fn len(&self) -> Result<u64>;
    /// Truncate or zero-extend to `len` bytes.
    fn set_len(&self, len: u64) -> Result<()>;
    /// Whether the device is empty (a new database).
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
    /// An optional zero-copy view of the device's bytes.
    ///
    /// A device that returns `Some(m)` promises, for as long as it lives: `m.base` stays
    /// valid and stable; for every offset `o < min(m.len, self.len())`, `m.base + o` reads the
    /// byte most recently written at `o` (the mapping is coherent with `write`); and nothing
    /// outside this process changes those bytes. The engine in turn only reads offsets below
    /// the length the device had when the pages were written, and never a range it is writing.
    fn mapping(&self) -> Option<Mapping> {
        None
    }
}

/// Smart pointers to a device are devices.
macro_rules! forward_device {
    ($($ptr:ident)::+) => {
        impl<T: BlockDevice + ?Sized> BlockDevice for $($ptr)::+<T> {
            fn read(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
                (**self).read(offset, buf)
            }
            fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
                (**self).write(offset, data)
            }
            fn sync(&self) -> Result<()> {
                (**self).sync()
            }
            fn len(&self) -> Result<u64> {
                (**self).len()
            }
            fn set_len(&self, len: u64) -> Result<()> {
                (**self).set_len(len)
            }
            fn mapping(&self) -> Option<Mapping> {
                (**self).mapping()
            }
        }
    };
}
forward_device!(alloc::boxed::Box);
forward_device!(alloc::sync::Arc);

/// The error for a read that runs past the end of a device.
pub(crate) fn read_past_end(offset: u64, len: usize, device_len: u64) -> crate::Error {
    crate::Error::Io {
        op: "read",
        offset,
        message: alloc::format!("read of {len} bytes past the end of the device ({device_len} bytes)"),
    }
}
