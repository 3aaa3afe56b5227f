//! The SQL parser: a hand-written recursive-descent parser (precedence climbing for
//! expressions) over the tokens of [`crate::sql::parser::lexer`], producing [`crate::sql::parser::ast`] for SQLite's
//! dialect. It owns statement splitting (`;`), parameter numbering, source spans and syntax
//! errors with line and column. Hand-written to keep the wasm download small.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::mem;
use core::ops::Range;

use crate::error::{Error, Result};
use crate::sql::parser::ast::*;
use crate::sql::parser::lexer::{next_token, Tok, Token};
use crate::sql::types::value::Value;

/// One parsed statement with what a prepared statement needs to bind it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement {
    /// The statement.
    pub stmt: Statement,
    /// One entry per parameter index (entry `i` is parameter `i + 1`): its name including the
    /// sigil (`:a`, `@a`, `$a`) for named parameters, `None` for `?` / `?NNN`.
    pub param_names: Vec<Option<String>>,
    /// Byte range of the statement's text in the input (without the terminating `;`).
    pub span: Range<usize>,
}

/// Deepest nesting of expressions and queries accepted (bounds the parser's recursion).
const MAX_DEPTH: u32 = 200;
/// Longest left-nested chain accepted, such as `a + b + c` (with `MAX_DEPTH` it bounds the
/// recursion of whoever walks or drops the tree; SQLite's default expression depth limit).
const MAX_HEIGHT: u32 = 1000;
/// Largest parameter index (SQLite's default `SQLITE_MAX_VARIABLE_NUMBER`).
pub(super) const MAX_PARAM: usize = 32766;

/// Words that cannot be used as bare identifiers or aliases (SQLite's reserved keywords plus
/// the join keywords), each between single spaces.
const RESERVED: &str = " ADD ALL ALTER AND AS AUTOINCREMENT BETWEEN CASE CHECK COLLATE COMMIT CONSTRAINT CREATE \
    CROSS DEFAULT DEFERRABLE DELETE DISTINCT DROP ELSE ESCAPE EXCEPT EXISTS FOREIGN FROM FULL GROUP HAVING IN INDEX \
    INDEXED INNER INSERT INTERSECT INTO IS ISNULL JOIN LEFT LIMIT NATURAL NOT NOTNULL NULL ON OR ORDER OUTER PRIMARY \
    REFERENCES RETURNING RIGHT SELECT SET TABLE THEN TO TRANSACTION UNION UNIQUE UPDATE USING VALUES WHEN WHERE ";

pub(super) fn is_reserved(word: &str) -> bool {
    let n = word.len();
    let mut key = [b' '; 16];
    if !(2..=13).contains(&n) || !word.is_ascii() {
        return false;
    }
    key[1..=n].copy_from_slice(word.as_bytes());
    key.make_ascii_uppercase();
    core::str::from_utf8(&key[..n + 2]).is_ok_and(|k| RESERVED.contains(k))
}

/// Parses statements one at a time from a string of `;`-separated SQL.
pub struct Parser<'a> {
    pub(super) sql: &'a str,
    pub(super) pos: usize,
    pub(super) toks: Vec<Token>,
    pub(super) i: usize,
    pub(super) depth: u32,
    pub(super) chain: u32,
    pub(super) params: Vec<Option<String>>,
}

impl<'a> Parser<'a> {
    /// A parser over `sql`.
    pub fn new(sql: &'a str) -> Parser<'a> {
        Parser { sql, pos: 0, toks: Vec::new(), i: 0, depth: 0, chain: 0, params: Vec::new() }
    }

    /// The next statement, or `None` at the end. Empty statements (`;;`) are skipped. After an
    /// error the parser resumes after the failed statement's `;` (or at the end of the input if
    /// the statement could not be tokenized).
    pub fn next_statement(&mut self) -> Result<Option<ParsedStatement>> {
        loop {
            self.toks.clear();
            loop {
                let t = next_token(self.sql, self.pos);
                self.pos = t.end;
                let last = matches!(t.kind, Tok::Eof | Tok::Bad(_) | Tok::Op(";"));
                self.toks.push(t);
                if last {
                    break;
                }
            }
            if matches!(self.toks.last().map(|t| &t.kind), Some(Tok::Bad(_))) {
                self.pos = self.sql.len();
            }
            match self.toks[0].kind {
                Tok::Eof => return Ok(None),
                Tok::Op(";") => continue,
                _ => {}
            }
            (self.i, self.depth, self.chain) = (0, 0, 0);
            self.params.clear();
            let stmt = self.statement()?;
            if !self.at_end() || matches!(self.tok().kind, Tok::Bad(_)) {
                return Err(self.unexpected("end of statement"));
            }
            let n = self.toks.len();
            let span = self.toks[0].start..self.toks[n.saturating_sub(2)].end;
            return Ok(Some(ParsedStatement { stmt, param_names: mem::take(&mut self.params), span }));
        }
    }

    // ---- token helpers ----

    pub(super) fn tok(&self) -> &Token {
        &self.toks[self.i]
    }

    pub(super) fn peek(&self, n: usize) -> &Token {
        &self.toks[(self.i + n).min(self.toks.len() - 1)]
    }

    fn at_end(&self) -> bool {
        self.i + 1 >= self.toks.len()
    }

    /// Consume the current token, returning its kind (the token keeps a placeholder).
    pub(super) fn bump(&mut self) -> Tok {
        if self.at_end() {
            return Tok::Eof;
        }
        self.i += 1;
        mem::replace(&mut self.toks[self.i - 1].kind, Tok::Op(""))
    }

    pub(super) fn text(&self, t: &Token) -> &'a str {
        self.sql.get(t.start..t.end).unwrap_or("")
    }

    /// Consume the current token and return its text (unescaped for quoted identifiers and
    /// strings).
    pub(super) fn take_text(&mut self) -> String {
        let text = self.text(self.tok());
        match self.bump() {
            Tok::Quoted(s) | Tok::Str(s) => s,
            _ => text.to_string(),
        }
    }

    pub(super) fn is_kw_at(&self, n: usize, k: &str) -> bool {
        let t = self.peek(n);
        t.kind == Tok::Word && self.text(t).eq_ignore_ascii_case(k)
    }

    pub(super) fn kw(&self, k: &str) -> bool {
        self.is_kw_at(0, k)
    }

    pub(super) fn eat_kw(&mut self, k: &str) -> bool {
        let found = self.kw(k);
        if found {
            self.i += 1;
        }
        found
    }

    pub(super) fn expect_kw(&mut self, k: &str) -> Result<()> {
        if self.eat_kw(k) {
            Ok(())
        } else {
            Err(self.unexpected(k))
        }
    }

    pub(super) fn is_op_at(&self, n: usize, op: &str) -> bool {
        matches!(self.peek(n).kind, Tok::Op(o) if o == op)
    }

    pub(super) fn op(&self, op: &str) -> bool {
        self.is_op_at(0, op)
    }

    pub(super) fn eat_op(&mut self, op: &str) -> bool {
        let found = self.op(op);
        if found {
            self.i += 1;
        }
        found
    }

    pub(super) fn expect_op(&mut self, op: &str) -> Result<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{op}'")))
        }
    }

    /// Whether the current token starts a query (`SELECT`, `VALUES`, `WITH`).
    pub(super) fn at_query(&self) -> bool {
        self.kw("SELECT") || self.kw("VALUES") || self.kw("WITH")
    }

    pub(super) fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.tok().start, "too deeply nested".into()));
        }
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth -= 1;
    }

    /// One more link in a left-nested chain (`a + b + c`, compounds, joins): the tree gets
    /// deeper without recursion, so a larger limit applies to chains (as SQLite's expression
    /// depth limit; the nesting they sit in is bounded apart, by `MAX_DEPTH`). (Callers
    /// restore `chain` when the chain ends.)
    pub(super) fn grow(&mut self) -> Result<()> {
        self.chain += 1;
        if self.chain > MAX_HEIGHT {
            return Err(self.error_at(self.tok().start, "too deeply nested".into()));
        }
        Ok(())
    }

    // ---- errors ----

    pub(super) fn error_at(&self, offset: usize, message: String) -> Error {
        let before = self.sql.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        Error::SqlSyntax { offset, line: line as u32, column: column as u32, message }
    }

    /// An error at the current token: "expected `what` but found ...".
    pub(super) fn unexpected(&self, what: &str) -> Error {
        let t = self.tok();
        let message = match &t.kind {
            Tok::Eof => format!("unexpected end of input, expected {what}"),
            Tok::Bad(m) => m.clone(),
            _ => {
                let text = self.text(t);
                let short: String = text.chars().take(40).collect();
                let dots = if short.len() < text.len() { "..." } else { "" };
                format!("expected {what} but found '{short}{dots}'")
            }
        };
        self.error_at(t.start, message)
    }

    /// A pragma's value: a name, string or (signed) number, as text.
    fn pragma_value(&mut self) -> Result<String> {
        let sign = if self.eat_op("-") {
            "-"
        } else {
            self.eat_op("+");
            ""
        };
        match self.tok().kind {
            Tok::Num(_) => Ok(format!("{sign}{}", self.take_text())),
            Tok::Word | Tok::Quoted(_) | Tok::Str(_) if sign.is_empty() => Ok(self.take_text()),
            _ => Err(self.unexpected("a pragma value")),
        }
    }

    // ---- names ----

    /// An identifier: unreserved word, quoted identifier or string.
    pub(super) fn name(&mut self, what: &str) -> Result<String> {
        if self.at_name() || matches!(self.tok().kind, Tok::Str(_)) {
            Ok(self.take_text())
        } else {
            Err(self.unexpected(what))
        }
    }

    /// Whether the current token can be a bare identifier.
    fn at_name(&self) -> bool {
        let t = self.tok();
        match t.kind {
            Tok::Word => !is_reserved(self.text(t)),
            Tok::Quoted(_) => true,
            _ => false,
        }
    }

    /// `[schema.]name`, keeping only the name.
    pub(super) fn qualified_name(&mut self, what: &str) -> Result<String> {
        let mut name = self.name(what)?;
        if self.eat_op(".") {
            name = self.name(what)?;
        }
        Ok(name)
    }

    /// `[AS] alias`.
    pub(super) fn alias(&mut self) -> Result<Option<String>> {
        if self.eat_kw("AS") || self.at_name() || matches!(self.tok().kind, Tok::Str(_)) {
            return self.name("an alias").map(Some);
        }
        Ok(None)
    }

    /// `(name, ...)`.
    fn name_list(&mut self) -> Result<Vec<String>> {
        self.expect_op("(")?;
        let mut names = Vec::new();
        loop {
            names.push(self.name("a column name")?);
            if !self.eat_op(",") {
                break;
            }
        }
        self.expect_op(")")?;
        Ok(names)
    }

    fn comma_list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let mut items = Vec::new();
        loop {
            items.push(item(self)?);
            if !self.eat_op(",") {
                return Ok(items);
            }
        }
    }

    /// `expr, ...`.
    pub(super) fn expr_list(&mut self) -> Result<Vec<Expr>> {
        self.comma_list(Self::expr)
    }

    // ---- statements ----

    pub(super) fn statement(&mut self) -> Result<Statement> {
        let t = self.tok();
        if t.kind != Tok::Word {
            return Err(self.unexpected("a statement"));
        }
        let word = self.text(t).to_ascii_uppercase();
        let stmt = match word.as_str() {
            "SELECT" | "VALUES" => Statement::Query(Box::new(self.query()?)),
            "WITH" => {
                let with = self.with_clause()?;
                if self.kw("INSERT") || self.kw("REPLACE") {
                    Statement::Insert(Box::new(self.insert(with)?))
                } else if self.kw("UPDATE") {
                    Statement::Update(Box::new(self.update(with)?))
                } else if self.kw("DELETE") {
                    Statement::Delete(Box::new(self.delete(with)?))
                } else {
                    self.enter()?;
                    let q = self.query_body(with)?;
                    self.leave();
                    Statement::Query(Box::new(q))
                }
            }
            "INSERT" | "REPLACE" => Statement::Insert(Box::new(self.insert(Vec::new())?)),
            "UPDATE" => Statement::Update(Box::new(self.update(Vec::new())?)),
            "DELETE" => Statement::Delete(Box::new(self.delete(Vec::new())?)),
            "CREATE" => self.create()?,
            "DROP" => self.drop()?,
            "ALTER" => self.alter()?,
            "BEGIN" | "COMMIT" | "END" | "ROLLBACK" => {
                self.i += 1;
                if word == "BEGIN" {
                    let _ = self.eat_kw("DEFERRED") || self.eat_kw("IMMEDIATE") || self.eat_kw("EXCLUSIVE");
                }
                if self.eat_kw("TRANSACTION") && self.at_name() {
                    self.i += 1;
                }
                match word.as_str() {
                    "BEGIN" => Statement::Begin,
                    "ROLLBACK" => Statement::Rollback,
                    _ => Statement::Commit,
                }
            }
            "REINDEX" | "ANALYZE" => {
                self.i += 1;
                let name = if self.at_end() { None } else { Some(self.qualified_name("a name")?) };
                if word == "ANALYZE" {
                    Statement::Analyze(name)
                } else {
                    Statement::Reindex(name)
                }
            }
            "PRAGMA" => {
                self.i += 1;
                let name = self.qualified_name("a pragma name")?;
                let value = if self.eat_op("=") {
                    Some(self.pragma_value()?)
                } else if self.eat_op("(") {
                    let v = self.pragma_value()?;
                    self.expect_op(")")?;
                    Some(v)
                } else {
                    None
                };
                Statement::Pragma { name, value }
            }
            "EXPLAIN" => {
                self.i += 1;
                let query_plan = self.eat_kw("QUERY");
                if query_plan {
                    self.expect_kw("PLAN")?;
                }
                if self.kw("EXPLAIN") {
                    return Err(self.unexpected("a statement"));
                }
                Statement::Explain(Box::new(self.statement()?), query_plan)
            }
            _ => return Err(self.unexpected("a statement")),
        };
        Ok(stmt)
    }

    fn conflict_action(&mut self) -> Result<ConflictAction> {
        let action = if self.eat_kw("ROLLBACK") {
            ConflictAction::Rollback
        } else if self.eat_kw("ABORT") {
            ConflictAction::Abort
        } else if self.eat_kw("FAIL") {
            ConflictAction::Fail
        } else if self.eat_kw("IGNORE") {
            ConflictAction::Ignore
        } else if self.eat_kw("REPLACE") {
            ConflictAction::Replace
        } else {
            return Err(self.unexpected("ROLLBACK, ABORT, FAIL, IGNORE or REPLACE"));
        };
        Ok(action)
    }

    /// `OR action` after INSERT / UPDATE.
    fn or_action(&mut self) -> Result<Option<ConflictAction>> {
        if self.eat_kw("OR") {
            return self.conflict_action().map(Some);
        }
        Ok(None)
    }

    /// `[ON CONFLICT action]` in a constraint (accepted and dropped).
    fn on_conflict(&mut self) -> Result<()> {
        if self.kw("ON") && self.is_kw_at(1, "CONFLICT") {
            self.i += 2;
            self.conflict_action()?;
        }
        Ok(())
    }

    pub(super) fn returning(&mut self) -> Result<Vec<ResultColumn>> {
        if self.eat_kw("RETURNING") {
            return self.comma_list(Self::result_column);
        }
        Ok(Vec::new())
    }

    fn where_clause(&mut self) -> Result<Option<Expr>> {
        if self.eat_kw("WHERE") {
            return self.expr().map(Some);
        }
        Ok(None)
    }

    /// `[INDEXED BY name | NOT INDEXED]` after a table name (accepted and dropped).
    fn index_hint(&mut self) -> Result<()> {
        if self.eat_kw("INDEXED") {
            self.expect_kw("BY")?;
            self.name("an index name")?;
        } else if self.kw("NOT") && self.is_kw_at(1, "INDEXED") {
            self.i += 2;
        }
        Ok(())
    }

    pub(super) fn insert(&mut self, with: Vec<Cte>) -> Result<Insert> {
        let or = if self.eat_kw("REPLACE") {
            Some(ConflictAction::Replace)
        } else {
            self.expect_kw("INSERT")?;
            self.or_action()?
        };
        self.expect_kw("INTO")?;
        let table = self.qualified_name("a table name")?;
        let alias = if self.eat_kw("AS") { Some(self.name("an alias")?) } else { None };
        let columns = if self.op("(") { self.name_list()? } else { Vec::new() };
        let source = if self.eat_kw("DEFAULT") {
            self.expect_kw("VALUES")?;
            InsertSource::DefaultValues
        } else {
            let q = self.query()?;
            match q {
                Query { with, body: SetExpr::Values(rows), order_by, limit: None, offset: None }
                    if with.is_empty() && order_by.is_empty() =>
                {
                    InsertSource::Values(rows)
                }
                q => InsertSource::Query(Box::new(q)),
            }
        };
        // `ON CONFLICT` clauses; one without a target must be the last.
        let mut upsert = Vec::new();
        while upsert.last().is_none_or(|u: &Upsert| !u.target.is_empty()) && self.eat_kw("ON") {
            self.expect_kw("CONFLICT")?;
            let mut target = Vec::new();
            if self.eat_op("(") {
                target = self.comma_list(|p| {
                    let name = p.name("a column name")?;
                    let collation = if p.eat_kw("COLLATE") { Some(p.name("a collation name")?) } else { None };
                    if !p.eat_kw("DESC") {
                        p.eat_kw("ASC");
                    }
                    Ok(ConflictColumn { name, collation })
                })?;
                self.expect_op(")")?;
                self.where_clause()?;
            }
            self.expect_kw("DO")?;
            let update = if self.eat_kw("NOTHING") {
                None
            } else {
                self.expect_kw("UPDATE")?;
                self.expect_kw("SET")?;
                Some(UpsertUpdate { sets: self.assignments()?, where_: self.where_clause()? })
            };
            upsert.push(Upsert { target, update });
        }
        Ok(Insert { with, or, table, alias, columns, source, upsert, returning: self.returning()? })
    }

    /// `col = expr, (a, b) = (expr, expr), ...`.
    pub(super) fn assignments(&mut self) -> Result<Vec<Assignment>> {
        let mut sets = Vec::new();
        loop {
            if self.op("(") {
                let columns = self.name_list()?;
                self.expect_op("=")?;
                self.expect_op("(")?;
                let at = self.tok().start;
                let values = self.expr_list()?;
                if values.len() != columns.len() {
                    let msg = format!("{} columns assigned {} values", columns.len(), values.len());
                    return Err(self.error_at(at, msg));
                }
                self.expect_op(")")?;
                sets.extend(columns.into_iter().zip(values).map(|(column, value)| Assignment { column, value }));
            } else {
                let column = self.name("a column name")?;
                self.expect_op("=")?;
                sets.push(Assignment { column, value: self.expr()? });
            }
            if !self.eat_op(",") {
                return Ok(sets);
            }
        }
    }

    /// `name [AS alias]` of UPDATE / DELETE.
    fn target_table(&mut self) -> Result<(String, Option<String>)> {
        let table = self.qualified_name("a table name")?;
        let alias = if self.eat_kw("AS") { Some(self.name("an alias")?) } else { None };
        self.index_hint()?;
        Ok((table, alias))
    }

    pub(super) fn update(&mut self, with: Vec<Cte>) -> Result<Update> {
        self.expect_kw("UPDATE")?;
        let or = self.or_action()?;
        let (table, alias) = self.target_table()?;
        self.expect_kw("SET")?;
        let sets = self.assignments()?;
        Ok(Update { with, or, table, alias, sets, where_: self.where_clause()?, returning: self.returning()? })
    }

    pub(super) fn delete(&mut self, with: Vec<Cte>) -> Result<Delete> {
        self.expect_kw("DELETE")?;
        self.expect_kw("FROM")?;
        let (table, alias) = self.target_table()?;
        Ok(Delete { with, table, alias, where_: self.where_clause()?, returning: self.returning()? })
    }

    pub(super) fn if_not_exists(&mut self) -> Result<bool> {
        if self.eat_kw("IF") {
            self.expect_kw("NOT")?;
            self.expect_kw("EXISTS")?;
            return Ok(true);
        }
        Ok(false)
    }

    pub(super) fn create(&mut self) -> Result<Statement> {
        self.expect_kw("CREATE")?;
        let temporary = self.eat_kw("TEMP") || self.eat_kw("TEMPORARY");
        let unique = !temporary && self.eat_kw("UNIQUE");
        if self.kw("TRIGGER") && !unique {
            return Err(Error::Sql("triggers are not supported".into()));
        }
        if !unique && self.eat_kw("TABLE") {
            let if_not_exists = self.if_not_exists()?;
            let name = self.qualified_name("a table name")?;
            let mut t = CreateTable {
                name,
                if_not_exists,
                temporary,
                columns: Vec::new(),
                constraints: Vec::new(),
                as_query: None,
                without_rowid: false,
            };
            if self.eat_kw("AS") {
                t.as_query = Some(Box::new(self.query()?));
                return Ok(Statement::CreateTable(Box::new(t)));
            }
            self.expect_op("(")?;
            loop {
                if ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"].iter().any(|k| self.kw(k)) {
                    break;
                }
                t.columns.push(self.column_def()?);
                if !self.eat_op(",") {
                    break;
                }
            }
            if t.columns.is_empty() {
                return Err(self.unexpected("a column definition"));
            }
            while !self.op(")") {
                t.constraints.push(self.table_constraint()?);
                if self.eat_op(",") && self.op(")") {
                    return Err(self.unexpected("a table constraint"));
                }
            }
            self.i += 1;
            if self.eat_kw("WITHOUT") {
                self.expect_kw("ROWID")?;
                t.without_rowid = true;
            }
            Ok(Statement::CreateTable(Box::new(t)))
        } else if !temporary && self.eat_kw("INDEX") {
            let if_not_exists = self.if_not_exists()?;
            let name = self.qualified_name("an index name")?;
            self.expect_kw("ON")?;
            let table = self.name("a table name")?;
            let columns = self.indexed_columns()?;
            let where_ = self.where_clause()?;
            Ok(Statement::CreateIndex(Box::new(CreateIndex { name, table, unique, if_not_exists, columns, where_ })))
        } else if !unique && self.eat_kw("VIEW") {
            let if_not_exists = self.if_not_exists()?;
            let name = self.qualified_name("a view name")?;
            let columns = if self.op("(") { self.name_list()? } else { Vec::new() };
            self.expect_kw("AS")?;
            let query = Box::new(self.query()?);
            Ok(Statement::CreateView(Box::new(CreateView { name, if_not_exists, temporary, columns, query })))
        } else {
            Err(self.unexpected(if unique { "INDEX" } else { "TABLE, INDEX or VIEW" }))
        }
    }

    /// `(name [COLLATE c] [ASC|DESC], ...)`.
    fn indexed_columns(&mut self) -> Result<Vec<IndexedColumn>> {
        self.expect_op("(")?;
        let cols = self.comma_list(|p| {
            let name = p.name("a column name")?;
            let collation = if p.eat_kw("COLLATE") { Some(p.name("a collation name")?) } else { None };
            let desc = p.eat_kw("DESC");
            if !desc {
                p.eat_kw("ASC");
            }
            Ok(IndexedColumn { name, desc, collation })
        })?;
        self.expect_op(")")?;
        Ok(cols)
    }

    /// A type name: words, then optional `(n)` or `(n, m)`, joined as written with single
    /// spaces between words (`VARCHAR(8)`, `DOUBLE PRECISION`, `DECIMAL(10,2)`).
    pub(super) fn type_name(&mut self) -> Result<String> {
        let mut s = String::new();
        while self.at_name() {
            if !s.is_empty() {
                s.push(' ');
            }
            s += &self.take_text();
        }
        if !s.is_empty() && self.eat_op("(") {
            s.push('(');
            loop {
                if self.op("+") || self.op("-") {
                    s.push_str(self.text(self.tok()));
                    self.i += 1;
                }
                if !matches!(self.tok().kind, Tok::Num(_)) {
                    return Err(self.unexpected("a number"));
                }
                s.push_str(self.text(self.tok()));
                self.i += 1;
                if !self.eat_op(",") {
                    break;
                }
                s.push(',');
            }
            self.expect_op(")")?;
            s.push(')');
        }
        Ok(s)
    }

    fn column_def(&mut self) -> Result<ColumnDef> {
        let name = self.name("a column name")?;
        let ty = self.type_name()?;
        let type_name = if ty.is_empty() { None } else { Some(ty) };
        let mut constraints = Vec::new();
        loop {
            let named = self.eat_kw("CONSTRAINT");
            if named {
                self.name("a constraint name")?;
            }
            let c = if self.eat_kw("PRIMARY") {
                self.expect_kw("KEY")?;
                let desc = self.eat_kw("DESC");
                if !desc {
                    self.eat_kw("ASC");
                }
                self.on_conflict()?;
                ColumnConstraint::PrimaryKey { desc, autoincrement: self.eat_kw("AUTOINCREMENT") }
            } else if self.eat_kw("NOT") {
                self.expect_kw("NULL")?;
                self.on_conflict()?;
                ColumnConstraint::NotNull
            } else if self.eat_kw("NULL") {
                self.on_conflict()?;
                ColumnConstraint::Null
            } else if self.eat_kw("UNIQUE") {
                self.on_conflict()?;
                ColumnConstraint::Unique
            } else if self.eat_kw("CHECK") {
                ColumnConstraint::Check(self.paren_expr()?)
            } else if self.eat_kw("DEFAULT") {
                ColumnConstraint::Default(self.default_value()?)
            } else if self.eat_kw("COLLATE") {
                ColumnConstraint::Collate(self.name("a collation name")?)
            } else if self.eat_kw("REFERENCES") {
                ColumnConstraint::References(self.foreign_key_clause()?)
            } else if named {
                return Err(self.unexpected("a column constraint"));
            } else {
                return Ok(ColumnDef { name, type_name, constraints });
            };
            constraints.push(c);
        }
    }

    fn paren_expr(&mut self) -> Result<Expr> {
        self.expect_op("(")?;
        let e = self.expr()?;
        self.expect_op(")")?;
        Ok(e)
    }

    /// `DEFAULT literal | signed number | (expr) | CURRENT_TIMESTAMP | CURRENT_DATE |
    /// CURRENT_TIME | identifier` (another identifier is kept as text, as SQLite does).
    fn default_value(&mut self) -> Result<Expr> {
        let t = self.tok();
        match &t.kind {
            Tok::Op("(") => self.paren_expr(),
            // A signed number; a COLLATE after it is the column's, not part of the default.
            Tok::Op(sign @ ("+" | "-")) if matches!(self.peek(1).kind, Tok::Num(_)) => {
                let neg = *sign == "-";
                self.i += 1;
                if neg {
                    Ok(self.negative_literal())
                } else {
                    self.primary()
                }
            }
            Tok::Num(_) | Tok::Str(_) | Tok::Blob(_) => self.primary(),
            Tok::Word if ["NULL", "TRUE", "FALSE"].iter().any(|k| self.kw(k)) => self.primary(),
            Tok::Word if ["CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME"].iter().any(|k| self.kw(k)) => {
                let word = self.text(t);
                self.i += 1;
                Ok(crate::sql::parser::expr::current_time_expr(word))
            }
            Tok::Word | Tok::Quoted(_) if self.at_name() => Ok(Expr::Literal(Value::Text(self.name("")?.into()))),
            _ => Err(self.unexpected("a default value")),
        }
    }

    /// `REFERENCES` clause after the keyword: `table [(cols)]` and its actions, returning the
    /// table (the rest is accepted and dropped).
    fn foreign_key_clause(&mut self) -> Result<String> {
        let table = self.name("a table name")?;
        if self.op("(") {
            self.name_list()?;
        }
        loop {
            if self.kw("ON") && (self.is_kw_at(1, "DELETE") || self.is_kw_at(1, "UPDATE")) {
                self.i += 2;
                if self.eat_kw("SET") {
                    if !self.eat_kw("NULL") {
                        self.expect_kw("DEFAULT")?;
                    }
                } else if self.eat_kw("NO") {
                    self.expect_kw("ACTION")?;
                } else if !self.eat_kw("CASCADE") && !self.eat_kw("RESTRICT") {
                    return Err(self.unexpected("SET NULL, SET DEFAULT, CASCADE, RESTRICT or NO ACTION"));
                }
            } else if self.eat_kw("MATCH") {
                if self.tok().kind != Tok::Word {
                    return Err(self.unexpected("SIMPLE, PARTIAL or FULL"));
                }
                self.i += 1;
            } else if self.kw("DEFERRABLE") || (self.kw("NOT") && self.is_kw_at(1, "DEFERRABLE")) {
                self.eat_kw("NOT");
                self.i += 1;
                if self.eat_kw("INITIALLY") && !self.eat_kw("DEFERRED") {
                    self.expect_kw("IMMEDIATE")?;
                }
            } else {
                return Ok(table);
            }
        }
    }

    fn table_constraint(&mut self) -> Result<TableConstraint> {
        if self.eat_kw("CONSTRAINT") {
            self.name("a constraint name")?;
        }
        let c = if self.eat_kw("PRIMARY") {
            self.expect_kw("KEY")?;
            TableConstraint::PrimaryKey(self.indexed_columns()?)
        } else if self.eat_kw("UNIQUE") {
            TableConstraint::Unique(self.indexed_columns()?)
        } else if self.eat_kw("CHECK") {
            TableConstraint::Check(self.paren_expr()?)
        } else if self.eat_kw("FOREIGN") {
            self.expect_kw("KEY")?;
            self.name_list()?;
            self.expect_kw("REFERENCES")?;
            self.foreign_key_clause()?;
            TableConstraint::ForeignKey
        } else {
            return Err(self.unexpected("a table constraint"));
        };
        self.on_conflict()?;
        Ok(c)
    }

    pub(super) fn drop(&mut self) -> Result<Statement> {
        self.expect_kw("DROP")?;
        let kind = ["TABLE", "INDEX", "VIEW", "TRIGGER"].into_iter().find(|k| self.kw(k));
        let Some(kind) = kind else { return Err(self.unexpected("TABLE, INDEX or VIEW")) };
        if kind == "TRIGGER" {
            return Err(Error::Sql("triggers are not supported".into()));
        }
        self.i += 1;
        let if_exists = self.eat_kw("IF");
        if if_exists {
            self.expect_kw("EXISTS")?;
        }
        let name = self.qualified_name("a name")?;
        Ok(match kind {
            "TABLE" => Statement::DropTable { name, if_exists },
            "INDEX" => Statement::DropIndex { name, if_exists },
            _ => Statement::DropView { name, if_exists },
        })
    }

    pub(super) fn alter(&mut self) -> Result<Statement> {
        self.expect_kw("ALTER")?;
        self.expect_kw("TABLE")?;
        let table = self.qualified_name("a table name")?;
        let action = if self.eat_kw("ADD") {
            self.eat_kw("COLUMN");
            AlterAction::AddColumn(self.column_def()?)
        } else if self.eat_kw("RENAME") {
            if self.eat_kw("TO") {
                AlterAction::RenameTable(self.name("a table name")?)
            } else {
                self.eat_kw("COLUMN");
                let old = self.name("a column name")?;
                self.expect_kw("TO")?;
                AlterAction::RenameColumn { old, new: self.name("a column name")? }
            }
        } else if self.eat_kw("DROP") {
            self.eat_kw("COLUMN");
            AlterAction::DropColumn(self.name("a column name")?)
        } else {
            return Err(self.unexpected("ADD, RENAME or DROP"));
        };
        Ok(Statement::AlterTable { table, action })
    }

    // ---- queries ----

    /// `WITH cte, ...`.
    fn with_clause(&mut self) -> Result<Vec<Cte>> {
        self.expect_kw("WITH")?;
        if self.kw("RECURSIVE") {
            return Err(Error::Sql("recursive CTEs are not supported".into()));
        }
        self.comma_list(|p| {
            let name = p.name("a table name")?;
            let columns = if p.op("(") { p.name_list()? } else { Vec::new() };
            p.expect_kw("AS")?;
            p.eat_kw("NOT");
            p.eat_kw("MATERIALIZED");
            p.expect_op("(")?;
            let query = Box::new(p.query()?);
            p.expect_op(")")?;
            Ok(Cte { name, columns, query })
        })
    }

    pub(super) fn query(&mut self) -> Result<Query> {
        self.enter()?;
        let with = if self.kw("WITH") { self.with_clause()? } else { Vec::new() };
        let q = self.query_body(with)?;
        self.leave();
        Ok(q)
    }

    /// A query after its WITH clause: compound body, then ORDER BY and LIMIT.
    fn query_body(&mut self, with: Vec<Cte>) -> Result<Query> {
        let body = self.compound()?;
        let mut q = Query { with, body, order_by: Vec::new(), limit: None, offset: None };
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            q.order_by = self.comma_list(Self::order_item)?;
        }
        if self.eat_kw("LIMIT") {
            let first = self.expr()?;
            if self.eat_kw("OFFSET") {
                q.offset = Some(self.expr()?);
                q.limit = Some(first);
            } else if self.eat_op(",") {
                q.offset = Some(first);
                q.limit = Some(self.expr()?);
            } else {
                q.limit = Some(first);
            }
        }
        Ok(q)
    }

    fn order_item(&mut self) -> Result<OrderItem> {
        let expr = self.expr()?;
        let desc = self.eat_kw("DESC");
        if !desc {
            self.eat_kw("ASC");
        }
        let mut nulls_first = None;
        if self.eat_kw("NULLS") {
            nulls_first = Some(self.eat_kw("FIRST"));
            if nulls_first == Some(false) {
                self.expect_kw("LAST")?;
            }
        }
        Ok(OrderItem { expr, desc, nulls_first })
    }

    /// Select cores joined by compound operators (left-associative).
    pub(super) fn compound(&mut self) -> Result<SetExpr> {
        let mut body = self.select_core()?;
        let chain = self.chain;
        loop {
            let op = if self.eat_kw("UNION") {
                if self.eat_kw("ALL") {
                    CompoundOp::UnionAll
                } else {
                    CompoundOp::Union
                }
            } else if self.eat_kw("INTERSECT") {
                CompoundOp::Intersect
            } else if self.eat_kw("EXCEPT") {
                CompoundOp::Except
            } else {
                self.chain = chain;
                return Ok(body);
            };
            self.grow()?;
            let right = Box::new(self.select_core()?);
            body = SetExpr::Compound { op, left: Box::new(body), right };
        }
    }

    /// `VALUES (..), ..` or a `SELECT` core. (Counted as a nesting level of its own: a
    /// query level takes several large stack frames.)
    fn select_core(&mut self) -> Result<SetExpr> {
        self.enter()?;
        let core = self.select_or_values()?;
        self.leave();
        Ok(core)
    }

    fn select_or_values(&mut self) -> Result<SetExpr> {
        if self.eat_kw("VALUES") {
            return Ok(SetExpr::Values(self.comma_list(|p| {
                p.expect_op("(")?;
                let row = p.expr_list()?;
                p.expect_op(")")?;
                Ok(row)
            })?));
        }
        if !self.eat_kw("SELECT") {
            return Err(self.unexpected("SELECT or VALUES"));
        }
        let mut s = Box::new(Select {
            distinct: self.eat_kw("DISTINCT"),
            columns: Vec::new(),
            from: None,
            where_: None,
            group_by: Vec::new(),
            having: None,
        });
        if !s.distinct {
            self.eat_kw("ALL");
        }
        s.columns = self.comma_list(Self::result_column)?;
        if self.eat_kw("FROM") {
            s.from = Some(self.join_clause()?);
        }
        s.where_ = self.where_clause()?;
        if self.eat_kw("GROUP") {
            self.expect_kw("BY")?;
            s.group_by = self.expr_list()?;
        }
        if self.eat_kw("HAVING") {
            s.having = Some(self.expr()?);
        }
        Ok(SetExpr::Select(s))
    }

    fn result_column(&mut self) -> Result<ResultColumn> {
        if self.eat_op("*") {
            return Ok(ResultColumn::Star);
        }
        if self.at_name() && self.is_op_at(1, ".") && self.is_op_at(2, "*") {
            let table = self.name("a table name")?;
            self.i += 2;
            return Ok(ResultColumn::TableStar(table));
        }
        let expr = self.expr()?;
        Ok(ResultColumn::Expr { expr, alias: self.alias()? })
    }

    /// A FROM clause: table references joined left to right.
    fn join_clause(&mut self) -> Result<FromItem> {
        let mut left = self.table_ref()?;
        let chain = self.chain;
        while let Some((kind, natural)) = self.join_op()? {
            self.grow()?;
            let right = Box::new(self.table_ref()?);
            let constraint = if natural {
                JoinConstraint::Natural
            } else if self.kw("ON") && !self.is_kw_at(1, "CONFLICT") {
                self.i += 1;
                JoinConstraint::On(self.expr()?)
            } else if self.eat_kw("USING") {
                JoinConstraint::Using(self.name_list()?)
            } else {
                JoinConstraint::None
            };
            left = FromItem::Join { left: Box::new(left), right, kind, constraint };
        }
        self.chain = chain;
        Ok(left)
    }

    /// `,` or `[NATURAL] [LEFT [OUTER] | INNER | CROSS] JOIN`: the kind and whether NATURAL.
    fn join_op(&mut self) -> Result<Option<(JoinKind, bool)>> {
        if self.eat_op(",") {
            return Ok(Some((JoinKind::Cross, false)));
        }
        let start = self.i;
        let natural = self.eat_kw("NATURAL");
        let kind = if self.eat_kw("LEFT") {
            self.eat_kw("OUTER");
            JoinKind::Left
        } else if self.eat_kw("CROSS") {
            JoinKind::Cross
        } else {
            if self.kw("RIGHT") || self.kw("FULL") {
                return Err(Error::Sql("RIGHT and FULL joins are not supported".into()));
            }
            self.eat_kw("INNER");
            JoinKind::Inner
        };
        if self.eat_kw("JOIN") {
            Ok(Some((kind, natural)))
        } else if self.i == start {
            Ok(None)
        } else {
            Err(self.unexpected("JOIN"))
        }
    }

    fn table_ref(&mut self) -> Result<FromItem> {
        if !self.eat_op("(") {
            let name = self.qualified_name("a table name")?;
            let alias = self.alias()?;
            self.index_hint()?;
            return Ok(FromItem::Table { name, alias });
        }
        self.enter()?;
        let item = if self.at_query() {
            let query = Box::new(self.query()?);
            self.expect_op(")")?;
            FromItem::Subquery { query, alias: self.alias()? }
        } else {
            let inner = self.join_clause()?;
            self.expect_op(")")?;
            match (inner, self.alias()?) {
                (FromItem::Table { name, alias: None }, alias) => FromItem::Table { name, alias },
                (other, _) => other,
            }
        };
        self.leave();
        Ok(item)
    }
}

/// Parse every statement in `sql`.
pub fn parse(sql: &str) -> Result<Vec<ParsedStatement>> {
    let mut p = Parser::new(sql);
    let mut out = Vec::new();
    while let Some(s) = p.next_statement()? {
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
