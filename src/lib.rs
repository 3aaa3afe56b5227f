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
//! Two layers, each a folder whose `mod.rs` says what it owns (`docs/ARCHITECTURE.md` walks a
//! read, a commit, a parse and a plan through them):
//! - `engine`: the storage engine: the [`device`] boundary and its backends, the file format,
//!   pages, the pager and its cache, the copy-on-write B+tree, the log, transactions, commit,
//!   checkpoint, recovery, compaction and the integrity check. Its public face is
//!   [`Database`] and the types re-exported here.
//! - [`sql`] (feature `sql`, default on): the SQL layer on top, entered through
//!   [`sql::Connection`].
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]
// Every `unsafe` block says why it is sound; string slicing that could panic inside a
// multi-byte character is refused (slice by a checked `get`, or bytes).
#![warn(clippy::undocumented_unsafe_blocks, clippy::string_slice)]

extern crate alloc;

mod engine;
mod error;
#[cfg(feature = "sql")]
pub mod sql;

pub use engine::check::CheckReport;
pub use engine::device;
pub use engine::device::{BlockDevice, MemoryDevice};
pub use engine::page::Guard;
pub use engine::pager::Stats;
pub use engine::txn::{
    CompactReport, Database, Durability, Options, Range, ReadTable, ReadTransaction, RecoveryReport, Table, TableRange,
    WriteTransaction, MAX_KEY_LEN, MAX_TABLE_NAME_LEN, MAX_VALUE_LEN, RESERVED_TABLE_PREFIX,
};
pub use error::{Error, Result};
