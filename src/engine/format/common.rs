//! What every layout shares: the magic, the format versions and page sizes, little-endian
//! integer codecs, CRC-32, and page references (number and version tag).

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
