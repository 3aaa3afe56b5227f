// A database holder for npm/test/lock.test.js, run as a child process (`node lock-holder.mjs
// FILE [options]`) or as a worker thread (workerData: { file, ...options }). It opens FILE with
// the package under test (helpers.js honours TESSERA_DB_ENTRY), commits `rows` rows to table
// `held` (one durable commit each, keys row-000000...), says `ready` and then holds the database
// until told `close` (a line on stdin, or a message from the parent thread) or for `closeAfter`
// ms; just before closing it commits the row `last` = `closed`, then says `closed` and ends.
//
// Options (argv: --rows N --close-after MS --timeout MS --readonly --lock-only --cycles N;
// workerData: same names in camelCase). `cycles`: instead of holding, open, commit `rows` rows
// (keys p<pid>-c<cycle>-r<i>), close, N times, then say `done` and end. `lockOnly`: take just the file's lock (src/node-base.js acquireFileLock),
// no database. A failed open reports `error CODE MESSAGE` and exits with status 3.
import fs from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Tessera } from './helpers.js';
import { acquireFileLock } from '../src/node-base.js';

function parseArgs(argv) {
  const o = { file: argv[0], rows: 0 };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rows') o.rows = Number(argv[++i]);
    else if (a === '--close-after') o.closeAfter = Number(argv[++i]);
    else if (a === '--timeout') o.timeout = Number(argv[++i]);
    else if (a === '--readonly') o.readonly = true;
    else if (a === '--lock-only') o.lockOnly = true;
    else if (a === '--cycles') o.cycles = Number(argv[++i]);
    else throw new Error(`lock-holder: unknown argument ${a}`);
  }
  return o;
}

const o = isMainThread ? parseArgs(process.argv.slice(2)) : workerData;
const say = isMainThread ? (line) => process.stdout.write(`${line}\n`) : (line) => parentPort.postMessage(line);

if (o.cycles) {
  for (let c = 0; c < o.cycles; c++) {
    const cycle = Tessera.open(o.file, { timeout: o.timeout ?? 0 });
    for (let i = 0; i < o.rows; i++) cycle.put('held', `p${process.pid}-c${c}-r${i}`, 'v');
    cycle.close();
  }
  say('done');
  process.exit(0);
}

let db;
try {
  const options = {};
  if (o.timeout !== undefined) options.timeout = o.timeout;
  if (o.readonly) options.readonly = true;
  if (o.lockOnly) {
    const release = acquireFileLock(fs.realpathSync(o.file), { readonly: Boolean(o.readonly), timeout: o.timeout ?? 0 });
    db = { put() {}, close: release };
  } else {
    db = Tessera.open(o.file, options);
  }
} catch (e) {
  say(`error ${e.code} ${e.message}`);
  if (isMainThread) process.exit(3);
}

if (db) {
  for (let i = 0; i < o.rows; i++) db.put('held', `row-${String(i).padStart(6, '0')}`, `value-${i}`);
  say(`ready ${process.pid}`);

  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (!o.readonly && !o.lockOnly) db.put('held', 'last', 'closed');
    db.close();
    say('closed');
    if (isMainThread) process.stdin.destroy();
    else parentPort.close();
  };
  if (o.closeAfter !== undefined) setTimeout(close, o.closeAfter);
  if (isMainThread) {
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      if (chunk.includes('close')) close();
    });
    process.stdin.on('end', close);
  } else {
    parentPort.on('message', (m) => {
      if (m === 'close') close();
    });
  }
}
