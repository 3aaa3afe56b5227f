//! The key-value commands: each parses its own arguments and talks to the engine.

use crate::args::{os_bytes, os_str, Parsed, Spec};
use crate::encoding::{from_hex, prefix_successor, show, Show};
use crate::{CliError, Context};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;
use tessera::sql::Connection;
use tessera::{Database, Error};

/// One subcommand.
pub struct Command {
    pub name: &'static str,
    /// The usage line shown with `--help` and after a usage error.
    pub usage: &'static str,
    /// Longer description for `--help`.
    pub about: &'static str,
    pub spec: Spec,
    pub run: fn(&mut Context, Parsed) -> Result<(), CliError>,
}

pub const COMMANDS: &[Command] = &[
    Command {
        name: "put",
        usage: "usage: tessera [--db FILE] put [--hex] TABLE KEY VALUE",
        about: "Insert or replace KEY in TABLE (the table is created if needed, and the database \
                file too).\nVALUE '@PATH' reads the value from a file, '-' from stdin, and '@@...' \
                stands for a literal value starting with '@'.\n--hex: KEY and VALUE are given in hex \
                (file and stdin contents are taken as they are).\nTables named 'sql:...' belong to the SQL \
                layer and cannot be written with put or del (use SQL).",
        spec: Spec { flags: &["--hex"], options: &[] },
        run: put,
    },
    Command {
        name: "get",
        usage: "usage: tessera [--db FILE] get [--hex | --raw] TABLE KEY",
        about: "Print the value of KEY: as text when it is printable UTF-8 (followed by a newline \
                unless it ends with one), else as 0x-prefixed hex.\n\
                --hex: KEY is given in hex and the value is printed in hex.\n\
                --raw: write the value's bytes to stdout as they are, with no newline.\n\
                Exit code 1 if the key is missing.",
        spec: Spec { flags: &["--hex", "--raw"], options: &[] },
        run: get,
    },
    Command {
        name: "del",
        usage: "usage: tessera [--db FILE] del [--hex] TABLE KEY",
        about: "Remove KEY from TABLE. Exit code 1 if it was not there.\n--hex: KEY is given in hex.",
        spec: Spec { flags: &["--hex"], options: &[] },
        run: del,
    },
    Command {
        name: "scan",
        usage: "usage: tessera [--db FILE] scan TABLE [--prefix P] [--from K] [--to K] [--limit N] \
                [--reverse] [--keys-only] [--hex]",
        about: "Print 'key<TAB>value' lines in key order. Keys and values that are not printable \
                UTF-8 (tabs and newlines included) are shown as 0x-prefixed hex.\n\
                --prefix P: only keys starting with P.  --from K: keys >= K.  --to K: keys < K.\n\
                --limit N: at most N entries.  --reverse: descending order.  --keys-only: no values.\n\
                --hex: P, K given in hex; keys and values printed in hex.",
        spec: Spec {
            flags: &["--reverse", "--keys-only", "--hex"],
            options: &["--prefix", "--from", "--to", "--limit"],
        },
        run: scan,
    },
    Command {
        name: "tables",
        usage: "usage: tessera [--db FILE] tables",
        about: "List the tables, one 'name<TAB>entries' line each.",
        spec: Spec { flags: &[], options: &[] },
        run: tables,
    },
    Command {
        name: "stats",
        usage: "usage: tessera [--db FILE] stats",
        about: "Print the last committed transaction id, the engine's counters ('name: value' \
                lines) and the file size. Counters cover this process only, i.e. opening the \
                database.",
        spec: Spec { flags: &[], options: &[] },
        run: stats,
    },
    Command {
        name: "check",
        usage: "usage: tessera [--db FILE] check",
        about: "Verify every page of the last commit (checksums, tree structure, entry counts, \
                page accounting) and, when the file has an SQL schema, the SQL layer's data (schema \
                records and their SQL, every row, every index entry against the rows, UNIQUE \
                indexes), and print a report ('sql ...' lines for the SQL part).\nExit code 0 if no \
                damage was found, 2 if damage was found or the file cannot be opened as a database.",
        spec: Spec { flags: &[], options: &[] },
        run: check,
    },
    Command {
        name: "compact",
        usage: "usage: tessera [--db FILE] compact",
        about: "Move pages toward the start of the file, truncate the free tail, and print the \
                file size before and after.",
        spec: Spec { flags: &[], options: &[] },
        run: compact,
    },
    Command {
        name: "help",
        usage: "usage: tessera help [COMMAND]",
        about: "Show the list of commands, or the details of one.",
        spec: Spec { flags: &[], options: &[] },
        run: help_command,
    },
];

/// The overall help text.
pub fn help(out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "tessera {}: the command-line tool for Tessera database files\n", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "usage: tessera [FILE] [-c SQL]... [--mode MODE]       the SQL shell")?;
    writeln!(out, "       tessera [--db FILE | -f FILE] <command> [args]  a key-value command\n")?;
    writeln!(
        out,
        "A database file another process (or a Node.js program) has open is locked: the tool \
         fails\nat once, or with --timeout MS waits up to MS milliseconds for it to be closed.\n"
    )?;
    writeln!(out, "The database file defaults to ./{}.\n", crate::DEFAULT_DB)?;
    writeln!(
        out,
        "SQL shell: on a terminal, an interactive session (line editing, history in \
         ~/.tessera_history);\notherwise it runs the SQL statements and dot-commands read from \
         stdin, or from each -c text\nin turn, stopping at the first error with exit code 1. \
         --mode sets the output mode: table\n(the default), csv, json, line or list. Enter .help \
         in the shell for its dot-commands. A FILE\nnamed like a command needs a path: \
         tessera ./tables.\n\ncommands:"
    )?;
    for c in COMMANDS {
        let line = c.usage.trim_start_matches("usage: tessera ");
        writeln!(out, "  {}", line.trim_start_matches("[--db FILE] "))?;
    }
    writeln!(
        out,
        "\nopening: --readonly never writes to the file (the log is replayed in memory); \
         --salvage opens\na damaged database with what can still be read (see 'check'), \
         instead of refusing.\n\
         other options: --timeout MS (wait for a locked database), -h, --help (also after a \
         command),\n-V, --version; '--' ends options.\n\
         Exit codes: 0 success, 1 failure (e.g. missing key, SQL error), 2 usage error or damaged \
         database."
    )
}

fn help_command(ctx: &mut Context, a: Parsed) -> Result<(), CliError> {
    match a.positionals.as_slice() {
        [] => Ok(help(ctx.out)?),
        [name] => {
            let name = name.to_string_lossy();
            let c = COMMANDS
                .iter()
                .find(|c| c.name == name)
                .ok_or_else(|| CliError::usage(format!("unknown command {name:?}")))?;
            writeln!(ctx.out, "{}\n\n{}", c.usage, c.about)?;
            Ok(())
        }
        _ => Err(CliError::usage("help takes at most one command name")),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// `--timeout`, in milliseconds (0: fail at once on a locked database).
static LOCK_TIMEOUT_MS: AtomicU64 = AtomicU64::new(0);

/// Set how long [`open`] waits for a database another process holds (`--timeout MS`).
pub fn set_lock_timeout(timeout: Duration) {
    LOCK_TIMEOUT_MS.store(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX), Relaxed);
}

fn lock_timeout() -> Duration {
    Duration::from_millis(LOCK_TIMEOUT_MS.load(Relaxed))
}

/// Whether a command may create the database file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Open {
    CreateIfMissing,
    Existing,
}

/// How every command and the shell open the database: the global options `--readonly` and
/// `--salvage` (set once, by `main`, before any command runs).
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenFlags {
    /// Never write to the file (`Options::read_only`).
    pub read_only: bool,
    /// Open a damaged database with what can still be read (`Options::salvage`).
    pub salvage: bool,
}

pub static OPEN_FLAGS: std::sync::OnceLock<OpenFlags> = std::sync::OnceLock::new();

/// Open the database. The engine tells a new or never-finished file from one that holds data
/// (and refuses to overwrite the latter); this adds the checks that need the path: a missing
/// file for commands that need one, a directory. With `--salvage` a damaged database opens,
/// and what it gave up is printed on stderr.
pub fn open(path: &Path, mode: Open) -> Result<Database, CliError> {
    let shown = path.display();
    let flags = OPEN_FLAGS.get().copied().unwrap_or_default();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if mode == Open::Existing || flags.read_only {
                return Err(CliError::failed(format!("{shown}: no such database file")));
            }
        }
        Err(e) => return Err(CliError::failed(format!("{shown}: {e}"))),
        Ok(m) if m.is_dir() => return Err(CliError::failed(format!("{shown}: is a directory"))),
        Ok(m) if m.len() == 0 && mode == Open::Existing => {
            return Err(CliError::failed(format!("{shown}: empty file, not a database yet")));
        }
        Ok(_) => {}
    }
    let timeout = lock_timeout();
    let options = tessera::Options {
        read_only: flags.read_only,
        salvage: flags.salvage,
        lock_timeout: timeout,
        ..Default::default()
    };
    let db = Database::open_with(path, options).map_err(|e| match e {
        Error::Locked if timeout.is_zero() => CliError::failed(format!(
            "{shown}: database is locked (another process or handle has it open; --timeout MS waits for it)"
        )),
        Error::Locked => CliError::failed(format!(
            "{shown}: database is locked (another process or handle kept it open for {} ms)",
            timeout.as_millis()
        )),
        // I/O errors from opening already name the path.
        Error::Io { .. } => CliError::from(e),
        e @ Error::Corrupted { .. } if !flags.salvage => CliError::failed(format!(
            "{shown}: {e}\n(tessera --salvage --readonly {shown} .dump > recovered.sql reads what is left)"
        )),
        e => CliError::failed(format!("{shown}: {e}")),
    })?;
    let report = db.recovery_report();
    if let Some(why) = report.opened_read_only {
        eprintln!("tessera: {shown}: opened read-only ({why})");
    }
    if let Some(what) = report.salvaged {
        eprintln!("tessera: {shown}: salvaged: {what}");
    }
    Ok(db)
}

fn expect_positionals<'a>(a: &'a Parsed, names: &[&str]) -> Result<&'a [std::ffi::OsString], CliError> {
    if a.positionals.len() != names.len() {
        let what = if a.positionals.len() < names.len() { "missing" } else { "too many" };
        return Err(CliError::usage(format!("{what} arguments (expected {})", names.join(" "))));
    }
    Ok(&a.positionals)
}

fn table_name(s: &OsStr) -> Result<&str, CliError> {
    os_str(s, "table name")
}

/// A key (or bound) from the command line: its bytes, or hex-decoded with `--hex`.
fn key_arg(s: &OsStr, hex: bool) -> Result<Vec<u8>, CliError> {
    if hex {
        from_hex(os_str(s, "hex key")?).map_err(CliError::Usage)
    } else {
        os_bytes(s)
    }
}

/// A value from the command line: `-` is stdin, `@PATH` a file, `@@...` a literal `@...`.
fn value_arg(s: &OsStr, hex: bool) -> Result<Vec<u8>, CliError> {
    let bytes = os_bytes(s)?;
    if bytes == b"-" {
        let mut v = Vec::new();
        std::io::stdin().lock().read_to_end(&mut v).map_err(|e| CliError::failed(format!("cannot read stdin: {e}")))?;
        return Ok(v);
    }
    if bytes.starts_with(b"@@") {
        return Ok(bytes[1..].to_vec());
    }
    if bytes.starts_with(b"@") {
        let path = Path::new(s.to_str().map(|t| OsStr::new(&t[1..])).unwrap_or_else(|| strip_first_byte(s)));
        return std::fs::read(path).map_err(|e| CliError::failed(format!("cannot read {}: {e}", path.display())));
    }
    key_arg(s, hex)
}

#[cfg(unix)]
fn strip_first_byte(s: &OsStr) -> &OsStr {
    use std::os::unix::ffi::OsStrExt;
    OsStr::from_bytes(&s.as_bytes()[1..])
}

#[cfg(not(unix))]
fn strip_first_byte(s: &OsStr) -> &OsStr {
    s
}

fn show_mode(hex: bool) -> Show {
    if hex {
        Show::Hex
    } else {
        Show::Auto
    }
}

// ---------------------------------------------------------------------------------------------
// Commands

fn put(ctx: &mut Context, a: Parsed) -> Result<(), CliError> {
    let p = expect_positionals(&a, &["TABLE", "KEY", "VALUE"])?;
    let hex = a.flag("--hex");
    let (table, key, value) = (table_name(&p[0])?, key_arg(&p[1], hex)?, value_arg(&p[2], hex)?);
    let db = open(&ctx.db_path, Open::CreateIfMissing)?;
    let tx = db.begin_write()?;
    tx.open_table(table)?.insert(&key, &value)?;
    tx.commit()?;
    Ok(())
}

fn get(ctx: &mut Context, a: Parsed) -> Result<(), CliError> {
    let p = expect_positionals(&a, &["TABLE", "KEY"])?;
    let (hex, raw) = (a.flag("--hex"), a.flag("--raw"));
    if hex && raw {
        return Err(CliError::usage("--hex and --raw cannot be combined"));
    }
    let (table, key) = (table_name(&p[0])?, key_arg(&p[1], hex)?);
    let db = open(&ctx.db_path, Open::Existing)?;
    let rx = db.begin_read()?;
    let t = rx.open_table(table)?;
    let Some(value) = t.get(&key)? else {
        return Err(CliError::failed(format!(
            "key not found in table {table:?}: {}",
            show(&key, show_mode(hex), false)
        )));
    };
    if raw {
        ctx.out.write_all(value.as_bytes())?;
    } else {
        let text = show(value.as_bytes(), show_mode(hex), true);
        // Text that already ends a line (a file's contents, usually) gets no second newline.
        let nl = if text.ends_with('\n') { "" } else { "\n" };
        write!(ctx.out, "{text}{nl}")?;
    }
    Ok(())
}

fn del(ctx: &mut Context, a: Parsed) -> Result<(), CliError> {
    let p = expect_positionals(&a, &["TABLE", "KEY"])?;
    let hex = a.flag("--hex");
    let (table, key) = (table_name(&p[0])?, key_arg(&p[1], hex)?);
    let db = open(&ctx.db_path, Open::Existing)?;
    let tx = db.begin_write()?;
    // Not `open_table`, which would create a missing table.
    let existed = tx.open_existing_table(table)?.remove(&key)?;
    let shown = show(&key, show_mode(hex), false);
    if !existed {
        return Err(CliError::failed(format!("key not found in table {table:?}: {shown}")));
    }
    tx.commit()?;
    writeln!(ctx.out, "deleted {shown}")?;
    Ok(())
}

fn scan(ctx: &mut Context, a: Parsed) -> Result<(), CliError> {
    let p = expect_positionals(&a, &["TABLE"])?;
    let table = table_name(&p[0])?;
    let hex = a.flag("--hex");
    let (reverse, keys_only) = (a.flag("--reverse"), a.flag("--keys-only"));
    let limit = match a.option("--limit") {
        None => usize::MAX,
        Some(s) => os_str(s, "--limit")?
            .parse::<usize>()
            .map_err(|_| CliError::usage(format!("--limit expects a non-negative integer, not {s:?}")))?,
    };
    let arg = |name| a.option(name).map(|s| key_arg(s, hex)).transpose();
    let (prefix, from, to) = (arg("--prefix")?, arg("--from")?, arg("--to")?);

    // Range = [max(from, prefix), min(to, successor(prefix))).
    let start = match (from, prefix.clone()) {
        (Some(f), Some(p)) => Some(f.max(p)),
        (f, p) => f.or(p),
    };
    let end = match (to, prefix.as_deref().and_then(prefix_successor)) {
        (Some(t), Some(s)) => Some(t.min(s)),
        (t, s) => t.or(s),
    };
    if let (Some(s), Some(e)) = (&start, &end) {
        if s >= e {
            return Ok(());
        }
    }
    let range = (start.map_or(Bound::Unbounded, Bound::Included), end.map_or(Bound::Unbounded, Bound::Excluded));

    let db = open(&ctx.db_path, Open::Existing)?;
    let rx = db.begin_read()?;
    let t = rx.open_table(table)?;
    let iter = t.range(range)?;
    let iter: Box<dyn Iterator<Item = _>> = if reverse { Box::new(iter.rev()) } else { Box::new(iter) };
    let mode = show_mode(hex);
    for entry in iter.take(limit) {
        let (k, v) = entry?;
        if keys_only {
            writeln!(ctx.out, "{}", show(k.as_bytes(), mode, false))?;
        } else {
            writeln!(ctx.out, "{}\t{}", show(k.as_bytes(), mode, false), show(v.as_bytes(), mode, false))?;
        }
    }
    Ok(())
}

fn tables(ctx: &mut Context, a: Parsed) -> Result<(), CliError> {
    expect_positionals(&a, &[])?;
    let db = open(&ctx.db_path, Open::Existing)?;
    let rx = db.begin_read()?;
    for name in rx.list_tables()? {
        let n = rx.open_table(&name)?.len()?;
        writeln!(ctx.out, "{}\t{n}", show(name.as_bytes(), Show::Auto, false))?;
    }
    Ok(())
}

fn stats(ctx: &mut Context, a: Parsed) -> Result<(), CliError> {
    expect_positionals(&a, &[])?;
    let db = open(&ctx.db_path, Open::Existing)?;
    let s = db.stats();
    let txn_id = db.begin_read()?.txn_id();
    let file_size =
        std::fs::metadata(&ctx.db_path).map_err(|e| CliError::failed(format!("{}: {e}", ctx.db_path.display())))?.len();
    let fields: [(&str, u64); 17] = [
        ("txn_id", txn_id),
        ("page_size", s.page_size),
        ("page_count", s.page_count),
        ("free_pages", s.free_pages),
        ("delta_bytes", s.delta_bytes),
        ("file_size", file_size),
        ("cache_hits", s.cache_hits),
        ("cache_misses", s.cache_misses),
        ("cache_bytes", s.cache_bytes),
        ("cache_budget", s.cache_budget),
        ("pages_read", s.pages_read),
        ("pages_written", s.pages_written),
        ("log_bytes_written", s.log_bytes_written),
        ("bytes_synced", s.bytes_synced),
        ("syncs", s.syncs),
        ("commits", s.commits),
        ("checkpoints", s.checkpoints),
    ];
    for (name, value) in fields {
        writeln!(ctx.out, "{name}: {value}")?;
    }
    Ok(())
}

fn check(ctx: &mut Context, a: Parsed) -> Result<(), CliError> {
    expect_positionals(&a, &[])?;
    // A file that cannot be opened counts as damage too.
    let db = open(&ctx.db_path, Open::Existing).map_err(|e| e.with_code(2))?;
    let r = db.check().map_err(|e| CliError::from(e).with_code(2))?;
    let out = &mut *ctx.out;
    writeln!(out, "pages in file: {}", r.page_count)?;
    writeln!(out, "pages checked: {}", r.pages_checked)?;
    writeln!(out, "tables: {}", r.tables)?;
    writeln!(out, "entries: {}", r.entries)?;
    writeln!(out, "free pages: {}", r.free_pages)?;
    writeln!(out, "leaked pages: {}", r.leaked_pages)?;
    writeln!(out, "errors: {}", r.errors.len())?;
    for e in &r.errors {
        writeln!(out, "  {e}")?;
    }
    // The SQL layer's own check, when the file has an SQL schema: rows, indexes and schema
    // records that the pages alone cannot vouch for.
    let sql = Connection::new(db)
        .and_then(|c| c.check())
        .map_err(|e| CliError::failed(format!("SQL check: {e}")).with_code(2))?;
    if sql.has_schema || !sql.is_ok() {
        writeln!(out, "sql tables: {}", sql.tables)?;
        writeln!(out, "sql indexes: {}", sql.indexes)?;
        writeln!(out, "sql views: {}", sql.views)?;
        writeln!(out, "sql rows: {}", sql.rows)?;
        writeln!(out, "sql index entries: {}", sql.index_entries)?;
        writeln!(out, "sql errors: {}", sql.problems.len())?;
        for p in &sql.problems {
            writeln!(out, "  {p}")?;
        }
    }
    if r.is_ok() && sql.is_ok() {
        writeln!(out, "ok")?;
        Ok(())
    } else {
        let n = r.errors.len() + sql.problems.len();
        Err(CliError::Failed {
            message: format!("database is damaged: {n} problem{} found", if n == 1 { "" } else { "s" }),
            code: 2,
        })
    }
}

fn compact(ctx: &mut Context, a: Parsed) -> Result<(), CliError> {
    expect_positionals(&a, &[])?;
    let db = open(&ctx.db_path, Open::Existing)?;
    let r = db.compact()?;
    writeln!(ctx.out, "bytes before: {}", r.bytes_before)?;
    writeln!(ctx.out, "bytes after: {}", r.bytes_after)?;
    writeln!(ctx.out, "saved: {}", r.bytes_before.saturating_sub(r.bytes_after))?;
    Ok(())
}
