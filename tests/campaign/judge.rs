//! Outcomes, the classification of one trial, and running a trial with a panic catcher and a
//! time limit.

use super::layout::FileMap;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Once;
use std::time::Duration;
use tessera::Error;

/// A file under test: its clean image, its layout, and older images of it.
pub struct Base {
    pub name: &'static str,
    pub image: Vec<u8>,
    pub map: FileMap,
    /// Images of the same file at earlier points (label, bytes), oldest first.
    pub snapshots: Vec<(String, Vec<u8>)>,
}

/// How one open-read-check of a damaged image ended. The column order of the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Open failed with Corrupted / NotADatabase / UnsupportedVersion.
    OpenError,
    /// Some read failed with Corrupted; every read that succeeded returned the model's data.
    ReadError,
    /// Every read returned the model's data; `check` (or the recovery report) named damage.
    CheckError,
    /// Every read returned the model's data, no error anywhere.
    Correct,
    /// The reads that succeeded returned an older committed state.
    Older,
    /// An error of another kind (I/O, SQL "no such table", ...), the reads that succeeded right.
    OtherError,
    /// Wrong data without an error, and `check` reported damage afterwards.
    SilentCaught,
    /// Wrong data without an error, and `check` found nothing.
    SilentUncaught,
    Panic,
    Hang,
}

impl Outcome {
    pub const ALL: [Outcome; 10] = [
        Outcome::OpenError,
        Outcome::ReadError,
        Outcome::CheckError,
        Outcome::Correct,
        Outcome::Older,
        Outcome::OtherError,
        Outcome::SilentCaught,
        Outcome::SilentUncaught,
        Outcome::Panic,
        Outcome::Hang,
    ];

    pub fn column(self) -> &'static str {
        match self {
            Outcome::OpenError => "open-err",
            Outcome::ReadError => "read-err",
            Outcome::CheckError => "check-err",
            Outcome::Correct => "correct",
            Outcome::Older => "older",
            Outcome::OtherError => "other-err",
            Outcome::SilentCaught => "silent/chk",
            Outcome::SilentUncaught => "silent",
            Outcome::Panic => "panic",
            Outcome::Hang => "hang",
        }
    }

    pub fn is_silent(self) -> bool {
        matches!(self, Outcome::SilentCaught | Outcome::SilentUncaught)
    }
}

pub struct Verdict {
    pub outcome: Outcome,
    /// For `Older`: the transaction id of the state the reads returned.
    pub older_txn: Option<u64>,
    pub detail: String,
}

impl Verdict {
    pub fn open_failed(e: Error) -> Verdict {
        let clean = matches!(e, Error::Corrupted { .. } | Error::NotADatabase(_) | Error::UnsupportedVersion(_));
        Verdict {
            outcome: if clean { Outcome::OpenError } else { Outcome::OtherError },
            older_txn: None,
            detail: format!("open: {e}"),
        }
    }

    pub fn failure(f: Failure) -> Verdict {
        match f {
            Failure::Panic(m) => Verdict { outcome: Outcome::Panic, older_txn: None, detail: m },
            Failure::Hang => Verdict {
                outcome: Outcome::Hang,
                older_txn: None,
                detail: format!("no answer within {} s", TIMEOUT.as_secs()),
            },
        }
    }
}

/// Where a trial puts the damaged image: in memory (`MemoryDevice`, read through `read`), or
/// in a temporary file opened by path (`FileDevice`: the memory-mapped read path of native use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Medium {
    Memory,
    File,
}

/// A damaged image on its medium; a file lives (in its own temporary directory) as long as this.
pub struct Placed {
    pub image: Option<Vec<u8>>,
    pub path: Option<std::path::PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

impl Placed {
    pub fn new(image: Vec<u8>, medium: Medium) -> Placed {
        match medium {
            Medium::Memory => Placed { image: Some(image), path: None, _dir: None },
            Medium::File => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let path = dir.path().join("damaged.tessera");
                std::fs::write(&path, &image).expect("write the damaged image");
                Placed { image: None, path: Some(path), _dir: Some(dir) }
            }
        }
    }
}

/// A read error that is a clean report of damage.
pub fn is_clean_error(e: &Error) -> bool {
    matches!(e, Error::Corrupted { .. })
}

/// Classify a trial whose open succeeded. `txns[i]` is the transaction of committed state `i`
/// (the last is the model); `consistent(i)` says whether every read that succeeded fits state
/// `i`, or how it does not.
pub fn classify(
    txns: &[u64],
    errors: Vec<String>,
    other: Vec<String>,
    check: Vec<String>,
    consistent: impl Fn(usize) -> Result<(), String>,
) -> Verdict {
    let last = txns.len() - 1;
    let first = |v: &[String]| v.first().cloned().unwrap_or_default();
    match consistent(last) {
        Ok(()) => {
            let (outcome, detail) = if !other.is_empty() {
                (Outcome::OtherError, format!("{} unexpected error(s), first: {}", other.len(), first(&other)))
            } else if !errors.is_empty() {
                (Outcome::ReadError, format!("{} read error(s), first: {}", errors.len(), first(&errors)))
            } else if !check.is_empty() {
                (Outcome::CheckError, format!("check: {}", first(&check)))
            } else {
                (Outcome::Correct, String::new())
            };
            Verdict { outcome, older_txn: None, detail }
        }
        Err(why) => {
            let errs = errors.len() + other.len();
            let note = if errs + check.len() > 0 {
                format!(
                    " ({errs} read errors; check: {})",
                    if check.is_empty() { "clean".into() } else { first(&check) }
                )
            } else {
                String::new()
            };
            if let Some(i) = (0..last).rev().find(|&i| consistent(i).is_ok()) {
                return Verdict {
                    outcome: Outcome::Older,
                    older_txn: Some(txns[i]),
                    detail: format!(
                        "reads returned the state of transaction {} (the last is {}){note}",
                        txns[i], txns[last]
                    ),
                };
            }
            let outcome = if check.is_empty() { Outcome::SilentUncaught } else { Outcome::SilentCaught };
            Verdict { outcome, older_txn: None, detail: format!("{why}{note}") }
        }
    }
}

pub enum Failure {
    Panic(String),
    Hang,
}

pub const TIMEOUT: Duration = Duration::from_secs(20);

thread_local! {
    static IN_TRIAL: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics inside trials are recorded (message and location), not printed; others print as usual.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_TRIAL.with(|t| t.get()) {
                let msg = info.to_string().replace('\n', " ");
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(msg));
            } else {
                prev(info);
            }
        }));
    });
}

/// Run `f` in its own thread: a panic becomes `Failure::Panic` (with the engine's location),
/// no answer within [`TIMEOUT`] `Failure::Hang` (the thread is left behind).
pub fn guarded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Failure> {
    install_hook();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("campaign trial".into())
        .stack_size(32 << 20)
        .spawn(move || {
            IN_TRIAL.with(|t| t.set(true));
            let r = catch_unwind(AssertUnwindSafe(f));
            let r = r.map_err(|_| LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "panic".into()));
            let _ = tx.send(r);
        })
        .expect("spawn a trial thread");
    match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(m)) => Err(Failure::Panic(m)),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Failure::Hang),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Failure::Panic("the trial thread died".into())),
    }
}
