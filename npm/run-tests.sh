#!/usr/bin/env bash
# Build the wasm package (wasm-pack + wasm-opt) and run the Node tests of tessera-db.
#
#   bash npm/run-tests.sh               # install missing tools, build, test
#   bash npm/run-tests.sh --build-only  # install missing tools, build npm/pkg/
#
# Respects CARGO_TARGET_DIR. Installs what is missing first (scripts/wasm-tools.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build_only=0
[ "${1:-}" = "--build-only" ] && build_only=1

bash "$root/scripts/wasm-tools.sh"

echo "== wasm-pack build (release, --target web)"
# --target web: ESM glue with initSync(), which node.js feeds the .wasm bytes (fs.readFileSync)
# and a browser entry can feed fetch()ed bytes: one package for both.
(cd "$here" && wasm-pack build "$root/wasm" --release --target web --out-dir "$here/pkg" --out-name tessera --no-pack)

# wasm-pack's own wasm-opt download does not work offline; use binaryen from npm instead.
wasm_opt="$here/node_modules/.bin/wasm-opt"
if [ -x "$wasm_opt" ]; then
    echo "== wasm-opt -Oz"
    "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-mutable-globals --enable-reference-types --enable-multivalue \
        "$here/pkg/tessera_bg.wasm" -o "$here/pkg/tessera_bg.opt.wasm"
    mv "$here/pkg/tessera_bg.opt.wasm" "$here/pkg/tessera_bg.wasm"
else
    echo "wasm-opt not found (npm/node_modules missing?): the .wasm stays unoptimised" >&2
fi

# What the package ships: src/*.js minified one file each into dist/ (same relative paths, so
# '../pkg/tessera.js' and new URL('./worker.js', import.meta.url) still resolve), and the
# wasm-bindgen glue minified in place. Tests run against src/ and, through the packed tarball,
# against dist/.
echo "== esbuild --minify: src/*.js -> dist/, pkg/tessera.js in place"
esbuild="$here/node_modules/.bin/esbuild"
rm -rf "$here/dist"
"$esbuild" "$here"/src/*.js --minify --outdir="$here/dist" --log-level=warning
"$esbuild" "$here/pkg/tessera.js" --minify --outfile="$here/pkg/tessera.js" --allow-overwrite --log-level=warning

wasm_bytes=$(wc -c <"$here/pkg/tessera_bg.wasm")
wasm_gz=$(gzip -9c "$here/pkg/tessera_bg.wasm" | wc -c)
js_bytes=$(cat "$here/pkg/tessera.js" "$here"/dist/*.js | wc -c)
js_gz=$(cat "$here/pkg/tessera.js" "$here"/dist/*.js | gzip -9c | wc -c)
echo "== size: tessera_bg.wasm $wasm_bytes bytes ($wasm_gz gzipped); JS (glue + dist) $js_bytes bytes ($js_gz gzipped); total $((wasm_gz + js_gz)) bytes gzipped"

[ "$build_only" = 1 ] && exit 0

echo "== native helper (portability test)"
cargo build --quiet --release --manifest-path "$here/test/native-helper/Cargo.toml"

echo "== node --test (source tree)"
(cd "$here" && node --test test/*.test.js)

echo "== npm pack, install into a fresh folder, node --test against the installed package"
consumer="$(mktemp -d)"
trap 'rm -rf "$consumer"' EXIT
tarball="$(cd "$here" && npm pack --silent --pack-destination "$consumer" | tail -n 1)"
(
    cd "$consumer"
    echo '{ "name": "consumer", "private": true, "type": "module" }' >package.json
    npm install --silent --no-audit --no-fund "./$tarball"
    echo "export * from 'tessera-db';" >entry.js
    node -e "import('tessera-db').then(({ Tessera }) => { const db = Tessera.memory(); db.put('t', 'k', 'v'); if (!db.get('t', 'k')) process.exit(1); })"
)
(cd "$here" && TESSERA_DB_ENTRY="$consumer/entry.js" node --test test/*.test.js)
