//! The checkpoint: every committed page written in place, the free list persisted, then the
//! other commit slot; the log starts over. Also how large the log may grow before one.

use super::writer::*;
use crate::engine::device::BlockDevice;
use crate::engine::format::{
    self, at, kind, page_ref, put_u16, put_u64, CommitSlot, FREELIST_RUN, MIRROR_OFFSETS, PAGE_HEADER, SLOT_OFFSETS,
};
use crate::engine::page::PageId;
use crate::error::{Error, Result};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::Ordering::Relaxed;

pub(super) const INITIAL_LOG_BYTES: usize = 256 << 10;

/// Write all committed pages in place, persist the free list, sync, switch slots, sync.
pub(super) fn checkpoint(shared: &Shared, w: &mut WriterState) -> Result<()> {
    // The log is about to be discarded: nothing may live only in a delta.
    debug_assert!(w.deltas.is_empty(), "checkpoint with unfolded deltas");
    let pager = &shared.pager;
    let ps = pager.page_size;
    release_pending(shared, w);
    pager.flush_dirty()?;
    // The next log lives in the newest region of the current chain; older ones are freed.
    let (log_start, log_pages) = *w.log_chain.last().expect("log chain");
    let old_logs: Vec<(PageId, u64)> = w.log_chain[..w.log_chain.len() - 1].to_vec();
    // The free list: everything free or pending, plus the pages of the previous free list
    // and log (only the durable slot still points at them; the new one will not).
    let mut all = w.free.clone();
    for p in &w.pending {
        all.extend(p.pages.iter().copied());
    }
    all.extend(w.freelist_pages.iter().copied());
    for &(s, n) in &old_logs {
        all.extend(s..s + n);
    }
    let per_page = match shared.options.free_list_runs_per_page {
        0 => (ps - PAGE_HEADER) / FREELIST_RUN,
        n => n.min((ps - PAGE_HEADER) / FREELIST_RUN),
    };
    let mut list_pages: Vec<PageId> = Vec::new();
    let runs = loop {
        let runs: Vec<(u64, u64)> = all.runs().collect();
        let need = runs.len().div_ceil(per_page);
        if list_pages.len() >= need {
            break runs;
        }
        // Take pages for the list itself from the free set (never from pages the durable
        // slot still references), else from the end of the file.
        let id = match w.free.pop_first() {
            Some(id) => {
                all.remove(&id);
                id
            }
            None => {
                w.next_page += 1;
                w.next_page - 1
            }
        };
        pager.forget(id);
        list_pages.push(id);
    };
    // Every page taken is written and chained, even one left with no runs: taking a page can
    // remove a single-page run, so the list may need fewer pages than were taken, and giving
    // one back would leave the previous page's `next` naming a page that is not on the list.
    let list_refs: Vec<PageId> = list_pages.iter().map(|&no| page_ref(no, w.next_tag())).collect();
    for (i, &id) in list_refs.iter().enumerate() {
        let chunk = runs.get(i * per_page..runs.len().min((i + 1) * per_page)).unwrap_or(&[]);
        let mut b = vec![0u8; ps];
        b[at::KIND] = kind::FREELIST;
        put_u16(&mut b, at::COUNT, chunk.len() as u16);
        put_u64(&mut b, at::FREELIST_NEXT, list_refs.get(i + 1).copied().unwrap_or(0));
        for (j, (s, n)) in chunk.iter().enumerate() {
            b[PAGE_HEADER + FREELIST_RUN * j..][..FREELIST_RUN].copy_from_slice(&format::encode_pair(*s, *n));
        }
        pager.write_page(id, &mut b)?;
    }
    // The file must reach page_count even if its tail pages were never written.
    let want_len = w.next_page * ps as u64;
    if pager.device.len()? < want_len {
        pager.set_len(want_len)?;
    }
    pager.sync()?;
    let seq = w.slot.seq.checked_add(1).ok_or_else(|| Error::corrupted(0, "the checkpoint counter is at its limit"))?;
    let slot = CommitSlot {
        seq,
        txn_id: w.last_txn,
        catalog_root: w.catalog_root,
        freelist_head: list_refs.first().copied().unwrap_or(0),
        page_count: w.next_page,
        log_start,
        log_pages,
    };
    // What the slot names lies inside the file it describes, and the list holds every run.
    assert!(log_start > 0 && log_start + log_pages <= slot.page_count, "the log region lies inside the file");
    assert!(list_pages.iter().all(|&p| p > 0 && p < slot.page_count), "free-list pages lie inside the file");
    assert!(list_pages.len() * per_page >= runs.len(), "the free list holds every free run");
    debug_assert!(list_pages.iter().all(|p| !all.contains(p)), "a free-list page lists itself");
    // Both copies (see `read_slots`); the older slot's two copies stay intact until this
    // one is durable.
    let i = (slot.seq % 2) as usize;
    pager.write_at(SLOT_OFFSETS[i], &slot.encode())?;
    pager.write_at(MIRROR_OFFSETS[i], &slot.encode())?;
    pager.sync()?;
    // The new checkpoint is durable: the old free list and log are free now, and pages freed
    // before it no longer wait for a checkpoint.
    for id in core::mem::take(&mut w.freelist_pages) {
        w.free.insert(id);
    }
    for (s, n) in old_logs {
        w.free.extend(s..s + n);
    }
    w.freelist_pages = list_pages;
    w.slot = slot;
    w.log_chain = vec![(log_start, log_pages)];
    w.log_pos = 0;
    w.log_bytes = 0;
    w.unsynced = false;
    w.synced_txn = w.last_txn;
    w.log_unclean = false;
    w.fresh.clear();
    for p in &mut w.pending {
        p.needs_checkpoint = false;
    }
    release_pending(shared, w);
    // Everything is in place now: new readers read the file directly.
    publish_snapshot(shared, None);
    pager.counters.checkpoints.fetch_add(1, Relaxed);
    Ok(())
}

/// How large the log may grow before a checkpoint: a quarter of the data (at least the initial
/// region, at most the configured maximum), so recovery stays short and small files small.
pub(super) fn log_limit(next_page: u64, page_size: u64, max_log: u64) -> u64 {
    (next_page * page_size / 4).clamp(INITIAL_LOG_BYTES as u64, max_log.max(INITIAL_LOG_BYTES as u64))
}

/// The most bytes the log may hold after a commit through it: three quarters of its limit
/// (the rest is the margin that triggers the checkpoint early), never more than `max_log`.
pub(super) fn log_capacity(next_page: u64, page_size: u64, max_log: u64) -> u64 {
    (log_limit(next_page, page_size, max_log) * 3 / 4).min(max_log)
}
