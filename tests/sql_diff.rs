//! Differential test of `tessera::sql` against real SQLite (rusqlite, bundled).
//!
//! A seeded, deterministic generator (its own xorshift64*) builds random cases. Each case has a
//! random schema — 2 or 3 tables whose columns are INTEGER, TEXT, REAL or untyped; an INTEGER
//! PRIMARY KEY, a composite PRIMARY KEY or none; column UNIQUE constraints, NOT NULL and DEFAULT
//! clauses; secondary and UNIQUE indexes, some over two columns, some DESC — then fills the
//! tables with NULLs, duplicates, negative numbers and values of every type in every column,
//! and runs a random mix of:
//! - DML: INSERT (plain, OR IGNORE, OR REPLACE, REPLACE, multi-row, column lists, DEFAULT
//!   VALUES), UPDATE and DELETE with WHERE; CREATE [UNIQUE] INDEX and DROP INDEX on the way;
//! - queries: WHERE with comparisons, AND/OR/NOT, IN lists, BETWEEN, IS [NOT] NULL, IS, LIKE on
//!   indexed and non-indexed columns; DISTINCT; ORDER BY over every output column (so the
//!   order is total up to identical rows) with LIMIT/OFFSET; GROUP BY with count, sum, min,
//!   max, avg, total and `length(group_concat(..))` (the length does not depend on the
//!   concatenation order), HAVING; INNER, LEFT, CROSS and comma joins, on indexed columns too;
//!   scalar (aggregate), IN and EXISTS subqueries, correlated or not; UNION, UNION ALL,
//!   INTERSECT, EXCEPT; CASE, CAST, COALESCE/IFNULL/NULLIF, typeof, abs, length, upper, lower,
//!   substr; arithmetic with integer division and division (and modulo) by zero.
//!
//! Every statement runs on both engines. They must agree on success or error (and when either
//! side reports a constraint violation, the other must report one too); DML must report the
//! same number of changed rows; queries must return the same number of columns and the same
//! rows: compared as multisets without ORDER BY; with ORDER BY, position by position on the
//! sort key, and as multisets within each run of rows with equal sort keys (at a LIMIT or
//! OFFSET edge such a run may be cut anywhere, so only the keys are compared there). Values
//! must have the same type (INTEGER vs REAL included); REALs are equal within a relative
//! tolerance of 1e-9. One relaxation: where SQLite itself does not define which of two equal
//! values survives — a query with DISTINCT, GROUP BY, UNION, INTERSECT, EXCEPT, min() or
//! max(), where `1` and `1.0` are the same value — an INTEGER may match an equal REAL. After
//! every DML or DDL statement the full contents of every table are compared (strictly).
//!
//! The generator keeps to what SQLite defines: no bare columns in aggregate queries, scalar
//! subqueries are aggregates (one row), no LIMIT without a total ORDER BY, no group_concat
//! whose order would matter, UNIQUE and PRIMARY KEY columns are only set to constants by UPDATE
//! (so the outcome does not depend on the order rows are updated in), UPDATE's SET has no
//! subquery on the table being updated, no huge integers (no order-dependent overflow in
//! sum()), PRIMARY KEY columns are NOT NULL (avoiding SQLite's legacy NULLs-in-PRIMARY-KEY).
//!
//! On a mismatch the test prints the case seed, the schema, the statement, both results and
//! the statements before it, then fails (after at most a few failing cases).
//!
//! Environment:
//! - `TESSERA_TEST_SCALE` (float, default 1.0): scales the number of cases (80 at 1.0).
//! - `TESSERA_DIFF_SEED=<u64>` (decimal or 0x-hex): run only the case with this seed (as printed
//!   on a failure).
//! - `TESSERA_DIFF_SELFTEST=1`: validate the harness instead of Tessera — both sides are real
//!   SQLite, the second connection with `PRAGMA reverse_unordered_selects = ON` (unordered
//!   results and UPDATE/DELETE scans come back in another order), so any dependence of the
//!   harness on unspecified order shows up as a mismatch. Both sides must always agree.
//!
//! Run: `cargo test --release --test sql_diff -- --nocapture`.

mod common;

use std::fmt::Write as _;

use common::from_sqlite;
use tessera::sql::Value;

const DEFAULT_SEED: u64 = 0x5d1f_f00d_2024_0001;
const CASES: usize = 80;
const STEPS_PER_CASE: usize = 120;
const MAX_FAILED_CASES: usize = 3;
const REAL_TOLERANCE: f64 = 1e-9;

// ---------------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------------

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// xorshift64* (Vigna).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(splitmix(seed) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
    /// True with probability `percent`%.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Inclusive range.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }
}

// ---------------------------------------------------------------------------------------------
// Engines
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct DbError {
    constraint: bool,
    message: String,
}

/// Rows of a query: the column count and the values.
#[derive(Debug, Clone)]
struct Rows {
    columns: usize,
    rows: Vec<Vec<Value>>,
}

trait Db {
    /// Runs one statement; returns the rows it changed.
    fn execute(&mut self, sql: &str) -> Result<u64, DbError>;
    /// Runs one query and collects its rows.
    fn query(&mut self, sql: &str) -> Result<Rows, DbError>;
}

struct TesseraDb(tessera::sql::Connection);

fn tessera_err(e: tessera::Error) -> DbError {
    DbError { constraint: matches!(e, tessera::Error::Constraint(_)), message: e.to_string() }
}

impl Db for TesseraDb {
    fn execute(&mut self, sql: &str) -> Result<u64, DbError> {
        self.0.execute(sql, &[]).map_err(tessera_err)
    }
    fn query(&mut self, sql: &str) -> Result<Rows, DbError> {
        let rows = self.0.query(sql, &[]).map_err(tessera_err)?;
        let columns = rows.columns().len();
        let rows =
            rows.map(|r| r.map(tessera::sql::Row::into_values)).collect::<Result<Vec<_>, _>>().map_err(tessera_err)?;
        Ok(Rows { columns, rows })
    }
}

struct SqliteDb(rusqlite::Connection);

fn sqlite_err(e: rusqlite::Error) -> DbError {
    let constraint =
        matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation);
    DbError { constraint, message: e.to_string() }
}

impl Db for SqliteDb {
    fn execute(&mut self, sql: &str) -> Result<u64, DbError> {
        self.0.execute(sql, []).map(|n| n as u64).map_err(sqlite_err)
    }
    fn query(&mut self, sql: &str) -> Result<Rows, DbError> {
        let mut stmt = self.0.prepare(sql).map_err(sqlite_err)?;
        let columns = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sqlite_err)? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(from_sqlite(row.get_ref(i).map_err(sqlite_err)?));
            }
            out.push(values);
        }
        Ok(Rows { columns, rows: out })
    }
}

fn sqlite_memory() -> rusqlite::Connection {
    rusqlite::Connection::open_in_memory().expect("opening an in-memory SQLite database")
}

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

const COLUMN_NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];
const CMP_OPS: [&str; 8] = ["=", "==", "<>", "!=", "<", "<=", ">", ">="];
const TYPES: [Option<&str>; 4] = [Some("INTEGER"), Some("TEXT"), Some("REAL"), None];

#[derive(Clone, Debug)]
struct Column {
    name: &'static str,
    ty: Option<&'static str>,
    not_null: bool,
    unique: bool,
    default: Option<String>,
}

#[derive(Clone, Debug)]
struct Index {
    name: String,
    unique: bool,
    /// (column, descending)
    cols: Vec<(usize, bool)>,
}

#[derive(Clone, Debug)]
struct Table {
    name: String,
    cols: Vec<Column>,
    /// Column 0 is an INTEGER PRIMARY KEY (the rowid).
    ipk: bool,
    /// Columns of a PRIMARY KEY(...) table constraint.
    pk: Vec<usize>,
    indexes: Vec<Index>,
}

impl Table {
    fn ddl(&self) -> String {
        let mut s = format!("CREATE TABLE {}(", self.name);
        for (i, c) in self.cols.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(c.name);
            if let Some(ty) = c.ty {
                let _ = write!(s, " {ty}");
            }
            if i == 0 && self.ipk {
                s.push_str(" PRIMARY KEY");
            }
            if c.not_null {
                s.push_str(" NOT NULL");
            }
            if c.unique {
                s.push_str(" UNIQUE");
            }
            if let Some(d) = &c.default {
                let _ = write!(s, " DEFAULT {d}");
            }
        }
        if !self.pk.is_empty() {
            let cols: Vec<&str> = self.pk.iter().map(|&i| self.cols[i].name).collect();
            let _ = write!(s, ", PRIMARY KEY({})", cols.join(", "));
        }
        s.push(')');
        s
    }

    /// Whether a UNIQUE or PRIMARY KEY constraint covers column `col`.
    fn constrained(&self, col: usize) -> bool {
        (self.ipk && col == 0)
            || self.pk.contains(&col)
            || self.cols[col].unique
            || self.indexes.iter().any(|ix| ix.unique && ix.cols.iter().any(|&(c, _)| c == col))
    }

    /// Columns that lead an index (primary key included).
    fn indexed(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.indexes.iter().map(|ix| ix.cols[0].0).collect();
        if self.ipk {
            v.push(0);
        }
        if let Some(&c) = self.pk.first() {
            v.push(c);
        }
        v.extend((0..self.cols.len()).filter(|&c| self.cols[c].unique));
        v
    }
}

fn index_ddl(table: &str, ix: &Index) -> String {
    let cols: Vec<String> =
        ix.cols.iter().map(|&(c, desc)| format!("{}{}", COLUMN_NAMES[c], if desc { " DESC" } else { "" })).collect();
    format!("CREATE {}INDEX {} ON {table}({})", if ix.unique { "UNIQUE " } else { "" }, ix.name, cols.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------------

/// A table visible to an expression under an alias.
#[derive(Clone)]
struct Src {
    alias: String,
    table: usize,
}

/// How a query's rows are ordered.
#[derive(Clone, Copy, Debug)]
struct Ordered {
    /// Has LIMIT (the last run of equal keys may be cut).
    limit: bool,
    /// Has OFFSET (the first run of equal keys may be cut).
    offset: bool,
}

struct Query {
    sql: String,
    order: Option<Ordered>,
}

struct Gen {
    rng: Rng,
    tables: Vec<Table>,
    next_alias: usize,
    next_index: usize,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        let mut g = Gen { rng: Rng::new(seed), tables: Vec::new(), next_alias: 0, next_index: 0 };
        let n = 2 + g.rng.below(2);
        for t in 0..n {
            let table = g.table(t);
            g.tables.push(table);
        }
        g
    }

    fn table(&mut self, t: usize) -> Table {
        let ncols = 2 + self.rng.below(4);
        let pk_kind = self.rng.below(3); // 0: INTEGER PRIMARY KEY, 1: PRIMARY KEY(..), 2: none
        let mut cols = Vec::new();
        for (i, &name) in COLUMN_NAMES.iter().enumerate().take(ncols) {
            let ty = if i == 0 && pk_kind == 0 { Some("INTEGER") } else { *self.rng.pick(&TYPES) };
            let default = if self.rng.chance(12) { Some(self.literal(ty)) } else { None };
            cols.push(Column { name, ty, not_null: self.rng.chance(8), unique: false, default });
        }
        let mut pk = Vec::new();
        if pk_kind == 1 {
            let first = self.rng.below(ncols);
            pk.push(first);
            if self.rng.chance(60) {
                let second = self.rng.below(ncols);
                if second != first {
                    pk.push(second);
                }
            }
            for &c in &pk {
                cols[c].not_null = true;
            }
        }
        let ipk = pk_kind == 0;
        for (i, col) in cols.iter_mut().enumerate() {
            let key = (ipk && i == 0) || pk.contains(&i);
            if !key && self.rng.chance(10) {
                col.unique = true;
            }
        }
        let mut table = Table { name: format!("t{t}"), cols, ipk, pk, indexes: Vec::new() };
        for _ in 0..self.rng.below(4) {
            let ix = self.index(&table);
            table.indexes.push(ix);
        }
        table
    }

    fn index(&mut self, t: &Table) -> Index {
        let ncols = t.cols.len();
        let first = self.rng.below(ncols);
        let mut cols = vec![(first, self.rng.chance(15))];
        if self.rng.chance(40) {
            let second = self.rng.below(ncols);
            if second != first {
                cols.push((second, self.rng.chance(15)));
            }
        }
        self.next_index += 1;
        Index { name: format!("{}_i{}", t.name, self.next_index), unique: self.rng.chance(30), cols }
    }

    fn schema_ddl(&self) -> Vec<String> {
        let mut v = Vec::new();
        for t in &self.tables {
            v.push(t.ddl());
            for ix in &t.indexes {
                v.push(index_ddl(&t.name, ix));
            }
        }
        v
    }

    // -- values ---------------------------------------------------------------------------

    fn int_literal(&mut self) -> String {
        match self.rng.below(20) {
            0 => self.rng.pick(&["100", "-100", "1000000000", "-999999999", "2147483648", "4294967296"]).to_string(),
            1 => "0".into(),
            _ => self.rng.range(-3, 12).to_string(),
        }
    }

    fn real_literal(&mut self) -> String {
        self.rng
            .pick(&[
                "0.5",
                "-1.5",
                "2.25",
                "3.75",
                "-0.125",
                "7.5",
                "10000000000.5",
                "2.0",
                "0.0",
                "1e3",
                "-2.5e-3",
                "12.0",
            ])
            .to_string()
    }

    fn text_literal(&mut self) -> String {
        self.rng
            .pick(&[
                "''", "'a'", "'b'", "'abc'", "'ABC'", "'Abc'", "'a%b'", "'x_y'", "'10'", "'5'", "' 7'", "'3.5'",
                "'1e2'", "'-4'", "'zz'", "'b a'", "'0.5x'",
            ])
            .to_string()
    }

    /// A literal, biased towards the column type `ty` but sometimes of any type.
    fn literal(&mut self, ty: Option<&str>) -> String {
        let r = self.rng.below(100);
        if r < 10 {
            return "NULL".into();
        }
        if r < 13 {
            return self.rng.pick(&["x'6162'", "x''", "x'41'"]).to_string();
        }
        let class = if r < 70 {
            match ty {
                Some("INTEGER") => 0,
                Some("REAL") => 1,
                Some("TEXT") => 2,
                _ => self.rng.below(3),
            }
        } else {
            self.rng.below(3)
        };
        match class {
            0 => self.int_literal(),
            1 => self.real_literal(),
            _ => self.text_literal(),
        }
    }

    /// A value for column `col` of table `t` in an INSERT.
    fn insert_value(&mut self, t: usize, col: usize) -> String {
        let table = &self.tables[t];
        let ty = table.cols[col].ty;
        if table.ipk && col == 0 {
            return match self.rng.below(20) {
                0..=8 => "NULL".into(),
                9 => self.rng.pick(&["'7'", "'x'", "2.0", "2.5", "' 3 '"]).to_string(),
                _ => self.rng.range(1, 40).to_string(),
            };
        }
        match self.rng.below(20) {
            // A small constant expression now and then.
            0 => format!("{} + {}", self.int_literal(), self.int_literal()),
            1 => format!("{} || {}", self.literal(None), self.text_literal()),
            _ => self.literal(ty),
        }
    }

    // -- expressions ----------------------------------------------------------------------

    fn alias(&mut self, prefix: &str) -> String {
        self.next_alias += 1;
        format!("{prefix}{}", self.next_alias)
    }

    fn colref(&mut self, ctx: &[Src]) -> String {
        if ctx.is_empty() {
            return self.literal(None);
        }
        let src = self.rng.pick(ctx).clone();
        let t = &self.tables[src.table];
        let indexed = t.indexed();
        let col = if !indexed.is_empty() && self.rng.chance(40) {
            *self.rng.pick(&indexed)
        } else {
            self.rng.below(t.cols.len())
        };
        format!("{}.{}", src.alias, t.cols[col].name)
    }

    /// A column reference of one particular source.
    fn colref_of(&mut self, src: &Src, prefer_indexed: bool) -> String {
        let t = &self.tables[src.table];
        let indexed = t.indexed();
        let col = if prefer_indexed && !indexed.is_empty() && self.rng.chance(70) {
            *self.rng.pick(&indexed)
        } else {
            self.rng.below(t.cols.len())
        };
        format!("{}.{}", src.alias, t.cols[col].name)
    }

    /// A column or a literal (the operands of most comparisons).
    fn operand(&mut self, ctx: &[Src]) -> String {
        if self.rng.chance(35) {
            self.literal(None)
        } else {
            self.colref(ctx)
        }
    }

    fn expr(&mut self, ctx: &[Src], depth: u32) -> String {
        if depth == 0 {
            return self.operand(ctx);
        }
        let d = depth - 1;
        match self.rng.below(22) {
            0..=6 => self.colref(ctx),
            7 => self.literal(None),
            8 | 9 => {
                let op = *self.rng.pick(&["+", "-", "*", "/", "%", "/"]);
                let rhs = if (op == "/" || op == "%") && self.rng.chance(25) {
                    self.rng.pick(&["0", "0.0", "2", "-3"]).to_string()
                } else {
                    self.expr(ctx, d)
                };
                format!("({} {op} {rhs})", self.expr(ctx, d))
            }
            10 => format!("({} || {})", self.expr(ctx, d), self.expr(ctx, d)),
            11 => format!("CASE WHEN {} THEN {} ELSE {} END", self.pred(ctx, d), self.expr(ctx, d), self.expr(ctx, d)),
            12 => {
                let subject = self.expr(ctx, d);
                let mut s = format!("CASE {subject}");
                for _ in 0..1 + self.rng.below(2) {
                    let _ = write!(s, " WHEN {} THEN {}", self.literal(None), self.expr(ctx, d));
                }
                if self.rng.chance(60) {
                    let _ = write!(s, " ELSE {}", self.expr(ctx, d));
                }
                s.push_str(" END");
                s
            }
            13 => {
                let ty = *self.rng.pick(&["INTEGER", "REAL", "TEXT", "NUMERIC"]);
                format!("CAST({} AS {ty})", self.expr(ctx, d))
            }
            14 => match self.rng.below(3) {
                0 => format!("coalesce({}, {}, {})", self.expr(ctx, d), self.expr(ctx, d), self.literal(None)),
                1 => format!("ifnull({}, {})", self.expr(ctx, d), self.expr(ctx, d)),
                _ => format!("nullif({}, {})", self.expr(ctx, d), self.operand(ctx)),
            },
            15 | 16 => {
                let f = *self.rng.pick(&["abs", "length", "upper", "lower", "typeof", "-"]);
                if f == "-" {
                    format!("-({})", self.expr(ctx, d))
                } else {
                    format!("{f}({})", self.expr(ctx, d))
                }
            }
            17 => format!("substr({}, {}, {})", self.expr(ctx, d), self.rng.range(-2, 3), self.rng.range(0, 3)),
            18 => format!("({})", self.pred(ctx, d)),
            19 if depth >= 2 => self.scalar_subquery(ctx, d),
            _ => self.colref(ctx),
        }
    }

    fn cmp_op(&mut self) -> &'static str {
        CMP_OPS[self.rng.below(CMP_OPS.len())]
    }

    fn pred(&mut self, ctx: &[Src], depth: u32) -> String {
        let d = depth.saturating_sub(1);
        let choice = if depth == 0 { self.rng.below(6) } else { self.rng.below(17) };
        match choice {
            0 | 1 | 6 => {
                let op = self.cmp_op();
                let lhs = if depth > 0 && self.rng.chance(25) { self.expr(ctx, d) } else { self.colref(ctx) };
                format!("{lhs} {op} {}", self.operand(ctx))
            }
            2 => format!("{} IS {}NULL", self.colref(ctx), if self.rng.chance(50) { "NOT " } else { "" }),
            3 => {
                let (lo, hi) = (self.operand(ctx), self.operand(ctx));
                let not = if self.rng.chance(20) { "NOT " } else { "" };
                format!("{} {not}BETWEEN {lo} AND {hi}", self.colref(ctx))
            }
            4 => {
                let n = 1 + self.rng.below(4);
                let items: Vec<String> = (0..n).map(|_| self.literal(None)).collect();
                let not = if self.rng.chance(25) { "NOT " } else { "" };
                format!("{} {not}IN ({})", self.colref(ctx), items.join(", "))
            }
            5 => {
                let pat = *self.rng.pick(&["'a%'", "'%b%'", "'_'", "'A_C'", "'%'", "'1%'", "'%.5'", "'x\\_y'", "''"]);
                let not = if self.rng.chance(20) { "NOT " } else { "" };
                format!("{} {not}LIKE {pat}", self.colref(ctx))
            }
            7 => format!(
                "{} IS {}{}",
                self.colref(ctx),
                if self.rng.chance(50) { "NOT " } else { "" },
                self.operand(ctx)
            ),
            8 | 9 => format!("({} AND {})", self.pred(ctx, d), self.pred(ctx, d)),
            10 | 11 => format!("({} OR {})", self.pred(ctx, d), self.pred(ctx, d)),
            12 => format!("NOT ({})", self.pred(ctx, d)),
            13 if depth >= 2 => self.in_subquery(ctx, d),
            14 if depth >= 2 => self.exists_subquery(ctx, d),
            15 => {
                let op = self.cmp_op();
                format!("{} {op} {}", self.expr(ctx, d), self.expr(ctx, d))
            }
            _ => {
                let op = self.cmp_op();
                format!("{} {op} {}", self.colref(ctx), self.colref(ctx))
            }
        }
    }

    /// A new source for a subquery, and the context inside it (outer sources stay visible).
    fn sub_source(&mut self, ctx: &[Src]) -> (Src, String, Vec<Src>) {
        let table = self.rng.below(self.tables.len());
        let src = Src { alias: self.alias("s"), table };
        let from = format!("{} AS {}", self.tables[table].name, src.alias);
        let mut inner = ctx.to_vec();
        inner.push(src.clone());
        (src, from, inner)
    }

    /// A WHERE for a subquery over `src`, correlated with the outer sources most of the time.
    fn sub_where(&mut self, src: &Src, outer: &[Src], inner: &[Src], depth: u32) -> String {
        let mut conds = Vec::new();
        if !outer.is_empty() && self.rng.chance(65) {
            let op = if self.rng.chance(75) { "=" } else { self.cmp_op() };
            conds.push(format!("{} {op} {}", self.colref_of(src, true), self.colref(outer)));
        }
        if conds.is_empty() || self.rng.chance(40) {
            conds.push(self.pred(inner, depth));
        }
        conds.join(" AND ")
    }

    fn scalar_subquery(&mut self, ctx: &[Src], depth: u32) -> String {
        let (src, from, inner) = self.sub_source(ctx);
        let c = self.colref_of(&src, false);
        let agg = match self.rng.below(7) {
            0 => "count(*)".to_string(),
            1 => format!("count({c})"),
            2 => format!("max({c})"),
            3 => format!("min({c})"),
            4 => format!("sum({c})"),
            5 => format!("total({c})"),
            _ => format!("avg({c})"),
        };
        let w = self.sub_where(&src, ctx, &inner, depth);
        format!("(SELECT {agg} FROM {from} WHERE {w})")
    }

    fn in_subquery(&mut self, ctx: &[Src], depth: u32) -> String {
        let lhs = self.colref(ctx);
        let (src, from, inner) = self.sub_source(ctx);
        let c = self.colref_of(&src, false);
        let not = if self.rng.chance(30) { "NOT " } else { "" };
        if self.rng.chance(30) {
            format!("{lhs} {not}IN (SELECT {c} FROM {from})")
        } else {
            let w = self.sub_where(&src, ctx, &inner, depth);
            format!("{lhs} {not}IN (SELECT {c} FROM {from} WHERE {w})")
        }
    }

    fn exists_subquery(&mut self, ctx: &[Src], depth: u32) -> String {
        let (src, from, inner) = self.sub_source(ctx);
        let w = self.sub_where(&src, ctx, &inner, depth);
        let not = if self.rng.chance(30) { "NOT " } else { "" };
        format!("{not}EXISTS (SELECT 1 FROM {from} WHERE {w})")
    }

    fn aggregate(&mut self, ctx: &[Src]) -> String {
        let c = self.colref(ctx);
        let arg = match self.rng.below(6) {
            0 => format!("{c} + {}", self.int_literal()),
            1 => format!("{c} - {}", self.real_literal()),
            _ => c.clone(),
        };
        match self.rng.below(11) {
            0 => "count(*)".into(),
            1 => format!("count({arg})"),
            2 => format!("count(DISTINCT {c})"),
            3 => format!("sum({arg})"),
            4 => format!("total({arg})"),
            5 => format!("avg({arg})"),
            6 => format!("min({arg})"),
            7 => format!("max({arg})"),
            8 => format!("length(group_concat({arg}))"),
            9 => format!("length(group_concat({c}, '|'))"),
            _ => format!("sum({c})"),
        }
    }

    // -- queries --------------------------------------------------------------------------

    /// FROM clause over 1 to 3 tables; returns the clause, the sources and conditions that the
    /// WHERE clause must add (join conditions of comma and CROSS joins).
    fn gen_from(&mut self, force_join: bool) -> (String, Vec<Src>, Vec<String>) {
        let n = if force_join {
            2 + self.rng.chance(15) as usize
        } else {
            match self.rng.below(100) {
                0..=59 => 1,
                60..=94 => 2,
                _ => 3,
            }
        };
        let mut srcs: Vec<Src> = Vec::new();
        let mut from = String::new();
        let mut extra = Vec::new();
        for i in 0..n {
            let table = self.rng.below(self.tables.len());
            let src = Src { alias: format!("a{i}"), table };
            let name = self.tables[table].name.clone();
            if i == 0 {
                let _ = write!(from, "{name} AS {}", src.alias);
            } else {
                let cond = {
                    let prev = self.rng.pick(&srcs).clone();
                    let l = self.colref_of(&src, true);
                    let r = self.colref_of(&prev, true);
                    let mut c = format!("{l} = {r}");
                    if self.rng.chance(20) {
                        let mut both = srcs.clone();
                        both.push(src.clone());
                        let _ = write!(c, " AND {}", self.pred(&both, 1));
                    }
                    c
                };
                match self.rng.below(100) {
                    0..=44 => {
                        let _ = write!(from, " JOIN {name} AS {} ON {cond}", src.alias);
                    }
                    45..=74 => {
                        let _ = write!(from, " LEFT JOIN {name} AS {} ON {cond}", src.alias);
                    }
                    75..=84 => {
                        let _ = write!(from, " CROSS JOIN {name} AS {}", src.alias);
                        if self.rng.chance(70) {
                            extra.push(cond);
                        }
                    }
                    _ => {
                        let _ = write!(from, ", {name} AS {}", src.alias);
                        if self.rng.chance(80) {
                            extra.push(cond);
                        }
                    }
                }
            }
            srcs.push(src);
        }
        (from, srcs, extra)
    }

    fn where_clause(&mut self, ctx: &[Src], extra: Vec<String>, percent: usize) -> String {
        let mut conds = extra;
        if self.rng.chance(percent) {
            conds.push(self.pred(ctx, 3));
        }
        if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        }
    }

    /// ORDER BY over all `ncols` output columns (positions, or the aliases `o<i>` when
    /// `aliases`), maybe with LIMIT/OFFSET.
    fn order_by(&mut self, ncols: usize, aliases: bool) -> (String, Ordered) {
        let mut cols: Vec<usize> = (0..ncols).collect();
        for i in (1..cols.len()).rev() {
            let j = self.rng.below(i + 1);
            cols.swap(i, j);
        }
        let terms: Vec<String> = cols
            .iter()
            .map(|&c| {
                let name = if aliases { format!("o{c}") } else { (c + 1).to_string() };
                let dir = *self.rng.pick(&["", " ASC", " DESC"]);
                let nulls = if self.rng.chance(10) { *self.rng.pick(&[" NULLS FIRST", " NULLS LAST"]) } else { "" };
                format!("{name}{dir}{nulls}")
            })
            .collect();
        let mut s = format!(" ORDER BY {}", terms.join(", "));
        let mut ordered = Ordered { limit: false, offset: false };
        if self.rng.chance(50) {
            let _ = write!(s, " LIMIT {}", self.rng.range(0, 8));
            ordered.limit = true;
            if self.rng.chance(40) {
                let _ = write!(s, " OFFSET {}", self.rng.range(0, 5));
                ordered.offset = true;
            }
        }
        (s, ordered)
    }

    fn select_list(&mut self, items: &[String], aliases: bool) -> String {
        items
            .iter()
            .enumerate()
            .map(|(i, e)| if aliases { format!("{e} AS o{i}") } else { e.clone() })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn plain_select(&mut self, force_join: bool, ncols: Option<usize>, allow_order: bool) -> Query {
        let (from, ctx, extra) = self.gen_from(force_join);
        let star = ncols.is_none() && self.rng.chance(5);
        let n = ncols.unwrap_or_else(|| 1 + self.rng.below(4));
        let items: Vec<String> = (0..n).map(|_| self.expr(&ctx, 2)).collect();
        let aliases = !star && self.rng.chance(50);
        let list = if star { "*".to_string() } else { self.select_list(&items, aliases) };
        let total_cols = if star { ctx.iter().map(|s| self.tables[s.table].cols.len()).sum() } else { n };
        let distinct = if self.rng.chance(20) { "DISTINCT " } else { "" };
        let w = self.where_clause(&ctx, extra, 75);
        let mut sql = format!("SELECT {distinct}{list} FROM {from}{w}");
        let mut order = None;
        if allow_order && self.rng.chance(40) {
            let (o, ordered) = self.order_by(total_cols, aliases);
            sql.push_str(&o);
            order = Some(ordered);
        }
        Query { sql, order }
    }

    fn group_expr(&mut self, ctx: &[Src]) -> String {
        let c = self.colref(ctx);
        match self.rng.below(10) {
            0 => format!("{c} % 3"),
            1 => format!("length({c})"),
            2 => format!("typeof({c})"),
            3 => format!("{c} IS NULL"),
            4 => format!("CAST({c} AS INTEGER)"),
            _ => c,
        }
    }

    fn group_select(&mut self) -> Query {
        let (from, ctx, extra) = self.gen_from(false);
        let ngroups = 1 + self.rng.chance(35) as usize;
        let groups: Vec<String> = (0..ngroups).map(|_| self.group_expr(&ctx)).collect();
        let naggs = 1 + self.rng.below(3);
        let mut items = groups.clone();
        for _ in 0..naggs {
            items.push(self.aggregate(&ctx));
        }
        let aliases = self.rng.chance(40);
        let list = self.select_list(&items, aliases);
        let w = self.where_clause(&ctx, extra, 50);
        let mut sql = format!("SELECT {list} FROM {from}{w} GROUP BY {}", groups.join(", "));
        if self.rng.chance(30) {
            let agg = self.aggregate(&ctx);
            let mut having = match self.rng.below(4) {
                0 => format!("{agg} IS NOT NULL"),
                1 => format!("count(*) > {}", self.rng.range(0, 2)),
                _ => format!("{agg} {} {}", self.cmp_op(), self.operand(&[])),
            };
            if self.rng.chance(25) {
                let _ = write!(having, " AND {} IS NOT NULL", groups[0]);
            }
            let _ = write!(sql, " HAVING {having}");
        }
        let mut order = None;
        if self.rng.chance(50) {
            let (o, ordered) = self.order_by(items.len(), aliases);
            sql.push_str(&o);
            order = Some(ordered);
        }
        Query { sql, order }
    }

    fn aggregate_select(&mut self) -> Query {
        let (from, ctx, extra) = self.gen_from(false);
        let n = 1 + self.rng.below(3);
        let items: Vec<String> = (0..n).map(|_| self.aggregate(&ctx)).collect();
        let w = self.where_clause(&ctx, extra, 60);
        Query { sql: format!("SELECT {} FROM {from}{w}", items.join(", ")), order: None }
    }

    fn compound_select(&mut self) -> Query {
        let ncols = 1 + self.rng.below(3);
        let mut sql = self.plain_select(false, Some(ncols), false).sql;
        for _ in 0..1 + self.rng.chance(25) as usize {
            let op = *self.rng.pick(&["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]);
            let core = self.plain_select(false, Some(ncols), false).sql;
            let _ = write!(sql, " {op} {core}");
        }
        let mut order = None;
        if self.rng.chance(50) {
            let (o, ordered) = self.order_by(ncols, false);
            sql.push_str(&o);
            order = Some(ordered);
        }
        Query { sql, order }
    }

    fn query(&mut self) -> Query {
        match self.rng.below(10) {
            0..=3 => self.plain_select(false, None, true),
            4 | 5 => self.group_select(),
            6 => self.aggregate_select(),
            7 | 8 => self.plain_select(true, None, true),
            _ => self.compound_select(),
        }
    }

    // -- DML and DDL ----------------------------------------------------------------------

    fn insert(&mut self, t: usize, verb: Option<&str>) -> String {
        let verb = verb.unwrap_or_else(|| {
            *self.rng.pick(&[
                "INSERT INTO",
                "INSERT INTO",
                "INSERT INTO",
                "INSERT OR IGNORE INTO",
                "INSERT OR REPLACE INTO",
                "REPLACE INTO",
            ])
        });
        let name = self.tables[t].name.clone();
        let ncols = self.tables[t].cols.len();
        if self.rng.chance(3) {
            return format!("{verb} {name} DEFAULT VALUES");
        }
        let cols: Vec<usize> = match self.rng.below(4) {
            0 | 1 => (0..ncols).collect(),
            2 => {
                let mut c: Vec<usize> = (0..ncols).collect();
                for i in (1..c.len()).rev() {
                    let j = self.rng.below(i + 1);
                    c.swap(i, j);
                }
                c
            }
            _ => (0..ncols).filter(|_| self.rng.chance(60)).collect(),
        };
        if cols.is_empty() {
            return format!("{verb} {name} DEFAULT VALUES");
        }
        let list = if self.rng.chance(40) && cols.len() == ncols && cols.windows(2).all(|w| w[0] < w[1]) {
            String::new()
        } else {
            format!("({})", cols.iter().map(|&c| COLUMN_NAMES[c]).collect::<Vec<_>>().join(", "))
        };
        let nrows = 1 + self.rng.below(4);
        let rows: Vec<String> = (0..nrows)
            .map(|_| format!("({})", cols.iter().map(|&c| self.insert_value(t, c)).collect::<Vec<_>>().join(", ")))
            .collect();
        format!("{verb} {name}{list} VALUES {}", rows.join(", "))
    }

    /// The value of a SET: constants for constrained columns, expressions over the row (no
    /// subqueries, no products of columns) for the others.
    fn set_value(&mut self, t: usize, col: usize, ctx: &[Src]) -> String {
        if self.tables[t].constrained(col) {
            return if self.tables[t].ipk && col == 0 {
                self.rng.range(1, 45).to_string()
            } else {
                self.literal(self.tables[t].cols[col].ty)
            };
        }
        let c = self.colref(ctx);
        match self.rng.below(12) {
            0 | 1 => self.literal(self.tables[t].cols[col].ty),
            2 => format!("{c} + {}", self.int_literal()),
            3 => format!("{c} - {}", self.real_literal()),
            4 => format!("{c} * 2"),
            5 => format!("{c} / {}", self.rng.pick(&["2", "0", "-3", "2.5"])),
            6 => format!("{c} || {}", self.text_literal()),
            7 => format!("CASE WHEN {} THEN {} ELSE {c} END", self.pred(ctx, 1), self.literal(None)),
            8 => format!("CAST({c} AS {})", self.rng.pick(&["INTEGER", "REAL", "TEXT", "NUMERIC"])),
            9 => format!("coalesce({c}, {})", self.literal(None)),
            10 => format!("abs({c})"),
            _ => c,
        }
    }

    fn update(&mut self, t: usize) -> String {
        let name = self.tables[t].name.clone();
        let ctx = vec![Src { alias: name.clone(), table: t }];
        let ncols = self.tables[t].cols.len();
        let first = self.rng.below(ncols);
        let mut cols = vec![first];
        if self.rng.chance(30) {
            let second = self.rng.below(ncols);
            if second != first {
                cols.push(second);
            }
        }
        let sets: Vec<String> =
            cols.iter().map(|&c| format!("{} = {}", COLUMN_NAMES[c], self.set_value(t, c, &ctx))).collect();
        let mut sql = format!("UPDATE {name} SET {}", sets.join(", "));
        if self.rng.chance(90) {
            let _ = write!(sql, " WHERE {}", self.pred(&ctx, 3));
        }
        sql
    }

    fn delete(&mut self, t: usize) -> String {
        let name = self.tables[t].name.clone();
        let ctx = vec![Src { alias: name.clone(), table: t }];
        if self.rng.chance(4) {
            format!("DELETE FROM {name}")
        } else {
            format!("DELETE FROM {name} WHERE {}", self.pred(&ctx, 3))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

fn reals_close(x: f64, y: f64) -> bool {
    x == y || (x - y).abs() <= REAL_TOLERANCE * x.abs().max(y.abs())
}

/// Same value and (unless `relaxed` lets an INTEGER match an equal REAL) same type.
fn value_eq(a: &Value, b: &Value, relaxed: bool) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Real(x), Value::Real(y)) => reals_close(*x, *y),
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::Blob(x), Value::Blob(y)) => x == y,
        (Value::Integer(i), Value::Real(r)) | (Value::Real(r), Value::Integer(i)) => {
            relaxed && reals_close(*i as f64, *r)
        }
        _ => false,
    }
}

/// Equal as sort keys (ORDER BY's comparison: 1 equals 1.0), reals within the tolerance.
fn key_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Integer(_) | Value::Real(_), Value::Integer(_) | Value::Real(_)) => {
            a.total_cmp(b).is_eq() || reals_close(a.to_f64(), b.to_f64())
        }
        _ => a.total_cmp(b).is_eq(),
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Integer(_) => 1,
        Value::Real(_) => 2,
        Value::Text(_) => 3,
        Value::Blob(_) => 4,
    }
}

/// A total order on rows: SQLite's value order on the whole row, then (between rows of equal
/// values) INTEGER before an equal REAL. The types come last so that where `relaxed` lets an
/// INTEGER match an equal REAL, the rows `(0, 'b')` and `(0.0, 'b')` still sort to the same
/// place among the others (with the type compared per column, `(0.0, 'b')` would sort after
/// `(0, 'c')`, and equal multisets would compare unequal).
fn row_cmp(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = x.total_cmp(y);
        if o.is_ne() {
            return o;
        }
    }
    for (x, y) in a.iter().zip(b) {
        let o = type_rank(x).cmp(&type_rank(y));
        if o.is_ne() {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn rows_eq(a: &[Vec<Value>], b: &[Vec<Value>], relaxed: bool) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| value_eq(p, q, relaxed)))
}

fn multiset_eq(a: &[Vec<Value>], b: &[Vec<Value>], relaxed: bool) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(|x, y| row_cmp(x, y));
    b.sort_by(|x, y| row_cmp(x, y));
    rows_eq(&a, &b, relaxed)
}

/// `Ok` if the results agree; `Err(why)` if not. `reference` is SQLite's.
fn compare_rows(got: &Rows, reference: &Rows, order: Option<Ordered>, relaxed: bool) -> Result<(), String> {
    if got.columns != reference.columns {
        return Err(format!("{} columns vs {}", got.columns, reference.columns));
    }
    let (g, r) = (&got.rows, &reference.rows);
    if g.len() != r.len() {
        return Err(format!("{} rows vs {}", g.len(), r.len()));
    }
    let Some(order) = order else {
        return if multiset_eq(g, r, relaxed) { Ok(()) } else { Err("different rows".into()) };
    };
    // Position by position, the sort keys (every output column) must be equal...
    for (i, (x, y)) in g.iter().zip(r).enumerate() {
        if x.len() != y.len() || !x.iter().zip(y).all(|(p, q)| key_eq(p, q)) {
            return Err(format!("row {i} differs in its sort key (order or contents)"));
        }
    }
    // ...and each run of rows with equal keys must hold the same rows, except where LIMIT or
    // OFFSET may cut the run anywhere.
    let mut start = 0;
    while start < r.len() {
        let mut end = start + 1;
        while end < r.len() && r[end].iter().zip(&r[start]).all(|(p, q)| key_eq(p, q)) {
            end += 1;
        }
        let cut = (start == 0 && order.offset) || (end == r.len() && order.limit);
        if !cut && !multiset_eq(&g[start..end], &r[start..end], relaxed) {
            return Err(format!("rows {start}..{end} (equal sort keys) differ"));
        }
        start = end;
    }
    Ok(())
}

/// Whether SQLite leaves open which of two equal values (1 and 1.0) a query returns.
fn picks_among_equals(sql: &str) -> bool {
    let up = sql.to_ascii_uppercase();
    ["DISTINCT", "GROUP BY", "UNION", "INTERSECT", "EXCEPT", "MIN(", "MAX("].iter().any(|k| up.contains(k))
}

fn show_value(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => format!("{r:?}"),
        Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Blob(b) => format!("x'{}'", b.iter().map(|c| format!("{c:02x}")).collect::<String>()),
    }
}

fn show_rows(rows: &Rows, sorted: bool) -> String {
    let mut r = rows.rows.clone();
    if sorted {
        r.sort_by(|x, y| row_cmp(x, y));
    }
    let mut s = format!("{} columns, {} rows{}", rows.columns, r.len(), if sorted { " (sorted)" } else { "" });
    for row in r.iter().take(25) {
        let _ = write!(s, "\n    [{}]", row.iter().map(show_value).collect::<Vec<_>>().join(", "));
    }
    if r.len() > 25 {
        s.push_str("\n    ...");
    }
    s
}

fn show_exec(r: &Result<u64, DbError>) -> String {
    match r {
        Ok(n) => format!("ok, {n} rows changed"),
        Err(e) => format!("error{}: {}", if e.constraint { " (constraint)" } else { "" }, e.message),
    }
}

fn show_query(r: &Result<Rows, DbError>, sorted: bool) -> String {
    match r {
        Ok(rows) => show_rows(rows, sorted),
        Err(e) => format!("error{}: {}", if e.constraint { " (constraint)" } else { "" }, e.message),
    }
}

// ---------------------------------------------------------------------------------------------
// Running cases
// ---------------------------------------------------------------------------------------------

#[derive(Default, Debug)]
struct Stats {
    queries: usize,
    query_errors: usize,
    nonempty: usize,
    ordered: usize,
    dml: usize,
    dml_ok: usize,
    dml_constraint: usize,
    dml_other_error: usize,
    rows_changed: u64,
}

struct Case {
    seed: u64,
    gen: Gen,
    subject: Box<dyn Db>,
    subject_name: &'static str,
    reference: SqliteDb,
    history: Vec<String>,
    /// The statement being run (for the report if the subject panics).
    current: String,
    stats: Stats,
}

impl Case {
    fn new(seed: u64, selftest: bool) -> Case {
        let (subject, subject_name): (Box<dyn Db>, &'static str) = if selftest {
            let conn = sqlite_memory();
            conn.execute_batch("PRAGMA reverse_unordered_selects = ON").expect("setting reverse_unordered_selects");
            (Box::new(SqliteDb(conn)), "sqlite (reverse_unordered_selects)")
        } else {
            (Box::new(TesseraDb(tessera::sql::Connection::memory())), "tessera")
        };
        Case {
            seed,
            gen: Gen::new(seed),
            subject,
            subject_name,
            reference: SqliteDb(sqlite_memory()),
            history: Vec::new(),
            current: String::new(),
            stats: Stats::default(),
        }
    }

    fn report(&self, sql: &str, why: &str, subject: String, reference: String) -> String {
        let mut s = format!(
            "sql_diff mismatch: {why}\n  seed {} (reproduce: TESSERA_DIFF_SEED={}{})\n  schema:\n",
            self.seed,
            self.seed,
            if self.subject_name == "tessera" { "" } else { " TESSERA_DIFF_SELFTEST=1" }
        );
        for ddl in self.gen.schema_ddl() {
            let _ = writeln!(s, "    {ddl};");
        }
        let _ = writeln!(s, "  statement #{}:\n    {sql}", self.history.len() + 1);
        let _ = writeln!(s, "  {}:\n    {subject}\n  sqlite:\n    {reference}", self.subject_name);
        let from = self.history.len().saturating_sub(15);
        let _ = writeln!(s, "  the {} statements before it:", self.history.len() - from);
        for h in &self.history[from..] {
            let _ = writeln!(s, "    {h};");
        }
        s
    }

    /// A statement that changes the database: same outcome on both sides (and, with `counts`,
    /// the same number of changed rows), then the same table contents.
    fn change(&mut self, sql: &str, counts: bool) -> Result<bool, String> {
        let ok = self.run_change(sql, counts)?;
        self.compare_tables(sql)?;
        Ok(ok)
    }

    fn run_change(&mut self, sql: &str, counts: bool) -> Result<bool, String> {
        self.current = sql.to_string();
        let s = self.subject.execute(sql);
        let r = self.reference.execute(sql);
        let agree = match (&s, &r) {
            (Ok(a), Ok(b)) => !counts || a == b,
            (Err(a), Err(b)) => a.constraint == b.constraint,
            _ => false,
        };
        if !agree {
            return Err(self.report(sql, "the statement's outcome differs", show_exec(&s), show_exec(&r)));
        }
        if counts {
            self.stats.dml += 1;
            match &r {
                Ok(n) => {
                    self.stats.dml_ok += 1;
                    self.stats.rows_changed += n;
                }
                Err(e) if e.constraint => self.stats.dml_constraint += 1,
                Err(_) => self.stats.dml_other_error += 1,
            }
        }
        self.history.push(sql.to_string());
        Ok(r.is_ok())
    }

    fn compare_tables(&mut self, after: &str) -> Result<(), String> {
        for i in 0..self.gen.tables.len() {
            let sql = format!("SELECT * FROM {}", self.gen.tables[i].name);
            self.current = sql.clone();
            let s = self.subject.query(&sql);
            let r = self.reference.query(&sql);
            let why = match (&s, &r) {
                (Ok(a), Ok(b)) => match compare_rows(a, b, None, false) {
                    Ok(()) => continue,
                    Err(why) => why,
                },
                _ => "reading the table failed".into(),
            };
            return Err(self
                .report(
                    &sql,
                    &format!("table {} differs after the previous statement ({why})", self.gen.tables[i].name),
                    show_query(&s, true),
                    show_query(&r, true),
                )
                .replace("the statements before it", &format!("the statements before it (last: {after})")));
        }
        Ok(())
    }

    fn query(&mut self, q: &Query) -> Result<(), String> {
        self.current = q.sql.clone();
        let s = self.subject.query(&q.sql);
        let r = self.reference.query(&q.sql);
        self.stats.queries += 1;
        let verdict = match (&s, &r) {
            (Ok(a), Ok(b)) => {
                self.stats.nonempty += !b.rows.is_empty() as usize;
                self.stats.ordered += q.order.is_some() as usize;
                compare_rows(a, b, q.order, picks_among_equals(&q.sql))
            }
            (Err(_), Err(_)) => {
                self.stats.query_errors += 1;
                Ok(())
            }
            (Ok(_), Err(_)) => Err("only sqlite failed".into()),
            (Err(_), Ok(_)) => Err(format!("only {} failed", self.subject_name)),
        };
        match verdict {
            Ok(()) => {
                self.history.push(q.sql.clone());
                Ok(())
            }
            Err(why) => {
                let sorted = q.order.is_none();
                Err(self.report(&q.sql, &why, show_query(&s, sorted), show_query(&r, sorted)))
            }
        }
    }

    fn run(&mut self, steps: usize) -> Result<(), String> {
        for ddl in self.gen.schema_ddl() {
            if !self.run_change(&ddl, false)? {
                return Err(self.report(&ddl, "the schema does not build on sqlite", String::new(), String::new()));
            }
        }
        self.compare_tables("the schema")?;
        for t in 0..self.gen.tables.len() {
            for _ in 0..3 + self.gen.rng.below(3) {
                let sql = self.gen.insert(t, Some("INSERT OR IGNORE INTO"));
                self.change(&sql, true)?;
            }
        }
        for _ in 0..steps {
            let t = self.gen.rng.below(self.gen.tables.len());
            match self.gen.rng.below(100) {
                0..=14 => {
                    let sql = self.gen.insert(t, None);
                    self.change(&sql, true)?;
                }
                15..=24 => {
                    let sql = self.gen.update(t);
                    self.change(&sql, true)?;
                }
                25..=30 => {
                    let sql = self.gen.delete(t);
                    self.change(&sql, true)?;
                }
                31..=33 => {
                    let table = self.gen.tables[t].clone();
                    let ix = self.gen.index(&table);
                    let sql = index_ddl(&table.name, &ix);
                    if self.change(&sql, false)? {
                        self.gen.tables[t].indexes.push(ix);
                    }
                }
                34 => {
                    if !self.gen.tables[t].indexes.is_empty() {
                        let i = self.gen.rng.below(self.gen.tables[t].indexes.len());
                        let sql = format!("DROP INDEX {}", self.gen.tables[t].indexes[i].name);
                        if self.change(&sql, false)? {
                            self.gen.tables[t].indexes.remove(i);
                        }
                    }
                }
                _ => {
                    let q = self.gen.query();
                    self.query(&q)?;
                }
            }
        }
        Ok(())
    }
}

fn scale() -> f64 {
    std::env::var("TESSERA_TEST_SCALE")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0)
}

fn parse_seed(s: &str) -> u64 {
    let s = s.trim().replace('_', "");
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("TESSERA_DIFF_SEED={s:?}: not a number"))
}

#[test]
fn sql_matches_sqlite_on_random_workloads() {
    let selftest = std::env::var("TESSERA_DIFF_SELFTEST").is_ok_and(|v| v == "1");
    let single = std::env::var("TESSERA_DIFF_SEED").is_ok();
    let seeds: Vec<u64> = match std::env::var("TESSERA_DIFF_SEED") {
        Ok(s) => vec![parse_seed(&s)],
        Err(_) => {
            let n = ((CASES as f64 * scale()).round() as usize).max(1);
            (0..n as u64).map(|i| splitmix(DEFAULT_SEED ^ i)).collect()
        }
    };
    println!(
        "sql_diff: {} cases of {STEPS_PER_CASE} steps, {} vs sqlite",
        seeds.len(),
        if selftest { "sqlite (reverse_unordered_selects)" } else { "tessera" }
    );
    let mut total = Stats::default();
    let mut failures = Vec::new();
    for &seed in &seeds {
        let mut case = Case::new(seed, selftest);
        let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case.run(STEPS_PER_CASE))) {
            Ok(r) => r,
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let current = case.current.clone();
                Err(case.report(
                    &current,
                    &format!("{} panicked", case.subject_name),
                    format!("panic: {msg}"),
                    "-".into(),
                ))
            }
        };
        let s = &case.stats;
        total.queries += s.queries;
        total.query_errors += s.query_errors;
        total.nonempty += s.nonempty;
        total.ordered += s.ordered;
        total.dml += s.dml;
        total.dml_ok += s.dml_ok;
        total.dml_constraint += s.dml_constraint;
        total.dml_other_error += s.dml_other_error;
        total.rows_changed += s.rows_changed;
        if let Err(report) = result {
            println!("{report}");
            failures.push(seed);
            if failures.len() >= MAX_FAILED_CASES {
                break;
            }
        }
    }
    println!("sql_diff: {total:?}");
    assert!(
        failures.is_empty(),
        "sql_diff: {} cases differ from SQLite; seeds {failures:?} (details above)",
        failures.len()
    );
    // The generator must produce statements that do something: mostly valid SQL, queries that
    // return rows, DML that changes rows (measured on the SQLite side). Proportions over many
    // cases; one case reproduced with TESSERA_DIFF_SEED may fall short of them.
    if single {
        return;
    }
    assert!(total.queries > 0 && total.dml > 0, "no statement ran");
    let q = total.queries as f64;
    assert!(total.query_errors as f64 <= 0.05 * q, "too many queries fail on SQLite: {total:?}");
    assert!(total.nonempty as f64 >= 0.4 * q, "too few queries return rows: {total:?}");
    assert!(total.ordered as f64 >= 0.1 * q, "too few ordered queries: {total:?}");
    assert!(total.dml_ok as f64 >= 0.5 * total.dml as f64, "too few DML statements succeed: {total:?}");
    assert!(total.dml_other_error as f64 <= 0.1 * total.dml as f64, "too many DML statements are invalid: {total:?}");
}

#[test]
fn comparison_rules() {
    let i = Value::Integer;
    let r = Value::Real;
    let rows = |v: Vec<Vec<Value>>| Rows { columns: v.first().map_or(1, |x| x.len()), rows: v };
    // Multisets: order does not matter, types do (unless relaxed), reals within tolerance.
    let a = rows(vec![vec![i(1)], vec![i(2)]]);
    let b = rows(vec![vec![i(2)], vec![i(1)]]);
    assert!(compare_rows(&a, &b, None, false).is_ok());
    let c = rows(vec![vec![r(1.0)], vec![i(2)]]);
    assert!(compare_rows(&a, &c, None, false).is_err());
    assert!(compare_rows(&a, &c, None, true).is_ok());
    assert!(compare_rows(&rows(vec![vec![r(0.1 + 0.2)]]), &rows(vec![vec![r(0.3)]]), None, false).is_ok());
    assert!(compare_rows(&rows(vec![vec![r(0.3001)]]), &rows(vec![vec![r(0.3)]]), None, false).is_err());
    // Ordered: order matters...
    let ord = Some(Ordered { limit: false, offset: false });
    assert!(compare_rows(&a, &b, ord, false).is_err());
    // ...but rows with equal keys may come in any order, and at a LIMIT edge be either one.
    let d = rows(vec![vec![i(0)], vec![i(1)], vec![r(1.0)]]);
    let e = rows(vec![vec![i(0)], vec![r(1.0)], vec![i(1)]]);
    assert!(compare_rows(&d, &e, ord, false).is_ok());
    let f = rows(vec![vec![i(0)], vec![i(1)]]);
    let g = rows(vec![vec![i(0)], vec![r(1.0)]]);
    assert!(compare_rows(&f, &g, ord, false).is_err());
    assert!(compare_rows(&f, &g, Some(Ordered { limit: true, offset: false }), false).is_ok());
    assert!(picks_among_equals("SELECT DISTINCT a FROM t") && picks_among_equals("select max(a) from t"));
    assert!(!picks_among_equals("SELECT a FROM t ORDER BY 1"));
}

#[test]
fn generator_is_deterministic() {
    let run = |seed| {
        let mut g = Gen::new(seed);
        let mut out = g.schema_ddl();
        for i in 0..50 {
            out.push(g.query().sql);
            out.push(g.insert(i % g.tables.len(), None));
            out.push(g.update(i % g.tables.len()));
        }
        out
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}
