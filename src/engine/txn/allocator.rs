//! Page allocation for the write transaction: single pages and runs from the free set or the
//! end of the file, pages freed by the transaction, and the undo of all of it on abort.

use super::{inner::*, writer::*};
use crate::engine::format::{self, page_no, page_ref};
use crate::engine::page::PageId;

impl TxnInner {
    pub(super) fn alloc_id(&mut self) -> PageId {
        // A read-only database's pages live in memory only (a log replay's catalog changes):
        // ids past the end of the file can never shadow a page on disk, even if the free list
        // is wrong.
        let from_free = if self.shared.options.read_only { None } else { self.w.free.pop_first() };
        let no = match from_free {
            Some(no) => {
                self.taken_free.push(no);
                no
            }
            None => {
                self.w.next_page += 1;
                self.w.next_page - 1
            }
        };
        assert!(no < format::MAX_PAGES, "page number {no} past the format's limit");
        self.allocated.push(no);
        page_ref(no, self.w.next_tag())
    }
    /// `n` consecutive pages for an overflow run (the first one's number): a free run that
    /// ends at or below `limit` if there is one (best fit), else the end of the file.
    pub(super) fn alloc_run(&mut self, n: u64, limit: PageId) -> PageId {
        let from_free = if self.shared.options.read_only { None } else { self.w.free.take_run(n, limit) };
        let first = match from_free {
            Some(first) => {
                self.taken_free.extend(first..first + n);
                first
            }
            None => {
                self.w.next_page += n;
                self.w.next_page - n
            }
        };
        self.allocated.extend(first..first + n);
        first
    }
    pub(super) fn free_committed(&mut self, id: PageId) {
        self.freed.push(page_no(id));
    }
    pub(super) fn free_private(&mut self, id: PageId) {
        if let Some(b) = self.dirty.remove(&id) {
            self.dirty_bytes -= b.len();
        }
        self.spilled.remove(&id);
        self.shared.pager.forget(id);
        self.w.free.insert(page_no(id));
        self.freed_private.push(page_no(id));
    }
    /// Undo this transaction's allocations and hand back the writer state.
    pub(super) fn into_state_abort(mut self) -> WriterState {
        for id in self.spilled.iter().chain(self.dirty.keys()) {
            self.shared.pager.forget(*id);
        }
        for id in self.freed_private.drain(..) {
            self.w.free.remove(&id);
        }
        for id in self.taken_free.drain(..) {
            self.w.free.insert(id);
        }
        // Never below a log region the chain already uses.
        let log_end = self.w.log_chain.iter().map(|&(s, n)| s + n).max().unwrap_or(0);
        let begin = self.next_page_at_begin.max(log_end);
        for id in begin..self.w.next_page {
            self.shared.pager.forget(id);
            self.w.free.remove(&id);
        }
        self.w.next_page = begin;
        self.w
    }
}
