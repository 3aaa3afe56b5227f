//! The schema: table, index and view definitions, stored in the database itself.
//!
//! The engine table `sql:schema` holds one record per object under the key
//! `obj:<lower-case name>` plus a `meta` record (schema generation, next storage id).
//! A table's record keeps the SQL that defines it (its `CREATE TABLE` text followed by any
//! `ALTER TABLE` texts), so the definition is rebuilt by parsing, and the storage ids of its
//! engine tables. Rows of table `t` live in the engine table `sql:<id>`; each index has its
//! own engine table too. Object names compare case-insensitively. The generation number
//! changes with every schema change, so cached plans know when to re-plan.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use hashbrown::HashMap;

use crate::error::{Error, Result};
use crate::sql::parser;
use crate::sql::parser::ast::{self, AlterAction, ColumnConstraint, Expr, Statement, TableConstraint};
use crate::sql::storage::Txn;
use crate::sql::storage::Writer;
use crate::sql::types::collation::Coll;
use crate::sql::types::encoding::{decode_row, encode_row};
use crate::sql::types::value::{Affinity, Value};

/// The engine table holding the schema.
pub const SCHEMA_TABLE: &str = "sql:schema";
/// The schema-table key of the `meta` record.
pub const META_KEY: &[u8] = b"meta";
/// The SQL storage format this build writes (the third field of the `meta` record).
/// 3: key columns (index entries, WITHOUT ROWID primary keys) with a NOCASE or RTRIM
/// collation hold the value folded by the collation. 2: such keys held the value as it is
/// (read by this build only when the schema has no such key). Format 1 (without the field)
/// used 8-byte rowid keys.
pub const SQL_FORMAT: i64 = 3;
/// The oldest format this build reads (see [`SQL_FORMAT`]).
const SQL_FORMAT_MIN: i64 = 2;

/// A column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Name as declared.
    pub name: String,
    /// Declared type.
    pub type_name: Option<String>,
    /// Affinity from the type.
    pub affinity: Affinity,
    /// NOT NULL.
    pub not_null: bool,
    /// DEFAULT expression.
    pub default: Option<Expr>,
    /// COLLATE (upper-case), if not BINARY.
    pub collation: Option<String>,
    /// The value of this column in rows stored before it was added by `ALTER TABLE ADD
    /// COLUMN`: its DEFAULT folded to a constant, with the column's affinity (as SQLite
    /// reads such rows); NULL for the columns of `CREATE TABLE`.
    pub absent: Value,
}

impl Column {
    /// The column's collation (BINARY when none is declared).
    pub fn coll(&self) -> Coll {
        self.collation.as_deref().and_then(|n| Coll::by_name(n).ok()).unwrap_or(Coll::Binary)
    }
}

/// How a table's rows are keyed.
#[derive(Debug, Clone, PartialEq)]
pub enum PrimaryKey {
    /// By a 64-bit rowid; `alias` is the INTEGER PRIMARY KEY column, if any.
    Rowid {
        /// The aliasing column.
        alias: Option<usize>,
    },
    /// By the key-encoded values of these columns (`desc` per column).
    Columns(Vec<(usize, bool)>),
}

/// A table.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// Name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Keying.
    pub pk: PrimaryKey,
    /// CHECK constraints, each with the column it was declared on (None: a table
    /// constraint). A column's own CHECK goes when the column is dropped.
    pub checks: Vec<(Option<usize>, Expr)>,
    /// Indexes: automatic ones (UNIQUE constraints, a non-INTEGER primary key of a rowid
    /// table) first, then those from CREATE INDEX.
    pub indexes: Vec<Arc<IndexDef>>,
    /// Engine table holding the rows.
    pub storage: String,
    /// The collation of each `PrimaryKey::Columns` column (its keys hold the values folded
    /// by it; empty for rowid tables).
    pub pk_colls: Vec<Coll>,
    /// Storage ids of the automatic (UNIQUE constraint) indexes, in constraint order.
    pub auto_ids: Vec<u64>,
    /// Defining SQL texts (CREATE then ALTERs).
    pub sql: Vec<String>,
}

impl TableDef {
    /// Position of a column by name (case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Whether rows are keyed by rowid.
    pub fn has_rowid(&self) -> bool {
        matches!(self.pk, PrimaryKey::Rowid { .. })
    }

    /// Width of a scanned row: the columns, plus the rowid at the end for rowid tables.
    pub fn row_width(&self) -> usize {
        self.columns.len() + self.has_rowid() as usize
    }

    /// Columns of the primary key with their direction (the rowid alias for rowid tables).
    pub fn key_columns(&self) -> Vec<(usize, bool)> {
        match &self.pk {
            PrimaryKey::Rowid { alias: Some(a) } => vec![(*a, false)],
            PrimaryKey::Rowid { alias: None } => vec![],
            PrimaryKey::Columns(c) => c.clone(),
        }
    }
}

/// An index.
#[derive(Debug, Clone)]
pub struct IndexDef {
    /// Name.
    pub name: String,
    /// Table name.
    pub table: String,
    /// Indexed columns (position in the table, DESC).
    pub columns: Vec<(usize, bool)>,
    /// UNIQUE.
    pub unique: bool,
    /// The collation of each indexed column: the index's COLLATE, else the column's. Keys
    /// hold the values folded by it ([`Coll::key`]).
    pub colls: Vec<Coll>,
    /// Engine table.
    pub storage: String,
    /// `CREATE INDEX` text (None for automatic indexes).
    pub sql: Option<String>,
}

/// A view.
#[derive(Debug, Clone)]
pub struct ViewDef {
    /// Name.
    pub name: String,
    /// Column names given in the definition.
    pub columns: Vec<String>,
    /// The query.
    pub query: ast::Query,
    /// `CREATE VIEW` text.
    pub sql: String,
}

/// The whole schema.
#[derive(Debug, Default, Clone)]
pub struct Schema {
    /// Tables by lower-case name.
    pub tables: HashMap<String, Arc<TableDef>>,
    /// Views by lower-case name.
    pub views: HashMap<String, Arc<ViewDef>>,
    /// Index name (lower-case) → table name (lower-case).
    pub index_owner: HashMap<String, String>,
    /// Generation.
    pub generation: u64,
    /// Next storage id.
    pub next_id: u64,
    /// The keys of collated columns are as format 2 wrote them (unfolded): the schema must
    /// not be used before `exec::ddl::upgrade_collated_keys` rewrites them.
    pub unfolded_keys: bool,
    /// The statistics `ANALYZE` stored, as of the schema load (or the last ANALYZE).
    pub stats: Stats,
}

/// Lower-case a name for lookups.
pub fn lower(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn storage_name(id: u64) -> String {
    format!("sql:{id}")
}

fn text(v: Option<&Value>) -> Result<String> {
    match v {
        Some(Value::Text(s)) => s
            .as_str()
            .map(String::from)
            .ok_or_else(|| Error::Corrupted { page: 0, reason: "SQL schema text is not UTF-8".into() }),
        _ => Err(Error::Corrupted { page: 0, reason: "bad SQL schema record".into() }),
    }
}

fn int(v: Option<&Value>) -> Result<i64> {
    match v {
        Some(Value::Integer(i)) => Ok(*i),
        _ => Err(Error::Corrupted { page: 0, reason: "bad SQL schema record".into() }),
    }
}

/// One entry of the schema table, decoded (see [`decode_record`]).
pub enum SchemaRecord {
    /// The `meta` record.
    Meta {
        /// Schema generation.
        generation: u64,
        /// Next storage id.
        next_id: u64,
        /// The storage format ([`SQL_FORMAT`] or an older one this build reads).
        format: i64,
    },
    /// A table, rebuilt from its SQL texts (with its automatic indexes).
    Table(TableDef),
    /// An index made by CREATE INDEX (not yet checked against its table).
    Index(IndexDef),
    /// A view.
    View(ViewDef),
}

/// Decode one entry (`key`, `value`) of the schema table: the `meta` record (its format must
/// be [`SQL_FORMAT`]) or an object record, whose SQL texts are parsed and replayed.
pub fn decode_record(key: &[u8], value: &[u8]) -> Result<SchemaRecord> {
    let mut vals = Vec::new();
    decode_row(value, &mut vals)?;
    if key == META_KEY {
        let generation = int(vals.first())? as u64;
        let next_id = int(vals.get(1))? as u64;
        let format = if vals.len() > 2 { int(vals.get(2))? } else { 1 };
        if !(SQL_FORMAT_MIN..=SQL_FORMAT).contains(&format) {
            return Err(unsupported_format(format));
        }
        return Ok(SchemaRecord::Meta { generation, next_id, format });
    }
    // Whatever is wrong with an object record (SQL that no longer parses, a field of the wrong
    // type) is damage to the file, named as such: not a syntax error in SQL nobody just wrote.
    decode_object(&vals).map_err(|e| {
        let why = match e {
            Error::Corrupted { reason, .. } => reason,
            other => other.to_string(),
        };
        Error::Corrupted {
            page: 0,
            reason: format!("the schema record {:?} is damaged: {why}", String::from_utf8_lossy(key)),
        }
    })
}

fn unsupported_format(format: i64) -> Error {
    Error::Sql(format!(
        "unsupported SQL storage format {format} (this build reads format {SQL_FORMAT}): \
         export the data with the tessera version that wrote it (.dump) and load it here"
    ))
}

/// An object record's fields, decoded and its SQL replayed.
fn decode_object(vals: &[Value]) -> Result<SchemaRecord> {
    let kind = text(vals.first())?;
    let name = text(vals.get(1))?;
    match kind.as_str() {
        "table" => {
            let id = int(vals.get(2))? as u64;
            let nsql = int(vals.get(3))? as usize;
            let sqls: Vec<String> = (0..nsql).map(|i| text(vals.get(4 + i))).collect::<Result<_>>()?;
            let auto_ids: Vec<u64> = vals[(4 + nsql).min(vals.len())..]
                .iter()
                .map(|v| int(Some(v)).map(|i| i as u64))
                .collect::<Result<_>>()?;
            Ok(SchemaRecord::Table(table_from_sql(&name, id, &sqls, auto_ids)?))
        }
        "index" => {
            let table = text(vals.get(2))?;
            let id = int(vals.get(3))? as u64;
            let sql = text(vals.get(4))?;
            let unique = int(vals.get(5))? != 0;
            let n = int(vals.get(6))? as usize;
            let mut columns = Vec::new();
            for i in 0..n {
                let c = int(vals.get(7 + 2 * i))?;
                let d = int(vals.get(8 + 2 * i))? != 0;
                let c = usize::try_from(c)
                    .map_err(|_| Error::Corrupted { page: 0, reason: format!("index {name} is on column {c}") })?;
                columns.push((c, d));
            }
            Ok(SchemaRecord::Index(IndexDef {
                name,
                table,
                columns,
                unique,
                colls: Vec::new(), // set by `attach_index`, which knows the table
                storage: storage_name(id),
                sql: Some(sql),
            }))
        }
        "view" => {
            let sql = text(vals.get(2))?;
            Ok(SchemaRecord::View(view_from_sql(&name, &sql)?))
        }
        _ => Err(Error::Corrupted { page: 0, reason: format!("unknown schema object kind {kind}") }),
    }
}

impl Schema {
    /// Read the generation number only (cheap; used to validate cached schemas and plans).
    /// The SQL storage format of the meta record (the current one for an empty database).
    pub fn read_format(txn: &Txn) -> Result<i64> {
        match txn.get(SCHEMA_TABLE, META_KEY)? {
            None => Ok(SQL_FORMAT),
            Some(b) => {
                let mut vals = Vec::new();
                decode_row(&b, &mut vals)?;
                if vals.len() > 2 {
                    int(vals.get(2))
                } else {
                    Ok(1)
                }
            }
        }
    }

    pub fn read_generation(txn: &Txn) -> Result<u64> {
        match txn.get(SCHEMA_TABLE, META_KEY)? {
            None => Ok(0),
            Some(b) => {
                let mut vals = Vec::new();
                decode_row(&b, &mut vals)?;
                Ok(int(vals.first())? as u64)
            }
        }
    }

    /// Load the whole schema.
    pub fn load(txn: &Txn) -> Result<Schema> {
        let mut s = Schema::default();
        let entries = txn.scan_all(SCHEMA_TABLE)?;
        let mut index_records = Vec::new();
        let mut format = SQL_FORMAT;
        for (k, v) in entries {
            match decode_record(&k, &v)? {
                SchemaRecord::Meta { generation, next_id, format: f } => {
                    s.generation = generation;
                    s.next_id = next_id;
                    format = f;
                }
                SchemaRecord::Table(def) => {
                    for ix in &def.indexes {
                        s.index_owner.insert(lower(&ix.name), lower(&def.name));
                    }
                    s.tables.insert(lower(&def.name), Arc::new(def));
                }
                SchemaRecord::Index(ix) => index_records.push(ix),
                SchemaRecord::View(view) => {
                    s.views.insert(lower(&view.name), Arc::new(view));
                }
            }
        }
        for ix in index_records {
            s.attach_index(ix)?;
        }
        // Before format 3, keys of collated columns held unfolded values (the rest of format
        // 2 is the same): the connection upgrades such a file before using it.
        s.unfolded_keys = format < 3 && s.has_collated_keys();
        s.stats = load_stats(&s, txn)?;
        Ok(s)
    }

    /// Whether any index or primary key has a column with a collation other than BINARY.
    pub fn has_collated_keys(&self) -> bool {
        self.tables
            .values()
            .any(|t| !Coll::all_binary(&t.pk_colls) || t.indexes.iter().any(|ix| !Coll::all_binary(&ix.colls)))
    }

    /// Add an index (from its schema record) to its table; fails when the table is missing or
    /// has no such column.
    pub fn attach_index(&mut self, mut ix: IndexDef) -> Result<()> {
        let t = self
            .tables
            .get_mut(&lower(&ix.table))
            .ok_or_else(|| Error::Corrupted { page: 0, reason: format!("index {} on a missing table", ix.name) })?;
        let width = t.columns.len();
        if let Some((c, _)) = ix.columns.iter().find(|(c, _)| *c >= width) {
            return Err(Error::Corrupted {
                page: 0,
                reason: format!("index {} is on column {c} of table {}, which has {width} columns", ix.name, ix.table),
            });
        }
        let explicit: Vec<Option<String>> = match ix.sql.as_deref().map(parse_one) {
            Some(Ok(Statement::CreateIndex(ci))) => ci.columns.into_iter().map(|c| c.collation).collect(),
            _ => Vec::new(),
        };
        ix.colls = index_colls(t, &ix.columns, &explicit)?;
        self.index_owner.insert(lower(&ix.name), lower(&ix.table));
        Arc::make_mut(t).indexes.push(Arc::new(ix));
        Ok(())
    }

    /// Every table, ordered by name (for work whose order must not depend on hashing).
    pub fn tables_by_name(&self) -> Vec<&Arc<TableDef>> {
        let mut v: Vec<&Arc<TableDef>> = self.tables.values().collect();
        v.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// The table by name.
    pub fn table(&self, name: &str) -> Result<&Arc<TableDef>> {
        self.tables.get(&lower(name)).ok_or_else(|| Error::Sql(format!("no such table: {name}")))
    }

    /// Whether any object (table, view, index) has this name.
    pub fn name_taken(&self, name: &str) -> bool {
        let n = lower(name);
        self.tables.contains_key(&n) || self.views.contains_key(&n) || self.index_owner.contains_key(&n)
    }

    /// Allocate a storage id and record the new generation; writes the meta record.
    pub fn bump(&mut self, w: &mut Writer, new_ids: usize) -> Result<Vec<u64>> {
        let ids: Vec<u64> = (0..new_ids as u64).map(|i| self.next_id + i).collect();
        self.next_id += new_ids as u64;
        self.generation += 1;
        let mut rec = Vec::new();
        encode_row(
            &mut rec,
            &[Value::Integer(self.generation as i64), Value::Integer(self.next_id as i64), Value::Integer(SQL_FORMAT)],
        );
        w.put_logged(SCHEMA_TABLE, META_KEY, &rec)?;
        Ok(ids)
    }
}

/// Whether `name` is one of SQLite's own (`sqlite_*`, any case): users cannot create such
/// objects, ANALYZE skips such tables and they may not be indexed.
pub fn is_internal_name(name: &str) -> bool {
    // Compare bytes: slicing the `str` at 7 would panic inside a multi-byte character.
    name.as_bytes().get(..7).is_some_and(|p| p.eq_ignore_ascii_case(b"sqlite_"))
}

/// The name of the statistics table `ANALYZE` writes (`exec::analyze`).
pub const STAT1: &str = "sqlite_stat1";

/// Per-index statistics from `sqlite_stat1`, by index name (a WITHOUT ROWID table's primary
/// key, and a table without indexes, under the table's name): the entry count, then the
/// average entries per value of each leading key prefix. A list: a schema has few indexes,
/// and planning looks one up by name ([`stats_of`]).
pub type Stats = Vec<(String, Arc<[u64]>)>;

/// The statistics of `name` (an index, or a WITHOUT ROWID table), if ANALYZE stored any.
pub fn stats_of<'s>(stats: &'s Stats, name: &str) -> Option<&'s [u64]> {
    stats.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, s)| &**s)
}

/// The statistics in `sqlite_stat1`, if it exists. Rows that do not parse (a user may write
/// anything there) are skipped, as SQLite skips them; so is anything after the numbers.
pub fn load_stats(schema: &Schema, txn: &Txn) -> Result<Stats> {
    let mut stats = Stats::new();
    let Some(st) = schema.tables.get(STAT1) else { return Ok(stats) };
    for (_, v) in txn.scan_all(&st.storage)? {
        let mut row = Vec::new();
        crate::sql::types::encoding::decode_row(&v, &mut row)?;
        let (Some(Value::Text(tbl)), Some(idx), Some(Value::Text(stat))) = (row.first(), row.get(1), row.get(2)) else {
            continue;
        };
        let name = match idx {
            Value::Text(i) => i.to_str_lossy().into_owned(),
            Value::Null => tbl.to_str_lossy().into_owned(),
            _ => continue,
        };
        let nums: Vec<u64> =
            stat.to_str_lossy().split_ascii_whitespace().map_while(|w| w.parse::<u64>().ok()).collect();
        if !nums.is_empty() {
            // A later row for the same name replaces an earlier one.
            stats.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
            stats.push((name, nums.into()));
        }
    }
    Ok(stats)
}

/// The schema-table key of object `name`: `obj:<lower-case name>`.
pub fn obj_key(name: &str) -> Vec<u8> {
    let mut k = b"obj:".to_vec();
    k.extend_from_slice(lower(name).as_bytes());
    k
}

/// Write a table's schema record.
pub fn save_table(w: &mut Writer, def: &TableDef) -> Result<()> {
    let id: u64 = def.storage.trim_start_matches("sql:").parse().unwrap_or(0);
    let mut vals = vec![
        Value::Text("table".into()),
        Value::Text((&def.name).into()),
        Value::Integer(id as i64),
        Value::Integer(def.sql.len() as i64),
    ];
    vals.extend(def.sql.iter().map(|s| Value::Text(s.into())));
    vals.extend(def.auto_ids.iter().map(|i| Value::Integer(*i as i64)));
    let mut rec = Vec::new();
    encode_row(&mut rec, &vals);
    w.put_logged(SCHEMA_TABLE, &obj_key(&def.name), &rec)
}

/// Write an index's schema record.
pub fn save_index(w: &mut Writer, ix: &IndexDef) -> Result<()> {
    let id: u64 = ix.storage.trim_start_matches("sql:").parse().unwrap_or(0);
    let mut vals = vec![
        Value::Text("index".into()),
        Value::Text((&ix.name).into()),
        Value::Text((&ix.table).into()),
        Value::Integer(id as i64),
        Value::Text(ix.sql.clone().unwrap_or_default().into()),
        Value::Integer(ix.unique as i64),
        Value::Integer(ix.columns.len() as i64),
    ];
    for (c, d) in &ix.columns {
        vals.push(Value::Integer(*c as i64));
        vals.push(Value::Integer(*d as i64));
    }
    let mut rec = Vec::new();
    encode_row(&mut rec, &vals);
    w.put_logged(SCHEMA_TABLE, &obj_key(&ix.name), &rec)
}

/// Write a view's schema record.
pub fn save_view(w: &mut Writer, v: &ViewDef) -> Result<()> {
    let mut rec = Vec::new();
    encode_row(&mut rec, &[Value::Text("view".into()), Value::Text((&v.name).into()), Value::Text((&v.sql).into())]);
    w.put_logged(SCHEMA_TABLE, &obj_key(&v.name), &rec)
}

/// Remove an object's schema record.
pub fn remove_object(w: &mut Writer, name: &str) -> Result<()> {
    w.remove_logged(SCHEMA_TABLE, &obj_key(name))
}

/// Storage name for an id.
pub fn storage_for(id: u64) -> String {
    storage_name(id)
}

fn parse_one(sql: &str) -> Result<Statement> {
    let mut p = parser::parse(sql)?;
    if p.len() != 1 {
        return Err(Error::Corrupted { page: 0, reason: "bad SQL schema text".into() });
    }
    Ok(p.remove(0).stmt)
}

fn view_from_sql(name: &str, sql: &str) -> Result<ViewDef> {
    match parse_one(sql)? {
        Statement::CreateView(v) => {
            Ok(ViewDef { name: name.into(), columns: v.columns, query: *v.query, sql: sql.into() })
        }
        _ => Err(Error::Corrupted { page: 0, reason: "bad view text".into() }),
    }
}

fn table_from_sql(name: &str, id: u64, sqls: &[String], auto_ids: Vec<u64>) -> Result<TableDef> {
    let first = sqls.first().ok_or_else(|| Error::Corrupted { page: 0, reason: "table without SQL".into() })?;
    let Statement::CreateTable(ct) = parse_one(first)? else {
        return Err(Error::Corrupted { page: 0, reason: "bad table text".into() });
    };
    let (mut def, _) = build_table(&ct, name, id, auto_ids)?;
    def.sql = sqls.to_vec();
    for alter in &sqls[1..] {
        if let Statement::AlterTable { action, .. } = parse_one(alter)? {
            apply_alter(&mut def, &action)?;
        }
    }
    Ok(def)
}

/// Apply an ALTER TABLE action to a definition (column changes only; renames of the table
/// are handled by the caller). What depends on the rows (an added column's DEFAULT, NOT NULL
/// and CHECK against the rows already stored) is the caller's to check.
pub fn apply_alter(def: &mut TableDef, action: &AlterAction) -> Result<()> {
    match action {
        AlterAction::AddColumn(cd) => {
            if def.column(&cd.name).is_some() {
                return Err(Error::Sql(format!("duplicate column name: {}", cd.name)));
            }
            let (col, pk, unique) = column_from_def(cd)?;
            if pk || unique {
                return Err(Error::Sql("Cannot add a PRIMARY KEY or UNIQUE column".into()));
            }
            let mut col = col;
            for c in &cd.constraints {
                if let ColumnConstraint::Check(e) = c {
                    def.checks.push((Some(def.columns.len()), e.clone()));
                }
            }
            // A default that does not fold reads as NULL: the caller refuses it when the
            // table has rows (as SQLite does), and an empty table has no row to read it.
            col.absent = match col.default.as_ref().map(fold_added_default) {
                Some(Ok(v)) => col.affinity.apply(v),
                _ => Value::Null,
            };
            def.columns.push(col);
        }
        AlterAction::RenameColumn { old, new } => {
            let i = def.column(old).ok_or_else(|| Error::Sql(format!("no such column: \"{old}\"")))?;
            // To its own name (in another case, say) is allowed, as in SQLite.
            if def.column(new).is_some_and(|j| j != i) {
                return Err(Error::Sql(format!(
                    "error in table {} after rename: duplicate column name: {new}",
                    def.name
                )));
            }
            let table = def.name.clone();
            for (_, e) in &mut def.checks {
                crate::sql::planner::walk_mut(e, &mut |x| {
                    if let Expr::Column { table: q, name } = x {
                        if name.eq_ignore_ascii_case(old) && q.as_ref().is_none_or(|q| q.eq_ignore_ascii_case(&table)) {
                            *name = new.clone();
                        }
                    }
                });
            }
            def.columns[i].name = new.clone();
        }
        AlterAction::DropColumn(c) => {
            let i = def.column(c).ok_or_else(|| Error::Sql(format!("no such column: \"{c}\"")))?;
            if def.key_columns().iter().any(|(k, _)| *k == i) {
                return Err(Error::Sql(format!("cannot drop PRIMARY KEY column: \"{c}\"")));
            }
            for ix in &def.indexes {
                if ix.columns.iter().any(|(k, _)| *k == i) {
                    return Err(Error::Sql(match ix.sql {
                        None => format!("cannot drop UNIQUE column: \"{c}\""),
                        Some(_) => format!("error in index {} after drop column: no such column: {c}", ix.name),
                    }));
                }
            }
            // A CHECK naming the column goes with it when it is the column's own; any other
            // would no longer compile (SQLite reports it the same way).
            let mut kept = Vec::new();
            for (owner, e) in def.checks.drain(..) {
                let mut names_it = false;
                crate::sql::planner::walk(&e, &mut |x| {
                    if let Expr::Column { name, .. } = x {
                        names_it |= name.eq_ignore_ascii_case(c);
                    }
                });
                match (owner, names_it) {
                    (Some(o), _) if o == i => {}
                    (_, true) => {
                        return Err(Error::Sql(format!(
                            "error in table {} after drop column: no such column: {c}",
                            def.name
                        )))
                    }
                    (owner, false) => kept.push((owner.map(|o| if o > i { o - 1 } else { o }), e)),
                }
            }
            def.checks = kept;
            if def.columns.len() == 1 {
                return Err(Error::Sql("cannot drop the only column".into()));
            }
            def.columns.remove(i);
            let shift = |k: &mut usize| {
                if *k > i {
                    *k -= 1
                }
            };
            match &mut def.pk {
                PrimaryKey::Rowid { alias: Some(a) } => shift(a),
                PrimaryKey::Columns(cols) => cols.iter_mut().for_each(|(k, _)| shift(k)),
                _ => {}
            }
            for ix in &mut def.indexes {
                Arc::make_mut(ix).columns.iter_mut().for_each(|(k, _)| shift(k));
            }
        }
        AlterAction::RenameTable(_) => {}
    }
    Ok(())
}

/// The constant value of an added column's DEFAULT, which rows stored before the column
/// existed read. As SQLite (`sqlite3ValueFromExpr` without a function context), only a
/// literal, a signed literal, a CAST or COLLATE of one counts as constant; anything else
/// (`CURRENT_TIMESTAMP`, `(1 + 2)`, a function call) is refused.
pub fn fold_added_default(e: &Expr) -> Result<Value> {
    use crate::sql::planner::expr::Arith;
    Ok(match e {
        Expr::Literal(v) => v.clone(),
        Expr::Unary { op: ast::UnaryOp::Plus, expr } => fold_added_default(expr)?,
        Expr::Unary { op: ast::UnaryOp::Neg, expr } => {
            crate::sql::exec::eval::arith(Arith::Sub, Value::Integer(0), fold_added_default(expr)?)?
        }
        Expr::Collate { expr, .. } => fold_added_default(expr)?,
        Expr::Cast { expr, type_name } => {
            crate::sql::exec::eval::cast(fold_added_default(expr)?, Affinity::of_type(Some(type_name)))
        }
        _ => return Err(Error::Sql("Cannot add a column with non-constant default".into())),
    })
}

/// The collation of each key column: the key definition's COLLATE (`explicit`, by position;
/// missing entries are None), else the column's own collation.
pub fn index_colls(t: &TableDef, cols: &[(usize, bool)], explicit: &[Option<String>]) -> Result<Vec<Coll>> {
    key_colls(&t.columns, cols, explicit)
}

fn key_colls(columns: &[Column], cols: &[(usize, bool)], explicit: &[Option<String>]) -> Result<Vec<Coll>> {
    cols.iter()
        .enumerate()
        .map(|(i, (c, _))| match explicit.get(i).and_then(Option::as_deref) {
            Some(name) => Coll::by_name(name),
            None => Ok(columns.get(*c).map_or(Coll::Binary, Column::coll)),
        })
        .collect()
}

fn column_from_def(cd: &ast::ColumnDef) -> Result<(Column, bool, bool)> {
    let mut col = Column {
        name: cd.name.clone(),
        type_name: cd.type_name.clone(),
        affinity: Affinity::of_type(cd.type_name.as_deref()),
        not_null: false,
        default: None,
        collation: None,
        absent: Value::Null,
    };
    let (mut pk, mut unique) = (false, false);
    for c in &cd.constraints {
        match c {
            ColumnConstraint::PrimaryKey { .. } => pk = true,
            ColumnConstraint::NotNull => col.not_null = true,
            ColumnConstraint::Unique => unique = true,
            ColumnConstraint::Default(e) => col.default = Some(e.clone()),
            ColumnConstraint::Collate(n) => {
                crate::sql::types::collation::Coll::by_name(n)?;
                if !n.eq_ignore_ascii_case("binary") {
                    col.collation = Some(n.to_ascii_uppercase());
                }
            }
            ColumnConstraint::Check(_) | ColumnConstraint::Null | ColumnConstraint::References(_) => {}
        }
    }
    Ok((col, pk, unique))
}

/// Build a table definition from `CREATE TABLE`. Also returns how many automatic indexes the
/// table needs (UNIQUE constraints, and the key of a rowid table without INTEGER PRIMARY KEY);
/// indexes are created only for the ids in `auto_ids`, so callers count first, then allocate.
pub fn build_table(ct: &ast::CreateTable, name: &str, id: u64, auto_ids: Vec<u64>) -> Result<(TableDef, usize)> {
    let mut columns = Vec::new();
    // Key columns with the COLLATE written in the key definition, if any.
    type KeyCols = (Vec<(usize, bool)>, Vec<Option<String>>);
    let mut pk_cols: Option<KeyCols> = None;
    let mut uniques: Vec<KeyCols> = Vec::new();
    // The declaration order of the key constraints (primary key, then each unique one in
    // `uniques`' order), which numbers their indexes as SQLite does.
    let mut pk_seq = 0;
    let mut unique_seqs: Vec<usize> = Vec::new();
    let mut seq = 0;
    let mut checks = Vec::new();
    let mut alias_ok = false;
    for (i, cd) in ct.columns.iter().enumerate() {
        if columns.iter().any(|c: &Column| c.name.eq_ignore_ascii_case(&cd.name)) {
            return Err(Error::Sql(format!("duplicate column name: {}", cd.name)));
        }
        let (col, pk, unique) = column_from_def(cd)?;
        for c in &cd.constraints {
            if let ColumnConstraint::Check(e) = c {
                checks.push((Some(i), e.clone()));
            }
            if let ColumnConstraint::PrimaryKey { desc, .. } = c {
                if pk_cols.is_some() {
                    return Err(Error::Sql(format!("table \"{name}\" has more than one primary key")));
                }
                pk_cols = Some((vec![(i, *desc)], Vec::new()));
                alias_ok = !*desc;
                seq += 1;
                pk_seq = seq;
            }
        }
        if unique && !pk {
            uniques.push((vec![(i, false)], Vec::new()));
            seq += 1;
            unique_seqs.push(seq);
        }
        columns.push(col);
    }
    if columns.is_empty() {
        return Err(Error::Sql("a table needs at least one column".into()));
    }
    let find = |n: &str| {
        columns
            .iter()
            .position(|c: &Column| c.name.eq_ignore_ascii_case(n))
            .ok_or_else(|| Error::Sql(format!("no such column: {n}")))
    };
    for tc in &ct.constraints {
        match tc {
            TableConstraint::PrimaryKey(cols) => {
                if pk_cols.is_some() {
                    return Err(Error::Sql(format!("table \"{name}\" has more than one primary key")));
                }
                let k = cols.iter().map(|c| Ok((find(&c.name)?, c.desc))).collect::<Result<_>>()?;
                pk_cols = Some((k, cols.iter().map(|c| c.collation.clone()).collect()));
                alias_ok = true;
                seq += 1;
                pk_seq = seq;
            }
            TableConstraint::Unique(cols) => {
                let k = cols.iter().map(|c| Ok((find(&c.name)?, c.desc))).collect::<Result<_>>()?;
                uniques.push((k, cols.iter().map(|c| c.collation.clone()).collect()));
                seq += 1;
                unique_seqs.push(seq);
            }
            TableConstraint::Check(e) => checks.push((None, e.clone())),
            TableConstraint::ForeignKey => {}
        }
    }
    let mut pk_colls = Vec::new();
    let integer_key = |cols: &[(usize, bool)]| {
        alias_ok
            && cols.len() == 1
            && columns[cols[0].0].type_name.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("integer"))
    };
    // The sequence number of the primary key's index among the key constraints, if it has one.
    let mut pk_slot = None;
    let pk = match pk_cols {
        Some((cols, _)) if !ct.without_rowid && integer_key(&cols) => PrimaryKey::Rowid { alias: Some(cols[0].0) },
        Some((cols, explicit)) if ct.without_rowid => {
            // SQLite makes the index of a WITHOUT ROWID table's INTEGER PRIMARY KEY when the
            // table is complete, after the unique ones.
            pk_slot = Some(if integer_key(&cols) { usize::MAX } else { pk_seq });
            for (c, _) in &cols {
                columns[*c].not_null = true;
            }
            pk_colls = key_colls(&columns, &cols, &explicit)?;
            PrimaryKey::Columns(cols)
        }
        Some(cols) => {
            // As SQLite does: a rowid table whose key is not an INTEGER PRIMARY KEY keeps its
            // rows by rowid and enforces the key with a unique index (NULLs stay distinct).
            uniques.insert(0, cols);
            unique_seqs.insert(0, pk_seq);
            PrimaryKey::Rowid { alias: None }
        }
        None if ct.without_rowid => return Err(Error::Sql(format!("PRIMARY KEY missing on table {name}"))),
        None => PrimaryKey::Rowid { alias: None },
    };
    let needed = uniques.len();
    // SQLite numbers the automatic indexes in the order it makes them: by declaration, a
    // WITHOUT ROWID table's primary key counting too (its index is the table itself).
    let slots: Vec<usize> = unique_seqs.iter().copied().chain(pk_slot).collect();
    let number = |s: usize| 1 + slots.iter().filter(|&&x| x < s).count();
    let mut indexes = Vec::new();
    for (n, (cols, explicit)) in uniques.into_iter().enumerate() {
        let Some(&sid) = auto_ids.get(n) else { break };
        let colls = key_colls(&columns, &cols, &explicit)?;
        indexes.push(Arc::new(IndexDef {
            name: format!("sqlite_autoindex_{}_{}", name, number(unique_seqs[n])),
            table: name.to_string(),
            columns: cols,
            unique: true,
            colls,
            storage: storage_name(sid),
            sql: None,
        }));
    }
    let def = TableDef {
        name: name.into(),
        columns,
        pk,
        checks,
        indexes,
        storage: storage_name(id),
        pk_colls,
        auto_ids,
        sql: Vec::new(),
    };
    Ok((def, needed))
}
