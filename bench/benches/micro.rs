//! Micro-benchmarks of Tessera alone (criterion), from the repository root:
//! `cargo bench --manifest-path bench/Cargo.toml --bench micro`.
//!
//! - `insert_10k/{memory,file}`: 10,000 random 24-byte keys with 150-byte values inserted in one
//!   write transaction and committed, into a fresh database each iteration;
//! - `get/100k`: one point read of a random existing key in a 100,000-key table (file backend,
//!   one read snapshot held across iterations);
//! - `range/100`: a 100-entry forward scan from a random existing key in the same table;
//! - `commit/durable`: one insert and a durable commit (one device sync) on a file.
//!
//! File databases live under `TESSERA_BENCH_DIR` if set, else `<cargo target dir>/bench-tmp`
//! (a real disk, unlike a tmpfs /tmp, so the durable commit measures a real sync).

mod common;

use common::Rng;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use tessera::Database;

const KEY_LEN: usize = 24;
const VALUE_LEN: usize = 150;
const TABLE: &str = "kv";

fn pairs(n: usize, seed: u64) -> Vec<([u8; KEY_LEN], [u8; VALUE_LEN])> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let mut k = [0u8; KEY_LEN];
            let mut v = [0u8; VALUE_LEN];
            rng.fill(&mut k);
            rng.fill(&mut v);
            (k, v)
        })
        .collect()
}

/// The directory the file databases go in (see the module docs).
fn bench_root() -> PathBuf {
    let root = match std::env::var("TESSERA_BENCH_DIR") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => {
            let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| {
                std::env::current_exe()
                    .ok()
                    .and_then(|exe| exe.parent()?.parent()?.parent().map(Path::to_path_buf))
                    .unwrap_or_else(|| PathBuf::from("target"))
            });
            target.join("bench-tmp")
        }
    };
    std::fs::create_dir_all(&root).expect("creating the benchmark directory");
    root
}

fn temp_db(root: &Path) -> (tempfile::TempDir, Database) {
    let dir = tempfile::Builder::new().prefix("micro-").tempdir_in(root).unwrap();
    let db = Database::open(dir.path().join("db.tessera")).unwrap();
    (dir, db)
}

fn insert_all(db: &Database, pairs: &[([u8; KEY_LEN], [u8; VALUE_LEN])]) {
    let tx = db.begin_write().unwrap();
    {
        let mut t = tx.open_table(TABLE).unwrap();
        for (k, v) in pairs {
            t.insert(k, v).unwrap();
        }
    }
    tx.commit().unwrap();
}

fn insert_10k(c: &mut Criterion) {
    let data = pairs(10_000, 1);
    let root = bench_root();
    let mut g = c.benchmark_group("insert_10k");
    g.sample_size(20);
    g.throughput(Throughput::Elements(data.len() as u64));
    g.bench_function("memory", |b| {
        b.iter_batched(
            Database::memory,
            |db| {
                insert_all(&db, &data);
                db
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("file", |b| {
        b.iter_batched(
            || temp_db(&root),
            |(dir, db)| {
                insert_all(&db, &data);
                (dir, db)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn reads(c: &mut Criterion) {
    const N: usize = 100_000;
    let data = pairs(N, 2);
    let root = bench_root();
    let (_dir, db) = temp_db(&root);
    insert_all(&db, &data);
    let mut rng = Rng::new(3);
    let order: Vec<usize> = (0..1 << 16).map(|_| rng.below(N)).collect();

    let rx = db.begin_read().unwrap();
    let t = rx.open_table(TABLE).unwrap();
    let mut g = c.benchmark_group("get");
    let mut i = 0;
    g.bench_function("100k", |b| {
        b.iter(|| {
            let key = &data[order[i & 0xffff]].0;
            i += 1;
            let v = t.get(black_box(key)).unwrap().expect("key present");
            black_box(v.len())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("range");
    g.throughput(Throughput::Elements(100));
    let mut i = 0;
    g.bench_function("100", |b| {
        b.iter(|| {
            let start = &data[order[i & 0xffff]].0;
            i += 1;
            let mut sum = 0usize;
            for item in t.range(black_box(&start[..])..).unwrap().take(100) {
                let (k, v) = item.unwrap();
                sum += k.len() + v.len();
            }
            black_box(sum)
        })
    });
    g.finish();
}

fn durable_commit(c: &mut Criterion) {
    let root = bench_root();
    let (_dir, db) = temp_db(&root);
    let mut rng = Rng::new(4);
    let value = [7u8; VALUE_LEN];
    let mut g = c.benchmark_group("commit");
    g.bench_function("durable", |b| {
        b.iter(|| {
            let mut key = [0u8; KEY_LEN];
            rng.fill(&mut key);
            let tx = db.begin_write().unwrap();
            {
                let mut t = tx.open_table(TABLE).unwrap();
                t.insert(&key, &value).unwrap();
            }
            tx.commit().unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, insert_10k, reads, durable_commit);
criterion_main!(benches);
