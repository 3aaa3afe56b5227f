//! A small hand-rolled argument parser: positionals, boolean flags and options with a value.
//!
//! Options may be written `--name VALUE` or `--name=VALUE`; `--` ends option parsing (so keys
//! that start with `-` can be given); a lone `-` is a positional (it means stdin).

use crate::CliError;
use std::ffi::{OsStr, OsString};

/// What a command accepts besides positionals.
pub struct Spec {
    /// Boolean flags, e.g. `--hex`.
    pub flags: &'static [&'static str],
    /// Options that take a value, e.g. `--limit`.
    pub options: &'static [&'static str],
}

/// Options every command accepts, wherever they appear.
pub const GLOBAL_OPTIONS: &[&str] = &["--db", "-f", "--timeout"];

/// Parsed arguments of one command.
#[derive(Debug, Default)]
pub struct Parsed {
    pub positionals: Vec<OsString>,
    flags: Vec<&'static str>,
    options: Vec<(&'static str, OsString)>,
}

impl Parsed {
    /// Whether the boolean flag was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    /// The value of an option (the last one wins if it was repeated).
    pub fn option(&self, name: &str) -> Option<&OsStr> {
        self.options.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.as_os_str())
    }

    /// Every value given to an option, in order.
    pub fn options_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a OsStr> + 'a {
        self.options.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v.as_os_str())
    }

    /// The database path given with `--db` or `-f`, if any.
    pub fn db(&self) -> Option<&OsStr> {
        self.options.iter().rev().find(|(n, _)| matches!(*n, "--db" | "-f")).map(|(_, v)| v.as_os_str())
    }
}

/// Parse `args` against `spec` (plus the global options). `--help`/`-h` is reported as a flag
/// named `--help`.
pub fn parse(args: impl IntoIterator<Item = OsString>, spec: &Spec) -> Result<Parsed, CliError> {
    let mut out = Parsed::default();
    let mut args = args.into_iter();
    let mut only_positionals = false;
    while let Some(arg) = args.next() {
        let text = arg.to_str();
        let is_option = !only_positionals && text.is_some_and(|t| t.starts_with('-') && t.len() > 1);
        let Some(text) = text.filter(|_| is_option) else {
            out.positionals.push(arg);
            continue;
        };
        if text == "--" {
            only_positionals = true;
            continue;
        }
        if text == "--help" || text == "-h" {
            out.flags.push("--help");
            continue;
        }
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(OsString::from(v))),
            _ => (text, None),
        };
        if let Some(&name) = spec.options.iter().chain(GLOBAL_OPTIONS).find(|&&o| o == name) {
            let value = match inline {
                Some(v) => v,
                None => args.next().ok_or_else(|| CliError::usage(format!("option {name} needs a value")))?,
            };
            out.options.push((name, value));
        } else if let Some(&name) = spec.flags.iter().find(|&&f| f == name) {
            if inline.is_some() {
                return Err(CliError::usage(format!("flag {name} takes no value")));
            }
            out.flags.push(name);
        } else {
            return Err(CliError::usage(format!("unknown option {text}")));
        }
    }
    Ok(out)
}

/// The bytes of a command-line argument (exact on Unix, where arguments are byte strings).
pub fn os_bytes(s: &OsStr) -> Result<Vec<u8>, CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(s.as_bytes().to_vec())
    }
    #[cfg(not(unix))]
    {
        s.to_str()
            .map(|t| t.as_bytes().to_vec())
            .ok_or_else(|| CliError::usage(format!("argument {s:?} is not valid UTF-8 (use --hex)")))
    }
}

/// A command-line argument that must be UTF-8 (table names, numbers).
pub fn os_str<'a>(s: &'a OsStr, what: &str) -> Result<&'a str, CliError> {
    s.to_str().ok_or_else(|| CliError::usage(format!("{what} {s:?} is not valid UTF-8")))
}

/// The value of `--timeout MS`: how long to wait for a database another process holds.
pub fn timeout_ms(s: &OsStr) -> Result<std::time::Duration, CliError> {
    let text = os_str(s, "the value of --timeout")?;
    text.parse::<u64>()
        .map(std::time::Duration::from_millis)
        .map_err(|_| CliError::usage(format!("--timeout takes a number of milliseconds, not {text:?}")))
}
