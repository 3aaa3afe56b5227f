//! `tessera`: the command-line tool for Tessera database files.
//!
//! `main` parses the options that come before the command (`--db FILE`/`-f FILE`, `--help`,
//! `--version`), looks the command up in [`commands::COMMANDS`] and runs it. Every failure
//! becomes a [`CliError`], reported as one `tessera: <message>` line on stderr with an exit
//! code: 1 for a failed operation (missing key, engine error), 2 for a usage error (followed
//! by the usage line) or for a damaged or unopenable database in `check`.
//!
//! With no command the tool prints usage. A later SQL shell is meant to take that spot
//! (`tessera FILE` with no command), which is why dispatch is a lookup here rather than
//! part of the argument parser.

mod args;
mod commands;
mod encoding;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;
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

/// Parse the leading options and the command name, then run the command.
fn run(argv: Vec<OsString>, out: &mut dyn Write, usage_line: &mut &'static str) -> Result<(), CliError> {
    let mut db: Option<OsString> = None;
    let mut rest = argv.into_iter();
    let command = loop {
        let Some(arg) = rest.next() else { break None };
        match arg.to_str() {
            Some("-h" | "--help") => return Ok(commands::help(out)?),
            Some("-V" | "--version") => {
                writeln!(out, "tessera {}", env!("CARGO_PKG_VERSION"))?;
                return Ok(());
            }
            Some("--db" | "-f") => {
                db = Some(rest.next().ok_or_else(|| CliError::usage("option --db needs a value"))?);
            }
            Some(s) if s.starts_with("--db=") => db = Some(OsString::from(&s[5..])),
            Some(s) if s.starts_with('-') => {
                return Err(CliError::usage(format!("unknown option {s} (options of a command go after it)")));
            }
            _ => break Some(arg),
        }
    };
    // No command: for now, usage. This is where `tessera FILE` will open the SQL shell.
    let Some(command) = command else {
        return Err(CliError::usage("no command given"));
    };
    let name = command.to_string_lossy();
    let Some(cmd) = commands::COMMANDS.iter().find(|c| c.name == name) else {
        return Err(CliError::usage(format!("unknown command {name:?}")));
    };
    *usage_line = cmd.usage;
    let parsed = args::parse(rest, &cmd.spec)?;
    if parsed.flag("--help") {
        writeln!(out, "{}\n\n{}", cmd.usage, cmd.about)?;
        return Ok(());
    }
    let db_path = PathBuf::from(parsed.db().map(OsString::from).or(db).unwrap_or_else(|| DEFAULT_DB.into()));
    let mut ctx = Context { db_path, out };
    (cmd.run)(&mut ctx, parsed)
}
