//! [`Connection`]: a SQL session over a [`Database`] — statement execution, autocommit and
//! explicit transactions, prepared statements.

use alloc::string::String;
use alloc::vec::Vec;

use super::value::Value;
use crate::error::{Error, Result};
use crate::Database;

/// A SQL session on a database.
pub struct Connection {
    db: Database,
}

/// A prepared statement: parsed once, run many times with different parameters.
pub struct Prepared {
    _p: (),
}

/// The rows of a query, streamed.
pub struct Rows<'c> {
    _c: &'c mut Connection,
    columns: Vec<String>,
}

impl Connection {
    /// A connection on an existing database.
    pub fn new(db: Database) -> Result<Connection> {
        Ok(Connection { db })
    }

    /// A connection on a fresh in-memory database.
    pub fn memory() -> Connection {
        Connection { db: Database::memory() }
    }

    /// Open (or create) a database file and connect to it.
    #[cfg(feature = "std")]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Connection> {
        Connection::new(Database::open(path)?)
    }

    /// The underlying database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Run every statement in `sql` (rows of queries are discarded). `params` bind the
    /// parameters of each statement. Returns the number of rows changed by the last statement.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let _ = (sql, params);
        Err(Error::Sql("not built yet".into()))
    }

    /// Run one statement and stream its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows<'_>> {
        let _ = (sql, params);
        Err(Error::Sql("not built yet".into()))
    }

    /// Parse one statement for repeated use.
    pub fn prepare(&mut self, sql: &str) -> Result<Prepared> {
        let _ = sql;
        Err(Error::Sql("not built yet".into()))
    }

    /// Run a prepared statement; returns the number of rows changed.
    pub fn execute_prepared(&mut self, stmt: &Prepared, params: &[Value]) -> Result<u64> {
        let _ = (stmt, params);
        Err(Error::Sql("not built yet".into()))
    }

    /// Run a prepared query and stream its rows.
    pub fn query_prepared(&mut self, stmt: &Prepared, params: &[Value]) -> Result<Rows<'_>> {
        let _ = (stmt, params);
        Err(Error::Sql("not built yet".into()))
    }
}

impl Rows<'_> {
    /// Result column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Vec<Value>>;
    fn next(&mut self) -> Option<Self::Item> {
        None
    }
}
