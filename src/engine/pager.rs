//! The pager: reading and writing pages through the device, the bounded page cache, and the
//! engine's counters.
//!
//! What lives here:
//! - **Reads.** A committed page is found, on a device with a memory mapping (native files),
//!   (1) among the dirty pages of the reader's snapshot (its `DirtyView`: pages committed
//!   through the log, not yet written in place), else (2) in the mapping, read in place
//!   (zero-copy). Without a mapping (wasm, memory, fault devices) it is found (1) in the cache,
//!   else (2) read from the device into a fresh buffer that is cached if the budget allows.
//!   Every page's checksum and own reference (number and version tag) are verified the first
//!   time it is loaded; for mapped pages a small direct-mapped table remembers which pages
//!   were verified, so hot pages are not re-hashed on every visit.
//! - **Writes.** `write_page` seals a page (id + CRC32) and writes it; the cache entry for that
//!   id is replaced or dropped so a stale copy can never be served. `write_sorted` does the same
//!   for many pages, one device write per run of consecutive ids (checkpoints, early writes).
//! - **The cache.** Sharded maps of page id → page. Entries are *dirty* (committed to the log
//!   but not yet written to their place in the file) or *clean*. Dirty entries stay until a
//!   checkpoint writes them; clean ones are evicted FIFO-with-second-chance to stay within the
//!   byte budget. When a mapping exists clean pages are not cached at all (the OS caches them).
//! - **Stats**: cache hits/misses, pages read/written, bytes synced, syncs, commits, checkpoints.

use crate::engine::device::{BlockDevice, Mapping};
use crate::engine::format::{at, crc_skipping, get_u32, get_u64, kind, page_no, put_u32, put_u64, PAGE_HEADER};
use crate::engine::page::{Guard, PageId, PageRef};
use crate::engine::sync::{Mutex, RwLock};
use crate::error::{Error, Result};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use hashbrown::HashMap;

const SHARDS: usize = 16;

/// Engine counters, as returned by [`crate::Database::stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Page lookups served by the cache.
    pub cache_hits: u64,
    /// Page lookups that had to read the device (mapped reads are not counted as misses).
    pub cache_misses: u64,
    /// Pages read from the device (copies, not mapped reads).
    pub pages_read: u64,
    /// Pages written to their place in the file.
    pub pages_written: u64,
    /// Bytes written to the log.
    pub log_bytes_written: u64,
    /// Bytes written since the previous sync, summed over all syncs.
    pub bytes_synced: u64,
    /// Device syncs.
    pub syncs: u64,
    /// Committed write transactions.
    pub commits: u64,
    /// Checkpoints (pages written in place, commit slot switched).
    pub checkpoints: u64,
    /// Bytes the cache holds now.
    pub cache_bytes: u64,
    /// The cache budget in bytes.
    pub cache_budget: u64,
    /// Pages in the file (header, log, tree, free).
    pub page_count: u64,
    /// Pages on the free list (reusable).
    pub free_pages: u64,
    /// Pages the persisted free list occupies (as of the last checkpoint).
    pub free_list_pages: u64,
    /// Memory held by committed writes not yet folded into the trees (they fold at the next
    /// checkpoint).
    pub delta_bytes: u64,
    /// Page size in bytes.
    pub page_size: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub pages_read: AtomicU64,
    pub pages_written: AtomicU64,
    pub log_bytes: AtomicU64,
    pub bytes_synced: AtomicU64,
    pub unsynced_bytes: AtomicU64,
    pub syncs: AtomicU64,
    pub commits: AtomicU64,
    pub checkpoints: AtomicU64,
}

struct Entry {
    page: Arc<Box<[u8]>>,
    dirty: bool,
    referenced: AtomicBool,
}

#[derive(Default)]
struct Shard {
    map: HashMap<PageId, Entry>,
    /// Clean entries in insertion order (may hold stale ids; they are skipped).
    fifo: VecDeque<PageId>,
}

/// A committed page shared between the cache and snapshot views.
type SharedPage = Arc<Box<[u8]>>;

/// The committed-but-unwritten pages as one snapshot sees them (mapped devices only).
///
/// Published together with each snapshot, immutable afterwards: a reader looks pages up in it
/// without any atomic write, so reader threads never contend on a lock or a reference count,
/// and a page found here is borrowed for the transaction's life (the view owns it). A large
/// shared `base` plus a small `delta` (with tombstones for pages released since) keeps the
/// per-commit cost at the size of the delta; the delta is folded into a new base when it grows.
/// Two tiers: branch pages (a few hundred, visited by every descent, so their small map stays
/// in cache) and leaves. Each tier has a bitmap of its page ids, so a lookup tests a bit and
/// probes only the map that holds the page; clean pages cost two bit tests.
#[derive(Default)]
pub(crate) struct DirtyView {
    tiers: [Tier; 2],
}

#[derive(Default, Clone)]
struct Tier {
    base: Arc<HashMap<PageId, SharedPage>>,
    delta: HashMap<PageId, Option<SharedPage>>,
    bits: Vec<u64>,
}

impl Tier {
    #[inline]
    fn has(&self, id: PageId) -> bool {
        self.bits.get((id / 64) as usize).is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    #[inline]
    fn get(&self, id: PageId) -> Option<&[u8]> {
        if !self.has(id) {
            return None;
        }
        match self.delta.get(&id) {
            Some(Some(p)) => Some(p),
            Some(None) => None,
            None => self.base.get(&id).map(|p| &***p),
        }
    }

    fn set(&mut self, id: PageId, page: Option<SharedPage>) {
        set_bit(&mut self.bits, id, page.is_some());
        self.delta.insert(id, page);
    }

    /// Fold a large delta into a new base.
    fn consolidate(&mut self) {
        if self.delta.len() <= 4096.max(self.base.len() / 4) {
            return;
        }
        let mut base = (*self.base).clone();
        for (id, page) in self.delta.drain() {
            match page {
                Some(p) => base.insert(id, p),
                None => base.remove(&id),
            };
        }
        self.base = Arc::new(base);
    }
}

impl DirtyView {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.tiers[0].bits.is_empty() && self.tiers[1].bits.is_empty()
    }

    /// The page if it is dirty in this view.
    #[inline]
    fn get(&self, id: PageId) -> Option<&[u8]> {
        self.tiers[0].get(id).or_else(|| self.tiers[1].get(id))
    }
}

fn set_bit(bits: &mut Vec<u64>, id: PageId, on: bool) {
    let w = (id / 64) as usize;
    if w >= bits.len() {
        if !on {
            return;
        }
        bits.resize(w + 1, 0);
    }
    if on {
        bits[w] |= 1 << (id % 64);
    } else {
        bits[w] &= !(1 << (id % 64));
    }
}

/// Bitmap of mapped pages whose checksum and layout were verified (one bit a page).
struct VerifiedTable {
    words: Box<[AtomicU64]>,
}

impl VerifiedTable {
    fn new(pages: usize) -> Self {
        let words = pages.div_ceil(64).max(16);
        VerifiedTable { words: (0..words).map(|_| AtomicU64::new(0)).collect() }
    }
}

/// The memo grows with the file: the writer swaps in a larger bitmap, and readers keep using
/// whichever one they loaded (a bit missing from a new bitmap only costs one more
/// verification). Replaced bitmaps are retired, not freed, until the pager drops, so a
/// reader's reference stays valid; their total size is below twice the current one. Every
/// page the engine writes is marked verified: only bytes it did not write in this process
/// are ever checked.
struct Verified {
    current: AtomicPtr<VerifiedTable>,
    // Boxed so a retired table keeps its address while readers may still hold `&` to it.
    #[allow(clippy::vec_box)]
    retired: Mutex<Vec<Box<VerifiedTable>>>,
}

impl Verified {
    fn new(pages: usize) -> Self {
        let t = Box::new(VerifiedTable::new(pages));
        Verified { current: AtomicPtr::new(Box::into_raw(t)), retired: Mutex::new(Vec::new()) }
    }
    #[inline]
    fn table(&self) -> &VerifiedTable {
        // SAFETY: `current` always holds a pointer from `Box::into_raw`; a replaced table moves
        // to `retired` and is freed only in `drop`, when no `&self` borrow is left.
        unsafe { &*self.current.load(Acquire) }
    }
    #[inline]
    fn contains(&self, id: PageId) -> bool {
        match self.table().words.get((id / 64) as usize) {
            Some(w) => w.load(Relaxed) & (1 << (id % 64)) != 0,
            None => false,
        }
    }
    #[inline]
    fn insert(&self, id: PageId) {
        if let Some(w) = self.table().words.get((id / 64) as usize) {
            if w.load(Relaxed) & (1 << (id % 64)) == 0 {
                w.fetch_or(1 << (id % 64), Relaxed);
            }
        }
    }
    /// Make room for `pages` pages (called by the writer as the file grows).
    fn reserve(&self, pages: u64) {
        if (pages as usize).div_ceil(64) <= self.table().words.len() {
            return;
        }
        let new = Box::into_raw(Box::new(VerifiedTable::new(pages as usize * 2)));
        let old = self.current.swap(new, AcqRel);
        // SAFETY: `old` came from `Box::into_raw` and is owned by nobody else now.
        self.retired.lock().push(unsafe { Box::from_raw(old) });
    }
}

impl Drop for Verified {
    fn drop(&mut self) {
        // SAFETY: as in `table`; nothing borrows the table any more.
        drop(unsafe { Box::from_raw(self.current.load(Acquire)) });
    }
}

/// Page I/O and caching for one open database.
pub(crate) struct Pager {
    pub device: Box<dyn BlockDevice>,
    pub page_size: usize,
    mapping: Option<Mapping>,
    /// Bytes of the device known to exist (pages at or past this are never read).
    device_len: AtomicU64,
    shards: Box<[RwLock<Shard>]>,
    cache_bytes: AtomicUsize,
    dirty_entries: AtomicUsize,
    pub dirty_bytes: AtomicUsize,
    pub budget: usize,
    verified: Verified,
    pub counters: Counters,
    /// Changes to the dirty set since the last published view: page, or `None` = released.
    view_changes: Mutex<Vec<(PageId, Option<SharedPage>)>>,
}

impl Pager {
    pub fn new(device: Box<dyn BlockDevice>, page_size: usize, budget: usize, use_map: bool) -> Result<Self> {
        let mapping = if use_map { device.mapping() } else { None };
        let device_len = device.len()?;
        Ok(Pager {
            device,
            page_size,
            mapping,
            device_len: AtomicU64::new(device_len),
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            cache_bytes: AtomicUsize::new(0),
            dirty_entries: AtomicUsize::new(0),
            dirty_bytes: AtomicUsize::new(0),
            budget,
            verified: Verified::new(device_len as usize / page_size * 2),
            counters: Counters::default(),
            view_changes: Mutex::new(Vec::new()),
        })
    }

    /// The cache shard of page number `no` (caches and memos are keyed by page number; a
    /// reference's version tag is checked against the page's own header instead).
    #[inline]
    fn shard(&self, no: u64) -> &RwLock<Shard> {
        &self.shards[(no as usize) % SHARDS]
    }

    /// Size the verified-page memo for a file of `pages` pages.
    pub fn reserve_pages(&self, pages: u64) {
        if self.mapping.is_some() {
            self.verified.reserve(pages);
        }
    }

    pub fn cache_bytes(&self) -> usize {
        self.cache_bytes.load(Relaxed)
    }

    /// Byte offset of the page a reference names, if the page lies inside the file.
    fn page_offset(&self, id: PageId) -> Result<u64> {
        let no = page_no(id);
        let off = no
            .checked_mul(self.page_size as u64)
            .filter(|&o| o + self.page_size as u64 <= self.device_len.load(Relaxed))
            .ok_or_else(|| Error::corrupted(no, "page id beyond the end of the file"))?;
        if no == 0 {
            return Err(Error::corrupted(0, "reference to the header page"));
        }
        Ok(off)
    }

    /// A committed page, verified on first load; its own reference (id and version tag) must
    /// be `id` on every read.
    #[inline]
    pub fn read_page(&self, id: PageId) -> Result<PageRef<'_>> {
        // With a mapping, the cache only holds dirty pages; when there are none it is skipped.
        // Acquire pairs with the Release decrement after a page is written in place.
        if self.mapping.is_none() || self.dirty_entries.load(Acquire) > 0 {
            if let Some(e) = self.shard(page_no(id)).read().map.get(&page_no(id)) {
                e.referenced.store(true, Relaxed);
                if self.mapping.is_none() {
                    self.counters.hits.fetch_add(1, Relaxed);
                }
                check_ref(&e.page, id)?;
                return Ok(PageRef::Shared(e.page.clone()));
            }
        }
        if self.mapping.is_some() {
            return self.read_mapped(id);
        }
        self.read_device(id)
    }

    /// The bytes of the page `id` names in the mapping, when the page lies inside both the
    /// file and the mapping (`None` for page 0, pages past the end, or no mapping).
    #[inline]
    fn mapped(&self, id: PageId) -> Option<&[u8]> {
        let m = self.mapping?;
        let ps = self.page_size as u64;
        let no = page_no(id);
        let end = no.checked_mul(ps)?.checked_add(ps)?;
        if no == 0 || end > self.device_len.load(Relaxed) || end > m.len as u64 {
            return None;
        }
        // SAFETY: the page ends below both the mapping's reserved length and the device length
        // (checked above), so the bytes are mapped and backed by the file. The device contract
        // makes the mapping valid for the device's lifetime, which the returned borrow of `self`
        // cannot outlive. The bytes do not change while borrowed: committed pages are
        // copy-on-write, and a page id is only rewritten once no snapshot that could reach it
        // is alive (see `db` free lists); a private page is written only by the writer, which
        // is the one reading it.
        Some(unsafe { core::slice::from_raw_parts(m.base.as_ptr().add((end - ps) as usize), self.page_size) })
    }

    /// Hint that mapped page `id` will be read soon: load its first lines (header, slots)
    /// and its last (the cells packed from the end). Ids outside the file are ignored.
    pub fn prefetch(&self, id: PageId) {
        if let Some(page) = self.mapped(id) {
            crate::engine::page::prefetch(page, 0, 192);
            crate::engine::page::prefetch(page, self.page_size - 256, self.page_size);
        }
    }

    /// A page read in place from the mapping, verified on first use; a page the mapping does
    /// not cover is read from the device (which reports ids outside the file).
    #[inline]
    fn read_mapped(&self, id: PageId) -> Result<PageRef<'_>> {
        match self.mapped(id) {
            Some(page) => {
                if !self.verified.contains(page_no(id)) {
                    verify_page(page, id)?;
                    self.verified.insert(page_no(id));
                } else {
                    check_ref(page, id)?;
                }
                Ok(PageRef::Borrowed(page))
            }
            None => self.read_device(id),
        }
    }

    /// A page read from the device into a new buffer, cached if the budget allows.
    fn read_device(&self, id: PageId) -> Result<PageRef<'_>> {
        let off = self.page_offset(id)?;
        self.counters.misses.fetch_add(1, Relaxed);
        let mut buf = vec![0u8; self.page_size].into_boxed_slice();
        self.device.read(off, &mut buf)?;
        self.counters.pages_read.fetch_add(1, Relaxed);
        verify_page(&buf, id)?;
        let page = Arc::new(buf);
        self.insert_clean(page_no(id), page.clone());
        Ok(PageRef::Shared(page))
    }

    /// Read back a page this process wrote and nobody else can see (a private page written early):
    /// no cache, no checksum verification.
    pub fn read_private(&self, id: PageId) -> Result<Box<[u8]>> {
        if let Some(page) = self.mapped(id) {
            return Ok(Box::from(page));
        }
        let off = self.page_offset(id)?;
        let mut buf = vec![0u8; self.page_size].into_boxed_slice();
        self.device.read(off, &mut buf)?;
        self.counters.pages_read.fetch_add(1, Relaxed);
        Ok(buf)
    }

    /// Read a page straight from the device, verifying it, bypassing the cache (for `check`).
    pub fn read_page_uncached(&self, id: PageId) -> Result<Vec<u8>> {
        let off = self.page_offset(id)?;
        let mut buf = vec![0u8; self.page_size];
        self.device.read(off, &mut buf)?;
        verify_page(&buf, id)?;
        Ok(buf)
    }

    /// A page for `check`: the cached copy if the page is cached (dirty pages exist only
    /// there), else read from the device and verified regardless of the verified memo.
    pub fn read_page_checked(&self, id: PageId) -> Result<PageRef<'_>> {
        if let Some(e) = self.shard(page_no(id)).read().map.get(&page_no(id)) {
            check_ref(&e.page, id)?;
            return Ok(PageRef::Shared(e.page.clone()));
        }
        Ok(PageRef::Shared(Arc::new(self.read_page_uncached(id)?.into_boxed_slice())))
    }

    /// The value stored in the overflow run at `first` (checksum verified).
    pub fn read_overflow(&self, first: PageId, len: usize) -> Result<Guard<'_>> {
        let off = self.page_offset(first)?;
        let total = PAGE_HEADER + len;
        let pages = total.div_ceil(self.page_size) as u64;
        if off + pages * self.page_size as u64 > self.device_len.load(Relaxed) {
            return Err(Error::corrupted(first, "overflow run beyond the end of the file"));
        }
        if let Some(m) = self.mapping {
            if off as usize + total <= m.len {
                // SAFETY: as in `read_mapped`: the run lies below the device length and the
                // reserved mapping, and an overflow run is immutable until freed, which only
                // happens once no snapshot can reach it.
                let run = unsafe { core::slice::from_raw_parts(m.base.as_ptr().add(off as usize), total) };
                if !self.verified.contains(page_no(first)) {
                    verify_overflow(run, first, len)?;
                    self.verified.insert(page_no(first));
                } else {
                    check_ref(run, first)?;
                }
                return Ok(Guard::borrowed(&run[PAGE_HEADER..]));
            }
        }
        let mut buf = vec![0u8; total];
        self.device.read(off, &mut buf)?;
        self.counters.pages_read.fetch_add(pages, Relaxed);
        verify_overflow(&buf, first, len)?;
        buf.drain(..PAGE_HEADER);
        Ok(Guard::owned(buf))
    }

    /// Write an overflow run for `value` at the pages `first` names (`run_pages(len)` of
    /// them); its header carries the reference `first`, version tag included.
    pub fn write_overflow(&self, first: PageId, value: &[u8]) -> Result<()> {
        let total = (PAGE_HEADER + value.len()).next_multiple_of(self.page_size);
        let mut buf = vec![0u8; total];
        buf[at::KIND] = kind::OVERFLOW;
        put_u64(&mut buf, at::OWN_REF, first);
        put_u64(&mut buf, at::OVERFLOW_LEN, value.len() as u64);
        put_u64(&mut buf, at::OVERFLOW_PAGES, (total / self.page_size) as u64);
        buf[PAGE_HEADER..PAGE_HEADER + value.len()].copy_from_slice(value);
        let crc = crc_skipping(&buf[..PAGE_HEADER + value.len()], at::CRC);
        put_u32(&mut buf, at::CRC, crc);
        let pages = (total / self.page_size) as u64;
        let no = page_no(first);
        for p in no..no + pages {
            self.forget(p);
        }
        self.write_at(no * self.page_size as u64, &buf)?;
        self.counters.pages_written.fetch_add(pages, Relaxed);
        self.verified.insert(no);
        Ok(())
    }

    /// Pages an overflow value of `len` bytes occupies.
    pub fn run_pages(&self, len: usize) -> u64 {
        (PAGE_HEADER + len).div_ceil(self.page_size) as u64
    }

    /// Stamp `page` with its reference `id` and checksum, and write it to its place.
    pub fn write_page(&self, id: PageId, page: &mut [u8]) -> Result<()> {
        assert!(page_no(id) != 0, "page 0 is the file header, never a page");
        assert_eq!(page.len(), self.page_size, "a page is one page long");
        debug_assert!(matches!(page[at::KIND], kind::BRANCH..=kind::FREELIST), "a page of an unknown kind");
        put_u64(page, at::OWN_REF, id);
        seal_page(page);
        self.write_at(page_no(id) * self.page_size as u64, page)?;
        self.counters.pages_written.fetch_add(1, Relaxed);
        self.verified.insert(page_no(id));
        Ok(())
    }

    /// Seal and write the pages `ids` (sorted by page number); `append(id, buf)` appends page
    /// `id`'s bytes (which carry their own reference) to the staging buffer, where the page is
    /// sealed (so the source may be shared). Runs of consecutive pages (appends allocate pages
    /// in order) go out in one device write each, up to `WRITE_RUN` pages: a system call per
    /// run instead of per page.
    pub fn write_sorted(&self, ids: &[PageId], append: &mut dyn FnMut(PageId, &mut Vec<u8>)) -> Result<()> {
        debug_assert!(ids.windows(2).all(|w| page_no(w[0]) < page_no(w[1])), "ids sorted, each once");
        assert!(ids.first().is_none_or(|&id| page_no(id) > 0), "page 0 is the file header, never a page");
        let ps = self.page_size;
        let mut buf = Vec::new();
        let mut i = 0;
        while i < ids.len() {
            let first = page_no(ids[i]);
            let mut n = 0;
            buf.clear();
            while i < ids.len() && page_no(ids[i]) == first + n && n < WRITE_RUN {
                let from = buf.len();
                append(ids[i], &mut buf);
                debug_assert_eq!(
                    page_no(get_u64(&buf[from..], at::OWN_REF)),
                    first + n,
                    "a page's own reference names another page"
                );
                seal_page(&mut buf[from..]);
                n += 1;
                i += 1;
            }
            self.write_at(first * ps as u64, &buf)?;
            self.counters.pages_written.fetch_add(n, Relaxed);
            for no in first..first + n {
                self.verified.insert(no);
            }
        }
        Ok(())
    }

    /// Raw write that keeps the known device length current.
    pub fn write_at(&self, off: u64, data: &[u8]) -> Result<()> {
        self.device.write(off, data)?;
        self.counters.unsynced_bytes.fetch_add(data.len() as u64, Relaxed);
        self.device_len.fetch_max(off + data.len() as u64, Relaxed);
        Ok(())
    }

    /// Write zeros over `pages` pages from `first` (a new log region), in 1 MiB writes.
    pub fn zero_pages(&self, first: u64, pages: u64) -> Result<()> {
        let ps = self.page_size as u64;
        let zeros = alloc::vec![0u8; (1 << 20).min(pages * ps) as usize];
        let mut at = 0;
        while at < pages * ps {
            let n = zeros.len().min((pages * ps - at) as usize);
            self.write_at(first * ps + at, &zeros[..n])?;
            at += n as u64;
        }
        Ok(())
    }

    /// Durability barrier.
    pub fn sync(&self) -> Result<()> {
        self.device.sync()?;
        let b = self.counters.unsynced_bytes.swap(0, Relaxed);
        self.counters.bytes_synced.fetch_add(b, Relaxed);
        self.counters.syncs.fetch_add(1, Relaxed);
        Ok(())
    }

    pub fn set_len(&self, len: u64) -> Result<()> {
        self.device.set_len(len)?;
        self.device_len.store(len, Relaxed);
        Ok(())
    }

    /// Publish a committed page that is not yet written to its place.
    pub fn insert_dirty(&self, id: PageId, page: Box<[u8]>) {
        debug_assert_eq!(get_u64(&page, at::OWN_REF), id, "a dirty page's own reference");
        let no = page_no(id);
        let len = page.len();
        let page = Arc::new(page);
        if self.mapping.is_some() {
            self.view_changes.lock().push((no, Some(page.clone())));
        }
        let mut sh = self.shard(no).write();
        let old = sh.map.insert(no, Entry { page, dirty: true, referenced: AtomicBool::new(false) });
        match old {
            Some(o) if o.dirty => {}
            Some(_) => {
                self.dirty_entries.fetch_add(1, Relaxed);
                self.dirty_bytes.fetch_add(len, Relaxed);
            }
            None => {
                self.cache_bytes.fetch_add(len, Relaxed);
                self.dirty_entries.fetch_add(1, Relaxed);
                self.dirty_bytes.fetch_add(len, Relaxed);
            }
        }
    }

    /// Drop any cached copy of the page `id` names (its bytes on the device are about to
    /// change or are free). Takes a reference or a bare page number alike.
    pub fn forget(&self, id: PageId) {
        let no = page_no(id);
        let mut sh = self.shard(no).write();
        if let Some(e) = sh.map.remove(&no) {
            self.cache_bytes.fetch_sub(e.page.len(), Relaxed);
            if e.dirty {
                self.dirty_entries.fetch_sub(1, Release);
                self.dirty_bytes.fetch_sub(e.page.len(), Relaxed);
                if self.mapping.is_some() {
                    self.view_changes.lock().push((no, None));
                }
            }
        }
    }

    /// The dirty view to publish with the next snapshot, or `None` if `cur` is still right.
    /// Called by the writer only.
    pub fn next_view(&self, cur: &DirtyView) -> Option<Arc<DirtyView>> {
        self.mapping?;
        if self.dirty_entries.load(Acquire) == 0 {
            self.view_changes.lock().clear();
            return (!cur.is_empty()).then(|| Arc::new(DirtyView::default()));
        }
        let changes = core::mem::take(&mut *self.view_changes.lock());
        if changes.is_empty() {
            return None;
        }
        let mut tiers = [cur.tiers[0].clone(), cur.tiers[1].clone()];
        for (id, page) in changes {
            match page {
                Some(p) => {
                    let t = usize::from(p[at::KIND] == kind::LEAF);
                    if tiers[1 - t].has(id) {
                        tiers[1 - t].set(id, None);
                    }
                    tiers[t].set(id, Some(p));
                }
                None => {
                    for t in &mut tiers {
                        if t.has(id) {
                            t.set(id, None);
                        }
                    }
                }
            }
        }
        for t in &mut tiers {
            t.consolidate();
        }
        Some(Arc::new(DirtyView { tiers }))
    }

    /// A committed page for a reader holding `view` (consistent with its snapshot).
    #[inline]
    pub fn read_page_in<'a>(&'a self, view: &'a DirtyView, id: PageId) -> Result<PageRef<'a>> {
        if self.mapping.is_none() {
            return self.read_page(id);
        }
        if !view.is_empty() {
            if let Some(p) = view.get(page_no(id)) {
                check_ref(p, id)?;
                return Ok(PageRef::Borrowed(p));
            }
        }
        self.read_mapped(id)
    }

    fn insert_clean(&self, id: PageId, page: Arc<Box<[u8]>>) {
        let len = page.len();
        if self.cache_bytes.load(Relaxed) + len > self.budget {
            self.evict(len);
            if self.cache_bytes.load(Relaxed) + len > self.budget {
                return; // Everything left is dirty: serve the page uncached.
            }
        }
        let mut sh = self.shard(id).write();
        if sh.map.contains_key(&id) {
            return;
        }
        sh.map.insert(id, Entry { page, dirty: false, referenced: AtomicBool::new(false) });
        sh.fifo.push_back(id);
        self.cache_bytes.fetch_add(len, Relaxed);
    }

    /// Evict clean pages until `need` more bytes fit in the budget (best effort).
    pub fn evict(&self, need: usize) {
        for round in 0..2 * SHARDS {
            if self.cache_bytes.load(Relaxed) + need <= self.budget {
                return;
            }
            let mut sh = self.shards[round % SHARDS].write();
            let mut budget_steps = sh.fifo.len();
            while budget_steps > 0 && self.cache_bytes.load(Relaxed) + need > self.budget {
                budget_steps -= 1;
                let Some(id) = sh.fifo.pop_front() else { break };
                let evict = match sh.map.get(&id) {
                    Some(e) if !e.dirty => !e.referenced.swap(false, Relaxed),
                    _ => continue, // stale or dirty: not in the clean queue any more
                };
                if evict {
                    if let Some(e) = sh.map.remove(&id) {
                        self.cache_bytes.fetch_sub(e.page.len(), Relaxed);
                    }
                } else {
                    sh.fifo.push_back(id);
                }
            }
        }
    }

    /// Write every dirty entry to its place; they become clean (or leave the cache when mapped).
    /// Only the writer changes dirty entries, and it is the caller: the set is stable here.
    pub fn flush_dirty(&self) -> Result<()> {
        if self.dirty_entries.load(Relaxed) == 0 {
            return Ok(());
        }
        let mut ids: Vec<PageId> = Vec::new();
        for shard in self.shards.iter() {
            ids.extend(shard.read().map.iter().filter(|(_, e)| e.dirty).map(|(id, _)| *id));
        }
        ids.sort_unstable();
        // The pages are committed and immutable; sealing copies keeps readers' view stable.
        self.write_sorted(&ids, &mut |no, buf| {
            buf.extend_from_slice(&self.shard(no).read().map.get(&no).expect("dirty page").page)
        })?;
        for id in ids {
            let mut sh = self.shard(id).write();
            if self.mapping.is_some() {
                if let Some(e) = sh.map.remove(&id) {
                    self.cache_bytes.fetch_sub(e.page.len(), Relaxed);
                    self.dirty_entries.fetch_sub(1, Release);
                    self.dirty_bytes.fetch_sub(e.page.len(), Relaxed);
                }
            } else if let Some(e) = sh.map.get_mut(&id) {
                if e.dirty {
                    e.dirty = false;
                    self.dirty_entries.fetch_sub(1, Release);
                    self.dirty_bytes.fetch_sub(e.page.len(), Relaxed);
                    sh.fifo.push_back(id);
                }
            }
        }
        self.evict(0);
        Ok(())
    }

    /// Drop every cached page (after compaction truncates the file).
    pub fn clear_clean(&self) {
        for shard in self.shards.iter() {
            let mut sh = shard.write();
            let before: usize = sh.map.values().filter(|e| !e.dirty).map(|e| e.page.len()).sum();
            sh.map.retain(|_, e| e.dirty);
            sh.fifo.clear();
            self.cache_bytes.fetch_sub(before, Relaxed);
        }
    }

    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            cache_hits: c.hits.load(Relaxed),
            cache_misses: c.misses.load(Relaxed),
            pages_read: c.pages_read.load(Relaxed),
            pages_written: c.pages_written.load(Relaxed),
            log_bytes_written: c.log_bytes.load(Relaxed),
            bytes_synced: c.bytes_synced.load(Relaxed),
            syncs: c.syncs.load(Relaxed),
            commits: c.commits.load(Relaxed),
            checkpoints: c.checkpoints.load(Relaxed),
            cache_bytes: self.cache_bytes.load(Relaxed) as u64,
            cache_budget: self.budget as u64,
            page_count: 0,
            free_pages: 0,
            free_list_pages: 0,
            delta_bytes: 0,
            page_size: self.page_size as u64,
        }
    }
}

/// Stamp a page's checksum (its own reference is already in place).
pub(crate) fn seal_page(page: &mut [u8]) {
    let crc = crc_skipping(page, at::CRC);
    put_u32(page, at::CRC, crc);
}

/// A page must carry the reference it was reached by: the same page number, and the version
/// tag it was written with. Another tag means an older image of the page (a lost write) or a
/// reference left from a page since rewritten.
#[inline]
fn check_ref(page: &[u8], id: PageId) -> Result<()> {
    if get_u64(page, at::OWN_REF) == id {
        Ok(())
    } else {
        Err(wrong_ref(page, id))
    }
}

#[cold]
#[inline(never)]
fn wrong_ref(page: &[u8], id: PageId) -> Error {
    let own = get_u64(page, at::OWN_REF);
    if page_no(own) == page_no(id) {
        Error::corrupted(id, "the page holds another version of itself than its reference names (a stale page)")
    } else {
        Error::corrupted(id, format!("page claims to be page {}", page_no(own)))
    }
}

/// Pages written at most per device write by [`Pager::write_sorted`].
const WRITE_RUN: u64 = 64;

/// Check a page's checksum and own reference.
pub(crate) fn verify_page(page: &[u8], id: PageId) -> Result<()> {
    let stored = get_u32(page, at::CRC);
    if stored != crc_skipping(page, at::CRC) {
        return Err(Error::corrupted(id, "page checksum mismatch"));
    }
    check_ref(page, id)?;
    // A tree page's layout is checked once too, so no later access can run off the page.
    if matches!(page[at::KIND], kind::LEAF | kind::BRANCH) {
        crate::engine::page::Node::new(page).validate().map_err(|why| Error::corrupted(id, why))?;
    }
    Ok(())
}

fn verify_overflow(run: &[u8], first: PageId, len: usize) -> Result<()> {
    if run[at::KIND] != kind::OVERFLOW {
        return Err(Error::corrupted(first, format!("expected an overflow page, found kind {}", run[at::KIND])));
    }
    check_ref(run, first)?;
    if get_u64(run, at::OVERFLOW_LEN) != len as u64 {
        return Err(Error::corrupted(first, "overflow header does not match its reference"));
    }
    let end = PAGE_HEADER + len;
    if get_u32(run, at::CRC) != crc_skipping(&run[..end], at::CRC) {
        return Err(Error::corrupted(first, "overflow checksum mismatch"));
    }
    Ok(())
}
