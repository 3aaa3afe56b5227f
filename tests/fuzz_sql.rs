//! The SQL fuzz property (`sql_statements` in `fuzz/src/lib.rs`) run in CI without
//! cargo-fuzz: every seed of `fuzz/seeds/sql_statements/`, then deterministic pseudo-random
//! mutations of them (bytes flipped, inserted and deleted, statements spliced from other
//! seeds, keywords and multi-byte characters dropped in). Parsing, planning and running must
//! never panic or hang. Scaled by `TESSERA_TEST_SCALE`.

mod common;
#[path = "../fuzz/src/lib.rs"]
mod fuzz;

use common::{scaled, Rng};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The seed scripts, by file name.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/sql_statements");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 12, "expected a dozen seeds in {}", dir.display());
    out
}

/// Runs `sql_statements` on each input on a worker thread; fails on panics and hangs.
fn run_inputs(label: &str, inputs: Vec<(String, Vec<u8>)>) {
    let start = Instant::now();
    let total = inputs.len();
    let mut problems = Vec::new();
    for (name, input) in inputs {
        let (tx, rx) = mpsc::channel();
        let text = String::from_utf8_lossy(&input).into_owned();
        let worker = std::thread::spawn(move || {
            let r = std::panic::catch_unwind(|| fuzz::sql_statements(&input));
            let _ = tx.send(r.is_ok());
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(ok) => {
                let _ = worker.join();
                if !ok {
                    problems.push(format!("{name}: panicked on:\n{text}"));
                }
            }
            Err(_) => {
                // The worker is stuck (it is left behind): stop here.
                problems.push(format!("{name}: no result after 20 s (hang?) on:\n{text}"));
                break;
            }
        }
    }
    eprintln!("{label}: {total} inputs in {:?}, {} problems", start.elapsed(), problems.len());
    assert!(problems.is_empty(), "{label}: {} failed:\n{}", problems.len(), problems.join("\n---\n"));
}

#[test]
fn sql_seeds() {
    run_inputs("seeds", seeds());
}

/// Fragments spliced into mutated inputs: keywords, operators, literals and characters that
/// take the lexer and the planner down rarer paths.
const FRAGMENTS: &[&str] = &[
    " SELECT ",
    " FROM t ",
    " FROM u ",
    " WHERE ",
    " ORDER BY 1 ",
    " GROUP BY ",
    " LIMIT -1 ",
    " UNION ",
    " JOIN v ON ",
    " (SELECT a FROM t) ",
    " IN (",
    ")",
    "(",
    ",",
    " NULL ",
    " 'é中😀' ",
    " x'ff' ",
    " 1e999 ",
    " -9223372036854775808 ",
    " ? ",
    " :p ",
    " COLLATE NOCASE ",
    " LIKE '%_' ",
    " GLOB '[a-' ",
    " CAST(",
    " AS ",
    " RETURNING * ",
    " DEFAULT VALUES ",
    ";",
    "'",
    "\"",
    "/*",
    "--",
    "é",
    "中",
    "😀",
    "\u{0}",
];

#[test]
fn sql_mutations() {
    let seeds = seeds();
    let mut rng = Rng(0x5_91F0_22ED);
    let mut inputs = Vec::new();
    for n in 0..scaled(400) {
        let (name, base) = &seeds[rng.below(seeds.len() as u64) as usize];
        let mut s = base.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(s.len() as u64 + 1) as usize;
            match rng.below(5) {
                0 if !s.is_empty() => {
                    let at = at.min(s.len() - 1);
                    s[at] ^= 1 << rng.below(8);
                }
                1 => {
                    let end = (at + 1 + rng.below(12) as usize).min(s.len());
                    s.drain(at..end);
                }
                2 => {
                    let f = FRAGMENTS[rng.below(FRAGMENTS.len() as u64) as usize];
                    s.splice(at..at, f.bytes());
                }
                3 => {
                    // A statement of another seed.
                    let other = &seeds[rng.below(seeds.len() as u64) as usize].1;
                    let parts: Vec<&[u8]> = other.split(|&b| b == b';').collect();
                    let part = parts[rng.below(parts.len() as u64) as usize].to_vec();
                    s.splice(at..at, part.into_iter().chain(*b";"));
                }
                _ => s.insert(at, rng.below(256) as u8),
            }
        }
        inputs.push((format!("mutation {n} of {name}"), s));
    }
    run_inputs("mutations", inputs);
}
