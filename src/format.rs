//! Byte layout of the file: header, commit slots, page header, log frames.
//!
//! Everything here is little-endian, fixed-offset and pointer-free, so a file written on one
//! target opens unchanged on any other (native, wasm). `docs/FORMAT.md` is the prose version
//! of this module; keep the two in step.
//!
//! ```text
//! page 0      [file header 0..64][commit slot A 512..640][commit slot B 1024..1152]
//! pages 1..   tree pages (branch, leaf), overflow runs, freelist pages, the log region
//! ```

use crate::error::{Error, Result};
use alloc::format;

/// Magic bytes at offset 0.
pub const MAGIC: [u8; 8] = *b"TESSERA\0";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Smallest and largest page size.
pub const MIN_PAGE_SIZE: usize = 4096;
/// Largest page size.
pub const MAX_PAGE_SIZE: usize = 65536;

/// Offsets of the two commit slots in page 0 (each in its own 512-byte sector).
pub const SLOT_OFFSETS: [u64; 2] = [512, 1024];
/// Bytes of a commit slot.
pub const SLOT_LEN: usize = 128;
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"TSLT");

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

/// Log frame header length.
pub const FRAME_HEADER: usize = 32;
const FRAME_MAGIC: u32 = u32::from_le_bytes(*b"TLOG");

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

/// The static file header (first 64 bytes of page 0), written once at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// Page size in bytes, fixed at creation.
    pub page_size: u32,
}

impl FileHeader {
    /// Encode into the first 64 bytes of `b`.
    pub fn encode(&self, b: &mut [u8]) {
        b[..64].fill(0);
        b[0..8].copy_from_slice(&MAGIC);
        put_u32(b, 8, FORMAT_VERSION);
        put_u32(b, 12, self.page_size);
        let crc = crc_skipping(&b[..64], 16);
        put_u32(b, 16, crc);
    }

    /// Decode and validate the first 64 bytes of a file.
    pub fn decode(b: &[u8]) -> Result<Self> {
        if b.len() < 64 || b[0..8] != MAGIC {
            return Err(Error::NotADatabase("bad magic bytes".into()));
        }
        if get_u32(b, 16) != crc_skipping(&b[..64], 16) {
            return Err(Error::NotADatabase("file header checksum mismatch".into()));
        }
        let version = get_u32(b, 8);
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let page_size = get_u32(b, 12);
        if !valid_page_size(page_size as usize) {
            return Err(Error::NotADatabase(format!("invalid page size {page_size}")));
        }
        Ok(FileHeader { page_size })
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

    /// Whether `b` starts with the slot magic (a slot was written here at some point).
    pub fn has_magic(b: &[u8]) -> bool {
        b.len() >= 4 && get_u32(b, 0) == SLOT_MAGIC
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

/// Frame flag: the frame's payload is `start u64, pages u64`, the log region where the log
/// continues (at offset 0); it carries the id of the next transaction without consuming it.
pub const FRAME_CONTINUE: u32 = 1;

/// Header of one log frame (one committed transaction's changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The transaction the frame commits.
    pub txn_id: u64,
    /// The checkpoint sequence the log belongs to (frames of older logs never match).
    pub seq: u64,
    /// Bytes of payload after the header.
    pub payload_len: u32,
    /// [`FRAME_CONTINUE`] or 0.
    pub flags: u32,
}

impl FrameHeader {
    /// Total bytes the frame occupies in the log (header + payload, padded to a sector).
    pub fn padded_len(payload_len: usize) -> usize {
        (FRAME_HEADER + payload_len).next_multiple_of(crate::device::SECTOR_SIZE)
    }

    /// Write the header into `frame[..FRAME_HEADER]` and seal the frame with its checksum.
    /// `frame` holds header + payload (+ padding, not covered).
    pub fn seal(&self, frame: &mut [u8]) {
        put_u32(frame, 0, FRAME_MAGIC);
        put_u64(frame, 8, self.txn_id);
        put_u32(frame, 16, self.payload_len);
        put_u32(frame, 20, self.flags);
        put_u64(frame, 24, self.seq);
        let end = FRAME_HEADER + self.payload_len as usize;
        let crc = crc_skipping(&frame[..end], 4);
        put_u32(frame, 4, crc);
    }

    /// Parse a header; `None` unless the magic matches.
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < FRAME_HEADER || get_u32(b, 0) != FRAME_MAGIC {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_damage() {
        let mut b = [0u8; 64];
        FileHeader { page_size: 4096 }.encode(&mut b);
        assert_eq!(FileHeader::decode(&b).unwrap().page_size, 4096);
        b[13] ^= 1;
        assert!(matches!(FileHeader::decode(&b), Err(Error::NotADatabase(_))));
        assert!(matches!(FileHeader::decode(b"garbage"), Err(Error::NotADatabase(_))));
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

    #[test]
    fn frame_seal_verify() {
        let payload = b"hello world";
        let mut f = alloc::vec![0u8; FrameHeader::padded_len(payload.len())];
        f[FRAME_HEADER..FRAME_HEADER + payload.len()].copy_from_slice(payload);
        let h = FrameHeader { txn_id: 5, seq: 2, payload_len: payload.len() as u32, flags: 0 };
        h.seal(&mut f);
        assert_eq!(f.len(), 512);
        assert_eq!(FrameHeader::parse(&f), Some(h));
        assert!(FrameHeader::verify(&f[..FRAME_HEADER + payload.len()]));
        f[FRAME_HEADER] ^= 1;
        assert!(!FrameHeader::verify(&f[..FRAME_HEADER + payload.len()]));
    }
}
