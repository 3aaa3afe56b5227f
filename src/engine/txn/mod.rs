//! The public API: [`Database`], transactions and tables, and the commit machinery behind them.
//!
//! # Data path of a read
//! `begin_read` registers a snapshot (the last commit's catalog root and transaction id) in the
//! reader table. `open_table` looks the table's root up in the catalog tree; `get` descends
//! from that root through [`crate::engine::pager::Pager::read_page`]: cache, else the file mapping
//! (zero-copy), else a device read. Nothing a reader touches is ever modified in place, so
//! readers take no locks after `begin_read` and are never blocked by the writer.
//!
//! # Data path of a commit
//! The writer changes pages copy-on-write into private buffers. At commit, table roots go into
//! the catalog tree, then:
//! - **Log path** (the common case): each table's buffered writes become a run of its
//!   in-memory delta (see [`crate::engine::delta`]) instead of changing the tree; the transaction's
//!   logical changes (see [`crate::engine::log`]) are written as one checksummed frame to the log
//!   region, followed by **one** device sync. Private pages (catalog, tables flushed during
//!   the transaction) move into the shared cache as *dirty* entries and the new snapshot
//!   (catalog root and deltas) is published.
//! - **Checkpoint path** (transactions too large for the log, `compact`, a full log, or dirty
//!   pages and deltas over half the cache): every delta is folded into its tree, every dirty
//!   page is written in place, then the free list, sync, then the other commit slot, sync.
//!   The log starts over.
//!
//! Recovery reads the newest valid commit slot and replays the log frames that follow it
//! (matching checkpoint sequence, consecutive transaction ids, valid checksums), then
//! checkpoints. A torn frame ends the log: it was never acknowledged as durable.
//!
//! # Page reuse
//! A page replaced by transaction T is reusable once (1) no reader holds a snapshot older than
//! T and (2) no durable checkpoint can still reference it, i.e. either it was created after the
//! last checkpoint, or a checkpoint after T has completed.

pub(crate) mod recovery;

use crate::engine::btree::{self, PageSource, PageStore, RangeState};
use crate::engine::delta::{Deltas, MergedRange, TableDelta};
use crate::engine::device::BlockDevice;
use crate::engine::format::{
    self, get_u64, kind, page_no, page_ref, put_u16, put_u64, CommitSlot, FileHeader, FrameHeader, SlotCopy,
    FORMAT_VERSION, HEADER_CREATING, MIRROR_OFFSETS, PAGE_HEADER, SLOT_OFFSETS,
};
use crate::engine::free_set::FreeSet;
use crate::engine::log::{LogReader, LogWriter, Op};
use crate::engine::page::{Guard, PageId, PageRef};
use crate::engine::pager::{DirtyView, Pager, Stats};
use crate::engine::sync::{HandOff, Mutex};
use crate::engine::write_buffer::WriteBuffer;
use crate::error::{Error, Result};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::ops::{Bound, RangeBounds};
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
use hashbrown::{HashMap, HashSet};
use recovery::LogScan;

/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Longest value, in bytes (values above a quarter page live in overflow runs).
pub const MAX_VALUE_LEN: usize = (1 << 31) - 1;
/// Longest table name, in bytes.
pub const MAX_TABLE_NAME_LEN: usize = 255;
/// Tables whose names start with this belong to the SQL layer (its schema `sql:schema`, rows
/// and indexes in `sql:<id>`): [`WriteTransaction::open_table`], `open_existing_table` and
/// `delete_table` refuse them with [`Error::ReservedTableName`]; reading them is allowed.
pub const RESERVED_TABLE_PREFIX: &str = "sql:";

/// Settings for opening or creating a database.
#[derive(Clone, Debug)]
pub struct Options {
    /// Page size for a new database: a power of two from 4096 to 65536 (default 4096).
    /// An existing file keeps the page size it was created with.
    pub page_size: usize,
    /// Bytes of memory the page cache may hold, dirty pages included (default 64 MiB).
    pub cache_size: usize,
    /// Largest size the log region may grow to (default 16 MiB). Transactions whose changes
    /// do not fit commit through a checkpoint instead.
    pub max_log_size: usize,
    /// Read through the device's memory mapping when it offers one (default true).
    pub use_mmap: bool,
    /// Shrink the file automatically (default true): after a commit that leaves more than half
    /// of a file of at least 1 MiB free, run [`Database::compact`]. Each page is moved at most
    /// once per page freed, so the cost is bounded by the deletions that caused it.
    pub auto_compact: bool,
    /// Open without ever writing to the device (default false): no creation, no log replay
    /// written back, no checkpoint; write transactions, `checkpoint` and `compact` fail with
    /// [`Error::ReadOnly`]. The log is replayed in memory. Works on read-only files and media.
    pub read_only: bool,
    /// Open a damaged database anyway (default false). Without it, damage that may have taken
    /// acknowledged commits (a damaged log frame or commit slot, a truncated log) makes `open`
    /// fail with [`Error::Corrupted`] naming what is lost. With it, the database opens with
    /// everything that can still be read, and [`Database::recovery_report`] says what was
    /// given up; the first write then makes that the database's state (like sqlite3's
    /// `.recover`, but in place: copy the file first, or combine with `read_only`).
    pub salvage: bool,
    /// How long [`Database::open`] and [`Database::open_with`] wait for another opener of the
    /// file (another process, a Node.js program, another handle) to close it before failing
    /// with [`Error::Locked`] (default zero: fail at once). See `device::FileDevice`.
    pub lock_timeout: core::time::Duration,
    /// Testing knob: at most this many runs per persisted free-list page (0: as many as fit,
    /// the default). A small number makes free lists of many pages out of little free space,
    /// so tests reach the multi-page cases cheaply. Files stay readable by any setting.
    #[doc(hidden)]
    pub free_list_runs_per_page: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            page_size: 4096,
            cache_size: 64 << 20,
            max_log_size: 16 << 20,
            use_mmap: true,
            auto_compact: true,
            read_only: false,
            salvage: false,
            lock_timeout: core::time::Duration::ZERO,
            free_list_runs_per_page: 0,
        }
    }
}

/// How a commit reaches the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// The commit is on stable storage when `commit` returns (one device sync).
    #[default]
    Immediate,
    /// The commit is visible at once but survives a crash only after a later
    /// [`Database::sync`], durable commit or checkpoint.
    None,
}

/// What [`Database::compact`] achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompactReport {
    /// File size before, in bytes.
    pub bytes_before: u64,
    /// File size after, in bytes.
    pub bytes_after: u64,
}

#[derive(Clone)]
struct Snapshot {
    txn_id: u64,
    catalog_root: PageId,
    /// The tables' committed deltas (writes not yet folded into the trees).
    deltas: Arc<Deltas>,
}

struct Readers {
    current: Snapshot,
    /// Dirty pages as the current snapshot sees them (mapped devices).
    view: Arc<DirtyView>,
    /// Snapshot txn id → number of live readers on it.
    active: BTreeMap<u64, usize>,
}

struct PendingFree {
    txn: u64,
    needs_checkpoint: bool,
    pages: Vec<PageId>,
}

/// Everything only the writer touches; handed from one write transaction to the next.
struct WriterState {
    free: FreeSet,
    next_page: PageId,
    pending: Vec<PendingFree>,
    /// Pages allocated since the last checkpoint (no durable checkpoint references them).
    fresh: HashSet<PageId>,
    slot: CommitSlot,
    freelist_pages: Vec<PageId>,
    /// Log regions of the current checkpoint's log, in order (the first is the slot's); frames
    /// go to the last one at `log_pos`.
    log_chain: Vec<(PageId, u64)>,
    log_pos: u64,
    /// Frame bytes written since the last checkpoint.
    log_bytes: u64,
    last_txn: u64,
    /// Every transaction up to this one is durable (synced, or proven so by the log); each log
    /// frame records it, which lets recovery tell damage from a torn tail.
    synced_txn: u64,
    /// Something of the current log lies at or past `log_pos` (a torn frame after a crash,
    /// frames behind it, a salvaged log): the next commit goes through a checkpoint, which
    /// starts a new log sequence, instead of appending where a recovery could read on.
    log_unclean: bool,
    catalog_root: PageId,
    unsynced: bool,
    /// Committed table deltas (see `memtable`); empty right after every checkpoint.
    deltas: Arc<Deltas>,
    /// Memory the deltas hold.
    delta_bytes: usize,
    /// Free pages the last compaction could not remove (pinned by readers, or interior):
    /// automatic compaction waits until a quarter of the file more has been freed.
    free_after_compact: u64,
    /// State of the generator of page version tags (see [`WriterState::next_tag`]).
    tags: u64,
}

impl WriterState {
    /// A version tag for a page being allocated (see `format::page_ref`): never 0 (the tag of
    /// format 1 pages), pseudo-random, so an older image of the same page number differs from
    /// the current one but for one chance in 2^24.
    fn next_tag(&mut self) -> u32 {
        self.tags = self.tags.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.tags;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        1 + ((z ^ (z >> 31)) % 0xFF_FFFF) as u32
    }

    /// Whether automatic compaction should run: more than half of a file of at least 1 MiB is
    /// free, and enough has been freed since the last compaction.
    fn compact_due(&self, page_size: usize) -> bool {
        let free = self.free.len() as u64 + self.pending.iter().map(|p| p.pages.len() as u64).sum::<u64>();
        let total = self.next_page;
        total * page_size as u64 >= 1 << 20 && free * 2 > total && free >= self.free_after_compact + total / 4
    }
}

pub(crate) struct Shared {
    pub(crate) pager: Pager,
    readers: Mutex<Readers>,
    writer: HandOff<WriterState>,
    poisoned: AtomicBool,
    options: Options,
    recovery: Mutex<RecoveryReport>,
}

impl Shared {
    /// Refuse a write on a read-only database, or one poisoned by a device error.
    fn check_writable(&self) -> Result<()> {
        if self.options.read_only {
            Err(Error::ReadOnly)
        } else if self.poisoned.load(Relaxed) {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }
}

/// What opening the database found and did (see [`Database::recovery_report`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Committed transactions read from the log and replayed into memory (they reach the
    /// trees at the next checkpoint).
    pub frames_replayed: u64,
    /// Whole log frames found past the end of the log: commits a crash interrupted before
    /// their sync (never acknowledged as durable). Not damage.
    pub frames_skipped: u64,
    /// The file is in an older format version: opened read-write, it was upgraded to the
    /// current one; read-only, it is read as it is.
    pub upgraded_from: Option<u32>,
    /// Damage found that cost no commit (a damaged copy of a commit slot whose mirror is
    /// intact, damaged sectors past the end of the log, a file cut short after the log's last
    /// frame), one line each. [`Database::check`] reports these as errors too.
    pub harmless_damage: Vec<String>,
    /// With [`Options::salvage`]: the damage the database was opened despite, and what it gave
    /// up (`None`: nothing was given up).
    pub salvaged: Option<String>,
    /// A plain [`Database::open_with`] of a file it could not open for writing opened it
    /// read-only instead: why (`None`: opened as asked).
    pub opened_read_only: Option<String>,
}

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
    shared: Arc<Shared>,
}

impl core::fmt::Debug for Database {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Database").field("page_size", &self.shared.pager.page_size).finish()
    }
}

const INITIAL_LOG_BYTES: usize = 256 << 10;
const SECTOR: u64 = crate::engine::device::SECTOR_SIZE as u64;

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

    /// Open or create a database on any [`BlockDevice`]. An empty device becomes a new database;
    /// otherwise the last durable commit is recovered.
    ///
    /// Opening never writes unless it must: the log's commits are replayed into memory (they
    /// reach the trees at the next checkpoint), so a database on a full disk or a read-only
    /// medium still opens. It writes only to create a database, to upgrade a file of an older
    /// format (never with [`Options::read_only`]), and, when the free list is found to name
    /// pages a tree still uses, never: that is damage, reported (see [`Options::salvage`]).
    pub fn open_device(device: impl BlockDevice + 'static, options: Options) -> Result<Database> {
        if !format::valid_page_size(options.page_size) {
            return Err(Error::InvalidOptions(format!(
                "page size {} is not a power of two in 4096..=65536",
                options.page_size
            )));
        }
        if options.cache_size < 16 * options.page_size {
            return Err(Error::InvalidOptions(format!("cache size {} is below 16 pages", options.cache_size)));
        }
        let device: Box<dyn BlockDevice> = Box::new(device);
        let header = match read_head(&*device, options.salvage)? {
            Head::Existing(h) => h,
            Head::New if options.read_only => {
                return Err(Error::NotADatabase(
                    "the file is empty (or its creation never finished), and a read-only open cannot create a \
                     database"
                        .into(),
                ))
            }
            Head::New => create(&*device, options.page_size, options.max_log_size)?,
        };
        let page_size = header.page_size as usize;
        let pager = Pager::new(device, page_size, options.cache_size, options.use_mmap)?;
        let mut report = RecoveryReport::default();
        let slot = read_slots(&pager, options.salvage, &mut report)?;
        validate_slot(&pager, &slot, options.salvage, &mut report)?;
        let header = check_version(&pager, header, &slot, options.salvage, &mut report)?;
        let (mut free, freelist_pages) = load_freelist(&pager, &slot)?;
        if !options.read_only {
            // Writes will allocate from the free list: it must not name a page a tree uses.
            let used = match free_pages_in_use(&pager, &slot, &free) {
                Ok(used) => used,
                // A damaged tree page stops the check: salvage allocates past the end only.
                Err(e @ Error::Corrupted { .. }) if options.salvage => {
                    report.harmless_damage.push(format!(
                        "checking the free list against the trees failed ({e}): nothing is allocated from the free list"
                    ));
                    free = FreeSet::new();
                    Vec::new()
                }
                Err(Error::Corrupted { page, reason }) => {
                    return Err(Error::corrupted(
                        page,
                        format!(
                            "{reason} (found checking the free list against the trees before any write; open it \
                             read-only to read the rest, or with the salvage option)"
                        ),
                    ))
                }
                Err(e) => return Err(e),
            };
            if let Some(&first) = used.first() {
                let what = format!(
                    "the free list names {} page(s) that the trees still use (page {first} first); writing \
                     would overwrite them",
                    used.len()
                );
                if !options.salvage {
                    return Err(Error::corrupted(first, format!("{what}; open read-only, or with the salvage option")));
                }
                for id in &used {
                    free.remove(id);
                }
                report.harmless_damage.push(format!("page {first}: {what}; those pages were taken off the free list"));
            }
        }
        let mut scan = if header.version < 2 {
            recovery::scan_v1(&*pager.device, page_size, &slot)?
        } else {
            recovery::scan(&*pager.device, page_size, &slot)?
        };
        if let Some(lost) = scan.lost.take() {
            if !options.salvage {
                return Err(lost.error());
            }
            report.salvaged = Some(format!("{}", lost.error()));
            scan.unclean = true;
        }
        report.frames_skipped = scan.skipped;
        for p in &scan.stale_damage {
            report.harmless_damage.push(format!(
                "page {p}: a log sector past the end of the log is damaged (it held no commit of the current log)"
            ));
        }
        if scan.short_by > 0 {
            report.harmless_damage.push(format!(
                "the file ends {} bytes before the end of its log region (cut short); the log ended before the \
                 cut, so no commit was lost",
                scan.short_by
            ));
        }
        if header.version < FORMAT_VERSION {
            report.upgraded_from = Some(header.version);
        }
        report.frames_replayed = scan.frames.len() as u64;
        let w = writer_state(&slot, free, freelist_pages, &scan);
        let shared = Arc::new(Shared {
            pager,
            readers: Mutex::new(Readers {
                current: Snapshot {
                    txn_id: slot.txn_id,
                    catalog_root: slot.catalog_root,
                    deltas: Arc::new(Deltas::new()),
                },
                view: Arc::new(DirtyView::default()),
                active: BTreeMap::new(),
            }),
            writer: HandOff::new(w),
            poisoned: AtomicBool::new(false),
            options,
            recovery: Mutex::new(report),
        });
        let db = Database { shared };
        let frames = core::mem::take(&mut scan.frames);
        if let Err((i, e)) = db.replay(&frames) {
            if i >= frames.len() {
                return Err(e);
            }
            // A frame whose checksums hold but whose operations do not apply (a crafted or
            // corrupted payload): the commits from it on are lost.
            let lost = recovery::Loss {
                page: frames[i].0,
                what: format!("a log frame's operations cannot be replayed ({e})"),
                first_lost_txn: slot.txn_id + i as u64 + 1,
                proven_through: None,
            };
            if !db.shared.options.salvage {
                return Err(lost.error());
            }
            db.replay(&frames[..i]).map_err(|(_, e)| e)?;
            let mut r = db.shared.recovery.lock();
            r.salvaged = Some(format!("{}", lost.error()));
            r.frames_replayed = i as u64;
            drop(r);
            let mut w = db.shared.writer.take()?;
            w.log_unclean = true;
            db.shared.writer.put(w);
        }
        if header.version < FORMAT_VERSION && !db.shared.options.read_only {
            db.upgrade(page_size)?;
        }
        Ok(db)
    }

    /// Replay the log's commits into memory, as the session that made them left them: each
    /// table's writes a run of its delta, the catalog's changes dirty pages. Nothing is
    /// written (a log commit wrote nothing but its frame either).
    /// On failure, the index of the frame that failed (`frames.len()` if the final step did)
    /// and why; nothing was applied then.
    fn replay(&self, frames: &[(u64, Vec<u8>)]) -> core::result::Result<(), (usize, Error)> {
        if frames.is_empty() {
            return Ok(());
        }
        let w = self.shared.writer.take().map_err(|e| (0, e))?;
        let mut tx = TxnInner::new(self.shared.clone(), w);
        tx.logging = false;
        tx.replaying = true;
        for (i, (page, payload)) in frames.iter().enumerate() {
            if let Err(e) = tx.replay_frame(payload, *page) {
                self.shared.writer.put(tx.into_state_abort());
                return Err((i, e));
            }
        }
        // The scan checked every id (consecutive from the slot's, no overflow).
        tx.txn_id = tx.w.slot.txn_id + frames.len() as u64;
        let (r, w) = tx.commit_replayed();
        self.shared.writer.put(w);
        r.map_err(|e| (frames.len(), e))
    }

    /// Bring a file of an older format version to this one, after its log was replayed:
    /// checkpoint (writing this version's slot copies), zero-fill the log region (its frames
    /// are in the old format), then write the current header. A crash at any step leaves a
    /// file of the old version that the next open upgrades again.
    fn upgrade(&self, page_size: usize) -> Result<()> {
        self.checkpoint()?;
        let w = self.shared.writer.take()?;
        let pager = &self.shared.pager;
        let (start, pages) = *w.log_chain.last().expect("log chain");
        let r = (|| {
            pager.zero_pages(start, pages)?;
            pager.sync()?;
            let mut head = [0u8; 64];
            FileHeader { page_size: page_size as u32, version: FORMAT_VERSION, flags: 0 }.encode(&mut head);
            pager.write_at(0, &head)?;
            pager.sync()
        })();
        if r.is_err() {
            self.shared.poisoned.store(true, Relaxed);
        }
        self.shared.writer.put(w);
        r
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
        let w = self.shared.writer.take()?;
        if let Err(e) = self.shared.check_writable() {
            self.shared.writer.put(w);
            return Err(e);
        }
        if w.last_txn == u64::MAX - 1 {
            self.shared.writer.put(w);
            return Err(Error::corrupted(0, "the transaction counter is at its limit"));
        }
        let inner = TxnInner::new(self.shared.clone(), w);
        Ok(WriteTransaction { inner: RefCell::new(Some(inner)), durability: Durability::Immediate })
    }

    fn check_poisoned(&self) -> Result<()> {
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
        let mut w = self.shared.writer.take()?;
        let r = if w.unsynced { self.shared.pager.sync() } else { Ok(()) };
        if r.is_ok() {
            w.unsynced = false;
            w.synced_txn = w.last_txn;
        } else {
            self.shared.poisoned.store(true, Relaxed);
        }
        self.shared.writer.put(w);
        r
    }

    /// Write every committed page in place and switch the commit slot; the log starts over.
    ///
    /// Waits for the write transaction, if one is open: calling it from the thread that holds
    /// a [`WriteTransaction`] deadlocks (with `std`; without it, returns
    /// [`Error::WriteTransactionInProgress`]).
    pub fn checkpoint(&self) -> Result<()> {
        self.shared.check_writable()?;
        let mut w = self.shared.writer.take()?;
        if !w.deltas.is_empty() {
            // Fold the deltas into the trees: a transaction that commits through a checkpoint.
            let mut tx = TxnInner::new(self.shared.clone(), w);
            tx.force_checkpoint = true;
            let (r, w) = tx.commit();
            if r.is_err() {
                self.shared.poisoned.store(true, Relaxed);
            }
            self.shared.writer.put(w);
            return r;
        }
        let r = checkpoint(&self.shared, &mut w);
        if r.is_err() {
            self.shared.poisoned.store(true, Relaxed);
        }
        self.shared.writer.put(w);
        r
    }

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
        {
            let mut w = self.shared.writer.take()?;
            release_pending(&self.shared, &mut w);
            self.shared.writer.put(w);
        }
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
            let w = self.shared.writer.take()?;
            if w.deltas.is_empty() {
                break w;
            }
            self.shared.writer.put(w);
            self.checkpoint()?;
        };
        release_pending(&self.shared, &mut w);
        // A log region past the live pages (a continuation region appended at the end) would
        // pin the tail: move the log to the lowest free run that holds it, checkpoint so the
        // old region is free, and only then cut.
        if let Err(e) = self.move_log_down(&mut w) {
            self.shared.poisoned.store(true, Relaxed);
            self.shared.writer.put(w);
            return Err(e);
        }
        while w.next_page > 1 && w.free.contains(&(w.next_page - 1)) {
            w.free.remove(&(w.next_page - 1));
            w.next_page -= 1;
        }
        let r = checkpoint(&self.shared, &mut w).and_then(|_| {
            // The checkpoint may have placed its free list at the end; trim again only past it.
            let ps = self.shared.pager.page_size as u64;
            self.shared.pager.set_len(w.next_page * ps)?;
            self.shared.pager.sync()
        });
        if r.is_err() {
            self.shared.poisoned.store(true, Relaxed);
        }
        self.shared.pager.clear_clean();
        w.free_after_compact = w.free.len() as u64;
        self.shared.writer.put(w);
        r?;
        Ok(CompactReport { bytes_before, bytes_after: self.shared.pager.device.len()? })
    }

    /// If a free run below the log region can hold it, move the log there (zero-filled) and
    /// checkpoint, which frees the old region.
    fn move_log_down(&self, w: &mut WriterState) -> Result<()> {
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
        let w = self.shared.writer.take()?;
        let layout = crate::engine::check::Layout {
            page_count: w.next_page,
            log_regions: w.log_chain.clone(),
            free: w.free.iter().chain(w.pending.iter().flat_map(|p| p.pages.iter().copied())).collect(),
            freelist_pages: w.freelist_pages.clone(),
        };
        self.shared.writer.put(w);
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

impl Drop for Shared {
    fn drop(&mut self) {
        // Best effort: make non-durable commits durable when the last handle (database or
        // transaction) goes away. Never waits: a writer state lost to a panic is skipped.
        if !self.poisoned.load(Relaxed) && self.writer.try_peek(|w| w.unsynced).unwrap_or(false) {
            let _ = self.pager.sync();
        }
    }
}

/// Write a new, empty database, in three synced steps: (1) a header that says the file is
/// being created ([`HEADER_CREATING`]), alone; (2) commit slot B and its mirror, and the
/// zero-filled log region; (3) the header without the flag. A crash before (1) is durable
/// leaves at most a blank first sector, after it a header with the flag: either way the next
/// open creates the database afresh (nothing was acknowledged). A blank header on a file
/// that holds anything else is therefore damage, never an unfinished creation.
fn create(device: &dyn BlockDevice, page_size: usize, max_log: usize) -> Result<FileHeader> {
    let log_pages = (INITIAL_LOG_BYTES.min(max_log.max(page_size * 4)) / page_size).max(4) as u64;
    let slot = CommitSlot {
        seq: 1,
        txn_id: 0,
        catalog_root: 0,
        freelist_head: 0,
        page_count: 1 + log_pages,
        log_start: 1,
        log_pages,
    };
    let header = |flags| FileHeader { page_size: page_size as u32, version: FORMAT_VERSION, flags };
    let mut page0 = vec![0u8; page_size];
    header(HEADER_CREATING).encode(&mut page0);
    device.set_len(0)?;
    device.write(0, &page0[..SECTOR as usize])?;
    device.sync()?;
    for at in [SLOT_OFFSETS[1], MIRROR_OFFSETS[1]] {
        page0[at as usize..at as usize + format::SLOT_LEN].copy_from_slice(&slot.encode());
    }
    device.write(0, &page0)?;
    device.write(page_size as u64, &vec![0u8; log_pages as usize * page_size])?;
    device.sync()?;
    let done = header(0);
    let mut head = [0u8; 64];
    done.encode(&mut head);
    device.write(0, &head)?;
    device.sync()?;
    Ok(done)
}

/// What the start of the device says.
enum Head {
    /// Empty, or a creation that never finished: create the database.
    New,
    /// A database.
    Existing(FileHeader),
}

/// Read and judge the file header. Anything but an empty device, a creation that never
/// finished, or a valid header is an error: a file that holds bytes is never overwritten.
fn read_head(device: &dyn BlockDevice, salvage: bool) -> Result<Head> {
    let len = device.len()?;
    if len == 0 {
        return Ok(Head::New);
    }
    let mut head = [0u8; 64];
    let n = len.min(64) as usize;
    device.read(0, &mut head[..n])?;
    if head.iter().all(|&b| b == 0) {
        // A blank header: only the first step of a creation can leave one (a file of zeros
        // of at most a sector), or a format 1 creation interrupted before its header.
        if all_zero(device, len)? || unfinished_v1_creation(device, len)? {
            return Ok(Head::New);
        }
        if !has_slot_magic(device, len)? {
            return Err(Error::NotADatabase(format!(
                "the first 64 bytes are zero, and the {len}-byte file has no commit slot"
            )));
        }
        return Err(Error::corrupted(
            0,
            format!("the file header is blank but the file holds {len} bytes and its commit slots: the header was destroyed"),
        ));
    }
    if len < 64 {
        return Err(Error::NotADatabase(format!("the file is only {len} bytes")));
    }
    let h = FileHeader::decode(&head)?;
    if h.flags & HEADER_CREATING != 0 {
        // A creation never got past its second step before it wrote anything but slot B of
        // checkpoint 1 (no tables) and a zero-filled log. A file that holds more was used: its
        // header is damaged (a lost write of the creation's last step, a flipped flag), and
        // starting over would wipe it.
        if unfinished_creation(device, h.page_size as usize)? {
            return Ok(Head::New);
        }
        if !salvage {
            return Err(Error::corrupted(
                0,
                "the file header says the file is being created, but the file holds a checkpoint or commits: \
                 the header is damaged. Open it with the salvage option to read it as a database",
            ));
        }
        return Ok(Head::Existing(FileHeader { flags: 0, ..h }));
    }
    Ok(Head::Existing(h))
}

/// Whether a file whose header says it is being created holds nothing a finished creation
/// could have been used for: every commit slot copy blank or checkpoint 1 with no tables,
/// and no log frame at the start of its log region.
fn unfinished_creation(device: &dyn BlockDevice, page_size: usize) -> Result<bool> {
    let len = device.len()?;
    let mut page0 = vec![0u8; page_size];
    let n = (len as usize).min(page_size);
    device.read(0, &mut page0[..n])?;
    let mut log = None;
    for at in SLOT_OFFSETS.into_iter().chain(MIRROR_OFFSETS) {
        match SlotCopy::read(&page0[at as usize..at as usize + format::SLOT_LEN]) {
            SlotCopy::Blank => {}
            SlotCopy::Valid(s) if s.seq == 1 && s.txn_id == 0 && s.catalog_root == 0 && s.freelist_head == 0 => {
                log = Some(s.log_start)
            }
            _ => return Ok(false),
        }
    }
    if let Some(start) = log {
        let at = start.saturating_mul(page_size as u64);
        if at + format::LOG_SECTOR as u64 <= len {
            let mut sector = [0u8; format::LOG_SECTOR];
            device.read(at, &mut sector)?;
            if sector.iter().any(|&b| b != 0) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Whether the whole device reads as zeros (only checked for small devices: a creation
/// interrupted before its first sync leaves at most a sector).
fn all_zero(device: &dyn BlockDevice, len: u64) -> Result<bool> {
    if len > 1 << 20 {
        return Ok(false);
    }
    let mut buf = vec![0u8; len as usize];
    device.read(0, &mut buf)?;
    Ok(buf.iter().all(|&b| b == 0))
}

/// Whether any commit slot position starts with the slot magic (the file is a Tessera file).
fn has_slot_magic(device: &dyn BlockDevice, len: u64) -> Result<bool> {
    for at in SLOT_OFFSETS.into_iter().chain(MIRROR_OFFSETS) {
        let mut magic = [0u8; 4];
        if at + 4 <= len {
            device.read(at, &mut magic)?;
            if &magic == b"TSLT" {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Format 1 created a database by writing slot B (sequence 1, no tables) and the log region
/// first and the header last: a file in that state was never used.
fn unfinished_v1_creation(device: &dyn BlockDevice, len: u64) -> Result<bool> {
    if len < 4096 {
        return Ok(false);
    }
    let mut page0 = [0u8; 4096];
    device.read(0, &mut page0)?;
    let at = SLOT_OFFSETS[1] as usize;
    let blank_elsewhere = page0.iter().enumerate().all(|(i, &b)| b == 0 || (at..at + format::SLOT_LEN).contains(&i));
    Ok(blank_elsewhere
        && CommitSlot::decode(&page0[at..]).is_some_and(|s| s.seq == 1 && s.txn_id == 0 && s.catalog_root == 0))
}

/// The current commit slot: the valid copy with the highest sequence number. Each slot is
/// written twice (slot and mirror, two sectors, then a sync), and sectors are written whole,
/// so a copy that is neither blank nor valid is damage. One damaged copy costs nothing (its
/// twin is used; reported); a slot damaged in every copy may have been the newer checkpoint,
/// and then the commits after the older one are lost: an error, unless salvaging.
fn read_slots(pager: &Pager, salvage: bool, report: &mut RecoveryReport) -> Result<CommitSlot> {
    let len = pager.device.len()?;
    if len < pager.page_size as u64 {
        return Err(Error::corrupted(0, format!("file truncated to {len} bytes, shorter than its header page")));
    }
    let mut page0 = vec![0u8; MIRROR_OFFSETS[1] as usize + format::SLOT_LEN];
    pager.device.read(0, &mut page0)?;
    let copy = |i: usize, at: u64| match SlotCopy::read(&page0[at as usize..at as usize + format::SLOT_LEN]) {
        // A slot lives at the index its sequence number picks; elsewhere it was not written so.
        SlotCopy::Valid(s) if (s.seq % 2) as usize != i => SlotCopy::Damaged,
        c => c,
    };
    let copies = [0, 1].map(|i| [copy(i, SLOT_OFFSETS[i]), copy(i, MIRROR_OFFSETS[i])]);
    let best = copies
        .iter()
        .flatten()
        .filter_map(|c| match c {
            SlotCopy::Valid(s) => Some(*s),
            _ => None,
        })
        .max_by_key(|s| s.seq)
        .ok_or_else(|| Error::corrupted(0, "no valid commit slot"))?;
    // The sequence numbers must fit how checkpoints write them: the other slot holds the
    // previous checkpoint (its two copies were synced before this one was written), and the
    // two copies of one slot are the same checkpoint or, after a crash between them, two apart.
    let seqs = |i: usize| copies[i].iter().filter_map(|c| if let SlotCopy::Valid(s) = c { Some(s.seq) } else { None });
    let cur = (best.seq % 2) as usize;
    let other_damaged = copies[1 - cur].contains(&SlotCopy::Damaged);
    let other_ok = match seqs(1 - cur).max() {
        Some(s) => s + 1 == best.seq,
        // Never written: only the first checkpoint (creation's) has no predecessor.
        None => best.seq == 1 || other_damaged,
    };
    let pairs_ok = (0..2).all(|i| {
        let (lo, hi) = (seqs(i).min(), seqs(i).max());
        lo.zip(hi).is_none_or(|(lo, hi)| hi == lo || hi == lo + 2)
    });
    if !other_ok || !pairs_ok {
        let all: Vec<u64> = (0..2).flat_map(seqs).collect();
        let what = format!(
            "the commit slots' checkpoint numbers {all:?} do not follow each other (a slot was changed); the \
             newest is checkpoint {} (transaction {})",
            best.seq, best.txn_id
        );
        if !salvage {
            return Err(Error::corrupted(0, format!("{what}. Open it with the salvage option to use it")));
        }
        report.salvaged = Some(what);
    }
    for (i, pair) in copies.iter().enumerate() {
        let name = ["A", "B"][i];
        let valid = pair.iter().any(|c| matches!(c, SlotCopy::Valid(_)));
        for (c, at) in pair.iter().zip([SLOT_OFFSETS[i], MIRROR_OFFSETS[i]]) {
            if *c != SlotCopy::Damaged {
                continue;
            }
            if valid {
                report.harmless_damage.push(format!(
                    "page 0: commit slot {name}'s copy at byte {at} is damaged; its other copy is intact and was used"
                ));
            } else if (best.seq % 2) as usize != i {
                let what = format!(
                    "commit slot {name} is damaged in every copy (byte {at}); the newest intact slot is checkpoint {} \
                     (transaction {}): if the damaged one was newer, the commits after transaction {} are lost",
                    best.seq, best.txn_id, best.txn_id
                );
                if !salvage {
                    return Err(Error::corrupted(0, format!("{what}. Open it with the salvage option to accept that")));
                }
                report.salvaged = Some(what);
                break;
            }
        }
    }
    Ok(best)
}

/// A header that says format 1 on a file whose current log holds format 2 frames is damaged
/// (format 1 never wrote a stamped sector, and an upgrade stamps none before it rewrites the
/// header): read as format 1, the log's commits would be dropped and the upgrade would
/// zero-fill them.
fn check_version(
    pager: &Pager,
    header: FileHeader,
    slot: &CommitSlot,
    salvage: bool,
    report: &mut RecoveryReport,
) -> Result<FileHeader> {
    if header.version >= 2 {
        return Ok(header);
    }
    let at = slot.log_start * pager.page_size as u64;
    let mut sector = [0u8; format::LOG_SECTOR];
    if at + sector.len() as u64 > pager.device.len()? {
        return Ok(header);
    }
    pager.device.read(at, &mut sector)?;
    if !matches!(format::LogSector::read(&sector), format::LogSector::Header { header: h, .. } if h.seq == slot.seq) {
        return Ok(header);
    }
    let what = "the file header says format version 1, but the log holds format 2 frames: the header is damaged";
    if !salvage {
        return Err(Error::corrupted(0, format!("{what}. Open it with the salvage option to read it as format 2")));
    }
    report.harmless_damage.push(format!("page 0: {what} (read as format 2)"));
    Ok(FileHeader { version: 2, ..header })
}

/// Checks on the slot's numbers before anything trusts them.
fn validate_slot(pager: &Pager, slot: &CommitSlot, salvage: bool, report: &mut RecoveryReport) -> Result<()> {
    let bad = |why: String| Err(Error::corrupted(0, why));
    if slot.seq == u64::MAX || slot.txn_id == u64::MAX {
        return bad(format!(
            "the commit slot's counters are at their limit (checkpoint {}, transaction {})",
            slot.seq, slot.txn_id
        ));
    }
    let ps = pager.page_size as u64;
    let Some(need) = slot.page_count.checked_mul(ps) else {
        return bad(format!("the commit slot names an impossible page count {}", slot.page_count));
    };
    let log_end = slot.log_start.checked_add(slot.log_pages);
    if slot.log_start == 0 || slot.log_pages == 0 || log_end.is_none_or(|e| e > slot.page_count) {
        return bad("the commit slot's log region lies outside the file".into());
    }
    if page_no(slot.catalog_root) >= slot.page_count || page_no(slot.freelist_head) >= slot.page_count {
        return bad("the commit slot names a page past its page count".into());
    }
    let file_len = pager.device.len()?;
    if need > file_len {
        let what = format!(
            "the file is {file_len} bytes but its last checkpoint needs {} pages ({need} bytes): it was cut short",
            slot.page_count
        );
        if !salvage {
            return bad(format!("{what}. Open it with the salvage option to read what is left"));
        }
        report.salvaged = Some(what);
    }
    Ok(())
}

/// The writer's state at open: the checkpoint's, then the log read past it.
fn writer_state(slot: &CommitSlot, mut free: FreeSet, freelist_pages: Vec<PageId>, scan: &LogScan) -> WriterState {
    // Past the checkpoint's page count lie the regions the log continued into, and pages the
    // last session allocated without a checkpoint reaching them (spills, pages of commits that
    // lived in the log): no durable structure uses those, so they are free.
    let chain_end = scan.chain.iter().map(|&(s, n)| s + n).max().unwrap_or(0).max(slot.page_count);
    for id in slot.page_count..chain_end {
        if !scan.chain.iter().any(|&(s, n)| (s..s + n).contains(&id)) {
            free.insert(id);
        }
    }
    WriterState {
        free,
        next_page: chain_end,
        pending: Vec::new(),
        fresh: HashSet::new(),
        slot: *slot,
        freelist_pages,
        log_chain: scan.chain.clone(),
        log_pos: scan.pos,
        log_bytes: scan.bytes,
        last_txn: slot.txn_id,
        synced_txn: scan.durable_txn,
        log_unclean: scan.unclean,
        catalog_root: slot.catalog_root,
        unsynced: false,
        deltas: Arc::new(Deltas::new()),
        delta_bytes: 0,
        free_after_compact: 0,
        tags: tag_seed(slot, scan),
    }
}

/// Where the writer's version tags start: different for every open of a file (its slot and
/// log), and with `std` for every process too, so that a session that repeats a crashed
/// one's allocations does not repeat its tags.
fn tag_seed(slot: &CommitSlot, scan: &LogScan) -> u64 {
    #[allow(unused_mut)]
    let mut seed = slot.seq.rotate_left(17) ^ slot.txn_id.rotate_left(41) ^ scan.pos ^ (scan.frames.len() as u64) << 32;
    #[cfg(feature = "std")]
    {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        seed ^= nanos ^ (std::process::id() as u64).rotate_left(29);
    }
    seed
}

/// Free-list page: header, then `nslots` runs of (start u64, len u64); next page at offset 24.
/// Every run must lie inside the data pages, outside the log region and the list's own
/// pages, and no page may be listed twice.
fn load_freelist(pager: &Pager, slot: &CommitSlot) -> Result<(FreeSet, Vec<PageId>)> {
    let mut free = FreeSet::new();
    let mut pages = Vec::new();
    let mut id = slot.freelist_head;
    let log_end = slot.log_start + slot.log_pages;
    while id != 0 {
        if pages.len() as u64 > slot.page_count || page_no(id) >= slot.page_count {
            return Err(Error::corrupted(id, "the free list runs past the file's pages (a cycle?)"));
        }
        let b = pager.read_page_uncached(id)?;
        if b[0] != kind::FREELIST {
            return Err(Error::corrupted(id, format!("expected a free-list page, found kind {}", b[0])));
        }
        let n = format::get_u16(&b, 2) as usize;
        if PAGE_HEADER + n * 16 > b.len() {
            return Err(Error::corrupted(id, "free-list page run count too large"));
        }
        for i in 0..n {
            let start = get_u64(&b, PAGE_HEADER + 16 * i);
            let len = get_u64(&b, PAGE_HEADER + 16 * i + 8);
            let end = start
                .checked_add(len)
                .filter(|&e| start > 0 && len > 0 && e <= slot.page_count && (e <= slot.log_start || start >= log_end));
            if end.is_none() {
                return Err(Error::corrupted(id, format!("free run {start}+{len} outside the data pages")));
            }
            for p in start..start + len {
                if !free.insert(p) {
                    return Err(Error::corrupted(id, format!("page {p} is on the free list twice")));
                }
            }
        }
        pages.push(page_no(id));
        id = get_u64(&b, 24);
    }
    if let Some(p) = pages.iter().find(|p| free.contains(p)) {
        return Err(Error::corrupted(*p, "a free-list page lists itself as free"));
    }
    Ok((free, pages))
}

/// Pages on the free list that a tree of the checkpoint still uses, found by walking the
/// catalog and every table's branch pages (a branch names its children, so the leaves are
/// not read: one leaf per lowest branch tells the level). Overflow runs, named only by
/// leaves, are not covered. Bounded by the page count.
fn free_pages_in_use(pager: &Pager, slot: &CommitSlot, free: &FreeSet) -> Result<Vec<PageId>> {
    let mut used = Vec::new();
    if free.is_empty() || slot.catalog_root == 0 {
        return Ok(used);
    }
    // (page, depth, is it the catalog's)
    let mut stack = vec![(slot.catalog_root, 0usize, true)];
    let mut visits = 0u64;
    let note = |id: PageId, used: &mut Vec<PageId>| {
        if free.contains(&page_no(id)) && used.len() < 1000 {
            used.push(page_no(id));
        }
    };
    while let Some((id, depth, catalog)) = stack.pop() {
        visits += 1;
        if visits > slot.page_count || depth >= btree::MAX_DEPTH {
            return Err(Error::corrupted(id, "the trees reach more pages than the file holds (a cycle?)"));
        }
        note(id, &mut used);
        let page = pager.read_page(id)?;
        let node = crate::engine::page::Node::new(&page);
        if node.is_leaf() {
            if catalog {
                for i in 0..node.len() {
                    if let crate::engine::page::LeafValue::Inline(v) = node.value(i) {
                        let (root, _) = decode_meta(v)?;
                        if root != 0 {
                            stack.push((root, 0, false));
                        }
                    }
                }
            }
            continue;
        }
        let children: Vec<PageId> = (0..=node.len()).map(|i| node.child(i)).collect();
        drop(page);
        // Whether the children are leaves (then they are only checked, not read).
        let leaves = !catalog && pager.read_page(children[0]).map(|p| p[0] == kind::LEAF)?;
        for c in children {
            if leaves {
                note(c, &mut used);
            } else {
                stack.push((c, depth + 1, catalog));
            }
        }
    }
    used.sort_unstable();
    Ok(used)
}

/// Publish a new snapshot (if given) and the matching dirty view, atomically for readers.
fn publish_snapshot(shared: &Shared, snap: Option<Snapshot>) {
    let cur = shared.readers.lock().view.clone();
    let view = shared.pager.next_view(&cur);
    let mut r = shared.readers.lock();
    if let Some(s) = snap {
        r.current = s;
    }
    if let Some(v) = view {
        r.view = v;
    }
}

/// Release pending frees whose pages no reader or durable checkpoint can reach.
fn release_pending(shared: &Shared, w: &mut WriterState) {
    let oldest = shared.readers.lock().active.keys().next().copied();
    let mut i = 0;
    while i < w.pending.len() {
        let p = &w.pending[i];
        if !p.needs_checkpoint && oldest.is_none_or(|o| o >= p.txn) {
            let p = w.pending.swap_remove(i);
            for id in p.pages {
                shared.pager.forget(id);
                w.free.insert(id);
            }
        } else {
            i += 1;
        }
    }
}

/// Write all committed pages in place, persist the free list, sync, switch slots, sync.
fn checkpoint(shared: &Shared, w: &mut WriterState) -> Result<()> {
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
        0 => (ps - PAGE_HEADER) / 16,
        n => n.min((ps - PAGE_HEADER) / 16),
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
        b[0] = kind::FREELIST;
        put_u16(&mut b, 2, chunk.len() as u16);
        put_u64(&mut b, 24, list_refs.get(i + 1).copied().unwrap_or(0));
        for (j, (s, n)) in chunk.iter().enumerate() {
            put_u64(&mut b, PAGE_HEADER + 16 * j, *s);
            put_u64(&mut b, PAGE_HEADER + 16 * j + 8, *n);
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
fn log_limit(next_page: u64, page_size: u64, max_log: u64) -> u64 {
    (next_page * page_size / 4).clamp(INITIAL_LOG_BYTES as u64, max_log.max(INITIAL_LOG_BYTES as u64))
}

/// The most bytes the log may hold after a commit through it: three quarters of its limit
/// (the rest is the margin that triggers the checkpoint early), never more than `max_log`.
fn log_capacity(next_page: u64, page_size: u64, max_log: u64) -> u64 {
    (log_limit(next_page, page_size, max_log) * 3 / 4).min(max_log)
}

/// Raise the key bound `bound` to `key` if `key` is larger.
fn raise(bound: &mut Vec<u8>, key: &[u8]) {
    if key > bound.as_slice() {
        bound.clear();
        bound.extend_from_slice(key);
    }
}

/// A table's state inside a write transaction.
struct TableState {
    root: PageId,
    count: u64,
    dirty: bool,
    dropped: bool,
    buffer: WriteBuffer,
    /// Committed writes not yet in the tree (newer than it).
    delta: TableDelta,
    /// A key no smaller than any key in the table (tree, delta and buffer), once known: set by
    /// [`TxnInner::above_all`], raised by inserts (removals leave it a valid bound).
    upper: Option<Vec<u8>>,
}

impl TableState {
    fn new(root: PageId, count: u64, dirty: bool, dropped: bool) -> Self {
        TableState {
            root,
            count,
            dirty,
            dropped,
            buffer: WriteBuffer::default(),
            delta: TableDelta::default(),
            upper: None,
        }
    }
}

/// The write transaction's private state; also the [`PageStore`] the B+tree writes through.
struct TxnInner {
    shared: Arc<Shared>,
    w: WriterState,
    txn_id: u64,
    dirty: HashMap<PageId, Box<[u8]>>,
    dirty_bytes: usize,
    /// Private pages written out early to respect the cache budget.
    spilled: HashSet<PageId>,
    /// Overflow runs (first page) created by this transaction.
    private_runs: HashSet<PageId>,
    /// Ids this transaction allocated (fresh pages), in order.
    allocated: Vec<PageId>,
    taken_free: Vec<PageId>,
    freed_private: Vec<PageId>,
    next_page_at_begin: PageId,
    /// Committed pages this transaction replaced.
    freed: Vec<PageId>,
    catalog_root: PageId,
    tables: BTreeMap<String, TableState>,
    log: LogWriter,
    logging: bool,
    /// Log size at which [`TxnInner::log_bound`] is asked again whether logging still pays.
    log_limit: usize,
    force_checkpoint: bool,
    durable: bool,
    /// Replaying the log at open: writes nothing (no spills), never flushes into trees.
    replaying: bool,
    /// Some table's delta changed (a run added, a delta folded, a table dropped).
    deltas_changed: bool,
    failed: Option<Error>,
}

impl TxnInner {
    fn new(shared: Arc<Shared>, w: WriterState) -> Self {
        let mut t = TxnInner {
            txn_id: w.last_txn + 1,
            catalog_root: w.catalog_root,
            next_page_at_begin: w.next_page,
            shared,
            w,
            dirty: HashMap::new(),
            dirty_bytes: 0,
            spilled: HashSet::new(),
            private_runs: HashSet::new(),
            allocated: Vec::new(),
            taken_free: Vec::new(),
            freed_private: Vec::new(),
            freed: Vec::new(),
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
    /// grows by at most twice the log's size before the commit. Past it the commit goes through a checkpoint, so logging further would only
    /// copy every write once more (a bulk load's whole data); a transaction that grows the
    /// file faster than assumed also just commits through a checkpoint.
    fn log_bound(&self) -> usize {
        let ps = self.shared.pager.page_size as u64;
        let max_log = self.shared.options.max_log_size as u64;
        let projected = self.w.next_page + (2 * self.log.buf.len() as u64).div_ceil(ps);
        let frame_room = log_capacity(projected, ps, max_log).saturating_sub(self.w.log_bytes);
        FrameHeader::max_payload(frame_room) as usize
    }

    fn alloc_id(&mut self) -> PageId {
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
    fn alloc_run(&mut self, n: u64, limit: PageId) -> PageId {
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

    fn is_private(&self, id: PageId) -> bool {
        self.dirty.contains_key(&id) || self.spilled.contains(&id)
    }

    fn free_committed(&mut self, id: PageId) {
        self.freed.push(page_no(id));
    }

    fn free_private(&mut self, id: PageId) {
        if let Some(b) = self.dirty.remove(&id) {
            self.dirty_bytes -= b.len();
        }
        self.spilled.remove(&id);
        self.shared.pager.forget(id);
        self.w.free.insert(page_no(id));
        self.freed_private.push(page_no(id));
    }

    /// Write private leaf pages out when the transaction outgrows its share of the cache.
    fn maybe_spill(&mut self) -> Result<()> {
        if self.replaying || self.shared.options.read_only {
            return Ok(()); // never written: held in memory over the budget
        }
        let budget = self.shared.pager.budget;
        if self.dirty_bytes + self.shared.pager.cache_bytes() > budget {
            self.shared.pager.evict(self.dirty_bytes.min(budget));
        }
        if self.dirty_bytes <= budget / 2 {
            return Ok(());
        }
        let mut ids: Vec<PageId> = self.dirty.iter().filter(|(_, b)| b[0] != kind::BRANCH).map(|(id, _)| *id).collect();
        if ids.len() < self.dirty.len() / 4 {
            // Mostly branches (huge keys): spill everything.
            ids = self.dirty.keys().copied().collect();
        }
        ids.sort_unstable_by_key(|&id| page_no(id));
        let (dirty, dirty_bytes, spilled) = (&mut self.dirty, &mut self.dirty_bytes, &mut self.spilled);
        let pager = &self.shared.pager;
        pager.write_sorted(&ids, &mut |id, buf| {
            let b = dirty.remove(&id).expect("dirty page");
            *dirty_bytes -= b.len();
            pager.forget(id);
            spilled.insert(id);
            buf.extend_from_slice(&b);
        })?;
        Ok(())
    }

    fn check_usable(&self) -> Result<()> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Record a failure that may have left the private state half-changed.
    fn fail<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn table(&mut self, name: &str, create: bool) -> Result<bool> {
        if let Some(t) = self.tables.get_mut(name) {
            if !t.dropped {
                return Ok(true);
            }
            if !create {
                return Ok(false);
            }
            t.dropped = false;
            t.dirty = true;
            if self.logging {
                self.log.create(name);
            }
            return Ok(true);
        }
        let meta = btree::get(&*self, self.catalog_root, name.as_bytes())?.map(|v| decode_meta(&v)).transpose()?;
        match meta {
            Some((root, count)) => {
                let mut t = TableState::new(root, count, false, false);
                if let Some(d) = self.w.deltas.get(name) {
                    t.delta = d.clone();
                }
                self.tables.insert(name.into(), t);
                Ok(true)
            }
            None if create => {
                self.tables.insert(name.into(), TableState::new(0, 0, true, false));
                if self.logging {
                    self.log.create(name);
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn log_op(&mut self, f: impl FnOnce(&mut LogWriter)) {
        if self.logging {
            f(&mut self.log);
            if self.log.buf.len() > self.log_limit {
                self.log_limit = self.log_bound();
                if self.log.buf.len() > self.log_limit {
                    self.logging = false;
                    self.log.clear();
                }
            }
        }
    }

    fn insert(&mut self, table: &str, key: &[u8], value: &[u8]) -> Result<()> {
        self.check_usable()?;
        check_key(key)?;
        if value.len() > MAX_VALUE_LEN {
            return Err(Error::ValueTooLarge { len: value.len(), max: MAX_VALUE_LEN });
        }
        self.log_op(|l| l.put(table, key, value));
        let t = self.tables.get_mut(table).expect("open table");
        t.buffer.push(key, Some(value));
        if let Some(u) = &mut t.upper {
            raise(u, key);
        }
        if t.buffer.bytes() > self.shared.pager.budget / 4 {
            self.flush(table)?;
        }
        Ok(())
    }

    fn remove(&mut self, table: &str, key: &[u8]) -> Result<bool> {
        self.check_usable()?;
        check_key(key)?;
        if self.tables[table].buffer.may_contain(key) {
            self.flush(table)?;
        }
        let t = &self.tables[table];
        let present = match t.delta.get(key) {
            Some(v) => v.is_some(),
            None => {
                let r = btree::get(&*self, t.root, key).map(|v| v.is_some());
                self.fail(r)?
            }
        };
        if !present {
            return Ok(false);
        }
        self.log_op(|l| l.del(table, key));
        let t = self.tables.get_mut(table).expect("open table");
        t.buffer.push(key, None);
        if t.buffer.bytes() > self.shared.pager.budget / 4 {
            self.flush(table)?;
        }
        Ok(true)
    }

    /// The value under `key`, seeing buffered writes.
    fn get(&mut self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_usable()?;
        if self.tables[table].buffer.may_contain(key) {
            self.flush(table)?;
        }
        let t = &self.tables[table];
        match t.delta.get(key) {
            Some(v) => Ok(v.map(<[u8]>::to_vec)),
            None => Ok(btree::get(&*self, t.root, key)?.map(|g| g.to_vec())),
        }
    }

    /// Whether `key` is above every key in `table`, so that it cannot be there. The first
    /// call in a transaction computes a bound (the largest key of the tree, the delta and the
    /// buffer); later ones compare with it, and inserts keep it up to date: appending keys
    /// costs no lookup.
    #[cfg(feature = "sql")]
    fn above_all(&mut self, table: &str, key: &[u8]) -> Result<bool> {
        let t = &self.tables[table];
        if let Some(u) = &t.upper {
            return Ok(key > u.as_slice());
        }
        // The first time in this transaction: the largest key the tree, the committed delta
        // or the buffer has an operation on (a removed key only makes the bound higher). The
        // delta stays where it is: folding it here would undo what a log commit saves.
        let mut last = match t.root {
            0 => Vec::new(),
            root => btree::Cursor::last(&*self, root)?.map(|c| c.key().to_vec()).unwrap_or_default(),
        };
        for k in [t.delta.max_key(), t.buffer.max_key()].into_iter().flatten() {
            raise(&mut last, k);
        }
        let above = key > last.as_slice();
        self.tables.get_mut(table).expect("open table").upper = Some(last);
        Ok(above)
    }

    /// Apply the table's committed delta and buffered writes to its tree, in key order.
    fn flush(&mut self, table: &str) -> Result<()> {
        self.check_usable()?;
        let t = self.tables.get_mut(table).expect("open table");
        if t.buffer.is_empty() && t.delta.is_empty() {
            return Ok(());
        }
        let mut buffer = if t.delta.is_empty() {
            core::mem::take(&mut t.buffer)
        } else {
            let all = t.delta.to_buffer(&t.buffer);
            t.buffer.clear();
            t.delta = TableDelta::default();
            self.deltas_changed = true;
            all
        };
        let root = t.root;
        buffer.sort_dedup();
        let r = btree::apply_sorted(self, root, &buffer);
        buffer.clear();
        let t = self.tables.get_mut(table).expect("open table");
        t.buffer = buffer;
        t.dirty = true;
        let (root, delta) = self.fail(r)?;
        let t = self.tables.get_mut(table).expect("open table");
        t.root = root;
        t.count = t.count.checked_add_signed(delta).ok_or_else(|| Error::corrupted(root, "entry count underflow"))?;
        let r = self.maybe_spill();
        self.fail(r)
    }

    fn flush_all(&mut self) -> Result<()> {
        let names: Vec<String> =
            self.tables.iter().filter(|(_, t)| !t.buffer.is_empty()).map(|(n, _)| n.clone()).collect();
        for n in names {
            self.flush(&n)?;
        }
        Ok(())
    }

    /// Fold every table's delta (and buffer) into its tree: before a checkpoint.
    fn fold_all(&mut self) -> Result<()> {
        let names: Vec<String> = self.w.deltas.keys().cloned().collect();
        for n in &names {
            self.table(n, false)?;
        }
        let names: Vec<String> = self
            .tables
            .iter()
            .filter(|(_, t)| !t.buffer.is_empty() || !t.delta.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        for n in names {
            self.flush(&n)?;
        }
        Ok(())
    }

    /// Memory the deltas would hold if this transaction committed its buffers as runs.
    fn delta_bytes(&self) -> usize {
        let mut n = self.w.delta_bytes;
        for (name, t) in &self.tables {
            n += t.delta.bytes() + t.buffer.bytes();
            n -= self.w.deltas.get(name).map_or(0, TableDelta::bytes);
        }
        n
    }

    /// Whether a commit with a `frame_len`-byte frame goes through the log (not a checkpoint):
    /// the log must keep within its capacity, and the memory held by dirty pages and deltas
    /// within half the cache budget.
    fn log_commit(&self, frame_len: u64) -> bool {
        let pager = &self.shared.pager;
        let ps = pager.page_size as u64;
        let max_log = self.shared.options.max_log_size as u64;
        self.logging
            && !self.force_checkpoint
            && !self.w.log_unclean
            && self.w.log_bytes + frame_len <= log_capacity(self.w.next_page, ps, max_log)
            && pager.dirty_bytes.load(Relaxed) + self.dirty_bytes + self.delta_bytes() <= pager.budget / 2
    }

    fn drop_table(&mut self, name: &str) -> Result<bool> {
        self.check_usable()?;
        if !self.table(name, false)? {
            return Ok(false);
        }
        let root = self.tables[name].root;
        let r = btree::free_tree(self, root);
        self.fail(r)?;
        let t = self.tables.get_mut(name).expect("open table");
        *t = TableState::new(0, 0, true, true);
        self.deltas_changed = true;
        self.log_op(|l| l.drop_table(name));
        Ok(true)
    }

    /// Replay one log frame: its writes go to the tables' buffers as they were committed
    /// (a removal is replayed as a removal even if the key is not there; that is harmless).
    fn replay_frame(&mut self, payload: &[u8], page: u64) -> Result<()> {
        let bad = |what: &str| Error::corrupted(page, format!("log frame: {what}"));
        let mut table: Option<String> = None;
        for op in LogReader::new(payload, page) {
            match op? {
                Op::Table(name) => {
                    check_table_name(name).map_err(|_| bad("bad table name"))?;
                    self.table(name, true)?;
                    table = Some(name.into());
                }
                Op::Drop(name) => {
                    check_table_name(name).map_err(|_| bad("bad table name"))?;
                    self.drop_table(name)?;
                    table = None;
                }
                op @ (Op::Put(..) | Op::Del(..)) => {
                    let t = table.as_deref().ok_or_else(|| bad("a write before any table"))?;
                    let (key, value) = match op {
                        Op::Put(k, v) => (k, Some(v)),
                        Op::Del(k) => (k, None),
                        _ => unreachable!("matched above"),
                    };
                    if key.len() > MAX_KEY_LEN || value.is_some_and(|v| v.len() > MAX_VALUE_LEN) {
                        return Err(bad("a key or value over the limit"));
                    }
                    self.tables.get_mut(t).expect("open table").buffer.push(key, value);
                }
            }
        }
        Ok(())
    }

    /// Each table's buffered writes become a new run of its delta (no tree page is touched).
    fn buffers_to_runs(&mut self) {
        for t in self.tables.values_mut() {
            if !t.buffer.is_empty() {
                let run = core::mem::take(&mut t.buffer).freeze();
                t.delta = t.delta.with_run(run);
                self.deltas_changed = true;
            }
        }
    }

    /// Finish replaying the log: each table's replayed writes become a run of its delta,
    /// tables created or dropped change the catalog (dirty pages, in memory), and the result
    /// is published. Writes nothing.
    fn commit_replayed(mut self) -> (Result<()>, WriterState) {
        let r = (|| {
            self.buffers_to_runs();
            self.write_catalog()?;
            for (id, page) in self.dirty.drain() {
                self.shared.pager.insert_dirty(id, page);
            }
            self.dirty_bytes = 0;
            self.finish(self.txn_id);
            self.publish();
            Ok(())
        })();
        match r {
            Ok(()) => (Ok(()), self.w),
            Err(e) => (Err(e), self.into_state_abort()),
        }
    }

    /// Copy every page that sits above a free slot into the lowest free slots. Overflow runs
    /// go first, highest first, each into the lowest free run below it that holds it (runs
    /// need contiguous pages; single tree pages then fill what is left), then tree pages.
    fn relocate_all(&mut self) -> Result<()> {
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
    fn move_overflow_runs(&mut self, roots: &[PageId]) -> Result<HashMap<PageId, Vec<(usize, PageId)>>> {
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
            self.taken_free.extend(to..to + n);
            self.allocated.extend(to..to + n);
            let to = page_ref(to, self.w.next_tag());
            shared.pager.write_overflow(to, &shared.pager.read_overflow(first, len)?)?;
            self.private_runs.insert(to);
            self.free_overflow(first, len);
            moved.entry(leaf).or_default().push((cell, to));
        }
        Ok(moved)
    }

    /// Move the tree at `id` down (see `relocate_all`), pointing leaves at the overflow runs
    /// `moved` copied; `seen` holds every page visited, so a damaged tree that reaches a page
    /// twice is an error, not exponential work.
    fn relocate(
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

    /// Apply buffered writes, then store changed table roots and counts in the catalog tree.
    fn write_catalog(&mut self) -> Result<()> {
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
                let mut meta = [0u8; 16];
                put_u64(&mut meta, 0, root);
                put_u64(&mut meta, 8, count);
                btree::insert(self, cat, name.as_bytes(), &meta)?.0
            };
        }
        Ok(())
    }

    fn changed(&self) -> bool {
        self.deltas_changed
            || !self.dirty.is_empty()
            || !self.spilled.is_empty()
            || !self.freed.is_empty()
            || !self.freed_private.is_empty()
            || self.catalog_root != self.w.catalog_root
            || !self.private_runs.is_empty()
    }

    /// Commit; on success or failure hands back the writer state. Nothing can fail after the
    /// snapshot is published (the last step), so a failure always undoes the transaction.
    fn commit(mut self) -> (Result<()>, WriterState) {
        match self.commit_inner() {
            Ok(()) => (Ok(()), self.w),
            Err(e) => (Err(e), self.into_state_abort()),
        }
    }

    fn commit_inner(&mut self) -> Result<()> {
        self.check_usable()?;
        let frame_len = FrameHeader::frame_len(self.log.buf.len()) as u64;
        // A commit through the log leaves its writes out of the trees: each table's sorted
        // buffer becomes a run of its delta (the frame holds the same operations).
        if self.log_commit(frame_len) {
            self.buffers_to_runs();
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
        if use_log {
            let seq = self.w.slot.seq;
            let (mut start, pages) = *self.w.log_chain.last().expect("log chain");
            // Keep one sector free at the end of each region for a continuation frame.
            if self.w.log_pos + frame_len + SECTOR > pages * ps {
                start = self.extend_log(frame_len)?;
            }
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
            for (id, page) in self.dirty.drain() {
                pager.insert_dirty(id, page);
            }
            self.dirty_bytes = 0;
        } else {
            let mut ids: Vec<PageId> = self.dirty.keys().copied().collect();
            ids.sort_unstable_by_key(|&id| page_no(id));
            let dirty = &mut self.dirty;
            pager.write_sorted(&ids, &mut |id, buf| {
                pager.forget(id);
                buf.extend_from_slice(&dirty.remove(&id).expect("dirty"));
            })?;
            self.dirty_bytes = 0;
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
    fn extend_log(&mut self, frame_len: u64) -> Result<PageId> {
        let pager = &self.shared.pager;
        let ps = pager.page_size as u64;
        let (cur_start, cur_pages) = *self.w.log_chain.last().expect("log chain");
        let need = (frame_len + SECTOR).div_ceil(ps);
        let max_pages = (self.shared.options.max_log_size as u64 / ps).max(need);
        let pages = (cur_pages * 2).max(need).min(max_pages);
        let start = self.w.next_page;
        self.w.next_page += pages;
        pager.zero_pages(start, pages)?;
        pager.sync()?;
        self.w.unsynced = false;
        self.w.synced_txn = self.w.last_txn;
        let mut payload = [0u8; 16];
        put_u64(&mut payload, 0, start);
        put_u64(&mut payload, 8, pages);
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
    fn finish(&mut self, txn_id: u64) {
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
        for id in self.freed.drain(..) {
            if self.w.fresh.contains(&id) {
                fresh_freed.push(id);
            } else {
                old_freed.push(id);
            }
        }
        for id in self.allocated.drain(..) {
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
        self.spilled.clear();
        self.private_runs.clear();
        self.taken_free.clear();
        self.freed_private.clear();
    }

    fn publish(&self) {
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

    /// Undo this transaction's allocations and hand back the writer state.
    fn into_state_abort(mut self) -> WriterState {
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

impl PageSource for TxnInner {
    #[inline]
    fn page(&self, id: PageId) -> Result<PageRef<'_>> {
        match self.dirty.get(&id) {
            Some(b) => Ok(PageRef::Borrowed(b)),
            None => self.shared.pager.read_page(id),
        }
    }
    fn overflow(&self, first: PageId, len: usize) -> Result<Guard<'_>> {
        self.shared.pager.read_overflow(first, len)
    }
    fn page_size(&self) -> usize {
        self.shared.pager.page_size
    }
}

impl PageStore for TxnInner {
    fn make_mut(&mut self, id: PageId) -> Result<PageId> {
        if self.dirty.contains_key(&id) {
            return Ok(id);
        }
        if self.spilled.remove(&id) {
            let b = self.shared.pager.read_private(id)?;
            self.dirty_bytes += b.len();
            self.dirty.insert(id, b);
            return Ok(id);
        }
        let copy: Box<[u8]> = {
            let p = self.shared.pager.read_page(id)?;
            Box::from(&p[..])
        };
        let new = self.alloc_id();
        let mut copy = copy;
        put_u64(&mut copy, 8, new);
        self.dirty_bytes += copy.len();
        self.dirty.insert(new, copy);
        self.free_committed(id);
        Ok(new)
    }

    fn get_mut(&mut self, id: PageId) -> &mut [u8] {
        self.dirty.get_mut(&id).expect("get_mut on a page that is not private")
    }

    fn alloc(&mut self) -> Result<PageId> {
        let id = self.alloc_id();
        let ps = self.shared.pager.page_size;
        self.dirty.insert(id, vec![0u8; ps].into_boxed_slice());
        self.dirty_bytes += ps;
        Ok(id)
    }

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
        self.private_runs.insert(first);
        Ok(first)
    }

    fn rewrite(&mut self, id: PageId) -> Result<PageId> {
        if self.dirty.contains_key(&id) {
            return Ok(id);
        }
        let ps = self.shared.pager.page_size;
        if self.spilled.remove(&id) {
            self.shared.pager.forget(id);
            self.dirty.insert(id, vec![0u8; ps].into_boxed_slice());
            self.dirty_bytes += ps;
            return Ok(id);
        }
        self.free_committed(id);
        self.alloc()
    }

    fn spill_point(&mut self) -> Result<()> {
        self.maybe_spill()
    }

    fn free_overflow(&mut self, first: PageId, len: usize) {
        let n = self.shared.pager.run_pages(len);
        let no = page_no(first);
        if self.private_runs.remove(&first) {
            for id in no..no + n {
                self.shared.pager.forget(id);
                self.w.free.insert(id);
                self.freed_private.push(id);
            }
        } else {
            self.freed.extend(no..no + n);
        }
    }
}

fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        Err(Error::KeyTooLarge { len: key.len(), max: MAX_KEY_LEN })
    } else {
        Ok(())
    }
}

fn check_table_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_TABLE_NAME_LEN {
        Err(Error::InvalidTableName(name.to_string()))
    } else {
        Ok(())
    }
}

/// [`check_table_name`], and not in the SQL layer's namespace ([`RESERVED_TABLE_PREFIX`]).
fn check_public_table_name(name: &str) -> Result<()> {
    check_table_name(name)?;
    if name.starts_with(RESERVED_TABLE_PREFIX) {
        return Err(Error::ReservedTableName(name.to_string()));
    }
    Ok(())
}

fn decode_meta(v: &[u8]) -> Result<(PageId, u64)> {
    if v.len() != 16 {
        return Err(Error::corrupted(0, "catalog entry of the wrong size"));
    }
    Ok((get_u64(v, 0), get_u64(v, 8)))
}

fn bounds<K: AsRef<[u8]>, R: RangeBounds<K>>(r: &R) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let f = |b: Bound<&K>| match b {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    };
    (f(r.start_bound()), f(r.end_bound()))
}

// ---------------------------------------------------------------------------------------------
// Read transactions

/// A read-only snapshot. Dropping it lets the pages it pinned be reused.
pub struct ReadTransaction {
    shared: Arc<Shared>,
    snap: Snapshot,
    view: Arc<DirtyView>,
}

impl Drop for ReadTransaction {
    fn drop(&mut self) {
        let mut r = self.shared.readers.lock();
        if let Some(n) = r.active.get_mut(&self.snap.txn_id) {
            *n -= 1;
            if *n == 0 {
                r.active.remove(&self.snap.txn_id);
            }
        }
    }
}

impl PageSource for ReadTransaction {
    #[inline]
    fn page(&self, id: PageId) -> Result<PageRef<'_>> {
        self.shared.pager.read_page_in(&self.view, id)
    }
    fn overflow(&self, first: PageId, len: usize) -> Result<Guard<'_>> {
        self.shared.pager.read_overflow(first, len)
    }
    fn page_size(&self) -> usize {
        self.shared.pager.page_size
    }
    #[inline]
    fn prefetch(&self, id: PageId) {
        self.shared.pager.prefetch(id);
    }
}

impl ReadTransaction {
    /// Open an existing table.
    pub fn open_table(&self, name: &str) -> Result<ReadTable<'_>> {
        check_table_name(name)?;
        match btree::get(self, self.snap.catalog_root, name.as_bytes())? {
            Some(v) => {
                let (root, count) = decode_meta(&v)?;
                Ok(ReadTable { txn: self, root, count, delta: self.delta(name) })
            }
            None => Err(Error::TableNotFound(name.into())),
        }
    }

    /// Names of all tables, sorted.
    pub fn list_tables(&self) -> Result<Vec<String>> {
        list_tables(self, self.snap.catalog_root)
    }

    /// Root page and entry count of a table, for callers that cache them per snapshot.
    #[cfg(feature = "sql")]
    pub(crate) fn table_meta(&self, name: &str) -> Result<Option<(PageId, u64)>> {
        btree::get(self, self.snap.catalog_root, name.as_bytes())?.map(|v| decode_meta(&v)).transpose()
    }

    /// A handle on table `name` from [`ReadTransaction::table_meta`]'s result.
    #[cfg(feature = "sql")]
    pub(crate) fn table_at(&self, name: &str, (root, count): (PageId, u64)) -> ReadTable<'_> {
        ReadTable { txn: self, root, count, delta: self.delta(name) }
    }

    fn delta(&self, name: &str) -> Option<&TableDelta> {
        if self.snap.deltas.is_empty() {
            None
        } else {
            self.snap.deltas.get(name)
        }
    }

    /// The id of the last transaction this snapshot includes.
    pub fn txn_id(&self) -> u64 {
        self.snap.txn_id
    }
}

fn list_tables<S: PageSource>(s: &S, root: PageId) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut st = RangeState::new(root, Bound::Unbounded, Bound::Unbounded);
    while let Some((k, _)) = st.next(s)? {
        out.push(String::from_utf8_lossy(&k).into_owned());
    }
    Ok(out)
}

/// A table in a read transaction.
pub struct ReadTable<'t> {
    txn: &'t ReadTransaction,
    root: PageId,
    count: u64,
    /// Committed writes not yet folded into the tree.
    delta: Option<&'t TableDelta>,
}

impl<'t> ReadTable<'t> {
    /// The value stored under `key`.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Result<Option<Guard<'t>>> {
        if let Some(found) = self.delta.and_then(|d| d.get(key)) {
            return Ok(found.map(Guard::borrowed));
        }
        btree::get(self.txn, self.root, key)
    }

    /// Entries with keys in `range`, in key order (reverse with `.rev()`).
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<Range<'t>> {
        let (s, e) = bounds(&range);
        let merge = self
            .delta
            .map(|d| MergedRange::new(d.cursor(s.as_ref().map(Vec::as_slice), e.as_ref().map(Vec::as_slice))));
        Ok(Range { txn: self.txn, state: RangeState::new(self.root, s, e), merge })
    }

    /// All entries in key order.
    pub fn iter(&self) -> Result<Range<'t>> {
        self.range::<&[u8], _>(..)
    }

    /// The entry with the smallest key.
    pub fn first(&self) -> Result<Option<(Guard<'t>, Guard<'t>)>> {
        self.iter()?.next().transpose()
    }

    /// The entry with the largest key.
    pub fn last(&self) -> Result<Option<(Guard<'t>, Guard<'t>)>> {
        self.iter()?.next_back().transpose()
    }

    /// Number of entries. With unfolded commits this probes the tree once per key they
    /// wrote (bounded by the log size).
    pub fn len(&self) -> Result<u64> {
        let Some(d) = self.delta else {
            return Ok(self.count);
        };
        let mut ops = d.to_buffer(&WriteBuffer::default());
        ops.sort_dedup();
        let mut n = self.count;
        for i in 0..btree::OpList::len(&ops) {
            let (key, put) = (btree::OpList::key(&ops, i), btree::OpList::value(&ops, i).is_some());
            let in_tree = btree::get(self.txn, self.root, key)?.is_some();
            match (put, in_tree) {
                (true, false) => n += 1,
                (false, true) => {
                    n = n.checked_sub(1).ok_or_else(|| Error::corrupted(self.root, "entry count underflow"))?
                }
                _ => {}
            }
        }
        Ok(n)
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// Iterator over a key range of a [`ReadTable`].
pub struct Range<'t> {
    txn: &'t ReadTransaction,
    state: RangeState<'t>,
    /// The table's delta, merged in (None: the tree alone).
    merge: Option<MergedRange<'t>>,
}

impl<'t> Iterator for Range<'t> {
    type Item = Result<(Guard<'t>, Guard<'t>)>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.merge {
            None => self.state.next(self.txn).transpose(),
            Some(m) => m.next(&mut self.state, self.txn, false).transpose(),
        }
    }
}

impl DoubleEndedIterator for Range<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.merge {
            None => self.state.next_back(self.txn).transpose(),
            Some(m) => m.next(&mut self.state, self.txn, true).transpose(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Write transactions

/// The write transaction. Commit with [`WriteTransaction::commit`]; dropping it aborts.
pub struct WriteTransaction {
    inner: RefCell<Option<TxnInner>>,
    durability: Durability,
}

impl WriteTransaction {
    fn with<T>(&self, f: impl FnOnce(&mut TxnInner) -> Result<T>) -> Result<T> {
        let mut g = self.inner.borrow_mut();
        f(g.as_mut().expect("open transaction"))
    }

    /// Open a table, creating it if it does not exist. Names starting with
    /// [`RESERVED_TABLE_PREFIX`] are refused ([`Error::ReservedTableName`]).
    pub fn open_table(&self, name: &str) -> Result<Table<'_>> {
        check_public_table_name(name)?;
        self.open_table_internal(name)
    }

    /// Open a table that must already exist ([`Error::TableNotFound`] otherwise). Names
    /// starting with [`RESERVED_TABLE_PREFIX`] are refused ([`Error::ReservedTableName`]).
    pub fn open_existing_table(&self, name: &str) -> Result<Table<'_>> {
        check_public_table_name(name)?;
        self.open_existing_table_internal(name)
    }

    /// Delete a table and all its entries; returns whether it existed. Names starting with
    /// [`RESERVED_TABLE_PREFIX`] are refused ([`Error::ReservedTableName`]).
    pub fn delete_table(&self, name: &str) -> Result<bool> {
        check_public_table_name(name)?;
        self.delete_table_internal(name)
    }

    /// [`WriteTransaction::open_table`] for any valid name, the SQL layer's included.
    pub(crate) fn open_table_internal(&self, name: &str) -> Result<Table<'_>> {
        check_table_name(name)?;
        self.with(|t| t.table(name, true))?;
        Ok(Table { txn: self, name: name.into() })
    }

    /// [`WriteTransaction::open_existing_table`] for any valid name.
    pub(crate) fn open_existing_table_internal(&self, name: &str) -> Result<Table<'_>> {
        check_table_name(name)?;
        if !self.with(|t| t.table(name, false))? {
            return Err(Error::TableNotFound(name.into()));
        }
        Ok(Table { txn: self, name: name.into() })
    }

    /// [`WriteTransaction::delete_table`] for any valid name.
    pub(crate) fn delete_table_internal(&self, name: &str) -> Result<bool> {
        check_table_name(name)?;
        self.with(|t| t.drop_table(name))
    }

    /// Names of all tables, sorted (including changes made in this transaction).
    pub fn list_tables(&self) -> Result<Vec<String>> {
        self.with(|t| {
            t.write_catalog()?;
            list_tables(&*t, t.catalog_root)
        })
    }

    /// The value under `key` in `table` (None when the table does not exist): one lookup,
    /// no table handle.
    #[cfg(feature = "sql")]
    pub(crate) fn get_in(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with(|t| if t.table(table, false)? { t.get(table, key) } else { Ok(None) })
    }

    /// [`WriteTransaction::get_in`] for a key about to be inserted: a key above every key of
    /// the table (an append, as with increasing rowids) is answered without a lookup.
    #[cfg(feature = "sql")]
    pub(crate) fn get_new_in(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with(|t| {
            if !t.table(table, false)? || t.above_all(table, key)? {
                return Ok(None);
            }
            t.get(table, key)
        })
    }

    /// Insert into `table`, creating it if needed.
    #[cfg(feature = "sql")]
    pub(crate) fn put_in(&self, table: &str, key: &[u8], value: &[u8]) -> Result<()> {
        check_table_name(table)?;
        self.with(|t| {
            t.table(table, true)?;
            t.insert(table, key, value)
        })
    }

    /// Remove from `table` (false when absent or the table does not exist).
    #[cfg(feature = "sql")]
    pub(crate) fn remove_in(&self, table: &str, key: &[u8]) -> Result<bool> {
        self.with(|t| if t.table(table, false)? { t.remove(table, key) } else { Ok(false) })
    }

    /// Choose how [`WriteTransaction::commit`] reaches the device.
    pub fn set_durability(&mut self, d: Durability) {
        self.durability = d;
    }

    /// Make the transaction's changes visible (and durable, by default).
    ///
    /// With [`Options::auto_compact`], a commit that leaves most of the file free then
    /// compacts it; the commit stands even if that fails (an I/O error there poisons the
    /// database, like any other).
    pub fn commit(self) -> Result<()> {
        let mut inner = self.inner.borrow_mut().take().expect("open transaction");
        inner.durable = self.durability == Durability::Immediate;
        let shared = inner.shared.clone();
        let auto = shared.options.auto_compact && !inner.force_checkpoint;
        let (r, w) = inner.commit();
        if matches!(r, Err(Error::Io { .. })) {
            shared.poisoned.store(true, Relaxed);
        }
        let compact = auto && r.is_ok() && w.compact_due(shared.pager.page_size);
        shared.writer.put(w);
        if compact {
            let _ = Database { shared }.compact();
        }
        r
    }

    /// Discard the transaction's changes.
    pub fn abort(self) {}
}

impl Drop for WriteTransaction {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.borrow_mut().take() {
            let shared = inner.shared.clone();
            shared.writer.put(inner.into_state_abort());
        }
    }
}

/// A table in a write transaction.
pub struct Table<'t> {
    txn: &'t WriteTransaction,
    name: String,
}

impl<'t> Table<'t> {
    fn with<T>(&self, f: impl FnOnce(&mut TxnInner, &str) -> Result<T>) -> Result<T> {
        self.txn.with(|t| {
            if !t.table(&self.name, false)? {
                return Err(Error::TableNotFound(self.name.clone()));
            }
            f(t, &self.name)
        })
    }

    /// Insert or replace the value under `key`.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.with(|t, n| t.insert(n, key, value))
    }

    /// Remove `key`; returns whether it was present.
    pub fn remove(&mut self, key: &[u8]) -> Result<bool> {
        self.with(|t, n| t.remove(n, key))
    }

    /// The value under `key` (a copy: the transaction may change the page afterwards).
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with(|t, n| t.get(n, key))
    }

    /// Number of entries.
    pub fn len(&self) -> Result<u64> {
        self.with(|t, n| {
            t.flush(n)?;
            Ok(t.tables[n].count)
        })
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Entries with keys in `range`, in key order, as owned copies. Each step re-seeks, so
    /// the table may be changed between steps.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<TableRange<'_>> {
        let (start, end) = bounds(&range);
        Ok(TableRange { table: self, start, end, done: false })
    }

    /// All entries in key order.
    pub fn iter(&self) -> Result<TableRange<'_>> {
        self.range::<&[u8], _>(..)
    }

    /// Up to `max` entries of `start..end` appended to `out` as owned copies, in key order (or
    /// reverse order), with one tree descent for the whole batch. Returns whether the range
    /// is exhausted. Callers continue after the last key returned.
    pub fn range_batch(
        &self,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        max: usize,
        out: &mut Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<bool> {
        self.with(|t, n| {
            t.flush(n)?;
            let root = t.tables[n].root;
            let mut st = RangeState::new(root, start.map(<[u8]>::to_vec), end.map(<[u8]>::to_vec));
            for _ in 0..max {
                let e = if reverse { st.next_back(&*t)? } else { st.next(&*t)? };
                match e {
                    Some((k, v)) => out.push((k.to_vec(), v.to_vec())),
                    None => return Ok(true),
                }
            }
            Ok(false)
        })
    }

    /// The entry with the smallest key.
    pub fn first(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.iter()?.next().transpose()
    }

    /// The entry with the largest key.
    pub fn last(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.iter()?.next_back().transpose()
    }
}

/// Iterator over a key range of a [`Table`] in a write transaction.
pub struct TableRange<'a> {
    table: &'a Table<'a>,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    done: bool,
}

impl TableRange<'_> {
    fn step(&mut self, back: bool) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        if self.done {
            return None;
        }
        let r = self.table.with(|t, n| {
            t.flush(n)?;
            let root = t.tables[n].root;
            let mut st = RangeState::new(root, self.start.clone(), self.end.clone());
            let e = if back { st.next_back(&*t)? } else { st.next(&*t)? };
            Ok(e.map(|(k, v)| (k.to_vec(), v.to_vec())))
        });
        match r {
            Ok(Some((k, v))) => {
                if back {
                    self.end = Bound::Excluded(k.clone());
                } else {
                    self.start = Bound::Excluded(k.clone());
                }
                Some(Ok((k, v)))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Iterator for TableRange<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;
    fn next(&mut self) -> Option<Self::Item> {
        self.step(false)
    }
}

impl DoubleEndedIterator for TableRange<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.step(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::device::MemoryDevice;
    use alloc::collections::BTreeSet;

    /// Checkpoint a writer state whose free set is `free` (pages past everything the empty
    /// database uses), reopen, and return the free set the reopened database loaded.
    fn checkpoint_with_free(free: &BTreeSet<PageId>, next_page: PageId) -> Result<BTreeSet<PageId>> {
        let dev = Arc::new(MemoryDevice::new());
        let db = Database::open_device(dev.clone(), Options::default())?;
        let mut w = db.shared.writer.take()?;
        w.next_page = next_page;
        w.free = free.iter().copied().collect();
        let r = checkpoint(&db.shared, &mut w);
        db.shared.writer.put(w);
        r?;
        drop(db);
        let db = Database::open_device(MemoryDevice::from_bytes(dev.to_bytes()), Options::default())?;
        let w = db.shared.writer.take()?;
        let loaded = w.free.iter().collect();
        db.shared.writer.put(w);
        Ok(loaded)
    }

    /// The free list spans two pages until the second page it takes for itself removes a
    /// single-page run: one list page is enough after all. The list's `next` pointer must not
    /// name the page given back (it used to: the next open found "expected a free-list page").
    #[test]
    fn free_list_that_shrinks_while_taking_its_own_pages() {
        let per_page = (4096 - PAGE_HEADER) / 16;
        let base = 1000;
        // Lowest: a two-page run (the first page taken for the list leaves one page of it, the
        // second removes the run), then single pages, one more run than a list page holds.
        let mut free: BTreeSet<PageId> = [base, base + 1].into();
        free.extend((0..per_page as u64).map(|i| base + 3 + 2 * i));
        let next_page = base + 3 + 2 * per_page as u64 + 10;
        let loaded = checkpoint_with_free(&free, next_page).expect("reopen after the checkpoint");
        // Everything free before is free after, except the pages the list itself occupies.
        assert!(loaded.is_subset(&free), "loaded pages that were not free");
        assert!(free.len() - loaded.len() <= 2, "{} free pages lost", free.len() - loaded.len());
    }
}

#[cfg(test)]
mod replay_tests {
    use super::*;
    use crate::engine::device::MemoryDevice;

    /// A log frame whose checksums hold but whose operations are garbage (crafted, or written
    /// wrong): the open reports the commits from it on as lost; salvage replays the ones
    /// before it. Before, every open failed, salvage and read-only included ("log frame
    /// payload truncated").
    #[test]
    fn frame_that_does_not_replay_is_a_loss() {
        let dev = Arc::new(MemoryDevice::new());
        {
            let db = Database::open_device(dev.clone(), Options::default()).unwrap();
            for i in 0..3u8 {
                let tx = db.begin_write().unwrap();
                tx.open_table("t").unwrap().insert(&[i], b"v").unwrap();
                tx.commit().unwrap();
            }
        }
        let mut img = dev.to_bytes();
        let at = (1..img.len() / 512)
            .map(|s| s * 512)
            .find(|&o| &img[o..o + 4] == b"TLOG" && get_u64(&img, o + 8) == 2)
            .expect("the frame of transaction 2");
        let format::LogSector::Header { header, .. } = format::LogSector::read(&img[at..at + 512]) else {
            panic!("not a frame header")
        };
        let garbage = vec![0xEEu8; header.payload_len as usize];
        let mut frame = Vec::new();
        header.encode(&garbage, &mut frame);
        img[at..at + frame.len()].copy_from_slice(&frame);
        let err = Database::open_device(MemoryDevice::from_bytes(img.clone()), Options::default()).unwrap_err();
        assert!(matches!(err, Error::Corrupted { .. }) && err.to_string().contains("from 2 on"), "{err}");
        for read_only in [false, true] {
            let opts = Options { salvage: true, read_only, ..Options::default() };
            let db = Database::open_device(MemoryDevice::from_bytes(img.clone()), opts).unwrap();
            assert!(db.recovery_report().salvaged.is_some_and(|s| s.contains("cannot be replayed")));
            let rx = db.begin_read().unwrap();
            let t = rx.open_table("t").unwrap();
            assert!(t.get(&[0]).unwrap().is_some() && t.get(&[1]).unwrap().is_none());
        }
    }
}
