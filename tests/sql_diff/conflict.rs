//! Conflict clauses, upserts and RETURNING for `sql_diff` (issue 17): INSERT and UPDATE with
//! every conflict clause (ABORT, FAIL, IGNORE, REPLACE, ROLLBACK, and none), upserts (one to
//! three ON CONFLICT clauses, with targets in any column order or none on the last, DO NOTHING
//! or DO UPDATE SET over `excluded.*`, unqualified and table-qualified columns, with a WHERE
//! now and then, and now and then a target that is no UNIQUE constraint, an error), RETURNING
//! on INSERT, UPDATE and DELETE, explicit transactions around them (so OR ROLLBACK ends one and
//! OR FAIL keeps part of a statement), UNIQUE indexes added so that tables have several keys,
//! and now and then a table with CHECK constraints. Each statement must have the same outcome,
//! the same changes() and last_insert_rowid() where it sets them, the same RETURNING rows (a
//! multiset), then the same table contents.
//!
//! What keeps it deterministic (SQLite's `update.c` and `insert.c`):
//! - UPDATE visits rows in key (rowid) order when it is two-pass: when it sets the INTEGER
//!   PRIMARY KEY (`chngKey`) or its conflict clause is REPLACE (`bReplace`); then any value may
//!   go into a UNIQUE or PRIMARY KEY column. Otherwise SQLite may update in scan order
//!   (ONEPASS_MULTI), so: constrained columns get constants under ABORT and ROLLBACK (a
//!   conflict undoes the statement whichever row meets it first), and under FAIL (which keeps
//!   the rows before the failure) or IGNORE with a constrained column, the WHERE picks one row
//!   by its rowid.
//! - An upsert checks its targets in clause order, then the rowid, then the other
//!   constraints in an order Tessera only approximates (SQLite keeps indexes newest first and
//!   puts a PRIMARY KEY where it was declared): a last ON CONFLICT without a target does DO
//!   UPDATE only when at most one other constraint (by its columns) is left to it, so which
//!   row it updates never depends on that order. (DO NOTHING, IGNORE, REPLACE and errors do
//!   not depend on it.)
//! - No upsert after DEFAULT VALUES (SQLite's grammar has none) or on INSERT ... SELECT.

use super::*;
use generator::Src;

const CLAUSES: [&str; 6] = ["", " OR ABORT", " OR FAIL", " OR IGNORE", " OR REPLACE", " OR ROLLBACK"];

impl Case {
    /// A step of this module on table `t`.
    pub(super) fn conflict_step(&mut self, t: usize) -> Result<(), String> {
        match self.gen.rng.below(12) {
            0 if self.gen.tables.len() < 4 && self.gen.rng.chance(50) => self.add_checked_table(),
            0 => self.add_unique_index(t),
            1 | 2 => {
                self.change_returning("BEGIN")?;
                for _ in 0..1 + self.gen.rng.below(3) {
                    let sql = self.gen.conflict_statement(t);
                    self.change_returning(&sql)?;
                }
                let end = *self.gen.rng.pick(&["COMMIT", "COMMIT", "ROLLBACK"]);
                self.change_returning(end)
            }
            _ => {
                let sql = self.gen.conflict_statement(t);
                self.change_returning(&sql)
            }
        }
    }

    /// A table with CHECK constraints and several keys (the schema of `generator.rs` has no
    /// CHECK): an INTEGER PRIMARY KEY, UNIQUE columns, NOT NULL with and without DEFAULT.
    fn add_checked_table(&mut self) -> Result<(), String> {
        let g = &mut self.gen;
        let name = format!("t{}", g.tables.len());
        let ncols = 4 + g.rng.below(2);
        let mut cols = Vec::new();
        for (i, &col) in COLUMN_NAMES.iter().enumerate().take(ncols) {
            let ty = if i == 0 { Some("INTEGER") } else { *g.rng.pick(&TYPES) };
            let not_null = i > 0 && g.rng.chance(30);
            let default = if g.rng.chance(40) { Some(g.literal(ty)) } else { None };
            let unique = i > 0 && g.rng.chance(45);
            cols.push(Column { name: col, ty, not_null, unique, default, coll: g.column_collation() });
        }
        let mut checks = Vec::new();
        for _ in 0..1 + g.rng.below(2) {
            let c = COLUMN_NAMES[1 + g.rng.below(ncols - 1)];
            checks.push(match g.rng.below(4) {
                0 => format!("{c} IS NULL OR {c} < {}", g.rng.range(3, 9)),
                1 => format!("{c} <> {}", g.literal(None)),
                2 => format!("length({c}) < {}", g.rng.range(2, 4)),
                _ => format!("{c} IS NOT {}", g.literal(None)),
            });
        }
        let table = Table { name, cols, ipk: true, pk: Vec::new(), indexes: Vec::new(), checks };
        let ddl = table.ddl();
        if self.change(&ddl, false)? {
            self.gen.tables.push(table);
        }
        Ok(())
    }

    /// A UNIQUE index on one or two columns, while the table has fewer than three keys.
    fn add_unique_index(&mut self, t: usize) -> Result<(), String> {
        let table = self.gen.tables[t].clone();
        if keys(&table).len() >= 3 {
            return Ok(());
        }
        let mut ix = self.gen.index(&table);
        ix.unique = true;
        let sql = index_ddl(&table, &ix);
        if self.change(&sql, false)? {
            self.gen.tables[t].indexes.push(ix);
        }
        Ok(())
    }

    /// A statement that may return rows: the same outcome (error or not, constraint or not),
    /// RETURNING rows (a multiset), changes() and last_insert_rowid(), then the same tables.
    fn change_returning(&mut self, sql: &str) -> Result<(), String> {
        self.current = sql.to_string();
        let (s_before, r_before) = (self.subject.counters(), self.reference.counters());
        let s = self.subject.query(sql);
        let s_counts = self.subject.counters();
        let r = self.reference.query(sql);
        let r_counts = self.reference.counters();
        let why = match (&s, &r) {
            (Ok(a), Ok(b)) => compare_rows(a, b, None, false).err(),
            (Err(a), Err(b)) if a.constraint == b.constraint => None,
            _ => Some("the statement's outcome differs".to_string()),
        };
        // The counters are compared where the statement sets them, not as absolute values:
        // the `reopen` step starts Tessera's connection afresh (both at 0) and not SQLite's.
        // changes(): set by a DML statement that ran (succeeded or broke a constraint), not by
        // BEGIN, COMMIT, ROLLBACK or an error before running. last_insert_rowid(): the same as
        // SQLite's, or (SQLite's unchanged, so maybe not set) unchanged.
        let sets_changes = !matches!(sql, "BEGIN" | "COMMIT" | "ROLLBACK")
            && match &r {
                Ok(_) => true,
                Err(e) => e.constraint,
            };
        let changes_ok = !sets_changes || s_counts.0 == r_counts.0;
        let rowid_ok = s_counts.1 == r_counts.1 || (r_counts.1 == r_before.1 && s_counts.1 == s_before.1);
        let why = why.or_else(|| {
            (!changes_ok || !rowid_ok).then(|| {
                format!(
                    "(changes, last_insert_rowid) differ: {s_before:?} -> {s_counts:?} vs sqlite \
                     {r_before:?} -> {r_counts:?}"
                )
            })
        });
        if let Some(why) = why {
            let show =
                |q: &Result<Rows, DbError>, c: (u64, i64)| format!("{}\n    counters {c:?}", show_query(q, true));
            return Err(self.report(sql, &why, show(&s, s_counts), show(&r, r_counts)));
        }
        self.stats.dml += 1;
        self.stats.conflict += 1;
        match &r {
            Ok(_) => {
                self.stats.dml_ok += 1;
                self.stats.rows_changed += r_counts.0;
            }
            Err(e) if e.constraint => self.stats.dml_constraint += 1,
            Err(_) => self.stats.dml_other_error += 1,
        }
        self.history.push(sql.to_string());
        self.compare_tables(sql)
    }
}

/// The table's uniqueness constraints by their columns (sorted, without repeats: two
/// constraints over the same columns conflict with the same row).
fn keys(t: &Table) -> Vec<Vec<usize>> {
    let mut v: Vec<Vec<usize>> = Vec::new();
    if t.ipk {
        v.push(vec![0]);
    }
    if !t.pk.is_empty() {
        v.push(t.pk.clone());
    }
    v.extend((0..t.cols.len()).filter(|&c| t.cols[c].unique).map(|c| vec![c]));
    v.extend(t.indexes.iter().filter(|ix| ix.unique).map(|ix| ix.cols.iter().map(|&(c, _)| c).collect()));
    for k in &mut v {
        k.sort_unstable();
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    for k in v {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

impl Gen {
    /// An INSERT, UPDATE or DELETE of table `t` with a conflict clause, upsert or RETURNING.
    fn conflict_statement(&mut self, t: usize) -> String {
        let mut sql = match self.rng.below(10) {
            0..=4 => self.conflict_insert(t),
            5..=8 => self.conflict_update(t),
            _ => self.delete(t),
        };
        if self.rng.chance(45) {
            sql.push_str(&self.returning(t));
        }
        sql
    }

    fn returning(&mut self, t: usize) -> String {
        let ncols = self.tables[t].cols.len();
        let mut items = Vec::new();
        for _ in 0..1 + self.rng.below(3) {
            let c = self.tables[t].cols[self.rng.below(ncols)].name;
            items.push(match self.rng.below(6) {
                0 => "*".to_string(),
                1 => format!("typeof({c})"),
                2 => format!("{c} || 'x'"),
                3 => "rowid".to_string(),
                _ => c.to_string(),
            });
        }
        format!(" RETURNING {}", items.join(", "))
    }

    fn conflict_insert(&mut self, t: usize) -> String {
        let or = *self.rng.pick(&CLAUSES);
        let verb = if or == " OR REPLACE" && self.rng.chance(30) {
            "REPLACE INTO".to_string()
        } else {
            format!("INSERT{or} INTO")
        };
        let mut sql = self.insert(t, Some(&verb));
        if !sql.ends_with("DEFAULT VALUES") && self.rng.chance(60) {
            sql.push_str(&self.upsert(t));
        }
        sql
    }

    /// One to three ON CONFLICT clauses.
    fn upsert(&mut self, t: usize) -> String {
        let table = self.tables[t].clone();
        let keys = keys(&table);
        let n = 1 + self.rng.below(3);
        let mut covered: Vec<Vec<usize>> = Vec::new();
        let mut s = String::new();
        for i in 0..n {
            let last = i == n - 1;
            let mut target = String::new();
            if !(last && self.rng.chance(30)) {
                let mut cols = if keys.is_empty() || self.rng.chance(4) {
                    // Most likely no UNIQUE constraint: an error on both sides.
                    vec![self.rng.below(table.cols.len())]
                } else {
                    self.rng.pick(&keys).clone()
                };
                for j in (1..cols.len()).rev() {
                    let k = self.rng.below(j + 1);
                    cols.swap(j, k);
                }
                let mut sorted = cols.clone();
                sorted.sort_unstable();
                covered.push(sorted);
                target = format!("({})", cols.iter().map(|&c| table.cols[c].name).collect::<Vec<_>>().join(", "));
            }
            let left = keys.iter().filter(|k| !covered.contains(k)).count();
            let update = self.rng.chance(65) && (!target.is_empty() || left <= 1);
            let _ = write!(s, " ON CONFLICT{target} DO ");
            if update {
                s.push_str(&self.do_update(t));
            } else {
                s.push_str("NOTHING");
            }
            if target.is_empty() {
                break;
            }
        }
        s
    }

    /// `UPDATE SET ... [WHERE ...]` of an upsert: over the existing row (unqualified or
    /// qualified by the table's name) and `excluded.*`.
    fn do_update(&mut self, t: usize) -> String {
        let name = self.tables[t].name.clone();
        let ncols = self.tables[t].cols.len();
        let ctx = vec![Src { alias: name.clone(), table: t }, Src { alias: "excluded".into(), table: t }];
        let mut sets = Vec::new();
        let cols = self.one_or_two_columns(ncols, 35);
        for c in cols {
            let v = self.upsert_value(t, &ctx);
            sets.push(format!("{} = {v}", self.tables[t].cols[c].name));
        }
        let mut s = format!("UPDATE SET {}", sets.join(", "));
        if self.rng.chance(30) {
            let op = self.cmp_op();
            let (a, b) = (self.upsert_operand(t, &ctx), self.upsert_operand(t, &ctx));
            let _ = write!(s, " WHERE {a} {op} {b}");
        }
        s
    }

    /// A column of the existing row (unqualified or qualified), of `excluded`, or a literal.
    fn upsert_operand(&mut self, t: usize, ctx: &[Src]) -> String {
        let c = self.tables[t].cols[self.rng.below(self.tables[t].cols.len())].name;
        match self.rng.below(6) {
            0 | 1 => c.to_string(),
            2 => format!("{}.{c}", self.tables[t].name),
            3 | 4 => format!("excluded.{c}"),
            _ => self.operand(ctx),
        }
    }

    fn upsert_value(&mut self, t: usize, ctx: &[Src]) -> String {
        let a = self.upsert_operand(t, ctx);
        match self.rng.below(9) {
            0 => format!("{a} + 1"),
            1 => format!("{a} || {}", self.upsert_operand(t, ctx)),
            2 => format!("coalesce({a}, {})", self.upsert_operand(t, ctx)),
            3 => format!("typeof({a})"),
            4 => self.expr(ctx, 1),
            5 => self.literal(None),
            _ => a,
        }
    }

    /// An UPDATE with a conflict clause that SQLite runs the same whatever order it visits
    /// the rows in (see the module docs).
    fn conflict_update(&mut self, t: usize) -> String {
        let or = *self.rng.pick(&CLAUSES);
        let table = self.tables[t].clone();
        let name = table.name.clone();
        let ctx = vec![Src { alias: name.clone(), table: t }];
        let ncols = table.cols.len();
        let cols = self.one_or_two_columns(ncols, 40);
        let sets_key = table.ipk && cols.contains(&0);
        let constrained = cols.iter().any(|&c| table.constrained(c));
        // Two-pass in key order: any value anywhere.
        let key_order = sets_key || or == " OR REPLACE";
        let one_row = !key_order && (or == " OR FAIL" || (or == " OR IGNORE" && constrained) || self.rng.chance(15));
        let sets: Vec<String> = cols
            .iter()
            .map(|&c| {
                let v = if key_order || one_row || !table.constrained(c) {
                    self.free_value(t, c, &ctx)
                } else {
                    self.set_value(t, c, &ctx)
                };
                format!("{} = {v}", table.cols[c].name)
            })
            .collect();
        let mut sql = format!("UPDATE{or} {name} SET {}", sets.join(", "));
        if one_row {
            let key = if table.ipk { table.cols[0].name } else { "rowid" };
            let _ = write!(sql, " WHERE {key} = {}", self.rng.range(1, 12));
        } else if self.rng.chance(85) {
            let _ = write!(sql, " WHERE {}", self.pred(&ctx, 2));
        }
        sql
    }

    /// Any value for column `c` of the row: often near its current value, so that keys move
    /// onto each other.
    fn free_value(&mut self, t: usize, c: usize, ctx: &[Src]) -> String {
        let col = self.tables[t].cols[c].name;
        match self.rng.below(8) {
            0 => format!("{col} + 1"),
            1 => format!("{col} - 1"),
            2 => format!("{} - {col}", self.rng.range(2, 12)),
            3 if self.tables[t].ipk && c == 0 => self.rng.range(1, 12).to_string(),
            3 => self.literal(self.tables[t].cols[c].ty),
            4 => self.set_value(t, c, ctx),
            5 => format!("CASE WHEN {} THEN {col} ELSE {} END", self.pred(ctx, 1), self.insert_value(t, c)),
            _ => self.insert_value(t, c),
        }
    }
}
