#!/usr/bin/env bash
# Installs what the wasm build and the npm tests need, skipping whatever is already there
# (idempotent; safe to run on every CI job):
#   - the rustup target wasm32-unknown-unknown
#   - wasm-bindgen-cli at exactly the wasm-bindgen version locked in wasm/Cargo.lock
#   - wasm-pack
#   - the npm dev dependencies of npm/ (when npm/node_modules is missing)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi

# The version wasm/Cargo.lock resolves wasm-bindgen to (Cargo.toml pins it with `=`).
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$root/wasm/Cargo.lock")"
if [ -z "$want" ]; then
    echo "wasm-tools: cannot find the wasm-bindgen version in wasm/Cargo.lock" >&2
    exit 1
fi
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
    echo "wasm-tools: installing wasm-bindgen-cli $want (found: ${have:-none})"
    cargo install wasm-bindgen-cli --version "$want" --force
fi

if ! command -v wasm-pack >/dev/null 2>&1; then
    echo "wasm-tools: installing wasm-pack"
    cargo install wasm-pack
fi

# npm dev dependencies: install when missing, or when one the build needs (esbuild, wasm-opt)
# is absent from an older node_modules.
if [ -f "$root/npm/package.json" ] && { [ ! -x "$root/npm/node_modules/.bin/esbuild" ] || [ ! -x "$root/npm/node_modules/.bin/wasm-opt" ]; }; then
    if [ -f "$root/npm/package-lock.json" ]; then
        (cd "$root/npm" && npm ci --no-audit --no-fund)
    else
        (cd "$root/npm" && npm install --no-audit --no-fund)
    fi
fi
echo "wasm-tools: ok (wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'), $(wasm-pack --version))"
