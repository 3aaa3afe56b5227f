//! `ANALYZE`: per-index statistics in the table `sqlite_stat1`, as SQLite keeps them, and
//! their upkeep when tables and indexes are dropped.
//!
//! For each index (and the primary key of a WITHOUT ROWID table, named after the table) one
//! row `(tbl, idx, stat)`: `stat` is the number of entries, then for each leading prefix of
//! the key columns the average number of entries that share a value of that prefix, rounded
//! up (SQLite's `analyze.c`: `(rows + distinct - 1) / distinct`, and 1 where that gives 2 but
//! the prefix is nearly unique). A table without indexes gets one row with `idx` NULL and its
//! row count; an empty table gets none. NULLs count as one value, and values equal under the
//! index's collation as one (the keys are stored folded, so equal key bytes are equal values).
//!
//! The planner reads the rows when the schema loads (`catalog::load_stats`) and uses the averages for
//! equality lookups (`planner::access`). ANALYZE bumps the schema generation, so every
//! connection reloads them, and cached plans are made again. A user may write `sqlite_stat1`
//! as in SQLite; what they write is read at the next schema load. (SQLite, built with
//! STAT4, also fills `sqlite_stat4` with samples; Tessera does not.)

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Bound;

use crate::error::{Error, Result};
use crate::sql::catalog::{self, lower, Schema, TableDef, STAT1};
use crate::sql::parser::ast::Statement;
use crate::sql::storage::{Txn, Writer};
use crate::sql::types::encoding::{decode_key, decode_row, encode_row, rowid_key};
use crate::sql::types::value::Value;

/// The statistics table's definition (SQLite's).
const STAT1_SQL: &str = "CREATE TABLE sqlite_stat1(tbl,idx,stat)";

/// Run `ANALYZE [target]`: every table (no target, or the schema name `main`), one table, or
/// one index.
pub fn analyze(schema: &mut Schema, txn: &Txn, target: Option<&str>, w: &mut Writer) -> Result<()> {
    // What to analyze: (table, Some(index) for one index only).
    let mut jobs: Vec<(Arc<TableDef>, Option<String>)> = Vec::new();
    match target.map(lower) {
        None => jobs.extend(all_tables(schema).into_iter().map(|t| (t, None))),
        Some(n) if n == "main" && !schema.tables.contains_key(&n) && !schema.index_owner.contains_key(&n) => {
            jobs.extend(all_tables(schema).into_iter().map(|t| (t, None)))
        }
        // The schema table: nothing to count, but the statistics table is made (as SQLite's
        // shell relies on when it reloads a dump).
        Some(n) if matches!(n.as_str(), "sqlite_schema" | "sqlite_master") => {}
        Some(n) => {
            if let Some(t) = schema.tables.get(&n) {
                if !catalog::is_internal_name(&t.name) {
                    jobs.push((t.clone(), None));
                }
            } else if let Some(owner) = schema.index_owner.get(&n) {
                jobs.push((schema.table(owner)?.clone(), Some(n)));
            } else {
                return Err(Error::Sql(format!("no such table or index: {}", target.unwrap_or_default())));
            }
        }
    }
    ensure_stat1(schema, w)?;
    for (t, only) in &jobs {
        match only {
            Some(ix) => clear(schema, txn, w, None, Some(ix))?,
            None => clear(schema, txn, w, Some(&t.name), None)?,
        }
        for (idx, stat) in table_stats(txn, t, only.as_deref())? {
            let stat = stat.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
            append(schema, txn, w, &[Value::from(t.name.as_str()), idx.map_or(Value::Null, Value::from), stat.into()])?;
        }
    }
    // Every connection reloads the schema, and with it the statistics; cached plans go.
    schema.bump(w, 0)?;
    schema.stats = catalog::load_stats(schema, txn)?;
    Ok(())
}

/// Tables ANALYZE covers by default: all but SQLite's own (`sqlite_*`), by name.
fn all_tables(schema: &Schema) -> Vec<Arc<TableDef>> {
    schema.tables_by_name().into_iter().filter(|t| !catalog::is_internal_name(&t.name)).cloned().collect()
}

/// The rows ANALYZE writes for table `t` (only index `only` when given): `(idx, stat)`.
fn table_stats(txn: &Txn, t: &TableDef, only: Option<&str>) -> Result<Vec<(Option<String>, Vec<u64>)>> {
    let mut out = Vec::new();
    // The row of one key (a WITHOUT ROWID primary key, or an index), unless it is empty.
    let mut key_row = |name: &str, storage: &str, cols: &[(usize, bool)]| -> Result<()> {
        let (n, avg) = key_stats(txn, storage, &cols.iter().map(|c| c.1).collect::<Vec<_>>())?;
        if n > 0 {
            out.push((Some(name.to_string()), [n].into_iter().chain(avg).collect()));
        }
        Ok(())
    };
    if let (None, catalog::PrimaryKey::Columns(cols)) = (only, &t.pk) {
        key_row(&t.name, &t.storage, cols)?;
    }
    for ix in t.indexes.iter().filter(|ix| only.is_none_or(|o| o == lower(&ix.name))) {
        key_row(&ix.name, &ix.storage, &ix.columns)?;
    }
    if only.is_none() && t.indexes.is_empty() && t.has_rowid() {
        let n = txn.count(&t.storage)?;
        if n > 0 {
            out.push((None, alloc::vec![n]));
        }
    }
    Ok(out)
}

/// Scan the keys of `storage`, whose leading key values are in directions `desc`: the entry
/// count and, for each leading prefix, the average entries per distinct value of it.
fn key_stats(txn: &Txn, storage: &str, desc: &[bool]) -> Result<(u64, Vec<u64>)> {
    let k = desc.len();
    let mut distinct = alloc::vec![0u64; k];
    let mut rows = 0u64;
    let mut prev: Vec<u8> = Vec::new();
    let mut prev_ends: Vec<usize> = Vec::new();
    let mut last: Vec<u8> = Vec::new();
    loop {
        let start = if rows == 0 { Bound::Unbounded } else { Bound::Excluded(last.as_slice()) };
        let mut batch = Vec::new();
        let done = txn.scan(storage, start, Bound::Unbounded, false, 1024, &mut batch)?;
        for (key, _) in &batch {
            // The end of each of the first k values in the key.
            let mut ends = Vec::with_capacity(k);
            let mut at = 0;
            for &d in desc {
                let (_, used) = decode_key(&key[at..], d)?;
                at += used;
                ends.push(at);
            }
            // The first prefix that differs from the previous key starts a new value for it and
            // every longer prefix.
            let same = if rows == 0 {
                0
            } else {
                (0..k).take_while(|&i| ends[i] == prev_ends[i] && key[..ends[i]] == prev[..prev_ends[i]]).count()
            };
            for d in &mut distinct[same..] {
                *d += 1;
            }
            rows += 1;
            prev.clear();
            prev.extend_from_slice(key);
            prev_ends = ends;
        }
        if let Some((key, _)) = batch.last() {
            last.clear();
            last.extend_from_slice(key);
        }
        if done || batch.is_empty() {
            break;
        }
    }
    let avg = distinct
        .iter()
        .map(|&d| {
            let d = d.max(1);
            let v = rows.div_ceil(d);
            // SQLite: a prefix with at most 10% duplicates counts as unique.
            if v == 2 && rows * 10 <= d * 11 {
                1
            } else {
                v
            }
        })
        .collect();
    Ok((rows, avg))
}

/// Create `sqlite_stat1` unless it exists.
fn ensure_stat1(schema: &mut Schema, w: &mut Writer) -> Result<()> {
    if schema.tables.contains_key(STAT1) {
        return Ok(());
    }
    let Ok(Statement::CreateTable(ct)) = crate::sql::parser::parse(STAT1_SQL).map(|mut v| v.swap_remove(0).stmt) else {
        return Err(Error::Sql("internal error: the sqlite_stat1 definition".into()));
    };
    super::ddl::install_table(schema, w, &ct, |_| STAT1_SQL.to_string()).map(|_| ())
}

/// Delete the rows of `sqlite_stat1` for table `tbl` or index `idx` (SQLite's
/// `sqlite3ClearStatTables`: on ANALYZE, DROP TABLE and DROP INDEX). Names compare without
/// case. Nothing to do without the table.
pub fn clear(schema: &Schema, txn: &Txn, w: &mut Writer, tbl: Option<&str>, idx: Option<&str>) -> Result<()> {
    let Some(st) = schema.tables.get(STAT1) else { return Ok(()) };
    let matches = |v: Option<&Value>, name: Option<&str>| match (v, name) {
        (Some(Value::Text(s)), Some(n)) => s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(n)),
        _ => false,
    };
    for (k, v) in txn.scan_all(&st.storage)? {
        let mut row = Vec::new();
        decode_row(&v, &mut row)?;
        if matches(row.first(), tbl) || matches(row.get(1), idx) {
            w.del(&st.storage, &k, v)?;
        }
    }
    Ok(())
}

/// Append a row to `sqlite_stat1` (which has no indexes: SQLite refuses them) after its
/// largest rowid.
fn append(schema: &Schema, txn: &Txn, w: &mut Writer, row: &[Value]) -> Result<()> {
    let st = schema.table(STAT1)?;
    let mut out = Vec::new();
    txn.scan(&st.storage, Bound::Unbounded, Bound::Unbounded, true, 1, &mut out)?;
    let next = match out.first() {
        Some((k, _)) => crate::sql::types::encoding::decode_rowid(k)?.checked_add(1).unwrap_or(1),
        None => 1,
    };
    let mut rec = Vec::new();
    encode_row(&mut rec, row);
    w.put(&st.storage, &rowid_key(next), &rec, None)
}
