//! Running DDL: CREATE / DROP of tables, indexes and views, ALTER TABLE, and CREATE TABLE
//! ... AS SELECT. Each statement updates the cached [`Schema`], writes its schema records and
//! creates or drops its engine tables through the statement's [`Writer`], so a failing
//! statement is undone like any write.

use crate::error::{Error, Result};
use crate::sql::planner::statement::writable;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Bound;

use crate::sql::catalog::{self, lower, IndexDef, Schema, TableDef, ViewDef};
use crate::sql::exec;
use crate::sql::exec::eval::Env;
use crate::sql::exec::write::{self};
use crate::sql::parser::ast::{self, AlterAction, ConflictAction, Statement};
use crate::sql::planner::plan::{InsertPlan, RowRules};
use crate::sql::planner::Plan;
use crate::sql::planner::Planner;
use crate::sql::storage::{Txn, Writer};
use crate::sql::types::value::Tuple;

// -------------------------------------------------------------------------------------------
// DDL

fn reserved(name: &str) -> Result<()> {
    if catalog::is_internal_name(name) {
        return Err(err(format!("object name reserved for internal use: {name}")));
    }
    Ok(())
}

/// Make the table `ct` defines, with its automatic indexes, in the storage, the schema
/// records and `schema`; `sql` gives the text stored for it.
pub(super) fn install_table(
    schema: &mut Schema,
    w: &mut Writer,
    ct: &ast::CreateTable,
    sql: impl FnOnce(&TableDef) -> String,
) -> Result<Arc<TableDef>> {
    let (_, needed) = catalog::build_table(ct, &ct.name, 0, Vec::new())?;
    let ids = schema.bump(w, 1 + needed)?;
    let (mut def, _) = catalog::build_table(ct, &ct.name, ids[0], ids[1..].to_vec())?;
    def.sql = vec![sql(&def)];
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
    Ok(def)
}

fn err(m: impl Into<String>) -> Error {
    Error::Sql(m.into())
}

/// Run one DDL statement against the schema and the storage.
pub fn ddl(schema: &mut Schema, txn: &Txn, stmt: &Statement, text: &str, w: &mut Writer) -> Result<()> {
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
            let as_select = rows.is_some();
            let def = install_table(schema, w, &ct, |d| if as_select { create_text(d) } else { text.to_string() })?;
            if let Some(rows) = rows {
                let t = def.clone();
                let p = InsertPlan {
                    table: t.clone(),
                    source: Arc::new(Plan::Rows(rows)),
                    targets: (0..t.columns.len()).collect(),
                    or: ConflictAction::Abort,
                    upsert: Vec::new(),
                    check_order: crate::sql::planner::plan::insert_check_order(&t, &[]),
                    rules: RowRules { checks: Vec::new(), defaults: (0..t.columns.len()).map(|_| None).collect() },
                    returning: Vec::new(),
                };
                let work = crate::sql::exec::spill::WorkMem::default();
                let mut env = Env { txn, params: &[], work: &work, outer: Vec::new(), subs: Vec::new() };
                write::insert(&p, w, &mut env, None)?.finished()?;
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
            super::analyze::clear(schema, txn, w, Some(&t.name), None)?;
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
            if key == catalog::STAT1 {
                schema.stats.clear();
            }
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
            if catalog::is_internal_name(&t.name) {
                return Err(err(format!("table {} may not be indexed", t.name)));
            }
            let columns: Vec<(usize, bool)> = ci
                .columns
                .iter()
                .map(|c| Ok((t.column(&c.name).ok_or_else(|| err(format!("no such column: {}", c.name)))?, c.desc)))
                .collect::<Result<_>>()?;
            let explicit: Vec<Option<String>> = ci.columns.iter().map(|c| c.collation.clone()).collect();
            let colls = catalog::index_colls(&t, &columns, &explicit)?;
            let ids = schema.bump(w, 1)?;
            let ix = IndexDef {
                name: ci.name.clone(),
                table: t.name.clone(),
                columns,
                unique: ci.unique,
                colls,
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
            super::analyze::clear(schema, txn, w, None, Some(&ix.name))?;
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
                    // Its own name too, in any case (SQLite refuses `RENAME TO` the same name).
                    if schema.name_taken(new) {
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
                    views_survive(schema, txn, &nt, "drop column")?;
                    write::rewrite_rows(w, &t, &|row: &mut Tuple| {
                        row.remove(i);
                    })?;
                    for ix in &nt.indexes {
                        if ix.sql.is_some() {
                            catalog::save_index(w, ix)?;
                        }
                    }
                }
                AlterAction::RenameColumn { .. } => {
                    catalog::apply_alter(&mut nt, action)?;
                    // Views are stored as text and not rewritten: one that names the column
                    // is refused rather than left broken.
                    views_survive(schema, txn, &nt, "rename column")
                        .map_err(|e| err(format!("not supported: renaming a column a view uses ({e})")))?;
                }
                AlterAction::AddColumn(_) => {
                    let checks_before = nt.checks.len();
                    catalog::apply_alter(&mut nt, action)?;
                    // As SQLite, the rows already stored must accept the column: only then
                    // do its DEFAULT, NOT NULL and CHECKs matter here.
                    let mut first = Vec::new();
                    txn.scan(&t.storage, Bound::Unbounded, Bound::Unbounded, false, 1, &mut first)?;
                    if !first.is_empty() {
                        let col = nt.columns.last().ok_or_else(|| err("added column"))?;
                        if let Some(d) = &col.default {
                            catalog::fold_added_default(d)?;
                        }
                        if col.not_null && col.absent.is_null() {
                            return Err(err("Cannot add a NOT NULL column with default value NULL"));
                        }
                        if nt.checks.len() > checks_before {
                            existing_rows_pass(schema, txn, &nt, checks_before)?;
                        }
                    }
                }
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
        Statement::Analyze(target) => super::analyze::analyze(schema, txn, target.as_deref(), w),
        _ => Err(err("unsupported statement")),
    }
}

/// The CHECK constraints of an added column (`table.checks[from..]`) hold for the rows
/// already stored, which read the column's DEFAULT (SQLite verifies them the same way).
fn existing_rows_pass(schema: &Schema, txn: &Txn, table: &TableDef, from: usize) -> Result<()> {
    let frames = [crate::sql::planner::Frame::of_table(table, &lower(&table.name))];
    let mut p = Planner::new(schema, txn);
    let checks: Vec<_> = table.checks[from..].iter().map(|(_, e)| p.compile_expr(e, &frames)).collect::<Result<_>>()?;
    let work = crate::sql::exec::spill::WorkMem::default();
    let mut env = Env { txn, params: &[], work: &work, outer: Vec::new(), subs: Vec::new() };
    for (k, v) in txn.scan_all(&table.storage)? {
        let row = exec::scan::decode_table_row(table, &k, &v)?;
        for c in &checks {
            if c.eval(&row, &mut env)?.truthy() == Some(false) {
                return Err(err("CHECK constraint failed"));
            }
        }
    }
    Ok(())
}

/// Upgrade a format-2 database whose index or WITHOUT ROWID keys have NOCASE or RTRIM
/// columns (`Schema::unfolded_keys`): format 2 wrote such keys unfolded, format 3 folds them
/// by the collation. Every index with such a column is rebuilt; a WITHOUT ROWID table whose
/// primary key has one is re-keyed and all its indexes rebuilt. Values that are equal under
/// the collation in a UNIQUE index or primary key (which format 2 let in) make the upgrade
/// fail with a constraint error naming them, and nothing is changed. The meta record then
/// says format 3.
pub fn upgrade_collated_keys(schema: &mut Schema, txn: &Txn, w: &mut Writer) -> Result<()> {
    use crate::sql::types::collation::Coll;
    let tables: Vec<Arc<TableDef>> = schema.tables_by_name().into_iter().cloned().collect();
    for t in tables {
        let rekey = !t.has_rowid() && !Coll::all_binary(&t.pk_colls);
        if rekey {
            let rows = txn.scan_all(&t.storage)?;
            for (k, _) in &rows {
                txn.remove(&t.storage, k)?;
            }
            for (k, v) in &rows {
                let row = exec::scan::decode_table_row(&t, k, v)?;
                let nk = write::row_key(&t, &row);
                if txn.get(&t.storage, &nk)?.is_some() {
                    return Err(Error::Constraint(format!(
                        "cannot upgrade table {} to SQL storage format 3: two rows have primary keys equal under \
                         its collation",
                        t.name
                    )));
                }
                txn.put(&t.storage, &nk, v)?;
            }
        }
        for ix in &t.indexes {
            if rekey || !Coll::all_binary(&ix.colls) {
                txn.writer()?.delete_table_internal(&ix.storage)?;
                w.create_table(&ix.storage)?;
                write::build_index(txn, &t, ix).map_err(|e| match e {
                    Error::Constraint(m) => Error::Constraint(format!(
                        "cannot upgrade index {} to SQL storage format 3 ({m}: values equal under its collation)",
                        ix.name
                    )),
                    e => e,
                })?;
            }
        }
    }
    schema.bump(w, 0)?;
    schema.unfolded_keys = false;
    Ok(())
}

/// Refuse a change of table `changed` that would break a view: every view that compiles
/// against the current schema must still compile with `changed` in place (SQLite re-parses
/// its schema the same way and reports `error in view v after drop column: …`).
fn views_survive(schema: &Schema, txn: &Txn, changed: &TableDef, what: &str) -> Result<()> {
    if schema.views.is_empty() {
        return Ok(());
    }
    let mut after = schema.clone();
    after.tables.insert(lower(&changed.name), Arc::new(changed.clone()));
    // The first broken view by name, so that the message does not depend on hash order.
    let mut broken: Option<(&String, Error)> = None;
    for (name, v) in &schema.views {
        if broken.as_ref().is_some_and(|(b, _)| *b < name) {
            continue;
        }
        if Planner::new(schema, txn).plan_query(&v.query, &[]).is_err() {
            continue; // already broken (a dropped table): not this change's doing
        }
        if let Err(e) = Planner::new(&after, txn).plan_query(&v.query, &[]) {
            broken = Some((name, e));
        }
    }
    match broken {
        None => Ok(()),
        Some((name, e)) => {
            let msg = match e {
                Error::Sql(m) => m,
                e => alloc::format!("{e}"),
            };
            Err(err(format!("error in view {} after {what}: {msg}", schema.views[name].name)))
        }
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
