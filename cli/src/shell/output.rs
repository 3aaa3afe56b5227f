//! Result output: the modes (`table`, `csv`, `json`, `line`, `list`), the display settings,
//! and [`Printer`], which writes one statement's rows in the chosen mode.
//!
//! Values show as SQL renders them as text: REALs as SQLite prints them (`1.0`, `0.1`,
//! `1.0e+20`), NULL as the `.nullvalue` text (empty by default), BLOBs as `X'..'` hex
//! literals (in JSON, a string of hex digits). `csv`, `json`, `line` and `list` stream rows as
//! they come; `table` needs every row to size its columns, so it collects them first. Nothing
//! is written for a statement with no rows, except `[]` in JSON.

use std::io::{self, Write};
use tessera::sql::Value;
use unicode_width::UnicodeWidthStr;

/// How rows are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Aligned columns in `+---+` borders, header on top.
    Table,
    /// RFC 4180: fields quoted when they hold `,`, `"`, CR or LF; CRLF line ends.
    Csv,
    /// An array of objects, one per row.
    Json,
    /// `column = value` lines, a blank line between rows.
    Line,
    /// Values separated by `|`.
    List,
}

impl Mode {
    /// The mode named `name`.
    pub fn parse(name: &str) -> Option<Mode> {
        Some(match name.to_ascii_lowercase().as_str() {
            "table" => Mode::Table,
            "csv" => Mode::Csv,
            "json" => Mode::Json,
            "line" => Mode::Line,
            "list" => Mode::List,
            _ => return None,
        })
    }

    /// The mode's name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Table => "table",
            Mode::Csv => "csv",
            Mode::Json => "json",
            Mode::Line => "line",
            Mode::List => "list",
        }
    }
}

/// What `.mode`, `.headers`, `.nullvalue` and `.timer` set.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    /// Header line in `csv` and `list` modes (`table` always has one).
    pub headers: bool,
    /// How NULL is shown (not in JSON, which has `null`).
    pub null: String,
    /// Print `Run Time: real S` after each statement.
    pub timer: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { mode: Mode::Table, headers: true, null: String::new(), timer: false }
    }
}

/// Writes the rows of one statement.
pub struct Printer<'a> {
    out: &'a mut dyn Write,
    settings: &'a Settings,
    columns: &'a [String],
    rows: u64,
    /// `table` mode: the cells seen so far (text, right-aligned).
    cells: Vec<Vec<(String, bool)>>,
}

impl<'a> Printer<'a> {
    pub fn new(out: &'a mut dyn Write, settings: &'a Settings, columns: &'a [String]) -> Printer<'a> {
        Printer { out, settings, columns, rows: 0, cells: Vec::new() }
    }

    /// Show one row.
    pub fn row(&mut self, row: &[Value]) -> io::Result<()> {
        let first = self.rows == 0;
        self.rows += 1;
        match self.settings.mode {
            Mode::Table => {
                let cells = row.iter().map(|v| (self.text(v), is_number(v))).collect();
                self.cells.push(cells);
                Ok(())
            }
            Mode::Csv => self.csv_row(row, first),
            Mode::Json => self.json_row(row, first),
            Mode::Line => self.line_row(row, first),
            Mode::List => self.list_row(row, first),
        }
    }

    /// End the output (writes the table, closes the JSON array).
    pub fn finish(self) -> io::Result<()> {
        match self.settings.mode {
            Mode::Table if self.rows > 0 => write_table(self.out, self.columns, &self.cells),
            Mode::Json if self.rows > 0 => writeln!(self.out, "]"),
            Mode::Json if !self.columns.is_empty() => writeln!(self.out, "[]"),
            _ => Ok(()),
        }
    }

    fn text(&self, v: &Value) -> String {
        match v {
            Value::Null => self.settings.null.clone(),
            v => display(v),
        }
    }

    fn csv_row(&mut self, row: &[Value], first: bool) -> io::Result<()> {
        if first && self.settings.headers {
            let names: Vec<String> = self.columns.iter().map(|c| csv_field(c)).collect();
            write!(self.out, "{}\r\n", names.join(","))?;
        }
        let fields: Vec<String> = row.iter().map(|v| csv_field(&self.text(v))).collect();
        write!(self.out, "{}\r\n", fields.join(","))
    }

    fn list_row(&mut self, row: &[Value], first: bool) -> io::Result<()> {
        if first && self.settings.headers {
            writeln!(self.out, "{}", self.columns.join("|"))?;
        }
        let fields: Vec<String> = row.iter().map(|v| self.text(v)).collect();
        writeln!(self.out, "{}", fields.join("|"))
    }

    fn line_row(&mut self, row: &[Value], first: bool) -> io::Result<()> {
        if !first {
            writeln!(self.out)?;
        }
        let width = self.columns.iter().map(|c| c.width()).max().unwrap_or(0);
        for (name, v) in self.columns.iter().zip(row) {
            let pad = " ".repeat(width - name.width());
            writeln!(self.out, "{pad}{name} = {}", self.text(v))?;
        }
        Ok(())
    }

    fn json_row(&mut self, row: &[Value], first: bool) -> io::Result<()> {
        let fields: Vec<String> =
            self.columns.iter().zip(row).map(|(name, v)| format!("{}:{}", json_string(name), json_value(v))).collect();
        let open = if first { "[" } else { ",\n" };
        write!(self.out, "{open}{{{}}}", fields.join(","))
    }
}

/// A non-NULL value as text (BLOBs as an `X'..'` literal; text that is not UTF-8 with U+FFFD
/// for each bad sequence).
pub fn display(v: &Value) -> String {
    match v {
        Value::Blob(b) => format!("X'{}'", hex(b)),
        v => v.to_text().into_string_lossy(),
    }
}

/// Upper-case hex digits, as SQL's `hex()` writes them.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Integer(_) | Value::Real(_))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn json_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) if r.is_infinite() => if *r > 0.0 { "1e999" } else { "-1e999" }.into(),
        Value::Real(_) => v.to_text().into_string_lossy(),
        Value::Text(s) => json_string(&s.to_str_lossy()),
        Value::Blob(b) => format!("\"{}\"", hex(b)),
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `table` mode: a cell holding several lines takes several lines of its row.
fn write_table(out: &mut dyn Write, columns: &[String], rows: &[Vec<(String, bool)>]) -> io::Result<()> {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.width()).collect();
    for row in rows {
        for (w, (text, _)) in widths.iter_mut().zip(row) {
            *w = (*w).max(text.lines().map(|l| l.width()).max().unwrap_or(0));
        }
    }
    let rule: String = widths.iter().map(|w| format!("+{}", "-".repeat(w + 2))).collect::<String>() + "+";
    writeln!(out, "{rule}")?;
    let header: Vec<String> = columns.iter().zip(&widths).map(|(c, &w)| centered(c, w)).collect();
    writeln!(out, "| {} |", header.join(" | "))?;
    writeln!(out, "{rule}")?;
    for row in rows {
        let cell_lines: Vec<Vec<&str>> = row.iter().map(|(t, _)| t.split('\n').collect()).collect();
        let height = cell_lines.iter().map(Vec::len).max().unwrap_or(1);
        for i in 0..height {
            let parts: Vec<String> = cell_lines
                .iter()
                .zip(row)
                .zip(&widths)
                .map(|((lines, (_, right)), &w)| aligned(lines.get(i).copied().unwrap_or(""), w, *right))
                .collect();
            writeln!(out, "| {} |", parts.join(" | "))?;
        }
    }
    writeln!(out, "{rule}")
}

fn aligned(text: &str, width: usize, right: bool) -> String {
    let text = text.strip_suffix('\r').unwrap_or(text);
    let pad = " ".repeat(width.saturating_sub(text.width()));
    if right {
        format!("{pad}{text}")
    } else {
        format!("{text}{pad}")
    }
}

fn centered(text: &str, width: usize) -> String {
    let room = width.saturating_sub(text.width());
    format!("{}{text}{}", " ".repeat(room / 2), " ".repeat(room - room / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(mode: Mode, rows: &[Vec<Value>]) -> String {
        let settings = Settings { mode, ..Settings::default() };
        let columns = ["id".to_string(), "name".to_string()];
        let mut out = Vec::new();
        let mut p = Printer::new(&mut out, &settings, &columns);
        for r in rows {
            p.row(r).unwrap();
        }
        p.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table_aligns_wide_and_multi_line_cells() {
        let rows = vec![vec![Value::Integer(1), Value::from("日本")], vec![Value::Integer(100), Value::from("a\nbcd")]];
        assert_eq!(
            show(Mode::Table, &rows),
            "+-----+------+\n\
             | id  | name |\n\
             +-----+------+\n\
             |   1 | 日本 |\n\
             | 100 | a    |\n\
             |     | bcd  |\n\
             +-----+------+\n"
        );
        assert_eq!(show(Mode::Table, &[]), "");
    }

    #[test]
    fn csv_json_quoting() {
        let rows = vec![vec![Value::Real(0.5), Value::from("say \"hi\", \\ \u{1}")]];
        assert_eq!(show(Mode::Csv, &rows), "id,name\r\n0.5,\"say \"\"hi\"\", \\ \u{1}\"\r\n");
        assert_eq!(show(Mode::Json, &rows), "[{\"id\":0.5,\"name\":\"say \\\"hi\\\", \\\\ \\u0001\"}]\n");
        assert_eq!(show(Mode::Json, &[]), "[]\n");
    }
}
