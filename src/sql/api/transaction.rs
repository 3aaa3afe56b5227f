//! [`Transaction`]: an explicit transaction as a guard — `BEGIN` when made, `COMMIT` on
//! [`Transaction::commit`], `ROLLBACK` on [`Transaction::rollback`] or when dropped without
//! either (an early `?` return, a panic).

use core::ops::{Deref, DerefMut};

use crate::error::{Error, Result};
use crate::sql::api::connection::Connection;

/// An open explicit transaction on a [`Connection`], made by [`Connection::transaction`].
///
/// It dereferences to the connection, so every method (`execute`, `query`, `query_row`,
/// `prepare`, ...) runs inside the transaction. Dropping it without [`commit`](Self::commit)
/// rolls back. Statements inside keep SQLite's statement-level atomicity: a failing
/// statement is undone on its own and the transaction stays open, so the caller decides
/// whether to go on or to give up.
///
/// ```
/// use tessera::sql::Connection;
/// let mut conn = Connection::memory();
/// conn.execute("CREATE TABLE acct(id INTEGER PRIMARY KEY, balance INTEGER CHECK (balance >= 0))", ())?;
/// conn.execute("INSERT INTO acct VALUES (1, 100), (2, 0)", ())?;
///
/// fn transfer(conn: &mut Connection, from: i64, to: i64, amount: i64) -> tessera::Result<()> {
///     let mut tx = conn.transaction()?;         // `mut`: statements borrow the connection mutably
///     tx.execute("UPDATE acct SET balance = balance + ? WHERE id = ?", (amount, to))?;
///     tx.execute("UPDATE acct SET balance = balance - ? WHERE id = ?", (amount, from))?; // may fail
///     tx.commit()                                  // an early `?` above rolled back instead
/// }
///
/// transfer(&mut conn, 1, 2, 30)?;
/// assert!(transfer(&mut conn, 1, 2, 500).is_err()); // CHECK fails: the credit is undone too
/// let balances: Vec<i64> = conn.query_map("SELECT balance FROM acct ORDER BY id", (), |r| r.get(0))?
///     .collect::<Result<_, _>>()?;
/// assert_eq!(balances, [70, 30]);
/// assert!(!conn.in_transaction());
/// # Ok::<(), tessera::Error>(())
/// ```
pub struct Transaction<'c> {
    conn: &'c mut Connection,
    /// Committed or rolled back already: nothing left for `drop`.
    finished: bool,
}

impl Connection {
    /// Begin an explicit transaction (`BEGIN`): see [`Transaction`]. Errors when one is already
    /// open on this connection (there are no nested transactions).
    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        if self.in_transaction() {
            return Err(Error::Sql("cannot start a transaction within a transaction".into()));
        }
        self.execute("BEGIN", ())?;
        Ok(Transaction { conn: self, finished: false })
    }
}

impl Transaction<'_> {
    /// Commit: the changes become durable and visible to new readers. On error the
    /// transaction has been rolled back.
    pub fn commit(mut self) -> Result<()> {
        self.finished = true;
        self.conn.execute("COMMIT", ()).map(|_| ())
    }

    /// Roll back every change made in the transaction.
    pub fn rollback(mut self) -> Result<()> {
        self.finished = true;
        self.conn.execute("ROLLBACK", ()).map(|_| ())
    }
}

impl Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    /// Rolls back unless committed or rolled back already (also when unwinding from a panic).
    fn drop(&mut self) {
        // The statements run through the connection could have ended the transaction
        // themselves (`COMMIT` in `execute`): then there is nothing to undo.
        if !self.finished && self.conn.in_transaction() {
            // Dropping the engine transaction discards it; this cannot fail in practice, and
            // `drop` has no way to report it.
            let _ = self.conn.execute("ROLLBACK", ());
        }
    }
}
