//! The interactive session: line editing and history (rustyline), the `tessera> ` and
//! `   ...> ` prompts, Ctrl-C to drop the line being typed (and any unfinished statement),
//! Ctrl-D to leave. History is kept in `$TESSERA_HISTORY`, else `~/.tessera_history`; a file
//! that cannot be read or written is ignored, and `TESSERA_HISTORY=` (empty) keeps none.

use super::{Input, Shell, Stop};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;
use std::io::Write;
use std::path::PathBuf;

const PROMPT: &str = "tessera> ";
const CONTINUE: &str = "   ...> ";

/// Read and run lines from the terminal until Ctrl-D or `.quit`.
pub fn run(shell: &mut Shell) -> Result<(), Stop> {
    let mut editor = DefaultEditor::new().map_err(|e| terminal_error(shell, e))?;
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    writeln!(
        shell.out,
        "tessera {} SQL shell on {}\nStatements end with ';'. Enter \".help\" for the dot-commands, Ctrl-D to leave.",
        env!("CARGO_PKG_VERSION"),
        shell.path.display()
    )
    .and_then(|()| shell.out.flush())
    .map_err(Stop::Output)?;
    let mut input = Input::new(None, true);
    let result = loop {
        let prompt = if input.splitter.is_idle() { PROMPT } else { CONTINUE };
        match editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                match shell.line(&mut input, &format!("{line}\n")) {
                    Ok(()) => {}
                    Err(Stop::Failed) => input.splitter.clear(),
                    Err(stop) => break Err(stop),
                }
            }
            Err(ReadlineError::Interrupted) => input.splitter.clear(),
            Err(ReadlineError::Eof) => break Ok(()),
            Err(e) => break Err(terminal_error(shell, e)),
        }
    };
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    match result {
        Err(Stop::Quit) => Ok(()),
        r => r,
    }
}

fn terminal_error(shell: &mut Shell, e: ReadlineError) -> Stop {
    let _ = shell.out.flush();
    let _ = writeln!(std::io::stderr(), "Error: cannot read the terminal: {e}");
    Stop::Failed
}

fn history_path() -> Option<PathBuf> {
    match std::env::var_os("TESSERA_HISTORY") {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(PathBuf::from(p)),
        None => std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".tessera_history")),
    }
}
