//! `.import [--skip N] FILE TABLE`: load a CSV file into a table.
//!
//! The file is parsed as RFC 4180 CSV: fields separated by `,`, records by LF or CRLF, a field
//! in double quotes may hold `,`, line breaks and `""` (one `"`). A UTF-8 byte order mark is
//! skipped, and so are empty lines. Every record must have as many fields as the table has
//! columns; otherwise, or if the file does not parse, nothing is inserted and the error names
//! the line.
//!
//! A missing table is created with `TEXT` columns named by the first record (as `sqlite3`
//! does); into an existing table every record is data (`--skip 1` drops a header line). Rows
//! are inserted by one prepared statement in one transaction (or in the open transaction, if
//! there is one), each field bound as TEXT, so the columns' affinity applies.

use super::schema::quote_ident;
use super::{Failure, NO_PARAMS};
use tessera::sql::{Connection, Value};

/// One CSV record and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// The arguments of `.import`.
struct Args<'a> {
    file: &'a str,
    table: &'a str,
    skip: usize,
}

fn parse_args<'a>(args: &[&'a str]) -> Result<Args<'a>, Failure> {
    const USAGE: &str = "usage: .import [--skip N] FILE TABLE";
    let mut skip = 0;
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(&a) = it.next() {
        match a {
            "--skip" => {
                let n = it.next().ok_or_else(|| Failure::msg(USAGE))?;
                skip = n.parse().map_err(|_| Failure::msg(format!("--skip expects a number, not {n:?}")))?;
            }
            "--csv" => {}
            _ if a.starts_with("--") => return Err(Failure::msg(format!("unknown option {a}; {USAGE}"))),
            _ => positional.push(a),
        }
    }
    match positional[..] {
        [file, table] => Ok(Args { file, table, skip }),
        _ => Err(Failure::msg(USAGE)),
    }
}

/// Run `.import` with its arguments.
pub fn import(conn: &mut Connection, args: &[&str]) -> Result<(), Failure> {
    let a = parse_args(args)?;
    let bytes = std::fs::read(a.file).map_err(|e| Failure::msg(format!("cannot read {}: {e}", a.file)))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        Failure::msg(format!("{} line {line}: not valid UTF-8", a.file))
    })?;
    let mut records = parse_csv(&text).map_err(|(line, why)| Failure::msg(format!("{} line {line}: {why}", a.file)))?;
    records.drain(..a.skip.min(records.len()));

    let table = quote_ident(a.table);
    let existing = conn.query(&format!("SELECT * FROM {table} LIMIT 0"), NO_PARAMS).map(|r| r.columns().len());
    let (create, width) = match existing {
        Ok(width) => (None, width),
        Err(_) => {
            if records.is_empty() {
                return Err(Failure::msg(format!("{}: no header line to name the columns of {}", a.file, a.table)));
            }
            let header = records.remove(0);
            (Some(create_sql(&table, &header.fields)), header.fields.len())
        }
    };
    if let Some(bad) = records.iter().find(|r| r.fields.len() != width) {
        return Err(Failure::msg(format!(
            "{} line {}: expected {width} field{} but found {}; nothing was imported",
            a.file,
            bad.line,
            if width == 1 { "" } else { "s" },
            bad.fields.len()
        )));
    }
    in_transaction(conn, |conn| {
        if let Some(sql) = &create {
            conn.execute(sql, NO_PARAMS)?;
        }
        insert(conn, &table, width, &records, a.file)
    })
}

/// `CREATE TABLE` with TEXT columns named by the header (blank names become `cN`, repeated
/// ones get a `_N` suffix).
fn create_sql(table: &str, header: &[String]) -> String {
    let mut names: Vec<String> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let base = if h.trim().is_empty() { format!("c{}", i + 1) } else { h.clone() };
        let mut name = base.clone();
        let mut n = 2;
        while names.iter().any(|x| x.eq_ignore_ascii_case(&name)) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    let cols: Vec<String> = names.iter().map(|n| format!("{} TEXT", quote_ident(n))).collect();
    format!("CREATE TABLE {table}({})", cols.join(", "))
}

fn insert(conn: &mut Connection, table: &str, width: usize, records: &[Record], file: &str) -> Result<(), Failure> {
    let marks = vec!["?"; width].join(",");
    let stmt = conn.prepare(&format!("INSERT INTO {table} VALUES({marks})"))?;
    let mut values: Vec<Value> = Vec::with_capacity(width);
    for r in records {
        values.clear();
        values.extend(r.fields.iter().map(|f| Value::Text(f.into())));
        conn.execute_prepared(&stmt, &values[..])
            .map_err(|e| Failure::msg(format!("{file} line {}: {e}; nothing was imported", r.line)))?;
    }
    Ok(())
}

/// Run `f` in a transaction of its own (rolled back if it fails), or in the open one.
fn in_transaction(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<(), Failure>,
) -> Result<(), Failure> {
    if conn.in_transaction() {
        return f(conn);
    }
    conn.execute("BEGIN", NO_PARAMS)?;
    match f(conn) {
        Ok(()) => Ok(conn.execute("COMMIT", NO_PARAMS).map(|_| ())?),
        Err(e) => {
            let _ = conn.execute("ROLLBACK", NO_PARAMS);
            Err(e)
        }
    }
}

/// Parse CSV text into records. Errors carry the line they are on.
pub fn parse_csv(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut c = Cursor { chars: text.chars().peekable(), line: 1 };
    let mut records = Vec::new();
    while c.chars.peek().is_some() {
        if c.eat_line_end() {
            continue; // an empty line
        }
        let line = c.line;
        let mut fields = vec![c.field()?];
        while c.chars.peek() == Some(&',') {
            c.chars.next();
            fields.push(c.field()?);
        }
        c.eat_line_end();
        records.push(Record { line, fields });
    }
    Ok(records)
}

/// Where the CSV parser is.
struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

impl Cursor<'_> {
    /// Whether a LF or CRLF comes next.
    fn at_line_end(&self) -> bool {
        let mut ahead = self.chars.clone();
        match ahead.next() {
            Some('\n') => true,
            Some('\r') => ahead.next() == Some('\n'),
            _ => false,
        }
    }

    /// Consume a line end if one comes next.
    fn eat_line_end(&mut self) -> bool {
        if !self.at_line_end() {
            return false;
        }
        if self.chars.next() == Some('\r') {
            self.chars.next();
        }
        self.line += 1;
        true
    }

    /// One field, up to (not including) the `,` or line end after it.
    fn field(&mut self) -> Result<String, (usize, String)> {
        let mut field = String::new();
        if self.chars.peek() != Some(&'"') {
            while !(matches!(self.chars.peek(), None | Some(',')) || self.at_line_end()) {
                field.extend(self.chars.next());
            }
            return Ok(field);
        }
        let start = self.line;
        self.chars.next();
        loop {
            match self.chars.next() {
                None => return Err((start, "unterminated quoted field (a closing \" is missing)".into())),
                Some('"') if self.chars.peek() == Some(&'"') => {
                    self.chars.next();
                    field.push('"');
                }
                Some('"') => break,
                Some(ch) => {
                    self.line += usize::from(ch == '\n');
                    field.push(ch);
                }
            }
        }
        if matches!(self.chars.peek(), None | Some(',')) || self.at_line_end() {
            Ok(field)
        } else {
            Err((self.line, "a quoted field must be followed by a comma or a line end".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(line: usize, fields: &[&str]) -> Record {
        Record { line, fields: fields.iter().map(|f| f.to_string()).collect() }
    }

    #[test]
    fn rfc4180_records() {
        assert_eq!(
            parse_csv("\u{feff}a,b\r\n\"x, \"\"y\"\"\",\"two\r\nlines\"\r\n\n,\"\"\nlast,\"\"").unwrap(),
            vec![rec(1, &["a", "b"]), rec(2, &["x, \"y\"", "two\r\nlines"]), rec(5, &["", ""]), rec(6, &["last", ""])]
        );
        assert_eq!(parse_csv("a\rb,c\n").unwrap(), vec![rec(1, &["a\rb", "c"])]);
        assert_eq!(parse_csv("").unwrap(), vec![]);
    }

    #[test]
    fn malformed_csv() {
        assert_eq!(parse_csv("a,b\n\"open,c\nd\n").unwrap_err().0, 2);
        assert_eq!(
            parse_csv("a\n\"x\"y,z\n").unwrap_err(),
            (2, "a quoted field must be followed by a comma or a line end".into())
        );
    }
}
