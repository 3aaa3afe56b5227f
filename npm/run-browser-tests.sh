#!/usr/bin/env bash
# Browser tests of tessera-db: headless Debian chromium driven by playwright-core, pages served
# from 127.0.0.1 by a tiny node:http server (test-browser/helpers.js).
#
#   bash npm/run-browser-tests.sh            # build pkg/ (both flavours) if missing, install
#                                            # chromium and playwright-core if missing, run the tests
#   TESSERA_REBUILD=1 bash npm/run-browser-tests.sh   # rebuild pkg/ first even if present
#   TESSERA_CHROMIUM=/path/to/chromium ...   # another chromium binary (default /usr/bin/chromium)
#
# Respects CARGO_TARGET_DIR (passed on to run-tests.sh --build-only).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

if [ "${TESSERA_REBUILD:-0}" = 1 ] || [ ! -f "$here/pkg/tessera_bg.wasm" ] || [ ! -f "$here/pkg/tessera.js" ] ||
    [ ! -f "$here/pkg/tessera_kv_bg.wasm" ] || [ ! -f "$here/pkg/tessera_kv.js" ]; then
    bash "$here/run-tests.sh" --build-only
fi

bash "$root/scripts/browser-tools.sh"

echo "== node --test test-browser (headless chromium)"
cd "$here"
node --test --test-concurrency=1 test-browser/*.test.js
