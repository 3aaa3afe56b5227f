#!/usr/bin/env node
// `npm run bench` (in npm/): serve npm/ on 127.0.0.1, open bench/index.html in the system's
// headless Chromium (playwright-core; never a downloaded browser), run the benchmark page, print
// a Markdown table and the package size line, exit.
//
//   node bench/run.mjs [--runs=N] [--order=tessera,sqlite,indexeddb] [--sql-order=tessera,sqlite]
//                      [--only=kv|sql] [--quick] [--json=out.json] [--profile=DIR] [--no-channel]
//
// Two parts: the key-value workloads through each engine's main-thread API, then the SQL
// workloads through Tessera's and sqlite-wasm's synchronous APIs, each in a dedicated Worker
// (bench/sql-worker.js). `--only` runs one part. `--profile=DIR` records a V8 CPU profile of
// each SQL workload inside its worker (Chrome DevTools protocol: auto-attach to the worker,
// Profiler.start/stop around the workload) into DIR/run<N>-<engine>-<workload>.cpuprofile and
// prints the top functions by self time (the sampling slows the run: do not quote its timings).
//
// Each run uses a fresh persistent profile in a new temporary directory (so OPFS and IndexedDB
// live on disk: an incognito context, playwright's default newContext(), keeps both in memory,
// which would make every durability figure meaningless). The page also clears both before each
// engine.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { launchPersistent, tempDir, executablePath, startServer } from '../test-browser/helpers.js';
import { summarise } from './profile-top.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const argv = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
  if (!m) throw new Error(`bad argument ${a}`);
  return [m[1], m[2] ?? true];
}));
const runs = Number(argv.runs ?? 1);
const config = {};
if (argv.order) config.engines = String(argv.order).split(',');
if (argv['sql-order']) config.sqlEngines = String(argv['sql-order']).split(',');
if (argv.only === 'kv') config.sqlEngines = [];
else if (argv.only === 'sql') config.engines = [];
else if (argv.only) throw new Error(`--only=kv or --only=sql, not ${argv.only}`);
// --no-channel: Tessera without its SharedArrayBuffer channel (what a page that is not
// cross-origin isolated gets: every call a message).
if (argv['no-channel']) config.tesseraOptions = { sharedChannel: false };
if (argv.quick) Object.assign(config, { bulk: 10_000, durable: 100, reads: 10_000, singleReads: 10_000 });

// The test server (same root, npm/), plus the cross-origin isolation headers (harmless;
// sqlite-wasm's opfs-sahpool does not need them).
const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

const gz = (buf) => zlib.gzipSync(buf, { level: 9 }).length;
// The two flavours of the package (as run-tests.sh counts them): the glue, the .wasm, and the
// modules of src/ each one loads (Node and browser entries); the size goal of each.
const flavours = [
  { label: 'full (engine + SQL, tessera-db)', glue: 'tessera', goal: 300_000, modules: ['core', 'sql', 'node-base', 'node', 'opfs-base', 'opfs', 'worker-base', 'worker', 'browser-base', 'browser'] },
  { label: 'engine-only (tessera-db/kv)', glue: 'tessera_kv', goal: 150_000, modules: ['core', 'node-base', 'node-kv', 'opfs-base', 'opfs-kv', 'worker-base', 'worker-kv', 'browser-base', 'browser-kv'] },
];

function sizeLine() {
  // What the package ships: dist/ (src/ minified by run-tests.sh) if built, else src/.
  const dir = fs.existsSync(path.join(root, 'dist/browser.js')) ? 'dist' : 'src';
  const kb = (n) => (n / 1024).toFixed(1);
  const lines = [];
  for (const f of flavours) {
    const wasmFile = path.join(root, `pkg/${f.glue}_bg.wasm`);
    if (!fs.existsSync(wasmFile)) continue;
    const js = (mods) => Buffer.concat([path.join(root, `pkg/${f.glue}.js`), ...mods.map((m) => path.join(root, dir, `${m}.js`))].map((p) => fs.readFileSync(p)));
    const w = gz(fs.readFileSync(wasmFile));
    const a = gz(js(f.modules));
    // What a browser loads: no node*.js.
    const b = gz(js(f.modules.filter((m) => !m.startsWith('node'))));
    lines.push(
      `Size (gzip -9), ${f.label}: ${f.glue}_bg.wasm ${w} B + JS (pkg/${f.glue}.js + its ${dir}/*.js) ${a} B = ${w + a} B = ${kb(w + a)} KiB (goal < ${f.goal / 1000} KB: ${w + a < f.goal ? 'met' : 'MISSED'}); browser-only JS (no node*.js) ${b} B, total ${kb(w + b)} KiB.`,
    );
  }
  const sqlDir = path.join(root, 'node_modules/@sqlite.org/sqlite-wasm/dist');
  const sw = gz(fs.readFileSync(path.join(sqlDir, 'sqlite3.wasm')));
  const sj = gz(fs.readFileSync(path.join(sqlDir, 'index.mjs')));
  lines.push(`For comparison, @sqlite.org/sqlite-wasm: sqlite3.wasm ${sw} B + dist/index.mjs ${sj} B = ${kb(sw + sj)} KiB gzipped.`);
  return lines.join('\n');
}

const labels = {
  bulk: (c) => `${c.bulk.toLocaleString('en')} inserts, one transaction`,
  durable: (c) => `${c.durable.toLocaleString('en')} inserts, each its own durable transaction`,
  readBatched: (c) => `${c.reads.toLocaleString('en')} random point reads, batched (${c.readBatch.toLocaleString('en')}/message; IndexedDB: one readonly tx)`,
  readSingle: (c) => `${c.singleReads.toLocaleString('en')} random point reads, one call each (IndexedDB: one tx each)`,
  scan: () => 'full scan (all rows, key order)',
};

const sqlLabels = {
  bulk: (c) => `${c.bulk.toLocaleString('en')} inserts, one transaction (prepared INSERT, run())`,
  durable: (c) => `${c.durable.toLocaleString('en')} inserts, each its own durable transaction (autocommit)`,
  points: (c) => `${c.reads.toLocaleString('en')} point selects by primary key (prepared SELECT, get())`,
  scan: () => 'full scan, SELECT * (all rows, iterate())',
};

/** A Markdown table of `engineResults` ({ name: { workloads } }) with ratios against tessera. */
function table(engineResults, cfg, rowLabels, goals) {
  const names = Object.keys(engineResults);
  if (names.length === 0) return '';
  const fmt = (n) => Math.round(n).toLocaleString('en');
  const head = ['workload', ...names.map((n) => `${n} ms`), ...names.map((n) => `${n} ops/s`)];
  const ratioCols = names.includes('tessera') ? goals.filter(([n]) => names.includes(n)) : [];
  for (const [n, goal] of ratioCols) head.push(`${n}/tessera time (goal ${goal}x)`);
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const w of Object.keys(rowLabels)) {
    const cells = [rowLabels[w](cfg)];
    for (const n of names) cells.push(engineResults[n].workloads[w].ms.toFixed(1));
    for (const n of names) cells.push(fmt(engineResults[n].workloads[w].opsPerSec));
    for (const [n, goal] of ratioCols) {
      const r = engineResults[n].workloads[w].ms / engineResults.tessera.workloads[w].ms;
      cells.push(`${r.toFixed(2)}x ${r >= goal ? '✓' : '✗'}`);
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (engineResults.sqlite?.workloads[Object.keys(rowLabels)[0]].innerMs !== undefined) {
    lines.push('', 'sqlite-wasm time inside the worker (SQLite calls, without messaging): ' + Object.keys(rowLabels).map((w) => {
      const x = engineResults.sqlite.workloads[w];
      return `${w} ${x.innerMs.toFixed(0)} of ${x.ms.toFixed(0)} ms`;
    }).join(', ') + '.');
  }
  return lines.join('\n');
}

/**
 * `--profile`: attach to every dedicated worker of `page` through the page's DevTools session
 * (non-flattened Target sessions), and expose `window.benchHook(what, engine, workload)` that
 * starts / stops the V8 profiler in the latest bench/sql-worker.js.
 */
async function setUpProfiling(context, page, dir, run) {
  const cdp = await context.newCDPSession(page);
  let nextId = 0;
  const waiting = new Map();
  let current = null;
  cdp.on('Target.receivedMessageFromTarget', ({ message }) => {
    const m = JSON.parse(message);
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(`${m.error.message}`));
    else w.resolve(m.result);
  });
  const send = (sessionId, method, params = {}) => new Promise((resolve, reject) => {
    const id = ++nextId;
    waiting.set(id, { resolve, reject });
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(reject);
  });
  cdp.on('Target.attachedToTarget', async ({ sessionId, targetInfo }) => {
    if (targetInfo.type === 'worker' && targetInfo.url.endsWith('/bench/sql-worker.js')) {
      current = sessionId;
      await send(sessionId, 'Profiler.enable');
      await send(sessionId, 'Profiler.setSamplingInterval', { interval: 100 });
    }
    await send(sessionId, 'Runtime.runIfWaitingForDebugger');
  });
  await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: false });
  fs.mkdirSync(dir, { recursive: true });
  await page.exposeFunction('benchHook', async (what, engine, workload) => {
    if (!current) throw new Error('no SQL worker attached');
    if (what === 'start') {
      await send(current, 'Profiler.start');
      return;
    }
    const { profile } = await send(current, 'Profiler.stop');
    const file = path.join(dir, `run${run}-${engine}-${workload}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    console.log(`\n#### profile ${engine} ${workload} (${file})\n\n${summarise(profile, { topN: 15 })}`);
  });
}

/** Over several runs: per workload, the ratio's median and range, and how many runs met the goal. */
function ratioSummary(all) {
  const lines = [`### Ratios over ${all.length} runs (other engine's time / tessera's time: median, range, runs meeting the goal)`, ''];
  const part = (title, get, rowLabels, goals) => {
    const first = get(all[0]);
    if (!first?.tessera) return;
    const cols = goals.filter(([n]) => first[n]);
    if (cols.length === 0) return;
    lines.push(`${title}:`, '', `| workload | ${cols.map(([n, g]) => `${n}/tessera (goal ${g}x)`).join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`);
    for (const w of Object.keys(rowLabels)) {
      const cells = cols.map(([n, goal]) => {
        const r = all.map((x) => get(x)[n].workloads[w].ms / get(x).tessera.workloads[w].ms).sort((a, b) => a - b);
        const med = r.length % 2 ? r[(r.length - 1) / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
        return `${med.toFixed(2)}x (${r[0].toFixed(2)}–${r[r.length - 1].toFixed(2)}), ${r.filter((x) => x >= goal).length} of ${r.length}`;
      });
      lines.push(`| ${rowLabels[w](all[0].config)} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  };
  part('Key-value', (x) => x.engines, labels, [['sqlite', 2], ['indexeddb', 10]]);
  part('SQL', (x) => x.sql.engines, sqlLabels, [['sqlite', 2]]);
  return lines.join('\n');
}

const server = await startServer({ headers: isolation });
const all = [];
try {
  for (let i = 0; i < runs; i++) {
    const profile = tempDir();
    const context = await launchPersistent(profile.dir);
    let results;
    try {
      if (i === 0) console.log(`Chromium ${context.browser()?.version() ?? ''} (${executablePath}, headless, persistent profile on disk), ${new Date().toISOString()}`);
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('[pageerror]', e));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') console.error(`[console.${m.type()}]`, m.text());
        else if (argv.verbose) console.error('[page]', m.text());
      });
      if (argv.profile) await setUpProfiling(context, page, path.resolve(String(argv.profile)), i + 1);
      await page.goto(`${server.origin}/bench/index.html`);
      await page.waitForFunction(() => window.benchReady === true);
      results = await page.evaluate((c) => window.runBench(c), config);
      all.push(results);
    } finally {
      await context.close();
      profile.cleanup();
    }
    const e = results.engines;
    console.log(`\n### Run ${i + 1} of ${runs}\n`);
    if (i === 0) {
      if (e.sqlite) console.log(`sqlite-wasm ${e.sqlite.info.version}, VFS ${e.sqlite.info.vfs}, page_size ${e.sqlite.info.pageSize}, cache_size ${e.sqlite.info.cacheSize}; durability: ${e.sqlite.info.durability}`);
      if (e.indexeddb) console.log(`IndexedDB: ${e.indexeddb.info.durability}`);
      if (e.tessera) console.log(`Tessera: page size ${e.tessera.info.pageSize}; durability: ${e.tessera.info.durability}; calls: ${e.tessera.info.channel}`);
      console.log('');
    }
    if (Object.keys(e).length > 0) {
      console.log('Key-value, main-thread APIs (tessera-db Promise API; sqlite-wasm through its worker; IndexedDB):\n');
      console.log(table(e, results.config, labels, [['sqlite', 2], ['indexeddb', 10]]));
    }
    const q = results.sql.engines;
    if (Object.keys(q).length > 0) {
      if (i === 0) {
        console.log('');
        for (const [n, x] of Object.entries(q)) console.log(`SQL ${n}: ${x.info.engine}, page size ${x.info.pageSize}${x.info.journalMode ? `, journal_mode ${x.info.journalMode}, synchronous ${x.info.synchronous}, cache_size ${x.info.cacheSize}` : ''}; durability: ${x.info.durability}`);
      }
      console.log('\nSQL, synchronous APIs inside a dedicated Worker on OPFS (timed in the worker):\n');
      console.log(table(q, results.config, sqlLabels, [['sqlite', 2]]));
    }
  }
  if (all.length > 1) console.log('\n' + ratioSummary(all));
  console.log('\n' + sizeLine());
  if (argv.json) fs.writeFileSync(String(argv.json), JSON.stringify(all, null, 2));
} finally {
  await server.close();
}
