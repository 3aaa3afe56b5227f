//! Byte layout of the file: header, commit slots, page header, log frames.
//!
//! Everything here is little-endian, fixed-offset and pointer-free, so a file written on one
//! target opens unchanged on any other (native, wasm). `docs/FORMAT.md` is the prose version
//! of this module; keep the two in step.
//!
//! ```text
//! page 0      [file header 0..64][slot A 512..640][slot B 1024..1152][mirror A 1536..][mirror B 2048..]
//! pages 1..   tree pages (branch, leaf), overflow runs, freelist pages, the log region
//! log region  512-byte sectors, each stamped: frame header sectors (`TLOG`) and frame data
//!             sectors (`TLGD`), every one with its own checksum and its frame's tag
//! ```
//!
//! Format version 1 (no slot mirrors, frames sealed by one checksum over the whole frame) is
//! still read: [`legacy`] parses its frames, and opening such a file read-write upgrades it.

use crate::error::{Error, Result};
use alloc::format;

/// Magic bytes at offset 0.
pub const MAGIC: [u8; 8] = *b"TESSERA\0";
/// The format version this build writes.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads (and upgrades when opened read-write).
pub const OLDEST_FORMAT_VERSION: u32 = 1;
/// Smallest and largest page size.
pub const MIN_PAGE_SIZE: usize = 4096;
/// Largest page size.
pub const MAX_PAGE_SIZE: usize = 65536;

/// Offsets of the two commit slots in page 0 (each in its own 512-byte sector).
pub const SLOT_OFFSETS: [u64; 2] = [512, 1024];
/// Offsets of their mirrors (format 2): each slot is written twice, in two sectors, so one
/// damaged copy never costs a checkpoint.
pub const MIRROR_OFFSETS: [u64; 2] = [1536, 2048];
/// Bytes of a commit slot.
pub const SLOT_LEN: usize = 128;
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"TSLT");

/// A page reference, as parents, catalog entries, commit slots, overflow cells and the free
/// list store it, and as every page carries its own (header bytes 8..16): the page number in
/// the low [`PAGE_NO_BITS`] bits, above them the *version tag* the page was written with
/// (format 2; 0 in pages written by format 1). Each allocation picks a new tag, so an older
/// image of a page (a lost write, a stale copy) does not match the reference to the current
/// one.
pub const PAGE_NO_BITS: u32 = 40;
/// Pages a file can have (4 PiB with 4 KiB pages).
pub const MAX_PAGES: u64 = 1 << PAGE_NO_BITS;

/// The page number a reference names.
#[inline(always)]
pub fn page_no(r: u64) -> u64 {
    r & (MAX_PAGES - 1)
}

/// The reference to page `no` written with version tag `tag` (24 bits).
#[inline]
pub fn page_ref(no: u64, tag: u32) -> u64 {
    debug_assert!(no < MAX_PAGES && tag < 1 << 24);
    no | (tag as u64) << PAGE_NO_BITS
}

/// Page header length; slot array starts here.
pub const PAGE_HEADER: usize = 32;
/// Page kinds (byte 0 of every page).
pub mod kind {
    /// Interior node: separators and child page ids.
    pub const BRANCH: u8 = 1;
    /// Leaf node: keys and values (or overflow references).
    pub const LEAF: u8 = 2;
    /// First page of an overflow run holding one large value.
    pub const OVERFLOW: u8 = 3;
    /// A page of the persisted free-page list.
    pub const FREELIST: u8 = 4;
}

/// Bytes of a log sector: the unit the log is written, torn and checked in.
pub const LOG_SECTOR: usize = 512;
/// Header bytes of a frame's first sector; its payload starts here.
pub const FRAME_HEADER: usize = 48;
/// Header bytes of a frame's following sectors.
pub const DATA_SECTOR_HEADER: usize = 16;
const FRAME_MAGIC: u32 = u32::from_le_bytes(*b"TLOG");
const DATA_MAGIC: u32 = u32::from_le_bytes(*b"TLGD");

#[inline]
pub(crate) fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
#[inline]
pub(crate) fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
#[inline]
pub(crate) fn get_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
#[inline]
pub(crate) fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
#[inline]
pub(crate) fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
#[inline]
pub(crate) fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A CRC-32 computed over several pieces.
#[derive(Clone)]
pub(crate) struct Crc {
    #[cfg(feature = "std")]
    h: crc32fast::Hasher,
    #[cfg(not(feature = "std"))]
    state: u32,
}

impl Crc {
    pub(crate) fn new() -> Self {
        #[cfg(feature = "std")]
        return Crc { h: crc32fast::Hasher::new() };
        #[cfg(not(feature = "std"))]
        return Crc { state: !0 };
    }
    pub(crate) fn update(&mut self, b: &[u8]) {
        #[cfg(feature = "std")]
        self.h.update(b);
        #[cfg(not(feature = "std"))]
        {
            self.state = crc32::update_state(self.state, b);
        }
    }
    pub(crate) fn finish(self) -> u32 {
        #[cfg(feature = "std")]
        return self.h.finalize();
        #[cfg(not(feature = "std"))]
        return !self.state;
    }
}

/// CRC32 of `b` with the 4 bytes at `crc_at` taken as zero.
#[cfg(feature = "std")]
pub(crate) fn crc_skipping(b: &[u8], crc_at: usize) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&b[..crc_at]);
    h.update(&[0; 4]);
    h.update(&b[crc_at + 4..]);
    h.finalize()
}

/// CRC32 of `b` with the 4 bytes at `crc_at` taken as zero.
#[cfg(not(feature = "std"))]
pub(crate) fn crc_skipping(b: &[u8], crc_at: usize) -> u32 {
    crc32::crc_skipping(b, crc_at)
}

/// CRC-32 (IEEE, the one crc32fast computes) by slicing-by-16 — crc32fast's portable algorithm
/// — over tables built on first use instead of stored in the binary: the 16 KB of tables are
/// incompressible, a twentieth of the gzipped wasm package. Without `std` (wasm) crc32fast has
/// no SIMD path anyway, so this is as fast there.
#[cfg_attr(feature = "std", allow(dead_code))]
mod crc32 {
    type Tables = [[u32; 256]; 16];
    static TABLES: spin::Once<Tables> = spin::Once::new();

    fn build() -> Tables {
        let mut t = [[0u32; 256]; 16];
        for (i, e) in t[0].iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *e = c;
        }
        for i in 0..256 {
            for k in 1..16 {
                let p = t[k - 1][i];
                t[k][i] = (p >> 8) ^ t[0][(p & 0xFF) as usize];
            }
        }
        t
    }

    /// Continues the CRC state `crc` (pre-inverted, as between updates) over `buf`.
    fn update(t: &Tables, mut crc: u32, buf: &[u8]) -> u32 {
        let mut blocks = buf.chunks_exact(16);
        for b in &mut blocks {
            let w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) ^ crc;
            crc = t[0x0][b[0xf] as usize]
                ^ t[0x1][b[0xe] as usize]
                ^ t[0x2][b[0xd] as usize]
                ^ t[0x3][b[0xc] as usize]
                ^ t[0x4][b[0xb] as usize]
                ^ t[0x5][b[0xa] as usize]
                ^ t[0x6][b[0x9] as usize]
                ^ t[0x7][b[0x8] as usize]
                ^ t[0x8][b[0x7] as usize]
                ^ t[0x9][b[0x6] as usize]
                ^ t[0xa][b[0x5] as usize]
                ^ t[0xb][b[0x4] as usize]
                ^ t[0xc][(w >> 24) as usize]
                ^ t[0xd][((w >> 16) & 0xFF) as usize]
                ^ t[0xe][((w >> 8) & 0xFF) as usize]
                ^ t[0xf][(w & 0xFF) as usize];
        }
        for &b in blocks.remainder() {
            crc = t[0][((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
        }
        crc
    }

    /// Continues a pre-inverted CRC state over `b` (for [`super::Crc`]).
    pub(crate) fn update_state(crc: u32, b: &[u8]) -> u32 {
        update(TABLES.call_once(build), crc, b)
    }

    pub(crate) fn crc_skipping(b: &[u8], crc_at: usize) -> u32 {
        let t = TABLES.call_once(build);
        let mut crc = update(t, !0, &b[..crc_at]);
        crc = update(t, crc, &[0; 4]);
        !update(t, crc, &b[crc_at + 4..])
    }

    #[cfg(all(test, feature = "std"))]
    #[test]
    fn matches_crc32fast() {
        let data: alloc::vec::Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for len in [0usize, 4, 5, 15, 16, 17, 31, 33, 64, 100, 4096, 5000] {
            for at in [0, len / 3, len.saturating_sub(4)] {
                if at + 4 > len {
                    continue;
                }
                assert_eq!(crc_skipping(&data[..len], at), super::crc_skipping(&data[..len], at), "len {len} at {at}");
            }
        }
    }
}

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

/// Frame flag: the frame's payload is `start u64, pages u64`, the log region where the log
/// continues (at offset 0); it carries the id of the next transaction without consuming it.
pub const FRAME_CONTINUE: u32 = 1;

/// Header of one log frame (one committed transaction's changes).
///
/// A frame is a run of 512-byte sectors, each stamped so that recovery can tell, sector by
/// sector, *new* (this frame's), *old* (zeros, or a sector of another frame: a write that never
/// landed) and *damaged* (anything else) apart:
///
/// ```text
/// first sector   0 "TLOG" | 4 sector crc | 8 txn u64 | 16 payload len u32 | 20 flags u32
///                24 seq u64 | 32 tag u32 | 36 zero u32 | 40 durable txn u64 | 48.. payload
/// next sectors   0 "TLGD" | 4 sector crc | 8 tag u32 | 12 zero u32 | 16.. payload
/// ```
///
/// The sector crc covers the sector's 512 bytes (its own field as zero); the tag is the CRC of
/// the frame's header fields and whole payload, so the sectors of two different frames never
/// mix unnoticed. `durable_txn`: every transaction up to this id had been synced when the frame
/// was written — a later frame that survives proves earlier ones were durable, which is how
/// damage is told from a torn, unsynced tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The transaction the frame commits.
    pub txn_id: u64,
    /// The checkpoint sequence the log belongs to (frames of older logs never match).
    pub seq: u64,
    /// Bytes of payload.
    pub payload_len: u32,
    /// [`FRAME_CONTINUE`] or 0.
    pub flags: u32,
    /// Every transaction up to this one was durable before this frame was written.
    pub durable_txn: u64,
}

/// Payload bytes of a frame's first sector.
const HEAD_DATA: usize = LOG_SECTOR - FRAME_HEADER;
/// Payload bytes of each following sector.
const SECTOR_DATA: usize = LOG_SECTOR - DATA_SECTOR_HEADER;

impl FrameHeader {
    /// Bytes the frame occupies in the log: whole sectors.
    pub fn frame_len(payload_len: usize) -> usize {
        LOG_SECTOR * (1 + payload_len.saturating_sub(HEAD_DATA).div_ceil(SECTOR_DATA))
    }

    /// The largest payload a frame of at most `frame_bytes` bytes holds.
    pub fn max_payload(frame_bytes: u64) -> u64 {
        match frame_bytes / LOG_SECTOR as u64 {
            0 => 0,
            n => HEAD_DATA as u64 + (n - 1) * SECTOR_DATA as u64,
        }
    }

    /// The frame's tag: CRC of its header fields and its payload.
    fn tag(&self, payload: &[u8]) -> u32 {
        let mut c = Crc::new();
        c.update(&self.txn_id.to_le_bytes());
        c.update(&self.seq.to_le_bytes());
        c.update(&self.payload_len.to_le_bytes());
        c.update(&self.flags.to_le_bytes());
        c.update(&self.durable_txn.to_le_bytes());
        c.update(payload);
        c.finish()
    }

    /// Append the frame (header, `payload`, stamps, zero padding) to `out`: exactly
    /// [`FrameHeader::frame_len`] bytes. `payload_len` must be `payload.len()`.
    pub fn encode(&self, payload: &[u8], out: &mut alloc::vec::Vec<u8>) {
        debug_assert_eq!(self.payload_len as usize, payload.len());
        let tag = self.tag(payload);
        let start = out.len();
        out.resize(start + Self::frame_len(payload.len()), 0);
        let frame = &mut out[start..];
        let (head, rest) = frame.split_at_mut(LOG_SECTOR);
        put_u32(head, 0, FRAME_MAGIC);
        put_u64(head, 8, self.txn_id);
        put_u32(head, 16, self.payload_len);
        put_u32(head, 20, self.flags);
        put_u64(head, 24, self.seq);
        put_u32(head, 32, tag);
        put_u64(head, 40, self.durable_txn);
        let first = payload.len().min(HEAD_DATA);
        head[FRAME_HEADER..FRAME_HEADER + first].copy_from_slice(&payload[..first]);
        let crc = crc_skipping(head, 4);
        put_u32(head, 4, crc);
        for (sector, data) in rest.chunks_exact_mut(LOG_SECTOR).zip(payload[first..].chunks(SECTOR_DATA)) {
            put_u32(sector, 0, DATA_MAGIC);
            put_u32(sector, 8, tag);
            sector[DATA_SECTOR_HEADER..DATA_SECTOR_HEADER + data.len()].copy_from_slice(data);
            let crc = crc_skipping(sector, 4);
            put_u32(sector, 4, crc);
        }
    }

    /// Reassemble a frame from its sectors (`sectors` holds [`FrameHeader::frame_len`] bytes,
    /// the first of them the header sector this header was read from, with tag `tag`).
    /// `Ok(payload)` if every sector is this frame's; `Err(Torn)` if some sector holds older
    /// bytes (a write that did not land); `Err(Damaged(i))` if sector `i` is neither.
    pub fn assemble(&self, tag: u32, sectors: &[u8]) -> core::result::Result<alloc::vec::Vec<u8>, FrameFault> {
        let len = self.payload_len as usize;
        let mut payload = alloc::vec::Vec::with_capacity(len);
        let first = len.min(HEAD_DATA);
        payload.extend_from_slice(&sectors[FRAME_HEADER..FRAME_HEADER + first]);
        let mut torn = false;
        for (i, sector) in sectors.chunks_exact(LOG_SECTOR).enumerate().skip(1) {
            match LogSector::read(sector) {
                LogSector::Data { tag: t } if t == tag => {
                    let n = (len - payload.len()).min(SECTOR_DATA);
                    payload.extend_from_slice(&sector[DATA_SECTOR_HEADER..DATA_SECTOR_HEADER + n]);
                }
                LogSector::Damaged => return Err(FrameFault::Damaged(i)),
                _ => torn = true,
            }
        }
        // Every sector is this frame's; a tag collision with another frame's sectors (one in
        // 2^32) would still show here.
        if torn || payload.len() != len || self.tag(&payload) != tag {
            return Err(FrameFault::Torn);
        }
        Ok(payload)
    }
}

/// Why a frame could not be reassembled (see [`FrameHeader::assemble`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFault {
    /// Some sector holds older bytes: the frame's write did not fully land (a crash).
    Torn,
    /// The sector at this index (from the frame's start) is damaged.
    Damaged(usize),
}

/// What one 512-byte sector of a log region holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSector {
    /// All zeros: never written since the region was zero-filled.
    Zero,
    /// The first sector of a frame.
    Header {
        /// The frame's header fields.
        header: FrameHeader,
        /// The frame's tag (carried by all its sectors).
        tag: u32,
    },
    /// A following sector of the frame with this tag.
    Data {
        /// The frame's tag.
        tag: u32,
    },
    /// None of the above: a log region holds only zeros and stamped sectors, and sectors are
    /// written whole, so this is damage.
    Damaged,
}

impl LogSector {
    /// Classify one sector ([`LOG_SECTOR`] bytes).
    pub fn read(b: &[u8]) -> Self {
        debug_assert_eq!(b.len(), LOG_SECTOR);
        let magic = get_u32(b, 0);
        if (magic == FRAME_MAGIC || magic == DATA_MAGIC) && get_u32(b, 4) == crc_skipping(b, 4) {
            if magic == DATA_MAGIC {
                return LogSector::Data { tag: get_u32(b, 8) };
            }
            let header = FrameHeader {
                txn_id: get_u64(b, 8),
                payload_len: get_u32(b, 16),
                flags: get_u32(b, 20),
                seq: get_u64(b, 24),
                durable_txn: get_u64(b, 40),
            };
            return LogSector::Header { header, tag: get_u32(b, 32) };
        }
        if b.iter().all(|&x| x == 0) {
            LogSector::Zero
        } else {
            LogSector::Damaged
        }
    }
}

/// Format version 1's log frames, read only to upgrade a version 1 file: a 32-byte header
/// (`TLOG`, crc, txn u64, payload len u32, flags u32, seq u64) and the payload, padded to 512
/// bytes, one checksum over header and payload.
pub mod legacy {
    use super::{crc_skipping, get_u32, get_u64};

    /// Header bytes of a version 1 frame.
    pub const FRAME_HEADER: usize = 32;

    /// A version 1 frame header.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct FrameHeader {
        /// The transaction the frame commits.
        pub txn_id: u64,
        /// The checkpoint sequence the log belongs to.
        pub seq: u64,
        /// Bytes of payload after the header.
        pub payload_len: u32,
        /// [`super::FRAME_CONTINUE`] or 0.
        pub flags: u32,
    }

    impl FrameHeader {
        /// Bytes the frame occupies (header + payload, padded to a sector).
        pub fn padded_len(payload_len: usize) -> usize {
            (FRAME_HEADER + payload_len).next_multiple_of(super::LOG_SECTOR)
        }

        /// Parse a header; `None` unless the magic matches.
        pub fn parse(b: &[u8]) -> Option<Self> {
            if b.len() < FRAME_HEADER || get_u32(b, 0) != super::FRAME_MAGIC {
                return None;
            }
            Some(FrameHeader {
                txn_id: get_u64(b, 8),
                seq: get_u64(b, 24),
                payload_len: get_u32(b, 16),
                flags: get_u32(b, 20),
            })
        }

        /// Whether `frame` (header + payload) passes its checksum.
        pub fn verify(frame: &[u8]) -> bool {
            frame.len() >= FRAME_HEADER && get_u32(frame, 4) == crc_skipping(frame, 4)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_damage() {
        let mut b = [0u8; 64];
        let h = FileHeader { page_size: 4096, version: FORMAT_VERSION, flags: HEADER_CREATING };
        h.encode(&mut b);
        assert_eq!(FileHeader::decode(&b).unwrap(), h);
        b[13] ^= 1;
        assert!(matches!(FileHeader::decode(&b), Err(Error::Corrupted { page: 0, .. })));
        assert!(matches!(FileHeader::decode(b"garbage"), Err(Error::NotADatabase(_))));
        FileHeader { page_size: 4096, version: FORMAT_VERSION + 1, flags: 0 }.encode(&mut b);
        assert_eq!(FileHeader::decode(&b), Err(Error::UnsupportedVersion(FORMAT_VERSION + 1)));
        FileHeader { page_size: 4096, version: FORMAT_VERSION, flags: 2 }.encode(&mut b);
        assert!(matches!(FileHeader::decode(&b), Err(Error::Corrupted { .. })));
    }

    #[test]
    fn slot_round_trip_and_torn() {
        let s = CommitSlot {
            seq: 7,
            txn_id: 9,
            catalog_root: 3,
            freelist_head: 0,
            page_count: 99,
            log_start: 1,
            log_pages: 64,
        };
        let mut b = s.encode();
        assert_eq!(CommitSlot::decode(&b), Some(s));
        b[40] ^= 0x80;
        assert_eq!(CommitSlot::decode(&b), None);
        assert_eq!(CommitSlot::decode(&[0u8; SLOT_LEN]), None);
    }

    fn frame(payload_len: usize, seed: u8) -> (FrameHeader, alloc::vec::Vec<u8>, alloc::vec::Vec<u8>) {
        let payload: alloc::vec::Vec<u8> = (0..payload_len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect();
        let h = FrameHeader { txn_id: 5, seq: 2, payload_len: payload_len as u32, flags: 0, durable_txn: 4 };
        let mut out = alloc::vec::Vec::new();
        h.encode(&payload, &mut out);
        (h, payload, out)
    }

    #[test]
    fn frame_round_trip_every_length() {
        for len in [0, 1, 463, 464, 465, 959, 960, 961, 5000] {
            let (h, payload, out) = frame(len, 1);
            assert_eq!(out.len(), FrameHeader::frame_len(len), "len {len}");
            let LogSector::Header { header, tag } = LogSector::read(&out[..LOG_SECTOR]) else { panic!("len {len}") };
            assert_eq!(header, h);
            for s in out.chunks_exact(LOG_SECTOR).skip(1) {
                assert_eq!(LogSector::read(s), LogSector::Data { tag });
            }
            assert_eq!(header.assemble(tag, &out), Ok(payload), "len {len}");
        }
    }

    #[test]
    fn frame_sectors_tell_torn_from_damaged() {
        let (_, _, new) = frame(2000, 1);
        let (_, _, old) = frame(2000, 9);
        let LogSector::Header { header, tag } = LogSector::read(&new[..LOG_SECTOR]) else { panic!() };
        for i in 1..new.len() / LOG_SECTOR {
            let range = i * LOG_SECTOR..(i + 1) * LOG_SECTOR;
            // The sector still holds zeros, or another frame's bytes: the write did not land.
            for before in [&[0u8; LOG_SECTOR][..], &old[range.clone()]] {
                let mut f = new.clone();
                f[range.clone()].copy_from_slice(before);
                assert_eq!(header.assemble(tag, &f), Err(FrameFault::Torn), "sector {i}");
            }
            // One flipped bit anywhere in it: damage.
            for bit in [0, 37, 100 * 8 + 3, LOG_SECTOR * 8 - 1] {
                let mut f = new.clone();
                f[range.start + bit / 8] ^= 1 << (bit % 8);
                assert_eq!(header.assemble(tag, &f), Err(FrameFault::Damaged(i)), "sector {i} bit {bit}");
            }
        }
        let mut head = new[..LOG_SECTOR].to_vec();
        head[45] ^= 0x10;
        assert_eq!(LogSector::read(&head), LogSector::Damaged);
        assert_eq!(LogSector::read(&[0u8; LOG_SECTOR]), LogSector::Zero);
    }

    #[test]
    fn slot_copies() {
        let s = CommitSlot { seq: 3, ..Default::default() };
        assert_eq!(SlotCopy::read(&s.encode()), SlotCopy::Valid(s));
        assert_eq!(SlotCopy::read(&[0u8; SLOT_LEN]), SlotCopy::Blank);
        let mut b = s.encode();
        b[20] ^= 1;
        assert_eq!(SlotCopy::read(&b), SlotCopy::Damaged);
    }
}
