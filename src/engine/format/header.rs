//! Page 0: the file header and the two commit slots (each written twice, in its own sector).

use super::{
    crc_skipping, get_u32, get_u64, put_u32, put_u64, FORMAT_VERSION, MAGIC, MAX_PAGE_SIZE, MIN_PAGE_SIZE,
    OLDEST_FORMAT_VERSION,
};
use crate::error::{Error, Result};
use alloc::format;

/// Offsets of the two commit slots in page 0 (each in its own 512-byte sector).
pub const SLOT_OFFSETS: [u64; 2] = [512, 1024];
/// Offsets of their mirrors (format 2): each slot is written twice, in two sectors, so one
/// damaged copy never costs a checkpoint.
pub const MIRROR_OFFSETS: [u64; 2] = [1536, 2048];
/// Bytes of a commit slot.
pub const SLOT_LEN: usize = 128;
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"TSLT");

/// Header flag: the file is being created. `create` writes the header with this flag first
/// (and syncs) and clears it last, so an interrupted creation is told apart from a header
/// destroyed after commits were made: the first starts over, the second is damage.
pub const HEADER_CREATING: u32 = 1;

/// The file header (first 64 bytes of page 0): written at creation (twice: see
/// [`HEADER_CREATING`]) and when an older format is upgraded.
///
/// ```text
/// 0 magic "TESSERA\0" | 8 version u32 | 12 page size u32 | 16 crc u32 | 20 flags u32 | 24..64 zero
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// Page size in bytes, fixed at creation.
    pub page_size: u32,
    /// The format version the file is in.
    pub version: u32,
    /// [`HEADER_CREATING`] or 0.
    pub flags: u32,
}

impl FileHeader {
    /// Encode into the first 64 bytes of `b`.
    pub fn encode(&self, b: &mut [u8]) {
        b[..64].fill(0);
        b[0..8].copy_from_slice(&MAGIC);
        put_u32(b, 8, self.version);
        put_u32(b, 12, self.page_size);
        put_u32(b, 20, self.flags);
        let crc = crc_skipping(&b[..64], 16);
        put_u32(b, 16, crc);
    }

    /// Decode and validate the first 64 bytes of a file.
    pub fn decode(b: &[u8]) -> Result<Self> {
        if b.len() < 64 || b[0..8] != MAGIC {
            return Err(Error::NotADatabase("bad magic bytes".into()));
        }
        if get_u32(b, 16) != crc_skipping(&b[..64], 16) {
            return Err(Error::corrupted(0, "the file header fails its checksum"));
        }
        let version = get_u32(b, 8);
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion(version));
        }
        let page_size = get_u32(b, 12);
        if !valid_page_size(page_size as usize) {
            return Err(Error::corrupted(0, format!("the file header names an invalid page size {page_size}")));
        }
        let flags = get_u32(b, 20);
        if flags & !HEADER_CREATING != 0 || (version < 2 && flags != 0) {
            return Err(Error::corrupted(0, format!("the file header has unknown flags {flags:#x}")));
        }
        Ok(FileHeader { page_size, version, flags })
    }
}

/// Whether `n` is an allowed page size (a power of two in 4 KiB..=64 KiB).
pub fn valid_page_size(n: usize) -> bool {
    n.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&n)
}

/// A commit slot: the root of one durable checkpoint. Two slots alternate; the valid one with
/// the highest `seq` is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitSlot {
    /// Checkpoint sequence number (increases by one per checkpoint).
    pub seq: u64,
    /// Id of the last transaction whose effects the checkpoint holds.
    pub txn_id: u64,
    /// Root page of the catalog tree (0 = no tables).
    pub catalog_root: u64,
    /// First page of the persisted free list (0 = none).
    pub freelist_head: u64,
    /// Pages in use: every page id below this is header, log, tree, overflow, free or freelist.
    pub page_count: u64,
    /// First page of the log region.
    pub log_start: u64,
    /// Pages in the log region.
    pub log_pages: u64,
}

impl CommitSlot {
    /// Encode into `SLOT_LEN` bytes.
    pub fn encode(&self) -> [u8; SLOT_LEN] {
        let mut b = [0u8; SLOT_LEN];
        put_u32(&mut b, 0, SLOT_MAGIC);
        put_u64(&mut b, 8, self.seq);
        put_u64(&mut b, 16, self.txn_id);
        put_u64(&mut b, 24, self.catalog_root);
        put_u64(&mut b, 32, self.freelist_head);
        put_u64(&mut b, 40, self.page_count);
        put_u64(&mut b, 48, self.log_start);
        put_u64(&mut b, 56, self.log_pages);
        let crc = crc_skipping(&b, 4);
        put_u32(&mut b, 4, crc);
        b
    }

    /// Decode a slot; `None` if it is blank or fails its checksum (a torn or never-written slot).
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() < SLOT_LEN || get_u32(b, 0) != SLOT_MAGIC {
            return None;
        }
        if get_u32(b, 4) != crc_skipping(&b[..SLOT_LEN], 4) {
            return None;
        }
        Some(CommitSlot {
            seq: get_u64(b, 8),
            txn_id: get_u64(b, 16),
            catalog_root: get_u64(b, 24),
            freelist_head: get_u64(b, 32),
            page_count: get_u64(b, 40),
            log_start: get_u64(b, 48),
            log_pages: get_u64(b, 56),
        })
    }
}

/// What one copy of a commit slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotCopy {
    /// Never written: the sector's slot bytes are all zero.
    Blank,
    /// A slot that passes its checksum.
    Valid(CommitSlot),
    /// Bytes that are not a valid slot. Sectors are written whole (the device contract), so
    /// this is damage, never a torn write.
    Damaged,
}

impl SlotCopy {
    /// Classify the [`SLOT_LEN`] bytes of one copy.
    pub fn read(b: &[u8]) -> Self {
        if b.iter().all(|&x| x == 0) {
            return SlotCopy::Blank;
        }
        CommitSlot::decode(b).map_or(SlotCopy::Damaged, SlotCopy::Valid)
    }
}
