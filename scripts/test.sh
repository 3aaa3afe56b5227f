#!/usr/bin/env bash
# Runs every test suite of the repository. Installs what is missing first (idempotent), so it
# works on a fresh machine with only rustup/cargo. Used verbatim by .ci/run.
#
#   TESSERA_TEST_SCALE   scales the long sweeps (crash, fault, model); default 1 (CI size)
#   TESSERA_BENCH_N      pairs for the peer benchmark smoke run; default 20000
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export TESSERA_TEST_SCALE="${TESSERA_TEST_SCALE:-1}"

step() { printf '\n== %s\n' "$*"; }

step "toolchain"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

step "format"
cargo fmt --all -- --check
cargo fmt --manifest-path bench/Cargo.toml -- --check

step "clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings
# The benchmarks are a crate of their own (bench/, its own workspace), so that the tests above
# and below never build the peer engines they compare against.
cargo clippy --manifest-path bench/Cargo.toml --all-targets -- -D warnings

step "API docs (rustdoc warnings are errors)"
# The tool first, on its own: its binary is named `tessera` like the library, and documenting both
# in one run writes both to target/doc/tessera/ (cargo#6313); the library's docs run last and win.
RUSTDOCFLAGS="-D warnings" cargo doc -p tessera-cli --no-deps
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --exclude tessera-cli --no-deps

step "engine builds as no_std + alloc for wasm32"
cargo build -p tessera --no-default-features --target wasm32-unknown-unknown
cargo build -p tessera --no-default-features --features sql --target wasm32-unknown-unknown
cargo build -p tessera --no-default-features --features sql,serde --target wasm32-unknown-unknown

step "tests (unit, integration, doc, CLI)"
cargo test --workspace

step "examples"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cargo run -q --example quickstart -- "$tmp/quickstart.db"

step "benchmarks, smoke size (TESSERA_BENCH_N=${TESSERA_BENCH_N:-20000})"
TESSERA_BENCH_N="${TESSERA_BENCH_N:-20000}" TESSERA_BENCH_DIR="$tmp" cargo bench --manifest-path bench/Cargo.toml --bench peers
cargo bench --manifest-path bench/Cargo.toml --bench micro -- --test
step "SQL benchmark vs SQLite, smoke size (TESSERA_SQL_BENCH_N=${TESSERA_SQL_BENCH_N:-20000})"
TESSERA_SQL_BENCH_N="${TESSERA_SQL_BENCH_N:-20000}" TESSERA_BENCH_DIR="$tmp" cargo bench --manifest-path bench/Cargo.toml --bench sql

step "wasm bindings: format and clippy (wasm32)"
cargo fmt --manifest-path wasm/Cargo.toml -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo clippy --manifest-path wasm/Cargo.toml --target wasm32-unknown-unknown -- -D warnings
# The engine-only build of tessera-db/kv (no `sql` feature).
cargo clippy --manifest-path wasm/Cargo.toml --target wasm32-unknown-unknown --no-default-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --manifest-path wasm/Cargo.toml --target wasm32-unknown-unknown --no-deps

step "npm package tessera-db: build the wasm, Node tests (source tree and packed tarball)"
bash npm/run-tests.sh

step "browser benchmark vs sqlite-wasm and IndexedDB (key-value and SQL), smoke size (npm run bench -- --quick)"
bash scripts/browser-tools.sh
(cd npm && node bench/run.mjs --quick)

# Last, so the run ends on a test runner's summary.
step "npm package tessera-db: browser tests (headless Chromium, OPFS in a Worker)"
bash npm/run-browser-tests.sh
