//! [`Database`]: the handle, and the operations on a whole database (snapshots, sync,
//! checkpoint, check, counters). Opening lives in `open`, compaction in `compact`.

use super::{checkpoint::*, inner::*, options::*, read::*, write::*, writer::*};
use crate::engine::pager::Stats;
use crate::error::{Error, Result};
use alloc::format;
use alloc::sync::Arc;
use core::cell::RefCell;
use core::sync::atomic::Ordering::Relaxed;

/// An open database. `Send + Sync`: share it between threads by reference or in an `Arc`.
/// Cloning gives another handle on the same open database (the file is released when the
/// last handle and the last transaction are gone).
///
/// ```
/// use tessera::Database;
/// let db = Database::memory();
/// let tx = db.begin_write()?;
/// tx.open_table("fruit")?.insert(b"apple", b"red")?;
/// tx.commit()?;
/// let rx = db.begin_read()?;
/// assert_eq!(&*rx.open_table("fruit")?.get(b"apple")?.unwrap(), b"red");
/// # Ok::<(), tessera::Error>(())
/// ```
#[derive(Clone)]
pub struct Database {
    pub(super) shared: Arc<Shared>,
}

impl core::fmt::Debug for Database {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Database").field("page_size", &self.shared.pager.page_size).finish()
    }
}

pub(super) const SECTOR: u64 = crate::engine::device::SECTOR_SIZE as u64;

impl Database {
    /// Open the database file at `path`, creating it if missing, with default [`Options`].
    #[cfg(feature = "std")]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Database> {
        Self::open_with(path, Options::default())
    }

    /// Open or create the database file at `path`: locked against every other opener (see
    /// `device::FileDevice`; [`Options::lock_timeout`] waits), read-only with
    /// [`Options::read_only`]. A file this process cannot open for writing (its permissions, a
    /// read-only file system or directory) is opened read-only instead, as sqlite3 does, and
    /// [`RecoveryReport::opened_read_only`] says why.
    #[cfg(feature = "std")]
    pub fn open_with(path: impl AsRef<std::path::Path>, options: Options) -> Result<Database> {
        use crate::engine::device::{FileDevice, FileOptions};
        let path = path.as_ref();
        let file = FileOptions {
            read_only: options.read_only,
            use_mmap: options.use_mmap,
            lock_timeout: options.lock_timeout,
        };
        let writable = match FileDevice::open_with_options(path, &file) {
            Ok(dev) => return Self::open_device(dev, options),
            Err(e @ Error::Io { op: "open" | "lock", .. }) if !options.read_only => e,
            Err(e) => return Err(e),
        };
        // The file exists and can be read but not written: read-only, and say so.
        let Ok(dev) = FileDevice::open_with_options(path, &FileOptions { read_only: true, ..file }) else {
            return Err(writable);
        };
        let db = Self::open_device(dev, Options { read_only: true, ..options })?;
        db.shared.recovery.lock().opened_read_only = Some(format!("cannot open it for writing: {writable}"));
        Ok(db)
    }

    /// A new, empty in-memory database.
    pub fn memory() -> Database {
        Self::open_device(crate::engine::device::MemoryDevice::new(), Options::default())
            .expect("memory device cannot fail")
    }

    /// Start a read transaction: a consistent snapshot of the last commit.
    pub fn begin_read(&self) -> Result<ReadTransaction> {
        let mut r = self.shared.readers.lock();
        let snap = r.current.clone();
        let view = r.view.clone();
        *r.active.entry(snap.txn_id).or_insert(0) += 1;
        drop(r);
        Ok(ReadTransaction { shared: self.shared.clone(), snap, view })
    }

    /// Start the write transaction; waits for the current one to finish (with `std`).
    pub fn begin_write(&self) -> Result<WriteTransaction> {
        self.shared.check_writable()?;
        let w = Writer::take(&self.shared)?;
        self.shared.check_writable()?;
        if w.last_txn == u64::MAX - 1 {
            return Err(Error::corrupted(0, "the transaction counter is at its limit"));
        }
        let inner = TxnInner::new(self.shared.clone(), w);
        Ok(WriteTransaction { inner: RefCell::new(Some(inner)), durability: Durability::Immediate })
    }

    pub(super) fn check_poisoned(&self) -> Result<()> {
        if self.shared.poisoned.load(Relaxed) {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Make every commit so far durable (those made with [`Durability::None`]).
    ///
    /// Waits for the write transaction, if one is open: calling it from the thread that holds
    /// a [`WriteTransaction`] deadlocks (with `std`; without it, returns
    /// [`Error::WriteTransactionInProgress`]).
    pub fn sync(&self) -> Result<()> {
        if self.shared.options.read_only {
            return Ok(());
        }
        self.check_poisoned()?;
        let mut w = Writer::take(&self.shared)?;
        let r = if w.unsynced { self.shared.pager.sync() } else { Ok(()) };
        if r.is_ok() {
            w.unsynced = false;
            w.synced_txn = w.last_txn;
        }
        w.settle(r, false)
    }

    /// Write every committed page in place and switch the commit slot; the log starts over.
    ///
    /// Waits for the write transaction, if one is open: calling it from the thread that holds
    /// a [`WriteTransaction`] deadlocks (with `std`; without it, returns
    /// [`Error::WriteTransactionInProgress`]).
    pub fn checkpoint(&self) -> Result<()> {
        self.shared.check_writable()?;
        let mut w = Writer::take(&self.shared)?;
        if !w.deltas.is_empty() {
            // Fold the deltas into the trees: a transaction that commits through a checkpoint.
            let mut tx = TxnInner::new(self.shared.clone(), w);
            tx.force_checkpoint = true;
            let r = tx.commit();
            return tx.w.settle(r, true);
        }
        let r = checkpoint(&self.shared, &mut w);
        w.settle(r, false)
    }

    /// Engine counters.
    pub fn stats(&self) -> Stats {
        let mut s = self.shared.pager.stats();
        if let Ok(w) =
            self.shared.writer.try_peek(|w| (w.next_page, w.free.len(), w.delta_bytes, w.freelist_pages.len()))
        {
            s.page_count = w.0;
            s.free_pages = w.1 as u64;
            s.delta_bytes = w.2 as u64;
            s.free_list_pages = w.3 as u64;
        }
        s
    }

    /// Walk every page of the last commit, verifying checksums and tree invariants.
    ///
    /// Waits for the write transaction, if one is open: calling it from the thread that holds
    /// a [`WriteTransaction`] deadlocks (with `std`; without it, returns
    /// [`Error::WriteTransactionInProgress`]).
    pub fn check(&self) -> Result<crate::engine::check::CheckReport> {
        let rx = self.begin_read()?;
        let w = Writer::take(&self.shared)?;
        let layout = crate::engine::check::Layout {
            page_count: w.next_page,
            log_regions: w.log_chain.clone(),
            free: w.free.iter().chain(w.pending.iter().flat_map(|p| p.pages.iter().copied())).collect(),
            freelist_pages: w.freelist_pages.clone(),
        };
        drop(w);
        let mut report = crate::engine::check::check(&self.shared.pager, rx.snap.catalog_root, &layout);
        if !rx.snap.deltas.is_empty() && report.errors.is_empty() {
            // The walk counted the trees; commits not yet folded into them count too.
            let mut entries = report.entries as i64;
            for name in rx.snap.deltas.keys() {
                let t = rx.open_table(name)?;
                entries += t.len()? as i64 - t.count as i64;
            }
            report.entries = entries.max(0) as u64;
        }
        // Pages neither reachable nor free: lost space, or pages a damaged reference cut off
        // (a commit slot's catalog root zeroed drops every table, and leaves only this).
        if report.leaked_pages > 0 {
            report.errors.push(format!(
                "{} pages are neither reachable nor free (space lost, or data cut off by a damaged reference)",
                report.leaked_pages
            ));
        }
        // What opening found: damage that cost nothing, and what a salvage gave up.
        let rr = self.recovery_report();
        for (i, what) in rr.salvaged.iter().chain(&rr.harmless_damage).enumerate() {
            report.errors.insert(i, what.clone());
        }
        Ok(report)
    }

    /// Close this handle, making commits made with [`Durability::None`] durable first and
    /// reporting a failure to do so (dropping the last handle also syncs, but can only
    /// swallow errors). Transactions still open keep the database alive until they end.
    ///
    /// Waits for the write transaction, if one is open (see [`Database::checkpoint`]).
    pub fn close(self) -> Result<()> {
        if self.shared.poisoned.load(Relaxed) {
            return Err(Error::Poisoned);
        }
        self.sync()
    }

    /// What opening the database found: log frames replayed, a damaged commit slot.
    pub fn recovery_report(&self) -> RecoveryReport {
        self.shared.recovery.lock().clone()
    }

    /// Whether the database is open read-only ([`Options::read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.shared.options.read_only
    }

    /// Page size of this database.
    pub fn page_size(&self) -> usize {
        self.shared.pager.page_size
    }
}
