//! What a caller chooses and is told: [`Options`], [`Durability`], the limits on keys, values
//! and table names, and the reports of opening ([`RecoveryReport`]) and compaction.

use alloc::string::String;
use alloc::vec::Vec;

/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// Longest value, in bytes (values above a quarter page live in overflow runs).
pub const MAX_VALUE_LEN: usize = (1 << 31) - 1;

/// Longest table name, in bytes.
pub const MAX_TABLE_NAME_LEN: usize = 255;

/// Tables whose names start with this belong to the SQL layer (its schema `sql:schema`, rows
/// and indexes in `sql:<id>`): [`WriteTransaction::open_table`](crate::WriteTransaction::open_table), `open_existing_table` and
/// `delete_table` refuse them with [`Error::ReservedTableName`](crate::Error::ReservedTableName); reading them is allowed.
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
    /// of a file of at least 1 MiB free, run [`Database::compact`](crate::Database::compact). Each page is moved at most
    /// once per page freed, so the cost is bounded by the deletions that caused it.
    pub auto_compact: bool,
    /// Open without ever writing to the device (default false): no creation, no log replay
    /// written back, no checkpoint; write transactions, `checkpoint` and `compact` fail with
    /// [`Error::ReadOnly`](crate::Error::ReadOnly). The log is replayed in memory. Works on read-only files and media.
    pub read_only: bool,
    /// Open a damaged database anyway (default false). Without it, damage that may have taken
    /// acknowledged commits (a damaged log frame or commit slot, a truncated log) makes `open`
    /// fail with [`Error::Corrupted`](crate::Error::Corrupted) naming what is lost. With it, the database opens with
    /// everything that can still be read, and [`Database::recovery_report`](crate::Database::recovery_report) says what was
    /// given up; the first write then makes that the database's state (like sqlite3's
    /// `.recover`, but in place: copy the file first, or combine with `read_only`).
    pub salvage: bool,
    /// How long [`Database::open`](crate::Database::open) and [`Database::open_with`](crate::Database::open_with) wait for another opener of the
    /// file (another process, a Node.js program, another handle) to close it before failing
    /// with [`Error::Locked`](crate::Error::Locked) (default zero: fail at once). See `device::FileDevice`.
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
    /// [`Database::sync`](crate::Database::sync), durable commit or checkpoint.
    None,
}

/// What [`Database::compact`](crate::Database::compact) achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompactReport {
    /// File size before, in bytes.
    pub bytes_before: u64,
    /// File size after, in bytes.
    pub bytes_after: u64,
}

/// What opening the database found and did (see [`Database::recovery_report`](crate::Database::recovery_report)).
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
    /// frame), one line each. [`Database::check`](crate::Database::check) reports these as errors too.
    pub harmless_damage: Vec<String>,
    /// With [`Options::salvage`]: the damage the database was opened despite, and what it gave
    /// up (`None`: nothing was given up).
    pub salvaged: Option<String>,
    /// A plain [`Database::open_with`](crate::Database::open_with) of a file it could not open for writing opened it
    /// read-only instead: why (`None`: opened as asked).
    pub opened_read_only: Option<String>,
}
