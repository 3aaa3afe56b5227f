//! [`MemoryDevice`]: a device held in a `Vec<u8>`. Works on every target (no `std`).
//!
//! Nothing survives the process, so `sync` is a no-op. Used for in-memory databases, in tests,
//! and as the byte store under the fault-injecting devices.

use super::{read_past_end, BlockDevice};
use crate::engine::sync::RwLock;
use crate::error::Result;
use alloc::vec::Vec;

/// An in-memory block device.
#[derive(Default)]
pub struct MemoryDevice {
    bytes: RwLock<Vec<u8>>,
}

impl MemoryDevice {
    /// An empty device (a new database).
    pub fn new() -> Self {
        Self::default()
    }

    /// A device holding `bytes` (e.g. a database image read from elsewhere).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        MemoryDevice { bytes: RwLock::new(bytes) }
    }

    /// A copy of the device's current bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.read().clone()
    }
}

impl BlockDevice for MemoryDevice {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let bytes = self.bytes.read();
        let end = offset.checked_add(buf.len() as u64).filter(|&e| e <= bytes.len() as u64);
        match end {
            Some(end) => {
                buf.copy_from_slice(&bytes[offset as usize..end as usize]);
                Ok(())
            }
            None => Err(read_past_end(offset, buf.len(), bytes.len() as u64)),
        }
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
        let mut bytes = self.bytes.write();
        let end = offset as usize + data.len();
        if end > bytes.len() {
            bytes.resize(end, 0);
        }
        bytes[offset as usize..end].copy_from_slice(data);
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn len(&self) -> Result<u64> {
        Ok(self.bytes.read().len() as u64)
    }

    fn set_len(&self, len: u64) -> Result<()> {
        self.bytes.write().resize(len as usize, 0);
        Ok(())
    }
}
