//! The storage engine: everything below the SQL layer, bottom up.
//!
//! A read and a commit pass through these rooms (`docs/ARCHITECTURE.md` walks both):
//! 1. [`device`]: the [`BlockDevice`](device::BlockDevice) trait, the storage boundary, and its
//!    backends (memory, file, fault injection), with the lock protocol between processes.
//! 2. `format`: the one owner of every on-disk byte offset: file header, commit slots, page
//!    header and references, free-list pages, log frames and sectors.
//! 3. `page`: slotted pages over raw bytes, and the page handles ([`PageId`](page::PageId),
//!    `PageRef`, [`Guard`](page::Guard)) every layer above passes around.
//! 4. `pager`: page I/O with checksums and version tags, the bounded page cache, counters.
//! 5. `btree`: the copy-on-write B+tree over page bytes, reading through a `PageSource` and
//!    writing through a `PageStore`.
//! 6. `log`, `write_buffer`, `delta`: a transaction's logical changes (one log frame per
//!    commit), its sorted buffered writes, and the committed-but-not-checkpointed changes of
//!    every table that readers merge over the trees.
//! 7. `free_set`: free page runs, for the allocator.
//! 8. `txn`: [`Database`](txn::Database), read and write transactions, tables, and the commit
//!    machinery: allocator, private pages, commit, checkpoint, recovery, compaction.
//! 9. `check`: the integrity walker behind `Database::check`.
//!
//! `sync` holds the lock shims that let the engine run with or without `std`.

pub(crate) mod btree;
pub(crate) mod check;
pub(crate) mod delta;
pub mod device;
pub(crate) mod format;
pub(crate) mod free_set;
pub(crate) mod log;
pub(crate) mod page;
pub(crate) mod pager;
pub(crate) mod sync;
pub(crate) mod txn;
pub(crate) mod write_buffer;
