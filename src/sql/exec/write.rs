//! Writing rows: INSERT (with its conflict clause and upserts), UPDATE and DELETE, keeping
//! every index in step with the rows and enforcing NOT NULL, CHECK, UNIQUE and PRIMARY KEY.
//!
//! Conflicts follow SQLite: uniqueness constraints are checked one at a time in SQLite's order
//! (ON CONFLICT targets first), and each conflict is resolved before the next check — REPLACE
//! deletes the other row (not counted as a change), IGNORE and DO NOTHING skip the row, DO
//! UPDATE updates the row conflicting on that target (with ABORT for its own conflicts), and
//! ABORT, FAIL and ROLLBACK stop the statement: the error comes back in
//! [`WriteResult::stopped`] with what it calls for, and the connection keeps (FAIL) or undoes
//! (ABORT) the statement's changes, or rolls the transaction back (ROLLBACK).
//!
//! Each write goes through [`Writer`], which records an undo entry when the statement runs
//! inside an explicit transaction, so a failing statement can be rolled back on its own
//! (the engine transaction stays open; see `api::connection`). DDL writes its schema records and
//! creates its engine tables through it too, so a failing DDL statement is undone the same way
//! (a new index's entries go straight into its new engine table, which the rollback drops).
//! UPDATE and DELETE first collect the rows their WHERE selects, then change them, so a change
//! never feeds back into the scan; UPDATE then visits the collected keys in key order and
//! updates the row under each key as it is at that point, as SQLite's two-pass UPDATE does.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Bound;

use crate::error::{Error, Result};
use crate::sql::catalog::{IndexDef, PrimaryKey, TableDef};
use crate::sql::exec::eval::Env;
use crate::sql::exec::{decode_table_row, index_row_key, open};
use crate::sql::parser::ast::ConflictAction;
use crate::sql::planner::expr::CExpr;
use crate::sql::planner::plan::{
    index_check_order, Constraint, DeletePlan, InsertPlan, RowRules, UpdatePlan, UpsertClause, UpsertPlan,
};
use crate::sql::planner::Plan;
use crate::sql::storage::{Txn, Writer};
use crate::sql::types::collation::Coll;
use crate::sql::types::encoding::{decode_rowid, encode_key_dir, encode_row, prefix_successor, rowid_key};
use crate::sql::types::value::Tuple;
use crate::sql::types::value::{Affinity, Value};

/// The row key of a row (columns + rowid for rowid tables).
pub fn row_key(t: &TableDef, row: &[Value]) -> Vec<u8> {
    match &t.pk {
        PrimaryKey::Rowid { .. } => rowid_key(row[t.columns.len()].to_i64()).to_vec(),
        PrimaryKey::Columns(cols) => {
            let mut k = Vec::new();
            for (i, (c, d)) in cols.iter().enumerate() {
                let coll = t.pk_colls.get(i).copied().unwrap_or(Coll::Binary);
                encode_key_dir(&mut k, &coll.key(&row[*c]), *d);
            }
            k
        }
    }
}

/// The index columns' key prefix for a row (each value folded by the column's collation).
fn index_prefix(ix: &IndexDef, row: &[Value]) -> Vec<u8> {
    let mut k = Vec::new();
    for (i, (c, d)) in ix.columns.iter().enumerate() {
        let coll = ix.colls.get(i).copied().unwrap_or(Coll::Binary);
        encode_key_dir(&mut k, &coll.key(&row[*c]), *d);
    }
    k
}

/// The key of a row's entry in an index: the indexed columns, then the row key `rk`.
pub fn index_key(ix: &IndexDef, row: &[Value], rk: &[u8]) -> Vec<u8> {
    let mut k = index_prefix(ix, row);
    k.extend_from_slice(rk);
    k
}

/// `Ok` if `key` (a row key of `t`, or with `ix` an entry of that index) is within the
/// engine's key limit; otherwise an error naming the table, the index or PRIMARY KEY and its
/// columns. (Only WITHOUT ROWID primary keys and index entries can exceed it: rowid keys are
/// at most 9 bytes.)
pub fn key_fits(t: &TableDef, ix: Option<&IndexDef>, key: &[u8]) -> Result<()> {
    if key.len() <= crate::sql::storage::MAX_KEY_LEN {
        return Ok(());
    }
    let cols = match ix {
        Some(ix) => ix.columns.clone(),
        None => t.key_columns(),
    };
    let columns = cols
        .iter()
        .map(|(c, desc)| {
            let name = t.columns.get(*c).map_or("?", |col| col.name.as_str());
            if *desc {
                format!("{name} DESC")
            } else {
                name.into()
            }
        })
        .collect();
    Err(Error::SqlKeyTooLarge {
        len: key.len(),
        max: crate::sql::storage::MAX_KEY_LEN,
        table: t.name.clone(),
        index: ix.map(|ix| ix.name.clone()),
        columns,
    })
}

/// Write row `row` under `key` in `t`'s table, encoding it in the writer's scratch space.
fn put_row(w: &mut Writer, t: &TableDef, key: &[u8], row: &[Value], prior: Option<Vec<u8>>) -> Result<()> {
    let mut rec = core::mem::take(w.rec);
    rec.clear();
    encode_row(&mut rec, &row[..t.columns.len()]);
    let r = w.put(&t.storage, key, &rec, prior);
    *w.rec = rec;
    r
}

fn constraint_cols(t: &TableDef, cols: &[(usize, bool)]) -> String {
    let names: Vec<String> = cols.iter().map(|(c, _)| format!("{}.{}", t.name, t.columns[*c].name)).collect();
    names.join(", ")
}

/// Find the row key of a row (other than `own`) that conflicts with `row` on a unique index.
fn unique_conflict(txn: &Txn, ix: &IndexDef, row: &[Value], own: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
    if ix.columns.iter().any(|(c, _)| row[*c].is_null()) {
        return Ok(None); // NULLs are distinct
    }
    let p = index_prefix(ix, row);
    let end = prefix_successor(&p);
    let endb = match &end {
        Some(e) => Bound::Excluded(e.as_slice()),
        None => Bound::Unbounded,
    };
    let mut out = Vec::new();
    txn.scan(&ix.storage, Bound::Included(&p), endb, false, 2, &mut out)?;
    for (k, _) in out {
        let rk = index_row_key(ix, &k, None)?.to_vec();
        if own != Some(rk.as_slice()) {
            return Ok(Some(rk));
        }
    }
    Ok(None)
}

/// Remove a row and its index entries.
pub fn delete_row(w: &mut Writer, t: &TableDef, key: &[u8], row: &[Value], record: Vec<u8>) -> Result<()> {
    for ix in &t.indexes {
        let k = index_key(ix, row, key);
        w.del(&ix.storage, &k, Vec::new())?;
    }
    w.del(&t.storage, key, record)
}

fn insert_row(w: &mut Writer, t: &TableDef, key: &[u8], row: &[Value], prior: Option<Vec<u8>>) -> Result<()> {
    for ix in &t.indexes {
        let k = index_key(ix, row, key);
        key_fits(t, Some(ix), &k)?;
        w.put(&ix.storage, &k, &[], None)?;
    }
    put_row(w, t, key, row, prior)
}

/// Apply affinities, then check NOT NULL and CHECK. `Ok(false)`: skip the row (OR IGNORE).
fn validate(t: &TableDef, rules: &RowRules, row: &mut [Value], or: ConflictAction, env: &mut Env) -> Result<bool> {
    for (i, c) in t.columns.iter().enumerate() {
        let v = core::mem::take(&mut row[i]);
        row[i] = c.affinity.apply(v);
        if c.not_null && row[i].is_null() {
            match or {
                ConflictAction::Ignore => return Ok(false),
                ConflictAction::Replace if rules.defaults[i].is_some() => {
                    let d = rules.defaults[i].as_ref().map(|d| d.eval(&[], env)).transpose()?.unwrap_or(Value::Null);
                    row[i] = c.affinity.apply(d);
                    if row[i].is_null() {
                        return Err(Error::Constraint(format!("NOT NULL constraint failed: {}.{}", t.name, c.name)));
                    }
                }
                _ => return Err(Error::Constraint(format!("NOT NULL constraint failed: {}.{}", t.name, c.name))),
            }
        }
    }
    for (chk, text) in &rules.checks {
        if chk.eval(row, env)?.truthy() == Some(false) {
            if or == ConflictAction::Ignore {
                return Ok(false);
            }
            return Err(Error::Constraint(format!("CHECK constraint failed: {text}")));
        }
    }
    Ok(true)
}

/// Counters and results of a write statement.
#[derive(Default)]
pub struct WriteResult {
    /// Rows changed (inserted, updated or deleted; not the rows REPLACE deleted).
    pub changes: u64,
    /// Rowid of the last inserted row.
    pub last_rowid: Option<i64>,
    /// RETURNING rows.
    pub returned: Vec<Tuple>,
    /// The error that stopped the statement part way, if any (`changes` and `last_rowid`
    /// then count what it did before).
    pub stopped: Option<Stopped>,
}

/// An error that stopped a write statement, and the conflict resolution it calls for: FAIL
/// keeps the statement's changes before it, ROLLBACK ends the whole transaction, ABORT (any
/// other error too) undoes the statement. The connection acts on it (`api::connection`).
pub struct Stopped {
    /// The error.
    pub error: Error,
    /// ABORT, FAIL or ROLLBACK.
    pub action: ConflictAction,
}

impl WriteResult {
    /// `Err` if the statement stopped part way (for callers that undo it whatever the
    /// conflict clause).
    pub fn finished(mut self) -> Result<WriteResult> {
        match self.stopped.take() {
            Some(s) => Err(s.error),
            None => Ok(self),
        }
    }

    /// Record `error` as what stopped the statement: a constraint violation under `action`
    /// (the conflict clause in force where it happened); any other error aborts.
    fn stop(&mut self, error: Error, action: ConflictAction) {
        let action = match (&error, action) {
            (Error::Constraint(_), ConflictAction::Fail | ConflictAction::Rollback) => action,
            _ => ConflictAction::Abort,
        };
        self.stopped = Some(Stopped { error, action });
    }
}

/// A new rowid for `t`: one past the largest in use (1 in an empty table). When the largest
/// possible rowid is in use, an unused random one in `1..=2^62`, as SQLite's `OP_NewRowid`
/// picks it (100 tries, then SQLITE_FULL). `Ok((rowid, random))`.
fn next_rowid(txn: &Txn, t: &TableDef) -> Result<(i64, bool)> {
    let mut out = Vec::new();
    txn.scan(&t.storage, Bound::Unbounded, Bound::Unbounded, true, 1, &mut out)?;
    let max = match out.first() {
        None => return Ok((1, false)),
        Some((k, _)) => decode_rowid(k)?,
    };
    if let Some(next) = max.checked_add(1) {
        return Ok((next, false));
    }
    let random = crate::sql::types::functions::scalar("random", 0)?;
    for _ in 0..100 {
        let v = match random(&[])? {
            Value::Integer(i) => i,
            _ => 0,
        };
        let id = (v & (i64::MAX >> 1)) + 1;
        if txn.get(&t.storage, &rowid_key(id))?.is_none() {
            return Ok((id, true));
        }
    }
    Err(Error::Sql("database or disk is full (no unused rowid found)".into()))
}

/// The clause handling a conflict on `c`: the first whose target is `c`, else a last clause
/// without a target.
fn clause_for(clauses: &[UpsertClause], c: Constraint) -> Option<&UpsertClause> {
    clauses.iter().find(|u| u.target == Some(c)).or_else(|| clauses.iter().find(|u| u.target.is_none()))
}

/// Run an INSERT. `moved`: its one source row, already evaluated
/// ([`InsertPlan::take_param_row`]). An error part way is returned in
/// [`WriteResult::stopped`].
pub fn insert(p: &InsertPlan, w: &mut Writer, env: &mut Env, moved: Option<Tuple>) -> Result<WriteResult> {
    let mut res = WriteResult::default();
    let mut action = p.or;
    if let Err(e) = insert_rows(p, w, env, moved, &mut res, &mut action) {
        res.stop(e, action);
    }
    Ok(res)
}

/// What the uniqueness checks decided for a new row.
enum Resolution<'p> {
    /// Write it.
    Insert,
    /// Skip it (IGNORE, DO NOTHING).
    Skip,
    /// Run this DO UPDATE on the row under the key; `raw`: the proposed row is seen before
    /// affinity (the conflict was found on the rowid before SQLite applied it).
    Update(&'p UpsertPlan, Vec<u8>, bool),
}

fn insert_rows(
    p: &InsertPlan,
    w: &mut Writer,
    env: &mut Env,
    moved: Option<Tuple>,
    res: &mut WriteResult,
    action: &mut ConflictAction,
) -> Result<()> {
    let t = &*p.table;
    let n = t.columns.len();
    // The next automatic rowid, while known without looking at the table.
    let mut auto: Option<i64> = None;
    let every_column = p.targets.len() == n && p.targets.iter().enumerate().all(|(i, &c)| i == c);
    let order = &p.check_order;
    let any_update = p.upsert.iter().any(|u| u.update.is_some());
    // Materialise the source first when it reads the target table (INSERT ... SELECT).
    let mut pending: Vec<Tuple> = Vec::new();
    let mut moved = moved;
    let reads_self = moved.is_none() && plan_reads(&p.source, &t.storage);
    let mut src = if moved.is_some() { None } else { Some(open(&p.source)) };
    if let (true, Some(src)) = (reads_self, &mut src) {
        while let Some(r) = src.next(env)? {
            pending.push(r);
        }
        pending.reverse();
    }
    loop {
        let srow = if let Some(r) = moved.take() {
            r
        } else if reads_self {
            match pending.pop() {
                Some(r) => r,
                None => break,
            }
        } else {
            match src.as_mut().map(|s| s.next(env)).transpose()?.flatten() {
                Some(r) => r,
                None => break,
            }
        };
        if srow.len() != p.targets.len() {
            return Err(Error::Sql(format!(
                "table {} has {} columns but {} values were supplied",
                t.name,
                n,
                srow.len()
            )));
        }
        let alias = match &t.pk {
            PrimaryKey::Rowid { alias } => *alias,
            PrimaryKey::Columns(_) => None,
        };
        let row = if every_column {
            // Every column given in order: the source row is the row.
            let mut row = srow;
            row.resize(t.row_width(), Value::Null);
            row
        } else {
            let mut row = vec![Value::Null; t.row_width()];
            let mut given = vec![false; n];
            for (v, &c) in srow.into_iter().zip(&p.targets) {
                row[c] = v;
                given[c] = true;
            }
            for i in 0..n {
                // An INTEGER PRIMARY KEY left out gets a new rowid, never its DEFAULT.
                if !given[i] && Some(i) != alias {
                    if let Some(d) = &p.rules.defaults[i] {
                        row[i] = d.eval(&[], env)?;
                    }
                }
            }
            row
        };
        let mut row = row;
        // The rowid; only a given one can conflict.
        let mut explicit_rowid = false;
        if let PrimaryKey::Rowid { alias } = &t.pk {
            let explicit = match alias {
                Some(a) => match Affinity::Integer.apply(core::mem::take(&mut row[*a])) {
                    Value::Null => None,
                    Value::Integer(i) => Some(i),
                    _ => return Err(Error::Sql("datatype mismatch".into())),
                },
                None => None,
            };
            explicit_rowid = explicit.is_some();
            let id = match (explicit, auto) {
                (Some(i), _) => i,
                (None, Some(a)) => a,
                (None, None) => {
                    let (id, random) = next_rowid(w.txn, t)?;
                    auto = if random { None } else { Some(id) };
                    id
                }
            };
            if let Some(a) = alias {
                row[*a] = Value::Integer(id);
            }
            row[n] = Value::Integer(id);
        }
        let raw = if any_update { Some(row.clone()) } else { None };
        if !validate(t, &p.rules, &mut row, p.or, env)? {
            continue;
        }
        let key = row_key(t, &row);
        key_fits(t, None, &key)?;
        // Uniqueness, constraint by constraint in SQLite's order: each conflict is resolved
        // (REPLACE deletes the other row at once) before the next constraint is checked.
        // SQLite applies affinity to the row before CHECK constraints or the first index.
        let mut affinity_done = !p.rules.checks.is_empty();
        let mut resolution = Resolution::Insert;
        for &c in order {
            let other = match c {
                Constraint::Key if t.has_rowid() => {
                    if !explicit_rowid {
                        continue; // a new rowid is unused
                    }
                    w.txn.get_new(&t.storage, &key)?.map(|_| key.clone())
                }
                Constraint::Key => {
                    affinity_done = true;
                    w.txn.get_new(&t.storage, &key)?.map(|_| key.clone())
                }
                Constraint::Index(i) => {
                    affinity_done = true;
                    unique_conflict(w.txn, &t.indexes[i], &row, None)?
                }
            };
            let Some(other) = other else { continue };
            match clause_for(&p.upsert, c) {
                Some(UpsertClause { update: None, .. }) => resolution = Resolution::Skip,
                Some(UpsertClause { update: Some(up), .. }) => {
                    resolution = Resolution::Update(up, other, !affinity_done)
                }
                None => match p.or {
                    ConflictAction::Ignore => resolution = Resolution::Skip,
                    ConflictAction::Replace => {
                        if let Some(rec) = w.txn.get(&t.storage, &other)? {
                            let old = decode_table_row(t, &other, &rec)?;
                            delete_row(w, t, &other, &old, rec)?;
                        }
                        auto = None; // the largest rowid may be gone
                        continue;
                    }
                    _ => return Err(conflict_error(t, c)),
                },
            }
            break;
        }
        match resolution {
            Resolution::Insert => {}
            Resolution::Skip => continue,
            Resolution::Update(up, other, raw_excluded) => {
                let rec = w.txn.get(&t.storage, &other)?.ok_or_else(|| Error::Sql("upsert lost its row".into()))?;
                let old = decode_table_row(t, &other, &rec)?;
                let mut both = old.clone();
                match (raw_excluded, raw) {
                    (true, Some(mut raw)) => {
                        for (i, c) in t.columns.iter().enumerate() {
                            // A NULL that OR REPLACE replaced by the column's DEFAULT: SQLite
                            // put the default's value (before affinity) in its place.
                            if raw[i].is_null() && !row[i].is_null() {
                                if let Some(d) = &p.rules.defaults[i] {
                                    raw[i] = d.eval(&[], env)?;
                                }
                            }
                            // SQLite reads REAL columns of `excluded` as reals (OP_RealAffinity).
                            if let (Affinity::Real, Value::Integer(v)) = (c.affinity, &raw[i]) {
                                raw[i] = Value::Real(*v as f64);
                            }
                        }
                        both.extend(raw);
                    }
                    _ => both.extend(row.iter().cloned()),
                }
                if let Some(wh) = &up.where_ {
                    if !wh.test(&both, env)? {
                        continue;
                    }
                }
                let mut new = old.clone();
                for (c, e) in &up.sets {
                    new[*c] = e.eval(&both, env)?;
                }
                // The DO UPDATE resolves its own conflicts with ABORT, whatever the statement's
                // conflict clause.
                *action = ConflictAction::Abort;
                let stored = update_one(t, &p.rules, ConflictAction::Abort, w, env, &other, old, rec, new)?;
                *action = p.or;
                auto = None; // it may have moved the row to a larger rowid
                if let Some(stored) = stored {
                    res.changes += 1;
                    if !p.returning.is_empty() {
                        res.returned.push(p.returning.iter().map(|e| e.eval(&stored, env)).collect::<Result<_>>()?);
                    }
                }
                continue;
            }
        }
        // Nothing is under the key now: either there was no conflict, or REPLACE removed it.
        insert_row(w, t, &key, &row, None)?;
        res.changes += 1;
        if t.has_rowid() {
            let id = row[n].to_i64();
            res.last_rowid = Some(id);
            // The next automatic rowid: one past the largest in the table.
            auto = match auto {
                Some(a) if id < i64::MAX => Some(a.max(id + 1)),
                _ => None,
            };
        }
        if !p.returning.is_empty() {
            res.returned.push(p.returning.iter().map(|e| e.eval(&row, env)).collect::<Result<_>>()?);
        }
    }
    Ok(())
}

fn conflict_error(t: &TableDef, c: Constraint) -> Error {
    let cols = match c {
        Constraint::Key => t.key_columns(),
        Constraint::Index(i) => t.indexes[i].columns.clone(),
    };
    if cols.is_empty() {
        return Error::Constraint(format!("UNIQUE constraint failed: {}.rowid", t.name));
    }
    Error::Constraint(format!("UNIQUE constraint failed: {}", constraint_cols(t, &cols)))
}

/// Whether a plan reads an engine table (so inserting into it must not stream).
fn plan_reads(p: &Plan, storage: &str) -> bool {
    match p {
        Plan::Scan(sp) => sp.table.storage == storage,
        Plan::Count { table, .. } => table.storage == storage,
        Plan::OrScan { branches, .. } => branches.iter().any(|b| plan_reads(b, storage)),
        Plan::Filter { input, .. }
        | Plan::Project { input, .. }
        | Plan::Aggregate { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Distinct { input, .. }
        | Plan::Limit { input, .. } => plan_reads(input, storage),
        Plan::NestedLoop { left, right, .. }
        | Plan::HashJoin { left, right, .. }
        | Plan::Compound { left, right, .. } => plan_reads(left, storage) || plan_reads(right, storage),
        // Rows of constants and parameters read nothing; subqueries inside other expressions
        // may read the table: be safe.
        Plan::Values(rows) => !rows.iter().flatten().all(|e| matches!(e, CExpr::Const(_) | CExpr::Param(_))),
        Plan::One | Plan::Rows(_) => false,
    }
}

/// Replace row `old` (under `key`) by `new`, keeping indexes in step; conflicts are resolved
/// by `or`, constraint by constraint in SQLite's order (the rowid, then [`index_check_order`]).
/// Returns the row as stored, or `None` if IGNORE skipped it.
#[allow(clippy::too_many_arguments)]
fn update_one(
    t: &TableDef,
    rules: &RowRules,
    or: ConflictAction,
    w: &mut Writer,
    env: &mut Env,
    key: &[u8],
    old: Tuple,
    old_rec: Vec<u8>,
    mut new: Tuple,
) -> Result<Option<Tuple>> {
    let n = t.columns.len();
    if let PrimaryKey::Rowid { alias: Some(a) } = &t.pk {
        match Affinity::Integer.apply(core::mem::take(&mut new[*a])) {
            Value::Integer(i) => {
                new[*a] = Value::Integer(i);
                new[n] = Value::Integer(i);
            }
            // SQLite's OP_MustBeInt on the new rowid: NULL is no integer either (whatever the
            // NOT NULL constraint or the conflict clause).
            _ => return Err(Error::Sql("datatype mismatch".into())),
        }
    }
    if !validate(t, rules, &mut new, or, env)? {
        return Ok(None);
    }
    let new_key = row_key(t, &new);
    key_fits(t, None, &new_key)?;
    let moved = new_key != key;
    let mut order = Vec::with_capacity(t.indexes.len() + 1);
    if t.has_rowid() {
        order.push(Constraint::Key);
    }
    order.extend(index_check_order(t));
    for c in order {
        let other = match c {
            Constraint::Key => {
                if !moved {
                    continue;
                }
                w.txn.get(&t.storage, &new_key)?.map(|_| new_key.clone())
            }
            Constraint::Index(i) => unique_conflict(w.txn, &t.indexes[i], &new, Some(key))?,
        };
        let Some(other) = other else { continue };
        match or {
            ConflictAction::Ignore => return Ok(None),
            ConflictAction::Replace => {
                if other.as_slice() != key {
                    if let Some(rec) = w.txn.get(&t.storage, &other)? {
                        let o = decode_table_row(t, &other, &rec)?;
                        delete_row(w, t, &other, &o, rec)?;
                    }
                }
            }
            _ => return Err(conflict_error(t, c)),
        }
    }
    for ix in &t.indexes {
        let ok = index_key(ix, &old, key);
        let nk = index_key(ix, &new, &new_key);
        key_fits(t, Some(ix), &nk)?;
        if ok != nk {
            w.del(&ix.storage, &ok, Vec::new())?;
            w.put(&ix.storage, &nk, &[], None)?;
        }
    }
    if moved {
        w.del(&t.storage, key, old_rec)?;
        let prior = w.txn.get(&t.storage, &new_key)?;
        put_row(w, t, &new_key, &new, prior)?;
    } else {
        put_row(w, t, key, &new, Some(old_rec))?;
    }
    Ok(Some(new))
}

fn collect(plan: &Arc<Plan>, env: &mut Env) -> Result<Vec<Tuple>> {
    let mut op = open(plan);
    let mut rows = Vec::new();
    while let Some(r) = op.next(env)? {
        rows.push(r);
    }
    Ok(rows)
}

/// Run an UPDATE. An error part way is returned in [`WriteResult::stopped`].
///
/// As SQLite does (its two-pass UPDATE): first the keys of the rows the WHERE selects, then,
/// in key order, the row under each key as it is now — a row REPLACE deleted is gone (not
/// updated, nor written back), a row moved onto a key still to come is updated there again.
pub fn update(p: &UpdatePlan, w: &mut Writer, env: &mut Env) -> Result<WriteResult> {
    let mut res = WriteResult::default();
    if let Err(e) = update_rows(p, w, env, &mut res) {
        res.stop(e, p.or);
    }
    Ok(res)
}

fn update_rows(p: &UpdatePlan, w: &mut Writer, env: &mut Env, res: &mut WriteResult) -> Result<()> {
    let t = &*p.table;
    let mut keys: Vec<Vec<u8>> = collect(&p.scan, env)?.iter().map(|row| row_key(t, row)).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        let Some(rec) = w.txn.get(&t.storage, &key)? else { continue };
        let old = decode_table_row(t, &key, &rec)?;
        let mut new = old.clone();
        for (c, e) in &p.sets {
            new[*c] = e.eval(&old, env)?;
        }
        if let Some(stored) = update_one(t, &p.rules, p.or, w, env, &key, old, rec, new)? {
            res.changes += 1;
            if !p.returning.is_empty() {
                res.returned.push(p.returning.iter().map(|e| e.eval(&stored, env)).collect::<Result<_>>()?);
            }
        }
    }
    Ok(())
}

/// Run a DELETE.
pub fn delete(p: &DeletePlan, w: &mut Writer, env: &mut Env) -> Result<WriteResult> {
    let t = &*p.table;
    let mut res = WriteResult::default();
    for row in collect(&p.scan, env)? {
        let key = row_key(t, &row);
        let Some(rec) = w.txn.get(&t.storage, &key)? else { continue };
        if !p.returning.is_empty() {
            res.returned.push(p.returning.iter().map(|e| e.eval(&row, env)).collect::<Result<_>>()?);
        }
        delete_row(w, t, &key, &row, rec)?;
        res.changes += 1;
    }
    Ok(res)
}

/// Fill a new index from the table's rows; fails on duplicates of a UNIQUE index.
pub fn build_index(txn: &Txn, t: &TableDef, ix: &IndexDef) -> Result<()> {
    let mut start: Bound<Vec<u8>> = Bound::Unbounded;
    loop {
        let mut batch = Vec::new();
        let sb = match &start {
            Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
            _ => Bound::Unbounded,
        };
        let done = txn.scan(&t.storage, sb, Bound::Unbounded, false, 1024, &mut batch)?;
        for (k, v) in &batch {
            let row = decode_table_row(t, k, v)?;
            if ix.unique && unique_conflict(txn, ix, &row, Some(k))?.is_some() {
                return Err(Error::Constraint(format!(
                    "UNIQUE constraint failed: {}",
                    constraint_cols(t, &ix.columns)
                )));
            }
            let key = index_key(ix, &row, k);
            key_fits(t, Some(ix), &key)?;
            txn.put(&ix.storage, &key, &[])?;
        }
        match batch.last() {
            Some((k, _)) if !done => start = Bound::Excluded(k.clone()),
            _ => return Ok(()),
        }
    }
}

/// Rewrite every row of a table with `f` (ALTER TABLE DROP COLUMN), undo-logged.
pub fn rewrite_rows(w: &mut Writer, t: &TableDef, f: &dyn Fn(&mut Tuple)) -> Result<()> {
    let rows = w.txn.scan_all(&t.storage)?;
    for (k, v) in rows {
        let mut row = decode_table_row(t, &k, &v)?;
        f(&mut row);
        let mut rec = Vec::new();
        let width = row.len() - t.has_rowid() as usize;
        encode_row(&mut rec, &row[..width]);
        w.put(&t.storage, &k, &rec, Some(v))?;
    }
    Ok(())
}
