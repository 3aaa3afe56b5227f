//! The typed Rust SQL API end to end: value conversions both ways (edge cases included),
//! every form of parameters (tuples, slices, `params!`, named by each sigil, serde structs and
//! maps) and their errors, `Row` getters, `query_row`/`query_one`/`query_map`, transactions
//! (commit, rollback on drop, on an early `?` return and on panic), and serde round trips
//! through real tables.

use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::{Deserialize, Serialize};
use tessera::sql::{from_row, to_params, Bindings, Connection, FromValue, Named, Row, Serde, ToValue, Value};
use tessera::{named_params, params, Error, MemoryDevice, Options};

fn conn_with(sql: &str) -> Connection {
    let mut c = Connection::memory();
    c.execute(sql, ()).unwrap_or_else(|e| panic!("{sql}: {e}"));
    c
}

/// The one value `SELECT ?` returns for `v`, with its SQL type.
fn roundtrip(c: &mut Connection, v: impl ToValue) -> (String, Value) {
    c.query_row("SELECT typeof(?1), ?1", (v,), |r| Ok((r.get::<String>(0)?, r.get::<Value>(1)?))).unwrap()
}

fn conversion_error(e: Error) -> (String, String) {
    match e {
        Error::Conversion { place, message } => (place, message),
        other => panic!("expected a conversion error, got {other:?}"),
    }
}

fn sql_error(e: Error) -> String {
    match e {
        Error::Sql(m) => m,
        other => panic!("expected Error::Sql, got {other:?}"),
    }
}

// -------------------------------------------------------------------------------------------
// Values into SQL

#[test]
fn rust_values_become_sql_values() {
    let mut c = Connection::memory();
    assert_eq!(roundtrip(&mut c, i64::MIN), ("integer".into(), Value::Integer(i64::MIN)));
    assert_eq!(roundtrip(&mut c, i64::MAX), ("integer".into(), Value::Integer(i64::MAX)));
    assert_eq!(roundtrip(&mut c, -7i8), ("integer".into(), Value::Integer(-7)));
    assert_eq!(roundtrip(&mut c, i16::MIN), ("integer".into(), Value::Integer(-32768)));
    assert_eq!(roundtrip(&mut c, i32::MAX), ("integer".into(), Value::Integer(2147483647)));
    assert_eq!(roundtrip(&mut c, u8::MAX), ("integer".into(), Value::Integer(255)));
    assert_eq!(roundtrip(&mut c, u16::MAX), ("integer".into(), Value::Integer(65535)));
    assert_eq!(roundtrip(&mut c, u32::MAX), ("integer".into(), Value::Integer(4294967295)));
    assert_eq!(roundtrip(&mut c, i64::MAX as u64), ("integer".into(), Value::Integer(i64::MAX)));
    assert_eq!(roundtrip(&mut c, 12usize), ("integer".into(), Value::Integer(12)));
    assert_eq!(roundtrip(&mut c, 1.5f64), ("real".into(), Value::Real(1.5)));
    assert_eq!(roundtrip(&mut c, 0.25f32), ("real".into(), Value::Real(0.25)));
    assert_eq!(roundtrip(&mut c, f64::INFINITY), ("real".into(), Value::Real(f64::INFINITY)));
    // SQLite stores no NaN: binding one gives NULL.
    assert_eq!(roundtrip(&mut c, f64::NAN), ("null".into(), Value::Null));
    assert_eq!(roundtrip(&mut c, f32::NAN), ("null".into(), Value::Null));
    assert_eq!(roundtrip(&mut c, true), ("integer".into(), Value::Integer(1)));
    assert_eq!(roundtrip(&mut c, false), ("integer".into(), Value::Integer(0)));
    assert_eq!(roundtrip(&mut c, "ünïcødé ✓ 😀"), ("text".into(), Value::from("ünïcødé ✓ 😀")));
    assert_eq!(roundtrip(&mut c, String::from("owned")), ("text".into(), Value::from("owned")));
    assert_eq!(roundtrip(&mut c, ""), ("text".into(), Value::from("")));
    assert_eq!(roundtrip(&mut c, 'é'), ("text".into(), Value::from("é")));
    assert_eq!(roundtrip(&mut c, std::borrow::Cow::Borrowed("cow")), ("text".into(), Value::from("cow")));
    assert_eq!(roundtrip(&mut c, vec![0u8, 255]), ("blob".into(), Value::Blob(vec![0, 255])));
    assert_eq!(roundtrip(&mut c, &b"ab"[..]), ("blob".into(), Value::Blob(b"ab".to_vec())));
    assert_eq!(roundtrip(&mut c, *b"xyz"), ("blob".into(), Value::Blob(b"xyz".to_vec())));
    assert_eq!(roundtrip(&mut c, Vec::<u8>::new()), ("blob".into(), Value::Blob(Vec::new())));
    assert_eq!(roundtrip(&mut c, Some(5)), ("integer".into(), Value::Integer(5)));
    assert_eq!(roundtrip(&mut c, None::<i64>), ("null".into(), Value::Null));
    assert_eq!(roundtrip(&mut c, Some(Some("x"))), ("text".into(), Value::from("x")));
    assert_eq!(roundtrip(&mut c, Value::Real(-0.5)), ("real".into(), Value::Real(-0.5)));
    assert_eq!(roundtrip(&mut c, Box::new(3u8)), ("integer".into(), Value::Integer(3)));
}

#[test]
fn integers_beyond_i64_are_errors_naming_the_parameter() {
    let mut c = conn_with("CREATE TABLE t(a, b)");
    let e = c.execute("INSERT INTO t VALUES (?, ?)", (1, u64::MAX)).unwrap_err();
    let (place, message) = conversion_error(e);
    assert_eq!(place, "parameter 2");
    assert_eq!(message, "u64 18446744073709551615 is out of range for a SQL INTEGER (i64::MIN..=i64::MAX)");
    assert!(c.execute("INSERT INTO t VALUES (?, ?)", (1, i64::MAX as u64 + 1)).is_err());
    assert!(c.execute("INSERT INTO t VALUES (?, ?)", (1, u128::MAX)).is_err());
    assert!(c.execute("INSERT INTO t VALUES (?, ?)", (1, i128::MIN)).is_err());
    let e = c.execute("INSERT INTO t VALUES (:a, :b)", named_params! {":a": 1, ":b": usize::MAX}).unwrap_err();
    assert_eq!(conversion_error(e).0, "parameter :b");
    assert_eq!(c.query_one::<i64>("SELECT count(*) FROM t", ()).unwrap(), 0, "nothing was inserted");
    assert_eq!(c.execute("INSERT INTO t VALUES (?, ?)", (i128::from(i64::MIN), 0u64)).unwrap(), 1);
}

// -------------------------------------------------------------------------------------------
// SQL values into Rust

#[test]
fn sql_values_into_rust_types() {
    let mut c = Connection::memory();
    let row = c
        .query(
            "SELECT 42 AS i, -1 AS neg, 2.5 AS r, 'txt' AS t, x'00ff' AS b, NULL AS n, 0 AS zero, 9223372036854775807 AS big, '' AS empty, x'' AS eb",
            (),
        )
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i64>("i").unwrap(), 42);
    assert_eq!(row.get::<i32>("i").unwrap(), 42);
    assert_eq!(row.get::<u8>("i").unwrap(), 42);
    assert_eq!(row.get::<u64>("big").unwrap(), i64::MAX as u64);
    assert_eq!(row.get::<i64>("big").unwrap(), i64::MAX);
    assert_eq!(row.get::<i128>("neg").unwrap(), -1);
    assert_eq!(row.get::<f64>("i").unwrap(), 42.0, "INTEGER reads as f64");
    assert_eq!(row.get::<f32>("r").unwrap(), 2.5);
    assert_eq!(row.get::<f64>("r").unwrap(), 2.5);
    assert!(row.get::<bool>("i").unwrap());
    assert!(!row.get::<bool>("zero").unwrap());
    assert_eq!(row.get::<String>("t").unwrap(), "txt");
    assert_eq!(row.get::<String>("empty").unwrap(), "");
    assert_eq!(row.get::<Vec<u8>>("b").unwrap(), [0, 255]);
    assert_eq!(row.get::<Vec<u8>>("t").unwrap(), b"txt", "TEXT reads as its bytes");
    assert_eq!(row.get::<Vec<u8>>("eb").unwrap(), Vec::<u8>::new());
    assert_eq!(row.get::<Option<i64>>("n").unwrap(), None);
    assert_eq!(row.get::<Option<String>>("t").unwrap().as_deref(), Some("txt"));
    assert_eq!(row.get::<Option<Vec<u8>>>("n").unwrap(), None);
    assert_eq!(row.get::<Value>("n").unwrap(), Value::Null);
    assert_eq!(row.get::<Value>("b").unwrap(), Value::Blob(vec![0, 255]));

    // Strictness: no implicit parsing or truncation, and NULL only into Option.
    let cases: &[(&str, Error)] = &[
        ("t", row.get::<i64>("t").unwrap_err()),
        ("n", row.get::<i64>("n").unwrap_err()),
        ("r", row.get::<i64>("r").unwrap_err()),
        ("b", row.get::<String>("b").unwrap_err()),
        ("i", row.get::<String>("i").unwrap_err()),
        ("n", row.get::<String>("n").unwrap_err()),
        ("t", row.get::<f64>("t").unwrap_err()),
        ("r", row.get::<bool>("r").unwrap_err()),
        ("n", row.get::<bool>("n").unwrap_err()),
        ("i", row.get::<Vec<u8>>("i").unwrap_err()),
        ("neg", row.get::<u32>("neg").unwrap_err()),
        ("big", row.get::<i32>("big").unwrap_err()),
        ("t", row.get::<Option<i64>>("t").unwrap_err()),
    ];
    for (col, e) in cases {
        let (place, _) = conversion_error(e.clone());
        let i = row.column_index(col).unwrap();
        assert_eq!(place, format!("column {i} ({col:?})"), "{e}");
    }
    assert_eq!(cases[0].1.to_string(), r#"cannot convert column 3 ("t"): expected i64, found text"#);
    assert_eq!(cases[1].1.to_string(), r#"cannot convert column 5 ("n"): expected i64, found null"#);
    assert_eq!(cases[2].1.to_string(), r#"cannot convert column 2 ("r"): expected i64, found real"#);
    assert_eq!(cases[10].1.to_string(), r#"cannot convert column 1 ("neg"): integer -1 is out of range for u32"#);
    assert_eq!(cases[0].1.code(), "CONVERSION");

    // FromValue on its own.
    assert_eq!(u8::from_value(&Value::Integer(255)).unwrap(), 255);
    assert!(u8::from_value(&Value::Integer(256)).is_err());
    assert!(i8::from_value(&Value::Integer(-129)).is_err());
    assert_eq!(i64::from_value(&Value::Integer(i64::MIN)).unwrap(), i64::MIN);
}

#[test]
fn row_access_by_index_and_name() {
    let mut c = conn_with("CREATE TABLE t(Id INTEGER PRIMARY KEY, Name TEXT); INSERT INTO t VALUES (1, 'ada')");
    let rows: Vec<Row> =
        c.query("SELECT id, name, id + 1 AS next FROM t", ()).unwrap().collect::<Result<_, _>>().unwrap();
    let row = &rows[0];
    assert_eq!(row.columns(), ["id", "name", "next"]);
    assert_eq!(row.column_name(1).unwrap(), "name");
    assert!(matches!(row.column_name(3), Err(Error::InvalidColumn(_))));
    assert_eq!(row.get::<String>("NAME").unwrap(), "ada", "names match case-insensitively");
    assert_eq!(row.get::<i64>("NeXt").unwrap(), 2);
    assert_eq!(row.get::<i64>(&String::from("Id")).unwrap(), 1);
    let e = row.get::<i64>("nope").unwrap_err();
    assert!(matches!(&e, Error::InvalidColumn(m) if m.contains("\"nope\"") && m.contains("id, name, next")), "{e}");
    let e = row.get::<i64>(3).unwrap_err();
    assert_eq!(e.to_string(), "column index 3 out of range: the row has 3 columns");
    assert_eq!(row.get_ref(1).unwrap(), &Value::from("ada"));
    // Deref to [Value], comparisons and conversions.
    assert_eq!(row.len(), 3);
    assert_eq!(row[0], Value::Integer(1));
    assert_eq!(row.iter().filter(|v| matches!(v, Value::Integer(_))).count(), 2);
    assert_eq!(*row, vec![Value::Integer(1), Value::from("ada"), Value::Integer(2)]);
    assert_eq!(*row, [Value::Integer(1), Value::from("ada"), Value::Integer(2)]);
    assert_eq!(row.values(), &[Value::Integer(1), Value::from("ada"), Value::Integer(2)]);
    assert_eq!(format!("{row:?}"), r#"[Integer(1), Text("ada"), Integer(2)]"#);
    assert_eq!(row.to::<(i64, String, i64)>().unwrap(), (1, "ada".to_string(), 2));
    let v: Vec<Value> = row.clone().into();
    assert_eq!(v, row.clone().into_values());
    assert_eq!(row.clone().into_iter().count(), 3);
    // Column names of a SELECT * come from the table definition.
    let star = c.query("SELECT * FROM t", ()).unwrap().next().unwrap().unwrap();
    assert_eq!(star.columns(), ["Id", "Name"]);
    assert_eq!(star.get::<i64>("id").unwrap(), 1);
}

// -------------------------------------------------------------------------------------------
// Parameters

#[test]
fn positional_parameter_forms() {
    let mut c = conn_with("CREATE TABLE t(a, b)");
    c.execute("INSERT INTO t VALUES (?, ?)", (1, "tuple")).unwrap();
    c.execute("INSERT INTO t VALUES (?, ?)", &[Value::from(2), Value::from("array ref")]).unwrap();
    c.execute("INSERT INTO t VALUES (?, ?)", [Value::from(3), Value::from("array")]).unwrap();
    let v = vec![Value::from(4), Value::from("vec ref")];
    c.execute("INSERT INTO t VALUES (?, ?)", &v).unwrap();
    c.execute("INSERT INTO t VALUES (?, ?)", &v[..]).unwrap();
    c.execute("INSERT INTO t VALUES (?, ?)", v).unwrap();
    c.execute("INSERT INTO t VALUES (?, ?)", params![5, "macro"]).unwrap();
    c.execute("INSERT INTO t VALUES (?2, ?1)", ("numbered", 6)).unwrap();
    c.execute("INSERT INTO t VALUES (:a, :b)", (7, "named, bound by position")).unwrap();
    c.execute("INSERT INTO t VALUES (?, ?)", Bindings::positional(vec![8.into(), "bindings".into()])).unwrap();
    let b = to_params(&(9, "serde tuple")).unwrap();
    c.execute("INSERT INTO t VALUES (?, ?)", &b).unwrap();
    c.execute("INSERT INTO t VALUES (?, ?)", Serde(vec![10, 11])).unwrap();
    assert_eq!(c.query_one::<i64>("SELECT count(*) FROM t", ()).unwrap(), 12);
    assert_eq!(c.query_one::<i64>("SELECT count(*) FROM t", []).unwrap(), 12);
    assert_eq!(c.query_one::<i64>("SELECT count(*) FROM t", &[]).unwrap(), 12);
    assert_eq!(c.query_one::<i64>("SELECT count(*) FROM t", params![]).unwrap(), 12);
    assert_eq!(c.query_one::<String>("SELECT b FROM t WHERE a = 6", ()).unwrap(), "numbered");
    assert_eq!(c.query_one::<i64>("SELECT b FROM t WHERE a = 10", ()).unwrap(), 11);

    // Every tuple size up to 16.
    let sixteen =
        (1, 2u8, 3i16, 4u16, 5i32, 6u32, 7i64, 8u64, 9usize, 10.0, 11.0f32, "12", '3', true, Some(15), None::<i64>);
    let sql = format!("SELECT {}", (1..=16).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", "));
    let row = c.query(&sql, sixteen).unwrap().next().unwrap().unwrap();
    assert_eq!(row.len(), 16);
    assert_eq!(row[11], Value::from("12"));
    assert_eq!(row[13], Value::Integer(1));
    assert_eq!(row[15], Value::Null);
    assert_eq!(c.query_one::<(i64,)>("SELECT ?", (1,)).unwrap(), (1,));
    // `.into()` infers Value inside an array.
    assert_eq!(c.query_one::<i64>("SELECT ? + ?", &[30.into(), 40.into()]).unwrap(), 70);
}

#[test]
fn positional_count_must_match() {
    let mut c = conn_with("CREATE TABLE t(a, b)");
    let few = sql_error(c.execute("INSERT INTO t VALUES (?, ?)", (1,)).unwrap_err());
    assert_eq!(few, "wrong number of parameters: the statement takes 2 parameters, 1 given");
    let many = sql_error(c.execute("INSERT INTO t VALUES (?, ?)", (1, 2, 3)).unwrap_err());
    assert_eq!(many, "wrong number of parameters: the statement takes 2 parameters, 3 given");
    assert!(c.execute("INSERT INTO t VALUES (?, ?)", ()).is_err(), "unbound parameters are not NULL");
    assert!(c.execute("INSERT INTO t VALUES (1, 2)", (1,)).is_err());
    let none = sql_error(c.query("SELECT ?", ()).err().unwrap());
    assert_eq!(none, "wrong number of parameters: the statement takes 1 parameter, 0 given");
    // ?NNN: the count is the largest index.
    assert!(c.query("SELECT ?3", (1, 2)).is_err());
    assert_eq!(c.query_one::<i64>("SELECT ?3", (1, 2, 3)).unwrap(), 3);
    // A name used twice is one parameter.
    assert_eq!(c.query_one::<i64>("SELECT :x + :x", (4,)).unwrap(), 8);
    // Prepared statements check on every run.
    let ins = c.prepare("INSERT INTO t VALUES (?, ?)").unwrap();
    assert_eq!(ins.parameter_count(), 2);
    assert!(c.execute_prepared(&ins, [Value::Null]).is_err());
    assert!(c.start(&ins, &[Value::Null, Value::Null, Value::Null]).is_err());
    c.execute_prepared(&ins, (1, 2)).unwrap();
    assert_eq!(c.query_one::<i64>("SELECT count(*) FROM t", ()).unwrap(), 1);
}

#[test]
fn named_parameters_by_each_sigil() {
    let mut c = conn_with("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
    c.execute("INSERT INTO t VALUES (:id, :name)", Named(&[(":id", 1.into()), (":name", "colon".into())])).unwrap();
    c.execute("INSERT INTO t VALUES (@id, @name)", Named(&[("@id", Value::from(2)), ("@name", "at".into())])).unwrap();
    c.execute("INSERT INTO t VALUES ($id, $name)", Named([("$id", Value::from(3)), ("$name", "dollar".into())]))
        .unwrap();
    // Bare names match any sigil; order does not matter.
    c.execute("INSERT INTO t VALUES (:id, @name)", Named(vec![("name", Value::from("bare")), ("id", Value::from(4))]))
        .unwrap();
    c.execute("INSERT INTO t VALUES ($id, $name)", named_params! {"$name": "macro", "id": 5}).unwrap();
    let owned: Vec<(String, Value)> = vec![(":id".into(), 6.into()), (":name".into(), "owned".into())];
    c.execute("INSERT INTO t VALUES (:id, :name)", Named(owned)).unwrap();
    c.execute("INSERT INTO t VALUES (:id, :name)", Named(&[(":name", Value::from("slice")), (":id", 7.into())][..]))
        .unwrap();
    let names: Vec<String> =
        c.query_map("SELECT name FROM t ORDER BY id", (), |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(names, ["colon", "at", "dollar", "bare", "macro", "owned", "slice"]);

    // `:a` and `@a` are different parameters; a sigil in the given name picks one.
    let both = c.query_one::<(i64, i64)>("SELECT :a, @a", Named(&[(":a", 1.into()), ("@a", 2.into())])).unwrap();
    assert_eq!(both, (1, 2));
    assert_eq!(c.query_one::<(i64, i64)>("SELECT :a, @a", named_params! {"a": 3}).unwrap(), (3, 3));
    // A name used twice in the statement.
    assert_eq!(c.query_one::<i64>("SELECT :n * :n", named_params! {":n": 7}).unwrap(), 49);
    assert_eq!(c.query_one::<i64>("SELECT 1", named_params! {}).unwrap(), 1);
}

#[test]
fn named_parameter_errors() {
    let mut c = conn_with("CREATE TABLE t(id, name)");
    let missing = sql_error(c.execute("INSERT INTO t VALUES (:id, :name)", named_params! {":id": 1}).unwrap_err());
    assert_eq!(missing, "missing value for parameter :name");
    let unknown =
        sql_error(c.execute("INSERT INTO t VALUES (:id, NULL)", named_params! {":id": 1, ":nme": "x"}).unwrap_err());
    assert_eq!(unknown, "the statement has no parameter named :nme");
    let sigil = sql_error(c.execute("INSERT INTO t VALUES (:id, NULL)", named_params! {"@id": 1}).unwrap_err());
    assert_eq!(sigil, "the statement has no parameter named @id");
    let sigil = sql_error(c.query("SELECT :id", named_params! {"@id": 1}).err().unwrap());
    assert_eq!(sigil, "the statement has no parameter named @id");
    let positional = sql_error(c.execute("INSERT INTO t VALUES (?, :name)", named_params! {"name": 1}).unwrap_err());
    assert!(positional.starts_with("parameter 1 is positional (?)"), "{positional}");
    let twice = sql_error(c.execute("INSERT INTO t VALUES (:id, 0)", named_params! {":id": 1, ":id": 2}).unwrap_err());
    assert_eq!(twice, "parameter :id is given twice");
    assert_eq!(c.query_one::<i64>("SELECT count(*) FROM t", ()).unwrap(), 0);

    // In a script, a name must be used by some statement, and is checked before any runs.
    let n = c
        .execute(
            "INSERT INTO t VALUES (:id, 'a'); INSERT INTO t VALUES (:id + 1, :name)",
            named_params! {"id": 1, "name": "b"},
        )
        .unwrap();
    assert_eq!(n, 1);
    let e = c
        .execute("INSERT INTO t VALUES (:id, 'c'); INSERT INTO t VALUES (:id, 'd')", named_params! {"id": 5, "nope": 0})
        .unwrap_err();
    assert_eq!(sql_error(e), "the statement has no parameter named nope");
    assert_eq!(c.query_one::<i64>("SELECT count(*) FROM t", ()).unwrap(), 2, "the script did not start");
}

// -------------------------------------------------------------------------------------------
// Query shortcuts

#[test]
fn query_row_one_and_map() {
    let mut c = conn_with("CREATE TABLE t(a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, NULL)");
    assert_eq!(c.query_row("SELECT b FROM t ORDER BY a", (), |r| r.get::<String>(0)).unwrap(), "x");
    let e = c.query_row("SELECT a FROM t WHERE a > ?", (9,), |r| r.get::<i64>(0)).unwrap_err();
    assert_eq!(e, Error::QueryReturnedNoRows("SELECT a FROM t WHERE a > ?".into()));
    assert_eq!(e.to_string(), "query returned no rows: SELECT a FROM t WHERE a > ?");
    assert_eq!(e.code(), "NO_ROWS");
    // The closure's error comes back as is.
    let e = c.query_row("SELECT b FROM t WHERE a = 3", (), |r| r.get::<String>(0)).unwrap_err();
    assert!(matches!(e, Error::Conversion { .. }));

    assert_eq!(c.query_one::<Option<String>>("SELECT b FROM t WHERE a = 3", ()).unwrap(), None);
    assert!(matches!(c.query_one::<i64>("SELECT a FROM t WHERE a = 0", ()), Err(Error::QueryReturnedNoRows(_))));
    let many = sql_error(c.query_one::<i64>("SELECT a FROM t", ()).unwrap_err());
    assert!(many.contains("more than one row"), "{many}");
    let wide = conversion_error(c.query_one::<i64>("SELECT a, b FROM t WHERE a = 1", ()).unwrap_err());
    assert_eq!(wide, ("row".into(), "the row has 2 columns, a single value takes 1".into()));
    assert!(c.query_one::<(i64, String, i64)>("SELECT a, b FROM t WHERE a = 1", ()).is_err());
    assert_eq!(c.query_one::<(i64, String)>("SELECT a, b FROM t WHERE a = 1", ()).unwrap(), (1, "x".into()));
    assert_eq!(c.query_one::<Vec<Value>>("SELECT a, b FROM t WHERE a = 2", ()).unwrap(), [2.into(), "y".into()]);
    assert_eq!(c.query_one::<Row>("SELECT a AS n FROM t WHERE a = 2", ()).unwrap().columns(), ["n"]);

    let sums: Vec<i64> = c
        .query_map("SELECT a * 10 + length(coalesce(b, '')) FROM t ORDER BY a", (), |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(sums, [11, 21, 30]);
    // The iterator stops at the first error only if the caller does.
    let results: Vec<Result<String, Error>> =
        c.query_map("SELECT b FROM t ORDER BY a", (), |r| r.get(0)).unwrap().collect();
    assert!(results[0].is_ok() && results[1].is_ok() && results[2].is_err());

    // Prepared statements stream Rows too, and Rows::mapped.
    let stmt = c.prepare("SELECT a FROM t WHERE a >= ? ORDER BY a").unwrap();
    let v: Vec<i64> = c.query_prepared(&stmt, (2,)).unwrap().mapped(|r| r.get(0)).collect::<Result<_, _>>().unwrap();
    assert_eq!(v, [2, 3]);
}

#[test]
fn open_device_and_open_with() {
    let mut c = Connection::open_device(MemoryDevice::new(), Options::default()).unwrap();
    c.execute("CREATE TABLE t(x); INSERT INTO t VALUES (1)", ()).unwrap();
    assert_eq!(c.query_one::<i64>("SELECT x FROM t", ()).unwrap(), 1);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.db");
    {
        let mut c = Connection::open_with(&path, Options::default()).unwrap();
        c.execute("CREATE TABLE t(x TEXT)", ()).unwrap();
        let mut tx = c.transaction().unwrap();
        tx.execute("INSERT INTO t VALUES (?)", ("kept",)).unwrap();
        tx.commit().unwrap();
        let mut tx = c.transaction().unwrap();
        tx.execute("INSERT INTO t VALUES (?)", ("dropped",)).unwrap();
    }
    let mut c = Connection::open(&path).unwrap();
    let v: Vec<String> = c.query_map("SELECT x FROM t", (), |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(v, ["kept"]);
}

// -------------------------------------------------------------------------------------------
// Transactions

fn count(c: &mut Connection) -> i64 {
    c.query_one("SELECT count(*) FROM t", ()).unwrap()
}

#[test]
fn transaction_commit_and_rollback() {
    let mut c = conn_with("CREATE TABLE t(x INTEGER UNIQUE)");
    {
        let mut tx = c.transaction().unwrap();
        assert!(tx.in_transaction());
        tx.execute("INSERT INTO t VALUES (?)", (1,)).unwrap();
        let ins = tx.prepare("INSERT INTO t VALUES (?)").unwrap();
        tx.execute_prepared(&ins, (2,)).unwrap();
        // The transaction reads its own writes.
        assert_eq!(tx.query_one::<i64>("SELECT count(*) FROM t", ()).unwrap(), 2);
        // A failing statement is undone on its own; the transaction goes on.
        assert!(matches!(tx.execute("INSERT INTO t VALUES (1)", ()), Err(Error::Constraint(_))));
        assert!(tx.in_transaction());
        tx.commit().unwrap();
    }
    assert!(!c.in_transaction());
    assert_eq!(count(&mut c), 2);

    // Dropped without commit: rolled back.
    {
        let mut tx = c.transaction().unwrap();
        tx.execute("INSERT INTO t VALUES (3)", ()).unwrap();
        assert_eq!(tx.query_one::<i64>("SELECT count(*) FROM t", ()).unwrap(), 3);
    }
    assert!(!c.in_transaction());
    assert_eq!(count(&mut c), 2);

    // Explicit rollback.
    let mut tx = c.transaction().unwrap();
    tx.execute("DELETE FROM t", ()).unwrap();
    tx.rollback().unwrap();
    assert_eq!(count(&mut c), 2);

    // DDL is transactional too.
    let mut tx = c.transaction().unwrap();
    tx.execute("CREATE TABLE u(y)", ()).unwrap();
    drop(tx);
    assert!(c.query("SELECT * FROM u", ()).is_err());
}

#[test]
fn transaction_rolls_back_on_error_return_and_panic() {
    let mut c = conn_with("CREATE TABLE t(x INTEGER CHECK (x < 10))");
    fn load(c: &mut Connection, xs: &[i64]) -> tessera::Result<()> {
        let mut tx = c.transaction()?;
        for &x in xs {
            tx.execute("INSERT INTO t VALUES (?)", (x,))?;
        }
        tx.commit()
    }
    load(&mut c, &[1, 2, 3]).unwrap();
    assert!(matches!(load(&mut c, &[4, 5, 99, 6]), Err(Error::Constraint(_))));
    assert!(!c.in_transaction());
    assert_eq!(count(&mut c), 3, "4 and 5 were rolled back with the failed load");

    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut tx = c.transaction().unwrap();
        tx.execute("INSERT INTO t VALUES (7)", ()).unwrap();
        panic!("boom");
    }));
    assert!(r.is_err());
    assert!(!c.in_transaction());
    assert_eq!(count(&mut c), 3, "the panic rolled back");
}

#[test]
fn transaction_misuse() {
    let mut c = conn_with("CREATE TABLE t(x)");
    c.execute("BEGIN", ()).unwrap();
    let e = sql_error(c.transaction().err().unwrap());
    assert_eq!(e, "cannot start a transaction within a transaction");
    c.execute("ROLLBACK", ()).unwrap();

    let mut tx = c.transaction().unwrap();
    assert!(tx.transaction().is_err(), "no nested transactions");
    tx.execute("INSERT INTO t VALUES (1)", ()).unwrap();
    // Ending it with SQL is allowed; then commit() has nothing to commit and drop nothing to undo.
    tx.execute("COMMIT", ()).unwrap();
    assert!(tx.commit().is_err());
    assert_eq!(count(&mut c), 1);
    let mut tx = c.transaction().unwrap();
    tx.execute("INSERT INTO t VALUES (2)", ()).unwrap();
    tx.execute("COMMIT", ()).unwrap();
    drop(tx);
    assert_eq!(count(&mut c), 2);
}

// -------------------------------------------------------------------------------------------
// serde

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Level {
    Low,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct UserId(i64);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    id: UserId,
    name: String,
    nick: Option<String>,
    score: f64,
    ratio: f32,
    active: bool,
    avatar: Vec<u8>,
    thumb: Option<Vec<u8>>,
    small: u8,
    count: u64,
    delta: i32,
    level: Level,
    initial: char,
}

const RECORD_TABLE: &str = "CREATE TABLE rec(id INTEGER PRIMARY KEY, name TEXT NOT NULL, nick TEXT, score REAL, ratio REAL, active INTEGER, avatar BLOB, thumb BLOB, small INTEGER, count INTEGER, delta INTEGER, level TEXT, initial TEXT)";
const RECORD_INSERT: &str = "INSERT INTO rec VALUES (:id, :name, :nick, :score, :ratio, :active, :avatar, :thumb, :small, :count, :delta, :level, :initial)";

fn records() -> Vec<Record> {
    vec![
        Record {
            id: UserId(1),
            name: "Ada Lovelace".into(),
            nick: Some("ada".into()),
            score: 99.25,
            ratio: 0.5,
            active: true,
            avatar: vec![0x89, b'P', b'N', b'G', 0],
            thumb: Some(vec![1, 2, 3]),
            small: 255,
            count: i64::MAX as u64,
            delta: i32::MIN,
            level: Level::High,
            initial: 'A',
        },
        Record {
            id: UserId(2),
            name: "Ünïcødé 😀".into(),
            nick: None,
            score: -0.0,
            ratio: -1.25,
            active: false,
            avatar: Vec::new(),
            thumb: None,
            small: 0,
            count: 0,
            delta: -1,
            level: Level::Low,
            initial: 'é',
        },
    ]
}

#[test]
fn serde_struct_round_trip() {
    let mut c = conn_with(RECORD_TABLE);
    for r in records() {
        c.execute(RECORD_INSERT, Serde(&r)).unwrap();
    }
    // Stored with the SQL types one expects.
    let types: Vec<String> = c
        .query_map(
            "SELECT typeof(id)||typeof(name)||typeof(nick)||typeof(score)||typeof(active)||typeof(avatar)||typeof(thumb)||typeof(level) FROM rec ORDER BY id",
            (),
            |r| r.get(0),
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(types, ["integertexttextrealintegerblobblobtext", "integertextnullrealintegerblobnulltext"]);

    let back: Vec<Record> = c.query_as("SELECT * FROM rec ORDER BY id", ()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(back, records());
    // Through Rows::deserialize and from_row as well, with the columns in another order.
    let back: Vec<Record> = c
        .query("SELECT initial, level, delta, count, small, thumb, avatar, active, ratio, score, nick, name, id FROM rec ORDER BY id", ())
        .unwrap()
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, records());
    let one: Record = c.query_row("SELECT * FROM rec WHERE id = ?", (2,), |r| from_row(r)).unwrap();
    assert_eq!(one, records()[1]);
}

#[test]
fn serde_params_by_each_sigil_and_extra_fields() {
    #[derive(Serialize)]
    struct P<'a> {
        id: i64,
        name: &'a str,
        unused: bool,
    }
    let mut c = conn_with("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
    c.execute("INSERT INTO t VALUES (:id, :name)", Serde(P { id: 1, name: "colon", unused: true })).unwrap();
    c.execute("INSERT INTO t VALUES (@id, @name)", Serde(&P { id: 2, name: "at", unused: true })).unwrap();
    c.execute("INSERT INTO t VALUES ($id, $name)", Serde(P { id: 3, name: "dollar", unused: false })).unwrap();
    c.execute("UPDATE t SET name = name || '!' WHERE id = :id", Serde(P { id: 3, name: "ignored", unused: false }))
        .unwrap();
    let mut map = HashMap::new();
    map.insert("id", Value::from(4));
    map.insert("name", Value::from("map"));
    c.execute("INSERT INTO t VALUES (:id, :name)", Serde(&map)).unwrap();
    let mut sigils = BTreeMap::new();
    sigils.insert(":id", 5);
    c.execute("INSERT INTO t VALUES (:id, 'btree')", Serde(sigils)).unwrap();
    let names: Vec<String> =
        c.query_map("SELECT name FROM t ORDER BY id", (), |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(names, ["colon", "at", "dollar!", "map", "btree"]);
    // A parameter with no field is an error naming it, and nothing runs.
    let e = c.execute("INSERT INTO t VALUES (:id, :title)", Serde(P { id: 9, name: "x", unused: true })).unwrap_err();
    assert_eq!(sql_error(e), "missing value for parameter :title");
    assert_eq!(c.query_one::<i64>("SELECT count(*) FROM t", ()).unwrap(), 5);
}

#[test]
fn serde_params_errors() {
    #[derive(Serialize)]
    struct Inner {
        x: i64,
    }
    #[derive(Serialize)]
    struct Nested {
        id: i64,
        inner: Inner,
    }
    #[derive(Serialize)]
    struct Tags {
        tags: Vec<i32>,
    }
    #[derive(Serialize)]
    struct Big {
        n: u64,
    }
    #[derive(Serialize)]
    enum Shape {
        Circle { r: f64 },
    }
    #[derive(Serialize)]
    struct WithEnum {
        shape: Shape,
    }
    #[derive(Serialize)]
    struct WithMap {
        m: BTreeMap<String, i64>,
    }
    let mut c = Connection::memory();
    let e = c.query("SELECT :id, :inner", Serde(Nested { id: 1, inner: Inner { x: 2 } })).err().unwrap();
    let (place, message) = conversion_error(e);
    assert_eq!(place, "field \"inner\"");
    assert!(message.starts_with("a nested struct (Inner) has no SQL value"), "{message}");
    let (place, message) = conversion_error(c.query("SELECT :tags", Serde(Tags { tags: vec![1, 2] })).err().unwrap());
    assert_eq!(place, "field \"tags\"");
    assert!(message.contains("sequence of anything but u8"), "{message}");
    let (place, message) = conversion_error(c.query("SELECT :n", Serde(Big { n: u64::MAX })).err().unwrap());
    assert_eq!(place, "field \"n\"");
    assert!(message.contains("out of range"), "{message}");
    let e = c.query("SELECT :shape", Serde(WithEnum { shape: Shape::Circle { r: 1.0 } })).err().unwrap();
    assert_eq!(conversion_error(e).0, "field \"shape\"");
    let e = c.query("SELECT :m", Serde(WithMap { m: BTreeMap::new() })).err().unwrap();
    assert_eq!(conversion_error(e).0, "field \"m\"");
    // Not a struct, map, tuple or sequence.
    let (place, message) = conversion_error(c.query("SELECT 1", Serde(5)).err().unwrap());
    assert_eq!(place, "parameters");
    assert!(message.starts_with("an integer cannot be parameters"), "{message}");
    let mut int_keys = BTreeMap::new();
    int_keys.insert(1, 2);
    assert!(matches!(c.query("SELECT :a", Serde(int_keys)), Err(Error::Conversion { .. })));
    // Positional by a sequence, with its count checked.
    assert_eq!(c.query_one::<i64>("SELECT ? + ?", Serde([1, 2])).unwrap(), 3);
    assert!(c.query("SELECT ? + ?", Serde([1, 2, 3])).is_err());
    assert_eq!(c.query_one::<Option<i64>>("SELECT ?", Serde((None::<i64>,))).unwrap(), None);
    assert_eq!(c.query_one::<i64>("SELECT 1", Serde(())).unwrap(), 1);
}

#[test]
fn serde_rows_into_types() {
    let mut c = conn_with(
        "CREATE TABLE t(id INTEGER, Name TEXT, flag INTEGER, amount INTEGER, note TEXT); INSERT INTO t VALUES (1, 'a', 0, 5, NULL), (2, 'b', 7, -3, 'n')",
    );
    #[derive(Debug, PartialEq, Deserialize)]
    struct T {
        id: i64,
        name: String,
        flag: bool,
        amount: f64,
        note: Option<String>,
    }
    let v: Vec<T> = c.query_as("SELECT * FROM t ORDER BY id", ()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        v,
        [
            T { id: 1, name: "a".into(), flag: false, amount: 5.0, note: None },
            T { id: 2, name: "b".into(), flag: true, amount: -3.0, note: Some("n".into()) },
        ]
    );

    // Tuples and sequences by position; single values from one-column rows.
    let pairs: Vec<(i64, Option<String>)> =
        c.query_as("SELECT id, note FROM t ORDER BY id", ()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(pairs, [(1, None), (2, Some("n".into()))]);
    let vecs: Vec<Vec<i64>> =
        c.query_as("SELECT id, amount FROM t ORDER BY id", ()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(vecs, [[1, 5], [2, -3]]);
    let ids: Vec<u32> = c.query_as("SELECT id FROM t ORDER BY id", ()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(ids, [1, 2]);
    let notes: Vec<Option<String>> =
        c.query_as("SELECT note FROM t ORDER BY id", ()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(notes, [None, Some("n".into())]);
    let wrapped: Vec<UserId> =
        c.query_as("SELECT id FROM t ORDER BY id", ()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(wrapped, [UserId(1), UserId(2)]);
    let maps: Vec<BTreeMap<String, Option<String>>> =
        c.query_as("SELECT Name, note FROM t ORDER BY id", ()).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(maps[1].get("Name"), Some(&Some("b".into())));
    assert_eq!(maps[0].get("note"), Some(&None));

    // Serde attributes work: rename, default, skip.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Renamed {
        #[serde(rename = "id")]
        key: i64,
        #[serde(default)]
        missing: Option<i64>,
        #[serde(skip)]
        skipped: u8,
    }
    let r: Renamed = c.query_row("SELECT id FROM t WHERE id = 2", (), |r| from_row(r)).unwrap();
    assert_eq!(r, Renamed { key: 2, missing: None, skipped: 0 });
}

#[test]
fn serde_row_errors_name_the_column() {
    let mut c = Connection::memory();
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct N {
        n: i64,
    }
    let e = c.query_as::<N>("SELECT 'text' AS n", ()).unwrap().next().unwrap().unwrap_err();
    let (place, message) = conversion_error(e);
    assert_eq!(place, "column 0 (\"n\")");
    assert_eq!(message, "invalid type: string \"text\", expected i64");
    let e = c.query_as::<N>("SELECT NULL AS n", ()).unwrap().next().unwrap().unwrap_err();
    assert_eq!(conversion_error(e), ("column 0 (\"n\")".into(), "expected i64, found null".into()));
    let e = c.query_as::<N>("SELECT 1.5 AS n", ()).unwrap().next().unwrap().unwrap_err();
    assert_eq!(conversion_error(e).1, "invalid type: floating point `1.5`, expected i64");
    let e = c.query_as::<N>("SELECT 1 AS m", ()).unwrap().next().unwrap().unwrap_err();
    assert_eq!(conversion_error(e).1, "missing field `n`");
    let e = c.query_as::<u8>("SELECT 300", ()).unwrap().next().unwrap().unwrap_err();
    assert_eq!(conversion_error(e), ("column 0 (\"300\")".into(), "invalid value: integer `300`, expected u8".into()));
    let e = c.query_as::<bool>("SELECT 'yes'", ()).unwrap().next().unwrap().unwrap_err();
    assert!(conversion_error(e).1.contains("expected a boolean"));
    let e = c.query_as::<Level>("SELECT 'Medium'", ()).unwrap().next().unwrap().unwrap_err();
    assert!(conversion_error(e).1.contains("unknown variant `Medium`"));
    let e = c.query_as::<(Vec<u8>,)>("SELECT 5", ()).unwrap().next().unwrap().unwrap_err();
    assert_eq!(
        conversion_error(e),
        ("column 0 (\"5\")".into(), "invalid type: integer `5`, expected a sequence".into())
    );
    // A one-column row is a sequence of one value, unless that value is a BLOB (its bytes).
    assert_eq!(c.query_as::<Vec<u8>>("SELECT 5", ()).unwrap().next().unwrap().unwrap(), [5]);
    assert_eq!(c.query_as::<Vec<u8>>("SELECT x'0102'", ()).unwrap().next().unwrap().unwrap(), [1, 2]);
    // Shape mismatches.
    let e = c.query_as::<(i64, i64)>("SELECT 1, 2, 3", ()).unwrap().next().unwrap().unwrap_err();
    assert_eq!(conversion_error(e), ("row".into(), "the row has 3 columns, a tuple of 2 takes 2".into()));
    let e = c.query_as::<i64>("SELECT 1, 2", ()).unwrap().next().unwrap().unwrap_err();
    assert_eq!(conversion_error(e), ("row".into(), "the row has 2 columns, an integer takes 1".into()));
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        a: i64,
    }
    let e = c.query_as::<Strict>("SELECT 1 AS a, 2 AS b", ()).unwrap().next().unwrap().unwrap_err();
    assert!(conversion_error(e).1.contains("unknown field `b`"));
}

#[test]
fn serde_borrowing_from_a_row() {
    #[derive(Deserialize)]
    struct Borrowed<'a> {
        s: &'a str,
        b: &'a [u8],
    }
    let mut c = Connection::memory();
    let row = c.query("SELECT 'hello' AS s, x'0102' AS b", ()).unwrap().next().unwrap().unwrap();
    let v: Borrowed = from_row(&row).unwrap();
    assert_eq!((v.s, v.b), ("hello", &[1u8, 2][..]));
}

#[test]
fn serde_bindings_shape() {
    #[derive(Serialize)]
    struct S {
        a: Option<i32>,
        b: (),
    }
    let b = to_params(&S { a: None, b: () }).unwrap();
    assert!(b.is_named());
    let mut c = Connection::memory();
    assert_eq!(c.query_one::<(Option<i64>, Option<i64>)>("SELECT :a, :b", &b).unwrap(), (None, None));
    assert!(!to_params(&[1, 2]).unwrap().is_named());
}

#[test]
fn serde_value_maps() {
    let mut c = conn_with("CREATE TABLE t(a, b, c, d, e)");
    let mut row = HashMap::new();
    row.insert("a".to_string(), Value::Null);
    row.insert("b".to_string(), Value::Integer(-5));
    row.insert("c".to_string(), Value::Real(0.5));
    row.insert("d".to_string(), Value::from("ü"));
    row.insert("e".to_string(), Value::Blob(vec![9]));
    c.execute("INSERT INTO t VALUES (:a, :b, :c, :d, :e)", Serde(&row)).unwrap();
    let back: HashMap<String, Value> = c.query_row("SELECT * FROM t", (), |r| from_row(r)).unwrap();
    assert_eq!(back, row);
    let types: String = c.query_one("SELECT typeof(a)||typeof(b)||typeof(c)||typeof(d)||typeof(e) FROM t", ()).unwrap();
    assert_eq!(types, "nullintegerrealtextblob");
    let values: Vec<Value> = c.query_row("SELECT * FROM t", (), |r| from_row(r)).unwrap();
    assert_eq!(values, [Value::Null, Value::Integer(-5), Value::Real(0.5), Value::from("ü"), Value::Blob(vec![9])]);
}

#[test]
fn serde_flatten_both_ways() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Audit {
        created: i64,
        by: Option<String>,
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Doc {
        id: i64,
        #[serde(flatten)]
        audit: Audit,
    }
    let mut c = conn_with("CREATE TABLE d(id INTEGER PRIMARY KEY, created INTEGER, by TEXT)");
    let doc = Doc { id: 1, audit: Audit { created: 1700000000, by: Some("ada".into()) } };
    c.execute("INSERT INTO d VALUES (:id, :created, :by)", Serde(&doc)).unwrap();
    let back: Doc = c.query_row("SELECT * FROM d", (), |r| from_row(r)).unwrap();
    assert_eq!(back, doc);
}
