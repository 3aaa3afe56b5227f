//! `tessera`: the command-line tool for Tessera database files.
//!
//! `main` parses the options that come before the command (`--db FILE`/`-f FILE`, `--timeout
//! MS`, `--readonly`, `--salvage`, `--help`, `--version`, and the SQL shell's `-c SQL` and
//! `--mode MODE`) and looks the first word up in
//! [`commands::COMMANDS`]: a key-value command runs; anything else (or nothing) is the
//! database file of the SQL shell (`shell`), `tessera.db` by default. Every failure becomes a
//! [`CliError`], reported as one `tessera: <message>` line on stderr with an exit code: 1 for
//! a failed operation (missing key, engine error, a failed shell script), 2 for a usage error
//! (followed by the usage line) or for a damaged or unopenable database in `check`. The shell
//! prints its own `Error: ...` lines.

mod args;
mod commands;
mod encoding;
mod shell;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Used when neither `--db` nor `-f` is given.
const DEFAULT_DB: &str = "tessera.db";

const USAGE: &str = "usage: tessera [--db FILE] <command> [args]   (try 'tessera help')";

/// Why the tool stops early.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments: message, then the usage line; exit code 2.
    Usage(String),
    /// An operation failed: message; exit code as given.
    Failed { message: String, code: u8 },
    /// Everything was already reported (or nothing needs saying): just exit with this code.
    Exit(u8),
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    pub fn failed(message: impl Into<String>) -> Self {
        CliError::Failed { message: message.into(), code: 1 }
    }

    /// This error with a different exit code (`Usage` keeps its 2).
    pub fn with_code(self, code: u8) -> Self {
        match self {
            CliError::Failed { message, .. } => CliError::Failed { message, code },
            CliError::Exit(_) => CliError::Exit(code),
            usage => usage,
        }
    }
}

impl From<tessera::Error> for CliError {
    fn from(e: tessera::Error) -> Self {
        CliError::failed(e.to_string())
    }
}

/// Errors writing to stdout. A closed pipe (`tessera scan t | head`) is not a failure.
impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            CliError::Exit(0)
        } else {
            CliError::failed(format!("cannot write output: {e}"))
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Failed { message: m, .. } => f.write_str(m),
            CliError::Exit(code) => write!(f, "exit code {code}"),
        }
    }
}

/// What every command gets: where the database is and where to write.
pub struct Context<'a> {
    pub db_path: PathBuf,
    pub out: &'a mut dyn Write,
}

fn main() -> ExitCode {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut usage_line = USAGE;
    let mut result = run(std::env::args_os().skip(1).collect(), &mut out, &mut usage_line);
    if result.is_ok() {
        result = out.flush().map_err(CliError::from);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Whatever was printed before the error should still come out, before the message.
            let _ = out.flush();
            let mut err = io::stderr().lock();
            let code = match &e {
                CliError::Usage(m) => {
                    let _ = writeln!(err, "tessera: {m}\n{usage_line}");
                    2
                }
                CliError::Failed { message, code } => {
                    let _ = writeln!(err, "tessera: {message}");
                    *code
                }
                CliError::Exit(code) => *code,
            };
            ExitCode::from(code)
        }
    }
}

/// Parse the leading options and the command name, then run the command, or the SQL shell
/// when the first word is not a command.
fn run(argv: Vec<OsString>, out: &mut dyn Write, usage_line: &mut &'static str) -> Result<(), CliError> {
    let mut db: Option<OsString> = None;
    let mut flags = commands::OpenFlags::default();
    let mut sql = ShellOptions::default();
    let mut rest = argv.into_iter();
    let first = loop {
        let Some(arg) = rest.next() else { break None };
        let text = arg.to_str().unwrap_or("");
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(OsString::from(v))),
            _ => (text, None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| rest.next())
                .ok_or_else(|| CliError::usage(format!("option {what} needs a value")))
        };
        match name {
            "-h" | "--help" if inline.is_none() => return Ok(commands::help(out)?),
            "-V" | "--version" if inline.is_none() => {
                writeln!(out, "tessera {}", env!("CARGO_PKG_VERSION"))?;
                return Ok(());
            }
            "--db" | "-f" => db = Some(value(name)?),
            "--readonly" | "--read-only" if inline.is_none() => flags.read_only = true,
            "--salvage" if inline.is_none() => flags.salvage = true,
            "--timeout" => commands::set_lock_timeout(args::timeout_ms(&value(name)?)?),
            "-c" | "--command" | "--mode" => sql.add(name, &value(name)?)?,
            _ if text.starts_with('-') => {
                return Err(CliError::usage(format!("unknown option {text} (options of a command go after it)")));
            }
            _ => break Some(arg),
        }
    };
    // Set once per process, before anything opens the database.
    let _ = commands::OPEN_FLAGS.set(flags);
    let command = first.as_ref().and_then(|name| commands::COMMANDS.iter().find(|c| name.to_str() == Some(c.name)));
    let Some(cmd) = command else {
        *usage_line = SHELL_USAGE;
        return run_shell(first, rest, db, sql, out);
    };
    if sql.given {
        return Err(CliError::usage(format!("-c and --mode belong to the SQL shell, not to '{}'", cmd.name)));
    }
    *usage_line = cmd.usage;
    let parsed = args::parse(rest, &cmd.spec)?;
    if let Some(ms) = parsed.option("--timeout") {
        commands::set_lock_timeout(args::timeout_ms(ms)?);
    }
    if parsed.flag("--help") {
        writeln!(out, "{}\n\n{}", cmd.usage, cmd.about)?;
        return Ok(());
    }
    let db_path = PathBuf::from(parsed.db().map(OsString::from).or(db).unwrap_or_else(|| DEFAULT_DB.into()));
    let mut ctx = Context { db_path, out };
    (cmd.run)(&mut ctx, parsed)
}

const SHELL_USAGE: &str = "usage: tessera [FILE] [-c SQL]... [--mode MODE] [--timeout MS]   (try 'tessera help')";

/// The SQL shell's options, gathered wherever they appear.
#[derive(Default)]
struct ShellOptions {
    commands: Vec<String>,
    mode: Option<shell::Mode>,
    /// Any shell option was given (they make no sense with a key-value command).
    given: bool,
}

impl ShellOptions {
    fn add(&mut self, name: &str, value: &OsStr) -> Result<(), CliError> {
        self.given = true;
        let text = args::os_str(value, &format!("the value of {name}"))?;
        if name == "--mode" {
            let mode = shell::Mode::parse(text)
                .ok_or_else(|| CliError::usage(format!("unknown mode {text:?}: use table, csv, json, line or list")))?;
            self.mode = Some(mode);
        } else {
            self.commands.push(text.to_string());
        }
        Ok(())
    }
}

/// `tessera [FILE] [-c SQL]... [--mode MODE]`: `file` is the first word, when there is one.
fn run_shell(
    file: Option<OsString>,
    rest: impl Iterator<Item = OsString>,
    db: Option<OsString>,
    mut sql: ShellOptions,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let parsed = args::parse(rest, &SHELL_SPEC)?;
    if parsed.flag("--help") {
        return Ok(commands::help(out)?);
    }
    if let Some(ms) = parsed.option("--timeout") {
        commands::set_lock_timeout(args::timeout_ms(ms)?);
    }
    for name in ["-c", "--command", "--mode"] {
        for v in parsed.options_named(name) {
            sql.add(name, v)?;
        }
    }
    if let Some(extra) = parsed.positionals.first() {
        let word = file.as_deref().unwrap_or_default();
        if !Path::new(word).exists() {
            return Err(CliError::usage(format!("unknown command {:?}", word.to_string_lossy())));
        }
        return Err(CliError::usage(format!("unexpected argument {:?} after the database file", extra)));
    }
    let db_path = match (file, parsed.db().map(OsString::from).or(db)) {
        (Some(_), Some(_)) => return Err(CliError::usage("the database file is given twice")),
        (f, d) => PathBuf::from(f.or(d).unwrap_or_else(|| DEFAULT_DB.into())),
    };
    shell::run(shell::Args { db_path, commands: sql.commands, mode: sql.mode }, out)
}

/// What the shell accepts after its FILE.
const SHELL_SPEC: args::Spec = args::Spec { flags: &[], options: &["-c", "--command", "--mode"] };
