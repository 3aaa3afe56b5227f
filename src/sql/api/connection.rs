//! [`Connection`]: a SQL session over a [`Database`] — statement dispatch, DDL, autocommit
//! and explicit transactions, statement-level rollback, prepared statements and the plan
//! cache.
//!
//! Outside `BEGIN ... COMMIT` every statement is its own transaction: a query reads a fresh
//! snapshot, a write statement runs in a write transaction committed (durably) at its end.
//! `PRAGMA synchronous` chooses whether a commit waits for the device sync (FULL, the
//! default) or only writes its log frame (NORMAL; see [`Durability`]).
//! Inside an explicit transaction all statements share one write transaction; a statement
//! that fails is undone on its own from its undo log, so the transaction is left as it was
//! before that statement. Plans are cached per statement and re-made when the schema
//! generation changes.
//!
//! The typed layer on top lives beside it: parameters in `params`, rows and the query
//! shortcuts in `row`, the transaction guard in `transaction`, serde in `serde`.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::error::{Error, Result};
use crate::sql::api::params::Params;
use crate::sql::api::row::Row;
use crate::sql::catalog::{self, lower, IndexDef, Schema, TableDef, ViewDef};
use crate::sql::exec::eval::{Env, SubResult};
use crate::sql::exec::write::{self, DeletePlan, InsertPlan, RowRules, UpdatePlan, WriteResult};
use crate::sql::exec::{self, Op};
use crate::sql::parser::ast::{
    self, AlterAction, ConflictAction, InsertSource, Query, ResultColumn, SetExpr, Statement,
};
use crate::sql::parser::{ParsedStatement, Parser};
use crate::sql::planner::expr::CExpr;
use crate::sql::planner::Plan;
use crate::sql::planner::{expr_sql, Frame, Planner};
use crate::sql::storage::{Txn, Undo, Writer};
use crate::sql::types::value::Tuple;
use crate::sql::types::value::Value;
use crate::{Database, Durability};

/// A compiled statement.
enum Compiled {
    Query {
        plan: Arc<Plan>,
        columns: Arc<[String]>,
    },
    Insert(InsertPlan, Vec<String>),
    Update(UpdatePlan, Vec<String>),
    Delete(DeletePlan, Vec<String>),
    /// Executed from the AST each time (DDL, transaction control).
    Direct,
    Explain(Vec<String>),
}

struct CachedPlan {
    generation: u64,
    compiled: Arc<Compiled>,
}

/// A prepared statement: parsed once, planned on first use and re-planned only when the
/// schema changes.
pub struct Prepared {
    parsed: ParsedStatement,
    text: String,
    plan: RefCell<Option<CachedPlan>>,
}

impl Prepared {
    /// Number of parameters.
    pub fn parameter_count(&self) -> usize {
        self.parsed.param_names.len()
    }

    /// Parameter names by index (`None` for positional ones).
    pub fn parameter_names(&self) -> &[Option<String>] {
        &self.parsed.param_names
    }

    /// The statement's SQL text.
    pub fn sql(&self) -> &str {
        &self.text
    }

    /// Whether the statement changes no rows (a query, EXPLAIN or PRAGMA).
    pub fn is_query(&self) -> bool {
        matches!(self.parsed.stmt, Statement::Query(_) | Statement::Explain(_) | Statement::Pragma { .. })
    }

    /// The parsed statement (for callers that need its kind, e.g. the JS bindings).
    pub fn statement(&self) -> &Statement {
        &self.parsed.stmt
    }
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
    /// commits are [`Durability::None`].
    synchronous: u8,
    /// Schema objects this connection loaded or copied (see [`Connection::schema_work`]).
    schema_work: SchemaWork,
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
/// iterator of [`Row`](crate::sql::Row)s (each a `Result`: reading can fail midway).
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
    op: Option<Box<dyn Op>>,
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
        let mut parser = Parser::new(sql);
        let prepared = |ps: ParsedStatement| {
            let text = sql.get(ps.span.clone()).unwrap_or_default().to_string();
            Prepared { parsed: ps, text, plan: RefCell::new(None) }
        };
        let mut changed = 0;
        if bindings.checks_unused() {
            // Every name given must be used somewhere in the script: parse it all first so
            // that a wrong name stops it before anything runs.
            let mut all = Vec::new();
            while let Some(ps) = parser.next_statement()? {
                all.push(prepared(ps));
            }
            bindings.check_used(all.iter().flat_map(|p| p.parsed.param_names.iter().flatten().map(String::as_str)))?;
            for p in &all {
                let values = bindings.resolve(&p.parsed.param_names, false)?;
                changed = self.execute_values(p, values)?;
            }
            return Ok(changed);
        }
        while let Some(ps) = parser.next_statement()? {
            let p = prepared(ps);
            let values = bindings.resolve(&p.parsed.param_names, false)?;
            changed = self.execute_values(&p, values)?;
        }
        Ok(changed)
    }

    /// Run one statement and stream its rows (write statements run to completion first and
    /// stream their RETURNING rows). See [`Row`](crate::sql::Row) for reading them, and
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
    pub fn prepare(&mut self, sql: &str) -> Result<Prepared> {
        let mut parser = Parser::new(sql);
        let ps = parser.next_statement()?.ok_or_else(|| err("empty statement"))?;
        if parser.next_statement()?.is_some() {
            return Err(err("prepare takes one statement; use execute for several"));
        }
        let text = sql.get(ps.span.clone()).unwrap_or_default().to_string();
        Ok(Prepared { parsed: ps, text, plan: RefCell::new(None) })
    }

    /// Run a prepared statement; returns the number of rows changed.
    pub fn execute_prepared(&mut self, stmt: &Prepared, params: impl Params) -> Result<u64> {
        let values = params.into_bindings()?.into_values(&stmt.parsed.param_names)?;
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
        let values = params.into_bindings()?.into_values(&stmt.parsed.param_names)?;
        self.epoch += 1;
        self.run_ref(stmt, values)
    }

    /// Make sure the cached schema matches the transaction's view.
    fn refresh_schema(schema: &mut Arc<Schema>, loaded: &mut bool, work: &mut SchemaWork, txn: &Txn) -> Result<()> {
        let g = Schema::read_generation(txn)?;
        if !*loaded || g != schema.generation {
            *schema = Arc::new(Schema::load(txn)?);
            work.loaded += objects_in(schema);
            *loaded = true;
        }
        Ok(())
    }

    /// What the connection spent on its cached schema so far (not part of the API).
    #[doc(hidden)]
    pub fn schema_work(&self) -> SchemaWork {
        self.schema_work
    }

    fn compiled(schema: &Schema, stmt: &Prepared, txn: &Txn) -> Result<Arc<Compiled>> {
        if let Some(c) = &*stmt.plan.borrow() {
            if c.generation == schema.generation {
                return Ok(c.compiled.clone());
            }
        }
        let c = Arc::new(compile(schema, txn, &stmt.parsed.stmt)?);
        *stmt.plan.borrow_mut() = Some(CachedPlan { generation: schema.generation, compiled: c.clone() });
        Ok(c)
    }

    /// Run `stmt` with its parameter values (already matched to its parameters).
    fn run_ref(&mut self, stmt: &Prepared, params: Vec<Value>) -> Result<Cursor> {
        match &stmt.parsed.stmt {
            Statement::Begin => {
                if self.txn.is_some() {
                    return Err(err("cannot start a transaction within a transaction"));
                }
                self.txn = Some(Txn::Write(self.begin_write()?));
                self.checked_write = false;
                return Ok(self.empty_rows());
            }
            Statement::Commit => {
                let t = self.txn.take().ok_or_else(|| err("cannot commit - no transaction is active"))?;
                if let Txn::Write(w) = t {
                    w.commit()?;
                }
                return Ok(self.empty_rows());
            }
            Statement::Rollback => {
                let t = self.txn.take().ok_or_else(|| err("cannot rollback - no transaction is active"))?;
                drop(t);
                self.loaded = false;
                return Ok(self.empty_rows());
            }
            Statement::Pragma { name, value } => return self.pragma(name, value.as_deref()),
            _ => {}
        }
        if stmt.is_query() {
            // Reads: the open transaction, or a fresh snapshot.
            let snapshot = match &self.txn {
                Some(_) => None,
                None => Some(Txn::read(self.db.begin_read()?)),
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
                Self::refresh_schema(&mut self.schema, &mut self.loaded, &mut self.schema_work, txn_ref)?;
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
                    let rows: Vec<Tuple> = lines.iter().map(|l| vec![Value::Text(l.clone())]).collect();
                    let mut r = self.empty_rows();
                    r.buffered = Some(rows.into_iter());
                    r.columns = Arc::from([String::from("detail")]);
                    Ok(r)
                }
                _ => Err(err("not a query")),
            };
        }
        // Writes.
        let autocommit = self.txn.is_none();
        if autocommit {
            self.txn = Some(Txn::Write(self.begin_write()?));
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
            Ok((res, columns)) => {
                if autocommit {
                    if let Some(Txn::Write(w)) = self.txn.take() {
                        w.commit()?;
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
                        self.loaded = false;
                        return Err(u);
                    }
                }
                self.loaded = false;
                Err(e)
            }
        }
    }

    /// A write transaction committing as `PRAGMA synchronous` says.
    fn begin_write(&self) -> Result<crate::WriteTransaction> {
        let mut w = self.db.begin_write()?;
        if self.synchronous <= 1 {
            w.set_durability(Durability::None);
        }
        Ok(w)
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
                Self::refresh_schema(&mut self.schema, &mut self.loaded, &mut self.schema_work, &txn)?;
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
                    ddl(schema, &txn, &stmt.parsed.stmt, &stmt.text, &mut w)?;
                    Ok((WriteResult::default(), Vec::new()))
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

// -------------------------------------------------------------------------------------------
// Compilation

fn compile(schema: &Schema, txn: &Txn, stmt: &Statement) -> Result<Compiled> {
    let mut p = Planner::new(schema, txn);
    Ok(match stmt {
        Statement::Query(q) => {
            let (plan, outs) = p.plan_query(q, &[])?;
            Compiled::Query { plan, columns: outs.into_iter().map(|o| o.name).collect::<Vec<_>>().into() }
        }
        Statement::Explain(inner) => {
            let mut lines = Vec::new();
            match &**inner {
                Statement::Query(q) => {
                    let (plan, _) = p.plan_query(q, &[])?;
                    crate::sql::planner::explain::explain(&plan, 0, &mut lines);
                }
                other => match compile(schema, txn, other)? {
                    Compiled::Insert(ip, _) => {
                        lines.push(format!("INSERT INTO {}", ip.table.name));
                        crate::sql::planner::explain::explain(&ip.source, 1, &mut lines);
                    }
                    Compiled::Update(up, _) => {
                        lines.push(format!("UPDATE {}", up.table.name));
                        crate::sql::planner::explain::explain(&up.scan, 1, &mut lines);
                    }
                    Compiled::Delete(dp, _) => {
                        lines.push(format!("DELETE FROM {}", dp.table.name));
                        crate::sql::planner::explain::explain(&dp.scan, 1, &mut lines);
                    }
                    _ => lines.push("EXECUTE STATEMENT".into()),
                },
            }
            Compiled::Explain(lines)
        }
        Statement::Insert(ins) => {
            if !ins.with.is_empty() {
                return Err(err("WITH before INSERT is not supported"));
            }
            let t = writable(schema, &ins.table)?;
            let targets: Vec<usize> = if ins.columns.is_empty() {
                (0..t.columns.len()).collect()
            } else {
                ins.columns
                    .iter()
                    .map(|c| t.column(c).ok_or_else(|| err(format!("table {} has no column named {c}", t.name))))
                    .collect::<Result<_>>()?
            };
            let source = match &ins.source {
                InsertSource::Values(rows) => {
                    for r in rows {
                        if r.len() != targets.len() {
                            return Err(if ins.columns.is_empty() {
                                err(format!(
                                    "table {} has {} columns but {} values were supplied",
                                    t.name,
                                    t.columns.len(),
                                    r.len()
                                ))
                            } else {
                                err(format!("{} values for {} columns", r.len(), targets.len()))
                            });
                        }
                    }
                    let q = Query {
                        with: Vec::new(),
                        body: SetExpr::Values(rows.clone()),
                        order_by: Vec::new(),
                        limit: None,
                        offset: None,
                    };
                    p.plan_query(&q, &[])?.0
                }
                InsertSource::Query(q) => {
                    let (plan, outs) = p.plan_query(q, &[])?;
                    if outs.len() != targets.len() {
                        return Err(err(format!(
                            "table {} has {} columns but {} values were supplied",
                            t.name,
                            targets.len(),
                            outs.len()
                        )));
                    }
                    plan
                }
                InsertSource::DefaultValues => {
                    if !ins.columns.is_empty() {
                        return Err(err("DEFAULT VALUES takes no column list"));
                    }
                    Arc::new(Plan::One)
                }
            };
            let targets = if matches!(ins.source, InsertSource::DefaultValues) { Vec::new() } else { targets };
            let rules = row_rules(&mut p, &t)?;
            let upsert = match &ins.upsert {
                None => None,
                Some(u) => {
                    let target: Vec<usize> = u
                        .target
                        .iter()
                        .map(|c| t.column(c).ok_or_else(|| err(format!("no such column: {c}"))))
                        .collect::<Result<_>>()?;
                    let action = match &u.update {
                        None => None,
                        Some(up) => {
                            let mut frame = Frame::default();
                            frame.cols.extend(Frame::of_table(&t, &lower(&t.name)).cols);
                            frame.cols.extend(Frame::of_table(&t, "excluded").cols);
                            let frames = vec![frame];
                            let mut sets = Vec::new();
                            for a in &up.sets {
                                let c =
                                    t.column(&a.column).ok_or_else(|| err(format!("no such column: {}", a.column)))?;
                                sets.push((c, p.compile_expr(&a.value, &frames)?));
                            }
                            let where_ = match &up.where_ {
                                Some(w) => Some(p.compile_expr(w, &frames)?),
                                None => None,
                            };
                            Some(write::UpsertPlan { sets, where_ })
                        }
                    };
                    Some((target, action))
                }
            };
            let (returning, cols) = returning(&mut p, &t, &ins.returning)?;
            Compiled::Insert(
                InsertPlan {
                    table: t,
                    source,
                    targets,
                    or: ins.or.unwrap_or(ConflictAction::Abort),
                    upsert,
                    rules,
                    returning,
                },
                cols,
            )
        }
        Statement::Update(up) => {
            if !up.with.is_empty() {
                return Err(err("WITH before UPDATE is not supported"));
            }
            let t = writable(schema, &up.table)?;
            let alias = lower(up.alias.as_deref().unwrap_or(&up.table));
            let scan = table_scan(&mut p, &t, &up.table, up.alias.as_deref(), up.where_.as_ref())?;
            let frames = vec![Frame::of_table(&t, &alias)];
            let mut sets = Vec::new();
            for a in &up.sets {
                let c = t.column(&a.column).ok_or_else(|| err(format!("no such column: {}", a.column)))?;
                sets.push((c, p.compile_expr(&a.value, &frames)?));
            }
            let rules = row_rules(&mut p, &t)?;
            let (returning, cols) = returning(&mut p, &t, &up.returning)?;
            Compiled::Update(
                UpdatePlan { table: t, scan, sets, or: up.or.unwrap_or(ConflictAction::Abort), rules, returning },
                cols,
            )
        }
        Statement::Delete(d) => {
            if !d.with.is_empty() {
                return Err(err("WITH before DELETE is not supported"));
            }
            let t = writable(schema, &d.table)?;
            let scan = table_scan(&mut p, &t, &d.table, d.alias.as_deref(), d.where_.as_ref())?;
            let (returning, cols) = returning(&mut p, &t, &d.returning)?;
            Compiled::Delete(DeletePlan { table: t, scan, returning }, cols)
        }
        _ => Compiled::Direct,
    })
}

fn writable(schema: &Schema, name: &str) -> Result<Arc<TableDef>> {
    if schema.views.contains_key(&lower(name)) {
        return Err(err(format!("cannot modify {name} because it is a view")));
    }
    Ok(schema.table(name)?.clone())
}

/// Rows of `t` matching `where_`, in the table's row layout (columns + rowid).
fn table_scan(
    p: &mut Planner,
    t: &Arc<TableDef>,
    name: &str,
    alias: Option<&str>,
    where_: Option<&ast::Expr>,
) -> Result<Arc<Plan>> {
    // Plan `SELECT <all columns and rowid> FROM t WHERE ...` and take its join/filter part:
    // simplest is to plan the select and project the table's row layout.
    let alias_l = lower(alias.unwrap_or(name));
    let mut cols: Vec<ResultColumn> = t
        .columns
        .iter()
        .map(|c| ResultColumn::Expr {
            expr: ast::Expr::Column { table: Some(alias_l.clone()), name: c.name.clone() },
            alias: None,
        })
        .collect();
    if t.has_rowid() {
        cols.push(ResultColumn::Expr {
            expr: ast::Expr::Column { table: Some(alias_l.clone()), name: "rowid".into() },
            alias: None,
        });
    }
    let sel = ast::Select {
        distinct: false,
        columns: cols,
        from: Some(ast::FromItem::Table { name: name.into(), alias: alias.map(Into::into) }),
        where_: where_.cloned(),
        group_by: Vec::new(),
        having: None,
    };
    let q = Query {
        with: Vec::new(),
        body: SetExpr::Select(Box::new(sel)),
        order_by: Vec::new(),
        limit: None,
        offset: None,
    };
    Ok(p.plan_query(&q, &[])?.0)
}

fn row_rules(p: &mut Planner, t: &TableDef) -> Result<RowRules> {
    let frames = vec![Frame::of_table(t, &lower(&t.name))];
    let mut checks = Vec::new();
    for c in &t.checks {
        checks.push((p.compile_expr(c, &frames)?, expr_sql(c)));
    }
    let mut defaults = Vec::new();
    for c in &t.columns {
        defaults.push(match &c.default {
            Some(d) => Some(p.compile_expr(d, &[Frame::default()])?),
            None => None,
        });
    }
    Ok(RowRules { checks, defaults })
}

fn returning(p: &mut Planner, t: &TableDef, cols: &[ResultColumn]) -> Result<(Vec<CExpr>, Vec<String>)> {
    let frames = vec![Frame::of_table(t, &lower(&t.name))];
    let mut exprs = Vec::new();
    let mut names = Vec::new();
    for rc in cols {
        match rc {
            ResultColumn::Star | ResultColumn::TableStar(_) => {
                for (i, c) in t.columns.iter().enumerate() {
                    exprs.push(CExpr::Col { depth: 0, idx: i as u32 });
                    names.push(c.name.clone());
                }
            }
            ResultColumn::Expr { expr, alias } => {
                exprs.push(p.compile_expr(expr, &frames)?);
                names.push(alias.clone().unwrap_or_else(|| crate::sql::planner::expr_name(expr)));
            }
        }
    }
    Ok((exprs, names))
}

// -------------------------------------------------------------------------------------------
// DDL

fn reserved(name: &str) -> Result<()> {
    // Compare bytes: slicing the `str` at 7 would panic inside a multi-byte character.
    let prefix = b"sqlite_";
    if name.as_bytes().get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix)) {
        return Err(err(format!("object name reserved for internal use: {name}")));
    }
    Ok(())
}

fn ddl(schema: &mut Schema, txn: &Txn, stmt: &Statement, text: &str, w: &mut Writer) -> Result<()> {
    match stmt {
        Statement::CreateTable(ct) => {
            if schema.name_taken(&ct.name) {
                if ct.if_not_exists && schema.tables.contains_key(&lower(&ct.name)) {
                    return Ok(());
                }
                return Err(err(format!("table {} already exists", ct.name)));
            }
            reserved(&ct.name)?;
            let (ct, rows) = match &ct.as_query {
                None => ((**ct).clone(), None),
                Some(q) => {
                    let mut p = Planner::new(schema, txn);
                    let (plan, outs) = p.plan_query(q, &[])?;
                    let work = crate::sql::exec::spill::WorkMem::default();
                    let mut env = Env { txn, params: &[], work: &work, outer: Vec::new(), subs: Vec::new() };
                    let mut op = exec::open(&plan);
                    let mut rows = Vec::new();
                    while let Some(r) = op.next(&mut env)? {
                        rows.push(r);
                    }
                    let columns = outs
                        .iter()
                        .map(|o| ast::ColumnDef {
                            name: o.name.clone(),
                            type_name: o.aff.map(|a| {
                                match a {
                                    crate::sql::types::value::Affinity::Integer => "INT",
                                    crate::sql::types::value::Affinity::Real => "REAL",
                                    crate::sql::types::value::Affinity::Text => "TEXT",
                                    crate::sql::types::value::Affinity::Numeric => "NUM",
                                    crate::sql::types::value::Affinity::Blob => "",
                                }
                                .to_string()
                            }),
                            constraints: Vec::new(),
                        })
                        .collect();
                    let mut c = (**ct).clone();
                    c.columns = columns;
                    c.as_query = None;
                    (c, Some(rows))
                }
            };
            let (_, needed) = catalog::build_table(&ct, &ct.name, 0, Vec::new())?;
            let ids = schema.bump(w, 1 + needed)?;
            let (mut def, _) = catalog::build_table(&ct, &ct.name, ids[0], ids[1..].to_vec())?;
            def.sql = vec![if rows.is_some() { create_text(&def) } else { text.to_string() }];
            w.create_table(&def.storage)?;
            for ix in &def.indexes {
                w.create_table(&ix.storage)?;
            }
            catalog::save_table(w, &def)?;
            let def = Arc::new(def);
            for ix in &def.indexes {
                schema.index_owner.insert(lower(&ix.name), lower(&def.name));
            }
            schema.tables.insert(lower(&def.name), def.clone());
            if let Some(rows) = rows {
                let t = def.clone();
                let p = InsertPlan {
                    table: t.clone(),
                    source: Arc::new(Plan::Rows(rows)),
                    targets: (0..t.columns.len()).collect(),
                    or: ConflictAction::Abort,
                    upsert: None,
                    rules: RowRules { checks: Vec::new(), defaults: (0..t.columns.len()).map(|_| None).collect() },
                    returning: Vec::new(),
                };
                let work = crate::sql::exec::spill::WorkMem::default();
                let mut env = Env { txn, params: &[], work: &work, outer: Vec::new(), subs: Vec::new() };
                write::insert(&p, w, &mut env, None)?;
            }
            Ok(())
        }
        Statement::DropTable { name, if_exists } => {
            let key = lower(name);
            let Some(t) = schema.tables.get(&key).cloned() else {
                if schema.views.contains_key(&key) {
                    return Err(err(format!("use DROP VIEW to delete view {name}")));
                }
                if *if_exists {
                    return Ok(());
                }
                return Err(err(format!("no such table: {name}")));
            };
            schema.bump(w, 0)?;
            catalog::remove_object(w, &t.name)?;
            for ix in &t.indexes {
                if ix.sql.is_some() {
                    catalog::remove_object(w, &ix.name)?;
                }
                schema.index_owner.remove(&lower(&ix.name));
                txn.writer()?.delete_table_internal(&ix.storage)?;
            }
            txn.writer()?.delete_table_internal(&t.storage)?;
            schema.tables.remove(&key);
            Ok(())
        }
        Statement::CreateIndex(ci) => {
            if schema.name_taken(&ci.name) {
                if ci.if_not_exists && schema.index_owner.contains_key(&lower(&ci.name)) {
                    return Ok(());
                }
                return Err(err(format!("index {} already exists", ci.name)));
            }
            reserved(&ci.name)?;
            if ci.where_.is_some() {
                return Err(err("partial indexes are not supported"));
            }
            let t = writable(schema, &ci.table)?;
            let columns: Vec<(usize, bool)> = ci
                .columns
                .iter()
                .map(|c| Ok((t.column(&c.name).ok_or_else(|| err(format!("no such column: {}", c.name)))?, c.desc)))
                .collect::<Result<_>>()?;
            let ids = schema.bump(w, 1)?;
            let ix = IndexDef {
                name: ci.name.clone(),
                table: t.name.clone(),
                columns,
                unique: ci.unique,
                storage: catalog::storage_for(ids[0]),
                sql: Some(text.to_string()),
            };
            w.create_table(&ix.storage)?;
            write::build_index(txn, &t, &ix)?;
            catalog::save_index(w, &ix)?;
            let mut nt = (*t).clone();
            nt.indexes.push(Arc::new(ix));
            schema.index_owner.insert(lower(&ci.name), lower(&t.name));
            schema.tables.insert(lower(&t.name), Arc::new(nt));
            Ok(())
        }
        Statement::DropIndex { name, if_exists } => {
            let key = lower(name);
            let Some(owner) = schema.index_owner.get(&key).cloned() else {
                if *if_exists {
                    return Ok(());
                }
                return Err(err(format!("no such index: {name}")));
            };
            let t = schema.table(&owner)?.clone();
            let ix = t
                .indexes
                .iter()
                .find(|i| lower(&i.name) == key)
                .cloned()
                .ok_or_else(|| err(format!("no such index: {name}")))?;
            if ix.sql.is_none() {
                return Err(err(format!(
                    "index associated with UNIQUE or PRIMARY KEY constraint cannot be dropped: {name}"
                )));
            }
            schema.bump(w, 0)?;
            catalog::remove_object(w, &ix.name)?;
            txn.writer()?.delete_table_internal(&ix.storage)?;
            let mut nt = (*t).clone();
            nt.indexes.retain(|i| lower(&i.name) != key);
            schema.tables.insert(owner, Arc::new(nt));
            schema.index_owner.remove(&key);
            Ok(())
        }
        Statement::CreateView(cv) => {
            if schema.name_taken(&cv.name) {
                if cv.if_not_exists && schema.views.contains_key(&lower(&cv.name)) {
                    return Ok(());
                }
                return Err(err(format!("view {} already exists", cv.name)));
            }
            reserved(&cv.name)?;
            // Validate now, as SQLite does.
            let mut p = Planner::new(schema, txn);
            let (_, outs) = p.plan_query(&cv.query, &[])?;
            if !cv.columns.is_empty() && cv.columns.len() != outs.len() {
                return Err(err(format!(
                    "expected {} columns for '{}' but got {}",
                    cv.columns.len(),
                    cv.name,
                    outs.len()
                )));
            }
            let v = ViewDef {
                name: cv.name.clone(),
                columns: cv.columns.clone(),
                query: (*cv.query).clone(),
                sql: text.to_string(),
            };
            schema.bump(w, 0)?;
            catalog::save_view(w, &v)?;
            schema.views.insert(lower(&cv.name), Arc::new(v));
            Ok(())
        }
        Statement::DropView { name, if_exists } => {
            let key = lower(name);
            if !schema.views.contains_key(&key) {
                if schema.tables.contains_key(&key) {
                    return Err(err(format!("use DROP TABLE to delete table {name}")));
                }
                if *if_exists {
                    return Ok(());
                }
                return Err(err(format!("no such view: {name}")));
            }
            schema.bump(w, 0)?;
            catalog::remove_object(w, name)?;
            schema.views.remove(&key);
            Ok(())
        }
        Statement::AlterTable { table, action } => {
            let t = writable(schema, table)?;
            let mut nt = (*t).clone();
            match action {
                AlterAction::RenameTable(new) => {
                    if schema.name_taken(new) && !new.eq_ignore_ascii_case(table) {
                        return Err(err(format!("there is already another table or index with this name: {new}")));
                    }
                    reserved(new)?;
                    schema.bump(w, 0)?;
                    catalog::remove_object(w, &t.name)?;
                    nt.name = new.clone();
                    let mut idx = Vec::new();
                    for ix in &nt.indexes {
                        let mut i = (**ix).clone();
                        i.table = new.clone();
                        if i.sql.is_some() {
                            catalog::save_index(w, &i)?;
                        }
                        schema.index_owner.insert(lower(&i.name), lower(new));
                        idx.push(Arc::new(i));
                    }
                    nt.indexes = idx;
                    catalog::save_table(w, &nt)?;
                    schema.tables.remove(&lower(&t.name));
                    schema.tables.insert(lower(new), Arc::new(nt));
                    return Ok(());
                }
                AlterAction::DropColumn(c) => {
                    let i = t.column(c).ok_or_else(|| err(format!("no such column: \"{c}\"")))?;
                    catalog::apply_alter(&mut nt, action)?;
                    write::rewrite_rows(w, &t, &|row: &mut Tuple| {
                        row.remove(i);
                    })?;
                    for ix in &nt.indexes {
                        if ix.sql.is_some() {
                            catalog::save_index(w, ix)?;
                        }
                    }
                }
                AlterAction::AddColumn(_) | AlterAction::RenameColumn { .. } => catalog::apply_alter(&mut nt, action)?,
            }
            schema.bump(w, 0)?;
            nt.sql.push(text.to_string());
            catalog::save_table(w, &nt)?;
            schema.tables.insert(lower(&t.name), Arc::new(nt));
            Ok(())
        }
        Statement::Reindex(name) => {
            if let Some(n) = name {
                let k = lower(n);
                if !schema.tables.contains_key(&k) && !schema.index_owner.contains_key(&k) {
                    return Err(err(format!("unable to identify the object to be reindexed: {n}")));
                }
            }
            Ok(())
        }
        _ => Err(err("unsupported statement")),
    }
}

/// `CREATE TABLE` text for a table made by `CREATE TABLE ... AS SELECT`.
fn create_text(t: &TableDef) -> String {
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| match &c.type_name {
            Some(ty) if !ty.is_empty() => format!("\"{}\" {ty}", c.name.replace('"', "\"\"")),
            _ => format!("\"{}\"", c.name.replace('"', "\"\"")),
        })
        .collect();
    format!("CREATE TABLE \"{}\"({})", t.name.replace('"', "\"\""), cols.join(", "))
}
