//! The pages private to the write transaction: the [`PageSource`] and [`PageStore`] the B+tree
//! reads and writes through (copy-on-write of committed pages into private buffers, overflow
//! runs), and writing private pages to the file early when the transaction outgrows its memory.

use super::inner::*;
use crate::engine::btree::{PageSource, PageStore};
use crate::engine::format::{at, kind, page_no, page_ref, put_u64};
use crate::engine::page::{Guard, PageId, PageRef};
use crate::error::Result;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use hashbrown::{HashMap, HashSet};

/// The pages private to one write transaction: copies of committed pages it changed and pages
/// it allocated. None is visible to readers until the commit publishes them.
#[derive(Default)]
pub(super) struct PrivatePages {
    /// Private pages held in memory, by reference.
    pub(super) dirty: HashMap<PageId, Box<[u8]>>,
    /// Bytes `dirty` holds.
    pub(super) bytes: usize,
    /// Private pages written out early to respect the cache budget.
    pub(super) written_early: HashSet<PageId>,
    /// Overflow runs (first page) created by this transaction.
    pub(super) runs: HashSet<PageId>,
}

impl TxnInner {
    #[inline]
    pub(super) fn is_private(&self, id: PageId) -> bool {
        self.pages.dirty.contains_key(&id) || self.pages.written_early.contains(&id)
    }

    /// Write private leaf pages out when the transaction outgrows its share of the cache.
    pub(super) fn maybe_write_early(&mut self) -> Result<()> {
        if self.replaying || self.shared.options.read_only {
            return Ok(()); // never written: held in memory over the budget
        }
        let budget = self.shared.pager.budget;
        if self.pages.bytes + self.shared.pager.cache_bytes() > budget {
            self.shared.pager.evict(self.pages.bytes.min(budget));
        }
        if self.pages.bytes <= budget / 2 {
            return Ok(());
        }
        let mut ids: Vec<PageId> =
            self.pages.dirty.iter().filter(|(_, b)| b[at::KIND] != kind::BRANCH).map(|(id, _)| *id).collect();
        if ids.len() < self.pages.dirty.len() / 4 {
            // Mostly branches (huge keys): write everything early.
            ids = self.pages.dirty.keys().copied().collect();
        }
        ids.sort_unstable_by_key(|&id| page_no(id));
        let (dirty, dirty_bytes, written_early) =
            (&mut self.pages.dirty, &mut self.pages.bytes, &mut self.pages.written_early);
        let pager = &self.shared.pager;
        pager.write_sorted(&ids, &mut |id, buf| {
            let b = dirty.remove(&id).expect("dirty page");
            *dirty_bytes -= b.len();
            pager.forget(id);
            written_early.insert(id);
            buf.extend_from_slice(&b);
        })?;
        Ok(())
    }
}

impl PageSource for TxnInner {
    #[inline]
    fn page(&self, id: PageId) -> Result<PageRef<'_>> {
        match self.pages.dirty.get(&id) {
            Some(b) => Ok(PageRef::Borrowed(b)),
            None => self.shared.pager.read_page(id),
        }
    }

    fn overflow(&self, first: PageId, len: usize) -> Result<Guard<'_>> {
        self.shared.pager.read_overflow(first, len)
    }

    #[inline]
    fn page_size(&self) -> usize {
        self.shared.pager.page_size
    }
}

impl PageStore for TxnInner {
    #[inline]
    fn make_mut(&mut self, id: PageId) -> Result<PageId> {
        if self.pages.dirty.contains_key(&id) {
            return Ok(id);
        }
        if self.pages.written_early.remove(&id) {
            let b = self.shared.pager.read_private(id)?;
            self.pages.bytes += b.len();
            self.pages.dirty.insert(id, b);
            return Ok(id);
        }
        let copy: Box<[u8]> = {
            let p = self.shared.pager.read_page(id)?;
            Box::from(&p[..])
        };
        let new = self.alloc_id();
        let mut copy = copy;
        put_u64(&mut copy, at::OWN_REF, new);
        self.pages.bytes += copy.len();
        self.pages.dirty.insert(new, copy);
        self.free_committed(id);
        Ok(new)
    }

    #[inline]
    fn get_mut(&mut self, id: PageId) -> &mut [u8] {
        self.pages.dirty.get_mut(&id).expect("get_mut on a page that is not private")
    }

    #[inline]
    fn alloc(&mut self) -> Result<PageId> {
        let id = self.alloc_id();
        let ps = self.shared.pager.page_size;
        self.pages.dirty.insert(id, vec![0u8; ps].into_boxed_slice());
        self.pages.bytes += ps;
        Ok(id)
    }

    #[inline]
    fn free(&mut self, id: PageId) {
        if self.is_private(id) {
            self.free_private(id);
        } else {
            self.free_committed(id);
        }
    }

    fn write_overflow(&mut self, value: &[u8]) -> Result<PageId> {
        let n = self.shared.pager.run_pages(value.len());
        let first = page_ref(self.alloc_run(n, PageId::MAX), self.w.next_tag());
        self.shared.pager.write_overflow(first, value)?;
        self.pages.runs.insert(first);
        Ok(first)
    }

    fn rewrite(&mut self, id: PageId) -> Result<PageId> {
        if self.pages.dirty.contains_key(&id) {
            return Ok(id);
        }
        let ps = self.shared.pager.page_size;
        if self.pages.written_early.remove(&id) {
            self.shared.pager.forget(id);
            self.pages.dirty.insert(id, vec![0u8; ps].into_boxed_slice());
            self.pages.bytes += ps;
            return Ok(id);
        }
        self.free_committed(id);
        self.alloc()
    }

    fn early_write_point(&mut self) -> Result<()> {
        self.maybe_write_early()
    }

    fn free_overflow(&mut self, first: PageId, len: usize) {
        let n = self.shared.pager.run_pages(len);
        let no = page_no(first);
        if self.pages.runs.remove(&first) {
            for id in no..no + n {
                self.shared.pager.forget(id);
                self.w.free.insert(id);
                self.alloc.freed_private.push(id);
            }
        } else {
            self.alloc.freed.extend(no..no + n);
        }
    }
}
