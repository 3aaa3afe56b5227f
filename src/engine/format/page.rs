//! The pages after page 0: the header every page starts with, and the layouts of overflow runs,
//! free-list pages, catalog entries and log continuation links.

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

/// Offsets of the fields of the header every page starts with ([`PAGE_HEADER`] bytes):
///
/// ```text
/// 0 kind u8 | 1 zero u8 | 2 count u16 | 4 crc u32 | 8 own reference u64 | 16..32 by kind
/// tree page    16 cells start u32 | 20 garbage bytes u32 | 24 right child u64 (branch)
/// overflow     16 value length u64 | 24 pages in the run u64
/// free list    24 next free-list page u64
/// ```
///
/// The count is a tree page's slots, or a free-list page's runs. The crc covers the whole page
/// (an overflow run: its header and value) with its own field as zero.
pub mod at {
    /// The page kind ([`super::kind`]).
    pub const KIND: usize = 0;
    /// Slots of a tree page, runs of a free-list page (u16).
    pub const COUNT: usize = 2;
    /// The page's checksum (u32).
    pub const CRC: usize = 4;
    /// The reference the page was written under (u64; see [`super::super::page_ref`]).
    pub const OWN_REF: usize = 8;
    /// Tree page: where the cell area begins (u32).
    pub const CELLS_START: usize = 16;
    /// Tree page: bytes of deleted cells inside the cell area (u32).
    pub const GARBAGE: usize = 20;
    /// Branch page: the right-most child's reference (u64).
    pub const RIGHT_CHILD: usize = 24;
    /// First page of an overflow run: the value's length in bytes (u64).
    pub const OVERFLOW_LEN: usize = 16;
    /// First page of an overflow run: the pages the run occupies (u64).
    pub const OVERFLOW_PAGES: usize = 24;
    /// Free-list page: the next free-list page's reference, 0 for the last (u64).
    pub const FREELIST_NEXT: usize = 24;
}

/// Bytes of one run on a free-list page (first page u64, pages u64); the runs follow the page
/// header.
pub const FREELIST_RUN: usize = 16;

/// A pair of u64 (`a`, `b`) as 16 bytes: a catalog entry's value (table root reference, entry
/// count) and a log continuation frame's payload (region's first page, pages).
pub fn encode_pair(a: u64, b: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    super::put_u64(&mut out, 0, a);
    super::put_u64(&mut out, 8, b);
    out
}

/// The pair [`encode_pair`] wrote, if `v` is 16 bytes long.
pub fn decode_pair(v: &[u8]) -> Option<(u64, u64)> {
    (v.len() == 16).then(|| (super::get_u64(v, 0), super::get_u64(v, 8)))
}
