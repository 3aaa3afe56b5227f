//! Tessera's benchmarks (`benches/`), a crate of their own so that the root workspace's tests
//! never build the peer engines they compare against. See `docs/BENCHMARKS.md`.
