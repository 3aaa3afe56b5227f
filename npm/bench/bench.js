// The benchmark page's logic: the same workloads on Tessera (tessera-db/kv's main-thread Promise
// API), sqlite-wasm on the opfs-sahpool VFS (in ./sqlite-worker.js, reached with the same kind of
// batched messages) and IndexedDB (main thread). `window.runBench(config)` resolves to the
// results; run.mjs (`npm run bench`) drives it in headless Chromium and prints the table.
//
// Then the SQL part: Tessera's synchronous SQL API and sqlite-wasm's prepared statements, each
// inside its own dedicated Worker on OPFS (./sql-worker.js: loops and timers in the worker), on
// the same rows: `id INTEGER PRIMARY KEY` (ids in random order), the 16-character keys as
// `name TEXT`, a REAL, the 100-byte values as `payload BLOB`.
//
// Data, identical for every engine: N distinct 16-character keys (hex of a seeded PRNG, inserted
// in that random order) and 100-byte random values (each its own Uint8Array). Key/value
// generation is outside the timings; building each engine's request (op objects, row arrays) is
// inside, as it is part of using the API.

import { Tessera } from '../src/browser-kv.js';
import { distinctKeys, prng, sqlRows } from './sql-data.js';

const log = (msg) => {
  const el = document.getElementById('log');
  if (el) el.textContent += msg + '\n';
  console.log(msg);
};

export const defaults = {
  bulk: 100_000, // inserts in one transaction
  durable: 1_000, // inserts, each its own durable transaction
  reads: 100_000, // random point reads (batched)
  readBatch: 1_000, // gets per message / per read transaction
  singleReads: 100_000, // random point reads, one call each
  engines: ['tessera', 'sqlite', 'indexeddb'],
  sqlEngines: ['tessera', 'sqlite'], // [] to skip the SQL part
  valueSize: 100,
  seed: 42,
};

// ---------------------------------------------------------------------------------------------
// Data

function makeData(cfg) {
  const rnd = prng(cfg.seed);
  const total = cfg.bulk + cfg.durable;
  const keys = distinctKeys(rnd, total);
  const values = new Array(total);
  for (let i = 0; i < total; i++) {
    const v = new Uint8Array(cfg.valueSize);
    for (let j = 0; j < v.length; j += 4) {
      const r = rnd();
      v[j] = r; v[j + 1] = r >>> 8; v[j + 2] = r >>> 16; v[j + 3] = r >>> 24;
    }
    values[i] = v;
  }
  const pick = (n) => {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = keys[rnd() % total];
    return out;
  };
  return {
    bulkKeys: keys.slice(0, cfg.bulk),
    bulkValues: values.slice(0, cfg.bulk),
    durableKeys: keys.slice(cfg.bulk),
    durableValues: values.slice(cfg.bulk),
    readKeys: pick(cfg.reads),
    singleReadKeys: pick(cfg.singleReads),
    total,
  };
}

// ---------------------------------------------------------------------------------------------
// Engines: each has open/bulk/durable/readBatched/readSingle/scan/close. Every measured function
// returns a check value (rows / hits) that the page verifies.

const TABLE = 'kv';

function tesseraEngine(cfg) {
  let db;
  return {
    name: 'tessera',
    async open() {
      db = await Tessera.open(`bench-${Date.now()}.db`, cfg.tesseraOptions);
      const channel = db._chan ? 'shared-memory channel (page is cross-origin isolated)' : 'messages only';
      return { durability: "write(ops) default 'immediate' (one flush per commit)", pageSize: db.pageSize, channel };
    },
    async bulk(keys, values) {
      const ops = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) ops[i] = { op: 'put', table: TABLE, key: keys[i], value: values[i] };
      await db.write(ops);
      return keys.length;
    },
    async durable(keys, values) {
      for (let i = 0; i < keys.length; i++) {
        await db.write([{ op: 'put', table: TABLE, key: keys[i], value: values[i] }]);
      }
      return keys.length;
    },
    async readBatched(keys, batch) {
      let hits = 0;
      for (let i = 0; i < keys.length; i += batch) {
        const end = Math.min(i + batch, keys.length);
        const ops = new Array(end - i);
        for (let j = i; j < end; j++) ops[j - i] = { op: 'get', table: TABLE, key: keys[j] };
        const res = await db.read(ops);
        for (const v of res) if (v !== undefined && v.length > 0) hits++;
      }
      return hits;
    },
    async readSingle(keys) {
      let hits = 0;
      for (const k of keys) {
        const v = await db.get(TABLE, k);
        if (v !== undefined && v.length > 0) hits++;
      }
      return hits;
    },
    async scan() {
      const rows = await db.entries(TABLE);
      let bytes = 0;
      for (const [, v] of rows) bytes += v.length;
      return { rows: rows.length, bytes };
    },
    async close() {
      await db.close();
    },
  };
}

function sqliteEngine() {
  let worker;
  let nextId = 1;
  const pending = new Map();
  const call = (method, args, transfer) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, method, args }, transfer ?? []);
  });
  return {
    name: 'sqlite',
    async open() {
      worker = new Worker(new URL('./sqlite-worker.js', import.meta.url), { type: 'module' });
      worker.onmessage = ({ data }) => {
        const p = pending.get(data.id);
        pending.delete(data.id);
        if (data.ok) p.resolve(data.result);
        else p.reject(new Error(data.error));
      };
      worker.onerror = (e) => { for (const p of pending.values()) p.reject(new Error(`sqlite worker: ${e.message}`)); };
      const info = await call('init');
      return { ...info, durability: `PRAGMA synchronous=${info.synchronous} (2 = FULL), journal_mode=${info.journalMode}; sahpool xSync = FileSystemSyncAccessHandle.flush()` };
    },
    async bulk(keys, values) {
      const rows = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) rows[i] = [keys[i], values[i]];
      return call('insertMany', { rows });
    },
    async durable(keys, values) {
      for (let i = 0; i < keys.length; i++) await call('insertOne', { key: keys[i], value: values[i] });
      return keys.length;
    },
    async readBatched(keys, batch) {
      let hits = 0;
      for (let i = 0; i < keys.length; i += batch) {
        const res = await call('getMany', { keys: keys.slice(i, i + batch) });
        for (const v of res) if (v !== undefined && v.length > 0) hits++;
      }
      return hits;
    },
    async readSingle(keys) {
      let hits = 0;
      for (const k of keys) {
        const v = await call('get', { key: k });
        if (v !== undefined && v.length > 0) hits++;
      }
      return hits;
    },
    async scan() {
      const rows = await call('scan', { transfer: false });
      let bytes = 0;
      for (const [, v] of rows) bytes += v.length;
      return { rows: rows.length, bytes };
    },
    // ms the worker spent inside SQLite since the last call (the rest is messaging).
    innerMs: () => call('takeHandlerMs'),
    async close() {
      await call('close');
      worker.terminate();
    },
  };
}

function idbEngine() {
  let db;
  let strict = false;
  const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  const done = (tx) => new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('aborted'));
  });
  const wtx = () => db.transaction(TABLE, 'readwrite', { durability: 'strict' });
  return {
    name: 'indexeddb',
    async open() {
      const name = 'tessera-bench';
      await req(indexedDB.deleteDatabase(name));
      const open = indexedDB.open(name, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(TABLE);
      db = await req(open);
      const probe = wtx();
      strict = probe.durability === 'strict';
      probe.abort();
      return { durability: strict ? "readwrite transactions with { durability: 'strict' } (honoured: tx.durability === 'strict')" : `durability option not honoured (tx.durability = ${probe.durability})` };
    },
    async bulk(keys, values) {
      const tx = wtx();
      const store = tx.objectStore(TABLE);
      for (let i = 0; i < keys.length; i++) store.put(values[i], keys[i]);
      await done(tx);
      return keys.length;
    },
    async durable(keys, values) {
      for (let i = 0; i < keys.length; i++) {
        const tx = wtx();
        tx.objectStore(TABLE).put(values[i], keys[i]);
        await done(tx);
      }
      return keys.length;
    },
    // All gets issued at once in ONE readonly transaction (batch size ignored: IndexedDB's own
    // batching is the transaction; results arrive as events on the main thread).
    async readBatched(keys) {
      const tx = db.transaction(TABLE, 'readonly');
      const store = tx.objectStore(TABLE);
      let hits = 0;
      for (const k of keys) {
        store.get(k).onsuccess = (e) => { const v = e.target.result; if (v !== undefined && v.length > 0) hits++; };
      }
      await done(tx);
      return hits;
    },
    // One get per call: each in its own readonly transaction, awaited before the next.
    async readSingle(keys) {
      let hits = 0;
      for (const k of keys) {
        const v = await req(db.transaction(TABLE, 'readonly').objectStore(TABLE).get(k));
        if (v !== undefined && v.length > 0) hits++;
      }
      return hits;
    },
    // Full scan: getAllKeys() + getAll() in one readonly transaction (the fast path; cursors
    // are far slower).
    async scan() {
      const tx = db.transaction(TABLE, 'readonly');
      const store = tx.objectStore(TABLE);
      const [ks, vs] = await Promise.all([req(store.getAllKeys()), req(store.getAll())]);
      await done(tx);
      let bytes = 0;
      for (const v of vs) bytes += v.length;
      return { rows: Math.min(ks.length, vs.length), bytes };
    },
    async close() {
      db.close();
      await req(indexedDB.deleteDatabase('tessera-bench'));
    },
  };
}

const engines = { tessera: tesseraEngine, sqlite: sqliteEngine, indexeddb: idbEngine };

// ---------------------------------------------------------------------------------------------

async function clearStorage() {
  const root = await navigator.storage.getDirectory();
  const names = [];
  for await (const name of root.keys()) names.push(name);
  for (const name of names) await root.removeEntry(name, { recursive: true });
  const dbs = indexedDB.databases ? await indexedDB.databases() : [];
  for (const { name } of dbs) {
    await new Promise((resolve, reject) => {
      const r = indexedDB.deleteDatabase(name);
      r.onsuccess = resolve;
      r.onerror = () => reject(r.error);
    });
  }
}

async function timed(fn) {
  const t0 = performance.now();
  const check = await fn();
  return { ms: performance.now() - t0, check };
}

function expect(cond, msg) {
  if (!cond) throw new Error(`check failed: ${msg}`);
}

async function runEngine(name, cfg, data) {
  await clearStorage();
  const e = engines[name](cfg);
  log(`${name}: open`);
  const info = await e.open();
  if (e.innerMs) await e.innerMs();
  const timedInner = async (fn) => {
    const r = await timed(fn);
    if (e.innerMs) r.innerMs = await e.innerMs();
    return r;
  };
  const res = { info, workloads: {} };
  const W = res.workloads;

  log(`${name}: ${cfg.bulk} inserts in one transaction`);
  W.bulk = await timedInner(() => e.bulk(data.bulkKeys, data.bulkValues));
  W.bulk.ops = cfg.bulk;

  log(`${name}: ${cfg.durable} durable single-insert transactions`);
  W.durable = await timedInner(() => e.durable(data.durableKeys, data.durableValues));
  W.durable.ops = cfg.durable;

  log(`${name}: ${cfg.reads} random point reads, batched`);
  W.readBatched = await timedInner(() => e.readBatched(data.readKeys, cfg.readBatch));
  W.readBatched.ops = cfg.reads;
  expect(W.readBatched.check === cfg.reads, `${name} batched reads: ${W.readBatched.check} hits of ${cfg.reads}`);

  log(`${name}: ${cfg.singleReads} random point reads, one per call`);
  W.readSingle = await timedInner(() => e.readSingle(data.singleReadKeys));
  W.readSingle.ops = cfg.singleReads;
  expect(W.readSingle.check === cfg.singleReads, `${name} single reads: ${W.readSingle.check} hits of ${cfg.singleReads}`);

  log(`${name}: full scan`);
  W.scan = await timedInner(() => e.scan());
  W.scan.ops = W.scan.check.rows;
  expect(W.scan.check.rows === data.total, `${name} scan: ${W.scan.check.rows} rows, expected ${data.total}`);
  expect(W.scan.check.bytes === data.total * cfg.valueSize, `${name} scan: ${W.scan.check.bytes} value bytes`);

  await e.close();
  for (const w of Object.values(W)) w.opsPerSec = w.ops / (w.ms / 1000);
  log(`${name}: ${Object.entries(W).map(([k, w]) => `${k} ${w.ms.toFixed(0)} ms`).join(', ')}`);
  return res;
}

// ---------------------------------------------------------------------------------------------
// SQL: each engine in its own dedicated Worker (./sql-worker.js), timed inside the worker.

/**
 * Rows for the SQL tables, from the key-value data: ids 1..total in random order, name = key,
 * value = a multiple of 0.25 (sums are exact in doubles, in any order), payload = value bytes.
 */
function makeSqlData(cfg, data) {
  const names = data.bulkKeys.concat(data.durableKeys);
  const payloads = data.bulkValues.concat(data.durableValues);
  const r = sqlRows(prng(cfg.seed + 1), { names, payloads, bulk: cfg.bulk, reads: cfg.reads });
  const total = r.total;
  return {
    rows: { bulk: r.bulk, durable: r.durable, pointIds: r.pointIds },
    expected: {
      points: { rows: cfg.reads, value: r.pointValue, payload: cfg.reads * cfg.valueSize, name: cfg.reads * 16 },
      scan: { rows: total, id: (total * (total + 1)) / 2, value: r.allValue, payload: total * cfg.valueSize, name: total * 16 },
    },
    total,
  };
}

function sqlWorker() {
  const worker = new Worker(new URL('./sql-worker.js', import.meta.url), { type: 'module' });
  let nextId = 1;
  const pending = new Map();
  worker.onmessage = ({ data }) => {
    const p = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) p.resolve(data);
    else p.reject(new Error(data.error));
  };
  worker.onerror = (e) => { for (const p of pending.values()) p.reject(new Error(`sql worker: ${e.message}`)); };
  return {
    /** Resolves to `{ result, ms }` (ms measured in the worker). */
    call: (method, args) => new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, method, args });
    }),
    terminate: () => worker.terminate(),
  };
}

async function runSqlEngine(name, cfg, sql) {
  await clearStorage();
  const w = sqlWorker();
  try {
    log(`sql ${name}: open`);
    const { result: info } = await w.call('open', { engine: name, file: `bench-sql-${Date.now()}.db` });
    await w.call('load', sql.rows);
    const W = {};
    // run.mjs --profile installs window.benchHook to profile each workload in the worker.
    const hook = window.benchHook;
    const run = async (key, ops, what) => {
      log(`sql ${name}: ${what}`);
      if (hook) await hook('start', name, key);
      const { result, ms } = await w.call(key);
      if (hook) await hook('stop', name, key);
      W[key] = { ms, ops, check: result, opsPerSec: ops / (ms / 1000) };
      return result;
    };
    const n = await run('bulk', cfg.bulk, `${cfg.bulk} inserts in one transaction`);
    expect(n === cfg.bulk, `sql ${name} bulk: ${n}`);
    const d = await run('durable', cfg.durable, `${cfg.durable} durable single-insert transactions`);
    expect(d === cfg.durable, `sql ${name} durable: ${d} changes`);
    const { result: count } = await w.call('count');
    expect(count === sql.total, `sql ${name}: count(*) = ${count}, expected ${sql.total}`);
    const p = await run('points', cfg.reads, `${cfg.reads} point selects by primary key`);
    expect(JSON.stringify(p) === JSON.stringify(sql.expected.points), `sql ${name} points: ${JSON.stringify(p)}, expected ${JSON.stringify(sql.expected.points)}`);
    const sc = await run('scan', sql.total, 'full scan');
    expect(JSON.stringify(sc) === JSON.stringify(sql.expected.scan), `sql ${name} scan: ${JSON.stringify(sc)}, expected ${JSON.stringify(sql.expected.scan)}`);
    await w.call('close');
    log(`sql ${name}: ${Object.entries(W).map(([k, x]) => `${k} ${x.ms.toFixed(0)} ms`).join(', ')}`);
    return { info, workloads: W };
  } finally {
    w.terminate();
  }
}

export async function runBench(config = {}) {
  const cfg = { ...defaults, ...config };
  log(`generating data (${cfg.bulk + cfg.durable} keys)`);
  const data = makeData(cfg);
  const results = { config: cfg, userAgent: navigator.userAgent, engines: {}, sql: { engines: {} } };
  for (const name of cfg.engines) results.engines[name] = await runEngine(name, cfg, data);
  if (cfg.sqlEngines.length > 0) {
    const sql = makeSqlData(cfg, data);
    for (const name of cfg.sqlEngines) results.sql.engines[name] = await runSqlEngine(name, cfg, sql);
  }
  await clearStorage();
  render(results);
  return results;
}

function renderTable(title, engineResults) {
  const names = Object.keys(engineResults);
  if (names.length === 0) return '';
  const rows = Object.keys(engineResults[names[0]].workloads);
  let html = `<h2>${title}</h2><table><tr><th>workload</th>` + names.map((n) => `<th>${n} ms</th><th>${n} ops/s</th>`).join('') + '</tr>';
  for (const r of rows) {
    html += `<tr><td>${r}</td>` + names.map((n) => {
      const w = engineResults[n].workloads[r];
      return `<td>${w.ms.toFixed(1)}</td><td>${Math.round(w.opsPerSec).toLocaleString('en')}</td>`;
    }).join('') + '</tr>';
  }
  return html + '</table>';
}

function render(results) {
  const out = document.getElementById('out');
  if (!out) return;
  out.innerHTML = renderTable('Key-value (main-thread APIs)', results.engines) + renderTable('SQL (synchronous APIs in a dedicated Worker)', results.sql.engines);
}

window.runBench = runBench;
document.getElementById('run')?.addEventListener('click', () => runBench().catch((e) => log(String(e?.stack ?? e))));
window.benchReady = true;
