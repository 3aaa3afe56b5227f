//! Page allocation for the write transaction: single pages and runs from the free set or the
//! end of the file, pages freed by the transaction, and the undo of all of it on abort.

use super::inner::*;
use crate::engine::format::{self, page_no, page_ref};
use crate::engine::page::PageId;
use alloc::vec::Vec;

/// The page ids one write transaction allocated and freed: what its commit hands to the
/// writer state, and what its abort gives back.
pub(super) struct Allocations {
    /// Ids this transaction allocated (fresh pages), in order.
    pub(super) allocated: Vec<PageId>,
    /// Ids it took from the free set (given back on abort).
    pub(super) taken_free: Vec<PageId>,
    /// Its own pages it freed again (back in the free set at once; taken out on abort).
    pub(super) freed_private: Vec<PageId>,
    /// Committed pages this transaction replaced.
    pub(super) freed: Vec<PageId>,
    /// The end of the file when it began: pages past it are undone on abort.
    pub(super) next_page_at_begin: PageId,
}

impl Allocations {
    pub(super) fn new(next_page: PageId) -> Self {
        Allocations {
            allocated: Vec::new(),
            taken_free: Vec::new(),
            freed_private: Vec::new(),
            freed: Vec::new(),
            next_page_at_begin: next_page,
        }
    }
}

impl TxnInner {
    pub(super) fn alloc_id(&mut self) -> PageId {
        // A read-only database's pages live in memory only (a log replay's catalog changes):
        // ids past the end of the file can never shadow a page on disk, even if the free list
        // is wrong.
        let from_free = if self.shared.options.read_only { None } else { self.w.free.pop_first() };
        let no = match from_free {
            Some(no) => {
                self.alloc.taken_free.push(no);
                no
            }
            None => {
                self.w.next_page += 1;
                self.w.next_page - 1
            }
        };
        assert!(no > 0 && no < format::MAX_PAGES, "page number {no} is the header or past the format's limit");
        self.alloc.allocated.push(no);
        page_ref(no, self.w.next_tag())
    }

    /// `n` consecutive pages for an overflow run (the first one's number): a free run that
    /// ends at or below `limit` if there is one (best fit), else the end of the file.
    pub(super) fn alloc_run(&mut self, n: u64, limit: PageId) -> PageId {
        let from_free = if self.shared.options.read_only { None } else { self.w.free.take_run(n, limit) };
        let first = match from_free {
            Some(first) => {
                self.alloc.taken_free.extend(first..first + n);
                first
            }
            None => {
                self.w.next_page += n;
                self.w.next_page - n
            }
        };
        self.alloc.allocated.extend(first..first + n);
        first
    }

    pub(super) fn free_committed(&mut self, id: PageId) {
        self.alloc.freed.push(page_no(id));
    }

    pub(super) fn free_private(&mut self, id: PageId) {
        if let Some(b) = self.pages.dirty.remove(&id) {
            self.pages.bytes -= b.len();
        }
        self.pages.written_early.remove(&id);
        self.shared.pager.forget(id);
        let inserted = self.w.free.insert(page_no(id));
        debug_assert!(inserted, "page {} freed twice", page_no(id));
        self.alloc.freed_private.push(page_no(id));
    }

    /// Undo this transaction's allocations (before it is dropped, which hands the writer
    /// state back).
    pub(super) fn undo(&mut self) {
        for id in self.pages.written_early.iter().chain(self.pages.dirty.keys()) {
            self.shared.pager.forget(*id);
        }
        for id in self.alloc.freed_private.drain(..) {
            self.w.free.remove(&id);
        }
        for id in self.alloc.taken_free.drain(..) {
            self.w.free.insert(id);
        }
        // Never below a log region the chain already uses.
        let log_end = self.w.log_chain.iter().map(|&(s, n)| s + n).max().unwrap_or(0);
        let begin = self.alloc.next_page_at_begin.max(log_end);
        for id in begin..self.w.next_page {
            self.shared.pager.forget(id);
            self.w.free.remove(&id);
        }
        self.w.next_page = begin;
    }
}
