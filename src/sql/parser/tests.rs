//! Parser tests: every statement form, positions in errors, limits on nesting.

#![allow(clippy::string_slice)] // tests slice ASCII SQL at known offsets

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
    let q = query("SELECT 1 UNION SELECT 2 UNION ALL SELECT 3 INTERSECT VALUES (4) EXCEPT SELECT 5 ORDER BY 1 LIMIT 1");
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
    let Statement::Insert(i) = one("INSERT INTO main.t (a, b) VALUES (1, 2), (3, 4) RETURNING *, a + 1 AS c") else {
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
    let [up] = <[Upsert; 1]>::try_from(i.upsert).unwrap();
    let target: Vec<(&str, Option<&str>)> =
        up.target.iter().map(|c| (c.name.as_str(), c.collation.as_deref())).collect();
    assert_eq!(target, [("a", Some("nocase")), ("b", None)]);
    let u = up.update.unwrap();
    let cols: Vec<&str> = u.sets.iter().map(|s| s.column.as_str()).collect();
    assert_eq!(cols, ["c", "d", "e"]);
    assert_eq!(u.sets[0].value, Expr::Column { table: Some("excluded".into()), name: "c".into() });
    assert!(u.where_.is_some());
    let Statement::Insert(i) = one("INSERT INTO t SELECT * FROM u ON CONFLICT DO NOTHING") else { panic!() };
    assert_eq!(i.upsert, [Upsert { target: vec![], update: None }]);
    let Statement::Insert(i) =
        one("INSERT INTO t AS x VALUES (1) ON CONFLICT(a) DO NOTHING ON CONFLICT(b) DO NOTHING ON CONFLICT DO NOTHING")
    else {
        panic!()
    };
    assert_eq!((i.alias.as_deref(), i.upsert.len()), (Some("x"), 3));
    assert!(Parser::new("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING ON CONFLICT(a) DO NOTHING")
        .next_statement()
        .is_err());
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
    assert_eq!(
        t.columns[5].constraints,
        [C::Default(Expr::Function { name: "CURRENT_TIMESTAMP".into(), args: vec![], distinct: false, star: false })]
    );
    assert_eq!(t.columns[6].constraints, [C::Default(Expr::Literal("x".into()))]);
    assert_eq!(t.columns[7].constraints, [C::References("other".into()), C::NotNull]);
    assert!(t.columns[8].constraints.is_empty());
    let ic = |n: &str, desc, collation: Option<&str>| IndexedColumn {
        name: n.into(),
        desc,
        collation: collation.map(Into::into),
    };
    assert_eq!(t.constraints[0], TableConstraint::PrimaryKey(vec![ic("id", true, None), ic("name", false, None)]));
    assert_eq!(t.constraints[1], TableConstraint::Unique(vec![ic("name", false, Some("nocase"))]));
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
        [
            IndexedColumn { name: "a".into(), desc: true, collation: Some("nocase".into()) },
            IndexedColumn { name: "b".into(), desc: false, collation: None }
        ]
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
    assert_eq!(alter("ALTER TABLE t RENAME a TO b"), AlterAction::RenameColumn { old: "a".into(), new: "b".into() });
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
    assert!(matches!(one("EXPLAIN SELECT 1"), Statement::Explain(s, false) if matches!(*s, Statement::Query(_))));
    assert!(
        matches!(one("EXPLAIN QUERY PLAN DELETE FROM t"), Statement::Explain(s, true) if matches!(*s, Statement::Delete(_)))
    );
    for sql in ["CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END", "CREATE TEMP TRIGGER x", "DROP TRIGGER tr"] {
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
