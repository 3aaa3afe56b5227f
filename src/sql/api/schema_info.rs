//! [`Connection::schema_objects`]: the schema as a list of tables, indexes and views, each
//! with the SQL that recreates it as it is now. Tools use it (the `tessera` shell's `.tables`,
//! `.schema` and `.dump`); nothing in the engine depends on it.
//!
//! A table's stored definition is its `CREATE TABLE` text followed by the `ALTER TABLE` texts
//! run on it since (see `catalog`), and `RENAME TO` rewrites neither those texts nor the texts
//! of the table's indexes. This module turns the stored texts into statements that are valid
//! today: the table's name in them is replaced by its current one, and an index whose columns
//! were renamed since gets a freshly written `CREATE INDEX`.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::Result;
use crate::sql::api::connection::Connection;
use crate::sql::catalog::{lower, IndexDef, Schema, TableDef, ViewDef};
use crate::sql::parser;
use crate::sql::parser::ast::Statement;
use crate::sql::parser::lexer::{next_token, Tok, Token};
use crate::sql::storage::Txn;

/// What kind of object a [`SchemaObject`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A table.
    Table,
    /// An index (from `CREATE INDEX`, or the automatic index of a UNIQUE or PRIMARY KEY
    /// constraint).
    Index,
    /// A view.
    View,
}

/// One object of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaObject {
    /// Table, index or view.
    pub kind: ObjectKind,
    /// The object's name.
    pub name: String,
    /// The table an index belongs to; for a table or a view, its own name.
    pub table: String,
    /// Statements (without a trailing `;`) that recreate the object as it is now, run in order
    /// on a database holding the objects it depends on:
    /// - a table: its `CREATE TABLE` text, then the `ALTER TABLE` texts run on it since
    ///   (Tessera keeps these rather than rewriting the `CREATE TABLE` text as SQLite does);
    /// - an index: its `CREATE INDEX` text, or nothing for an automatic index (the table's
    ///   definition makes it; these are named `sqlite_autoindex_<table>_<n>`);
    /// - a view: its `CREATE VIEW` text.
    ///
    /// Texts are as written, except that after a `RENAME TO` the table's old name in them is
    /// replaced by the current one (double-quoted), and an index whose columns were renamed
    /// since is given a generated `CREATE INDEX` text.
    pub sql: Vec<String>,
}

impl Connection {
    /// Every table, index and view of the last committed schema (changes made by an open
    /// transaction of this connection are not seen): tables in creation order, then indexes
    /// in creation order, then views by name, each moved after the views its query names.
    pub fn schema_objects(&self) -> Result<Vec<SchemaObject>> {
        let txn = Txn::begin_read(self.database())?;
        Ok(objects(&Schema::load(&txn)?))
    }
}

fn objects(schema: &Schema) -> Vec<SchemaObject> {
    let mut tables: Vec<&TableDef> = schema.tables.values().map(|t| &**t).collect();
    tables.sort_by_key(|t| storage_id(&t.storage));
    let mut out: Vec<SchemaObject> = tables.iter().map(|t| table_object(t)).collect();
    let mut indexes: Vec<(&TableDef, &IndexDef)> =
        tables.iter().flat_map(|t| t.indexes.iter().map(move |ix| (*t, &**ix))).collect();
    indexes.sort_by_key(|(_, ix)| storage_id(&ix.storage));
    out.extend(indexes.into_iter().map(|(t, ix)| index_object(t, ix)));
    out.extend(views_in_order(schema).into_iter().map(|v| SchemaObject {
        kind: ObjectKind::View,
        name: v.name.clone(),
        table: v.name.clone(),
        sql: vec![v.sql.clone()],
    }));
    out
}

fn storage_id(storage: &str) -> u64 {
    storage.trim_start_matches("sql:").parse().unwrap_or(u64::MAX)
}

fn table_object(t: &TableDef) -> SchemaObject {
    let sql = t.sql.iter().map(|s| rename_table(s, &t.name));
    SchemaObject { kind: ObjectKind::Table, name: t.name.clone(), table: t.name.clone(), sql: sql.collect() }
}

fn index_object(t: &TableDef, ix: &IndexDef) -> SchemaObject {
    let sql = match &ix.sql {
        None => Vec::new(),
        Some(text) if index_columns_current(t, ix, text) => vec![rename_index_table(text, &t.name)],
        Some(_) => vec![generated_index(t, ix)],
    };
    SchemaObject { kind: ObjectKind::Index, name: ix.name.clone(), table: t.name.clone(), sql }
}

/// Whether the columns named in an index's text are still the indexed columns' names.
fn index_columns_current(t: &TableDef, ix: &IndexDef, text: &str) -> bool {
    let Ok(mut parsed) = parser::parse(text) else { return false };
    let Some(Statement::CreateIndex(ci)) = parsed.pop().map(|p| p.stmt) else { return false };
    ci.columns.len() == ix.columns.len()
        && ci
            .columns
            .iter()
            .zip(&ix.columns)
            .all(|(named, (pos, _))| t.columns.get(*pos).is_some_and(|c| c.name.eq_ignore_ascii_case(&named.name)))
}

fn generated_index(t: &TableDef, ix: &IndexDef) -> String {
    let cols: Vec<String> = ix
        .columns
        .iter()
        .map(|(pos, desc)| {
            let name = t.columns.get(*pos).map_or("", |c| c.name.as_str());
            format!("{}{}", quote(name), if *desc { " DESC" } else { "" })
        })
        .collect();
    let unique = if ix.unique { "UNIQUE " } else { "" };
    format!("CREATE {unique}INDEX {} ON {}({})", quote(&ix.name), quote(&t.name), cols.join(", "))
}

/// A double-quoted identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The tokens of `sql`, up to the end or the first lexical error.
fn tokens(sql: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let t = next_token(sql, pos);
        if matches!(t.kind, Tok::Eof | Tok::Bad(_)) {
            return out;
        }
        pos = t.end;
        out.push(t);
    }
}

/// The name a token stands for (`None` for operators and literals other than strings).
fn token_name<'a>(sql: &'a str, t: &'a Token) -> Option<&'a str> {
    match &t.kind {
        Tok::Word => sql.get(t.start..t.end),
        Tok::Quoted(s) | Tok::Str(s) => Some(s),
        _ => None,
    }
}

/// The text of a token.
fn word<'a>(sql: &'a str, t: &Token) -> &'a str {
    sql.get(t.start..t.end).unwrap_or_default()
}

/// Replace the (possibly schema-qualified) name that starts at token `i` by `name`, unless
/// it already is `name`.
fn replace_name_at(sql: &str, toks: &[Token], i: usize, name: &str) -> String {
    let Some(first) = toks.get(i).filter(|t| token_name(sql, t).is_some()) else { return sql.into() };
    let mut last = i;
    if matches!(toks.get(i + 1).map(|t| &t.kind), Some(Tok::Op("."))) && toks.get(i + 2).is_some() {
        last = i + 2;
    }
    if last == i && token_name(sql, first) == Some(name) {
        return sql.into();
    }
    let (before, after) = (sql.get(..first.start).unwrap_or_default(), sql.get(toks[last].end..).unwrap_or_default());
    format!("{before}{}{after}", quote(name))
}

/// A `CREATE [TEMP] TABLE [IF NOT EXISTS] name ...` or `ALTER TABLE name ...` text with the
/// table's name replaced by `name`.
fn rename_table(sql: &str, name: &str) -> String {
    let toks = tokens(sql);
    let kw = |i: usize, kw: &str| {
        toks.get(i).is_some_and(|t| matches!(t.kind, Tok::Word) && word(sql, t).eq_ignore_ascii_case(kw))
    };
    let mut i = 1;
    if kw(0, "CREATE") && (kw(1, "TEMP") || kw(1, "TEMPORARY")) {
        i = 2;
    } else if !kw(0, "CREATE") && !kw(0, "ALTER") {
        return sql.into();
    }
    if !kw(i, "TABLE") {
        return sql.into();
    }
    i += 1;
    if kw(0, "CREATE") && kw(i, "IF") {
        i += 3;
    }
    replace_name_at(sql, &toks, i, name)
}

/// A `CREATE INDEX` text with the table name after `ON` replaced by `table`.
fn rename_index_table(sql: &str, table: &str) -> String {
    let toks = tokens(sql);
    let on = toks.iter().position(|t| matches!(t.kind, Tok::Word) && word(sql, t).eq_ignore_ascii_case("ON"));
    match on {
        Some(i) => replace_name_at(sql, &toks, i + 1, table),
        None => sql.into(),
    }
}

/// Views by name, each moved after the views whose names its text mentions.
fn views_in_order(schema: &Schema) -> Vec<&ViewDef> {
    let mut pending: Vec<&ViewDef> = schema.views.values().map(|v| &**v).collect();
    pending.sort_by(|a, b| a.name.cmp(&b.name));
    let deps: Vec<Vec<String>> = pending
        .iter()
        .map(|v| {
            let toks = tokens(&v.sql);
            let mut names: Vec<String> = toks
                .iter()
                .filter_map(|t| token_name(&v.sql, t))
                .map(lower)
                .filter(|n| *n != lower(&v.name) && schema.views.contains_key(n))
                .collect();
            names.dedup();
            names
        })
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut left: Vec<usize> = (0..pending.len()).collect();
    while !left.is_empty() {
        let ready = left.iter().position(|&i| deps[i].iter().all(|d| done.contains(d))).unwrap_or(0);
        let i = left.remove(ready);
        done.push(lower(&pending[i].name));
        out.push(pending[i]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Value;

    fn conn(sql: &str) -> Connection {
        let mut c = Connection::memory();
        c.execute(sql, &[]).unwrap();
        c
    }

    fn sqls(c: &Connection) -> Vec<(ObjectKind, String, String, Vec<String>)> {
        c.schema_objects().unwrap().into_iter().map(|o| (o.kind, o.name, o.table, o.sql)).collect()
    }

    #[test]
    fn lists_objects_in_creation_order() {
        let c = conn(
            "CREATE TABLE b(x UNIQUE, y); CREATE TABLE a(k INTEGER PRIMARY KEY); \
             CREATE VIEW v1 AS SELECT k FROM a; CREATE VIEW a0 AS SELECT * FROM v1; \
             CREATE INDEX bi ON b(y DESC);",
        );
        let s = sqls(&c);
        let t = |n: &str| n.to_string();
        assert_eq!(
            s,
            vec![
                (ObjectKind::Table, t("b"), t("b"), vec![t("CREATE TABLE b(x UNIQUE, y)")]),
                (ObjectKind::Table, t("a"), t("a"), vec![t("CREATE TABLE a(k INTEGER PRIMARY KEY)")]),
                (ObjectKind::Index, t("sqlite_autoindex_b_1"), t("b"), vec![]),
                (ObjectKind::Index, t("bi"), t("b"), vec![t("CREATE INDEX bi ON b(y DESC)")]),
                (ObjectKind::View, t("v1"), t("v1"), vec![t("CREATE VIEW v1 AS SELECT k FROM a")]),
                (ObjectKind::View, t("a0"), t("a0"), vec![t("CREATE VIEW a0 AS SELECT * FROM v1")]),
            ]
        );
    }

    #[test]
    fn texts_follow_renames() {
        let mut c = conn(
            "CREATE TABLE IF NOT EXISTS main.t(a, b); CREATE INDEX ia ON t(a); CREATE INDEX ib ON t(b); \
             ALTER TABLE t ADD COLUMN c DEFAULT 7; ALTER TABLE t RENAME COLUMN b TO bb; \
             ALTER TABLE t RENAME TO \"new name\";",
        );
        let s = sqls(&c);
        assert_eq!(
            s[0].3,
            vec![
                "CREATE TABLE IF NOT EXISTS \"new name\"(a, b)".to_string(),
                "ALTER TABLE \"new name\" ADD COLUMN c DEFAULT 7".into(),
                "ALTER TABLE \"new name\" RENAME COLUMN b TO bb".into(),
            ]
        );
        assert_eq!(s[1].3, vec!["CREATE INDEX ia ON \"new name\"(a)".to_string()]);
        assert_eq!(s[2].3, vec!["CREATE INDEX \"ib\" ON \"new name\"(\"bb\")".to_string()]);

        // Replaying the statements makes the same table.
        let mut d = Connection::memory();
        for o in c.schema_objects().unwrap() {
            for q in &o.sql {
                d.execute(q, &[]).unwrap();
            }
        }
        assert_eq!(sqls(&d), s);
        c.execute("INSERT INTO \"new name\"(a, bb) VALUES (1, 2)", &[]).unwrap();
        d.execute("INSERT INTO \"new name\"(a, bb) VALUES (1, 2)", &[]).unwrap();
        let row = |c: &mut Connection| c.query("SELECT * FROM \"new name\"", &[]).unwrap().next().unwrap().unwrap();
        assert_eq!(row(&mut c), vec![Value::Integer(1), Value::Integer(2), Value::Integer(7)]);
        assert_eq!(row(&mut d), row(&mut c));
    }
}
