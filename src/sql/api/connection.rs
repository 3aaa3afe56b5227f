//! [`Connection`]: a SQL session over a [`Database`] — statement dispatch, DDL, autocommit
//! and explicit transactions, statement-level rollback, prepared statements and the plan
//! cache.
//!
//! Outside `BEGIN ... COMMIT` every statement is its own transaction: a query reads a fresh
//! snapshot, a write statement runs in a write transaction committed (durably) at its end.
//! `PRAGMA synchronous` chooses whether a commit waits for the device sync (FULL, the
//! default) or only writes its log frame (NORMAL; see [`Durability`](crate::Durability)).
//! Inside an explicit transaction all statements share one write transaction; a statement
//! that fails is undone on its own from its undo log, so the transaction is left as it was
//! before that statement — unless its conflict clause says otherwise: OR FAIL keeps the rows
//! it changed before the error (committing them in autocommit), OR ROLLBACK rolls the whole
//! transaction back. Plans are cached per statement and re-made when the schema generation
//! changes; the statement cache (module `statement_cache`) keeps the statements of recently
//! run texts, so `query`, `prepare` and a one-statement `execute` of a text seen before
//! neither parse nor plan it.
//!
//! The typed layer on top lives beside it: parameters in `params`, rows and the query
//! shortcuts in `row`, the transaction guard in `transaction`, serde in `serde`.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::sql::api::params::Params;
use crate::sql::api::row::Row;
use crate::sql::api::statement_cache::StatementCache;
pub use crate::sql::api::statement_cache::StatementCacheStats;
use crate::sql::catalog::{lower, Schema};
use crate::sql::exec::ddl::ddl;
use crate::sql::exec::eval::{Env, SubResult};
use crate::sql::exec::write::{self, WriteResult};
use crate::sql::exec::{self, Operator};
use crate::sql::parser::ast::{ConflictAction, Statement};
use crate::sql::parser::{ParsedStatement, Parser};
use crate::sql::planner::statement::{compile, Compiled};
use crate::sql::storage::{Txn, Undo, Writer};
use crate::sql::types::value::Tuple;
use crate::sql::types::value::Value;
use crate::Database;

struct CachedPlan {
    generation: u64,
    compiled: Arc<Compiled>,
}

/// A prepared statement: parsed once, planned on first use and re-planned only when the
/// schema changes.
///
/// Cloning is cheap and the clones share the plan: a plan made when one of them runs serves
/// the others (the connection's statement cache hands out such clones, see
/// [`Connection::set_statement_cache_size`]).
#[derive(Clone)]
pub struct Prepared {
    inner: Arc<PreparedInner>,
}

struct PreparedInner {
    parsed: ParsedStatement,
    text: String,
    /// The plan and the schema generation it was made for.
    plan: spin::Mutex<Option<CachedPlan>>,
}

impl Prepared {
    fn new(parsed: ParsedStatement, text: String) -> Prepared {
        Prepared { inner: Arc::new(PreparedInner { parsed, text, plan: spin::Mutex::new(None) }) }
    }

    fn parsed(&self) -> &ParsedStatement {
        &self.inner.parsed
    }
}

impl Prepared {
    /// Number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.inner.parsed.param_names.len()
    }

    /// Parameter names by index (`None` for positional ones).
    pub fn parameter_names(&self) -> &[Option<String>] {
        &self.inner.parsed.param_names
    }

    /// The statement's SQL text.
    pub fn sql(&self) -> &str {
        &self.inner.text
    }

    /// Whether the statement changes no rows (a query, EXPLAIN or PRAGMA).
    pub fn is_query(&self) -> bool {
        matches!(self.inner.parsed.stmt, Statement::Query(_) | Statement::Explain(..) | Statement::Pragma { .. })
    }

    /// What kind of statement this is.
    pub fn kind(&self) -> StatementKind {
        match &self.inner.parsed.stmt {
            Statement::Query(_) => StatementKind::Query,
            Statement::Explain(..) => StatementKind::Explain,
            Statement::Insert(_) => StatementKind::Insert,
            Statement::Update(_) => StatementKind::Update,
            Statement::Delete(_) => StatementKind::Delete,
            Statement::Begin | Statement::Commit | Statement::Rollback => StatementKind::Transaction,
            Statement::Pragma { .. } => StatementKind::Pragma,
            Statement::CreateTable(_)
            | Statement::DropTable { .. }
            | Statement::CreateIndex(_)
            | Statement::DropIndex { .. }
            | Statement::CreateView(_)
            | Statement::DropView { .. }
            | Statement::AlterTable { .. }
            | Statement::Reindex(_)
            | Statement::Analyze(_) => StatementKind::Schema,
        }
    }

    /// Whether running the statement yields rows: a query, EXPLAIN, a PRAGMA that reads a
    /// setting, or an INSERT, UPDATE or DELETE with RETURNING.
    pub fn returns_rows(&self) -> bool {
        match &self.inner.parsed.stmt {
            Statement::Query(_) | Statement::Explain(..) => true,
            Statement::Insert(i) => !i.returning.is_empty(),
            Statement::Update(u) => !u.returning.is_empty(),
            Statement::Delete(d) => !d.returning.is_empty(),
            Statement::Pragma { value, .. } => value.is_none(),
            _ => false,
        }
    }
}

/// The kind of a prepared statement ([`Prepared::kind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatementKind {
    /// SELECT, VALUES, or a compound or WITH query.
    Query,
    /// `EXPLAIN [QUERY PLAN] statement`.
    Explain,
    /// INSERT or REPLACE.
    Insert,
    /// UPDATE.
    Update,
    /// DELETE.
    Delete,
    /// BEGIN, COMMIT (END) or ROLLBACK.
    Transaction,
    /// PRAGMA, reading or setting a connection setting.
    Pragma,
    /// CREATE, DROP or ALTER of a table, index or view, or REINDEX.
    Schema,
}

/// A SQL session on a database.
///
/// ```
/// use tessera::sql::Connection;
/// let mut conn = Connection::memory();        // or Connection::open("app.db")?
/// conn.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER)", ())?;
/// let insert = conn.prepare("INSERT INTO users(name, age) VALUES (?, ?)")?; // parsed once
/// conn.execute_prepared(&insert, ("ada", 36))?;
/// conn.execute_prepared(&insert, ("alan", 41))?;
/// assert_eq!(conn.last_insert_rowid(), 2);
/// let mut names = Vec::new();
/// for row in conn.query("SELECT name, age FROM users WHERE age > ? ORDER BY name", (30,))? {
///     let row = row?;                          // rows stream from the tree
///     names.push(row.get::<String>("name")?);
/// }
/// assert_eq!(names, ["ada", "alan"]);
/// assert_eq!(conn.execute("UPDATE users SET age = age + 1", ())?, 2);
/// # Ok::<(), tessera::Error>(())
/// ```
pub struct Connection {
    db: Database,
    /// The open explicit transaction.
    txn: Option<Txn>,
    schema: Arc<Schema>,
    loaded: bool,
    /// The snapshot (engine txn id) whose schema generation was last checked.
    checked_snapshot: Option<u64>,
    /// The schema was checked in the current write transaction.
    checked_write: bool,
    changes: u64,
    last_rowid: i64,
    /// Counts statements run; a [`Cursor`] reading the open transaction is valid only while
    /// this stays the value it saw.
    epoch: u64,
    /// Work-memory budget, temporary storage and spill counters (see `spill`).
    pub(super) work: crate::sql::exec::spill::WorkMem,
    /// The undo log and record scratch of write statements, kept so a statement allocates
    /// nothing for them once they have warmed up.
    undo: Undo,
    rec: Vec<u8>,
    /// An empty column list (shared: results without columns allocate nothing).
    no_columns: Arc<[String]>,
    /// `PRAGMA synchronous`: 0 OFF, 1 NORMAL, 2 FULL (default), 3 EXTRA. At most NORMAL,
    /// commits are [`Durability::None`](crate::Durability::None).
    synchronous: u8,
    /// Schema objects this connection loaded or copied (see [`Connection::schema_work`]).
    schema_work: SchemaWork,
    /// The schema generation last read from the database: a generation above it exists only
    /// in this connection's open transaction, and goes away if that rolls back.
    stored_generation: u64,
    /// Statements by their exact text (see [`Connection::set_statement_cache_size`]).
    statements: StatementCache,
}

/// Counts of the work a connection spent on its cached schema, in schema objects (tables,
/// indexes and views). Not part of the API: tests use it to check that a statement's schema
/// work does not grow with the size of the schema.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchemaWork {
    /// Objects decoded from the schema table by schema loads.
    pub loaded: u64,
    /// Objects copied from one in-memory schema to another.
    pub copied: u64,
}

/// The number of objects in a schema (tables, their indexes, views).
fn objects_in(s: &Schema) -> u64 {
    (s.tables.len() + s.index_owner.len() + s.views.len()) as u64
}

/// The rows of a query, streamed: a [`Cursor`] with the connection it reads through. An
/// iterator of [`Row`]s (each a `Result`: reading can fail midway).
pub struct Rows<'c> {
    conn: &'c mut Connection,
    cursor: Cursor,
}

/// The state of a running statement, detached from its [`Connection`]: it borrows the
/// connection only while fetching a row ([`Cursor::next`]), so a host that cannot hold a
/// borrow across calls (the JavaScript bindings) can keep it between them.
///
/// A query outside an explicit transaction reads its own snapshot and stays valid whatever
/// the connection does next. A query inside `BEGIN ... COMMIT` reads the transaction itself:
/// once another statement runs on the connection, or the transaction ends, the cursor fails
/// with an error instead of reading a tree that changed under it.
pub struct Cursor {
    /// Own snapshot (autocommit read), or `None` to read the connection's transaction.
    snapshot: Option<Txn>,
    /// [`Connection::epoch`] when the cursor was opened (checked when `snapshot` is `None`).
    epoch: u64,
    op: Option<Box<dyn Operator>>,
    buffered: Option<vec::IntoIter<Tuple>>,
    params: Vec<Value>,
    outer: Vec<alloc::rc::Rc<[Value]>>,
    subs: Vec<Option<alloc::rc::Rc<SubResult>>>,
    columns: Arc<[String]>,
}

fn err(m: impl Into<String>) -> Error {
    Error::Sql(m.into())
}

impl Connection {
    /// A connection on an existing database.
    pub fn new(db: Database) -> Result<Connection> {
        Self::upgrade(&db)?;
        Ok(Connection {
            db,
            txn: None,
            schema: Arc::new(Schema::default()),
            loaded: false,
            checked_snapshot: None,
            checked_write: false,
            changes: 0,
            last_rowid: 0,
            epoch: 0,
            work: Default::default(),
            undo: Undo::default(),
            rec: Vec::new(),
            no_columns: Arc::from([]),
            synchronous: 2,
            schema_work: SchemaWork::default(),
            stored_generation: 0,
            statements: StatementCache::default(),
        })
    }

    /// A connection on a fresh in-memory database.
    pub fn memory() -> Connection {
        Connection::new(Database::memory()).unwrap_or_else(|_| unreachable!("new cannot fail"))
    }

    /// Open (or create) a database file and connect to it.
    #[cfg(feature = "std")]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Connection> {
        Connection::new(Database::open(path)?)
    }

    /// Open (or create) a database file with [`Options`](crate::Options) and connect to it.
    #[cfg(feature = "std")]
    pub fn open_with(path: impl AsRef<std::path::Path>, options: crate::Options) -> Result<Connection> {
        Connection::new(Database::open_with(path, options)?)
    }

    /// Open (or create) a database on any [`BlockDevice`](crate::BlockDevice) and connect to
    /// it.
    ///
    /// ```
    /// use tessera::{sql::Connection, MemoryDevice, Options};
    /// let mut conn = Connection::open_device(MemoryDevice::new(), Options::default())?;
    /// assert_eq!(conn.query_one::<i64>("SELECT 6 * 7", ())?, 42);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn open_device(device: impl crate::BlockDevice + 'static, options: crate::Options) -> Result<Connection> {
        Connection::new(Database::open_device(device, options)?)
    }

    /// The underlying database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Whether an explicit transaction (BEGIN) is open.
    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Rowid of the last row inserted into a rowid table.
    pub fn last_insert_rowid(&self) -> i64 {
        self.last_rowid
    }

    /// Run every statement in `sql` (rows of queries are discarded) and return the number of
    /// rows changed by the last one. `params` (see [`Params`]) bind the parameters of each
    /// statement: positional values must match every statement's parameter count; named
    /// values are checked against all the statements before any runs.
    ///
    /// ```
    /// let mut conn = tessera::sql::Connection::memory();
    /// conn.execute("CREATE TABLE t(a); INSERT INTO t VALUES (1), (2)", ())?;
    /// assert_eq!(conn.execute("UPDATE t SET a = a * ?", (10,))?, 2);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn execute(&mut self, sql: &str, params: impl Params) -> Result<u64> {
        let bindings = params.into_bindings()?;
        // A text in the statement cache is one statement (only those are cached).
        if let Some(p) = self.statements.get(sql) {
            if bindings.checks_unused() {
                bindings.check_used(p.parsed().param_names.iter().flatten().map(String::as_str))?;
            }
            let values = bindings.resolve(&p.parsed().param_names, false)?;
            return self.execute_values(&p, values);
        }
        let mut parser = Parser::new(sql);
        let prepared = |ps: ParsedStatement| {
            let text = sql.get(ps.span.clone()).unwrap_or_default().to_string();
            Prepared::new(ps, text)
        };
        let mut changed = 0;
        if bindings.checks_unused() {
            // Every name given must be used somewhere in the script: parse it all first so
            // that a wrong name stops it before anything runs.
            let mut all = Vec::new();
            while let Some(ps) = parser.next_statement()? {
                all.push(prepared(ps));
            }
            bindings
                .check_used(all.iter().flat_map(|p| p.parsed().param_names.iter().flatten().map(String::as_str)))?;
            if let [p] = &all[..] {
                self.remember(sql, p);
            }
            for p in &all {
                let values = bindings.resolve(&p.parsed().param_names, false)?;
                changed = self.execute_values(p, values)?;
            }
            return Ok(changed);
        }
        // Each statement runs before the next is parsed (a syntax error further on does not
        // stop the ones before it), so a text is known to be one statement only at its end.
        let mut first = None;
        let mut count = 0;
        while let Some(ps) = parser.next_statement()? {
            let p = prepared(ps);
            let values = bindings.resolve(&p.parsed().param_names, false)?;
            changed = self.execute_values(&p, values)?;
            count += 1;
            if count == 1 {
                first = Some(p);
            }
        }
        if let (1, Some(p)) = (count, first) {
            self.remember(sql, &p);
        }
        Ok(changed)
    }

    /// Run one statement and stream its rows (write statements run to completion first and
    /// stream their RETURNING rows). See [`Row`] for reading them, and
    /// [`query_row`](Self::query_row), [`query_one`](Self::query_one),
    /// [`query_map`](Self::query_map) for shortcuts.
    ///
    /// ```
    /// let mut conn = tessera::sql::Connection::memory();
    /// let rows = conn.query("SELECT ?1, ?1 * 2", (21,))?.collect::<Result<Vec<_>, _>>()?;
    /// assert_eq!(rows[0].get::<i64>(1)?, 42);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn query(&mut self, sql: &str, params: impl Params) -> Result<Rows<'_>> {
        let p = self.prepare(sql)?;
        let cursor = self.start(&p, params)?;
        Ok(Rows { conn: self, cursor })
    }

    /// Parse one statement for repeated use.
    ///
    /// The connection's statement cache is consulted first: preparing a text it holds costs
    /// a lookup, and the statement comes with the plan its earlier runs made (still re-made if
    /// the schema has changed since). See [`set_statement_cache_size`](Self::set_statement_cache_size).
    pub fn prepare(&mut self, sql: &str) -> Result<Prepared> {
        if let Some(p) = self.statements.get(sql) {
            return Ok(p);
        }
        let mut parser = Parser::new(sql);
        let ps = parser.next_statement()?.ok_or_else(|| err("empty statement"))?;
        if parser.next_statement()?.is_some() {
            return Err(err("prepare takes one statement; use execute for several"));
        }
        let text = sql.get(ps.span.clone()).unwrap_or_default().to_string();
        let p = Prepared::new(ps, text);
        self.remember(sql, &p);
        Ok(p)
    }

    /// Put the statement of `sql` (one statement, just parsed) in the statement cache, unless
    /// it is an EXPLAIN: its plan text depends on the tables' row counts as well as on the
    /// schema, and it was always made afresh.
    fn remember(&mut self, sql: &str, p: &Prepared) {
        if !matches!(p.parsed().stmt, Statement::Explain(..)) {
            self.statements.insert(sql, p);
        }
    }

    /// Bound the statement cache to `n` entries (64 by default; 0 turns it off and empties
    /// it).
    ///
    /// The cache maps the exact text of a single statement given to [`prepare`](Self::prepare),
    /// [`query`](Self::query) or [`execute`](Self::execute) to its parsed statement and plan,
    /// so running the same text again neither parses nor plans it. The least recently used
    /// entry makes room for a new one. A cached plan is used only for the schema generation it
    /// was made for: after any schema change, by this connection or another one, the
    /// statement is planned again on its next run. Texts over 16 KiB and EXPLAIN statements
    /// are not cached. Plans depend on the schema, not on the data: a cached plan keeps the
    /// join order chosen from the row counts when it was made.
    ///
    /// ```
    /// let mut conn = tessera::sql::Connection::memory();
    /// conn.set_statement_cache_size(0); // parse and plan every text every time
    /// assert_eq!(conn.statement_cache_size(), 0);
    /// ```
    pub fn set_statement_cache_size(&mut self, n: usize) {
        self.statements.set_capacity(n);
    }

    /// The statement cache's bound (see [`set_statement_cache_size`](Self::set_statement_cache_size)).
    pub fn statement_cache_size(&self) -> usize {
        self.statements.capacity()
    }

    /// The statement cache's hits, misses and entries (not part of the API).
    #[doc(hidden)]
    pub fn statement_cache_stats(&self) -> StatementCacheStats {
        self.statements.stats()
    }

    /// Whether the statement cache holds `sql` (not part of the API).
    #[doc(hidden)]
    pub fn statement_cached(&self, sql: &str) -> bool {
        self.statements.contains(sql)
    }

    /// Run a prepared statement; returns the number of rows changed.
    pub fn execute_prepared(&mut self, stmt: &Prepared, params: impl Params) -> Result<u64> {
        let values = params.into_bindings()?.into_values(&stmt.parsed().param_names)?;
        self.execute_values(stmt, values)
    }

    fn execute_values(&mut self, stmt: &Prepared, values: Vec<Value>) -> Result<u64> {
        self.epoch += 1;
        let mut cursor = self.run_ref(stmt, values)?;
        while let Some(r) = cursor.next(self) {
            r?;
        }
        Ok(if stmt.is_query() { 0 } else { self.changes })
    }

    /// Run a prepared query and stream its rows.
    ///
    /// ```
    /// let mut conn = tessera::sql::Connection::memory();
    /// let square = conn.prepare("SELECT ? * ?1")?;
    /// for i in 1..4_i64 {
    ///     let row = conn.query_prepared(&square, (i,))?.next().unwrap()?;
    ///     assert_eq!(row.get::<i64>(0)?, i * i);
    /// }
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn query_prepared(&mut self, stmt: &Prepared, params: impl Params) -> Result<Rows<'_>> {
        let cursor = self.start(stmt, params)?;
        Ok(Rows { conn: self, cursor })
    }

    /// Run a prepared statement and return its rows as a [`Cursor`] that does not borrow the
    /// connection (fetch with [`Cursor::next`]). A write statement runs to completion here;
    /// its cursor yields the RETURNING rows.
    pub fn start(&mut self, stmt: &Prepared, params: impl Params) -> Result<Cursor> {
        let values = params.into_bindings()?.into_values(&stmt.parsed().param_names)?;
        self.epoch += 1;
        self.run_ref(stmt, values)
    }

    /// Bring a database written in an older SQL storage format up to this one, once, when it
    /// is writable (see `ddl::upgrade_collated_keys`); a read-only one is refused when its
    /// schema is first read.
    fn upgrade(db: &Database) -> Result<()> {
        // Only format 2 is upgraded; older and newer formats are refused when the schema is
        // read, as before.
        // Whatever stops the look (damage, a format this build does not read) is reported by
        // the first statement or the check, as without an upgrade: not by `new`.
        let needed = || -> Result<bool> {
            let read = Txn::begin_read(db)?;
            Ok(Schema::read_format(&read)? == 2 && Schema::load(&read)?.unfolded_keys)
        };
        if db.is_read_only() || !needed().unwrap_or(false) {
            return Ok(());
        }
        let txn = Txn::begin_write(db, true)?;
        let mut schema = Schema::load(&txn)?;
        if schema.unfolded_keys {
            let (mut undo, mut rec) = (Undo::default(), Vec::new());
            let mut w = Writer { txn: &txn, undo: &mut undo, rec: &mut rec };
            crate::sql::exec::ddl::upgrade_collated_keys(&mut schema, &txn, &mut w)?;
            txn.commit()?;
        }
        Ok(())
    }

    /// Make sure the cached schema matches the transaction's view. `stored` is set to the
    /// generation read when that view is the database's (a snapshot, or a write transaction
    /// in which this connection has not written yet).
    fn refresh_schema(
        schema: &mut Arc<Schema>,
        loaded: &mut bool,
        work: &mut SchemaWork,
        stored: Option<&mut u64>,
        txn: &Txn,
    ) -> Result<()> {
        let g = Schema::read_generation(txn)?;
        if let Some(stored) = stored {
            *stored = g;
        }
        if !*loaded || g != schema.generation {
            let loaded_schema = Schema::load(txn)?;
            if loaded_schema.unfolded_keys {
                return Err(err("this database was written in SQL storage format 2, whose keys of NOCASE and RTRIM \
                     columns this version orders differently: it is upgraded when a connection opens it \
                     writable"));
            }
            *schema = Arc::new(loaded_schema);
            work.loaded += objects_in(schema);
            *loaded = true;
        }
        Ok(())
    }

    /// After a rollback the cached schema may hold changes that never reached the database:
    /// reload it before the next statement, and drop every cached plan made for a generation
    /// above the stored one (another connection may later commit a different schema under
    /// the same number).
    fn schema_discarded(&mut self) {
        self.loaded = false;
        if self.schema.generation != self.stored_generation {
            let stored = self.stored_generation;
            for p in self.statements.statements() {
                let mut plan = p.inner.plan.lock();
                if plan.as_ref().is_some_and(|c| c.generation > stored) {
                    *plan = None;
                }
            }
        }
    }

    /// What the connection spent on its cached schema so far (not part of the API).
    #[doc(hidden)]
    pub fn schema_work(&self) -> SchemaWork {
        self.schema_work
    }

    fn compiled(schema: &Schema, stmt: &Prepared, txn: &Txn) -> Result<Arc<Compiled>> {
        if let Some(c) = &*stmt.inner.plan.lock() {
            if c.generation == schema.generation {
                return Ok(c.compiled.clone());
            }
        }
        let c = Arc::new(compile(schema, txn, &stmt.parsed().stmt)?);
        *stmt.inner.plan.lock() = Some(CachedPlan { generation: schema.generation, compiled: c.clone() });
        Ok(c)
    }

    /// Run `stmt` with its parameter values (already matched to its parameters).
    fn run_ref(&mut self, stmt: &Prepared, params: Vec<Value>) -> Result<Cursor> {
        match &stmt.parsed().stmt {
            Statement::Begin => {
                if self.txn.is_some() {
                    return Err(err("cannot start a transaction within a transaction"));
                }
                self.txn = Some(self.begin_write()?);
                self.checked_write = false;
                return Ok(self.empty_rows());
            }
            Statement::Commit => {
                let t = self.txn.take().ok_or_else(|| err("cannot commit - no transaction is active"))?;
                t.commit()?;
                return Ok(self.empty_rows());
            }
            Statement::Rollback => {
                let t = self.txn.take().ok_or_else(|| err("cannot rollback - no transaction is active"))?;
                drop(t);
                self.schema_discarded();
                return Ok(self.empty_rows());
            }
            Statement::Pragma { name, value } => return self.pragma(name, value.as_deref()),
            _ => {}
        }
        if stmt.is_query() {
            // Reads: the open transaction, or a fresh snapshot.
            let snapshot = match &self.txn {
                Some(_) => None,
                None => Some(Txn::begin_read(&self.db)?),
            };
            let txn_ref: &Txn = match (&snapshot, &self.txn) {
                (Some(s), _) => s,
                (None, Some(t)) => t,
                (None, None) => return Err(err("no transaction")),
            };
            // A snapshot already checked cannot have a different schema.
            let snap_id = match txn_ref {
                Txn::Read(r, _) => Some(r.txn_id()),
                Txn::Write(_) => None,
            };
            if !(self.loaded && snap_id.is_some() && snap_id == self.checked_snapshot) {
                Self::refresh_schema(
                    &mut self.schema,
                    &mut self.loaded,
                    &mut self.schema_work,
                    (snap_id.is_some() || !self.checked_write).then_some(&mut self.stored_generation),
                    txn_ref,
                )?;
                self.checked_snapshot = snap_id;
            }
            let compiled = Self::compiled(&self.schema, stmt, txn_ref)?;
            return match &*compiled {
                Compiled::Query { plan, columns } => Ok(Cursor {
                    op: Some(exec::open(plan)),
                    snapshot,
                    epoch: self.epoch,
                    buffered: None,
                    params,
                    outer: Vec::new(),
                    subs: Vec::new(),
                    columns: columns.clone(),
                }),
                Compiled::Explain(lines) => {
                    let rows: Vec<Tuple> = lines.iter().map(|l| vec![Value::Text(l.into())]).collect();
                    let mut r = self.empty_rows();
                    r.buffered = Some(rows.into_iter());
                    r.columns = Arc::from([String::from("detail")]);
                    Ok(r)
                }
                Compiled::QueryPlan(lines) => {
                    // SQLite's columns: id, parent, notused, detail.
                    let rows: Vec<Tuple> = lines
                        .iter()
                        .map(|(id, parent, d)| {
                            vec![Value::Integer(*id), Value::Integer(*parent), Value::Integer(0), Value::Text(d.into())]
                        })
                        .collect();
                    let mut r = self.empty_rows();
                    r.buffered = Some(rows.into_iter());
                    r.columns = ["id", "parent", "notused", "detail"].map(String::from).into();
                    Ok(r)
                }
                _ => Err(err("not a query")),
            };
        }
        // Writes.
        let autocommit = self.txn.is_none();
        if autocommit {
            self.txn = Some(self.begin_write()?);
            self.checked_write = false;
        }
        let mut undo = core::mem::take(&mut self.undo);
        undo.reset(!autocommit);
        let r = self.write_statement(stmt, params, &mut undo);
        let out = self.finish_write(r, autocommit, &mut undo);
        self.undo = undo;
        out
    }

    /// Commit an autocommit write, or undo a failed statement; the statement's result rows.
    fn finish_write(
        &mut self,
        r: Result<(WriteResult, Vec<String>)>,
        autocommit: bool,
        undo: &mut Undo,
    ) -> Result<Cursor> {
        match r {
            Ok((mut res, _)) if res.stopped.is_some() => {
                // Stopped part way: SQLite keeps the rowid of the last row inserted, and
                // counts the changes FAIL keeps (none otherwise).
                let stopped = res.stopped.take().expect("checked above");
                if let Some(id) = res.last_rowid {
                    self.last_rowid = id;
                }
                match stopped.action {
                    ConflictAction::Fail => {
                        self.changes = res.changes;
                        if autocommit {
                            if let Some(t) = self.txn.take() {
                                t.commit()?;
                            }
                        }
                        Err(stopped.error)
                    }
                    ConflictAction::Rollback => {
                        // The whole transaction, explicit or not, is rolled back.
                        self.changes = 0;
                        self.txn = None;
                        self.schema_discarded();
                        Err(stopped.error)
                    }
                    _ => {
                        self.changes = 0;
                        self.finish_write(Err(stopped.error), autocommit, undo)
                    }
                }
            }
            Ok((res, columns)) => {
                if autocommit {
                    if let Some(t) = self.txn.take() {
                        t.commit()?;
                    }
                }
                self.changes = res.changes;
                if let Some(id) = res.last_rowid {
                    self.last_rowid = id;
                }
                let mut rows = self.empty_rows();
                if !res.returned.is_empty() {
                    rows.buffered = Some(res.returned.into_iter());
                }
                if !columns.is_empty() {
                    rows.columns = columns.into();
                }
                Ok(rows)
            }
            Err(e) => {
                if autocommit {
                    self.txn = None; // dropping aborts
                } else if let Some(t) = &self.txn {
                    if let Err(u) = undo.rollback(t) {
                        self.txn = None;
                        self.schema_discarded();
                        return Err(u);
                    }
                }
                self.schema_discarded();
                Err(e)
            }
        }
    }

    /// A write transaction committing as `PRAGMA synchronous` says.
    fn begin_write(&self) -> Result<Txn> {
        Txn::begin_write(&self.db, self.synchronous > 1)
    }

    /// `PRAGMA name [= value]`. Known: `foreign_keys` (always OFF) and `synchronous` (OFF/0,
    /// NORMAL/1, FULL/2, EXTRA/3; read back as its number). FULL and EXTRA make every commit durable when it returns (one
    /// device sync); OFF and NORMAL write the commit's log frame without waiting for the sync,
    /// so a commit survives the application crashing but not the machine losing power before
    /// the next durable commit, checkpoint or close (SQLite's NORMAL in WAL mode; Tessera's
    /// checkpoints always sync, so OFF is NORMAL). It applies to transactions begun after it.
    fn pragma(&mut self, name: &str, value: Option<&str>) -> Result<Cursor> {
        match lower(name).as_str() {
            "synchronous" => {
                let Some(v) = value else {
                    return Ok(self.setting_row("synchronous", self.synchronous.into()));
                };
                self.synchronous = match lower(v).as_str() {
                    "0" | "off" => 0,
                    "1" | "normal" => 1,
                    "2" | "full" => 2,
                    "3" | "extra" => 3,
                    _ => {
                        return Err(err(format!(
                            "PRAGMA synchronous: expected OFF, NORMAL, FULL or EXTRA (0 to 3), found '{v}'"
                        )))
                    }
                };
                Ok(self.empty_rows())
            }
            // Tessera does not enforce foreign keys: OFF (what SQLite's `.dump` output starts
            // with) is the truth and accepted; ON is refused rather than ignored.
            "foreign_keys" => match value.map(lower).as_deref() {
                None => Ok(self.setting_row("foreign_keys", 0)),
                Some("0" | "off" | "false" | "no") => Ok(self.empty_rows()),
                Some(_) => Err(err("PRAGMA foreign_keys: foreign key enforcement is not supported")),
            },
            _ => Err(err(format!("unsupported pragma: {name} (Tessera has: synchronous, foreign_keys)"))),
        }
    }

    /// The one-row, one-column result of reading a pragma.
    fn setting_row(&self, name: &str, value: i64) -> Cursor {
        let mut rows = self.empty_rows();
        rows.buffered = Some(vec![vec![Value::Integer(value)]].into_iter());
        rows.columns = Arc::from([String::from(name)]);
        rows
    }

    fn empty_rows(&self) -> Cursor {
        Cursor {
            snapshot: None,
            epoch: self.epoch,
            op: None,
            buffered: None,
            params: Vec::new(),
            outer: Vec::new(),
            subs: Vec::new(),
            columns: self.no_columns.clone(),
        }
    }

    fn write_statement(
        &mut self,
        stmt: &Prepared,
        mut params: Vec<Value>,
        undo: &mut Undo,
    ) -> Result<(WriteResult, Vec<String>)> {
        let txn = self.txn.take().ok_or_else(|| err("no transaction"))?;
        let mut rec = core::mem::take(&mut self.rec);
        let r = (|| {
            // Inside a write transaction only this connection changes the schema (and keeps
            // `self.schema` in step), so one check per transaction is enough.
            if !(self.loaded && self.checked_write) {
                Self::refresh_schema(
                    &mut self.schema,
                    &mut self.loaded,
                    &mut self.schema_work,
                    (!self.checked_write).then_some(&mut self.stored_generation),
                    &txn,
                )?;
                self.checked_write = true;
            }
            let compiled = Self::compiled(&self.schema, stmt, &txn)?;
            // A one-row INSERT of parameters takes its values instead of copying them.
            let row = match &*compiled {
                Compiled::Insert(p, _) => p.take_param_row(&mut params),
                _ => None,
            };
            let mut env = Env { txn: &txn, params: &params, work: &self.work, outer: Vec::new(), subs: Vec::new() };
            let mut w = Writer { txn: &txn, undo, rec: &mut rec };
            match &*compiled {
                Compiled::Insert(p, cols) => Ok((write::insert(p, &mut w, &mut env, row)?, cols.clone())),
                Compiled::Update(p, cols) => Ok((write::update(p, &mut w, &mut env)?, cols.clone())),
                Compiled::Delete(p, cols) => Ok((write::delete(p, &mut w, &mut env)?, cols.clone())),
                Compiled::Direct => {
                    // The cached schema is changed in place (the connection holds the only
                    // reference: nothing is copied). A statement that fails halfway leaves it
                    // stale, and `finish_write` marks it for reloading.
                    let schema = match Arc::get_mut(&mut self.schema) {
                        Some(s) => s,
                        None => {
                            self.schema_work.copied += objects_in(&self.schema);
                            Arc::make_mut(&mut self.schema)
                        }
                    };
                    ddl(schema, &txn, &stmt.parsed().stmt, stmt.sql(), &mut w)?;
                    // DDL leaves changes() as it was, as in SQLite.
                    Ok((WriteResult { changes: self.changes, ..WriteResult::default() }, Vec::new()))
                }
                _ => Err(err("not a write statement")),
            }
        })();
        self.txn = Some(txn);
        self.rec = rec;
        r
    }
}

impl Rows<'_> {
    /// Result column names.
    pub fn columns(&self) -> &[String] {
        &self.cursor.columns
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Row>;
    fn next(&mut self) -> Option<Self::Item> {
        self.cursor.next_row(self.conn)
    }
}

impl Cursor {
    /// Result column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Whether every row has been returned (or an error ended the statement).
    pub fn is_done(&self) -> bool {
        self.op.is_none() && self.buffered.as_ref().is_none_or(|b| b.len() == 0)
    }

    /// The next row with its column names, read through `conn` (see [`Cursor::next`]).
    pub fn next_row(&mut self, conn: &Connection) -> Option<Result<Row>> {
        Some(self.next(conn)?.map(|values| Row::new(self.columns.clone(), values)))
    }

    /// The next row, read through `conn` — the connection that started this cursor.
    #[allow(clippy::should_implement_trait)] // an Iterator cannot borrow `conn` per call
    pub fn next(&mut self, conn: &Connection) -> Option<Result<Vec<Value>>> {
        if let Some(b) = &mut self.buffered {
            return b.next().map(Ok);
        }
        let op = self.op.as_mut()?;
        let txn = match (&self.snapshot, &conn.txn) {
            (Some(s), _) => s,
            (None, Some(t)) if conn.epoch == self.epoch => t,
            (None, _) => {
                self.op = None;
                return Some(Err(err(
                    "the query was interrupted: another statement ran on the connection (or its transaction ended) while its rows were being read",
                )));
            }
        };
        let mut env = Env {
            txn,
            params: &self.params,
            work: &conn.work,
            outer: core::mem::take(&mut self.outer),
            subs: core::mem::take(&mut self.subs),
        };
        let r = op.next(&mut env);
        self.outer = env.outer;
        self.subs = env.subs;
        match r {
            Ok(Some(row)) => Some(Ok(row)),
            Ok(None) => {
                self.op = None;
                None
            }
            Err(e) => {
                self.op = None;
                Some(Err(e))
            }
        }
    }
}
