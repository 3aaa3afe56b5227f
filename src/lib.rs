//! # Tessera
//!
//! An embedded database: one engine and one file format for native Rust (file on disk, read
//! through mmap), the browser (wasm, file in OPFS) and Node.js (wasm, file on disk).
//!
//! ```
//! use tessera::Database;
//! let db = Database::memory();                 // or Database::open("app.db")?
//! let tx = db.begin_write()?;
//! {
//!     let mut users = tx.open_table("users")?; // created on first use
//!     users.insert(b"alice", b"admin")?;
//!     users.insert(b"bob", b"guest")?;
//! }
//! tx.commit()?;                                // durable: one device sync
//! let rx = db.begin_read()?;                   // a snapshot; never blocks the writer
//! let users = rx.open_table("users")?;
//! assert_eq!(&*users.get(b"bob")?.unwrap(), b"guest");
//! let names: Vec<Vec<u8>> = users.iter()?.map(|e| e.map(|(k, _)| k.to_vec())).collect::<Result<_, _>>()?;
//! assert_eq!(names, [b"alice".to_vec(), b"bob".to_vec()]);
//! # Ok::<(), tessera::Error>(())
//! ```
//!
//! Layers, bottom up (each module's own docs say what it owns; `docs/ARCHITECTURE.md` walks
//! a read and a commit through them):
//! 1. [`device`]: the [`BlockDevice`] trait, the storage boundary, and its backends.
//! 2. `format`: byte layout of the file header, commit slots and log frames.
//! 3. `page` and `btree`: slotted pages and the copy-on-write B+tree over raw page bytes.
//! 4. `pager`: page I/O with checksums, the bounded page cache, counters.
//! 5. `wal`: the logical redo log that makes a commit cost one device sync.
//! 6. `db`: [`Database`], transactions, tables, commit, checkpoint, recovery, compaction.
//! 7. `check`: the integrity walker behind [`Database::check`].
//! 8. [`sql`] (feature `sql`, default on): the SQL layer on top, entered through
//!    [`sql::Connection`].
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

mod btree;
mod buffer;
mod check;
mod db;
pub mod device;
mod error;
mod format;
mod freeset;
mod memtable;
mod page;
mod pager;
mod recovery;
#[cfg(feature = "sql")]
pub mod sql;
mod sync;
mod wal;

pub use btree::Guard;
pub use check::CheckReport;
pub use db::{
    CompactReport, Database, Durability, Options, Range, ReadTable, ReadTransaction, RecoveryReport, Table, TableRange,
    WriteTransaction, MAX_KEY_LEN, MAX_TABLE_NAME_LEN, MAX_VALUE_LEN, RESERVED_TABLE_PREFIX,
};
pub use device::{BlockDevice, MemoryDevice};
pub use error::{Error, Result};
pub use pager::Stats;
