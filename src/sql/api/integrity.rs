//! The SQL-level integrity check behind [`Connection::check`]: what the engine's page check
//! (`Database::check`) cannot see, because every page and tree can be valid while the SQL
//! layer's data is not.
//!
//! Verified, on a read snapshot of the last commit:
//! - **Schema.** Every entry of `sql:schema` decodes: the `meta` record (generation, next
//!   storage id, SQL storage format), and every `obj:<name>` record, stored under its own
//!   name; every stored `CREATE` / `ALTER` text parses and replays (a table's texts are one
//!   `CREATE TABLE` then only `ALTER TABLE`s; a table has one automatic index per UNIQUE
//!   constraint; an index names columns its table has); the whole schema loads as statements
//!   load it.
//! - **Storage.** Every table's and index's engine table exists, no two objects share one,
//!   every storage id is below the next id, and (when every record decoded) no `sql:<id>`
//!   table is left that no object owns.
//! - **Rows.** Every row record decodes to no more columns than the table has and re-encodes
//!   to the same bytes; its key is a canonical rowid key (and equals the INTEGER PRIMARY KEY
//!   column) or, WITHOUT ROWID, exactly the key encoding of its primary-key columns; NOT NULL
//!   columns are not NULL.
//! - **Indexes.** Every index holds exactly one entry per row, with the key recomputed from
//!   the row, and nothing else: the expected keys (one per row and index, made while the rows
//!   are scanned) are sorted and compared with the index's entries as two sorted streams, so a
//!   missing entry and an entry that matches no row are both reported, naming the row. Entries
//!   decode, carry a valid row key and an empty value. UNIQUE indexes hold no two entries with
//!   equal values in the indexed columns, by the rule inserts use (the key-encoded values
//!   compare equal, so 1 and 1.0 collide; an entry with a NULL never conflicts).
//!
//! **Memory** is bounded by the connection's work memory ([`Connection::set_work_memory`]):
//! rows are read in batches, and the expected index keys go through the external sorter of
//! `spill`, which spills sorted runs to a temporary database past its share of the budget (the
//! budget split between the table's indexes) and merges them back as a stream. So a table of
//! any size is checked in one pass over its rows plus one pass over each index, at the cost of
//! temporary disk space about the size of its indexes when they do not fit in memory. The
//! check keeps the schema itself in memory (as every statement does), and at most
//! `MAX_BAD_ROWS` keys of undecodable rows per table, so that index entries pointing at them
//! are not reported a second time.
//!
//! Problems are collected, up to `MAX_PROBLEMS` listed; the check returns an error only when
//! it cannot go on (an I/O error, a failing temporary database). Engine-level corruption met
//! while reading a table is reported as a problem of that table.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Bound;

use crate::error::{Error, Result};
use crate::sql::api::connection::Connection;
use crate::sql::catalog::{self, decode_record, lower, IndexDef, PrimaryKey, Schema, SchemaRecord, TableDef};
use crate::sql::exec::spill::{key_body, Sorter, WorkMem};
use crate::sql::exec::write::{index_key, row_key};
use crate::sql::exec::{decode_table_row, index_row_key};
use crate::sql::parser::ast::Statement;
use crate::sql::storage::Txn;
use crate::sql::types::encoding::{decode_key, decode_row, decode_rowid, encode_row, rowid_key};
use crate::sql::types::value::Tuple;
use crate::sql::types::value::{format_real, Value};

/// What [`Connection::check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlCheckReport {
    /// Whether the database has an SQL schema (the engine table `sql:schema`). Without one
    /// there is nothing to check and the counts are zero (a problem is still reported if the
    /// engine's list of tables cannot be read).
    pub has_schema: bool,
    /// Tables whose schema records decoded.
    pub tables: u64,
    /// Indexes (automatic ones included) whose schema records decoded.
    pub indexes: u64,
    /// Views.
    pub views: u64,
    /// Rows read.
    pub rows: u64,
    /// Index entries read.
    pub index_entries: u64,
    /// Problems found, one line each, naming the table, index or schema record (at most 100,
    /// then a line counting the rest).
    pub problems: Vec<String>,
}

impl SqlCheckReport {
    /// Whether no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

const MAX_PROBLEMS: usize = 100;
/// Undecodable rows remembered per table (their index entries are then not reported).
const MAX_BAD_ROWS: usize = 10_000;
/// Entries read from the engine per call.
const BATCH: usize = 256;

impl Connection {
    /// Check the SQL layer's data in the last commit: the schema records and their SQL, the
    /// storage tables, every row, and every index entry against the rows (see the module
    /// docs of `integrity` for the list). Damage is reported in the returned report, not as
    /// an error; an error means the check could not run (an I/O error).
    ///
    /// Memory stays within the connection's work memory ([`Connection::set_work_memory`]):
    /// index entries are compared as sorted streams, spilling to a temporary database as
    /// queries do. Inside an explicit transaction the check still reads the last commit.
    ///
    /// ```
    /// let mut conn = tessera::sql::Connection::memory();
    /// conn.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT UNIQUE)", ())?;
    /// conn.execute("INSERT INTO t VALUES (1, 'x'), (2, 'y')", ())?;
    /// let report = conn.check()?;
    /// assert!(report.is_ok(), "{:?}", report.problems);
    /// assert_eq!((report.tables, report.indexes, report.rows, report.index_entries), (1, 1, 2, 2));
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn check(&self) -> Result<SqlCheckReport> {
        let txn = Txn::begin_read(self.database())?;
        let mut c = Checker { report: SqlCheckReport::default(), more: 0, work: &self.work };
        c.check_all(&txn)?;
        if c.more > 0 {
            c.report.problems.push(format!("... and {} more problems not listed", c.more));
        }
        Ok(c.report)
    }
}

struct Checker<'w> {
    report: SqlCheckReport,
    /// Problems past the first `MAX_PROBLEMS` (counted, not listed).
    more: u64,
    work: &'w WorkMem,
}

/// Whether an engine error is damage to report (and go on) rather than a reason to stop.
fn is_damage(e: &Error) -> bool {
    matches!(e, Error::Corrupted { .. })
}

fn hex(bytes: &[u8]) -> String {
    let shown = bytes.iter().take(48).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
    if bytes.len() > 48 {
        format!("{shown} ... ({} bytes)", bytes.len())
    } else {
        shown
    }
}

/// A value as an SQL literal, shortened.
fn lit(v: &Value) -> String {
    let s = match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => format_real(*r),
        Value::Text(t) => format!("'{}'", t.to_str_lossy().replace('\'', "''")),
        Value::Blob(b) => format!("X'{}'", b.iter().map(|x| format!("{x:02X}")).collect::<String>()),
    };
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

fn lits(vals: &[Value]) -> String {
    vals.iter().map(lit).collect::<Vec<_>>().join(", ")
}

/// How a row is named in a problem: `rowid 5`, `key ('x', 1.5)`, or its key bytes.
fn row_name(t: &TableDef, key: &[u8]) -> String {
    match decode_row_key(t, key) {
        Some(Ok(id)) => format!("rowid {id}"),
        Some(Err(vals)) => format!("key ({})", lits(&vals)),
        None => format!("key {}", hex(key)),
    }
}

/// A valid row key of `t`, decoded: `Ok(rowid)` or `Err(primary key values)`; `None` if it is
/// not one (a non-canonical rowid, bytes left over, a value that does not decode).
fn decode_row_key(t: &TableDef, key: &[u8]) -> Option<core::result::Result<i64, Vec<Value>>> {
    match &t.pk {
        PrimaryKey::Rowid { .. } => {
            let id = decode_rowid(key).ok()?;
            (*rowid_key(id) == *key).then_some(Ok(id))
        }
        PrimaryKey::Columns(cols) => {
            let mut at = 0;
            let mut vals = Vec::new();
            for (_, desc) in cols {
                let (v, used) = decode_key(&key[at..], *desc).ok()?;
                at += used;
                vals.push(v);
            }
            (at == key.len()).then_some(Err(vals))
        }
    }
}

fn column_list(t: &TableDef, cols: &[(usize, bool)]) -> String {
    let name = |c: usize| t.columns.get(c).map_or_else(|| format!("#{c}"), |col| col.name.clone());
    cols.iter().map(|(c, _)| name(*c)).collect::<Vec<_>>().join(", ")
}

fn index_name(t: &TableDef, ix: &IndexDef) -> String {
    let cols: Vec<String> = ix
        .columns
        .iter()
        .map(|(c, desc)| {
            let name = t.columns.get(*c).map_or_else(|| format!("#{c}"), |col| col.name.clone());
            if *desc {
                format!("{name} DESC")
            } else {
                name
            }
        })
        .collect();
    format!("index {} on {}({})", ix.name, t.name, cols.join(", "))
}

/// Up to [`BATCH`] entries of `table` after `after`; empty at the end.
fn batch(txn: &Txn, table: &str, after: &Option<Vec<u8>>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let start = match after {
        Some(k) => Bound::Excluded(k.as_slice()),
        None => Bound::Unbounded,
    };
    let mut out = Vec::new();
    txn.scan(table, start, Bound::Unbounded, false, BATCH, &mut out)?;
    Ok(out)
}

/// The storage id in an engine table name `sql:<id>`.
fn storage_id(name: &str) -> Option<u64> {
    name.strip_prefix(crate::sql::storage::RESERVED_TABLE_PREFIX)?.parse().ok()
}

impl Checker<'_> {
    fn problem(&mut self, p: String) {
        if self.report.problems.len() < MAX_PROBLEMS {
            self.report.problems.push(p);
        } else {
            self.more += 1;
        }
    }

    fn check_all(&mut self, txn: &Txn) -> Result<()> {
        if !matches!(txn, Txn::Read(..)) {
            return Err(crate::sql::exec::eval::internal("check needs a snapshot"));
        }
        let engine_tables: BTreeSet<String> = match txn.list_tables() {
            Ok(names) => names.into_iter().collect(),
            Err(e) if is_damage(&e) => {
                self.problem(format!("the engine's table catalog cannot be read: {e}"));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if !engine_tables.contains(catalog::SCHEMA_TABLE) {
            return Ok(());
        }
        self.report.has_schema = true;
        let Some(schema) = self.schema(txn, &engine_tables)? else { return Ok(()) };
        let mut names: Vec<&String> = schema.tables.keys().collect();
        names.sort();
        for name in names {
            let t = &schema.tables[name];
            if let Err(e) = self.table(txn, t, &engine_tables) {
                if !is_damage(&e) {
                    return Err(e);
                }
                self.problem(format!("table {}: cannot be read: {e}", t.name));
            }
        }
        Ok(())
    }

    /// Check the schema records; returns the schema made of the objects that decoded (None
    /// when the schema table cannot be read at all).
    fn schema(&mut self, txn: &Txn, engine_tables: &BTreeSet<String>) -> Result<Option<Schema>> {
        let mut schema = Schema::default();
        let mut meta = None;
        let mut meta_bad = false;
        let mut indexes = Vec::new();
        // Objects whose records failed, by the name in their key: their storage tables and
        // their indexes are not reported again.
        let mut failed: BTreeSet<String> = BTreeSet::new();
        let mut after = None;
        loop {
            let entries = match batch(txn, catalog::SCHEMA_TABLE, &after) {
                Ok(e) => e,
                Err(e) if is_damage(&e) => {
                    self.problem(format!("the schema table {} cannot be read: {e}", catalog::SCHEMA_TABLE));
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            let Some((last, _)) = entries.last() else { break };
            after = Some(last.clone());
            for (k, v) in &entries {
                let shown = String::from_utf8_lossy(k);
                let key_name = k.strip_prefix(b"obj:").map(|n| String::from_utf8_lossy(n).into_owned());
                if k.as_slice() != catalog::META_KEY && key_name.is_none() {
                    self.problem(format!("schema record {shown:?}: unknown key (expected \"meta\" or \"obj:<name>\")"));
                    continue;
                }
                let rec = match decode_record(k, v) {
                    Ok(r) => r,
                    Err(e) => {
                        self.problem(format!("schema record {shown:?}: {e}"));
                        meta_bad |= key_name.is_none();
                        failed.extend(key_name);
                        continue;
                    }
                };
                if let Some(p) = strict(&rec) {
                    self.problem(format!("schema record {shown:?}: {p}"));
                }
                let name = match &rec {
                    SchemaRecord::Meta { generation, next_id, .. } => {
                        meta = Some((*generation, *next_id));
                        continue;
                    }
                    SchemaRecord::Table(t) => &t.name,
                    SchemaRecord::Index(ix) => &ix.name,
                    SchemaRecord::View(v) => &v.name,
                };
                if catalog::obj_key(name) != *k {
                    self.problem(format!(
                        "schema record {shown:?} holds object {name:?}, which belongs under obj:{}",
                        lower(name)
                    ));
                }
                match rec {
                    SchemaRecord::Table(t) => {
                        schema.tables.insert(lower(&t.name), Arc::new(t));
                    }
                    SchemaRecord::Index(ix) => indexes.push(ix),
                    SchemaRecord::View(v) => {
                        schema.views.insert(lower(&v.name), Arc::new(v));
                    }
                    SchemaRecord::Meta { .. } => {}
                }
            }
        }
        let next_id = match meta {
            Some((_, next)) => Some(next),
            None if !meta_bad && (!schema.tables.is_empty() || !indexes.is_empty()) => {
                self.problem("schema record \"meta\" is missing".into());
                None
            }
            None => None,
        };
        for ix in indexes {
            if failed.contains(&lower(&ix.table)) {
                continue; // its table's record is damaged, and reported
            }
            let name = ix.name.clone();
            if let Err(e) = schema.attach_index(ix) {
                self.problem(format!("schema record \"obj:{}\": {e}", lower(&name)));
                failed.insert(lower(&name));
            }
        }
        self.report.tables = schema.tables.len() as u64;
        self.report.views = schema.views.len() as u64;
        self.report.indexes = schema.tables.values().map(|t| t.indexes.len() as u64).sum();

        // Storage: each object's engine table exists, is its own, and has an allocated id.
        let mut owner: BTreeMap<&str, String> = BTreeMap::new();
        for t in schema.tables_by_name() {
            let objects = core::iter::once((format!("table {}", t.name), &t.storage))
                .chain(t.indexes.iter().map(|ix| (index_name(t, ix), &ix.storage)));
            for (what, storage) in objects {
                if !engine_tables.contains(storage) {
                    self.problem(format!("{what}: its engine table {storage} does not exist"));
                }
                if let Some(other) = owner.insert(storage, what.clone()) {
                    self.problem(format!("{what}: its engine table {storage} also belongs to {other}"));
                }
                match (storage_id(storage), next_id) {
                    (Some(id), Some(next)) if id >= next => self
                        .problem(format!("{what}: storage id {id} is not below the schema's next storage id {next}")),
                    _ => {}
                }
            }
        }
        if failed.is_empty() {
            for name in engine_tables {
                if name.starts_with(crate::sql::storage::RESERVED_TABLE_PREFIX)
                    && name != catalog::SCHEMA_TABLE
                    && !owner.contains_key(name.as_str())
                {
                    self.problem(format!("engine table {name} belongs to no SQL table or index"));
                }
            }
        }
        // What statements do: if the records each decoded, the schema must load as a whole.
        if self.report.problems.is_empty() && self.more == 0 {
            if let Err(e) = Schema::load(txn) {
                if !is_damage(&e) && !matches!(e, Error::Sql(_)) {
                    return Err(e);
                }
                self.problem(format!("the schema does not load: {e}"));
            }
        }
        Ok(Some(schema))
    }

    /// Check a table's rows and its indexes.
    fn table(&mut self, txn: &Txn, t: &TableDef, engine_tables: &BTreeSet<String>) -> Result<()> {
        if !engine_tables.contains(&t.storage) {
            return Ok(()); // reported with the schema
        }
        let indexes: Vec<&Arc<IndexDef>> = t.indexes.iter().filter(|ix| engine_tables.contains(&ix.storage)).collect();
        let budget = (self.work.budget() / indexes.len().max(1)).max(crate::sql::exec::spill::MIN_WORK_MEMORY / 4);
        let mut sorters: Vec<Sorter> = indexes.iter().map(|_| Sorter::new(budget, None)).collect();
        let mut bad_rows: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut too_many_bad = false;
        let mut after = None;
        let mut vals = Vec::new();
        let mut rec = Vec::new();
        loop {
            let entries = batch(txn, &t.storage, &after)?;
            let Some((last, _)) = entries.last() else { break };
            after = Some(last.clone());
            for (k, v) in &entries {
                self.report.rows += 1;
                let Some(row) = self.row(t, k, v, &mut vals, &mut rec) else {
                    if bad_rows.len() < MAX_BAD_ROWS {
                        bad_rows.insert(k.clone());
                    } else {
                        too_many_bad = true;
                    }
                    continue;
                };
                for (ix, s) in indexes.iter().zip(&mut sorters) {
                    s.push(self.work, index_key(ix, &row, k), Vec::new())?;
                }
            }
        }
        if too_many_bad {
            self.problem(format!(
                "table {}: more than {MAX_BAD_ROWS} damaged rows; its indexes were not compared with its rows",
                t.name
            ));
            return Ok(());
        }
        for (ix, s) in indexes.into_iter().zip(sorters) {
            match self.index(txn, t, ix, s, &bad_rows) {
                Ok(()) => {}
                Err(e) if is_damage(&e) => self.problem(format!("{}: cannot be read: {e}", index_name(t, ix))),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Check one row; its values (with the rowid for rowid tables), or None if it cannot be
    /// indexed (its record or its key is unusable).
    fn row(
        &mut self,
        t: &TableDef,
        key: &[u8],
        record: &[u8],
        vals: &mut Vec<Value>,
        rec: &mut Vec<u8>,
    ) -> Option<Tuple> {
        vals.clear();
        let name = row_name(t, key);
        if let Err(e) = decode_row(record, vals) {
            self.problem(format!("table {}: row {name}: the record does not decode: {e}", t.name));
            return None;
        }
        rec.clear();
        encode_row(rec, vals);
        if rec != record {
            self.problem(format!(
                "table {}: row {name}: the record has bytes after its {} columns or is not canonical",
                t.name,
                vals.len()
            ));
        }
        if vals.len() > t.columns.len() {
            self.problem(format!(
                "table {}: row {name}: the record has {} columns, the table {}",
                t.name,
                vals.len(),
                t.columns.len()
            ));
            return None;
        }
        if decode_row_key(t, key).is_none() && t.has_rowid() {
            self.problem(format!("table {}: row key {} is not a valid rowid key", t.name, hex(key)));
            return None;
        }
        let Ok(row) = decode_table_row(t, key, record) else {
            self.problem(format!("table {}: row {name} cannot be read", t.name));
            return None;
        };
        match &t.pk {
            PrimaryKey::Rowid { alias: Some(a) } => {
                if vals.get(*a).is_some_and(|v| *v != row[t.columns.len()]) {
                    self.problem(format!(
                        "table {}: row {name}: its INTEGER PRIMARY KEY column {} holds {}",
                        t.name,
                        t.columns[*a].name,
                        lit(&vals[*a])
                    ));
                }
            }
            PrimaryKey::Rowid { alias: None } => {}
            PrimaryKey::Columns(cols) => {
                if row_key(t, &row) != key {
                    let pk: Vec<Value> = cols.iter().map(|(c, _)| row[*c].clone()).collect();
                    self.problem(format!(
                        "table {}: row {name}: the key is not its PRIMARY KEY columns ({}) = ({})",
                        t.name,
                        column_list(t, cols),
                        lits(&pk)
                    ));
                    return None;
                }
            }
        }
        for (c, col) in t.columns.iter().enumerate() {
            if col.not_null && row[c].is_null() {
                self.problem(format!(
                    "table {}: row {name}: NOT NULL constraint failed: {}.{}",
                    t.name, t.name, col.name
                ));
            }
        }
        Some(row)
    }

    /// Compare an index's entries with the expected ones (sorted by `expected`).
    fn index(
        &mut self,
        txn: &Txn,
        t: &TableDef,
        ix: &IndexDef,
        expected: Sorter,
        bad_rows: &BTreeSet<Vec<u8>>,
    ) -> Result<()> {
        let what = index_name(t, ix);
        let mut expected = expected.finish(self.work)?;
        let mut want: Option<Vec<u8>> = None; // the next expected key, not yet matched
        let mut want_done = false;
        let mut next_want = |want: &mut Option<Vec<u8>>, done: &mut bool| -> Result<()> {
            if want.is_none() && !*done {
                match expected.next_entry()? {
                    Some((k, _)) => *want = Some(key_body(&k).to_vec()),
                    None => *done = true,
                }
            }
            Ok(())
        };
        // The previous entry's indexed values (key prefix), its row key, and whether they
        // hold a NULL: for the UNIQUE rule.
        let mut prev: Option<(Vec<u8>, Vec<u8>, bool)> = None;
        let mut values = Vec::new();
        let mut after = None;
        loop {
            let entries = batch(txn, &ix.storage, &after)?;
            let Some((last, _)) = entries.last() else { break };
            after = Some(last.clone());
            for (k, v) in &entries {
                self.report.index_entries += 1;
                values.clear();
                let row = match index_row_key(ix, k, Some(&mut values)) {
                    Ok(rk) if decode_row_key(t, rk).is_some() => rk,
                    Ok(rk) => {
                        self.problem(format!("{what}: entry {} ends in an invalid row key {}", hex(k), hex(rk)));
                        continue;
                    }
                    Err(_) => {
                        self.problem(format!("{what}: entry {} does not decode", hex(k)));
                        continue;
                    }
                };
                if !v.is_empty() {
                    self.problem(format!(
                        "{what}: the entry of row {} has a value of {} bytes (index entries have none)",
                        row_name(t, row),
                        v.len()
                    ));
                }
                if ix.unique {
                    let prefix = &k[..k.len() - row.len()];
                    let null = values.iter().any(Value::is_null);
                    if let Some((pp, prow, pnull)) = &prev {
                        if pp.as_slice() == prefix && !null && !*pnull {
                            let cols: Vec<String> =
                                ix.columns.iter().map(|(c, _)| format!("{}.{}", t.name, t.columns[*c].name)).collect();
                            self.problem(format!(
                                "{what}: UNIQUE constraint {} broken: rows {} and {} have the same values ({})",
                                cols.join(", "),
                                row_name(t, prow),
                                row_name(t, row),
                                lits(&values)
                            ));
                        }
                    }
                    prev = Some((prefix.to_vec(), row.to_vec(), null));
                }
                // Merge with the expected keys: those below this entry are missing.
                loop {
                    next_want(&mut want, &mut want_done)?;
                    match want.as_deref() {
                        Some(w) if w < k.as_slice() => {
                            self.missing(t, ix, &what, w);
                            want = None;
                        }
                        Some(w) if w == k.as_slice() => {
                            want = None;
                            break;
                        }
                        _ => {
                            if !bad_rows.contains(row) {
                                let why = if txn_has_row(txn, t, row)? {
                                    "which holds other values"
                                } else {
                                    "which does not exist"
                                };
                                self.problem(format!(
                                    "{what}: extra entry ({}) for row {}, {why}",
                                    lits(&values),
                                    row_name(t, row)
                                ));
                            }
                            break;
                        }
                    }
                }
            }
        }
        loop {
            next_want(&mut want, &mut want_done)?;
            match want.take() {
                Some(w) => self.missing(t, ix, &what, &w),
                None => break,
            }
        }
        Ok(())
    }

    fn missing(&mut self, t: &TableDef, ix: &IndexDef, what: &str, key: &[u8]) {
        let mut values = Vec::new();
        let row = index_row_key(ix, key, Some(&mut values)).unwrap_or(&[]);
        self.problem(format!("{what}: missing entry ({}) for row {}", lits(&values), row_name(t, row)));
    }
}

/// Whether the row under `key` exists.
fn txn_has_row(txn: &Txn, t: &TableDef, key: &[u8]) -> Result<bool> {
    match txn.get(&t.storage, key) {
        Ok(v) => Ok(v.is_some()),
        Err(e) if is_damage(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Rules a record may break although it decodes (and the schema loads): a table's texts after
/// the first that are not ALTER TABLE (they are skipped when the schema loads), a table
/// whose automatic indexes do not match its constraints, an index whose text disagrees with
/// its record.
fn strict(rec: &SchemaRecord) -> Option<String> {
    let parse = |sql: &str| crate::sql::parser::parse(sql).ok().filter(|p| p.len() == 1).map(|mut p| p.remove(0).stmt);
    match rec {
        SchemaRecord::Table(t) => {
            for (i, sql) in t.sql.iter().enumerate().skip(1) {
                if !matches!(parse(sql), Some(Statement::AlterTable { .. })) {
                    return Some(format!("table {}: text {} is not an ALTER TABLE statement: {sql}", t.name, i + 1));
                }
            }
            if let Some(Statement::CreateTable(ct)) = t.sql.first().and_then(|s| parse(s)) {
                if let Ok((_, needed)) = catalog::build_table(&ct, &t.name, 0, Vec::new()) {
                    if needed != t.auto_ids.len() {
                        return Some(format!(
                            "table {}: {} automatic index ids for {needed} UNIQUE / PRIMARY KEY constraints",
                            t.name,
                            t.auto_ids.len()
                        ));
                    }
                }
            }
            None
        }
        SchemaRecord::Index(ix) => match ix.sql.as_deref().and_then(parse) {
            Some(Statement::CreateIndex(ci)) => {
                if ci.columns.len() != ix.columns.len() || ci.unique != ix.unique {
                    Some(format!(
                        "index {}: the record says {} columns{}, its CREATE INDEX text {}{}",
                        ix.name,
                        ix.columns.len(),
                        if ix.unique { " UNIQUE" } else { "" },
                        ci.columns.len(),
                        if ci.unique { " UNIQUE" } else { "" }
                    ))
                } else {
                    None
                }
            }
            _ => Some(format!("index {}: its text is not a CREATE INDEX statement", ix.name)),
        },
        SchemaRecord::Meta { .. } | SchemaRecord::View(_) => None,
    }
}
