//! Multi-byte text through the SQL layer: identifiers, literals and string functions with
//! characters of two, three and four bytes (é, 中, emoji) must never panic, and where SQLite
//! defines the result, Tessera must return the same (compared with rusqlite, bundled).

use tessera::sql::{Connection, Row, Value};

/// The reserved-name check (`sqlite_` prefix) sliced the name at byte 7, inside `é`.
#[test]
fn reserved_prefix_check_on_multibyte_names() {
    let mut c = Connection::memory();
    for name in ["sqliteé", "sqlit中", "sqli😀", "sqlite_é"] {
        let create = format!("CREATE TABLE \"{name}\"(x)");
        let got = c.execute(&create, ());
        if name.starts_with("sqlite_") {
            assert!(got.is_err(), "{create} must be refused");
        } else {
            got.unwrap_or_else(|e| panic!("{create}: {e}"));
            let index = format!("CREATE INDEX \"{name}_i\" ON \"{name}\"(x)");
            c.execute(&index, ()).unwrap_or_else(|e| panic!("{index}: {e}"));
        }
    }
    c.execute("CREATE TABLE sqliteé(x)", ()).unwrap_err(); // exists already, no panic
    let rows: Vec<Vec<Value>> = c
        .query("SELECT x FROM sqliteé", ())
        .unwrap()
        .map(|r| r.map(Row::into_values))
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(rows.is_empty());
}
