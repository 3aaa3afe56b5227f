//! Transactions: [`Database`], read and write transactions, tables, and the commit machinery
//! behind them (allocation, private pages, commit, checkpoint, recovery, compaction).
//!
//! # Data path of a read
//! `begin_read` registers a snapshot in the reader table: the last commit's transaction id,
//! catalog root and table deltas, and the pager's *dirty view* (the pages committed through the
//! log but not yet written in place). `open_table` looks the table's root up in the catalog
//! tree. `get` asks the table's delta first (its runs, newest first: writes committed but not
//! yet folded into the tree) and otherwise descends the tree from its root; each page comes
//! from the dirty view, else the file mapping (zero-copy), else the page cache or a device
//! read (see `pager`). A range merges the delta's runs over the tree cursor. Nothing a reader
//! touches is ever modified in place, so readers take no locks after `begin_read` and are never
//! blocked by the writer.
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
//! Opening (`open`) reads the newest valid commit slot and replays the log frames that follow it
//! (matching checkpoint sequence, consecutive transaction ids, valid checksums; `recovery`
//! scans them) into memory, writing nothing: the tables' writes become delta runs again. A torn
//! frame ends the log (it was never acknowledged as durable) and makes the next commit a
//! checkpoint; damage that may have cost acknowledged commits fails the open (see
//! [`Options::salvage`]).
//!
//! # Page reuse
//! A page replaced by transaction T is reusable once (1) no reader holds a snapshot older than
//! T and (2) no durable checkpoint can still reference it, i.e. either it was created after the
//! last checkpoint, or a checkpoint after T has completed.
//!
//! # Where each part lives
//! - `options`: [`Options`], [`Durability`], limits, and the reports callers get.
//! - `writer`: the state shared by all handles, and the writer state with its guard.
//! - `database`: [`Database`] and its whole-database operations; `open` creates, validates
//!   and replays; `recovery` scans the log; `checkpoint` and `compact`.
//! - `inner`: the write transaction's private state, whose roles are `allocator`,
//!   `private_pages`, `tables` and `commit`.
//! - `read` and `write`: the public transaction and table types.
//! - `sql_access`: the calls only the SQL layer makes.

mod allocator;
mod checkpoint;
mod commit;
mod compact;
mod database;
mod inner;
mod open;
mod options;
mod private_pages;
mod read;
pub(crate) mod recovery;
#[cfg(feature = "sql")]
mod sql_access;
mod tables;
#[cfg(test)]
mod tests;
mod write;
mod writer;

pub use database::Database;
pub use options::{
    CompactReport, Durability, Options, RecoveryReport, MAX_KEY_LEN, MAX_TABLE_NAME_LEN, MAX_VALUE_LEN,
    RESERVED_TABLE_PREFIX,
};
pub use read::{Range, ReadTable, ReadTransaction};
pub use write::{Table, TableRange, WriteTransaction};
