//! `tessera-native-helper write FILE`: create FILE with the reference dataset (native engine).
//! `tessera-native-helper dump FILE`: print every entry of every table, one line each:
//! `TABLE<TAB>KEY-HEX<TAB>VALUE-HEX`, tables sorted, keys in order.
//! `tessera-native-helper hold FILE [--readonly] [--timeout MS]`: open FILE (read-write: the
//! database; `--readonly`: the file device read-only, with its shared lock), print
//! `ready PID`, hold it until stdin ends, then print `closed` (for `lock.test.js`); a failed
//! open prints `error CODE MESSAGE` and exits with status 3.
//!
//! `npm/test/portability.test.js` builds the same dataset in Node (wasm) and compares dumps
//! both ways: native-written files read in Node, Node-written files read natively.

use std::fmt::Write as _;
use std::process::ExitCode;

/// The reference dataset; `referenceDataset()` in `npm/test/helpers.js` must build the same.
fn write(path: &str) -> tessera::Result<()> {
    let db = tessera::Database::open(path)?;
    let tx = db.begin_write()?;
    {
        let mut t = tx.open_table("items")?;
        for i in 0..3000u32 {
            let key = format!("key-{i:06}");
            let value = format!("value-{i}-").repeat((i % 7 + 1) as usize);
            t.insert(key.as_bytes(), value.as_bytes())?;
        }
        for i in (0..3000u32).step_by(10) {
            t.remove(format!("key-{i:06}").as_bytes())?;
        }
    }
    {
        let mut t = tx.open_table("blobs")?;
        let big: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(31) % 251) as u8).collect();
        t.insert(b"big", &big)?;
        t.insert(&[0u8, 255, 1], &[])?;
    }
    tx.commit()?;
    Ok(())
}

fn dump(path: &str) -> tessera::Result<String> {
    let db = tessera::Database::open(path)?;
    let rx = db.begin_read()?;
    let mut out = String::new();
    for name in rx.list_tables()? {
        let t = rx.open_table(&name)?;
        for e in t.iter()? {
            let (k, v) = e?;
            out.push_str(&name);
            out.push('\t');
            for b in k.iter() {
                write!(out, "{b:02x}").unwrap();
            }
            out.push('\t');
            for b in v.iter() {
                write!(out, "{b:02x}").unwrap();
            }
            out.push('\n');
        }
    }
    let report = db.check()?;
    if !report.is_ok() {
        return Err(tessera::Error::Corrupted { page: 0, reason: format!("check failed: {:?}", report.errors) });
    }
    Ok(out)
}

fn hold(path: &str, options: &[&str]) -> tessera::Result<()> {
    use std::io::{Read, Write};
    let mut device = tessera::device::FileOptions::default();
    let mut rest = options.iter();
    while let Some(&o) = rest.next() {
        match o {
            "--readonly" => device.read_only = true,
            "--timeout" => {
                let ms = rest.next().and_then(|s| s.parse().ok()).expect("--timeout MS");
                device.lock_timeout = std::time::Duration::from_millis(ms);
            }
            _ => panic!("unknown option {o}"),
        }
    }
    let opened = tessera::device::FileDevice::open_with_options(path, &device).and_then(|d| {
        if device.read_only {
            Ok((Some(d), None))
        } else {
            tessera::Database::open_device(d, tessera::Options::default()).map(|db| (None, Some(db)))
        }
    });
    let held = match opened {
        Ok(held) => held,
        Err(e) => {
            println!("error {} {e}", e.code());
            std::process::exit(3);
        }
    };
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(held);
    println!("closed");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["write", path] => write(path),
        ["dump", path] => dump(path).map(|s| print!("{s}")),
        ["hold", path, options @ ..] => hold(path, options),
        _ => {
            eprintln!("usage: tessera-native-helper write|dump|hold FILE");
            return ExitCode::from(2);
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera-native-helper: {e}");
            ExitCode::FAILURE
        }
    }
}
