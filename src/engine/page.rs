//! Slotted pages: the byte-level layout and operations of B+tree nodes.
//!
//! ```text
//! 0      kind u8 | 0 u8 | nslots u16 | crc32 u32 | page id u64
//! 16     cells_start u32 | garbage u32 | right child (branch) u64
//! 32     slot array: nslots × (cell offset u16, key head u32), in key order  →  grows up
//!        ... free space ...
//!        cells, packed from the end of the page               ←  grow down
//! ```
//! Leaf cell:   `klen varint | key | vtag varint | value`, where `vtag = vlen × 2 + overflow`
//! (LEB128 varints: one byte for keys under 128 bytes, two for values under 8 KiB). With the
//! overflow bit set the value lives in an overflow run and the cell holds the run's first page
//! id, 8 bytes, instead of the value. The key comes first so a lookup decodes one byte.
//! Branch cell: `child u64 | klen u16 | key`; the child holds keys `< key` (and `>=` the
//! previous cell's key); the header's right child holds keys `>=` the last key.
//!
//! The key head is the key's first four bytes, big-endian, zero-padded. Comparing heads orders
//! keys correctly whenever the heads differ, so a binary search runs inside the slot array and
//! touches a cell only when heads tie: one or two cache misses per page instead of one per probe.
//!
//! Deleted cells become `garbage` until the page is defragmented in place. No function here
//! allocates on the lookup path; only splits and defragmentation copy.

use crate::engine::format::{at, get_u16, get_u32, get_u64, kind, put_u16, put_u32, put_u64, PAGE_HEADER};
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::ops::Deref;

/// A page number; byte offset = id × page size. Id 0 is the file header, so 0 means "none".
pub type PageId = u64;

/// A read-only page: borrowed (mapped file, or a page private to the writer) or shared (cache).
pub enum PageRef<'a> {
    /// Borrowed bytes.
    Borrowed(&'a [u8]),
    /// A cached page, kept alive by its reference count.
    Shared(Arc<Box<[u8]>>),
}

impl Deref for PageRef<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            PageRef::Borrowed(b) => b,
            PageRef::Shared(a) => a,
        }
    }
}

impl<'a> PageRef<'a> {
    /// A [`Guard`] for `range` of this page, borrowing where possible.
    #[inline]
    pub fn guard(&self, start: usize, len: usize) -> Guard<'a> {
        match self {
            PageRef::Borrowed(b) => Guard(GuardInner::Borrowed(&b[start..start + len])),
            PageRef::Shared(a) => Guard(GuardInner::Page(a.clone(), start as u32, len as u32)),
        }
    }
}

/// Bytes of a key or value returned by a read: zero-copy where the page is mapped or cached.
pub struct Guard<'a>(GuardInner<'a>);

enum GuardInner<'a> {
    Borrowed(&'a [u8]),
    Page(Arc<Box<[u8]>>, u32, u32),
    Owned(Vec<u8>),
}

impl<'a> Guard<'a> {
    /// Wrap owned bytes.
    pub fn owned(v: Vec<u8>) -> Self {
        Guard(GuardInner::Owned(v))
    }
    /// Wrap borrowed bytes.
    pub fn borrowed(b: &'a [u8]) -> Self {
        Guard(GuardInner::Borrowed(b))
    }
    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            GuardInner::Borrowed(b) => b,
            GuardInner::Page(p, s, l) => &p[*s as usize..(*s + *l) as usize],
            GuardInner::Owned(v) => v,
        }
    }
    /// Copy out.
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl Deref for Guard<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Guard<'_> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl core::fmt::Debug for Guard<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_bytes(), f)
    }
}

impl PartialEq<[u8]> for Guard<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

/// Bytes of a LEB128 varint holding `v`.
#[inline]
pub fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn push_varint(out: &mut alloc::vec::Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Decode a varint of at most `max` bytes at `b[at..]`: (value, bytes), or `None` if it runs
/// past the slice or is too long.
#[inline]
fn read_varint(b: &[u8], at: usize, max: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..max {
        let byte = *b.get(at + i)?;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Bytes of a leaf cell for a key of `klen` bytes and an inline value of `vlen` bytes, or an
/// overflow reference to a value of `vlen` bytes.
#[inline]
pub fn leaf_cell_len(klen: usize, vlen: usize, overflow: bool) -> usize {
    let vtag = (vlen as u64) * 2 + u64::from(overflow);
    varint_len(klen as u64) + klen + varint_len(vtag) + if overflow { 8 } else { vlen }
}

/// (start, length) of the key of the leaf cell at `b[off..]`. Keys are below 16384 bytes, so
/// the length takes one or two bytes.
#[inline]
fn leaf_key_span(b: &[u8], off: usize) -> (usize, usize) {
    let b0 = b[off] as usize;
    if b0 < 0x80 {
        (off + 1, b0)
    } else {
        (off + 2, (b0 & 0x7f) | ((b[off + 1] as usize & 0x7f) << 7))
    }
}

/// The key of an encoded leaf cell.
pub fn leaf_cell_key(cell: &[u8]) -> &[u8] {
    let (start, len) = leaf_key_span(cell, 0);
    &cell[start..start + len]
}
/// Branch cell header: child u64 + klen u16.
pub const BRANCH_CELL_HEADER: usize = 10;
/// Bytes per slot: cell offset u16 + key head u32.
pub const SLOT_SIZE: usize = 6;

/// The first four bytes of `key`, big-endian, zero-padded.
#[inline]
pub fn key_head(key: &[u8]) -> u32 {
    if key.len() >= 4 {
        u32::from_be_bytes([key[0], key[1], key[2], key[3]])
    } else {
        let mut b = [0u8; 4];
        b[..key.len()].copy_from_slice(key);
        u32::from_be_bytes(b)
    }
}

/// Hint the CPU to load `b[from..to]` into cache. Issued for a node's whole slot array on
/// entry, so the binary search's cache misses overlap instead of following one another.
#[inline(always)]
pub fn prefetch(b: &[u8], from: usize, to: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let to = to.min(b.len());
        let mut at = from & !63;
        while at < to {
            // SAFETY: `at < b.len()`, so the address is inside `b`; a prefetch only hints the
            // cache and never faults or reads into the program.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(b.as_ptr().add(at).cast())
            };
            at += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (b, from, to);
}

/// Read-only view of a node page.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    /// The page bytes.
    pub b: &'a [u8],
}

impl<'a> Node<'a> {
    #[inline]
    pub fn new(b: &'a [u8]) -> Self {
        Node { b }
    }
    #[inline]
    pub fn kind(&self) -> u8 {
        self.b[at::KIND]
    }
    #[inline]
    pub fn is_leaf(&self) -> bool {
        self.b[at::KIND] == kind::LEAF
    }
    #[inline]
    pub fn len(&self) -> usize {
        get_u16(self.b, at::COUNT) as usize
    }
    #[inline]
    pub fn right_child(&self) -> u64 {
        get_u64(self.b, at::RIGHT_CHILD)
    }
    #[inline]
    pub fn cells_start(&self) -> usize {
        get_u32(self.b, at::CELLS_START) as usize
    }
    #[inline]
    pub fn garbage(&self) -> usize {
        get_u32(self.b, at::GARBAGE) as usize
    }
    #[inline]
    fn cell_off(&self, i: usize) -> usize {
        get_u16(self.b, PAGE_HEADER + SLOT_SIZE * i) as usize
    }

    /// Hint the CPU to load the first line of the cells of entries `from..to`.
    #[inline]
    pub fn prefetch_cells(&self, from: usize, to: usize) {
        for i in from..to.min(self.len()) {
            let off = self.cell_off(i);
            prefetch(self.b, off, off + 1);
        }
    }

    #[inline]
    fn head(&self, i: usize) -> u32 {
        get_u32(self.b, PAGE_HEADER + SLOT_SIZE * i + 2)
    }

    /// Key of cell `i`.
    #[inline]
    pub fn key(&self, i: usize) -> &'a [u8] {
        self.key_of_cell(self.cell_off(i))
    }

    /// Key of the cell at byte offset `off`.
    #[inline(always)]
    fn key_of_cell(&self, off: usize) -> &'a [u8] {
        if self.is_leaf() {
            let (start, len) = leaf_key_span(self.b, off);
            &self.b[start..start + len]
        } else {
            let klen = get_u16(self.b, off + 8) as usize;
            &self.b[off + BRANCH_CELL_HEADER..off + BRANCH_CELL_HEADER + klen]
        }
    }

    /// Child page of branch cell `i` (`i == len()` means the right child).
    #[inline]
    pub fn child(&self, i: usize) -> u64 {
        if i == self.len() {
            self.right_child()
        } else {
            get_u64(self.b, self.cell_off(i))
        }
    }

    /// Value of leaf cell `i`.
    #[inline]
    pub fn value(&self, i: usize) -> LeafValue<'a> {
        let off = self.cell_off(i);
        let (kstart, klen) = leaf_key_span(self.b, off);
        let (vtag, n) = read_varint(self.b, kstart + klen, 5).expect("validated leaf cell");
        let at = kstart + klen + n;
        let len = (vtag >> 1) as usize;
        if vtag & 1 != 0 {
            LeafValue::Overflow { page: get_u64(self.b, at), len }
        } else {
            LeafValue::Inline(&self.b[at..at + len])
        }
    }

    /// The raw bytes of cell `i`.
    pub fn cell(&self, i: usize) -> &'a [u8] {
        let off = self.cell_off(i);
        &self.b[off..off + self.cell_len_at(off)]
    }

    fn cell_len_at(&self, off: usize) -> usize {
        self.checked_cell_len(off).expect("validated cell")
    }

    /// Length of the cell at `off`, or `None` if its header runs past the page.
    fn checked_cell_len(&self, off: usize) -> Option<usize> {
        if self.is_leaf() {
            let (klen, kn) = read_varint(self.b, off, 2)?;
            let (vtag, vn) = read_varint(self.b, off + kn + klen as usize, 5)?;
            let vbytes = if vtag & 1 != 0 { 8 } else { (vtag >> 1) as usize };
            Some(kn + klen as usize + vn + vbytes)
        } else {
            if off + BRANCH_CELL_HEADER > self.b.len() {
                return None;
            }
            Some(BRANCH_CELL_HEADER + get_u16(self.b, off + 8) as usize)
        }
    }

    /// Binary search for `key`: `Ok(i)` if cell `i` holds it, else `Err(insertion point)`.
    #[inline]
    pub fn search(&self, key: &[u8]) -> Result<usize, usize> {
        let h = key_head(key);
        let (mut lo, mut hi) = (0usize, self.len());
        prefetch(self.b, PAGE_HEADER, PAGE_HEADER + SLOT_SIZE * hi);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let mh = self.head(mid);
            let ord = if mh != h { mh.cmp(&h) } else { self.key(mid).cmp(key) };
            match ord {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Index of the child of a branch that covers `key`: the first cell whose key is greater.
    #[inline]
    pub fn child_index(&self, key: &[u8]) -> usize {
        match self.search(key) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Bytes in use: header, slots and live cells.
    pub fn used(&self) -> usize {
        let ps = self.b.len();
        PAGE_HEADER + SLOT_SIZE * self.len() + (ps - self.cells_start()) - self.garbage()
    }

    /// Contiguous free bytes between the slot array and the cells.
    #[inline]
    pub fn gap(&self) -> usize {
        self.cells_start() - (PAGE_HEADER + SLOT_SIZE * self.len())
    }

    /// Check the structural invariants of the page (used on read of untrusted pages and by `check`).
    pub fn validate(&self) -> Result<(), &'static str> {
        let ps = self.b.len();
        let n = self.len();
        let cs = self.cells_start();
        if !matches!(self.kind(), kind::LEAF | kind::BRANCH) {
            return Err("not a tree page");
        }
        if PAGE_HEADER + SLOT_SIZE * n > cs || cs > ps {
            return Err("slot array overlaps cells");
        }
        let mut live = 0usize;
        for i in 0..n {
            let off = self.cell_off(i);
            if off < cs {
                return Err("cell offset out of range");
            }
            let Some(len) = self.checked_cell_len(off) else {
                return Err("cell header out of range");
            };
            if off + len > ps {
                return Err("cell runs past page end");
            }
            live += len;
            if i > 0 && self.key(i - 1) >= self.key(i) {
                return Err("keys out of order");
            }
            if self.head(i) != key_head(self.key(i)) {
                return Err("slot key head does not match its cell");
            }
        }
        if live + self.garbage() != ps - cs {
            return Err("cell space accounting mismatch");
        }
        Ok(())
    }
}

/// Where a leaf value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafValue<'a> {
    /// Stored in the cell.
    Inline(&'a [u8]),
    /// Stored in an overflow run starting at `page`.
    Overflow { page: u64, len: usize },
}

/// Mutable view of a node page.
pub struct NodeMut<'a> {
    pub b: &'a mut [u8],
}

impl<'a> NodeMut<'a> {
    pub fn new(b: &'a mut [u8]) -> Self {
        NodeMut { b }
    }

    #[inline]
    pub fn node(&self) -> Node<'_> {
        Node { b: self.b }
    }

    /// Reset to an empty node of `kind`.
    pub fn init(&mut self, kind: u8, page_id: u64) {
        let ps = self.b.len();
        self.b[..PAGE_HEADER].fill(0);
        self.b[at::KIND] = kind;
        put_u64(self.b, at::OWN_REF, page_id);
        put_u32(self.b, at::CELLS_START, ps as u32);
    }

    pub fn set_right_child(&mut self, child: u64) {
        put_u64(self.b, at::RIGHT_CHILD, child);
    }

    /// Point child `i` (or the right child, `i == len`) at `child`.
    pub fn set_child(&mut self, i: usize, child: u64) {
        let n = self.node().len();
        assert!(i <= n, "child {i} of a branch with {n} cells");
        debug_assert!(!self.node().is_leaf(), "a leaf has no children");
        if i == n {
            self.set_right_child(child);
        } else {
            let off = get_u16(self.b, PAGE_HEADER + SLOT_SIZE * i) as usize;
            put_u64(self.b, off, child);
        }
    }

    /// Point leaf cell `i`, which holds an overflow reference, at the run starting at `page`.
    pub fn set_overflow_page(&mut self, i: usize, page: u64) {
        let node = self.node();
        let off = node.cell_off(i);
        let (kstart, klen) = leaf_key_span(node.b, off);
        let (vtag, n) = read_varint(node.b, kstart + klen, 5).expect("validated leaf cell");
        assert!(vtag & 1 != 0, "cell {i} holds its value inline");
        put_u64(self.b, kstart + klen + n, page);
    }

    /// Insert a pre-encoded cell at slot `i`. Returns false if it does not fit even after
    /// defragmentation (the caller splits).
    pub fn insert_cell(&mut self, i: usize, cell: &[u8]) -> bool {
        assert!(i <= self.node().len(), "slot {i} past the end of the slot array");
        let need = cell.len() + SLOT_SIZE;
        let n = self.node();
        if n.gap() < need {
            if n.gap() + n.garbage() < need {
                return false;
            }
            self.defragment();
        }
        let n = self.node().len();
        let start = self.node().cells_start() - cell.len();
        self.b[start..start + cell.len()].copy_from_slice(cell);
        let slots = PAGE_HEADER + SLOT_SIZE * i;
        self.b.copy_within(slots..PAGE_HEADER + SLOT_SIZE * n, slots + SLOT_SIZE);
        put_u16(self.b, slots, start as u16);
        let head = key_head(Node { b: self.b }.key_of_cell(start));
        put_u32(self.b, slots + 2, head);
        put_u16(self.b, at::COUNT, (n + 1) as u16);
        put_u32(self.b, at::CELLS_START, start as u32);
        // The slot array and the cell area never overlap.
        assert!(PAGE_HEADER + SLOT_SIZE * (n + 1) <= start, "slots ran into cells");
        true
    }

    /// Remove slot `i`; its cell bytes become garbage.
    pub fn remove_cell(&mut self, i: usize) {
        let node = self.node();
        let n = node.len();
        assert!(i < n, "remove slot {i} of {n}");
        let len = node.cell(i).len();
        let off = node.cell_off(i);
        let slots = PAGE_HEADER + SLOT_SIZE * i;
        self.b.copy_within(slots + SLOT_SIZE..PAGE_HEADER + SLOT_SIZE * n, slots);
        put_u16(self.b, at::COUNT, (n - 1) as u16);
        if off == self.node().cells_start() {
            put_u32(self.b, at::CELLS_START, (off + len) as u32);
        } else {
            let g = self.node().garbage() + len;
            put_u32(self.b, at::GARBAGE, g as u32);
        }
    }

    /// Repack live cells at the end of the page, removing garbage.
    pub fn defragment(&mut self) {
        let ps = self.b.len();
        let mut tmp = alloc::vec![0u8; ps];
        tmp.copy_from_slice(self.b);
        let old = Node { b: &tmp };
        let n = old.len();
        let mut end = ps;
        for i in 0..n {
            let c = old.cell(i);
            end -= c.len();
            self.b[end..end + c.len()].copy_from_slice(c);
            put_u16(self.b, PAGE_HEADER + SLOT_SIZE * i, end as u16);
        }
        assert!(PAGE_HEADER + SLOT_SIZE * n <= end, "live cells overlap the slot array");
        put_u32(self.b, at::CELLS_START, end as u32);
        put_u32(self.b, at::GARBAGE, 0);
    }

    /// Append a cell after all existing ones (used when building pages from sorted cells).
    pub fn push_cell(&mut self, cell: &[u8]) -> bool {
        let n = self.node().len();
        self.insert_cell(n, cell)
    }
}

/// Encode a leaf cell with an inline value into `out`.
pub fn encode_leaf_cell(out: &mut alloc::vec::Vec<u8>, key: &[u8], value: &[u8]) {
    out.clear();
    push_varint(out, key.len() as u64);
    out.extend_from_slice(key);
    push_varint(out, value.len() as u64 * 2);
    out.extend_from_slice(value);
}

/// Encode a leaf cell whose value lives in an overflow run.
pub fn encode_overflow_cell(out: &mut alloc::vec::Vec<u8>, key: &[u8], page: u64, len: usize) {
    out.clear();
    push_varint(out, key.len() as u64);
    out.extend_from_slice(key);
    push_varint(out, len as u64 * 2 + 1);
    out.extend_from_slice(&page.to_le_bytes());
}

/// Encode a branch cell.
pub fn encode_branch_cell(out: &mut alloc::vec::Vec<u8>, child: u64, key: &[u8]) {
    out.clear();
    out.extend_from_slice(&child.to_le_bytes());
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.extend_from_slice(key);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn insert_search_remove_defragment() {
        let mut buf = vec![0u8; 4096];
        let mut p = NodeMut::new(&mut buf);
        p.init(kind::LEAF, 7);
        let mut cell = Vec::new();
        for k in [5u8, 1, 3, 9, 7] {
            let pos = p.node().search(&[k]).unwrap_err();
            encode_leaf_cell(&mut cell, &[k], &[k; 10]);
            assert!(p.insert_cell(pos, &cell));
        }
        let keys: Vec<u8> = (0..5).map(|i| p.node().key(i)[0]).collect();
        assert_eq!(keys, [1, 3, 5, 7, 9]);
        assert_eq!(p.node().search(&[7]), Ok(3));
        assert_eq!(p.node().value(3), LeafValue::Inline(&[7; 10]));
        p.node().validate().unwrap();
        p.remove_cell(1);
        p.remove_cell(2);
        p.node().validate().unwrap();
        let used = p.node().used();
        p.defragment();
        assert_eq!(p.node().used(), used);
        assert_eq!(p.node().garbage(), 0);
        p.node().validate().unwrap();
        let keys: Vec<u8> = (0..3).map(|i| p.node().key(i)[0]).collect();
        assert_eq!(keys, [1, 5, 9]);
    }

    #[test]
    fn fills_up_and_reports_full() {
        let mut buf = vec![0u8; 4096];
        let mut p = NodeMut::new(&mut buf);
        p.init(kind::LEAF, 1);
        let mut cell = Vec::new();
        let mut n = 0u32;
        loop {
            encode_leaf_cell(&mut cell, &n.to_be_bytes(), &[0; 100]);
            if !p.push_cell(&cell) {
                break;
            }
            n += 1;
        }
        assert_eq!(n as usize, (4096 - PAGE_HEADER) / (cell.len() + SLOT_SIZE));
        p.node().validate().unwrap();
    }

    #[test]
    fn branch_children() {
        let mut buf = vec![0u8; 4096];
        let mut p = NodeMut::new(&mut buf);
        p.init(kind::BRANCH, 2);
        let mut cell = Vec::new();
        encode_branch_cell(&mut cell, 10, b"m");
        p.push_cell(&cell);
        p.set_right_child(11);
        assert_eq!(p.node().child(p.node().child_index(b"a")), 10);
        assert_eq!(p.node().child(p.node().child_index(b"m")), 11);
        assert_eq!(p.node().child(p.node().child_index(b"z")), 11);
        p.set_child(0, 12);
        assert_eq!(p.node().child(0), 12);
    }
}
