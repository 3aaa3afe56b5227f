//! Compaction: moving pages (overflow runs first, then tree pages) into the lowest free slots
//! by copy-on-write, moving the log down, and cutting the free tail of the file.

use super::{checkpoint::*, database::*, inner::*, options::*, writer::*};
use crate::engine::btree::{self, PageSource, PageStore, RangeState};
use crate::engine::device::BlockDevice;
use crate::engine::format::{page_no, page_ref};
use crate::engine::page::PageId;
use crate::error::{Error, Result};
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Bound;
use hashbrown::{HashMap, HashSet};

impl Database {
    /// Move pages toward the start of the file and truncate the free tail. Pages that live
    /// readers can still see stay where they are; run it again once they finish to shrink more.
    /// Overflow runs (large values) are not moved.
    ///
    /// Waits for the write transaction, if one is open (see [`Database::checkpoint`]).
    pub fn compact(&self) -> Result<CompactReport> {
        self.shared.check_writable()?;
        let bytes_before = self.shared.pager.device.len()?;
        // 1. Checkpoint so every page freed so far becomes reusable.
        self.checkpoint()?;
        release_pending(&self.shared, &mut *Writer::take(&self.shared)?);
        // 2. Relocate pages into the lowest free slots (copy-on-write does the moving).
        let tx = self.begin_write()?;
        {
            let mut inner = tx.inner.borrow_mut();
            let inner = inner.as_mut().expect("open transaction");
            inner.relocate_all()?;
            inner.force_checkpoint = true;
        }
        tx.commit()?;
        // 3. Release what the move freed, drop the free tail, checkpoint and truncate (after
        //    folding what other threads may have committed meanwhile).
        let mut w = loop {
            let w = Writer::take(&self.shared)?;
            if w.deltas.is_empty() {
                break w;
            }
            drop(w);
            self.checkpoint()?;
        };
        release_pending(&self.shared, &mut w);
        // A log region past the live pages (a continuation region appended at the end) would
        // pin the tail: move the log to the lowest free run that holds it, checkpoint so the
        // old region is free, and only then cut.
        let r = self.move_log_down(&mut w);
        w.settle(r, false)?;
        while w.next_page > 1 && w.free.contains(&(w.next_page - 1)) {
            let last = w.next_page - 1;
            w.free.remove(&last);
            w.next_page = last;
        }
        let r = checkpoint(&self.shared, &mut w).and_then(|_| {
            // The checkpoint may have placed its free list at the end; trim again only past it.
            let ps = self.shared.pager.page_size as u64;
            self.shared.pager.set_len(w.next_page * ps)?;
            self.shared.pager.sync()
        });
        self.shared.pager.clear_clean();
        w.free_after_compact = w.free.len() as u64;
        w.settle(r, false)?;
        drop(w);
        Ok(CompactReport { bytes_before, bytes_after: self.shared.pager.device.len()? })
    }

    /// If a free run below the log region can hold it, move the log there (zero-filled) and
    /// checkpoint, which frees the old region.
    pub(super) fn move_log_down(&self, w: &mut WriterState) -> Result<()> {
        let (start, pages) = *w.log_chain.last().expect("log chain");
        let Some(to) = w.free.take_run(pages, start) else {
            return Ok(());
        };
        let pager = &self.shared.pager;
        for id in to..to + pages {
            pager.forget(id);
        }
        pager.zero_pages(to, pages)?;
        w.log_chain.push((to, pages));
        w.log_pos = 0;
        checkpoint(&self.shared, w)?;
        release_pending(&self.shared, w);
        Ok(())
    }
}

impl TxnInner {
    /// Copy every page that sits above a free slot into the lowest free slots. Overflow runs
    /// go first, highest first, each into the lowest free run below it that holds it (runs
    /// need contiguous pages; single tree pages then fill what is left), then tree pages.
    pub(super) fn relocate_all(&mut self) -> Result<()> {
        let names: Vec<String> = {
            let mut v = Vec::new();
            let mut st = RangeState::new(self.catalog_root, Bound::Unbounded, Bound::Unbounded);
            while let Some((k, _)) = st.next(&*self)? {
                v.push(String::from_utf8_lossy(&k).into_owned());
            }
            v
        };
        let mut roots = Vec::new();
        for name in &names {
            self.table(name, false)?;
            roots.push(self.tables[name].root);
        }
        let moved = self.move_overflow_runs(&roots)?;
        let mut seen = HashSet::new();
        for name in names {
            let root = self.tables[&name].root;
            let new_root = self.relocate(root, 0, &mut seen, &moved)?;
            if new_root != root {
                let t = self.tables.get_mut(&name).expect("table");
                t.root = new_root;
                t.dirty = true;
            }
        }
        self.write_catalog()?;
        let root = self.catalog_root;
        self.catalog_root = self.relocate(root, 0, &mut seen, &moved)?;
        Ok(())
    }

    /// Copy each overflow run of the trees at `roots` that lies above a free run holding it
    /// into the lowest such run, highest runs first; returns, per leaf, the cells to point at
    /// their new runs (`relocate` makes the leaves private and updates them).
    pub(super) fn move_overflow_runs(&mut self, roots: &[PageId]) -> Result<HashMap<PageId, Vec<(usize, PageId)>>> {
        // (first page, value length, leaf, cell)
        let mut refs: Vec<(PageId, usize, PageId, usize)> = Vec::new();
        let mut seen = HashSet::new();
        let mut stack: Vec<(PageId, usize)> = roots.iter().filter(|&&r| r != 0).map(|&r| (r, 0)).collect();
        while let Some((id, depth)) = stack.pop() {
            if depth >= btree::MAX_DEPTH || !seen.insert(id) {
                return Err(Error::corrupted(id, "page reachable twice in the trees (or too deep)"));
            }
            let p = self.page(id)?;
            let n = crate::engine::page::Node::new(&p);
            if n.is_leaf() {
                for i in 0..n.len() {
                    if let crate::engine::page::LeafValue::Overflow { page, len } = n.value(i) {
                        refs.push((page, len, id, i));
                    }
                }
            } else {
                stack.extend((0..=n.len()).map(|i| (n.child(i), depth + 1)));
            }
        }
        refs.sort_unstable_by_key(|r| core::cmp::Reverse(page_no(r.0)));
        let shared = self.shared.clone();
        let mut moved: HashMap<PageId, Vec<(usize, PageId)>> = HashMap::new();
        for (first, len, leaf, cell) in refs {
            if self.w.free.first().is_none_or(|f| f >= page_no(first)) {
                continue;
            }
            let n = shared.pager.run_pages(len);
            let Some(to) = self.w.free.take_lowest_run(n, page_no(first)) else { continue };
            self.alloc.taken_free.extend(to..to + n);
            self.alloc.allocated.extend(to..to + n);
            let to = page_ref(to, self.w.next_tag());
            shared.pager.write_overflow(to, &shared.pager.read_overflow(first, len)?)?;
            self.pages.runs.insert(to);
            self.free_overflow(first, len);
            moved.entry(leaf).or_default().push((cell, to));
        }
        Ok(moved)
    }

    /// Move the tree at `id` down (see `relocate_all`), pointing leaves at the overflow runs
    /// `moved` copied; `seen` holds every page visited, so a damaged tree that reaches a page
    /// twice is an error, not exponential work.
    pub(super) fn relocate(
        &mut self,
        id: PageId,
        depth: usize,
        seen: &mut HashSet<PageId>,
        moved: &HashMap<PageId, Vec<(usize, PageId)>>,
    ) -> Result<PageId> {
        if id == 0 {
            return Ok(0);
        }
        if depth >= btree::MAX_DEPTH {
            return Err(Error::corrupted(id, "tree deeper than the depth limit (cycle?)"));
        }
        if !seen.insert(id) {
            return Err(Error::corrupted(id, "page reachable twice in the trees"));
        }
        let children: Vec<PageId> = {
            let p = self.page(id)?;
            let n = crate::engine::page::Node::new(&p);
            if n.is_leaf() {
                Vec::new()
            } else {
                (0..=n.len()).map(|i| n.child(i)).collect()
            }
        };
        let mut new_id = id;
        let should_move = |s: &Self, id: PageId| s.w.free.first().is_some_and(|f| f < page_no(id)) && !s.is_private(id);
        if should_move(self, id) {
            new_id = self.make_mut(id)?;
        }
        if let Some(cells) = moved.get(&id) {
            new_id = self.make_mut(new_id)?;
            for &(cell, to) in cells {
                crate::engine::page::NodeMut::new(self.get_mut(new_id)).set_overflow_page(cell, to);
            }
        }
        for (i, c) in children.into_iter().enumerate() {
            let nc = self.relocate(c, depth + 1, seen, moved)?;
            if nc != c {
                new_id = self.make_mut(new_id)?;
                crate::engine::page::NodeMut::new(self.get_mut(new_id)).set_child(i, nc);
            }
        }
        Ok(new_id)
    }
}
