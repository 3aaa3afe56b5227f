//! The one error type of the engine.
//!
//! Every fallible call returns [`Result<T>`]. Variants carry enough context to act on: the page
//! that failed its checksum, the offset of a failed read, the limit a key exceeded. Device
//! errors are *final*: once a write or sync has failed, the database refuses further writes
//! ([`Error::Poisoned`]) because the device's state is unknown; reopening runs recovery.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in Tessera.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The block device failed. `op` is `read`, `write`, `sync`, `len` or `set_len`.
    Io {
        /// The operation: `open`, `lock`, `read`, `write`, `sync`, `len` or `set_len`.
        op: &'static str,
        /// Byte offset of the operation (0 where it has none).
        offset: u64,
        /// What the device reported.
        message: String,
    },
    /// Another handle (usually another process) holds the database's lock.
    Locked,
    /// The file is not a Tessera database (bad magic or unreadable header).
    NotADatabase(String),
    /// The file was written by an incompatible format version.
    UnsupportedVersion(u32),
    /// Committed data failed verification: a checksum mismatch, a page of the wrong kind, a
    /// structural invariant broken. Names the page so `tessera check` can report it.
    Corrupted {
        /// The page that failed (0: the file header or commit slots).
        page: u64,
        /// What was wrong.
        reason: String,
    },
    /// A key longer than [`crate::MAX_KEY_LEN`].
    KeyTooLarge {
        /// Length of the key.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A key the SQL layer would store is longer than [`crate::MAX_KEY_LEN`] (SQLite has no
    /// such limit): the PRIMARY KEY of a WITHOUT ROWID table, or an index entry (the indexed
    /// values followed by the row's key). The statement changed nothing. Code
    /// `KEY_TOO_LARGE`, as [`Error::KeyTooLarge`].
    SqlKeyTooLarge {
        /// Length of the key.
        len: usize,
        /// The limit.
        max: usize,
        /// The table.
        table: String,
        /// The index (`None`: the table's PRIMARY KEY).
        index: Option<String>,
        /// The key's columns as declared (`b DESC` for a descending one).
        columns: Vec<String>,
    },
    /// A value longer than [`crate::MAX_VALUE_LEN`].
    ValueTooLarge {
        /// Length of the value.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `open_table` on a read transaction named a table that does not exist.
    TableNotFound(String),
    /// A table name that is empty or longer than [`crate::MAX_TABLE_NAME_LEN`] bytes.
    InvalidTableName(String),
    /// A key-value write API ([`crate::WriteTransaction::open_table`], `open_existing_table`,
    /// `delete_table`) named a table of the SQL layer: names starting with
    /// [`crate::RESERVED_TABLE_PREFIX`] (`sql:`) are reserved for it. Code
    /// `RESERVED_TABLE_NAME`.
    ReservedTableName(String),
    /// Bad [`crate::Options`] (page size out of range, cache too small...).
    InvalidOptions(String),
    /// `begin_write` while a write transaction is open and the build cannot block (no `std`).
    WriteTransactionInProgress,
    /// A previous device error left the in-memory state unknown; reopen the database.
    Poisoned,
    /// A write (or checkpoint, compaction) on a database opened read-only.
    ReadOnly,
    /// SQL text that does not parse. `offset` is the byte offset into the SQL text given,
    /// `line`/`column` (1-based) the same place for people.
    SqlSyntax {
        /// Byte offset of the offending token.
        offset: usize,
        /// 1-based line.
        line: u32,
        /// 1-based column (in characters).
        column: u32,
        /// What was found and what was expected.
        message: String,
    },
    /// A SQL statement that parses but cannot run: unknown table or column, wrong argument
    /// count, a type error, misuse of an aggregate...
    Sql(String),
    /// A constraint failed: UNIQUE, PRIMARY KEY, NOT NULL or CHECK. The statement changed
    /// nothing.
    Constraint(String),
    /// A value that cannot become the type asked for: a column read as the wrong Rust type
    /// (TEXT into `i64`, NULL into a non-`Option`), an integer outside the target's range, a
    /// parameter with no SQL value (a `u64` above `i64::MAX`, a nested struct).
    Conversion {
        /// Where: `column 1 ("name")`, `parameter 2`, `parameter :id`, `field "tags"`.
        place: String,
        /// What was wrong, e.g. `expected i64, found text`.
        message: String,
    },
    /// A column index or name that is not in the result row.
    InvalidColumn(String),
    /// A query that had to return a row returned none (`query_row`, `query_one`). Holds the
    /// statement's SQL text.
    QueryReturnedNoRows(String),
}

impl Error {
    /// A corruption error at `page` (a page number, or a page reference: its version tag is
    /// dropped).
    pub(crate) fn corrupted(page: u64, reason: impl Into<String>) -> Self {
        Error::Corrupted { page: crate::engine::format::page_no(page), reason: reason.into() }
    }

    /// A short, stable, machine-readable name for the variant (used as the JS `code`). Two
    /// variants share one: [`Error::KeyTooLarge`] and [`Error::SqlKeyTooLarge`] are both
    /// `KEY_TOO_LARGE`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "IO",
            Error::Locked => "LOCKED",
            Error::NotADatabase(_) => "NOT_A_DATABASE",
            Error::UnsupportedVersion(_) => "UNSUPPORTED_VERSION",
            Error::Corrupted { .. } => "CORRUPTED",
            Error::KeyTooLarge { .. } | Error::SqlKeyTooLarge { .. } => "KEY_TOO_LARGE",
            Error::ValueTooLarge { .. } => "VALUE_TOO_LARGE",
            Error::TableNotFound(_) => "TABLE_NOT_FOUND",
            Error::InvalidTableName(_) => "INVALID_TABLE_NAME",
            Error::ReservedTableName(_) => "RESERVED_TABLE_NAME",
            Error::InvalidOptions(_) => "INVALID_OPTIONS",
            Error::WriteTransactionInProgress => "WRITE_IN_PROGRESS",
            Error::Poisoned => "POISONED",
            Error::ReadOnly => "READ_ONLY",
            Error::SqlSyntax { .. } => "SQL_SYNTAX",
            Error::Sql(_) => "SQL",
            Error::Constraint(_) => "CONSTRAINT",
            Error::Conversion { .. } => "CONVERSION",
            Error::InvalidColumn(_) => "INVALID_COLUMN",
            Error::QueryReturnedNoRows(_) => "NO_ROWS",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, offset, message } => {
                write!(f, "I/O error during {op} at offset {offset}: {message}")
            }
            Error::Locked => write!(f, "database is locked by another handle or process"),
            Error::NotADatabase(why) => write!(f, "not a Tessera database: {why}"),
            Error::UnsupportedVersion(v) if *v > crate::engine::format::FORMAT_VERSION => write!(
                f,
                "file format version {v} is newer than this build reads (versions {} to {}): the file was \
                 written by a newer Tessera",
                crate::engine::format::OLDEST_FORMAT_VERSION,
                crate::engine::format::FORMAT_VERSION
            ),
            Error::UnsupportedVersion(v) => write!(
                f,
                "file format version {v} is older than this build reads (versions {} to {})",
                crate::engine::format::OLDEST_FORMAT_VERSION,
                crate::engine::format::FORMAT_VERSION
            ),
            Error::Corrupted { page, reason } => write!(f, "corruption at page {page}: {reason}"),
            Error::KeyTooLarge { len, max } => {
                write!(f, "key of {len} bytes exceeds the limit of {max} bytes")
            }
            Error::SqlKeyTooLarge { len, max, table, index, columns } => {
                write!(f, "key of {len} bytes exceeds the limit of {max} bytes: ")?;
                match index {
                    Some(ix) => write!(f, "the entry of index {ix} on table {table}")?,
                    None => write!(f, "the PRIMARY KEY of table {table}")?,
                }
                write!(f, " ({})", columns.join(", "))
            }
            Error::ValueTooLarge { len, max } => {
                write!(f, "value of {len} bytes exceeds the limit of {max} bytes")
            }
            Error::TableNotFound(name) => write!(f, "table not found: {name:?}"),
            Error::InvalidTableName(name) => {
                write!(f, "invalid table name {name:?}: a table name is 1 to 255 bytes")
            }
            Error::ReservedTableName(name) => write!(
                f,
                "table name {name:?} is reserved: names starting with {:?} are reserved for the SQL layer \
                 (use SQL to change its tables)",
                crate::RESERVED_TABLE_PREFIX
            ),
            Error::InvalidOptions(why) => write!(f, "invalid options: {why}"),
            Error::WriteTransactionInProgress => {
                write!(f, "another write transaction is in progress")
            }
            Error::Poisoned => {
                write!(f, "database poisoned by an earlier I/O error; reopen it to recover")
            }
            Error::ReadOnly => write!(f, "the database is open read-only"),
            Error::SqlSyntax { line, column, message, .. } => {
                write!(f, "syntax error at line {line}, column {column}: {message}")
            }
            Error::Sql(message) => f.write_str(message),
            Error::Constraint(message) => write!(f, "constraint failed: {message}"),
            Error::Conversion { place, message } if place.is_empty() => {
                write!(f, "conversion failed: {message}")
            }
            Error::Conversion { place, message } => write!(f, "cannot convert {place}: {message}"),
            Error::InvalidColumn(message) => f.write_str(message),
            Error::QueryReturnedNoRows(sql) => write!(f, "query returned no rows: {sql}"),
        }
    }
}

// `core::error::Error` (the same trait as `std::error::Error`) so that no_std builds can use it
// as serde's error bound too.
impl core::error::Error for Error {}

#[cfg(feature = "std")]
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io { op: "io", offset: 0, message: alloc::format!("{e}") }
    }
}
