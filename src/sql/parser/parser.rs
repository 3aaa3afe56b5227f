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
/// Deepest syntax tree accepted, counting left-nested chains such as `a + b + c` (bounds the
/// recursion of whoever walks or drops the tree; SQLite's default expression depth limit).
const MAX_HEIGHT: u32 = 1000;
/// Largest parameter index (SQLite's default `SQLITE_MAX_VARIABLE_NUMBER`).
const MAX_PARAM: usize = 32766;

/// Words that cannot be used as bare identifiers or aliases (SQLite's reserved keywords plus
/// the join keywords), each between single spaces.
const RESERVED: &str = " ADD ALL ALTER AND AS AUTOINCREMENT BETWEEN CASE CHECK COLLATE COMMIT CONSTRAINT CREATE \
    CROSS DEFAULT DEFERRABLE DELETE DISTINCT DROP ELSE ESCAPE EXCEPT EXISTS FOREIGN FROM FULL GROUP HAVING IN INDEX \
    INDEXED INNER INSERT INTERSECT INTO IS ISNULL JOIN LEFT LIMIT NATURAL NOT NOTNULL NULL ON OR ORDER OUTER PRIMARY \
    REFERENCES RETURNING RIGHT SELECT SET TABLE THEN TO TRANSACTION UNION UNIQUE UPDATE USING VALUES WHEN WHERE ";

fn is_reserved(word: &str) -> bool {
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
    sql: &'a str,
    pos: usize,
    toks: Vec<Token>,
    i: usize,
    depth: u32,
    chain: u32,
    params: Vec<Option<String>>,
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

    fn tok(&self) -> &Token {
        &self.toks[self.i]
    }

    fn peek(&self, n: usize) -> &Token {
        &self.toks[(self.i + n).min(self.toks.len() - 1)]
    }

    fn at_end(&self) -> bool {
        self.i + 1 >= self.toks.len()
    }

    /// Consume the current token, returning its kind (the token keeps a placeholder).
    fn bump(&mut self) -> Tok {
        if self.at_end() {
            return Tok::Eof;
        }
        self.i += 1;
        mem::replace(&mut self.toks[self.i - 1].kind, Tok::Op(""))
    }

    fn text(&self, t: &Token) -> &'a str {
        self.sql.get(t.start..t.end).unwrap_or("")
    }

    /// Consume the current token and return its text (unescaped for quoted identifiers and
    /// strings).
    fn take_text(&mut self) -> String {
        let text = self.text(self.tok());
        match self.bump() {
            Tok::Quoted(s) | Tok::Str(s) => s,
            _ => text.to_string(),
        }
    }

    fn is_kw_at(&self, n: usize, k: &str) -> bool {
        let t = self.peek(n);
        t.kind == Tok::Word && self.text(t).eq_ignore_ascii_case(k)
    }

    fn kw(&self, k: &str) -> bool {
        self.is_kw_at(0, k)
    }

    fn eat_kw(&mut self, k: &str) -> bool {
        let found = self.kw(k);
        if found {
            self.i += 1;
        }
        found
    }

    fn expect_kw(&mut self, k: &str) -> Result<()> {
        if self.eat_kw(k) {
            Ok(())
        } else {
            Err(self.unexpected(k))
        }
    }

    fn is_op_at(&self, n: usize, op: &str) -> bool {
        matches!(self.peek(n).kind, Tok::Op(o) if o == op)
    }

    fn op(&self, op: &str) -> bool {
        self.is_op_at(0, op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let found = self.op(op);
        if found {
            self.i += 1;
        }
        found
    }

    fn expect_op(&mut self, op: &str) -> Result<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{op}'")))
        }
    }

    /// Whether the current token starts a query (`SELECT`, `VALUES`, `WITH`).
    fn at_query(&self) -> bool {
        self.kw("SELECT") || self.kw("VALUES") || self.kw("WITH")
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(self.tok().start, "too deeply nested".into()));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// One more link in a left-nested chain (`a + b + c`, compounds, joins): the tree gets
    /// deeper without recursion, so a larger limit applies to nesting plus chains. (Callers
    /// restore `chain` when the chain ends.)
    fn grow(&mut self) -> Result<()> {
        self.chain += 1;
        if self.depth + self.chain > MAX_HEIGHT {
            return Err(self.error_at(self.tok().start, "too deeply nested".into()));
        }
        Ok(())
    }

    // ---- errors ----

    fn error_at(&self, offset: usize, message: String) -> Error {
        let before = self.sql.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        Error::SqlSyntax { offset, line: line as u32, column: column as u32, message }
    }

    /// An error at the current token: "expected `what` but found ...".
    fn unexpected(&self, what: &str) -> Error {
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
    fn name(&mut self, what: &str) -> Result<String> {
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
    fn qualified_name(&mut self, what: &str) -> Result<String> {
        let mut name = self.name(what)?;
        if self.eat_op(".") {
            name = self.name(what)?;
        }
        Ok(name)
    }

    /// `[AS] alias`.
    fn alias(&mut self) -> Result<Option<String>> {
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
    fn expr_list(&mut self) -> Result<Vec<Expr>> {
        self.comma_list(Self::expr)
    }

    // ---- statements ----

    fn statement(&mut self) -> Result<Statement> {
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
            "REINDEX" => {
                self.i += 1;
                let name = if self.at_end() { None } else { Some(self.qualified_name("a name")?) };
                Statement::Reindex(name)
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
                if self.eat_kw("QUERY") {
                    self.expect_kw("PLAN")?;
                }
                if self.kw("EXPLAIN") {
                    return Err(self.unexpected("a statement"));
                }
                Statement::Explain(Box::new(self.statement()?))
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

    fn returning(&mut self) -> Result<Vec<ResultColumn>> {
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

    fn insert(&mut self, with: Vec<Cte>) -> Result<Insert> {
        let or = if self.eat_kw("REPLACE") {
            Some(ConflictAction::Replace)
        } else {
            self.expect_kw("INSERT")?;
            self.or_action()?
        };
        self.expect_kw("INTO")?;
        let table = self.qualified_name("a table name")?;
        if self.eat_kw("AS") {
            self.name("an alias")?;
        }
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
        let upsert = if self.eat_kw("ON") {
            self.expect_kw("CONFLICT")?;
            let mut target = Vec::new();
            if self.op("(") {
                target = self.indexed_columns()?.into_iter().map(|c| c.name).collect();
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
            Some(Upsert { target, update })
        } else {
            None
        };
        Ok(Insert { with, or, table, columns, source, upsert, returning: self.returning()? })
    }

    /// `col = expr, (a, b) = (expr, expr), ...`.
    fn assignments(&mut self) -> Result<Vec<Assignment>> {
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

    fn update(&mut self, with: Vec<Cte>) -> Result<Update> {
        self.expect_kw("UPDATE")?;
        let or = self.or_action()?;
        let (table, alias) = self.target_table()?;
        self.expect_kw("SET")?;
        let sets = self.assignments()?;
        Ok(Update { with, or, table, alias, sets, where_: self.where_clause()?, returning: self.returning()? })
    }

    fn delete(&mut self, with: Vec<Cte>) -> Result<Delete> {
        self.expect_kw("DELETE")?;
        self.expect_kw("FROM")?;
        let (table, alias) = self.target_table()?;
        Ok(Delete { with, table, alias, where_: self.where_clause()?, returning: self.returning()? })
    }

    fn if_not_exists(&mut self) -> Result<bool> {
        if self.eat_kw("IF") {
            self.expect_kw("NOT")?;
            self.expect_kw("EXISTS")?;
            return Ok(true);
        }
        Ok(false)
    }

    fn create(&mut self) -> Result<Statement> {
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
            if p.eat_kw("COLLATE") {
                p.name("a collation name")?;
            }
            let desc = p.eat_kw("DESC");
            if !desc {
                p.eat_kw("ASC");
            }
            Ok(IndexedColumn { name, desc })
        })?;
        self.expect_op(")")?;
        Ok(cols)
    }

    /// A type name: words, then optional `(n)` or `(n, m)`, joined as written with single
    /// spaces between words (`VARCHAR(8)`, `DOUBLE PRECISION`, `DECIMAL(10,2)`).
    fn type_name(&mut self) -> Result<String> {
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

    /// `DEFAULT literal | signed number | (expr) | identifier` (an identifier such as
    /// `CURRENT_TIMESTAMP` is kept as text, as SQLite does for plain identifiers).
    fn default_value(&mut self) -> Result<Expr> {
        let t = self.tok();
        match &t.kind {
            Tok::Op("(") => self.paren_expr(),
            Tok::Op("+" | "-") if matches!(self.peek(1).kind, Tok::Num(_)) => match self.unary()? {
                Expr::Unary { op: UnaryOp::Plus, expr } => Ok(*expr),
                e => Ok(e),
            },
            Tok::Num(_) | Tok::Str(_) | Tok::Blob(_) => self.primary(),
            Tok::Word if ["NULL", "TRUE", "FALSE"].iter().any(|k| self.kw(k)) => self.primary(),
            Tok::Word | Tok::Quoted(_) if self.at_name() => Ok(Expr::Literal(Value::Text(self.name("")?))),
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

    fn drop(&mut self) -> Result<Statement> {
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

    fn alter(&mut self) -> Result<Statement> {
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

    fn query(&mut self) -> Result<Query> {
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
    fn compound(&mut self) -> Result<SetExpr> {
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

    // ---- expressions ----
    //
    // The functions on the recursion path (expr_bp, unary, primary, word_expr, paren) keep few
    // temporaries so that nesting up to MAX_DEPTH fits comfortably in a small stack even in
    // unoptimised builds; the rarer forms live in their own functions.

    fn expr(&mut self) -> Result<Expr> {
        self.expr_bp(1)
    }

    /// The infix operator at the current token: its binding power (0: none) and, for plain
    /// binary operators, the operator. Levels: 1 OR, 2 AND, (3 prefix NOT), 4 equality / IS /
    /// IN / LIKE / GLOB / BETWEEN / null tests, 5 comparison, 6 bitwise, 7 additive,
    /// 8 multiplicative, 9 concatenation.
    fn infix_op(&self) -> (u8, Option<BinaryOp>) {
        use BinaryOp::*;
        let t = self.tok();
        match t.kind {
            Tok::Op(op) => match op {
                "=" => (4, Some(Eq)),
                "!=" => (4, Some(NotEq)),
                "<" => (5, Some(Lt)),
                "<=" => (5, Some(LtEq)),
                ">" => (5, Some(Gt)),
                ">=" => (5, Some(GtEq)),
                "&" => (6, Some(BitAnd)),
                "|" => (6, Some(BitOr)),
                "<<" => (6, Some(ShiftLeft)),
                ">>" => (6, Some(ShiftRight)),
                "+" => (7, Some(Add)),
                "-" => (7, Some(Sub)),
                "*" => (8, Some(Mul)),
                "/" => (8, Some(Div)),
                "%" => (8, Some(Mod)),
                "||" => (9, Some(Concat)),
                _ => (0, None),
            },
            Tok::Word => {
                let w = self.text(t);
                let is = |k: &str| w.eq_ignore_ascii_case(k);
                if is("OR") {
                    (1, Some(Or))
                } else if is("AND") {
                    (2, Some(And))
                } else if ["IS", "IN", "LIKE", "GLOB", "BETWEEN", "ISNULL", "NOTNULL"].iter().any(|k| is(k))
                    || (is("NOT") && ["IN", "LIKE", "GLOB", "BETWEEN", "NULL"].iter().any(|k| self.is_kw_at(1, k)))
                {
                    (4, None)
                } else {
                    (0, None)
                }
            }
            _ => (0, None),
        }
    }

    /// An expression whose infix operators bind at least as tightly as `min`.
    fn expr_bp(&mut self, min: u8) -> Result<Expr> {
        let mut lhs = if min <= 3 && self.kw("NOT") {
            self.i += 1;
            self.enter()?;
            let e = negate(self.expr_bp(3)?);
            self.leave();
            e
        } else {
            self.unary()?
        };
        let chain = self.chain;
        loop {
            let (power, op) = self.infix_op();
            if power == 0 || power < min {
                self.chain = chain;
                return Ok(lhs);
            }
            self.grow()?;
            self.enter()?;
            lhs = match op {
                Some(op) => {
                    self.i += 1;
                    Expr::Binary { op, left: Box::new(lhs), right: Box::new(self.expr_bp(power + 1)?) }
                }
                None => {
                    self.enter()?;
                    let e = self.special_infix(Box::new(lhs))?;
                    self.leave();
                    e
                }
            };
            self.leave();
        }
    }

    /// `IS`, `ISNULL`, `NOTNULL`, `[NOT] NULL | IN | LIKE | GLOB | BETWEEN` after `lhs`.
    fn special_infix(&mut self, lhs: Box<Expr>) -> Result<Expr> {
        if self.eat_kw("ISNULL") {
            return Ok(Expr::IsNull { expr: lhs, negated: false });
        }
        if self.eat_kw("NOTNULL") {
            return Ok(Expr::IsNull { expr: lhs, negated: true });
        }
        if self.eat_kw("IS") {
            let negated = self.eat_kw("NOT");
            if self.eat_kw("NULL") {
                return Ok(Expr::IsNull { expr: lhs, negated });
            }
            let op = if negated { BinaryOp::IsNot } else { BinaryOp::Is };
            return Ok(Expr::Binary { op, left: lhs, right: Box::new(self.expr_bp(5)?) });
        }
        let negated = self.eat_kw("NOT");
        if self.eat_kw("NULL") {
            return Ok(Expr::IsNull { expr: lhs, negated: true });
        }
        if self.eat_kw("IN") {
            return self.in_rhs(lhs, negated);
        }
        if self.eat_kw("BETWEEN") {
            let low = Box::new(self.expr_bp(5)?);
            self.expect_kw("AND")?;
            let high = Box::new(self.expr_bp(5)?);
            return Ok(Expr::Between { expr: lhs, low, high, negated });
        }
        let glob = self.kw("GLOB");
        self.i += 1; // LIKE or GLOB
        let pattern = Box::new(self.expr_bp(5)?);
        let escape = if self.eat_kw("ESCAPE") { Some(Box::new(self.expr_bp(5)?)) } else { None };
        Ok(Expr::Like { expr: lhs, pattern, escape, negated, glob })
    }

    /// The right side of `[NOT] IN`: `(list)`, `(query)` or a table name.
    fn in_rhs(&mut self, expr: Box<Expr>, negated: bool) -> Result<Expr> {
        if !self.eat_op("(") {
            let name = self.qualified_name("'(' or a table name")?;
            let from = Some(FromItem::Table { name, alias: None });
            let columns = alloc::vec![ResultColumn::Star];
            let select = Select { distinct: false, columns, from, where_: None, group_by: Vec::new(), having: None };
            let body = SetExpr::Select(Box::new(select));
            let query = Box::new(Query { with: Vec::new(), body, order_by: Vec::new(), limit: None, offset: None });
            return Ok(Expr::InSubquery { expr, query, negated });
        }
        let e = if self.at_query() {
            Expr::InSubquery { expr, query: Box::new(self.query()?), negated }
        } else if self.op(")") {
            Expr::InList { expr, list: Vec::new(), negated }
        } else {
            Expr::InList { expr, list: self.expr_list()?, negated }
        };
        self.expect_op(")")?;
        Ok(e)
    }

    /// Prefix `- + ~`, then a primary with postfix `COLLATE`s.
    fn unary(&mut self) -> Result<Expr> {
        self.enter()?;
        let op = match self.tok().kind {
            Tok::Op("-") => UnaryOp::Neg,
            Tok::Op("+") => UnaryOp::Plus,
            Tok::Op("~") => UnaryOp::BitNot,
            _ => {
                let e = self.primary()?;
                self.leave();
                return self.collate(e);
            }
        };
        self.i += 1;
        let e = match (op, &self.tok().kind) {
            (UnaryOp::Neg, Tok::Num(_)) => self.negative_number()?,
            _ => Expr::Unary { op, expr: Box::new(self.unary()?) },
        };
        self.leave();
        Ok(e)
    }

    /// `-` directly before a number: a negative literal (`-9223372036854775808` is i64::MIN),
    /// with any COLLATE after it.
    fn negative_number(&mut self) -> Result<Expr> {
        let min = self.text(self.tok()) == "9223372036854775808";
        let e = Expr::Literal(match self.bump() {
            Tok::Num(Value::Integer(i)) => Value::Integer(i.wrapping_neg()),
            _ if min => Value::Integer(i64::MIN),
            Tok::Num(Value::Real(r)) => Value::Real(-r),
            _ => Value::Null,
        });
        self.collate(e)
    }

    /// Postfix `COLLATE name`s after `e`.
    fn collate(&mut self, mut e: Expr) -> Result<Expr> {
        while self.eat_kw("COLLATE") {
            e = Expr::Collate { expr: Box::new(e), collation: self.name("a collation name")? };
        }
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr> {
        let t = self.tok();
        match &t.kind {
            Tok::Num(_) | Tok::Str(_) | Tok::Blob(_) => Ok(Expr::Literal(match self.bump() {
                Tok::Num(v) => v,
                Tok::Str(s) => Value::Text(s),
                Tok::Blob(b) => Value::Blob(b),
                _ => Value::Null,
            })),
            Tok::Var => self.param(),
            Tok::Op("(") => self.paren(),
            Tok::Word | Tok::Quoted(_) => self.word_expr(),
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// `(expr)` or `(query)`.
    fn paren(&mut self) -> Result<Expr> {
        self.i += 1;
        let e = if self.at_query() { Expr::Subquery(Box::new(self.query()?)) } else { self.expr()? };
        self.expect_op(")")?;
        Ok(e)
    }

    /// An expression starting with a word: keyword forms, function calls, columns.
    fn word_expr(&mut self) -> Result<Expr> {
        let t = self.tok();
        let word = if t.kind == Tok::Word { self.text(t) } else { "" };
        let is = |k: &str| word.eq_ignore_ascii_case(k);
        let call = self.is_op_at(1, "(");
        if is("NULL") || ((is("TRUE") || is("FALSE")) && !call) {
            self.i += 1;
            return Ok(Expr::Literal(if is("NULL") { Value::Null } else { Value::Integer(is("TRUE") as i64) }));
        }
        if is("NOT") {
            self.i += 1;
            return Ok(negate(self.expr_bp(3)?));
        }
        let keyword = is("CASE") || (call && (is("CAST") || is("EXISTS")));
        if keyword || (call && (!is_reserved(word) || is("LEFT") || is("RIGHT"))) {
            self.enter()?;
            let e = if is("CASE") {
                self.case_expr()
            } else if is("CAST") || is("EXISTS") {
                self.cast_or_exists(is("CAST"))
            } else {
                self.call()
            }?;
            self.leave();
            return Ok(e);
        }
        if is_reserved(word) {
            return Err(self.unexpected("an expression"));
        }
        let name = self.take_text();
        if !self.eat_op(".") {
            return Ok(Expr::Column { table: None, name });
        }
        let mut table = name;
        let mut name = self.name("a column name")?;
        if self.eat_op(".") {
            table = mem::replace(&mut name, self.name("a column name")?);
        }
        Ok(Expr::Column { table: Some(table), name })
    }

    fn case_expr(&mut self) -> Result<Expr> {
        self.i += 1;
        let operand = if self.kw("WHEN") { None } else { Some(Box::new(self.expr()?)) };
        let mut whens = Vec::new();
        while self.eat_kw("WHEN") {
            let cond = self.expr()?;
            self.expect_kw("THEN")?;
            whens.push((cond, self.expr()?));
        }
        if whens.is_empty() {
            return Err(self.unexpected("WHEN"));
        }
        let else_ = if self.eat_kw("ELSE") { Some(Box::new(self.expr()?)) } else { None };
        self.expect_kw("END")?;
        Ok(Expr::Case { operand, whens, else_ })
    }

    /// `CAST(expr AS type)` or `EXISTS (query)`.
    fn cast_or_exists(&mut self, cast: bool) -> Result<Expr> {
        self.i += 2;
        let e = if cast {
            let expr = Box::new(self.expr()?);
            self.expect_kw("AS")?;
            Expr::Cast { expr, type_name: self.type_name()? }
        } else {
            Expr::Exists { query: Box::new(self.query()?), negated: false }
        };
        self.expect_op(")")?;
        Ok(e)
    }

    /// `name(args)`, `name(*)`, `name(DISTINCT args)`.
    fn call(&mut self) -> Result<Expr> {
        let name = self.take_text();
        self.expect_op("(")?;
        let star = self.eat_op("*");
        let distinct = !star && self.eat_kw("DISTINCT");
        if !star && !distinct {
            self.eat_kw("ALL");
        }
        let args = if star || (!distinct && self.op(")")) { Vec::new() } else { self.expr_list()? };
        self.expect_op(")")?;
        Ok(Expr::Function { name, args, distinct, star })
    }

    /// A parameter: `?` takes the next index, `?NNN` index NNN, a named parameter the index of
    /// its first appearance.
    fn param(&mut self) -> Result<Expr> {
        let (text, start) = (self.text(self.tok()), self.tok().start);
        self.i += 1;
        let idx = match text.strip_prefix('?') {
            Some("") => self.params.len() + 1,
            Some(digits) => digits.parse::<usize>().unwrap_or(0),
            None => match self.params.iter().position(|p| p.as_deref() == Some(text)) {
                Some(i) => return Ok(Expr::Param(i as u32 + 1)),
                None => self.params.len() + 1,
            },
        };
        if !(1..=MAX_PARAM).contains(&idx) {
            return Err(self.error_at(start, format!("parameter index must be between 1 and {MAX_PARAM}")));
        }
        if idx > self.params.len() {
            self.params.resize(idx, None);
        }
        if !text.starts_with('?') {
            self.params[idx - 1] = Some(text.to_string());
        }
        Ok(Expr::Param(idx as u32))
    }
}

/// `NOT e`; `NOT EXISTS (q)` becomes a negated [`Expr::Exists`].
fn negate(e: Expr) -> Expr {
    match e {
        Expr::Exists { query, negated: false } => Expr::Exists { query, negated: true },
        e => Expr::Unary { op: UnaryOp::Not, expr: Box::new(e) },
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
mod tests {
    use super::*;
    use alloc::vec;

    fn one(sql: &str) -> Statement {
        let mut v = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(v.len(), 1, "{sql}");
        v.remove(0).stmt
    }

    fn query(sql: &str) -> Query {
        match one(sql) {
            Statement::Query(q) => *q,
            s => panic!("not a query: {s:?}"),
        }
    }

    fn select(sql: &str) -> Select {
        match query(sql).body {
            SetExpr::Select(s) => *s,
            b => panic!("not a select: {b:?}"),
        }
    }

    /// The first result column of `SELECT {e}`, rendered.
    fn ex(e: &str) -> String {
        match &select(&format!("SELECT {e}")).columns[0] {
            ResultColumn::Expr { expr, .. } => show(expr),
            c => panic!("{c:?}"),
        }
    }

    /// A compact, fully parenthesised rendering of an expression.
    fn show(e: &Expr) -> String {
        let list = |l: &[Expr]| l.iter().map(show).collect::<Vec<_>>().join(", ");
        let neg = |n: &bool| if *n { "NOT " } else { "" };
        match e {
            Expr::Literal(Value::Text(s)) => format!("'{s}'"),
            Expr::Literal(Value::Real(r)) => format!("{r:?}"),
            Expr::Literal(v) => format!("{v:?}"),
            Expr::Column { table: Some(t), name } => format!("{t}.{name}"),
            Expr::Column { table: None, name } => name.clone(),
            Expr::Param(i) => format!("?{i}"),
            Expr::Unary { op, expr } => format!("({op:?} {})", show(expr)),
            Expr::Binary { op, left, right } => format!("({} {op:?} {})", show(left), show(right)),
            Expr::IsNull { expr, negated } => format!("({} IS {}NULL)", show(expr), neg(negated)),
            Expr::Between { expr, low, high, negated } => {
                format!("({} {}BETWEEN {} AND {})", show(expr), neg(negated), show(low), show(high))
            }
            Expr::InList { expr, list: l, negated } => format!("({} {}IN [{}])", show(expr), neg(negated), list(l)),
            Expr::InSubquery { expr, negated, .. } => format!("({} {}IN query)", show(expr), neg(negated)),
            Expr::Exists { negated, .. } => format!("{}EXISTS query", neg(negated)),
            Expr::Subquery(_) => "query".into(),
            Expr::Like { expr, pattern, escape, negated, glob } => format!(
                "({} {}{} {}{})",
                show(expr),
                neg(negated),
                if *glob { "GLOB" } else { "LIKE" },
                show(pattern),
                escape.as_ref().map(|e| format!(" ESCAPE {}", show(e))).unwrap_or_default()
            ),
            Expr::Case { operand, whens, else_ } => format!(
                "CASE {}{}{}END",
                operand.as_ref().map(|o| show(o) + " ").unwrap_or_default(),
                whens.iter().map(|(w, t)| format!("WHEN {} THEN {} ", show(w), show(t))).collect::<String>(),
                else_.as_ref().map(|e| format!("ELSE {} ", show(e))).unwrap_or_default()
            ),
            Expr::Cast { expr, type_name } => format!("CAST({} AS {type_name})", show(expr)),
            Expr::Function { name, args, distinct, star } => {
                format!(
                    "{name}({}{}{})",
                    if *distinct { "DISTINCT " } else { "" },
                    if *star { "*" } else { "" },
                    list(args)
                )
            }
            Expr::Collate { expr, collation } => format!("({} COLLATE {collation})", show(expr)),
        }
    }

    fn err(sql: &str) -> (usize, u32, u32, String) {
        match parse(sql) {
            Err(Error::SqlSyntax { offset, line, column, message }) => (offset, line, column, message),
            other => panic!("{sql}: expected a syntax error, got {other:?}"),
        }
    }

    fn col(name: &str) -> Expr {
        Expr::Column { table: None, name: name.into() }
    }

    fn int(i: i64) -> Expr {
        Expr::Literal(Value::Integer(i))
    }

    #[test]
    fn precedence() {
        assert_eq!(ex("1+2*3"), "(Integer(1) Add (Integer(2) Mul Integer(3)))");
        assert_eq!(ex("1-2-3"), "((Integer(1) Sub Integer(2)) Sub Integer(3))");
        assert_eq!(ex("NOT a = b"), "(Not (a Eq b))");
        assert_eq!(ex("a OR b AND c"), "(a Or (b And c))");
        assert_eq!(ex("NOT a AND b"), "((Not a) And b)");
        assert_eq!(ex("x BETWEEN 1 AND 2 AND y"), "((x BETWEEN Integer(1) AND Integer(2)) And y)");
        assert_eq!(ex("x NOT BETWEEN a+1 AND b"), "(x NOT BETWEEN (a Add Integer(1)) AND b)");
        assert_eq!(ex("a < b = c > d"), "((a Lt b) Eq (c Gt d))");
        assert_eq!(ex("a & b < c + d"), "((a BitAnd b) Lt (c Add d))");
        assert_eq!(ex("a || b * c"), "((a Concat b) Mul c)");
        assert_eq!(ex("-a || b"), "((Neg a) Concat b)");
        assert_eq!(ex("a == b <> c != d"), "(((a Eq b) NotEq c) NotEq d)");
        assert_eq!(ex("a << 1 >> 2 | 3"), "(((a ShiftLeft Integer(1)) ShiftRight Integer(2)) BitOr Integer(3))");
        assert_eq!(ex("~a % b / c"), "(((BitNot a) Mod b) Div c)");
        assert_eq!(ex("a COLLATE nocase = b"), "((a COLLATE nocase) Eq b)");
        assert_eq!(ex("+a"), "(Plus a)");
        assert_eq!(ex("a = NOT b"), "(a Eq (Not b))");
        assert_eq!(ex("NOT NOT a"), "(Not (Not a))");
    }

    #[test]
    fn postfix_and_special_operators() {
        assert_eq!(ex("x IS NULL"), "(x IS NULL)");
        assert_eq!(ex("x IS NOT NULL"), "(x IS NOT NULL)");
        assert_eq!(ex("x ISNULL OR y NOTNULL"), "((x IS NULL) Or (y IS NOT NULL))");
        assert_eq!(ex("x NOT NULL"), "(x IS NOT NULL)");
        assert_eq!(ex("x IS y"), "(x Is y)");
        assert_eq!(ex("x IS NOT y + 1"), "(x IsNot (y Add Integer(1)))");
        assert_eq!(ex("x IN (1, 2)"), "(x IN [Integer(1), Integer(2)])");
        assert_eq!(ex("x NOT IN ()"), "(x NOT IN [])");
        assert_eq!(ex("x IN (SELECT 1)"), "(x IN query)");
        assert_eq!(ex("x NOT IN (VALUES (1))"), "(x NOT IN query)");
        assert_eq!(ex("a LIKE 'x%' ESCAPE '!'"), "(a LIKE 'x%' ESCAPE '!')");
        assert_eq!(ex("a NOT GLOB b || c"), "(a NOT GLOB (b Concat c))");
        assert_eq!(ex("EXISTS (SELECT 1)"), "EXISTS query");
        assert_eq!(ex("NOT EXISTS (SELECT 1) AND a"), "(NOT EXISTS query And a)");
        assert_eq!(ex("(SELECT 1) + (1)"), "(query Add Integer(1))");
        assert_eq!(ex("CASE WHEN a THEN 1 ELSE 2 END"), "CASE WHEN a THEN Integer(1) ELSE Integer(2) END");
        assert_eq!(
            ex("CASE a WHEN 1 THEN 2 WHEN 3 THEN 4 END"),
            "CASE a WHEN Integer(1) THEN Integer(2) WHEN Integer(3) THEN Integer(4) END"
        );
        assert_eq!(ex("CAST(a AS DECIMAL(10, 2))"), "CAST(a AS DECIMAL(10,2))");
        assert_eq!(ex("cast(a as double  precision)"), "CAST(a AS double precision)");
        assert_eq!(ex("CAST(a AS VARCHAR(8))"), "CAST(a AS VARCHAR(8))");
        assert_eq!(ex("count(*)"), "count(*)");
        assert_eq!(ex("count(DISTINCT a)"), "count(DISTINCT a)");
        assert_eq!(ex("f()"), "f()");
        assert_eq!(
            ex("replace(a, 'x', 'y') || like(a, b) || glob(a, b) || left(a, 1)"),
            "(((replace(a, 'x', 'y') Concat like(a, b)) Concat glob(a, b)) Concat left(a, Integer(1)))"
        );
        assert_eq!(ex("t.a + main.t.b + \"q\".[r]"), "((t.a Add t.b) Add q.r)");
        assert_eq!(ex("TRUE + FALSE + NULL"), "((Integer(1) Add Integer(0)) Add Null)");
        let q = select("SELECT 1 WHERE x IN main.t").where_.unwrap();
        let Expr::InSubquery { query, negated: false, .. } = q else { panic!("{q:?}") };
        let SetExpr::Select(s) = &query.body else { panic!() };
        assert_eq!(s.columns, [ResultColumn::Star]);
        assert_eq!(s.from, Some(FromItem::Table { name: "t".into(), alias: None }));
    }

    #[test]
    fn literals() {
        assert_eq!(ex("'it''s'"), "'it's'");
        assert_eq!(ex("x'ABcd'"), "Blob([171, 205])");
        assert_eq!(ex("X''"), "Blob([])");
        assert_eq!(ex("0x1F + 0xFFFFFFFFFFFFFFFF"), "(Integer(31) Add Integer(-1))");
        assert_eq!(ex("1.5"), "1.5");
        assert_eq!(ex(".5"), "0.5");
        assert_eq!(ex("1e10"), "10000000000.0");
        assert_eq!(ex("1.5E-3"), "0.0015");
        assert_eq!(ex("5."), "5.0");
        assert_eq!(ex("9223372036854775807"), "Integer(9223372036854775807)");
        assert_eq!(ex("9223372036854775808"), "9.223372036854776e18");
        assert_eq!(ex("-9223372036854775808"), "Integer(-9223372036854775808)");
        assert_eq!(ex("-9223372036854775809"), "-9.223372036854776e18");
        assert_eq!(ex("-5 - -2.5"), "(Integer(-5) Sub -2.5)");
        assert_eq!(ex("- 5"), "Integer(-5)");
        assert_eq!(ex("\"a b\" + [c d] + `e``f` + \"g\"\"h\""), "(((a b Add c d) Add e`f) Add g\"h)");
        assert_eq!(ex("a -- comment\n + /* block */ b /* unterminated"), "(a Add b)");
        let s = select("sElEcT a FrOm t wHeRe b");
        assert_eq!(s.from, Some(FromItem::Table { name: "t".into(), alias: None }));
        assert_eq!(s.where_, Some(col("b")));
    }

    #[test]
    fn parameters() {
        let p = &parse("SELECT ?, ?5, ?, :a, @b, :a, $c, ?2").unwrap()[0];
        let Statement::Query(q) = &p.stmt else { panic!() };
        let SetExpr::Select(s) = &q.body else { panic!() };
        let idx: Vec<String> = s
            .columns
            .iter()
            .map(|c| match c {
                ResultColumn::Expr { expr, .. } => show(expr),
                _ => panic!(),
            })
            .collect();
        assert_eq!(idx, ["?1", "?5", "?6", "?7", "?8", "?7", "?9", "?2"]);
        let names: Vec<Option<&str>> = p.param_names.iter().map(|n| n.as_deref()).collect();
        assert_eq!(names, [None, None, None, None, None, None, Some(":a"), Some("@b"), Some("$c")]);
        // Numbering restarts for each statement.
        let v = parse("SELECT :x; SELECT ?, :x").unwrap();
        assert_eq!(v[0].param_names, [Some(":x".to_string())]);
        assert_eq!(v[1].param_names, [None, Some(":x".to_string())]);
        assert_eq!(err("SELECT ?0").3, "parameter index must be between 1 and 32766");
        assert_eq!(err("SELECT 1, ?32767").0, 10);
        assert!(parse("SELECT ?32766").is_ok());
        assert_eq!(err("SELECT :").3, "unrecognized token: ':'");
    }

    #[test]
    fn select_clauses() {
        let q = query(
            "SELECT DISTINCT a AS x, b y, t.*, *, 'lit' 'alias' FROM t1 AS a1, t2 b2 \
             NATURAL JOIN t3 LEFT OUTER JOIN t4 ON a = b INNER JOIN t5 USING (c, d) CROSS JOIN (SELECT 1) s \
             JOIN (t6) WHERE a > 1 GROUP BY a, b HAVING count(*) > 1 \
             ORDER BY a COLLATE nocase DESC NULLS FIRST, 2 ASC NULLS LAST, b LIMIT 10 OFFSET 5",
        );
        let SetExpr::Select(s) = &q.body else { panic!() };
        assert!(s.distinct);
        assert_eq!(s.columns[0], ResultColumn::Expr { expr: col("a"), alias: Some("x".into()) });
        assert_eq!(s.columns[1], ResultColumn::Expr { expr: col("b"), alias: Some("y".into()) });
        assert_eq!(s.columns[2], ResultColumn::TableStar("t".into()));
        assert_eq!(s.columns[3], ResultColumn::Star);
        assert_eq!(s.columns[4], ResultColumn::Expr { expr: Expr::Literal("lit".into()), alias: Some("alias".into()) });
        let mut joins = Vec::new();
        let mut item = s.from.as_ref().unwrap();
        while let FromItem::Join { left, right, kind, constraint } = item {
            joins.push((right.as_ref().clone(), *kind, constraint.clone()));
            item = left;
        }
        assert_eq!(item, &FromItem::Table { name: "t1".into(), alias: Some("a1".into()) });
        joins.reverse();
        let t = |n: &str| FromItem::Table { name: n.into(), alias: None };
        assert_eq!(
            joins[0],
            (FromItem::Table { name: "t2".into(), alias: Some("b2".into()) }, JoinKind::Cross, JoinConstraint::None)
        );
        assert_eq!(joins[1], (t("t3"), JoinKind::Inner, JoinConstraint::Natural));
        let on = Expr::Binary { op: BinaryOp::Eq, left: Box::new(col("a")), right: Box::new(col("b")) };
        assert_eq!(joins[2], (t("t4"), JoinKind::Left, JoinConstraint::On(on)));
        assert_eq!(joins[3], (t("t5"), JoinKind::Inner, JoinConstraint::Using(vec!["c".into(), "d".into()])));
        assert!(
            matches!(&joins[4], (FromItem::Subquery { alias: Some(a), .. }, JoinKind::Cross, JoinConstraint::None) if a == "s")
        );
        assert_eq!(joins[5], (t("t6"), JoinKind::Inner, JoinConstraint::None));
        assert_eq!(s.group_by, [col("a"), col("b")]);
        assert!(s.having.is_some());
        assert_eq!(q.order_by.len(), 3);
        assert_eq!((q.order_by[0].desc, q.order_by[0].nulls_first), (true, Some(true)));
        assert!(matches!(q.order_by[0].expr, Expr::Collate { .. }));
        assert_eq!((&q.order_by[1].expr, q.order_by[1].desc, q.order_by[1].nulls_first), (&int(2), false, Some(false)));
        assert_eq!((q.order_by[2].desc, q.order_by[2].nulls_first), (false, None));
        assert_eq!((q.limit, q.offset), (Some(int(10)), Some(int(5))));
        let q = query("SELECT a FROM t LIMIT 5, 10");
        assert_eq!((q.limit, q.offset), (Some(int(10)), Some(int(5))));
        assert!(!select("SELECT ALL a FROM t").distinct);
        assert!(select("SELECT 1").from.is_none());
    }

    #[test]
    fn compound_values_and_with() {
        let q =
            query("SELECT 1 UNION SELECT 2 UNION ALL SELECT 3 INTERSECT VALUES (4) EXCEPT SELECT 5 ORDER BY 1 LIMIT 1");
        let mut ops = Vec::new();
        let mut body = &q.body;
        while let SetExpr::Compound { op, left, right } = body {
            assert!(!matches!(**right, SetExpr::Compound { .. }));
            ops.push(*op);
            body = left;
        }
        assert_eq!(ops, [CompoundOp::Except, CompoundOp::Intersect, CompoundOp::UnionAll, CompoundOp::Union]);
        assert_eq!((q.order_by.len(), q.limit), (1, Some(int(1))));
        let q = query("VALUES (1, 'a'), (2, NULL)");
        assert_eq!(
            q.body,
            SetExpr::Values(vec![vec![int(1), Expr::Literal("a".into())], vec![int(2), Expr::Literal(Value::Null)]])
        );
        let q = query("WITH a(x, y) AS (SELECT 1, 2), b AS MATERIALIZED (VALUES (1)) SELECT * FROM a, b");
        assert_eq!(q.with.len(), 2);
        assert_eq!((q.with[0].name.as_str(), q.with[0].columns.len()), ("a", 2));
        assert!(q.with[1].columns.is_empty());
        assert!(
            matches!(parse("WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r"), Err(Error::Sql(m)) if m == "recursive CTEs are not supported")
        );
    }

    #[test]
    fn insert_update_delete() {
        let Statement::Insert(i) = one("INSERT INTO main.t (a, b) VALUES (1, 2), (3, 4) RETURNING *, a + 1 AS c")
        else {
            panic!()
        };
        assert_eq!((i.table.as_str(), i.columns.len(), i.or, i.returning.len()), ("t", 2, None, 2));
        assert_eq!(i.source, InsertSource::Values(vec![vec![int(1), int(2)], vec![int(3), int(4)]]));
        let Statement::Insert(i) = one("REPLACE INTO t SELECT * FROM u") else { panic!() };
        assert_eq!(i.or, Some(ConflictAction::Replace));
        assert!(matches!(i.source, InsertSource::Query(_)));
        let Statement::Insert(i) = one("INSERT OR IGNORE INTO t AS x DEFAULT VALUES") else { panic!() };
        assert_eq!((i.or, &i.source), (Some(ConflictAction::Ignore), &InsertSource::DefaultValues));
        let Statement::Insert(i) = one("WITH c AS (SELECT 1) INSERT INTO t VALUES (1) ORDER BY 1") else { panic!() };
        assert_eq!(i.with.len(), 1);
        assert!(matches!(i.source, InsertSource::Query(_)));
        let Statement::Insert(i) = one(
            "INSERT INTO t VALUES (1, 2) ON CONFLICT (a COLLATE nocase, b) DO UPDATE SET c = excluded.c, (d, e) = (1, 2) WHERE c > 0",
        ) else {
            panic!()
        };
        let up = i.upsert.unwrap();
        assert_eq!(up.target, ["a", "b"]);
        let u = up.update.unwrap();
        let cols: Vec<&str> = u.sets.iter().map(|s| s.column.as_str()).collect();
        assert_eq!(cols, ["c", "d", "e"]);
        assert_eq!(u.sets[0].value, Expr::Column { table: Some("excluded".into()), name: "c".into() });
        assert!(u.where_.is_some());
        let Statement::Insert(i) = one("INSERT INTO t SELECT * FROM u ON CONFLICT DO NOTHING") else { panic!() };
        assert_eq!(i.upsert, Some(Upsert { target: vec![], update: None }));
        for (sql, action) in [
            ("ROLLBACK", ConflictAction::Rollback),
            ("ABORT", ConflictAction::Abort),
            ("FAIL", ConflictAction::Fail),
            ("REPLACE", ConflictAction::Replace),
        ] {
            let Statement::Update(u) = one(&format!("UPDATE OR {sql} t SET a = 1")) else { panic!() };
            assert_eq!(u.or, Some(action));
        }
        let Statement::Update(u) =
            one("WITH c AS (SELECT 1) UPDATE t AS x SET a = a + 1, (b, c) = (1, 2) WHERE x.id = ? RETURNING a")
        else {
            panic!()
        };
        assert_eq!(
            (u.with.len(), u.table.as_str(), u.alias.as_deref(), u.sets.len(), u.returning.len()),
            (1, "t", Some("x"), 3, 1)
        );
        assert!(u.where_.is_some());
        let Statement::Delete(d) = one("DELETE FROM t AS x WHERE a = 1 RETURNING *") else { panic!() };
        assert_eq!((d.table.as_str(), d.alias.as_deref(), d.returning.len()), ("t", Some("x"), 1));
        let Statement::Delete(d) = one("DELETE FROM t") else { panic!() };
        assert!(d.where_.is_none() && d.alias.is_none());
        assert_eq!(err("UPDATE t SET (a, b) = (1)").3, "2 columns assigned 1 values");
    }

    #[test]
    fn create_table() {
        let Statement::CreateTable(t) = one(
            "CREATE TEMP TABLE IF NOT EXISTS main.t (
                id INTEGER CONSTRAINT pk PRIMARY KEY DESC ON CONFLICT REPLACE AUTOINCREMENT,
                name VARCHAR(8) NOT NULL ON CONFLICT IGNORE UNIQUE COLLATE NOCASE,
                price DECIMAL(10, -2) DEFAULT -1.5 CHECK (price > 0),
                big UNSIGNED BIG INT NULL DEFAULT +7,
                d DOUBLE PRECISION DEFAULT (1 + 2),
                ts \"TEXT\" DEFAULT CURRENT_TIMESTAMP,
                s DEFAULT 'x',
                r REFERENCES other (id) ON DELETE SET NULL ON UPDATE NO ACTION MATCH FULL NOT DEFERRABLE INITIALLY DEFERRED NOT NULL,
                untyped,
                CONSTRAINT k PRIMARY KEY (id DESC, name),
                UNIQUE (name COLLATE nocase ASC) ON CONFLICT FAIL
                CHECK (id > 0),
                FOREIGN KEY (r, s) REFERENCES other (a, b) ON DELETE CASCADE DEFERRABLE
            ) WITHOUT ROWID",
        ) else {
            panic!()
        };
        assert_eq!(
            (t.name.as_str(), t.if_not_exists, t.temporary, t.without_rowid, t.as_query.is_none()),
            ("t", true, true, true, true)
        );
        let types: Vec<Option<&str>> = t.columns.iter().map(|c| c.type_name.as_deref()).collect();
        assert_eq!(
            types,
            [
                Some("INTEGER"),
                Some("VARCHAR(8)"),
                Some("DECIMAL(10,-2)"),
                Some("UNSIGNED BIG INT"),
                Some("DOUBLE PRECISION"),
                Some("TEXT"),
                None,
                None,
                None
            ]
        );
        use ColumnConstraint as C;
        assert_eq!(t.columns[0].constraints, [C::PrimaryKey { desc: true, autoincrement: true }]);
        assert_eq!(t.columns[1].constraints, [C::NotNull, C::Unique, C::Collate("NOCASE".into())]);
        assert_eq!(t.columns[2].constraints[0], C::Default(Expr::Literal(Value::Real(-1.5))));
        assert!(matches!(t.columns[2].constraints[1], C::Check(_)));
        assert_eq!(t.columns[3].constraints, [C::Null, C::Default(int(7))]);
        assert!(matches!(t.columns[4].constraints[0], C::Default(Expr::Binary { .. })));
        assert_eq!(t.columns[5].constraints, [C::Default(Expr::Literal("CURRENT_TIMESTAMP".into()))]);
        assert_eq!(t.columns[6].constraints, [C::Default(Expr::Literal("x".into()))]);
        assert_eq!(t.columns[7].constraints, [C::References("other".into()), C::NotNull]);
        assert!(t.columns[8].constraints.is_empty());
        let ic = |n: &str, desc| IndexedColumn { name: n.into(), desc };
        assert_eq!(t.constraints[0], TableConstraint::PrimaryKey(vec![ic("id", true), ic("name", false)]));
        assert_eq!(t.constraints[1], TableConstraint::Unique(vec![ic("name", false)]));
        assert!(matches!(t.constraints[2], TableConstraint::Check(_)));
        assert_eq!(t.constraints[3], TableConstraint::ForeignKey);
        let Statement::CreateTable(t) = one("CREATE TABLE t2 AS SELECT * FROM t") else { panic!() };
        assert!(t.as_query.is_some() && t.columns.is_empty() && !t.temporary);
        assert!(matches!(one("create temporary table t(a)"), Statement::CreateTable(t) if t.temporary));
    }

    #[test]
    fn other_statements() {
        let Statement::CreateIndex(i) =
            one("CREATE UNIQUE INDEX IF NOT EXISTS main.i ON t (a COLLATE nocase DESC, b ASC) WHERE a > 0")
        else {
            panic!()
        };
        assert_eq!((i.name.as_str(), i.table.as_str(), i.unique, i.if_not_exists), ("i", "t", true, true));
        assert_eq!(
            i.columns,
            [IndexedColumn { name: "a".into(), desc: true }, IndexedColumn { name: "b".into(), desc: false }]
        );
        assert!(i.where_.is_some());
        let Statement::CreateView(v) = one("CREATE TEMP VIEW IF NOT EXISTS v (x, y) AS SELECT 1, 2") else { panic!() };
        assert_eq!((v.name.as_str(), v.temporary, v.if_not_exists, v.columns.len()), ("v", true, true, 2));
        assert_eq!(one("DROP TABLE IF EXISTS main.t"), Statement::DropTable { name: "t".into(), if_exists: true });
        assert_eq!(one("DROP INDEX i"), Statement::DropIndex { name: "i".into(), if_exists: false });
        assert_eq!(one("DROP VIEW v"), Statement::DropView { name: "v".into(), if_exists: false });
        let alter = |sql: &str| match one(sql) {
            Statement::AlterTable { table, action } => {
                assert_eq!(table, "t");
                action
            }
            s => panic!("{s:?}"),
        };
        assert!(
            matches!(alter("ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 0"), AlterAction::AddColumn(c) if c.name == "c" && c.constraints.len() == 2)
        );
        let pragma =
            |name: &str, value: Option<&str>| Statement::Pragma { name: name.into(), value: value.map(Into::into) };
        assert_eq!(one("PRAGMA synchronous"), pragma("synchronous", None));
        assert_eq!(one("PRAGMA main.synchronous = NORMAL"), pragma("synchronous", Some("NORMAL")));
        assert_eq!(one("pragma Synchronous(2)"), pragma("Synchronous", Some("2")));
        assert_eq!(one("PRAGMA cache_size = -2000"), pragma("cache_size", Some("-2000")));
        assert_eq!(one("PRAGMA synchronous = 'full'"), pragma("synchronous", Some("full")));
        assert!(matches!(alter("ALTER TABLE main.t ADD c"), AlterAction::AddColumn(c) if c.name == "c"));
        assert_eq!(alter("ALTER TABLE t RENAME TO u"), AlterAction::RenameTable("u".into()));
        assert_eq!(
            alter("ALTER TABLE t RENAME COLUMN a TO b"),
            AlterAction::RenameColumn { old: "a".into(), new: "b".into() }
        );
        assert_eq!(
            alter("ALTER TABLE t RENAME a TO b"),
            AlterAction::RenameColumn { old: "a".into(), new: "b".into() }
        );
        assert_eq!(alter("ALTER TABLE t DROP COLUMN a"), AlterAction::DropColumn("a".into()));
        assert_eq!(alter("ALTER TABLE t DROP a"), AlterAction::DropColumn("a".into()));
        for sql in ["BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE TRANSACTION", "begin exclusive transaction"] {
            assert_eq!(one(sql), Statement::Begin);
        }
        for sql in ["COMMIT", "END", "COMMIT TRANSACTION", "END TRANSACTION"] {
            assert_eq!(one(sql), Statement::Commit);
        }
        assert_eq!(one("ROLLBACK TRANSACTION"), Statement::Rollback);
        assert_eq!(one("REINDEX"), Statement::Reindex(None));
        assert_eq!(one("REINDEX main.t1"), Statement::Reindex(Some("t1".into())));
        assert!(matches!(one("EXPLAIN SELECT 1"), Statement::Explain(s) if matches!(*s, Statement::Query(_))));
        assert!(
            matches!(one("EXPLAIN QUERY PLAN DELETE FROM t"), Statement::Explain(s) if matches!(*s, Statement::Delete(_)))
        );
        for sql in
            ["CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END", "CREATE TEMP TRIGGER x", "DROP TRIGGER tr"]
        {
            assert!(matches!(parse(sql), Err(Error::Sql(m)) if m == "triggers are not supported"), "{sql}");
        }
    }

    #[test]
    fn statements_and_spans() {
        let sql = " ;; -- lead\n CREATE TABLE t (a)  ;\n\tSELECT 1 /* c */ ; ; SELECT 'a;b'";
        let v = parse(sql).unwrap();
        let spans: Vec<&str> = v.iter().map(|s| &sql[s.span.clone()]).collect();
        assert_eq!(spans, ["CREATE TABLE t (a)", "SELECT 1", "SELECT 'a;b'"]);
        assert!(parse("").unwrap().is_empty());
        assert!(parse(" ; -- x\n ;").unwrap().is_empty());
        // After an error, the parser resumes with the next statement.
        let mut p = Parser::new("SELECT 1; SELECT FROM; SELECT 3");
        assert!(p.next_statement().unwrap().is_some());
        assert!(p.next_statement().is_err());
        assert_eq!(&p.sql[p.next_statement().unwrap().unwrap().span], "SELECT 3");
        assert_eq!(p.next_statement().unwrap(), None);
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(err("SELECT * FROM"), (13, 1, 14, "unexpected end of input, expected a table name".into()));
        assert_eq!(err("SELECT 1,\n  FROM t"), (12, 2, 3, "expected an expression but found 'FROM'".into()));
        assert_eq!(err("SELECT (1 FROM t"), (10, 1, 11, "expected ')' but found 'FROM'".into()));
        assert_eq!(err("SELECT 1 +"), (10, 1, 11, "unexpected end of input, expected an expression".into()));
        assert_eq!(err("SELECT 'é' + 'abc"), (14, 1, 14, "unterminated string literal".into()));
        assert_eq!(err("SELECT \"abc"), (7, 1, 8, "unterminated quoted identifier".into()));
        assert_eq!(err("SELECT x'ABC'").3, "malformed blob literal: expected an even number of hex digits");
        assert_eq!(err("SELECT x'GG'").3, "malformed blob literal: expected an even number of hex digits");
        assert_eq!(err("SELECT x'AB").3, "unterminated blob literal");
        assert_eq!(err("SELECT 12abc").3, "malformed number: '12abc'");
        assert_eq!(err("SELECT 1e").3, "malformed number: '1e'");
        assert_eq!(err("SELECT 0x").3, "malformed number: '0x'");
        assert_eq!(err("SELECT 0x10000000000000000").3, "malformed number: '0x10000000000000000'");
        assert_eq!(err("SELECT 1 # 2").3, "unrecognized token: '#'");
        assert_eq!(err("SELECT 1 2").3, "expected end of statement but found '2'");
        assert_eq!(err("SELECT 1;\r\nSELECT a b c;"), (22, 2, 12, "expected end of statement but found 'c'".into()));
        assert_eq!(err("PRAGMA x = ").3, "unexpected end of input, expected a pragma value");
        assert_eq!(err("PRAGMA x = -abc").3, "expected a pragma value but found 'abc'");
        assert_eq!(err("PRAGMA x(1").3, "unexpected end of input, expected ')'");
        assert_eq!(err("PRAGMA x y").3, "expected end of statement but found 'y'");
        assert_eq!(err("VACUUM").3, "expected a statement but found 'VACUUM'");
        assert_eq!(err("SELECT CASE a END").3, "expected WHEN but found 'END'");
        assert_eq!(err("SELECT * FROM t NATURAL t2").3, "expected JOIN but found 't2'");
        assert!(matches!(parse("SELECT * FROM t RIGHT JOIN u"), Err(Error::Sql(m)) if m.contains("RIGHT")));
    }

    #[test]
    fn depth_limit() {
        let nested = |open: &str, close: &str, n: usize| format!("SELECT {}1{}", open.repeat(n), close.repeat(n));
        for (open, close) in [
            ("(", ")"),
            ("- ", ""),
            ("NOT ", ""),
            ("(SELECT ", ")"),
            ("abs(", ")"),
            ("CASE WHEN 1 THEN ", " END"),
            ("1 + (", ")"),
            ("x IN (", ")"),
        ] {
            let ok = nested(open, close, 60);
            assert!(parse(&ok).is_ok(), "{open}: {:?}", parse(&ok).err());
            for n in [250, 100_000] {
                let e = err(&nested(open, close, n));
                assert_eq!(e.3, "too deeply nested", "{open}");
            }
        }
        assert!(parse(&nested("(", ")", 195)).is_ok());
        let from = format!("SELECT * FROM {}t{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(err(&from).3, "too deeply nested");
        assert_eq!(err("EXPLAIN EXPLAIN SELECT 1").3, "expected a statement but found 'EXPLAIN'");
    }

    /// A deterministic xorshift64* generator.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn never_panics() {
        let samples = [
            "WITH c(x) AS (SELECT 1) SELECT DISTINCT a.x AS y, count(*), -9223372036854775808 FROM c a LEFT JOIN t ON a.x = t.y \
             WHERE x NOT BETWEEN ?1 AND :b AND y IN (1, 2) OR z LIKE 'a%' ESCAPE '\\' GROUP BY 1 HAVING sum(x) > 0 \
             UNION ALL VALUES (x'00ff', 1.5e3, \"q\", [b], `c`) ORDER BY 1 DESC NULLS LAST LIMIT 3, 4;",
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v VARCHAR(8) NOT NULL DEFAULT 'x' CHECK (length(v) < 9), \
             FOREIGN KEY (v) REFERENCES u (w) ON DELETE CASCADE, UNIQUE (v DESC)) WITHOUT ROWID",
            "INSERT OR REPLACE INTO t (a, b) VALUES (1, CASE WHEN a THEN b ELSE c END) ON CONFLICT (a) DO UPDATE SET b = excluded.b RETURNING *",
            "UPDATE t SET (a, b) = (1, 2) WHERE EXISTS (SELECT 1 FROM u WHERE u.x = t.x); DELETE FROM t WHERE a IS NOT NULL",
            "CREATE UNIQUE INDEX i ON t (a COLLATE nocase); ALTER TABLE t RENAME COLUMN a TO b; EXPLAIN QUERY PLAN SELECT CAST(1 AS DECIMAL(4, 2))",
        ];
        let vocab = [
            "SELECT", "FROM", "WHERE", "(", ")", ",", ";", "1", "'s'", "x'0A'", "a", "t.b", "*", "+", "-", "NOT", "IN",
            "IS", "NULL", "BETWEEN", "AND", "OR", "CASE", "WHEN", "THEN", "END", "CAST", "AS", "JOIN", "ON", "VALUES",
            "WITH", "INSERT", "INTO", "CREATE", "TABLE", "INDEX", "PRIMARY", "KEY", "DEFAULT", "?", ":p", "?99999",
            "LIMIT", "ORDER", "BY", "EXISTS", "é", "\"", "'", "[", "`", "/*", "--", "\n", ".", "0x", "1e", "||", "<>",
            "COLLATE", "UNION", "DROP", "ALTER", "UPDATE", "SET", "DO",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut cases = 0;
        for s in samples {
            for end in (0..=s.len()).filter(|&i| s.is_char_boundary(i)) {
                let _ = parse(&s[..end]);
                cases += 1;
            }
        }
        for _ in 0..3000 {
            let len = rng.below(40);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let _ = parse(&String::from_utf8_lossy(&bytes));
            let soup: Vec<&str> = (0..rng.below(30)).map(|_| vocab[rng.below(vocab.len())]).collect();
            let _ = parse(&soup.join(" "));
            let sample = samples[rng.below(samples.len())].as_bytes();
            let mut mutated = sample.to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(mutated.len());
                mutated[at] = b"()',;\"x.?-* "[rng.below(12)];
            }
            let _ = parse(&String::from_utf8_lossy(&mutated));
            cases += 3;
        }
        assert!(cases > 9000);
    }

    /// Every SQL text meant for SQLite in the sqllogictest files parses (except triggers).
    #[cfg(feature = "std")]
    #[test]
    fn sqllogictest_corpus_parses() {
        extern crate std;
        use std::path::{Path, PathBuf};
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dirs = [manifest.join("../shared/sqllogictest"), PathBuf::from("/work/shared/sqllogictest")];
        let Some(dir) = dirs.iter().find(|d| d.is_dir()) else { return };
        fn files(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    files(&p, out);
                } else if p.extension().is_some_and(|x| x == "test") {
                    out.push(p);
                }
            }
        }
        let mut paths = Vec::new();
        files(dir, &mut paths);
        let (mut records, mut statements, mut failures) = (0, 0, Vec::new());
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
            let mut skip = false;
            while let Some(line) = lines.next() {
                let cond = line.split('#').next().unwrap_or("").trim();
                if let Some(db) = cond.strip_prefix("onlyif ") {
                    skip |= db != "sqlite";
                    continue;
                }
                if let Some(db) = cond.strip_prefix("skipif ") {
                    skip |= db == "sqlite";
                    continue;
                }
                if line == "halt" && !skip {
                    break;
                }
                let wanted = line.starts_with("statement ok") || line.starts_with("query");
                let sql: Vec<&str> = if line.starts_with("statement") || line.starts_with("query") {
                    lines.by_ref().take_while(|l| !l.is_empty() && *l != "----").collect()
                } else {
                    Vec::new()
                };
                let sql = sql.join("\n");
                let upper = sql.to_ascii_uppercase();
                if wanted && !skip && !upper.contains("CREATE TRIGGER") && !upper.contains("DROP TRIGGER") {
                    records += 1;
                    match parse(&sql) {
                        Ok(v) => statements += v.len(),
                        Err(e) => failures.push(format!("{}: {sql}\n  {e}", path.display())),
                    }
                }
                if line.is_empty() || wanted || line.starts_with("statement") {
                    skip = false;
                }
            }
        }
        std::eprintln!("sqllogictest: {records} records, {statements} statements parsed");
        assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures[..failures.len().min(20)].join("\n"));
        assert!(records > 10_000);
    }
}
