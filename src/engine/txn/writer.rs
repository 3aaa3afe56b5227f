//! The state shared by every handle of one open database ([`Shared`]): the pager, the readers'
//! snapshots, and the writer state ([`WriterState`]) that passes from one write transaction to
//! the next through [`Writer`], the guard that always hands it back and applies the one rule
//! that says which failures poison the database.

use super::options::*;
use crate::engine::delta::Deltas;
use crate::engine::format::CommitSlot;
use crate::engine::free_set::FreeSet;
use crate::engine::page::PageId;
use crate::engine::pager::{DirtyView, Pager};
use crate::engine::sync::{HandOff, Mutex};
use crate::error::{Error, Result};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
use hashbrown::HashSet;

#[derive(Clone)]
pub(super) struct Snapshot {
    pub(super) txn_id: u64,
    pub(super) catalog_root: PageId,
    /// The tables' committed deltas (writes not yet folded into the trees).
    pub(super) deltas: Arc<Deltas>,
}

pub(super) struct Readers {
    pub(super) current: Snapshot,
    /// Dirty pages as the current snapshot sees them (mapped devices).
    pub(super) view: Arc<DirtyView>,
    /// Snapshot txn id → number of live readers on it.
    pub(super) active: BTreeMap<u64, usize>,
}

pub(super) struct PendingFree {
    pub(super) txn: u64,
    pub(super) needs_checkpoint: bool,
    pub(super) pages: Vec<PageId>,
}

/// Everything only the writer touches; handed from one write transaction to the next.
pub(super) struct WriterState {
    pub(super) free: FreeSet,
    pub(super) next_page: PageId,
    pub(super) pending: Vec<PendingFree>,
    /// Pages allocated since the last checkpoint (no durable checkpoint references them).
    pub(super) fresh: HashSet<PageId>,
    pub(super) slot: CommitSlot,
    pub(super) freelist_pages: Vec<PageId>,
    /// Log regions of the current checkpoint's log, in order (the first is the slot's); frames
    /// go to the last one at `log_pos`.
    pub(super) log_chain: Vec<(PageId, u64)>,
    pub(super) log_pos: u64,
    /// Frame bytes written since the last checkpoint.
    pub(super) log_bytes: u64,
    pub(super) last_txn: u64,
    /// Every transaction up to this one is durable (synced, or proven so by the log); each log
    /// frame records it, which lets recovery tell damage from a torn tail.
    pub(super) synced_txn: u64,
    /// Something of the current log lies at or past `log_pos` (a torn frame after a crash,
    /// frames behind it, a salvaged log): the next commit goes through a checkpoint, which
    /// starts a new log sequence, instead of appending where a recovery could read on.
    pub(super) log_unclean: bool,
    pub(super) catalog_root: PageId,
    pub(super) unsynced: bool,
    /// Committed table deltas (see `memtable`); empty right after every checkpoint.
    pub(super) deltas: Arc<Deltas>,
    /// Memory the deltas hold.
    pub(super) delta_bytes: usize,
    /// Free pages the last compaction could not remove (pinned by readers, or interior):
    /// automatic compaction waits until a quarter of the file more has been freed.
    pub(super) free_after_compact: u64,
    /// State of the generator of page version tags (see [`WriterState::next_tag`]).
    pub(super) tags: u64,
}

impl WriterState {
    /// A version tag for a page being allocated (see `format::page_ref`): never 0 (the tag of
    /// format 1 pages), pseudo-random, so an older image of the same page number differs from
    /// the current one but for one chance in 2^24.
    pub(super) fn next_tag(&mut self) -> u32 {
        self.tags = self.tags.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.tags;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        1 + ((z ^ (z >> 31)) % 0xFF_FFFF) as u32
    }

    /// The writer state's own invariants, cheap enough to check at every hand-off: the log
    /// chain is not empty and lies inside the file, the current frame position lies inside
    /// the newest region, the durable and checkpointed transactions are not ahead of the last
    /// one.
    pub(super) fn assert_consistent(&self, page_size: u64) {
        let &(_, pages) = self.log_chain.last().expect("a log chain has a region");
        assert!(self.log_chain.iter().all(|&(s, n)| s > 0 && s + n <= self.next_page), "log regions inside the file");
        assert!(self.log_pos <= pages * page_size, "the log position inside its region");
        assert!(self.synced_txn <= self.last_txn, "nothing is durable that was not committed");
        assert!(self.slot.txn_id <= self.last_txn, "the checkpoint is not ahead of the commits");
        assert!(self.deltas.is_empty() || self.last_txn > self.slot.txn_id, "deltas only after a checkpoint");
    }

    /// Whether automatic compaction should run: more than half of a file of at least 1 MiB is
    /// free, and enough has been freed since the last compaction.
    pub(super) fn compact_due(&self, page_size: usize) -> bool {
        let free = self.free.len() as u64 + self.pending.iter().map(|p| p.pages.len() as u64).sum::<u64>();
        let total = self.next_page;
        total * page_size as u64 >= 1 << 20 && free * 2 > total && free >= self.free_after_compact + total / 4
    }
}

/// Everything the handles of one open database share: [`Database`] clones, transactions.
pub(crate) struct Shared {
    pub(crate) pager: Pager,
    pub(super) readers: Mutex<Readers>,
    /// The writer state, taken by one [`Writer`] at a time.
    pub(super) writer: HandOff<WriterState>,
    /// Set by [`Writer::settle`] when a failure may have left the file or the writer state
    /// half-changed: every later write fails with [`Error::Poisoned`].
    pub(super) poisoned: AtomicBool,
    pub(super) options: Options,
    pub(super) recovery: Mutex<RecoveryReport>,
}

impl Shared {
    /// Refuse a write on a read-only database, or one poisoned by a device error.
    pub(super) fn check_writable(&self) -> Result<()> {
        if self.options.read_only {
            Err(Error::ReadOnly)
        } else if self.poisoned.load(Relaxed) {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }
}

/// The writer state, taken from [`Shared::writer`] for as long as this guard lives. It goes
/// back when the guard drops, on every path (success, error, panic), so the next write
/// transaction never waits for a state that was lost.
pub(super) struct Writer {
    shared: Arc<Shared>,
    /// `Some` until the guard drops.
    state: Option<WriterState>,
}

impl Writer {
    /// Take the writer state; waits for the current holder (with `std`; without it, fails with
    /// [`Error::WriteTransactionInProgress`]).
    pub(super) fn take(shared: &Arc<Shared>) -> Result<Writer> {
        let state = shared.writer.take()?;
        state.assert_consistent(shared.pager.page_size as u64);
        Ok(Writer { shared: shared.clone(), state: Some(state) })
    }

    /// Pass `r` through, poisoning the database if it failed in a way that poisons.
    ///
    /// **The one poisoning rule:** a failed operation of the writer poisons the database unless
    /// it undid itself (`undone`: a failed commit undoes its transaction and leaves the writer
    /// state as it was). Even then an I/O error poisons: the device may hold a half-written
    /// page, frame or slot that no later write may build on.
    pub(super) fn settle<T>(&self, r: Result<T>, undone: bool) -> Result<T> {
        if let Err(e) = &r {
            if !undone || matches!(e, Error::Io { .. }) {
                self.shared.poisoned.store(true, Relaxed);
            }
        }
        r
    }
}

impl core::ops::Deref for Writer {
    type Target = WriterState;
    #[inline]
    fn deref(&self) -> &WriterState {
        self.state.as_ref().expect("writer state present until the guard drops")
    }
}

impl core::ops::DerefMut for Writer {
    #[inline]
    fn deref_mut(&mut self) -> &mut WriterState {
        self.state.as_mut().expect("writer state present until the guard drops")
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            self.shared.writer.put(state);
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Best effort: make non-durable commits durable when the last handle (database or
        // transaction) goes away. Never waits: a writer state lost to a panic is skipped.
        if !self.poisoned.load(Relaxed) && self.writer.try_peek(|w| w.unsynced).unwrap_or(false) {
            let _ = self.pager.sync();
        }
    }
}

/// Publish a new snapshot (if given) and the matching dirty view, atomically for readers.
pub(super) fn publish_snapshot(shared: &Shared, snap: Option<Snapshot>) {
    let cur = shared.readers.lock().view.clone();
    let view = shared.pager.next_view(&cur);
    let mut r = shared.readers.lock();
    if let Some(s) = snap {
        assert!(s.txn_id >= r.current.txn_id, "published snapshots go forward");
        r.current = s;
    }
    if let Some(v) = view {
        r.view = v;
    }
}

/// Release pending frees whose pages no reader or durable checkpoint can reach.
pub(super) fn release_pending(shared: &Shared, w: &mut WriterState) {
    let oldest = shared.readers.lock().active.keys().next().copied();
    let mut i = 0;
    while i < w.pending.len() {
        let p = &w.pending[i];
        if !p.needs_checkpoint && oldest.is_none_or(|o| o >= p.txn) {
            let p = w.pending.swap_remove(i);
            for id in p.pages {
                shared.pager.forget(id);
                let inserted = w.free.insert(id);
                debug_assert!(inserted, "page {id} freed twice");
            }
        } else {
            i += 1;
        }
    }
}
