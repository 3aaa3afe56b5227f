//! The commit protocol: through the log (one frame, one sync; writes stay in deltas) or
//! through a checkpoint (large transactions), then the writer state is updated and the new
//! snapshot published.

use super::{checkpoint::*, database::*, inner::*, writer::*};
use crate::engine::btree;
use crate::engine::delta::TableDelta;
use crate::engine::format::{self, page_no, FrameHeader};
use crate::engine::page::PageId;
use crate::error::Result;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering::Relaxed;

impl TxnInner {
    /// Whether a commit with a `frame_len`-byte frame goes through the log (not a checkpoint):
    /// the log must keep within its capacity, and the memory held by dirty pages and deltas
    /// within half the cache budget.
    pub(super) fn log_commit(&self, frame_len: u64) -> bool {
        let pager = &self.shared.pager;
        let ps = pager.page_size as u64;
        let max_log = self.shared.options.max_log_size as u64;
        self.logging
            && !self.force_checkpoint
            && !self.w.log_unclean
            && self.w.log_bytes + frame_len <= log_capacity(self.w.next_page, ps, max_log)
            && pager.dirty_bytes.load(Relaxed) + self.pages.bytes + self.delta_bytes() <= pager.budget / 2
    }

    /// Each table's buffered writes become a new run of its delta (no tree page is touched).
    pub(super) fn buffers_to_layers(&mut self) {
        for t in self.tables.values_mut() {
            if !t.buffer.is_empty() {
                let run = core::mem::take(&mut t.buffer).freeze();
                t.delta = t.delta.with_layer(run);
                self.deltas_changed = true;
            }
        }
    }

    /// Apply buffered writes, then store changed table roots and counts in the catalog tree.
    pub(super) fn write_catalog(&mut self) -> Result<()> {
        self.flush_all()?;
        let changed: Vec<(String, PageId, u64, bool)> = self
            .tables
            .iter_mut()
            .filter(|(_, t)| t.dirty)
            .map(|(n, t)| {
                t.dirty = false;
                (n.clone(), t.root, t.count, t.dropped)
            })
            .collect();
        for (name, root, count, dropped) in changed {
            let cat = self.catalog_root;
            self.catalog_root = if dropped {
                btree::remove(self, cat, name.as_bytes())?.0
            } else {
                btree::insert(self, cat, name.as_bytes(), &format::encode_pair(root, count))?.0
            };
        }
        Ok(())
    }

    pub(super) fn changed(&self) -> bool {
        self.deltas_changed
            || !self.pages.dirty.is_empty()
            || !self.pages.written_early.is_empty()
            || !self.alloc.freed.is_empty()
            || !self.alloc.freed_private.is_empty()
            || self.catalog_root != self.w.catalog_root
            || !self.pages.runs.is_empty()
    }

    /// Commit. Nothing can fail after the snapshot is published (the last step), so a failure
    /// always undoes the transaction (and the caller settles it with `undone`).
    pub(super) fn commit(&mut self) -> Result<()> {
        let r = self.commit_inner();
        if r.is_err() {
            self.undo();
        }
        r
    }

    pub(super) fn commit_inner(&mut self) -> Result<()> {
        self.check_usable()?;
        let frame_len = FrameHeader::frame_len(self.log.buf.len()) as u64;
        // A commit through the log leaves its writes out of the trees: each table's sorted
        // buffer becomes a run of its delta (the frame holds the same operations).
        if self.log_commit(frame_len) {
            self.buffers_to_layers();
        }
        self.write_catalog()?;
        // A commit that would be followed by a checkpoint at once commits through the
        // checkpoint instead: its pages are written once (not frame + pages) and it costs two
        // syncs instead of three. This is what makes large transactions cheap. A checkpoint
        // discards the log, so every delta is folded into its tree first.
        let use_log = self.log_commit(frame_len);
        if !use_log {
            self.fold_all()?;
            self.write_catalog()?;
        }
        if !self.changed() && !self.force_checkpoint {
            return Ok(());
        }
        let shared = self.shared.clone();
        let pager = &shared.pager;
        let ps = pager.page_size as u64;
        let txn_id = self.txn_id;
        assert_eq!(txn_id, self.w.last_txn + 1, "transaction ids are consecutive");
        if use_log {
            let seq = self.w.slot.seq;
            let (mut start, mut pages) = *self.w.log_chain.last().expect("log chain");
            // Keep one sector free at the end of each region for a continuation frame.
            if self.w.log_pos + frame_len + SECTOR > pages * ps {
                start = self.extend_log(frame_len)?;
                pages = self.w.log_chain.last().expect("log chain").1;
            }
            // Frames are whole sectors, and the frame (with the sector kept for a link) fits
            // its region: a frame never spills over into the pages after the region.
            assert_eq!(self.w.log_pos % SECTOR, 0, "frames start on a sector");
            assert!(self.w.log_pos + frame_len + SECTOR <= pages * ps, "a frame past its log region");
            let mut frame = Vec::with_capacity(frame_len as usize);
            let payload_len = self.log.buf.len() as u32;
            let durable_txn = self.w.synced_txn;
            FrameHeader { txn_id, seq, payload_len, flags: 0, durable_txn }.encode(&self.log.buf, &mut frame);
            debug_assert_eq!(frame.len() as u64, frame_len);
            pager.write_at(start * ps + self.w.log_pos, &frame)?;
            pager.counters.log_bytes.fetch_add(frame_len, Relaxed);
            if self.durable {
                pager.sync()?;
                self.w.unsynced = false;
                self.w.synced_txn = txn_id;
            } else {
                self.w.unsynced = true;
            }
            self.w.log_pos += frame_len;
            self.w.log_bytes += frame_len;
            for (id, page) in self.pages.dirty.drain() {
                pager.insert_dirty(id, page);
            }
            self.pages.bytes = 0;
        } else {
            let mut ids: Vec<PageId> = self.pages.dirty.keys().copied().collect();
            ids.sort_unstable_by_key(|&id| page_no(id));
            let dirty = &mut self.pages.dirty;
            pager.write_sorted(&ids, &mut |id, buf| {
                pager.forget(id);
                buf.extend_from_slice(&dirty.remove(&id).expect("dirty"));
            })?;
            self.pages.bytes = 0;
        }
        self.finish(txn_id);
        if !use_log {
            checkpoint(&shared, &mut self.w)?;
        }
        self.publish();
        pager.counters.commits.fetch_add(1, Relaxed);
        release_pending(&shared, &mut self.w);
        Ok(())
    }

    /// Continue the log in a new, larger, zero-filled region at the end of the file, linked
    /// from the current region by a continuation frame; returns the new region's first page.
    /// The region (and the file's new length) is synced before the link is written, so a link
    /// naming a region past the end of the file is damage, never a crash; the link itself is
    /// made durable by the commit's own sync (a torn link just ends the log before this commit).
    pub(super) fn extend_log(&mut self, frame_len: u64) -> Result<PageId> {
        let pager = &self.shared.pager;
        let ps = pager.page_size as u64;
        let (cur_start, cur_pages) = *self.w.log_chain.last().expect("log chain");
        let need = (frame_len + SECTOR).div_ceil(ps);
        let max_pages = (self.shared.options.max_log_size as u64 / ps).max(need);
        let pages = (cur_pages * 2).max(need).min(max_pages);
        assert!(pages >= need, "a new log region holds the frame");
        let start = self.w.next_page;
        self.w.next_page += pages;
        pager.zero_pages(start, pages)?;
        pager.sync()?;
        self.w.unsynced = false;
        self.w.synced_txn = self.w.last_txn;
        let payload = format::encode_pair(start, pages);
        let link = FrameHeader {
            txn_id: self.txn_id,
            seq: self.w.slot.seq,
            payload_len: 16,
            flags: format::FRAME_CONTINUE,
            durable_txn: self.w.synced_txn,
        };
        let mut frame = Vec::with_capacity(SECTOR as usize);
        link.encode(&payload, &mut frame);
        debug_assert!(self.w.log_pos + frame.len() as u64 <= cur_pages * ps);
        pager.write_at(cur_start * ps + self.w.log_pos, &frame)?;
        self.w.log_chain.push((start, pages));
        self.w.log_pos = 0;
        Ok(start)
    }

    /// Move this transaction's allocation effects and deltas into the writer state.
    pub(super) fn finish(&mut self, txn_id: u64) {
        assert!(txn_id > self.w.last_txn, "a commit goes forward");
        self.w.last_txn = txn_id;
        self.w.catalog_root = self.catalog_root;
        if self.deltas_changed {
            let mut deltas = (*self.w.deltas).clone();
            for (name, t) in &self.tables {
                if t.delta.is_empty() {
                    deltas.remove(name);
                } else {
                    deltas.insert(name, t.delta.clone());
                }
            }
            self.w.delta_bytes = deltas.values().map(TableDelta::bytes).sum();
            self.w.deltas = Arc::new(deltas);
            self.deltas_changed = false;
        }
        let (mut fresh_freed, mut old_freed) = (Vec::new(), Vec::new());
        for id in self.alloc.freed.drain(..) {
            if self.w.fresh.contains(&id) {
                fresh_freed.push(id);
            } else {
                old_freed.push(id);
            }
        }
        for id in self.alloc.allocated.drain(..) {
            if !self.w.free.contains(&id) {
                self.w.fresh.insert(id);
            }
        }
        for id in &fresh_freed {
            self.w.fresh.remove(id);
        }
        if !fresh_freed.is_empty() {
            self.w.pending.push(PendingFree { txn: txn_id, needs_checkpoint: false, pages: fresh_freed });
        }
        if !old_freed.is_empty() {
            self.w.pending.push(PendingFree { txn: txn_id, needs_checkpoint: true, pages: old_freed });
        }
        self.pages.written_early.clear();
        self.pages.runs.clear();
        self.alloc.taken_free.clear();
        self.alloc.freed_private.clear();
    }

    pub(super) fn publish(&self) {
        self.shared.pager.reserve_pages(self.w.next_page);
        publish_snapshot(
            &self.shared,
            Some(Snapshot {
                txn_id: self.w.last_txn,
                catalog_root: self.w.catalog_root,
                deltas: self.w.deltas.clone(),
            }),
        );
    }
}
