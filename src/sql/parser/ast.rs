//! The abstract syntax tree: what the parser produces and the planner consumes.
//!
//! Names (tables, columns, functions, collations) keep the spelling the user wrote; the
//! planner compares them case-insensitively, as SQLite does. Literals are already [`Value`]s.
//! Parameters are numbered at parse time (see [`Expr::Param`]), so a prepared statement binds
//! by index.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::sql::types::value::Value;

/// One SQL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT ...`, `VALUES ...`, `WITH ... SELECT ...`, compound selects.
    Query(Box<Query>),
    /// `INSERT`, `REPLACE`.
    Insert(Box<Insert>),
    /// `UPDATE`.
    Update(Box<Update>),
    /// `DELETE`.
    Delete(Box<Delete>),
    /// `CREATE TABLE`.
    CreateTable(Box<CreateTable>),
    /// `DROP TABLE [IF EXISTS] name`.
    DropTable {
        /// Table name.
        name: String,
        /// `IF EXISTS` was given.
        if_exists: bool,
    },
    /// `CREATE [UNIQUE] INDEX`.
    CreateIndex(Box<CreateIndex>),
    /// `DROP INDEX [IF EXISTS] name`.
    DropIndex {
        /// Index name.
        name: String,
        /// `IF EXISTS` was given.
        if_exists: bool,
    },
    /// `CREATE [TEMP] VIEW [IF NOT EXISTS] name [(columns)] AS query`.
    CreateView(Box<CreateView>),
    /// `DROP VIEW [IF EXISTS] name`.
    DropView {
        /// View name.
        name: String,
        /// `IF EXISTS` was given.
        if_exists: bool,
    },
    /// `ALTER TABLE name ...`.
    AlterTable {
        /// Table name.
        table: String,
        /// What to change.
        action: AlterAction,
    },
    /// `BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION]`.
    Begin,
    /// `COMMIT [TRANSACTION]` or `END [TRANSACTION]`.
    Commit,
    /// `ROLLBACK [TRANSACTION]`.
    Rollback,
    /// `REINDEX [name]`: accepted, nothing to do (indexes never go stale).
    Reindex(Option<String>),
    /// `ANALYZE [schema | [schema.]table-or-index]`: gather statistics into `sqlite_stat1`.
    Analyze(Option<String>),
    /// `EXPLAIN [QUERY PLAN] statement` (true: QUERY PLAN).
    Explain(Box<Statement>, bool),
    /// `PRAGMA [schema.]name [= value | (value)]`: read or set a connection setting.
    Pragma {
        /// The pragma's name, as written.
        name: String,
        /// The value to set (a name, number or string, as text); `None` reads the setting.
        value: Option<String>,
    },
}

/// A full query: optional CTEs, a body, then ORDER BY / LIMIT / OFFSET that apply to the
/// whole body (for compound selects, to the result of the compound).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `WITH name [(cols)] AS (query), ...` (non-recursive).
    pub with: Vec<Cte>,
    /// The select, VALUES list or compound.
    pub body: SetExpr,
    /// `ORDER BY` terms.
    pub order_by: Vec<OrderItem>,
    /// `LIMIT n` (also `LIMIT offset, n`, normalised by the parser).
    pub limit: Option<Expr>,
    /// `OFFSET n`.
    pub offset: Option<Expr>,
}

/// A common table expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Cte {
    /// Name the CTE is referenced by.
    pub name: String,
    /// Optional column names.
    pub columns: Vec<String>,
    /// The CTE's query.
    pub query: Box<Query>,
}

/// The body of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum SetExpr {
    /// A single `SELECT` core.
    Select(Box<Select>),
    /// `VALUES (..), (..)`.
    Values(Vec<Vec<Expr>>),
    /// `left op right`. Compound operators are left-associative with equal precedence.
    Compound {
        /// The operator.
        op: CompoundOp,
        /// Left operand.
        left: Box<SetExpr>,
        /// Right operand.
        right: Box<SetExpr>,
    },
}

/// Compound select operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompoundOp {
    /// `UNION` (distinct).
    Union,
    /// `UNION ALL`.
    UnionAll,
    /// `INTERSECT`.
    Intersect,
    /// `EXCEPT`.
    Except,
}

/// One `SELECT` core (without ORDER BY / LIMIT, which live on [`Query`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// Result columns.
    pub columns: Vec<ResultColumn>,
    /// `FROM` clause (joins nest to the left).
    pub from: Option<FromItem>,
    /// `WHERE`.
    pub where_: Option<Expr>,
    /// `GROUP BY`.
    pub group_by: Vec<Expr>,
    /// `HAVING`.
    pub having: Option<Expr>,
}

/// A result column.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultColumn {
    /// `*`.
    Star,
    /// `table.*`.
    TableStar(String),
    /// `expr [AS alias]`.
    Expr {
        /// The expression.
        expr: Expr,
        /// Its alias.
        alias: Option<String>,
    },
}

/// A `FROM` clause element.
#[derive(Debug, Clone, PartialEq)]
pub enum FromItem {
    /// A table, view or CTE by name.
    Table {
        /// Name.
        name: String,
        /// `AS alias`.
        alias: Option<String>,
    },
    /// `(query) [AS alias]`.
    Subquery {
        /// The query.
        query: Box<Query>,
        /// `AS alias`.
        alias: Option<String>,
    },
    /// `left [kind] JOIN right [ON expr | USING (cols)]`; a comma is a `Cross` join without
    /// constraint.
    Join {
        /// Left side.
        left: Box<FromItem>,
        /// Right side.
        right: Box<FromItem>,
        /// Join kind.
        kind: JoinKind,
        /// `ON` / `USING` / `NATURAL`.
        constraint: JoinConstraint,
    },
}

/// Join kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `JOIN`, `INNER JOIN`.
    Inner,
    /// `LEFT [OUTER] JOIN`.
    Left,
    /// `CROSS JOIN` or a comma.
    Cross,
}

/// The constraint of a join.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinConstraint {
    /// None given.
    None,
    /// `ON expr`.
    On(Expr),
    /// `USING (a, b)`.
    Using(Vec<String>),
    /// `NATURAL JOIN`.
    Natural,
}

/// An `ORDER BY` term.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// The expression (an integer literal means a result column number).
    pub expr: Expr,
    /// `DESC`.
    pub desc: bool,
    /// `NULLS FIRST` (Some(true)) / `NULLS LAST` (Some(false)); None: SQLite's default
    /// (NULLs are smallest).
    pub nulls_first: Option<bool>,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal: number, string, blob (`x'..'`), NULL, TRUE/FALSE (as integers 1/0).
    Literal(Value),
    /// `[table.]column`.
    Column {
        /// Qualifier.
        table: Option<String>,
        /// Column name.
        name: String,
    },
    /// A parameter; the 1-based index. `?` takes the next index, `?NNN` is index NNN, and a
    /// named parameter (`:a`, `@a`, `$a`) gets an index the first time its name appears (the
    /// names are returned beside the statement, see `parser::ParsedStatement`).
    Param(u32),
    /// A unary operator.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Operand.
        expr: Box<Expr>,
    },
    /// A binary operator.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `expr IS NULL` / `expr ISNULL` / `expr NOTNULL` / `expr IS NOT NULL`.
    IsNull {
        /// Operand.
        expr: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high`.
    Between {
        /// Operand.
        expr: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `expr [NOT] IN (list)`; an empty list is allowed.
    InList {
        /// Operand.
        expr: Box<Expr>,
        /// The list.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `expr [NOT] IN (query)`; `expr IN table` is parsed as `IN (SELECT * FROM table)`.
    InSubquery {
        /// Operand.
        expr: Box<Expr>,
        /// The subquery.
        query: Box<Query>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `[NOT] EXISTS (query)`.
    Exists {
        /// The subquery.
        query: Box<Query>,
        /// `NOT EXISTS`.
        negated: bool,
    },
    /// `(query)` used as a scalar.
    Subquery(Box<Query>),
    /// `expr [NOT] LIKE|GLOB pattern [ESCAPE esc]`.
    Like {
        /// Operand.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// `ESCAPE` character expression (LIKE only).
        escape: Option<Box<Expr>>,
        /// `NOT LIKE`.
        negated: bool,
        /// `GLOB` instead of `LIKE`.
        glob: bool,
    },
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`.
    Case {
        /// The operand of a simple CASE.
        operand: Option<Box<Expr>>,
        /// `(WHEN, THEN)` pairs, at least one.
        whens: Vec<(Expr, Expr)>,
        /// `ELSE`.
        else_: Option<Box<Expr>>,
    },
    /// `CAST(expr AS type)`; the type name as written (e.g. `VARCHAR(10)`).
    Cast {
        /// Operand.
        expr: Box<Expr>,
        /// Type name.
        type_name: String,
    },
    /// A function call; `count(*)` has `star` set and no args.
    Function {
        /// Name as written.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
        /// `f(DISTINCT x)`.
        distinct: bool,
        /// `f(*)`.
        star: bool,
    },
    /// `expr COLLATE name`.
    Collate {
        /// Operand.
        expr: Box<Expr>,
        /// Collation name (BINARY, NOCASE, RTRIM).
        collation: String,
    },
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `+x`.
    Plus,
    /// `NOT x`.
    Not,
    /// `~x`.
    BitNot,
}

/// Binary operators, in SQLite's precedence groups (highest first): `||`; `* / %`; `+ -`;
/// `& | << >>`; `< <= > >=`; `= == != <> IS IS NOT` (with IN, LIKE, GLOB, BETWEEN at this
/// level); `AND`; `OR`. `NOT` (prefix) binds looser than comparison and tighter than `AND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `||`.
    Concat,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `&`.
    BitAnd,
    /// `|`.
    BitOr,
    /// `<<`.
    ShiftLeft,
    /// `>>`.
    ShiftRight,
    /// `<`.
    Lt,
    /// `<=`.
    LtEq,
    /// `>`.
    Gt,
    /// `>=`.
    GtEq,
    /// `=` or `==`.
    Eq,
    /// `!=` or `<>`.
    NotEq,
    /// `IS` (NULL-safe equality).
    Is,
    /// `IS NOT`.
    IsNot,
    /// `AND`.
    And,
    /// `OR`.
    Or,
}

/// `INSERT` / `REPLACE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// `WITH` clause before INSERT.
    pub with: Vec<Cte>,
    /// `INSERT OR <action>`; `REPLACE INTO` is `Some(Replace)`.
    pub or: Option<ConflictAction>,
    /// Target table.
    pub table: String,
    /// `AS alias` after the table name (names the existing row in `DO UPDATE`).
    pub alias: Option<String>,
    /// Column list (empty: all columns in order).
    pub columns: Vec<String>,
    /// Rows to insert.
    pub source: InsertSource,
    /// `ON CONFLICT` clauses, in order (only the last may have no target).
    pub upsert: Vec<Upsert>,
    /// `RETURNING` columns (empty: none).
    pub returning: Vec<ResultColumn>,
}

/// Where inserted rows come from.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertSource {
    /// `VALUES (..), (..)`.
    Values(Vec<Vec<Expr>>),
    /// `SELECT ...` (any query).
    Query(Box<Query>),
    /// `DEFAULT VALUES`.
    DefaultValues,
}

/// Conflict resolution of `INSERT OR ...` / `UPDATE OR ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictAction {
    /// `OR ROLLBACK`.
    Rollback,
    /// `OR ABORT` (the default).
    Abort,
    /// `OR FAIL`.
    Fail,
    /// `OR IGNORE`.
    Ignore,
    /// `OR REPLACE`.
    Replace,
}

/// `ON CONFLICT [(cols)] DO NOTHING | DO UPDATE SET ... [WHERE ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Upsert {
    /// Conflict target columns (empty: any conflict).
    pub target: Vec<ConflictColumn>,
    /// `None`: DO NOTHING. `Some`: DO UPDATE.
    pub update: Option<UpsertUpdate>,
}

/// One column of an `ON CONFLICT` target.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictColumn {
    /// Column name.
    pub name: String,
    /// `COLLATE name`, if given.
    pub collation: Option<String>,
}

/// The `DO UPDATE` part of an upsert.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertUpdate {
    /// `SET` assignments (may reference `excluded.col`).
    pub sets: Vec<Assignment>,
    /// `WHERE`.
    pub where_: Option<Expr>,
}

/// `col = expr` or `(a, b) = (expr, expr)` (the latter split into one per column).
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The column.
    pub column: String,
    /// The new value.
    pub value: Expr,
}

/// `UPDATE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// `WITH` clause.
    pub with: Vec<Cte>,
    /// `UPDATE OR <action>`.
    pub or: Option<ConflictAction>,
    /// Target table.
    pub table: String,
    /// `AS alias`.
    pub alias: Option<String>,
    /// `SET` assignments.
    pub sets: Vec<Assignment>,
    /// `WHERE`.
    pub where_: Option<Expr>,
    /// `RETURNING`.
    pub returning: Vec<ResultColumn>,
}

/// `DELETE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    /// `WITH` clause.
    pub with: Vec<Cte>,
    /// Target table.
    pub table: String,
    /// `AS alias`.
    pub alias: Option<String>,
    /// `WHERE`.
    pub where_: Option<Expr>,
    /// `RETURNING`.
    pub returning: Vec<ResultColumn>,
}

/// `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    /// Table name.
    pub name: String,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// `TEMP` / `TEMPORARY` (accepted; the table is stored like any other).
    pub temporary: bool,
    /// Column definitions (empty for `CREATE TABLE .. AS SELECT`).
    pub columns: Vec<ColumnDef>,
    /// Table constraints.
    pub constraints: Vec<TableConstraint>,
    /// `AS query`.
    pub as_query: Option<Box<Query>>,
    /// `WITHOUT ROWID`.
    pub without_rowid: bool,
}

/// A column definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// Declared type as written, e.g. `VARCHAR(8)` (None: no type).
    pub type_name: Option<String>,
    /// Column constraints in order.
    pub constraints: Vec<ColumnConstraint>,
}

/// A column constraint (`CONSTRAINT name` prefixes are accepted and dropped).
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnConstraint {
    /// `PRIMARY KEY [ASC|DESC] [AUTOINCREMENT]` (a conflict clause is accepted and dropped).
    PrimaryKey {
        /// `DESC`.
        desc: bool,
        /// `AUTOINCREMENT`.
        autoincrement: bool,
    },
    /// `NOT NULL`.
    NotNull,
    /// `NULL`.
    Null,
    /// `UNIQUE`.
    Unique,
    /// `DEFAULT literal | (expr) | -number`.
    Default(Expr),
    /// `CHECK (expr)`.
    Check(Expr),
    /// `COLLATE name`.
    Collate(String),
    /// `REFERENCES t [(cols)] ...` (accepted, not enforced).
    References(String),
}

/// A table constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum TableConstraint {
    /// `PRIMARY KEY (cols)`.
    PrimaryKey(Vec<IndexedColumn>),
    /// `UNIQUE (cols)`.
    Unique(Vec<IndexedColumn>),
    /// `CHECK (expr)`.
    Check(Expr),
    /// `FOREIGN KEY (cols) REFERENCES ...` (accepted, not enforced).
    ForeignKey,
}

/// A column in an index or key definition.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedColumn {
    /// Column name.
    pub name: String,
    /// `DESC`.
    pub desc: bool,
    /// `COLLATE name`, as written.
    pub collation: Option<String>,
}

/// `CREATE [UNIQUE] INDEX`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateIndex {
    /// Index name.
    pub name: String,
    /// Table.
    pub table: String,
    /// `UNIQUE`.
    pub unique: bool,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// Indexed columns.
    pub columns: Vec<IndexedColumn>,
    /// Partial index `WHERE` (parsed; the planner may reject it).
    pub where_: Option<Expr>,
}

/// `CREATE VIEW`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateView {
    /// View name.
    pub name: String,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// `TEMP` / `TEMPORARY`.
    pub temporary: bool,
    /// Optional column names.
    pub columns: Vec<String>,
    /// The view's query.
    pub query: Box<Query>,
}

/// `ALTER TABLE` actions.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterAction {
    /// `ADD [COLUMN] def`.
    AddColumn(ColumnDef),
    /// `RENAME TO name`.
    RenameTable(String),
    /// `RENAME [COLUMN] old TO new`.
    RenameColumn {
        /// Old name.
        old: String,
        /// New name.
        new: String,
    },
    /// `DROP [COLUMN] name`.
    DropColumn(String),
}
