//! Tessera's benchmarks, a crate of their own so that the root workspace's tests and lints never
//! build the engines they compare against (redb, LMDB through heed, fjall, SQLite) or criterion.
//! It has no code of its own: the benchmarks are `benches/peers.rs`, `benches/micro.rs` and
//! `benches/sql.rs` (sharing `benches/common/`), run from the repository root with
//! `cargo bench --manifest-path bench/Cargo.toml --bench NAME`. Their cargo target dir, where
//! reports and scratch files go by default, is `bench/target/` (or `CARGO_TARGET_DIR`).
//! Method and figures: `docs/BENCHMARKS.md`.
