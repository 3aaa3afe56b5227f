//! The SQL shell: `tessera [FILE]`, in the style of `sqlite3`.
//!
//! [`run`] picks where input comes from: the `-c` texts if any, else the terminal (an
//! interactive session, see `interactive`), else stdin read as a script. Input is fed line by
//! line to a [`Shell`]: a line starting with `.` while no statement is pending is a
//! dot-command (`dot`); anything else is SQL, cut into statements by `split` and run one at a
//! time, rows shown by `output`.
//!
//! Errors are printed as `Error: <message>` on stderr. In a script (stdin, `-c`, `.read`) the
//! message says where (`near line N`, or a syntax error's line and column in the input) and
//! the first error stops the run with exit status 1; an interactive session reports it and goes
//! on. The database file is opened when first needed (interactively: at once if it exists), so
//! `.help` or an empty script leave no file behind.

mod dot;
mod import;
mod interactive;
mod output;
mod schema;
mod split;

pub use output::Mode;

use crate::commands::{open, Open};
use crate::CliError;
use output::{Printer, Settings};
use split::{Piece, Splitter};
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;
use tessera::sql::{Connection, Value};

/// The parameters of every statement the shell runs itself: none.
pub const NO_PARAMS: &[Value] = &[];

/// How deep `.read` may nest (a file reading itself stops here).
const MAX_READ_DEPTH: usize = 16;

/// What the command line asks of the shell.
pub struct Args {
    pub db_path: PathBuf,
    /// `-c` texts, run in order instead of reading stdin.
    pub commands: Vec<String>,
    pub mode: Option<Mode>,
}

/// Run the shell; `Err(CliError::Exit(1))` if a script failed (the error is already printed).
pub fn run(args: Args, out: &mut dyn Write) -> Result<(), CliError> {
    let interactive = args.commands.is_empty() && io::stdin().is_terminal();
    let mut shell = Shell::new(args.db_path, out);
    if let Some(mode) = args.mode {
        shell.settings.mode = mode;
    }
    let result = if interactive {
        // An existing file is opened at once, so a locked or damaged one is told before the
        // first prompt.
        match shell.path.exists().then(|| shell.conn().map(|_| ())) {
            Some(Err(f)) => Err(shell.report(f, &Input::new(None, true), None)),
            _ => interactive::run(&mut shell),
        }
    } else if args.commands.is_empty() {
        shell.stream(io::stdin().lock(), None)
    } else {
        args.commands.iter().try_for_each(|c| shell.stream(c.as_bytes(), None))
    };
    match result {
        Ok(()) | Err(Stop::Quit) => Ok(()),
        Err(Stop::Failed) => Err(CliError::Exit(1)),
        Err(Stop::Output(e)) => Err(e.into()),
    }
}

/// Why a statement or a dot-command failed.
#[derive(Debug)]
pub enum Failure {
    /// From the engine; a syntax error's position is relative to the statement's text.
    Db(tessera::Error),
    /// Anything else worth a message.
    Msg(String),
    /// A `.read` script failed and its error was reported already.
    Reported,
    /// Writing the output failed.
    Output(io::Error),
}

impl Failure {
    pub fn msg(m: impl Into<String>) -> Failure {
        Failure::Msg(m.into())
    }
}

impl From<tessera::Error> for Failure {
    fn from(e: tessera::Error) -> Failure {
        Failure::Db(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Output(e)
    }
}

/// Why a run of input ended early.
#[derive(Debug)]
pub enum Stop {
    /// `.quit` or `.exit`.
    Quit,
    /// An error, already reported.
    Failed,
    /// Writing the output failed (a closed pipe included).
    Output(io::Error),
}

/// One source of input being read: its splitter and how to name places in it.
struct Input {
    splitter: Splitter,
    /// The file of a `.read`; `None` for stdin, `-c` and the terminal.
    file: Option<String>,
    /// Interactive input: positions are relative to each statement, and `near line` is not
    /// said.
    interactive: bool,
}

impl Input {
    fn new(file: Option<&str>, interactive: bool) -> Input {
        Input { splitter: Splitter::new(), file: file.map(String::from), interactive }
    }
}

/// A shell session: the database, the settings and where output goes.
pub struct Shell<'a> {
    path: PathBuf,
    conn: Option<Connection>,
    out: &'a mut dyn Write,
    settings: Settings,
    /// `.read` nesting.
    depth: usize,
}

/// The database name that means "in memory, no file" (sqlite3's spelling).
const MEMORY: &str = ":memory:";

impl<'a> Shell<'a> {
    fn new(path: PathBuf, out: &'a mut dyn Write) -> Shell<'a> {
        Shell { path, conn: None, out, settings: Settings::default(), depth: 0 }
    }

    /// The connection, opening the database file (created if missing) on first use. The name
    /// `:memory:` (as in sqlite3) is a fresh in-memory database, not a file.
    fn conn(&mut self) -> Result<&mut Connection, Failure> {
        if self.conn.is_none() && self.path.as_os_str() == MEMORY {
            self.conn = Some(Connection::memory());
        }
        if self.conn.is_none() {
            let db = open(&self.path, Open::CreateIfMissing).map_err(|e| Failure::Msg(e.to_string()))?;
            self.conn = Some(Connection::new(db)?);
        }
        self.conn.as_mut().ok_or_else(|| Failure::msg("no database"))
    }

    /// The connection (opened if need be) and the output, borrowed together.
    fn parts(&mut self) -> Result<(&mut Connection, &mut dyn Write), Failure> {
        self.conn()?;
        match self.conn.as_mut() {
            Some(conn) => Ok((conn, &mut *self.out)),
            None => Err(Failure::msg("no database")),
        }
    }

    /// Run everything `reader` holds as a script named `file` (`None`: stdin or `-c`).
    fn stream(&mut self, mut reader: impl BufRead, file: Option<&str>) -> Result<(), Stop> {
        let mut input = Input::new(file, false);
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => self.line(&mut input, &line)?,
                Err(e) => {
                    let from = file.unwrap_or("standard input");
                    let at = input.splitter.line();
                    return Err(self.report(
                        Failure::msg(format!("cannot read {from} at line {at}: {e}")),
                        &input,
                        None,
                    ));
                }
            }
        }
        self.end(&mut input)
    }

    /// Take one line of input (with its line end, if it had one).
    fn line(&mut self, input: &mut Input, line: &str) -> Result<(), Stop> {
        if input.splitter.is_idle() && line.trim_start().starts_with('.') {
            let at = input.splitter.line();
            input.splitter.skip(line);
            return match dot::run(self, line.trim()) {
                Ok(dot::Flow::Continue) => Ok(()),
                Ok(dot::Flow::Quit) => Err(Stop::Quit),
                Err(f) => Err(self.report(f, input, Some(At::Line(at)))),
            };
        }
        let mut pieces = Vec::new();
        input.splitter.push(line, &mut pieces);
        pieces.iter().try_for_each(|p| self.piece(input, p))
    }

    /// The input ended: run a last statement that had no `;`.
    fn end(&mut self, input: &mut Input) -> Result<(), Stop> {
        match input.splitter.take_rest() {
            Some(p) => self.piece(input, &p),
            None => Ok(()),
        }
    }

    fn piece(&mut self, input: &Input, p: &Piece) -> Result<(), Stop> {
        self.statement(&p.sql).map_err(|f| self.report(f, input, Some(At::Piece(p))))
    }

    /// Run one statement and show its rows.
    fn statement(&mut self, sql: &str) -> Result<(), Failure> {
        let settings = self.settings.clone();
        let (conn, out) = self.parts()?;
        let started = Instant::now();
        // As in sqlite3 without `.parameter set`: every parameter is NULL (the library
        // itself refuses to run a statement with parameters left out).
        let stmt = conn.prepare(sql)?;
        let nulls = vec![Value::Null; stmt.parameter_count()];
        let mut rows = conn.query_prepared(&stmt, nulls)?;
        let columns = rows.columns().to_vec();
        let mut printer = Printer::new(&mut *out, &settings, &columns);
        let mut failed = None;
        for row in &mut rows {
            match row {
                Ok(row) => printer.row(&row[..])?,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        printer.finish()?;
        drop(rows);
        if let Some(e) = failed {
            return Err(e.into());
        }
        if settings.timer {
            writeln!(out, "Run Time: real {:.3}", started.elapsed().as_secs_f64())?;
        }
        Ok(out.flush()?)
    }

    /// `.read FILE`: run a file as a script; its errors are reported with the file's name.
    /// A `.quit` in it ends the shell.
    fn read_file(&mut self, path: &str) -> Result<dot::Flow, Failure> {
        if self.depth >= MAX_READ_DEPTH {
            return Err(Failure::msg(format!(".read nested more than {MAX_READ_DEPTH} deep")));
        }
        let file = std::fs::File::open(path).map_err(|e| Failure::msg(format!("cannot open {path}: {e}")))?;
        self.depth += 1;
        let r = self.stream(io::BufReader::new(file), Some(path));
        self.depth -= 1;
        match r {
            Ok(()) => Ok(dot::Flow::Continue),
            Err(Stop::Quit) => Ok(dot::Flow::Quit),
            Err(Stop::Failed) => Err(Failure::Reported),
            Err(Stop::Output(e)) => Err(Failure::Output(e)),
        }
    }

    /// Print a failure on stderr (saying where it happened) and tell how to go on.
    fn report(&mut self, f: Failure, input: &Input, at: Option<At>) -> Stop {
        let message = match f {
            Failure::Output(e) => return Stop::Output(e),
            Failure::Reported => return Stop::Failed,
            Failure::Db(tessera::Error::SqlSyntax { line, column, message, .. }) => {
                syntax_message(input, at, line, column, &message)
            }
            Failure::Db(e) => self.placed(input, at, &e.to_string()),
            Failure::Msg(m) => self.placed(input, at, &m),
        };
        if let Err(e) = self.out.flush() {
            return Stop::Output(e);
        }
        let _ = writeln!(io::stderr().lock(), "Error: {message}");
        Stop::Failed
    }

    /// `near line N [of FILE]: message` in a script, the bare message interactively.
    fn placed(&self, input: &Input, at: Option<At>, message: &str) -> String {
        let line = match at {
            Some(At::Line(l)) => l,
            Some(At::Piece(p)) => p.first_line,
            None => return message.to_string(),
        };
        if input.interactive {
            return message.to_string();
        }
        format!("near line {line}{}: {message}", of_file(input))
    }
}

/// What a failure is about.
#[derive(Clone, Copy)]
enum At<'p> {
    /// A dot-command on this line.
    Line(u32),
    /// A statement.
    Piece(&'p Piece),
}

fn of_file(input: &Input) -> String {
    input.file.as_ref().map(|f| format!(" of {f}")).unwrap_or_default()
}

/// `syntax error at line L, column C [of FILE]: message`, then the line with a caret under the
/// place. `line`/`column` are relative to the statement's text; they are moved to the input's
/// lines (interactively: counted from the statement's first line).
fn syntax_message(input: &Input, at: Option<At>, line: u32, column: u32, message: &str) -> String {
    let Some(At::Piece(p)) = at else {
        return format!("syntax error at line {line}, column {column}: {message}");
    };
    let mut l = (p.line + line).saturating_sub(1);
    let c = if line <= 1 { (p.col + column).saturating_sub(1) } else { column };
    if input.interactive {
        // Count from the statement's first line, as typed.
        l = (l + 1).saturating_sub(p.first_line).max(1);
    }
    let text = p.sql.split('\n').nth(line.saturating_sub(1) as usize).unwrap_or("");
    format!("syntax error at line {l}, column {c}{}: {message}\n{}", of_file(input), caret(text, column))
}

/// A source line (cut to about 100 characters around the column) and a `^` under the column.
fn caret(text: &str, column: u32) -> String {
    let chars: Vec<char> = text.trim_end_matches('\r').chars().collect();
    let col = (column.max(1) - 1) as usize;
    let from = col.saturating_sub(60).min(chars.len());
    let to = chars.len().min(from + 100).max(col.min(chars.len()));
    let shown: String = chars[from..to].iter().collect();
    let pad: String = chars[from..col.min(chars.len())].iter().map(|&c| if c == '\t' { '\t' } else { ' ' }).collect();
    let dots = if from > 0 { "..." } else { "" };
    let pad_dots = " ".repeat(dots.len());
    format!("  {dots}{shown}\n  {pad_dots}{pad}^")
}
