//! The SQL layer: SQLite-compatible SQL over the engine's tables.
//!
//! The folders follow the path of a statement, and each stage depends only on the ones
//! below it (`api` → `exec` → `planner` → `catalog` → `parser`, all of them on `storage`
//! and `types`). Take `SELECT name FROM users WHERE id = ?` run through
//! [`Connection::query`]:
//!
//! 1. **`api`** — the public face. [`Connection::prepare`] makes a [`Prepared`] statement;
//!    [`Params`] binds the `?`; the rows come back as [`Row`]s through [`Rows`]. The
//!    connection holds the open transaction, the cached schema, the work-memory budget and
//!    a statement cache: running the same text again reuses its parsed statement and plan.
//! 2. **`parser`** — the lexer cuts the text into tokens and the recursive-descent parser
//!    builds a syntax tree (`ast::Statement::Query`), with byte positions for errors.
//! 3. **`catalog`** — the schema (tables, columns, indexes, views) lives in the database
//!    itself, in the engine table `sql:schema`, as the SQL that created each object; it is
//!    loaded once per schema generation and cached.
//! 4. **`planner`** — resolves `users` and `name` against the schema, sees that `id = ?`
//!    pins the rowid, and produces a plan: a projection over a scan of one key. Expressions
//!    are compiled to positions and function pointers. The plan is cached in the
//!    [`Prepared`] until the schema changes.
//! 5. **`exec`** — opens the plan as a tree of operators and pulls rows: the scan computes
//!    its key range from the bound parameter and reads the table; the projection evaluates
//!    `name`. INSERT, UPDATE and DELETE run write plans that keep indexes and constraints in
//!    step; DDL runs here too; sorting and grouping spill to a temporary database past the
//!    work-memory budget.
//! 6. **`storage`** — the one file that talks to the engine: read snapshots and the write
//!    transaction ([`crate::ReadTransaction`], [`crate::WriteTransaction`] behind one `Txn`),
//!    writes with an undo log for statement-level rollback, and the temporary databases.
//! 7. **`types`** — what every stage shares: [`Value`] and its affinities, the key and record
//!    encodings (how a row becomes engine keys and values), collations, float printing and
//!    parsing, and the built-in functions.
//!
//! Around the connection: `schema_info` lists the schema's objects with the SQL that
//! recreates each ([`Connection::schema_objects`]); `integrity` checks the SQL layer's data
//! ([`Connection::check`]).
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
mod host;
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
pub use host::{seed_random, set_clock};
pub use types::text::Text;
pub use types::value::{Affinity, Value};

/// Not part of the API: the record and key encodings, for tests that build or damage SQL
/// data below the SQL layer.
#[doc(hidden)]
pub mod encoding {
    pub use super::types::encoding::{decode_row, encode_key, encode_key_dir, encode_row, rowid_key};
}

#[doc(hidden)]
pub use storage::internal_tables;
