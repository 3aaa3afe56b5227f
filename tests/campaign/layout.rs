//! The campaign's own reading of a Tessera file (format 2), independent of the engine: where the
//! header, the commit slots, the log frames, the tree pages, the overflow runs and the free list
//! are, so that damage can be aimed, described and judged. Layouts as in `src/format.rs`,
//! `src/page.rs`, `src/pager.rs` and `src/db.rs` (free-list pages).

use std::collections::HashSet;

pub const SECTOR: usize = 512;
/// Slot A, slot B, mirror of A, mirror of B.
pub const SLOT_COPIES: [usize; 4] = [512, 1024, 1536, 2048];
pub const SLOT_LEN: usize = 128;
pub const PAGE_HEADER: usize = 32;
/// Payload bytes in a frame's first sector and in each following one.
const HEAD_DATA: usize = SECTOR - 48;
const SECTOR_DATA: usize = SECTOR - 16;

pub fn get_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
pub fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
pub fn get_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
pub fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
/// The page number a page reference names (format 2 references carry a version tag above
/// bit 40; see docs/FORMAT.md, "Page references").
pub fn no(r: u64) -> u64 {
    r & ((1 << 40) - 1)
}

/// The reference to page `p` as a parent would hold it: the page's own reference (header bytes
/// 8..16) if it holds a tree, overflow or free-list page, else the bare number.
/// (A reference that already carries a tag, or names no page, is returned as it is.)
pub fn ref_of(img: &[u8], ps: usize, p: u64) -> u64 {
    let Some(at) = (p as usize).checked_mul(ps).filter(|&at| p == no(p) && p > 0 && at + ps <= img.len()) else {
        return p;
    };
    if matches!(img[at], 1..=4) && no(get_u64(img, at + 8)) == p {
        get_u64(img, at + 8)
    } else {
        p
    }
}

pub fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// CRC-32 of `b` with the four bytes at `at` taken as zero (every checksum of the format).
pub fn crc_skipping(b: &[u8], at: usize) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&b[..at]);
    h.update(&[0; 4]);
    h.update(&b[at + 4..]);
    h.finalize()
}

/// Reseal a structure whose checksum sits at bytes 4..8 and covers all of `b`: a tree page, a
/// free-list page, a commit slot, a log sector.
pub fn reseal(b: &mut [u8]) {
    let crc = crc_skipping(b, 4);
    put_u32(b, 4, crc);
}

/// Reseal the file header (CRC of bytes 0..64 at 16..20).
pub fn reseal_header(img: &mut [u8]) {
    let crc = crc_skipping(&img[..64], 16);
    put_u32(img, 16, crc);
}

/// Reseal an overflow run starting at byte `at` (CRC over header + value, at 4..8).
pub fn reseal_overflow(img: &mut [u8], at: usize) {
    let len = get_u64(img, at + 16) as usize;
    let end = (at + PAGE_HEADER + len).min(img.len());
    let crc = crc_skipping(&img[at..end], 4);
    put_u32(img, at + 4, crc);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub seq: u64,
    pub txn: u64,
    pub catalog_root: u64,
    pub freelist_head: u64,
    pub page_count: u64,
    pub log_start: u64,
    pub log_pages: u64,
}

impl Slot {
    pub fn decode(b: &[u8]) -> Option<Slot> {
        if &b[0..4] != b"TSLT" || get_u32(b, 4) != crc_skipping(&b[..SLOT_LEN], 4) {
            return None;
        }
        Some(Slot {
            seq: get_u64(b, 8),
            txn: get_u64(b, 16),
            catalog_root: get_u64(b, 24),
            freelist_head: get_u64(b, 32),
            page_count: get_u64(b, 40),
            log_start: get_u64(b, 48),
            log_pages: get_u64(b, 56),
        })
    }
}

/// One frame of the current log.
#[derive(Clone, Debug)]
pub struct Frame {
    pub txn: u64,
    pub seq: u64,
    /// Byte offset of its header sector in the file.
    pub at: usize,
    /// Bytes it occupies (whole sectors).
    pub len: usize,
    pub payload_len: u32,
    pub flags: u32,
    pub durable: u64,
}

impl Frame {
    pub fn is_link(&self) -> bool {
        self.flags & 1 != 0
    }
    pub fn range(&self) -> (usize, usize) {
        (self.at, self.at + self.len)
    }
}

/// Bytes a frame of `payload_len` payload bytes occupies.
pub fn frame_len(payload_len: usize) -> usize {
    SECTOR * (1 + payload_len.saturating_sub(HEAD_DATA).div_ceil(SECTOR_DATA))
}

/// Parse a frame header sector (valid stamp and magic `TLOG`).
pub fn parse_frame(img: &[u8], at: usize) -> Option<Frame> {
    let s = img.get(at..at + SECTOR)?;
    if &s[0..4] != b"TLOG" || get_u32(s, 4) != crc_skipping(s, 4) {
        return None;
    }
    let payload_len = get_u32(s, 16);
    Some(Frame {
        txn: get_u64(s, 8),
        payload_len,
        flags: get_u32(s, 20),
        seq: get_u64(s, 24),
        durable: get_u64(s, 40),
        at,
        len: frame_len(payload_len as usize),
    })
}

/// The payload of a frame, reassembled from its sectors (without verifying them).
pub fn frame_payload(img: &[u8], f: &Frame) -> Vec<u8> {
    let len = f.payload_len as usize;
    let mut out = Vec::with_capacity(len);
    let first = len.min(HEAD_DATA);
    out.extend_from_slice(&img[f.at + 48..f.at + 48 + first]);
    let mut s = f.at + SECTOR;
    while out.len() < len {
        let n = (len - out.len()).min(SECTOR_DATA);
        out.extend_from_slice(&img[s + 16..s + 16 + n]);
        s += SECTOR;
    }
    out
}

/// A frame as the engine writes it (`FrameHeader::encode`): header sector and data sectors,
/// each stamped with the frame's tag and its own checksum.
pub fn encode_frame(txn: u64, seq: u64, flags: u32, durable: u64, payload: &[u8]) -> Vec<u8> {
    let payload_len = payload.len() as u32;
    let mut c = crc32fast::Hasher::new();
    c.update(&txn.to_le_bytes());
    c.update(&seq.to_le_bytes());
    c.update(&payload_len.to_le_bytes());
    c.update(&flags.to_le_bytes());
    c.update(&durable.to_le_bytes());
    c.update(payload);
    let tag = c.finalize();
    let mut out = vec![0u8; frame_len(payload.len())];
    let (head, rest) = out.split_at_mut(SECTOR);
    head[0..4].copy_from_slice(b"TLOG");
    put_u64(head, 8, txn);
    put_u32(head, 16, payload_len);
    put_u32(head, 20, flags);
    put_u64(head, 24, seq);
    put_u32(head, 32, tag);
    put_u64(head, 40, durable);
    let first = payload.len().min(HEAD_DATA);
    head[48..48 + first].copy_from_slice(&payload[..first]);
    reseal(head);
    for (sector, data) in rest.chunks_exact_mut(SECTOR).zip(payload[first..].chunks(SECTOR_DATA)) {
        sector[0..4].copy_from_slice(b"TLGD");
        put_u32(sector, 8, tag);
        sector[16..16 + data.len()].copy_from_slice(data);
        reseal(sector);
    }
    out
}

/// What a page of the clean image is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Header,
    Log,
    Branch(String),
    Leaf(String),
    /// A page of an overflow run (the first page holds its header).
    Overflow(String),
    FreeList,
    Free,
    /// Below the page count, but neither reachable nor free (pages of the last session that no
    /// checkpoint reached: stale copies of tree pages).
    Unreached,
}

impl Role {
    pub fn short(&self) -> String {
        match self {
            Role::Header => "header page".into(),
            Role::Log => "log".into(),
            Role::Branch(t) => format!("branch of {t}"),
            Role::Leaf(t) => format!("leaf of {t}"),
            Role::Overflow(t) => format!("overflow run of {t}"),
            Role::FreeList => "free-list page".into(),
            Role::Free => "free page".into(),
            Role::Unreached => "unreached page".into(),
        }
    }
}

pub const CATALOG: &str = "(catalog)";

/// An overflow run: first page, value length, pages, owning tree.
#[derive(Clone, Debug)]
pub struct Run {
    pub first: u64,
    pub len: u64,
    pub pages: u64,
    pub tree: String,
}

/// A leaf cell: where its key and value are inside the page.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Offset of the cell in the page.
    pub off: usize,
    pub key: (usize, usize),
    /// Offset of the value tag varint.
    pub vtag_at: usize,
    /// Inline value span, or the 8-byte overflow page id's offset.
    pub value: (usize, usize),
    pub overflow: bool,
}

/// Bytes of a LEB128 varint at `b[at..]` (value, length).
pub fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..5 {
        let byte = *b.get(at + i)?;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((v, i + 1));
        }
    }
    None
}

/// The cells of a leaf page (offsets within the page).
pub fn leaf_cells(page: &[u8]) -> Vec<Cell> {
    let n = get_u16(page, 2) as usize;
    let mut out = Vec::new();
    for i in 0..n {
        if PAGE_HEADER + 6 * i + 2 > page.len() {
            break;
        }
        let off = get_u16(page, PAGE_HEADER + 6 * i) as usize;
        let Some((klen, kl)) = varint(page, off) else { continue };
        let kstart = off + kl;
        let kend = kstart + klen as usize;
        let Some((vtag, vl)) = varint(page, kend) else { continue };
        let vstart = kend + vl;
        let overflow = vtag & 1 == 1;
        let vend = if overflow { vstart + 8 } else { vstart + (vtag >> 1) as usize };
        if vend > page.len() {
            continue;
        }
        out.push(Cell { off, key: (kstart, kend), vtag_at: kend, value: (vstart, vend), overflow });
    }
    out
}

/// Child pointers of a branch page: (offset of the u64 in the page, child id); the right
/// child (at offset 24) last.
pub fn branch_children(page: &[u8]) -> Vec<(usize, u64)> {
    let n = get_u16(page, 2) as usize;
    let mut out = Vec::new();
    for i in 0..n {
        if PAGE_HEADER + 6 * i + 2 > page.len() {
            break;
        }
        let off = get_u16(page, PAGE_HEADER + 6 * i) as usize;
        if off + 10 <= page.len() {
            out.push((off, get_u64(page, off)));
        }
    }
    out.push((24, get_u64(page, 24)));
    out
}

/// The layout of a clean image.
pub struct FileMap {
    pub ps: usize,
    pub len: usize,
    pub slot: Slot,
    /// 0 = slot A, 1 = slot B.
    pub slot_index: usize,
    /// Log regions of the current log: (first page, pages).
    pub chain: Vec<(u64, u64)>,
    /// Frames of the current log, in order (commit frames and continuation frames).
    pub frames: Vec<Frame>,
    pub roles: Vec<Role>,
    pub runs: Vec<Run>,
    /// Tables named by the catalog: (name, root, count).
    pub tables: Vec<(String, u64, u64)>,
    pub freelist_pages: Vec<u64>,
}

impl FileMap {
    pub fn parse(img: &[u8]) -> FileMap {
        let ps = get_u32(img, 12) as usize;
        let pages = img.len() / ps;
        let copies: Vec<Option<Slot>> = SLOT_COPIES.iter().map(|&o| Slot::decode(&img[o..o + SLOT_LEN])).collect();
        let (slot_index, slot) = copies
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (i % 2, s)))
            .max_by_key(|(_, s)| s.seq)
            .expect("a valid commit slot");
        let mut roles = vec![Role::Unreached; pages];
        roles[0] = Role::Header;
        // The log, as recovery walks it.
        let mut chain = vec![(slot.log_start, slot.log_pages)];
        let mut frames = Vec::new();
        let (mut start, mut npages, mut pos) = (slot.log_start as usize, slot.log_pages as usize, 0usize);
        let mut expected = slot.txn + 1;
        while pos + SECTOR <= npages * ps {
            let Some(f) = parse_frame(img, start * ps + pos) else { break };
            if f.seq != slot.seq || f.txn != expected || start * ps + pos + f.len > img.len() {
                break;
            }
            if f.is_link() {
                let p = frame_payload(img, &f);
                frames.push(f);
                (start, npages, pos) = (get_u64(&p, 0) as usize, get_u64(&p, 8) as usize, 0);
                chain.push((start as u64, npages as u64));
                continue;
            }
            pos += f.len;
            expected += 1;
            frames.push(f);
        }
        for &(s, n) in &chain {
            for p in s..s + n {
                if let Some(r) = roles.get_mut(p as usize) {
                    *r = Role::Log;
                }
            }
        }
        // The free list.
        let mut freelist_pages = Vec::new();
        let mut id = no(slot.freelist_head);
        while id != 0 && (id as usize) < pages && !freelist_pages.contains(&id) {
            freelist_pages.push(id);
            let page = &img[id as usize * ps..(id as usize + 1) * ps];
            roles[id as usize] = Role::FreeList;
            for i in 0..get_u16(page, 2) as usize {
                let (s, n) = (get_u64(page, PAGE_HEADER + 16 * i), get_u64(page, PAGE_HEADER + 16 * i + 8));
                for p in s..s + n {
                    roles[p as usize] = Role::Free;
                }
            }
            id = no(get_u64(page, 24));
        }
        // The trees.
        let mut map = FileMap {
            ps,
            len: img.len(),
            slot,
            slot_index,
            chain,
            frames,
            roles,
            runs: Vec::new(),
            tables: Vec::new(),
            freelist_pages,
        };
        let mut seen = HashSet::new();
        map.walk(img, slot.catalog_root, CATALOG, &mut seen);
        for (name, root, _) in map.tables.clone() {
            map.walk(img, root, &name, &mut seen);
        }
        map
    }

    fn walk(&mut self, img: &[u8], root: u64, tree: &str, seen: &mut HashSet<u64>) {
        let ps = self.ps;
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            let id = no(id);
            if id == 0 || id as usize >= self.roles.len() || !seen.insert(id) {
                continue;
            }
            let page = &img[id as usize * ps..(id as usize + 1) * ps];
            match page[0] {
                1 => {
                    self.roles[id as usize] = Role::Branch(tree.into());
                    stack.extend(branch_children(page).into_iter().map(|(_, c)| c));
                }
                2 => {
                    self.roles[id as usize] = Role::Leaf(tree.into());
                    for c in leaf_cells(page) {
                        if c.overflow {
                            let first = no(get_u64(page, c.value.0));
                            let (vtag, _) = varint(page, c.vtag_at).unwrap();
                            let len = vtag >> 1;
                            let pages = (PAGE_HEADER as u64 + len).div_ceil(ps as u64);
                            for p in first..first + pages {
                                if let Some(r) = self.roles.get_mut(p as usize) {
                                    *r = Role::Overflow(tree.into());
                                }
                            }
                            self.runs.push(Run { first, len, pages, tree: tree.into() });
                        } else if tree == CATALOG && c.value.1 - c.value.0 == 16 {
                            let name = String::from_utf8_lossy(&page[c.key.0..c.key.1]).into_owned();
                            self.tables.push((name, get_u64(page, c.value.0), get_u64(page, c.value.0 + 8)));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    pub fn pages(&self) -> usize {
        self.roles.len()
    }

    /// Pages whose role matches.
    pub fn pages_where(&self, f: impl Fn(&Role) -> bool) -> Vec<usize> {
        (0..self.roles.len()).filter(|&p| f(&self.roles[p])).collect()
    }

    /// The frame holding byte `off`, if any.
    pub fn frame_at(&self, off: usize) -> Option<&Frame> {
        self.frames.iter().find(|f| (f.at..f.at + f.len).contains(&off))
    }

    /// The last commit's transaction id.
    pub fn last_txn(&self) -> u64 {
        self.frames.iter().filter(|f| !f.is_link()).map(|f| f.txn).max().unwrap_or(self.slot.txn)
    }

    /// The kind of place byte `off` of the clean image is in (a column of the region table).
    pub fn region(&self, off: usize) -> &'static str {
        if off >= self.len {
            return "past the end";
        }
        let page = off / self.ps;
        match &self.roles[page] {
            Role::Header if off < 64 => "file header",
            Role::Header if SLOT_COPIES.iter().any(|&o| (o..o + SLOT_LEN).contains(&off)) => "commit slot",
            Role::Header => "page 0, unused",
            Role::Log if self.frame_at(off).is_some() => "log frame",
            Role::Log => "log, unused",
            Role::Branch(_) => "branch page",
            Role::Leaf(_) => "leaf page",
            Role::Overflow(_) => "overflow run",
            Role::FreeList => "free-list page",
            Role::Free => "free page",
            Role::Unreached => "unreached page",
        }
    }

    /// Where byte `off` of the clean image lies, for people.
    pub fn describe(&self, off: usize) -> String {
        if off >= self.len {
            return format!("byte {off}, past the end of the file ({} bytes)", self.len);
        }
        let page = off / self.ps;
        let within = off % self.ps;
        if page == 0 {
            let what = match within {
                0..64 => "the file header".to_string(),
                _ => match SLOT_COPIES.iter().position(|&o| (o..o + SLOT_LEN).contains(&within)) {
                    Some(i) => {
                        let name = ["slot A", "slot B", "mirror of slot A", "mirror of slot B"][i];
                        let cur = if i % 2 == self.slot_index { "current" } else { "older" };
                        format!("{name} ({cur})")
                    }
                    None => "unused bytes of page 0".into(),
                },
            };
            return format!("byte {within} of page 0: {what}");
        }
        let role = &self.roles[page];
        if *role == Role::Log {
            let last = self.last_txn();
            return match self.frame_at(off) {
                Some(f) => {
                    let sector = (off - f.at) / SECTOR;
                    let kind =
                        if f.is_link() { "continuation frame".to_string() } else { format!("frame of txn {}", f.txn) };
                    let age = if f.is_link() {
                        String::new()
                    } else if f.txn == last {
                        " (the newest)".into()
                    } else {
                        format!(" ({} before the newest)", last - f.txn)
                    };
                    format!("page {page}: log, {kind}{age}, sector {sector} of {}", f.len / SECTOR)
                }
                None => format!("page {page}: log, past its last frame"),
            };
        }
        format!("page {page} ({}), byte {within}", role.short())
    }
}
