//! Format stability: the golden files under `tests/golden/v<N>/` were written by the build of
//! format version N (`examples/golden.rs`; see `tests/golden/README.md`). This build must open
//! each of them and read back exactly what the expected files list, or refuse a version it does
//! not read with a clear error — never misread one.

#[path = "golden/render.rs"]
mod render;

use flate2::read::GzDecoder;
use render::{kv_line, render};
use std::io::Read;
use std::path::{Path, PathBuf};
use tessera::sql::Connection;
use tessera::{Database, Error, MemoryDevice, Options};

/// The format version this build writes (the newest folder under tests/golden).
const FORMAT_VERSION: u32 = 2;

fn golden_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no golden files under {}", root.display());
    dirs
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    out
}

/// The golden database `name` of `dir`, unpacked into a fresh temporary directory (opening
/// may upgrade or recover it in place; the committed file stays untouched).
fn unpack(dir: &Path, name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(format!("{name}.tsr"));
    std::fs::write(&path, gunzip(&dir.join(format!("{name}.tsr.gz")))).unwrap();
    (tmp, path)
}

fn expected(dir: &Path, name: &str) -> String {
    String::from_utf8(gunzip(&dir.join(format!("{name}.expected.gz")))).unwrap()
}

fn kv_dump(db: &Database) -> String {
    let rx = db.begin_read().unwrap();
    let mut out = String::new();
    for name in rx.list_tables().unwrap() {
        for e in rx.open_table(&name).unwrap().iter().unwrap() {
            let (k, v) = e.unwrap();
            out.push_str(&kv_line(&name, &k, &v));
        }
    }
    out
}

/// Runs every `Q` line of the expected file and renders the rows as the generator did.
fn sql_dump(db: &mut Connection, expected: &str) -> String {
    let mut out = String::new();
    for q in expected.lines().filter_map(|l| l.strip_prefix("Q ")) {
        out.push_str(&format!("Q {q}\n"));
        for row in db.query(q, ()).unwrap_or_else(|e| panic!("{q}: {e}")) {
            let row = row.unwrap();
            let cells: Vec<String> = row.values().iter().map(render).collect();
            out.push_str(&format!("R {}\n", cells.join(" ")));
        }
    }
    out
}

/// Compares line by line, naming the first difference (the files are large).
fn assert_same(got: &str, want: &str, what: &str) {
    if got == want {
        return;
    }
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let i = g.iter().zip(&w).position(|(a, b)| a != b).unwrap_or(g.len().min(w.len()));
    panic!(
        "{what}: differs at line {} ({} lines read, {} expected):\n  got:  {:?}\n  want: {:?}",
        i + 1,
        g.len(),
        w.len(),
        g.get(i),
        w.get(i)
    );
}

#[test]
fn golden_key_value_files_read_back() {
    for dir in golden_dirs() {
        let what = format!("{}/kv", dir.display());
        let want = expected(&dir, "kv");
        let (_tmp, path) = unpack(&dir, "kv");
        // Read-only: the file is read as it is, its log replayed in memory, nothing written.
        let before = std::fs::read(&path).unwrap();
        let ro = Options { read_only: true, ..Options::default() };
        let db = Database::open_device(MemoryDevice::from_bytes(before.clone()), ro).unwrap();
        assert_same(&kv_dump(&db), &want, &format!("{what}, read-only"));
        assert!(matches!(db.begin_write().map(drop), Err(Error::ReadOnly)));
        drop(db);
        assert!(std::fs::read(&path).unwrap() == before, "{what}: a read-only open wrote");
        let db = Database::open(&path).unwrap_or_else(|e| panic!("{what}: open: {e}"));
        assert_same(&kv_dump(&db), &want, &what);
        let version = u32::from_le_bytes(std::fs::read(&path).unwrap()[8..12].try_into().unwrap());
        assert_eq!(version, FORMAT_VERSION, "{what}: not upgraded");
        let old: u32 = dir.file_name().unwrap().to_str().unwrap()[1..].parse().unwrap();
        let want_upgrade = (old < FORMAT_VERSION).then_some(old);
        assert_eq!(db.recovery_report().upgraded_from, want_upgrade, "{what}");
        let report = db.check().unwrap();
        assert!(report.is_ok(), "{what}: check: {report:?}");
        // Still a working database, and the same after a reopen.
        let tx = db.begin_write().unwrap();
        tx.open_table("added").unwrap().insert(b"k", b"v").unwrap();
        tx.commit().unwrap();
        drop(db);
        let db = Database::open(&path).unwrap();
        // "added" sorts before every golden table.
        let with_added = format!("{}{want}", kv_line("added", b"k", b"v"));
        assert_same(&kv_dump(&db), &with_added, &format!("{what}, reopened after a write"));
    }
}

#[test]
fn golden_sql_files_read_back() {
    for dir in golden_dirs() {
        let what = format!("{}/sql", dir.display());
        let want = expected(&dir, "sql");
        let (_tmp, path) = unpack(&dir, "sql");
        let mut db = Connection::open(&path).unwrap_or_else(|e| panic!("{what}: open: {e}"));
        assert_same(&sql_dump(&mut db, &want), &want, &what);
        let report = db.check().unwrap_or_else(|e| panic!("{what}: SQL check: {e}"));
        assert!(report.is_ok() && report.has_schema, "{what}: SQL check: {report:?}");
        db.execute("INSERT INTO kv VALUES ('added', x'00')", ()).unwrap();
        drop(db);
        let mut db = Connection::open(&path).unwrap();
        let n: i64 = db.query_one("SELECT count(*) FROM kv WHERE k = 'added'", ()).unwrap();
        assert_eq!(n, 1, "{what}: the write after the upgrade is missing");
        db.execute("DELETE FROM kv WHERE k = 'added'", ()).unwrap();
        assert_same(&sql_dump(&mut db, &want), &want, &what);
        let db = Database::open(&path);
        assert!(matches!(db, Err(Error::Locked)) || db.is_ok());
    }
}

/// A file from a newer format version is refused with an error naming both versions, and the
/// refusal writes nothing.
#[test]
fn newer_format_version_is_refused_untouched() {
    let dir = golden_dirs().pop().unwrap();
    let (_tmp, path) = unpack(&dir, "kv");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8..12].copy_from_slice(&99u32.to_le_bytes());
    // Reseal the header (CRC-32 of bytes 0..64 with the checksum field as zero).
    bytes[16..20].fill(0);
    let crc = crc32fast::hash(&bytes[..64]);
    bytes[16..20].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = Database::open(&path).unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion(99)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("99"), "{msg}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "refusing a newer file changed it");
}
