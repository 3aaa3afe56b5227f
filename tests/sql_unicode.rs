//! Multi-byte text through the SQL layer: identifiers, literals and string functions with
//! characters of two, three and four bytes (é, 中, emoji) must never panic, and where SQLite
//! defines the result, Tessera must return the same (compared with rusqlite, bundled, as
//! `sql_diff.rs` does for the rest of the language).
//!
//! The generated test builds, per case, a table and an index with random multi-byte names,
//! fills it with random multi-byte strings, renames tables and columns, and runs queries
//! that put the strings through LIKE / GLOB patterns, substr, instr, trim, replace, upper,
//! lower, length, hex, unicode, quote, printf, comparisons (index ranges), ORDER BY and
//! GROUP BY. Both engines must succeed or fail together and return the same rows.
//!
//! `TESSERA_TEST_SCALE` scales the number of cases.

mod common;

use common::{from_sqlite, scaled, Rng};
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

/// Pieces of generated text: ASCII, two-, three- and four-byte characters, and the
/// characters SQL treats specially (quotes, LIKE and GLOB wildcards, spaces).
const PIECES: &[&str] =
    &["a", "B", "z", "é", "É", "ß", "中", "文", "😀", "🎉", "_", "%", "*", "?", "[", " ", "'", "\"", "0"];

fn text(rng: &mut Rng, max: u64) -> String {
    (0..rng.below(max + 1)).map(|_| PIECES[rng.below(PIECES.len() as u64) as usize]).collect()
}

/// A name with at least one character, quoted as an SQL identifier.
fn ident(rng: &mut Rng) -> String {
    let name = format!("{}{}", PIECES[rng.below(10) as usize], text(rng, 4));
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

type Outcome = Result<Vec<Vec<Value>>, String>;

fn run_tessera(c: &mut Connection, sql: &str) -> Outcome {
    let rows = c.query(sql, ()).map_err(|e| e.to_string())?;
    rows.map(|r| r.map(Row::into_values)).collect::<Result<_, _>>().map_err(|e| e.to_string())
}

fn run_sqlite(c: &rusqlite::Connection, sql: &str) -> Outcome {
    let mut st = c.prepare(sql).map_err(|e| e.to_string())?;
    let n = st.column_count();
    let mut rows = st.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| e.to_string())? {
        out.push((0..n).map(|i| from_sqlite(r.get_ref(i).unwrap())).collect());
    }
    Ok(out)
}

/// Values compared exactly (reals by bits; none are generated, but `avg`-like results
/// would be exact here anyway).
fn same(a: &[Vec<Value>], b: &[Vec<Value>], ordered: bool) -> bool {
    let key = |rows: &[Vec<Value>]| {
        let mut v: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
        if !ordered {
            v.sort();
        }
        v
    };
    key(a) == key(b)
}

#[test]
fn generated_multibyte_text_matches_sqlite() {
    let cases = scaled(40);
    let mut failures = Vec::new();
    for case in 0..cases as u64 {
        let mut rng = Rng(0x756e_6963_6f64_6500 ^ case);
        let t = rusqlite::Connection::open_in_memory().unwrap();
        let mut c = Connection::memory();
        let (mut table, col_a, mut col_b) = (ident(&mut rng), ident(&mut rng), ident(&mut rng));
        if col_a == col_b {
            continue;
        }
        let mut statements = vec![
            format!("CREATE TABLE {table}({col_a} TEXT, {col_b}, n INTEGER)"),
            format!("CREATE INDEX {} ON {table}({col_a})", ident(&mut rng)),
        ];
        for n in 0..12 {
            statements.push(format!(
                "INSERT INTO {table} VALUES ({}, {}, {n})",
                literal(&text(&mut rng, 6)),
                literal(&text(&mut rng, 3))
            ));
        }
        for _ in 0..40 {
            let (x, y) = (literal(&text(&mut rng, 2)), literal(&text(&mut rng, 2)));
            let (i, j) = (rng.below(9) as i64 - 4, rng.below(6) as i64 - 1);
            let sql = match rng.below(16) {
                0 => format!("SELECT n, substr({col_a}, {i}, {j}), substr({col_b}, {i}) FROM {table}"),
                1 => format!("SELECT n, instr({col_a}, {x}), length({col_a}), length({col_b}) FROM {table}"),
                2 => format!("SELECT n, trim({col_a}, {x}), ltrim({col_a}, {x}), rtrim({col_b}, {y}) FROM {table}"),
                3 => format!("SELECT n, replace({col_a}, {x}, {y}), upper({col_a}), lower({col_b}) FROM {table}"),
                4 => {
                    format!("SELECT n FROM {table} WHERE {col_a} LIKE {}", literal(&format!("{}%", text(&mut rng, 2))))
                }
                5 => format!("SELECT n FROM {table} WHERE {col_a} LIKE {x} OR {col_b} LIKE {y}"),
                6 => {
                    format!("SELECT n FROM {table} WHERE {col_a} GLOB {}", literal(&format!("{}*", text(&mut rng, 2))))
                }
                7 => format!("SELECT n, hex({col_a}), unicode({col_a}), quote({col_b}) FROM {table}"),
                8 => format!("SELECT n, printf('%5.2s|%-4s|%!.2s', {col_a}, {col_b}, {col_a}) FROM {table}"),
                9 => format!("SELECT n FROM {table} WHERE {col_a} > {x} AND {col_a} <= {y}"),
                10 => format!("SELECT {col_a}, n FROM {table} ORDER BY {col_a}, n"),
                11 => format!("SELECT {col_b} AS {}, count(*) FROM {table} GROUP BY 1", ident(&mut rng)),
                12 => format!("SELECT n, {x} || {col_a}, {col_a} = {x} COLLATE NOCASE FROM {table}"),
                13 => {
                    // (Renaming to the same name: SQLite refuses, Tessera accepts; not about text.)
                    let to = ident(&mut rng);
                    if to == table {
                        continue;
                    }
                    let sql = format!("ALTER TABLE {table} RENAME TO {to}");
                    table = to;
                    sql
                }
                14 => {
                    // (Renaming a column to its own name: SQLite accepts, Tessera refuses.)
                    let to = ident(&mut rng);
                    if to == col_a || to == col_b {
                        continue;
                    }
                    let sql = format!("ALTER TABLE {table} RENAME COLUMN {col_b} TO {to}");
                    col_b = to;
                    sql
                }
                _ => format!("UPDATE {table} SET {col_b} = {x} || substr({col_a}, 2) WHERE n % 3 = {}", rng.below(3)),
            };
            statements.push(sql);
        }
        for sql in &statements {
            let ordered = sql.contains("ORDER BY");
            let got = run_tessera(&mut c, sql);
            let want = if sql.starts_with("SELECT") {
                run_sqlite(&t, sql)
            } else {
                t.execute_batch(sql).map(|_| Vec::new()).map_err(|e| e.to_string())
            };
            let agree = match (&got, &want) {
                (Ok(g), Ok(w)) => same(g, w, ordered),
                (Err(_), Err(_)) => true,
                _ => false,
            };
            if !agree {
                failures.push(format!("case {case}: {sql}\n  tessera: {got:?}\n  sqlite:  {want:?}"));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{} of {cases} cases differ:\n{}", failures.len(), failures.join("\n"));
}
