//! The SQL layer: SQLite-compatible SQL over the engine's tables.
//!
//! A statement travels through these modules in order:
//! 1. [`parser`] (with `lexer`) turns text into an [`ast`] (hand-written, to keep the wasm
//!    small).
//! 2. `catalog` holds the schema, which is stored in the database itself.
//! 3. `planner` resolves names, picks access paths (primary key, secondary index, full scan),
//!    join order and join methods, and produces a tree of plan nodes with compiled
//!    expressions (`expr`).
//! 4. `exec` runs the plan as a stream of rows over a read or write transaction; `dml` writes
//!    rows and index entries; `encoding` maps rows and index entries to engine keys and
//!    values; [`func`] holds the scalar and aggregate functions; [`spill`] keeps sorting
//!    and grouping within the work-memory budget by spilling sorted runs to a temporary
//!    database.
//! 5. `connection` ties it together: [`Connection`] runs statements in autocommit or explicit
//!    transactions and caches plans; `schema_info` lists the schema's objects with the SQL
//!    that recreates each ([`Connection::schema_objects`]); `integrity` checks the SQL layer's
//!    data ([`Connection::check`]).
//!
//! [`Value`] is a SQL value.
//!
//! The typed API around [`Connection`]: [`Params`] (tuples, slices of [`Value`], [`Named`]
//! lists, the [`params!`](crate::params) and [`named_params!`](crate::named_params) macros, any
//! `serde::Serialize` struct through [`Serde`]) binds parameters; [`ToValue`] and
//! [`FromValue`] convert single values; a query yields [`Row`]s with typed getters;
//! [`Connection::query_row`], [`Connection::query_one`], [`Connection::query_map`] and (with
//! serde) [`Connection::query_as`] are the shortcuts; [`Connection::transaction`] gives a
//! [`Transaction`] that commits on [`Transaction::commit`] and rolls back when dropped.
//!
// Slicing a `str` by byte offsets panics inside a multi-byte character (`CREATE TABLE sqliteé`
// did); the SQL layer slices bytes or uses `str::get` instead.
#![deny(clippy::string_slice)]
#![cfg_attr(
    feature = "serde",
    doc = r#"
```
use serde::{Deserialize, Serialize};
use tessera::sql::{Connection, Serde};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct User {
    id: i64,
    name: String,
    email: Option<String>,
    active: bool,
}

let mut conn = Connection::memory(); // or Connection::open("app.db")?
conn.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, active INTEGER)", ())?;

let ada = User { id: 1, name: "ada".into(), email: None, active: true };
let mut tx = conn.transaction()?; // rolled back if dropped before commit
tx.execute("INSERT INTO users VALUES (:id, :name, :email, :active)", Serde(&ada))?;
tx.execute("INSERT INTO users(name, active) VALUES (?, ?)", ("alan", false))?;
tx.commit()?;

let n: i64 = conn.query_one("SELECT count(*) FROM users WHERE active", ())?;
assert_eq!(n, 1);
let users: Vec<User> = conn.query_as("SELECT * FROM users ORDER BY id", ())?.collect::<Result<_, _>>()?;
assert_eq!(users[0], ada);
assert_eq!(users[1].name, "alan");
for row in conn.query("SELECT id, name FROM users WHERE name LIKE ?", ("a%",))? {
    let row = row?;
    println!("{} {}", row.get::<i64>(0)?, row.get::<String>("name")?);
}
# Ok::<(), tessera::Error>(())
```
"#
)]

mod api;
mod catalog;
mod exec;
mod parser;
mod planner;
mod storage;
mod types;

#[cfg(feature = "serde")]
pub use self::api::serde::{from_row, to_params, DeserializedRows, Serde};
pub use api::connection::{Connection, Cursor, Prepared, Rows, StatementKind};
pub use api::integrity::SqlCheckReport;
pub use api::params::{Bindings, Named, Params, ToValue};
pub use api::row::{FromRow, FromValue, MappedRows, Row, RowIndex};
pub use api::schema_info::{ObjectKind, SchemaObject};
pub use api::transaction::Transaction;
pub use exec::spill::SpillStats;
pub use types::value::{Affinity, Value};

/// Not part of the API: the record and key encodings, for tests that build or damage SQL
/// data below the SQL layer.
#[doc(hidden)]
pub mod encoding {
    pub use super::types::encoding::{decode_row, encode_key, encode_key_dir, encode_row, rowid_key};
}

/// Not part of the API: write access to the SQL layer's own engine tables (names starting with
/// [`crate::RESERVED_TABLE_PREFIX`]), which the key-value API refuses. It exists for tests that
/// damage a database on purpose; writing through it can break a database's SQL schema.
#[doc(hidden)]
pub mod internal_tables {
    use crate::{Result, Table, WriteTransaction};

    /// Open (or create) the engine table `name`, reserved names included.
    pub fn open<'t>(tx: &'t WriteTransaction, name: &str) -> Result<Table<'t>> {
        tx.open_table_internal(name)
    }

    /// Delete the engine table `name`, reserved names included.
    pub fn delete(tx: &WriteTransaction, name: &str) -> Result<bool> {
        tx.delete_table_internal(name)
    }
}
