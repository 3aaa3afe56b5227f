//! Dot-commands: a line starting with `.` while no SQL statement is pending. The line is cut
//! into words at blanks; a word in `"..."` or `'...'` may hold blanks.

use super::output::Mode;
use super::{import, schema, Failure, Shell};

/// What the shell does after a dot-command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// The text of `.help`.
pub const HELP: &str = "\
.dump [PATTERN]            SQL text that recreates the database (or the tables matching PATTERN)
.exit, .quit               leave the shell
.headers on|off            header line in csv and list modes (default on)
.help                      show this text
.import [--skip N] FILE TABLE
                           load a CSV file (RFC 4180) into TABLE; a new table gets TEXT columns
                           named by the first line; --skip N drops N lines first
.indexes [PATTERN]         indexes (of the tables matching PATTERN)
.mode [MODE]               output mode: table (default), csv, json, line or list
.nullvalue TEXT            how NULL is shown (default: nothing)
.open FILE                 close this database and use FILE (created if missing)
.read FILE                 run the SQL and dot-commands in FILE
.schema [PATTERN]          CREATE statements (of the tables and views matching PATTERN)
.show                      current settings
.tables [PATTERN]          tables and views (matching PATTERN)
.timer on|off              print the time each statement takes

PATTERN is a LIKE pattern: % matches any run of characters, _ any one character.
SQL statements end with ';' and may span lines. BLOBs show as X'..' (in JSON, hex digits).
.tables, .schema and .dump show the last committed schema.
";

/// Run one dot-command line.
pub fn run(shell: &mut Shell, line: &str) -> Result<Flow, Failure> {
    let words = words(line.strip_prefix('.').unwrap_or(line))?;
    let Some((name, args)) = words.split_first() else {
        return Err(Failure::msg("missing dot-command name; enter \".help\" for the list"));
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match (name.as_str(), &args[..]) {
        ("help", []) => write_out(shell, HELP.trim_end())?,
        ("quit" | "exit", []) => return Ok(Flow::Quit),
        ("tables", [] | [_]) => {
            let (conn, out) = shell.parts()?;
            schema::tables(conn, out, args.first().copied())?
        }
        ("indexes" | "indices", [] | [_]) => {
            let (conn, out) = shell.parts()?;
            schema::indexes(conn, out, args.first().copied())?
        }
        ("schema", [] | [_]) => {
            let (conn, out) = shell.parts()?;
            schema::schema(conn, out, args.first().copied())?
        }
        ("dump", [] | [_]) => {
            let (conn, out) = shell.parts()?;
            schema::dump(conn, out, args.first().copied())?
        }
        ("import", _) => import::import(shell.conn()?, &args)?,
        ("read", [file]) => return shell.read_file(file),
        ("open", [file]) => {
            shell.conn = None;
            shell.path = file.into();
        }
        ("mode", []) => write_out(shell, &format!("current output mode: {}", shell.settings.mode.name()))?,
        ("mode", [m]) => {
            shell.settings.mode = Mode::parse(m)
                .ok_or_else(|| Failure::msg(format!("unknown mode {m:?}: use table, csv, json, line or list")))?;
        }
        ("headers" | "header", [v]) => shell.settings.headers = on_off(v)?,
        ("timer", [v]) => shell.settings.timer = on_off(v)?,
        ("nullvalue", [v]) => shell.settings.null = v.to_string(),
        ("show", []) => show(shell)?,
        _ => {
            return Err(Failure::msg(format!(
                "unknown dot-command or wrong arguments: \"{}\"; enter \".help\" for the list",
                line.trim()
            )))
        }
    }
    shell.out.flush()?;
    Ok(Flow::Continue)
}

fn write_out(shell: &mut Shell, text: &str) -> Result<(), Failure> {
    writeln!(shell.out, "{text}")?;
    Ok(())
}

fn show(shell: &mut Shell) -> Result<(), Failure> {
    let s = &shell.settings;
    let text = format!(
        " database: {}\n     mode: {}\n  headers: {}\nnullvalue: {:?}\n    timer: {}",
        shell.path.display(),
        s.mode.name(),
        if s.headers { "on" } else { "off" },
        s.null,
        if s.timer { "on" } else { "off" },
    );
    write_out(shell, &text)
}

fn on_off(v: &str) -> Result<bool, Failure> {
    match v.to_ascii_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Ok(true),
        "off" | "no" | "false" | "0" => Ok(false),
        _ => Err(Failure::msg(format!("expected on or off, not {v:?}"))),
    }
}

/// Cut a dot-command line into words: blanks separate them, quotes group them.
fn words(line: &str) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else { return Ok(out) };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(Failure::msg(format!("unterminated {first} in the dot-command"))),
                    Some(c) if c == first => break,
                    Some(c) => word.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        out.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_blanks_and_group_quotes() {
        let w = words("import  --skip 1 \"my file.csv\" 'a b'").unwrap();
        assert_eq!(w, ["import", "--skip", "1", "my file.csv", "a b"]);
        assert!(words("read \"x").is_err());
        assert!(words("  ").unwrap().is_empty());
    }
}
