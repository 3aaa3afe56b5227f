#!/usr/bin/env bash
# Installs what the browser tests of tessera-db need, skipping whatever is already there
# (idempotent; safe to run on every CI job):
#   - Debian's chromium (apt-get), checked at /usr/bin/chromium (override: TESSERA_CHROMIUM)
#   - the npm dev dependencies of npm/ (playwright-core), when missing
# Never runs `npx playwright install`: the tests drive the system chromium.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chromium="${TESSERA_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$chromium" ]; then
    echo "browser-tools: installing chromium (apt-get)"
    sudo_cmd=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends chromium
fi

if [ ! -d "$root/npm/node_modules/playwright-core" ]; then
    echo "browser-tools: installing npm dev dependencies (playwright-core)"
    if [ -f "$root/npm/package-lock.json" ] && grep -q '"node_modules/playwright-core"' "$root/npm/package-lock.json"; then
        (cd "$root/npm" && npm ci --no-audit --no-fund)
    else
        (cd "$root/npm" && npm install --no-audit --no-fund --save-dev playwright-core)
    fi
fi
echo "browser-tools: ok ($("$chromium" --version 2>/dev/null || echo "chromium at $chromium"), playwright-core $(node -p "require('$root/npm/node_modules/playwright-core/package.json').version"))"
