// Node micro-benchmark of the synchronous SQL API (src/sql.js): per-call overhead of
// run()/get()/iterate()/all() over the wasm engine.
//
//   node bench/node-sql.mjs [N] [--file=path]    (default N = 100000, in-memory database)
//
// Workloads (table t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT), v 100 bytes):
//   insert: N prepared run() in one transaction (db.transaction)
//   get:    N prepared get() by primary key (random ids), autocommit reads
//   scan:   SELECT * FROM t via iterate() and via all()
import fs from 'node:fs';
import { Tessera } from '../src/node.js';

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 100000);
const fileArg = args.find((a) => a.startsWith('--file='));
let db;
if (fileArg) {
  const path = fileArg.slice('--file='.length);
  fs.rmSync(path, { force: true });
  db = Tessera.open(path);
} else {
  db = Tessera.memory();
}

let seed = 0x2545f491;
function rnd() {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}
const values = [];
for (let i = 0; i < N; i++) values.push('v'.repeat(90) + String(i).padStart(10, '0'));
const ids = [];
for (let i = 0; i < N; i++) ids.push(1 + (rnd() % N));

// Wall time, and this process's CPU time (user + system; less disturbed by other load on a
// shared machine). ops/s from each.
function time(name, n, fn) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1000;
  const rate = (t) => Math.round((n / t) * 1000).toLocaleString('en-US').padStart(10);
  console.log(`${name.padEnd(34)} wall ${ms.toFixed(1).padStart(7)} ms ${rate(ms)} ops/s | cpu ${cpu.toFixed(1).padStart(7)} ms ${rate(cpu)} ops/s`);
  return r;
}

db.exec('CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)');
const ins = db.prepare('INSERT INTO t VALUES (?, ?, ?)');
time(`insert ${N} (one transaction)`, N, () =>
  db.transaction(() => {
    for (let i = 0; i < N; i++) ins.run(i + 1, N - i, values[i]);
  })(),
);

const get = db.prepare('SELECT k, v FROM t WHERE id = ?');
let sum = 0;
// Warm-up (JIT tiers, wasm tier-up) so the first timed loop is not penalised.
for (let i = 0; i < 20000; i++) sum += get.get(ids[i]).k;
time(`get ${N} by primary key`, N, () => {
  for (let i = 0; i < N; i++) sum += get.get(ids[i]).k;
});
const getRaw = db.prepare('SELECT k, v FROM t WHERE id = ?').raw();
time(`get ${N} by primary key (raw)`, N, () => {
  for (let i = 0; i < N; i++) sum += getRaw.get(ids[i])[0];
});

const scan = db.prepare('SELECT * FROM t');
time(`scan ${N} rows, iterate()`, N, () => {
  let n = 0;
  for (const row of scan.iterate()) n += row.k;
  return n;
});
time(`scan ${N} rows, all()`, N, () => scan.all().length);
time(`scan ${N} rows, raw all()`, N, () => scan.raw().all().length);
if (sum === 0) console.log('unexpected');
db.close();
