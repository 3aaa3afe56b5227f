//! [`TxnInner`]: the write transaction's private state. Its methods are grouped by role in the
//! sibling files: `allocator` (page ids), `private_pages` (the page store the B+tree writes
//! through, and early writes), `tables` (per-table state), `commit`, `open` (log replay) and
//! `compact`.

use super::{allocator::Allocations, checkpoint::*, private_pages::PrivatePages, tables::*, writer::*};
use crate::engine::format::FrameHeader;
use crate::engine::log::LogWriter;
use crate::engine::page::PageId;
use crate::error::{Error, Result};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;

/// The write transaction's private state; also the [`PageStore`] the B+tree writes through.
pub(super) struct TxnInner {
    pub(super) shared: Arc<Shared>,
    /// The writer state, held for the transaction's life (handed back when it drops).
    pub(super) w: Writer,
    pub(super) txn_id: u64,
    /// The pages this transaction changed, not yet committed (see `private_pages`).
    pub(super) pages: PrivatePages,
    /// What this transaction allocated and freed (see `allocator`).
    pub(super) alloc: Allocations,
    pub(super) catalog_root: PageId,
    pub(super) tables: BTreeMap<String, TableState>,
    pub(super) log: LogWriter,
    pub(super) logging: bool,
    /// Log size at which [`TxnInner::log_bound`] is asked again whether logging still pays.
    pub(super) log_limit: usize,
    pub(super) force_checkpoint: bool,
    pub(super) durable: bool,
    /// Replaying the log at open: writes nothing (no early writes), never flushes into trees.
    pub(super) replaying: bool,
    /// Some table's delta changed (a run added, a delta folded, a table dropped).
    pub(super) deltas_changed: bool,
    pub(super) failed: Option<Error>,
}

impl TxnInner {
    pub(super) fn new(shared: Arc<Shared>, w: Writer) -> Self {
        let mut t = TxnInner {
            txn_id: w.last_txn + 1,
            catalog_root: w.catalog_root,
            alloc: Allocations::new(w.next_page),
            shared,
            w,
            pages: PrivatePages::default(),
            tables: BTreeMap::new(),
            log: LogWriter::default(),
            logging: true,
            log_limit: 0,
            force_checkpoint: false,
            durable: true,
            replaying: false,
            deltas_changed: false,
            failed: None,
        };
        t.log_limit = t.log_bound();
        t
    }

    /// The largest log payload this transaction can have and still commit through the log
    /// (`log_commit`'s capacity test, less a frame's header and padding), assuming the file
    /// grows by at most twice the log's size before the commit. Past it the commit goes
    /// through a checkpoint, so logging further would only copy every write once more (a bulk
    /// load's whole data); a transaction that grows the file faster than assumed also just
    /// commits through a checkpoint.
    pub(super) fn log_bound(&self) -> usize {
        let ps = self.shared.pager.page_size as u64;
        let max_log = self.shared.options.max_log_size as u64;
        let projected = self.w.next_page + (2 * self.log.buf.len() as u64).div_ceil(ps);
        let frame_room = log_capacity(projected, ps, max_log).saturating_sub(self.w.log_bytes);
        FrameHeader::max_payload(frame_room) as usize
    }

    /// The error a previous operation left this transaction with, if any: it can only abort.
    pub(super) fn check_usable(&self) -> Result<()> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Record a failure that may have left the private state half-changed.
    pub(super) fn fail<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }
}
