//! `tessera-native-helper write FILE`: create FILE with the reference dataset (native engine).
//! `tessera-native-helper dump FILE`: print every entry of every table, one line each:
//! `TABLE<TAB>KEY-HEX<TAB>VALUE-HEX`, tables sorted, keys in order.
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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["write", path] => write(path),
        ["dump", path] => dump(path).map(|s| print!("{s}")),
        _ => {
            eprintln!("usage: tessera-native-helper write|dump FILE");
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
