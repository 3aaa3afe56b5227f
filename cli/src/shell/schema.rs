//! The schema dot-commands — `.tables`, `.indexes`, `.schema` and `.dump` — and the SQL text
//! they need: identifier quoting, LIKE-style name patterns and value literals that read back
//! as exactly the same value.
//!
//! The schema comes from [`Connection::schema_objects`], which reads the last committed schema.
//! A table's definition there is its `CREATE TABLE` text plus the `ALTER TABLE` texts run on
//! it since; `.schema` and `.dump` print them all, in order, so replaying a dump rebuilds the
//! current columns before the rows are inserted.

use std::io::Write;

use super::{Failure, NO_PARAMS};
use tessera::sql::{Connection, ObjectKind, SchemaObject, Value};

/// `.tables [PATTERN]`: table and view names, sorted, one per line.
pub fn tables(conn: &Connection, out: &mut dyn Write, pattern: Option<&str>) -> Result<(), Failure> {
    // As SQLite's shell: SQLite's own tables (sqlite_stat1) are not listed.
    let own = |n: &str| n.as_bytes().get(..7).is_some_and(|p| p.eq_ignore_ascii_case(b"sqlite_"));
    names(conn, out, |o| o.kind != ObjectKind::Index && !own(&o.name) && matches(pattern, &o.name))
}

/// `.indexes [TABLE-PATTERN]`: index names (automatic ones included), sorted.
pub fn indexes(conn: &Connection, out: &mut dyn Write, pattern: Option<&str>) -> Result<(), Failure> {
    names(conn, out, |o| o.kind == ObjectKind::Index && matches(pattern, &o.table))
}

/// The names of the schema objects `keep` accepts, sorted, one per line.
fn names(conn: &Connection, out: &mut dyn Write, keep: impl Fn(&SchemaObject) -> bool) -> Result<(), Failure> {
    let mut names: Vec<String> = conn.schema_objects()?.into_iter().filter(|o| keep(o)).map(|o| o.name).collect();
    names.sort();
    for n in names {
        writeln!(out, "{n}")?;
    }
    Ok(())
}

/// `.schema [PATTERN]`: the statements defining the objects whose table matches `pattern`
/// (a table's indexes come with it), each ended by `;`.
pub fn schema(conn: &Connection, out: &mut dyn Write, pattern: Option<&str>) -> Result<(), Failure> {
    for o in conn.schema_objects()?.iter().filter(|o| matches(pattern, &o.table)) {
        write_sql(out, o)?;
    }
    Ok(())
}

/// `.dump [PATTERN]`: SQL text that recreates the tables matching `pattern` (all by default)
/// with their rows, their indexes, and the views matching `pattern`, in one transaction.
pub fn dump(conn: &mut Connection, out: &mut dyn Write, pattern: Option<&str>) -> Result<(), Failure> {
    if conn.in_transaction() {
        return Err(Failure::msg("cannot dump inside an open transaction: COMMIT or ROLLBACK first"));
    }
    let objects: Vec<SchemaObject> =
        conn.schema_objects()?.into_iter().filter(|o| matches(pattern, &o.table)).collect();
    writeln!(out, "BEGIN TRANSACTION;")?;
    for t in objects.iter().filter(|o| o.kind == ObjectKind::Table) {
        if t.name.eq_ignore_ascii_case("sqlite_stat1") {
            // The statistics table cannot be created by name: ANALYZE of the schema makes it
            // (empty), then its rows follow, as SQLite's shell writes it.
            writeln!(out, "ANALYZE sqlite_schema;")?;
        } else {
            write_sql(out, t)?;
        }
        dump_rows(conn, out, &t.name)?;
    }
    for o in objects.iter().filter(|o| o.kind != ObjectKind::Table) {
        write_sql(out, o)?;
    }
    writeln!(out, "COMMIT;")?;
    Ok(())
}

fn write_sql(out: &mut dyn Write, o: &SchemaObject) -> Result<(), Failure> {
    for s in &o.sql {
        writeln!(out, "{s};")?;
    }
    Ok(())
}

fn dump_rows(conn: &mut Connection, out: &mut dyn Write, table: &str) -> Result<(), Failure> {
    let name = quote_ident(table);
    for row in conn.query(&format!("SELECT * FROM {name}"), NO_PARAMS)? {
        let row = row?;
        let values: Vec<String> = row.iter().map(literal).collect();
        writeln!(out, "INSERT INTO {name} VALUES({});", values.join(","))?;
    }
    Ok(())
}

/// An identifier in double quotes (always quoted: never mistaken for a keyword).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL literal that reads back as exactly `v`: REALs in the shortest text that parses to the
/// same bits, always with a `.` or an exponent (`1.0`, `0.1`, `1e300`, `-0.0`; infinities as
/// `1e999`), text in single quotes with `'` doubled (newlines kept as they are), BLOBs as
/// `X'..'`.
pub fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) if r.is_infinite() => if *r > 0.0 { "1e999" } else { "-1e999" }.into(),
        Value::Real(r) => {
            let s = format!("{r:?}");
            if s.contains(['.', 'e', 'E']) {
                s
            } else {
                s + ".0"
            }
        }
        Value::Text(s) => match s.as_str() {
            Some(s) => format!("'{}'", s.replace('\'', "''")),
            // Bytes that are not UTF-8 (SQL made them from a blob) reload exactly this way.
            None => format!("CAST(X'{}' AS TEXT)", super::output::hex(s.as_bytes())),
        },
        Value::Blob(b) => format!("X'{}'", super::output::hex(b)),
    }
}

/// Whether `name` matches the LIKE pattern (`%` any run, `_` one character, ASCII letters
/// case-insensitive); no pattern matches everything.
pub fn matches(pattern: Option<&str>, name: &str) -> bool {
    let Some(p) = pattern else { return true };
    let p: Vec<char> = p.chars().map(|c| c.to_ascii_lowercase()).collect();
    let n: Vec<char> = name.chars().map(|c| c.to_ascii_lowercase()).collect();
    like(&p, &n)
}

fn like(p: &[char], n: &[char]) -> bool {
    // Iterative matching with backtracking to the last `%`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('%') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '_' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '%')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_read_back_exactly() {
        assert_eq!(literal(&Value::Real(1.0)), "1.0");
        assert_eq!(literal(&Value::Real(0.1)), "0.1");
        assert_eq!(literal(&Value::Real(1e300)), "1e300");
        assert_eq!(literal(&Value::Real(-0.0)), "-0.0");
        assert_eq!(literal(&Value::Real(f64::NEG_INFINITY)), "-1e999");
        assert_eq!(literal(&Value::from("it's\nok")), "'it''s\nok'");
        assert_eq!(literal(&Value::Blob(vec![0, 0xab])), "X'00AB'");
        assert_eq!(literal(&Value::Integer(i64::MIN)), "-9223372036854775808");
        for r in [0.1, 1.0 / 3.0, 1e300, 5e-324, f64::MAX, -2.5e-7, 123456789.125] {
            assert_eq!(literal(&Value::Real(r)).parse::<f64>().unwrap().to_bits(), r.to_bits());
        }
    }

    #[test]
    fn like_patterns() {
        assert!(matches(None, "x"));
        assert!(matches(Some("T%"), "table1"));
        assert!(matches(Some("%1"), "table1"));
        assert!(matches(Some("t_b%e_"), "tableX"));
        assert!(!matches(Some("t_"), "tab"));
        assert!(matches(Some("%a%a%"), "banana"));
        assert!(!matches(Some("%x%"), "banana"));
    }
}
