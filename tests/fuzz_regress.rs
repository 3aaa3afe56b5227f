//! The fuzz property (`fuzz/src/lib.rs`) run in CI without cargo-fuzz: deterministic
//! pseudo-random damage to a valid image (raw, and with checksums recomputed so the damage
//! reaches the parsers), and pure garbage. Opening, walking, checking and writing must never
//! panic or hang. Scaled by `TESSERA_TEST_SCALE`.

mod common;
#[path = "../fuzz/src/lib.rs"]
mod fuzz;

use common::{scaled, Rng};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `open_walk` on each image on a worker thread; collects panics and hangs.
fn run_cases(label: &str, cases: Vec<(String, Vec<u8>)>) {
    let start = Instant::now();
    let total = cases.len();
    let mut problems = Vec::new();
    let mut hangs = 0;
    for (name, image) in cases {
        let (tx, rx) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            let r = std::panic::catch_unwind(|| fuzz::open_walk(&image));
            let _ = tx.send(r.map_err(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            }));
        });
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => {
                worker.join().unwrap();
            }
            Ok(Err(msg)) => {
                worker.join().unwrap();
                problems.push(format!("{name}: panicked: {msg}"));
            }
            Err(_) => {
                // The worker is stuck (it is left behind); give up after a few.
                problems.push(format!("{name}: no result after 10 s (hang?)"));
                hangs += 1;
                if hangs >= 2 {
                    break;
                }
            }
        }
    }
    eprintln!("{label}: {total} images in {:?}, {} problems", start.elapsed(), problems.len());
    if !problems.is_empty() {
        let mut distinct: Vec<String> = Vec::new();
        for p in &problems {
            let msg = p.split_once(": ").map_or(p.as_str(), |x| x.1);
            if !distinct.iter().any(|d| d.ends_with(msg)) {
                distinct.push(p.clone());
            }
        }
        panic!(
            "{label}: {} of {total} images failed; distinct failures:\n  {}",
            problems.len(),
            distinct.iter().take(20).cloned().collect::<Vec<_>>().join("\n  ")
        );
    }
}

/// Raw damage: flipped bytes, zeroed ranges, truncation, pages copied over other pages.
#[test]
fn damaged_images_raw() {
    let base = fuzz::base_image();
    let mut rng = Rng(0xDA_4A6E);
    let mut cases = Vec::new();
    for c in 0..scaled(300) {
        let mut img = base.to_vec();
        let kind = c % 5;
        let desc = match kind {
            0 => {
                let n = 1 + rng.below(8);
                for _ in 0..n {
                    let at = rng.below(img.len() as u64) as usize;
                    img[at] ^= 1 << rng.below(8);
                }
                format!("{n} bit flips")
            }
            1 => {
                let at = rng.below(img.len() as u64) as usize;
                let len = (rng.below(3 * fuzz::PAGE as u64) as usize).min(img.len() - at);
                img[at..at + len].fill(0);
                format!("zeroed {len} bytes at {at}")
            }
            2 => {
                let len = rng.below(img.len() as u64) as usize;
                img.truncate(len);
                format!("truncated to {len}")
            }
            3 => {
                let pages = img.len() / fuzz::PAGE;
                let (a, b) = (rng.below(pages as u64) as usize, rng.below(pages as u64) as usize);
                let src = img[a * fuzz::PAGE..(a + 1) * fuzz::PAGE].to_vec();
                img[b * fuzz::PAGE..(b + 1) * fuzz::PAGE].copy_from_slice(&src);
                format!("page {a} copied over page {b}")
            }
            _ => {
                let at = rng.below(img.len() as u64) as usize;
                let len = (rng.below(600) as usize).min(img.len() - at);
                for b in &mut img[at..at + len] {
                    *b = rng.next_u64() as u8;
                }
                format!("{len} random bytes at {at}")
            }
        };
        cases.push((format!("raw case {c} ({desc})"), img));
    }
    run_cases("raw damage", cases);
}

/// Damage with every checksum recomputed afterwards: the parsers of pages, slots, the free
/// list and log frames see malformed but checksum-valid input (a buggy writer, a hostile file).
#[test]
fn damaged_images_resealed() {
    let base = fuzz::base_image();
    let mut rng = Rng(0x5EA1);
    let mut cases = Vec::new();
    let pages = base.len() / fuzz::PAGE;
    for c in 0..scaled(400) {
        // A few patches, concentrated in one page (its header half the time).
        let page = rng.below(pages as u64) as usize;
        let n = 1 + rng.below(6);
        let mut data = Vec::new();
        let mut desc = Vec::new();
        for _ in 0..n {
            let within = if rng.below(2) == 0 { rng.below(40) } else { rng.below(fuzz::PAGE as u64) } as usize;
            let off = page * fuzz::PAGE + within;
            let val = rng.next_u64() as u8;
            data.extend_from_slice(&[off as u8, (off >> 8) as u8, (off >> 16) as u8, val]);
            desc.push(format!("[{within}]={val}"));
        }
        let img = fuzz::patched(base, &data);
        cases.push((format!("resealed case {c}: page {page} {}", desc.join(" ")), img));
    }
    run_cases("resealed damage", cases);
}

/// Pure garbage, and garbage behind a valid header and commit slot.
#[test]
fn garbage_images() {
    let mut rng = Rng(0x6A7B);
    let mut cases = Vec::new();
    for c in 0..scaled(100) {
        let len = match c % 4 {
            0 => rng.below(64) as usize,
            1 => rng.below(8 * fuzz::PAGE as u64) as usize,
            _ => (4 + rng.below(12) as usize) * fuzz::PAGE,
        };
        let mut img: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if c % 4 >= 2 {
            // Keep the real header and slots, so open gets past them into garbage pages.
            let base = fuzz::base_image();
            img[..fuzz::PAGE].copy_from_slice(&base[..fuzz::PAGE]);
            if c % 4 == 3 {
                fuzz::reseal(&mut img);
            }
        }
        cases.push((format!("garbage case {c} ({len} bytes)"), img));
    }
    cases.push(("empty".into(), Vec::new()));
    cases.push(("all zeros".into(), vec![0; 6 * fuzz::PAGE]));
    cases.push(("base image".into(), fuzz::base_image().to_vec()));
    run_cases("garbage", cases);
}

/// The base image itself opens, holds what was written, and checks clean.
#[test]
fn base_image_is_valid() {
    let db =
        tessera::Database::open_device(tessera::MemoryDevice::from_bytes(fuzz::base_image().to_vec()), fuzz::options())
            .unwrap();
    let rx = db.begin_read().unwrap();
    assert_eq!(rx.list_tables().unwrap(), ["a", "b", "c"]);
    assert_eq!(rx.open_table("a").unwrap().len().unwrap(), 267);
    assert_eq!(rx.open_table("c").unwrap().len().unwrap(), 2);
    drop(rx);
    assert_eq!(db.recovery_report().frames_replayed, 2);
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{report:?}");
}

/// Minimal case of the resealed-damage failures: a leaf page whose first cell offset points
/// past the end of the page, with a correct checksum. Opening and reading it must return
/// errors, not panic (today: `index out of bounds` under `Node::key`).
#[test]
fn checksummed_bad_cell_offset_is_an_error() {
    let dev = std::sync::Arc::new(tessera::MemoryDevice::new());
    let db = tessera::Database::open_device(dev.clone(), fuzz::options()).unwrap();
    let tx = db.begin_write().unwrap();
    for k in [&b"a"[..], b"b", b"c"] {
        tx.open_table("t").unwrap().insert(k, b"v").unwrap();
    }
    tx.commit().unwrap();
    db.checkpoint().unwrap();
    drop(db);
    let mut image = dev.to_bytes();
    let mut leaves = 0;
    for p in 1..image.len() / fuzz::PAGE {
        let page = &mut image[p * fuzz::PAGE..(p + 1) * fuzz::PAGE];
        if page[0] == 2 && u16::from_le_bytes([page[2], page[3]]) > 0 {
            page[32..34].copy_from_slice(&0xFFF0u16.to_le_bytes()); // slot 0 → near the page end
            leaves += 1;
        }
    }
    assert!(leaves > 0);
    fuzz::reseal(&mut image);
    run_cases("bad cell offset", vec![("leaf slot 0 offset 0xFFF0, checksum valid".into(), image)]);
}

/// Inputs the fuzzer once crashed on (`tests/data/fuzz-crash-*`, patch lists for the
/// `open_walk_patched` target), kept as regressions.
#[test]
fn fuzzer_crash_artifacts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("fuzz-crash-") {
            continue;
        }
        let input = std::fs::read(&path).unwrap();
        let image = fuzz::patched(fuzz::base_image(), &input);
        let r = std::panic::catch_unwind(|| fuzz::open_walk(&image));
        assert!(r.is_ok(), "{name} panics again");
        seen += 1;
    }
    assert!(seen > 0, "no fuzz artifacts found in {}", dir.display());
}
