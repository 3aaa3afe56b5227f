//! The harness of the CLI tests: runs the built `tessera` binary in a temporary directory.
#![allow(dead_code)] // each test crate uses its own part of it

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub struct Env {
    dir: TempDir,
    /// Tests run one at a time: a database file a test holds open in this process must not be
    /// inherited by another test's child between fork and exec, which would keep its lock
    /// (flock belongs to the open file description) after the test closed it.
    _serial: std::sync::MutexGuard<'static, ()>,
}

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What one run of the binary produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success; stderr: {}", self.stderr);
        self
    }
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
}

impl Env {
    pub fn new() -> Env {
        let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Env { dir: tempfile::tempdir().expect("temp dir"), _serial: serial }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.args(args).current_dir(self.dir.path()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = cmd.spawn().expect("spawn tessera");
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input).unwrap();
        }
        // Read both pipes on threads and poll for exit, so a hang fails the test instead of
        // blocking the suite.
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                r.read_to_end(&mut v).map(|_| v)
            })
        };
        let out = drain(Box::new(child.stdout.take().unwrap()));
        let err = drain(Box::new(child.stderr.take().unwrap()));
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for tessera") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("tessera {args:?} did not finish within {TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let stdout_bytes = out.join().unwrap().expect("read stdout");
        let stderr = String::from_utf8_lossy(&err.join().unwrap().expect("read stderr")).into_owned();
        let run = Run {
            code: status.code().expect("exited normally, not by a signal"),
            stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
            stdout_bytes,
            stderr,
        };
        assert!(!run.stderr.contains("panicked"), "tessera panicked: {}", run.stderr);
        run
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);
